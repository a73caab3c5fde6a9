"""Pieces shared by the IMU models: a sample timeline on the chip's own clock, and conversion of
motion to quantised, noisy raw counts.

Both IMU models sample at an output data rate derived from their internal oscillator, which runs
a seeded fraction of a percent fast or slow, so an IMU drifts against the ADCs and the Pi, as a
real one does. Samples are evaluated lazily, when a register access needs them.
"""

from __future__ import annotations

import math

import numpy as np

from station.sim.loads import STANDARD_GRAVITY_M_S2

INT16_MIN = -32768
INT16_MAX = 32767


def continue_at_period(first_ns: float, period_ns: float, now_ns: float, new_period_ns: float) -> float:
    """The ``first_ns`` of a sample grid ``first_ns + k * period_ns`` whose oscillator runs at
    ``new_period_ns`` from ``now_ns`` on (its temperature changed): the sample due next comes after
    the same fraction of a period, and the numbering goes on (a chip that counts its samples sees
    no jump). The new line gives the samples made before ``now_ns`` other times (off by their age
    times the change of rate): make them first.

    >>> continue_at_period(0.0, 10.0, 25.0, 20.0)  # sample 3 was due at 30, now at 25 + 0.5 * 20
    -25.0
    """
    k_next = math.floor((now_ns - first_ns) / period_ns) + 1
    next_ns = now_ns + (first_ns + k_next * period_ns - now_ns) * (new_period_ns / period_ns)
    return next_ns - k_next * new_period_ns


class SampleTimeline:
    """Samples at ``first_ns + k * period_ns`` (float ns), k = 0, 1, ... while running.

    ``noise_index(k)`` numbers samples across runs (it keeps growing when the timeline is
    restarted), so noise streams are indexed consistently.
    """

    __slots__ = ("first_ns", "period_ns", "last_k", "base_index")

    def __init__(self) -> None:
        self.first_ns: float | None = None
        self.period_ns = 1.0
        self.last_k = -1
        self.base_index = 0

    @property
    def running(self) -> bool:
        return self.first_ns is not None

    def start(self, now_ns: float, period_ns: float, latency_fraction: float, grid_anchor_ns: float | None = None) -> None:
        """(Re)start: the first sample completes ``(1 + latency_fraction)`` periods after
        ``now_ns``; with ``grid_anchor_ns``, at the first point of the grid
        ``grid_anchor_ns + j * period_ns`` at least one period after ``now_ns`` instead (sensors
        sharing an oscillator and a rate then sample at the same instants)."""
        self.stop(now_ns)
        self.period_ns = period = float(period_ns)
        if grid_anchor_ns is None:
            self.first_ns = float(now_ns) + (1.0 + latency_fraction) * period
        else:
            self.first_ns = grid_anchor_ns + math.ceil((now_ns + period - grid_anchor_ns) / period) * period
        self.last_k = -1

    def stop(self, now_ns: float) -> None:
        if self.first_ns is not None and now_ns >= self.first_ns:
            self.base_index += int((now_ns - self.first_ns) // self.period_ns) + 1
        self.first_ns = None
        self.last_k = -1

    def retune(self, now_ns: float, period_ns: float) -> None:
        """Sample every ``period_ns`` from ``now_ns`` on, the numbering going on
        (:func:`continue_at_period`); call it once the samples up to ``now_ns`` are made (their
        times by :meth:`time_of` are the new line's after it)."""
        if self.first_ns is not None and now_ns >= self.first_ns:
            self.first_ns = continue_at_period(self.first_ns, self.period_ns, now_ns, period_ns)
        elif self.first_ns is not None:  # the first sample is still to come: it comes at the new rate
            self.first_ns = now_ns + (self.first_ns - now_ns) * (period_ns / self.period_ns)
        self.period_ns = float(period_ns)

    def pending(self, now_ns: float) -> tuple[int, int]:
        """Indices ``(first_new, last_new)`` of samples completed since the last call (empty when
        ``first_new > last_new``); marks them as seen."""
        first = self.first_ns
        if first is None or now_ns < first:
            return 0, -1
        k = int((now_ns - first) // self.period_ns)
        if k <= self.last_k:
            return 0, -1
        start = self.last_k + 1
        self.last_k = k
        return start, k

    def time_of(self, k: int) -> float:
        return self.first_ns + k * self.period_ns

    def noise_index(self, k: int) -> int:
        return self.base_index + k


def quantise(values, noise, noise_rms, lsb) -> np.ndarray:
    """``round((values + noise * noise_rms) / lsb)`` clipped to int16, as int64 array."""
    raw = np.rint((np.asarray(values, dtype=float) + np.asarray(noise) * noise_rms) / lsb)
    return np.clip(raw, INT16_MIN, INT16_MAX).astype(np.int64)


def quantise_one(values, noise, noise_rms: float, lsb: float, scale: float = 1.0) -> tuple[int, int, int]:
    """One sample of :func:`quantise` in plain Python (cheaper than numpy for 3 values):
    ``values`` are multiplied by ``scale`` first."""
    out = []
    for value, z in zip(values, noise):
        raw = round((value * scale + float(z) * noise_rms) / lsb)
        out.append(INT16_MAX if raw > INT16_MAX else INT16_MIN if raw < INT16_MIN else raw)
    return out[0], out[1], out[2]


def motion_arrays(motion, times_ns) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate ``motion(t_ns)`` at each time: accelerations in g and angular rates in deg/s,
    both ``(n, 3)`` arrays."""
    n = len(times_ns)
    acc = np.empty((n, 3))
    gyro = np.empty((n, 3))
    for i, t in enumerate(times_ns):
        sample = motion(t)
        acc[i] = sample.acc_m_s2
        gyro[i] = sample.gyro_deg_s
    acc /= STANDARD_GRAVITY_M_S2
    return acc, gyro


def rate_error_and_latency(params: np.random.Generator, rate_error: float | None) -> tuple[float, float]:
    """A seeded oscillator error (magnitude 0.1–0.5 %, random sign) unless given, and a start
    latency fraction in [0, 1)."""
    if rate_error is None:
        rate_error = float(params.uniform(0.001, 0.005)) * (1.0 if params.random() < 0.5 else -1.0)
    return float(rate_error), float(params.random())


def white_noise_rms(density_per_sqrt_hz: float, bandwidth_hz: float) -> float:
    """RMS of white noise of spectral density ``density_per_sqrt_hz`` over ``bandwidth_hz``."""
    return density_per_sqrt_hz * math.sqrt(bandwidth_hz)
