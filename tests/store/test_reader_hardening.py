"""The readers of trial and IMU files attacked (DESIGN.md §11): files that are not regular files or
too big, sidecars that break the JSON parser, cheap checks before expensive work, a jump in time
that would allocate the gap, a gyroscope dropout, jittering timestamps, a sidecar rate off the file's
own. Each answer is one line naming the file (and the sidecar, when it is the sidecar's fault)."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from station.analysis.imu_frame import align_to_body
from station.cli import main
from station.commands.gait import analyse_file
from station.store import trialfile as tf
from station.store.imu_recording import read_imu_recording
from station.store.trialfile import TrialFileError, read_trial, write_trial_csv

from memory_peak import traced_peak

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "gait"
REAL = DATA / "HA001-Test5-Trial1"
HEADER = "time_s,ax_m_s2,ay_m_s2,az_m_s2,gx_deg_s,gy_deg_s,gz_deg_s"
needs_data = pytest.mark.skipif(not REAL.with_suffix(".csv").is_file(), reason="shared gait data not found")


def walk_csv(path: Path, *, seconds=20.0, fs=100.0, sidecar: dict | None = None, time_s=None) -> Path:
    """A walk-like IMU recording (x up, z toward the toes) with a step every 0.55 s."""
    n = int(seconds * fs)
    t = np.arange(n) / fs if time_s is None else time_s
    k = np.arange(n) / fs
    acc = np.column_stack((9.81 + 2.0 * np.cos(2 * np.pi * k / 0.55), 0.3 * np.sin(np.pi * k / 0.55),
                           0.8 * np.sin(2 * np.pi * k / 0.55)))
    gyro = np.column_stack((np.zeros(n), 5 * np.sin(np.pi * k / 0.55), np.zeros(n)))
    np.savetxt(path, np.column_stack((t, acc, gyro)), delimiter=",", fmt="%.6f", header=HEADER, comments="")
    if sidecar is not None:
        path.with_suffix(".json").write_text(json.dumps(sidecar))
    return path


def real_copy(folder: Path, name: str, change=None, sidecar_change=None) -> Path:
    """The shared straight walk, its rows changed by ``change(table)`` and its sidecar by
    ``sidecar_change(dict)``."""
    table = np.loadtxt(REAL.with_suffix(".csv"), delimiter=",", skiprows=1)
    meta = json.loads(REAL.with_suffix(".json").read_text())
    if change is not None:
        table = change(table)
    if sidecar_change is not None:
        meta = sidecar_change(meta)
    path = folder / f"{name}.csv"
    np.savetxt(path, table, delimiter=",", fmt="%.6f", header=HEADER, comments="")
    path.with_suffix(".json").write_text(json.dumps(meta))
    return path


def refused(path, reader=read_imu_recording) -> str:
    with pytest.raises(TrialFileError) as err:
        reader(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    return message


def read_within(seconds: float, reader, path: Path, fifo: Path):
    """``reader(path)``'s outcome, failing the test when it is still waiting after ``seconds`` (a
    reader blocked on the pipe is then let go by opening the pipe's other end)."""
    outcome = {}

    def target():
        try:
            outcome["value"] = reader(path)
        except Exception as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # a writer that leaves at once: EOF
        thread.join(5)
        pytest.fail(f"the reader waited on the named pipe {fifo.name} for {seconds} s")
    return outcome


# ---------------------------------------------------------------------------------------------------
# 1. only regular files, of bounded size


@pytest.mark.parametrize("reader", [read_imu_recording, read_trial], ids=["imu", "trial"])
def test_a_named_pipe_as_sidecar_or_as_the_file_is_refused_without_waiting(tmp_path, reader):
    csv = walk_csv(tmp_path / "a.csv")
    if reader is read_trial:
        csv.write_text("time_s,ap_cm,ml_cm\n" + "".join(f"{i / 100},0,0\n" for i in range(50)))
    os.mkfifo(tmp_path / "a.json")
    outcome = read_within(5.0, reader, csv, tmp_path / "a.json")
    assert isinstance(outcome.get("error"), TrialFileError), outcome
    message = str(outcome["error"])
    assert "sidecar a.json is a named pipe (FIFO), not a regular file; fix or remove the sidecar" in message
    os.mkfifo(tmp_path / "p.csv")
    outcome = read_within(5.0, reader, tmp_path / "p.csv", tmp_path / "p.csv")
    assert "is a named pipe (FIFO), not a regular file" in str(outcome["error"])


