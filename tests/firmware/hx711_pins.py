"""Pin-level HX711s for the PIO emulator: each chip drives its DOUT from the SCK edges it sees,
following the datasheet's serial interface (HX711 rev. 2.0, "Serial Interface"):

* DOUT goes low when a conversion is ready; on each SCK rising edge the next data bit (MSB
  first) appears on DOUT (T2 ≤ 0.1 µs); the 25th rising edge pulls DOUT high again (the 26th and
  27th select the gain of the next conversion);
* SCK high for more than 60 µs powers the chip down (DOUT high, data lost); SCK low again
  powers it up and conversions restart after the settling time;
* a conversion that completes while a transfer is under way waits until it ends.

Time is the emulator's cycle count, one cycle a microsecond (the state machine at 1 MHz).
"""

from __future__ import annotations

POWER_DOWN_US = 60
SCK_PIN = 4


class HX711Pins:
    """One chip. ``values`` are the signed 24-bit results of its conversions, in order."""

    def __init__(self, values, *, period_us: int, first_ready_us: int, never_ready: bool = False,
                 dout_stuck_low: bool = False, settle_us: int = 500) -> None:
        self.values = list(values)
        self.period_us = period_us
        self.next_ready = first_ready_us
        self.never_ready = never_ready
        self.dout_stuck_low = dout_stuck_low
        self.settle_us = settle_us
        self.dout = 1
        self.data: int | None = None
        self.pulses = 0
        self.k = 0
        self.sck = 0
        self.high_since = 0
        self.powered = True
        self.power_downs = 0
        self.rises: list[int] = []
        self.high_widths: list[int] = []
        self.low_widths: list[int] = []
        self.last_fall = 0
        self.transfers: list[int] = []  # pulses per completed transfer
        self.latched: list[int] = []
        self.ready_at: list[int] = []

    def step(self, t: int, sck: int) -> int:
        if sck and not self.sck:
            self.high_since = t
            self.rises.append(t)
            if self.data is not None and self.powered:
                self.pulses += 1
                if self.pulses <= 24:
                    self.dout = (self.data >> (24 - self.pulses)) & 1
                else:
                    self.dout = 1  # the 25th edge pulls DOUT high; the 26th and 27th set the gain
        elif not sck and self.sck:
            self.high_widths.append(t - self.high_since)
            self.last_fall = t
        if sck and self.powered and t - self.high_since > POWER_DOWN_US:
            self.powered = False
            self.power_downs += 1
            self.dout = 1
            self.data = None
            self.pulses = 0
        if not sck and not self.powered:
            self.powered = True
            self.next_ready = t + self.settle_us
        self.sck = sck
        if self.powered and not self.never_ready and t >= self.next_ready and self.k < len(self.values):
            idle = self.pulses == 0 or (self.pulses >= 25 and not sck and t - self.last_fall >= 5)
            if idle:  # not in the middle of a transfer
                if self.pulses:
                    self.transfers.append(self.pulses)
                self.data = self.values[self.k] & 0xFFFFFF
                self.latched.append(self.values[self.k])
                self.ready_at.append(t)
                self.k += 1
                self.pulses = 0
                self.dout = 0
                self.next_ready += self.period_us
        if self.dout_stuck_low:
            return 0
        return 1 if self.never_ready else self.dout
