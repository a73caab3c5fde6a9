"""``GET /api/live``: the live view's Server-Sent Events stream (frames, trial events, health).

One stream per open live view, login required, not counted as user activity (the tablet left on
the live page still signs out after the inactivity timeout), except while a trial counts down or
records (:func:`station.protocols.service.trial_running`): then the stream keeps its login session
alive, so that Stop stays within reach, and the timeout runs again from the trial's end. Between
the trials of an open test that has trials left (the clinician coaching the patient), it keeps it
alive a while longer, bounded (:func:`held_between_trials`): signed out at the latest twice the
timeout, and never more than :data:`BETWEEN_TRIALS_MAX_S`, after the last trial ended (or the test
was opened), so a tablet left on a test page does not stay signed in. Each viewer reads the acquisition
ring with its own :class:`~station.acquire.ring.RingReader`, so a slow viewer never slows the
acquisition or another viewer: it learns how many frames it missed.

Events (``event:`` name, ``data:`` one JSON object)::

    frames   {"frames": [{"seq", "t_ns", "ap_cm", "ml_cm", "fz_n", "left_n", "right_n", "acc_m_s2", "flags"}, ...],
              "missed": n, "rate_hz": r, "sent_ns": t}
             every frame since the previous frames event, 50 events a second while frames come
             (the first one also holds the last BACKFILL_S seconds; clients drop frames whose
             ``seq`` they already have). Units in the names; null where not measured.
             ``sent_ns``: the server's monotonic clock when the event was written (``t_ns`` is
             the acquisition's, on the same clock), for measuring the delay.
    status   the trial service's status (:meth:`TrialService.status`, or ``{"available": false,
             "reason"}``), with ``id: <epoch>-<seq>``: sent first, and again when the client
             asked to resume from events the station no longer holds, or from another station run
    trial    one trial event ``{"seq", "t_ns", "kind", "data"}`` (see
             :mod:`station.protocols.events` and :mod:`station.protocols.service`), with
             ``id: <epoch>-<seq>``
    health   ``{"health": <GET /healthz document>, "viewers": n}`` once a second, and at once when
             the frames stop for NO_FRAMES_S (the document then says ``nodata``) and when they
             come again, so that the page's status strip and health chip follow a stall at once
    gait     ``{"contacts_t_ns", "steps", "cadence_steps_min", "window_s"}`` once a second while a
             walk test is open and the IMU gives data: the steps of the last seconds
             (:mod:`web.live_gait`: one analysis a second for all streams; none while stance
             tests run)
    session  ``{"expires_in_s": s, "held_by_trial": bool, "held_between_trials": bool}`` every few
             seconds: time left before the inactivity logout; ``held_by_trial``: a trial is running,
             and this stream keeps the session alive until it ends (the page shows no logout notice
             meanwhile); ``held_between_trials``: an open test's trials are not all run, and this
             stream keeps the session alive for now (:func:`held_between_trials`)
    logout   ``{"expired": bool, "ended"?: why}``: the login session ended; the stream closes
             (:func:`logout_reason`: ``expired`` after inactivity, ``ended`` ``"clock_set_back"``,
             ``"max_age"``: 12 h after the sign-in (:data:`~station.store.logins.MAX_AGE_S`),
             ``"signed_out_others"``, ``"password_changed"``, ``"disabled"``, ``"signed_out_tab"``: ended on
             purpose elsewhere (the last: signed out in another tab of the browser), as the API's 401 says them
             (:data:`web.security.ENDED_ON_PURPOSE`), ``"signed_out"``: ended elsewhere in a way the station
             does not know (no reason kept),
             ``"signed_out_unrecorded"``: signed out, the station unable to record it)

A dropped connection resumes without a reload: the browser's EventSource reconnects by itself
(``retry: 1000`` ms) and sends ``Last-Event-ID``, and the stream replays the trial events after
it, so the trial on screen is not lost. Each stream also ends after STREAM_MAX_S so that the
browser reconnects (threads are recycled and the viewer limit stays honest).
"""

