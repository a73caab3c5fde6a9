"""The protocol runner on synthesised frames: order, repeats by the protocol's rules, rests,
requests from other threads, storage of every trial, and what it refuses."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from station.protocols.loader import builtin_protocols
from station.protocols.runner import ProtocolRunner, plan_trials
from station.protocols.sinks import FileSink
from station.store.trialfile import read_trial
from .synth import Load, ScriptedSource, fake_analyse, sway


def steady(weight_n=700.0, on_at_s=1.0, steps_at=()):
    """Quiet stance; a COP jump of 8 cm (a step) for 1 s at each time in ``steps_at``."""

    def script(t_s):
        if t_s < on_at_s:
            return Load(0.0)
        ap, ml = sway(t_s)
        for t in steps_at:
            if t <= t_s < t + 1.0:
                ml += 8.0
        return Load(weight_n, ap, ml)

    return script


def finished(runner):
    return [(r.result.plan.condition.id, r.result.plan.trial, r.result.plan.attempt, r.result.valid,
             r.result.completed) for r in runner.records]


def test_plans_follow_the_protocol_order():
    single = builtin_protocols()["single-leg"]
    assert [(p.condition.id, p.trial) for p in plan_trials(single)] == [
        ("left", 1), ("right", 1), ("left", 2), ("right", 2), ("left", 3), ("right", 3)]
    mctsib = builtin_protocols()["mctsib"]
    assert [p.condition.id for p in plan_trials(mctsib)] == ["firm_eo", "firm_ec", "foam_eo", "foam_ec"]


def test_an_invalid_trial_is_kept_labelled_and_offered_again_up_to_max_attempts():
    p = replace(builtin_protocols()["quiet-stance"], rest_s=0.0)
    # every trial has a step 12 s into its recording: the first starts at 6 s, then ~15 s apart
    source = ScriptedSource(steady(steps_at=(18.0, 34.2, 50.4, 66.6)))
    runner = ProtocolRunner(p, source, analyse=fake_analyse)
    events = []
    runner.bus.subscribe(events.append)
    summary = runner.run(max_s=300)
    results = [r.result for r in runner.records]
    assert [(r.plan.attempt, r.valid) for r in results] == [(1, False), (2, False), (3, False)]
    assert all(r.issues[0].code == "step" for r in results)
    ready = [e.data for e in events if e.kind == "trial_ready"]
    assert [d["attempt"] for d in ready] == [1, 2, 3]
    assert ready[1]["repeat"] and ready[1]["reason"].startswith("previous attempt invalid: The centre of pressure jumped")
    assert summary["valid_trial_count"] == 0
    assert summary["conditions"][0]["invalid"][0]["reasons"][0].startswith("The centre of pressure jumped")


def test_not_completed_holds_are_repeated_only_where_the_protocol_says():
    p = replace(builtin_protocols()["mctsib"], rest_s=0.0, conditions=builtin_protocols()["mctsib"].conditions[:1])
    runner = ProtocolRunner(p, ScriptedSource(steady(steps_at=(18.0,))), analyse=fake_analyse)
    summary = runner.run(max_s=300)
    assert finished(runner) == [("firm_eo", 1, 1, True, False), ("firm_eo", 1, 2, True, True)]
    condition = summary["conditions"][0]
    assert condition["time_held_s"] == [pytest.approx(12.0, abs=0.05), 30.0]
    assert condition["values"]["time_held_s"] == pytest.approx(21.0, abs=0.03)  # mCTSIB: mean of the attempts
    assert summary["cutoffs"][0]["flagged"] is True

    single = builtin_protocols()["single-leg"]
    assert "not_completed" not in single.repeat_when  # a single-leg trial that ends early is simply a result


def test_rest_between_trials_is_waited_out_on_the_station_clock():
    p = replace(builtin_protocols()["romberg"], rest_s=10.0)
    runner = ProtocolRunner(p, ScriptedSource(steady()), analyse=fake_analyse)
    events = []
    runner.bus.subscribe(events.append)
    runner.run(max_s=300)
    finished_at = [e.t_ns for e in events if e.kind == "trial_finished"]
    waiting = [e.t_ns for e in events if e.kind == "state" and e.data["state"] == "waiting"]
    assert waiting[1] - finished_at[0] >= 10e9
    assert [e.data["rest_s"] for e in events if e.kind == "rest"] == [10.0]


def test_requests_from_other_threads_start_stop_repeat_and_skip():
    p = replace(builtin_protocols()["romberg"], rest_s=0.0)
    source = ScriptedSource(steady())
    runner = ProtocolRunner(p, source, analyse=fake_analyse)
    runner.begin()
    for _ in range(20):
        runner.step()
    assert runner.machine.state.value == "instructions"  # nothing starts until asked
    runner.request_start()
    while runner.machine.state.value != "recording":
        runner.step()
    runner.request_stop()  # operator stop while recording: invalid, offered again
    runner.step()
    assert finished(runner) == [("eo", 1, 1, False, False)]
    assert runner.records[0].result.issues[0].code == "operator_stop"
    assert runner.due[0].attempt == 2
    runner.request_skip()  # the clinician does not want the repeat
    runner.step()
    assert runner.due[0].condition.id == "ec"
    runner.request_repeat()  # ... then changes their mind: the last trial again
    runner.step()
    assert (runner.due[0].condition.id, runner.due[0].attempt) == ("eo", 2)
    runner.press()  # the panel button starts it
    runner.step()
    assert runner.machine.state.value == "waiting"
    runner.press()  # ... and stops it before recording: aborted, due again, nothing stored
    runner.step()
    assert runner.machine.state.value == "instructions" and len(runner.records) == 1
    status = runner.status()
    assert status["state"] == "instructions" and status["due"][0]["attempt"] == 2
    json.dumps(status)


def test_the_plate_down_refuses_to_start():
    p = builtin_protocols()["quiet-stance"]
    runner = ProtocolRunner(p, ScriptedSource(steady(), health_state="down"), analyse=fake_analyse)
    events = []
    runner.bus.subscribe(events.append)
    summary = runner.run(max_s=60)
    assert runner.records == []
    # the reason names what is down (the plate here; the measuring program in other faults), not always "the plate"
    assert "The station cannot measure now (no load cell answers); the trial cannot start." in summary["stopped_reason"]
    assert [e.kind for e in events].count("fault") == 1


def test_nobody_on_the_plate_ends_an_unattended_run():
    p = replace(builtin_protocols()["quiet-stance"], quality=builtin_protocols()["quiet-stance"].quality.replace({"waiting_timeout_s": 15.0}))
    runner = ProtocolRunner(p, ScriptedSource(lambda t: Load(0.0)), analyse=fake_analyse)
    summary = runner.run(max_s=60)
    assert "Nobody stood still on the plate within 15 s" in summary["stopped_reason"]


def test_every_trial_is_stored_as_csv_and_sidecar(tmp_path):
    p = replace(builtin_protocols()["quiet-stance"], rest_s=0.0)
    source = ScriptedSource(steady(steps_at=(18.0,)))
    runner = ProtocolRunner(p, source, sink=FileSink(tmp_path, {"source": {"kind": "test"}}), analyse=fake_analyse)
    summary = runner.run(max_s=300)
    files = sorted(tmp_path.glob("*.csv"))
    assert [f.name for f in files] == ["01-quiet-stance-eo-t1-a1.csv", "02-quiet-stance-eo-t1-a2.csv"]
    invalid = read_trial(files[0], allow_nan=True)
    assert invalid.metadata["result"]["valid"] is False
    assert invalid.metadata["result"]["issues"][0]["code"] == "step"
    assert invalid.metadata["condition"]["id"] == "eo" and invalid.metadata["source"] == {"kind": "test"}
    valid = read_trial(files[1])
    assert valid.samples == 3000 and valid.fs_hz == pytest.approx(100.0)
    assert valid.time_s[0] == pytest.approx(0.0) and valid.corners_n is not None
    assert np.allclose(valid.fz_n, 700.0)
    assert summary["trials"][1]["stored"]["csv"] == str(files[1])


def test_cancel_ends_the_protocol_and_keeps_the_stopped_trial(tmp_path):
    p = replace(builtin_protocols()["mctsib"], rest_s=0.0)
    runner = ProtocolRunner(p, ScriptedSource(steady()), sink=FileSink(tmp_path), analyse=fake_analyse)
    runner.begin()
    runner.request_start()
    while runner.machine.state.value != "recording":
        runner.step()
    for _ in range(20):
        runner.step()
    runner.request_cancel()
    summary = runner.run(auto=False)  # returns at once: the protocol is over
    assert runner.finished and summary["stopped_reason"] == "Cancelled by the clinician."
    assert finished(runner) == [("firm_eo", 1, 1, False, False)]
    assert len(list(tmp_path.glob("*.csv"))) == 1


def test_a_single_leg_trial_the_patient_cannot_lift_a_foot_for_is_a_result_not_a_repeat():
    """Single-leg stance with a patient who never lifts a foot (R1 item 1: each of the 6 trials was
    offered again as "previous attempt invalid", 18 Start presses). Springer et al. 2007 score the
    best of 3 trials per leg: an unable trial is one of those 3, so the next trial of the side is due,
    never a repeat of it (6 trials, not 18)."""
    p = replace(builtin_protocols()["single-leg"], rest_s=0.0)
    runner = ProtocolRunner(p, ScriptedSource(steady()), analyse=fake_analyse)
    events = []
    runner.bus.subscribe(events.append)
    runner.run(max_s=600)
    assert [(c, t, a) for c, t, a, *_ in finished(runner)] == [
        ("left", 1, 1), ("right", 1, 1), ("left", 2, 1), ("right", 2, 1), ("left", 3, 1), ("right", 3, 1)]
    assert all(r.result.unable and r.result.issues[0].code == "no_liftoff" for r in runner.records)
    ready = [e.data for e in events if e.kind == "trial_ready"]
    assert not any(d["repeat"] or d["reason"] for d in ready)


def test_the_clinician_scores_the_rest_of_a_side_unable_without_start(tmp_path):
    """Once a side was measured unable, the clinician scores its remaining trials unable in one step:
    each is stored (the sink gets it) with the issue scored_unable naming the clinician, a
    trial_finished each and one scored_unable event; the other side is due next. Not offered before
    the side was tried, nor for a stance that is not single-leg."""
    p = replace(builtin_protocols()["single-leg"], rest_s=0.0)
    sink = FileSink(tmp_path)
    runner = ProtocolRunner(p, ScriptedSource(steady()), analyse=fake_analyse, sink=sink)
    events = []
    runner.bus.subscribe(events.append)
    runner.begin()
    assert runner.score_unable_offer() is None  # nothing tried yet
    runner.request_score_unable("physio.anna")
    runner.step()
    assert runner.records == []
    runner.request_start()
    while len(runner.records) < 1:
        runner.step()
    assert runner.records[0].result.unable
    # the right leg is due (alternating): it was not tried, so nothing is offered for it
    assert runner.due[0].condition.id == "right" and runner.score_unable_offer() is None
    runner.request_start()
    while len(runner.records) < 2:
        runner.step()
    assert runner.due[0].condition.id == "left"
    assert runner.score_unable_offer() == {"condition": "left", "label": "Standing on the left leg", "trials": 2}
    assert runner.status()["score_unable"]["trials"] == 2
    runner.request_score_unable("physio.anna")
    runner.step()
    scored = [r.result for r in runner.records[2:]]
    assert [(r.plan.condition.id, r.plan.trial, r.plan.attempt) for r in scored] == [("left", 2, 1), ("left", 3, 1)]
    assert all(r.unable and [i.code for i in r.issues] == ["scored_unable"] for r in scored)
    assert "Scored unable by the clinician (physio.anna), not measured" in scored[0].issues[0].message
    assert all(r.stored.get("csv") for r in runner.records[2:])
    sidecar = json.loads(open(runner.records[3].stored["json"]).read())
    assert sidecar["result"]["issues"][0]["code"] == "scored_unable"
    assert [e.data["trials"] for e in events if e.kind == "scored_unable"] == [2]
    assert [e.data["result"]["issues"][0]["code"] for e in events if e.kind == "trial_finished"][-2:] == ["scored_unable"] * 2
    assert [(d.condition.id, d.trial) for d in runner.due] == [("right", 2), ("right", 3)]
    assert runner.machine is not None and runner.machine.plan.condition.id == "right"

    romberg = ProtocolRunner(replace(builtin_protocols()["romberg"], rest_s=0.0), ScriptedSource(steady()), analyse=fake_analyse)
    romberg.begin()
    assert romberg.score_unable_offer() is None


def test_trial_ready_says_how_many_trials_the_condition_has_and_which_counts():
    """The live page's "Next: Standing on the left leg, trial 2 of 3 (best counts)" (before: "trial 2",
    with nothing saying of how many nor that the best of them is the score)."""
    p = replace(builtin_protocols()["single-leg"], rest_s=0.0)
    runner = ProtocolRunner(p, ScriptedSource(steady()), analyse=fake_analyse)
    events = []
    runner.bus.subscribe(events.append)
    runner.run(max_s=600)
    ready = [e.data for e in events if e.kind == "trial_ready"]
    assert [(d["condition"], d["trial"], d["condition_trials"], d["score"]) for d in ready] == [
        (c, t, 3, "best") for t in (1, 2, 3) for c in ("left", "right")]
    once = ProtocolRunner(replace(builtin_protocols()["tandem"], rest_s=0.0), ScriptedSource(steady()), analyse=fake_analyse)
    seen = []
    once.bus.subscribe(seen.append)
    once.begin()
    assert [(e.data["condition_trials"], e.data["score"]) for e in seen if e.kind == "trial_ready"] == [(1, "best")]
