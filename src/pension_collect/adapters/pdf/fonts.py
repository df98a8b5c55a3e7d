"""Fonts, in one place: which CJK font the forms are set in, and how text is split
between it and the fallback.

Choice, in order (:func:`choose_font`):

1. the spec passed in (``RenderOptions.font`` or the CLI's ``--font``), else the
   environment variable ``PENSION_COLLECT_FONT``: ``"cid"`` forces the CID font;
   a path (``/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc#0``, with an optional
   ``#index`` into a TrueType collection) names a TrueType font;
2. ``"auto"`` (or nothing): a TrueType CJK font found through fontconfig
   (``fc-list :lang=zh``); a font that fails to load or lacks a glyph of the
   forms' labels is skipped;
3. reportlab's CID font ``STSong-Light`` (never embedded; every PDF viewer
   supplies it).

A TrueType font is embedded as a subset of the glyphs used. Text in a
character the TrueType font lacks is set in STSong-Light, never as a
missing-glyph box.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Sequence

from ...ports.forms.registry import FontChoice, RenderError, RenderUnavailable

__all__ = ["CID_FONT", "FONT_ENV", "GETA", "FontChoice", "FontSet", "choose_font", "find_cjk_fonts"]

#: Environment variable holding the font spec (``cid``, ``auto`` or a path[#index]).
FONT_ENV = "PENSION_COLLECT_FONT"
#: reportlab's built-in Simplified Chinese CID font, the fallback.
CID_FONT = "STSong-Light"
#: Printed for a character no font can show (outside the BMP, lacking in the TrueType font).
GETA = "\u3013"
#: A lone surrogate (U+D800..U+DFFF): not a character, only reachable through
#: the Python API (the JSON reader refuses it); printed as :data:`GETA`.
_SURROGATE = re.compile("[\ud800-\udfff]")
#: Families known to embed well, tried first (fontconfig names).
PREFERRED_FAMILIES = (
    "WenQuanYi Zen Hei",
    "AR PL UMing CN",
    "AR PL UKai CN",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
)


def _require_reportlab() -> None:
    try:
        import reportlab  # noqa: F401
    except ImportError:  # pragma: no cover - the pdf extra is missing
        raise RenderUnavailable("reportlab") from None


def find_cjk_fonts() -> list[tuple[str, int, str]]:
    """TrueType CJK fonts fontconfig knows: ``(path, index, family)``, best first."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        proc = subprocess.run(
            [fc_list, "-f", "%{file}\t%{index}\t%{fontformat}\t%{family[0]}\n", ":lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    found: set[tuple[str, int, str]] = set()
    for line in proc.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) != 4:
            continue
        path, index, fmt, family = parts
        # reportlab embeds TrueType outlines only (not CFF-based OpenType).
        if fmt != "TrueType" or not index.isdigit():
            continue
        found.add((path, int(index), family))

    def rank(item: tuple[str, int, str]) -> tuple[int, str, int]:
        path, index, family = item
        try:
            preferred = PREFERRED_FAMILIES.index(family)
        except ValueError:
            preferred = len(PREFERRED_FAMILIES)
        return (preferred, path, index)

    return sorted(found, key=rank)


def _parse_spec(spec: str) -> tuple[str, int]:
    path, sep, index = spec.rpartition("#")
    if sep and index.isdigit():
        return path, int(index)
    return spec, 0


def _ttf_name(path: str, index: int) -> str:
    return "PC-" + hashlib.sha1(f"{path}#{index}".encode(), usedforsecurity=False).hexdigest()[:10]


