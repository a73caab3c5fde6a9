"""Scheduling a programme in the store: the planned sessions and visits, moving a session,
missing a whole week, pausing and resuming, ending early; each change audited; refusals store
nothing."""

from __future__ import annotations

import pytest

from station.programmes.schedule import lay_out, session_offsets
from station.store.db import Conflict, NotFound, ValidationError

from programme_support import ACTOR


@pytest.fixture
def pilot(store, patient, builtins):
    return store.programmes.assign(patient["id"], builtins["backward-walking-stroke"], "2026-01-05", actor=ACTOR)


def _dates(doc, kind="sessions"):
    return [x["planned_date"] for x in doc[kind]]


def test_sessions_are_spread_over_each_week_and_visits_fall_after_their_week(builtins):
    assert session_offsets(3) == [0, 2, 4] and session_offsets(2) == [0, 3] and session_offsets(7) == list(range(7))
    sessions, visits = lay_out(builtins["backward-walking-stroke"], __import__("datetime").date(2026, 1, 5))
    assert len(sessions) == 12 and [s.week for s in sessions] == [1] * 3 + [2] * 3 + [3] * 3 + [4] * 3
    assert [s.planned_date.isoformat() for s in sessions[:4]] == ["2026-01-05", "2026-01-07", "2026-01-09", "2026-01-12"]
    assert [(v.assessment_id, v.planned_date.isoformat()) for v in visits] == [
        ("baseline", "2026-01-05"), ("mid", "2026-01-19"), ("end", "2026-02-02")]


def test_assigning_lays_out_the_plan_and_keeps_the_template_as_assigned(pilot, store, patient):
    assert pilot["status"] == "active" and pilot["start_date"] == "2026-01-05"
    assert len(pilot["sessions"]) == 12 and all(s["status"] == "planned" for s in pilot["sessions"])
    assert _dates(pilot, "visits") == ["2026-01-05", "2026-01-19", "2026-02-02"]
    assert pilot["template"]["schedule"]["minutes_per_session"] == 30
    entry = store.audit.query(action="programme.assign")[0]
    assert entry["patient_id"] == patient["id"] and entry["detail"] == {
        "template": "backward-walking-stroke", "sessions": 12, "visits": 3}


def test_one_current_programme_per_patient_and_never_for_an_archived_one(pilot, store, patient, builtins):
    with pytest.raises(Conflict, match="already on programme"):
        store.programmes.assign(patient["id"], builtins["balance-training"], "2026-03-01", actor=ACTOR)
    other = store.patients.create({"identifier": "P-200", "birth_year": 1940, "sex": "F"}, actor=ACTOR)
    store.patients.update(other["id"], {"archived": True}, actor=ACTOR)
    with pytest.raises(Conflict, match="archived"):
        store.programmes.assign(other["id"], builtins["balance-training"], "2026-03-01", actor=ACTOR)
    with pytest.raises(NotFound):
        store.programmes.assign(9999, builtins["balance-training"], "2026-03-01", actor=ACTOR)
    with pytest.raises(ValidationError) as bad:
        store.programmes.assign(other["id"], builtins["balance-training"], "05/01/2026", actor=ACTOR)
    assert "YYYY-MM-DD" in bad.value.fields["start_date"]


def test_moving_a_session_keeps_it_in_its_week(pilot, store):
    first = pilot["sessions"][1]
    moved = store.programmes.move_session(first["id"], {"planned_date": "2026-01-08"}, actor=ACTOR)
    assert (moved["planned_date"], moved["prescribed_date"], moved["week"]) == ("2026-01-08", "2026-01-07", 1)
    for bad in ({"planned_date": "2026-13-01"}, {"planned_date": "2025-12-31"}, {"planned_date": "2028-01-08"}, {},
                {"planned_date": "2026-01-09", "why": 1}):
        with pytest.raises(ValidationError):
            store.programmes.move_session(first["id"], bad, actor=ACTOR)
    assert store.programmes.session(first["id"])["planned_date"] == "2026-01-08"
    store.programmes.enter_dose(first["id"], {"minutes": 30}, actor=ACTOR)
    with pytest.raises(Conflict, match="only a planned session can be moved"):
        store.programmes.move_session(first["id"], {"planned_date": "2026-01-09"}, actor=ACTOR)
    details = [e["detail"] for e in store.audit.query(action="programme.update")]
    assert {"change": "move_session", "id": first["id"]} in details


def test_a_missed_week_is_recorded_with_its_reasons(pilot, store):
    week2 = [s for s in pilot["sessions"] if s["week"] == 2]
    for s, reason in zip(week2, ("flu", "flu", "no transport")):
        store.programmes.miss_session(s["id"], {"reason": reason}, actor=ACTOR)
    doc = store.programmes.get(pilot["id"])
    assert [(s["status"], s["missed_reason"]) for s in doc["sessions"] if s["week"] == 2] == [
        ("missed", "flu"), ("missed", "flu"), ("missed", "no transport")]
    with pytest.raises(Conflict, match="only a planned session can be marked missed"):
        store.programmes.miss_session(week2[0]["id"], {"reason": "again"}, actor=ACTOR)
    with pytest.raises(ValidationError):
        store.programmes.miss_session(pilot["sessions"][0]["id"], {"reason": "  "}, actor=ACTOR)
    with pytest.raises(ValidationError):
        store.programmes.miss_session(pilot["sessions"][0]["id"], {"reason": "x" * 201}, actor=ACTOR)
    # a dose entered late for a missed session makes it done
    late = store.programmes.enter_dose(week2[2]["id"], {"minutes": 20}, actor=ACTOR)
    assert late["status"] == "done" and late["missed_reason"] is None