from __future__ import annotations

import json
import math
import threading
import time

import numpy as np
from flask import Blueprint, Response, current_app, request, session

from station.acquire.ring import RingError, RingReader
from station.acquire.source import NO_FRAMES_S
from station.protocols.service import RUNNING_STATES, trial_running
from station.store.logins import (
    ENDED_AGE,
    ENDED_CLOCK,
    ENDED_DISABLED,
    ENDED_OTHERS,
    ENDED_PASSWORD,
    ENDED_SIGNED_OUT,
    ENDED_UNKNOWN,
    MAX_AGE_S,
    LoginSession,
    lifetime_left_s,
)
from web.api_station import NO_SERVICE, no_service_reason
from web.health import station_health_document
from web.live_gait import INTERVAL_S as GAIT_INTERVAL_S
from web.live_gait import LiveGait, SharedGaitEvent
from web.places import Places
from web.security import actor, api_error, background, current_user, store, was_signed_out_unstored

bp = Blueprint("live", __name__)

LIVE_INTERVAL_S = 0.02
"""Time between frames events, s (50 events a second)."""
HEALTH_INTERVAL_S = 1.0
SESSION_CHECK_S = 5.0
"""How often a stream checks that its login session is still alive, s."""
STREAM_MAX_S = 300.0
"""A stream ends after this long; the browser reconnects at once (``retry``), resuming."""
BACKFILL_S = 10.0
"""Seconds of frames sent at the start of each stream (the trace continues across a reconnect)."""
RETRY_MS = 1000
MAX_VIEWERS = 24
"""Streams served at once (each holds one of the web server's 32 threads)."""
MAX_VIEWERS_PER_USER = 4
"""Streams one account may hold at once (a tablet and a few reconnecting tabs)."""
RESERVED_FOR_OTHERS = 4
"""Places kept for users who have no stream open yet."""
BETWEEN_TRIALS_MAX_S = 30 * 60.0
"""The longest after the last trial of an open test ended (or the test was opened) that a live view
keeps its clinician signed in while trials are left, s (:func:`held_between_trials`)."""


def _dumps(doc) -> str:
    return json.dumps(doc, separators=(",", ":"), allow_nan=False)


def _column(values: np.ndarray, decimals: int) -> list:
    return [v if math.isfinite(v) else None for v in np.round(values, decimals).tolist()]


def frames_payload(frames: np.ndarray) -> list[dict]:
    """The live view's fields of each frame (FRAME_DTYPE): COP, total force, the load on each
    side (left = FL + BL, right = FR + BR, N), the magnitude of the IMU's acceleration
    (``acc_m_s2``, m/s² including gravity: the walk panel's trace, whatever way the sensor is
    worn) and the status flags."""
    left = frames["fl_n"] + frames["bl_n"]
    right = frames["fr_n"] + frames["br_n"]
    acc = np.sqrt(frames["ax_m_s2"] ** 2 + frames["ay_m_s2"] ** 2 + frames["az_m_s2"] ** 2)
    columns = (
        frames["seq"].tolist(), frames["t_ns"].tolist(), _column(frames["ap_cm"], 3), _column(frames["ml_cm"], 3),
        _column(frames["fz_n"], 1), _column(left, 1), _column(right, 1), _column(acc, 2), frames["flags"].tolist(),
    )
    return [{"seq": s, "t_ns": t, "ap_cm": ap, "ml_cm": ml, "fz_n": fz, "left_n": lf, "right_n": rt, "acc_m_s2": a,
             "flags": fl}
            for s, t, ap, ml, fz, lf, rt, a, fl in zip(*columns)]


