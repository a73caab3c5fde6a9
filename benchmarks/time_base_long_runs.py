"""DESIGN.md §3 (time base, lost frames) over long runs on LateWakeClock(SimulatedClock(), seed), the LSM6DSOX or the
MPU-6050, chip clocks fixed or drifting during the run (temperature-like: every chip's rate error moves each
second along its own warm-up curve and slow wave; or one abrupt step).

Per seed: `minutes` of frames at 100 Hz in 10-s blocks (1-s steps of the drift); checks:
- grid: t_ns at or after deadline_of(seq); trial_columns' time_s == (seq - seq0)/rate exactly;
- lost frames: every seq gap flagged LOST_BEFORE, none without a gap, sum of gaps == frames_lost;
- IMU: samples per frame by the loop's own sample times; every sample's time vs the model's truth (mean, worst
  after 5 s); read == made; numbering never slips;
- drift: at each block's end each corner's newest conversion time vs truth; counted-missed vs truly overwritten
  (from the first 10 s on).

It reads the chip models' and the loop's internals (the truth is only there). Nothing is asserted
(tests/acquire/test_drifting_chip_clocks.py is the short version that is). s28 A6's figures: its commit message.

    python3 benchmarks/time_base_long_runs.py MINUTES lsm6dsox|mpu6050 fixed|warm-up|step SEED...
"""
import math
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from station.acquire.frame import FrameFlag, trial_columns  # noqa: E402
from station.config import CORNERS  # noqa: E402
from station.sim.clock import LateWakeClock, SimulatedClock  # noqa: E402
from station.sim.person import VirtualPerson  # noqa: E402
from station.sim.station import SimulatedStation  # noqa: E402
from tests.acquire.test_imu_sample_times import _newest_read, recording_sample_times  # noqa: E402

def drift_profile(kind, rng, n_chips):
    """rate error of chip i at time t_s, relative to its seeded base."""
    if kind == "fixed":
        return None
    amps = rng.uniform(0.001, 0.003, n_chips) * rng.choice([-1, 1], n_chips)  # warm-up: 0.1-0.3 %
    waves = rng.uniform(0.0002, 0.0008, n_chips)
    phases = rng.uniform(0, 2 * math.pi, n_chips)
    if kind == "warm-up":
        return lambda i, t: amps[i] * (1 - math.exp(-t / 180.0)) + waves[i] * math.sin(2 * math.pi * t / 240.0 + phases[i])
    if kind == "step":  # an abrupt 0.2 % step at 5 min, sign per chip
        return lambda i, t: (0.002 * np.sign(amps[i]) if t >= 300.0 else 0.0)
    raise ValueError(kind)


