"""Start is refused while the station has no readings (health ``nodata``, or ``starting``: none yet) or is down: a trial
started then would record only the gap. The tablet's Start gets a 409 in words; the panel's button
a ``fault`` event in the same words; nothing is stored and the trial stays due."""

from __future__ import annotations

import pytest

from station.protocols.service import TrialService, start_refusal
from station.sim.person import VirtualPerson
from station.sim.station import SimulatedStation
from station.store.audit import Actor
from station.store.db import Conflict
from station.store.passwords import ScryptCost
from station.store.store import Store

ACTOR = Actor(1, "ana", "127.0.0.1")


class _SourceWithHealth:
    """The simulated station, its health document set by the test (the ring source's says
    ``nodata`` when the acquisition's newest frame is over 1 s old: tests/acquire/test_stall_health)."""

    def __init__(self, station):
        self.station = station
        self.clock = station.clock
        self.rate_hz = station.rate_hz
        self.health_doc = None

    def read_frames(self, max_wait_s):
        return self.station.read_frames(max_wait_s)

    def health(self):
        return self.health_doc or self.station.health()

    def __getattr__(self, name):
        return getattr(self.station, name)


@pytest.fixture
def clinic(tmp_path):
    store = Store.open_service(tmp_path / "data", password_cost=ScryptCost(log2_n=4, r=8, p=1))
    station = SimulatedStation(None, VirtualPerson(seed=4), seed=4, calibration="nominal")
    source = _SourceWithHealth(station)
    service = TrialService(source, store, calibration=station.calibration.to_dict())
    events = []
    service.bus.subscribe(events.append)
    patient = store.patients.create({"identifier": "ND-1", "birth_year": 1950, "sex": "F"}, actor=ACTOR)

    def call(name, *args):
        future = service.submit(name, *args)
        for _ in range(50):
            service.step()
            if future.done():
                return future.result()
        raise AssertionError(name)

    call("open_run", patient["id"], "romberg", None, ACTOR)
    for _ in range(200):
        if service.status()["run"]["state"] == "instructions":
            break
        service.step()
    yield source, service, call, events, store
    store.close()


def test_start_is_refused_in_words_while_the_station_has_no_readings_and_works_once_they_are_back(clinic):
    source, service, call, events, store = clinic
    source.health_doc = {"state": "nodata", "newest_frame_age_s": 3.4,
                         "reason": "no data: the acquisition has sent no frames for 3 s"}
    with pytest.raises(Conflict) as refused:
        call("start_trial")
    assert str(refused.value).startswith("The station has had no readings for 3 s, so the trial was not started.")
    assert "press Start again" in str(refused.value)
    assert service.status()["run"]["state"] == "instructions"
    assert not [e for e in events if e.kind == "state" and e.data.get("state") == "recording"]
    source.health_doc = None  # readings again
    call("start_trial")
    service.step()
    assert service.status()["run"]["state"] in ("waiting", "countdown", "recording")


def test_the_panel_button_says_why_it_did_not_start_and_the_trial_stays_due(clinic):
    source, service, call, events, _ = clinic
    source.health_doc = {"state": "down", "reason": "no load cell answers; check the plate cable and the mux"}
    call("press")
    faults = [e.data["message"] for e in events if e.kind == "fault"]
    assert faults == ["The station is down (no load cell answers; check the plate cable and the mux), so the trial "
                      "was not started. Press Start again once the status strip says OK."]
    for _ in range(5):
        service.step()
    assert service.status()["run"]["state"] == "instructions"
    source.health_doc = None
    call("press")
    for _ in range(5):
        service.step()
    assert service.status()["run"]["state"] in ("waiting", "countdown", "recording")


@pytest.mark.parametrize("health", [{"state": "ok"}, {"state": "degraded", "reason": "plate not calibrated"},
                                    {"state": "nodata"}, {"state": "down"}, {"state": "starting"}])
def test_only_no_readings_or_a_station_down_refuse_a_start(health):
    refusal = start_refusal(health)
    assert (refusal is not None) == (health["state"] in ("nodata", "down", "starting"))
    if health["state"] == "nodata":
        assert refusal.startswith("The station has had no readings, so")  # no age known: no number
    if health["state"] == "starting":  # the acquisition (re)started and has sent no frame yet: nothing to record
        assert refusal.startswith("The station's measuring program is starting and has no readings yet, so the "
                                  "trial was not started.")
