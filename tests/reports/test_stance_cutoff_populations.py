"""The stance tests' published cut-offs are read only for a patient of the population they were set in.

Vellas et al.'s 5 s on one leg (healthy community-living volunteers older than 60; injurious falls)
and Guralnik et al.'s SPPB tandem limits, 10 s and 3 s (people aged 71 and older): for a younger
patient, or one whose age is not known, the visit results (what the pages show), the PDF and the
FHIR bundle say the cut-off was set in that population and is not applied, never the risk sentence;
inside it, the verdict and the words are what they were before the cut-offs carried a population.
The mCTSIB's 30 s is the test's own criterion and is read for anyone (its protocol's notes).
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from station.protocols.report import session_results
from station.reference.population import Population
from station.reports.build import make_report

import test_cutoff_populations as walk_populations
from reports_support import ACTOR, pdf_text

THIS_YEAR = time.gmtime().tm_year
VELLAS_GROUP = "healthy community-living volunteers older than 60 (mean age 73 y)"
GURALNIK_GROUP = "people aged 71 and older in three communities"

store = walk_populations.store  # a store of its own in tmp_path
no_birth_year = walk_populations.no_birth_year  # a record without a birth year: its age is not known


def _stance_session(store, age: int, protocol: str, condition: str, held_s: float, identifier: str) -> int:
    """A visit with one stored trial of ``protocol`` held ``held_s`` s by a patient aged ``age``."""
    patient = store.patients.create({"identifier": identifier, "birth_year": THIS_YEAR - age, "sex": "F",
                                     "conditions": []}, actor=ACTOR)
    session = store.sessions.create(patient["id"], {"label": protocol}, actor=ACTOR)
    writer = store.trials.start_trial(session["id"], protocol, condition, {"method": "nominal"}, 100.0, actor=ACTOR)
    outcome = {"protocol": protocol, "condition": condition, "label": condition, "trial": 1, "attempt": 1,
               "valid": True, "end_reason": "touchdown", "issues": [], "warnings": [], "completed": False,
               "hold_end": {"code": "touchdown", "message": "foot down", "at_s": held_s},
               "duration_s": 30.0, "time_held_s": held_s}
    writer.finish({"kind": "stance", "fs_hz": 100.0, "samples": 0, "profile": "station", "version": "test",
                   "metrics": {"mean_velocity_cm_s": 2.0}, "trial": outcome}, valid=True)
    return session["id"]


def _held_references(store, protocols, session_id: int) -> list[dict]:
    doc = session_results(store, session_id, protocols, actor=ACTOR)
    (measure,) = [m for c in doc["protocols"][0]["conditions"] for m in c["key_measures"] if m["metric"] == "time_held_s"]
    return measure["references"]


def _cutoffs(references: list[dict]) -> list[dict]:
    return [r for r in references if r["kind"] == "cutoff"]


def test_vellas_5_s_is_not_applied_to_a_45_year_old(store, protocols):
    (ref,) = _cutoffs(_held_references(store, protocols, _stance_session(store, 45, "single-leg", "left", 3.2, "SL-45")))
    assert (ref["verdict"], ref["flagged"], ref["finding"]) == ("not_applied", None, "cut-off not applied")
    assert ref["words"] == (f"The published cut-off (5 s) was set in {VELLAS_GROUP}; it is not applied to this patient "
                            "(aged 45, younger than the 60 y it is applied from).")
    assert "falls" not in ref["words"]


def test_vellas_5_s_flags_a_75_year_old(store, protocols):
    (ref,) = _cutoffs(_held_references(store, protocols, _stance_session(store, 75, "single-leg", "left", 3.2, "SL-75")))
    assert (ref["verdict"], ref["flagged"], ref["finding"]) == ("below", True, "higher risk of injurious falls")
    assert ref["words"].startswith("Unable to stand on one leg for 5 s")


def test_a_stance_cut_off_is_not_applied_when_the_age_is_not_known(store, protocols, no_birth_year):
    (ref,) = _cutoffs(_held_references(store, protocols, _stance_session(store, 75, "single-leg", "left", 3.2, "SL-X")))
    assert ref["verdict"] == "not_applied" and ref["not_applied_why"] == "age not recorded"
    (ref,) = _cutoffs(_held_references(store, protocols, _stance_session(store, 80, "tandem", "tandem", 2.0, "TS-X")))
    assert ref["words"].endswith("they are not applied to this patient (age not recorded).")


@pytest.mark.parametrize("age, why", [(45, "aged 45, younger than the 71 y it is applied from"),
                                      (70, "aged 70, younger than the 71 y it is applied from")])
def test_the_sppb_tandem_limits_are_said_not_applied_once_below_71(store, protocols, age, why):
    refs = _cutoffs(_held_references(store, protocols, _stance_session(store, age, "tandem", "tandem", 2.0, f"TS-{age}")))
    (ref,) = refs  # the two limits of one source, said once
    assert ref["verdict"] == "not_applied" and ref["limits"] == ["10 s", "3 s"]
    assert ref["words"] == (f"The published cut-offs (3 and 10 s) were set in {GURALNIK_GROUP}; they are not applied "
                            f"to this patient ({why}).")
    assert "SPPB" not in ref["words"] and "mortality" not in ref["words"]


def test_the_sppb_tandem_limits_score_a_75_year_old(store, protocols):
    refs = _cutoffs(_held_references(store, protocols, _stance_session(store, 75, "tandem", "tandem", 2.0, "TS-75")))
    # 2 s: no point, said once (it said "at most 1 of 2 SPPB tandem points" too, the 10 s limit's, s29 P14)
    assert [(r["verdict"], r["finding"]) for r in refs] == [("below", "no SPPB tandem point")]


def test_a_tandem_stance_held_6_s_reads_one_line_of_where_it_is_on_the_sppb_scale(store, protocols, clinic, poppler):
    """6 s read two lines with two findings, "at most 1 of 2 SPPB tandem points" (below 10 s) and "meets the 3 s
    criterion" (s29 P15, item 3): between the two limits of one scale, it is 1 point, said once (page and PDF)."""
    session_id = _stance_session(store, 75, "tandem", "tandem", 6.0, "TS-75-6")
    refs = _cutoffs(_held_references(store, protocols, session_id))
    assert [(r["verdict"], r["finding"], r["limit_words"]) for r in refs] == \
           [("below", "1 of 2 SPPB tandem points", "at or above 3 s, below 10 s")]
    # its criterion and points in one sentence (s30 P16: the 10-s limit's sentence, "at most 1 of 2 points ...; the
    # battery's tests predicted ...", then "At or above 3 s, below 10 s: 1 of 2 SPPB tandem points.", 261 characters)
    assert refs[0]["words"] == ("Tandem stand held for 3 s or more but less than 10 s: 1 of 2 points in the Short Physical "
                                "Performance Battery balance test."), refs[0]["words"]
    text = " ".join(pdf_text(make_report("session", store, session_id, protocols=protocols, clinic=clinic,
                                         actor=ACTOR, paper="a4")).split())
    assert ("6.0 s: 1 of 2 SPPB tandem points (at or above 3 s, below 10 s). The cut-off: Tandem stand held for 3 s or "
            "more but less than 10 s: 1 of 2 points in the Short Physical Performance Battery balance test.") in text, text
    # the reading's once (the chart's dashed 10-s line still says its own: "below it, at most 1 of 2 SPPB tandem points")
    assert "at most 1 of 2 points" not in text and "nursing-home" not in text, text
    assert text.count("1 of 2 SPPB tandem points") - text.count("at most 1 of 2 SPPB tandem points") == 1, text
    # one line (the chart's dashed lines still each say what crossing it means)
    assert "criterion" not in text and text.count("Cut-off [2]: ") == 1, text


