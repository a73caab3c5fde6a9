"""Patients and sessions through the JSON API: CRUD, search, refusals of bad bodies, erasure, export."""

from __future__ import annotations

import csv
import io
import logging

import pytest

from web_support import fingerprint, hub_sample, sqlite_only

BACKENDS = ("sqlite", "postgresql")
"""Every test here runs on the station's SQLite and on the hub's PostgreSQL (conftest's ``backend``);
those marked ``@sqlite_only`` say why they run on SQLite only, and a ``@hub_sample`` matrix runs
every case on SQLite and a sample on the hub (the rule: tests/conftest.py)."""

NEW = {"identifier": "NEW-7", "birth_year": 1955, "sex": "X", "height_cm": 168, "weight_kg": 71.5,
       "conditions": ["stroke:right", "fall_12m"], "notes": "Walks with a stick."}


def test_create_get_update_patient(clinician, store):
    r = clinician.post("/api/patients", NEW)
    assert r.status_code == 201
    patient = r.json
    assert r.headers["Location"] == f"/api/patients/{patient['id']}"
    assert {k: patient[k] for k in NEW} == {**NEW, "height_cm": 168.0}
    r = clinician.patch(f"/api/patients/{patient['id']}", {"weight_kg": 70, "conditions": []})
    assert r.status_code == 200 and r.json["weight_kg"] == 70.0 and r.json["conditions"] == []
    detail = clinician.get(f"/api/patients/{patient['id']}").json
    assert detail["sessions"] == [] and detail["identifier"] == "NEW-7"
    actions = [e["action"] for e in store.audit.query(patient_id=patient["id"])]
    assert actions == ["patient.view", "patient.update", "patient.create"]
    assert store.audit.query(patient_id=patient["id"])[0]["username"] == "ana"


def test_patient_detail_has_sessions_and_trial_summaries(clinician, records):
    detail = clinician.get(f"/api/patients/{records['patient']}").json
    (session,) = detail["sessions"]
    (trial,) = session["trials"]
    assert trial["id"] == records["trial"] and trial["status"] == "complete" and trial["valid"] is True
    assert trial["metrics"]["ellipse_area_cm2"] == 2.5 and trial["duration_s"] == 10.0


def test_list_search_and_paging(clinician, records):
    r = clinician.get("/api/patients")
    assert r.status_code == 200 and r.json["total"] == 2
    first = r.json["patients"][0]
    assert first["identifier"] == "PT-100" and first["trial_count"] == 1 and first["session_count"] == 1
    found = clinician.post("/api/patients/search", {"q": "200"})
    assert found.status_code == 200 and [p["identifier"] for p in found.json["patients"]] == ["PT-200"]
    assert clinician.post("/api/patients/search", {"q": "pt-", "limit": 1, "offset": 1, "sort": "identifier",
                                                   "archived": "no", "condition": None}).json["patients"][0]["identifier"] == "PT-200"
    assert clinician.get("/api/patients?condition=parkinsons").json["total"] == 1
    assert clinician.get("/api/patients?limit=1&offset=1").json["patients"][0]["identifier"] == "PT-200"


def test_a_search_by_identifier_in_the_url_is_refused_in_words(clinician, store, records):
    """An identifier in a URL stays in proxies' logs and the browser's history: the search takes it in
    a POST's body only, and ``GET ?q=`` says so (before: it searched)."""
    before = len(store.audit.query())
    r = clinician.get("/api/patients?q=PT-2&limit=5")
    assert r.status_code == 400
    assert r.json["error"] == ('search by identifier with POST /api/patients/search and {"q": "..."} in the body, '
                               "never in the URL (proxies, logs and the browser's history keep URLs)")
    assert len(store.audit.query()) == before  # nothing was listed


@sqlite_only("the body is checked in Python before any SQL: the same code on the hub "
             "(test_list_search_and_paging runs the search on both)")
@pytest.mark.parametrize(
    "body, field",
    [({"q": 200}, "q"), ({"q": ["PT"]}, "q"), ({"q": "x" * 65}, "q"), ({"limit": True}, "limit"),
     ({"limit": 0}, "limit"), ({"limit": "5"}, "limit"), ({"offset": -1}, "offset"), ({"offset": 1.5}, "offset"),
     ({"sort": "age"}, "sort"), ({"archived": "maybe"}, "archived"), ({"archived": False}, "archived"),
     ({"identifier": "PT-1"}, "identifier")],
)
def test_search_refuses_a_bad_body(clinician, records, body, field):
    r = clinician.post("/api/patients/search", body)
    assert r.status_code == 422 and field in r.json["fields"], r.json


@sqlite_only("the body's bound is checked before the store: the same code on the hub")
def test_search_refuses_a_large_body(clinician, records):
    r = clinician.post("/api/patients/search", {"q": "PT", "pad": "x" * 5000})
    assert r.status_code == 413 and "too large" in r.json["error"]


