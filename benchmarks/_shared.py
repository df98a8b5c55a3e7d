"""Helpers the benchmarks share (each benchmark runs as a script, so this folder
is on ``sys.path``). Imports of pension_collect stay inside the functions:
bench_collection's ``--before`` runs an older tree's package in its children."""

from __future__ import annotations

import datetime as _dt
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any


def peak_rss_kib() -> int:
    """This process's peak resident set (VmHWM): unlike ru_maxrss it starts
    afresh at exec, so a child does not inherit its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def postgres_server() -> Any:
    """A durable throwaway PostgreSQL server, or ``None`` (with the reason
    printed) where the plugin or the binaries are missing; on CI their absence
    stops the benchmark."""
    if importlib.util.find_spec("pension_collect_postgres") is None:
        why = "the plugin pension-collect-postgres is not installed"
    else:
        from pension_collect_postgres.testing import NO_SERVER, ThrowawayServer, find_bindir

        if find_bindir() is not None:
            return ThrowawayServer(durable=True).start()
        why = NO_SERVER
    if os.environ.get("CI"):
        raise SystemExit(f"error: PostgreSQL cannot be measured on CI: {why}")
    print(f"PostgreSQL left out: {why}", file=sys.stderr)
    return None


def example_workers(n: int, *, person_nos: bool) -> tuple[Any, list[Any]]:
    """The example dossier and its first worker copied ``n`` times under new
    identity numbers, each with the bureau's record of it (as a data sync
    returns it). ``person_nos``: numbered ``P0000000000`` ...; without them the
    bureau finds each person by identity number."""
    import attrs

    from pension_collect.dossier import example_dossier_text, loads
    from pension_collect.identity import check_char
    from pension_collect.model import BureauRecord

    dossier = loads(example_dossier_text())
    template = dossier.workers[0]
    born0 = template.birth_date
    assert born0 is not None
    out = []
    for i in range(n):
        born = born0 + _dt.timedelta(days=i % 365)
        seq = 2 * (i // 365) + 3  # odd: male, as the template
        first17 = f"371002{born:%Y%m%d}{seq:03d}"
        id_number = first17 + check_char(first17)
        bureau = BureauRecord(
            id_number=id_number,
            name=template.name,
            gender=template.gender,
            birth_date=born,
            first_work=template.first_work,
            history=template.history,
            account=template.account,
        )
        out.append(
            attrs.evolve(
                template,
                id_number=id_number,
                birth_date=born,
                person_no=f"P{i:010d}" if person_nos else None,
                bureau=bureau,
            )
        )
    return dossier, out


MARK_SYMBOL = "os_getloadavg"
"""The C function of ``os.getloadavg``: a benchmark run under ``valgrind
--tool=callgrind --dump-before=os_getloadavg`` calls ``os.getloadavg()``
where it wants the instruction count so far dumped (nothing in
pension_collect calls it), so each dump holds what ran between two marks."""


def require_valgrind() -> None:
    """Stop with the reason where valgrind is missing (``--callgrind``)."""
    if shutil.which("valgrind") is None:
        raise SystemExit("error: --callgrind needs valgrind (the Debian package valgrind)")


def callgrind_command(folder: str) -> tuple[list[str], Path]:
    """The command prefix that runs a program under callgrind, dumping at each
    mark, and the file its counts go to (a new one in ``folder``)."""
    require_valgrind()
    fd, out_file = tempfile.mkstemp(prefix="callgrind-", dir=folder)
    os.close(fd)
    return [
        "valgrind",
        "--quiet",  # its summary would follow the program's own output
        "--tool=callgrind",
        f"--dump-before={MARK_SYMBOL}",
        f"--callgrind-out-file={out_file}",
    ], Path(out_file)


def callgrind_parts(out_file: Path, expected: int) -> list[int]:
    """The instruction count of each part callgrind dumped for one run, in
    order (``FILE.1``, ``FILE.2``, ... and ``FILE`` last), the files removed;
    stops where there are not ``expected`` parts (no mark was found)."""
    parts: list[tuple[int, int]] = []
    for path in out_file.parent.glob(out_file.name + "*"):
        suffix = path.name[len(out_file.name) :]
        if suffix and not (suffix[0] == "." and suffix[1:].isdigit()):
            continue
        with path.open(encoding="utf-8", errors="replace") as f:
            total = next((int(line.split()[1]) for line in f if line.startswith("totals:")), None)
        path.unlink()
        if total is None:
            raise SystemExit(f"error: no totals in the callgrind file {path}")
        parts.append((int(suffix[1:]) if suffix else sys.maxsize, total))
    if len(parts) != expected:
        raise SystemExit(
            f"error: callgrind wrote {len(parts)} parts, not {expected}: it did not find the C "
            f"function {MARK_SYMBOL} in this Python ({sys.executable}; a build without symbols?)"
        )
    return [total for _, total in sorted(parts)]
