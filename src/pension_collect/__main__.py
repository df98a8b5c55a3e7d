"""``python -m pension_collect``: the same as the ``pension-collect`` command (docs/cli.md)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
