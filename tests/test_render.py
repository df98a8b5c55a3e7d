"""The forms read back from the PDFs: what each worker must check is on their
page, nothing after the cut-off is, three marked copies, the QR payload, and
byte-identical output (docs/forms.md)."""

from __future__ import annotations

import io
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pension_collect import forms_input, verify_payload
from pension_collect.adapters.pdf.fonts import CID_FONT, FONT_ENV, FontSet, choose_font
from pension_collect.adapters.pdf.pdfstream import PdfStreamWriter
from pension_collect.adapters.pdf.renderers import copy_labels
from pension_collect.model import Segment, Source, Worker, YearMonth
from pension_collect.ports.forms import (
    QrPayload,
    RenderOptions,
    VerifyStatus,
    printed_digest,
)
from pension_collect.ports.forms.payload import qr_matrix
from pension_collect.ports.forms.view import summary_rows
from pension_collect.rules.parameters import DatedValue, ParameterSet
from render_fixtures import example, has_ttf, host, late_year, page_texts, render_bytes

pytest.importorskip("reportlab")
pytest.importorskip("segno")
pytest.importorskip("pypdf")

COPIES = ("第一联", "第二联", "第三联")
GENDER = {"male": "男", "female": "女"}
HUKOU = {"urban": "城镇", "rural": "农村"}


def _collected_values(worker: Worker) -> list[str]:
    """What a worker checks on the confirmation form: every printed value up to 2011."""
    values = [worker.name, worker.id_number, str(worker.first_work)]
    values += [v for v in (worker.person_no, worker.ethnicity) if v]
    if worker.birth_date is not None:
        values.append(worker.birth_date.isoformat())
    if worker.gender is not None:
        values.append(GENDER[worker.gender.value])
    if worker.hukou is not None:
        values.append(HUKOU[worker.hukou.value])
    for seg in worker.history or ():
        values += [str(seg.start), str(seg.end), str(seg.months)]
        values += [str(v) for v in (seg.total, seg.base, seg.rate) if v is not None]
        values += [v for v in (seg.employer_name, seg.remark) if v]
    for year in worker.account or ():
        if year.year <= 2011:
            values += [str(year.year)] + [
                str(v)
                for v in (year.base, year.personal, year.employer_part, year.interest, year.balance)
            ]
    return values


def _late_values(worker: Worker) -> list[str]:
    """The amounts of account years after 2011 (they must not be printed)."""
    return [
        str(v)
        for y in worker.account or ()
        if y.year > 2011
        for v in (y.base, y.personal, y.employer_part, y.balance)
    ]


@pytest.fixture(scope="module")
def confirmation() -> tuple[list[str], bytes, object]:
    pdf, result = render_bytes("confirmation", example())
    return page_texts(pdf), pdf, result


@pytest.fixture(scope="module")
def verification() -> tuple[list[str], object]:
    pdf, result = render_bytes("verification", example())
    return page_texts(pdf), result


