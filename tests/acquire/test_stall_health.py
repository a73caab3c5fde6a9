"""Health during and after a stall of the acquisition (issue 10's live view):

- the ring's reader says ``nodata`` once the newest frame is over NO_FRAMES_S old while the
  acquisition's report is still fresh (and ``starting`` before the first frame, ``nodata`` once the
  acquisition started over NO_FRAMES_S ago without one) (the live view says "no data" after the same second; before,
  /healthz said "ok" for up to 3 s of a stall), and ``down`` once the report is HEALTH_STALE_S old;
- the loop's ``frames_recent`` counts the frames lost in the last 10 s apart from the total since the
  start, so that a stall minutes ago is history and not "something is wrong now".
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from station.acquire.frame import FRAME_DTYPE
from station.acquire.loop import RECENT_S
from station.acquire.ring import FrameRing
from station.acquire.source import (HEALTH_STALE_S, NO_FRAMES_CODE, NO_FRAMES_S, NOT_RESPONDING_CODE,
                                    NOT_RUNNING_CODE, STARTING_CODE, RingFrameSource)
from station.sim.person import VirtualPerson


@pytest.fixture
def ring():
    ring = FrameRing(64)
    source = RingFrameSource(ring.name, 100.0)
    yield ring, source
    source.close()
    ring.close()


def _frame(seq: int, t_ns: int) -> tuple:
    f = np.zeros(1, dtype=FRAME_DTYPE)[0]
    f["seq"], f["t_ns"], f["fz_n"] = seq, t_ns, 700.0
    return f.item()


def _report(state: str = "ok", age_s: float = 0.2) -> dict:
    return {"state": state, "reason": "" if state == "ok" else "sensor problem: fl down", "frames": 500,
            "frames_lost": 0, "published_ns": time.monotonic_ns() - int(age_s * 1e9)}


def _frames_until(ring: FrameRing, newest_age_s: float, n: int = 10) -> None:
    newest = time.monotonic_ns() - int(newest_age_s * 1e9)
    for i in range(n):
        ring.write(_frame(i, newest - (n - 1 - i) * 10_000_000))


def test_a_stalled_acquisition_reads_nodata_after_a_second_not_ok(ring):
    ring, source = ring
    _frames_until(ring, NO_FRAMES_S + 0.5)  # the loop blocked 1.5 s ago; its last report is fresh
    ring.publish_health(_report(age_s=0.2))
    doc = source.health()
    assert doc["state"] == "nodata", doc
    # in words a clinician reads, the code for tools, the engineer's words as they were (1.5 s, rounded)
    assert doc["reason"] == "the station has measured nothing for 2 s: its measuring program is held up"
    assert doc["reason_code"] == NO_FRAMES_CODE == "no_frames"
    assert doc["detail"] == "no data: the acquisition has sent no frames for 2 s"
    assert doc["newest_frame_age_s"] == pytest.approx(NO_FRAMES_S + 0.5, abs=0.2)
    assert doc["frames"] == 500  # the rest of the report is kept


def test_frames_coming_keep_the_reports_state(ring):
    ring, source = ring
    _frames_until(ring, 0.05)
    ring.publish_health(_report(age_s=0.9))  # reports come once a second: this one is not stale
    doc = source.health()
    assert doc["state"] == "ok" and doc["newest_frame_age_s"] < NO_FRAMES_S
    ring.publish_health(_report("degraded", age_s=0.5))
    assert source.health()["state"] == "degraded"


def test_an_old_report_is_down_and_a_down_acquisition_stays_down(ring):
    ring, source = ring
    _frames_until(ring, HEALTH_STALE_S + 1.0)
    ring.publish_health(_report(age_s=HEALTH_STALE_S + 0.5))  # the whole process hung: not responding
    doc = source.health()
    assert doc["state"] == "down" and doc["reason_code"] == NOT_RESPONDING_CODE, doc
    assert doc["reason"] == f"the station's measuring program has not answered for {HEALTH_STALE_S + 0.5:.0f} s", doc
    ring.publish_health(_report("down", age_s=0.2))  # it says itself that it is down (no corner answers)
    doc = source.health()
    assert doc["state"] == "down" and "reason_code" not in doc and doc["reason"] == "sensor problem: fl down"


def test_a_report_before_any_frame_says_starting_then_nodata_not_ok(ring, tmp_path):
    """A restarted acquisition (after a SIGKILL: tests/security/test_fault_injection.py) reported "ok" with
    no frame read: a monitor and the health chip said the plate worked. Now "starting" (200: a start is no
    failure) until NO_FRAMES_S after the loop's start, then "nodata" (503) until its first frame."""
    from web import create_app

    ring, source = ring
    app = create_app({"DATA_DIR": str(tmp_path / "web"), "STATION_LINK": source, "TESTING": True})
    ring.publish_health({**_report(age_s=0.1), "frames": 0, "started_ns": time.monotonic_ns() - 100_000_000})
    doc = source.health()
    assert doc["state"] == "starting" and doc["reason_code"] == STARTING_CODE, doc
    assert doc["reason"] == "the station's measuring program is starting: no readings yet"
    assert doc["newest_frame_age_s"] is None
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json()["state"] == "starting"
    ring.publish_health({**_report(age_s=0.2), "frames": 0, "started_ns": time.monotonic_ns() - 1_600_000_000})
    doc = source.health()  # started 1.6 s ago, fresh report, still no frame: measured nothing since it started
    assert doc["state"] == "nodata" and doc["reason_code"] == NO_FRAMES_CODE, doc
    assert doc["reason"] == "the station has measured nothing for 2 s: its measuring program is held up"
    assert doc["detail"] == "no data: the acquisition started 2 s ago and has sent no frame"
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["state"] == "nodata"
    _frames_until(ring, 0.0)  # its first frames
    assert source.health()["state"] == "ok"
    assert app.test_client().get("/healthz").status_code == 200


