"""The programmes API: sign-in, CSRF, input limits and refusals; and a whole four-week programme
driven through the API on the simulated station (trial service thread, simulated clock), from
assignment to the last assessment, with doses, a missed week, a move and a pause."""

from __future__ import annotations

import time

import pytest

from station.store.audit import Actor
from station.store.store import Store
from web import create_app

from programme_support import CHEAP, START_S, WallClock, load_test_module

dashboard_support = load_test_module("dashboard_support", "dashboard/dashboard_support.py")
CLINICIAN_PW = "clinician password 1"


class Api:
    def __init__(self, app) -> None:
        self.client = app.test_client()
        self.csrf = self.client.get("/api/session").get_json()["csrf_token"]

    def login(self, username: str, password: str) -> None:
        self.csrf = self.client.get("/api/session").get_json()["csrf_token"]
        r = self.post("/api/login", {"username": username, "password": password})
        assert r.status_code == 200, r.get_json()
        self.csrf = r.get_json()["csrf_token"]

    def get(self, path: str):
        return self.client.get(path)

    def post(self, path: str, body=None):
        return self.client.post(path, json={} if body is None else body, headers={"X-CSRF-Token": self.csrf})

    def patch(self, path: str, body):
        return self.client.patch(path, json=body, headers={"X-CSRF-Token": self.csrf})

    def ok(self, response, status: int = 200) -> dict:
        assert response.status_code == status, response.get_json()
        return response.get_json()


@pytest.fixture
def wall():
    return WallClock(START_S)


@pytest.fixture
def store(tmp_path, wall):
    s = Store.open_service(tmp_path / "data", password_cost=CHEAP, wall_clock=wall)
    yield s
    s.close()


def make_app(tmp_path, store, wall, service=None):
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "STORE": store, "PASSWORD_COST": CHEAP,
                      "TRIAL_SERVICE": service, "TESTING": True, "WALL_CLOCK": wall})
    store.users.create("ana", CLINICIAN_PW, "clinician", actor=Actor(None, "test"))
    api = Api(app)
    api.login("ana", CLINICIAN_PW)
    return app, api


@pytest.fixture
def patient(store):
    return store.patients.create({"identifier": "P-001", "birth_year": 1950, "sex": "F", "conditions": ["stroke:right"]},
                                 actor=Actor(None, "test"))  # after a stroke: the stroke MDCs apply


def test_sign_in_csrf_and_input_limits_hold_and_refusals_store_nothing(tmp_path, store, wall, patient):
    app, api = make_app(tmp_path, store, wall)
    anon = app.test_client()
    for path in ("/api/programmes", f"/api/patients/{patient['id']}/programme", "/api/assignments/1"):
        assert anon.get(path).status_code == 401
    assert anon.get("/assignments/1").status_code == 302  # the page sends to the sign-in
    path = f"/api/patients/{patient['id']}/programmes"
    assert api.client.post(path, json={"template": "balance-training", "start_date": "2026-01-05"}).status_code == 403
    assert api.client.post(path, data="x", headers={"X-CSRF-Token": api.csrf}).status_code == 415
    big = {"template": "balance-training", "start_date": "2026-01-05", "x": "a" * 70_000}
    assert api.post(path, big).status_code == 413
    r = api.post(path, {"template": "yoga", "start_date": "2026-13-40", "colour": 1})
    assert r.status_code == 422 and set(r.get_json()["fields"]) == {"colour"}
    r = api.post(path, {"template": "yoga", "start_date": "2026-01-05"})
    assert r.status_code == 422 and "balance-training" in r.get_json()["fields"]["template"]
    r = api.post(path, {"template": "balance-training", "start_date": "5 Jan"})
    assert r.status_code == 422 and "YYYY-MM-DD" in r.get_json()["fields"]["start_date"]
    assert store.programmes.list_for_patient(patient["id"]) == []
    assert api.post("/api/patients/999/programmes", {"template": "balance-training", "start_date": "2026-01-05"}).status_code == 404
    assert api.get("/api/assignments/77").status_code == 404
    assert api.get("/api/programmes/nope").status_code == 404
    doc = api.ok(api.post(path, {"template": "balance-training", "start_date": "2026-01-05"}), 201)
    assert api.post(path, {"template": "balance-training", "start_date": "2026-01-05"}).status_code == 409
    sid = doc["sessions"][0]["id"]
    r = api.post(f"/api/programme-sessions/{sid}/dose", {"trial_id": 5, "minutes": 3})
    assert r.status_code == 422 and "minutes" in r.get_json()["fields"]
    assert api.post(f"/api/programme-sessions/{sid}/dose", {"trial_id": "5"}).status_code == 422
    assert api.post(f"/api/programme-sessions/{sid}/dose", {"trial_id": 5}).status_code == 404
    r = api.post(f"/api/programme-visits/{doc['visits'][0]['id']}/run", {})
    assert r.status_code == 503 and "not running trials" in r.get_json()["error"]
    r = api.post(f"/api/programme-sessions/{sid}/run", {})
    assert r.status_code == 422 and "names no session protocol" in r.get_json()["fields"]["session"]
    templates = api.ok(api.get("/api/programmes"))
    assert {t["name"] for t in templates["programmes"]} >= {"backward-walking-stroke", "balance-training"}
    assert api.ok(api.get("/api/programmes/backward-walking-stroke"))["schedule"]["weeks"] == 4
    assert api.get(f"/assignments/{doc['id']}").status_code == 200 and api.get("/assignments/999").status_code == 404
    export = api.get(f"/api/patients/{patient['id']}/programmes/export.json")
    assert export.status_code == 200 and export.get_json()["programmes"][0]["template_name"] == "balance-training"
    assert store.audit.query(action="patient.export")[0]["detail"] == {"format": "programmes-json", "programmes": 1,
                                                                        "training_sessions": 0}


