"""The limits-of-stability analysis on the virtual person's leans, over many seeds.

For each age group and seed, a person of 165 cm leans toward all eight targets (asked for 130 % of
the theoretical limit, so as far as its own limits allow), 12 s apart, and comes back; the COP,
total and corner forces are sampled at 100 Hz straight from the person (no plate, no acquisition)
and analysed with ``station.analysis.limits_of_stability.limits_of_stability``. Prints the share
of leans per quality code (a valid lean of the person flagged ``moved_before_go`` is the onset rule
misfiring), the leans whose endpoint excursion stays under 20 % although their maximum excursion is
over 40 % (an onset read in the sway), and the spread of each measure (5th, 50th, 95th percentile,
min, max). Nothing is asserted: the tests hold the limits.

    python3 benchmarks/los_person_sweep.py [--seeds N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from station.analysis.limits_of_stability import DIRECTIONS, limits_of_stability  # noqa: E402
from station.sim.person import VirtualPerson  # noqa: E402

FS_HZ = 100.0
HEIGHT_CM = 165.0
MEASURES = ("los_reaction_time_s", "los_movement_velocity_deg_s", "los_endpoint_excursion_pct",
            "los_max_excursion_pct", "los_directional_control_pct")


def one_test(seed: int, age_group: str) -> dict:
    person = VirtualPerson(seed, height_cm=HEIGHT_CM, age_group=age_group)
    gos, t = [], 3.0
    for d in DIRECTIONS:
        person.lean_in_direction(t, d, 1.3)
        person.return_to_centre(t + 8.0)
        gos.append(t)
        t += 12.0
    time_s = np.arange(0.0, t, 1 / FS_HZ)
    s = person.sample(time_s)
    return limits_of_stability(time_s, s.ap_cm, s.ml_cm, gos, list(DIRECTIONS), HEIGHT_CM, fz_n=s.fz_n,
                               corners_n=s.corners_n.T)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=12, help="seeds per age group (default 12)")
    args = parser.parse_args(argv)
    leans = []
    for age_group in ("young", "old"):
        for seed in range(args.seeds):
            out = one_test(seed, age_group)
            for d in DIRECTIONS:
                leans.append((out["quality"][d], {m: out["metrics"][f"{m}_{d}"] for m in MEASURES}))
    n = len(leans)
    print(f"{n} leans ({args.seeds} seeds x young/old x 8 directions, {HEIGHT_CM:g} cm)")
    for code in ("stepping", "moved_before_go", "no_movement", "load_off_plate"):
        k = sum(code in q for q, _ in leans)
        print(f"  {code:16s} {k:4d} ({100 * k / n:.1f} %)")
    short = sum(1 for _, m in leans if m["los_endpoint_excursion_pct"] is not None
                and m["los_endpoint_excursion_pct"] < 20 and (m["los_max_excursion_pct"] or 0) > 40)
    print(f"  endpoint < 20 % with max > 40 %: {short} ({100 * short / n:.1f} %)")
    for m in MEASURES:
        a = np.array([v[m] for _, v in leans if v[m] is not None])
        if a.size == 0:
            print(f"  {m:30s} none defined")
            continue
        p5, p50, p95 = np.percentile(a, [5, 50, 95])
        print(f"  {m:30s} n={a.size:3d}  p5 {p5:7.2f}  median {p50:7.2f}  p95 {p95:7.2f}  min {a.min():7.2f}  "
              f"max {a.max():7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
