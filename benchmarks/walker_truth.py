"""How well the station's gait analysis recovers the virtual walker's truth, over many seeds.

For each gait pattern and direction (``fast``: the pattern at its fastest safe pace,
``station.sim.walker.at_fast_pace``, as the 3-m backward walk asks), 20 seeded walks of 10 m (overground) are sampled at 100 Hz
from the walker (the signals the simulated IMU reads, before the chip's noise), aligned to the
body frame with the station's mounting and analysed with ``station.analysis.gait``; initial
contacts are matched to the truth within 0.2 s. Prints one line per pattern and direction:
F1 (pooled), mean absolute timing error (ms), worst seed's F1, and the cadence error
(mean and worst, steps/min). Then, for each pattern and direction, 30-s treadmill walks with one
standing pause shorter than the 3-s break (1.2, 1.8 and 2.5 s; ``--pause-seeds`` seeds each), which
stay one walking bout: F1 (pooled), contacts found inside the pauses (steps invented while standing)
and the cadence error against the truth's cadence by the same definition (every stride of 0.2-3 s,
the pause's strides included). Nothing is asserted: the tests hold the limits.

    python3 benchmarks/walker_truth.py [--seeds N] [--pause-seeds N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from station.analysis.gait import gait_metrics  # noqa: E402
from station.analysis.imu_frame import align_to_body  # noqa: E402
from station.sim.walker import PATTERNS, SENSOR_MOUNTING, Pause, VirtualWalker, at_fast_pace  # noqa: E402
from tests.protocols.walk_support import match, truth_cadence  # noqa: E402

CASES = [("forward", "healthy"), ("forward", "older"), ("forward", "fast"), ("forward", "hemiparetic"),
         ("backward", "backward"), ("backward", "older-backward"), ("backward", "hemiparetic-backward"),
         ("backward", "backward fast"), ("backward", "older-backward fast"), ("backward", "hemiparetic-backward fast")]


def _pattern(case: str):
    """A case's gait pattern: a name of ``PATTERNS``, or one followed by `` fast`` (at its fast pace)."""
    name, _, pace = case.partition(" ")
    return at_fast_pace(PATTERNS[name]) if pace == "fast" else PATTERNS[name]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--pause-seeds", type=int, default=2)
    args = parser.parse_args()
    fs = 100.0
    print(f"{'direction':9} {'pattern':26} {'F1':>6} {'err ms':>7} {'worst F1':>8} {'cad err':>8} {'worst':>6}")
    for direction, pattern in CASES:
        tp = n_truth = n_found = 0
        errors, f1s, cad = [], [], []
        for seed in range(args.seeds):
            walker = VirtualWalker(seed=seed)
            plan = walker.walk(1.0, direction=direction, pattern=_pattern(pattern), walkway_m=10.0)
            t = np.arange(0.0, plan.end_s + 2.0, 1.0 / fs)
            acc, gyro = walker.sample(t)
            body, _ = align_to_body(acc, gyro, up_axis=SENSOR_MOUNTING[0], toes_axis=SENSOR_MOUNTING[1], fs_hz=fs)
            gait = gait_metrics(body, fs, sensor_height_m=walker.sensor_height_m)
            found = np.array(gait["initial_contacts_s"])
            f1, err = match(plan.initial_contacts_s, found)
            f1s.append(f1)
            errors.append(err)
            matched = round(f1 * (plan.initial_contacts_s.size + found.size) / 2)
            tp += matched
            n_truth += plan.initial_contacts_s.size
            n_found += found.size
            cad.append(abs(gait["cadence_steps_min"] - truth_cadence(plan)))
        pooled = 2 * tp / (n_truth + n_found)
        print(f"{direction:9} {pattern:26} {pooled:6.3f} {1000 * np.mean(errors):7.1f} {min(f1s):8.3f} "
              f"{np.mean(cad):8.2f} {max(cad):6.2f}")
    _short_pauses(args.pause_seeds, fs)
    return 0


def _short_pauses(seeds: int, fs: float) -> None:
    print(f"\ntreadmill, one pause of 1.2/1.8/2.5 s\n{'direction':9} {'pattern':26} {'F1':>6} "
          f"{'in pauses':>9} {'cad err':>8} {'worst':>6}")
    for direction, pattern in CASES:
        tp = n_truth = n_found = in_pauses = 0
        cad = []
        for pause_s in (1.2, 1.8, 2.5):
            for seed in range(seeds):
                walker = VirtualWalker(seed=seed)
                plan = walker.walk(1.0, direction=direction, pattern=_pattern(pattern), setting="treadmill", duration_s=30.0,
                                   pauses=(Pause(10.0, pause_s),))
                t = np.arange(0.0, plan.end_s + 2.0, 1.0 / fs)
                acc, gyro = walker.sample(t)
                body, _ = align_to_body(acc, gyro, up_axis=SENSOR_MOUNTING[0], toes_axis=SENSOR_MOUNTING[1], fs_hz=fs)
                gait = gait_metrics(body, fs, sensor_height_m=walker.sensor_height_m)
                found = np.array(gait["initial_contacts_s"])
                truth = plan.initial_contacts_s
                f1, _err = match(truth, found)
                tp += round(f1 * (truth.size + found.size) / 2)
                n_truth += truth.size
                n_found += found.size
                in_pauses += sum(int(np.count_nonzero((found > a + 0.2) & (found < b - 0.2))) for a, b in plan.pauses)
                strides = truth[2:] - truth[:-2]
                cad.append(abs(gait["cadence_steps_min"] - float(np.mean(120.0 / strides[strides <= 3.0]))))
        print(f"{direction:9} {pattern:26} {2 * tp / (n_truth + n_found):6.3f} {in_pauses:9d} {np.mean(cad):8.2f} "
              f"{max(cad):6.2f}")


if __name__ == "__main__":
    raise SystemExit(main())
