"""A restore notice posted with a stolen station token and confirmed by the hub's administrator
(the further guard after R3 finding 1): the hub names the confirmed restore in its answers, the
station that never sent it stops before it pushes or takes anything, in words, and the
administrator's ``withdraw-restore`` puts back what the hub forgot and gives the station a new
token: nothing comes twice, nothing is lost."""

from __future__ import annotations

import time

import pytest

from station.cli import main
from station.store import backup as store_backup
from station.store import restore_marks
from station.store.store import Store
from station.sync.client import HubClient, HubRefused
from station.sync.hub import Hub
from station.sync.station_restore import PATH
from station.sync.syncer import StationSync

from sync_support import HUB_URL, add_trial, hub_trials
from test_sync_restore_confirm import ZERO, _count, _mapping, _patient_with_trial

FORGED = "f0f0f0f0deadbeef"


def _forge_and_confirm(gym, hub_store, pg_url, tmp_path, capsys):
    """A stolen token posts a notice of its own making; the administrator confirms it."""
    with pytest.raises(HubRefused):
        gym.client.request("POST", PATH, body={"station_id": gym.store.outbox.station_id, "restored": {
            "id": FORGED, "seq": 0, "queued_from": None, "ids": ZERO}})
    assert main(["hub", "stations", "confirm-restore", "gym", "--database", pg_url,
                 "--data-dir", str(tmp_path / "hub")]) == 0
    capsys.readouterr()


def _station_counts(store):
    with store.db.read() as conn:
        return (conn.execute("SELECT count(*) FROM sessions").fetchone()[0],
                conn.execute("SELECT count(*) FROM trials").fetchone()[0])


def test_a_confirmed_notice_the_station_never_sent_stops_it_and_withdrawing_puts_everything_back(
        hub_store, station_factory, pg_url, tmp_path, monkeypatch, capsys):
    from test_sync_station_restore import _healthz

    gym = station_factory("gym")
    patient, session = _patient_with_trial(gym.store, "A-1")
    gym.sync_once()
    before = _mapping(hub_store)
    _forge_and_confirm(gym, hub_store, pg_url, tmp_path, capsys)
    assert _mapping(hub_store)[0] < before[0]  # the hub forgot which records are gym's

    add_trial(gym.store, session["id"], 300, 5)  # recorded meanwhile
    with pytest.raises(HubRefused) as stopped:  # the old code: gym's trial came back as "recorded elsewhere"
        gym.sync_once()
    words = str(stopped.value)
    assert "a restore notice this station never sent (restore f0f0f0f0" in words
    assert "token may have been stolen" in words and "withdraw-restore NAME --mark f0f0f0f0" in words
    assert "nothing was pushed or taken" in words
    assert len(hub_trials(hub_store, "A-1")) == 1 and _count(hub_store, "SELECT count(*) FROM sessions") == 1
    assert _station_counts(gym.store) == (1, 2) and gym.store.outbox.length() > 0
    doc = _healthz(gym)
    assert doc["state"] == "degraded" and "never sent" in doc["reason"] and "withdraw-restore NAME" in doc["reason"]
    assert "A-1" not in doc["reason"]
    monkeypatch.setenv("BALANCE_STATION_CONFIG", "")
    assert main(["sync", "--show-blocked", "--data-dir", str(tmp_path / "gym")]) == 0
    out = capsys.readouterr().out
    assert "that this station never sent" in out and "restore f0f0f0f0" in out

    # the administrator withdraws it: the hub's mapping as before, a new token
    assert main(["hub", "stations", "withdraw-restore", "gym", "--mark", "f0f0f0f0", "--database", pg_url,
                 "--data-dir", str(tmp_path / "hub")]) == 0
    out = capsys.readouterr().out
    assert "the confirmation of restore f0f0f0f0 was withdrawn (audited)" in out
    token = out.strip().splitlines()[-1]
    assert token.startswith("bst_")
    assert _mapping(hub_store) == before
    [entry] = hub_store.audit.query(action="sync.restore_withdrawn")
    assert entry["detail"]["restore"] == "f0f0f0f0" and entry["detail"]["changes_since"] == 0
    with pytest.raises(HubRefused) as old_token:
        gym.sync_once()
    assert old_token.value.status == 401

    client = HubClient(HUB_URL, token, transport=gym.client._send)
    report = StationSync(gym.store, client).sync_once()
    assert report.queue_length == 0 and report.offered_again == 0 and not report.hub_restored
    assert report.pulled_trials == 0 and report.sent == {"trial": 1}
    assert len(hub_trials(hub_store, "A-1")) == 2 and _count(hub_store, "SELECT count(*) FROM sessions") == 1
    assert _station_counts(gym.store) == (1, 2)
    # the forged notice again (say, from the old token's holder before the revocation): refused, nothing changes
    assert main(["hub", "stations", "withdraw-restore", "gym", "--database", pg_url,
                 "--data-dir", str(tmp_path / "hub")]) == 1
    assert "no confirmed restore this hub can withdraw" in capsys.readouterr().err
    with pytest.raises(HubRefused) as again:
        client.request("POST", PATH, body={"station_id": gym.store.outbox.station_id, "restored": {
            "id": FORGED, "seq": 0, "queued_from": None, "ids": ZERO}})
    assert "withdrew the confirmation of restore f0f0f0f0" in str(again.value)


