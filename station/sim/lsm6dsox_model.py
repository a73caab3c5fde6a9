"""Register-level model of the ST LSM6DSOX 6-axis IMU (datasheet DS12814).

I2C address 0x6A (SA0 low) or 0x6B; ``WHO_AM_I`` (0x0F) = 0x6C. Multi-byte reads auto-increment
the register address while ``IF_INC`` (``CTRL3_C`` bit 2, set at reset) is set; in the FIFO output
block the address rolls over from ``FIFO_DATA_OUT_Z_H`` (0x7E) back to ``FIFO_DATA_OUT_TAG``
(0x78), so a burst reads consecutive FIFO words. Output registers are little-endian: ``OUTX_L_G``
(0x22) .. ``OUTZ_H_G``, then ``OUTX_L_A`` (0x28) .. ``OUTZ_H_A`` (0x2D).

* ``CTRL1_XL``: ``ODR_XL`` (7:4) and ``FS_XL`` (3:2: 00 ±2 g, 01 ±16 g, 10 ±4 g, 11 ±8 g);
  ``CTRL2_G``: ``ODR_G`` and ``FS_G`` (00 250, 01 500, 10 1000, 11 2000 dps; ``FS_125`` bit 1).
  ODR codes 1..10 = 12.5, 26, 52, 104, 208, 416, 833, 1666, 3332, 6664 Hz (11 = 1.6 Hz).
  Sensitivities 0.061/0.122/0.244/0.488 mg/LSB and 4.375/8.75/17.5/35/70 mdps/LSB.
* ``STATUS_REG`` (0x1E): ``XLDA`` / ``GDA`` set by a new sample, cleared when that sensor's output
  registers are read.
* ``CTRL3_C``: ``SW_RESET`` (bit 0) restores every register and empties the FIFO; ``BOOT``
  (bit 7) reloads trimming (no visible effect here).
* FIFO (``FIFO_CTRL1..4``): watermark, batch data rates ``BDR_XL`` / ``BDR_GY`` (same codes as the
  ODR), ``FIFO_MODE`` 000 bypass (FIFO emptied and off), 001 FIFO mode (stops when full), 110
  continuous (when full the oldest word is overwritten). The trigger-based modes 011/100/111 run
  as continuous (their triggers are not modelled). Each word is 7 bytes: ``TAG`` (``TAG_SENSOR``
  7:3 = 0x01 gyroscope, 0x02 accelerometer; ``TAG_CNT`` 2:1, the time slot; ``TAG_PARITY`` bit 0)
  and X, Y, Z little-endian. Capacity: 512 words (3 kbyte of uncompressed data; the "9 kbyte"
  of the datasheet needs compression, not modelled). ``FIFO_STATUS1/2``: ``DIFF_FIFO`` (10 bits),
  ``FIFO_WTM_IA``, ``FIFO_OVR_IA`` (a word was overwritten and the FIFO is still full),
  ``FIFO_FULL_IA``, ``FIFO_OVR_LATCHED`` (cleared by reading ``FIFO_STATUS2``).
* Noise (high-performance mode, typical): accelerometer 70/75/80/110 µg/√Hz at ±2/4/8/16 g,
  gyroscope 3.8 mdps/√Hz, over the default bandwidth ODR/2 (the datasheet's RMS noise is stated
  for BW = ODR/2; its noise density is independent of the ODR in high-performance mode). These
  are the LSM6DSO-family figures as recalled: check them against DS12814 Table 2. Samples are
  quantised and clipped to the full scale.

The chip's clock runs a seeded 0.1–0.5 % fast or slow. Not modelled: temperature output (reads
25 °C), timestamps, embedded functions, filters other than the default, low-power modes.
"""

from __future__ import annotations

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

LSM6DSOX_ADDRESSES = (0x6A, 0x6B)
WHO_AM_I_VALUE = 0x6C

