"""The programme PDF says a time held as the programme page and the history do (s27 P6, job 5).

The balance-training programme's single-leg outcome, unable (0 s) at the baseline and 12.46 s at the mid-point, read
in the PDF "0.00 s", "+12.46 s" beside "MDC not read: unable (0 s)", "MDC 24.10 s" and "Grey band: first value ±
MDC (24.10 s)": a band drawn around the unable baseline that the verdict does not read. Now as the pages say a time
held: "0 s (unable)", "+12.5 s", "MDC 24.1 s", and no band (the history PDF's words for it).
"""

from __future__ import annotations

from station.programmes.change import UNABLE_NOT_READ

import test_single_leg_unable_words as unable_words
from test_single_leg_unable_words import _pdf
from test_unable_at_both_history import unable_baseline_programme

store = unable_words.store  # a store of its own in tmp_path


def test_the_programme_pdf_says_a_time_held_from_an_unable_baseline_as_the_pages(store, protocols, clinic, poppler):
    assignment = unable_baseline_programme(store, protocols, "SLS-PDF")
    text = _pdf(store, protocols, clinic, "programme", assignment["id"])
    assert text.count(f"+12.5 s {UNABLE_NOT_READ}") == 2, text  # each leg's mid-point row
    assert text.count("0 s (unable)") == 2, text  # each leg's baseline
    assert text.count("12.5 s") >= 2 and "12.46" not in text and "0.00 s" not in text, text
    assert text.count("MDC 24.1 s") == 2 and "24.10" not in text, text
    assert text.count("No grey band: the MDC is not read from or to an unable, 0 s.") == 2, text
    assert "Grey band: first value" not in text.split("Single-leg")[1], text


def test_the_programme_pdfs_band_of_a_time_held_stops_at_the_trials_length(store, protocols):
    """Held 30 s at the baseline, 12 s at the mid-point (MDC 24.1 s): the programme PDF drew the grey band up to 54.1 s,
    a time no 30-s trial can hold, as the history PDF did before 13c05d0 (s29 P14, found beside item 3). Now it stops at
    the trial's length, and its caption says so."""
    from reportlab.platypus import KeepTogether

    from station.programmes.loader import builtin_programmes
    from station.reports.programme_report import programme_story
    from test_history_pdf_band_within_trial import _band_and_points
    from test_single_leg_unable_words import THIS_YEAR
    from test_unable_at_both_history import _held

    from reports_support import ACTOR

    patient = store.patients.create({"identifier": "SLS-CEIL", "birth_year": THIS_YEAR - 82, "sex": "F",
                                     "conditions": ["fall_12m"]}, actor=ACTOR)
    assignment = store.programmes.assign(patient["id"], builtin_programmes(protocols)["balance-training"], "2026-11-01",
                                         actor=ACTOR)
    visits = {v["assessment_id"]: v for v in assignment["visits"]}
    for visit, held in (("baseline", 30.0), ("mid", 12.0)):
        session = store.sessions.create(patient["id"], {"label": "single-leg"}, actor=ACTOR)
        for leg in ("left", "right"):
            _held(store, session["id"], leg, held)
        store.programmes.link_visit_session(visits[visit]["id"], "single-leg", session["id"], actor=ACTOR)
    story, _doc, _trials = programme_story(store, assignment["id"], protocols, actor=ACTOR, paper="a4")
    blocks = [b._content for b in story if isinstance(b, KeepTogether)]
    held = [c for c in blocks if c[0].getPlainText().startswith("Single-leg stance")]
    assert len(held) == 2, [c[0].getPlainText() for c in blocks]  # each leg
    for content in held:
        (bottom, top), (full, twelve, *_) = _band_and_points(content[3])
        assert abs(top - full) < 1e-6, (top, full)  # up to the 30 s of the baseline, no higher
        assert bottom < twelve < top
        words = content[4].getPlainText()
        assert "Grey band: first value ± MDC (24.1 s), stopped at 30.0 s, the longest a trial runs." in words, words
