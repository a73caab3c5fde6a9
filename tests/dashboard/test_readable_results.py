"""What the results, history and station pages say to a clinician: plain verdicts for cut-offs,
percentiles with the better direction, flags and misfits, inability kept as 0 s, the mCTSIB
composite and sensory ratios, one visit across protocols, MDCs only where they were published,
the measure catalogue, interrupted trials, admin pages and styled error pages."""

from __future__ import annotations

import re

import pytest

from station.analysis.metrics import METRIC_KEYS
from station.protocols.loader import builtin_protocols
from station.protocols.report import (
    cutoff_reading,
    mdc_verdict,
    norm_reading,
    patient_history,
    session_results,
    unable_trial,
    visit_session_ids,
)
from station.reference import mdc, measures, norms
from station.store.audit import Actor
from web import create_app

from dashboard_support import ACTOR, ADMIN_PW, CHEAP, CLINICIAN_PW

BACKENDS = ("sqlite", "postgresql")
"""The tests using the store run on the station's SQLite and on the hub's PostgreSQL (conftest)."""

PROTOCOLS = builtin_protocols()


def make_frames(n: int):
    """``n`` frames of a person standing still on the plate (cm, N)."""
    import numpy as np

    from station.acquire.frame import empty_frames

    frames = empty_frames(n)
    frames["seq"] = np.arange(n)
    frames["t_ns"] = frames["seq"] * 10_000_000
    frames["fz_n"] = 700.0
    for corner in ("fl_n", "fr_n", "bl_n", "br_n"):
        frames[corner] = 175.0
    return frames


def cut(value, flagged, below=30.0):
    return {"metric": "time_held_s", "condition": "x", "value": value, "below": below, "above": None,
            "flagged": flagged, "meaning": "this sensory condition is a problem for the patient.", "source": "S"}


def test_a_met_criterion_reads_as_met_and_a_missed_one_says_what_it_implies():
    met = cutoff_reading(cut(30.0, False), "s")
    assert met["verdict"] == "met" and "criterion is met" in met["words"] and "problem" not in met["words"]
    below = cutoff_reading(cut(12.0, True), "s")
    assert below["verdict"] == "below" and below["words"].startswith("Below 30 s") and "problem" in below["words"]
    assert cutoff_reading(cut(None, None), "s")["verdict"] is None
    # the source's words naming the limit are not preceded by the limit again
    named = cutoff_reading({**cut(20.6, True), "meaning": "Condition score below 30 s (the mean of its attempts): a problem."}, "s")
    assert named["words"] == "Condition score below 30 s (the mean of its attempts): a problem."


def test_percentiles_say_which_way_is_better_flag_the_tails_and_when_the_norm_does_not_fit():
    high = norms.compare("mean_velocity_cm_s", 3.0, age_y=70, eyes="open", surface="firm", feet="together", duration_s=30)
    reading = norm_reading("mean_velocity_cm_s", high, "together")
    assert reading["better"] == "lower" and "less sway" in reading["direction"]
    assert reading["flag"] == "above_p95" and "More sway than 95 %" in reading["flag_words"]
    assert reading["flag_tone"] == "worse"  # shown as an alarm
    assert not reading["fits"] and "feet together" in reading["misfit"] and "60 s" in reading["misfit"]
    low = norms.compare("mean_velocity_cm_s", 0.3, age_y=70, eyes="open", surface="firm", feet="apart", duration_s=60)
    low_reading = norm_reading("mean_velocity_cm_s", low, "apart")
    assert low_reading["flag"] == "below_p05" and low_reading["fits"] and low_reading["misfit"] == ""
    # less sway than 95 % of the group is good news, not an alarm like the other tail
    assert low_reading["flag_tone"] == "better" and "Less sway than 95 %" in low_reading["flag_words"]
    typical = norms.compare("mean_velocity_cm_s", 1.0, age_y=70, eyes="open", surface="firm", feet="apart", duration_s=60)
    assert norm_reading("mean_velocity_cm_s", typical, "apart")["flag"] is None
    mpf = norms.compare("mean_power_frequency_hz", 0.3, age_y=70, eyes="open", surface="firm", feet="apart", duration_s=60)
    assert norm_reading("mean_power_frequency_hz", mpf, "apart")["better"] is None
    for frequency_hz in (0.01, 5.0):  # either tail of a measure with no better direction: unusual, not judged
        tail = norms.compare("mean_power_frequency_hz", frequency_hz, age_y=70, eyes="open", surface="firm",
                             feet="apart", duration_s=60)
        assert norm_reading("mean_power_frequency_hz", tail, "apart")["flag_tone"] == "unusual"


