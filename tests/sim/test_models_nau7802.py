"""The NAU7802 register model: power-up, conversions on its own clock, noise, calibration, faults."""

from __future__ import annotations

import math

import numpy as np
import pytest

from station.sim.bus import SimulatedBus
from station.sim.clock import SimulatedClock
from station.sim.nau7802_model import (
    ADC,
    CALIBRATION_PERIODS,
    CTRL1,
    CTRL2,
    DEVICE_REV,
    GCAL1_B3,
    PU_CTRL,
    NAU7802Model,
    input_noise_rms_v,
)

ADDR = 0x2A
RUNNING = 0x02 | 0x04 | 0x10 | 0x80  # PUD, PUA, CS, AVDDS
CTRL1_3V0_X128 = (5 << 3) | 7
CTRL2_320SPS = 7 << 4


class ConstantVolts:
    def __init__(self, volts_per_volt):
        self.ratio = volts_per_volt  # output per volt of excitation (a bridge)

    def __call__(self, t_ns, excitation_v):
        return self.ratio * excitation_v


def make(ratio=0.0, **kwargs):
    clock = SimulatedClock()
    bus = SimulatedBus(clock)
    model = bus.attach(NAU7802Model("x", ConstantVolts(ratio), **kwargs), ADDR)
    return clock, bus, model


def power_up(bus, clock, ctrl1=CTRL1_3V0_X128, ctrl2=CTRL2_320SPS):
    bus.write_byte_data(ADDR, PU_CTRL, 0x01)
    bus.write_byte_data(ADDR, PU_CTRL, 0x06)
    clock.advance_ns(300_000)
    bus.write_byte_data(ADDR, CTRL1, ctrl1)
    bus.write_byte_data(ADDR, CTRL2, ctrl2)
    bus.write_byte_data(ADDR, PU_CTRL, RUNNING)


def read_code(bus):
    b = bus.read_i2c_block_data(ADDR, 0x12, 3)
    value = (b[0] << 16) | (b[1] << 8) | b[2]
    return value - (1 << 24) if value & 0x800000 else value


def collect(bus, clock, n, poll_ns=200_000):
    codes = []
    while len(codes) < n:
        if bus.read_byte_data(ADDR, PU_CTRL) & 0x20:
            codes.append(read_code(bus))
        else:
            clock.advance_ns(poll_ns)
    return np.array(codes)


def test_power_on_values():
    clock, bus, model = make()
    assert bus.read_byte_data(ADDR, PU_CTRL) == 0x00
    assert bus.read_byte_data(ADDR, DEVICE_REV) == 0x0F
    assert bus.read_i2c_block_data(ADDR, GCAL1_B3, 4) == [0x00, 0x80, 0x00, 0x00]
    assert model.gain == 1 and model.rate_sps == 10


def test_power_up_ready_comes_about_200_us_after_pud_and_pua():
    clock, bus, model = make(seed=4)
    bus.write_byte_data(ADDR, PU_CTRL, 0x06)
    assert 120_000 <= model.pur_delay_ns <= 200_000
    # The chip saw the write when it started; the write took 3 bytes = 67.5 µs.
    clock.advance_ns(model.pur_delay_ns - 67_500 - 10_000)
    assert not bus.read_byte_data(ADDR, PU_CTRL) & 0x08  # 10 µs early; this read takes 90 µs
    assert bus.read_byte_data(ADDR, PU_CTRL) & 0x08


def test_register_reset_restores_defaults():
    clock, bus, model = make()
    power_up(bus, clock)
    bus.write_byte_data(ADDR, ADC, 0x30)
    bus.write_byte_data(ADDR, PU_CTRL, 0x01)
    assert model.register(ADC) == 0 and model.register(CTRL1) == 0
    assert bus.read_byte_data(ADDR, PU_CTRL) == 0x01


def test_conversions_come_at_the_chips_own_rate():
    clock, bus, model = make(rate_error=0.003, seed=1)
    power_up(bus, clock)
    assert model.conversion_period_ns == pytest.approx(1e9 / (320 * 1.003))
    collect(bus, clock, 1)
    start_ns = clock.monotonic_ns()
    count = len(collect(bus, clock, 3000, poll_ns=100_000))
    elapsed_s = (clock.monotonic_ns() - start_ns) / 1e9
    assert count / elapsed_s == pytest.approx(320 * 1.003, rel=5e-4)


def test_rate_errors_and_phases_are_seeded_and_small():
    errors = [NAU7802Model("x", ConstantVolts(0), seed=s).rate_error for s in range(40)]
    assert all(0.001 <= abs(e) <= 0.005 for e in errors)
    assert any(e > 0 for e in errors) and any(e < 0 for e in errors)
    assert NAU7802Model("x", ConstantVolts(0), seed=7).rate_error == NAU7802Model("x", ConstantVolts(0), seed=7).rate_error


def test_cr_stays_set_until_the_result_is_read_and_only_the_latest_is_kept():
    clock, bus, model = make(ratio=0.5e-3, seed=2)
    power_up(bus, clock)
    clock.advance_ns(50_000_000)  # about 16 conversions, none read
    assert bus.read_byte_data(ADDR, PU_CTRL) & 0x20
    assert bus.read_byte_data(ADDR, PU_CTRL) & 0x20
    read_code(bus)
    assert not bus.read_byte_data(ADDR, PU_CTRL) & 0x20
    assert model.conversions_evaluated == 1  # lazily: only the conversion that could be read


