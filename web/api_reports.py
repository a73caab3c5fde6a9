"""Downloads of PDF reports and FHIR bundles (DESIGN.md §10; built by :mod:`station.reports`).

``GET /api/sessions/<id>/report.pdf`` (the session's visit), ``GET /api/patients/<id>/report.pdf``
(history), ``GET /api/assignments/<id>/report.pdf`` (a training programme), each with
``?paper=a4|letter`` (default ``[clinic] paper`` of the configuration);
``GET /api/trials/<id>/fhir.json``, ``GET /api/sessions/<id>/fhir.json`` (the visit) and
``GET /api/patients/<id>/fhir.json`` (the whole history; ``?part=N`` one part of a history too long
for one bundle, which is refused with ``409`` naming its parts). Any signed-in user (patient data: login
required like every page); GET downloads need no CSRF token. Each is audited as an export
(``patient.export``, a trial's bundle as ``trial.export``). See ``docs/api.md``.
"""

from __future__ import annotations

import functools

from flask import Blueprint, Response, current_app, request

from station.reports.build import make_report, report_patient_id
from station.reports.context import clinic_of
from station.reports.fhir_bundle import NothingToExport, patient_bundle, session_bundle, trial_bundle
from station.store.db import ValidationError
from web.api_station import station_protocols
from web.downloads import attachment, patient_file_name
from web.jsonio import query_int
from web.places import export_place
from web.security import actor, api_error, store

bp = Blueprint("api_reports", __name__, url_prefix="/api")

FHIR_MIMETYPE = "application/fhir+json"


@bp.errorhandler(NothingToExport)
def _nothing(exc: NothingToExport):
    return api_error(409, str(exc))


def _paper() -> str:
    paper = request.args.get("paper") or current_app.config["STATION_CONFIG"].clinic.paper
    if paper not in ("a4", "letter"):
        raise ValidationError({"paper": "must be a4 or letter"})
    return paper


def _pdf(kind: str, object_id: int) -> Response:
    paper = _paper()
    patient = store().patients.get(report_patient_id(store(), kind, object_id))
    protocols, _problem = station_protocols()
    pdf = make_report(kind, store(), object_id, protocols=protocols,
                      clinic=clinic_of(store(), current_app.config["STATION_CONFIG"]), actor=actor(), paper=paper,
                      wall_clock=current_app.config["WALL_CLOCK"])
    what = {"session": f"session-{object_id}", "patient": "history", "programme": f"programme-{object_id}"}[kind]
    return attachment(pdf, "application/pdf", patient_file_name(patient["id"], what, "pdf"))  # no identifier in the name


@bp.get("/sessions/<int:session_id>/report.pdf")
@export_place
def session_report(session_id: int):
    return _pdf("session", session_id)


@bp.get("/patients/<int:patient_id>/report.pdf")
@export_place
def patient_report(patient_id: int):
    return _pdf("patient", patient_id)


@bp.get("/assignments/<int:assignment_id>/report.pdf")
@export_place
def programme_report(assignment_id: int):
    return _pdf("programme", assignment_id)


def _fhir(build, object_id: int, filename: str) -> Response:
    protocols, _problem = station_protocols()
    text = build(store(), object_id, protocols, actor=actor(), wall_clock=current_app.config["WALL_CLOCK"])
    return attachment(text, FHIR_MIMETYPE, filename)


@bp.get("/trials/<int:trial_id>/fhir.json")
@export_place
def trial_fhir(trial_id: int):
    store().trials.get(trial_id)
    return _fhir(trial_bundle, trial_id, f"trial-{trial_id}.fhir.json")


@bp.get("/sessions/<int:session_id>/fhir.json")
@export_place
def session_fhir(session_id: int):
    patient_id = store().sessions.get(session_id)["patient_id"]
    return _fhir(session_bundle, session_id, patient_file_name(patient_id, f"session-{session_id}", "fhir.json"))


@bp.get("/patients/<int:patient_id>/fhir.json")
@export_place
def patient_fhir(patient_id: int):
    store().patients.get(patient_id)  # (404 for an unknown patient)
    part = query_int("part", 0, low=1, high=100_000) or None  # a long history: one part (409 names how many)
    return _fhir(functools.partial(patient_bundle, part=part), patient_id,
                 patient_file_name(patient_id, "history" + ("" if part is None else f"-part{part}"), "fhir.json"))
