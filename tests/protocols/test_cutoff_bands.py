"""A published cut-off with a band of good news at its other end: Carter's 3-m backward walk reads
slower than 4.5 s as high fall risk, faster than 3.0 s as low risk, and neither between. Before,
only the 4.5 s was a cut-off: a 3.4 s walk and a 2.8 s walk both read "not slower than the 4.5 s
cut-off", the 3.0 s only in the cut-off's words. The band follows the cut-off's population rule
(outside it, or without the age: not applied, in the same words) and is never in failure language."""

from __future__ import annotations

import pytest

from station.commands.trial import format_summary
from station.protocols.loader import builtin_protocols
from station.protocols.report import cutoff_reading, stored_result, trial_cutoffs
from station.protocols.results import summarise

CARTER_GROUP = "community-dwelling older adults walking without an aid and without a neurological diagnosis"


@pytest.fixture(scope="module")
def carter():
    return builtin_protocols()["backward-walk-3m"]


def stored_walk(time_s: float) -> dict:
    """A finished, valid 3-m backward walk as the store gives it (``Trials.get``)."""
    outcome = {"protocol": "backward-walk-3m", "condition": "fast", "label": "fast", "trial": 1, "attempt": 1,
               "valid": True, "end_reason": "gate_reached", "issues": [], "hold_end": None, "warnings": [],
               "completed": True, "duration_s": 60.0, "time_held_s": None,
               "walk": {"setting": "overground", "initial_contacts_s": [], "walk_time_s": time_s}}
    return {"id": 1, "status": "complete", "condition": "fast", "valid": True, "frame_count": 0, "frames_lost": 0,
            "metrics": {"kind": "walk", "metrics": {"walk_time_s": time_s, "walk_speed_m_s": 3.0 / time_s},
                        "trial": outcome}}


def carters_reading(carter, time_s: float, age_y=70.0, conditions=()) -> dict:
    summary = summarise(carter, [stored_result(carter, stored_walk(time_s))], age_y=age_y,
                        patient_conditions=list(conditions))
    cut = next(c for c in summary["cutoffs"] if c["above"] == 4.5)
    return {**cut, **cutoff_reading(cut, "s")}


def test_carters_cut_off_carries_its_low_risk_end(carter):
    (cut,) = [c for c in carter.cutoffs if c.above == 4.5]
    assert (cut.below, cut.flag_side, cut.good_side) == (3.0, "above", "below")
    assert "low risk" in cut.good_meaning and "low risk" not in cut.meaning


@pytest.mark.parametrize("time_s, verdict, finding, limit_words", [
    (2.8, "better", "low fall risk", "faster than 3 s"),
    (3.0, "between", "neither high nor low fall risk", "between 3 and 4.5 s"),
    (3.4, "between", "neither high nor low fall risk", "between 3 and 4.5 s"),
    (4.5, "between", "neither high nor low fall risk", "between 3 and 4.5 s"),
    (4.99, "above", "high fall risk", "slower than 4.5 s"),
])
def test_a_walk_time_reads_as_the_band_it_falls_in(carter, time_s, verdict, finding, limit_words):
    r = carters_reading(carter, time_s)
    assert (r["verdict"], r["finding"], r["limit_words"]) == (verdict, finding, limit_words)
    assert r["flagged"] is (verdict == "above")
    # both ends are defined in the words, the one the value is at first
    assert "4.5 s: high risk of falls" in r["words"] and "3.0 s: low risk of falls" in r["words"]
    if verdict == "better":
        assert r["words"].startswith("Faster than 3.0 s: low risk of falls")
    # never failure or pass language for a band
    assert "not slower" not in r["finding"] and "criterion" not in r["words"] + r["finding"]


