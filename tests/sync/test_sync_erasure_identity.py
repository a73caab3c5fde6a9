"""An erasure's tombstone applies to the erased patient, not to an identifier for ever: the hub
judges a station's patient it does not hold by whether the station had taken the erasure when it
pushed (the last tombstone it applied, a number of the hub's), never by comparing the station's
clock with the hub's."""

from __future__ import annotations

import pytest

from station.store.db import NotFound, ValidationError
from station.store.outbox import identifier_hash
from station.sync.hub import Hub
from station.sync.records import tombstone_key

from sync_support import CLINICIAN, add_trial, hub_patient, hub_trials


def test_an_identifier_given_again_after_the_erasure_makes_a_new_patient_whatever_the_station_clock(clocked_hub):
    _wall, hub_store, gym = clocked_hub  # the gym's clock is a day behind the hub's
    gym.store.patients.create({"identifier": "R-1", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    gym.sync_once()
    hub_store.patients.erase(hub_patient(hub_store, "R-1")["id"], "R-1", actor=CLINICIAN)
    assert gym.sync_once().erased == 1

    again = gym.store.patients.create({"identifier": "R-1", "birth_year": 1988, "sex": "M"}, actor=CLINICIAN)
    session = gym.store.sessions.create(again["id"], {}, actor=CLINICIAN)
    add_trial(gym.store, session["id"], 200)
    gym.sync_once()

    assert hub_patient(hub_store, "R-1")["birth_year"] == 1988  # before: NotFound, the new patient dropped
    assert len(hub_trials(hub_store, "R-1")) == 1
    assert gym.store.patients.get(again["id"])["birth_year"] == 1988  # the station keeps them too


@pytest.mark.parametrize("taken", [False, True])
def test_a_change_made_before_the_station_took_the_erasure_stays_erased(hub_store, station_factory, taken):
    """The ward created R-2 before it learnt that the hub erased R-2 (its push names no tombstone
    from the erasure on): the hub drops it, as the ward erases its own copy when it takes the
    tombstone, even though the change's time is after the erasure's. A push made after the ward
    took the tombstone makes a new patient."""
    gym, ward = station_factory("gym"), station_factory("ward")
    gym.store.patients.create({"identifier": "R-2", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    gym.sync_once()
    hub_store.patients.erase(hub_patient(hub_store, "R-2")["id"], "R-2", actor=CLINICIAN)
    hub = Hub(hub_store)
    with hub_store.db.read() as conn:
        tombstone = conn.execute("SELECT max(id) FROM hub_tombstones WHERE identifier_hash = ?",
                                 (tombstone_key(hub.clinic_key, identifier_hash("R-2")),)).fetchone()[0]
    hub.push(hub.station_named("ward"), {
        "station_id": ward.store.outbox.station_id, "queue_length": 0, "last_error": None,
        "tombstones_through": tombstone if taken else tombstone - 1,
        "changes": [{"seq": 1, "entity": "patient", "op": "create", "local_id": 7, "at": "2099-01-01T00:00:00.000Z",
                     "payload": {"identifier": "R-2", "birth_year": 1990, "sex": "M"}}]})
    if taken:
        assert hub_patient(hub_store, "R-2")["birth_year"] == 1990
    else:
        with pytest.raises(NotFound):
            hub_patient(hub_store, "R-2")


def test_a_push_naming_a_tombstone_that_is_not_a_number_is_refused(hub_store, station_factory):
    ward = station_factory("ward")
    hub = Hub(hub_store)
    with pytest.raises(ValidationError) as caught:
        hub.push(hub.station_named("ward"), {"station_id": ward.store.outbox.station_id, "changes": [],
                                             "tombstones_through": "all"})
    assert list(caught.value.fields) == ["tombstones_through"]


def test_a_patient_pulled_before_the_station_took_an_older_erasure_of_the_identifier_stays(hub_store,
                                                                                            station_factory):
    """The hub erased R-3 and registered a new R-3 since the ward last synced; the ward pulls the
    new one and measures them. The old erasure must not take the new patient at the ward's next
    sync (it erased them, and dropped their visit, never sent)."""
    gym, ward = station_factory("gym"), station_factory("ward")
    gym.store.patients.create({"identifier": "R-3", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    gym.sync_once()
    hub_store.patients.erase(hub_patient(hub_store, "R-3")["id"], "R-3", actor=CLINICIAN)
    hub_store.patients.create({"identifier": "R-3", "birth_year": 1977, "sex": "M"}, actor=CLINICIAN)

    pulled = ward.pull_patient("R-3", actor=CLINICIAN)
    session = ward.store.sessions.create(pulled["id"], {}, actor=CLINICIAN)
    add_trial(ward.store, session["id"], 200)
    report = ward.sync_once()

    assert report.erased == 0 and ward.store.patients.get(pulled["id"])["birth_year"] == 1977  # before: erased
    assert len(hub_trials(hub_store, "R-3")) == 1
