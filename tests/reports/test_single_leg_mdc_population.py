"""Goldberg et al. (2011)'s minimal detectable change of single-leg stance time (24.1 s) is the noise of 25
community-dwelling adults aged 60-89 y (abstract, as the APTA's "New in the Literature" quotes it); it was not
published for people after stroke, and the paper's inclusion and exclusion criteria were not read (s27 R1; the
question of s26's closing notes). It was read for a 65-year-old after stroke: the history's grey band shaded
around the first time held and a change called "within the MDC: may be noise", the programme's outcome
"within measurement error". It is now applied as the single-leg protocol's Vellas (1997) cut-off and Springer
(2007) age means are: not to a patient with a diagnosis that studies of older adults usually exclude and that
itself impairs balance, and the history, its PDF and the programme say why."""

from __future__ import annotations

from station.programmes.change import comparable_mdc, outcome_change
from station.protocols.report import patient_history
from station.reference import mdc as mdc_table

from reports_support import ACTOR
import test_standing_history_pdf_words as single_leg

store = single_leg.store  # a store of its own in tmp_path

NOT_FOR_STROKE = ("The published minimal detectable change (24.1 s) was set in community-dwelling adults aged 60 y "
                  "and over; it is not applied to this patient (the source's population is not known to include "
                  "people with stroke, left side affected).")


def _goldberg():
    return mdc_table.find_mdc("time_held_s", protocol="single-leg", eyes="open", feet="single_left", surface="firm")


def test_goldbergs_mdc_is_its_published_value_for_the_people_it_was_measured_in():
    held = _goldberg()
    assert held.value == 24.1 and held.citation == mdc_table.GOLDBERG_2011 and "Gait Posture 2011;33(4):737-739" \
        in held.citation
    assert held.population == "25 community-dwelling adults aged 60-89 y, single-leg stance time (SEM 8.7 s)"
    assert round(1.96 * 2 ** 0.5 * 8.7, 1) == held.value  # the MDC (95 %) from the SEM, as the abstract says
    assert held.condition_tag is None and held.min_age_y == 60
    assert {"stroke", "parkinsons", "multiple_sclerosis", "vestibular"} <= set(held.unknown_tags)
    assert mdc_table.fits_patient(held, ["stroke:left"], 70.0) == NOT_FOR_STROKE
    assert mdc_table.fits_patient(held, ["fall_12m", "knee_osteoarthritis"], 70.0) == ""  # common in older adults: applied
    assert mdc_table.fits_patient(held, [], 82.0) == ""


def test_the_history_and_its_pdf_read_no_goldberg_mdc_after_stroke(store, protocols, clinic, poppler):
    after_stroke = single_leg._patient(store, "SLS-MDC-S", 70, ["stroke:left"])
    faller = single_leg._patient(store, "SLS-MDC-F", 70, ["fall_12m"])
    for patient, times in ((after_stroke, (10.0, 30.0)), (faller, (10.0, 30.0))):
        for day, held in zip(("2026-11-02", "2026-11-16"), times):
            single_leg._visit(store, patient, day, [held])

    def left(patient):
        (series,) = [s for s in patient_history(store, patient, protocols, actor=ACTOR)["series"]
                     if s["metric"] == "time_held_s" and s["condition"] == "left"]
        return series

    stroke_series, faller_series = left(after_stroke), left(faller)
    assert stroke_series["mdc"] is None and stroke_series["mdc_note"] == NOT_FOR_STROKE
    assert stroke_series["exceeds_mdc"] is None and stroke_series["mdc_verdict"] is None  # +20 s: neither noise nor real
    assert faller_series["mdc"]["value"] == 24.1 and faller_series["mdc_note"] == ""  # the people it was measured in

    text = single_leg._pdf(store, protocols, clinic, "patient", after_stroke)
    assert text.count("it is not applied to this patient (the source's population is not known to include people with "
                      "stroke, left side affected)") >= 1, text
    assert "Grey band" not in text and "within the MDC" not in text, text


def test_a_programme_outcome_after_stroke_is_not_read_against_goldbergs_mdc(protocols):
    points = [{"assessment_id": a, "label": a, "week": w, "value": v} for a, w, v in (("baseline", 0, 10.0), ("end", 6, 30.0))]
    mdc, note = comparable_mdc("time_held_s", protocols["single-leg"], "left", ["stroke:left"], 70.0)
    assert mdc is None and note == NOT_FOR_STROKE
    assert [c["verdict"] for c in outcome_change(points, "higher", mdc, note)] == ["MDC not for this patient"]
    mdc, note = comparable_mdc("time_held_s", protocols["single-leg"], "left", ["fall_12m"], 70.0)
    assert mdc["value"] == 24.1 and note == ""
    assert [c["verdict"] for c in outcome_change(points, "higher", mdc, note)] == ["within measurement error"]
