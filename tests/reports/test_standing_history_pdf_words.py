"""A single-leg stance in the history PDF and the visit PDF as a physiotherapist reads them (R's review,
session 24, and its fixes; session 25):

- the history's change of a time held in the precision the test is scored in ("change +12.5 s", was
  "+12.46 s"), none said in words ("no change", was "change 0.00 s"), its MDC alike ("24.1 s", was "24.10 s");
- a 0 s the clinician scored says so, its day in the same bracket ("first 0 s (2026-11-02: unable; 2 of 3 scored by
  the clinician, not measured)", was "... not measured) (2026-11-02)", two brackets in a row);
- Vellas et al. 1997's 5 s cut-off drawn on the chart and said under it for a patient it applies to (an
  82-year-old faller), not for one after stroke (report.history_cutoffs, the results' population rule);
- the visit PDF of a condition the patient was unable at every attempt: "; the score is 0 s: unable at every
  attempt", not "(score: best of the valid attempts)" (there are none), nor "0 s (unable) (score: ...)"; a
  held attempt's "; the score is the best of the valid attempts" after the times, not a second bracket; and the two sources not applied after
  stroke said once, each named ("Not applied to this patient: the cut-off (5 s) [1], ..., and the reference
  values [2], ...; for both: ..."), not a "not applied" line per source."""

from __future__ import annotations

import time

from station.protocols.report import patient_history
from station.reports.build import make_report

from reports_support import ACTOR, pdf_text
import test_cutoff_populations as walk_populations

THIS_YEAR = time.gmtime().tm_year
NEVER = "The foot was never lifted: the patient could not stand on one leg."
SCORED = "Scored unable by the clinician (ana), not measured: the patient cannot stand on one leg."


store = walk_populations.store  # a store of its own in tmp_path


def _visit(store, patient_id: int, day: str, times: list) -> int:
    """A single-leg visit, both legs: each trial a time held, or "never" (the foot never lifted) or "scored"
    (scored unable by the clinician), stored as the runner stores them."""
    session = store.sessions.create(patient_id, {"label": "single-leg", "started_at": f"{day}T09:00:00Z"}, actor=ACTOR)
    for n, held in enumerate(times, start=1):
        for leg in ("left", "right"):
            unable = isinstance(held, str)
            code, message = ("no_liftoff", NEVER) if held == "never" else ("scored_unable", SCORED)
            writer = store.trials.start_trial(session["id"], "single-leg", leg, {"method": "nominal"}, 100.0, actor=ACTOR)
            outcome = {"protocol": "single-leg", "condition": leg, "label": leg, "trial": n, "attempt": 1,
                       "valid": not unable, "end_reason": "invalid" if unable else "touchdown",
                       "issues": [{"code": code, "message": message, "at_s": None}] if unable else [],
                       "warnings": [], "completed": False, "hold_end": None, "duration_s": 30.0,
                       "time_held_s": None if unable else held}
            writer.finish({"kind": "stance", "fs_hz": 100.0, "samples": 0, "profile": "station", "version": "test",
                           "metrics": {}, "trial": outcome}, valid=not unable, reason=message if unable else None)
    return session["id"]


def _patient(store, identifier: str, age: int, conditions: list[str]) -> int:
    return store.patients.create({"identifier": identifier, "birth_year": THIS_YEAR - age, "sex": "F",
                                  "conditions": conditions}, actor=ACTOR)["id"]


def _pdf(store, protocols, clinic, kind: str, key: int) -> str:
    return " ".join(pdf_text(make_report(kind, store, key, protocols=protocols, clinic=clinic, actor=ACTOR,
                                         paper="a4")).split())


def test_the_history_pdf_says_a_time_helds_change_its_scoring_and_the_cut_off(store, protocols, clinic, poppler):
    faller = _patient(store, "SLS-H1", 82, ["fall_12m"])
    _visit(store, faller, "2026-11-02", ["never", "scored", "scored"])
    _visit(store, faller, "2026-11-16", [12.46, 3.2])
    (left,) = [s for s in patient_history(store, faller, protocols, actor=ACTOR)["series"]
               if s["metric"] == "time_held_s" and s["condition"] == "left"]
    assert [(c["value"], c["side"], c["label"]) for c in left["cutoffs"]] == [(5.0, "below", "5 s cut-off")]
    assert left["points"][0]["unable_words"] == "2 of 3 scored by the clinician, not measured"
    text = _pdf(store, protocols, clinic, "patient", faller)
    # from unable: no MDC read (Goldberg 2011's is of times held measured again; report.unable_change_words)
    assert text.count("first 0 s (2026-11-02: unable; 2 of 3 scored by the clinician, not measured), last 12.5 s "
                      "(2026-11-16), change from unable (0 s) to 12.5 s (not read against the MDC: it is published for "
                      "times held, and unable is no time held). MDC 24.1 s") == 2, text
    assert ") (" not in text, text  # no two brackets in a row
    assert "12.46" not in text and "24.10" not in text, text
    # no band around an unable first session: no change is read against it (a band around 0 s put 12.5 s inside it)
    assert text.count("No grey band: the MDC is not read from or to an unable, 0 s. Dashed line at 5 s: "
                      "below it, higher risk of injurious falls [2].") == 2, text
    assert "Grey band" not in text, text
    assert text.count("5 s cut-off") == 2, text  # the line's label on each leg's chart

    after_stroke = _patient(store, "SLS-H2", 65, ["stroke:left"])
    for day in ("2026-11-02", "2026-11-16"):
        _visit(store, after_stroke, day, [12.46])
    text = _pdf(store, protocols, clinic, "patient", after_stroke)
    assert text.count("first 12.5 s (2026-11-02), last 12.5 s (2026-11-16), no change.") == 2, text
    assert "0.00 s" not in text and "0.0 s" not in text and "change no change" not in text, text
    assert "cut-off" not in text and "Dashed line" not in text, text  # Vellas's is not applied after stroke


def test_the_visit_pdf_of_an_unable_condition_scores_it_and_says_not_applied_once(store, protocols, clinic, poppler):
    after_stroke = _patient(store, "SLS-V1", 65, ["stroke:left", "walking_aid"])
    text = _pdf(store, protocols, clinic, "session", _visit(store, after_stroke, "2026-11-02", ["never", "scored", "scored"]))
    body = text.partition(" References ")[0]
    assert "valid attempts" not in body, body  # there are none
    assert body.count("not measured); the score is 0 s: unable at every attempt") == 2, body
    assert ") (" not in body, body  # no two brackets in a row
    assert body.count("Not applied to this patient: the cut-off (5 s) [1], set in healthy community-living volunteers "
                      "older than 60 (mean age 73 y), and the reference values [2], set in 549 healthy adults aged 18 "
                      "and older; for both: the source's population is not known to include people with stroke, left "
                      "side affected.") == 2, body
    assert "Published values [2]: not applied" not in body and "Cut-off [1]" not in body, body
    assert body.count("not known to include") == 2, body  # the reason once a leg, not once a source

    faller = _patient(store, "SLS-V2", 82, ["fall_12m"])
    body = _pdf(store, protocols, clinic, "session", _visit(store, faller, "2026-11-02", [3.2, "scored"]))
    assert body.count("time held 3.2 s, 0 s (unable); the score is the best of the valid attempts") == 2, body
    assert ") (" not in body, body
    assert "Below the mean for ages 80–99 (9.4 s)" in body, body  # a published mean as a time held is said
