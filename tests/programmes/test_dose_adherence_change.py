"""A session's dose (measured from a simulated treadmill session, or entered by hand, with who
and when), the adherence figures, and each outcome's change against the published MDC."""

from __future__ import annotations

import numpy as np
import pytest

from station.analysis.gait import gait_metrics
from station.analysis.imu_frame import align_to_body
from station.programmes.adherence import adherence
from station.programmes.change import comparable_mdc, no_mdc_verdict, outcome_change
from station.reference.measures import unit_of
from station.programmes.report import programme_document
from station.reports.programme_report import programme_story
from station.sim.walker import VirtualWalker
from station.store.db import Conflict, ValidationError

from programme_support import ACTOR, CAL, frames, load_test_module, store_assessment


@pytest.fixture
def pilot(store, patient, builtins):
    return store.programmes.assign(patient["id"], builtins["backward-walking-stroke"], "2026-01-05", actor=ACTOR)


def simulated_treadmill_trial(store, patient_id: int, minutes: float = 2.0):
    """A backward treadmill session walked by the virtual walker (simulated lower-back IMU), its
    gait measured by the station's analysis and stored as a trial like the session protocol's."""
    walker = VirtualWalker(seed=5)
    plan = walker.walk(2.0, direction="backward", setting="treadmill", duration_s=minutes * 60, belt_speed_m_s=0.4)
    t = np.arange(0.0, plan.end_s + 3.0, 0.01)
    acc, gyro = walker.sample(t)
    acc_body, _ = align_to_body(acc, gyro, up_axis="+z", toes_axis="+x", fs_hz=100.0)
    gait = gait_metrics(acc_body, 100.0, sensor_height_m=walker.sensor_height_m)
    session = store.sessions.create(patient_id, {"label": "treadmill"}, actor=ACTOR)
    doc = {"fs_hz": 100.0, "samples": int(t.size), "profile": "gait", "version": "test", "metrics": {**gait, "belt_speed_m_s": 0.4}}
    trial_id = store.trials.import_trial(session["id"], "backward-treadmill", "session", CAL, 100.0, frames(), doc,
                                         True, None, actor=ACTOR)
    return store.trials.get(trial_id), plan


def test_dose_from_the_backward_treadmill_session_protocol_on_the_simulated_station(store, patient, pilot):
    """The session protocol (``backward-treadmill``) run on the simulated station by the virtual
    walker, stored like the trial service stores it; its minutes walked become the dose."""
    from station.protocols.sinks import StoreSink
    from station.protocols.walk import WalkSettings

    walk_support = load_test_module("walk_support", "protocols/walk_support.py")
    visit = store.sessions.create(patient["id"], {"label": "treadmill"}, actor=ACTOR)
    settings = WalkSettings(belt_speed_m_s=0.4, planned_min=1.0, sensor_height_m=0.98)
    run = walk_support.run_walk("backward-treadmill", seed=6, settings=settings,
                                sink=StoreSink(store.trials, visit["id"], CAL, ACTOR))
    walked = run.runner.records[0].result.walk
    trial = store.trials.get(store.sessions.get(visit["id"])["trials"][0]["id"])
    done = store.programmes.measure_dose(pilot["sessions"][0]["id"], trial, actor=ACTOR)
    dose = done["dose"]
    assert done["dose_source"] == "measured" and dose["minutes"] == pytest.approx(walked["walking_min"])
    assert 0.9 < dose["minutes"] <= 1.0 and dose["steps"] == trial["metrics"]["metrics"]["steps"] > 50
    assert dose["belt_speed_m_s"] == 0.4 and dose["speed_m_s"] == 0.4
    assert dose["cadence_steps_min"] == pytest.approx(trial["metrics"]["metrics"]["cadence_steps_min"])


