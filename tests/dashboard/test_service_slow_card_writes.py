"""The station's other writes while its SD card is slow to write (a COMMIT of the trial recorder's
committer thread waiting seconds for its fsync, holding the database's one write lock meanwhile).

* The trial service's loop serves the sampling: a test's visit and a game's training session after its trial
  are written in the store's committer thread, the loop waiting for them HANDOVER_WAIT_S at most; a test
  opens once its visit is written, the live page told so meanwhile; what follows a stored trial is saved
  once the card is free, the live page told so in between (nothing recorded lost).
* A page's write waits WRITE_LOCK_WAIT_S at most, then answers 503 in words ("... slow to write just
  now ..., so this was not saved ...; try again in a moment") rather than hang.

The slow card is tests/failing_card.py's GatedCard: its COMMIT waits for the test (GATE_S at most). On the
old code each of these writes waited for the gate (the loop's step, the request)."""

from __future__ import annotations

import re
import threading
import time

import pytest

import station.store.db as db_module
from station.protocols import sinks
from station.protocols.service import FOLLOW_UPS_SAVING_WORDS, LOOP_LOCK_WAIT_S, SLOW_SAVING_WORDS, opening_words
from station.store.db import Conflict

from dashboard_support import ACTOR, SimulatedClinic, signed_in_client
from failing_card import GATE_S, GatedCard

ROMBERG_OPENING = opening_words("Romberg test (feet together, eyes open then closed)")
"""The pages' words while the Romberg test's visit is being written: the test named (a watching page did not choose it)."""


def _game_started(clinic, patient) -> None:
    """A reach game (30 s) opened for ``patient`` and started."""
    clinic.call("open_run", patient["id"], "biofeedback-training", None, ACTOR, None,
                {"game": "reach", "level": 1, "session_s": 30, "seed": 3, "range_cm": 10})
    clinic.step_until(lambda: clinic.state() == "instructions", "the instructions")
    clinic.call("start_trial")


def _timed(step):
    """``step`` timed: (the timed step, a one-item list holding the longest it took, s)."""
    longest = [0.0]

    def timed() -> None:
        began = time.monotonic()
        step()
        longest[0] = max(longest[0], time.monotonic() - began)

    return timed, longest


def _stop_on_a_slow_card(clinic, store, monkeypatch) -> GatedCard:
    """Record 2 s of a quiet stance, put the card's COMMITs on the gate and stop the trial: its end is
    with the committer thread, which holds the write lock while the card holds the COMMIT."""
    clinic.call("start_trial")
    clinic.step_until(lambda: clinic.state() == "recording", "the recording")
    clinic.step_until(lambda: clinic.service._run.sink.open_output.output.writer.frames_committed >= 200, "2 s stored")
    card = GatedCard(store.db._writer)
    monkeypatch.setattr(store.db, "_writer", card)
    card.slow = True
    stopping = clinic.service.submit("stop_trial")
    clinic.service.step()
    stopping.result(0)
    assert card.in_commit.wait(GATE_S)
    return card


def _visits(store, patient) -> list:
    with store.db.read() as conn:
        return conn.execute("SELECT id FROM sessions WHERE patient_id = ?", (patient["id"],)).fetchall()


def _until_told_opening(clinic, card) -> None:
    """Step the service (each step returning: the card holds the visit) until the page is told the test is
    being opened (OPENING_SAID_AFTER_S after the command), the card still holding the COMMIT."""
    deadline = time.monotonic() + GATE_S - 0.5
    while "run_opening" not in clinic.kinds() and time.monotonic() < deadline:
        clinic.service.step()
        time.sleep(0.05)
    assert card.in_commit.is_set(), "the card let the COMMIT go before the page was told"


def _saying(clinic) -> list[str]:
    """What the live page was told of the storage, in order (saving, opening, faults)."""
    return [e.data["message"] for e in clinic.events if e.kind in ("trial_saving", "run_opening", "fault")]


