"""Register-level model of the InvenSense MPU-6050 6-axis IMU (register map RM-MPU-6000A rev 4.2,
product specification PS-MPU-6000A rev 3.4).

I2C address 0x68 (AD0 low) or 0x69; ``WHO_AM_I`` (0x75) = 0x68 whatever AD0. Registers are
big-endian (high byte first); reads auto-increment the register address, except ``FIFO_R_W``
(0x74), which stays put so a burst read drains that many FIFO bytes.

* Power: after reset ``PWR_MGMT_1`` = 0x40 (``SLEEP``): nothing is sampled until ``SLEEP`` is
  cleared. ``DEVICE_RESET`` (bit 7) restores every register (and reads back 0).
* Sample rate = gyroscope output rate / (1 + ``SMPLRT_DIV``); the gyroscope output rate is 8 kHz
  with ``DLPF_CFG`` 0 or 7 and 1 kHz otherwise. The DLPF bandwidths (accel / gyro) are 260/256,
  184/188, 94/98, 44/42, 21/20, 10/10, 5/5 Hz for ``DLPF_CFG`` 0..6.
* Full scale: ``AFS_SEL`` ±2/4/8/16 g = 16384/8192/4096/2048 LSB/g; ``FS_SEL`` ±250/500/1000/2000
  deg/s = 131/65.5/32.8/16.4 LSB/(deg/s). Data registers 0x3B–0x48: accel X/Y/Z, temperature,
  gyro X/Y/Z (``TEMP_OUT`` = (T − 36.53 °C) × 340; the model reads 25 °C).
* ``INT_STATUS`` (0x3A): ``DATA_RDY_INT`` (bit 0) on every sample and ``FIFO_OFLOW_INT`` (bit 4)
  on FIFO overflow, each only when enabled in ``INT_ENABLE``; reading ``INT_STATUS`` clears it
  (the default ``INT_RD_CLEAR`` = 0; clearing on any read is not modelled).
* FIFO (1024 bytes): enabled by ``USER_CTRL.FIFO_EN``; ``FIFO_EN`` (0x23) selects what each sample
  writes, in register order (accel 6 bytes, temperature 2, gyro X, Y, Z 2 each). When it overflows
  the oldest bytes are lost and new ones written (so the head is no longer aligned on a sample),
  and ``FIFO_OFLOW_INT`` sets. ``FIFO_COUNTH/L`` hold the byte count; reading ``FIFO_R_W`` from
  an empty FIFO returns the last byte read again. ``USER_CTRL.FIFO_RESET`` empties it when written
  with ``USER_CTRL.FIFO_EN`` 0 (the register map: "while FIFO_EN equals 0"; written with it 1, this
  model does not).
* Noise: accelerometer 400 µg/√Hz, gyroscope 0.005 deg/s/√Hz (product specification), over the
  DLPF bandwidth.

The sample clock runs a seeded 0.1–0.5 % fast or slow. Not modelled: the auxiliary I2C master,
motion interrupts, self-test, cycle mode, external sync.
"""

from __future__ import annotations

import struct

import numpy as np

from station.sim.bus import SimDevice
from station.sim.imu_common import (
    SampleTimeline,
    motion_arrays,
    quantise,
    quantise_one,
    rate_error_and_latency,
    white_noise_rms,
)
from station.sim.loads import STANDARD_GRAVITY_M_S2
from station.sim.noise import WhiteNoise

MPU6050_ADDRESSES = (0x68, 0x69)
WHO_AM_I_VALUE = 0x68

SMPLRT_DIV = 0x19
CONFIG = 0x1A
GYRO_CONFIG = 0x1B
ACCEL_CONFIG = 0x1C
FIFO_EN = 0x23
INT_PIN_CFG = 0x37
INT_ENABLE = 0x38
INT_STATUS = 0x3A
ACCEL_XOUT_H = 0x3B
TEMP_OUT_H = 0x41
GYRO_XOUT_H = 0x43
SIGNAL_PATH_RESET = 0x68
USER_CTRL = 0x6A
PWR_MGMT_1 = 0x6B
PWR_MGMT_2 = 0x6C
FIFO_COUNTH = 0x72
FIFO_COUNTL = 0x73
FIFO_R_W = 0x74
WHO_AM_I = 0x75
N_REGISTERS = 0x80

