"""The programme page's dose picker offers only trials of the programme's session protocol, newest
first. Found by a clinician's review: a backward treadmill programme offered "Trial #16 (10-metre
walk test ...): 0.1 min" and "Trial #12 (3-metre backward walk test ...)" as a session's training
dose (a walk test's few metres), the two 3-metre forms under the same name. A programme naming no
session protocol (doses entered by hand, e.g. overground walking) still offers every walking trial,
each with its protocol (the page groups them under the full title)."""

from __future__ import annotations

from datetime import datetime

from station.programmes.report import programme_document
from station.programmes.template import programme_from_dict

from programme_support import ACTOR, CAL, frames, load_test_module, template_data

api_tests = load_test_module("programme_api_tests", "programmes/test_api.py")


def _walk(store, patient_id: int, protocol: str, condition: str, started_at: str, minutes: float) -> int:
    session = store.sessions.create(patient_id, {"label": protocol, "started_at": started_at}, actor=ACTOR)
    doc = {"kind": "walk", "fs_hz": 100.0, "samples": 300, "profile": "walk", "version": "test",
           "metrics": {"walking_min": minutes, "steps": 30, "cadence_steps_min": 90.0}}
    return store.trials.import_trial(session["id"], protocol, condition, CAL, 100.0, frames(), doc, True, None,
                                     actor=ACTOR, started_at_s=datetime.fromisoformat(started_at).timestamp())


def _trials(store, patient_id: int) -> dict[str, int]:
    # ids in another order than the starts (an import of older trials gets the newer ids)
    return {"treadmill_new": _walk(store, patient_id, "backward-treadmill", "session", "2026-01-06T10:00:00Z", 29.0),
            "ten_metre": _walk(store, patient_id, "ten-metre-walk", "comfortable", "2026-01-06T11:00:00Z", 0.1),
            "back_3m": _walk(store, patient_id, "backward-walk-3m", "fast", "2026-01-06T11:05:00Z", 0.1),
            "back_3m_5m": _walk(store, patient_id, "backward-walk-3m-5m", "comfortable", "2026-01-06T11:10:00Z", 0.1),
            "treadmill_old": _walk(store, patient_id, "backward-treadmill", "session", "2026-01-05T10:00:00Z", 0.35)}


def test_only_the_session_protocols_trials_are_offered_newest_first(store, patient, builtins, protocols):
    pilot = store.programmes.assign(patient["id"], builtins["backward-walking-stroke"], "2026-01-05", actor=ACTOR)
    ids = _trials(store, patient["id"])
    offered = programme_document(store, pilot["id"], protocols, actor=ACTOR)["walking_trials"]
    assert [t["id"] for t in offered] == [ids["treadmill_new"], ids["treadmill_old"]]
    assert {t["protocol"] for t in offered} == {"backward-treadmill"}


def test_a_programme_without_a_session_protocol_offers_every_walking_trial_newest_first(store, patient, protocols):
    data = template_data()  # overground backward walking, doses by hand: no session protocol
    overground = store.programmes.assign(patient["id"], programme_from_dict(data, "clinic/x.toml", protocols),
                                         "2026-01-05", actor=ACTOR)
    ids = _trials(store, patient["id"])
    offered = programme_document(store, overground["id"], protocols, actor=ACTOR)["walking_trials"]
    assert [t["id"] for t in offered] == [ids[k] for k in ("back_3m_5m", "back_3m", "ten_metre", "treadmill_new",
                                                              "treadmill_old")]
    assert [t["protocol"] for t in offered][:2] == ["backward-walk-3m-5m", "backward-walk-3m"]


def test_a_walk_test_typed_in_as_a_treadmill_sessions_dose_is_refused_in_words(tmp_path, patient):
    from station.store.store import Store

    wall = api_tests.WallClock(api_tests.START_S)
    store = Store.open_service(tmp_path / "data", password_cost=api_tests.CHEAP, wall_clock=wall)
    try:
        _app, api = api_tests.make_app(tmp_path, store, wall)
        patient = store.patients.create({"identifier": "P-PICK", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
        doc = api.ok(api.post(f"/api/patients/{patient['id']}/programmes",
                              {"template": "backward-walking-stroke", "start_date": "2026-01-05"}), 201)
        ids = _trials(store, patient["id"])
        sid = doc["sessions"][0]["id"]
        r = api.post(f"/api/programme-sessions/{sid}/dose", {"trial_id": ids["ten_metre"]})
        assert r.status_code == 422, r.get_json()
        assert r.get_json()["fields"]["trial_id"] == (
            f"trial #{ids['ten_metre']} is a 10-metre walk test, comfortable and fast, not a Backward treadmill "
            "walking session (this programme's sessions); take a trial of a session, or enter the dose by hand")
        assert store.programmes.session(sid)["status"] == "planned"
        done = api.ok(api.post(f"/api/programme-sessions/{sid}/dose", {"trial_id": ids["treadmill_old"]}))
        assert (done["status"], done["dose"]["minutes"]) == ("done", 0.35)
    finally:
        store.close()
