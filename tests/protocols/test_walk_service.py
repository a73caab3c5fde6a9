"""Walk tests through the trial service, as ``balance-station run --simulate --scenario ...`` wires
them: the scenario's patient walks with the IMU's walker (the acquisition side) while a second
copy of the patient, with a walker of the same seed, breaks the simulated gates that the service
reads (the station side); the stored trial holds the walk results the history reads."""

from __future__ import annotations

import pytest

from station.config import GateConfig, PanelConfig, StationConfig
from station.protocols.service import TrialService
from station.sim.faults import FaultySource, StationFault
from station.sim.person import VirtualPerson
from station.sim.scenarios import SCENARIOS, ScenarioGates, ScenarioPatient, scenario_message, simulated_gate_configs
from station.sim.station import SimulatedStation
from station.sim.walker import SENSOR_MOUNTING, VirtualWalker
from station.store.audit import Actor
from station.store.db import ValidationError
from station.store.passwords import ScryptCost
from station.store.store import Store

ACTOR = Actor(1, "ana", "127.0.0.1")


@pytest.fixture
def store(tmp_path):
    s = Store.open_service(tmp_path / "data", password_cost=ScryptCost(log2_n=4, r=8, p=1))
    yield s
    s.close()


class WalkClinic:
    def __init__(self, store, scenario="hemiparetic-walker", seed=3, faults=()):
        config = StationConfig(panel=PanelConfig(gates=(GateConfig(5, 0.0), GateConfig(6, 3.0))))
        person = VirtualPerson(seed=seed, on_plate=False)
        self.walker = VirtualWalker(seed=seed, height_cm=person.height_cm, base=person)
        self.station = SimulatedStation(config, self.walker, seed=seed, calibration="nominal")
        gate_configs = simulated_gate_configs(config.panel.gates, [1.0, 2.0, 3.0, 4.0, 8.0], (17, 22, 27))
        self.gates = ScenarioGates(SCENARIOS[scenario], gate_configs, self.station.clock, seed=seed)
        # the station failing in time (station.sim.faults): the service reads nothing while the acquisition stalls
        self.source = FaultySource(self.station, faults) if faults else self.station
        self.service = TrialService(self.source, store, calibration=self.station.calibration.to_dict(),
                                    gates=self.gates.gates, mounting=SENSOR_MOUNTING)
        if faults:
            self.service.bus.subscribe(self.source.on_event)
        self.events = []
        self.service.bus.subscribe(self.events.append)
        # The acquisition side: the patient whose walker drives the IMU (forwarded messages).
        self.patient = ScenarioPatient(SCENARIOS[scenario], self.walker, time_origin_ns=self.station.simulation.plate.t0_ns)
        self.service.bus.subscribe(lambda e: (m := scenario_message(e)) and self.patient.handle(m))
        self.service.add_tick(self.patient.patient.tick)
        # The station side: the gates' copy of the patient.
        self.service.bus.subscribe(self.gates.on_event)
        self.service.add_tick(self.gates.tick)

    def call(self, name, *args):
        future = self.service.submit(name, *args)
        for _ in range(50):
            self.service.step()
            if future.done():
                return future.result()
        raise AssertionError(name)

    def step_until(self, predicate, max_s=300.0):
        end = self.station.clock.monotonic_ns() + int(max_s * 1e9)
        while self.station.clock.monotonic_ns() < end:
            self.service.step()
            if predicate():
                return
        raise AssertionError("timed out")


