"""The load-cell front end: four HX711/HX717 read at once by the PIO, every set numbered and
timed on the RP2040's microsecond clock, kept in a ring the Pi reads as an I2C target.

Hardware glue only; the logic (register map, CRC, ring, status, error encoding, readiness) is in
:mod:`hxproto`, the PIO program in :mod:`hx_pio`, the settings in :mod:`config`. Runs at boot
(MicroPython runs ``main.py``).
"""

import os
import struct
import time
from array import array

import machine
import rp2

import config
import hx_pio
import hxproto as hp

SETTLE_MS = {10: 400, 20: 200, 80: 50, 320: 15}
"""Output settling time after a power-up or reset (HX711 datasheet: 400 ms at 10 SPS, 50 ms at
80 SPS; HX717 scaled the same way), ms: sets read before it are dropped."""
POWER_DOWN_US = 100
"""SCK held high this long powers the chips down (datasheet: > 60 µs)."""
WATCH_PERIODS = 3
"""No set for this many conversion periods: find out which chip is not ready."""
REJOIN_CHECK_MS = 1000

_stamps = array("I", [0] * 8)
_stamp_count = array("I", [0])
_reading = array("B", [0])
"""1 while the Pi reads the target's memory: the status block is not replaced meanwhile (a
block changed in the middle of a read would fail its CRC)."""
_MATCH_READ = getattr(machine.I2CTarget, "IRQ_ADDR_MATCH_READ", 0)
_END_READ = getattr(machine.I2CTarget, "IRQ_END_READ", 0)


def _on_ready(sm):
    # Hard IRQ: the PIO found every chip of the set ready. No allocation here.
    n = _stamp_count[0]
    _stamps[n & 7] = time.ticks_us()
    _stamp_count[0] = (n + 1) & 0x3FFFFFFF  # stays a small int: a big one would allocate


def _on_target(target):
    # Hard IRQ of the I2C target: a read starts or ends.
    flags = target.irq().flags()
    if flags & _MATCH_READ:
        _reading[0] = 1
    if flags & _END_READ:
        _reading[0] = 0


