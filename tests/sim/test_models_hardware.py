"""The simulated-hardware builder: topology from the configuration, seeds, swapping the load."""

from __future__ import annotations

import pytest

from station.config import ImuConfig, PlateConfig, StationConfig
from station.sim.clock import SimulatedClock
from station.sim.hardware import build_simulated_hardware
from station.sim.lsm6dsox_model import LSM6DSOXModel
from station.sim.mpu6050_model import MPU6050Model
from station.sim.static_load import ConstantLoad


def test_topology_follows_the_configuration():
    config = StationConfig(plate=PlateConfig(mux_address=0x73, mux_channels=(3, 2, 1, 0)), imu=ImuConfig(address=0x6B))
    clock = SimulatedClock()
    hw = build_simulated_hardware(clock, None, config, imu_model="lsm6dsox")
    assert list(hw.adcs) == ["fl", "fr", "bl", "br"]
    assert hw.bus.devices_at(0x73) == (hw.mux,)
    hw.bus.write_byte(0x73, 1 << 3)
    assert hw.bus.devices_at(0x2A) == (hw.adcs["fl"],)
    assert isinstance(hw.imu, LSM6DSOXModel) and hw.imu_address == 0x6B
    assert hw.bus.bus_clock_hz == config.acquisition.bus_clock_hz


def test_imu_choice():
    clock = SimulatedClock()
    assert isinstance(build_simulated_hardware(clock, None, StationConfig(), imu_model="mpu6050").imu, MPU6050Model)
    assert build_simulated_hardware(clock, None, StationConfig(), imu_model="none").imu is None
    assert build_simulated_hardware(clock, None, StationConfig(), imu_model=None).imu is None
    with pytest.raises(ValueError):
        build_simulated_hardware(clock, None, StationConfig(), imu_model="bno055")


def test_cells_follow_the_nominal_data_within_tolerance_and_the_seed():
    config = StationConfig()
    first = build_simulated_hardware(SimulatedClock(), None, config, seed=3).cells
    again = build_simulated_hardware(SimulatedClock(), None, config, seed=3).cells
    other = build_simulated_hardware(SimulatedClock(), None, config, seed=4).cells
    assert first == again and first != other
    for cell in first:
        assert abs(cell.rated_output_mv_v - config.plate.load_cell_rated_output_mv_v) <= 0.1
        assert abs(cell.zero_balance_mv_v) <= 0.1
        assert cell.capacity_n == pytest.approx(config.plate.load_cell_capacity_kg * 9.80665)
        assert cell.dead_weight_n == pytest.approx(8.0 * 9.80665 / 4)
    rate_errors = {m.rate_error for m in build_simulated_hardware(SimulatedClock(), None, config, seed=3).adcs.values()}
    assert len(rate_errors) == 4  # each chip its own clock


def test_swapping_the_load_source_reaches_the_cells_and_the_imu():
    clock = SimulatedClock(start_ns=5_000_000_000)
    hw = build_simulated_hardware(clock, None, StationConfig())
    assert hw.plate.bridge_v(0, clock.monotonic_ns(), 3.0) == pytest.approx(hw.cells[0].output_v(0.0, 3.0))
    load = ConstantLoad(fz_n=400.0, acc_m_s2=(1.0, 2.0, 3.0))
    hw.set_load_source(load)
    assert hw.load_source is load
    assert hw.plate.bridge_v(0, clock.monotonic_ns(), 3.0) == pytest.approx(hw.cells[0].output_v(100.0, 3.0))
    assert hw.plate.trunk(clock.monotonic_ns()).acc_m_s2 == (1.0, 2.0, 3.0)
    hw.load_source = None
    assert hw.plate.bridge_v(0, clock.monotonic_ns(), 3.0) == pytest.approx(hw.cells[0].output_v(0.0, 3.0))
