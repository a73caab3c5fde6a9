"""Measure the driver hot paths and the simulated hardware: prints numbers, asserts nothing.

    python3 benchmarks/hw_drivers.py

* ``driver_only``: CPU of ``PlateFrontEnd.read_corners`` and of an IMU ``data_ready`` +
  ``read_sample`` over a bus that answers instantly (the Python the Pi runs besides the kernel).
* ``simulated``: per 100 Hz frame on the simulated station (4 corners at 320 SPS + IMU): thread
  CPU in total, the part the simulated bus reports in ``model_cpu_ns``, the rest, and the bus
  time charged per frame.
"""

from __future__ import annotations

import json
import time

from station.config import StationConfig
from station.hw.i2c import RetryingBus
from station.hw.imu import detect_imu
from station.hw.lsm6dsox import LSM6DSOX
from station.hw.plate import PlateFrontEnd
from station.sim.clock import SimulatedClock
from station.sim.hardware import build_simulated_hardware
from station.sim.static_load import ConstantLoad


class _InstantBus:
    """Answers every read at once: NAU7802 running with CR set, LSM6DSOX data ready."""

    def __init__(self):
        self._count = 0

    def write_byte(self, address, value):
        pass

    def read_byte_data(self, address, register):
        return 0xBE if register == 0 else 0x03

    def read_i2c_block_data(self, address, register, length):
        self._count += 1  # a different value each time: no corner looks stuck
        return [0x12, (self._count >> 8) & 0xFF, self._count & 0xFF] if length == 3 else [0] * length


def driver_only(n: int = 20000) -> dict:
    clock = SimulatedClock()
    bus = RetryingBus(_InstantBus(), clock)
    plate = PlateFrontEnd(bus, clock)
    for i, adc in enumerate(plate.adcs):
        adc.rate_sps = 320
        adc._running_mask = 0x9E
        plate._mark_ok(i, 0)
    imu = LSM6DSOX(bus, clock)
    imu._accel_scale = imu._gyro_scale = 1.0
    start = time.thread_time_ns()
    for _ in range(n):
        plate.read_corners()
    mid = time.thread_time_ns()
    for _ in range(n):
        if imu.data_ready():
            imu.read_sample()
    end = time.thread_time_ns()
    return {"plate_read_corners_us": (mid - start) / n / 1e3, "imu_ready_and_sample_us": (end - mid) / n / 1e3}


def simulated(imu_model: str, frames: int = 5000) -> dict:
    clock = SimulatedClock(start_ns=1_000_000_000)
    hw = build_simulated_hardware(clock, ConstantLoad(700.0, 1.0, 1.0), StationConfig(), imu_model=imu_model,
                                  account_cpu=True)
    bus = RetryingBus(hw.bus, clock)
    plate = PlateFrontEnd(bus, clock)
    plate.begin()
    imu = detect_imu(bus, clock)
    imu.begin(100.0, 4, 500)
    start_ns = clock.monotonic_ns()
    busy0, cpu0, model0 = hw.bus.busy_ns, time.thread_time_ns(), hw.bus.model_cpu_ns
    for k in range(frames):
        clock.sleep_until_ns(start_ns + k * 10_000_000)
        plate.read_corners()
        if imu.data_ready():
            imu.read_sample()
    total = (time.thread_time_ns() - cpu0) / frames / 1e3
    model = (hw.bus.model_cpu_ns - model0) / frames / 1e3
    return {
        "imu": imu_model,
        "cpu_per_frame_us": round(total, 1),
        "model_cpu_per_frame_us": round(model, 1),
        "rest_per_frame_us": round(total - model, 1),
        "bus_time_per_frame_ms": round((hw.bus.busy_ns - busy0) / frames / 1e6, 3),
    }


if __name__ == "__main__":
    print(json.dumps({"driver_only": driver_only(), "simulated": [simulated("lsm6dsox"), simulated("mpu6050")]}, indent=1))
