"""The worker list: thousands of workers with paging, search by name or
identity number (never in a URL), filter by state; many selected to print
verification or confirmation forms (PDF downloads).

Owner: the workers page engineer. The list is the endpoint ``workers.index``
(the header's nav links to it); a worker is addressed by
``context.worker_ref(key)``, never by its identity number.
"""

from __future__ import annotations

from flask import Blueprint

__all__ = ["bp"]

bp = Blueprint("workers", __name__)
