"""A stored trial read back gives the times and the lost-frame count of its trial file written live
(DESIGN.md §3: ``time_s = (seq − seq₀)/rate_hz``, seq₀ the trial's first sample slot).

The trial CSV written live counts time from the trial's start slot (51a2a9b); the store kept no start
slot, so the trial API's frames, the CSV download and the export counted from the first STORED frame:
a trial whose first slots were lost (slept through by a loaded Pi) read back 0.02 s early, every frame
of it. The store keeps the start slot now (``trials.start_seq``) and every read path counts from it;
an aborted or interrupted trial counts the slots lost before its first frame as a finished one does,
and the trial file's sidecar says its lost-frame count (``frames_lost``, the exported sidecar's key)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace

import numpy as np
import pytest

from station.protocols.loader import builtin_protocols
from station.protocols.runner import ProtocolRunner
from station.protocols.sinks import FileSink, StoreSink, TeeSink
from station.store.audit import Actor
from station.store.export import export_trial
from tests.protocols.test_trial_grid_time import FIRST_SLOT, LAST_SLOT, LateSource, person

from web_support import CAL

FIRST_TWO_LOST = (FIRST_SLOT, FIRST_SLOT + 1)


def _runner(store, accounts, tmp_path, source):
    who = Actor(accounts["ana"]["id"], "ana")
    patient = store.patients.create({"identifier": "PT-GRID", "birth_year": 1950, "sex": "F"}, actor=who)
    session = store.sessions.create(patient["id"], {"label": "grid"}, actor=who)
    (tmp_path / "files").mkdir()
    sink = TeeSink(StoreSink(store.trials, session["id"], CAL, who), FileSink(tmp_path / "files"))
    protocol = replace(builtin_protocols()["quiet-stance"], rest_s=0.0, max_attempts=1)
    runner = ProtocolRunner(protocol, source, sink=sink)
    runner.begin()
    runner.request_start()
    return runner


def _csv_times(text: str) -> np.ndarray:
    return np.array([float(row["time_s"]) for row in csv.DictReader(io.StringIO(text))])


def _live_file(stored: dict) -> tuple[np.ndarray, dict]:
    with open(stored["csv"], encoding="utf-8") as f:
        times = _csv_times(f.read())
    with open(stored["json"], encoding="utf-8") as f:
        return times, json.load(f)


def read_back_as_written_live(clinician, store, tid: int, tmp_path, live: np.ndarray, time_zero: str) -> dict:
    """The stored trial ``tid`` read back by the API's frames (every frame), the CSV download and the export
    command: the times ``live`` of its trial CSV written live, each; the API's ``time_zero`` words begin with
    ``time_zero``. The exported sidecar."""
    doc = clinician.get(f"/api/trials/{tid}/frames?fields=time_s,seq&max_points=20000").json
    assert doc["step"] == 1 and doc["columns"]["time_s"] == live.tolist()
    assert doc["time_zero"].startswith(time_zero)
    download = clinician.get(f"/api/trials/{tid}/export.csv")
    assert download.status_code == 200 and _csv_times(download.get_data(as_text=True)).tolist() == live.tolist()
    csv_path, json_path = export_trial(store, tid, tmp_path, actor=Actor.system())
    assert _csv_times(csv_path.read_text(encoding="utf-8")).tolist() == live.tolist()
    return json.loads(json_path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("lost", [FIRST_TWO_LOST, (FIRST_SLOT, 1234, LAST_SLOT), ()],
                         ids=["first-two-slots-lost", "first-middle-last-lost", "none-lost"])
def test_a_stored_trial_reads_back_with_the_times_and_the_count_of_its_file_written_live(
        clinician, store, accounts, tmp_path, lost):
    source = LateSource(person(), {FIRST_SLOT + 5: 9_000_000}, frozenset(lost))
    runner = _runner(store, accounts, tmp_path, source)
    while not runner.records and source.clock.monotonic_ns() < 120e9:
        runner.step(0.05)
    (record,) = runner.records
    r, tid = record.result, record.stored["trial_id"]
    live, sidecar = _live_file(record.stored)
    assert r.completed and r.lost_frames == len(lost) and len(live) == r.samples
    assert round(live[0] * 100) == sum(s in lost for s in FIRST_TWO_LOST)  # the lost first slots: a gap at its start

    exported = read_back_as_written_live(clinician, store, tid, tmp_path, live, "the start signal")

    # one count of lost frames: the result's, the stored trial's, both sidecars'
    assert sidecar["frames_lost"] == store.trials.get(tid)["frames_lost"] == exported["frames_lost"] == r.lost_frames
    assert exported["start_seq"] == FIRST_SLOT and store.trials.get(tid)["start_seq"] == FIRST_SLOT


def test_an_interrupted_trial_counts_the_slots_lost_before_its_first_frame_as_a_finished_one(
        store, accounts, tmp_path):
    """Stopped (Ctrl-C, the service's stop) 10 s into the trial: the stored trial (aborted) and the trial
    file (partial) both count the two first slots slept through and the gap at 1234, as the result of a
    finished trial would; the store counted only the gap."""
    source = LateSource(person(), {}, frozenset(FIRST_TWO_LOST + (1234,)))
    runner = _runner(store, accounts, tmp_path, source)
    while source.clock.monotonic_ns() < (FIRST_SLOT + 1000) * 10_000_000:
        runner.step(0.05)
    assert not runner.records
    kept = runner.interrupt("stopped by the test")
    trial = store.trials.get(kept["trial_id"])
    assert trial["status"] == "aborted" and trial["frames_lost"] == 3
    with open(kept["json"], encoding="utf-8") as f:
        sidecar = json.load(f)
    assert sidecar["status"] == "partial" and sidecar["frames_lost"] == 3


def test_a_trial_stored_before_its_start_slot_was_kept_counts_from_its_first_stored_frame(
        clinician, store, accounts):
    """An old row (``start_seq`` null, as migration 16 leaves every trial stored before it) reads back as it
    did, from its first stored frame, and says so."""
    from web_support import clinic_data

    who = Actor(accounts["ana"]["id"], "ana")
    patient = store.patients.create({"identifier": "PT-OLD", "birth_year": 1950, "sex": "F"}, actor=who)
    session = store.sessions.create(patient["id"], {"label": "old"}, actor=who)
    frames = clinic_data.make_frames(300)
    frames["seq"] += 7
    tid = store.trials.import_trial(session["id"], "romberg", "eyes_open", CAL, 100.0, frames,
                                    clinic_data.metrics_doc(), True, None, actor=who)
    assert store.trials.get(tid)["start_seq"] is None
    doc = clinician.get(f"/api/trials/{tid}/frames?fields=time_s&max_points=20000").json
    assert doc["columns"]["time_s"][:2] == [0.0, 0.01] and doc["time_zero"].startswith("the first stored frame")
    sidecar = clinician.get(f"/api/trials/{tid}/export.json").json
    assert sidecar["start_seq"] is None and sidecar["time_zero"].startswith("the first stored frame")
