"""JSON API of the station: its health and trial service, the protocols, and the trial controls.

``GET /api/station`` (health + trial service status; send ``X-Station-Background: 1`` when
polling), ``GET /api/protocols``, ``POST /api/station/run`` (open a protocol run for a patient),
``POST /api/station/start|stop|end-hold|repeat|skip|close``. The live view follows the same state
over ``GET /api/live`` (:mod:`web.live`). See ``docs/api.md``.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, session

from station.protocols.loader import builtin_protocols, load_protocols
from station.protocols.schema import ProtocolError
from station.protocols.service import ServiceUnavailable
from station.store.db import NotFound, ValidationError
from web.jsonio import json_body
from web.security import actor, api_error

bp = Blueprint("api_station", __name__, url_prefix="/api")

NO_SERVICE = "this station is not running trials (it was started without its trial service); restart it with `balance-station run`"
HUB_NO_PLATE = ("this is the clinic's hub: it has no plate; record trials at a station (they reach the hub when the "
                "station syncs)")


def no_service_reason(app=None) -> str:
    """Why no trials run here: the hub (``HUB``) has no plate; a station was started without its
    trial service."""
    app = current_app if app is None else app
    return HUB_NO_PLATE if app.config.get("HUB") else NO_SERVICE


class NoTrialService(Exception):
    """The app has no trial service (a web server without the station daemon)."""


def trial_service():
    """The app's :class:`~station.protocols.service.TrialService`; NoTrialService (503) if none."""
    service = current_app.config.get("TRIAL_SERVICE")
    if service is None:
        raise NoTrialService(no_service_reason())
    return service


def station_health() -> dict:
    from web.health import station_health_document

    return station_health_document(current_app)


def station_protocols() -> tuple[dict, str]:
    """The protocols on offer and a problem with the clinic's protocol files ('' when none)."""
    service = current_app.config.get("TRIAL_SERVICE")
    if service is not None:
        return service.protocols()
    try:
        return load_protocols(Path(current_app.config["DATA_DIR"]) / "protocols"), ""
    except ProtocolError as exc:
        return builtin_protocols(), str(exc)


@bp.errorhandler(NoTrialService)
@bp.errorhandler(ServiceUnavailable)
def _unavailable(exc):
    return api_error(503, str(exc))


def _service_status() -> dict:
    service = current_app.config.get("TRIAL_SERVICE")
    if service is None:
        return {"available": False, "reason": no_service_reason()}
    return {"available": True, **service.status()}


def _interrupted() -> list[dict]:
    """Trials found interrupted (crash, power cut) when this station started, kept as partial."""
    from web.security import store

    out = []
    for trial_id in getattr(store(), "recovered_trial_ids", ()):
        try:
            trial = store().trials.get(trial_id)
        except NotFound:
            continue  # erased since
        patient = store().patients.get(trial["patient_id"])
        out.append({"trial_id": trial_id, "session_id": trial["session_id"], "patient_id": patient["id"],
                    "patient_identifier": patient["identifier"], "protocol": trial["protocol"],
                    "condition": trial["condition"], "started_at": trial["started_at"],
                    "frame_count": trial["frame_count"]})
    return out


@bp.get("/station")
def station():
    status = _service_status()
    interrupted = _interrupted()
    exposure = current_app.extensions["station_exposure_audit"]
    exposure.shown(session.get("sid", ""), "station.view", status, actor())
    exposure.shown_trials(session.get("sid", ""), "station.view", interrupted, actor())
    return {"health": station_health(), "service": status, "interrupted": interrupted}


def _protocol_doc(protocol) -> dict:
    return {
        "name": protocol.name,
        "title": protocol.title,
        "summary": protocol.summary,
        "outcome": protocol.outcome,
        "duration_s": protocol.duration_s,
        "countdown_s": protocol.countdown_s,
        "trials_per_condition": protocol.trials_per_condition,
        "max_attempts": protocol.max_attempts,
        "rest_s": protocol.rest_s,
        "instructions": protocol.instructions,
        "operator_notes": protocol.operator_notes,
        "conditions": [c.to_dict() for c in protocol.conditions],
        "walk": protocol.walk.to_dict() if getattr(protocol, "walk", None) else None,
        "source": protocol.source,
    }


@bp.get("/protocols")
def protocols():
    found, problem = station_protocols()
    return {"protocols": [_protocol_doc(p) for p in sorted(found.values(), key=lambda p: p.title.lower())],
            "problem": problem}


@bp.post("/station/run")
def open_run():
    data = json_body()
    allowed = ("patient_id", "protocol", "conditions", "walk", "los", "training")
    problems = {str(k)[:40]: f"unknown field; allowed: {', '.join(allowed)}" for k in data if k not in allowed}
    patient_id = data.get("patient_id")
    if isinstance(patient_id, bool) or not isinstance(patient_id, int) or patient_id < 1:
        problems["patient_id"] = "is required (a patient's id, a positive integer)"
    if not isinstance(data.get("protocol"), str) or not data.get("protocol"):
        problems["protocol"] = "is required (a protocol name from GET /api/protocols)"
    if problems:
        raise ValidationError(problems)
    if "walk" in data and not isinstance(data["walk"], dict):
        raise ValidationError({"walk": "an object: belt_speed_m_s, planned_min (treadmill), sensor_height_m"})
    if "los" in data and not isinstance(data["los"], dict):
        raise ValidationError({"los": "an object: height_cm (the limits-of-stability test, when the patient's record has no height)"})
    if "training" in data and not isinstance(data["training"], dict):
        raise ValidationError({"training": "an object: game, level, session_s, rest_s, paretic_side, range_cm"})
    status = trial_service().open_run(patient_id, data["protocol"], data.get("conditions"), actor(), walk=data.get("walk"),
                                      los=data.get("los"), training=data.get("training"),
                                      again="press Open test again")  # the live page's button
    response = current_app.json.response(status)
    response.status_code = 201
    return response


def _control(name: str):
    service = trial_service()
    return {
        "start": service.start_trial,
        "stop": service.stop_trial,
        "end-hold": service.end_hold,
        "repeat": service.repeat_trial,
        "skip": service.skip_trial,
        "score-unable": lambda: service.score_unable(actor()),
        "close": service.close_run,
    }[name]()


@bp.post("/station/<any(start, stop, 'end-hold', repeat, skip, 'score-unable', close):command>")
def control(command: str):
    return _control(command)