class TestConfirmationForm:
    def test_three_copies_per_worker(self, confirmation: tuple[list[str], bytes, object]) -> None:
        """Each worker gets three pages, marked first, second and third copy in order."""
        texts, _, result = confirmation
        assert result.pages == 9
        assert len(texts) == 9
        for w in range(3):
            for c, mark in enumerate(COPIES):
                page = texts[w * 3 + c]
                assert mark in page
                assert all(other not in page for other in COPIES if other != mark)

    def test_every_collected_value_is_on_each_copy(
        self, confirmation: tuple[list[str], bytes, object]
    ) -> None:
        """Every collected value up to 2011 is on each copy of its worker's form."""
        texts, _, _ = confirmation
        for w, worker in enumerate(example().workers):
            for c in range(3):
                page = texts[w * 3 + c]
                flat = "".join(page.split())  # a long cell wraps onto two lines
                missing = [v for v in _collected_values(worker) if v not in flat]
                assert missing == [], f"worker {w} copy {c}"

    def test_nothing_after_the_cut_off(self, confirmation: tuple[list[str], bytes, object]) -> None:
        """The 2012 account year of the example is printed nowhere, nor any later year."""
        texts, _, _ = confirmation
        for w, worker in enumerate(example().workers):
            late = _late_values(worker)
            assert late
            for page in texts[w * 3 : w * 3 + 3]:
                assert [v for v in late if v in page] == []
                assert late_year(page) is None

    def test_cut_off_is_printed(self, confirmation: tuple[list[str], bytes, object]) -> None:
        """Each page says up to which month it prints (the pack's parameter)."""
        texts, _, _ = confirmation
        assert all("数据打印至2011年12月" in t for t in texts)

    def test_furniture(self, confirmation: tuple[list[str], bytes, object]) -> None:
        """Title, employer, signature and date lines, seal box and page numbers are on each page."""
        texts, _, _ = confirmation
        for n, page in enumerate(texts, start=1):
            for word in ("职工养老保险信息确认表", "10012345", "威海示例机械有限公司"):
                assert word in page
            for word in ("职工签字", "经办人签字", "日期", "单位（盖章）", "第 1 页"):
                assert word in page
            assert f"总第 {n} 页" in page
            assert "DECL-1" in page

    def test_printed_payloads_verify(self, confirmation: tuple[list[str], bytes, object]) -> None:
        """The payload printed for each worker verifies against the same dossier."""
        _, _, result = confirmation
        dossier = example()
        printed = result.printed  # type: ignore[attr-defined]
        assert [p.index for p in printed] == [0, 1, 2]
        for p in printed:
            verdict = verify_payload(p.payload, dossier, host=host(), declaration_ref="DECL-1")
            assert verdict.status is VerifyStatus.AGREE
            assert verdict.worker_index == p.index
            assert p.digest[:8] in " ".join(
                page_texts(confirmation[1])[p.index * 3 : p.index * 3 + 3]
            )

    def test_qr_defined_once_per_worker(
        self, confirmation: tuple[list[str], bytes, object]
    ) -> None:
        """Each worker's QR code is one form object, placed on all three copies."""
        from pypdf import PdfReader

        _, pdf, _ = confirmation
        reader = PdfReader(io.BytesIO(pdf))
        for w in range(3):
            refs = set()
            for page in reader.pages[w * 3 : w * 3 + 3]:
                xobjects = page["/Resources"]["/XObject"]
                qr = [k for k in xobjects if k.startswith("/FormXob.qr")]
                assert len(qr) == 1
                refs.add(xobjects.raw_get(qr[0]).idnum)
            assert len(refs) == 1

    @pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) missing")
    def test_qr_scans_from_the_rendered_page(
        self, confirmation: tuple[list[str], bytes, object], tmp_path: Path
    ) -> None:
        """The QR code rasterized at 150 dpi decodes to the printed payload, which verifies."""
        zxingcpp = pytest.importorskip("zxingcpp")
        image_mod = pytest.importorskip("PIL.Image")
        _, pdf, result = confirmation
        source = tmp_path / "c.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                "150",
                "-f",
                "2",
                "-l",
                "2",
                "-png",
                str(source),
                str(tmp_path / "p"),
            ],
            check=True,
        )
        (png,) = tmp_path.glob("p*.png")
        decoded = [r.text for r in zxingcpp.read_barcodes(image_mod.open(png))]
        assert decoded == [result.printed[0].payload]  # type: ignore[attr-defined]
        assert verify_payload(decoded[0], example(), host=host()).agrees

    def test_byte_identical(self, confirmation: tuple[list[str], bytes, object]) -> None:
        """The same input renders to the same bytes."""
        again, _ = render_bytes("confirmation", example())
        assert again == confirmation[1]

    def test_chunks_do_not_change_the_content(
        self, confirmation: tuple[list[str], bytes, object]
    ) -> None:
        """Streaming one page per chunk gives the same pages and text as one chunk."""
        pdf, result = render_bytes("confirmation", example(), chunk_pages=1)
        assert result.pages == 9
        assert page_texts(pdf) == confirmation[0]

    def test_selection(self) -> None:
        """Selected workers only, in the order given."""
        pdf, result = render_bytes("confirmation", example(), select=(2, 0))
        texts = page_texts(pdf)
        assert [p.index for p in result.printed] == [2, 0]
        assert "王强" in texts[0]
        assert "张伟" in texts[3]
        assert all("李娜" not in t for t in texts)

    def test_same_worker_twice(self) -> None:
        """A worker selected twice is printed twice, each with its own QR code."""
        pdf, result = render_bytes("confirmation", example(), select=(1, 1))
        assert result.pages == 6
        assert result.printed[0].digest == result.printed[1].digest
        assert all("李娜" in t for t in page_texts(pdf))

    def test_no_workers_writes_nothing(self) -> None:
        """An empty selection is a RenderError before a byte is written."""
        from pension_collect.ports.forms.registry import RenderError

        out = io.BytesIO()
        forms = forms_input(example(), host=host(), select=())
        with pytest.raises(RenderError, match="no workers"):
            host().renderer("confirmation").render(forms, out)
        assert out.getvalue() == b""

    def test_copy_count(self) -> None:
        """``copies=N`` on a built-in renderer prints N marked copies."""
        renderer = host().renderer("confirmation")
        out = io.BytesIO()
        result = renderer.render(  # type: ignore[call-arg]
            example(), out, options=RenderOptions(font="cid"), copies=4
        )
        assert result.pages == 12
        assert "第4联" in page_texts(out.getvalue())[3]
        assert copy_labels(2) == ("第一联 社保经办机构留存", "第二联 用人单位留存")


