"""Awkward text on the forms: long names stay inside the header's boxes (read
back with poppler's pdftotext word boxes), and a lone surrogate handed in
through the Python API prints as the geta mark 〓 instead of crashing
(docs/forms.md)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

import pension_collect
from pension_collect.adapters.pdf.fonts import GETA, FontSet, choose_font
from pension_collect.adapters.pdf.layout import MIN_FIT_SIZE, WRAPPED_SIZE, Layout
from pension_collect.adapters.pdf.styles import PORTRAIT
from pension_collect.model import Dossier
from pension_collect.ports.forms import RenderOptions
from pension_collect.workflow.printing import render_form
from render_fixtures import example, has_ttf, host, page_texts

pytest.importorskip("reportlab")
pytest.importorskip("segno")
pytest.importorskip("pypdf")

# poppler reads back the embedded TrueType font; the CID font it cannot place
# without its Adobe-GB1 language pack (poppler-data).
_NEEDS_PDFTOTEXT = pytest.mark.skipif(
    shutil.which("pdftotext") is None or not has_ttf(),
    reason="pdftotext (poppler-utils) or a TrueType CJK font (fonts-wqy-zenhei) missing",
)

#: 45 characters: longer than the ~30 that used to run out of the header.
LONG_EMPLOYER = (
    "威海市环翠区某某街道某某社区居民委员会下属某某建筑工程有限责任公司第一分公司第二车间"
)
#: Worker names of 31, 60 and 100 characters (100 is the reader's limit).
NAMES = ("欧阳" + "长" * 29, "欧阳" + "长" * 58, "欧阳" + "长" * 98)

# The header's geometry in poppler's top-down coordinates (points from the
# top edge): the page's top margin is 36; the information lines' boxes run
# 52..78 below it; the body starts 88 below it. Text left of the QR code's
# column on the confirmation form, else up to the right margin.
MARGIN = 36.0
BOX_TOP, BOX_BOTTOM = MARGIN + 52, MARGIN + 78
LEFT = 40.0
TOL = 0.5


@attrs.frozen
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float


_WORD = re.compile(
    r'<word xMin="([0-9.]+)" yMin="([0-9.]+)" xMax="([0-9.]+)" yMax="([0-9.]+)">([^<]*)</word>'
)
_PAGE = re.compile(r'<page width="([0-9.]+)"')


def words(pdf: bytes, tmp_path: Path) -> Iterator[tuple[float, list[Word]]]:
    """Each page's width and words with their boxes, as pdftotext reads them."""
    source = tmp_path / "form.pdf"
    source.write_bytes(pdf)
    html = subprocess.run(
        ["pdftotext", "-bbox", str(source), "-"], check=True, capture_output=True, text=True
    ).stdout
    for page in html.split("</page>")[:-1]:
        width = float(_PAGE.search(page).group(1))  # type: ignore[union-attr]
        found = [
            Word(m.group(5), *(float(m.group(i)) for i in range(1, 5)))
            for m in _WORD.finditer(page)
        ]
        yield width, found


def long_dossier() -> Dossier:
    d = example()
    base = d.workers[0]
    workers = tuple(
        attrs.evolve(base, name=name, person_no=f"3710020000{i}") for i, name in enumerate(NAMES)
    )
    return attrs.evolve(d, workers=workers, employer=attrs.evolve(d.employer, name=LONG_EMPLOYER))


@_NEEDS_PDFTOTEXT
@pytest.mark.parametrize("form", ["confirmation", "verification", "summary"])
def test_long_names_stay_in_the_header_boxes(form: str, tmp_path: Path) -> None:
    """Every word of the header's information lines lies inside their boxes
    (left margin to the QR column or right margin, 52..78 pt below the top
    margin), and the whole of each name is printed there."""
    dossier = long_dossier()
    out = io.BytesIO()
    result = pension_collect.render(form, dossier, out, host=host())
    pages = list(words(out.getvalue(), tmp_path))
    assert len(pages) == result.pages
    names_seen = set()
    for width, page in pages:
        right = width - 40 - (70 if form == "confirmation" else 0)
        # words starting in the boxes' band (the summary's body may start just below)
        band = [w for w in page if w.y0 < BOX_BOTTOM - 2 and w.y1 > BOX_TOP - 6]
        info = [w for w in band if w.x0 < right]  # the QR's check code is right of it
        assert info
        outside = [
            w
            for w in info
            if w.x0 < LEFT - TOL
            or w.x1 > right + TOL
            or w.y0 < BOX_TOP - TOL
            or w.y1 > BOX_BOTTOM + TOL
        ]
        assert outside == [], [(w.x0, w.y0, w.x1, w.y1) for w in outside]
        # nothing of the information reaches into the body below it
        body = [w for w in page if w.y0 >= BOX_BOTTOM + 6]
        text = "".join(w.text for w in sorted(info, key=lambda w: (w.y0, w.x0)))
        assert all(LONG_EMPLOYER not in w.text for w in body)
        assert "单位名称：" + LONG_EMPLOYER in text
        if form != "summary":
            assert "个人编号：" in text
            names_seen.update(name for name in NAMES if "职工：" + name in text)
    if form != "summary":
        assert names_seen == set(NAMES)


