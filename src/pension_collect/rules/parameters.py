"""Dated parameters of a rule pack, kept as data files.

A parameter has one or more values, each effective *from* a month, each with
its source and a confidence mark; the value in force at a month is the one
with the latest ``from`` not after it (OpenFisca's rule). Values are read from
a TOML file (docs/rules.md shows the layout)::

    [upper_box_last_month]
    description = "..."
    type = "month"

    [[upper_box_last_month.values]]
    from = "1900-01"
    value = "1992-12"
    source = "procedure [P3.4a]"
    confidence = "procedure"
    reviewed = "2026-11-28"
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import attrs

from ..errors import PensionCollectError
from ..model import YearMonth, parse_rate

__all__ = [
    "Confidence",
    "DatedValue",
    "Parameter",
    "ParameterError",
    "ParameterSet",
    "RateBand",
    "load_parameters",
    "parameters_from_data",
]


class ParameterError(PensionCollectError):
    """A parameter file is malformed; the message says which file and key."""

    code = "rules.parameters"


class Confidence(StrEnum):
    """How sure we are of a parameter value."""

    PROCEDURE = "procedure"  # stated in the procedure sheet
    LAW = "law"  # statute or State Council decision
    THIRD_PARTY = "third-party"  # only found in secondary copies
    UNKNOWN = "unknown"


@attrs.frozen
class RateBand:
    """One row of the individual-rate reference table: a rate over a period."""

    start: YearMonth
    end: YearMonth
    rate: Decimal


@attrs.frozen(kw_only=True)
class DatedValue:
    """A parameter value in force from ``since`` on, with where it comes from."""

    since: YearMonth
    value: Any
    source: str
    confidence: Confidence
    reviewed: str | None = None
    note: str | None = None


@attrs.frozen(kw_only=True)
class Parameter:
    """A named parameter with its dated values (sorted by ``since``)."""

    name: str
    description: str
    type: str
    values: tuple[DatedValue, ...]

    def at(self, month: YearMonth) -> DatedValue | None:
        """The value in force at ``month`` (``None`` before the first one)."""
        keys = [v.since for v in self.values]
        i = bisect.bisect_right(keys, month)
        return self.values[i - 1] if i else None


@attrs.frozen
class ParameterSet:
    """Every parameter of a pack, looked up by name and month."""

    parameters: Mapping[str, Parameter]

    def __contains__(self, name: object) -> bool:
        return name in self.parameters

    def get(self, name: str, month: YearMonth) -> Any:
        """The value of ``name`` in force at ``month`` (``None`` when there is none)."""
        dated = self.parameters[name].at(month)
        return None if dated is None else dated.value

    def resolve(self, month: YearMonth) -> dict[str, DatedValue | None]:
        """Every parameter's dated value in force at ``month`` (for reports)."""
        return {name: p.at(month) for name, p in sorted(self.parameters.items())}


def _convert(kind: str, raw: Any, where: str) -> Any:
    try:
        if kind == "month":
            return YearMonth.parse(raw)
        if kind == "int":
            if type(raw) is not int:
                raise TypeError("must be an integer")
            return raw
        if kind == "rate_table":
            if type(raw) is not list:
                raise TypeError("must be a list of {start, end, rate} tables")
            bands = [
                RateBand(
                    YearMonth.parse(r["start"]), YearMonth.parse(r["end"]), parse_rate(r["rate"])
                )
                for r in raw
            ]
            return tuple(sorted(bands, key=lambda b: b.start))
    except (KeyError, TypeError, ValueError) as exc:
        raise ParameterError(f"{where}.value: {exc}") from None
    raise ParameterError(f"{where}: unknown parameter type {kind!r}")


def load_parameters(path: Path | str) -> ParameterSet:
    """Read a pack's parameter file; raises :class:`ParameterError` naming the key."""
    import tomllib  # only here: a cached pack's parameters come as JSON

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ParameterError(f"{path}: {exc}") from None
    return parameters_from_data(data, path)


def parameters_from_data(data: Any, path: Path | str) -> ParameterSet:
    """The parameters of ``data``, a parameter file as parsed (TOML tables as
    dictionaries), checked as :func:`load_parameters` checks a file
    (``path`` names it in the errors). A cached copy is read through this."""
    path = Path(path)
    if not isinstance(data, dict):
        raise ParameterError(f"{path}: must be a table of parameters")
    out: dict[str, Parameter] = {}
    for name, spec in data.items():
        where = f"{path.name}: [{name}]"
        if not isinstance(spec, dict):
            raise ParameterError(f"{where}: must be a table")
        unknown = set(spec) - {"description", "type", "values"}
        if unknown:
            raise ParameterError(f"{where}: unknown keys {sorted(unknown)}")
        kind = spec.get("type")
        values = []
        for i, v in enumerate(spec.get("values", [])):
            vwhere = f"{where}.values[{i}]"
            unknown = set(v) - {"from", "value", "source", "confidence", "reviewed", "note"}
            if unknown:
                raise ParameterError(f"{vwhere}: unknown keys {sorted(unknown)}")
            try:
                since = YearMonth.parse(v["from"])
                confidence = Confidence(v["confidence"])
                source = v["source"]
            except (KeyError, TypeError, ValueError) as exc:
                raise ParameterError(f"{vwhere}: missing or invalid {exc}") from None
            values.append(
                DatedValue(
                    since=since,
                    value=_convert(str(kind), v.get("value"), vwhere),
                    source=str(source),
                    confidence=confidence,
                    reviewed=v.get("reviewed"),
                    note=v.get("note"),
                )
            )
        out[name] = Parameter(
            name=name,
            description=str(spec.get("description", "")),
            type=str(kind),
            values=tuple(sorted(values, key=lambda d: d.since)),
        )
    return ParameterSet(out)
