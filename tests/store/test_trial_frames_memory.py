"""Reading a stored trial's frames costs the frames once, and only the fields asked for. Found by an
attack review: ``TrialStore.frames`` listed every chunk, joined them and copied the join, about 3
times the frames at its peak (a 120-min treadmill session, 720,000 frames of 140 bytes: 303 MB), and
every ``GET /api/trials/<id>/frames`` or ``/steps`` read all 20 fields for the 4 or 5 it draws; the
web server's 32 threads could then hold several GB. A chunk that is not a whole number of frames
was read misaligned when the total happened to be."""

from __future__ import annotations

import numpy as np
import pytest

from station.store.db import StoreError

from clinic_data import assert_same_frames, make_frames
from memory_peak import traced_peak

PAGES = 1_000_000
"""Bytes of the chunks being read (two pages of 32 chunks of 100 frames here, 0.9 MB) and the rest."""
CAL = {"method": "nominal", "n_per_count": [0.01, 0.01, 0.01, 0.01]}


@pytest.fixture
def long_trial(store, session, mono):
    """A trial of 30,000 frames (4.2 MB) in 300 chunks, as a recording commits them."""
    writer = store.trials.start_trial(session["id"], "backward-treadmill", "session", CAL, 100.0)
    frames = make_frames(30_000)
    for start in range(0, len(frames), 100):
        mono.advance_ns(1_000_000_000)
        writer.append(frames[start : start + 100])
        writer.wait_commit()  # the committer thread done with it, as on a station before the next append 1 s later
    writer.finish(None, True)
    return writer.trial_id, frames


def test_the_frames_are_read_at_the_cost_of_the_frames(store, long_trial):
    trial_id, frames = long_trial
    stored, peak = traced_peak(store.trials.frames, trial_id)
    assert_same_frames(stored, frames)
    assert peak < frames.nbytes + PAGES, peak / frames.nbytes  # was 3 times the frames


def test_some_fields_cost_those_fields(store, long_trial):
    trial_id, frames = long_trial
    fields = ("seq", "ax_m_s2", "ay_m_s2", "az_m_s2")
    stored, peak = traced_peak(store.trials.frames, trial_id, fields=fields)
    assert stored.dtype.names == fields
    for name in fields:
        assert np.array_equal(stored[name], frames[name], equal_nan=True)
    assert peak < stored.nbytes + PAGES, peak / stored.nbytes  # 32 of 140 bytes a frame; was 13 times that
    with pytest.raises(KeyError):
        store.trials.frames(trial_id, fields=("seq", "speed"))


def test_a_chunk_that_is_not_whole_frames_is_refused(store, long_trial):
    trial_id, _ = long_trial
    with store.db.write() as conn:  # one byte moved from one chunk to the next: the total still whole
        (first,), (second,) = conn.execute("SELECT data FROM trial_chunks WHERE trial_id = ? ORDER BY chunk_no LIMIT 2",
                                           (trial_id,)).fetchall()
        conn.execute("UPDATE trial_chunks SET data = ? WHERE trial_id = ? AND chunk_no = 0", (first[:-1], trial_id))
        conn.execute("UPDATE trial_chunks SET data = ? WHERE trial_id = ? AND chunk_no = 1",
                     (first[-1:] + second, trial_id))
    with pytest.raises(StoreError, match=f"trial #{trial_id}: stored frames are corrupt"):
        store.trials.frames(trial_id)


def test_a_range_of_chunks_is_those_frames_found_by_the_chunk_list(store, long_trial):
    trial_id, frames = long_trial
    chunks = store.trials.frame_chunks(trial_id)
    assert len(chunks) == 300 and chunks["chunk_no"].tolist() == list(range(300))
    assert chunks["first_seq"].tolist() == frames["seq"][::100].tolist() and set(chunks["n_frames"].tolist()) == {100}
    part, peak = traced_peak(store.trials.frames, trial_id, fields=("seq", "az_m_s2"), chunks=(120, 129))
    assert part["seq"].tolist() == frames["seq"][12_000:13_000].tolist()
    assert np.array_equal(part["az_m_s2"], frames["az_m_s2"][12_000:13_000], equal_nan=True)
    assert peak < part.nbytes + 10 * 100 * frames.itemsize + 30_000  # the ten chunks and their bytes, not the trial's 4.2 MB
    with store.db.write() as conn:  # a chunk whose frames are not those its first_seq names
        (blob,) = conn.execute("SELECT data FROM trial_chunks WHERE trial_id = ? AND chunk_no = 125", (trial_id,)).fetchone()
        moved = np.frombuffer(blob, dtype=frames.dtype).copy()
        moved["seq"] += 1
        conn.execute("UPDATE trial_chunks SET data = ? WHERE trial_id = ? AND chunk_no = 125", (moved.tobytes(), trial_id))
    with pytest.raises(StoreError, match=f"trial #{trial_id}: stored frames are corrupt"):
        store.trials.frames(trial_id, chunks=(120, 129))
    assert len(store.trials.frames(trial_id, chunks=(126, 129))) == 400
    with store.db.write() as conn:  # a byte short: the list of chunks refuses the trial, whichever part is wanted
        conn.execute("UPDATE trial_chunks SET data = ? WHERE trial_id = ? AND chunk_no = 125", (blob[:-1], trial_id))
    with pytest.raises(StoreError, match=f"trial #{trial_id}: stored frames are corrupt"):
        store.trials.frame_chunks(trial_id)
