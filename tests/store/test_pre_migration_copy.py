"""Before migrating an existing database, the store keeps a copy of it as it was (finding 4 of
session 23's review): an update that has to be undone then restores that copy, and nothing recorded
before the update is lost (the older software refuses a migrated database)."""

from __future__ import annotations

import sqlite3

import pytest

from station.store.backup import create_backup, inspect_database, list_backups, prune_backups, restore_backup
from station.store.db import DB_FILENAME, StoreError
from station.store.migrations import LATEST_VERSION, MIGRATIONS, migrate
from station.store.store import Store

from clinic_data import CHEAP_COST

NOW = "2026-01-01T00:00:00.000Z"


def old_station(data, version: int = 11) -> None:
    """A data directory as the software of schema ``version`` left it, with one patient."""
    data.mkdir()
    conn = sqlite3.connect(data / DB_FILENAME, isolation_level=None)
    migrate(conn, tuple(m for m in MIGRATIONS if m.version <= version))
    conn.execute("INSERT INTO patients (identifier, birth_year, sex, created_at, updated_at)"
                 " VALUES ('OLD-1', 1950, 'F', ?, ?)", (NOW, NOW))
    conn.close()


def version_of(path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def test_a_migration_keeps_a_copy_of_the_database_as_it_was(tmp_path, caplog):
    data = tmp_path / "data"
    old_station(data)
    with Store.open(data, password_cost=CHEAP_COST) as store:
        assert store.db.schema_version() == LATEST_VERSION
    (copy,) = (data / "backups").glob("station-pre-migration-v11-*.sqlite3")
    assert version_of(copy) == 11
    info = inspect_database(copy)  # an intact database of the older version: restorable
    assert info.schema_version == 11 and info.patients == 1
    assert copy.stat().st_mode & 0o777 == 0o600
    assert "schema version 11 and is migrated to" in caplog.text and str(copy) in caplog.text
    assert "OLD-1" not in caplog.text  # no patient data in the log
    # not a scheduled backup: retention never deletes it
    assert list_backups(data) == []
    for hour in (1, 2, 3):
        create_backup(data, now_s=1_800_000_000 + 3600 * hour)
        prune_backups(data, keep=1)
    assert len(list_backups(data)) == 1
    assert copy.exists()

    # opened again: nothing to migrate, no second copy
    with Store.open(data, password_cost=CHEAP_COST):
        pass
    assert len(list((data / "backups").glob("station-pre-migration-*"))) == 1


def test_going_back_restores_the_copy(tmp_path):
    data = tmp_path / "data"
    old_station(data)
    with Store.open(data, password_cost=CHEAP_COST):
        pass
    (copy,) = (data / "backups").glob("station-pre-migration-v11-*.sqlite3")
    restore_backup(data, copy)
    assert version_of(data / DB_FILENAME) == 11


def test_a_new_or_current_database_gets_no_copy(tmp_path):
    data = tmp_path / "data"
    with Store.open(data, password_cost=CHEAP_COST):
        pass
    with Store.open(data, password_cost=CHEAP_COST):
        pass
    assert not (data / "backups").exists() or list((data / "backups").iterdir()) == []


def test_no_migration_without_the_copy(tmp_path):
    data = tmp_path / "data"
    old_station(data)
    (data / "backups").write_text("not a folder")  # the copy cannot be made
    with pytest.raises(StoreError) as caught:
        Store.open(data, password_cost=CHEAP_COST)
    words = str(caught.value)
    assert "schema version 11" in words and "the copy failed" in words and "nothing was changed" in words
    assert version_of(data / DB_FILENAME) == 11


def test_a_failing_migration_keeps_one_copy_and_says_the_storage_failed(tmp_path, monkeypatch):
    """A migration that fails (here: the card's I/O error) leaves the database at its version; each
    start (the service restarts every 5 s) made a new whole copy, never pruned, until the card was
    full (finding 5 of R3). Now the copy that holds what the database holds is kept, and the error
    is the store's words, not SQLite's."""
    import time

    from station.store.db import Database, StorageFailed

    data = tmp_path / "data"
    old_station(data)

    def failing_card(self, *args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(Database, "migrate", failing_card)
    clock = [1_800_000_000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    for _ in range(4):
        clock[0] += 5
        with pytest.raises(StorageFailed) as caught:
            Store.open(data, password_cost=CHEAP_COST)
        words = str(caught.value)
        assert "the station's storage failed to read or write the database" in words
        assert "check the SD card or replace it" in words and "nothing recorded was lost" in words
    (copy,) = (data / "backups").glob("station-pre-migration-v11-*.sqlite3")
    assert str(copy) in words and version_of(data / DB_FILENAME) == 11

    # the older software records again before the next update: that copy no longer holds it
    conn = sqlite3.connect(data / DB_FILENAME, isolation_level=None)
    conn.execute("UPDATE patients SET birth_year = 1951 WHERE identifier = 'OLD-1'")
    conn.close()
    clock[0] += 5
    with pytest.raises(StorageFailed):
        Store.open(data, password_cost=CHEAP_COST)
    copies = sorted((data / "backups").glob("station-pre-migration-v11-*.sqlite3"))
    assert len(copies) == 2 and copies[0] == copy

    # a copy that fails the restore's checks is not kept either
    monkeypatch.undo()
    copies[1].write_bytes(copies[1].read_bytes()[:4096])
    clock2 = 1_800_000_100.0
    monkeypatch.setattr(time, "time", lambda: clock2)
    with Store.open(data, password_cost=CHEAP_COST) as store:
        assert store.db.schema_version() == LATEST_VERSION
    newest = sorted((data / "backups").glob("station-pre-migration-v11-*.sqlite3"))
    assert len(newest) == 3
    conn = sqlite3.connect(newest[-1])
    assert conn.execute("SELECT birth_year FROM patients").fetchone() == (1951,)
    conn.close()


def held(path) -> str:
    """What the database holds (every row of every table; opening it switches it to WAL, not a change)."""
    from station.store.store import content_fingerprint

    conn = sqlite3.connect(path)
    try:
        return content_fingerprint(conn)
    finally:
        conn.close()


def test_a_migration_without_room_for_its_copy_is_refused_and_the_database_left_as_it_was(tmp_path, monkeypatch, capsys):
    """The pre-migration copy was written without a look at the free space: on a nearly full card the
    update could take the room recording needs. It is checked as a backup is (a copy of the database and
    the room left for recording); without it the database is not migrated, nothing is written, and the
    station says what to do."""
    from station.cli import main
    from station.store import backup

    data = tmp_path / "data"
    old_station(data)
    before = held(data / DB_FILENAME)
    needed = backup.backup_room_needed(data)[1]
    monkeypatch.setattr(backup, "free_bytes", lambda path: needed - 4096)
    with pytest.raises(StoreError) as caught:
        Store.open(data, password_cost=CHEAP_COST)
    words = str(caught.value)
    assert words.startswith(f"the database {data / DB_FILENAME} has schema version 11; this software migrates it to "
                            f"{LATEST_VERSION} after keeping a copy of it as it is in {data / 'backups'}, and there is "
                            f"no room for that copy: the disk holding {data} has ")
    for said in ("free, and the copy kept before the migration needs", "a copy of the", "left for recording and sign-in",
                 "copy the backups in", "nothing was changed (the database stays at its version); start again once "
                 "there is room"):
        assert said in words, said
    assert held(data / DB_FILENAME) == before and version_of(data / DB_FILENAME) == 11
    assert not (data / "backups").exists() or not list((data / "backups").iterdir())
    # a command that opens the store says it in one line, no traceback
    assert main(["users", "list", "--data-dir", str(data)]) == 1
    err = capsys.readouterr().err
    assert "there is no room for that copy" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    monkeypatch.undo()  # room made: the copy, then the migration
    with Store.open(data, password_cost=CHEAP_COST) as store:
        assert store.db.schema_version() == LATEST_VERSION
    assert len(list((data / "backups").glob("station-pre-migration-v11-*.sqlite3"))) == 1
