"""Pushing a station's changes to the hub: every kind of record, in order, idempotent, resumable."""

from __future__ import annotations

import pytest

from station.store.audit import Actor
from station.store.outbox import identifier_hash
from station.sync.client import HubUnreachable, SyncError
from station.sync.hub import Hub
from station.sync.records import record_of

from sync_support import CLINICIAN, add_trial, hub_patient, hub_trials


def _patient_with_trial(store, identifier="P-001", n_frames=1000, seed=0):
    patient = store.patients.create({"identifier": identifier, "birth_year": 1950, "sex": "F", "height_cm": 165.0,
                                     "conditions": ["stroke:left"], "notes": "left side"}, actor=CLINICIAN)
    session = store.sessions.create(patient["id"], {"label": "baseline"}, actor=CLINICIAN)
    trial_id = add_trial(store, session["id"], n_frames, seed)
    return patient, session, trial_id


def test_each_kind_of_record_reaches_the_hub(hub_store, station_factory):
    gym = station_factory("gym")
    patient, session, trial_id = _patient_with_trial(gym.store, n_frames=1234)
    gym.store.trials.judge(trial_id, {"notes": "talked at 20 s"}, actor=CLINICIAN)
    gym.store.sessions.update(session["id"], {"notes": "tired"}, actor=CLINICIAN)
    from station.programmes.loader import builtin_programmes
    from station.protocols.loader import builtin_protocols
    template = next(iter(builtin_programmes(builtin_protocols()).values()))
    programme = gym.store.programmes.assign(patient["id"], template, "2026-12-01", actor=CLINICIAN)

    report = gym.sync_once()

    assert report.sent["patient"] == 1 and report.sent["session"] == 2 and report.sent["trial"] == 2
    assert report.sent["programme"] == 1 and report.queue_length == 0
    assert report.frame_parts == 2  # 1234 frames in parts of 900, uploaded once (the judgement is on the hub)
    on_hub = hub_patient(hub_store, "P-001")
    assert (on_hub["birth_year"], on_hub["sex"], on_hub["height_cm"], on_hub["conditions"], on_hub["notes"]) == (
        1950, "F", 165.0, ["stroke:left"], "left side")
    view = hub_store.patients.view(on_hub["id"], actor=Actor.system())
    assert [s["label"] for s in view["sessions"]] == ["baseline"] and view["sessions"][0]["notes"] == "tired"
    [trial] = hub_trials(hub_store, "P-001")
    detail = hub_store.trials.get(trial["id"])
    local = gym.store.trials.get(trial_id)
    assert detail["notes"] == "talked at 20 s" and detail["frame_count"] == 1234
    assert detail["metrics"] == local["metrics"] and detail["calibration"] == local["calibration"]
    assert detail["station_id"] == gym.store.outbox.station_id and detail["calibration_id"] == local["calibration_id"]
    assert detail["calibration_id"] and len(detail["calibration_id"]) == 16
    assert hub_store.trials.frames(trial["id"]).tobytes() == gym.store.trials.frames(trial_id).tobytes()
    [merged] = hub_store.programmes.list_for_patient(on_hub["id"])  # in the hub's own programme tables
    on_hub_programme = hub_store.programmes.get(merged["id"])
    assert on_hub_programme["template_name"] == programme["template_name"] and merged["status"] == "active"
    assert [(s["number"], s["planned_date"], s["status"]) for s in on_hub_programme["sessions"]] == [
        (s["number"], s["planned_date"], s["status"]) for s in programme["sessions"]]
    assert Hub(hub_store).programme_sources(merged["id"])["assigned_at"] == "gym"
    audit = hub_store.audit.query(patient_id=on_hub["id"], limit=100)
    assert {"patient.create", "session.create", "trial.record"} <= {e["action"] for e in audit}
    # what the hub applied, by station:gym, and the station's own entries, by USER@gym
    assert all(e["username"] in ("station:gym", "system") or e["username"].endswith("@gym") for e in audit)


def test_a_repeated_push_changes_nothing(hub_store, station_factory):
    gym = station_factory("gym")
    _patient_with_trial(gym.store)
    batch = gym.store.outbox.pending()
    gym.sync_once()
    state_before = Hub(hub_store).stations()[0]
    trials_before = hub_trials(hub_store, "P-001")
    # the same changes sent again, as a station would after losing the hub's answer
    answer = gym.client.request("POST", "/api/hub/push", body={
        "station_id": gym.store.outbox.station_id, "queue_length": 0, "last_error": None,
        "changes": [{"seq": c["seq"], "entity": c["entity"], "op": c["op"], "local_id": c["local_id"], "at": c["at"],
                     "payload": record_of(gym.store, c)}
                    for c in batch]})
    assert answer == {"applied_through": batch[-1]["seq"], "applied": 0, "duplicates": len(batch), "unmatched_erasures": []}
    assert hub_trials(hub_store, "P-001") == trials_before
    assert Hub(hub_store).stations()[0]["changes_applied"] == state_before["changes_applied"]
    assert hub_store.patients.search()["total"] == 1


