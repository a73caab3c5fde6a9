"""The hub's Stations page (administrators) shows a station's last error without a patient's words (X1
finding F7, session 25): a push refused for another patient's identifier was shown as "change refused:
identifier 'P-SECRET-7' is already used by another patient", unaudited. The kind of refusal stays, for the
administrator to act on, and where the whole words are read (the station's status, signed in, which
shows them); the quoted value is left out, on the page, in ``GET /api/hub/stations`` and in ``balance-station
hub stations list`` (on the hub's machine, its output kept in terminals and scrollback; one helper,
station.sync.refused.shown_error)."""

from __future__ import annotations

import json

import pytest

from station.cli import main
from station.sync.client import SyncError
from station.sync.hub import Hub
from station.sync.refused import QUOTED_LEFT_OUT

from sync_support import CLINICIAN, hub_admin_client

SECRET = "P-SECRET-7"


def test_a_refusal_naming_a_patient_shows_on_the_stations_page_without_the_identifier(hub_store, hub_app,
                                                                                     station_factory, pg_url,
                                                                                     tmp_path, capsys):
    ward, gym = station_factory("ward"), station_factory("gym")
    ward.store.patients.create({"identifier": SECRET, "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    ward.sync_once()
    mine = gym.store.patients.create({"identifier": "P-GYM-1", "birth_year": 1961, "sex": "M"}, actor=CLINICIAN)
    gym.sync_once()
    gym.store.patients.update(mine["id"], {"identifier": SECRET}, actor=CLINICIAN)  # a typo at the gym
    with pytest.raises(SyncError) as refused:
        gym.sync_once()
    assert SECRET in str(refused.value)  # the station keeps the whole words (its status shows them, signed in)
    assert SECRET in json.dumps(Hub(hub_store).stations())  # the hub keeps it
    admin = hub_admin_client(hub_store, hub_app)
    _shown_without(admin, "change refused: identifier '…' is already used by another patient")
    _listed_without(pg_url, tmp_path, capsys, "change refused: identifier '…' is already used by another patient")

    # as the station reports its own last error with its next push (the hub's words in it)
    reported = f"the hub refused POST /api/hub/push (HTTP 409): identifier {SECRET!r} is already used by another patient"
    answer = hub_app.test_client().post("/api/hub/push", json={"station_id": gym.store.outbox.station_id,
                                                                "last_error": reported, "changes": []},
                                        headers={"Authorization": f"Bearer {gym.client._token}"})
    assert answer.status_code == 200, answer.get_json()
    _shown_without(admin, "the hub refused POST /api/hub/push (HTTP 409): identifier '…' is already used")
    _listed_without(pg_url, tmp_path, capsys, "the hub refused POST /api/hub/push (HTTP 409): identifier '…' is already")


def _listed_without(pg_url, tmp_path, capsys, words: str) -> None:
    """``balance-station hub stations list`` shows ``words`` for the gym, and not the identifier."""
    capsys.readouterr()
    assert main(["hub", "stations", "list", "--database", pg_url, "--data-dir", str(tmp_path / "hub")]) == 0
    listed = capsys.readouterr().out
    [gym] = [line for line in listed.splitlines() if line.startswith("gym\t")]
    assert SECRET not in listed and words in gym and QUOTED_LEFT_OUT in gym, listed


def _shown_without(admin, words: str) -> None:
    """The Stations page and its API show ``words`` for the gym, and not the identifier."""
    [row] = [r for r in admin.get("/api/hub/stations").get_json()["stations"] if r["name"] == "gym"]
    page = admin.get("/hub/stations").get_data(as_text=True).replace("&#39;", "'")
    for shown in (row["last_error"], page):
        assert SECRET not in shown and words in shown and QUOTED_LEFT_OUT in shown, shown
