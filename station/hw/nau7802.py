"""Driver for the Nuvoton NAU7802 24-bit bridge-sensor ADC (datasheet rev 1.7).

Bring-up follows the datasheet's power-on sequence (§9.1): register reset (``RR``), power up
digital and analog (``PUD``, ``PUA``), wait for power-up ready (``PUR``, about 200 µs; bounded),
select the internal LDO voltage and ``AVDDS``, set gain and conversion rate, turn off the ADC
clock chopper (``REG_CHPS`` = 11 in register 0x15, as §9.1 asks), enable the PGA output bypass
capacitor (``PGA_CAP_EN`` in register 0x1C, for the application circuit with channel 2 unused),
start conversions (``CS``), let the LDO settle, then run the internal offset calibration
(``CALMOD`` = 00, ``CALS``) and check ``CAL_ERR`` (retried once, as §8.6.3 recommends).

Every configuration register is read back after writing; a mismatch is rewritten (corrupted
transfers happen on long cables) and raises :class:`~station.hw.errors.RegisterVerifyError` if it
persists.

Reading: :meth:`NAU7802.read_if_ready` polls ``CR`` in ``PU_CTRL`` and, when set, reads the three
result bytes 0x12–0x14 (MSB first) in ONE transaction, so the bytes always belong to the same
conversion, then sign-extends the 24-bit two's-complement value. The same status read tells
whether the chip lost power (its power bits are clear): that raises
:class:`~station.hw.errors.ChipResetError` so the caller re-initialises it.
"""

from __future__ import annotations

from station.hw.errors import (
    CalibrationError,
    ChipNotFoundError,
    ChipResetError,
    ChipTimeoutError,
    ConfigurationError,
    WrongChipError,
    wiring_hint,
)
from station.hw.i2c import as_retrying_bus, write_verified

NAU7802_ADDRESS = 0x2A

# Registers (datasheet names).
PU_CTRL = 0x00
CTRL1 = 0x01
CTRL2 = 0x02
OCAL1_B2 = 0x03
I2C_CONTROL = 0x11
ADCO_B2 = 0x12
ADCO_B1 = 0x13
ADCO_B0 = 0x14
ADC = 0x15
PGA = 0x1B
PWR_CTRL = 0x1C
DEVICE_REV = 0x1F

# PU_CTRL bits.
PU_CTRL_RR = 0x01
PU_CTRL_PUD = 0x02
PU_CTRL_PUA = 0x04
PU_CTRL_PUR = 0x08
PU_CTRL_CS = 0x10
PU_CTRL_CR = 0x20
PU_CTRL_OSCS = 0x40
PU_CTRL_AVDDS = 0x80
PU_CTRL_WRITABLE = 0xD7  # PUR and CR are read-only
# CTRL2 bits.
CTRL2_CALMOD_MASK = 0x03
CTRL2_CALS = 0x04
CTRL2_CAL_ERR = 0x08
CTRL2_CRS_SHIFT = 4
CTRL2_WRITABLE = 0xF3  # CALS is an action bit, CAL_ERR read-only
# ADC (0x15) bits: REG_CHPS (5:4) = 11 turns the clock chopper off.
ADC_REG_CHPS_MASK = 0x30
ADC_REG_CHPS_OFF = 0x30
# PWR_CTRL (0x1C) bits.
PWR_CTRL_PGA_CAP_EN = 0x80
DEVICE_REV_ID_MASK = 0x0F
DEVICE_REV_ID = 0x0F

RATE_CODES = {10: 0b000, 20: 0b001, 40: 0b010, 80: 0b011, 320: 0b111}
"""``CRS`` code by conversion rate, SPS."""
GAIN_CODES = {1: 0, 2: 1, 4: 2, 8: 3, 16: 4, 32: 5, 64: 6, 128: 7}
"""``GAINS`` code by PGA gain."""
LDO_CODES = {4.5: 0, 4.2: 1, 3.9: 2, 3.6: 3, 3.3: 4, 3.0: 5, 2.7: 6, 2.4: 7}
"""``VLDO`` code by LDO voltage, V (AVDD must stay 0.3 V below DVDD: 3.0 V on a 3.3 V Pi)."""

FULL_SCALE_COUNTS = (1 << 23) - 1
"""Largest conversion result; the smallest is ``-(1 << 23)``."""
MIN_COUNTS = -(1 << 23)

PUR_TIMEOUT_NS = 10_000_000
"""Bound on the wait for ``PUR`` (the datasheet's typical is about 200 µs)."""
PUR_POLL_NS = 100_000
LDO_SETTLE_NS = 250_000_000
"""Wait between enabling the LDO and calibrating (the LDO ramps for about 200 ms, SparkFun's
measurement; their driver waits 250 ms)."""
CALIBRATION_TIMEOUT_PERIODS = 60
"""Calibration timeout in conversion periods (a calibration takes about 27.5); at least 1 s."""


