"""The single-leg stance's published values are read only for a patient of the people they were set in
(R's review, session 24, F2): Vellas et al.'s 5 s injurious-falls cut-off (healthy community-living
volunteers older than 60) and Springer et al.'s age means (549 healthy adults) are "not applied" to a
patient after stroke, by the one rule the walk tests' cut-offs follow (station.reference.population:
the source's population is not known to include people with stroke); an older faller is still read
against both. Before: "higher risk of injurious falls (below 5 s, Vellas et al. 1997)" and "below the
mean (ages 60–69: mean 32.1 s)" for a 65-year-old after stroke."""

from __future__ import annotations

from station.protocols.report import session_results

from reports_support import ACTOR
import test_single_leg_unable_words as unable_words
from test_single_leg_unable_words import _pdf, _unable_visit

store = unable_words.store  # a store of its own in tmp_path


def test_the_single_leg_cut_off_and_norms_are_not_applied_after_stroke(store, protocols, clinic, poppler):
    session_id = _unable_visit(store, "STR-U4", 65, ["stroke:left", "walking_aid"])
    (condition, _right) = session_results(store, session_id, protocols, actor=ACTOR)["protocols"][0]["conditions"]
    (held,) = condition["key_measures"]
    (vellas,) = [r for r in held["references"] if r["kind"] == "cutoff"]
    assert (vellas["verdict"], vellas["flagged"]) == ("not_applied", None)
    assert vellas["not_applied_why"] == ("the source's population is not known to include people with stroke, "
                                         "left side affected")
    (springer,) = [r for r in held["references"] if r["kind"] == "protocol_norm"]
    assert "position" not in springer and "row" not in springer, springer  # no "below the mean (ages 60-69 ...)"
    assert springer["note"] == ("The published reference values were set in 549 healthy adults aged 18 and older; they "
                                "are not applied to this patient (the source's population is not known to include "
                                "people with stroke, left side affected).")
    body = _pdf(store, protocols, clinic, "session", session_id).partition(" References ")[0]
    assert "injurious falls" not in body and "below the mean" not in body.lower(), body
    assert "Not applied to this patient" in body and "549 healthy adults aged 18 and older" in body, body


def test_the_single_leg_cut_off_and_norms_are_read_for_an_older_faller(store, protocols):
    session_id = _unable_visit(store, "SLS-U5", 82, ["fall_12m", "walking_aid", "knee_osteoarthritis"])
    (condition, _right) = session_results(store, session_id, protocols, actor=ACTOR)["protocols"][0]["conditions"]
    (held,) = condition["key_measures"]
    (vellas,) = [r for r in held["references"] if r["kind"] == "cutoff"]
    assert (vellas["verdict"], vellas["flagged"], vellas["finding"]) == ("below", True, "higher risk of injurious falls")
    (springer,) = [r for r in held["references"] if r["kind"] == "protocol_norm"]
    assert springer["position"] == "below the mean" and springer["row"]["mean"] == 9.4