def test_every_measure_has_a_label_unit_group_and_meaning():
    for key in METRIC_KEYS:
        d = measures.describe(key)
        assert d["group"] != "Other" and d["label"] != key and d["meaning"], key
    long_term = measures.describe("sda_d_long_ap_cm2_s")
    assert "negative" in long_term["meaning"] and "Collins" in long_term["reference"]
    assert measures.describe("new_measure_x")["label"] == "new_measure_x"  # never fails
    assert set(METRIC_KEYS) <= set(measures.known_keys())


def test_mdc_only_for_its_population_and_surface():
    firm = mdc.find_mdc("mean_velocity_cm_s", protocol="mctsib", eyes="open", feet="together", surface="firm")
    assert firm is not None and firm.value == 0.61
    assert mdc.find_mdc("mean_velocity_cm_s", protocol="mctsib", eyes="open", feet="together", surface="foam") is None
    # with its unit, and why not, in the cut-offs' words (outside review: "(0.21)" beside a change in m/s)
    assert mdc.fits_patient(firm, ["fall_12m"], 70) == (
        "The published minimal detectable change (0.61 cm/s) was set in people after stroke, firm surface; it is not "
        "applied to this patient (no stroke in the patient's conditions).")
    assert mdc.fits_patient(firm, ["stroke:left"], 70) == ""
    held = mdc.find_mdc("time_held_s", protocol="single-leg", eyes="open", feet="single_left", surface="firm")
    assert mdc.fits_patient(held, [], 45) and mdc.fits_patient(held, [], 72) == ""


def store_unable_trial(store, session_id: int) -> dict:
    """A single-leg trial where the foot never left the plate, stored as the engine stores it."""
    message = "The patient did not lift a foot within 5 s of the start signal (the centre of pressure stayed between the feet)."
    writer = store.trials.start_trial(session_id, "single-leg", "left", {"method": "nominal"}, 100.0, actor=ACTOR)
    writer.append(make_frames(800))
    doc = {"fs_hz": 100.0, "samples": 800, "profile": "station", "version": "t", "metrics": {}, "note": "no sway measures",
           "trial": {"protocol": "single-leg", "condition": "left", "label": "Standing on the left leg", "trial": 1,
                     "attempt": 1, "valid": False, "end_reason": "invalid", "completed": False, "duration_s": 30.0,
                     "time_held_s": None, "liftoff_s": None, "hold_end": None,
                     "issues": [{"code": "no_liftoff", "message": message, "at_s": 5.2}], "warnings": [],
                     "body_weight_n": 700.0, "analysis_start_s": None, "analysis_end_s": None, "metrics_note": ""}}
    return writer.finish(doc, False, message)


def test_inability_is_a_result_of_0_s_kept_in_the_results_and_the_history(store, patient):
    session = store.sessions.create(patient["id"], {"label": "Single-leg stance"}, actor=ACTOR)
    trial = store_unable_trial(store, session["id"])
    assert unable_trial(store.trials.get(trial["id"]))
    doc = session_results(store, session["id"], PROTOCOLS, actor=ACTOR)
    left = doc["protocols"][0]["conditions"][0]
    assert left["values"]["time_held_s"] == 0.0 and left["trials"][0]["unable"]
    held = {m["metric"]: m for m in left["key_measures"]}["time_held_s"]
    assert [r["verdict"] for r in held["references"] if r["kind"] == "cutoff"] == ["below"]
    history = patient_history(store, patient["id"], PROTOCOLS, actor=ACTOR)
    series = [s for s in history["series"] if s["metric"] == "time_held_s"]
    assert series and series[0]["points"][0]["value"] == 0.0 and series[0]["key"]
    # a clinician who judges it otherwise (e.g. the patient misunderstood) takes it out
    store.trials.set_validity(trial["id"], False, "Patient misunderstood the instruction", actor=ACTOR)
    assert not unable_trial(store.trials.get(trial["id"]))


