"""Fixtures of the dashboard tests: a clinic store with a patient, and the trial service on the
simulated station with a virtual patient who follows it (see dashboard_support.py)."""

from __future__ import annotations

import pytest

from station.store.store import Store

from dashboard_support import ACTOR, CHEAP, SimulatedClinic


@pytest.fixture
def store(tmp_path):
    s = Store.open_service(tmp_path / "data", password_cost=CHEAP)
    yield s
    s.close()


@pytest.fixture
def patient(store):
    return store.patients.create({"identifier": "P-001", "birth_year": 1950, "sex": "F"}, actor=ACTOR)


@pytest.fixture
def clinic(store):
    return SimulatedClinic(store)
