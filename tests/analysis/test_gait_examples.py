"""The docstring examples of the gait, body-frame and trunk-sway modules run and give what they show;
the modules stay pure (no other station module imported)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import subprocess
import sys

import pytest

import station.analysis
import station.analysis.imu_frame
import station.analysis.imu_gaps
import station.analysis.trunk_sway

GAIT_MODULES = tuple(
    importlib.import_module(f"station.analysis.{info.name}")
    for info in pkgutil.iter_modules(station.analysis.__path__) if info.name.startswith("gait")
) + (station.analysis.imu_frame, station.analysis.imu_gaps, station.analysis.trunk_sway)
"""Every module of the gait analysis (gait.py and the gait_*.py modules it is built from) and the
IMU modules beside it."""


def _public_functions(module):
    return [name for name, obj in vars(module).items()
            if callable(obj) and not isinstance(obj, type) and not name.startswith("_")
            and getattr(obj, "__module__", None) == module.__name__]


WITH_EXAMPLES = tuple(m for m in GAIT_MODULES if _public_functions(m))
"""The modules that define public functions (the others hold private helpers and constants)."""


def test_the_split_gait_modules_are_found():
    names = {m.__name__.rpartition(".")[2] for m in GAIT_MODULES}
    assert {"gait", "gait_contacts", "gait_sides", "gait_step_length", "gait_measures"} <= names
    assert {"gait", "gait_contacts", "gait_step_length"} <= {m.__name__.rpartition(".")[2] for m in WITH_EXAMPLES}


@pytest.mark.parametrize("module", WITH_EXAMPLES)
def test_docstring_examples(module):
    import numpy as np

    result = doctest.testmod(module, extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{module.__name__} shows no example"
    assert result.failed == 0


def test_every_public_function_shows_an_example():
    for module in GAIT_MODULES:
        for name in _public_functions(module):
            assert ">>>" in (getattr(module, name).__doc__ or ""), f"{module.__name__}.{name} has no example"


def test_gait_modules_import_no_other_station_module():
    code = (
        f"import sys, {', '.join(m.__name__ for m in GAIT_MODULES)};"
        "print(sorted(m for m in sys.modules if m.startswith('station')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = eval(out)
    assert [m for m in loaded if m != "station" and not m.startswith("station.analysis")] == []
