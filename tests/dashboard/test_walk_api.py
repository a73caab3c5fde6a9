"""The walk tests through the dashboard's API: each protocol's walk set-up in ``GET /api/protocols``
(what the New test form asks for), and the clinician's walk settings (belt speed, planned
minutes, sensor height) through ``POST /api/station/run`` into the run's status."""

from __future__ import annotations

from dashboard_support import ACTOR, SimulatedClinic

from test_api_station import make_app

BACKENDS = ("sqlite", "postgresql")
"""The tests using the store run on the station's SQLite and on the hub's PostgreSQL (conftest)."""


def test_protocols_say_how_each_walk_is_set_up(tmp_path, store):
    _app, api = make_app(tmp_path, store)
    protocols = {p["name"]: p for p in api.get("/api/protocols").get_json()["protocols"]}
    ten = protocols["ten-metre-walk"]
    assert ten["outcome"] == "walk"
    assert ten["walk"] == {"direction": "forward", "setting": "overground", "start": "flying", "timed_from_m": 2.0,
                           "timed_to_m": 8.0, "walkway_m": 10.0, "gates_m": [2.0, 8.0]}
    assert protocols["backward-treadmill"]["walk"]["setting"] == "treadmill"
    assert protocols["backward-treadmill"]["walk"]["gates_m"] == []  # the treadmill needs no gate
    assert protocols["mctsib"]["walk"] is None


def test_the_clinicians_walk_settings_reach_the_run(tmp_path, store, patient):
    clinic = SimulatedClinic(store)
    _app, api = make_app(tmp_path, store, clinic.service)
    clinic.service.start()
    try:
        settings = {"belt_speed_m_s": 0.42, "planned_min": 20, "sensor_height_m": 1.02}
        r = api.post("/api/station/run", {"patient_id": patient["id"], "protocol": "backward-treadmill", "walk": settings})
        assert r.status_code == 201, r.get_json()
        run = r.get_json()["run"]
        assert run["outcome"] == "walk" and run["walk"]["setting"] == "treadmill"
        assert {k: run["walk_settings"][k] for k in settings} == settings
        assert api.post("/api/station/close").status_code == 200
    finally:
        clinic.service.shutdown()


def test_bad_walk_settings_are_refused_naming_the_field(tmp_path, store, patient):
    clinic = SimulatedClinic(store)
    _app, api = make_app(tmp_path, store, clinic.service)
    clinic.service.start()
    try:
        for walk in ("fast", ["belt"], {"belt_speed_m_s": -1, "planned_min": 20}):
            r = api.post("/api/station/run", {"patient_id": patient["id"], "protocol": "backward-treadmill", "walk": walk})
            assert r.status_code == 422 and "walk" in r.get_json()["fields"], (walk, r.get_json())
        assert api.get("/api/station").get_json()["service"]["run"] is None  # nothing was opened
        assert len(store.patients.view(patient["id"], actor=ACTOR)["sessions"]) == 0
    finally:
        clinic.service.shutdown()
