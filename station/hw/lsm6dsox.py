"""Driver for the ST LSM6DSOX 6-axis IMU over I2C (datasheet DS12814).

Address 0x6A (SA0 low) or 0x6B; ``WHO_AM_I`` (0x0F) = 0x6C; output registers little-endian,
gyroscope (``OUTX_L_G`` 0x22) then accelerometer (``OUTX_L_A`` 0x28), read in one 12-byte burst.

Bring-up: software reset (``CTRL3_C.SW_RESET``, bounded wait for it to clear), block data update
and address auto-increment (``BDU``, ``IF_INC``), I3C off (``CTRL9_XL.I3C_disable``, recommended
when the bus is I2C), both sensors at the same output data rate (the lowest of 12.5 ... 6664 Hz
at or above the one asked for) and the requested full scales. With ``fifo=True`` both sensors
are batched at that rate in continuous mode: reading the FIFO returns every sample, in order,
paired by their time-slot tag, and reports overflow (``FIFO_OVR_IA`` / ``FIFO_OVR_LATCHED``).
"""

from __future__ import annotations

import struct

import numpy as np

from station.hw.errors import BusError, ChipTimeoutError, ConfigurationError
from station.hw.i2c import as_retrying_bus, write_verified
from station.hw.imu import STANDARD_GRAVITY_M_S2, FifoRead, ImuChip
from station.hw.steps import Steps, run_steps

FIFO_CTRL3 = 0x09
FIFO_CTRL4 = 0x0A
WHO_AM_I = 0x0F
CTRL1_XL = 0x10
CTRL2_G = 0x11
CTRL3_C = 0x12
CTRL9_XL = 0x18
STATUS_REG = 0x1E
OUTX_L_G = 0x22
FIFO_STATUS1 = 0x3A
FIFO_DATA_OUT_TAG = 0x78

CTRL3_C_SW_RESET = 0x01
CTRL3_C_IF_INC = 0x04
CTRL3_C_BDU = 0x40
CTRL9_XL_I3C_DISABLE = 0x02
STATUS_XLDA = 0x01
STATUS_GDA = 0x02
FIFO_STATUS2_OVR_IA = 0x40
FIFO_STATUS2_OVR_LATCHED = 0x08
FIFO_MODE_BYPASS = 0b000
FIFO_MODE_CONTINUOUS = 0b110
TAG_GYRO = 0x01
TAG_ACCEL = 0x02

ODR_CODES = {12.5: 1, 26.0: 2, 52.0: 3, 104.0: 4, 208.0: 5, 416.0: 6, 833.0: 7, 1666.0: 8, 3332.0: 9, 6664.0: 10}
"""``ODR_XL`` / ``ODR_G`` / ``BDR`` code by output data rate, Hz."""
ACCEL_FS = {2: (0b00, 0.061e-3), 4: (0b10, 0.122e-3), 8: (0b11, 0.244e-3), 16: (0b01, 0.488e-3)}
"""``FS_XL`` code and sensitivity (g/LSB) by full scale, g."""
GYRO_FS = {125: (None, 4.375e-3), 250: (0b00, 8.75e-3), 500: (0b01, 17.5e-3), 1000: (0b10, 35e-3), 2000: (0b11, 70e-3)}
"""``FS_G`` code (``None``: the ``FS_125`` bit) and sensitivity (deg/s/LSB) by full scale, deg/s."""
RESET_TIMEOUT_NS = 10_000_000
RESET_POLL_NS = 50_000

_SAMPLE = struct.Struct("<6h")
_XYZ = struct.Struct("<3h")


