"""A trial's start slot is stored with it (``trials.start_seq``, migration 16): its frames read back
from it (the trial CSV's time zero, DESIGN.md §3), and every way a recording ends counts its lost
frames by one rule: the slots without a frame from its start slot to its last frame (a finished trial
also those up to the end of its planned time, which its result counts). An aborted trial, and one a
crash or a fault left partial, counted only the gaps between the frames stored."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from station.store.db import DB_FILENAME, ValidationError
from station.store.export import export_columns, time_zero_words
from station.store.migrations import LATEST_VERSION
from station.store.store import Store
from station.sync.hub import trial_values
from station.sync.records import TRIAL_COLUMNS, record_of

from clinic_data import CHEAP_COST, make_frames, metrics_doc

CAL = {"method": "nominal"}
START = 600
"""The trial's first sample slot; its first frame stored is slot 602 (two slept through)."""


def _recording(store, session, clinician):
    writer = store.trials.start_trial(session["id"], "romberg", "eyes_open", CAL, 100.0, actor=clinician,
                                      start_seq=START)
    writer.append(make_frames(100, START + 2))  # 602..701
    writer.append(make_frames(100, START + 105))  # 705..804: 3 lost between
    return writer


def test_an_aborted_trial_counts_the_slots_lost_before_its_first_frame(store, session, clinician):
    writer = _recording(store, session, clinician)
    trial = writer.abort("patient stepped off")
    assert trial["status"] == "aborted" and trial["start_seq"] == START
    assert trial["frames_lost"] == 2 + 3  # the first two slots and the gap, as a finished trial's result counts them


def test_a_finished_trial_may_not_count_fewer_than_its_lost_slots_from_its_start(store, session, clinician):
    writer = _recording(store, session, clinician)
    with pytest.raises(ValueError, match="at least the 5 frames missing from the trial's start slot"):
        writer.finish(metrics_doc(), True, frames_lost=3)
    assert writer.finish(metrics_doc(), True, frames_lost=5)["frames_lost"] == 5


def test_a_trial_a_crash_left_recording_keeps_its_start_slot_and_count(tmp_path, station_data_dir, clinician, wall,
                                                                       mono):
    station_data_dir(tmp_path / "data")
    first = Store.open_service(tmp_path / "data", wall_clock=wall, clock=mono, password_cost=CHEAP_COST)
    patient = first.patients.create({"identifier": "P-CRASH", "birth_year": 1950, "sex": "F"}, actor=clinician)
    session = first.sessions.create(patient["id"], {"label": "crash"}, actor=clinician)
    writer = _recording(first, session, clinician)
    writer.flush()  # durable; then the station loses power
    first.close()  # the process "dies" without finishing
    second = Store.open_service(tmp_path / "data", wall_clock=wall, clock=mono, password_cost=CHEAP_COST)
    try:
        trial = second.trials.get(writer.trial_id)  # recovered at the start
        assert trial["status"] == "partial" and trial["start_seq"] == START and trial["frames_lost"] == 5
    finally:
        second.close()


@pytest.mark.parametrize("start_seq", [-1, 1.5, True, "600", 2**62])
def test_a_start_slot_that_is_no_frame_number_is_refused(store, session, start_seq):
    with pytest.raises(ValueError, match="start_seq must be a frame's seq"):
        store.trials.start_trial(session["id"], "romberg", "eyes_open", CAL, 100.0, start_seq=start_seq)


TABLES_ADDED_LATER = ((18, "login_sessions_ended"),)
"""(migration, table) of the tables migrations after 17 add: a database made as an older schema left it has none."""


def _stored_then_opened_as(version: int, drop: tuple[str, ...], protocol: str, tmp_path, station_data_dir, wall, mono,
                           clinician):
    """A trial imported (no start slot, no time zero), the database then made as schema ``version`` left it
    (``drop``: the trials' columns it did not have), and opened again (migrated): ``(store, trial id)``."""
    station_data_dir(tmp_path / "data")
    store = Store.open_service(tmp_path / "data", wall_clock=wall, clock=mono, password_cost=CHEAP_COST)
    patient = store.patients.create({"identifier": "P-OLD", "birth_year": 1950, "sex": "F"}, actor=clinician)
    session = store.sessions.create(patient["id"], {"label": "old"}, actor=clinician)
    tid = store.trials.import_trial(session["id"], protocol, "comfortable", CAL, 100.0, make_frames(50, 7),
                                    metrics_doc(), True, None, actor=clinician)
    store.close()
    conn = sqlite3.connect(tmp_path / "data" / DB_FILENAME)
    for column in drop:
        conn.execute(f"ALTER TABLE trials DROP COLUMN {column}")
    for table in (t for v, t in TABLES_ADDED_LATER if v > version):  # a later migration makes them again
        conn.execute(f"DROP TABLE {table}")
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()
    return Store.open_service(tmp_path / "data", wall_clock=wall, clock=mono, password_cost=CHEAP_COST), tid


def test_trials_stored_before_migration_16_get_no_start_slot(tmp_path, station_data_dir, wall, mono, clinician):
    """Their start slot was never stored: null, read back from their first stored frame as before."""
    store, tid = _stored_then_opened_as(15, ("time_zero_seq", "start_seq"), "romberg", tmp_path, station_data_dir,
                                        wall, mono, clinician)
    try:
        assert store.db.schema_version() == LATEST_VERSION
        assert store.trials.get(tid)["start_seq"] is None
    finally:
        store.close()


