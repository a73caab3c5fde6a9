"""Trial files: format detection, validation messages, atomic and durable writing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from station.store.trialfile import (
    SANTOS_DUARTE,
    STATION_CSV,
    TrialCsvWriter,
    TrialFileError,
    read_trial,
    sidecar_path,
    write_trial_csv,
)

BDS = Path(__file__).resolve().parents[3] / "shared" / "data" / "bds"  # DESIGN.md: ../shared/data/bds


def _columns(n=500, fs=100.0, seed=0):
    rng = np.random.default_rng(seed)
    corners = rng.uniform(100, 200, size=(4, n))
    return {
        "time_s": np.arange(n) / fs,
        "ap_cm": np.cumsum(rng.normal(0, 0.01, n)),
        "ml_cm": np.cumsum(rng.normal(0, 0.01, n)),
        "flags": rng.integers(0, 4, n),
        "fz_n": corners.sum(axis=0),
        "fl_n": corners[0],
        "fr_n": corners[1],
        "bl_n": corners[2],
        "br_n": corners[3],
    }


def test_santos_duarte_file_maps_copx_to_ap_and_reads_100_hz():
    trial = read_trial(BDS / "BDS00001.txt")
    assert trial.format == SANTOS_DUARTE
    assert trial.fs_hz == 100.0
    assert trial.samples == 6000
    # First data row: 0.010 ... COPx=-7.988789 COPy=0.998673, Fz=539.066061
    assert trial.time_s[0] == pytest.approx(0.01)
    assert trial.ap_cm[0] == pytest.approx(-7.988789)
    assert trial.ml_cm[0] == pytest.approx(0.998673)
    assert trial.fz_n[0] == pytest.approx(539.066061)
    assert trial.corners_n is None
    assert set(trial.extra) == {"fx_n", "fy_n", "mx_nm", "my_nm", "mz_nm"}
    assert trial.metadata == {}


def test_write_then_read_round_trip_in_contract_column_order(tmp_path):
    cols = _columns()
    path = tmp_path / "trial.csv"
    write_trial_csv(path, cols, {"rate_hz": 100.0, "protocol": "romberg-eo", "station_version": "0.1.0"})
    header = path.read_text().splitlines()[0]
    assert header == "time_s,ap_cm,ml_cm,fz_n,fl_n,fr_n,bl_n,br_n,flags"
    assert json.loads(sidecar_path(path).read_text())["protocol"] == "romberg-eo"
    trial = read_trial(path)
    assert trial.format == STATION_CSV
    assert trial.fs_hz == 100.0
    assert trial.metadata["rate_hz"] == 100.0
    np.testing.assert_allclose(trial.ap_cm, cols["ap_cm"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(trial.corners_n["br_n"], cols["br_n"], rtol=1e-9)
    np.testing.assert_array_equal(trial.extra["flags"], cols["flags"])
    assert not list(tmp_path.glob(".*.tmp")), "temporary files left behind"


def test_rate_from_median_step_without_sidecar(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("time_s,ap_cm,ml_cm\n" + "".join(f"{i / 250:.6f},0.1,0.2\n" for i in range(50)))
    assert read_trial(path).fs_hz == pytest.approx(250.0, rel=1e-9)


def test_write_refuses_missing_required_column(tmp_path):
    with pytest.raises(TrialFileError, match="missing column.*ml_cm"):
        write_trial_csv(tmp_path / "x.csv", {"time_s": np.zeros(3), "ap_cm": np.zeros(3)}, {})
    assert not (tmp_path / "x.csv").exists()


def test_write_refuses_unequal_columns(tmp_path):
    with pytest.raises(TrialFileError, match="equally long"):
        write_trial_csv(tmp_path / "x.csv", {"time_s": np.zeros(3), "ap_cm": np.zeros(3), "ml_cm": np.zeros(2)}, {})


BAD_FILES = {
    "empty": (b"", "empty file"),
    "header_only": (b"time_s,ap_cm,ml_cm\n", "header only"),
    "unknown_columns": (b"foo,bar,baz\n1,2,3\n", "unrecognised header"),
    "missing_column": (b"time_s,ap_cm\n0,1\n0.01,2\n", "missing column.*ml_cm"),
    "text_in_number": (b"time_s,ap_cm,ml_cm\n0,1,2\n0.01,abc,2\n", r"line 3, column ap_cm: 'abc' is not a number"),
    "ragged": (b"time_s,ap_cm,ml_cm\n0,1,2\n0.01,2\n", "line 3: 2 values, but the header has 3"),
    "nan": (b"time_s,ap_cm,ml_cm\n0,1,2\n0.01,nan,2\n", "line 3, column ap_cm: NaN"),
    "inf": (b"time_s,ap_cm,ml_cm\n0,1,2\n0.01,1,inf\n", "line 3, column ml_cm: infinite"),
    "non_monotonic": (b"time_s,ap_cm,ml_cm\n0,1,2\n0.01,1,2\n0.005,1,2\n0.02,1,2\n", "line 4: time_s not increasing"),
    "gap": (
        b"time_s,ap_cm,ml_cm\n" + b"".join(b"%.2f,1,2\n" % (i / 100) for i in list(range(10)) + list(range(12, 20))),
        "line 12: gap in time_s",
    ),
    "binary": (bytes(range(256)) * 4, "binary file"),
    "latin1": (b"time_s,ap_cm,ml_cm\n0,1,\xe92\n", "not UTF-8"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_input_raises_one_line_error_naming_file(tmp_path, case):
    content, pattern = BAD_FILES[case]
    path = tmp_path / f"{case}.csv"
    path.write_bytes(content)
    with pytest.raises(TrialFileError, match=pattern) as info:
        read_trial(path)
    message = str(info.value)
    assert message.startswith(str(path) + ": ")
    assert "\n" not in message


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(TrialFileError, match="no such file"):
        read_trial(tmp_path / "nope.csv")
    with pytest.raises(TrialFileError, match="is a directory"):
        read_trial(tmp_path)


def test_allow_nan_accepts_undefined_cop_but_not_nan_time(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("time_s,ap_cm,ml_cm\n0,nan,nan\n0.01,1,2\n0.02,1,2\n")
    assert np.isnan(read_trial(path, allow_nan=True).ap_cm[0])
    path.write_text("time_s,ap_cm,ml_cm\nnan,1,1\n0.01,1,2\n0.02,1,2\n")
    with pytest.raises(TrialFileError, match="column time_s: NaN"):
        read_trial(path, allow_nan=True)


def test_sidecar_rate_must_agree_with_timestamps(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("time_s,ap_cm,ml_cm\n" + "".join(f"{i / 100:.2f},0,0\n" for i in range(20)))
    sidecar_path(path).write_text(json.dumps({"rate_hz": 1000}))
    with pytest.raises(TrialFileError, match="rate_hz 1000 disagrees"):
        read_trial(path)
    sidecar_path(path).write_text("{not json")
    with pytest.raises(TrialFileError, match="not valid JSON"):
        read_trial(path)


def test_santos_duarte_unknown_column(tmp_path):
    path = tmp_path / "sd.txt"
    path.write_text("Time[s]\tCOPx[cm]\tCOPy[cm]\tWeird[x]\n0.01\t1\t2\t3\n")
    with pytest.raises(TrialFileError, match=r"unknown column\(s\) Weird\[x\]"):
        read_trial(path)


class _StepClock:
    """A clock the test advances by hand (only monotonic_ns is used by the writer)."""

    def __init__(self):
        self.now_ns = 0

    def monotonic_ns(self):
        return self.now_ns


def test_streaming_writer_syncs_about_once_a_second_and_round_trips(tmp_path):
    cols = _columns(n=300)
    clock = _StepClock()
    path = tmp_path / "rec.csv"
    with TrialCsvWriter(path, list(cols), {"rate_hz": 100.0}, clock=clock) as writer:
        syncs_after_open = writer.syncs
        for start in range(0, 300, 10):  # 30 appends of 0.1 s each
            writer.append({k: v[start : start + 10] for k, v in cols.items()})
            clock.now_ns += 100_000_000
        # 3 s of appends: about 3 syncs, never one per append
        assert 2 <= writer.syncs - syncs_after_open <= 4
    trial = read_trial(path)
    assert trial.samples == 300
    np.testing.assert_allclose(trial.ml_cm, cols["ml_cm"], rtol=1e-9, atol=1e-12)


def test_streaming_writer_never_overwrites_and_checks_columns(tmp_path):
    path = tmp_path / "rec.csv"
    path.write_text("precious")
    with pytest.raises(TrialFileError, match="already exists"):
        TrialCsvWriter(path, ["time_s", "ap_cm", "ml_cm"], {})
    assert path.read_text() == "precious"
    with TrialCsvWriter(tmp_path / "r2.csv", ["time_s", "ap_cm", "ml_cm"], {}) as writer:
        with pytest.raises(TrialFileError, match="missing ml_cm"):
            writer.append({"time_s": [0.0], "ap_cm": [1.0]})


def test_partial_last_line_after_crash_is_recoverable(tmp_path):
    path = tmp_path / "crashed.csv"
    path.write_text("time_s,ap_cm,ml_cm\n" + "".join(f"{i / 100:.2f},1,2\n" for i in range(20)) + "0.20,1.2")
    with pytest.raises(TrialFileError, match="line 22: 2 values"):
        read_trial(path)
    assert read_trial(path, allow_truncated=True).samples == 20


@pytest.mark.parametrize("fast", [False, True])
def test_wake_time_and_seq_read_as_exact_integers_after_months_of_uptime(tmp_path, fast):
    """t_ns near 2**62 (≈ 146 years of ns; months of uptime are already past float64's 2**53) must
    come back exactly: float64 would round these to multiples of 1024 ns."""
    cols = _columns(n=300)
    seq = np.arange(300, dtype=np.int64) + 7
    t_ns = np.int64(2**62) + seq * 10_000_000 + np.arange(300, dtype=np.int64) % 997  # odd ns: not representable
    cols["t_ns"], cols["seq"] = t_ns, seq
    path = tmp_path / "trial.csv"
    write_trial_csv(path, cols, {"rate_hz": 100.0})
    trial = read_trial(path, fast=fast)
    assert trial.extra["t_ns"].dtype == np.int64 and trial.extra["seq"].dtype == np.int64
    np.testing.assert_array_equal(trial.extra["t_ns"], t_ns)
    np.testing.assert_array_equal(trial.extra["seq"], seq)


def test_wake_time_that_is_not_a_whole_number_is_a_one_line_error(tmp_path):
    path = tmp_path / "trial.csv"
    lines = ["time_s,ap_cm,ml_cm,t_ns"] + [f"{i / 100:.2f},0.1,0.2,{1000 + i}" for i in range(50)]
    lines[11] = "0.10,0.1,0.2,1010.5"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TrialFileError, match=r"line 12: t_ns must be a whole number, not '1010.5'") as err:
        read_trial(path)
    assert "\n" not in str(err.value)
