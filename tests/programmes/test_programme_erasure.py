"""A patient's programme data goes where their other data goes: counted and gone for good on erasure
(nothing left in the database files), in their export, in backups and back with a restore."""

from __future__ import annotations

import json

import pytest

from station.store.backup import create_backup, inspect_database, restore_backup
from station.store.db import DB_FILENAME, NotFound
from station.store.export import patient_programmes_json
from station.store.store import Store

from programme_support import ACTOR, CHEAP, START_S

NOTES = "felt dizzy near the window xq7"
MISSED = "grandson's wedding zr4"
PAUSED = "hip surgery wk9"


def _programme(store, patient, builtins):
    pilot = store.programmes.assign(patient["id"], builtins["backward-walking-stroke"], "2026-01-05", actor=ACTOR)
    sessions = pilot["sessions"]
    store.programmes.enter_dose(sessions[0]["id"], {"minutes": 28, "notes": NOTES}, actor=ACTOR)
    store.programmes.enter_dose(sessions[1]["id"], {"minutes": 30}, actor=ACTOR)
    store.programmes.miss_session(sessions[2]["id"], {"reason": MISSED}, actor=ACTOR)
    store.programmes.pause(pilot["id"], {"reason": PAUSED}, actor=ACTOR)
    return pilot


def test_erasure_counts_the_programmes_and_leaves_nothing_of_them(store, patient, builtins):
    pilot = _programme(store, patient, builtins)
    other = store.patients.create({"identifier": "P-200", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
    kept = store.programmes.assign(other["id"], builtins["balance-training"], "2026-01-05", actor=ACTOR)
    removed = store.patients.erase(patient["id"], "P-100", actor=ACTOR)
    assert removed == {"sessions": 0, "trials": 0, "frames": 0, "programmes": 1,
                       "training_sessions": len(pilot["sessions"]), "doses": 2}
    assert store.audit.query(action="patient.erase")[0]["detail"] == removed
    with pytest.raises(NotFound):
        store.programmes.get(pilot["id"])
    assert store.programmes.get(kept["id"])["status"] == "active"  # another patient's programme stays
    raw = b"".join(p.read_bytes() for p in store.data_dir.glob(DB_FILENAME + "*"))
    for text in (NOTES, MISSED, PAUSED, "P-100"):
        assert text.encode() not in raw, text


def test_the_export_holds_every_programme_detail(store, patient, builtins):
    pilot = _programme(store, patient, builtins)
    doc = json.loads(patient_programmes_json(store, patient["id"], actor=ACTOR))
    (programme,) = doc["programmes"]
    assert programme["id"] == pilot["id"] and programme["status"] == "paused"
    text = json.dumps(doc)
    for detail in (NOTES, MISSED, PAUSED):
        assert detail in text


def test_a_backup_keeps_the_programmes_and_a_restore_brings_them_back(tmp_path, wall, builtins):
    data = tmp_path / "station"
    with Store.open_service(data, password_cost=CHEAP, wall_clock=wall) as store:
        patient = store.patients.create({"identifier": "P-100", "birth_year": 1955, "sex": "M"}, actor=ACTOR)
        pilot = _programme(store, patient, builtins)
        before = store.programmes.get(pilot["id"])
    backup = create_backup(data, now_s=START_S + 60)
    assert inspect_database(backup.path).programmes == 1
    with Store.open_service(data, password_cost=CHEAP, wall_clock=wall) as store:
        store.patients.erase(patient["id"], "P-100", actor=ACTOR)
    # the erasure cannot reach a copy made before it (said in README and on the erase dialog)
    assert inspect_database(backup.path).programmes == 1
    result = restore_backup(data, backup.path, now_s=START_S + 120)
    assert result.restored.programmes == 1
    with Store.open_service(data, password_cost=CHEAP, wall_clock=wall) as store:
        assert store.programmes.get(pilot["id"]) == before
