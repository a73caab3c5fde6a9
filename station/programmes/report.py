"""What the programme pages show, built from the store: plan, adherence, dose and change.

:func:`programme_document`: one assigned programme in full — its template (as assigned), the
calendar of sessions and visits, where the patient is (week k of n, the next session and visit),
adherence (:mod:`.adherence`), dose per session, and each outcome over the assessment visits with
its change from baseline against the published MDC (:mod:`.change`), grouped as the programme
names them. :func:`programme_glance`: the short version for the patient page.

An outcome's value at a visit is the protocol's own summary (:func:`station.protocols.results.summarise`,
e.g. the mean of the valid trials' sway velocity, or the best time held) of the latest station
session that ran that protocol for the visit, recomputed from the stored trials so a clinician's
later judgement of a trial counts.
"""

from __future__ import annotations

from station.programmes.adherence import PARTIAL_BELOW, adherence, is_partial
from station.programmes.change import (at_programme_baseline, comparable_mdc, no_mdc_words, outcome_change,
                                       population_warning)
from station.programmes.dose import NoDoseInTrial, dose_from_trial
from station.protocols.report import stored_result
from station.protocols.results import summarise
from station.protocols.schema import Protocol
from station.reference.measures import unit_of
from station.store.timefmt import local_day


def _visit_value(store, visit: dict, outcome: dict,
                 protocols: dict[str, Protocol]) -> tuple[float | None, int | None, str | None]:
    """The outcome's value at the visit, the station session it was measured in and the clinic's day of that
    session (the visit's planned day is not when it was measured: a baseline run two days late)."""
    protocol = protocols.get(outcome["protocol"])
    runs = [r for r in visit["runs"] if r["protocol"] == outcome["protocol"] and r["complete_trials"] > 0]
    if protocol is None or not runs:
        return None, None, None
    session_id = runs[-1]["session_id"]
    session = store.sessions.get(session_id)
    measured_on = local_day(session["started_at"])
    results = []
    for line in session["trials"]:
        result = stored_result(protocol, store.trials.get(line["id"]))
        if result is not None:
            results.append(result)
    summary = summarise(protocol, results)
    for c in summary["conditions"]:
        if c["id"] == outcome["condition"]:
            value = c["values"].get(outcome["metric"])
            return (None if value is None else float(value)), session_id, measured_on
    return None, session_id, measured_on


def _age_y(patient: dict, today: str) -> float | None:
    """The patient's age (years, from the birth year: ±1) in the year of the programme's ``today``."""
    return float(int(today[:4]) - int(patient["birth_year"])) if patient.get("birth_year") else None


def _outcomes(store, doc: dict, protocols: dict[str, Protocol], patient: dict, age_y: float | None) -> list[dict]:
    template = doc["template"]
    visits = [v for v in doc["visits"]]
    groups: dict[str, list[dict]] = {}
    for outcome in template["outcomes"]:
        points = []
        for visit in visits:
            value, session_id, measured_on = _visit_value(store, visit, outcome, protocols)
            points.append({"visit_id": visit["id"], "assessment_id": visit["assessment_id"], "label": visit["label"],
                           "week": visit["week"], "date": visit["planned_date"], "status": visit["status"],
                           "session_id": session_id, "measured_on": measured_on, "value": value})
        mdc, note = comparable_mdc(outcome["metric"], protocols.get(outcome["protocol"]), outcome["condition"],
                                   patient.get("conditions") or [], age_y)
        if mdc is not None:
            mdc, note = at_programme_baseline(mdc, points)
        entry = {**outcome, "key": f"{outcome['protocol']}/{outcome['condition']}/{outcome['metric']}",
                 "unit": unit_of(outcome["metric"]), "mdc": mdc, "mdc_note": note,
                 "mdc_words": None if mdc is not None else no_mdc_words(note),
                 "points": points, "changes": outcome_change(points, outcome["better"], mdc, note,
                                                                 metric=outcome["metric"])}
        groups.setdefault(outcome["group"], []).append(entry)
    return [{"group": name, "outcomes": items} for name, items in groups.items()]


