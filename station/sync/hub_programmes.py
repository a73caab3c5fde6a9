"""The hub's merge of the programmes stations push into its own programme tables.

A station pushes a programme whole (:func:`station.store.programme_fields.document_in`) with the
time each of its fields last changed there. The hub keeps one programme per station programme, in
its own ``programme_assignments``, ``programme_sessions``, ``programme_visits``,
``programme_visit_sessions`` and ``programme_pauses`` (``hub_id_map`` entity ``programme``), so
its programme page, adherence, dose chart and report are the station's, as if made on the hub:

* **Created** the first time, with the station's sessions, visits, pauses and doses; the
  station's trial and visit ids mapped to the hub's. Every field is recorded with its time and the
  station (``programme_field_times.station``: the pages say where each was recorded).
* **Merged** afterwards, last writer wins per field (:mod:`station.store.programme_fields`): an
  incoming field is applied if its change is at least as new as the hub's (an edit on the hub, a
  game another station played that counted on the hub, an earlier push), otherwise the hub's stays;
  whenever values differ both versions are kept (``hub_programme_versions``) and the audit entry
  (``programme.update`` by ``station:NAME``) names the fields applied and kept, never values.
* **Two stations, one patient.** Only the station that assigned a programme edits it (another
  station holding the patient sees it read-only, as pulled from the hub); the hub's users edit it
  too, merged as above. When two stations each assign a programme to one patient, both are kept
  and the one assigned last stays current: the other is ended on the hub ("replaced by the
  programme assigned at NAME"), its planned sessions cancelled, as the station rule "one current
  programme per patient" wants.
* A game played at a station that counted for one of its programme sessions names the hub's
  session (:meth:`station.sync.hub.Hub._training`); a game played where the programme is not held
  counts on the hub, by the station rule (:class:`station.store.training.TrainingSessions`).
"""

from __future__ import annotations

import json
from datetime import date

from station.store import fields
from station.store.db import ValidationError
from station.store.programme_fields import (PROGRAMME_STATUSES, STATE_STATUSES, canonical, document_in,
                                            field_times, flatten, set_field, stamp)
from station.store.timefmt import local_day, parse_utc_iso, utc_iso

MAX_SESSIONS = 2000
MAX_VISITS = 200
MAX_PAUSES = 500
MAX_RUNS = 100
MAX_TEMPLATE_BYTES = 256 * 1024
MAX_DOSE_BYTES = 4096


def _fail(key: str, words: str):
    raise ValidationError({key: words})


def _text(value, key: str, max_chars: int, *, required: bool = False, multiline: bool = False):
    if value is None and not required:
        return None
    try:
        return fields.text(value, max_chars=max_chars, required=required, multiline=multiline)
    except ValueError as exc:
        _fail(key, str(exc))


def _day(value, key: str, *, required: bool = True):
    if value is None and not required:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        _fail(key, "must be a date (YYYY-MM-DD)")


def _time(value, key: str, *, required: bool = True):
    if value is None and not required:
        return None
    try:
        return utc_iso(parse_utc_iso(value))
    except (TypeError, ValueError, OverflowError, OSError, AttributeError):
        _fail(key, "must be an ISO 8601 UTC time")


