"""The clerk's web front end of pension_collect (``pension-collect web``).

Built on pension_collect's public API only: docs/web.md.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