def _position(doc: dict, today: str) -> dict:
    weeks = doc["template"]["schedule"]["weeks"]
    planned = sorted((s for s in doc["sessions"] if s["status"] == "planned"), key=lambda s: (s["planned_date"], s["number"]))
    upcoming = [s for s in planned if s["planned_date"] >= today]
    overdue = [s for s in planned if s["planned_date"] < today]
    visits = sorted((v for v in doc["visits"] if v["status"] == "planned"), key=lambda v: (v["planned_date"], v["week"]))
    # the week follows the calendar (sessions walked ahead of their day do not move it on): the week of
    # the latest session planned on or before today (before the pause, while paused; a resumed pause
    # moved the planned dates on)
    until = min(today, doc["paused_from"]) if doc["status"] == "paused" and doc.get("paused_from") else today
    if doc["status"] == "ended":
        week = max((s["week"] for s in doc["sessions"] if s["status"] in ("done", "missed")), default=0)
    elif today < doc["start_date"]:
        week = 0
    elif planned:
        week = max((s["week"] for s in doc["sessions"] if s["status"] != "cancelled" and s["planned_date"] <= until),
                   default=1)
    else:
        week = weeks
    return {
        "week": week, "weeks": weeks,
        "next_session": upcoming[0] if upcoming else None,
        "overdue_sessions": len(overdue),
        "next_visit": visits[0] if visits else None,
        "finished": doc["status"] == "ended" or (not planned and not visits),
    }


def done_on(session: dict) -> str | None:
    """The clinic's day a done session was done: its dose's ``done_on`` (kept when it was not the
    day the dose was recorded), else the day its dose was recorded, None when not done."""
    if session["status"] != "done":
        return None
    dose = session.get("dose") or {}
    if dose.get("done_on"):
        return dose["done_on"]
    return local_day(session["recorded_at"]) if session.get("recorded_at") else None


def _doses(doc: dict) -> list[dict]:
    out = []
    for s in doc["sessions"]:
        dose = s["dose"] or {}
        out.append({"id": s["id"], "number": s["number"], "week": s["week"], "planned_date": s["planned_date"],
                    "done_on": done_on(s), "partial": is_partial(s),
                    "status": s["status"], "minutes_planned": s["minutes_planned"], "source": s["dose_source"],
                    "trial_id": s["trial_id"], "recorded_by": s["recorded_by"], "recorded_at": s["recorded_at"],
                    **{k: dose.get(k) for k in ("minutes", "steps", "cadence_steps_min", "speed_m_s",
                                                "belt_speed_m_s", "rpe", "notes")}})
    return out




def _walking_trials(store, patient_id: int, session_protocol: str | None) -> list[dict]:
    """The patient's recent walking trials not yet taken as a session's dose, with their dose,
    newest first: only the programme's session protocol's when it names one (a walk test's few
    metres are no training dose), else every walking protocol's (the page groups them)."""
    out = []
    for trial in store.programmes.unlinked_trials(patient_id, protocol=session_protocol):
        try:
            dose = dose_from_trial(trial)
        except NoDoseInTrial:
            continue
        out.append({"id": trial["id"], "protocol": trial["protocol"], "started_at": trial["started_at"], "dose": dose})
    return out


def _visits(store, doc: dict, today: str) -> list[dict]:
    """The visits, each planned one whose day has come with ``offered_runs``: the patient's tests of its
    protocols not yet run for it, measured on its day (a baseline measured the morning the programme
    began, before it was assigned: the page offers to take them, :meth:`Programmes.link_visit_session`)."""
    out = []
    for v in doc["visits"]:
        missing = [p for p in v["protocols"] if p not in v["done_protocols"]]
        offered = []
        if doc["status"] in ("active", "paused") and v["status"] == "planned" and missing and v["planned_date"] <= today:
            linked = {r["session_id"] for r in v["runs"]}
            offered = [r for r in store.programmes.runs_on_day(doc["patient_id"], missing, v["planned_date"])
                       if r["session_id"] not in linked]
        out.append({**v, "offered_runs": offered})
    return out


def programme_document(store, assignment_id: int, protocols: dict[str, Protocol], *, actor) -> dict:
    """The programme page's document (see the module docstring); audited as a view."""
    doc = store.programmes.view(assignment_id, actor=actor)
    today = store.programmes.today()
    patient = store.patients.get(doc["patient_id"])
    age_y = _age_y(patient, today)
    return {
        "id": doc["id"], "status": doc["status"], "start_date": doc["start_date"], "today": today,
        "paused_from": doc["paused_from"], "ended_on": doc["ended_on"], "end_reason": doc["end_reason"],
        "created_at": doc["created_at"], "created_by": doc["created_by"],
        "patient": {"id": patient["id"], "identifier": patient["identifier"]},
        "template": doc["template"],
        # the programme written for other people than this patient (a stroke programme, no stroke recorded)
        "population_warning": population_warning(doc["template"]["programme"]["population"],
                                                 patient.get("conditions") or [], age_y),
        "position": _position(doc, today),
        "sessions": _doses(doc),
        "visits": _visits(store, doc, today),
        "pauses": doc["pauses"],
        "adherence": adherence(doc["sessions"], today),
        "partial_below": PARTIAL_BELOW,
        "outcome_groups": _outcomes(store, doc, protocols, patient, age_y),
        "walking_trials": _walking_trials(store, doc["patient_id"], doc["template"]["schedule"].get("session_protocol")),
    }