def test_opening_a_test_while_the_card_writes_does_not_hold_the_loop_and_opens_once_its_visit_is_written(
        store, patient, monkeypatch):
    """The card holds the last trial's end (the committer's COMMIT) as the next test is opened: its visit is
    written after it, in the committer thread; the loop goes on, the page is told the test is being opened, a
    second open is refused meanwhile, and the first opens once the card has written it (was: refused, 'the test
    was not opened')."""
    clinic = SimulatedClinic(store)
    clinic.call("open_run", patient["id"], "quiet-stance", None, ACTOR)
    clinic.step_until(lambda: clinic.state() == "instructions", "the instructions")
    card = _stop_on_a_slow_card(clinic, store, monkeypatch)
    try:
        closing = clinic.service.submit("close_run")  # (no drain of the committer: the card holds it)
        clinic.service.step()
        closing.result(0)
        opening = clinic.service.submit("open_run", patient["id"], "romberg", None, ACTOR)
        clinic.service.step()  # the visit is handed to the committer, behind the trial's end the card holds
        assert card.in_commit.is_set(), "the step waited for the card"
        assert not opening.done() and clinic.service.status()["run"] is None
        assert _saying(clinic) == [SLOW_SAVING_WORDS]  # not yet: a moment's wait is not said
        _until_told_opening(clinic, card)
        assert not opening.done() and _saying(clinic) == [SLOW_SAVING_WORDS, ROMBERG_OPENING]
        again = clinic.service.submit("open_run", patient["id"], "romberg", None, ACTOR)
        clinic.service.step()
        with pytest.raises(Conflict, match="another test is being opened"):
            again.result(0)
    finally:
        card.slow = False
        card.release.set()
    clinic.step_until(opening.done, "the test opened", max_s=5.0)
    assert opening.result(0)["run"]["protocol"] == "romberg" and clinic.state() == "instructions"
    clinic.step_until(lambda: "trial_saved" in clinic.kinds(), "the trial being saved", max_s=5.0)
    assert _saying(clinic) == [SLOW_SAVING_WORDS, ROMBERG_OPENING]  # no fault: nothing refused
    assert len(_visits(store, patient)) == 2  # the quiet stance's and this one's, once


def test_a_tests_visit_the_card_is_slow_to_write_does_not_hold_the_loop(store, patient, monkeypatch):
    """Opening a test whose own visit's COMMIT the card holds: the loop's step returns with the visit still
    with the card (written in the committer thread), the page told in words; the test opens once it is
    written. On the old code the step made the visit itself and waited for the card (GATE_S)."""
    clinic = SimulatedClinic(store)
    card = GatedCard(store.db._writer)
    monkeypatch.setattr(store.db, "_writer", card)
    card.slow = True
    try:
        opening = clinic.service.submit("open_run", patient["id"], "quiet-stance", None, ACTOR)
        clinic.service.step()
        assert card.in_commit.is_set(), "the step waited for the card to write the visit"
        clinic.service.step()  # nor does the next step wait
        assert card.in_commit.is_set() and not opening.done() and card.commit_threads == {"trial-committer"}
        _until_told_opening(clinic, card)
        assert not opening.done() and _saying(clinic) == [opening_words("Quiet stance, eyes open")]
    finally:
        card.slow = False
        card.release.set()
    clinic.step_until(opening.done, "the test opened", max_s=5.0)
    assert opening.result(0)["run"]["protocol"] == "quiet-stance" and clinic.state() == "instructions"
    assert clinic.kinds().index("run_opening") < clinic.kinds().index("run_opened")
    assert len(_visits(store, patient)) == 1


def test_a_games_training_session_waits_for_a_slow_card_and_is_saved_once_it_is_free(store, patient, monkeypatch):
    """A page's write holds the write lock (its COMMIT on the slow card) just as a game's trial has been
    stored: the loop does not wait for it; the trial is said stored, its training session waiting, then
    saved, none of it lost."""
    clinic = SimulatedClinic(store)
    holding, release = threading.Event(), threading.Event()

    def page_write():  # a clinician saving a note as the card takes its time
        with store.db.write():
            holding.set()
            release.wait(GATE_S)

    saved = sinks._StoreOutput.saved
    first = []

    def saved_as_a_page_writes(self, result, stored=None, done=None):
        if not first:
            first.append(threading.Thread(target=page_write, daemon=True))
            first[0].start()
            assert holding.wait(GATE_S)
        return saved(self, result, stored, done)

    monkeypatch.setattr(sinks._StoreOutput, "saved", saved_as_a_page_writes)
    _game_started(clinic, patient)
    timed_step, longest = _timed(clinic.service.step)
    monkeypatch.setattr(clinic.service, "step", timed_step)
    try:
        clinic.step_until(lambda: "trial_saving" in clinic.kinds(), "the game's end", max_s=120.0)
        assert longest[0] < LOOP_LOCK_WAIT_S + 0.5, f"a step waited {longest[0]:.2f} s for the page's write"
        assert [e.data["message"] for e in clinic.events if e.kind in ("trial_saving", "fault")] == [
            FOLLOW_UPS_SAVING_WORDS]
        (trial_id,) = clinic.service.status()["run"]["trial_ids"]
        assert store.trials.get(trial_id)["status"] == "complete"  # the trial itself is stored
        assert store.training.list_for_patient(patient["id"]) == []
        for _ in range(5):
            clinic.step()
        assert "trial_saved" not in clinic.kinds()
    finally:
        release.set()
    clinic.step_until(lambda: "trial_saved" in clinic.kinds(), "the training session being saved", max_s=10.0)
    (session,) = store.training.list_for_patient(patient["id"])
    assert session["trial_id"] == trial_id
    assert clinic.service.status()["run"]["training"]["stored"]["id"] == session["id"]
    assert "fault" not in clinic.kinds()


