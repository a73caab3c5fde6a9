"""Fixtures for the driver tests: the simulated station hardware on a simulated clock."""

from __future__ import annotations

import pytest

from station.config import StationConfig
from station.hw.i2c import RetryingBus
from station.sim.clock import SimulatedClock
from station.sim.hardware import build_simulated_hardware
from station.sim.static_load import ConstantLoad

STANDING = ConstantLoad(fz_n=700.0, ap_cm=2.0, ml_cm=-1.5)


@pytest.fixture
def standing():
    """A 700 N person standing still at AP 2 cm, ML -1.5 cm (the default load of ``hw``)."""
    return STANDING


@pytest.fixture
def clock():
    return SimulatedClock(start_ns=1_000_000_000)


@pytest.fixture
def config():
    return StationConfig()


@pytest.fixture
def make_hw(clock, config):
    """``make_hw(load=STANDING, seed=0, imu_model="lsm6dsox")`` -> SimulatedHardware."""

    def make(load=STANDING, seed=0, imu_model="lsm6dsox"):
        return build_simulated_hardware(clock, load, config, seed=seed, imu_model=imu_model)

    return make


@pytest.fixture
def hw(make_hw):
    return make_hw()


@pytest.fixture
def rbus(hw, clock):
    """One retrying bus for every driver, as the acquisition process uses it."""
    return RetryingBus(hw.bus, clock, bus_name="i2c-1")
