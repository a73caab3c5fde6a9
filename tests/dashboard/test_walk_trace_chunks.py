"""A window of a long walk trial's acceleration trace (``GET /api/trials/<id>/steps``,
web/walk_trace.py) reads only the stored chunks it needs: its own and the gravity's margin around
them (:data:`station.analysis.imu_frame.GRAVITY_SETTLE_S`), found by the chunks' ``first_seq`` and
``n_frames``; the values are the same, bit for bit, as those computed over the whole trial read at
once. Found by a memory review: a 30-s window of a 2-hour treadmill trial read all its frames (23 MB
of its 4 fields) for every request.

The trial is synthetic and stored straight into the store (no simulated recording): 40 minutes at
20 Hz in chunks of 250 frames (12.5 s), with frames lost between two chunks and inside one, a stall,
and the IMU unplugged for longer than the gravity's margin."""

from __future__ import annotations

import numpy as np
import pytest

from station.acquire.frame import FRAME_DTYPE
from station.store.db import StoreError
from web import walk_trace
from web.walk_trace import TRACE_FIELDS, steps_trace

from dashboard_support import ACTOR
from test_walk_steps import app, metrics_doc, signed_in  # noqa: F401 (fixture)

RATE_HZ = 20.0
CHUNK = 250
"""Frames a stored chunk holds here (import_trial's chunks, made small)."""
LOST_BETWEEN = (100 * CHUNK, 30)
"""(frame, count): 30 frames (1.5 s) lost just before chunk 100's first frame: a gap between chunks."""
LOST_INSIDE = (130 * CHUNK + 77, 4)
"""4 frames (0.2 s) lost inside chunk 130."""
STALL = (150 * CHUNK + 10, 200)
"""10 s lost inside chunk 150 (a stall of the acquisition)."""
UNPLUGGED = (60 * CHUNK + 40, 3600)
"""Frames 15,040 to 18,640: 3 min without IMU readings (NaN), longer than the 2-min margin."""


def chunked(frames: np.ndarray, per_chunk: int) -> walk_trace.ChunkedFrames:
    """Frames held in memory as a trial's chunks of ``per_chunk`` frames (``per_chunk`` = their
    length: the whole trial read at once, as the route read it before)."""
    starts = np.arange(0, len(frames), per_chunk)
    ends = np.append(starts[1:], len(frames))
    return walk_trace.ChunkedFrames(frames["seq"][starts].astype(np.int64), ends - starts,
                                    lambda i, j: frames[starts[i] : ends[j - 1]] if j > i else frames[:0])


