"""A card that fails while the station is idle is found before the next recording: once nothing was
written for IDLE_CHECK_S, reading the storage's status (the health document: /healthz, the pages' health
chip) writes and fsyncs a small file in the data directory; a storage that refuses it is ``failed`` (the
chip says so, no recording starts) until it writes again. Not while the station writes (its commits show
that the card writes), and never by the recording gate's fresh reading (the trial service's loop).

On the old code a card failing while idle stayed ``ok`` until the next write failed."""

from __future__ import annotations

import time

import pytest

import station.store.space as space
from station.store.audit import Actor

ACTOR = Actor(1, "admin", "127.0.0.1")


@pytest.fixture
def backend() -> str:
    return "sqlite"  # a station's SD card


@pytest.fixture
def card(monkeypatch):
    """The storage's check write (space.storage_writes): what it says, and how many were made."""
    state = {"problem": "", "checks": 0}

    def storage_writes(data_dir):
        state["checks"] += 1
        return state["problem"]

    monkeypatch.setattr(space, "storage_writes", storage_writes)
    monkeypatch.setattr(space, "IDLE_CHECK_S", 0.5, raising=False)  # (the old code had no idle check)
    return state


def test_a_card_failing_while_idle_is_found_by_the_status_and_said_on_the_health(store, card):
    from web import create_app

    from clinic_data import CHEAP_COST

    store.patients.create({"identifier": "IDLE-1", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
    assert store.space.status()["state"] == "ok" and card["checks"] == 0  # it has just written
    for _ in range(3):  # writing now and then: the commits show the card writes
        time.sleep(0.3)
        store.audit.record(ACTOR, "patient.list")
        assert store.space.status(fresh=True)["state"] == "ok"
    assert card["checks"] == 0
    card["problem"] = "Input/output error"
    time.sleep(0.6)
    assert store.space.status(fresh=True)["state"] == "ok" and card["checks"] == 0  # the loop's gate: no write
    doc = store.space.status()
    assert doc["state"] == "failed" and card["checks"] >= 1, doc
    assert doc["message"] == ("the station's storage failed to write (Input/output error): trials cannot be "
                              f"recorded; {space.STORAGE_WHAT_TO_DO}")
    app = create_app({"DATA_DIR": str(store.data_dir), "STORE": store, "PASSWORD_COST": CHEAP_COST, "TESTING": True})
    health = app.test_client().get("/healthz").get_json()
    assert health["storage"]["state"] == "failed" and doc["message"] in health["reason"], health
    card["problem"] = ""  # mended (a card reseated): it writes again
    assert store.space.status(fresh=True)["state"] == "ok"
    store.space.status()
    checks = card["checks"]
    assert store.space.status()["state"] == "ok" and card["checks"] == checks  # once per IDLE_CHECK_S at most
