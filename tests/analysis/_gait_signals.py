"""Synthetic lower-back accelerations with known initial contacts, for the gait tests.

Each step adds to the vertical acceleration a pulse that starts at the initial contact with a
steep rise (the foot's impact: time constant 15 ms) and decays over about 0.12 s (the trunk taking
the weight), on top of gravity; the pulse train's fundamental gives the band-passed lobe of the
step. Antero-posterior and medio-lateral accelerations are sinusoids at the step and stride
frequency: they do not matter to the detection, which only reads the vertical.
"""

from __future__ import annotations

import numpy as np

G = 9.81


def contacts_from_steps(step_times_s, start_s: float = 2.0) -> np.ndarray:
    """Initial contacts (s) of consecutive steps of the given durations, starting at ``start_s``."""
    return start_s + np.concatenate(([0.0], np.cumsum(step_times_s)))


def vertical(contacts_s, fs_hz: float, duration_s: float, *, amplitude=3.0, rise_s=0.015, decay_s=0.12,
             noise_m_s2=0.0, seed=0) -> np.ndarray:
    """Vertical acceleration (m/s², gravity included) with an impact pulse at every contact.

    ``amplitude`` may be a scalar or one value per contact (e.g. alternating for an asymmetric gait).
    """
    t = np.arange(int(round(duration_s * fs_hz))) / fs_hz
    acc = np.full(t.shape, G)
    amps = np.broadcast_to(np.asarray(amplitude, dtype=float), (len(contacts_s),))
    for ic, amp in zip(contacts_s, amps):
        tau = t - ic
        on = (tau >= 0) & (tau < 8 * decay_s)
        pulse = np.exp(-tau[on] / decay_s) - np.exp(-tau[on] / rise_s)
        acc[on] += amp * pulse / pulse.max()
    if noise_m_s2:
        acc += np.random.default_rng(seed).normal(0.0, noise_m_s2, t.shape)
    return acc


def body(contacts_s, fs_hz: float, duration_s: float, *, backward=False, **kw) -> np.ndarray:
    """Body-frame acceleration (v, ap, ml), m/s²: ``vertical`` plus AP and ML sway while walking.
    ``backward`` flips the sign of AP (walking backward, as the trunk sees it)."""
    v = vertical(contacts_s, fs_hz, duration_s, **kw)
    t = np.arange(v.size) / fs_hz
    walking = (t >= contacts_s[0]) & (t <= contacts_s[-1])
    step = float(np.median(np.diff(contacts_s))) if len(contacts_s) > 1 else 0.6
    ap = np.where(walking, 1.2 * np.sin(2 * np.pi * t / step + 0.7), 0.0) * (-1.0 if backward else 1.0)
    ml = np.where(walking, 0.8 * np.sin(np.pi * t / step), 0.0)
    return np.column_stack((v, ap, ml))


def rotation(axis, angle_deg: float) -> np.ndarray:
    """Rotation matrix about a unit ``axis`` (Rodrigues)."""
    k = np.asarray(axis, dtype=float)
    k = k / np.linalg.norm(k)
    a = np.radians(angle_deg)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(a) * kx + (1 - np.cos(a)) * kx @ kx


def to_sensor(acc_body: np.ndarray, tilt: np.ndarray | None = None) -> np.ndarray:
    """Sensor readings of a belt sensor worn with +x up, +z toward the toes (so +y to the right),
    optionally tilted by the rotation ``tilt`` (body frame -> sensor frame)."""
    v, ap, ml = acc_body[:, 0], acc_body[:, 1], acc_body[:, 2]
    sensor = np.column_stack((v, ml, ap))  # x = up, y = right, z = toes
    if tilt is not None:
        sensor = sensor @ tilt.T
    return sensor
