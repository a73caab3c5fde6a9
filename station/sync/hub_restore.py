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

**A confirmed notice the station never sent.** An administrator may still confirm a forged notice
(a stolen token's, naming a restore that did not happen). So the hub names the restore it last
confirmed, and not withdrew, in its answers to the station (``confirmed_restore``:
:func:`confirmed`), and a station that never sent that restore's id stops syncing before it pushes
or takes anything, saying so (:mod:`station.sync.station_restore`); a push that names the
station's own restores (``restores``) is refused when they do not hold it (:func:`check_known`).
The confirmation keeps what it made the hub forget (:data:`UNDO_SETTING`: the station's applied
change numbers, id mappings and programme documents above the mark), so that the administrator
can withdraw it (:func:`withdraw`: ``balance-station hub stations withdraw-restore NAME``, which
also gives the station a new token): everything is put back as it was, nothing came twice and
nothing is lost. Only the latest confirmation of a station can be withdrawn.

The state is one ``settings`` row per station, ``hub_station_restores:<station row id>``:
``{"taken": {mark id: {...}}, "pending": {...} | null}`` (a hub of the first version kept a list of
the last 20 ids taken; read as taken; a withdrawn one has ``withdrawn_at``).
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
UNDO_SETTING = "hub_station_restore_undo"
"""``settings`` row per station (``:<station row id>``): what its latest confirmation made the hub
forget, for :func:`withdraw`."""
NAMED = "confirmed_restore"
"""The field of the hub's answers to a station naming the restore the hub last confirmed of it
(:func:`confirmed`; null: none)."""


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
    station's waiting notice (replacing one before) and Conflict (409) with :func:`waiting_words`;
    but a notice whose ``held`` (the station's visits and trials above the mark, with their start)
    names one the hub maps from this station with the same start, or whose ``queued`` (its queued
    changes above the mark, with their time) one the hub applied from it as it is, is refused
    (Conflict, nothing kept): that record or change was not lost, so the mark is not of the backup
    the database came from."""
    if not isinstance(body, dict):
        raise ValidationError({"body": "must be a JSON object"})
    hub._bind(station, body.get("station_id"))
    mark = check_mark(body.get("restored"))
    held = _held(body.get("held"))
    queued = _queued(body.get("queued"))
    now = utc_iso(hub._now())
    with hub._db.write() as conn:
        last = int(conn.execute("SELECT last_seq FROM hub_stations WHERE id = ?", (station.id,)).fetchone()[0])
        exists, state = _read(conn, station.id)
        taken = state["taken"].get(mark["id"])
        if taken is not None and taken.get("withdrawn_at"):
            raise Conflict(f"the hub's administrator withdrew the confirmation of restore {mark['id'][:SHORT]} "
                           f"({taken['withdrawn_at']}): the hub holds this station's records as they were before it; "
                           "if this station's database really was restored from that backup, ask the hub's "
                           "administrator; nothing was changed")
        if taken is not None:
            forgotten = 0 if taken.get("delivered") else int(taken.get("forgotten", 0))
            if not taken.get("delivered"):
                taken["delivered"] = True
                _write(conn, station.id, exists, state, now)
            return {"last_seq": last, "forgotten": forgotten}
        kept = _not_lost(conn, station.id, held)
        same = _applied_as_queued(conn, station.id, queued)
        if kept is not None or same is not None:
            if kept is not None:
                entity, local_id = kept
                what = (f"its {({'session': 'visit', 'trial': 'trial'}[entity])} #{local_id} as the hub has it from the "
                        "station (started at the same time)")
            else:
                what = f"its change #{same} as the hub applied it from the station (the same change, made at the same time)"
            raise Conflict(f"this station still holds {what}: what it recorded after the backup its restore mark names was "
                           "not lost, so its database was not restored from that backup; the hub changed nothing. If the "
                           "database was put back by hand from another backup, mark it with that one (`balance-station "
                           "sync --restored-from BACKUP`); if it was not restored, drop the mark: `balance-station sync "
                           "--not-restored`")
        pending = state["pending"]
        if pending is None or pending.get("id") != mark["id"]:
            state["pending"] = {**mark, "received_at": now}
            _write(conn, station.id, exists, state, now)
        pending = state["pending"]
    raise Conflict(waiting_words(station.name, pending))


HELD_ENTITIES = {"session": "sessions", "trial": "trials"}
HELD_MAX = 100


def _held(held: object) -> dict:
    """A notice's ``held`` (:func:`station.store.restore_marks.held_above`), checked; {} when absent
    (a station before it, or one that does not say)."""
    if held is None:
        return {}
    if not isinstance(held, dict) or not set(held) <= set(HELD_ENTITIES):
        raise ValidationError({"held": f"must map {' and '.join(HELD_ENTITIES)} to lists of [id, started_at]"})
    out = {}
    for entity, rows in held.items():
        if (not isinstance(rows, list) or len(rows) > HELD_MAX
                or not all(isinstance(r, list) and len(r) == 2 and isinstance(r[0], int) and not isinstance(r[0], bool)
                           and 0 < r[0] < 2**62 and isinstance(r[1], str) and len(r[1]) <= 64 for r in rows)):
            raise ValidationError({f"held.{entity}": f"must be at most {HELD_MAX} pairs [id, started_at]"})
        out[entity] = {r[0]: r[1] for r in rows}
    return out


def _queued(queued: object) -> dict:
    """A notice's ``queued`` (:func:`station.store.restore_marks.queued_above`: ``[[seq, at], ...]``),
    checked, as ``{seq: at}``; {} when absent (a station before it)."""
    if queued is None:
        return {}
    if (not isinstance(queued, list) or len(queued) > HELD_MAX
            or not all(isinstance(q, list) and len(q) == 2 and isinstance(q[0], int) and not isinstance(q[0], bool)
                       and 0 < q[0] < 2**62 and isinstance(q[1], str) and len(q[1]) <= 64 for q in queued)):
        raise ValidationError({"queued": f"must be at most {HELD_MAX} pairs [seq, at]"})
    return {q[0]: q[1] for q in queued}


def _applied_as_queued(conn, station_row: int, queued: dict) -> int | None:
    """The first change the station holds queued above its mark that the hub applied from it with
    the same number and time (the same change: it was not lost), or None."""
    if not queued:
        return None
    marks = ", ".join("?" * len(queued))
    for seq, at in conn.execute(f"SELECT seq, at FROM hub_applied WHERE station = ? AND seq IN ({marks}) ORDER BY seq",
                                (station_row, *queued)).fetchall():
        if at == queued[int(seq)]:
            return int(seq)
    return None


def _not_lost(conn, station_row: int, held: dict) -> tuple[str, int] | None:
    """A record the station holds above its mark that the hub holds from it as the same record
    (same id, same start): ``(entity, station's id)``, or None."""
    for entity, starts in held.items():
        if not starts:
            continue
        marks = ", ".join("?" * len(starts))
        for local_id, started_at in conn.execute(
                f"SELECT m.local_id, r.started_at FROM hub_id_map m JOIN {HELD_ENTITIES[entity]} r ON r.id = m.hub_id"
                f" WHERE m.station = ? AND m.entity = ? AND m.local_id IN ({marks}) ORDER BY m.local_id",
                (station_row, entity, *starts)).fetchall():
            if started_at == starts[int(local_id)]:
                return entity, int(local_id)
    return None


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
        _keep_undo(conn, station.id, pending["id"], last, again_from, highest, now)
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


def confirmed(conn, station_row: int) -> str | None:
    """The id of the restore the hub last confirmed of the station (its row id), and not withdrew;
    None if none: what the hub names in its answers to the station (:data:`NAMED`)."""
    taken = _read(conn, station_row)[1]["taken"]
    return next((mark_id for mark_id, entry in reversed(taken.items())
                 if not (isinstance(entry, dict) and entry.get("withdrawn_at"))), None)


def foreign_words(name: str, mark_id: str) -> str:
    """The hub's refusal of a push whose station never sent the restore the hub confirmed."""
    return (f"the hub holds a restore notice this station never sent (restore {mark_id[:SHORT]}, confirmed by the "
            "hub's administrator): its station token may have been stolen and used to post it; nothing was taken "
            f"from this push. On the hub, an administrator runs `balance-station hub stations withdraw-restore {name}`"
            " (it puts back what the confirmation made the hub forget and gives this station a new token)")


def check_known(conn, station, restores: object) -> None:
    """Conflict (:func:`foreign_words`) if a push names the station's own restores (``restores``: a
    list of mark ids; a station before them sends none, and is not checked) and they do not hold
    the one the hub last confirmed: the push would be applied against the mappings a forged
    notice's confirmation made the hub forget, and come twice."""
    if restores is None:
        return
    if not isinstance(restores, list) or len(restores) > 200 or not all(isinstance(i, str) and len(i) <= 64
                                                                        for i in restores):
        raise ValidationError({"restores": "must be the ids of this station's restores (at most 200)"})
    named = confirmed(conn, station.id)
    if named is not None and named not in {i.lower() for i in restores}:
        raise Conflict(foreign_words(station.name, named))


def _keep_undo(conn, station_row: int, mark_id: str, last: int, again_from: int, highest: dict, now: str) -> None:
    """Keep what confirming restore ``mark_id`` makes the hub forget of the station (before it is
    deleted), for :func:`withdraw`: its last change number, the change numbers applied above
    ``again_from`` (with their times), its id mappings above ``highest`` and its programme
    documents above the mark's."""
    undo = {
        "mark": mark_id, "last_seq": last, "again_from": again_from, "confirmed_at": now,
        "applied": [[int(r[0]), r[1]] for r in conn.execute(
            "SELECT seq, at FROM hub_applied WHERE station = ? AND seq > ? ORDER BY seq", (station_row, again_from))],
        "map": [[r[0], int(r[1]), int(r[2]), int(r[3])] for entity, local_id in highest.items() for r in conn.execute(
            "SELECT entity, local_id, hub_id, patient_id FROM hub_id_map WHERE station = ? AND entity = ?"
            " AND local_id > ? ORDER BY local_id", (station_row, entity, local_id))],
        "programmes": [[int(r[0]), int(r[1]), r[2], r[3]] for r in conn.execute(
            "SELECT local_id, patient_id, doc, updated_at FROM hub_programmes WHERE station = ? AND local_id > ?",
            (station_row, highest["programme"]))]}
    key = f"{UNDO_SETTING}:{station_row}"
    value = json.dumps(undo, separators=(",", ":"))
    if conn.execute("SELECT 1 FROM settings WHERE key = ?", (key,)).fetchone() is None:
        conn.execute("INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, 'hub')",
                     (key, value, now))
    else:
        conn.execute("UPDATE settings SET value = ?, updated_at = ? WHERE key = ?", (value, now, key))


def withdraw(hub, name: str, actor: Actor, mark: str | None = None) -> dict:
    """An administrator withdraws the latest confirmation of station ``name``'s restore (``mark``:
    the first characters of its id, to withdraw that one only): a notice the station never sent
    (its token stolen). In one transaction the hub puts back what the confirmation made it forget
    (:func:`_keep_undo`: its last change number, applied change numbers and id mappings, a mapping
    made since under the same id replaced by the one kept), keeps what came since (changes with
    later numbers stay applied), drops a notice waiting, and stops naming that restore
    (:func:`confirmed`); audited ``sync.restore_withdrawn``. Returns ``{"id", "last_seq",
    "mappings", "replaced", "since"}`` (``replaced``: mappings made since under an id the kept
    ones name, whose records came anew, twice, on the hub; ``since``: changes applied since the
    confirmation). Conflict in words when there is no confirmation to withdraw (or another than
    ``mark``); NotFound for an unknown name. The caller gives the station a new token."""
    station = hub.station_named(name)
    now = utc_iso(hub._now())
    key = f"{UNDO_SETTING}:{station.id}"
    with hub._db.write() as conn:
        exists, state = _read(conn, station.id)
        row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        undo = json.loads(row[0]) if row is not None else None
        latest = confirmed(conn, station.id)
        if undo is None or undo.get("mark") != latest:
            raise Conflict(f"station {name!r} has no confirmed restore this hub can withdraw (it keeps what the "
                           "latest confirmation of a station made it forget, once confirmed by this software); nothing "
                           "was changed")
        if mark is not None and not latest.startswith(mark.strip().lower()):
            raise Conflict(f"station {name!r}'s latest confirmed restore is {latest[:SHORT]}, not {mark}; nothing was "
                           "withdrawn")
        kept = {int(seq): at for seq, at in undo["applied"]}
        current = dict(conn.execute("SELECT seq, at FROM hub_applied WHERE station = ? AND seq > ?",
                                    (station.id, undo["again_from"])).fetchall())
        since = sum(1 for seq, at in current.items() if kept.get(int(seq)) != at)  # applied since the confirmation
        for seq, at in kept.items():
            if current.get(seq) != at:
                conn.execute("DELETE FROM hub_applied WHERE station = ? AND seq = ?", (station.id, seq))
                conn.execute("INSERT INTO hub_applied (station, seq, at) VALUES (?, ?, ?)", (station.id, seq, at))
        conn.execute("UPDATE hub_stations SET last_seq = ?, last_error = NULL WHERE id = ? AND last_seq < ?",
                     (undo["last_seq"], station.id, undo["last_seq"]))
        replaced = 0
        for entity, local_id, hub_id, patient_id in undo["map"]:
            now_row = conn.execute("SELECT hub_id FROM hub_id_map WHERE station = ? AND entity = ? AND local_id = ?",
                                   (station.id, entity, local_id)).fetchone()
            if now_row is not None:
                replaced += int(now_row[0]) != hub_id
                conn.execute("DELETE FROM hub_id_map WHERE station = ? AND entity = ? AND local_id = ?",
                             (station.id, entity, local_id))
            if conn.execute("SELECT 1 FROM patients WHERE id = ?", (patient_id,)).fetchone() is None:
                hub_id = 0  # erased since: mapped to 0, as an erasure leaves the station's ids
            conn.execute("INSERT INTO hub_id_map (station, entity, local_id, hub_id, patient_id) VALUES (?, ?, ?, ?, ?)",
                         (station.id, entity, local_id, hub_id, patient_id))
        for local_id, patient_id, doc, updated_at in undo["programmes"]:
            if conn.execute("SELECT 1 FROM patients WHERE id = ?", (patient_id,)).fetchone() is None:
                continue  # erased since: its programme went with it
            conn.execute("DELETE FROM hub_programmes WHERE station = ? AND local_id = ?", (station.id, local_id))
            conn.execute("INSERT INTO hub_programmes (station, local_id, patient_id, doc, updated_at)"
                         " VALUES (?, ?, ?, ?, ?)", (station.id, local_id, patient_id, doc, updated_at))
        state["taken"][latest] = {**state["taken"][latest], "withdrawn_at": now, "withdrawn_by": actor.username}
        state["pending"] = None
        _write(conn, station.id, exists, state, now)
        conn.execute("DELETE FROM settings WHERE key = ?", (key,))
        last = int(conn.execute("SELECT last_seq FROM hub_stations WHERE id = ?", (station.id,)).fetchone()[0])
        hub.store.audit.record(actor, "sync.restore_withdrawn", object=f"station:{station.name}",
                               detail={"station": station.name, "restore": latest[:SHORT],
                                       "confirmed_at": undo.get("confirmed_at"), "mappings_put_back": len(undo["map"]),
                                       "changes_put_back": len(undo["applied"]), "replaced": replaced,
                                       "changes_since": since, "withdrawn_by": actor.username})
    return {"id": latest, "last_seq": last, "mappings": len(undo["map"]), "replaced": replaced, "since": since}
