"""The simulated station failing in the middle of a walk (station/sim/faults.py), end to end: the
acquisition stalling on a treadmill session (a hiccup is time not measured, a real loss ends the
session and keeps what was measured), stance tests still invalid on a stall, and the lower-back
sensor unplugged mid-walk (an overground walk stays timed by its gates, a treadmill session is
measured around the gap), with what the clinician reads."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from station.acquire.frame import FrameFlag
from station.cli import main
from station.protocols.walk import STALL_LIMIT_S, WalkSettings
from station.sim.faults import StationFault, parse_fault

from tests.protocols.walk_support import go_s, match, restart_after, run_walk, write_builtin_once

SETTINGS = WalkSettings(belt_speed_m_s=0.5, planned_min=0.5, sensor_height_m=0.98)


def _treadmill(*faults, on_runner=None, sink=None):
    return run_walk("backward-treadmill", seed=12, settings=SETTINGS, faults=faults, on_runner=on_runner, sink=sink)


class _Frames:
    """A trial sink keeping the frames recorded (to look at their flags)."""

    def __init__(self) -> None:
        self.blocks = []

    def start_trial(self, plan, rate_hz, body_weight_n, t0_ns=0, start_seq=None):
        return self

    def append(self, frames) -> None:
        self.blocks.append(np.array(frames))

    def finish(self, result) -> dict:
        return {}

    def abort_open(self, reason: str) -> None:
        pass


def test_a_treadmill_session_survives_a_stall_of_the_whole_acquisition():
    frames = _Frames()
    run = _treadmill(StationFault("stall", 10.0, 1.5), sink=frames)
    assert [what for _, what in run.source.happened] == ["stall"]
    result = run.runner.records[0].result
    assert result.valid and result.end_reason == "duration", [i.message for i in result.issues]
    assert result.recorded_s == pytest.approx(30.0, abs=0.05)  # the session went on to its planned time
    walk = result.walk
    assert walk["imu_stalls"] == 1 and walk["imu_dropouts"] == 0
    assert 1.3 <= walk["imu_not_measured_s"] <= 1.6
    (a0, a1), (b0, b1) = walk["imu_parts"]
    assert b0 - a1 == pytest.approx(walk["imu_not_measured_s"], abs=0.02) and 9.9 <= a1 <= 10.2
    assert 0.40 <= walk["walking_min"] <= 0.48  # the 30 s less the stall and a step either side
    # the frames of the stall were lost by the acquisition loop (seq skips them, the next one says so)
    recorded = np.concatenate(frames.blocks)
    skips = np.flatnonzero(np.diff(recorded["seq"].astype(np.int64)) > 100)
    assert len(skips) == 1 and recorded["flags"][skips[0] + 1] & int(FrameFlag.LOST_BEFORE)
    assert 130 <= result.lost_frames <= 160
    # what the clinician reads on the results, the trial page and the PDF (walk.imu_gaps)
    said = walk["imu_gaps"]
    assert said["stalls"] == 1 and said["gait_valid"] is True
    assert said["words"].startswith(f"{walk['imu_not_measured_s']:g} s not measured (1 station stall): the station measured "
                                    "nothing at all (its measuring program was held up)")
    assert said["words"] in result.warnings
    assert not any("frames were lost" in w for w in result.warnings)  # said once, as time not measured
    # said live while it happened: waiting, then the data back
    notices = [e.data["message"] for e in run.events if e.kind == "notice"]
    assert notices == ["The station has measured nothing for 1 s: its measuring program is held up. Waiting up to 5 s "
                       "for readings; the session goes on.",
                       f"Measuring again: {walk['imu_not_measured_s']:g} s not measured (1 station stall); the session "
                       "goes on."]  # the result's time not measured, said once (was 'after 1.5 s without', wake time)
    # the steps either side of the stall are found at their true times
    trial, plan = run.patient.walks[0]
    go = go_s(run, 0)
    found = np.array(walk["initial_contacts_s"]) + go
    truth = plan.initial_contacts_s[(plan.initial_contacts_s > go + 1.0) & (plan.initial_contacts_s < go + 29.0)]
    truth = truth[(truth < go + a1 - 0.6) | (truth > go + b0 + 0.6)]
    f1, timing_s = match(truth, found[(found > go + 1.0) & (found < go + 29.0)])
    assert f1 >= 0.95 and timing_s < 0.05


def test_a_real_loss_ends_the_session_and_keeps_the_walking_measured_before_it():
    run = _treadmill(StationFault("stall", 12.0, 60.0))
    result = run.runner.records[0].result
    assert result.valid and result.end_reason == "data_lost", [i.message for i in result.issues]
    assert result.recorded_s < 12.5  # ended at the loss, not at the planned 30 s
    said = [w for w in result.warnings if "stopped receiving data" in w]
    assert said == [f"The station stopped receiving data 12.0 s after the go (nothing for {STALL_LIMIT_S:.1f} s): the "
                    f"session ended there; the {60 * result.walk['walking_min']:.0f} s walked before it were measured and "
                    "are kept. Check the station's health page."]
    assert result.walk["ended_early"] == said[0]  # on the live result, the visit results and the PDF
    assert 0.15 <= result.walk["walking_min"] <= 0.2
    # lost right after the go: nothing was measured, the session is invalid for that reason alone
    run = _treadmill(StationFault("stall", 1.0, 60.0))
    result = run.runner.records[0].result
    assert not result.valid and [i.code for i in result.issues] == ["no_data"]
    assert "stopped receiving data 1.0 s after the go" in result.issues[0].message


def test_an_acquisition_that_restarted_ends_the_session_there():
    run = _treadmill(on_runner=lambda r: restart_after(r, 8.0))
    result = run.runner.records[0].result
    assert result.valid and result.end_reason == "data_lost"
    assert result.recorded_s < 8.2
    assert any(w.startswith("The station's acquisition restarted 8.0 s after the go") for w in result.warnings)


def test_a_stance_test_is_still_invalid_on_a_stall(tmp_path, capsys):
    out = tmp_path / "stance"
    assert main(["trial", "--protocol", "quiet-stance", "--simulate", "--seed", "2", "--fault", "stall:5:1.5",
                 "--out", str(out), "--quiet"]) == 0
    first = json.loads(sorted(out.glob("0*.json"))[0].read_text())["result"]
    assert not first["valid"] and [i["code"] for i in first["issues"]] == ["no_data"]
    assert "stopped sending data 5.0 s into the trial" in first["issues"][0]["message"]


def test_the_trial_command_runs_a_treadmill_session_with_a_stall(tmp_path, capsys):
    out = tmp_path / "treadmill"
    assert main(["trial", "--protocol", "backward-treadmill", "--simulate", "--seed", "12", "--belt-speed-m-s", "0.5",
                 "--planned-min", "0.5", "--fault", "stall:10:1.5", "--out", str(out)]) == 0
    assert " s walking, 0 pause(s); 1.48 s not measured (1 station stall)" in capsys.readouterr().err
    doc = json.loads(sorted(out.glob("0*.json"))[0].read_text())
    assert doc["result"]["valid"] and doc["result"]["walk"]["imu_stalls"] == 1
    assert doc["metrics"]["metrics"]["walking_min"] == doc["result"]["walk"]["walking_min"] > 0.4
    for bad, said in (("stall:10", "a stall needs its length"), ("boom:1", "unknown fault 'boom'"),
                      ("stall:x:1", "AFTER_S and FOR_S must be numbers")):
        assert main(["trial", "--protocol", "backward-treadmill", "--simulate", "--fault", bad]) == 1
        err = capsys.readouterr().err
        assert said in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert parse_fault("imu-unplugged:4") == StationFault("imu-unplugged", 4.0, None)


def test_an_imu_unplugged_mid_walk_leaves_the_walk_timed_by_its_gates(tmp_path, capsys):
    out = tmp_path / "ten"
    # the built-in walk with one trial a pace and no rests: the comfortable walk, then the fast one
    once = write_builtin_once("ten-metre-walk", tmp_path / "protocols", trials=2)
    assert main(["trial", "--protocol", once, "--protocols-dir", str(tmp_path / "protocols"), "--simulate", "--seed", "1",
                 "--fault", "imu-unplugged:3", "--out", str(out), "--quiet"]) == 0
    docs = [json.loads(p.read_text()) for p in sorted(out.glob("0*.json"))]
    first, second = docs[0]["result"], docs[1]["result"]
    # unplugged 3 s into the first walk: still timed by the gates, no gait measures, and why
    assert first["valid"] and first["walk"]["walk_time_s"] > 0 and first["walk"]["walk_speed_m_s"] > 0
    assert docs[0]["metrics"]["metrics"]["cadence_steps_min"] is None
    # its last reading at 3.05 s after the go on the file's time_s (the first frame 0.01 s after the go)
    why = "the lower-back sensor stopped sending 3.0 s after the go and did not come back"
    assert first["walk"]["imu"].startswith(why) and "check its cable" in first["walk"]["imu"]
    # how long without its readings in seconds, not frames ("(1435 of 1536 frames without its readings)")
    assert re.match(re.escape(why) + r" \(\d+\.\d of \d+\.\d s without its readings\)", first["walk"]["imu"]), first["walk"]["imu"]
    assert "frames" not in first["walk"]["imu"]
    assert any(w.startswith(f"No gait measures: {why}") for w in first["warnings"])
    words = first["walk"]["imu_gaps"]["words"]
    assert words.startswith(f"No gait measures: {why}")  # the sensor named once (s29 P14)
    assert words.endswith("The time and speed come from the light gates and are valid.")
    # still out for the next walk: it says the sensor sent nothing
    assert second["valid"] and "lower-back sensor sent nothing" in second["walk"]["imu"]


def test_an_imu_unplugged_for_a_while_on_the_treadmill_is_a_sensor_dropout():
    run = _treadmill(StationFault("imu-unplugged", 8.0, 4.0))
    assert [what for _, what in run.source.happened] == ["imu-unplugged out", "imu-unplugged in"]
    result = run.runner.records[0].result
    assert result.valid, [i.message for i in result.issues]
    walk = result.walk
    assert walk["imu_dropouts"] == 1 and walk["imu_stalls"] == 0
    assert 4.0 <= walk["imu_not_measured_s"] <= 5.2  # 4 s out, and up to the loop's 1-s retry to bring it back
    assert walk["imu_gaps"]["words"].startswith(f"{walk['imu_not_measured_s']:g} s not measured (1 sensor dropout): "
                                                "the lower-back sensor's signal was lost")
    # said live: gone for 5 s (not at once: a short dropout is no news), then back
    notices = [(e.data["message"], e.t_ns) for e in run.events if e.kind == "notice"]
    assert [m for m, _ in notices] == [
        "The lower-back sensor has sent no readings for 5 s: check that it is worn and its cable connected. The session "
        "goes on; the time without it is not measured.",
        "The lower-back sensor sends again; the time without it is not measured."]
    out_ns, in_ns = (t for t, _ in run.source.happened)
    assert 4.9 <= (notices[0][1] - out_ns) / 1e9 <= 5.5 and 0.0 <= (notices[1][1] - in_ns) / 1e9 <= 1.5
