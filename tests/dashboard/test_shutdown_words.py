"""A trial the station's shutdown ended (Ctrl-C, ``systemctl stop``, a restart by an update) says so,
not "stopped by the operator": stored, in the patient's history and in the trial's export. A trial a
crash left ``recording`` says it was interrupted, not stopped by anyone."""

from __future__ import annotations

import json

from station.store.export import patient_history_csv, trial_sidecar_json
from tests.store.clinic_data import make_frames

from dashboard_support import ACTOR


def _recording(clinic, protocol="quiet-stance"):
    clinic.step_until(lambda: clinic.state() == "instructions", "instructions")
    clinic.call("start_trial")
    clinic.step_until(lambda: clinic.state() == "recording", "recording")
    for _ in range(40):
        clinic.service.step()


def test_a_trial_the_shutdown_ended_says_the_station_was_shut_down(clinic, store, patient):
    run = clinic.call("open_run", patient["id"], "quiet-stance", None, ACTOR)["run"]
    _recording(clinic)
    clinic.service.shutdown()  # what run does on SIGTERM or Ctrl-C
    (trial,) = store.sessions.get(run["session_id"])["trials"]
    trial = store.trials.get(trial["id"])
    reason = trial["validity_reason"]
    assert not trial["valid"] and trial["frame_count"] > 100
    assert reason.startswith("Ended after ") and reason.endswith(" s: the station was shut down."), reason
    assert "operator" not in reason
    assert [i["code"] for i in trial["metrics"]["trial"]["issues"]] == ["station_shutdown"]
    assert clinic.events[-1].kind == "run_closed" and clinic.events[-1].data["reason"] == "the station was shut down"
    # the same words in the history and the export
    history = patient_history_csv(store, patient["id"], actor=ACTOR)
    assert reason in history and "operator" not in history
    sidecar = json.loads(trial_sidecar_json(store, trial["id"], actor=ACTOR))
    assert sidecar["validity_reason"] == reason


def test_a_trial_the_clinician_stopped_still_says_so(clinic, store, patient):
    clinic.call("open_run", patient["id"], "quiet-stance", None, ACTOR)
    _recording(clinic)
    clinic.call("close_run", "the patient felt unwell")
    stored = [e for e in clinic.events if e.kind == "trial_stored"][-1].data
    assert store.trials.get(stored["trial_id"])["validity_reason"].startswith("Stopped by the operator after ")


def test_a_trial_a_crash_left_recording_is_not_said_to_be_stopped_by_the_operator(store, patient):
    session = store.sessions.create(patient["id"], {}, actor=ACTOR)
    writer = store.trials.start_trial(session["id"], "quiet-stance", "eo", {"method": "nominal"}, 100.0, actor=ACTOR)
    writer.append(make_frames(300))
    writer.flush()
    store.trials._release(writer.trial_id)  # the process died here (no clean shutdown)
    assert store.recover_partial_trials() == [writer.trial_id]  # at the next start
    trial = store.trials.get(writer.trial_id)
    assert trial["status"] == "partial" and "interrupted" in trial["validity_reason"]
    assert "operator" not in trial["validity_reason"].lower()
    assert "operator" not in patient_history_csv(store, patient["id"], actor=ACTOR).lower()


def test_the_running_services_shutdown_says_so_too(clinic, store, patient):
    """As ``run`` stops on SIGTERM: the service's own thread carries out the close."""
    run = clinic.call("open_run", patient["id"], "quiet-stance", None, ACTOR)["run"]
    _recording(clinic)
    clinic.service.start()
    clinic.service.shutdown()
    assert not clinic.service.running
    (trial,) = store.sessions.get(run["session_id"])["trials"]
    assert store.trials.get(trial["id"])["validity_reason"].endswith(" s: the station was shut down.")
