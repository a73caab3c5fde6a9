"""``GET /api/live``: the Server-Sent Events stream of the live view, against a real shared-memory
ring filled in real time and the trial service's event bus."""

from __future__ import annotations

import html
import json
import math
import threading
import time

import numpy as np
import pytest

from station.acquire.frame import FRAME_DTYPE
from station.acquire.ring import FrameRing
from station.acquire.source import RingFrameSource
from station.protocols.service import TrialService
from station.store.audit import Actor
from web import create_app
import web.live

from dashboard_support import CHEAP, CLINICIAN_PW


class WallClock:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


class RingWriter(threading.Thread):
    """Writes frames into a ring at 100 Hz, stamped with the monotonic clock (as the acquisition)."""

    def __init__(self, ring: FrameRing) -> None:
        super().__init__(daemon=True)
        self.ring = ring
        self.stop = threading.Event()
        self.seq = 0

    def frame(self) -> tuple:
        f = np.zeros(1, dtype=FRAME_DTYPE)[0]
        f["seq"] = self.seq
        f["t_ns"] = time.monotonic_ns()
        f["fl_n"], f["fr_n"], f["bl_n"], f["br_n"] = 170.0, 180.0, 160.0, 175.0
        f["fz_n"] = 685.0
        f["ap_cm"] = math.nan if self.seq % 50 == 7 else 0.01 * (self.seq % 10)
        f["ml_cm"] = -0.5
        f["flags"] = 8192 if self.seq % 50 == 7 else 0
        return f.item()

    def run(self) -> None:
        next_t = time.monotonic()
        while not self.stop.is_set():
            self.ring.write(self.frame())
            self.seq += 1
            next_t += 0.01
            time.sleep(max(0.0, next_t - time.monotonic()))


@pytest.fixture
def wall():
    return WallClock()


@pytest.fixture
def store(tmp_path, wall):
    from station.store.store import Store

    s = Store.open_service(tmp_path / "data", password_cost=CHEAP, wall_clock=wall)
    yield s
    s.close()


@pytest.fixture
def live(tmp_path, store, wall):
    ring = FrameRing(4096)
    writer = RingWriter(ring)
    writer.start()
    link = RingFrameSource(ring.name, 100.0)
    service = TrialService(RingFrameSource(ring.name, 100.0), store, calibration={})
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "STORE": store, "PASSWORD_COST": CHEAP, "WALL_CLOCK": wall,
                      "STATION_LINK": link, "TRIAL_SERVICE": service, "TESTING": True})
    store.users.create("ana", CLINICIAN_PW, "clinician", actor=Actor(None, "test"))
    time.sleep(0.3)  # some frames for the backfill
    yield app, service, writer, wall
    writer.stop.set()
    writer.join(2)
    link.close()
    service.source.close()
    ring.close()


def signed_in(app):
    client = app.test_client()
    token = client.get("/api/session").get_json()["csrf_token"]
    r = client.post("/api/login", json={"username": "ana", "password": CLINICIAN_PW}, headers={"X-CSRF-Token": token})
    assert r.status_code == 200
    return client


def checked_stream(app, monkeypatch):
    """A signed-in client and its live stream, past its first check of the login session (checked every
    20 ms from then on): (client, stream); the caller closes the stream."""
    monkeypatch.setattr(web.live, "SESSION_CHECK_S", 0.02)
    client = signed_in(app)
    stream = Stream(client)
    try:
        stream.until(lambda e: e.get("event") == "session")
    except BaseException:
        stream.close()
        raise
    return client, stream


def parse(chunk: bytes) -> dict:
    event = {}
    for line in chunk.decode().splitlines():
        if not line:
            continue  # the blank line that ends an event
        key, _, value = line.partition(": ")
        event[key] = value
    if "data" in event:
        event["data"] = json.loads(event["data"])
    return event


