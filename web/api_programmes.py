"""JSON API of training programmes: templates, assignments, sessions and doses, visits.

``GET /api/programmes``, ``GET /api/programmes/<name>`` (templates);
``GET/POST /api/patients/<id>/programmes``, ``GET /api/patients/<id>/programme`` (at a glance),
``GET /api/patients/<id>/programmes/export.json``;
``GET /api/assignments/<id>``, ``POST /api/assignments/<id>/pause|resume|end``;
``PATCH /api/programme-sessions/<id>``, ``POST /api/programme-sessions/<id>/missed|dose|run``;
``PATCH /api/programme-visits/<id>``, ``POST /api/programme-visits/<id>/missed|run|sessions``.
Same sign-in, roles, CSRF and body limits as the rest of the API (:mod:`web.security`); every read
and change of a patient's programme is audited by the store. See ``docs/api.md``.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

from flask import Blueprint, current_app, request

from station.programmes.loader import load_programmes
from station.programmes.report import programme_document, programme_glance
from station.programmes.template import ProgrammeError
from station.store.db import NotFound, ValidationError
from station.protocols.service import OPEN_AGAIN, ServiceUnavailable
from web.api_station import NoTrialService, station_protocols, trial_service
from web.downloads import attachment, patient_file_name
from web.jsonio import json_body
from web.security import actor, api_error, store

bp = Blueprint("api_programmes", __name__, url_prefix="/api")
log = logging.getLogger(__name__)


class VisitSequence:
    """Runs an assessment visit's protocols in order: when the run of one of them finishes (every
    trial done) and the clinician closes it, the next protocol's run opens by itself, for the same
    patient and clinician, and is linked to the visit. A run closed before it finished ends the
    sequence (the programme page offers the next protocol again).

    One per app, following the trial service's events (:meth:`EventBus.subscribe`, called in the
    service thread; the next run is opened from a thread of its own, since ``open_run`` waits for
    the service thread).
    """

    def __init__(self, store, service) -> None:
        self.store = store
        self.service = service
        self.lock = threading.Lock()
        self.current: dict | None = None  # {session_id, visit_id, actor, finished}
        service.bus.subscribe(self.on_event)

    def started(self, session_id: int, visit_id: int, who) -> None:
        with self.lock:
            self.current = {"session_id": session_id, "visit_id": visit_id, "actor": who, "finished": False}

    def on_event(self, event) -> None:
        with self.lock:
            current = self.current
            if current is None:
                return
            if event.kind == "protocol_finished":
                current["finished"] = True
                return
            if event.kind != "run_closed" or event.data.get("session_id") != current["session_id"]:
                return
            self.current = None
        if current["finished"]:
            threading.Thread(target=self.open_next, args=(current,), name="visit-sequence", daemon=True).start()

    def open_next(self, previous: dict) -> None:
        try:
            visit = self.store.programmes.visit(previous["visit_id"])
            protocol = visit["next_protocol"]
            if protocol is None or visit["status"] in ("missed", "cancelled"):
                return
            assignment = self.store.programmes.get(visit["assignment_id"])
            if assignment["status"] not in ("active", "paused"):
                return
            status = self.service.open_run(assignment["patient_id"], protocol, None, previous["actor"])
            session_id = (status.get("run") or {}).get("session_id")
            if session_id is not None:
                self.started(session_id, visit["id"], previous["actor"])
                self.store.programmes.link_visit_session(visit["id"], protocol, session_id, actor=previous["actor"])
        except Exception as exc:  # the clinician can still start it from the programme page
            log.warning("the next test of a programme visit did not open (%s)", type(exc).__name__)


def _sequence(service) -> VisitSequence:
    app = current_app._get_current_object()
    with _SEQUENCE_LOCK:
        sequence = app.extensions.get("programme_visit_sequence")
        if sequence is None or sequence.service is not service:
            sequence = app.extensions["programme_visit_sequence"] = VisitSequence(store(), service)
    return sequence


_SEQUENCE_LOCK = threading.Lock()


@bp.errorhandler(NoTrialService)
@bp.errorhandler(ServiceUnavailable)
def _unavailable(exc):
    return api_error(503, str(exc))


def _protocols_dir() -> Path:
    service = current_app.config.get("TRIAL_SERVICE")
    directory = getattr(service, "protocols_dir", None) if service is not None else None
    return Path(directory) if directory is not None else Path(current_app.config["DATA_DIR"]) / "protocols"


def templates() -> tuple[dict, str]:
    """The programme templates on offer, and a problem with the clinic's files ('' when none)."""
    protocols, problem = station_protocols()
    try:
        return load_programmes(protocols, _protocols_dir()), problem
    except ProgrammeError as exc:
        return load_programmes(protocols), str(exc)


def _template_named(name: object):
    found, _problem = templates()
    if not isinstance(name, str) or name not in found:
        raise ValidationError({"template": f"must be one of {', '.join(sorted(found))}"})
    return found[name]


