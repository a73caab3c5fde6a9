"""A session is shown as it was done (clinician's review, s24 F16 and F12): three treadmill
sessions stopped after a minute or so of 30 read as green 'done' tiles and '3 of 3 due so far'
(100 %) while 5 % of the minutes were walked; sessions 2 and 3, walked on the start day from the
calendar, read 'Tue, Dec 8 · done' and 'Thu, Dec 10 · done' and the header jumped to 'Week 2'.

Now a session with less than half its planned minutes walked is partial (counted apart, its
minutes count), the dose (minutes walked of minutes due) is in the adherence, a session keeps the
day it was done (its trial's, or as entered by hand), and the week follows the calendar."""

from __future__ import annotations

import pytest

from station.programmes.adherence import adherence, is_partial
from station.programmes.report import programme_document
from station.store.db import ValidationError

from programme_support import ACTOR, CAL, frames


@pytest.fixture
def pilot(store, patient, builtins):
    return store.programmes.assign(patient["id"], builtins["backward-walking-stroke"], "2026-01-05", actor=ACTOR)


def treadmill_trial(store, patient_id: int, minutes: float) -> dict:
    """A finished backward treadmill session's trial as the station stores it (its minutes walked)."""
    session = store.sessions.create(patient_id, {"label": "treadmill"}, actor=ACTOR)
    doc = {"fs_hz": 100.0, "samples": 300, "profile": "gait", "version": "test",
           "metrics": {"walking_min": minutes, "duration_s": minutes * 60, "steps": round(70 * minutes),
                       "cadence_steps_min": 70.0, "walk_speed_m_s": 0.4, "belt_speed_m_s": 0.4}}
    trial_id = store.trials.import_trial(session["id"], "backward-treadmill", "session", CAL, 100.0, frames(), doc,
                                         True, None, actor=ACTOR)
    return store.trials.get(trial_id)


def test_a_session_under_half_its_planned_minutes_is_partial_and_counted_apart():
    sessions = [{"week": 1, "status": "done", "planned_date": "2026-01-05", "minutes_planned": 30.0, "dose": {"minutes": 2.0}},
                {"week": 1, "status": "done", "planned_date": "2026-01-07", "minutes_planned": 30.0, "dose": {"minutes": 14.9}},
                {"week": 1, "status": "done", "planned_date": "2026-01-09", "minutes_planned": 30.0, "dose": {"minutes": 15.0}},
                {"week": 2, "status": "planned", "planned_date": "2026-01-12", "minutes_planned": 30.0}]
    assert [is_partial(s) for s in sessions] == [True, True, False, False]
    overall = adherence(sessions, "2026-01-09")["overall"]
    assert (overall["sessions_done"], overall["sessions_full"], overall["sessions_partial"]) == (3, 1, 2)
    assert overall["sessions_done_of_due"] == 1.0 and overall["minutes_done_of_due"] == pytest.approx(31.9 / 90)


def test_sessions_walked_ahead_on_the_start_day_keep_that_day_and_the_week(store, patient, pilot, protocols, wall):
    wall.to_day("2026-01-05")  # the start day, a Monday: sessions planned Jan 5, 7, 9
    for session, minutes in zip(pilot["sessions"][:3], (2.0, 1.2, 0.9)):
        trial = treadmill_trial(store, patient["id"], minutes)
        assert store.programmes.credit_run_trial(session["id"], trial, actor=ACTOR)["minutes"] == minutes
    doc = programme_document(store, pilot["id"], protocols, actor=ACTOR)
    first3 = doc["sessions"][:3]
    assert [s["planned_date"] for s in first3] == ["2026-01-05", "2026-01-07", "2026-01-09"]
    assert [s["done_on"] for s in first3] == ["2026-01-05"] * 3
    assert [s["partial"] for s in first3] == [True, True, True]
    assert doc["position"]["week"] == 1  # it said week 2: the first session still planned is in week 2
    overall = doc["adherence"]["overall"]
    assert overall["sessions_partial"] == 3 and overall["sessions_full"] == 0
    assert overall["minutes_done"] == pytest.approx(4.1) and overall["minutes_due"] == 90.0
    wall.to_day("2026-01-13")
    assert programme_document(store, pilot["id"], protocols, actor=ACTOR)["position"]["week"] == 2


