"""A published cut-off is read only for a patient of the population it was set in.

Carter et al.'s 3-m backward walk fall-risk times (older adults without a neurological diagnosis,
walking without an aid; applied from 60 y), Polo-Ferrero et al.'s 5.5 s (community-dwelling older
adults) and Perry et al.'s walking classes (people after stroke): a patient outside the population,
or whose fit is unknown (no birth year), gets no verdict ("high fall risk") but the words that the
published cut-off was set in that population and is not applied, and why; on the results page, in
the PDF, in the FHIR bundle and on the trial command's terminal (no FLAG line).
"""

from __future__ import annotations

import json
import time

import pytest

from station.cli import main
from station.protocols.loader import load_protocol_text
from station.protocols.report import session_results
from station.protocols.schema import ProtocolError
from station.reports.build import make_report
from station.store.store import Store
from tests.protocols.walk_support import write_builtin_once

from reports_support import ACTOR, pdf_text

THIS_YEAR = time.gmtime().tm_year
CARTER_GROUP = "community-dwelling older adults walking without an aid and without a neurological diagnosis"


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "data")
    yield s
    s.close()


@pytest.fixture
def no_birth_year(monkeypatch):
    """A record without a birth year (the station's own store requires one; a record from elsewhere
    may lack it): its age is not known."""
    import station.protocols.report as report

    monkeypatch.setattr(report, "age_in_year", lambda birth_year, wall_clock=None: None)


def _patient(store, identifier: str, age: int | None, conditions: list[str]) -> int:
    return store.patients.create({"identifier": identifier, "birth_year": THIS_YEAR - (age or 70),
                                  "sex": "F", "conditions": conditions}, actor=ACTOR)["id"]


def _walk_session(store, patient_id: int, protocol: str, condition: str, metrics: dict) -> int:
    session = store.sessions.create(patient_id, {"label": protocol}, actor=ACTOR)
    writer = store.trials.start_trial(session["id"], protocol, condition, {"method": "nominal"}, 100.0, actor=ACTOR)
    outcome = {"protocol": protocol, "condition": condition, "label": condition, "trial": 1, "attempt": 1,
               "valid": True, "end_reason": "duration", "issues": [], "hold_end": None, "warnings": [],
               "completed": True, "duration_s": 60.0, "time_held_s": None,
               "walk": {"setting": "overground", "initial_contacts_s": []}}
    writer.finish({"kind": "walk", "fs_hz": 100.0, "samples": 0, "profile": "walk", "version": "test",
                   "metrics": metrics, "trial": outcome}, valid=True)
    return session["id"]


def _references(store, protocols, session_id: int, metric: str) -> list[dict]:
    doc = session_results(store, session_id, protocols, actor=ACTOR)
    (measure,) = [m for c in doc["protocols"][0]["conditions"] for m in c["key_measures"] if m["metric"] == metric]
    return [r for r in measure["references"] if r["kind"] == "cutoff"]


def _backward_walk(store, protocols, age, conditions, identifier="BW-1") -> tuple[int, list[dict]]:
    session_id = _walk_session(store, _patient(store, identifier, age, conditions), "backward-walk-3m", "fast",
                               {"walk_time_s": 6.1, "walk_speed_m_s": 0.492})
    return session_id, _references(store, protocols, session_id, "walk_time_s")


def test_a_70_year_old_without_conditions_gets_carters_flag(store, protocols):
    _, refs = _backward_walk(store, protocols, 70, [])
    carter = next(r for r in refs if r["above"] == 4.5)
    assert (carter["verdict"], carter["finding"], carter["limit_words"]) == ("above", "high fall risk", "slower than 4.5 s")
    polo = next(r for r in refs if r["above"] == 5.5)
    assert polo["verdict"] == "above" and polo["finding"] == "in the range of older adults who had fallen"


@pytest.mark.parametrize("age, conditions, why", [
    (45, [], "aged 45, younger than the 60 y it is applied from"),
    (None, [], "age not recorded"),
    (70, ["stroke:left"], "a diagnosis the source excluded: stroke, left side affected"),
    (72, ["parkinsons", "fall_12m"], "a diagnosis the source excluded: parkinson's disease"),
    (80, ["walking_aid"], "a diagnosis the source excluded: uses a walking aid"),
])
def test_carters_cut_off_is_not_applied_outside_its_population(store, protocols, request, age, conditions, why):
    if age is None:
        request.getfixturevalue("no_birth_year")
    _, refs = _backward_walk(store, protocols, age, conditions)
    carter = next(r for r in refs if r["above"] == 4.5)
    assert carter["verdict"] == "not_applied" and carter["flagged"] is None and carter["finding"] == "cut-off not applied"
    assert carter["words"] == (f"The published cut-offs (3 and 4.5 s) were set in {CARTER_GROUP}; they are not applied "
                               f"to this patient ({why}).")
    assert "fall risk" not in carter["words"] and "falls" not in carter["words"]


