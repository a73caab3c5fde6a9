"""The programme PDF's words, read with pdftotext (clinician review R1, prog.pdf and visit.pdf of one
station): its footer said "calibration unknown" where the visit PDF said "calibration 2026-12-05" (the
programme's report held no recording: none of its sessions or visits was linked to one, and the
footer's helper said "unknown" for no recording at all), and the 3-metre backward walk's MDC sentence
said "the record holds no date of stroke" twice. Now a report without a recording says so, one with
a session recorded from the programme names that recording's calibration as the visit PDF does (the
same helper, station.reports.context.calibration_words), and the sentence says it once."""

from __future__ import annotations

import re

from station.programmes.loader import builtin_programmes
from station.reports.build import make_report
from station.store.store import Store
from station.store.timefmt import local_day

from reports_support import ACTOR, load_test_module, pdf_text

CALIBRATION = {"created_utc": "2026-12-05T20:06:44+00:00", "method": "masses", "zero_counts": [0, 0, 0, 0],
               "n_per_count": [1e-3] * 4}


WALKED_S = 1796501400.0
"""2026-12-05T20:10:00Z, the treadmill session's start (Unix s)."""


def _treadmill_trial(store, patient_id: int) -> dict:
    """A treadmill session stopped early at 0:21, as the trial service stores it."""
    session = store.sessions.create(patient_id, {"label": "treadmill", "started_at": "2026-12-05T20:10:00+00:00"},
                                    actor=ACTOR)
    writer = store.trials.start_trial(session["id"], "backward-treadmill", "session", CALIBRATION, 100.0, actor=ACTOR)
    writer.finish({"kind": "walk", "fs_hz": 100.0, "samples": 0, "profile": "walk", "version": "test",
                   "metrics": {"walking_min": 0.35, "planned_min": 30.0, "steps": 33, "cadence_steps_min": 96.0}},
                  valid=True)
    return store.trials.get(writer.trial_id)


def _stroke_programme(store, protocols, identifier: str) -> tuple[dict, dict]:
    """A patient after stroke on the backward walking programme: (patient, assignment)."""
    patient = store.patients.create({"identifier": identifier, "birth_year": 1950, "sex": "F",
                                     "conditions": ["stroke:left"]}, actor=ACTOR)
    template = builtin_programmes(protocols)["backward-walking-stroke"]
    return patient, store.programmes.assign(patient["id"], template, "2026-12-05", actor=ACTOR)


def _new_programme_words(tmp_path, protocols, clinic, identifier: str) -> str:
    """The programme PDF's words (whitespace collapsed) of a stroke programme just assigned, nothing done yet."""
    store = Store.open(tmp_path / "data")
    try:
        _patient, assignment = _stroke_programme(store, protocols, identifier)
        return " ".join(pdf_text(make_report("programme", store, assignment["id"], protocols=protocols, clinic=clinic,
                                             actor=ACTOR)).split())
    finally:
        store.close()


def test_the_programme_pdf_names_its_recordings_calibration_as_the_visit_pdf_does(tmp_path, protocols, clinic,
                                                                                    poppler, time_zone):
    time_zone("UTC0")  # the footer gives the calibration's day in the clinic's zone: 20:06 UTC is the 6th in Auckland
    store = Store.open(tmp_path / "data")
    try:
        patient, assignment = _stroke_programme(store, protocols, "PDF-CAL")
        report = lambda kind, oid: pdf_text(make_report(kind, store, oid, protocols=protocols,  # noqa: E731
                                                        clinic=clinic, actor=ACTOR))
        nothing = report("programme", assignment["id"])
        trial = _treadmill_trial(store, patient["id"])
        store.programmes.credit_run_trial(assignment["sessions"][0]["id"], trial, actor=ACTOR)
        programme = report("programme", assignment["id"])
        visit = report("session", trial["session_id"])
    finally:
        store.close()
    footer = re.compile(r"calibration (.+?) · made")
    assert set(footer.findall(nothing)) == {"none (no recording in this report)"}, footer.findall(nothing)
    assert "calibration unknown" not in nothing
    assert set(footer.findall(programme)) == set(footer.findall(visit)) == {"2026-12-05"}


