"""Exports (trial CSV + sidecar, patient history CSV) and the users/export commands."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import numpy as np
import pytest

from station.acquire.frame import FrameFlag
from station.cli import main
from station.store.audit import Actor
from station.protocols.schema import METRICS
from station.store.export import HISTORY_FIXED_COLUMNS, export_trial, patient_history_csv, trial_export_files, zip_files
from station.store.store import Store
from station.store.trialfile import read_trial

from clinic_data import make_frames, metrics_doc

CAL = {"method": "measured", "n_per_count": [0.011, 0.012, 0.010, 0.011]}


@pytest.fixture
def recorded(store, session, clinician):
    frames = make_frames(300, start_seq=1000)
    frames["flags"][10] = FrameFlag.LATE
    frames["ax_m_s2"] = 0.1
    writer = store.trials.start_trial(session["id"], "romberg", "eyes_closed", CAL, 100.0, actor=clinician)
    writer.append(frames)
    writer.finish(metrics_doc(), True)
    return writer.trial_id, frames


def test_trial_csv_reads_back_with_the_trial_reader(store, recorded, tmp_path, clinician):
    trial_id, frames = recorded
    csv_path, json_path = export_trial(store, trial_id, tmp_path, actor=clinician)
    assert (csv_path.name, json_path.name) == (f"trial-{trial_id}.csv", f"trial-{trial_id}.json")
    header = csv_path.read_text().splitlines()[0].split(",")
    assert header[:8] == ["time_s", "ap_cm", "ml_cm", "fz_n", "fl_n", "fr_n", "bl_n", "br_n"]
    assert header[-1] == "seq" and {"flags", "t_ns"} <= set(header)  # wake time as its own column (DESIGN §3)
    data = read_trial(csv_path, allow_nan=True)
    assert data.samples == 300 and data.fs_hz == 100.0
    np.testing.assert_allclose(data.time_s, np.arange(300) / 100.0)
    np.testing.assert_allclose(data.ap_cm, frames["ap_cm"], rtol=1e-9)
    np.testing.assert_allclose(data.corners_n["fl_n"], frames["fl_n"], rtol=1e-9)
    assert data.extra["flags"][10] == int(FrameFlag.LATE)
    assert data.extra["seq"][0] == 1000
    side = data.metadata
    assert side["rate_hz"] == 100.0 and side["calibration"] == CAL
    assert side["protocol"] == "romberg" and side["condition"] == "eyes_closed"
    assert side["station_version"] and side["status"] == "complete" and side["valid"] is True
    assert side["metrics"] == metrics_doc() and side["patient_identifier"] == "P-0001"
    entry = store.audit.query(action="trial.export")[0]
    assert entry["username"] == "ana" and entry["object"] == f"trial:{trial_id}"


def test_partial_trial_export_says_so(store, session, tmp_path):
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    writer.append(make_frames(50))
    writer.flush()
    with Store.open(store.data_dir, database=store.database_url) as other:
        other.recover_partial_trials()
    files = trial_export_files(store, writer.trial_id, actor=Actor.system())
    side = json.loads(files[f"trial-{writer.trial_id}.json"])
    assert side["status"] == "partial" and side["valid"] is False and side["frame_count"] == 50
    archive = zipfile.ZipFile(io.BytesIO(zip_files(files)))
    assert sorted(archive.namelist()) == [f"trial-{writer.trial_id}.csv", f"trial-{writer.trial_id}.json"]


def test_history_csv_has_one_row_per_trial_with_metrics(store, session, clinician, recorded):
    store.sessions.update(session["id"], {"label": "=HYPERLINK(\"http://x\")"}, actor=clinician)
    writer = store.trials.start_trial(session["id"], "romberg", "eo", CAL, 100.0)
    writer.finish(None, False, "-stepped off")
    text = patient_history_csv(store, session["patient_id"], actor=clinician)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 2
    first, second = rows
    assert first["identifier"] == "P-0001" and first["protocol"] == "romberg"
    assert first["ellipse_area_cm2"] == "2.5" and first["range_cm"] == "" and first["profile"] == "station"
    assert first["valid"] == "true" and second["valid"] == "false"
    assert second["validity_reason"] == "'-stepped off"  # not a formula for a spreadsheet
    assert first["session_label"].startswith("'=")
    assert store.audit.query(action="patient.export")[0]["detail"] == {"format": "history-csv", "trials": 2}


def test_history_csv_names_each_column_once_the_recording_length_apart_from_the_time_walking(
        store, session, clinician):
    """A walking trial's gait key ``duration_s`` (time walking, DESIGN.md §8) and the recording's
    length were both exported as ``duration_s``: a tool reading by name got one of them (review s21)."""
    writer = store.trials.start_trial(session["id"], "ten-metre-walk", "comfortable", CAL, 100.0, actor=clinician)
    writer.append(make_frames(300))  # 3 s recorded at 100 Hz
    writer.finish(metrics_doc(duration_s=2.2, steps=5), True)  # 2.2 s of it walking
    text = patient_history_csv(store, session["patient_id"], actor=clinician)
    header = next(csv.reader(io.StringIO(text)))
    assert len(header) == len(set(header)), [c for c in header if header.count(c) > 1]
    (row,) = csv.DictReader(io.StringIO(text))
    assert (row["recorded_s"], row["duration_s"], row["steps"]) == ("3.0", "2.2", "5")
    assert not set(HISTORY_FIXED_COLUMNS) & set(METRICS)  # no metric can take a fixed column's name


# -- commands ------------------------------------------------------------------------------------


def run_cli(monkeypatch, capsys, args, stdin=""):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    monkeypatch.delenv("BALANCE_STATION_CONFIG", raising=False)  # defaults + --data-dir
    status = main(args)
    out = capsys.readouterr()
    return status, out.out, out.err


def test_users_commands(tmp_path, monkeypatch, capsys):
    d = str(tmp_path / "data")
    # a directory without a database is no station (a mistyped --data-dir): refused, nothing made there
    status, _, err = run_cli(monkeypatch, capsys, ["users", "list", "--data-dir", d])
    assert status == 1 and "no station database in" in err and "users add NAME --role admin" in err
    status, _, err = run_cli(monkeypatch, capsys, ["users", "add", "ana", "--role", "clinician", "--data-dir", d],
                             "clinician password 1\n")
    assert status == 1 and "no station database in" in err and not (tmp_path / "data" / "station.sqlite3").exists()
    status, out, err = run_cli(monkeypatch, capsys, ["users", "add", "root", "--role", "admin", "--data-dir", d],
                               "a long admin password\n")
    assert status == 0 and "added admin root" in out and "made a new station database in" in err
    status, _, err = run_cli(monkeypatch, capsys, ["users", "add", "ana", "--role", "clinician", "--data-dir", d], "short\n")
    assert status == 1 and "at least 10 characters" in err and "Traceback" not in err
    status, _, err = run_cli(monkeypatch, capsys, ["users", "add", "ana", "--role", "clinician", "--data-dir", d], "")
    assert status == 1 and "no password on standard input" in err
    run_cli(monkeypatch, capsys, ["users", "add", "ana", "--role", "clinician", "--data-dir", d], "clinician password 1\n")
    status, out, _ = run_cli(monkeypatch, capsys, ["users", "list", "--data-dir", d])
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "ROLE", "STATE", "LAST", "LOGIN"]
    assert lines[1].split()[:3] == ["ana", "clinician", "active"] and lines[2].split()[:3] == ["root", "admin", "active"]
    status, _, err = run_cli(monkeypatch, capsys, ["users", "disable", "root", "--data-dir", d])
    assert status == 1 and "last active administrator" in err
    assert run_cli(monkeypatch, capsys, ["users", "disable", "ana", "--data-dir", d])[0] == 0
    assert run_cli(monkeypatch, capsys, ["users", "enable", "ana", "--data-dir", d])[0] == 0
    assert run_cli(monkeypatch, capsys, ["users", "password", "ana", "--data-dir", d], "another password 2\n")[0] == 0
    status, _, err = run_cli(monkeypatch, capsys, ["users", "disable", "ghost", "--data-dir", d])
    assert status == 1 and "no user named 'ghost'" in err
    with Store.open(d) as s:
        assert s.users.authenticate("ana", "another password 2") is not None
        actions = [(e["username"], e["action"]) for e in s.audit.query()]
    assert all(who.startswith("cli:") for who, _ in actions)
    assert [a for _, a in actions].count("user.update") == 3


def test_export_commands(tmp_path, monkeypatch, capsys):
    d = tmp_path / "data"
    with Store.open(d) as s:
        p = s.patients.create({"identifier": "EXP-1", "birth_year": 1950, "sex": "F"}, actor=Actor.system())
        ses = s.sessions.create(p["id"], {}, actor=Actor.system())
        trial_id = s.trials.import_trial(ses["id"], "romberg", "eo", CAL, 100.0, make_frames(200), metrics_doc(), True, None)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    args = ["export", "trial", str(trial_id), "--out", str(out_dir), "--data-dir", str(d)]
    status, out, _ = run_cli(monkeypatch, capsys, args)
    assert status == 0 and read_trial(out_dir / f"trial-{trial_id}.csv", allow_nan=True).samples == 200
    status, _, err = run_cli(monkeypatch, capsys, args)
    assert status == 1 and "--force" in err
    assert run_cli(monkeypatch, capsys, args + ["--force"])[0] == 0
    status, _, err = run_cli(monkeypatch, capsys, ["export", "trial", "999", "--out", str(out_dir), "--data-dir", str(d)])
    assert status == 1 and "no trial #999" in err
    history = out_dir / "h.csv"
    status, _, _ = run_cli(monkeypatch, capsys, ["export", "patient", "exp-1", "--out", str(history), "--data-dir", str(d)])
    assert status == 0 and history.read_text().count("\n") == 2
    status, _, err = run_cli(monkeypatch, capsys, ["export", "patient", "NOPE", "--out", str(out_dir / "n.csv"), "--data-dir", str(d)])
    assert status == 1 and "no patient" in err and not (out_dir / "n.csv").exists()
    status, _, err = run_cli(monkeypatch, capsys, ["export", "trial", "1", "--data-dir", str(tmp_path / "missing")])
    assert status == 1 and "no data directory" in err
    with Store.open(d) as s:
        assert len(s.audit.query(action="trial.export")) == 2
        assert len(s.audit.query(action="patient.export")) == 1
