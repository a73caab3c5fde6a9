"""Lower-back IMU: from the sensor's axes to the body frame (DESIGN.md §8, contract).

Body frame after alignment: ``v`` up, ``ap`` toward the toes, ``ml`` toward the person's right;
acceleration in m/s² including gravity, angular rate in deg/s (about each body axis, right-hand
rule).

How the frame is found:

* **Vertical from gravity.** The direction of gravity in the sensor's axes is the acceleration
  low-passed far below the gait frequencies (zero-phase 2nd-order Butterworth at
  :data:`GRAVITY_CUTOFF_HZ` = 0.1 Hz; a stride lasts 0.8 to 2.5 s, so its 0.4 to 1.2 Hz sway is not
  mistaken for a tilt). ``v`` follows it sample by sample, so a sensor tilted on the belt (up to
  45°, :data:`MAX_TILT_DEG`) or a trunk that leans while sitting down still gives the true
  vertical. Moe-Nilssen (1998) used the same principle (the static component of trunk
  acceleration gives the tilt) to correct trunk accelerometry for tilt.
* **Toes from the mounting.** Gravity cannot tell forward from backward nor left from right; the
  configured mounting (which sensor axis points toward the toes when worn) gives it. ``ap`` is that
  axis with its vertical part removed (so a tilted sensor still gives a horizontal ``ap``), and
  ``ml = ap × v`` points to the person's right.
* Walking direction (forward or backward) is the protocol's business, never guessed here.

References
----------
Moe-Nilssen R (1998) A new method for evaluating motor control in gait under real-life
environmental conditions. Part 1: the instrument. Clin Biomech 13:320-327.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal

AXES = ("+x", "-x", "+y", "-y", "+z", "-z")
"""Allowed mounting axes: a sign and one of the sensor's axes."""
GRAVITY_CUTOFF_HZ = 0.1
"""Low-pass cut-off that separates gravity from movement, Hz."""
MAX_TILT_DEG = 45.0
"""A configured up axis may lean this far from gravity and the frame is still trusted, degrees."""
MISMOUNT_TILT_DEG = 60.0
"""Beyond this angle between the configured up axis and gravity, the mounting is reported wrong."""
GRAVITY_M_S2 = 9.80665
GRAVITY_TOLERANCE = 0.25
"""The mean acceleration must lie within ±25 % of g to be gravity (a belt-worn sensor barely
accelerates on average); outside, the unit (g instead of m/s²) or the sensor is wrong."""


def axis_vector(axis: str) -> np.ndarray:
    """Unit vector of a mounting axis such as ``"+x"`` or ``"-z"`` in the sensor's coordinates.

    Parameters
    ----------
    axis : str
        One of :data:`AXES` (case-insensitive; a missing sign means ``+``).

    Returns
    -------
    ndarray, shape (3,)

    Raises
    ------
    ValueError
        If ``axis`` is not a signed sensor axis.

    Examples
    --------
    >>> axis_vector("-z")
    array([ 0.,  0., -1.])
    """
    if not isinstance(axis, str):
        raise ValueError(f"mounting axis must be a string such as '+x' or '-z', got {axis!r}")
    text = axis.strip().lower()
    if text in ("x", "y", "z"):
        text = "+" + text
    if text not in AXES:
        raise ValueError(f"mounting axis {axis!r} is not one of {', '.join(AXES)}")
    vec = np.zeros(3)
    vec["xyz".index(text[1])] = 1.0 if text[0] == "+" else -1.0
    return vec


def _mounting(up_axis: str, toes_axis: str) -> tuple[np.ndarray, np.ndarray]:
    up = axis_vector(up_axis)
    toes = axis_vector(toes_axis)
    if abs(float(up @ toes)) > 0.5:
        raise ValueError(
            f"mounting up axis {up_axis!r} and toes axis {toes_axis!r} must be two different sensor axes"
        )
    return up, toes


