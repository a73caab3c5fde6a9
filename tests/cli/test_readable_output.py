"""The command line says things a person can read: ``analyze`` as a table on a terminal (JSON when
piped), ``trial`` summaries with what a score means and the age-group percentile, ``calibrate``
saying what goes where, ``record`` refusing to overwrite, ``export --data-dir`` before its
subcommand, one plain line for a busy port, and no setuptools licence warnings on install."""

from __future__ import annotations

import json
import os
import pty
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from station.cli import main
from station.commands.analyze import format_table
from station.commands.trial import format_summary
from station.protocols.loader import builtin_protocols

BDS = Path(__file__).resolve().parents[3] / "shared" / "data" / "bds"
REPO = Path(__file__).resolve().parents[2]


def bds_files(n: int) -> list[Path]:
    files = sorted(BDS.glob("BDS*.txt"))[:n]
    if len(files) < n:
        pytest.skip(f"the shared BDS data ({BDS}) is not here")
    return files


def test_analyze_on_a_terminal_is_a_labelled_table_and_json_when_piped(tmp_path):
    files = [str(p) for p in bds_files(2)]
    # on a terminal (a pseudo-terminal as stdout): the table
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "station.cli", "analyze", *files], stdout=follower,
                            stderr=subprocess.PIPE, cwd=REPO)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(60)
    os.close(leader)
    table = b"".join(chunks).decode()
    assert proc.returncode == 0
    assert "Mean sway velocity" in table and "cm/s" in table and "95 % ellipse area" in table
    assert "Diffusion (Collins & De Luca)" in table and "mean_velocity_cm_s" not in table
    assert not any(len(tok) > 12 and tok.replace(".", "").replace("-", "").isdigit() for tok in table.split())
    # piped: JSON, as before
    piped = subprocess.run([sys.executable, "-m", "station.cli", "analyze", *files], capture_output=True, text=True,
                           cwd=REPO, timeout=60)
    assert piped.returncode == 0 and len(json.loads(piped.stdout)) == 2


def test_analyze_table_of_many_files_shows_the_key_measures_and_errors(tmp_path):
    good = {"file": "/x/a.txt", "fs_hz": 100.0, "samples": 6000, "profile": "raw",
            "metrics": {"ellipse_area_cm2": 1.23456789, "mean_velocity_cm_s": 0.61234, "rms_distance_cm": 0.3,
                        "mean_power_frequency_hz": 0.25}}
    results = [dict(good, file=f"/x/{i}.txt") for i in range(6)] + [{"file": "/x/bad.txt", "error": "no header"}]
    text = format_table(results)
    assert "bad.txt: not analysed: no header" in text
    assert "95 % ellipse area (cm²)" in text and "1.235" in text and "--format csv" in text


def test_trial_summary_says_whether_the_criterion_is_met_with_percentiles():
    protocol = builtin_protocols()["mctsib"]
    summary = {"title": protocol.title, "valid_trial_count": 2, "trial_count": 2, "age_y": 70.0, "romberg": None,
               "conditions": [
                   {"id": "firm_eo", "label": "Firm surface, eyes open", "valid_trials": 1, "score": "mean",
                    "time_held_s": [30.0], "values": {"time_held_s": 30.0, "mean_velocity_cm_s": 3.0}},
                   {"id": "foam_ec", "label": "Foam, eyes closed", "valid_trials": 1, "score": "mean",
                    "time_held_s": [12.0], "values": {"time_held_s": 12.0}}],
               "cutoffs": [{"metric": "time_held_s", "condition": "firm_eo", "value": 30.0, "below": 30.0, "above": None,
                            "flagged": False, "meaning": "problem", "source": "SRAlab. x"},
                           {"metric": "time_held_s", "condition": "foam_ec", "value": 12.0, "below": 30.0, "above": None,
                            "flagged": True, "meaning": "this sensory condition is a problem", "source": "SRAlab. x"}],
               "norms": []}
    text = format_summary(summary, protocol)
    assert "(mean of [" not in text and "firm_eo" not in text
    firm, foam = text.split("Foam, eyes closed")
    assert "the criterion is met" in firm
    assert "Below 30 s" in foam and "sensory condition is a problem" in foam
    assert "ABOVE the 95th percentile of old adults 60-86 y" in firm and "lower = less sway" in firm
    assert "rough guide" in firm  # feet together, 30 s: the norm does not quite fit


def test_calibrate_simulated_says_what_it_puts_where(tmp_path, capsys):
    assert main(["calibrate", "--simulate", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("Measuring…") == 11
    assert "Clear the plate completely" in out and "Place the 10 kg mass on the middle of the front-left quarter" in out


def test_record_refuses_to_overwrite_without_force(tmp_path, capsys):
    target = tmp_path / "t.csv"
    assert main(["record", "--simulate", "--seconds", "1", "--out", str(target)]) == 0
    first = target.read_bytes()
    capsys.readouterr()
    assert main(["record", "--simulate", "--seconds", "1", "--seed", "3", "--out", str(target)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "already exists" in err and "--force" in err
    assert target.read_bytes() == first
    assert main(["record", "--simulate", "--seconds", "1", "--seed", "3", "--out", str(target), "--force"]) == 0
    assert target.read_bytes() != first


def test_export_takes_the_data_dir_before_or_after_what(tmp_path, capsys, monkeypatch):
    from station.store.audit import Actor
    from station.store.store import Store

    data = tmp_path / "data"
    store = Store.open_service(data)
    store.patients.create({"identifier": "P-7", "birth_year": 1950, "sex": "F"}, actor=Actor(None, "test"))
    store.close()
    before, after = tmp_path / "before.csv", tmp_path / "after.csv"
    assert main(["export", "--data-dir", str(data), "patient", "P-7", "--out", str(before)]) == 0
    assert main(["export", "patient", "P-7", "--data-dir", str(data), "--out", str(after)]) == 0
    assert before.read_text() == after.read_text()
    # the default name is the one the dashboard's download has
    monkeypatch.chdir(tmp_path)
    assert main(["export", "--data-dir", str(data), "patient", "P-7"]) == 0
    assert (tmp_path / "P-7-history.csv").exists()


def test_a_busy_port_is_one_line_before_the_acquisition_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        exe = Path(sys.executable).with_name("balance-station")
        command = [str(exe)] if exe.exists() else [sys.executable, "-c", "import sys; from station.cli import main; sys.exit(main())"]
        result = subprocess.run(command + ["run", "--simulate", "--port", str(port), "--data-dir", str(tmp_path / "d")],
                                capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"port {port}" in lines[0] and "already in use" in lines[0] and "--port" in lines[0]
    assert "Traceback" not in result.stderr and "starting acquisition" not in result.stderr


def test_makefile_takes_the_port():
    text = (REPO / "Makefile").read_text()
    assert "PORT   ?= 8000" in text and "--port $(PORT)" in text


def test_the_licence_is_an_spdx_string_with_its_file():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
