"""Writing an output file safely: aside, complete, then moved into place.

Every file the package writes for a user (the forms of ``pension-collect
render`` and of the workflow's print steps, ``pension-collect example --out``,
the demo's ``result.json``) goes through :func:`atomic_write` (or, when the
final name is chosen only once the document is complete, :func:`write_aside`):

* the document is written into a temporary file with a random hidden name
  (``.<name>.<16 hex digits>.partial``) in the target folder, created with
  ``O_CREAT | O_EXCL | O_NOFOLLOW``: it never opens an existing file and never
  follows a symbolic link planted under a predictable name, and two writers
  in one folder never share a temporary file;
* when complete it is flushed and ``fsync``-ed, then moved into place:
  ``os.replace`` when overwriting is allowed, else a hard link to the new
  name (which fails rather than replace an existing file; on a file system
  without hard links the name is claimed with ``O_EXCL`` first), and the
  folder is ``fsync``-ed;
* a target that is a symbolic link, a folder or anything but a regular file
  is refused (:class:`OutputError`), before anything is written and again
  when moving into place;
* any error, ``KeyboardInterrupt`` included, removes the temporary file: a
  reader sees the old file or the new one, never a torn one, and nothing is
  left behind (a process killed outright may leave its hidden ``.partial``
  file, never a torn output; the file is locked with ``flock`` while it is
  written, so that ``pension-collect print`` removes only stale ones).

Errors are :class:`OutputError` (a :class:`~pension_collect.errors.PensionCollectError`
and an :class:`OSError`) with a ``code``, the file, what to do, in English
(``message``) and Chinese (``message_zh``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, ClassVar, cast

from .errors import PensionCollectError

if sys.platform != "win32":
    import fcntl

__all__ = [
    "OutputError",
    "OutputExists",
    "PendingFile",
    "atomic_write",
    "check_target",
    "ensure_folder",
    "is_temporary_name",
    "write_aside",
]

TEMP_SUFFIX = ".partial"
_TEMP_NAME = re.compile(r"\..{0,24}\.[0-9a-f]{16}" + re.escape(TEMP_SUFFIX), re.DOTALL)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)
#: errno values of ``os.link`` on a file system without hard links.
_NO_HARD_LINKS = frozenset(
    getattr(errno, name)
    for name in ("EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EMLINK", "EXDEV")
    if hasattr(errno, name)
)


class OutputError(PensionCollectError, OSError):
    """An output file cannot be written where it was asked for.

    ``code`` says why (``output.symlink``, ``output.not-a-file``,
    ``output.not-a-folder``, ``output.exists``, ``output.cannot-write``), ``path`` is the file,
    ``message``/``message_zh`` say what to do. Also an :class:`OSError`.
    """

    code: ClassVar[str] = "output.error"

    def __init__(self, code: str, path: str | os.PathLike[str], message: str, message_zh: str):
        super().__init__(message)
        self.code = code  # type: ignore[misc]  # per instance: one class, several codes
        self.path = os.fspath(path)
        self.filename = self.path
        self.message = message
        self.message_zh = message_zh

    def __str__(self) -> str:
        return f"{self.message} ({self.message_zh})"


class OutputExists(OutputError, FileExistsError):
    """The target exists and overwriting was not allowed (``output.exists``)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(
            "output.exists",
            path,
            f"{os.fspath(path)} exists already and is not overwritten; give another name",
            f"文件 {os.fspath(path)} 已存在,不会覆盖,请换一个文件名",
        )


def cannot_write(path: str | os.PathLike[str], exc: OSError) -> OutputError:
    """The :class:`OutputError` (``output.cannot-write``) for ``exc`` met writing
    ``path`` (``exc`` itself when it is one already)."""
    if isinstance(exc, OutputError):
        return exc
    reason = exc.strerror or type(exc).__name__
    if isinstance(exc, FileNotFoundError):
        folder = os.path.dirname(os.fspath(path)) or "."
        return OutputError(
            "output.cannot-write",
            path,
            f"cannot write {os.fspath(path)}: the folder {folder} does not exist; create it first",
            f"无法写入 {os.fspath(path)}:文件夹 {folder} 不存在,请先创建",
        )
    return OutputError(
        "output.cannot-write",
        path,
        f"cannot write {os.fspath(path)}: {reason}",
        f"无法写入 {os.fspath(path)}:{reason}",
    )


def output_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as the name of a file to write; a name that can only be a
    folder (empty, ``.``, ``..``, ``/``, ending with a separator) is refused."""
    text = os.fspath(path)
    seps = tuple(s for s in (os.sep, os.altsep) if s)
    if not text or text.endswith(seps) or Path(text).name in ("", ".", ".."):
        raise OutputError(
            "output.not-a-file",
            text,
            f"{text!r} names a folder, not a file; give a file name",
            f"{text!r} 是文件夹而不是文件名,请给出文件名",
        )
    return Path(text)


def _exists(target: Path) -> bool:
    """Whether ``target`` exists as a regular file; a symbolic link, a folder or
    another kind of file is refused (:class:`OutputError`)."""
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise cannot_write(target, exc) from None
    if stat.S_ISLNK(st.st_mode):
        raise OutputError(
            "output.symlink",
            target,
            f"{target} is a symbolic link; it is not written through: remove it or give "
            "another name",
            f"{target} 是符号链接,不会经由链接写入:请删除该链接或换一个文件名",
        )
    if not stat.S_ISREG(st.st_mode):
        what = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        what_zh = "文件夹" if stat.S_ISDIR(st.st_mode) else "非普通文件"
        raise OutputError(
            "output.not-a-file",
            target,
            f"{target} is {what}; give the name of a file",
            f"{target} 是{what_zh},请给出文件名",
        )
    return True


def check_target(path: str | os.PathLike[str], *, overwrite: bool) -> Path:
    """Refuse ``path`` as an output before anything is drawn: a name that can
    only be a folder, a symbolic link, a folder or another kind of file
    (:class:`OutputError`), an existing file without ``overwrite``
    (:class:`OutputExists`). Returns the path."""
    target = output_path(path)
    if _exists(target) and not overwrite:
        raise OutputExists(target)
    return target


def ensure_folder(path: str | os.PathLike[str]) -> bool:
    """Make the folder ``path`` (and its parents) unless it exists; whether it
    was made. Something there that is not a folder (nor a link to one) is
    refused (:class:`OutputError`, ``output.not-a-folder``)."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True)
    except FileExistsError:
        pass
    except OSError as exc:
        raise cannot_write(folder, exc) from None
    else:
        return True
    if not folder.is_dir():
        raise OutputError(
            "output.not-a-folder",
            folder,
            f"{folder} exists and is not a folder; give a folder",
            f"{folder} 已存在且不是文件夹,请给出文件夹",
        )
    return False