def _as_samples(name: str, values, unit: str, *, missing_rows: bool = False) -> np.ndarray:
    """``values`` as a float64 (N, 3) array of finite samples; with ``missing_rows``, rows all NaN
    (samples the sensor did not give) are let through as well."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"{name} must have shape (N, 3) (one row per sample, {unit}), got {arr.shape}")
    if arr.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 samples, got {arr.shape[0]}")
    finite = np.isfinite(arr)
    if missing_rows:
        finite |= np.isnan(arr).all(axis=1)[:, None]
    if not finite.all():
        what = "infinite values or rows partly NaN" if missing_rows else "NaN or infinite values"
        raise ValueError(f"{name} contains {what}; give only measured samples")
    return arr


def gravity_direction(acc_m_s2, fs_hz: float | None = None) -> np.ndarray:
    """Direction of gravity (up) in the sensor's axes, per sample.

    Parameters
    ----------
    acc_m_s2 : array_like, shape (N, 3)
        Acceleration including gravity, m/s², sensor axes.
    fs_hz : float, optional
        Sample rate, Hz. Given, the direction follows slow changes of posture (low-pass at
        :data:`GRAVITY_CUTOFF_HZ`); omitted, or for recordings shorter than 20 s, one direction
        (the mean acceleration) serves the whole recording.

    Returns
    -------
    ndarray, shape (N, 3)
        Unit vectors pointing up (a resting accelerometer reads +g upward).

    Raises
    ------
    ValueError
        Bad shape, non-finite values, or no gravity at all (mean acceleration near zero).

    Examples
    --------
    >>> acc = np.tile([0.0, 0.0, 9.81], (200, 1))
    >>> gravity_direction(acc, 100.0)[0]
    array([0., 0., 1.])
    """
    acc = _as_samples("acc_m_s2", acc_m_s2, "m/s²")
    n = acc.shape[0]
    if fs_hz is not None and not (math.isfinite(fs_hz) and fs_hz > 0):
        raise ValueError(f"sample rate must be a positive number of Hz, got {fs_hz!r}")
    if fs_hz is None or n < 20.0 * fs_hz or fs_hz <= 4 * GRAVITY_CUTOFF_HZ:
        g = np.broadcast_to(acc.mean(axis=0), acc.shape).copy()
    else:
        sos = signal.butter(2, GRAVITY_CUTOFF_HZ, btype="lowpass", fs=fs_hz, output="sos")
        # an axis at a time: the filter's copies of one column, not of three; the same numbers, in the
        # layout the filter of all three gave (column after column), which the sums below depend on
        g = np.empty(acc.shape, order="F")
        for axis in range(acc.shape[1]):
            g[:, axis] = signal.sosfiltfilt(sos, acc[:, axis])
    norm = np.sqrt(np.einsum("ij,ij->i", g, g))
    if not (norm > 0.1 * GRAVITY_M_S2).all():
        raise ValueError(
            "no gravity in the acceleration (mean magnitude below 1 m/s²): is the sensor in free fall, "
            "or the acceleration not in m/s²?"
        )
    g /= norm[:, None]
    return g


PROJECTION_ROWS = 16384
"""Samples given their body axes and projected on them at a time by :func:`align_to_body` (their
antero-posterior and medio-lateral axes, 3 × 3 bases and temporaries: about 3 MB); the result is
the same, bit for bit, as for all of them at once."""
GRAVITY_SETTLE_S = 120.0
"""How far a sample's low-pass gravity direction reaches into the recording, s. The filter (2nd-order
Butterworth at :data:`GRAVITY_CUTOFF_HZ`, forward and backward) forgets a sample as
exp(−ζ·2π·f_c·t), ζ = 1/√2: by e^-53 after 120 s, far below float64's resolution. Measured on a
30-min synthetic walk (tilt drifting, steps, noise): a stretch with 60 s on either side gave the
whole recording's vertical acceleration within 5e-13 m/s² (30 s: 7e-8), and 120 s no closer (the
rest is rounding)."""


def gravity_context(n: int, fs_hz: float, start: int, stop: int) -> tuple[int, int]:
    """The samples ``lo:hi`` of an ``n``-sample recording that :func:`gravity_direction` needs to give
    samples ``start:stop`` their directions as over the whole recording (within float64 rounding,
    :data:`GRAVITY_SETTLE_S`): the stretch and :data:`GRAVITY_SETTLE_S` on either side, or the whole
    recording when :func:`gravity_direction` would use one mean direction for it (under 20 s, or a
    rate at or below 4 times the cut-off). So a long recording's vertical acceleration can be
    computed a stretch at a time, at the memory of a stretch.

    Parameters
    ----------
    n : int
        Samples in the recording.
    fs_hz : float
        Sample rate, Hz.
    start, stop : int
        The samples wanted, ``0 <= start <= stop <= n``.

    Examples
    --------
    A minute at 1:00 of a 2-hour recording at 100 Hz, and the first 10 s of a 30-s one:

    >>> gravity_context(720_000, 100.0, 6_000, 12_000)
    (0, 24000)
    >>> gravity_context(3_000, 100.0, 0, 1_000)
    (0, 3000)
    """
    if not (0 <= start <= stop <= n):
        raise ValueError(f"samples {start}:{stop} are not within a recording of {n}")
    if n < 20.0 * fs_hz or fs_hz <= 4 * GRAVITY_CUTOFF_HZ:
        return 0, n
    margin = math.ceil(GRAVITY_SETTLE_S * fs_hz)
    return max(0, start - margin), min(n, stop + margin)


def check_mounting(acc_m_s2, *, up_axis: str = "+x", toes_axis: str = "+z") -> str | None:
    """Whether the configured mounting agrees with gravity; the reason when it does not.

    Parameters
    ----------
    acc_m_s2 : array_like, shape (N, 3)
        Acceleration including gravity, m/s², sensor axes, while the person stands or walks
        (a second or more is enough).
    up_axis, toes_axis : str
        Configured mounting: the sensor axes (``"+x"``, ``"-z"``, ...) that point up and toward
        the toes when the sensor is worn.

    Returns
    -------
    str or None
        ``None`` when the mounting agrees with gravity (the configured up axis within
        :data:`MISMOUNT_TILT_DEG` of the measured vertical, the mean acceleration within ±25 % of
        g); otherwise one line saying what disagrees and what to check.

    Raises
    ------
    ValueError
        If the axes are not valid signed sensor axes, are the same axis, or the samples are not
        an (N, 3) array of finite values.

    Examples
    --------
    >>> still = np.tile([9.81, 0.0, 0.0], (100, 1))
    >>> check_mounting(still, up_axis="+x", toes_axis="+z") is None
    True
    >>> print(check_mounting(still, up_axis="-x", toes_axis="+z"))
    configured up axis -x points 180° from gravity's vertical (+x is nearest to up): the sensor is worn upside down or mounting_up is wrong
    """
    up, _toes = _mounting(up_axis, toes_axis)
    acc = _as_samples("acc_m_s2", acc_m_s2, "m/s²")
    with np.errstate(over="ignore", invalid="ignore"):  # a spike of 1e200 m/s²: said below, in words
        mean = acc.mean(axis=0)
        magnitude = float(np.linalg.norm(mean))
    if abs(magnitude - GRAVITY_M_S2) > GRAVITY_TOLERANCE * GRAVITY_M_S2:
        hint = " (acceleration in g instead of m/s²?)" if 0.5 < magnitude < 1.5 else ""
        return (
            f"mean acceleration is {magnitude:.2f} m/s², not gravity's {GRAVITY_M_S2:.2f}{hint}: check the IMU's "
            "scale and that it is worn, not moving freely"
        )
    vertical = mean / magnitude
    angle = math.degrees(math.acos(max(-1.0, min(1.0, float(up @ vertical)))))
    if angle <= MISMOUNT_TILT_DEG:
        return None
    k = int(np.argmax(np.abs(vertical)))
    nearest = ("+" if vertical[k] > 0 else "-") + "xyz"[k]
    what = "the sensor is worn upside down or mounting_up is wrong" if angle > 135 else (
        "the sensor is turned on the belt or mounting_up is wrong")
    return (
        f"configured up axis {up_axis.strip().lower()} points {angle:.0f}° from gravity's vertical "
        f"({nearest} is nearest to up): {what}"
    )


def align_to_body(
    acc_m_s2, gyro_deg_s, *, up_axis: str = "+x", toes_axis: str = "+z", fs_hz: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate lower-back IMU samples from the sensor's axes to the body frame (v, ap, ml).

    Parameters
    ----------
    acc_m_s2 : array_like, shape (N, 3)
        Acceleration including gravity, m/s², sensor axes (x, y, z).
    gyro_deg_s : array_like, shape (N, 3) or None
        Angular rate, deg/s, sensor axes; ``None`` when the sensor has no gyroscope. A row of NaN
        is a sample the gyroscope did not give (a dropout longer than the reader bridges,
        :mod:`station.store.imu_recording`): it stays NaN in ``gyro_body``, and the acceleration,
        all the frame needs, is unaffected.
    up_axis, toes_axis : str
        Configured mounting: the sensor axes that point up and toward the toes when worn
        (default ``"+x"`` up, ``"+z"`` toward the toes, the lower-back sensor of the gait data
        set). ``up_axis`` only checks plausibility in :func:`check_mounting`; the vertical
        itself always comes from gravity.
    fs_hz : float, optional
        Sample rate, Hz: lets the vertical follow slow changes of posture in recordings of 20 s
        or more (see :func:`gravity_direction`). Without it one vertical (the mean) is used.

    Returns
    -------
    acc_body : ndarray, shape (N, 3)
        Columns ``v`` (up), ``ap`` (toward the toes), ``ml`` (toward the right), m/s², including
        gravity (so ``acc_body[:, 0]`` is about +9.81 at rest).
    gyro_body : ndarray, shape (N, 3) or None
        Angular rate about the same axes, deg/s (``None`` if ``gyro_deg_s`` is ``None``; NaN
        where ``gyro_deg_s`` is).

    Raises
    ------
    ValueError
        Invalid or identical mounting axes, arrays of the wrong shape or with non-finite values
        (the gyroscope's rows may be wholly NaN), no gravity, or a toes axis that is vertical on average over the recording (the sensor is
        mounted so that the configured toes axis points up or down: see :func:`check_mounting`).

    Notes
    -----
    ``v`` is the unit vector of gravity; ``ap`` is the configured toes axis minus its projection
    on ``v``, normalised; ``ml = ap × v``. Each sample is projected on that sample's (v, ap, ml).
    Where the trunk pitches so far that the toes axis comes within 30° of the vertical (bending to
    the floor, reclining in a chair, with the sensor's own tilt on top), ``ap`` comes from the
    sensor's medio-lateral axis instead (``ap = v × ml``, ``ml`` made horizontal), which a pitch
    leaves horizontal; only a toes axis near the vertical for the recording's mean gravity (a
    mounting that disagrees with gravity) is refused.

    Examples
    --------
    A sensor worn with +x up and +z toward the toes, tilted 30° forward:

    >>> tilt = np.radians(30.0)
    >>> up = np.array([np.cos(tilt), 0.0, -np.sin(tilt)])   # gravity's up, in sensor axes
    >>> acc = np.tile(9.81 * up, (100, 1))
    >>> acc_body, _ = align_to_body(acc, None, up_axis="+x", toes_axis="+z")
    >>> np.round(acc_body[0], 6) + 0.0
    array([9.81, 0.  , 0.  ])
    """
    _up, toes = _mounting(up_axis, toes_axis)
    acc = _as_samples("acc_m_s2", acc_m_s2, "m/s²")
    gyro = None
    if gyro_deg_s is not None:
        gyro = _as_samples("gyro_deg_s", gyro_deg_s, "deg/s", missing_rows=True)
        if gyro.shape != acc.shape:
            raise ValueError(f"gyro_deg_s has shape {gyro.shape}, acc_m_s2 {acc.shape}: one row per sample for both")
    v = gravity_direction(acc, fs_hz)
    mean_up = acc.mean(axis=0)
    mean_norm = float(np.linalg.norm(mean_up))
    if mean_norm > 0 and abs(float(mean_up @ toes)) / mean_norm > math.cos(math.radians(90.0 - MISMOUNT_TILT_DEG)):
        raise ValueError(
            f"configured toes axis {toes_axis!r} points nearly vertically: the mounting disagrees with gravity "
            "(check mounting_toes and mounting_up)"
        )
    # Heading from the toes axis made horizontal; where the trunk pitches so far that the toes axis
    # nears the vertical (bending to the floor, reclining, with the sensor's own tilt on top), from the
    # medio-lateral axis instead, which a pitch leaves horizontal (ap = v × ml). The two agree for an
    # upright trunk; one of the two orthogonal axes is always at least 45° from the vertical.
    side = np.cross(toes, _up)  # the sensor axis toward the right when worn (ml = ap × v)
    steep = math.sin(math.radians(90.0 - MISMOUNT_TILT_DEG))  # toes axis > 60° from horizontal below this
    acc_body = np.empty_like(acc)
    gyro_body = None if gyro is None else np.empty_like(gyro)
    # A block of rows at a time: each sample's axes come from its own vertical alone, so the body axes of
    # a block (3 × 3 a sample, 72 bytes) and their temporaries are all that is held beside ``v``; the
    # products with the mounting's axes (signed unit vectors) are exact, and every other operation is
    # the one applied to all the rows at once: the same numbers, bit for bit.
    for i in range(0, acc.shape[0], PROJECTION_ROWS):
        rows = slice(i, i + PROJECTION_ROWS)
        up = v[rows]
        ap = (up @ toes)[:, None] * up
        np.subtract(toes[None, :], ap, out=ap)  # toes − (v·toes) v, in place
        ap_norm = np.sqrt(np.einsum("ij,ij->i", ap, ap))
        pitched = ap_norm < steep
        ap /= ap_norm[:, None].clip(min=1e-12)
        if pitched.any():  # only then the medio-lateral axis made horizontal
            ml_h = side[None, :] - (up @ side)[:, None] * up
            ml_norm = np.sqrt(np.einsum("ij,ij->i", ml_h, ml_h))
            ap[pitched] = np.cross(up[pitched], ml_h[pitched] / ml_norm[pitched, None])
        basis = np.stack((up, ap, np.cross(ap, up)), axis=1)  # (rows, 3 body axes, 3 sensor axes)
        acc_body[rows] = np.einsum("nbs,ns->nb", basis, acc[rows])
        if gyro is not None:
            gyro_body[rows] = np.einsum("nbs,ns->nb", basis, gyro[rows])
    return acc_body, gyro_body
