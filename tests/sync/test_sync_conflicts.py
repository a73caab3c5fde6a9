"""One patient on two stations: pulled on demand by identifier, edited on both, merged on the hub
last-writer-wins per field, both versions kept."""

from __future__ import annotations

import pytest

from station.store.db import NotFound
from station.sync.client import SyncError
from station.sync.hub import Hub

from sync_support import CLINICIAN, WallClock, add_trial, hub_patient, hub_trials


def test_a_patient_created_at_one_station_is_pulled_and_measured_at_another(hub_store, station_factory):
    gym, ward = station_factory("gym"), station_factory("ward")
    gym.store.patients.create({"identifier": "P-7", "birth_year": 1941, "sex": "M", "weight_kg": 80.0}, actor=CLINICIAN)
    gym.sync_once()
    pulled = ward.pull_patient("p-7", actor=CLINICIAN)  # identifiers match whatever the case
    assert (pulled["identifier"], pulled["birth_year"], pulled["weight_kg"]) == ("P-7", 1941, 80.0)
    session = ward.store.sessions.create(pulled["id"], {"label": "ward"}, actor=CLINICIAN)
    add_trial(ward.store, session["id"], 500)
    report = ward.sync_once()
    assert report.sent["patient"] == 1  # the link only: no second patient on the hub
    assert hub_store.patients.search()["total"] == 1
    assert [t["frame_count"] for t in hub_trials(hub_store, "P-7")] == [500]
    with pytest.raises(NotFound, match="here or on the hub"):
        ward.pull_patient("P-404", actor=CLINICIAN)


def test_a_patient_registered_at_two_stations_one_offline_is_one_hub_patient_with_the_hubs_fields(
        hub_store, station_factory):
    """The offline station's registration of a patient the hub already holds joins that patient (its
    visits and trials with them) and takes the hub's record, as a pull would: the hub's fields were
    there first and stay (a later registration is a guess of the identifier as much as a second
    registration: R3 finding 2), the station's differing values kept as a version for administrators."""
    gym_clock, ward_clock = WallClock(), WallClock()
    gym, ward = station_factory("gym", wall=gym_clock), station_factory("ward", wall=ward_clock)
    ward.store.patients.create({"identifier": "W-1", "birth_year": 1970, "sex": "F"}, actor=CLINICIAN)
    ward.sync_once()
    gym.store.patients.create({"identifier": "P-7", "birth_year": 1941, "sex": "M", "weight_kg": 80.0}, actor=CLINICIAN)
    gym.sync_once()
    ward.sync_once()  # the ward's updates cursor moves past P-7's creation on the hub (P-7 is not the ward's)
    ward_clock.advance(3600)  # offline: the ward registers P-7 again an hour later, with its own values
    local = ward.store.patients.create({"identifier": "p-7", "birth_year": 1941, "sex": "M", "weight_kg": 82.5,
                                        "notes": "ward"}, actor=CLINICIAN)
    session = ward.store.sessions.create(local["id"], {"label": "ward"}, actor=CLINICIAN)
    add_trial(ward.store, session["id"], 200)
    ward.sync_once()
    assert hub_store.patients.search(q="P-7")["total"] == 1
    merged = hub_patient(hub_store, "P-7")
    assert (merged["weight_kg"], merged["notes"]) == (80.0, "")  # before: 82.5 and "ward" (the later writer)
    assert [t["frame_count"] for t in hub_trials(hub_store, "P-7")] == [200]
    here = ward.store.patients.get(local["id"])
    assert (here["identifier"], here["weight_kg"], here["notes"]) == ("P-7", 80.0, "")  # the hub's record
    assert ward.store.outbox.length() == 0  # taken from the hub, not sent back
    [version] = Hub(hub_store).patient_versions(merged["id"])
    assert version["station"] == "ward" and version["incoming"] == {"identifier": "p-7", "weight_kg": 82.5,
                                                                    "notes": "ward"}
    assert version["kept"] == ["identifier", "notes", "weight_kg"]
    [entry] = [e for e in hub_store.audit.query(patient_id=merged["id"], action="patient.update")
               if e["username"] == "station:ward"]
    assert entry["detail"]["held_before_station"] is True and entry["detail"]["changed"] == []
    gym.sync_once()
    assert gym.store.patients.get_by_identifier("P-7")["weight_kg"] == 80.0


