"""Trials (detail, validity, frames, exports), administration (users, settings, audit), and the
rule that no patient data reaches the application log."""

from __future__ import annotations

import io
import json
import logging
import zipfile

import numpy as np
import pytest

from station.store.audit import Actor
from web_support import CAL, ApiClient, clinic_data, fingerprint, hub_sample

BACKENDS = ("sqlite", "postgresql")
"""Every test here runs on the station's SQLite and on the hub's PostgreSQL (conftest's ``backend``);
a ``@hub_sample`` matrix runs every case on SQLite and a sample on the hub (the rule: tests/conftest.py)."""
FIELD_CHECKS = "the other refusals are the same checks in Python of the fields before any SQL (station/store/fields.py)"

# -- trials --------------------------------------------------------------------------------------


def test_trial_detail_with_metrics_and_audit(clinician, store, records):
    r = clinician.get(f"/api/trials/{records['trial']}")
    assert r.status_code == 200
    trial = r.json
    assert trial["patient_id"] == records["patient"] and trial["session_id"] == records["session"]
    assert trial["metrics"] == clinic_data.metrics_doc()
    assert trial["calibration"] == CAL and trial["rate_hz"] == 100.0 and trial["frame_count"] == 1000
    assert trial["status"] == "complete" and trial["valid"] is True
    assert store.audit.query(action="trial.view")[0]["object"] == f"trial:{records['trial']}"


def test_partial_trial_is_shown_as_partial(clinician, store, records):
    writer = store.trials.start_trial(records["session"], "romberg", "eyes_closed", CAL, 100.0)
    writer.append(clinic_data.make_frames(40))
    writer.flush()
    from station.store.store import Store

    with Store.open(store.data_dir, database=store.database_url) as other:  # what the next service start does
        other.recover_partial_trials()
    trial = clinician.get(f"/api/trials/{writer.trial_id}").json
    assert trial["status"] == "partial" and trial["valid"] is False and trial["frame_count"] == 40
    summary = clinician.get(f"/api/sessions/{records['session']}").json["trials"][-1]
    assert summary["status"] == "partial"


def test_set_trial_validity(clinician, store, records):
    url = f"/api/trials/{records['trial']}"
    r = clinician.patch(url, {"valid": False, "validity_reason": "patient talked"})
    assert r.status_code == 200 and r.json["valid"] is False and r.json["validity_reason"] == "patient talked"
    before = fingerprint(store)
    for body, field in (({"valid": False}, "validity_reason"), ({"valid": "no"}, "valid"), ({}, "valid"),
                        ({"valid": True, "metrics": {}}, "metrics"), ({"valid": True, "validity_reason": 5}, "validity_reason")):
        r = clinician.patch(url, body)
        assert r.status_code == 422 and field in r.json["fields"], body
    assert clinician.patch("/api/trials/9999", {"valid": True}).status_code == 404
    assert fingerprint(store) == before


def test_frames_for_plotting(clinician, records):
    url = f"/api/trials/{records['trial']}/frames"
    r = clinician.get(url)
    assert r.status_code == 200
    doc = r.json
    assert doc["frame_count"] == 1000 and doc["step"] == 1
    assert set(doc["columns"]) == {"time_s", "ap_cm", "ml_cm", "fz_n"}
    assert doc["columns"]["ap_cm"][3] is None  # NaN becomes null
    assert doc["columns"]["time_s"][:2] == [0.0, 0.01]
    doc = clinician.get(url + "?fields=seq,flags,ml_cm&max_points=100").json
    assert doc["step"] == 10 and len(doc["columns"]["seq"]) == 100 and doc["columns"]["seq"][1] == 10
    np.testing.assert_allclose(doc["columns"]["ml_cm"], records["frames"]["ml_cm"][::10])
    for query, field in (("?fields=password", "fields"), ("?fields=", "fields"), ("?max_points=5", "max_points"),
                         ("?max_points=x", "max_points")):
        r = clinician.get(url + query)
        if query == "?fields=":  # empty means the default set
            assert r.status_code == 200
            continue
        assert r.status_code == 422 and field in r.json["fields"]


