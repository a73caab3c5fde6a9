"""A station's database put back from a backup: the marks that let it go on syncing.

A station restored from its own backup (the usual fix for a dead SD card) numbers its next
changes, and the ids of its next records, from the backup's highest: the numbers and ids its lost
database had already given, and pushed to the hub, after the backup was taken. The hub would take
its next changes for repeats of others (and refuse them), and its next patient for the patient
the lost database had under that id.

So ``balance-station restore`` marks the database it puts back (:func:`mark`, in the copy it
checks, before it replaces anything): a new random id, the backup's highest change number, its
first queued change and the highest id of each kind of record it pushes (:data:`COUNTED`), in the
``settings`` row :data:`SETTING` (never a dashboard setting). The station's next sync tells the
hub first (:mod:`station.sync.station_restore`): the hub forgets what it applied beyond those
numbers (the records themselves stay on the hub) and takes the station's changes from there on
(the backup's queue again, then the new ones), as a new epoch of the same station; the mark is
then kept as told (``told``), so that it is told once.
"""

from __future__ import annotations

import json
import secrets
import sqlite3

from station.store.outbox import ACKNOWLEDGED_SETTING

SETTING = "sync_restored"
COUNTED = {"patient": "patients", "session": "sessions", "trial": "trials", "training": "training_sessions",
           "programme": "programme_assignments", "audit": "audit_log"}
"""Each kind of record a station pushes (as the hub maps it: ``hub_id_map.entity``), and its table."""


def _highest(conn: sqlite3.Connection, table: str) -> int:
    """The highest id ``table`` ever gave (SQLite's AUTOINCREMENT counter, else its highest row); 0
    when the database has no such table (a backup from before it)."""
    try:
        row = conn.execute("SELECT coalesce(max(id), 0) FROM " + table).fetchone()
        counter = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    except sqlite3.OperationalError:
        return 0
    return max(int(row[0]), int(counter[0]) if counter is not None else 0)


def marks_of(conn: sqlite3.Connection) -> dict | None:
    """The marks of the station database open in ``conn`` (a backup): ``{"seq", "queued_from",
    "ids": {entity: highest id}}`` (``queued_from``: its first queued change, None for an empty
    queue), or None for a database without a sync outbox (nothing of it was ever pushed)."""
    has_outbox = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sync_outbox'").fetchone()
    if has_outbox is None:
        return None
    queued_from = conn.execute("SELECT min(seq) FROM sync_outbox").fetchone()[0]
    return {"seq": _highest_seq(conn), "queued_from": None if queued_from is None else int(queued_from),
            "ids": {entity: _highest(conn, table) for entity, table in COUNTED.items()}}


def _highest_seq(conn: sqlite3.Connection) -> int:
    counter = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'sync_outbox'").fetchone()
    queued = conn.execute("SELECT coalesce(max(seq), 0) FROM sync_outbox").fetchone()[0]
    return max(int(queued), int(counter[0]) if counter is not None else 0)


def mark(conn: sqlite3.Connection, now_iso: str, marks: dict | None = None) -> dict | None:
    """Mark the station database open in ``conn`` as restored from a backup whose marks are
    ``marks`` (:func:`marks_of`; by default its own: a backup about to be restored): the mark
    ``{"id", "seq", "ids", "told": false}`` it now holds, or None for a backup without a sync outbox."""
    marks = marks_of(conn) if marks is None else marks
    if marks is None:
        return None
    restored = {"id": secrets.token_hex(16), **marks, "told": False}
    conn.execute("INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, 'restore')"
                 " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,"
                 " updated_by = excluded.updated_by", (SETTING, json.dumps(restored), now_iso))
    return restored


def read(conn) -> dict | None:
    """The database's restore mark (None: never restored, or restored by software before marks)."""
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (SETTING,)).fetchone()
    if row is None:
        return None
    value = json.loads(row[0])
    return value if isinstance(value, dict) and isinstance(value.get("id"), str) else None


SENT_SETTING = "sync_restores_sent"
"""``settings`` key: the ids of the restore marks this database sent the hub (JSON list, the last
:data:`SENT_KEPT`), carried by its backups: a restore the hub confirmed that is not among them (nor
the database's own mark) was never this station's (:func:`own_ids`)."""
SENT_KEPT = 100


def note_sent(conn, mark_id: str, now_iso: str) -> None:
    """Keep ``mark_id`` as sent to the hub (before it is sent: a notice whose answer is lost was
    sent all the same)."""
    sent = _sent(conn)
    if mark_id in sent:
        return
    value = json.dumps((sent + [mark_id])[-SENT_KEPT:])
    conn.execute("INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, 'sync')"
                 " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                 (SENT_SETTING, value, now_iso))


def carry_sent(conn, replaced: sqlite3.Connection, now_iso: str) -> None:
    """Keep as sent, in the database open in ``conn`` (a backup about to be restored), the restores
    the database it replaces (open in ``replaced``) sent or holds as its own mark: the backup may be
    older than them, and the hub may name one of them (:func:`station.sync.station_restore.check_named`)."""
    for mark_id in sorted(own_ids(replaced) - own_ids(conn)):
        note_sent(conn, mark_id, now_iso)


def _sent(conn) -> list[str]:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (SENT_SETTING,)).fetchone()
    value = json.loads(row[0]) if row is not None else []
    return [i for i in value if isinstance(i, str)] if isinstance(value, list) else []


def own_ids(conn) -> set[str]:
    """The ids of the restores this database sent the hub, and of its own mark (told by software
    before :data:`SENT_SETTING`, or not sent yet), lower case."""
    own = {i.lower() for i in _sent(conn)}
    mark_ = read(conn)
    if mark_ is not None:
        own.add(mark_["id"].lower())
    return own


