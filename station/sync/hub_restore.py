"""The hub's side of a station restored from its own backup: a notice held until an administrator confirms it.

A station restored from its backup (:mod:`station.store.restore_marks`) tells the hub at its next
sync (``POST /api/hub/station-restored``, :mod:`station.sync.station_restore`). Taking that notice
makes the hub forget which of the station's change numbers and record ids above the backup's it
applied, so the station's word alone must not do it: a stolen token, or a database marked with the
wrong backup, would make every record of the station come again as a new one, on the hub and back
on the station. So the hub only *holds* the notice (:func:`notice`: one per station, the latest)
and refuses the station's sync (``409``, in words naming the command) until a hub administrator
confirms it (:func:`confirm`: ``balance-station hub stations confirm-restore NAME``), a rare,
hands-on event; ``hub stations list`` and the hub's stations page show the notice waiting. A
station that was not restored has a leaked token: revoking it drops the notice (:func:`drop_pending`).

On confirmation, in one transaction, the hub forgets what it applied of the station above the
mark (the lost database's change numbers, the ids it gave its records, frame parts of its trials
not pushed) and the changes from the backup's first queued one on, which the station sends again;
the records themselves stay on the hub. Audited ``sync.station_restored`` by the administrator.
Every confirmed mark id is kept, so a mark sent again (its answer lost, or replayed) changes
nothing again; the station's next notice of it is answered with what was forgotten, once.

The state is one ``settings`` row per station, ``hub_station_restores:<station row id>``:
``{"taken": {mark id: {...}}, "pending": {...} | null}`` (a hub of the first version kept a list of
the last 20 ids taken; read as taken).
"""

from __future__ import annotations

import json
import string

from station.store.audit import Actor
from station.store.db import Conflict, ValidationError
from station.store.timefmt import utc_iso
from station.sync import refused

SETTING = "hub_station_restores"
ENTITIES = ("patient", "session", "trial", "training", "programme", "audit")
"""The kinds of a station's records whose highest id a restore's mark gives
(:data:`station.store.restore_marks.COUNTED`)."""
SHORT = 8
"""The mark id's first characters, as the station's refusal and ``hub stations list`` name it."""


def _whole(doc: dict, key: str, where: str, low: int = 0) -> int:
    value = doc.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value < 2**62:
        raise ValidationError({where + key: "must be a non-negative integer" if low == 0 else f"must be an integer of at least {low}"})
    return value


def check_mark(mark: object) -> dict:
    """The restore mark of a notice, checked: ``{"id", "seq", "queued_from", "ids"}``;
    ValidationError (422) naming the field otherwise."""
    if not isinstance(mark, dict):
        raise ValidationError({"restored": "must be the restore's mark: {id, seq, queued_from, ids}"})
    mark_id = mark.get("id")
    if not isinstance(mark_id, str) or not 8 <= len(mark_id) <= 64 or not all(c in string.hexdigits for c in mark_id):
        raise ValidationError({"restored.id": "must be the restore's id (8 to 64 hex digits)"})
    seq = _whole(mark, "seq", "restored.")
    # a queue's first change is #1 at the least (change numbers start at 1)
    queued_from = None if mark.get("queued_from") is None else _whole(mark, "queued_from", "restored.", low=1)
    ids = mark.get("ids")
    if not isinstance(ids, dict) or set(ids) != set(ENTITIES):
        raise ValidationError({"restored.ids": f"must give the highest id of each of {', '.join(ENTITIES)}"})
    return {"id": mark_id.lower(), "seq": seq, "queued_from": queued_from,
            "ids": {entity: _whole(ids, entity, "restored.ids.") for entity in ENTITIES}}


def _key(station_row: int) -> str:
    return f"{SETTING}:{station_row}"


def _read(conn, station_row: int) -> tuple[bool, dict]:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (_key(station_row),)).fetchone()
    if row is None:
        return False, {"taken": {}, "pending": None}
    value = json.loads(row[0])
    if isinstance(value, list):  # the first version: the last 20 mark ids taken
        return True, {"taken": {str(i): {"delivered": True} for i in value}, "pending": None}
    return True, {"taken": dict(value.get("taken") or {}), "pending": value.get("pending")}


def _write(conn, station_row: int, exists: bool, state: dict, now: str) -> None:
    value = json.dumps(state)
    if exists:
        conn.execute("UPDATE settings SET value = ?, updated_at = ? WHERE key = ?", (value, now, _key(station_row)))
    else:
        conn.execute("INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, 'hub')",
                     (_key(station_row), value, now))


def waiting_words(name: str, pending: dict) -> str:
    """What the hub answers a station whose notice waits, and shows beside it: what the hub's
    administrator runs."""
    return (f"the hub holds this station's notice that its database was restored from a backup (restore "
            f"{pending['id'][:SHORT]}: its changes up to #{pending['seq']}) {refused.RESTORE_WAITING_WORDS}; "
            "nothing of this station syncs meanwhile and what is recorded here stays queued. On the hub, an "
            f"administrator runs `balance-station hub stations confirm-restore {name}` (`balance-station hub stations "
            f"list` shows the notice: it must name restore {pending['id'][:SHORT]}); then this station syncs again")