def test_a_network_cut_mid_upload_resumes_where_it_stopped(hub_store, station_factory):
    gym = station_factory("gym")
    _patient_with_trial(gym.store, n_frames=9000)  # 10 parts
    transport = gym.client._send
    transport.cut_after(6)  # tombstones, push (patient, session), parts status, 3 parts... then the cable is pulled
    with pytest.raises(HubUnreachable, match="cannot reach the hub"):
        gym.sync_once()
    assert gym.store.outbox.state()["last_error"].startswith("cannot reach the hub")
    held = Hub(hub_store).parts(Hub(hub_store).station_named("gym"), 1)["parts"]
    assert 0 < len(held) < 10 and held == list(range(len(held)))
    transport.restore()
    transport.requests.clear()
    report = gym.sync_once()
    assert report.frame_parts == 10 - len(held)  # only the missing parts travel again
    part_puts = [p for m, p in transport.requests if m == "PUT"]
    assert sorted(int(p.rsplit("/", 1)[1]) for p in part_puts) == list(range(len(held), 10))
    [trial] = hub_trials(hub_store, "P-001")
    assert hub_store.trials.frames(trial["id"]).tobytes() == gym.store.trials.frames(1).tobytes()
    assert gym.store.outbox.state()["last_error"] is None and gym.store.outbox.length() == 0


def test_a_station_killed_after_the_hub_applied_its_push_replays_without_duplicates(
        hub_store, station_factory, tmp_path):
    gym = station_factory("gym")
    _patient_with_trial(gym.store)
    gym.client._send.lose_answers_to = "/api/hub/push"
    with pytest.raises(HubUnreachable):
        gym.sync_once()
    assert gym.store.outbox.length() == 3  # nothing acknowledged: the station cannot know
    # the station process dies and starts again on the same data directory
    from station.store.store import Store
    from station.sync.syncer import StationSync
    gym.store.close()
    gym.store = Store.open(tmp_path / "gym")
    gym.client._send.lose_answers_to = None
    restarted = StationSync(gym.store, gym.client)
    report = restarted.sync_once()
    assert report.duplicates >= 1 and report.queue_length == 0
    assert len(hub_trials(hub_store, "P-001")) == 1 and hub_store.patients.search()["total"] == 1


def test_changes_are_applied_in_order_and_a_refused_change_stops_the_push(hub_store, station_factory):
    gym = station_factory("gym")
    patient, session, _ = _patient_with_trial(gym.store)
    gym.sync_once()
    gym.store.patients.update(patient["id"], {"notes": "second"}, actor=CLINICIAN)
    gym.store.patients.update(patient["id"], {"notes": "third"}, actor=CLINICIAN)
    gym.sync_once()
    assert hub_patient(hub_store, "P-001")["notes"] == "third"
    # a change the hub cannot apply (a session of a patient it never heard of) is refused with its reason
    body = {"station_id": gym.store.outbox.station_id, "changes": [
        {"seq": 10_000, "entity": "session", "op": "upsert", "local_id": 99, "at": "2026-12-01T10:00:00Z",
         "payload": {"patient_local_id": 77, "started_at": "2026-12-01T10:00:00Z", "label": "", "notes": "",
                     "created_by": "ana"}}]}
    with pytest.raises(SyncError, match="HTTP 409.*does not know"):
        gym.client.request("POST", "/api/hub/push", body=body)
    [row] = Hub(hub_store).stations()
    assert "does not know" in row["last_error"] and row["last_seq"] < 10_000


def test_an_erased_patients_queued_changes_never_leave_the_station(hub_store, station_factory):
    gym = station_factory("gym")
    patient, _, trial_id = _patient_with_trial(gym.store, identifier="P-GONE")
    gym.store.patients.erase(patient["id"], "P-GONE", actor=CLINICIAN)
    pending = gym.store.outbox.pending()
    assert [(c["entity"], c["op"]) for c in pending] == [("patient", "erase")]
    assert pending[0]["payload"] == {"identifier_hash": identifier_hash("P-GONE"), "unsent_trials": [trial_id]}
    gym.sync_once()
    assert hub_store.patients.search()["total"] == 0
    # the hub never held this station's patient: nothing to erase there, and no tombstone that would
    # make every station erase whoever has that identifier
    assert Hub(hub_store).tombstones(0)["tombstones"] == []
    assert gym.store.outbox.pending() == []