def test_the_backward_walks_mdc_says_the_record_holds_no_date_of_stroke_once(tmp_path, protocols, clinic, poppler):
    store = Store.open(tmp_path / "data")
    try:
        _patient, assignment = _stroke_programme(store, protocols, "PDF-MDC")
        text = pdf_text(make_report("programme", store, assignment["id"], protocols=protocols, clinic=clinic,
                                    actor=ACTOR))
    finally:
        store.close()
    assert "MDC 0.07 m/s subacute, 0.11 m/s chronic" in text, text
    assert text.count("no date of stroke") == 1, text
    assert "so a change is read against both" in text


def test_the_programme_pdf_says_a_time_walked_as_the_programme_page_does(tmp_path, protocols, clinic, poppler):
    """A session stopped early at 0:21 of 30 min: the programme page says "21 s of 30 min" (doneOfPlanned,
    web/static/js/programme.js), its adherence "21 s / 30 min" a week; the PDF said "0.350 (30)" and
    "0.35 (90)", decimal minutes a clinician has to work out."""
    store = Store.open(tmp_path / "data")
    try:
        patient, assignment = _stroke_programme(store, protocols, "PDF-MIN")
        trial = _treadmill_trial(store, patient["id"])
        store.programmes.credit_run_trial(assignment["sessions"][0]["id"], trial, actor=ACTOR)
        text = " ".join(pdf_text(make_report("programme", store, assignment["id"], protocols=protocols, clinic=clinic,
                                             actor=ACTOR)).split())
    finally:
        store.close()
    assert "21 s of 30 min" in text, text
    assert "0.350" not in text and "0.35 " not in text
    assert "Time walked" in text and "Minutes done (planned)" not in text


def test_the_programme_pdf_says_a_partial_session_and_the_day_it_was_done(tmp_path, protocols, clinic, poppler):
    """Review s24 F16/F12: sessions stopped after seconds of 30 min read 'done' and, walked ahead of their day, on
    the day they were planned for; the adherence led with sessions (100 % of due) while 1 % of the minutes was
    walked. Now: 'partial' with the rule said, the day done beside the planned one, the time walked first.
    The store's clock is the start day's evening, when the trial was walked: on the real clock the trial was
    stamped the day the test ran, and on 2026-12-07, the day its session was planned for, the PDF rightly said no
    '(planned ...)' (CI, s31)."""
    store = Store.open(tmp_path / "data", wall_clock=lambda: WALKED_S)
    try:
        patient, assignment = _stroke_programme(store, protocols, "PDF-PART")
        trial = _treadmill_trial(store, patient["id"])  # walked on the start day's evening (UTC)
        walked_on = local_day(trial["started_at"])  # the clinic's day (the 5th or the 6th, by its zone)
        store.programmes.credit_run_trial(assignment["sessions"][1]["id"], trial, actor=ACTOR)  # planned 12-07
        pdf = make_report("programme", store, assignment["id"], protocols=protocols, clinic=clinic, actor=ACTOR)
        (tmp_path / "partial.pdf").write_bytes(pdf)
        text = " ".join(pdf_text(pdf).split())
    finally:
        store.close()
    assert f"{walked_on} (planned 2026-12-07) partial 21 s of 30 min" in text, text
    assert "A session is partial when less than 50 % of its planned minutes were walked" in text
    assert re.search(r"Done 21 s \(\d+ % of due\) 1 \(1 partial\)", text), text


def test_the_programme_pdf_says_when_a_visits_test_was_measured_not_planned(tmp_path, protocols, clinic, poppler,
                                                                             time_zone):
    """s26 P4, item 2: a visit stays "planned" until every one of its tests is measured, and the outcome tables'
    Visit column said its status: "Baseline (week 0, 2026-12-05, planned)" beside the baseline's measured 1.50 cm/s.
    Now the day its test was measured (with the planned day when that was another), and why a visit has no value."""
    support = load_test_module("programme_support", "programmes/programme_support.py")
    time_zone("CET-1")  # the clinic's days: noon UTC is the next day at UTC+12 and beyond (Auckland in summer)
    store = Store.open(tmp_path / "data")
    try:
        patient, assignment = _stroke_programme(store, protocols, "PDF-VISIT")
        baseline = next(v for v in assignment["visits"] if v["assessment_id"] == "baseline")
        # the quiet stance run two days late, at noon UTC (the 7th in the clinic's zone); its other tests not yet
        session = store.sessions.create(patient["id"], {"label": "baseline", "started_at": "2026-12-07T12:00:00+00:00"},
                                        actor=ACTOR)
        store.trials.import_trial(session["id"], "quiet-stance", "eo", support.CAL, 100.0, support.frames(),
                                  support.sway_doc("quiet-stance", "eo", velocity=1.5), True, None, actor=ACTOR)
        store.programmes.link_visit_session(baseline["id"], "quiet-stance", session["id"], actor=ACTOR)
        assert store.programmes.get(assignment["id"])["visits"][0]["status"] == "planned"
        text = pdf_text(make_report("programme", store, assignment["id"], protocols=protocols, clinic=clinic,
                                    actor=ACTOR))
    finally:
        store.close()
    assert "Baseline (week 0): measured 2026-12-07 (planned 2026-12-05) 1.50 cm/s" in text, text
    assert "2026-12-05, planned)" not in text
    # the tests not run: planned, or, once their day has passed (the report is made in the programme's future:
    # the clinic's today), not yet measured
    assert "Baseline (week 0): planned 2026-12-05, not yet measured –" in text or \
        "Baseline (week 0): planned 2026-12-05 –" in text, text
    assert "Mid-point (after week 2): planned 2026-12-19" in text, text