class Stream:
    def __init__(self, client, headers=None, query="") -> None:
        self.response = client.get("/api/live" + query, headers=headers or {}, buffered=False)
        self.chunks = iter(self.response.response)

    def next(self) -> dict:
        return parse(next(self.chunks))

    def until(self, predicate, limit: int = 500) -> list[dict]:
        seen = []
        for _ in range(limit):
            event = self.next()
            seen.append(event)
            if predicate(event):
                return seen
        raise AssertionError(f"not found in {limit} events: {[e.get('event') for e in seen][:40]}")

    def close(self) -> None:
        self.response.close()


def test_the_live_stream_needs_a_login(live):
    app, *_ = live
    r = app.test_client().get("/api/live")
    assert r.status_code == 401 and r.get_json()["error"].startswith("not signed in")


def test_status_first_then_every_frame_once_with_health_and_the_session(live):
    app, service, writer, _ = live
    stream = Stream(signed_in(app))
    try:
        assert stream.next() == {"retry": "1000"}
        status = stream.next()
        assert status["event"] == "status" and status["id"] == f"{service.epoch}-{service.bus.last_seq}"
        assert status["data"]["available"] and status["data"]["run"] is None
        events = [stream.next() for _ in range(60)]
    finally:
        stream.close()
    kinds = {e.get("event") for e in events}
    assert {"frames", "health", "session"} <= kinds
    health = next(e for e in events if e.get("event") == "health")["data"]
    assert health["health"]["state"] == "down" and health["health"]["reason_code"] == "acquisition_starting"  # as /healthz says
    assert health["viewers"] == 1
    session = next(e for e in events if e.get("event") == "session")["data"]
    assert 0 < session["expires_in_s"] <= 15 * 60
    frames_events = [e["data"] for e in events if e.get("event") == "frames"]
    first = frames_events[0]["frames"]
    assert len(first) >= 20  # the backfill: frames written before the stream opened
    seqs = [f["seq"] for doc in frames_events for f in doc["frames"]]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # every frame, once, in order
    assert all(doc["missed"] == 0 and doc["rate_hz"] == 100.0 for doc in frames_events)
    assert all(doc["sent_ns"] >= doc["frames"][-1]["t_ns"] for doc in frames_events if doc["frames"])
    frame = frames_events[-1]["frames"][-1]
    assert set(frame) == {"seq", "t_ns", "ap_cm", "ml_cm", "fz_n", "left_n", "right_n", "acc_m_s2", "flags"}
    assert frame["left_n"] == pytest.approx(330.0) and frame["right_n"] == pytest.approx(355.0)
    unknown = [f for doc in frames_events for f in doc["frames"] if f["seq"] % 50 == 7]
    assert unknown and all(f["ap_cm"] is None and f["flags"] == 8192 for f in unknown)
    assert web.live.LIVE_INTERVAL_S <= 1 / 25  # at least 25 events a second


def test_a_reconnecting_viewer_gets_the_trial_events_it_missed(live):
    app, service, *_ = live
    client = signed_in(app)
    for i in range(5):
        service.bus.publish("progress", elapsed_s=i + 1, duration_s=30)
    epoch = service.epoch
    stream = Stream(client, headers={"Last-Event-ID": f"{epoch}-2"})
    try:
        events = stream.until(lambda e: e.get("id") == f"{epoch}-5")
    finally:
        stream.close()
    trial = [e for e in events if e.get("event") == "trial"]
    assert [e["data"]["seq"] for e in trial] == [3, 4, 5] and trial[0]["data"]["kind"] == "progress"
    assert not [e for e in events if e.get("event") == "status"]  # resumed, not restarted
    # The page may also pass the id itself (a new EventSource cannot send the header).
    stream = Stream(client, query=f"?last_event_id={epoch}-4")
    try:
        events = stream.until(lambda e: e.get("id") == f"{epoch}-5")
    finally:
        stream.close()
    assert [e["data"]["seq"] for e in events if e.get("event") == "trial"] == [5]
    # New events reach an open stream.
    stream = Stream(client, headers={"Last-Event-ID": f"{epoch}-5"})
    try:
        stream.next()
        service.bus.publish("countdown", remaining_s=3)
        event = stream.until(lambda e: e.get("event") == "trial")[-1]
    finally:
        stream.close()
    assert event["id"] == f"{epoch}-6" and event["data"]["kind"] == "countdown"