def set_told(conn, mark_id: str, now_iso: str) -> None:
    """The hub took the mark ``mark_id`` (its new epoch of this station began)."""
    value = read(conn)
    if value is not None and value["id"] == mark_id:
        conn.execute("UPDATE settings SET value = ?, updated_at = ? WHERE key = ?",
                     (json.dumps({**value, "told": True}), now_iso, SETTING))


HELD = (("session", "sessions", "started_at"), ("trial", "trials", "started_at"))
"""The records whose start a restored station shows the hub with its mark (:func:`held_above`): the
hub keeps them as sent, so one it maps above the mark with the same start was not lost."""
HELD_SHOWN = 100


def held_above(conn, restored: dict) -> dict:
    """``{entity: [[id, started_at], ...]}``: the first :data:`HELD_SHOWN` visits and trials of the
    database open in ``conn`` with ids above its mark ``restored`` (:func:`read`), for the hub to
    check that they are not the ones it holds from the lost database
    (:func:`station.sync.hub_restore.notice`)."""
    return {entity: [[int(i), at] for i, at in conn.execute(
        f"SELECT id, {column} FROM {table} WHERE id > ? ORDER BY id LIMIT {HELD_SHOWN}",
        (int(restored["ids"].get(entity, 0)),))] for entity, table, column in HELD}


def queued_above(conn, restored: dict) -> list[list]:
    """``[[seq, at], ...]``: the first :data:`HELD_SHOWN` changes queued in the database open in
    ``conn`` above its mark ``restored``'s change number, with their time: a database put back from
    that backup made each of them after the restore, so the hub cannot hold one of them as it is;
    one it holds with the same number and time reached it from the database that was not lost, and
    the backup is older than the one the database came from (:func:`station.sync.hub_restore.notice`).
    That is how an older backup is found when nothing after it was acknowledged (:func:`check_base`
    cannot tell then)."""
    return [[int(seq), at] for seq, at in conn.execute(
        f"SELECT seq, at FROM sync_outbox WHERE seq > ? ORDER BY seq LIMIT {HELD_SHOWN}", (int(restored.get("seq") or 0),))]


def clear(conn) -> bool:
    """Drop the database's restore mark not yet told (it was not restored: ``sync --not-restored``);
    whether there was one."""
    value = read(conn)
    if value is None or value.get("told"):
        return False
    conn.execute("DELETE FROM settings WHERE key = ?", (SETTING,))
    return True


IMMUTABLE = (("patient", "patients", "created_at"), ("trial", "trials", "started_at"))
"""Records a backup shares with the database restored from it, by id, and what never changes of them."""


def _acknowledged(conn) -> int | None:
    """The last change number the hub acknowledged to the database open in ``conn``
    (:data:`station.store.outbox.ACKNOWLEDGED_SETTING`; None: not kept)."""
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (ACKNOWLEDGED_SETTING,)).fetchone()
    value = json.loads(row[0]) if row is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check_base(backup_conn, current_conn, station: str) -> dict:
    """The marks of the backup open in ``backup_conn`` (:func:`marks_of`), if it can be the one the
    station database open in ``current_conn`` (of ``station``) was restored from: the same
    station's, holding no more changes nor records than it, each of its patients and trials
    still here the same record (made at the same time), not another that a later backup of the
    lost database gave the same id, and none of the database's changes after the backup's
    acknowledged by the hub (a database put back from it gives those numbers again, which the hub
    refuses: acknowledged, they are its own, made after the backup, and an older backup of a
    database never restored is no base). ValueError (what is wrong, what to do) otherwise."""
    backup = marks_of(backup_conn)
    if backup is None:
        raise ValueError("the backup is from before this station synced: nothing of it was pushed, so there is "
                         "nothing to tell the hub; run `balance-station sync --once`")
    current = marks_of(current_conn)
    row = backup_conn.execute("SELECT station_id FROM sync_identity").fetchone()
    if row is None or row[0] != station:
        raise ValueError(f"the backup is of another station ({'none' if row is None else row[0]}, this one is "
                         f"{station}); give the backup this station's database was restored from "
                         "(`balance-station backup --list`)")
    acknowledged = _acknowledged(current_conn)
    if acknowledged is not None and acknowledged > backup["seq"]:
        # a database put back from this backup gives its numbers after the backup's again, which the
        # hub refuses: none of them can have been acknowledged. These were: they are this database's own
        raise ValueError(f"this database is not a restore of that backup: the hub acknowledged this database's changes "
                         f"up to #{acknowledged}, after the backup's last change #{backup['seq']}, so what was recorded "
                         "here after the backup reached the hub and nothing of it was lost; nothing was marked. If the "
                         "hub refuses this station, `balance-station sync --show-blocked` says why; if the database "
                         "was put back from another backup, give that one (`balance-station backup --list`)")
    beyond = [f"{entity} #{backup['ids'][entity]}" for entity in COUNTED if backup["ids"][entity] > current["ids"][entity]]
    if backup["seq"] > current["seq"]:
        beyond.insert(0, f"change #{backup['seq']}")
    for entity, table, column in IMMUTABLE:
        here = dict(current_conn.execute(f"SELECT id, {column} FROM {table}").fetchall())
        other = next((i for i, v in backup_conn.execute(f"SELECT id, {column} FROM {table}") if i in here
                      and here[i] != v), None)
        if other is not None:
            beyond.append(f"its {entity} #{other} is another record than this database's")
    if beyond:
        raise ValueError(f"the backup is not the one this database was restored from ({', '.join(beyond)}): give "
                         "that one (`balance-station backup --list`; the one taken before the database was put back)")
    return backup
