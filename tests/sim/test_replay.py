"""Replay of recorded trials onto the simulated plate: exact values at the sample times, the corner
split, the time base, files with and without forces, refusals, and call cost."""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path

import numpy as np
import pytest

from station.analysis.cop import cop_from_corners
from station.analysis.metrics import compute_metrics
from station.config import PlateConfig
from station.sim.loads import STANDARD_GRAVITY_M_S2 as G
from station.sim.loads import distribute_to_corners
from station.sim.replay import IMU_COLUMNS, ReplaySource
from station.store.trialfile import TrialFileError, read_trial, write_trial_csv

BDS = Path(__file__).resolve().parents[3] / "shared" / "data" / "bds"  # DESIGN.md: ../shared/data/bds
PLATE = PlateConfig()


def _published() -> dict[str, dict[str, float]]:
    with open(BDS / "BDSinfoCOP-subset.tsv", newline="") as f:
        return {r["Trial"]: {k: float(r[k]) for k in ("COParea", "COPvelo", "COPmfreq")} for r in csv.DictReader(f, delimiter="\t")}


@pytest.fixture(scope="module")
def bds1():
    return ReplaySource.from_file(BDS / "BDS00001.txt"), read_trial(BDS / "BDS00001.txt")


def _at_samples(source: ReplaySource, time_s: np.ndarray):
    rel = (time_s - time_s[0]).tolist()
    loads = [source.plate_load(t) for t in rel]
    corners = np.array([source.corner_forces_n(t) for t in rel]).T
    return (np.array([l.fz_n for l in loads]), np.array([l.ap_cm for l in loads]), np.array([l.ml_cm for l in loads]), corners)


def test_santos_duarte_file_is_replayed_exactly_at_the_sample_times(bds1):
    source, trial = bds1
    assert source.format == "santos-duarte" and source.fs_hz == 100.0
    assert source.samples == 6000 and source.duration_s == pytest.approx(59.99)
    fz, ap, ml, corners = _at_samples(source, trial.time_s)
    np.testing.assert_array_equal(fz, trial.fz_n)
    np.testing.assert_array_equal(ap, trial.ap_cm)  # COPx is AP, kept as recorded (not centred)
    np.testing.assert_array_equal(ml, trial.ml_cm)
    assert ap.mean() == pytest.approx(-8.0, abs=0.5)
    # The plate feels the recorded person: the corners give back Fz and the COP.
    cap, cml, cfz = cop_from_corners(*corners, PLATE.width_cm, PLATE.depth_cm)
    np.testing.assert_allclose(cfz, trial.fz_n, rtol=1e-12)
    np.testing.assert_allclose(cap, trial.ap_cm, atol=1e-9)
    np.testing.assert_allclose(cml, trial.ml_cm, atol=1e-9)


@pytest.mark.parametrize("name", ["BDS00001", "BDS00010", "BDS00043"])
def test_replayed_signal_gives_the_published_metrics(name):
    source = ReplaySource.from_file(BDS / f"{name}.txt")
    trial = read_trial(BDS / f"{name}.txt")
    fz, ap, ml, _ = _at_samples(source, trial.time_s)
    m = compute_metrics(ap, ml, source.fs_hz, "raw")["metrics"]
    published = _published()[name]
    assert m["ellipse_area_cm2"] == pytest.approx(published["COParea"], rel=1e-9)
    assert m["mean_velocity_cm_s"] == pytest.approx(published["COPvelo"], rel=1e-9)
    assert m["mean_power_frequency_hz"] == pytest.approx(published["COPmfreq"], rel=1e-9)


