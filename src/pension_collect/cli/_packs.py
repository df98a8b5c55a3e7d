"""The rule pack of a command, without loading every plugin when that is safe.

Building the plugin host imports every plugin: the built-in adapters (the
reference bureau, SQLite, the PDF renderers) and every installed entry-point
plugin with what it imports (a database driver, say), some 0.25 s before
``validate`` reads a byte. Only the hook ``pension_collect_register_rule_packs``
decides the pack, and only one built-in implements it
(``pension_collect.adapters.rule_packs``, registering
:func:`pension_collect.rules.weihai2013.default_pack`).

So the first run builds the host as always and records, in a small cache
file, which entry-point plugins implement that hook. Later runs read the
installed entry points (names, targets, distributions and their versions,
pension_collect's version and the plugins blocked: the key), and when the record for that key
says the built-in is the only plugin (not blocked) implementing the hook,
the built-in pack is what the host would give for ``weihai-2013``, so it is
taken directly.
Any other pack name, any plugin implementing the hook, a key without a
record, or a record that is not exactly what this module writes: the host
is built, as before.

The cache file is ``$XDG_CACHE_HOME/pension-collect/rule-packs.json``
(``~/.cache/...`` when the variable is unset or not an absolute path), JSON
validated field by field when read (nothing in it is executed or
unpickled), written atomically (a temporary file in the same folder, then a
rename). Any failure to read or write it means no cache: the host is built.
``PENSION_COLLECT_NO_CACHE=1`` turns it off. docs/cli.md (``validate``) tells
the user.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import __version__

if TYPE_CHECKING:
    from ..rules.pack import RulePack

__all__ = ["CACHE_FILE", "NO_CACHE_ENV", "cache_path", "rule_pack"]

#: The name of the cache file in the cache folder.
CACHE_FILE = "rule-packs.json"
#: Environment variable: ``1`` turns the cache off.
NO_CACHE_ENV = "PENSION_COLLECT_NO_CACHE"

_FORMAT = "pension-collect/rule-pack-cache"
_VERSION = 1
_HOOK = "pension_collect_register_rule_packs"
_BUILT_IN_PACK = "weihai-2013"
#: The one built-in plugin implementing the hook, registering the built-in pack.
_BUILT_IN_PLUGIN = "pension_collect.adapters.rule_packs"
#: A cache file larger than this is not ours.
_MOST_BYTES = 65536


def cache_path() -> Path | None:
    """Where the cache file is (``None``: no usable cache folder)."""
    if os.environ.get(NO_CACHE_ENV, "").strip() not in ("", "0"):
        return None
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home folder
            return None
    return Path(base) / "pension-collect" / CACHE_FILE


def _everything_blocked() -> bool:
    """Whether :data:`pension_collect.plugins.DISABLE_ENV` blocks every
    entry-point plugin (read as the host reads it)."""
    blocked = os.environ.get("PENSION_COLLECT_DISABLE_PLUGINS", "").strip()
    return blocked in ("1", "true", "yes", "all")


def _key() -> str:
    """The installed entry-point plugins and pension_collect's version, hashed."""
    from importlib.metadata import entry_points

    rows = []
    for ep in entry_points(group="pension_collect"):
        dist = ep.dist
        rows.append(
            [
                ep.name,
                ep.value,
                None if dist is None else dist.name,
                None if dist is None else dist.version,
            ]
        )
    # The blocked names too: a plugin blocked when the record was made is not in it.
    blocked = os.environ.get("PENSION_COLLECT_DISABLE_PLUGINS", "")
    text = json.dumps([__version__, blocked, sorted(rows, key=json.dumps)], ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _read(path: Path, key: str) -> set[str] | None:
    """The entry-point plugins implementing the hook, from a valid record for
    ``key``; ``None`` for anything else."""
    try:
        with open(path, "rb") as stream:
            raw = stream.read(_MOST_BYTES + 1)
        if len(raw) > _MOST_BYTES:
            return None
        data: Any = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
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


def _write(path: Path, key: str, plugins: set[str]) -> None:
    """Record ``plugins`` for ``key``, atomically; silently nothing when the
    folder cannot be written."""
    record = {"format": _FORMAT, "version": _VERSION, "key": key, "plugins": sorted(plugins)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as stream:
                json.dump(record, stream)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass  # no cache: the next run builds the host again


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
        _write(path, key, _implementing(host))
    return pack


def _built_in() -> RulePack:
    from ..rules.weihai2013 import default_pack

    return default_pack()


def _implementing(host: Any) -> set[str]:
    """The names of the registered plugins (built-in or not) that implement
    the rule-pack hook."""
    manager = host.manager
    names = set()
    for impl in getattr(manager.hook, _HOOK).get_hookimpls():
        names.add(str(manager.get_name(impl.plugin)))
    return names
