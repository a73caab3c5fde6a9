"""RetryingBus: bounded retries of transient errors, exact counters, clear persistent errors."""

from __future__ import annotations

import errno

import pytest

from station.hw.errors import BusError, StationHardwareError
from station.hw.i2c import RetryingBus


def test_transient_errors_are_retried_and_counted_exactly(hw, clock):
    bus = RetryingBus(hw.bus, clock, max_attempts=3, retry_delay_ns=100_000)
    bus.write_byte(0x70, 0x01)
    fl = hw.adcs["fl"]
    hw.bus.inject_nack(fl, 2)
    start = clock.monotonic_ns()
    assert bus.read_byte_data(0x2A, 0x1F) == 0x0F
    # two NACKed attempts (address byte each), two delays, one good read
    assert clock.monotonic_ns() - start == 2 * 22_500 + 2 * 100_000 + 4 * 22_500
    assert (bus.errors_total, bus.retries_total, bus.failures_total) == (2, 2, 0)
    counts = bus.counts(0x2A)
    assert (counts.errors, counts.retries, counts.failures, counts.last_errno) == (2, 2, 0, errno.EREMOTEIO)


@pytest.mark.parametrize("code", [errno.EREMOTEIO, errno.EIO, errno.ETIMEDOUT, errno.ENXIO])
def test_persistent_transient_errors_give_up_after_the_bound(hw, clock, code):
    bus = RetryingBus(hw.bus, clock, max_attempts=3, retry_delay_ns=0)
    imu = hw.imu
    hw.bus.inject_errors(imu, code, 5)
    with pytest.raises(BusError) as info:
        bus.read_byte_data(0x6A, 0x0F)
    error = info.value
    assert isinstance(error, OSError) and isinstance(error, StationHardwareError)
    assert error.errno == code and error.attempts == 3 and error.address == 0x6A
    assert "i2c-1" in str(error) and "0x6a" in str(error) and "check your wiring" in str(error)
    assert (bus.errors_total, bus.retries_total, bus.failures_total) == (3, 2, 1)
    assert imu.faults.errors_delivered == 3
    assert bus.read_byte_data(0x6A, 0x0F) == 0x6C  # two injected errors left...
    assert imu.faults.errors_delivered == 5 and bus.failures_total == 1


def test_other_errors_are_not_retried(hw, clock):
    bus = RetryingBus(hw.bus, clock)
    hw.bus.inject_errors(hw.imu, errno.EINVAL, 1)
    with pytest.raises(BusError) as info:
        bus.read_byte_data(0x6A, 0x0F)
    assert info.value.attempts == 1 and info.value.errno == errno.EINVAL
    assert bus.retries_total == 0


def test_long_reads_go_through_i2c_rdwr_and_short_ones_through_block_reads(hw, clock):
    bus = RetryingBus(hw.bus, clock)
    trace = hw.bus.start_trace()
    assert len(bus.read_block(0x6A, 0x78, 32)) == 32
    assert len(bus.read_block(0x6A, 0x78, 70)) == 70
    assert [entry[2] for entry in trace] == ["read_i2c_block_data", "i2c_rdwr"]


def test_combined_transfers_are_retried_too(hw, clock):
    bus = RetryingBus(hw.bus, clock)
    hw.bus.inject_eio(hw.imu, 1)
    assert len(bus.read_block(0x6A, 0x78, 70)) == 70
    assert bus.retries_total == 1


def test_probe_treats_no_ack_as_an_answer(hw, clock):
    bus = RetryingBus(hw.bus, clock)
    assert bus.probe_byte_data(0x6B, 0x0F) is None
    assert bus.probe_byte_data(0x6A, 0x0F) == 0x6C
    assert bus.errors_total == 0
    hw.bus.inject_eio(hw.imu, 1)
    assert bus.probe_byte_data(0x6A, 0x0F) == 0x6C
    assert bus.errors_total == 1


def test_arguments_are_checked(hw, clock):
    with pytest.raises(ValueError):
        RetryingBus(hw.bus, clock, max_attempts=0)
