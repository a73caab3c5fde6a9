"""Register-level model of the Nuvoton NAU7802 24-bit bridge-sensor ADC (datasheet rev 1.7,
register map §10–11; power-on sequence §9.1; calibration §8.6).

What the model does, as the chip does:

* I2C: 7-bit address 0x2A; a write message's first byte sets the register pointer, following
  bytes are written to consecutive registers; reads return consecutive registers from the pointer
  (so the 24-bit result 0x12–0x14 comes in one transaction, latched when the read starts).
* ``PU_CTRL`` (0x00): ``RR`` resets every register to its power-on value; setting ``PUD`` and
  ``PUA`` powers the chip up and ``PUR`` reads 1 about 200 µs later (seeded, 120–200 µs);
  conversions run while powered with ``CS`` set, synchronised to the rising edge of ``CS``;
  ``CR`` is set when a conversion completes and cleared when the result is read; ``AVDDS``
  selects the internal LDO (voltage ``VLDO`` in ``CTRL1``) as AVDD.
* ``CTRL1``: gain ``GAINS`` (x1..x128), ``VLDO`` (4.5 V − 0.3 V × code). ``CTRL2``: rate ``CRS``
  (10/20/40/80/320 SPS), calibration: writing ``CALS`` starts the mode in ``CALMOD``; ``CALS``
  reads 1 until done, then ``CAL_ERR`` tells the result. Internal offset calibration (00) and
  system offset calibration (10) set ``OCAL1``; system gain calibration (11) sets ``GCAL1`` and
  fails (``CAL_ERR``) when the required gain is out of range (§8.6.3). Calibration takes 27.5
  conversion periods (SparkFun measured about 344 ms at 80 SPS; scaling it with the rate is this
  model's assumption); conversions pause meanwhile and restart when it ends. Changing gain, LDO,
  rate or channel restarts the conversion cycle.
* Output: ``GCAL1/2^23 × (code − OCAL1)``, code = ``V_in × gain × 2^24 / VREF`` (full scale is
  ± 0.5 VREF / gain), clamped to the 24-bit range. VREF is AVDD, which also excites the load cell
  (ratiometric).
* Timing on the chip's OWN clock: the conversion period has a seeded error of ± 0.1–0.5 % and the
  first conversion after a start has a seeded latency of up to one period, so four chips drift
  apart as on the real plate (DESIGN.md §6). Evaluation is lazy: when a register is accessed, only
  the latest conversion since the previous access is computed (only it can be read).
* Noise: input-referred RMS noise ``sqrt(e_pga² + (e_mod / gain)²) × sqrt(rate / 10 SPS)`` with
  ``e_pga`` = 50 nV and ``e_mod`` = 390 nV at 10 SPS (see :data:`PGA_NOISE_10SPS_V`), white from
  conversion to conversion, pre-generated in seeded chunks indexed by conversion number (the same
  seed and schedule give the same readings). ``e_mod`` is the datasheet's "up to 23-bit ENOB";
  ``e_pga`` is the typical figure recalled for gain 128 at 10 SPS — the datasheet's noise table
  (§7.5.2) could not be consulted when this was written, so check both constants against it. At
  gain 1, 40 SPS this gives about 4 counts RMS at 3.3 V, what users report for a clean supply;
  at gain 128, 320 SPS, 3.0 V about 200 counts (0.05 N per corner with 1 mV/V, 50 kg cells).

Not modelled: channel 2 (``CHS`` only restarts the cycle), the temperature sensor, OTP, digital
filter settling after a start, the external crystal (``OSCS``), ``DRDY`` pin.

Faults (besides the bus-level ones of :class:`station.sim.bus.SimulatedBus`): :meth:`set_stuck`,
:meth:`set_saturated`, :meth:`fail_calibrations`, :meth:`set_calibration_hang`,
:meth:`set_power_up_failure`, :meth:`clear_faults`.
"""

from __future__ import annotations

import math

import numpy as np

from station.sim.bus import SimDevice
from station.sim.imu_common import continue_at_period
from station.sim.noise import WhiteNoise

NAU7802_ADDRESS = 0x2A

# Register addresses (datasheet names).
PU_CTRL = 0x00
CTRL1 = 0x01
CTRL2 = 0x02
OCAL1_B2 = 0x03
GCAL1_B3 = 0x06
OCAL2_B2 = 0x0A
GCAL2_B3 = 0x0D
I2C_CONTROL = 0x11
ADCO_B2 = 0x12
ADCO_B1 = 0x13
ADCO_B0 = 0x14
ADC = 0x15
PGA = 0x1B
PWR_CTRL = 0x1C
DEVICE_REV = 0x1F
N_REGISTERS = 0x20