@sqlite_only("reads the pages' scripts: no store")
def test_the_pages_scripts_put_no_identifier_in_a_url():
    """The scripts search patients by POST (``/api/patients/search``) and name no identifier or search
    text in any URL they build (before: patients.js asked ``GET /api/patients?...&q=``)."""
    import pathlib
    import re

    scripts = {path.name: path.read_text() for path in (pathlib.Path(__file__).parents[2] / "web/static/js").glob("*.js")}
    assert 'api("POST", "/api/patients/search", ' in scripts["patients.js"]
    for name, text in scripts.items():
        # a URL's query parameter named q or identifier, in a literal, a URLSearchParams or a template
        found = re.findall(r"""[?&](?:q|identifier)=|\.set\(\s*["'](?:q|identifier)["']|URLSearchParams\(\{[^}]*\b(?:q|identifier)\b""",
                           text)
        assert not found, (name, found)


@sqlite_only("the query string is checked in Python before any SQL: the same code on the hub "
             "(test_list_search_and_paging runs the search on both)")
@pytest.mark.parametrize(
    "query, field",
    [("limit=0", "limit"), ("limit=abc", "limit"), ("offset=-1", "offset"), ("sort=age", "sort"),
     ("archived=maybe", "archived"), ("colour=red", "colour"), ("limit=100000", "limit")],
)
def test_list_refuses_bad_query(clinician, records, query, field):
    r = clinician.get(f"/api/patients?{query}")
    assert r.status_code == 422 and field in r.json["fields"]


@sqlite_only("values checked in Python before any SQL: the same code on the hub (tests/store runs the checks on both)")
@pytest.mark.parametrize(
    "field, value",
    [
        ("identifier", ""), ("identifier", "Jane Doe"), ("identifier", 42), ("identifier", None),
        ("birth_year", "1950"), ("birth_year", 1899), ("birth_year", 3000), ("birth_year", True), ("birth_year", 1950.5),
        ("sex", "f"), ("sex", 1), ("height_cm", -5), ("height_cm", 400), ("height_cm", "170"),
        ("weight_kg", 0), ("weight_kg", {"kg": 70}), ("conditions", "parkinsons"), ("conditions", ["stroke"]),
        ("conditions", [1, 2]), ("notes", ["a"]), ("notes", "n" * 2001), ("unknown_field", 1),
    ],
)
def test_create_refuses_wrong_types_and_ranges(clinician, store, records, field, value):
    before = fingerprint(store)
    r = clinician.post("/api/patients", {**NEW, field: value})
    assert r.status_code == 422
    assert field in r.json["fields"] and r.json["error"].startswith("invalid input")
    assert fingerprint(store) == before


@sqlite_only("refused while the request is parsed, before the store: the same code on the hub")
@pytest.mark.parametrize(
    "raw, content_type, status, message",
    [
        (b'{"identifier": "X1", ', "application/json", 400, "malformed JSON"),
        (b"[1, 2]", "application/json", 400, "must be a JSON object"),
        (b'"text"', "application/json", 400, "must be a JSON object"),
        (b"", "application/json", 400, "empty body"),
        (b'{"identifier": "X1", "birth_year": NaN, "sex": "F"}', "application/json", 400, "NaN is not allowed"),
        (b'{"identifier": "X1", "birth_year": Infinity, "sex": "F"}', "application/json", 400, "Infinity"),
        (b"\xff\xfe{}", "application/json", 400, "not UTF-8"),
        (b"[" * 100_00 + b"]" * 100_00, "application/json", 400, "malformed JSON"),
        (b"identifier=X1&birth_year=1950&sex=F", "application/x-www-form-urlencoded", 415, "Content-Type: application/json"),
        (b'{"identifier": "X1", "birth_year": 1950, "sex": "F"}', "text/plain", 415, "application/json"),
    ],
)
def test_create_refuses_malformed_bodies(clinician, store, records, raw, content_type, status, message):
    before = fingerprint(store)
    r = clinician.client.post(
        "/api/patients", data=raw, headers={"Content-Type": content_type, "X-CSRF-Token": clinician.csrf}
    )
    assert r.status_code == status
    assert message in r.json["error"]
    assert fingerprint(store) == before


def test_oversized_body_is_refused_with_a_message(clinician, store, records):
    before = fingerprint(store)
    r = clinician.post("/api/patients", {**NEW, "notes": "x" * 70_000})
    assert r.status_code == 413 and "too large" in r.json["error"] and "nothing was stored" in r.json["error"]
    r = clinician.patch(f"/api/patients/{records['patient']}", {"notes": "x" * 200_000})
    assert r.status_code == 413
    assert fingerprint(store) == before


def test_duplicate_identifier_is_a_conflict(clinician, store, records):
    before = fingerprint(store)
    r = clinician.post("/api/patients", {**NEW, "identifier": "pt-100"})
    assert r.status_code == 409 and "already used" in r.json["error"]
    r = clinician.patch(f"/api/patients/{records['other']}", {"identifier": "PT-100"})
    assert r.status_code == 409
    assert fingerprint(store) == before


PATCH_REFUSALS = [{}, {"birth_year": None}, {"archived": "yes"}, {"sex": "Q"}, {"id": 5}, {"created_at": "x"}]


