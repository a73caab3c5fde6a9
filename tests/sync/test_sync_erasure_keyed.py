"""Erasure records name the erased patient keyed with the clinic's key (HMAC-SHA256 of the identifier
hash, :mod:`station.store.erasure_key`), at the stations (``sync_erasures``, the queued ``erase``)
and on the hub (``hub_tombstones``): a copy of a database, or of its backups, no longer tells who was
erased by trying record numbers. The key is a file of each data directory (0600), never in a
database. Records kept by the plain hash before are keyed where the key is; an older hub or station
is told to update, and no erasure is lost. The old code kept the plain SHA-256 everywhere."""

from __future__ import annotations

import json
import re
import stat

import pytest

from station.cli import main
from station.store.db import NotFound, StoreError
from station.store.outbox import identifier_hash
from station.sync.client import HubClient, SyncError
from station.sync.hub import Hub
from station.sync.records import clinic_key_id as key_id
from station.sync.records import tombstone_key as keyed_hash
from web import create_app

from free_ports import free_port
from sync_support import CHEAP, CLINICIAN, HUB_URL, AppTransport, hub_patient, open_hub_store, station_health

RECORD_NUMBER = "4821937"
"""A 7-digit record number, the small identifier space the review found brute-forced in seconds."""


def _create(store, identifier: str) -> dict:
    return store.patients.create({"identifier": identifier, "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)


def _found_by_trying(stored: set[str], numbers: range) -> list[str]:
    """The 7-digit record numbers whose plain identifier hash is among ``stored``: the search a copy
    of an old database gave (here over a slice around the patient's number; every 10⁷ numbers are
    tried in about 12 CPU-s in Python, README)."""
    return [n for n in (f"{i:07d}" for i in numbers) if identifier_hash(n) in stored]


def _kept(store, sql: str) -> set[str]:
    with store.db.read() as conn:
        return {row[0] for row in conn.execute(sql)}


def test_erasure_records_are_keyed_and_trying_record_numbers_finds_nobody(hub_store, hub_app, station_factory,
                                                                          tmp_path):
    gym, ward = station_factory("gym"), station_factory("ward")
    patient = _create(gym.store, RECORD_NUMBER)
    gym.sync_once()  # the gym takes the clinic's key
    ward.pull_patient(RECORD_NUMBER, actor=CLINICIAN)
    gym.store.patients.erase(patient["id"], RECORD_NUMBER, actor=CLINICIAN)
    [queued] = gym.store.outbox.pending()
    assert sorted(queued["payload"]) == ["identifier_key", "key_id", "unsent_trials"]
    gym.sync_once()
    assert ward.sync_once().erased == 1  # erasure still reaches every station
    with pytest.raises(NotFound):
        ward.store.patients.get_by_identifier(RECORD_NUMBER)

    kept = (_kept(gym.store, "SELECT identifier_hash FROM sync_erasures")
            | _kept(ward.store, "SELECT identifier_hash FROM sync_erasures")
            | _kept(hub_store, "SELECT identifier_hash FROM hub_tombstones"))
    numbers = range(int(RECORD_NUMBER) - 10_000, int(RECORD_NUMBER) + 10_000)
    assert _found_by_trying(kept, numbers) == []
    assert _found_by_trying({identifier_hash(RECORD_NUMBER)}, numbers) == [RECORD_NUMBER]  # the old code's value
    key = Hub(hub_store).clinic_key
    assert kept == {keyed_hash(key, identifier_hash(RECORD_NUMBER))}  # one patient, named alike at every end

    for name in ("hub", "gym", "ward"):  # the key: a file of each data directory, 0600, never in a database
        path = tmp_path / name / "clinic_key"
        assert path.read_text().strip() == key and stat.S_IMODE(path.stat().st_mode) == 0o600
    for name in ("gym", "ward"):  # the database and its write-ahead log
        assert not any(key.encode() in path.read_bytes() for path in (tmp_path / name).glob("station.sqlite3*"))
    with hub_store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM settings WHERE value LIKE ?", (f"%{key}%",)).fetchone()[0] == 0


def test_records_kept_by_the_plain_hash_are_keyed_at_the_hub_s_start_and_the_station_s_next_sync(
        hub_store, hub_app, station_factory):
    """What older software kept (the plain hash; the hub's key in its database, so in its backups)
    is keyed where the key is: the plain hash is all a migration has, and keying it is a function
    of it, so every old row is re-keyed; none is left behind or dropped."""
    gym = station_factory("gym")
    gym.sync_once()
    at = "2026-11-30T10:00:00.000Z"
    erased_here, erased_on_hub = identifier_hash("7004211"), identifier_hash("7004212")
    with gym.store.db.write() as conn:  # an erasure made here by older software: recorded and queued
        conn.execute("INSERT INTO sync_erasures (patient_id, identifier_hash, unsent_trials, erased_at, erased_by)"
                     " VALUES (41, ?, '[]', ?, 'station')", (erased_here, at))
        conn.execute("INSERT INTO sync_outbox (entity, local_id, patient_id, op, at, payload) VALUES"
                     " ('patient', 41, NULL, 'erase', ?, ?)",
                     (at, json.dumps({"identifier_hash": erased_here, "unsent_trials": []})))
    with hub_store.db.write() as conn:  # the hub's tombstone and its key as older software kept them
        conn.execute("INSERT INTO hub_tombstones (identifier_hash, erased_at) VALUES (?, ?)", (erased_on_hub, at))
        conn.execute("INSERT INTO settings (key, value, updated_at, updated_by) VALUES ('sync_clinic_key', ?, ?, 'hub')",
                     (json.dumps("11" * 32), at))

    key = Hub(hub_store).clinic_key  # the hub's start on this software
    assert _kept(hub_store, "SELECT identifier_hash FROM hub_tombstones") == {keyed_hash(key, erased_on_hub)}
    assert _kept(hub_store, "SELECT key FROM settings WHERE key = 'sync_clinic_key'") == set()
    assert key != "11" * 32  # a key that sat in the database's backups hides nothing: a new one

    report = gym.sync_once()
    assert report.erasures_keyed == 2 and gym.store.outbox.length() == 0  # its record and its queued erasure
    assert any("now keyed with the clinic's key" in line for line in report.lines())
    assert _kept(gym.store, "SELECT identifier_hash FROM sync_erasures") == {keyed_hash(key, erased_here)}
    assert _kept(gym.store, "SELECT key_id FROM sync_erasures") == {key_id(key)}


def test_a_hub_whose_key_file_is_missing_does_not_start_and_says_what_to_do(hub_store, hub_app, tmp_path, pg_url,
                                                                            capsys, monkeypatch):
    held = _create(hub_store, "8100001")
    key_file = tmp_path / "hub" / "clinic_key"
    kept_text = key_file.read_text()
    made = key_id(kept_text.strip())
    key_file.unlink()
    with pytest.raises(StoreError, match="clinic key file .*is missing"):  # no tombstone stations could not match
        hub_store.patients.erase(held["id"], "8100001", actor=CLINICIAN)
    assert hub_patient(hub_store, "8100001") and _kept(hub_store, "SELECT identifier_hash FROM hub_tombstones") == set()
    words = f"clinic key file .*clinic_key is missing: this hub's erasures are kept keyed with key {made} .*restore that file"
    with pytest.raises(StoreError, match=words):
        create_app({"STORE": hub_store, "HUB": True, "SECRET_KEY": "test", "PASSWORD_COST": CHEAP, "TESTING": True})
    monkeypatch.setenv("BALANCE_STATION_DATABASE", pg_url)
    monkeypatch.setenv("BALANCE_STATION_CONFIG", "")
    assert main(["hub", "--data-dir", str(tmp_path / "hub"), "--port", str(free_port())]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.match(f"balance-station hub: the {words}", err)  # one line, no traceback
    assert Hub(hub_store).add_station("new-ward").startswith("bst_")  # managing tokens needs no key
    assert not key_file.exists()  # and no new key is made over a database keyed with the lost one
    assert "copy it from the data directory of any station that synced with this hub (its clinic_key" in err
    assert f"or clinic_key.{made} once it took another hub's key)" in err
    key_file.write_text(kept_text)  # a station's copy holds the same key (the first test above)
    key_file.chmod(0o600)
    assert Hub(hub_store).clinic_key == kept_text.strip()
    hub_store.patients.erase(held["id"], "8100001", actor=CLINICIAN)  # the hub erases again, keyed
    assert _kept(hub_store, "SELECT identifier_hash FROM hub_tombstones") == {keyed_hash(kept_text.strip(), identifier_hash("8100001"))}


def test_a_station_whose_key_file_cannot_be_read_erases_all_the_same_and_the_sync_says_why(hub_store,
                                                                                          station_factory):
    gym, ward = station_factory("gym"), station_factory("ward")
    patient = _create(gym.store, "3300417")
    gym.sync_once()
    ward.pull_patient("3300417", actor=CLINICIAN)
    key_path = gym.store.outbox.key_file.path
    key_path.unlink()
    key_path.mkdir()  # unreadable: a directory where the file was
    gym.store.patients.erase(patient["id"], "3300417", actor=CLINICIAN)  # never refused for the key
    with pytest.raises(SyncError, match="cannot read the clinic key file .*clinic_key.*nothing was erased or pushed"):
        gym.sync_once()
    assert gym.store.outbox.length() == 1 and hub_patient(hub_store, "3300417")  # the erasure waits here
    key_path.rmdir()
    report = gym.sync_once()  # the key asked again, and what was kept by the plain hash keyed
    assert report.erasures_keyed == 2 and gym.store.outbox.length() == 0
    assert ward.sync_once().erased == 1


def test_a_keyed_erasure_waits_for_a_hub_before_keyed_erasures_which_the_sync_says_to_update(
        hub_store, station_factory):
    gym, ward = station_factory("gym"), station_factory("ward")
    gone, kept = _create(gym.store, "5100001"), _create(gym.store, "5100002")
    gym.sync_once()
    transport = gym.client._send

    def older_hub(method, url, headers, body):  # its tombstones answer does not say it keys erasures
        status, data = transport(method, url, headers, body)
        if "/api/hub/tombstones" in url:
            doc = json.loads(data)
            doc.pop("erasures_keyed", None)
            data = json.dumps(doc).encode()
        return status, data

    gym.client._send = ward.client._send = older_hub
    gym.store.patients.update(kept["id"], {"notes": "before"}, actor=CLINICIAN)
    gym.store.patients.erase(gone["id"], "5100001", actor=CLINICIAN)
    gym.store.patients.update(kept["id"], {"notes": "after"}, actor=CLINICIAN)
    with pytest.raises(SyncError, match=r"hub's software is older than keyed erasures: it cannot take this station's "
                                        rf"erasure of its patient #{gone['id']}.*update the hub's software\. The "
                                        r"erasure and the 1 change\(s\) after it wait here, nothing is lost"):
        gym.sync_once()
    assert hub_patient(hub_store, "5100002")["notes"] == "before" and hub_patient(hub_store, "5100001")
    assert gym.store.outbox.length() == 2
    assert any("update the hub's software" in line for line in ward.sync_once().lines())  # said, not an error

    gym.client._send = transport  # the hub updated
    gym.sync_once()
    with pytest.raises(NotFound):
        hub_patient(hub_store, "5100001")
    assert hub_patient(hub_store, "5100002")["notes"] == "after"


def test_an_older_station_s_erasure_by_the_plain_hash_is_taken_and_kept_keyed_and_the_hub_says_to_update_it(
        hub_store, station_factory):
    gym = station_factory("gym")
    patient = _create(gym.store, "6200001")
    gym.sync_once()
    plain = identifier_hash("6200001")
    gym.client.request("POST", "/api/hub/push", body={"station_id": gym.store.outbox.station_id, "changes": [
        {"seq": 10_000, "entity": "patient", "op": "erase", "local_id": patient["id"], "at": "2026-12-01T10:00:00Z",
         "payload": {"identifier_hash": plain, "unsent_trials": []}}]})  # as a station of sync protocol 2 sends it
    with pytest.raises(NotFound):
        hub_patient(hub_store, "6200001")
    hub = Hub(hub_store)
    assert _kept(hub_store, "SELECT identifier_hash FROM hub_tombstones") == {keyed_hash(hub.clinic_key, plain)}
    [row] = hub.stations()
    assert "sends erasures named by the plain hash" in row["last_error"] and "update its software" in row["last_error"]


def test_erasures_keyed_with_another_hub_s_key_are_kept_and_the_queue_goes_on(
        hub_store, station_factory, pg_empty_url, tmp_path, monkeypatch, capsys):
    """The gym's hub was lost with its key and rebuilt into an empty database, which made a new key
    (a station moved to another hub finds the same). The gym's erasures keyed with the old key, one
    queued (made while the hub was down) and two kept and offered again to the new database, name
    nobody the new hub can match, and no one can key them again (HMAC is not reversible): the old
    code pushed them, the hub refused them at every sync (422 naming its key), and nothing after
    them ever reached it. Now each is kept, its record too, listed with both keys and what to do,
    counted in /healthz until marked dealt with, and the rest goes on. The erasure the gym holds by
    the plain hash (made while it could not read its key) is keyed with the new key and sent."""
    from station.store import outbox_admin

    gym = station_factory("gym")
    ids = {n: _create(gym.store, f"820000{n}")["id"] for n in range(1, 6)}
    gym.sync_once()
    old = key_id(Hub(hub_store).clinic_key)
    gym.store.patients.erase(ids[1], "8200001", actor=CLINICIAN)
    hub_store.patients.erase(hub_patient(hub_store, "8200002")["id"], "8200002", actor=CLINICIAN)
    assert gym.sync_once().erased == 1
    gym.client._send.cut_after(0)  # the hub is down
    gym.store.patients.erase(ids[3], "8200003", actor=CLINICIAN)  # queued, keyed with the old key
    gym.store.outbox.key_file.path.unlink()
    gym.store.patients.erase(ids[4], "8200004", actor=CLINICIAN)  # queued by the plain hash
    _create(gym.store, "8200006")

    rebuilt = open_hub_store(tmp_path / "rebuilt", database=pg_empty_url)  # a new key in a new data directory
    try:
        app = create_app({"STORE": rebuilt, "HUB": True, "SECRET_KEY": "test", "PASSWORD_COST": CHEAP, "TESTING": True})
        gym.client = HubClient(HUB_URL, Hub(rebuilt).add_station("gym"), transport=AppTransport(app))
        new = key_id(Hub(rebuilt).clinic_key)
        report = gym.sync_once()  # the old code: SyncError, the hub's 422 naming its key, at every sync
        assert report.hub_restored and report.erasures_keyed_elsewhere == 3 and gym.store.outbox.length() == 0
        assert hub_patient(rebuilt, "8200005") and hub_patient(rebuilt, "8200006")  # offered again, and new
        assert "3 erasure(s) kept here, not sent: keyed with another hub's clinic key" in " ".join(report.lines())
        with gym.store.db.read() as conn:  # every erasure still recorded; the plain one keyed with the new key
            recorded = {r[0]: r[1] for r in conn.execute("SELECT patient_id, key_id FROM sync_erasures")}
        assert recorded == {ids[1]: old, ids[2]: old, ids[3]: old, ids[4]: new}
        kept = outbox_admin.skipped_changes(gym.store)
        assert sorted(k.local_id for k in kept) == [ids[1], ids[2], ids[3]]
        for item in kept:
            assert (item.op, item.skipped_by) == ("erase", "station")
            assert f"keyed with clinic key {old}, another hub's" in item.reason and f"this hub's key is {new}" in item.reason
            assert "erase them there by their record number" in item.reason
            assert f"`balance-station sync --resolve {item.change_id}`" in item.reason and "820000" not in item.reason
        health = station_health(gym)
        assert health["erasures_keyed_elsewhere"]["count"] == 3 and health["last_error"] is None
        assert "cannot match them" in health["erasures_keyed_elsewhere"]["what_to_do"]

        monkeypatch.setenv("BALANCE_STATION_CONFIG", "")
        assert main(["sync", "--resolve", kept[0].change_id, "--data-dir", str(gym.store.data_dir)]) == 0
        assert "/healthz still counts: 2 erasure(s) kept here are keyed with another hub's" in capsys.readouterr().out
        assert station_health(gym)["erasures_keyed_elsewhere"]["count"] == 2
    finally:
        rebuilt.close()


def test_a_key_replaced_by_another_hub_s_is_kept_beside_it(tmp_path):
    """A station taking a rebuilt hub's new key keeps the old one (``clinic_key.<id>``, 0600): a
    database backup keyed with the old key needs it to start, and the hub's refusal names that file.
    Before, the new key was written over it, and every station that synced lost the clinic's copy."""
    from station.store.erasure_key import KeyFile

    first, second = "ab" * 32, "cd" * 32
    key_file = KeyFile(tmp_path)
    key_file.write(first)
    key_file.write(first)  # the same key: nothing kept beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clinic_key"]
    key_file.write(second)
    kept = tmp_path / f"clinic_key.{key_id(first)}"
    assert key_file.read() == second and kept.read_text().strip() == first
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600 and stat.S_IMODE(key_file.path.stat().st_mode) == 0o600
    key_file.write(first)  # back to the first hub: the second kept too, the first's copy left as it was
    assert key_file.read() == first and (tmp_path / f"clinic_key.{key_id(second)}").read_text().strip() == second
    assert kept.read_text().strip() == first
