"""How far off the IMU's sample times are in a recording's first seconds and after, by the loop and by
every line that keeps the bounds of each read of the last 5 s (s28 A7, job 2; s29 A8).

Each FIFO read bounds its samples: the newest made by the end of the read of the FIFO's level, the next
one not before its start. Since s29 the loop (station/acquire/loop.py ``_imu_sample_times``) times them on
the centroid of the lines t(k) = a + k*P those bounds allow over the last 6-9 s
(station/acquire/readbounds.py ``ReadBounds``), falling back to its regression (fitted over about 5 s,
``IMU_FIT_DECAY``) while they leave the time open by most of a period. Before, the regression alone: for
the MPU-6050 at 200 Hz into 100-Hz frames, two samples a frame, the samples' phase against the reads
comes round only once in 1-5 s (its clock 0.1-0.5 % off), and until then the windows' middles are off
by the same unknown phase.

Per clock and seed, the newest sample of each read is timed two ways against the chip model's true
time: by the loop (``loop``), and offline from the reads alone (``bounds``): every line t(k) = a + k*P
with P within the 2 % tolerance of nominal (801 slopes) that keeps every read of the last 5 s
(t(k_j) <= end_j, t(k_j + 1) > start_j), its time of the newest sample taken as the middle of what
those lines allow, weighted by how much they allow (the centroid, as the loop's, on a grid of slopes
and over a sliding window). Where the reads cannot tell the phase (the ideal clock before the phase
has come round once) both are as far off as the regression was.

Nothing is asserted (tests/acquire/test_imu_sample_times.py holds the loop's bounds).

    python3 benchmarks/imu_first_seconds.py [--seconds S] [--imu mpu6050|lsm6dsox]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from station.sim.clock import LateWakeClock, SimulatedClock  # noqa: E402
from station.sim.person import VirtualPerson  # noqa: E402
from station.sim.station import SimulatedStation  # noqa: E402
from tests.acquire.test_imu_sample_times import _newest_read, recording_sample_times  # noqa: E402

RUNS = (("ideal", 0), ("ideal", 1), ("ideal", 2), ("pi-under-load", 1), ("pi-under-load", 2), ("pi-under-load", 3))
BANDS_S = ((0, 1), (1, 5), (5, None))


class _Observed:
    """Stands in for the loop's IMU chip clock for one step and notes each read's (k, start, end)."""

    def __init__(self, inner, reads):
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_reads", reads)

    def observe(self, k, lo, hi):
        self._reads.append((k, lo + self._inner.period_ns, hi))  # the loop observes (start - period, end]
        return self._inner.observe(k, lo, hi)

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def __setattr__(self, name, value):
        setattr(self._inner, name, value)


def reads_of_a_recording(imu_model: str, timing: str, seed: int, seconds: float):
    """Per frame with a read: (newest k, level read's start, its end, the loop's time of k, k's true time), ns;
    and the rate the driver set (nominal)."""
    clock = SimulatedClock() if timing == "ideal" else LateWakeClock(SimulatedClock(), seed=seed)
    station = SimulatedStation(None, VirtualPerson.standing_demo(seed=seed), seed=seed, calibration="nominal",
                               clock=clock, imu_model=imu_model)
    loop, model = station.loop, station.simulation.imu
    seen = recording_sample_times(loop)
    rows = []
    for _ in range(round(seconds * loop.rate_hz)):
        chip, reads = loop._imu_clock, []
        if chip is not None:
            loop._imu_clock = _Observed(chip, reads)
        seen.clear()
        loop.step()
        if chip is not None and isinstance(loop._imu_clock, _Observed):
            loop._imu_clock = chip
        if reads and seen:
            timeline, newest = _newest_read(model, imu_model)
            offset = newest - (loop._imu_k - 1)
            k, start, end = reads[-1]
            rows.append((k, start, end, dict(seen)[k], timeline.time_of(k + offset)))
    return np.array(rows, dtype=float), loop.imu.rate_hz


def bounds_time(k, start, end, nominal_ns: float, slopes: np.ndarray) -> float:
    """Time of sample ``k[-1]`` by every line that keeps all the reads given, ns (nan if none does)."""
    d = (k - k[-1])[None, :]
    period = nominal_ns * (1.0 + slopes)[:, None]
    hi = np.min(end[None, :] - d * period, axis=1)
    lo = np.max(start[None, :] - (d + 1) * period, axis=1)
    width = hi - lo
    ok = width > 0
    if not ok.any():
        return float("nan")
    return float(np.sum(0.5 * (hi + lo)[ok] * width[ok]) / np.sum(width[ok]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--imu", choices=("mpu6050", "lsm6dsox"), default="mpu6050")
    args = parser.parse_args()
    slopes = np.linspace(-0.02, 0.02, 801)
    print(f"{args.imu}, {args.seconds:g} s standing: |time - true time| of each read's newest sample, ms "
          f"(mean / worst), by the loop and from the reads' bounds")
    for timing, seed in RUNS:
        rows, rate_hz = reads_of_a_recording(args.imu, timing, seed, args.seconds)
        k, start, end, loop_t, true_t = rows.T
        keep = round(5 * 100)  # the reads of the last 5 s
        est = np.array([bounds_time(k[max(0, j - keep + 1):j + 1], start[max(0, j - keep + 1):j + 1],
                                    end[max(0, j - keep + 1):j + 1], 1e9 / rate_hz, slopes) for j in range(len(k))])
        t_s = (end - end[0]) / 1e9
        parts = []
        for a, b in BANDS_S:
            sel = (t_s >= a) & (t_s < (b if b is not None else np.inf))
            name = f"{a}-{b} s" if b is not None else f"after {a} s"
            e_loop = np.abs(loop_t - true_t)[sel] / 1e6
            e_bounds = np.abs(est - true_t)[sel] / 1e6
            parts.append(f"{name}: loop {e_loop.mean():.2f} / {e_loop.max():.2f}, bounds "
                         f"{np.nanmean(e_bounds):.2f} / {np.nanmax(e_bounds):.2f}")
        print(f"{timing:14} seed {seed}: " + "; ".join(parts), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
