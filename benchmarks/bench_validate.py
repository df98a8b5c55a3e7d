"""Benchmark: ``validate`` of a large dossier as a ratio to ``json.load``.

Generates a dossier of N workers shaped like real ones (an upper-box period,
a red-book period, account years 1996..2012 with consistent balances, and the
bureau's block repeating the account as a data sync returns it), writes it to
a temporary file and measures, in the same run:

- baseline: ``json.load`` of the file;
- validate: what ``pension-collect validate FILE --format json`` does --
  read, parse, structure, check with weihai-2013, serialize the report.

Each run is a fresh interpreter (neither side inherits the other's heap or
garbage-collector state), ``--repeat`` times interleaved; the best time of
each side is used. The validate side first validates the bundled example
(imports, plugin discovery, the pack's parameters: once per program, not per
file). Peak memory is each side's VmHWM, the highest of its runs.

    python benchmarks/bench_validate.py              # 10,000 workers
    python benchmarks/bench_validate.py --smoke      # tiny, for CI

Target (issue 2): ratio <= 3.0.
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

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


def run_baseline(path: Path) -> float:
    t = time.perf_counter()
    with open(path, "rb") as fh:
        json.load(fh)
    return time.perf_counter() - t


def run_validate(path: Path, phases: dict[str, float] | None = None) -> tuple[float, int]:
    """What ``validate --format json`` does; ``phases`` gets the time of each part."""
    from pension_collect import check
    from pension_collect.dossier import loads

    t0 = time.perf_counter()
    dossier = loads(path.read_bytes(), source=str(path))
    t1 = time.perf_counter()
    report = check(dossier, today=datetime.date(2026, 11, 28))
    t2 = time.perf_counter()
    report.to_json()
    t3 = time.perf_counter()
    if phases is not None:
        phases.update(read=t1 - t0, check=t2 - t1, report=t3 - t2)
    return t3 - t0, len(report.errors)


def warm_up() -> None:
    """What a program does once, not per file: import, find the plugins, load
    the rule pack's parameters (validating the bundled example does it all)."""
    import pension_collect
    from pension_collect import check
    from pension_collect.dossier import load

    check(load(Path(pension_collect.__file__).parent / "data" / "example-dossier.json"))


def peak_rss_kib() -> int:
    """This process's peak resident set (VmHWM). Unlike ru_maxrss it starts
    afresh at exec, so a child does not inherit its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def measure(mode: str, path: Path) -> dict[str, object]:
    """One timed run in this (fresh) process: ``mode`` is baseline or validate."""
    warm_up() if mode == "validate" else None
    phases: dict[str, float] = {}
    errors = 0
    if mode == "baseline":
        seconds = run_baseline(path)
    else:
        seconds, errors = run_validate(path, phases)
    return {
        "seconds": seconds,
        "phases": phases,
        "errors": errors,
        "peak_rss_mib": peak_rss_kib() / 1024,
    }


def _in_fresh_process(mode: str, path: Path) -> dict[str, Any]:
    # Each run gets its own interpreter: neither side inherits the other's
    # heap or collector state (json.load's time depends on the collector).
    out = subprocess.run(
        [sys.executable, __file__, "--measure", mode, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI (200 workers)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--measure", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]))))
        return 0
    if args.smoke:
        args.workers, args.repeat = 200, 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dossier.json"
        path.write_text(json.dumps(make_dossier(args.workers), ensure_ascii=False), "utf-8")
        size = path.stat().st_size
        baselines, validates = [], []
        for _ in range(args.repeat):  # interleaved: a slow spell hits both
            baselines.append(_in_fresh_process("baseline", path))
            validates.append(_in_fresh_process("validate", path))
    best_base = min(r["seconds"] for r in baselines)
    best_val = min(validates, key=lambda r: r["seconds"])
    figures = {
        "workers": args.workers,
        "file_mib": round(size / 2**20, 1),
        "json_load_s": round(best_base, 3),
        "validate_s": round(best_val["seconds"], 3),
        "ratio": round(best_val["seconds"] / best_base, 2),
        "best_run_read_s": round(best_val["phases"]["read"], 3),
        "best_run_check_s": round(best_val["phases"]["check"], 3),
        "best_run_report_s": round(best_val["phases"]["report"], 3),
        "target_ratio": 3.0,
        "peak_rss_mib_json_load": round(max(r["peak_rss_mib"] for r in baselines), 1),
        "peak_rss_mib_validate": round(max(r["peak_rss_mib"] for r in validates), 1),
        "error_findings": best_val["errors"],
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:24} {value}")
    if any(r["errors"] for r in validates):
        print("unexpected: the generated dossier has error findings", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