class LSM6DSOX(ImuChip):
    """One LSM6DSOX (see :class:`station.hw.imu.Imu`).

    Attributes
    ----------
    fifo_overflow_count : int
        FIFO reads that found an overflow.
    fifo_failed_reads : int
        FIFO data transfers that failed (not retried; their samples are lost).
    fifo_discarded_samples : int
        Samples emptied without being read: of overflowed FIFOs (``read_fifo(discard_overflowed=True)``)
        and of FIFOs holding more than asked for (``read_fifo(discard_over=n)``).
    fifo_dropped_words : int
        FIFO words that could not be paired (unknown tag, or a lone accelerometer or gyroscope
        word after an overflow).
    register_rewrites : int
        Configuration writes that had to be repeated to read back.
    """

    name = "LSM6DSOX"
    ADDRESSES = (0x6A, 0x6B)
    WHO_AM_I = WHO_AM_I
    WHO_AM_I_VALUE = 0x6C
    LOOKALIKES = {0x69: "LSM6DS3", 0x6A: "LSM6DSL", 0x6B: "ISM330DHCX"}

    def __init__(self, bus, clock, *, address: int = 0x6A, bus_name: str = "i2c-1") -> None:
        self.bus = as_retrying_bus(bus, clock, bus_name=bus_name)
        self._clock = clock
        self.address = address
        self.bus_name = bus_name
        self.rate_hz = 0.0
        self.accel_range_g = 0
        self.gyro_range_dps = 0
        self.fifo_enabled = False
        self.fifo_overflow_count = 0
        self.fifo_failed_reads = 0
        self.fifo_discarded_samples = 0
        self.fifo_dropped_words = 0
        self.register_rewrites = 0
        self._accel_scale = 0.0
        self._gyro_scale = 0.0
        self._carry = b""

    def begin(self, rate_hz: float = 104.0, accel_range_g: int = 4, gyro_range_dps: int = 500, *, fifo: bool = False) -> None:
        """Reset and configure (see the module docstring), waiting for the reset.

        Raises
        ------
        ConfigurationError, ChipNotFoundError, WrongChipError, ChipTimeoutError,
        RegisterVerifyError, BusError
        """
        run_steps(self.begin_steps(rate_hz, accel_range_g, gyro_range_dps, fifo=fifo), self._clock)

    def begin_steps(self, rate_hz: float = 104.0, accel_range_g: int = 4, gyro_range_dps: int = 500, *,
                    fifo: bool = False) -> Steps:
        """:meth:`begin` in steps of at most two register writes (:mod:`station.hw.steps`), for
        bringing the IMU back without holding up the acquisition."""
        odr_hz = next((hz for hz in ODR_CODES if hz >= rate_hz), None)
        if odr_hz is None or rate_hz <= 0:
            raise ConfigurationError(f"LSM6DSOX rate {rate_hz!r} Hz is not available; choose up to 6664 Hz")
        if accel_range_g not in ACCEL_FS:
            raise ConfigurationError(f"LSM6DSOX accelerometer range ±{accel_range_g} g is not available; choose 2, 4, 8 or 16")
        if gyro_range_dps not in GYRO_FS:
            raise ConfigurationError(
                f"LSM6DSOX gyroscope range ±{gyro_range_dps} deg/s is not available; choose 125, 250, 500, 1000 or 2000"
            )
        clock = self._clock
        self.probe()
        bus, address = self.bus, self.address
        bus.write_byte_data(address, CTRL3_C, CTRL3_C_SW_RESET)
        deadline = clock.monotonic_ns() + RESET_TIMEOUT_NS
        while True:
            yield clock.monotonic_ns() + RESET_POLL_NS
            if not bus.read_byte_data(address, CTRL3_C) & CTRL3_C_SW_RESET:
                break
            if clock.monotonic_ns() >= deadline:
                raise ChipTimeoutError(
                    f"{self.location}: the LSM6DSOX software reset did not complete in {RESET_TIMEOUT_NS / 1e6:g} ms; "
                    "check its supply"
                )
        self._write(CTRL3_C, CTRL3_C_BDU | CTRL3_C_IF_INC, "CTRL3_C")
        self._write(CTRL9_XL, bus.read_byte_data(address, CTRL9_XL) | CTRL9_XL_I3C_DISABLE, "CTRL9_XL")
        yield clock.monotonic_ns()
        odr = ODR_CODES[odr_hz]
        fs_xl, accel_lsb_g = ACCEL_FS[accel_range_g]
        fs_g, gyro_lsb_dps = GYRO_FS[gyro_range_dps]
        self._write(CTRL1_XL, (odr << 4) | (fs_xl << 2), "CTRL1_XL")
        ctrl2 = (odr << 4) | (0x02 if fs_g is None else fs_g << 2)
        self._write(CTRL2_G, ctrl2, "CTRL2_G")
        yield clock.monotonic_ns()
        if fifo:
            self._write(FIFO_CTRL3, (odr << 4) | odr, "FIFO_CTRL3")
            self._write(FIFO_CTRL4, FIFO_MODE_CONTINUOUS, "FIFO_CTRL4")
        else:
            self._write(FIFO_CTRL4, FIFO_MODE_BYPASS, "FIFO_CTRL4")
        self.rate_hz = odr_hz
        self.accel_range_g = accel_range_g
        self.gyro_range_dps = gyro_range_dps
        self.fifo_enabled = fifo
        self._accel_scale = accel_lsb_g * STANDARD_GRAVITY_M_S2
        self._gyro_scale = gyro_lsb_dps
        self._carry = b""

    def _write(self, register: int, value: int, name: str) -> None:
        self.register_rewrites += write_verified(self.bus, self.address, register, value, name=name, where=self.location)

    def data_ready(self) -> bool:
        """Both sensors have a new sample (``XLDA`` and ``GDA`` in ``STATUS_REG``)."""
        status = self.bus.read_byte_data(self.address, STATUS_REG)
        return status & (STATUS_XLDA | STATUS_GDA) == (STATUS_XLDA | STATUS_GDA)

    def read_sample(self) -> tuple[float, float, float, float, float, float]:
        """Newest sample, one 12-byte burst: (ax, ay, az) m/s², (gx, gy, gz) deg/s."""
        gx, gy, gz, ax, ay, az = _SAMPLE.unpack(bytes(self.bus.read_i2c_block_data(self.address, OUTX_L_G, 12)))
        a, g = self._accel_scale, self._gyro_scale
        return ax * a, ay * a, az * a, gx * g, gy * g, gz * g

    def read_fifo(self, *, discard_overflowed: bool = False, discard_over: int | None = None) -> FifoRead:
        """Drain the FIFO: ``FIFO_STATUS1/2`` then all words in one burst (``i2c_rdwr`` beyond 32
        bytes); accelerometer and gyroscope words are paired by ``TAG_CNT``.

        ``discard_overflowed``: a FIFO that overflowed is emptied (:meth:`flush_fifo`) instead of
        read; its samples are counted in :attr:`fifo_discarded_samples` and none is returned (a
        full FIFO after a long stall holds the 1.2 s before the read at 208 Hz, and reading it takes 74 ms of
        bus). ``discard_over``: a FIFO holding more than that many samples (accelerometer and
        gyroscope pairs) is emptied the same way, overflowed or not (a stall shorter than the FIFO
        holds: a 1-s one's 416 words took 67 ms to read).

        ``level_read_ns`` of the result is when ``FIFO_STATUS1/2`` was read: the window that times
        the samples (see :class:`station.hw.imu.FifoRead`).

        The data burst is never retried: reading ``FIFO_DATA_OUT`` removes the words from the
        chip, so after a failed transfer some may be gone, and a retry would hand out later words
        as if they were the missing ones. Instead the FIFO is emptied (bypass, then continuous
        again), the read is counted in :attr:`fifo_failed_reads` and reported as lost
        (``read_failed`` and ``overflowed``).
        """
        if not self.fifo_enabled:
            raise ConfigurationError(f"{self.location}: the LSM6DSOX FIFO is off; call begin(..., fifo=True)")
        now = self._clock.monotonic_ns
        before = now()
        status1, status2 = self.bus.read_i2c_block_data(self.address, FIFO_STATUS1, 2)
        level_read_ns = (before, now())
        level = status1 | ((status2 & 0x03) << 8)
        overflowed = bool(status2 & (FIFO_STATUS2_OVR_IA | FIFO_STATUS2_OVR_LATCHED))
        if overflowed:
            self.fifo_overflow_count += 1
            self._carry = b""
        if (overflowed and discard_overflowed) or (discard_over is not None and level // 2 > discard_over):
            self.flush_fifo()
            self.fifo_discarded_samples += level // 2
            return FifoRead(np.empty((0, 6)), overflowed, discarded=level // 2, level_read_ns=level_read_ns)
        if not level:
            return FifoRead(np.empty((0, 6)), overflowed, level_read_ns=level_read_ns)
        try:
            data = self.bus.read_block(self.address, FIFO_DATA_OUT_TAG, 7 * level, retry=False)
        except BusError:
            self.fifo_failed_reads += 1
            self.flush_fifo()
            return FifoRead(np.empty((0, 6)), True, True, level_read_ns=level_read_ns)
        return FifoRead(self._parse(self._carry + data), overflowed, level_read_ns=level_read_ns)

    def flush_fifo(self) -> None:
        """Empty the FIFO without reading it: bypass mode, then continuous again (the chip has no
        FIFO reset bit; see the module docstring)."""
        self._carry = b""
        self.bus.write_byte_data(self.address, FIFO_CTRL4, FIFO_MODE_BYPASS)
        self.bus.write_byte_data(self.address, FIFO_CTRL4, FIFO_MODE_CONTINUOUS)

    def restart_fifo(self) -> None:
        """Empty the FIFO unread and clear its overflow status, for a stream that starts now (what it
        held predates it: neither an overflow nor a loss, so counted in neither): :meth:`flush_fifo`,
        then a read of ``FIFO_STATUS2``, which clears ``FIFO_OVR_LATCHED`` (bypass mode empties the
        FIFO but leaves that bit set, and the next read would report an overflow). Three short
        transfers, where reading a full FIFO took 74 ms of bus."""
        self.flush_fifo()
        self.bus.read_i2c_block_data(self.address, FIFO_STATUS1, 2)

    def _parse(self, data: bytes) -> np.ndarray:
        self._carry = b""
        if not data:
            return np.empty((0, 6))
        if len(data) == 14 and data[0] >> 3 == TAG_GYRO and data[7] >> 3 == TAG_ACCEL and (data[0] ^ data[7]) & 0x06 == 0:
            # The usual read at the frame rate: one gyroscope + accelerometer pair (no numpy).
            gx, gy, gz = _XYZ.unpack_from(data, 1)
            ax, ay, az = _XYZ.unpack_from(data, 8)
            a, g = self._accel_scale, self._gyro_scale
            return np.array(((ax * a, ay * a, az * a, gx * g, gy * g, gz * g),))
        words = np.frombuffer(data, dtype=np.uint8).reshape(-1, 7)
        sensor = words[:, 0] >> 3
        slot = (words[:, 0] >> 1) & 0x03
        xyz = words[:, 1:].copy().view("<i2").astype(float)
        n = len(words)
        if (
            n % 2 == 0
            and np.all(sensor[0::2] == TAG_GYRO)
            and np.all(sensor[1::2] == TAG_ACCEL)
            and np.array_equal(slot[0::2], slot[1::2])
        ):
            gyro, accel = xyz[0::2], xyz[1::2]
        else:
            gyro_rows, accel_rows = [], []
            pending: dict[int, int] = {}  # sensor tag -> row index, for the current slot
            current_slot = None
            for i in range(n):
                tag = int(sensor[i])
                if tag not in (TAG_GYRO, TAG_ACCEL):
                    self.fifo_dropped_words += 1
                    continue
                if int(slot[i]) != current_slot:
                    self.fifo_dropped_words += len(pending)
                    pending.clear()
                    current_slot = int(slot[i])
                if tag in pending:
                    self.fifo_dropped_words += 1
                pending[tag] = i
                if len(pending) == 2:
                    gyro_rows.append(pending[TAG_GYRO])
                    accel_rows.append(pending[TAG_ACCEL])
                    pending.clear()
            if pending:
                # A slot whose partner word was not written yet when the FIFO was read: keep it
                # for the next read.
                self._carry = b"".join(bytes(words[i]) for i in sorted(pending.values()))
            gyro, accel = xyz[gyro_rows], xyz[accel_rows]
        out = np.empty((len(gyro), 6))
        out[:, :3] = accel * self._accel_scale
        out[:, 3:] = gyro * self._gyro_scale
        return out
