"""Walk charts of the history say which way is a benefit ("higher is better" for speed, "lower is
better" for time), and a treadmill's history leads with the measured minutes walked, not the belt
speed the clinician entered."""

from __future__ import annotations

from station.protocols.loader import builtin_protocols
from station.protocols.report import patient_history

from dashboard_support import ACTOR

BACKENDS = ("sqlite", "postgresql")
"""The tests using the store run on the station's SQLite and on the hub's PostgreSQL (conftest)."""


def _walk(store, patient_id: int, protocol: str, condition: str, metrics: dict) -> None:
    session = store.sessions.create(patient_id, {"label": protocol}, actor=ACTOR)
    writer = store.trials.start_trial(session["id"], protocol, condition, {"method": "nominal"}, 100.0, actor=ACTOR)
    writer.finish({"fs_hz": 100.0, "samples": 0, "profile": "walk", "version": "test", "metrics": metrics}, valid=True)


def test_walk_charts_say_which_way_is_better(store, patient):
    for speed in (0.62, 0.71):
        _walk(store, patient["id"], "ten-metre-walk", "comfortable",
              {"walk_time_s": 6.0 / speed, "walk_speed_m_s": speed, "cadence_steps_min": 96.0})
    series = {s["metric"]: s for s in patient_history(store, patient["id"], builtin_protocols(), actor=ACTOR)["series"]}
    assert series["walk_speed_m_s"]["better"] == "higher" and series["walk_speed_m_s"]["better_words"] == "higher is better"
    assert series["walk_time_s"]["better"] == "lower" and series["walk_time_s"]["better_words"] == "lower is better"
    assert series["cadence_steps_min"]["better"] is None
    assert [s for s in series if series[s]["key"]] == ["walk_speed_m_s", "cadence_steps_min"]


def test_a_treadmill_history_leads_with_the_minutes_walked_not_the_belt_speed(store, patient):
    for minutes in (18.0, 24.5):
        _walk(store, patient["id"], "backward-treadmill", "session",
              {"walking_min": minutes, "walk_time_s": 60 * minutes, "walk_speed_m_s": 0.4, "cadence_steps_min": 80.0,
               "belt_speed_m_s": 0.4, "planned_min": 30.0})
    series = [s for s in patient_history(store, patient["id"], builtin_protocols(), actor=ACTOR)["series"]
              if s["protocol"] == "backward-treadmill"]
    key = [s["metric"] for s in series if s["key"]]
    assert key[0] == "walking_min" and "walk_speed_m_s" not in key
    minutes = next(s for s in series if s["metric"] == "walking_min")
    # more time walking is better read at the belt speed it was walked at (a faster belt can shorten it)
    assert minutes["better_words"] == "more is better at the same belt speed" and minutes["label"] == "Time walking"
    belt = next(s for s in series if s["metric"] == "walk_speed_m_s")
    assert belt["better"] is None and belt["better_words"] == "set on the treadmill by the clinician, not measured"
    assert belt["label"] == "Belt speed (entered)"
    # its time is the time walked (the dose): one chart of it, the minutes walked (a second, 'Time' in s,
    # read 'lower is better' under 'Time walking (higher is better)')
    assert [s["metric"] for s in series].count("walking_min") == 1 and "walk_time_s" not in [s["metric"] for s in series]


def test_stance_charts_say_which_way_is_better_and_name_a_steadier_patient_an_improvement(store, patient):
    for velocity, area in ((2.4, 4.0), (1.2, 2.0)):  # the sway halved between two sessions of quiet stance
        _walk(store, patient["id"], "quiet-stance", "eo", {"mean_velocity_cm_s": velocity, "ellipse_area_cm2": area})
    for held in (12.0, 30.0):
        _walk(store, patient["id"], "single-leg", "left", {"time_held_s": held})
    _walk(store, patient["id"], "weight-bearing", "eo", {"weight_left_pct": 44.0})
    series = {(s["protocol"], s["metric"]): s
              for s in patient_history(store, patient["id"], builtin_protocols(), actor=ACTOR)["series"]}
    velocity = series[("quiet-stance", "mean_velocity_cm_s")]
    assert velocity["better"] == "lower" and velocity["better_words"] == "lower is better: less sway"
    assert series[("single-leg", "time_held_s")]["better"] == "higher"
    assert series[("weight-bearing", "weight_left_pct")]["better"] is None  # best at 50 %, neither way
