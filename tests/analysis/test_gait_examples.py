"""The docstring examples of the gait, body-frame and trunk-sway modules run and give what they show;
the modules stay pure (no other station module imported)."""

from __future__ import annotations

import doctest
import subprocess
import sys

import pytest

import station.analysis.gait
import station.analysis.gait_per_second
import station.analysis.imu_frame
import station.analysis.imu_gaps
import station.analysis.trunk_sway


@pytest.mark.parametrize("module", [station.analysis.gait, station.analysis.gait_per_second, station.analysis.imu_frame,
                                    station.analysis.imu_gaps,
                                    station.analysis.trunk_sway])
def test_docstring_examples(module):
    import numpy as np

    result = doctest.testmod(module, extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{module.__name__} shows no example"
    assert result.failed == 0


def test_every_public_function_shows_an_example():
    for module in (station.analysis.gait, station.analysis.gait_per_second, station.analysis.imu_frame,
                   station.analysis.imu_gaps, station.analysis.trunk_sway):
        for name in dir(module):
            obj = getattr(module, name)
            if callable(obj) and not name.startswith("_") and getattr(obj, "__module__", None) == module.__name__:
                if isinstance(obj, type):
                    continue
                assert ">>>" in (obj.__doc__ or ""), f"{module.__name__}.{name} has no example"


def test_gait_modules_import_no_other_station_module():
    code = (
        "import sys, station.analysis.gait, station.analysis.gait_per_second, station.analysis.imu_frame,"
        " station.analysis.imu_gaps, station.analysis.trunk_sway;"
        "print(sorted(m for m in sys.modules if m.startswith('station')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = eval(out)
    assert [m for m in loaded if m != "station" and not m.startswith("station.analysis")] == []
