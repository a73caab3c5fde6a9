"""Helpers shared by the sub-commands: configuration loading with ``--config`` and ``--data-dir``, the
simulated plate's calibration, and a stretch that a Ctrl-C must not cut."""

from __future__ import annotations

import contextlib
from dataclasses import replace

from station.config import StationConfig


def load_config(args) -> StationConfig:
    """The effective configuration: the file (``--config``, ``$BALANCE_STATION_CONFIG`` or the
    installed one) with ``--data-dir`` applied on top. A bad file raises a one-line
    :class:`station.config_file.ConfigError` (a :class:`station.cli.UserError`). Its ``[clinic]
    time_zone`` is applied to the process (:func:`station.store.timefmt.use_time_zone`): the station's
    and the hub's reports and pages date what people read in the clinic's zone, whatever the server's."""
    from station.config_file import load_station_config
    from station.store.timefmt import use_time_zone

    config = load_station_config(getattr(args, "config", None))
    data_dir = getattr(args, "data_dir", None)
    if data_dir is not None:
        config = replace(config, data_dir=data_dir)
    use_time_zone(config.clinic.time_zone)  # checked by the file's schema
    return config


@contextlib.contextmanager
def ignoring_interrupts():
    """SIGINT ignored inside (in the main thread; elsewhere nothing changes), then as before: a file
    being finished after a Ctrl-C (or ``timeout -s INT``, which signals twice) is not cut short."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def simulated_plate_calibration(config: StationConfig, seed: int):
    """The calibration kept in the data directory for the simulated plate of ``seed`` (``trial`` and
    ``record`` with ``--simulate``), as ``run --simulate`` uses it: a plate calibrated again keeps its
    new calibration. Else the plate's factory calibration (same seed: the same load cells). A
    calibration of another plate is not used; an unreadable one is one line for the user
    (:class:`station.cli.UserError`)."""
    from station.acquire.calibration import CalibrationError
    from station.acquire.local import calibration_for
    from station.cli import UserError
    from station.sim.station import factory_calibration

    try:
        stored = calibration_for(config.data_dir, config, simulated_seed=seed)
    except CalibrationError as exc:
        raise UserError(str(exc)) from None
    return stored or factory_calibration(config, seed)
