"""The store's schema migrations on PostgreSQL: the station's migrations, versioned the same way.

The hub's schema is the station's latest: the same :data:`~station.store.migrations.MIGRATIONS`,
each one's statements translated by :func:`~station.store.dialect.ddl_to_postgres` (or its
``postgres`` variant where the dialects truly differ, e.g. migration 3, whose table rebuild only
SQLite needs: identity columns never reuse ids). The first migration also creates the SQL
functions that keep queries one text (:data:`~station.store.dialect.POSTGRES_FUNCTIONS`).

The version lives in the one-row table ``station_schema_version`` (SQLite's ``PRAGMA
user_version``). Each migration runs in one transaction with its new version, holding the
writer's advisory lock (:data:`~station.store.pg.WRITER_LOCK_KEY`): applied completely or not at
all, never twice by two processes starting together (PostgreSQL's DDL is transactional). A
database of a newer schema is refused untouched.
"""

from __future__ import annotations

from station.store.db import StoreError
from station.store.dialect import POSTGRES_FUNCTIONS, ddl_to_postgres
from station.store.migrations import MIGRATIONS, Migration

VERSION_TABLE = "station_schema_version"

_CREATE_VERSION_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} ("
    " single BOOLEAN PRIMARY KEY DEFAULT true CHECK (single),"
    " version INTEGER NOT NULL)"
)


def postgres_statements(migration: Migration) -> list[str]:
    """The PostgreSQL statements of ``migration`` (its variant, else its translation).

    >>> postgres_statements(MIGRATIONS[2])   # migration 3 rebuilds tables on SQLite only
    []
    """
    if migration.postgres is not None:
        statements = list(migration.postgres)
    else:
        statements = [pg for statement in migration.statements for pg in ddl_to_postgres(statement)]
    if migration.version == 1:
        statements = list(POSTGRES_FUNCTIONS) + statements
    return statements


def schema_version(conn) -> int:
    """The schema version of the database of ``conn`` (a :class:`~station.store.pg.PgConnection`);
    0 if it has none yet."""
    if not _has_version_table(conn):
        return 0
    row = conn.raw.execute(f"SELECT version FROM {VERSION_TABLE}").fetchone()
    return int(row[0]) if row else 0


def _has_version_table(conn) -> bool:
    return conn.raw.execute("SELECT to_regclass(%s) IS NOT NULL", (VERSION_TABLE,)).fetchone()[0]


def migrate_postgres(conn, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Bring the database of ``conn`` (autocommit, outside a transaction) to the latest schema;
    return the versions applied.

    Raises
    ------
    StoreError
        The database is newer than this software, or a migration failed (nothing of it applied).
    """
    from station.store.pg import WRITER_LOCK_KEY

    translated = {m.version: postgres_statements(m) for m in migrations}  # untranslatable: fail before any change
    latest = migrations[-1].version
    applied: list[int] = []
    if schema_version(conn) == latest:  # the usual start: one look, no lock
        return applied
    for migration in (None,) + tuple(migrations):
        conn.raw.execute("BEGIN")
        try:
            conn.raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK_KEY,))
            if migration is None:  # the version table itself
                conn.raw.execute(_CREATE_VERSION_TABLE)
                current = schema_version(conn)
                if current > latest:
                    raise StoreError(
                        f"the database has schema version {current}, newer than this software knows "
                        f"({latest}); install the station version that wrote it or a newer one"
                    )
                conn.raw.execute("COMMIT")
                continue
            current = schema_version(conn)  # another process may have migrated meanwhile
            if migration.version <= current:
                conn.raw.execute("COMMIT")
                continue
            if migration.version != current + 1:
                raise StoreError(f"schema migration {migration.version} cannot follow version {current}")
            for statement in translated[migration.version]:
                conn.raw.execute(statement)
            conn.raw.execute(
                f"INSERT INTO {VERSION_TABLE} (single, version) VALUES (true, %s)"
                " ON CONFLICT (single) DO UPDATE SET version = excluded.version",
                (migration.version,),
            )
            conn.raw.execute("COMMIT")
        except BaseException as exc:
            if not conn.broken:
                conn.raw.execute("ROLLBACK")
            if isinstance(exc, StoreError):
                raise
            import psycopg

            if isinstance(exc, psycopg.Error):
                what = f"schema migration {migration.version} ({migration.description})" if migration else \
                    "creating the schema version table"
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise StoreError(f"{what} failed: {first}; the database was left as it was") from exc
            raise
        applied.append(migration.version)
    return applied