class TestVerificationForm:
    def test_prints_the_bureau_record(self, verification: tuple[list[str], object]) -> None:
        """The bureau's history and account are printed, not the collected ones."""
        texts, result = verification
        assert result.pages == 3  # type: ignore[attr-defined]
        first = texts[0]
        assert "1983-07" in first
        assert "1992-12" in first
        # the red-book period is collected but not held by the bureau
        assert "491.40" not in first
        assert "1993-01" not in first
        for year in example().workers[0].bureau.account:  # type: ignore[union-attr]
            if year.year <= 2011:
                assert str(year.balance) in first
                assert str(year.personal) in first

    def test_nothing_after_the_cut_off(self, verification: tuple[list[str], object]) -> None:
        """The bureau's 2012 account year is not printed."""
        texts, _ = verification
        for worker, page in zip(example().workers, texts, strict=True):
            assert worker.bureau is not None
            late = [str(y.balance) for y in worker.bureau.account or () if y.year > 2011]
            assert late
            assert [v for v in late if v in page] == []
            assert late_year(page) is None

    def test_room_to_correct_by_hand(self, verification: tuple[list[str], object]) -> None:
        """Correction columns, the window-only note, signature and seal are on the page."""
        texts, _ = verification
        for page in texts:
            assert page.count("更正（手写）") >= 3
            for word in ("社保经办窗口", "职工签字", "经办人签字", "单位（盖章）", "第 1 页"):
                assert word in page

    def test_worker_without_bureau_record(self) -> None:
        """A worker the bureau holds nothing for gets a form saying so."""
        dossier = example()
        bare = attrs.evolve(dossier.workers[0], bureau=None)
        pdf, _ = render_bytes("verification", attrs.evolve(dossier, workers=(bare,)))
        (page,) = page_texts(pdf)
        assert "社保机构暂无该职工的数据" in page
        assert "514.80" not in page


class TestSummarySheet:
    def test_one_line_per_worker_with_totals(self) -> None:
        """Each worker has a line; the totals add up the months and balances."""
        pdf, result = render_bytes("summary", example())
        (page,) = page_texts(pdf)
        assert result.workers == 3
        for name in ("张伟", "李娜", "王强"):
            assert name in page
        assert "66348.07" in page  # 23629.70 + 20444.51 + 22273.86 (2011 year-end)
        assert "3 人" in page
        assert "合计" in page
        assert "26513.61" not in page  # a 2012 balance
        for word in ("经办人签字", "社保经办机构受理人", "单位（盖章）", "第 1 页  共 1 页"):
            assert word in page

    def test_totals(self) -> None:
        """summary_rows counts months by category up to the cut-off and sums balances."""
        rows, totals = summary_rows(forms_input(example(), host=host()))
        assert [r.seq for r in rows] == [1, 2, 3]
        assert (totals.deemed, totals.pre_account, totals.post_account) == (114, 145, 36)
        assert totals.balance == "66348.07"
        assert totals.copies == 9

    def test_many_workers_paginate(self) -> None:
        """Sixty workers spill onto several pages numbered "of N"."""
        dossier = example()
        workers = tuple(
            attrs.evolve(dossier.workers[i % 3], person_no=f"9{i:05d}") for i in range(60)
        )
        pdf, result = render_bytes("summary", attrs.evolve(dossier, workers=workers))
        texts = page_texts(pdf)
        assert result.pages == len(texts) > 1
        assert f"共 {len(texts)} 页" in texts[-1]
        assert "60 人" in texts[-1]
        assert all(f"9{i:05d}" in "".join(texts) for i in range(60))