def test_the_programme_pdf_names_a_visits_week_once(tmp_path, protocols, clinic, poppler):
    """s26 P5, item 2: the outcome tables' Visit column put "(week k)" after every visit's label, and the built-in
    templates' labels say their week: "Mid-point (after week 2) (week 2)", "End (after week 4) (week 4)". Now the
    week once: the label's own, else "(week k)" after it ("Baseline (week 0)")."""
    text = _new_programme_words(tmp_path, protocols, clinic, "PDF-WEEK")
    assert "Mid-point (after week 2): planned 2026-12-19" in text, text
    assert "End (after week 4): planned 2027-01-02" in text, text
    assert "Baseline (week 0): planned 2026-12-05" in text, text
    assert not re.search(r"week (\d+)\) \(week \1\)", text), re.findall(r".{30}\(week \d+\) \(week \d+\)", text)


def test_the_programme_pdf_signs_a_change_from_baseline_as_the_programme_page(tmp_path, protocols, clinic, poppler):
    """The outcome tables' "Change from baseline" said an increase unsigned, "0.50 cm/s" (with_unit), where the
    programme page says "+0.50 cm/s from baseline" (Station.change): a clinician could not tell from the PDF's column
    which way the value went. Now signed, as every page and the history PDF say a change."""
    support = load_test_module("programme_support", "programmes/programme_support.py")
    store = Store.open(tmp_path / "data")
    try:
        patient, assignment = _stroke_programme(store, protocols, "PDF-SIGN")
        for visit, day, velocity in (("baseline", "2026-12-05", 1.5), ("mid", "2026-12-19", 2.0)):
            planned = next(v for v in assignment["visits"] if v["assessment_id"] == visit)
            session = store.sessions.create(patient["id"], {"label": visit, "started_at": f"{day}T12:00:00+00:00"},
                                            actor=ACTOR)
            store.trials.import_trial(session["id"], "quiet-stance", "eo", support.CAL, 100.0, support.frames(),
                                      support.sway_doc("quiet-stance", "eo", velocity=velocity), True, None, actor=ACTOR)
            store.programmes.link_visit_session(planned["id"], "quiet-stance", session["id"], actor=ACTOR)
        text = pdf_text(make_report("programme", store, assignment["id"], protocols=protocols, clinic=clinic,
                                    actor=ACTOR))
    finally:
        store.close()
    assert "Change from baseline Verdict +0.50 cm/s within measurement error" in text, text


def test_an_outcome_not_yet_measured_is_said_with_when_not_drawn_as_an_empty_chart(tmp_path, protocols, clinic,
                                                                                     poppler):
    """An outcome no visit has measured yet drew an empty box reading "no values" (s29 P14, item 5): now what is
    missing and when it will be measured, in words, and no MDC band promised ("Grey band: ...") under no chart."""
    text = _new_programme_words(tmp_path, protocols, clinic, "PDF-NONE")
    assert "no values" not in text and "Grey band" not in text, text
    # the baseline of 2026-12-05: planned today or past (the words say which), the first visit to measure it
    said = re.findall(r"Not measured yet, so no chart: (first at Baseline \(week 0\), planned 2026-12-05|Baseline \(week 0\) "
                      r"was planned 2026-12-05 and is not yet measured)\.", text)
    outcomes = text.count("Change from baseline")  # each outcome's table's heading
    assert outcomes >= 5 and len(said) == outcomes, (outcomes, said, text)
