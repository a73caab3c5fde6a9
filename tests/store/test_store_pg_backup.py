"""Backups, restore and the integrity check of the hub's PostgreSQL database (station/store/pg_backup.py):
what a restore refuses leaves the database exactly as it was; the password never reaches a command line."""

from __future__ import annotations

import os
import stat
import subprocess

import psycopg
import pytest

from station.store import pg_backup
from station.store.audit import Actor
from station.store.backup import BackupError, CorruptDatabase, NotStationDatabase
from station.store.migrations import LATEST_VERSION
from station.store.pg import PgDatabase
from station.store.store import Store

from clinic_data import CHEAP_COST, assert_same_frames, make_frames, metrics_doc

CAL = {"method": "nominal", "n_per_count": [0.01, 0.01, 0.01, 0.01]}
ANA = Actor(2, "ana", "10.0.0.7")


def _hub(url, data_dir) -> Store:
    return Store.open(data_dir, database=url, password_cost=CHEAP_COST)


def _fill(url, data_dir, identifier="P-0001", frames=250) -> int:
    """A patient with a visit and a complete trial of ``frames`` frames; the trial's id."""
    store = _hub(url, data_dir)
    try:
        patient = store.patients.create({"identifier": identifier, "birth_year": 1948, "sex": "F"}, actor=ANA)
        session = store.sessions.create(patient["id"], {"label": "baseline"}, actor=ANA)
        writer = store.trials.start_trial(session["id"], "romberg", "eyes_open", CAL, 100.0, actor=ANA)
        writer.append(make_frames(frames))
        writer.finish(metrics_doc(), True)
        return writer.trial_id
    finally:
        store.close()


def _identifiers(url) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT identifier FROM patients ORDER BY identifier")]


_TEMPLATE = "pg_backup_template"


@pytest.fixture(scope="module")
def migrated_template(pg_cluster):
    """A migrated database nobody connects to: copied (CREATE DATABASE ... TEMPLATE) for each test
    that tampers with a database of its own, faster than migrating each."""
    url = pg_cluster.create_database(_TEMPLATE)
    db = PgDatabase(url)
    try:
        db.migrate()
    finally:
        db.close()
    yield _TEMPLATE
    pg_cluster.drop_database(_TEMPLATE)


def _migrated(pg_cluster, name, template) -> str:
    return pg_cluster.create_database(name, template=template)


