"""The reference bureau served over HTTP (docs/bureau-server.md): ``app`` (the
Flask application), ``auth`` (accounts, passwords, limits, tokens),
``errors`` (the JSON errors), ``runner`` (gunicorn). Needs the ``server`` extra.
This package imports nothing: import the module you need."""
