"""Walk tests on the results and history pages: the measures read first for a walk (time, speed,
cadence, variability, symmetry) with the protocol's published cut-offs, and walking in the
history's series."""

from __future__ import annotations

import dataclasses

from station.protocols.loader import builtin_protocols
from station.protocols.report import KEY_MEASURES, key_measures, patient_history, session_results
from station.protocols.results import summarise

from dashboard_support import ACTOR

BACKENDS = ("sqlite", "postgresql")
"""The tests using the store run on the station's SQLite and on the hub's PostgreSQL (conftest)."""

WALK_VALUES = {"walk_time_s": 8.2, "walk_speed_m_s": 0.73, "cadence_steps_min": 96.0, "step_time_cv_pct": 4.1,
               "stride_time_cv_pct": 2.9, "step_symmetry": 0.91, "steps": 13}


def walk_protocol():
    """A stance protocol made a walk test, with a published cut-off on the speed."""
    base = builtin_protocols()["quiet-stance"]
    return dataclasses.replace(base, outcome="walk")


def cutoff(condition_id: str, value: float) -> dict:
    return {"metric": "walk_speed_m_s", "condition": condition_id, "below": 0.8, "above": None, "value": value,
            "flagged": value < 0.8, "meaning": "limited community walking", "source": "Perry et al. 1995"}


def test_a_walk_reads_its_time_speed_and_gait_first_with_its_cut_off():
    protocol = walk_protocol()
    cid = protocol.conditions[0].id
    summary = {"cutoffs": [cutoff(cid, 0.73)], "norms": []}
    measures = key_measures(protocol, {"id": cid, "values": dict(WALK_VALUES)}, summary, age_y=70.0)
    keys = [m["metric"] for m in measures]
    assert keys == ["walk_time_s", "walk_speed_m_s", "steps", "cadence_steps_min", "stride_time_cv_pct",
                    "step_time_cv_pct", "step_symmetry"]  # walking_min: not measured overground, left out
    assert not set(keys) & {k for k, _, _ in KEY_MEASURES}  # no sway measure for a walk
    speed = measures[keys.index("walk_speed_m_s")]
    assert speed["value"] == 0.73 and speed["unit"] == "m/s"
    assert [r["kind"] for r in speed["references"]] == ["cutoff"] and speed["references"][0]["flagged"] is True


def test_stance_tests_keep_their_sway_measures():
    protocol = builtin_protocols()["quiet-stance"]
    cid = protocol.conditions[0].id
    values = {"ellipse_area_cm2": 2.0, "mean_velocity_cm_s": 1.1, "path_length_cm": 33.0, **WALK_VALUES}
    keys = [m["metric"] for m in key_measures(protocol, {"id": cid, "values": values}, {"cutoffs": [], "norms": []}, None)]
    assert keys[:3] == ["ellipse_area_cm2", "mean_velocity_cm_s", "path_length_cm"]
    assert "walk_speed_m_s" not in keys


def test_the_history_follows_walking_speed_cadence_and_variability(store, patient):
    for speed in (0.62, 0.81):
        session = store.sessions.create(patient["id"], {"label": "walk"}, actor=ACTOR)
        writer = store.trials.start_trial(session["id"], "ten-metre-walk", "comfortable", {"method": "nominal"}, 100.0, actor=ACTOR)
        doc = {"fs_hz": 100.0, "samples": 0, "profile": "station", "version": "test",
               "metrics": {**WALK_VALUES, "walk_speed_m_s": speed}}
        writer.finish(doc, valid=True)
    doc = patient_history(store, patient["id"], {}, actor=ACTOR)
    series = {s["metric"]: s for s in doc["series"] if s["protocol"] == "ten-metre-walk"}
    assert {"walk_time_s", "walk_speed_m_s", "cadence_steps_min", "step_time_cv_pct"} <= set(series)
    speed = series["walk_speed_m_s"]
    assert [p["value"] for p in speed["points"]] == [0.62, 0.81]
    assert speed["label"] == "Speed" and speed["unit"] == "m/s"
    assert abs(speed["change"] - 0.19) < 1e-9


