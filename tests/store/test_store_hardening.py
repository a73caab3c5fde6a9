"""Issue 14 in the store: ids never reused (migration 3, in place), the data directory opened
without following links, a lost or damaged database refused at start, a full disk."""

from __future__ import annotations

import os
import sqlite3

import pytest

from station.store.audit import Actor
from station.store.backup import BackupError, CorruptDatabase, check_station_database, create_backup, restore_backup
from station.store.db import DB_FILENAME, DiskFull, StoreError
from station.store.migrations import MIGRATIONS, migrate
from station.store.store import Store

from clinic_data import CHEAP_COST, make_frames
from small_disk import fill

WHO = Actor(1, "ana", "10.0.0.7")
CAL = {"method": "nominal"}


def _patient(store, identifier):
    return store.patients.create({"identifier": identifier, "birth_year": 1950, "sex": "F"}, actor=WHO)


# -- finding 8: ids are never reused -------------------------------------------------------------


def test_erased_patient_id_and_trial_id_are_never_handed_out_again(store):
    first = _patient(store, "P-1")
    session = store.sessions.create(first["id"], {"label": "x"}, actor=WHO)
    trial = store.trials.import_trial(session["id"], "romberg", "eyes_open", CAL, 100.0, make_frames(50), None,
                                      False, "test", actor=WHO)
    store.patients.erase(first["id"], confirm_identifier="P-1", actor=WHO)
    second = _patient(store, "P-2")
    assert second["id"] > first["id"]
    assert store.audit.query(patient_id=second["id"]) == [e for e in store.audit.query(patient_id=second["id"])
                                                          if e["action"] == "patient.create"]
    s2 = store.sessions.create(second["id"], {"label": "y"}, actor=WHO)
    assert s2["id"] > session["id"]
    t2 = store.trials.import_trial(s2["id"], "romberg", "eyes_open", CAL, 100.0, make_frames(50), None, False,
                                   "test", actor=WHO)
    assert t2 > trial


