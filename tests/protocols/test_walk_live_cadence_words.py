"""The treadmill's live cadence (the ``cadence`` events the walk panel shows) never carries a stale
number: while the lower-back sensor sends nothing it says so (``not_measured``, numbers null), and
the number comes back on the readings that follow, its ``window_s`` saying how many seconds."""

from __future__ import annotations

from station.protocols.walk import CADENCE_WINDOW_S, LIVE_CADENCE_GAP, LIVE_CADENCE_NO_READINGS, WalkSettings
from station.sim.faults import StationFault

from tests.protocols.walk_support import run_walk

OUT_S, FOR_S = 20.0, 15.0
"""The sensor unplugged 20 s after the go and plugged back 15 s later (35 s)."""


def _cadence_events(run):
    return [e.data for e in run.events if e.kind == "cadence"]


def test_live_cadence_is_blank_with_words_while_the_sensor_is_gone_and_comes_back_after():
    run = run_walk("backward-treadmill", seed=12, settings=WalkSettings(belt_speed_m_s=0.5, planned_min=1.0,
                   sensor_height_m=0.98), faults=(StationFault("imu-unplugged", OUT_S, FOR_S),))
    events = _cadence_events(run)
    assert events, "no live cadence at all"
    for e in events:  # a number and no words, or words and no number: never both, never neither
        if e["not_measured"] is None:
            assert e["steps"] is not None and e["window_s"] is not None
        else:
            assert e["cadence_steps_min"] is None and e["steps"] is None and e["window_s"] is None
    before = [e for e in events if e["at_s"] < OUT_S]
    gone = [e for e in events if OUT_S + 1.5 <= e["at_s"] < OUT_S + FOR_S]
    back = [e for e in events if e["at_s"] >= OUT_S + FOR_S + 3.0]
    assert before and gone and back, [e["at_s"] for e in events]
    # walking before: the person's cadence (the virtual walker on the belt: 60-140 steps/min)
    measured = [e["cadence_steps_min"] for e in before if e["cadence_steps_min"] is not None]
    assert measured and all(60 <= c <= 140 for c in measured), before
    assert all(e["not_measured"] is None for e in before)
    # the sensor gone: no number, the reason (the old code sent nothing, so the panel kept the last number)
    assert all(e["not_measured"] == LIVE_CADENCE_NO_READINGS for e in gone), gone
    # right after it is back (under 2 s of readings): not yet, said as the dropout in the window
    just_back = [e for e in events if OUT_S + FOR_S <= e["at_s"] < OUT_S + FOR_S + 1.5]
    assert all(e["not_measured"] in (LIVE_CADENCE_NO_READINGS, LIVE_CADENCE_GAP) for e in just_back), just_back
    # back: numbers again, from the readings since it came back only (the window says how long)
    assert all(e["not_measured"] is None for e in back), back
    assert all(60 <= e["cadence_steps_min"] <= 140 for e in back), back
    first = back[0]
    assert first["window_s"] <= first["at_s"] - (OUT_S + FOR_S) + 0.05, first
    assert back[-1]["window_s"] == CADENCE_WINDOW_S, back[-1]


def test_live_cadence_after_a_station_stall_counts_only_the_readings_after_it():
    stall_at_s, stall_s = 19.0, 4.5
    run = run_walk("backward-treadmill", seed=12, settings=WalkSettings(belt_speed_m_s=0.5, planned_min=1.0,
                   sensor_height_m=0.98), faults=(StationFault("stall", stall_at_s, stall_s),))
    events = _cadence_events(run)
    back_s = stall_at_s + stall_s
    soon = [e for e in events if back_s <= e["at_s"] < back_s + 2.0]
    later = [e for e in events if e["at_s"] >= back_s + 2.0]
    assert soon and later, [e["at_s"] for e in events]
    # under 2 s of readings after the stall: no number (one across the stall could count steps never seen)
    assert all(e["not_measured"] == LIVE_CADENCE_GAP and e["cadence_steps_min"] is None for e in soon), soon
    # then the cadence of the readings after it, not a 10-s blank while the stall leaves the window
    first = later[0]
    assert first["not_measured"] is None and 60 <= first["cadence_steps_min"] <= 140, first
    assert first["window_s"] <= first["at_s"] - back_s + 0.05, first
