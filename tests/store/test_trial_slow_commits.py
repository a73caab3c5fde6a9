"""A trial writer on a slow storage: an SD card whose fsync takes seconds now and then. The writer's
transactions run in the committer thread of Trials, so that a slow COMMIT never holds the thread that
appends (the trial service's loop, which also drains the acquisition ring and carries out Stop): the
commits are stored in order, the end after the frames; a full disk or an I/O error in the thread ends the
trial once, in words, at the writer's next call; the store's closing stores what was handed over
(bounded); a commit that has not finished in MAX_UNCOMMITTED_S ends the trial (what a crash could lose).

The slow card is a COMMIT of the store's writer connection that waits for the test to let it go
(tests/failing_card.py's GatedCard): no test asserts a time. On the old code every commit ran in the appending thread, so
the append that made it waited for the gate and returned after the commit. On the station's SQLite only.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from station.store.audit import Actor
from station.store.db import DiskFull, StorageFailed, StorageSlow, StoreError
import station.store.db as db_module
import station.store.trials as trials_module
from station.protocols.report import unfinished_words
from station.store.store import Store
from station.store.trials import MAX_UNCOMMITTED_S, STORAGE_SLOW_REASON

from clinic_data import CHEAP_COST, assert_same_frames, make_frames, metrics_doc, record
from failing_card import GATE_S, GatedCard

CAL = {"method": "nominal", "n_per_count": [0.01, 0.01, 0.01, 0.01]}
ADMIN = Actor(1, "admin", "127.0.0.1")
@pytest.fixture
def backend() -> str:
    """The store of tests/store/conftest.py on the station's SQLite only (a slow SD card is a station's)."""
    return "sqlite"


@pytest.fixture
def card(store, monkeypatch):
    card = GatedCard(store.db._writer)
    monkeypatch.setattr(store.db, "_writer", card)
    yield card
    card.release.set()  # no commit left waiting at the gate


def appended(writer, mono, seconds: float, seq: int) -> int:
    """Append 100-Hz frames in 0.1-s batches, the simulated clock advancing, without waiting for any
    commit (as the trial service's loop); returns the next seq."""
    for _ in range(round(seconds * 10)):
        mono.advance_ns(100_000_000)
        writer.append(make_frames(10, seq))
        seq += 10
    return seq


def chunks(store, trial_id):
    with store.db.read() as conn:
        return conn.execute("SELECT chunk_no, first_seq, n_frames FROM trial_chunks WHERE trial_id = ? ORDER BY chunk_no",
                            (trial_id,)).fetchall()


def test_a_slow_commit_holds_neither_the_appends_nor_the_finish_and_the_end_lands_after_the_frames(store, session, mono,
                                                                                                   card):
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    seq = record(writer, mono, 1.0, 0)  # two commits on a working card
    card.slow = True
    seq = appended(writer, mono, 0.5, seq)  # the third commit is handed over at 1.5 s: the card holds it
    assert card.in_commit.wait(GATE_S) and writer.storing
    seq = appended(writer, mono, 2.0, seq)  # 2 s more, the commit still at the gate: nothing waits for it
    assert card.in_commit.is_set() and writer.frames_committed == 100 and writer.frames_appended == 350
    assert writer.finish(metrics_doc(), True, wait=False) is None  # not held either: the trial is being saved
    assert card.in_commit.is_set() and writer.saving and writer.storing and not writer.finished
    card.slow = False
    card.release.set()
    trial = None
    for _ in range(100):  # the service loop's tries (retry_end), until the committer has stored the end
        trial = writer.retry_end()
        if trial is not None:
            break
        store.trials.drain(0.1)
    assert trial["status"] == "complete" and trial["frame_count"] == 350 and trial["frames_lost"] == 0
    assert writer.finished and not writer.saving and not writer.storing
    # in order: the chunks one after the other, the one made while the card was slow before the end's
    assert [tuple(c) for c in chunks(store, writer.trial_id)] == [(0, 0, 50), (1, 50, 50), (2, 100, 50), (3, 150, 200)]
    assert_same_frames(store.trials.frames(writer.trial_id), np.concatenate([make_frames(10, s) for s in range(0, 350, 10)]))
    assert card.commit_threads == {"trial-committer"}  # never the appending thread


@pytest.mark.parametrize("words, error", [("disk I/O error", StorageFailed), ("database or disk is full", DiskFull)])
def test_a_fault_in_the_committer_ends_the_trial_once_in_words_at_the_next_call(store, session, mono, card, words, error):
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    seq = record(writer, mono, 1.0, 0)
    card.error = words
    seq = appended(writer, mono, 0.5, seq)  # hands the commit over and returns: the thread meets the fault
    assert not writer.finished
    with pytest.raises(error) as ended:
        writer.wait_commit()  # what the next append finds
    assert writer.finished and writer.frames_committed == 100
    assert "trial #1 could not be closed yet; it keeps the 1.0 s recorded and is marked partial" in str(ended.value)
    assert writer.wait_commit()  # said once
    with pytest.raises(StoreError, match="already finished"):
        writer.append(make_frames(10, seq))
    card.error = None
    assert store.trials.close_unclosed() == [writer.trial_id]
    trial = store.trials.get(writer.trial_id)
    assert trial["status"] == "partial" and trial["frame_count"] == 100 and trial["valid"] is False


def test_closing_the_store_stores_what_the_committer_was_handed(tmp_path, station_data_dir, wall, mono):
    station_data_dir(tmp_path / "data")
    store = Store.open_service(tmp_path / "data", wall_clock=wall, clock=mono, password_cost=CHEAP_COST)
    patient = store.patients.create({"identifier": "P1", "birth_year": 1950, "sex": "F"}, actor=Actor.system())
    session = store.sessions.create(patient["id"], {}, actor=Actor.system())
    card = GatedCard(store.db._writer)
    store.db._writer = card
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    seq = record(writer, mono, 1.0, 0)
    card.slow = True
    appended(writer, mono, 0.4, seq)
    assert writer.finish(metrics_doc(), True, wait=False) is None and card.in_commit.wait(GATE_S)
    threading.Timer(0.3, card.release.set).start()  # the card answers during the shutdown
    store.close()  # waits for the committer (bounded), then closes
    assert not store.trials._committer._thread.is_alive()
    with Store.open_service(tmp_path / "data", wall_clock=wall, clock=mono, password_cost=CHEAP_COST) as again:
        trial = again.trials.get(writer.trial_id)
    assert trial["status"] == "complete" and trial["frame_count"] == 140  # not recovered as partial: stored


def test_closing_the_store_does_not_wait_for_ever_on_a_card_that_does_not_answer(store, session, mono, card, caplog):
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    record(writer, mono, 0.4, 0)
    card.slow = True
    assert writer.finish(metrics_doc(), True, wait=False) is None and card.in_commit.wait(GATE_S)
    with caplog.at_level(logging.ERROR, logger="station.store.trials"):
        assert store.trials.close(timeout_s=0.2) is False
    (line,) = caplog.records
    assert line.getMessage() == ("the station's storage did not finish writing a trial within 0.2 s of the shutdown; the "
                                 "next start recovers the trial as partial with the frames committed before")
    with pytest.raises(StoreError, match="the store is closed"):
        store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)


