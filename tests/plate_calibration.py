"""A station data directory that already holds its simulated plate's calibration, as a station
keeps it once its plate was calibrated (``calibration.json``).

``balance-station run --simulate`` (seed 0, the default configuration) reads it instead of running
the factory calibration at every start: 1.4-1.7 s of CPU in the acquisition process, on the way
to the station being ready (ready in 9.5-10.4 s instead of 14.4-15.4 s on the loaded 2-core
machine, 2026-12-05). The calibration stored is the one that start would compute and save (the same
values, checked). The first start with none stored (calibrated, then saved, then read back) is
tested in tests/acquire/test_process_calibration.py; the browser and attack suites start from here.
"""

from __future__ import annotations

from pathlib import Path


def with_plate_calibration(data_dir: Path) -> Path:
    """``data_dir`` (made, mode 0700, if missing) with the calibration of the plate that
    ``run --simulate`` simulates; returns ``data_dir``."""
    from station.acquire.calibration import save_calibration
    from station.config import StationConfig
    from station.sim.station import factory_calibration

    data_dir = Path(data_dir)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    save_calibration(data_dir, factory_calibration(StationConfig(), 0))
    return data_dir
