"""The rule pack of a command, without loading every plugin when that is safe.

Building the plugin host imports every plugin: the built-in adapters (the
reference bureau, SQLite, the PDF renderers) and every installed entry-point
plugin with what it imports (a database driver, say), some 0.25 s before
``validate`` reads a byte. Only the hook ``pension_collect_register_rule_packs``
decides the pack, and only one built-in implements it
(``pension_collect.adapters.rule_packs``, registering
:func:`pension_collect.rules.weihai2013.default_pack`).

So the first run builds the host as always and records, in a small cache
file, which entry-point plugins implement that hook. Later runs read what
decides the installed plugins (the folders of ``sys.path`` and the
entry-point files of the distributions in them, pension_collect's version
and the plugins blocked: the key), and when the record for that key
says the built-in is the only plugin (not blocked) implementing the hook,
the built-in pack is what the host would give for ``weihai-2013``, so it is
taken directly.
Any other pack name, any plugin implementing the hook, a key without a
record, or a record that is not exactly what this module writes: the host
is built, as before.

The built-in pack's parameters (its TOML file) are kept beside it as JSON,
``weihai-2013-parameters.json``: the file as parsed, keyed on
pension_collect's version and the TOML file's path, modification time and
size, with a CRC-32, and read back through the same checks as the TOML file
(:func:`pension_collect.rules.parameters.parameters_from_data`), so that a
run needs neither the TOML parser nor the parse.

The cache file is ``$XDG_CACHE_HOME/pension-collect/rule-packs.json``
(``~/.cache/...`` when the variable is unset or not an absolute path), JSON
validated field by field when read (nothing in it is executed or
unpickled), written atomically (a temporary file in the same folder, then a
rename). Any failure to read or write it means no cache: the host is built.
``PENSION_COLLECT_NO_CACHE=1`` turns it off. docs/cli.md (``validate``) tells
the user.
"""

from __future__ import annotations

import json
import os
import sys
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._cache import NO_CACHE_ENV, cache_folder, read_bounded, replace_atomically
from .._version import __version__

if TYPE_CHECKING:
    from ..rules.pack import RulePack
    from ..rules.parameters import ParameterSet

__all__ = ["CACHE_FILE", "NO_CACHE_ENV", "cache_path", "rule_pack"]

#: The name of the cache file in the cache folder.
CACHE_FILE = "rule-packs.json"

_FORMAT = "pension-collect/rule-pack-cache"
_PARAMETERS_FORMAT = "pension-collect/parameters-cache"
#: The copy of the built-in pack's parameters, beside the cache file.
_PARAMETERS_FILE = "weihai-2013-parameters.json"
_VERSION = 2
_HOOK = "pension_collect_register_rule_packs"
_BUILT_IN_PACK = "weihai-2013"
#: The one built-in plugin implementing the hook, registering the built-in pack.
_BUILT_IN_PLUGIN = "pension_collect.adapters.rule_packs"
#: An entry-point file larger than this is not ours.
_MOST_BYTES = 1 << 20


def cache_path() -> Path | None:
    """Where the cache file is (``None``: no usable cache folder)."""
    folder = cache_folder()
    return None if folder is None else folder / CACHE_FILE


def _everything_blocked() -> bool:
    """Whether :data:`pension_collect.plugins.DISABLE_ENV` blocks every
    entry-point plugin (read as the host reads it)."""
    blocked = os.environ.get("PENSION_COLLECT_DISABLE_PLUGINS", "").strip()
    return blocked in ("1", "true", "yes", "all")


def _key() -> str:
    """What decides which plugins are installed, as text: pension_collect's
    version, the plugins blocked, each folder of ``sys.path`` holding
    distributions (its modification time: installing or removing one changes
    it; a folder without any, such as the working folder, is left out: its
    time changes with every file made in it) and each distribution's
    entry-point file naming the ``pension_collect`` group (where, when
    changed, its size and checksum).

    Read without :mod:`importlib.metadata` (whose import alone costs more
    than the rest of this module): the same folders it searches, the same
    ``*.dist-info``/``*.egg-info`` entry-point files.
    """
    rows: list[list[Any]] = []
    for entry in sys.path:
        folder = entry or "."
        try:
            names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
            dists = [name for name in names if name.endswith((".dist-info", ".egg-info"))]
            if dists:  # a folder distributions are installed in (not the working folder)
                rows.append([folder, os.stat(folder).st_mtime_ns])
        except OSError:
            continue
        for name in dists:
            found = os.path.join(folder, name, "entry_points.txt")
            try:
                with open(found, "rb") as stream:
                    text = stream.read(_MOST_BYTES + 1)
                    info = os.fstat(stream.fileno())
            except OSError:
                continue
            if b"pension_collect" in text:
                rows.append([found, info.st_mtime_ns, info.st_size, zlib.crc32(text)])
    blocked = os.environ.get("PENSION_COLLECT_DISABLE_PLUGINS", "")
    return json.dumps([__version__, blocked, rows], ensure_ascii=True)


