"""The station panel on GPIO (gpiozero): start button / foot switch, buzzer, status LED.

Wiring (BCM pin numbers from :class:`station.config.PanelConfig`): the button or foot switch
between its pin and ground (internal pull-up; pressed = low), an active buzzer and an LED (with
its resistor) each driven high to sound / light.

What it does:

* **Button**: starts the trial that is due (or the offered repeat); pressed while a trial is
  waiting, counting down or recording, it stops it. Presses within ``debounce_s`` of the last
  accepted one are ignored (foot switches chatter).
* **Buzzer** (beeps follow the trial's events): one short beep per countdown second, one long
  beep when recording starts (the go of a walk test), two short beeps when a trial ends well,
  three quick beeps for an invalid or stopped trial, a walk's false start (a light-gate beam
  broken before the go) or a fault.
* **LED**: steady = ready; slow blink = counting down or recording; fast blink = fault (the plate
  stopped answering, data lost), until the next trial starts.

Beeps and blinking are timed on the station clock, by :meth:`StationPanel.tick` which the protocol
runner calls on every loop step, not by gpiozero's background threads: under the simulated clock
they follow simulated time, and the log of output changes (:attr:`StationPanel.log`, times in ns
on the station clock) is deterministic. Pins come from the ``pin_factory`` passed in (gpiozero's
``MockFactory`` in tests, the default factory on the Pi); nothing here patches gpiozero.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from gpiozero import LED, Button, Buzzer

from station.clock import Clock
from station.config import PanelConfig

SHORT_S = 0.1
LONG_S = 0.6
GAP_S = 0.1

BEEPS: dict[str, tuple[float, ...]] = {
    # alternating on, off, on ... durations in s
    "countdown": (SHORT_S,),
    "start": (LONG_S,),
    "end": (SHORT_S, GAP_S, SHORT_S),
    "fault": (0.08, 0.08, 0.08, 0.08, 0.08),
}
"""Beep patterns by name."""

LED_BLINK_S = {"recording": 0.5, "fault": 0.1}
"""Half-period of the LED's blinking in each blinking mode, s."""

HARDWARE_FAULT_CODES = {"sensor_fault", "saturated", "invalid", "no_data", "lost_frames", "gap",
                        "gate_missed", "gate_order", "imu_missing", "imu_misaligned"}
"""Invalid-trial reasons that are the station's fault (LED shows fault), not the patient's."""


