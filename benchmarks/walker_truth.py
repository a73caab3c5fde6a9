"""How well the station's gait analysis recovers the virtual walker's truth, over many seeds.

For each gait pattern and direction, 20 seeded walks of 10 m (overground) are sampled at 100 Hz
from the walker (the signals the simulated IMU reads, before the chip's noise), aligned to the
body frame with the station's mounting and analysed with ``station.analysis.gait``; initial
contacts are matched to the truth within 0.2 s. Prints one line per pattern and direction:
F1 (pooled), mean absolute timing error (ms), worst seed's F1, and the cadence error
(mean and worst, steps/min). Nothing is asserted: the tests hold the limits.

    python3 benchmarks/walker_truth.py [--seeds N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from station.analysis.gait import gait_metrics  # noqa: E402
from station.analysis.imu_frame import align_to_body  # noqa: E402
from station.sim.walker import SENSOR_MOUNTING, VirtualWalker  # noqa: E402
from tests.protocols.walk_support import match, truth_cadence  # noqa: E402

CASES = [("forward", "healthy"), ("forward", "older"), ("forward", "fast"), ("forward", "hemiparetic"),
         ("backward", "backward"), ("backward", "hemiparetic-backward")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    fs = 100.0
    print(f"{'direction':9} {'pattern':21} {'F1':>6} {'err ms':>7} {'worst F1':>8} {'cad err':>8} {'worst':>6}")
    for direction, pattern in CASES:
        tp = n_truth = n_found = 0
        errors, f1s, cad = [], [], []
        for seed in range(args.seeds):
            walker = VirtualWalker(seed=seed)
            plan = walker.walk(1.0, direction=direction, pattern=pattern, walkway_m=10.0)
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
        print(f"{direction:9} {pattern:21} {pooled:6.3f} {1000 * np.mean(errors):7.1f} {min(f1s):8.3f} "
              f"{np.mean(cad):8.2f} {max(cad):6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
