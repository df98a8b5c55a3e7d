"""Benchmark: confirmation forms (确认表, three copies each) as PDF.

Measures, in the same run:

- ours: ``ConfirmationRenderer`` on N workers -- building the view model,
  the QR code of each worker (encoded once, placed on its three copies),
  layout, drawing, and streaming the chunks into one file;
- baseline: a bare reportlab canvas drawing the very same strings, lines and
  boxes (recorded from our layout beforehand, untimed) into one document,
  without QR codes, view model, layout or streaming.

and reports pages per second of each and their ratio (target >= 0.5), bytes
per page, and the peak memory of rendering N and 10 N workers, each in a
fresh subprocess (target: 10x the workers within 1.5x the memory). Workers
are generated lazily, with varied values, so the input does not grow the
peak: the memory measured is the renderer's.

    python benchmarks/bench_render.py            # 1,000 workers; memory at 1,000 and 10,000
    python benchmarks/bench_render.py --smoke    # tiny sizes, a few seconds (CI)

The font is whatever the renderer picks (PENSION_COLLECT_FONT, fontconfig,
else STSong-Light); the summary says which.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any, overload

from pension_collect.adapters.pdf import forms as render_forms
from pension_collect.adapters.pdf.fonts import FontSet, choose_font
from pension_collect.adapters.pdf.layout import Layout
from pension_collect.adapters.pdf.renderers import ConfirmationRenderer
from pension_collect.adapters.pdf.styles import A4, PORTRAIT
from pension_collect.identity import check_char
from pension_collect.model import AccountYear, Employer, Segment, Source, Worker, YearMonth
from pension_collect.plugins import PluginHost
from pension_collect.ports.forms.registry import RenderOptions
from pension_collect.ports.forms.view import FormsInput, forms_input_from_workers

AREAS = ("371002", "371082", "371083", "371081", "370203", "110105")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚"
EMPLOYERS = ("威海第二机床厂", "荣成市第一中学", "乳山市建筑公司", "文登市纺织厂", "青岛某贸易公司")
EMPLOYER = Employer(unit_no="10012345", name="威海示例机械有限公司")
CENT = Decimal("0.01")


def make_worker(i: int) -> Worker:
    """Worker ``i``: the same every time, varied across ``i``."""
    rng = random.Random(i)
    born = dt.date(rng.randrange(1950, 1978), rng.randrange(1, 13), rng.randrange(1, 29))
    body = f"{rng.choice(AREAS)}{born:%Y%m%d}{rng.randrange(1000):03d}"
    first_year = born.year + rng.randrange(17, 23)
    first = YearMonth(first_year, rng.randrange(1, 13))
    history: list[Segment] = []
    if first.year <= 1992:
        history.append(
            Segment(
                start=first,
                end=YearMonth(1992, 12),
                total=Decimal("0"),
                employer_name=rng.choice(EMPLOYERS),
            )
        )
        base = Decimal(rng.randrange(300, 500))
        history.append(
            Segment(
                start=YearMonth(1993, 1),
                end=YearMonth(1996, 3),
                base=base,
                rate=Decimal("0.03"),
                total=(base * Decimal("0.03") * 39).quantize(CENT),
                source=Source.RED_BOOK,
                employer_name=rng.choice(EMPLOYERS),
            )
        )
    account: list[AccountYear] = []
    balance = Decimal(0)
    base = Decimal(rng.randrange(450, 700))
    for year in range(max(1996, first.year), 2013):
        months = 9 if year == 1996 else 12
        personal = (base * Decimal("0.08") * months).quantize(CENT)
        employer_part = (base * Decimal("0.03") * months).quantize(CENT)
        interest = (balance * Decimal("0.0225")).quantize(CENT)
        balance += personal + employer_part + interest
        account.append(
            AccountYear(
                year=year,
                months=months,
                base=base,
                personal=personal,
                employer_part=employer_part,
                interest=interest,
                balance=balance,
            )
        )
        base = (base * Decimal("1.08")).quantize(Decimal(1))
    return Worker(
        id_number=body + check_char(body),
        name=rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randrange(1, 3))),
        first_work=first,
        person_no=f"371{i:08d}",
        history=tuple(history),
        account=tuple(account),
    )


class LazyWorkers(Sequence[Worker]):
    """N generated workers, each made when asked for (never all held at once)."""

    def __init__(self, n: int) -> None:
        self._n = n

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> Worker: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Worker]: ...
    def __getitem__(self, i: int | slice) -> Worker | Sequence[Worker]:
        if isinstance(i, slice):
            return [make_worker(j) for j in range(self._n)[i]]
        if not 0 <= i < self._n:
            raise IndexError(i)
        return make_worker(i)

    def __iter__(self) -> Iterator[Worker]:
        return (make_worker(i) for i in range(self._n))


def forms_for(n: int) -> FormsInput:
    pack = PluginHost(load_entry_points=False).rule_pack("weihai-2013")
    return forms_input_from_workers(
        EMPLOYER, LazyWorkers(n), pack=pack, as_of=YearMonth(2013, 8), declaration_ref="BENCH-1"
    )


# -- baseline: the same strings and lines on a bare canvas ----------------------------


class _Recorder:
    """A painter that records what the forms draw (QR codes left out)."""

    def __init__(self, ops: list[tuple[Any, ...]], forms: dict[str, list[tuple[Any, ...]]]) -> None:
        self.ops = ops
        self.forms = forms

    def text(self, x: float, y: float, text: str, size: float, align: str = "left") -> None:
        self.ops.append(("t", x, y, text, size, align))

    def line(self, x1: float, y1: float, x2: float, y2: float, width: float) -> None:
        self.ops.append(("l", x1, y1, x2, y2, width))

    def rect(self, x: float, y: float, w: float, h: float, width: float) -> None:
        self.ops.append(("r", x, y, w, h, width))

    def place(self, key: str, x: float, y: float, scale: float) -> None:
        # A page body drawn once and placed on each copy: the baseline draws it
        # on every page, as a plain canvas would. QR codes are not drawn.
        if key in self.forms:
            self.ops.extend(self.forms[key])


class RecordingDocument:
    """A :class:`~pension_collect.adapters.pdf.paint.Document` that records every page."""

    def __init__(self) -> None:
        self.pages = 0
        self.recorded: list[list[tuple[Any, ...]]] = []
        self.forms: dict[str, list[tuple[Any, ...]]] = {}

    def page(self) -> _Recorder:
        self.pages += 1
        self.recorded.append([])
        return _Recorder(self.recorded[-1], self.forms)

    def end_page(self) -> None:
        pass

    def boundary(self) -> None:
        self.forms.clear()

    def define_qr(self, key: str, matrix: Sequence[Sequence[int]], quiet: int) -> None:
        pass

    def begin_form(self, key: str) -> _Recorder:
        self.forms[key] = []
        return _Recorder(self.forms[key], self.forms)

    def end_form(self) -> None:
        pass


def record(n: int) -> tuple[list[list[tuple[Any, ...]]], FontSet]:
    fonts = FontSet(choose_font(None))
    doc = RecordingDocument()
    render_forms.draw_confirmation(forms_for(n), Layout(fonts, PORTRAIT), doc, RenderOptions())
    return doc.recorded, fonts


def baseline(pages: list[list[tuple[Any, ...]]], font: str, path: str) -> None:
    """Replay recorded pages on one plain reportlab canvas."""
    from reportlab.pdfgen.canvas import Canvas

    c = Canvas(path, pagesize=A4, invariant=1)
    for ops in pages:
        current: float | None = None
        width: float | None = None
        for op in ops:
            if op[0] == "t":
                _, x, y, text, size, align = op
                if size != current:
                    c.setFont(font, size)
                    current = size
                if align == "left":
                    c.drawString(x, y, text)
                elif align == "right":
                    c.drawRightString(x, y, text)
                else:
                    c.drawCentredString(x, y, text)
            elif op[0] == "l":
                if op[5] != width:
                    c.setLineWidth(op[5])
                    width = op[5]
                c.line(op[1], op[2], op[3], op[4])
            else:
                if op[5] != width:
                    c.setLineWidth(op[5])
                    width = op[5]
                c.rect(op[1], op[2], op[3], op[4], stroke=1, fill=0)
        c.showPage()
    c.save()


def ours(n: int, path: str) -> tuple[int, int]:
    with open(path, "wb") as out:
        result = ConfirmationRenderer().render(forms_for(n), out)
    return result.pages, result.bytes_written


# -- memory, in a fresh process -------------------------------------------------------


def _rss_kib(field: str) -> int:
    """VmRSS / VmHWM of this process in KiB (Linux). ru_maxrss is no use here: Linux
    carries the parent's high-water mark across fork and exec."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _child(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # Warm up (font load, imports) so the growth measured is the rendering's.
        ours(3, os.path.join(tmp, "warm.pdf"))
        before = _rss_kib("VmHWM")
        t0 = time.perf_counter()
        pages, size = ours(n, os.path.join(tmp, "out.pdf"))
        seconds = time.perf_counter() - t0
        peak = _rss_kib("VmHWM")
    result = {
        "workers": n,
        "pages": pages,
        "bytes": size,
        "seconds": seconds,
        "rss_before_kib": before,
        "rss_peak_kib": peak,
    }
    print(json.dumps(result))


