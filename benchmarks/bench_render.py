"""Benchmark: confirmation forms (确认表, three copies each) as PDF.

Measures, in the same run, in CPU seconds (the machine is shared):

- ours: ``ConfirmationRenderer`` on N workers (generated beforehand, untimed)
  -- building the view model, encoding each worker's QR code, layout,
  drawing, and streaming the chunks into one file;
- baseline: a bare reportlab canvas writing **the same document with the same
  structure**: our layout is recorded beforehand (untimed: the view model, the
  QR matrices, wrapping and pagination are not in the baseline's time) and
  replayed with reportlab's ordinary calls (``drawString`` and friends,
  ``line``, ``rect``, ``beginForm``/``doForm``) into one canvas: each worker's
  QR code a form XObject placed on the three copies, each page body a form
  XObject drawn once and placed on the three copies, the header and footer
  drawn on each page, compressed binary streams (not ASCII85), the same font
  (a TrueType subset when one is found), the same page count (checked).

and reports pages per CPU second of each and their ratio (target >= 0.9:
ours at least 0.9x the raw canvas writing the same structure), bytes per
page, and the peak memory of rendering N and 10 N workers, each in a fresh
subprocess (target: 10x the workers within 1.5x the memory). Workers are
generated lazily, with varied values, so the input does not grow the peak:
the memory measured is the renderer's.

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
#: Ours in pages per CPU second over the same-structure baseline's, at least.
TARGET_RATIO = 0.9


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


def forms_for(n: int, workers: Sequence[Worker] | None = None) -> FormsInput:
    """The view model of ``workers`` (default ``n`` generated lazily)."""
    pack = PluginHost(load_entry_points=False).rule_pack("weihai-2013")
    return forms_input_from_workers(
        EMPLOYER,
        LazyWorkers(n) if workers is None else workers,
        pack=pack,
        as_of=YearMonth(2013, 8),
        declaration_ref="BENCH-1",
    )


# -- baseline: the same document on a bare canvas -----------------------------------


Op = tuple[Any, ...]
#: A recorded document: ``("qr", key, matrix, quiet)``, ``("form", key, ops)`` and
#: ``("page", ops)`` events in drawing order.
Event = tuple[Any, ...]


class _Recorder:
    """A painter that records what the forms draw."""

    def __init__(self, ops: list[Op]) -> None:
        self.ops = ops

    def text(self, x: float, y: float, text: str, size: float, align: str = "left") -> None:
        self.ops.append(("t", x, y, text, size, align))

    def line(self, x1: float, y1: float, x2: float, y2: float, width: float) -> None:
        self.ops.append(("l", x1, y1, x2, y2, width))

    def rect(self, x: float, y: float, w: float, h: float, width: float) -> None:
        self.ops.append(("r", x, y, w, h, width))

    def place(self, key: str, x: float, y: float, scale: float) -> None:
        self.ops.append(("p", key, x, y, scale))


class RecordingDocument:
    """A :class:`~pension_collect.adapters.pdf.paint.Document` that records the whole
    document: QR codes, page bodies drawn once as forms, and pages."""

    def __init__(self) -> None:
        self.pages = 0
        self.events: list[Event] = []
        self._ops: list[Op] = []

    def page(self) -> _Recorder:
        self.pages += 1
        self._ops = []
        self.events.append(("page", self._ops))
        return _Recorder(self._ops)

    def end_page(self) -> None:
        pass

    def boundary(self) -> None:
        pass

    def define_qr(self, key: str, matrix: Sequence[Sequence[int]], quiet: int) -> None:
        self.events.append(("qr", key, [list(row) for row in matrix], quiet))

    def begin_form(self, key: str) -> _Recorder:
        self._ops = []
        self.events.append(("form", key, self._ops))
        return _Recorder(self._ops)

    def end_form(self) -> None:
        pass


def record(workers: Sequence[Worker]) -> tuple[list[Event], int, FontSet]:
    """Our layout of the workers' confirmation forms, recorded (QR codes encoded)."""
    fonts = FontSet(choose_font(None))
    doc = RecordingDocument()
    forms = forms_for(len(workers), workers)
    render_forms.draw_confirmation(forms, Layout(fonts, PORTRAIT), doc, RenderOptions())
    return doc.events, doc.pages, fonts