def test_a_push_that_does_not_name_the_confirmed_restore_is_refused(hub_store, station_factory, pg_url, tmp_path,
                                                                   capsys):
    """A confirmation made between two requests of one sync: the push names the station's own
    restores, which do not hold the forged one, and nothing of it is applied."""
    gym = station_factory("gym")
    _patient_with_trial(gym.store, "A-1")
    gym.sync_once()
    _forge_and_confirm(gym, hub_store, pg_url, tmp_path, capsys)
    _patient_with_trial(gym.store, "A-2", 1)
    gym._apply_tombstones = lambda report: None  # its first request came before the confirmation
    with pytest.raises(HubRefused) as refused:
        gym.client.answer_check = None  # the station's own check of the answers would stop it first
        gym.sync_once()
    assert refused.value.status == 409 and "a restore notice this station never sent" in str(refused.value)
    assert _count(hub_store, "SELECT count(*) FROM patients") == 1 and _count(hub_store, "SELECT count(*) FROM trials") == 1


def test_a_restored_station_that_sent_its_notice_syncs_after_the_confirmation(hub_store, station_factory, pg_url,
                                                                              tmp_path, capsys):
    """The guard does not stop a real restore: the station kept the id it sent, and the hub names it."""
    from test_sync_station_restore import _lose_the_card

    gym = station_factory("gym")
    backup = _lose_the_card(gym, tmp_path)
    store_backup.restore_backup(tmp_path / "gym", backup)
    gym.store = Store.open(tmp_path / "gym")
    with pytest.raises(HubRefused):
        StationSync(gym.store, gym.client).sync_once()  # waits for the confirmation
    assert main(["hub", "stations", "confirm-restore", "gym", "--database", pg_url,
                 "--data-dir", str(tmp_path / "hub")]) == 0
    sync = StationSync(gym.store, gym.client)
    report = sync.sync_once()
    assert report.restore_told is not None and report.queue_length == 0
    with gym.store.db.read() as conn:
        mark = restore_marks.read(conn)["id"]
        assert mark in restore_marks.own_ids(conn)
    assert gym.client.request("GET", "/api/hub/tombstones", query={"after": 0, "keyed": 1})["confirmed_restore"] == mark
    sync.sync_once()  # and again: nothing stops it


class _OlderHub:
    """The network to a hub whose software is older than restore notices: it answers their POST
    404 and names no version in its erasure answers, until ``updated``."""

    def __init__(self, transport):
        self.transport, self.updated, self.notices = transport, False, 0

    def __call__(self, method, url, headers, body):
        import json

        if url.endswith(PATH):
            self.notices += 1
            if not self.updated:
                return 404, b'{"error": "not found"}'
        status, data = self.transport(method, url, headers, body)
        if not self.updated and "/api/hub/tombstones" in url and status == 200:
            doc = json.loads(data)
            doc.pop("hub_version", None)
            doc.pop("confirmed_restore", None)
            data = json.dumps(doc).encode()
        return status, data