@functools.lru_cache(maxsize=16)
def _load_ttf(path: str, index: int) -> tuple[str, str, frozenset[int]]:
    """Register a TrueType font with reportlab once per process: (name, family, cmap)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    name = _ttf_name(path, index)
    font = TTFont(name, path, subfontIndex=index)
    pdfmetrics.registerFont(font)
    face = font.face
    raw = face.name
    family = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
    return name, family, frozenset(face.charToGlyph)


def _try_ttf(path: str, index: int) -> tuple[str, str, frozenset[int]] | str:
    """The loaded font, or why it cannot be used."""
    try:
        loaded = _load_ttf(path, index)
    except Exception as exc:  # reportlab raises assorted errors on bad fonts
        return f"{os.path.basename(path)}: {type(exc).__name__}"
    from .labels import all_label_text

    missing = {c for c in all_label_text() if not c.isspace() and ord(c) not in loaded[2]}
    if missing:
        return f"{os.path.basename(path)} lacks {len(missing)} glyphs of the forms"
    return loaded


@functools.lru_cache(maxsize=1)
def _register_cid() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))


def _cid(how: str, note: str | None = None) -> FontChoice:
    _register_cid()
    return FontChoice(name=CID_FONT, family=CID_FONT, kind="cid", how=how, note=note)


def choose_font(spec: str | None = None) -> FontChoice:
    """Pick (and register with reportlab) the font the forms are set in.

    Raises :class:`~pension_collect.ports.forms.RenderError` when a font path
    given explicitly cannot be used; discovery failures fall back silently to
    the CID font (the reason is in :attr:`FontChoice.note`).
    """
    _require_reportlab()
    if spec is None or spec == "":
        spec = os.environ.get(FONT_ENV, "").strip() or "auto"
    if spec.lower() in ("cid", CID_FONT.lower()):
        return _cid("forced")
    if spec.lower() != "auto":
        path, index = _parse_spec(spec)
        if not os.path.isfile(path):
            raise RenderError(f"font file not found: {path}")
        loaded = _try_ttf(path, index)
        if isinstance(loaded, str):
            raise RenderError(f"font cannot be used for the forms: {loaded}")
        return FontChoice(
            name=loaded[0],
            family=loaded[1],
            kind="ttf",
            path=path,
            subfont_index=index,
            how="configured",
        )
    return _discover()


@functools.lru_cache(maxsize=1)
def _discover() -> FontChoice:
    reasons: list[str] = []
    for path, index, family in find_cjk_fonts():
        loaded = _try_ttf(path, index)
        if isinstance(loaded, str):
            reasons.append(loaded)
            continue
        return FontChoice(
            name=loaded[0],
            family=family or loaded[1],
            kind="ttf",
            path=path,
            subfont_index=index,
            how="fontconfig",
        )
    note = "; ".join(reasons) if reasons else "no TrueType CJK font found through fontconfig"
    return _cid("fallback", note)


class FontSet:
    """The chosen font plus the CID fallback, with width and run splitting.

    Layout code measures and draws only through this, so the fallback for a
    glyph the main font lacks is decided in one place.
    """

    def __init__(self, choice: FontChoice) -> None:
        from reportlab.pdfbase.pdfmetrics import stringWidth

        self.choice = choice
        self._string_width = stringWidth
        self.primary = choice.name
        if choice.kind == "ttf":
            assert choice.path is not None
            self._cmap: frozenset[int] | None = _load_ttf(choice.path, choice.subfont_index or 0)[2]
            _register_cid()
        else:
            self._cmap = None
        self.missing: set[str] = set()
        """Distinct characters the main font lacks that were set in the fallback."""
        self._runs = functools.lru_cache(maxsize=4096)(self._split)
        self._widths = functools.lru_cache(maxsize=4096)(self._width)

    def printable(self, text: str) -> str:
        """``text`` with each lone surrogate (not a character: U+D800..U+DFFF, which
        only the Python API lets through) replaced by the geta mark 〓 and counted in
        :attr:`missing`, so it can be measured, wrapped and drawn."""
        if text.isascii() or _SURROGATE.search(text) is None:
            return text
        self.missing.update(_SURROGATE.findall(text))
        return _SURROGATE.sub(GETA, text)

    def _split(self, text: str) -> tuple[tuple[str, str], ...]:
        cmap = self._cmap
        if text.isascii():
            if cmap is None or all(ord(c) in cmap for c in text):
                return ((self.primary, text),)
        elif _SURROGATE.search(text) is None:
            if cmap is None:
                if all(ord(c) <= 0xFFFF for c in text):
                    return ((self.primary, text),)
            elif all(ord(c) in cmap for c in text):
                return ((self.primary, text),)
        runs: list[tuple[str, str]] = []
        for c in text:
            if cmap is not None and (ord(c) in cmap or c.isspace()):
                font = self.primary
            elif ord(c) <= 0xFFFF and not 0xD800 <= ord(c) <= 0xDFFF:
                font = CID_FONT
                if cmap is not None:
                    self.missing.add(c)
            else:
                # Beyond the BMP the CID font's UCS-2 encoding cannot reach, and a
                # lone surrogate is no character at all: print the geta mark 〓
                # (the typesetters' sign for a missing character).
                self.missing.add(c)
                font, c = self.primary, GETA
            if runs and runs[-1][0] == font:
                runs[-1] = (font, runs[-1][1] + c)
            else:
                runs.append((font, c))
        return tuple(runs)

    def runs(self, text: str) -> Sequence[tuple[str, str]]:
        """``(font name, text)`` runs of ``text``: the main font where it has the glyphs."""
        return self._runs(text)

    def _width(self, text: str, size: float) -> float:
        sw = self._string_width
        return float(sum(sw(part, font, size) for font, part in self._runs(text)))

    def width(self, text: str, size: float) -> float:
        """Width of ``text`` in points at ``size``."""
        return self._widths(text, size)
