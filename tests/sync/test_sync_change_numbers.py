"""Patient updates page by the hub's change numbers (``patients.change_seq``), never by its clock:
a hub clock stepping back (an NTP correction) must not hide a change from a station that already
asked past the time the clock went back to. Migration 12 numbers the patients a database already
holds in the order of their last change."""

from __future__ import annotations

import sqlite3

from station.store.migrations import MIGRATIONS, migrate
from station.store.pg import PgDatabase
from station.store.pg_schema import migrate_postgres
from station.sync.hub import Hub

from sync_support import CLINICIAN, hub_patient


def test_a_hub_clock_stepping_back_hides_no_change_from_a_station(clocked_hub):
    wall, hub_store, gym = clocked_hub
    first = gym.store.patients.create({"identifier": "C-1", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    second = gym.store.patients.create({"identifier": "C-2", "birth_year": 1951, "sex": "M"}, actor=CLINICIAN)
    gym.sync_once()
    wall.advance(600)
    hub_store.patients.update(hub_patient(hub_store, "C-1")["id"], {"weight_kg": 61.0}, actor=CLINICIAN)
    assert gym.sync_once().refreshed == 1
    wall.advance(-300)  # NTP steps the hub's clock back 5 min: the next change is stamped before C-1's
    hub_store.patients.update(hub_patient(hub_store, "C-2")["id"], {"weight_kg": 82.0}, actor=CLINICIAN)
    assert hub_patient(hub_store, "C-2")["updated_at"] < hub_patient(hub_store, "C-1")["updated_at"]

    assert gym.sync_once().refreshed == 1
    assert gym.store.patients.get(second["id"])["weight_kg"] == 82.0  # before: 0 refreshed, C-2 stale for ever
    assert gym.store.patients.get(first["id"])["weight_kg"] == 61.0
    assert gym.sync_once().refreshed == 0  # nothing is answered twice


def test_a_station_cursor_beyond_the_hub_s_last_change_starts_again(clocked_hub):
    """The hub's database restored from an older backup gives change numbers a station has already
    passed: the hub answers such a cursor from the start."""
    _wall, hub_store, gym = clocked_hub
    gym.store.patients.create({"identifier": "C-3", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    gym.sync_once()
    station = Hub(hub_store).station_named("gym")
    answer = Hub(hub_store).patient_updates(station, after=10**9)
    assert [p["fields"]["identifier"] for p in answer["patients"]] == ["C-3"]
    assert answer["until"] == answer["patients"][0]["change"]


def test_a_station_before_change_numbers_is_still_answered_by_time(clocked_hub):
    _wall, hub_store, gym = clocked_hub
    gym.store.patients.create({"identifier": "C-4", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    gym.sync_once()
    station = Hub(hub_store).station_named("gym")
    answer = Hub(hub_store).patient_updates(station, "")
    [item] = answer["patients"]
    assert item["fields"]["identifier"] == "C-4" and answer["until"] == item["updated_at"]
    assert Hub(hub_store).patient_updates(station, answer["until"])["patients"] == []


_PATIENTS_V11 = [  # (identifier, updated_at): ids in another order than their last changes
    ("M-1", "2026-03-01T10:00:00.000Z"), ("M-2", "2026-01-01T10:00:00.000Z"), ("M-3", "2026-02-01T10:00:00.000Z"),
    ("M-4", "2026-01-01T10:00:00.000Z"),
]


def _insert_v11(execute) -> None:
    for identifier, at in _PATIENTS_V11:
        execute("INSERT INTO patients (identifier, birth_year, sex, created_at, updated_at) VALUES (?, 1950, 'F', ?, ?)",
                (identifier, at, at))


def test_migration_12_numbers_existing_patients_in_the_order_of_their_last_change_on_sqlite(tmp_path):
    conn = sqlite3.connect(tmp_path / "station.db", isolation_level=None)
    migrate(conn, MIGRATIONS[:11])
    _insert_v11(conn.execute)
    assert 12 in migrate(conn)
    rows = conn.execute("SELECT identifier, change_seq FROM patients ORDER BY change_seq").fetchall()
    assert rows == [("M-2", 1), ("M-4", 2), ("M-3", 3), ("M-1", 4)]
    assert conn.execute("SELECT value FROM change_counters WHERE name = 'patients'").fetchone()[0] == 4
    conn.close()


def test_migration_12_numbers_existing_patients_on_postgresql(pg_empty_url):
    db = PgDatabase(pg_empty_url)
    try:
        migrate_postgres(db._writer, MIGRATIONS[:11])
        with db.write() as conn:
            _insert_v11(conn.execute)
        assert 12 in db.migrate()  # and the later ones
        with db.read() as conn:
            rows = [tuple(r) for r in conn.execute("SELECT identifier, change_seq FROM patients ORDER BY change_seq")]
            counter = conn.execute("SELECT value FROM change_counters WHERE name = 'patients'").fetchone()[0]
        assert rows == [("M-2", 1), ("M-4", 2), ("M-3", 3), ("M-1", 4)] and counter == 4
    finally:
        db.close()
