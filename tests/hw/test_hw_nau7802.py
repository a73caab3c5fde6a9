"""The NAU7802 driver against the register model: bring-up, reading, every error path."""

from __future__ import annotations

import math

import pytest

from station.hw.errors import (
    BusError,
    CalibrationError,
    ChipNotFoundError,
    ChipResetError,
    ChipTimeoutError,
    ConfigurationError,
    RegisterVerifyError,
    StationHardwareError,
    WrongChipError,
)
from station.hw.nau7802 import NAU7802
from station.hw.tca9548a import TCA9548A
from station.sim.bus import SimulatedBus
from station.sim.lsm6dsox_model import LSM6DSOXModel
from station.sim.nau7802_model import ADC, CTRL1, CTRL2, PU_CTRL, PWR_CTRL


@pytest.fixture
def fl(hw, rbus, clock):
    """The FL corner's driver with its mux channel selected."""
    TCA9548A(rbus, clock).select(0)
    return NAU7802(rbus, clock, where="corner fl")


def wait_value(adc, clock):
    while (value := adc.read_if_ready()) is None:
        clock.advance_ns(500_000)
    return value


def test_bring_up_sets_the_datasheet_configuration(hw, fl, clock):
    start = clock.monotonic_ns()
    fl.begin(rate_sps=320, gain=128, ldo_v=3.0)
    model = hw.adcs["fl"]
    assert model.register(CTRL1) == (5 << 3) | 7  # VLDO 3.0 V, gain 128
    assert model.register(CTRL2) & 0xF3 == 7 << 4  # 320 SPS, channel 1, CALMOD 00
    assert model.register(PU_CTRL) == 0x02 | 0x04 | 0x10 | 0x80  # PUD PUA CS AVDDS
    assert model.register(ADC) & 0x30 == 0x30  # REG_CHPS: clock chopper off
    assert model.register(PWR_CTRL) & 0x80  # PGA_CAP_EN
    assert model.calibrations == 1 and fl.register_rewrites == 0
    assert model.avdd_v == pytest.approx(3.0)
    elapsed_ms = (clock.monotonic_ns() - start) / 1e6
    assert 250 + 27.5 * 3.1 < elapsed_ms < 400  # LDO settling + one calibration


def test_reading_is_one_transaction_of_three_bytes_and_matches_the_load(hw, fl, clock):
    fl.begin(rate_sps=80, gain=128)
    wait_value(fl, clock)
    trace = hw.bus.start_trace()
    value = wait_value(fl, clock)
    data_reads = [entry for entry in trace if entry[2] == "read_i2c_block_data"]
    assert [(entry[3], entry[4]) for entry in data_reads] == [(bytes([0x12]), 3)]
    model, cell = hw.adcs["fl"], hw.cells[0]
    force = hw.load_source.corner_forces_n(0.0)[0]
    expected = cell.output_v(force, 3.0) * 128 * 2**24 / 3.0
    noise = model.noise_rms_v() * 128 * 2**24 / 3.0
    assert value == pytest.approx(expected, abs=5 * noise + 50)  # + residual calibration offset


@pytest.mark.parametrize("code", [0, 1, -1, 2**23 - 1, -(2**23), -5, 0x123456])
def test_24_bit_results_are_sign_extended(hw, fl, clock, code):
    fl.begin(rate_sps=320)
    hw.adcs["fl"].set_stuck(code)
    assert wait_value(fl, clock) == code


def test_stale_when_no_new_conversion(hw, fl, clock):
    fl.begin(rate_sps=10)
    wait_value(fl, clock)
    assert fl.read_if_ready() is None
    clock.advance_ns(101_000_000)
    assert fl.read_if_ready() is not None


def test_missing_chip_names_bus_address_and_what_to_check(hw, rbus, clock):
    TCA9548A(rbus, clock).select(4)  # nothing on channel 4
    adc = NAU7802(rbus, clock, where="corner x")
    with pytest.raises(ChipNotFoundError) as info:
        adc.begin()
    message = str(info.value)
    assert "i2c-1 0x2a (corner x)" in message and "no ACK" in message and "check your wiring" in message
    assert isinstance(info.value, LookupError) and isinstance(info.value, StationHardwareError)
    assert info.value.read_value is None


def test_wrong_chip_reports_what_was_read(clock):
    bus = SimulatedBus(clock)
    bus.attach(LSM6DSOXModel(lambda t: None, seed=1), 0x2A)  # something else at 0x2A
    with pytest.raises(WrongChipError) as info:
        NAU7802(bus, clock).probe()
    assert info.value.read_value == 0x00
    assert "DEVICE_REV (0x1F) reads 0x00" in str(info.value)


def test_power_up_ready_timeout(hw, fl, clock):
    hw.adcs["fl"].set_power_up_failure()
    with pytest.raises(ChipTimeoutError) as info:
        fl.configure(rate_sps=80, gain=128)
    assert "PUR" in str(info.value) and isinstance(info.value, TimeoutError)