def _tools(url) -> pg_backup.ClientTools:
    with psycopg.connect(url) as conn:
        return pg_backup.find_client_tools(conn.info.server_version // 10000)


def test_backup_then_restore_brings_back_every_record_and_keeps_the_replaced_database(pg_url, tmp_path):
    data_dir = tmp_path / "hub"
    trial_id = _fill(pg_url, data_dir)
    info = pg_backup.create_hub_backup(pg_url, data_dir)
    assert info.path.name.startswith("hub-") and info.path.suffix == ".pgdump"
    assert stat.S_IMODE(info.path.stat().st_mode) == 0o600  # patient data: owner only
    assert pg_backup.list_hub_backups(data_dir) == [info]
    _fill(pg_url, data_dir, "P-0002")  # after the backup: gone after the restore
    assert _identifiers(pg_url) == ["P-0001", "P-0002"]

    result = pg_backup.restore_hub_backup(pg_url, data_dir, info.path, now_s=info.created_s + 5)
    assert (result.schema_version, result.patients, result.trials) == (LATEST_VERSION, 1, 1)
    assert _identifiers(pg_url) == ["P-0001"]
    assert result.pre_restore_copy is not None and result.pre_restore_copy.name.startswith("hub-pre-restore-")
    assert pg_backup.inspect_hub_dump(result.pre_restore_copy, _tools(pg_url)).schema_version == LATEST_VERSION
    store = _hub(pg_url, data_dir)  # the restored hub works: frames bit for bit, audit guard, new ids
    try:
        assert_same_frames(store.trials.frames(trial_id), make_frames(250))
        with pytest.raises(Exception, match="append-only"):
            with store.db.write() as conn:
                conn.execute("DELETE FROM audit_log")
        created = store.patients.create({"identifier": "P-0003", "birth_year": 1950, "sex": "M"}, actor=ANA)
        assert created["id"] > 1
    finally:
        store.close()
    assert pg_backup.check_hub_database(pg_url) == []
    again = pg_backup.create_hub_backup(pg_url, data_dir, now_s=info.created_s + 10)  # a restored hub backs up
    assert pg_backup.restore_hub_backup(pg_url, data_dir, again.path, now_s=info.created_s + 15).patients == 2


def test_a_dump_of_a_newer_schema_is_refused_before_anything_changes(pg_cluster, migrated_template, pg_url, tmp_path):
    newer = _migrated(pg_cluster, "newer_schema", migrated_template)
    try:
        with psycopg.connect(newer, autocommit=True) as conn:
            conn.execute("UPDATE station_schema_version SET version = %s", (LATEST_VERSION + 1,))
        made = pg_backup.create_hub_backup(newer, tmp_path, any_version=True, prefix="hub-newer-")
        _fill(pg_url, tmp_path / "hub")
        with pytest.raises(NotStationDatabase, match=f"newer station version \\(schema {LATEST_VERSION + 1}"):
            pg_backup.restore_hub_backup(pg_url, tmp_path, made.path)
        assert _identifiers(pg_url) == ["P-0001"]
        assert not list((tmp_path / "backups").glob("hub-pre-restore-*"))  # refused before the copy
        with pytest.raises(NotStationDatabase, match="newer than this software"):
            pg_backup.create_hub_backup(newer, tmp_path)
    finally:
        pg_cluster.drop_database("newer_schema")


@pytest.mark.parametrize("tamper, expected, refused_because", [
    ("DROP TRIGGER audit_log_no_delete ON audit_log", "missing trigger audit_log_no_delete", None),
    ("CREATE TABLE keep_erased (identifier text)", "unexpected table keep_erased", None),
    ("SET session_replication_role = replica; INSERT INTO sessions (patient_id, started_at, created_by)"
     " VALUES (999, '2026-01-01T00:00:00Z', 'x')", "1 rows of sessions refer to patients rows that are gone",
     "violates foreign key constraint"),  # the replay's own foreign key check stops it
    ("UPDATE trials SET frame_count = frame_count + 1", "250 frames stored, its frame count says 251", None),
    ("CREATE OR REPLACE FUNCTION json_valid(doc text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT true $$",
     "function json_valid(doc text) is defined differently", None),  # every JSON check would pass
    ("ALTER FUNCTION json_valid(text) SECURITY DEFINER", "function json_valid(doc text) is defined differently", None),
    ("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_delete", "trigger audit_log_no_delete is defined differently",
     "holds a statement a hub backup does not (ALTER TABLE public.audit_log"),  # refused before it runs
    ("CREATE SCHEMA evil; CREATE TABLE evil.copies (identifier text)", "unexpected schema evil",
     "holds a statement a hub backup does not (CREATE SCHEMA evil"),
    ("INSERT INTO settings (key, value, updated_at, updated_by) VALUES ('session_timeout_min', '1e300', "
     "'2026-01-01T00:00:00Z', 'x')", "setting session_timeout_min = 1e300: must be between 1 and 240 min", None),
])
def test_a_tampered_or_inconsistent_backup_is_refused_and_the_database_left_as_it_was(
        pg_cluster, migrated_template, pg_url, tmp_path, tamper, expected, refused_because):
    other = _migrated(pg_cluster, "tampered", migrated_template)
    try:
        _fill(other, tmp_path / "other", "T-0001")
        with psycopg.connect(other, autocommit=True) as conn:
            conn.execute(tamper)
        assert any(expected in p for p in pg_backup.check_hub_database(other))  # the check finds it too
        made = pg_backup.create_hub_backup(other, tmp_path / "other")
    finally:
        pg_cluster.drop_database("tampered")
    _fill(pg_url, tmp_path / "hub")
    with pytest.raises((NotStationDatabase, CorruptDatabase), match="nothing was changed") as refused:
        pg_backup.restore_hub_backup(pg_url, tmp_path / "hub", made.path)
    assert (refused_because or expected) in str(refused.value)
    assert _identifiers(pg_url) == ["P-0001"]  # the whole restore rolled back: not half restored
    assert pg_backup.check_hub_database(pg_url) == []


def test_a_restore_ends_the_backups_login_sessions(pg_url, tmp_path):
    """A restored login session let in whoever held its cookie (one planted with its last activity
    in the future: for ever); the restore deletes them in its transaction."""
    data_dir = tmp_path / "hub"
    _fill(pg_url, data_dir)
    store = _hub(pg_url, data_dir)
    try:
        root = store.users.create_first_admin("root", "a long enough password", actor=ANA)
        store.logins.create(root["id"], None)
        store.users.create("ben", "a long enough password", "clinician", actor=ANA)
        with store.db.write() as conn:
            conn.execute("UPDATE login_sessions SET last_seen_s = 4e9")  # in 2096
            conn.execute("UPDATE users SET password_hash = ? WHERE username = 'ben'",
                         ("scrypt$20$8$16$" + "A" * 22 + "$" + "A" * 43,))  # 1 GiB, ~100 s a hash: never computed
    finally:
        store.close()
    info = pg_backup.create_hub_backup(pg_url, data_dir)
    result = pg_backup.restore_hub_backup(pg_url, data_dir, info.path, now_s=info.created_s + 5)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM login_sessions").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 2
    assert result.sessions_ended == 1
    assert result.unusable_accounts == ("ben",)  # named by the restore, for an administrator to set a new password
    assert (result.can_sign_in, result.admins_can_sign_in) == (1, 1)  # root; ben's hash cannot be checked


def test_files_that_are_not_hub_backups_are_refused(pg_url, tmp_path):
    tools = _tools(pg_url)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(NotStationDatabase, match="not a PostgreSQL custom-format dump"):
        pg_backup.inspect_hub_dump(text, tools)
    with pytest.raises(BackupError, match="no such file"):
        pg_backup.inspect_hub_dump(tmp_path / "missing.pgdump", tools)
    info = pg_backup.create_hub_backup(pg_url, tmp_path)
    truncated = tmp_path / "truncated.pgdump"
    truncated.write_bytes(info.path.read_bytes()[: info.size_bytes // 3])
    with pytest.raises(CorruptDatabase):
        pg_backup.inspect_hub_dump(truncated, tools)
    bare = tmp_path / "bare.pgdump"  # a PostgreSQL dump, but of another application's database
    subprocess.run([str(tools.pg_dump), "-Fc", "--schema-only", "--table=users", "-f", str(bare), "-d",
                    pg_url], check=True, capture_output=True)
    with pytest.raises(NotStationDatabase, match="not of a balance station hub"):
        pg_backup.inspect_hub_dump(bare, tools)


def test_a_database_without_the_hub_schema_is_not_backed_up(pg_empty_url, tmp_path):
    with pytest.raises(NotStationDatabase, match="no balance station hub"):
        pg_backup.create_hub_backup(pg_empty_url, tmp_path)
    assert pg_backup.check_hub_database(pg_empty_url) == [
        "no balance station hub schema in this database (no schema version)"]


def test_a_schema_of_the_database_administrator_is_reported_by_check_but_left_by_a_restore(pg_url, tmp_path):
    info = pg_backup.create_hub_backup(pg_url, tmp_path)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA monitoring")
    try:
        assert pg_backup.check_hub_database(pg_url) == ["unexpected schema monitoring"]
        pg_backup.restore_hub_backup(pg_url, tmp_path, info.path)  # only public is replaced
        with psycopg.connect(pg_url) as conn:
            assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'monitoring'").fetchone()[0] == 1
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA monitoring")


def test_a_hub_whose_public_schema_was_made_again_is_backed_up_and_restored(pg_cluster, tmp_path):
    url = pg_cluster.create_database("remade_public")
    try:
        with psycopg.connect(url, autocommit=True) as conn:  # an administrator recreated it (the dump comments it)
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
        _fill(url, tmp_path / "hub")  # migrated by the store, then filled
        info = pg_backup.create_hub_backup(url, tmp_path)
        assert pg_backup.restore_hub_backup(url, tmp_path, info.path).patients == 1
        assert pg_backup.check_hub_database(url) == []
    finally:
        pg_cluster.drop_database("remade_public")


def test_restore_refuses_while_the_hub_is_connected(pg_url, tmp_path):
    info = pg_backup.create_hub_backup(pg_url, tmp_path)
    running = PgDatabase(pg_url)  # a hub's connection (application_name balance-station)
    try:
        with pytest.raises(BackupError, match="the hub is running on this database"):
            pg_backup.restore_hub_backup(pg_url, tmp_path, info.path)
    finally:
        running.close()
    assert not list((tmp_path / "backups").glob("hub-pre-restore-*"))


def test_missing_or_other_version_tools_are_one_line_naming_the_package(tmp_path):
    with pytest.raises(BackupError, match=r"not installed; install Debian's postgresql-client-99 "):
        pg_backup.find_client_tools(99, search_path=str(tmp_path))
    for tool in ("pg_dump", "pg_restore"):  # tools of PostgreSQL 14 on PATH, a server of 98
        script = tmp_path / tool
        script.write_text(f"#!/bin/sh\necho '{tool} (PostgreSQL) 14.11'\n")
        script.chmod(0o755)
    with pytest.raises(BackupError, match=r"pg_dump here is PostgreSQL 14, the hub's server runs PostgreSQL 98.*"
                                          r"postgresql-client-98"):
        pg_backup.find_client_tools(98, search_path=str(tmp_path))


def test_the_password_reaches_the_tools_through_a_private_passfile_never_their_command_line(
        pg_url, tmp_path, monkeypatch):
    password = psycopg.conninfo.conninfo_to_dict(pg_url)["password"]
    seen = []
    real_run, real_popen = subprocess.run, subprocess.Popen

    def note(argv, kwargs):
        env = kwargs.get("env") or {}
        passfile = env.get("PGPASSFILE")
        mode = stat.S_IMODE(os.stat(passfile).st_mode) if passfile and os.path.exists(passfile) else None
        seen.append((list(map(str, argv)), passfile, mode, env.get("PGPASSWORD")))

    def run(argv, *args, **kwargs):
        note(argv, kwargs)
        return real_run(argv, *args, **kwargs)

    def popen(argv, *args, **kwargs):
        note(argv, kwargs)
        return real_popen(argv, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setattr(subprocess, "Popen", popen)
    monkeypatch.setenv("PGPASSWORD", "not-this-one")
    info = pg_backup.create_hub_backup(pg_url, tmp_path)
    pg_backup.restore_hub_backup(pg_url, tmp_path, info.path)
    dumps = [s for s in seen if "--format=custom" in s[0]]  # the dumps themselves (not --version)
    assert dumps, seen
    for argv, passfile, mode, env_password in seen:
        assert not any(password in a for a in argv)
    for argv, passfile, mode, env_password in dumps:
        assert passfile is not None and mode == 0o600 and env_password is None
        assert not os.path.exists(passfile)  # removed afterwards


def test_a_login_that_may_not_touch_the_database_is_one_line_and_changes_nothing(pg_cluster, pg_url, tmp_path):
    info = pg_backup.create_hub_backup(pg_url, tmp_path)
    _fill(pg_url, tmp_path / "hub")
    pg_cluster.admin("DROP ROLE IF EXISTS visitor", "CREATE ROLE visitor LOGIN PASSWORD 'visitor-pw'")
    visitor = pg_url.replace(f"balance:{pg_cluster.password}@", "visitor:visitor-pw@")
    try:
        with pytest.raises(BackupError, match=r"^the database refused it \(permission denied.*nothing was changed"):
            pg_backup.restore_hub_backup(visitor, tmp_path, info.path)
        with pytest.raises(BackupError, match="permission denied"):
            pg_backup.create_hub_backup(visitor, tmp_path)
    finally:
        pg_cluster.admin("DROP ROLE visitor")
    assert _identifiers(pg_url) == ["P-0001"]


def test_a_restore_of_a_backup_without_accounts_makes_a_setup_code(pg_url, tmp_path):
    """A hub backup taken before its first administrator existed opened the hub's setup to whoever
    came first after a restore (finding 4 of R3, as at a station): the restore makes a new one-time
    code; a restore of a backup with accounts removes one left over."""
    from station.store.setup_code import code_path, refusal

    data_dir = tmp_path / "hub"
    _fill(pg_url, data_dir)
    early = pg_backup.create_hub_backup(pg_url, data_dir)  # no account yet
    store = _hub(pg_url, data_dir)
    try:
        store.users.create_first_admin("root", "a long enough password", actor=ANA)
    finally:
        store.close()
    set_up = pg_backup.create_hub_backup(pg_url, data_dir, early.created_s + 5)
    result = pg_backup.restore_hub_backup(pg_url, data_dir, early.path, now_s=early.created_s + 10)
    assert result.setup_code is not None and code_path(data_dir).read_text() == result.setup_code + "\n"
    assert code_path(data_dir).stat().st_mode & 0o777 == 0o600
    assert refusal(data_dir, None) is not None and refusal(data_dir, result.setup_code) is None
    again = pg_backup.restore_hub_backup(pg_url, data_dir, set_up.path, now_s=early.created_s + 15)
    assert again.setup_code is None and not code_path(data_dir).exists()


@pytest.mark.parametrize("fault", ["full", "failing"])
def test_a_hub_restore_that_cannot_write_the_setup_code_changes_nothing(pg_url, tmp_path, monkeypatch, fault):
    """s28 C6: the hub's restore of a backup without accounts writes the one-time setup code inside its
    transaction; a card that refused the file raised the OS's error as it came (a traceback at the command) and
    left the code under its staging name. Now the restore is rolled back and says it in words, no file left."""
    from refused_writes import WORDS, files_under, refuse_fsync_of

    data_dir = tmp_path / "hub"
    _fill(pg_url, data_dir)
    early = pg_backup.create_hub_backup(pg_url, data_dir)  # no account yet
    _fill(pg_url, data_dir, identifier="P-0002")
    found = {name: content for name, content in files_under(data_dir).items() if name != "station.lock"}
    refuse_fsync_of(monkeypatch, ".setup-code", fault)
    with pytest.raises(BackupError) as refused:  # (old code: OSError)
        pg_backup.restore_hub_backup(pg_url, data_dir, early.path, now_s=early.created_s + 10)
    assert str(refused.value) == (f"cannot write the one-time setup code to {data_dir / 'setup-code'} ({WORDS[fault]}); "
                                  "free space on the data directory's disk (or replace its SD card if it fails to "
                                  "write), then try again; nothing was changed")
    assert _identifiers(pg_url) == ["P-0001", "P-0002"]
    after = {name: content for name, content in files_under(data_dir).items() if name != "station.lock"}
    (kept,) = set(after) - set(found)  # the copy of the database the restore keeps before it replaces it
    assert kept.startswith("backups/hub-pre-restore-") and {n: after[n] for n in found} == found