def test_a_walk_test_runs_through_the_service_with_scenario_gates_and_is_stored(store):
    patient = store.patients.create({"identifier": "W-1", "birth_year": 1955, "sex": "M"}, actor=ACTOR)
    clinic = WalkClinic(store)
    with pytest.raises(ValidationError, match="walk.belt_speed_m_s"):
        clinic.call("open_run", patient["id"], "backward-walk-3m-5m", None, ACTOR, {"belt_speed_m_s": 9})
    with pytest.raises(ValidationError, match="walk.belt_speed_m_s: applies to treadmill sessions only"):
        clinic.call("open_run", patient["id"], "backward-walk-3m-5m", None, ACTOR, {"belt_speed_m_s": 0.5})
    status = clinic.call("open_run", patient["id"], "backward-walk-3m-5m", None, ACTOR, {"sensor_height_m": 0.98})
    run = status["run"]
    assert run["walk"]["gates_m"] == [1.0, 4.0] and run["walk_settings"]["sensor_height_m"] == 0.98
    assert [g["position_m"] for g in run["gates"]] == [0.0, 1.0, 2.0, 3.0, 4.0, 8.0]
    assert "walking backward" in run["stance"]
    clinic.step_until(lambda: clinic.service.status()["run"]["state"] == "instructions")
    clinic.call("start_trial")
    clinic.step_until(lambda: any(e.kind == "trial_stored" for e in clinic.events))
    stored = [e for e in clinic.events if e.kind == "trial_stored"][0].data
    assert stored["valid"]
    trial = store.trials.get(stored["trial_id"])
    walk = trial["metrics"]["trial"]["walk"]
    # The gates the station read were broken by the station side's copy of the walk: the same
    # walk as the IMU's walker planned (same seed), so the timing is the IMU walker's truth.
    (_, imu_plan), (_, gate_plan) = clinic.patient.patient.walks[0], clinic.gates._follower.patient.walks[0]
    assert list(imu_plan.initial_contacts_s - imu_plan.start_s) == pytest.approx(
        list(gate_plan.initial_contacts_s - gate_plan.start_s), abs=1e-9)
    truth_s = imu_plan.gate_time_s(4.0) - imu_plan.gate_time_s(1.0)
    assert walk["walk_time_s"] == pytest.approx(truth_s, abs=1e-3)
    assert trial["metrics"]["metrics"]["walk_speed_m_s"] == pytest.approx(3.0 / walk["walk_time_s"], rel=1e-3)
    assert trial["metrics"]["metrics"]["cadence_steps_min"] > 0
    kinds = [e.kind for e in clinic.events]
    assert "gates" in kinds and kinds.count("gate_crossed") == 2


