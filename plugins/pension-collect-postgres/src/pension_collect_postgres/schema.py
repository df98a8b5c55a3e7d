"""The PostgreSQL schema of a store and its forward migrations.

All tables live in one PostgreSQL schema (``pension_collect`` unless the
store is opened with another): ``schema_version`` (one row per applied
migration: the version table), ``records`` and ``audit``. ``MIGRATIONS[i]``
brings version ``i`` to ``i + 1``; :data:`SCHEMA_VERSION` is the version this
release writes. Each statement is a template whose ``{s}`` is the quoted
schema name.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SETTING"]

#: The session setting that scopes a connection to one employer (row-level security).
SETTING = "pension_collect.unit_no"

_SCOPE = f"coalesce(current_setting('{SETTING}', true), '') IN ('', unit_no)"

_V1 = (
    # keys compare byte by byte (COLLATE "C"), as in SQLite: list() orders by key
    """CREATE TABLE {s}.records (
        unit_no text COLLATE "C" NOT NULL,
        kind text COLLATE "C" NOT NULL,
        key text COLLATE "C" NOT NULL,
        version integer NOT NULL CHECK (version >= 1),
        data jsonb NOT NULL CHECK (jsonb_typeof(data) = 'object'),
        PRIMARY KEY (unit_no, kind, key)
    )""",
    # before/after are read back whole, never queried: json keeps them verbatim
    """CREATE TABLE {s}.audit (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at text NOT NULL,
        actor text NOT NULL,
        unit_no text COLLATE "C" NOT NULL,
        action text NOT NULL,
        subject_kind text COLLATE "C" NOT NULL,
        subject_key text COLLATE "C" NOT NULL,
        declaration text COLLATE "C",
        message text NOT NULL,
        before json,
        after json
    )""",
)

_V2 = (
    # the workflow's lookups: the log per worker and per declaration
    "CREATE INDEX audit_subject ON {s}.audit (unit_no, subject_kind, subject_key, seq)",
    "CREATE INDEX audit_declaration ON {s}.audit (unit_no, declaration, seq) "
    "WHERE declaration IS NOT NULL",
    # an overview across employers: workers by status, declarations by state
    "CREATE INDEX records_worker_status ON {s}.records (unit_no, (data->>'status')) "
    "WHERE kind = 'worker'",
    "CREATE INDEX records_declaration_state ON {s}.records (unit_no, (data->>'state')) "
    "WHERE kind = 'declaration'",
    # the audit log is append-only, for other programs too
    """CREATE FUNCTION {s}.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$""",
    "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON {s}.audit "
    "FOR EACH ROW EXECUTE FUNCTION {s}.audit_append_only()",
    "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON {s}.audit "
    "FOR EACH STATEMENT EXECUTE FUNCTION {s}.audit_append_only()",
    # a connection scoped to one employer sees and changes only its rows
    "ALTER TABLE {s}.records ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE {s}.records FORCE ROW LEVEL SECURITY",
    f"CREATE POLICY employer_scope ON {{s}}.records USING ({_SCOPE}) WITH CHECK ({_SCOPE})",
    "ALTER TABLE {s}.audit ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE {s}.audit FORCE ROW LEVEL SECURITY",
    f"CREATE POLICY employer_scope ON {{s}}.audit USING ({_SCOPE}) WITH CHECK ({_SCOPE})",
)

#: Forward migrations: ``MIGRATIONS[i]`` (SQL templates) brings version ``i`` to ``i + 1``.
MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2)
#: The schema version this release writes.
SCHEMA_VERSION = len(MIGRATIONS)
