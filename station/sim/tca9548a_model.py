"""Register-level model of the TCA9548A 1-to-8 I2C multiplexer (TI datasheet SCPS207).

The chip has a single 8-bit control register and no register pointer: a write sets it (bit n
enables downstream channel n; if several bytes are written the last one is kept), a read returns
it. Several channels may be enabled at once. Power-on reset value 0x00: every channel
disconnected. Devices attached to a channel answer on the upstream bus only while their channel
is enabled (routing is done by :class:`station.sim.bus.SimulatedBus`).
"""

from __future__ import annotations

from station.sim.bus import SimDevice, _check_address

TCA9548A_CHANNELS = 8


class TCA9548AModel(SimDevice):
    """The mux model. Attach it to the bus with :meth:`SimulatedBus.attach`, then put devices on
    its channels with :meth:`attach`.

    Attributes
    ----------
    control : int
        The control register (bit n = channel n enabled).
    writes : int
        Control-register writes received (lets tests count mux selects).
    """

    name = "TCA9548A"

    def __init__(self, name: str = "TCA9548A") -> None:
        super().__init__()
        self.name = name
        self.control = 0x00
        self.writes = 0
        self._downstream: list[dict[int, SimDevice]] = [{} for _ in range(TCA9548A_CHANNELS)]
        self._bus = None

    def attach(self, channel: int, device: SimDevice, address: int) -> SimDevice:
        """Put ``device`` at ``address`` on downstream ``channel`` (0..7); returns it."""
        if not 0 <= channel < TCA9548A_CHANNELS:
            raise ValueError(f"TCA9548A channel must be 0..7, got {channel}")
        _check_address(address)
        if address in self._downstream[channel]:
            raise ValueError(f"channel {channel} already has a device at 0x{address:02x}")
        self._downstream[channel][address] = device
        if self._bus is not None:
            self._bus._register(device)
            self._bus.invalidate_routes()
        return device

    def routed_devices(self, address: int) -> list[SimDevice]:
        """Present devices at ``address`` on the channels the control register enables."""
        found = []
        control = self.control
        for channel in range(TCA9548A_CHANNELS):
            if control & (1 << channel):
                device = self._downstream[channel].get(address)
                if device is not None and device.faults.present:
                    found.append(device)
        return found

    def i2c_write(self, data: bytes, now_ns: int) -> None:
        if not data:
            return
        self.writes += 1
        if data[-1] != self.control:
            self.control = data[-1]
            if self._bus is not None:
                self._bus.mux_changed()

    def i2c_read(self, length: int, now_ns: int) -> bytes:
        return bytes((self.control,)) * length

    def power_on_reset(self, now_ns: int) -> None:
        self.control = 0x00
        if self._bus is not None:
            self._bus.mux_changed()
