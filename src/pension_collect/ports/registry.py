"""One registry behaviour for everything a plugin hook registers.

Every ``pension_collect_register_*`` hook receives a :class:`Registry` (or a
subclass adding the convenience its contract needs) and adds to it by name:

* a built-in registers with ``default=True``; a plugin registering the same
  name replaces it, whichever of the two registered first;
* two plugins (or two built-ins) claiming one name is a :class:`PluginError`;
* the plugin host freezes the registry once the hook has run: later
  ``add`` calls are a :class:`PluginError` (registration happens in the hook);
* :meth:`Registry.get` of a name nobody registered raises the registry's own
  "unknown" error (a ``LookupError`` subclass of :class:`PensionCollectError`).

Names are looked up as given, or as normalised by the subclass (URL schemes
are lower-cased).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Generic, TypeVar

from ..errors import PensionCollectError, PluginError

__all__ = ["Registry", "UnknownEntry", "split_scheme"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Things of one kind by name, filled by one hook, frozen after it."""

    #: What the registry holds, for messages: ``"renderer"``, ``"storage scheme"`` ...
    what: str = "entry"

    def __init__(self) -> None:
        self._items: dict[str, T] = {}
        self._defaults: set[str] = set()
        self._frozen = False

    # -- hooks for subclasses ---------------------------------------------------

    def normalize(self, name: str) -> str:
        """The key ``name`` is stored and looked up under (default: as given)."""
        return name

    def validate(self, name: str, item: T) -> None:
        """Raise :class:`PluginError` when ``item`` cannot serve (default: accept)."""

    def unknown(self, name: str) -> PensionCollectError:
        """The error :meth:`get` raises for a name nobody registered."""
        return UnknownEntry(self.what, name, self.names())

    # -- the behaviour ------------------------------------------------------------

    def add(self, name: str, item: T, *, default: bool = False) -> None:
        """Register ``item`` under ``name``.

        Built-ins pass ``default=True``: a plugin's registration of the same
        name replaces theirs, in either order. Two plugins claiming one name is
        a :class:`PluginError`, and so is any ``add`` after the host froze the
        registry.
        """
        if self._frozen:
            raise PluginError(
                f"{self.what} {name!r} registered after set-up; "
                f"register it from the plugin hook instead"
            )
        if not isinstance(name, str) or not name:
            raise PluginError(f"a {self.what} needs a non-empty name, not {name!r}")
        self.validate(name, item)
        key = self.normalize(name)
        if key in self._items:
            existing_is_default = key in self._defaults
            if default and not existing_is_default:
                return  # a plugin already replaced the built-in
            if default == existing_is_default:
                raise PluginError(f"two plugins register a {self.what} named {key!r}")
        self._items[key] = item
        if default:
            self._defaults.add(key)
        else:
            self._defaults.discard(key)

    def freeze(self) -> None:
        """Close registration (the plugin host calls this after the hook ran)."""
        self._frozen = True

    @property
    def frozen(self) -> bool:
        """Whether registration is closed."""
        return self._frozen

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        return sorted(self._items)

    def get(self, name: str) -> T:
        """The entry called ``name``; the registry's "unknown" error if none is."""
        try:
            return self._items[self.normalize(name)]
        except KeyError:
            raise self.unknown(name) from None

    def is_default(self, name: str) -> bool:
        """Whether ``name`` is served by a built-in (not replaced by a plugin)."""
        return self.normalize(name) in self._defaults

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.normalize(name) in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        state = "frozen" if self._frozen else "open"
        return f"<{type(self).__name__} {state}: {', '.join(self.names()) or 'empty'}>"


class UnknownEntry(PensionCollectError, LookupError):
    """A name no plugin registers (the generic "unknown" error of a registry)."""

    code = "plugins.unknown"

    def __init__(self, what: str, name: str, available: Sequence[str]) -> None:
        self.what = what
        self.name = name
        self.available = tuple(sorted(available))
        super().__init__(
            f"no {what} named {name!r}; available: {', '.join(self.available) or 'none'}"
        )


def split_scheme(url: str) -> str | None:
    """The lower-cased scheme of a store or bureau URL (``"sqlite"`` for
    ``sqlite:///x.db``), or ``None`` when ``url`` has none."""
    if not isinstance(url, str):
        return None
    scheme, sep, _ = url.partition(":")
    if not sep or not scheme:
        return None
    return scheme.lower()
