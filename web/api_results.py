"""JSON API of the results pages: a session's results against norms, a patient's history.

``GET /api/sessions/<id>/results`` (audited as one view of the session, or of its visit, with the
programme marks of its trials and tests, ``programme_marks``) and
``GET /api/patients/<id>/history`` (audited as a view of the patient); built by
:mod:`station.protocols.report`. ``GET /api/trials/<id>/steps``: a walk trial's vertical
acceleration with its steps (:mod:`web.walk_trace`; audited as ``trial.frames``, except as a trace of a visit
whose view this login session recorded, ``?in_visit=<id>``: :mod:`web.visit_views`). ``?visit=1`` on the
results gives the whole visit the session belongs to. ``GET /api/measures``: what each measure key
means (:mod:`station.reference.measures`). See ``docs/api.md``.
"""

from __future__ import annotations

import math

from flask import Blueprint, current_app, request

from station.programmes.report import visit_marks
from station.protocols.report import patient_history, session_results
from station.reference import measures
from station.store.db import ValidationError
from web.api_station import station_protocols
from web.jsonio import query_int
from web.security import actor, store
from web.visit_views import in_visit_view, remember_view
from web.walk_trace import steps_trace, stored_frames

bp = Blueprint("api_results", __name__, url_prefix="/api")


@bp.get("/sessions/<int:session_id>/results")
def results(session_id: int):
    protocols, problem = station_protocols()
    visit = request.args.get("visit", "no") in ("1", "yes", "true")
    doc = session_results(store(), session_id, protocols, actor=actor(), wall_clock=current_app.config["WALL_CLOCK"],
                          visit=visit)
    doc["protocols_problem"] = problem
    doc["programme_marks"] = visit_marks(store(), doc)  # part of the visit's one audited view
    remember_view(doc)  # and the page's traces of its trials, asked with ?in_visit= (web.visit_views)
    return doc


@bp.get("/patients/<int:patient_id>/history")
def history(patient_id: int):
    protocols, _problem = station_protocols()
    return patient_history(store(), patient_id, protocols, actor=actor(), wall_clock=current_app.config["WALL_CLOCK"])


@bp.get("/measures")
def measure_catalogue():
    """Label, unit, group, meaning and reference of every sway measure (for the measures tables), and
    what a walk over the gates' gait measures span (``walk_spans``, as the PDF says it)."""
    from station.protocols.walk_words import TIMED_WALK_SPANS

    return {"groups": list(measures.GROUPS), "measures": {k: measures.describe(k) for k in measures.known_keys()},
            "walk_spans": TIMED_WALK_SPANS}


def _query_seconds(name: str) -> float | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ValidationError({name: "must be a number of seconds from the start of the trial (0 or more)"})
    return value


@bp.get("/trials/<int:trial_id>/steps")
def trial_steps(trial_id: int):
    """A walk trial's vertical acceleration in ``[from_s, to_s]`` with its steps (initial contacts)."""
    from_s, to_s = _query_seconds("from_s"), _query_seconds("to_s")
    if from_s is not None and to_s is not None and to_s <= from_s:
        raise ValidationError({"to_s": "must be after from_s"})
    max_points = query_int("max_points", 4000, 10, 20_000)
    trial = store().trials.get(trial_id)
    seen = in_visit_view(trial)  # the visit page's trace of a visit whose view was recorded: part of it
    # only the chunks and fields the window's trace reads (seq and the acceleration), never the whole frames at once:
    # a 2-hour session's are 100 MB
    doc = steps_trace(trial, stored_frames(store().trials, trial_id), from_s=from_s, to_s=to_s, max_points=max_points)
    if not seen:
        store().audit.record(actor(), "trial.frames", patient_id=trial["patient_id"], object=f"trial:{trial_id}")
    return doc
