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


def _corrupt(store, trial_id: int, shift: int = 3) -> None:
    """Move the index of the trial's first chunk by ``shift`` frames (an SD card's flipped bits); the
    opposite shift puts it back, as a backup from before the damage has it."""
    with store.db.write() as conn:
        conn.execute("UPDATE trial_chunks SET first_seq = first_seq + ? WHERE trial_id = ? AND chunk_no = 0",
                     (shift, trial_id))


def test_a_corrupt_trial_put_back_from_a_backup_is_sent_again_and_one_given_up_is_marked_dealt_with(
        hub_store, station_factory, capsys, monkeypatch):
    """`sync --resend ID --from BACKUP` puts a kept trial's frames back from a backup made before
    the damage and sends it (refused, nothing changed, while they do not read whole, or when the
    backup's copy is corrupt too); `sync --resolve` leaves another unsent and marks its changes
    dealt with. Either way /healthz stops counting them, and `sync --show-blocked` says when, by
    whom and how. Before, a trial was never sent again and the health counted it for ever."""
    from station.cli import main
    from station.store.backup import create_backup

    monkeypatch.setenv("BALANCE_STATION_CONFIG", "")
    gym = station_factory("gym")
    data_dir = ["--data-dir", str(gym.store.data_dir)]
    patient = gym.store.patients.create({"identifier": "P-A", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    session_id = gym.store.sessions.create(patient["id"], {}, actor=CLINICIAN)["id"]
    too_early = create_backup(gym.store.data_dir, 1_767_225_599.0).path  # before the trials
    put_back, given_up = add_trial(gym.store, session_id, 1000), add_trial(gym.store, session_id, 300, 1)
    good = create_backup(gym.store.data_dir, 1_767_225_600.0).path
    _corrupt(gym.store, put_back)
    _corrupt(gym.store, given_up)
    damaged = create_backup(gym.store.data_dir, 1_767_225_601.0).path  # made after the damage
    gym.store.trials.judge(put_back, {"notes": "talked"}, actor=CLINICIAN)
    gym.store.trials.judge(given_up, {"notes": "stumbled"}, actor=CLINICIAN)
    assert gym.sync_once().corrupt_trials == 4

    def health():
        return create_app({"STORE": gym.store, "SYNC": gym, "SECRET_KEY": "t", "PASSWORD_COST": CHEAP}
                          ).test_client().get("/healthz").get_json()["sync"]["trials_not_sent"]

    assert health()["count"] == 2 and "--from BACKUP` puts them back and sends the trial" in health()["what_to_do"]
    kept = {(k.local_id, k.seq): k for k in outbox_admin.skipped_changes(gym.store)}
    [first_of_put_back, judged_put_back] = sorted(k for k in kept if k[0] == put_back)
    change_id = kept[first_of_put_back].change_id
    assert f"`balance-station sync --resend {change_id} --from BACKUP` puts them back" in kept[first_of_put_back].reason

    assert main(["sync", "--resend", change_id, *data_dir]) == 1  # still corrupt
    err = capsys.readouterr().err
    assert f"trial #{put_back}: stored frames are corrupt (chunk 0 starts at frame 3, its frames at 0; nothing " \
           "changed: put its frames back from a backup" in err and "with `--from BACKUP`" in err
    assert main(["sync", "--resend", change_id, "--from", str(damaged), *data_dir]) == 1
    assert f"the frames of trial #{put_back} in {damaged.name} are corrupt too" in capsys.readouterr().err
    assert main(["sync", "--resend", change_id, "--from", str(too_early), *data_dir]) == 1
    assert f"{too_early.name} holds no frames of trial #{put_back}" in capsys.readouterr().err
    assert main(["sync", "--resolve", change_id, "--from", str(good), *data_dir]) == 1
    assert "--from BACKUP goes with --resend CHANGE_ID" in capsys.readouterr().err
    assert gym.store.outbox.length() == 0 and health()["count"] == 2  # nothing changed
    assert not [e for e in gym.store.audit.query(action="sync.skip") if e["detail"].get("dealt_with")]

    assert main(["sync", "--resend", kept[judged_put_back].change_id, "--from", str(good), *data_dir]) == 0
    out = capsys.readouterr().out
    assert (f"trial #{put_back}: 1000 frames put back from {good.name}, its stored frames read whole again; queued "
            "to be sent at the next sync") in out
    assert "/healthz still counts: 1 trial(s) recorded here are not sent" in out
    assert health()["count"] == 1 and gym.store.outbox.length() == 1
    report = gym.sync_once()
    assert report.sent["trial"] == 1 and report.corrupt_trials == 0 and report.frame_parts == 2
    [on_hub] = hub_trials(hub_store, "P-A")
    assert on_hub["notes"] == "talked"  # read whole when pushed: with its latest judgement
    assert int(hub_store.trials.frames(on_hub["id"])["seq"][0]) == 0

    assert main(["sync", "--resend", kept[judged_put_back].change_id, *data_dir]) == 1  # once
    assert "was marked dealt with already" in capsys.readouterr().err
    given_up_change = kept[min(k for k in kept if k[0] == given_up)].change_id
    assert main(["sync", "--resolve", given_up_change, *data_dir]) == 0
    assert "/healthz counts no other change kept unsent" in capsys.readouterr().out
    assert health() is None  # green
    assert main(["sync", "--show-blocked", *data_dir]) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if "dealt with" in line]
    assert len(listed) == 4  # every kept change of both trials, each record kept
    assert sum("(sent again)" in line for line in listed) == 2 and sum("(resolved)" in line for line in listed) == 2
    assert all(" by cli:" in line for line in listed)
    assert len(hub_trials(hub_store, "P-A")) == 1  # the one given up stays here
