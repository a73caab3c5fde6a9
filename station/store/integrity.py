"""Checks of the stored records themselves, beyond the database engine's own: rows that refer to
rows that are gone (orphans) and trials whose stored frames do not add up to their frame count.

Used by ``balance-station check`` and by the restore of a hub backup (:mod:`station.store.pg_backup`),
on both backends. Each check returns a list of one-line problems (``[]``: none), naming tables and
row ids only, never patient data.

>>> import sqlite3
>>> conn = sqlite3.connect(":memory:")
>>> _ = conn.execute("CREATE TABLE trials (id INTEGER PRIMARY KEY, status TEXT, frame_count INTEGER)")
>>> _ = conn.execute("CREATE TABLE trial_chunks (trial_id INTEGER, n_frames INTEGER)")
>>> _ = conn.execute("INSERT INTO trials VALUES (1, 'complete', 900), (2, 'complete', 10)")
>>> _ = conn.execute("INSERT INTO trial_chunks VALUES (1, 900), (2, 4)")
>>> frame_count_problems(conn)
['trial 2: 4 frames stored, its frame count says 10']
"""

from __future__ import annotations

MAX_LISTED = 5
"""How many rows a problem names before it says "and N more"."""


def _listed(ids: list, total: int) -> str:
    shown = ", ".join(str(i) for i in ids[:MAX_LISTED])
    return shown + (f" and {total - MAX_LISTED} more" if total > MAX_LISTED else "")


def frame_count_problems(conn) -> list[str]:
    """Trials that have ended (not ``recording``) whose chunks hold another number of frames than
    their ``frame_count`` (frames lost from the database, or chunks of another trial)."""
    rows = conn.execute(
        "SELECT t.id, t.frame_count, coalesce(c.n, 0) AS stored FROM trials t"
        " LEFT JOIN (SELECT trial_id, sum(n_frames) AS n FROM trial_chunks GROUP BY trial_id) c ON c.trial_id = t.id"
        " WHERE t.status <> 'recording' AND coalesce(c.n, 0) <> t.frame_count ORDER BY t.id"
    ).fetchall()
    if len(rows) == 1:
        tid, count, stored = rows[0][0], rows[0][1], rows[0][2]
        return [f"trial {tid}: {stored} frames stored, its frame count says {count}"]
    if rows:
        return [f"{len(rows)} trials whose stored frames differ from their frame count: trials "
                f"{_listed([r[0] for r in rows], len(rows))}"]
    return []


def sqlite_orphan_problems(conn) -> list[str]:
    """SQLite's ``PRAGMA foreign_key_check``, one line per table with orphans."""
    by_table: dict[str, list] = {}
    for row in conn.execute("PRAGMA foreign_key_check").fetchall():
        by_table.setdefault(row[0], []).append(row[1])
    return [f"{len(ids)} rows of {table} refer to rows that are gone (rowids {_listed(ids, len(ids))})"
            for table, ids in sorted(by_table.items())]


_PG_FOREIGN_KEYS = """
SELECT c.conname, child.relname, parent.relname,
       array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
       array(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)
FROM pg_constraint c
JOIN pg_class child ON child.oid = c.conrelid
JOIN pg_class parent ON parent.oid = c.confrelid
JOIN pg_namespace ns ON ns.oid = child.relnamespace
WHERE c.contype = 'f' AND ns.nspname = %s
ORDER BY child.relname, c.conname
"""


def postgres_orphan_problems(raw, schema: str = "public") -> list[str]:
    """Rows of ``schema`` whose foreign keys point at rows that are gone (PostgreSQL enforces them,
    but a restore or a session with ``session_replication_role = replica`` skips the checks), one
    line per foreign key. ``raw`` is a psycopg connection."""
    from psycopg import sql

    problems = []
    for name, child, parent, columns, parent_columns in raw.execute(_PG_FOREIGN_KEYS, (schema,)).fetchall():
        present = sql.SQL(" AND ").join(sql.SQL("c.{} IS NOT NULL").format(sql.Identifier(col)) for col in columns)
        matches = sql.SQL(" AND ").join(
            sql.SQL("p.{} = c.{}").format(sql.Identifier(pcol), sql.Identifier(col))
            for col, pcol in zip(columns, parent_columns))
        query = sql.SQL("SELECT count(*) FROM {}.{} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {}.{} p WHERE {})").format(
            sql.Identifier(schema), sql.Identifier(child), present, sql.Identifier(schema), sql.Identifier(parent),
            matches)
        count = raw.execute(query).fetchone()[0]
        if count:
            problems.append(f"{count} rows of {child} refer to {parent} rows that are gone ({name})")
    return problems
