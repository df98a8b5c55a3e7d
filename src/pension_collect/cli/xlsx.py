"""``pension-collect export-xlsx`` / ``import-xlsx`` (issue 13; being built)."""

from __future__ import annotations

from typing import Any


def add_parser(sub: Any) -> None:
    """Adds no command yet."""
