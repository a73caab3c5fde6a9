"""Fixtures of the programme tests: the station's protocols, a valid template as data, a clinic
store with a patient, and a settable wall clock (the programme's "today")."""

from __future__ import annotations

import copy

import pytest

from station.programmes.loader import builtin_programmes
from station.protocols.loader import builtin_protocols
from station.store.store import Store

from programme_support import ACTOR, CHEAP, START_S, WallClock, template_data


@pytest.fixture(scope="session")
def protocols():
    return builtin_protocols()


@pytest.fixture(scope="session")
def builtins(protocols):
    return builtin_programmes(protocols)


@pytest.fixture
def data():
    """A fresh copy of a valid template's tables (mutate it to make a mistake)."""
    return copy.deepcopy(template_data())


@pytest.fixture
def wall():
    return WallClock(START_S)


@pytest.fixture
def store(tmp_path, wall):
    s = Store.open(tmp_path / "data", password_cost=CHEAP, wall_clock=wall)
    yield s
    s.close()


@pytest.fixture
def patient(store):
    """After a stroke, as the stroke programme's patients are (its MDCs follow the patient's conditions)."""
    return store.patients.create({"identifier": "P-100", "birth_year": 1955, "sex": "M", "conditions": ["stroke:left"]},
                                 actor=ACTOR)