def _programme_links(store, patient_id: int) -> dict:
    """The patient's walks that a programme counted as one of its sessions, and the tests a programme's visit took
    (its baseline, mid-point, end): ``{"runs": {trial id (text): {"assignment_id", "title", "number", "status",
    "ended_on", "ended"}}, "visits": {station session id (text): [{"assignment_id", "title", "status", "ended_on",
    "ended", "visit_id", "label", "assessment_id", "week", "protocol"}]}}``, every programme of the patient's, not
    only the current one. ``ended``: the programme has ended, so the run is not one of the current programme's
    sessions, nor the test its baseline (a clinician must not read it as such). Not audited (:func:`visit_marks`)."""
    runs, visits = {}, {}
    for listed in store.programmes.list_for_patient(patient_id):
        programme = store.programmes.get(listed["id"])
        title = str((programme["template"].get("programme") or {}).get("title") or programme["template_name"])
        whose = {"assignment_id": programme["id"], "title": title, "status": programme["status"],
                 "ended_on": programme["ended_on"], "ended": programme["status"] == "ended"}
        for s in programme["sessions"]:
            if s["trial_id"] is not None:
                runs[str(s["trial_id"])] = {**whose, "number": s["number"]}
        for v in programme["visits"]:
            for run in v["runs"]:
                visits.setdefault(str(run["session_id"]), []).append(
                    {**whose, "visit_id": v["id"], "label": v["label"], "assessment_id": v["assessment_id"],
                     "week": v["week"], "protocol": run["protocol"]})
    return {"runs": runs, "visits": visits}


def visit_marks(store, results: dict) -> dict:
    """The programme marks of one visit's results (:func:`station.protocols.report.session_results`' document):
    every programme's marks (:func:`_programme_links`' document) cut to the visit's trials and sessions. Not audited:
    they are part of the visit, whose view its results audit once (a visit page asked
    ``GET /api/patients/<id>/programme-runs`` besides, one ``programme.view`` per view of any visit, until s26)."""
    links = _programme_links(store, results["patient"]["id"])
    trials = {str(t["id"]) for section in results["protocols"] for c in section.get("conditions") or []
              for t in c.get("trials") or []}
    sessions = {str(s["id"]) for s in results["sessions"]}
    return {"runs": {k: v for k, v in links["runs"].items() if k in trials},
            "visits": {k: v for k, v in links["visits"].items() if k in sessions}}


def mark_words(mark: dict, what: str) -> str:
    """Whose a programme's walk or visit test was, as the visit results say it (results.js ``programmeWords``), with
    the day ended as the PDF writes a date.

    >>> mark = {"title": "Backward walking", "ended": True, "ended_on": "2026-12-06"}
    >>> mark_words(mark, "Baseline"), mark_words({**mark, "ended": False}, "Session 2")
    ('Baseline of the ended programme Backward walking (ended 2026-12-06)', 'Session 2 of the programme Backward walking')
    """
    if not mark.get("ended"):
        return f"{what} of the programme {mark['title']}"
    return f"{what} of the ended programme {mark['title']}" + (f" (ended {mark['ended_on']})" if mark.get("ended_on") else "")


def programme_glance(store, patient_id: int, protocols: dict[str, Protocol], *, actor) -> dict:
    """The patient's current programme (or the last one) in short, for the patient page:
    ``{"programme": None}`` when the patient never had one."""
    listed = store.programmes.list_for_patient(patient_id)
    if not listed:
        return {"programme": None, "count": 0}
    current = next((a for a in listed if a["status"] in ("active", "paused")), listed[0])
    full = programme_document(store, current["id"], protocols, actor=actor)
    overall = full["adherence"]["overall"]
    outcomes = [{"label": o["label"], "unit": o["unit"], "better": o["better"], "metric": o["metric"],
                 "values": [p["value"] for p in o["points"]],
                 "last_change": o["changes"][-1] if o["changes"] else None}
                for g in full["outcome_groups"] for o in g["outcomes"]]
    return {
        "count": len(listed),
        "programme": {
            "id": full["id"], "title": full["template"]["programme"]["title"], "status": full["status"],
            "start_date": full["start_date"], "position": full["position"],
            "adherence": {k: overall[k] for k in ("sessions_done", "sessions_planned", "sessions_due", "sessions_missed",
                                                  "minutes_done", "minutes_planned", "sessions_done_of_planned",
                                                  "sessions_done_of_due", "sessions_partial", "sessions_full",
                                                  "minutes_due", "minutes_done_of_due")},
            "outcomes": outcomes,
        },
    }
