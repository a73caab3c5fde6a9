"""An overground walk (the 10-metre walk, the 3-metre backward walk) whose lower-back sensor drops
out or whose station stalls mid-walk is measured in the parts between the gaps, as a treadmill
session is (station/protocols/walk_parts.py): the gait from the parts when at least half of the
recording was measured in parts of 2 s or more, with the time not measured said in the treadmill's
words; refused with what was missing otherwise. The light gates time the walk either way. No step
and no stop is invented over a gap."""

from __future__ import annotations

import re

import numpy as np
import pytest

from station.protocols.walk import STOPPED_S
from station.protocols.walk_parts import MIN_MEASURED_FRACTION, MIN_PART_S
from station.sim.faults import StationFault

from tests.protocols.test_walk_imu_gaps import _gap_after_the_go
from tests.protocols.walk_support import go_s, match, run_walk, truth_cadence

TAIL = "The time and speed come from the light gates and are valid."


def _ten_metre(*, faults=(), on_runner=None):
    return run_walk("ten-metre-walk", seed=1, trials=1, faults=faults, on_runner=on_runner)


def _dropout(after_frames: int, frames: int, *, lost: bool = False):
    """Frames without the sensor's readings (``lost``: frames that never came) ``after_frames`` into the walk."""
    return lambda r: _gap_after_the_go(r, after_frames=after_frames, frames=frames, lost=lost)


@pytest.fixture(scope="module")
def clean():
    """The same walk without a fault: its gates' time and its gait, to compare with."""
    result = _ten_metre().runner.records[0].result
    assert result.valid and result.walk["imu"] is None and result.walk["imu_parts"] == [[pytest.approx(0.0, abs=0.02), pytest.approx(9.25, abs=0.1)]]  # from the first frame, a period after the go
    return result


def test_a_short_sensor_dropout_mid_walk_keeps_the_gait_from_the_parts_with_the_words(clean):
    run = _ten_metre(on_runner=_dropout(400, 30))  # 0.3 s, 4 s after the go, mid-walk
    result = run.runner.records[0].result
    assert result.valid, [i.message for i in result.issues]
    walk, metrics = result.walk, result.metrics["metrics"]
    assert walk["walk_time_s"] == clean.walk["walk_time_s"]  # the gates' time does not depend on the sensor
    assert walk["imu"] is None and walk["imu_dropouts"] == 1 and walk["imu_stalls"] == 0
    assert walk["imu_not_measured_s"] == pytest.approx(0.3, abs=0.02)
    (a0, a1), (b0, b1) = walk["imu_parts"]
    assert a0 == 0.01 and a1 == pytest.approx(4.05, abs=0.05)  # from the first frame, a period after the go and b0 - a1 == pytest.approx(0.3, abs=0.02)
    # the gait is there: cadence as without the dropout, the variability within the parts (the step
    # interval across the gap is not a step)
    _, plan = run.patient.walks[0]
    assert metrics["cadence_steps_min"] == pytest.approx(truth_cadence(plan), abs=2.0)
    assert metrics["cadence_steps_min"] == pytest.approx(clean.metrics["metrics"]["cadence_steps_min"], abs=1.0)
    assert metrics["stride_time_cv_pct"] < 2 * clean.metrics["metrics"]["stride_time_cv_pct"] + 1.0
    assert metrics["step_symmetry"] == pytest.approx(clean.metrics["metrics"]["step_symmetry"], abs=0.05)
    assert metrics["steps"] < clean.metrics["metrics"]["steps"]  # the step in the gap is not counted, nor guessed
    # no contact found inside the gap; those either side at their true times
    found = np.array(walk["initial_contacts_s"])
    assert not ((found > a1) & (found < b0)).any()
    go = go_s(run, 0)
    truth = plan.initial_contacts_s[(plan.initial_contacts_s > go + 0.5) & (plan.initial_contacts_s < go + 7.0)] - go
    f1, timing_s = match(truth[np.abs(truth - (a1 + b0) / 2) > 0.6], found[found < 7.0])
    assert f1 >= 0.95 and timing_s < 0.05
    # the words: the treadmill's, then what they mean for a walk timed by the gates
    said = walk["imu_gaps"]
    assert said["gait_valid"] is True and said["not_measured_s"] == walk["imu_not_measured_s"] and said["dropouts"] == 1
    assert said["words"].startswith(f"{walk['imu_not_measured_s']:g} s not measured (1 sensor dropout): the lower-back "
                                    "sensor's signal was lost for longer than 0.1 s")
    assert "The gait measures come from the 2 parts measured" in said["words"] and said["words"].endswith(TAIL)
    assert said["words"] in result.warnings


