"""The TCA9548A driver: presence check, channel selection, clear errors."""

from __future__ import annotations

import pytest

from station.hw.errors import ChipNotFoundError, ConfigurationError, WrongChipError
from station.hw.tca9548a import TCA9548A
from station.sim.bus import SimulatedBus
from station.sim.nau7802_model import NAU7802Model


def test_select_writes_one_bit_per_channel(hw, rbus, clock):
    mux = TCA9548A(rbus, clock, address=0x70)
    mux.begin()
    trace = hw.bus.start_trace()
    for channel in range(8):
        mux.select(channel)
        assert hw.mux.control == 1 << channel
    assert all(entry[2] == "write_byte" and entry[3] == bytes([1 << i]) for i, entry in enumerate(trace))
    mux.select_mask(0x05)
    assert mux.read_control() == 0x05
    mux.disable_all()
    assert hw.mux.control == 0


def test_missing_mux(hw, rbus, clock):
    with pytest.raises(ChipNotFoundError) as info:
        TCA9548A(rbus, clock, address=0x74).begin()
    assert "0x74" in str(info.value) and "check your wiring" in str(info.value)


def test_something_else_at_the_mux_address(clock):
    bus = SimulatedBus(clock)
    bus.attach(NAU7802Model("x", lambda t, v: 0.0, seed=1), 0x70)  # reads back its register 0x00
    bus.write_byte_data(0x70, 0x00, 0x06)  # powered: PU_CTRL reads non-zero
    with pytest.raises(WrongChipError) as info:
        TCA9548A(bus, clock).begin()
    assert "read back 0x" in str(info.value)


def test_address_range():
    with pytest.raises(ConfigurationError):
        TCA9548A(None, None, address=0x60)
