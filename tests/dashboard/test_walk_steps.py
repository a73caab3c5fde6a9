"""Walk trials on the dashboard's server side: a stored walk trial's vertical acceleration with its
steps (``GET /api/trials/<id>/steps``), the live stream's steps and cadence (:mod:`web.live_gait`)
and the acceleration in each live frame."""

from __future__ import annotations

import numpy as np
import pytest

from station.acquire.frame import FRAME_DTYPE
from station.store.audit import Actor
from web import create_app
from web.live import frames_payload
from web.live_gait import INTERVAL_S, LiveGait, SharedGaitEvent

from dashboard_support import ACTOR, CHEAP, CLINICIAN_PW

BACKENDS = ("sqlite", "postgresql")
"""The tests using the store run on the station's SQLite and on the hub's PostgreSQL (conftest)."""

RATE_HZ = 100.0
STEP_S = 0.55  # about 109 steps/min


@pytest.fixture
def app(tmp_path, store):
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "STORE": store, "PASSWORD_COST": CHEAP, "TESTING": True})
    store.users.create("ana", CLINICIAN_PW, "clinician", actor=Actor(None, "test"))
    return app


def signed_in(app):
    client = app.test_client()
    token = client.get("/api/session").get_json()["csrf_token"]
    assert client.post("/api/login", json={"username": "ana", "password": CLINICIAN_PW},
                       headers={"X-CSRF-Token": token}).status_code == 200
    return client


