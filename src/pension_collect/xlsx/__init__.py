"""Excel rosters: a dossier as a workbook and back (docs/xlsx.md).

``write_xlsx(dossier, path)`` writes one sheet per part of the dossier
format (单位, 职工, 缴费历史, 养老账户 and the bureau's 社保个人信息,
社保缴费历史, 社保养老账户), Chinese headers over English field names, drop-down
lists for every choice, month and money cell formats, frozen header rows.
``write_template(path)`` writes the same workbook without data, for a clerk to
fill in. ``read_xlsx(path)`` reads a workbook back into a
:class:`~pension_collect.model.Dossier` through the dossier reader, accepting
what clerks really type (months as ``1996-04``, ``1996.04``, ``199604`` or a
date; amounts as numbers or text with thousands separators; full-width
digits; spaces around a value), or raises :class:`XlsxImportError` listing
every problem with its sheet, row, column and cell. ``read_xlsx_places(path)``
reads it the same way and also says where each value came from
(:class:`XlsxPlaces`), for problems found later (the rules, a refused save)
to be shown at their cells.

openpyxl is imported only when a workbook is written or read: it comes with
the extra ``xlsx`` (``pip install "pension-collect[xlsx]"``); without it
these functions raise :class:`XlsxUnavailable`.
"""

from __future__ import annotations

import os

from ..limits import Limits
from ..model import Dossier
from ._errors import XlsxImportError, XlsxPlace, XlsxPlaces, XlsxProblem, XlsxUnavailable

__all__ = [
    "XlsxImportError",
    "XlsxPlace",
    "XlsxPlaces",
    "XlsxProblem",
    "XlsxUnavailable",
    "read_xlsx",
    "read_xlsx_places",
    "write_template",
    "write_xlsx",
]


def write_xlsx(dossier: Dossier, path: str | os.PathLike[str]) -> None:
    """Write ``dossier`` as a workbook to ``path``, atomically (the old file
    stays whole until the new one is complete; docs/cli.md, "Writing files").
    An unwritable target raises :class:`~pension_collect._files.OutputError`."""
    from ._write import write_workbook

    write_workbook(dossier, path)


def write_template(path: str | os.PathLike[str]) -> None:
    """Write the blank workbook (headers, formats, drop-downs, no data) to ``path``."""
    from ._write import write_workbook

    write_workbook(None, path)


def read_xlsx(path: str | os.PathLike[str], *, limits: Limits | None = None) -> Dossier:
    """Read a workbook written by :func:`write_xlsx` or filled in from
    :func:`write_template` as a dossier.

    Raises :class:`XlsxImportError` listing every problem (of the cells and
    of the dossier they make, read by the same reader as a JSON dossier), and
    :class:`OSError` when the file cannot be opened. ``limits`` defaults to
    :data:`~pension_collect.limits.DEFAULT_LIMITS`; the file may hold at most
    ``limits.input_bytes`` bytes, unpacked at most four times that.
    """
    from ._read import read_workbook

    return read_workbook(path, limits)


def read_xlsx_places(
    path: str | os.PathLike[str], *, limits: Limits | None = None
) -> tuple[Dossier, XlsxPlaces]:
    """:func:`read_xlsx`, and where each value of the dossier came from:
    ``places.place("$.workers[2].history[0].end")`` is the cell of the third
    worker's first history line's 终止年月 (an :class:`XlsxPlace`), so a
    problem found in the dossier later (a rule's finding, a refused save)
    can be shown at its cell. Raises as :func:`read_xlsx`."""
    from ._read import read_workbook_places

    return read_workbook_places(path, limits)
