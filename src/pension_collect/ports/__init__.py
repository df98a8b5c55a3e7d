"""The contracts plugins implement, in one place (docs/architecture.md, docs/plugins.md).

- :mod:`pension_collect.ports.registry`: ``Registry[T]``, the one behaviour of
  every registry a hook fills in;
- :mod:`pension_collect.ports.storage`: the storage contract (``memory:``,
  ``sqlite:///...`` and plugins' stores);
- :mod:`pension_collect.ports.transport`: the bureau protocol and transports;
- :mod:`pension_collect.ports.forms`: the forms' view model, the renderer
  protocol and the QR payload;
- :mod:`pension_collect.ports.events`: the events the workflow fires;
- :mod:`pension_collect.ports.rulepacks`: the registry of rule packs.

Importing this package imports none of them.
"""
