"""The caches of compiled generated code (pension_collect._fastpath, docs/dossier.md
"Reading fast"; attrs' methods, pension_collect._attrs_code, docs/cli.md
"Start-up"): they never change a result. A damaged, truncated, foreign or
stale file, or one another user could have written, is ignored and replaced;
reading with and without it gives the same dossier; processes writing it at
once leave a readable file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from pension_collect import _fastpath
from pension_collect._attrs_code import ATTRS_CODE_FILE
from pension_collect._cache import NO_CACHE_ENV
from pension_collect._fastpath import (
    CODE_CACHE_FILE,
    RECORD_CLASSES,
    FastPath,
    _code_cache,
    unstructure_functions,
)
from pension_collect.dossier import dumps, example_dossier_text, loads
from pension_collect.limits import DEFAULT_LIMITS
from pension_collect.model import Dossier

#: The generated functions of one typed-mirror fast path (a record class
#: each, and the list functions of the three record lists).
FUNCTIONS = len(RECORD_CLASSES) + 3


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh cache folder; the file's path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(NO_CACHE_ENV, raising=False)
    _fastpath._CODE_CACHES.clear()
    yield tmp_path / "pension-collect" / CODE_CACHE_FILE
    _fastpath._CODE_CACHES.clear()


def _new_process() -> None:
    """Forget what this process read (as a new process would)."""
    _fastpath._CODE_CACHES.clear()


def _fast_path() -> tuple[FastPath, int]:
    """A typed-mirror fast path, and how many functions it had to compile."""
    _new_process()
    fast = FastPath(RECORD_CLASSES, limits=DEFAULT_LIMITS, from_structs=True)
    return fast, _code_cache().compiled


def _read_example() -> Dossier:
    """The example dossier read through a fresh process's fast path."""
    from pension_collect._reader.fast import _DECODER

    fast, _ = _fast_path()
    dossier: Dossier = fast.structure(Dossier)(_DECODER.decode(example_dossier_text().encode()))
    return dossier


def test_a_second_process_compiles_nothing(cache: Path) -> None:
    _, compiled = _fast_path()
    assert compiled == FUNCTIONS
    assert cache.is_file()
    assert cache.stat().st_mode & 0o777 == 0o600
    _, compiled = _fast_path()
    assert compiled == 0


def test_results_are_the_same_with_and_without_the_cache(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cold = _read_example()  # writes the file
    warm = _read_example()  # reads it
    assert _code_cache().compiled == 0
    monkeypatch.setenv(NO_CACHE_ENV, "1")
    uncached = _read_example()
    assert _code_cache().path is None
    assert cold == warm == uncached == loads(example_dossier_text())
    # the unstructure functions too: the same document written either way
    without = unstructure_functions()[Dossier](warm)
    monkeypatch.delenv(NO_CACHE_ENV)
    _new_process()
    unstructure_functions()  # writes them
    _new_process()
    with_cache = unstructure_functions()[Dossier](warm)
    assert _code_cache().compiled == 0
    written = json.loads(dumps(warm))
    assert {**with_cache, "format": written["format"], "version": 1} == written
    assert with_cache == without


def _flip_last(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 0xFF])


def _other_build(data: bytes) -> bytes:
    return data.replace(sys.version.encode(), b"3.99.0 (elsewhere)", 1)


def _valid_but_foreign_entries(data: bytes) -> bytes:
    """A well-formed file (right header and checksum) whose entries are
    compiled from another source under the right names."""
    import marshal

    header = data[: data.index(b"\n", len(b"pension-collect/generated-code\n")) + 1]
    entries = marshal.loads(data[len(header) + 4 :])
    other = {
        key.split("\0", 1)[0] + "\0" + "x = 1": compile("x = 1", key.split("\0", 1)[0], "exec")
        for key in entries
    }
    body = marshal.dumps(other)
    return header + zlib.crc32(body).to_bytes(4, "big") + body


