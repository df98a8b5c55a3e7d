"""The pages: one Flask Blueprint ``bp`` per module, registered by
:func:`pension_collect_web.app.create_app`."""
