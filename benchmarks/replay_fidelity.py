"""Replay fidelity (DESIGN.md §6) of a plate front end: every Santos & Duarte recording replayed
through the simulated plate and recorded by the station, compared with the source.

For each clock (wake-ups on time, and late like a Pi 4 under load) prints the COP error (mm RMS,
worst and mean over the files), the worst relative error of the 95 % ellipse area and of the
10 Hz low-passed mean velocity (%), and the frames lost. Nothing is asserted: the pipeline tests
hold the budget (0.5 mm, 2 %).

    python3 benchmarks/replay_fidelity.py [--front-end nau7802|rp2040] [--adc-rate-sps N]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from station.analysis.gaps import compute_metrics_with_gaps
from station.analysis.metrics import compute_metrics
from station.config import PlateConfig, StationConfig
from station.sim.replay import ReplaySource
from station.sim.station import SimulatedStation

BDS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bds"


def replay_once(path: Path, config: StationConfig, calibration, timing: str) -> tuple[float, float, float, int]:
    replay = ReplaySource.from_file(path)
    station = SimulatedStation(config, replay, seed=0, calibration=calibration, timing=timing)
    end_ns = (replay.duration_s - 0.01) * 1e9
    blocks = []
    while station.loop.next_deadline_ns < end_ns:
        blocks.append(station.run_frames(100 if station.loop.next_deadline_ns + 1.2e9 < end_ns else 1))
    frames = np.concatenate(blocks)
    grid_s = np.array([station.loop.deadline_of(int(s)) for s in frames["seq"]]) / 1e9
    time_s = np.array([replay.file_time_s(t - 0.005) for t in grid_s])  # each frame: its period's mean
    src = np.loadtxt(path, skiprows=1)
    ap = np.interp(time_s, src[:, 0], src[:, 7])
    ml = np.interp(time_s, src[:, 0], src[:, 8])
    err_mm = 10 * float(np.sqrt(np.mean((frames["ap_cm"] - ap) ** 2 + (frames["ml_cm"] - ml) ** 2)))
    grid_index = frames["seq"].astype(np.int64) - int(frames["seq"][0])
    got = compute_metrics_with_gaps(frames["ap_cm"], frames["ml_cm"], 100.0, "station", grid_index=grid_index)["metrics"]
    ref = compute_metrics(ap, ml, 100.0, profile="station")["metrics"]
    area = abs(got["ellipse_area_cm2"] / ref["ellipse_area_cm2"] - 1) * 100
    velocity = abs(got["mean_velocity_cm_s"] / ref["mean_velocity_cm_s"] - 1) * 100
    return err_mm, area, velocity, station.loop.stats.frames_lost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--front-end", choices=("nau7802", "rp2040"), default="rp2040")
    parser.add_argument("--adc-rate-sps", type=int, default=320)
    args = parser.parse_args()
    config = StationConfig(plate=PlateConfig(front_end=args.front_end, adc_rate_sps=args.adc_rate_sps))
    calibration = SimulatedStation(config, None, seed=0, calibration="auto").calibration
    files = sorted(BDS.glob("BDS*.txt"))
    for timing in ("ideal", "pi-under-load"):
        rows = [replay_once(path, config, calibration, timing) for path in files]
        err, area, velocity, lost = (np.array(col) for col in zip(*rows))
        print(f"{args.front_end} {args.adc_rate_sps} SPS, {timing}: {len(files)} files, COP error worst "
              f"{err.max():.3f} mm RMS (mean {err.mean():.3f}); ellipse area worst {area.max():.2f} %, "
              f"velocity worst {velocity.max():.2f} %; frames lost {int(lost.sum())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
