"""A station's trial whose stored frames are corrupt (an SD card's flipped bits: a chunk's index no
longer names its frames) no longer stops the station's sync for good. The old code failed every
sync on it (``StoreError`` reading its frames for the upload), so nothing recorded after it ever
reached the hub. Now its changes are kept here (``sync_skipped``, by ``station``), said in the
sync's lines, ``/healthz`` and ``sync --show-blocked``'s list with what to do, and the later
changes go on (:mod:`station.sync.corrupt_trials`)."""

from __future__ import annotations

from station.store import outbox_admin
from web import create_app

from sync_support import CHEAP, CLINICIAN, add_trial, hub_patient, hub_trials


def test_a_corrupt_trial_is_kept_here_and_the_queue_goes_on(hub_store, station_factory):
    gym = station_factory("gym")
    patient = gym.store.patients.create({"identifier": "P-A", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    trial_id = add_trial(gym.store, gym.store.sessions.create(patient["id"], {}, actor=CLINICIAN)["id"], 600)
    with gym.store.db.write() as conn:
        conn.execute("UPDATE trial_chunks SET first_seq = first_seq + 3 WHERE trial_id = ? AND chunk_no = 0",
                     (trial_id,))
    gym.store.trials.judge(trial_id, {"notes": "talked"}, actor=CLINICIAN)  # a later change of the same trial
    later = gym.store.patients.create({"identifier": "P-B", "birth_year": 1960, "sex": "M"}, actor=CLINICIAN)
    add_trial(gym.store, gym.store.sessions.create(later["id"], {}, actor=CLINICIAN)["id"], 300, 1)

    report = gym.sync_once()

    assert report.corrupt_trials == 2 and report.queue_length == 0  # the trial's record and its judgement
    assert report.sent["trial"] == 1 and len(hub_trials(hub_store, "P-B")) == 1  # the later trial went on
    assert hub_patient(hub_store, "P-A") and hub_trials(hub_store, "P-A") == []  # the patient, not the trial
    assert "2 trial change(s) not sent: the trial's stored frames are corrupt" in " ".join(report.lines())
    skipped = outbox_admin.skipped_changes(gym.store)  # what `sync --show-blocked` lists
    assert [(k.entity, k.local_id, k.skipped_by) for k in skipped] == [("trial", trial_id, "station")] * 2
    assert skipped[0].reason.startswith(f"trial #{trial_id} not sent to the hub: its stored frames are corrupt "
                                        "(chunk 0 starts at frame 3, its frames at 0)")
    assert "a backup of the data directory" in skipped[0].reason and "P-A" not in skipped[0].reason
    [entry, _] = gym.store.audit.query(action="sync.skip")
    assert entry["username"] == "system" and entry["detail"]["why"] == "frames_corrupt"
    health = create_app({"STORE": gym.store, "SYNC": gym, "SECRET_KEY": "t", "PASSWORD_COST": CHEAP}
                        ).test_client().get("/healthz").get_json()["sync"]
    assert health["trials_not_sent"]["count"] == 1 and health["last_error"] is None
    assert "1 trial(s) recorded here are not sent to the hub" in health["trials_not_sent"]["what_to_do"]
    assert gym.store.trials.get(trial_id)["notes"] == "talked"  # kept whole here but for its frames
    again = gym.sync_once()
    assert again.corrupt_trials == 0 and again.sent == {} and len(outbox_admin.skipped_changes(gym.store)) == 2
