"""``balance-station gait``: output shapes, mounting and height, station trials, and every bad
file as one line naming it, without stopping the batch."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from station.analysis.gait import GAIT_KEYS
from station.cli import main
from station.batch import ProgressBar
from station.commands.gait import PROGRESS_MIN_FILES
from station.store.trialfile import write_trial_csv

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "gait"
IMU = ("ax_m_s2", "ay_m_s2", "az_m_s2", "gx_deg_s", "gy_deg_s", "gz_deg_s")
METRIC_KEYS = [k for k in GAIT_KEYS if k != "initial_contacts_s"]


def run(capsys, *argv):
    status = main(["gait", *map(str, argv)])
    out, err = capsys.readouterr()
    return status, out, err


def walking_imu(seconds=20.0, fs=100.0, step_s=0.55, start_s=3.0, flip_up=False):
    """Sensor-axis IMU samples of a walk (x up, y right, z toes), impacts at known contacts."""
    t = np.arange(int(seconds * fs)) / fs
    contacts = np.arange(start_s, seconds - 3.0, step_s)
    v = np.full(t.shape, 9.81)
    for ic in contacts:
        tau = t - ic
        on = (tau >= 0) & (tau < 1.0)
        v[on] += 3.0 * (np.exp(-tau[on] / 0.12) - np.exp(-tau[on] / 0.015)) / 0.75
    acc = np.column_stack((v, 0.3 * np.sin(np.pi * t / step_s), 0.8 * np.sin(2 * np.pi * t / step_s)))
    if flip_up:
        acc[:, 0] *= -1
    gyro = np.column_stack((np.zeros_like(t), 5 * np.sin(np.pi * t / step_s), np.zeros_like(t)))
    return t, acc, gyro, contacts


def write_imu_csv(path: Path, *, sidecar: dict | None = None, t0=0.0, **kw) -> np.ndarray:
    t, acc, gyro, contacts = walking_imu(**kw)
    lines = ["time_s," + ",".join(IMU)]
    for row in zip(t + t0, *acc.T, *gyro.T):
        lines.append(",".join(f"{v:.6g}" for v in row))
    path.write_text("\n".join(lines) + "\n")
    if sidecar is not None:
        path.with_suffix(".json").write_text(json.dumps(sidecar))
    return contacts + t0


@pytest.mark.skipif(not DATA.is_dir(), reason="shared gait data not found")
def test_shared_data_directory_gives_one_result_per_recording(capsys):
    status, out, err = run(capsys, DATA)
    assert status == 0
    results = json.loads(out)
    assert [Path(r["file"]).name for r in results] == sorted(p.name for p in DATA.glob("*.csv"))
    for r in results:
        assert list(r) == ["file", "fs_hz", "samples", "version", "initial_contacts_s", "metrics"]
        assert r["fs_hz"] == 100.0
        assert list(r["metrics"]) == METRIC_KEYS
        assert r["metrics"]["steps"] == len(r["initial_contacts_s"]) > 0
        assert r["metrics"]["walking_speed_m_s"] is not None  # sensor height from the sidecar
    assert "skipped 2 file(s) that are not trial files" in err  # README.md and the licence


def test_contacts_are_on_the_file_time_axis_and_match_the_walk(tmp_path, capsys):
    contacts = write_imu_csv(tmp_path / "walk.csv", sidecar={"rate_hz": 100.0}, t0=1000.0)
    status, out, _err = run(capsys, tmp_path / "walk.csv")
    assert status == 0
    (r,) = json.loads(out)
    np.testing.assert_allclose(r["initial_contacts_s"], contacts, atol=0.02)
    assert r["metrics"]["cadence_steps_min"] == pytest.approx(60 / 0.55, abs=0.5)
    assert r["metrics"]["walking_speed_m_s"] is None  # no sensor height anywhere


def test_sensor_height_from_option_overrides_sidecar(tmp_path, capsys):
    write_imu_csv(tmp_path / "walk.csv", sidecar={"rate_hz": 100.0, "sensor_height_m": 0.8})
    _s, out, _e = run(capsys, tmp_path / "walk.csv")
    low = json.loads(out)[0]["metrics"]["step_length_m"]
    _s, out, _e = run(capsys, tmp_path / "walk.csv", "--sensor-height-m", "1.1")
    high = json.loads(out)[0]["metrics"]["step_length_m"]
    assert low is not None and high > low


def test_csv_format_has_one_row_per_file_and_the_error_column(tmp_path, capsys):
    write_imu_csv(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("time_s,ax_m_s2\n")
    status, out, err = run(capsys, tmp_path, "--format", "csv")
    assert status == 1
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["file", "fs_hz", "samples", "version", "error", "samples_lost", *METRIC_KEYS,
                             "initial_contacts_s", "incomplete", "estimate_withheld", "gap_words"]
    assert rows[0]["error"] == "" and int(rows[0]["steps"]) > 10 and rows[0]["samples_lost"] == "0"
    assert rows[1]["samples_lost"] == ""
    assert len(rows[0]["initial_contacts_s"].split()) == int(rows[0]["steps"])
    assert rows[1]["error"] and rows[1]["cadence_steps_min"] == ""


def test_station_trial_csv_with_leading_frames_before_the_imu(tmp_path, capsys):
    t, acc, gyro, contacts = walking_imu()
    n = t.size
    cols = {"time_s": t + 5.0, "ap_cm": np.zeros(n), "ml_cm": np.zeros(n), "fz_n": np.full(n, 700.0)}
    for k, name in enumerate(IMU):
        values = (acc if k < 3 else gyro)[:, k % 3].copy()
        values[:3] = np.nan  # the IMU's first sample arrives after three frames
        cols[name] = values
    cols["flags"] = np.zeros(n, dtype=np.uint32)
    write_trial_csv(tmp_path / "trial.csv", cols, {"rate_hz": 100.0, "sensor_height_m": 0.95,
                                                   "imu": {"mounting_up": "+x", "mounting_toes": "+z"}})
    status, out, err = run(capsys, tmp_path / "trial.csv")
    assert status == 0, err
    (r,) = json.loads(out)
    assert r["samples"] == n - 3
    np.testing.assert_allclose(r["initial_contacts_s"], contacts + 5.0, atol=0.02)
    assert r["metrics"]["walking_speed_m_s"] is not None


def test_station_trial_with_lost_frames_is_bridged_counted_and_keeps_the_steps_in_time(tmp_path, capsys):
    t, acc, gyro, contacts = walking_imu()
    n = t.size
    seq = 7000 + np.arange(n)
    keep = np.ones(n, bool)
    keep[812:818] = False  # six frames lost (0.06 s) between two steps
    imu = np.column_stack((acc, gyro))
    cols = {"time_s": (seq - seq[0]) / 100.0, "ap_cm": np.zeros(n), "ml_cm": np.zeros(n), "fz_n": np.full(n, 700.0)}
    cols.update({name: imu[:, k].copy() for k, name in enumerate(IMU)})
    cols["seq"] = seq
    side = {"rate_hz": 100.0, "imu": {"mounting_up": "+x", "mounting_toes": "+z"}}
    write_trial_csv(tmp_path / "whole.csv", cols, side)
    for name in IMU:
        cols[name][1404:1408] = np.nan  # four frames without an IMU reading
    write_trial_csv(tmp_path / "lost.csv", {k: v[keep] for k, v in cols.items()}, side)
    status, out, err = run(capsys, tmp_path / "whole.csv", tmp_path / "lost.csv")
    assert status == 0, err
    whole, lost = json.loads(out)
    assert "gaps" not in whole
    assert list(lost) == ["file", "fs_hz", "samples", "version", "initial_contacts_s", "metrics", "gaps"]
    assert list(lost["metrics"]) == METRIC_KEYS  # the count sits beside the metrics, not among them
    assert lost["samples"] == n  # nothing closed up: every step keeps its time
    assert {k: lost["gaps"][k] for k in ("samples_lost", "gaps", "longest_gap_s", "samples_dropped_at_end")} == \
        {"samples_lost": 10, "gaps": 2, "longest_gap_s": 0.06, "samples_dropped_at_end": 0}
    np.testing.assert_allclose(lost["initial_contacts_s"], contacts, atol=0.02)
    assert lost["metrics"]["steps"] == whole["metrics"]["steps"]
    assert lost["metrics"]["cadence_steps_min"] == pytest.approx(whole["metrics"]["cadence_steps_min"], abs=0.2)
    status, out, _err = run(capsys, tmp_path / "lost.csv", "--format", "csv")
    (row,) = csv.DictReader(io.StringIO(out))
    assert row["samples_lost"] == "10"


def test_accelerometer_only_recordings_are_read(tmp_path, capsys):
    t, acc, _gyro, contacts = walking_imu()
    lines = ["time_s,ax_m_s2,ay_m_s2,az_m_s2"] + [",".join(f"{v:.6g}" for v in row) for row in zip(t, *acc.T)]
    (tmp_path / "acc_only.csv").write_text("\n".join(lines) + "\n")
    lines = ["time_s," + ",".join(IMU)] + [",".join(f"{v:.6g}" for v in row) + ",nan,nan,nan" for row in zip(t, *acc.T)]
    (tmp_path / "nan_gyro.csv").write_text("\n".join(lines) + "\n")
    status, out, err = run(capsys, tmp_path)
    assert status == 0, err
    for r in json.loads(out):
        np.testing.assert_allclose(r["initial_contacts_s"], contacts, atol=0.02)


def test_mounting_that_disagrees_with_gravity_is_an_error_for_that_file(tmp_path, capsys):
    write_imu_csv(tmp_path / "upside.csv", sidecar={"rate_hz": 100.0}, flip_up=True)
    status, out, err = run(capsys, tmp_path / "upside.csv")
    assert status == 1
    (r,) = json.loads(out)
    assert r["error"].startswith("IMU mounting: configured up axis +x points 180°")
    assert "upside down" in r["error"]
    status, out, _err = run(capsys, tmp_path / "upside.csv", "--mounting-up=-x")
    assert status == 0 and json.loads(out)[0]["metrics"]["steps"] > 10
    (tmp_path / "upside.json").write_text(json.dumps({"rate_hz": 100.0, "mounting_up": "-x"}))
    status, out, _err = run(capsys, tmp_path / "upside.csv")
    assert status == 0


def test_mounting_from_the_configuration_file(tmp_path, capsys):
    write_imu_csv(tmp_path / "upside.csv", flip_up=True)
    config = tmp_path / "station.toml"
    config.write_text('[imu]\nmounting_up = "-x"\nmounting_toes = "-z"\n')
    status, out, err = run(capsys, "--config", config, tmp_path / "upside.csv")
    assert status == 0, err


BAD_FILES = {
    "empty.csv": ("", "empty file"),
    "header.csv": ("time_s," + ",".join(IMU) + "\n", "header only, no samples"),
    "noimu.csv": ("time_s,ap_cm,ml_cm\n0,0,0\n0.01,0,0\n", "no IMU acceleration (missing column(s) ax_m_s2"),
    "text.csv": ("time_s," + ",".join(IMU) + "\n0,1,2,3,4,5,6\n0.01,1,x,3,4,5,6\n", "line 3, column ay_m_s2: 'x' is not a number"),
    "short.csv": ("time_s," + ",".join(IMU) + "\n" + "".join(f"{i/100},9.8,0,0,0,0,0\n" for i in range(50)),
                  "recording too short for gait analysis"),
    "gap.csv": ("time_s," + ",".join(IMU) + "\n" + "".join(f"{i/100 + (1 if i > 300 else 0)},9.8,0,0,0,0,0\n" for i in range(600)),
                "IMU data missing for 1 s after time_s 3 s (line 302): 100 lost frame(s), a gap in time_s"),
    "stopped.csv": ("time_s," + ",".join(IMU) + "\n" + "".join(
        f"{i/100},{'nan' if 250 < i < 280 else 9.8},0,0,0,0,0\n" for i in range(600)),
        "IMU data missing for 0.29 s after time_s 2.5 s (line 252): 29 frame(s) without an IMU reading (NaN)"),
    "dropouts.csv": ("time_s," + ",".join(IMU) + "\n" + "".join(
        f"{i/100},{'nan' if i >= 100 and i % 100 < 3 else 9.8},0,0,0,0,0\n" for i in range(600)),
        "15 of 600 IMU samples missing (2.5 %, in 5 short gap(s), the first after time_s 0.99 s (line 101)); "
        "more than 1 % cannot be bridged"),
    "inf.csv": ("time_s," + ",".join(IMU) + "\n0,9.8,inf,0,0,0,0\n0.01,9.8,0,0,0,0,0\n", "column ay_m_s2: infinite value"),
    "gravity_in_g.csv": ("time_s," + ",".join(IMU) + "\n" + "".join(f"{i/100},1.0,0,0,0,0,0\n" for i in range(600)),
                         "acceleration in g instead of m/s²"),
}


def test_an_incomplete_trial_is_analysed_and_said_so_in_analyzes_words(tmp_path, capsys):
    """A trial ``trial --out`` was stopped in (its sidecar ``status: "partial"``) is analysed, and said
    incomplete as ``analyze`` says it: the JSON key, the CSV's last column and one line on stderr; the
    batch goes on and the exit status stays 0 (the file is not a failure)."""
    write_imu_csv(tmp_path / "a_whole.csv", sidecar={"rate_hz": 100.0, "status": "complete"})
    write_imu_csv(tmp_path / "b_cut.csv", seconds=12.0,
                  sidecar={"rate_hz": 100.0, "status": "partial", "status_reason": "interrupted: the program was stopped"})
    write_imu_csv(tmp_path / "c_after.csv")
    words = ("incomplete (partial: interrupted: the program was stopped): the measures cover the 12.0 s recorded, "
             "not the whole trial")
    status, out, err = run(capsys, tmp_path, "-j1")
    assert status == 0
    whole, cut, after = json.loads(out)
    assert "incomplete" not in whole and "incomplete" not in after and "metrics" in after
    assert cut["incomplete"] == words and cut["metrics"]["steps"] > 0
    assert err == f"balance-station gait: {tmp_path / 'b_cut.csv'}: {words}\n"
    status, out, err = run(capsys, tmp_path, "--format", "csv", "-j1")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert status == 0 and [r["incomplete"] for r in rows] == ["", words, ""]
    assert err == f"balance-station gait: {tmp_path / 'b_cut.csv'}: {words}\n"


def test_every_bad_file_is_one_line_naming_it_and_the_batch_goes_on(tmp_path, capsys):
    for name, (text, _) in BAD_FILES.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "binary.csv").write_bytes(b"\x00\x01time_s\x00")
    write_imu_csv(tmp_path / "zz_good.csv")
    missing = tmp_path / "missing.csv"
    status, out, err = run(capsys, tmp_path, missing)
    assert status == 1
    results = {Path(r["file"]).name: r for r in json.loads(out)}
    assert "metrics" in results["zz_good.csv"]
    for name, (_text, expected) in BAD_FILES.items():
        assert expected in results[name]["error"], (name, results[name]["error"])
    assert "binary file" in results["binary.csv"]["error"]
    assert "no such file" in results["missing.csv"]["error"]
    lines = err.strip().splitlines()
    failed = len(BAD_FILES) + 2
    assert lines[-1] == f"balance-station gait: {failed} of {failed + 1} file(s) failed"
    for name in [*BAD_FILES, "binary.csv", "missing.csv"]:
        assert sum(1 for line in lines if line.startswith("balance-station gait: ") and name in line) == 1
    assert "Traceback" not in err


def test_sidecar_problems_are_named(tmp_path, capsys):
    write_imu_csv(tmp_path / "a.csv", sidecar={"rate_hz": 100.0, "sensor_height_m": -1})
    write_imu_csv(tmp_path / "b.csv", sidecar={"rate_hz": 100.0, "mounting_toes": "forward"})
    write_imu_csv(tmp_path / "c.csv", sidecar={"rate_hz": 50.0})
    (tmp_path / "d.csv").write_text((tmp_path / "a.csv").read_text())
    (tmp_path / "d.json").write_text("{not json")
    status, out, _err = run(capsys, tmp_path)
    assert status == 1
    errors = {Path(r["file"]).name: r["error"] for r in json.loads(out)}
    assert "sidecar sensor_height_m -1 is not a positive number of metres" in errors["a.csv"]
    assert "sidecar mounting_toes 'forward' is not one of" in errors["b.csv"]
    assert "sidecar rate_hz 50 disagrees with the time steps" in errors["c.csv"]
    assert "sidecar d.json is not valid JSON" in errors["d.csv"]


def test_usage_errors_exit_2(tmp_path, capsys):
    write_imu_csv(tmp_path / "a.csv")
    status, _out, err = run(capsys, tmp_path / "a.csv", "--sensor-height-m", "4")
    assert status == 2 and "not a plausible height" in err
    status, _out, err = run(capsys, tmp_path / "a.csv", "--out", tmp_path / "nodir" / "x.json")
    assert status == 2 and "does not exist" in err
    status, _out, err = run(capsys, tmp_path / "a.csv", "--mounting-up=+z", "--mounting-toes=-z")
    assert status == 2 and "different sensor axes" in err
    with pytest.raises(SystemExit) as exc:
        main(["gait", str(tmp_path / "a.csv"), "--mounting-up", "up"])
    assert exc.value.code == 2


def test_out_file_is_written_and_stdout_stays_empty(tmp_path, capsys):
    write_imu_csv(tmp_path / "a.csv")
    target = tmp_path / "res.json"
    status, out, _err = run(capsys, tmp_path / "a.csv", "--out", target)
    assert status == 0 and out == ""
    assert json.loads(target.read_text())[0]["metrics"]["steps"] > 10


def test_directory_without_recordings_is_an_error(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello\n")
    status, out, err = run(capsys, tmp_path)
    assert status == 1
    assert "no IMU recordings" in json.loads(out)[0]["error"]


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal_only():
    tty = _Tty()
    bar = ProgressBar(3, stream=tty, label="gait", min_files=PROGRESS_MIN_FILES)
    bar.update(1)
    bar.clear()
    assert "gait [" in tty.getvalue() and "1/3" in tty.getvalue()
    pipe = io.StringIO()
    quiet = ProgressBar(3, stream=pipe, label="gait", min_files=PROGRESS_MIN_FILES)
    quiet.update(1)
    assert pipe.getvalue() == ""


def test_bench_gait_without_recordings_says_where_it_looked(tmp_path, capsys):
    status = main(["bench", "gait", "--data", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 1
    assert err.strip() == f"balance-station bench: no IMU recordings (*.csv) in {tmp_path}; give --data DIR (the shared gait data set)"
