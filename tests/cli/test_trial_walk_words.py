"""``balance-station trial``'s summary of a walk test says its measures as the pages do: each with its
label and unit by the unit's rule ("time 6.41 s", "speed 0.94 m/s"), and a source's cut-offs not applied
to this patient once ("The published cut-offs (0.4 and 0.8 m/s) were set in people after stroke").

Before, the walk lines were bare keys and numbers ("walk_time_s 6.41", "walk_speed_m_s 0.937") and
Perry's two walking-class limits each had their own not-applied sentence."""

from __future__ import annotations

import pytest

from station.commands.trial import format_summary
from station.protocols.loader import builtin_protocols
from station.protocols.report import stored_result
from station.protocols.results import summarise


def _walk(protocol: str, condition: str, time_s: float, distance_m: float) -> dict:
    """A finished, valid walk trial as the store gives it (``Trials.get``)."""
    speed = distance_m / time_s
    outcome = {"protocol": protocol, "condition": condition, "label": condition, "trial": 1, "attempt": 1,
               "valid": True, "end_reason": "gate_reached", "issues": [], "hold_end": None, "warnings": [],
               "completed": True, "duration_s": 60.0, "time_held_s": None,
               "walk": {"setting": "overground", "initial_contacts_s": [], "walk_time_s": time_s}}
    return {"id": 1, "status": "complete", "condition": condition, "valid": True, "frame_count": 0, "frames_lost": 0,
            "metrics": {"kind": "walk", "metrics": {"walk_time_s": time_s, "walk_speed_m_s": speed,
                                                    "cadence_steps_min": 99.83, "step_time_cv_pct": 3.217},
                        "trial": outcome}}


def test_a_walks_summary_names_its_measures_with_units_and_says_perrys_limits_once():
    protocol = builtin_protocols()["ten-metre-walk"]
    summary = summarise(protocol, [stored_result(protocol, _walk("ten-metre-walk", "comfortable", 6.41, 6.0))],
                        age_y=76.0, patient_conditions=[])
    text = format_summary(summary, protocol)
    assert "time 6.41 s" in text and "speed 0.94 m/s" in text, text
    assert "cadence 99.8 steps/min" in text and "step-time variability (CV, both legs mixed) 3.2 %" in text, text
    assert "walk_time_s" not in text and "walk_speed_m_s" not in text, text
    assert text.count("set in people after stroke") == 1, text
    assert ("Comfortable pace: The published cut-offs (0.4 and 0.8 m/s) were set in people after stroke; they are "
            "not applied to this patient (no stroke in the patient's conditions).") in text, text


@pytest.mark.parametrize("time_s, speed, walking_class", [
    (30.0, "0.20 m/s", "Household walking"),
    (15.0, "0.40 m/s", "Limited community walking"),
    (6.0, "1.00 m/s", "Community walking"),
])
def test_after_stroke_perrys_limits_read_as_one_walking_class(time_s, speed, walking_class):
    """Read against a patient after stroke, Perry's two limits say the one class the speed is in, as on
    the pages; before, 0.20 m/s printed two FLAG lines (household walking and limited community
    walking) and 1.00 m/s nothing."""
    protocol = builtin_protocols()["ten-metre-walk"]
    summary = summarise(protocol, [stored_result(protocol, _walk("ten-metre-walk", "comfortable", time_s, 6.0))],
                        age_y=55.0, patient_conditions=["stroke:left"])
    text = format_summary(summary, protocol)
    assert "not applied" not in text and "FLAG" not in text, text
    assert f"  Comfortable pace: speed {speed}: {walking_class} (Perry et al. 1995, after stroke: " in text, text
    assert text.count("Perry et al. 1995") == 1, text
