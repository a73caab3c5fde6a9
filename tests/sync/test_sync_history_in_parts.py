"""A visit whose results outweigh what a station takes in one answer (4 MiB) comes in parts: the
hub's history pages end inside a visit when they must, so every page fits, the pull on demand and
the sync's history updates alike. A station before parts is refused such a visit once, with its
size, instead of being sent an answer it refuses at every try."""

from __future__ import annotations

import pytest

from station.store.db import Conflict
from station.sync.client import MAX_ANSWER_BYTES
from station.sync.hub import Hub

from sync_support import CALIBRATION, CLINICIAN, frames, hub_patient

TRIALS = 24
PAD_CHARS = 200_000  # each trial's metrics: under the 256 kB a trial's metrics may hold


def _large_visit(hub_store, identifier: str) -> None:
    """A visit on the hub of ``TRIALS`` trials with 200-kB metrics each (4.8 MB of results)."""
    patient = hub_patient(hub_store, identifier)
    session = hub_store.sessions.create(patient["id"], {}, actor=CLINICIAN)
    for seed in range(TRIALS):
        writer = hub_store.trials.start_trial(session["id"], "romberg", "eyes_open", CALIBRATION, 100.0,
                                              actor=CLINICIAN)
        writer.append(frames(100, seed))
        writer.finish({"fs_hz": 100.0, "samples": 100, "profile": "station", "version": "t",
                       "metrics": {"ellipse_area_cm2": 2.0}, "pad": "x" * PAD_CHARS}, valid=True)


@pytest.fixture
def capped(station_factory):
    """``make(name)``: a station whose transport refuses answers over 4 MiB, as urllib's does."""

    def make(name):
        sync = station_factory(name)
        send = sync.client._send

        def bounded(method, url, headers, body):
            status, data = send(method, url, headers, body)
            if len(data) > MAX_ANSWER_BYTES:
                raise ConnectionError(f"the hub's answer is larger than {MAX_ANSWER_BYTES} bytes")
            return status, data

        sync.client._send = bounded
        return sync

    return make


def test_a_visit_too_large_for_one_answer_is_pulled_in_parts(hub_store, capped):
    hub_store.patients.create({"identifier": "H-1", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    _large_visit(hub_store, "H-1")
    ward = capped("ward")
    pulled = ward.pull_patient("H-1", actor=CLINICIAN)
    assert pulled["history"] == {"sessions": 1, "trials": TRIALS}  # before: an error, at every try
    history = ward.store.patients.view(pulled["id"], actor=CLINICIAN)
    assert [len(s["trials"]) for s in history["sessions"]] == [TRIALS]
    assert ward.pull_history(pulled["id"], actor=CLINICIAN) == {"sessions": 0, "trials": 0}  # nothing twice


def test_the_sync_brings_a_visit_too_large_for_one_answer(hub_store, capped):
    gym = capped("gym")
    gym.store.patients.create({"identifier": "H-2", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    gym.sync_once()
    _large_visit(hub_store, "H-2")
    assert gym.sync_once().pulled_trials == TRIALS  # before: "the hub's answer is larger than ...", every sync
    assert gym.sync_once().pulled_trials == 0


def test_every_page_fits_and_a_station_before_parts_is_refused_once(hub_store, station_factory):
    hub_store.patients.create({"identifier": "H-3", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    _large_visit(hub_store, "H-3")
    station_factory("ward")
    hub = Hub(hub_store)
    station = hub.station_named("ward")
    after, trial_after, seen, pages = 0, 0, [], 0
    while True:
        page = hub.history_for_station(station, "H-3", after, trial_after=trial_after)
        assert len(str(page).encode()) < MAX_ANSWER_BYTES
        seen += [t["hub_id"] for s in page["sessions"] for t in s["trials"]]
        pages += 1
        if page["next"] is None:
            break
        after, trial_after = page["next"], page["next_trial"]
    assert len(seen) == len(set(seen)) == TRIALS and pages >= 5
    with pytest.raises(Conflict, match=r"holds 4\.\d MB of results, more than this station's software takes"):
        hub.history_for_station(station, "H-3")
