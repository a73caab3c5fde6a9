"""A patient who could not stand on one leg, read the same on the results, the visit PDF and the
history PDF (R's review, session 24: F6, F9, F10).

Before: the visit PDF said every unable trial was "unable to take the position (0 s, kept in the
score)" and "3 trials, 0 valid; time held 0.0 s, ..." where the page says "Did not lift a foot
(measured)" or "Scored unable by the clinician (...), not measured"; the results listed the sway
rows "–" beside "no norm: No reference values for this stance"; the history PDF drew the time held
on an axis from -20 s (the MDC band around 0 s) and said "first 0.00 s". The verdict is the store's (station.store.verdict), the words the page's
(report._trial_line's unable_words, report.trial_count_words, text.time_held)."""

from __future__ import annotations

import time

from station.protocols.report import patient_history, session_results
from station.reports.build import make_report

from reports_support import ACTOR, pdf_text
import test_cutoff_populations as walk_populations

THIS_YEAR = time.gmtime().tm_year
NEVER = "The foot was never lifted: the patient could not stand on one leg."
SCORED = "Scored unable by the clinician (ana), not measured: the patient cannot stand on one leg."

store = walk_populations.store  # a store of its own in tmp_path


def _unable_visit(store, identifier: str, age: int, conditions: list[str]) -> int:
    """A single-leg visit: on each leg trial 1 measured unable (the foot never lifted), trials 2 and 3 scored
    unable by the clinician, as the runner stores them."""
    patient = store.patients.create({"identifier": identifier, "birth_year": THIS_YEAR - age, "sex": "F",
                                     "conditions": conditions}, actor=ACTOR)
    session = store.sessions.create(patient["id"], {"label": "single-leg"}, actor=ACTOR)
    for n in (1, 2, 3):
        for leg in ("left", "right"):
            code, message = ("no_liftoff", NEVER) if n == 1 else ("scored_unable", SCORED)
            writer = store.trials.start_trial(session["id"], "single-leg", leg, {"method": "nominal"}, 100.0, actor=ACTOR)
            outcome = {"protocol": "single-leg", "condition": leg, "label": leg, "trial": n, "attempt": 1, "valid": False,
                       "end_reason": "invalid", "issues": [{"code": code, "message": message, "at_s": None}],
                       "warnings": [], "completed": False, "hold_end": None, "duration_s": 30.0, "time_held_s": None}
            writer.finish({"kind": "stance", "fs_hz": 100.0, "samples": 0, "profile": "station", "version": "test",
                           "metrics": {}, "note": "Invalid trial: no sway measures.", "trial": outcome},
                          valid=False, reason=message)
    return session["id"]


def _pdf(store, protocols, clinic, kind: str, key: int) -> str:
    return " ".join(pdf_text(make_report(kind, store, key, protocols=protocols, clinic=clinic, actor=ACTOR,
                                         paper="a4")).split())


def test_an_unable_conditions_measures_are_the_time_held_alone(store, protocols):
    doc = session_results(store, _unable_visit(store, "SLS-U1", 82, ["fall_12m"]), protocols, actor=ACTOR)
    for condition in doc["protocols"][0]["conditions"]:
        assert condition["no_sway_words"] == "No sway measured: the foot was never lifted (unable, 0 s)."
        # no sway rows "–" beside a norm's "No reference values for this stance": there was no stance to measure
        assert [m["metric"] for m in condition["key_measures"]] == ["time_held_s"]


def test_the_visit_pdf_says_each_unable_trial_as_the_results_page(store, protocols, clinic, poppler):
    session_id = _unable_visit(store, "SLS-U2", 82, ["fall_12m"])
    lines = [t for c in session_results(store, session_id, protocols, actor=ACTOR)["protocols"][0]["conditions"]
             for t in c["trials"]]
    text = _pdf(store, protocols, clinic, "session", session_id)
    assert "unable to take the position" not in text and "0.0 s" not in text, text
    assert text.count("3 analysed trials: 3 unable (0 s; 2 of them scored by the clinician, not measured)") == 2, text
    # the score once, after the count's bracket (it read "0 s (unable), 0 s (unable), 0 s (unable) (score: ...)")
    assert text.count("not measured); the score is 0 s: unable at every attempt") == 2, text
    for line in lines:  # the page's own words, measured or scored
        said = f"Trial {line['trial']} · #{line['id']}: {line['unable_words']}"
        assert said in text, (said, text)
    assert text.count("Did not lift a foot (measured): unable, counted as 0 s.") == 2
    assert text.count("Scored unable by the clinician (ana), not measured") == 4


def test_the_history_pdf_keeps_a_time_held_of_0_s_at_or_above_0_and_says_unable(store, protocols, clinic, poppler):
    session_id = _unable_visit(store, "SLS-U3", 82, ["fall_12m"])
    patient_id = store.sessions.get(session_id)["patient_id"]
    held = [s for s in patient_history(store, patient_id, protocols, actor=ACTOR)["series"]
            if s["metric"] == "time_held_s" and s["protocol"] == "single-leg"]
    assert held and all(s["mdc"] for s in held), held  # the 82-year-old's MDC band is drawn: around 0 s
    text = _pdf(store, protocols, clinic, "patient", patient_id)
    # (its trials 2 and 3 scored by the clinician: said, session 25)
    # (one visit: said in its table, no chart of one dot, s29 P14)
    assert "Time held, higher is better 0 s (unable; 2 of 3 scored by the clinician, not measured)" in text, text
    assert "0.00 s" not in text, text
    assert "-20" not in text and "−20" not in text and "-10" not in text, text  # no tick below 0 s


def test_one_unable_trial_scored_by_the_clinician_is_said_without_1_of_them():
    """SLSU-MIXED's visit (3.5 s, scored unable, 4.2 s) read '2 held, 1 unable (0 s; 1 of them scored by the
    clinician, not measured)': now '1 unable (0 s; scored by ...)', and several all scored 'all scored by ...'."""
    from station.protocols.report import trial_count_words

    lines = [{"analysed": True, "valid": not u, "unable": u, "scored_unable": u} for u in (False, True, False)]
    assert trial_count_words(lines) == "3 analysed trials: 2 held, 1 unable (0 s; scored by the clinician, not measured)."
    lines = [{"analysed": True, "valid": False, "unable": True, "scored_unable": True}] * 2
    assert trial_count_words(lines) == "2 analysed trials: 2 unable (0 s; all scored by the clinician, not measured)."
