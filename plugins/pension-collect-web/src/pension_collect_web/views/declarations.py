"""Submit and follow ([P3.5]..[P3.7]): the receipts step (signed forms,
handbooks), submitting, the declarations' progress and per-worker outcomes,
the re-collection list with what to do at the window for each reason.

Owner: the dashboard page engineer. The declarations page is the endpoint
``declarations.index`` (the header's nav links to it).
"""

from __future__ import annotations

from flask import Blueprint

__all__ = ["bp"]

bp = Blueprint("declarations", __name__)
