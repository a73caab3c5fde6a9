"""The benchmark's clinic (benchmarks/report_timing.py ``build_patient``, also these tests' clinic) is
dated from its fixed anchor day, not from the store's today: the benchmark times the same data, and
the report tests read the same history, whatever day they run."""

from __future__ import annotations

import datetime

from station.store.store import Store

from reports_support import report_timing

DAY_S = 86_400.0


def _built_on(data_dir, wall_s: float) -> dict:
    """What the builder stores with the store's clock at ``wall_s`` (Unix s): its sessions' start times
    and the programme's start and sessions (planned day, status, dose entered)."""
    with Store.open(data_dir, wall_clock=lambda: wall_s) as store:
        made = report_timing().build_patient(store, sessions=9, identifier="DAY-9")
        programme = store.programmes.get(made["assignment_id"])
        return {"started_at": [store.sessions.get(sid)["started_at"] for sid in made["session_ids"]],
                "last_visit": store.sessions.get(made["last_visit_session_id"])["started_at"][:10],
                "programme_start": programme["start_date"],
                "programme_sessions": [(s["planned_date"], s["status"], s["dose"])
                                       for s in programme["sessions"]]}


def test_the_clinic_is_the_same_whatever_day_it_is_built(tmp_path):
    anchor = report_timing().ANCHOR_DAY
    noon_of_anchor_s = datetime.datetime.combine(anchor, datetime.time(12), datetime.timezone.utc).timestamp()
    on_the_day = _built_on(tmp_path / "a", noon_of_anchor_s)
    a_year_later = _built_on(tmp_path / "b", noon_of_anchor_s + 400 * DAY_S)  # before: every date 400 days later
    assert a_year_later == on_the_day
    assert on_the_day["last_visit"] == anchor.isoformat()
    assert on_the_day["programme_start"] == (anchor - datetime.timedelta(days=28)).isoformat()
