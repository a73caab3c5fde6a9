"""A visit's time held carries the published cut-offs its chart draws by the history's rule (report.history_cutoffs):
the same lines as the patient's history series, Vellas et al. 1997's 5 s for an 82-year-old faller, none for a
patient after stroke (not applied), and the trial's length for the chart's top. Before, the visit's results had
no lines: the cut-off was drawn on the history's charts only."""

from __future__ import annotations

from station.protocols.report import patient_history, session_results

from reports_support import ACTOR
import test_single_leg_unable_words as unable_words
from test_single_leg_unable_words import _pdf, _unable_visit

store = unable_words.store  # a store of its own in tmp_path


def _lines(store, protocols, identifier: str, age: int, conditions: list[str]) -> tuple[list, list, float]:
    session_id = _unable_visit(store, identifier, age, conditions)
    (left, _right) = session_results(store, session_id, protocols, actor=ACTOR)["protocols"][0]["conditions"]
    (held,) = [m for m in left["key_measures"] if m["metric"] == "time_held_s"]
    patient_id = store.sessions.get(session_id)["patient_id"]
    (series,) = [s for s in patient_history(store, patient_id, protocols, actor=ACTOR)["series"]
                 if s["metric"] == "time_held_s" and s["condition"] == "left"]
    return held["lines"], series["cutoffs"], held["trial_s"]


def test_a_fallers_time_held_has_the_5_s_line_of_the_history(store, protocols):
    lines, history, trial_s = _lines(store, protocols, "SLS-L1", 82, ["fall_12m"])
    assert lines == history and trial_s == 30.0
    (vellas,) = lines
    assert (vellas["value"], vellas["label"]) == (5.0, "5 s cut-off")
    assert vellas["words"] == "Dashed line at 5 s: below it, higher risk of injurious falls"
    assert vellas["source"].startswith("Vellas BJ")


def test_after_stroke_no_line_is_drawn_as_on_the_history(store, protocols):
    lines, history, _ = _lines(store, protocols, "SLS-L2", 65, ["stroke:left"])
    assert lines == history == []


def test_the_visit_pdf_draws_and_says_the_line_as_the_history_pdf(store, protocols, clinic, poppler):
    """The history PDF draws the 5 s line and says it ("Dashed line at 5 s: ... [1]."); the visit PDF now does too, on
    a chart of each trial's time held, and not for the patient after stroke."""
    faller = _unable_visit(store, "SLS-L3", 82, ["fall_12m"])
    text = _pdf(store, protocols, clinic, "session", faller)
    body = text.partition(" References ")[0]
    for leg in ("left", "right"):  # each leg's chart, named (a page break may come between its table and its chart)
        assert body.count(f"Standing on the {leg} leg, time held in each trial (an open circle: unable, 0 s). Dashed line "
                          "at 5 s: below it, higher risk of injurious falls [") == 1, body
    assert body.count("5 s cut-off") == 2 and "Trial 1" in body and "Trial 3" in body, body
    history = _pdf(store, protocols, clinic, "patient", store.sessions.get(faller)["patient_id"])
    # the history PDF's own words: of one visit in its table, no chart (s29 P14)
    assert "Cut-off 5 s: below it, higher risk of injurious falls [" in history, history
    stroke = _pdf(store, protocols, clinic, "session", _unable_visit(store, "SLS-L4", 65, ["stroke:left"]))
    assert "Dashed line" not in stroke and "5 s cut-off" not in stroke and "time held in each trial" not in stroke, stroke


def test_an_unable_trial_is_said_unable_under_its_point_not_0_s():
    """Under each trial the chart says its time; an unable trial's said "0 s", a time held that was never held (the
    measures say "best of 3.5, unable, 4.2" since 519a6d6): now "unable", as the page's chart says it."""
    from reportlab.graphics.shapes import String

    from station.reports.charts import times_held_chart

    drawing = times_held_chart([("Trial 1", 3.5, False), ("Trial 2", 0.0, True), ("Trial 3", 4.2, False)],
                               width=300, height=110, top=30.0, cutoffs=[(5.0, "5 s cut-off")])
    said = [s.text for s in drawing.contents if isinstance(s, String)]
    under = said[said.index("Trial 1"):]
    assert under[:6] == ["Trial 1", "3.5 s", "Trial 2", "unable", "Trial 3", "4.2 s"], said
    assert "0 s" not in said, said