@bp.get("/programmes")
def list_templates():
    found, problem = templates()
    return {"programmes": [t.to_dict() for t in sorted(found.values(), key=lambda t: t.title.lower())],
            "problem": problem}


@bp.get("/programmes/<name>")
def get_template(name: str):
    found, _problem = templates()
    if name not in found:
        raise NotFound(f"no programme template {name[:40]!r}; see GET /api/programmes")
    return found[name].to_dict()


@bp.get("/patients/<int:patient_id>/programmes")
def patient_programmes(patient_id: int):
    programmes = [{k: a[k] for k in ("id", "template_name", "start_date", "status", "ended_on", "created_at")}
                  | {"title": a["template"]["programme"]["title"]}
                  for a in store().programmes.list_for_patient(patient_id)]
    # the patient's programmes (the store's list is not audited: its other callers audit what they show)
    store().audit.record(actor(), "programme.view", patient_id=patient_id, object=f"patient:{patient_id}")
    return {"programmes": programmes}


@bp.post("/patients/<int:patient_id>/programmes")
def assign(patient_id: int):
    data = json_body()
    allowed = ("template", "start_date")
    problems = {str(k)[:40]: f"unknown field; allowed: {', '.join(allowed)}" for k in data if k not in allowed}
    for key in allowed:
        if key not in data:
            problems[key] = "is required"
    if problems:
        raise ValidationError(problems)
    template = _template_named(data["template"])
    doc = store().programmes.assign(patient_id, template, data["start_date"], actor=actor())
    response = current_app.json.response(_document(doc["id"]))
    response.status_code = 201
    return response


@bp.get("/patients/<int:patient_id>/programme")
def glance(patient_id: int):
    protocols, _problem = station_protocols()
    return programme_glance(store(), patient_id, protocols, actor=actor())


@bp.get("/patients/<int:patient_id>/programmes/export.json")
def export(patient_id: int):
    from station.store.export import patient_programmes_json

    text = patient_programmes_json(store(), patient_id, actor=actor())
    return attachment(text, "application/json", patient_file_name(patient_id, "programmes", "json"))


def _document(assignment_id: int) -> dict:
    protocols, _problem = station_protocols()
    return programme_document(store(), assignment_id, protocols, actor=actor())


@bp.get("/assignments/<int:assignment_id>")
def get_assignment(assignment_id: int):
    return _document(assignment_id)


@bp.post("/assignments/<int:assignment_id>/<any(pause, resume, end):change>")
def change_assignment(assignment_id: int, change: str):
    programmes = store().programmes
    {"pause": programmes.pause, "resume": programmes.resume, "end": programmes.end}[change](
        assignment_id, json_body() if request.content_length else {}, actor=actor())
    return _document(assignment_id)


@bp.patch("/programme-sessions/<int:session_id>")
def move_session(session_id: int):
    return store().programmes.move_session(session_id, json_body(), actor=actor())


@bp.post("/programme-sessions/<int:session_id>/missed")
def miss_session(session_id: int):
    return store().programmes.miss_session(session_id, json_body(), actor=actor())


@bp.post("/programme-sessions/<int:session_id>/dose")
def dose(session_id: int):
    """A dose by hand (``minutes`` ...) or measured (``trial_id``, optionally with ``rpe``,
    ``notes``, ``belt_speed_m_s``)."""
    data = json_body()
    programmes = store().programmes
    if "trial_id" not in data:
        return programmes.enter_dose(session_id, data, actor=actor())
    trial_id = data.pop("trial_id")
    if isinstance(trial_id, bool) or not isinstance(trial_id, int) or trial_id < 1:
        raise ValidationError({"trial_id": "must be a trial's id (a positive integer)"})
    if "minutes" in data:
        raise ValidationError({"minutes": "comes from the trial when trial_id is given; leave it out"})
    trial = store().trials.get(trial_id)
    assignment = programmes.get(programmes.session(session_id)["assignment_id"])
    wanted = assignment["template"]["schedule"].get("session_protocol")
    if wanted and trial["protocol"] != wanted and trial["patient_id"] == assignment["patient_id"]:
        # a walk test's few metres are no training session's dose (another patient's: refused by measure_dose)
        protocols, _problem = station_protocols()
        title = lambda name: protocols[name].title if name in protocols else name  # noqa: E731
        raise ValidationError({"trial_id": f"trial #{trial_id} is a {title(trial['protocol'])}, not a "
                                           f"{title(wanted)} (this programme's sessions); take a trial of a session, "
                                           "or enter the dose by hand"})
    return programmes.measure_dose(session_id, trial, actor=actor(), extra=data or None)


def _button_title(protocol: str) -> str:
    """A test's title as the programme page's buttons say it (programme.js ``testTitle``: without its
    parenthesised end), for refusal words that name the button to press again."""
    protocols, _problem = station_protocols()
    title = protocols[protocol].title if protocol in protocols else protocol
    return re.sub(r" \(.*\)$", "", title)


