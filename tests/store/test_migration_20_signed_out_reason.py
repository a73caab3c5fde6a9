"""Migration 20: ``login_sessions_ended`` keeps that a session was signed out (``signed_out_tab``) as well as the
reasons of migration 19; a station's kept reasons survive the rebuild (s32: a browser's other tabs, and a page's
requests under way, carry the cookie a sign-out ended and read "after inactivity")."""

from __future__ import annotations

import sqlite3

import pytest

from station.store.migrations import LATEST_VERSION, MIGRATIONS, migrate

INSERT = "INSERT INTO login_sessions_ended (token_hash, why, ended_s) VALUES (?, ?, ?)"


def test_a_19_database_keeps_its_reasons_and_takes_the_sign_out(tmp_path):
    conn = sqlite3.connect(tmp_path / "station.sqlite3", isolation_level=None)
    migrate(conn, tuple(m for m in MIGRATIONS if m.version <= 19))
    conn.execute(INSERT, (b"\x01" * 32, "max_age", 5.0))
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(INSERT, (b"\x02" * 32, "signed_out_tab", 6.0))
    assert migrate(conn) == list(range(20, LATEST_VERSION + 1))
    assert conn.execute("SELECT token_hash, why, ended_s FROM login_sessions_ended").fetchall() == [
        (b"\x01" * 32, "max_age", 5.0)]
    conn.execute(INSERT, (b"\x02" * 32, "signed_out_tab", 6.0))
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(INSERT, (b"\x09" * 32, "whatever", 6.0))
    assert [r[1] for r in conn.execute("PRAGMA index_list(login_sessions_ended)")].count("login_sessions_ended_at") == 1
    conn.close()
