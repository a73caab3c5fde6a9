"""The fast paths of the metric set pinned against their plain definitions (issue 18).

* Sway density: :func:`station.analysis.density.stay_counts` (box levels built only while a block
  can fit in the circle) against a direct scan of each stay, on random paths of every kind: stays
  of a few samples (noise), of hundreds (slow drift), a circle of radius just under the radius of
  the density circle, and coordinates far from the origin.
* The ellipse's F quantile in closed form against ``scipy.special.fdtri`` (within 1e-12 relative;
  measured about 1e-15), and the ellipse area of the published trials against the one computed
  with scipy's quantile.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import special

from station.analysis.density import stay_counts
from station.analysis.metrics import compute_metrics
from station.analysis import sway
from station.analysis.sway import ELLIPSE_PROBABILITY, f_quantile_2

BDS = Path(__file__).resolve().parents[3] / "shared" / "data" / "bds"  # DESIGN.md: ../shared/data/bds


def _stays_by_scan(x: np.ndarray, y: np.ndarray, r: float) -> np.ndarray:
    """count[i] = (first j > i with |p_j - p_i| > r, or N) - i - 1, by scanning (the definition)."""
    n = x.shape[0]
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        j = i + 1
        exit_index = n
        while j < n:
            block = slice(j, min(n, j + 256))
            dx, dy = x[block] - x[i], y[block] - y[i]
            outside = np.flatnonzero(np.sqrt(dx * dx + dy * dy) > r)
            if outside.size:
                exit_index = j + int(outside[0])
                break
            j = block.stop
        out[i] = exit_index - i - 1
    return out


def _path(kind: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if kind == "drift":  # slow random walk: stays of hundreds of samples
        xy = np.cumsum(rng.normal(0.0, 0.004, (2, n)), axis=1)
    elif kind == "noise":  # white noise: stays of a few samples
        xy = rng.normal(0.0, 0.3, (2, n))
    elif kind == "sway":  # random walk plus measurement noise, as a COP
        xy = np.cumsum(rng.normal(0.0, 0.02, (2, n)), axis=1) + rng.normal(0.0, 0.01, (2, n))
    elif kind == "circle":  # a circle of radius just under 0.3 cm: stays graze the density circle
        t = np.arange(n) * rng.uniform(0.01, 0.2)
        xy = 0.29 * np.vstack((np.cos(t), np.sin(t)))
    else:  # "offset": sway far from the origin (rounding of large coordinates)
        xy = np.cumsum(rng.normal(0.0, 0.01, (2, n)), axis=1) + rng.uniform(-500.0, 500.0, (2, 1))
    return xy[0], xy[1]


@pytest.mark.parametrize("kind", ["drift", "noise", "sway", "circle", "offset"])
@pytest.mark.parametrize("seed", [0, 1])
def test_stay_counts_equal_a_direct_scan_of_every_stay(kind, seed):
    rng = np.random.default_rng(seed + 100 * len(kind))
    n = int(rng.integers(1200, 2500))
    x, y = _path(kind, n, rng)
    for r in (0.3, 0.05):
        np.testing.assert_array_equal(stay_counts(x, y, r), _stays_by_scan(x, y, r))


def test_stay_counts_of_a_quantised_path_with_held_samples():
    """Steps of exactly 0.25 cm with samples held in place: the cumulative path has repeated values and
    values exactly r beyond others (ties in the path-length bound's merge), samples at exactly r."""
    rng = np.random.default_rng(7)
    steps = rng.choice([-0.25, 0.0, 0.0, 0.25], size=(2, 3000))
    x, y = np.cumsum(steps, axis=1)
    for r in (0.25, 0.5, 1.0):
        np.testing.assert_array_equal(stay_counts(x, y, r), _stays_by_scan(x, y, r))


def test_stay_counts_of_a_still_path_run_to_the_end():
    x = np.zeros(5000)
    np.testing.assert_array_equal(stay_counts(x, x), np.arange(4999, -1, -1))


@pytest.mark.parametrize("d", [1, 2, 3, 7, 98, 997, 5998, 29998, 10**6, 10**8])
def test_f_quantile_in_closed_form_equals_scipys(d):
    for p in (ELLIPSE_PROBABILITY, 0.5, 0.99):
        reference = float(special.fdtri(2, d, p))
        assert f_quantile_2(d, p) == pytest.approx(reference, rel=1e-12, abs=0.0)


def test_f_quantile_on_random_sample_counts():
    for n in np.random.default_rng(7).integers(3, 10**7, 500):
        reference = float(special.fdtri(2, int(n) - 2, ELLIPSE_PROBABILITY))
        assert abs(f_quantile_2(int(n) - 2, ELLIPSE_PROBABILITY) - reference) <= 1e-12 * reference


@pytest.mark.skipif(not BDS.is_dir(), reason=f"shared BDS data not found at {BDS}")
@pytest.mark.parametrize("profile", ["raw", "station"])
def test_published_trials_ellipse_as_with_scipys_quantile(profile, monkeypatch):
    files = sorted(BDS.glob("BDS*.txt"))
    assert files
    keys = ("ellipse_area_cm2", "ellipse_major_cm", "ellipse_minor_cm", "fractal_dimension_ce")
    for path in files:
        data = np.loadtxt(path, skiprows=1)
        fast = compute_metrics(data[:, 7], data[:, 8], 100.0, profile)["metrics"]
        with monkeypatch.context() as patch:
            patch.setattr(sway, "f_quantile_2", lambda d, p: float(special.fdtri(2, d, p)))
            with_scipy = compute_metrics(data[:, 7], data[:, 8], 100.0, profile)["metrics"]
        for key in keys:
            assert fast[key] == pytest.approx(with_scipy[key], rel=1e-12, abs=0.0), (path.name, key)


def test_the_last_long_stays_are_exact_not_cut_by_the_polygon_fallback():
    """Filtered noise at 200 Hz (stays of thousands of samples, 7032 samples): a few stays stay
    unresolved for many rounds. They are finished by the exact scan; the polygon fallback, which
    ends a stay at its first sample in the ring between polygon and circle, had cut two of them
    short by about 1,000 samples."""
    from scipy import signal

    rng = np.random.default_rng(31)
    n = int(rng.integers(1000, 12000))
    fs = float(rng.choice([50.0, 100.0, 120.0, 200.0]))
    xy = rng.normal(0.0, 0.3, (2, n))
    assert (n, fs) == (7032, 200.0)
    xy = signal.sosfiltfilt(signal.butter(4, 10.0, fs=fs, output="sos"), xy - xy[:, :1], axis=1)
    np.testing.assert_array_equal(stay_counts(xy[0], xy[1], 0.3), _stays_by_scan(xy[0], xy[1], 0.3))