# Registers (datasheet names).
FUNC_CFG_ACCESS = 0x01
PIN_CTRL = 0x02
FIFO_CTRL1 = 0x07
FIFO_CTRL2 = 0x08
FIFO_CTRL3 = 0x09
FIFO_CTRL4 = 0x0A
WHO_AM_I = 0x0F
CTRL1_XL = 0x10
CTRL2_G = 0x11
CTRL3_C = 0x12
CTRL9_XL = 0x18
STATUS_REG = 0x1E
OUT_TEMP_L = 0x20
OUTX_L_G = 0x22
OUTX_L_A = 0x28
FIFO_STATUS1 = 0x3A
FIFO_STATUS2 = 0x3B
FIFO_DATA_OUT_TAG = 0x78
FIFO_DATA_OUT_Z_H = 0x7E
N_REGISTERS = 0x80

RESET_VALUES = {PIN_CTRL: 0x3F, WHO_AM_I: WHO_AM_I_VALUE, CTRL3_C: 0x04, CTRL9_XL: 0xE0}

ODR_HZ = {1: 12.5, 2: 26.0, 3: 52.0, 4: 104.0, 5: 208.0, 6: 416.0, 7: 833.0, 8: 1666.0, 9: 3332.0, 10: 6664.0, 11: 1.6}
ACCEL_LSB_G = {0b00: 0.061e-3, 0b01: 0.488e-3, 0b10: 0.122e-3, 0b11: 0.244e-3}
ACCEL_NOISE_G_PER_SQRT_HZ = {0b00: 70e-6, 0b01: 110e-6, 0b10: 75e-6, 0b11: 80e-6}
GYRO_LSB_DPS = {0b00: 8.75e-3, 0b01: 17.5e-3, 0b10: 35e-3, 0b11: 70e-3}
GYRO_LSB_DPS_125 = 4.375e-3
GYRO_NOISE_DPS_PER_SQRT_HZ = 3.8e-3

TAG_GYRO = 0x01
TAG_ACCEL = 0x02
FIFO_CAPACITY_WORDS = 512

# STATUS_REG bits.
XLDA = 0x01
GDA = 0x02
TDA = 0x04
# CTRL3_C bits.
SW_RESET = 0x01
IF_INC = 0x04
BOOT = 0x80
# FIFO_STATUS2 bits.
FIFO_WTM_IA = 0x80
FIFO_OVR_IA = 0x40
FIFO_FULL_IA = 0x20
FIFO_OVR_LATCHED = 0x08


def _tag_byte(sensor: int, count: int) -> int:
    upper = (sensor << 3) | ((count & 0x03) << 1)
    return upper | (bin(upper).count("1") & 1)


class _Sensor:
    """One of the two sensors (accelerometer or gyroscope) inside the model."""

    def __init__(self, tag: int, rng: np.random.Generator) -> None:
        self.tag = tag
        self.timeline = SampleTimeline()
        self.noise = WhiteNoise(rng, 3)
        self.latest = (0, 0, 0)
        self.new = False
        self.odr_code = 0


