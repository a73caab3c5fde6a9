"""The words of ``sync --once``, ``hub``, ``restore`` and the hub's ``backup`` when they refuse
(findings 8, 15, 16 and 17 of session 23): each says what happened and what to do, and nothing that
does not apply to the command run."""

from __future__ import annotations

import os
import socket

from station.cli import main
from station.store.backup import create_backup
from station.store.db import acquire_service_lock
from station.store.store import Store


def _run(argv, capsys, monkeypatch, config: str = "") -> tuple[int, str, str]:
    monkeypatch.setenv("BALANCE_STATION_CONFIG", config)
    monkeypatch.delenv("BALANCE_STATION_DATABASE", raising=False)
    monkeypatch.delenv("BALANCE_STATION_HUB_TOKEN", raising=False)
    status = main(argv)
    out = capsys.readouterr()
    return status, out.out, out.err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sync_once_against_a_hub_that_is_down_says_to_run_it_again(tmp_path, capsys, monkeypatch):
    token = tmp_path / "token"
    token.write_text("bst_0123456789abcdef\n")
    token.chmod(0o600)
    status, _, err = _run(["sync", "--once", "--hub", f"http://127.0.0.1:{_free_port()}", "--hub-token-file",
                           str(token), "--data-dir", str(tmp_path / "data")], capsys, monkeypatch)
    assert status == 1 and err.count("\n") == 1
    assert "sync failed: cannot reach the hub at http://127.0.0.1:" in err
    assert "will retry" not in err  # the old code: "...; will retry", from a command that retries nothing
    assert err.rstrip().endswith("nothing queued is lost: run `balance-station sync --once` again later (a running "
                                 "station retries by itself)")


def test_a_hub_on_a_port_in_use_is_not_told_about_make_run(tmp_path, capsys, monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        status, _, err = _run(["hub", "--database", f"postgresql://hub@127.0.0.1:{_free_port()}/balance", "--host",
                               "127.0.0.1", "--port", str(port), "--data-dir", str(tmp_path / "hub")],
                              capsys, monkeypatch)
    assert status == 1 and f"port {port} on 127.0.0.1 is already in use" in err
    assert "make run" not in err and "--port 8001, or [web] port of the configuration" in err


def test_restore_while_the_station_runs_says_stop_it_first_once(tmp_path, capsys, monkeypatch):
    data = tmp_path / "data"
    Store.open(data).close()
    backup = create_backup(data).path
    lock = acquire_service_lock(data)  # the station service
    try:
        status, _, err = _run(["restore", str(backup), "--yes", "--data-dir", str(data)], capsys, monkeypatch)
    finally:
        os.close(lock)
    assert status == 1 and err.count("\n") == 1
    assert f"the station service is running on {data} (pid {os.getpid()}): stop it first" in err
    assert err.count("stop it") == 1 and "another --data-dir" not in err  # the old code nested the lock's words


def test_the_hubs_backup_without_its_data_directory_is_refused_naming_the_option(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = f"postgresql://hub@127.0.0.1:{_free_port()}/balance"
    for argv in (["backup", "--database", url], ["backup", "--list", "--database", url],
                 ["restore", str(tmp_path / "x.pgdump"), "--yes", "--database", url]):
        status, out, err = _run(argv, capsys, monkeypatch)
        assert status == 1 and "give the hub's data directory with --data-dir DIR" in err, (argv, out, err)
    assert not (tmp_path / "data").exists()  # the old code wrote (or listed) ./data/backups of this folder
    config = tmp_path / "hub.toml"
    config.write_text(f'data_dir = "{tmp_path / "hub-data"}"\n')
    status, _, err = _run(["backup", "--database", url], capsys, monkeypatch, config=str(config))
    assert status == 1 and "cannot connect" in err  # data_dir of the configuration is taken: on to the database


def test_restore_of_a_station_with_a_hub_says_the_hub_is_told(tmp_path, capsys, monkeypatch):
    data = tmp_path / "data"
    Store.open(data).close()
    backup = create_backup(data).path
    config = tmp_path / "station.toml"
    config.write_text(f'data_dir = "{data}"\n[hub]\nurl = "https://hub.clinic.example"\n')
    status, out, err = _run(["restore", str(backup), "--yes"], capsys, monkeypatch, config=str(config))
    assert status == 0, err
    assert "its next sync tells the hub that it was restored from this backup" in out
    from station.store import restore_marks
    with Store.open(data) as store, store.db.read() as conn:
        assert restore_marks.read(conn)["told"] is False
