"""Exceptions raised by pension_collect.

Every exception carries machine-readable data (a ``code``, a list of
:class:`Problem`) besides its sentence, and none of them ever puts a name, an
identity number or a credential into its message or repr.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import attrs

# attrs' generated methods of the classes below (and of every module that
# imports this one) compiled once and kept (docs/cli.md, "Start-up").
from . import _attrs_code  # noqa: F401

__all__ = [
    "DossierFormatError",
    "PensionCollectError",
    "PluginError",
    "Problem",
    "UnknownRulePack",
]


class PensionCollectError(Exception):
    """Base class of every error this library raises on purpose."""

    #: A stable, dotted code naming the kind of error.
    code: ClassVar[str] = "error"


@attrs.frozen
class Problem:
    """One shape problem in an input document, located by its JSON path."""

    path: str
    """Where: ``$.workers[3].history[1].start`` (``$`` is the document itself)."""
    message: str
    """What is wrong and what to do, in English."""
    message_zh: str = ""
    """The same in Chinese, for clerks."""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class DossierFormatError(PensionCollectError, ValueError):
    """The input cannot be read as a dossier (exit status 2 of the CLI).

    ``problems`` lists *every* problem found, each with its JSON path, so a
    clerk or a payroll developer can fix them all in one go.
    """

    code = "dossier.format"

    def __init__(self, problems: Iterable[Problem], *, source: str | None = None) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.source = source
        super().__init__(self._summary())

    def _summary(self) -> str:
        where = f" in {self.source}" if self.source else ""
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''}{where}; the file is not a valid dossier"
        return head + "".join(f"\n  {p}" for p in self.problems)


class UnknownRulePack(PensionCollectError, LookupError):
    """A rule pack was asked for by a name no installed plugin provides."""

    code = "rules.unknown-pack"

    def __init__(self, name: str, available: Iterable[str]) -> None:
        self.name = name
        self.available = tuple(sorted(available))
        super().__init__(
            f"no rule pack named {name!r}; installed packs: {', '.join(self.available) or 'none'}"
        )


class PluginError(PensionCollectError):
    """A plugin is broken: a misspelled hook, a clash of names, a bad registration."""

    code = "plugins.error"
