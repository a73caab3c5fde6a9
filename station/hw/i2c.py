"""An smbus2-compatible bus wrapper that retries transient errors with a bound and counts them.

On a Raspberry Pi the kernel reports I2C trouble as ``OSError``: errno 121 (``EREMOTEIO``, no
ACK), 5 (``EIO``), 110 (``ETIMEDOUT``) and 6 (``ENXIO``, from the software i2c-gpio bus). A
long cable or a marginal pull-up makes a few of these happen in normal operation; retrying them
a bounded number of times keeps acquisition going, and counting them tells the health monitor
when the bus is getting worse (DESIGN.md §6). Anything else (a missing bus device file, a
permission error) is passed up at once as a :class:`~station.hw.errors.BusError`.

:class:`RetryingBus` has the same method names and arguments as ``smbus2.SMBus`` (without
``force``), so drivers call it exactly like the raw bus, and it wraps either the real bus or
:class:`station.sim.bus.SimulatedBus`. Drivers accept any smbus2-compatible bus and wrap it with
:func:`as_retrying_bus` unless it already is one; give every driver on a bus the same
:class:`RetryingBus` to get one set of counters.

The successful path costs one ``try`` around the underlying call: no logging, no allocation.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from smbus2 import i2c_msg

from station.hw.errors import BusError, RegisterVerifyError, errno_meaning, wiring_hint

TRANSIENT_ERRNOS = frozenset({errno.EREMOTEIO, errno.EIO, errno.ETIMEDOUT, errno.ENXIO})
"""Errno values worth retrying: no ACK (121), I/O error (5), timeout (110), no device (6)."""

VERIFY_REWRITES = 2
"""How many times a configuration register is written again when it does not read back."""

SMBUS_BLOCK_MAX = 32
"""smbus2 ``read_i2c_block_data``/``write_i2c_block_data`` stop at 32 bytes; longer transfers
go through ``i2c_rdwr``."""


@dataclass
class AddressErrorCounts:
    """Error counters of one 7-bit address (exact: tests assert them).

    ``errors``: failed attempts; ``retries``: attempts made again after a transient error;
    ``failures``: operations given up (raised as :class:`BusError`); ``last_errno``: errno of the
    most recent failed attempt.
    """

    errors: int = 0
    retries: int = 0
    failures: int = 0
    last_errno: int | None = None


class RetryingBus:
    """Bounded retries and error counters around an smbus2-compatible bus.

    Parameters
    ----------
    bus
        ``smbus2.SMBus(1)`` on the Pi, :class:`station.sim.bus.SimulatedBus` in tests.
    clock : station.clock.Clock
        Used to wait ``retry_delay_ns`` between attempts.
    bus_name : str
        Name used in messages (``"i2c-1"``).
    max_attempts : int
        Attempts per operation, the first one included (>= 1).
    retry_delay_ns : int
        Wait before each new attempt, ns (default 100 µs: long enough for a glitch on the lines
        to pass, short against a 10 ms frame).

    Attributes
    ----------
    errors_total, retries_total, failures_total : int
        Counters over all addresses (see :class:`AddressErrorCounts`).
    per_address : dict[int, AddressErrorCounts]
        The same counters per 7-bit address (only addresses that had errors appear). Devices
        behind a TCA9548A share an address: the plate keeps per-corner counts itself.
    last_error : OSError or None
        The most recent failed attempt's error.
    """

    def __init__(self, bus, clock, *, bus_name: str = "i2c-1", max_attempts: int = 3, retry_delay_ns: int = 100_000) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        if retry_delay_ns < 0:
            raise ValueError(f"retry_delay_ns must be >= 0, got {retry_delay_ns}")
        self.raw = bus
        self._clock = clock
        self.bus_name = bus_name
        self.max_attempts = int(max_attempts)
        self.retry_delay_ns = int(retry_delay_ns)
        self.errors_total = 0
        self.retries_total = 0
        self.failures_total = 0
        self.per_address: dict[int, AddressErrorCounts] = {}
        self.last_error: OSError | None = None

    # ------------------------------------------------------------------ smbus2 methods
    def read_byte(self, address: int) -> int:
        """Read one byte without a register (receive byte)."""
        try:
            return self.raw.read_byte(address)
        except OSError as exc:
            return self._retry(exc, address, "read_byte", self.raw.read_byte, address)

    def write_byte(self, address: int, value: int) -> None:
        """Write one byte without a register (send byte; e.g. the TCA9548A control byte)."""
        try:
            return self.raw.write_byte(address, value)
        except OSError as exc:
            return self._retry(exc, address, "write_byte", self.raw.write_byte, address, value)

    def read_byte_data(self, address: int, register: int) -> int:
        """Read one register."""
        try:
            return self.raw.read_byte_data(address, register)
        except OSError as exc:
            return self._retry(exc, address, "read_byte_data", self.raw.read_byte_data, address, register)

    def write_byte_data(self, address: int, register: int, value: int) -> None:
        """Write one register."""
        try:
            return self.raw.write_byte_data(address, register, value)
        except OSError as exc:
            return self._retry(exc, address, "write_byte_data", self.raw.write_byte_data, address, register, value)

    def read_i2c_block_data(self, address: int, register: int, length: int) -> list[int]:
        """Read ``length`` (<= 32) consecutive bytes from ``register`` in one transaction."""
        try:
            return self.raw.read_i2c_block_data(address, register, length)
        except OSError as exc:
            return self._retry(
                exc, address, "read_i2c_block_data", self.raw.read_i2c_block_data, address, register, length
            )

    def write_i2c_block_data(self, address: int, register: int, data) -> None:
        """Write up to 32 bytes starting at ``register`` in one transaction."""
        try:
            return self.raw.write_i2c_block_data(address, register, data)
        except OSError as exc:
            return self._retry(
                exc, address, "write_i2c_block_data", self.raw.write_i2c_block_data, address, register, data
            )

    def i2c_rdwr(self, *msgs) -> None:
        """Combined transfer of ``smbus2.i2c_msg`` messages (repeated starts, one stop).

        On a retry the same message objects are sent again; read messages are overwritten.
        """
        try:
            return self.raw.i2c_rdwr(*msgs)
        except OSError as exc:
            return self._retry(exc, msgs[0].addr if msgs else -1, "i2c_rdwr", self.raw.i2c_rdwr, *msgs)

    # ------------------------------------------------------------------ helpers for drivers
    def read_block(self, address: int, register: int, length: int, *, retry: bool = True) -> bytes:
        """Read ``length`` bytes from ``register`` in ONE transaction, any length.

        Up to 32 bytes use ``read_i2c_block_data``; longer reads use a combined transfer of a
        register-pointer write followed by a single read, which is what a Pi 0–4 controller
        supports (one read, last in the transfer; DESIGN.md §6).

        ``retry=False`` makes one attempt only: for reads that remove what they read from the
        chip (a FIFO), where a failed transfer may already have taken data out, so that a retry
        would return later data as if it were the missing one. The error is counted and raised
        as :class:`BusError`; the caller accounts for the lost data.
        """
        if not retry:
            try:
                return self._read_block_once(address, register, length)
            except OSError as exc:
                self._count_error(address, exc)
                raise self._give_up(exc, address, "read_block (FIFO, not retried)", 1) from exc
        if length <= SMBUS_BLOCK_MAX:
            return bytes(self.read_i2c_block_data(address, register, length))
        write = i2c_msg.write(address, [register])
        read = i2c_msg.read(address, length)
        self.i2c_rdwr(write, read)
        return bytes(read)

    def _read_block_once(self, address: int, register: int, length: int) -> bytes:
        if length <= SMBUS_BLOCK_MAX:
            return bytes(self.raw.read_i2c_block_data(address, register, length))
        write = i2c_msg.write(address, [register])
        read = i2c_msg.read(address, length)
        self.raw.i2c_rdwr(write, read)
        return bytes(read)

    def probe_byte_data(self, address: int, register: int) -> int | None:
        """Read one register to find out whether a chip is there.

        Returns ``None`` when nothing acknowledges the address (errno 121): that is an answer,
        not an error, and is not counted. Other transient errors are retried and counted as
        usual; persistent ones raise :class:`BusError`.
        """
        return self._probe(address, "read_byte_data", self.raw.read_byte_data, address, register)

    def probe_byte(self, address: int) -> int | None:
        """Like :meth:`probe_byte_data` with a receive-byte read (for chips without a register
        pointer, such as the TCA9548A, where writing a register byte would change its state)."""
        return self._probe(address, "read_byte", self.raw.read_byte, address)

    def _probe(self, address: int, operation: str, fn, *args) -> int | None:
        attempts = 0
        while True:
            attempts += 1
            try:
                return fn(*args)
            except OSError as exc:
                if exc.errno == errno.EREMOTEIO:
                    return None
                self._count_error(address, exc)
                if exc.errno not in TRANSIENT_ERRNOS or attempts >= self.max_attempts:
                    raise self._give_up(exc, address, operation, attempts) from exc
                self._count_retry(address)

    def counts(self, address: int) -> AddressErrorCounts:
        """Error counters of ``address`` (all zero if it never failed)."""
        return self.per_address.get(address) or AddressErrorCounts()

    def close(self) -> None:
        """Close the underlying bus."""
        close = getattr(self.raw, "close", None)
        if close is not None:
            close()

    # ------------------------------------------------------------------ internals
    def _retry(self, exc: OSError, address: int, operation: str, fn, *args):
        attempts = 1
        while True:
            self._count_error(address, exc)
            if exc.errno not in TRANSIENT_ERRNOS or attempts >= self.max_attempts:
                raise self._give_up(exc, address, operation, attempts) from exc
            self._count_retry(address)
            attempts += 1
            try:
                return fn(*args)
            except OSError as again:
                exc = again

    def _count_error(self, address: int, exc: OSError) -> None:
        counts = self.per_address.get(address)
        if counts is None:
            counts = self.per_address[address] = AddressErrorCounts()
        counts.errors += 1
        counts.last_errno = exc.errno
        self.errors_total += 1
        self.last_error = exc

    def _count_retry(self, address: int) -> None:
        self.per_address[address].retries += 1
        self.retries_total += 1
        if self.retry_delay_ns:
            self._clock.sleep_ns(self.retry_delay_ns)

    def _give_up(self, exc: OSError, address: int, operation: str, attempts: int) -> BusError:
        self.per_address[address].failures += 1
        self.failures_total += 1
        if exc.errno in TRANSIENT_ERRNOS:
            hint = wiring_hint(self.bus_name)
        elif exc.errno in (errno.ENOENT, errno.ENODEV):
            hint = "enable I2C (dtparam=i2c_arm=on in the boot config) and check the bus number"
        elif exc.errno == errno.EACCES:
            hint = "run the station as a user in the i2c group"
        else:
            hint = wiring_hint(self.bus_name)
        message = (
            f"{self.bus_name}: {operation} at address 0x{address:02x} failed after {attempts} "
            f"attempt{'s' if attempts != 1 else ''}: {errno_meaning(exc.errno)} (errno {exc.errno}); {hint}"
        )
        return BusError(
            message,
            errno_code=exc.errno,
            bus_name=self.bus_name,
            address=address,
            operation=operation,
            attempts=attempts,
            hint=hint,
        )


def as_retrying_bus(bus, clock, *, bus_name: str = "i2c-1") -> RetryingBus:
    """``bus`` itself if it already is a :class:`RetryingBus`, else a new one around it."""
    if isinstance(bus, RetryingBus):
        return bus
    return RetryingBus(bus, clock, bus_name=bus_name)


def write_verified(bus: RetryingBus, address: int, register: int, value: int, *, name: str, where: str, mask: int = 0xFF) -> int:
    """Write a configuration register and read it back; write it again (up to
    :data:`VERIFY_REWRITES` times) while the bits in ``mask`` differ.

    Returns the number of rewrites needed (0 normally). Corrupted transfers on a long cable show
    up here instead of as a chip silently running with a wrong setting.

    Raises
    ------
    RegisterVerifyError
        Still different after the rewrites.
    """
    readback = None
    for attempt in range(1 + VERIFY_REWRITES):
        bus.write_byte_data(address, register, value)
        readback = bus.read_byte_data(address, register)
        if (readback ^ value) & mask == 0:
            return attempt
    raise RegisterVerifyError(
        f"{where}: register {name} (0x{register:02x}) reads back 0x{readback:02x} after 0x{value:02x} was written "
        f"{1 + VERIFY_REWRITES} times: corrupted transfers or a different chip; check the cable length, the "
        "pull-up resistors and the connector"
    )