@hub_sample("body", PATCH_REFUSALS, lambda body: body in ({"archived": "yes"}, {"sex": "Q"}), ids=lambda body: ",".join(body) or "empty",
            reason="every refusal is the same check in Python of the fields before any SQL (station/store/fields.py)")
def test_patch_refusals(clinician, store, records, body):
    before = fingerprint(store)
    r = clinician.patch(f"/api/patients/{records['patient']}", body)
    assert r.status_code == 422
    assert fingerprint(store) == before


def test_unknown_ids_are_404(clinician, records):
    assert clinician.get("/api/patients/9999").status_code == 404
    assert clinician.patch("/api/patients/9999", {"notes": "x"}).status_code == 404
    assert clinician.get("/api/sessions/9999").status_code == 404
    assert clinician.post("/api/patients/9999/sessions", {}).status_code == 404
    assert clinician.get("/api/patients/abc").status_code == 404
    assert clinician.get("/api/patients/9999").json["error"] == "no patient #9999"


def test_archive_and_unarchive(clinician, records):
    pid = records["patient"]
    r = clinician.patch(f"/api/patients/{pid}", {"archived": True})
    assert r.status_code == 200 and r.json["archived"] is True
    assert clinician.get("/api/patients").json["total"] == 1
    assert clinician.get("/api/patients?archived=yes").json["patients"][0]["id"] == pid
    r = clinician.post(f"/api/patients/{pid}/sessions", {"label": "x"})
    assert r.status_code == 409 and "archived" in r.json["error"]
    assert clinician.patch(f"/api/patients/{pid}", {"archived": False}).json["archived"] is False


def test_erasure_by_admin_with_confirmation(admin, clinician, store, records, caplog):
    pid = records["patient"]
    before = fingerprint(store)
    assert clinician.delete(f"/api/patients/{pid}", {"confirm_identifier": "PT-100"}).status_code == 403
    r = admin.delete(f"/api/patients/{pid}", {"confirm_identifier": "PT-999"})
    assert r.status_code == 422 and "confirm_identifier" in r.json["fields"]
    r = admin.delete(f"/api/patients/{pid}")
    assert r.status_code == 415
    r = admin.delete(f"/api/patients/{pid}", {})
    assert r.status_code == 422
    assert fingerprint(store) == before
    with caplog.at_level(logging.DEBUG):
        r = admin.delete(f"/api/patients/{pid}", {"confirm_identifier": "PT-100"})
    assert r.status_code == 200
    assert r.json == {"erased": True, "patient_id": pid, "removed": {"sessions": 1, "trials": 1, "frames": 1000,
                                                                "programmes": 0, "training_sessions": 0, "doses": 0}}
    assert clinician.get(f"/api/patients/{pid}").status_code == 404
    assert clinician.get(f"/api/trials/{records['trial']}").status_code == 404
    entries = admin.get(f"/api/audit?patient_id={pid}").json["entries"]
    assert entries[0]["action"] == "patient.erase" and entries[0]["username"] == "root"
    assert "PT-100" not in caplog.text


def test_history_export_csv(clinician, store, records):
    r = clinician.get(f"/api/patients/{records['patient']}/export.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    # named without the identifier (a shared tablet's list of downloads keeps it): tests/web/test_download_names.py
    assert r.headers["Content-Disposition"].startswith(f'attachment; filename="patient-{records["patient"]}-history-')
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert len(rows) == 1 and rows[0]["identifier"] == "PT-100" and rows[0]["mean_velocity_cm_s"] == "1.2"
    assert store.audit.query(action="patient.export")[0]["username"] == "ana"
    assert clinician.get("/api/patients/9999/export.csv").status_code == 404


def test_sessions_api(clinician, store, records):
    pid = records["patient"]
    r = clinician.post(f"/api/patients/{pid}/sessions", {"label": "week 4", "notes": "after training"})
    assert r.status_code == 201 and r.json["label"] == "week 4" and r.json["created_by"] == "ana"
    sid = r.json["id"]
    assert r.headers["Location"] == f"/api/sessions/{sid}"
    assert clinician.get(f"/api/sessions/{sid}").json["trials"] == []
    existing = clinician.get(f"/api/sessions/{records['session']}").json
    assert [t["id"] for t in existing["trials"]] == [records["trial"]]
    assert clinician.patch(f"/api/sessions/{sid}", {"label": "week 5"}).json["label"] == "week 5"
    before = fingerprint(store)
    for bad in ({"label": 5}, {"started_at": "soon"}, {"room": "A"}, {}):
        assert clinician.patch(f"/api/sessions/{sid}", bad).status_code == 422
    assert clinician.post(f"/api/patients/{pid}/sessions", {"label": "x" * 101}).status_code == 422
    assert fingerprint(store) == before


def test_conditions_vocabulary(clinician):
    tags = [c["tag"] for c in clinician.get("/api/conditions").json["conditions"]]
    assert {"stroke:left", "stroke:right", "parkinsons", "fall_12m"} <= set(tags)
