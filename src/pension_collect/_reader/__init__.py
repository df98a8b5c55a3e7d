"""The dossier readers beside the one in :mod:`pension_collect.dossier` (docs/dossier.md).

- :mod:`pension_collect._reader.fast`: the typed one-pass reader, msgspec
  decoding the file straight into typed mirrors of the model's records
  (the fast path when msgspec is installed);
- :mod:`pension_collect._reader.stream`: the streaming reader, worker by
  worker through ijson (its C backend), for dossiers larger than memory.

Both produce the model's attrs records; neither explains a refusal: the
detailed reader of :mod:`pension_collect.dossier` does, with every problem's
path. Like the other package ``__init__`` files, this one imports nothing.
"""
