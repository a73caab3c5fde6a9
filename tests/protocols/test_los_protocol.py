"""The limits-of-stability test on the station: protocol file, random order, the lean machine on
scripted leans (each quality check makes a lean invalid and offers it again), and the whole test
performed by the virtual person on the simulated station."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from station.analysis.limits_of_stability import DIRECTIONS, LOS_KEYS, combine_directions, target_distance_cm
from station.protocols.lean import LosSettings, limits_from_excursions, los_settings_for
from station.protocols.loader import builtin_protocols
from station.protocols.runner import ProtocolRunner, plan_trials
from station.protocols.schema import ProtocolError, protocol_from_dict

from .synth import Load, ScriptedSource, sway

LOS = builtin_protocols()["limits-of-stability"]
WEIGHT_N = 700.0
HEIGHT_CM = 170.0


# ------------------------------------------------------------------------------------------------
# The protocol file


def test_the_builtin_protocol_has_eight_targets_in_a_random_order_with_its_sources():
    assert LOS.outcome == "limits_of_stability"
    assert [c.id for c in LOS.conditions] == list(DIRECTIONS)
    assert LOS.order == "random" and LOS.trials_per_condition == 1 and LOS.duration_s == 8
    assert LOS.los.targets == "theoretical" and LOS.los.ready_s >= 1.0
    assert {"nashner1997", "neurocom", "physiosensing2024"} <= {r.id for r in LOS.references}
    assert LOS.to_dict()["los"] == {"targets": "theoretical", "ready_s": LOS.los.ready_s}


def _los_file(**changes) -> dict:
    data = {
        "protocol": {"name": "my-los", "title": "LOS", "summary": "s", "outcome": "limits_of_stability",
                     "duration_s": 8, "instructions": "lean"},
        "stance": {"feet": "apart", "arms": "at_sides", "surface": "firm", "eyes": "open"},
        "conditions": [{"id": "f", "label": "Forward"}, {"id": "b", "label": "Backward"}],
    }
    for key, value in changes.items():
        data[key] = value
    return data


@pytest.mark.parametrize("change, message", [
    ({"conditions": [{"id": "up", "label": "Up"}]}, "conditions[0].id: 'up' is not a target direction"),
    ({"los": {"targets": "guess"}}, "los.targets"),
    ({"los": {"ready_s": 0.2}}, "los.ready_s"),
    ({"los": {"speed": 1}}, "los.speed"),
    ({"cutoffs": [{"metric": "time_held_s", "below": 1, "meaning": "m", "reference": "x"}]}, "cutoffs[0].metric"),
])
def test_a_wrong_los_file_is_refused_in_one_line(change, message):
    with pytest.raises(ProtocolError) as err:
        protocol_from_dict(_los_file(**change), "clinic/my-los.toml")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_los_fields_are_refused_elsewhere_and_one_lean_per_target():
    sway_file = _los_file(los={"targets": "previous"})
    sway_file["protocol"] = {**sway_file["protocol"], "outcome": "sway"}
    sway_file["conditions"] = [{"id": "eo", "label": "Eyes open"}]
    with pytest.raises(ProtocolError, match="los: only applies to limits-of-stability tests"):
        protocol_from_dict(sway_file, "x.toml")
    twice = _los_file()
    twice["protocol"] = {**twice["protocol"], "trials_per_condition": 2}
    with pytest.raises(ProtocolError, match="trials_per_condition"):
        protocol_from_dict(twice, "x.toml")
    ok = protocol_from_dict(_los_file(los={"targets": "previous", "ready_s": 2}), "x.toml")
    assert ok.los.targets == "previous" and ok.los.ready_s == 2.0


def test_random_order_is_a_shuffle_that_a_seed_repeats():
    a = [p.condition.id for p in plan_trials(LOS, seed=3)]
    assert sorted(a) == sorted(DIRECTIONS)
    assert a == [p.condition.id for p in plan_trials(LOS, seed=3)]
    orders = {tuple(p.condition.id for p in plan_trials(LOS, seed=s)) for s in range(6)}
    assert len(orders) > 1
    listed = replace(LOS, order="as_listed")
    assert [p.condition.id for p in plan_trials(listed, seed=3)] == list(DIRECTIONS)


def test_height_comes_from_the_record_or_the_run_else_a_clear_error():
    assert los_settings_for(LOS, record_height_cm=180, entered_height_cm=150).height_cm == 180.0
    assert los_settings_for(LOS, record_height_cm=None, entered_height_cm=150).height_cm == 150.0
    with pytest.raises(ValueError, match="need the patient's height; add it to the patient's record or enter it"):
        los_settings_for(LOS)
    with pytest.raises(ValueError, match="50-250 cm"):
        LosSettings(height_cm=20)
    with pytest.raises(ValueError, match="height"):
        ProtocolRunner(LOS, ScriptedSource(lambda t: Load(0.0)))


def test_targets_from_a_previous_test_lie_at_its_maximum_excursions():
    limits = limits_from_excursions({"f": 50.0, "r": 75.0, "b": None})
    assert limits["f"] == pytest.approx(4.0) and limits["r"] == pytest.approx(6.0) and limits["b"] == 4.5
    assert limits_from_excursions({"f": None}) is None
    previous = replace(LOS, los=replace(LOS.los, targets="previous"))
    settings = los_settings_for(previous, entered_height_cm=170, previous=(limits, 12))
    assert settings.limits_source == "previous" and settings.previous_session_id == 12
    assert settings.targets_cm()["f"] == pytest.approx(target_distance_cm(170, limits)["f"])
    # the built-in protocol uses the theoretical limits even when a previous test exists
    assert los_settings_for(LOS, entered_height_cm=170, previous=(limits, 12)).limits_source == "theoretical"


def test_combining_directions_gives_every_key_and_the_mean_composite():
    m = combine_directions({"f": {"los_reaction_time_s": 0.6}, "l": {"los_reaction_time_s": 0.8}})
    assert list(m) == list(LOS_KEYS)
    assert m["los_reaction_time_s"] == pytest.approx(0.7) and m["los_reaction_time_s_b"] is None


# ------------------------------------------------------------------------------------------------
# The lean machine on scripted leans


def _lean_angle_cm(deg: float) -> float:
    return 0.5527 * HEIGHT_CM * math.tan(math.radians(deg))


class ScriptedLeaner:
    """A patient who leans forward on each go (known from the countdown's start), as scripted."""

    def __init__(self, *, lean_deg=6.0, start_after_go_s=0.5, step_at_s=None, unload_at_s=None, lean=True):
        self.lean_deg, self.start_after_go_s = lean_deg, start_after_go_s
        self.step_at_s, self.unload_at_s, self.lean = step_at_s, unload_at_s, lean
        self.go_s = None

    def on_event(self, event):
        if event.kind == "state" and event.data["state"] == "countdown":
            self.go_s = event.t_ns / 1e9 + LOS.countdown_s
        if event.kind == "state" and event.data["state"] == "done":
            self.go_s = None

    def __call__(self, t_s: float) -> Load:
        if t_s < 1.0:
            return Load(0.0)
        ap, ml = sway(t_s, 0.15)
        fz = WEIGHT_N
        if self.go_s is not None:
            since = t_s - self.go_s
            if self.lean:
                u = np.clip((since - self.start_after_go_s) / 1.5, 0.0, 1.0)
                ap += _lean_angle_cm(self.lean_deg) * float(u * u * u * (10 - 15 * u + 6 * u * u))
            if self.step_at_s is not None and since >= self.step_at_s:
                ml += 6.0  # a foot put down to the side: the COP jumps
            if self.unload_at_s is not None and since >= self.unload_at_s:
                fz = 0.5 * WEIGHT_N
        return Load(fz, ap, ml)


def _run_one(leaner: ScriptedLeaner, direction: str = "f", max_attempts: int = 1):
    protocol = replace(LOS, conditions=(LOS.condition(direction),), max_attempts=max_attempts, rest_s=0.0)
    runner = ProtocolRunner(protocol, ScriptedSource(leaner), los=LosSettings(HEIGHT_CM), order_seed=0)
    runner.bus.subscribe(leaner.on_event)
    gos = []
    runner.bus.subscribe(lambda e: gos.append(e.data) if e.kind == "go" else None)
    summary = runner.run(max_s=200)
    return summary, runner, gos


def test_a_clean_scripted_lean_is_measured_with_the_known_answers():
    summary, runner, gos = _run_one(ScriptedLeaner(lean_deg=6.0, start_after_go_s=0.5))
    (record,) = runner.records
    r = record.result
    assert r.valid and r.completed
    los = r.metrics["los"]
    assert los["direction"] == "f" and los["go_s"] == 0.0 and los["quality"] == []
    m = r.metrics["metrics"]
    assert set(m) == {f"{k}_f" for k in ("los_reaction_time_s", "los_movement_velocity_deg_s", "los_endpoint_excursion_pct",
                                          "los_max_excursion_pct", "los_directional_control_pct")}
    assert m["los_max_excursion_pct_f"] == pytest.approx(75.0, abs=3.0)  # 6 of 8 degrees, plus the sway
    assert 0.45 <= m["los_reaction_time_s_f"] <= 0.75
    assert m["los_directional_control_pct_f"] > 80
    assert len(gos) == 1 and gos[0]["direction"] == "f" and gos[0]["target_cm"] == {"ap_cm": 13.21, "ml_cm": 0.0}
    assert gos[0]["distance_cm"] == pytest.approx(target_distance_cm(HEIGHT_CM)["f"], abs=0.01)
    # the ready phase is recorded before the go (time_s < 0 in the trial), for the start position
    assert r.samples >= (LOS.los.ready_s + LOS.duration_s) * 100 - 2
    keys = summary["limits_of_stability"]["metrics"]
    assert list(keys) == list(LOS_KEYS)
    assert keys["los_max_excursion_pct"] == keys["los_max_excursion_pct_f"]
    assert summary["limits_of_stability"]["directions"]["f"]["quality_words"] == "valid"


@pytest.mark.parametrize("leaner, code, words", [
    (ScriptedLeaner(step_at_s=3.0), "stepping", "stepped or lifted a foot — repeat"),
    (ScriptedLeaner(start_after_go_s=-0.7), "moved_before_go", "moved before the go signal — repeat"),
    (ScriptedLeaner(lean=False), "no_movement", "did not lean toward the target — repeat"),
])
def test_each_quality_check_makes_the_lean_invalid_and_offers_it_again(leaner, code, words):
    summary, runner, _ = _run_one(leaner, max_attempts=2)
    first, second = (rec.result for rec in runner.records)
    assert not first.valid and code in [i.code for i in first.issues]
    assert first.plan.attempt == 1 and second.plan.attempt == 2 and second.plan.condition.id == "f"
    info = summary["limits_of_stability"]["directions"]["f"]
    assert info["attempts"] == 2 and info["valid"] is False and words in info["quality_words"]
    assert summary["limits_of_stability"]["metrics"]["los_max_excursion_pct_f"] is None


def test_load_off_the_plate_makes_the_lean_invalid():
    _, runner, _ = _run_one(ScriptedLeaner(unload_at_s=3.0))
    (record,) = runner.records
    codes = [i.code for i in record.result.issues]
    assert not record.result.valid and ("load_off_plate" in codes or "unloaded" in codes)
    assert record.result.metrics["los"]["quality"]  # the analysis saw it too


# ------------------------------------------------------------------------------------------------
# The whole test, performed by the virtual person on the simulated station


def test_the_virtual_person_performs_the_whole_test_on_the_simulated_station(tmp_path):
    from station.protocols.sinks import FileSink
    from station.sim.person import VirtualPerson
    from station.sim.station import SimulatedStation
    from station.sim.virtual_patient import VirtualPatient
    from station.store.trialfile import read_trial

    from .test_end_to_end import factory_calibration

    # four of the eight targets (the trial command's test below runs all eight)
    protocol = replace(LOS, conditions=tuple(LOS.condition(d) for d in ("f", "br", "b", "l")))
    person = VirtualPerson(seed=2, on_plate=False, height_cm=HEIGHT_CM)
    station = SimulatedStation(None, person, seed=2, calibration=factory_calibration(2))
    runner = ProtocolRunner(protocol, station, sink=FileSink(tmp_path), los=LosSettings(HEIGHT_CM), order_seed=5)
    VirtualPatient(person, time_origin_ns=station.simulation.plate.t0_ns).attach(runner)
    gos = []
    runner.bus.subscribe(lambda e: gos.append(e.data["direction"]) if e.kind == "go" else None)
    summary = runner.run(max_s=600)

    assert gos == [p.condition.id for p in plan_trials(protocol, seed=5)]
    assert all(rec.result.valid for rec in runner.records) and len(runner.records) == 4
    los = summary["limits_of_stability"]
    m = los["metrics"]
    assert list(m) == list(LOS_KEYS) and m["los_max_excursion_pct_fr"] is None
    for d in ("f", "br", "b", "l"):
        # within the person's own limits (70-90 % of the theoretical), never beyond 100 %
        assert 40.0 < m[f"los_max_excursion_pct_{d}"] < 100.0
        # (a slow lean's onset threshold is low enough that sway before it can cross it: an
        # occasional short reaction time, never an anticipation, which would be invalid)
        assert 0.1 <= m[f"los_reaction_time_s_{d}"] < 1.5
    assert 0.4 < m["los_reaction_time_s"] < 1.2 and m["los_directional_control_pct"] > 80
    # the stored trial: the COP trace from the ready phase on, the go at time 0
    stored = read_trial(runner.records[0].stored["csv"])
    assert stored.time_s[0] == pytest.approx(-LOS.los.ready_s, abs=0.011)


def test_the_trial_command_writes_the_keys(tmp_path, capsys):
    import json

    from station.cli import main

    out = tmp_path / "los"
    code = main(["trial", "--protocol", "limits-of-stability", "--simulate", "--seed", "3", "--out", str(out), "--quiet"])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    metrics = results["limits_of_stability"]["metrics"]
    assert list(metrics) == list(LOS_KEYS) and metrics["los_max_excursion_pct"] < 100
    printed = capsys.readouterr().out
    assert "Maximum excursion" in printed and "forward-left" in printed
    assert len(list(out.glob("*-limits-of-stability-*.csv"))) >= 8


def test_the_trial_command_says_what_is_wrong_with_a_height(capsys):
    from station.cli import main

    assert main(["trial", "--protocol", "limits-of-stability", "--simulate", "--height-cm", "20", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "height_cm must be between 50 and 250 cm" in err and "Traceback" not in err and err.count("\n") == 1
