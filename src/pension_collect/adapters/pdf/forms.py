"""The three forms, drawn from the view model with reportlab.

- 核对表 verification form [P3.2, P3.3]: what the bureau holds for each worker,
  with a column to correct each item by hand;
- 确认表 confirmation form [P3.5]: the collected data, in three copies, each
  marked which copy it is and carrying the QR code that ties it to the data;
- 汇总表 summary sheet [P3.6]: one line per worker handed in, with totals.

Both worker forms print data up to the cut-off month of the view model (the
rule pack's ``forms_print_until``, 2011-12 in weihai-2013 [P3.3b]).
This module imports reportlab; import it only when rendering.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import BinaryIO

import attrs

from ...ports.forms.payload import payload_for
from ...ports.forms.registry import PrintedWorker, RenderError, RenderOptions, RenderResult
from ...ports.forms.view import FormsInput, HistoryLine, WorkerData, WorkerSheet, summary_rows
from . import labels, styles
from .fonts import FontSet, choose_font
from .layout import HEADER_CAP, Layout, Row, clip
from .paint import ChunkedDocument, Document, Painter
from .qrcode import qr_matrix
from .styles import Column, Style

__all__ = [
    "draw_confirmation",
    "draw_verification",
    "render_confirmation",
    "render_summary",
    "render_verification",
]


# -- blocks and pagination ----------------------------------------------------------


@attrs.frozen
class _Table:
    title: str
    columns: tuple[Column, ...]
    header: Row | None
    rows: tuple[Row, ...]


@attrs.frozen
class _Fixed:
    height: float
    draw: Callable[[Painter, float], object]


@attrs.frozen
class _Piece:
    """Part of a block placed on a page at ``top``."""

    block: _Table | _Fixed
    top: float
    first: int = 0
    last: int = 0
    continued: bool = False


def _paginate(blocks: Sequence[_Table | _Fixed], top: float, bottom: float) -> list[list[_Piece]]:
    pages: list[list[_Piece]] = [[]]
    y = top
    for block in blocks:
        if isinstance(block, _Fixed):
            if y - block.height < bottom and pages[-1]:
                pages.append([])
                y = top
            pages[-1].append(_Piece(block, y))
            y -= block.height
            continue
        head = styles.SECTION_GAP + (block.header.height if block.header else 0)
        i, n, continued = 0, len(block.rows), False
        while True:
            need = head + (block.rows[i].height if i < n else 0)
            if y - need < bottom and pages[-1]:
                pages.append([])
                y = top
            room = y - head
            j = i
            while j < n and (room - block.rows[j].height >= bottom or j == i):
                room -= block.rows[j].height
                j += 1
            pages[-1].append(_Piece(block, y, i, j, continued))
            y = room - 6
            i, continued = j, True
            if i >= n:
                break
    return pages


def _draw_piece(layout: Layout, p: Painter, piece: _Piece) -> None:
    block = piece.block
    if isinstance(block, _Fixed):
        block.draw(p, piece.top)
        return
    title = block.title + (labels.CONTINUED if piece.continued else "")
    p.text(layout.style.left, piece.top - 14, title, styles.SECTION_SIZE)
    rows = list(block.rows[piece.first : piece.last])
    if block.header is not None:
        rows.insert(0, block.header)
    layout.draw_table(p, piece.top - styles.SECTION_GAP, block.columns, rows)


# -- shared furniture ---------------------------------------------------------------


def _until_text(forms: FormsInput) -> str:
    if forms.print_until is None:
        return labels.PRINT_ALL
    year, month = forms.print_until.split("-")
    return labels.PRINT_UNTIL.format(year=year, month=int(month))


def _subtitle(forms: FormsInput) -> str:
    return f"{_until_text(forms)}　　{labels.RULE_PACK}：{clip(forms.rule_pack, HEADER_CAP)}"


def _or_dash(value: str | None) -> str:
    return labels.NOT_RECORDED if value is None or value == "" else value


def _header(
    layout: Layout,
    p: Painter,
    form: str,
    forms: FormsInput,
    info: Sequence[str],
    *,
    copy: str | None = None,
    qr: tuple[str, str] | None = None,
) -> None:
    style = layout.style
    top = style.top
    mid = (style.left + style.right) / 2
    # The subtitle, centred, keeps clear of the copy box and the QR code.
    half = min(mid - style.left - _COPY_BOX_WIDTH - 6, style.right - styles.QR_SIZE - 6 - mid)
    _fitted_line(
        layout,
        p,
        mid,
        top - styles.TITLE_SIZE,
        labels.FORM_TITLES[form],
        2 * half,
        styles.TITLE_SIZE,
    )
    _fitted_line(
        layout,
        p,
        mid,
        top - styles.TITLE_SIZE - 16,
        _subtitle(forms),
        2 * half,
        styles.SUBTITLE_SIZE,
    )
    if copy is not None:
        first, _, rest = copy.partition(" ")
        box = _COPY_BOX_WIDTH
        p.rect(style.left, top - 36, box, 36, styles.FRAME_WIDTH)
        centre = style.left + box / 2
        _fitted_line(layout, p, centre, top - 17, first, box - 6, styles.COPY_SIZE)
        _fitted_line(layout, p, centre, top - 30, rest, box - 6, styles.SMALL_SIZE + 1)
    text_right = style.right
    if qr is not None:
        key, digest = qr
        size = styles.QR_SIZE
        p.place(key, style.right - size, top - size, size)
        p.text(
            style.right - size / 2,
            top - size - 7,
            f"{labels.CHECK_CODE} {digest[:8]}",
            styles.SMALL_SIZE,
            "center",
        )
        text_right = style.right - size - 6
    # Each line of the information (employer, worker) has its box, one line
    # high: a long one is shrunk, or wrapped within it (Layout.fit).
    box_top = top - _INFO_TOP
    width = text_right - style.left
    for line in info:
        fitted = layout.fit(line, width, _INFO_LINE, styles.INFO_SIZE)
        layout.draw_fitted(p, style.left, box_top, fitted)
        box_top -= _INFO_LINE


def _fitted_line(
    layout: Layout, p: Painter, x: float, baseline: float, text: str, width: float, size: float
) -> None:
    """One centred line at ``size``, shrunk (or cut) to ``width`` when longer."""
    fitted = layout.fit(text, width, size * 1.2, size, max_lines=1)
    p.text(x, baseline, fitted.lines[0], fitted.size, "center")


#: The copy box's width, top left.
_COPY_BOX_WIDTH = 118.0
#: Below the page's top margin, where the information lines' boxes start;
#: each is one line high.
_INFO_TOP = 52.0
_INFO_LINE = 13.0
_HEADER_HEIGHT = 88.0
_FOOTER_ROOM = 6.0


def _employer_line(forms: FormsInput) -> str:
    e = forms.employer
    unit_no, name = clip(e.unit_no, HEADER_CAP), clip(e.name, HEADER_CAP)
    return f"{labels.UNIT_NO}：{unit_no}　　{labels.UNIT_NAME}：{name}"


def _worker_line(sheet: WorkerSheet, forms: FormsInput, *, declaration: bool) -> str:
    person = sheet.collected.person
    parts = [
        f"{labels.WORKER}：{clip(_or_dash(person.name), HEADER_CAP)}",
        f"个人编号：{clip(_or_dash(person.person_no), HEADER_CAP)}",
    ]
    if declaration:
        parts.append(f"{labels.DECLARATION}：{clip(_or_dash(forms.declaration_ref), HEADER_CAP)}")
    return "　　".join(parts)


def _person_value(data: WorkerData, key: str) -> str:
    person = data.person
    value = getattr(person, key)
    if key == "gender" and value is not None:
        value = labels.GENDER.get(value, value)
    if key == "hukou" and value is not None:
        value = labels.HUKOU.get(value, value)
    return _or_dash(value)


def _category(line: HistoryLine) -> str:
    return labels.CATEGORY.get(line.category or "", labels.NOT_RECORDED)


def _source(line: HistoryLine) -> str:
    text = labels.SOURCE.get(line.source, line.source)
    if line.origin is not None:
        text += f"（{labels.ORIGIN.get(line.origin, line.origin)}）"
    if line.employer_kind == "institution":
        text = labels.INSTITUTION
    return text


def _note(line: HistoryLine, forms: FormsInput) -> str:
    parts = [x for x in (line.employer_name, line.remark) if x]
    if line.clipped and forms.print_until is not None:
        parts.append(labels.CLIPPED.format(until=forms.print_until))
    return "；".join(parts)


def _history_values(i: int, line: HistoryLine, forms: FormsInput) -> dict[str, str | None]:
    return {
        "seq": str(i),
        "start": line.start,
        "end": line.end,
        "months": str(line.months),
        "base": line.base,
        "rate": line.rate,
        "total": line.total,
        "category": _category(line),
        "source": _source(line),
        "note": _note(line, forms),
        "correction": None,
    }


def _history_rows(
    layout: Layout, columns: Sequence[Column], data: WorkerData | None, forms: FormsInput
) -> list[Row]:
    if data is None or data.history is None:
        return [layout.span_row(columns, labels.NOT_COLLECTED if data else labels.NOT_RECORDED)]
    if not data.history:
        return [layout.span_row(columns, labels.NO_ROWS)]
    return [
        layout.row(columns, [values[c.key] for c in columns])
        for values in (
            _history_values(i, line, forms) for i, line in enumerate(data.history, start=1)
        )
    ]


def _account_rows(layout: Layout, columns: Sequence[Column], data: WorkerData | None) -> list[Row]:
    if data is None or data.account is None:
        return [layout.span_row(columns, labels.NOT_COLLECTED if data else labels.NOT_RECORDED)]
    if not data.account:
        return [layout.span_row(columns, labels.NO_ROWS)]
    rows = []
    for a in data.account:
        values = {
            "year": str(a.year),
            "months": str(a.months),
            "base": a.base,
            "personal": a.personal,
            "employer_part": a.employer_part,
            "interest": a.interest,
            "balance": a.balance,
            "correction": None,
        }
        rows.append(layout.row(columns, [values[c.key] for c in columns]))
    return rows


def _signature(layout: Layout, statement: Sequence[str]) -> _Fixed:
    height = len(statement) * 13 + styles.SIGN_BLOCK_HEIGHT + 8

    def draw(p: Painter, top: float) -> None:
        y = layout.draw_lines(p, top - 6, statement, styles.INFO_SIZE, 13)
        layout.signature_block(p, y, (labels.SIGN_WORKER, labels.SIGN_CLERK))

    return _Fixed(height, draw)


def _start(
    forms: FormsInput, options: RenderOptions | None, out: BinaryIO, form: str, style: Style
) -> tuple[RenderOptions, FontSet, Layout, ChunkedDocument]:
    options = options or RenderOptions()
    if form != "summary" and len(forms.workers) == 0:
        raise RenderError("no workers to print (没有要打印的职工)")
    if form == "confirmation" and not options.copies:
        raise RenderError("a confirmation form needs at least one copy")
    fonts = FontSet(choose_font(options.font))
    layout = Layout(fonts, style)
    doc = ChunkedDocument(
        out,
        fonts,
        pagesize=style.page,
        title=options.title or labels.FORM_TITLES[form],
        chunk_pages=options.chunk_pages,
    )
    return options, fonts, layout, doc


def _content_area(layout: Layout) -> tuple[float, float]:
    return layout.style.top - _HEADER_HEIGHT, layout.style.bottom + _FOOTER_ROOM


# -- verification form ----------------------------------------------------------------


def _verification_blocks(
    layout: Layout, sheet: WorkerSheet, forms: FormsInput
) -> list[_Table | _Fixed]:
    data = sheet.bureau
    person_cols = styles.VERIFICATION_PERSON
    fields = labels.PERSON_FIELDS
    person_rows = []
    for k in range(0, len(fields), 2):
        (k1, l1), (k2, l2) = fields[k], fields[k + 1]
        values = [
            l1,
            labels.NOT_RECORDED if data is None else _person_value(data, k1),
            None,
            l2,
            labels.NOT_RECORDED if data is None else _person_value(data, k2),
            None,
        ]
        person_rows.append(layout.row(person_cols, values))
    person_header = layout.row(
        person_cols,
        [labels.ITEM, labels.BUREAU_RECORD, labels.CORRECTION] * 2,
        size=styles.HEADER_SIZE,
        header=True,
    )
    blocks: list[_Table | _Fixed] = [
        _Table(labels.SECTION_PERSON, person_cols, person_header, tuple(person_rows))
    ]
    h_cols = styles.VERIFICATION_HISTORY
    h_rows = _history_rows(layout, h_cols, data, forms)
    blank = layout.row(h_cols, [None] * len(h_cols))
    h_rows.extend([blank] * styles.VERIFICATION_BLANK_ROWS)
    blocks.append(
        _Table(
            labels.SECTION_HISTORY + labels.BLANK_ROWS_NOTE,
            h_cols,
            layout.header_row(h_cols, dict(labels.HISTORY_HEADERS)),
            tuple(h_rows),
        )
    )
    a_cols = styles.VERIFICATION_ACCOUNT
    blocks.append(
        _Table(
            labels.SECTION_ACCOUNT,
            a_cols,
            layout.header_row(a_cols, dict(labels.ACCOUNT_HEADERS)),
            tuple(_account_rows(layout, a_cols, data)),
        )
    )
    note = labels.VERIFICATION_NOTE
    if data is None:
        note = labels.NO_BUREAU_DATA + note
    blocks.append(_signature(layout, layout.paragraph(note, styles.INFO_SIZE)))
    return blocks


def _finish(
    form: str, doc: ChunkedDocument, fonts: FontSet, printed: list[PrintedWorker], *, workers: int
) -> RenderResult:
    """Close the document and say what was written."""
    size = doc.close()
    return RenderResult(
        form=form,
        pages=doc.pages,
        workers=workers,
        bytes_written=size,
        font=fonts.choice,
        printed=tuple(printed),
        fallback_chars=len(fonts.missing),
    )


def render_verification(
    forms: FormsInput, out: BinaryIO, *, options: RenderOptions | None = None
) -> RenderResult:
    """核对表: one form per worker with the bureau's record, room to correct by hand."""
    options, fonts, layout, doc = _start(forms, options, out, "verification", styles.PORTRAIT)
    printed = draw_verification(forms, layout, doc, options)
    return _finish("verification", doc, fonts, printed, workers=len(printed))


