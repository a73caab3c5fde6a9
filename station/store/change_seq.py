"""Change numbers: a counter per kind of record, advanced in the transaction of each change.

A station pulls what changed on the hub since it last asked. Paging that by the hub's wall-clock
time loses changes whenever the hub's clock steps back (an NTP correction): a change then carries
a time before one a station already holds as its cursor, and is never answered. A change number
never steps back: each change of a patient takes the next number of the counter ``patients``
(table ``change_counters``, migration 12) in the change's own transaction, and a station pages
by it (:meth:`station.sync.hub.Hub.patient_updates`).

The numbers follow the order in which changes commit: on SQLite one writer at a time, on
PostgreSQL every write transaction holds the writer's advisory lock
(:data:`station.store.pg.WRITER_LOCK_KEY`) and the counter's row lock besides; so a reader that
saw change ``n`` has seen every change below ``n``. (A PostgreSQL sequence would not promise
that: its numbers are taken outside the transaction's commit order.)
"""

from __future__ import annotations

PATIENTS = "patients"
"""The counter of patients' changes: named as the table whose ``change_seq`` column it numbers."""


def next_number(conn, counter: str = PATIENTS) -> int:
    """Advance ``counter`` in the open write transaction ``conn``; its new value (1, 2, ...). A
    counter row that is missing (a database emptied table by table) starts again above the
    highest number its table holds, never below it."""
    conn.execute(f"INSERT OR IGNORE INTO change_counters (name, value) SELECT ?, coalesce(max(change_seq), 0)"
                 f" FROM {counter}", (counter,))
    conn.execute("UPDATE change_counters SET value = value + 1 WHERE name = ?", (counter,))
    return int(conn.execute("SELECT value FROM change_counters WHERE name = ?", (counter,)).fetchone()[0])


def current(conn, counter: str = PATIENTS) -> int:
    """The last number ``counter`` gave (0: none yet)."""
    row = conn.execute("SELECT value FROM change_counters WHERE name = ?", (counter,)).fetchone()
    return 0 if row is None else int(row[0])