class FrameTexts:
    """Each frame's JSON text in the frames event, made once for every stream of the app.

    Every viewer reads the same frames; encoding them (:func:`frames_payload`, then JSON) once
    instead of once per viewer leaves the streams only the joining and the writing (issue 16,
    "Live feel": 21 streams at 50 events a second). Texts are kept by ``(seq, t_ns)`` (a
    restarted acquisition counts ``seq`` from 0 again), the newest ``capacity`` of them."""

    def __init__(self, capacity: int = 8192) -> None:
        self.capacity = capacity
        self._texts: dict[tuple[int, int], str] = {}
        self._lock = threading.Lock()

    def texts(self, frames: np.ndarray) -> list[str]:
        """The JSON text of each frame of ``frames`` (FRAME_DTYPE), in order."""
        keys = list(zip(frames["seq"].tolist(), frames["t_ns"].tolist()))
        with self._lock:
            texts = [self._texts.get(k) for k in keys]
        missing = [i for i, t in enumerate(texts) if t is None]
        if missing:
            made = [_dumps(doc) for doc in frames_payload(frames[missing])]
            with self._lock:
                for i, text in zip(missing, made):
                    texts[i] = self._texts[keys[i]] = text
                while len(self._texts) > self.capacity:
                    del self._texts[next(iter(self._texts))]  # the oldest kept
        return texts


def _frames_event(texts: list[str], missed: int, rate_hz: float | None) -> str:
    """The frames event of frames already encoded (:class:`FrameTexts`), ``sent_ns`` now."""
    tail = _dumps({"missed": missed, "rate_hz": rate_hz, "sent_ns": time.monotonic_ns()})
    return f"event: frames\ndata: {{\"frames\":[{','.join(texts)}],{tail[1:]}\n\n"


