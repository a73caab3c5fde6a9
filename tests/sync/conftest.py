"""Fixtures of the sync tests: a hub (its store and app) on PostgreSQL, and a factory of stations
(each on its own SQLite, as a station is) syncing to it in this process.

The hub runs on PostgreSQL only, as ``balance-station hub`` does (it takes nothing but a
``postgresql://`` database): a hub on SQLite is no configuration of the product, so the sync tests
no longer repeat every case on one (the split's rule: tests/conftest.py). The stations' side of
every case is on SQLite."""

from __future__ import annotations

import pytest

from web import create_app

from sync_support import CHEAP, WallClock, make_station, open_hub_store


@pytest.fixture(params=["postgresql"])
def hub_backend(request) -> str:
    """The hub's database (the test ids keep naming it)."""
    return request.param


@pytest.fixture
def hub_store(request, hub_backend, tmp_path):
    s = open_hub_store(tmp_path, database=request.getfixturevalue("pg_url"))
    yield s
    s.close()


@pytest.fixture
def hub_app(hub_store, tmp_path):
    return create_app({"STORE": hub_store, "HUB": True, "SECRET_KEY": "test", "PASSWORD_COST": CHEAP,
                       "TESTING": True})


@pytest.fixture
def station_factory(hub_store, hub_app, tmp_path, station_data_dir):
    made = []

    def make(name: str, wall=None):
        station_data_dir(tmp_path / name)  # a copy of a migrated database (tests/conftest.py)
        sync = make_station(hub_store, hub_app, tmp_path, name, wall)
        made.append(sync)
        return sync

    yield make
    for sync in made:
        sync.store.close()


@pytest.fixture
def clocked_hub(pg_url, tmp_path, station_data_dir):
    """``(wall, hub_store, gym)``: a hub on PostgreSQL whose wall clock ``wall`` the test moves
    (a day ahead of the station's), and a station ``gym`` syncing to it."""
    wall = WallClock(1_767_225_600.0 + 86_400)
    hub_store = open_hub_store(tmp_path, wall=wall, database=pg_url)
    app = create_app({"STORE": hub_store, "HUB": True, "SECRET_KEY": "test", "PASSWORD_COST": CHEAP, "TESTING": True,
                      "WALL_CLOCK": wall})
    station_data_dir(tmp_path / "gym")
    gym = make_station(hub_store, app, tmp_path, "gym", WallClock())
    yield wall, hub_store, gym
    gym.store.close()
    hub_store.close()
