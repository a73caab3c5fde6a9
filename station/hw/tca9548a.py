"""Driver for the TCA9548A 1-to-8 I2C multiplexer (TI datasheet SCPS207).

Four NAU7802 load-cell ADCs share the fixed address 0x2A, so each sits on its own downstream
channel; selecting channel ``n`` is one byte, ``1 << n``, written to the mux's control register
(there is no register pointer). Address 0x70–0x77 (A2..A0 pins).
"""

from __future__ import annotations

from station.hw.errors import ChipNotFoundError, ConfigurationError, WrongChipError, wiring_hint
from station.hw.i2c import as_retrying_bus

TCA9548A_ADDRESSES = range(0x70, 0x78)
TCA9548A_CHANNELS = 8


class TCA9548A:
    """One TCA9548A.

    Parameters
    ----------
    bus
        smbus2-compatible bus (wrapped in a :class:`~station.hw.i2c.RetryingBus` if it is not one).
    clock : station.clock.Clock
    address : int
        0x70..0x77.
    bus_name : str
        For messages.
    """

    def __init__(self, bus, clock, *, address: int = 0x70, bus_name: str = "i2c-1") -> None:
        if address not in TCA9548A_ADDRESSES:
            raise ConfigurationError(f"TCA9548A address must be 0x70..0x77, got 0x{address:02x}")
        self.bus = as_retrying_bus(bus, clock, bus_name=bus_name)
        self.address = address
        self.bus_name = bus_name
        self._select_bytes = tuple(1 << n for n in range(TCA9548A_CHANNELS))

    def begin(self) -> None:
        """Check the mux is there and disconnect every channel.

        Raises
        ------
        ChipNotFoundError
            Nothing acknowledges the address.
        WrongChipError
            The control register does not read back 0x00 after writing it (not a TCA9548A, or
            corrupted transfers).
        """
        if self.bus.probe_byte(self.address) is None:
            raise ChipNotFoundError(
                f"{self.bus_name}: no TCA9548A I2C mux answers at 0x{self.address:02x} (no ACK); "
                f"{wiring_hint(self.bus_name)}; check the mux address pins A2..A0 too",
                bus_name=self.bus_name,
                address=self.address,
                chip="TCA9548A",
            )
        self.bus.write_byte(self.address, 0x00)
        value = self.bus.read_byte(self.address)
        if value != 0x00:
            raise WrongChipError(
                f"{self.bus_name}: the device at 0x{self.address:02x} read back 0x{value:02x} after 0x00 was "
                "written to it, but a TCA9548A control register reads back what was written; check "
                f"that the mux address pins select 0x{self.address:02x} and that no other chip uses it",
                bus_name=self.bus_name,
                address=self.address,
                chip="TCA9548A",
                read_value=value,
            )

    def select(self, channel: int) -> None:
        """Connect downstream ``channel`` (0..7) only (one byte on the bus)."""
        self.bus.write_byte(self.address, self._select_bytes[channel])

    def select_mask(self, mask: int) -> None:
        """Set the control register to ``mask`` (bit n = channel n)."""
        self.bus.write_byte(self.address, mask & 0xFF)

    def disable_all(self) -> None:
        """Disconnect every downstream channel."""
        self.bus.write_byte(self.address, 0x00)

    def read_control(self) -> int:
        """The control register (which channels are connected)."""
        return self.bus.read_byte(self.address)
