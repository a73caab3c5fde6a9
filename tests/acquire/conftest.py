import pytest

from station.acquire.ring import FrameRing
from station.sim.station import SimulatedStation
from station.sim.station import factory_calibration as simulated_factory_calibration
from station.config import StationConfig


def factory_calibration(seed: int, config: StationConfig = StationConfig()):
    """The guided calibration of the simulated plate of this seed (computed once per seed)."""
    return simulated_factory_calibration(config, seed)


@pytest.fixture
def calibrated_station():
    def make(load_source=None, seed: int = 0, config: StationConfig = StationConfig(), **kwargs):
        return SimulatedStation(config, load_source, seed=seed, calibration=factory_calibration(seed, config), **kwargs)

    return make


@pytest.fixture
def ring(request):
    """A frame ring of 16 slots (the newest 15 readable), closed after the test; a file needing more slots asks with
    ``pytest.mark.parametrize("ring", [SLOTS], indirect=True)``. Its frames: acquire_support.ring_frame."""
    r = FrameRing(getattr(request, "param", 16))
    yield r
    r.close()
