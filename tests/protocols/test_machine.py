"""The trial state machine on synthesised frames: states, timing from frame timestamps, every
quality check provoked, timed holds and single-leg stance."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from station.acquire.frame import FrameFlag
from station.protocols.events import EventBus
from station.protocols.loader import builtin_protocols
from station.protocols.machine import TrialMachine, TrialPlan, TrialState
from .synth import Load, ScriptedSource, fake_analyse, sway

ON_S = 1.0  # the person steps on
COUNTDOWN_S = ON_S + 2.0  # stable for 2 s
START_S = COUNTDOWN_S + 3.0  # after the 3-2-1 countdown: recording starts (t0)


def person(weight_n=700.0, on_at_s=ON_S, events=()):
    """Quiet stance from ``on_at_s``; ``events``: functions (t_s, Load) -> Load applied in turn."""

    def script(t_s):
        if t_s < on_at_s:
            return Load(0.0)
        ap, ml = sway(t_s)
        load = Load(weight_n, ap, ml)
        for change in events:
            load = change(t_s, load)
        return load

    return script


def between(t0, t1, **changes):
    def change(t_s, load):
        if t0 <= t_s < t1:
            for key, value in changes.items():
                setattr(load, key, value(load) if callable(value) else value)
        return load

    return change


def run(script, protocol="quiet-stance", condition=0, *, body_weight_n=None, read_s=0.05, max_s=120.0,
        settings=None, source=None, stop_at_s=None, end_hold_at_s=None, end_hold_reason=("the patient uncrossed the arms",),
        shutdown=False):
    p = builtin_protocols()[protocol]
    if settings:
        p = replace(p, quality=p.quality.replace(settings))
    src = source or ScriptedSource(script)
    bus = EventBus(src.clock)
    events = []
    bus.subscribe(events.append)
    m = TrialMachine(TrialPlan(p, p.conditions[condition]), rate_hz=src.rate_hz, bus=bus, analyse=fake_analyse,
                     body_weight_n=body_weight_n)
    m.open(0)
    m.confirm(0)
    while not m.finished and src.clock.monotonic_ns() < max_s * 1e9:
        block = src.read_frames(read_s)
        now = src.clock.monotonic_ns()
        m.feed(block.frames, block.missed, now)
        if stop_at_s is not None and now >= stop_at_s * 1e9 and not m.finished:
            m.stop(now, shutdown=shutdown)
        if end_hold_at_s is not None and now >= end_hold_at_s * 1e9 and not m.finished:
            m.end_hold(now, *end_hold_reason)
    return m, events


def states(events):
    return [e.data["state"] for e in events if e.kind == "state"]


def issue_codes(m):
    return [i.code for i in m.result.issues]


def test_a_good_trial_goes_through_every_state_and_records_exactly_the_duration():
    m, events = run(person())
    assert states(events) == ["instructions", "waiting", "countdown", "recording", "checking", "done"]
    r = m.result
    assert r.valid and r.completed and r.end_reason == "duration"
    assert m.start_ns == int(START_S * 1e9)
    assert r.samples == 3000 and r.recorded_s == pytest.approx(30.0)
    assert r.body_weight_n == pytest.approx(700.0)
    assert r.metrics["samples"] == 3000 and r.metrics["first_t_ns"] == int(START_S * 1e9)
    countdown = [(e.t_ns, e.data["remaining_s"]) for e in events if e.kind == "countdown"]
    assert [c[1] for c in countdown] == [3, 2, 1]
    progress = [e.data["elapsed_s"] for e in events if e.kind == "progress"]
    assert progress == list(range(1, 30))
    kinds = [e.kind for e in events]
    assert kinds.index("trial_finished") < len(kinds) - 1 and kinds[-1] == "state"


def test_timing_comes_from_frame_timestamps_not_from_how_frames_are_batched():
    small, _ = run(person(events=[between(18.0, 99, fz_n=0.0)]), protocol="mctsib", read_s=0.01)
    large, _ = run(person(events=[between(18.0, 99, fz_n=0.0)]), protocol="mctsib", read_s=0.7)
    assert small.start_ns == large.start_ns == int(START_S * 1e9)
    assert small.result.time_held_s == large.result.time_held_s == pytest.approx(12.0, abs=0.011)


def test_waits_until_the_load_is_stable_for_two_seconds():
    # the patient shifts about (load varying by ±20 %) until 10 s, then stands still
    def shifting(t_s, load):
        if t_s < 10.0:
            load.fz_n *= 1 + 0.2 * math.sin(2 * math.pi * 1.5 * t_s)
        return load

    m, events = run(person(events=[shifting]))
    countdown_ns = next(e.t_ns for e in events if e.kind == "state" and e.data["state"] == "countdown")
    # stable (within ±5 % of body weight) for 2 s: from the last swing of the shifting, just before 10 s
    assert 11.8e9 <= countdown_ns <= 12.05e9
    assert m.start_ns == countdown_ns + 3_000_000_000


def test_known_body_weight_must_match_and_waiting_gives_up():
    m, events = run(person(weight_n=700.0), body_weight_n=900.0, settings={"waiting_timeout_s": 20.0})
    assert m.state == TrialState.ABORTED
    assert "within 20 s" in m.abort_reason and m.result is None
    assert states(events)[-1] == "aborted"


def test_moving_during_the_countdown_goes_back_to_waiting():
    m, events = run(person(events=[between(4.0, 4.5, fz_n=0.0)]))
    assert states(events)[:5] == ["instructions", "waiting", "countdown", "waiting", "countdown"]
    assert m.result.valid and m.start_ns >= int((4.5 + 5.0) * 1e9)


@pytest.mark.parametrize(
    "change, code, words",
    [
        (between(18.0, 99, fz_n=0.0), "stepped_off", "stepped off the plate after 12.0 s of 30 s"),
        (between(18.0, 19.0, fz_n=300.0), "unloaded", "fell to 43 % of body weight"),
        (between(18.0, 18.4, fz_n=1050.0), "overloaded", "jumped to 150 % of body weight"),
        (between(18.0, 99, ml_cm=lambda load: load.ml_cm + 8.0), "step", "centre of pressure jumped"),
    ],
)
def test_a_step_or_fall_makes_a_sway_trial_invalid_and_stops_it(change, code, words):
    m, _ = run(person(events=[change]))
    r = m.result
    assert not r.valid and r.end_reason == "invalid"
    assert issue_codes(m) == [code]
    issue = r.issues[0]
    assert words in issue.message and issue.at_s == pytest.approx(12.0, abs=0.05)
    assert r.recorded_s < 13.5  # stopped soon after, not recorded to the end
    assert r.metrics is None and "Invalid" in r.metrics_note


@pytest.mark.parametrize(
    "flag, code, words",
    [
        (int(FrameFlag.FAULT_FL | FrameFlag.INVALID), "sensor_fault", "front-left load cell stopped answering"),
        (int(FrameFlag.SATURATED | FrameFlag.INVALID), "saturated", "end of its range"),
    ],
)
def test_a_sensor_fault_stops_the_trial_at_once(flag, code, words):
    m, events = run(person(events=[between(20.0, 99, flags=flag)]))
    assert issue_codes(m) == [code]
    assert words in m.result.issues[0].message
    assert m.result.issues[0].at_s == pytest.approx(14.0, abs=0.011)
    assert m.result.recorded_s == pytest.approx(14.01, abs=0.02)


def test_a_sensor_fault_while_waiting_keeps_the_trial_from_starting():
    m, _ = run(person(events=[between(0, 8.0, flags=int(FrameFlag.FAULT_BR | FrameFlag.INVALID))]))
    assert m.start_ns >= int((8.0 + 5.0) * 1e9)


def test_too_many_lost_frames():
    m, _ = run(person(events=[between(START_S, 99, send=lambda load: int(load.ap_cm * 1e6) % 17 != 0)]))
    assert "lost_frames" in issue_codes(m)
    assert "Too many readings were lost" in m.result.issues[0].message
    assert m.result.lost_frames > 0.02 * 3000


def test_a_long_gap_in_the_recording():
    m, _ = run(person(events=[between(20.0, 20.5, send=False)]))
    assert issue_codes(m) == ["gap"]
    assert "gap of 0.50 s" in m.result.issues[0].message and m.result.lost_frames == 50


def test_a_few_lost_frames_are_fine():
    m, _ = run(person(events=[between(20.0, 20.05, send=False)]))
    assert m.result.valid and m.result.lost_frames == 5


def test_too_little_load_for_a_reliable_cop():
    light = between(START_S, 99, fz_n=lambda load: 230.0 + 45.0 * math.sin(load.ap_cm * 20))
    m, _ = run(person(weight_n=230.0, events=[light]))
    assert issue_codes(m) == ["low_load"]
    assert "Too little load" in m.result.issues[0].message


def test_the_plate_going_silent_is_no_data():
    src = ScriptedSource(person())
    src.silent_after_s = 20.0
    m, _ = run(None, source=src)
    assert issue_codes(m) == ["no_data"]
    assert "stopped sending data" in m.result.issues[0].message


def test_operator_stop_while_recording_is_an_invalid_trial():
    m, events = run(person(), stop_at_s=16.0)
    assert issue_codes(m) == ["operator_stop"]
    assert m.result.issues[0].message == "Stopped by the operator after 10.0 s."


def test_a_stop_by_the_stations_shutdown_says_so_not_the_operator():
    m, _ = run(person(), stop_at_s=16.0, shutdown=True)
    assert issue_codes(m) == ["station_shutdown"] and not m.result.valid
    assert m.result.issues[0].message == "Ended after 10.0 s: the station was shut down."
    m, _ = run(person(), stop_at_s=4.0, shutdown=True)
    assert m.state == TrialState.ABORTED and m.abort_reason == "Ended before recording: the station was shut down."


def test_operator_stop_before_recording_aborts_without_a_result():
    m, events = run(person(), stop_at_s=4.0)
    assert m.state == TrialState.ABORTED and m.result is None
    assert "before recording" in m.abort_reason


def test_timed_hold_ends_at_loss_of_balance_and_stays_valid():
    m, events = run(person(events=[between(18.0, 99, ml_cm=lambda load: load.ml_cm + 8.0)]), protocol="mctsib")
    r = m.result
    assert r.valid and not r.completed and r.end_reason == "balance_lost"
    assert r.time_held_s == pytest.approx(12.0, abs=0.03)
    assert r.hold_end.code == "step"
    assert r.metrics["samples"] == pytest.approx(1200, abs=3)  # sway of the held part only
    assert any(e.kind == "hold_ended" for e in events)


def test_timed_hold_held_to_the_end():
    m, _ = run(person(), protocol="tandem")
    assert m.result.valid and m.result.completed and m.result.time_held_s == pytest.approx(30.0)


def test_clinician_ends_a_hold():
    m, _ = run(person(), protocol="mctsib", end_hold_at_s=20.0)
    r = m.result
    assert r.valid and r.end_reason == "operator_ended" and r.time_held_s == pytest.approx(14.0, abs=0.06)
    assert r.hold_end.message == "The patient lost the test position after 14.0 s (the patient uncrossed the arms)."


def test_position_lost_button_says_the_patient_lost_the_position():
    """The tablet's "Position lost" (no reason given): stored words must not read as if the
    clinician had stopped the test."""
    m, _ = run(person(), protocol="mctsib", end_hold_at_s=20.0, end_hold_reason=())
    message = m.result.hold_end.message
    assert message == 'The patient lost the test position after 14.0 s (the clinician pressed "Position lost").'
    assert "ended by the clinician" not in message


def test_stepping_off_in_a_timed_hold_is_named_so():
    m, _ = run(person(events=[between(18.0, 99, fz_n=0.0)]), protocol="mctsib")
    assert m.result.valid and m.result.hold_end.code == "stepped_off"
    assert m.result.hold_end.message == "The patient stepped off the plate after 12.0 s of 30 s."


def _smooth(u):
    u = min(max(u, 0.0), 1.0)
    return u * u * (3 - 2 * u)


def one_leg(lift_at_s, touch_at_s=None, side=-1, weight_n=700.0):
    def script(t_s):
        if t_s < ON_S:
            return Load(0.0)
        ap, ml = sway(t_s)
        shift = side * 10.0 * _smooth((t_s - lift_at_s) / 1.0)
        if touch_at_s is not None and t_s >= touch_at_s:
            shift = side * 10.0 * (1 - _smooth((t_s - touch_at_s) / 0.3))
        return Load(weight_n, ap, ml + shift)

    return script


def test_single_leg_time_runs_from_lift_off_to_touch_down():
    lift, touch = START_S + 0.5, START_S + 9.5
    m, events = run(one_leg(lift, touch), protocol="single-leg", condition=0)
    r = m.result
    assert r.valid and not r.completed and r.hold_end.code == "touchdown"
    # the foot is up once the weight is over the stance foot, ~0.75 s into the 1 s transfer
    assert r.liftoff_s == pytest.approx(1.25, abs=0.25)
    assert r.time_held_s == pytest.approx(touch - lift - 0.75, abs=0.3)
    assert [e.kind for e in events].count("liftoff") == 1


def test_single_leg_held_for_the_full_time_counts_from_lift_off():
    lift = START_S + 0.5
    m, _ = run(one_leg(lift, side=+1), protocol="single-leg", condition=1)
    r = m.result
    assert r.valid and r.completed and r.time_held_s == pytest.approx(30.0)
    assert r.analysis_start_s == pytest.approx(r.liftoff_s)
    assert r.recorded_s == pytest.approx(r.liftoff_s + 30.0, abs=0.02)


def test_single_leg_on_the_wrong_leg_or_never_lifting_is_invalid():
    m, _ = run(one_leg(START_S + 0.5, side=+1), protocol="single-leg", condition=0)  # asked: left leg
    assert issue_codes(m) == ["no_liftoff"]
    assert "did not lift a foot within 5 s" in m.result.issues[0].message


def test_single_leg_sway_does_not_look_like_a_touch_down():
    lift = START_S + 0.5

    def wide_sway(t_s):
        load = one_leg(lift)(t_s)
        if t_s > lift + 2:
            load.ml_cm += 3.5 * math.sin(2 * math.pi * 0.7 * t_s)  # ±3.5 cm around the stance foot
        return load

    m, _ = run(wide_sway, protocol="single-leg", condition=0)
    assert m.result.valid and m.result.completed


def test_uncalibrated_plate_is_a_warning_not_a_fault():
    m, _ = run(person(events=[between(0, 99, flags=int(FrameFlag.UNCALIBRATED))]))
    assert m.result.valid and "not calibrated" in m.result.warnings[0]
    # a physiotherapist reads it on the results: who to ask, not a command to run
    assert "ask whoever looks after the station to calibrate it" in m.result.warnings[0]
    assert "balance-station" not in m.result.warnings[0]


def test_real_sway_metrics_of_a_trial():
    from station.protocols.results import trial_metrics

    p = builtin_protocols()["quiet-stance"]
    src = ScriptedSource(person())
    bus = EventBus(src.clock)
    m = TrialMachine(TrialPlan(p, p.conditions[0]), rate_hz=100.0, bus=bus, analyse=trial_metrics)
    m.open(0)
    m.confirm(0)
    while not m.finished:
        block = src.read_frames(0.05)
        m.feed(block.frames, block.missed, src.clock.monotonic_ns())
    doc = m.result.metrics
    assert doc["profile"] == "station" and doc["samples"] == 3000 and doc["fs_hz"] == 100.0
    assert doc["metrics"]["weight_left_pct"] == pytest.approx(50.0, abs=1.0)
    assert 0.1 < doc["metrics"]["mean_velocity_cm_s"] < 5
    ap = m.recorded["ap_cm"]
    assert doc["metrics"]["rms_ap_cm"] == pytest.approx(np.std(ap), rel=0.1)