# Bits.
DATA_RDY_INT = 0x01
FIFO_OFLOW_INT = 0x10
USER_CTRL_FIFO_EN = 0x40
USER_CTRL_FIFO_RESET = 0x04
PWR_DEVICE_RESET = 0x80
PWR_SLEEP = 0x40
FIFO_EN_TEMP = 0x80
FIFO_EN_XG = 0x40
FIFO_EN_YG = 0x20
FIFO_EN_ZG = 0x10
FIFO_EN_ACCEL = 0x08

FIFO_CAPACITY_BYTES = 1024
ACCEL_LSB_PER_G = {0: 16384.0, 1: 8192.0, 2: 4096.0, 3: 2048.0}
GYRO_LSB_PER_DPS = {0: 131.0, 1: 65.5, 2: 32.8, 3: 16.4}
ACCEL_BANDWIDTH_HZ = (260.0, 184.0, 94.0, 44.0, 21.0, 10.0, 5.0, 260.0)
GYRO_BANDWIDTH_HZ = (256.0, 188.0, 98.0, 42.0, 20.0, 10.0, 5.0, 256.0)
ACCEL_NOISE_G_PER_SQRT_HZ = 400e-6
GYRO_NOISE_DPS_PER_SQRT_HZ = 0.005
TEMP_RAW_25C = int(round((25.0 - 36.53) * 340.0))
_SAMPLE = struct.Struct(">7h")