def walking_frames(seconds: float, *, start_seq: int = 1000, tilt_deg: float = 20.0, walk_from_s: float = 1.0) -> np.ndarray:
    """Frames of a person walking from ``walk_from_s``: a sensor tilted ``tilt_deg`` on the belt
    (gravity not along any one axis), one vertical bump per step."""
    n = int(seconds * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    frames = np.zeros(n, dtype=FRAME_DTYPE)
    frames["seq"] = start_seq + np.arange(n)
    frames["t_ns"] = 5_000_000_000 + (t * 1e9).astype(np.int64)
    vertical = 9.81 + np.where(t >= walk_from_s, 2.0 * np.cos(2 * np.pi * (t - walk_from_s) / STEP_S), 0.0)
    a = np.radians(tilt_deg)
    up = np.array([np.cos(a), np.sin(a), 0.0])  # gravity's up in the sensor's axes
    frames["ax_m_s2"], frames["ay_m_s2"], frames["az_m_s2"] = (vertical[:, None] * up).T
    return frames


def metrics_doc(**extra) -> dict:
    return {"fs_hz": RATE_HZ, "samples": 0, "profile": "station", "version": "test", "metrics": {}, **extra}


def stored_walk(store, patient, frames, doc) -> dict:
    session = store.sessions.create(patient["id"], {"label": "walk"}, actor=ACTOR)
    writer = store.trials.start_trial(session["id"], "10mwt", "comfortable", {"method": "nominal"}, RATE_HZ, actor=ACTOR)
    writer.append(frames)
    return writer.finish(doc, valid=True)


def test_a_walk_trial_shows_its_vertical_acceleration_with_its_steps(app, store, patient):
    frames = walking_frames(12.0)
    contacts = [round(1.0 + k * STEP_S, 3) for k in range(19)]
    trial = stored_walk(store, patient, frames, metrics_doc(kind="walk", initial_contacts_s=contacts))
    client = signed_in(app)
    doc = client.get(f"/api/trials/{trial['id']}/steps").get_json()
    assert doc["rate_hz"] == RATE_HZ and doc["duration_s"] == pytest.approx(12.0)
    assert doc["time_s"][0] == 0.0 and doc["time_s"][-1] == pytest.approx(11.99)  # the trial CSV's time base
    acc = np.array(doc["acc_v_m_s2"])
    # the tilted sensor's vertical is found from gravity: still 9.81 m/s² standing, the steps' ±2 m/s² walking
    assert acc[:90] == pytest.approx(9.81, abs=0.2)
    assert acc[200:].max() == pytest.approx(11.81, abs=0.3) and acc[200:].min() == pytest.approx(7.81, abs=0.3)
    assert doc["initial_contacts_s"] == contacts and doc["steps_total"] == 19 and doc["note"] == ""
    assert doc["acceleration"] is True
    # a window, and fewer points
    part = client.get(f"/api/trials/{trial['id']}/steps?from_s=2&to_s=4&max_points=50").get_json()
    assert part["from_s"] == 2.0 and part["to_s"] == 4.0
    assert 2.0 <= part["time_s"][0] and part["time_s"][-1] <= 4.0 and len(part["time_s"]) <= 50
    assert part["initial_contacts_s"] == [c for c in contacts if 2.0 <= c <= 4.0] and part["steps_total"] == 19
    assert store.audit.query(action="trial.frames", patient_id=patient["id"]), "viewing a trial's frames is audited"


def test_a_trial_without_imu_data_or_steps_says_so(app, store, patient):
    frames = walking_frames(5.0)
    for f in ("ax_m_s2", "ay_m_s2", "az_m_s2"):
        frames[f] = np.nan
    trial = stored_walk(store, patient, frames, metrics_doc())
    doc = signed_in(app).get(f"/api/trials/{trial['id']}/steps").get_json()
    assert doc["time_s"] == [] and doc["initial_contacts_s"] == [] and doc["steps_total"] is None
    assert "lower-back sensor" in doc["note"] and "IMU" not in doc["note"]  # the name a clinician knows it by
    # said so that a page says it once, not again under its own "No acceleration recorded"
    assert doc["acceleration"] is False


def test_a_trial_without_frames_says_nothing_was_recorded_once(app, store, patient):
    trial = stored_walk(store, patient, walking_frames(0.0), metrics_doc(kind="walk", initial_contacts_s=[]))
    doc = signed_in(app).get(f"/api/trials/{trial['id']}/steps").get_json()
    assert doc["time_s"] == [] and doc["duration_s"] == 0.0
    # one message, the one that explains: nothing at all was recorded (not "was the IMU worn?", which a page
    # showed in the trace's place above this note)
    assert doc["acceleration"] is False
    assert doc["note"] == "Nothing was recorded in this trial: no readings from the plate or the lower-back sensor"
    assert "IMU" not in doc["note"]


@pytest.mark.parametrize("query, field", [("from_s=-1", "from_s"), ("to_s=abc", "to_s"), ("from_s=5&to_s=2", "to_s"),
                                          ("max_points=3", "max_points"), ("from_s=nan", "from_s")])
def test_bad_windows_are_refused_with_the_field_named(app, store, patient, query, field):
    trial = stored_walk(store, patient, walking_frames(3.0), metrics_doc())
    r = signed_in(app).get(f"/api/trials/{trial['id']}/steps?{query}")
    assert r.status_code == 422 and field in r.get_json()["fields"]


def test_steps_need_a_login_and_an_existing_trial(app, store, patient):
    trial = stored_walk(store, patient, walking_frames(3.0), metrics_doc())
    assert app.test_client().get(f"/api/trials/{trial['id']}/steps").status_code == 401
    assert signed_in(app).get("/api/trials/99999/steps").status_code == 404


def test_live_frames_carry_the_acceleration_magnitude():
    frames = walking_frames(1.0, walk_from_s=10.0)
    frames["ax_m_s2"][3] = np.nan
    payload = frames_payload(frames)
    assert payload[0]["acc_m_s2"] == pytest.approx(9.81, abs=0.01)
    assert payload[3]["acc_m_s2"] is None  # no IMU sample: unknown, not zero


def test_live_gait_finds_the_steps_and_cadence_of_the_last_seconds():
    gait = LiveGait(RATE_HZ)
    frames = walking_frames(14.0, walk_from_s=2.0)
    assert gait.event() is None  # nothing yet
    for i in range(0, len(frames), 7):  # as a stream reads them, a few at a time
        gait.feed(frames[i:i + 7])
    doc = gait.event()
    assert doc["window_s"] == pytest.approx(10.0)
    assert doc["cadence_steps_min"] == pytest.approx(60 / STEP_S, abs=1.5)
    assert doc["steps"] == len(doc["contacts_t_ns"]) >= 15
    last_t_ns = int(frames["t_ns"][-1])
    assert all(last_t_ns - 10.1e9 <= t <= last_t_ns for t in doc["contacts_t_ns"])
    intervals = np.diff(doc["contacts_t_ns"]) / 1e9
    assert np.median(intervals) == pytest.approx(STEP_S, abs=0.03)


def test_live_gait_starts_afresh_after_lost_frames_and_stays_quiet_without_walking():
    gait = LiveGait(RATE_HZ)
    standing = walking_frames(6.0, walk_from_s=100.0)
    gait.feed(standing)
    doc = gait.event()
    assert doc["steps"] == 0 and doc["cadence_steps_min"] is None
    later = walking_frames(1.5, start_seq=int(standing["seq"][-1]) + 50)  # 50 frames lost
    gait.feed(later)
    assert gait.event() is None  # only 1.5 s since the gap: too little to find steps
    unplugged = walking_frames(3.0, start_seq=int(later["seq"][-1]) + 10)  # after another gap
    for f in ("ax_m_s2", "ay_m_s2", "az_m_s2"):
        unplugged[f] = 0.0  # an unplugged sensor reads zeros: no gravity, no steps, no error
    gait.feed(unplugged)
    assert gait.event() is None


class CountingGait(LiveGait):
    def __init__(self) -> None:
        super().__init__(RATE_HZ)
        self.computed = 0

    def event(self):
        self.computed += 1
        return super().event()


def test_one_gait_analysis_a_second_serves_every_stream():
    shared = SharedGaitEvent()
    streams = [CountingGait() for _ in range(5)]
    frames = walking_frames(12.0, walk_from_s=1.0)
    for g in streams:
        g.feed(frames)
    docs = [shared.get(100.0 + 0.01 * i, g) for i, g in enumerate(streams)]
    assert sum(g.computed for g in streams) == 1 and all(d == docs[0] for d in docs) and docs[0]["steps"] > 10
    later = shared.get(100.0 + INTERVAL_S, streams[3])  # the next interval: computed again, by whoever asks
    assert streams[3].computed == 1 and sum(g.computed for g in streams) == 2 and later["steps"] == docs[0]["steps"]
