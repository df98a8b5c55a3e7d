"""Plugins used by tests/test_plugins.py: plain modules, registered without installing."""
