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
from pathlib import Path

__all__ = ["MOST_BYTES", "NO_CACHE_ENV", "cache_folder", "read_bounded", "replace_atomically"]

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
