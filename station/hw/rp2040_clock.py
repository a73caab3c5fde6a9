"""Timing the RP2040 front end's sample sets on the Pi's clock (DESIGN.md §3).

Two straight lines, each fitted by an exponentially weighted linear regression, as Klipper times
its bulk sensors (``klippy/extras/bulk_sensor.py``: sequence against the sensor's clock;
``klippy/clocksync.py``: the MCU's clock against the host's):

1. the set's front-end time from its sequence number, ``t_fe(seq) = a + b·seq`` (fitted to the
   microsecond timestamps the firmware takes when the PIO finds a set ready, which jitter by the
   interrupt's latency; ``b`` is the measured set period on the front end's crystal);
2. the Pi's monotonic time from the front end's, ``t_host(t_fe)``, fitted to the status reads:
   each read of the front end's clock happened between the moments the Pi started and finished
   the transfer, and reads whose window is much longer than the shortest recent one (the Pi was
   delayed in the middle) are left out, as Klipper leaves out slow queries.

A sample's time on the Pi is ``t_host(t_fe(seq))``: it depends on neither when the Pi happened to
read the set nor the interrupt's jitter on that one set.
"""

from __future__ import annotations


class LinearFit:
    """``y = y̅ + slope·(x − x̅)``, fitted with exponentially decaying weights.

    Parameters
    ----------
    nominal_slope : float
        Used until ``min_fit`` observations have been fitted.
    decay : float
        Weight of each new observation (the fit spans about ``2/decay`` of them).
    min_fit : int
    tolerance : float
        A fitted slope further than this (relative) from nominal is not used (bad observations,
        not a clock that far off).

    Examples
    --------
    >>> fit = LinearFit(1000.0)
    >>> for k in range(100):
    ...     fit.observe(k, 5.0 + k * 1001.0)
    >>> round(fit.slope, 6), abs(round(fit.predict(200) - (5.0 + 200 * 1001.0), 6))
    (1001.0, 0.0)
    """

    def __init__(self, nominal_slope: float, *, decay: float = 1.0 / 64, min_fit: int = 8, tolerance: float = 0.2) -> None:
        self.nominal_slope = float(nominal_slope)
        self.decay = float(decay)
        self.min_fit = int(min_fit)
        self.tolerance = float(tolerance)
        self.reset()

    def reset(self) -> None:
        self.n = 0
        self._x0 = 0.0
        self._y0 = 0.0
        self._x = self._y = self._xx = self._xy = 0.0
        self.slope = self.nominal_slope

    def observe(self, x: float, y: float) -> None:
        if self.n == 0:
            self._x0, self._y0 = float(x), float(y)
            self._x = self._y = self._xx = self._xy = 0.0
            self.n = 1
            return
        dx0, dy0 = x - self._x0, y - self._y0
        w = self.decay if self.n >= 1.0 / self.decay else 1.0 / (self.n + 1)
        dx = dx0 - self._x
        self._x += w * dx
        self._xx = (1.0 - w) * (self._xx + dx * dx * w)
        dy = dy0 - self._y
        self._y += w * dy
        self._xy = (1.0 - w) * (self._xy + dx * dy * w)
        self.n += 1
        if self.n >= self.min_fit and self._xx > 0:
            slope = self._xy / self._xx
            if abs(slope / self.nominal_slope - 1.0) <= self.tolerance:
                self.slope = slope

    def predict(self, x: float) -> float:
        """The fitted ``y`` at ``x`` (the last observation's ``y`` moved by the slope before
        a second one)."""
        return self._y0 + self._y + (x - self._x0 - self._x) * self.slope

    @property
    def fitted(self) -> bool:
        return self.n >= self.min_fit


class ClockSync:
    """The Pi's monotonic clock (ns) as a function of the front end's (µs), from status reads.

    Parameters
    ----------
    slow_factor : float
        A read whose window (``hi − lo``) is longer than this times the shortest recent window
        plus ``slack_ns`` is not fitted.
    """

    def __init__(self, *, slow_factor: float = 2.0, slack_ns: float = 100_000.0) -> None:
        self.fit = LinearFit(1000.0, decay=1.0 / 32, min_fit=4, tolerance=0.01)
        self.slow_factor = slow_factor
        self.slack_ns = slack_ns
        self.best_window_ns: float | None = None
        self.skipped = 0

    def reset(self) -> None:
        self.fit.reset()
        self.best_window_ns = None

    def observe(self, fe_us: int, lo_ns: int, hi_ns: int) -> None:
        window = float(hi_ns - lo_ns)
        best = self.best_window_ns
        # The shortest window recently seen; it slowly forgets (a quieter Pi than before).
        self.best_window_ns = window if best is None or window < best else best * 1.01
        if self.fit.n and window > self.slow_factor * self.best_window_ns + self.slack_ns:
            self.skipped += 1
            return
        self.fit.observe(float(fe_us), 0.5 * (lo_ns + hi_ns))

    def host_ns(self, fe_us: float) -> float:
        return self.fit.predict(fe_us)

    @property
    def ready(self) -> bool:
        return self.fit.n > 0


class Unwrap32:
    """A counter that wraps at 2^32 (the front end's µs clock, sequence numbers) made monotonic:
    each value is taken as the nearest one to the previous."""

    def __init__(self) -> None:
        self.last: int | None = None

    def reset(self) -> None:
        self.last = None

    def __call__(self, value: int) -> int:
        last = self.last
        if last is None:
            self.last = value
            return value
        delta = (value - last) & 0xFFFFFFFF
        if delta >= 0x80000000:
            delta -= 0x100000000
        out = last + delta
        if out > last:
            self.last = out
        return out
