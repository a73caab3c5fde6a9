import functools

import pytest

from station.sim.station import SimulatedStation
from station.config import StationConfig


@functools.lru_cache(maxsize=None)
def factory_calibration(seed: int, config: StationConfig = StationConfig()):
    """The guided calibration of the simulated plate of this seed (computed once per seed)."""
    return SimulatedStation(config, None, seed=seed, calibration="auto").calibration


@pytest.fixture
def calibrated_station():
    def make(load_source=None, seed: int = 0, config: StationConfig = StationConfig(), **kwargs):
        return SimulatedStation(config, load_source, seed=seed, calibration=factory_calibration(seed, config), **kwargs)

    return make
