"""The user's cache folder: files a later run reads instead of redoing work.

Two caches live there (docs/cli.md, "Start-up"): the rule-pack record of
:mod:`pension_collect.cli._packs` and the compiled generated code of
:mod:`pension_collect._fastpath`. Both follow the same conventions:

- the folder is ``$XDG_CACHE_HOME/pension-collect`` (``~/.cache/...`` when
  the variable is unset or not an absolute path); ``PENSION_COLLECT_NO_CACHE=1``
  turns every cache off;
- a file is written atomically (a temporary file of mode 0600 in the same
  folder, then a rename): a reader sees the old file or the new one, never
  part of one, however many processes write at once;
- a file is read at most :data:`MOST_BYTES` of, and checked before anything
  in it is used; one that is not exactly what was written is ignored, the
  work done again and the file replaced. A folder that cannot be written
  means no cache. A cache never changes a result.
"""

from __future__ import annotations

import os
import stat
import sys
import types
import zlib
from pathlib import Path

__all__ = [
    "MOST_BYTES",
    "NO_CACHE_ENV",
    "CodeCache",
    "cache_folder",
    "read_bounded",
    "replace_atomically",
]

#: Environment variable: ``1`` turns the caches off.
NO_CACHE_ENV = "PENSION_COLLECT_NO_CACHE"
#: A cache file larger than this is not ours.
MOST_BYTES = 1 << 20


def cache_folder() -> Path | None:
    """The cache folder (``None``: caches turned off, or no usable folder)."""
    if os.environ.get(NO_CACHE_ENV, "").strip() not in ("", "0"):
        return None
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home folder
            return None
    return Path(base) / "pension-collect"


def read_bounded(path: Path, *, own: bool = False) -> bytes | None:
    """The bytes of ``path``; ``None`` when it cannot be read, is larger than
    :data:`MOST_BYTES` or, with ``own``, is not a regular file of this user
    that only this user may write (what is run from it must be the user's)."""
    try:
        with open(path, "rb") as stream:
            if own:
                info = os.fstat(stream.fileno())
                getuid = getattr(os, "getuid", None)
                if (
                    not stat.S_ISREG(info.st_mode)
                    or (getuid is not None and info.st_uid != getuid())
                    or info.st_mode & 0o022
                ):
                    return None
            raw = stream.read(MOST_BYTES + 1)
    except OSError:
        return None
    return None if len(raw) > MOST_BYTES else raw


def replace_atomically(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` through a temporary file of mode 0600 and a
    rename; ``False`` (nothing written) when the folder cannot be written."""
    try:
        import tempfile

        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as stream:
                stream.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return False
    return True


# -- compiled code -------------------------------------------------------------------

_CODE_MAGIC = b"pension-collect/generated-code\n"
_CODE_VERSION = 1


def _python_build() -> bytes:
    """What decides the bytecode: the interpreter's exact build."""
    return f"{sys.implementation.cache_tag} {sys.version}".encode("utf-8", "replace")


class CodeCache:
    """Compiled generated functions kept as marshalled code objects in one file.

    Compiling generated source is most of the time of making a
    :class:`~pension_collect._fastpath.FastPath` (a ``validate`` run makes
    one) and of defining an attrs class (:mod:`pension_collect._attrs_code`).
    An entry is keyed
    by the exact generated source text and its file name (the name its
    traceback shows); the file by the cache format and the interpreter's
    build. The file is ``MAGIC``, the format version and the build on one
    line, the CRC-32 of the rest (4 bytes, big-endian), and the rest:
    ``marshal.dumps`` of ``{key: code}``. Anything else (a damaged,
    truncated or foreign file, another interpreter's, one not owned by the
    user or writable by others) is ignored: the code is compiled, and the
    file replaced (atomically) with what this process compiled and read.
    A changed source (another pension_collect) is a key the file lacks:
    compiled and added, the file keeping at most ``most`` entries (those
    this process used last).
    """

    def __init__(self, path: Path | None, *, most: int) -> None:
        self.path = path
        self.most = most
        self._entries: dict[str, types.CodeType] | None = None
        self._used: dict[str, None] = {}  # the keys used, least recently first
        self._dirty = False
        #: Functions compiled (not found in the file) by this process.
        self.compiled = 0

    def _header(self) -> bytes:
        return _CODE_MAGIC + f"{_CODE_VERSION} ".encode() + _python_build() + b"\n"

    def _load(self) -> dict[str, types.CodeType]:
        if self._entries is None:
            self._entries = {} if self.path is None else self._read(self.path)
        return self._entries

    def _read(self, path: Path) -> dict[str, types.CodeType]:
        raw = read_bounded(path, own=True)
        header = self._header()
        if raw is None or not raw.startswith(header) or len(raw) < len(header) + 4:
            return {}
        body = raw[len(header) + 4 :]
        if int.from_bytes(raw[len(header) : len(header) + 4], "big") != zlib.crc32(body):
            return {}
        import marshal

        try:
            entries = marshal.loads(body)
        except (ValueError, EOFError, TypeError):
            return {}
        if type(entries) is not dict or not all(
            type(k) is str and type(v) is types.CodeType for k, v in entries.items()
        ):
            return {}
        return entries

    def code(self, source: str, filename: str, flags: int | None = None) -> types.CodeType:
        """The compiled module code of ``source`` named ``filename`` (``flags``:
        the ``__future__`` flags to compile with, ``None``: this module's)."""
        entries = self._load()
        key = f"{filename}\0{source}" if flags is None else f"{flags}\0{filename}\0{source}"
        self._used.pop(key, None)
        self._used[key] = None
        code = entries.get(key)
        if code is None or code.co_filename != filename:
            if flags is None:
                code = compile(source, filename, "exec")
            else:
                code = compile(source, filename, "exec", flags=flags, dont_inherit=True)
            entries[key] = code
            self.compiled += 1
            self._dirty = True
        return code

    def save(self) -> None:
        """Write the file when something was compiled (nothing when it cannot be)."""
        if not self._dirty or self.path is None or self._entries is None:
            return
        self._dirty = False
        entries = self._entries
        if len(entries) > self.most:  # keep what this process used last
            recent = list(self._used)[-self.most :]
            entries = {k: entries[k] for k in recent if k in entries}
        import marshal

        header = self._header()
        while True:
            try:
                body = marshal.dumps(entries)
            except ValueError:
                return
            if len(header) + 4 + len(body) <= MOST_BYTES or len(entries) <= 1:
                break
            # Larger than a cache file may be (it would never be read): the
            # half used last is kept.
            recent = [k for k in self._used if k in entries] or list(entries)
            entries = {k: entries[k] for k in recent[len(recent) // 2 :]}
        replace_atomically(self.path, header + zlib.crc32(body).to_bytes(4, "big") + body)
