"""Overground walk tests when the station's acquisition stalls (station/sim/faults.py runs the real
acquisition loop's recovery): the light gates, on their own edge timestamps, still time the walk;
the gait is measured in the parts either side of the lost time, which the warning names
(test_walk_overground_parts.py); a gate crossed during the stall is
timed from its edge, and the settling time after the last gate does not wait on a silent source; a
real loss (longer than STALL_LIMIT_S, or an acquisition restart) keeps a walk already timed and
ends one not timed as invalid, as before. The same rule ends a treadmill session whose planned end
passes in a stall."""

from __future__ import annotations

import pytest

from station.protocols.walk import SETTLE_S, STALL_LIMIT_S
from station.sim.faults import StationFault

from tests.protocols.walk_support import go_s, restart_after, run_walk, write_builtin_once


def _ten_metre(*faults, on_runner=None):
    return run_walk("ten-metre-walk", seed=1, trials=1, faults=faults, on_runner=on_runner)


def _truth_time_s(run, index: int = 0) -> float:
    """The walker's true time between the beams at 2 m and 8 m (the 10-metre walk's timing)."""
    _, plan = run.patient.walks[index]
    return plan.gate_time_s(8.0) - plan.gate_time_s(2.0)


def _notices(run) -> list[str]:
    return [e.data["message"] for e in run.events if e.kind == "notice"]


def test_a_ten_metre_walk_stays_timed_by_its_gates_through_a_stall_and_says_the_lost_time():
    run = _ten_metre(StationFault("stall", 3.0, 1.5))
    assert [what for _, what in run.source.happened] == ["stall"]
    result = run.runner.records[0].result
    assert result.valid and result.end_reason == "gate_reached", [i.message for i in result.issues]
    walk = result.walk
    assert walk["walk_time_s"] == pytest.approx(_truth_time_s(run), abs=1e-3)  # the gates' own timestamps
    assert walk["walk_speed_m_s"] == pytest.approx(6.0 / walk["walk_time_s"], rel=1e-3)
    # the gait is measured in the parts either side of the stall, never over it; the lost time is said
    # as the treadmill says it (tests/protocols/test_walk_overground_parts.py; was: no gait measures)
    assert walk["imu"] is None and walk["imu_stalls"] == 1 and len(walk["imu_parts"]) == 2
    assert result.metrics["metrics"]["cadence_steps_min"] > 0
    assert result.warnings == [walk["imu_gaps"]["words"]]  # said once (no second 'frames were lost')
    assert walk["imu_gaps"]["words"].startswith(f"{walk['imu_not_measured_s']:g} s not measured (1 station stall)")
    assert walk["imu_gaps"]["words"].endswith("The time and speed come from the light gates and are valid.")
    assert 140 <= result.lost_frames <= 160
    # said live: waiting (the gates still time the walk), then the data back
    assert _notices(run) == [
        f"The station has measured nothing for 1 s: its measuring program is held up. Waiting up to {STALL_LIMIT_S:g} s "
        "for readings; the light gates still time the walk.",
        "Measuring again: 1.49 s not measured (1 station stall); the light gates still time the walk."]
    # (the live strip beside it says the same: 'the station has measured nothing for 1 s: its measuring program is
    # held up'; it said '(its acquisition stalled)', an engineer's words, before s26)
    # one number for the stall, live and in the result: its slots lost on the grid (the live notice said
    # 'Data again after 1.6 s', the wait between the loop's wake-ups, beside the result's 1.49 s)
    assert walk["imu_not_measured_s"] == 1.49
    # the next walk had no fault: measured as usual
    second = run.runner.records[1].result
    assert second.valid and second.metrics["metrics"]["cadence_steps_min"] > 0 and not _notices_after(run, 1)


def _notices_after(run, index: int) -> list[str]:
    start = run.runner.records[index].result.start_ns
    return [e.data["message"] for e in run.events if e.kind == "notice" and e.t_ns >= start]


