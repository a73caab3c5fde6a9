"""The station's log (standard error: the journal) never holds the hub's words of a refusal, which may
name a patient (X1 finding F2, session 25: "sync with the hub failed: the hub refused POST
/api/hub/push (HTTP 409): identifier 'P-SECRET-7' is already used by another patient" was logged);
a signed-in user still reads them in the station's status."""

from __future__ import annotations

import json

import pytest

from station.store.store import Store
from station.sync.client import HubClient
from station.sync.syncer import WORDS_WITHHELD, StationSync, SyncWorker
from web import create_app

from sync_support import CHEAP, CLINICIAN

SECRET = "P-SECRET-7"


class _Refusing:
    """A hub that refuses every request with ``status`` and words naming a patient."""

    def __init__(self, status: int) -> None:
        self.status = status

    def __call__(self, method, url, headers, body):
        words = f"identifier {SECRET!r} is already used by another patient"
        return self.status, json.dumps({"error": words}).encode()


@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_a_refusal_naming_a_patient_is_logged_without_the_hubs_words(tmp_path, capsys, status):
    store = Store.open(tmp_path / "s", password_cost=CHEAP)
    try:
        store.patients.create({"identifier": "P-Q", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
        sync = StationSync(store, HubClient("https://hub.example", "token", transport=_Refusing(status)))
        worker = SyncWorker(sync, interval_s=10, max_backoff_s=60)
        worker.step()
        logged = capsys.readouterr().err
        assert logged.count("sync with the hub failed") == 1 and SECRET not in logged
        assert f"(HTTP {status}); {WORDS_WITHHELD}" in logged and "the hub refused " in logged
        assert SECRET in worker.last_error  # the whole words kept for the signed-in status
        store.users.create_first_admin("root", "admin password 123", actor=CLINICIAN)
        app = create_app({"STORE": store, "SYNC": sync, "SECRET_KEY": "t", "PASSWORD_COST": CHEAP})
        client = app.test_client()
        csrf = client.get("/api/session").get_json()["csrf_token"]
        assert client.post("/api/login", json={"username": "root", "password": "admin password 123"},
                           headers={"X-CSRF-Token": csrf}).status_code == 200
        assert SECRET in client.get("/api/station").get_json()["health"]["sync"]["last_error"]
        assert SECRET not in json.dumps(client.get("/healthz").get_json())
    finally:
        store.close()


def test_an_unreachable_hub_is_logged_in_the_stations_own_words(tmp_path, capsys):
    class Down:
        def __call__(self, method, url, headers, body):
            raise OSError("connection refused")

    store = Store.open(tmp_path / "s", password_cost=CHEAP)
    try:
        store.patients.create({"identifier": "P-Q", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
        worker = SyncWorker(StationSync(store, HubClient("https://hub.example", "token", transport=Down())))
        worker.step()
        logged = capsys.readouterr().err
        assert f"sync with the hub failed: {worker.last_error}" in logged and "cannot reach the hub" in logged
    finally:
        store.close()
