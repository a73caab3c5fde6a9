"""JSON text inside a record (a trial's metrics and calibration, a game's settings and result)
nested deeper than the parser goes: refused as a field of the record, from a station's push as
from a hub's answer, never a crash of the request."""

from __future__ import annotations

import pytest

from station.store.db import ValidationError
from station.sync import pulled
from station.sync.client import SyncError
from station.sync.hub import Hub
from station.sync.records import record_of

from sync_support import CLINICIAN, add_trial, hub_patient

NESTED = "[" * 60_000 + "]" * 60_000
"""120 kB of JSON text, nested 60,000 deep (Python's parser stops at about 1,000)."""


def test_a_pushed_trial_whose_metrics_nest_too_deeply_is_refused_with_its_field(hub_store, station_factory):
    gym = station_factory("gym")
    patient = gym.store.patients.create({"identifier": "N-1", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    session = gym.store.sessions.create(patient["id"], {"label": "visit"}, actor=CLINICIAN)
    add_trial(gym.store, session["id"], 300)
    changes = [{**row, "payload": record_of(gym.store, row)} for row in gym.store.outbox.pending()]  # as _push sends
    [trial] = [c for c in changes if c["entity"] == "trial"]
    trial["payload"]["metrics"] = NESTED
    body = {"station_id": gym.store.outbox.station_id, "changes": changes}
    with pytest.raises(SyncError, match="HTTP 422.*metrics: is JSON nested too deeply"):  # before: HTTP 500
        gym.client.request("POST", "/api/hub/push", body=body)
    assert hub_patient(hub_store, "N-1")["identifier"] == "N-1"  # the changes before it were applied
    [row] = Hub(hub_store).stations()
    assert "metrics" in row["last_error"] and row["last_seq"] == trial["seq"] - 1


def test_a_hubs_page_of_history_whose_metrics_nest_too_deeply_is_refused_with_its_field(tmp_path, station_data_dir):
    from station.store.store import Store

    station_data_dir(tmp_path / "gym")
    store = Store.open(tmp_path / "gym")
    try:
        patient = store.patients.create({"identifier": "N-2", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
        session = store.sessions.create(patient["id"], {"label": "visit"}, actor=CLINICIAN)
        add_trial(store, session["id"], 300)
        rows = {row["entity"]: row for row in store.outbox.pending()}
        trial = {**record_of(store, rows["trial"]), "hub_id": 2, "station": "ward", "frames_on_hub": 300,
                 "metrics": NESTED}
        page = [{**record_of(store, rows["session"]), "hub_id": 1, "station": "ward", "trials": [trial]}]
    finally:
        store.close()
    with pytest.raises(ValidationError, match="metrics"):  # before: RecursionError
        pulled.check_page(page)
