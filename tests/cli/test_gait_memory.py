"""``balance-station gait`` on a long recording holds a bounded multiple of the file, with the same
numbers. Found by a memory review: a worker needed about 5 times the file (a 21 MB, 60-min IMU
recording: 104 MB traced), its peak in the body-frame alignment: the gravity filter's copies of all
three axes at once, a 3 x 3 basis per sample (72 bytes a sample), np.cross over every sample, and the
gyroscope's body-frame copy kept through the gait analysis that never uses it. A second review (a
2-hour station trial CSV: 138.5 MB traced) found the peak in the analysis itself (an autocorrelation
holding three spectra of 2^21 points, the bands kept after use, an antero-posterior axis per sample)
and in the reader's grid (seven arrays of the file's rows, four of them complex)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import signal

from station.analysis.gait import GAIT_KEYS, gait_metrics  # imported before the memory is traced
from station.analysis.imu_frame import GRAVITY_CUTOFF_HZ, align_to_body, gravity_direction
from station.commands.gait import analyse_file
from station.store import imu_recording
from station.store.imu_recording import read_imu_recording

from memory_peak import traced_peak

RATE_HZ = 100.0


@pytest.fixture(scope="module")
def long_walk(tmp_path_factory):
    """20 minutes of walking at 100 Hz (120,000 rows, about 7 MB), the sensor's tilt drifting and the
    trunk pitched forward for a while (so the medio-lateral axis is used there), with a gyroscope."""
    n = int(1200 * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    rng = np.random.default_rng(7)
    pitch = np.radians(np.where((t > 400) & (t < 430), 70.0, 10.0) + 5.0 * np.sin(t / 60.0))
    vertical = 9.81 + 2.0 * np.cos(2 * np.pi * t / 0.55) + rng.normal(0.0, 0.2, n)
    rows = np.column_stack([t, vertical * np.cos(pitch), rng.normal(0.0, 0.3, n) + 0.4 * np.sin(np.pi * t / 0.55),
                            -vertical * np.sin(pitch), rng.normal(0.0, 5.0, (n, 3))])
    path = tmp_path_factory.mktemp("walk") / "walk.csv"
    with path.open("w") as f:
        f.write("time_s,ax_m_s2,ay_m_s2,az_m_s2,gx_deg_s,gy_deg_s,gz_deg_s\n")
        np.savetxt(f, rows, fmt=["%.2f"] + ["%.5f"] * 6, delimiter=",")
    path.with_suffix(".json").write_text(json.dumps({"rate_hz": RATE_HZ, "sensor_height_m": 0.95,
                                                     "mounting_up": "+x", "mounting_toes": "-z"}))
    return path


def test_gait_of_a_long_recording_holds_a_bounded_multiple_of_the_file(long_walk):
    result, peak = traced_peak(analyse_file, str(long_walk), sensor_height_m=None, mounting=(None, None),
                               default_mounting=("+x", "+z"), version="test")
    assert "error" not in result and result["metrics"]["steps"] > 2000
    assert set(result["metrics"]) == set(GAIT_KEYS) - {"initial_contacts_s"}
    size = long_walk.stat().st_size
    # 4.9 times the file, then 4.1 (60 min without the pitched stretch: 4.9 -> 3.1 -> 1.8), now 1.9
    assert peak < 2.8 * size, peak / size


def test_the_alignment_gives_the_numbers_of_all_samples_at_once_at_a_fraction_of_the_memory(long_walk):
    rec = read_imu_recording(long_walk)
    acc, gyro = rec.acc_m_s2, rec.gyro_deg_s
    (acc_body, gyro_body), peak = traced_peak(align_to_body, acc, gyro, up_axis="+x", toes_axis="-z", fs_hz=RATE_HZ)
    assert peak < 5.5 * acc.nbytes, peak / acc.nbytes  # was 9.7 times the acceleration, then 7.7; now 4.3
    # the same numbers, bit for bit, as the gravity filter over the three axes at once and every
    # sample's basis stacked (the way they were computed before)
    sos = signal.butter(2, GRAVITY_CUTOFF_HZ, btype="lowpass", fs=RATE_HZ, output="sos")
    g = signal.sosfiltfilt(sos, acc, axis=0)
    v = g / np.sqrt(np.einsum("ij,ij->i", g, g))[:, None]
    assert np.array_equal(gravity_direction(acc, RATE_HZ), v)
    toes, side = np.array([0.0, 0.0, -1.0]), np.cross([0.0, 0.0, -1.0], [1.0, 0.0, 0.0])
    ap = toes[None, :] - (v @ toes)[:, None] * v
    ap_norm = np.sqrt(np.einsum("ij,ij->i", ap, ap))
    ml_h = side[None, :] - (v @ side)[:, None] * v
    ml_norm = np.sqrt(np.einsum("ij,ij->i", ml_h, ml_h))
    pitched = ap_norm < np.sin(np.radians(30.0))
    assert 0 < pitched.sum() < len(v) / 10  # the pitched stretch uses the medio-lateral axis
    ap /= ap_norm[:, None].clip(min=1e-12)
    ap[pitched] = np.cross(v[pitched], ml_h[pitched] / ml_norm[pitched, None])
    basis = np.stack((v, ap, np.cross(ap, v)), axis=1)
    assert np.array_equal(acc_body, np.einsum("nbs,ns->nb", basis, acc))
    assert np.array_equal(gyro_body, np.einsum("nbs,ns->nb", basis, gyro))


def test_the_grid_and_the_gait_hold_a_few_of_the_recordings_signals(long_walk):
    rec = read_imu_recording(long_walk)
    _, peak = traced_peak(imu_recording._grid_from_time, long_walk, rec.time_s, RATE_HZ)
    assert peak < 6.0 * rec.time_s.nbytes, peak / rec.time_s.nbytes  # was 12.3 times the time column; now 3.9
    acc_body = align_to_body(rec.acc_m_s2, None, up_axis="+x", toes_axis="-z", fs_hz=RATE_HZ)[0]
    metrics, peak = traced_peak(gait_metrics, acc_body, RATE_HZ, sensor_height_m=0.95)
    assert metrics["steps"] > 2000 and metrics["step_regularity"] > 0.5
    assert peak < 3.2 * acc_body.nbytes, peak / acc_body.nbytes  # was 3.9 times the acceleration; now 2.2


@pytest.mark.parametrize("block_rows", [7, 60, 1000])
def test_the_grids_phase_a_block_at_a_time_is_the_whole_files_bit_for_bit(monkeypatch, block_rows):
    """Blocks shorter than the window (50 rows either side), and longer; jitter, a clock 3 % fast and
    a gap: the running sums and the unwrapping carried from block to block give the numbers of the
    arrays of the whole file (the way the phase was computed before)."""
    rng = np.random.default_rng(3)
    x = np.arange(5000) * 1.03 + rng.uniform(-0.3, 0.3, 5000) + 1234.5
    x[2000:] += 4.0
    monkeypatch.setattr(imu_recording, "PHASE_BLOCK_ROWS", block_rows)
    for window in imu_recording.PHASE_WINDOWS:
        total = np.concatenate(([0j], np.cumsum(np.exp(2j * np.pi * (x - np.floor(x))))))
        i, half = np.arange(x.size), window // 2
        whole = np.unwrap(np.angle(total[np.minimum(i + half + 1, x.size)] - total[np.maximum(i - half, 0)]))
        assert np.array_equal(imu_recording._phase(x, window), whole / (2 * np.pi))
