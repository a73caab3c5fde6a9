"""Tombstones name an erased patient to stations only keyed with the clinic's key (HMAC-SHA256 of
the identifier hash): a tombstone list cannot be checked against guessed identifiers without the key,
and erasure still reaches every station."""

from __future__ import annotations

import json

import pytest

from station.store.audit import Actor
from station.store.outbox import identifier_hash
from station.sync.client import SyncError
from station.sync.hub import Hub
from station.sync.records import clinic_key_id, tombstone_key

from sync_support import CLINICIAN


def _erase_on_hub(hub_store, identifier: str) -> None:
    patient = hub_store.patients.get_by_identifier(identifier)
    hub_store.patients.erase(patient["id"], identifier, actor=Actor.command_line())


def test_tombstones_are_keyed_and_erasure_still_reaches_the_station(hub_store, hub_app, station_factory):
    ward = station_factory("ward")
    ward.store.patients.create({"identifier": "P-0001", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    ward.store.patients.create({"identifier": "P-0002", "birth_year": 1951, "sex": "M"}, actor=CLINICIAN)
    ward.sync_once()
    _erase_on_hub(hub_store, "P-0001")
    hub = Hub(hub_store)
    assert len(hub.clinic_key) == 64 and Hub(hub_store).clinic_key == hub.clinic_key  # made once, kept
    answer = hub_app.test_client().get("/api/hub/tombstones?after=0&keyed=1",
                                       headers={"Authorization": f"Bearer {ward.client._token}"})
    text = answer.get_data(as_text=True)
    guesses = [identifier_hash(f"P-{n:04d}") for n in range(100)]
    assert answer.status_code == 200 and not any(g in text for g in guesses)  # the plain hash of a guess is not there
    [item] = answer.get_json()["tombstones"]
    assert item["identifier_key"] == tombstone_key(hub.clinic_key, identifier_hash("P-0001"))
    assert answer.get_json()["key_id"] == clinic_key_id(hub.clinic_key) and hub.clinic_key not in text
    assert ward.sync_once().erased == 1
    assert [p["identifier"] for p in ward.store.patients.search()["patients"]] == ["P-0002"]


def test_a_station_of_the_old_protocol_is_told_to_update_before_any_erasure_is_lost(hub_store, hub_app,
                                                                                    station_factory):
    ward = station_factory("ward")
    ward.store.patients.create({"identifier": "P-0001", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    ward.sync_once()
    client, auth = hub_app.test_client(), {"Authorization": f"Bearer {ward.client._token}"}
    assert client.get("/api/hub/tombstones?after=0", headers=auth).status_code == 200  # nothing to miss yet
    _erase_on_hub(hub_store, "P-0001")
    answer = client.get("/api/hub/tombstones?after=0", headers=auth)
    assert answer.status_code == 400 and "sync protocol 1" in answer.get_json()["error"]
    assert client.get("/api/hub/clinic-key").status_code == 401  # the key only to a station token
    assert ward.sync_once().erased == 1


def test_a_station_asks_the_key_again_when_the_tombstones_name_another(hub_store, station_factory):
    ward = station_factory("ward")
    ward.store.patients.create({"identifier": "P-0001", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    ward.sync_once()
    ward._clinic_key = "00" * 32  # a key from before (another hub, say)
    _erase_on_hub(hub_store, "P-0001")
    assert ward.sync_once().erased == 1
    assert ward._clinic_key == Hub(hub_store).clinic_key


@pytest.mark.parametrize("key_answer", [{"key": "00" * 32}, {"key": "zz" * 32}, {"key": 5}, {}])
def test_a_wrong_clinic_key_from_the_hub_is_one_clear_error_and_erases_nothing(hub_store, station_factory,
                                                                                key_answer):
    ward = station_factory("ward")
    ward.store.patients.create({"identifier": "P-0001", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    ward.sync_once()
    ward.store.outbox.key_file.path.unlink()  # it asks the hub's key only when its key file holds none (or another)
    _erase_on_hub(hub_store, "P-0001")
    transport = ward.client._send

    def lying(method, url, headers, body):
        if url.endswith("/api/hub/clinic-key"):
            return 200, json.dumps(key_answer).encode()
        return transport(method, url, headers, body)

    ward.client._send = lying
    with pytest.raises(SyncError, match="clinic key does not match its tombstones"):
        ward.sync_once()
    assert ward.store.patients.search()["total"] == 1
    ward.client._send = transport
    assert ward.sync_once().erased == 1
