"""A time walked and a time on the treadmill's timer, in the words a clinician reads at once.

A time walked in minutes and seconds ("12 min 24 s"), never decimal minutes ("12.4 min", "0.3 of 30 min" on
the programme page: a clinician has to work out what 0.4 of a minute is); the same on every page, in the PDFs
and the station's words. Where a session stopped, as the treadmill's timer read it: whole seconds passed, as a
stopwatch counts (the live page's timer showed 0:20 for a session stopped at 20.7 s, the visit's glance said
"stopped early, at 0:21").
"""

from __future__ import annotations

from station.protocols.walk import _when
from station.protocols.walk_words import clock_words, measure_words, treadmill_not_compared, treadmill_session_words, walked_words
from station.reports.text import change, mean_of, quantity


def test_a_time_walked_reads_in_minutes_and_seconds():
    assert [walked_words(m) for m in (0.0, 0.333, 0.9999, 1.0, 12.4, 12.44, 29.999, 30.0, 90.5)] == [
        "0 min", "20 s", "1 min", "1 min", "12 min 24 s", "12 min 26 s", "30 min", "30 min", "90 min 30 s"]
    assert measure_words("walking_min", {"walking_min": 12.4, "planned_min": 30}, "treadmill") == \
        "Walked 12 min 24 s of the 30 min planned; more is better."


def test_the_pdfs_say_a_time_walked_its_change_and_a_mean_so_too():
    assert quantity(19.6, "min") == "19 min 36 s" and quantity(0.3, "min") == "18 s"
    assert (change(-0.6, "min"), change(1.2, "min"), change(0.001, "min")) == ("-36 s", "+1 min 12 s", "no change")
    assert mean_of([12.4, 10.2], "min", "sessions") == "mean of 2 sessions: 12 min 24 s, 10 min 12 s"
    assert quantity(0.5431, "m/s") == "0.54 m/s"  # other units as before


def test_where_a_session_stopped_reads_as_the_live_timer_showed_it():
    session = {"walking_min": 0.33, "planned_min": 30, "recorded_s": 20.7, "belt_speed_m_s": 2 / 3.6}
    assert treadmill_session_words(session) == "20 s walked of 30 min planned at 2.0 km/h: stopped early, at 0:20"
    assert [clock_words(s) for s in (0.0, 20.7, 59.99, 60.0, 1805.9)] == ["0:00", "0:20", "0:59", "1:00", "30:05"]


def test_a_time_after_the_go_past_two_minutes_reads_in_minutes_and_seconds():
    assert (_when(12.54), _when(852.9), _when(840.0)) == ("12.5 s", "14 min 12 s", "14 min")


def test_a_plan_in_part_minutes_reads_in_the_time_walked_words():
    """A plan of half a minute was said "30 s walked of 0.5 min planned": the plan in decimal minutes beside the
    time walked in seconds. Both in the time walked's words (walked_words), in a session's glance and its measure."""
    session = {"walking_min": 0.5, "planned_min": 0.5, "recorded_s": 30.0, "belt_speed_m_s": 0.5}
    assert treadmill_session_words(session) == "30 s walked of 30 s planned at 1.8 km/h"
    assert treadmill_session_words({**session, "walking_min": 1.2, "planned_min": 2.5, "recorded_s": 72.0}) == \
        "1 min 12 s walked of 2 min 30 s planned at 1.8 km/h: stopped early, at 1:12"
    assert measure_words("walking_min", {"walking_min": 1.2, "planned_min": 2.5}, "treadmill") == \
        "Walked 1 min 12 s of the 2 min 30 s planned; more is better."
    assert "of the 20 and 10 min planned" in measure_words("walking_min", {"walking_min": 14.7, "planned_min": [20, 10]},
                                                             "treadmill")


def test_two_plans_not_compared_say_a_part_minute_as_a_time_walked():
    """Two sessions of other plans were said "planned 0.5 vs 30 min": the half minute in the time walked's words."""
    slow = {"belt_speed_m_s": 0.5}
    assert treadmill_not_compared("walking_min", {**slow, "planned_min": 0.5}, {**slow, "planned_min": 30}) == \
        "not compared: planned 30 s vs 30 min"
    assert treadmill_not_compared("walking_min", {**slow, "planned_min": 1}, {**slow, "planned_min": 30}) == \
        "not compared: planned 1 vs 30 min"  # whole minutes as before