def test_a_report_saying_down_before_any_frame_stays_down(ring):
    ring, source = ring
    ring.publish_health({**_report("down", age_s=0.1), "frames": 0, "started_ns": time.monotonic_ns() - 50_000_000})
    doc = source.health()
    assert doc["state"] == "down" and doc["reason"] == "sensor problem: fl down"


def test_the_acquisition_loop_on_the_simulated_plate_says_starting_until_its_first_frame(ring):
    """The acquisition process's own steps (station.acquire.process): the loop started and its first report
    published, then its first frame. Its report said "degraded" (an uncalibrated plate) with no frame read."""
    from station.acquire.calibration import nominal_calibration
    from station.acquire.loop import AcquisitionLoop
    from station.clock import MonotonicClock
    from station.config import StationConfig
    from station.sim.station import SimulatedHardwareRecipe

    ring, source = ring
    config = StationConfig()
    recipe = SimulatedHardwareRecipe(seed=2)
    clock = recipe.clock(MonotonicClock())
    hardware = recipe.open(config, clock)
    try:
        loop = AcquisitionLoop(clock=clock, plate=hardware.plate, imu=hardware.imu,
                               calibration=nominal_calibration(config.plate), config=config, sink=ring.write,
                               bus_errors=hardware.bus_errors, on_health=ring.publish_health)
        loop.start()
        ring.publish_health(loop.health())
        doc = source.health()
        assert doc["state"] == "starting" and doc["reason_code"] == STARTING_CODE, doc
        assert doc["frames"] == 0 and 0 <= time.monotonic_ns() - doc["started_ns"] < NO_FRAMES_S * 1e9
        loop.step()  # its first frame, in the ring
        doc = source.health()
        assert doc["state"] == "degraded" and doc["reason_code"] == "plate_not_calibrated", doc
        assert doc["newest_frame_age_s"] is not None and doc["newest_frame_age_s"] < NO_FRAMES_S
    finally:
        hardware.close()


def test_healthz_answers_503_nodata_during_a_stall(ring, tmp_path):
    from web import create_app

    ring, source = ring
    _frames_until(ring, 1.6)
    ring.publish_health(_report(age_s=0.3))
    app = create_app({"DATA_DIR": str(tmp_path / "web"), "STATION_LINK": source, "TESTING": True})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["state"] == "nodata"
    _frames_until(ring, 0.0)  # frames again
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json()["state"] == "ok"


def test_frames_lost_in_a_stall_are_recent_for_ten_seconds_then_history(calibrated_station):
    station = calibrated_station(VirtualPerson.standing_demo(seed=3), seed=0)
    station.run_seconds(2.0)
    before = station.health()
    assert before["frames_recent"] == {"window_s": RECENT_S, "frames": before["frames"],
                                       "frames_lost": 0}  # under 10 s since the start: all of them
    station.clock.advance_ns(2_000_000_000)  # the loop blocked for 2 s (the Pi late, a hung call)
    station.run_seconds(1.2)
    after = station.health()
    lost = after["frames_lost"]
    # 200 frames, and a few more while the loop catches up (the IMU's full FIFO, 512 words at 208 Hz after
    # 1.2 s of stall, is ~90 ms of I2C at 400 kHz: 206 here; 204 at 104 Hz)
    assert 195 <= lost <= 210, lost
    assert after["frames_recent"]["frames_lost"] == lost
    assert station.loop.health_doc["frames_recent"]["frames_lost"] == lost  # the published report says it too
    station.run_seconds(RECENT_S + 1.5)
    later = station.health()
    assert later["frames_lost"] == lost  # the total since the start keeps it ...
    assert later["frames_recent"]["frames_lost"] == 0  # ... the last 10 s are clean
    assert 1000 <= later["frames_recent"]["frames"] <= 1100, later["frames_recent"]  # 10-11 s at 100 Hz
    assert station.loop.health_doc["frames_recent"]["frames_lost"] == 0


def test_an_acquisition_not_running_or_starting_says_so_in_words_with_its_code(ring):
    ring, source = ring
    doc = source.health()  # the ring is there, no report yet
    assert doc["state"] == "down" and doc["reason_code"] == STARTING_CODE
    assert doc["reason"] == "the station's measuring program is starting: no readings yet"
    gone = RingFrameSource("balance-ring-none-such", 100.0)
    doc = gone.health()
    assert doc["state"] == "down" and doc["reason_code"] == NOT_RUNNING_CODE
    assert doc["reason"] == "the station's measuring program is not running"
    assert "balance-ring-none-such" in doc["detail"]  # the engineer's words kept
