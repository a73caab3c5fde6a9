"""A trial writer while the station database's write lock is held elsewhere: by another process (an
administrator's command, a second SQLite connection here) or by another thread of the service (a
page's write waiting for that process). Group commits wait FLUSH_BUSY_WAIT_MS at most and keep the
frames buffered; MAX_UNCOMMITTED_S of frames uncommitted ends the trial as partial, in words; the
trial's start, finish and abort wait for the lock. On the station's SQLite only: the hub's
PostgreSQL has no database-wide write lock for another program to hold.

The busy timeout is lowered to 200 ms (it is 5 s) so that the old code, which waited it out and then
raised SQLite's "database is locked", fails quickly.
"""

from __future__ import annotations

import sqlite3
import threading

import numpy as np
import pytest

import station.store.db as db_module
from station.store.db import DatabaseBusy
from station.store.store import Store
from station.store.timefmt import utc_iso
from station.store.trials import DATABASE_BUSY_REASON, FLUSH_BUSY_WAIT_MS, MAX_UNCOMMITTED_S

from clinic_data import CHEAP_COST, assert_same_frames, make_frames, metrics_doc

CAL = {"method": "nominal", "n_per_count": [0.01, 0.01, 0.01, 0.01]}
SHORT_BUSY_TIMEOUT_MS = 200


@pytest.fixture
def store(tmp_path, station_data_dir, monkeypatch, wall, mono):
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", SHORT_BUSY_TIMEOUT_MS)  # before the connections are made
    station_data_dir(tmp_path / "data")
    s = Store.open_service(tmp_path / "data", wall_clock=wall, clock=mono, password_cost=CHEAP_COST)
    yield s
    s.close()


@pytest.fixture
def other(store):
    """Another program's connection to the station's database (hold / release its write lock)."""
    conn = sqlite3.connect(store.db.path, isolation_level=None, check_same_thread=False)
    yield conn
    if conn.in_transaction:
        conn.execute("ROLLBACK")
    conn.close()


def committed_frames(store, trial_id):
    with store.db.read() as conn:
        return conn.execute("SELECT frame_count FROM trials WHERE id = ?", (trial_id,)).fetchone()[0]


def record(writer, mono, seconds: float, seq: int) -> int:
    """Append ``seconds`` of 100-Hz frames in 0.1-s batches, the clock advancing; returns the next seq."""
    for _ in range(round(seconds * 10)):
        mono.advance_ns(100_000_000)
        writer.append(make_frames(10, seq))
        seq += 10
    return seq


def test_group_commits_wait_for_a_lock_held_by_another_process_and_lose_nothing(store, session, mono, other):
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    seq = record(writer, mono, 1.0, 0)
    assert committed_frames(store, writer.trial_id) == 100
    other.execute("BEGIN IMMEDIATE")
    seq = record(writer, mono, 10.0, seq)  # 10 s: the busy timeout 50 times over
    assert writer.frames_committed == 100 and writer.frames_appended == 1100
    assert writer.busy_deferrals == 20  # one try every commit interval (0.5 s), each at most FLUSH_BUSY_WAIT_MS
    assert committed_frames(store, writer.trial_id) == 100 and store.trials.get(writer.trial_id)["status"] == "recording"
    other.execute("COMMIT")
    seq = record(writer, mono, 0.5, seq)  # the next interval commits all that waited, as one chunk
    assert committed_frames(store, writer.trial_id) == 1150
    trial = writer.finish(metrics_doc(), True)
    assert trial["status"] == "complete" and trial["frame_count"] == 1150 and trial["frames_lost"] == 0
    assert_same_frames(store.trials.frames(writer.trial_id), np.concatenate([make_frames(10, s) for s in range(0, 1150, 10)]))


def test_a_group_commit_does_not_queue_behind_a_write_of_this_process_that_waits_for_the_lock(store, session, mono):
    """A page's write (an audited view) waiting for another program's lock holds this process's write
    lock meanwhile: the recording's commit is put off, not queued behind it."""
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    holding, done = threading.Event(), threading.Event()

    def page_write():
        with store.db.write():
            holding.set()
            done.wait(5.0)

    page = threading.Thread(target=page_write)
    page.start()
    try:
        holding.wait(5.0)
        record(writer, mono, 1.0, 0)
        assert writer.frames_committed == 0 and writer.frames_appended == 100  # put off twice, not waited for
    finally:
        done.set()
        page.join()
    record(writer, mono, 0.5, 100)
    assert committed_frames(store, writer.trial_id) == 150


