"""Light gates on gpiozero's mock pins and the simulated clock: driver timestamps (not callback
times), one crossing per pass however often arms and legs break the beam, arming, ordering and
missing gates, and the configuration's [[panel.gates]]."""

from __future__ import annotations

from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from station.config import GateConfig
from station.config_file import ConfigError, parse_config_text
from station.hw.gates import GateArray, GateError
from station.sim.clock import SimulatedClock
from station.sim.gpio import ClockedMockFactory, GateDriver

GATES = (GateConfig(pin=6, position_m=4.0), GateConfig(pin=5, position_m=1.0))
MS = 1_000_000


@pytest.fixture
def rig():
    clock = SimulatedClock(start_ns=5_000_000_000)
    factory = ClockedMockFactory(clock)
    gates = GateArray(GATES, clock=clock, pin_factory=factory, holdoff_s=0.5)
    driver = GateDriver(factory)
    yield clock, factory, gates, driver
    gates.close()
    factory.reset()


def test_gates_are_inputs_with_pull_up_in_position_order(rig):
    _, factory, gates, _ = rig
    assert gates.positions_m == [1.0, 4.0]
    for pin in (5, 6):
        assert factory.pin(pin).function == "input" and factory.pin(pin).pull == "up"
    assert [g["broken"] for g in gates.state()] == [False, False]


def test_edge_times_are_the_driver_timestamps_not_the_callback_time(rig):
    clock, _, gates, driver = rig
    gates.arm()
    t_break = clock.monotonic_ns() + 1_234_567_891  # 1.234567891 s after arming
    driver.schedule([(t_break, 5, True), (t_break + 180 * MS, 5, False)])
    clock.advance_ns(1_234_567_891 + 47 * MS)  # the loop (and the callback) run 47 ms late
    driver.tick(clock.monotonic_ns())
    edges = gates.poll()
    assert [e.broken for e in edges] == [True]
    assert abs(edges[0].t_ns - t_break) <= 1_000  # ≤ 1 µs: float seconds of the ticks
    assert edges[0].timing == "driver"
    assert abs(gates.crossings[0].t_ns - t_break) <= 1_000


def test_a_beam_broken_many_times_by_arms_and_legs_counts_once(rig):
    clock, _, gates, driver = rig
    gates.arm()
    t0 = clock.monotonic_ns() + 2_000 * MS
    chatter = [(t0, True), (t0 + 60 * MS, False), (t0 + 110 * MS, True), (t0 + 300 * MS, False),
               (t0 + 420 * MS, True), (t0 + 650 * MS, False)]
    driver.schedule([(t, 5, b) for t, b in chatter])
    clock.advance_ns(2_600 * MS)
    driver.tick(clock.monotonic_ns())
    gates.poll()
    assert not gates.pass_over(0, clock.monotonic_ns())  # cleared 0.65 s after the break; hold-off 0.5 s
    clock.advance_ns(600 * MS)
    driver.tick(clock.monotonic_ns())
    gates.poll()
    crossing = gates.crossings[0]
    assert abs(crossing.t_ns - t0) <= 1_000 and crossing.breaks == 3 and crossing.passes == 1
    assert gates.pass_over(0, clock.monotonic_ns())
    # Someone passes again after the hold-off: a second pass, the crossing time stays the first.
    t1 = clock.monotonic_ns() + 500 * MS
    driver.schedule([(t1, 5, True), (t1 + 200 * MS, 5, False)])
    clock.advance_ns(1_000 * MS)
    driver.tick(clock.monotonic_ns())
    gates.poll()
    assert gates.crossings[0].passes == 2 and abs(gates.crossings[0].t_ns - t0) <= 1_000


def test_breaks_before_arming_do_not_count_and_breaks_after_are_seen(rig):
    clock, _, gates, driver = rig
    t_early = clock.monotonic_ns() + 100 * MS
    driver.schedule([(t_early, 6, True), (t_early + 100 * MS, 6, False)])
    clock.advance_ns(300 * MS)
    driver.tick(clock.monotonic_ns())
    gates.arm()
    assert gates.crossings == {} and gates.breaks_while_armed == []
    assert len(gates.edges) == 2  # kept as edges, not counted
    t_late = clock.monotonic_ns() + 50 * MS
    driver.schedule([(t_late, 6, True)])
    clock.advance_ns(100 * MS)
    driver.tick(clock.monotonic_ns())
    gates.poll()
    assert [e.gate for e in gates.breaks_while_armed] == [1]
    assert gates.state()[1]["broken"] is True
    assert gates.state(t0_ns=t_late)[1]["crossed_at_s"] == pytest.approx(0.0, abs=1e-6)


def test_a_walk_needing_a_gate_that_is_not_configured_is_refused_by_position(rig):
    _, _, gates, _ = rig
    assert gates.require([1.0, 4.0]) == [0, 1]
    with pytest.raises(GateError, match=r"needs a light gate at 3 m .*configured gates: 1 m \(GPIO 5\), 4 m \(GPIO 6\)"):
        gates.require([3.0])


