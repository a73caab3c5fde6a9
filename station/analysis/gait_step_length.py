"""Step length from the trunk's vertical excursion: the inverted pendulum of Zijlstra & Hof (2003)
with the Soltani et al. (2021) processing and Mobilise-D's correction factor.

Method
------
**Step length and speed** (Zijlstra & Hof 2003): the vertical displacement of the trunk is the
doubly integrated vertical acceleration (Soltani et al. 2021 processing: acceleration
high-passed at 0.1 Hz, velocity at 1 Hz, 4th-order zero-phase Butterworth, to remove drift);
with h the trunk's rise during a step and l the sensor height, the inverted pendulum gives step
length ``K·2·sqrt(2·l·h − h²)``. In the pendulum the trunk is lowest at each contact (double
support) and highest at mid-stance, so its rise from one contact and its fall to the next are
the same h. Zijlstra & Hof (and Mobilise-D's ``SlZijlstra``) take h as the displacement's range
between the two contacts; where the trunk's height at consecutive contacts differs (slow,
shuffling and turning steps rock the trunk once per stride, sit and stand, step up), that range
adds the difference to the pendulum's rise. h is therefore the step's top less the *higher* of
its two lows (the smaller of rise and fall: the part of the excursion that is a pendulum's), each
low being the lowest point between the tops of the steps either side of a contact. A walk's
first and last steps are measured by the side facing the other steps (the other side is
standing). For steady steps rise and fall agree and h is the range, as in the original model:
on the shared straight walks the factor that fits best this way is 1.16 against Mobilise-D's
1.147 (measured, not used). The bare model underestimates step length (the trunk is not a point
mass on a stiff leg, and double support adds length), so a correction factor K multiplies it:
Zijlstra & Hof used 1.25 with their processing; with the Soltani processing we use Mobilise-D's
K = 4.587/4 = 1.147 (:data:`PENDULUM_CORRECTION`, published with mobgap's ``SlZijlstra``,
trained on the MS Project cohort, none of whom is in the shared data). Walking speed is the mean
over strides of (two step lengths) / stride time (:mod:`station.analysis.gait_measures`).

References
----------
Zijlstra W, Hof AL (2003) Assessment of spatio-temporal gait parameters from trunk accelerations
during human walking. Gait Posture 18(2):1-10.
Soltani A, Aminian K, Mazzà C, et al. (2021) Algorithms for walking speed estimation using a
lower-back-worn inertial sensor: a cross-validation on speed ranges. IEEE TNSRE 29:1955-1964.
Küderle A, Ullrich M, Micó-Amigo ME, et al. (2024) mobgap: the Mobilise-D gait analysis pipeline
(github.com/mobilise-d/mobgap; ``SlZijlstra`` step-length scaling factor 4.587/4).
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from .gait_checks import _check_height, _check_rate, _check_vertical

PENDULUM_CORRECTION = 4.587 / 4
"""Correction factor on the inverted-pendulum step length: 1.147, Mobilise-D's factor for the
Zijlstra & Hof model with the Soltani et al. (2021) processing (mobgap ``SlZijlstra``, trained on
the MS Project cohort). Zijlstra & Hof (2003) reported a mean factor of about 1.25 for their own
processing (drift removed at 0.1 Hz only, which leaves a larger excursion); the factor belongs to
the processing, not to the person."""
DRIFT_CUTOFF_HZ = 0.1
"""High-pass cut-off of the vertical acceleration before integration, Hz."""
VELOCITY_CUTOFF_HZ = 1.0
"""High-pass cut-off of the vertical velocity before the second integration, Hz (Soltani 2021)."""


def _vertical_displacement(acc_v: np.ndarray, fs: float) -> np.ndarray:
    """Vertical trunk displacement, m (Soltani et al. 2021 processing of Zijlstra & Hof's model):
    acceleration high-passed at :data:`DRIFT_CUTOFF_HZ`, integrated, the velocity high-passed at
    :data:`VELOCITY_CUTOFF_HZ`, integrated again."""
    sos_a = signal.butter(4, DRIFT_CUTOFF_HZ, btype="highpass", fs=fs, output="sos")
    sos_v = signal.butter(4, VELOCITY_CUTOFF_HZ, btype="highpass", fs=fs, output="sos")
    a = signal.sosfiltfilt(sos_a, acc_v - acc_v.mean())
    v = signal.sosfiltfilt(sos_v, np.cumsum(a) / fs)
    return np.cumsum(v) / fs


def _pendulum_rises(z: np.ndarray, contacts: np.ndarray) -> np.ndarray:
    """The pendulum's rise h of each step between consecutive ``contacts`` (sample indices,
    increasing, at least two), m: the step's highest point of the vertical displacement ``z`` less
    the higher of the lows at its two contacts (module notes). The low at a contact is the
    lowest point between the tops of the steps either side of it, so it does not hang on the
    contact's exact timing. A walk's first step rises from standing and its last one sinks into
    standing: only their side facing the other steps is a pendulum phase, so the first step is
    measured by its fall, the last by its rise (a single step by its whole range)."""
    tops = np.array([a + int(np.argmax(z[a : b + 1])) for a, b in zip(contacts[:-1], contacts[1:])], dtype=np.int64)
    bounds = np.concatenate(([contacts[0]], tops, [contacts[-1]]))
    lows = np.array([float(z[a : b + 1].min()) for a, b in zip(bounds[:-1], bounds[1:])])
    if tops.size == 1:
        return np.array([max(0.0, float(z[tops[0]]) - float(lows.min()))])
    before, after = lows[:-1].copy(), lows[1:].copy()
    before[0] = after[0]
    after[-1] = before[-1]
    return np.maximum(0.0, z[tops] - np.maximum(before, after))


def _pendulum_lengths(z: np.ndarray, contacts: np.ndarray, height: float) -> np.ndarray:
    """Step length of each step between consecutive ``contacts`` (sample indices, increasing), m."""
    if contacts.size < 2:
        return np.zeros(0)
    h = np.minimum(_pendulum_rises(z, contacts), height)  # 2lh − h² is largest at h = l
    return PENDULUM_CORRECTION * 2.0 * np.sqrt(np.maximum(0.0, 2.0 * height * h - h * h))


def pendulum_step_lengths(acc_v_m_s2, fs_hz: float, initial_contacts_s, sensor_height_m: float) -> np.ndarray:
    """Length of each step between consecutive initial contacts: the inverted pendulum of Zijlstra
    & Hof (2003) with the Soltani et al. (2021) processing and :data:`PENDULUM_CORRECTION`, the
    pendulum's rise being the smaller of the trunk's rise and fall in the step, exactly as
    :func:`station.analysis.gait.gait_metrics` computes ``step_length_m`` for the contacts of one
    bout (module notes). The contacts are taken as one walk: its first and last steps are measured
    by their side facing the other steps.

    Parameters
    ----------
    acc_v_m_s2 : array_like, shape (N,)
        Vertical acceleration of the lower back, m/s² (gravity included or not), e.g.
        ``align_to_body(...)[0][:, 0]``.
    fs_hz : float
        Sample rate, Hz.
    initial_contacts_s : array_like, shape (M,)
        Initial contacts, s from the first sample, increasing, inside the recording.
    sensor_height_m : float
        Height of the sensor above the ground when standing, m.

    Returns
    -------
    ndarray, shape (M - 1,)
        Step lengths, m (empty for fewer than two contacts).

    Raises
    ------
    ValueError
        Bad rate, signal, height, or contacts that are not increasing times inside the recording.

    References
    ----------
    Zijlstra & Hof (2003) Gait Posture 18(2):1-10; Soltani et al. (2021) IEEE TNSRE 29:1955-1964.

    Examples
    --------
    A trunk rising and falling 4 cm peak to peak twice a second (steps of 0.5 s), sensor at 0.95 m:

    >>> fs = 100.0
    >>> t = np.arange(0, 10, 1 / fs)
    >>> acc_v = 9.81 + 0.02 * (2 * np.pi * 2) ** 2 * np.cos(2 * np.pi * 2 * t)
    >>> lengths = pendulum_step_lengths(acc_v, fs, np.arange(2, 8.01, 0.5), 0.95)
    >>> lengths.shape, bool(np.all((lengths > 0.6) & (lengths < 0.7)))
    ((12,), True)
    """
    fs = _check_rate(fs_hz)
    acc = _check_vertical(acc_v_m_s2, fs)
    height = _check_height(sensor_height_m)
    if height is None:
        raise ValueError("sensor_height_m is needed for step lengths (the pendulum length, m)")
    t = np.asarray(initial_contacts_s, dtype=np.float64)
    if t.ndim != 1 or not np.isfinite(t).all():
        raise ValueError("initial_contacts_s must be a 1-D list of finite times in s from the first sample")
    idx = np.round(t * fs).astype(np.int64)
    if idx.size and (idx[0] < 0 or idx[-1] >= acc.shape[0] or np.any(np.diff(idx) <= 0)):
        raise ValueError(
            f"initial_contacts_s must be increasing times inside the recording (0 to {acc.shape[0] / fs:.2f} s)"
        )
    if idx.size < 2:
        return np.zeros(0)
    z = _vertical_displacement(acc, fs)
    return _pendulum_lengths(z, idx, height)
