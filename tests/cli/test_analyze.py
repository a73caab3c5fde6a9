"""``balance-station analyze``: formats, defaults, exit codes, and every bad input as one line."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from station.analysis.metrics import METRIC_KEYS
from station.cli import main
from station.batch import ProgressBar
from station.store.trialfile import write_trial_csv

BDS = Path(__file__).resolve().parents[3] / "shared" / "data" / "bds"  # DESIGN.md: ../shared/data/bds


def run(capsys, *argv):
    status = main(["analyze", *map(str, argv)])
    out, err = capsys.readouterr()
    return status, out, err


def station_trial(path: Path, seconds=30.0, fs=100.0, seed=0, corners=True, still=False):
    rng = np.random.default_rng(seed)
    n = int(seconds * fs)
    ap = np.full(n, 2.0) if still else np.cumsum(rng.normal(0, 0.01, n))
    ml = np.full(n, -1.0) if still else np.cumsum(rng.normal(0, 0.01, n))
    cols = {"time_s": np.arange(n) / fs, "ap_cm": ap, "ml_cm": ml}
    if corners:
        cols.update(fz_n=np.full(n, 700.0), fl_n=np.full(n, 200.0), fr_n=np.full(n, 150.0),
                    bl_n=np.full(n, 200.0), br_n=np.full(n, 150.0))
    write_trial_csv(path, cols, {"rate_hz": fs})
    return path


def test_directory_of_santos_duarte_trials_defaults_to_raw_and_reproduces_published(capsys):
    status, out, err = run(capsys, BDS)
    assert status == 0
    results = json.loads(out)
    assert [Path(r["file"]).name for r in results] == sorted(p.name for p in BDS.glob("BDS*.txt"))
    published = {r["Trial"]: r for r in csv.DictReader(open(BDS / "BDSinfoCOP-subset.tsv"), delimiter="\t")}
    for r in results:
        assert set(r) == {"file", "fs_hz", "samples", "profile", "version", "metrics"}
        assert r["profile"] == "raw" and r["fs_hz"] == 100.0 and r["samples"] == 6000
        assert list(r["metrics"]) == list(METRIC_KEYS)
        row = published[Path(r["file"]).stem]
        assert r["metrics"]["ellipse_area_cm2"] == pytest.approx(float(row["COParea"]), rel=1e-9)
        assert r["metrics"]["mean_power_frequency_hz"] == pytest.approx(float(row["COPmfreq"]), rel=1e-9)
    assert "skipped 3 file(s) that are not trial files" in err  # the README, norms and info tables


def test_station_csv_defaults_to_station_profile_with_weight_bearing(tmp_path, capsys):
    from station import __version__

    trial = station_trial(tmp_path / "t.csv")
    status, out, _ = run(capsys, trial)
    assert status == 0
    (r,) = json.loads(out)
    assert r["profile"] == "station" and r["version"] == __version__
    assert r["metrics"]["weight_left_pct"] == pytest.approx(400 / 700 * 100)
    status, out, _ = run(capsys, trial, "--profile", "raw")
    assert json.loads(out)[0]["profile"] == "raw"


def test_csv_format_and_out_file(tmp_path, capsys):
    good = station_trial(tmp_path / "good.csv")
    missing = tmp_path / "missing.csv"
    out_file = tmp_path / "result.csv"
    status, out, err = run(capsys, good, missing, "--format", "csv", "--out", out_file)
    assert status == 1 and out == ""
    rows = list(csv.DictReader(io.StringIO(out_file.read_text())))
    assert len(rows) == 2
    assert list(rows[0])[:6] == ["file", "fs_hz", "samples", "profile", "version", "error"]
    assert list(rows[0])[6:-1] == list(METRIC_KEYS) and list(rows[0])[-1] == "incomplete"
    assert rows[0]["incomplete"] == ""  # a whole trial (no sidecar status)
    assert rows[0]["error"] == "" and float(rows[0]["path_length_cm"]) > 0
    assert rows[1]["error"] == "no such file or directory" and rows[1]["path_length_cm"] == ""


def _write(path: Path, content: bytes | str) -> Path:
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def _rows(n, fmt="{t:.2f},0.1,0.2\n", fs=100):
    return "".join(fmt.format(t=i / fs) for i in range(n))


BAD = {
    "empty.csv": ("", "empty file"),
    "header_only.csv": ("time_s,ap_cm,ml_cm\n", "header only"),
    "unknown_columns.csv": ("when,x,y\n0,1,2\n", "unrecognised header"),
    "missing_column.csv": ("time_s,ap_cm\n" + _rows(5, "{t:.2f},0.1\n"), "missing column(s) ml_cm"),
    "text.csv": ("time_s,ap_cm,ml_cm\n" + _rows(3) + "0.03,left,0.2\n", "line 5, column ap_cm: 'left' is not a number"),
    "nan.csv": ("time_s,ap_cm,ml_cm\n" + _rows(3) + "0.03,nan,0.2\n", "line 5, column ap_cm: NaN"),
    "inf.csv": ("time_s,ap_cm,ml_cm\n" + _rows(3) + "0.03,0.1,-inf\n", "line 5, column ml_cm: infinite value"),
    "gap.csv": ("time_s,ap_cm,ml_cm\n" + _rows(3) + "0.30,0.1,0.2\n", "gap in time_s after 0.02 s: 27 samples lost"),
    "backwards.csv": ("time_s,ap_cm,ml_cm\n" + _rows(3) + "0.01,0.1,0.2\n", "line 5: time_s not increasing"),
    "short.csv": ("time_s,ap_cm,ml_cm\n" + _rows(500), "recording too short: 500 samples = 5.00 s at 100 Hz; "
                  "the metrics need at least 10 s (1000 samples)"),
    "binary.csv": (bytes(range(256)) * 8, "binary file"),
    "far.csv": ("time_s,ap_cm,ml_cm\n" + _rows(1500, "{t:.2f},1e308,0.2\n"),
                "ap_cm at 0.00 s is 1e+308 cm: outside any plate (at most ±110 cm from its centre), so not a "
                "recording on a force plate"),  # was analysed: ellipse 0.0, exit 0
    "far_ml.csv": ("time_s,ap_cm,ml_cm\n" + _rows(1500, "{t:.2f},0.1,-250\n"), "ml_cm at 0.00 s is -250 cm: outside any"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_is_one_line_naming_the_file_and_the_batch_goes_on(tmp_path, capsys, name):
    content, problem = BAD[name]
    bad = _write(tmp_path / name, content)
    good = station_trial(tmp_path / "good.csv")
    status, out, err = run(capsys, bad, good)
    assert status == 1
    results = json.loads(out)
    assert results[0] == {"file": str(bad), "error": results[0]["error"]}
    assert problem in results[0]["error"]
    assert "metrics" in results[1]  # the good file after the bad one was analysed
    lines = err.strip().splitlines()
    assert lines[0] == f"balance-station analyze: {bad}: {results[0]['error']}"
    assert lines[-1] == "balance-station analyze: 1 of 2 file(s) failed"
    assert "Traceback" not in err


def test_a_cop_outside_the_sidecars_plate_is_refused(tmp_path, capsys):
    """The sidecar's plate (DESIGN.md §4: the COP at most half its depth or width from its centre)."""
    fs, n = 100.0, 1500
    t = np.arange(n) / fs
    ml = np.zeros(n)
    ml[700] = 23.0  # 23 cm right of the centre of a 40 cm wide plate
    plate = {"rate_hz": fs, "plate": {"width_cm": 40.0, "depth_cm": 40.0}}
    outside, inside, wide = tmp_path / "outside.csv", tmp_path / "inside.csv", tmp_path / "wide.csv"
    write_trial_csv(outside, {"time_s": t, "ap_cm": np.zeros(n), "ml_cm": ml}, plate)
    ml[700] = 21.0  # on the plate: analysed
    write_trial_csv(inside, {"time_s": t, "ap_cm": np.zeros(n), "ml_cm": ml}, plate)
    write_trial_csv(wide, {"time_s": t, "ap_cm": np.zeros(n), "ml_cm": ml * 4},
                    {"rate_hz": fs, "plate": {"width_cm": 200.0, "depth_cm": 40.0}})
    status, out, err = run(capsys, outside, inside, wide)
    assert status == 1
    bad, good, also_good = json.loads(out)
    assert bad["error"] == ("ml_cm at 7.00 s is 23 cm: outside its 40 x 40 cm plate (at most ±22 cm from its centre), "
                            "so not a recording on a force plate")
    assert "metrics" in good and "metrics" in also_good
    assert err.strip().splitlines()[0] == f"balance-station analyze: {outside}: {bad['error']}"


