"""Built-in adapters, registered as plugins like any third-party one.

``memory`` and ``sqlite`` (storage), ``local_transport`` (the reference
bureau in-process); see docs/storage.md and docs/bureau.md.
"""