def draw_verification(
    forms: FormsInput, layout: Layout, doc: Document, options: RenderOptions
) -> list[PrintedWorker]:
    """Draw the verification forms on ``doc`` (any :class:`Document`)."""
    top, bottom = _content_area(layout)
    short = labels.SHORT_TITLES["verification"]
    printed: list[PrintedWorker] = []
    for sheet in forms.workers:
        doc.boundary()
        plan = _paginate(_verification_blocks(layout, sheet, forms), top, bottom)
        first_page = doc.pages + 1
        info = (_employer_line(forms), _worker_line(sheet, forms, declaration=False))
        for n, pieces in enumerate(plan, start=1):
            p = doc.page()
            _header(layout, p, "verification", forms, info)
            for piece in pieces:
                _draw_piece(layout, p, piece)
            layout.footer(
                p,
                short,
                labels.PAGE_OF.format(page=n, pages=len(plan)),
                labels.DOC_PAGE.format(page=doc.pages),
            )
            doc.end_page()
        printed.append(
            PrintedWorker(index=sheet.index, key=sheet.key, first_page=first_page, pages=len(plan))
        )
    if not printed:
        raise RenderError("no workers to print (没有要打印的职工)")
    return printed


# -- confirmation form --------------------------------------------------------------


def _confirmation_blocks(
    layout: Layout, sheet: WorkerSheet, forms: FormsInput
) -> list[_Table | _Fixed]:
    data = sheet.collected
    person_cols = styles.CONFIRMATION_PERSON
    fields = labels.PERSON_FIELDS
    person_rows = []
    for k in range(0, len(fields), 2):
        (k1, l1), (k2, l2) = fields[k], fields[k + 1]
        person_rows.append(
            layout.row(person_cols, [l1, _person_value(data, k1), l2, _person_value(data, k2)])
        )
    h_cols = styles.CONFIRMATION_HISTORY
    a_cols = styles.CONFIRMATION_ACCOUNT
    statement = labels.CONFIRMATION_STATEMENT
    return [
        _Table(labels.SECTION_PERSON, person_cols, None, tuple(person_rows)),
        _Table(
            labels.SECTION_HISTORY,
            h_cols,
            layout.header_row(h_cols, dict(labels.HISTORY_HEADERS)),
            tuple(_history_rows(layout, h_cols, data, forms)),
        ),
        _Table(
            labels.SECTION_ACCOUNT,
            a_cols,
            layout.header_row(a_cols, dict(labels.ACCOUNT_HEADERS)),
            tuple(_account_rows(layout, a_cols, data)),
        ),
        _signature(layout, layout.paragraph(statement, styles.INFO_SIZE)),
    ]