def notice(hub, station, body: object) -> dict:
    """A station's notice ``{"station_id", "restored": mark}`` (:meth:`station.sync.hub.Hub.station_restored`).
    A mark the administrator confirmed: ``{"last_seq", "forgotten"}`` (``forgotten``: how many of
    its changes the hub forgot, the first time it answers; 0 after). Any other: held as the
    station's waiting notice (replacing one before) and Conflict (409) with :func:`waiting_words`."""
    if not isinstance(body, dict):
        raise ValidationError({"body": "must be a JSON object"})
    hub._bind(station, body.get("station_id"))
    mark = check_mark(body.get("restored"))
    now = utc_iso(hub._now())
    with hub._db.write() as conn:
        last = int(conn.execute("SELECT last_seq FROM hub_stations WHERE id = ?", (station.id,)).fetchone()[0])
        exists, state = _read(conn, station.id)
        taken = state["taken"].get(mark["id"])
        if taken is not None:
            forgotten = 0 if taken.get("delivered") else int(taken.get("forgotten", 0))
            if not taken.get("delivered"):
                taken["delivered"] = True
                _write(conn, station.id, exists, state, now)
            return {"last_seq": last, "forgotten": forgotten}
        pending = state["pending"]
        if pending is None or pending.get("id") != mark["id"]:
            state["pending"] = {**mark, "received_at": now}
            _write(conn, station.id, exists, state, now)
        pending = state["pending"]
    raise Conflict(waiting_words(station.name, pending))


def pending_of(conn, station_row: int) -> dict | None:
    """The notice of the station (its row id) waiting for an administrator, or None."""
    return _read(conn, station_row)[1]["pending"]


def drop_pending(conn, station_row: int, now: str) -> None:
    """Forget the station's waiting notice (its token is revoked: the notice came with it)."""
    exists, state = _read(conn, station_row)
    if state["pending"] is not None:
        state["pending"] = None
        _write(conn, station_row, exists, state, now)


def confirm(hub, name: str, actor: Actor, mark: str | None = None) -> dict:
    """An administrator confirms the waiting notice of station ``name`` (``mark``: the first
    characters of its id, to confirm that one only): the hub forgets what it applied of the
    station above the mark and takes its changes after ``last_seq`` at its next sync. Returns
    ``{"id", "seq", "last_seq", "forgotten"}``; Conflict in words when no notice waits (or another
    than ``mark``); NotFound for an unknown name. Audited ``sync.station_restored`` by ``actor``."""
    station = hub.station_named(name)
    now = utc_iso(hub._now())
    with hub._db.write() as conn:
        exists, state = _read(conn, station.id)
        pending = state["pending"]
        if pending is None:
            raise Conflict(f"station {name!r} has no restore notice waiting: the hub is told by the station's next sync "
                           "after it was restored (`balance-station hub stations list` shows a notice that waits)")
        if mark is not None and not pending["id"].startswith(mark.strip().lower()):
            raise Conflict(f"station {name!r}'s notice waiting is restore {pending['id'][:SHORT]}, not {mark}; nothing "
                           "was confirmed (the station's refusal names its own)")
        seq, queued_from, highest = pending["seq"], pending["queued_from"], pending["ids"]
        # the backup's queue is taken again from its first change: one the lost database skipped
        # (its patient erased there) would otherwise be "a change the hub never had" below the last
        again_from = seq if queued_from is None else min(seq, queued_from - 1)
        last = int(conn.execute("SELECT last_seq FROM hub_stations WHERE id = ?", (station.id,)).fetchone()[0])
        forgotten = int(conn.execute("SELECT count(*) FROM hub_applied WHERE station = ? AND seq > ?",
                                     (station.id, seq)).fetchone()[0])
        conn.execute("DELETE FROM hub_applied WHERE station = ? AND seq > ?", (station.id, again_from))
        conn.execute("UPDATE hub_stations SET last_seq = ? WHERE id = ? AND last_seq > ?",
                     (again_from, station.id, again_from))
        conn.execute("UPDATE hub_stations SET last_error = NULL WHERE id = ?", (station.id,))
        for entity, local_id in highest.items():
            conn.execute("DELETE FROM hub_id_map WHERE station = ? AND entity = ? AND local_id > ?",
                         (station.id, entity, local_id))
        conn.execute("DELETE FROM hub_uploads WHERE station = ? AND trial_local_id > ?", (station.id, highest["trial"]))
        conn.execute("DELETE FROM hub_programmes WHERE station = ? AND local_id > ?", (station.id, highest["programme"]))
        state["taken"][pending["id"]] = {"seq": seq, "again_from": again_from, "forgotten": forgotten,
                                         "received_at": pending.get("received_at"), "confirmed_at": now,
                                         "confirmed_by": actor.username, "delivered": False}
        state["pending"] = None
        _write(conn, station.id, exists, state, now)
        hub.store.audit.record(actor, "sync.station_restored", object=f"station:{station.name}",
                               detail={"station": station.name, "restore": pending["id"][:SHORT], "from_change": seq,
                                       "last_change_before": last, "forgotten_changes": forgotten,
                                       "confirmed_by": actor.username})
    return {"id": pending["id"], "seq": seq, "last_seq": min(last, again_from), "forgotten": forgotten}
