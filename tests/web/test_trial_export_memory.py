"""A trial's downloads cost what they hold: the JSON sidecar is not made by formatting the
trial's frames as CSV first, and the CSV is formatted a block of rows at a time (numpy's string
arrays of a whole 20-min trial took 23 times the file in memory: 267 MB for 12 MB)."""

from __future__ import annotations

import io
import tracemalloc
import zipfile

from station.store.audit import Actor
from station.store.export import export_columns, trial_export_files
from station.store.trialfile import WRITE_BLOCK_ROWS, _format_rows, ordered_columns

from web_support import CAL, clinic_data

FRAMES = 25_000
"""250 s at 100 Hz: a 3.4-MB CSV, 12 and a half blocks of rows."""


def _long_trial(store, accounts) -> int:
    who = Actor(accounts["ana"]["id"], "ana")
    patient = store.patients.create({"identifier": "PT-LONG", "birth_year": 1950, "sex": "F"}, actor=who)
    session = store.sessions.create(patient["id"], {"label": "long"}, actor=who)
    return store.trials.import_trial(session["id"], "romberg", "eyes_open", CAL, 100.0,
                                     clinic_data.make_frames(FRAMES), clinic_data.metrics_doc(), True, None, actor=who)


def _traced_peak_bytes(call):
    tracemalloc.start()
    try:
        out = call()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_json_sidecar_download_does_not_format_the_frames(clinician, store, accounts):
    tid = _long_trial(store, accounts)
    response, peak = _traced_peak_bytes(lambda: clinician.get(f"/api/trials/{tid}/export.json"))
    assert response.status_code == 200 and response.json["frame_count"] == FRAMES
    assert response.headers["Content-Disposition"] == f'attachment; filename="trial-{tid}.json"'
    archive = zipfile.ZipFile(io.BytesIO(clinician.get(f"/api/trials/{tid}/export.zip").data))
    assert response.data == archive.read(f"trial-{tid}.json")  # the same sidecar as in the zip
    assert peak < 2_000_000, f"{peak / 1e6:.1f} MB for a 1-kB download"  # before: 60 MB (the CSV made and read)
    assert store.audit.query(action="trial.export")[1]["detail"] == {"format": "json"}


def test_a_trial_csv_is_formatted_a_block_of_rows_at_a_time(store, accounts):
    tid = _long_trial(store, accounts)
    files, peak = _traced_peak_bytes(lambda: trial_export_files(store, tid, actor=Actor(None, "cli:test")))
    text = files[f"trial-{tid}.csv"]
    assert FRAMES > 10 * WRITE_BLOCK_ROWS and text.count(b"\n") == FRAMES + 1
    columns = export_columns(store.trials.frames(tid), 100.0)
    names = ordered_columns(list(columns))
    whole = ",".join(names) + "\n" + _format_rows([columns[k] for k in names])  # the rows formatted at once
    assert text == whole.encode("utf-8")
    assert peak < 4 * len(text), f"{peak / len(text):.1f} times the file"  # before: 23 times
