"""The export commands on a disk that refuses their files, full (ENOSPC) or failing (EIO) (s28 C6, job 3):
one line naming the file not written, and nothing written before lost or left half written (each file is
written under a temporary name and renamed)."""

from __future__ import annotations

import pytest

from station.cli import main
from station.programmes.loader import builtin_programmes
from station.protocols.loader import builtin_protocols
from station.store.audit import Actor
from station.store.store import Store

from refused_writes import WORDS, files_under, refuse_fsync_of

ACTOR = Actor(7, "ana", "127.0.0.1")


@pytest.fixture
def data(tmp_path):
    data = tmp_path / "data"
    with Store.open(data) as store:
        patient = store.patients.create({"identifier": "P-9", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
        programme = builtin_programmes(builtin_protocols())["balance-training"]
        store.programmes.assign(patient["id"], programme, "2026-01-05", actor=ACTOR)
    return data


@pytest.mark.parametrize("fault", ["full", "failing"])
def test_a_patient_export_whose_programmes_file_is_refused_names_that_file(tmp_path, capsys, monkeypatch, data,
                                                                           fault):
    """The history CSV is written, then the programmes JSON beside it: a refusal of the second said 'cannot
    write P-9-history.csv', the file that was written, and not the one that was not."""
    out = tmp_path / "out"
    out.mkdir()
    history, programmes = out / "P-9-history.csv", out / "P-9-programmes.json"
    refuse_fsync_of(monkeypatch, "P-9-programmes.json", fault)
    assert main(["export", "patient", "P-9", "--out", str(history), "--data-dir", str(data)]) == 1
    err = capsys.readouterr().err
    assert err == (f"balance-station export: wrote {history}, but cannot write {programmes}: {WORDS[fault]}; free "
                   "space there (or give another --out) and export again with --force\n")  # (old: 'cannot write {history}')
    assert list(files_under(out)) == ["P-9-history.csv"]  # no part of the programmes file
    assert files_under(out)["P-9-history.csv"].startswith(b"identifier,session_id,")


@pytest.mark.parametrize("fault", ["full", "failing"])
@pytest.mark.parametrize("what", ["a FHIR bundle", "a PDF report"])
def test_an_export_the_disk_refuses_keeps_the_earlier_file(tmp_path, capsys, monkeypatch, data, fault, what):
    """--force over an earlier export: the earlier file stays whole, byte for byte, and the line says why."""
    out = tmp_path / "out"
    out.mkdir()
    target = out / ("P-9.fhir.json" if what == "a FHIR bundle" else "P-9.pdf")
    argv = (["export", "patient", "P-9", "--fhir"] if what == "a FHIR bundle" else ["report", "patient", "P-9"]) \
        + ["--out", str(target), "--data-dir", str(data)]
    assert main(argv) == 0, capsys.readouterr().err
    capsys.readouterr()
    earlier = files_under(out)
    refuse_fsync_of(monkeypatch, target.name, fault)
    assert main(argv + ["--force"]) == 1
    err = capsys.readouterr().err
    command = argv[0]
    assert err == f"balance-station {command}: cannot write {target}: {WORDS[fault]}\n", err
    assert files_under(out) == earlier


@pytest.mark.parametrize("fault", ["full", "failing"])
def test_a_recording_the_disk_refuses_names_the_file_once_and_keeps_the_earlier_one(tmp_path, capsys, monkeypatch,
                                                                                    fault):
    """`record --out` said the file twice ('cannot write t.csv: t.csv: cannot write: No space left on device'),
    and a refusal of the CSV left the new sidecar beside the earlier recording's CSV (write_trial_csv's order).
    Now the file is named once, and the earlier recording's two files stay as they were."""
    target = tmp_path / "t.csv"
    assert main(["record", "--simulate", "--seconds", "1", "--out", str(target)]) == 0
    capsys.readouterr()
    earlier = files_under(tmp_path)
    assert sorted(earlier) == ["t.csv", "t.json"]
    refuse_fsync_of(monkeypatch, "t.csv.", fault)  # the new CSV's temporary file
    assert main(["record", "--simulate", "--seconds", "1", "--seed", "3", "--out", str(target), "--force"]) == 1
    assert capsys.readouterr().err == (f"balance-station record: {target}: cannot write: {WORDS[fault]}; nothing was "
                                       "written\n")
    assert files_under(tmp_path) == earlier
