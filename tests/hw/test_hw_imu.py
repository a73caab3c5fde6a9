"""IMU detection and the LSM6DSOX / MPU-6050 drivers against their register models."""

from __future__ import annotations

import numpy as np
import pytest

from station.config import ImuConfig, StationConfig
from station.hw.errors import ChipNotFoundError, ConfigurationError, StationHardwareError, WrongChipError
from station.hw.imu import FifoRead, detect_imu
from station.hw.lsm6dsox import LSM6DSOX
from station.hw.mpu6050 import MPU6050
from station.sim.bus import SimulatedBus
from station.sim.hardware import build_simulated_hardware
from station.sim.loads import STANDARD_GRAVITY_M_S2
from station.sim.mpu6050_model import MPU6050Model
from station.sim.static_load import ConstantLoad

MOVING = ConstantLoad(acc_m_s2=(1.5, -0.75, 9.5), gyro_deg_s=(12.0, -25.0, 40.0))
TRUTH = np.array([1.5, -0.75, 9.5, 12.0, -25.0, 40.0])


@pytest.fixture(params=["lsm6dsox", "mpu6050"])
def imu_hw(request, make_hw):
    return make_hw(load=MOVING, imu_model=request.param)


def poll_samples(imu, clock, n):
    out = []
    while len(out) < n:
        if imu.data_ready():
            out.append(imu.read_sample())
        else:
            clock.advance_ns(1_000_000)
    return np.array(out)


def test_detect_finds_each_chip_at_its_address(make_hw, clock, config):
    for model, cls, address in (("lsm6dsox", LSM6DSOX, 0x6A), ("mpu6050", MPU6050, 0x68)):
        hw = make_hw(imu_model=model)
        imu = detect_imu(hw.bus, clock)
        assert isinstance(imu, cls) and imu.address == address
    hw = build_simulated_hardware(clock, None, StationConfig(imu=ImuConfig(address=0x6B)), imu_model="lsm6dsox")
    assert detect_imu(hw.bus, clock).address == 0x6B
    hw = build_simulated_hardware(clock, None, StationConfig(imu=ImuConfig(address=0x69)), imu_model="mpu6050")
    assert detect_imu(hw.bus, clock, model="mpu6050").address == 0x69


def test_no_imu_lists_every_address_tried(make_hw, clock):
    hw = make_hw(imu_model="none")
    with pytest.raises(ChipNotFoundError) as info:
        detect_imu(hw.bus, clock)
    message = str(info.value)
    for address in ("0x6a", "0x6b", "0x68", "0x69"):
        assert f"nothing at {address}" in message
    assert "check your wiring" in message and 'model = "none"' in message


def test_a_wrong_chip_reports_what_was_read(clock):
    bus = SimulatedBus(clock)
    bus.attach(MPU6050Model(lambda t: MOVING.trunk(0), seed=1), 0x6A)  # an MPU strapped at 0x6A
    with pytest.raises(WrongChipError) as info:
        detect_imu(bus, clock, model="lsm6dsox")
    assert "0x6a: WHO_AM_I (0x0f) reads 0x00" in str(info.value)
    assert info.value.read_value == 0x00 and info.value.address == 0x6A
    with pytest.raises(WrongChipError):
        LSM6DSOX(bus, clock, address=0x6A).begin()


def test_unknown_model_or_address(make_hw, clock):
    hw = make_hw()
    with pytest.raises(ConfigurationError):
        detect_imu(hw.bus, clock, model="bno055")
    with pytest.raises(ConfigurationError):
        detect_imu(hw.bus, clock, address=0x29)


def test_samples_are_scaled_to_m_s2_and_deg_s(imu_hw, clock):
    imu = detect_imu(imu_hw.bus, clock)
    imu.begin(100.0, 4, 500)
    samples = poll_samples(imu, clock, 300)
    assert samples.mean(axis=0) == pytest.approx(TRUTH, abs=0.01 * 9.81)
    assert np.abs(samples.mean(axis=0)[3:] - TRUTH[3:]).max() < 0.05


