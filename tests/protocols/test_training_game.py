"""A training game played by the virtual patient on the simulated station (register-level plate,
acquisition loop, simulated clock): the station runs and scores the game; the person leans toward
each target within its own limits."""

from __future__ import annotations

import pytest

from station.analysis.biofeedback import make_schedule, patient_limits_cm
from station.protocols.loader import builtin_protocols
from station.protocols.runner import ProtocolRunner, RunnerError
from station.protocols.training import TrainingSettings, build_schedule
from station.sim.person import VirtualPerson
from station.sim.station import SimulatedStation
from station.sim.station import factory_calibration as simulated_factory_calibration
from station.sim.virtual_patient import VirtualPatient


def factory_calibration(seed: int):
    """The simulated plate's calibration with known masses (as a technician would do once)."""
    return simulated_factory_calibration(None, seed)


def play(schedule, seed=3):
    person = VirtualPerson(seed=seed, on_plate=False)
    station = SimulatedStation(None, person, seed=seed, calibration=factory_calibration(seed))
    runner = ProtocolRunner(builtin_protocols()["biofeedback-training"], station, training_schedule=schedule)
    patient = VirtualPatient(person, time_origin_ns=station.simulation.plate.t0_ns)
    patient.attach(runner)
    events = []
    runner.bus.subscribe(lambda e: events.append(e) if e.kind.startswith("game") else None)
    runner.run(max_s=600)
    (record,) = runner.records
    return record.result, events, person, patient