# PU_CTRL bits.
RR, PUD, PUA, PUR, CS, CR, OSCS, AVDDS = (1 << n for n in range(8))
PU_CTRL_WRITABLE = RR | PUD | PUA | CS | OSCS | AVDDS
# CTRL2 bits.
CALMOD_MASK = 0x03
CALS = 1 << 2
CAL_ERR = 1 << 3
CRS_SHIFT = 4
CRS_MASK = 0x70
CHS = 1 << 7

RATE_SPS_BY_CRS = {0: 10, 1: 20, 2: 40, 3: 80, 4: 10, 5: 10, 6: 10, 7: 320}
"""Conversion rate by ``CRS`` code; codes 4–6 are reserved (they run at 10 SPS, as the Linux
driver's table assumes)."""
DEVICE_REV_VALUE = 0x0F
"""``DEVICE_REV`` (0x1F): revision ID in the low nibble (0xF)."""

PGA_NOISE_10SPS_V = 50e-9
"""Front-end (PGA) input-referred RMS noise at 10 SPS, V: dominates at high gain."""
MODULATOR_NOISE_10SPS_V = 390e-9
"""Modulator RMS noise at the ADC input at 10 SPS, V (the "23-bit ENOB" of the datasheet's
features: 3.3 V / 2^23); divided by the gain when referred to the input."""

CALIBRATION_PERIODS = 27.5
"""Duration of a calibration, in conversion periods (≈ 344 ms at 80 SPS)."""
INTERNAL_OFFSET_HALF_RANGE_V = 30e-6
"""The chip's own input offset is drawn uniformly in ± this, V (illustrative; removed by the
internal offset calibration to within the noise)."""
_FULL_SCALE = 1 << 23


def input_noise_rms_v(gain: int, rate_sps: float) -> float:
    """Input-referred RMS noise of one conversion at ``gain`` and ``rate_sps``, V."""
    return math.hypot(PGA_NOISE_10SPS_V, MODULATOR_NOISE_10SPS_V / gain) * math.sqrt(rate_sps / 10.0)