class NAU7802:
    """One NAU7802.

    Parameters
    ----------
    bus
        smbus2-compatible bus (wrapped in a :class:`~station.hw.i2c.RetryingBus` if not one).
    clock : station.clock.Clock
        For the bounded waits (power-up, LDO, calibration).
    address : int
        Always 0x2A for this chip; several need a TCA9548A (:mod:`station.hw.tca9548a`).
    bus_name : str
        For messages (``"i2c-1"``).
    where : str
        Where the chip is, for messages (``"corner fl, mux 0x70 channel 0"``).

    Attributes
    ----------
    rate_sps, gain, ldo_v
        The configuration set by :meth:`configure` (``None`` before).
    register_rewrites : int
        Configuration writes that did not read back and were written again.
    calibration_retries : int
        Calibrations repeated after ``CAL_ERR``.
    """

    def __init__(self, bus, clock, *, address: int = NAU7802_ADDRESS, bus_name: str = "i2c-1", where: str = "") -> None:
        self.bus = as_retrying_bus(bus, clock, bus_name=bus_name)
        self._clock = clock
        self.address = address
        self.bus_name = bus_name
        self.where = where
        self.rate_sps: int | None = None
        self.gain: int | None = None
        self.ldo_v: float | None = None
        self._ctrl1 = 0
        self._ctrl2 = 0
        self._running_mask = PU_CTRL_PUD | PU_CTRL_PUA | PU_CTRL_PUR | PU_CTRL_CS
        self.register_rewrites = 0
        self.calibration_retries = 0

    # ------------------------------------------------------------------ description
    @property
    def location(self) -> str:
        """``"i2c-1 0x2a (corner fl, mux 0x70 channel 0)"``."""
        place = f"{self.bus_name} 0x{self.address:02x}"
        return f"{place} ({self.where})" if self.where else place

    @property
    def conversion_period_ns(self) -> int:
        """Nominal conversion period at the configured rate, ns."""
        if self.rate_sps is None:
            raise ConfigurationError(f"{self.location}: NAU7802 not configured yet; call configure() or begin()")
        return 1_000_000_000 // self.rate_sps

    # ------------------------------------------------------------------ bring-up
    def probe(self) -> int:
        """Check that a NAU7802 answers; returns ``DEVICE_REV``.

        Raises
        ------
        ChipNotFoundError
            Nothing acknowledges the address.
        WrongChipError
            ``DEVICE_REV`` does not hold the NAU7802 revision ID (0xF in its low nibble).
        """
        value = self.bus.probe_byte_data(self.address, DEVICE_REV)
        if value is None:
            raise ChipNotFoundError(
                f"{self.location}: no NAU7802 answers (no ACK); {wiring_hint(self.bus_name)}",
                bus_name=self.bus_name,
                address=self.address,
                chip="NAU7802",
            )
        if value & DEVICE_REV_ID_MASK != DEVICE_REV_ID:
            raise WrongChipError(
                f"{self.location}: DEVICE_REV (0x1F) reads 0x{value:02x}, but a NAU7802 reads 0xF in its low "
                f"nibble: another chip answers at this address or the transfer was corrupted; {wiring_hint(self.bus_name)}",
                bus_name=self.bus_name,
                address=self.address,
                chip="NAU7802",
                read_value=value,
            )
        return value

    def configure(self, *, rate_sps: int = 80, gain: int = 128, ldo_v: float = 3.0, pur_timeout_ns: int = PUR_TIMEOUT_NS) -> None:
        """Reset, power up and configure the chip, and start conversions (no calibration).

        Parameters
        ----------
        rate_sps : int
            10, 20, 40, 80 or 320 conversions per second.
        gain : int
            PGA gain 1, 2, 4, ..., 128.
        ldo_v : float
            Internal LDO voltage (AVDD, also the load cells' excitation), V: 2.4 to 4.5 in 0.3 V
            steps; keep it at least 0.3 V below the chip's DVDD.
        pur_timeout_ns : int
            Bound on the wait for power-up ready.

        Raises
        ------
        ConfigurationError, ChipNotFoundError, WrongChipError, ChipTimeoutError,
        RegisterVerifyError, BusError
        """
        _lookup(RATE_CODES, rate_sps, "conversion rate", "SPS")
        _lookup(GAIN_CODES, gain, "gain", "")
        _lookup(LDO_CODES, round(float(ldo_v), 1), "LDO voltage", "V")
        self.reset_and_power_up()
        self._wait_power_up_ready(pur_timeout_ns)
        self.write_configuration(rate_sps=rate_sps, gain=gain, ldo_v=ldo_v)

    def reset_and_power_up(self) -> None:
        """First step of :meth:`configure`: check the chip, reset its registers (``RR``) and power
        it up (``PUD``, ``PUA``); ``PUR`` follows about 200 µs later (:meth:`power_up_ready`)."""
        self.probe()
        bus, address = self.bus, self.address
        bus.write_byte_data(address, PU_CTRL, PU_CTRL_RR)
        bus.write_byte_data(address, PU_CTRL, PU_CTRL_PUD | PU_CTRL_PUA)

    def power_up_ready(self) -> bool:
        """``PUR``: the chip finished powering up after :meth:`reset_and_power_up`."""
        return bool(self.bus.read_byte_data(self.address, PU_CTRL) & PU_CTRL_PUR)

    def write_configuration(self, *, rate_sps: int = 80, gain: int = 128, ldo_v: float = 3.0) -> None:
        """Last step of :meth:`configure` (after ``PUR``): LDO, gain, rate, chopper, PGA capacitor,
        start conversions; every register read back. About 14 transactions."""
        rate_code = _lookup(RATE_CODES, rate_sps, "conversion rate", "SPS")
        gain_code = _lookup(GAIN_CODES, gain, "gain", "")
        ldo_code = _lookup(LDO_CODES, round(float(ldo_v), 1), "LDO voltage", "V")
        bus, address = self.bus, self.address
        ctrl1 = (ldo_code << 3) | gain_code
        self._write_verified(CTRL1, ctrl1, 0xFF, "CTRL1")
        self._write_verified(PU_CTRL, PU_CTRL_PUD | PU_CTRL_PUA | PU_CTRL_AVDDS, PU_CTRL_WRITABLE, "PU_CTRL")
        ctrl2 = rate_code << CTRL2_CRS_SHIFT
        self._write_verified(CTRL2, ctrl2, CTRL2_WRITABLE, "CTRL2")
        adc = bus.read_byte_data(address, ADC)
        self._write_verified(ADC, (adc & ~ADC_REG_CHPS_MASK & 0xFF) | ADC_REG_CHPS_OFF, 0xFF, "ADC")
        pwr = bus.read_byte_data(address, PWR_CTRL)
        self._write_verified(PWR_CTRL, pwr | PWR_CTRL_PGA_CAP_EN, 0xFF, "PWR_CTRL")
        running = PU_CTRL_PUD | PU_CTRL_PUA | PU_CTRL_AVDDS | PU_CTRL_CS
        self._write_verified(PU_CTRL, running, PU_CTRL_WRITABLE, "PU_CTRL")
        self._ctrl1 = ctrl1
        self._ctrl2 = ctrl2
        self._running_mask = running | PU_CTRL_PUR
        self.rate_sps = rate_sps
        self.gain = gain
        self.ldo_v = round(float(ldo_v), 1)

    def _wait_power_up_ready(self, timeout_ns: int) -> None:
        clock = self._clock
        deadline = clock.monotonic_ns() + timeout_ns
        while True:
            status = self.bus.read_byte_data(self.address, PU_CTRL)
            if status & PU_CTRL_PUR:
                return
            if clock.monotonic_ns() >= deadline:
                raise self.power_up_timeout(timeout_ns, status)
            clock.sleep_ns(PUR_POLL_NS)

    def power_up_timeout(self, timeout_ns: int, status: int | None = None) -> ChipTimeoutError:
        """The error of a chip that never reported ``PUR``."""
        seen = "" if status is None else f" (PU_CTRL = 0x{status:02x})"
        return ChipTimeoutError(
            f"{self.location}: the NAU7802 did not report power-up ready (PUR) within "
            f"{timeout_ns / 1e6:g} ms of PUD and PUA being set{seen}; check its "
            "supply (DVDD 2.7–5.5 V) and decoupling capacitors"
        )

    def _write_verified(self, register: int, value: int, mask: int, name: str) -> None:
        self.register_rewrites += write_verified(
            self.bus, self.address, register, value, name=name, where=self.location, mask=mask
        )

    def start_calibration(self) -> None:
        """Start the internal offset calibration (``CALMOD`` = 00, ``CALS`` = 1)."""
        self.bus.write_byte_data(self.address, CTRL2, (self._ctrl2 & ~CTRL2_CALMOD_MASK) | CTRL2_CALS)

    def calibration_state(self) -> str:
        """``"busy"`` while ``CALS`` reads 1, then ``"error"`` if ``CAL_ERR`` is set, else ``"done"``."""
        ctrl2 = self.bus.read_byte_data(self.address, CTRL2)
        if ctrl2 & CTRL2_CALS:
            return "busy"
        return "error" if ctrl2 & CTRL2_CAL_ERR else "done"

    def calibration_timeout_ns(self) -> int:
        """Bound on one calibration at the configured rate, ns."""
        return max(1_000_000_000, CALIBRATION_TIMEOUT_PERIODS * self.conversion_period_ns)

    def calibrate(self, *, attempts: int = 2) -> None:
        """Run the internal offset calibration, waiting for it; repeat it after ``CAL_ERR``.

        Raises
        ------
        CalibrationError
            ``CAL_ERR`` after every attempt.
        ChipTimeoutError
            ``CALS`` still set after :meth:`calibration_timeout_ns`.
        """
        clock = self._clock
        poll_ns = max(self.conversion_period_ns // 2, 500_000)
        for attempt in range(1, attempts + 1):
            self.start_calibration()
            deadline = clock.monotonic_ns() + self.calibration_timeout_ns()
            while True:
                clock.sleep_ns(poll_ns)
                state = self.calibration_state()
                if state != "busy":
                    break
                if clock.monotonic_ns() >= deadline:
                    raise ChipTimeoutError(
                        f"{self.location}: the NAU7802 internal calibration did not finish within "
                        f"{self.calibration_timeout_ns() / 1e6:g} ms (CALS still set); check the chip's supply"
                    )
            if state == "done":
                return
            if attempt < attempts:
                self.calibration_retries += 1
        raise CalibrationError(
            f"{self.location}: the NAU7802 internal offset calibration failed (CAL_ERR = 1) {attempts} times; "
            "check the load cell wiring (an open or shorted bridge input) and the excitation voltage"
        )

    def begin(self, *, rate_sps: int = 80, gain: int = 128, ldo_v: float = 3.0, ldo_settle_ns: int = LDO_SETTLE_NS, calibrate: bool = True) -> None:
        """Full bring-up of one chip: :meth:`configure`, wait for the LDO, :meth:`calibrate`.

        The plate brings four chips up in stages instead (:class:`station.hw.plate.PlateFrontEnd`),
        so that the LDO wait and the calibrations overlap.
        """
        self.configure(rate_sps=rate_sps, gain=gain, ldo_v=ldo_v)
        if ldo_settle_ns > 0:
            self._clock.sleep_ns(ldo_settle_ns)
        if calibrate:
            self.calibrate()

    def is_configured(self) -> bool:
        """True when the chip still runs with this driver's configuration (powered, converting,
        same ``CTRL1`` and rate): used to tell a transient fault from a chip that was reset."""
        if self.rate_sps is None:
            return False
        status = self.bus.read_byte_data(self.address, PU_CTRL)
        if status & self._running_mask != self._running_mask:
            return False
        if self.bus.read_byte_data(self.address, CTRL1) != self._ctrl1:
            return False
        return self.bus.read_byte_data(self.address, CTRL2) & CTRL2_WRITABLE == self._ctrl2

    # ------------------------------------------------------------------ reading
    def read_if_ready(self) -> int | None:
        """The newest conversion as a signed count, or ``None`` if none completed since the last
        read (``CR`` clear). Hot path: two transactions when ready, one when not.

        Raises
        ------
        ChipResetError
            The chip's power bits are clear: it lost power or was reset; bring it up again.
        BusError
        """
        bus, address = self.bus, self.address
        status = bus.read_byte_data(address, PU_CTRL)
        if status & self._running_mask != self._running_mask:
            raise ChipResetError(
                f"{self.location}: the NAU7802 is not running (PU_CTRL = 0x{status:02x}): it lost power or was "
                "reset and must be brought up again; check its supply and connector"
            )
        if not status & PU_CTRL_CR:
            return None
        b = bus.read_i2c_block_data(address, ADCO_B2, 3)
        value = (b[0] << 16) | (b[1] << 8) | b[2]
        return value - 0x1000000 if value & 0x800000 else value

    def read_raw(self) -> int:
        """The result register as a signed count, without checking ``CR`` (one transaction)."""
        b = self.bus.read_i2c_block_data(self.address, ADCO_B2, 3)
        value = (b[0] << 16) | (b[1] << 8) | b[2]
        return value - 0x1000000 if value & 0x800000 else value

    def data_ready(self) -> bool:
        """``CR``: a conversion completed since the result was last read."""
        return bool(self.bus.read_byte_data(self.address, PU_CTRL) & PU_CTRL_CR)


def _lookup(table: dict, value, what: str, unit: str):
    try:
        return table[value]
    except (KeyError, TypeError):
        allowed = ", ".join(f"{k:g}" for k in table)
        raise ConfigurationError(
            f"NAU7802 {what} {value!r}{(' ' + unit) if unit else ''} is not available; choose one of {allowed}"
        ) from None
