"""DeMark et al.'s MDC of the 3-metre backward walk is published for subacute (0.07 m/s) and chronic
(0.11 m/s) stroke; the patient record holds no date of stroke, so a change is read against both, on
the visit results, the history and the PDF, not against the chronic value alone."""

from __future__ import annotations

from station.protocols.loader import builtin_protocols
from station.protocols.report import mdc_verdict, patient_history
from station.reports.references import Citations, reference_words

from dashboard_support import ACTOR
from test_walk_results import speed_change, stored_walk_session

BACKENDS = ("sqlite", "postgresql")
"""The tests using the store run on the station's SQLite and on the hub's PostgreSQL (conftest)."""


def test_a_change_after_stroke_is_read_against_the_subacute_and_the_chronic_mdc(store):
    patient = store.patients.create({"identifier": "S-2", "birth_year": 1956, "sex": "F", "conditions": ["stroke:right"]},
                                    actor=ACTOR)
    stored_walk_session(store, patient["id"], "backward-walk-3m-5m", "comfortable", 0.42)
    second = stored_walk_session(store, patient["id"], "backward-walk-3m-5m", "comfortable", 0.51)  # +0.09 m/s
    change = speed_change(store, second["id"])
    assert [(p["phase"], p["value"]) for p in change["mdc"]["phases"]] == [("subacute", 0.07), ("chronic", 0.11)]
    assert change["mdc_reading"] == ("beyond the subacute MDC (0.07), within the chronic MDC (0.11): real if the "
                                     "stroke is subacute, may be noise if chronic")
    words = reference_words(change, "m/s", Citations())
    assert "MDC 0.07 m/s subacute / 0.11 m/s chronic" in words and "real if the stroke is subacute" in words
    assert "within the measurement error" not in words

    third = stored_walk_session(store, patient["id"], "backward-walk-3m-5m", "comfortable", 0.64)  # +0.13 m/s
    assert speed_change(store, third["id"])["mdc_reading"].startswith("beyond the MDC in both subacute (0.07) and chronic")
    series = next(s for s in patient_history(store, patient["id"], builtin_protocols(), actor=ACTOR)["series"]
                  if s["protocol"] == "backward-walk-3m-5m" and s["metric"] == "walk_speed_m_s")
    assert series["mdc_reading"].startswith("beyond the MDC in both")  # +0.22 m/s since the first session
    assert "0.07 m/s subacute, 0.11 m/s chronic" in series["mdc"]["population"]


def test_an_mdc_with_one_value_reads_as_before(store, patient):
    doc = {"kind": "change", "previous": {"session_id": 1, "started_at": "2026-01-01", "value": 10.0}, "change": 30.0,
           "mdc": {"value": 24.1, "population": "adults", "citation": "Goldberg A", "doi": None}, "beyond_mdc": True,
           "mdc_reading": None, "mdc_verdict": mdc_verdict(30.0, True, "lower")}  # 30 s slower: worse
    # a walk's time in seconds by its unit's rule, two decimals, as the pages say a walk's time
    assert reference_words(doc, "s", Citations()).endswith("change +30.00 s; MDC 24.10 s [1]: beyond the MDC: a real worsening")
    # a time held, its change and its MDC in the precision it is scored in, one decimal, as the pages and the
    # history PDF say them (the visit PDF said "MDC 24.10 s" where the pages said "MDC 24.1 s")
    held = reference_words({**doc, "metric": "time_held_s"}, "s", Citations())
    assert held.endswith("(10.0 s): change +30.0 s; MDC 24.1 s [1]: beyond the MDC: a real worsening"), held
