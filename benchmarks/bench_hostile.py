"""Benchmark: ``validate`` on issue 10's two hostile inputs, against ``json.load``.

The inputs come from the hostile-input corpus (tests/hostile/make_corpus.py):

- ``segments``: one worker with 2,000 identical segments (111 KB), where a
  quadratic overlap rule once took 55 s and 4.3 GB and printed 716 MB;
- ``segments-1000``: the same with 1,000 segments, the most one history may
  hold (docs/dossier.md, "Limits"), so that the overlap rule runs;
- ``malformed``: 500,000 workers written as
  ``{"id_number":1,"name":2,"first_work":3}`` (23 MB), which once took 46 s
  and 4.2 GB to refuse.

For each, in the same run: the baseline, ``json.load`` of the file, and what
``pension-collect validate FILE --format json`` does (the console script's
``main``, timed after a first ``validate --example`` has done the imports
and the plugins: once per program, not per file), each in a fresh interpreter, ``--repeat`` times
interleaved; the best time (wall clock, and CPU seconds, which a busy machine
inflates less) of each side and the highest peak resident set
(VmHWM, which starts afresh at exec) are reported, with validate's as ratios
to the baseline, its exit status and how much it printed. Each child runs
under rlimits (CPU, address space) so a runaway is reported, not waited for.

    python benchmarks/bench_hostile.py                # the issue's sizes
    python benchmarks/bench_hostile.py --smoke        # tiny, for CI
    python benchmarks/bench_hostile.py --src /tmp/old/src   # another tree

``--src`` runs the validate side on another source tree (put on PYTHONPATH),
e.g. ``git archive COMMIT src | tar -x -C /tmp/old`` for the figures before
a change. docs/testing.md ("Hostile-input suite") keeps the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _shared import peak_rss_kib

from hostile.make_corpus import malformed_workers, segments_doc

#: input name -> (generator, full size, smoke size)
INPUTS: dict[str, tuple[Callable[[int], bytes], int, int]] = {
    "segments": (segments_doc, 2_000, 200),
    # the most one worker's history may hold (docs/dossier.md, "Limits"):
    # the overlap rule at work, where 2,000 are refused before any rule
    "segments-1000": (segments_doc, 1_000, 100),
    "malformed": (malformed_workers, 500_000, 5_000),
}

#: Per child: CPU seconds and address space. Generous: the figures before
#: the fixes are wanted, only a run that would take the machine is stopped.
CPU_LIMIT = 240
MEMORY_LIMIT = 12 << 30


def measure(mode: str, path: Path) -> dict[str, Any]:
    """One run in this fresh process: ``baseline`` or ``validate``."""
    status = None
    printed = 0
    startup = 0.0
    t0 = time.perf_counter()
    c0 = time.process_time()
    if mode == "baseline":
        with open(path, "rb") as fh:
            json.load(fh)
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - c0
    else:
        real_stdout = sys.stdout
        with tempfile.TemporaryFile("w+", encoding="utf-8") as sink:
            sys.stdout = sink
            try:
                from pension_collect.cli import main

                # What a program does once, not per file: imports, plugins,
                # the pack's parameters (validating the bundled example).
                main(["validate", "--example", "--format", "json"])
                sink.flush()
                warm = os.fstat(sink.fileno()).st_size
                t1, c1 = time.perf_counter(), time.process_time()
                status = main(["validate", str(path), "--format", "json"])
                seconds = time.perf_counter() - t1
                cpu = time.process_time() - c1
            finally:
                sys.stdout = real_stdout
            startup = t1 - t0
            sink.flush()
            printed = os.fstat(sink.fileno()).st_size - warm
    return {
        "seconds": seconds,
        "cpu": cpu,
        "startup": startup,
        "peak_rss_mib": peak_rss_kib() / 1024,
        "status": status,
        "printed": printed,
    }


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT, CPU_LIMIT + 5))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _in_fresh_process(mode: str, path: Path, src: str | None) -> dict[str, Any]:
    env = dict(os.environ)
    env["PENSION_COLLECT_DISABLE_PLUGINS"] = "1"  # the product's own code only
    if src and mode == "validate":
        env["PYTHONPATH"] = src
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--measure", mode, str(path)],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=_limits,
        check=False,
    )
    if proc.returncode != 0:
        return {
            "seconds": time.perf_counter() - t,
            "peak_rss_mib": None,
            "status": f"died ({proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}",
            "printed": None,
            "startup": None,
            "cpu": None,
        }
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def bench(name: str, n: int, repeat: int, src: str | None, tmp: Path) -> dict[str, Any]:
    make = INPUTS[name][0]
    path = tmp / f"{name}.json"
    path.write_bytes(make(n))
    base, val = [], []
    for _ in range(repeat):  # interleaved: a slow spell hits both
        base.append(_in_fresh_process("baseline", path, src))
        val.append(_in_fresh_process("validate", path, src))
    best_base = min(r["seconds"] for r in base)
    base_cpu = min(r["cpu"] for r in base)
    best = min(val, key=lambda r: r["seconds"])
    peak_base = max(r["peak_rss_mib"] for r in base)
    peaks = [r["peak_rss_mib"] for r in val if r["peak_rss_mib"] is not None]
    peak_val = max(peaks) if peaks else None
    return {
        "input": name,
        "n": n,
        "file_mib": round(path.stat().st_size / 2**20, 2),
        "json_load_s": round(best_base, 4),
        "validate_s": round(best["seconds"], 4),
        "validate_startup_s": None if best["startup"] is None else round(best["startup"], 3),
        "time_ratio": round(best["seconds"] / best_base, 1),
        "json_load_cpu_s": round(base_cpu, 4),
        "validate_cpu_s": None if best["cpu"] is None else round(best["cpu"], 4),
        "cpu_ratio": None
        if best["cpu"] is None or not base_cpu
        else round(best["cpu"] / base_cpu, 1),
        "json_load_peak_mib": round(peak_base, 1),
        "validate_peak_mib": None if peak_val is None else round(peak_val, 1),
        "memory_ratio": None if peak_val is None else round(peak_val / peak_base, 1),
        "validate_status": best["status"],
        "validate_printed_kib": None if best["printed"] is None else round(best["printed"] / 2**10),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny inputs, one run (CI)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--src", help="source tree for the validate side (PYTHONPATH)")
    parser.add_argument("--only", choices=sorted(INPUTS), help="one input only")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--measure", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]))))
        return 0
    repeat = 1 if args.smoke else args.repeat
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (_, full, smoke) in INPUTS.items():
            if args.only and name != args.only:
                continue
            rows.append(bench(name, smoke if args.smoke else full, repeat, args.src, Path(tmp)))
    if args.json:
        print(json.dumps(rows))
    else:
        for row in rows:
            print(f"== {row['input']}")
            for key, value in row.items():
                print(f"  {key:22} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