class TestCutOff:
    def _pack(self, until: str | None):  # type: ignore[no-untyped-def]
        pack = host().rule_pack("weihai-2013")
        params = dict(pack.parameters.parameters)
        if until is None:
            del params["forms_print_until"]
        else:
            old = params["forms_print_until"]
            params["forms_print_until"] = attrs.evolve(
                old,
                values=(
                    DatedValue(
                        since=YearMonth(1900, 1),
                        value=YearMonth.parse(until),
                        source="test",
                        confidence=old.values[0].confidence,
                    ),
                ),
            )
        return attrs.evolve(pack, parameters=ParameterSet(params))

    def test_cut_off_comes_from_the_pack(self) -> None:
        """A pack printing until 2009-12 drops the 2010 and 2011 account years."""
        forms = forms_input(example(), pack=self._pack("2009-12"))
        sheet = forms.workers[0]
        assert forms.print_until == "2009-12"
        assert [a.year for a in sheet.collected.account or ()][-1] == 2009
        assert sheet.collected.withheld == 3

    def test_pack_without_cut_off_prints_everything(self) -> None:
        """Without the parameter every year is printed."""
        forms = forms_input(example(), pack=self._pack(None))
        assert forms.print_until is None
        assert [a.year for a in forms.workers[0].collected.account or ()][-1] == 2012

    def test_segment_across_the_cut_off_is_clipped(self) -> None:
        """A transfer running into 2012 prints up to 2011-12, without its total."""
        dossier = example()
        seg = Segment(
            start=YearMonth(2010, 1),
            end=YearMonth(2012, 6),
            total=Decimal("999.99"),
            source=Source.TRANSFER_IN,
        )
        worker = attrs.evolve(dossier.workers[2], history=(*dossier.workers[2].history, seg))
        forms = forms_input(attrs.evolve(dossier, workers=(worker,)), host=host())
        line = forms.workers[0].collected.history[-1]  # type: ignore[index]
        assert (line.end, line.months, line.total, line.clipped) == ("2011-12", 24, None, True)
        pdf, _ = render_bytes("confirmation", attrs.evolve(dossier, workers=(worker,)))
        page = page_texts(pdf)[0]
        assert "999.99" not in page
        assert "2012-06" not in page
        assert "截至2011-12" in page