def run(seed, minutes, imu_model, drift):
    clock = LateWakeClock(SimulatedClock(), seed=seed)
    st = SimulatedStation(None, VirtualPerson.standing_demo(seed=seed), seed=seed, calibration="nominal", clock=clock,
                          imu_model=imu_model)
    loop = st.loop
    rate = loop.rate_hz
    T = loop.period_ns
    model = st.simulation.imu
    adcs = [st.simulation.adc(c) for c in CORNERS]
    chips = adcs + [model]
    base = [c.rate_error for c in chips]
    profile = drift_profile(drift, np.random.default_rng(1000 + seed), len(chips))
    log = recording_sample_times(loop)
    t_start = clock.monotonic_ns()
    all_times, errs, err_t = [], [], []
    corner_time_err = []
    imu_offsets_slip = 0
    last_offset = None
    miss_base = None
    t_wall = time.monotonic()
    frames_all = []
    for block in range(int(minutes * 6)):
        for sec in range(10):
            n = round(rate)
            for _ in range(n):
                loop.step()
                if log:
                    tl, newest_model = _newest_read(model, imu_model)
                    offset = newest_model - (loop._imu_k - 1)
                    if last_offset is not None and offset != last_offset:
                        imu_offsets_slip += 1
                    last_offset = offset
                    for k, t in log:
                        all_times.append(t)
                        errs.append(t - tl.time_of(k + offset))
                        err_t.append(t)
                    log.clear()
            frames_all.append(st._take())
            if profile is not None:
                now = clock.monotonic_ns()
                t_s = (now - t_start) / 1e9
                for i, chip in enumerate(chips):
                    chip.set_rate_error(base[i] + profile(i, t_s), now)
        for i, c in enumerate(CORNERS):
            m = adcs[i]
            if not m._cr and loop._k[i] is not None:
                corner_time_err.append(loop.chip_clocks[i].time_of(loop._k[i]) - (m._run_first_ns + m._last_k * m._period_ns))
        ow = [loop._corner_missed[i] - (adcs[i]._last_k - int(adcs[i]._cr) - loop._corner_conversions[i]) for i in range(4)]
        if miss_base is None:
            miss_base = ow
        miss_off = [a - b for a, b in zip(ow, miss_base)]
    frames = np.concatenate(frames_all)
    seq = frames["seq"].astype(np.int64)
    flags = frames["flags"].astype(np.int64)
    gaps = np.diff(seq) - 1
    lost_flag = (flags[1:] & int(FrameFlag.LOST_BEFORE)) != 0
    dls = loop.deadline_of(0) + seq * T
    late = frames["t_ns"].astype(np.int64) - dls
    times = np.sort(np.array(all_times, dtype=np.float64))
    counts = np.searchsorted(times, dls, side="right") - np.searchsorted(times, dls - T, side="right")
    cols = trial_columns(frames, rate, seq0=int(seq[0]))
    grid_ok = np.array_equal(cols["time_s"], (seq - seq[0]) / rate)
    s = loop.stats
    e = np.array(errs) / 1e6
    et = (np.array(err_t) - t_start) / 1e9
    e5 = e[et > 5]
    made = _newest_read(model, imu_model)[1] + 1  # up to the newest read (those still in the FIFO are not yet)
    cor_err = np.abs(np.array(corner_time_err)) / 1e6
    rates_now = {k: (None if v is None else round(v, 2)) for k, v in loop.chip_rates_hz().items()}
    final_true = [round(1e9 / a._period_ns, 2) for a in adcs] + [round(1e9 / (_newest_read(model, imu_model)[0].period_ns), 2)]
    print(f"seed {seed} {imu_model} drift={drift} {minutes} min ({time.monotonic() - t_wall:.0f} s wall): frames {len(frames)}, "
          f"lost {s.frames_lost} (gaps {int(gaps.sum())}, gap frames flagged {int(np.count_nonzero(lost_flag & (gaps > 0)))}/"
          f"{int(np.count_nonzero(gaps > 0))}, LOST_BEFORE without gap {int(np.count_nonzero(lost_flag & (gaps == 0)))}), "
          f"late {s.frames_late}, t_ns before deadline {int(np.count_nonzero(late < 0))}, max behind {late.max() / 1e6:.1f} ms; "
          f"time_s on grid {grid_ok}; IMU per frame {dict(sorted(Counter(counts[1:].tolist()).items()))}, "
          f"IMU_STALE {int(np.count_nonzero(flags & int(FrameFlag.IMU_STALE)))}, IMU_LOST {int(np.count_nonzero(flags & int(FrameFlag.IMU_LOST)))}, "
          f"imu read {s.imu_samples} of {made} made (overflows {s.imu_fifo_overflows}, emptied {s.imu_samples_emptied}, "
          f"in lost frames {s.imu_samples_in_lost_frames}), numbering slips {imu_offsets_slip}; "
          f"IMU time error mean {e5.mean():+.3f} ms, worst {np.abs(e5).max():.3f} ms after 5 s (by minute: "
          f"{[round(float(np.abs(e[(et >= 60 * j) & (et < 60 * (j + 1))]).max()), 2) for j in range(int(minutes))]}); "
          f"corner time error max {np.nanmax(cor_err):.3f} ms; counted missed less truly overwritten {miss_off}; "
          f"conversions missed {s.conversions_missed}, in lost frames {s.conversions_in_lost_frames}; rates measured {rates_now} true {final_true}",
          flush=True)


if __name__ == "__main__":
    minutes = float(sys.argv[1])
    imu_model = sys.argv[2]
    drift = sys.argv[3]
    for seed in [int(a) for a in sys.argv[4:]]:
        run(seed, minutes, imu_model, drift)
