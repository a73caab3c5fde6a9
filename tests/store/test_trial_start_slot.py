"""A trial's start slot is stored with it (``trials.start_seq``, migration 16): its frames read back
from it (the trial CSV's time zero, DESIGN.md §3), and every way a recording ends counts its lost
frames by one rule: the slots without a frame from its start slot to its last frame (a finished trial
also those up to the end of its planned time, which its result counts). An aborted trial, and one a
crash or a fault left partial, counted only the gaps between the frames stored."""

from __future__ import annotations

import sqlite3

import pytest

from station.store.db import DB_FILENAME, ValidationError
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


def test_trials_stored_before_migration_16_get_no_start_slot(tmp_path, station_data_dir, wall, mono, clinician):
    """Their start slot was never stored: null, read back from their first stored frame as before."""
    station_data_dir(tmp_path / "data")
    store = Store.open_service(tmp_path / "data", wall_clock=wall, clock=mono, password_cost=CHEAP_COST)
    patient = store.patients.create({"identifier": "P-OLD", "birth_year": 1950, "sex": "F"}, actor=clinician)
    session = store.sessions.create(patient["id"], {"label": "old"}, actor=clinician)
    tid = store.trials.import_trial(session["id"], "romberg", "eyes_open", CAL, 100.0, make_frames(50, 7),
                                    metrics_doc(), True, None, actor=clinician)
    store.close()
    conn = sqlite3.connect(tmp_path / "data" / DB_FILENAME)
    conn.execute("ALTER TABLE trials DROP COLUMN start_seq")  # the database as version 15 left it
    conn.execute("PRAGMA user_version = 15")
    conn.commit()
    conn.close()
    store = Store.open_service(tmp_path / "data", wall_clock=wall, clock=mono, password_cost=CHEAP_COST)
    try:
        assert store.db.schema_version() == LATEST_VERSION
        assert store.trials.get(tid)["start_seq"] is None
    finally:
        store.close()


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
