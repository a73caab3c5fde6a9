"""A driver that stamps edges with the wall clock (CLOCK_REALTIME: lgpio before 0.2 on kernels
before 5.7) while the wall clock is stepped or slewed during the walk: each edge is mapped by the
wall clock read when its callback arrives, so the walk time stays right within 1 ms. Gates on
gpiozero's mock pins and the simulated clock."""

from __future__ import annotations

import pytest

from station.config import GateConfig
from station.hw.gates import GateArray
from station.sim.clock import SimulatedClock
from station.sim.gpio import ClockedMockFactory, GateDriver

MS = 1_000_000
EPOCH_S = 1_700_000_000.0
GATES = (GateConfig(pin=5, position_m=2.0), GateConfig(pin=6, position_m=8.0))
START_NS = 5_000_000_000


def stepped(at_s: float, step_s: float):
    """Wall clock = epoch + monotonic, stepped by ``step_s`` at monotonic ``at_s`` (NTP, ``date``)."""
    return lambda mono_s: EPOCH_S + mono_s + (step_s if mono_s >= at_s else 0.0)


def slewing(from_s: float, rate: float):
    """Wall clock = epoch + monotonic, running ``rate`` faster (or slower) from monotonic ``from_s``
    (chrony slews at up to 83333 ppm, 1/12)."""
    return lambda mono_s: EPOCH_S + mono_s + (max(0.0, mono_s - from_s) * rate)


def walk_time(wall, loop_ms: int = 7) -> tuple[float, list]:
    """Gates at 2 and 8 m passed 1 s and 6 s after arming (true walk time 5 s), stamped by ``wall``;
    the trial loop (and the callbacks) every ``loop_ms``, so each callback comes 0 to ``loop_ms``
    after its edge. Returns (walk time s, the crossings)."""

    class RealtimeStamps(ClockedMockFactory):
        def stamp_s(self):
            return wall(super().stamp_s())

    clock = SimulatedClock(start_ns=START_NS)
    factory = RealtimeStamps(clock)
    gates = GateArray(GATES, clock=clock, pin_factory=factory, wall_clock=lambda: wall(clock.monotonic_ns() / 1e9))
    driver = GateDriver(factory)
    try:
        gates.arm()
        t0 = clock.monotonic_ns()
        driver.schedule([(t0 + 1000 * MS + 3 * MS, 5, True), (t0 + 1250 * MS, 5, False),
                         (t0 + 6000 * MS + 3 * MS, 6, True), (t0 + 6300 * MS, 6, False)])
        for _ in range(7000 // loop_ms):
            clock.advance_ns(loop_ms * MS)
            driver.tick(clock.monotonic_ns())
            gates.poll()
        near, far = gates.crossings[0], gates.crossings[1]
        return (far.t_ns - near.t_ns) / 1e9, [near, far]
    finally:
        gates.close()
        factory.reset()


def test_a_steady_wall_clock_times_the_walk_exactly():
    time_s, crossings = walk_time(stepped(0.0, 0.0))
    assert time_s == pytest.approx(5.0, abs=1e-6)
    assert [c.timing for c in crossings] == ["driver", "driver"]


@pytest.mark.parametrize("step_s", [-0.3, 0.3, -2.0])
def test_the_wall_clock_stepped_during_the_walk(step_s):
    # the step 3 s after arming, between the two gates: before the fix -0.3 s gave 4.70 s
    time_s, crossings = walk_time(stepped(START_NS / 1e9 + 3.0, step_s))
    assert time_s == pytest.approx(5.0, abs=1e-3)
    assert [c.timing for c in crossings] == ["driver", "driver"]


@pytest.mark.parametrize("rate", [-1 / 12, 1 / 12, -0.0005])
def test_the_wall_clock_slewing_during_the_walk(rate):
    # chrony's fastest slew (8.3 %) from arming on: before the fix the walk took 4.58 s
    time_s, crossings = walk_time(slewing(START_NS / 1e9, rate))
    assert time_s == pytest.approx(5.0, abs=1e-3)
    assert [c.timing for c in crossings] == ["driver", "driver"]


def test_a_step_back_between_an_edge_and_its_callback_times_that_edge_by_its_callback():
    """A step back landing in the few ms between an edge and its callback maps the edge after the
    callback ran: not believed, timed by the callback and said so (a few ms off, not 0.3 s); the
    pass still counts (its length not taken from stamps the step came between)."""
    # the break at 8 m at 6.003 s after arming, its callback at the loop's tick at 6.006 s
    time_s, crossings = walk_time(stepped(START_NS / 1e9 + 6.004, -0.3))
    assert crossings[0].timing == "driver" and crossings[1].timing == "callback"
    assert time_s == pytest.approx(5.003, abs=1e-6)
