"""The limits-of-stability test through the trial service (the tablet's way): the height from the
patient's record or entered for the run, the targets in the run's status, the virtual patient
leaning on the go, and the results API returning the test's keys."""

from __future__ import annotations

import pytest

from station.analysis.limits_of_stability import LOS_KEYS
from station.store.audit import Actor
from station.store.db import ValidationError
from web import create_app

from dashboard_support import ACTOR, ADMIN_PW, CHEAP, CLINICIAN_PW, SimulatedClinic


def test_the_height_is_needed_and_comes_from_the_record_or_the_run(store, patient):
    clinic = SimulatedClinic(store)
    with pytest.raises(ValidationError, match="height") as err:
        clinic.call("open_run", patient["id"], "limits-of-stability", None, ACTOR)
    assert "patient's record or enter it" in str(err.value.errors if hasattr(err.value, "errors") else err.value)
    with pytest.raises(ValidationError, match="los"):
        clinic.call("open_run", patient["id"], "quiet-stance", None, ACTOR, None, None, {"height_cm": 170})
    with pytest.raises(ValidationError, match="height"):
        clinic.call("open_run", patient["id"], "limits-of-stability", None, ACTOR, None, None, {"height_cm": 20})
    tall = store.patients.create({"identifier": "P-002", "birth_year": 1960, "sex": "M", "height_cm": 190}, actor=ACTOR)
    status = clinic.call("open_run", tall["id"], "limits-of-stability", ["f", "b"], ACTOR)
    los = status["run"]["los"]
    assert los["height_cm"] == 190 and los["limits_source"] == "theoretical"
    assert los["targets_cm"]["f"] == pytest.approx(0.5527 * 190 * 0.14054, abs=0.01)  # tan 8 degrees


def test_a_run_on_the_tablet_stores_the_leans_and_the_api_returns_the_keys(tmp_path, store, patient):
    clinic = SimulatedClinic(store, seed=3)
    status = clinic.call("open_run", patient["id"], "limits-of-stability", ["f", "r"], ACTOR, None, None,
                         {"height_cm": 165})
    session_id = status["run"]["session_id"]
    stored = []
    while not clinic.service.status()["run"]["finished"]:
        stored.append(clinic.run_trial())  # an invalid lean is offered again (up to 3 attempts)
    assert {s["condition"] for s in stored if s["valid"]} == {"f", "r"}
    assert clinic.kinds().count("go") == len(stored)
    summary = clinic.service.status()["run"]["summary"]
    assert summary["limits_of_stability"]["metrics"]["los_max_excursion_pct_f"] < 100

    app = create_app({"DATA_DIR": str(tmp_path / "data"), "STORE": store, "PASSWORD_COST": CHEAP, "TESTING": True})
    store.users.create_first_admin("root", ADMIN_PW, actor=Actor(None, "test"))
    store.users.create("ana", CLINICIAN_PW, "clinician", actor=Actor(None, "test"))
    client = app.test_client()
    assert client.get(f"/api/sessions/{session_id}/results").status_code == 401  # patient data needs a login
    token = client.get("/api/session").get_json()["csrf_token"]
    client.post("/api/login", json={"username": "ana", "password": CLINICIAN_PW}, headers={"X-CSRF-Token": token})
    doc = client.get(f"/api/sessions/{session_id}/results").get_json()
    (section,) = doc["protocols"]
    los = section["limits_of_stability"]
    assert set(los["metrics"]) == set(LOS_KEYS)
    assert los["metrics"]["los_max_excursion_pct_f"] is not None and los["metrics"]["los_max_excursion_pct_b"] is None
    assert los["directions"]["r"]["quality_words"] == "valid" and los["directions"]["b"]["quality_words"] == "not tested"
    assert {m["key"]: m["better"] for m in los["measures"]}["los_reaction_time_s"] == "lower"
    history = client.get(f"/api/patients/{patient['id']}/history").get_json()
    (composite,) = [s for s in history["series"] if s["metric"] == "los_max_excursion_pct"]
    assert composite["condition"] == "composite" and composite["key"] and composite["unit"] == "% of limit"
    assert composite["points"][0]["value"] == pytest.approx(los["metrics"]["los_max_excursion_pct"])
    report = client.get(f"/api/sessions/{session_id}/report.pdf")
    assert report.status_code == 200 and report.data.startswith(b"%PDF")
    bundle = client.get(f"/api/sessions/{session_id}/fhir.json").get_json()
    values = {e["resource"]["code"]["coding"][0]["code"]: e["resource"].get("valueQuantity")
              for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"}
    assert values["los_max_excursion_pct_r"]["code"] == "%" and values["los_reaction_time_s_f"]["unit"] == "s"
    # a later test with targets from this one: its maximum excursions (f and r), the theoretical limits elsewhere
    from station.protocols.lean import previous_limits_deg

    limits, previous_session = previous_limits_deg(store, patient["id"], "limits-of-stability", actor=ACTOR)
    assert previous_session == session_id
    assert limits["f"] == pytest.approx(8.0 * los["metrics"]["los_max_excursion_pct_f"] / 100)
    assert limits["r"] == pytest.approx(8.0 * los["metrics"]["los_max_excursion_pct_r"] / 100) and limits["b"] == 4.5
    assert previous_limits_deg(store, patient["id"], "quiet-stance", actor=ACTOR) is None