def test_the_virtual_patient_plays_reach_and_hold():
    reach, source = patient_limits_cm(height_cm=175.0)
    schedule = make_schedule("reach", 1, reach, seed=9, session_s=60.0, reach_source=source)  # 40 % of the reach
    result, events, person, patient = play(schedule)
    assert result.valid and result.completed
    game = result.training["result"]
    assert result.training["schedule"]["seed"] == 9 and result.training["minutes"] > 0.5
    # Targets at 40 % of the theoretical limits are inside the person's own: most are held.
    assert game["targets_shown"] >= 8 and game["hits"] >= game["targets_shown"] - 2
    reached = [t for t in game["targets"] if t["hit"]]
    # A reaction plus a lean; a backward target may be touched by the overshoot of the return
    # from the previous one (the COP passes behind the centre to stop the body): at once.
    times = sorted(t["time_to_reach_s"] for t in reached)
    assert all(t < 4.0 for t in times) and 0.5 < times[len(times) // 2] < 2.0
    # The COP first moves away from the target (the anticipatory adjustment that starts a lean)
    # and overshoots it: its path is longer than the straight line, yet far from a detour.
    efficiency = sorted(t["path_efficiency"] for t in reached)
    assert 0.1 < efficiency[0] and 0.2 < efficiency[len(efficiency) // 2] <= 1.0
    assert 55.0 <= game["score"] <= 100.0
    # The live stream carried the game: its schedule first, the target changing, the result last.
    kinds = [e.kind for e in events]
    assert kinds[0] == "game_ready" and kinds[-1] == "game_over" and kinds.count("game") > 20
    shown = {e.data["target"]["index"] for e in events if e.kind == "game" and e.data.get("target")}
    assert len(shown) == game["targets_shown"]
    assert sum(1 for _, action in patient.done if action == "lean_toward") >= game["targets_shown"]


def test_far_targets_beyond_the_persons_limits_are_missed():
    reach, source = patient_limits_cm(clinician_range_cm=30.0)  # far beyond anyone's reach
    schedule = make_schedule("reach", 5, reach, seed=2, session_s=30.0, reach_source=source)
    result, *_ = play(schedule)
    game = result.training["result"]
    assert game["targets_shown"] >= 2 and game["hits"] == 0 and game["score"] == 0.0


def test_weight_shift_game_on_the_simulated_plate():
    settings = TrainingSettings.from_dict({"game": "shift", "level": 1, "session_s": 60, "paretic_side": "left"})
    schedule = build_schedule(settings, height_cm=170.0, los_excursion_pct=None, plate_width_cm=40.0, seed=1)
    result, *_ = play(schedule, seed=5)
    game = result.training["result"]
    assert game["targets_shown"] >= 3 and game["hits"] >= game["targets_shown"] - 1 and game["score"] >= 60.0


@pytest.mark.parametrize("shutdown", [False, True])
def test_a_game_stopped_early_is_scored_on_what_was_played(shutdown):
    reach, source = patient_limits_cm(height_cm=175.0)
    schedule = make_schedule("reach", 1, reach, seed=9, session_s=120.0, reach_source=source)
    person = VirtualPerson(seed=3, on_plate=False)
    station = SimulatedStation(None, person, seed=3, calibration=factory_calibration(3))
    runner = ProtocolRunner(builtin_protocols()["biofeedback-training"], station, training_schedule=schedule)
    VirtualPatient(person, time_origin_ns=station.simulation.plate.t0_ns).attach(runner)

    def stop_after_two(event):
        if event.kind == "game" and event.data.get("hits") == 2:
            runner.request_stop(shutdown)

    runner.bus.subscribe(stop_after_two)
    runner.run(max_s=300)
    (record,) = runner.records
    result = record.result
    assert result.valid and not result.completed and result.end_reason == "operator_ended"
    if shutdown:  # the station's service stopped it (Ctrl-C, systemctl stop): not the clinician
        assert result.warnings[0].startswith("Ended after ") and "(the station was shut down): scored on what" \
            in result.warnings[0] and "clinician" not in result.warnings[0]
    else:
        assert "Ended by the clinician" in result.warnings[0]
    game = result.training["result"]
    assert game["hits"] == 2 and game["targets_shown"] in (2, 3) and result.training["minutes"] < 1.0


def test_a_training_run_without_its_game_says_so():
    person = VirtualPerson(seed=1, on_plate=False)
    station = SimulatedStation(None, person, seed=1, calibration=factory_calibration(1))
    runner = ProtocolRunner(builtin_protocols()["biofeedback-training"], station)
    with pytest.raises(RunnerError, match="needs its schedule"):
        runner.run(max_s=10)


@pytest.mark.parametrize("doc, words", [
    ({"game": "golf"}, "training.game: 'golf' is unknown"),
    ({"game": "reach", "level": 0}, "training.level: 0 is out of range"),
    ({"game": "shift", "level": 1}, "training.paretic_side: choose 'left' or 'right'"),
    ({"game": "reach", "session_s": 5000}, "training.session_s: 5000 is out of range"),
    ({"game": "reach", "colour": "red"}, "training.colour: unknown"),
])
def test_settings_errors_are_one_line(doc, words):
    with pytest.raises(ValueError) as info:
        TrainingSettings.from_dict(doc)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_the_game_plays_on_its_trial_files_time_at_any_frame_rate(tmp_path):
    """The game's clock is its trial CSV's ``time_s``, counted from the trial's start slot: a target's
    times (``shown_s``, ...) and the live state's ``time_s`` are the trial's. At 120 Hz the countdown's
    3 s end between two sample slots; the game rounded its own time zero and ran one period (8.3 ms)
    ahead of the trial CSV."""
    import csv

    from station.config import AcquisitionConfig, StationConfig
    from station.protocols.sinks import FileSink

    config = StationConfig(acquisition=AcquisitionConfig(rate_hz=120.0))
    reach, source = patient_limits_cm(height_cm=175.0)
    schedule = make_schedule("reach", 1, reach, seed=9, session_s=30.0, reach_source=source)
    person = VirtualPerson(seed=3, on_plate=False)
    station = SimulatedStation(config, person, seed=3, calibration=simulated_factory_calibration(config, 3))
    runner = ProtocolRunner(builtin_protocols()["biofeedback-training"], station, training_schedule=schedule,
                            sink=FileSink(tmp_path))
    VirtualPatient(person, time_origin_ns=station.simulation.plate.t0_ns).attach(runner)
    states = []  # (the live state's time_s, the wake time of the last frame the game was fed for it)
    runner.bus.subscribe(lambda e: states.append((e.data["time_s"], int(runner.machine.recorded["t_ns"][-1])))
                         if e.kind == "game" else None)
    runner.run(max_s=600)
    (record,) = runner.records
    with open(record.stored["csv"], encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert record.result.valid and float(rows[0]["time_s"]) == 0.0
    times = {int(row["t_ns"]): round(float(row["time_s"]), 3) for row in rows}  # the trial CSV's time of each frame
    assert len(states) > 100 and all(time_s == times[t_ns] for time_s, t_ns in states)
