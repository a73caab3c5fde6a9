"""Light gates of the walkway on GPIO (gpiozero): edge times from the pin driver, one crossing per pass.

Each gate is an infrared break-beam pair across the walkway; its receiver's output is low while
the beam is broken (open collector, internal pull-up). The configuration gives each gate a BCM
GPIO and a position along the walkway in metres (:class:`station.config.GateConfig`, DESIGN.md §8).

Timing
------
An edge is timed by the **pin driver's own timestamp**, the ``ticks`` gpiozero passes to a pin's
``when_changed`` callback, so the time does not depend on when Python got round to running the
callback (that can be tens of ms later on a busy Pi). On a Raspberry Pi, gpiozero 2.0's lgpio pin
factory passes lgpio's alert timestamp (integer ns, taken when the kernel saw the edge) divided by
1e9 as the ticks, while the factory's own ``ticks()`` is ``time.monotonic()`` (``LocalPiFactory``);
lgpio says to make no assumption about its timestamps' origin. lgpio 0.2 (2021) and later request
lines through the kernel's GPIO v2 character-device interface without the realtime-clock flag
(commented out in its ``lgGpio.c``), so the stamps are CLOCK_MONOTONIC: the same clock as
``ticks()`` and the station's :class:`station.clock.MonotonicClock`. lgpio 0.0 and 0.1 used the v1
interface, whose events the kernel stamped with CLOCK_REALTIME (the wall clock) before Linux 5.7.

So each edge is mapped onto the station clock on one of two bases, whichever is plausible:

* the factory's: by a pair read together when the gates are armed, (``factory.ticks()``,
  ``clock.monotonic_ns()``), and ``factory.ticks_diff`` (both clocks monotonic, no steps);
* the wall clock's, for stamps on CLOCK_REALTIME: by a pair read **when the edge's callback
  arrives**, ``t = arrival_monotonic - (arrival_wall - stamp)``. The wall clock can be stepped
  (NTP, ``date``) or slewed (chrony slews up to 8.3 %) at any time; mapped this way only the few
  ms between the edge and its callback are exposed to that, not the whole walk (a pair read at
  arming turned an NTP step of -0.3 s during a 5 s walk into 4.70 s, an 8.3 % slew into 4.58 s).
  A step landing in that short window still shifts the edge: backward, the edge maps after its
  callback and is not believed (timed by the callback, below); forward, by the step.

A mapped time is plausible when it lies before the moment the callback ran (within
:data:`CALLBACK_EARLY_TOLERANCE_S`) and at most :data:`MAX_CALLBACK_DELAY_S` before it. An edge
plausible on neither base is timed by the callback's arrival instead and marked
``timing = "callback"``, and a walk result says so.

Counting
--------
A break counts only when the beam stays broken at least ``min_break_s`` (:data:`MIN_BREAK_S`,
10 ms), measured on the driver's timestamps from the break to the beam's clearing. A beam that
stays broken (someone standing in it) counts at the first poll that finds it ``min_break_s`` or
more after the break with no clearing among the edges received and its pin still reading broken
(the pin is read at that moment: a glitch that has ended reads clear even when the callback of its
clearing is late). Shorter breaks are electrical glitches
(``glitches``, counted per gate) and never become crossings: a long cable on a receiver's input
with the Pi's internal pull-up picks up pulses of microseconds to a few milliseconds, while a
person breaks a beam for tens of milliseconds or more (see :data:`MIN_BREAK_S`). A counted
break is timed by its START, the driver's timestamp of the beam's interruption.

Arms and legs break a beam several times while a person passes. After :meth:`GateArray.arm`,
the **first counted break** of each gate is its crossing time; the pass lasts until the beam has
stayed clear for ``holdoff_s``, and every counted break within it belongs to the same crossing
(counted in ``breaks``). A counted break after that is a new pass (``passes``), which a walk test
does not time.

Threads: gpiozero calls the callbacks from its own thread; they only append to a locked list.
Whoever runs the trial calls :meth:`GateArray.poll` from its loop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from station.clock import Clock
from station.config import GateConfig
from station.config_keys import GATE_POSITION_TOLERANCE_M

MAX_CALLBACK_DELAY_S = 1.0
"""A driver timestamp more than this before its callback ran is not believed, s."""
CALLBACK_EARLY_TOLERANCE_S = 0.001
"""A mapped driver timestamp may lie this far after its callback (mapping rounding), s."""
DEFAULT_HOLDOFF_S = 1.0
"""A pass of a gate ends when its beam has stayed clear this long, s."""
MIN_BREAK_S = 0.010
"""A beam must stay broken at least this long for the break to count, s (driver timestamps).

