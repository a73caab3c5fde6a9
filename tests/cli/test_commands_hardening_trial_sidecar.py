"""The station's own walk-trial files re-analysed by ``balance-station gait`` as they are give the
station's gait: the trial sidecar carries how the station read the IMU (``mounting_up``,
``mounting_toes``, ``sensor_height_m``, the keys :mod:`station.store.imu_recording` reads). Found by
an attack review: ``gait`` on a ``trial --simulate --out`` walk file refused it ("IMU mounting:
configured up axis +x points 90° from gravity's vertical"), and with the mounting given by hand gave
no step length nor speed."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from station.acquire.frame import FRAME_DTYPE, IMU_FIELDS
from station.cli import main
from station.protocols.sinks import FileSink
from station.sim.walker import SENSOR_MOUNTING

COMPARED = ("steps", "cadence_steps_min", "step_time_s", "step_time_cv_pct", "stride_time_cv_pct",
            "step_length_m", "walking_speed_m_s")


def test_gait_on_the_stations_walk_trial_files_gives_the_stations_gait(tmp_path, capsys):
    out = tmp_path / "walks"
    assert main(["trial", "--simulate", "--protocol", "ten-metre-walk", "--seed", "1", "--quiet", "--out", str(out)]) == 0
    capsys.readouterr()
    trials = json.loads((out / "results.json").read_text())["trials"]
    assert len(trials) == 4
    for trial in trials:
        csv_path = out / trial["stored"]["csv"].rsplit("/", 1)[-1]
        status = main(["gait", str(csv_path), "-j1"])
        (result,) = json.loads(capsys.readouterr().out)
        assert status == 0, result
        side = json.loads(csv_path.with_suffix(".json").read_text())
        assert (side["mounting_up"], side["mounting_toes"]) == SENSOR_MOUNTING
        assert side["sensor_height_m"] == pytest.approx(0.58 * 1.70)  # the virtual walker's, as the station used it
        station = trial["metrics"]
        assert station["metrics"]["step_length_m"] is not None and station["metrics"]["walking_speed_m_s"] is not None
        for key in COMPARED:
            assert result["metrics"][key] == pytest.approx(station["metrics"][key], rel=1e-6), key
        # the same contacts, sample for sample, on the same axis: s after the go, as the file's time_s
        # (before, the station's walk result counted from its first frame, one period after the go)
        assert float(csv_path.read_text().splitlines()[1].split(",")[0]) > 0  # the first frame is after the go
        assert len(result["initial_contacts_s"]) == len(station["initial_contacts_s"]) == station["metrics"]["steps"]
        assert np.allclose(result["initial_contacts_s"], station["initial_contacts_s"], atol=1e-6)
        assert station["initial_contacts_s"] == trial["walk"]["initial_contacts_s"]


def _plan():
    protocol = SimpleNamespace(name="quiet-stance", title="Quiet stance", version=1, source="test")
    return SimpleNamespace(protocol=protocol, condition=SimpleNamespace(id="eo", to_dict=lambda: {"id": "eo"}), trial=1, attempt=1)


def _frames(n: int, imu: bool) -> np.ndarray:
    frames = np.zeros(n, dtype=FRAME_DTYPE)
    frames["seq"] = np.arange(n)
    frames["t_ns"] = 10_000_000 * np.arange(1, n + 1)
    frames["fz_n"] = 700.0
    for field in IMU_FIELDS:
        frames[field] = 0.0 if imu else np.nan
    frames["az_m_s2"] = 9.81 if imu else np.nan
    return frames


@pytest.mark.parametrize("imu", [True, False], ids=["with the IMU", "without"])
def test_the_imu_keys_go_only_to_trials_that_recorded_the_imu(tmp_path, imu):
    sink = FileSink(tmp_path, {"source": {"kind": "test"}},
                    imu={"mounting_up": "+z", "mounting_toes": "+x", "sensor_height_m": None})
    output = sink.start_trial(_plan(), 100.0, 700.0, t0_ns=0)
    output.append(_frames(50, imu))
    output.writer.close()
    side = json.loads(output.path.with_suffix(".json").read_text())
    assert ("ax_m_s2" in output.path.read_text().splitlines()[0]) is imu
    assert {k: side.get(k) for k in ("mounting_up", "mounting_toes")} == (
        {"mounting_up": "+z", "mounting_toes": "+x"} if imu else {"mounting_up": None, "mounting_toes": None})
    assert "sensor_height_m" not in side  # a stance trial: no height was used, none is claimed
