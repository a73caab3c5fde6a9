"""A trial's download (export.csv, export.zip) on a station whose card refuses writes, full (ENOSPC) or
failing (EIO): the files were made in a temporary directory on the card, and a refused write answered
500 'internal error; the station log has details', though nothing needs to be written for a download.
They are made in memory now: the same bytes as on a working card, nothing written (s28 C6, job 3)."""

from __future__ import annotations

import io
import os
import zipfile

import pytest

from refused_writes import refuse_fsync_of


@pytest.mark.parametrize("fault", ["full", "failing"])
def test_a_trial_download_writes_nothing_on_the_card(clinician, records, monkeypatch, tmp_path, fault):
    trial = records["trial"]
    made = {kind: clinician.get(f"/api/trials/{trial}/export.{kind}") for kind in ("csv", "zip")}
    assert all(r.status_code == 200 for r in made.values())
    refused = refuse_fsync_of(monkeypatch, "", fault)  # every file the station's Python writes
    made_dirs = []
    real_mkdir = os.mkdir

    def mkdir(path, *args, **kwargs):  # a temporary directory is a write too
        made_dirs.append(path)
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    csv = clinician.get(f"/api/trials/{trial}/export.csv")
    archive = clinician.get(f"/api/trials/{trial}/export.zip")
    assert csv.status_code == 200, csv.get_data(as_text=True)  # (old code: 500 'internal error; ...')
    assert archive.status_code == 200, archive.get_data(as_text=True)
    assert csv.data == made["csv"].data
    assert csv.data.startswith(b"time_s,ap_cm,ml_cm,") and csv.data.count(b"\n") == 1001
    with zipfile.ZipFile(io.BytesIO(archive.data)) as got, zipfile.ZipFile(io.BytesIO(made["zip"].data)) as before:
        assert sorted(got.namelist()) == [f"trial-{trial}.csv", f"trial-{trial}.json"]
        assert {n: got.read(n) for n in got.namelist()} == {n: before.read(n) for n in before.namelist()}
    assert refused == [] and made_dirs == []  # nothing was written for them


@pytest.mark.parametrize("fault", ["full", "failing"])
def test_the_other_downloads_write_nothing_on_the_card_either(clinician, records, monkeypatch, fault):
    """Coverage (these held on the old code): the PDF reports, FHIR bundles and the history CSV are made in
    memory and streamed; with every write of the station's Python refused they are given as on a working card."""
    paths = ("/api/sessions/{session}/report.pdf", "/api/patients/{patient}/report.pdf",
             "/api/trials/{trial}/fhir.json", "/api/sessions/{session}/fhir.json", "/api/patients/{patient}/fhir.json",
             "/api/patients/{patient}/export.csv")
    refused = refuse_fsync_of(monkeypatch, "", fault)
    for path in paths:
        response = clinician.get(path.format(**records))
        assert response.status_code == 200, (path, response.status_code)
        assert len(response.data) > 300, path
    assert refused == []
