"""An invalid walk trial on the dashboard's server side: its acceleration still shows the steps the
station's check found (a patient who stopped on the way: where they stopped), although the trial
has no walk measures."""

from __future__ import annotations

from test_walk_steps import STEP_S, app, metrics_doc, signed_in, stored_walk, walking_frames  # noqa: F401 (fixture)


def test_an_invalid_walk_trial_shows_the_steps_found_up_to_where_the_patient_stopped(app, store, patient):
    contacts = [round(1.0 + k * STEP_S, 3) for k in range(5)]
    outcome = {"valid": False, "issues": [{"code": "person_stopped", "message": "The patient stopped walking 3.2 s after "
                                          "the go and did not reach the gate at 3 m.", "at_s": 3.2}],
               "walk": {"setting": "overground", "walk_time_s": None, "initial_contacts_s": contacts}}
    trial = stored_walk(store, patient, walking_frames(12.0),
                        metrics_doc(note="Invalid trial: no walk measures.", trial=outcome))
    doc = signed_in(app).get(f"/api/trials/{trial['id']}/steps").get_json()
    assert doc["initial_contacts_s"] == contacts and doc["steps_total"] == 5 and doc["note"] == ""
    assert len(doc["time_s"]) == 1200  # the whole recording, where the steps stop


def test_a_stance_trial_holds_no_steps(app, store, patient):
    trial = stored_walk(store, patient, walking_frames(3.0), metrics_doc(trial={"valid": True, "walk": None}))
    doc = signed_in(app).get(f"/api/trials/{trial['id']}/steps").get_json()
    assert doc["steps_total"] is None and "no steps" in doc["note"]
