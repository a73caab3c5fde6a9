"""A trial whose stored frames are corrupt, on the dashboard: every route that reads its frames
(the frames chart, the CSV and zip downloads, a walk's steps trace) answers in words naming the
trial, its chunk and what to do, never a traceback nor the generic "could not complete this"
(try again would not mend stored bits); its record and JSON sidecar still answer. The store's
words and the export command: tests/store/test_corrupt_frames_callers.py."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard_support import ACTOR
from test_walk_steps import app, metrics_doc, signed_in, walking_frames  # noqa: F401 (fixture)


@pytest.fixture
def backend() -> str:
    return "sqlite"


def test_every_frames_route_names_the_corrupt_trial_and_what_to_do(app, store, patient, monkeypatch):
    monkeypatch.setattr("station.store.trials.IMPORT_CHUNK_FRAMES", 200)
    frames = walking_frames(12.0)
    session = store.sessions.create(patient["id"], {"label": "walk"}, actor=ACTOR)
    trial_id = store.trials.import_trial(session["id"], "10mwt", "comfortable", {"method": "nominal"}, 100.0, frames,
                                         metrics_doc(kind="walk", initial_contacts_s=[1.0, 1.55]), True, None)
    with store.db.write() as conn:
        conn.execute("UPDATE trial_chunks SET first_seq = first_seq + 5 WHERE trial_id = ? AND chunk_no = 2",
                     (trial_id,))
    said, found = int(frames["seq"][400]) + 5, int(frames["seq"][400])
    client = signed_in(app)
    for path in ("frames", "export.csv", "export.zip", "steps"):
        r = client.get(f"/api/trials/{trial_id}/{path}")
        text = r.get_data(as_text=True)
        assert r.status_code == 500 and "Traceback" not in text, path
        error = r.get_json()["error"]
        assert error.startswith(f"trial #{trial_id}: stored frames are corrupt (chunk 2 starts at frame {said}, its "
                                f"frames at {found}); the trial's other records"), (path, error)
        assert "backup of the data directory" in error
    assert client.get(f"/api/trials/{trial_id}").status_code == 200
    sidecar = client.get(f"/api/trials/{trial_id}/export.json")
    assert sidecar.status_code == 200 and sidecar.get_json()["trial_id"] == trial_id
    assert np.isfinite(sidecar.get_json()["rate_hz"])
