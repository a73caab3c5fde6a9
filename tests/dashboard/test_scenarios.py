"""Scenarios of ``run --simulate``: the virtual patient in the acquisition process follows the
protocol events the daemon forwards over a pipe."""

from __future__ import annotations

import multiprocessing as mp
import secrets
import time

import numpy as np
import pytest

from station.acquire.process import AcquisitionProcess, AcquisitionSpec
from station.sim.station import SimulatedHardwareRecipe
from station.acquire.ring import RingReader
from station.config import StationConfig
from station.protocols.events import Event
from station.sim.scenarios import SCENARIOS, ScenarioPatient, scenario_message
from station.sim.person import VirtualPerson


def test_only_what_the_patient_reacts_to_is_forwarded():
    big = Event(7, 123, "trial_finished", {"result": {"metrics": list(range(1000))}})
    assert scenario_message(big) is None
    ready = Event(8, 456, "trial_ready", {"protocol": "mctsib", "condition": "firm_ec", "trial": 1, "attempt": 2,
                                         "label": "Firm surface, eyes closed", "reason": "held 3 s"})
    assert scenario_message(ready) == {"kind": "trial_ready", "t_ns": 456, "data": {
        "protocol": "mctsib", "condition": "firm_ec", "trial": 1, "attempt": 2}}


def test_the_scenarios_are_documented_and_the_standing_one_follows_nothing():
    assert set(SCENARIOS) == {"standing", "patient", "mctsib-step-off", "hemiparetic-walker", "walk-stop",
                              "walk-false-start", "single-leg-touch-down"}
    assert all(s.description for s in SCENARIOS.values())
    assert not SCENARIOS["standing"].follows
    (lapse,) = SCENARIOS["mctsib-step-off"].lapses
    assert (lapse.condition, lapse.action, lapse.attempt) == ("firm_ec", "step_off", 1)
    with pytest.raises(ValueError, match="does not follow"):
        ScenarioPatient(SCENARIOS["standing"], VirtualPerson(seed=0), time_origin_ns=0)


def test_the_patient_steps_on_closes_the_eyes_and_steps_off_as_scripted():
    person = VirtualPerson(seed=0, on_plate=False)
    patient = ScenarioPatient(SCENARIOS["mctsib-step-off"], person, time_origin_ns=0)
    conn_out, conn_in = mp.Pipe(duplex=False)
    s = 1_000_000_000
    for t, kind, data in [
        (1 * s, "protocol_started", {"protocol": "mctsib"}),
        (1 * s, "trial_ready", {"protocol": "mctsib", "condition": "firm_ec", "trial": 1, "attempt": 1}),
        (4 * s, "state", {"protocol": "mctsib", "condition": "firm_ec", "trial": 1, "attempt": 1, "state": "countdown"}),
        (7 * s, "state", {"protocol": "mctsib", "condition": "firm_ec", "trial": 1, "attempt": 1, "state": "recording"}),
    ]:
        conn_in.send({"kind": kind, "t_ns": t, "data": data})
    patient.poll(conn_out, 1 * s)
    for now in range(1, 12):
        patient.poll(conn_out, now * s)
    done = [action for _, action in patient.patient.done]
    assert done == ["set_condition", "step_on", "set_condition", "step_off"]  # surface, on, eyes closed, off
    step_off_s = patient.patient.done[-1][0]
    assert step_off_s == pytest.approx(10.0, abs=0.01)  # 3 s into the recording
    assert any("vision" in what or "closed" in what for _, what in person.events)


def test_an_unknown_protocol_is_ignored_and_a_closed_pipe_ends_the_listening():
    person = VirtualPerson(seed=0, on_plate=False)
    patient = ScenarioPatient(SCENARIOS["patient"], person, time_origin_ns=0)
    patient.handle({"kind": "trial_ready", "t_ns": 1, "data": {"protocol": "nope", "condition": "x"}})
    assert patient.patient.done == [] and person.events == []
    conn_out, conn_in = mp.Pipe(duplex=False)
    conn_in.close()
    patient.poll(conn_out, 2_000_000_000)
    patient.poll(conn_out, 3_000_000_000)  # no error, nothing more read


def test_the_acquisition_process_runs_the_scenario_patient():
    """The real acquisition process (spawned, real clock): a forwarded 'trial ready' makes the
    virtual patient step onto the simulated plate within a couple of seconds."""
    config = StationConfig()
    spec = AcquisitionSpec(config=config, ring_name=f"balance-test-{secrets.token_hex(4)}",
                           hardware=SimulatedHardwareRecipe(seed=0, scenario="patient"))
    process = AcquisitionProcess(spec)
    process.start()
    try:
        assert process.follows_protocols and process.calibration["method"]
        reader = RingReader(spec.ring_name)
        try:
            time.sleep(0.3)
            empty = reader.read().frames
            assert len(empty) and np.nanmax(empty["fz_n"]) < 50  # nobody on the plate yet
            now = time.monotonic_ns()
            process.forward_event(Event(1, now, "protocol_started", {"protocol": "quiet-stance"}))
            process.forward_event(Event(2, now, "trial_ready", {"protocol": "quiet-stance", "condition": "eo",
                                                                "trial": 1, "attempt": 1}))
            deadline = time.monotonic() + 5.0
            loaded = False
            while time.monotonic() < deadline and not loaded:
                time.sleep(0.2)
                frames = reader.read().frames
                loaded = len(frames) > 0 and np.nanmax(frames["fz_n"]) > 600  # 70 kg on the plate
            assert loaded, "the virtual patient did not step on"
        finally:
            reader.close()
    finally:
        process.stop()


def test_without_a_following_scenario_events_go_nowhere():
    spec = AcquisitionSpec(config=StationConfig(), ring_name="unused", hardware=SimulatedHardwareRecipe(scenario="standing"))
    process = AcquisitionProcess(spec)
    assert not process.follows_protocols
    process.forward_event(Event(1, 0, "trial_ready", {"protocol": "mctsib"}))  # nothing to send it to