def test_pausing_moves_everything_planned_from_the_pause_by_its_length(pilot, store):
    store.programmes.enter_dose(pilot["sessions"][0]["id"], {"minutes": 30}, actor=ACTOR)
    paused = store.programmes.pause(pilot["id"], {"from_date": "2026-01-12", "reason": "holiday"}, actor=ACTOR)
    assert paused["status"] == "paused" and paused["paused_from"] == "2026-01-12"
    with pytest.raises(Conflict, match="already paused"):
        store.programmes.pause(pilot["id"], {"reason": "again"}, actor=ACTOR)
    with pytest.raises(ValidationError, match="before the pause began"):
        store.programmes.resume(pilot["id"], {"on_date": "2026-01-10"}, actor=ACTOR)
    resumed = store.programmes.resume(pilot["id"], {"on_date": "2026-01-26"}, actor=ACTOR)
    assert resumed["status"] == "active"
    assert _dates(resumed)[:5] == ["2026-01-05", "2026-01-07", "2026-01-09", "2026-01-26", "2026-01-28"]
    assert _dates(resumed)[-1] == "2026-02-13"
    assert _dates(resumed, "visits") == ["2026-01-05", "2026-02-02", "2026-02-16"]
    assert resumed["pauses"] == [{"paused_from": "2026-01-12", "resumed_on": "2026-01-26", "reason": "holiday",
                                  "paused_by": "ana", "resumed_by": "ana"}]
    with pytest.raises(Conflict, match="not paused"):
        store.programmes.resume(pilot["id"], {}, actor=ACTOR)
    assert store.audit.query(action="programme.update")[0]["detail"] == {"change": "resume", "days": 14}


def test_ending_early_cancels_what_is_planned_and_freezes_the_plan(pilot, store, patient, builtins):
    for s in pilot["sessions"][:4]:
        store.programmes.enter_dose(s["id"], {"minutes": 30}, actor=ACTOR)
    with pytest.raises(ValidationError):
        store.programmes.end(pilot["id"], {"on_date": "2026-01-14"}, actor=ACTOR)  # no reason
    ended = store.programmes.end(pilot["id"], {"on_date": "2026-01-14", "reason": "moved away"}, actor=ACTOR)
    assert ended["status"] == "ended" and ended["ended_on"] == "2026-01-14" and ended["end_reason"] == "moved away"
    assert [s["status"] for s in ended["sessions"]].count("cancelled") == 8
    assert [v["status"] for v in ended["visits"]] == ["cancelled"] * 3
    for attempt in (lambda: store.programmes.move_session(ended["sessions"][6]["id"], {"planned_date": "2026-01-20"}, actor=ACTOR),
                    lambda: store.programmes.pause(pilot["id"], {"reason": "x"}, actor=ACTOR),
                    lambda: store.programmes.enter_dose(ended["sessions"][6]["id"], {"minutes": 3}, actor=ACTOR)):
        with pytest.raises(Conflict):
            attempt()
    # a done session's dose may still be corrected after the end
    fixed = store.programmes.enter_dose(ended["sessions"][0]["id"], {"minutes": 25}, actor=ACTOR)
    assert fixed["dose"] == {"minutes": 25.0, "done_on": "2026-01-05"}  # the day is kept with every dose (s25)
    assert store.audit.query(action="programme.dose")[0]["detail"]["replaced"] is True
    # the patient may now start another programme
    again = store.programmes.assign(patient["id"], builtins["balance-training"], "2026-02-01", actor=ACTOR)
    assert [a["id"] for a in store.programmes.list_for_patient(patient["id"])] == [again["id"], pilot["id"]]


def test_erasing_the_patient_erases_their_programmes(pilot, store, patient):
    store.programmes.enter_dose(pilot["sessions"][0]["id"], {"minutes": 30, "notes": "felt dizzy"}, actor=ACTOR)
    store.programmes.pause(pilot["id"], {"reason": "holiday"}, actor=ACTOR)
    store.patients.erase(patient["id"], "P-100", actor=ACTOR)
    with store.db.read() as conn:
        for table in ("programme_assignments", "programme_sessions", "programme_visits", "programme_pauses",
                      "programme_visit_sessions"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
        detail = conn.execute("SELECT group_concat(detail) FROM audit_log").fetchone()[0]
    assert "dizzy" not in detail and "holiday" not in detail
    with pytest.raises(NotFound):
        store.programmes.get(pilot["id"])
