"""A page's write while another program holds the station database's write lock (an administrator's
``sync --resend``, ``users``, ``export``) past SQLite's busy timeout: the page answers 503 with
``Retry-After`` and the words of a busy database (nothing stored, try again), and what was stored before is
kept. Before, SQLite's own "database is locked" reached the page as a 500 ("internal error"): only writers
that passed ``busy_wait_ms`` had it said in words (station.store.db ``_begin``).

The busy timeout is lowered to 200 ms (it is 5 s) before the app opens its connections, so the test waits
200 ms, not 5 s."""

from __future__ import annotations

import sqlite3

import pytest

import station.store.db as db_module
from station.store.db import DATABASE_BUSY_MESSAGE

NEW = {"identifier": "LOCK-7", "birth_year": 1955, "sex": "F"}


@pytest.fixture(autouse=True)
def short_busy_timeout(monkeypatch):
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 200)


def test_a_page_write_under_another_programs_lock_is_refused_in_words_and_loses_nothing(clinician, store):
    created = clinician.post("/api/patients", NEW)
    assert created.status_code == 201, created.json
    pid = created.json["id"]
    other = sqlite3.connect(store.db.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another program's write lock, held past the busy timeout
        r = clinician.patch(f"/api/patients/{pid}", {"notes": "Walks with a stick."})
        assert r.status_code == 503, (r.status_code, r.json)
        assert r.headers["Retry-After"] == "5" and r.json == {"error": DATABASE_BUSY_MESSAGE}, r.json
        assert "locked" not in r.json["error"]
    finally:
        other.execute("COMMIT")
        other.close()
    kept = clinician.get(f"/api/patients/{pid}").json
    assert kept["identifier"] == "LOCK-7" and not kept.get("notes")  # nothing stored, nothing lost
    assert clinician.patch(f"/api/patients/{pid}", {"notes": "Walks with a stick."}).status_code == 200  # tried again
    assert clinician.get(f"/api/patients/{pid}").json["notes"] == "Walks with a stick."
