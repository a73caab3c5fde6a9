"""A clinician's judgement (validity, reason, note) of a trial that a station pulled, made on the hub
or at the station that recorded it, reaches the pulling station at its next sync: once, checked
like anything from a hub, never sent back, and the pulled trial stays read-only there."""

from __future__ import annotations

import json

import pytest

from station.store.db import Conflict
from station.sync import hub as hub_module
from station.sync.client import SyncError
from station.sync.syncer import StationSync

from sync_support import CLINICIAN, add_trial


def _pulled_at_ward(gym, ward, identifier: str, trials: int = 2):
    patient = gym.store.patients.create({"identifier": identifier, "birth_year": 1955, "sex": "M"}, actor=CLINICIAN)
    session = gym.store.sessions.create(patient["id"], {"label": "assessment"}, actor=CLINICIAN)
    made = [add_trial(gym.store, session["id"], 200, seed=k) for k in range(trials)]
    gym.sync_once()
    pulled = ward.pull_patient(identifier, actor=CLINICIAN)
    ward.sync_once()
    with ward.store.db.read() as conn:
        copies = {int(r["hub_id"]): int(r["local_id"]) for r in conn.execute(
            "SELECT hub_id, local_id FROM sync_pulled WHERE entity = 'trial' AND patient_id = ?", (pulled["id"],))}
    return made, copies


def test_a_judgement_on_the_hub_reaches_the_station_that_pulled_the_trial(hub_store, station_factory):
    gym, ward = station_factory("gym"), station_factory("ward")
    _made, copies = _pulled_at_ward(gym, ward, "P-J1")
    judged_hub, other_hub = sorted(copies)
    before = ward.store.trials.get(copies[other_hub])

    hub_store.trials.judge(judged_hub, {"valid": False, "validity_reason": "stepped off", "notes": "retest"},
                           actor=CLINICIAN)
    report = ward.sync_once()
    assert report.judgements == 1 and "1 judgement made elsewhere taken" in report.lines()
    copy = ward.store.trials.get(copies[judged_hub])
    assert copy["valid"] in (0, False) and copy["validity_reason"] == "stepped off" and copy["notes"] == "retest"
    assert copy["judged_by"] == CLINICIAN.username
    assert ward.store.trials.get(copies[other_hub]) == before
    assert ward.sync_once().judgements == 0  # once
    assert ward.store.outbox.length() == 0  # never sent back
    clinic = station_factory("clinic")  # holds no patient of theirs: is told nothing
    clinic.sync_once()
    service = hub_module.Hub(hub_store)
    assert service.history_updates(service.station_named("clinic"), after=2**40, judged_after=0)["judgements"] == []
    assert [t["hub_id"] for t in service.history_updates(service.station_named("ward"), after=2**40,
                                                           judged_after=0)["judgements"]] == [judged_hub]

    # a note-only change later comes too; the copy stays read-only at the ward
    hub_store.trials.judge(judged_hub, {"notes": "retested on the 4th"}, actor=CLINICIAN)
    assert ward.sync_once().judgements == 1
    assert ward.store.trials.get(copies[judged_hub])["notes"] == "retested on the 4th"
    with pytest.raises(Conflict, match="read-only here"):
        ward.store.trials.judge(copies[judged_hub], {"notes": "mine"}, actor=CLINICIAN)

    # the cursor outlives the station's process: a new sync of the same store takes nothing again
    again = StationSync(ward.store, ward.client)
    assert again.sync_once().judgements == 0


def test_a_judgement_at_the_recording_station_reaches_the_one_that_pulled_it(hub_store, station_factory):
    gym, ward = station_factory("gym"), station_factory("ward")
    made, copies = _pulled_at_ward(gym, ward, "P-J2", trials=1)
    gym.store.trials.judge(made[0], {"valid": False, "validity_reason": "patient talked"}, actor=CLINICIAN)
    gym.sync_once()
    assert ward.sync_once().judgements == 1
    [local] = copies.values()
    assert ward.store.trials.get(local)["validity_reason"] == "patient talked"


def test_judgements_come_in_bounded_pages(hub_store, station_factory, monkeypatch):
    gym, ward = station_factory("gym"), station_factory("ward")
    _made, copies = _pulled_at_ward(gym, ward, "P-J3", trials=5)
    monkeypatch.setattr(hub_module, "JUDGEMENT_PAGE", 2)
    for hub_id in copies:
        hub_store.trials.judge(hub_id, {"notes": f"seen {hub_id}"}, actor=CLINICIAN)
    answer = hub_module.Hub(hub_store).history_updates(hub_module.Hub(hub_store).station_named("ward"), after=2**40, judged_after=0)
    assert len(answer["judgements"]) <= 2
    assert ward.sync_once().judgements == 5
    assert {ward.store.trials.get(local)["notes"] for local in copies.values()} == {f"seen {h}" for h in copies}


def test_a_garbled_judgement_from_a_hub_is_one_clear_error_and_changes_nothing(hub_store, station_factory):
    gym, ward = station_factory("gym"), station_factory("ward")
    _made, copies = _pulled_at_ward(gym, ward, "P-J4", trials=2)
    before = {h: ward.store.trials.get(local) for h, local in copies.items()}
    for hub_id in copies:
        hub_store.trials.judge(hub_id, {"notes": "seen"}, actor=CLINICIAN)
    real = ward.client._send

    def hostile(method, url, headers, body):
        status, answer = real(method, url, headers, body)
        if "/api/hub/history-updates" in url:
            doc = json.loads(answer)
            doc["judgements"][-1]["valid"] = "maybe"  # the first one is well formed
            return status, json.dumps(doc).encode()
        return status, answer

    ward.client._send = hostile
    with pytest.raises(SyncError, match="judgement") as caught:
        ward.sync_once()
    assert "\n" not in str(caught.value)
    assert {h: ward.store.trials.get(local) for h, local in copies.items()} == before
    ward.client._send = real
    assert ward.sync_once().judgements == 2