def long_walk() -> np.ndarray:
    """40 minutes of walking on a belt at 20 Hz: a vertical bump each 0.55 s, the sensor's tilt
    drifting slowly, a little noise; the losses and the unplugged IMU above."""
    n = int(2400 * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    rng = np.random.default_rng(5)
    frames = np.zeros(n, dtype=FRAME_DTYPE)
    frames["seq"] = 7 + np.arange(n)
    phase = (t % 0.55) / 0.55
    vertical = 9.81 + 3.0 * np.exp(-(((phase - 0.3) / 0.1) ** 2)) + rng.normal(0.0, 0.05, n)
    tilt = np.radians(20.0 + 10.0 * np.sin(2 * np.pi * t / 900.0))
    frames["ax_m_s2"], frames["ay_m_s2"] = vertical * np.cos(tilt), vertical * np.sin(tilt)
    frames["az_m_s2"] = rng.normal(0.0, 0.05, n)
    for f in ("ax_m_s2", "ay_m_s2", "az_m_s2"):
        frames[f][UNPLUGGED[0] : UNPLUGGED[0] + UNPLUGGED[1]] = np.nan
    keep = np.ones(n, dtype=bool)
    for first, count in (STALL, LOST_INSIDE):  # later losses first: the frame numbers above stay right
        keep[first : first + count] = False
    frames = frames[keep]
    # lost just before a chunk's first frame: the frames after it move up, the chunk starts after the gap
    frames["seq"][LOST_BETWEEN[0] :] += LOST_BETWEEN[1]
    return frames


def stored(store, patient, monkeypatch, frames: np.ndarray, doc: dict) -> int:
    monkeypatch.setattr("station.store.trials.IMPORT_CHUNK_FRAMES", CHUNK)
    session = store.sessions.create(patient["id"], {"label": "treadmill"}, actor=ACTOR)
    return store.trials.import_trial(session["id"], "backward-treadmill", "session", {"method": "nominal"}, RATE_HZ,
                                     frames, doc, True, None)


@pytest.fixture
def trial(store, patient, monkeypatch):
    frames = long_walk()
    contacts = list(np.round(np.arange(1.0, 2400.0, 0.55), 3))
    trial_id = stored(store, patient, monkeypatch, frames, metrics_doc(kind="walk", initial_contacts_s=contacts))
    return trial_id, frames


def _time_s(frames: np.ndarray, i: int) -> float:
    return (int(frames["seq"][i]) - int(frames["seq"][0])) / RATE_HZ


def _windows(frames: np.ndarray) -> list[tuple]:
    """(from_s, to_s, max_points): the start, the end, across a chunk boundary, across the lost frames
    between chunks, a stall, around and just after the unplugged IMU, beyond the end, the whole trial."""
    between, boundary = _time_s(frames, LOST_BETWEEN[0]), _time_s(frames, 40 * CHUNK)
    unplugged_end = _time_s(frames, UNPLUGGED[0] + UNPLUGGED[1])
    return [(0.0, 30.0, 4000), (2370.0, 2400.0, 4000), (boundary - 15.0, boundary + 15.0, 4000),
            (between - 10.0, between + 20.0, 4000), (_time_s(frames, STALL[0]) - 5.0, _time_s(frames, STALL[0]) + 25.0, 4000),
            (_time_s(frames, LOST_INSIDE[0]) - 1.0, _time_s(frames, LOST_INSIDE[0]) + 1.0, 4000),
            (unplugged_end, unplugged_end + 30.0, 4000), (700.0, 1000.0, 4000), (800.0, 2000.0, 500),
            (3000.0, 3100.0, 4000), (None, None, 4000), (None, None, 20000)]


def test_every_window_is_the_whole_reads_bit_for_bit(store, trial):
    trial_id, frames = trial
    whole = store.trials.frames(trial_id, fields=TRACE_FIELDS)
    for name in TRACE_FIELDS:
        assert np.array_equal(whole[name], frames[name], equal_nan=True)
    details = store.trials.get(trial_id)
    for from_s, to_s, max_points in _windows(frames):
        window = dict(from_s=from_s, to_s=to_s, max_points=max_points)
        doc = steps_trace(details, walk_trace.stored_frames(store.trials, trial_id), **window)
        assert doc == steps_trace(details, chunked(whole, len(whole)), **window), window
        # the unrounded values too: every block's frames and vertical acceleration
        seq0 = int(whole["seq"][0])
        start = 0 if from_s is None else walk_trace._frame_at(chunked(whole, CHUNK), seq0, RATE_HZ, from_s, after=False)
        stop = len(whole) if to_s is None else walk_trace._frame_at(chunked(whole, CHUNK), seq0, RATE_HZ, to_s, after=True)
        stop = max(start, stop)
        parts = list(walk_trace._vertical_blocks(walk_trace.stored_frames(store.trials, trial_id), RATE_HZ, start, stop, 12000))
        at_once = list(walk_trace._vertical_blocks(chunked(whole, len(whole)), RATE_HZ, start, stop, 12000))
        assert len(parts) == len(at_once)
        for (b0, b1, seq, acc_v), (w0, w1, wseq, wacc_v) in zip(parts, at_once):
            assert (b0, b1) == (w0, w1) and np.array_equal(seq, wseq)
            assert acc_v.tobytes() == wacc_v.tobytes(), (window, b0)
    doc = steps_trace(details, walk_trace.stored_frames(store.trials, trial_id), from_s=None, to_s=None, max_points=4000)
    assert None in doc["acc_v_m_s2"]  # the unplugged IMU and the stall break the line


def test_a_window_reads_its_chunks_and_the_margin_not_the_whole_trial(app, store, patient, trial, monkeypatch):
    trial_id, frames = trial
    read: list[int] = []
    frames_of = store.trials.frames

    def counted(*args, **kwargs):
        out = frames_of(*args, **kwargs)
        read.append(len(out))
        return out

    monkeypatch.setattr(store.trials, "frames", counted)
    client = signed_in(app)
    doc = client.get(f"/api/trials/{trial_id}/steps?from_s=1200&to_s=1230").get_json()
    assert len(doc["time_s"]) == 601 and doc["step"] == 1
    # 30 s and 2 min of gravity either side (270 s, 5,400 frames), in whole chunks, and the chunks that
    # give the window's first and last frame and the trial's last: 14% of the trial's 47,796 frames
    assert sum(read) <= 270 * RATE_HZ + 6 * CHUNK, (sum(read), len(frames))  # was every frame
    read.clear()
    doc = client.get(f"/api/trials/{trial_id}/steps").get_json()
    assert len(doc["time_s"]) <= 4000
    # the whole trial a block at a time, each frame once (a block's margins are the next one's frames)
    assert sum(read) <= len(frames) + 3 * CHUNK and max(read) < 0.4 * len(frames), read
    # the IMU dead after its first minute (1,200 readings, fewer than the 2-min margin): every block's
    # gravity is those readings, carried from block to block; each frame is still read once (the
    # blocks searched back to the trial's start and on to its end for the margin: 3.0 times the frames)
    dead = frames.copy()
    for f in ("ax_m_s2", "ay_m_s2", "az_m_s2"):
        dead[f][int(60 * RATE_HZ) :] = np.nan
    dead_id = stored(store, patient, monkeypatch, dead, metrics_doc())
    read.clear()
    doc = client.get(f"/api/trials/{dead_id}/steps").get_json()
    assert doc["acceleration"] is True and sum(v is not None for v in doc["acc_v_m_s2"]) > 0
    assert sum(read) <= len(frames) + 3 * CHUNK, (sum(read), len(frames))
    assert doc == steps_trace(store.trials.get(dead_id), chunked(dead, len(dead)), from_s=None, to_s=None, max_points=4000)


def test_a_window_right_after_the_imu_was_unplugged_reads_back_to_its_readings(store, trial):
    trial_id, frames = trial
    sizes: list[int] = []
    source = walk_trace.stored_frames(store.trials, trial_id)
    counting = walk_trace.ChunkedFrames(source.first_seq, source.n_frames,
                                        lambda i, j: sizes.append(j - i) or source.read(i, j))
    end = _time_s(frames, UNPLUGGED[0] + UNPLUGGED[1])
    steps_trace(store.trials.get(trial_id), counting, from_s=end, to_s=end + 30.0, max_points=4000)
    # the 3 minutes before the window hold no reading: the part grows back past them, to 2 min of readings
    assert sum(sizes) * CHUNK > (UNPLUGGED[1] + 240 * RATE_HZ)


def test_beyond_the_trial_and_without_imu_the_answers_are_unchanged(app, store, patient, trial, monkeypatch):
    trial_id, frames = trial
    client = signed_in(app)
    beyond = client.get(f"/api/trials/{trial_id}/steps?from_s=3000&to_s=3100").get_json()
    assert beyond["time_s"] == [] and beyond["acceleration"] is True and beyond["from_s"] == 3000.0
    assert beyond["to_s"] == 2401.5  # 40 min and the 1.5 s lost between chunks
    no_imu = frames.copy()
    for f in ("ax_m_s2", "ay_m_s2", "az_m_s2"):
        no_imu[f] = np.nan
    other = stored(store, patient, monkeypatch, no_imu, metrics_doc())
    for query in ("from_s=1200&to_s=1230", "", "from_s=3000&to_s=3100"):
        doc = client.get(f"/api/trials/{other}/steps?{query}").get_json()
        assert doc["acceleration"] is False and doc["note"] == walk_trace.NO_ACCELERATION and doc["time_s"] == []


def test_a_corrupt_chunk_is_refused_in_or_out_of_the_window(app, store, trial):
    trial_id, _ = trial
    client = signed_in(app)
    with store.db.write() as conn:  # a byte short, far from the window
        (blob,) = conn.execute("SELECT data FROM trial_chunks WHERE trial_id = ? AND chunk_no = 180", (trial_id,)).fetchone()
        conn.execute("UPDATE trial_chunks SET data = ? WHERE trial_id = ? AND chunk_no = 180", (blob[:-1], trial_id))
    r = client.get(f"/api/trials/{trial_id}/steps?from_s=60&to_s=90")
    assert r.status_code == 500 and "Traceback" not in r.get_data(as_text=True)
    assert r.get_json()["error"].startswith(f"trial #{trial_id}: stored frames are corrupt (chunk 180 is ")
    with store.db.write() as conn:  # whole again, but not the frames its first_seq says
        frames = np.frombuffer(blob, dtype=FRAME_DTYPE).copy()
        frames["seq"] += 1
        conn.execute("UPDATE trial_chunks SET data = ? WHERE trial_id = ? AND chunk_no = 180", (frames.tobytes(), trial_id))
    with pytest.raises(StoreError, match=f"trial #{trial_id}: stored frames are corrupt"):
        store.trials.frames(trial_id, fields=TRACE_FIELDS, chunks=(179, 181))
    assert client.get(f"/api/trials/{trial_id}/steps?from_s=2240&to_s=2270").status_code == 500
    assert client.get(f"/api/trials/{trial_id}/steps?from_s=60&to_s=90").status_code == 200
