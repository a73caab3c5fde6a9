"""A station restored from its own backup (a dead SD card): it tells the hub at its next sync and
goes on syncing as a new epoch of itself; one put back by hand is refused with the hub's whole
advice, named by ``sync --show-blocked``, and ``/healthz`` is degraded meanwhile."""

from __future__ import annotations

import shutil

import pytest

from station.store import backup as store_backup
from station.store.store import Store
from station.sync.client import SyncError
from station.sync.hub import Hub
from station.sync.syncer import StationSync

from sync_support import CLINICIAN, add_trial, hub_patient, hub_trials, station_health


def _patient_with_trial(store, identifier, seed=0):
    patient = store.patients.create({"identifier": identifier, "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    session = store.sessions.create(patient["id"], {"label": "baseline"}, actor=CLINICIAN)
    add_trial(store, session["id"], 300, seed)
    return patient


def _confirmed(gym, hub_store) -> None:
    """The restored station's next sync is refused until the hub's administrator confirms its
    notice; confirm it as ``hub stations confirm-restore gym`` does."""
    with pytest.raises(SyncError, match="HTTP 409") as waiting:
        StationSync(gym.store, gym.client).sync_once()
    assert "balance-station hub stations confirm-restore gym" in str(waiting.value)
    Hub(hub_store).confirm_restore("gym")


class _PlateOk:
    """The acquisition's side of /healthz: a plate that measures (only the sync's state is tested)."""

    def health(self) -> dict:
        return {"state": "ok", "reason": ""}


def _healthz(gym) -> dict:
    from web import create_app

    app = create_app({"STORE": gym.store, "SYNC": gym, "SECRET_KEY": "t", "STATION_LINK": _PlateOk()})
    return app.test_client().get("/healthz").get_json()


def _lose_the_card(gym, tmp_path):
    """Sync B-1, take a backup, record B-2 (synced), then the card dies: the station's store is
    closed; returns the backup's path."""
    _patient_with_trial(gym.store, "B-1")
    gym.sync_once()
    backup = store_backup.create_backup(gym.store.data_dir).path
    _patient_with_trial(gym.store, "B-2", seed=1)
    gym.sync_once()
    assert len(hub_trials(gym.store, "B-2")) == 1 and hub_patient(gym.store, "B-2")
    gym.store.close()
    return backup


def test_a_station_restored_by_restore_goes_on_syncing_and_the_hub_keeps_what_it_had(hub_store, station_factory,
                                                                                     tmp_path):
    gym = station_factory("gym")
    backup = _lose_the_card(gym, tmp_path)
    shutil.copy(backup, tmp_path / "kept-backup.sqlite3")
    data_dir = tmp_path / "gym"
    for name in ("station.sqlite3", "station.sqlite3-wal", "station.sqlite3-shm"):
        (data_dir / name).unlink(missing_ok=True)  # the card is replaced; the backup comes from elsewhere
    store_backup.restore_backup(data_dir, tmp_path / "kept-backup.sqlite3")
    gym.store = Store.open(data_dir)
    b1 = gym.store.patients.get_by_identifier("B-1")
    gym.store.patients.update(b1["id"], {"notes": "after the restore"}, actor=CLINICIAN)
    b3 = _patient_with_trial(gym.store, "B-3", seed=3)
    # the restored database gives B-3 the id the lost one gave B-2: the hub must not take one for the other
    assert b3["id"] == hub_store.db.read().__enter__().execute(
        "SELECT local_id FROM hub_id_map WHERE entity = 'patient' AND hub_id = ?",
        (hub_patient(hub_store, "B-2")["id"],)).fetchone()[0]

    _confirmed(gym, hub_store)
    report = StationSync(gym.store, gym.client).sync_once()  # the old code: SyncError, for good

    assert report.queue_length == 0 and report.restore_told["forgotten"] > 0
    assert "the hub was told this station was restored from a backup" in " ".join(report.lines())
    assert hub_patient(hub_store, "B-3")["id"] != hub_patient(hub_store, "B-2")["id"]
    assert len(hub_trials(hub_store, "B-3")) == 1
    assert len(hub_trials(hub_store, "B-2")) == 1 and hub_patient(hub_store, "B-2")["birth_year"] == 1950  # kept
    assert hub_patient(hub_store, "B-1")["notes"] == "after the restore"
    assert [e["action"] for e in hub_store.audit.query(action="sync.station_restored")] == ["sync.station_restored"]

    gym.store.patients.create({"identifier": "B-4", "birth_year": 1960, "sex": "M"}, actor=CLINICIAN)
    again = StationSync(gym.store, gym.client).sync_once()  # told once: the next syncs are ordinary
    assert again.restore_told is None and again.sent["patient"] == 1 and hub_patient(hub_store, "B-4")
    assert station_health(gym)["last_error"] is None
    assert Hub(hub_store).stations()[0]["last_error"] is None and Hub(hub_store).stations()[0]["restore_pending"] is None


def test_a_restore_mark_sent_again_changes_nothing_on_the_hub(hub_store, station_factory, tmp_path):
    gym = station_factory("gym")
    backup = _lose_the_card(gym, tmp_path)
    store_backup.restore_backup(tmp_path / "gym", backup)
    gym.store = Store.open(tmp_path / "gym")
    _confirmed(gym, hub_store)
    transport = gym.client._send
    transport.lose_answers_to = "/api/hub/station-restored"  # the hub took it, the answer was lost
    with pytest.raises(SyncError):
        StationSync(gym.store, gym.client).sync_once()
    transport.lose_answers_to = None
    _patient_with_trial(gym.store, "B-3", seed=3)
    report = StationSync(gym.store, gym.client).sync_once()
    assert report.restore_told == {"seq": report.restore_told["seq"], "forgotten": 0}
    assert len(hub_trials(hub_store, "B-3")) == 1 and len(hub_trials(hub_store, "B-2")) == 1
    assert len(hub_store.audit.query(action="sync.station_restored")) == 1


def test_a_station_put_back_by_hand_gets_the_whole_advice_and_healthz_says_so(hub_store, station_factory, tmp_path,
                                                                              monkeypatch, capsys):
    from station.cli import main

    gym = station_factory("gym")
    backup = _lose_the_card(gym, tmp_path)
    data_dir = tmp_path / "gym"
    lost_later = store_backup.create_backup(data_dir, 1_900_000_000).path  # a backup of the lost database
    for name in ("station.sqlite3-wal", "station.sqlite3-shm"):
        (data_dir / name).unlink(missing_ok=True)
    shutil.copy(backup, data_dir / "station.sqlite3")  # copied back by hand: not marked
    gym.store = Store.open(data_dir)
    for n in range(3, 7):  # more changes than the lost database made: numbers the hub holds, and beyond
        gym.store.patients.create({"identifier": f"B-{n}", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    with pytest.raises(SyncError, match="HTTP 409") as refused:
        StationSync(gym.store, gym.client).sync_once()
    assert str(refused.value).endswith("pull its patients from the hub)")  # the old code cut it at 200 characters
    assert "balance-station sync --restored-from BACKUP" in str(refused.value)
    assert gym.store.outbox.state()["last_error"] == str(refused.value)

    health = station_health(gym)
    assert health["last_error"].startswith("the last sync with the hub failed")  # no patient data without login
    doc = _healthz(gym)
    assert doc["state"] == "degraded"  # the old code: "ok", the sync failing for good
    assert "the station's database went back to an older backup" in doc["reason"]

    monkeypatch.setenv("BALANCE_STATION_CONFIG", "")
    assert main(["sync", "--show-blocked", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "every queued change is on the hub" not in out and "skip" not in out
    assert "went back to an older backup" in out and "nothing queued here reaches the hub" in out
    assert "balance-station sync --restored-from BACKUP" in out

    # a later backup of the lost database is refused (its patient #2 is B-2, here B-3); the right one marks it
    assert main(["sync", "--restored-from", str(lost_later), "--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert "is not the one this database was restored from" in err and "its patient #2 is another record" in err
    assert main(["sync", "--restored-from", str(backup), "--data-dir", str(data_dir)]) == 0
    assert "the next sync" in capsys.readouterr().out
    _confirmed(gym, hub_store)
    report = StationSync(gym.store, gym.client).sync_once()
    assert report.queue_length == 0 and report.restore_told["forgotten"] == 3
    assert [hub_patient(hub_store, f"B-{n}")["identifier"] for n in range(1, 7)] == [f"B-{n}" for n in range(1, 7)]
    assert len(hub_trials(hub_store, "B-2")) == 1
    assert _healthz(gym)["state"] == "ok"


def test_a_refusal_degrades_healthz_and_an_unreachable_hub_does_not(hub_store, station_factory):
    gym = station_factory("gym")
    gym.store.outbox.record_attempt("cannot reach the hub at https://hub.example (timed out); will retry")
    assert _healthz(gym)["state"] == "ok"
    Hub(hub_store).revoke_station("gym")
    with pytest.raises(SyncError, match="HTTP 401"):
        gym.sync_once()
    doc = _healthz(gym)
    assert doc["state"] == "degraded" and "the hub refuses this station's sync (HTTP 401" in doc["reason"]


def test_a_change_queued_in_the_backup_that_the_lost_database_never_sent_is_taken(hub_store, station_factory,
                                                                                   tmp_path):
    """The backup holds a patient not yet sent; the lost database erased them (its queued create
    dropped, never sent). Restored, the station sends the create again below the hub's last change
    number: taken, not refused as "a change the hub never had"."""
    gym = station_factory("gym")
    _patient_with_trial(gym.store, "B-1")
    gym.sync_once()
    late = gym.store.patients.create({"identifier": "B-9", "birth_year": 1940, "sex": "M"}, actor=CLINICIAN)
    backup = store_backup.create_backup(gym.store.data_dir).path  # B-9 queued, not on the hub
    gym.store.patients.erase(late["id"], "B-9", actor=CLINICIAN)
    _patient_with_trial(gym.store, "B-2", seed=1)
    gym.sync_once()
    gym.store.close()
    store_backup.restore_backup(tmp_path / "gym", backup)
    gym.store = Store.open(tmp_path / "gym")
    _confirmed(gym, hub_store)
    report = StationSync(gym.store, gym.client).sync_once()
    assert report.queue_length == 0 and hub_patient(hub_store, "B-9")["birth_year"] == 1940
    assert len(hub_trials(hub_store, "B-2")) == 1
