"""The app as the hub composes it (``HUB`` on PostgreSQL): no plate, said plainly; its /healthz is
its database's state, not a missing acquisition."""

from __future__ import annotations

from web.api_station import HUB_NO_PLATE, NO_SERVICE

BACKENDS = ("postgresql",)  # conftest: the app with HUB on a fresh PostgreSQL database


def test_pages_that_measure_say_the_hub_has_no_plate(clinician, records):
    station = clinician.get("/api/station").json
    assert station["service"] == {"available": False, "reason": HUB_NO_PLATE} and NO_SERVICE not in str(station)
    r = clinician.post("/api/station/run", {"patient_id": records["patient"], "protocol": "romberg"})
    assert r.status_code == 503 and r.json["error"] == HUB_NO_PLATE
    assert clinician.get(f"/api/patients/{records['patient']}").status_code == 200  # its records are served


def test_healthz_is_the_databases_state(anon, store):
    r = anon.get("/healthz")
    assert r.status_code == 200 and r.json["role"] == "hub" and r.json["state"] == "ok"
    store.db.close()  # as if the database stopped answering
    r = anon.get("/healthz")
    assert r.status_code == 503 and r.json["state"] == "down" and "database" in r.json["reason"]


def test_csrf_and_roles_hold_on_the_hub(clinician, store, records):
    before = store.patients.search()["total"]
    r = clinician.post("/api/patients", {"identifier": "HUB-1", "birth_year": 1950, "sex": "F"}, csrf=False)
    assert r.status_code == 403 and store.patients.search()["total"] == before
    assert clinician.get("/api/users").status_code == 403  # administrators only
    r = clinician.post("/api/patients", {"identifier": "HUB-1", "birth_year": 1950, "sex": "F"})
    assert r.status_code == 201 and store.patients.search()["total"] == before + 1
