"""Notes and the clinician's judgement: a trial's note and a session's note are stored (migration
4 on an older database too), audited without their text, shown in the results and exported; an
override keeps the station's own verdict and says who overrode it."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest

from station.protocols.loader import builtin_protocols
from station.protocols.report import session_results
from station.store.db import Conflict, ValidationError
from station.store.export import patient_history_csv, trial_sidecar
from station.store.migrations import MIGRATIONS, migrate

from dashboard_support import ACTOR
from test_api_station import make_app
from test_readable_results import make_frames, store_unable_trial

BACKENDS = ("sqlite", "postgresql")
"""The tests using the store run on the station's SQLite and on the hub's PostgreSQL (conftest)."""

PROTOCOLS = builtin_protocols()


def finished_trial(store, session_id: int, *, valid: bool = True, reason: str | None = None) -> dict:
    writer = store.trials.start_trial(session_id, "romberg", "eyes_open", {"method": "nominal"}, 100.0, actor=ACTOR)
    writer.append(make_frames(300))
    doc = {"fs_hz": 100.0, "samples": 300, "profile": "station", "version": "t", "metrics": {"mean_velocity_cm_s": 1.0}}
    return writer.finish(doc, valid, reason)


def test_a_note_and_an_override_keep_the_station_verdict_and_are_audited_without_their_text(store, patient):
    session = store.sessions.create(patient["id"], {"label": "Romberg"}, actor=ACTOR)
    trial = finished_trial(store, session["id"], valid=False, reason="stepped off the plate at 12 s")
    assert trial["notes"] == "" and trial["judged_by"] is None
    assert trial["station_check"] == {"valid": False, "reason": "stepped off the plate at 12 s", "unable": None}

    noted = store.trials.judge(trial["id"], {"notes": "wore her own shoes\nsaid she felt dizzy"}, actor=ACTOR)
    assert noted["notes"] == "wore her own shoes\nsaid she felt dizzy"
    assert noted["valid"] is False and noted["judged_by"] is None  # a note alone overrides nothing

    judged = store.trials.judge(trial["id"], {"valid": True, "validity_reason": "a stumble, not a step"}, actor=ACTOR)
    assert judged["valid"] is True and judged["judged_by"] == "ana" and judged["judged_at"]
    assert judged["notes"] == "wore her own shoes\nsaid she felt dizzy"
    assert judged["station_check"] == {"valid": False, "reason": "stepped off the plate at 12 s", "unable": None}
    # a second override keeps the station's verdict, not the first override
    again = store.trials.judge(trial["id"], {"valid": False, "validity_reason": "talked throughout"}, actor=ACTOR)
    assert again["station_check"] == {"valid": False, "reason": "stepped off the plate at 12 s", "unable": None}

    entries = store.audit.query(action="trial.update")
    details = sorted(json.dumps(e["detail"], sort_keys=True) for e in entries)
    assert len(entries) == 3 and not any("dizzy" in d or "stumble" in d or "talked" in d for d in details)
    assert {"changed": ["notes"]} in [e["detail"] for e in entries]

    before = store.trials.get(trial["id"])
    for data, field in (({}, "valid"), ({"notes": 5}, "notes"), ({"notes": "x" * 2001}, "notes"),
                        ({"validity_reason": "x"}, "valid"), ({"valid": False}, "validity_reason"),
                        ({"valid": True, "colour": "red"}, "colour")):
        with pytest.raises(ValidationError) as exc:
            store.trials.judge(trial["id"], data, actor=ACTOR)
        assert field in exc.value.fields, data
    assert store.trials.get(trial["id"]) == before  # nothing of a refused change stored


def test_a_recording_trial_takes_no_judgement(store, patient):
    session = store.sessions.create(patient["id"], {}, actor=ACTOR)
    writer = store.trials.start_trial(session["id"], "romberg", "eyes_open", {"method": "nominal"}, 100.0, actor=ACTOR)
    with pytest.raises(Conflict, match="still recording"):
        store.trials.judge(writer.trial_id, {"notes": "x"}, actor=ACTOR)
    writer.abort("test over")


def test_notes_are_in_the_results_and_in_both_exports(store, patient):
    session = store.sessions.create(patient["id"], {"label": "Single-leg stance"}, actor=ACTOR)
    store.sessions.update(session["id"], {"notes": "=came by bus, tired"}, actor=ACTOR)
    unable = store_unable_trial(store, session["id"])
    store.trials.judge(unable["id"], {"notes": "afraid to lift the foot"}, actor=ACTOR)
    line = session_results(store, session["id"], PROTOCOLS, actor=ACTOR)["protocols"][0]["conditions"][0]["trials"][0]
    assert line["notes"] == "afraid to lift the foot" and line["judged_by"] is None and line["unable"]

    rows = list(csv.DictReader(io.StringIO(patient_history_csv(store, patient["id"], actor=ACTOR))))
    assert rows[0]["trial_notes"] == "afraid to lift the foot"
    assert rows[0]["session_notes"] == "'=came by bus, tired"  # not a formula in a spreadsheet
    sidecar = trial_sidecar(store, store.trials.get(unable["id"]))
    assert sidecar["notes"] == "afraid to lift the foot" and sidecar["session_notes"] == "=came by bus, tired"
    assert sidecar["station_check"]["valid"] is False

    # judged invalid for a reason of the clinician's own: no longer "unable", and who said so is listed
    store.trials.judge(unable["id"], {"valid": False, "validity_reason": "misunderstood the instruction"}, actor=ACTOR)
    line = session_results(store, session["id"], PROTOCOLS, actor=ACTOR)["protocols"][0]["conditions"][0]["trials"][0]
    assert not line["unable"] and line["judged_by"] == "ana"


def test_a_database_of_schema_3_upgrades_and_keeps_its_trials(tmp_path):
    """Migration 4 adds the columns to an existing database (and every later one runs after it); its
    trials keep their verdicts."""
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    migrate(conn, MIGRATIONS[:3])
    conn.execute("INSERT INTO patients (identifier, birth_year, sex, created_at, updated_at)"
                 " VALUES ('P-9', 1950, 'F', 't', 't')")
    conn.execute("INSERT INTO sessions (patient_id, started_at, created_by) VALUES (1, 't', 'ana')")
    conn.execute("INSERT INTO trials (session_id, protocol, condition, status, started_at, rate_hz, calibration,"
                 " frame_dtype, valid, validity_reason, station_version, recorded_by)"
                 " VALUES (1, 'romberg', 'eyes_open', 'complete', 't', 100, '{}', '[]', 0, 'talked', 'v', 'ana')")
    assert migrate(conn) == [m.version for m in MIGRATIONS[3:]] and MIGRATIONS[3].version == 4
    row = conn.execute("SELECT notes, judged_by, valid, validity_reason FROM trials").fetchone()
    assert row == ("", None, 0, "talked")
    conn.close()


def test_the_api_takes_a_note_a_judgement_or_both_in_one_change(tmp_path, store, patient):
    _app, api = make_app(tmp_path, store)
    session = store.sessions.create(patient["id"], {}, actor=ACTOR)
    trial = finished_trial(store, session["id"])
    url = f"/api/trials/{trial['id']}"
    r = api.patch(url, {"notes": "patient talked a little"})
    assert r.status_code == 200 and r.get_json()["notes"] == "patient talked a little" and r.get_json()["valid"]
    r = api.patch(url, {"valid": False, "validity_reason": "talked throughout", "notes": ""})
    body = r.get_json()
    assert r.status_code == 200 and body["valid"] is False and body["notes"] == "" and body["judged_by"] == "ana"
    assert body["station_check"] == {"valid": True, "reason": None, "unable": None}  # not a single-leg trial unable
    r = api.patch(url, {"notes": ["not", "text"]})
    assert r.status_code == 422 and "notes" in r.get_json()["fields"]
    assert api.client.patch(url, json={"notes": "no token"}).status_code == 403
    assert store.trials.get(trial["id"])["notes"] == ""