def test_a_walk_condition_is_described_as_the_walk_not_as_a_stance():
    protocol = builtin_protocols()["backward-walk-3m-5m"]
    described = summarise(protocol, [])["conditions"][0]["stance"]
    assert described.startswith("walking backward") and "between the gates at 1 m and 4 m" in described


def stored_walk_session(store, patient_id: int, protocol: str, condition: str, speed: float) -> dict:
    """A session with one valid walk trial as the protocol engine stores it."""
    session = store.sessions.create(patient_id, {"label": protocol}, actor=ACTOR)
    writer = store.trials.start_trial(session["id"], protocol, condition, {"method": "nominal"}, 100.0, actor=ACTOR)
    outcome = {"protocol": protocol, "condition": condition, "label": condition, "trial": 1, "attempt": 1, "valid": True,
               "end_reason": "duration", "issues": [], "hold_end": None, "warnings": [], "completed": True,
               "duration_s": 120.0, "time_held_s": None}
    doc = {"kind": "walk", "fs_hz": 100.0, "samples": 0, "profile": "station", "version": "test",
           "metrics": {**WALK_VALUES, "walk_speed_m_s": speed}, "trial": outcome}
    writer.finish(doc, valid=True)
    return session


def speed_change(store, session_id: int) -> dict:
    doc = session_results(store, session_id, builtin_protocols(), actor=ACTOR)
    speed = next(m for m in doc["protocols"][0]["conditions"][0]["key_measures"] if m["metric"] == "walk_speed_m_s")
    return next(r for r in speed["references"] if r["kind"] == "change")


def test_a_walk_result_says_its_change_since_the_last_session_against_the_mdc(store):
    after_stroke = store.patients.create({"identifier": "S-1", "birth_year": 1956, "sex": "M", "conditions": ["stroke:left"]},
                                         actor=ACTOR)
    first = stored_walk_session(store, after_stroke["id"], "backward-walk-3m-5m", "comfortable", 0.42)
    assert speed_change(store, first["id"])["previous"] is None  # the first session: nothing to compare
    second = stored_walk_session(store, after_stroke["id"], "backward-walk-3m-5m", "comfortable", 0.61)
    change = speed_change(store, second["id"])
    assert change["previous"]["value"] == 0.42 and abs(change["change"] - 0.19) < 1e-9 and change["unit"] == "m/s"
    assert change["mdc"]["value"] == 0.11 and change["beyond_mdc"] is True  # DeMark et al.: beyond measurement error
    third = stored_walk_session(store, after_stroke["id"], "backward-walk-3m-5m", "comfortable", 0.66)
    assert speed_change(store, third["id"])["beyond_mdc"] is False  # +0.05 m/s may be noise


def test_the_mdc_is_not_shown_for_a_patient_unlike_those_it_was_measured_in(store, patient):
    stored_walk_session(store, patient["id"], "backward-walk-3m-5m", "comfortable", 0.42)
    later = stored_walk_session(store, patient["id"], "backward-walk-3m-5m", "comfortable", 0.61)
    change = speed_change(store, later["id"])  # the patient has no stroke: DeMark's MDC does not apply
    assert change["mdc"] is None and change["beyond_mdc"] is None and "stroke" in change["mdc_note"]
    assert abs(change["change"] - 0.19) < 1e-9


TREADMILL_VALUES = {**WALK_VALUES, "walk_time_s": 558.0, "walk_speed_m_s": 0.4, "walking_min": 9.3, "planned_min": 10.0,
                    "pauses": 2, "pause_s": 14.2, "belt_speed_m_s": 0.4, "steps": 890}