def test_the_gait_batch_goes_past_a_pipe_to_the_next_file(tmp_path, capsys):
    walk_csv(tmp_path / "a.csv")
    walk_csv(tmp_path / "b.csv")
    os.mkfifo(tmp_path / "a.json")
    outcome = read_within(20.0, lambda p: main(["gait", str(p), "--jobs", "1"]), tmp_path, tmp_path / "a.json")
    assert outcome.get("value") == 1, outcome
    results = {Path(r["file"]).name: r for r in json.loads(capsys.readouterr().out)}
    assert "named pipe" in results["a.csv"]["error"] and "metrics" in results["b.csv"]


def test_a_device_as_sidecar_is_never_read(tmp_path):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    csv = walk_csv(tmp_path / "a.csv")
    os.symlink("/dev/zero", tmp_path / "a.json")  # read whole, it never ends
    message = refused(csv)
    assert "sidecar a.json is a character device, not a regular file; fix or remove the sidecar" in message


def test_a_sidecar_over_its_bound_is_refused_before_it_is_read(tmp_path):
    csv = walk_csv(tmp_path / "a.csv")
    (tmp_path / "a.json").write_text(json.dumps({"rate_hz": 100.0, "notes": "x" * tf.MAX_SIDECAR_BYTES}))
    message = refused(csv)
    assert "sidecar a.json is 1.0 MB, over the 1.0 MB bound: a sidecar is a few kB of JSON" in message


@pytest.mark.parametrize("reader", [read_imu_recording, read_trial], ids=["imu", "trial"])
def test_a_file_over_the_size_bound_is_refused_from_its_size(tmp_path, reader):
    path = tmp_path / "huge.csv"
    with open(path, "w") as f:
        f.write("time_s,ax_m_s2,ay_m_s2,az_m_s2,ap_cm,ml_cm\n0,9.81,0,0,0,0\n")
        f.truncate(tf.MAX_TRIAL_BYTES + 1)  # sparse: nothing is written, nothing must be read
    message = refused(path, reader)
    assert "is 268 MB, over the 268 MB a trial file can be" in message and "cut it into parts" in message


# ---------------------------------------------------------------------------------------------------
# 2. every sidecar problem one line naming it


@pytest.mark.parametrize(
    "text, words",
    [
        ('{"a":' * 5000 + "1" + "}" * 5000, "is not valid JSON for the station (nested too deeply)"),
        ('{"rate_hz": ' + "1" * 5000 + "}", "is not valid JSON for the station (a number of more than 4300 digits)"),
        ('{"sensor_height_m": ' + "1" * 5000 + "}", "is not valid JSON for the station (a number of more than 4300 digits)"),
        ("{bad", "is not valid JSON (Expecting property name"),
        ("[1, 2]", "must hold a JSON object, not list"),
        (b"\xff\xfe{}", "is not UTF-8 text"),
    ],
    ids=["deep", "rate-digits", "height-digits", "bad-json", "not-object", "not-utf8"],
)
def test_a_sidecar_that_breaks_the_parser_is_one_line_naming_it(tmp_path, text, words):
    csv = walk_csv(tmp_path / "x.csv")
    side = tmp_path / "x.json"
    side.write_bytes(text if isinstance(text, bytes) else text.encode())
    for reader in (read_imu_recording, read_trial):
        message = refused(csv, reader)
        assert f"sidecar x.json {words}" in message and message.endswith("; fix or remove the sidecar")
    result = analyse_file(str(csv), sensor_height_m=None, mounting=(None, None), default_mounting=("+x", "+z"),
                          version="test")
    assert "sidecar x.json" in result["error"] and "please report" not in result["error"]


def test_a_number_too_large_for_a_float_is_no_rate_nor_height(tmp_path):
    csv = walk_csv(tmp_path / "x.csv")
    for key in ("rate_hz", "sensor_height_m"):
        (tmp_path / "x.json").write_text('{"%s": %s}' % (key, "9" * 400))  # under the digit limit: an int
        message = refused(csv)
        assert f"sidecar {key} 99999" in message and "(in x.json: correct it or remove it)" in message


