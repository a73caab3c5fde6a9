"""A patient pulled at another station brings their history: the sessions and trials recorded
elsewhere (results, validity, station and calibration ids; no raw frames), read-only and marked
with where they were recorded, paged, checked like anything from a hub, and erased with the
patient wherever the erasure is made."""

from __future__ import annotations

import json

import pytest

from station.protocols.loader import builtin_protocols
from station.protocols.report import patient_history
from station.store.db import Conflict, NotFound
from station.sync import hub as hub_module
from station.sync.client import HubRefused
from station.sync.pulled import recorded_elsewhere
from web import create_app
from web.api_sync import HUB_PROGRAMMES_KEEP_S

from sync_support import CHEAP, CLINICIAN, WallClock, add_trial, hub_patient


def _measured_at_gym(gym, identifier="P-H1", sessions=2, trials_per_session=2):
    patient = gym.store.patients.create({"identifier": identifier, "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    made = []
    for k in range(sessions):
        session = gym.store.sessions.create(patient["id"], {"label": f"assessment {k + 1}"}, actor=CLINICIAN)
        made.append([add_trial(gym.store, session["id"], 300, seed=k) for _ in range(trials_per_session)])
    gym.sync_once()
    return patient, made


def _rows(store, patient_id: int) -> tuple[int, int, int]:
    with store.db.read() as conn:
        sessions = conn.execute("SELECT count(*) FROM sessions WHERE patient_id = ?", (patient_id,)).fetchone()[0]
        trials = conn.execute("SELECT count(*) FROM trials t JOIN sessions s ON s.id = t.session_id"
                              " WHERE s.patient_id = ?", (patient_id,)).fetchone()[0]
        marks = conn.execute("SELECT count(*) FROM sync_pulled WHERE patient_id = ?", (patient_id,)).fetchone()[0]
    return sessions, trials, marks


def test_a_pulled_patient_brings_their_history_into_the_wards_trend(hub_store, station_factory):
    wall = WallClock()
    gym, ward = station_factory("gym", wall), station_factory("ward", wall)
    patient, made = _measured_at_gym(gym)

    wall.advance(86400)
    pulled = ward.pull_patient("P-H1", actor=CLINICIAN)
    assert pulled["history"] == {"sessions": 2, "trials": 4}
    held = ward.store.patients.view(pulled["id"], actor=CLINICIAN)
    assert sorted(s["label"] for s in held["sessions"]) == ["assessment 1", "assessment 2"]
    keys = ("metrics", "valid", "protocol", "condition", "station_id", "calibration_id", "status", "started_at")
    copies = [ward.store.trials.get(t["id"]) for s in held["sessions"] for t in s["trials"]]
    originals = [gym.store.trials.get(t) for ids in made for t in ids]
    assert sorted(json.dumps([c[k] for k in keys]) for c in copies) == sorted(
        json.dumps([o[k] for k in keys]) for o in originals)
    assert {c["station_id"] for c in copies} == {gym.store.outbox.station_id} != {ward.store.outbox.station_id}
    copy = copies[0]
    assert copy["frame_count"] == 0 and len(ward.store.trials.frames(copy["id"])) == 0  # the frames stay on the hub
    marks = recorded_elsewhere(ward.store, pulled["id"])
    assert set(marks["sessions"].values()) == {"gym"}
    assert {m["station"] for m in marks["trials"].values()} == {"gym"}
    assert {m["frames_on_hub"] for m in marks["trials"].values()} == {300}
    assert ward.store.outbox.pending() == [c for c in ward.store.outbox.pending() if c["op"] == "link"]

    # the ward's history and trend read the gym's sessions, and then its own
    session = ward.store.sessions.create(pulled["id"], {"label": "ward"}, actor=CLINICIAN)
    add_trial(ward.store, session["id"], 300, seed=5)
    history = patient_history(ward.store, pulled["id"], builtin_protocols(), actor=CLINICIAN)
    [series] = [s for s in history["series"] if s["metric"] == "ellipse_area_cm2"]
    assert [p["value"] for p in series["points"]] == [2.0, 3.0, 7.0] and series["change"] == 5.0

    report = ward.sync_once()  # only what the ward recorded goes to the hub
    assert report.sent["session"] == 1 and report.sent["trial"] == 1
    on_hub = hub_store.patients.view(hub_patient(hub_store, "P-H1")["id"], actor=CLINICIAN)
    assert len(on_hub["sessions"]) == 3 and sum(len(s["trials"]) for s in on_hub["sessions"]) == 5

    # pulling again adds nothing new, and brings the hub's later judgement of a trial
    with ward.store.db.read() as conn:
        hub_trial_id = conn.execute("SELECT hub_id FROM sync_pulled WHERE entity = 'trial' AND local_id = ?",
                                    (copy["id"],)).fetchone()[0]
    hub_store.trials.judge(hub_trial_id, {"valid": False, "validity_reason": "stepped"}, actor=CLINICIAN)
    assert ward.pull_history(pulled["id"], actor=CLINICIAN) == {"sessions": 0, "trials": 0}
    assert ward.store.trials.get(copy["id"])["valid"] in (0, False)
    assert _rows(ward.store, pulled["id"]) == (3, 5, 6)


def test_pulled_records_are_read_only_at_the_ward(hub_store, station_factory):
    gym, ward = station_factory("gym"), station_factory("ward")
    _measured_at_gym(gym, "P-H2", sessions=1, trials_per_session=1)
    pulled = ward.pull_patient("P-H2", actor=CLINICIAN)
    [session] = ward.store.patients.view(pulled["id"], actor=CLINICIAN)["sessions"]
    [trial] = session["trials"]
    queued = ward.store.outbox.length()

    with pytest.raises(Conflict, match="recorded at station gym and is read-only here"):
        ward.store.trials.judge(trial["id"], {"notes": "looks odd"}, actor=CLINICIAN)
    with pytest.raises(Conflict, match="recorded at station gym"):
        ward.store.sessions.update(session["id"], {"label": "mine"}, actor=CLINICIAN)
    with pytest.raises(Conflict, match="start a new visit"):
        add_trial(ward.store, session["id"], 100)
    assert ward.store.outbox.length() == queued
    assert _rows(ward.store, pulled["id"]) == (1, 1, 2)


def test_a_long_history_comes_in_pages(hub_store, station_factory, monkeypatch):
    gym, ward = station_factory("gym"), station_factory("ward")
    _measured_at_gym(gym, "P-H3", sessions=5, trials_per_session=2)
    monkeypatch.setattr(hub_module, "HISTORY_PAGE_BYTES", 3000)  # about one visit per page
    pulled = ward.pull_patient("P-H3", actor=CLINICIAN)
    asked = [p for m, p in ward.client._send.requests if p == "/api/hub/patients/history"]
    assert pulled["history"] == {"sessions": 5, "trials": 10} and len(asked) >= 5
    assert _rows(ward.store, pulled["id"]) == (5, 10, 15)


def test_garbage_from_a_hub_is_one_clear_error_and_stores_nothing_of_it(hub_store, station_factory):
    gym, ward = station_factory("gym"), station_factory("ward")
    _measured_at_gym(gym, "P-H4", sessions=1, trials_per_session=1)
    real = ward.client._send

    def hostile(answer: bytes):
        def send(method, url, headers, body):
            if "/api/hub/patients/history" in url:
                return 200, answer
            return real(method, url, headers, body)
        return send

    bad_trial = {"sessions": [{"hub_id": 1, "station": "gym", "started_at": "2026-01-01T00:00:00Z", "label": "",
                               "notes": "", "created_by": "x",
                               "trials": [{"hub_id": 2, "station": "gym", "frames_on_hub": 1, "status": "recording"}]}],
                 "next": None}
    for answer in (b"<html>proxy</html>", json.dumps({"sessions": "many"}).encode(),
                   json.dumps({"sessions": [], "next": 0}).encode(), json.dumps(bad_trial).encode()):
        ward.client._send = hostile(answer)
        pulled = ward.pull_patient("P-H4", actor=CLINICIAN)
        assert "error" in pulled["history"] and "\n" not in pulled["history"]["error"]
        assert _rows(ward.store, pulled["id"]) == (0, 0, 0)
        with pytest.raises(HubRefused):
            ward.pull_history(pulled["id"], actor=CLINICIAN)
        ward.store.patients.erase(pulled["id"], "P-H4", actor=CLINICIAN)
        ward.store.outbox.acknowledge(ward.store.outbox.highest_seq())  # the test's erasure stays here
    ward.client._send = real
    assert ward.pull_patient("P-H4", actor=CLINICIAN)["history"] == {"sessions": 1, "trials": 1}


def test_a_pulled_history_is_erased_with_the_patient_wherever_the_erasure_is_made(hub_store, station_factory):
    gym, ward, clinic = station_factory("gym"), station_factory("ward"), station_factory("clinic")
    _measured_at_gym(gym, "P-H5")
    _measured_at_gym(gym, "P-H6")
    at_ward = ward.pull_patient("P-H5", actor=CLINICIAN)
    at_clinic = clinic.pull_patient("P-H6", actor=CLINICIAN)
    also_at_ward = ward.pull_patient("P-H6", actor=CLINICIAN)
    assert _rows(ward.store, at_ward["id"]) == (2, 4, 6) and _rows(clinic.store, at_clinic["id"]) == (2, 4, 6)
    ward.sync_once()
    clinic.sync_once()

    # erased on the hub: the ward erases the patient and the history it pulled
    hub_store.patients.erase(hub_patient(hub_store, "P-H5")["id"], "P-H5", actor=CLINICIAN)
    ward.sync_once()
    with pytest.raises(NotFound):
        ward.store.patients.get(at_ward["id"])
    assert _rows(ward.store, at_ward["id"]) == (0, 0, 0)

    # erased at the clinic (which pulled them): the history it pulled goes with them there; the hub
    # keeps them (a station erases on the hub only a patient it registered there: test_sync_erasure.py)
    clinic.store.patients.erase(at_clinic["id"], "P-H6", actor=CLINICIAN)
    assert _rows(clinic.store, at_clinic["id"]) == (0, 0, 0)
    assert clinic.sync_once().unmatched_erasures == 1
    assert hub_patient(hub_store, "P-H6")["identifier"] == "P-H6"

    # erased at the gym, which registered them: the hub, and the ward that pulled them, follow
    gym.store.patients.erase(gym.store.patients.get_by_identifier("P-H6")["id"], "P-H6", actor=CLINICIAN)
    gym.sync_once()
    with pytest.raises(NotFound):
        hub_patient(hub_store, "P-H6")
    ward.sync_once()
    with pytest.raises(NotFound):
        ward.store.patients.get(also_at_ward["id"])
    assert _rows(ward.store, also_at_ward["id"]) == (0, 0, 0)


def _signed_in(app, store):
    from station.store.audit import Actor

    store.users.create("ana", "a long clinician password 7", "clinician", actor=Actor.system())
    client = app.test_client()
    csrf = client.get("/api/session").get_json()["csrf_token"]
    answer = client.post("/api/login", json={"username": "ana", "password": "a long clinician password 7"},
                         headers={"X-CSRF-Token": csrf})
    return client, answer.get_json()["csrf_token"]


def test_the_station_api_brings_and_marks_the_history(hub_store, station_factory):
    gym, ward = station_factory("gym"), station_factory("ward")
    _measured_at_gym(gym, "P-H7", sessions=1, trials_per_session=2)
    app = create_app({"STORE": ward.store, "SYNC": ward, "SECRET_KEY": "s", "PASSWORD_COST": CHEAP})
    client, csrf = _signed_in(app, ward.store)
    answer = client.post("/api/patients/pull", json={"identifier": "P-H7"}, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 201 and answer.get_json()["history"] == {"sessions": 1, "trials": 2}
    patient_id = answer.get_json()["id"]
    page = client.get(f"/patients/{patient_id}/history").get_data(as_text=True)
    assert 'id="pull-history"' in page and 'id="history-sources"' in page
    marks = client.get(f"/api/patients/{patient_id}/recorded-elsewhere").get_json()
    assert list(marks["sessions"].values()) == ["gym"] and len(marks["trials"]) == 2
    assert client.get("/api/patients/999/recorded-elsewhere").status_code == 404
    assert app.test_client().get(f"/api/patients/{patient_id}/recorded-elsewhere").status_code == 401
    refresh = client.post(f"/api/patients/{patient_id}/history/pull", headers={"X-CSRF-Token": csrf})
    assert refresh.status_code == 200 and refresh.get_json() == {"sessions": 0, "trials": 0}
    assert client.post(f"/api/patients/{patient_id}/history/pull").status_code == 403  # CSRF
    trial_id = int(next(iter(marks["trials"])))
    judged = client.patch(f"/api/trials/{trial_id}", json={"notes": "x"}, headers={"X-CSRF-Token": csrf})
    assert judged.status_code == 409 and "read-only here" in judged.get_json()["error"]
    ward.client._send.cut_after(0)
    offline = client.post(f"/api/patients/{patient_id}/history/pull", headers={"X-CSRF-Token": csrf})
    assert offline.status_code == 503


def test_the_ward_shows_the_gyms_programme_read_only_as_the_hub_has_it(hub_store, station_factory):
    from station.programmes.loader import builtin_programmes
    from station.store.programmes import today_of

    wall = WallClock()
    gym, ward = station_factory("gym", wall), station_factory("ward", wall)
    patient = gym.store.patients.create({"identifier": "P-H8", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    template = builtin_programmes(builtin_protocols())["balance-training"]
    local = gym.store.programmes.assign(patient["id"], template, today_of(wall), actor=CLINICIAN)
    gym.store.programmes.enter_dose(local["sessions"][0]["id"], {"minutes": 40}, actor=CLINICIAN)
    gym.store.programmes.enter_dose(local["sessions"][1]["id"], {"minutes": 5}, actor=CLINICIAN)  # under half: partial
    gym.sync_once()
    app = create_app({"STORE": ward.store, "SYNC": ward, "SECRET_KEY": "s", "PASSWORD_COST": CHEAP,
                      "THROTTLE_CLOCK": wall})
    client, csrf = _signed_in(app, ward.store)
    pulled = client.post("/api/patients/pull", json={"identifier": "P-H8"}, headers={"X-CSRF-Token": csrf}).get_json()
    assert 'id="hub-programmes"' in client.get(f"/patients/{pulled['id']}/history").get_data(as_text=True)

    [shown] = client.get(f"/api/patients/{pulled['id']}/hub-programmes").get_json()["programmes"]
    assert shown["assigned_at"] == "gym" and shown["status"] == "active" and shown["title"].startswith("Balance")
    assert shown["overall"]["sessions_done"] == 2 and shown["overall"]["minutes_done"] == 45
    # the partial session counted apart, as the station's own programme page does (s25: the copy dropped the counts)
    assert (shown["overall"]["sessions_full"], shown["overall"]["sessions_partial"]) == (1, 1), shown["overall"]
    due = shown["overall"]["minutes_due"]  # (by the hub's today) the minutes walked of those due lead the summary
    assert due >= 90 and shown["overall"]["minutes_done_of_due"] == pytest.approx(45 / due)
    assert [x["partial"] for x in shown["sessions"][:3]] == [False, True, False]
    assert shown["sessions"][0] == {**shown["sessions"][0], "status": "done", "minutes": 40, "recorded_at": "gym"}
    assert ward.store.programmes.list_for_patient(pulled["id"]) == []  # nothing copied: nothing to edit here
    assert ward.store.audit.query(action="programme.view")[0]["username"] == "ana"
    assert hub_store.audit.query(action="programme.view")[0]["username"] == "station:ward"

    own = ward.store.patients.create({"identifier": "W-ONLY", "birth_year": 1960, "sex": "M"}, actor=CLINICIAN)
    assert client.get(f"/api/patients/{own['id']}/hub-programmes").get_json() == {"programmes": []}
    ward.client._send.cut_after(0)
    wall.advance(HUB_PROGRAMMES_KEEP_S + 1)  # the answer shown a minute ago is not shown again: the hub is asked
    offline = client.get(f"/api/patients/{pulled['id']}/hub-programmes")
    assert offline.status_code == 503 and "when the station is online" in offline.get_json()["error"]
    assert "will retry" not in offline.get_json()["error"]  # a pull from the page is not retried


def test_trials_recorded_elsewhere_later_arrive_at_every_sync(hub_store, station_factory):
    gym, ward = station_factory("gym"), station_factory("ward")
    patient, made = _measured_at_gym(gym, "P-H9", sessions=1, trials_per_session=1)
    pulled = ward.pull_patient("P-H9", actor=CLINICIAN)
    own = ward.store.patients.create({"identifier": "P-H10", "birth_year": 1961, "sex": "M"}, actor=CLINICIAN)
    ward.sync_once()
    assert ward.sync_once().pulled_trials == 0

    # the gym measures both again: a new visit of P-H9, and P-H10, whom the ward registered itself
    session = gym.store.sessions.create(patient["id"], {"label": "follow-up"}, actor=CLINICIAN)
    add_trial(gym.store, session["id"], 200, seed=3)
    gym.pull_patient("P-H10", actor=CLINICIAN)
    theirs = gym.store.patients.get_by_identifier("P-H10")
    add_trial(gym.store, gym.store.sessions.create(theirs["id"], {}, actor=CLINICIAN)["id"], 200, seed=4)
    gym.sync_once()

    report = ward.sync_once()
    assert report.pulled_trials == 2 and "2 trials recorded elsewhere brought here" in report.lines()
    assert _rows(ward.store, pulled["id"]) == (2, 2, 4) and _rows(ward.store, own["id"]) == (1, 1, 2)
    assert ward.sync_once().pulled_trials == 0  # once
    assert ward.store.outbox.length() == 0  # never sent back
