"""``GET /healthz``: the station's health as JSON, without login (for monitors and systemd).

The acquisition's document (hardware state and counters) with the data directory's free space
added as ``storage`` (:mod:`station.store.space`): ``{"state": "ok"|"low"|"full", "free_bytes",
"message"}``. A low or full disk makes the whole document ``degraded`` (the station still measures
and shows, but says what to do), with the message first in ``reason`` (what the tablet's health
chip shows). At a station, ``backup`` has the UTC time of the newest scheduled backup
(``newest_at``) and, when the last scheduled backup was refused for lack of space until one is
written, ``refused`` (when, bytes needed and free) with the words in ``message``; or, when the last
backup found the card's free space lasting less than 4 weeks at the rate the kept backups grew,
``room`` (days, bytes a day) with its words; either makes the document ``degraded``, its words after
the others in ``reason``
(:func:`station.store.backup.backup_health`). With the station daemon, ``acquisition_restarts`` counts the
acquisition process's restarts (:mod:`station.acquire.supervisor`). At a station, ``sync`` has the
number of changes waiting for the hub (``queue_length``), ``last_sync_at``, ``last_error``,
whether a hub is configured (``hub``) and ``erasures_not_applied``: null, or how many erasures made
here the hub took without erasing (it holds the patient under another identifier), with what to
do (:func:`station.sync.unmatched.health`), and ``trials_not_sent``: null, or how many trials are
kept here, not sent, because their stored frames are corrupt, with what to do
(:func:`station.sync.corrupt_trials.health`), and ``erasures_keyed_elsewhere``: null, or how
many erasures are kept here, not sent, because they are keyed with another hub's clinic key, which
this hub cannot match, with what to do (:func:`station.sync.other_key_erasures.health`); each
until an administrator marks them dealt with (``balance-station sync --resolve``, or ``--resend`` for a trial put back whole:
:mod:`station.sync.kept_unsent`); and ``audit_entries_waiting``: null, or how many of the
station's audit entries wait here because the hub's software does not know their actions, which,
and what to do (update the hub: :func:`station.sync.audit_push.health`). A sync the hub refuses
(a revoked token, a change it will not take, a station restored without telling it) makes the
document ``degraded`` with words that name no patient (:func:`station.sync.refused.health_words`);
one that cannot reach the hub leaves it as it is (retried). On the hub (``HUB``: no
plate, no acquisition) the state is that of its PostgreSQL database (``role: "hub"``; ``down``
with the reason when the database does not answer). ``nodata`` (503, as ``down``): the acquisition runs but its newest frame is over a second
old (:data:`station.acquire.source.NO_FRAMES_S`), or it started over a second ago and has sent no frame:
the station measures nothing now, as the live view says. ``starting`` (200, as ``ok``: a normal start
or restart is no failure for a monitor; it lasts at most that second, then says ``ok`` or ``nodata``):
the acquisition reports but has not sent its first frame yet; a trial cannot start
(:func:`station.protocols.service.start_refusal`). It reveals no patient data: a sync error other than an unreachable hub is shown
as only that the sync failed (the hub's words may name a patient; signed-in pages show them).
"""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, jsonify

from station.acquire.source import NOT_RUNNING_CODE, NOT_RUNNING_WORDS, down_health
from station.store.backup import backup_health
from station.sync import audit_push, corrupt_trials, other_key_erasures, refused
from station.sync.unmatched import health as unmatched_erasures

bp = Blueprint("health", __name__)

GAVE_UP_CODE = "acquisition_gave_up"
GAVE_UP_WORDS = "the station's measuring program keeps stopping and is no longer restarted by itself"
"""The supervisor gave up restarting the acquisition: the clinician's words (``reason``; what to do
is the chip's for this code, web/static/js/app.js HEALTH_TO_DO_BY_CODE); the engineer's, with the
last exit, in ``detail``."""


