"""Protocol summaries: scores, Romberg quotients, weight bearing, cut-offs and norms with caveats."""

from __future__ import annotations

from dataclasses import replace

import pytest

from station.protocols.loader import builtin_protocols
from station.protocols.machine import TrialPlan, TrialResult
from station.protocols.quality import QualityIssue
from station.protocols.results import summarise


def result(protocol, condition_id, *, valid=True, held=None, completed=True, metrics=None, trial=1, attempt=1):
    plan = TrialPlan(protocol, protocol.condition(condition_id), trial, attempt)
    r = TrialResult(plan=plan, valid=valid, end_reason="duration" if valid else "invalid", completed=completed,
                    time_held_s=held, metrics={"metrics": metrics} if metrics is not None else None)
    if not valid:
        r.issues = [QualityIssue("step", "The centre of pressure jumped 6.0 cm after 3.0 s of 30 s: ...", 3.0)]
    return r


def test_single_leg_best_of_valid_trials_cutoff_and_age_norm():
    p = builtin_protocols()["single-leg"]
    results = [result(p, "left", held=3.2, completed=False), result(p, "left", held=4.1, completed=False, trial=2),
               result(p, "left", valid=False, trial=3), result(p, "right", held=30.0, trial=1)]
    s = summarise(p, results, age_y=75)
    left, right = s["conditions"]
    assert left["time_held_s"] == [3.2, 4.1] and left["values"]["time_held_s"] == 4.1 and not left["completed"]
    assert left["invalid"][0]["trial"] == 3
    cut = {c["condition"]: c for c in s["cutoffs"]}
    assert cut["left"]["flagged"] is True and "Vellas" in cut["left"]["source"]
    assert cut["right"]["flagged"] is False
    norms = {n["condition"]: n for n in s["norms"]}
    assert norms["left"]["row"]["mean"] == 21.5 and norms["left"]["position"] == "below the mean"
    assert norms["right"]["position"] == "above the mean"  # 30 s held vs a 21.5 s mean: comparable
    assert "lasted 45 s, this one 30 s" in norms["left"]["note"]


def test_a_norm_beyond_this_protocols_ceiling_is_not_compared():
    p = builtin_protocols()["single-leg"]
    s = summarise(p, [result(p, "left", held=30.0)], age_y=30)
    left = next(n for n in s["norms"] if n["condition"] == "left")
    assert left["position"] == "not comparable"
    assert "held this protocol's full 30 s" in left["note"] and "44.7 s" in left["note"]


def test_norms_need_an_age_and_say_so():
    p = builtin_protocols()["quiet-stance"]
    s = summarise(p, [result(p, "eo", metrics={"mean_velocity_cm_s": 0.5, "ellipse_area_cm2": 1.0})])
    assert all("Give the patient's age" in n["note"] for n in s["norms"])
    s = summarise(p, [result(p, "eo", metrics={"mean_velocity_cm_s": 0.5, "ellipse_area_cm2": 1.0})], age_y=25)
    velocity = next(n for n in s["norms"] if n["metric"] == "mean_velocity_cm_s")
    assert velocity["position"] == "below the 5th percentile" and velocity["row"]["p05"] == 0.519
    assert "Santos" in velocity["source"] and velocity["doi"] == "10.7717/peerj.2648"


def test_romberg_quotients_from_the_condition_means():
    p = builtin_protocols()["romberg"]
    results = [result(p, "eo", metrics={"ellipse_area_cm2": 2.0, "mean_velocity_cm_s": 1.0}),
               result(p, "ec", metrics={"ellipse_area_cm2": 5.0, "mean_velocity_cm_s": 1.5}),
               result(p, "ec", metrics={"ellipse_area_cm2": 7.0, "mean_velocity_cm_s": 1.7}, attempt=2)]
    s = summarise(p, results)
    assert s["romberg"]["romberg_quotient_area"] == pytest.approx(3.0)
    assert s["romberg"]["romberg_quotient_velocity"] == pytest.approx(1.6)
    s = summarise(p, [results[0]])
    assert s["romberg"]["romberg_quotient_area"] is None and "Needs a valid" in s["romberg"]["note"]


def test_weight_bearing_reports_both_sides_and_flags_only_with_a_clinic_limit():
    p = builtin_protocols()["weight-bearing"]
    trials = [result(p, "eo", metrics={"weight_left_pct": 62.0, "weight_right_pct": 38.0}),
              result(p, "eo", metrics={"weight_left_pct": 60.0, "weight_right_pct": 40.0}, trial=2)]
    wb = summarise(p, trials)["conditions"][0]["weight_bearing"]
    assert wb["left_pct"] == pytest.approx(61.0) and wb["right_pct"] == pytest.approx(39.0)
    assert wb["asymmetry_pct"] == pytest.approx(22.0) and wb["more_on"] == "left"
    assert wb["flagged"] is None and "no asymmetry limit is set" in wb["words"]
    clinic = replace(p, asymmetry_flag_pct=10.0)
    wb = summarise(clinic, trials)["conditions"][0]["weight_bearing"]
    assert wb["flagged"] is True and "above the clinic's 10-point asymmetry limit" in wb["words"]