def test_a_tandem_stance_held_30_s_meets_one_criterion_said_once(store, protocols, clinic, poppler):
    """Held the full 30 s, a 75-year-old's tandem stance read two lines, "meets the 10 s criterion" and "meets the 3 s
    criterion" (page and PDF; s29 P14, item 6): the SPPB's two limits of one scale, each read on its own. Now the
    strictest met is said, the other implied by it."""
    session_id = _stance_session(store, 75, "tandem", "tandem", 30.0, "TS-75-30")
    refs = _cutoffs(_held_references(store, protocols, session_id))
    assert [(r["verdict"], r["finding"]) for r in refs] == [("met", "meets the 10 s criterion")]
    text = " ".join(pdf_text(make_report("session", store, session_id, protocols=protocols, clinic=clinic,
                                         actor=ACTOR, paper="a4")).split())
    assert "Cut-off [2]: 30.0 s: meets the 10 s criterion (at or above 10 s)." in text, text
    assert text.count("criterion") == 1 and "meets the 3 s" not in text, text


@pytest.mark.parametrize("protocol, condition, held_s", [("single-leg", "left", 3.2), ("single-leg", "right", 30.0),
                                                         ("tandem", "tandem", 2.0), ("tandem", "tandem", 6.0)])
def test_inside_the_population_the_readings_are_those_of_the_cut_offs_without_one(store, protocols, protocol,
                                                                                   condition, held_s):
    """A 75-year-old's cut-off verdicts and the Springer norms beside them are the same as when the
    cut-offs carried no population (as before): the population only takes readings away."""
    session_id = _stance_session(store, 75, protocol, condition, held_s, f"IN-{protocol}-{held_s:g}")
    unbounded = replace(protocols[protocol], cutoffs=tuple(replace(c, population=Population())
                                                           for c in protocols[protocol].cutoffs))
    now = _held_references(store, protocols, session_id)
    before = _held_references(store, {**protocols, protocol: unbounded}, session_id)
    strip = ("population", "applies", "not_applied_why")
    assert [{k: v for k, v in r.items() if k not in strip} for r in now] == \
           [{k: v for k, v in r.items() if k not in strip} for r in before]
    assert all(r["verdict"] in ("below", "met") for r in _cutoffs(now)), now