def test_only_a_missing_sidecar_is_absent(tmp_path):
    csv = walk_csv(tmp_path / "x.csv")
    assert read_imu_recording(csv).metadata == {}  # none: absent
    os.symlink("x.json", tmp_path / "x.json")  # a link to itself
    assert "sidecar x.json cannot be read (Too many levels of symbolic links); fix or remove" in refused(csv)
    os.remove(tmp_path / "x.json")
    os.symlink("gone.json", tmp_path / "x.json")
    assert "sidecar x.json is a symbolic link to nothing" in refused(csv)
    os.remove(tmp_path / "x.json")
    os.mkdir(tmp_path / "x.json")
    assert "sidecar x.json is a directory, not a regular file" in refused(csv, read_trial)


# ---------------------------------------------------------------------------------------------------
# 3. cheap checks before expensive work; the parse's memory


@pytest.mark.parametrize(
    "sidecar, words",
    [
        ("{bad", "sidecar x.json is not valid JSON"),
        ('{"mounting_up": "+x", "mounting_toes": "-x"}', "must be two different sensor axes (in x.json"),
        ('{"imu": {"mounting_up": "up"}}', "sidecar imu.mounting_up 'up' is not one of"),
        ('{"sensor_height_m": 96.4}', "96.4 is not a plausible height of a lower-back sensor (0.3 to 1.5 m"),
        ('{"rate_hz": "100"}', "sidecar rate_hz '100' is not a positive number (in x.json"),
    ],
)
def test_the_sidecar_is_checked_before_the_numbers_are_parsed(tmp_path, sidecar, words):
    csv = tmp_path / "x.csv"
    csv.write_text(HEADER + "\n" + "0,9.81,0,0,0,0,0\n" * 1000 + "zero,9.81,0,0,0,0,0\n")  # bad on line 1002
    (tmp_path / "x.json").write_text(sidecar)
    message = refused(csv)
    assert words in message and "line 1002" not in message


def test_the_parse_holds_the_file_and_the_table_not_nine_copies(tmp_path):
    path = walk_csv(tmp_path / "long.csv", seconds=600.0)  # 60,000 rows, about 4 MB
    size = path.stat().st_size
    rec, peak = traced_peak(read_imu_recording, path)
    assert rec.samples == 60_000
    # the file's bytes, the parsed table (7 float64 a row, 0.8 times the file here) and the arrays
    # read from it; the text path held about 8 times the file (str, lines, joined lines, StringIO)
    assert peak < 3.5 * size, (peak / size)


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_the_numbers_are_those_of_the_text_parser(tmp_path, newline):
    rng = np.random.default_rng(5)
    rows = np.column_stack((np.arange(500) / 100, rng.normal(9.81, 3, (500, 6))))
    text = HEADER + newline + newline.join(",".join(repr(float(v)) for v in r) for r in rows) + newline + " " + newline
    (tmp_path / "x.csv").write_bytes(("\n  " + newline + text).encode())
    rec = read_imu_recording(tmp_path / "x.csv")
    expected = tf._parse_numbers(Path("x"), text.splitlines()[1:-1], HEADER.split(","), ",", 2)
    assert np.array_equal(rec.time_s, expected[:, 0]) and np.array_equal(rec.acc_m_s2, expected[:, 1:4])
    assert np.array_equal(rec.gyro_deg_s, expected[:, 4:])
    (tmp_path / "y.csv").write_text(HEADER + "\n0,1,2,3,4,5,6\n\n0.01,1,2,3,4,5,6\n")  # a blank line inside
    assert "line 3: blank line inside the data" in refused(tmp_path / "y.csv")


# ---------------------------------------------------------------------------------------------------
# 4. a jump in time_s is refused from the steps, before a grid of its size


@needs_data
@pytest.mark.parametrize("jump_s, frames", [(1e5, "10000000"), (1e7, "1000000000")])
def test_a_jump_in_time_is_refused_in_the_gaps_words_without_building_it(tmp_path, jump_s, frames):
    def jump(table):
        table[600:, 0] += jump_s
        return table

    path = real_copy(tmp_path, "gap", jump)
    message, peak = traced_peak(refused, path)
    assert f"IMU data missing for {jump_s:.3g} s after time_s 5.99 s (line 601): {frames} lost frame(s)" in message
    assert peak < 20e6  # the file is 70 kB; a grid over the gap is 480 MB (1e5 s) or 48 GB (1e7 s)


# ---------------------------------------------------------------------------------------------------
# 5. a gyroscope dropout: gait needs only the acceleration


