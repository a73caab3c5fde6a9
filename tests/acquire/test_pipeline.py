"""End to end: load source → simulated chips on the simulated bus → drivers → acquisition loop → frames."""

from pathlib import Path

import numpy as np
import pytest

from station.acquire.frame import FrameFlag
from station.sim.station import SimulatedStation
from station.analysis.gaps import compute_metrics_with_gaps
from station.analysis.metrics import compute_metrics
from station.config import AcquisitionConfig, PlateConfig, StationConfig
from station.sim.person import VirtualPerson
from station.sim.replay import ReplaySource

BDS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "bds"
BDS_FILES = sorted(BDS.glob("BDS*.txt"))


def _true_cop(source, frames):
    loads = [source.plate_load(t) for t in frames["t_ns"] / 1e9]
    return np.array([l.ap_cm for l in loads]), np.array([l.ml_cm for l in loads]), np.array([l.fz_n for l in loads])


def test_guided_calibration_recovers_the_simulated_cells():
    station = SimulatedStation(seed=3, calibration="auto")
    cal = station.calibration
    assert cal.method == "measured" and cal.source == "simulated:seed=3"
    assert cal.residual_n < 1.0
    cells = station.simulation.cells
    assert len(cells) == 4


TIMINGS = ["ideal", "pi-under-load"]
FRONT_ENDS = {
    "nau7802": StationConfig(),
    # Four HX717 boards at 320 SPS read at once by the RP2040 front end (firmware/rp2040).
    "rp2040": StationConfig(plate=PlateConfig(front_end="rp2040", adc_rate_sps=320)),
}


def _grid_s(station, frames):
    """Each frame's place on the sample grid, s on the station clock (its deadline)."""
    return np.array([station.loop.deadline_of(int(s)) for s in frames["seq"]]) / 1e9


@pytest.mark.parametrize("front_end", FRONT_ENDS)
@pytest.mark.parametrize("timing", TIMINGS)
def test_virtual_person_cop_within_noise_budget(calibrated_station, timing, front_end):
    person = VirtualPerson.standing_demo(seed=5)
    station = calibrated_station(person, seed=0, timing=timing, config=FRONT_ENDS[front_end])
    frames = station.run_seconds(20)
    lost = station.loop.stats.frames_lost
    assert len(frames) == 2000
    assert np.diff(frames["seq"].astype(int)).sum() == len(frames) - 1 + lost
    # Each frame is the mean over its period on the grid: compare with the truth there (a frame
    # woken late is still the same period's mean).
    loads = [person.plate_load(t - 0.005) for t in _grid_s(station, frames)]
    ap, ml, fz = (np.array([getattr(x, k) for x in loads]) for k in ("ap_cm", "ml_cm", "fz_n"))
    err_mm = 10 * np.sqrt(np.mean((frames["ap_cm"] - ap) ** 2 + (frames["ml_cm"] - ml) ** 2))
    assert err_mm < 0.5, err_mm
    assert np.allclose(frames["fz_n"], fz, rtol=0.01)
    assert not np.any(frames["flags"] & int(FrameFlag.INVALID | FrameFlag.UNCALIBRATED))
    if timing == "ideal" or front_end == "rp2040":  # the RP2040 keeps the sets through a late wake-up
        assert lost == 0 and not np.any(frames["flags"] & int(FrameFlag.LOST_BEFORE))
    else:
        assert lost <= 0.02 * 2000
    # The IMU worn at the lower back reads gravity on +z.
    assert np.nanmean(frames["az_m_s2"]) == pytest.approx(9.81, abs=0.2)


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_nominal_calibration_is_flagged_and_reported(calibrated_station, front_end):
    station = SimulatedStation(FRONT_ENDS[front_end], seed=0, calibration="nominal")
    frames = station.run_seconds(1.5)
    assert np.all(frames["flags"] & int(FrameFlag.UNCALIBRATED))
    health = station.health()
    assert health["state"] == "degraded" and "calibrate" in health["reason"]


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_empty_plate_gives_low_load_frames_without_cop(calibrated_station, front_end):
    frames = calibrated_station(None, config=FRONT_ENDS[front_end]).run_seconds(1)
    assert np.all(frames["flags"] & int(FrameFlag.LOW_LOAD))
    assert np.all(np.isnan(frames["ap_cm"])) and np.all(np.abs(frames["fz_n"]) < 5)


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_same_seed_same_frames_and_other_seed_differs(calibrated_station, front_end):
    config = FRONT_ENDS[front_end]
    a = calibrated_station(VirtualPerson.standing_demo(seed=1), seed=0, config=config).run_seconds(5)
    b = calibrated_station(VirtualPerson.standing_demo(seed=1), seed=0, config=config).run_seconds(5)
    c = calibrated_station(VirtualPerson.standing_demo(seed=1), seed=1, config=config).run_seconds(5)
    assert a.tobytes() == b.tobytes()
    assert not np.array_equal(a["fl_counts"], c["fl_counts"])


