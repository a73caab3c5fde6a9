"""``--out`` of ``gait`` and ``analyze`` that names one of their inputs is refused before any work
(exit status 2, one line on stderr), and the recording is left byte for byte as it was
(DESIGN.md §11: keep what was recorded). Found by an attack review: ``gait victim.csv --out
victim.csv`` exited 0 with the JSON results in place of the recording."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from station.cli import main
from tests.cli.test_gait import write_imu_csv


@pytest.fixture
def recording(tmp_path) -> tuple[Path, Path]:
    """A walk recording and its sidecar in ``tmp_path/data``."""
    data = tmp_path / "data"
    data.mkdir()
    csv_path = data / "victim.csv"
    write_imu_csv(csv_path, sidecar={"rate_hz": 100.0, "sensor_height_m": 0.95})
    return csv_path, csv_path.with_suffix(".json")


def _refused(capsys, argv, *kept: Path) -> str:
    before = {p: p.read_bytes() for p in kept}
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    (line,) = err.splitlines()  # one clear line
    assert "never written over the data they come from" in line
    for p, content in before.items():
        assert p.read_bytes() == content, f"{p.name} was changed"
    return line


@pytest.mark.parametrize("command", ["gait", "analyze"])
def test_out_that_is_the_input_file_or_its_sidecar_is_refused(recording, capsys, command):
    csv_path, side = recording
    line = _refused(capsys, [command, csv_path, "--out", csv_path, "-j1"], csv_path, side)
    assert f"is the input file {csv_path}" in line
    line = _refused(capsys, [command, csv_path, "--out", side, "-j1"], csv_path, side)
    assert f"is the sidecar of the input file {csv_path}" in line


def test_out_reached_through_another_spelling_or_a_link_is_refused(recording, capsys, monkeypatch):
    csv_path, side = recording
    monkeypatch.chdir(csv_path.parent)
    _refused(capsys, ["gait", "victim.csv", "--out", "./../data/victim.csv", "-j1"], csv_path, side)
    link = csv_path.parent.parent / "link.csv"
    link.symlink_to(csv_path)
    _refused(capsys, ["gait", link, "--out", csv_path, "-j1"], csv_path, side)  # the input is a link to --out
    _refused(capsys, ["gait", csv_path, "--out", link, "-j1"], csv_path, side)  # --out is a link to the input
    hard = csv_path.parent.parent / "hard.csv"
    os.link(csv_path, hard)
    _refused(capsys, ["gait", hard, "--out", csv_path, "-j1"], csv_path, side)


def test_sidecar_not_yet_written_is_refused_too(tmp_path, capsys):
    csv_path = tmp_path / "walk.csv"
    write_imu_csv(csv_path)  # no sidecar: results there would be read as its metadata next time
    _refused(capsys, ["gait", csv_path, "--out", tmp_path / "walk.json", "-j1"], csv_path)
    assert not (tmp_path / "walk.json").exists()


@pytest.mark.parametrize("command", ["gait", "analyze"])
def test_out_that_is_a_trial_file_or_sidecar_of_an_input_directory_is_refused(recording, capsys, command):
    csv_path, side = recording
    data = csv_path.parent
    line = _refused(capsys, [command, data, "--out", csv_path, "-j1"], csv_path, side)
    assert f"is the trial file victim.csv of the input directory {data}" in line
    line = _refused(capsys, [command, data, "--out", side, "-j1"], csv_path, side)
    assert "is the sidecar of the trial file victim.csv" in line
    elsewhere = data.parent / "elsewhere.csv"  # an entry of the directory that links to a file outside it
    shutil.move(csv_path, elsewhere)
    (data / "victim.csv").symlink_to(elsewhere)
    _refused(capsys, [command, data, "--out", elsewhere, "-j1"], elsewhere, side)


def test_results_beside_the_inputs_are_still_written(recording, capsys):
    """A new file in the input directory, or one that is not a trial file, is no input: written, twice."""
    csv_path, side = recording
    data = csv_path.parent
    for out in ("results.json", "results.csv"):
        for _ in range(2):
            status = main(["gait", str(data), "--out", str(data / out), "--format", out.split(".")[1], "-j1"])
            capsys.readouterr()
            assert status == 0 and (data / out).stat().st_size > 0
    notes = data / "notes.txt"  # a text file of the directory that is not a trial
    notes.write_text("patient was tired\n")
    assert main(["gait", str(data), "--out", str(notes), "-j1"]) == 0
    assert notes.read_text().startswith("[")
