"""Trial recording: group commits, finish/abort, validation, recovery of interrupted trials."""

from __future__ import annotations

import json

import numpy as np
import pytest

from station.acquire.frame import FRAME_DTYPE, FrameFlag
from station.store.db import Conflict, NotFound, StoreError, ValidationError
from station.store.store import Store
from station.store.trials import SUMMARY_METRICS

from clinic_data import CHEAP_COST, assert_same_frames, make_frames, metrics_doc

CAL = {"method": "nominal", "n_per_count": [0.01, 0.01, 0.01, 0.01]}


def committed_frames(store, trial_id):
    with store.db.read() as conn:
        return conn.execute("SELECT frame_count FROM trials WHERE id = ?", (trial_id,)).fetchone()[0]


def test_frames_are_committed_at_most_half_a_second_apart(store, session, mono):
    writer = store.trials.start_trial(session["id"], "romberg", "eyes_open", CAL, 100.0)
    seq = 0
    for _ in range(40):  # 4 s of 0.1 s batches
        mono.advance_ns(100_000_000)
        writer.append(make_frames(10, seq))  # hands a commit to the committer thread every 0.5 s, not waiting
        writer.wait_commit()  # the committer has done it (on a station, well before the next append 0.1 s later)
        seq += 10
        # never more than 0.5 s (50 frames) appended but not yet durable
        assert writer.frames_appended - committed_frames(store, writer.trial_id) < 50
    assert writer.commits == 8
    assert committed_frames(store, writer.trial_id) == writer.frames_committed == 400


def test_finish_stores_frames_metrics_and_validity_in_one_go(store, session, mono, clinician):
    writer = store.trials.start_trial(session["id"], "romberg", "eyes_closed", CAL, 100.0, actor=clinician)
    frames = make_frames(250)
    writer.append(frames[:120])
    writer.append(frames[120:])
    trial = writer.finish(metrics_doc(), True)
    assert trial["status"] == "complete"
    assert trial["frame_count"] == 250 and trial["duration_s"] == 2.5
    assert trial["metrics"] == metrics_doc()
    assert trial["valid"] is True and trial["validity_reason"] is None
    assert trial["calibration"] == CAL
    assert trial["recorded_by"] == "ana"
    stored = store.trials.frames(writer.trial_id)
    assert stored.dtype == FRAME_DTYPE
    assert_same_frames(stored, frames)
    actions = [e["action"] for e in store.audit.query(patient_id=session["patient_id"])]
    assert actions[:2] == ["trial.finish", "trial.record"]


def test_metrics_accept_numpy_values_and_none_but_not_nan(store, session):
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    writer.append(make_frames(10))
    with pytest.raises(ValidationError, match="NaN"):
        writer.finish(metrics_doc(path_length_cm=float("nan")), True)
    with pytest.raises(ValidationError, match="compute_metrics"):
        writer.finish({"metrics": {}}, True)
    trial = writer.finish(metrics_doc(path_length_cm=np.float64(3.5), samples=np.int64(10)), True)
    assert trial["metrics"]["metrics"]["path_length_cm"] == 3.5
    assert trial["frame_count"] == 10  # the refused finishes lost nothing


def test_invalid_trial_needs_a_reason(store, session):
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    with pytest.raises(ValidationError) as info:
        writer.finish(metrics_doc(), False)
    assert "reason" in info.value.fields
    trial = writer.finish(metrics_doc(), False, "stepped off the plate at 12 s")
    assert trial["valid"] is False and trial["validity_reason"] == "stepped off the plate at 12 s"


def test_abort_keeps_frames_and_marks_invalid(store, session):
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    writer.append(make_frames(30))
    trial = writer.abort("clinician cancelled")
    assert trial["status"] == "aborted" and trial["status_reason"] == "clinician cancelled"
    assert trial["valid"] is False and trial["frame_count"] == 30
    with pytest.raises(StoreError, match="already finished"):
        writer.append(make_frames(5, 30))
    with pytest.raises(StoreError, match="already finished"):
        writer.finish(None, True)


def test_exception_inside_writer_block_aborts(store, session):
    with pytest.raises(KeyError):
        with store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0) as writer:
            writer.append(make_frames(20))
            raise KeyError("protocol engine bug")
    trial = store.trials.get(writer.trial_id)
    assert trial["status"] == "aborted" and "KeyError" in trial["status_reason"]
    assert trial["frame_count"] == 20


def test_lost_frames_are_counted_across_appends(store, session):
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    a = make_frames(10, 0)
    b = make_frames(10, 13)  # 3 lost between appends
    c = np.concatenate([make_frames(5, 23), make_frames(5, 30)])  # 2 lost inside
    for part in (a, b, c):
        writer.append(part)
    assert writer.finish(None, True)["frames_lost"] == 5


@pytest.mark.parametrize(
    "bad, error",
    [
        (np.zeros(5), TypeError),
        ([1, 2, 3], TypeError),
        (make_frames(6).reshape(2, 3), ValueError),
        (make_frames(5)[::-1].copy(), ValueError),
    ],
)
def test_bad_frames_are_refused_without_losing_earlier_ones(store, session, bad, error):
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    writer.append(make_frames(10, 100))
    with pytest.raises(error):
        writer.append(bad)
    writer.flush()
    assert committed_frames(store, writer.trial_id) == 10


