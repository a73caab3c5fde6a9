"""Simulated GPIO on the station clock: gpiozero's mock pins with driver timestamps, and light gates
driven by a schedule of beam changes.

:class:`ClockedMockFactory` is gpiozero's :class:`~gpiozero.pins.mock.MockFactory` whose ``ticks``
are the station clock's time (s) and whose pins stamp each change with the time the change
*happened*, which may be earlier than the moment it is delivered: like the kernel's GPIO line
events on a Pi, the timestamp is the edge's, the callback comes later. Under the simulated clock
everything is deterministic; under the real clock (``run --simulate``) the same code runs in
real time.

:class:`GateDriver` holds beam changes scheduled in advance (``(t_ns, pin, broken)``, e.g. a
virtual walker passing the gates, :mod:`station.sim.walker`) and, on each tick of the trial loop,
drives every change that is due, stamped with its own time.
"""

from __future__ import annotations

import bisect
import threading

from gpiozero.pins.mock import MockFactory, MockPin, PinState


class ClockedMockPin(MockPin):
    """A mock pin whose changes are stamped by its factory (station clock, or an edge's own time)."""

    def _change_state(self, value):
        if self._state != value:
            t = self._factory.stamp_s()
            self._state = value
            self.states.append(PinState(t - self._last_change, value))
            self._last_change = t
            return True
        return False

    def clear_states(self):
        self._last_change = self._factory.stamp_s()
        self.states = [PinState(0.0, self._state)]


class ClockedMockFactory(MockFactory):
    """Mock pins on ``clock`` (a :class:`station.clock.Clock`): ``ticks()`` is the clock's time in s.

    :meth:`drive` changes an input pin as if the change had happened at ``at_ns`` (its
    ``when_changed`` callback gets those ticks).
    """

    def __init__(self, clock, revision=None) -> None:
        self.clock = clock
        self._edge_ns: int | None = None
        self._drive_lock = threading.Lock()
        super().__init__(revision=revision, pin_class=ClockedMockPin)

    def ticks(self):
        return self.clock.monotonic_ns() / 1e9

    @staticmethod
    def ticks_diff(later, earlier):
        return later - earlier

    def stamp_s(self) -> float:
        edge = self._edge_ns
        return (edge if edge is not None else self.clock.monotonic_ns()) / 1e9

    def drive(self, pin: int, high: bool, at_ns: int | None = None) -> None:
        """Drive input ``pin`` high or low, the change happening at ``at_ns`` (default now)."""
        with self._drive_lock:
            self._edge_ns = None if at_ns is None else int(at_ns)
            try:
                mock = self.pin(pin)
                if high:
                    mock.drive_high()
                else:
                    mock.drive_low()
            finally:
                self._edge_ns = None


class GateDriver:
    """Drives gate pins from scheduled beam changes, on the trial loop's ticks.

    Parameters
    ----------
    factory : ClockedMockFactory
    """

    def __init__(self, factory: ClockedMockFactory) -> None:
        self.factory = factory
        self._lock = threading.Lock()
        self._due: list[tuple[int, int, bool]] = []
        self.driven: list[tuple[int, int, bool]] = []
        """(t_ns, pin, broken) of every change driven so far."""

    def schedule(self, changes) -> None:
        """Add beam changes ``(t_ns, pin, broken)`` (any order)."""
        with self._lock:
            for t_ns, pin, broken in changes:
                bisect.insort(self._due, (int(t_ns), int(pin), bool(broken)))

    def cancel_after(self, t_ns: int) -> None:
        """Drop every change scheduled after ``t_ns`` (the walk was stopped), leaving beams clear."""
        with self._lock:
            self._due = [c for c in self._due if c[0] <= t_ns]

    @property
    def pending(self) -> int:
        return len(self._due)

    def tick(self, now_ns: int) -> None:
        """Drive every change due by ``now_ns`` (the receiver output is low while broken)."""
        while True:
            with self._lock:
                if not self._due or self._due[0][0] > now_ns:
                    return
                t_ns, pin, broken = self._due.pop(0)
            self.factory.drive(pin, high=not broken, at_ns=t_ns)
            self.driven.append((t_ns, pin, broken))