def test_a_viewer_from_another_station_run_or_too_far_behind_gets_the_whole_status(live):
    app, service, *_ = live
    client = signed_in(app)
    for i in range(2100):  # more than the bus keeps
        service.bus.publish("progress", elapsed_s=i, duration_s=30)
    service.step()  # the service's thread refreshes its status after each step
    for last_id in ("0000-5", f"{service.epoch}-5"):
        stream = Stream(client, headers={"Last-Event-ID": last_id})
        try:
            stream.next()
            status = stream.next()
            later = [stream.next() for _ in range(20)]
        finally:
            stream.close()
        assert status["event"] == "status" and status["id"] == f"{service.epoch}-{service.bus.last_seq}"
        assert not [e for e in later if e.get("event") in ("status", "trial")]  # once, then live
    # A snapshot older than the bus's memory: the snapshot, then on from the newest event.
    for i in range(2100):
        service.bus.publish("progress", elapsed_s=i, duration_s=30)
    stream = Stream(client, headers={"Last-Event-ID": f"{service.epoch}-5"})
    try:
        stream.next()
        assert stream.next()["event"] == "status"
        service.bus.publish("countdown", remaining_s=2)
        event = stream.until(lambda e: e.get("event") in ("trial", "status"))[-1]
    finally:
        stream.close()
    assert event["event"] == "trial" and event["data"]["kind"] == "countdown"


def test_the_stream_says_logout_when_the_session_ends_and_never_keeps_it_alive(live, store, monkeypatch):
    app, _service, _writer, wall = live
    monkeypatch.setattr(web.live, "SESSION_CHECK_S", 0.02)
    client = signed_in(app)
    with store.db.read() as conn:
        seen_before = conn.execute("SELECT last_seen_s FROM login_sessions").fetchone()[0]
    wall.t += 60  # a minute later, only the live view is open
    stream = Stream(client)
    try:
        stream.until(lambda e: e.get("event") == "session")
        with store.db.read() as conn:
            assert conn.execute("SELECT last_seen_s FROM login_sessions").fetchone()[0] == seen_before
        wall.t += 15 * 60  # the inactivity timeout passes
        events = stream.until(lambda e: e.get("event") == "logout")
        assert events[-1]["data"] == {"expired": True}
        with pytest.raises(StopIteration):
            stream.next()  # and the stream ends
    finally:
        stream.close()


def test_the_stream_says_logout_after_a_sign_out_the_store_could_not_record(live, store, monkeypatch):
    """X1 finding F3, session 25: on a failing SD card the sign-out clears the browser's cookie, and the
    station refuses the session from then on; a live view left open in another tab ends too (it read
    the database, which still held the session)."""
    from failing_card import failing_card

    app, _service, _writer, _wall = live
    client, stream = checked_stream(app, monkeypatch)
    try:
        card = failing_card(store, monkeypatch)
        card.failing = True
        csrf = client.get("/api/session").get_json()["csrf_token"]
        answer = client.post("/api/logout", headers={"X-CSRF-Token": csrf})
        assert answer.status_code == 200 and answer.get_json()["recorded"] is False
        card.failing = False
        events = stream.until(lambda e: e.get("event") == "logout")
        # what happened, for the sign-in page to say it (it said "ended after inactivity"; X2, session 25)
        assert events[-1]["data"] == {"expired": False, "ended": "signed_out_unrecorded"}
        with pytest.raises(StopIteration):
            stream.next()
    finally:
        stream.close()
    page = app.test_client().get("/login?next=/live&signed_out=unrecorded").get_data(as_text=True)
    assert "the station could not record the sign-out" in page and "inactivity" not in page


