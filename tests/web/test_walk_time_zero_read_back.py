"""A stored walk reads back on the time axis of its trial file written live and of its steps.

A walk has no start slot (it is timed from its go on the station clock, as its light gates are): its
trial CSV written live places its first frame a whole number of periods after the go
(:func:`station.acquire.frame.periods_after_go`), and its result's ``initial_contacts_s`` are on that
axis. The store counted a walk's time from its first stored frame, so the trial API's frames, the CSV
download, the export and the steps trace (``GET /api/trials/<id>/steps``) read 0.01 s earlier than the
trial file and the steps drawn on the trace. The store keeps the walk's time zero
(``trials.time_zero_seq``, apart from ``start_seq``: a walk's lost frames are the gaps between its
frames) and every read path counts from it."""

from __future__ import annotations

import json

import numpy as np

from station.protocols.sinks import FileSink, StoreSink, TeeSink
from station.store.audit import Actor
from tests.protocols.walk_support import run_walk
from tests.web.test_trial_time_zero_read_back import _csv_times, read_back_as_written_live

from web_support import CAL


def test_a_stored_walk_reads_back_with_the_times_of_its_file_written_live_and_of_its_steps(
        clinician, store, accounts, tmp_path):
    who = Actor(accounts["ana"]["id"], "ana")
    patient = store.patients.create({"identifier": "PT-WALK-ZERO", "birth_year": 1950, "sex": "F"}, actor=who)
    session = store.sessions.create(patient["id"], {"label": "walk"}, actor=who)
    (tmp_path / "files").mkdir()
    sink = TeeSink(StoreSink(store.trials, session["id"], CAL, who), FileSink(tmp_path / "files"))
    run = run_walk("backward-walk-3m", seed=2, trials=1, sink=sink, timing="pi-under-load")
    (record,) = run.runner.records
    result, tid = record.result, record.stored["trial_id"]
    with open(record.stored["csv"], encoding="utf-8") as f:
        live = _csv_times(f.read())
    with open(record.stored["json"], encoding="utf-8") as f:
        sidecar = json.load(f)
    assert result.valid and result.walk["walk_time_s"] and len(live) == result.samples
    assert live[0] > 0  # the go comes between two sample slots: its first frame a whole period or more after it

    # the API's frames, every frame; the CSV download; the export command's files
    exported = read_back_as_written_live(clinician, store, tid, tmp_path, live, "the go (the walk's start beep)")

    # the steps trace: on the trial file's axis, the axis of the steps it draws (the result's, s after the go)
    steps = clinician.get(f"/api/trials/{tid}/steps?max_points=20000").json
    assert steps["step"] == 1 and steps["time_s"] == np.round(live, 4).tolist()
    assert steps["duration_s"] == round(live[-1] + 0.01, 6)
    assert steps["initial_contacts_s"] == [round(t, 4) for t in result.walk["initial_contacts_s"]]
    # a window is cut on that axis: its first frame the first at or after from_s
    window = clinician.get(f"/api/trials/{tid}/steps?from_s={live[10]}&to_s={live[40]}&max_points=20000").json
    assert window["time_s"] == np.round(live[10:41], 4).tolist()

    # the store keeps the walk's go on the sample grid, apart from a start slot
    trial = store.trials.get(tid)
    first_seq = int(store.trials.frames(tid)["seq"][0])
    assert trial["start_seq"] is None and trial["time_zero_seq"] == first_seq - round(live[0] * 100)
    assert exported["time_zero_seq"] == trial["time_zero_seq"] and exported["start_seq"] is None
    # its lost frames are still the gaps between its frames (no slot before the first counted)
    assert trial["frames_lost"] == result.lost_frames == sidecar["frames_lost"] == exported["frames_lost"]
