"""Fixtures for the web tests: an app on a temporary data directory with a settable wall clock and
cheap password hashing, accounts, signed-in API clients, stored records.

The app's store is SQLite (a station); every test of a module that sets ``BACKENDS`` (all the
modules here) runs on the hub too: the app with ``HUB`` on an empty PostgreSQL database
(tests/conftest.py), as ``balance-station hub`` composes it; ``@sqlite_only(reason)`` (web_support)
keeps one on SQLite, and ``@hub_sample(...)`` runs a matrix on SQLite with a sample of its cases on
the hub (the rule: tests/conftest.py's docstring)."""

from __future__ import annotations

import pytest

from station.store.audit import Actor
from web import create_app

from web_support import ADMIN_PW, CAL, CLINICIAN_PW, ApiClient, clinic_data


@pytest.fixture
def wall():
    return clinic_data.WallClock()


@pytest.fixture
def ticks():
    """A monotonic clock of its own for the rate limits (the ``app`` takes it when a test asks for it)."""
    return clinic_data.WallClock(1000.0)


def _parametrised_here(metafunc, name: str) -> bool:
    """Whether the test's own ``parametrize`` marks already name ``name`` (web_support.hub_sample)."""
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0]
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        if name in names:
            return True
    return False


def pytest_generate_tests(metafunc):
    backends = getattr(metafunc.function, "backends", None) or getattr(metafunc.module, "BACKENDS", None)
    if backends and "backend" in metafunc.fixturenames and not _parametrised_here(metafunc, "backend"):
        metafunc.parametrize("backend", backends)


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def app(request, backend, tmp_path, wall):
    # the rate limits' monotonic clock: the test's ``ticks`` when it asks for one (to step the wall
    # clock alone), else the wall clock too (moved forward by hand)
    ticks = request.getfixturevalue("ticks") if "ticks" in request.fixturenames else wall
    config = {"DATA_DIR": str(tmp_path / "data"), "PASSWORD_COST": clinic_data.CHEAP_COST, "WALL_CLOCK": wall,
              "THROTTLE_CLOCK": ticks, "TESTING": True}
    if backend == "sqlite":  # a copy of a migrated database (tests/conftest.py)
        request.getfixturevalue("station_data_dir")(tmp_path / "data")
    if backend == "postgresql":
        from station.store.store import Store

        config["STORE"] = Store.open_service(tmp_path / "data", wall_clock=wall, password_cost=clinic_data.CHEAP_COST,
                                             database=request.getfixturevalue("pg_url"))
        config["HUB"] = True
    app = create_app(config)
    yield app
    app.extensions["station_store"].close()


@pytest.fixture
def store(app):
    return app.extensions["station_store"]


@pytest.fixture
def accounts(store):
    """An administrator ``root`` and a clinician ``ana``."""
    setup = Actor(None, "cli:test")
    root = store.users.create_first_admin("root", ADMIN_PW, actor=setup)
    ana = store.users.create("ana", CLINICIAN_PW, "clinician", actor=setup)
    return {"root": root, "ana": ana}


@pytest.fixture
def anon(app):
    return ApiClient(app.test_client())


@pytest.fixture
def clinician(app, accounts):
    c = ApiClient(app.test_client())
    assert c.login("ana", CLINICIAN_PW).status_code == 200
    return c


@pytest.fixture
def admin(app, accounts):
    c = ApiClient(app.test_client())
    assert c.login("root", ADMIN_PW).status_code == 200
    return c


@pytest.fixture
def records(store, accounts):
    """A patient with a session and a complete trial, and a second patient: their ids."""
    who = Actor(accounts["ana"]["id"], "ana")
    patient = store.patients.create(
        {"identifier": "PT-100", "birth_year": 1947, "sex": "F", "conditions": ["parkinsons"], "notes": "likes mornings"},
        actor=who,
    )
    other = store.patients.create({"identifier": "PT-200", "birth_year": 1960, "sex": "M"}, actor=who)
    session = store.sessions.create(patient["id"], {"label": "baseline"}, actor=who)
    frames = clinic_data.make_frames(1000)
    frames["ap_cm"][3] = float("nan")
    trial = store.trials.import_trial(
        session["id"], "romberg", "eyes_open", CAL, 100.0, frames, clinic_data.metrics_doc(), True, None, actor=who
    )
    return {
        "patient": patient["id"],
        "other": other["id"],
        "session": session["id"],
        "trial": trial,
        "user": accounts["ana"]["id"],
        "frames": frames,
    }
