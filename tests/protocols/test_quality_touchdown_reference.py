"""The stance reference of single-leg touch-down detection (station.protocols.quality): the median
of each prefix of the first second after lift-off, computed in one sort, equals ``np.median`` of
each prefix exactly (ties, even counts, NaN and infinities included), so the touch-down found is
the one the per-prefix medians found."""

from __future__ import annotations

import numpy as np
import pytest

from station.protocols.quality import QualitySettings, find_touchdown, prefix_medians


def per_prefix(x: np.ndarray) -> np.ndarray:
    return np.array([np.median(x[: i + 1]) for i in range(len(x))])


@pytest.mark.parametrize("seed", range(40))
def test_prefix_medians_equal_numpys_median_of_each_prefix(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 140))
    x = rng.normal(4.0, 3.0, n)
    if seed % 3 == 0:
        x = np.round(x)  # ties
    if seed % 5 == 0 and n > 3:
        x[rng.integers(0, n)] = np.nan  # NaN from there on, as np.median gives
    if seed % 7 == 0 and n > 3:
        x[rng.integers(0, n)], x[rng.integers(0, n)] = np.inf, -np.inf
    assert np.array_equal(prefix_medians(x), per_prefix(x), equal_nan=True)


def test_prefix_medians_of_nothing_is_empty():
    assert prefix_medians(np.empty(0)).shape == (0,)


def test_the_touchdown_found_is_the_one_per_prefix_medians_find(monkeypatch):
    """A lift-off at 2 s, sway on one foot, then the foot put down at 9 s: the same event (onset,
    confirmation, depth) as with ``np.median`` called on each prefix."""
    import station.protocols.quality as quality

    rng = np.random.default_rng(3)
    rate_hz, settings = 100.0, QualitySettings()
    t = np.arange(1200) / rate_hz
    shift = np.where((t >= 2.0) & (t < 9.0), 6.0, 0.2) + rng.normal(0.0, 0.4, t.size)
    raw = shift + rng.normal(0.0, 0.2, t.size)
    found = find_touchdown(raw, shift, 200, rate_hz, settings)
    assert found is not None and 895 <= found.index <= 905
    for liftoff in (200, 1150):  # and one whose first second is cut short by the end of the data
        fast = find_touchdown(raw, shift, liftoff, rate_hz, settings)
        monkeypatch.setattr(quality, "prefix_medians", per_prefix)
        assert find_touchdown(raw, shift, liftoff, rate_hz, settings) == fast
        monkeypatch.undo()