def test_a_commit_unfinished_past_the_bound_ends_the_trial_with_every_frame_once_done(store, session, mono, card,
                                                                                      monkeypatch):
    """What a crash could lose stays bounded: a commit the card has not finished in MAX_UNCOMMITTED_S (real
    time, the card's; 1 s here) ends the trial (the frames held in memory are stored, marked partial, once
    the card answers)."""
    monkeypatch.setattr(trials_module, "MAX_UNCOMMITTED_S", 1.0)
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    seq = record(writer, mono, 1.0, 0)
    card.slow = True
    seq = appended(writer, mono, 0.5, seq)  # the commit handed over at 1.5 s stays at the gate
    assert card.in_commit.wait(GATE_S)
    time.sleep(1.1)
    with pytest.raises(StorageSlow) as ended:  # slow, not failed: not a failed card's words (nor its error)
        appended(writer, mono, 0.1, seq)
    assert not isinstance(ended.value, StorageFailed)
    recorded = writer.frames_appended
    assert writer.finished and recorded == 160
    assert str(ended.value) == (
        "the station's storage (its SD card) has been writing part of this trial for over 1 s and is still writing: "
        "the card is slow, not failed (nothing was refused), and the recording stopped so that a power cut cannot "
        f"lose more: trial #{writer.trial_id} could not be stored yet; the station keeps its {recorded / 100:.1f} s "
        f"recorded ({(recorded - 100) / 100:.1f} s of them only in memory: do not switch the station off) and stores "
        "them, marked partial, as soon as the card has finished writing; once the station says it is saved, record "
        "the trial again; if the card is this slow again, replace it")
    assert store.space.status()["state"] != "failed"  # a slow card is not remembered as a failed one
    card.slow = False
    card.release.set()
    deadline = time.monotonic() + 10
    while store.trials.close_unclosed(50) != [writer.trial_id]:
        assert time.monotonic() < deadline, "the partial mark was not written"
    trial = store.trials.get(writer.trial_id)
    assert trial["status"] == "partial" and trial["frame_count"] == recorded and trial["frames_lost"] == 0
    assert trial["status_reason"] == (f"{STORAGE_SLOW_REASON}: the station's storage was still writing after 1 s, so "
                                      f"recording stopped; {recorded} frames ({recorded / 100:.1f} s) kept")
    assert unfinished_words("partial", trial["status_reason"]) == (
        "stopped: the station's storage (its SD card) was too slow to write; 1.6 s kept, not analysed")
    assert_same_frames(store.trials.frames(writer.trial_id),
                       np.concatenate([make_frames(10, s) for s in range(0, recorded, 10)]))