class FrontEnd:
    def __init__(self):
        self.kind = hp.CHIP_HX717 if config.CHIP == "hx717" else hp.CHIP_HX711
        if config.RATE_SPS not in hp.RATES_SPS[self.kind] or config.GAIN not in hp.GAIN_PULSES:
            raise ValueError("config.py: rate or gain not available for this chip")
        self.period_us = 1_000_000 // config.RATE_SPS
        self.extra = hp.GAIN_PULSES[config.GAIN]
        # Built once: rp2 loads a program into the PIO's 32-instruction memory once per list
        # object (it remembers the offset in it), so every restart must reuse this one.
        self.program = hx_pio.rp2_program(self.extra, rp2.PIO.JOIN_RX, rp2.PIO.OUT_LOW)
        self.mem = bytearray(hp.MEM_SIZE)
        hp.pack_identity(self.mem, self.kind, config.RATE_SPS, config.GAIN)
        self.ring = hp.Ring(self.mem)
        self.status = hp.Status(struct.unpack("<H", os.urandom(2))[0])
        self.ticks = hp.TicksExtender()
        self.readiness = hp.Readiness()
        self.douts = [machine.Pin(config.DOUT_BASE_PIN + i, machine.Pin.IN, machine.Pin.PULL_UP) for i in range(4)]
        self.sm = None
        self._power_down()
        self.target = machine.I2CTarget(config.I2C_ID, config.I2C_ADDRESS, mem=self.mem, mem_addrsize=16,
                                        scl=machine.Pin(config.I2C_SCL_PIN), sda=machine.Pin(config.I2C_SDA_PIN))
        if _MATCH_READ and _END_READ:
            self.target.irq(_on_target, trigger=_MATCH_READ | _END_READ, hard=True)
        self._status_buf = bytearray(hp.STATUS_SIZE)
        self._stamps_used = 0
        self._last_set_us = time.ticks_us()
        self._settled_at = 0
        self._rejoin_at = 0
        self.start_after_ms = 0

    # -- chips ----------------------------------------------------------------------------------
    def _stop_sm(self):
        if self.sm is not None:
            self.sm.active(0)
            self.sm.irq(None)
            self.sm = None

    def _power_down(self):
        self._stop_sm()
        machine.Pin(config.SCK_PIN, machine.Pin.OUT, value=1)
        self.status.state = hp.STATE_STOPPED

    def _dout_levels(self):
        levels = 0
        for i in range(4):
            levels |= self.douts[i].value() << i
        return levels

    def _start_sm(self):
        self._stop_sm()
        sm = rp2.StateMachine(0, self.program, freq=hx_pio.SM_FREQ_HZ, in_base=machine.Pin(config.DOUT_BASE_PIN),
                              sideset_base=machine.Pin(config.SCK_PIN))
        self._stamps_used = _stamp_count[0]
        sm.irq(_on_ready, hard=True)
        sm.put(self.readiness.left_out)
        sm.active(1)
        self.sm = sm
        self._last_set_us = time.ticks_us()

    def start(self):
        """Power-cycle the chips (they restart converting together), empty the ring, read."""
        self._power_down()
        time.sleep_us(POWER_DOWN_US)
        machine.Pin(config.SCK_PIN, machine.Pin.OUT, value=0)
        self.ring.clear()
        self.readiness.left_out = 0
        self.status.not_ready_mask = 0
        self.status.state = hp.STATE_STARTING
        self._settled_at = time.ticks_add(time.ticks_ms(), SETTLE_MS[config.RATE_SPS])
        self._start_sm()

    def _watch(self):
        """No set for too long: sample the DOUT pins over two conversion periods (SCK low) and
        leave out the chips that never went low."""
        self._stop_sm()
        machine.Pin(config.SCK_PIN, machine.Pin.OUT, value=0)
        self.readiness.start_watch()
        end = time.ticks_add(time.ticks_us(), 2 * self.period_us)
        while time.ticks_diff(end, time.ticks_us()) > 0:
            self.readiness.sample(self._dout_levels())
        left_out = self.readiness.end_watch()
        self.status.not_ready_mask = left_out
        if left_out == 0xF:
            self.status.state = hp.STATE_NO_CHIP
            self.status.last_error = hp.LAST_ERROR_NO_CHIP
            self.start_after_ms = time.ticks_add(time.ticks_ms(), REJOIN_CHECK_MS)
            return
        if left_out:
            self.status.not_ready_events += 1
            self.status.last_error = hp.LAST_ERROR_NOT_READY
        self._rejoin_at = time.ticks_add(time.ticks_ms(), REJOIN_CHECK_MS)
        self._start_sm()

    # -- sets -----------------------------------------------------------------------------------
    def _drain(self):
        sm = self.sm
        while sm.rx_fifo() >= hx_pio.WORDS_PER_SET:
            words = (sm.get(), sm.get(), sm.get(), sm.get())
            stamp = _stamps[self._stamps_used & 7]
            self._stamps_used = (self._stamps_used + 1) & 0x3FFFFFFF
            t_us = self.ticks.extend(stamp)
            self._last_set_us = stamp
            if self.status.state == hp.STATE_STARTING:
                if time.ticks_diff(time.ticks_ms(), self._settled_at) < 0:
                    continue  # still settling after the power-up
                self.status.state = hp.STATE_RUNNING
            values, desync = hp.decode_words(words, self.extra)
            left_out = self.readiness.left_out
            values, last = hp.set_values(values, desync, left_out)
            self.status.note_set(desync, left_out, last)
            self.ring.append(t_us, values)

    def poll(self):
        cmd = hp.take_command(self.mem)
        if cmd == hp.CMD_START:
            self.start()
        elif cmd == hp.CMD_STOP:
            self._power_down()
        elif cmd == hp.CMD_CLEAR_COUNTERS:
            self.status.clear()
            self.ring.overflows = 0
        self.ring.ack(hp.take_ack(self.mem))
        state = self.status.state
        if state in (hp.STATE_STARTING, hp.STATE_RUNNING):
            self._drain()
            if time.ticks_diff(time.ticks_us(), self._last_set_us) > WATCH_PERIODS * self.period_us:
                self._watch()
            elif self.readiness.left_out and time.ticks_diff(time.ticks_ms(), self._rejoin_at) >= 0:
                self._rejoin_at = time.ticks_add(time.ticks_ms(), REJOIN_CHECK_MS)
                if self.readiness.rejoin(self._dout_levels()):
                    self.readiness.left_out = 0
                    self.status.not_ready_mask = 0
                    self._start_sm()
        elif state == hp.STATE_NO_CHIP and time.ticks_diff(time.ticks_ms(), self.start_after_ms) >= 0:
            self.start()
        self.status.pack(self._status_buf, self.ticks.extend(time.ticks_us()), self.ring, 0)
        if not _reading[0]:  # one copy, never in the middle of the Pi's read
            self.mem[hp.REG_STATUS:hp.REG_STATUS + hp.STATUS_SIZE] = self._status_buf


def main():
    front_end = FrontEnd()
    front_end.start()
    while True:
        front_end.poll()


if __name__ == "__main__":  # MicroPython runs main.py at boot as __main__; the host tests import it
    main()
