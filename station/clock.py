"""Clocks that drivers, the acquisition loop and the simulation receive as arguments.

Time is injectable (DESIGN.md §3): the same code runs against :class:`MonotonicClock` on the Pi
and against :class:`station.sim.clock.SimulatedClock` in tests, where a 60 s trial takes a
fraction of a second and is deterministic.

All times are integer nanoseconds on a monotonic time base (``*_ns``).
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


class MonotonicClock:
    """The real clock: ``time.monotonic_ns`` and sleeping until absolute deadlines.

    Sleeping until a deadline (rather than for a period) keeps repeated waits drift-free: a late
    wake-up shortens the next wait instead of shifting every later one.
    """

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()

    def sleep_until_ns(self, deadline_ns: int) -> None:
        remaining_ns = deadline_ns - time.monotonic_ns()
        if remaining_ns > 0:
            time.sleep(remaining_ns / 1e9)

    def sleep_ns(self, duration_ns: int) -> None:
        if duration_ns > 0:
            time.sleep(duration_ns / 1e9)
