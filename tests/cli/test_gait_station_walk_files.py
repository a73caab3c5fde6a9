"""``balance-station gait`` on the files ``trial --out`` wrote for a walk test gives the trial's own gait,
the step length and walking speed the station withheld included (DESIGN.md §8; README, walk tests); ``analyze``
on them says they are a walk's and what to run instead."""

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


@pytest.fixture(scope="module")
def walk_out(tmp_path_factory):
    """The older walker's 3-m backward walk (seed 0) written by ``trial --out``: (folder, its results.json's trials)."""
    tmp_path = tmp_path_factory.mktemp("walk")
    out = tmp_path / "out"
    out.mkdir()
    status = main(["trial", "--protocol", "backward-walk-3m", "--simulate", "--seed", "0", "--gait", "older",
                   "--quiet", "--out", str(out), "--data-dir", str(tmp_path / "data")])
    assert status == 0
    return out, json.loads((out / "results.json").read_text())["trials"]


def test_gait_on_a_walk_trials_files_gives_the_trials_numbers_and_withholds_as_it_did(walk_out, tmp_path, capsys):
    """The older walker's 3-m backward walk (seed 0): the lower-back sensor's pendulum says 0.82 m/s where the
    gate timed 0.60 m/s (38 % above), so the trial gives no step length nor walking speed. Re-analysed, the
    files gave them (0.42 m, 0.82 m/s) with no word of doubt; now null as in the trial, the estimate kept in
    ``estimate_withheld`` with the trial's own warning, in JSON and in the CSV's last column. A file whose
    walk speed agrees with the estimate keeps both."""
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
    status, stdout, _ = _gait(capsys, files[0], "--format", "csv")
    row = next(csv.DictReader(io.StringIO(stdout)))
    assert status == 0 and row["step_length_m"] == "" and row["walking_speed_m_s"] == ""
    assert row["estimate_withheld"] == trials[0]["walk"]["imu_estimate_withheld"]["words"]
    assert "38 % above the light gates' measured 0.60 m/s" in row["estimate_withheld"]

    # the same recording, its walk said to have gone at the sensor's own estimate: given, nothing withheld
    agreeing = tmp_path / "agreeing.csv"
    shutil.copyfile(files[0], agreeing)
    sidecar = json.loads(files[0].with_suffix(".json").read_text())
    sidecar["result"]["walk"]["walk_speed_m_s"] = trials[0]["walk"]["imu_estimate_withheld"]["walking_speed_m_s"]
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
