"""The station's side of the hub, for its users: bring a patient from the hub by identifier.

``POST /api/patients/pull`` ``{"identifier": "P-123"}``: the patient held here, or fetched from
the clinic's hub (created on the hub or at another station) and stored here so that they can be
measured at this station (``201``); ``404`` if the hub does not know them either, ``409`` when
this station syncs with no hub, ``503`` when the hub cannot be reached now, ``429`` when the
hub's limit of this station's lookups by identifier was reached (its words say when to try again). The patients page
offers it when a search finds nobody here. The patient comes with their sessions and trials
recorded at other stations (results only, read-only here; :mod:`station.sync.pulled`): the answer's
``history`` says how many (``{"sessions", "trials"}``), or why they could not come now (``{"error"}``).

One user may ask for at most :data:`PULL_MISSES_PER_USER` identifiers the hub does not hold in 15 min
(``429`` with ``Retry-After`` beyond, in words; a patient held here is always answered).

``POST /api/patients/<id>/history/pull``: bring (or refresh) a held patient's history recorded
elsewhere: ``{"sessions", "trials"}`` new here; the same errors.

``GET /api/assignments/<id>/recorded-elsewhere``: ``{"assigned_at": null, "fields": {field:
station}}``, the fields of this station's programme taken from the hub and who set them there
(``hub``: on the hub); the programme page marks those sessions "at NAME"; audited (``programme.view``, as
the next one ``patient.view``: which stations recorded a patient's records is theirs too; X1's F7).

``GET /api/patients/<id>/hub-programmes``: ``{"programmes": [...]}``, the patient's programmes as
the hub has them now (assigned at another station or on the hub), to show read-only; audited.

``GET /api/patients/<id>/recorded-elsewhere``: ``{"sessions": {id: station}, "trials": {id:
{"station", "frames_on_hub"}}}``, the patient's pulled records and where they were recorded (the
history page marks them; records made here are absent).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from flask import Blueprint, current_app

from station.store.db import NotFound, ValidationError
from station.sync.client import HubLimited, HubRefused, HubUnreachable, said_once
from station.sync.hub import wait_words
from station.sync.programme_updates import recorded_elsewhere as programme_sources
from station.sync.pulled import recorded_elsewhere as recorded_at
from web.hub_api import LOOKUP_MISSES_PER_STATION, LOOKUP_WINDOW_S, LOOKUPS_PER_STATION
from web.jsonio import json_body
from web.security import actor, api_error, current_user, store
from web.throttle import LoginThrottle, RequestLimit

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
    identifier = identifier.strip()
    misses, who = _pull_misses(), f"user:{current_user().user_id}"
    wait = misses.retry_after_s(who)
    if wait and not _held_here(identifier):
        response = api_error(429, f"you asked for {PULL_MISSES_PER_USER} identifiers the hub does not hold in the last "
                                  f"{LOOKUP_WINDOW_S // 60} min (at most {PULL_MISSES_PER_USER} a user, so that "
                                  f"colleagues can still bring patients from the hub): check the identifier, or try "
                                  f"again in {wait_words(wait)}; nothing was brought here")
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        patient = sync.pull_patient(identifier, actor=actor())
    except NotFound:
        misses.failure(who)  # the hub counted a miss of the station's
        raise
    except HubLimited as exc:
        return limited(exc, "nothing was brought here")
    except HubUnreachable as exc:
        return api_error(503, said_once(str(exc), "try again when the station is online"))
    except HubRefused as exc:
        return api_error(502, str(exc))
    response = current_app.json.response(patient)
    response.status_code = 201
    return response


PULL_MISSES_PER_USER = 3
"""Pulls of identifiers the hub does not hold that one user may ask in :data:`web.hub_api.LOOKUP_WINDOW_S`:
the hub answers the station :data:`~web.hub_api.LOOKUP_MISSES_PER_STATION` of them for all its users
(the history pages keep within half), so one user's typos (or a script) no longer refuse every
colleague's pulls for 15 min (X1 finding F6's rest, session 25). A patient held here is never refused."""


def _pull_misses() -> LoginThrottle:
    return current_app.extensions.setdefault("station_pull_misses", LoginThrottle(
        PULL_MISSES_PER_USER, LOOKUP_WINDOW_S, current_app.config["THROTTLE_CLOCK"]))


def _held_here(identifier: str) -> bool:
    try:
        store().patients.get_by_identifier(identifier)
    except NotFound:
        return False
    return True


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


HUB_PROGRAMMES_LOOKUPS = LOOKUPS_PER_STATION // 2
"""Lookups the history pages may make for the hub's programmes in :data:`web.hub_api.LOOKUP_WINDOW_S`, of the
station's :data:`~web.hub_api.LOOKUPS_PER_STATION` at the hub: the rest is kept for bringing patients and
their histories from the hub, which a clinician asks for (X1 finding F6, session 25: every view of a
history page asked the hub, and 10 views of a patient not on the hub yet, or 60 of any, refused
every pull at the station for 15 min)."""
HUB_PROGRAMMES_MISSES = LOOKUP_MISSES_PER_STATION // 2
"""Of those, lookups of a patient the hub does not hold (this station's own, not pushed yet)."""
HUB_PROGRAMMES_KEEP_S = 60.0
"""How long the hub's answer for a patient is shown again without asking it, s: a page reloaded or
opened again within it costs the hub's budget nothing."""


class HubProgrammesBudget:
    """The station's own count of its history pages' lookups of the hub's programmes (the hub
    counts them with the pulls, per station), and the answers of the last
    :data:`HUB_PROGRAMMES_KEEP_S` per patient."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.lookups = RequestLimit(HUB_PROGRAMMES_LOOKUPS, LOOKUP_WINDOW_S, clock)
        self.misses = LoginThrottle(HUB_PROGRAMMES_MISSES, LOOKUP_WINDOW_S, clock)
        self._kept: OrderedDict[int, tuple[float, list]] = OrderedDict()
        self._lock = threading.Lock()

    def kept(self, patient_id: int) -> list | None:
        with self._lock:
            held = self._kept.get(patient_id)
            if held is None or self.clock() - held[0] > HUB_PROGRAMMES_KEEP_S:
                return None
            return held[1]

    def keep(self, patient_id: int, programmes: list) -> None:
        with self._lock:
            self._kept[patient_id] = (self.clock(), programmes)
            self._kept.move_to_end(patient_id)
            while len(self._kept) > 1000:
                self._kept.popitem(last=False)

    def wait_s(self) -> int:
        """0 if a lookup may be made now (it is then counted), else whole seconds to wait."""
        return self.misses.retry_after_s("station") or self.lookups.admit("station")


def _budget() -> HubProgrammesBudget:
    return current_app.extensions.setdefault("station_hub_programmes_budget",
                                             HubProgrammesBudget(current_app.config["THROTTLE_CLOCK"]))


@bp.get("/patients/<int:patient_id>/hub-programmes")
def hub_programmes(patient_id: int):
    sync = current_app.config.get("SYNC")
    if sync is None:
        return api_error(409, "this station syncs with no hub; an administrator sets [hub] url and token in its "
                              "configuration")
    budget = _budget()
    kept = budget.kept(patient_id)
    if kept is not None:
        store().patients.get(patient_id)  # (404 for an unknown patient)
        store().audit.record(actor(), "programme.view", patient_id=patient_id, object=f"patient:{patient_id}",
                             detail={"from_hub": len(kept)})
        return {"programmes": kept}
    wait = budget.wait_s()
    if wait:
        response = api_error(429, f"the hub's programmes were asked for too many patients in the last "
                                  f"{LOOKUP_WINDOW_S // 60} min (at most {HUB_PROGRAMMES_LOOKUPS}, so that bringing "
                                  f"patients from the hub keeps working); they show here again in {wait_words(wait)}")
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        programmes = sync.hub_programmes(patient_id, actor=actor())
    except HubLimited as exc:
        return limited(exc, "the programme shows then")
    except HubUnreachable as exc:
        return api_error(503, said_once(str(exc), "the programme shows when the station is online"))
    except HubRefused as exc:
        if exc.status != 404:
            return api_error(502, str(exc))
        budget.misses.failure("station")  # the hub counts it as a miss too
        programmes = []  # not on the hub (yet): this station's own patient
    budget.keep(patient_id, programmes)
    return {"programmes": programmes}


def limited(exc: HubLimited, outcome: str):
    """``429`` for a request the hub refused for a limit of this station's lookups: the hub's words
    say which and when to try again; nothing retries a page's request (:func:`said_once`)."""
    response = api_error(429, said_once(str(exc), outcome))
    if exc.retry_after_s:
        response.headers["Retry-After"] = str(exc.retry_after_s)
    return response


@bp.get("/assignments/<int:assignment_id>/recorded-elsewhere")
def programme_recorded_elsewhere(assignment_id: int):
    patient_id = store().programmes.get(assignment_id)["patient_id"]  # 404 for an unknown programme
    answer = programme_sources(store(), assignment_id)
    store().audit.record(actor(), "programme.view", patient_id=patient_id, object=f"programme:{assignment_id}",
                         detail={"recorded_elsewhere": True})  # where the patient's records were made
    return answer


@bp.get("/patients/<int:patient_id>/recorded-elsewhere")
def recorded_elsewhere(patient_id: int):
    store().patients.get(patient_id)  # 404 for an unknown patient
    answer = recorded_at(store(), patient_id)
    store().audit.record(actor(), "patient.view", patient_id=patient_id, object=f"patient:{patient_id}",
                         detail={"recorded_elsewhere": True})
    return answer
