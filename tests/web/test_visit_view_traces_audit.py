"""A look at a visit is one audit entry, its traces included (s26 P5, item 1). The visit page's traces asked
GET /api/trials/<id> and /frames (a walk's /steps) for each trial drawn, each a trial.view or trial.frames entry,
so one look at a visit wrote 1 + 2 per trace. Now the page's trace requests carry the visit they are drawn in
(?in_visit=<the session whose results it asked>) and are part of that view, recorded once by the results; the
parameter opens nothing to whom did not view the visit (web/visit_views.py)."""

from __future__ import annotations

import pytest

from station.store.audit import Actor

from web_support import CAL, CLINICIAN_PW, ApiClient, clinic_data

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture
def visit(store, records):
    """The records' patient's visit of two sessions (a trial each), and a trial of the other patient."""
    who = Actor(records["user"], "ana")
    second = store.sessions.create(records["patient"], {"label": "second"}, actor=who)
    trial = store.trials.import_trial(second["id"], "romberg", "eyes_closed", CAL, 100.0, clinic_data.make_frames(500),
                                      clinic_data.metrics_doc(), True, None, actor=who)
    elsewhere = store.sessions.create(records["other"], {"label": "other"}, actor=who)
    other = store.trials.import_trial(elsewhere["id"], "romberg", "eyes_open", CAL, 100.0, clinic_data.make_frames(500),
                                      clinic_data.metrics_doc(), True, None, actor=who)
    return {"session": records["session"], "trials": [records["trial"], trial], "second": second["id"],
            "other_trial": other}


def _trace_paths(trial_id: int, query: str) -> list[str]:
    """What the visit page asks for a trace: the trial and its frames (a sway trace), its steps (a walk's)."""
    return [f"/api/trials/{trial_id}?{query}", f"/api/trials/{trial_id}/frames?fields=time_s,ap_cm,ml_cm&max_points=2000&{query}",
            f"/api/trials/{trial_id}/steps?max_points=4000&{query}"]


def _new_entries(store, before: int) -> list[tuple[str, str]]:
    entries = store.audit.query(username="ana", limit=1000)  # newest first
    return [(e["action"], e["object"]) for e in reversed(entries[:len(entries) - before])]


def test_a_look_at_a_visit_with_its_traces_is_one_audit_entry(store, records, visit, clinician):
    before = len(store.audit.query(username="ana", limit=1000))
    doc = clinician.get(f"/api/sessions/{visit['session']}/results?visit=1").json
    assert {s["id"] for s in doc["sessions"]} == {visit["session"], visit["second"]}
    for trial_id in visit["trials"]:
        for path in _trace_paths(trial_id, f"in_visit={visit['session']}"):
            assert clinician.get(path).status_code == 200, path
    assert _new_entries(store, before) == [("session.view", f"session:{visit['session']}")]


def test_the_visit_parameter_opens_no_unaudited_read(app, store, records, visit, clinician):
    query = f"in_visit={visit['session']}"
    # another login session of the same user, which has not viewed the visit: each trace read audited
    other = ApiClient(app.test_client())
    assert other.login("ana", CLINICIAN_PW).status_code == 200
    before = len(store.audit.query(username="ana", limit=1000))
    for path in _trace_paths(visit["trials"][0], query):
        assert other.get(path).status_code == 200, path
    trial = f"trial:{visit['trials'][0]}"
    assert _new_entries(store, before) == [("trial.view", trial), ("trial.frames", trial), ("trial.frames", trial)]
    # the clinician viewed the visit: a trial of another patient named with it is audited all the same
    clinician.get(f"/api/sessions/{visit['session']}/results?visit=1")
    before = len(store.audit.query(username="ana", limit=1000))
    for path in _trace_paths(visit["other_trial"], query):
        assert clinician.get(path).status_code == 200, path
    other_trial = f"trial:{visit['other_trial']}"
    assert _new_entries(store, before) == [("trial.view", other_trial), ("trial.frames", other_trial),
                                           ("trial.frames", other_trial)]
    # a view of one session alone (no ?visit=1) holds that session's trials, not the rest of its visit's
    fresh = ApiClient(app.test_client())
    assert fresh.login("ana", CLINICIAN_PW).status_code == 200
    fresh.get(f"/api/sessions/{visit['session']}/results")
    before = len(store.audit.query(username="ana", limit=1000))
    assert fresh.get(f"/api/trials/{visit['trials'][0]}?{query}").status_code == 200
    assert fresh.get(f"/api/trials/{visit['trials'][1]}?{query}").status_code == 200
    assert _new_entries(store, before) == [("trial.view", f"trial:{visit['trials'][1]}")]


def test_a_bad_visit_parameter_is_refused_in_words_and_reads_nothing(store, records, visit, clinician):
    before = len(store.audit.query(username="ana", limit=1000))
    for path in _trace_paths(visit["trials"][0], "in_visit=abc"):
        response = clinician.get(path)
        assert response.status_code == 422, path
        assert "the number of the session whose visit results the page shows" in response.json["fields"]["in_visit"]
        assert "Traceback" not in response.get_data(as_text=True)
    assert _new_entries(store, before) == []


def test_a_trial_recorded_after_the_view_is_not_part_of_it(store, records, visit, clinician):
    """s26 X5: the view covered every trial of the visit's sessions, also one recorded in them after it, which the
    results never showed: read with ?in_visit= it left no entry at all. Now only the trials the results listed."""
    clinician.get(f"/api/sessions/{visit['session']}/results?visit=1")
    later = store.trials.import_trial(visit["second"], "romberg", "eyes_open", CAL, 100.0, clinic_data.make_frames(500),
                                      clinic_data.metrics_doc(), True, None, actor=Actor(records["user"], "ana"))
    before = len(store.audit.query(username="ana", limit=1000))
    for path in _trace_paths(later, f"in_visit={visit['session']}"):
        assert clinician.get(path).status_code == 200, path
    trial = f"trial:{later}"
    assert _new_entries(store, before) == [("trial.view", trial), ("trial.frames", trial), ("trial.frames", trial)]
    # the trials the view listed are still part of it; a new look at the visit lists the later one too
    before = len(store.audit.query(username="ana", limit=1000))
    assert clinician.get(f"/api/trials/{visit['trials'][1]}?in_visit={visit['session']}").status_code == 200
    clinician.get(f"/api/sessions/{visit['session']}/results?visit=1")
    assert clinician.get(f"/api/trials/{later}?in_visit={visit['session']}").status_code == 200
    assert _new_entries(store, before) == [("session.view", f"session:{visit['session']}")]


@pytest.mark.parametrize("value", ["%C2%B2", "%D9%A1%D9%A2", "+1", "-1", "1e3"])
def test_a_visit_parameter_of_other_digits_is_refused_in_words(store, records, visit, clinician, value):
    """s26 X5: '²' (and the Arabic-Indic digits) are digits to str.isdigit; int('²') raised, a 500 'internal error'."""
    response = clinician.get(f"/api/trials/{visit['trials'][0]}?in_visit={value}")
    assert response.status_code == 422
    assert "the number of the session whose visit results the page shows" in response.json["fields"]["in_visit"]
