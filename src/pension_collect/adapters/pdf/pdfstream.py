"""Stream a long PDF to its output in bounded memory.

reportlab keeps every page of a document in memory until ``save()``. The
renderers therefore draw a few hundred pages at a time into a small reportlab
document (a *chunk*) and hand its bytes to :class:`PdfStreamWriter`, which
copies the chunk's objects into the output file at once, renumbered, and keeps
only their offsets. The chunk's page-tree node becomes a child of the output's
root page tree, so the pages keep their order and their own resources.

This relies only on what reportlab writes: a classic cross-reference table, a
trailer naming /Root and /Info, no object streams. Anything else is refused
with :class:`~pension_collect.ports.forms.RenderError`, never mis-copied.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from array import array
from typing import BinaryIO

from ...ports.forms.registry import RenderError

__all__ = ["PdfStreamWriter"]

_HEADER = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
_REF = re.compile(rb"(?<![0-9.])([0-9]+) 0 R(?![A-Za-z0-9])")
_OBJ_HEAD = re.compile(rb"([0-9]+) 0 obj\s*")
_TRAILER_REF = re.compile(rb"/(Root|Info) ([0-9]+) 0 R")
_STARTXREF = re.compile(rb"startxref\s+([0-9]+)\s+%%EOF\s*$")
_PAGES_REF = re.compile(rb"/Pages ([0-9]+) 0 R")
_COUNT = re.compile(rb"/Count ([0-9]+)")
_ROOT_PAGES, _CATALOG, _INFO = 1, 2, 3


def _pdf_text(value: str) -> bytes:
    """A PDF text string: UTF-16BE with a BOM, hex-encoded (any script, no escapes; a
    lone surrogate, not a character, becomes "?")."""
    return b"<FEFF" + value.encode("utf-16-be", "replace").hex().upper().encode("ascii") + b">"


class PdfStreamWriter:
    """Writes one PDF to ``out`` from reportlab chunks, in order.

    ``out`` need not be seekable; offsets are counted. Call :meth:`add_chunk`
    for each chunk's bytes, then :meth:`close` once.
    """

    def __init__(self, out: BinaryIO, *, title: str = "", producer: str = "") -> None:
        self._out = out
        self._title = title
        self._producer = producer
        self._offsets = array("Q", [0, 0, 0])  # objects 1..3 are written by close()
        self._kids: list[int] = []
        self._pages = 0
        self._written = 0
        self._hash = hashlib.md5(usedforsecurity=False)
        self._closed = False
        self._write(_HEADER)

    @property
    def pages(self) -> int:
        """Pages written so far."""
        return self._pages

    @property
    def bytes_written(self) -> int:
        """Bytes written so far."""
        return self._written

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._hash.update(data)
        self._written += len(data)

    def add_chunk(self, pdf: bytes) -> int:
        """Copy a whole reportlab PDF's pages into the output; returns its page count."""
        if self._closed:
            raise RenderError("the PDF is already closed")
        offsets, ends = self._xref(pdf)
        trailer = pdf[pdf.rindex(b"trailer") :]
        refs = {k.decode(): int(v) for k, v in _TRAILER_REF.findall(trailer)}
        if "Root" not in refs:
            raise RenderError("unexpected PDF from reportlab: no /Root in the trailer")
        catalog = self._body(pdf, offsets, ends, refs["Root"])
        match = _PAGES_REF.search(catalog)
        if match is None:
            raise RenderError("unexpected PDF from reportlab: no /Pages in the catalog")
        pages_obj = int(match.group(1))
        skip = {refs["Root"], refs.get("Info", -1)}
        mapping: dict[int, int] = {}
        next_number = len(self._offsets) + 1
        for number in range(1, len(offsets)):
            if number not in skip:
                mapping[number] = next_number
                next_number += 1

        def renumber(m: re.Match[bytes]) -> bytes:
            return b"%d 0 R" % mapping[int(m.group(1))]

        count = 0
        for number in range(1, len(offsets)):
            if number in skip:
                continue
            body = self._body(pdf, offsets, ends, number)
            # References are renumbered in the dictionary only, never in stream data.
            cut = body.find(b">>\nstream\n")
            head, tail = (body, b"") if cut < 0 else (body[:cut], body[cut:])
            head = _REF.sub(renumber, head)
            if number == pages_obj:
                found = _COUNT.search(head)
                if found is None or b"/Type /Pages" not in head:
                    raise RenderError("unexpected PDF from reportlab: bad page tree")
                count = int(found.group(1))
                head = head.replace(
                    b"/Type /Pages", b"/Parent %d 0 R /Type /Pages" % _ROOT_PAGES, 1
                )
                self._kids.append(mapping[number])
            self._offsets.append(self._written)
            self._write(b"%d 0 obj\n" % mapping[number] + head + tail + b"endobj\n")
        self._pages += count
        return count

    @staticmethod
    def _xref(pdf: bytes) -> tuple[list[int], dict[int, int]]:
        found = _STARTXREF.search(pdf[-64:])
        if found is None:
            raise RenderError("unexpected PDF from reportlab: no startxref")
        at = int(found.group(1))
        end = pdf.find(b"trailer", at)
        lines = pdf[at:end].split(b"\n") if end > at else [b""]
        if lines[0].strip() != b"xref":
            raise RenderError("unexpected PDF from reportlab: no classic xref table")
        first, size = (int(x) for x in lines[1].split())
        if first != 0:
            raise RenderError("unexpected PDF from reportlab: xref does not start at 0")
        offsets = [0] * size
        for i, line in enumerate(lines[2 : 2 + size]):
            if line[17:18] == b"n":
                offsets[i] = int(line[:10])
        # Each object ends before the next one starts (or before the xref).
        bounds = sorted({o for o in offsets if o} | {at})
        after = dict(itertools.pairwise(bounds))
        ends = {n: after[o] for n, o in enumerate(offsets) if o}
        return offsets, ends

    @staticmethod
    def _body(pdf: bytes, offsets: list[int], ends: dict[int, int], number: int) -> bytes:
        start = offsets[number]
        head = _OBJ_HEAD.match(pdf, start)
        if head is None or int(head.group(1)) != number:
            raise RenderError(f"unexpected PDF from reportlab: object {number} not at its offset")
        end = pdf.rindex(b"endobj", head.end(), ends[number])
        return pdf[head.end() : end]

    def close(self) -> int:
        """Write the page tree, catalog, info, xref and trailer; returns bytes written."""
        if self._closed:
            return self._written
        self._closed = True
        kids = b" ".join(b"%d 0 R" % k for k in self._kids)
        self._offsets[_ROOT_PAGES - 1] = self._written
        self._write(
            b"%d 0 obj\n<< /Count %d /Kids [ %s ] /Type /Pages >>\nendobj\n"
            % (_ROOT_PAGES, self._pages, kids)
        )
        self._offsets[_CATALOG - 1] = self._written
        self._write(
            b"%d 0 obj\n<< /PageMode /UseNone /Pages %d 0 R /Type /Catalog >>\nendobj\n"
            % (_CATALOG, _ROOT_PAGES)
        )
        self._offsets[_INFO - 1] = self._written
        info = b"<< /Producer " + _pdf_text(self._producer) + b" /Title " + _pdf_text(self._title)
        self._write(b"%d 0 obj\n" % _INFO + info + b" >>\nendobj\n")
        digest = self._hash.hexdigest().upper().encode("ascii")
        xref_at = self._written
        size = len(self._offsets) + 1
        parts = [b"xref\n0 %d\n0000000000 65535 f \n" % size]
        parts.extend(b"%010d 00000 n \n" % offset for offset in self._offsets)
        parts.append(
            b"trailer\n<< /ID [ <%s> <%s> ] /Info %d 0 R /Root %d 0 R /Size %d >>\n"
            b"startxref\n%d\n%%%%EOF\n" % (digest, digest, _INFO, _CATALOG, size, xref_at)
        )
        self._write(b"".join(parts))
        return self._written
