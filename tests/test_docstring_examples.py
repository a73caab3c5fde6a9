"""Every docstring example in `station/` and `web/` runs and gives what it shows.

The examples are documentation a reader copies (a public function of `station.analysis` shows a
runnable one, as scipy's do; the words modules show the sentences a clinician reads); an example
that is not run goes stale unnoticed: two had (a COP peak factor written 1.22 where the function
gives 1.201, and the store's module example that would have opened ./data). Modules whose
examples also need their own fixtures keep them in their own tests (tests/analysis).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import station
import web


def _modules_with_examples() -> list[str]:
    names = []
    finder = doctest.DocTestFinder()
    for package in (station, web):  # web's were not run (web.live's went unrun)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            if any(t.examples for t in finder.find(module, info.name)):
                names.append(info.name)
    return names


MODULES = _modules_with_examples()


def test_the_examples_are_found_across_the_package():
    assert len(MODULES) >= 40
    for name in ("station.reference.mdc", "station.protocols.walk_words", "station.protocols.walk_parts",
                 "station.programmes.change", "station.analysis.gait", "station.sim.leaning", "web.live",
                 "web.security"):
        assert name in MODULES, name


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run_as_shown(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE, report=True)
    assert result.attempted > 0
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples fail (run: python -m doctest)"