def test_a_dose_entered_by_hand_keeps_the_day_it_was_done_and_refuses_a_day_to_come(store, pilot, protocols, wall):
    wall.to_day("2026-01-08")
    sid = pilot["sessions"][1]["id"]  # planned Wednesday Jan 7, entered on Thursday
    done = store.programmes.enter_dose(sid, {"minutes": 30, "done_on": "2026-01-06"}, actor=ACTOR)
    assert done["dose"]["done_on"] == "2026-01-06"
    doc = programme_document(store, pilot["id"], protocols, actor=ACTOR)
    assert doc["sessions"][1]["done_on"] == "2026-01-06" and doc["sessions"][1]["partial"] is False
    with pytest.raises(ValidationError) as refused:
        store.programmes.enter_dose(pilot["sessions"][2]["id"], {"minutes": 30, "done_on": "2026-01-09"}, actor=ACTOR)
    assert "after today" in str(refused.value.fields)
    # without a day: the clinic's today, kept with the dose as every dose's day is (s25: it was left out, to be read
    # back from recorded_at in the zone of whoever read it)
    assert store.programmes.enter_dose(pilot["sessions"][2]["id"], {"minutes": 30}, actor=ACTOR)["dose"]["done_on"] == "2026-01-08"
    assert programme_document(store, pilot["id"], protocols, actor=ACTOR)["sessions"][2]["done_on"] == "2026-01-08"


def test_a_dose_keeps_the_day_entered_whatever_zone_reads_it(store, pilot, protocols, wall):
    """s25: a dose entered for the day it was recorded kept no day of its own, to be read back from recorded_at in
    the zone of whoever read it. A hub on a server in UTC (no [clinic] time_zone) at 21:00 UTC on Wed Jan 7: the
    clinician enters Jan 7, the hub's today; the station in Sydney (08:00 on Jan 8 there) read it as done on Jan 8."""
    from datetime import datetime, timezone

    from station.store import timefmt

    before = timefmt._zone
    try:
        timefmt.use_time_zone("UTC")  # the hub
        wall.t_s = datetime(2026, 1, 7, 21, 0, tzinfo=timezone.utc).timestamp()
        sid = pilot["sessions"][1]["id"]
        store.programmes.enter_dose(sid, {"minutes": 30, "done_on": "2026-01-07"}, actor=ACTOR)
        timefmt.use_time_zone("Australia/Sydney")  # the station reading the same record
        doc = programme_document(store, pilot["id"], protocols, actor=ACTOR)
        assert doc["today"] == "2026-01-08"
        assert doc["sessions"][1]["done_on"] == "2026-01-07"  # as entered (was 2026-01-08)
    finally:
        timefmt._zone = before


def test_a_dose_without_its_day_reads_the_day_it_was_recorded(store, pilot, protocols, wall):
    wall.to_day("2026-01-06")
    sid = pilot["sessions"][0]["id"]
    store.programmes.enter_dose(sid, {"minutes": 30}, actor=ACTOR)
    with store.db.write() as conn:  # as stored before s25, when a dose of the day it was recorded kept no day
        conn.execute("UPDATE programme_sessions SET dose = ? WHERE id = ?", ('{"minutes": 30.0}', sid))
    assert store.programmes.session(sid)["dose"] == {"minutes": 30.0}
    wall.to_day("2026-01-09")
    assert programme_document(store, pilot["id"], protocols, actor=ACTOR)["sessions"][0]["done_on"] == "2026-01-06"


def test_a_baseline_measured_the_morning_the_programme_began_is_offered_to_its_baseline(store, patient, builtins,
                                                                                        protocols, wall):
    """Review s24 F5: a clinician measures first and enrols second; the morning's tests read 'Not measured yet'
    and the baseline stayed 'planned' (a repeat of the whole baseline). Now the baseline visit offers them."""
    from programme_support import store_assessment

    wall.to_day("2026-01-05")
    wall.t_s -= 3 * 3600  # 07:00, before the programme is assigned
    earlier = store_assessment(store, patient["id"], "quiet-stance", {"eo": {"velocity": 1.2}})
    wall.t_s += 3 * 3600
    pilot = store.programmes.assign(patient["id"], builtins["backward-walking-stroke"], "2026-01-05", actor=ACTOR)
    doc = programme_document(store, pilot["id"], protocols, actor=ACTOR)
    baseline = doc["visits"][0]
    assert baseline["week"] == 0 and "quiet-stance" in baseline["protocols"]
    assert [(r["session_id"], r["protocol"]) for r in baseline["offered_runs"]] == [(earlier, "quiet-stance")]
    assert all(v["offered_runs"] == [] for v in doc["visits"][1:])  # a later visit's day has not come
    store.programmes.link_visit_session(baseline["id"], "quiet-stance", earlier, actor=ACTOR)
    doc = programme_document(store, pilot["id"], protocols, actor=ACTOR)
    assert doc["visits"][0]["offered_runs"] == []
    [sway] = [o for g in doc["outcome_groups"] for o in g["outcomes"] if o["key"] == "quiet-stance/eo/mean_velocity_cm_s"]
    assert sway["points"][0]["value"] == pytest.approx(1.2)
