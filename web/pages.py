"""The dashboard's pages (HTML shells; their scripts load the data through the JSON API).

``/`` (to the patients), ``/patients`` (list, search, add), ``/patients/<id>`` (edit, archive,
erase, sessions, exports), ``/patients/<id>/history`` (key measures over sessions),
``/live`` (live view and guided trial; ``?patient=<id>`` preselects a patient),
``/sessions/<id>`` (results of a session against norms), ``/trials/<id>`` (one trial: plots,
measures, exports). Sign-in, setup and the account page are :mod:`web.auth`'s.

Every page works offline: scripts and styles come from ``web/static`` (no inline code: the
Content-Security-Policy forbids it); the page's own parameters travel in ``data-`` attributes.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from station.store.db import NotFound
from web.security import current_user, store

bp = Blueprint("pages", __name__)


def _plate() -> dict:
    plate = current_app.config["STATION_CONFIG"].plate
    return {"width_cm": plate.width_cm, "depth_cm": plate.depth_cm}


def _page(template: str, **context):
    user = current_user()
    return render_template(template, is_admin=user is not None and user.role == "admin", **context)


def _exists(getter, record_id: int):
    try:
        getter(record_id)
    except NotFound:
        return False
    return True


@bp.get("/")
def home():
    return redirect(url_for("pages.patients_page"))


@bp.get("/patients")
def patients_page():
    return _page("dashboard/patients.html", page="patients")


@bp.get("/patients/<int:patient_id>")
def patient_page(patient_id: int):
    if not _exists(store().patients.get, patient_id):
        return _page("dashboard/missing.html", what=f"patient #{patient_id}"), 404
    return _page("dashboard/patient.html", page="patients", patient_id=patient_id)


@bp.get("/patients/<int:patient_id>/history")
def history_page(patient_id: int):
    if not _exists(store().patients.get, patient_id):
        return _page("dashboard/missing.html", what=f"patient #{patient_id}"), 404
    return _page("dashboard/history.html", page="patients", patient_id=patient_id)


@bp.get("/live")
def live_page():
    patient = request.args.get("patient", "")
    return _page("dashboard/live.html", page="live", patient_id=patient if patient.isdigit() else "", plate=_plate())


@bp.get("/sessions/<int:session_id>")
def results_page(session_id: int):
    if not _exists(store().sessions.get, session_id):
        return _page("dashboard/missing.html", what=f"session #{session_id}"), 404
    return _page("dashboard/results.html", page="patients", session_id=session_id)


@bp.get("/trials/<int:trial_id>")
def trial_page(trial_id: int):
    if not _exists(store().trials.get, trial_id):
        return _page("dashboard/missing.html", what=f"trial #{trial_id}"), 404
    return _page("dashboard/trial.html", page="patients", trial_id=trial_id)
