"""Fixtures of the sync tests: a hub (its store and app) on SQLite or PostgreSQL, and a factory of
stations syncing to it in this process."""

from __future__ import annotations

import pytest

from web import create_app

from sync_support import CHEAP, make_station, open_hub_store


@pytest.fixture(params=["sqlite", "postgresql"])
def hub_backend(request) -> str:
    return request.param


@pytest.fixture
def hub_store(request, hub_backend, tmp_path):
    database = request.getfixturevalue("pg_url") if hub_backend == "postgresql" else None
    s = open_hub_store(tmp_path, database=database)
    yield s
    s.close()


@pytest.fixture
def hub_app(hub_store, tmp_path):
    return create_app({"STORE": hub_store, "HUB": True, "SECRET_KEY": "test", "PASSWORD_COST": CHEAP,
                       "TESTING": True})


@pytest.fixture
def station_factory(hub_store, hub_app, tmp_path):
    made = []

    def make(name: str, wall=None):
        sync = make_station(hub_store, hub_app, tmp_path, name, wall)
        made.append(sync)
        return sync

    yield make
    for sync in made:
        sync.store.close()
