"""A walking trial is the measured dose of one programme session. Found by an attack review: the
same 2-minute treadmill trial could be given as the dose of every session (the programme page's
'Walking trial #' field, or ``POST /api/programme-sessions/<id>/dose {"trial_id": N}``), each
counted as 2 minutes done: one walk made the whole week adherent."""

from __future__ import annotations

import pytest

from station.store.db import Conflict

from programme_support import ACTOR, load_test_module

dose_tests = load_test_module("test_dose_adherence_change", "programmes/test_dose_adherence_change.py")


@pytest.fixture
def pilot(store, patient, builtins):
    return store.programmes.assign(patient["id"], builtins["backward-walking-stroke"], "2026-01-05", actor=ACTOR)


def test_a_trial_already_dosed_is_refused_for_another_session_and_kept_for_its_own(store, patient, pilot):
    trial, _ = dose_tests.simulated_treadmill_trial(store, patient["id"], minutes=1.0)
    first, second = pilot["sessions"][0], pilot["sessions"][1]
    store.programmes.measure_dose(first["id"], trial, actor=ACTOR)
    with pytest.raises(Conflict) as refused:
        store.programmes.measure_dose(second["id"], trial, actor=ACTOR)
    assert str(refused.value) == (f"trial #{trial['id']} is already the measured dose of session 1 (#{first['id']}); a "
                                  "walk measures one session: choose another trial, or enter this session's dose by hand")
    assert store.programmes.session(second["id"])["status"] == "planned"
    again = store.programmes.measure_dose(first["id"], trial, actor=ACTOR, extra={"rpe": 12})  # its own: replaced
    assert again["dose"]["rpe"] == 12 and again["trial_id"] == trial["id"]
    sessions = [store.programmes.session(s["id"]) for s in pilot["sessions"]]
    assert sum(1 for s in sessions if s["status"] == "done") == 1