def test_an_older_hub_is_told_the_restore_once_a_day_or_when_its_software_changes(hub_store, station_factory,
                                                                                  tmp_path, capsys):
    from station.sync.client import SyncError
    from sync_support import CHEAP, WallClock
    from test_sync_station_restore import _lose_the_card

    wall = WallClock()
    gym = station_factory("gym", wall=wall)
    backup = _lose_the_card(gym, tmp_path)
    store_backup.restore_backup(tmp_path / "gym", backup)
    gym.store = Store.open(tmp_path / "gym", wall_clock=wall, password_cost=CHEAP)
    older = _OlderHub(gym.client._send)
    client = HubClient(HUB_URL, gym.client._token, transport=older)
    sync = StationSync(gym.store, client)

    def once():
        try:
            return sync.sync_once().lines()
        except SyncError as exc:  # the older hub refuses the restored station's numbers, in words
            return [str(exc)]

    once()
    assert older.notices == 1
    said = capsys.readouterr().err
    assert said.count("older than restored stations' notices") == 1 and "once a day" in said
    for _ in range(3):  # the old code: sent again at every sync
        wall.advance(600)
        once()
    assert older.notices == 1 and "older than restored" not in capsys.readouterr().err
    wall.advance(86_400)
    once()
    assert older.notices == 2 and "older than restored" not in capsys.readouterr().err  # said once
    older.updated = True  # the hub's software is updated: its erasure answers name its version
    once()  # this sync sees the version (told at the one after: its notice goes first)
    with pytest.raises(HubRefused) as waiting:
        sync.sync_once()
    assert older.notices == 3 and "until the hub's administrator confirms it" in str(waiting.value)


def test_restored_from_an_older_backup_when_nothing_after_it_was_acknowledged_is_refused_by_the_hub(
        hub_store, station_factory, tmp_path, monkeypatch, capsys):
    """The database came back from backup B2, and the operator names the older B1: the changes made
    between them were not acknowledged when B2 was taken (the station was offline), so
    `--restored-from` cannot tell. The lost database pushed them later: the hub holds them with the
    same numbers and times as the database queues them above B1's mark, so they were not lost and
    the hub refuses the mark (before, a training game, which shows no visit or trial, came twice)."""
    import shutil

    from test_sync_training import _play

    gym = station_factory("gym")
    patient, _ = _patient_with_trial(gym.store, "A-1")
    gym.sync_once()
    early = store_backup.create_backup(gym.store.data_dir, 1_800_000_000).path  # B1
    _play(gym.store, patient["id"], None, 1.0)  # offline: queued, not acknowledged
    late = store_backup.create_backup(gym.store.data_dir, 1_800_000_100).path  # B2
    gym.sync_once()  # the lost database pushes the game
    assert _count(hub_store, "SELECT count(*) FROM training_sessions") == 1
    gym.store.close()
    data_dir = tmp_path / "gym"
    for name in ("station.sqlite3-wal", "station.sqlite3-shm"):
        (data_dir / name).unlink(missing_ok=True)
    shutil.copy(late, data_dir / "station.sqlite3")  # put back by hand from B2
    gym.store = Store.open(data_dir)
    monkeypatch.setenv("BALANCE_STATION_CONFIG", "")
    assert main(["sync", "--restored-from", str(early), "--data-dir", str(data_dir)]) == 0  # cannot tell here
    capsys.readouterr()
    before = _mapping(hub_store)
    with pytest.raises(HubRefused) as refused:  # the old code: held for confirmation, then the game came twice
        StationSync(gym.store, gym.client).sync_once()
    words = str(refused.value)
    assert refused.value.status == 409 and "still holds its change #" in words
    assert "as the hub applied it from the station (the same change, made at the same time)" in words
    assert "was not restored from that backup" in words and "`balance-station sync --restored-from BACKUP`" in words
    assert _mapping(hub_store) == before and Hub(hub_store).stations()[0]["restore_pending"] is None
    # marked with the right backup, B2: held for the administrator as a restore is
    assert main(["sync", "--not-restored", "--data-dir", str(data_dir)]) == 0
    assert main(["sync", "--restored-from", str(late), "--data-dir", str(data_dir)]) == 0
    with pytest.raises(HubRefused) as waiting:
        StationSync(gym.store, gym.client).sync_once()
    assert "until the hub's administrator confirms it" in str(waiting.value)
    assert _count(hub_store, "SELECT count(*) FROM training_sessions") == 1