def memory(n: int) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(n)], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def speed(n: int, repeat: int) -> dict[str, Any]:
    """Pages per second of ours and of the baseline, interleaved; the best of each."""
    with tempfile.TemporaryDirectory() as tmp:
        ours(2, os.path.join(tmp, "warm.pdf"))  # font load, imports
        recorded, fonts = record(n)
        base_times, our_times = [], []
        pages = size = 0
        for _ in range(repeat):
            t0 = time.perf_counter()
            baseline(recorded, fonts.primary, os.path.join(tmp, "base.pdf"))
            base_times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            pages, size = ours(n, os.path.join(tmp, "ours.pdf"))
            our_times.append(time.perf_counter() - t0)
        base_size = os.path.getsize(os.path.join(tmp, "base.pdf"))
    base_rate = len(recorded) / min(base_times)
    our_rate = pages / min(our_times)
    return {
        "font": fonts.choice.describe(),
        "workers": n,
        "pages": pages,
        "ours_pages_per_s": round(our_rate, 1),
        "baseline_pages_per_s": round(base_rate, 1),
        "ratio": round(our_rate / base_rate, 3),
        "target_ratio": 0.5,
        "bytes_per_page": round(size / pages),
        "baseline_bytes_per_page": round(base_size / len(recorded)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=1000)
    parser.add_argument("--memory-factor", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each (best counts)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes for CI")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory runs")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed comparison")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        _child(args.child)
        return 0
    n = 20 if args.smoke else args.workers
    repeat = 1 if args.smoke else args.repeat
    mem_sizes = (10, 100) if args.smoke else (n, n * args.memory_factor)

    summary: dict[str, Any] = {"benchmark": "render confirmation forms"}
    if not args.no_speed:
        summary.update(speed(n, repeat))
    if not args.no_memory:
        small, large = (memory(k) for k in mem_sizes)
        summary["memory"] = {
            "workers": [small["workers"], large["workers"]],
            "peak_rss_mib": [
                round(small["rss_peak_kib"] / 1024, 1),
                round(large["rss_peak_kib"] / 1024, 1),
            ],
            "growth_mib": [
                round((small["rss_peak_kib"] - small["rss_before_kib"]) / 1024, 1),
                round((large["rss_peak_kib"] - large["rss_before_kib"]) / 1024, 1),
            ],
            "peak_ratio": round(large["rss_peak_kib"] / small["rss_peak_kib"], 3),
            "target_peak_ratio": 1.5,
            "seconds": [round(small["seconds"], 1), round(large["seconds"], 1)],
        }
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    ok = (args.no_speed or summary["ratio"] >= 0.5) and (
        args.no_memory or summary["memory"]["peak_ratio"] <= 1.5
    )
    if not ok:
        print("target missed", file=sys.stderr)
    return 0 if ok or args.smoke else 1


if __name__ == "__main__":
    sys.exit(main())