def _count(value, key: str, low: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value < 2**62:
        _fail(key, f"must be an integer >= {low}")
    return value


def _list(value, key: str, most: int) -> list:
    if not isinstance(value, list) or len(value) > most:
        _fail(key, f"must be a list of at most {most}")
    return value


def _dict(value, key: str) -> dict:
    if not isinstance(value, dict):
        _fail(key, "must be a JSON object")
    return value


def check_document(doc: object) -> dict:
    """A pushed programme document checked field by field (what a station cannot send is refused
    with the field named, ``ValidationError``); unknown keys are ignored."""
    doc = _dict(doc, "doc")
    template = _dict(doc.get("template"), "doc.template")
    if len(json.dumps(template)) > MAX_TEMPLATE_BYTES:
        _fail("doc.template", f"is larger than {MAX_TEMPLATE_BYTES // 1024} kB")
    if doc.get("status") not in PROGRAMME_STATUSES:
        _fail("doc.status", f"must be one of {', '.join(PROGRAMME_STATUSES)}")
    out = {
        "patient_id": _count(doc.get("patient_id"), "doc.patient_id"),
        "template_name": _text(doc.get("template_name"), "doc.template_name", 100, required=True),
        "template": template, "status": doc["status"],
        "start_date": _day(doc.get("start_date"), "doc.start_date"),
        "paused_from": _day(doc.get("paused_from"), "doc.paused_from", required=False),
        "ended_on": _day(doc.get("ended_on"), "doc.ended_on", required=False),
        "end_reason": _text(doc.get("end_reason"), "doc.end_reason", 200),
        "created_at": _time(doc.get("created_at"), "doc.created_at"),
        "created_by": _text(doc.get("created_by"), "doc.created_by", 200, required=True),
    }
    sessions, numbers = [], set()
    for s in _list(doc.get("sessions"), "doc.sessions", MAX_SESSIONS):
        s = _dict(s, "doc.sessions")
        number = _count(s.get("number"), "session.number", 1)
        if number in numbers:
            _fail("session.number", f"{number} appears twice")
        numbers.add(number)
        if s.get("status") not in STATE_STATUSES:
            _fail("session.status", f"must be one of {', '.join(STATE_STATUSES)}")
        if s.get("dose_source") not in (None, "measured", "manual"):
            _fail("session.dose_source", "must be measured, manual or null")
        dose = s.get("dose")
        if dose is not None and (not isinstance(dose, dict) or len(json.dumps(dose)) > MAX_DOSE_BYTES):
            _fail("session.dose", f"must be a JSON object of at most {MAX_DOSE_BYTES} bytes")
        minutes = s.get("minutes_planned")
        if not isinstance(minutes, (int, float)) or isinstance(minutes, bool) or not 0 < minutes <= 1440:
            _fail("session.minutes_planned", "must be minutes (0 to 1440)")
        trial = s.get("trial_id")
        sessions.append({
            "number": number, "week": _count(s.get("week"), "session.week", 1),
            "planned_date": _day(s.get("planned_date"), "session.planned_date"),
            "prescribed_date": _day(s.get("prescribed_date"), "session.prescribed_date"),
            "minutes_planned": float(minutes), "status": s["status"],
            "missed_reason": _text(s.get("missed_reason"), "session.missed_reason", 200),
            "dose_source": s.get("dose_source"), "dose": dose,
            "trial_id": None if trial is None else _count(trial, "session.trial_id"),
            "recorded_at": _time(s.get("recorded_at"), "session.recorded_at", required=False),
            "recorded_by": _text(s.get("recorded_by"), "session.recorded_by", 200),
        })
    visits, names = [], set()
    for v in _list(doc.get("visits"), "doc.visits", MAX_VISITS):
        v = _dict(v, "doc.visits")
        name = _text(v.get("assessment_id"), "visit.assessment_id", 64, required=True)
        if name in names or "." in name:
            _fail("visit.assessment_id", "must be unique and hold no '.'")
        names.add(name)
        if v.get("status") not in STATE_STATUSES:
            _fail("visit.status", f"must be one of {', '.join(STATE_STATUSES)}")
        protocols = [_text(p, "visit.protocols", 64, required=True) for p in _list(v.get("protocols"), "visit.protocols", 50)]
        runs = []
        for r in _list(v.get("runs", []), "visit.runs", MAX_RUNS):
            r = _dict(r, "visit.runs")
            runs.append({"protocol": _text(r.get("protocol"), "run.protocol", 64, required=True),
                         "session_id": _count(r.get("session_id"), "run.session_id"),
                         "linked_at": _time(r.get("linked_at"), "run.linked_at"),
                         "linked_by": _text(r.get("linked_by"), "run.linked_by", 200, required=True)})
        visits.append({
            "assessment_id": name, "label": _text(v.get("label"), "visit.label", 100, required=True),
            "week": _count(v.get("week"), "visit.week"), "protocols": protocols,
            "planned_date": _day(v.get("planned_date"), "visit.planned_date"),
            "prescribed_date": _day(v.get("prescribed_date"), "visit.prescribed_date"),
            "status": "planned" if v["status"] == "done" else v["status"],  # "done" is derived from runs
            "missed_reason": _text(v.get("missed_reason"), "visit.missed_reason", 200), "runs": runs,
        })
    pauses = []
    for p in _list(doc.get("pauses"), "doc.pauses", MAX_PAUSES):
        p = _dict(p, "doc.pauses")
        pauses.append({"paused_from": _day(p.get("paused_from"), "pause.paused_from"),
                       "resumed_on": _day(p.get("resumed_on"), "pause.resumed_on", required=False),
                       "reason": _text(p.get("reason"), "pause.reason", 200, required=True),
                       "paused_by": _text(p.get("paused_by"), "pause.paused_by", 200, required=True),
                       "resumed_by": _text(p.get("resumed_by"), "pause.resumed_by", 200)})
    return {**out, "sessions": sessions, "visits": visits, "pauses": pauses}


def check_times(times: object, default: str, now: str) -> dict[str, str]:
    """The station's change time of each field (``default`` for one it did not send), each no
    later than the hub's ``now`` (a station clock running ahead must not win for ever)."""
    if times is None:
        times = {}
    if not isinstance(times, dict) or len(times) > 3 * MAX_SESSIONS + 3 * MAX_VISITS + 2:
        _fail("field_times", "must be an object of field change times")
    out = {}
    for key, value in times.items():
        out[_text(key, "field_times", 100, required=True)] = min(_time(value, "field_times"), now)
    out["*"] = min(default, now)
    return out


def create(conn, doc: dict, patient_id: int) -> int:
    """Insert the checked (and id-mapped) programme ``doc`` for hub patient ``patient_id``; its id."""
    cur = conn.execute(
        "INSERT INTO programme_assignments (patient_id, template_name, template, start_date, status, paused_from,"
        " ended_on, end_reason, created_at, created_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (patient_id, doc["template_name"], json.dumps(doc["template"], sort_keys=True), doc["start_date"],
         doc["status"], doc["paused_from"], doc["ended_on"], doc["end_reason"], doc["created_at"],
         doc["created_by"], doc["created_at"]))
    assignment_id = int(cur.lastrowid)
    for s in doc["sessions"]:
        conn.execute(
            "INSERT INTO programme_sessions (assignment_id, number, week, planned_date, prescribed_date,"
            " minutes_planned, status) VALUES (?, ?, ?, ?, ?, ?, 'planned')",
            (assignment_id, s["number"], s["week"], s["planned_date"], s["prescribed_date"], s["minutes_planned"]))
        _write_session_state(conn, assignment_id, s["number"], _session_state(s))
    for v in doc["visits"]:
        conn.execute(
            "INSERT INTO programme_visits (assignment_id, assessment_id, label, week, planned_date, prescribed_date,"
            " protocols, status, missed_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (assignment_id, v["assessment_id"], v["label"], v["week"], v["planned_date"], v["prescribed_date"],
             json.dumps(v["protocols"]), v["status"], v["missed_reason"]))
        _write_runs(conn, assignment_id, v["assessment_id"], flatten_runs(v["runs"]))
    _write_pauses(conn, assignment_id, flatten({**doc, "sessions": [], "visits": []})["pauses"])
    return assignment_id