def test_a_stall_mid_walk_keeps_the_gates_time_and_the_gait_from_the_parts(clean):
    run = _ten_metre(faults=(StationFault("stall", 3.0, 1.5),))
    assert [what for _, what in run.source.happened] == ["stall"]
    result = run.runner.records[0].result
    assert result.valid and result.end_reason == "gate_reached", [i.message for i in result.issues]
    walk, metrics = result.walk, result.metrics["metrics"]
    assert walk["walk_time_s"] == clean.walk["walk_time_s"]
    assert walk["imu"] is None and walk["imu_stalls"] == 1 and walk["imu_dropouts"] == 0
    assert 1.4 <= walk["imu_not_measured_s"] <= 1.6 and len(walk["imu_parts"]) == 2
    assert metrics["cadence_steps_min"] == pytest.approx(clean.metrics["metrics"]["cadence_steps_min"], abs=1.0)
    assert metrics["step_length_m"] is not None and metrics["stride_time_cv_pct"] is not None
    said = walk["imu_gaps"]["words"]
    assert said.startswith(f"{walk['imu_not_measured_s']:g} s not measured (1 station stall): the station measured "
                           "nothing at all (its measuring program was held up)") and said.endswith(TAIL)
    # and none lost catching up after it: the loop no longer reads the IMU's overflowed FIFO (74 ms of bus, 1.2 s at
    # 208 Hz: a 1.5-s stall overflows it) but empties it (before s26: one short gap of 5-7 frames, bridged, said)
    assert walk["imu_bridged_gaps"] == 0 and "readings in shorter gaps were filled" not in said
    # said once, as time not measured: no second 'frames were lost', no 'No gait measures'
    assert [w for w in result.warnings if "frames were lost" in w or w.startswith("No gait")] == []
    # the IMU's speed is still compared with the gates' over the parts: within 25 % here, no warning
    assert metrics["walking_speed_m_s"] == pytest.approx(walk["walk_speed_m_s"], rel=0.25)
    assert not any("estimate of the walking speed" in w for w in result.warnings)


GATE_TIME_S = {"older": 5.020, "hemiparetic": 7.358}
"""The 3-metre backward walk's time from the go to the gate, seed 3, of each walker below, s (as fast
as safely possible: the older walker 117 steps/min, the hemiparetic one 84)."""


def _backward_walk_stalled(at_s: float, for_s: float, gait: str = "older"):
    """The virtual walker's 3-metre backward walk (seed 3) with the station silent ``at_s`` after the
    go for ``for_s`` (s): its result, checked valid and timed by the gates, whatever the gait."""
    run = run_walk("backward-walk-3m", seed=3, trials=1, gait=gait, faults=(StationFault("stall", at_s, for_s),))
    result = run.runner.records[0].result
    assert result.valid and result.walk["walk_time_s"] == pytest.approx(GATE_TIME_S[gait], abs=0.01)  # timed by the gates
    return result


