"""``balance-station trial`` says the published values a measure is not read against as the results page and
the visit PDF say them (station.protocols.report.not_applied_said): two or more sources set in other people in
one sentence, each named with whom it was set in, the reason once when it is the same for all.

Before, the command printed a "not applied" sentence a source (the 3-m backward walk after stroke: Carter's
and Polo-Ferrero's each on its own line) and left the single-leg stance's reference values (Springer et al.
2007) unsaid beside Vellas et al.'s cut-off, which the page and the PDF name together."""

from __future__ import annotations

from station.commands.trial import format_summary
from station.protocols.loader import builtin_protocols
from station.protocols.report import stored_result
from station.protocols.results import summarise

from test_trial_walk_words import _walk

STROKE_WHY = "the source's population is not known to include people with stroke, left side affected"


def _held(leg: str, trial: int, held_s: float) -> dict:
    """A finished single-leg trial as the store gives it (``Trials.get``)."""
    outcome = {"protocol": "single-leg", "condition": leg, "label": leg, "trial": trial, "attempt": 1, "valid": True,
               "end_reason": "duration", "issues": [], "hold_end": None, "warnings": [], "completed": held_s >= 30.0,
               "duration_s": 30.0, "time_held_s": held_s}
    return {"id": trial, "status": "complete", "condition": leg, "valid": True, "frame_count": 3000, "frames_lost": 0,
            "metrics": {"kind": "stance", "metrics": {}, "trial": outcome}}


def _unable(leg: str, trial: int) -> dict:
    """A single-leg trial the clinician scored unable, as the store gives it."""
    issue = {"code": "scored_unable", "message": "Scored unable by the clinician (ana), not measured.", "at_s": None}
    held = _held(leg, trial, 0.0)
    outcome = {**held["metrics"]["trial"], "valid": False, "end_reason": "invalid", "issues": [issue], "time_held_s": None}
    return {**held, "valid": False, "validity_reason": issue["message"], "metrics": {**held["metrics"], "trial": outcome}}


def _single_leg(age_y: float, conditions: list[str], times=(3.5, 4.2, 2.8)) -> str:
    protocol = builtin_protocols()["single-leg"]
    trials = [_unable(leg, n) if held is None else _held(leg, n, held) for leg in ("left", "right")
              for n, held in enumerate(times, 1)]
    summary = summarise(protocol, [stored_result(protocol, t) for t in trials], age_y=age_y,
                        patient_conditions=conditions)
    return format_summary(summary, protocol)


def test_the_single_leg_sources_not_applied_after_stroke_are_said_in_one_sentence():
    text = _single_leg(65.0, ["stroke:left"])
    said = ("Not applied to this patient: the cut-off (5 s) of Vellas et al. 1997, set in healthy community-living "
            "volunteers older than 60 (mean age 73 y), and the reference values of Springer et al. 2007, set in 549 "
            f"healthy adults aged 18 and older; for both: {STROKE_WHY}.")
    assert text.count(said) == 2, text  # on each leg's time held line
    for line in text.splitlines():
        if line.startswith("    time held "):
            assert line.endswith(": " + said), line
    assert text.count("not applied") + text.count("Not applied") == 2, text
    assert "injurious falls" not in text and "below the mean" not in text, text


def test_the_single_leg_sources_are_read_for_an_older_faller():
    text = _single_leg(82.0, ["fall_12m"])
    assert "not applied" not in text.lower(), text
    assert "injurious falls" in text, text
    # Springer's age means read, the time held and the source as the page says them (was "4.20 s", "Springer BA et al.")
    assert "  Standing on the left leg, time held 4.2 s: below the mean of ages 80-99 (Springer et al. 2007)." in text, text


def test_the_backward_walks_two_sources_not_applied_after_stroke_are_one_line():
    protocol = builtin_protocols()["backward-walk-3m"]
    summary = summarise(protocol, [stored_result(protocol, _walk("backward-walk-3m", "fast", 5.01, 3.0))],
                        age_y=76.0, patient_conditions=["stroke:left"])
    text = format_summary(summary, protocol)
    said = ("  Backward, as fast as safely possible: Not applied to this patient: the cut-offs (3 and 4.5 s) of Carter "
            "et al. 2019, set in community-dwelling older adults walking without an aid and without a neurological "
            "diagnosis (a diagnosis the source excluded: stroke, left side affected); the cut-off (5.5 s) of "
            f"Polo-Ferrero et al. 2025, set in 483 community-dwelling older adults (mean age 76.3 y; {STROKE_WHY}).")
    assert said in text.splitlines(), text
    assert text.count("not applied") + text.count("Not applied") == 1 and "FLAG" not in text, text


def test_an_attempt_unable_is_said_so_among_the_times_as_the_results_page_says_it():
    """A time held's attempts: one the patient could not take the position in is "unable", as the results page says
    it ("best of 3.5, unable, 4.2"); it printed "best of 3.5, 0.0, 4.2 s", a time held that was never held."""
    text = _single_leg(82.0, ["fall_12m"], times=(3.5, None, 4.2))
    assert text.count("time held 4.2 s (best of 3.5, unable, 4.2 s)") == 2, text
    assert "0.0" not in text, text
