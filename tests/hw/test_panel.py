"""The station panel with gpiozero's mock pins: the button drives the trial; beeps and LED states
come in the right order and at the right times (station clock), on the configured pins."""

from __future__ import annotations

from dataclasses import replace

import pytest
from gpiozero.pins.mock import MockFactory

from station.sim.station import SimulatedStation
from station.config import PanelConfig
from station.hw.panel import LED_BLINK_S, StationPanel
from station.protocols.loader import builtin_protocols
from station.protocols.runner import ProtocolRunner
from station.sim.static_load import ConstantLoad

PINS = PanelConfig(button_pin=23, buzzer_pin=24, led_pin=25)


@pytest.fixture
def rig():
    """A simulated station with someone standing still on it, a quiet-stance runner and the panel."""
    factory = MockFactory()
    station = SimulatedStation(load_source=ConstantLoad(fz_n=700.0, ap_cm=1.0, ml_cm=-0.5), seed=2, calibration="nominal")
    protocol = replace(builtin_protocols()["quiet-stance"], rest_s=0.0)
    runner = ProtocolRunner(protocol, station)
    panel = StationPanel(PINS, clock=station.clock, pin_factory=factory)
    panel.attach(runner)
    runner.begin()
    yield factory, station, runner, panel
    panel.close()
    factory.reset()


def press(factory):
    pin = factory.pin(PINS.button_pin)
    pin.drive_low()
    pin.drive_high()


def step_until(runner, condition, max_steps=5000):
    for _ in range(max_steps):
        if condition():
            return
        runner.step()
    raise AssertionError("condition not reached")


def buzzer_periods(panel):
    """(on_s, duration_s) of every beep, station clock."""
    changes = [(t, on) for t, name, on in panel.log if name == "buzzer"]
    return [(t0 / 1e9, round((t1 - t0) / 1e9, 3)) for (t0, a), (t1, b) in zip(changes, changes[1:]) if a and not b]


def test_pins_come_from_the_configuration_and_the_factory_passed_in(rig):
    factory, _, _, panel = rig
    assert factory.pin(PINS.led_pin).state is True  # ready: steady on
    assert factory.pin(PINS.buzzer_pin).state is False
    assert factory.pin(PINS.button_pin).function == "input" and factory.pin(PINS.button_pin).pull == "up"
    assert panel.button.pin is factory.pin(PINS.button_pin)
    assert panel.buzzer.pin is factory.pin(PINS.buzzer_pin) and panel.led.pin is factory.pin(PINS.led_pin)


def test_button_starts_the_trial_and_the_beeps_follow_it(rig):
    factory, station, runner, panel = rig
    for _ in range(10):
        runner.step()
    assert runner.machine.state.value == "instructions"  # nothing happens until the button
    press(factory)
    step_until(runner, lambda: runner.finished)
    for _ in range(20):  # let the last beeps play out
        runner.step()
    events = runner.bus.since(0).events
    countdown_ns = [e.t_ns for e in events if e.kind == "countdown"]
    start_ns = next(e.t_ns for e in events if e.kind == "state" and e.data["state"] == "recording")
    done_ns = next(e.t_ns for e in events if e.kind == "trial_finished")
    beeps = buzzer_periods(panel)
    expected = [(t / 1e9, 0.1) for t in countdown_ns] + [(start_ns / 1e9, 0.6), (done_ns / 1e9, 0.1), (done_ns / 1e9 + 0.2, 0.1)]
    assert beeps == [(pytest.approx(t, abs=1e-6), d) for t, d in expected]
    assert [round((b - a) / 1e9, 2) for a, b in zip(countdown_ns, countdown_ns[1:])] == [1.0, 1.0]
    assert start_ns - countdown_ns[0] == pytest.approx(3e9, abs=0.06e9)
    assert runner.records[0].result.valid
    # the buzzer pin itself went on and off as many times, in order
    states = [s.state for s in factory.pin(PINS.buzzer_pin).states]
    assert states == [False] + [True, False] * len(expected)


