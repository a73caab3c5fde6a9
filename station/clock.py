"""Clocks that drivers, the acquisition loop and the simulation receive as arguments.

Time is injectable (DESIGN.md §3): the same code runs against :class:`MonotonicClock` on the Pi
and against :class:`station.sim.clock.SimulatedClock` in tests, where a 60 s trial takes a
fraction of a second and is deterministic.

All times are integer nanoseconds on a monotonic time base (``*_ns``).

Charging time (:class:`ChargeableClock`): a simulated device that keeps the caller busy (the
simulated I2C bus: every transfer takes bus time) charges that time with ``charge_ns`` rather than
waiting it out call by call. :class:`station.sim.clock.SimulatedClock` advances by every charge at
once, exactly. :class:`MonotonicClock` coalesces: it owes the charged time and really sleeps only
when what it owes reaches ``charge_slack_ns`` (300 µs by default), or at the caller's next wait
(``sleep_until_ns`` / ``sleep_ns`` first settle what is owed). Each real ``time.sleep`` costs
~20 µs of CPU and wakes ~50–80 µs late (Linux timer slack): slept one by one, a 100 Hz frame's
~14 transfers (1.5 ms of bus time) cost ~0.2 ms of CPU in 14 sleeps and stretched the frame's
reading to ~2.8 ms; coalesced, about 4 sleeps and ~1.9 ms. The price: between waits,
``monotonic_ns`` may lag the time the charges imply by less than ``charge_slack_ns`` (it stays
the real, never-decreasing time).
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """A monotonic clock that can also wait."""

    def monotonic_ns(self) -> int:
        """Current time in ns on a monotonic, never-decreasing time base."""
        ...

    def sleep_until_ns(self, deadline_ns: int) -> None:
        """Return at (or just after) the absolute time ``deadline_ns``; at once if it has passed."""
        ...

    def sleep_ns(self, duration_ns: int) -> None:
        """Wait ``duration_ns`` from now (used for short, bounded waits such as chip start-up)."""
        ...


class ChargeableClock(Clock, Protocol):
    """A clock that can also be charged with time a device kept the caller busy (see the module
    docstring); :class:`station.sim.bus.SimulatedBus` uses it when the clock has it."""

    def charge_ns(self, duration_ns: int) -> None:
        """Account for ``duration_ns`` of busy time starting now (or when the previous charge
        ends): afterwards, and by the caller's next wait at the latest, that much time has passed."""
        ...


DEFAULT_CHARGE_SLACK_NS = 300_000
"""Charged time :class:`MonotonicClock` may owe before it sleeps: 300 µs, about six one-byte
register reads at 400 kHz, against Linux's 50 µs timer slack per sleep."""


class MonotonicClock:
    """The real clock: ``time.monotonic_ns`` and sleeping until absolute deadlines.

    Sleeping until a deadline (rather than for a period) keeps repeated waits drift-free: a late
    wake-up shortens the next wait instead of shifting every later one.

    Parameters
    ----------
    charge_slack_ns : int
        How much charged time (:meth:`charge_ns`) may be owed before it is slept, ns; 0 sleeps
        every charge at once. Charges are meant to come from one thread (the one that owns the
        simulated bus); any wait on this clock settles them.
    """

    def __init__(self, charge_slack_ns: int = DEFAULT_CHARGE_SLACK_NS) -> None:
        if charge_slack_ns < 0:
            raise ValueError(f"charge_slack_ns must be >= 0, got {charge_slack_ns}")
        self.charge_slack_ns = int(charge_slack_ns)
        self._busy_until_ns = 0  # when the charged time ends; owed while later than now

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()

    def sleep_until_ns(self, deadline_ns: int) -> None:
        remaining_ns = max(deadline_ns, self._busy_until_ns) - time.monotonic_ns()
        if remaining_ns > 0:
            time.sleep(remaining_ns / 1e9)

    def sleep_ns(self, duration_ns: int) -> None:
        now_ns = time.monotonic_ns()
        remaining_ns = max(now_ns, self._busy_until_ns) + max(duration_ns, 0) - now_ns
        if remaining_ns > 0:
            time.sleep(remaining_ns / 1e9)

    def charge_ns(self, duration_ns: int) -> None:
        """Owe ``duration_ns`` more (from now, or from the end of what is already owed); sleep
        what is owed once it reaches :attr:`charge_slack_ns`."""
        if duration_ns <= 0:
            return
        now_ns = time.monotonic_ns()
        busy_until_ns = max(self._busy_until_ns, now_ns) + duration_ns
        self._busy_until_ns = busy_until_ns
        if busy_until_ns - now_ns >= self.charge_slack_ns:
            time.sleep((busy_until_ns - now_ns) / 1e9)

    @property
    def owed_ns(self) -> int:
        """Charged time not yet slept (0 once real time has caught up), ns."""
        return max(0, self._busy_until_ns - time.monotonic_ns())
