"""A station administrator's tools for a change the hub refuses every time.

The hub applies a station's changes in order (:mod:`station.sync.hub`): a change it refuses every
time (an identifier renamed into one another patient has on the hub, a record the hub will not
take) stops the station's queue there for good. :func:`blocked_change` says which change it is
(the first queued change the hub has not applied) and :func:`last_refusal` the hub's reason;
:func:`skip_change` takes that one change out of the queue, so that the later ones go on in
their order. A skipped change is kept in ``sync_skipped`` (migration 11) with the hub's reason,
who skipped it and when, for inspection (:func:`skipped_changes`); it is deleted with its patient
when the patient is erased (it may hold the patient's fields). The skip is audited
(``sync.skip``) naming the change, never its values.

Only the blocked change can be skipped: every change queued before it must be one the hub has
already applied (it is then only waiting for its acknowledgement). Without the hub's answer
(unreachable), only the oldest queued change can be skipped.

>>> describe_fields({"identifier": "P-1", "notes": "x"})
'identifier, notes'
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Callable

from station.store.audit import Actor
from station.store.db import Conflict, NotFound
from station.store.timefmt import utc_iso

_REFUSAL_RE = re.compile(r"^the hub refused POST /api/hub/push \(HTTP (\d{3})\): (.*)$", re.S)
CHANGE_REFUSED_STATUSES = frozenset({400, 404, 409, 422})
"""HTTP statuses with which the hub refuses a change itself (not the station's token, 401/403, nor
a body too large, 413, nor the throttle, 429)."""


@dataclass(frozen=True)
class QueuedChange:
    """One change of the outbox, as an administrator needs to see it: its number and change id,
    what it is, its time, the identifier of its patient (None when erased or not held), the names
    (not the values) of the patient fields it carries, and how many later changes of the same
    patient are queued behind it."""

    seq: int
    change_id: str
    entity: str
    op: str
    local_id: int
    at: str
    patient_id: int | None
    identifier: str | None
    fields: tuple[str, ...]
    later_of_patient: int


@dataclass(frozen=True)
class SkippedChange:
    """A row of ``sync_skipped``: the change, the hub's reason, who skipped it and when."""

    seq: int
    change_id: str
    entity: str
    op: str
    local_id: int
    at: str
    reason: str
    skipped_at: str
    skipped_by: str


def describe_fields(payload: dict) -> str:
    """The names of a change's fields, comma-separated (never their values)."""
    return ", ".join(sorted(payload))


def last_refusal(store) -> str | None:
    """The hub's reason for refusing the last push, if the last sync failed because the hub
    refused a change (not its token, a full queue or the network); else None."""
    error = store.outbox.state().get("last_error") or ""
    match = _REFUSAL_RE.match(error)
    if match is None or int(match.group(1)) not in CHANGE_REFUSED_STATUSES:
        return None
    return match.group(2).strip()


def _queued(conn, store, row) -> QueuedChange:
    patient_id = row["patient_id"]
    if row["entity"] == "patient" and row["op"] != "erase":
        patient_id = row["local_id"]
    identifier = None
    if patient_id is not None:
        found = conn.execute("SELECT identifier FROM patients WHERE id = ?", (patient_id,)).fetchone()
        identifier = None if found is None else found["identifier"]
    payload = json.loads(row["payload"] or "{}")
    fields = tuple(sorted(payload)) if row["entity"] == "patient" and row["op"] in ("create", "update") else ()
    later = 0
    if patient_id is not None:
        later = int(conn.execute("SELECT count(*) FROM sync_outbox WHERE seq > ? AND patient_id = ?",
                                 (row["seq"], patient_id)).fetchone()[0])
    return QueuedChange(int(row["seq"]), f"{store.outbox.station_id}:{row['seq']}", row["entity"], row["op"],
                        int(row["local_id"]), row["at"], patient_id, identifier, fields, later)


def blocked_change(store, hub_last_seq: int | None = None) -> QueuedChange | None:
    """The first queued change the hub has not applied: the first after ``hub_last_seq`` (the
    last change of this station the hub applied, from the hub), or the oldest queued when it is
    not known; None when nothing waits."""
    with store.db.read() as conn:
        row = conn.execute("SELECT * FROM sync_outbox WHERE seq > ? ORDER BY seq LIMIT 1",
                           (hub_last_seq or 0,)).fetchone()
        return None if row is None else _queued(conn, store, row)


def parse_change_id(store, text: str) -> int:
    """The sequence number of a change id (``<station id>:<seq>``, or the number alone); NotFound
    with what to give if it is not one of this station's."""
    station, _, number = text.strip().rpartition(":")
    if not number.isdigit() or (station and station != store.outbox.station_id):
        raise NotFound(f"{text!r} is not a change of this station; give the change id `sync --show-blocked` prints "
                       f"({store.outbox.station_id}:NUMBER) or its number")
    return int(number)


def skip_change(store, seq: int, *, actor: Actor, reason: str, hub_last_seq: int | None = None,
                wall_clock: Callable[[], float] = time.time) -> SkippedChange:
    """Take the blocked change ``seq`` out of the queue, keep it in ``sync_skipped`` with
    ``reason`` (the hub's refusal) and audit it, in one transaction.

    Raises
    ------
    NotFound
        No such change queued (already pushed, or skipped).
    Conflict
        It is not the blocked change: a change before it is still to be applied by the hub
        (skipping it would change the order of what the hub receives).
    """
    now = utc_iso(wall_clock())
    with store.db.write() as conn:
        row = conn.execute("SELECT * FROM sync_outbox WHERE seq = ?", (seq,)).fetchone()
        if row is None:
            raise NotFound(f"change #{seq} is not queued (already pushed or skipped); `balance-station sync "
                           "--show-blocked` shows the blocked change")
        before = conn.execute("SELECT min(seq) FROM sync_outbox WHERE seq < ? AND seq > ?",
                              (seq, hub_last_seq or 0)).fetchone()[0]
        if before is not None:
            known = "the hub has not applied" if hub_last_seq is not None else "is queued before it (the hub could not be asked)"
            raise Conflict(f"change #{seq} is not the blocked one: change #{before} {known}; only the first change the "
                           "hub refuses can be skipped, so that the later ones keep their order")
        change = _queued(conn, store, row)
        conn.execute(
            "INSERT INTO sync_skipped (seq, entity, local_id, patient_id, op, at, payload, reason, skipped_at, skipped_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, row["entity"], row["local_id"], row["patient_id"], row["op"], row["at"], row["payload"],
             reason[:1000], now, actor.username))
        conn.execute("DELETE FROM sync_outbox WHERE seq = ?", (seq,))
        store.audit.record(actor, "sync.skip", patient_id=change.patient_id, object=f"sync_change:{seq}",
                           detail={"change": change.change_id, "entity": row["entity"], "op": row["op"],
                                   "local_id": int(row["local_id"]), "fields": list(change.fields)})
    return SkippedChange(seq, change.change_id, row["entity"], row["op"], int(row["local_id"]), row["at"],
                         reason[:1000], now, actor.username)


def skipped_changes(store, limit: int = 20) -> list[SkippedChange]:
    """The changes skipped at this station, newest first."""
    with store.db.read() as conn:
        rows = conn.execute("SELECT * FROM sync_skipped ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
    return [SkippedChange(int(r["seq"]), f"{store.outbox.station_id}:{r['seq']}", r["entity"], r["op"],
                          int(r["local_id"]), r["at"], r["reason"], r["skipped_at"], r["skipped_by"]) for r in rows]