def test_commits_a_pages_slow_save_kept_waiting_past_the_bound_end_the_trial_in_the_storages_words(
        store, session, patient, mono, card, monkeypatch):
    """A page's save holds the write lock while the card takes its time (its COMMIT at the gate): the trial's
    commits cannot begin, and past MAX_UNCOMMITTED_S (1 s here) the trial ends, said as what it is, the
    station's storage busy with its own saves, not another program (was: 'another program (an administrator's
    command?) kept the station's database busy ...; record the trial again once that command has finished')."""
    monkeypatch.setattr(trials_module, "MAX_UNCOMMITTED_S", 1.0)
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    seq = record(writer, mono, 1.0, 0)
    card.slow = True
    page = threading.Thread(target=lambda: store.patients.update(patient["id"], {"notes": "a note"}, actor=ADMIN))
    page.start()
    assert card.in_commit.wait(GATE_S)  # the page's save holds the lock, its COMMIT on the card
    with pytest.raises(StorageSlow) as ended:
        for _ in range(30):
            mono.advance_ns(100_000_000)
            writer.append(make_frames(10, seq))
            seq += 10
            writer.wait_commit(1.0)
    assert card.in_commit.is_set(), "the card let the page's COMMIT go before the trial ended"
    words = str(ended.value)
    assert "another program" not in words and words.startswith(
        "the station's storage (its SD card) was busy writing the station's other saves (the pages') for over 1 s, so "
        "the recording stopped: the card is slow, not failed (nothing was refused): "), words
    recorded = writer.frames_appended
    card.slow = False
    card.release.set()
    page.join(10)
    deadline = time.monotonic() + 10
    while store.trials.close_unclosed(50) != [writer.trial_id]:
        assert time.monotonic() < deadline, "the partial mark was not written"
    trial = store.trials.get(writer.trial_id)
    assert trial["status"] == "partial" and trial["frame_count"] == recorded
    assert trial["status_reason"].startswith(f"{STORAGE_SLOW_REASON}: the station's storage was still writing other "
                                             "saves after 1 s, so recording stopped;"), trial["status_reason"]
    assert unfinished_words("partial", trial["status_reason"]).startswith(
        "stopped: the station's storage (its SD card) was too slow to write")


