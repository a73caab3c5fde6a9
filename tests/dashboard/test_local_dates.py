"""A programme's "today", "week k of n" and "next session" follow the station's local calendar:
at 00:30 local time (still yesterday in UTC) the new day has begun. Also the live page's way back
to the programme a test was started from."""

from __future__ import annotations

import calendar
import time

import pytest

from station.programmes.loader import builtin_programmes
from station.programmes.report import programme_document
from station.protocols.loader import builtin_protocols
from station.store.programmes import today_of
from station.store.store import Store

from dashboard_support import ACTOR, CHEAP
from test_api_station import make_app

PROTOCOLS = builtin_protocols()


@pytest.fixture
def ahead_of_utc(time_zone):
    """The station one hour ahead of UTC."""
    time_zone("XXX-1")


def utc(text: str) -> float:
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%d %H:%M")))


def test_today_changes_at_the_stations_midnight_not_utcs(ahead_of_utc):
    assert today_of(lambda: utc("2026-03-01 22:59")) == "2026-03-01"  # 23:59 local
    assert today_of(lambda: utc("2026-03-01 23:30")) == "2026-03-02"  # 00:30 local, UTC still says March 1


def test_week_and_next_session_around_midnight(tmp_path, ahead_of_utc):
    now = {"t": utc("2026-03-01 12:00")}
    store = Store.open_service(tmp_path / "data", password_cost=CHEAP, wall_clock=lambda: now["t"])
    try:
        patient = store.patients.create({"identifier": "P-1", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
        template = builtin_programmes(PROTOCOLS)["balance-training"]
        assignment = store.programmes.assign(patient["id"], template, "2026-03-02", actor=ACTOR)
        now["t"] = utc("2026-03-01 22:30")  # 23:30 local: the programme starts tomorrow
        doc = programme_document(store, assignment["id"], PROTOCOLS, actor=ACTOR)
        assert doc["today"] == "2026-03-01" and doc["position"]["week"] == 0
        now["t"] = utc("2026-03-01 23:30")  # 00:30 local on March 2: week 1 has begun
        doc = programme_document(store, assignment["id"], PROTOCOLS, actor=ACTOR)
        assert doc["today"] == "2026-03-02" and doc["position"]["week"] == 1
        assert doc["position"]["next_session"]["planned_date"] >= "2026-03-02"
    finally:
        store.close()


def test_the_live_page_links_back_to_the_programme_it_was_started_from(tmp_path):
    store = Store.open_service(tmp_path / "data", password_cost=CHEAP)
    try:
        _app, api = make_app(tmp_path, store)
        page = api.get("/live?patient=1&programme=7").get_data(as_text=True)
        assert 'id="programme-link" href="/assignments/7"' in page
        assert "programme-link" not in api.get("/live?patient=1").get_data(as_text=True)
        assert "programme-link" not in api.get("/live?programme=7%22%3E").get_data(as_text=True)
    finally:
        store.close()
