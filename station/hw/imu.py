"""The IMU worn at the lower back: a common interface and detection by ``WHO_AM_I``.

Two chips are supported, :class:`station.hw.lsm6dsox.LSM6DSOX` (0x6A/0x6B, ``WHO_AM_I`` 0x0F =
0x6C) and :class:`station.hw.mpu6050.MPU6050` (0x68/0x69, ``WHO_AM_I`` 0x75 = 0x68). Both follow
the :class:`Imu` protocol: acceleration in m/s² (specific force, gravity included) and angular
rate in deg/s, in the sensor's axes (DESIGN.md §4).

For walking tests at high rate, :meth:`Imu.read_fifo` drains the chip's FIFO in one long burst
(``i2c_rdwr``; smbus2 block reads stop at 32 bytes) and reports overflow: samples were lost, the
acquisition must flag it.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import numpy as np

from station.hw.errors import ChipNotFoundError, ConfigurationError, WrongChipError, wiring_hint
from station.hw.i2c import as_retrying_bus


STANDARD_GRAVITY_M_S2 = 9.80665
"""Standard gravity, m/s² (converts the chips' g to m/s²)."""


class FifoRead(NamedTuple):
    """What one FIFO read returned.

    Attributes
    ----------
    samples : numpy.ndarray
        ``(n, 6)`` float array, oldest first: ax, ay, az in m/s², gx, gy, gz in deg/s.
    overflowed : bool
        The FIFO overflowed since the previous read: samples before these were lost.
    read_failed : bool
        The data transfer failed (see below).
    """

    samples: np.ndarray
    overflowed: bool
    read_failed: bool = False
    """The FIFO data transfer failed: what it held is lost (it was not retried: the chip may
    already have given the data out) and the FIFO was emptied to start again aligned;
    ``overflowed`` is then also true."""
    discarded: int = 0
    """Samples the FIFO held that were emptied unread (``discard_overflowed``, ``discard_over``):
    lost, counted in the driver's ``fifo_discarded_samples``."""
    level_read_ns: tuple[int, int] | None = None
    """When the FIFO's level was read, ``(start, end)`` of that transfer on the driver's clock, ns:
    the newest of ``samples`` was made by its end, the sample after it not before its start. That
    is the window that times the samples (:class:`station.acquire.chipclock.ChipClock`), not the
    end of the data read: reading the samples out takes about 0.3 ms of bus each (0.6-1.3 ms a
    frame at 208 Hz), and a window taken after it made every sample that much late."""


class ImuChip:
    """What the IMU drivers share: where the chip is, and the WHO_AM_I check.

    Subclasses set ``name``, ``WHO_AM_I`` (the register), ``WHO_AM_I_VALUE`` and ``LOOKALIKES``
    (WHO_AM_I values of related chips that are not supported), and ``bus``, ``address``,
    ``bus_name`` in their constructor.
    """

    name: str
    WHO_AM_I: int
    WHO_AM_I_VALUE: int
    LOOKALIKES: dict[int, str] = {}

    @property
    def location(self) -> str:
        return f"{self.bus_name} 0x{self.address:02x}"

    def probe(self) -> int:
        """Check ``WHO_AM_I``; returns it.

        Raises
        ------
        ChipNotFoundError
            Nothing answers at the address.
        WrongChipError
            Another chip answers (named when it is a known look-alike).
        """
        value = self.bus.probe_byte_data(self.address, self.WHO_AM_I)
        if value is None:
            raise ChipNotFoundError(
                f"{self.location}: no {self.name} answers (no ACK); {wiring_hint(self.bus_name)}",
                bus_name=self.bus_name,
                address=self.address,
                chip=self.name,
            )
        if value != self.WHO_AM_I_VALUE:
            lookalike = self.LOOKALIKES.get(value)
            seen = f" (looks like an {lookalike}, not supported)" if lookalike else ""
            raise WrongChipError(
                f"{self.location}: WHO_AM_I (0x{self.WHO_AM_I:02X}) reads 0x{value:02x}{seen}, an {self.name} reads "
                f"0x{self.WHO_AM_I_VALUE:02x}: another chip answers at this address; {wiring_hint(self.bus_name)}",
                bus_name=self.bus_name,
                address=self.address,
                chip=self.name,
                read_value=value,
            )
        return value


class Imu(Protocol):
    """What the acquisition uses of an IMU driver.

    Attributes
    ----------
    name : str
        Chip name (``"LSM6DSOX"``).
    address : int
        7-bit I2C address.
    rate_hz : float
        Output data rate actually configured by :meth:`begin`, Hz (the chip's nominal rate).
    fifo_failed_reads : int
        FIFO data transfers that failed (health's ``sensors.imu``). The drivers also count the
        overflows and the samples emptied unread (``fifo_overflow_count``, ``fifo_discarded_samples``);
        the acquisition counts those itself, from what :meth:`read_fifo` returns, and health says its
        counts only (``imu_fifo_overflows``, ``imu_samples_emptied``).
    """

    name: str
    address: int
    rate_hz: float
    fifo_failed_reads: int

    def begin(self, rate_hz: float, accel_range_g: int, gyro_range_dps: int, *, fifo: bool = False) -> None:
        """Reset and configure: the rate is rounded to one the chip has (the nearest at or above
        for the LSM6DSOX, the nearest divider for the MPU-6050); ranges must be ones it has."""
        ...

    def begin_steps(self, rate_hz: float, accel_range_g: int, gyro_range_dps: int, *, fifo: bool = False):
        """:meth:`begin` as steps (:mod:`station.hw.steps`), for recovery without blocking."""
        ...

    def data_ready(self) -> bool:
        """A new sample is in the output registers."""
        ...

    def read_sample(self) -> tuple[float, float, float, float, float, float]:
        """The newest sample in one burst: (ax, ay, az) m/s², (gx, gy, gz) deg/s."""
        ...

    def read_fifo(self, *, discard_overflowed: bool = False, discard_over: int | None = None) -> FifoRead:
        """Everything the FIFO holds (needs ``begin(..., fifo=True)``); with ``discard_overflowed``
        a FIFO that overflowed is emptied unread (``overflowed`` and no samples), with
        ``discard_over`` one that holds more than that many samples too (no samples,
        ``discarded`` says how many were emptied)."""
        ...

    def flush_fifo(self) -> None:
        """Empty the FIFO without reading it (a few register writes)."""
        ...

    def restart_fifo(self) -> None:
        """Empty the FIFO without reading it and clear its overflow status, for a stream of samples
        that starts now (what it held is counted neither as an overflow nor as discarded)."""
        ...


IMU_MODELS = ("lsm6dsox", "mpu6050")


def detect_imu(bus, clock, *, address: int | None = None, model: str = "auto", bus_name: str = "i2c-1") -> Imu:
    """Find the IMU by reading ``WHO_AM_I`` at the usual addresses; returns its driver (not begun).

    Parameters
    ----------
    bus
        smbus2-compatible bus.
    clock : station.clock.Clock
    address : int or None
        Only look there (``None``: 0x6A, 0x6B, then 0x68, 0x69).
    model : str
        ``"auto"``, ``"lsm6dsox"`` or ``"mpu6050"``.
    bus_name : str
        For messages.

    Raises
    ------
    ChipNotFoundError
        Nothing answered at any candidate address; the message lists what was tried.
    WrongChipError
        Something answered but its ``WHO_AM_I`` is not a supported IMU's; the message says what
        was read where.
    ConfigurationError
        Unknown ``model``.
    """
    from station.hw.lsm6dsox import LSM6DSOX
    from station.hw.mpu6050 import MPU6050

    drivers = {"lsm6dsox": LSM6DSOX, "mpu6050": MPU6050}
    if model == "auto":
        kinds = [LSM6DSOX, MPU6050]
    elif model in drivers:
        kinds = [drivers[model]]
    else:
        raise ConfigurationError(f"unknown IMU model {model!r}; choose auto, {', '.join(IMU_MODELS)}")
    candidates = []
    for kind in kinds:
        addresses = kind.ADDRESSES if address is None else (address,)
        if address is not None and model == "auto" and address not in kind.ADDRESSES:
            continue
        candidates.extend((kind, a) for a in addresses)
    if not candidates:
        raise ConfigurationError(
            f"no supported IMU uses address 0x{address:02x}: the LSM6DSOX is at 0x6A/0x6B, the MPU-6050 at 0x68/0x69"
        )
    rbus = as_retrying_bus(bus, clock, bus_name=bus_name)
    findings = []
    wrong_value = None
    for kind, addr in candidates:
        value = rbus.probe_byte_data(addr, kind.WHO_AM_I)
        if value is None:
            findings.append(f"nothing at 0x{addr:02x}")
            continue
        if value == kind.WHO_AM_I_VALUE:
            return kind(rbus, clock, address=addr, bus_name=bus_name)
        if wrong_value is None:
            wrong_value = (addr, value)
        lookalike = kind.LOOKALIKES.get(value)
        seen = f" (looks like an {lookalike}, not supported)" if lookalike else ""
        findings.append(
            f"0x{addr:02x}: WHO_AM_I (0x{kind.WHO_AM_I:02x}) reads 0x{value:02x}{seen}, an {kind.name} reads "
            f"0x{kind.WHO_AM_I_VALUE:02x}"
        )
    what = "IMU" if model == "auto" else drivers[model].name
    message = (
        f"{bus_name}: no {what} found ({'; '.join(findings)}); {wiring_hint(bus_name)}; if the station has "
        "no IMU, set imu model = \"none\" in the configuration"
    )
    if wrong_value is not None:
        raise WrongChipError(message, bus_name=bus_name, address=wrong_value[0], chip=what, read_value=wrong_value[1])
    raise ChipNotFoundError(message, bus_name=bus_name, address=candidates[0][1], chip=what)
