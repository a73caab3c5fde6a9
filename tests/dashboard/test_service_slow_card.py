"""A trial the clinician stops while the station's SD card is slow to write (a COMMIT waiting seconds for
its fsync): the service's step that carries out Stop returns without waiting for the card (the store's
committer thread writes), the live page is told the trial is being saved because the storage is slow
(not that another program uses the database), then that it is saved, with every frame recorded.

The slow card is tests/failing_card.py's GatedCard on the store's writer connection: its COMMIT waits for
the test. On the old code the finish waited for the gate in the step and no trial_saving was published."""

from __future__ import annotations

from station.protocols.service import SLOW_SAVING_WORDS

from dashboard_support import ACTOR, SimulatedClinic
from failing_card import GATE_S, GatedCard


def test_a_trial_stopped_on_a_slow_card_is_said_saving_in_the_cards_words_then_saved(store, patient, monkeypatch):
    clinic = SimulatedClinic(store)
    clinic.call("open_run", patient["id"], "quiet-stance", None, ACTOR)
    clinic.step_until(lambda: clinic.state() == "instructions", "the instructions")
    clinic.call("start_trial")
    clinic.step_until(lambda: clinic.state() == "recording", "the recording")
    clinic.step_until(lambda: clinic.service._run.sink.open_output.output.writer.frames_committed >= 200, "2 s stored")
    writer = clinic.service._run.sink.open_output.output.writer
    card = GatedCard(store.db._writer)
    monkeypatch.setattr(store.db, "_writer", card)
    card.slow = True
    try:
        stopping = clinic.service.submit("stop_trial")
        clinic.service.step()  # carries out Stop; the trial's end is handed to the committer, the card holds it
        stopping.result(0)
        assert card.in_commit.wait(GATE_S) and writer.saving and writer.storing and not writer.finished
        assert [e.data["message"] for e in clinic.events if e.kind in ("trial_saving", "fault")] == [SLOW_SAVING_WORDS]
        assert "trial_stored" not in clinic.kinds()
    finally:
        card.slow = False
        card.release.set()
    clinic.step_until(lambda: "trial_saved" in clinic.kinds(), "the trial being saved", max_s=5.0)
    (stored,) = [e.data for e in clinic.events if e.kind == "trial_stored"]
    trial = store.trials.get(stored["trial_id"])
    assert trial["id"] == writer.trial_id and trial["status"] == "complete" and trial["valid"] is False  # stopped
    assert trial["frame_count"] == writer.frames_appended and trial["frames_lost"] == 0
    assert "fault" not in clinic.kinds()
