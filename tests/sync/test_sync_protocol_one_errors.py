"""A station of sync protocol 1 (frame parts without their digest, tombstones asked unkeyed) is
refused by the hub; the refusal shows on the hub's stations page as that station's last error
(not only in the station's own /healthz), and a sync of the updated station clears it."""

from __future__ import annotations

import pytest

from station.store.db import NotFound

from sync_support import CLINICIAN, frames, hub_admin_client


def _row(client, name: str) -> dict:
    [row] = [r for r in client.get("/api/hub/stations").get_json()["stations"] if r["name"] == name]
    return row


def test_a_part_without_its_digest_shows_on_the_stations_page(hub_store, hub_app, station_factory):
    gym = station_factory("gym")
    gym.sync_once()
    admin = hub_admin_client(hub_store, hub_app)
    assert _row(admin, "gym")["last_error"] is None
    data = frames(10).tobytes()
    answer = hub_app.test_client().put(
        "/api/hub/trials/1/parts/0", data=data, content_type="application/octet-stream",
        headers={"Authorization": f"Bearer {gym.client._token}", "X-First-Seq": "0", "X-Frames": "10"})
    assert answer.status_code == 400
    row = _row(admin, "gym")
    assert "sync protocol 1" in row["last_error"] and "update the station" in row["last_error"]
    page = admin.get("/hub/stations").get_data(as_text=True)
    assert "sync protocol 1" in page
    assert row["queue_length"] == 0 and row["last_sync_at"]  # the rest of its row is kept

    gym.sync_once()  # the station, updated, syncs (nothing to push): its error is gone
    assert _row(admin, "gym")["last_error"] is None


def test_unkeyed_tombstones_show_on_the_stations_page(hub_store, hub_app, station_factory):
    ward = station_factory("ward")
    patient = ward.store.patients.create({"identifier": "P-0001", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    ward.sync_once()
    admin = hub_admin_client(hub_store, hub_app)
    hub_store.patients.erase(hub_store.patients.get_by_identifier("P-0001")["id"], "P-0001", actor=CLINICIAN)
    auth = {"Authorization": f"Bearer {ward.client._token}"}
    answer = hub_app.test_client().get("/api/hub/tombstones?after=0&queue_length=3", headers=auth)
    assert answer.status_code == 400
    row = _row(admin, "ward")
    assert "sync protocol 1" in row["last_error"] and row["queue_length"] == 3
    assert "P-0001" not in row["last_error"]

    assert ward.sync_once().erased == 1  # the station, updated, takes the erasure: its error is gone
    assert _row(admin, "ward")["last_error"] is None
    with pytest.raises(NotFound):
        ward.store.patients.get(patient["id"])