def test_seq_must_follow_previous_append(store, session):
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    writer.append(make_frames(10, 0))
    with pytest.raises(ValueError, match="does not follow"):
        writer.append(make_frames(10, 5))


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"protocol": ""}, "protocol"),
        ({"protocol": "x" * 65}, "protocol"),
        ({"condition": None}, "condition"),
        ({"calibration": "nominal"}, "calibration"),
        ({"calibration": {"gain": float("inf")}}, "calibration"),
        ({"rate_hz": 0}, "rate_hz"),
        ({"rate_hz": True}, "rate_hz"),
        ({"rate_hz": float("nan")}, "rate_hz"),
    ],
)
def test_start_trial_validates(store, session, kwargs, field):
    args = {"protocol": "romberg", "condition": "eo", "calibration": CAL, "rate_hz": 100.0, **kwargs}
    with pytest.raises(ValidationError) as info:
        store.trials.start_trial(session["id"], **args)
    assert field in info.value.fields
    with store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM trials").fetchone()[0] == 0


def test_start_trial_needs_an_existing_session_of_an_active_patient(store, session, patient, clinician):
    with pytest.raises(NotFound):
        store.trials.start_trial(9999, "romberg", "eo", CAL, 100.0)
    store.patients.update(patient["id"], {"archived": True}, actor=clinician)
    with pytest.raises(Conflict, match="archived"):
        store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)


def test_recovery_marks_interrupted_trial_partial_with_its_frames(tmp_path, wall, mono, clinician):
    data = tmp_path / "data"
    # each store closed however the test ends (its connections, service lock and committer thread not left to the
    # worker's later tests); the first at its block's end: the process "dies" without finishing the trial
    with Store.open_service(data, wall_clock=wall, clock=mono, password_cost=CHEAP_COST) as first:
        patient = first.patients.create({"identifier": "P9", "birth_year": 1950, "sex": "M"}, actor=clinician)
        session = first.sessions.create(patient["id"], {}, actor=clinician)
        writer = first.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
        writer.append(make_frames(150))
        writer.flush()
        writer.append(make_frames(30, 150))  # buffered, never committed: lost in the "crash"
        assert first.recover_partial_trials() == []  # its own active writer is not touched

    with Store.open_service(data, wall_clock=wall, clock=mono, password_cost=CHEAP_COST) as second:
        trial = second.trials.get(writer.trial_id)
        assert trial["status"] == "partial"
        assert trial["frame_count"] == 150 and len(second.trials.frames(writer.trial_id)) == 150
        assert trial["valid"] is False and "interrupted" in trial["validity_reason"]
        assert "150 frames (1.5 s) kept" in trial["status_reason"]
        assert trial["metrics"] is None
        audit = second.audit.query(action="trial.recover")
        assert [(e["username"], e["patient_id"]) for e in audit] == [("system", patient["id"])]
        assert second.recover_partial_trials() == []  # once only


def test_finish_after_another_process_recovered_the_trial_is_refused(tmp_path, wall, mono):
    from station.store.audit import Actor

    data = tmp_path / "data"
    # both stores closed however the test ends: their connections and the committer thread are not
    # left to the worker's later tests
    with Store.open(data, wall_clock=wall, clock=mono, password_cost=CHEAP_COST) as s:
        p = s.patients.create({"identifier": "P1", "birth_year": 1950, "sex": "M"}, actor=Actor.system())
        ses = s.sessions.create(p["id"], {}, actor=Actor.system())
        writer = s.trials.start_trial(ses["id"], "romberg", "eo", CAL, 100.0)
        writer.append(make_frames(10))
        with Store.open(data, wall_clock=wall, clock=mono) as other:
            assert other.recover_partial_trials() == [writer.trial_id]
            with pytest.raises(Conflict, match="no longer recording"):
                writer.finish(metrics_doc(), True)
            assert other.trials.get(writer.trial_id)["status"] == "partial"


def test_set_validity_by_clinician(store, session, clinician):
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    with pytest.raises(Conflict, match="still recording"):
        store.trials.set_validity(writer.trial_id, False, "talked", actor=clinician)
    writer.finish(metrics_doc(), True)
    trial = store.trials.set_validity(writer.trial_id, False, "patient talked during the trial", actor=clinician)
    assert trial["valid"] is False and trial["validity_reason"] == "patient talked during the trial"
    entry = store.audit.query(action="trial.update")[0]
    assert entry["username"] == "ana" and entry["object"] == f"trial:{writer.trial_id}"


def test_import_trial_is_complete_and_summarised(store, session):
    frames = make_frames(12_500)  # several chunks
    frames["flags"][5] = FrameFlag.LATE
    trial_id = store.trials.import_trial(session["id"], "romberg", "eo", CAL, 100.0, frames, metrics_doc(), True, None)
    assert_same_frames(store.trials.frames(trial_id), frames)
    detail = store.sessions.get(session["id"])
    (summary,) = detail["trials"]
    assert summary["status"] == "complete" and summary["duration_s"] == 125.0
    assert set(summary["metrics"]) == set(SUMMARY_METRICS)
    assert summary["metrics"]["ellipse_area_cm2"] == 2.5
    with store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM trial_chunks WHERE trial_id = ?", (trial_id,)).fetchone()[0] == 3


def test_unknown_trial(store):
    with pytest.raises(NotFound):
        store.trials.get(12345)
    with pytest.raises(NotFound):
        store.trials.frames(12345)


def test_stored_metrics_are_json_text(store, session):
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    writer.finish(metrics_doc(), True)
    with store.db.read() as conn:
        text = conn.execute("SELECT metrics FROM trials WHERE id = ?", (writer.trial_id,)).fetchone()[0]
    assert json.loads(text) == metrics_doc()
