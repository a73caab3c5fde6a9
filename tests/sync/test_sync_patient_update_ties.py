"""Patients changed on the hub in the same millisecond (their ``updated_at`` equal): the station's
refresh (``GET /api/hub/patient-updates?since=T``, which asks for what changed after ``T``) must
not step over one of them, neither at the end of a page nor when one of them waits here behind
changes still queued."""

from __future__ import annotations

from station.sync.hub import Hub
from station.sync.syncer import SyncReport

from sync_support import CLINICIAN, WallClock, hub_patient


def _same_millisecond(hub_store, identifiers: list[str], at: str) -> None:
    """The hub's records of ``identifiers`` as if changed in one millisecond ``at``."""
    with hub_store.db.write() as conn:
        for identifier in identifiers:
            conn.execute("UPDATE patients SET updated_at = ? WHERE id = ?", (at, hub_patient(hub_store, identifier)["id"]))


def test_a_page_of_patient_updates_never_ends_inside_one_millisecond(hub_store, station_factory):
    gym = station_factory("gym")
    for identifier in ("T-1", "T-2", "T-3"):
        gym.store.patients.create({"identifier": identifier, "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    gym.sync_once()
    _same_millisecond(hub_store, ["T-1", "T-2", "T-3"], "2099-01-01T00:00:00.000Z")
    hub = Hub(hub_store)
    station = hub.station_named("gym")
    seen, since = [], ""
    for _ in range(5):  # pages of two, as a station asks from each answer's until
        answer = hub.patient_updates(station, since, limit=2)
        seen += [item["fields"]["identifier"] for item in answer["patients"]]
        if len(answer["patients"]) < 2:
            break
        since = answer["until"]
    assert sorted(seen) == ["T-1", "T-2", "T-3"]  # before: T-3 was never answered (after T-1, T-2 and their time)


def test_a_patient_held_back_by_queued_changes_is_refreshed_even_when_another_changed_in_its_millisecond(
        hub_store, station_factory):
    gym = station_factory("gym", wall=WallClock())  # the station's clock behind the hub's: the hub's edits win
    first = gym.store.patients.create({"identifier": "T-A", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    second = gym.store.patients.create({"identifier": "T-B", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    gym.sync_once()
    for identifier, weight_kg in (("T-A", 60.0), ("T-B", 70.0)):
        hub_store.patients.update(hub_patient(hub_store, identifier)["id"], {"weight_kg": weight_kg}, actor=CLINICIAN)
    _same_millisecond(hub_store, ["T-A", "T-B"], "2099-01-01T00:00:00.000Z")
    gym.store.patients.update(second["id"], {"weight_kg": 75.0}, actor=CLINICIAN)  # older than the hub's edit
    gym._refresh_patients(SyncReport())  # as if a refresh came before the push: T-B waits
    assert gym.store.patients.get(first["id"])["weight_kg"] == 60.0
    gym.sync_once()  # its change is pushed (the hub keeps its newer weight), then the hub's record is taken
    assert hub_patient(hub_store, "T-B")["weight_kg"] == 70.0
    assert gym.store.patients.get(second["id"])["weight_kg"] == 70.0  # before: 75 kg here for ever
