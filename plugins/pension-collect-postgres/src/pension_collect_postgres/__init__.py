"""PostgreSQL storage for pension_collect: ``postgresql://`` URLs (see README.md).

The adapter is :class:`PostgresStorage` (module
:mod:`pension_collect_postgres.storage`), its schema and migrations are in
:mod:`pension_collect_postgres.schema`, the plugin module registering the
schemes is :mod:`pension_collect_postgres.plugin`, and
:mod:`pension_collect_postgres.testing` starts a throwaway server for tests.
Importing this package imports psycopg.
"""

from __future__ import annotations

from .schema import MIGRATIONS, SCHEMA_VERSION
from .storage import (
    DEFAULT_SCHEMA,
    SCHEMES,
    EmployerScopeError,
    PostgresStorage,
    PostgresTransaction,
    public_url,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_SCHEMA",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SCHEMES",
    "EmployerScopeError",
    "PostgresStorage",
    "PostgresTransaction",
    "__version__",
    "public_url",
]