HELD_S = {("mctsib", "firm_eo"): [30.0], ("mctsib", "firm_ec"): [30.0], ("mctsib", "foam_eo"): [30.0],
          ("mctsib", "foam_ec"): [12.4], ("single-leg", "left"): [8.2, 14.6, 11.0], ("single-leg", "right"): [6.5, 9.9, 7.1]}
"""The visit's time held by test and condition, each trial's (s): the mCTSIB's 30 s held but on foam with the eyes
closed; single-leg stance's three trials on each leg, whose score is the best (not the mean)."""


def store_stance_trial(store, session_id: int, protocol: str, condition: str, trial: int, held_s: float) -> None:
    """A stance trial held ``held_s`` of its 30 s, stored as the trial engine stores it (its outcome and its
    sway measures: velocity and area growing with the condition's difficulty, the weight split)."""
    full = held_s >= 30.0
    hard = list(HELD_S).index((protocol, condition)) + trial
    writer = store.trials.start_trial(session_id, protocol, condition, {"method": "nominal"}, 100.0, actor=ACTOR)
    outcome = {"protocol": protocol, "condition": condition, "label": condition, "trial": trial, "attempt": 1,
               "valid": True, "end_reason": "duration" if full else "touchdown", "issues": [], "warnings": [],
               "completed": full, "duration_s": 30.0, "time_held_s": held_s,
               "hold_end": None if full else {"code": "touchdown", "message": "foot down", "at_s": held_s}}
    metrics = {"mean_velocity_cm_s": 0.8 + 0.45 * hard, "ellipse_area_cm2": 1.5 + 1.1 * hard,
               "path_length_cm": (0.8 + 0.45 * hard) * held_s, "weight_left_pct": 48.0 + hard % 3}
    writer.finish({"kind": "stance", "fs_hz": 100.0, "samples": round(held_s * 100), "profile": "station",
                   "version": "test", "metrics": metrics, "trial": outcome}, valid=True)


@pytest.fixture
def visit(store, patient):
    """mCTSIB then single-leg stance for one patient, each its own session (as the live page runs them), stored
    as the trial engine stores them (recording through the trial service: tests/dashboard/test_service.py)."""
    sessions = []
    for protocol in ("mctsib", "single-leg"):
        session = store.sessions.create(patient["id"], {"label": protocol}, actor=ACTOR)
        for (of, condition), held in HELD_S.items():
            for trial, held_s in enumerate(held if of == protocol else [], start=1):
                store_stance_trial(store, session["id"], protocol, condition, trial, held_s)
        sessions.append(session["id"])
    return sessions


def test_a_visit_is_one_results_page_with_the_mctsib_composite_ratios_and_history(store, patient, visit):
    assert visit_session_ids(store, visit[1], actor=ACTOR) == visit
    doc = session_results(store, visit[0], PROTOCOLS, actor=ACTOR, visit=True)
    assert [s["id"] for s in doc["sessions"]] == visit
    assert [p["protocol"] for p in doc["protocols"]] == ["mctsib", "single-leg"]
    mctsib, single = doc["protocols"]
    sensory = mctsib["sensory"]
    assert sensory["composite_s"] == pytest.approx(sum(c["values"]["time_held_s"] for c in mctsib["conditions"]))
    assert sensory["max_s"] == 120 and len(sensory["ratios"]) == 3
    firm = {c["id"]: c for c in mctsib["conditions"]}
    ratio = sensory["ratios"][2]["ratio"]
    assert ratio == pytest.approx(firm["foam_ec"]["values"]["mean_velocity_cm_s"] / firm["firm_eo"]["values"]["mean_velocity_cm_s"], rel=1e-3)
    assert single["sensory"] is None
    # the weight split means nothing on one leg: not shown there
    for condition in single["conditions"]:
        assert "weight_left_pct" not in {m["metric"] for m in condition["key_measures"]}
    # a passed condition reads as passed
    held = {m["metric"]: m for m in firm["firm_eo"]["key_measures"]}["time_held_s"]
    cutoff = [r for r in held["references"] if r["kind"] == "cutoff"][0]
    if cutoff["value"] >= 30:
        assert cutoff["verdict"] == "met" and "problem" not in cutoff["words"]
    # without visit=True only the session itself
    assert len(session_results(store, visit[0], PROTOCOLS, actor=ACTOR)["protocols"]) == 1

    # the history leads with the key measures, and hides the stroke MDC from this patient
    history = patient_history(store, patient["id"], PROTOCOLS, actor=ACTOR)
    key = {(s["protocol"], s["metric"]) for s in history["series"] if s["key"]}
    assert key == {("mctsib", "time_held_s"), ("single-leg", "time_held_s")}
    velocity = [s for s in history["series"] if s["metric"] == "mean_velocity_cm_s"]
    assert velocity and all(s["mdc"] is None for s in velocity)  # P-001 has no stroke; foam never had one
    assert all(s["floor"] == 0.0 for s in history["series"] if s["metric"] != "weight_left_pct")
    # the time held in the history is the test's own score, as on the results page (best of single-leg's trials)
    scores = {(p["protocol"], c["id"]): c["values"]["time_held_s"] for p in doc["protocols"] for c in p["conditions"]}
    for s in history["series"]:
        if s["metric"] == "time_held_s":
            assert s["points"][0]["value"] == pytest.approx(scores[(s["protocol"], s["condition"])], abs=1e-3), s["condition"]


