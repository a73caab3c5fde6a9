"""The warning on a walk's filled-in gaps says truthfully what they did to the gait (issue 10, left
from the review): on the late-waking clock the station loses single frames; a heel strike next to
one has an uncertain time, its step times are left out of the variability and the warning says so;
where none was, it says that none was."""

import numpy as np
import pytest

from tests.protocols.walk_support import go_s, run_walk


def _trial(run, condition: str, trial: int):
    for index, record in enumerate(run.runner.records):
        if record.result.plan.condition.id == condition and record.result.plan.trial == trial:
            return index, record.result
    raise AssertionError(f"no {condition} trial {trial}")


def _truth_cv_pct(run, index: int, result) -> float:
    """The walker's step-time CV over the steps the station found (as
    test_step_time_variability_at_a_fast_pace_is_the_walkers)."""
    found = np.array(result.walk["initial_contacts_s"]) + go_s(run, index)
    truth = run.patient.walks[index][1].initial_contacts_s
    nearest = np.abs(truth[:, None] - found[None, :]).min(axis=1) < 0.2
    steps = np.diff(truth)[nearest[:-1] & nearest[1:]]
    return float(100.0 * steps.std(ddof=1) / steps.mean())


def _gap_warning(result) -> str:
    words = [w for w in result.warnings if "short gap" in w]
    assert len(words) == 1, result.warnings
    return words[0]


@pytest.fixture(scope="module")
def seed_1():
    # the clinic's rest between trials (20 s) as `balance-station trial` runs it: the late wake-ups fall
    # where they fall there
    return run_walk("ten-metre-walk", seed=1, timing="pi-under-load", rest_s=20.0)


def test_a_heel_strike_next_to_a_lost_frame_has_its_step_times_left_out_and_the_warning_says_so(seed_1):
    # the one trial of this run with a single heel strike within 50 ms of a lost frame: the fast walk's
    # first (the late wake-ups fall elsewhere as the loop changes: since it counts the conversions a
    # late wake-up overwrote exactly, 2026-12-06; before, the comfortable walk's second, and the fast one's)
    index, result = _trial(seed_1, "fast", 1)
    walk = result.walk
    assert result.lost_frames == 1 and walk["imu_bridged_frames"] == 1  # the case this test is about
    assert walk["imu_contacts_near_gaps"] == 1 and walk["imu_steps_near_gaps"] == 2
    words = _gap_warning(result)
    assert ("1 heel strike fell within 50 ms of a gap, so its time is uncertain: the 2 step times next to it were "
            "left out of the step time, its variability and the stride-time variability (the steps and the cadence "
            "still count it).") in words, words
    assert walk["imu_gaps"]["contacts_near_gaps"] == 1 and walk["imu_gaps"]["steps_left_out"] == 2
    metrics = result.metrics["metrics"]
    assert metrics["steps"] == len(walk["initial_contacts_s"]) == 14  # the contact still counts
    assert metrics["step_time_cv_pct"] == pytest.approx(_truth_cv_pct(seed_1, index, result), abs=1.5)


def test_where_no_heel_strike_was_next_to_a_lost_frame_the_warning_says_none_was(seed_1):
    _index, result = _trial(seed_1, "comfortable", 1)
    assert result.lost_frames == 4 and result.walk["imu_contacts_near_gaps"] == 0
    assert result.walk["imu_steps_near_gaps"] == 0
    assert _gap_warning(result).endswith("so no step was missed, and no heel strike fell within 50 ms of a gap: the "
                                         "gait measures are valid.")


def test_the_reviewers_fast_walk_on_the_late_waking_clock_reads_the_walkers_variability():
    """Not the gaps: 3 heel strikes of this fast walk, 1.8-5.6 s from its 2 lost frames, were timed
    37-44 ms early (8.3 % for a true 2.2 %), on the pendulum's rise before the impact
    (gait_band.IMPACT_TIE_FRACTION); now 2.9 %. (Where its 2 lost frames fall moves with the loop's
    timing: next to a heel strike from 2026-12-06, when the loop kept the frames it woke late for, and
    next to none since it counts the conversions a late wake-up overwrote exactly.)"""
    run = run_walk("ten-metre-walk", seed=5, timing="pi-under-load", rest_s=20.0)
    index, result = _trial(run, "fast", 2)
    assert result.lost_frames == 2 and result.walk["imu_contacts_near_gaps"] == 0
    assert "no heel strike fell within 50 ms of a gap" in _gap_warning(result)
    assert result.metrics["metrics"]["step_time_cv_pct"] == pytest.approx(_truth_cv_pct(run, index, result), abs=1.5)


def test_the_gait_command_on_the_stations_trial_files_leaves_out_the_same_step_times(tmp_path, capsys):
    import json

    from station.cli import main

    out = tmp_path / "walks"
    assert main(["trial", "--simulate", "--protocol", "ten-metre-walk", "--seed", "1", "--timing", "pi-under-load",
                 "--quiet", "--out", str(out)]) == 0
    capsys.readouterr()
    trials = json.loads((out / "results.json").read_text())["trials"]
    near = [t["walk"]["imu_contacts_near_gaps"] for t in trials]
    assert sum(near) >= 1 and 0 in near  # both cases in this run (measured: 0, 2, 1, 0)
    for trial in trials:
        csv_path = out / trial["stored"]["csv"].rsplit("/", 1)[-1]
        assert main(["gait", str(csv_path), "-j1"]) == 0
        (result,) = json.loads(capsys.readouterr().out)
        # the lost frames are the file's missing seq: the same gaps, the same heel strikes next to them
        assert result["gaps"]["samples_lost"] == trial["lost_frames"] > 0
        assert result["gaps"]["contacts_near_gaps"] == trial["walk"]["imu_contacts_near_gaps"]
        for key in ("steps", "step_time_s", "step_time_cv_pct", "stride_time_cv_pct"):
            assert result["metrics"][key] == pytest.approx(trial["metrics"]["metrics"][key], rel=1e-9), key
