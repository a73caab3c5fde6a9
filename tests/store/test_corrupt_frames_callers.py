"""A trial whose stored frames are corrupt (a chunk's index no longer names its frames: an SD
card's flipped bits) is refused by name, with what to do, and stops nothing else: the words of
:class:`station.store.trials.CorruptFrames`, and ``balance-station export`` (the trial's CSV
refused in those words, nothing written; its results still export as FHIR). Found by a review of
c58b757, which made ``Trials.frames`` check each chunk's ``first_seq`` and ``n_frames``: a generic
"stored frames are corrupt" reached every caller. The web routes: tests/dashboard/
test_corrupt_trial_routes.py; the PDF: tests/reports/test_pdf_reports.py; the sync:
tests/sync/test_sync_corrupt_trial.py."""

from __future__ import annotations

import json

import pytest

from station.store.audit import Actor
from station.store.store import Store
from station.store.trials import CorruptFrames

from clinic_data import make_frames, metrics_doc
from test_store_export import CAL, run_cli


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the check is the store's own Python, the same on either backend


def corrupt_trial(store, session_id: int, monkeypatch, chunk_no: int = 1) -> tuple[int, int, int]:
    """A 200-frame trial stored in 50-frame chunks, chunk ``chunk_no``'s first_seq moved one
    frame back (its frames untouched); (trial id, first_seq now, its frames' first seq)."""
    monkeypatch.setattr("station.store.trials.IMPORT_CHUNK_FRAMES", 50)
    trial_id = store.trials.import_trial(session_id, "romberg", "eo", CAL, 100.0, make_frames(200, start_seq=1000),
                                         metrics_doc(), True, None)
    with store.db.write() as conn:
        conn.execute("UPDATE trial_chunks SET first_seq = first_seq - 1 WHERE trial_id = ? AND chunk_no = ?",
                     (trial_id, chunk_no))
    return trial_id, 1000 + 50 * chunk_no - 1, 1000 + 50 * chunk_no


def test_the_refusal_names_the_trial_the_chunk_and_what_to_do(store, session, monkeypatch):
    trial_id, said, found = corrupt_trial(store, session["id"], monkeypatch)
    with pytest.raises(CorruptFrames) as refused:
        store.trials.frames(trial_id)
    words = str(refused.value)
    assert words.startswith(f"trial #{trial_id}: stored frames are corrupt (chunk 1 starts at frame {said}, "
                            f"its frames at {found}); the trial's other records")
    assert "export without frames" in words and "backup of the data directory" in words
    assert refused.value.trial_id == trial_id
    assert len(store.trials.frames(trial_id, chunks=(2, 3))) == 100  # the other chunks still read
    assert store.trials.get(trial_id)["metrics"] == metrics_doc()  # and the trial's record


def test_export_refuses_the_trials_frames_in_words_and_its_results_still_export(
        tmp_path, station_data_dir, monkeypatch, capsys):
    data_dir = tmp_path / "data"
    station_data_dir(data_dir)
    with Store.open(data_dir) as store:
        patient = store.patients.create({"identifier": "EXP-2", "birth_year": 1950, "sex": "F"}, actor=Actor.system())
        session = store.sessions.create(patient["id"], {}, actor=Actor.system())
        trial_id, said, found = corrupt_trial(store, session["id"], monkeypatch, chunk_no=3)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    status, _, err = run_cli(monkeypatch, capsys, ["export", "trial", str(trial_id), "--out", str(out_dir),
                                                   "--data-dir", str(data_dir)])
    assert status == 1 and "Traceback" not in err
    assert f"trial #{trial_id}: stored frames are corrupt (chunk 3 starts at frame {said}, its frames at {found})" in err
    assert f"Nothing was written; its results: balance-station export trial {trial_id} --fhir" in err
    assert list(out_dir.iterdir()) == []
    fhir = out_dir / "t.fhir.json"
    status, out, err = run_cli(monkeypatch, capsys, ["export", "trial", str(trial_id), "--fhir", "--out", str(fhir),
                                                     "--data-dir", str(data_dir)])
    assert status == 0, err
    assert json.loads(fhir.read_text())["resourceType"] == "Bundle"
