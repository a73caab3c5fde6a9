"""A trial's summary (the patient page's row) carries a timed hold's time held and the first quality issue's code, the
same on SQLite and on the hub's PostgreSQL (whose json_extract reads object paths only: '$.trial.issues[0].code' read
None there)."""

from __future__ import annotations


def test_a_holds_summary_has_its_time_held_and_first_issue(store, clinician):
    patient = store.patients.create({"identifier": "HELD-1", "birth_year": 1950, "sex": "F"}, actor=clinician)
    session = store.sessions.create(patient["id"], {"label": "single-leg"}, actor=clinician)
    never = "The other foot was never lifted."
    for held, issues in ((30.0, []), (None, [{"code": "no_liftoff", "message": never, "at_s": None}])):
        writer = store.trials.start_trial(session["id"], "single-leg", "left", {"method": "nominal"}, 100.0, actor=clinician)
        writer.finish({"fs_hz": 100.0, "samples": 0, "profile": "station", "version": "test", "metrics": {},
                       "trial": {"time_held_s": held, "issues": issues}}, valid=held is not None,
                      reason=None if held else never)
    [viewed] = store.patients.view(patient["id"], actor=clinician)["sessions"]
    assert [(t["time_held_s"], t["first_issue"]) for t in viewed["trials"]] == [(30.0, None), (None, "no_liftoff")]


def test_a_trials_summary_says_whether_the_station_counts_it_unable(store, clinician):
    """The patient page's row reads the results page's verdict (station.store.verdict.unable_kind): a trial the foot
    was never lifted in is "measured" unable, one the clinician scored is "scored", one a clinician judged invalid for
    a reason of their own, or any other trial, is not (before: no such field, the page tagged them all "invalid")."""
    patient = store.patients.create({"identifier": "HELD-2", "birth_year": 1950, "sex": "F"}, actor=clinician)
    session = store.sessions.create(patient["id"], {"label": "single-leg"}, actor=clinician)
    never = "The other foot was never lifted."
    scored = "Scored unable by the clinician (ana), not measured: the patient cannot stand on one leg."
    ids = []
    for held, issue in ((30.0, None), (None, {"code": "no_liftoff", "message": never, "at_s": None}),
                        (None, {"code": "scored_unable", "message": scored, "at_s": None}),
                        (None, {"code": "no_liftoff", "message": never, "at_s": None})):
        writer = store.trials.start_trial(session["id"], "single-leg", "left", {"method": "nominal"}, 100.0, actor=clinician)
        writer.finish({"fs_hz": 100.0, "samples": 0, "profile": "station", "version": "test", "metrics": {},
                       "trial": {"time_held_s": held, "issues": [issue] if issue else []}}, valid=held is not None,
                      reason=None if held else issue["message"])
        ids.append(writer.trial_id)
    store.trials.judge(ids[3], {"valid": False, "validity_reason": "patient held the frame"}, actor=clinician)
    [viewed] = store.patients.view(patient["id"], actor=clinician)["sessions"]
    assert [t["unable"] for t in viewed["trials"]] == [None, "measured", "scored", None]
