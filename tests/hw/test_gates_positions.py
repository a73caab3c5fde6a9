"""Two gates closer than the station can tell apart are refused by the configuration, with both
gates named: the configuration and GateArray.index_at use one tolerance."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.config import GateConfig
from station.config_file import ConfigError, parse_config_text
from station.config_keys import GATE_POSITION_TOLERANCE_M
from station.hw import gates as gates_module
from station.hw.gates import GateArray
from station.sim.clock import SimulatedClock
from station.sim.gpio import ClockedMockFactory


def gates_text(*gates) -> str:
    return "".join(f"[[panel.gates]]\npin = {pin}\nposition_m = {position}\n" for pin, position in gates)


def test_one_tolerance():
    assert gates_module.POSITION_TOLERANCE_M is GATE_POSITION_TOLERANCE_M and GATE_POSITION_TOLERANCE_M == 0.005


@pytest.mark.parametrize("second_m, apart", [(3.004, "4 mm"), (3.0, "0 mm"), (2.9955, "4.5 mm")])
def test_gates_closer_than_the_tolerance_are_refused_naming_both(tmp_path, second_m, apart):
    text = gates_text((5, 3.0), (12, 8.0), (6, second_m))
    with pytest.raises(ConfigError) as caught:
        parse_config_text(text, Path(tmp_path / "station.toml"))
    message = str(caught.value)
    assert f"panel.gates[0] (GPIO 5, 3 m) and panel.gates[2] (GPIO 6, {second_m:g} m) are {apart} apart" in message
    assert "5 mm or less apart for one place" in message


def test_gates_further_apart_are_accepted_and_each_found_at_its_position(tmp_path):
    config = parse_config_text(gates_text((5, 3.0), (6, 3.006)), Path(tmp_path / "station.toml")).config
    assert config.panel.gates == (GateConfig(5, 3.0), GateConfig(6, 3.006))
    clock = SimulatedClock()
    factory = ClockedMockFactory(clock)
    array = GateArray(config.panel.gates, clock=clock, pin_factory=factory)
    try:
        assert array.require([3.0]) == [0] and array.require([3.006]) == [1]
    finally:
        array.close()
        factory.reset()


def test_two_gates_on_one_pin_are_named_too(tmp_path):
    with pytest.raises(ConfigError, match=r"panel.gates\[0\] \(GPIO 5, 1 m\) and panel.gates\[1\] \(GPIO 5, 2 m\) share a pin"):
        parse_config_text(gates_text((5, 1), (5, 2)), Path(tmp_path / "station.toml"))