def test_the_stream_says_signed_out_after_a_sign_out_in_another_tab(live, store, monkeypatch):
    """A live view left open in another tab, its user signed out there: the stream says signed out in another
    tab, and the sign-in page says so, not "ended after inactivity" (X2, session 25; which way since s32, when the
    store began to keep sign-outs: before, "signed_out", from another tab, window or device, not knowing how)."""
    app, _service, _writer, _wall = live
    client, stream = checked_stream(app, monkeypatch)
    try:
        csrf = client.get("/api/session").get_json()["csrf_token"]
        assert client.post("/api/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
        events = stream.until(lambda e: e.get("event") == "logout")
        assert events[-1]["data"] == {"expired": False, "ended": "signed_out_tab"}
    finally:
        stream.close()
    page = app.test_client().get("/login?next=/live&signed_out=tab").get_data(as_text=True)
    assert "You were signed out in another tab or window of this browser" in page and "inactivity" not in page
    page = app.test_client().get("/login?next=/live&signed_out=elsewhere").get_data(as_text=True)  # no reason kept
    assert "You were signed out from another tab, window or device" in page and "inactivity" not in page


def test_a_session_that_timed_out_and_was_purged_is_still_said_to_have_ended_after_inactivity(live, store, monkeypatch):
    """Another user's sign-in deletes the timed-out sessions: the stream then finds its session gone,
    and says inactivity ended it, since its last activity is older than the timeout."""
    app, _service, _writer, wall = live
    _client, stream = checked_stream(app, monkeypatch)
    resolve = store.logins.resolve_or_ended

    def purged_first(token, timeout_s, **kwargs):  # the timeout passes and a sign-in purges, between two checks
        wall.t += 16 * 60
        assert store.logins.purge_expired(timeout_s) == 1
        monkeypatch.setattr(store.logins, "resolve_or_ended", resolve)
        return resolve(token, timeout_s, **kwargs)

    try:
        monkeypatch.setattr(store.logins, "resolve_or_ended", purged_first)
        events = stream.until(lambda e: e.get("event") == "logout")
        assert events[-1]["data"] == {"expired": True}
    finally:
        stream.close()


def test_the_stream_says_the_clock_was_set_back_when_that_ended_the_session(live, store, monkeypatch):
    """Signed in while the clock ran ahead, NTP set it back 2 days: the session ends (it lived 2 days
    and 15 min), and the live view's sign-in page says why (live.js: /login?expired=clock)."""
    app, _service, _writer, wall = live
    monkeypatch.setattr(web.live, "SESSION_CHECK_S", 0.02)
    client = signed_in(app)
    stream = Stream(client)
    try:
        stream.until(lambda e: e.get("event") == "session")
        wall.t -= 2 * 86_400
        events = stream.until(lambda e: e.get("event") == "logout")
        assert events[-1]["data"] == {"expired": True, "ended": "clock_set_back"}
    finally:
        stream.close()


def _stream_while_recording(live, monkeypatch):
    """A signed-in clinician's live stream while a trial records (the service's status says so, its session
    checked every 20 ms): (client, stream, the status's parts, which the test changes); the caller closes it."""
    app, service, _writer, _wall = live
    monkeypatch.setattr(web.live, "SESSION_CHECK_S", 0.02)
    client = signed_in(app)
    idle = service.status()
    now = {"run": {"state": "recording", "patient_id": None}}
    monkeypatch.setattr(service, "status", lambda: {**idle, **now})
    return client, Stream(client), now


def test_a_running_trial_keeps_the_live_view_signed_in_until_it_ends(live, store, monkeypatch):
    """A 30-min treadmill session with a 15-min timeout: the clinician who touches nothing stays
    signed in (Stop within reach) while the trial records, and the timeout runs again from its end;
    a sign-in page shown meanwhile says that Stop is one sign-in away."""
    app, _service, _writer, wall = live
    client, stream, now = _stream_while_recording(live, monkeypatch)

    def next_session() -> dict:
        return stream.until(lambda e: e.get("event") in ("session", "logout"))[-1]

    try:
        for _ in range(3):  # 30 min of recording, ten minutes between two of the stream's checks
            wall.t += 10 * 60
            event = next_session()
            assert event["event"] == "session" and event["data"] == {"expires_in_s": 15 * 60, "held_by_trial": True,
                                                                     "held_between_trials": False}
        login = app.test_client().get("/login").get_data(as_text=True)  # someone else's tablet, signed out
        assert "A trial is being recorded on this station now. Stop is one sign-in away" in login
        assert 'name="next" value="/live"' in login
        now["run"] = {"state": "instructions", "patient_id": None}  # the recording ended
        wall.t += 10 * 60
        event = next_session()
        assert event["data"] == {"expires_in_s": pytest.approx(5 * 60, abs=1), "held_by_trial": False,
                                 "held_between_trials": False}  # (no test open: its status has no trials left)
        assert "being recorded" not in app.test_client().get("/login").get_data(as_text=True)
        wall.t += 5 * 60 + 1
        assert next_session()["event"] == "logout"
    finally:
        stream.close()


def test_a_session_ends_12_hours_after_its_sign_in_even_while_a_trial_records_which_goes_on(live, store, monkeypatch):
    """The live view keeps its session alive while a trial records, but not past 12 h from the sign-in (a
    stolen cookie kept busy lived for ever: s28 X7's L2): the stream says why, and the sign-in page it leads
    to says so, that the trial is being recorded and Stop one sign-in away, and leads back to the live view,
    whose stream shows the same trial still recording (the acquisition does not depend on the page's session)."""
    app, _service, _writer, wall = live
    client, stream, now = _stream_while_recording(live, monkeypatch)
    try:
        for _ in range(12 * 6 - 1):  # 11 h 50 min, the stream's checks 10 min apart, the trial held all along
            wall.t += 10 * 60
            event = stream.until(lambda e: e.get("event") in ("session", "logout"))[-1]
            assert event["event"] == "session" and event["data"]["held_by_trial"] is True
        wall.t += 10 * 60 + 1
        event = stream.until(lambda e: e.get("event") in ("session", "logout"))[-1]
        assert event == {"event": "logout", "data": {"expired": True, "ended": "max_age"}}
    finally:
        stream.close()
    page = client.get("/login?next=%2Flive&expired=age").get_data(as_text=True)  # where live.js goes
    assert "Your session ended 12 hours after you signed in" in page and "inactivity" not in page
    assert "A trial is being recorded on this station now. Stop is one sign-in away" in page
    assert 'name="next" value="/live"' in page
    again = signed_in(app)
    stream = Stream(again)
    try:
        status = stream.until(lambda e: e.get("event") == "status")[-1]["data"]
        assert status["run"]["state"] == "recording"
    finally:
        stream.close()


def test_sign_out_everywhere_else_closes_the_user_s_other_live_views(live, store, monkeypatch):
    """The other session's stream says it was signed out by "Sign out everywhere else" (s28 X9: it said only
    signed out elsewhere, as for a sign-out in another tab) and closes."""
    app, _service, _writer, _wall = live
    other, stream = checked_stream(app, monkeypatch)
    try:
        here = signed_in(app)
        csrf = here.get("/api/session").get_json()["csrf_token"]
        r = here.post("/api/account/sign-out-others", headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200 and r.get_json()["ended"] == 1
        events = stream.until(lambda e: e.get("event") == "logout")
        assert events[-1]["data"] == {"expired": False, "ended": "signed_out_others"}
    finally:
        stream.close()
    assert here.get("/api/patients").status_code == 200


@pytest.mark.parametrize("change, ended", [({"password": "a new password 42"}, "password_changed"),
                                           ({"disabled": True}, "disabled")])
def test_a_live_view_whose_user_s_password_was_changed_or_account_disabled_says_which(live, store, monkeypatch,
                                                                                       change, ended):
    """An administrator's change ends the user's sessions: the stream says which (s28 X9: 'signed_out', whose
    words name every way), as the API's 401 does, and the sign-in page it leads to says it."""
    app, _service, _writer, _wall = live
    _client, stream = checked_stream(app, monkeypatch)
    try:
        ana = store.users.get_by_name("ana")["id"]
        store.users.update(ana, actor=Actor(None, "cli:test"), **change)  # what PATCH /api/users/<id> calls
        events = stream.until(lambda e: e.get("event") == "logout")
        assert events[-1]["data"] == {"expired": False, "ended": ended}
    finally:
        stream.close()
    param = {"password_changed": "password", "disabled": "disabled"}[ended]  # app.js goToLogin
    page = html.unescape(app.test_client().get(f"/login?next=%2Flive&signed_out={param}").get_data(as_text=True))
    assert ("your password was changed" if ended == "password_changed" else "disabled your account") in page
    assert "inactivity" not in page


class WallMonotonic:
    """The service's event clock run by the test's wall clock (the login sessions'), so that the time
    since a trial's end and the inactivity both follow ``wall.t``."""

    def __init__(self, wall: WallClock) -> None:
        self.wall = wall

    def monotonic_ns(self) -> int:
        return int(self.wall.t * 1e9)


def _between_trials(live, monkeypatch, due: list):
    """A test open on the live view, its trial recorded for a minute and ended now (``due``: the trials
    left): (a stream of a signed-in clinician's, next_session(), the status's ``run``)."""
    app, service, _writer, wall = live
    monkeypatch.setattr(web.live, "SESSION_CHECK_S", 0.02)
    client = signed_in(app)
    service.bus.clock = WallMonotonic(wall)
    idle = service.status()
    now = {"run": {"state": "recording", "patient_id": None, "finished": False, "due": due}}
    monkeypatch.setattr(service, "status", lambda: {**idle, **now})
    service.bus.publish("protocol_started", protocol="mctsib", title="mCTSIB", trials=[])
    stream = Stream(client)

    def next_session() -> dict:
        return stream.until(lambda e: e.get("event") in ("session", "logout"))[-1]

    wall.t += 60
    assert next_session()["data"]["held_by_trial"] is True
    service.bus.publish("state", state="checking", previous="recording", protocol="mctsib", condition="firm_eo")
    now["run"] = {**now["run"], "state": "done"}
    return stream, next_session, now["run"]


def test_between_an_open_test_s_trials_the_live_view_stays_signed_in_a_bounded_while(live, store, monkeypatch):
    """A clinician coaching the patient between two trials of an open test, touching nothing, is not signed out
    at the 15-min timeout (before: signed out 15 min after the trial); the live view keeps the session until 15
    min after the trial, and then the timeout runs: signed out 30 min after the trial at the latest, however
    long the tablet is left on the test's page."""
    _app, _service, _writer, wall = live
    stream, next_session, _run = _between_trials(live, monkeypatch, due=[{"condition": "firm_ec"}])
    ended = wall.t
    try:
        for minutes in range(1, 15):  # a check a minute: each keeps the session alive, the notice not due
            wall.t = ended + minutes * 60
            event = next_session()
            assert event["data"] == {"expires_in_s": 15 * 60, "held_by_trial": False,
                                     "held_between_trials": True}, (minutes, event)
        wall.t = ended + 20 * 60  # beyond the 15-min timeout since the trial: still signed in
        event = next_session()
        assert event["event"] == "session" and event["data"] == {
            "expires_in_s": pytest.approx(9 * 60, abs=1), "held_by_trial": False, "held_between_trials": False}, event
        wall.t = ended + 28 * 60
        assert next_session()["data"]["expires_in_s"] == pytest.approx(60, abs=1)  # the notice shows (90 s)
        wall.t = ended + 30 * 60  # no longer: the tablet left on the test's page signs out
        assert next_session()["event"] == "logout"
    finally:
        stream.close()


def test_no_hold_after_an_open_test_s_last_trial_nor_beyond_twice_a_short_timeout(live, store, monkeypatch):
    """The test's trials all run (nothing due): the timeout runs from the last trial, as before. A clinic's short
    timeout (5 min) is held twice its length at most between trials, not 30 min."""
    _app, _service, _writer, wall = live
    stream, next_session, _run = _between_trials(live, monkeypatch, due=[])
    ended = wall.t
    try:
        wall.t = ended + 10 * 60
        assert next_session()["data"] == {"expires_in_s": pytest.approx(5 * 60, abs=1), "held_by_trial": False,
                                          "held_between_trials": False}
        wall.t = ended + 15 * 60 + 1
        assert next_session()["event"] == "logout"
    finally:
        stream.close()
    store.settings.update({"session_timeout_min": 5}, actor=Actor(None, "test"))
    stream, next_session, _run = _between_trials(live, monkeypatch, due=[{"condition": "firm_ec"}])
    ended = wall.t
    try:
        wall.t = ended + 4 * 60
        assert next_session()["data"]["held_between_trials"] is True
        wall.t = ended + 5 * 60 + 1  # the hold's 5 min (10 - 5) are over: the 5-min timeout runs from 4 min
        assert next_session()["data"] == {"expires_in_s": pytest.approx(4 * 60 - 1, abs=1), "held_by_trial": False,
                                          "held_between_trials": False}
        wall.t = ended + 9 * 60 + 1
        assert next_session()["event"] == "logout"
    finally:
        stream.close()


def test_the_hold_between_trials_reads_the_station_s_own_events(store):
    """A Romberg test on the simulated station (its trial service, its events, its clock): after its first trial,
    with the second due, held for 15 min of the 15-min timeout's 30 (then the timeout runs); after the second, the
    test's last, not held; nor while no test is open."""
    from dashboard_support import ACTOR, SimulatedClinic

    patient = store.patients.create({"identifier": "P-HOLD", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
    clinic = SimulatedClinic(store)
    service, clock = clinic.service, clinic.station.clock
    assert not web.live.held_between_trials(service, service.status(), 15 * 60)
    clinic.call("open_run", patient["id"], "romberg", None, ACTOR)
    assert web.live.held_between_trials(service, service.status(), 15 * 60)  # opened, its first trial not run
    clinic.run_trial()
    status = service.status()
    assert [d["condition"] for d in status["run"]["due"]] == ["ec"] and status["run"]["state"] != "recording"
    assert web.live.held_between_trials(service, status, 15 * 60)
    clock.advance_ns(int(14.9 * 60e9))
    assert web.live.held_between_trials(service, service.status(), 15 * 60)
    assert not web.live.held_between_trials(service, service.status(), 30 * 60)  # a 30-min timeout: long enough
    clock.advance_ns(int(0.2 * 60e9))
    assert not web.live.held_between_trials(service, service.status(), 15 * 60)
    clinic.run_trial()
    assert service.status()["run"]["finished"] and not web.live.held_between_trials(service, service.status(), 15 * 60)


def test_viewers_beyond_the_limit_are_refused_until_one_leaves(live, monkeypatch):
    app, *_ = live
    monkeypatch.setattr(web.live, "MAX_VIEWERS", 1)
    client = signed_in(app)
    first = Stream(client)
    first.next()
    second = client.get("/api/live")
    assert second.status_code == 503 and "too many live viewers" in second.get_json()["error"]
    first.close()
    third = Stream(client)
    try:
        assert third.next() == {"retry": "1000"}
    finally:
        third.close()


def test_the_remaining_session_time_does_not_count_as_activity(live, store):
    app, _service, _writer, wall = live
    client = signed_in(app)
    wall.t += 100
    doc = client.get("/api/session/remaining").get_json()
    assert doc["expires_in_s"] == pytest.approx(15 * 60 - 100, abs=1) and doc["session_timeout_min"] == 15
    assert client.get("/api/session/remaining").get_json()["expires_in_s"] == pytest.approx(15 * 60 - 100, abs=1)
