"""Errors of the form renderers."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import PensionCollectError

__all__ = ["RenderError", "RenderUnavailable", "UnknownRenderer"]


class RenderError(PensionCollectError):
    """A form could not be rendered (a bad font path, a broken plugin renderer ...)."""

    code = "render.error"


class RenderUnavailable(RenderError):
    """The PDF renderers need the optional ``pdf`` extra (reportlab, segno)."""

    code = "render.unavailable"

    def __init__(self, missing: str) -> None:
        self.missing = missing
        super().__init__(
            f"rendering PDF forms needs {missing}: pip install 'pension-collect[pdf]' "
            f"(打印表格需要安装 {missing})"
        )


class UnknownRenderer(RenderError, LookupError):
    """A renderer was asked for by a name no plugin registers."""

    code = "render.unknown"

    def __init__(self, name: str, available: Iterable[str]) -> None:
        self.name = name
        self.available = tuple(sorted(available))
        super().__init__(
            f"no form renderer named {name!r}; available: {', '.join(self.available) or 'none'}"
        )
