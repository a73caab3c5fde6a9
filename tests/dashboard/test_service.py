"""The trial service on the simulated station: protocol runs for a patient, commands and their
refusals, storage, events, the panel's button, failures, and the service thread."""

from __future__ import annotations

import logging

import pytest
from gpiozero.pins.mock import MockFactory

from station.config import PanelConfig
from station.protocols.service import ServiceUnavailable, open_panel
from station.protocols.sinks import StoreSink
from station.store.db import Conflict, NotFound, ValidationError

from dashboard_support import ACTOR, SimulatedClinic


def test_a_run_records_each_trial_in_a_new_session_and_announces_it(clinic, store, patient):
    status = clinic.call("open_run", patient["id"], "romberg", None, ACTOR)
    run = status["run"]
    assert run["patient_identifier"] == "P-001" and run["protocol"] == "romberg" and run["state"] == "instructions"
    assert run["age_y"] is not None and [d["condition"] for d in run["due"]] == ["eo", "ec"]
    assert "feet together" in run["stance"] and run["instructions"].startswith("Stand")
    session = store.sessions.get(run["session_id"])
    assert session["patient_id"] == patient["id"] and session["label"].startswith("Romberg")
    assert clinic.kinds()[:4] == ["protocol_started", "trial_ready", "state", "run_opened"]

    first = clinic.run_trial()
    trial = store.trials.get(first["trial_id"])
    assert trial["status"] == "complete" and trial["valid"] and trial["condition"] == "eo"
    assert trial["frame_count"] >= 2990 and trial["metrics"]["trial"]["completed"]
    assert trial["calibration"]["n_per_count"] == list(clinic.station.calibration.n_per_count)
    assert trial["recorded_by"] == "ana"
    second = clinic.run_trial()
    assert second["condition"] == "ec" and second["session_id"] == run["session_id"]
    status = clinic.service.status()
    assert status["run"]["finished"] and status["run"]["trial_ids"] == [first["trial_id"], second["trial_id"]]
    summary = status["run"]["summary"]
    assert summary["romberg"]["romberg_quotient_velocity"] > 0
    # the event log tells a follower everything, in order, with growing sequence numbers
    seqs = [e.seq for e in clinic.events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert clinic.kinds().count("trial_finished") == 2 and "protocol_finished" in clinic.kinds()

    closed = clinic.call("close_run")
    assert closed["run"] is None and clinic.kinds()[-1] == "run_closed"
    assert clinic.events[-1].data["session_id"] == run["session_id"]


def test_the_open_test_says_when_it_was_opened_and_by_whom(clinic, store, patient):
    """The live page tells a clinician who asks for another patient whose test is open, opened by
    whom and when: the run's ``opened_at`` is its session's start."""
    run = clinic.call("open_run", patient["id"], "romberg", None, ACTOR)["run"]
    assert run["started_by"] == "ana"
    assert run["opened_at"] and run["opened_at"] == store.sessions.get(run["session_id"])["started_at"]
    assert clinic.service.status()["run"]["opened_at"] == run["opened_at"]


def test_commands_that_do_not_fit_the_state_are_refused(clinic, patient):
    for command in ("start_trial", "stop_trial", "repeat_trial", "skip_trial", "end_hold"):
        with pytest.raises(Conflict, match="no test is open"):
            clinic.call(command)
    clinic.call("open_run", patient["id"], "quiet-stance", None, ACTOR)
    with pytest.raises(Conflict, match="no trial is running"):
        clinic.call("stop_trial")
    with pytest.raises(Conflict, match="not a timed hold"):
        clinic.call("end_hold")
    with pytest.raises(Conflict, match="nothing to repeat"):
        clinic.call("repeat_trial")
    with pytest.raises(Conflict, match="is open for patient P-001"):
        clinic.call("open_run", patient["id"], "romberg", None, ACTOR)
    clinic.call("start_trial")
    with pytest.raises(Conflict, match="no trial is waiting to start"):
        clinic.call("start_trial")


def test_bad_choices_are_refused_and_store_nothing(clinic, store, patient):
    with pytest.raises(ValidationError, match="no protocol 'nonsense'"):
        clinic.call("open_run", patient["id"], "nonsense", None, ACTOR)
    with pytest.raises(ValidationError, match="no condition 'xx'"):
        clinic.call("open_run", patient["id"], "romberg", ["eo", "xx"], ACTOR)
    with pytest.raises(ValidationError, match="non-empty list"):
        clinic.call("open_run", patient["id"], "romberg", [], ACTOR)
    with pytest.raises(NotFound):
        clinic.call("open_run", 999, "romberg", None, ACTOR)
    store.patients.update(patient["id"], {"archived": True}, actor=ACTOR)
    with pytest.raises(Conflict, match="archived"):
        clinic.call("open_run", patient["id"], "romberg", None, ACTOR)
    assert store.patients.view(patient["id"], actor=ACTOR)["sessions"] == []
    assert clinic.service.status()["run"] is None


def test_chosen_conditions_only_and_no_romberg_quotient_without_both(clinic, patient):
    run = clinic.call("open_run", patient["id"], "romberg", ["ec"], ACTOR)["run"]
    assert [c["id"] for c in run["conditions"]] == ["ec"] and [d["condition"] for d in run["due"]] == ["ec"]
    clinic.run_trial()
    summary = clinic.service.status()["run"]["summary"]
    assert summary["romberg"] is None and [c["id"] for c in summary["conditions"]] == ["ec"]
    # the finished test can still repeat its last trial
    status = clinic.call("repeat_trial")
    assert not status["run"]["finished"] and status["run"]["state"] == "instructions"
    assert status["run"]["due"][0]["attempt"] == 2 and "request" in status["run"]["due"][0]["reason"]
    repeated = clinic.run_trial()
    assert repeated["attempt"] == 2 and clinic.service.status()["run"]["finished"]


def test_stepping_off_in_the_mctsib_is_flagged_and_a_repeat_is_run(store, patient):
    clinic = SimulatedClinic(store, scenario="mctsib-step-off", seed=3)
    clinic.call("open_run", patient["id"], "mctsib", ["firm_ec"], ACTOR)
    first = clinic.run_trial()
    assert first["valid"] and not first["completed"]
    held = store.trials.get(first["trial_id"])["metrics"]["trial"]
    assert held["hold_end"]["code"] == "stepped_off" and held["time_held_s"] == pytest.approx(3.0, abs=0.6)
    due = clinic.service.status()["run"]["due"]
    assert due[0]["attempt"] == 2 and "held" in due[0]["reason"]
    second = clinic.run_trial()  # the patient steps back on for the repeat and holds
    assert second["completed"] and second["attempt"] == 2


def test_stopping_a_recording_keeps_it_as_invalid_and_ending_the_run_stops_the_trial(clinic, store, patient):
    clinic.call("open_run", patient["id"], "quiet-stance", None, ACTOR)
    clinic.step_until(lambda: clinic.state() == "instructions", "instructions")
    clinic.call("start_trial")
    clinic.step_until(lambda: clinic.state() == "recording", "recording")
    for _ in range(40):
        clinic.service.step()
    clinic.call("stop_trial")
    stored = [e for e in clinic.events if e.kind == "trial_stored"][-1].data
    trial = store.trials.get(stored["trial_id"])
    assert not trial["valid"] and "Stopped by the operator" in trial["validity_reason"] and trial["frame_count"] > 100
    # the same trial is due again; start it and end the whole test while it records
    clinic.step_until(lambda: clinic.state() == "instructions", "instructions again")
    clinic.call("start_trial")
    clinic.step_until(lambda: clinic.state() == "recording", "recording again")
    clinic.call("close_run", "the patient felt unwell")
    closed = clinic.events[-1]
    assert closed.kind == "run_closed" and closed.data["reason"] == "the patient felt unwell"
    trials = store.sessions.get(closed.data["session_id"])["trials"]
    assert [t["status"] for t in trials] == ["complete", "complete"] and not any(t["valid"] for t in trials)


def test_the_panel_button_starts_and_stops_the_trial(store, patient):
    pins = MockFactory()
    clinic = SimulatedClinic(store, panel_pins=pins)
    service, panel = clinic.service, clinic.panel
    button = pins.pin(PanelConfig().button_pin)

    def press():
        for _ in range(10):  # the panel ignores presses closer than its debounce time
            service.step()
        button.drive_low()
        button.drive_high()

    press()  # no test open: nothing happens
    service.step()
    assert service.status()["run"] is None
    clinic.call("open_run", patient["id"], "quiet-stance", None, ACTOR)
    clinic.step_until(lambda: clinic.state() == "instructions", "instructions")
    press()
    clinic.step_until(lambda: clinic.state() in ("waiting", "countdown", "recording"), "the button's start")
    assert service.status()["panel"] == {"present": True, "reason": ""}
    clinic.step_until(lambda: clinic.state() == "recording", "recording")
    press()  # pressed while recording: stop
    clinic.step_until(lambda: "trial_stored" in clinic.kinds(), "the stopped trial")
    assert not [e for e in clinic.events if e.kind == "trial_stored"][-1].data["valid"]
    assert len(panel.presses) == 3  # the press without a test was heard too, and did nothing
    assert any(device == "buzzer" for _, device, _ in panel.log)  # it beeped with the trial
    service.shutdown()


def test_without_gpio_there_is_no_panel_and_the_status_says_why():
    from station.clock import MonotonicClock

    panel, reason = open_panel(PanelConfig(), MonotonicClock())
    if panel is not None:  # on a Raspberry Pi the default pin factory works
        panel.close()
        pytest.skip("this computer has GPIO")
    assert "no station panel" in reason


def test_a_failing_store_closes_the_run_and_keeps_the_partial_trial(clinic, store, patient, monkeypatch):
    clinic.call("open_run", patient["id"], "quiet-stance", None, ACTOR)
    clinic.step_until(lambda: clinic.state() == "instructions", "instructions")
    original = StoreSink.start_trial
    writers = []

    def failing_start(self, *args, **kwargs):
        output = original(self, *args, **kwargs)
        writers.append(output.writer)
        appended = {"n": 0}
        real_append = output.append

        def append(frames):
            appended["n"] += 1
            if appended["n"] > 5:
                raise OSError(28, "No space left on device")
            real_append(frames)

        output.append = append
        return output

    monkeypatch.setattr(StoreSink, "start_trial", failing_start)
    clinic.call("start_trial")
    clinic.step_until(lambda: "run_closed" in clinic.kinds(), "the run to close after the failure")
    fault = [e for e in clinic.events if e.kind == "fault"][-1]
    # no exception's name shown; the trial cut short is kept (aborted, with its frames), and said so
    assert fault.data["message"] == ("The test stopped because of an internal error; the 1 trial of this test "
                                     "recorded so far is kept. See the station log.")
    trial = store.trials.get(writers[0].trial_id)
    assert trial["status"] == "aborted" and trial["frame_count"] > 0
    assert clinic.service.status()["run"] is None
    clinic.call("open_run", patient["id"], "quiet-stance", None, ACTOR)  # the station goes on


def test_a_patient_whose_test_is_open_is_neither_erased_nor_archived_until_it_ends(clinic, store, patient):
    """Between trials nothing records, yet the next Start writes into the patient's visit."""
    status = clinic.call("open_run", patient["id"], "romberg", None, ACTOR)
    with pytest.raises(Conflict, match=r"the test “Romberg test \(feet together, eyes open then closed\)” is "
                       r"open for this patient on the station; end it on the live page \(End test\), then erase"):
        store.patients.erase(patient["id"], "P-001", actor=ACTOR)
    with pytest.raises(Conflict, match=r"is open for this patient.*End test.*archive"):
        store.patients.update(patient["id"], {"archived": True}, actor=ACTOR)
    first = clinic.run_trial()  # the test goes on as if nothing had been asked
    assert store.trials.get(first["trial_id"])["session_id"] == status["run"]["session_id"]
    with pytest.raises(Conflict, match="is open for this patient"):
        store.patients.erase(patient["id"], "P-001", actor=ACTOR)
    clinic.call("close_run")
    assert store.patients.erase(patient["id"], "P-001", actor=ACTOR)["trials"] == 1


def test_a_new_identifier_of_the_patient_whose_test_is_open_is_shown_by_the_run(clinic, store, patient):
    """The live page shows the run's identifier: a correction made while the test is open (between
    trials) must reach it, with an event that makes a following page read the status again."""
    clinic.call("open_run", patient["id"], "romberg", None, ACTOR)
    store.patients.update(patient["id"], {"identifier": "P-001b"}, actor=ACTOR)
    store.patients.update(patient["id"], {"notes": "left knee"}, actor=ACTOR)  # no new identifier: nothing told
    clinic.step_until(lambda: "patient_updated" in clinic.kinds(), "the run learning the new identifier", max_s=1.0)
    assert clinic.service.status()["run"]["patient_identifier"] == "P-001b"
    told = [e.data for e in clinic.events if e.kind == "patient_updated"]
    assert told == [{"patient_id": patient["id"], "patient_identifier": "P-001b"}]
    with pytest.raises(Conflict, match="is open for patient P-001b"):
        clinic.call("open_run", patient["id"], "romberg", None, ACTOR)
    clinic.call("close_run")
    store.patients.update(patient["id"], {"identifier": "P-001c"}, actor=ACTOR)  # no test open: nothing told
    clinic.service.step()
    assert clinic.kinds().count("patient_updated") == 1


def test_a_finished_test_holds_the_patient_no_more_and_a_repeat_after_an_erasure_is_refused(clinic, store, patient):
    """A test whose protocol finished records nothing more unless a trial is repeated, and opening
    another test closes it without asking: an administrator who erases the patient later (the
    clinician went on to the results and never pressed End test) is not refused for it. A repeat
    asked after that erasure is refused in words, and nothing is recorded."""
    clinic.call("open_run", patient["id"], "quiet-stance", None, ACTOR)
    with pytest.raises(Conflict, match="is open for this patient"):  # its one trial still to record
        store.patients.erase(patient["id"], "P-001", actor=ACTOR)
    clinic.run_trial()
    clinic.step_until(lambda: clinic.service.status()["run"]["finished"], "the protocol to finish")
    assert store.patients.erase(patient["id"], "P-001", actor=ACTOR)["trials"] == 1
    with pytest.raises(Conflict, match="record was erased after the test finished.*end the test"):
        clinic.call("repeat_trial")
    assert clinic.service.status()["run"]["finished"]  # nothing started
    clinic.call("close_run")


def test_a_test_that_cannot_open_holds_nothing(clinic, store, patient):
    store.patients.update(patient["id"], {"archived": True}, actor=ACTOR)
    with pytest.raises(Conflict, match="archived"):
        clinic.call("open_run", patient["id"], "romberg", None, ACTOR)
    assert store.patients.erase(patient["id"], "P-001", actor=ACTOR)["sessions"] == 0


def test_a_test_whose_patient_vanished_says_nothing_was_kept(clinic, store, patient):
    """Even if the record goes by a way the guard does not see, the words never name an exception
    and never claim trials the store does not have."""
    clinic.call("open_run", patient["id"], "romberg", None, ACTOR)
    clinic.run_trial()
    with store.db.write() as conn:  # not through Patients.erase (which refuses while the test is open)
        conn.execute("DELETE FROM patients WHERE id = ?", (patient["id"],))
    clinic.call("start_trial")
    clinic.step_until(lambda: "run_closed" in clinic.kinds(), "the run to close after the failure")
    message = [e for e in clinic.events if e.kind == "fault"][-1].data["message"]
    assert message == ("The test stopped because of an internal error, and its visit is no longer in the store "
                       "(the patient's record may have been erased): nothing of this test was kept. "
                       "See the station log.")
    assert clinic.service.status()["run"] is None


def test_a_full_disk_during_a_trial_is_one_log_line_and_said_to_the_clinician(clinic, store, patient, monkeypatch,
                                                                             caplog):
    clinic.call("open_run", patient["id"], "quiet-stance", None, ACTOR)
    clinic.step_until(lambda: clinic.state() == "instructions", "instructions")
    original = StoreSink.start_trial

    def filling_start(self, *args, **kwargs):
        output = original(self, *args, **kwargs)
        output.append = lambda frames: (_ for _ in ()).throw(output.writer._end_on_full_disk())
        return output

    monkeypatch.setattr(StoreSink, "start_trial", filling_start)
    clinic.call("start_trial")
    with caplog.at_level(logging.DEBUG, logger="station.protocols.service"):
        clinic.step_until(lambda: "run_closed" in clinic.kinds(), "the run to close after the full disk")
    (record,) = caplog.records
    assert record.levelno == logging.WARNING and record.exc_info is None
    text = record.getMessage()
    assert "\n" not in text and "disk is full" in text and "partial" in text and "P-001" not in text
    fault = [e for e in clinic.events if e.kind == "fault"][-1].data["message"]
    assert fault.startswith("The station's disk is full: trial #") and "free space" in fault


def test_the_service_thread_carries_out_commands_and_shuts_down(store, patient):
    clinic = SimulatedClinic(store)
    service = clinic.service
    with pytest.raises(ServiceUnavailable, match="not running"):
        service.open_run(patient["id"], "quiet-stance", None, ACTOR)
    service.start()
    try:
        status = service.open_run(patient["id"], "quiet-stance", None, ACTOR)
        assert status["run"]["protocol"] == "quiet-stance"
        with pytest.raises(Conflict):
            service.open_run(patient["id"], "quiet-stance", None, ACTOR)
        with pytest.raises(RuntimeError, match="already running"):
            service.start()
    finally:
        service.shutdown()
    assert not service.running and clinic.kinds()[-1] == "run_closed"
    assert clinic.events[-1].data["reason"] == "the station was shut down"
