"""The visit's PDF says of a walk test the patient did not finish what the visit results say
("walk not completed (n attempts)"), not "no valid trial"; a walk invalid for another reason stays
"no valid trial"."""

from __future__ import annotations

import shutil

import pytest

from station.reports.build import make_report
from station.store.store import Store

from reports_support import ACTOR, pdf_text

pytestmark = pytest.mark.usefixtures("poppler")


def _invalid_walk(store, session_id: int, code: str, message: str) -> None:
    writer = store.trials.start_trial(session_id, "backward-walk-3m", "fast", {"method": "nominal"}, 100.0, actor=ACTOR)
    outcome = {"protocol": "backward-walk-3m", "condition": "fast", "label": "fast", "trial": 1, "attempt": 1,
               "valid": False, "end_reason": "invalid", "issues": [{"code": code, "message": message, "at_s": None}],
               "hold_end": None, "warnings": [], "completed": False, "duration_s": 60.0, "time_held_s": None,
               "walk": {"setting": "overground", "walk_time_s": None, "initial_contacts_s": [0.7, 1.3]}}
    doc = {"fs_hz": 100.0, "samples": 0, "profile": "station", "version": "test", "metrics": {},
           "note": "Invalid trial: no walk measures.", "trial": outcome}
    writer.finish(doc, valid=False, reason=message)


