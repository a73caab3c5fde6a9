"""The programme PDF's dose table says a session's speed once. A dose taken from a treadmill trial stores the belt
speed the clinician entered as its ``speed_m_s`` too (the trial keeps it as ``walk_speed_m_s``,
station/programmes/dose.py): before, the table had a "Speed" column ("0.60 m/s") and a "Belt" column
("2.2 km/h (0.60 m/s)"), the same entered setting twice, the first as if measured. Now one "Speed" column:
"belt 2.2 km/h (0.60 m/s)" (km/h as the treadmill shows it, m/s as stored), a measured walking speed alone
("0.42 m/s"), and both only when they differ, as the programme page says it (web/static/js/programme.js)."""

from __future__ import annotations

from station.programmes.loader import builtin_programmes
from station.programmes.report import programme_document
from station.reports.build import make_report
from station.reports.programme_report import _dose_rows
from station.store.store import Store

from reports_support import ACTOR, pdf_text


def _treadmill_trial(store, patient_id: int, belt_m_s: float) -> dict:
    session = store.sessions.create(patient_id, {"label": "treadmill", "started_at": "2026-11-02T10:00:00+00:00"},
                                    actor=ACTOR)
    writer = store.trials.start_trial(session["id"], "backward-treadmill", "session", {"method": "nominal"}, 100.0,
                                      actor=ACTOR)
    outcome = {"protocol": "backward-treadmill", "condition": "session", "label": "session", "trial": 1, "attempt": 1,
               "valid": True, "end_reason": "duration", "issues": [], "hold_end": None, "warnings": [],
               "completed": True, "duration_s": 1200.0, "time_held_s": None,
               "walk": {"setting": "treadmill", "belt_speed_m_s": belt_m_s, "walking_min": 19.6, "planned_min": 20.0}}
    writer.finish({"kind": "walk", "fs_hz": 100.0, "samples": 0, "profile": "walk", "version": "test",
                   "metrics": {"walking_min": 19.6, "planned_min": 20.0, "steps": 1890, "cadence_steps_min": 96.5,
                               "walk_speed_m_s": belt_m_s, "belt_speed_m_s": belt_m_s}, "trial": outcome}, valid=True)
    return store.trials.get(writer.trial_id)


def test_the_dose_table_says_the_belt_speed_once(tmp_path, protocols, clinic, poppler):
    store = Store.open(tmp_path / "data")
    try:
        patient = store.patients.create({"identifier": "DOSE-1", "birth_year": 1952, "sex": "F",
                                         "conditions": ["stroke:left"]}, actor=ACTOR)
        assignment = store.programmes.assign(patient["id"], builtin_programmes(protocols)["backward-walking-stroke"],
                                             "2026-11-02", actor=ACTOR)
        first, second, third = store.programmes.get(assignment["id"])["sessions"][:3]
        store.programmes.measure_dose(first["id"], _treadmill_trial(store, patient["id"], 0.6), actor=ACTOR)
        store.programmes.enter_dose(second["id"], {"minutes": 20, "belt_speed_m_s": 0.5}, actor=ACTOR)
        store.programmes.record_dose(third["id"], {"minutes": 12.0, "steps": 900, "speed_m_s": 0.42}, source="measured",
                                     trial_id=None, actor=ACTOR)  # an overground walk's measured speed, no belt
        rows = _dose_rows(programme_document(store, assignment["id"], protocols, actor=ACTOR))
        header = rows[0]
        assert header.count("Speed") == 1 and "Belt" not in header, header
        speed = [row[header.index("Speed")] for row in rows[1:4]]
        assert speed == ["belt 2.2 km/h (0.60 m/s)", "belt 1.8 km/h (0.50 m/s)", "0.42 m/s"], speed
        text = pdf_text(make_report("programme", store, assignment["id"], protocols=protocols, clinic=clinic, actor=ACTOR))
    finally:
        store.close()
    assert "belt 2.2 km/h (0.60 m/s)" in text and "0.60 m/s 2.2 km/h" not in text, text
    assert " Belt " not in text, text