def test_a_stall_that_leaves_too_little_measured_refuses_the_gait_with_what_was_missing():
    # the older walker's 3-metre backward walk lasts 5 s (7 s recorded); silent 1 s after the go for
    # 3.5 s: the part before it is under 2 s, the one after 2.5 s, under half the recording
    result = _backward_walk_stalled(1.0, 3.5)
    walk = result.walk
    assert walk["imu"].startswith("the station measured nothing for 3.4")
    assert " s after the go (its measuring program was held up; gaps up to 0.1 s are bridged" in walk["imu"]
    measured = float(walk["imu"].split("; ")[-1].split(" of")[0])
    assert 2.0 <= measured < MIN_MEASURED_FRACTION * result.recorded_s
    pct = int(walk["imu"].rsplit("(", 1)[1].split(" %")[0])  # 2.5 of 7.0 s: 35 or 36 % as the frames around the stall fall
    assert pct in (35, 36) and abs(pct - 100 * measured / result.recorded_s) < 1
    assert walk["imu"].endswith(f"s from the go to the end ({pct} %) were measured in parts of {MIN_PART_S:g} s or "
                                f"more, under the {100 * MIN_MEASURED_FRACTION:.0f} % the gait needs")
    assert result.metrics["metrics"]["cadence_steps_min"] is None and walk["imu_parts"] is None
    assert result.warnings == [f"No gait measures: {walk['imu']}"]  # the stall said there, once
    assert walk["imu_gaps"]["words"] == f"No gait measures from the lower-back sensor: {walk['imu']}. {TAIL}"


def test_a_part_that_saw_none_of_the_walks_steps_is_not_measured():
    # the hemiparetic walker's 3-metre backward walk (seed 3: 16 steps from 0.7 to 11.5 s, the 3-m gate
    # at 7.4 s), silent 2.5 s after the go for 3 s: the part before the stall is long enough to analyse
    # (2.5 s) but holds only 3 steps (0.7, 1.6 and 2.2 s), fewer than a walking bout's 4, so the analysis
    # saw none of them. Counted as measured, it made the walk's gait from the steps after the stall (the
    # healthy walker's, before, 3 of its 4 past the gate); now only the part after the stall is
    # measured, under half the recording: refused.
    result = _backward_walk_stalled(2.5, 3.0, gait="hemiparetic")
    walk = result.walk
    assert walk["imu"].startswith("the station measured nothing for 2.9")
    assert ("; a part between gaps (2.5 s at 0.0 s) held fewer steps than a walking bout's 4, so its walking was not "
            "measured; ") in walk["imu"]
    assert walk["imu"].endswith(f"s from the go to the end (41 %) were measured in parts of {MIN_PART_S:g} s or more, "
                                f"under the {100 * MIN_MEASURED_FRACTION:.0f} % the gait needs")
    assert result.metrics["metrics"]["cadence_steps_min"] is None and walk["initial_contacts_s"] == []
    assert walk["imu_parts_without_steps_s"] == pytest.approx(2.5, abs=0.05)


def test_a_part_without_steps_is_said_as_not_measured_when_the_rest_gives_the_gait():
    # the 10-metre walk silent 2 s after the go for 1 s: the 2-s part before it holds 3 steps (no
    # bout), the part after it 6 s: the gait from that part's steps, the 2 s before the stall not
    # measured, and said
    result = _ten_metre(faults=(StationFault("stall", 2.0, 1.0),)).runner.records[0].result
    assert result.valid
    walk = result.walk
    assert walk["imu"] is None and result.metrics["metrics"]["cadence_steps_min"] > 0
    assert walk["imu_parts_without_steps_s"] == pytest.approx(2.0, abs=0.05)
    assert len(walk["imu_parts"]) == 1 and walk["imu_parts"][0][0] > 2.9  # the part before the stall is out
    assert 2.9 <= walk["imu_not_measured_s"] <= 3.1  # the stall and the part that saw no steps
    assert min(walk["initial_contacts_s"]) > walk["imu_parts"][0][0]
    said = walk["imu_gaps"]["words"]
    assert said.startswith(f"{walk['imu_not_measured_s']:g} s not measured (1 station stall): ")
    assert ("Of it, 2.0 s lay between gaps and was too short to show a walking bout's 4 steps, so the walking there "
            "was not measured either. ") in said and said.endswith(TAIL)