# -- pages ------------------------------------------------------------------------------------
@pytest.fixture
def app(tmp_path, store):
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "STORE": store, "PASSWORD_COST": CHEAP, "TESTING": True})
    store.users.create_first_admin("root", ADMIN_PW, actor=Actor(None, "test"))
    store.users.create("ana", CLINICIAN_PW, "clinician", actor=Actor(None, "test"))
    return app


def signed_in(app, username: str, password: str):
    client = app.test_client()
    token = client.get("/api/session").get_json()["csrf_token"]
    assert client.post("/api/login", json={"username": username, "password": password},
                       headers={"X-CSRF-Token": token}).status_code == 200
    client.csrf = client.get("/api/session").get_json()["csrf_token"]  # a new one after signing in
    return client


def test_unknown_addresses_get_a_styled_page_and_the_api_keeps_json(app):
    admin = signed_in(app, "root", ADMIN_PW)
    page = admin.get("/no/such/page")
    text = page.get_data(as_text=True)
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Page not found" in text and "station.css" in text and "Back to the patients" in text
    assert "Werkzeug" not in text and "<title>404" not in text
    api = admin.get("/api/no/such/thing")
    assert api.status_code == 404 and api.is_json and api.get_json()["error"]
    refused = admin.post("/patients", headers={"X-CSRF-Token": admin.csrf})
    assert refused.status_code == 405 and "Not possible here" in refused.get_data(as_text=True)


def test_refusals_and_failures_get_the_stations_page_too(app, monkeypatch):
    clinician = signed_in(app, "ana", CLINICIAN_PW)
    refused = clinician.get("/admin/users")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 403 and refused.mimetype == "text/html" and "station.css" in text
    assert "Not allowed" in text and "for administrators" in text and "Back to the patients" in text
    expired = clinician.post("/logout", data={"csrf_token": "stale"})
    assert expired.status_code == 403 and "The form had expired" in expired.get_data(as_text=True)
    assert clinician.get("/api/users").is_json  # the API keeps its JSON

    import web.pages

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(web.pages, "_plate", broken)  # the live page's view fails
    failed = clinician.get("/live")
    text = failed.get_data(as_text=True)
    assert failed.status_code == 500 and failed.mimetype == "text/html"
    assert "Something went wrong" in text and "Traceback" not in text and "a bug" not in text


def test_admin_pages_for_administrators_only_with_their_scripts(app):
    admin = signed_in(app, "root", ADMIN_PW)
    clinician = signed_in(app, "ana", CLINICIAN_PW)
    for path, marker in (("/admin/users", "admin-users-page"), ("/admin/settings", "admin-settings-page"),
                         ("/admin/audit", "admin-audit-page")):
        page = admin.get(path)
        assert page.status_code == 200 and marker in page.get_data(as_text=True) and "js/admin.js" in page.get_data(as_text=True)
        assert clinician.get(path).status_code == 403
    assert 'href="/admin/users"' in admin.get("/patients").get_data(as_text=True)
    assert 'href="/admin/users"' not in clinician.get("/patients").get_data(as_text=True)


