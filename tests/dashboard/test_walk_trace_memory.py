"""A long walk trial's acceleration trace (``GET /api/trials/<id>/steps``, web/walk_trace.py) costs a
screen's worth of points and a bounded memory, and draws every step's peak. Found by a memory review:
a 120-min treadmill session (720,000 frames) took 122 MB a request (the vertical acceleration of
every frame in several float64 copies, the gravity's filter over the whole trial), so two at once
troubled a Pi's web worker; and every k-th frame drew a 2-hour trace, a step's peak falling between
two of them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from station.analysis.imu_frame import gravity_direction
from web.walk_trace import IMU_FIELDS, TRACE_FIELDS, steps_trace

from memory_peak import traced_peak
from test_walk_trace_chunks import chunked

RATE_HZ = 100.0
STEP_S = 0.55


def _walk(seconds: float) -> np.ndarray:
    """The fields the route reads (``seq`` and the acceleration) of a person walking on a belt: a
    vertical bump each step (a sharp peak, one frame wide at the top), the sensor's tilt drifting
    slowly (so gravity's direction changes along the trial), a little noise."""
    n = int(seconds * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    rng = np.random.default_rng(3)
    frames = np.zeros(n, dtype=[(name, "<u8" if name == "seq" else "<f8") for name in TRACE_FIELDS])
    frames["seq"] = 500 + np.arange(n)
    phase = (t % STEP_S) / STEP_S
    vertical = 9.81 + 3.0 * np.exp(-(((phase - 0.3) / 0.03) ** 2)) + rng.normal(0.0, 0.05, n)
    tilt = np.radians(20.0 + 10.0 * np.sin(2 * np.pi * t / 900.0))
    frames["ax_m_s2"] = vertical * np.cos(tilt)
    frames["ay_m_s2"] = vertical * np.sin(tilt)
    frames["az_m_s2"] = rng.normal(0.0, 0.05, n)
    return frames


@pytest.fixture(scope="module")
def two_hours() -> np.ndarray:
    return _walk(7200.0)


def _trace(frames, **window) -> dict:
    contacts = list(np.round(np.arange(1.0, len(frames) / RATE_HZ, STEP_S), 3))
    trial = {"id": 9, "rate_hz": RATE_HZ, "metrics": {"kind": "walk", "initial_contacts_s": contacts}}
    # the frames in chunks of a minute (a recording's are half a second; the store's own reading is
    # tests/dashboard/test_walk_trace_chunks.py's)
    return steps_trace(trial, chunked(frames, 6000), from_s=window.get("from_s"), to_s=window.get("to_s"), max_points=4000)


def _vertical_whole(frames: np.ndarray) -> np.ndarray:
    """Every frame's vertical acceleration with gravity filtered over the whole trial at once."""
    acc = np.column_stack([frames[f] for f in IMU_FIELDS])
    return np.einsum("ij,ij->i", acc, gravity_direction(acc, RATE_HZ))


def test_a_two_hour_trace_is_a_screen_of_points_in_bounded_memory(two_hours):
    doc, peak = traced_peak(_trace, two_hours)
    assert len(doc["time_s"]) == len(doc["acc_v_m_s2"]) <= 4000
    assert len(json.dumps(doc)) < 400_000  # with the 13,000 steps' times
    # the frames are the caller's; beyond them a few blocks of the trace, not 720,000 values in float64 copies
    assert peak < 0.8 * two_hours.nbytes, peak / two_hours.nbytes  # was 4.3 times the frames


def test_the_trace_keeps_every_peak_and_trough_and_the_steps_are_the_results(two_hours):
    doc = _trace(two_hours)
    t, acc = np.array(doc["time_s"]), np.array(doc["acc_v_m_s2"], dtype=float)
    whole = np.round(_vertical_whole(two_hours), 3)
    k = doc["step"]  # frames a bucket (a screen's pixel column) holds: 360 here, 3.6 s, six or seven steps
    assert k == 360
    # each bucket is drawn as its highest and lowest frame at their own times: the envelope of the steps'
    # peaks is the whole trial's (every k-th frame drew one frame in 180, the peaks mostly between them)
    frame_t = np.round(np.arange(len(two_hours)) / RATE_HZ, 4)
    for b in range(0, len(two_hours) // k, 7):
        drawn = (t >= b * k / RATE_HZ) & (t < (b + 1) * k / RATE_HZ)
        assert drawn.sum() == 2 and np.isin(t[drawn], frame_t[b * k : (b + 1) * k]).all()
        frames = whole[b * k : (b + 1) * k]
        assert acc[drawn].max() == frames.max() and acc[drawn].min() == frames.min(), b
    assert acc.max() == whole.max() and acc.min() == whole.min()
    assert np.all(np.diff(t) > 0)
    # the steps are the result's, every one in the window, exact
    assert doc["initial_contacts_s"] == list(np.round(np.arange(1.0, 7200.0, STEP_S), 3))
    assert doc["steps_total"] == len(doc["initial_contacts_s"]) == 13_090


def test_a_window_is_every_frame_as_over_the_whole_trial(two_hours):
    doc = _trace(two_hours, from_s=3600.0, to_s=3630.0)  # a minute's half, as the page shows one
    first, last = 360_000, 363_000
    assert doc["step"] == 1 and len(doc["time_s"]) == last - first + 1
    assert doc["time_s"][0] == 3600.0 and doc["time_s"][-1] == 3630.0
    # gravity taken from the trial around the window gives the same values as over the whole trial
    expected = np.round(_vertical_whole(two_hours)[first : last + 1], 3)
    assert np.array_equal(np.array(doc["acc_v_m_s2"]), expected)
