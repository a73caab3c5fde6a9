"""The RP2040 front end chosen in the configuration file, through the station's commands on the
simulated hardware (calibrate, doctor, record), and the checks of its settings."""

from __future__ import annotations

import json

import numpy as np

from station.acquire.diagnostics import run_diagnostics
from station.cli import main
from station.config import AcquisitionConfig, PlateConfig, StationConfig
from station.hw.rp2040 import RP2040FrontEnd
from station.sim.station import SimulatedStation
from station.store.trialfile import read_trial

RP2040_80 = '[plate]\nfront_end = "rp2040"\nadc_rate_sps = 80\n\n[acquisition]\nrate_hz = 80.0\n'
RP2040_320 = '[plate]\nfront_end = "rp2040"\nadc_rate_sps = 320\n'


def _config_file(tmp_path, text):
    path = tmp_path / "station.toml"
    path.write_text(text)
    return str(path)


def test_calibrate_then_doctor_on_the_rp2040_plate(tmp_path, capsys):
    config = _config_file(tmp_path, RP2040_80)
    assert main(["calibrate", "--simulate", "--config", config, "--data-dir", str(tmp_path)]) == 0
    assert "residual of the fit" in capsys.readouterr().out
    assert main(["doctor", "--simulate", "--seconds", "4", "--json", "--config", config, "--data-dir", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["frames_lost"] == 0 and report["advice"] == []
    corners = [r for r in report["rates"] if r["chip"].startswith("corner")]
    assert [r["chip"] for r in corners] == [f"corner {c} (HX711)" for c in ("FL", "FR", "BL", "BR")]
    assert all(abs(r["measured_hz"] / 80 - 1) < 0.03 for r in corners)  # the slowest board's oscillator
    # HX711 at gain 128, 80 SPS: 90 nV RMS on 8.8 µV/N (4.3 V excitation, 1 mV/V, 50 kg cells) ≈ 0.01 N.
    assert all(0.005 < n < 0.02 for n in report["noise_n_rms"].values())


def test_doctor_names_the_board_of_a_chip_that_is_not_ready():
    station = SimulatedStation(StationConfig(plate=PlateConfig(front_end="rp2040", adc_rate_sps=80)), seed=0,
                               calibration="nominal")
    assert isinstance(station.hardware.plate, RP2040FrontEnd)
    station.simulation.adc("br").set_not_ready()
    report = run_diagnostics(station, 4.0)
    assert report.corner_states["br"] == "down" and report.corner_states["fl"] == "ok"
    assert any("corner BR is down" in a and "DOUT on GP5" in a for a in report.advice)
    # Its rate (over the last ~2 s, part of it before the fault) is far below the others'.
    rates = {r.name: r.measured_hz for r in report.rates}
    assert rates["corner BR (HX711)"] is None or rates["corner BR (HX711)"] < 0.6 * rates["corner FL (HX711)"]
    assert any(a.startswith("corner BR (HX711) del") for a in report.advice)
    health = station.health()
    assert health["sensors"]["br"]["status"] == "down" and health["front_end"]["last_error"] == "a chip not ready"


def test_record_on_hx717_boards_at_320_sps(tmp_path, capsys):
    config = _config_file(tmp_path, RP2040_320)
    out = tmp_path / "t.csv"
    assert main(["record", "--seconds", "11", "--out", str(out), "--simulate", "--seed", "2", "--config", config,
                 "--timing", "pi-under-load", "--data-dir", str(tmp_path)]) == 0
    trial = read_trial(out)
    assert len(trial.time_s) == 1100 and np.all(np.diff(trial.time_s) > 0)
    assert np.isfinite(trial.ap_cm).all()
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["rate_hz"] == 100.0


def test_a_configuration_the_boards_cannot_do_is_refused_with_what_is_allowed(tmp_path, capsys):
    config = _config_file(tmp_path, '[plate]\nfront_end = "rp2040"\nadc_rate_sps = 40\nrp2040_address = 0x2A\n')
    assert main(["config", "check", "--config", config]) == 1
    err = capsys.readouterr().err
    assert 'plate.adc_rate_sps = 40: allowed with plate.front_end = "rp2040": 10 or 80 (HX711)' in err
    config = _config_file(tmp_path, '[plate]\nfront_end = "rp2040"\nrp2040_address = 0x90\n')
    assert main(["config", "check", "--config", config]) == 1
    assert "plate.rp2040_address" in capsys.readouterr().err


def test_a_board_losing_power_mid_run_costs_its_corner_only_and_comes_back():
    from station.acquire.frame import FrameFlag

    config = StationConfig(plate=PlateConfig(front_end="rp2040", adc_rate_sps=80),
                           acquisition=AcquisitionConfig(rate_hz=80.0))
    station = SimulatedStation(config, None, seed=0, calibration="nominal")
    station.run_seconds(1)
    br = station.simulation.adc("br")
    br.set_not_ready()
    off = station.run_seconds(0.5)
    br.set_not_ready(False)
    br.power_up(station.clock.monotonic_ns())
    back = station.run_seconds(2.5)
    frames = np.concatenate([off, back])
    assert station.loop.stats.frames_lost == 0 and station.loop.stats.recoveries == 1
    fault_br = frames["flags"] & int(FrameFlag.FAULT_BR) != 0
    # BR is out from the firmware's watch (5 periods after it stopped) until the next check once a
    # second finds it converting again; then it is read as before.
    assert 30 < fault_br.sum() < 160 and not fault_br[-80:].any()
    others = int(FrameFlag.STALE_FL | FrameFlag.STALE_FR | FrameFlag.STALE_BL)
    # The other corners miss only the sets of the watch itself (no set while the PIO waits for BR).
    assert np.count_nonzero(frames["flags"] & others) <= 12
    assert station.health()["sensors"]["br"]["status"] == "ok"


def test_doctor_counts_the_front_ends_errors_and_says_what_to_check():
    station = SimulatedStation(StationConfig(plate=PlateConfig(front_end="rp2040", adc_rate_sps=80),
                                             acquisition=AcquisitionConfig(rate_hz=80.0)), seed=0, calibration="nominal")
    sim = station.simulation
    sim.front_end.inject_desync("fl", sets=3)
    sim.bus.corrupt_reads(sim.front_end, count=1, byte_index=12, xor_mask=0x40, after=3)
    report = run_diagnostics(station, 3.0)
    fe = report.front_end
    assert fe["desync_values"] == 3 and fe["crc_errors"] == 1 and fe["sets_lost"] == 0 and fe["sets"] > 200
    assert any("3 values lost step" in a and "SCK and DOUT" in a for a in report.advice)
    assert any("failed their CRC (read again, nothing lost)" in a for a in report.advice)
    assert report.to_dict()["front_end"] == fe


def test_a_corner_at_full_scale_is_saturated_and_flagged_then_ok_again_once_back_in_range():
    """Values at the ADC's rails take the driver's general path (the short one is for four counts
    in range while every corner is ok): the corner is 'saturated', its frames SATURATED and
    INVALID, the other corners still ok; back in range, everything is ok and counted as before."""
    from station.acquire.frame import FrameFlag
    from station.sim.static_load import ConstantLoad

    station = SimulatedStation(StationConfig(plate=PlateConfig(front_end="rp2040", adc_rate_sps=320)),
                               ConstantLoad(fz_n=700.0), seed=0, calibration="nominal")
    station.run_seconds(0.5)
    plate = station.loop.plate
    station.simulation.set_load_source(ConstantLoad(fz_n=8000.0, ap_cm=20.0, ml_cm=-20.0))  # all on FL
    over = station.run_seconds(0.3)[3:]
    assert over["fl_counts"].max() == RP2040FrontEnd.FULL_SCALE_COUNTS
    assert np.all(over["flags"] & int(FrameFlag.SATURATED)) and np.all(over["flags"] & int(FrameFlag.INVALID))
    assert np.isnan(over["ap_cm"]).all() and plate.corner_state == ["saturated", "ok", "ok", "ok"]
    assert station.health()["sensors"]["fl"]["status"] == "saturated"
    station.simulation.set_load_source(ConstantLoad(fz_n=700.0))
    back = station.run_seconds(0.5)[3:]
    assert not np.any(back["flags"] & int(FrameFlag.SATURATED | FrameFlag.INVALID))
    assert plate.corner_state == ["ok"] * 4 and plate.sets_lost == 0
    assert len(set(plate.new_counts)) == 1 and plate.new_counts[0] == plate.sets  # every value of every set
