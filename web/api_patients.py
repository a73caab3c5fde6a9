"""JSON API for patients and their sessions (visits). Every access is audited by the store.

``GET/POST /api/patients``, ``POST /api/patients/search``, ``GET/PATCH/DELETE /api/patients/<id>``,
``GET /api/patients/<id>/export.csv``, ``POST /api/patients/<id>/sessions``,
``GET/PATCH /api/sessions/<id>``, ``GET /api/conditions``. See ``docs/api.md``.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request, url_for

from station.store.conditions import KNOWN_CONDITIONS
from station.store.db import ValidationError
from station.store.export import patient_history_csv
from station.store.patients import MAX_PAGE
from web.downloads import attachment, patient_file_name
from web.jsonio import body_int, json_body, query_int
from web.places import export_place
from web.security import actor, api_error, roles, store

bp = Blueprint("api_patients", __name__, url_prefix="/api")


LIST_PARAMETERS = ("condition", "archived", "sort", "limit", "offset")
"""The query of ``GET /api/patients``: no identifier, which would stay in URLs (proxies' logs, the
browser's history); a search by identifier is ``POST /api/patients/search``."""
SEARCH_FIELDS = ("q", *LIST_PARAMETERS)
SEARCH_MAX_BYTES = 4 * 1024


@bp.get("/patients")
def list_patients():
    args = request.args
    if "q" in args:
        return api_error(400, 'search by identifier with POST /api/patients/search and {"q": "..."} in the body, '
                              "never in the URL (proxies, logs and the browser's history keep URLs)")
    unknown = [k for k in args if k not in LIST_PARAMETERS]
    if unknown:
        raise ValidationError({k[:40]: f"unknown query parameter; allowed: {', '.join(LIST_PARAMETERS)}" for k in unknown})
    return store().patients.search(
        condition=args.get("condition") or None,
        archived=args.get("archived", "no"),
        sort=args.get("sort", "identifier"),
        limit=query_int("limit", 50, 1, MAX_PAGE),
        offset=query_int("offset", 0, 0, 10**9),
        actor=actor(),
    )


@bp.post("/patients/search")
def search_patients():
    """``GET /api/patients`` with ``q`` (a part of the identifier), its parameters in a JSON body."""
    request.max_content_length = SEARCH_MAX_BYTES
    data = json_body()
    problems = {k[:40]: f"unknown field; allowed: {', '.join(SEARCH_FIELDS)}" for k in data if k not in SEARCH_FIELDS}
    problems.update({k: "must be text" for k in ("q", "condition", "archived", "sort")
                     if data.get(k) is not None and not isinstance(data[k], str)})
    if problems:
        raise ValidationError(problems)
    return store().patients.search(
        q=data.get("q") or None,
        condition=data.get("condition") or None,
        archived=data.get("archived") or "no",
        sort=data.get("sort") or "identifier",
        limit=body_int(data, "limit", 50, 1, MAX_PAGE),
        offset=body_int(data, "offset", 0, 0, 10**9),
        actor=actor(),
    )


@bp.post("/patients")
def create_patient():
    patient = store().patients.create(json_body(), actor=actor())
    response = current_app.json.response(patient)
    response.status_code = 201
    response.headers["Location"] = url_for("api_patients.get_patient", patient_id=patient["id"])
    return response


@bp.get("/patients/<int:patient_id>")
def get_patient(patient_id: int):
    return store().patients.view(patient_id, actor=actor())


@bp.patch("/patients/<int:patient_id>")
def update_patient(patient_id: int):
    return store().patients.update(patient_id, json_body(), actor=actor())


@bp.delete("/patients/<int:patient_id>")
@roles("admin")
def erase_patient(patient_id: int):
    data = json_body()
    unknown = [k for k in data if k != "confirm_identifier"]
    if unknown or "confirm_identifier" not in data:
        raise ValidationError(
            {"confirm_identifier": "send {\"confirm_identifier\": \"<the patient's identifier>\"} to confirm the erasure"}
        )
    removed = store().patients.erase(patient_id, data["confirm_identifier"], actor=actor())
    current_app.logger.info("patient #%d erased", patient_id)
    return {"erased": True, "patient_id": patient_id, "removed": removed}


@bp.get("/patients/<int:patient_id>/export.csv")
@export_place
def export_patient(patient_id: int):
    text = patient_history_csv(store(), patient_id, actor=actor())
    # named without the identifier (a shared tablet's list of downloads keeps the name): web.downloads
    return attachment(text, "text/csv", patient_file_name(patient_id, "history", "csv"))


@bp.post("/patients/<int:patient_id>/sessions")
def create_session(patient_id: int):
    session = store().sessions.create(patient_id, json_body(), actor=actor())
    response = current_app.json.response(session)
    response.status_code = 201
    response.headers["Location"] = url_for("api_patients.get_session", session_id=session["id"])
    return response


@bp.get("/sessions/<int:session_id>")
def get_session(session_id: int):
    return store().sessions.view(session_id, actor=actor())


@bp.patch("/sessions/<int:session_id>")
def update_session(session_id: int):
    return store().sessions.update(session_id, json_body(), actor=actor())


@bp.get("/conditions")
def conditions():
    return {
        "conditions": [{"tag": tag, "label": label} for tag, label in KNOWN_CONDITIONS.items()],
        "other": "other:<word> for anything else (lowercase letters, digits, _ or -, up to 40)",
    }
