"""At a station: its users bring a patient from the hub by identifier (the patients page offers it
when a search finds nobody here)."""

from __future__ import annotations

from station.store.audit import Actor
from web import create_app

from sync_support import CHEAP, CLINICIAN


def _signed_in(app, store):
    store.users.create("ana", "a long clinician password 7", "clinician", actor=Actor.system())
    client = app.test_client()
    csrf = client.get("/api/session").get_json()["csrf_token"]
    answer = client.post("/api/login", json={"username": "ana", "password": "a long clinician password 7"},
                         headers={"X-CSRF-Token": csrf})
    return client, answer.get_json()["csrf_token"]


def test_a_clinician_brings_a_patient_from_the_hub(hub_store, station_factory):
    gym = station_factory("gym")
    hub_store.patients.create({"identifier": "H-77", "birth_year": 1939, "sex": "X"}, actor=CLINICIAN)
    app = create_app({"STORE": gym.store, "SYNC": gym, "SECRET_KEY": "s", "PASSWORD_COST": CHEAP})
    client, csrf = _signed_in(app, gym.store)
    assert 'id="hub-pull"' in client.get("/patients").get_data(as_text=True)
    assert client.post("/api/patients/pull", json={"identifier": "H-77"}).status_code == 403  # CSRF as everywhere
    answer = client.post("/api/patients/pull", json={"identifier": "H-77"}, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 201 and answer.get_json()["birth_year"] == 1939
    assert gym.store.audit.query(action="patient.create")[0]["username"] == "ana"
    missing = client.post("/api/patients/pull", json={"identifier": "NOBODY"}, headers={"X-CSRF-Token": csrf})
    assert missing.status_code == 404 and "here or on the hub" in missing.get_json()["error"]
    gym.client._send.cut_after(0)
    offline = client.post("/api/patients/pull", json={"identifier": "H-78"}, headers={"X-CSRF-Token": csrf})
    assert offline.status_code == 503 and "when the station is online" in offline.get_json()["error"]
    assert "will retry" not in offline.get_json()["error"]  # a pull from the page is not retried


def test_without_a_hub_the_page_offers_nothing_and_the_api_says_why(tmp_path):
    from station.store.store import Store

    with Store.open(tmp_path / "alone", password_cost=CHEAP) as store:
        app = create_app({"STORE": store, "SECRET_KEY": "s", "PASSWORD_COST": CHEAP})
        client, csrf = _signed_in(app, store)
        assert 'id="hub-pull"' not in client.get("/patients").get_data(as_text=True)
        answer = client.post("/api/patients/pull", json={"identifier": "X"}, headers={"X-CSRF-Token": csrf})
        assert answer.status_code == 409 and "[hub] url and token" in answer.get_json()["error"]
