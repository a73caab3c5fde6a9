"""``balance-station gait`` on the files ``trial --out`` wrote for a walk test gives the trial's own gait,
the step length and walking speed the station withheld included, measured around a gap over 0.1 s as the trial
measured it, or none with the trial's reason (DESIGN.md §8; README, walk tests); ``analyze`` on them says they
are a walk's and what to run instead."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest

from station.cli import main

GAIT_KEYS_COMPARED = ("steps", "cadence_steps_min", "step_time_cv_pct", "stride_time_cv_pct", "step_length_m",
                      "walking_speed_m_s")


def _gait(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(["gait", *map(str, argv), "-j1"])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _trial_out(tmp_path_factory, *argv, protocol: str = "backward-walk-3m") -> tuple:
    """``trial --simulate --quiet --out`` of ``protocol`` with ``argv``: (folder, its results.json's trials)."""
    tmp_path = tmp_path_factory.mktemp("walk")
    out = tmp_path / "out"
    out.mkdir()
    status = main(["trial", "--protocol", protocol, "--simulate", *argv, "--quiet", "--out", str(out),
                   "--data-dir", str(tmp_path / "data")])
    assert status == 0
    return out, json.loads((out / "results.json").read_text())["trials"]


@pytest.fixture(scope="module")
def walk_out(tmp_path_factory):
    """The older walker's 3-m backward walk (seed 0), the station stalled for 0.5 s 3 s into the first trial."""
    return _trial_out(tmp_path_factory, "--seed", "0", "--gait", "older", "--fault", "stall:3:0.5")


def test_gait_on_a_walk_trials_files_gives_the_trials_numbers_and_withholds_as_it_did(walk_out, tmp_path, capsys):
    """The older walker's 3-m backward walk (seed 0): the lower-back sensor's pendulum says 0.82 m/s where the
    gate timed 0.60 m/s (38 % above), so the trial gives no step length nor walking speed. Re-analysed, the
    files gave them (0.42 m, 0.82 m/s) with no word of doubt; now null as in the trial, the estimate kept in
    ``estimate_withheld`` with the trial's own warning, in JSON and in the CSV's last column. A file whose
    walk speed agrees with the estimate keeps both. The first trial's 0.5-s stall is measured around as the trial
    measured it, in its words (it read "IMU data missing for 0.49 s ...: record again or cut the file at the
    gap"); the same rows without the sidecar, not known as the station's walk, keep that refusal."""
    out, trials = walk_out
    files = sorted(out.glob("*.csv"))
    assert len(trials) == len(files) == 2
    status, stdout, err = _gait(capsys, *files)
    assert status == 0 and err == ""
    for trial, result in zip(trials, json.loads(stdout)):
        withheld = trial["walk"]["imu_estimate_withheld"]
        assert withheld is not None and withheld["off_pct"] > 25  # the trial withheld them
        for key in GAIT_KEYS_COMPARED:
            assert result["metrics"][key] == trial["metrics"]["metrics"][key], key
        assert result["metrics"]["step_length_m"] is None and result["metrics"]["walking_speed_m_s"] is None
        assert result["estimate_withheld"] == withheld
        assert result["initial_contacts_s"] == trial["walk"]["initial_contacts_s"]
        assert result.get("gaps", {}).get("words") == (trial["walk"]["imu_gaps"] or {}).get("words")
    assert trials[0]["walk"]["imu_stalls"] == 1 and len(trials[0]["walk"]["imu_parts"]) == 2  # measured in 2 parts
    assert json.loads(stdout)[0]["gaps"]["words"].startswith("0.49 s not measured (1 station stall)")
    bare = tmp_path / "bare.csv"
    shutil.copyfile(files[0], bare)
    status, stdout, err = _gait(capsys, bare)
    assert status == 1 and json.loads(stdout)[0]["error"].startswith("IMU data missing for 0.49 s after time_s 3.01 s")
    assert "record again or cut the file at the gap" in err
    status, stdout, _ = _gait(capsys, files[0], "--format", "csv")
    row = next(csv.DictReader(io.StringIO(stdout)))
    assert status == 0 and row["step_length_m"] == "" and row["walking_speed_m_s"] == ""
    assert row["estimate_withheld"] == trials[0]["walk"]["imu_estimate_withheld"]["words"]
    assert row["gap_words"] == trials[0]["walk"]["imu_gaps"]["words"] and row["samples_lost"] == "0"
    assert "38 % above the light gates' measured 0.60 m/s" in row["estimate_withheld"]

    # the same recording, its gate passed when the sensor's own estimate says: given, nothing withheld
    agreeing = tmp_path / "agreeing.csv"
    shutil.copyfile(files[0], agreeing)
    sidecar = json.loads(files[0].with_suffix(".json").read_text())
    walk = sidecar["result"]["walk"]
    (gate,) = walk["crossings"]  # from standing: the gate at 3 m times the walk from the go
    gate["at_s"] = walk["timed_to_m"] / trials[0]["walk"]["imu_estimate_withheld"]["walking_speed_m_s"]
    agreeing.with_suffix(".json").write_text(json.dumps(sidecar))
    status, stdout, _ = _gait(capsys, agreeing)
    result = json.loads(stdout)[0]
    assert status == 0 and "estimate_withheld" not in result
    assert round(result["metrics"]["walking_speed_m_s"], 3) == trials[0]["walk"]["imu_estimate_withheld"]["walking_speed_m_s"]
    assert result["metrics"]["step_length_m"] > 0.3


def test_analyze_on_a_walk_trials_file_says_it_is_a_walk_and_to_run_gait(walk_out, capsys):
    """analyze measures sway from the plate, where nobody stood in a walk test: the file read "line 2, column ap_cm:
    NaN (COP undefined: plate unloaded?)", without what to do. Now one line naming the walk and the command; a
    file without a sidecar keeps the reader's words."""
    out, _ = walk_out
    csv_path = sorted(out.glob("*.csv"))[0]
    capsys.readouterr()
    status = main(["analyze", str(csv_path), "-j1"])
    captured = capsys.readouterr()
    (result,) = json.loads(captured.out)
    assert status == 1
    assert result["error"] == ("a walk test's recording: nobody stood on the plate while the patient walked, so it holds "
                               "no centre of pressure and no sway for analyze to measure; for its gait and steps run: "
                               f"balance-station gait {csv_path}")
    assert captured.err.splitlines()[0] == f"balance-station analyze: {csv_path}: {result['error']}"
    bare = out.parent / "bare.csv"  # the same rows without the sidecar: nothing says it is a walk
    shutil.copyfile(csv_path, bare)
    status = main(["analyze", str(bare), "-j1"])
    (result,) = json.loads(capsys.readouterr().out)
    assert status == 1 and result["error"].endswith("column ap_cm: NaN (COP undefined: plate unloaded?)")


@pytest.mark.parametrize("protocol, fault, reason", [
    ("backward-walk-3m", "stall:2:7", "the station measured nothing for the last 3.7 s of the trial"),
    ("backward-walk-3m-5m", "stall:2.5:8", "the station stopped receiving data 2.5 s after the go (nothing for 5.0 s)"),
])
def test_gait_on_a_walk_that_ended_in_a_stall_gives_none_with_the_trials_reason(tmp_path_factory, capsys, protocol,
                                                                                fault, reason):
    """backward-walk-3m --seed 1 --fault stall:2:7: the station measured nothing from 2.0 s after the go to past the
    gate (3.7 s) and the trial's end, so the trial gives no gait (null) and says why. Its file holds the 2.0 s before
    the stall, without a gap: gait on it said "steps: 0", a claim the walk does not support. Now null as in the trial,
    with the trial's reason, in JSON and CSV. The same when the station's data was lost for good (5 s without a
    frame, before the 3-m backward walk over 5 m ended): the trial's words for the loss, not 'steps not found'."""
    out, trials = _trial_out(tmp_path_factory, "--seed", "1", "--fault", fault, protocol=protocol)
    walk = trials[0]["walk"]
    assert trials[0]["metrics"]["metrics"]["steps"] is None
    path = sorted(out.glob("*.csv"))[0]
    status, stdout, err = _gait(capsys, path)
    (result,) = json.loads(stdout)
    assert status == 0 and err == ""
    assert all(result["metrics"][key] is None for key in GAIT_KEYS_COMPARED) and result["initial_contacts_s"] == []
    assert result["gaps"]["words"] == walk["imu_gaps"]["words"]
    assert reason in result["gaps"]["words"]
    status, stdout, _ = _gait(capsys, path, "--format", "csv")
    row = next(csv.DictReader(io.StringIO(stdout)))
    assert row["steps"] == "" and row["gap_words"] == walk["imu_gaps"]["words"]


@pytest.mark.parametrize("damage, said", [
    (lambda gate: gate.update(gate="x"), "(a value that is not a number: 'x')"),
    (lambda gate: gate.pop("position_m"), "(no position_m)"),
])
def test_gait_on_a_walk_file_whose_sidecar_crossings_are_damaged_says_so_in_one_line(walk_out, tmp_path, capsys,
                                                                                      damage, said):
    """An edited or damaged sidecar's gate crossing read "invalid literal for int() with base 10: 'x'" (Python's
    words) or "unexpected error (KeyError ...)": now what is wrong with the file and what to do, the batch going on
    to the next file (here the walk's own, whole)."""
    out, _ = walk_out
    whole = sorted(out.glob("*.csv"))[0]
    damaged = tmp_path / "damaged.csv"
    shutil.copyfile(whole, damaged)
    sidecar = json.loads(whole.with_suffix(".json").read_text())
    damage(sidecar["result"]["walk"]["crossings"][0])
    damaged.with_suffix(".json").write_text(json.dumps(sidecar))
    status, stdout, stderr = _gait(capsys, damaged, whole)
    bad, good = json.loads(stdout)
    assert status == 1 and "metrics" in good
    assert bad["error"] == (f"its sidecar's light-gate crossings cannot be read {said}: the trial's walk cannot be "
                            "judged again; use the sidecar the station wrote, or move the sidecar away to analyse the "
                            "recording alone")
    assert f"balance-station gait: {damaged}: {bad['error']}" in stderr.splitlines()
    assert "Traceback" not in stderr