def test_blind_parts_are_those_before_the_end_of_the_walking_without_two_contacts():
    from station.protocols.walk_parts import blind_parts

    parts = [(0.0, 2.5), (3.0, 6.0), (8.0, 11.0)]
    assert blind_parts([3.2, 3.8, 4.4, 5.0], parts, 5.0) == [(0.0, 2.5)]
    # a part after the gate and the last step is standing, not walking unseen: it stays measured
    assert blind_parts([0.7, 1.3, 1.9, 2.4, 3.2, 3.8], parts, 5.0) == []
    # the patient walked on past the gate (contacts to 9.5): a part before that without two is blind
    assert blind_parts([0.7, 1.3, 9.0, 9.5], parts, 5.0) == [(3.0, 6.0)]
    assert blind_parts([0.7, 1.3, 9.0], parts, 5.0) == [(3.0, 6.0), (8.0, 11.0)]
    assert blind_parts([], parts, 5.0) == [(0.0, 2.5), (3.0, 6.0)]


def test_a_walk_mostly_missing_is_refused_its_gait():
    run = _ten_metre(on_runner=_dropout(150, 500))  # 5 s of a 9.3-s recording, 1.5 s after the go
    result = run.runner.records[0].result
    assert result.valid and result.walk["walk_time_s"] is not None
    walk = result.walk
    assert walk["imu"].startswith("the lower-back sensor's readings missing for 5.00 s at 1.")
    assert walk["imu"].endswith(" after the go (gaps up to 0.1 s are bridged; a longer one can hide steps); 2.7 of the "
                                "9.2 s from the go to the end (29 %) were measured in parts of 2 s or more, under the 50 % "
                                "the gait needs")
    assert result.metrics["metrics"]["steps"] is None and walk["initial_contacts_s"] == []
    assert walk["imu_gaps"]["gait_valid"] is False and walk["imu_gaps"]["words"].endswith(TAIL)


def test_a_dropout_longer_than_a_stop_is_no_stop():
    # 3.5 s without the sensor mid-walk (more than STOPPED_S): the steps before and after it are 4 s
    # apart, but the patient walked on; what the gap hid is not measured, not called a stop
    run = _ten_metre(on_runner=_dropout(300, 350))
    result = run.runner.records[0].result
    assert result.valid, [i.message for i in result.issues]
    assert not any(i.code == "person_stopped" for i in result.issues)
    walk = result.walk
    contacts = np.array(walk["initial_contacts_s"])
    (a0, a1), (b0, b1) = walk["imu_parts"]
    assert contacts[contacts > a1].min() - contacts[contacts < b0].max() > STOPPED_S  # the case this test is about
    assert walk["imu"] is None and result.metrics["metrics"]["cadence_steps_min"] > 0
    assert walk["imu_gaps"]["words"].startswith(f"{walk['imu_not_measured_s']:g} s not measured (1 sensor dropout)")


def test_a_real_stop_inside_a_part_is_still_a_stop():
    from station.protocols.walk_parts import still_stretches

    # 3.2 s without a step inside one part: a stop; the same 3.2 s across a gap: not one (the longest
    # stretch is then the last step to the end)
    contacts = [0.5, 1.0, 1.5, 4.7, 5.2]
    assert max(length for _, length in still_stretches(contacts, [(0.0, 6.0)], 6.0)) == pytest.approx(3.2)
    assert max(length for _, length in still_stretches(contacts, [(0.0, 2.0), (4.0, 6.0)], 6.0)) == pytest.approx(0.8)
    # the gate crossed after a gap that follows the last contact: that stretch is not measured either
    assert still_stretches([0.5, 1.0], [(0.0, 2.0), (6.0, 8.0)], 7.0) == [(0.5, 0.5)]


