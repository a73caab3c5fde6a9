"""Which calibration the acquisition process starts with (station.acquire.process._calibration):
the one stored in the data directory when it is this plate's; a simulated plate with none (or
another plate's) is calibrated under simulated time and the result saved, so the next start
reads it; real hardware with none falls back to the nominal calibration."""

from __future__ import annotations

from dataclasses import replace

import station.sim.station as sim_station
from station.acquire.calibration import load_calibration, nominal_calibration, save_calibration
from station.acquire.process import AcquisitionSpec, _calibration
from station.config import StationConfig
from station.sim.station import SimulatedHardwareRecipe


def spec_for(data_dir, seed: int | None) -> AcquisitionSpec:
    hardware = None if seed is None else SimulatedHardwareRecipe(seed=seed)
    return AcquisitionSpec(StationConfig(), "unused", hardware=hardware, data_dir=str(data_dir))


def test_a_simulated_plate_is_calibrated_on_the_first_start_and_read_back_on_the_next(tmp_path, monkeypatch):
    made = []
    real = sim_station.factory_calibration

    def counting(config, seed):
        made.append(seed)
        return real(config, seed)

    monkeypatch.setattr(sim_station, "factory_calibration", counting)
    data_dir = tmp_path / "data"
    first = _calibration(spec_for(data_dir, 0), None)
    assert made == [0] and first.source == "simulated:seed=0" and first.method == "measured"
    assert load_calibration(data_dir) == first  # saved
    assert _calibration(spec_for(data_dir, 0), None) == first and made == [0]  # read back, not calibrated again
    other = _calibration(spec_for(data_dir, 1), None)  # another simulated plate: its own calibration
    assert made == [0, 1] and other.source == "simulated:seed=1" and load_calibration(data_dir) == other


def test_real_hardware_takes_only_a_hardware_calibration(tmp_path):
    save_calibration(tmp_path, replace(nominal_calibration(StationConfig().plate), source="simulated:seed=0"))
    fallback = _calibration(spec_for(tmp_path, None), None)
    assert fallback.method == "nominal" and fallback.source == "hardware"
    measured = replace(nominal_calibration(StationConfig().plate), method="measured", source="hardware")
    save_calibration(tmp_path, measured)
    assert _calibration(spec_for(tmp_path, None), None) == measured
