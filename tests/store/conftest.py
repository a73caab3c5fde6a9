"""Fixtures for the clinic store tests: a store on a temporary data directory with a simulated
monotonic clock and a settable wall clock, cheap password hashing; every test using ``store``
runs on both backends (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from station.sim.clock import SimulatedClock
from station.store.audit import Actor
from station.store.store import Store

from clinic_data import CHEAP_COST, WallClock


@pytest.fixture
def wall() -> WallClock:
    return WallClock()


@pytest.fixture
def mono() -> SimulatedClock:
    return SimulatedClock()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    """The store's backend: SQLite (a station) or PostgreSQL (the hub; a fresh database of the
    throwaway cluster, tests/conftest.py)."""
    return request.param


@pytest.fixture
def store(request, backend, tmp_path, wall, mono):
    database = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    if database is None:  # a copy of a migrated database (tests/conftest.py); test_store_db.py migrates its own
        request.getfixturevalue("station_data_dir")(tmp_path / "data")
    s = Store.open_service(tmp_path / "data", wall_clock=wall, clock=mono, password_cost=CHEAP_COST, database=database)
    yield s
    s.close()


@pytest.fixture
def clinician() -> Actor:
    return Actor(2, "ana", "10.0.0.7")


@pytest.fixture
def patient(store, clinician) -> dict:
    return store.patients.create({"identifier": "P-0001", "birth_year": 1948, "sex": "F"}, actor=clinician)


@pytest.fixture
def session(store, patient, clinician) -> dict:
    return store.sessions.create(patient["id"], {"label": "baseline"}, actor=clinician)