def test_dose_measured_in_a_simulated_treadmill_session(store, patient, pilot, protocols):
    trial, plan = simulated_treadmill_trial(store, patient["id"])
    store_assessment(store, patient["id"], "quiet-stance", {"eo": {"velocity": 1.0}})  # not a walk: not offered
    offered = programme_document(store, pilot["id"], protocols, actor=ACTOR)["walking_trials"]
    assert [t["id"] for t in offered] == [trial["id"]] and offered[0]["dose"]["steps"] > 100
    session = pilot["sessions"][0]
    done = store.programmes.measure_dose(session["id"], trial, actor=ACTOR, extra={"rpe": 13})
    assert done["status"] == "done" and done["dose_source"] == "measured" and done["trial_id"] == trial["id"]
    dose = done["dose"]
    assert dose["minutes"] == pytest.approx(plan.walking_s() / 60.0, rel=0.02)
    assert abs(dose["steps"] - len(plan.initial_contacts_s)) <= 3
    assert dose["cadence_steps_min"] == pytest.approx(trial["metrics"]["metrics"]["cadence_steps_min"])
    assert dose["belt_speed_m_s"] == 0.4 and dose["rpe"] == 13
    assert (done["recorded_by"], done["recorded_at"]) == ("ana", "2026-01-05T00:00:00.000Z")
    entry = store.audit.query(action="programme.dose")[0]
    assert entry["detail"] == {"session": session["id"], "source": "measured", "trial": trial["id"], "replaced": False}
    assert programme_document(store, pilot["id"], protocols, actor=ACTOR)["walking_trials"] == []  # taken


