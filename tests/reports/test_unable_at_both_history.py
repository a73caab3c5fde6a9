"""A patient who could not stand on one leg at the first and the last session: the history (page and PDF) says the
change is none, unable at both, and reads no MDC. It said "no change since the first (within the MDC: may be noise)":
noise of a measurement where nothing was held to measure, read by a physiotherapist as a time held too short to tell."""

from __future__ import annotations

from station.protocols.report import UNABLE_AT_BOTH, patient_history, unable_change_words

from reports_support import ACTOR
import test_single_leg_unable_words as unable_words
from test_single_leg_unable_words import _pdf, _unable_visit

store = unable_words.store  # a store of its own in tmp_path


def _held(store, session_id: int, leg: str, seconds: float) -> None:
    """A single-leg trial on ``leg`` held ``seconds`` (the foot touched down), as the runner stores it."""
    writer = store.trials.start_trial(session_id, "single-leg", leg, {"method": "nominal"}, 100.0, actor=ACTOR)
    outcome = {"protocol": "single-leg", "condition": leg, "trial": 1, "attempt": 1, "valid": True,
               "end_reason": "touchdown", "issues": [], "warnings": [], "completed": False, "hold_end": None,
               "duration_s": 30.0, "time_held_s": seconds}
    writer.finish({"fs_hz": 100.0, "samples": 0, "profile": "station", "version": "test", "metrics": {},
                   "trial": outcome}, valid=True)


def _series(store, protocols, patient_id: int, leg: str) -> dict:
    (series,) = [s for s in patient_history(store, patient_id, protocols, actor=ACTOR)["series"]
                 if s["metric"] == "time_held_s" and s["condition"] == leg]
    return series


def test_unable_at_both_sessions_is_no_change_and_reads_no_mdc(store, protocols, clinic, poppler):
    first = _unable_visit(store, "SLS-B1", 82, ["fall_12m"])
    patient_id = store.sessions.get(first)["patient_id"]
    # a second visit of the same patient, unable again (the helper's trials, in a session of its own)
    second = store.sessions.create(patient_id, {"label": "single-leg"}, actor=ACTOR)
    for trial in store.sessions.get(first)["trials"]:
        stored = store.trials.get(trial["id"])
        writer = store.trials.start_trial(second["id"], "single-leg", stored["condition"], {"method": "nominal"}, 100.0,
                                          actor=ACTOR)
        writer.finish(stored["metrics"], valid=False, reason=stored["validity_reason"])
    series = _series(store, protocols, patient_id, "left")
    assert [p["value"] for p in series["points"]] == [0.0, 0.0]
    assert series["mdc"] is not None  # the MDC is published for this patient: it is not read on nothing held
    assert (series["not_compared"], series["change"], series["mdc_verdict"], series["exceeds_mdc"]) == \
        (UNABLE_AT_BOTH, None, None, None)
    text = _pdf(store, protocols, clinic, "patient", patient_id)
    assert text.count(f"change {UNABLE_AT_BOTH}") == 2, text  # each leg's
    assert "may be noise" not in text and "no change" not in text, text
    assert text.count("No grey band") == 2 and "Grey band" not in text, text  # no band around nothing held


def test_a_time_held_after_an_unable_first_session_is_said_from_unable_and_not_read_against_the_mdc(
        store, protocols, clinic, poppler):
    """Unable (0 s) at the first session, 12.5 s at the last: Goldberg 2011's MDC (24.1 s) is the noise of repeated
    measured times held, and an unable is no measured time, so the change "+12.5 s (within the MDC: may be noise)"
    read a first time held as if it might be the same as nothing held. Said from what to what, no MDC read."""
    first = _unable_visit(store, "SLS-B2", 82, ["fall_12m"])
    patient_id = store.sessions.get(first)["patient_id"]
    second = store.sessions.create(patient_id, {"label": "single-leg"}, actor=ACTOR)
    _held(store, second["id"], "left", 12.46)
    series = _series(store, protocols, patient_id, "left")
    assert series["mdc"] is not None  # published for this patient: not read on a change from unable
    assert (series["change"], series["mdc_verdict"], series["exceeds_mdc"], series["mdc_reading"]) == \
        (None, None, None, None)
    assert series["not_compared"] == unable_change_words(0.0, 12.46)
    assert series["not_compared"].startswith("from unable (0 s) to 12.5 s (not read against the MDC")
    text = " ".join(_pdf(store, protocols, clinic, "patient", patient_id).split())
    assert "change from unable (0 s) to 12.5 s (not read against the MDC" in text, text
    assert "may be noise" not in text, text
    # nor drawn around the unable first session (0 s ± 24.1 s put the 12.5 s inside the band): the left leg's chart
    assert text.count("No grey band: the MDC is not read from or to an unable, 0 s.") == 1, text


def unable_baseline_programme(store, protocols, identifier: str) -> dict:
    """An 82-year-old with a fall on the balance-training programme: single-leg stance unable on both legs at the
    baseline (:func:`_unable_visit`), 12.46 s on both at the mid-point; the assignment."""
    from station.programmes.loader import builtin_programmes

    first = _unable_visit(store, identifier, 82, ["fall_12m"])
    patient_id = store.sessions.get(first)["patient_id"]
    assignment = store.programmes.assign(patient_id, builtin_programmes(protocols)["balance-training"], "2026-11-01",
                                         actor=ACTOR)
    visits = {v["assessment_id"]: v for v in assignment["visits"]}
    store.programmes.link_visit_session(visits["baseline"]["id"], "single-leg", first, actor=ACTOR)
    second = store.sessions.create(patient_id, {"label": "single-leg"}, actor=ACTOR)
    for leg in ("left", "right"):
        _held(store, second["id"], leg, 12.46)
    store.programmes.link_visit_session(visits["mid"]["id"], "single-leg", second["id"], actor=ACTOR)
    return assignment


def test_a_programmes_time_held_from_an_unable_baseline_is_not_read_against_the_mdc(store, protocols):
    """The balance-training programme's single-leg outcome, unable (0 s) at the baseline and 12.5 s at the mid-point:
    the programme page and PDF read "+12.5 s ... within measurement error" against Goldberg 2011's MDC (24.1 s), as
    the history did; now "MDC not read: unable (0 s)", as the history says it (report.unable_change_words)."""
    from station.programmes.change import UNABLE_NOT_READ
    from station.programmes.report import programme_document

    assignment = unable_baseline_programme(store, protocols, "SLS-P1")
    doc = programme_document(store, assignment["id"], protocols, actor=ACTOR)
    held = [o for g in doc["outcome_groups"] for o in g["outcomes"] if o["protocol"] == "single-leg"]
    assert len(held) == 2 and all(o["mdc"] is not None for o in held)  # Goldberg's MDC applies to this patient
    for o in held:
        assert [(c["to"], round(c["difference"], 2), c["verdict"], c["mdc_reading"]) for c in o["changes"]] == \
            [("mid", 12.46, UNABLE_NOT_READ, None)], o["changes"]
