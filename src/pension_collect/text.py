"""Text hygiene: what a text field of a dossier may hold, and how text is shown
on a terminal (docs/dossier.md, "Text").

Two jobs, two functions:

- :func:`refused_character` is the reader's check. A dossier's text fields
  (names, remarks, addresses, numbers kept as text) hold printable text:
  Chinese and other scripts, ASCII, the middle dots, spaces (the ideographic
  space U+3000 too), private-use characters (the bureau's rare characters),
  invisible format characters such as a zero-width space. Refused, each a
  problem with its path: control characters (C0 U+0000-U+001F, tab and line
  feed included; DEL U+007F; C1 U+0080-U+009F), the line and paragraph
  separators U+2028/U+2029, the bidirectional formatting characters (U+061C,
  U+200E, U+200F, U+202A-U+202E, U+2066-U+2069: they reorder what a clerk
  reads) and unpaired surrogates (U+D800-U+DFFF: no character at all, they
  cannot be written as UTF-8).
- :func:`printable` is every terminal printer's escape. Whatever reaches it
  (data built through the Python API is not checked by the reader), a
  character that is not printable -- a control character, a format
  character, a separator other than a space, a surrogate -- is shown as a
  Python escape (``\\x1b``, ``\\u202e``, ``\\ud800``) instead of being
  obeyed by the terminal. :func:`json_safe` does the same for JSON text
  with JSON escapes, so that the document means the same and is UTF-8.
"""

from __future__ import annotations

import re

__all__ = ["json_safe", "printable", "refused_character", "refused_reason"]

# The expressions' sources; :func:`_pattern` compiles each on first use.
# What the reader refuses (all of them non-printable: str.isprintable() is a
# fast first test, true for almost every field).
_REFUSED = "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"

# What terminal output escapes: Unicode categories Cc, Cf, Cs, Zl and Zp
# (Unicode 15.1; tests/test_text_hygiene.py holds it to unicodedata). Spaces
# (Zs), private-use (Co) and unassigned (Cn) characters are shown as they are.
_OTHERS = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\ud800-\udfff\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
_ESCAPED = f"[\x00-\x1f\x7f-\x9f{_OTHERS}]"
# In JSON text from json.dumps the C0 controls inside strings are escaped
# already; a raw line feed, tab or carriage return is layout (indent=).
_ESCAPED_IN_JSON = f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_OTHERS}]"

# Each expression is compiled the first time text needs it, once: clean
# text, the common case, never does (its isprintable() test answers), so a
# run that meets none (``pension-collect validate`` of a clean dossier)
# compiles none at import.
_COMPILED: dict[str, re.Pattern[str]] = {}


def _pattern(source: str) -> re.Pattern[str]:
    pattern = _COMPILED.get(source)
    if pattern is None:
        pattern = _COMPILED[source] = re.compile(source)
    return pattern


def refused_character(text: str) -> int | None:
    """The position of the first character the dossier reader refuses in a
    text field, ``None`` when there is none."""
    if text.isprintable():
        return None
    match = _pattern(_REFUSED).search(text)
    return None if match is None else match.start()


def refused_reason(char: str) -> tuple[str, str]:
    """What a refused character is, in English and Chinese, with its code
    point (never the text around it)."""
    code = ord(char)
    where = f"U+{code:04X}"
    if 0xD800 <= code <= 0xDFFF:
        return (
            f"an unpaired surrogate {where} (not a character: broken text from the program "
            "that wrote the file)",
            f"不成对的代理码位 {where}(不是字符,生成文件的程序写坏了文本)",
        )
    if code in (0x2028, 0x2029):
        return (f"a line or paragraph separator {where}", f"换行/分段符 {where}")
    if code > 0x9F:
        return (
            f"a bidirectional formatting character {where} (it reorders the text shown)",
            f"文字方向控制符 {where}(会改变文字显示顺序)",
        )
    return (f"a control character {where}", f"控制字符 {where}")


_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: each character that is not
    printable (control, format, separator other than a space, surrogate) is
    shown as its Python escape, ``\\x1b`` for ESC, ``\\n`` for a line feed.
    Printable text, the common case, is returned as it is."""
    if text.isprintable():
        return text
    return _pattern(_ESCAPED).sub(_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_safe(text: str) -> str:
    """JSON text with every character :func:`printable` would escape written
    as a JSON ``\\u`` escape: the same document, valid UTF-8, harmless on a
    terminal. For the output of ``json.dumps(..., ensure_ascii=False)``; the
    line breaks and indentation between values are kept."""
    # The common case, clean data, costs one isprintable() pass: the regular
    # expression is several times slower per character.
    flat = text.replace("\n", "") if "\n" in text else text
    if flat.isprintable():
        return text
    return _pattern(_ESCAPED_IN_JSON).sub(_json_escape, text)