def _load(path: Path) -> Any:
    """The JSON in ``path``; ``None`` when it cannot be read as such."""
    raw = read_bounded(path)
    if raw is None:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return None


def _read(path: Path, key: str) -> set[str] | None:
    """The plugins implementing the hook, from a valid record for ``key``;
    ``None`` for anything else."""
    data = _load(path)
    if (
        type(data) is not dict
        or set(data) != {"format", "version", "key", "plugins"}
        or data["format"] != _FORMAT
        or data["version"] != _VERSION
        or data["key"] != key
        or type(data["plugins"]) is not list
        or not all(type(name) is str for name in data["plugins"])
    ):
        return None
    return set(data["plugins"])


def _save(path: Path, record: dict[str, Any]) -> None:
    """Write ``record`` to ``path`` atomically; silently nothing when the
    folder cannot be written (or the record is no JSON)."""
    try:
        text = json.dumps(record, ensure_ascii=True)
    except (TypeError, ValueError):
        return
    replace_atomically(path, text.encode("ascii"))  # False: the next run does the work again


def rule_pack(name: str | None) -> RulePack:
    """The rule pack ``name`` (``None``: the default), as
    ``PluginHost().rule_pack(name)`` gives it; raises what that raises."""
    everything_blocked = _everything_blocked()
    wanted = name or _BUILT_IN_PACK
    path = None if everything_blocked else cache_path()
    key = None
    if wanted == _BUILT_IN_PACK:
        if everything_blocked:
            return _built_in()
        if path is not None:
            try:
                key = _key()
            except Exception:  # a broken distribution's metadata: the host says what
                key = None
            recorded = None if key is None else _read(path, key)
            if recorded == {_BUILT_IN_PLUGIN}:
                return _built_in()
    from ..plugins import PluginHost

    host = PluginHost()
    pack = host.rule_pack(name)
    if path is not None and key is not None:
        record = {
            "format": _FORMAT,
            "version": _VERSION,
            "key": key,
            "plugins": sorted(_implementing(host)),
        }
        _save(path, record)
    return pack


def _built_in() -> RulePack:
    """The built-in pack, its parameters from the cache when they are there."""
    from ..rules.weihai2013 import PARAMETERS_FILE, default_pack, make_pack

    path = cache_path()
    parameters = None if path is None else _cached_parameters(path.parent, PARAMETERS_FILE)
    return default_pack() if parameters is None else make_pack(parameters)


def _cached_parameters(folder: Path, source: Path) -> ParameterSet | None:
    """The parameters of the TOML file ``source``, through a JSON copy in
    ``folder`` (``None``: the file cannot be read; the caller reads it as
    always). The copy is the file as parsed, keyed on pension_collect's
    version and the file's path, modification time and size, with a
    checksum; it is read back through the same checks as the file
    (:func:`~pension_collect.rules.parameters.parameters_from_data`)."""
    from ..rules.parameters import ParameterError, parameters_from_data

    try:
        info = os.stat(source)
    except OSError:
        return None
    key = [__version__, str(source), info.st_mtime_ns, info.st_size]
    copy = folder / _PARAMETERS_FILE
    record = _load(copy)
    if (
        type(record) is dict
        and set(record) == {"format", "version", "key", "crc32", "data"}
        and record["format"] == _PARAMETERS_FORMAT
        and record["version"] == _VERSION
        and record["key"] == key
        and record["crc32"] == _checksum(record["data"])
    ):
        try:
            return parameters_from_data(record["data"], source)
        except (ParameterError, TypeError, ValueError, AttributeError, KeyError):
            pass  # not what was written: read the file again
    import tomllib

    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
        parameters = parameters_from_data(data, source)
        record = {
            "format": _PARAMETERS_FORMAT,
            "version": _VERSION,
            "key": key,
            "crc32": _checksum(data),
            "data": data,
        }
        _save(copy, record)
    except (OSError, ValueError, TypeError, ParameterError):
        return None  # the pack's own loading says what is wrong
    return parameters


def _checksum(data: Any) -> int:
    return zlib.crc32(json.dumps(data, sort_keys=True, ensure_ascii=True).encode("ascii"))


def _implementing(host: Any) -> set[str]:
    """The names of the registered plugins (built-in or not) that implement
    the rule-pack hook."""
    manager = host.manager
    names = set()
    for impl in getattr(manager.hook, _HOOK).get_hookimpls():
        names.add(str(manager.get_name(impl.plugin)))
    return names