DAMAGES: dict[str, Callable[[bytes], bytes]] = {
    "a flipped byte": _flip_last,
    "truncated": lambda data: data[: len(data) // 2],
    "empty": lambda data: b"",
    "foreign (JSON)": lambda data: json.dumps({"format": "other"}).encode(),
    "foreign (random bytes)": lambda data: os.urandom(4096),
    "another interpreter's": _other_build,
    "stale entries": _valid_but_foreign_entries,
    "too large": lambda data: data + b"\0" * (1 << 20),
}


@pytest.mark.parametrize("damage", list(DAMAGES), ids=list(DAMAGES))
def test_a_damaged_foreign_or_stale_file_is_ignored_and_replaced(cache: Path, damage: str) -> None:
    good = _read_example()
    cache.write_bytes(DAMAGES[damage](cache.read_bytes()))
    assert _read_example() == good
    assert _code_cache().compiled == FUNCTIONS  # nothing taken from the file
    # replaced: the next process reads it whole
    assert _read_example() == good
    assert _code_cache().compiled == 0


def test_a_file_others_may_write_is_not_run(cache: Path) -> None:
    good = _read_example()
    cache.chmod(0o666)
    assert _read_example() == good
    assert _code_cache().compiled == FUNCTIONS
    assert cache.stat().st_mode & 0o777 == 0o600  # replaced by a private one


def test_an_unwritable_folder_means_no_cache(cache: Path) -> None:
    cache.parent.parent.mkdir(parents=True, exist_ok=True)
    cache.parent.write_text("a file where the folder should be")
    assert _read_example() == loads(example_dossier_text())
    assert _read_example() == loads(example_dossier_text())
    assert _code_cache().compiled == FUNCTIONS  # compiled again each time


def test_other_fast_paths_keep_their_own_entries(cache: Path) -> None:
    _fast_path()
    _new_process()
    FastPath(RECORD_CLASSES)  # the store's: other sources, other names
    assert _code_cache().compiled > 0
    _, compiled = _fast_path()
    assert compiled == 0  # the reader's entries are still there


_CHILD = """
import sys
from pension_collect._fastpath import FastPath, RECORD_CLASSES, _code_cache
from pension_collect.limits import DEFAULT_LIMITS
for _ in range(int(sys.argv[1])):
    FastPath(RECORD_CLASSES, limits=DEFAULT_LIMITS, from_structs=True)
    FastPath(RECORD_CLASSES)
    _code_cache()._dirty = True  # written again each time, racing the others
    _code_cache().save()
"""
_CHECK = """
from pension_collect._fastpath import FastPath, RECORD_CLASSES, _code_cache
from pension_collect.limits import DEFAULT_LIMITS
FastPath(RECORD_CLASSES, limits=DEFAULT_LIMITS, from_structs=True)
FastPath(RECORD_CLASSES)
print(_code_cache().compiled)
"""


def test_processes_writing_at_once_leave_a_readable_file(cache: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache.parent.parent)}
    env.pop(NO_CACHE_ENV, None)
    children = [subprocess.Popen([sys.executable, "-c", _CHILD, "20"], env=env) for _ in range(4)]
    assert [child.wait(timeout=300) for child in children] == [0] * 4
    # A new process (file names as the writers had them) finds every function.
    done = subprocess.run(
        [sys.executable, "-c", _CHECK],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "0"
    # no temporary left (the attrs methods the children compiled are kept beside)
    assert sorted(p.name for p in cache.parent.iterdir()) == [ATTRS_CODE_FILE, CODE_CACHE_FILE]


def test_the_file_keeps_the_entries_used_last(cache: Path) -> None:
    """Many fast paths (distinct limits, distinct sources): the file keeps at
    most _CODE_ENTRIES of them, those used last, and stays readable."""
    import marshal

    all_limits = [attrs.evolve(DEFAULT_LIMITS, number_digits=n) for n in range(1, 21)]
    for limits in all_limits:
        FastPath(RECORD_CLASSES, limits=limits, from_structs=True)
    data = cache.read_bytes()
    header_end = data.index(b"\n", len(b"pension-collect/generated-code\n")) + 1
    entries = marshal.loads(data[header_end + 4 :])
    assert len(all_limits) * FUNCTIONS > _fastpath._CODE_ENTRIES >= len(entries) > FUNCTIONS
    _new_process()
    FastPath(RECORD_CLASSES, limits=all_limits[-1], from_structs=True)
    assert _code_cache().compiled == 0


# -- attrs' generated methods (pension_collect._attrs_code) ---------------------------

#: A fresh process: defines pension_collect's classes, uses a few, reports
#: what the attrs cache did; ``save`` as the command line does at its end.
_ATTRS_CHILD = """
import json, sys
import attrs
import pension_collect.rules
from pension_collect import _attrs_code
from pension_collect.errors import Problem
from pension_collect.model import YearMonth
from pension_collect.rules import Finding, Severity

@attrs.frozen
class Elsewhere:  # not pension_collect's: compiled by attrs as ever
    x: int

caches = _attrs_code._CACHES
p = Problem("$.a", "bad", "坏")
salt = hash("<attrs generated hash pension_collect.errors.Problem>")
f = Finding(code="x.y", severity=Severity.ERROR, message="m", message_zh="中", path="$")
print(json.dumps({
    "installed": _attrs_code.installed(),
    "compiled": caches[0].compiled if caches else None,
    "path": None if not caches or caches[0].path is None else str(caches[0].path),
    "keys": sorted(k.split(chr(0))[1] for k in (caches[0]._entries or {})) if caches else [],
    "problem_hash": hash(p) == hash((salt, "$.a", "bad", "坏")),
    "problem": [repr(p), p == Problem("$.a", "bad", "坏"), p != Problem("$.a", "bad")],
    "finding": [repr(f), hash(f) == hash(attrs.evolve(f))],
    "month": [repr(YearMonth(2013, 8)), str(YearMonth(2013, 8)),
              YearMonth(2013, 8) < YearMonth(2014, 1)],
    "elsewhere": [repr(Elsewhere(1)), hash(Elsewhere(1)) == hash(Elsewhere(1))],
}))
_attrs_code.save()
"""


def _attrs_child(folder: Path, **env: str) -> dict[str, Any]:
    environ = {**os.environ, "XDG_CACHE_HOME": str(folder), "PYTHONHASHSEED": "random", **env}
    if "PENSION_COLLECT_NO_CACHE" not in env:
        environ.pop(NO_CACHE_ENV, None)
    done = subprocess.run(
        [sys.executable, "-c", _ATTRS_CHILD],
        env=environ,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_attrs_methods_are_compiled_once(tmp_path: Path) -> None:
    """The first process compiles pension_collect's attrs methods and keeps
    them; the next (another string-hash seed) compiles none, and its classes
    behave alike: equality, repr, and the hash attrs' own method gives (its
    per-process number, then the fields)."""
    first = _attrs_child(tmp_path)
    assert first["installed"] is True
    assert first["compiled"] > 20  # the model, the rules, the report
    assert first["path"] == str(tmp_path / "pension-collect" / ATTRS_CODE_FILE)
    assert all(" pension_collect." in key for key in first["keys"])  # only ours
    assert any("pension_collect.model.Worker>" in key for key in first["keys"])
    assert (tmp_path / "pension-collect" / ATTRS_CODE_FILE).stat().st_mode & 0o077 == 0
    second = _attrs_child(tmp_path)
    assert second["compiled"] == 0
    for result in (first, second):
        assert result["problem_hash"] is True
        problem = "Problem(path='$.a', message='bad', message_zh='坏')"
        assert result["problem"] == [problem, True, True]
        assert result["finding"][1] is True
        assert result["month"] == [first["month"][0], "2013-08", True]
        assert result["elsewhere"] == ["Elsewhere(x=1)", True]
    assert second["finding"][0] == first["finding"][0]
    assert second["keys"] == first["keys"]


def test_attrs_methods_without_the_cache_or_with_a_bad_file(tmp_path: Path) -> None:
    """``PENSION_COLLECT_NO_CACHE=1``: compiled, nothing written; a damaged
    or foreign file: ignored, compiled and replaced. The classes are the same."""
    plain = _attrs_child(tmp_path, PENSION_COLLECT_NO_CACHE="1")
    assert plain["path"] is None
    assert not (tmp_path / "pension-collect").exists()
    folder = tmp_path / "pension-collect"
    folder.mkdir()
    path = folder / ATTRS_CODE_FILE
    for content in (b"", b"pension-collect/generated-code\n1 other\n\0\0\0\0x", b"x" * 100):
        path.write_bytes(content)
        path.chmod(0o600)
        damaged = _attrs_child(tmp_path)
        assert damaged["compiled"] == plain["compiled"] > 20
        assert _attrs_child(tmp_path)["compiled"] == 0  # replaced by a good file
    good = path.read_bytes()
    path.chmod(0o666)  # another user could have written it: not run
    assert _attrs_child(tmp_path)["compiled"] == plain["compiled"]
    path.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))  # a damaged body: its CRC
    path.chmod(0o600)
    assert _attrs_child(tmp_path)["compiled"] == plain["compiled"]
    for key in ("problem", "problem_hash", "month", "elsewhere"):
        assert plain[key] == _attrs_child(tmp_path)[key]


