"""record, calibrate and doctor through the command line, on the simulated station."""

import json
from pathlib import Path

import numpy as np
import pytest

from station.cli import main
from station.store.trialfile import read_trial

BDS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "bds"


def test_record_simulated_writes_csv_and_sidecar(tmp_path, capsys):
    out = tmp_path / "trial.csv"
    assert main(["record", "--seconds", "12", "--out", str(out), "--simulate", "--seed", "3"]) == 0
    trial = read_trial(out)
    assert trial.samples == 1200
    assert trial.fs_hz == pytest.approx(100.0)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["rate_hz"] == 100.0 and meta["source"] == {"kind": "virtual person", "seed": 3}
    assert meta["calibration"]["method"] == "measured" and meta["frames_lost"] == 0
    # Same seed, same recording.
    again = tmp_path / "again.csv"
    assert main(["record", "--seconds", "12", "--out", str(again), "--simulate", "--seed", "3"]) == 0
    assert np.array_equal(read_trial(again).ap_cm, trial.ap_cm)


def test_record_replay_is_on_the_files_time_base(tmp_path):
    out = tmp_path / "replay.csv"
    src = BDS / "BDS00037.txt"
    assert main(["record", "--seconds", "20", "--out", str(out), "--replay", str(src)]) == 0
    rec = read_trial(out)
    ref = read_trial(src)
    # Sample times coincide with the file's own sample times.
    idx = np.searchsorted(ref.time_s, rec.time_s)
    assert np.allclose(ref.time_s[idx], rec.time_s, atol=1e-9)
    err_mm = 10 * np.sqrt(np.mean((rec.ap_cm - ref.ap_cm[idx]) ** 2 + (rec.ml_cm - ref.ml_cm[idx]) ** 2))
    assert err_mm < 0.5


@pytest.mark.parametrize(
    "argv, message",
    [
        (["record", "--seconds", "0", "--out", "x.csv", "--simulate"], "--seconds must be between"),
        (["record", "--seconds", "5", "--out", "x.txt", "--simulate"], "must name a .csv file"),
        (["record", "--seconds", "5", "--out", "/nonexistent/dir/x.csv", "--simulate"], "does not exist"),
        (["record", "--seconds", "5", "--out", "x.csv", "--replay", "/nonexistent.txt"], "cannot replay"),
    ],
)
def test_record_refuses_bad_arguments_in_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_record_replay_of_a_bad_file_names_it_once_and_says_the_problem(tmp_path, capsys):
    bad = tmp_path / "not-a-trial.csv"
    bad.write_text("time_s,fz_n\n0,1\n")
    for path, problem in ((bad, "missing column(s) ap_cm, ml_cm"), (tmp_path / "absent.csv", "no such file")):
        assert main(["record", "--seconds", "1", "--out", str(tmp_path / "x.csv"), "--replay", str(path)]) == 1
        err = capsys.readouterr().err.strip()
        assert err.count(str(path)) == 1 and f"cannot replay {path}: " in err and problem in err.lower(), err


def test_record_on_a_machine_without_i2c_says_what_to_do(tmp_path, capsys):
    assert main(["record", "--seconds", "5", "--out", str(tmp_path / "x.csv")]) == 1
    err = capsys.readouterr().err
    assert "I2C" in err and "--simulate" in err


def test_calibrate_simulated_then_doctor_is_happy(tmp_path, capsys):
    assert main(["calibrate", "--simulate", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "residual of the fit" in out
    stored = json.loads((tmp_path / "calibration.json").read_text())
    assert stored["method"] == "measured" and stored["source"] == "simulated:seed=0"
    assert main(["doctor", "--simulate", "--json", "--data-dir", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["frames_lost"] == 0
    assert all(abs(r["measured_hz"] / r["configured_hz"] - 1) < 0.05 for r in report["rates"])
    assert all(0 < n < 0.5 for n in report["noise_n_rms"].values())


def test_tare_only_keeps_the_gains(tmp_path, capsys):
    assert main(["calibrate", "--simulate", "--data-dir", str(tmp_path)]) == 0
    gains = json.loads((tmp_path / "calibration.json").read_text())["n_per_count"]
    assert main(["calibrate", "--simulate", "--tare", "--data-dir", str(tmp_path)]) == 0
    after = json.loads((tmp_path / "calibration.json").read_text())
    assert after["n_per_count"] == gains and after["details"]["tare_only"]


def test_calibrate_needs_two_different_masses(tmp_path, capsys):
    assert main(["calibrate", "--simulate", "--mass", "10", "--mass", "10", "--data-dir", str(tmp_path)]) == 1
    assert "two different known masses" in capsys.readouterr().err


def test_doctor_reports_what_to_fix_without_calibration(tmp_path, capsys):
    assert main(["doctor", "--simulate", "--data-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "What to fix" in out and "balance-station calibrate" in out


def test_doctor_flags_a_noisy_corner():
    from station.acquire.diagnostics import run_diagnostics
    from station.sim.station import SimulatedStation

    station = SimulatedStation(seed=0, calibration="nominal")
    station.simulation.bus.vanish(station.simulation.adc("br"))
    report = run_diagnostics(station, 4.0)
    assert report.corner_states["br"] == "down"
    assert any("corner BR is down" in a for a in report.advice)
    assert any("corner BR (NAU7802) delivered no data" in a for a in report.advice)