def test_polo_ferreros_cut_off_is_not_applied_where_its_population_is_not_known(store, protocols):
    """Polo-Ferrero et al. (2025): its inclusion and exclusion criteria were not read (the protocol's
    notes), so a patient after stroke is not known to be one of its people: not applied, said so (R1:
    it was applied, "not slower than the 5.5 s cut-off", beside Carter's "not applied (a diagnosis the
    source excluded: stroke)"). A patient with a fall in the last year (its cases) and diabetes gets it."""
    _, refs = _backward_walk(store, protocols, 50, [])
    polo = next(r for r in refs if r["above"] == 5.5)
    assert polo["verdict"] == "not_applied" and polo["not_applied_why"] == "aged 50, younger than the 60 y it is applied from"
    assert polo["words"].startswith("The published cut-off (5.5 s) was set in 483 community-dwelling older adults (mean age 76.3 y)")
    _, refs = _backward_walk(store, protocols, 70, ["stroke:right"], "BW-2")
    polo = next(r for r in refs if r["above"] == 5.5)
    assert (polo["verdict"], polo["flagged"], polo["finding"]) == ("not_applied", None, "cut-off not applied")
    assert polo["words"] == ("The published cut-off (5.5 s) was set in 483 community-dwelling older adults (mean age 76.3 y); "
                             "it is not applied to this patient (the source's population is not known to include people "
                             "with stroke, right side affected).")
    carter = next(r for r in refs if r["above"] == 4.5)
    assert carter["verdict"] == "not_applied"  # neither cut-off is read for this patient: no contradiction
    _, refs = _backward_walk(store, protocols, 70, ["fall_12m", "diabetes"], "BW-3")
    assert next(r for r in refs if r["above"] == 5.5)["verdict"] == "above"


def _ten_metre(store, protocols, age, conditions, identifier="TM-1") -> list[dict]:
    session_id = _walk_session(store, _patient(store, identifier, age, conditions), "ten-metre-walk", "comfortable",
                               {"walk_time_s": 9.68, "walk_speed_m_s": 0.62})
    return _references(store, protocols, session_id, "walk_speed_m_s")


def test_perrys_classes_apply_after_stroke_at_any_age(store, protocols):
    (ref,) = _ten_metre(store, protocols, 40, ["stroke:left"])
    assert ref["verdict"] == "class" and ref["walking_class"] == "limited community walking"


@pytest.mark.parametrize("age, conditions", [(70, []), (70, ["parkinsons"]), (30, ["fall_12m"])])
def test_perrys_classes_are_not_applied_without_a_stroke(store, protocols, age, conditions):
    (ref,) = _ten_metre(store, protocols, age, conditions)  # the two limits said once
    assert ref["verdict"] == "not_applied" and "walking_class" not in ref
    assert ref["words"] == ("The published cut-offs (0.4 and 0.8 m/s) were set in people after stroke; they are not "
                            "applied to this patient (no stroke in the patient's conditions).")


def test_the_pdf_says_the_cut_off_is_not_applied_instead_of_high_fall_risk(store, protocols, clinic, poppler):
    session_id, _ = _backward_walk(store, protocols, 40, ["stroke:left"])
    text = " ".join(pdf_text(make_report("session", store, session_id, protocols=protocols, clinic=clinic, actor=ACTOR,
                                         paper="a4")).split())
    assert "high fall risk" not in text and "older adults who had fallen" not in text
    # with Polo-Ferrero's, each source named with its reason, said once (not a "not applied" sentence a source)
    assert f"Not applied to this patient: the cut-offs (3 and 4.5 s) [1], set in {CARTER_GROUP} (a diagnosis the source " \
           "excluded: stroke, left side affected); the cut-off (5.5 s) [2]" in text, text


def test_the_fhir_bundle_leaves_out_a_cut_off_the_patient_is_outside_of(protocols):
    from station.reports.fhir_bundle import _readings

    older = _readings("walk_time_s", 6.1, protocols["backward-walk-3m"], "fast", 70.0, [])[0]
    assert [i["coding"][0]["code"] for i in older] == ["H", "H"]
    assert _readings("walk_time_s", 6.1, protocols["backward-walk-3m"], "fast", 45.0, []) == ([], [])
    assert _readings("walk_time_s", 6.1, protocols["backward-walk-3m"], "fast", None, []) == ([], [])
    assert _readings("walk_speed_m_s", 0.3, protocols["ten-metre-walk"], "comfortable", 70.0, []) == ([], [])
    assert len(_readings("walk_speed_m_s", 0.3, protocols["ten-metre-walk"], "comfortable", 70.0, ["stroke:left"])[0]) == 2


@pytest.mark.parametrize("age, flagged", [(None, False), (70, True)])
def test_the_trial_command_flags_only_a_simulated_person_known_to_fit(tmp_path, capsys, age, flagged):
    out = tmp_path / "walk"
    # the built-in file with one walk and no rest (write_builtin_once): its cut-offs and populations as they are
    once = write_builtin_once("backward-walk-3m", tmp_path / "protocols", trials=2)
    args = ["trial", "--protocol", once, "--protocols-dir", str(tmp_path / "protocols"), "--simulate", "--seed", "3",
            "--gait", "older", "--out", str(out), "--quiet"]  # 5.02 s: slower than Carter's 4.5 s
    assert main(args + (["--age", str(age)] if age else [])) == 0
    printed = capsys.readouterr().out
    assert ("FLAG" in printed and "high risk of falls" in printed) == flagged, printed
    carter = next(c for c in json.loads((out / "results.json").read_text())["cutoffs"] if c["above"] == 4.5)
    assert carter["value"] > 4.5 and carter["applies"] == flagged
    assert carter["not_applied_why"] == (None if flagged else "age not recorded")