class TestPaper:
    def test_digest_changes_with_a_printed_value(self) -> None:
        """Changing one printed amount changes the digest."""
        dossier = example()
        before = forms_input(dossier, host=host()).workers[0]
        worker = dossier.workers[0]
        account = list(worker.account or ())
        account[3] = attrs.evolve(account[3], interest=Decimal("47.21"))
        changed = attrs.evolve(worker, account=tuple(account))
        after = forms_input(attrs.evolve(dossier, workers=(changed,)), host=host()).workers[0]
        assert printed_digest("10012345", "2011-12", before.collected) != printed_digest(
            "10012345", "2011-12", after.collected
        )

    def test_digest_ignores_what_is_not_printed(self) -> None:
        """Changing the 2012 account year (not printed) keeps the digest."""
        dossier = example()
        worker = dossier.workers[0]
        account = list(worker.account or ())
        account[-1] = attrs.evolve(account[-1], balance=Decimal("1.00"))
        changed = attrs.evolve(worker, account=tuple(account))
        a = forms_input(dossier, host=host()).workers[0]
        b = forms_input(attrs.evolve(dossier, workers=(changed,)), host=host()).workers[0]
        assert printed_digest("u", "2011-12", a.collected) == printed_digest(
            "u", "2011-12", b.collected
        )

    def test_paper_and_changed_data_differ(self) -> None:
        """A payload printed before a correction no longer agrees after it."""
        dossier = example()
        forms = forms_input(dossier, host=host(), declaration_ref="D")
        from pension_collect.ports.forms.payload import payload_for

        payload = payload_for(forms, forms.workers[1]).encode()
        worker = attrs.evolve(dossier.workers[1], name="李娜娜")
        changed = attrs.evolve(dossier, workers=(dossier.workers[0], worker, dossier.workers[2]))
        verdict = verify_payload(payload, changed, host=host())
        assert verdict.status is VerifyStatus.DIFFER
        assert not verdict.agrees
        assert verdict.worker_index == 1
        assert verdict.expected_digest != verdict.payload.digest

    def test_verdicts(self) -> None:
        """Malformed, other employer, other declaration and unknown worker are told apart."""
        dossier = example()
        good = QrPayload(
            unit_no="10012345",
            worker="P37100200001",
            declaration_ref="D",
            print_until="2011-12",
            digest="0" * 32,
        )
        h = host()
        assert verify_payload("hello", dossier, host=h).status is VerifyStatus.MALFORMED
        other = attrs.evolve(good, unit_no="1").encode()
        assert verify_payload(other, dossier, host=h).status is VerifyStatus.OTHER_EMPLOYER
        decl = verify_payload(good.encode(), dossier, host=h, declaration_ref="E")
        assert decl.status is VerifyStatus.OTHER_DECLARATION
        nobody = attrs.evolve(good, worker="P999").encode()
        assert verify_payload(nobody, dossier, host=h).status is VerifyStatus.UNKNOWN_WORKER
        assert verify_payload(good, dossier, host=h).status is VerifyStatus.DIFFER

    def test_payload_holds_no_name_or_identity_number(self) -> None:
        """A worker without a personal number is keyed by a hash, never the id number."""
        forms = forms_input(example(), host=host())
        sheet = forms.workers[2]
        from pension_collect.ports.forms.payload import payload_for

        text = payload_for(forms, sheet).encode()
        assert sheet.key.startswith("H")
        assert len(sheet.key) == 17
        assert "371083197506203516" not in text
        assert "王强" not in text

    @given(
        unit=st.text(min_size=1, max_size=12),
        worker=st.text(min_size=1, max_size=20),
        ref=st.none() | st.text(min_size=1, max_size=20),
        until=st.none() | st.sampled_from(["2011-12", "1999-01"]),
        digest=st.text(alphabet="0123456789ABCDEF", min_size=32, max_size=32),
    )
    def test_payload_round_trip(
        self, unit: str, worker: str, ref: str | None, until: str | None, digest: str
    ) -> None:
        """Encoding then parsing a payload gives the same fields, whatever their text."""
        payload = QrPayload(
            unit_no=unit, worker=worker, declaration_ref=ref, print_until=until, digest=digest
        )
        assert QrPayload.parse(payload.encode()) == payload

    def test_qr_matrix_is_square(self) -> None:
        """The QR code of a payload is a square matrix of 0/1 modules."""
        matrix = qr_matrix("PC1/1/P1//201112/" + "0" * 32)
        assert len(matrix) == len(matrix[0]) >= 21
        assert {v for row in matrix for v in row} <= {0, 1}


class TestFonts:
    def test_cid_forced_by_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """PENSION_COLLECT_FONT=cid picks STSong-Light and the result says so."""
        monkeypatch.setenv(FONT_ENV, "cid")
        _, result = render_bytes("summary", example(), font=None)
        assert result.font is not None
        assert (result.font.name, result.font.kind, result.font.how) == (CID_FONT, "cid", "forced")

    @pytest.mark.skipif(
        not has_ttf(), reason="no TrueType CJK font (apt-get install fonts-wqy-zenhei)"
    )
    def test_truetype_subset_is_embedded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """With a CJK TrueType font installed it is found and embedded as a subset."""
        monkeypatch.delenv(FONT_ENV, raising=False)
        pdf, result = render_bytes("confirmation", example(), font="auto", select=(0,))
        assert result.font is not None
        assert result.font.kind == "ttf"
        assert b"/FontFile2" in pdf
        flat = "".join(page_texts(pdf)[0].split())
        assert all(v in flat for v in _collected_values(example().workers[0]))
        again, _ = render_bytes("confirmation", example(), font="auto", select=(0,))
        assert again == pdf

    @pytest.mark.skipif(not has_ttf(), reason="no TrueType CJK font")
    def test_configured_collection_index(self) -> None:
        """A path with #index selects a face of a TrueType collection."""
        from pension_collect.adapters.pdf.fonts import find_cjk_fonts

        path, index, _ = find_cjk_fonts()[0]
        choice = choose_font(f"{path}#{index}")
        assert (choice.kind, choice.path, choice.subfont_index, choice.how) == (
            "ttf",
            path,
            index,
            "configured",
        )

    @pytest.mark.skipif(not has_ttf(), reason="no TrueType CJK font")
    def test_missing_glyph_falls_back_to_cid(self) -> None:
        """A character the TrueType font lacks is set in STSong-Light, not as a box."""
        fonts = FontSet(choose_font("auto"))
        assert fonts._cmap is not None
        rare = next(chr(i) for i in range(0x3400, 0xA000) if i not in fonts._cmap)
        runs = fonts.runs(f"张{rare}伟")
        assert [f for f, _ in runs] == [fonts.primary, CID_FONT, fonts.primary]
        assert rare in fonts.missing

    @pytest.mark.parametrize("spec", ["cid", "auto"])
    def test_beyond_the_bmp_prints_a_geta_mark(self, spec: str) -> None:
        """A character no font here can show (CJK Extension B) is printed as 〓."""
        fonts = FontSet(choose_font(spec))
        rare = "\U0002a6a5"
        if fonts._cmap is not None and ord(rare) in fonts._cmap:  # pragma: no cover
            pytest.skip("this font has the Extension B character")
        text = "".join(part for _, part in fonts.runs(f"王{rare}强"))
        assert text == "王〓强"
        assert rare in fonts.missing

    def test_bad_font_path_is_an_error(self, tmp_path: Path) -> None:
        """A configured font that does not exist is an error, not a silent fallback."""
        from pension_collect.ports.forms.registry import RenderError

        with pytest.raises(RenderError, match="not found"):
            choose_font(str(tmp_path / "nope.ttf"))