def test_rate_and_ranges_are_configured(imu_hw, clock):
    imu = detect_imu(imu_hw.bus, clock)
    imu.begin(100.0, 8, 1000)
    expected_rate = 104.0 if imu.name == "LSM6DSOX" else 100.0
    assert imu.rate_hz == expected_rate
    samples = poll_samples(imu, clock, 1)
    start = clock.monotonic_ns()
    samples = poll_samples(imu, clock, 200)
    measured_hz = 200 / ((clock.monotonic_ns() - start) / 1e9)
    assert measured_hz == pytest.approx(expected_rate * (1 + imu_hw.imu.rate_error), rel=0.01)
    assert samples.mean(axis=0) == pytest.approx(TRUTH, abs=0.1)


def test_out_of_range_motion_clips_at_full_scale(make_hw, clock):
    hw = make_hw(load=ConstantLoad(acc_m_s2=(0.0, 0.0, 30.0), gyro_deg_s=(0.0, 0.0, 600.0)), imu_model="lsm6dsox")
    imu = detect_imu(hw.bus, clock)
    imu.begin(104.0, 2, 500)
    sample = poll_samples(imu, clock, 1)[0]
    assert sample[2] == pytest.approx(32767 * 0.061e-3 * STANDARD_GRAVITY_M_S2)
    assert sample[5] == pytest.approx(32767 * 17.5e-3)


def test_unavailable_settings(imu_hw, clock):
    imu = detect_imu(imu_hw.bus, clock)
    with pytest.raises(ConfigurationError):
        imu.begin(100.0, 3, 500)
    with pytest.raises(ConfigurationError):
        imu.begin(100.0, 4, 300)
    with pytest.raises(ConfigurationError):
        imu.begin(20000.0, 4, 500)
    with pytest.raises(ConfigurationError):
        imu.read_fifo()  # FIFO never enabled


def test_fifo_returns_every_sample_in_order_through_long_bursts(imu_hw, clock):
    imu = detect_imu(imu_hw.bus, clock)
    imu.begin(100.0, 4, 500, fifo=True)
    clock.advance_ns(50_000_000)  # past the start-up: samples are coming
    imu.read_fifo()
    trace = imu_hw.bus.start_trace()
    total = 0
    start = clock.monotonic_ns()
    for _ in range(10):
        clock.advance_ns(200_000_000)
        batch = imu.read_fifo()
        assert isinstance(batch, FifoRead) and not batch.overflowed
        assert batch.samples.shape[1] == 6
        assert batch.samples.mean(axis=0) == pytest.approx(TRUTH, abs=0.1)
        total += len(batch.samples)
    elapsed_s = (clock.monotonic_ns() - start) / 1e9
    assert total == pytest.approx(imu.rate_hz * (1 + imu_hw.imu.rate_error) * elapsed_s, abs=2)
    long_reads = [entry for entry in trace if entry[2] == "i2c_rdwr"]
    assert len(long_reads) == 10  # > 32 bytes each time: one combined transfer, read last
    assert imu.fifo_overflow_count == 0


def test_fifo_overflow_is_detected_reported_and_survived(imu_hw, clock):
    imu = detect_imu(imu_hw.bus, clock)
    imu.begin(100.0, 4, 500, fifo=True)
    clock.advance_ns(30_000_000_000)  # far more than either FIFO holds
    batch = imu.read_fifo()
    assert batch.overflowed and imu.fifo_overflow_count == 1
    assert len(batch.samples) > 0
    assert batch.samples.mean(axis=0) == pytest.approx(TRUTH, abs=0.1)  # still aligned on samples
    if imu.name == "MPU-6050":
        assert imu.fifo_discarded_bytes == 1024 % 12
    clock.advance_ns(100_000_000)
    batch = imu.read_fifo()
    assert not batch.overflowed and imu.fifo_overflow_count == 1
    assert batch.samples.mean(axis=0) == pytest.approx(TRUTH, abs=0.15)


