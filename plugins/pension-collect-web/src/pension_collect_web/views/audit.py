"""Audit: each worker's changes, who made them and when.

Owner: the dashboard page engineer. The audit page is the endpoint
``audit.index`` (the header's nav links to it).
"""

from __future__ import annotations

from flask import Blueprint

__all__ = ["bp"]

bp = Blueprint("audit", __name__)
