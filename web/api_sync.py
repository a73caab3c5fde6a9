"""The station's side of the hub, for its users: bring a patient from the hub by identifier.

``POST /api/patients/pull`` ``{"identifier": "P-123"}``: the patient held here, or fetched from
the clinic's hub (created on the hub or at another station) and stored here so that they can be
measured at this station (``201``); ``404`` if the hub does not know them either, ``409`` when
this station syncs with no hub, ``503`` when the hub cannot be reached now, ``429`` when the
hub's limit of this station's lookups by identifier was reached (its words say when to try again). The patients page
offers it when a search finds nobody here. The patient comes with their sessions and trials
recorded at other stations (results only, read-only here; :mod:`station.sync.pulled`): the answer's
``history`` says how many (``{"sessions", "trials"}``), or why they could not come now (``{"error"}``).

``POST /api/patients/<id>/history/pull``: bring (or refresh) a held patient's history recorded
elsewhere: ``{"sessions", "trials"}`` new here; the same errors.

``GET /api/assignments/<id>/recorded-elsewhere``: ``{"assigned_at": null, "fields": {field:
station}}``, the fields of this station's programme taken from the hub and who set them there
(``hub``: on the hub); the programme page marks those sessions "at NAME".

``GET /api/patients/<id>/hub-programmes``: ``{"programmes": [...]}``, the patient's programmes as
the hub has them now (assigned at another station or on the hub), to show read-only; audited.

``GET /api/patients/<id>/recorded-elsewhere``: ``{"sessions": {id: station}, "trials": {id:
{"station", "frames_on_hub"}}}``, the patient's pulled records and where they were recorded (the
history page marks them; records made here are absent).
"""

from __future__ import annotations

from flask import Blueprint, current_app

from station.store.db import ValidationError
from station.sync.client import HubLimited, HubRefused, HubUnreachable, said_once
from station.sync.programme_updates import recorded_elsewhere as programme_sources
from station.sync.pulled import recorded_elsewhere as recorded_at
from web.jsonio import json_body
from web.security import actor, api_error, store

bp = Blueprint("api_sync", __name__, url_prefix="/api")


@bp.post("/patients/pull")
def pull_patient():
    sync = current_app.config.get("SYNC")
    if sync is None:
        return api_error(409, "this station syncs with no hub; an administrator sets [hub] url and token in its "
                              "configuration")
    data = json_body()
    identifier = data.get("identifier")
    if set(data) != {"identifier"} or not isinstance(identifier, str) or not 0 < len(identifier.strip()) <= 64:
        raise ValidationError({"identifier": "give the patient's identifier (1 to 64 characters), and nothing else"})
    try:
        patient = sync.pull_patient(identifier.strip(), actor=actor())
    except HubLimited as exc:
        return limited(exc, "nothing was brought here")
    except HubUnreachable as exc:
        return api_error(503, said_once(str(exc), "try again when the station is online"))
    except HubRefused as exc:
        return api_error(502, str(exc))
    response = current_app.json.response(patient)
    response.status_code = 201
    return response


@bp.post("/patients/<int:patient_id>/history/pull")
def pull_history(patient_id: int):
    sync = current_app.config.get("SYNC")
    if sync is None:
        return api_error(409, "this station syncs with no hub; an administrator sets [hub] url and token in its "
                              "configuration")
    try:
        return sync.pull_history(patient_id, actor=actor())
    except HubLimited as exc:
        return limited(exc, "nothing more was brought here")
    except HubUnreachable as exc:
        return api_error(503, said_once(str(exc), "try again when the station is online"))
    except HubRefused as exc:
        return api_error(502, str(exc))


@bp.get("/patients/<int:patient_id>/hub-programmes")
def hub_programmes(patient_id: int):
    sync = current_app.config.get("SYNC")
    if sync is None:
        return api_error(409, "this station syncs with no hub; an administrator sets [hub] url and token in its "
                              "configuration")
    try:
        return {"programmes": sync.hub_programmes(patient_id, actor=actor())}
    except HubLimited as exc:
        return limited(exc, "the programme shows then")
    except HubUnreachable as exc:
        return api_error(503, said_once(str(exc), "the programme shows when the station is online"))
    except HubRefused as exc:
        if exc.status == 404:
            return {"programmes": []}  # not on the hub (yet): this station's own patient
        return api_error(502, str(exc))


def limited(exc: HubLimited, outcome: str):
    """``429`` for a request the hub refused for a limit of this station's lookups: the hub's words
    say which and when to try again; nothing retries a page's request (:func:`said_once`)."""
    response = api_error(429, said_once(str(exc), outcome))
    if exc.retry_after_s:
        response.headers["Retry-After"] = str(exc.retry_after_s)
    return response


@bp.get("/assignments/<int:assignment_id>/recorded-elsewhere")
def programme_recorded_elsewhere(assignment_id: int):
    return programme_sources(store(), assignment_id)


@bp.get("/patients/<int:patient_id>/recorded-elsewhere")
def recorded_elsewhere(patient_id: int):
    store().patients.get(patient_id)  # 404 for an unknown patient
    return recorded_at(store(), patient_id)