@bp.post("/programme-sessions/<int:session_id>/run")
def run_session(session_id: int):
    """Open the trial service's run of the programme's session protocol (e.g. the backward
    treadmill session) for this session, its planned minutes and ``belt_speed_m_s`` as entered;
    the first walking trial it stores is the session's measured dose by itself (a session stopped
    early is done with the minutes walked; :meth:`Programmes.credit_run_trial`)."""
    data = json_body() if request.content_length else {}
    unknown = [k for k in data if k != "belt_speed_m_s"]
    if unknown:
        raise ValidationError({str(k)[:40]: "unknown field; allowed: belt_speed_m_s" for k in unknown})
    programmes = store().programmes
    session = programmes.session(session_id)
    assignment = programmes.get(session["assignment_id"])
    protocol = assignment["template"]["schedule"].get("session_protocol")
    if not protocol:
        raise ValidationError({"session": "this programme names no session protocol; enter the dose by hand"})
    if assignment["status"] not in ("active", "paused") or session["status"] == "cancelled":
        raise ValidationError({"session": "the programme has ended"})
    walk = {"planned_min": float(session["minutes_planned"])}
    if "belt_speed_m_s" in data:
        speed = data["belt_speed_m_s"]
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not 0.05 <= speed <= 3.0:
            raise ValidationError({"belt_speed_m_s": "must be a number from 0.05 to 3 m/s"})
        walk["belt_speed_m_s"] = float(speed)
    status = trial_service().open_run(assignment["patient_id"], protocol, None, actor(), walk,
                                      programme_session_id=session_id,
                                      again=f"press Start {_button_title(protocol)} again")
    response = current_app.json.response({"protocol": protocol, "status": status})
    response.status_code = 201
    return response


@bp.patch("/programme-visits/<int:visit_id>")
def move_visit(visit_id: int):
    return store().programmes.move_visit(visit_id, json_body(), actor=actor())


@bp.post("/programme-visits/<int:visit_id>/missed")
def miss_visit(visit_id: int):
    return store().programmes.miss_visit(visit_id, json_body(), actor=actor())


@bp.post("/programme-visits/<int:visit_id>/sessions")
def link_session(visit_id: int):
    data = json_body()
    problems = {str(k)[:40]: "unknown field; allowed: protocol, session_id" for k in data if k not in ("protocol", "session_id")}
    session_id = data.get("session_id")
    if isinstance(session_id, bool) or not isinstance(session_id, int) or session_id < 1:
        problems["session_id"] = "is required (a session's id, a positive integer)"
    if not isinstance(data.get("protocol"), str):
        problems["protocol"] = "is required (one of the visit's protocols)"
    if problems:
        raise ValidationError(problems)
    return store().programmes.link_visit_session(visit_id, data["protocol"], session_id, actor=actor())


@bp.post("/programme-visits/<int:visit_id>/run")
def run_visit(visit_id: int):
    """Open the trial service's run of the visit's next protocol (or ``{"protocol": ...}`` to run
    one again) and link its session to the visit; the protocols run in the template's order, each
    opening when the previous one has finished and been closed (:class:`VisitSequence`)."""
    data = json_body() if request.content_length else {}
    unknown = [k for k in data if k != "protocol"]
    if unknown:
        raise ValidationError({str(k)[:40]: "unknown field; allowed: protocol" for k in unknown})
    programmes = store().programmes
    visit = programmes.visit(visit_id)
    assignment = programmes.get(visit["assignment_id"])
    if assignment["status"] not in ("active", "paused"):
        raise ValidationError({"visit": "the programme has ended; run protocols from the live page instead"})
    if visit["status"] in ("missed", "cancelled"):
        raise ValidationError({"visit": f"this visit is {visit['status']}"})
    protocol = data.get("protocol")
    if protocol is None:
        protocol = visit["next_protocol"]
        if protocol is None:
            raise ValidationError({"protocol": "every protocol of this visit has run; name one to run it again"})
    elif protocol not in visit["protocols"]:
        raise ValidationError({"protocol": f"must be one of this visit's protocols: {', '.join(visit['protocols'])}"})
    service = trial_service()
    sequence = _sequence(service)
    status = service.open_run(assignment["patient_id"], protocol, None, actor(),
                              again="press Run the next test again" if "protocol" not in data else OPEN_AGAIN)
    session_id = (status.get("run") or {}).get("session_id")
    if session_id is None:
        raise ValidationError({"protocol": "the station opened no run; see the live page"})
    sequence.started(session_id, visit_id, actor())
    visit = programmes.link_visit_session(visit_id, protocol, session_id, actor=actor())
    response = current_app.json.response({"visit": visit, "protocol": protocol, "session_id": session_id,
                                          "remaining": [p for p in visit["protocols"]
                                                        if p not in visit["done_protocols"] and p != protocol],
                                          "status": status})
    response.status_code = 201
    return response
