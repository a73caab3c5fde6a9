"""The 10-metre walk's comfortable speed reads as the Perry et al. (1995) walking class it falls in
(household / limited community / community walking, with the thresholds), not as two criteria
"met" or "below"."""

from __future__ import annotations

import pytest

from station.protocols.loader import builtin_protocols
from station.protocols.report import key_measures
from station.protocols.results import summarise


def _speed_references(speed: float, condition: str = "comfortable") -> list[dict]:
    protocol = builtin_protocols()["ten-metre-walk"]
    summary = summarise(protocol, [], patient_conditions=["stroke:left"])  # Perry's classes are for people after stroke
    for cut in summary["cutoffs"]:
        cut["value"] = speed if cut["condition"] == condition else None
        cut["flagged"] = None if cut["value"] is None else cut["value"] < cut["below"]
    values = {"walk_time_s": 6.0 / speed, "walk_speed_m_s": speed}
    measures = key_measures(protocol, {"id": condition, "values": values}, summary, age_y=70.0)
    return next(m for m in measures if m["metric"] == "walk_speed_m_s")["references"]


@pytest.mark.parametrize("speed, name", [(0.25, "household walking"), (0.62, "limited community walking"),
                                         (0.8, "community walking"), (1.2, "community walking")])
def test_the_comfortable_speed_reads_as_its_perry_class(speed, name):
    refs = _speed_references(speed)
    cutoffs = [r for r in refs if r["kind"] == "cutoff"]
    assert len(cutoffs) == 1  # one class, not two criteria
    ref = cutoffs[0]
    assert ref["verdict"] == "class" and ref["walking_class"] == name and ref["thresholds_m_s"] == [0.4, 0.8]
    assert ref["words"].startswith(name[0].upper() + name[1:] + " (Perry et al. 1995, after stroke: household walking "
                                   "below 0.4 m/s, limited community walking 0.4 to 0.8 m/s, community walking 0.8 m/s")
    assert "criterion" not in ref["words"]


def test_the_fast_pace_has_no_class():
    assert [r for r in _speed_references(1.4, "fast") if r["kind"] == "cutoff"] == []
