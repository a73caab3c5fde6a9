"""A trial writer on a storage that fails to write: an SD card answering a commit's fsync with EIO, which
SQLite reports as ``sqlite3.OperationalError: disk I/O error``. The trial ends as partial with what was
committed, in words (db.StorageFailed); the space monitor says ``failed`` until a write to the card goes
through again; the partial mark is written once it does.

The failing card is simulated in the station's own terms (tests/failing_card.py). On the station's SQLite
only.
"""

from __future__ import annotations

import pytest

from station.store.db import StorageFailed
from station.store.store import Store
from station.store.trials import STORAGE_FAILED_REASON

from clinic_data import CHEAP_COST, metrics_doc, record
from failing_card import failing_card

CAL = {"method": "nominal", "n_per_count": [0.01, 0.01, 0.01, 0.01]}


@pytest.fixture
def store(tmp_path, station_data_dir, wall, mono):
    station_data_dir(tmp_path / "data")
    s = Store.open_service(tmp_path / "data", wall_clock=wall, clock=mono, password_cost=CHEAP_COST)
    yield s
    s.close()


@pytest.fixture
def card(store, monkeypatch):
    return failing_card(store, monkeypatch)


def test_a_write_failing_with_eio_is_said_in_words_and_the_connection_goes_on(store, session, card, clinician):
    seen = []
    store.db.on_storage_failed.append(lambda: seen.append("failed"))
    card.failing = True
    with pytest.raises(StorageFailed, match=r"^the station's storage failed to write \(a disk I/O error: its SD card "
                                            r"may be failing\), so this was not stored; check the SD card or replace "
                                            r"it$"):
        store.sessions.create(session["patient_id"], {"label": "second"}, actor=clinician)
    assert seen == ["failed"] and not card.conn.in_transaction
    card.failing = False
    assert store.sessions.create(session["patient_id"], {"label": "second"}, actor=clinician)["label"] == "second"


def test_a_recording_on_a_failing_card_ends_as_partial_with_what_was_committed(store, session, mono, card):
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    seq = record(writer, mono, 1.0, 0)
    assert writer.frames_committed == 100
    card.failing = True
    with pytest.raises(StorageFailed) as ended:
        record(writer, mono, 1.0, seq)
    assert str(ended.value) == (
        "the station's storage failed to write (a disk I/O error: its SD card may be failing), so the recording "
        f"stopped: trial #{writer.trial_id} could not be closed yet; it keeps the 1.0 s recorded and is marked partial "
        "as soon as the station can write again; check the SD card or replace it before recording again")
    assert writer.finished and store.trials.get(writer.trial_id)["status"] == "recording"
    state = store.space.status(fresh=True)
    assert state["state"] == "failed" and state["message"].startswith(
        "the station's storage failed to write (Input/output error): trials cannot be recorded; check the SD card")
    tries = card.failed_commits  # the commit of the frames, then the partial mark's at once
    assert store.trials.close_unclosed(50, paced=True) == [] and card.failed_commits == tries  # paced: not yet
    mono.advance_ns(500_000_000)
    assert store.trials.close_unclosed(50, paced=True) == [] and card.failed_commits == tries + 1
    card.failing = False
    assert store.space.status(fresh=True)["state"] == "ok"
    mono.advance_ns(500_000_000)
    assert store.trials.close_unclosed(50, paced=True) == [writer.trial_id]
    trial = store.trials.get(writer.trial_id)
    assert trial["status"] == "partial" and trial["frame_count"] == 100 and trial["valid"] is False
    assert trial["status_reason"] == (f"{STORAGE_FAILED_REASON}: the station's storage failed to write, so recording "
                                      "stopped; 100 frames (1.0 s) kept")


def test_a_finish_on_a_failing_card_ends_the_trial_as_partial(store, session, mono, card):
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    record(writer, mono, 0.7, 0)
    card.failing = True
    with pytest.raises(StorageFailed, match="so the recording stopped: trial #1 could not be closed yet; it keeps the "
                                            "0.5 s recorded"):
        writer.finish(metrics_doc(), True, wait=False)
    card.failing = False
    store.trials.close_unclosed()
    assert store.trials.get(writer.trial_id)["status"] == "partial"