def test_a_lock_held_past_the_bound_ends_the_trial_as_partial_with_what_was_committed(store, session, mono, other):
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    seq = record(writer, mono, 2.0, 0)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(DatabaseBusy) as ended:
        record(writer, mono, MAX_UNCOMMITTED_S + 1.0, seq)
    message = str(ended.value)
    assert message.startswith(f"another program (an administrator's command?) kept the station's database busy for "
                              f"over {MAX_UNCOMMITTED_S:g} s, so the recording could not be stored: trial "
                              f"#{writer.trial_id} could not be closed yet; it keeps the 2.0 s recorded and is marked "
                              "partial as soon as the station can write again")
    assert writer.finished and writer.frames_committed == 200
    assert store.trials.close_unclosed(busy_wait_ms=FLUSH_BUSY_WAIT_MS) == []  # still held: later
    assert store.trials.get(writer.trial_id)["status"] == "recording"
    other.execute("COMMIT")
    assert store.trials.close_unclosed() == [writer.trial_id]
    assert store.trials.close_unclosed() == []
    trial = store.trials.get(writer.trial_id)
    assert trial["status"] == "partial" and trial["frame_count"] == 200 and trial["valid"] is False
    assert trial["status_reason"] == (f"{DATABASE_BUSY_REASON}: another program held the station's database for over "
                                      f"{MAX_UNCOMMITTED_S:g} s, so recording stopped; 200 frames (2.0 s) kept")
    (entry,) = [e for e in store.audit.query(patient_id=session["patient_id"]) if e["action"] == "trial.recover"]
    assert entry["detail"] == {"frames_kept": 200, "cause": "database busy"}
    assert store.trials.recover_partial_trials() == []  # already closed, with its own reason


def test_the_next_trial_start_closes_a_trial_the_busy_lock_ended(store, session, mono, other):
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    seq = record(writer, mono, 1.0, 0)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(DatabaseBusy):
        record(writer, mono, MAX_UNCOMMITTED_S + 1.0, seq)
    other.execute("COMMIT")
    again = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    assert store.trials.get(writer.trial_id)["status"] == "partial"
    assert store.trials.get(again.trial_id)["status"] == "recording"


def test_finish_and_abort_wait_for_the_lock_beyond_the_busy_timeout(store, session, mono, other):
    for end in ("finish", "abort"):
        writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
        record(writer, mono, 0.8, 0)
        other.execute("BEGIN IMMEDIATE")
        release = threading.Timer(5 * SHORT_BUSY_TIMEOUT_MS / 1000, lambda: other.execute("COMMIT"))
        release.start()
        try:
            trial = writer.finish(metrics_doc(), True) if end == "finish" else writer.abort("patient stepped off")
        finally:
            release.join()
        assert trial["status"] == ("complete" if end == "finish" else "aborted"), end
        assert trial["frame_count"] == 80 and writer.busy_deferrals >= 1, end  # a busy timeout went by, then more


def test_a_trial_started_while_the_lock_is_held_gets_its_row_at_its_first_commit(store, session, mono, wall, other):
    other.execute("BEGIN IMMEDIATE")
    started_at = wall()
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)  # not held up: no row yet
    assert writer.trial_id is None and store.sessions.get(session["id"])["trials"] == []
    wall.advance(3.0)
    seq = record(writer, mono, 3.0, 0)
    assert writer.trial_id is None and writer.frames_appended == 300 and writer.busy_deferrals == 6
    other.execute("COMMIT")
    record(writer, mono, 0.5, seq)
    assert writer.trial_id is not None and committed_frames(store, writer.trial_id) == 350
    assert store.trials.active_trial_ids() == {writer.trial_id}
    trial = writer.finish(metrics_doc(), True)
    assert trial["status"] == "complete" and trial["frame_count"] == 350
    assert trial["started_at"] == utc_iso(started_at)  # the start's time, not the first commit's


def test_a_trial_started_under_a_lock_held_past_the_bound_says_nothing_was_stored(store, session, mono, other):
    other.execute("BEGIN IMMEDIATE")
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    with pytest.raises(DatabaseBusy, match=r"so the recording could not be stored: nothing of the trial was stored "
                                           r"\(it could not even be started\); record the trial again once that "
                                           r"command has finished$"):
        record(writer, mono, MAX_UNCOMMITTED_S + 1.0, 0)
    assert writer.finished and writer.trial_id is None
    other.execute("COMMIT")
    assert store.trials.close_unclosed() == [] and store.sessions.get(session["id"])["trials"] == []
    assert store.trials.active_trial_ids() == set()


def test_a_trial_not_yet_stored_that_cannot_be_closed_is_logged_in_words(store, session, mono, other, caplog):
    """The trial service closes the trial of a run that failed (_TrackedStoreSink.abort_open); a trial
    started under the lock has no row yet (trial_id None): its one log line says so, where '#%d'
    made logging itself fail (pytest's caplog raises a logging error: logging.raiseExceptions)."""
    import logging

    from station.protocols.service import _TrackedStoreSink

    other.execute("BEGIN IMMEDIATE")
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    record(writer, mono, 0.1, 0)
    mono.advance_ns(int(MAX_UNCOMMITTED_S * 1e9))  # the lock held on: the abort waits one busy timeout, then gives up
    sink = _TrackedStoreSink(sink=None)
    sink.open_output = type("Tracked", (), {"output": type("Output", (), {"writer": writer})()})()
    assert logging.raiseExceptions
    with caplog.at_level(logging.WARNING, logger="station.protocols.service"):
        sink.abort_open("patient P-SECRET stepped off")
    (line,) = caplog.records
    text = line.getMessage()
    assert text.startswith("could not close a trial not yet stored as aborted (another program")
    assert text.endswith("; nothing of it is in the database") and "recovered as partial" not in text
    assert "P-SECRET" not in text and line.exc_info is None
    other.execute("COMMIT")
    assert writer.trial_id is None and store.sessions.get(session["id"])["trials"] == []