def _replay(c: Any, ops: list[Op], font: str) -> None:
    current: float | None = None
    width: float | None = None
    for op in ops:
        kind = op[0]
        if kind == "t":
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
        elif kind == "p":
            _, key, x, y, scale = op
            c.saveState()
            c.translate(x, y)
            if scale != 1:
                c.scale(scale, scale)
            c.doForm(key)
            c.restoreState()
            current = width = None  # as after any saved state: set again when used
        else:
            if op[5] != width:
                c.setLineWidth(op[5])
                width = op[5]
            if kind == "l":
                c.line(op[1], op[2], op[3], op[4])
            else:
                c.rect(op[1], op[2], op[3], op[4], stroke=1, fill=0)


def baseline(events: list[Event], font: str, path: str) -> int:
    """Replay a recorded document on one plain reportlab canvas, with our structure:
    each QR code and each page body a form XObject placed where ours places it,
    binary (not ASCII85) compressed streams, the same font. Returns the pages."""
    from reportlab import rl_config
    from reportlab.pdfgen.canvas import Canvas

    c = Canvas(path, pagesize=A4, invariant=1, pageCompression=1)
    pages = 0
    for event in events:
        if event[0] == "page":
            _replay(c, event[1], font)
            c.showPage()
            pages += 1
        elif event[0] == "form":
            c.beginForm(event[1], 0, 0, A4[0], A4[1])
            _replay(c, event[2], font)
            c.endForm()
        else:
            _, key, matrix, quiet = event
            side = len(matrix) + 2 * quiet
            c.beginForm(key, 0, 0, 1, 1)
            c.scale(1.0 / side, 1.0 / side)
            p = c.beginPath()
            for r, row in enumerate(matrix):
                y = side - quiet - r - 1
                start = -1
                for col, dark in enumerate((*row, 0)):
                    if dark and start < 0:
                        start = col
                    elif not dark and start >= 0:
                        p.rect(quiet + start, y, col - start, 1)
                        start = -1
            c.drawPath(p, stroke=0, fill=1)
            c.endForm()
    saved = rl_config.useA85
    rl_config.useA85 = 0  # binary streams, as ours
    try:
        c.save()
    finally:
        rl_config.useA85 = saved
    return pages


def ours(n: int, path: str, workers: Sequence[Worker] | None = None) -> tuple[int, int]:
    """Render ``workers`` (default ``n`` generated lazily, as they are drawn)."""
    with open(path, "wb") as out:
        result = ConfirmationRenderer().render(forms_for(n, workers), out)
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
    """Pages per CPU second of ours and of the baseline, interleaved; the best of each."""
    with tempfile.TemporaryDirectory() as tmp:
        ours(2, os.path.join(tmp, "warm.pdf"))  # font load, imports
        # The input is made beforehand: generating it is not rendering.
        workers = [make_worker(i) for i in range(n)]
        events, recorded_pages, fonts = record(workers)
        base_times, our_times = [], []
        pages = size = base_pages = 0
        for _ in range(repeat):
            t0 = time.process_time()
            base_pages = baseline(events, fonts.primary, os.path.join(tmp, "base.pdf"))
            base_times.append(time.process_time() - t0)
            t0 = time.process_time()
            pages, size = ours(n, os.path.join(tmp, "ours.pdf"), workers)
            our_times.append(time.process_time() - t0)
        base_size = os.path.getsize(os.path.join(tmp, "base.pdf"))
    if not pages == base_pages == recorded_pages:
        raise SystemExit(f"page counts differ: ours {pages}, baseline {base_pages}")
    from reportlab.lib import rl_accel

    base_rate = base_pages / min(base_times)
    our_rate = pages / min(our_times)
    return {
        "font": fonts.choice.describe(),
        # reportlab's C accelerator (pip install rl-accel) speeds the baseline more than ours
        "rl_accel": "fp_str" in rl_accel._c_funcs,
        "workers": n,
        "pages": pages,
        "ours_cpu_s": round(min(our_times), 2),
        "baseline_cpu_s": round(min(base_times), 2),
        "ours_pages_per_s": round(our_rate, 1),
        "baseline_pages_per_s": round(base_rate, 1),
        "ratio": round(our_rate / base_rate, 3),
        "target_ratio": TARGET_RATIO,
        "bytes_per_page": round(size / pages),
        "baseline_bytes_per_page": round(base_size / base_pages),
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
    ok = (args.no_speed or summary["ratio"] >= TARGET_RATIO) and (
        args.no_memory or summary["memory"]["peak_ratio"] <= 1.5
    )
    if not ok:
        print("target missed", file=sys.stderr)
    return 0 if ok or args.smoke else 1


if __name__ == "__main__":
    sys.exit(main())