def test_a_trial_without_walking_or_of_another_patient_gives_no_dose(store, patient, pilot):
    sway_session = store_assessment(store, patient["id"], "quiet-stance", {"eo": {"velocity": 1.0}})
    sway_trial = store.trials.get(store.sessions.get(sway_session)["trials"][0]["id"])
    with pytest.raises(ValidationError) as refused:
        store.programmes.measure_dose(pilot["sessions"][0]["id"], sway_trial, actor=ACTOR)
    assert "no walking measures" in refused.value.fields["trial_id"]
    other = store.patients.create({"identifier": "P-300", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
    trial, _ = simulated_treadmill_trial(store, other["id"], minutes=1.0)
    with pytest.raises(ValidationError, match="another patient"):
        store.programmes.measure_dose(pilot["sessions"][0]["id"], trial, actor=ACTOR)
    assert store.programmes.session(pilot["sessions"][0]["id"])["status"] == "planned"


def test_dose_entered_by_hand_is_checked(store, pilot):
    sid = pilot["sessions"][0]["id"]
    done = store.programmes.enter_dose(sid, {"minutes": 27.5, "belt_speed_m_s": 0.35, "rpe": 12, "notes": "rails"},
                                       actor=ACTOR)
    assert done["dose"] == {"minutes": 27.5, "belt_speed_m_s": 0.35, "rpe": 12, "notes": "rails", "done_on": "2026-01-05"}
    assert done["dose_source"] == "manual" and done["recorded_by"] == "ana"
    for bad, field in (({}, "minutes"), ({"minutes": -1}, "minutes"), ({"minutes": 30, "rpe": 21}, "rpe"),
                       ({"minutes": 30, "rpe": 5}, "rpe"), ({"minutes": 30, "belt_speed_m_s": 9}, "belt_speed_m_s"),
                       ({"minutes": True}, "minutes"), ({"minutes": 30, "notes": "x" * 1001}, "notes"),
                       ({"minutes": 30, "heart_rate": 90}, "heart_rate")):
        with pytest.raises(ValidationError) as refused:
            store.programmes.enter_dose(sid, bad, actor=ACTOR)
        assert field in refused.value.fields
    assert store.programmes.session(sid)["dose"]["minutes"] == 27.5


def test_adherence_per_week_and_overall_with_the_missed_sessions(store, pilot, wall):
    s = pilot["sessions"]
    for session, minutes in zip(s[:3], (30, 30, 24)):
        store.programmes.enter_dose(session["id"], {"minutes": minutes}, actor=ACTOR)
    for session in s[3:6]:  # the whole of week 2 missed
        store.programmes.miss_session(session["id"], {"reason": "flu"}, actor=ACTOR)
    store.programmes.enter_dose(s[6]["id"], {"minutes": 40}, actor=ACTOR)
    wall.to_day("2026-01-22")  # Thursday of week 3: sessions 7 (Mon) and 8 (Wed) are due
    doc = store.programmes.get(pilot["id"])
    a = adherence(doc["sessions"], store.programmes.today())
    o = a["overall"]
    assert (o["sessions_planned"], o["sessions_due"], o["sessions_done"], o["sessions_missed"]) == (12, 8, 4, 3)
    assert o["sessions_done_of_planned"] == pytest.approx(4 / 12) and o["sessions_done_of_due"] == pytest.approx(4 / 8)
    assert (o["minutes_planned"], o["minutes_due"], o["minutes_done"]) == (360.0, 240.0, 124.0)
    assert o["minutes_done_of_planned"] == pytest.approx(124 / 360)
    weeks = {w["week"]: w for w in a["weeks"]}
    assert (weeks[1]["sessions_done"], weeks[1]["minutes_done"], weeks[1]["minutes_done_of_planned"]) == (3, 84.0, 84 / 90)
    assert (weeks[2]["sessions_done"], weeks[2]["sessions_missed"], weeks[2]["minutes_done"]) == (0, 3, 0.0)
    assert (weeks[3]["sessions_due"], weeks[3]["sessions_done"]) == (2, 1)
    assert weeks[4]["sessions_due"] == 0 and weeks[4]["sessions_done_of_due"] is None
    assert [(m["number"], m["week"], m["reason"]) for m in a["missed"]] == [(4, 2, "flu"), (5, 2, "flu"), (6, 2, "flu")]


def test_ending_early_counts_cancelled_sessions_as_prescribed_but_never_due(store, pilot, wall):
    store.programmes.enter_dose(pilot["sessions"][0]["id"], {"minutes": 30}, actor=ACTOR)
    wall.to_day("2026-01-10")
    store.programmes.end(pilot["id"], {"reason": "hospital"}, actor=ACTOR)
    wall.to_day("2026-03-01")
    o = adherence(store.programmes.get(pilot["id"])["sessions"], store.programmes.today())["overall"]
    assert (o["sessions_planned"], o["sessions_cancelled"], o["sessions_due"], o["sessions_done"]) == (12, 11, 1, 1)


STROKE, NO_STROKE = (["stroke:left"], 70.0), (["fall_12m"], 70.0)


def test_units_and_the_mdc_of_people_like_the_patient(protocols):
    assert unit_of("mean_velocity_cm_s") == "cm/s" and unit_of("weight_asymmetry_pct") == "%"
    assert unit_of("cadence_steps_min") == "steps/min" and unit_of("walking_min") == "min"
    mdc, note = comparable_mdc("mean_velocity_cm_s", protocols["quiet-stance"], "eo", *STROKE)
    assert mdc["value"] == 0.61 and "hemiplegia" in mdc["population"] and "Gasq" in mdc["citation"] and note == ""
    mdc, _ = comparable_mdc("mean_velocity_cm_s", protocols["romberg"], "ec", *STROKE)
    assert mdc["value"] == 0.95
    # the same measure in a patient with no stroke: the stroke sample is not applied, in the history's words
    mdc, note = comparable_mdc("mean_velocity_cm_s", protocols["quiet-stance"], "eo", *NO_STROKE)
    assert mdc is None and note == ("The published minimal detectable change (0.61 cm/s) was set in people after stroke, "
                                    "firm surface; it is not applied to this patient (no stroke in the patient's conditions).")
    mdc, _ = comparable_mdc("time_held_s", protocols["single-leg"], "left", *NO_STROKE)
    assert mdc["value"] == 24.1
    mdc, note = comparable_mdc("time_held_s", protocols["mctsib"], "foam_ec", *NO_STROKE)
    assert mdc is None and note == "no MDC published for this measure in this test and condition"
    # measured on a firm surface: not given for foam
    mdc, note = comparable_mdc("mean_velocity_cm_s", protocols["mctsib"], "foam_eo", *STROKE)
    assert mdc is None and note == "no MDC published for this measure in this test and condition"
    mdc, _ = comparable_mdc("mean_velocity_cm_s", protocols["mctsib"], "firm_eo", *STROKE)
    assert mdc["value"] == 0.61 and mdc["group"] == "people after stroke, firm surface"
    # Goldberg's single-leg MDC was measured from 60 y: a patient of 45, or of an unknown age, is not one of them
    mdc, note = comparable_mdc("time_held_s", protocols["single-leg"], "left", ["fall_12m"], 45.0)
    assert mdc is None and "adults aged 60 y and over" in note and "aged 45" in note
    mdc, note = comparable_mdc("time_held_s", protocols["single-leg"], "left", [], None)
    assert mdc is None and "age not recorded" in note
    mdc, note = comparable_mdc("weight_asymmetry_pct", protocols["weight-bearing"], "eo", *STROKE)
    assert mdc is None and note.startswith("no MDC published")


def test_a_stroke_programme_for_a_patient_with_no_stroke_warns_and_draws_no_stroke_mdc(store, builtins, protocols):
    """The programme judges change by the patient's conditions, as the history page does; giving a
    programme written for people after stroke to someone with no stroke is allowed but said."""
    other = store.patients.create({"identifier": "P-101", "birth_year": 1950, "sex": "F", "conditions": ["fall_12m"]}, actor=ACTOR)
    assigned = store.programmes.assign(other["id"], builtins["backward-walking-stroke"], "2026-01-05", actor=ACTOR)
    visits = {v["assessment_id"]: v for v in assigned["visits"]}
    for name, velocity in (("baseline", 2.0), ("end", 1.1)):
        sid = store_assessment(store, other["id"], "quiet-stance", {"eo": {"velocity": velocity}})
        store.programmes.link_visit_session(visits[name]["id"], "quiet-stance", sid, actor=ACTOR)
    doc = programme_document(store, assigned["id"], protocols, actor=ACTOR)
    assert doc["population_warning"] == (
        "This programme was written for people after stroke; this patient is not recorded as one of them (no stroke "
        "in the patient's conditions). Its changes are read against the MDCs published for people like this patient.")
    velocity = doc["outcome_groups"][0]["outcomes"][0]
    assert velocity["metric"] == "mean_velocity_cm_s" and velocity["mdc"] is None
    assert "not applied to this patient (no stroke in the patient's conditions)" in velocity["mdc_note"]
    # -0.9 cm/s: not called real; the tag says what is true (an MDC is published, in other people), as the sentence
    # under it does (s25 P3: it said "no MDC published")
    assert [c["verdict"] for c in velocity["changes"]] == ["MDC not for this patient"]
    story, _doc, _trials = programme_story(store, assigned["id"], protocols, actor=ACTOR, paper="a4")  # the PDF's
    # the Visit column's label before its day ("End (after week 4): measured ... (planned ...)", f99692a, 9a65b2e)
    assert ["End (after week 4)", "MDC not for this patient"] in [[row[0].split(" (week")[0].split(":")[0], row[-1]]
                                                                 for row in _pdf_rows(story) if row]
    assert doc["population_warning"] in _pdf_words(story) and "Grey band" not in " ".join(_pdf_words(story))
    # what that means for its change, in a clinician's words, one sentence for the page and the PDF (s25: the page said
    # "Changes are shown, none is called real.", the PDF the note alone)
    assert velocity["mdc_words"] == velocity["mdc_note"] + (
        " Its changes are shown as measured: with no MDC for this patient, the station cannot tell whether a change is "
        "larger than measurement error."), velocity["mdc_words"]
    assert velocity["mdc_words"] in " ".join(_pdf_words(story))
    # the same patient's stroke recorded: the MDC applies and the warning goes
    store.patients.update(other["id"], {"conditions": ["stroke:right"]}, actor=ACTOR)
    doc = programme_document(store, assigned["id"], protocols, actor=ACTOR)
    assert doc["population_warning"] == "" and doc["outcome_groups"][0]["outcomes"][0]["mdc"]["value"] == 0.61
    story, _doc, _trials = programme_story(store, assigned["id"], protocols, actor=ACTOR, paper="a4")
    assert "Grey band" in " ".join(_pdf_words(story)) and "written for" not in " ".join(_pdf_words(story))


def _pdf_words(flowables) -> list[str]:
    """The paragraphs' text of a report's flowables, inside kept-together blocks too."""
    out = []
    for f in flowables:
        out += _pdf_words(getattr(f, "_content", [])) if hasattr(f, "_content") else (
            [f.getPlainText()] if hasattr(f, "getPlainText") else [])
    return out


def _pdf_rows(flowables) -> list[list[str]]:
    """The rows of a report's tables (cells that are text), inside kept-together blocks too."""
    out = []
    for f in flowables:
        if hasattr(f, "_content"):
            out += _pdf_rows(f._content)
        elif hasattr(f, "_cellvalues"):
            out += [[c if isinstance(c, str) else c.getPlainText() if hasattr(c, "getPlainText") else "" for c in row]
                    for row in f._cellvalues]
    return out


def test_the_verdict_tag_says_why_no_mdc_reads_a_change(protocols):
    """The tag beside a change (page, glance and PDF) names why no MDC judges it, as the sentence under the
    changes does: an MDC published in other people is not "no MDC published" (s25 P3)."""
    points = [{"assessment_id": a, "label": a, "week": w, "value": v} for a, w, v in (("baseline", 0, 0.5), ("end", 4, 0.7))]
    cases = [(("mean_velocity_cm_s", "quiet-stance", "eo", ["fall_12m"], 70.0), "MDC not for this patient"),
             (("time_held_s", "single-leg", "left", ["stroke:left"], 45.0), "MDC not for this patient"),  # from 60 y
             (("time_held_s", "single-leg", "left", [], None), "MDC not for this patient"),  # age not recorded
             (("time_held_s", "mctsib", "foam_ec", ["fall_12m"], 70.0), "no MDC published"),
             (("weight_asymmetry_pct", "weight-bearing", "eo", ["stroke:left"], 70.0), "no MDC published"),
             # the 10-metre walk's fast-speed MDC is published by group of comfortable speed, not a programme outcome
             (("walk_speed_m_s", "ten-metre-walk", "fast", ["stroke:left"], 76.0), "MDC group not known")]
    for (metric, protocol, condition, conditions, age), tag in cases:
        mdc, note = comparable_mdc(metric, protocols[protocol], condition, conditions, age)
        assert mdc is None, (metric, protocol, condition)
        assert [c["verdict"] for c in outcome_change(points, "higher", mdc, note)] == [tag], (metric, protocol, note)
    assert no_mdc_verdict("no MDC published (the protocol is not known to this station)") == "no MDC published"


def test_change_is_called_real_only_beyond_the_mdc_and_in_its_direction():
    points = [{"assessment_id": a, "label": a, "week": w, "value": v}
              for a, w, v in (("baseline", 0, 2.0), ("mid", 2, 1.6), ("end", 4, 1.2))]
    mdc = {"value": 0.61}
    assert [(c["to"], round(c["difference"], 6), c["towards_benefit"], c["verdict"]) for c in outcome_change(points, "lower", mdc)] == [
        ("mid", -0.4, True, "within measurement error"), ("end", -0.8, True, "real improvement")]
    assert outcome_change(points, "higher", mdc)[1]["verdict"] == "real worsening"
    assert [c["verdict"] for c in outcome_change(points, "lower", None)] == ["no MDC published"] * 2
    points[1]["value"] = None
    assert [c["to"] for c in outcome_change(points, "lower", mdc)] == ["end"]
    points[0]["value"] = None
    assert outcome_change(points, "lower", mdc) == []


def test_a_change_against_an_mdc_published_per_phase_of_the_stroke(protocols):
    """DeMark's 3-m backward walk MDC: 0.07 m/s subacute, 0.11 m/s chronic; the record holds no
    date of stroke, so a change between the two is real only if the stroke is subacute."""
    mdc, note = comparable_mdc("walk_speed_m_s", protocols["backward-walk-3m-5m"], "comfortable", *STROKE)
    assert note == "" and mdc["value"] == 0.11
    assert mdc["phases"] == [{"phase": "subacute", "value": 0.07}, {"phase": "chronic", "value": 0.11}]
    points = [{"assessment_id": a, "label": a, "week": w, "value": v}
              for a, w, v in (("baseline", 0, 0.40), ("mid", 2, 0.49), ("end", 4, 0.55), ("late", 6, 0.35))]
    changes = outcome_change(points, "higher", mdc)
    assert [c["verdict"] for c in changes] == ["real improvement if subacute", "real improvement",
                                               "within measurement error"]
    assert changes[0]["mdc_reading"] == ("beyond the subacute MDC (0.07), within the chronic MDC (0.11): "
                                         "real if the stroke is subacute, may be noise if chronic")
    assert changes[1]["mdc_reading"].startswith("beyond the MDC in both")
    assert outcome_change(points, "higher", {"value": 0.61})[0]["mdc_reading"] is None


def test_the_programme_document_groups_outcomes_and_cites_the_mdc(store, patient, pilot, protocols):
    visits = {v["assessment_id"]: v for v in pilot["visits"]}
    for name, velocity in (("baseline", 2.0), ("end", 1.1)):
        sid = store_assessment(store, patient["id"], "quiet-stance", {"eo": {"velocity": velocity}})
        store.programmes.link_visit_session(visits[name]["id"], "quiet-stance", sid, actor=ACTOR)
    doc = programme_document(store, pilot["id"], protocols, actor=ACTOR)
    assert [g["group"] for g in doc["outcome_groups"]] == ["Standing balance", "Weight bearing", "Walking"]
    forward, backward = doc["outcome_groups"][2]["outcomes"]  # the walking speeds the programme trains
    assert (forward["protocol"], forward["metric"], forward["better"], forward["unit"]) == (
        "ten-metre-walk", "walk_speed_m_s", "higher", "m/s")
    # Hosoi et al. 2023: by group of comfortable speed at the baseline, which is not measured yet here
    assert forward["mdc"] is None and forward["mdc_note"] == "MDC by group of baseline speed: shown once the baseline is measured"
    assert backward["protocol"] == "backward-walk-3m-5m" and "DeMark" in backward["mdc"]["citation"]
    assert [(p["phase"], p["value"]) for p in backward["mdc"]["phases"]] == [("subacute", 0.07), ("chronic", 0.11)]
    velocity = doc["outcome_groups"][0]["outcomes"][0]
    assert velocity["metric"] == "mean_velocity_cm_s" and velocity["unit"] == "cm/s"
    assert [p["value"] for p in velocity["points"]] == [2.0, None, 1.1]
    assert velocity["mdc"]["value"] == 0.61 and "Gasq" in velocity["mdc"]["citation"]
    (change,) = velocity["changes"]
    assert change["to"] == "end" and change["difference"] == pytest.approx(-0.9) and change["verdict"] == "real improvement"
    asymmetry = doc["outcome_groups"][1]["outcomes"][0]
    assert asymmetry["mdc"] is None and asymmetry["mdc_note"].startswith("no MDC published") and asymmetry["changes"] == []
    assert doc["visits"][0]["next_protocol"] == "romberg"
    assert store.audit.query(action="programme.view")[0]["object"] == f"programme:{pilot['id']}"
    with pytest.raises(ValidationError, match="not one of this visit's protocols"):
        store.programmes.link_visit_session(visits["mid"]["id"], "mctsib", sid, actor=ACTOR)
    store.programmes.miss_visit(visits["mid"]["id"], {"reason": "snow"}, actor=ACTOR)
    with pytest.raises(Conflict, match="missed"):
        store.programmes.link_visit_session(visits["mid"]["id"], "quiet-stance", sid, actor=ACTOR)