def render_confirmation(
    forms: FormsInput, out: BinaryIO, *, options: RenderOptions | None = None
) -> RenderResult:
    """确认表: per worker, the collected data in one copy per copy marking (three)."""
    options, fonts, layout, doc = _start(forms, options, out, "confirmation", styles.PORTRAIT)
    printed = draw_confirmation(forms, layout, doc, options)
    return _finish("confirmation", doc, fonts, printed, workers=len(printed))


def draw_confirmation(
    forms: FormsInput, layout: Layout, doc: Document, options: RenderOptions
) -> list[PrintedWorker]:
    """Draw the confirmation forms on ``doc`` (any :class:`Document`)."""
    if not options.copies:
        raise RenderError("a confirmation form needs at least one copy")
    top, bottom = _content_area(layout)
    short = labels.SHORT_TITLES["confirmation"]
    printed: list[PrintedWorker] = []
    for seq, sheet in enumerate(forms.workers):
        doc.boundary()
        payload = payload_for(forms, sheet)
        text = payload.encode()
        key = f"qr{seq}"  # by position: a worker selected twice gets two forms
        # Encoded once per worker, drawn once as a form, placed on every copy.
        doc.define_qr(key, qr_matrix(text), styles.QR_QUIET)
        plan = _paginate(_confirmation_blocks(layout, sheet, forms), top, bottom)
        # The body of each page is drawn once and placed on every copy.
        bodies = []
        for n, pieces in enumerate(plan, start=1):
            body = f"w{seq}p{n}"
            p = doc.begin_form(body)
            for piece in pieces:
                _draw_piece(layout, p, piece)
            doc.end_form()
            bodies.append(body)
        first_page = doc.pages + 1
        info = (_employer_line(forms), _worker_line(sheet, forms, declaration=True))
        for copy in options.copies:
            for n, body in enumerate(bodies, start=1):
                p = doc.page()
                _header(layout, p, "confirmation", forms, info, copy=copy, qr=(key, payload.digest))
                p.place(body, 0, 0, 1)
                layout.footer(
                    p,
                    f"{short} · {copy}",
                    labels.PAGE_OF.format(page=n, pages=len(plan)),
                    labels.DOC_PAGE.format(page=doc.pages),
                )
                doc.end_page()
        printed.append(
            PrintedWorker(
                index=sheet.index,
                key=sheet.key,
                first_page=first_page,
                pages=len(plan) * len(options.copies),
                digest=payload.digest,
                payload=text,
            )
        )
    if not printed:
        raise RenderError("no workers to print (没有要打印的职工)")
    return printed