def test_a_patient_created_on_the_hub_can_be_measured_at_a_station(hub_store, station_factory):
    gym = station_factory("gym")
    hub_store.patients.create({"identifier": "H-1", "birth_year": 1960, "sex": "F"}, actor=CLINICIAN)
    patient = gym.pull_patient("H-1", actor=CLINICIAN)
    session = gym.store.sessions.create(patient["id"], {}, actor=CLINICIAN)
    add_trial(gym.store, session["id"], 300)
    gym.sync_once()
    assert [t["frame_count"] for t in hub_trials(hub_store, "H-1")] == [300]


def test_concurrent_edits_last_writer_wins_per_field_and_both_versions_are_kept(hub_store, station_factory):
    gym_clock, ward_clock = WallClock(), WallClock()
    gym, ward = station_factory("gym", wall=gym_clock), station_factory("ward", wall=ward_clock)
    patient = gym.store.patients.create({"identifier": "P-8", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    gym.sync_once()
    ward_copy = ward.pull_patient("P-8", actor=CLINICIAN)
    ward.sync_once()
    # offline from each other: the gym edits notes and height at t+50 s, the ward notes at t+100 s
    gym_clock.advance(50)
    gym.store.patients.update(patient["id"], {"notes": "gym note", "height_cm": 170.0}, actor=CLINICIAN)
    ward_clock.advance(100)
    ward.store.patients.update(ward_copy["id"], {"notes": "ward note"}, actor=CLINICIAN)
    ward.sync_once()   # the newer edit arrives first...
    gym.sync_once()    # ...the older one after it
    merged = hub_patient(hub_store, "P-8")
    assert merged["notes"] == "ward note"   # the later writer of notes wins
    assert merged["height_cm"] == 170.0     # the gym's height: nobody changed it later
    [version] = [v for v in Hub(hub_store).patient_versions(merged["id"]) if v["station"] == "gym"]
    assert version["incoming"] == {"notes": "gym note", "height_cm": 170.0}  # the losing version is kept
    assert version["before"] == {"notes": "ward note", "height_cm": None}
    assert version["kept"] == ["notes"]
    entry = next(e for e in hub_store.audit.query(patient_id=merged["id"], action="patient.update")
                 if e["username"] == "station:gym" and "kept_newer" in (e["detail"] or {}))
    assert entry["detail"]["kept_newer"] == ["notes"] and entry["detail"]["changed"] == ["height_cm"]
    assert entry["detail"]["version"] == version["id"]
    assert "gym note" not in str(hub_store.audit.query(limit=1000))  # the audit log names fields, never values
    # at their next syncs both stations take the hub's merged record
    assert gym.store.patients.get(patient["id"])["notes"] == "ward note"  # refreshed right after its push
    ward.sync_once()
    for station, local_id in ((gym, patient["id"]), (ward, ward_copy["id"])):
        local = station.store.patients.get(local_id)
        assert (local["notes"], local["height_cm"]) == ("ward note", 170.0)
        assert station.store.outbox.length() == 0  # taken from the hub, not sent back
    assert ward.store.audit.query(action="patient.update")[0]["username"] == "hub"


def test_an_edit_on_the_hub_is_a_writer_too(hub_store, station_factory):
    clock = WallClock()
    gym = station_factory("gym", wall=clock)
    patient = gym.store.patients.create({"identifier": "P-9", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    gym.sync_once()
    gym.store.patients.update(patient["id"], {"notes": "old station edit"}, actor=CLINICIAN)  # made in 2026-01
    on_hub = hub_patient(hub_store, "P-9")
    hub_store.patients.update(on_hub["id"], {"notes": "hub edit"}, actor=CLINICIAN)  # now: later
    gym.sync_once()
    assert hub_patient(hub_store, "P-9")["notes"] == "hub edit"
    assert gym.store.patients.get(patient["id"])["notes"] == "hub edit"  # and the station follows the hub


def test_administrators_read_both_versions_on_the_hub(hub_store, hub_app, station_factory):
    from station.store.audit import Actor

    clock = WallClock()
    gym = station_factory("gym", wall=clock)
    patient = gym.store.patients.create({"identifier": "P-V", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    gym.sync_once()
    gym.store.patients.update(patient["id"], {"notes": "station"}, actor=CLINICIAN)
    on_hub = hub_patient(hub_store, "P-V")
    hub_store.patients.update(on_hub["id"], {"notes": "hub"}, actor=CLINICIAN)
    gym.sync_once()
    hub_store.users.create("boss", "a long admin password 1", "admin", actor=Actor.system())
    client = hub_app.test_client()
    assert client.get(f"/api/hub/patients/{on_hub['id']}/versions").status_code == 401
    csrf = client.get("/api/session").get_json()["csrf_token"]
    client.post("/api/login", json={"username": "boss", "password": "a long admin password 1"},
                headers={"X-CSRF-Token": csrf})
    doc = client.get(f"/api/hub/patients/{on_hub['id']}/versions").get_json()
    [version] = doc["versions"]
    assert version["incoming"] == {"notes": "station"} and version["before"] == {"notes": "hub"}
    assert version["kept"] == ["notes"] and version["station"] == "gym"
    assert hub_store.audit.query(action="patient.view", username="boss")[0]["detail"] == {"versions": 1}
    assert client.get("/api/hub/patients/999/versions").status_code == 404


def test_a_patient_with_changes_still_queued_is_refreshed_only_after_they_are_pushed(hub_store, station_factory):
    from station.sync.syncer import SyncReport

    gym = station_factory("gym")
    patient = gym.store.patients.create({"identifier": "P-W", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    gym.sync_once()
    hub_store.patients.update(hub_patient(hub_store, "P-W")["id"], {"weight_kg": 61.0}, actor=CLINICIAN)
    gym.store.patients.update(patient["id"], {"notes": "queued here"}, actor=CLINICIAN)
    report = SyncReport()
    gym._refresh_patients(report)  # as if a refresh came before the push
    assert report.refreshed == 0 and gym.store.patients.get(patient["id"])["weight_kg"] is None
    gym.sync_once()  # pushes the note, then takes the hub's record
    local, merged = gym.store.patients.get(patient["id"]), hub_patient(hub_store, "P-W")
    assert (local["notes"], local["weight_kg"]) == (merged["notes"], merged["weight_kg"]) == ("queued here", 61.0)


def test_a_station_clock_running_ahead_cannot_win_for_ever(hub_store, station_factory):
    """A Pi has no real-time clock: a change stamped after the hub's now counts as the hub's now, so
    a later edit from a station whose clock is right still wins (the hub's app runs on real time)."""
    import time

    ahead, right = WallClock(time.time() + 10 * 365 * 86_400), WallClock(time.time() - 60)
    gym, ward = station_factory("gym", wall=ahead), station_factory("ward", wall=right)
    patient = gym.store.patients.create({"identifier": "P-9", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    gym.sync_once()
    ward_copy = ward.pull_patient("P-9", actor=CLINICIAN)
    ward.sync_once()
    gym.store.patients.update(patient["id"], {"notes": "from the future"}, actor=CLINICIAN)
    gym.sync_once()
    assert hub_patient(hub_store, "P-9")["notes"] == "from the future"
    time.sleep(1.1)  # the hub's times are whole seconds
    right.t_s = time.time()
    ward.store.patients.update(ward_copy["id"], {"notes": "a moment later"}, actor=CLINICIAN)
    ward.sync_once()
    assert hub_patient(hub_store, "P-9")["notes"] == "a moment later"


def test_a_change_out_of_order_is_refused_not_dropped_as_a_repeat(hub_store, station_factory):
    gym = station_factory("gym")
    gym.store.patients.create({"identifier": "P-10", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    gym.sync_once()
    change = {"seq": 5, "entity": "patient", "op": "update", "local_id": 1, "at": "2026-12-01T10:00:00Z",
              "payload": {"notes": "late"}}
    body = {"station_id": gym.store.outbox.station_id, "changes": [dict(change, seq=10)]}
    gym.client.request("POST", "/api/hub/push", body=body)
    body["changes"] = [change]  # number 5 after 10, never seen by the hub
    with pytest.raises(SyncError, match="HTTP 409.*arrives after #10"):
        gym.client.request("POST", "/api/hub/push", body=body)
