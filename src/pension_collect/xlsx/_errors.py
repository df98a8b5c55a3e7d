"""The errors of :mod:`pension_collect.xlsx` and the lazy import of openpyxl."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import ModuleType

import attrs

from ..errors import PensionCollectError


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


@attrs.frozen
class XlsxPlace:
    """Where a value of a dossier read from a workbook came from, as an
    :class:`XlsxProblem` says it: ``sheet``, ``row`` (as Excel numbers it),
    ``column`` (the Chinese header, ``None`` for a whole row), ``cell``
    (``缴费历史!C14``, ``职工!5:5`` for a whole row, the sheet's title when
    the row is not known); all ``None`` for a path the workbook has no place
    for."""

    sheet: str | None
    row: int | None
    column: str | None
    cell: str | None


class XlsxPlaces:
    """Where each value of a dossier read by
    :func:`~pension_collect.xlsx.read_xlsx_places` came from: :meth:`place`
    of a JSON path of the dossier (``$.workers[2].history[0].end``, the paths
    the dossier reader and the rules name). It keeps the rows and column
    letters only, never a value."""

    def __init__(
        self, locate: Callable[[str], tuple[str | None, int | None, str | None, str | None]]
    ) -> None:
        self._locate = locate

    def __repr__(self) -> str:
        return "XlsxPlaces()"

    def place(self, path: str) -> XlsxPlace:
        """The sheet, row, column and cell of ``path``: its cell when the
        workbook has one (``职工!C5``), the row when the path names a worker
        or a line without a field (``职工!5:5``)."""
        sheet, row, column, cell = self._locate(path)
        return XlsxPlace(sheet, row, column, cell)
