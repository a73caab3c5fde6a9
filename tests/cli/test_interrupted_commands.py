"""A ``trial`` or ``record`` stopped by Ctrl-C says what it kept. ``trial --out``: the trial that was
recording keeps its frames and its sidecar marks it incomplete (``status: "partial"``, as an exported
trial's sidecar says it), and ``analyze`` says the file is incomplete. ``record``: nothing is written.
Found by a review: ``timeout -s INT 12 balance-station trial --protocol romberg ...`` left a 19.7-s
CSV of a 30-s trial whose sidecar looked whole, and ``analyze`` reported it like any trial."""

from __future__ import annotations

import csv
import io
import json

import pytest

from station.cli import main
from station.protocols.machine import TrialState
from station.protocols.runner import ProtocolRunner
from station.store.trialfile import read_trial

STOP_AFTER_FRAMES = 1200
"""The Ctrl-C comes 12 s into the second trial."""


@pytest.fixture
def ctrl_c_in_the_second_trial(monkeypatch):
    """A KeyboardInterrupt (as Python raises on SIGINT) between two steps of the runner, once the
    second trial has recorded :data:`STOP_AFTER_FRAMES` frames."""
    step = ProtocolRunner.step

    def interrupted_step(self, *args, **kwargs):
        step(self, *args, **kwargs)
        m = self.machine
        if len(self.records) == 1 and m is not None and m.state == TrialState.RECORDING \
                and len(m.recorded) >= STOP_AFTER_FRAMES:
            raise KeyboardInterrupt

    monkeypatch.setattr(ProtocolRunner, "step", interrupted_step)


def test_an_interrupted_trial_is_kept_marked_incomplete_and_analyze_says_so(tmp_path, capsys, ctrl_c_in_the_second_trial):
    out = tmp_path / "romberg"
    assert main(["trial", "--protocol", "romberg", "--simulate", "--quiet", "--out", str(out)]) == 130
    err = capsys.readouterr().err
    (line,) = err.splitlines()
    assert line.startswith("balance-station trial: interrupted: 02-romberg-ec-t1-a1.csv holds only the first 12.0 s "
                           "of its 30 s and its sidecar marks it incomplete"), line
    assert f"the 1 whole trial before it is kept in {out}" in line and "no results.json was written" in line
    assert not (out / "results.json").exists()
    whole, cut = out / "01-romberg-eo-t1-a1.csv", out / "02-romberg-ec-t1-a1.csv"
    assert json.loads(whole.with_suffix(".json").read_text())["status"] == "complete"
    side = json.loads(cut.with_suffix(".json").read_text())
    assert side["status"] == "partial" and side["status_reason"].startswith("interrupted: the program was stopped")
    assert "result" not in side and side["samples"] == read_trial(cut, allow_nan=True, allow_gaps=True).time_s.size
    assert side["samples"] >= STOP_AFTER_FRAMES

    assert main(["analyze", str(out), "--format", "json", "-j1"]) == 0
    first, second = json.loads(capsys.readouterr().out)
    assert "incomplete" not in first
    assert second["incomplete"].startswith("incomplete (partial: interrupted: the program was stopped")
    assert second["incomplete"].endswith("the measures cover the 12.0 s recorded, not the whole trial")
    assert main(["analyze", str(cut), "--format", "table"]) == 0
    assert f"{cut}: incomplete (partial: interrupted" in capsys.readouterr().out
    assert main(["analyze", str(whole), str(cut), "--format", "csv", "-j1"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["incomplete"] == "" and rows[1]["incomplete"] == second["incomplete"]


def test_an_interrupted_trial_with_nothing_kept_says_so(tmp_path, capsys, ctrl_c_in_the_second_trial):
    assert main(["trial", "--protocol", "romberg", "--simulate", "--quiet"]) == 130
    assert capsys.readouterr().err == "balance-station trial: interrupted: nothing was kept (no --out or --patient)\n"


def test_an_interrupted_record_says_nothing_was_written(tmp_path, capsys, monkeypatch):
    from station.sim.station import SimulatedStation

    def interrupted(self, n):
        raise KeyboardInterrupt

    monkeypatch.setattr(SimulatedStation, "run_frames", interrupted)
    out = tmp_path / "quiet.csv"
    assert main(["record", "--simulate", "--seconds", "30", "--out", str(out)]) == 130
    assert capsys.readouterr().err == "balance-station record: interrupted while recording: nothing was written\n"
    assert list(tmp_path.iterdir()) == []
    out.write_text("time_s,ap_cm,ml_cm\n")
    assert main(["record", "--simulate", "--seconds", "30", "--out", str(out), "--force"]) == 130
    assert capsys.readouterr().err == (f"balance-station record: interrupted while recording: nothing was written "
                                       f"({out} unchanged)\n")
    assert out.read_text() == "time_s,ap_cm,ml_cm\n"
