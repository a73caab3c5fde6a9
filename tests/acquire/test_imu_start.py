"""The acquisition's start with an IMU whose FIFO filled while the station came up (s27 A5, job 1).

The loop used to read what the FIFO held at start() and throw it away: a full LSM6DSOX FIFO (the IMU
begun 1.2 s or more before the loop starts, at 208 Hz) took 81 ms of bus, so the first frame came
that much later, an overflow from before the frames was counted in health at every such start, and
the samples made during the read were counted at the first frame as samples of lost frames though
no frame was lost. The FIFO is now emptied with the chip's own reset, unread."""

import numpy as np
import pytest

from station.acquire.frame import FrameFlag
from station.acquire.local import LocalAcquisition
from station.config import StationConfig
from station.sim.clock import SimulatedClock
from station.sim.person import VirtualPerson
from station.sim.station import open_simulated_hardware

PERIOD_NS = 10_000_000  # 100 Hz frames


@pytest.mark.parametrize("imu_model", ["lsm6dsox", "mpu6050"])
def test_a_fifo_full_at_start_is_emptied_unread_and_counts_as_neither_an_overflow_nor_a_loss(imu_model):
    config = StationConfig()
    clock = SimulatedClock()
    hardware = open_simulated_hardware(config, clock, VirtualPerson.standing_demo(seed=2), seed=0, imu_model=imu_model)
    imu = hardware.imu
    imu.begin(config.imu.rate_hz, config.imu.accel_range_g, config.imu.gyro_range_dps, fifo=True)
    clock.advance_ns(3_000_000_000)  # the station comes up: the FIFO fills and overflows
    trace = hardware.raw_bus.start_trace()
    called = clock.monotonic_ns()
    acquisition = LocalAcquisition(hardware, config)
    started = clock.monotonic_ns()
    hardware.raw_bus.stop_trace()
    loop = acquisition.loop
    # quick: a few register transfers, no FIFO data read (before: 81 ms LSM6DSOX, 23 ms MPU-6050)
    assert started - called < 1_000_000, (started - called) / 1e6
    assert not [entry for entry in trace if entry[2] == "i2c_rdwr"]
    first = acquisition.run_frames(1)
    # the first frame one to two periods after the start (before: 92 ms, 41 ms)
    assert loop.deadline_of(int(first["seq"][0])) - called <= 2 * PERIOD_NS
    # its IMU samples are its own: none read from before its period (before: 15 and 5 counted in lost frames)
    assert loop.stats.imu_samples <= 4 and loop.stats.imu_samples_in_lost_frames == 0
    assert not first["flags"][0] & int(FrameFlag.IMU_STALE | FrameFlag.IMU_LOST)
    frames = acquisition.run_seconds(2)
    health = loop.health()
    # what the FIFO held before the frames is neither an overflow nor discarded (before: one overflow)
    assert health["imu_fifo_overflows"] == 0 and health["imu_samples_emptied"] == 0
    assert imu.fifo_overflow_count == 0 and imu.fifo_discarded_samples == 0
    assert not np.any(frames["flags"] & int(FrameFlag.IMU_LOST | FrameFlag.IMU_STALE))
    assert loop.stats.imu_samples_in_lost_frames == 0 and loop.stats.frames_lost == 0
