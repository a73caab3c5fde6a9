"""A trial's start slot (``trials.start_seq``, the time zero of its frames) travels to the hub with it,
so the hub's copy reads back with the times its station gives; a station pulling the trial gets it too."""

from __future__ import annotations

from sync_support import CALIBRATION, CLINICIAN, frames, hub_trials


def test_the_hubs_copy_of_a_trial_keeps_its_start_slot(hub_store, station_factory):
    gym = station_factory("gym")
    patient = gym.store.patients.create({"identifier": "P-SLOT", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    session = gym.store.sessions.create(patient["id"], {"label": "baseline"}, actor=CLINICIAN)
    writer = gym.store.trials.start_trial(session["id"], "romberg", "eyes_open", CALIBRATION, 100.0, actor=CLINICIAN,
                                          start_seq=598)  # its first two slots lost
    data = frames(1000)
    data["seq"] += 600
    writer.append(data)
    writer.finish({"fs_hz": 100.0, "samples": 1000, "profile": "station", "version": "t",
                   "metrics": {"ellipse_area_cm2": 2.0}}, valid=True, frames_lost=2)
    gym.sync_once()
    [trial] = hub_trials(hub_store, "P-SLOT")
    on_hub = hub_store.trials.get(trial["id"])
    assert (on_hub["start_seq"], on_hub["frames_lost"], on_hub["frame_count"]) == (598, 2, 1000)