def test_a_file_stays_below_the_size_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries that would make the file larger than a cache file may be
    (then it would never be read): the half used last is kept, and read."""
    from pension_collect import _cache

    monkeypatch.setattr(_cache, "MOST_BYTES", 8192)
    path = tmp_path / "code.bin"
    cache = _cache.CodeCache(path, most=1000)
    sources = [(f"def f{i}():\n    return {list(range(100))!r}\n", f"<f{i}>") for i in range(20)]
    for source, name in sources:
        cache.code(source, name)
    cache.save()
    assert 0 < path.stat().st_size <= 8192
    again = _cache.CodeCache(path, most=1000)
    kept = [name for source, name in sources if f"{name}\0{source}" in again._load()]
    assert kept  # the file was read
    assert kept == [name for _, name in sources[-len(kept) :]]  # those used last
    assert again.code(*sources[-1]).co_filename == "<f19>"
    assert again.compiled == 0


def test_attrs_methods_are_saved_only_to_the_folder_now_in_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Classes made before the cache folder changed (a test session sets
    XDG_CACHE_HOME after pension_collect was imported): nothing is written
    to the old folder or the new; the new one gets what compiles there."""
    from pension_collect import _attrs_code

    old, new = tmp_path / "old", tmp_path / "new"
    monkeypatch.delenv(NO_CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(old))
    monkeypatch.setattr(_attrs_code, "_CACHES", [])
    cache = _attrs_code._cache()
    cache.code("x = 1\n", "<attrs generated methods pension_collect.Probe>", _attrs_code._flags)
    monkeypatch.setenv("XDG_CACHE_HOME", str(new))
    _attrs_code.save()
    assert not old.exists()
    assert not new.exists()
    monkeypatch.setenv("XDG_CACHE_HOME", str(old))
    _attrs_code.save()
    assert (old / "pension-collect" / ATTRS_CODE_FILE).is_file()
