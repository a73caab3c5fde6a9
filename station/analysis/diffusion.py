"""Stabilogram diffusion analysis (SDA) of Collins & De Luca (1993), DESIGN.md §5.

The mean square displacement ``MSD(Δt) = <(x(t + Δt) - x(t))²>`` (average over all pairs of samples
``Δt`` apart) is computed for every lag from one sample up to ``MAX_LAG_S`` = 10 s (half the recording if that is shorter than 20 s), for AP, ML and
the planar displacement r (``MSD_r = MSD_AP + MSD_ML``). All lags at once in O(N log N): the sum of
squared differences at lag m is ``Σ x[n+m]² + Σ x[n]² - 2 Σ x[n] x[n+m]``, the first two from
cumulative sums and the autocorrelation from one real FFT (zero-padded to avoid wrap-around).

**Critical point.** The MSD-versus-Δt curve (linear axes) is fitted by a *continuous* two-segment
straight line (a hinge) by least squares; the hinge is chosen among all lags between
``MIN_CRITICAL_S`` (0.1 s) and ``MAX_CRITICAL_S`` (5 s) with at least 3 lags on each side, the one
with the smallest residual sum of squares. Each candidate's 3-parameter fit is solved in O(1) from
prefix sums, so the search costs O(number of lags). The critical time ``sda_critical_time_*_s``
is the hinge lag and the critical MSD ``sda_critical_msd_*_cm2`` the fitted MSD there (the two
fitted lines intersect at the hinge, as Collins & De Luca defined the critical point).
``sda_d_short_*`` and ``sda_d_long_*`` are half the slopes of the two lines (cm²/s; Collins &
De Luca wrote ``<Δx²> = 2 D Δt`` for every component, including r). ``sda_h_short_*`` and
``sda_h_long_*`` are half the least-squares slopes of log MSD versus log Δt over the lags up to and
from the critical time (scaling exponents; 0.5 for Brownian motion, > 0.5 persistent,
< 0.5 anti-persistent).

Reference: Collins JJ, De Luca CJ (1993). Open-loop and closed-loop control of posture: a random-walk
analysis of center-of-pressure trajectories. Exp Brain Res 95(2):308-318.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.fft import irfft, rfft  # at import (numpy loads it on first use): forked batch workers inherit it

MAX_LAG_S = 10.0
"""Longest lag of the diffusion plot, s (Collins & De Luca 1993 used 10 s)."""
MIN_CRITICAL_S = 0.1
"""Shortest candidate critical time, s."""
MAX_CRITICAL_S = 5.0
"""Longest candidate critical time, s."""
_MIN_SIDE = 3


@lru_cache(maxsize=64)
def next_fast_len_real(target: int) -> int:
    """The smallest length >= ``target`` whose only prime factors are 2, 3 and 5 (fast for a real
    FFT); the same as ``scipy.fft.next_fast_len(target, real=True)``, without importing scipy.fft
    (numpy's FFT is the same pocketfft and gives the same numbers, bit for bit, at a fraction of the
    import time).

    Examples
    --------
    >>> next_fast_len_real(12001)
    12150
    """
    if target <= 6:
        return max(target, 1)
    best = 1 << (target - 1).bit_length()  # the next power of 2
    f5 = 1
    while f5 < best:
        f35 = f5
        while f35 < best:
            f = f35
            while f < target:
                f *= 2
            best = min(best, f)
            f35 *= 3
        f5 *= 5
    return best


def mean_square_displacement(x: np.ndarray, max_lag: int) -> np.ndarray:
    """MSD of each row of ``x`` at lags 1..max_lag samples (unit: input unit squared).

    Parameters
    ----------
    x : ndarray, shape (k, N)
        Signals (e.g. AP and ML in cm).
    max_lag : int
        Largest lag in samples, 1 <= max_lag < N.

    Returns
    -------
    ndarray, shape (k, max_lag)
        ``MSD[:, m-1] = mean((x[:, m:] - x[:, :-m])**2)``; tiny negative rounding residues are
        clipped to 0.
    """
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    n = x.shape[1]
    size = next_fast_len_real(2 * n)
    spectrum = rfft(x, n=size, axis=1)
    acf = irfft(spectrum * np.conj(spectrum), n=size, axis=1)[:, 1 : max_lag + 1]
    sq = x * x
    csum = np.concatenate((np.zeros((x.shape[0], 1)), np.cumsum(sq, axis=1)), axis=1)
    total = csum[:, -1:]
    lags = np.arange(1, max_lag + 1)
    head = csum[:, n - lags]  # sum of x[n]^2 for n < N - m
    tail = total - csum[:, lags]  # sum of x[n]^2 for n >= m
    msd = (head + tail - 2.0 * acf) / (n - lags)
    return np.maximum(msd, 0.0)


def _hinge_fit(t: np.ndarray, curves: np.ndarray, lo: int, hi: int) -> list[tuple[int, float, float, float]]:
    """Best continuous two-segment fit of each row of ``curves`` with the knot at index b in
    [lo, hi]; returns (b, a, s1, s2) per row.

    Model: y = a + s1 t for t <= t_b, y = a + s1 t_b + s2 (t - t_b) beyond. For each candidate b the
    3x3 normal equations are built from prefix sums (O(1) each) and solved by Cramer's rule,
    vectorised over the candidates and the rows (each row's numbers are those of fitting it alone:
    element-wise operations and running sums along the row).
    """
    c1 = np.cumsum(np.ones_like(t))
    ct = np.cumsum(t)
    ctt = np.cumsum(t * t)
    cy = np.cumsum(curves, axis=1)
    cty = np.cumsum(t * curves, axis=1)
    b = np.arange(lo, hi + 1)
    tb = t[b]
    n_all, t_all, tt_all, y_all, ty_all = c1[-1], ct[-1], ctt[-1], cy[:, -1:], cty[:, -1:]
    # left part: indices 0..b (t <= t_b); right part: b+1..end
    nl, tl, ttl, yl, tyl = c1[b], ct[b], ctt[b], cy[:, b], cty[:, b]
    nr, tr, ttr, yr, tyr = n_all - nl, t_all - tl, tt_all - ttl, y_all - yl, ty_all - tyl
    # basis: [1, min(t, tb), max(t - tb, 0)]
    g11 = np.full_like(tb, n_all)
    g12 = tl + nr * tb
    g13 = tr - nr * tb
    g22 = ttl + nr * tb * tb
    g23 = tb * (tr - nr * tb)
    g33 = ttr - 2.0 * tb * tr + nr * tb * tb
    r1 = np.broadcast_to(y_all, yl.shape)
    r2 = tyl + tb * yr
    r3 = tyr - tb * yr
    # symmetric 3x3 solve by Cramer's rule, vectorised over the candidates
    c11 = g22 * g33 - g23 * g23
    c12 = g13 * g23 - g12 * g33
    c13 = g12 * g23 - g13 * g22
    det = g11 * c11 + g12 * c12 + g13 * c13
    squares = np.array([[float(np.einsum('i,i->', y, y))] for y in curves])  # one sum per row, as alone
    with np.errstate(divide="ignore", invalid="ignore"):
        a = (r1 * c11 + r2 * c12 + r3 * c13) / det
        s1 = (g11 * (r2 * g33 - g23 * r3) - r1 * (g12 * g33 - g23 * g13) + g13 * (g12 * r3 - r2 * g13)) / det
        s2 = (g11 * (g22 * r3 - r2 * g23) - g12 * (g12 * r3 - r2 * g13) + r1 * (g12 * g23 - g22 * g13)) / det
        sse = squares - (a * r1 + s1 * r2 + s2 * r3)
    sse = np.where(np.isfinite(sse), sse, np.inf)
    best = np.argmin(sse, axis=1)
    return [(int(b[k]), float(a[row, k]), float(s1[row, k]), float(s2[row, k])) for row, k in enumerate(best)]


def _loglog_slope(t: np.ndarray, y: np.ndarray) -> float | None:
    m = t.shape[0]
    if m < 2 or (y <= 0).any():
        return None
    lt = np.log(t)
    ly = np.log(y)
    lt_c = lt - float(np.add.reduce(lt)) / m  # (the mean as ndarray.mean computes it: sum / m)
    den = float(np.einsum('i,i->', lt_c, lt_c))
    return float(np.einsum('i,i->', lt_c, ly - float(np.add.reduce(ly)) / m)) / den if den > 0 else None


def diffusion_measures(ap_cm: np.ndarray, ml_cm: np.ndarray, fs_hz: float) -> dict[str, float | None]:
    """Collins & De Luca (1993) SDA parameters for AP, ML and r (see the module docstring).

    Parameters
    ----------
    ap_cm, ml_cm : ndarray
        Mean-removed COP coordinates, cm, N samples at ``fs_hz``; lags go up to 10 s or N/2 samples,
        whichever is shorter.
    fs_hz : float
        Sample rate, Hz.

    Returns
    -------
    dict
        ``sda_critical_time_{ap,ml,r}_s`` (s), ``sda_critical_msd_{...}_cm2`` (cm²),
        ``sda_d_short_{...}_cm2_s``, ``sda_d_long_{...}_cm2_s`` (cm²/s), ``sda_h_short_{...}``,
        ``sda_h_long_{...}`` (dimensionless). All None for a component without displacement.
    """
    n = ap_cm.shape[0]
    max_lag = max(1, min(int(round(MAX_LAG_S * fs_hz)), n // 2))
    msd = mean_square_displacement(np.vstack((ap_cm, ml_cm)), max_lag)
    t = np.arange(1, max_lag + 1) / fs_hz
    lo = max(_MIN_SIDE - 1, int(math.ceil(MIN_CRITICAL_S * fs_hz)) - 1)
    hi = min(max_lag - 1 - _MIN_SIDE, int(math.floor(MAX_CRITICAL_S * fs_hz)) - 1)
    out: dict[str, float | None] = {}
    curves = np.vstack((msd, msd[0] + msd[1]))  # ap, ml, r
    fitted = curves.any(axis=1) if hi >= lo else np.zeros(3, dtype=bool)  # MSD >= 0: any > 0 is any != 0
    fits = iter(_hinge_fit(t, curves[fitted], lo, hi) if fitted.any() else [])
    for name, curve, fit in zip(("ap", "ml", "r"), curves, fitted):
        keys = (
            f"sda_critical_time_{name}_s",
            f"sda_critical_msd_{name}_cm2",
            f"sda_d_short_{name}_cm2_s",
            f"sda_d_long_{name}_cm2_s",
            f"sda_h_short_{name}",
            f"sda_h_long_{name}",
        )
        if not fit:
            out.update(dict.fromkeys(keys, None))
            continue
        b, a, s1, s2 = next(fits)
        h_short = _loglog_slope(t[: b + 1], curve[: b + 1])
        h_long = _loglog_slope(t[b:], curve[b:])
        out.update(
            zip(
                keys,
                (
                    float(t[b]),
                    a + s1 * float(t[b]),
                    s1 / 2.0,
                    s2 / 2.0,
                    None if h_short is None else h_short / 2.0,
                    None if h_long is None else h_long / 2.0,
                ),
            )
        )
    return out