A person breaks a beam far longer: a trunk 20 cm deep passing at 3 m/s (faster than a fast walk)
for about 67 ms, even a limb segment 8 cm across swinging through at 4 m/s for 20 ms. Electrical
noise picked up by a long cable on a receiver's open-collector output, held high only by the
Pi's internal pull-up (about 50 kΩ), lasts microseconds (a spike) to a few milliseconds (a
burst). 10 ms lies between the two with a margin of 2 on the body's side."""
POSITION_TOLERANCE_M = GATE_POSITION_TOLERANCE_M
"""Two positions this close or closer are the same gate position, m (the configuration's
:data:`station.config_keys.GATE_POSITION_TOLERANCE_M`, which refuses two gates that close)."""


@dataclass(frozen=True)
class GateEdge:
    """One change of a beam: ``gate`` (index in position order), its ``position_m``, the time
    ``t_ns`` on the station clock, ``broken`` (True when the beam was interrupted), and
    ``timing`` (``"driver"``: the pin driver's timestamp; ``"callback"``: when the callback ran)."""

    gate: int
    position_m: float
    t_ns: int
    broken: bool
    timing: str = "driver"


@dataclass
class GateCrossing:
    """The first pass of a gate after arming: ``t_ns`` of its first counted break (one that lasted
    ``min_break_s``: never a glitch), the number of counted ``breaks`` within the pass, ``clear_ns`` when the beam last cleared (None while broken),
    and ``passes`` (1, or more when the gate was passed again later)."""

    gate: int
    position_m: float
    t_ns: int
    timing: str
    breaks: int = 1
    clear_ns: int | None = None
    passes: int = 1

    def to_dict(self, t0_ns: int = 0) -> dict:
        return {"gate": self.gate, "position_m": self.position_m, "at_s": round((self.t_ns - t0_ns) / 1e9, 6),
                "breaks": self.breaks, "passes": self.passes, "timing": self.timing}


@dataclass
class _Break:
    """A beam broken and not yet cleared: its first edge, whether it lasted long enough to count
    (``confirmed``), and whether it counted for a crossing (``counted``: after arming)."""

    start: GateEdge
    ticks: object = None
    confirmed: bool = False
    counted: bool = False


class GateError(ValueError):
    """A walk needs gates the configuration does not have; the message says which."""


class LightGate:
    """One gate: its pin (input, pull-up, both edges) with the driver's timestamps passed on.

    Parameters
    ----------
    config : GateConfig
    index : int
        The gate's index in position order.
    factory : gpiozero pin factory
    on_edge : callable
        ``on_edge(gate, ticks, broken, arrival_ns)`` from gpiozero's thread.
    clock : Clock
        Stamps the callback's arrival (to check the driver's timestamps).
    """

    def __init__(self, config: GateConfig, index: int, *, factory, on_edge, clock: Clock) -> None:
        self.config = config
        self.index = index
        self.factory = factory
        self._on_edge = on_edge
        self._clock = clock
        factory.reserve_pins(self, config.pin)
        try:
            self.pin = factory.pin(config.pin)
            self.pin.function = "input"
            self.pin.pull = "up"
            self.pin.edges = "both"
            self.pin.when_changed = self._changed
        except BaseException:
            factory.release_pins(self, config.pin)
            raise

    @property
    def position_m(self) -> float:
        return self.config.position_m

    @property
    def broken(self) -> bool:
        """Whether the beam is interrupted now (the receiver's output is low)."""
        return not bool(self.pin.state)

    def _changed(self, ticks, state) -> None:
        self._on_edge(self, ticks, not bool(state), int(self._clock.monotonic_ns()))

    def close(self) -> None:
        try:
            self.pin.when_changed = None
            self.pin.close()
        finally:
            self.factory.release_pins(self, self.config.pin)