def test_walks_stored_before_migration_17_get_no_time_zero(tmp_path, station_data_dir, wall, mono, clinician):
    """A walk stored before its go was kept (version 16): null, read back from its first stored frame as
    before, and its export says so."""
    store, tid = _stored_then_opened_as(16, ("time_zero_seq",), "ten-metre-walk", tmp_path, station_data_dir,
                                        wall, mono, clinician)
    try:
        assert store.db.schema_version() == LATEST_VERSION
        trial = store.trials.get(tid)
        assert trial["time_zero_seq"] is None and trial["start_seq"] is None
        assert export_columns(store.trials.frames(tid), 100.0, None, None)["time_s"][:2].tolist() == [0.0, 0.01]
        assert time_zero_words(trial).startswith("the first stored frame")
    finally:
        store.close()


def test_a_walk_keeps_its_go_on_the_grid_apart_from_its_lost_frames(store, session, clinician):
    """A walk (no start slot) told its go keeps its first frame whole periods after it, from the frame's
    wake time as its trial CSV places it, and counts only the gaps between its frames as lost; an
    interrupted one keeps it too. A trial with a start slot keeps none."""
    from station.acquire.frame import periods_after_go

    writer = store.trials.start_trial(session["id"], "ten-metre-walk", "comfortable", CAL, 100.0, actor=clinician,
                                      go_ns=5_000_000_000)
    frames = make_frames(20, 1000)
    frames["t_ns"] = 5_000_000_000 + 12_000_000 + np.arange(20) * 10_000_000  # first woken 12 ms after the go
    frames = frames[np.arange(20) != 5]
    writer.append(frames)
    writer.finish(metrics_doc(), True, frames_lost=1)
    trial = store.trials.get(writer.trial_id)
    assert periods_after_go(int(frames["t_ns"][0]), 5_000_000_000, 100.0) == 1
    assert trial["time_zero_seq"] == 999 and trial["start_seq"] is None and trial["frames_lost"] == 1
    assert export_columns(store.trials.frames(writer.trial_id), 100.0, None, 999)["time_s"][:2].tolist() == [0.01, 0.02]

    partial = store.trials.start_trial(session["id"], "ten-metre-walk", "fast", CAL, 100.0, actor=clinician,
                                       go_ns=5_000_000_000)
    partial.append(frames)
    partial.abort("stopped")
    assert store.trials.get(partial.trial_id)["time_zero_seq"] == 999 and store.trials.get(partial.trial_id)["frames_lost"] == 1
    stance = store.trials.start_trial(session["id"], "romberg", "eyes_open", CAL, 100.0, actor=clinician,
                                      start_seq=1000, go_ns=5_000_000_000)
    stance.append(frames)
    stance.finish(metrics_doc(), True, frames_lost=1)
    assert store.trials.get(stance.trial_id)["time_zero_seq"] is None
    with pytest.raises(ValueError, match="go_ns must be a time on the station clock"):
        store.trials.start_trial(session["id"], "ten-metre-walk", "fast", CAL, 100.0, actor=clinician, go_ns=1.5)


def test_the_hub_copy_carries_the_start_slot_and_takes_an_older_stations_without_it(store, session, clinician):
    writer = _recording(store, session, clinician)
    writer.finish(metrics_doc(), True, frames_lost=5)
    record = record_of(store, {"entity": "trial", "local_id": writer.trial_id})
    assert "start_seq" in TRIAL_COLUMNS and record["start_seq"] == START
    assert trial_values(record)["start_seq"] == START
    older = {k: v for k, v in record.items() if k != "start_seq"}  # pushed by a station before migration 16
    assert trial_values(older)["start_seq"] is None
    with pytest.raises(ValidationError, match="start_seq"):
        trial_values({**record, "start_seq": "600"})


def test_a_walks_time_zero_travels_with_it_and_an_older_stations_walk_has_none(store, session, clinician):
    writer = store.trials.start_trial(session["id"], "ten-metre-walk", "comfortable", CAL, 100.0, actor=clinician,
                                      go_ns=0)
    writer.append(make_frames(100, 701))  # the first woken 7.01 s after the go: 701 periods
    writer.finish(metrics_doc(), True, frames_lost=0)
    record = record_of(store, {"entity": "trial", "local_id": writer.trial_id})
    assert record["time_zero_seq"] == 0 and trial_values(record)["time_zero_seq"] == 0
    older = {k: v for k, v in record.items() if k not in ("start_seq", "time_zero_seq")}  # before migration 16
    assert trial_values(older)["time_zero_seq"] is None and trial_values(older)["start_seq"] is None
    with pytest.raises(ValidationError, match="time_zero_seq"):
        trial_values({**record, "time_zero_seq": 1.5})


def test_the_visit_pdfs_trace_cuts_the_analysed_window_on_the_results_time(store, session, clinician):
    """The visit PDF's statokinesigram keeps the frames of the result's analysed window (its
    ``analysis_start_s``..``analysis_end_s``, on the trial's time from its start slot): with the first two
    slots lost, 0-0.05 s is slots 600-605, of which 602-605 were stored (4 frames); counted from the first
    stored frame it took 602-607 (6)."""
    from station.reports.session_report import _trace

    writer = _recording(store, session, clinician)
    doc = {**metrics_doc(), "trial": {"analysis_start_s": 0.0, "analysis_end_s": 0.05}}
    writer.finish(doc, True, frames_lost=5)
    ml, ap, _ = _trace(store, writer.trial_id)
    assert len(ml) == len(ap) == 4
