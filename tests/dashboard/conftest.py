"""Fixtures of the dashboard tests: a clinic store with a patient, and the trial service on the
simulated station with a virtual patient who follows it (see dashboard_support.py). The store is
the station's SQLite; in a module that sets ``BACKENDS`` (the store-bound results, notes and
history), also the hub's PostgreSQL."""

from __future__ import annotations

import pytest

from station.store.store import Store

from dashboard_support import ACTOR, CHEAP, SimulatedClinic


def pytest_generate_tests(metafunc):
    """A module that sets ``BACKENDS`` runs its tests that use the store on each (the hub's
    PostgreSQL too, tests/conftest.py); ``backends`` on a test function overrides it."""
    backends = getattr(metafunc.function, "backends", None) or getattr(metafunc.module, "BACKENDS", None)
    if backends and "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", backends)


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def store(request, backend, tmp_path):
    database = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    if database is None:  # a copy of a migrated database (tests/conftest.py)
        request.getfixturevalue("station_data_dir")(tmp_path / "data")
    s = Store.open_service(tmp_path / "data", password_cost=CHEAP, database=database)
    yield s
    s.close()


@pytest.fixture
def patient(store):
    return store.patients.create({"identifier": "P-001", "birth_year": 1950, "sex": "F"}, actor=ACTOR)


@pytest.fixture
def clinic(store):
    return SimulatedClinic(store)
