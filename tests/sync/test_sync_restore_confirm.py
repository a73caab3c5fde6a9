"""A station's restore notice is held on the hub until an administrator confirms it (R3 finding 1):
a stolen token's forged notice changes nothing; a confirmed mark is never taken again; marks are
checked (finding 7); ``sync --restored-from`` refuses a backup the database cannot be a restore of
(finding 3)."""

from __future__ import annotations

import secrets

import pytest

from station.cli import main
from station.store import backup as store_backup
from station.store import restore_marks
from station.store.store import Store
from station.sync.client import HubRefused
from station.sync.hub import Hub
from station.sync.station_restore import PATH
from station.sync.syncer import StationSync

from sync_support import CLINICIAN, add_trial, hub_admin_client, hub_trials

ZERO = {e: 0 for e in ("patient", "session", "trial", "training", "programme", "audit")}


def _patient_with_trial(store, identifier, seed=0):
    patient = store.patients.create({"identifier": identifier, "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    session = store.sessions.create(patient["id"], {"label": "baseline"}, actor=CLINICIAN)
    add_trial(store, session["id"], 300, seed)
    return patient, session


def _notice(gym, mark_id=None, seq=0, queued_from=None, ids=None):
    """What a stolen token of ``gym`` sends: a restore mark of its own making."""
    return gym.client.request("POST", PATH, body={"station_id": gym.store.outbox.station_id, "restored": {
        "id": mark_id or secrets.token_hex(8), "seq": seq, "queued_from": queued_from, "ids": ids or ZERO}})


def _notice_waiting(station_factory, mark_id: str):
    """Station ``gym`` synced A-1, and a notice of restore ``mark_id`` waits on the hub (refused 409)."""
    gym = station_factory("gym")
    _patient_with_trial(gym.store, "A-1")
    gym.sync_once()
    with pytest.raises(HubRefused):
        _notice(gym, mark_id=mark_id)
    return gym


def _count(hub_store, sql, *args):
    with hub_store.db.read() as conn:
        return conn.execute(sql, args).fetchone()[0]


def _mapping(hub_store):
    return (_count(hub_store, "SELECT count(*) FROM hub_id_map"), _count(hub_store, "SELECT count(*) FROM hub_applied"),
            _count(hub_store, "SELECT last_seq FROM hub_stations WHERE name = 'gym'"))


def test_a_forged_restore_notice_changes_nothing_until_an_administrator_confirms_it(
        hub_store, station_factory, pg_url, tmp_path, capsys):
    gym = station_factory("gym")
    patient, session = _patient_with_trial(gym.store, "A-1")
    gym.sync_once()
    before = _mapping(hub_store)

    with pytest.raises(HubRefused) as held:  # the old code: 200 {"forgotten": 3, "last_seq": 0}
        _notice(gym, mark_id="abcdef0123456789")
    assert held.value.status == 409
    assert "until the hub's administrator confirms it" in str(held.value)
    assert "`balance-station hub stations confirm-restore gym`" in str(held.value)
    assert "restore abcdef01" in str(held.value)
    assert _mapping(hub_store) == before  # nothing forgotten

    # the real station (never restored) goes on: nothing comes twice, on the hub or back here
    gym.store.patients.update(patient["id"], {"notes": "edited"}, actor=CLINICIAN)
    add_trial(gym.store, session["id"], 300, 7)
    report = gym.sync_once()
    assert report.queue_length == 0 and report.offered_again == 0 and not report.hub_restored
    assert len(hub_trials(hub_store, "A-1")) == 2
    with gym.store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM trials").fetchone()[0] == 2
        assert conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 1

    # the administrator sees the notice waiting, with its id and what to run
    assert main(["hub", "stations", "list", "--database", pg_url, "--data-dir", str(tmp_path / "hub")]) == 0
    listed = capsys.readouterr().out
    assert "restore notice waiting since" in listed and "restore abcdef01" in listed
    assert "balance-station hub stations confirm-restore gym" in listed and "its token has leaked" in listed
    # not restored: the token leaked; revoking drops the notice
    assert main(["hub", "stations", "revoke", "gym", "--database", pg_url, "--data-dir", str(tmp_path / "hub")]) == 0
    assert Hub(hub_store).stations()[0]["restore_pending"] is None
    assert main(["hub", "stations", "confirm-restore", "gym", "--database", pg_url,
                 "--data-dir", str(tmp_path / "hub")]) == 1
    assert "has no restore notice waiting" in capsys.readouterr().err
    assert hub_store.audit.query(action="sync.station_restored") == []


def test_a_confirmed_mark_is_never_taken_again(hub_store, station_factory, pg_url, tmp_path, capsys):
    first = secrets.token_hex(8)
    gym = _notice_waiting(station_factory, first)
    assert main(["hub", "stations", "confirm-restore", "gym", "--mark", "0" * 8, "--database", pg_url,
                 "--data-dir", str(tmp_path / "hub")]) == 1  # another restore id than the one waiting
    assert f"is restore {first[:8]}" in capsys.readouterr().err
    assert main(["hub", "stations", "confirm-restore", "gym", "--mark", first[:8], "--database", pg_url,
                 "--data-dir", str(tmp_path / "hub")]) == 0
    assert f"restore {first[:8]} confirmed (audited)" in capsys.readouterr().out
    [entry] = hub_store.audit.query(action="sync.station_restored")
    assert entry["username"].startswith("cli:") and entry["detail"]["confirmed_by"] == entry["username"]
    assert _notice(gym, mark_id=first) == {"last_seq": 0, "forgotten": 3}  # the station learns it, once
    with gym.store.db.write() as conn:  # the test stands in for the station's notice: the station sent it
        restore_marks.note_sent(conn, first, gym.store.outbox.now_iso())
    gym.sync_once()  # the station's own sync offers its records again (it holds no mark: test's stand-in)
    after = _mapping(hub_store)
    for _ in range(25):  # the old code kept the last 20 marks taken: the first one was taken again after them
        with pytest.raises(HubRefused):
            _notice(gym, seq=10**6, ids={e: 10**6 for e in ZERO})
    assert _notice(gym, mark_id=first) == {"last_seq": after[2], "forgotten": 0}
    assert _notice(gym, mark_id=first.upper()) == {"last_seq": after[2], "forgotten": 0}
    assert _mapping(hub_store) == after
    assert len(hub_store.audit.query(action="sync.station_restored")) == 1


@pytest.mark.parametrize("mark_id, field", [("é" * 10, "restored.id"), ("١٢٣٤٥٦٧٨٩", "restored.id"),
                                            ("x" * 16, "restored.id")])
def test_a_mark_id_is_hex_digits_only(hub_store, station_factory, mark_id, field):
    gym = station_factory("gym")
    with pytest.raises(HubRefused) as refused:  # the old code: 200 for the first two (str.isalnum)
        _notice(gym, mark_id=mark_id)
    assert refused.value.status == 422 and field in refused.value.fields
    assert "hex digits" in refused.value.fields[field]


def test_queued_from_is_at_least_one(hub_store, station_factory):
    gym = station_factory("gym")
    _patient_with_trial(gym.store, "A-1")
    gym.sync_once()
    with pytest.raises(HubRefused) as refused:  # the old code: 200 {"last_seq": -1}, stored as -1
        _notice(gym, seq=5, queued_from=0)
    assert refused.value.status == 422
    assert refused.value.fields["restored.queued_from"] == "must be an integer of at least 1"
    assert _count(hub_store, "SELECT last_seq FROM hub_stations WHERE name = 'gym'") >= 0


def test_the_stations_page_confirms_a_waiting_notice_with_csrf_audited_by_the_administrator(
        hub_store, hub_app, station_factory):
    mark = secrets.token_hex(16)
    _notice_waiting(station_factory, mark)
    client = hub_admin_client(hub_store, hub_app)
    page = client.get("/hub/stations").get_data(as_text=True)
    assert "gym: restore notice waiting" in page and f"Confirm restore {mark[:8]}" in page
    url = "/hub/stations/gym/confirm-restore"
    assert client.post(url, data={"mark": mark}).status_code == 403  # no CSRF token
    assert _count(hub_store, "SELECT count(*) FROM hub_applied") > 0
    csrf = client.get("/api/session").get_json()["csrf_token"]
    done = client.post(url, data={"mark": mark, "csrf_token": csrf})
    assert done.status_code == 200 and f"restore {mark[:8]} confirmed" in done.get_data(as_text=True)
    assert "3 changes it had from the lost database after the backup: their records stay" in done.get_data(as_text=True)
    [entry] = hub_store.audit.query(action="sync.station_restored")
    assert entry["username"] == "boss" and entry["detail"]["confirmed_by"] == "boss"
    again = client.post(url, data={"mark": mark, "csrf_token": csrf})  # pressed twice
    assert again.status_code == 409 and "has no restore notice waiting" in again.get_data(as_text=True)


def test_restored_from_refuses_an_older_backup_of_a_station_never_restored(hub_store, station_factory, monkeypatch,
                                                                            capsys):
    gym = station_factory("gym")
    _patient_with_trial(gym.store, "A-1")
    gym.sync_once()
    early = store_backup.create_backup(gym.store.data_dir, 1_800_000_000).path
    _patient_with_trial(gym.store, "A-2", 1)
    _patient_with_trial(gym.store, "A-3", 2)
    gym.sync_once()
    monkeypatch.setenv("BALANCE_STATION_CONFIG", "")
    # the old code: 0, "marked", and the next sync duplicated A-2's and A-3's visits and trials
    assert main(["sync", "--restored-from", str(early), "--data-dir", str(gym.store.data_dir)]) == 1
    err = capsys.readouterr().err
    assert "this database is not a restore of that backup" in err and "nothing was marked" in err
    assert "nothing of it was lost" in err and "Traceback" not in err
    with gym.store.db.read() as conn:
        assert restore_marks.read(conn) is None
    report = StationSync(gym.store, gym.client).sync_once()
    assert report.restore_told is None and report.offered_again == 0 and report.sent == {}
    assert _count(hub_store, "SELECT count(*) FROM trials") == 3


def test_a_database_put_back_by_hand_from_its_backup_is_still_marked(hub_store, station_factory, tmp_path,
                                                                     monkeypatch, capsys):
    """The database copied back by hand from the backup, its next changes refused by the hub: the
    hub acknowledged none of them, so the backup is its base."""
    import shutil

    gym = station_factory("gym")
    _patient_with_trial(gym.store, "B-1")
    gym.sync_once()
    backup = store_backup.create_backup(gym.store.data_dir).path
    _patient_with_trial(gym.store, "B-2", seed=1)
    gym.sync_once()
    gym.store.close()
    data_dir = tmp_path / "gym"
    for name in ("station.sqlite3-wal", "station.sqlite3-shm"):
        (data_dir / name).unlink(missing_ok=True)
    shutil.copy(backup, data_dir / "station.sqlite3")
    gym.store = Store.open(data_dir)
    monkeypatch.setenv("BALANCE_STATION_CONFIG", "")
    assert main(["sync", "--restored-from", str(backup), "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "until the hub's administrator confirms it" in out and "confirm-restore" in out


def test_a_restored_station_waits_for_the_confirmation_in_words_then_syncs(hub_store, station_factory, pg_url,
                                                                            tmp_path, monkeypatch, capsys):
    from test_sync_station_restore import _healthz, _lose_the_card

    gym = station_factory("gym")
    backup = _lose_the_card(gym, tmp_path)
    store_backup.restore_backup(tmp_path / "gym", backup)
    gym.store = Store.open(tmp_path / "gym")
    with gym.store.db.read() as conn:
        mark = restore_marks.read(conn)["id"]
    _patient_with_trial(gym.store, "B-3", seed=3)
    before = _mapping(hub_store)
    with pytest.raises(HubRefused):
        StationSync(gym.store, gym.client).sync_once()
    assert _mapping(hub_store) == before and gym.store.outbox.length() > 0  # nothing pushed, nothing forgotten
    doc = _healthz(gym)
    assert doc["state"] == "degraded" and "confirm-restore NAME` on the hub" in doc["reason"]
    monkeypatch.setenv("BALANCE_STATION_CONFIG", "")
    assert main(["sync", "--show-blocked", "--data-dir", str(tmp_path / "gym")]) == 0
    out = capsys.readouterr().out
    assert "the hub holds its notice until the hub's administrator confirms it" in out and f"restore {mark[:8]}" in out
    assert main(["hub", "stations", "list", "--database", pg_url, "--data-dir", str(tmp_path / "hub")]) == 0
    assert f"restore {mark[:8]}" in capsys.readouterr().out  # the same restore as the station names
    assert main(["hub", "stations", "confirm-restore", "gym", "--database", pg_url,
                 "--data-dir", str(tmp_path / "hub")]) == 0
    assert "(3 changes it had from the lost database after the backup: their records stay on the hub as they are)" \
        in capsys.readouterr().out
    report = StationSync(gym.store, gym.client).sync_once()
    assert report.queue_length == 0 and report.restore_told["forgotten"] == 3
    assert len(hub_trials(hub_store, "B-3")) == 1 and len(hub_trials(hub_store, "B-2")) == 1
    assert _healthz(gym)["state"] == "ok"


def test_a_mark_whose_records_above_it_the_hub_holds_as_they_are_is_refused(hub_store, station_factory, monkeypatch,
                                                                           capsys):
    """An older backup marked by hand where the station kept no acknowledged number (the check of
    --restored-from cannot tell): the station shows the hub its visits and trials above the mark;
    the hub maps them with the same start, so nothing was lost: refused, nothing kept or forgotten."""
    gym = station_factory("gym")
    _patient_with_trial(gym.store, "A-1")
    gym.sync_once()
    early = store_backup.create_backup(gym.store.data_dir, 1_800_000_000).path
    _patient_with_trial(gym.store, "A-2", 1)
    gym.sync_once()
    with gym.store.db.write() as conn:  # a station from before it kept the acknowledged number
        conn.execute("DELETE FROM settings WHERE key = 'sync_acknowledged_through'")
    monkeypatch.setenv("BALANCE_STATION_CONFIG", "")
    assert main(["sync", "--restored-from", str(early), "--data-dir", str(gym.store.data_dir)]) == 0
    capsys.readouterr()
    before = _mapping(hub_store)
    with pytest.raises(HubRefused) as refused:  # the old code: taken, and A-2's visit and trial came twice
        StationSync(gym.store, gym.client).sync_once()
    assert refused.value.status == 409 and "still holds its visit #2 as the hub has it" in str(refused.value)
    assert "`balance-station sync --not-restored`" in str(refused.value)
    assert _mapping(hub_store) == before and Hub(hub_store).stations()[0]["restore_pending"] is None
    assert main(["sync", "--not-restored", "--data-dir", str(gym.store.data_dir)]) == 0
    assert "the restore mark was dropped" in capsys.readouterr().out
    report = StationSync(gym.store, gym.client).sync_once()
    assert report.restore_told is None and report.sent == {} and report.offered_again == 0
    assert _count(hub_store, "SELECT count(*) FROM trials") == 2 and _count(hub_store, "SELECT count(*) FROM sessions") == 2