def is_temporary_name(name: str) -> bool:
    """Whether ``name`` is the name of a temporary file of :func:`write_aside`."""
    return _TEMP_NAME.fullmatch(name) is not None


def _fsync_folder(folder: Path) -> None:
    if os.name == "nt":  # pragma: no cover - no directory handles to fsync
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # a file system that cannot sync a folder: the rename is all it has
    finally:
        os.close(fd)


class PendingFile:
    """A document being written aside by :func:`write_aside`.

    ``stream`` is the open binary file to write to; :meth:`place` moves the
    complete document to its name.
    """

    def __init__(self, folder: Path, hint: str) -> None:
        self.folder = folder
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY
        for _ in range(100):
            temp = folder / f".{hint[:24]}.{secrets.token_hex(8)}{TEMP_SUFFIX}"
            try:
                fd = os.open(temp, flags, 0o666)
            except FileExistsError:
                continue  # another writer drew the same name: draw again
            except OSError as exc:
                raise cannot_write(folder / hint, exc) from None
            break
        else:  # pragma: no cover - 100 collisions of 64 random bits
            raise OutputError(
                "output.cannot-write",
                folder,
                f"cannot create a temporary file in {folder}",
                f"无法在 {folder} 中创建临时文件",
            )
        if sys.platform != "win32":  # held while writing: `print` never removes a live one
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.temp = temp
        self.stream = cast(BinaryIO, os.fdopen(fd, "wb"))
        self.placed: Path | None = None

    def _finish(self, target: Path) -> None:
        """Flush, ``fsync`` and close the stream (once)."""
        if self.stream.closed:
            return
        try:
            self.stream.flush()
            os.fsync(self.stream.fileno())
        except OSError as exc:  # a full disk shows here
            raise cannot_write(target, exc) from None
        finally:
            with contextlib.suppress(OSError):
                self.stream.close()

    def place(self, target: str | os.PathLike[str], *, overwrite: bool) -> Path:
        """Move the complete document to ``target`` (in the same folder).

        With ``overwrite`` an existing regular file is replaced; without it an
        existing file raises :class:`OutputExists` and the document stays
        pending, so another name can be tried. A target that is a symbolic
        link or not a regular file raises :class:`OutputError`.
        """
        target = output_path(target)
        if self.placed is not None:
            raise RuntimeError("the document was placed already")
        self._finish(target)
        exists = _exists(target)
        if exists and not overwrite:
            raise OutputExists(target)
        try:
            if overwrite:
                # Replaces the name itself: a link planted meanwhile is replaced,
                # never followed.
                os.replace(self.temp, target)
            else:
                self._link(target)
        except OutputError:
            raise
        except OSError as exc:
            raise cannot_write(target, exc) from None
        self.placed = target
        _fsync_folder(target.parent)
        return target

    def _link(self, target: Path) -> None:
        try:
            os.link(self.temp, target)
        except FileExistsError:
            raise OutputExists(target) from None
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            # No hard links here: claim the name exclusively, then move the
            # document over the empty claim.
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
            try:
                os.close(os.open(target, flags, 0o666))
            except FileExistsError:
                raise OutputExists(target) from None
            try:
                os.replace(self.temp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(target)  # the empty claim made just now
                raise
            return
        with contextlib.suppress(OSError):
            os.unlink(self.temp)  # the document has its name; the spare name goes

    def discard(self) -> None:
        """Close and remove the temporary file (what :func:`write_aside` does
        unless the document was placed)."""
        with contextlib.suppress(OSError):
            self.stream.close()
        with contextlib.suppress(OSError):
            os.unlink(self.temp)


@contextlib.contextmanager
def write_aside(folder: str | os.PathLike[str], hint: str = "output") -> Iterator[PendingFile]:
    """A :class:`PendingFile` in ``folder`` (which must exist); ``hint`` starts
    its temporary name. Whatever happens in the block, the temporary file is
    gone at its end: moved into place by :meth:`PendingFile.place`, or removed.
    """
    pending = PendingFile(Path(folder), hint)
    try:
        yield pending
    finally:
        if pending.placed is None:
            pending.discard()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], *, overwrite: bool) -> Iterator[BinaryIO]:
    """Write the file ``path`` safely (see the module docstring): the block
    writes to the binary stream it is given; when the block ends without an
    error the document is moved to ``path``.

    ``overwrite=False`` refuses an existing file (:class:`OutputExists`, also
    when it appears while writing); a symbolic link, a folder or another
    kind of file at ``path`` is always refused (:class:`OutputError`).
    """
    target = check_target(path, overwrite=overwrite)
    with write_aside(target.parent, target.name) as pending:
        yield pending.stream
        pending.place(target, overwrite=overwrite)