def test_a_station_cannot_erase_a_patient_it_never_sent(hub_store, station_factory):
    """Anyone can compute the hash of a guessable identifier: an erasure pushed by a station for a
    patient another station sent changes nothing on the hub, and one naming another patient's hash
    under the station's own patient erases neither (taken, not refused at every push: the hub
    answers it as unmatched, test_sync_erasure.py)."""
    gym, ward = station_factory("gym"), station_factory("ward")
    _patient_with_trial(gym.store, identifier="P-001")
    gym.sync_once()
    mine, _, _ = _patient_with_trial(ward.store, identifier="W-007")
    ward.sync_once()
    erase = {"seq": 10_000, "entity": "patient", "op": "erase", "local_id": 999, "at": "2026-12-01T10:00:00Z",
             "payload": {"identifier_hash": identifier_hash("P-001"), "unsent_trials": []}}
    body = {"station_id": ward.store.outbox.station_id, "changes": [erase]}
    ward.client.request("POST", "/api/hub/push", body=body)
    assert hub_patient(hub_store, "P-001") is not None
    assert Hub(hub_store).tombstones(0)["tombstones"] == []
    erase.update(seq=10_001, local_id=mine["id"])
    answer = ward.client.request("POST", "/api/hub/push", body=body)
    assert answer["unmatched_erasures"] == [{"seq": 10_001, "hub_patient_id": hub_patient(hub_store, "W-007")["id"],
                                             "why": "other_identifier"}]
    assert hub_patient(hub_store, "P-001") is not None and hub_patient(hub_store, "W-007") is not None
    assert Hub(hub_store).tombstones(0)["tombstones"] == []


def test_a_station_upgraded_with_records_sends_them_all_at_its_first_sync(hub_store, station_factory, tmp_path):
    from station.store.store import Store
    from station.sync.syncer import StationSync

    gym = station_factory("gym")
    _patient_with_trial(gym.store, identifier="OLD-1", n_frames=700)
    # as the database was before it had an outbox: no identity, no queue, trials not naming their station
    with gym.store.db.write() as conn:
        for table in ("sync_outbox", "sync_identity", "sync_state"):
            conn.execute(f"DELETE FROM {table}")
        conn.execute("UPDATE trials SET station_id = NULL, calibration_id = NULL")
    gym.store.close()
    gym.store = Store.open(tmp_path / "gym")
    assert [(c["entity"], c["op"]) for c in gym.store.outbox.pending()] == [
        ("patient", "create"), ("session", "upsert"), ("trial", "upsert")]
    local = gym.store.trials.get(1)
    assert local["station_id"] == gym.store.outbox.station_id and local["calibration_id"]
    StationSync(gym.store, gym.client).sync_once()
    [trial] = hub_trials(hub_store, "OLD-1")
    assert hub_store.trials.get(trial["id"])["station_id"] == gym.store.outbox.station_id


def test_a_station_restored_from_an_older_backup_stops_instead_of_overwriting(hub_store, station_factory, tmp_path):
    import shutil

    from station.store.store import Store
    from station.sync.client import SyncError
    from station.sync.syncer import StationSync

    gym = station_factory("gym")
    _patient_with_trial(gym.store, identifier="B-1", n_frames=100)
    gym.sync_once()
    gym.store.close()
    shutil.copytree(tmp_path / "gym", tmp_path / "backup")  # the backup, taken now
    gym.store = Store.open(tmp_path / "gym")
    gym.store.patients.create({"identifier": "B-2", "birth_year": 1950, "sex": "M"}, actor=CLINICIAN)
    StationSync(gym.store, gym.client).sync_once()
    gym.store.close()
    shutil.rmtree(tmp_path / "gym")  # the card dies; the backup is restored
    shutil.copytree(tmp_path / "backup", tmp_path / "gym")
    gym.store = Store.open(tmp_path / "gym")
    with pytest.raises(SyncError, match="more than this database ever made: it was restored from an older backup"):
        StationSync(gym.store, gym.client).sync_once()
    gym.store.patients.create({"identifier": "B-3", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    with pytest.raises(SyncError, match="HTTP 409.*restored from an older backup"):
        StationSync(gym.store, gym.client).sync_once()
    assert gym.store.outbox.length() == 1
    assert "restored from an older backup" in Hub(hub_store).stations()[0]["last_error"]
    gym.store.patients.create({"identifier": "B-4", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    gym.store.patients.create({"identifier": "B-5", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    with pytest.raises(SyncError, match="HTTP 409.*restored from an older backup"):
        StationSync(gym.store, gym.client).sync_once()  # numbers beyond the hub's: still the first one refused
    assert hub_patient(hub_store, "B-2")["sex"] == "M"  # the hub's patient #2 of this station is untouched
    for identifier in ("B-3", "B-4", "B-5"):
        with pytest.raises(Exception):
            hub_patient(hub_store, identifier)
