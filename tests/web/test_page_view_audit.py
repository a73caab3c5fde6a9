"""Every page that names a patient is audited, and so is the list of a patient's programmes (X1 finding
F4, session 25): the visit results page and the programme page put the patient's identifier in their
heading with no audit entry, and ``GET /api/patients/<id>/programmes`` answered a patient's programmes
unaudited, so a signed-in user walking ``/sessions/1``, ``/sessions/2``, ... read every patient's
identifier without a trace (the patient list itself is audited). A page is audited once per login
session and patient (web.exposure), as the station's status is."""

from __future__ import annotations

import re

import pytest

from station.store.audit import Actor

from web_support import CLINICIAN_PW, ApiClient

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture
def programme(app, store, records):
    from web.api_programmes import templates

    with app.test_request_context():
        found, _problem = templates()
    template = found[sorted(found)[0]]
    return store.programmes.assign(records["patient"], template, "2026-12-01", actor=Actor(None, "cli:test"))["id"]


def _entries(store, username: str, action: str) -> list[dict]:
    return [e for e in store.audit.query(username=username, limit=1000) if e["action"] == action]


def test_every_page_that_names_a_patient_is_audited(app, store, records, programme, clinician, admin):
    """As a clinician; a page for administrators only (the hub's versions of a patient) as ``root``."""
    ids = {"patient_id": records["patient"], "session_id": records["session"], "trial_id": records["trial"],
           "assignment_id": programme}
    rules = [rule for rule in app.url_map.iter_rules()
             if "GET" in rule.methods and not rule.rule.startswith("/api/")
             and re.search(r"<int:(patient|session|trial|assignment)_id>", rule.rule)]
    assert len(rules) >= 5
    named = []
    for rule in rules:
        path = re.sub(r"<int:(\w+)>", lambda m: str(ids[m.group(1)]), rule.rule)
        admin_only = getattr(app.view_functions[rule.endpoint], "station_roles", None) == frozenset({"admin"})
        client, username = (admin, "root") if admin_only else (clinician, "ana")
        before = len(store.audit.query(username=username, patient_id=records["patient"], limit=1000))
        response = client.get(path)
        assert response.status_code == 200, path
        if "PT-100" in response.get_data(as_text=True):
            named.append(path)
            after = len(store.audit.query(username=username, patient_id=records["patient"], limit=1000))
            assert after == before + 1, f"{path} names the patient without an audit entry"
    hub = [f"/hub/patients/{records['patient']}/versions"] if app.config.get("HUB") else []
    assert sorted(named) == sorted([f"/sessions/{records['session']}", f"/assignments/{programme}", *hub])


def test_a_results_page_is_audited_once_per_login_session_and_patient(app, store, records, clinician):
    path = f"/sessions/{records['session']}"
    for _ in range(3):
        assert clinician.get(path).status_code == 200
    entries = _entries(store, "ana", "session.view")
    assert len(entries) == 1
    assert (entries[0]["patient_id"], entries[0]["object"]) == (records["patient"], f"session:{records['session']}")
    again = ApiClient(app.test_client())  # another login session of the same user: audited again
    assert again.login("ana", CLINICIAN_PW).status_code == 200
    assert again.get(path).status_code == 200
    assert len(_entries(store, "ana", "session.view")) == 2


def test_the_programme_page_is_audited(store, records, programme, clinician):
    assert clinician.get(f"/assignments/{programme}").status_code == 200
    entries = _entries(store, "ana", "programme.view")
    assert [(e["patient_id"], e["object"]) for e in entries] == [(records["patient"], f"programme:{programme}")]


def test_the_list_of_a_patients_programmes_is_audited(store, records, programme, clinician):
    response = clinician.get(f"/api/patients/{records['patient']}/programmes")
    assert response.status_code == 200 and [p["id"] for p in response.json["programmes"]] == [programme]
    entries = _entries(store, "ana", "programme.view")
    assert [(e["patient_id"], e["object"]) for e in entries] == [(records["patient"], f"patient:{records['patient']}")]


def test_a_missing_record_audits_nothing(store, records, clinician):
    before = len(store.audit.query(username="ana", limit=1000))
    assert clinician.get("/sessions/999999").status_code == 404
    assert clinician.get("/assignments/999999").status_code == 404
    assert clinician.get("/api/patients/999999/programmes").status_code == 404
    assert len(store.audit.query(username="ana", limit=1000)) == before


def test_the_recorded_elsewhere_lookups_are_audited(store, records, programme, clinician):
    """X1 finding F7 (session 25): which stations recorded a patient's visits, trials and programme fields
    (``GET .../recorded-elsewhere``, asked by the history and programme pages) was answered unaudited."""
    patient = records["patient"]
    assert clinician.get(f"/api/patients/{patient}/recorded-elsewhere").status_code == 200
    assert [(e["patient_id"], e["object"], e["detail"]) for e in _entries(store, "ana", "patient.view")] == [
        (patient, f"patient:{patient}", {"recorded_elsewhere": True})]
    assert clinician.get(f"/api/assignments/{programme}/recorded-elsewhere").status_code == 200
    assert [(e["patient_id"], e["object"], e["detail"]) for e in _entries(store, "ana", "programme.view")] == [
        (patient, f"programme:{programme}", {"recorded_elsewhere": True})]
    before = len(store.audit.query(username="ana", limit=1000))
    assert clinician.get("/api/patients/999999/recorded-elsewhere").status_code == 404
    assert clinician.get("/api/assignments/999999/recorded-elsewhere").status_code == 404
    assert len(store.audit.query(username="ana", limit=1000)) == before
