"""Zero-phase low-pass filtering of sway signals.

The ``station`` processing profile (DESIGN.md §5) low-passes COP with a 4th-order Butterworth
filter at 10 Hz, run forward and backward (zero phase), before removing the mean.

Reference: Winter DA (2009) *Biomechanics and Motor Control of Human Movement*, 4th ed., §3.4
(zero-lag Butterworth filtering of movement data); scipy.signal.butter / sosfiltfilt.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

# scipy.signal is imported where it is used: its import alone takes longer than the analysis of a
# trial, and the ``raw`` profile never filters.


@lru_cache(maxsize=32)
def _butter_sos(order: int, cutoff_hz: float, fs_hz: float) -> np.ndarray:
    from scipy import signal

    return signal.butter(order, cutoff_hz, btype="lowpass", fs=fs_hz, output="sos")


def lowpass_butterworth(x, fs_hz: float, cutoff_hz: float = 10.0, order: int = 4, axis: int = -1) -> np.ndarray:
    """Zero-phase Butterworth low-pass filter.

    Parameters
    ----------
    x : array_like
        Signal(s), any unit (the output has the same unit), sampled uniformly at ``fs_hz``;
        filtered along ``axis`` (so an array of shape (2, N) filters AP and ML in one call).
    fs_hz : float
        Sample rate, Hz.
    cutoff_hz : float
        Cut-off frequency, Hz (default 10 Hz); must be below the Nyquist frequency ``fs_hz / 2``.
    order : int
        Order of the designed Butterworth filter (default 4). The filter is applied forward and
        backward (``scipy.signal.sosfiltfilt``, odd padding), so the phase shift is zero, the
        magnitude response is squared (attenuation -6 dB at ``cutoff_hz``) and the roll-off is that
        of order ``2 * order``.

    Returns
    -------
    ndarray
        Filtered signal, float64, same shape as ``x``.

    Raises
    ------
    ValueError
        If the cut-off is not between 0 and the Nyquist frequency, or the signal is too short for
        the filter's edge padding.
    """
    if not (np.isfinite(fs_hz) and fs_hz > 0):
        raise ValueError(f"sample rate must be a positive number of Hz, got {fs_hz!r}")
    if not (0 < cutoff_hz < fs_hz / 2):
        raise ValueError(
            f"low-pass cut-off {cutoff_hz:g} Hz must lie between 0 and the Nyquist frequency "
            f"{fs_hz / 2:g} Hz (sample rate {fs_hz:g} Hz)"
        )
    if order < 1:
        raise ValueError(f"filter order must be at least 1, got {order}")
    x = np.asarray(x, dtype=np.float64)
    from scipy import signal

    sos = _butter_sos(int(order), float(cutoff_hz), float(fs_hz))
    return signal.sosfiltfilt(sos, x, axis=axis)
