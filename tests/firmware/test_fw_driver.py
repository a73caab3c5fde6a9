"""The firmware's own ring, status and register memory (hxproto, as the board runs them) behind
the simulated I2C bus, read by the station's driver (station.hw.rp2040): the two sides of the
register map agree in practice, not only byte by byte."""

from __future__ import annotations

import struct

import hxproto as hp

from station.hw.rp2040 import RP2040FrontEnd
from station.sim.bus import SimDevice, SimulatedBus
from station.sim.clock import SimulatedClock


class FirmwareTarget(SimDevice):
    """The firmware's I2C target memory with its logic (commands, acknowledgements, status) as
    ``main.py`` drives it, minus the PIO: the test appends the sets."""

    name = "firmware"

    def __init__(self, clock) -> None:
        super().__init__()
        self.clock = clock
        self.mem = bytearray(hp.MEM_SIZE)
        hp.pack_identity(self.mem, hp.CHIP_HX711, 80, 128)
        self.ring = hp.Ring(self.mem)
        self.status = hp.Status(boot_id=0x1234)
        self.ticks = hp.TicksExtender(period=1 << 30)
        self._pointer = 0

    def _poll(self) -> None:  # what FrontEnd.poll does between the Pi's transfers
        cmd = hp.take_command(self.mem)
        if cmd == hp.CMD_START:
            self.ring.clear()
            self.status.state = hp.STATE_RUNNING
        self.ring.ack(hp.take_ack(self.mem))
        self.status.pack(self.mem, self.ticks.extend((self.clock.monotonic_ns() // 1000) % (1 << 30)), self.ring)

    def i2c_write(self, data: bytes, now_ns: int) -> None:
        self._pointer = data[0] << 8 | data[1]  # a read that follows starts here
        self.mem[self._pointer:self._pointer + len(data) - 2] = data[2:]
        self._poll()

    def i2c_read(self, length: int, now_ns: int) -> bytes:
        self._poll()
        return bytes(self.mem[self._pointer:self._pointer + length])

    def power_on_reset(self, now_ns: int) -> None:
        self.__init__(self.clock)


def _setup():
    clock = SimulatedClock(start_ns=5_000_000_000)
    bus = SimulatedBus(clock)
    target = FirmwareTarget(clock)
    bus.attach(target, 0x42)
    front_end = RP2040FrontEnd(bus, clock, address=0x42, rate_sps=80, gain=128, bus_name="sim-i2c")
    front_end.begin()
    return clock, target, front_end


def test_the_driver_reads_every_set_the_firmware_keeps_once_and_in_order():
    clock, target, front_end = _setup()
    got = []
    for frame in range(40):
        for k in range(3):
            n = target.ring.next_seq
            target.ring.append((clock.monotonic_ns() // 1000) + k * 100, [n, -n, 2 * n, hp.ERR_DESYNC if n == 7 else 5])
        clock.advance_ns(10_000_000)
        got += front_end.read_sets()
    assert [v[0] for _, v in got] == list(range(120))
    assert [v[1] for _, v in got][:3] == [0, -1, -2]
    assert got[7][1][3] is None and front_end.desync_values[3] == 1
    assert front_end.sets == 120 and front_end.sets_lost == 0 and front_end.crc_errors == 0
    # The Pi's acknowledgements reached the firmware: nothing is left buffered, nothing overflowed.
    assert target.ring.buffered == 0 and target.ring.overflows == 0
    assert struct.unpack_from("<I", target.mem, hp.REG_ACK)[0] == 120


def test_sets_the_ring_overwrote_before_the_pi_came_back_are_counted_lost():
    clock, target, front_end = _setup()
    for n in range(hp.RING_SLOTS + 30):
        target.ring.append(n * 12_500, [n, 0, 0, 0])
    got = front_end.read_sets()
    while True:
        more = front_end.read_sets()
        if not more:
            break
        got += more
    assert [v[0] for _, v in got] == list(range(30, hp.RING_SLOTS + 30))
    assert front_end.sets_lost_overflow == 30 and target.ring.overflows == 30
