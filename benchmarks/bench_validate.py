"""Benchmark: ``validate`` of a large dossier as a ratio to ``json.load``.

Generates a dossier of N workers shaped like real ones (an upper-box period,
a red-book period, account years 1996..2012 with consistent balances, and the
bureau's block repeating the account as a data sync returns it), writes it to
a temporary file and measures, in the same run:

- baseline: ``json.load`` of the file;
- validate: what ``pension-collect validate FILE --format json`` does --
  read, parse, structure, check with weihai-2013, serialize the report.

Each is timed ``--repeat`` times interleaved; the best time of each is used.
Peak memory (max RSS) of each is measured in a fresh subprocess.

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

from pension_collect.identity import check_digit

AREAS = ("371002", "371082", "371083", "371081", "370203", "110105")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚"


def _id_number(rng: random.Random, born: datetime.date) -> str:
    body = f"{rng.choice(AREAS)}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return body + check_digit(body)


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
    from pension_collect.dossier import loads
    from pension_collect.rules import check

    t0 = time.perf_counter()
    dossier = loads(path.read_bytes(), source=str(path))
    t1 = time.perf_counter()
    report = check(dossier, today=datetime.date(2026, 11, 28))
    t2 = time.perf_counter()
    report.to_json()
    t3 = time.perf_counter()
    if phases is not None:
        for name, seconds in (("read", t1 - t0), ("check", t2 - t1), ("report", t3 - t2)):
            phases[name] = min(phases.get(name, seconds), seconds)
    return t3 - t0, len(report.errors)


def peak_rss_kib() -> int:
    """This process's peak resident set (VmHWM). Unlike ru_maxrss it starts
    afresh at exec, so a child does not inherit its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def _peak_rss_mib(mode: str, path: Path) -> float:
    code = (
        "import sys, pathlib\n"
        "sys.path[:0] = [p for p in sys.argv[3:]]\n"
        "import bench_validate as b\n"
        "path = pathlib.Path(sys.argv[2])\n"
        "b.run_baseline(path) if sys.argv[1] == 'baseline' else b.run_validate(path)\n"
        "print(b.peak_rss_kib())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, mode, str(path), str(Path(__file__).parent)],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI (200 workers)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.smoke:
        args.workers, args.repeat = 200, 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dossier.json"
        path.write_text(json.dumps(make_dossier(args.workers), ensure_ascii=False), "utf-8")
        size = path.stat().st_size
        base_times, val_times, errors = [], [], 0
        phases: dict[str, float] = {}
        for _ in range(args.repeat):
            base_times.append(run_baseline(path))
            elapsed, errors = run_validate(path, phases)
            val_times.append(elapsed)
        base_rss = _peak_rss_mib("baseline", path)
        val_rss = _peak_rss_mib("validate", path)
    figures = {
        "workers": args.workers,
        "file_mib": round(size / 2**20, 1),
        "json_load_s": round(min(base_times), 3),
        "validate_s": round(min(val_times), 3),
        "ratio": round(min(val_times) / min(base_times), 2),
        "best_read_s": round(phases["read"], 3),
        "best_check_s": round(phases["check"], 3),
        "best_report_s": round(phases["report"], 3),
        "target_ratio": 3.0,
        "peak_rss_mib_json_load": round(base_rss, 1),
        "peak_rss_mib_validate": round(val_rss, 1),
        "error_findings": errors,
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:24} {value}")
    if errors:
        print("unexpected: the generated dossier has error findings", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
