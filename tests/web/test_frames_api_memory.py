"""``GET /api/trials/<id>/frames`` costs its answer, not the trial (X1 finding F1, session 25): it read
every frame of the asked fields and then kept every step-th, 149 MB a request for a 2-hour session's
720,000 frames, and nothing bounds how many such requests one signed-in user makes at once (32 of the
web server's threads: more memory than a Pi has). It reads the trial a batch of chunks at a time now,
keeping the frames it answers; the answer is the same."""

from __future__ import annotations

import math
import tracemalloc

import pytest

from station.acquire.frame import grid_time_s
from station.store.audit import Actor
from web.api_trials import FRAME_FIELDS, FRAMES_READ_AT_ONCE

from web_support import CAL, clinic_data, sqlite_only

BACKENDS = ("sqlite", "postgresql")

FRAMES = 120_000
"""20 min at 100 Hz: four batches of the read (FRAMES_READ_AT_ONCE)."""
LONG = 240_000
"""40 min at 100 Hz: 34 MB of frames, eight batches."""


def _trial(store, accounts, frames: int) -> int:
    who = Actor(accounts["ana"]["id"], "ana")
    patient = store.patients.create({"identifier": "PT-LONG", "birth_year": 1950, "sex": "F"}, actor=who)
    session = store.sessions.create(patient["id"], {"label": "long"}, actor=who)
    return store.trials.import_trial(session["id"], "romberg", "eyes_open", CAL, 100.0, clinic_data.make_frames(frames),
                                     clinic_data.metrics_doc(), True, None, actor=who)


def _expected(store, tid: int, names, max_points: int) -> dict:
    """The answer as the whole trial read at once gives it (the code before)."""
    frames = store.trials.frames(tid)
    step = max(1, math.ceil(len(frames) / max_points))
    picked = frames[::step]
    columns = {}
    for name in names:
        values = grid_time_s(picked, 100.0, seq0=int(frames["seq"][0])) if name == "time_s" else picked[name]
        columns[name] = [None if isinstance(v, float) and not math.isfinite(v) else v for v in values.tolist()]
    return {"frame_count": len(frames), "step": step, "columns": columns}


@pytest.mark.parametrize("frames, max_points", [(FRAMES, 3000), (FRAMES, 11), (FRAMES_READ_AT_ONCE - 1, 1000),
                                                (1, 10)], ids=["long", "step-across-batches", "one-batch", "one-frame"])
def test_the_frames_answer_is_every_step_th_frame_of_the_whole_trial(clinician, store, accounts, frames, max_points):
    """(11 points of 120,000 frames: a step of 10,910, which no batch's length is a multiple of)"""
    tid = _trial(store, accounts, frames)
    names = ",".join(FRAME_FIELDS)
    response = clinician.get(f"/api/trials/{tid}/frames?fields={names}&max_points={max_points}")
    assert response.status_code == 200, response.get_data(as_text=True)
    doc = response.json
    expected = _expected(store, tid, FRAME_FIELDS, max_points)
    assert (doc["frame_count"], doc["step"]) == (expected["frame_count"], expected["step"])
    for name in FRAME_FIELDS:
        assert doc["columns"][name] == expected["columns"][name], name


@sqlite_only("the memory of the web layer's read, the same code on both backends; the hub holds no trial being viewed "
             "on a Pi's memory")
def test_a_long_trials_frames_cost_the_answer_and_one_batch_not_the_trial(clinician, store, accounts):
    tid = _trial(store, accounts, LONG)
    whole = store.trials.frames(tid).nbytes
    names = ",".join(FRAME_FIELDS)
    tracemalloc.start()
    try:
        response = clinician.get(f"/api/trials/{tid}/frames?fields={names}&max_points=100")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 200 and response.json["frame_count"] == LONG
    batch = whole * FRAMES_READ_AT_ONCE / LONG
    assert peak < 4 * batch, f"{peak / 1e6:.1f} MB for a 100-point answer ({whole / 1e6:.1f} MB of frames)"