def test_one_short_bridged_gap_never_refuses_a_short_walk_but_many_do():
    from tests.protocols.test_walk_imu_gaps import _lose_imu

    def none(seq):
        return np.zeros(seq.shape, dtype=bool)

    # one gap of 8 frames (0.08 s, bridged) in a 7-s backward walk: over 1 % of its frames by itself,
    # shorter than any step: the gait stands (was: refused, "the sensor dropped out")
    run = run_walk("backward-walk-3m", seed=3, trials=1, on_runner=_dropout(300, 8))
    result = run.runner.records[0].result
    walk = result.walk
    assert result.valid and walk["imu"] is None and walk["imu_bridged_gaps"] == 1 and walk["imu_bridged_frames"] == 8
    assert walk["imu_bridged_frames"] > 0.01 * result.samples  # the case this test is about
    assert result.metrics["metrics"]["cadence_steps_min"] > 0 and "the gait measures are valid" in walk["imu_gaps"]["words"]
    # two readings lost every half second: short gaps, each bridged, but the readings kept dropping out
    run = run_walk("backward-walk-3m", seed=3, trials=1, on_runner=lambda r: _lose_imu(
        r, drop=none, nan=lambda s: (s % 50) < 2))
    walk = run.runner.records[0].result.walk
    # in seconds, not frames (a clinician does not know frames), of the sensor a clinician knows (not "IMU")
    assert re.match(r"the lower-back sensor's readings missing for \d+\.\d of \d+\.\d s, in \d+ short gaps", walk["imu"]), walk["imu"]
    assert walk["imu"].endswith(
        "short gaps (more than 1 % of the recording: the readings kept dropping out)")
    assert run.runner.records[0].result.metrics["metrics"]["cadence_steps_min"] is None


def test_frames_the_station_lost_in_short_holes_are_not_the_sensor_dropping_out():
    """The same holes as frames that never arrived (the station's late wake-ups, as a loaded machine
    gave after a stall: 2 holes, 10 of 697 frames) are bridged and are the station's loss: the gait
    stands. Before, they were counted as the sensor's readings dropping out and refused it."""
    from tests.protocols.test_walk_imu_gaps import _lose_imu

    def none(seq):
        return np.zeros(seq.shape, dtype=bool)

    run = run_walk("backward-walk-3m", seed=3, trials=1, on_runner=lambda r: _lose_imu(
        r, drop=lambda s: (s % 50) < 2, nan=none))
    result = run.runner.records[0].result
    walk = result.walk
    assert walk["imu_bridged_gaps"] > 1 and walk["imu_bridged_frames"] > 0.01 * (result.samples + walk["imu_bridged_frames"])
    assert walk["imu"] is None, walk["imu"]
    assert result.metrics["metrics"]["cadence_steps_min"] > 0


@pytest.mark.parametrize("timing, pct", [("ideal", 39), ("pi-under-load", 37)])
def test_the_gait_needs_half_of_the_walk_up_to_its_gate_not_of_the_steps_after_it(timing, pct):
    """The sensor unplugged 1 s after the go for 1.2 s (the loop tries it again a second after it failed,
    and again a second later, when it is back: 1 s exactly raced the first retry by milliseconds,
    which a late wake-up could win): 4.0 of the older walker's 7.0 s recorded were
    measured (57 %), but of the walk up to the gate at 5.0 s only 2.0 s (39 %; 37 % on a clock that
    wakes late, whose gap there is 2.06 s, not 2.05 s), and 4 of the 8 steps the gait came from lay
    after the gate. Before, that gait was given (the healthy walker: cadence 96, variability from 4
    steps). The same on a clock that wakes late."""
    run = run_walk("backward-walk-3m", seed=3, trials=1, gait="older", faults=(StationFault("imu-unplugged", 1.0, 1.2),), timing=timing)
    result = run.runner.records[0].result
    clean = run_walk("backward-walk-3m", seed=3, trials=1, gait="older", timing=timing).runner.records[0].result
    assert clean.metrics["metrics"]["cadence_steps_min"] > 0  # the same walk without the fault has its gait
    assert result.valid and result.walk["walk_time_s"] == pytest.approx(clean.walk["walk_time_s"], abs=0.01)  # the gates' time stands
    assert result.metrics["metrics"]["cadence_steps_min"] is None
    note = result.walk["imu"]
    # from standing, the walk's time is the gate's time after the go (5.0 s on the ideal clock)
    assert f"of the {result.walk['walk_time_s']:.1f} s from the go to the gate at 3 m ({pct} %) were measured" in note, note
    assert "under the 50 % of the walk the gait needs" in note
    assert any(w.startswith("No gait measures: ") for w in result.warnings)
