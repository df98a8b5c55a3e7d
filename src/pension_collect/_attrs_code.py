"""attrs' generated methods of pension_collect's classes, compiled once and kept.

Defining an attrs class generates the source of its ``__init__``,
``__repr__``, ``__eq__`` and ``__hash__`` and compiles it: for the two dozen
classes ``validate`` defines (the model, the rules, the report) compiling is
some 60 million instructions of its start-up, a tenth of what ``json.load``
of 1,000 workers costs (docs/cli.md, "Start-up"). Importing this module
routes attrs' compilation of pension_collect's classes (those whose
generated file name attrs gives as ``<attrs generated ... pension_collect.…>``)
through a :class:`~pension_collect._cache.CodeCache` in
``$XDG_CACHE_HOME/pension-collect/attrs-code.bin``: the same conventions and
safety rules as the generated-code cache of :mod:`pension_collect._fastpath`
(marshalled code objects keyed by their exact source text, file name and
compile flags, the file by the interpreter's build, a CRC-32, used only when
it is a regular file of the user writable by nobody else, written
atomically; ``PENSION_COLLECT_NO_CACHE=1`` turns it off).

attrs writes into each ``__hash__`` a number that is the hash of a string,
which differs from process to process (string hashing is randomised): that
one number is read from a name in the method's globals instead of being a
constant of its code, so the source, and the cached code, are the same in
every run; the method returns the same hash. Any other class, a method whose
source does not have the shape expected, or an attrs without the private
function this hooks (``attr._make._compile_and_eval``) is compiled by attrs
as before: a cache never changes a class.

The methods compiled by this process are written by :func:`save` (the
command line calls it at its end, the fast paths when they save theirs).
"""

from __future__ import annotations
import __future__

import re
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ._cache import CodeCache, cache_folder

__all__ = ["ATTRS_CODE_FILE", "installed", "save"]

#: The cache file, in the cache folder (:func:`pension_collect._cache.cache_folder`).
ATTRS_CODE_FILE = "attrs-code.bin"
#: Entries kept at most (a class has one, some 2-6 KiB; pension_collect and
#: its plugins define some 110; the file also stays below the cache files'
#: size bound).
_ENTRIES = 160
#: The file names attrs gives the methods of pension_collect's classes.
_PREFIX = "<attrs generated "
_OURS = " pension_collect."
#: The name standing for the type's hash number in a cached ``__hash__``.
_TYPE_HASH_NAME = "_pension_collect_attrs_type_hash"
_TYPE_HASH = re.compile(r"hash\(\(\n( +)(-?[0-9]+),\n")

_CACHES: list[CodeCache] = []
_original: Callable[..., None] | None = None
_flags = 0


def _path() -> Path | None:
    folder = cache_folder()
    return None if folder is None else folder / ATTRS_CODE_FILE


def _cache() -> CodeCache:
    path = _path()
    if not _CACHES or _CACHES[0].path != path:
        _CACHES[:] = [_Cache(path)]
    return _CACHES[0]


class _Cache(CodeCache):
    def __init__(self, path: Path | None) -> None:
        super().__init__(path, most=_ENTRIES)


def _compile_and_eval(
    script: str,
    globs: dict[str, Any] | None,
    locs: Mapping[str, object] | None = None,
    filename: str = "",
) -> None:
    """attrs' ``_compile_and_eval``, its code of pension_collect's classes cached."""
    assert _original is not None
    if globs is None or not filename.startswith(_PREFIX) or _OURS not in filename:
        _original(script, globs, locs, filename)
        return
    if "hash((" in script:
        found = _TYPE_HASH.findall(script)
        if len(found) != 1 or script.count("hash((") != 1 or _TYPE_HASH_NAME in globs:
            _original(script, globs, locs, filename)
            return
        indent, number = found[0]
        script = _TYPE_HASH.sub(f"hash((\n{indent}{_TYPE_HASH_NAME},\n", script)
        globs[_TYPE_HASH_NAME] = int(number)
    eval(_cache().code(script, filename, _flags), globs, locs)


def installed() -> bool:
    """Whether attrs' compilation goes through the cache in this process."""
    return _original is not None


def save() -> None:
    """Write the cache file when this process compiled a method (nothing when
    it cannot be written)."""
    # Only to the cache folder now in force (none: turned off since, or the
    # folder changed, as a test session's does, after the classes were made).
    if _CACHES and _CACHES[0].path == _path():
        _CACHES[0].save()


def _install() -> None:
    global _original, _flags
    try:
        from attr import _make
    except ImportError:  # pragma: no cover - attrs lays out its modules otherwise
        return
    current = getattr(_make, "_compile_and_eval", None)
    if current is _compile_and_eval:
        return
    code = getattr(current, "__code__", None)
    if not isinstance(code, types.CodeType) or code.co_varnames[:4] != (
        "script",
        "globs",
        "locs",
        "filename",
    ):
        return  # another attrs: left as it is
    # attrs compiles with the __future__ flags of its own module.
    _flags = (
        __future__.annotations.compiler_flag
        if getattr(_make, "annotations", None) is __future__.annotations
        else 0
    )
    _original = current
    _make._compile_and_eval = _compile_and_eval


_install()
