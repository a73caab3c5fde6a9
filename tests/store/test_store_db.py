"""The database layer: WAL + synchronous=FULL, migrations, one-writer transactions, service lock,
file permissions, secret key."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading

import pytest

from station.store.audit import Actor
from station.store.db import DB_FILENAME, Database, DataDirLocked, StoreError, acquire_service_lock
from station.store.migrations import LATEST_VERSION, MIGRATIONS, Migration, migrate, schema_version
from station.store.secret import SECRET_KEY_FILENAME, load_or_create_secret_key
from station.store.store import Store

from clinic_data import sqlite_only


@sqlite_only
def test_database_file_is_named_for_backups_and_private(store):
    path = store.data_dir / DB_FILENAME
    assert DB_FILENAME == "station.sqlite3"
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.data_dir.stat().st_mode) == 0o700


@sqlite_only
def test_writer_uses_wal_and_full_sync(store):
    conn = store.db._writer
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1


def test_fresh_database_is_at_latest_schema(store):
    assert store.db.schema_version() == LATEST_VERSION
    catalog = ("SELECT tablename FROM pg_tables WHERE schemaname = 'public'" if store.is_hub
               else "SELECT name FROM sqlite_master WHERE type = 'table'")
    with store.db.read() as conn:
        if not store.is_hub:
            assert schema_version(conn) == LATEST_VERSION
        tables = {r[0] for r in conn.execute(catalog)}
    assert {"users", "login_sessions", "patients", "sessions", "trials", "trial_chunks", "audit_log", "settings"} <= tables


def test_migrate_is_idempotent_and_reports_nothing_to_do(tmp_path):
    conn = sqlite3.connect(tmp_path / "x.sqlite3", isolation_level=None)
    assert migrate(conn) == [m.version for m in MIGRATIONS]
    assert migrate(conn) == []
    assert schema_version(conn) == LATEST_VERSION


def test_failed_migration_leaves_nothing_behind(tmp_path):
    conn = sqlite3.connect(tmp_path / "x.sqlite3", isolation_level=None)
    broken = MIGRATIONS + (
        Migration(LATEST_VERSION + 1, "broken", ("CREATE TABLE extra (x INTEGER)", "THIS IS NOT SQL")),
    )
    with pytest.raises(StoreError, match=rf"migration {LATEST_VERSION + 1} \(broken\) failed"):
        migrate(conn, broken)
    assert schema_version(conn) == LATEST_VERSION
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'extra'").fetchone()[0] == 0


def test_database_from_newer_software_is_refused_untouched(tmp_path):
    data = tmp_path / "data"
    Store.open(data).close()
    conn = sqlite3.connect(data / DB_FILENAME)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 5}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer than this software"):
        Store.open(data)
    conn = sqlite3.connect(data / DB_FILENAME)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION + 5


def test_nested_write_is_a_savepoint(store):
    db = store.db
    with db.write() as conn:
        conn.execute("INSERT INTO settings (key, value, updated_at, updated_by) VALUES ('a', '1', 't', 'x')")
        with pytest.raises(RuntimeError):
            with db.write() as inner:
                inner.execute("INSERT INTO settings (key, value, updated_at, updated_by) VALUES ('b', '1', 't', 'x')")
                raise RuntimeError("inner fails")
        with db.read() as same:  # inside the write: sees its own uncommitted row
            assert [r[0] for r in same.execute("SELECT key FROM settings")] == ["a"]
    with db.read() as conn:
        assert [r[0] for r in conn.execute("SELECT key FROM settings")] == ["a"]


def test_failed_write_rolls_back_everything(store):
    with pytest.raises(ValueError):
        with store.db.write() as conn:
            conn.execute("INSERT INTO settings (key, value, updated_at, updated_by) VALUES ('a', '1', 't', 'x')")
            raise ValueError("boom")
    with store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM settings").fetchone()[0] == 0


def test_readers_see_last_commit_while_a_write_is_open(store):
    db = store.db
    with db.write() as conn:
        conn.execute("INSERT INTO settings (key, value, updated_at, updated_by) VALUES ('a', '1', 't', 'x')")
    seen = []
    with db.write() as conn:
        conn.execute("INSERT INTO settings (key, value, updated_at, updated_by) VALUES ('b', '1', 't', 'x')")

        def read_in_other_thread():
            with db.read() as r:
                seen.append(sorted(x[0] for x in r.execute("SELECT key FROM settings")))

        t = threading.Thread(target=read_in_other_thread)
        t.start()
        t.join(5)
    assert seen == [["a"]]  # not blocked, and not the uncommitted row


def test_writes_from_many_threads_are_serialised(store):
    db = store.db

    def writer(k):
        for i in range(20):
            with db.write() as conn:
                conn.execute(
                    "INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, '1', 't', 'x')", (f"{k}-{i}",)
                )

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    with db.read() as conn:
        assert conn.execute("SELECT count(*) FROM settings").fetchone()[0] == 80


@sqlite_only
def test_an_edit_from_another_process_waits_for_a_write_that_read_first(store):
    """The hub's put-back (Hub.undo_patient_version) reads its plan and writes it in one ``write()`` block so
    that an edit made meanwhile is not overwritten by a plan read before it; tests/sync checks it on the
    hub's PostgreSQL (test_hub_put_back_page). This is the same read-then-write on SQLite, the station's
    database, where the block is ``BEGIN IMMEDIATE`` and the other writer another process (a command-line
    tool's store on the same file: its own connections and lock): the edit, made right after the read,
    waits for the block's commit and then stands. With a deferred ``BEGIN`` instead, the edit commits at
    once and the block's write then fails on its stale snapshot."""
    actor = Actor(None, "test")
    patient = store.patients.create({"identifier": "P-0043", "birth_year": 1999, "sex": "F"}, actor=actor)
    other = Store.open(store.data_dir)  # another process's store
    edit = threading.Thread(target=other.patients.update, args=(patient["id"], {"birth_year": 1960}),
                            kwargs={"actor": Actor(None, "cli:other-admin")})
    try:
        with store.db.write():
            assert store.patients.get(patient["id"])["birth_year"] == 1999  # the plan's read
            edit.start()
            edit.join(0.5)  # done at once unless the block holds the database's write lock
            waited = edit.is_alive()
            store.patients.update(patient["id"], {"birth_year": 1950}, actor=actor)  # the plan's write
        edit.join(30)
    finally:
        other.close()
    assert waited, "the other process's edit committed between the read and the write"
    assert store.patients.get(patient["id"])["birth_year"] == 1960  # the later edit stands
    updates = [e["username"] for e in store.audit.query(action="patient.update", patient_id=patient["id"])]
    assert updates == ["cli:other-admin", "test"], updates  # newest first: the edit after the put-back


def test_closed_database_refuses_use(tmp_path):
    db = Database(tmp_path / "x.sqlite3")
    db.close()
    with pytest.raises(StoreError, match="closed"):
        with db.write():
            pass
    with pytest.raises(StoreError, match="closed"):
        with db.read():
            pass


def test_second_service_on_same_data_dir_is_refused(store):
    with pytest.raises(DataDirLocked, match=rf"pid {os.getpid()}.*already running"):
        Store.open_service(store.data_dir)
    # command-line tools may still open it
    Store.open(store.data_dir).close()


def test_service_lock_is_released_on_close(tmp_path):
    s = Store.open_service(tmp_path / "d")
    s.close()
    fd = acquire_service_lock(tmp_path / "d")
    os.close(fd)


def test_secret_key_created_once_private_and_stable(tmp_path):
    key = load_or_create_secret_key(tmp_path)
    path = tmp_path / SECRET_KEY_FILENAME
    assert len(key) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret_key(tmp_path) == key


def test_secret_key_permissions_are_tightened(tmp_path):
    key = load_or_create_secret_key(tmp_path)
    path = tmp_path / SECRET_KEY_FILENAME
    os.chmod(path, 0o644)
    assert load_or_create_secret_key(tmp_path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_empty_secret_key_is_an_error_with_advice(tmp_path):
    (tmp_path / SECRET_KEY_FILENAME).write_text("")
    with pytest.raises(StoreError, match="delete it and restart"):
        load_or_create_secret_key(tmp_path)


def test_data_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(StoreError, match="data directory"):
        Store.open(tmp_path / "f")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand files to another user")
def test_database_created_by_root_belongs_to_the_data_dir_owner(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    os.chown(data, 65534, 65534)  # the service user, say
    with Store.open(data) as s:
        s.settings.update({"clinic_name": "x"}, actor=Actor.system())
        owners = {p.name: (p.stat().st_uid, p.stat().st_gid) for p in data.iterdir() if p.name.startswith(DB_FILENAME)}
    assert owners[DB_FILENAME] == (65534, 65534)
    assert all(owner == (65534, 65534) for owner in owners.values()), owners