def test_path_that_does_not_exist(tmp_path, capsys):
    status, out, err = run(capsys, tmp_path / "nope.csv")
    assert status == 1
    assert json.loads(out) == [{"file": str(tmp_path / "nope.csv"), "error": "no such file or directory"}]
    assert f"{tmp_path / 'nope.csv'}: no such file or directory" in err


def test_directory_without_trial_files(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("nothing to see\n")
    status, out, err = run(capsys, tmp_path)
    assert status == 1
    assert "no trial files" in json.loads(out)[0]["error"]


def test_signal_without_sway_is_analysed_with_nulls(tmp_path, capsys):
    trial = station_trial(tmp_path / "still.csv", still=True)
    status, out, _ = run(capsys, trial)
    assert status == 0
    assert '"mean_frequency_hz": null' in out
    metrics = json.loads(out)[0]["metrics"]
    assert metrics["path_length_cm"] == 0.0 and metrics["sda_h_short_r"] is None


@pytest.mark.parametrize(
    "argv,needle",
    [
        ([], "required"),
        (["x.csv", "--profile", "smooth"], "invalid choice"),
        (["x.csv", "--format", "xml"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(capsys, argv, needle):
    with pytest.raises(SystemExit) as info:
        main(["analyze", *argv])
    assert info.value.code == 2
    assert needle in capsys.readouterr().err


def test_out_in_missing_directory_is_a_usage_error(tmp_path, capsys):
    good = station_trial(tmp_path / "good.csv")
    status, out, err = run(capsys, good, "--out", tmp_path / "no" / "such" / "out.json")
    assert status == 2 and out == ""
    assert "does not exist" in err and len(err.strip().splitlines()) == 1


def test_progress_bar_only_on_a_terminal_for_long_batches_with_rate_and_time_left():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    now = [100.0]
    quiet = io.StringIO()
    bar = ProgressBar(50, quiet, clock=lambda: now[0])
    bar.update(3)
    assert quiet.getvalue() == ""
    tty = Tty()
    bar = ProgressBar(50, tty, clock=lambda: now[0])
    now[0] += 5.0  # 25 files in 5 s: 5 files/s, 25 left = 5 s
    bar.update(25)
    line = tty.getvalue()
    assert line.startswith("\r") and "25/50" in line
    assert "5.0 files/s" in line and "0:05 left" in line
    now[0] += 0.01
    bar.update(26)  # redrawn at most 10 times a second
    assert tty.getvalue() == line
    bar.clear()
    assert tty.getvalue().endswith("\r")
    short = Tty()
    ProgressBar(3, short).update(1)
    assert short.getvalue() == ""


def test_installed_command_prints_no_traceback(tmp_path):
    bad = _write(tmp_path / "bad.csv", "time_s,ap_cm,ml_cm\n0,1,x\n")
    proc = subprocess.run(
        [sys.executable, "-m", "station.cli", "analyze", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert f"{bad}: line 2, column ml_cm: 'x' is not a number" in proc.stderr


def test_a_named_pipe_or_broken_link_in_a_directory_is_said_as_skipped_not_passed_over(tmp_path, capsys):
    import os

    station_trial(tmp_path / "a.csv")
    os.mkfifo(tmp_path / "b.csv")  # opened, it would hang the batch; before, it was passed over without a word
    (tmp_path / "c.csv").symlink_to(tmp_path / "gone.csv")
    status, out, err = run(capsys, tmp_path)
    assert status == 0 and [Path(r["file"]).name for r in json.loads(out)] == ["a.csv"]
    assert "skipped 2 file(s) that are not trial files (b.csv (not a regular file), c.csv (not a regular file))" in err, err