class StationPanel:
    """Button, buzzer and status LED, following a protocol runner.

    Parameters
    ----------
    config : PanelConfig
        Pin numbers (BCM).
    clock : Clock
        The station clock (the same one the runner and its events use).
    pin_factory : gpiozero pin factory, optional
        Where the pins come from (``gpiozero.pins.mock.MockFactory()`` in tests); None uses
        gpiozero's default (the Pi's GPIO).
    debounce_s : float
        Presses closer than this to the previous accepted press are ignored, s.
    """

    def __init__(self, config: PanelConfig, *, clock: Clock, pin_factory=None, debounce_s: float = 0.3) -> None:
        self.config = config
        self.clock = clock
        self.debounce_s = debounce_s
        self.button = Button(config.button_pin, pull_up=True, pin_factory=pin_factory)
        self.buzzer = Buzzer(config.buzzer_pin, pin_factory=pin_factory)
        self.led = LED(config.led_pin, pin_factory=pin_factory)
        self.log: list[tuple[int, str, bool]] = []
        """(t_ns, "buzzer" or "led", on) for every change of an output, station clock."""
        self.presses: list[int] = []
        """Station-clock times of accepted presses, ns."""
        self.mode = "ready"
        self._mode_since_ns = int(clock.monotonic_ns())
        self._beeps: deque[tuple[int, bool]] = deque()
        self._beeps_end_ns = 0
        self._lock = threading.Lock()
        self._last_press_ns: int | None = None
        self._on_press: Callable[[], None] | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.button.when_pressed = self._pressed
        self._set("led", True, self._mode_since_ns)

    # -- wiring --------------------------------------------------------------------------------
    def attach(self, runner) -> None:
        """Follow ``runner`` (a :class:`~station.protocols.runner.ProtocolRunner`): its events
        drive the beeps and the LED, its loop ticks the panel, the button calls ``runner.press``."""
        self._unsubscribe = runner.bus.subscribe(self.on_event)
        runner.add_tick(self.tick)
        self._on_press = runner.press

    def close(self) -> None:
        """Release the pins (outputs off)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.button.when_pressed = None
        for device in (self.buzzer, self.led, self.button):
            device.close()

    # -- input ---------------------------------------------------------------------------------
    def _pressed(self) -> None:
        now_ns = int(self.clock.monotonic_ns())
        with self._lock:
            if self._last_press_ns is not None and now_ns - self._last_press_ns < self.debounce_s * 1e9:
                return
            self._last_press_ns = now_ns
            self.presses.append(now_ns)
        if self._on_press is not None:
            self._on_press()

    # -- outputs -------------------------------------------------------------------------------
    def beep(self, pattern: str, at_ns: int) -> None:
        """Queue a beep pattern (see :data:`BEEPS`) to start at ``at_ns`` or when the previous ends."""
        with self._lock:
            t = max(int(at_ns), self._beeps_end_ns)
            on = True
            for duration_s in BEEPS[pattern]:
                self._beeps.append((t, on))
                t += int(duration_s * 1e9)
                on = not on
            self._beeps.append((t, False))
            self._beeps_end_ns = t

    def set_mode(self, mode: str, at_ns: int) -> None:
        """LED mode: ``ready`` (steady on), ``recording`` (slow blink), ``fault`` (fast blink)."""
        if mode not in ("ready", "recording", "fault"):
            raise ValueError(f"unknown LED mode {mode!r}; allowed: 'ready', 'recording', 'fault'")
        with self._lock:
            if mode != self.mode:
                self.mode = mode
                self._mode_since_ns = int(at_ns)

    def tick(self, now_ns: int) -> None:
        """Apply every buzzer change due by ``now_ns`` and set the LED for its mode."""
        with self._lock:
            due = []
            while self._beeps and self._beeps[0][0] <= now_ns:
                due.append(self._beeps.popleft())
            mode, since = self.mode, self._mode_since_ns
        for t, on in due:
            self._set("buzzer", on, t)
        if mode == "ready":
            self._set("led", True, now_ns)
        else:
            half_ns = int(LED_BLINK_S[mode] * 1e9)
            phase = (now_ns - since) // half_ns
            self._set("led", phase % 2 == 0, since + phase * half_ns)

    def _set(self, name: str, on: bool, t_ns: int) -> None:
        device = self.buzzer if name == "buzzer" else self.led
        if bool(device.value) != on:
            device.value = on
            self.log.append((int(t_ns), name, on))

    # -- events --------------------------------------------------------------------------------
    def on_event(self, event) -> None:
        """Beeps and LED mode for one runner event."""
        kind, data, t = event.kind, event.data, event.t_ns
        queued_until_ns = self._beeps_end_ns
        if kind == "countdown":
            self.beep("countdown", t)
        elif kind == "state":
            state = data.get("state")
            if state in ("countdown", "recording"):
                self.set_mode("recording", t)
                if state == "recording":
                    self.beep("start", t)
            elif state == "waiting":
                self.set_mode("ready", t)
            elif state == "aborted":
                self.set_mode("ready", t)
                self.beep("fault", t)
        elif kind == "trial_finished":
            result = data["result"]
            codes = {issue["code"] for issue in result.get("issues", [])}
            if result["valid"]:
                self.set_mode("ready", t)
                self.beep("end", t)
            else:
                self.set_mode("fault" if codes & HARDWARE_FAULT_CODES else "ready", t)
                self.beep("fault", t)
        elif kind == "false_start":  # walk tests: a beam broken before the go; the countdown starts again
            self.set_mode("ready", t)
            self.beep("fault", t)
        elif kind == "fault":
            self.set_mode("fault", t)
            self.beep("fault", t)
        if self._beeps_end_ns != queued_until_ns:
            # a beep sounds now, not on the loop's next tick: the go beep is a walk test's time origin
            # (the trial's start is the moment it is published), and the next tick comes a frame batch
            # later; events that beep nothing (a game's state, progress) tick nothing
            self.tick(t)