@pytest.mark.parametrize("age", [45, 75])
def test_the_mctsib_criterion_is_read_for_anyone(store, protocols, age):
    (ref,) = _cutoffs(_held_references(store, protocols, _stance_session(store, age, "mctsib", "foam_ec", 12.0,
                                                                         f"MC-{age}")))
    assert ref["verdict"] == "below" and "sensory condition is a problem" in ref["words"]


def test_the_pdf_says_the_stance_cut_offs_are_not_applied_to_a_45_year_old(store, protocols, clinic, poppler):
    for protocol, condition, held_s in (("single-leg", "left", 3.2), ("tandem", "tandem", 2.0)):
        session_id = _stance_session(store, 45, protocol, condition, held_s, f"PDF-{protocol}")
        text = " ".join(pdf_text(make_report("session", store, session_id, protocols=protocols, clinic=clinic,
                                             actor=ACTOR, paper="a4")).split())
        body = text.partition(" References ")[0]  # the sources' titles name falls and mortality
        assert "injurious falls" not in body and "SPPB" not in body and "mortality" not in body, body
        group = VELLAS_GROUP if protocol == "single-leg" else GURALNIK_GROUP
        assert f"set in {group};" in text and "not applied to this patient (aged 45, younger than the" in text, text


def test_the_pdf_flags_a_75_year_old(store, protocols, clinic, poppler):
    session_id = _stance_session(store, 75, "single-leg", "left", 3.2, "PDF-75")
    text = " ".join(pdf_text(make_report("session", store, session_id, protocols=protocols, clinic=clinic,
                                         actor=ACTOR, paper="a4")).split())
    assert "higher risk of injurious falls" in text and "not applied" not in text, text


def test_the_fhir_bundle_reads_the_hold_only_inside_the_population(protocols):
    from station.reports.fhir_bundle import _readings

    older = _readings("time_held_s", 3.2, protocols["single-leg"], "left", 70.0, [])[0]
    assert [i["coding"][0]["code"] for i in older] == ["L"]
    assert _readings("time_held_s", 3.2, protocols["single-leg"], "left", 45.0, []) == ([], [])
    assert _readings("time_held_s", 2.0, protocols["tandem"], "tandem", 70.0, []) == ([], [])
    assert len(_readings("time_held_s", 2.0, protocols["tandem"], "tandem", 75.0, [])[0]) == 2
