"""Step-time variability on an uneven (hemiparetic) walk mixes the legs' difference into the
variability: the results call stride-time variability the steadiness measure and say what step-time
variability holds, without changing DESIGN §8's definitions."""

from __future__ import annotations

from station.protocols.loader import builtin_protocols
from station.protocols.report import key_measures
from station.protocols.walk_words import better_direction, measure_words

from tests.protocols.walk_support import run_walk


def test_on_a_hemiparetic_walk_step_time_cv_holds_the_asymmetry_and_stride_time_cv_the_steadiness():
    run = run_walk("ten-metre-walk", seed=31, gait="hemiparetic", trials=1)
    metrics = run.runner.records[0].result.metrics["metrics"]
    # the legs' difference shows in the step times, not in the stride times (same foot to same foot)
    assert metrics["step_time_cv_pct"] > 1.5 * metrics["stride_time_cv_pct"], metrics
    protocol = builtin_protocols()["ten-metre-walk"]
    measures = key_measures(protocol, {"id": "comfortable", "values": metrics}, {"cutoffs": [], "norms": []}, None)
    keys = [m["metric"] for m in measures]
    assert keys.index("stride_time_cv_pct") < keys.index("step_time_cv_pct")  # the steadiness measure first
    step = next(m for m in measures if m["metric"] == "step_time_cv_pct")
    assert step["label"] == "Step-time variability (CV, both legs mixed)"
    assert "not steadiness by itself" in step["words"] and "lower = steadier" not in step["words"]


def test_the_words_and_the_direction_of_each_variability():
    stride = measure_words("stride_time_cv_pct", {}, "overground")
    assert "steadiness" in stride and "not raised by a difference between the legs" in stride and "lower = steadier" in stride
    assert better_direction("stride_time_cv_pct", "treadmill") == "lower"
    assert better_direction("step_time_cv_pct", "treadmill") is None
