"""The calibration on a card that refuses the history's line (full, failing): the calibration itself
is saved and said so, the history keeps no half line; the simulated plate's factory calibration that
cannot be saved does not stop the station (it is made again at the next start)."""

from __future__ import annotations

import json
import os

import pytest

from station.acquire.calibration import CALIBRATION_FILENAME, HISTORY_FILENAME, load_calibration, measured_calibration, save_calibration
from station.acquire.process import AcquisitionSpec, _calibration
from station.cli import main
from station.config import StationConfig
from station.sim.station import SimulatedHardwareRecipe
from station.store.atomic import append_line_durably
from tests.refused_writes import WORDS, refuse_fsync_of


def _measured(zero: float):
    return measured_calibration((zero, 2, 3, 4), (2e-4, 2e-4, 2e-4, 2e-4), 0.5, "hardware")


@pytest.mark.parametrize("fault", ["full", "failing"])
def test_a_refused_history_line_keeps_the_saved_calibration_and_no_half_line(tmp_path, monkeypatch, fault):
    save_calibration(tmp_path, _measured(1))
    history_before = (tmp_path / HISTORY_FILENAME).read_bytes()
    refuse_fsync_of(monkeypatch, HISTORY_FILENAME, fault)
    saved = save_calibration(tmp_path, _measured(7))
    assert saved.path == tmp_path / CALIBRATION_FILENAME and saved.history_error == WORDS[fault]
    assert load_calibration(tmp_path).zero_counts[0] == 7
    assert (tmp_path / HISTORY_FILENAME).read_bytes() == history_before  # cut back: no half or unsynced line


def test_a_history_that_cannot_be_opened_does_not_unsay_the_saved_calibration(tmp_path):
    (tmp_path / HISTORY_FILENAME).mkdir()  # e.g. a name taken by something else on the card
    saved = save_calibration(tmp_path, _measured(3))
    assert saved.history_error and load_calibration(tmp_path).zero_counts[0] == 3


def test_a_short_write_is_cut_back_and_said_as_a_full_disk(tmp_path, monkeypatch):
    target = tmp_path / "h.jsonl"
    append_line_durably(target, '{"a": 1}')
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, data[: len(data) // 2]))
    with pytest.raises(OSError, match="No space left"):
        append_line_durably(target, '{"b": 2222222}')
    assert target.read_text() == '{"a": 1}\n'


def test_calibrate_on_a_card_refusing_the_history_says_saved_and_what_was_not(tmp_path, capsys, monkeypatch):
    refuse_fsync_of(monkeypatch, HISTORY_FILENAME, "full")
    assert main(["calibrate", "--simulate", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"Saved to {tmp_path / CALIBRATION_FILENAME}" in out
    assert f"not added to the calibration history {HISTORY_FILENAME}: No space left on device" in out
    assert json.loads((tmp_path / CALIBRATION_FILENAME).read_text())["method"] == "measured"


def test_the_simulated_station_starts_when_its_factory_calibration_cannot_be_saved(tmp_path, capsys, monkeypatch):
    refuse_fsync_of(monkeypatch, CALIBRATION_FILENAME, "failing")
    spec = AcquisitionSpec(StationConfig(), "unused", hardware=SimulatedHardwareRecipe(seed=0), data_dir=str(tmp_path))
    calibration = _calibration(spec, None)  # the start goes on with it
    assert calibration.source == "simulated:seed=0" and calibration.method == "measured"
    assert not (tmp_path / CALIBRATION_FILENAME).exists()  # the old (none) stays; no temporary file left
    assert [p.name for p in tmp_path.iterdir()] == []
    err = capsys.readouterr().err
    assert "calibration is not saved" in err and "Input/output error" in err and "made again at the next start" in err