class TestPdfStream:
    def test_rejects_what_it_cannot_copy(self) -> None:
        """A chunk that is not a classic-xref PDF is refused, not mis-copied."""
        from pension_collect.ports.forms.registry import RenderError

        writer = PdfStreamWriter(io.BytesIO())
        with pytest.raises(RenderError):
            writer.add_chunk(b"%PDF-1.5\n1 0 obj\n<<>>\nendobj\nstartxref\n9\n%%EOF\n")

    def test_empty_summary_is_a_valid_pdf(self) -> None:
        """A summary of no workers is one page with zero totals."""
        pdf, result = render_bytes("summary", attrs.evolve(example(), workers=()))
        assert result.pages == 1
        assert "0 人" in page_texts(pdf)[0]


#: Words each form prints in its own fixed text (the procedure sheet's wording),
#: whatever font sets them.
FORM_WORDS = {
    "verification": ("职工养老保险信息核对表", "更正（手写）", "社保经办窗口", "职工签字"),
    "confirmation": ("职工养老保险信息确认表", "第一联", "第二联", "第三联", "职工签字"),
    "summary": ("职工养老保险信息确认表汇总表", "合计", "3 人", "社保经办机构受理人"),
}
#: Pages of each form for the example's three workers.
FORM_PAGES = {"verification": 3, "confirmation": 9, "summary": 1}
_NEEDS_TTF = pytest.mark.skipif(
    not has_ttf(), reason="no TrueType CJK font (apt-get install fonts-wqy-zenhei fontconfig)"
)
_NEEDS_POPPLER = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdffonts") is None,
    reason="pdftoppm/pdffonts (poppler-utils) missing",
)


@pytest.fixture(scope="module")
def default_forms() -> dict[str, tuple[bytes, object]]:
    """Each form of the example rendered as production does: the facade's
    ``render`` with no options (font ``auto``) and PENSION_COLLECT_FONT unset."""
    import pension_collect

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(FONT_ENV, raising=False)
        out = {}
        for form in FORM_PAGES:
            buffer = io.BytesIO()
            result = pension_collect.render(form, example(), buffer, host=host())
            out[form] = (buffer.getvalue(), result)
    return out


def _embedded_fonts(pdf: bytes, page_index: int) -> list[tuple[str, str, bool]]:
    """(BaseFont, Subtype, has FontFile2) of every font on a page; a Type0
    font's program is looked up in its descendant font."""
    from pypdf import PdfReader

    page = PdfReader(io.BytesIO(pdf)).pages[page_index]
    fonts = []
    for ref in page["/Resources"]["/Font"].values():
        font = ref.get_object()
        program = font
        if font["/Subtype"] == "/Type0":
            program = font["/DescendantFonts"][0].get_object()
        descriptor = program.get("/FontDescriptor")
        has_file2 = descriptor is not None and "/FontFile2" in descriptor.get_object()
        fonts.append((str(font["/BaseFont"]), str(font["/Subtype"]), has_file2))
    return fonts