def test_a_treadmill_session_reads_as_time_walked_against_the_plan_pauses_and_the_belt_speed_entered():
    protocol = builtin_protocols()["backward-treadmill"]
    cid = protocol.conditions[0].id
    measures = {m["metric"]: m for m in key_measures(protocol, {"id": cid, "values": dict(TREADMILL_VALUES)},
                                                       {"cutoffs": [], "norms": []}, None)}
    assert list(measures)[:2] == ["walking_min", "pauses"]  # what the session was for comes first
    assert "walk_time_s" not in measures  # the same time in seconds, not said twice
    assert measures["walking_min"]["label"] == "Time walking"
    assert measures["walking_min"]["words"].startswith("Walked 9 min 18 s of the 10 min planned; more is better.")
    assert "Stood still 2 times, 14 s in all; fewer is better" in measures["pauses"]["words"]
    speed = measures["walk_speed_m_s"]
    assert speed["label"] == "Belt speed (entered)" and "not measured" in speed["words"]
    assert "lower = steadier" in measures["stride_time_cv_pct"]["words"]  # the steadiness measure
    assert "lower = steadier" not in measures["step_time_cv_pct"]["words"]  # mixes in the legs' difference
    assert "1 = left and right steps alike" in measures["step_symmetry"]["words"]
    # overground, the gates' speed is measured and higher is better
    ten = builtin_protocols()["ten-metre-walk"]
    overground = {m["metric"]: m for m in key_measures(ten, {"id": ten.conditions[0].id, "values": dict(WALK_VALUES)},
                                                         {"cutoffs": [], "norms": []}, None)}
    assert overground["walk_speed_m_s"]["label"] == "Speed" and "higher is better" in overground["walk_speed_m_s"]["words"]
    assert "pauses" not in overground


def stored_treadmill_trial(store, patient_id: int, walk: dict) -> dict:
    session = store.sessions.create(patient_id, {"label": "treadmill"}, actor=ACTOR)
    writer = store.trials.start_trial(session["id"], "backward-treadmill", "session", {"method": "nominal"}, 100.0, actor=ACTOR)
    outcome = {"protocol": "backward-treadmill", "condition": "session", "label": "session", "trial": 1, "attempt": 1,
               "valid": True, "end_reason": "duration", "issues": [], "hold_end": None, "warnings": [], "completed": True,
               "duration_s": 600.0, "time_held_s": None, "walk": {"setting": "treadmill", "imu": None, **walk}}
    doc = {"kind": "walk", "fs_hz": 100.0, "samples": 60000, "profile": "walk", "version": "test",
           "metrics": dict(TREADMILL_VALUES), "trial": outcome}
    writer.finish(doc, valid=True)
    return session


def trial_line(store, session_id: int) -> dict:
    doc = session_results(store, session_id, builtin_protocols(), actor=ACTOR)
    return doc["protocols"][0]["conditions"][0]["trials"][0]


def test_the_results_say_when_imu_samples_were_bridged_and_that_the_gait_measures_stand(store, patient):
    bridged = stored_treadmill_trial(store, patient["id"], {"imu_bridged_frames": 12, "imu_bridged_gaps": 3,
                                                             "imu_longest_gap_s": 0.05, "imu_bridged_sensor_frames": 12,
                                                             "imu_bridged_sensor_gaps": 3})
    gaps = trial_line(store, bridged["id"])["imu_gaps"]
    assert gaps["bridged_samples"] == 12 and gaps["gaps"] == 3 and gaps["longest_gap_s"] == 0.05
    assert gaps["missing_s"] == 0.12 and gaps["gait_valid"] is True
    assert "dropped out 3 times, for at most 50 ms" in gaps["words"] and "the gait measures are valid" in gaps["words"]
    # a trial stored before the station's and the sensor's gaps were told apart: blames neither
    older = stored_treadmill_trial(store, patient["id"], {"imu_bridged_frames": 12, "imu_bridged_gaps": 3,
                                                          "imu_longest_gap_s": 0.05})
    words = trial_line(store, older["id"])["imu_gaps"]["words"]
    assert words.startswith("Readings of the lower-back sensor were missing 3 times") and "dropped out" not in words
    clean = stored_treadmill_trial(store, patient["id"], {"imu_bridged_frames": 0})
    assert trial_line(store, clean["id"])["imu_gaps"] is None  # nothing missing: nothing said


def test_the_history_of_treadmill_sessions_names_the_belt_speed_as_entered(store, patient):
    for _ in range(2):
        stored_treadmill_trial(store, patient["id"], {"imu_bridged_frames": 0})
    doc = patient_history(store, patient["id"], builtin_protocols(), actor=ACTOR)
    series = {s["metric"]: s for s in doc["series"] if s["protocol"] == "backward-treadmill"}
    assert series["walk_speed_m_s"]["label"] == "Belt speed (entered)"
    assert series["walking_min"]["label"] == "Time walking" and series["walking_min"]["unit"] == "min"
