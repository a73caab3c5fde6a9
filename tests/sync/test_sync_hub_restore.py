"""A hub restored from an older backup (``balance-station restore --database``) numbers erasures,
trials and audit entries again from the backup's: a station whose cursors had passed those numbers
skipped what the hub made after the restore, an erasure above all (the patient's data stayed at
the station for good), and the changes it had pushed after the backup were gone from the hub for
good (it drops what the hub acknowledged). The restored database's new epoch
(:mod:`station.store.hub_epoch`) brings the station's cursors back and has it offer its records
again. On PostgreSQL, through the real backup and restore."""

from __future__ import annotations

import pytest

from station.store import pg_backup
from station.store.audit import Actor
from station.store.db import NotFound
from station.store.outbox import identifier_hash
from station.sync.hub import Hub
from station.sync.records import tombstone_key
from web import create_app

from sync_support import CHEAP, CLINICIAN, AppTransport, add_trial, hub_patient, hub_trials, make_station, open_hub_store

HUB_ADMIN = Actor(1, "root", "10.0.0.9")


def _hub_app(hub_store):
    return create_app({"STORE": hub_store, "HUB": True, "SECRET_KEY": "test", "PASSWORD_COST": CHEAP, "TESTING": True})


def _patient_with_trial(store, identifier: str, seed: int = 0) -> int:
    patient = store.patients.create({"identifier": identifier, "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    session = store.sessions.create(patient["id"], {}, actor=CLINICIAN)
    add_trial(store, session["id"], 300, seed)
    return session["id"]


def _hub_and_gym(pg_url, tmp_path, station_data_dir):
    """A hub on ``pg_url`` and one station syncing to it, the gym."""
    hub_store = open_hub_store(tmp_path, database=pg_url)
    station_data_dir(tmp_path / "gym")
    return hub_store, make_station(hub_store, _hub_app(hub_store), tmp_path, "gym")


def _hub_gym_ward(pg_url, tmp_path, station_data_dir):
    """A hub on ``pg_url`` and two stations syncing to it, the gym and the ward."""
    hub_store = open_hub_store(tmp_path, database=pg_url)
    station_data_dir(tmp_path / "gym")
    station_data_dir(tmp_path / "ward")
    app = _hub_app(hub_store)
    return hub_store, make_station(hub_store, app, tmp_path, "gym"), make_station(hub_store, app, tmp_path, "ward")


def test_a_restored_hub_s_erasure_and_lost_pushes_reach_the_station(pg_url, tmp_path, station_data_dir):
    hub_store, gym = _hub_and_gym(pg_url, tmp_path, station_data_dir)
    try:
        sessions = {name: _patient_with_trial(gym.store, name, n) for n, name in enumerate(("P-A", "P-B", "P-C"))}
        gym.sync_once()
        backup = pg_backup.create_hub_backup(pg_url, tmp_path / "hub")

        # after the backup: this station's new trial and new patients, and two erasures on the hub
        add_trial(gym.store, sessions["P-B"], 300, 7)
        _patient_with_trial(gym.store, "P-D", 8)
        _patient_with_trial(gym.store, "P-X", 9)
        assert gym.sync_once().sent["trial"] == 3
        for name in ("P-A", "P-X"):
            hub_store.patients.erase(hub_patient(hub_store, name)["id"], name, actor=HUB_ADMIN)
        report = gym.sync_once()
        assert report.erased == 2 and gym.store.outbox.length() == 0
        assert gym.store.outbox.state()["tombstone_cursor"] == 2

        hub_store.close()
        pg_backup.restore_hub_backup(pg_url, tmp_path / "hub", backup.path)
        hub_store = open_hub_store(tmp_path, database=pg_url)  # the hub started again
        gym.client._send = AppTransport(_hub_app(hub_store))
        assert len(hub_trials(hub_store, "P-B")) == 1
        with pytest.raises(NotFound):
            hub_patient(hub_store, "P-D")
        with pytest.raises(NotFound):  # the erasure made after the backup made again at the start
            hub_patient(hub_store, "P-A")
        assert hub_store.audit.query(action="patient.erase")[0]["username"] == "restore"

        # erasures made after the restore take ids the station has passed (its cursor 2)
        hub_store.patients.erase(hub_patient(hub_store, "P-C")["id"], "P-C", actor=HUB_ADMIN)
        with hub_store.db.read() as conn:  # P-A's again (P-X was not in the backup), P-C's
            assert conn.execute("SELECT max(id) FROM hub_tombstones").fetchone()[0] == 2

        report = gym.sync_once()
        assert report.hub_restored and report.erased == 1  # the old code: 0, P-C kept here (P-A is gone here)
        with pytest.raises(NotFound):
            gym.store.patients.get_by_identifier("P-C")
        assert "restored from a backup" in " ".join(report.lines())
        # what the hub lost comes again; what it held is not doubled (frames not sent again)
        assert len(hub_trials(hub_store, "P-B")) == 2 and len(hub_trials(hub_store, "P-D")) == 1
        assert report.frame_parts == 2  # the two trials it lost, 300 frames each: one part each
        with hub_store.db.read() as conn:
            assert conn.execute("SELECT count(*) FROM trials").fetchone()[0] == 3  # P-B 2, P-D 1 (P-C erased)
        assert gym.store.outbox.length() == 0

        again = gym.sync_once()  # offered once
        assert not again.hub_restored and again.offered_again == 0 and again.sent == {} and again.erased == 0
    finally:
        gym.store.close()
        hub_store.close()


def test_a_cursor_beyond_the_hub_s_erasures_goes_back_to_them(pg_url, tmp_path, station_data_dir):
    """Restored by other tools (the epoch kept): a new erasure the station's cursor had passed is
    taken once the hub's highest tombstone is below the cursor."""
    hub_store, gym = _hub_and_gym(pg_url, tmp_path, station_data_dir)
    try:
        _patient_with_trial(gym.store, "P-E")
        gym.sync_once()
        gym.store.outbox.set_tombstone_cursor(5)  # the hub had 5 erasures before it went back
        hub_store.patients.erase(hub_patient(hub_store, "P-E")["id"], "P-E", actor=HUB_ADMIN)
        assert gym.sync_once().erased == 1
        assert gym.store.outbox.state()["tombstone_cursor"] == 1
    finally:
        gym.store.close()
        hub_store.close()


def test_pulled_trials_the_restored_hub_lost_give_way_to_the_records_now_under_their_ids(
        pg_url, tmp_path, station_data_dir):
    """The ward pulled a trial of P-B that the restore lost; the restored hub gives its id to a new
    trial of P-F. The ward takes P-F's trial as P-F's (before: stored over P-B's copy, another
    patient's results) and P-B's trial again when the gym offers it again."""
    hub_store, gym, ward = _hub_gym_ward(pg_url, tmp_path, station_data_dir)
    try:
        sessions = {name: _patient_with_trial(gym.store, name, n) for n, name in enumerate(("P-B", "P-F"))}
        gym.sync_once()
        for name in ("P-B", "P-F"):
            ward.pull_patient(name, actor=CLINICIAN)
        ward.sync_once()
        backup = pg_backup.create_hub_backup(pg_url, tmp_path / "hub")
        add_trial(gym.store, sessions["P-B"], 300, 7)  # ellipse 9.0
        gym.sync_once()
        assert ward.sync_once().pulled_trials == 1

        hub_store.close()
        pg_backup.restore_hub_backup(pg_url, tmp_path / "hub", backup.path)
        hub_store = open_hub_store(tmp_path, database=pg_url)
        app = _hub_app(hub_store)
        gym.client._send, ward.client._send = AppTransport(app), AppTransport(app)
        add_trial(gym.store, sessions["P-F"], 300, 5)  # ellipse 7.0: queued first, takes P-B's lost trial's id
        gym.sync_once()
        ward.sync_once()

        def ellipses(identifier):
            patient = ward.store.patients.get_by_identifier(identifier)
            doc = ward.store.patients.view(patient["id"], actor=CLINICIAN)
            return sorted(ward.store.trials.get(t["id"])["metrics"]["metrics"]["ellipse_area_cm2"]
                          for s in doc["sessions"] for t in s["trials"])

        assert ellipses("P-F") == [3.0, 7.0]
        assert ellipses("P-B") == [2.0, 9.0]
        assert ward.store.audit.query(action="sync.pulled_forgotten")[0]["detail"] == {"sessions": 0, "trials": 1}
    finally:
        gym.store.close()
        ward.store.close()
        hub_store.close()


def _restore_into_new_database(hub_store, pg_empty_url, tmp_path, backup, *stations):
    """The hub's database was lost: its backup restored into a new one (nothing of the lost
    database's erasures to make again), the hub started on it; the stations' transports to it."""
    hub_store.close()
    pg_backup.restore_hub_backup(pg_empty_url, tmp_path / "hub", backup.path)
    hub_store = open_hub_store(tmp_path, database=pg_empty_url)
    app = _hub_app(hub_store)
    for station in stations:
        station.client._send = AppTransport(app)
    return hub_store


def test_an_erasure_made_at_a_station_survives_the_hub_s_restore(pg_url, pg_empty_url, tmp_path, station_data_dir):
    """The gym erased P-A after the hub's backup and pushed it; the hub's database was lost and
    restored from that backup, P-A in it. The gym offers its erasure again: the hub erases P-A
    (the old code: held for good, handed to any station pulling them), and the ward, which pulled
    P-A before the backup and was offline since, takes the erasure.

    P-R, renamed P-R2 on the hub between the backup and the gym's erasure of P-R2, is back as P-R:
    the erasure offered again names P-R2, so the hub does not erase P-R (a hub administrator
    decides) and takes the erasure: the old code refused it at every sync, and everything the gym
    offered again after it stayed queued."""
    hub_store, gym, ward = _hub_gym_ward(pg_url, tmp_path, station_data_dir)
    try:
        for n, name in enumerate(("P-A", "P-B", "P-R")):
            _patient_with_trial(gym.store, name, n)
        gym.sync_once()
        ward.pull_patient("P-A", actor=CLINICIAN)
        ward.sync_once()
        backup = pg_backup.create_hub_backup(pg_url, tmp_path / "hub")
        hub_store.patients.update(hub_patient(hub_store, "P-R")["id"], {"identifier": "P-R2"}, actor=HUB_ADMIN)
        gym.sync_once()  # takes P-R2
        gym.store.patients.erase(gym.store.patients.get_by_identifier("P-R2")["id"], "P-R2", actor=CLINICIAN)
        gym.store.patients.erase(gym.store.patients.get_by_identifier("P-A")["id"], "P-A", actor=CLINICIAN)
        gym.sync_once()
        with pytest.raises(NotFound):
            hub_patient(hub_store, "P-A")

        hub_store = _restore_into_new_database(hub_store, pg_empty_url, tmp_path, backup, gym, ward)
        assert hub_patient(hub_store, "P-A")["identifier"] == "P-A"  # back with the backup

        report = gym.sync_once()
        assert report.hub_restored and gym.store.outbox.length() == 0
        assert report.unmatched_erasures == 1 and hub_patient(hub_store, "P-R")["identifier"] == "P-R"
        with pytest.raises(NotFound):
            hub_patient(hub_store, "P-A")
        assert len(hub_trials(hub_store, "P-B")) == 1  # the gym's other patient as it was
        assert ward.sync_once().erased == 1
        with pytest.raises(NotFound):
            ward.store.patients.get_by_identifier("P-A")
        with pytest.raises(NotFound):  # nor handed to a station pulling them
            ward.pull_patient("P-A", actor=CLINICIAN)
        again = gym.sync_once()  # offered once
        assert not again.hub_restored and again.sent == {} and again.erased == 0
        with hub_store.db.read() as conn:
            assert conn.execute("SELECT count(*) FROM hub_tombstones").fetchone()[0] == 1
            [tombstone] = conn.execute("SELECT identifier_hash FROM hub_tombstones").fetchone()
        with gym.store.db.read() as conn:  # what the erasure is offered again from: keyed, as the tombstone
            kept = {row[0] for row in conn.execute("SELECT identifier_hash FROM sync_erasures")}
        key = Hub(hub_store).clinic_key  # the restored hub's, from its data directory (no backup holds it)
        assert tombstone == tombstone_key(key, identifier_hash("P-A"))
        assert kept == {tombstone_key(key, identifier_hash(n)) for n in ("P-A", "P-R2")}
    finally:
        gym.store.close()
        ward.store.close()
        hub_store.close()


def test_an_erasure_made_on_the_hub_after_its_backup_survives_its_restore(
        pg_url, pg_empty_url, tmp_path, station_data_dir):
    """A hub administrator erased P-A (the gym's, pulled by the ward) after the hub's backup; the
    gym took the erasure, the ward, offline since the backup, did not. The hub's database was lost
    and restored from that backup into a new one: P-A back. The gym, which pushed nothing since the
    backup, offers the hub's erasure again: the hub erases P-A again (the gym sent them: the hub's
    rule) and the ward takes it (the old code: P-A held on the hub for good, and at the ward,
    handed to any station pulling them). P-N, registered on the hub and held by no station, was
    erased there too: no station keeps a record of it, so P-N stays back (README: left)."""
    hub_store, gym, ward = _hub_gym_ward(pg_url, tmp_path, station_data_dir)
    try:
        for n, name in enumerate(("P-A", "P-B")):
            _patient_with_trial(gym.store, name, n)
        hub_store.patients.create({"identifier": "P-N", "birth_year": 1949, "sex": "M"}, actor=HUB_ADMIN)
        gym.sync_once()
        ward.pull_patient("P-A", actor=CLINICIAN)
        ward.sync_once()
        backup = pg_backup.create_hub_backup(pg_url, tmp_path / "hub")
        for name in ("P-A", "P-N"):
            hub_store.patients.erase(hub_patient(hub_store, name)["id"], name, actor=HUB_ADMIN)
        assert gym.sync_once().erased == 1 and gym.store.outbox.length() == 0
        with gym.store.db.read() as conn:  # ids and the hash only
            [kept] = [dict(r) for r in conn.execute("SELECT * FROM sync_erasures")]
        assert (kept["patient_id"], kept["erased_by"], len(kept["identifier_hash"])) == (1, "hub", 64)

        hub_store = _restore_into_new_database(hub_store, pg_empty_url, tmp_path, backup, gym, ward)
        assert hub_patient(hub_store, "P-A")["identifier"] == "P-A"  # back with the backup

        report = gym.sync_once()
        assert report.hub_restored and report.offered_again == 1 and report.sent == {"patient": 1}
        with pytest.raises(NotFound):
            hub_patient(hub_store, "P-A")
        assert len(hub_trials(hub_store, "P-B")) == 1
        [audited] = gym.store.audit.query(action="sync.erasures_offered_again")
        assert audited["detail"] == {"erased_here": [], "erased_on_hub": [1],
                                      "not_offered_identifier_held_again": []}
        assert ward.sync_once().erased == 1
        with pytest.raises(NotFound):
            ward.store.patients.get_by_identifier("P-A")
        with pytest.raises(NotFound):
            ward.pull_patient("P-A", actor=CLINICIAN)
        assert hub_patient(hub_store, "P-N")["birth_year"] == 1949  # no station held them: back for good
        again = gym.sync_once()  # offered once
        assert not again.hub_restored and again.sent == {} and again.erased == 0
    finally:
        gym.store.close()
        ward.store.close()
        hub_store.close()


def test_an_erasure_of_an_identifier_given_again_is_not_offered_again(
        pg_url, pg_empty_url, tmp_path, station_data_dir):
    """The gym erased P-C after the backup, took the hub's tombstone, then registered a new patient
    P-C; the hub erased P-G and P-D after the backup, the gym took both, then registered a new P-G.
    Offered again to the restored hub, the erasures of P-C and P-G would be taken for the new
    patients' and their tombstones would erase them at the gym: they are not offered (audited);
    the new patients stay. The hub's erasure of P-D, offered again with every record of the gym
    (the restore lost its pushes), erases P-D on the hub again."""
    hub_store, gym = _hub_and_gym(pg_url, tmp_path, station_data_dir)
    try:
        for n, name in enumerate(("P-C", "P-G", "P-D")):
            _patient_with_trial(gym.store, name, n)
        gym.sync_once()
        backup = pg_backup.create_hub_backup(pg_url, tmp_path / "hub")
        gym.store.patients.erase(gym.store.patients.get_by_identifier("P-C")["id"], "P-C", actor=CLINICIAN)
        for name in ("P-G", "P-D"):
            hub_store.patients.erase(hub_patient(hub_store, name)["id"], name, actor=HUB_ADMIN)
        gym.sync_once()
        gym.sync_once()  # the erasure's tombstone taken
        for name in ("P-C", "P-G"):
            gym.store.patients.create({"identifier": name, "birth_year": 1961, "sex": "M"}, actor=CLINICIAN)
        gym.sync_once()

        hub_store = _restore_into_new_database(hub_store, pg_empty_url, tmp_path, backup, gym)
        assert gym.sync_once().hub_restored
        gym.sync_once()
        for name in ("P-C", "P-G"):
            assert gym.store.patients.get_by_identifier(name)["birth_year"] == 1961
            assert hub_patient(hub_store, name)["birth_year"] == 1961
        with pytest.raises(NotFound):  # the old code: held on the hub again
            hub_patient(hub_store, "P-D")
        [audited] = gym.store.audit.query(action="sync.erasures_offered_again")
        assert audited["detail"] == {"erased_here": [], "erased_on_hub": [3],
                                      "not_offered_identifier_held_again": [1, 2]}
    finally:
        gym.store.close()
        hub_store.close()