def test_frames_time_is_the_sample_grid_not_the_wake_time(clinician, store, records):
    """DESIGN.md §3: ``time_s`` is ``(seq − seq₀)/rate_hz``. Wake-ups 6 ms late (as on a loaded
    Pi) and a lost frame (seq 5 missing) must show as the grid and a gap of whole periods, not
    as the moments the loop woke; the trial's ``t_ns`` are far beyond float precision."""
    who = Actor(records["user"], "ana")
    frames = clinic_data.make_frames(12, start_seq=40)
    frames = frames[np.arange(12) != 5]  # frame seq 45 lost
    frames["t_ns"] = 2**62 + (frames["seq"] - 40) * 10_000_000
    frames["t_ns"][2] += 6_000_000  # woke 6 ms late: kept (LATE), still on the grid
    tid = store.trials.import_trial(records["session"], "romberg", "eyes_open", CAL, 100.0, frames,
                                    clinic_data.metrics_doc(), True, None, actor=who)
    doc = clinician.get(f"/api/trials/{tid}/frames?fields=time_s,seq").json
    expected = ((frames["seq"] - 40) / 100.0).tolist()
    assert doc["columns"]["time_s"] == expected
    assert doc["columns"]["time_s"][5] - doc["columns"]["time_s"][4] == pytest.approx(0.02)  # the gap
    doc = clinician.get(f"/api/trials/{tid}/frames?fields=time_s&max_points=10").json
    assert doc["step"] == 2 and doc["columns"]["time_s"] == expected[::2]
    lines = clinician.get(f"/api/trials/{tid}/export.csv").get_data(as_text=True).splitlines()
    header = lines[0].split(",")
    t_ns = [int(line.split(",")[header.index("t_ns")]) for line in lines[1:]]
    assert t_ns == frames["t_ns"].tolist()  # integers, to the nanosecond


def test_trial_exports(clinician, store, records):
    tid = records["trial"]
    r = clinician.get(f"/api/trials/{tid}/export.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"] == f'attachment; filename="trial-{tid}.csv"'
    lines = r.get_data(as_text=True).splitlines()
    assert lines[0].startswith("time_s,ap_cm,ml_cm,fz_n,fl_n,fr_n,bl_n,br_n") and len(lines) == 1001
    side = clinician.get(f"/api/trials/{tid}/export.json").json
    assert side["rate_hz"] == 100.0 and side["protocol"] == "romberg" and side["patient_identifier"] == "PT-100"
    z = clinician.get(f"/api/trials/{tid}/export.zip")
    archive = zipfile.ZipFile(io.BytesIO(z.data))
    assert sorted(archive.namelist()) == [f"trial-{tid}.csv", f"trial-{tid}.json"]
    assert json.loads(archive.read(f"trial-{tid}.json"))["trial_id"] == tid
    assert len(store.audit.query(action="trial.export")) == 3
    assert clinician.get("/api/trials/9999/export.zip").status_code == 404


# -- administration ------------------------------------------------------------------------------


def test_user_management(admin, store, app, accounts):
    users = admin.get("/api/users").json["users"]
    assert [u["username"] for u in users] == ["ana", "root"] and all("password_hash" not in u for u in users)
    r = admin.post("/api/users", {"username": "ben", "password": "ben's long password", "role": "clinician"})
    assert r.status_code == 201 and r.json["role"] == "clinician"
    assert ApiClient(app.test_client()).login("ben", "ben's long password").status_code == 200
    r = admin.patch(f"/api/users/{r.json['id']}", {"role": "admin"})
    assert r.status_code == 200 and r.json["role"] == "admin"
    r = admin.patch(f"/api/users/{accounts['ana']['id']}", {"password": "reset by admin 1"})
    assert r.status_code == 200
    assert ApiClient(app.test_client()).login("ana", "reset by admin 1").status_code == 200


USER_CREATION_REFUSALS = [
    ({"username": "ana", "password": "a long password", "role": "clinician"}, 409, None),
    ({"username": "new", "password": "short", "role": "clinician"}, 422, "password"),
    ({"username": "new", "password": "a long password", "role": "owner"}, 422, "role"),
    ({"username": "new one", "password": "a long password", "role": "admin"}, 422, "username"),
    ({"username": "new", "password": "a long password"}, 422, "role"),
    ({"username": "new", "password": "a long password", "role": "admin", "email": "x"}, 422, "email"),
    ({"username": ["new"], "password": "a long password", "role": "admin"}, 422, "username"),
]


@hub_sample("body, status, field", USER_CREATION_REFUSALS, lambda case: case[2] in (None, "role"),
            ids=lambda case: f"{USER_CREATION_REFUSALS.index(case)}-{case[2] or 'taken'}", reason=FIELD_CHECKS)
def test_user_creation_refusals(admin, store, accounts, body, status, field):
    before = fingerprint(store)
    r = admin.post("/api/users", body)
    assert r.status_code == status
    if field:
        assert field in r.json["fields"]
    assert fingerprint(store) == before


USER_UPDATE_REFUSALS = [({"role": "owner"}, 422), ({"disabled": "yes"}, 422), ({"password": 5}, 422), ({}, 422),
                        ({"name": "x"}, 422)]


@hub_sample("body, status", USER_UPDATE_REFUSALS, lambda case: case[0] in ({"role": "owner"}, {"disabled": "yes"}),
            ids=lambda case: ",".join(case[0]) or "empty", reason=FIELD_CHECKS)
def test_user_update_refusals(admin, store, accounts, body, status):
    before = fingerprint(store)
    assert admin.patch(f"/api/users/{accounts['ana']['id']}", body).status_code == status
    assert fingerprint(store) == before


