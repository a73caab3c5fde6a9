"""``trial --simulate --data-dir DIR`` weighs with the calibration DIR keeps for the simulated plate, as
``run --simulate --data-dir`` does: before, it always used the plate's factory calibration, so a
plate calibrated again (``calibrate --simulate``) was read one way by the dashboard's trials and
another by the command line's."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from station.acquire.calibration import CALIBRATION_FILENAME, save_calibration
from station.cli import main
from station.config import StationConfig
from station.sim.station import factory_calibration

GAIN = 1.1
"""The stored calibration's newtons per count against the factory's: the plate reads 10 % heavier."""


def _quiet_stance(tmp_path, data, seed: int) -> dict:
    """The sidecar of ``trial --protocol quiet-stance --simulate --seed SEED --data-dir DATA``."""
    out = tmp_path / f"out-{seed}"
    assert main(["trial", "--protocol", "quiet-stance", "--simulate", "--seed", str(seed), "--data-dir", str(data),
                 "--out", str(out), "--quiet"]) == 0
    (sidecar,) = out.glob("01-*.json")
    return json.loads(sidecar.read_text())


def _stored(data, seed: int):
    factory = factory_calibration(StationConfig(), seed)
    stored = replace(factory, n_per_count=tuple(GAIN * g for g in factory.n_per_count), created_utc="2026-12-01T09:00:00+00:00")
    save_calibration(data, stored)
    return factory, stored


def test_the_calibration_kept_for_the_simulated_plate_is_the_one_the_trial_weighs_with(tmp_path, capsys):
    data = tmp_path / "data"
    factory, stored = _stored(data, 5)
    doc = _quiet_stance(tmp_path, data, 5)
    assert doc["calibration"]["created_utc"] == stored.created_utc
    assert doc["calibration"]["n_per_count"] == pytest.approx(list(stored.n_per_count))
    # the virtual patient's 70 kg read through it: 10 % heavier than the factory calibration reads them
    assert doc["body_weight_n"] == pytest.approx(GAIN * 70.0 * 9.80665, rel=0.01)


def test_a_calibration_kept_for_another_plate_is_not_used(tmp_path, capsys):
    data = tmp_path / "data"
    _stored(data, 6)  # another simulated plate's (seed 6)
    doc = _quiet_stance(tmp_path, data, 5)
    assert doc["calibration"]["source"] == "simulated:seed=5"
    assert doc["calibration"]["n_per_count"] == pytest.approx(list(factory_calibration(StationConfig(), 5).n_per_count))
    assert doc["body_weight_n"] == pytest.approx(70.0 * 9.80665, rel=0.01)


def test_an_unreadable_calibration_is_one_line_and_no_trial_runs(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / CALIBRATION_FILENAME).write_text("{not json")
    assert main(["trial", "--protocol", "quiet-stance", "--simulate", "--seed", "5", "--data-dir", str(data)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    (line,) = err.splitlines()
    assert f"{data / CALIBRATION_FILENAME} cannot be read" in line and "run `balance-station calibrate` again" in line


def test_record_simulate_weighs_with_the_calibration_kept_for_its_plate(tmp_path, capsys):
    """``record --simulate --data-dir`` too (it used the factory calibration whatever the data
    directory kept), and an unreadable calibration is one line there as well."""
    data = tmp_path / "data"
    _factory, stored = _stored(data, 5)
    out = tmp_path / "rec.csv"
    assert main(["record", "--seconds", "1", "--simulate", "--seed", "5", "--data-dir", str(data), "--out", str(out)]) == 0
    doc = json.loads(out.with_suffix(".json").read_text())
    assert doc["calibration"]["created_utc"] == stored.created_utc
    assert doc["calibration"]["n_per_count"] == pytest.approx(list(stored.n_per_count))

    (data / CALIBRATION_FILENAME).write_text("{not json")
    capsys.readouterr()
    assert main(["record", "--seconds", "1", "--simulate", "--seed", "5", "--data-dir", str(data),
                 "--out", str(tmp_path / "rec2.csv")]) == 1
    out_text, err = capsys.readouterr()
    assert "Traceback" not in err and not (tmp_path / "rec2.csv").exists()
    (line,) = err.splitlines()
    assert f"{data / CALIBRATION_FILENAME} cannot be read" in line
