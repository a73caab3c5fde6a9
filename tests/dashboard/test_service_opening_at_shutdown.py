"""A test still being opened when the station shuts down (its visit handed to the store's committer thread, a
slow SD card holding it: a33b7e2) leaves no stray visit.

The shutdown answered the open command 'the station is shutting down, so the test was not opened' and let the
patient go, but the visit's write stayed with the committer thread, which the store's close drains: the visit
was written after all, an empty visit of a test the clinician was told was not opened. Now the write is
withdrawn when the committer thread has not begun it (no visit); begun (its COMMIT with the card), it cannot
be, so it is finished: the test opens and the shutdown ends it at once, as a test open at shutdown.

The slow card is tests/failing_card.py's GatedCard (its COMMIT waits for the test)."""

from __future__ import annotations

import threading

import pytest

from station.protocols.machine import SHUTDOWN_WORDS
from station.protocols.service import ServiceUnavailable

from dashboard_support import ACTOR, SimulatedClinic
from failing_card import GATE_S, GatedCard
from test_service_slow_card_writes import _stop_on_a_slow_card, _visits


def _opening_behind_a_trial_end(store, patient, monkeypatch):
    """A quiet stance's trial stopped on a slow card (its end's COMMIT held by the card), its test closed, and a
    Romberg test being opened: its visit handed to the committer thread, behind that trial's end. (clinic, card,
    the open command's future)"""
    clinic = SimulatedClinic(store)
    clinic.call("open_run", patient["id"], "quiet-stance", None, ACTOR)
    clinic.step_until(lambda: clinic.state() == "instructions", "the instructions")
    card = _stop_on_a_slow_card(clinic, store, monkeypatch)
    closing = clinic.service.submit("close_run")
    clinic.service.step()
    closing.result(0)
    opening = clinic.service.submit("open_run", patient["id"], "romberg", None, ACTOR)
    clinic.service.step()  # the visit handed to the committer, behind the trial's end the card holds
    return clinic, card, opening


def test_a_visit_not_yet_written_at_shutdown_is_not_written(store, patient, monkeypatch):
    """The card holds the last trial's end; the next test's visit waits behind it in the committer thread as
    the station shuts down: no visit is made for it, and the command says the test was not opened."""
    clinic, card, opening = _opening_behind_a_trial_end(store, patient, monkeypatch)
    try:
        assert card.in_commit.is_set() and not opening.done()
        clinic.service.shutdown()
        with pytest.raises(ServiceUnavailable, match="shutting down, so the test was not opened"):
            opening.result(0)
    finally:
        card.slow = False
        card.release.set()
    assert store.trials.drain(GATE_S)  # what the store's close does: the committer runs what it was handed
    assert len(_visits(store, patient)) == 1  # the quiet stance's alone (old code: 2, the romberg's empty)
    assert store.patients.open_tests.title(patient["id"]) is None  # the patient let go
    assert "run_opened" not in clinic.kinds()[clinic.kinds().index("run_closed"):]


def test_a_visit_the_card_is_writing_at_shutdown_is_finished_as_a_test_ended_by_the_shutdown(store, patient,
                                                                                            monkeypatch):
    """The visit's own COMMIT is with the card as the station shuts down: it cannot be withdrawn, so the shutdown
    waits for it, and the test opens and is ended by the shutdown, its visit that test's (the pages told so),
    not a visit of a test said not opened."""
    clinic = SimulatedClinic(store)
    card = GatedCard(store.db._writer)
    monkeypatch.setattr(store.db, "_writer", card)
    card.slow = True
    try:
        opening = clinic.service.submit("open_run", patient["id"], "quiet-stance", None, ACTOR)
        clinic.service.step()
        assert card.in_commit.wait(GATE_S) and not opening.done()  # the visit's COMMIT at the gate
        threading.Timer(0.5, card.release.set).start()  # the card writes it half a second into the shutdown
        card.slow = False
        clinic.service.shutdown()
    finally:
        card.release.set()
    assert opening.done() and opening.result(0)["run"]["protocol"] == "quiet-stance"  # (old code: not opened)
    kinds = clinic.kinds()
    assert kinds.index("run_opened") < kinds.index("run_closed"), kinds
    closed = [e for e in clinic.events if e.kind == "run_closed"][-1]
    assert closed.data["reason"] == SHUTDOWN_WORDS
    (visit,) = _visits(store, patient)
    assert closed.data["session_id"] == visit["id"]
    assert store.patients.open_tests.title(patient["id"]) is None


def test_pages_told_a_test_was_being_opened_are_told_it_was_not(store, patient, monkeypatch):
    """The pages were told the test was being opened (``run_opening``: they grey Open test and say 'opening the
    test'); its visit withdrawn at shutdown, they are told it was not opened (``fault``), as when the visit's write
    fails, not left saying it is being opened."""
    import station.protocols.service as service

    monkeypatch.setattr(service, "OPENING_SAID_AFTER_S", 0.0)
    clinic, card, opening = _opening_behind_a_trial_end(store, patient, monkeypatch)
    try:
        clinic.service.step()  # the pages told it is being opened
        assert clinic.kinds()[-1] == "run_opening", clinic.kinds()
        clinic.service.shutdown()
        with pytest.raises(ServiceUnavailable):
            opening.result(0)
    finally:
        card.slow = False
        card.release.set()
    told = [e for e in clinic.events if e.kind in ("run_opening", "run_opened", "fault")]
    assert [e.kind for e in told][-2:] == ["run_opening", "fault"], told  # (old code: run_opening last)
    assert told[-1].data["message"] == ("The station is shutting down, so the test was not opened; open it again "
                                        "once the station is back.")
    assert store.trials.drain(GATE_S)
