"""A test still being opened when its open command's wait runs out (its visit's COMMIT with a slow or hung SD
card for over COMMAND_TIMEOUT_S + COMMAND_FINISH_S, 40 s) is answered in the opening's words, not 'the station is
still carrying out the command; check the trial's state before trying again': the page that pressed Open test
shows the answer under the pages' 'Opening the test: ... Please wait' words, which it must not contradict; the
test then opens by itself once the card has written the visit.

The slow card is tests/failing_card.py's GatedCard (its COMMIT waits for the test)."""

from __future__ import annotations

import time

import pytest

import station.protocols.service as service
from station.protocols.service import ServiceUnavailable

from dashboard_support import ACTOR, SimulatedClinic
from failing_card import GATE_S, GatedCard


def test_an_open_command_that_outwaits_its_bound_says_the_test_is_still_being_opened(store, patient, monkeypatch):
    monkeypatch.setattr(service, "COMMAND_TIMEOUT_S", 0.3)
    monkeypatch.setattr(service, "COMMAND_FINISH_S", 0.3)
    clinic = SimulatedClinic(store)
    card = GatedCard(store.db._writer)
    monkeypatch.setattr(store.db, "_writer", card)
    card.slow = True
    clinic.service.start()
    try:
        with pytest.raises(ServiceUnavailable) as refused:
            clinic.service.open_run(patient["id"], "romberg", None, ACTOR)  # (the command's wait is 0.6 s here)
        words = str(refused.value)
        assert "check the trial's state" not in words, words  # old code: 'the station is still carrying out ...'
        assert words.startswith("the test “Romberg test (feet together, eyes open then closed)” is still being opened: "
                                "the station's storage (its SD card) has not written its new visit in 1 s. It opens by "
                                "itself as soon as the card has;"), words
        assert words == service.still_opening_words(0.6, "Romberg test (feet together, eyes open then closed)")
        assert card.in_commit.is_set()  # the visit's COMMIT still with the card
        card.slow = False
        card.release.set()  # the card writes it: the test opens by itself
        deadline = time.monotonic() + GATE_S
        while clinic.service.status()["run"] is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert clinic.service.status()["run"]["protocol"] == "romberg"
        assert "run_opened" in clinic.kinds()
    finally:
        card.release.set()
        clinic.service.shutdown()
