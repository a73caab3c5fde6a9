"""``balance-station backup / restore / check`` with ``--database postgresql://...`` (the hub), and
``check`` on a station's SQLite: one line for every refusal, never the password, exit 1 on problems."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest

from station.cli import main
from station.store.audit import Actor
from station.store.migrations import LATEST_VERSION
from station.store.passwords import ScryptCost
from station.store.store import Store

from postgres_cluster import _free_port

ANA = Actor(2, "ana", "10.0.0.7")
CHEAP_COST = ScryptCost(log2_n=4, r=8, p=1)


def _run(argv, capsys, monkeypatch, database=None) -> tuple[int, str, str]:
    """``main(argv)`` with the hub's URL (``database``) in the environment, where its password is
    not on a command line (``--database`` with a password warns)."""
    if database:
        monkeypatch.setenv("BALANCE_STATION_DATABASE", database)
    else:
        monkeypatch.delenv("BALANCE_STATION_DATABASE", raising=False)
    monkeypatch.setenv("BALANCE_STATION_CONFIG", "")
    status = main(argv)
    out = capsys.readouterr()
    return status, out.out, out.err


def _patient(data_dir, identifier, url=None) -> None:
    store = Store.open(data_dir, database=url, password_cost=CHEAP_COST)
    try:
        store.patients.create({"identifier": identifier, "birth_year": 1950, "sex": "M"}, actor=ANA)
    finally:
        store.close()


def test_hub_backup_list_restore_and_check(pg_cluster, pg_url, tmp_path, capsys, monkeypatch):
    data_dir = tmp_path / "hub"
    password = psycopg.conninfo.conninfo_to_dict(pg_url)["password"]
    _patient(data_dir, "H-1", pg_url)
    status, out, err = _run(["backup", "--data-dir", str(data_dir)], capsys, monkeypatch, pg_url)
    assert status == 0, err
    assert out.startswith(f"backup written: {data_dir}/backups/hub-") and password not in out + err
    status, out, _ = _run(["backup", "--list", "--data-dir", str(data_dir)], capsys, monkeypatch, pg_url)
    assert status == 0 and ".pgdump" in out and "h old" in out
    backup = out.split()[0]
    status, out, _ = _run(["backup", "--if-due", "--data-dir", str(data_dir)], capsys, monkeypatch, pg_url)
    assert status == 0 and out.startswith("no backup due")
    _patient(data_dir, "H-2", pg_url)

    status, out, err = _run(["restore", backup, "--data-dir", str(data_dir)], capsys,
                            monkeypatch, pg_url)  # no terminal, no --yes
    assert status == 1 and "add --yes" in err and err.count("\n") == 1
    assert f"{backup}: hub backup, schema {LATEST_VERSION}" in out  # what it holds, shown before asking
    status, out, err = _run(["restore", backup, "--yes", "--data-dir", str(data_dir)], capsys, monkeypatch, pg_url)
    assert status == 0, err
    assert "1 patients" in out and "every check passed" in out and "hub-pre-restore-" in out
    assert password not in out + err
    with psycopg.connect(pg_url) as conn:
        assert [r[0] for r in conn.execute("SELECT identifier FROM patients")] == ["H-1"]

    status, out, _ = _run(["check", "--data-dir", str(data_dir)], capsys, monkeypatch, pg_url)
    assert status == 0 and ": ok (schema, triggers" in out and password not in out

    tampered = pg_cluster.create_database("cli_check_tampered")  # not the shared database: its triggers stay
    try:
        _patient(tmp_path / "tampered", "T-1", tampered)
        with psycopg.connect(tampered, autocommit=True) as conn:
            conn.execute("DROP TRIGGER audit_log_no_update ON audit_log")
        status, out, _ = _run(["check", "--data-dir", str(data_dir)], capsys, monkeypatch, tampered)
        assert status == 1 and "missing trigger audit_log_no_update" in out
    finally:
        pg_cluster.drop_database("cli_check_tampered")


def test_hub_backup_refusals_are_one_line_without_the_password(tmp_path, capsys, monkeypatch):
    secret = "s3cret-backup-pw"
    unreachable = f"postgresql://hub:{secret}@127.0.0.1:{_free_port()}/balance"
    for argv in (["backup", "--database", unreachable], ["check", "--database", unreachable],
                 ["restore", str(tmp_path / "x.pgdump"), "--yes", "--database", unreachable],
                 ["backup", "--database", f"mysql://hub:{secret}@db/x"]):
        status, out, err = _run(argv + ["--data-dir", str(tmp_path)], capsys, monkeypatch)
        err = "".join(line for line in err.splitlines(True) if "warning: the password in --database" not in line)
        assert status == 1 and err.count("\n") == 1 and secret not in out + err, (argv, err)
        assert "cannot connect" in err or "must be a PostgreSQL URL" in err


def test_restore_of_a_file_that_is_not_a_hub_backup_changes_nothing(pg_url, tmp_path, capsys, monkeypatch):
    _patient(tmp_path / "hub", "H-1", pg_url)
    station_backup = tmp_path / "station.sqlite3"
    sqlite3.connect(station_backup).close()
    status, _, err = _run(["restore", str(station_backup), "--yes", "--data-dir",
                           str(tmp_path / "hub")], capsys, monkeypatch, pg_url)
    assert status == 1 and "not a PostgreSQL custom-format dump" in err and "nothing was changed" in err
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM patients").fetchone()[0] == 1


def test_station_check_ok_then_finds_frames_missing(tmp_path, capsys, monkeypatch):
    data_dir = tmp_path / "station"
    _patient(data_dir, "S-1")
    status, out, _ = _run(["check", "--data-dir", str(data_dir)], capsys, monkeypatch)
    assert status == 0 and out.endswith(": ok (schema, triggers, references, frame counts)\n")
    conn = sqlite3.connect(data_dir / "station.sqlite3")
    conn.execute("DROP TRIGGER audit_log_no_delete")
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("INSERT INTO sessions (patient_id, started_at, created_by) VALUES (77, '2026-01-01T00:00:00Z', 'x')")
    conn.commit()
    conn.close()
    status, out, _ = _run(["check", "--data-dir", str(data_dir)], capsys, monkeypatch)
    assert status == 1
    assert "missing trigger audit_log_no_delete" in out and "1 rows of sessions refer to rows that are gone" in out
    status, _, err = _run(["check", "--data-dir", str(tmp_path / "empty")], capsys, monkeypatch)
    assert status == 1 and "no database here" in err


def test_station_restore_refuses_a_backup_whose_trial_lost_frames(tmp_path, capsys, monkeypatch):
    from station.store.backup import CorruptDatabase, create_backup, inspect_database

    data_dir = tmp_path / "station"
    store = Store.open(data_dir, password_cost=CHEAP_COST)
    try:
        patient = store.patients.create({"identifier": "S-1", "birth_year": 1950, "sex": "M"}, actor=ANA)
        session = store.sessions.create(patient["id"], {"label": "v"}, actor=ANA)
        writer = store.trials.start_trial(session["id"], "romberg", "eyes_open", {"method": "nominal"}, 100.0,
                                          actor=ANA)
        import numpy as np

        from station.acquire.frame import empty_frames

        frames = empty_frames(300)
        frames["seq"] = np.arange(300)
        frames["fz_n"] = 700.0
        writer.append(frames)
        writer.finish({"fs_hz": 100.0, "samples": 300, "profile": "station", "version": "t", "metrics": {}}, True)
    finally:
        store.close()
    info = create_backup(data_dir)
    assert inspect_database(info.path).trials == 1
    conn = sqlite3.connect(info.path)
    conn.execute("DELETE FROM trial_chunks")  # frames gone, the trial still says 300
    conn.commit()
    conn.close()
    with pytest.raises(CorruptDatabase, match="0 frames stored, its frame count says 300"):
        inspect_database(info.path)
    status, _, err = _run(["restore", str(info.path), "--yes", "--data-dir", str(data_dir)], capsys, monkeypatch)
    assert status == 1 and "choose another backup" in err and err.count("\n") == 1
