"""Helpers shared by the sub-commands: configuration loading with ``--config`` and ``--data-dir``."""

from __future__ import annotations

from dataclasses import replace

from station.config import StationConfig


def load_config(args) -> StationConfig:
    """The effective configuration: the file (``--config``, ``$BALANCE_STATION_CONFIG`` or the
    installed one) with ``--data-dir`` applied on top. A bad file raises a one-line
    :class:`station.config_file.ConfigError` (a :class:`station.cli.UserError`)."""
    from station.config_file import load_station_config

    config = load_station_config(getattr(args, "config", None))
    data_dir = getattr(args, "data_dir", None)
    if data_dir is not None:
        config = replace(config, data_dir=data_dir)
    return config
