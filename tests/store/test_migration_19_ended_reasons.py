"""Migration 19: ``login_sessions_ended`` keeps the reasons of sessions found ended when used (inactive, the
clock set back, 12 h old) as well as those ended on purpose; a station's kept reasons survive the rebuild."""

from __future__ import annotations

import sqlite3

import pytest

from station.store.migrations import LATEST_VERSION, MIGRATIONS, migrate


def test_an_18_database_keeps_its_reasons_and_takes_the_new_ones(tmp_path):
    conn = sqlite3.connect(tmp_path / "station.sqlite3", isolation_level=None)
    migrate(conn, tuple(m for m in MIGRATIONS if m.version <= 18))
    conn.execute("INSERT INTO login_sessions_ended (token_hash, why, ended_s) VALUES (?, 'password_changed', 5.0)",
                 (b"\x01" * 32,))
    with pytest.raises(sqlite3.IntegrityError):  # what made the station say "after inactivity" (s31)
        conn.execute("INSERT INTO login_sessions_ended (token_hash, why, ended_s) VALUES (?, 'max_age', 6.0)",
                     (b"\x02" * 32,))
    assert migrate(conn) == list(range(19, LATEST_VERSION + 1))
    assert conn.execute("SELECT token_hash, why, ended_s FROM login_sessions_ended").fetchall() == [
        (b"\x01" * 32, "password_changed", 5.0)]
    for n, why in enumerate(("inactive", "clock_set_back", "max_age"), start=2):
        conn.execute("INSERT INTO login_sessions_ended (token_hash, why, ended_s) VALUES (?, ?, 6.0)",
                     (bytes([n]) * 32, why))
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO login_sessions_ended (token_hash, why, ended_s) VALUES (?, 'whatever', 6.0)",
                     (b"\x09" * 32,))
    assert [r[1] for r in conn.execute("PRAGMA index_list(login_sessions_ended)")].count("login_sessions_ended_at") == 1
    conn.close()