class NAU7802Model(SimDevice):
    """One NAU7802 with its analog input.

    Parameters
    ----------
    name : str
        For messages and tests (``"fl"``).
    analog_input : callable
        ``analog_input(t_ns, excitation_v) -> volts`` on channel 1 (see
        :class:`station.sim.loadcell.CornerBridge`).
    seed : int or numpy.random.SeedSequence
        Seeds the rate error, start latency, offset and noise.
    rate_error : float or None
        Relative error of the conversion rate (0.003 = 0.3 % fast); ``None`` draws one of
        magnitude 0.1–0.5 % with a random sign.
    external_avdd_v : float
        AVDD when the internal LDO is not selected (``AVDDS`` = 0), V.
    """

    name = "NAU7802"

    def __init__(self, name: str, analog_input, *, seed=0, rate_error: float | None = None, external_avdd_v: float = 3.3) -> None:
        super().__init__()
        self.name = name
        self._input = analog_input
        seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        params_seed, noise_seed, cal_seed = seq.spawn(3)
        params = np.random.default_rng(params_seed)
        if rate_error is None:
            rate_error = float(params.uniform(0.001, 0.005)) * (1.0 if params.random() < 0.5 else -1.0)
        self.rate_error = float(rate_error)
        self.start_latency_fraction = float(params.random())
        self.pur_delay_ns = int(params.uniform(120_000, 200_000))
        self.offset_v = float(params.uniform(-INTERNAL_OFFSET_HALF_RANGE_V, INTERNAL_OFFSET_HALF_RANGE_V))
        self.external_avdd_v = float(external_avdd_v)
        self._noise = WhiteNoise(np.random.default_rng(noise_seed))
        self._cal_rng = np.random.default_rng(cal_seed)
        # Faults.
        self._stuck_code: int | None = None
        self._stuck_cr_never = False
        self._saturated = 0
        self._calibration_failures = 0
        self._power_up_fails = False
        self._calibration_hangs = False
        # Counters for tests.
        self.conversions_evaluated = 0
        self.calibrations = 0
        # Conversion-run state (see _start_run); the noise index survives resets.
        self._noise_base = 0
        self._run_first_ns: float | None = None
        self._period_ns = 1.0
        self._last_k = -1
        self._now_ns = 0
        self._constants_key = b""
        self._constants_value = ()
        self._reset_state(0)

    # ------------------------------------------------------------------ state
    def _reset_state(self, now_ns: int) -> None:
        self._regs = bytearray(N_REGISTERS)
        self._regs[GCAL1_B3 : GCAL1_B3 + 4] = (0x00800000).to_bytes(4, "big")
        self._regs[GCAL2_B3 : GCAL2_B3 + 4] = (0x00800000).to_bytes(4, "big")
        self._regs[DEVICE_REV] = DEVICE_REV_VALUE
        self._pointer = 0
        self._powered = False
        self._pur_at_ns = 0
        self._cal_end_ns: float | None = None
        self._cal_mode = 0
        self._cal_fails_pending = False
        self._cr = False
        self._code = 0
        self._stop_run(now_ns)

    def power_on_reset(self, now_ns: int) -> None:
        """The chip after power returns: every register at its default, powered down."""
        self._stop_run(now_ns)
        self._reset_state(now_ns)

    @property
    def rate_sps(self) -> int:
        """Nominal conversion rate selected by ``CRS``, SPS."""
        return RATE_SPS_BY_CRS[(self._regs[CTRL2] & CRS_MASK) >> CRS_SHIFT]

    @property
    def gain(self) -> int:
        """PGA gain selected by ``GAINS``."""
        return 1 << (self._regs[CTRL1] & 0x07)

    @property
    def avdd_v(self) -> float:
        """AVDD (= ADC reference = load-cell excitation), V."""
        if self._regs[PU_CTRL] & AVDDS:
            return 4.5 - 0.3 * ((self._regs[CTRL1] >> 3) & 0x07)
        return self.external_avdd_v

    @property
    def conversion_period_ns(self) -> float:
        """Actual conversion period on this chip's clock, ns."""
        return 1e9 / (self.rate_sps * (1.0 + self.rate_error))

    def noise_rms_v(self) -> float:
        """Input-referred RMS noise at the current gain and rate, V."""
        return input_noise_rms_v(self.gain, self.rate_sps)

    def register(self, address: int) -> int:
        """The stored value of a register, for tests (no side effects, status bits not composed)."""
        return self._regs[address]

    @property
    def offset_calibration_code(self) -> int:
        """``OCAL1`` as a signed 24-bit code."""
        return _signed24(int.from_bytes(self._regs[OCAL1_B2 : OCAL1_B2 + 3], "big"))

    @property
    def gain_calibration(self) -> float:
        """``GCAL1`` as a factor (0x00800000 = 1.0)."""
        return int.from_bytes(self._regs[GCAL1_B3 : GCAL1_B3 + 4], "big") / _FULL_SCALE

    # ------------------------------------------------------------------ faults
    def set_rate_error(self, rate_error: float, now_ns: int) -> None:
        """The conversion clock runs ``rate_error`` off from ``now_ns`` on (its temperature changed):
        the conversions made so far are made first, the next ones come at the new rate, numbered on."""
        self._advance(now_ns)
        self.rate_error = float(rate_error)
        first = self._run_first_ns
        period = self.conversion_period_ns
        if first is not None:
            if now_ns >= first:
                self._run_first_ns = continue_at_period(first, self._period_ns, now_ns, period)
            else:
                self._run_first_ns = now_ns + (first - now_ns) * (period / self._period_ns)
            self._period_ns = period

    def set_stuck(self, code: int | None = None, *, cr_never: bool = False) -> None:
        """Freeze the result register at ``code`` (default: its current value); with
        ``cr_never`` the ``CR`` bit never sets again."""
        self._stuck_code = self._code if code is None else int(code)
        self._stuck_cr_never = bool(cr_never)
        if cr_never:
            self._cr = False

    def set_saturated(self, sign: int = 1) -> None:
        """Every conversion reads positive (``sign`` > 0) or negative full scale; 0 stops it."""
        self._saturated = (sign > 0) - (sign < 0)

    def set_power_up_failure(self, failing: bool = True) -> None:
        """While ``failing``, ``PUR`` never sets and nothing converts (e.g. a shorted AVDD)."""
        self._power_up_fails = bool(failing)

    def set_calibration_hang(self, hanging: bool = True) -> None:
        """While ``hanging``, a calibration never finishes (``CALS`` stays 1)."""
        self._calibration_hangs = bool(hanging)

    def fail_calibrations(self, count: int = 1) -> None:
        """The next ``count`` calibrations end with ``CAL_ERR`` = 1."""
        self._calibration_failures += int(count)

    def clear_faults(self) -> None:
        """Undo :meth:`set_stuck`, :meth:`set_saturated` and pending calibration failures."""
        self._stuck_code = None
        self._stuck_cr_never = False
        self._saturated = 0
        self._calibration_failures = 0
        self._power_up_fails = False
        self._calibration_hangs = False

    # ------------------------------------------------------------------ I2C
    def i2c_write(self, data: bytes, now_ns: int) -> None:
        if not data:
            return
        self._advance(now_ns)
        pointer = data[0] & 0x1F
        for value in data[1:]:
            self._write_register(pointer, value, now_ns)
            pointer = (pointer + 1) & 0x1F
        self._pointer = pointer

    def i2c_read(self, length: int, now_ns: int) -> bytes:
        self._advance(now_ns)
        pointer = self._pointer
        if length == 3 and pointer == ADCO_B2:  # the hot path: the 24-bit result
            code = self._code & 0xFFFFFF
            self._cr = False
            self._pointer = ADCO_B0 + 1
            return bytes((code >> 16, (code >> 8) & 0xFF, code & 0xFF))
        out = bytearray(length)
        read_result = False
        for i in range(length):
            out[i] = self._read_register(pointer)
            if ADCO_B2 <= pointer <= ADCO_B0:
                read_result = True
            pointer = (pointer + 1) & 0x1F
        self._pointer = pointer
        if read_result:
            self._cr = False
        return bytes(out)

    def _read_register(self, address: int) -> int:
        regs = self._regs
        if address == PU_CTRL:
            value = regs[PU_CTRL] & ~(PUR | CR)
            if self._power_ready(self._now_ns):
                value |= PUR
            if self._cr:
                value |= CR
            return value
        if address == CTRL2:
            value = regs[CTRL2] & ~CALS
            if self._cal_end_ns is not None:
                value |= CALS
            return value
        if address == ADCO_B2:
            return (self._code >> 16) & 0xFF
        if address == ADCO_B1:
            return (self._code >> 8) & 0xFF
        if address == ADCO_B0:
            return self._code & 0xFF
        return regs[address]

    def _write_register(self, address: int, value: int, now_ns: int) -> None:
        regs = self._regs
        if address == PU_CTRL:
            self._write_pu_ctrl(value, now_ns)
        elif address == CTRL1:
            old = regs[CTRL1]
            regs[CTRL1] = value
            if (old ^ value) & 0x3F:
                self._restart_if_running(now_ns)
        elif address == CTRL2:
            if self._cal_end_ns is not None:
                # Calibrating: the chip ignores writes to CALS and the rest of the register
                # until it is done (§8.6).
                return
            old = regs[CTRL2]
            regs[CTRL2] = (value & (CALMOD_MASK | CRS_MASK | CHS)) | (old & CAL_ERR)
            if (old ^ value) & (CRS_MASK | CHS):
                self._restart_if_running(now_ns)
            if value & CALS:
                self._start_calibration(now_ns, value & CALMOD_MASK)
        elif ADCO_B2 <= address <= ADCO_B0 or address == DEVICE_REV:
            return  # read-only
        else:
            regs[address] = value

    def _write_pu_ctrl(self, value: int, now_ns: int) -> None:
        regs = self._regs
        value &= PU_CTRL_WRITABLE
        if value & RR:
            self._stop_run(now_ns)
            self._reset_state(now_ns)
            regs = self._regs
            regs[PU_CTRL] = RR
            return
        old = regs[PU_CTRL]
        regs[PU_CTRL] = value
        powered = bool(value & PUD) and bool(value & PUA)
        if powered and not self._powered:
            self._powered = True
            self._pur_at_ns = now_ns + self.pur_delay_ns
        elif not powered and self._powered:
            self._powered = False
            self._stop_run(now_ns)
        if (value & CS) and not (old & CS):
            self._start_run(now_ns)
        elif not (value & CS) and (old & CS):
            self._stop_run(now_ns)

    # ------------------------------------------------------------------ conversions
    def _start_run(self, now_ns: float) -> None:
        """Start converting at ``now_ns`` (CS edge, end of calibration, config change)."""
        self._stop_run(now_ns)
        if not (self._powered and self._regs[PU_CTRL] & CS) or self._cal_end_ns is not None or self._power_up_fails:
            return
        start = max(float(now_ns), float(self._pur_at_ns))
        period = self.conversion_period_ns
        self._period_ns = period
        self._run_first_ns = start + (1.0 + self.start_latency_fraction) * period
        self._last_k = -1

    def _stop_run(self, now_ns: float) -> None:
        first = self._run_first_ns
        if first is not None and now_ns >= first:
            # Conversions of the ending run consume their noise samples, read or not.
            self._noise_base += int((now_ns - first) // self._period_ns) + 1
        self._run_first_ns = None
        self._last_k = -1

    def _power_ready(self, now_ns: float) -> bool:
        return self._powered and not self._power_up_fails and now_ns >= self._pur_at_ns

    def _restart_if_running(self, now_ns: int) -> None:
        if self._run_first_ns is not None:
            self._start_run(now_ns)

    def _advance(self, now_ns: int) -> None:
        self._now_ns = now_ns
        if self._cal_end_ns is not None and now_ns >= self._cal_end_ns and not self._calibration_hangs:
            self._finish_calibration(self._cal_end_ns)
        first = self._run_first_ns
        if first is None or now_ns < first:
            return
        k = int((now_ns - first) // self._period_ns)
        if k > self._last_k:
            self._last_k = k
            t_k = first + k * self._period_ns
            if self._stuck_code is not None:
                self._code = self._stuck_code
            else:
                self._code = self._convert(t_k, self._noise_base + k)
            if not self._stuck_cr_never:
                self._cr = True

    def _constants(self) -> tuple:
        """(AVDD V, counts per volt, noise V, OCAL1 code, GCAL1 factor), recomputed only when the
        registers they come from (0x00..0x09) change."""
        key = bytes(self._regs[:10])
        if key != self._constants_key:
            self._constants_key = key
            avdd = self.avdd_v
            self._constants_value = (
                avdd,
                self.gain * (1 << 24) / avdd,
                self.noise_rms_v(),
                self.offset_calibration_code,
                self.gain_calibration,
            )
        return self._constants_value

    def _convert(self, t_ns: float, index: int) -> int:
        self.conversions_evaluated += 1
        if self._saturated:
            return _FULL_SCALE - 1 if self._saturated > 0 else -_FULL_SCALE
        avdd, per_volt, noise_v, ocal, gcal = self._constants()
        volts = self._input(t_ns, avdd) + self.offset_v + noise_v * self._noise.scalar(index)
        code = int(round(gcal * (volts * per_volt - ocal)))
        if code >= _FULL_SCALE:
            return _FULL_SCALE - 1
        if code < -_FULL_SCALE:
            return -_FULL_SCALE
        return code

    # ------------------------------------------------------------------ calibration
    def _start_calibration(self, now_ns: int, mode: int) -> None:
        self._stop_run(now_ns)
        nominal_period_ns = 1e9 / (self.rate_sps * (1.0 + self.rate_error))
        self._cal_end_ns = now_ns + CALIBRATION_PERIODS * nominal_period_ns
        self._cal_mode = mode
        self._cr = False
        self.calibrations += 1

    def _finish_calibration(self, end_ns: float) -> None:
        self._cal_end_ns = None
        regs = self._regs
        failed = False
        if self._calibration_failures > 0:
            self._calibration_failures -= 1
            failed = True
        else:
            failed = not self._apply_calibration(end_ns)
        if failed:
            regs[CTRL2] |= CAL_ERR
        else:
            regs[CTRL2] &= ~CAL_ERR
        self._start_run(end_ns)

    def _apply_calibration(self, t_ns: float) -> bool:
        """Compute the calibration registers for the current mode; False means CAL_ERR."""
        avdd = self.avdd_v
        gain = self.gain
        per_volt = gain * (1 << 24) / avdd
        # The chip averages several conversions: the residual is the noise of that average.
        residual_v = self.noise_rms_v() / 4.0 * float(self._cal_rng.standard_normal())
        mode = self._cal_mode
        if mode == 0b00:  # internal offset: inputs shorted inside the chip
            self._set_ocal(round((self.offset_v + residual_v) * per_volt))
            return True
        if mode == 0b10:  # system offset: what is on the input now becomes zero
            volts = self._input(t_ns, avdd) + self.offset_v + residual_v
            self._set_ocal(round(volts * per_volt))
            return True
        if mode == 0b11:  # system gain: what is on the input now becomes full scale
            volts = self._input(t_ns, avdd) + self.offset_v + residual_v
            offset_adjusted = volts * per_volt - self.offset_calibration_code
            if offset_adjusted <= 0:
                return False
            factor = (_FULL_SCALE - 1) / offset_adjusted
            if factor >= 256.0:
                return False
            self._regs[GCAL1_B3 : GCAL1_B3 + 4] = int(round(factor * _FULL_SCALE)).to_bytes(4, "big")
            return True
        return False  # CALMOD 01 is reserved

    def _set_ocal(self, code: int) -> None:
        code = max(-_FULL_SCALE, min(_FULL_SCALE - 1, int(code)))
        self._regs[OCAL1_B2 : OCAL1_B2 + 3] = (code & 0xFFFFFF).to_bytes(3, "big")


def _signed24(value: int) -> int:
    return value - (1 << 24) if value & 0x800000 else value