def test_linear_interpolation_between_samples_and_time_base(bds1):
    source, trial = bds1
    i = 1234
    t_mid = float(trial.time_s[i] + trial.time_s[i + 1]) / 2 - float(trial.time_s[0])
    load = source.plate_load(t_mid)
    assert load.ap_cm == pytest.approx((trial.ap_cm[i] + trial.ap_cm[i + 1]) / 2, abs=1e-12)
    assert load.fz_n == pytest.approx((trial.fz_n[i] + trial.fz_n[i + 1]) / 2, abs=1e-9)
    t_quarter = float(trial.time_s[i] - trial.time_s[0]) + 0.0025
    assert source.plate_load(t_quarter).ml_cm == pytest.approx(0.75 * trial.ml_cm[i] + 0.25 * trial.ml_cm[i + 1], abs=1e-12)
    # t_s = 0 is the file's first sample (0.01 s in this file).
    assert source.file_time_s(0.0) == pytest.approx(0.01)
    assert source.file_time_s(t_mid) == pytest.approx((trial.time_s[i] + trial.time_s[i + 1]) / 2)


def test_the_plate_is_empty_after_the_last_sample(bds1):
    source, trial = bds1
    end = source.duration_s
    assert not source.ended(end)
    assert source.plate_load(end).fz_n == trial.fz_n[-1]
    assert source.ended(end + 1e-6)
    assert source.corner_forces_n(end + 0.001) == (0.0, 0.0, 0.0, 0.0)
    assert source.plate_load(end + 10.0).fz_n == 0.0
    assert source.trunk(end + 10.0).acc_m_s2 == (0.0, 0.0, G)  # no trunk data: still, upright


def test_any_call_order_gives_the_same_values(bds1):
    source, _ = bds1
    times = np.random.default_rng(0).uniform(0, source.duration_s, 500).tolist()
    forward = [source.corner_forces_n(t) for t in sorted(times)]
    backward = [source.corner_forces_n(t) for t in sorted(times, reverse=True)][::-1]
    assert forward == backward
    with pytest.raises(ValueError, match="t_s"):
        source.corner_forces_n(-0.01)
    with pytest.raises(ValueError, match="t_s"):
        source.plate_load(float("nan"))


def _station_columns(n=500, fs=100.0, seed=0):
    rng = np.random.default_rng(seed)
    t = 12.5 + np.arange(n) / fs  # a recording whose clock does not start at 0
    ap = 1.0 + np.cumsum(rng.normal(0, 0.02, n))
    ml = -0.5 + np.cumsum(rng.normal(0, 0.02, n))
    fz = 700.0 + rng.normal(0, 2.0, n)
    return t, ap, ml, fz


def test_station_csv_with_corner_forces_replays_them_as_recorded(tmp_path):
    t, ap, ml, fz = _station_columns()
    fl, fr, bl, br = distribute_to_corners(fz, ap, ml, PLATE.width_cm, PLATE.depth_cm)
    imu = {c: np.full(t.shape, v) for c, v in zip(IMU_COLUMNS, (0.1, -0.2, 9.7, 1.0, 2.0, 3.0))}
    imu["ax_m_s2"] = np.linspace(0.0, 1.0, t.size)
    path = tmp_path / "trial.csv"
    write_trial_csv(path, {"time_s": t, "ap_cm": ap, "ml_cm": ml, "fz_n": fz, "fl_n": fl, "fr_n": fr, "bl_n": bl, "br_n": br, **imu},
                    {"rate_hz": 100.0})
    source = ReplaySource.from_file(path)
    assert source.format == "station-csv" and source.has_imu
    trial = read_trial(path)
    _, rap, rml, corners = _at_samples(source, trial.time_s)
    np.testing.assert_array_equal(corners[0], trial.corners_n["fl_n"])
    np.testing.assert_array_equal(corners[3], trial.corners_n["br_n"])
    np.testing.assert_array_equal(rap, trial.ap_cm)
    assert source.file_time_s(0.0) == pytest.approx(12.5)
    mid = source.trunk(0.005)
    assert mid.acc_m_s2[0] == pytest.approx((imu["ax_m_s2"][0] + imu["ax_m_s2"][1]) / 2)
    assert mid.gyro_deg_s == pytest.approx((1.0, 2.0, 3.0))


def test_corner_forces_from_another_plate_are_refused(tmp_path):
    t, ap, ml, fz = _station_columns()
    other = distribute_to_corners(fz, ap, ml, 50.0, 30.0)  # recorded on a 50 x 30 cm plate
    path = tmp_path / "other.csv"
    write_trial_csv(path, {"time_s": t, "ap_cm": ap, "ml_cm": ml, "fz_n": fz,
                           **dict(zip(("fl_n", "fr_n", "bl_n", "br_n"), other))}, {})
    with pytest.raises(TrialFileError, match="plate of another size"):
        ReplaySource.from_file(path)
    assert ReplaySource.from_file(path, plate=PlateConfig(width_cm=50.0, depth_cm=30.0)).samples == t.size