BASE = """
[protocol]
name = "w"
title = "W"
summary = "s"
outcome = "walk"
duration_s = 60
instructions = "i"
[walk]
direction = "forward"
setting = "overground"
start = "static"
timed_to_m = 3.0
walkway_m = 4.0
[[conditions]]
id = "c"
label = "C"
[[references]]
id = "r"
citation = "R"
[[cutoffs]]
metric = "walk_time_s"
above = 4.5
meaning = "m"
reference = "r"
"""


@pytest.mark.parametrize("extra, field, problem", [
    ('condition_tag = "stroke:left"', "condition_tag", "stroke:left"),
    ('group = "g"\nexcluded_conditions = ["flu"]', "excluded_conditions", "flu"),
    ("min_age_y = 60", "group", "is missing"),
    ('group = "g"\ncondition_tag = "stroke"\nexcluded_conditions = ["stroke"]', "excluded_conditions", "also"),
    ('group = "g"\nexcluded_conditions = ["stroke"]\nunknown_conditions = ["stroke"]', "unknown_conditions", "also excluded"),
    ('unknown_conditions = ["parkinsons"]', "group", "is missing"),
])
def test_a_cut_offs_population_is_checked(extra, field, problem):
    with pytest.raises(ProtocolError) as caught:
        load_protocol_text(BASE + extra + "\n", "test.toml")
    assert f"cutoffs[0].{field}" in str(caught.value) and problem in str(caught.value), str(caught.value)


def test_a_cut_off_without_a_population_applies_to_anyone():
    protocol = load_protocol_text(BASE, "test.toml")
    assert protocol.cutoffs[0].to_dict()["population"] == {"group": "", "condition_tag": None,
                                                           "excluded_conditions": [], "min_age_y": None,
                                                           "unknown_conditions": []}


def test_a_walk_trials_json_describes_the_walk_not_a_stance_on_the_plate(tmp_path, protocols):
    """The JSON beside a walk trial's CSV (``trial --out``) says the walk (direction, setting, pace,
    walkway, the timed stretch), not the plate stance a walk does not have."""
    from station.protocols.machine import TrialPlan
    from station.protocols.sinks import FileSink

    walk = protocols["ten-metre-walk"]
    fast = walk.condition("fast")
    output = FileSink(tmp_path).start_trial(TrialPlan(walk, fast, 1, 1), 100.0, 700.0)
    described = output.metadata["condition"]  # what the JSON beside the CSV holds
    assert "stance" not in described and "stance_words" not in described
    assert described["walk_words"] == ("walking forward at a fast pace along a 10 m walkway, timed between the gates "
                                       "at 2 m and 8 m")
    assert described["walk"] == {"direction": "forward", "setting": "overground", "start": "flying", "timed_from_m": 2.0,
                                 "timed_to_m": 8.0, "walkway_m": 10.0, "gates_m": [2.0, 8.0], "pace": "fast"}
    stance = protocols["quiet-stance"].conditions[0].to_dict()  # a stance test keeps its stance
    assert stance["stance_words"].startswith("feet ") and "walk" not in stance


@pytest.mark.parametrize("extra, field, words", [
    ("below = 3.0\n", "below", "or both with the words of the good end"),
    ("below = 3.0\nbelow_meaning = 'x'\nabove_meaning = 'y'\n", "below", "exactly one of"),
    ("below_meaning = 'fast: low risk'\n", "below_meaning", "needs both 'below' and 'above'"),
    ("below = 5.0\nbelow_meaning = 'fast: low risk'\n", "below", "the band between them would be empty"),
])
def test_a_band_is_refused_unless_its_good_end_is_named_and_lies_on_the_far_side(extra, field, words):
    """A cut-off with both bounds (Carter's: high fall risk above 4.5 s, low below 3.0 s) names its good
    end's words; the other end is the one flagged (tests/protocols/test_cutoff_bands.py)."""
    with pytest.raises(ProtocolError) as err:
        load_protocol_text(BASE + extra, "test.toml")
    assert f"cutoffs[0].{field}" in str(err.value) and words in str(err.value), str(err.value)


def test_a_band_may_have_its_good_end_above():
    text = BASE.replace("walk_time_s", "walk_speed_m_s").replace("above = 4.5", "below = 0.4")
    (cut,) = load_protocol_text(text + "above = 1.0\nabove_meaning = 'fast: low risk'\n", "test.toml").cutoffs
    assert (cut.flag_side, cut.good_side, cut.good_meaning) == ("below", "above", "fast: low risk")