@needs_data
def test_a_gyroscope_dropout_leaves_the_acceleration_complete_and_the_gait_measured(tmp_path):
    def dropout(table):
        table[500:550, 4:7] = np.nan
        return table

    path = real_copy(tmp_path, "gyro", dropout)
    rec = read_imu_recording(path)
    assert rec.samples == 1246 and np.isfinite(rec.acc_m_s2).all()
    assert np.isnan(rec.gyro_deg_s[500:550]).all() and np.isfinite(rec.gyro_deg_s[:500]).all()
    summary = rec.gap_summary()
    assert summary["samples_lost"] == 0 and summary["gyro_samples_missing"] == 50
    assert "gait uses the acceleration only" in summary["handling"]
    _acc, gyro_body = align_to_body(rec.acc_m_s2, rec.gyro_deg_s, up_axis="+x", toes_axis="+z", fs_hz=rec.fs_hz)
    assert np.isnan(gyro_body[500:550]).all() and np.isfinite(gyro_body[550:]).all()
    whole = analyse_file(str(real_copy(tmp_path, "whole")), sensor_height_m=None, mounting=(None, None),
                         default_mounting=("+x", "+z"), version="test")
    result = analyse_file(str(path), sensor_height_m=None, mounting=(None, None), default_mounting=("+x", "+z"),
                          version="test")
    assert result["metrics"] == whole["metrics"] and result["gaps"]["gyro_samples_missing"] == 50
    # a short dropout is bridged like the acceleration's
    path = real_copy(tmp_path, "short", lambda t: (t.__setitem__((slice(500, 505), slice(4, 7)), np.nan), t)[1])
    rec = read_imu_recording(path)
    assert np.isfinite(rec.gyro_deg_s).all() and rec.gap_summary()["gyro_samples_lost"] == 5


# ---------------------------------------------------------------------------------------------------
# 6. timestamps that jitter are not gaps


@needs_data
def test_jittering_timestamps_are_not_missing_samples(tmp_path):
    rng = np.random.default_rng(0)

    def jitter(table):
        table[:, 0] += rng.normal(0.0, 0.002, table.shape[0])  # sigma 2 ms at 100 Hz
        return table

    rec = read_imu_recording(real_copy(tmp_path, "jit", jitter))
    assert rec.samples == 1246 and rec.gap_summary() is None


def test_jittering_timestamps_keep_their_true_gaps(tmp_path):
    n = 3000
    rng = np.random.default_rng(11)
    t = 50.0 + np.arange(n) / 100 + np.clip(rng.normal(0.0, 0.002, n), -0.0045, 0.0045)  # in order
    keep = np.ones(n, bool)
    keep[[700, 701, 702, 1900]] = False
    rows = np.column_stack((t, np.full(n, 9.81), np.sin(np.arange(n) / 7), np.zeros(n)))[keep]
    np.savetxt(tmp_path / "x.csv", rows, delimiter=",", fmt="%.6f", header="time_s,ax_m_s2,ay_m_s2,az_m_s2",
               comments="")
    (tmp_path / "x.json").write_text('{"rate_hz": 100}')
    rec = read_imu_recording(tmp_path / "x.csv")
    assert rec.samples == n and rec.gap_summary()["samples_lost"] == 4 and rec.gap_summary()["gaps"] == 2
    assert np.isnan(rec.acc_m_s2).sum() == 0 and np.array_equal(rec.time_s[keep], t[keep].round(6))


def test_a_clock_that_drifts_leaves_no_false_gap(tmp_path):
    n = 60_000  # ten minutes at 100 Hz, time_s on a clock 100 ppm fast: 6 periods over the file
    path = walk_csv(tmp_path / "x.csv", seconds=600.0, sidecar={"rate_hz": 100.0},
                    time_s=np.arange(n) / 100 * 1.0001 + np.random.default_rng(2).uniform(-0.002, 0.002, n))
    rec = read_imu_recording(path)
    assert rec.samples == n and rec.gap_summary() is None


def test_two_samples_in_one_period_are_a_timing_problem(tmp_path):
    t = np.arange(1000) / 100
    t = np.insert(t, 400, t[399] + 0.002)  # a row 2 ms after the one before
    path = walk_csv(tmp_path / "x.csv", seconds=10.01, time_s=t)
    message = refused(path)
    assert "line 402: time_s 3.992 s, 0.2 sample periods after the row before (3.99 s)" in message
    assert "two samples in one period" in message


# ---------------------------------------------------------------------------------------------------
# 7. a sidecar rate must be the file's own; contacts on the file's own time axis


