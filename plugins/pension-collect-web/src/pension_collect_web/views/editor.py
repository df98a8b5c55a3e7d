"""The worker editor: personal information, the contribution history laid out
as the red book (upper box ..1992-12, lower box 1993-01..1996-03, transfers,
institution periods), the pension account by year; the bureau's values beside
the clerk's; the rule findings at their fields with the suggested fix applied
in one click; the window-only fields ([P3.3a]) read-only with the reason.

Owner: the editor page engineer. Its pages take the worker's opaque reference
(``context.worker_ref``; ``context.worker_key`` resolves it, 404 when not the
clerk's employer's).
"""

from __future__ import annotations

from flask import Blueprint

__all__ = ["bp"]

bp = Blueprint("editor", __name__)
