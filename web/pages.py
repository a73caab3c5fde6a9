"""The dashboard's pages (HTML shells; their scripts load the data through the JSON API).

``/`` (to the patients), ``/patients`` (list, search, add), ``/patients/<id>`` (edit, archive,
erase, sessions, exports), ``/patients/<id>/history`` (key measures over sessions),
``/live`` (live view and guided trial; ``?patient=<id>`` preselects a patient, ``&programme=<id>``
links back to the programme the test was started from),
``/sessions/<id>`` (results of the visit the session belongs to, against norms), ``/trials/<id>``
(one trial: plots, measures, validity, exports), ``/admin/users``, ``/admin/settings`` and
``/admin/audit`` (administrators). Unknown addresses and refused methods get a page in the
station's style (the API keeps its JSON errors). Sign-in, setup and the account page are
:mod:`web.auth`'s.

Every page works offline: scripts and styles come from ``web/static`` (no inline code: the
Content-Security-Policy forbids it); the page's own parameters travel in ``data-`` attributes.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for

from station.reports import fhir_bundle
from station.store.db import NotFound
from station.store.patients import IDENTIFIER_MAX_CHARS, IDENTIFIER_PATTERN
from web.error_pages import error_page
from web.security import actor, api_error, current_user, is_api_request, roles, store

bp = Blueprint("pages", __name__)


@bp.app_context_processor
def _clinic_name():
    """``clinic_name()`` for the header (the administrators' setting; '' when unset)."""

    def clinic_name() -> str:
        try:
            return store().settings.get("clinic_name") or ""
        except Exception:  # the header must render even when the store cannot answer
            return ""

    return {"clinic_name": clinic_name}


@bp.app_context_processor
def _identifier_rule():
    """The patient form's identifier rule as the station checks it (station.store.patients): its ``pattern``
    and ``maxlength`` rendered from the one source, so the browser refuses what the station would."""
    return {"identifier_pattern": IDENTIFIER_PATTERN, "identifier_max_chars": IDENTIFIER_MAX_CHARS}


def _plate() -> dict:
    plate = current_app.config["STATION_CONFIG"].plate
    return {"width_cm": plate.width_cm, "depth_cm": plate.depth_cm}


def _page(template: str, **context):
    user = current_user()
    return render_template(template, is_admin=user is not None and user.role == "admin", **context)


def page_shown(action: str, patient_id: int, audit_object: str) -> None:
    """Audit a page whose heading names the patient ``patient_id``: once per login session and patient
    (:meth:`web.exposure.ExposureAudit.shown_page`); the API its script then asks audits what it answers."""
    current_app.extensions["station_exposure_audit"].shown_page(session.get("sid", ""), action, patient_id,
                                                                 audit_object, actor())


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
    return _page("dashboard/patients.html", page="patients", hub=current_app.config.get("SYNC") is not None)


@bp.get("/patients/<int:patient_id>")
def patient_page(patient_id: int):
    if not _exists(store().patients.get, patient_id):
        return _page("dashboard/missing.html", what=f"patient #{patient_id}"), 404
    return _page("dashboard/patient.html", page="patients", patient_id=patient_id,
                 fhir_parts=fhir_bundle.history_parts(store(), patient_id),
                 fhir_part_trials=fhir_bundle.HISTORY_BUNDLE_TRIALS)


@bp.get("/patients/<int:patient_id>/history")
def history_page(patient_id: int):
    if not _exists(store().patients.get, patient_id):
        return _page("dashboard/missing.html", what=f"patient #{patient_id}"), 404
    return _page("dashboard/history.html", page="patients", patient_id=patient_id)


@bp.get("/live")
def live_page():
    patient = request.args.get("patient", "")
    programme = request.args.get("programme", "")  # started from a programme's visit or session: the way back
    return _page("dashboard/live.html", page="live", patient_id=patient if patient.isdigit() else "", plate=_plate(),
                 programme_id=programme if programme.isdigit() and len(programme) < 19 else "")


@bp.get("/sessions/<int:session_id>")
def results_page(session_id: int):
    try:
        patient_id = store().sessions.get(session_id)["patient_id"]  # the page's own links, there from the start
        # the title as its script words it, there from the start: filled in later, a title that wraps on a
        # phone would push the buttons under it down while a finger is on its way
        identifier = store().patients.get(patient_id)["identifier"]
    except NotFound:
        return _page("dashboard/missing.html", what=f"session #{session_id}"), 404
    page_shown("session.view", patient_id, f"session:{session_id}")  # the heading names the patient
    return _page("dashboard/results.html", page="patients", session_id=session_id, patient_id=patient_id,
                 heading=f"Visit results · {identifier}", identifier=identifier)


@bp.get("/trials/<int:trial_id>")
def trial_page(trial_id: int):
    if not _exists(store().trials.get, trial_id):
        return _page("dashboard/missing.html", what=f"trial #{trial_id}"), 404
    return _page("dashboard/trial.html", page="patients", trial_id=trial_id)


@bp.get("/admin/users")
@roles("admin")
def admin_users_page():
    return _page("dashboard/admin_users.html", page="admin")


@bp.get("/admin/settings")
@roles("admin")
def admin_settings_page():
    return _page("dashboard/admin_settings.html", page="admin")


@bp.get("/admin/audit")
@roles("admin")
def admin_audit_page():
    return _page("dashboard/admin_audit.html", page="admin")


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def not_found_page(exc):
    """Unknown addresses (404) and refused methods (405): the API's JSON error, else a page."""
    code = getattr(exc, "code", None) or 500
    if is_api_request():
        return api_error(code, getattr(exc, "description", None) or str(exc))
    return error_page(code)
