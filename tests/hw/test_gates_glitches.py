"""Electrical glitches on a beam are not crossings: a break counts only when the beam stays broken
at least MIN_BREAK_S (10 ms) by the driver's timestamps, and is then timed by its start; arms and
legs still count once. Gates on gpiozero's mock pins and the simulated clock."""

from __future__ import annotations

import pytest

from station.config import GateConfig
from station.hw.gates import MIN_BREAK_S, GateArray
from station.sim.clock import SimulatedClock
from station.sim.gpio import ClockedMockFactory, GateDriver

MS = 1_000_000
US = 1_000
GATES = (GateConfig(pin=5, position_m=2.0), GateConfig(pin=6, position_m=8.0))


@pytest.fixture
def rig():
    clock = SimulatedClock(start_ns=5_000_000_000)
    factory = ClockedMockFactory(clock)
    gates = GateArray(GATES, clock=clock, pin_factory=factory)
    driver = GateDriver(factory)
    yield clock, factory, gates, driver
    gates.close()
    factory.reset()


def run(clock, gates, driver, seconds: float, step_ms: int = 10) -> None:
    """The trial loop: every ``step_ms`` the due beam changes are driven and the gates polled."""
    for _ in range(int(round(seconds * 1000 / step_ms))):
        clock.advance_ns(step_ms * MS)
        driver.tick(clock.monotonic_ns())
        gates.poll()


def test_the_minimum_break_is_10_ms():
    assert MIN_BREAK_S == 0.010


@pytest.mark.parametrize("glitch_ns", [50 * US, 5 * MS, 9_900 * US])
def test_a_glitch_on_the_far_gate_is_not_its_crossing(rig, glitch_ns):
    clock, _, gates, driver = rig
    gates.arm()
    t0 = clock.monotonic_ns()
    driver.schedule([(t0 + 1000 * MS, 5, True), (t0 + 1200 * MS, 5, False),                # the patient at 2 m at 1.0 s
                     (t0 + 2000 * MS, 6, True), (t0 + 2000 * MS + glitch_ns, 6, False),    # a glitch at 8 m
                     (t0 + 6000 * MS + 123 * US, 6, True), (t0 + 6300 * MS, 6, False)])    # the patient at 8 m
    run(clock, gates, driver, 7.0)
    near, far = gates.crossings[0], gates.crossings[1]
    assert far.t_ns == t0 + 6000 * MS + 123 * US  # the real break, timed at its start
    assert far.passes == 1 and far.breaks == 1 and far.timing == "driver"
    assert (far.t_ns - near.t_ns) / 1e9 == pytest.approx(5.000123, abs=1e-6)
    assert gates.glitches == {0: 0, 1: 1}
    assert [e.t_ns for e in gates.breaks_while_armed] == [t0 + 1000 * MS, t0 + 6000 * MS + 123 * US]


def test_glitches_that_come_with_the_same_poll_as_their_clearing_or_not(rig):
    """A glitch seen broken at one poll and clear at the next is no crossing either."""
    clock, _, gates, driver = rig
    gates.arm()
    t0 = clock.monotonic_ns()
    driver.schedule([(t0 + 15 * MS, 6, True), (t0 + 21 * MS, 6, False)])  # 6 ms, across a poll at 20 ms
    run(clock, gates, driver, 0.1)
    assert gates.crossings == {} and gates.glitches[1] == 1 and gates.breaks_while_armed == []


def test_a_break_of_10_ms_counts_timed_at_its_start(rig):
    clock, _, gates, driver = rig
    gates.arm()
    t0 = clock.monotonic_ns()
    driver.schedule([(t0 + 500 * MS + 7 * US, 6, True), (t0 + 510 * MS + 7 * US, 6, False)])
    run(clock, gates, driver, 1.0)
    assert gates.crossings[1].t_ns == t0 + 500 * MS + 7 * US and gates.glitches[1] == 0


def test_a_beam_still_broken_counts_once_it_has_been_broken_10_ms(rig):
    """Someone standing in the beam: counted by the first poll 10 ms after the break that finds
    its pin still broken, timed at its start."""
    clock, _, gates, driver = rig
    gates.arm()
    t0 = clock.monotonic_ns()
    t_break = t0 + 1000 * MS + 250 * US
    driver.schedule([(t_break, 6, True)])
    clock.advance_ns(1004 * MS)
    driver.tick(clock.monotonic_ns())
    gates.poll()
    assert gates.crossings == {}  # broken 3.75 ms so far: not yet a break that counts
    clock.advance_ns(5 * MS)
    gates.poll()
    assert gates.crossings == {}  # 8.75 ms
    clock.advance_ns(2 * MS)
    gates.poll()
    assert gates.crossings[1].t_ns == t_break and gates.crossings[1].clear_ns is None
    driver.schedule([(t_break + 2000 * MS, 6, False)])
    run(clock, gates, driver, 3.5)
    assert gates.crossings[1].clear_ns == t_break + 2000 * MS and gates.crossings[1].breaks == 1
    assert gates.pass_over(1, clock.monotonic_ns())


