"""The commands: `hub stations add/list/revoke`, `sync --once` against a real hub process over HTTP
on the loopback (PostgreSQL), the background worker's backoff, and /healthz's sync state."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from station.cli import main
from station.store.store import Store
from station.sync.client import HubClient
from station.sync.syncer import StationSync, SyncWorker
from web import create_app

from sync_support import CHEAP, CLINICIAN, add_trial
from free_ports import free_port as _free_port


def _wait_listening(port: int, process: subprocess.Popen, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the hub exited: {process.stderr.read().decode()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the hub did not start listening")


def test_hub_stations_and_sync_once_against_a_running_hub(pg_url, tmp_path, capsys):
    assert main(["hub", "stations", "add", "gym", "--database", pg_url, "--data-dir", str(tmp_path / "hub")]) == 0
    out = capsys.readouterr().out
    token = out.strip().splitlines()[-1]
    assert "shown only now" in out and len(token) >= 40 and token.startswith("bst_")
    assert main(["hub", "stations", "add", "gym", "--database", pg_url]) == 1
    assert "exists" in capsys.readouterr().err

    station_dir = tmp_path / "station"
    with Store.open(station_dir, password_cost=CHEAP) as store:
        patient = store.patients.create({"identifier": "P-CLI", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
        session = store.sessions.create(patient["id"], {}, actor=CLINICIAN)
        add_trial(store, session["id"], 900)

    port = _free_port()
    hub = subprocess.Popen([sys.executable, "-m", "station.cli", "hub", "--database", pg_url, "--port", str(port),
                            "--data-dir", str(tmp_path / "hub")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           env={**os.environ, "BALANCE_STATION_CONFIG": os.devnull})
    try:
        _wait_listening(port, hub)
        url = f"http://127.0.0.1:{port}"
        assert main(["sync", "--once", "--hub", url, "--hub-token", token, "--data-dir", str(station_dir)]) == 0
        out = capsys.readouterr().out
        assert "sent 1 patient, 1 session, 1 trial (1 frame part uploaded" in out
        assert "0 changes left in the queue" in out
        assert main(["sync", "--once", "--hub", url, "--hub-token", token, "--data-dir", str(station_dir)]) == 0
        assert "sent nothing" in capsys.readouterr().out
        assert main(["sync", "--once", "--hub", url, "--hub-token", "not-a-token", "--data-dir", str(station_dir)]) == 1
        err = capsys.readouterr().err
        assert "HTTP 401" in err and "Traceback" not in err
    finally:
        hub.terminate()
        hub.wait(30)
    assert main(["hub", "stations", "list", "--database", pg_url]) == 0
    listed = capsys.readouterr().out
    assert listed.startswith("gym\tactive") and "queue 0" in listed
    assert main(["hub", "stations", "revoke", "gym", "--database", pg_url]) == 0
    assert main(["hub", "stations", "list", "--database", pg_url]) == 0
    assert "gym\trevoked" in capsys.readouterr().out
    with Store.open(tmp_path / "check", database=pg_url) as hub_store:
        [trial] = [t for s in hub_store.patients.view(hub_store.patients.get_by_identifier("P-CLI")["id"],
                                                      actor=CLINICIAN)["sessions"] for t in s["trials"]]
        assert trial["frame_count"] == 900


def test_sync_once_says_what_is_missing_in_one_line(tmp_path, capsys):
    assert main(["sync", "--once", "--data-dir", str(tmp_path / "s"), "--config", os.devnull]) == 1
    assert "no hub configured" in capsys.readouterr().err
    assert main(["sync", "--once", "--hub", "http://10.0.0.9", "--hub-token", "t", "--data-dir",
                 str(tmp_path / "s"), "--config", os.devnull]) == 1
    assert "plain HTTP to another machine" in capsys.readouterr().err
    assert main(["sync", "--once", "--hub", "http://127.0.0.1:9", "--hub-token", "t", "--data-dir",
                 str(tmp_path / "s"), "--config", os.devnull]) == 1
    err = capsys.readouterr().err
    assert "cannot reach the hub" in err and len(err.strip().splitlines()) == 1


class _Down:
    def __call__(self, method, url, headers, body):
        raise OSError("network is unreachable")


class _Broken:
    def __call__(self, method, url, headers, body):
        raise RuntimeError("a bug")


def test_the_worker_backs_off_while_the_hub_is_unreachable_and_healthz_shows_the_queue(tmp_path, capsys):
    store = Store.open(tmp_path / "s", password_cost=CHEAP)
    try:
        store.patients.create({"identifier": "P-Q", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
        sync = StationSync(store, HubClient("https://hub.example", "token", transport=_Down()))
        worker = SyncWorker(sync, interval_s=10, max_backoff_s=60)
        assert [worker.step() for _ in range(5)] == [10, 20, 40, 60, 60]
        assert "cannot reach the hub" in worker.last_error
        assert capsys.readouterr().err.count("sync with the hub failed") == 1  # said once, not every retry
        broken = SyncWorker(StationSync(store, HubClient("https://hub.example", "t", transport=_Broken())),
                            interval_s=10, max_backoff_s=60)
        assert broken.step() == 60 and store.outbox.state()["last_error"] == "sync failed (RuntimeError); retrying in 60 s"
        worker.step()  # the hub still unreachable: its error is the last again
        app = create_app({"STORE": store, "SYNC": sync, "SECRET_KEY": "t", "PASSWORD_COST": CHEAP})
        doc = app.test_client().get("/healthz").get_json()
        assert doc["sync"]["hub"] is True and doc["sync"]["queue_length"] == 1
        assert doc["sync"]["last_sync_at"] is None and "cannot reach the hub" in doc["sync"]["last_error"]
        assert "P-Q" not in str(doc)
    finally:
        store.close()


def test_run_starts_the_background_sync_from_its_options_or_the_configuration(tmp_path, capsys):
    import argparse
    from dataclasses import replace

    from station.cli import UserError
    from station.commands.run import _start_sync
    from station.config import HubConfig, StationConfig

    store = Store.open(tmp_path / "s", password_cost=CHEAP)
    try:
        none = argparse.Namespace(hub=None, hub_token=None)
        assert _start_sync(none, StationConfig(), store) is None  # no hub: the station works alone
        with pytest.raises(UserError, match="needs both its url and this station's token"):
            _start_sync(argparse.Namespace(hub="https://hub.example", hub_token=None), StationConfig(), store)
        config = replace(StationConfig(), hub=HubConfig(url="https://hub.example", token="bst_x", interval_s=3600))
        worker = _start_sync(none, config, store)
        try:
            assert worker.sync.client.url == "https://hub.example" and worker.interval_s == 3600
            assert "syncing with the hub at https://hub.example every 3600 s" in capsys.readouterr().err
        finally:
            worker.stop()
        worker = _start_sync(argparse.Namespace(hub="http://127.0.0.1:9", hub_token="bst_y"), config, store)
        worker.stop()
        assert worker.sync.client.url == "http://127.0.0.1:9"  # the options win over the file
    finally:
        store.close()
