"""A visit's time held carries the published cut-offs its chart draws by the history's rule (report.history_cutoffs):
the same lines as the patient's history series, Vellas et al. 1997's 5 s for an 82-year-old faller, none for a
patient after stroke (not applied), and the trial's length for the chart's top. Before, the visit's results had
no lines: the cut-off was drawn on the history's charts only."""

from __future__ import annotations

from station.protocols.report import patient_history, session_results

from reports_support import ACTOR
import test_single_leg_unable_words as unable_words
from test_single_leg_unable_words import _unable_visit

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
