"""The stations' own audit entries on the hub: one audit trail for the clinic.

After its changes are pushed, a station sends its audit log's entries after the last one the hub
holds (:meth:`station.sync.syncer.StationSync._push_audit`), in order, in batches. The hub
appends each to its own ``audit_log`` (append-only, as every entry), as that station's:

* ``username`` ``NAME@STATION`` (the station's user, or ``system``/``hub``, at that station), the
  entry's own time (``at``) and the client address the station saw;
* ``patient_id`` and ``object`` mapped to the hub's ids where the hub holds the record (the
  station's change of it was pushed first); otherwise none, and the station's own reference stays
  in ``detail.station_object``; ``detail`` is the station's, with ``station`` and
  ``station_entry`` (its id at the station) added.

Entries carry no patient data (the audit log's rule everywhere: ids, field names, counts). Each
entry is mapped in ``hub_id_map`` (entity ``audit``: the station's entry id to the hub's), so an
entry sent again is recognised and skipped, and the last one held is the station's cursor. They
are never erased (the audit trail outlives what it names: ids only).

A hub refuses a batch holding an action it does not know (HTTP 422, ``{"action": "is not an audit
action"}``): a station newer than the hub then keeps such entries in its own audit log and sends
the others (:mod:`station.sync.audit_push`). The hub's ``GET /api/hub/audit`` answer names the
actions it knows (``actions``, :func:`last_answer`; a hub before that names none), and it takes an
entry below the last it holds that it does not hold yet, marked ``arrived_after_entry`` (the last
entry of that station it held then) in its detail: such entries, kept at the station while its hub
did not know their action, arrive after the later ones, and the hub's trail says so.
"""

from __future__ import annotations

import json

from station.store import fields
from station.store.audit import ACTIONS
from station.store.db import ValidationError
from station.store.timefmt import parse_utc_iso, utc_iso

MAX_ENTRIES = 200
"""Entries in one request (a station's batch)."""
MAX_DETAIL_BYTES = 8 * 1024
MAPPED_KINDS = ("patient", "session", "trial", "programme", "training")


def last_held(conn, station_row_id: int) -> int:
    """The id (at the station) of the last of its audit entries the hub holds; 0 for none."""
    row = conn.execute("SELECT max(local_id) FROM hub_id_map WHERE station = ? AND entity = 'audit'",
                       (station_row_id,)).fetchone()
    return int(row[0] or 0)


def last_answer(conn, station_row_id: int) -> dict:
    """The answer to a station's ``GET /api/hub/audit``: ``{"last", "actions"}``, the last of its
    entries the hub holds (:func:`last_held`) and the audit actions this hub knows (sorted)."""
    return {"last": last_held(conn, station_row_id), "actions": sorted(ACTIONS)}


def _text(value, key: str, max_chars: int, required: bool):
    if value is None and not required:
        return None
    try:
        return fields.text(value, max_chars=max_chars, required=required)
    except ValueError as exc:
        raise ValidationError({key: str(exc)}) from None


def check_entries(entries: object) -> list[dict]:
    """A station's batch of audit entries, checked (ValidationError naming the field), in order."""
    if not isinstance(entries, list) or len(entries) > MAX_ENTRIES:
        raise ValidationError({"entries": f"must be a list of at most {MAX_ENTRIES} audit entries"})
    out, previous = [], 0
    for e in entries:
        if not isinstance(e, dict):
            raise ValidationError({"entries": "each must be an audit entry"})
        entry_id, patient_id = e.get("id"), e.get("patient_id")
        if not isinstance(entry_id, int) or isinstance(entry_id, bool) or not previous < entry_id < 2**62:
            raise ValidationError({"id": "must be the entry's id at the station, increasing"})
        previous = entry_id
        if patient_id is not None and (not isinstance(patient_id, int) or isinstance(patient_id, bool)
                                       or not 0 <= patient_id < 2**62):
            raise ValidationError({"patient_id": "must be the station's patient id or null"})
        if e.get("action") not in ACTIONS:
            raise ValidationError({"action": "is not an audit action"})
        try:
            at = utc_iso(parse_utc_iso(e.get("at")))
        except (TypeError, ValueError, OverflowError, OSError, AttributeError):
            raise ValidationError({"at": "must be an ISO 8601 UTC time"}) from None
        detail = e.get("detail")
        if detail is not None and (not isinstance(detail, dict) or len(json.dumps(detail)) > MAX_DETAIL_BYTES):
            raise ValidationError({"detail": f"must be a JSON object of at most {MAX_DETAIL_BYTES} bytes"})
        out.append({"id": entry_id, "at": at, "action": e["action"], "patient_id": patient_id, "detail": detail,
                    "username": _text(e.get("username"), "username", 200, True),
                    "address": _text(e.get("address"), "address", 100, False),
                    "object": _text(e.get("object"), "object", 100, False)})
    return out


def append(conn, station_row_id: int, station_name: str, entries: list[dict]) -> int:
    """Append the checked ``entries`` the hub does not hold yet to its audit log (in the caller's
    transaction); returns how many were new. One below the last held arrives late (kept at the
    station while this hub's software did not know its action): ``arrived_after_entry`` in its detail."""
    last = last_held(conn, station_row_id)
    added = 0
    for e in entries:
        if e["id"] <= last and conn.execute("SELECT 1 FROM hub_id_map WHERE station = ? AND entity = 'audit'"
                                            " AND local_id = ?", (station_row_id, e["id"])).fetchone() is not None:
            continue
        patient = None
        if e["patient_id"] is not None:
            row = conn.execute("SELECT hub_id FROM hub_id_map WHERE station = ? AND entity = 'patient' AND local_id = ?",
                               (station_row_id, e["patient_id"])).fetchone()
            patient = row["hub_id"] if row is not None and row["hub_id"] else None
        kind, _, number = (e["object"] or "").partition(":")
        obj = None
        if kind in MAPPED_KINDS and number.isdigit():
            row = conn.execute("SELECT hub_id FROM hub_id_map WHERE station = ? AND entity = ? AND local_id = ?",
                               (station_row_id, kind, int(number))).fetchone()
            if row is not None and row["hub_id"]:
                obj = f"{kind}:{row['hub_id']}"
        detail = {**(e["detail"] or {}), "station": station_name, "station_entry": e["id"]}
        if e["id"] < last:
            detail["arrived_after_entry"] = last
        if e["object"] and obj is None:
            detail["station_object"] = e["object"]
        if e["patient_id"] is not None and patient is None:
            detail["station_patient"] = e["patient_id"]
        cur = conn.execute("INSERT INTO audit_log (at, user_id, username, address, action, patient_id, object, detail)"
                           " VALUES (?, NULL, ?, ?, ?, ?, ?, ?)",
                           (e["at"], f"{e['username']}@{station_name}"[:260], e["address"], e["action"], patient,
                            obj, json.dumps(detail)))
        conn.execute("INSERT INTO hub_id_map (station, entity, local_id, hub_id, patient_id) VALUES (?, 'audit', ?, ?, ?)",
                     (station_row_id, e["id"], int(cur.lastrowid), patient or 0))
        added += 1
    return added
