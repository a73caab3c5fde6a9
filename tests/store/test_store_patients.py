"""Patients and sessions: validation, search, edit, archive, erasure; audit log and settings."""

from __future__ import annotations

import sqlite3

import pytest

from station.store.audit import Actor
from station.store.db import DB_FILENAME, Conflict, NotFound, StoreError, ValidationError

from clinic_data import make_frames, metrics_doc

CAL = {"method": "nominal"}
GOOD = {
    "identifier": "P-0002",
    "birth_year": 1951,
    "sex": "M",
    "height_cm": 172.5,
    "weight_kg": 80,
    "conditions": ["stroke:left", "fall_12m"],
    "notes": "Uses a cane outdoors.\nRight-handed.",
}


def test_create_and_read_back(store, clinician):
    patient = store.patients.create(GOOD, actor=clinician)
    assert {k: patient[k] for k in GOOD} == {**GOOD, "weight_kg": 80.0}
    assert patient["archived"] is False
    assert store.patients.get_by_identifier("p-0002")["id"] == patient["id"]
    (entry,) = store.audit.query(patient_id=patient["id"])
    assert (entry["action"], entry["username"], entry["address"]) == ("patient.create", "ana", "10.0.0.7")
    assert entry["detail"] is None


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("identifier", "", "pseudonymous code"),
        ("identifier", "Jane Doe", "no names, no spaces"),
        ("identifier", "x" * 33, "1 to 32"),
        ("identifier", 123, "pseudonymous code"),
        ("identifier", None, "is required"),
        ("birth_year", 1850, "between 1900 and 2026"),
        ("birth_year", 2027, "between 1900 and 2026"),
        ("birth_year", "1950", "integer"),
        ("birth_year", 1950.5, "integer"),
        ("birth_year", True, "integer"),
        ("sex", "female", "'F', 'M' or 'X'"),
        ("sex", None, "is required"),
        ("height_cm", 20, "between 40 and 250 cm"),
        ("height_cm", "tall", "number"),
        ("height_cm", float("inf"), "finite"),
        ("weight_kg", 1000, "between 10 and 350 kg"),
        ("weight_kg", [70], "number"),
        ("conditions", "stroke:left", "list"),
        ("conditions", ["stroke"], "affected side"),
        ("conditions", ["diabetes", "flu"], "unknown condition"),
        ("conditions", ["other:Flu"], "unknown condition"),
        ("conditions", [f"other:c{i}" for i in range(21)], "at most 20"),
        ("notes", "x" * 2001, "at most 2000"),
        ("notes", "bell\x07", "control characters"),
        ("notes", 5, "string"),
        ("shoe_size", 42, "unknown field"),
    ],
)
def test_create_validates_every_field(store, clinician, field, value, message):
    data = {**GOOD, field: value}
    with pytest.raises(ValidationError) as info:
        store.patients.create(data, actor=clinician)
    assert message in info.value.fields[field]
    assert store.patients.search(archived="all")["total"] == 0
    assert store.audit.query() == []


def test_identifiers_are_unique_ignoring_case(store, clinician, patient):
    with pytest.raises(Conflict, match="already used"):
        store.patients.create({**GOOD, "identifier": "p-0001"}, actor=clinician)
    other = store.patients.create(GOOD, actor=clinician)
    with pytest.raises(Conflict):
        store.patients.update(other["id"], {"identifier": "P-0001"}, actor=clinician)


def test_conditions_are_deduplicated_and_other_tags_allowed(store, clinician):
    p = store.patients.create({**GOOD, "conditions": ["parkinsons", "other:long-covid", "parkinsons"]}, actor=clinician)
    assert p["conditions"] == ["parkinsons", "other:long-covid"]