def test_led_is_steady_when_ready_and_blinks_while_recording(rig):
    factory, station, runner, panel = rig
    press(factory)
    step_until(runner, lambda: runner.finished)
    led = [(t, on) for t, name, on in panel.log if name == "led"]
    events = runner.bus.since(0).events
    countdown_at = next(e.t_ns for e in events if e.kind == "state" and e.data["state"] == "countdown")
    done_at = next(e.t_ns for e in events if e.kind == "trial_finished")
    during = [(t, on) for t, on in led if countdown_at <= t < done_at]
    half_ns = LED_BLINK_S["recording"] * 1e9
    assert len(during) >= 2 * 32  # blinking for the 3 s countdown and 30 s of recording
    assert all((t - countdown_at) % half_ns == 0 for t, _ in during)
    assert [on for _, on in during] == [i % 2 == 1 for i in range(len(during))]  # off, on, off ...
    assert factory.pin(PINS.led_pin).state is True and panel.mode == "ready"


def test_a_sensor_fault_beeps_and_blinks_fast_until_the_next_start(rig):
    factory, station, runner, panel = rig
    press(factory)
    step_until(runner, lambda: runner.machine is not None and runner.machine.state.value == "recording")
    for _ in range(40):
        runner.step()
    sim = station.simulation
    sim.bus.vanish(sim.adcs["fl"])  # the front-left ADC stops answering
    step_until(runner, lambda: len(runner.records) == 1)
    result = runner.records[0].result
    assert not result.valid and result.issues[0].code == "sensor_fault"
    fault_at = next(e.t_ns for e in runner.bus.since(0).events if e.kind == "trial_finished")
    for _ in range(20):
        runner.step()
    assert panel.mode == "fault"
    fault_beeps = [b for b in buzzer_periods(panel) if b[0] >= fault_at / 1e9 - 1e-9]
    assert [d for _, d in fault_beeps] == [0.08, 0.08, 0.08]
    fast = [t for t, name, on in panel.log if name == "led" and t >= fault_at]
    assert len(fast) >= 5 and all(round((b - a) / 1e9, 3) == 0.1 for a, b in zip(fast, fast[1:]))
    sim.bus.reappear(sim.adcs["fl"])
    press(factory)  # start the offered repeat: the LED is steady again
    step_until(runner, lambda: runner.machine is not None and runner.machine.state.value == "waiting")
    runner.step()
    assert panel.mode == "ready" and factory.pin(PINS.led_pin).state is True


def test_pressing_while_recording_stops_the_trial(rig):
    factory, station, runner, panel = rig
    press(factory)
    step_until(runner, lambda: runner.machine is not None and runner.machine.state.value == "recording")
    for _ in range(100):
        runner.step()
    press(factory)
    runner.step()
    assert runner.records[0].result.issues[0].code == "operator_stop"
    assert runner.due[0].attempt == 2


def test_chattering_presses_count_once(rig):
    factory, station, runner, panel = rig
    press(factory)
    press(factory)  # same station-clock instant: bounce
    station.clock.advance_ns(100_000_000)
    press(factory)  # 0.1 s later: still within the 0.3 s debounce
    runner.step()
    assert len(panel.presses) == 1
    assert runner.machine.state.value == "waiting"  # started, not started-then-stopped


def test_the_go_beep_sounds_when_recording_starts_not_on_the_loops_next_tick(rig):
    # A walk test is timed from the go beep (the trial's start is the state event's time); queued for the
    # next tick it sounded a whole loop iteration later on a real clock (10-50 ms: a frame batch).
    factory, station, runner, panel = rig
    buzzer_at_go = []
    runner.bus.subscribe(lambda e: buzzer_at_go.append(factory.pin(PINS.buzzer_pin).state)
                         if e.kind == "state" and e.data["state"] == "recording" else None)
    press(factory)
    step_until(runner, lambda: buzzer_at_go)
    assert buzzer_at_go == [True]
