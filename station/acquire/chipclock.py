"""Timing a chip's samples from its own sample count, by regression (DESIGN.md §3).

Each chip samples on its own clock: a NAU7802 converts every ``1/320 s × (1 ± 0.5 %)``, an IMU
fills its FIFO at its own output data rate. The host does not see a sample when it is taken, only
when it reads it, some time later; reading at a late wake-up says little about when the sample was
taken. What the host can count exactly is the samples themselves. As Klipper does for its bulk
sensors (``klippy/extras/bulk_sensor.py``, ``ClockSyncRegression``), the time of sample ``k`` is a
straight line in ``k``, ``t(k) = t̄ + (k − k̄)·period``, fitted to the observations by a linear
regression whose weights decay exponentially (recent observations count most, so a chip whose clock
drifts with temperature is followed). Observations whose timing is poor (the window in which the
sample must have happened is long, e.g. after a late wake-up) are left out of the fit, as Klipper
skips slow queries.

An observation is ``(k, lo_ns, hi_ns)``: sample ``k`` happened in ``(lo, hi]`` (for a NAU7802
polled at ``hi`` whose ``CR`` bit was clear at ``lo``; for a FIFO read at ``hi`` whose newest
sample is ``k``, ``lo = hi − period``). Its midpoint is the observed time.

:meth:`ChipClock.index_at` also tells which sample is the newest at a time: after a stall, the
difference to the last index read is the number of samples the chip overwrote (counted, never
hidden).
"""

from __future__ import annotations

import math


class ChipClock:
    """Sample index ↔ time of one chip, by exponentially weighted linear regression.

    Parameters
    ----------
    nominal_period_ns : float
        The chip's nominal sample period, ns (used until the fit has enough observations).
    decay : float
        Weight of each new observation in the running averages (Klipper uses 1/20); the fit
        effectively spans about ``2/decay`` observations.
    max_window : float
        Observations whose window ``hi − lo`` is longer than this many nominal periods are not
        fitted (they still count samples).
    min_fit : int
        Observations needed before the fitted period replaces the nominal one.
    tolerance : float
        Largest relative error of the chip's clock (2 %: a NAU7802's is within 0.5 %); a fitted
        period further from nominal is not used.

    Examples
    --------
    >>> clock = ChipClock(1e6)
    >>> for k in range(50):
    ...     t = 5_000 + k * 1_001_000        # a chip 0.1 % slow, sample k at t
    ...     clock.observe(k, t - 200_000, t + 200_000)
    >>> round(clock.period_ns)
    1001000
    >>> round(clock.time_of(60) - (5_000 + 60 * 1_001_000))
    0
    """

    __slots__ = ("nominal_period_ns", "decay", "max_window_ns", "min_fit", "tolerance", "observations", "fitted",
                 "_k0", "_t0", "_k_avg", "_t_avg", "_k_var", "_kt_cov", "period_ns", "last_k", "_last_hi")
    # Slots: the acquisition calls observe() and time_of() for every conversion (~1300 a second);
    # attribute access through slots is cheaper than through the instance dict.

    def __init__(self, nominal_period_ns: float, *, decay: float = 1.0 / 32, max_window: float = 0.9,
                 min_fit: int = 16, tolerance: float = 0.02) -> None:
        if not nominal_period_ns > 0:
            raise ValueError(f"nominal_period_ns must be > 0, got {nominal_period_ns!r}")
        self.nominal_period_ns = float(nominal_period_ns)
        self.decay = float(decay)
        self.max_window_ns = float(max_window) * self.nominal_period_ns
        self.min_fit = int(min_fit)
        self.tolerance = float(tolerance)
        self.reset()

    def reset(self) -> None:
        """Forget everything (a chip that was reset, a FIFO that overflowed)."""
        self.observations = 0
        self.fitted = 0
        self._k0 = 0  # offsets keep the sums small and exact enough
        self._t0 = 0
        self._k_avg = 0.0
        self._t_avg = 0.0
        self._k_var = 0.0
        self._kt_cov = 0.0
        self.period_ns = self.nominal_period_ns
        self.last_k: int | None = None
        self._last_hi = 0

    def observe(self, k: int, lo_ns: int, hi_ns: int) -> None:
        """Sample ``k`` happened in ``(lo_ns, hi_ns]``."""
        self.observations += 1
        self.last_k = k
        self._last_hi = hi_ns
        if hi_ns - lo_ns > self.max_window_ns:
            return  # poorly timed: counted, not fitted
        mid = 0.5 * (lo_ns + hi_ns)
        if self.fitted == 0:
            self._k0, self._t0 = k, int(mid)
            self._k_avg = 0.0
            self._t_avg = mid - self._t0
            self._k_var = self._kt_cov = 0.0
            self.fitted = 1
            return
        fitted = self.fitted
        decay = self.decay
        if fitted < 1.0 / decay:
            decay = 1.0 / (fitted + 1)
        dx = (k - self._k0) - self._k_avg
        self._k_avg += decay * dx
        k_var = self._k_var = (1.0 - decay) * (self._k_var + dx * dx * decay)
        dy = (mid - self._t0) - self._t_avg
        self._t_avg += decay * dy
        kt_cov = self._kt_cov = (1.0 - decay) * (self._kt_cov + dx * dy * decay)
        fitted = self.fitted = fitted + 1
        if fitted >= self.min_fit and k_var > 0:
            period = kt_cov / k_var
            # A chip's clock is within a few per mille of nominal: a fit beyond the tolerance
            # means bad observations, not a chip that fast; keep the nominal period then.
            if abs(period / self.nominal_period_ns - 1.0) <= self.tolerance:
                self.period_ns = period

    def time_of(self, k: int) -> float:
        """Estimated time of sample ``k``, ns (on the host's monotonic clock). Before any
        well-timed observation: half a nominal period before the last one was seen."""
        if not self.fitted:
            return self._last_hi - 0.5 * self.period_ns + (k - (self.last_k or 0)) * self.period_ns
        return self._t0 + self._t_avg + (k - self._k0 - self._k_avg) * self.period_ns

    def index_at(self, t_ns: int) -> int:
        """Index of the newest sample taken at or before ``t_ns`` (by the fit)."""
        if not self.fitted:
            return (self.last_k or 0) + math.floor((t_ns - self._last_hi) / self.period_ns)
        return self._k0 + math.floor(self._k_avg + (t_ns - self._t0 - self._t_avg) / self.period_ns)

    def at_most_one_between(self, lo_ns: int, hi_ns: int) -> bool:
        """Whether at most one sample can fall in ``(lo_ns, hi_ns]`` whatever the chip's clock
        error (within :attr:`tolerance`): then a new sample there is the next one."""
        return hi_ns - lo_ns < self.nominal_period_ns * (1.0 - self.tolerance)

    @property
    def rate_hz(self) -> float | None:
        """The chip's measured sample rate, Hz (None before the fit has enough observations)."""
        return 1e9 / self.period_ns if self.fitted >= self.min_fit else None