def test_a_notice_with_a_hundred_visits_trials_and_changes_above_its_mark_is_taken(hub_store, station_factory):
    """The notice names up to 100 visits, 100 trials and 100 queued changes: the hub's 4 kB bound
    refused one with about 60 (413), so a restored station that recorded that much could never tell it."""
    gym = station_factory("gym")
    stamp = "2026-12-06T01:02:03.456789Z"
    with pytest.raises(HubRefused) as held:  # the old code: 413, request body too large
        gym.client.request("POST", PATH, body={
            "station_id": gym.store.outbox.station_id,
            "restored": {"id": "ab" * 16, "seq": 10**6, "queued_from": None, "ids": {e: 10**6 for e in ZERO}},
            "held": {"session": [[10**6 + i, stamp] for i in range(1, 101)],
                     "trial": [[10**6 + i, stamp] for i in range(1, 101)]},
            "queued": [[10**6 + i, stamp] for i in range(1, 101)]})
    assert held.value.status == 409 and "until the hub's administrator confirms it" in str(held.value)


def _restored_and_confirmed(gym, pg_url, tmp_path):
    """The card dies, the station is restored from its backup (restore A), the hub's administrator
    confirms A and the station syncs; returns the backup's path."""
    from test_sync_station_restore import _lose_the_card

    backup = _lose_the_card(gym, tmp_path)
    store_backup.restore_backup(tmp_path / "gym", backup)
    gym.store = Store.open(tmp_path / "gym")
    with pytest.raises(HubRefused):
        StationSync(gym.store, gym.client).sync_once()
    assert main(["hub", "stations", "confirm-restore", "gym", "--database", pg_url,
                 "--data-dir", str(tmp_path / "hub")]) == 0
    StationSync(gym.store, gym.client).sync_once()
    return backup


def test_a_database_put_back_from_before_its_confirmed_restore_is_told_it_went_back(hub_store, station_factory,
                                                                                  pg_url, tmp_path, capsys):
    """The hub names restore A, which a database put back by hand from a backup older than A does not
    hold: that is a database gone back in time (the hub holds more of its changes than it made), said
    so with what to do, not a stolen token."""
    import shutil

    from station.sync.client import SyncError
    gym = station_factory("gym")
    backup = _restored_and_confirmed(gym, pg_url, tmp_path)  # restore A
    _patient_with_trial(gym.store, "B-4", seed=4)
    StationSync(gym.store, gym.client).sync_once()
    gym.store.close()
    data_dir = tmp_path / "gym"
    for name in ("station.sqlite3-wal", "station.sqlite3-shm"):
        (data_dir / name).unlink(missing_ok=True)
    shutil.copy(backup, data_dir / "station.sqlite3")  # by hand, from before restore A
    gym.store = Store.open(data_dir)
    with pytest.raises(SyncError) as stopped:
        StationSync(gym.store, gym.client).sync_once()
    assert "more than this database ever made" in str(stopped.value) and "--restored-from" in str(stopped.value)
    assert "never sent" not in str(stopped.value)


def test_a_second_restore_from_a_backup_older_than_the_first_keeps_the_first_as_its_own(hub_store, station_factory,
                                                                                      pg_url, tmp_path, capsys):
    """Restore A (confirmed), then ``restore`` again from the same backup, older than A: the database
    it replaces sent A, so the restored one knows A as its own. Its notice B waits for the hub's
    administrator in the hub's words (not "never sent", not "went back"), and once B is confirmed the
    station syncs."""
    gym = station_factory("gym")
    backup = _restored_and_confirmed(gym, pg_url, tmp_path)  # restore A
    with gym.store.db.read() as conn:
        first = restore_marks.read(conn)["id"]
    gym.store.close()
    store_backup.restore_backup(tmp_path / "gym", backup, now_s=time.time() + 2)  # restore B, from before A
    gym.store = Store.open(tmp_path / "gym")
    with gym.store.db.read() as conn:
        assert first in restore_marks.own_ids(conn)
    with pytest.raises(HubRefused) as held:
        StationSync(gym.store, gym.client).sync_once()
    assert held.value.status == 409 and "until the hub's administrator confirms it" in str(held.value)
    assert "never sent" not in str(held.value)
    assert main(["hub", "stations", "confirm-restore", "gym", "--database", pg_url,
                 "--data-dir", str(tmp_path / "hub")]) == 0
    report = StationSync(gym.store, gym.client).sync_once()
    assert report.restore_told is not None and report.queue_length == 0