def test_a_gate_crossed_during_a_stall_is_timed_from_its_edge_and_the_settling_does_not_hang():
    # silent from 6.5 s for 4 s: the 8 m gate (about 7.3 s) is crossed in the stall, and the
    # SETTLE_S after it ends before the frames come back
    run = _ten_metre(StationFault("stall", 6.5, 4.0))
    result = run.runner.records[0].result
    assert result.valid and result.end_reason == "gate_reached", [i.message for i in result.issues]
    go = go_s(run, 0)
    _, plan = run.patient.walks[0]
    crossed_s = plan.gate_time_s(8.0) - go
    assert 6.6 < crossed_s < 6.5 + 4.0 - SETTLE_S  # the case this test is about
    assert result.walk["walk_time_s"] == pytest.approx(_truth_time_s(run), abs=1e-3)
    crossing = next(e for e in run.events if e.kind == "gate_crossed" and e.data["position_m"] == 8.0)
    assert crossing.data["at_s"] == pytest.approx(crossed_s, abs=1e-3)
    # ended when the settling time passed on the station clock, not when the frames came back
    finished = next(e for e in run.events if e.kind == "trial_finished")
    ended_s = (finished.t_ns - result.start_ns) / 1e9
    assert crossed_s + SETTLE_S <= ended_s < crossed_s + SETTLE_S + 0.5 < 6.5 + 4.0
    # the gait is measured in the 6.5 s recorded, and the warning names the time lost at the end
    assert result.recorded_s == pytest.approx(6.5, abs=0.1)  # the last frames read before the stall
    assert result.metrics["metrics"]["steps"] >= 9 and result.metrics["metrics"]["cadence_steps_min"] > 0
    (said,) = result.warnings
    silent = float(said.split("for the last ")[1].split(" s")[0])
    assert silent == pytest.approx(ended_s - result.recorded_s, abs=0.1)
    assert said.endswith(f"of the trial (from {result.recorded_s:.1f} s after the go; its measuring program was held up): the "
                         "gait "
                         f"measures cover the {result.recorded_s:.1f} s recorded before it; the light gates' time is "
                         "not affected.")
    assert not any(i.code == "person_stopped" for i in result.issues)  # the steps stop with the data, not the walker


def test_a_real_loss_keeps_a_walk_already_timed_and_leaves_one_not_timed_invalid():
    # nothing from 4 s for longer than the limit: the 8 m gate (7.3 s) was crossed before the wait ended
    run = _ten_metre(StationFault("stall", 4.0, STALL_LIMIT_S + 1.0))
    result = run.runner.records[0].result
    assert result.valid and result.end_reason == "data_lost", [i.message for i in result.issues]
    assert result.walk["walk_time_s"] == pytest.approx(_truth_time_s(run), abs=1e-3)
    assert result.walk["ended_early"] == (
        f"The station stopped receiving data 4.0 s after the go (nothing for {STALL_LIMIT_S:.1f} s): the test ended "
        f"there. The walk time from the light gates ({result.walk['walk_time_s']:.2f} s, on their own timestamps) is "
        f"kept; the gait measures cover the {result.recorded_s:.1f} s recorded before the loss. Check the station's health "
        "page.")
    assert result.recorded_s == pytest.approx(4.0, abs=0.1) and result.metrics["metrics"]["cadence_steps_min"] > 0
    assert result.walk["ended_early"] in result.warnings
    # lost before the walk reached its timing gate: invalid as before, and repeated
    run = _ten_metre(StationFault("stall", 0.5, STALL_LIMIT_S + 1.0))
    first = run.runner.records[0].result
    assert not first.valid and [i.code for i in first.issues] == ["no_data"]
    assert first.issues[0].message.startswith("The station stopped receiving data 0.5 s after the go")
    assert first.walk["ended_early"] is None
    assert run.runner.records[1].result.plan.attempt == 2 and run.runner.records[1].result.valid


def test_an_acquisition_restarted_after_the_timing_gate_keeps_the_walk_time():
    run = _ten_metre(on_runner=lambda r: restart_after(r, 8.0))
    result = run.runner.records[0].result
    assert result.valid and result.end_reason == "data_lost", [i.message for i in result.issues]
    assert result.walk["walk_time_s"] == pytest.approx(_truth_time_s(run), abs=1e-3)
    assert result.walk["ended_early"].startswith("The station's acquisition restarted 8.0 s after the go")