@needs_data
def test_a_sidecar_rate_nine_percent_off_the_timestamps_is_refused(tmp_path):
    def resample(table):
        t = np.arange(table[0, 0], table[-1, 0], 1 / 109)
        return np.column_stack([t] + [np.interp(t, table[:, 0], table[:, k]) for k in range(1, 7)])

    path = real_copy(tmp_path, "r109", resample, lambda m: dict(m, rate_hz=100.0))
    message = refused(path)
    assert "sidecar rate_hz 100 disagrees with the time steps: time_s holds 109 samples a second" in message
    assert "rate_hz is 8.3 % below it (a clock drifts by about 0.01 %; at most 2 % is accepted): correct rate_hz in r109.json" in message
    path = real_copy(tmp_path, "r109n", resample, lambda m: {k: v for k, v in m.items() if k != "rate_hz"})
    assert read_imu_recording(path).fs_hz == pytest.approx(109, rel=1e-3)


def test_a_force_plate_trial_whose_sidecar_rate_is_five_percent_off_is_refused(tmp_path):
    path = tmp_path / "t.csv"
    n = 500
    write_trial_csv(path, {"time_s": np.arange(n) / 105.0, "ap_cm": np.zeros(n), "ml_cm": np.zeros(n)},
                    {"rate_hz": 100.0})
    assert "sidecar rate_hz 100 disagrees with the time steps: time_s holds 105 samples a second" in refused(
        path, read_trial)
    write_trial_csv(path, {"time_s": np.arange(n) / 100.0, "ap_cm": np.zeros(n), "ml_cm": np.zeros(n)},
                    {"rate_hz": 100.0})
    assert read_trial(path).fs_hz == 100.0


def test_contacts_are_the_files_own_times(tmp_path):
    n = 2000
    t = 1000.0 + np.arange(n) / 100 * 1.015  # the file's clock: 98.5 samples a second, sidecar 100 (1.5 %)
    path = walk_csv(tmp_path / "x.csv", sidecar={"rate_hz": 100.0}, time_s=t)
    result = analyse_file(str(path), sensor_height_m=None, mounting=(None, None), default_mounting=("+x", "+z"),
                          version="test")
    contacts = np.array(result["initial_contacts_s"])
    assert contacts.size > 20
    assert np.isin(contacts, t.round(6)).all()  # each contact is a sample's own time_s
    assert contacts[-1] - contacts[0] == pytest.approx((contacts.size - 1) * 0.55 * 1.015, abs=0.03)


def test_shared_walks_unchanged(tmp_path):
    if not DATA.is_dir():
        pytest.skip("shared gait data not found")
    for csv in sorted(DATA.glob("*Test5*.csv")):
        shutil.copy(csv, tmp_path)
        shutil.copy(csv.with_suffix(".json"), tmp_path)
        rec = read_imu_recording(tmp_path / csv.name)
        assert rec.fs_hz == 100.0 and rec.gap_summary() is None
        table = np.loadtxt(csv, delimiter=",", skiprows=1)
        assert np.array_equal(rec.time_s, table[:, 0]) and np.array_equal(rec.acc_m_s2, table[:, 1:4])


def test_a_time_of_1e308_is_a_gap_said_without_a_runtime_warning(tmp_path):
    rows = "".join(f"{i / 100},9.81,0,0\n" for i in range(600))
    (tmp_path / "x.csv").write_text("time_s,ax_m_s2,ay_m_s2,az_m_s2\n" + rows + "1e308,9.81,0,0\n")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        message = refused(tmp_path / "x.csv")
    assert "IMU data missing for inf s after time_s 5.99 s (line 601): inf lost frame(s)" in message


def test_a_wrong_sidecar_rate_under_jitter_is_said_as_the_rate(tmp_path):
    n = 3000
    t = np.arange(n) / 109 + np.clip(np.random.default_rng(4).normal(0, 0.0015, n), -0.0035, 0.0035)
    path = walk_csv(tmp_path / "x.csv", seconds=n / 100, sidecar={"rate_hz": 100.0}, time_s=t)
    message = refused(path)
    assert "sidecar rate_hz 100 disagrees with the time steps: time_s holds 10" in message
    assert "% below it" in message
    path.with_suffix(".json").write_text('{"rate_hz": 109}')
    rec = read_imu_recording(path)
    assert rec.samples == n and rec.gap_summary() is None