def test_crossings_keep_their_own_times_whatever_order_the_callbacks_come_in(rig):
    clock, _, gates, driver = rig
    gates.arm()
    t = clock.monotonic_ns()
    # The far gate is broken first (the gates are swapped on the walkway): both times are kept as
    # they happened, so the walk engine can see the order is wrong.
    driver.schedule([(t + 900 * MS, 5, True), (t + 400 * MS, 6, True)])
    clock.advance_ns(1_000 * MS)
    driver.tick(clock.monotonic_ns())
    edges = gates.poll()
    assert [e.gate for e in edges] == [1, 0]
    assert gates.crossings[1].t_ns < gates.crossings[0].t_ns


def test_a_factory_on_another_time_base_falls_back_to_callback_times():
    clock = SimulatedClock(start_ns=0)
    factory = MockFactory()  # ticks on the real monotonic clock, not the station's
    gates = GateArray(GATES, clock=clock, pin_factory=factory)
    try:
        gates.arm()
        clock.advance_ns(5_000 * MS)
        factory.pin(5).drive_low()
        edge = gates.poll()[0]
        assert edge.timing == "callback" and edge.t_ns == 5_000 * MS
    finally:
        gates.close()
        factory.reset()


def test_a_driver_that_stamps_edges_with_the_wall_clock_is_still_timed_by_its_stamps():
    epoch_s = 1_700_000_000.0  # CLOCK_REALTIME stamps (the older GPIO interface), ticks() monotonic

    class RealtimeStamps(ClockedMockFactory):
        def stamp_s(self):
            return super().stamp_s() + epoch_s

    clock = SimulatedClock(start_ns=7_000_000_000)
    factory = RealtimeStamps(clock)
    gates = GateArray(GATES, clock=clock, pin_factory=factory, wall_clock=lambda: clock.monotonic_ns() / 1e9 + epoch_s)
    driver = GateDriver(factory)
    try:
        gates.arm()
        t_break = clock.monotonic_ns() + 2_500 * MS + 123_456
        driver.schedule([(t_break, 6, True)])
        clock.advance_ns(2_600 * MS)
        driver.tick(clock.monotonic_ns())
        edge = gates.poll()[0]
        assert edge.timing == "driver" and abs(edge.t_ns - t_break) <= 1_000
    finally:
        gates.close()
        factory.reset()


def test_closing_releases_the_pins(rig):
    clock, factory, gates, _ = rig
    gates.close()
    again = GateArray(GATES, clock=clock, pin_factory=factory)
    assert again.positions_m == [1.0, 4.0]
    again.close()


def test_gates_in_the_configuration_file(tmp_path):
    text = "[[panel.gates]]\npin = 6\nposition_m = 8\n\n[[panel.gates]]\npin = 5\nposition_m = 2.0\n"
    config = parse_config_text(text, Path(tmp_path / "station.toml")).config
    assert config.panel.gates == (GateConfig(5, 2.0), GateConfig(6, 8.0))
    with pytest.raises(ConfigError, match=r"station.toml:1: panel.gates = .*no two at the same position or on the same pin"):
        parse_config_text("[[panel.gates]]\npin = 5\nposition_m = 1\n[[panel.gates]]\npin = 5\nposition_m = 2\n",
                          Path(tmp_path / "station.toml"))
    with pytest.raises(ConfigError, match=r"panel.led_pin = 22: allowed: a GPIO not used by another panel device \(panel.gates\[0\].pin"):
        parse_config_text("[panel]\nled_pin = 22\n[[panel.gates]]\npin = 22\nposition_m = 1\n", Path(tmp_path / "station.toml"))
    assert parse_config_text("[panel]\ngates = []\n", Path(tmp_path / "station.toml")).config.panel.gates == ()


def test_the_panel_follows_a_walk_test_go_beep_and_false_start():
    from station.config import PanelConfig
    from station.hw.panel import LONG_S, StationPanel
    from station.sim.virtual_patient import Lapse
    from tests.protocols.walk_support import run_walk

    panels = []

    def attach(runner):
        factory = MockFactory()
        panel = StationPanel(PanelConfig(button_pin=23, buzzer_pin=24, led_pin=25), clock=runner.clock, pin_factory=factory)
        panel.attach(runner)
        panels.append((panel, factory))

    run = run_walk("backward-walk-3m", seed=8, trials=1, lapses=[Lapse("fast", "false_start", 1.0)], on_runner=attach)
    panel, factory = panels[0]
    try:
        beeps = [(t1 - t0) / 1e9 for (t0, _, a), (t1, _, b) in zip(
            [e for e in panel.log if e[1] == "buzzer"], [e for e in panel.log if e[1] == "buzzer"][1:]) if a and not b]
        assert beeps.count(LONG_S) == 1  # one go: the false start restarted the countdown before any go
        assert sum(1 for b in beeps if b == 0.08) >= 3  # the false start's quick beeps
        go = [e for e in run.events if e.kind == "state" and e.data["state"] == "recording"][0].t_ns
        long_beep = [t0 for (t0, _, a), (t1, _, b) in zip(
            [e for e in panel.log if e[1] == "buzzer"], [e for e in panel.log if e[1] == "buzzer"][1:])
            if a and not b and (t1 - t0) / 1e9 == LONG_S][0]
        assert long_beep == go
    finally:
        panel.close()
        factory.reset()
