"""Crash test: a recording process killed with SIGKILL mid-trial (a real subprocess, real clock)
leaves a consistent database and a recoverable partial trial that lost at most about a second."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from station.store.audit import Actor
from station.store.db import DB_FILENAME
from station.store.store import Store

RATE_HZ = 100.0
BATCH = 10  # frames per append, every 0.1 s as the protocol engine would

RECORDER = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from station.acquire.frame import empty_frames
    from station.store.store import Store

    data_dir, session_id = sys.argv[1], int(sys.argv[2])
    store = Store.open_service(data_dir)
    writer = store.trials.start_trial(session_id, "romberg", "eyes_open", {"method": "nominal"}, 100.0)
    print("started", writer.trial_id, flush=True)
    seq = 0
    next_t = time.monotonic()
    while True:
        frames = empty_frames(10)
        frames["seq"] = np.arange(seq, seq + 10)
        frames["t_ns"] = frames["seq"] * 10_000_000
        frames["ap_cm"] = frames["seq"].astype(float) * 0.01
        frames["ml_cm"] = -frames["seq"].astype(float) * 0.02
        frames["fz_n"] = 700.0
        writer.append(frames)
        seq += 10
        print("appended", writer.frames_appended, "committed", writer.frames_committed, flush=True)
        next_t += 0.1
        time.sleep(max(0.0, next_t - time.monotonic()))
    """
)


@pytest.mark.parametrize("kill_after_frames", [170, 260])
def test_sigkill_mid_trial_leaves_consistent_db_and_partial_trial(tmp_path, kill_after_frames):
    data = tmp_path / "data"
    with Store.open(data) as store:
        patient = store.patients.create({"identifier": "CRASH-1", "birth_year": 1950, "sex": "F"}, actor=Actor.system())
        session = store.sessions.create(patient["id"], {}, actor=Actor.system())

    child = subprocess.Popen(
        [sys.executable, "-c", RECORDER, str(data), str(session["id"])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    last_appended = last_committed = 0
    trial_id = None
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                pytest.fail(f"recorder exited early: {child.stderr.read()}")
            words = line.split()
            if words[0] == "started":
                trial_id = int(words[1])
            else:
                last_appended, last_committed = int(words[1]), int(words[3])
                if last_appended >= kill_after_frames:
                    break
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    assert trial_id is not None and last_appended >= kill_after_frames

    # The database file is consistent (WAL replayed by the next open).
    conn = sqlite3.connect(data / DB_FILENAME)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    status, frame_count = conn.execute("SELECT status, frame_count FROM trials WHERE id = ?", (trial_id,)).fetchone()
    chunk_frames = conn.execute("SELECT coalesce(sum(n_frames), 0) FROM trial_chunks WHERE trial_id = ?", (trial_id,)).fetchone()[0]
    conn.close()
    assert status == "recording"  # nobody has looked at it yet
    assert frame_count == chunk_frames  # row and chunks agree: committed together

    # The next service start recovers it as partial, frames kept.
    with Store.open_service(data) as store:
        trial = store.trials.get(trial_id)
        frames = store.trials.frames(trial_id)
    assert trial["status"] == "partial" and trial["valid"] is False
    assert "interrupted" in trial["status_reason"]
    n = len(frames)
    assert n == trial["frame_count"]
    # Everything reported committed before the kill survived; at most ~1 s (0.5 s commit interval
    # plus a batch and scheduling slack) of what was appended was lost.
    assert n >= last_committed
    assert last_appended - n <= RATE_HZ * 1.0
    # What survived is exactly the first n frames, unaltered.
    np.testing.assert_array_equal(frames["seq"], np.arange(n))
    np.testing.assert_allclose(frames["ap_cm"], np.arange(n) * 0.01)
    np.testing.assert_allclose(frames["ml_cm"], -np.arange(n) * 0.02)