@_NEEDS_PDFTOTEXT
def test_a_31_character_name_is_shrunk_onto_one_line(tmp_path: Path) -> None:
    """The worker's line with a 31-character name stays one line (smaller type):
    its words share a baseline, above the box's middle."""
    dossier = long_dossier()
    out = io.BytesIO()
    pension_collect.render(
        "confirmation", attrs.evolve(dossier, workers=dossier.workers[:1]), out, host=host()
    )
    _, page = next(words(out.getvalue(), tmp_path))
    worker = [w for w in page if w.text.startswith(("职工：", "个人编号：", "申报编号："))]
    assert len(worker) == 3
    assert len({round(w.y1, 1) for w in worker}) == 1
    height = worker[0].y1 - worker[0].y0
    assert MIN_FIT_SIZE - 0.5 <= height < 9


@pytest.fixture(scope="module")
def layout() -> Layout:
    return Layout(FontSet(choose_font("cid")), PORTRAIT)


class TestFit:
    """Layout.fit on its own: each result fits its box, in the size promised."""

    def test_short_text_is_left_alone(self, layout: Layout) -> None:
        fitted = layout.fit("职工：张伟", 400, 13, 9)
        assert (fitted.size, fitted.lines) == (9, ("职工：张伟",))

    def test_longer_text_shrinks_then_wraps_then_is_cut(self, layout: Layout) -> None:
        shrunk = layout.fit("长" * 60, 400, 13, 9)  # 540 pt at 9 pt
        assert shrunk.lines == ("长" * 60,)
        assert MIN_FIT_SIZE <= shrunk.size < 9
        assert shrunk.size * 60 <= 400  # a CJK glyph is one em wide
        wrapped = layout.fit("长" * 120, 400, 13, 9)
        assert wrapped.size == WRAPPED_SIZE
        assert "".join(wrapped.lines) == "长" * 120
        assert len(wrapped.lines) == 2
        cut = layout.fit("长" * 300, 400, 13, 9)
        assert len(cut.lines) == 2
        assert cut.lines[-1].endswith("…")
        assert all(len(line) * WRAPPED_SIZE <= 400 for line in cut.lines)
        single = layout.fit("长" * 300, 400, 13, 9, max_lines=1)
        assert len(single.lines) == 1

    def test_repr_leaves_the_text_out(self, layout: Layout) -> None:
        assert "张伟" not in repr(layout.fit("职工：张伟", 400, 13, 9))


# -- a lone surrogate --------------------------------------------------------------------

LONE = "\ud800"


def surrogate_dossier() -> Dossier:
    """A name, the employer's name and a history remark each holding a lone
    surrogate, as only the Python API lets through (the JSON reader refuses it)."""
    d = example()
    first = d.workers[0]
    history = first.history or ()
    assert history
    first = attrs.evolve(
        first,
        name="张" + LONE + "伟",
        history=(attrs.evolve(history[0], remark="备" + LONE), *history[1:]),
    )
    return attrs.evolve(
        d,
        workers=(first, *d.workers[1:]),
        employer=attrs.evolve(d.employer, name="威海" + LONE + "公司"),
    )


@pytest.mark.parametrize("font", ["cid", "auto"])
@pytest.mark.parametrize("form", ["confirmation", "verification", "summary"])
def test_lone_surrogate_prints_a_geta_mark(form: str, font: str) -> None:
    """Rendering through the facade does not crash: the surrogate is printed as
    〓 where it stood, and counted with the characters no font could show."""
    dossier = surrogate_dossier()
    out = io.BytesIO()
    result = pension_collect.render(
        form, dossier, out, options=RenderOptions(font=font, title="确认" + LONE), host=host()
    )
    assert result.fallback_chars >= 1
    flat = "".join(page_texts(out.getvalue()))
    assert "威海" + GETA + "公司" in flat
    assert "张" + GETA + "伟" in flat
    if form == "confirmation":  # the collected history (the verification form: the bureau's)
        assert "备" + GETA in flat
    assert LONE not in flat


def test_lone_surrogate_payload_verifies_against_the_stored_data() -> None:
    """The QR digest is defined for such data and agrees when checked against the
    very same stored data; a corrected name then differs."""
    dossier = surrogate_dossier()
    result = pension_collect.render("confirmation", dossier, io.BytesIO(), host=host())
    payload = result.printed[0].payload
    assert payload is not None
    assert pension_collect.verify_payload(payload, dossier, host=host()).agrees
    fixed = attrs.evolve(
        dossier, workers=(attrs.evolve(dossier.workers[0], name="张伟"), *dossier.workers[1:])
    )
    assert not pension_collect.verify_payload(payload, fixed, host=host()).agrees


def test_lone_surrogate_through_the_workflow_printing(tmp_path: Path) -> None:
    """The workflow's printing writes the forms (a file, 〓 in it)."""
    h = host()
    dossier = surrogate_dossier()
    printed = render_form(
        h, "confirmation", dossier, pack=h.rule_pack("weihai-2013"), out_dir=tmp_path
    )
    assert len(printed.files) == 1
    pdf = Path(printed.files[0]).read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert "张" + GETA + "伟" in "".join(page_texts(pdf))
