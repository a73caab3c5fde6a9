"""A walk trial's acceleration trace (``GET /api/trials/<id>/steps``, web/walk_trace.py) over frames
the acquisition lost (a stall of the station): the trace breaks there (a null), as over readings
missing, rather than a straight line drawn over time nothing was measured in; a short loss, bridged
by the gait analysis too, stays joined."""

from __future__ import annotations

import numpy as np

from station.acquire.frame import FRAME_DTYPE
from web.walk_trace import steps_trace

from test_walk_trace_chunks import chunked

RATE_HZ = 100.0


def _frames(seconds: float, lost: tuple[int, int] | None) -> np.ndarray:
    """A person walking (a vertical bump every 0.55 s), the frames ``lost`` = (first, count) never recorded."""
    n = int(seconds * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    frames = np.zeros(n, dtype=FRAME_DTYPE)
    frames["seq"] = 1000 + np.arange(n)
    frames["t_ns"] = (t * 1e9).astype(np.int64)
    frames["az_m_s2"] = 9.81 + 2.0 * np.cos(2 * np.pi * t / 0.55)
    if lost:
        keep = np.ones(n, dtype=bool)
        keep[lost[0] : lost[0] + lost[1]] = False
        frames = frames[keep]
    return frames


def _trace(frames, max_points: int = 4000) -> dict:
    trial = {"id": 7, "rate_hz": RATE_HZ, "metrics": {"initial_contacts_s": [0.5, 1.05, 4.9, 5.45]}}
    return steps_trace(trial, chunked(frames, 50), from_s=None, to_s=None, max_points=max_points)


def test_the_trace_breaks_over_a_stall_and_no_step_is_drawn_in_it():
    doc = _trace(_frames(8.0, (300, 150)))  # 1.5 s lost from 3.0 s
    t, acc = np.array(doc["time_s"]), doc["acc_v_m_s2"]
    nulls = [i for i, v in enumerate(acc) if v is None]
    assert len(nulls) == 1
    i = nulls[0]
    assert t[i - 1] == 2.99 and t[i] == 3.0 and t[i + 1] == 4.5  # just after the last frame before the stall
    assert len(doc["time_s"]) == 800 - 150 + 1
    assert not [c for c in doc["initial_contacts_s"] if 3.0 < c < 4.5]
    # thinned to fewer points, the break is still there
    doc = _trace(_frames(8.0, (300, 150)), max_points=200)
    assert sum(v is None for v in doc["acc_v_m_s2"]) == 1


def test_a_short_loss_and_no_loss_stay_joined():
    assert None not in _trace(_frames(8.0, None))["acc_v_m_s2"]
    assert None not in _trace(_frames(8.0, (300, 8)))["acc_v_m_s2"]  # 0.08 s: bridged by the analysis too
