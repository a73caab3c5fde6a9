"""``balance-station hub``: serves the web app on PostgreSQL; a missing, wrong or unreachable
database is one line that never shows the password."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from station.cli import main
from station.store.migrations import LATEST_VERSION

from free_ports import free_port as _free_port

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "s3cret-hub-pw"


def _run(argv, capsys, monkeypatch) -> tuple[int, str]:
    monkeypatch.delenv("BALANCE_STATION_DATABASE", raising=False)
    monkeypatch.setenv("BALANCE_STATION_CONFIG", "")
    status = main(argv)
    return status, capsys.readouterr().err


def test_no_database_says_how_to_give_one(tmp_path, capsys, monkeypatch):
    status, err = _run(["hub", "--data-dir", str(tmp_path / "d"), "--port", str(_free_port())],
                       capsys, monkeypatch)
    assert status == 1 and err.count("\n") == 1
    assert "give the hub's database: --database postgresql://" in err and "BALANCE_STATION_DATABASE" in err


def test_not_a_postgres_url_is_refused_without_its_password(tmp_path, capsys, monkeypatch):
    status, err = _run(["hub", "--database", f"mysql://hub:{PASSWORD}@db/x", "--data-dir", str(tmp_path / "d")],
                       capsys, monkeypatch)
    assert status == 1 and err.count("\n") == 1 and PASSWORD not in err
    assert "must be a PostgreSQL URL" in err


def test_unreachable_database_is_one_line_without_the_password(tmp_path, capsys, monkeypatch):
    url = f"postgresql://hub:{PASSWORD}@127.0.0.1:{_free_port()}/balance"
    status, err = _run(["hub", "--database", url, "--data-dir", str(tmp_path / "d"), "--port", str(_free_port())],
                       capsys, monkeypatch)
    warning, err = err.split("\n", 1)  # first the warning: a password on the command line
    assert "warning: the password in --database is on the command line" in warning
    assert status == 1 and err.count("\n") == 1 and PASSWORD not in warning + err
    assert err.startswith("balance-station hub: cannot connect to the database postgresql://hub:***@127.0.0.1:")
    assert "check that PostgreSQL runs" in err


def test_hub_serves_the_app_on_postgres_and_stops_on_sigterm(tmp_path, pg_cluster, pg_empty_url):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALANCE_STATION")}
    env["BALANCE_STATION_DATABASE"] = pg_empty_url  # from the environment: not on the command line
    proc = subprocess.Popen(
        [sys.executable, "-m", "station.cli", "hub", "--port", str(port), "--data-dir", str(tmp_path / "hub")],
        cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        assert "balance-station hub: serving on" in line, line
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/session", timeout=10) as response:
            assert response.status == 200 and json.loads(response.read())["setup_required"] is True
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rest = proc.communicate(timeout=30)[1]
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0 and "stopped" in rest
    assert pg_cluster.password not in line + rest and "postgresql://balance:***@127.0.0.1" in line
    import psycopg

    with psycopg.connect(pg_empty_url) as conn:  # migrated to the station's latest schema, a hub
        assert conn.execute("SELECT version FROM station_schema_version").fetchone()[0] == LATEST_VERSION
        assert conn.execute("SELECT role FROM sync_identity").fetchone()[0] == "hub"
    assert not (tmp_path / "hub" / "station.sqlite3").exists()


def test_users_manage_the_hubs_accounts_with_database(tmp_path, capsys, monkeypatch, pg_url):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse battery staple\n"))
    status, err = _run(["users", "add", "hubadmin", "--role", "admin", "--database", pg_url,
                        "--data-dir", str(tmp_path / "hub")], capsys, monkeypatch)
    assert status == 0, err
    status, err = _run(["users", "list", "--database", pg_url, "--data-dir", str(tmp_path / "hub")], capsys, monkeypatch)
    assert status == 0
    from station.store.store import Store

    with Store.open(tmp_path / "hub", database=pg_url) as store:  # on the hub's database, not a SQLite file
        assert [u["username"] for u in store.users.list()] == ["hubadmin"]
    assert not (tmp_path / "hub" / "station.sqlite3").exists()