def test_a_games_training_session_the_card_is_slow_to_write_does_not_hold_the_loop(store, patient, monkeypatch):
    """The training session's own COMMIT on a slow card (the gate): written off the loop, in the store's
    committer thread; the step returns, the page is told the trial is saved and the session waits, then
    saved once the card has written it."""
    clinic = SimulatedClinic(store)
    card = GatedCard(store.db._writer)
    monkeypatch.setattr(store.db, "_writer", card)
    record = sinks.StoreSink.record_training

    def record_on_a_slow_card(self, result, trial_id):
        card.slow = True  # from the training session's write on
        return record(self, result, trial_id)

    monkeypatch.setattr(sinks.StoreSink, "record_training", record_on_a_slow_card)
    _game_started(clinic, patient)
    step, longest = _timed(clinic.service.step)  # the service's step alone: no drain of the committer

    try:
        end_ns = clinic.station.clock.monotonic_ns() + int(120e9)
        while not card.slow:  # the game played, its commits let finish after each step (a working card)
            assert clinic.station.clock.monotonic_ns() < end_ns, "the game did not end"
            step()
            if not card.slow:
                store.trials.drain(5.0)
        assert longest[0] < LOOP_LOCK_WAIT_S + 0.5, f"a step waited {longest[0]:.2f} s for the card"
        assert card.in_commit.wait(GATE_S), "the training session's COMMIT did not come to the gate"
        assert [e.data["message"] for e in clinic.events if e.kind in ("trial_saving", "fault")] == [
            FOLLOW_UPS_SAVING_WORDS]
        for _ in range(5):
            step()
        assert longest[0] < LOOP_LOCK_WAIT_S + 0.5 and "trial_saved" not in clinic.kinds()
    finally:
        card.slow = False
        card.release.set()
    clinic.step_until(lambda: "trial_saved" in clinic.kinds(), "the training session being saved", max_s=10.0)
    (session,) = store.training.list_for_patient(patient["id"])
    assert clinic.service.status()["run"]["training"]["stored"]["id"] == session["id"]
    assert "fault" not in clinic.kinds()


def test_a_page_write_while_the_card_writes_answers_in_words_within_its_bound(store, patient, monkeypatch):
    monkeypatch.setattr(db_module, "WRITE_LOCK_WAIT_S", 1.0, raising=False)  # (the old code had no bound)
    clinic = SimulatedClinic(store)
    client, csrf = signed_in_client(store, clinic.service)
    clinic.call("open_run", patient["id"], "quiet-stance", None, ACTOR)
    clinic.step_until(lambda: clinic.state() == "instructions", "the instructions")
    card = _stop_on_a_slow_card(clinic, store, monkeypatch)
    try:
        began = time.monotonic()
        r = client.patch(f"/api/patients/{patient['id']}", json={"notes": "Uses a stick outdoors."},
                         headers={"X-CSRF-Token": csrf})
        took_s = time.monotonic() - began
        assert card.in_commit.is_set(), "the gate let the COMMIT go before the request was answered"
        assert r.status_code == 503 and r.headers["Retry-After"] == "5", (r.status_code, r.get_json())
        assert took_s < 2.0, f"the request took {took_s:.2f} s"
        assert re.fullmatch(r"the station's storage \(its SD card\) is slow to write just now \(an earlier write has "
                            r"been waiting on it for \d+ s\), so this was not saved; what was saved before is kept; try "
                            r"again in a moment", r.get_json()["error"]), r.get_json()
    finally:
        card.slow = False
        card.release.set()
    clinic.step_until(lambda: "trial_saved" in clinic.kinds(), "the trial being saved", max_s=5.0)
    assert store.patients.get(patient["id"]).get("notes") in (None, "")  # not saved, as said
    r = client.patch(f"/api/patients/{patient['id']}", json={"notes": "Uses a stick outdoors."},
                     headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.get_json()
    assert store.patients.get(patient["id"])["notes"] == "Uses a stick outdoors."