def station_health_document(app: Flask) -> dict:
    """The acquisition's health with the storage state merged in (for /healthz, the station's
    status and the live stream's health events)."""
    link = app.config.get("STATION_LINK")
    if link is None and app.config.get("HUB"):
        doc = _hub_health(app)
    elif link is None:
        doc = down_health(NOT_RUNNING_WORDS, NOT_RUNNING_CODE, "no acquisition process is connected to this web server")
    else:
        doc = dict(link.health())
    supervisor = app.config.get("ACQUISITION_SUPERVISOR")
    if supervisor is not None:
        restarts = supervisor.status()
        doc["acquisition_restarts"] = restarts
        if restarts["gave_up"]:  # (what to do for a station that is down is the chip's: app.js HEALTH_TO_DO)
            doc["state"] = "down"
            doc["reason"] = GAVE_UP_WORDS
            doc["reason_code"] = GAVE_UP_CODE
            doc["detail"] = (f"the acquisition process keeps dying ({restarts['last_exit']}); it was restarted "
                             f"{restarts['restarts']} times and is not restarted again: see the station log")
    store = app.extensions.get("station_store")
    space = getattr(store, "space", None)
    if space is not None:
        storage = space.status()
        doc["storage"] = storage
        if storage["state"] != "ok":
            _degrade(doc, storage["message"], first=True)
    data_dir = getattr(store, "data_dir", None)
    if data_dir is not None and not app.config.get("HUB"):
        backups = backup_health(data_dir)
        doc["backup"] = backups
        if backups["message"]:  # the scheduled backup was refused for lack of space: nobody else is told
            _degrade(doc, backups["message"], first=False)
    outbox = getattr(store, "outbox", None)
    if outbox is not None and outbox.role == "station":
        state = outbox.state()
        doc["sync"] = {"hub": app.config.get("SYNC") is not None, "queue_length": state["queue_length"],
                       "last_sync_at": state["last_sync_at"], "last_error": state["last_error"],
                       "erasures_not_applied": unmatched_erasures(store), "trials_not_sent": corrupt_trials.health(store),
                       "erasures_keyed_elsewhere": other_key_erasures.health(store),
                       "audit_entries_waiting": audit_push.health(store)}
        refusal = refused.health_words(state["last_error"])
        if refusal is not None:  # nothing reaches the hub until someone acts: a monitor must see it
            _degrade(doc, refusal, first=True)
    return doc


def _degrade(doc: dict, words: str, *, first: bool) -> None:
    """Add ``words`` to ``doc``'s ``reason`` (before or after what it says) and make an ``ok``
    document ``degraded``."""
    parts = (words, doc.get("reason")) if first else (doc.get("reason"), words)
    doc["reason"] = "; ".join(r for r in parts if r)
    if doc.get("state") == "ok":
        doc["state"] = "degraded"


def _hub_health(app: Flask) -> dict:
    """The hub's own state: no plate (not a fault there); down if its database does not answer."""
    from web.api_station import HUB_NO_PLATE

    doc = down_health(HUB_NO_PLATE)
    doc["role"] = "hub"
    store = app.extensions.get("station_store")
    problems = store.db.quick_check() if store is not None else ["no store"]
    doc["state"], doc["reason"] = ("down", "; ".join(problems)) if problems else ("ok", "")
    return doc


HEALTHY_STATES = ("ok", "degraded", "starting")
"""The states ``/healthz`` answers ``200`` for; the others (``nodata``, ``down``) ``503``."""


PUBLIC_SYNC_ERROR = "the last sync with the hub failed; the station's status (GET /api/station, signed in) says why"


def public_sync_error(error: str | None) -> str | None:
    """The sync's last error as ``/healthz`` (no login) shows it: "cannot reach the hub" (the
    station's own words: the hub's address and the network's reason) as it is; anything else
    holds the hub's answer, which may name a patient, so only that the sync failed."""
    if not error or error.startswith("cannot reach the hub at "):
        return error
    return PUBLIC_SYNC_ERROR


@bp.get("/healthz")
def healthz():
    doc = station_health_document(current_app)
    if doc.get("sync"):
        doc["sync"] = {**doc["sync"], "last_error": public_sync_error(doc["sync"]["last_error"])}
    status = 200 if doc["state"] in HEALTHY_STATES else 503
    return jsonify(doc), status
