"""Step and stride regularity of a walking bout: the unbiased autocorrelation of the trunk's
vertical acceleration (Moe-Nilssen & Helbostad 2004).

The unbiased autocorrelation of the vertical acceleration of a bout (mean removed), normalised by
the zero-lag value; its peak near one step lag is ``step_regularity``, near two step lags
``stride_regularity``; ``step_symmetry`` is their ratio (Tura et al. 2010: 1 means both steps
alike). :func:`station.analysis.gait.gait_metrics` averages the bouts weighted by their length.
The same autocorrelation of the medio-lateral acceleration tells steps from strides
(:mod:`station.analysis.gait_sides`).

References
----------
Moe-Nilssen R, Helbostad JL (2004) Estimation of gait cycle characteristics by trunk
accelerometry. J Biomech 37:121-126.
Tura A, Raggi M, Rocchi L, Cutti AG, Chiari L (2010) Gait symmetry and regularity in transfemoral
amputees assessed by trunk accelerations. J Neuroeng Rehabil 7:4.
"""

from __future__ import annotations

import math

import numpy as np


def _unbiased_autocorrelation(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Moe-Nilssen & Helbostad (2004): Ad(m) = [Σ x_i x_(i+m) / (N − m)] / [Σ x_i² / N] of ``x`` less
    its mean (the copy made here and let go once transformed: a caller passes its signal's stretch as it
    is, not a copy it would hold through the transforms)."""
    n = x.shape[0]
    nfft = 1 << int(math.ceil(math.log2(2 * n)))
    x = x - x.mean()
    spec = np.fft.rfft(x, nfft)
    del x
    # the power spectrum as before, in the same expression (numpy reuses the conjugate's temporary for
    # it: the same products, bit for bit), and the spectrum dropped before the inverse transform: two
    # arrays of nfft / 2 complex values at a time, not three (a 2-hour bout at 100 Hz: 34, not 50 MB)
    power = spec * np.conj(spec)
    del spec
    acf = np.fft.irfft(power, nfft)[: max_lag + 1]
    del power
    zero = acf[0] / n
    if zero <= 0:
        return np.full(max_lag + 1, np.nan)
    lags = np.arange(max_lag + 1)
    return (acf / (n - lags)) / zero


def _regularity(acc_v: np.ndarray, start: int, stop: int, step_samples: float) -> tuple[float, float] | None:
    """(step, stride) regularity of one bout, or None when the bout is too short."""
    x = acc_v[start:stop]
    stride = int(round(2 * step_samples))
    if x.shape[0] < 2 * stride or stride < 4:
        return None
    ad = _unbiased_autocorrelation(x, int(round(2.4 * step_samples)))
    if not np.isfinite(ad).all():
        return None
    lo1, hi1 = int(round(0.6 * step_samples)), int(round(1.4 * step_samples))
    lo2, hi2 = int(round(1.6 * step_samples)), int(round(2.4 * step_samples))
    return float(ad[lo1 : hi1 + 1].max()), float(ad[lo2 : hi2 + 1].max())
