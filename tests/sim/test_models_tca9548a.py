"""The TCA9548A model: one control register, last byte wins, power-on reset disconnects all."""

from __future__ import annotations

from smbus2 import i2c_msg

from station.sim.bus import SimulatedBus
from station.sim.clock import SimulatedClock
from station.sim.tca9548a_model import TCA9548AModel


def test_control_register_reads_back_and_keeps_the_last_byte_written():
    clock = SimulatedClock()
    bus = SimulatedBus(clock)
    mux = bus.attach(TCA9548AModel(), 0x71)
    assert bus.read_byte(0x71) == 0x00
    bus.write_byte(0x71, 0x84)
    assert bus.read_byte(0x71) == 0x84
    bus.i2c_rdwr(i2c_msg.write(0x71, [0x01, 0x02, 0x08]))
    assert mux.control == 0x08
    bus.vanish(mux)
    bus.reappear(mux)
    assert bus.read_byte(0x71) == 0x00