@pytest.mark.parametrize("ending", ["finish", "abort", "flush"])
def test_a_write_waited_for_on_a_slow_card_is_bounded_said_in_words_and_stored_once_the_card_has_written(
        store, session, mono, card, monkeypatch, ending):
    """finish/abort (wait=True) and flush wait for the card as long as a trial may stay uncommitted
    (MAX_UNCOMMITTED_S, at least one busy timeout: 1 s and 0.5 s here), not until it answers: then
    StorageSlow says the write goes on; it is taken back once the card has written it, nothing lost."""
    monkeypatch.setattr(trials_module, "MAX_UNCOMMITTED_S", 1.0)
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 500)
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    seq = record(writer, mono, 1.0, 0)
    card.slow = True
    appended(writer, mono, 0.3, seq)  # before the next commit is due: nothing handed over yet
    began = time.monotonic()
    with pytest.raises(StorageSlow) as slow:
        if ending == "finish":
            writer.finish(metrics_doc(), True)
        elif ending == "abort":
            writer.abort("patient tired")
        else:
            writer.flush()
    took_s = time.monotonic() - began
    assert card.in_commit.is_set() and took_s < GATE_S - 1.0, f"waited {took_s:.2f} s"
    what = (f"the end of trial #{writer.trial_id} is still being written" if ending != "flush"
            else f"the last frames of trial #{writer.trial_id} are still being written")
    then = ("it is saved once the card has written it (retry_end takes it back)" if ending != "flush"
            else "they are stored once the card has written them")
    assert str(slow.value) == (f"the station's storage (its SD card) is slow to write just now: {what}, so this did "
                               f"not wait any longer; {then}; do not switch the station off until it is saved")
    assert not writer.finished and writer.saving == (ending != "flush")
    card.slow = False
    card.release.set()
    if ending == "flush":
        assert writer.wait_commit(GATE_S) and writer.frames_committed == 130
        trial = writer.finish(metrics_doc(), True)
    else:
        deadline = time.monotonic() + GATE_S
        while (trial := writer.retry_end()) is None:
            assert time.monotonic() < deadline, "the trial's end was not taken back"
    assert trial["status"] == ("aborted" if ending == "abort" else "complete") and trial["frame_count"] == 130
    assert_same_frames(store.trials.frames(writer.trial_id), np.concatenate([make_frames(10, s) for s in range(0, 130, 10)]))


SLOW_CARD = textwrap.dedent(
    """
    import time
    import station.store.db as db

    class SlowCommits:  # every COMMIT of the writer connection 1 s longer: a slow SD card's fsync
        def __init__(self, conn):
            self.conn = conn
        def execute(self, sql, *args):
            if sql == "COMMIT":
                time.sleep(1.0)
            return self.conn.execute(sql, *args)
        def __getattr__(self, name):
            return getattr(self.conn, name)

    connect = db._connect
    db._connect = lambda path, *, writer: SlowCommits(connect(path, writer=writer)) if writer else connect(path, writer=False)
    """
)


def test_a_recording_killed_on_a_slow_card_keeps_what_was_committed_and_loses_a_bounded_part(tmp_path):
    """SIGKILL while commits take 1 s each (a real subprocess, real clock, the crash test's recorder): the
    database is consistent, the trial recovered as partial keeps every frame reported committed, and what
    was lost is the frames appended since the last commit handed over that completed: about the commit's
    time and an interval, far below MAX_UNCOMMITTED_S."""
    from test_store_crash import RECORDER

    data = tmp_path / "data"
    with Store.open(data) as store:
        patient = store.patients.create({"identifier": "SLOW-1", "birth_year": 1950, "sex": "F"}, actor=Actor.system())
        session = store.sessions.create(patient["id"], {}, actor=Actor.system())
    child = subprocess.Popen([sys.executable, "-c", SLOW_CARD + RECORDER, str(data), str(session["id"])],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    trial_id, appended_n, committed_n, commits_seen = None, 0, 0, set()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(commits_seen) < 4:  # a few slow commits taken back
            words = child.stdout.readline().split()
            assert words, f"the recorder exited early: {child.stderr.read()}"
            if words[0] == "started":
                trial_id = int(words[1])
            else:
                appended_n, committed_n = int(words[1]), int(words[3])
                commits_seen.add(committed_n)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(10)
    assert trial_id is not None and len(commits_seen) >= 4
    with Store.open_service(data) as store:
        trial = store.trials.get(trial_id)
        frames = store.trials.frames(trial_id)
    assert trial["status"] == "partial" and len(frames) == trial["frame_count"] >= committed_n
    np.testing.assert_array_equal(frames["seq"], np.arange(len(frames)))
    assert appended_n - len(frames) <= 100 * 3.0 < 100 * MAX_UNCOMMITTED_S  # the 1-s commit, an interval, a batch, slack
