"""Benchmark: ``export-xlsx`` and ``import-xlsx`` of a large dossier, next to
openpyxl writing and reading the same cells raw.

Generates the dossier of benchmarks/bench_validate.py (N workers shaped like
real ones: an upper-box period, a red-book period, 17 account years, the
bureau's block repeating them), then measures, each in a fresh interpreter
(``--repeat`` times, interleaved; the best CPU time of each side -- the
machine may be shared, CPU time is steadier than the wall clock, which is
shown too -- and the highest peak memory):

- export: ``pension_collect.xlsx.write_xlsx`` (formats, drop-downs, widths,
  written aside and moved into place);
- raw write: openpyxl's write-only mode appending the same rows of the same
  values (no formats, no drop-downs) and saving;
- import: ``pension_collect.xlsx.read_xlsx`` of the exported workbook (the
  file checks, every cell read as its column's kind, the dossier reader);
- raw read: openpyxl's read-only mode iterating every row's values of the
  same workbook.

Both write sides start from the dossier already read (its reading is not
timed, its memory is in both peaks); peak memory is each process's VmHWM.

    python benchmarks/bench_xlsx.py              # 10,000 workers
    python benchmarks/bench_xlsx.py --smoke      # tiny, for CI
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _shared import peak_rss_kib
from bench_validate import make_dossier


def _load(path: Path) -> Any:
    from pension_collect.dossier import load

    return load(path)


def run(mode: str, dossier_path: Path, workbook: Path) -> dict[str, Any]:
    """One timed run of ``mode`` in this (fresh) process."""
    import openpyxl  # imported before the clock starts, on every side

    from pension_collect import xlsx

    del openpyxl
    out: dict[str, Any] = {}
    if mode in ("export", "raw-write"):
        dossier = _load(dossier_path)
        target = workbook.with_name(f"{mode}.xlsx")
        t, c = time.perf_counter(), time.process_time()
        if mode == "export":
            xlsx.write_xlsx(dossier, target)
        else:
            out["cells"] = _raw_write(dossier, target)
        seconds, cpu = time.perf_counter() - t, time.process_time() - c
        out["mib"] = target.stat().st_size / 2**20
    elif mode == "import":
        t, c = time.perf_counter(), time.process_time()
        dossier = xlsx.read_xlsx(workbook)
        seconds, cpu = time.perf_counter() - t, time.process_time() - c
        out["workers"] = len(dossier.workers)
    else:
        t, c = time.perf_counter(), time.process_time()
        out["cells"] = _raw_read(workbook)
        seconds, cpu = time.perf_counter() - t, time.process_time() - c
    out.update(seconds=seconds, cpu=cpu, peak_rss_mib=peak_rss_kib() / 1024)
    return out


def _raw_write(dossier: Any, target: Path) -> int:
    import openpyxl

    from pension_collect.xlsx._layout import SHEETS
    from pension_collect.xlsx._write import _rows

    wb = openpyxl.Workbook(write_only=True)
    cells = 0
    for sheet in SHEETS:
        ws = wb.create_sheet(sheet.title)
        ws.append([c.zh for c in sheet.columns])
        ws.append([c.en for c in sheet.columns])
        for row in _rows(dossier, sheet):
            ws.append(row)
            cells += sum(v is not None for v in row)
    wb.save(target)
    return cells


def _raw_read(workbook: Path) -> int:
    import openpyxl

    wb = openpyxl.load_workbook(workbook, read_only=True)
    cells = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            cells += sum(v is not None for v in row)
    wb.close()
    return cells


def _fresh(mode: str, dossier_path: Path, workbook: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--measure", mode, str(dossier_path), str(workbook)],
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the {mode} run failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workers", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI (100 workers)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        mode, dossier_path, workbook = args.measure
        print(json.dumps(run(mode, Path(dossier_path), Path(workbook))))
        return 0
    if args.smoke:
        args.workers, args.repeat = 100, 1
    runs: dict[str, list[dict[str, Any]]] = {
        m: [] for m in ("export", "raw-write", "import", "raw-read")
    }
    with tempfile.TemporaryDirectory() as tmp:
        dossier_path = Path(tmp) / "dossier.json"
        dossier_path.write_text(json.dumps(make_dossier(args.workers), ensure_ascii=False), "utf-8")
        workbook = Path(tmp) / "export.xlsx"
        for _ in range(args.repeat):  # interleaved: a slow spell hits both sides
            for mode in runs:
                runs[mode].append(_fresh(mode, dossier_path, workbook))
        json_mib = dossier_path.stat().st_size / 2**20
    best = {m: min(r["cpu"] for r in rs) for m, rs in runs.items()}
    wall = {m: min(r["seconds"] for r in rs) for m, rs in runs.items()}
    peak = {m: max(r["peak_rss_mib"] for r in rs) for m, rs in runs.items()}
    figures = {
        "workers": args.workers,
        "dossier_json_mib": round(json_mib, 1),
        "workbook_mib": round(runs["export"][0]["mib"], 1),
        "cells": runs["raw-read"][0]["cells"],
        "export_cpu_s": round(best["export"], 2),
        "raw_write_cpu_s": round(best["raw-write"], 2),
        "export_ratio": round(best["export"] / best["raw-write"], 2),
        "import_cpu_s": round(best["import"], 2),
        "raw_read_cpu_s": round(best["raw-read"], 2),
        "import_ratio": round(best["import"] / best["raw-read"], 2),
        "export_wall_s": round(wall["export"], 2),
        "raw_write_wall_s": round(wall["raw-write"], 2),
        "import_wall_s": round(wall["import"], 2),
        "raw_read_wall_s": round(wall["raw-read"], 2),
        "peak_rss_mib_export": round(peak["export"], 1),
        "peak_rss_mib_raw_write": round(peak["raw-write"], 1),
        "peak_rss_mib_import": round(peak["import"], 1),
        "peak_rss_mib_raw_read": round(peak["raw-read"], 1),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:24} {value}")
    if runs["import"][0]["workers"] != args.workers:
        print("unexpected: the import did not give every worker back", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