REPLAYS = ([(path, "ideal", "nau7802") for path in BDS_FILES] + [(path, "pi-under-load", "nau7802") for path in BDS_FILES[::4]]
           + [(path, "ideal", "rp2040") for path in BDS_FILES[1::4]] + [(path, "pi-under-load", "rp2040") for path in BDS_FILES[2::4]])
"""Every recording on the ideal clock, every fourth also on the Pi-like one; on the RP2040 front
end two others on each clock (the suite's time; benchmarks/replay_fidelity.py runs them all)."""


@pytest.mark.parametrize(("path", "timing", "front_end"), REPLAYS, ids=lambda v: getattr(v, "stem", v))
def test_replayed_recording_comes_back_within_budget(path, calibrated_station, timing, front_end):
    assert BDS_FILES, f"no Santos & Duarte files in {BDS}"
    replay = ReplaySource.from_file(path)
    station = calibrated_station(replay, seed=0, timing=timing, config=FRONT_ENDS[front_end])
    end_ns = (replay.duration_s - 0.01) * 1e9
    blocks = []
    while station.loop.next_deadline_ns < end_ns:  # every slot of the recording, lost ones included
        blocks.append(station.run_frames(100 if station.loop.next_deadline_ns + 1.2e9 < end_ns else 1))
    frames = np.concatenate(blocks)
    # Each frame is its period's mean (a boxcar centred half a period before its deadline).
    time_s = np.array([replay.file_time_s(t - 0.005) for t in _grid_s(station, frames)])
    src = np.loadtxt(path, skiprows=1)
    ap_src = np.interp(time_s, src[:, 0], src[:, 7])
    ml_src = np.interp(time_s, src[:, 0], src[:, 8])
    err_mm = 10 * np.sqrt(np.mean((frames["ap_cm"] - ap_src) ** 2 + (frames["ml_cm"] - ml_src) ** 2))
    assert err_mm < 0.5, f"COP error {err_mm:.3f} mm RMS"
    # The recording's lost frames (pi-under-load) are bridged explicitly, as analyze does.
    grid_index = frames["seq"].astype(np.int64) - int(frames["seq"][0])
    rec = compute_metrics_with_gaps(frames["ap_cm"], frames["ml_cm"], 100.0, "station", grid_index=grid_index)["metrics"]
    ref = compute_metrics(ap_src, ml_src, 100.0, profile="station")["metrics"]
    assert rec["ellipse_area_cm2"] == pytest.approx(ref["ellipse_area_cm2"], rel=0.02)
    assert rec["mean_velocity_cm_s"] == pytest.approx(ref["mean_velocity_cm_s"], rel=0.02)


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_320_hz_frames_are_chip_paced_without_loss(calibrated_station, front_end):
    config = StationConfig(plate=FRONT_ENDS[front_end].plate, acquisition=AcquisitionConfig(rate_hz=320.0))
    station = SimulatedStation(config, VirtualPerson.standing_demo(seed=2), seed=0, calibration="nominal")
    frames = station.run_seconds(5)
    assert len(frames) == 1600
    assert np.all(np.diff(frames["seq"]) == 1)
    assert station.loop.stats.frames_lost == 0
    # Corners whose own clock runs slow are sometimes repeated, and flagged, never silently.
    flagged = sum(
        int(np.count_nonzero(frames["flags"] & int(f)))
        for f in (FrameFlag.STALE_FL, FrameFlag.STALE_FR, FrameFlag.STALE_BL, FrameFlag.STALE_BR)
    )
    assert flagged == station.loop.stats.corner_stale
    print(f"320 Hz: {flagged} stale corner readings in 1600 frames")