def test_an_existing_database_upgrades_in_place_keeping_rows_and_erased_ids(tmp_path):
    """A version-2 station where patient 2 (the highest id) was erased: after migration 3 the rows
    are intact, foreign keys hold, and the next patient gets id 3, not 2 (found in the audit)."""
    data = tmp_path / "data"
    data.mkdir()
    conn = sqlite3.connect(data / DB_FILENAME, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    migrate(conn, tuple(m for m in MIGRATIONS if m.version <= 2))
    now = "2025-01-01T00:00:00.000Z"
    for pid in (1, 2):
        conn.execute("INSERT INTO patients (id, identifier, birth_year, sex, created_at, updated_at)"
                     " VALUES (?, ?, 1950, 'F', ?, ?)", (pid, f"P-{pid}", now, now))
        conn.execute("INSERT INTO audit_log (at, username, action, patient_id) VALUES (?, 'ana', 'patient.create', ?)",
                     (now, pid))
    conn.execute("INSERT INTO sessions (id, patient_id, started_at, created_by) VALUES (7, 1, ?, 'ana')", (now,))
    conn.execute("DELETE FROM patients WHERE id = 2")
    conn.close()
    with Store.open(data, password_cost=CHEAP_COST) as store:
        assert store.patients.get(1)["identifier"] == "P-1"
        assert store.sessions.get(7)["patient_id"] == 1
        assert _patient(store, "P-3")["id"] == 3
        with store.db.read() as c:
            assert c.execute("PRAGMA foreign_key_check").fetchall() == []
            sql = c.execute("SELECT sql FROM sqlite_master WHERE name = 'patients'").fetchone()[0]
            assert "AUTOINCREMENT" in sql
            indexes = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'trials'")}
            assert {"trials_session", "trials_recording"} <= indexes


# -- finding 10: links and strangers' files in the data directory --------------------------------


def test_a_planted_symlink_is_refused_not_followed(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    target = tmp_path / "victim"
    (data / DB_FILENAME).symlink_to(target)
    with pytest.raises(StoreError, match="symbolic link"):
        Store.open(data, password_cost=CHEAP_COST)
    assert not target.exists()  # never created


def test_a_symlinked_secret_key_is_refused(tmp_path, store):
    from station.store.secret import load_or_create_secret_key

    victim = tmp_path / "victim"
    victim.write_text("x" * 64)
    (store.data_dir / "secret_key").symlink_to(victim)
    with pytest.raises(StoreError, match="symbolic link"):
        load_or_create_secret_key(store.data_dir)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file to another user")
def test_a_file_of_another_user_is_refused(tmp_path):
    data = tmp_path / "data"
    Store.open(data, password_cost=CHEAP_COST).close()
    os.chown(data / DB_FILENAME, 12345, 12345)
    with pytest.raises(StoreError, match="uid 12345"):
        Store.open(data, password_cost=CHEAP_COST)


# -- finding 9: lost or damaged database at start -------------------------------------------------


@pytest.mark.parametrize("how", ["empty", "missing"])
def test_an_emptied_database_is_refused_where_one_existed(tmp_path, how):
    data = tmp_path / "data"
    with Store.open_service(data, password_cost=CHEAP_COST) as store:
        store.users.create_first_admin("root", "admin password 123", actor=Actor.command_line())
    backup = create_backup(data)
    for suffix in ("", "-wal", "-shm"):
        path = data / (DB_FILENAME + suffix)
        if path.exists():
            path.unlink()
    if how == "empty":
        (data / DB_FILENAME).write_bytes(b"")
    with pytest.raises(StoreError) as info:
        Store.open_service(data, password_cost=CHEAP_COST)
    message = str(info.value)
    assert f"is {how}" in message and str(backup.path) in message and "balance-station restore" in message


def test_damaged_pages_are_refused_at_start_with_what_to_do(tmp_path):
    data = tmp_path / "data"
    with Store.open_service(data, password_cost=CHEAP_COST) as store:
        for i in range(300):
            _patient(store, f"P-{i}")
        store.db.checkpoint_truncate()
    path = data / DB_FILENAME
    raw = bytearray(path.read_bytes())
    page = 4096
    for p in range(2, len(raw) // page):  # scribble over every page but the first
        raw[p * page + 10: p * page + 200] = os.urandom(190)
    path.write_bytes(bytes(raw))
    with pytest.raises(StoreError, match="damaged.*balance-station restore"):
        Store.open_service(data, password_cost=CHEAP_COST)


def _schema_damaged_into_bytes_that_are_not_text(tmp_path, offset=6):
    """A data directory whose schema text has a byte that is not UTF-8 (0x81) at ``offset`` into
    its first CREATE TABLE (6: the keyword, so SQLite's message quotes the byte)."""
    data = tmp_path / "data"
    with Store.open_service(data, password_cost=CHEAP_COST) as store:
        _patient(store, "P-1")
        store.db.checkpoint_truncate()
    path = data / DB_FILENAME
    raw = bytearray(path.read_bytes())
    at = raw.find(b"CREATE TABLE")
    assert at > 0  # sqlite_master spans several pages of this schema
    raw[at + offset] = 0x81
    path.write_bytes(bytes(raw))
    return data


@pytest.mark.parametrize("offset", [6, 13], ids=["keyword", "table-name"])
def test_a_schema_damaged_into_bytes_that_are_not_text_is_refused_as_damaged(tmp_path, offset):
    """SQLite's message about a damaged schema quotes the damaged bytes; when they are not UTF-8,
    Python raised UnicodeDecodeError instead of DatabaseError, and it escaped the service's start
    as a traceback (seen once in CI with random damage to every page)."""
    data = _schema_damaged_into_bytes_that_are_not_text(tmp_path, offset)
    with pytest.raises(StoreError, match="damaged.*balance-station restore") as info:
        Store.open_service(data, password_cost=CHEAP_COST)
    assert "codec" not in str(info.value)


def test_check_backup_and_restore_word_a_schema_that_is_not_text(tmp_path):
    data = _schema_damaged_into_bytes_that_are_not_text(tmp_path)
    assert check_station_database(data) == ["damaged SQLite file (its schema or its error message holds bytes that "
                                            "are not text)"]
    with pytest.raises(BackupError, match="not text; the database is damaged: `balance-station check`"):
        create_backup(data)
    healthy = tmp_path / "healthy"
    with Store.open_service(healthy, password_cost=CHEAP_COST) as store:
        _patient(store, "P-2")
    with pytest.raises(CorruptDatabase, match="not text.*choose another backup"):
        restore_backup(healthy, data / DB_FILENAME)
    with Store.open(healthy, password_cost=CHEAP_COST) as store:  # the healthy station is untouched
        assert store.patients.get_by_identifier("P-2")["identifier"] == "P-2"

# -- finding 2: a full disk ----------------------------------------------------------------------


def test_full_disk_mid_recording_ends_the_trial_partial_and_reads_stay_audited(tiny_disk, wall, mono):
    data = tiny_disk / "data"
    store = Store.open_service(data, wall_clock=wall, clock=mono, password_cost=CHEAP_COST,
                               space_reserve_bytes=2 * 1024 * 1024)
    try:
        assert (data / "space-reserve").stat().st_size == 2 * 1024 * 1024
        patient = _patient(store, "P-1")
        session = store.sessions.create(patient["id"], {"label": "x"}, actor=WHO)
        writer = store.trials.start_trial(session["id"], "romberg", "eyes_open", CAL, 100.0, actor=WHO)
        writer.append(make_frames(200))
        writer.flush()
        committed = writer.frames_committed
        filler = fill(tiny_disk)
        with pytest.raises(DiskFull) as info:
            for i in range(1, 400):
                writer.append(make_frames(200, start_seq=200 * i))
                writer.flush()
        assert "partial" in str(info.value) and "free space" in str(info.value)
        trial = store.trials.get(writer.trial_id)
        assert trial["status"] == "partial" and "disk full" in trial["status_reason"]
        kept = trial["frame_count"]
        assert kept >= committed
        assert len(store.trials.frames(writer.trial_id)) == kept  # nothing committed was lost
        assert store.space.status()["state"] == "full"
        # reads go on, audited (the reserve gave the room)
        before = len(store.audit.query(action="patient.view", limit=1000))
        assert store.patients.view(patient["id"], actor=WHO)["identifier"] == "P-1"
        assert len(store.audit.query(action="patient.view", limit=1000)) == before + 1
        filler.unlink()
        assert store.space.status(fresh=True)["state"] in ("ok", "low")
        assert (data / "space-reserve").stat().st_size == 2 * 1024 * 1024  # the reserve is back
    finally:
        store.close()


def test_start_on_a_full_disk_refuses_in_one_line(tiny_disk):
    data = tiny_disk / "data"
    Store.open_service(data, password_cost=CHEAP_COST, space_reserve_bytes=0).close()
    fill(tiny_disk)
    with pytest.raises(StoreError) as info:
        Store.open_service(data, password_cost=CHEAP_COST)
    message = str(info.value)
    assert "\n" not in message and "full" in message and "free space" in message


# -- finding 4: restore compares the whole schema ------------------------------------------------

TAMPERING = {
    "audit trigger dropped": "DROP TRIGGER audit_log_no_delete",
    "trigger keeping erased data": "CREATE TABLE kept (data TEXT); CREATE TRIGGER keep BEFORE DELETE ON patients "
                                   "BEGIN INSERT INTO kept VALUES (old.notes); END",
    "trigger promoting a user": "CREATE TRIGGER promote AFTER UPDATE OF last_login_at ON users "
                                "BEGIN UPDATE users SET role = 'admin' WHERE id = new.id; END",
    "extra view": "CREATE VIEW everything AS SELECT * FROM patients",
    "index dropped": "DROP INDEX audit_patient",
}


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_restore_refuses_a_backup_with_a_tampered_schema(tmp_path, how):
    from station.store.backup import NotStationDatabase, restore_backup

    data = tmp_path / "data"
    with Store.open_service(data, password_cost=CHEAP_COST) as store:
        _patient(store, "P-1")
    backup = create_backup(data).path
    tampered = tmp_path / "tampered.sqlite3"
    tampered.write_bytes(backup.read_bytes())
    conn = sqlite3.connect(tampered, isolation_level=None)
    conn.executescript(TAMPERING[how])
    conn.close()
    before = (data / DB_FILENAME).read_bytes()
    with pytest.raises(NotStationDatabase, match="schema is not the one|not a balance station database"):
        restore_backup(data, tampered)
    assert (data / DB_FILENAME).read_bytes() == before  # nothing changed
    assert restore_backup(data, backup).restored.patients == 1  # the untouched backup restores
