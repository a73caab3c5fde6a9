"""Revoking a station's token deletes the frame parts it uploaded for trials it never pushed:
under a revoked token those trials can never come (a station given a new token uploads them again
under its new name), and a stolen token may have left up to 10,000 parts (1.26 GB) there."""

from __future__ import annotations

from station.sync.hub import Hub
from station.sync.records import record_of

from sync_support import CLINICIAN, add_trial


def _parts_held(hub_store, name: str) -> int:
    with hub_store.db.read() as conn:
        return conn.execute("SELECT count(*) FROM hub_uploads u JOIN hub_stations s ON s.id = u.station"
                            " WHERE s.name = ?", (name,)).fetchone()[0]


def test_revoking_a_station_deletes_the_frame_parts_of_trials_it_never_pushed(hub_store, station_factory):
    gym, ward = station_factory("gym"), station_factory("ward")
    for station in (gym, ward):
        patient = station.store.patients.create({"identifier": f"P-{station.store.outbox.station_id[:8]}",
                                                 "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
        session = station.store.sessions.create(patient["id"], {"label": "visit"}, actor=CLINICIAN)
        trial_id = add_trial(station.store, session["id"], 3000)
        [row] = [r for r in station.store.outbox.pending() if r["entity"] == "trial"]
        station._upload_frames(trial_id, record_of(station.store, row)["parts"])  # then the link drops: no push
    held = _parts_held(hub_store, "gym")
    assert held > 0 and _parts_held(hub_store, "ward") == held
    assert Hub(hub_store).revoke_station("gym") == held
    assert _parts_held(hub_store, "gym") == 0  # before: kept for ever
    assert _parts_held(hub_store, "ward") == held  # another station's stay
    assert Hub(hub_store).revoke_station("gym") == 0  # revoking again: nothing more