def test_calibration_error_is_retried_once_then_reported(hw, fl, clock):
    model = hw.adcs["fl"]
    model.fail_calibrations(1)
    fl.begin(rate_sps=320)
    assert model.calibrations == 2 and fl.calibration_retries == 1
    model.fail_calibrations(2)
    with pytest.raises(CalibrationError) as info:
        fl.calibrate()
    assert "CAL_ERR" in str(info.value)
    assert model.calibrations == 4


def test_calibration_timeout(hw, fl, clock):
    fl.configure(rate_sps=320)
    hw.adcs["fl"].set_calibration_hang()
    start = clock.monotonic_ns()
    with pytest.raises(ChipTimeoutError) as info:
        fl.calibrate(attempts=1)
    assert "CALS still set" in str(info.value)
    assert clock.monotonic_ns() - start >= fl.calibration_timeout_ns()


# configure() reads, in order: DEVICE_REV (probe), PU_CTRL twice (PUR comes 120-200 µs after
# power-up: not yet at the first poll, 67.5 µs after the write; set at the second, 257.5 µs),
# then the read-back of CTRL1: the 4th read message.
READS_BEFORE_CTRL1_READBACK = 3


def test_a_corrupted_identification_read_is_reported_as_what_was_read(hw, fl, clock):
    hw.bus.corrupt_reads(hw.adcs["fl"], 1, xor_mask=0x01)
    with pytest.raises(WrongChipError) as info:
        fl.configure(rate_sps=320)
    assert info.value.read_value == 0x0E


def test_a_corrupted_read_back_is_written_again(hw, fl, clock):
    model = hw.adcs["fl"]
    hw.bus.corrupt_reads(model, 1, xor_mask=0x01, after=READS_BEFORE_CTRL1_READBACK)
    fl.configure(rate_sps=320)
    assert fl.register_rewrites == 1
    assert model.faults.corruptions_delivered == 1
    assert model.register(CTRL1) == (5 << 3) | 7


def test_a_persistently_corrupted_read_back_raises(hw, fl, clock):
    hw.bus.corrupt_reads(hw.adcs["fl"], 3, xor_mask=0x40, after=READS_BEFORE_CTRL1_READBACK)
    with pytest.raises(RegisterVerifyError) as info:
        fl.configure(rate_sps=320)
    assert "CTRL1 (0x01)" in str(info.value) and "written 3 times" in str(info.value)
    assert isinstance(info.value, OSError)


def test_bus_errors_while_reading_are_retried_with_exact_counts(hw, fl, rbus, clock):
    fl.begin(rate_sps=320)
    model = hw.adcs["fl"]
    hw.bus.inject_nack(model, 2)
    wait_value(fl, clock)
    assert (rbus.errors_total, rbus.retries_total, rbus.failures_total) == (2, 2, 0)
    hw.bus.inject_eio(model, 3)
    with pytest.raises(BusError) as info:
        fl.read_if_ready()
    assert info.value.errno == 5 and info.value.attempts == 3
    assert (rbus.errors_total, rbus.retries_total, rbus.failures_total) == (5, 4, 1)


def test_timeout_errors_charge_their_time_and_are_retried(hw, fl, rbus, clock):
    fl.begin(rate_sps=320)
    hw.bus.inject_timeout(hw.adcs["fl"], 1, timeout_ns=25_000_000)
    start = clock.monotonic_ns()
    fl.data_ready()
    assert clock.monotonic_ns() - start >= 25_000_000 + 2 * 4 * 22_500
    assert rbus.retries_total == 1


def test_a_chip_that_vanished_and_returned_is_detected_and_can_be_brought_up_again(hw, fl, clock):
    fl.begin(rate_sps=320)
    model = hw.adcs["fl"]
    hw.bus.vanish(model)
    with pytest.raises(BusError):
        fl.read_if_ready()
    hw.bus.reappear(model)
    with pytest.raises(ChipResetError) as info:
        fl.read_if_ready()
    assert "PU_CTRL = 0x00" in str(info.value)
    assert not fl.is_configured()
    fl.begin(rate_sps=320)
    assert fl.is_configured()
    assert wait_value(fl, clock) is not None


def test_unavailable_settings_are_refused_before_touching_the_bus(hw, fl, clock):
    trace = hw.bus.start_trace()
    for kwargs in ({"rate_sps": 100}, {"gain": 3}, {"ldo_v": 5.0}):
        with pytest.raises(ConfigurationError) as info:
            fl.configure(**kwargs)
        assert "choose one of" in str(info.value)
    assert trace == []


def test_noise_in_counts_matches_the_model_figure(hw, fl, clock):
    fl.begin(rate_sps=320, gain=128)
    values = [wait_value(fl, clock) for _ in range(2000)]
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    assert std == pytest.approx(hw.adcs["fl"].noise_rms_v() * 128 * 2**24 / 3.0, rel=0.06)


def test_model_registers_after_reset_and_configure_read_back(hw, fl, clock):
    fl.configure(rate_sps=40, gain=64, ldo_v=3.3)
    assert hw.adcs["fl"].register(CTRL2) & 0x70 == 2 << 4
    assert hw.adcs["fl"].gain == 64 and hw.adcs["fl"].avdd_v == pytest.approx(3.3)