def _event(name: str, doc, event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {_dumps(doc)}\n\n"


class _Viewers(Places):
    """Open streams, bounded in all (``limit``) and per user (``per_user``); the last
    ``reserved`` places go only to users who have no stream yet, so that one account (a tablet
    gone wild, or an attacker with a password) cannot take every place (issue 14, finding 11)."""

    def __init__(self, limit: int, per_user: int = MAX_VIEWERS_PER_USER, reserved: int = RESERVED_FOR_OTHERS) -> None:
        super().__init__(limit, per_user, reserved, words={
            "full": "too many live viewers (at most {limit}); close a live page elsewhere and retry",
            "yours": "you already have {mine} live views open (at most {per_user} per user); close one and retry",
            "kept": "the last live-view places are kept for other users; close one of your live views and retry"})


def _viewers() -> _Viewers:
    return current_app.extensions.setdefault("station_live_viewers", _Viewers(MAX_VIEWERS))


class _Stream:
    """The response body: iterates the generator; :meth:`close` (called by the server when the
    client goes or the stream ends) releases the viewer's place exactly once."""

    def __init__(self, generator, viewers: _Viewers, user: object = None) -> None:
        self._generator = generator
        self._viewers = viewers
        self._user = user
        self._closed = False

    def __iter__(self):
        return self._generator

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._generator.close()
        finally:
            self._viewers.leave(self._user)


def _parse_last_event_id(raw: str | None) -> tuple[str | None, int]:
    if not raw:
        return None, 0
    epoch, _, seq = raw.rpartition("-")
    try:
        return (epoch or None), max(0, int(seq))
    except ValueError:
        return None, 0


def _status_event(service, reason: str = NO_SERVICE) -> tuple[str, int]:
    if service is None:
        return _event("status", {"available": False, "reason": reason}), 0
    status = service.status()
    seq = int(status["last_seq"])
    return _event("status", {"available": True, **status}, f"{service.epoch}-{seq}"), seq


def _catch_up(service, after_seq: int) -> tuple[list[str], int]:
    """The trial events after ``after_seq`` as texts, and the last sequence number sent.

    When the bus no longer holds all of them, the service's status (a full snapshot) comes first,
    followed by the events after the snapshot if the bus still holds those; otherwise the stream
    goes on from the newest event (the snapshot is then the freshest state there is)."""
    page = service.bus.since(after_seq)
    if not page.missed:
        texts = [_event("trial", e.to_dict(), f"{service.epoch}-{e.seq}") for e in page.events]
        return texts, (page.events[-1].seq if page.events else after_seq)
    text, status_seq = _status_event(service)
    rest = service.bus.since(status_seq)
    if rest.missed:
        return [text], page.last_seq
    texts = [text] + [_event("trial", e.to_dict(), f"{service.epoch}-{e.seq}") for e in rest.events]
    return texts, (rest.events[-1].seq if rest.events else status_seq)


def held_between_trials(service, status: dict | None, timeout_s: float) -> bool:
    """Whether a live view keeps its login session alive now, between the trials of an open test: the
    test (``status``, the service's) has trials left and none counting down or recording (then
    :func:`~station.protocols.service.trial_running` holds it), and its last trial ended (or it was
    opened) less than the hold's length minus ``timeout_s`` (the clinic's inactivity timeout) ago, so
    that without a touch the session ends at the latest the hold's length after that: twice the
    timeout, never more than :data:`BETWEEN_TRIALS_MAX_S` (30 min); nothing more where the timeout is
    that long already. A clinician coaching the patient between trials is not signed out mid-test; a
    tablet left on a test page is, 30 min after its last trial at the latest (15-min timeout), not
    kept signed in for ever. Read from the service's events (the clock that stamps them): none about
    the test's last trial left in them, no hold."""
    run = status.get("run") if isinstance(status, dict) else None
    if service is None or not run or run.get("finished") or not run.get("due") or trial_running(status):
        return False
    hold_s = min(BETWEEN_TRIALS_MAX_S, 2.0 * timeout_s)
    if hold_s <= timeout_s:
        return False
    ended_ns = _last_trial_end_ns(service.bus.since(0).events)
    return ended_ns is not None and (service.bus.clock.monotonic_ns() - ended_ns) / 1e9 < hold_s - timeout_s


def _last_trial_end_ns(events) -> int | None:
    """When the newest of ``events`` that ended a trial (a ``state`` event leaving a countdown or a
    recording) or opened a test (``protocol_started``) was published (``t_ns``), or None."""
    running = {s.value for s in RUNNING_STATES}
    for event in reversed(events):
        if event.kind == "protocol_started" or (event.kind == "state" and event.data.get("previous") in running):
            return event.t_ns
    return None


SIGNED_OUT_UNRECORDED = "signed_out_unrecorded"
"""Why a stream's login session ended: signed out, the store unable to record it (X1's F3)."""


def logout_reason(ended: str, seen_s: float | None, now_s: float, timeout_s: float) -> dict:
    """The ``logout`` event's data, saying why the stream's login session ended, for the sign-in page
    to say it (live.js): ``ended`` is a :meth:`~station.store.logins.Logins.resolve_or_ended` reason or
    :data:`SIGNED_OUT_UNRECORDED`; ``seen_s`` the session's last activity at the stream's last check
    (None before the first). A session ended on purpose is said so ("Sign out everywhere else", a password
    change, disabled, signed out in another tab of the browser, also on the command line or before a restart:
    the store keeps which). A session gone from the store otherwise (:data:`~station.store.logins.ENDED_UNKNOWN`:
    a station before it kept sign-outs, migration 20) whose last activity is within the timeout was ended on
    purpose too; past it, inactivity ended it (another user's sign-in then deleted it).

    >>> logout_reason("inactive", 100.0, 1000.0, 900.0)
    {'expired': True}
    >>> logout_reason("unknown", 100.0, 400.0, 900.0)
    {'expired': False, 'ended': 'signed_out'}
    >>> logout_reason("unknown", 100.0, 1100.0, 900.0)
    {'expired': True}
    >>> logout_reason(SIGNED_OUT_UNRECORDED, 100.0, 400.0, 900.0)
    {'expired': False, 'ended': 'signed_out_unrecorded'}
    >>> logout_reason("max_age", 990.0, 1000.0, 900.0)
    {'expired': True, 'ended': 'max_age'}
    >>> logout_reason("password_changed", 100.0, 400.0, 900.0)
    {'expired': False, 'ended': 'password_changed'}
    >>> logout_reason("signed_out_tab", 100.0, 1100.0, 900.0)  # signed out in another tab: kept, whenever
    {'expired': False, 'ended': 'signed_out_tab'}
    """
    if ended == SIGNED_OUT_UNRECORDED:
        return {"expired": False, "ended": SIGNED_OUT_UNRECORDED}
    if ended == ENDED_CLOCK:
        return {"expired": True, "ended": "clock_set_back"}
    if ended == ENDED_AGE:  # 12 h after the sign-in, however busy (a trial recording too: it goes on)
        return {"expired": True, "ended": ENDED_AGE}
    if ended in (ENDED_OTHERS, ENDED_PASSWORD, ENDED_DISABLED, ENDED_SIGNED_OUT):  # the API's 401 says the same
        return {"expired": False, "ended": ended}
    if ended == ENDED_UNKNOWN and (seen_s is None or now_s - seen_s <= timeout_s):
        return {"expired": False, "ended": "signed_out"}
    return {"expired": True}


def _walk_open(service) -> bool:
    """A walk test is open (the walk panel shows the stream's steps and cadence)."""
    run = service.status().get("run") if service is not None else None
    return bool(run) and run.get("outcome") == "walk"


def _stream(app, *, token: str, resume: tuple[str | None, int], shown=lambda status: None):
    """The generator of one viewer's stream (runs in a server thread, outside the request)."""
    link = app.config.get("STATION_LINK")
    service = app.config.get("TRIAL_SERVICE")
    station_store = app.extensions["station_store"]
    viewers = app.extensions["station_live_viewers"]
    wall_clock = app.config["WALL_CLOCK"]
    reader = None
    supervisor = app.config.get("ACQUISITION_SUPERVISOR")
    restarts_seen = 0
    try:
        yield f"retry: {RETRY_MS}\n\n"
        epoch, seq = resume
        if service is not None and epoch == service.epoch:
            texts, seq = _catch_up(service, seq)
        else:
            text, seq = _status_event(service, no_service_reason(app))
            texts = [text]
        for text in texts:
            yield text
        started = time.monotonic()
        next_tick = started
        next_health = started
        next_session = started
        seen_s = None  # the login session's last activity at the last check (wall clock, s)
        attach_after = started
        rate_hz = link.rate_hz if link is not None else None
        gait = LiveGait(rate_hz) if rate_hz else None
        shared_gait = app.extensions.setdefault("station_live_gait", SharedGaitEvent())
        frame_texts = app.extensions.setdefault("station_live_frame_texts", FrameTexts())
        next_gait = started + GAIT_INTERVAL_S
        frames_at = None  # when this stream last read frames (time.monotonic())
        silent = False  # no frame for NO_FRAMES_S: the health sent says so
        while True:
            now = time.monotonic()
            if now - started > STREAM_MAX_S:
                return
            if now >= next_session:
                next_session = now + SESSION_CHECK_S
                timeout_s = float(station_store.settings.get("session_timeout_min")) * 60.0
                # while a trial counts down or records, the live view keeps its clinician signed in
                # (Stop within reach); the inactivity timeout runs again from the trial's end
                status = service.status() if service is not None else None  # one snapshot for all
                held = status is not None and trial_running(status)
                # between an open test's trials too, for a bounded while (held_between_trials)
                between = held_between_trials(service, status, timeout_s)
                user = (SIGNED_OUT_UNRECORDED if was_signed_out_unstored(app, token)
                        else station_store.logins.resolve_or_ended(token, timeout_s, touch=held or between))
                if not isinstance(user, LoginSession):
                    yield _event("logout", logout_reason(user, seen_s, wall_clock(), timeout_s))
                    return
                seen_s = user.last_seen_s
                if status is not None:
                    shown(status)  # a run opened since: its patient is on this screen now
                left_s = timeout_s - (wall_clock() - user.last_seen_s)
                yield _event("session", {"expires_in_s": round(max(0.0, left_s), 1), "held_by_trial": held,
                                         "held_between_trials": between})
            if now >= next_health:
                next_health = now + HEALTH_INTERVAL_S
                health = station_health_document(app)
                yield _event("health", {"health": health, "viewers": viewers.count})
            if reader is not None and supervisor is not None and supervisor.restarts != restarts_seen:
                reader.close()  # the acquisition was restarted: its ring is a new one
                reader = None
            if reader is None and link is not None and now >= attach_after:
                restarts_seen = supervisor.restarts if supervisor is not None else 0
                try:
                    reader = RingReader(link.ring_name)
                    reader.cursor = max(0, reader.write_count - min(reader.capacity, int(BACKFILL_S * link.rate_hz)))
                except RingError:
                    attach_after = now + 1.0
            if reader is not None:
                block = reader.read()
                walking = _walk_open(service)
                if len(block.frames):
                    frames_at = now
                    if silent:  # frames again after a stall: the next tick says so in health
                        silent = False
                        next_health = now
                elif frames_at is not None and not silent and now - frames_at > NO_FRAMES_S + 0.05:
                    silent = True  # the acquisition stalled: health says nodata now, not up to 1 s later
                    next_health = now
                if len(block.frames) or block.missed:
                    yield _frames_event(frame_texts.texts(block.frames), block.missed, rate_hz)
                    if walking:
                        gait.feed(block.frames)
                if walking and now >= next_gait:
                    next_gait = now + GAIT_INTERVAL_S
                    doc = shared_gait.get(now, gait)
                    if doc is not None:
                        yield _event("gait", doc)
            if service is not None:
                texts, seq = _catch_up(service, seq)
                for text in texts:
                    yield text
            next_tick += LIVE_INTERVAL_S
            delay = next_tick - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_tick = time.monotonic()  # fell behind: do not try to catch up in a burst
    finally:
        if reader is not None:
            reader.close()


@bp.get("/api/live")
@background
def live():
    viewers = _viewers()
    user = current_user().user_id
    refusal = viewers.enter(user)
    if refusal:
        return api_error(503, refusal)
    token = session.get("sid", "")
    who = actor()
    exposure = current_app.extensions["station_exposure_audit"]
    service = current_app.config.get("TRIAL_SERVICE")
    try:
        exposure.shown(token, "live.view", service.status() if service is not None else None, who)
    except Exception:
        viewers.leave(user)
        raise
    # The browser sends Last-Event-ID when it reconnects by itself; a page that had to open a new
    # stream passes the same in ``last_event_id``.
    resume = _parse_last_event_id(request.headers.get("Last-Event-ID") or request.args.get("last_event_id"))
    generator = _stream(current_app._get_current_object(), token=token, resume=resume,
                        shown=lambda status: exposure.shown(token, "live.view", status, who))
    response = Response(_Stream(generator, viewers, user), mimetype="text/event-stream")
    response.headers["X-Accel-Buffering"] = "no"  # the HTTPS proxy must pass events on at once
    return response


@bp.get("/api/session/remaining")
@background
def session_remaining():
    """Time left before the inactivity logout (``expires_in_s``) and before the end 12 h after the sign-in
    however busy (``ends_in_s``, :func:`~station.store.logins.lifetime_left_s`), s, both on the wall clock the
    store ends sessions by; does not count as activity."""
    user = current_user()
    timeout_s = float(store().settings.get("session_timeout_min")) * 60.0
    now = current_app.config["WALL_CLOCK"]()
    left_s = timeout_s - (now - user.last_seen_s)
    return {"expires_in_s": round(max(0.0, left_s), 1),
            "session_timeout_min": timeout_s / 60.0,
            "ends_in_s": round(lifetime_left_s(user.created_s, now), 1),
            "max_age_h": MAX_AGE_S / 3600.0}
