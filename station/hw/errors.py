"""Errors raised by the chip drivers: what happened, on which bus and address, what to check.

Every class subclasses both :class:`StationHardwareError` (so callers can catch "anything the
hardware layer raises") and the builtin that describes the failure (gpiozero style), e.g.
:class:`BusError` is also an :class:`OSError` carrying the errno of the failed transfer, so code
that only knows smbus2 (whose errors are plain ``OSError``) still handles it.

Messages are one line, name the bus (``i2c-1``), the 7-bit address (``0x2a``), what was read and
what to check, so they can be shown to a user as they are.
"""

from __future__ import annotations

import errno as _errno

ERRNO_MEANING = {
    _errno.EREMOTEIO: "no ACK: nothing answered at that address",
    _errno.EIO: "I/O error on the bus",
    _errno.ETIMEDOUT: "bus timeout",
    _errno.ENXIO: "no such device or address",
    _errno.EOPNOTSUPP: "transfer not supported by the I2C controller",
    _errno.ENOENT: "I2C bus device file not found",
    _errno.EACCES: "permission denied on the I2C bus device",
}
"""Plain words for the errno values an I2C transfer reports on Linux (DESIGN.md §6)."""


def wiring_hint(bus_name: str) -> str:
    """What to check when a chip does not answer on ``bus_name`` (e.g. ``"i2c-1"``)."""
    number = bus_name.rsplit("-", 1)[-1] if "-" in bus_name else bus_name
    return (
        "check your wiring (SDA, SCL, 3.3 V and GND), the pull-up resistors and the connector; "
        f"`i2cdetect -y {number}` should list the address"
    )


def errno_meaning(code: int | None) -> str:
    """Plain words for an errno value, or ``"errno N"`` when it is not an I2C one."""
    if code is None:
        return "unknown error"
    return ERRNO_MEANING.get(code, f"errno {code}")


class StationHardwareError(Exception):
    """Base class of every error raised by :mod:`station.hw`."""


class BusError(StationHardwareError, OSError):
    """An I2C transfer failed for good: a persistent error, or a transient one (errno 121, 5,
    110, 6) that outlasted the bounded retries.

    Attributes
    ----------
    errno : int
        The errno of the last failed attempt (``OSError`` semantics).
    bus_name, address, operation, attempts, hint
        Which bus, which 7-bit address, which smbus2 call, how many attempts were made, and what
        to check.
    """

    def __init__(
        self,
        message: str,
        *,
        errno_code: int | None,
        bus_name: str,
        address: int,
        operation: str,
        attempts: int,
        hint: str,
    ) -> None:
        OSError.__init__(self, errno_code, message)
        self.bus_name = bus_name
        self.address = address
        self.operation = operation
        self.attempts = attempts
        self.hint = hint

    def __str__(self) -> str:
        return str(self.strerror)


class ChipNotFoundError(StationHardwareError, LookupError):
    """No chip of the expected kind answers at the address.

    Attributes
    ----------
    bus_name, address : str, int
        Where the chip was looked for.
    chip : str
        The chip that was expected (``"NAU7802"``).
    read_value : int or None
        What was read from the identification register, ``None`` if nothing answered.
    """

    def __init__(self, message: str, *, bus_name: str, address: int, chip: str, read_value: int | None = None) -> None:
        super().__init__(message)
        self.bus_name = bus_name
        self.address = address
        self.chip = chip
        self.read_value = read_value


class WrongChipError(ChipNotFoundError):
    """Something answers at the address, but its identification register holds the wrong value."""


class ChipTimeoutError(StationHardwareError, TimeoutError):
    """A chip did not reach an expected state in time (power-up ready, calibration done, reset)."""


class CalibrationError(StationHardwareError, RuntimeError):
    """A chip's internal calibration reported an error (NAU7802 ``CAL_ERR``)."""


class ChipResetError(StationHardwareError, RuntimeError):
    """A chip is found in its power-on state (it lost power or was reset): it must be brought up
    again before its data means anything."""


class RegisterVerifyError(StationHardwareError, OSError):
    """A configuration register did not read back what was written, even after rewriting it:
    corrupted transfers (noise, weak pull-ups, long cables) or a different chip."""

    def __init__(self, message: str) -> None:
        OSError.__init__(self, _errno.EIO, message)

    def __str__(self) -> str:
        return str(self.strerror)


class ConfigurationError(StationHardwareError, ValueError):
    """A driver was asked for a setting the chip does not have (rate, gain, range, address)."""


class PlateUnavailableError(StationHardwareError, RuntimeError):
    """No corner of the force plate could be brought up."""
