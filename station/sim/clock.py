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
        at once (nothing to coalesce: simulated waits cost nothing)."""
        self.advance_ns(duration_ns)

    def advance_ns(self, duration_ns: int) -> None:
        """Move time forward by ``duration_ns`` (negative values are ignored: time never goes back)."""
        if duration_ns > 0:
            self._now_ns += int(duration_ns)
