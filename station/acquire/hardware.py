"""Opening the station's hardware: the real I2C bus on the Pi (the simulated one is opened by the
composition roots through :mod:`station.sim.station`, with :func:`open_drivers` as here).

Either way the same drivers (:mod:`station.hw`) talk to the bus; only the bus object and what
stands on the plate differ (DESIGN.md §2: no test switches in production code).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from station.clock import Clock
from station.config import PlateConfig, StationConfig
from station.hw.errors import ChipNotFoundError, StationHardwareError, WrongChipError
from station.hw.i2c import RetryingBus
from station.hw.imu import detect_imu
from station.hw.plate import PlateFrontEnd
from station.hw.rp2040 import RP2040FrontEnd


class HardwareUnavailableError(StationHardwareError, RuntimeError):
    """The station's hardware cannot be opened; the message says what to check."""


@dataclass
class StationHardware:
    """The opened bus and drivers (plus the simulation behind them, when simulated)."""

    clock: Clock
    bus: RetryingBus
    plate: PlateFrontEnd | RP2040FrontEnd
    imu: object | None
    simulation: object | None = None
    raw_bus: object | None = None
    imu_error: str | None = None
    """Why the IMU that answers could not be brought up (a fault the acquisition retries)."""
    imu_absent_reason: str | None = None
    """Why there is no IMU (``imu`` is None): nothing answers at its addresses, or none configured."""

    def bus_errors(self) -> int:
        return self.bus.errors_total

    def close(self) -> None:
        close = getattr(self.raw_bus, "close", None)
        if close is not None:
            close()


def open_plate(bus: RetryingBus, clock: Clock, plate_cfg: PlateConfig, *, bus_name: str):
    """The plate's front end chosen by ``plate.front_end`` (not yet brought up): four NAU7802
    behind the TCA9548A, or the RP2040 reading four HX711/HX717 (``firmware/rp2040``)."""
    if plate_cfg.front_end == "rp2040":
        return RP2040FrontEnd(bus, clock, address=plate_cfg.rp2040_address, rate_sps=plate_cfg.adc_rate_sps,
                              gain=plate_cfg.adc_gain, bus_name=bus_name)
    return PlateFrontEnd(
        bus,
        clock,
        mux_address=plate_cfg.mux_address,
        channels=plate_cfg.mux_channels,
        rate_sps=plate_cfg.adc_rate_sps,
        gain=plate_cfg.adc_gain,
        bus_name=bus_name,
    )


def open_drivers(raw_bus, clock: Clock, config: StationConfig, *, bus_name: str) -> tuple[RetryingBus, PlateFrontEnd | RP2040FrontEnd, object | None, str | None, str | None]:
    """Wrap ``raw_bus`` with retries, bring up the plate and (if configured) the IMU.

    Returns ``(bus, plate, imu, imu_error, imu_absent_reason)``. Only a missing chip is absent:
    with ``imu.model = "auto"`` nothing answering at the IMU addresses (or only chips that are not
    a supported IMU) means the station has no IMU (``imu`` None, the reason in
    ``imu_absent_reason``). An IMU that answers but cannot be brought up (a range it does not
    support, a reset that does not finish, registers that do not read back) is returned with
    the reason in ``imu_error``: a fault, shown in health and retried by the acquisition. With a
    model named in the configuration, not finding it is an error.
    """
    bus = RetryingBus(raw_bus, clock, bus_name=bus_name)
    plate = open_plate(bus, clock, config.plate, bus_name=bus_name)
    plate.begin()
    imu = None
    imu_error = None
    absent = None
    imu_cfg = config.imu
    if imu_cfg.model == "none":
        absent = "no IMU configured (imu model = \"none\")"
    else:
        try:
            imu = detect_imu(bus, clock, address=imu_cfg.address, model=imu_cfg.model)
        except (ChipNotFoundError, WrongChipError) as exc:
            if imu_cfg.model != "auto":
                raise
            absent = str(exc)
        if imu is not None:
            try:
                imu.begin(imu_cfg.rate_hz, imu_cfg.accel_range_g, imu_cfg.gyro_range_dps, fifo=True)
            except StationHardwareError as exc:
                imu_error = str(exc)
    return bus, plate, imu, imu_error, absent


def lock_bus(raw_bus, device: str) -> None:
    """Take an exclusive advisory lock on the bus's device file, so that one process owns the bus
    (DESIGN.md §3): a second station, or ``calibrate``/``doctor``/``record`` while the service runs,
    is refused instead of interleaving transactions with it. Released when the bus is closed."""
    import fcntl

    try:
        fcntl.flock(raw_bus.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise HardwareUnavailableError(
            f"{device} is in use by another process (the station service?): stop it first "
            "(sudo systemctl stop balance-station), then try again"
        ) from None


def open_real_hardware(config: StationConfig, clock: Clock) -> StationHardware:
    """Open ``/dev/i2c-N`` with smbus2 and bring the chips up."""
    import smbus2

    number = config.acquisition.bus
    try:
        raw = smbus2.SMBus(number)
    except FileNotFoundError:
        raise HardwareUnavailableError(
            f"I2C bus {number} (/dev/i2c-{number}) does not exist: enable I2C "
            "(sudo raspi-config → Interface Options → I2C, or the boot fragment in firmware/boot/), "
            "or run with --simulate"
        ) from None
    except PermissionError:
        raise HardwareUnavailableError(
            f"no permission to open /dev/i2c-{number}: add this user to the i2c group "
            "(sudo adduser $USER i2c, then log in again)"
        ) from None
    except OSError as exc:
        raise HardwareUnavailableError(f"cannot open /dev/i2c-{number}: {errno.errorcode.get(exc.errno, exc)}") from None
    try:
        lock_bus(raw, f"/dev/i2c-{number}")
        bus, plate, imu, imu_error, absent = open_drivers(raw, clock, config, bus_name=f"i2c-{number}")
    except BaseException:
        raw.close()
        raise
    return StationHardware(clock=clock, bus=bus, plate=plate, imu=imu, raw_bus=raw, imu_error=imu_error,
                           imu_absent_reason=absent)