class GateArray:
    """All the walkway's gates, armed for a walk, with crossings counted once per pass.

    Parameters
    ----------
    gates : sequence of GateConfig
        From ``config.panel.gates`` (any number, including none).
    clock : Clock
        The station clock (the one the trial and its events run on).
    pin_factory : gpiozero pin factory, optional
        ``MockFactory`` (or the simulation's clocked factory) in tests; None uses gpiozero's
        default (lgpio on a Raspberry Pi).
    holdoff_s : float
        A pass ends when the beam has stayed clear this long, s.
    min_break_s : float
        A break counts only when the beam stays broken at least this long, s (:data:`MIN_BREAK_S`).
    wall_clock : callable
        The wall clock, s since the epoch (for drivers that stamp edges with CLOCK_REALTIME), read
        in each edge's callback, just after the station clock.
    """

    def __init__(self, gates: Sequence[GateConfig], *, clock: Clock, pin_factory=None,
                 holdoff_s: float = DEFAULT_HOLDOFF_S, min_break_s: float = MIN_BREAK_S,
                 wall_clock: Callable[[], float] = time.time) -> None:
        if not holdoff_s > 0:
            raise ValueError(f"holdoff_s must be positive, not {holdoff_s!r}")
        if not 0 <= min_break_s < holdoff_s:
            raise ValueError(f"min_break_s must be from 0 to less than holdoff_s, not {min_break_s!r}")
        if pin_factory is None:
            from gpiozero import Device

            Device.ensure_pin_factory()
            pin_factory = Device.pin_factory
        self.factory = pin_factory
        self.clock = clock
        self.wall_clock = wall_clock
        self.holdoff_ns = int(round(holdoff_s * 1e9))
        self.min_break_ns = int(round(min_break_s * 1e9))
        self._lock = threading.Lock()
        self._raw: list[tuple[LightGate, object, bool, int, float]] = []
        self.gates: list[LightGate] = []
        try:
            for i, config in enumerate(sorted(gates, key=lambda g: g.position_m)):
                self.gates.append(LightGate(config, i, factory=pin_factory, on_edge=self._edge, clock=clock))
        except BaseException:
            self.close()
            raise
        self.edges: list[GateEdge] = []
        """Every edge seen (station clock), in the order they were polled."""
        self.armed_ns: int | None = None
        self.crossings: dict[int, GateCrossing] = {}
        """First pass of each gate since :meth:`arm`, by gate index."""
        self.breaks_while_armed: list[GateEdge] = []
        """Counted breaks of any gate since arming, each added once it is counted (a walk's check of
        a beam broken before the go)."""
        self.glitches: dict[int, int] = {g.index: 0 for g in self.gates}
        """Breaks shorter than ``min_break_s`` (not counted), by gate index, since the gates were made."""
        self._beam: dict[int, _Break] = {}
        """The break each gate's beam is in now (seen by its edges), by gate index."""
        self._sync()

    # -- set-up ----------------------------------------------------------------------------------
    @property
    def positions_m(self) -> list[float]:
        return [g.position_m for g in self.gates]

    def index_at(self, position_m: float) -> int | None:
        """The index of the gate at ``position_m`` (within :data:`POSITION_TOLERANCE_M`), or None."""
        for gate in self.gates:
            if abs(gate.position_m - position_m) <= POSITION_TOLERANCE_M:
                return gate.index
        return None

    def require(self, positions_m: Sequence[float]) -> list[int]:
        """The indices of the gates at ``positions_m``.

        Raises
        ------
        GateError
            Naming the positions with no gate and the configured ones.
        """
        missing = [p for p in positions_m if self.index_at(p) is None]
        if missing:
            have = ", ".join(f"{p:g} m (GPIO {g.config.pin})" for p, g in zip(self.positions_m, self.gates)) or "none"
            need = ", ".join(f"{p:g} m" for p in missing)
            raise GateError(f"this walk test needs a light gate at {need} along the walkway; configured gates: {have}. "
                            "Place the gates and set [[panel.gates]] in the configuration (balance-station config check)")
        return [self.index_at(p) for p in positions_m]

    def _sync(self) -> None:
        """Read the factory's ticks and the station clock together (the mapping of driver times on
        the factory's base; the wall clock's is read at each callback)."""
        before = int(self.clock.monotonic_ns())
        ticks = self.factory.ticks()
        after = int(self.clock.monotonic_ns())
        self._ref_ticks = ticks
        self._ref_ns = (before + after) // 2

    def _to_ns(self, ticks) -> int:
        return self._ref_ns + int(round(self.factory.ticks_diff(ticks, self._ref_ticks) * 1e9))

    @staticmethod
    def _wall_to_ns(ticks, arrival_ns: int, arrival_wall_s: float) -> int | None:
        """A wall-clock stamp (s) on the station clock, by the wall clock and the station clock read
        when its callback arrived: only the wall clock's change since the edge (a few ms) counts."""
        try:
            return arrival_ns - int(round((float(arrival_wall_s) - float(ticks)) * 1e9))
        except (TypeError, ValueError, OverflowError):
            return None

    def arm(self, now_ns: int | None = None) -> None:
        """Forget crossings: from now on (``now_ns``, station clock) the first break of each gate
        is its crossing. Edges still waiting to be polled that happened before are kept as edges
        but not counted."""
        self.poll()
        self._sync()
        self.armed_ns = int(self.clock.monotonic_ns() if now_ns is None else now_ns)
        self.crossings = {}
        self.breaks_while_armed = []

    def disarm(self) -> None:
        self.armed_ns = None

    # -- edges -----------------------------------------------------------------------------------
    def _edge(self, gate: LightGate, ticks, broken: bool, arrival_ns: int) -> None:
        wall_s = self.wall_clock()  # with arrival_ns: the pair that maps a wall-clock stamp
        with self._lock:
            self._raw.append((gate, ticks, broken, arrival_ns, wall_s))

    def poll(self) -> list[GateEdge]:
        """Edges that arrived since the last poll (time order), with crossings updated."""
        with self._lock:
            raw, self._raw = self._raw, []
        out, seen = [], []
        def plausible(t_ns, arrival_ns) -> bool:
            return t_ns is not None and arrival_ns - MAX_CALLBACK_DELAY_S * 1e9 <= t_ns <= \
                arrival_ns + CALLBACK_EARLY_TOLERANCE_S * 1e9

        for gate, ticks, broken, arrival_ns, wall_s in raw:
            t_ns, timing = self._to_ns(ticks), "driver"
            if not plausible(t_ns, arrival_ns):
                t_ns = self._wall_to_ns(ticks, arrival_ns, wall_s)
                if not plausible(t_ns, arrival_ns):
                    t_ns, timing = arrival_ns, "callback"
            out.append(GateEdge(gate.index, gate.position_m, t_ns, broken, timing))
            seen.append((out[-1], ticks))
        for edge, ticks in seen:  # as they came: one pin's callbacks come in the order of its edges
            self._count(edge, ticks)
        self._confirm_still_broken()
        out.sort(key=lambda e: e.t_ns)
        self.edges.extend(out)
        return out

    def _count(self, edge: GateEdge, ticks) -> None:
        """Follow one gate's beam: a break is counted once it has lasted ``min_break_s`` (here when
        its clearing shows it did; :meth:`_confirm_still_broken` while it lasts)."""
        beam = self._beam.get(edge.gate)
        if edge.broken:
            if beam is None:
                self._beam[edge.gate] = _Break(edge, ticks)
            return
        if beam is None:
            return  # cleared from a break seen before the gates were made
        del self._beam[edge.gate]
        if not beam.confirmed:
            if self._lasted_ns(beam, edge, ticks) < self.min_break_ns:
                self.glitches[edge.gate] = self.glitches.get(edge.gate, 0) + 1
                return
            beam.confirmed, beam.counted = True, self._counted(beam.start)
        crossing = self.crossings.get(edge.gate)
        if beam.counted and crossing is not None:
            crossing.clear_ns = edge.t_ns

    def _lasted_ns(self, beam: _Break, clear: GateEdge, ticks) -> int:
        """How long a beam stayed broken: by the two edges' times when both are the driver's (mapped
        each at its own callback, so a wall clock stepped in between does not count); when one was
        timed by its callback, by the difference of the driver's two stamps (it holds even when they
        could not be mapped onto the station clock), unless that cannot be compared or is negative
        (a driver's wall clock stepped back in between)."""
        by_times = clear.t_ns - beam.start.t_ns
        if beam.start.timing == "driver" and clear.timing == "driver":
            return by_times
        try:
            by_stamps = int(round(self.factory.ticks_diff(ticks, beam.ticks) * 1e9))
        except (TypeError, ValueError, OverflowError):
            return by_times
        return by_stamps if by_stamps >= 0 else by_times

    def _confirm_still_broken(self) -> None:
        """Count the breaks still going on that began ``min_break_s`` ago or more: their pin still
        reads broken now (a glitch that has ended reads clear even while the callback of its
        clearing is late) and no edge of theirs is waiting to be polled."""
        now_ns = int(self.clock.monotonic_ns())
        for index, beam in self._beam.items():
            if beam.confirmed or now_ns - beam.start.t_ns < self.min_break_ns or index >= len(self.gates):
                continue
            gate = self.gates[index]
            with self._lock:
                waiting = any(raw[0] is gate for raw in self._raw)
            if not waiting and gate.broken:
                beam.confirmed, beam.counted = True, self._counted(beam.start)

    def _counted(self, start: GateEdge) -> bool:
        """Count a break (one that lasted ``min_break_s``) begun at ``start``: a crossing, a break
        within its pass, or a new pass; False when it began before arming."""
        if self.armed_ns is None or start.t_ns < self.armed_ns:
            return False
        self.breaks_while_armed.append(start)
        crossing = self.crossings.get(start.gate)
        if crossing is None:
            self.crossings[start.gate] = GateCrossing(start.gate, start.position_m, start.t_ns, start.timing)
            return True
        if crossing.clear_ns is not None and start.t_ns - crossing.clear_ns >= self.holdoff_ns:
            crossing.passes += 1  # the first pass had ended: someone passed again
        elif crossing.passes == 1:
            crossing.breaks += 1
        crossing.clear_ns = None
        return True

    def pass_over(self, gate: int, now_ns: int) -> bool:
        """Whether the first pass of ``gate`` has ended by ``now_ns`` (beam clear for the hold-off)."""
        crossing = self.crossings.get(gate)
        return crossing is not None and crossing.clear_ns is not None and now_ns - crossing.clear_ns >= self.holdoff_ns

    def state(self, t0_ns: int | None = None) -> list[dict]:
        """Each gate for the dashboard: position, pin, broken now, crossed (s after ``t0_ns``)."""
        out = []
        for gate in self.gates:
            crossing = self.crossings.get(gate.index)
            out.append({
                "gate": gate.index, "position_m": gate.position_m, "pin": gate.config.pin,
                "broken": gate.broken, "armed": self.armed_ns is not None,
                "crossed_at_s": None if crossing is None or t0_ns is None else round((crossing.t_ns - t0_ns) / 1e9, 6),
            })
        return out

    def close(self) -> None:
        """Release the pins."""
        for gate in self.gates:
            gate.close()
        self.gates = []

