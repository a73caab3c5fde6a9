"""A training programme as "fields" with change times, for last-writer-wins merges across stations.

A programme (:mod:`station.store.programmes`) is assigned at one station (or on the hub) and
changed later, a piece at a time: a session moved, missed or given a dose, a visit moved or run,
the programme paused, resumed or ended. For the hub to merge the changes of the station that
assigned it with the hub's own (its users', and the games other stations played), each coherent
piece is one *field* with the time it last changed (table ``programme_field_times``, migration 9):

===================== ======================================================================
field                 value
===================== ======================================================================
``status``            ``[status, paused_from, ended_on, end_reason]``
``pauses``            every pause ``[paused_from, resumed_on, reason, paused_by, resumed_by]``
``session.N.date``    session number N's ``planned_date``
``session.N.state``   ``[status, missed_reason, dose_source, dose, trial_id, recorded_at,
                      recorded_by]`` (a dose and "done" change together)
``visit.A.date``      visit ``A``'s (its assessment id) ``planned_date``
``visit.A.state``     ``[status, missed_reason]``
``visit.A.runs``      its linked visit sessions ``[protocol, session_id, linked_at, linked_by]``
===================== ======================================================================

Sessions and visits are named by number and assessment id, which the layout of the template fixes
(the same at every station and on the hub); trial and session ids are the database's own (the hub
maps a station's to its own before comparing). :func:`stamp` records, in the transaction of a
change, which fields changed and when.
"""

from __future__ import annotations

import json

STATE_STATUSES = ("planned", "done", "missed", "cancelled")
PROGRAMME_STATUSES = ("active", "paused", "ended")


def canonical(value) -> str:
    """A field's value as the text stored and compared (JSON, keys sorted)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def flatten(doc: dict) -> dict[str, object]:
    """The fields of a programme document (as :meth:`Programmes.get` returns it, or the same
    shape read by :func:`document_in`), ``{field: value}``.

    >>> flatten({"status": "active", "paused_from": None, "ended_on": None, "end_reason": None,
    ...          "pauses": [], "sessions": [], "visits": []})
    {'status': ['active', None, None, None], 'pauses': []}
    """
    out: dict[str, object] = {
        "status": [doc["status"], doc["paused_from"], doc["ended_on"], doc["end_reason"]],
        "pauses": [[p["paused_from"], p["resumed_on"], p["reason"], p["paused_by"], p["resumed_by"]]
                   for p in doc["pauses"]],
    }
    for s in doc["sessions"]:
        out[f"session.{s['number']}.date"] = s["planned_date"]
        out[f"session.{s['number']}.state"] = [s["status"], s["missed_reason"], s["dose_source"], s["dose"],
                                               s["trial_id"], s["recorded_at"], s["recorded_by"]]
    for v in doc["visits"]:
        out[f"visit.{v['assessment_id']}.date"] = v["planned_date"]
        out[f"visit.{v['assessment_id']}.state"] = [v["status"], v["missed_reason"]]
        out[f"visit.{v['assessment_id']}.runs"] = sorted(
            [r["protocol"], r["session_id"], r["linked_at"], r["linked_by"]] for r in v["runs"])
    return out


def document_in(conn, assignment_id: int) -> dict | None:
    """The whole programme ``assignment_id`` read through ``conn`` (inside a write transaction,
    which another connection would not see yet): the assignment's columns, its ``sessions``,
    ``visits`` (with their ``runs``) and ``pauses``, as the sync sends it and :func:`flatten`
    takes it; None if absent. Visits carry their stored status (not the one a page derives from
    their runs)."""
    row = conn.execute("SELECT * FROM programme_assignments WHERE id = ?", (assignment_id,)).fetchone()
    if row is None:
        return None
    sessions = []
    for s in conn.execute("SELECT * FROM programme_sessions WHERE assignment_id = ? ORDER BY number",
                          (assignment_id,)).fetchall():
        sessions.append({"number": s["number"], "week": s["week"], "prescribed_date": s["prescribed_date"],
                         "minutes_planned": s["minutes_planned"], "planned_date": s["planned_date"], "status": s["status"],
                         "missed_reason": s["missed_reason"], "dose_source": s["dose_source"],
                         "dose": json.loads(s["dose"]) if s["dose"] else None, "trial_id": s["trial_id"],
                         "recorded_at": s["recorded_at"], "recorded_by": s["recorded_by"]})
    visits = []
    for v in conn.execute("SELECT * FROM programme_visits WHERE assignment_id = ? ORDER BY week, id",
                          (assignment_id,)).fetchall():
        runs = [{"protocol": r["protocol"], "session_id": r["session_id"], "linked_at": r["linked_at"],
                 "linked_by": r["linked_by"]} for r in conn.execute(
            "SELECT * FROM programme_visit_sessions WHERE visit_id = ? ORDER BY linked_at, session_id", (v["id"],))]
        visits.append({"assessment_id": v["assessment_id"], "label": v["label"], "week": v["week"],
                       "prescribed_date": v["prescribed_date"], "protocols": json.loads(v["protocols"]),
                       "planned_date": v["planned_date"], "status": v["status"],
                       "missed_reason": v["missed_reason"], "runs": runs})
    pauses = [dict(p) for p in conn.execute(
        "SELECT paused_from, resumed_on, reason, paused_by, resumed_by FROM programme_pauses"
        " WHERE assignment_id = ? ORDER BY id", (assignment_id,))]
    return {"id": row["id"], "patient_id": row["patient_id"], "template_name": row["template_name"],
            "template": json.loads(row["template"]), "start_date": row["start_date"], "status": row["status"],
            "paused_from": row["paused_from"], "ended_on": row["ended_on"], "end_reason": row["end_reason"],
            "created_at": row["created_at"], "created_by": row["created_by"], "updated_at": row["updated_at"],
            "pauses": pauses, "sessions": sessions, "visits": visits}


def field_times(conn, assignment_id: int) -> dict[str, dict]:
    """``{field: {"value": text, "changed_at": iso, "station": name or None}}`` as recorded."""
    return {r["field"]: {"value": r["value"], "changed_at": r["changed_at"], "station": r["station"]}
            for r in conn.execute("SELECT field, value, changed_at, station FROM programme_field_times"
                                  " WHERE assignment_id = ?", (assignment_id,))}


def set_field(conn, assignment_id: int, field: str, value, changed_at: str, station: str | None) -> None:
    """Record that ``field`` became ``value`` at ``changed_at`` (by ``station``; None: here)."""
    conn.execute("DELETE FROM programme_field_times WHERE assignment_id = ? AND field = ?", (assignment_id, field))
    conn.execute("INSERT INTO programme_field_times (assignment_id, field, value, changed_at, station)"
                 " VALUES (?, ?, ?, ?, ?)", (assignment_id, field, canonical(value), changed_at, station))


def stamp(conn, assignment_id: int, now: str, station: str | None = None) -> list[str]:
    """In a change's transaction: give ``now`` to every field of the programme whose value differs
    from the one recorded (all of them for a programme never stamped: a new one, or one assigned
    before migration 9); ``station``: the station whose change it was (on the hub; None: made
    here); returns the fields changed."""
    doc = document_in(conn, assignment_id)
    if doc is None:
        return []
    recorded = field_times(conn, assignment_id)
    changed = []
    for field, value in flatten(doc).items():
        old = recorded.get(field)
        if old is not None and old["value"] == canonical(value):
            continue
        set_field(conn, assignment_id, field, value, now, station)
        changed.append(field)
    return changed