class MPU6050Model(SimDevice):
    """The IMU model.

    Parameters
    ----------
    motion : callable
        ``motion(t_ns) -> TrunkSample``.
    seed : int or numpy.random.SeedSequence
    rate_error : float or None
        Relative error of the sample clock (None: seeded, 0.1–0.5 %).
    name : str

    Attributes
    ----------
    fifo_lost_bytes : int
        Bytes lost to overflows, for tests.
    """

    name = "MPU-6050"

    def __init__(self, motion, *, seed=0, rate_error: float | None = None, name: str = "MPU-6050") -> None:
        super().__init__()
        self.name = name
        self._motion = motion
        seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        params_seed, noise_seed = seq.spawn(2)
        self.rate_error, self.start_latency_fraction = rate_error_and_latency(np.random.default_rng(params_seed), rate_error)
        self._noise = WhiteNoise(np.random.default_rng(noise_seed), 6)
        self._timeline = SampleTimeline()
        self.fifo_lost_bytes = 0
        self._reset(0)

    # ------------------------------------------------------------------ state
    def _reset(self, now_ns: float) -> None:
        self._regs = bytearray(N_REGISTERS)
        self._regs[PWR_MGMT_1] = PWR_SLEEP
        self._regs[WHO_AM_I] = WHO_AM_I_VALUE
        self._pointer = 0
        self._timeline.stop(now_ns)
        self._data = bytes(14)
        self._int_status = 0
        self._fifo = bytearray()
        self._last_fifo_byte = 0

    def power_on_reset(self, now_ns: int) -> None:
        self._reset(now_ns)

    def set_rate_error(self, rate_error: float, now_ns: int) -> None:
        """The sample clock runs ``rate_error`` off from ``now_ns`` on (its temperature changed): the
        samples made so far are made first, the next ones come at the new rate, numbered on."""
        self._advance(now_ns)
        self.rate_error = float(rate_error)
        if self._timeline.running:
            self._timeline.retune(now_ns, 1e9 / (self.sample_rate_hz * (1.0 + self.rate_error)))

    def register(self, address: int) -> int:
        """Stored register value, for tests (no side effects)."""
        return self._regs[address]

    @property
    def fifo_level(self) -> int:
        """Bytes in the FIFO."""
        return len(self._fifo)

    @property
    def sample_rate_hz(self) -> float:
        """Nominal sample rate from ``SMPLRT_DIV`` and ``DLPF_CFG``, Hz."""
        dlpf = self._regs[CONFIG] & 0x07
        gyro_rate = 8000.0 if dlpf in (0, 7) else 1000.0
        return gyro_rate / (1 + self._regs[SMPLRT_DIV])

    def accel_noise_rms_g(self) -> float:
        """RMS noise of one accelerometer sample at the current DLPF setting, g."""
        return white_noise_rms(ACCEL_NOISE_G_PER_SQRT_HZ, ACCEL_BANDWIDTH_HZ[self._regs[CONFIG] & 0x07])

    def gyro_noise_rms_dps(self) -> float:
        """RMS noise of one gyroscope sample at the current DLPF setting, deg/s."""
        return white_noise_rms(GYRO_NOISE_DPS_PER_SQRT_HZ, GYRO_BANDWIDTH_HZ[self._regs[CONFIG] & 0x07])

    # ------------------------------------------------------------------ I2C
    def i2c_write(self, data: bytes, now_ns: int) -> None:
        if not data:
            return
        self._advance(now_ns)
        pointer = data[0] & 0x7F
        for value in data[1:]:
            self._write_register(pointer, value, now_ns)
            if pointer != FIFO_R_W:
                pointer = (pointer + 1) & 0x7F
        self._pointer = pointer

    def i2c_read(self, length: int, now_ns: int) -> bytes:
        self._advance(now_ns)
        pointer = self._pointer
        if pointer == FIFO_R_W:
            return self._drain(length)
        if pointer == ACCEL_XOUT_H and length <= 14:
            self._pointer = ACCEL_XOUT_H + length
            return self._data[:length]
        out = bytearray(length)
        for i in range(length):
            out[i] = self._read_register(pointer)
            if pointer != FIFO_R_W:
                pointer = (pointer + 1) & 0x7F
        self._pointer = pointer
        return bytes(out)

    def _drain(self, length: int) -> bytes:
        fifo = self._fifo
        take = min(length, len(fifo))
        out = bytearray(fifo[:take])
        del fifo[:take]
        if take:
            self._last_fifo_byte = out[-1]
        if take < length:
            out.extend(bytes((self._last_fifo_byte,)) * (length - take))
        return bytes(out)

    def _read_register(self, address: int) -> int:
        if ACCEL_XOUT_H <= address < ACCEL_XOUT_H + 14:
            return self._data[address - ACCEL_XOUT_H]
        if address == INT_STATUS:
            value = self._int_status
            self._int_status = 0
            return value
        if address == FIFO_COUNTH:
            return (len(self._fifo) >> 8) & 0xFF
        if address == FIFO_COUNTL:
            return len(self._fifo) & 0xFF
        if address == FIFO_R_W:
            return self._drain(1)[0]
        return self._regs[address]

    def _write_register(self, address: int, value: int, now_ns: int) -> None:
        regs = self._regs
        if address in (WHO_AM_I, INT_STATUS, FIFO_COUNTH, FIFO_COUNTL) or ACCEL_XOUT_H <= address < ACCEL_XOUT_H + 14:
            return  # read-only
        if address == FIFO_R_W:
            return  # writing the FIFO is not modelled
        if address == PWR_MGMT_1:
            if value & PWR_DEVICE_RESET:
                self._reset(now_ns)
                return
            was_asleep = regs[PWR_MGMT_1] & PWR_SLEEP
            regs[PWR_MGMT_1] = value
            if value & PWR_SLEEP:
                self._timeline.stop(now_ns)
            elif was_asleep or not self._timeline.running:
                self._restart(now_ns)
            return
        if address == USER_CTRL:
            # "resets the FIFO buffer when set to 1 while FIFO_EN equals 0" (register 106)
            if value & USER_CTRL_FIFO_RESET and not value & USER_CTRL_FIFO_EN:
                self._fifo.clear()
            regs[USER_CTRL] = value & ~USER_CTRL_FIFO_RESET & 0xFF
            return
        old = regs[address]
        regs[address] = value
        if address in (SMPLRT_DIV, CONFIG) and old != value and self._timeline.running:
            self._restart(now_ns)

    def _restart(self, now_ns: float) -> None:
        if self._regs[PWR_MGMT_1] & PWR_SLEEP:
            return
        period_ns = 1e9 / (self.sample_rate_hz * (1.0 + self.rate_error))
        self._timeline.start(now_ns, period_ns, self.start_latency_fraction)

    # ------------------------------------------------------------------ sampling
    def _advance(self, now_ns: int) -> None:
        first, last = self._timeline.pending(now_ns)
        if first > last:
            return
        regs = self._regs
        fifo_on = bool(regs[USER_CTRL] & USER_CTRL_FIFO_EN) and bool(regs[FIFO_EN] & 0xF8)
        if fifo_on:
            per_sample = self._fifo_bytes_per_sample()
            keep = FIFO_CAPACITY_BYTES // per_sample + 1
            ks = list(range(max(first, last - keep + 1), last + 1))
            skipped = (last - first + 1) - len(ks)
        else:
            ks, skipped = [last], 0
        data = self._evaluate(ks)
        self._data = data[-1]
        if regs[INT_ENABLE] & DATA_RDY_INT:
            self._int_status |= DATA_RDY_INT
        if fifo_on:
            if skipped:
                # So many samples since the last access that the FIFO was overwritten entirely.
                self.fifo_lost_bytes += len(self._fifo) + per_sample * skipped
                self._fifo.clear()
                if regs[INT_ENABLE] & FIFO_OFLOW_INT:
                    self._int_status |= FIFO_OFLOW_INT
            for sample in data:
                self._fifo_append(self._fifo_record(sample))

    def _evaluate(self, ks: list[int]) -> list[bytes]:
        """The 14 data-register bytes of samples ``ks``."""
        timeline = self._timeline
        accel_lsb = 1.0 / ACCEL_LSB_PER_G[(self._regs[ACCEL_CONFIG] >> 3) & 0x03]
        gyro_lsb = 1.0 / GYRO_LSB_PER_DPS[(self._regs[GYRO_CONFIG] >> 3) & 0x03]
        accel_rms, gyro_rms = self.accel_noise_rms_g(), self.gyro_noise_rms_dps()
        if len(ks) == 1:  # the common case (data registers): plain Python
            sample = self._motion(timeline.time_of(ks[0]))
            noise = self._noise.at(timeline.noise_index(ks[0]))
            acc_rows = [quantise_one(sample.acc_m_s2, noise[:3], accel_rms, accel_lsb, 1.0 / STANDARD_GRAVITY_M_S2)]
            gyro_rows = [quantise_one(sample.gyro_deg_s, noise[3:], gyro_rms, gyro_lsb)]
        else:
            acc_g, gyro_dps = motion_arrays(self._motion, [timeline.time_of(k) for k in ks])
            noise = self._noise.block(timeline.noise_index(ks[0]), len(ks))
            acc_rows = quantise(acc_g, noise[:, :3], accel_rms, accel_lsb).tolist()
            gyro_rows = quantise(gyro_dps, noise[:, 3:], gyro_rms, gyro_lsb).tolist()
        return [
            _SAMPLE.pack(a[0], a[1], a[2], TEMP_RAW_25C, g[0], g[1], g[2]) for a, g in zip(acc_rows, gyro_rows)
        ]

    def _fifo_bytes_per_sample(self) -> int:
        enabled = self._regs[FIFO_EN]
        return (
            (6 if enabled & FIFO_EN_ACCEL else 0)
            + (2 if enabled & FIFO_EN_TEMP else 0)
            + sum(2 for bit in (FIFO_EN_XG, FIFO_EN_YG, FIFO_EN_ZG) if enabled & bit)
        )

    def _fifo_record(self, sample: bytes) -> bytes:
        enabled = self._regs[FIFO_EN]
        parts = []
        if enabled & FIFO_EN_ACCEL:
            parts.append(sample[0:6])
        if enabled & FIFO_EN_TEMP:
            parts.append(sample[6:8])
        if enabled & FIFO_EN_XG:
            parts.append(sample[8:10])
        if enabled & FIFO_EN_YG:
            parts.append(sample[10:12])
        if enabled & FIFO_EN_ZG:
            parts.append(sample[12:14])
        return b"".join(parts)

    def _fifo_append(self, record: bytes) -> None:
        fifo = self._fifo
        fifo.extend(record)
        excess = len(fifo) - FIFO_CAPACITY_BYTES
        if excess > 0:
            del fifo[:excess]
            self.fifo_lost_bytes += excess
            if self._regs[INT_ENABLE] & FIFO_OFLOW_INT:
                self._int_status |= FIFO_OFLOW_INT