def wait_for(api, predicate, what: str, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        doc = api.get("/api/station").get_json()["service"]
        if predicate(doc):
            return doc
        time.sleep(0.02)
    raise AssertionError(f"{what}: not within {timeout_s:g} s")


def run_visit(api, visit_id: int, protocols: list[str]) -> None:
    """Start the visit from the programme and run its protocols in order, each to the end."""
    for expected in protocols:
        started = api.ok(api.post(f"/api/programme-visits/{visit_id}/run"), 201)
        assert started["protocol"] == expected  # the template's order
        while True:
            status = wait_for(api, lambda s: s["run"]["finished"] or s["run"]["state"] == "instructions", "a trial due")
            if status["run"]["finished"]:
                break
            count = len(status["run"]["trial_ids"])
            api.ok(api.post("/api/station/start"))
            wait_for(api, lambda s: len(s["run"]["trial_ids"]) > count, "the trial stored")
        assert api.ok(api.post("/api/station/close"))["run"] is None
    r = api.post(f"/api/programme-visits/{visit_id}/run")
    assert r.status_code == 422 and "every protocol of this visit has run" in r.get_json()["fields"]["protocol"]


CLINIC_PILOT = """
[programme]
name = "clinic-pilot"
title = "Backward treadmill walking, quiet-stance follow-up"
summary = "The pilot's dose (30 min, 3 times a week, 4 weeks) with a short assessment."
activity = "backward_treadmill_walking"
population = "stroke"

[schedule]
weeks = 4
sessions_per_week = 3
minutes_per_session = 30

[[assessments]]
id = "baseline"
label = "Baseline"
week = 0
protocols = ["quiet-stance"]

[[assessments]]
id = "mid"
label = "Mid-point"
week = 2
protocols = ["quiet-stance"]

[[assessments]]
id = "end"
label = "End"
week = 4
protocols = ["quiet-stance"]

[[outcomes]]
protocol = "quiet-stance"
condition = "eo"
metric = "mean_velocity_cm_s"
label = "Sway velocity"
group = "Standing balance"
better = "lower"

[[outcomes]]
protocol = "quiet-stance"
condition = "eo"
metric = "ellipse_area_cm2"
label = "Sway area"
group = "Standing balance"
better = "lower"
"""


SHORT_STANCE = """
[protocol]
name = "short-stance"
title = "Short quiet stance"
summary = "Quiet stance, feet apart, eyes open, 12 s."
outcome = "sway"
duration_s = 12
countdown_s = 1
instructions = "Stand still."

[stance]
feet = "apart"
arms = "at_sides"
surface = "firm"
eyes = "open"

[[conditions]]
id = "eo"
label = "Eyes open"
"""


def test_a_whole_four_week_programme_through_the_api_on_the_simulated_station(tmp_path, store, wall, patient):
    """The clinic's own template and protocol (its protocols folder), so that each visit is one
    short test: the four weeks are the point here, the assessment's length is the dashboard
    tests' concern."""
    folder = tmp_path / "data" / "protocols" / "programmes"
    folder.mkdir(parents=True)
    (folder.parent / "short-stance.toml").write_text(SHORT_STANCE)
    (folder / "clinic-pilot.toml").write_text(CLINIC_PILOT.replace('"quiet-stance"', '"short-stance"'))
    clinic = dashboard_support.SimulatedClinic(store, seed=4)
    clinic.service.protocols_dir = folder.parent  # as `balance-station run` gives it <data_dir>/protocols
    clinic.patient.protocols_dir = folder.parent  # the virtual patient knows the clinic's protocols too
    _app, api = make_app(tmp_path, store, wall, clinic.service)

    def on(day: str) -> None:
        """The clinician comes in on ``day`` and signs in (the last day's sign-in has expired)."""
        wall.to_day(day)
        api.login("ana", CLINICIAN_PW)
    pid = patient["id"]
    doc = api.ok(api.post(f"/api/patients/{pid}/programmes",
                          {"template": "clinic-pilot", "start_date": "2026-01-05"}), 201)
    aid = doc["id"]
    sessions = {s["number"]: s for s in doc["sessions"]}
    visits = {v["assessment_id"]: v for v in doc["visits"]}
    glance = api.ok(api.get(f"/api/patients/{pid}/programme"))["programme"]
    assert glance["position"]["week"] == 1 and glance["position"]["next_visit"]["assessment_id"] == "baseline"

    clinic.service.start()
    try:
        on("2026-01-05")
        run_visit(api, visits["baseline"]["id"], ["short-stance"])
        for number in range(1, 13):
            s = sessions[number]
            if s["week"] == 2:  # a missed week
                api.ok(api.post(f"/api/programme-sessions/{s['id']}/missed", {"reason": "flu"}))
                continue
            if number == 8:  # moved a day later
                api.ok(api.patch(f"/api/programme-sessions/{s['id']}", {"planned_date": "2026-01-22"}))
            if number == 9:  # a pause of a week from the Friday of week 3
                on("2026-01-23")
                api.ok(api.post(f"/api/assignments/{aid}/pause", {"reason": "holiday"}))
                on("2026-01-30")
                api.ok(api.post(f"/api/assignments/{aid}/resume", {}))
            current = api.ok(api.get(f"/api/assignments/{aid}"))
            planned = next(x for x in current["sessions"] if x["number"] == number)["planned_date"]
            on(planned)
            api.ok(api.post(f"/api/programme-sessions/{s['id']}/dose", {"minutes": 30 - number % 3, "rpe": 13}))
            if number == 6 + 1:  # after the missed week: the mid-point visit, moved to that day
                mid = api.ok(api.get(f"/api/assignments/{aid}"))["visits"][1]
                assert mid["assessment_id"] == "mid"
                run_visit(api, mid["id"], ["short-stance"])
        end = api.ok(api.get(f"/api/assignments/{aid}"))["visits"][2]
        on(end["planned_date"])
        run_visit(api, end["id"], ["short-stance"])
    finally:
        clinic.service.shutdown()

    doc = api.ok(api.get(f"/api/assignments/{aid}"))
    assert [v["status"] for v in doc["visits"]] == ["done", "done", "done"]
    assert doc["visits"][2]["planned_date"] == "2026-02-09"  # the end visit moved by the week's pause
    assert doc["position"]["finished"] and doc["position"]["next_session"] is None
    o = doc["adherence"]["overall"]
    assert (o["sessions_planned"], o["sessions_done"], o["sessions_missed"]) == (12, 9, 3)
    minutes = [30 - n % 3 for n in range(1, 13) if n not in (4, 5, 6)]
    assert o["minutes_done"] == sum(minutes) and o["minutes_planned"] == 360.0
    assert [w["sessions_done"] for w in doc["adherence"]["weeks"]] == [3, 0, 3, 3]
    assert [m["reason"] for m in doc["adherence"]["missed"]] == ["flu"] * 3
    outcomes = {o["key"]: o for g in doc["outcome_groups"] for o in g["outcomes"]}
    velocity = outcomes["short-stance/eo/mean_velocity_cm_s"]
    assert all(p["value"] is not None and p["value"] > 0 for p in velocity["points"])
    assert velocity["mdc"]["value"] == 0.61 and len(velocity["changes"]) == 2
    assert all(c["verdict"] in ("real improvement", "real worsening", "within measurement error") for c in velocity["changes"])
    area = outcomes["short-stance/eo/ellipse_area_cm2"]
    assert all(p["value"] is not None for p in area["points"]) and area["mdc"] is None
    assert {c["verdict"] for c in area["changes"]} == {"no MDC published"}
    glance = api.ok(api.get(f"/api/patients/{pid}/programme"))["programme"]
    assert glance["position"]["week"] == 4 and glance["adherence"]["sessions_done"] == 9
    actions = {e["action"] for e in store.audit.query(patient_id=pid, limit=1000)}
    assert {"programme.assign", "programme.view", "programme.update", "programme.dose", "trial.record"} <= actions


TWO_TESTS = CLINIC_PILOT.replace('name = "clinic-pilot"', 'name = "two-tests"').replace(
    'protocols = ["quiet-stance"]', 'protocols = ["quiet-stance", "tandem"]', 1)


def test_a_visit_runs_its_protocols_in_order_the_next_opening_when_one_is_finished_and_closed(
        tmp_path, store, wall, patient):
    folder = tmp_path / "data" / "protocols" / "programmes"
    folder.mkdir(parents=True)
    (folder / "two-tests.toml").write_text(TWO_TESTS)
    clinic = dashboard_support.SimulatedClinic(store, seed=5)
    _app, api = make_app(tmp_path, store, wall, clinic.service)
    doc = api.ok(api.post(f"/api/patients/{patient['id']}/programmes",
                          {"template": "two-tests", "start_date": "2026-01-05"}), 201)
    baseline = doc["visits"][0]
    assert baseline["protocols"] == ["quiet-stance", "tandem"]
    clinic.service.start()
    try:
        started = api.ok(api.post(f"/api/programme-visits/{baseline['id']}/run"), 201)
        assert started["protocol"] == "quiet-stance" and started["remaining"] == ["tandem"]
        wait_for(api, lambda s: s["run"]["state"] == "instructions", "the instructions")
        api.ok(api.post("/api/station/start"))
        wait_for(api, lambda s: s["run"]["finished"], "quiet stance finished")
        api.ok(api.post("/api/station/close"))
        following = wait_for(api, lambda s: s["run"] is not None and s["run"]["protocol"] == "tandem",
                             "the tandem stance opening by itself")["run"]
        deadline = time.monotonic() + 10.0
        while True:  # linked to the visit right after the run opened
            visit = api.ok(api.get(f"/api/assignments/{doc['id']}"))["visits"][0]
            if len(visit["runs"]) == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert [r["protocol"] for r in visit["runs"]] == ["quiet-stance", "tandem"]
        assert visit["runs"][1]["session_id"] == following["session_id"]
        assert visit["done_protocols"] == ["quiet-stance"] and visit["status"] == "planned"
        assert following["started_by"] == "ana"
        api.ok(api.post("/api/station/close"))  # closed before it finished: the sequence ends here
        time.sleep(0.3)
        assert api.get("/api/station").get_json()["service"]["run"] is None
        visit = api.ok(api.get(f"/api/assignments/{doc['id']}"))["visits"][0]
        assert visit["next_protocol"] == "tandem" and visit["status"] == "planned"  # no trial of it yet
    finally:
        clinic.service.shutdown()


def test_the_walks_every_programme_counted_say_whose_they_were(tmp_path, store, wall, patient, builtins):
    """s25: the visit results marked only the current programme's runs (asked of the glance); a walk an ended
    programme counted was said nowhere, or read as the current programme's. The visit's results' programme_marks
    (GET /api/patients/<id>/programme-runs until s26): every programme's, the ended one's said ended."""
    from test_partial_sessions_and_done_day import treadmill_trial

    app, api = make_app(tmp_path, store, wall)
    actor = Actor(None, "test")
    walks = {}
    for key in ("old", "new"):
        programme = store.programmes.assign(patient["id"], builtins["backward-walking-stroke"], "2026-01-05", actor=actor)
        trial = treadmill_trial(store, patient["id"], 29.0)
        store.programmes.credit_run_trial(programme["sessions"][0]["id"], trial, actor=actor)
        if key == "old":
            store.programmes.end(programme["id"], {"reason": "moved away"}, actor=actor)
        walks[key] = (trial["id"], programme["id"])
    session = store.trials.get(walks["new"][0])["session_id"]
    runs = api.ok(api.client.get(f"/api/sessions/{session}/results?visit=1"))["programme_marks"]["runs"]
    old, new = runs[str(walks["old"][0])], runs[str(walks["new"][0])]
    assert (old["assignment_id"], old["number"], old["ended"], old["ended_on"]) == (walks["old"][1], 1, True, "2026-01-05")
    assert (new["assignment_id"], new["number"], new["ended"], new["ended_on"]) == (walks["new"][1], 1, False, None)
    assert old["title"].startswith("Backward treadmill walking after stroke")


def test_the_tests_every_programmes_visits_took_say_whose_they_were(tmp_path, store, wall, patient, builtins):
    """s25 P3: the visit results marked the walks a programme counted, not the tests its visits took, so an ended
    programme's baseline read as any visit's (or as the current programme's). The visit's results' programme_marks
    (GET /api/patients/<id>/programme-runs until s26) carry every programme's visit links, by station session, the
    ended programme's said ended."""
    ids = _two_programmes_visit(store, wall, patient, builtins)
    app, api = make_app(tmp_path, store, wall)
    tests = {key: (ids[key]["session"], ids[key]["assignment"], ids[key]["baseline"]) for key in ("old", "new")}
    visits = api.ok(api.client.get(f"/api/sessions/{tests['new'][0]}/results?visit=1"))["programme_marks"]["visits"]
    assert set(visits) == {str(tests["old"][0]), str(tests["new"][0])}
    (old,), (new,) = visits[str(tests["old"][0])], visits[str(tests["new"][0])]
    assert (old["assignment_id"], old["visit_id"], old["label"], old["assessment_id"], old["week"], old["protocol"],
            old["ended"], old["ended_on"]) == (tests["old"][1], tests["old"][2], "Baseline", "baseline", 0, "quiet-stance",
                                               True, "2026-01-05")
    assert (new["assignment_id"], new["ended"], new["ended_on"], new["status"]) == (tests["new"][1], False, None, "active")
    assert old["title"].startswith("Backward treadmill walking after stroke")


def _two_programmes_visit(store, wall, patient, builtins) -> dict:
    """A visit of this morning: an ended programme's baseline quiet stance and a walk it counted, the current
    programme's baseline quiet stance and a walk it counted; a week later, the current programme's quiet stance
    of another visit (its mid-point). Ids by name."""
    from programme_support import store_assessment
    from test_partial_sessions_and_done_day import treadmill_trial

    actor = Actor(None, "test")
    out = {}
    for key in ("old", "new"):
        programme = store.programmes.assign(patient["id"], builtins["backward-walking-stroke"], "2026-01-05", actor=actor)
        baseline = next(v for v in programme["visits"] if v["assessment_id"] == "baseline")
        session = store_assessment(store, patient["id"], "quiet-stance", {"eo": {"velocity": 1.5}})
        store.programmes.link_visit_session(baseline["id"], "quiet-stance", session, actor=actor)
        walk = treadmill_trial(store, patient["id"], 29.0)
        store.programmes.credit_run_trial(programme["sessions"][0]["id"], walk, actor=actor)
        if key == "old":
            store.programmes.end(programme["id"], {"reason": "moved away"}, actor=actor)
        out[key] = {"assignment": programme["id"], "session": session, "walk": walk["id"], "programme": programme,
                    "baseline": baseline["id"]}
    wall.t_s += 7 * 86_400
    mid = next(v for v in out["new"]["programme"]["visits"] if v["assessment_id"] == "mid")
    out["later"] = store_assessment(store, patient["id"], "quiet-stance", {"eo": {"velocity": 1.4}})
    store.programmes.link_visit_session(mid["id"], "quiet-stance", out["later"], actor=actor)
    return out


def test_a_view_of_a_visit_is_one_audited_entry_and_carries_its_programme_marks(tmp_path, store, wall, patient,
                                                                              builtins):
    """s26 P4, item 3: the visit page asked GET .../programme-runs besides its results, so every view of any visit
    wrote a programme.view, and its results wrote a session.view per session of the visit and a patient.view (the
    patient's sessions read to find the visit's): five entries for one look at a visit of two tests. Now the
    results carry the visit's programme marks (programme_marks, cut to its trials and tests) and the view is one
    session.view naming the visit's sessions."""
    ids = _two_programmes_visit(store, wall, patient, builtins)
    app, api = make_app(tmp_path, store, wall)
    visit = {ids["old"]["session"], ids["new"]["session"], store.trials.get(ids["old"]["walk"])["session_id"],
             store.trials.get(ids["new"]["walk"])["session_id"]}
    before = len(store.audit.query(username="ana", limit=1000))
    doc = api.ok(api.get(f"/api/sessions/{ids['new']['session']}/results?visit=1"))
    entries = store.audit.query(username="ana", limit=1000)  # newest first
    entries = entries[:len(entries) - before]
    assert [(e["action"], e["patient_id"], e["object"]) for e in entries] == [
        ("session.view", patient["id"], f"session:{ids['new']['session']}")]
    assert set(entries[0]["detail"]["visit"]) == visit == {s["id"] for s in doc["sessions"]}
    marks = doc["programme_marks"]
    assert set(marks["runs"]) == {str(ids["old"]["walk"]), str(ids["new"]["walk"])}
    assert set(marks["visits"]) == {str(ids["old"]["session"]), str(ids["new"]["session"])}  # not the later visit's
    (old,) = marks["visits"][str(ids["old"]["session"])]
    assert (old["assignment_id"], old["label"], old["ended"]) == (ids["old"]["assignment"], "Baseline", True)
    later = api.ok(api.get(f"/api/sessions/{ids['later']}/results?visit=1"))["programme_marks"]
    assert later["runs"] == {} and set(later["visits"]) == {str(ids["later"])}
    (mid,) = later["visits"][str(ids["later"])]
    assert (mid["assignment_id"], mid["label"], mid["ended"]) == (ids["new"]["assignment"], "Mid-point (after week 2)",
                                                                  False)


def test_no_page_asks_for_every_programme_run_of_a_patient_so_it_is_gone(tmp_path, store, wall, patient, builtins):
    """s26 P5, item 5: GET /api/patients/<id>/programme-runs gave every programme's walks and visit tests of a
    patient, audited as a programme.view; since the visit's results carry their own marks (e0359d0) no page asks
    for it, and docs/api.md named it among the pages' API, promised to no outside user. It is gone: 404, nothing
    read nor audited; the marks come with the visit's one audited view."""
    ids = _two_programmes_visit(store, wall, patient, builtins)
    app, api = make_app(tmp_path, store, wall)
    before = len(store.audit.query(limit=1000))
    r = api.get(f"/api/patients/{patient['id']}/programme-runs")
    assert r.status_code == 404 and r.is_json, r.get_data(as_text=True)
    assert len(store.audit.query(limit=1000)) == before  # nothing read, nothing audited
    assert app.test_client().get(f"/api/patients/{patient['id']}/programme-runs").status_code in (401, 404)
    marks = api.ok(api.get(f"/api/sessions/{ids['new']['session']}/results?visit=1"))["programme_marks"]
    assert set(marks["runs"]) == {str(ids["old"]["walk"]), str(ids["new"]["walk"])}


def test_the_visit_pdf_says_whose_programme_each_test_and_walk_was_as_the_page_does(tmp_path, store, wall, patient,
                                                                                  builtins, protocols):
    """s26 P4, item 1: the visit results say under a test's heading whose programme's visit took it and beside a
    walk which programme counted it (results.js); the visit PDF said neither, so an ended programme's baseline
    and walk read there as any visit's. Now it says the same marks (programmes.report.visit_marks, mark_words)."""
    from station.protocols.report import session_results
    from station.reports.build import make_report
    from station.reports.context import Clinic

    reports_support = load_test_module("reports_support", "reports/reports_support.py")
    reports_support.poppler_or_skip()
    ids = _two_programmes_visit(store, wall, patient, builtins)
    ended_on = store.programmes.get(ids["old"]["assignment"])["ended_on"]
    title = "Backward treadmill walking after stroke (4 weeks)"

    def text(session_id: int) -> str:
        return reports_support.pdf_text(make_report("session", store, session_id, protocols=protocols,
                                                    clinic=Clinic("Clinic", None), actor=Actor(None, "test")))

    visit = text(ids["new"]["session"])
    numbers = {s["id"]: s["number"] for s in session_results(store, ids["new"]["session"], protocols,  # as numbered
                                                               actor=Actor(None, "test"), visit=True)["sessions"]}
    assert (f"Test {numbers[ids['old']['session']]}: Baseline of the ended programme {title} (ended {ended_on})."
            in visit), visit
    assert f"Test {numbers[ids['new']['session']]}: Baseline of the programme {title}." in visit, visit
    assert f"Trial #{ids['old']['walk']}: session 1 of the ended programme {title} (ended {ended_on})." in visit
    assert f"Trial #{ids['new']['walk']}: session 1 of the programme {title}." in visit
    later = text(ids["later"])
    assert f"Mid-point (after week 2) of the programme {title}." in later, later
    assert "Baseline of" not in later and "session 1 of" not in later  # the other visit's marks are not this one's