@pytest.mark.parametrize("age_y, conditions, why", [
    (45.0, (), "aged 45, younger than the 60 y it is applied from"),
    (None, (), "age not recorded"),
    (70.0, ("stroke:left",), "a diagnosis the source excluded: stroke, left side affected"),
])
def test_the_band_follows_the_cut_offs_population_rule_in_the_same_words(carter, age_y, conditions, why):
    r = carters_reading(carter, 2.8, age_y, conditions)
    assert (r["verdict"], r["flagged"], r["good"]) == ("not_applied", None, None)
    assert r["words"] == f"The published cut-offs (3 and 4.5 s) were set in {CARTER_GROUP}; they are not applied to this patient ({why})."
    assert r["limits"] == ["4.5 s", "3 s"]  # both ends, for the glance tag's "cut-offs" (results.js)


def test_the_trial_command_says_the_band(carter):
    def printed(time_s, age_y=70.0):
        summary = summarise(carter, [stored_result(carter, stored_walk(time_s))], age_y=age_y, patient_conditions=[])
        return format_summary(summary, carter)

    between = printed(3.4)
    assert "time 3.40 s: neither high nor low fall risk (between 3 and 4.5 s; Carter V" in between, between
    assert "FLAG" not in between
    low = printed(2.8)
    assert "time 2.80 s: low fall risk (faster than 3 s; Carter V" in low and "FLAG" not in low, low
    assert "FLAG Backward, as fast as safely possible: 3-m backward walk slower than 4.5 s" in printed(4.99)
    assert "low fall risk" not in printed(2.8, None)  # not applied without the age
    # Carter's and Polo-Ferrero's, not applied for one reason, in one sentence as the pages say them
    assert ("Not applied to this patient: the cut-offs (3 and 4.5 s) of Carter et al. 2019, set in" in printed(2.8, None)
            and "; for both: age not recorded." in printed(2.8, None))


def test_the_trial_page_reads_the_cut_offs_against_the_trials_own_value(carter):
    patient = {"birth_year": 1950, "conditions": []}
    refs = trial_cutoffs(carter, stored_walk(3.4), patient)
    by_limit = {r["above"]: r for r in refs}
    assert by_limit[4.5]["verdict"] == "between" and by_limit[4.5]["label"] == "Time" and by_limit[4.5]["unit"] == "s"
    assert by_limit[5.5]["verdict"] == "met" and by_limit[5.5]["finding"] == "not slower than the 5.5 s fall-history cut-off"
    # passed, it says what the cut-off separates (the source's sentence) and is plain, not green: no all clear (R F4)
    assert by_limit[5.5]["tone"] == "neutral" and "for a history of falls in 483" in by_limit[5.5]["words"], by_limit[5.5]
    stroke = trial_cutoffs(carter, stored_walk(3.4), {"birth_year": 1950, "conditions": ["stroke:left"]})
    # after stroke neither is read: Carter excluded it, Polo-Ferrero's criteria were not read (R1)
    assert {r["above"]: r["verdict"] for r in stroke} == {4.5: "not_applied", 5.5: "not_applied"}
    assert trial_cutoffs(carter, {**stored_walk(3.4), "valid": False, "judged_by": "ana"}, patient) == []



def test_the_trial_page_names_perrys_walking_class_as_the_visit_results_do():
    walk = builtin_protocols()["ten-metre-walk"]
    trial = stored_walk(3.0)  # a 10-metre walk's comfortable condition, 6 m in 9.68 s
    trial["condition"] = "comfortable"
    trial["metrics"] = {**trial["metrics"], "metrics": {"walk_time_s": 9.68, "walk_speed_m_s": 0.62},
                        "trial": {**trial["metrics"]["trial"], "protocol": "ten-metre-walk", "condition": "comfortable"}}
    (ref,) = trial_cutoffs(walk, trial, {"birth_year": 1980, "conditions": ["stroke:left"]})
    assert (ref["verdict"], ref["walking_class"], ref["label"], ref["unit"]) == ("class", "limited community walking",
                                                                               "Speed", "m/s")