def test_last_admin_protected_and_unknown_user(admin, store, accounts):
    r = admin.patch(f"/api/users/{accounts['root']['id']}", {"disabled": True})
    assert r.status_code == 409 and "last active administrator" in r.json["error"]
    assert admin.patch("/api/users/9999", {"disabled": True}).status_code == 404


def test_settings_api(admin, clinician):
    doc = admin.get("/api/settings").json["settings"]
    assert doc["session_timeout_min"] == {"value": 15.0, "default": 15.0, "overridden": False}
    r = admin.patch("/api/settings", {"clinic_name": "Physio Nord", "session_timeout_min": 30})
    assert r.status_code == 200 and r.json["settings"]["clinic_name"]["value"] == "Physio Nord"
    assert clinician.get("/api/session").json["session_timeout_min"] == 30.0
    for bad in ({"session_timeout_min": 0}, {"session_timeout_min": 1e9}, {"session_timeout_min": "30"},
                {"theme": "dark"}, {}):
        r = admin.patch("/api/settings", bad)
        assert r.status_code == 422
    assert admin.get("/api/settings").json["settings"]["session_timeout_min"]["value"] == 30.0


def test_audit_api(admin, clinician, records):
    clinician.get(f"/api/patients/{records['patient']}")
    clinician.get(f"/api/trials/{records['trial']}/export.csv")
    entries = admin.get(f"/api/audit?patient_id={records['patient']}").json["entries"]
    assert [e["action"] for e in entries[:2]] == ["trial.export", "patient.view"]
    assert all(e["username"] == "ana" and e["patient_id"] == records["patient"] for e in entries)
    assert admin.get("/api/audit?action=patient.").json["entries"][0]["action"] == "patient.view"
    assert admin.get("/api/audit?username=root&action=user.login").json["entries"][0]["username"] == "root"
    page = admin.get("/api/audit?limit=2").json
    older = admin.get(f"/api/audit?before_id={page['next_before_id']}&limit=2").json["entries"]
    assert older[0]["id"] < page["entries"][-1]["id"]
    assert admin.get("/api/audit?since=2100-01-01T00:00:00Z").json["entries"] == []
    for query, field in (("limit=0", "limit"), ("patient_id=x", "patient_id"), ("action=patient.peek", "action"),
                         ("since=yesterday", "since"), ("until=2025-01-01T00:00:00", "until"), ("who=ana", "who")):
        r = admin.get(f"/api/audit?{query}")
        assert r.status_code == 422 and field in r.json["fields"], query


# -- the application log ---------------------------------------------------------------------------


def test_no_patient_data_in_the_application_log(app, admin, clinician, store, records, caplog, monkeypatch):
    secrets = ["PT-100", "PT-200", "likes mornings", "1947", "Walks-secretly", "PT-NEW-9"]
    caplog.set_level(logging.DEBUG)
    pid = records["patient"]
    clinician.post("/api/patients/search", {"q": "PT-1"})
    clinician.get("/api/patients?q=PT-100")  # refused (400): the identifier belongs in a POST's body
    clinician.get(f"/api/patients/{pid}")
    clinician.patch(f"/api/patients/{pid}", {"notes": "Walks-secretly"})
    clinician.post("/api/patients", {"identifier": "PT-NEW-9", "birth_year": 1947, "sex": "F"})
    clinician.post("/api/patients", {"identifier": "PT-100", "birth_year": 1947, "sex": "F"})  # conflict
    clinician.post("/api/patients", {"identifier": "PT-NEW-9", "birth_year": "1947", "sex": "F"})  # invalid
    clinician.get(f"/api/patients/{pid}/export.csv")
    clinician.get(f"/api/trials/{records['trial']}/export.zip")
    ApiClient(app.test_client()).login("ana", "wrong password")

    def explode(*args, **kwargs):  # an unexpected error whose message holds patient data
        raise RuntimeError("boom while handling " + " ".join(secrets[:3]))

    monkeypatch.setattr(store.patients, "view", explode)
    r = clinician.get(f"/api/patients/{pid}")
    assert r.status_code == 500 and r.json["error"] == "internal error; the station log has details"
    admin.delete(f"/api/patients/{records['other']}", {"confirm_identifier": "PT-200"})
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "RuntimeError" in logged  # the error itself is logged...
    for secret in secrets:
        assert secret not in logged  # ...but never patient data


def test_every_audit_action_has_words_on_the_audit_page():
    """The administrator's audit page says each action in words (web/static/js/admin.js): an
    action added to the store without its words showed as a raw code (training.*, sync.skip)."""
    import re
    from pathlib import Path

    from station.store.audit import ACTIONS

    script = (Path(__file__).resolve().parents[2] / "web" / "static" / "js" / "admin.js").read_text(encoding="utf-8")
    worded = set(re.findall(r'"([a-z_]+\.[a-z_]+)":\s*"', script))
    assert ACTIONS <= worded, sorted(ACTIONS - worded)