def test_an_overflowed_fifo_can_be_emptied_unread_with_the_chips_own_reset(imu_hw, clock):
    """What a full FIFO holds after a long stall is emptied with register writes, not read (3 kbyte
    of the LSM6DSOX took 74 ms of bus): the LSM6DSOX by bypass then continuous mode (it has no
    FIFO reset bit), the MPU-6050 by USER_CTRL.FIFO_RESET with FIFO_EN 0, then FIFO_EN."""
    imu = detect_imu(imu_hw.bus, clock)
    imu.begin(100.0, 4, 500, fifo=True)
    clock.advance_ns(30_000_000_000)  # far more than either FIFO holds
    trace = imu_hw.bus.start_trace()
    batch = imu.read_fifo(discard_overflowed=True)
    assert batch.overflowed and len(batch.samples) == 0 and imu.fifo_overflow_count == 1
    assert imu.fifo_discarded_samples == (256 if imu.name == "LSM6DSOX" else 1024 // 12)
    assert not [entry for entry in trace if entry[2] == "i2c_rdwr"]  # no FIFO data read
    assert imu_hw.imu.fifo_level == 0
    clock.advance_ns(100_000_000)
    batch = imu.read_fifo(discard_overflowed=True)
    assert not batch.overflowed and imu.fifo_overflow_count == 1
    assert len(batch.samples) == pytest.approx(10, abs=1)
    assert batch.samples.mean(axis=0) == pytest.approx(TRUTH, abs=0.15)  # aligned on samples


def test_a_fifo_holding_more_than_asked_for_is_emptied_unread_though_not_full(imu_hw, clock):
    """After a stall shorter than the FIFO holds (0.3 s: 30 samples at 100 Hz) the loop asks for what
    its frames still need (discard_over): more is emptied with the same writes, not read, and said
    (discarded, fifo_discarded_samples), not an overflow; what holds no more is read as before."""
    imu = detect_imu(imu_hw.bus, clock)
    imu.begin(100.0, 4, 500, fifo=True)
    imu.read_fifo()
    clock.advance_ns(300_000_000)
    trace = imu_hw.bus.start_trace()
    batch = imu.read_fifo(discard_overflowed=True, discard_over=20)
    assert not batch.overflowed and len(batch.samples) == 0 and batch.discarded == pytest.approx(30, abs=1)
    assert imu.fifo_discarded_samples == batch.discarded and imu.fifo_overflow_count == 0
    assert not [entry for entry in trace if entry[2] == "i2c_rdwr"]  # no FIFO data read
    assert imu_hw.imu.fifo_level == 0
    clock.advance_ns(150_000_000)
    batch = imu.read_fifo(discard_overflowed=True, discard_over=20)
    assert not batch.overflowed and batch.discarded == 0 and len(batch.samples) == pytest.approx(15, abs=1)
    assert batch.samples.mean(axis=0) == pytest.approx(TRUTH, abs=0.15)  # aligned on samples


def test_a_fifo_restarted_for_a_new_stream_is_emptied_unread_and_reports_no_overflow_from_before(imu_hw, clock):
    """The acquisition's start (and an IMU brought back) empties what the FIFO held with the chip's own
    reset, unread: it predates the frames. The overflow the chip latched meanwhile is cleared too (the
    LSM6DSOX's FIFO_OVR_LATCHED survives bypass mode until FIFO_STATUS2 is read, the MPU-6050's
    FIFO_OFLOW_INT until INT_STATUS is), so the stream's first read reports none, and nothing is
    counted as overflowed or discarded."""
    imu = detect_imu(imu_hw.bus, clock)
    imu.begin(100.0, 4, 500, fifo=True)
    clock.advance_ns(30_000_000_000)  # far more than either FIFO holds
    trace = imu_hw.bus.start_trace()
    started = clock.monotonic_ns()
    imu.restart_fifo()
    assert clock.monotonic_ns() - started < 1_000_000  # a few short transfers (reading a full LSM6DSOX FIFO: 74 ms)
    assert not [entry for entry in trace if entry[2] == "i2c_rdwr"]  # no FIFO data read
    assert imu_hw.imu.fifo_level == 0
    clock.advance_ns(100_000_000)
    batch = imu.read_fifo(discard_overflowed=True)
    assert not batch.overflowed and batch.discarded == 0
    assert imu.fifo_overflow_count == 0 and imu.fifo_discarded_samples == 0
    assert len(batch.samples) == pytest.approx(10, abs=1)
    assert batch.samples.mean(axis=0) == pytest.approx(TRUTH, abs=0.15)  # aligned on samples


def test_mpu_data_ready_keeps_the_overflow_bit_for_the_fifo_read(make_hw, clock):
    hw = make_hw(load=MOVING, imu_model="mpu6050")
    imu = detect_imu(hw.bus, clock)
    imu.begin(100.0, 4, 500, fifo=True)
    clock.advance_ns(20_000_000_000)
    assert imu.data_ready()  # this read of INT_STATUS also cleared FIFO_OFLOW_INT in the chip
    assert imu.read_fifo().overflowed


def test_imu_bus_errors_are_retried_then_raised(imu_hw, clock):
    imu = detect_imu(imu_hw.bus, clock)
    imu.begin(100.0, 4, 500)
    imu_hw.bus.inject_eio(imu_hw.imu, 2)
    poll_samples(imu, clock, 1)
    assert imu.bus.retries_total == 2
    imu_hw.bus.inject_nack(imu_hw.imu, 3)
    with pytest.raises(StationHardwareError) as info:
        imu.read_sample()
    assert isinstance(info.value, OSError) and f"0x{imu.address:02x}" in str(info.value)


def test_imu_that_vanished_and_returned_must_be_begun_again(imu_hw, clock):
    imu = detect_imu(imu_hw.bus, clock)
    imu.begin(100.0, 4, 500)
    poll_samples(imu, clock, 2)
    imu_hw.bus.vanish(imu_hw.imu)
    with pytest.raises(OSError):
        imu.data_ready()
    imu_hw.bus.reappear(imu_hw.imu)
    clock.advance_ns(100_000_000)
    assert not imu.data_ready()  # power-on state: not sampling
    imu.begin(100.0, 4, 500)
    assert poll_samples(imu, clock, 5).mean(axis=0) == pytest.approx(TRUTH, abs=0.2)


def test_lsm_fifo_pairs_words_across_a_read_that_splits_a_slot(make_hw, clock):
    hw = make_hw(load=MOVING, imu_model="lsm6dsox")
    imu = detect_imu(hw.bus, clock)
    imu.begin(104.0, 4, 500, fifo=True)
    clock.advance_ns(100_000_000)
    # A read that ends between the gyroscope and accelerometer words of one slot.
    status = hw.bus.read_i2c_block_data(0x6A, 0x3A, 2)
    level = status[0] | ((status[1] & 3) << 8)
    first = bytes(hw.bus.read_i2c_block_data(0x6A, 0x78, 7))  # the first gyroscope word, consumed
    part = imu._parse(first)
    assert len(part) == 0 and imu._carry == first
    rest = imu.read_fifo()
    assert len(rest.samples) == level // 2
    assert rest.samples.mean(axis=0) == pytest.approx(TRUTH, abs=0.1)
    assert imu.fifo_dropped_words == 0


def test_a_fifo_read_says_when_it_read_the_level_the_window_of_its_newest_sample(imu_hw, clock):
    """``level_read_ns`` is the transfer that read the FIFO's level (s28 A6): the newest sample it
    returns was made by its end, the next one not before its start. The end of the whole read (what
    the acquisition timed its samples from before) is the data's bus time later: 0.3 ms a sample."""
    imu = detect_imu(imu_hw.bus, clock)
    imu.begin(208.0, 4, 500, fifo=True)
    clock.advance_ns(50_000_000)
    imu.read_fifo()
    model = imu_hw.imu
    timeline = model._accel.timeline if imu.name == "LSM6DSOX" else model._timeline
    for wait_ns in (9_000_000, 10_000_000, 11_300_000, 30_000_000):
        clock.advance_ns(wait_ns)
        started = clock.monotonic_ns()
        batch = imu.read_fifo()
        ended = clock.monotonic_ns()
        start, end = batch.level_read_ns
        assert started <= start < end < ended and len(batch.samples) >= 2
        assert end - start <= 150_000  # the level's registers only (2-3 bytes and the addresses)
        assert ended - end >= 250_000 * len(batch.samples)  # the data read after it
        newest = timeline.last_k - (model.fifo_level // 2 if imu.name == "LSM6DSOX" else model.fifo_level // 12)
        assert timeline.time_of(newest) <= end and timeline.time_of(newest + 1) > start