def test_the_measure_catalogue_is_served(app):
    doc = signed_in(app, "ana", CLINICIAN_PW).get("/api/measures").get_json()
    assert doc["groups"][0] == "Test result"
    velocity = doc["measures"]["mean_velocity_cm_s"]
    assert velocity["label"] == "Mean sway velocity" and velocity["unit"] == "cm/s" and velocity["reference"]
    assert set(METRIC_KEYS) <= set(doc["measures"])
    # what a timed walk's gait measures span, in the PDF's words (the trial and results pages read them here)
    assert doc["walk_spans"]["cadence_steps_min"] == "over the whole walk recorded, not only the timed distance"


def test_the_clinic_name_appears_in_the_header(app):
    admin = signed_in(app, "root", ADMIN_PW)
    assert admin.patch("/api/settings", json={"clinic_name": "Physio North"}, headers={"X-CSRF-Token": admin.csrf}).status_code == 200
    assert "Physio North" in admin.get("/patients").get_data(as_text=True)


def test_the_identifier_pattern_is_valid_with_the_v_flag(app):
    """The form's pattern is the station's rule, rendered from station.store.patients.IDENTIFIER_PATTERN (before: a
    pattern of its own, "[A-Za-z0-9._\\-]+", took a leading dot or hyphen the station refused)."""
    import html

    from station.store.patients import IDENTIFIER_RE

    admin = signed_in(app, "root", ADMIN_PW)
    page = admin.get("/patients").get_data(as_text=True)
    pattern = html.unescape(re.search(r'name="identifier"[^>]*pattern="([^"]+)"', page).group(1))
    maxlength = re.search(r'name="identifier"[^>]*maxlength="(\d+)"', page).group(1)
    # with the v flag a hyphen must be escaped inside a class (Chrome compiles pattern with /v)
    assert re.search(r"[^\\]-\]", pattern) is None
    for value in ("P-001.a_b", ".P1", "-P1", "_P1", "P 1", "A" * 32, "A" * 33):
        assert bool(re.fullmatch(pattern, value)) == bool(IDENTIFIER_RE.match(value)), value
    assert maxlength == "32"


def test_the_station_says_which_trials_a_crash_interrupted(tmp_path, store, patient):
    session = store.sessions.create(patient["id"], {}, actor=ACTOR)
    writer = store.trials.start_trial(session["id"], "mctsib", "firm_eo", {"method": "nominal"}, 100.0, actor=ACTOR)
    writer.append(make_frames(300))
    writer.flush()
    store.trials._release(writer.trial_id)  # the process died here: the trial stays "recording"
    ids = store.recover_partial_trials()
    assert ids == [writer.trial_id] and store.recovered_trial_ids == (writer.trial_id,)
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "STORE": store, "PASSWORD_COST": CHEAP, "TESTING": True})
    store.users.create_first_admin("root", ADMIN_PW, actor=Actor(None, "test"))
    doc = signed_in(app, "root", ADMIN_PW).get("/api/station").get_json()
    assert doc["interrupted"] == [{"trial_id": writer.trial_id, "session_id": session["id"], "patient_id": patient["id"],
                                   "patient_identifier": "P-001", "protocol": "mctsib", "condition": "firm_eo",
                                   "started_at": doc["interrupted"][0]["started_at"], "frame_count": 300}]


def test_a_change_beyond_the_mdc_is_named_by_the_measures_better_direction():
    # a faster walk (higher is better) and a shorter walk time (lower is better) are improvements
    assert mdc_verdict(0.21, True, "higher") == {"tone": "better", "words": "beyond the MDC: a real improvement"}
    assert mdc_verdict(-1.5, True, "lower")["tone"] == "better"
    assert mdc_verdict(-0.21, True, "higher") == {"tone": "worse", "words": "beyond the MDC: a real worsening"}
    # no better direction (cadence, the sway series): a real change, not judged
    assert mdc_verdict(0.5, True, None) == {"tone": "unknown", "words": "beyond the MDC: a real change"}
    assert mdc_verdict(0.05, False, "higher")["tone"] == "within"
    assert mdc_verdict(None, None, "higher") is None and mdc_verdict(0.2, None, "higher") is None