def test_the_false_start_scenario_breaks_the_start_gate_before_the_go_and_then_walks(store):
    """Scenario ``walk-false-start`` (the dashboard's ``run --simulate --scenario walk-false-start``):
    the start gate's beam broken during the first countdown, the station waits and counts down
    again, and the walk after the next go is timed and stored."""
    patient = store.patients.create({"identifier": "W-FS", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
    clinic = WalkClinic(store, scenario="walk-false-start", seed=4)
    clinic.call("open_run", patient["id"], "ten-metre-walk", ["comfortable"], ACTOR, {"sensor_height_m": 0.98})
    clinic.step_until(lambda: clinic.service.status()["run"]["state"] == "instructions")
    clinic.call("start_trial")
    clinic.step_until(lambda: any(e.kind == "trial_stored" for e in clinic.events))
    kinds = [(e.kind, e.data.get("state")) for e in clinic.events]
    false_starts = [e for e in clinic.events if e.kind == "false_start"]
    assert len(false_starts) == 1 and false_starts[0].data["position_m"] == 2.0
    said = false_starts[0].data["message"]
    assert said == ("The beam at 2 m was broken before the go (false start); waiting for the patient to stand at the "
                    "start line again.")
    at = kinds.index(("false_start", None))
    # back to waiting with those words, then a second countdown, then the walk
    assert kinds[at + 1] == ("state", "waiting") and clinic.events[at + 1].data["message"] == said
    assert kinds[at:].index(("state", "countdown")) < kinds[at:].index(("state", "recording"))
    assert kinds[:at].count(("state", "countdown")) == 1 and ("state", "recording") not in kinds[:at]
    stored = [e for e in clinic.events if e.kind == "trial_stored"][0].data
    assert stored["valid"]
    walk = store.trials.get(stored["trial_id"])["metrics"]["trial"]["walk"]
    (_, gate_plan), = clinic.gates._follower.patient.walks  # one walk: after the second go
    assert walk["walk_time_s"] == pytest.approx(gate_plan.gate_time_s(8.0) - gate_plan.gate_time_s(2.0), abs=1e-3)


def test_a_treadmill_session_through_the_service_survives_a_stall_of_the_acquisition(store):
    """The service reads the frame source as it reads the acquisition's ring: during a stall it gets
    nothing while the clock runs (station.sim.faults), then the frames of that time are lost."""
    patient = store.patients.create({"identifier": "W-ST", "birth_year": 1952, "sex": "M"}, actor=ACTOR)
    clinic = WalkClinic(store, scenario="patient", seed=12, faults=(StationFault("stall", 8.0, 2.0),))
    clinic.call("open_run", patient["id"], "backward-treadmill", None, ACTOR,
                {"belt_speed_m_s": 0.5, "planned_min": 0.5, "sensor_height_m": 0.98})
    clinic.step_until(lambda: clinic.service.status()["run"]["state"] == "instructions")
    clinic.call("start_trial")
    clinic.step_until(lambda: any(e.kind == "trial_stored" for e in clinic.events))
    assert [what for _, what in clinic.source.happened] == ["stall"]
    stored = [e for e in clinic.events if e.kind == "trial_stored"][0].data
    assert stored["valid"]
    trial = store.trials.get(stored["trial_id"])
    walk = trial["metrics"]["trial"]["walk"]
    assert walk["imu_stalls"] == 1 and 1.8 <= walk["imu_not_measured_s"] <= 2.1 and walk["walking_min"] > 0.4
    assert trial["metrics"]["trial"]["end_reason"] == "duration"
    notices = [e.data["message"] for e in clinic.events if e.kind == "notice"]
    assert len(notices) == 2 and notices[0].startswith("The station has measured nothing for 1 s: its measuring program is held up.")
    # the time not measured said live is the result's (grid slots lost, not the wait between wake-ups)
    assert notices[1] == f"Measuring again: {walk['imu_not_measured_s']:g} s not measured (1 station stall); the session goes on."


def test_a_walk_the_stations_shutdown_ended_says_so_not_the_operator(store):
    """Ctrl-C or ``systemctl stop`` during an overground walk: the stored trial is invalid because the
    station was shut down, not "stopped by the operator"."""
    patient = store.patients.create({"identifier": "W-SD", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
    clinic = WalkClinic(store)
    run = clinic.call("open_run", patient["id"], "ten-metre-walk", ["comfortable"], ACTOR, {"sensor_height_m": 0.98})["run"]
    clinic.step_until(lambda: clinic.service.status()["run"]["state"] == "instructions")
    clinic.call("start_trial")
    clinic.step_until(lambda: clinic.service.status()["run"]["state"] == "recording")
    for _ in range(20):
        clinic.service.step()
    clinic.service.shutdown()
    (trial,) = store.sessions.get(run["session_id"])["trials"]
    trial = store.trials.get(trial["id"])
    assert not trial["valid"] and "operator" not in trial["validity_reason"]
    assert "Ended after " in trial["validity_reason"] and "s: the station was shut down." in trial["validity_reason"]
    assert "station_shutdown" in [i["code"] for i in trial["metrics"]["trial"]["issues"]]


def test_after_a_treadmill_session_stopped_early_the_patient_steps_onto_the_plate_for_a_stance_test(store):
    """Scenario ``hemiparetic-walker`` (a programme's baseline after its first session): a treadmill session
    planned for 30 min and stopped after a few seconds, then quiet stance. The patient's walk was planned
    for the whole 30 min; it ends when the session does (the belt stops), and the patient steps onto the
    plate: the stance trial records. Before, the walker walked on for the planned 30 min, off the plate,
    and the quiet stance waited for ever ("No one on the plate")."""
    patient = store.patients.create({"identifier": "W-TS", "birth_year": 1958, "sex": "F"}, actor=ACTOR)
    clinic = WalkClinic(store)
    clinic.call("open_run", patient["id"], "backward-treadmill", None, ACTOR,
                {"belt_speed_m_s": 0.4, "planned_min": 30, "sensor_height_m": 0.98})
    clinic.step_until(lambda: clinic.service.status()["run"]["state"] == "instructions")
    clinic.call("start_trial")
    clinic.step_until(lambda: clinic.service.status()["run"]["state"] == "recording")
    go_ns = clinic.station.clock.monotonic_ns()
    clinic.step_until(lambda: clinic.station.clock.monotonic_ns() - go_ns > 8e9)
    clinic.call("stop_trial")
    clinic.step_until(lambda: any(e.kind == "trial_stored" for e in clinic.events))
    stopped_s = (clinic.station.clock.monotonic_ns() - clinic.station.simulation.plate.t0_ns) / 1e9
    (_, plan), = clinic.patient.patient.walks
    assert plan.end_s < stopped_s + 2.0  # not 30 min later
    (_, gate_plan), = clinic.gates._follower.patient.walks  # the station side's copy stopped alike
    assert gate_plan.end_s == pytest.approx(plan.end_s, abs=1e-6)
    clinic.call("close_run")
    clinic.call("open_run", patient["id"], "quiet-stance", None, ACTOR)
    clinic.step_until(lambda: clinic.service.status()["run"]["state"] == "instructions")
    clinic.call("start_trial")
    clinic.step_until(lambda: clinic.service.status()["run"]["state"] == "recording", max_s=20.0)
