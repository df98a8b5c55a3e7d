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
every problem with its sheet, row, column and cell.

openpyxl is imported only when a workbook is written or read: it comes with
the extra ``xlsx`` (``pip install "pension-collect[xlsx]"``); without it
these functions raise :class:`XlsxUnavailable`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from types import ModuleType

import attrs

from ..errors import PensionCollectError
from ..limits import Limits
from ..model import Dossier

__all__ = [
    "XlsxImportError",
    "XlsxProblem",
    "XlsxUnavailable",
    "read_xlsx",
    "write_template",
    "write_xlsx",
]


class XlsxUnavailable(PensionCollectError, ImportError):
    """openpyxl is not installed (``xlsx.unavailable``); also an :class:`ImportError`."""

    code = "xlsx.unavailable"

    def __init__(self) -> None:
        super().__init__(
            "Excel workbooks need openpyxl: install the extra xlsx "
            "(pip install 'pension-collect[xlsx]') (读写 Excel 工作簿需要安装 xlsx 扩展)"
        )


def openpyxl_module() -> ModuleType:
    """openpyxl, or :class:`XlsxUnavailable`."""
    try:
        import openpyxl
    except ImportError:
        raise XlsxUnavailable() from None
    module: ModuleType = openpyxl
    return module


@attrs.frozen
class XlsxProblem:
    """One problem of a workbook, located for a clerk.

    ``sheet`` is the sheet's title (``None`` for the workbook as a whole),
    ``row`` the row number as Excel shows it, ``column`` the column's Chinese
    header, ``cell`` the reference a clerk types into Excel's name box
    (``缴费历史!C14``; ``职工!5:5`` for a whole row, the sheet's title for the
    whole sheet, ``None`` for the workbook). ``code`` names the kind
    (docs/xlsx.md, "Problems"); ``message`` and ``message_zh`` say what is
    wrong and what to do. A value a clerk typed is never quoted.
    """

    sheet: str | None
    row: int | None
    column: str | None
    cell: str | None
    code: str
    message: str
    message_zh: str

    @property
    def path(self) -> str:
        """Where, as one word: the cell, else the sheet, else ``workbook``."""
        return self.cell or self.sheet or "workbook"

    def __str__(self) -> str:
        where = self.path if self.column is None else f"{self.path} [{self.column}]"
        return f"{where}: {self.message} ({self.message_zh})"


class XlsxImportError(PensionCollectError, ValueError):
    """A workbook that cannot be read as a dossier (exit status 2 of the CLI).

    ``problems`` lists every problem found (at most ``Limits.problems``, and
    one more counting the rest), each an :class:`XlsxProblem`; ``source`` is
    the file. Nothing of the workbook is used when it is raised.
    """

    code = "xlsx.import"

    def __init__(self, problems: Iterable[XlsxProblem], *, source: str | None = None) -> None:
        self.problems: tuple[XlsxProblem, ...] = tuple(problems)
        self.source = source
        super().__init__(self._summary())

    def _summary(self) -> str:
        where = f" in {self.source}" if self.source else ""
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''}{where}; the workbook is not a readable dossier"
        return head + "".join(f"\n  {p}" for p in self.problems)


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
