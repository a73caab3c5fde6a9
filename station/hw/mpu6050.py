"""Driver for the InvenSense MPU-6050 6-axis IMU (register map RM-MPU-6000A rev 4.2).

Address 0x68 (AD0 low) or 0x69; ``WHO_AM_I`` (0x75) = 0x68. Registers are big-endian; one
14-byte burst from ``ACCEL_XOUT_H`` (0x3B) reads accelerometer, temperature and gyroscope of the
same sample.

Bring-up: ``DEVICE_RESET`` (bounded wait), wake up with the X-gyro PLL as clock (``CLKSEL`` = 1,
more stable than the internal oscillator), digital low-pass filter at the widest bandwidth below
half the rate, sample-rate divider from the 1 kHz gyro output rate, full scales, ``DATA_RDY``
and ``FIFO_OFLOW`` interrupt status enabled. With ``fifo=True`` accelerometer and gyroscope (12
bytes a sample) go to the 1024-byte FIFO.

``INT_STATUS`` clears when read, and both :meth:`MPU6050.data_ready` and
:meth:`MPU6050.read_fifo` read it, so each keeps the other's bit for it.

FIFO reads: ``FIFO_COUNTH/L``, then the bytes from ``FIFO_R_W`` (0x74), which does not
auto-increment, in one burst (``i2c_rdwr`` beyond 32 bytes). After an overflow the chip drops the
OLDEST bytes, so the head of the FIFO no longer starts on a sample (1024 is not a multiple of
12); the newest byte still ends one, so the driver discards ``count % 12`` bytes first and keeps
the rest aligned, and reports the overflow.

Emptying the FIFO: ``USER_CTRL.FIFO_RESET``, which "resets the FIFO buffer when set to 1 while
FIFO_EN equals 0" (register map, register 106), so it is written with ``FIFO_EN`` 0, then
``FIFO_EN`` set again (as InvenSense's motion driver's ``mpu_reset_fifo`` does).
"""

from __future__ import annotations

import numpy as np

from station.hw.errors import BusError, ChipTimeoutError, ConfigurationError
from station.hw.i2c import as_retrying_bus, write_verified
from station.hw.imu import STANDARD_GRAVITY_M_S2, FifoRead, ImuChip
from station.hw.steps import Steps, run_steps

SMPLRT_DIV = 0x19
CONFIG = 0x1A
GYRO_CONFIG = 0x1B
ACCEL_CONFIG = 0x1C
FIFO_EN = 0x23
INT_ENABLE = 0x38
INT_STATUS = 0x3A
ACCEL_XOUT_H = 0x3B
USER_CTRL = 0x6A
PWR_MGMT_1 = 0x6B
FIFO_COUNTH = 0x72
FIFO_R_W = 0x74
WHO_AM_I = 0x75

PWR_DEVICE_RESET = 0x80
PWR_CLKSEL_PLL_XGYRO = 0x01
INT_DATA_RDY = 0x01
INT_FIFO_OFLOW = 0x10
USER_CTRL_FIFO_EN = 0x40
USER_CTRL_FIFO_RESET = 0x04
FIFO_EN_ACCEL_GYRO = 0x78  # XG, YG, ZG, ACCEL
FIFO_SAMPLE_BYTES = 12

ACCEL_FS = {2: (0, 16384.0), 4: (1, 8192.0), 8: (2, 4096.0), 16: (3, 2048.0)}
"""``AFS_SEL`` and sensitivity (LSB/g) by full scale, g."""
GYRO_FS = {250: (0, 131.0), 500: (1, 65.5), 1000: (2, 32.8), 2000: (3, 16.4)}
"""``FS_SEL`` and sensitivity (LSB/(deg/s)) by full scale, deg/s."""
DLPF_ACCEL_BANDWIDTH_HZ = {1: 184.0, 2: 94.0, 3: 44.0, 4: 21.0, 5: 10.0, 6: 5.0}
"""Accelerometer bandwidth by ``DLPF_CFG`` (1..6: gyro output rate 1 kHz)."""
RESET_WAIT_NS = 100_000_000
"""Wait after ``DEVICE_RESET`` (the register map asks for 100 ms)."""
RESET_TIMEOUT_NS = 200_000_000


