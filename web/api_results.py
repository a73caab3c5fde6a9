"""JSON API of the results pages: a session's results against norms, a patient's history.

``GET /api/sessions/<id>/results`` (audited as a view of the session) and
``GET /api/patients/<id>/history`` (audited as a view of the patient); built by
:mod:`station.protocols.report`. See ``docs/api.md``.
"""

from __future__ import annotations

from flask import Blueprint, current_app

from station.protocols.report import patient_history, session_results
from web.api_station import station_protocols
from web.security import actor, store

bp = Blueprint("api_results", __name__, url_prefix="/api")


@bp.get("/sessions/<int:session_id>/results")
def results(session_id: int):
    protocols, problem = station_protocols()
    doc = session_results(store(), session_id, protocols, actor=actor(), wall_clock=current_app.config["WALL_CLOCK"])
    doc["protocols_problem"] = problem
    return doc


@bp.get("/patients/<int:patient_id>/history")
def history(patient_id: int):
    protocols, _problem = station_protocols()
    return patient_history(store(), patient_id, protocols, actor=actor())
