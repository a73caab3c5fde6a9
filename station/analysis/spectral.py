"""Frequency-domain sway measures (DESIGN.md §5).

Two Welch settings are used, each fixed:

* **Mean power frequency** (``mean_power_frequency_hz``), exactly as Santos & Duarte (2016)
  computed ``COPmfreq`` for their public data set: per axis a Welch PSD with a Hann window,
  segments of ``floor(N/2)`` samples overlapping by ``floor(N/4)``, FFT length ``floor(N/2)``,
  constant (mean) detrending; the axis mean frequency is ``∫ f P df / ∫ P df`` over all bins
  (trapezoid rule); the two axes are combined weighted by their summed power:
  ``(mf_AP * ΣP_AP + mf_ML * ΣP_ML) / (ΣP_AP + ΣP_ML)``.
* **Prieto et al. (1996) spectral measures** in the 0.15-5 Hz band, per axis: Welch PSD with a Hann
  window, segments of 20 s (``round(20 * fs)`` samples, resolution fs/segment ≈ 0.05 Hz),
  50 % overlap, FFT length = segment, linear detrending of each segment, one-sided density in
  cm²/Hz. Band integrals use the trapezoid rule over the bins inside the band plus the two band
  edges, where the PSD is linearly interpolated. From the spectral moments
  ``mu_k = ∫ f^k P df`` over the band: total power ``mu_0`` (cm²), centroid frequency
  ``sqrt(mu_2 / mu_0)`` (Hz), frequency dispersion ``sqrt(1 - mu_1² / (mu_0 mu_2))`` (0 for a pure
  tone, larger for broader spectra), and the 50 % and 95 % power frequencies: the frequencies
  below which 50 % and 95 % of the band power lie (linear interpolation of the cumulative band
  power), Hz. Recordings shorter than one segment (10-20 s) use a single segment spanning the
  whole recording (coarser resolution, fs/N).

References
----------
Prieto TE et al. (1996) IEEE Trans Biomed Eng 43(9):956-966.
Santos DA, Duarte M (2016) A public data set of human balance evaluations. PeerJ 4:e2648.
Welch PD (1967) IEEE Trans Audio Electroacoust 15(2):70-73.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.fft import rfft  # at import (numpy loads it on first use): forked batch workers inherit it
from numpy.lib.stride_tricks import sliding_window_view

BAND_HZ = (0.15, 5.0)
"""Band of the Prieto spectral measures, Hz."""
PRIETO_SEGMENT_S = 20.0
"""Welch segment length of the Prieto spectral measures, s."""


@lru_cache(maxsize=16)
def _hann(nperseg: int) -> np.ndarray:
    """The periodic Hann window of ``scipy.signal.get_window("hann", nperseg)`` (what
    ``scipy.signal.welch`` uses), computed the same way, bit for bit: a symmetric window of
    ``nperseg + 1`` points summed as ``0.5 * cos(0 * x) + 0.5 * cos(x)`` over ``x`` from -pi to pi,
    its last point dropped. (Not imported from scipy.signal, whose import alone costs more than
    analysing a trial.)"""
    if nperseg <= 1:
        return np.ones(nperseg)
    fac = np.linspace(-np.pi, np.pi, nperseg + 1)
    window = np.zeros(nperseg + 1)
    for k, a in enumerate((0.5, 0.5)):
        window += np.float64(a) * np.cos(k * fac)
    window = window[:-1]
    window.setflags(write=False)
    return window


@lru_cache(maxsize=16)
def _centred_ramp(nperseg: int) -> tuple[np.ndarray, float]:
    """``t = arange(nperseg) - its mean`` and ``sum(t * t)``, the linear detrend's regressor (computed
    once per segment length: the same numbers as computing them at every call)."""
    t = np.arange(nperseg, dtype=np.float64)
    t -= t.mean()
    t.setflags(write=False)
    return t, float(np.einsum('n,n->', t, t))


@lru_cache(maxsize=16)
def _window_power(nperseg: int) -> float:
    """``sum(w * w)`` of the Hann window of :func:`_hann` (Welch's density scaling)."""
    window = _hann(nperseg)
    return float(np.einsum('n,n->', window, window))


def welch_psd(x: np.ndarray, fs_hz: float, nperseg: int, noverlap: int, detrend: str) -> tuple[np.ndarray, np.ndarray]:
    """One-sided Welch PSD of each row of ``x`` with a Hann window and FFT length ``nperseg``.

    Same estimate as ``scipy.signal.welch(x, fs, "hann", nperseg, noverlap, nfft=nperseg,
    detrend=detrend, scaling="density", average="mean")``, computed with one batched real FFT
    (scipy's general implementation costs several times more on short signals).

    Parameters
    ----------
    x : ndarray, shape (k, N)
        Signals, unit U.
    fs_hz : float
        Sample rate, Hz.
    nperseg, noverlap : int
        Segment length and overlap, samples.
    detrend : {"constant", "linear"}
        Per-segment removal of the mean or of the least-squares line.

    Returns
    -------
    f : ndarray
        Frequencies, Hz.
    p : ndarray, shape (k, nperseg // 2 + 1)
        PSD, U²/Hz.
    """
    step = nperseg - noverlap
    segments = sliding_window_view(x, nperseg, axis=-1)[:, ::step, :]  # (k, segments, nperseg)
    # (means as ndarray.mean computes them, the pairwise sum divided by the count, without its Python layer)
    segments = segments - np.add.reduce(segments, axis=-1, keepdims=True) / nperseg
    if detrend == "linear":
        t, tt = _centred_ramp(nperseg)
        slope = np.einsum('...n,n->...', segments, t) / tt
        segments = segments - slope[..., None] * t
    elif detrend != "constant":
        raise ValueError(f"detrend must be 'constant' or 'linear', got {detrend!r}")
    window = _hann(nperseg)
    spectra = rfft(segments * window, axis=-1)  # the same pocketfft as scipy.fft, bit for bit
    power = spectra.real**2 + spectra.imag**2
    power = np.add.reduce(power, axis=1) / power.shape[1] / (fs_hz * _window_power(nperseg))
    if nperseg % 2:
        power[:, 1:] *= 2.0
    else:
        power[:, 1:-1] *= 2.0
    return np.arange(power.shape[-1]) * (fs_hz / nperseg), power


def mean_power_frequency(ap_cm: np.ndarray, ml_cm: np.ndarray, fs_hz: float) -> float | None:
    """Power-weighted mean frequency of AP and ML, Hz (Santos & Duarte 2016, ``COPmfreq``).

    Parameters
    ----------
    ap_cm, ml_cm : ndarray
        Mean-removed COP coordinates, cm, N samples (N >= 4).
    fs_hz : float
        Sample rate, Hz.

    Returns
    -------
    float or None
        Hz; None when the signal has no power (no sway).
    """
    n = ap_cm.shape[0]
    seg = n // 2
    f, p = welch_psd(np.vstack((ap_cm, ml_cm)), fs_hz, seg, n // 4, "constant")
    integral = np.trapezoid(p, f, axis=-1)
    total = p.sum(axis=-1)
    if not total.sum() > 0:
        return None
    weighted = 0.0
    for axis in range(2):
        if integral[axis] > 0:
            weighted += float(np.trapezoid(f * p[axis], f) / integral[axis]) * float(total[axis])
    return weighted / float(total.sum())


def _band_grid(f: np.ndarray, p: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies in [lo, hi] with the edges added, PSD interpolated at the edges."""
    inside = (f > lo) & (f < hi)
    grid = np.concatenate(([lo], f[inside], [hi]))
    edges = np.stack([np.interp((lo, hi), f, row) for row in p])
    return grid, np.concatenate((edges[:, :1], p[:, inside], edges[:, 1:]), axis=1)


def prieto_spectral(ap_cm: np.ndarray, ml_cm: np.ndarray, fs_hz: float) -> dict[str, float | None]:
    """Prieto et al. (1996) spectral measures of AP and ML in 0.15-5 Hz (see the module docstring).

    Parameters
    ----------
    ap_cm, ml_cm : ndarray
        Mean-removed COP coordinates, cm, at ``fs_hz`` (20 s or more for the fixed setting).
    fs_hz : float
        Sample rate, Hz; must exceed 10 Hz (Nyquist above the 5 Hz band edge).

    Returns
    -------
    dict
        ``total_power_{ap,ml}_cm2`` (cm²), ``f50_{ap,ml}_hz``, ``f95_{ap,ml}_hz``,
        ``centroid_frequency_{ap,ml}_hz`` (Hz), ``frequency_dispersion_{ap,ml}`` (dimensionless);
        the frequencies and dispersion are None for an axis without power in the band.
    """
    seg = min(int(round(PRIETO_SEGMENT_S * fs_hz)), ap_cm.shape[0])
    f, p = welch_psd(np.vstack((ap_cm, ml_cm)), fs_hz, seg, seg // 2, "linear")
    lo, hi = BAND_HZ
    grid, band = _band_grid(f, p, lo, hi)
    df = np.diff(grid)
    mid_p = 0.5 * (band[:, 1:] + band[:, :-1])
    cumulative = np.concatenate((np.zeros((2, 1)), np.cumsum(mid_p * df, axis=1)), axis=1)
    mu0 = cumulative[:, -1]
    mu1 = np.trapezoid(grid * band, grid, axis=1)
    mu2 = np.trapezoid(grid * grid * band, grid, axis=1)
    out: dict[str, float | None] = {}
    for axis, name in enumerate(("ap", "ml")):
        total = float(mu0[axis])
        out[f"total_power_{name}_cm2"] = total
        if not total > 0:
            for key in ("f50", "f95"):
                out[f"{key}_{name}_hz"] = None
            out[f"centroid_frequency_{name}_hz"] = None
            out[f"frequency_dispersion_{name}"] = None
            continue
        share = cumulative[axis] / total
        out[f"f50_{name}_hz"] = _frequency_at_share(grid, share, 0.50)
        out[f"f95_{name}_hz"] = _frequency_at_share(grid, share, 0.95)
        out[f"centroid_frequency_{name}_hz"] = math.sqrt(float(mu2[axis]) / total)
        out[f"frequency_dispersion_{name}"] = math.sqrt(
            max(0.0, 1.0 - float(mu1[axis]) ** 2 / (total * float(mu2[axis])))
        )
    return out


def _frequency_at_share(grid: np.ndarray, share: np.ndarray, q: float) -> float:
    """Lowest frequency at which the cumulative power share reaches q (linear interpolation)."""
    k = int(np.searchsorted(share, q, side="left"))
    if k == 0:
        return float(grid[0])
    s0, s1 = share[k - 1], share[k]
    if s1 == s0:
        return float(grid[k])
    return float(grid[k - 1] + (q - s0) / (s1 - s0) * (grid[k] - grid[k - 1]))
