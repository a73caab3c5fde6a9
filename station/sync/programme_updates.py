"""A station takes the hub's changes of the programmes it assigned.

The hub merges a station's programme with its users' edits and with the games other stations
played that counted on the hub (:mod:`station.sync.hub_programmes`). At every sync the assigning
station asks for the fields someone else set (:meth:`station.sync.hub.Hub.programme_updates`) and
takes each one that is newer than its own (last writer wins per field, as on the hub): a session
moved or missed on the hub, a dose counted there for a game played at the ward. Each value is
checked as the hub checks a push (garbage is one error and changes nothing), written through the
same field writer as on the hub, and recorded with the hub's time and who set it
(``programme_field_times``), so it is not sent back as the station's own change. A dose measured
in a trial the station does not hold keeps its minutes without the trial link.
"""

from __future__ import annotations

import json
from datetime import date

from station.store import fields as text_fields
from station.store.db import ValidationError
from station.store.programme_fields import (PROGRAMME_STATUSES, STATE_STATUSES, canonical, document_in,
                                            field_times, flatten, set_field)
from station.store.timefmt import parse_utc_iso, utc_iso
from station.sync.hub_programmes import write_field


def _day(value, *, none: bool = False):
    if value is None and none:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise ValidationError({"value": "must hold a date (YYYY-MM-DD)"}) from None


def _time(value, *, none: bool = False):
    if value is None and none:
        return None
    try:
        return utc_iso(parse_utc_iso(value))
    except (TypeError, ValueError, OverflowError, OSError, AttributeError):
        raise ValidationError({"value": "must hold an ISO 8601 UTC time"}) from None


def _text(value, max_chars: int = 200, *, none: bool = True):
    if value is None and none:
        return None
    try:
        return text_fields.text(value, max_chars=max_chars, required=True)
    except ValueError as exc:
        raise ValidationError({"value": str(exc)}) from None


def _list(value, n: int | None = None) -> list:
    if not isinstance(value, list) or (n is not None and len(value) != n) or len(value) > 1000:
        raise ValidationError({"value": "has the wrong shape for its field"})
    return value


def check_value(conn, patient_id: int, field: str, value):
    """The hub's ``value`` of ``field`` checked and made safe for this station's tables (ids of
    another patient's records dropped); ValidationError otherwise."""
    if field == "status":
        status, paused_from, ended_on, reason = _list(value, 4)
        if status not in PROGRAMME_STATUSES:
            raise ValidationError({"value": "is not a programme status"})
        return [status, _day(paused_from, none=True), _day(ended_on, none=True), _text(reason)]
    if field == "pauses":
        return [[_day(p[0]), _day(p[1], none=True), _text(p[2], none=False), _text(p[3], none=False), _text(p[4])]
                for p in (_list(x, 5) for x in _list(value))]
    if field.endswith(".date"):
        return _day(value)
    if field.startswith("session.") and field.endswith(".state"):
        status, reason, source, dose, trial_id, recorded_at, recorded_by = _list(value, 7)
        if status not in STATE_STATUSES or source not in (None, "measured", "manual"):
            raise ValidationError({"value": "is not a session's state"})
        if dose is not None and (not isinstance(dose, dict) or len(json.dumps(dose)) > 4096):
            raise ValidationError({"value": "holds a dose that is not a small JSON object"})
        if trial_id is not None:
            owned = isinstance(trial_id, int) and not isinstance(trial_id, bool) and conn.execute(
                "SELECT 1 FROM trials t JOIN sessions s ON s.id = t.session_id WHERE t.id = ? AND s.patient_id = ?",
                (trial_id, patient_id)).fetchone()
            trial_id = trial_id if owned else None
        return [status, _text(reason), source, dose, trial_id, _time(recorded_at, none=True), _text(recorded_by)]
    if field.startswith("visit.") and field.endswith(".state"):
        status, reason = _list(value, 2)
        if status not in STATE_STATUSES:
            raise ValidationError({"value": "is not a visit's state"})
        return [status, _text(reason)]
    if field.startswith("visit.") and field.endswith(".runs"):
        runs = []
        for protocol, session_id, linked_at, linked_by in (_list(x, 4) for x in _list(value)):
            mine = isinstance(session_id, int) and not isinstance(session_id, bool) and conn.execute(
                "SELECT 1 FROM sessions WHERE id = ? AND patient_id = ?", (session_id, patient_id)).fetchone()
            if mine:
                runs.append([_text(protocol, 64, none=False), session_id, _time(linked_at), _text(linked_by, none=False)])
        return sorted(runs)
    raise ValidationError({"field": f"{field[:60]!r} is not a programme field"})


def apply_updates(store, answer: object) -> int:
    """Take the hub's newer fields of this station's programmes (``answer`` of ``GET
    /api/hub/programme-updates``); returns how many fields changed here. Each programme in one
    transaction, after all its fields were checked."""
    programmes = answer.get("programmes") if isinstance(answer, dict) else None
    if not isinstance(programmes, list):
        raise ValidationError({"programmes": "must be a list"})
    changed = 0
    for item in programmes:
        if not isinstance(item, dict) or not isinstance(item.get("fields"), list):
            raise ValidationError({"programmes": "each must be a programme with its fields"})
        local_id = item.get("local_id")
        if not isinstance(local_id, int) or isinstance(local_id, bool):
            raise ValidationError({"local_id": "must be this station's programme id"})
        with store.outbox.muted(), store.db.write() as conn:
            doc = document_in(conn, local_id)
            if doc is None:
                continue  # erased here meanwhile
            current, recorded = flatten(doc), field_times(conn, local_id)
            taken = []
            for update in item["fields"]:
                if not isinstance(update, dict) or update.get("field") not in current:
                    raise ValidationError({"field": "is not a field of this programme"})
                field = update["field"]
                value = check_value(conn, doc["patient_id"], field, update.get("value"))
                at = _time(update.get("changed_at"))
                who = _text(update.get("station"), 64) or "hub"
                mine = recorded.get(field) or {}
                if canonical(value) == canonical(current[field]) or (mine.get("changed_at") or "") > at:
                    continue  # the same, or changed here since: this station's value goes to the hub
                taken.append((field, value, at, who))
            for field, value, at, who in taken:
                write_field(conn, local_id, field, value)
                set_field(conn, local_id, field, value, at, who)
            changed += len(taken)
    return changed


def recorded_elsewhere(store, assignment_id: int) -> dict:
    """Which fields of this station's programme ``assignment_id`` were set elsewhere (taken from the
    hub): ``{"assigned_at": None, "fields": {field: station name or "hub"}}``, the shape of the
    hub's :meth:`station.sync.hub.Hub.programme_sources`; NotFound for an unknown programme."""
    store.programmes.get(assignment_id)
    with store.db.read() as conn:
        rows = conn.execute("SELECT field, station FROM programme_field_times WHERE assignment_id = ?"
                            " AND station IS NOT NULL", (assignment_id,)).fetchall()
    return {"assigned_at": None, "fields": {r["field"]: r["station"] for r in rows}}
