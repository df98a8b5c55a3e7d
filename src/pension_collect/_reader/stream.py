"""The streaming reader: a dossier worker by worker, in memory bounded by one worker.

ijson (its C backend, yajl2_c) reads the file in chunks, in three passes:

1. the top-level members in order, with every object below them discarded
   as it is parsed (``map_type``: one shared object that keeps nothing): the
   keys, their order and repeats, the scalars (``format``, ``version``,
   ``rule_pack``, ``as_of``), the number of workers;
2. the members before ``workers`` built as JSON values (the employer, as
   every writer puts it), a short pass that stops where ``workers`` begins;
   an object written after ``workers`` is read by one more pass of its own;
3. the workers, one at a time (``ijson.items``), each structured by the
   reader's generated fast path (:class:`~pension_collect._fastpath.FastPath`,
   under the same :class:`~pension_collect.limits.Limits`) and handed on.

Like the other fast paths it vouches for nothing: whatever it does not take
exactly as the in-memory reader would (any problem, a repeated top-level key,
a surrogate escape, which yajl would turn into ``?``, a byte-order mark
followed by anything odd, JSON yajl refuses) raises :class:`NotStreamed`,
and the caller reads the file in memory instead, whose detailed reader lists
every problem with its path. The input-size limit holds as for the
in-memory reader: a larger regular file is refused from its size.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from typing import IO, Any

import ijson

from .._fastpath import RECORD_CLASSES, FastPath
from ..limits import Limits
from ..model import Dossier, Worker

__all__ = ["NotStreamed", "StreamedDossier", "open_streamed"]

_FORMAT = "pension-collect/dossier"
_VERSION = 1
_HEADER = ("employer", "rule_pack", "as_of")
_CHUNK = 1 << 16

#: A JSON escape of a UTF-16 surrogate: yajl replaces an unpaired one by "?"
#: where the in-memory reader refuses it (docs/dossier.md "Text").
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class NotStreamed(Exception):
    """The streaming reader does not take this file: read it in memory."""


class _Discarded:
    """Every object of the second pass: keeps nothing (one shared instance)."""

    __slots__ = ()

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


_DISCARDED = _Discarded()


def _discarded() -> _Discarded:
    return _DISCARDED


class _Checked(io.RawIOBase):
    """The file as ijson reads it: a leading byte-order mark skipped, and
    every chunk looked at for surrogate escapes."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__()
        self._stream = stream
        self._start = True
        self._tail = b""
        self.surrogates = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(_CHUNK if size is None or size < 0 else size)
        if self._start and data:  # (ijson's first read is of 0 bytes)
            self._start = False
            if data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
        if not self.surrogates and data:
            # The last bytes of the chunk before: an escape split between two.
            if _SURROGATE_ESCAPE.search(self._tail + data) is not None:
                self.surrogates = True
            self._tail = data[-5:]
        return bytes(data)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class StreamedDossier:
    """A dossier being read: :attr:`header` (the employer, ``rule_pack`` and
    ``as_of``; no workers), :attr:`count` workers, and :meth:`workers`
    giving them one at a time (once)."""

    def __init__(self, path: str | os.PathLike[str], header: Dossier, count: int, limits: Limits):
        self._path = path
        self.header = header
        self.count = count
        self._limits = limits

    def workers(self) -> Iterator[Worker]:
        """Each worker in order; :class:`NotStreamed` at the first one the
        reader does not take (the file is then read in memory)."""
        structure = _fast_path(self._limits).structure(Worker)
        seen = 0
        with open(self._path, "rb") as raw:
            checked = _Checked(raw)
            try:
                for item in ijson.items(checked, "workers.item", use_float=True):
                    seen += 1
                    try:
                        worker = structure(item)
                    except Exception:  # any refusal: the in-memory reader says why
                        raise NotStreamed() from None
                    del item
                    yield worker
            except ijson.JSONError:
                raise NotStreamed() from None
        if seen != self.count or checked.surrogates:
            raise NotStreamed()


_PATHS: dict[Limits, FastPath] = {}


def _fast_path(limits: Limits) -> FastPath:
    path = _PATHS.get(limits)
    if path is None:
        path = _PATHS[limits] = FastPath(RECORD_CLASSES, limits=limits)
    return path


def open_streamed(path: str | os.PathLike[str], limits: Limits) -> StreamedDossier:
    """Read the header of the dossier file ``path`` and count its workers.

    Raises :class:`NotStreamed` for anything the streaming reader does not
    take (the caller reads the file in memory, which explains a problem), and
    :class:`OSError` when the file cannot be read.
    """
    size = os.stat(path).st_size
    if size > limits.input_bytes:
        raise NotStreamed()  # the in-memory reader refuses it from its size
    members = _members(path)
    found = dict(members)
    if len(found) != len(members):
        raise NotStreamed()  # a repeated key: the last one counts in JSON
    if found.get("format") != _FORMAT or found.get("version") != _VERSION:
        raise NotStreamed()
    if type(found["version"]) is not int or set(found) - {"format", "version", *_HEADER, "workers"}:
        raise NotStreamed()
    workers = found.pop("workers", [])
    del members
    if type(workers) is not list or len(workers) > limits.workers:
        raise NotStreamed()
    count = len(workers)
    del workers  # a reference a worker: 0.8 MB at 100,000 workers
    before = _before_workers(path)
    body: dict[str, Any] = {}
    for key in _HEADER:
        if key not in found:
            continue
        value = found[key]
        if value is _DISCARDED:  # an object: from the first pass, or its own
            value = before[key] if key in before else _object_at(path, key)
        body[key] = value
    fast = _fast_path(limits)
    body["workers"] = []
    try:
        header: Dossier = fast.structure(Dossier)(body)
    except Exception:  # any refusal (the employer missing too)
        raise NotStreamed() from None
    finally:
        fast.forget()
    return StreamedDossier(path, header, count, limits)


def _members(path: str | os.PathLike[str]) -> list[tuple[str, Any]]:
    """The top-level members in order, every object below them discarded."""
    with open(path, "rb") as raw:
        checked = _Checked(raw)
        try:
            members = list(ijson.kvitems(checked, "", use_float=True, map_type=_discarded))
        except ijson.JSONError:
            raise NotStreamed() from None
        if checked.surrogates:
            raise NotStreamed()
    return members


def _before_workers(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The top-level members before ``workers``, as JSON values."""
    from ijson.common import ObjectBuilder

    out: dict[str, Any] = {}
    builder: ObjectBuilder | None = None
    key: Any = None
    with open(path, "rb") as raw:
        try:
            for prefix, event, value in ijson.parse(_Checked(raw), use_float=True):
                if builder is not None:
                    builder.event(event, value)
                    if prefix == key and event in ("end_map", "end_array"):
                        out[key] = builder.value
                        builder = None
                    continue
                if prefix == "" and event == "map_key":
                    key = value
                elif prefix == key and key is not None:
                    if key == "workers":
                        break
                    if event in ("start_map", "start_array"):
                        builder = ObjectBuilder()
                        builder.event(event, value)
                    else:
                        out[key] = value
        except ijson.JSONError:
            raise NotStreamed() from None
    return out


def _object_at(path: str | os.PathLike[str], key: str) -> Any:
    """The value of the top-level member ``key`` (written after ``workers``)."""
    with open(path, "rb") as raw:
        try:
            values = list(ijson.items(_Checked(raw), key, use_float=True))
        except ijson.JSONError:
            raise NotStreamed() from None
    if len(values) != 1:
        raise NotStreamed()
    return values[0]