@pytest.fixture
def own_store(clinic_dir, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(clinic_dir["data_dir"], data_dir)
    store = Store.open(data_dir)
    yield store, clinic_dir["fifty"]["patient_id"]
    store.close()


def _pdf_words(store, protocols, clinic, session_id: int) -> str:
    pdf = make_report("session", store, session_id, protocols=protocols, clinic=clinic, actor=ACTOR, paper="a4")
    return " ".join(pdf_text(pdf).split())


def test_a_walk_not_completed_reads_so_in_the_pdf(own_store, protocols, clinic):
    store, patient_id = own_store
    session = store.sessions.create(patient_id, {"label": "3mbw"}, actor=ACTOR)
    _invalid_walk(store, session["id"], "person_stopped", "The patient stopped walking 3.2 s after the go.")
    _invalid_walk(store, session["id"], "gate_not_reached", "The patient did not start walking.")
    text = _pdf_words(store, protocols, clinic, session["id"])
    assert "No measures: walk not completed (2 attempts)." in text
    assert "no valid trial" not in text
    assert "walk not completed: The patient stopped walking 3.2 s after the go." in text


def test_a_gate_fault_is_still_no_valid_trial(own_store, protocols, clinic):
    store, patient_id = own_store
    session = store.sessions.create(patient_id, {"label": "3mbw"}, actor=ACTOR)
    _invalid_walk(store, session["id"], "gate_order", "The gate at 3 m was passed before the gate at 1 m.")
    text = _pdf_words(store, protocols, clinic, session["id"])
    assert "No measures: no valid trial." in text and "walk not completed" not in text


def test_a_treadmill_session_with_sensor_dropouts_says_the_time_not_measured(own_store, protocols, clinic):
    from station.protocols.walk_words import imu_gaps_summary

    store, patient_id = own_store
    session = store.sessions.create(patient_id, {"label": "treadmill"}, actor=ACTOR)
    writer = store.trials.start_trial(session["id"], "backward-treadmill", "session", {"method": "nominal"}, 100.0,
                                      actor=ACTOR)
    walk = {"setting": "treadmill", "imu": None, "imu_bridged_frames": 0, "imu_not_measured_s": 12.4, "imu_dropouts": 2,
            "imu_parts": [[0.0, 400.0], [405.0, 900.0], [912.5, 1800.0]], "walking_min": 28.1, "planned_min": 30.0}
    walk["imu_gaps"] = imu_gaps_summary(walk, samples=180000, fs_hz=100.0)
    outcome = {"protocol": "backward-treadmill", "condition": "session", "label": "session", "trial": 1, "attempt": 1,
               "valid": True, "end_reason": "duration", "issues": [], "hold_end": None, "warnings": [walk["imu_gaps"]["words"]],
               "completed": True, "duration_s": 1800.0, "time_held_s": None, "walk": walk}
    doc = {"kind": "walk", "fs_hz": 100.0, "samples": 180000, "profile": "walk", "version": "test",
           "metrics": {"walking_min": 28.1, "planned_min": 30.0, "steps": 2900, "cadence_steps_min": 103.0},
           "trial": outcome}
    writer.finish(doc, valid=True)
    text = _pdf_words(store, protocols, clinic, session["id"])
    assert "Trial #" in text and "12 s not measured (2 sensor dropouts)" in text
    assert "count the measured time only" in text


def _valid_walk(store, session_id: int, protocol: str, condition: str, walk: dict, metrics: dict) -> None:
    from station.protocols.walk_words import imu_gaps_summary

    writer = store.trials.start_trial(session_id, protocol, condition, {"method": "nominal"}, 100.0, actor=ACTOR)
    walk["imu_gaps"] = imu_gaps_summary(walk, samples=3000, fs_hz=100.0)
    outcome = {"protocol": protocol, "condition": condition, "label": condition, "trial": 1, "attempt": 1,
               "valid": True, "end_reason": "duration", "issues": [], "hold_end": None,
               "warnings": [walk["imu_gaps"]["words"]] if walk["imu_gaps"] else [], "completed": True,
               "duration_s": 60.0, "time_held_s": None, "walk": walk}
    doc = {"kind": "walk", "fs_hz": 100.0, "samples": 3000, "profile": "walk", "version": "test", "metrics": metrics,
           "trial": outcome}
    writer.finish(doc, valid=True)


def test_short_imu_gaps_filled_are_said_in_one_plain_line(own_store, protocols, clinic):
    store, patient_id = own_store
    session = store.sessions.create(patient_id, {"label": "10 m"}, actor=ACTOR)
    walk = {"setting": "overground", "imu": None, "imu_bridged_frames": 12, "imu_bridged_gaps": 3,
            "imu_longest_gap_s": 0.05, "walk_time_s": 5.1, "walk_distance_m": 6.0, "walk_speed_m_s": 1.18,
            "initial_contacts_s": [0.7, 1.3, 1.8]}
    _valid_walk(store, session["id"], "ten-metre-walk", "comfortable", walk,
                {"walk_time_s": 5.1, "walk_speed_m_s": 1.18, "cadence_steps_min": 110.0})
    text = _pdf_words(store, protocols, clinic, session["id"])
    assert "Lower-back sensor (IMU): 3 short gaps (<= 0.1 s; 12 readings) filled by interpolation; gait measures valid." \
        in text
    assert "dropped out" not in text  # the results page's longer words are not repeated in the PDF


def test_frames_a_busy_station_lost_are_not_said_as_the_sensors(own_store, protocols, clinic):
    """Short gaps of frames the station lost (it woke late), the sensor's readings complete: the PDF's line says the
    station lost them, as the results page's trial list says it (report._trial_line's imu_gaps_line, one rule); it
    read "Lower-back sensor (IMU): 2 short gaps ...", the sensor blamed for the station's frames."""
    store, patient_id = own_store
    session = store.sessions.create(patient_id, {"label": "10 m"}, actor=ACTOR)
    walk = {"setting": "overground", "imu": None, "imu_bridged_frames": 6, "imu_bridged_gaps": 2,
            "imu_bridged_sensor_frames": 0, "imu_bridged_sensor_gaps": 0, "imu_longest_gap_s": 0.05, "walk_time_s": 5.1,
            "walk_distance_m": 6.0, "walk_speed_m_s": 1.18, "initial_contacts_s": [0.7, 1.3, 1.8]}
    _valid_walk(store, session["id"], "ten-metre-walk", "comfortable", walk,
                {"walk_time_s": 5.1, "walk_speed_m_s": 1.18, "cadence_steps_min": 110.0})
    text = _pdf_words(store, protocols, clinic, session["id"])
    assert "Station (busy, not the sensor): 2 short gaps (<= 0.1 s; 6 frames) filled by interpolation; gait measures " \
        "valid." in text, text
    assert "Lower-back sensor (IMU)" not in text and "woke late" not in text, text


def test_a_treadmill_session_with_a_station_stall_says_it(own_store, protocols, clinic):
    store, patient_id = own_store
    session = store.sessions.create(patient_id, {"label": "treadmill"}, actor=ACTOR)
    walk = {"setting": "treadmill", "imu": None, "imu_bridged_frames": 0, "imu_not_measured_s": 1.5, "imu_dropouts": 0,
            "imu_stalls": 1, "imu_parts": [[0.0, 600.0], [601.5, 1800.0]], "walking_min": 29.5, "planned_min": 30.0}
    _valid_walk(store, session["id"], "backward-treadmill", "session", walk,
                {"walking_min": 29.5, "planned_min": 30.0, "steps": 2950, "cadence_steps_min": 100.0})
    text = _pdf_words(store, protocols, clinic, session["id"])
    assert ("1.5 s not measured (1 station stall): the station measured nothing at all (its measuring program was held "
            "up)") in text


def test_a_walk_timed_without_gait_says_why_the_sensor_gave_none(own_store, protocols, clinic):
    store, patient_id = own_store
    session = store.sessions.create(patient_id, {"label": "10 m"}, actor=ACTOR)
    walk = {"setting": "overground", "walk_time_s": 5.1, "walk_distance_m": 6.0, "walk_speed_m_s": 1.18,
            "imu": "the lower-back sensor stopped sending 3.0 s after the go and did not come back (6.2 of 9.2 s "
                   "without its readings): unplugged or failing, check its cable", "initial_contacts_s": []}
    _valid_walk(store, session["id"], "ten-metre-walk", "comfortable", walk, {"walk_time_s": 5.1, "walk_speed_m_s": 1.18})
    text = _pdf_words(store, protocols, clinic, session["id"])
    # the sensor named once (it read "No gait measures from the lower-back sensor: the lower-back sensor stopped ...")
    assert "No gait measures: the lower-back sensor stopped sending 3.0 s after the go" in text, text
    assert "The time and speed come from the light gates and are valid." in text


def test_a_treadmill_session_ended_by_the_station_losing_its_data_says_so(own_store, protocols, clinic):
    from station.protocols.report import session_results

    store, patient_id = own_store
    session = store.sessions.create(patient_id, {"label": "treadmill"}, actor=ACTOR)
    ended = ("The station stopped receiving data 14.2 min after the go (nothing for 5.0 s): the session ended there; "
             "the 13.9 min walked before it were measured and are kept. Check the station's health page.")
    walk = {"setting": "treadmill", "imu": None, "imu_bridged_frames": 0, "imu_not_measured_s": 0.0, "imu_dropouts": 0,
            "imu_stalls": 0, "imu_parts": [[0.0, 852.0]], "walking_min": 13.9, "planned_min": 30.0, "ended_early": ended}
    _valid_walk(store, session["id"], "backward-treadmill", "session", walk,
                {"walking_min": 13.9, "planned_min": 30.0, "steps": 1400, "cadence_steps_min": 100.0})
    results = session_results(store, session["id"], protocols, actor=ACTOR)
    (line,) = [t for c in results["protocols"][0]["conditions"] for t in c["trials"]]
    assert line["ended_early"] == ended  # the visit results' line (results.js shows it under the attempt)
    text = _pdf_words(store, protocols, clinic, session["id"])
    assert "The station stopped receiving data 14.2 min after the go (nothing for 5.0 s): the session ended there" in text


def test_an_overground_walk_measured_around_a_stall_says_the_time_not_measured(own_store, protocols, clinic):
    """The station's own result of a 10-metre walk with a 1.5-s stall mid-walk (the simulated station,
    tests/protocols/test_walk_overground_parts.py): the visit results' trial line and the PDF say the
    time not measured and why, in the treadmill's words, with the gait from the parts."""
    from station.protocols.report import session_results
    from station.sim.faults import StationFault

    from tests.protocols.walk_support import run_walk

    result = run_walk("ten-metre-walk", seed=1, trials=1, faults=(StationFault("stall", 3.0, 1.5),)).runner.records[0].result
    walk = dict(result.walk)
    first = walk["imu_gaps"]["words"].split(": ")[0]
    assert first == f"{walk['imu_not_measured_s']:g} s not measured (1 station stall)"
    store, patient_id = own_store
    session = store.sessions.create(patient_id, {"label": "10 m"}, actor=ACTOR)
    _valid_walk(store, session["id"], "ten-metre-walk", "comfortable", walk, dict(result.metrics["metrics"]))
    line = session_results(store, session["id"], protocols, actor=ACTOR)["protocols"][0]["conditions"][0]["trials"][0]
    assert line["imu_gaps"]["gait_valid"] is True and line["imu_gaps"]["words"].startswith(first)
    text = _pdf_words(store, protocols, clinic, session["id"])
    assert f"{first}: the station measured nothing at all (its measuring program was held up)" in text
    assert "The gait measures come from the 2 parts measured" in text
    assert "The time and speed come from the light gates and are valid." in text


def test_a_timed_walks_cadence_says_it_spans_the_whole_walk_as_the_trial_page_does(own_store, protocols, clinic):
    """The gait keys of a walk over the gates come from the whole walk recorded, the speed from the
    timed distance: the PDF's cadence row says so in the trial page's words (one source for both)."""
    from station.protocols.walk_words import TIMED_WALK_SPANS
    from test_cutoff_populations import _walk_session

    store, patient_id = own_store
    session_id = _walk_session(store, patient_id, "ten-metre-walk", "comfortable",
                               {"walk_time_s": 9.68, "walk_speed_m_s": 0.62, "cadence_steps_min": 96.0})
    text = _pdf_words(store, protocols, clinic, session_id)
    row = text[text.index("Cadence 96"):]
    assert row.startswith("Cadence 96.0 steps/min Steps per minute while walking, over the whole walk recorded, not "
                          "only the timed distance (stops left out)"), row[:300]
    assert TIMED_WALK_SPANS["cadence_steps_min"] == "over the whole walk recorded, not only the timed distance"