def test_fz_that_is_not_the_sum_of_the_corners_is_refused():
    t, ap, ml, fz = _station_columns(n=50)
    corners = dict(zip(("fl_n", "fr_n", "bl_n", "br_n"), distribute_to_corners(fz, ap, ml, 40.0, 40.0)))
    with pytest.raises(ValueError, match="not the sum of the corner forces"):
        ReplaySource(t, ap, ml, fz + 5.0, corners)


def test_file_without_forces_needs_a_body_mass(tmp_path):
    t, ap, ml, _ = _station_columns(n=200)
    path = tmp_path / "cop_only.csv"
    write_trial_csv(path, {"time_s": t, "ap_cm": ap, "ml_cm": ml}, {})
    with pytest.raises(TrialFileError, match="pass mass_kg"):
        ReplaySource.from_file(path)
    source = ReplaySource.from_file(path, mass_kg=65.0)
    assert source.plate_load(0.5).fz_n == pytest.approx(65.0 * G)
    assert source.trunk(0.5).acc_m_s2 == (0.0, 0.0, G) and not source.has_imu


def test_samples_without_a_cop_put_their_load_at_the_centre(tmp_path):
    t, ap, ml, fz = _station_columns(n=300)
    fz[:20] = 3.0  # nobody on the plate yet: the acquisition writes NaN COP
    ap[:20] = np.nan
    ml[:20] = np.nan
    path = tmp_path / "stepping_on.csv"
    write_trial_csv(path, {"time_s": t, "ap_cm": ap, "ml_cm": ml, "fz_n": fz}, {})
    source = ReplaySource.from_file(path)
    assert source.centred_samples == 20
    assert source.corner_forces_n(0.05) == pytest.approx((0.75,) * 4)
    assert source.plate_load(1.0).ap_cm == pytest.approx(ap[100])


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda c: c.update(ap=np.where(np.arange(c["t"].size) == 7, 25.0, c["ap"])), "outside this plate's load cells"),
        (lambda c: c.update(t=c["t"][::-1].copy()), "not strictly increasing"),
        (lambda c: c.update(t=c["t"][:1], ap=c["ap"][:1], ml=c["ml"][:1], fz=c["fz"][:1]), "at least 2 samples"),
        (lambda c: c.update(ml=c["ml"][:-1]), "ml_cm has 49 samples"),
        (lambda c: c.update(fz=np.where(np.arange(c["t"].size) == 3, np.nan, c["fz"])), "fz_n is not finite at sample 3"),
        (lambda c: c.update(fz=None), "pass mass_kg"),
    ],
)
def test_unreplayable_arrays_are_refused_with_a_reason(change, message):
    t, ap, ml, fz = _station_columns(n=50)
    cols = {"t": t, "ap": ap, "ml": ml, "fz": fz}
    change(cols)
    with pytest.raises(ValueError, match=message):
        ReplaySource(cols["t"], cols["ap"], cols["ml"], cols["fz"])


def test_unreadable_file_is_a_trial_file_error(tmp_path):
    with pytest.raises(TrialFileError, match="no such file"):
        ReplaySource.from_file(tmp_path / "missing.csv")


def test_replay_call_cost_benchmark(bds1, capsys):
    """Print the cost of corner_forces_n over a whole file at the plate's 1280 calls/s."""
    source, _ = bds1
    times = np.arange(0.0, source.duration_s, 1 / 1280).tolist()
    t0 = time.perf_counter()
    out = [source.corner_forces_n(t) for t in times]
    t1 = time.perf_counter()
    with capsys.disabled():
        print(f"\n[replay cost] corner_forces_n {1e6 * (t1 - t0) / len(times):.2f} us/call over {len(times)} calls")
    assert all(math.isfinite(sum(c)) for c in out)
