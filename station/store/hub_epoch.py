"""The hub database's epoch: which life of the hub's database a station synced with.

Stations keep cursors in the hub's numbering (erasure tombstone ids, trial ids of the histories
they pull, audit entry ids of judgements). A hub restored from an older backup hands out those
numbers again: an erasure made after the restore takes an id at or below a station's cursor, and
that station would skip it and keep the erased patient's data for good.

So the hub's database carries an epoch in its ``settings`` table (key :data:`SETTING`, never a
dashboard setting): a random id and the highest number of each kind when the epoch began
(``tombstones``, ``sessions``, ``trials``, ``audit``). The hub makes one at its first start;
``balance-station restore --database`` renames it to :data:`RESTORED_SETTING` in the restore's
transaction, and the hub's next start makes a new epoch whose numbers are the backup's highest,
with the restored epoch as ``previous``. A station that sees another epoch goes back with each
cursor to the epoch's number (:mod:`station.sync.syncer`): the backup is a prefix of the database
it was taken of, so what lies below it has, with the same ids; what lies above is new to it. A
station that synced with neither the restored epoch nor the new one goes back to the lower of the
two epochs' numbers (the backup may hold records of the restored epoch it never saw).

An erasure made after the backup would come back with the restore (the patient restored with
it): the restore keeps the tombstones' values (the identifiers' hashes keyed with the clinic key,
or plain from older software: station.store.erasure_key) of the erasures the replaced database held beyond
the backup's (:data:`REDO_SETTING`), and the hub's next start erases those patients again, each
leaving a new tombstone that the stations take.
"""

from __future__ import annotations

import json
import secrets

SETTING = "hub_epoch"
RESTORED_SETTING = "hub_epoch_restored"
"""The epoch of a database restored from a backup, until the hub's next start replaces it."""
REDO_SETTING = "hub_erasures_to_redo"
"""The tombstone values (keyed, or plain from older software) of erasures the database held before a
restore that the backup did not:
the hub's next start erases those patients again (:func:`erasures_to_redo`)."""
COUNTED = {"tombstones": "hub_tombstones", "sessions": "sessions", "trials": "trials", "audit": "audit_log"}
"""Each number an epoch keeps, and the table whose highest id it is."""


def ensure(conn, now_iso: str) -> dict:
    """The database's epoch ``{"id", "tombstones", "sessions", "trials", "audit"}`` (ids: the
    highest of each when it began), made in the open write transaction ``conn`` if it has none
    (first start, or the first start after a restore: then also ``previous``, the restored
    database's epoch, whose numbers a station that never synced with it goes back to)."""
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (SETTING,)).fetchone()
    if row is not None:
        return json.loads(row[0])
    epoch = {"id": secrets.token_hex(16)}
    for name, table in COUNTED.items():
        epoch[name] = int(conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0])
    restored = conn.execute("SELECT value FROM settings WHERE key = ?", (RESTORED_SETTING,)).fetchone()
    if restored is not None:
        before = json.loads(restored[0])
        epoch["previous"] = {"id": str(before.get("id")), **{name: int(before.get(name, 0)) for name in COUNTED}}
        conn.execute("DELETE FROM settings WHERE key = ?", (RESTORED_SETTING,))
    conn.execute("INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, 'hub')",
                 (SETTING, json.dumps(epoch), now_iso))
    return epoch


MARK_RESTORED_SQL = (
    f"DELETE FROM settings WHERE key = '{RESTORED_SETTING}' AND EXISTS (SELECT 1 FROM settings WHERE key = '{SETTING}')",
    f"UPDATE settings SET key = '{RESTORED_SETTING}' WHERE key = '{SETTING}'",
)
"""What a restore runs in its transaction, in order (no parameters: both dialects, any driver):
the restored database's epoch is over; the hub's next start makes the next one (:func:`ensure`)."""


def erasures_to_redo(conn) -> list[str]:
    """The tombstone values (keyed, or plain from older software) a restore left to erase again (none: ``[]``)."""
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (REDO_SETTING,)).fetchone()
    return [] if row is None else [h for h in json.loads(row[0]) if isinstance(h, str)]


def forget_erasures_to_redo(conn) -> None:
    conn.execute("DELETE FROM settings WHERE key = ?", (REDO_SETTING,))