def test_result_matches_the_input_and_noise_matches_the_datasheet_figure():
    ratio = 0.8e-3  # 0.8 mV/V
    clock, bus, model = make(ratio=ratio, seed=3)
    power_up(bus, clock)
    codes = collect(bus, clock, 4000)
    expected = (ratio * 3.0 + model.offset_v) * 128 * 2**24 / 3.0
    noise_counts = input_noise_rms_v(128, 320) * 128 * 2**24 / 3.0
    assert codes.mean() == pytest.approx(expected, abs=4 * noise_counts / math.sqrt(len(codes)))
    assert codes.std() == pytest.approx(noise_counts, rel=0.05)


def test_noise_model_scales_with_gain_and_rate():
    assert input_noise_rms_v(128, 10) == pytest.approx(math.hypot(50e-9, 390e-9 / 128))
    assert input_noise_rms_v(128, 320) == pytest.approx(input_noise_rms_v(128, 10) * math.sqrt(32))
    assert input_noise_rms_v(1, 10) > input_noise_rms_v(128, 10) * 7


def test_input_beyond_full_scale_saturates():
    clock, bus, model = make(ratio=5e-3, seed=1)  # 15 mV at x128 > 0.5 * 3.0 V / 128 = 11.7 mV
    power_up(bus, clock)
    assert set(collect(bus, clock, 5)) == {2**23 - 1}
    clock, bus, model = make(ratio=-5e-3, seed=1)
    power_up(bus, clock)
    assert set(collect(bus, clock, 5)) == {-(2**23)}


def test_saturated_and_stuck_faults():
    clock, bus, model = make(ratio=0.1e-3, seed=1)
    power_up(bus, clock)
    model.set_saturated(-1)
    assert set(collect(bus, clock, 3)) == {-(2**23)}
    model.set_saturated(0)
    model.set_stuck(1234)
    assert set(collect(bus, clock, 5)) == {1234}  # CR still comes: same value every time
    model.set_stuck(cr_never=True)
    clock.advance_ns(1_000_000_000)
    assert not bus.read_byte_data(ADDR, PU_CTRL) & 0x20
    model.clear_faults()
    assert len(set(collect(bus, clock, 5))) > 1


def test_internal_offset_calibration_takes_its_time_and_removes_the_offset():
    clock, bus, model = make(ratio=0.0, seed=5)
    power_up(bus, clock)
    before = collect(bus, clock, 400).mean()
    bus.write_byte_data(ADDR, CTRL2, CTRL2_320SPS | 0x04)
    start = clock.monotonic_ns()
    while bus.read_byte_data(ADDR, CTRL2) & 0x04:
        clock.advance_ns(100_000)
    assert clock.monotonic_ns() - start == pytest.approx(CALIBRATION_PERIODS * model.conversion_period_ns, abs=200_000)
    assert not bus.read_byte_data(ADDR, CTRL2) & 0x08
    after = collect(bus, clock, 400).mean()
    noise_counts = model.noise_rms_v() * 128 * 2**24 / 3.0
    assert abs(before) > 20 * noise_counts  # the chip's own offset was visible
    assert abs(after) < 5 * noise_counts / math.sqrt(400) + noise_counts / 2


def test_calibration_error_is_reported_and_cleared_by_a_good_calibration():
    clock, bus, model = make(seed=5)
    power_up(bus, clock)
    model.fail_calibrations(1)
    for expect_error in (True, False):
        bus.write_byte_data(ADDR, CTRL2, CTRL2_320SPS | 0x04)
        while bus.read_byte_data(ADDR, CTRL2) & 0x04:
            clock.advance_ns(1_000_000)
        assert bool(bus.read_byte_data(ADDR, CTRL2) & 0x08) == expect_error
    assert model.calibrations == 2


def test_system_offset_and_gain_calibration():
    clock, bus, model = make(ratio=0.5e-3, seed=6)
    power_up(bus, clock)
    bus.write_byte_data(ADDR, CTRL2, CTRL2_320SPS | 0x04 | 0b10)  # system offset: current input -> 0
    while bus.read_byte_data(ADDR, CTRL2) & 0x04:
        clock.advance_ns(1_000_000)
    noise_counts = model.noise_rms_v() * 128 * 2**24 / 3.0
    assert abs(collect(bus, clock, 200).mean()) < noise_counts
    bus.write_byte_data(ADDR, CTRL2, CTRL2_320SPS | 0x04 | 0b11)  # gain with zero input: CAL_ERR
    while bus.read_byte_data(ADDR, CTRL2) & 0x04:
        clock.advance_ns(1_000_000)
    assert bus.read_byte_data(ADDR, CTRL2) & 0x08


def test_changing_the_rate_restarts_conversions_at_the_new_rate():
    clock, bus, model = make(seed=8, rate_error=0.0)
    power_up(bus, clock, ctrl2=3 << 4)  # 80 SPS
    assert model.conversion_period_ns == pytest.approx(12.5e6)
    bus.write_byte_data(ADDR, CTRL2, 0 << 4)
    assert model.rate_sps == 10


def test_same_seed_same_schedule_same_readings():
    def run(seed):
        clock, bus, model = make(ratio=0.3e-3, seed=seed)
        power_up(bus, clock)
        return collect(bus, clock, 50)

    assert np.array_equal(run(11), run(11))
    assert not np.array_equal(run(11), run(12))