# -- summary sheet -----------------------------------------------------------------


def render_summary(
    forms: FormsInput, out: BinaryIO, *, options: RenderOptions | None = None
) -> RenderResult:
    """汇总表: one line per worker handed in, with totals, signatures and seal."""
    options, fonts, layout, doc = _start(forms, options, out, "summary", styles.LANDSCAPE)
    rows, totals = summary_rows(forms, copies=len(options.copies))
    cols = styles.SUMMARY
    header = layout.header_row(cols, dict(labels.SUMMARY_HEADERS))
    printed: list[PrintedWorker] = []
    table_rows: list[Row] = []
    for r in rows:
        values = {
            "seq": str(r.seq),
            "person_no": _or_dash(r.person_no),
            "name": _or_dash(r.name),
            "id_number": _or_dash(r.id_number),
            "deemed": str(r.deemed),
            "pre_account": str(r.pre_account),
            "post_account": str(r.post_account),
            "account_years": _or_dash(r.account_years),
            "balance": _or_dash(r.balance),
            "copies": str(r.copies),
            "note": None if r.complete else labels.NOT_COLLECTED,
        }
        table_rows.append(layout.row(cols, [values[c.key] for c in cols]))
    total_values = {
        "seq": labels.TOTAL,
        "person_no": f"{totals.workers} {labels.PERSONS}",
        "deemed": str(totals.deemed),
        "pre_account": str(totals.pre_account),
        "post_account": str(totals.post_account),
        "balance": totals.balance,
        "copies": str(totals.copies),
    }
    table_rows.append(layout.row(cols, [total_values.get(c.key) for c in cols]))
    note = layout.paragraph(labels.SUMMARY_NOTE, styles.INFO_SIZE)

    def sign(p: Painter, top: float) -> None:
        y = layout.draw_lines(p, top - 6, note, styles.INFO_SIZE, 13)
        layout.signature_block(p, y, (labels.SIGN_CLERK, labels.SIGN_BUREAU))

    blocks: list[_Table | _Fixed] = [
        _Table("", cols, header, tuple(table_rows)),
        _Fixed(len(note) * 13 + styles.SIGN_BLOCK_HEIGHT + 8, sign),
    ]
    top, bottom = _content_area(layout)
    plan = _paginate(blocks, top + 20, bottom)
    info = [_employer_line(forms)]
    if forms.declaration_ref:
        info.append(f"{labels.DECLARATION}：{clip(forms.declaration_ref, HEADER_CAP)}")
    short = labels.SHORT_TITLES["summary"]
    for n, pieces in enumerate(plan, start=1):
        p = doc.page()
        _header(layout, p, "summary", forms, info)
        for piece in pieces:
            _draw_piece(layout, p, piece)
        layout.footer(p, short, labels.PAGE_OF.format(page=n, pages=len(plan)), "")
        doc.end_page()
    for n, pieces in enumerate(plan, start=1):
        for piece in pieces:
            if isinstance(piece.block, _Table):
                for r in rows[piece.first : min(piece.last, len(rows))]:
                    printed.append(PrintedWorker(index=r.index, key=r.key, first_page=n, pages=1))
    return _finish("summary", doc, fonts, printed, workers=len(rows))