class MPU6050(ImuChip):
    """One MPU-6050 (see :class:`station.hw.imu.Imu`).

    Attributes
    ----------
    fifo_overflow_count : int
        FIFO reads that found an overflow.
    fifo_discarded_bytes : int
        Bytes thrown away to realign on a sample after overflows.
    fifo_discarded_samples : int
        Samples emptied without being read: of overflowed FIFOs (``read_fifo(discard_overflowed=True)``)
        and of FIFOs holding more than asked for (``read_fifo(discard_over=n)``).
    register_rewrites : int
        Configuration writes that had to be repeated to read back.
    """

    name = "MPU-6050"
    ADDRESSES = (0x68, 0x69)
    WHO_AM_I = WHO_AM_I
    WHO_AM_I_VALUE = 0x68
    LOOKALIKES = {0x70: "MPU-6500", 0x71: "MPU-9250"}

    def __init__(self, bus, clock, *, address: int = 0x68, bus_name: str = "i2c-1") -> None:
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
        self.fifo_discarded_bytes = 0
        self.fifo_discarded_samples = 0
        self.register_rewrites = 0
        self._accel_scale = 0.0
        self._gyro_scale = 0.0
        self._status = 0  # INT_STATUS bits read but not consumed yet

    def begin(self, rate_hz: float = 100.0, accel_range_g: int = 4, gyro_range_dps: int = 500, *, fifo: bool = False) -> None:
        """Reset and configure (see the module docstring), waiting for the reset. The rate is
        1000 / (1 + divider) Hz with the divider nearest to the one asked for (4 Hz .. 1 kHz).

        Raises
        ------
        ConfigurationError, ChipNotFoundError, WrongChipError, ChipTimeoutError,
        RegisterVerifyError, BusError
        """
        run_steps(self.begin_steps(rate_hz, accel_range_g, gyro_range_dps, fifo=fifo), self._clock)

    def begin_steps(self, rate_hz: float = 100.0, accel_range_g: int = 4, gyro_range_dps: int = 500, *,
                    fifo: bool = False) -> Steps:
        """:meth:`begin` in steps of at most two register writes (:mod:`station.hw.steps`); the
        100 ms after the reset is waited across steps, not slept."""
        if not 1000.0 / 256 <= rate_hz <= 1000.0:
            raise ConfigurationError(f"MPU-6050 rate {rate_hz!r} Hz is not available; choose 4 to 1000 Hz")
        if accel_range_g not in ACCEL_FS:
            raise ConfigurationError(f"MPU-6050 accelerometer range ±{accel_range_g} g is not available; choose 2, 4, 8 or 16")
        if gyro_range_dps not in GYRO_FS:
            raise ConfigurationError(
                f"MPU-6050 gyroscope range ±{gyro_range_dps} deg/s is not available; choose 250, 500, 1000 or 2000"
            )
        self.probe()
        bus, address, clock = self.bus, self.address, self._clock
        bus.write_byte_data(address, PWR_MGMT_1, PWR_DEVICE_RESET)
        yield clock.monotonic_ns() + RESET_WAIT_NS
        deadline = clock.monotonic_ns() + RESET_TIMEOUT_NS
        while bus.read_byte_data(address, PWR_MGMT_1) & PWR_DEVICE_RESET:
            if clock.monotonic_ns() >= deadline:
                raise ChipTimeoutError(f"{self.location}: the MPU-6050 reset did not complete; check its supply")
            yield clock.monotonic_ns() + 1_000_000
        self._write(PWR_MGMT_1, PWR_CLKSEL_PLL_XGYRO, "PWR_MGMT_1")
        divider = min(255, max(0, int(round(1000.0 / rate_hz)) - 1))
        actual_hz = 1000.0 / (1 + divider)
        dlpf = next((cfg for cfg, bw in DLPF_ACCEL_BANDWIDTH_HZ.items() if bw <= actual_hz / 2), 6)
        self._write(CONFIG, dlpf, "CONFIG")
        yield clock.monotonic_ns()
        self._write(SMPLRT_DIV, divider, "SMPLRT_DIV")
        afs, accel_lsb_per_g = ACCEL_FS[accel_range_g]
        fs, gyro_lsb_per_dps = GYRO_FS[gyro_range_dps]
        self._write(GYRO_CONFIG, fs << 3, "GYRO_CONFIG")
        yield clock.monotonic_ns()
        self._write(ACCEL_CONFIG, afs << 3, "ACCEL_CONFIG")
        self._write(INT_ENABLE, INT_DATA_RDY | INT_FIFO_OFLOW, "INT_ENABLE")
        yield clock.monotonic_ns()
        if fifo:
            bus.write_byte_data(address, USER_CTRL, USER_CTRL_FIFO_RESET)
            self._write(FIFO_EN, FIFO_EN_ACCEL_GYRO, "FIFO_EN")
            self._write(USER_CTRL, USER_CTRL_FIFO_EN, "USER_CTRL")
        else:
            self._write(FIFO_EN, 0x00, "FIFO_EN")
            self._write(USER_CTRL, 0x00, "USER_CTRL")
        bus.read_byte_data(address, INT_STATUS)  # clear anything left from before
        self._status = 0
        self.rate_hz = actual_hz
        self.accel_range_g = accel_range_g
        self.gyro_range_dps = gyro_range_dps
        self.fifo_enabled = fifo
        self._accel_scale = STANDARD_GRAVITY_M_S2 / accel_lsb_per_g
        self._gyro_scale = 1.0 / gyro_lsb_per_dps

    def _write(self, register: int, value: int, name: str) -> None:
        self.register_rewrites += write_verified(self.bus, self.address, register, value, name=name, where=self.location)

    def data_ready(self) -> bool:
        """A new sample since the last call (``DATA_RDY_INT``)."""
        status = self._status | self.bus.read_byte_data(self.address, INT_STATUS)
        self._status = status & ~INT_DATA_RDY
        return bool(status & INT_DATA_RDY)

    def read_sample(self) -> tuple[float, float, float, float, float, float]:
        """Newest sample, one 14-byte burst from 0x3B: (ax, ay, az) m/s², (gx, gy, gz) deg/s."""
        b = self.bus.read_i2c_block_data(self.address, ACCEL_XOUT_H, 14)
        a, g = self._accel_scale, self._gyro_scale
        return (
            _s16(b[0], b[1]) * a,
            _s16(b[2], b[3]) * a,
            _s16(b[4], b[5]) * a,
            _s16(b[8], b[9]) * g,
            _s16(b[10], b[11]) * g,
            _s16(b[12], b[13]) * g,
        )

    def read_fifo(self, *, discard_overflowed: bool = False, discard_over: int | None = None) -> FifoRead:
        """Drain the FIFO (see the module docstring). ``discard_overflowed``: a FIFO that
        overflowed is emptied (:meth:`flush_fifo`) instead of read; its samples are counted in
        :attr:`fifo_discarded_samples` and none is returned. ``discard_over``: so is one that
        holds more than that many samples, overflowed or not. ``level_read_ns`` of the result is
        when ``FIFO_COUNTH/L`` was read: the window that times the samples (see
        :class:`station.hw.imu.FifoRead`)."""
        if not self.fifo_enabled:
            raise ConfigurationError(f"{self.location}: the MPU-6050 FIFO is off; call begin(..., fifo=True)")
        bus, address = self.bus, self.address
        status = self._status | bus.read_byte_data(address, INT_STATUS)
        self._status = status & ~INT_FIFO_OFLOW
        overflowed = bool(status & INT_FIFO_OFLOW)
        now = self._clock.monotonic_ns
        before = now()
        high, low = bus.read_i2c_block_data(address, FIFO_COUNTH, 2)
        level_read_ns = (before, now())
        count = (high << 8) | low
        if overflowed:
            self.fifo_overflow_count += 1
        if (overflowed and discard_overflowed) or (discard_over is not None and count // FIFO_SAMPLE_BYTES > discard_over):
            self.flush_fifo()
            self.fifo_discarded_samples += count // FIFO_SAMPLE_BYTES
            return FifoRead(np.empty((0, 6)), overflowed, discarded=count // FIFO_SAMPLE_BYTES, level_read_ns=level_read_ns)
        n = count // FIFO_SAMPLE_BYTES
        misaligned = count % FIFO_SAMPLE_BYTES if overflowed else 0
        if n == 0 and not misaligned:
            return FifoRead(np.empty((0, 6)), overflowed, level_read_ns=level_read_ns)
        try:
            if misaligned:
                bus.read_block(address, FIFO_R_W, misaligned, retry=False)
                self.fifo_discarded_bytes += misaligned
                n = (count - misaligned) // FIFO_SAMPLE_BYTES
                if n == 0:
                    return FifoRead(np.empty((0, 6)), overflowed, level_read_ns=level_read_ns)
            data = bus.read_block(address, FIFO_R_W, n * FIFO_SAMPLE_BYTES, retry=False)
        except BusError:
            # Never retried: the FIFO may already have given some bytes out, and its alignment on a
            # sample is lost. Empty it and start again aligned; the samples are reported lost.
            self.fifo_failed_reads += 1
            self.flush_fifo()
            return FifoRead(np.empty((0, 6)), True, True, level_read_ns=level_read_ns)
        raw = np.frombuffer(data, dtype=">i2").reshape(n, 6).astype(float)
        raw[:, :3] *= self._accel_scale
        raw[:, 3:] *= self._gyro_scale
        return FifoRead(raw, overflowed, level_read_ns=level_read_ns)

    def flush_fifo(self) -> None:
        """Empty the FIFO without reading it: ``FIFO_RESET`` with ``FIFO_EN`` 0, then ``FIFO_EN``
        (see the module docstring)."""
        self.bus.write_byte_data(self.address, USER_CTRL, USER_CTRL_FIFO_RESET)
        self.bus.write_byte_data(self.address, USER_CTRL, USER_CTRL_FIFO_EN)

    def restart_fifo(self) -> None:
        """Empty the FIFO unread and clear its overflow status, for a stream that starts now (what it
        held predates it: neither an overflow nor a loss, so counted in neither): :meth:`flush_fifo`,
        then a read of ``INT_STATUS``, which clears ``FIFO_OFLOW_INT`` (left set by an overflow before
        the reset, the next read would report one), and the bit this driver kept from it."""
        self.flush_fifo()
        self.bus.read_byte_data(self.address, INT_STATUS)
        self._status = 0


def _s16(high: int, low: int) -> int:
    value = (high << 8) | low
    return value - 0x10000 if value & 0x8000 else value
