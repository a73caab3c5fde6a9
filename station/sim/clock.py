"""A simulated clock: time advances only when something waits or charges time.

It implements :class:`station.clock.ChargeableClock`: ``charge_ns`` advances time exactly by every
charge (the simulated bus's transfers), so tests can assert exact nanoseconds.

Under this clock the acquisition loop, the simulated bus (which charges transfer time) and the chip
models (whose conversions appear on their own schedules) all see the same deterministic time.
"""

from __future__ import annotations


class SimulatedClock:
    """Deterministic clock implementing :class:`station.clock.Clock`.

    Parameters
    ----------
    start_ns : int
        Initial time in ns.
    """

    def __init__(self, start_ns: int = 0) -> None:
        self._now_ns = int(start_ns)

    def monotonic_ns(self) -> int:
        return self._now_ns

    def sleep_until_ns(self, deadline_ns: int) -> None:
        if deadline_ns > self._now_ns:
            self._now_ns = int(deadline_ns)

    def sleep_ns(self, duration_ns: int) -> None:
        self.advance_ns(duration_ns)

    def charge_ns(self, duration_ns: int) -> None:
        """Busy time charged by a simulated device (the bus): time advances by exactly that much,
        at once (nothing to coalesce: simulated waits cost nothing). Called once per simulated
        bus transaction, so it does :meth:`advance_ns`'s work itself rather than call it."""
        if duration_ns > 0:
            self._now_ns += int(duration_ns)

    def advance_ns(self, duration_ns: int) -> None:
        """Move time forward by ``duration_ns`` (negative values are ignored: time never goes back)."""
        if duration_ns > 0:
            self._now_ns += int(duration_ns)


TIMINGS = ("ideal", "pi-under-load")
"""Timing modes of the simulation (``--timing``): wake-ups exactly on time, or late like a Pi."""


class LateWakeClock:
    """A clock whose waits end late, like a Raspberry Pi 4 under load (seeded).

    It wraps another clock (:class:`SimulatedClock` for tests and simulated recordings, or the
    real :class:`station.clock.MonotonicClock`): time, and the bus's charged time, are the inner
    clock's; every wait that actually waits (a deadline still ahead) ends late by a draw from a
    distribution shaped like a Pi 4 under load (a busy web server, an SD card flushing, the
    GPU): most wake-ups within 1 ms (exponential, mean :attr:`typical_mean_ns`), a tail of
    5–20 ms (probability :attr:`tail_probability` per wake-up) and rare stalls of about 50 ms
    (40–60 ms, probability :attr:`stall_probability`). Lateness on a real kernel comes from
    interrupts, other runnable tasks and throttling; these numbers are an illustrative load
    profile, not a measurement of one Pi.

    Parameters
    ----------
    inner : station.clock.Clock
    seed : int
        Seeds the draws: the same seed and the same sequence of waits give the same times.
    """

    typical_mean_ns = 150_000
    typical_max_ns = 1_000_000
    tail_probability = 0.001
    tail_ns = (5_000_000, 20_000_000)
    stall_probability = 0.00005
    stall_ns = (40_000_000, 60_000_000)

    def __init__(self, inner, seed: int = 0) -> None:
        import random

        self.inner = inner
        self._rng = random.Random(f"late-wake:{seed}")
        self.wakes = 0
        self.late_ns_total = 0
        self.tails = 0
        self.stalls = 0
        charge = getattr(inner, "charge_ns", None)
        if charge is not None:
            self.charge_ns = charge

    def lateness_ns(self) -> int:
        """One draw of how late a wake-up is, ns."""
        rng = self._rng
        u = rng.random()
        if u < self.stall_probability:
            self.stalls += 1
            return int(rng.uniform(*self.stall_ns))
        if u < self.stall_probability + self.tail_probability:
            self.tails += 1
            return int(rng.uniform(*self.tail_ns))
        return int(min(rng.expovariate(1.0 / self.typical_mean_ns), self.typical_max_ns))

    def monotonic_ns(self) -> int:
        return self.inner.monotonic_ns()

    def sleep_until_ns(self, deadline_ns: int) -> None:
        if deadline_ns <= self.inner.monotonic_ns():
            return  # nothing to wait for: no wake-up to be late
        late = self.lateness_ns()
        self.wakes += 1
        self.late_ns_total += late
        self.inner.sleep_until_ns(deadline_ns + late)

    def sleep_ns(self, duration_ns: int) -> None:
        self.sleep_until_ns(self.inner.monotonic_ns() + max(int(duration_ns), 0))


def make_clock(timing: str = "ideal", *, seed: int = 0, inner=None):
    """The clock of a timing mode (:data:`TIMINGS`) around ``inner`` (a new
    :class:`SimulatedClock` by default): ``"ideal"`` is ``inner`` itself, ``"pi-under-load"`` a
    :class:`LateWakeClock` around it."""
    if timing not in TIMINGS:
        raise ValueError(f"unknown timing {timing!r}; choose {' or '.join(TIMINGS)}")
    inner = SimulatedClock() if inner is None else inner
    return inner if timing == "ideal" else LateWakeClock(inner, seed)
