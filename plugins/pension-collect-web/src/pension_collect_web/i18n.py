"""Chinese by default, English on request: :func:`tr` picks a text by the
``lang`` cookie (``zh`` or ``en``; set by the header's link, ``/lang/<code>``).

Every text on a page is written in both languages, in the template
(``{{ tr("职工", "Workers") }}``) or in Python (``tr("已保存", "Saved")``).
"""

from __future__ import annotations

from flask import has_request_context, request

__all__ = ["LANGS", "LANG_COOKIE", "lang", "tr"]

#: The cookie holding the clerk's language (a preference, not a secret).
LANG_COOKIE = "lang"
#: The languages: code -> the ``lang`` attribute of the page.
LANGS = {"zh": "zh-CN", "en": "en"}


def lang() -> str:
    """The language of this request: ``zh`` (default) or ``en``."""
    if has_request_context() and request.cookies.get(LANG_COOKIE) == "en":
        return "en"
    return "zh"


def tr(zh: str, en: str) -> str:
    """``zh`` or ``en``, by the request's language (:func:`lang`)."""
    return en if lang() == "en" else zh