def test_update_records_changed_field_names_only(store, clinician, patient):
    updated = store.patients.update(patient["id"], {"notes": "secret note", "sex": "F", "height_cm": 160}, actor=clinician)
    assert updated["notes"] == "secret note" and updated["height_cm"] == 160.0
    entry = store.audit.query(action="patient.update")[0]
    assert entry["detail"] == {"changed": ["height_cm", "notes"]}  # sex did not change
    assert "secret" not in str(entry)
    with pytest.raises(ValidationError):
        store.patients.update(patient["id"], {}, actor=clinician)
    with pytest.raises(ValidationError):
        store.patients.update(patient["id"], {"birth_year": None}, actor=clinician)
    with pytest.raises(NotFound):
        store.patients.update(999, {"notes": ""}, actor=clinician)


def test_archive_hides_from_default_list_and_blocks_new_sessions(store, clinician, patient):
    store.patients.update(patient["id"], {"archived": True}, actor=clinician)
    assert store.patients.search()["total"] == 0
    assert [p["id"] for p in store.patients.search(archived="yes")["patients"]] == [patient["id"]]
    with pytest.raises(Conflict, match="archived"):
        store.sessions.create(patient["id"], {}, actor=clinician)
    store.patients.update(patient["id"], {"archived": False}, actor=clinician)
    assert store.patients.search()["total"] == 1
    actions = [e["action"] for e in store.audit.query(patient_id=patient["id"])]
    assert actions[:2] == ["patient.unarchive", "patient.archive"]


def test_search_filters_sorts_and_pages(store, clinician, wall):
    for i, conds in enumerate([["parkinsons"], ["stroke:right"], [], ["parkinsons", "fall_12m"], []]):
        p = store.patients.create({"identifier": f"K{i:02d}", "birth_year": 1940 + i, "sex": "X", "conditions": conds}, actor=clinician)
        if i in (1, 3):
            wall.advance(60)
            store.sessions.create(p["id"], {"notes": "stood with help"}, actor=clinician)
        if i == 0:  # a test opened and closed before any trial: not a session to count, nor the last one
            wall.advance(600)
            store.sessions.create(p["id"], {}, actor=clinician)
    store.patients.create({"identifier": "ZZ_1", "birth_year": 1960, "sex": "F"}, actor=clinician)
    ids = lambda r: [p["identifier"] for p in r["patients"]]  # noqa: E731
    assert ids(store.patients.search(q="k0")) == ["K00", "K01", "K02", "K03", "K04"]
    assert ids(store.patients.search(q="_")) == ["ZZ_1"]  # LIKE wildcards are literal
    assert ids(store.patients.search(condition="parkinsons")) == ["K00", "K03"]
    assert ids(store.patients.search(sort="recent"))[:2] == ["K03", "K01"]
    page = store.patients.search(limit=2, offset=2)
    assert ids(page) == ["K02", "K03"] and page["total"] == 6
    k3 = store.patients.search(q="K03")["patients"][0]
    assert k3["session_count"] == 1 and k3["trial_count"] == 0 and k3["last_session_at"]
    k0 = store.patients.search(q="K00")["patients"][0]
    assert k0["session_count"] == 0 and k0["last_session_at"] is None  # as the patient page lists none
    for bad in ({"archived": "maybe"}, {"sort": "age"}, {"limit": 0}, {"limit": 501}, {"offset": -1}, {"q": "x" * 65}):
        with pytest.raises(ValidationError):
            store.patients.search(**bad)


def test_view_is_audited_and_lists_sessions_newest_first(store, clinician, patient, wall):
    s1 = store.sessions.create(patient["id"], {"label": "baseline"}, actor=clinician)
    wall.advance(86400 * 28)
    s2 = store.sessions.create(patient["id"], {"label": "week 4"}, actor=clinician)
    store.trials.import_trial(s1["id"], "romberg", "eo", CAL, 100.0, make_frames(100), metrics_doc(), True, None)
    detail = store.patients.view(patient["id"], actor=clinician)
    assert [s["id"] for s in detail["sessions"]] == [s2["id"], s1["id"]]
    assert [len(s["trials"]) for s in detail["sessions"]] == [0, 1]
    assert store.audit.query(action="patient.view")[0]["patient_id"] == patient["id"]
    with pytest.raises(NotFound):
        store.patients.view(12345, actor=clinician)


