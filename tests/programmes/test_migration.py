"""A database made by the release before programmes (schema version 1) upgrades in place: its
patients keep their data, gain programmes, and backups of the upgraded database restore."""

from __future__ import annotations

import sqlite3

from station.store.backup import create_backup, inspect_database
from station.store.db import db_path
from station.store.migrations import LATEST_VERSION, MIGRATIONS, migrate
from station.store.store import Store

from programme_support import ACTOR, CHEAP, WallClock, START_S


def _release_database(data_dir):
    """The data directory as the previous release leaves it: schema 1, a patient and a visit."""
    data_dir.mkdir(mode=0o700)
    conn = sqlite3.connect(db_path(data_dir), isolation_level=None)
    migrate(conn, tuple(m for m in MIGRATIONS if m.version == 1))
    conn.execute("INSERT INTO patients (identifier, birth_year, sex, notes, created_at, updated_at)"
                 " VALUES ('OLD-1', 1948, 'F', 'kept', '2025-06-01T10:00:00.000Z', '2025-06-01T10:00:00.000Z')")
    conn.execute("INSERT INTO sessions (patient_id, started_at, label, created_by)"
                 " VALUES (1, '2025-06-01T10:05:00.000Z', 'baseline', 'ana')")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()


def test_a_release_database_upgrades_in_place_and_takes_programmes(tmp_path, builtins):
    data_dir = tmp_path / "data"
    _release_database(data_dir)
    with Store.open(data_dir, password_cost=CHEAP, wall_clock=WallClock(START_S)) as store:
        with store.db.read() as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"programme_assignments", "programme_sessions", "programme_visits", "programme_visit_sessions",
                "programme_pauses"} <= tables
        patient = store.patients.get_by_identifier("OLD-1")
        assert patient["notes"] == "kept" and store.sessions.get(1)["label"] == "baseline"
        doc = store.programmes.assign(patient["id"], builtins["balance-training"], "2026-01-05", actor=ACTOR)
        store.programmes.enter_dose(doc["sessions"][0]["id"], {"minutes": 45}, actor=ACTOR)
        store.programmes.link_visit_session(doc["visits"][0]["id"], "mctsib", 1, actor=ACTOR)
        backup = create_backup(data_dir, now_s=START_S + 60)
    info = inspect_database(backup.path)
    assert info.schema_version == LATEST_VERSION and "programme_sessions" in info.tables and info.patients == 1
    # and it opens again without migrating anything
    with Store.open(data_dir, password_cost=CHEAP) as store:
        assert store.programmes.list_for_patient(patient["id"])[0]["template_name"] == "balance-training"
        with store.db.read() as conn:
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
