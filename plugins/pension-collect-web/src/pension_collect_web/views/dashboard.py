"""The collection dashboard ([P3]..[P3.7]): the steps with their state, what
blocks the next one and why in the sheet's words; the data sync; the
employer's information and its declaration.

Owner: the dashboard page engineer (also declarations.py and audit.py). The
dashboard's main page is the endpoint ``dashboard.index`` at ``/`` (signing
in goes there; the header's nav links to it).
"""

from __future__ import annotations

from flask import Blueprint

__all__ = ["bp"]

bp = Blueprint("dashboard", __name__)
