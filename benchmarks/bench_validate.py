"""Benchmark: ``pension-collect validate`` against ``json.load``, CPU time and peak memory.

Generates dossiers of N workers shaped like real ones (an upper-box period,
a red-book period, account years 1996..2012 with consistent balances, and the
bureau's block repeating the account as a data sync returns it), written to
temporary files, and measures in the same run, each side in a fresh child
process (neither inherits the other's heap or collector state), ``--repeat``
times interleaved (a slow spell of the shared machine hits both):

- baseline: ``python -c "json.load(...)"`` of the file;
- validate: ``pension-collect validate FILE --format json`` (in memory: the
  file is below the streaming size), output to the null device, the rule-pack
  cache warm (docs/cli.md) as after a first run.

Children run as an installed package does: with its bytecode compiled (a
first run writes it under the temporary folder, ``PYTHONPYCACHEPREFIX``),
whatever ``PYTHONDONTWRITEBYTECODE`` says. Each child reports its own CPU
time (``time.process_time()`` at its end: interpreter start-up, imports,
reading, checking, the report) and its peak resident memory (VmHWM, which
starts afresh at exec, unlike a forked child's ``ru_maxrss``). The ratio is
of the fastest runs of each side.

Streaming (unless ``--no-stream``): the peak memory of the streaming reader
(``open_streamed`` + ``check_streamed`` + the JSON report, through the
Python API with ``Limits(input_bytes=1 GiB)``: 100,000 workers are some
520 MB, beyond the command line's input-size limit) at 10,000 and 100,000
workers, and of the in-memory reader at 10,000.

    python benchmarks/bench_validate.py              # 1,000 and 10,000 workers, streaming 100,000
    python benchmarks/bench_validate.py --smoke      # tiny, for CI
    python benchmarks/bench_validate.py --no-stream  # a tree without the streaming reader
    python benchmarks/bench_validate.py --before /tmp/old/src  # and an older tree's, same run
    python benchmarks/bench_validate.py --callgrind  # and instruction counts (valgrind)

``--callgrind`` runs each side once more under ``valgrind --tool=callgrind``
and counts the instructions it ran up to its report (interpreter start-up
included, as in its CPU time): the same count on every run, whatever else
the machine does, so a ratio a shared machine's load cannot move. It counts
instructions, not time: cache misses, page faults and the kernel's work are
not in it (docs/dossier.md).

Targets (issue 15): validate / json.load <= 2.0 at 1,000 workers, <= 1.5 at
10,000; peak memory <= 1.05x json.load's; streaming peak at 100,000 workers
<= 1.2x that at 10,000.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from _shared import MARK_SYMBOL, callgrind_command, callgrind_parts, require_valgrind

from pension_collect.identity import check_char

AREAS = ("371002", "371082", "371083", "371081", "370203", "110105")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚"


def _id_number(rng: random.Random, born: datetime.date) -> str:
    body = f"{rng.choice(AREAS)}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return body + check_char(body)


def _money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), ".2f")


def make_worker(rng: random.Random, i: int) -> dict[str, object]:
    born = datetime.date(rng.randrange(1950, 1978), rng.randrange(1, 13), rng.randrange(1, 29))
    first_work_year = born.year + rng.randrange(17, 23)
    first = f"{first_work_year}-{rng.randrange(1, 13):02d}"
    history: list[dict[str, str]] = []
    if first_work_year <= 1992:
        history.append(
            {
                "start": first,
                "end": "1992-12",
                "total": "0",
                "category": "deemed",
                "employer_name": "威海第二机床厂",
            }
        )
        base = Decimal(rng.randrange(300, 500))
        total = base * Decimal("0.03") * 39
        history.append(
            {
                "start": "1993-01",
                "end": "1996-03",
                "base": _money(base),
                "rate": "0.03",
                "total": _money(total),
                "category": "pre_account",
                "source": "red_book",
            }
        )
    account = []
    balance = Decimal(0)
    base = Decimal(rng.randrange(450, 700))
    for year in range(1996, 2013):
        months = 9 if year == 1996 else 12
        personal = base * Decimal("0.04") * months / 12 * 12
        employer_part = base * Decimal("0.07") * months
        interest = (balance * Decimal("0.0225")).quantize(Decimal("0.01"))
        personal = personal.quantize(Decimal("0.01"))
        employer_part = employer_part.quantize(Decimal("0.01"))
        balance = balance + personal + employer_part + interest
        account.append(
            {
                "year": year,
                "months": months,
                "base": _money(base),
                "personal": _money(personal),
                "employer_part": _money(employer_part),
                "interest": _money(interest),
                "balance": _money(balance),
            }
        )
        base = (base * Decimal("1.08")).quantize(Decimal("1"))
    id_number = _id_number(rng, born)
    name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
    gender = "male" if int(id_number[16]) % 2 else "female"
    return {
        "person_no": f"3710{i:07d}",
        "id_number": id_number,
        "name": name,
        "gender": gender,
        "birth_date": born.isoformat(),
        "hukou": rng.choice(("urban", "rural")),
        "first_work": first,
        "history": history,
        "account": account,
        "bureau": {
            "name": name,
            "id_number": id_number,
            "history": history[:1],
            "account": account,
        },
    }


def make_dossier(n: int, seed: int = 2013) -> dict[str, object]:
    rng = random.Random(seed)
    return {
        "format": "pension-collect/dossier",
        "version": 1,
        "as_of": "2013-08",
        "employer": {"unit_no": "10012345", "name": "威海示例机械有限公司"},
        "workers": [make_worker(rng, i) for i in range(n)],
    }


def write_dossier(path: Path, n: int, seed: int = 2013) -> int:
    """Write a dossier of ``n`` workers to ``path`` worker by worker (100,000
    workers never in memory at once); its size in bytes."""
    rng = random.Random(seed)
    head = make_dossier(0)
    del head["workers"]
    with open(path, "w", encoding="utf-8") as out:
        out.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "workers": [')
        for i in range(n):
            out.write((", " if i else "") + json.dumps(make_worker(rng, i), ensure_ascii=False))
        out.write("]}")
    return path.stat().st_size


#: What each child runs; it writes {"cpu_s", "peak_mib", "status"} to standard error.
_REPORT = """
import json, sys, time
peak = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:'))
result = {'cpu_s': time.process_time(), 'peak_mib': peak / 1024, 'status': status}
sys.stderr.write(json.dumps(result))
"""
_CHILDREN = {
    "json.load": "import json, sys\njson.load(open(sys.argv[1], 'rb'))\nstatus = 0",
    "validate": (
        "import sys\nfrom pension_collect.cli import main\n"
        "status = main(['validate', sys.argv[1], '--format', 'json'])"
    ),
    "streamed": (
        "import os, sys\n"
        "from pension_collect._reader.stream import open_streamed\n"
        "from pension_collect.cli._packs import rule_pack\n"
        "from pension_collect.limits import Limits\n"
        "from pension_collect.rules.stream import check_streamed\n"
        "limits = Limits(input_bytes=2**30)\n"
        "streamed = open_streamed(sys.argv[1], limits)\n"
        "with check_streamed(streamed.header, streamed.workers(), rule_pack(None), "
        "limits=limits) as report:\n"
        "    report.write_json(sys.stdout)\n"
        "status = 0 if report.ok else 1"
    ),
    "in-memory": (
        "import sys\n"
        "from pension_collect.cli._packs import rule_pack\n"
        "from pension_collect.dossier import load\n"
        "from pension_collect.limits import Limits\n"
        "from pension_collect.rules import check\n"
        "report = check(load(sys.argv[1], limits=Limits(input_bytes=2**30)), rule_pack(None))\n"
        "sys.stdout.write(report.to_json())\n"
        "status = 0 if report.ok else 1"
    ),
}


def run_child(
    kind: str, path: Path, env: dict[str, str], callgrind: str | None = None
) -> dict[str, Any]:
    """One run of ``kind`` on ``path`` in a fresh interpreter (``validate@SRC``:
    ``validate`` of the pension_collect in the source folder SRC); with
    ``callgrind`` (a folder for its files) under valgrind, the instructions it
    ran up to its report (what its CPU time covers) added as
    ``instructions``."""
    kind, _, src = kind.partition("@")
    if src:
        # Its own cache folder: the rule-pack cache is keyed on the pack's
        # file, which the other tree has elsewhere (sharing one, each side
        # would replace the other's on every run).
        env = {
            **env,
            "PYTHONPATH": os.pathsep.join([src, *env.get("PYTHONPATH", "").split(os.pathsep)]),
            "XDG_CACHE_HOME": env["XDG_CACHE_HOME"] + "-before",
        }
    code, prefix, out_file = _CHILDREN[kind] + _REPORT, [], None
    if callgrind is not None:
        prefix, out_file = callgrind_command(callgrind)
        code = _CHILDREN[kind] + f"\nimport os\nos.getloadavg()  # {MARK_SYMBOL}\n" + _REPORT
        env = {**env, "PYTHONHASHSEED": "0"}
    with open(os.devnull, "w") as null:
        done = subprocess.run(
            [*prefix, sys.executable, "-c", code, str(path)],
            stdout=null,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            check=False,
        )
    try:
        result: dict[str, Any] = json.loads(done.stderr.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError(f"{kind} failed: {done.stderr[-2000:]}") from None
    if out_file is not None:
        result["instructions"] = callgrind_parts(out_file, 2)[0]  # up to the mark
    return result


def compare(
    path: Path,
    repeat: int,
    env: dict[str, str],
    before: str | None = None,
    callgrind: str | None = None,
) -> dict[str, Any]:
    """validate against json.load on one file, interleaved (and, with
    ``before``, the validate of another source folder in the same run; with
    ``callgrind``, one more run of each counting its instructions)."""
    runs: dict[str, list[dict[str, Any]]] = {"json.load": [], "validate": []}
    if before is not None:
        runs[f"validate@{before}"] = []
    for _ in range(repeat):
        for kind in runs:
            runs[kind].append(run_child(kind, path, env))
    base = min(r["cpu_s"] for r in runs["json.load"])
    val = min(r["cpu_s"] for r in runs["validate"])
    base_peak = max(r["peak_mib"] for r in runs["json.load"])
    val_peak = max(r["peak_mib"] for r in runs["validate"])
    figures: dict[str, Any] = {
        "json_load_cpu_s": round(base, 3),
        "validate_cpu_s": round(val, 3),
        "ratio": round(val / base, 2),
        "json_load_peak_mib": round(base_peak, 1),
        "validate_peak_mib": round(val_peak, 1),
        "peak_ratio": round(val_peak / base_peak, 2),
        "errors": sorted({r["status"] for r in runs["validate"]}),
    }
    if before is not None:
        old = runs[f"validate@{before}"]
        figures["before_cpu_s"] = round(min(r["cpu_s"] for r in old), 3)
        figures["before_ratio"] = round(figures["before_cpu_s"] / base, 2)
        figures["before_peak_mib"] = round(max(r["peak_mib"] for r in old), 1)
    if callgrind is not None:
        counts = {kind: run_child(kind, path, env, callgrind)["instructions"] for kind in runs}
        figures["instructions"] = counts
        figures["instruction_ratio"] = round(counts["validate"] / counts["json.load"], 3)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--stream-sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI (200 workers)")
    parser.add_argument("--no-stream", action="store_true", help="skip the streaming figures")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--before",
        metavar="SRC",
        help="also run the validate of the pension_collect in the source folder SRC "
        "(say, `git archive COMMIT src | tar -x -C DIR`, then DIR/src), interleaved",
    )
    parser.add_argument(
        "--callgrind",
        action="store_true",
        help="also count the instructions of one run of each side under valgrind "
        "(the same count on every run: a ratio no other process moves)",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.stream_sizes, args.repeat = [200], [200, 2_000], 1
    if args.callgrind:
        require_valgrind()  # before any work
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        # Bytecode as an installed package has it (pip compiles it): a child
        # started with PYTHONDONTWRITEBYTECODE compiled every module of
        # pension_collect from source on each run (json.load imports none).
        # Written under the temporary folder, read by the runs after the first.
        env = {
            **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
            "XDG_CACHE_HOME": str(Path(tmp) / "cache"),
            "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache"),
        }
        files: dict[int, Path] = {}
        for n in sorted({*args.sizes, *([] if args.no_stream else args.stream_sizes)}):
            files[n] = Path(tmp) / f"dossier-{n}.json"
            size = write_dossier(files[n], n)
            figures[f"file_mib_{n}"] = round(size / 2**20, 1)
        run_child("validate", files[min(files)], env)  # the rule-pack cache and bytecode made
        if args.before is not None:
            args.before = str(Path(args.before).resolve())
            run_child(f"validate@{args.before}", files[min(files)], env)
        counted = None
        if args.callgrind:
            counted = str(Path(tmp) / "callgrind")
            Path(counted).mkdir()
        for n in args.sizes:
            figures[f"workers_{n}"] = compare(files[n], args.repeat, env, args.before, counted)
        if not args.no_stream:
            low, high = min(args.stream_sizes), max(args.stream_sizes)
            for n in args.stream_sizes:
                for kind in ("streamed", "in-memory") if n == low else ("streamed",):
                    run = run_child(kind, files[n], env)
                    figures[f"{kind}_{n}"] = {
                        "cpu_s": round(run["cpu_s"], 2),
                        "peak_mib": round(run["peak_mib"], 1),
                    }
            figures["streamed_peak_ratio"] = round(
                figures[f"streamed_{high}"]["peak_mib"] / figures[f"streamed_{low}"]["peak_mib"], 2
            )
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:24} {value}")
    bad = [k for k, v in figures.items() if isinstance(v, dict) and v.get("errors", [0]) != [0]]
    if bad:
        print(f"unexpected: error findings or a failure in {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
