"""The patient list counts visits, as the patient page's cards and the history PDF do ("1 visit"), not each test's
session: before (an outside review), one visit of 8 tests read "Sessions 8" in the list beside "1 visit"."""

from __future__ import annotations

from station.protocols.report import visit_numbers
from station.store.patients import VISIT_GAP_S


def _tested(store, patient_id: int, started_at: str, actor) -> dict:
    session = store.sessions.create(patient_id, {"label": "test", "started_at": started_at}, actor=actor)
    writer = store.trials.start_trial(session["id"], "romberg", "eo", {"method": "nominal"}, 100.0, actor=actor)
    writer.finish(None, valid=True)
    return session


def test_the_list_counts_visits_as_the_patient_page_groups_them(store, clinician):
    patient = store.patients.create({"identifier": "VIS-1", "birth_year": 1950, "sex": "F"}, actor=clinician)
    starts = ["2026-12-05T09:00:00Z", "2026-12-05T09:20:00+00:00", "2026-12-05T10:05:00Z",  # one visit of 3 tests
              "2026-12-05T13:05:00Z",  # 3 h after the last test: another visit
              "2026-12-12T09:00:00Z"]
    sessions = [_tested(store, patient["id"], at, clinician) for at in starts]
    store.sessions.create(patient["id"], {"notes": "phoned: unwell", "started_at": "2026-12-08T09:00:00Z"}, actor=clinician)
    store.sessions.create(patient["id"], {"started_at": "2026-12-09T09:00:00Z"}, actor=clinician)  # opened, no trial
    [row] = store.patients.search(q="VIS-1")["patients"]
    assert row["visit_count"] == 4, row  # 3 with trials (as the visit results chain them) and the notes
    assert row["session_count"] == 6 and row["trial_count"] == 5
    assert len(set(visit_numbers([{"id": s["id"], "started_at": s["started_at"]} for s in sessions]).values())) == 3
    assert VISIT_GAP_S == 3 * 3600


def test_a_patient_without_a_test_has_no_visit(store, clinician):
    store.patients.create({"identifier": "VIS-2", "birth_year": 1950, "sex": "F"}, actor=clinician)
    [row] = store.patients.search(q="VIS-2")["patients"]
    assert row["visit_count"] == 0 and row["session_count"] == 0


def test_the_list_says_who_is_on_a_programme(store, clinician, wall):
    """The list says a patient is on a programme (active or paused), not one ended (R L5: no column said it)."""
    from station.programmes.loader import builtin_programmes
    from station.protocols.loader import builtin_protocols
    from station.store.programmes import today_of

    template = builtin_programmes(builtin_protocols())["balance-training"]
    on = store.patients.create({"identifier": "PRG-1", "birth_year": 1950, "sex": "F"}, actor=clinician)
    store.patients.create({"identifier": "PRG-2", "birth_year": 1950, "sex": "F"}, actor=clinician)
    assignment = store.programmes.assign(on["id"], template, today_of(wall), actor=clinician)
    rows = {p["identifier"]: p for p in store.patients.search(q="PRG-")["patients"]}
    assert (rows["PRG-1"]["programme"], rows["PRG-2"]["programme"]) == ("active", None), rows
    store.programmes.pause(assignment["id"], {"from_date": str(today_of(wall)), "reason": "flu"}, actor=clinician)
    assert store.patients.search(q="PRG-1")["patients"][0]["programme"] == "paused"