@_NEEDS_TTF
@pytest.mark.parametrize("form", list(FORM_PAGES))
class TestDefaultFont:
    """The production default (font ``auto``) embeds the installed TrueType
    CJK font in every form; the other form tests force the CID font."""

    def test_truetype_font_is_embedded(
        self, default_forms: dict[str, tuple[bytes, object]], form: str
    ) -> None:
        """Every page's Chinese text is set in an embedded TrueType subset
        (/TrueType, or /Type0 over a CIDFontType2, with /FontFile2), not in
        the non-embedded CID font STSong-Light."""
        pdf, result = default_forms[form]
        assert result.font is not None  # type: ignore[attr-defined]
        assert result.font.kind == "ttf"  # type: ignore[attr-defined]
        assert result.font.how == "fontconfig"  # type: ignore[attr-defined]
        assert result.pages == FORM_PAGES[form]  # type: ignore[attr-defined]
        for index in range(FORM_PAGES[form]):
            fonts = _embedded_fonts(pdf, index)
            truetype = [
                name
                for name, subtype, has_file2 in fonts
                if subtype in ("/TrueType", "/Type0") and has_file2
            ]
            assert truetype, f"page {index + 1}: {fonts}"
            # a subset carries a six-letter tag: AAAAAA+FamilyName
            assert all(name[1:7].isalpha() and name[7] == "+" for name in truetype)
            assert not [name for name, _, _ in fonts if CID_FONT in name]

    def test_chinese_labels_read_back(
        self, default_forms: dict[str, tuple[bytes, object]], form: str
    ) -> None:
        """The form's fixed wording and the workers' names extract as text."""
        pdf, _ = default_forms[form]
        texts = page_texts(pdf)
        flat = "".join(texts)
        assert [w for w in FORM_WORDS[form] if w not in flat] == []
        for name in ("张伟", "李娜", "王强"):
            assert name in flat
        assert all("单位（盖章）" in page for page in texts)

    @_NEEDS_POPPLER
    def test_poppler_sees_an_embedded_subset(
        self, default_forms: dict[str, tuple[bytes, object]], form: str, tmp_path: Path
    ) -> None:
        """poppler's pdffonts, a second reader, lists the TrueType fonts as
        embedded subsets."""
        pdf, _ = default_forms[form]
        source = tmp_path / f"{form}.pdf"
        source.write_bytes(pdf)
        listing = subprocess.run(
            ["pdffonts", str(source)], check=True, capture_output=True, text=True
        ).stdout
        rows = [line.split() for line in listing.splitlines()[2:]]
        truetype = [r for r in rows if "TrueType" in r]
        assert truetype
        # name type... emb sub uni object-id generation: emb and sub are "yes"
        assert all(r[-5:-2] == ["yes", "yes", "yes"] for r in truetype), listing
        assert CID_FONT not in listing

    @_NEEDS_POPPLER
    def test_pages_rasterize(
        self, default_forms: dict[str, tuple[bytes, object]], form: str, tmp_path: Path
    ) -> None:
        """pdftoppm renders every page without a complaint, each with ink on it;
        the confirmation form's QR code still scans and verifies."""
        image_mod = pytest.importorskip("PIL.Image")
        pdf, result = default_forms[form]
        source = tmp_path / f"{form}.pdf"
        source.write_bytes(pdf)
        run = subprocess.run(
            ["pdftoppm", "-r", "150", "-png", str(source), str(tmp_path / "p")],
            check=True,
            capture_output=True,
            text=True,
        )
        assert run.stderr == ""
        pngs = sorted(tmp_path.glob("p*.png"))
        assert len(pngs) == FORM_PAGES[form]
        for png in pngs:
            assert image_mod.open(png).convert("L").getextrema() == (0, 255), png.name
        if form == "confirmation":
            zxingcpp = pytest.importorskip("zxingcpp")
            decoded = [r.text for r in zxingcpp.read_barcodes(image_mod.open(pngs[1]))]
            assert decoded == [result.printed[0].payload]  # type: ignore[attr-defined]
            assert verify_payload(decoded[0], example(), host=host()).agrees