def test_the_trial_command_times_a_backward_walk_through_a_stall(tmp_path, capsys):
    import json

    from station.cli import main

    out = tmp_path / "backward"
    # the built-in walk with one trial and no rest (the stall is in the first trial, the one read)
    once = write_builtin_once("backward-walk-3m", tmp_path / "protocols", trials=2)
    assert main(["trial", "--protocol", once, "--protocols-dir", str(tmp_path / "protocols"), "--simulate", "--seed", "3",
                 "--gait", "older", "--fault", "stall:1:1.6", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "The station has measured nothing for 1 s: its measuring program is held up." in err and "m/s" in err
    # timed by the gates through the stall; the gait refused: under half of the walk up to the gate was
    # measured (the part after the stall runs on 2 s past the gate: the walk's end, not the walk)
    assert "5.020 s over 3 m: 0.598 m/s" in err
    assert ("No gait measures: the station measured nothing for 1.58 s at 1.0 s after the go (its measuring "
            "program was held up;" in err
            and "2.4 of the 5.0 s from the go to the gate at 3 m (48 %) were measured" in err), err
    # a loss after the walk was timed: the line says it ended early
    assert main(["trial", "--protocol", once, "--protocols-dir", str(tmp_path / "protocols"), "--simulate", "--seed", "3",
                 "--gait", "older", "--fault", "stall:1.5:6", "--json"]) == 0
    assert "m/s; ended early: The station stopped receiving data 1.5 s after the go" in capsys.readouterr().err
    doc = json.loads(sorted(out.glob("0*.json"))[0].read_text())
    assert doc["result"]["valid"] and doc["result"]["walk"]["walk_time_s"] > 0
    assert "(48 %) were measured" in doc["result"]["walk"]["imu"] and doc["metrics"]["metrics"]["cadence_steps_min"] is None


def test_the_planned_end_of_a_treadmill_session_passing_in_a_stall_ends_it_on_the_clock_too():
    from station.protocols.walk import WalkSettings

    settings = WalkSettings(belt_speed_m_s=0.5, planned_min=0.5, sensor_height_m=0.98)
    run = run_walk("backward-treadmill", seed=12, settings=settings, faults=(StationFault("stall", 28.0, 4.0),))
    result = run.runner.records[0].result
    assert result.valid and result.end_reason == "duration", [i.message for i in result.issues]
    finished = next(e for e in run.events if e.kind == "trial_finished")
    ended_s = (finished.t_ns - result.start_ns) / 1e9
    assert 30.0 <= ended_s < 30.5 < 28.0 + 4.0  # at the planned 30 s, not when the frames came back at 32 s
    assert result.recorded_s == pytest.approx(28.0, abs=0.1)
    (said,) = [w for w in result.warnings if w.startswith("The station measured nothing for the last")]
    assert said.endswith(f"(from {result.recorded_s:.1f} s after the go; its measuring program was held up): that time "
                         "is not measured.")


def test_a_walk_ending_in_a_stall_says_the_stall_not_missing_steps():
    """A stall the trial ends in (the 3-m backward walk silent from 2 s for 7 s: the gate at 3.7 s and the settling
    after it pass in it) or that ends it (the 10-metre walk silent from 3.5 s, data lost after 5 s) left the walk
    mostly unmeasured, and the gait's reason said the sensor's readings came whole and the walk's steps were not
    found ("the walk's steps not found in the lower-back sensor's readings (none of them missing for longer than
    0.1 s); they show fewer than a walking bout's 4 steps in the 2.0 s from the go to the end"), beside a warning
    that "the gait measures cover the 2.0 s recorded". Now the reason is the stall, against the whole walk."""
    run = run_walk("backward-walk-3m", seed=1, trials=1, faults=(StationFault("stall", 2.0, 7.0),))
    result = run.runner.records[0].result
    assert result.valid and result.end_reason == "gate_reached", [i.message for i in result.issues]
    _, plan = run.patient.walks[0]
    assert result.walk["walk_time_s"] == pytest.approx(plan.gate_time_s(3.0) - go_s(run, 0), abs=1e-3)
    assert result.metrics["metrics"]["steps"] is None and result.recorded_s == pytest.approx(2.0, abs=0.05)
    (said,) = result.warnings  # the stall said once, as the gait's reason
    assert said.startswith("No gait measures: the station measured nothing for the last 3.7 s of the trial (from 2.0 s "
                           "after the go; its measuring program was held up;"), said
    assert "2.0 of the 5.7 s from the go to the end (34 %)" in said and "steps not found" not in said

    run = _ten_metre(StationFault("stall", 3.5, 7.0))
    result = run.runner.records[0].result
    assert result.valid and result.end_reason == "data_lost"
    assert result.walk["walk_time_s"] == pytest.approx(_truth_time_s(run), abs=1e-3)
    assert result.walk["imu"].startswith("the station stopped receiving data 3.5 s after the go (nothing for 5.0 s); "
                                         "3.5 of the 7.2 s from the go to the gate at 8 m (48 %)"), result.walk["imu"]
    assert not any("steps not found" in w or "gait measures cover" in w for w in result.warnings)


def test_a_walk_whose_data_is_lost_in_its_only_part_says_its_numbers_as_they_are():
    """The 3-m backward walk over 5 m, data lost for good 2.5 s after the go: its one part (2.55 s) saw fewer
    than a walking bout's steps. Its reason read "a part between gaps (2.6 s at 0.0 s) ...; -0.0 of the 2.5 s
    from the go to the end (0 %) were measured": a negative zero, and a part longer than the recording it lies in
    (2.5500000000000003 s rounded up, the recording's 2.55 s down)."""
    run = run_walk("backward-walk-3m-5m", seed=1, trials=1, faults=(StationFault("stall", 2.5, 8.0),))
    result = run.runner.records[0].result
    assert result.valid and result.end_reason == "data_lost", [i.message for i in result.issues]
    reason = result.walk["imu"]
    assert "-0.0" not in reason, reason
    assert "a part between gaps (2.5 s at 0.0 s)" in reason and "0.0 of the 2.5 s from the go to the end (0 %)" in reason, \
        reason