def test_session_fields(store, clinician, patient):
    s = store.sessions.create(patient["id"], {"label": "week 4", "started_at": "2026-01-01T10:00:00+01:00"}, actor=clinician)
    assert s["started_at"] == "2026-01-01T09:00:00.000Z" and s["created_by"] == "ana"
    s = store.sessions.update(s["id"], {"notes": "tired today"}, actor=clinician)
    assert s["notes"] == "tired today" and s["trials"] == []
    for bad in ({"label": "x" * 101}, {"started_at": "yesterday"}, {"started_at": "2026-01-01T10:00:00"}, {"room": 2}):
        with pytest.raises(ValidationError):
            store.sessions.create(patient["id"], bad, actor=clinician)
    with pytest.raises(NotFound):
        store.sessions.create(999, {}, actor=clinician)
    with pytest.raises(NotFound):
        store.sessions.get(999)


def test_erasure_needs_confirmation_and_removes_everything(store, clinician, patient):
    marker_notes = "ERASE-ME-NOTE-7f3a"
    store.patients.update(patient["id"], {"notes": marker_notes}, actor=clinician)
    session = store.sessions.create(patient["id"], {"label": "visit"}, actor=clinician)
    frames = make_frames(500)
    frames["ap_cm"] = 123.456789  # a distinctive raw-data pattern
    trial_id = store.trials.import_trial(session["id"], "romberg", "eo", CAL, 100.0, frames, metrics_doc(), True, None)
    keep = store.patients.create(GOOD, actor=clinician)

    with pytest.raises(ValidationError):
        store.patients.erase(patient["id"], "P-9999", actor=clinician)
    with pytest.raises(ValidationError):
        store.patients.erase(patient["id"], None, actor=clinician)
    assert store.trials.get(trial_id)["frame_count"] == 500

    removed = store.patients.erase(patient["id"], "p-0001", actor=clinician)
    assert removed == {"sessions": 1, "trials": 1, "frames": 500, "programmes": 0, "training_sessions": 0, "doses": 0}
    with pytest.raises(NotFound):
        store.patients.get(patient["id"])
    with pytest.raises(NotFound):
        store.trials.get(trial_id)
    with store.db.read() as conn:
        for table in ("sessions", "trials", "trial_chunks"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    assert store.patients.get(keep["id"])["identifier"] == "P-0002"
    entry = store.audit.query(action="patient.erase")[0]
    assert entry["patient_id"] == patient["id"] and entry["detail"] == removed
    # Earlier entries survive, naming the patient by number only.
    assert len(store.audit.query(patient_id=patient["id"])) >= 4
    # Nothing of the patient is left in the database files (secure_delete + WAL truncated).
    raw = b"".join(p.read_bytes() for p in store.data_dir.glob(DB_FILENAME + "*"))
    assert marker_notes.encode() not in raw
    assert b"P-0001" not in raw
    assert frames["ap_cm"][:4].tobytes() not in raw


def test_erasure_refused_while_recording(store, clinician, patient, session):
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    with pytest.raises(Conflict, match="being recorded"):
        store.patients.erase(patient["id"], "P-0001", actor=clinician)
    with pytest.raises(Conflict, match="being recorded"):
        store.patients.update(patient["id"], {"archived": True}, actor=clinician)
    writer.abort("stopped")
    store.patients.erase(patient["id"], "P-0001", actor=clinician)


def test_audit_log_is_append_only(store, clinician, patient):
    refused = StoreError if store.is_hub else sqlite3.IntegrityError  # the trigger in PL/pgSQL on PostgreSQL
    with pytest.raises(refused, match="append-only"):
        with store.db.write() as conn:
            conn.execute("UPDATE audit_log SET username = 'nobody'")
    with pytest.raises(refused, match="append-only"):
        with store.db.write() as conn:
            conn.execute("DELETE FROM audit_log")
    with pytest.raises(ValueError, match="unknown audit action"):
        store.audit.record(clinician, "patient.peek", patient_id=1)


def test_audit_query_filters(store, clinician, patient):
    other = Actor(3, "ben", None)
    store.patients.view(patient["id"], actor=other)
    store.patients.update(patient["id"], {"notes": "x"}, actor=clinician)
    assert [e["action"] for e in store.audit.query(username="ben")] == ["patient.view"]
    assert {e["action"] for e in store.audit.query(action="patient.")} == {"patient.create", "patient.view", "patient.update"}
    newest = store.audit.query(limit=1)
    assert newest[0]["action"] == "patient.update"
    older = store.audit.query(before_id=newest[0]["id"])
    assert [e["action"] for e in older] == ["patient.view", "patient.create"]
    assert store.audit.query(since="2100-01-01T00:00:00.000Z") == []
    with pytest.raises(ValidationError):
        store.audit.query(limit=0)


def test_settings_override_defaults_and_reset(store, clinician):
    assert store.settings.get("session_timeout_min") == 15.0
    result = store.settings.update({"session_timeout_min": 5, "clinic_name": "Physio Nord"}, actor=clinician)
    assert result["session_timeout_min"] == {"value": 5.0, "default": 15.0, "overridden": True}
    assert store.settings.get("clinic_name") == "Physio Nord"
    store.settings.update({"session_timeout_min": None}, actor=clinician)
    assert store.settings.get("session_timeout_min") == 15.0
    for bad in ({"session_timeout_min": 0}, {"session_timeout_min": "5"}, {"theme": "dark"}, {}, ["x"]):
        with pytest.raises(ValidationError):
            store.settings.update(bad, actor=clinician)
    assert store.settings.get("clinic_name") == "Physio Nord"
    assert store.audit.query(action="settings.update")[0]["detail"] == {"changed": ["session_timeout_min"]}


# -- a new identifier told to the open test once committed ---------------------------------------


def _told_of_changes(store, patient_id: int) -> list[str]:
    """What the patient's open test is told: per change, the identifier another thread (as the live
    page's) reads from the database at that moment."""
    import threading

    told = []

    def on_change():
        seen = []
        reader = threading.Thread(target=lambda: seen.append(store.patients.get(patient_id)["identifier"]))
        reader.start()
        reader.join(10)
        told.append(seen[0] if seen else "the read did not end")

    store.patients.open_tests.hold(patient_id, "Romberg test", on_change=on_change)
    return told


def test_a_new_identifier_is_told_once_the_outer_transaction_commits(store, patient, clinician):
    """Patients.update inside an outer transaction (the hub's put-back, Hub.undo_patient_version) told the
    open test at the end of its own block, a savepoint: the test read the record as it was committed,
    the old identifier (and before the outer transaction had even decided to commit)."""
    told = _told_of_changes(store, patient["id"])
    with store.db.write():
        store.patients.update(patient["id"], {"identifier": "P-0009"}, actor=clinician)
        assert told == []  # before: ['P-0001'], told from inside the transaction
    assert told == ["P-0009"]  # once, after the commit, and the record says it
    store.patients.update(patient["id"], {"identifier": "P-0010"}, actor=clinician)  # a transaction of its own
    assert told == ["P-0009", "P-0010"]


def test_a_new_identifier_rolled_back_is_never_told(store, patient, clinician):
    told = _told_of_changes(store, patient["id"])
    with pytest.raises(RuntimeError):
        with store.db.write():
            store.patients.update(patient["id"], {"identifier": "P-0009"}, actor=clinician)
            raise RuntimeError("the outer transaction fails after the update")
    with store.db.write():  # a savepoint rolled back inside a transaction that commits
        with pytest.raises(Conflict):
            store.patients.update(patient["id"], {"identifier": "P-0009", "archived": True}, actor=clinician)
    store.patients.update(patient["id"], {"notes": "a later change, of no identifier"}, actor=clinician)
    assert told == []  # before: ['P-0001'] (the change the outer transaction rolled back was told)
    assert store.patients.get(patient["id"])["identifier"] == "P-0001"