def flatten_runs(runs: list[dict]) -> list[list]:
    return sorted([r["protocol"], r["session_id"], r["linked_at"], r["linked_by"]] for r in runs)


def _session_state(s: dict) -> list:
    return [s["status"], s["missed_reason"], s["dose_source"], s["dose"], s["trial_id"], s["recorded_at"],
            s["recorded_by"]]


def _write_session_state(conn, assignment_id: int, number: int, state: list) -> None:
    status, reason, source, dose, trial_id, recorded_at, recorded_by = state
    conn.execute("UPDATE programme_sessions SET status = ?, missed_reason = ?, dose_source = ?, dose = ?, trial_id = ?,"
                 " recorded_at = ?, recorded_by = ? WHERE assignment_id = ? AND number = ?",
                 (status, reason, source, None if dose is None else json.dumps(dose, sort_keys=True), trial_id,
                  recorded_at, recorded_by, assignment_id, number))


def _visit_id(conn, assignment_id: int, assessment_id: str) -> int:
    return int(conn.execute("SELECT id FROM programme_visits WHERE assignment_id = ? AND assessment_id = ?",
                            (assignment_id, assessment_id)).fetchone()[0])


def _write_runs(conn, assignment_id: int, assessment_id: str, runs: list[list]) -> None:
    visit_id = _visit_id(conn, assignment_id, assessment_id)
    conn.execute("DELETE FROM programme_visit_sessions WHERE visit_id = ?", (visit_id,))
    for protocol, session_id, linked_at, linked_by in runs:
        conn.execute("INSERT OR IGNORE INTO programme_visit_sessions (visit_id, protocol, session_id, linked_at,"
                     " linked_by) VALUES (?, ?, ?, ?, ?)", (visit_id, protocol, session_id, linked_at, linked_by))


def _write_pauses(conn, assignment_id: int, pauses: list[list]) -> None:
    conn.execute("DELETE FROM programme_pauses WHERE assignment_id = ?", (assignment_id,))
    for paused_from, resumed_on, reason, paused_by, resumed_by in pauses:
        conn.execute("INSERT INTO programme_pauses (assignment_id, paused_from, resumed_on, reason, paused_by,"
                     " resumed_by) VALUES (?, ?, ?, ?, ?, ?)",
                     (assignment_id, paused_from, resumed_on, reason, paused_by, resumed_by))