def test_a_glitch_whose_clearing_callback_is_late_is_not_counted_meanwhile(rig):
    """The pin of a 50 us glitch is clear again, but the callback of its clearing comes 300 ms
    later (a busy callback thread): the polls in between read the pin, and count nothing."""
    clock, factory, gates, driver = rig
    gates.arm()
    t_glitch = clock.monotonic_ns() + 500 * MS
    clock.advance_ns(500 * MS)
    factory.drive(6, high=False, at_ns=t_glitch)
    pin = factory.pin(6)
    pin._state = True  # the line is high again; its edge not yet delivered
    for _ in range(30):
        clock.advance_ns(10 * MS)
        gates.poll()
    assert gates.crossings == {}
    pin._state = False
    factory.drive(6, high=True, at_ns=t_glitch + 50 * US)  # the late callback, stamped when the edge was
    run(clock, gates, driver, 2.0)
    assert gates.crossings == {} and gates.glitches[1] == 1


def test_arms_and_legs_still_count_once_and_glitches_within_a_pass_change_nothing(rig):
    clock, _, gates, driver = rig
    gates.arm()
    t0 = clock.monotonic_ns() + 2000 * MS
    chatter = [(t0, True), (t0 + 60 * MS, False), (t0 + 110 * MS, True), (t0 + 300 * MS, False),
               (t0 + 420 * MS, True), (t0 + 650 * MS, False),
               (t0 + 1200 * MS, True), (t0 + 1200 * MS + 40 * US, False)]  # a glitch in the hold-off
    driver.schedule([(t, 5, b) for t, b in chatter])
    run(clock, gates, driver, 4.0)
    crossing = gates.crossings[0]
    assert crossing.t_ns == t0 and crossing.breaks == 3 and crossing.passes == 1
    assert crossing.clear_ns == t0 + 650 * MS  # the glitch neither extended the pass nor began another
    assert gates.pass_over(0, clock.monotonic_ns()) and gates.glitches[0] == 1
    # A real second pass after the hold-off is still a second pass.
    t1 = clock.monotonic_ns() + 100 * MS
    driver.schedule([(t1, 5, True), (t1 + 200 * MS, 5, False)])
    run(clock, gates, driver, 0.5)
    assert gates.crossings[0].passes == 2 and gates.crossings[0].t_ns == t0


def test_a_glitch_during_the_countdown_is_no_false_start(rig):
    clock, _, gates, driver = rig
    gates.arm()
    t0 = clock.monotonic_ns()
    driver.schedule([(t0 + 300 * MS, 5, True), (t0 + 300 * MS + 2 * MS, 5, False)])
    run(clock, gates, driver, 0.5)
    assert gates.breaks_while_armed == []


def test_breaks_timed_by_their_callbacks_are_measured_by_the_driver_stamps(rig):
    """Edges delivered too late to be believed are timed by their callbacks (all at once), but how
    long the beam stayed broken still comes from the driver's own stamps."""
    clock, _, gates, driver = rig
    gates.arm()
    t0 = clock.monotonic_ns()
    driver.schedule([(t0 + 100 * MS, 6, True), (t0 + 300 * MS, 6, False),     # a real break of 200 ms
                     (t0 + 400 * MS, 5, True), (t0 + 400 * MS + 50 * US, 5, False)])  # a glitch
    clock.advance_ns(1600 * MS)  # the callbacks come 1.2-1.5 s late: not believed
    driver.tick(clock.monotonic_ns())
    gates.poll()
    assert gates.crossings[1].timing == "callback" and gates.crossings[1].t_ns == clock.monotonic_ns()
    assert 0 not in gates.crossings and gates.glitches[0] == 1


def test_min_break_must_be_shorter_than_the_hold_off():
    clock = SimulatedClock()
    factory = ClockedMockFactory(clock)
    with pytest.raises(ValueError, match="min_break_s"):
        GateArray(GATES, clock=clock, pin_factory=factory, holdoff_s=0.5, min_break_s=0.5)
    factory.reset()
