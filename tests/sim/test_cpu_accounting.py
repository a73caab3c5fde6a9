"""The simulated chips' CPU time (``SimulatedBus.model_cpu_ns``) is accounted for whoever reports
or subtracts it, and only for them: the bench and the acquisition process it starts, the
benchmarks; a simulated trial does not pay two CPU-clock system calls per transaction."""

from __future__ import annotations

from station.acquire.process import _extra_health
from station.bench.acquisition import warm_cpu_us_per_frame
from station.config import StationConfig
from station.sim.clock import SimulatedClock
from station.sim.static_load import ConstantLoad
from station.sim.station import SimulatedHardwareRecipe, SimulatedStation


def test_a_simulated_station_reports_the_chips_cpu_only_once_its_bus_accounts_it():
    station = SimulatedStation(None, ConstantLoad(fz_n=700.0), seed=0, calibration="nominal")
    bus = station.simulation.bus
    station.run_frames(20)
    health = station.health()
    assert health["simulated"] is True and "sim_model_cpu_s" not in health and bus.model_cpu_ns == 0
    bus.account_cpu = True
    station.run_frames(20)
    assert 0 < station.health()["sim_model_cpu_s"] == bus.model_cpu_ns / 1e9


def test_the_acquisition_process_health_has_the_chips_cpu_when_the_recipe_asks_for_it():
    config = StationConfig()
    for account_cpu in (False, True):
        hardware = SimulatedHardwareRecipe(seed=1, account_cpu=account_cpu).open(config, SimulatedClock())
        try:
            sim = hardware.simulation
            assert sim.bus.account_cpu is account_cpu
            extra = _extra_health(sim, "normal")
            hardware.plate.begin()  # transactions on the bus
            doc = extra()
            assert doc["simulated"] is True
            if account_cpu:
                assert doc["sim_model_cpu_s"] > 0
            else:
                assert "sim_model_cpu_s" not in doc
        finally:
            hardware.close()
    assert SimulatedHardwareRecipe().account_cpu is False  # `run --simulate` does not pay for it


def test_the_benchs_warm_measurement_splits_the_loops_cpu_from_the_chips():
    loop_us, chips_us = warm_cpu_us_per_frame(StationConfig(), frames=50)
    assert loop_us > 0 and chips_us > 0