def write_field(conn, assignment_id: int, field: str, value) -> None:
    """Set one field (:mod:`station.store.programme_fields`) of a hub programme to ``value``."""
    if field == "status":
        status, paused_from, ended_on, end_reason = value
        conn.execute("UPDATE programme_assignments SET status = ?, paused_from = ?, ended_on = ?, end_reason = ?"
                     " WHERE id = ?", (status, paused_from, ended_on, end_reason, assignment_id))
    elif field == "pauses":
        _write_pauses(conn, assignment_id, value)
    else:
        kind, name, part = field.split(".", 2) if field.count(".") >= 2 else (None, None, None)
        if kind == "session" and part == "date":
            conn.execute("UPDATE programme_sessions SET planned_date = ? WHERE assignment_id = ? AND number = ?",
                         (value, assignment_id, int(name)))
        elif kind == "session" and part == "state":
            _write_session_state(conn, assignment_id, int(name), value)
        elif kind == "visit" and part == "date":
            conn.execute("UPDATE programme_visits SET planned_date = ? WHERE assignment_id = ? AND assessment_id = ?",
                         (value, assignment_id, name))
        elif kind == "visit" and part == "state":
            conn.execute("UPDATE programme_visits SET status = ?, missed_reason = ? WHERE assignment_id = ?"
                         " AND assessment_id = ?", (value[0], value[1], assignment_id, name))
        elif kind == "visit" and part == "runs":
            _write_runs(conn, assignment_id, name, value)
        else:
            raise ValueError(f"unknown programme field {field!r}")


def merge(conn, assignment_id: int, doc: dict, times: dict[str, str], station: str) -> tuple[dict, list, dict]:
    """Last writer wins per field of the checked, id-mapped ``doc`` into hub programme
    ``assignment_id``: ``(applied {field: value}, kept [fields], before {field: hub value})``
    (``before`` holds every field whose values differed)."""
    current = flatten(document_in(conn, assignment_id))
    incoming = flatten(doc)
    if set(incoming) != set(current):
        _fail("doc.sessions", "the programme's sessions or visits are not those the hub has for it (a programme's "
                              "layout never changes after it is assigned)")
    recorded = field_times(conn, assignment_id)
    applied, kept, before = {}, [], {}
    for field, value in incoming.items():
        if canonical(value) == canonical(current[field]):
            continue
        hub = recorded.get(field) or {}
        hub_time, incoming_time = hub.get("changed_at") or "", times.get(field, times["*"])
        if incoming_time == hub_time and hub.get("station") != station:
            # the station holds that very change, taken from the hub (:mod:`.programme_updates`),
            # where some of its ids do not map back (a trial recorded elsewhere): no conflict
            continue
        before[field] = current[field]
        if incoming_time >= hub_time:
            applied[field] = value
        else:
            kept.append(field)
    for field, value in applied.items():
        write_field(conn, assignment_id, field, value)
        set_field(conn, assignment_id, field, value, times.get(field, times["*"]), station)
    if applied:
        conn.execute("UPDATE programme_assignments SET updated_at = ? WHERE id = ?",
                     (max(times.get(f, times["*"]) for f in applied), assignment_id))
    return applied, kept, before


def record_fields(conn, assignment_id: int, times: dict[str, str], station: str) -> None:
    """After :func:`create`: each field with the station's time for it, and the station's name."""
    for field, value in flatten(document_in(conn, assignment_id)).items():
        set_field(conn, assignment_id, field, value, times.get(field, times["*"]), station)


def end_replaced(conn, patient_id: int, at: str, station: str) -> list[int]:
    """Keep one current programme of a hub patient, the one assigned last: end the others ("replaced
    by the programme assigned at NAME"), cancelling what they still plan; their fields stamped
    ``at`` by ``station``. Each ends on the clinic's day of ``at`` (:func:`~station.store.timefmt.local_day`,
    as a station's programme days are: not UTC's). Returns the programmes ended."""
    current = conn.execute("SELECT id, start_date FROM programme_assignments WHERE patient_id = ?"
                           " AND status IN ('active', 'paused')"
                           " ORDER BY created_at DESC, id DESC", (patient_id,)).fetchall()
    ended = []
    for row in current[1:]:
        assignment_id = int(row["id"])
        for table in ("programme_sessions", "programme_visits"):
            conn.execute(f"UPDATE {table} SET status = 'cancelled' WHERE assignment_id = ? AND status = 'planned'",
                         (assignment_id,))
        on = max(local_day(at), row["start_date"])
        conn.execute("UPDATE programme_pauses SET resumed_on = ?, resumed_by = ? WHERE assignment_id = ?"
                     " AND resumed_on IS NULL", (on, f"station:{station}", assignment_id))
        conn.execute("UPDATE programme_assignments SET status = 'ended', paused_from = NULL, ended_on = ?, end_reason = ?,"
                     " updated_at = ? WHERE id = ?",
                     (on, f"replaced by the programme assigned at {station}"[:200], at, assignment_id))
        stamp(conn, assignment_id, at, station)
        ended.append(assignment_id)
    return ended
