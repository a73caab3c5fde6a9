"""Where a patient's value lies in a published reference distribution given by its quantiles.

Normative tables for sway measures (Santos & Duarte 2016, PeerJ 4:e2648) publish the 5th, 50th
and 95th percentiles of each measure per age group and condition, not the whole distribution.
:func:`percentile_from_quantiles` estimates the percentile of a value from those three numbers.

Method: sway area, velocity and frequency are positive and right-skewed, so the estimate works on
the logarithm. The three published quantiles fix three points of the normal-score curve,
``(ln p05, −z95)``, ``(ln p50, 0)``, ``(ln p95, +z95)`` with z95 = Φ⁻¹(0.95) ≈ 1.645; the normal
score of ``ln(value)`` is interpolated linearly between them (and extrapolated beyond them with the
slope of the nearer half), and the percentile is ``100·Φ(z)``. For a log-normal distribution this
is exact; otherwise it follows the published quantiles exactly at 5, 50 and 95 and is an estimate
in between. Estimates beyond the published range (below the 5th or above the 95th percentile) are
the least certain: callers should show those as "below the 5th" / "above the 95th" percentile.

Pure numerics: no I/O, no other project imports.
"""

from __future__ import annotations

import math

Z95 = 1.6448536269514722
"""Φ⁻¹(0.95): the normal score of the 95th percentile."""


def _normal_cdf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def percentile_from_quantiles(value: float, p05: float, p50: float, p95: float) -> float | None:
    """Estimated percentile (0–100) of ``value`` in a distribution with these quantiles.

    Parameters
    ----------
    value : float
        The patient's value, in the unit of the quantiles; must be positive.
    p05, p50, p95 : float
        The published 5th, 50th and 95th percentiles, positive and increasing.

    Returns
    -------
    float or None
        The percentile, or None when ``value`` is missing, not finite or not positive (no
        percentile can be given).

    Raises
    ------
    ValueError
        If the quantiles are not positive, finite and strictly increasing.
    """
    quantiles = (p05, p50, p95)
    if not all(isinstance(q, (int, float)) and math.isfinite(q) and q > 0 for q in quantiles):
        raise ValueError(f"quantiles must be positive finite numbers, got {quantiles!r}")
    if not p05 < p50 < p95:
        raise ValueError(f"quantiles must increase (p05 < p50 < p95), got {quantiles!r}")
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        return None
    x = math.log(value)
    lo, mid, hi = math.log(p05), math.log(p50), math.log(p95)
    if x <= mid:
        z = Z95 * (x - mid) / (mid - lo)
    else:
        z = Z95 * (x - mid) / (hi - mid)
    return 100.0 * _normal_cdf(z)


def percentile_band(value: float, p05: float, p95: float) -> str:
    """Where ``value`` lies against the published range, in words: ``below the 5th percentile``,
    ``above the 95th percentile`` or ``between the 5th and 95th percentiles``."""
    if value < p05:
        return "below the 5th percentile"
    if value > p95:
        return "above the 95th percentile"
    return "between the 5th and 95th percentiles"
