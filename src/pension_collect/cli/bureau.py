"""``pension-collect bureau ...``: the reference bureau over HTTP (issue 11; being built)."""

from __future__ import annotations

from typing import Any


def add_parser(sub: Any) -> None:
    """Adds no command yet."""
