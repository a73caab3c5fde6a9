"""A simulated plate's factory calibration (station.sim.station.factory_calibration) is computed
once per process and plate, as a real plate is calibrated once: the same values as calibrating a
fresh station, another seed or configuration calibrated anew, every caller its own copy."""

from __future__ import annotations

from dataclasses import replace

import station.sim.station as sim_station
from station.config import PlateConfig, StationConfig
from station.sim.station import SimulatedStation, factory_calibration

SEED = 4242  # a plate no other test calibrates, so this process has not calibrated it yet


def test_a_plate_is_calibrated_once_and_each_caller_gets_its_own_copy(monkeypatch):
    calibrated = []
    real = sim_station.calibrate_simulated

    def counting(station, restore_load_source=None):
        calibrated.append(station.seed)
        return real(station, restore_load_source)

    monkeypatch.setattr(sim_station, "calibrate_simulated", counting)
    first = factory_calibration(StationConfig(), SEED)
    again = factory_calibration(None, SEED)  # None is the default configuration: the same plate
    assert calibrated == [SEED] and again == first and again.source == f"simulated:seed={SEED}"
    again.details["note"] = "changed by one caller"
    assert "note" not in factory_calibration(None, SEED).details
    other_seed = factory_calibration(None, SEED + 1)
    other_plate = factory_calibration(StationConfig(plate=PlateConfig(adc_gain=64)), SEED)
    assert calibrated == [SEED, SEED + 1, SEED]
    assert other_seed.zero_counts != first.zero_counts and other_plate.n_per_count != first.n_per_count


def test_the_stored_calibration_is_what_calibrating_a_fresh_station_gives():
    fresh = SimulatedStation(None, None, seed=SEED, calibration="auto").calibration
    kept = factory_calibration(None, SEED)
    assert replace(fresh, created_utc=kept.created_utc) == kept