class LSM6DSOXModel(SimDevice):
    """The IMU model.

    Parameters
    ----------
    motion : callable
        ``motion(t_ns) -> TrunkSample`` (specific force in m/s², rates in deg/s, sensor frame).
    seed : int or numpy.random.SeedSequence
    rate_error : float or None
        Relative error of the internal oscillator (None: seeded, 0.1–0.5 %).
    name : str

    Attributes
    ----------
    fifo_overwritten_words : int
        Words lost to overwrites in continuous mode (or refused in FIFO mode), for tests.
    """

    name = "LSM6DSOX"

    def __init__(self, motion, *, seed=0, rate_error: float | None = None, name: str = "LSM6DSOX") -> None:
        super().__init__()
        self.name = name
        self._motion = motion
        seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        params_seed, gyro_seed, accel_seed = seq.spawn(3)
        self.rate_error, self.start_latency_fraction = rate_error_and_latency(np.random.default_rng(params_seed), rate_error)
        self._gyro = _Sensor(TAG_GYRO, np.random.default_rng(gyro_seed))
        self._accel = _Sensor(TAG_ACCEL, np.random.default_rng(accel_seed))
        self.fifo_overwritten_words = 0
        self._reset(0)

    # ------------------------------------------------------------------ state
    def _reset(self, now_ns: float) -> None:
        self._regs = bytearray(N_REGISTERS)
        for address, value in RESET_VALUES.items():
            self._regs[address] = value
        self._pointer = 0
        for sensor in (self._gyro, self._accel):
            sensor.timeline.stop(now_ns)
            sensor.latest = (0, 0, 0)
            sensor.new = False
            sensor.odr_code = 0
        # Both sensors tick on the chip's one oscillator: their samples share a time grid.
        self._grid_anchor_ns = float(now_ns) + self.start_latency_fraction * 1e9 / 6664.0
        self._fifo: list[bytes] = []
        self._fifo_word_pos = 0
        self._ovr_latched = False
        self._ovr_live = False

    def power_on_reset(self, now_ns: int) -> None:
        self._reset(now_ns)

    def set_rate_error(self, rate_error: float, now_ns: int) -> None:
        """The oscillator runs ``rate_error`` off from ``now_ns`` on (its temperature changed): the
        samples made so far are made first, the next ones come at the new rate, numbered on."""
        self._advance(now_ns)
        self.rate_error = float(rate_error)
        for sensor in (self._gyro, self._accel):
            if sensor.timeline.running and sensor.odr_code in ODR_HZ:
                sensor.timeline.retune(now_ns, 1e9 / (ODR_HZ[sensor.odr_code] * (1.0 + self.rate_error)))

    def register(self, address: int) -> int:
        """Stored register value, for tests (no side effects)."""
        return self._regs[address]

    @property
    def fifo_level(self) -> int:
        """Unread FIFO words."""
        return len(self._fifo)

    def accel_noise_rms_g(self) -> float:
        """RMS noise of one accelerometer sample at the current settings, g."""
        fs = (self._regs[CTRL1_XL] >> 2) & 0x03
        odr = ODR_HZ.get(self._accel.odr_code, 0.0)
        return white_noise_rms(ACCEL_NOISE_G_PER_SQRT_HZ[fs], odr / 2.0)

    def gyro_noise_rms_dps(self) -> float:
        """RMS noise of one gyroscope sample at the current settings, deg/s."""
        odr = ODR_HZ.get(self._gyro.odr_code, 0.0)
        return white_noise_rms(GYRO_NOISE_DPS_PER_SQRT_HZ, odr / 2.0)

    def _accel_lsb_g(self) -> float:
        return ACCEL_LSB_G[(self._regs[CTRL1_XL] >> 2) & 0x03]

    def _gyro_lsb_dps(self) -> float:
        ctrl2 = self._regs[CTRL2_G]
        if ctrl2 & 0x02:
            return GYRO_LSB_DPS_125
        return GYRO_LSB_DPS[(ctrl2 >> 2) & 0x03]

    # ------------------------------------------------------------------ I2C
    def i2c_write(self, data: bytes, now_ns: int) -> None:
        if not data:
            return
        self._advance(now_ns)
        pointer = data[0] & 0x7F
        increment = self._regs[CTRL3_C] & IF_INC
        for value in data[1:]:
            self._write_register(pointer, value, now_ns)
            if increment:
                pointer = self._next(pointer)
        self._pointer = pointer

    def i2c_read(self, length: int, now_ns: int) -> bytes:
        self._advance(now_ns)
        pointer = self._pointer
        increment = self._regs[CTRL3_C] & IF_INC
        if pointer == FIFO_DATA_OUT_TAG and increment and length % 7 == 0 and self._fifo_word_pos == 0:
            out = self._pop_words(length // 7)
            self._pointer = FIFO_DATA_OUT_TAG
            return out
        out = bytearray(length)
        read_gyro = read_accel = False
        for i in range(length):
            out[i] = self._read_register(pointer)
            if OUTX_L_G <= pointer < OUTX_L_A:
                read_gyro = True
            elif OUTX_L_A <= pointer < OUTX_L_A + 6:
                read_accel = True
            if increment:
                pointer = self._next(pointer)
        self._pointer = pointer
        if read_gyro:
            self._gyro.new = False
        if read_accel:
            self._accel.new = False
        return bytes(out)

    @staticmethod
    def _next(pointer: int) -> int:
        if pointer == FIFO_DATA_OUT_Z_H:
            return FIFO_DATA_OUT_TAG
        return (pointer + 1) & 0x7F

    def _read_register(self, address: int) -> int:
        if OUTX_L_G <= address < OUTX_L_A + 6:
            sensor = self._gyro if address < OUTX_L_A else self._accel
            offset = address - (OUTX_L_G if address < OUTX_L_A else OUTX_L_A)
            value = sensor.latest[offset // 2] & 0xFFFF
            return value & 0xFF if offset % 2 == 0 else value >> 8
        if address == STATUS_REG:
            return (XLDA if self._accel.new else 0) | (GDA if self._gyro.new else 0) | (TDA if self._accel.new else 0)
        if address == FIFO_STATUS1:
            return len(self._fifo) & 0xFF
        if address == FIFO_STATUS2:
            level = len(self._fifo)
            value = (level >> 8) & 0x03
            watermark = self._regs[FIFO_CTRL1] | ((self._regs[FIFO_CTRL2] & 0x01) << 8)
            if watermark and level >= watermark:
                value |= FIFO_WTM_IA
            if self._ovr_live and level >= FIFO_CAPACITY_WORDS:
                value |= FIFO_OVR_IA
            if level >= FIFO_CAPACITY_WORDS:
                value |= FIFO_FULL_IA
            if self._ovr_latched:
                value |= FIFO_OVR_LATCHED
                self._ovr_latched = False
            return value
        if FIFO_DATA_OUT_TAG <= address <= FIFO_DATA_OUT_Z_H:
            return self._read_fifo_byte(address - FIFO_DATA_OUT_TAG)
        if address in (OUT_TEMP_L, OUT_TEMP_L + 1):
            return 0  # 25 °C
        return self._regs[address]

    def _read_fifo_byte(self, position: int) -> int:
        if not self._fifo:
            return 0
        value = self._fifo[0][position]
        if position == 6:
            self._fifo.pop(0)
            self._fifo_word_pos = 0
            self._ovr_live = self._ovr_live and len(self._fifo) >= FIFO_CAPACITY_WORDS
        else:
            self._fifo_word_pos = position + 1
        return value

    def _pop_words(self, count: int) -> bytes:
        available = min(count, len(self._fifo))
        words = self._fifo[:available]
        del self._fifo[:available]
        if available < count:
            words.append(bytes(7 * (count - available)))
        if len(self._fifo) < FIFO_CAPACITY_WORDS:
            self._ovr_live = False
        return b"".join(words)

    def _write_register(self, address: int, value: int, now_ns: int) -> None:
        regs = self._regs
        if address in (WHO_AM_I, STATUS_REG, FIFO_STATUS1, FIFO_STATUS2) or OUT_TEMP_L <= address <= 0x2D:
            return  # read-only
        if FIFO_DATA_OUT_TAG <= address <= FIFO_DATA_OUT_Z_H:
            return
        if address == CTRL3_C:
            if value & SW_RESET:
                self._reset(now_ns)
                return
            regs[CTRL3_C] = value & ~BOOT & 0xFF
            return
        regs[address] = value
        if address == CTRL1_XL:
            self._set_odr(self._accel, value >> 4, now_ns)
        elif address == CTRL2_G:
            self._set_odr(self._gyro, value >> 4, now_ns)
        elif address == FIFO_CTRL4 and value & 0x07 == 0:
            self._fifo.clear()
            self._fifo_word_pos = 0
            self._ovr_live = False

    def _set_odr(self, sensor: _Sensor, code: int, now_ns: int) -> None:
        if code == sensor.odr_code and sensor.timeline.running:
            return
        sensor.odr_code = code
        if code in ODR_HZ:
            period_ns = 1e9 / (ODR_HZ[code] * (1.0 + self.rate_error))
            sensor.timeline.start(now_ns, period_ns, self.start_latency_fraction, self._grid_anchor_ns)
        else:
            sensor.timeline.stop(now_ns)
            sensor.new = False

    # ------------------------------------------------------------------ sampling
    def _fifo_mode(self) -> int:
        return self._regs[FIFO_CTRL4] & 0x07

    def _batch_every(self, sensor: _Sensor) -> int:
        """0 when the sensor is not batched into the FIFO, else keep every n-th sample."""
        if self._fifo_mode() == 0:
            return 0
        bdr_code = (self._regs[FIFO_CTRL3] >> (4 if sensor is self._gyro else 0)) & 0x0F
        if bdr_code not in ODR_HZ or sensor.odr_code not in ODR_HZ:
            return 0
        return max(1, int(round(ODR_HZ[sensor.odr_code] / ODR_HZ[bdr_code])))

    def _advance(self, now_ns: int) -> None:
        words = []
        for order, sensor in enumerate((self._gyro, self._accel)):
            first, last = sensor.timeline.pending(now_ns)
            if first > last:
                continue
            sensor.new = True
            every = self._batch_every(sensor)
            if every:
                # Batched samples: those whose running number is a multiple of `every`. Only a
                # FIFO's worth can survive; the others are overwritten (continuous mode) or
                # refused (FIFO mode) without being evaluated.
                k0 = first + (-sensor.timeline.noise_index(first)) % every
                batched = range(k0, last + 1, every)
                if len(batched) > FIFO_CAPACITY_WORDS:
                    self.fifo_overwritten_words += len(batched) - FIFO_CAPACITY_WORDS
                    if self._fifo_mode() == 0b001:
                        batched = batched[:FIFO_CAPACITY_WORDS]
                    else:
                        self._ovr_latched = self._ovr_live = True
                        batched = batched[-FIFO_CAPACITY_WORDS:]
                ks = list(batched)
            else:
                ks = []
            ks_eval = ks if ks and ks[-1] == last else ks + [last]
            raws = self._evaluate(sensor, ks_eval)
            sensor.latest = raws[-1]
            timeline = sensor.timeline
            for k, raw in zip(ks, raws):
                words.append((timeline.time_of(k), order, sensor, raw))
        if words:
            words.sort(key=lambda w: (w[0], w[1]))
            self._push_words(words)

    def _evaluate(self, sensor: _Sensor, ks: list[int]) -> list[tuple[int, int, int]]:
        """Raw (x, y, z) counts of ``sensor`` for samples ``ks``."""
        timeline = sensor.timeline
        is_accel = sensor is self._accel
        if is_accel:
            rms, lsb = self.accel_noise_rms_g(), self._accel_lsb_g()
        else:
            rms, lsb = self.gyro_noise_rms_dps(), self._gyro_lsb_dps()
        if len(ks) == 1:  # the common case (output registers): plain Python
            sample = self._motion(timeline.time_of(ks[0]))
            noise = sensor.noise.at(timeline.noise_index(ks[0]))
            if is_accel:
                return [quantise_one(sample.acc_m_s2, noise, rms, lsb, 1.0 / STANDARD_GRAVITY_M_S2)]
            return [quantise_one(sample.gyro_deg_s, noise, rms, lsb)]
        times = [timeline.time_of(k) for k in ks]
        acc_g, gyro_dps = motion_arrays(self._motion, times)
        first = timeline.noise_index(ks[0])
        noise = sensor.noise.block(first, timeline.noise_index(ks[-1]) - first + 1)[[k - ks[0] for k in ks]]
        raws = quantise(acc_g if is_accel else gyro_dps, noise, rms, lsb)
        return [tuple(row) for row in raws.tolist()]

    def _push_words(self, words) -> None:
        mode = self._fifo_mode()
        fastest = min(
            (s.timeline.period_ns for s in (self._gyro, self._accel) if self._batch_every(s)), default=1.0
        )
        anchor = min(s.timeline.first_ns for s in (self._gyro, self._accel) if s.timeline.running)
        for t, _order, sensor, raw in words:
            if len(self._fifo) >= FIFO_CAPACITY_WORDS:
                if mode == 0b001:  # FIFO mode: stop collecting when full
                    self.fifo_overwritten_words += 1
                    continue
                self._fifo.pop(0)
                self._fifo_word_pos = 0
                self.fifo_overwritten_words += 1
                self._ovr_latched = self._ovr_live = True
            slot = int(round((t - anchor) / fastest))
            x, y, z = (v & 0xFFFF for v in raw)
            self._fifo.append(
                bytes((_tag_byte(sensor.tag, slot), x & 0xFF, x >> 8, y & 0xFF, y >> 8, z & 0xFF, z >> 8))
            )
