"""Model of one HX711 (or HX717) 24-bit load-cell ADC on its HX711 breakout board, at the level
the RP2040 front end sees it: conversions on the chip's own clock, each ready at a time, with the
datasheet's noise, read as a signed 24-bit count.

* Rate: 10 or 80 SPS (HX711, RATE pin), 10/20/80/320 SPS (HX717), on the chip's internal
  oscillator; each chip's rate is off by a seeded 0.2-2 % (the datasheet gives no tolerance for
  the internal oscillator; four boards drift apart, and the front end reads a set when the last
  of them is ready).
* Output: ``code = V_in × gain × 2^24 / AVDD``, clamped to the 24-bit range (full scale
  ±0.5·AVDD/gain, datasheet "input differential range"); AVDD, which also excites the load cell
  (ratiometric), is the board's regulated 4.3 V (the usual breakout's divider on the chip's
  regulator with VCC = 5 V).
* Noise: input-referred RMS noise at gain 128 from the HX711 datasheet's table: 50 nV at 10 SPS,
  90 nV at 80 SPS. 20 and 320 SPS (HX717 only) are interpolated as ∝ √rate from 80 SPS (127 and
  180 nV; the HX717 datasheet's table could not be consulted when this was written: check them
  against it). At gain 64 the input-referred noise is taken as 1.5 times that of gain 128 (an
  assumption: the datasheet lists gain 128 only). White from conversion to conversion, seeded.
* Settling: after power-up the first conversions are not settled (datasheet: 400 ms at 10 SPS,
  50 ms at 80 SPS); the firmware discards sets for that long, as the model's front end does.

Faults: :meth:`set_not_ready` (DOUT never goes low: unpowered, missing, broken).
"""

from __future__ import annotations

import math

import numpy as np

from station.sim.noise import WhiteNoise

NOISE_128_V = {10: 50e-9, 80: 90e-9}
"""Input-referred RMS noise at gain 128, V, by rate (HX711 datasheet)."""
AVDD_V = 4.3
FULL = 1 << 23


def input_noise_rms_v(rate_sps: int, gain: int) -> float:
    """Input-referred RMS noise of one conversion, V (see the module)."""
    base = NOISE_128_V.get(rate_sps, NOISE_128_V[80] * math.sqrt(rate_sps / 80.0))
    return base * (1.0 if gain == 128 else 1.5)


class HX711Model:
    """One chip and its load cell input.

    Parameters
    ----------
    name : str
    analog_input : callable
        ``(t_ns, excitation_v) -> volts`` (:class:`station.sim.loadcell.CornerBridge`).
    rate_sps, gain : int
    seed : int or numpy.random.SeedSequence
    rate_error : float or None
        Relative rate error (0.01 = 1 % fast); None draws one.
    """

    def __init__(self, name: str, analog_input, *, rate_sps: int = 80, gain: int = 128, seed=0,
                 rate_error: float | None = None, avdd_v: float = AVDD_V) -> None:
        self.name = name
        self._input = analog_input
        seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        params_seed, noise_seed = seq.spawn(2)
        params = np.random.default_rng(params_seed)
        if rate_error is None:
            rate_error = float(params.uniform(0.002, 0.02)) * (1.0 if params.random() < 0.5 else -1.0)
        self.rate_error = float(rate_error)
        self.latency_fraction = float(params.random())
        self.rate_sps = int(rate_sps)
        self.gain = int(gain)
        self.avdd_v = float(avdd_v)
        self.period_ns = 1e9 / (self.rate_sps * (1.0 + self.rate_error))
        self.noise_v = input_noise_rms_v(self.rate_sps, self.gain)
        self._per_volt = self.gain * (1 << 24) / self.avdd_v
        self._noise = WhiteNoise(np.random.default_rng(noise_seed))
        self._noise_base = 0
        self._first_ns = 0.0
        self.ready = True
        self.runs = 0
        """Power-ups so far: conversion numbers start again from 0 at each."""
        self.conversions_evaluated = 0

    def power_up(self, now_ns: float) -> None:
        """Power returns (SCK low after a power-down): conversions restart from here."""
        self._noise_base += 1 << 20  # fresh noise for the new run (indices never go back)
        self._first_ns = float(now_ns) + (1.0 + self.latency_fraction) * self.period_ns
        self.runs += 1

    def set_not_ready(self, not_ready: bool = True) -> None:
        """While set, the chip never has data (DOUT stays high)."""
        self.ready = not not_ready

    def index_at(self, t_ns: float) -> int:
        """The newest conversion done at ``t_ns`` (-1 before the first)."""
        if t_ns < self._first_ns:
            return -1
        return int((t_ns - self._first_ns) // self.period_ns)

    def time_of(self, k: int) -> float:
        return self._first_ns + k * self.period_ns

    def code(self, k: int) -> int:
        """The signed 24-bit result of conversion ``k``."""
        self.conversions_evaluated += 1
        t = self.time_of(k)
        volts = self._input(t, self.avdd_v) + self.noise_v * self._noise.scalar(self._noise_base + k)
        code = int(round(volts * self._per_volt))
        return max(-FULL, min(FULL - 1, code))
