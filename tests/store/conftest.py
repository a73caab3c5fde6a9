"""Fixtures for the clinic store tests: a store on a temporary data directory with a simulated
monotonic clock and a settable wall clock, cheap password hashing; every test using ``store``
runs on both backends (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3

import pytest

import station.store.db as db_module

from station.sim.clock import SimulatedClock
from station.store.audit import Actor
from station.store.store import Store

from clinic_data import CHEAP_COST, SHORT_BUSY_TIMEOUT_MS, WallClock


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
def station_store(tmp_path, station_data_dir, monkeypatch, wall, mono):
    """A station's store (SQLite only) whose connections wait :data:`SHORT_BUSY_TIMEOUT_MS` for another program's
    write lock, not 5 s: code that waits out the busy timeout under :func:`other_program`'s lock fails quickly."""
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", SHORT_BUSY_TIMEOUT_MS)  # before the connections are made
    station_data_dir(tmp_path / "data")
    s = Store.open_service(tmp_path / "data", wall_clock=wall, clock=mono, password_cost=CHEAP_COST)
    yield s
    s.close()


@pytest.fixture
def other_program(station_store):
    """Another program's connection to :func:`station_store`'s database (an administrator's command: hold and
    release its write lock with ``BEGIN IMMEDIATE`` / ``COMMIT``); rolled back and closed at the end."""
    conn = sqlite3.connect(station_store.db.path, isolation_level=None, check_same_thread=False)
    yield conn
    if conn.in_transaction:
        conn.execute("ROLLBACK")
    conn.close()


@pytest.fixture
def clinician() -> Actor:
    return Actor(2, "ana", "10.0.0.7")


@pytest.fixture
def patient(store, clinician) -> dict:
    return store.patients.create({"identifier": "P-0001", "birth_year": 1948, "sex": "F"}, actor=clinician)


@pytest.fixture
def session(store, patient, clinician) -> dict:
    return store.sessions.create(patient["id"], {"label": "baseline"}, actor=clinician)
