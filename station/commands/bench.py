"""``balance-station bench {analysis,acquisition,gait}``: measured performance, printed as JSON.

Benchmarks report numbers; they assert nothing (speed is measured, not assumed).
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="measure performance and print the numbers")
    kinds = parser.add_subparsers(dest="bench_kind", metavar="KIND", required=True)

    acq = kinds.add_parser("acquisition", help="acquisition on the simulated plate in real time")
    acq.add_argument("--json", action="store_true", help="print one JSON object")
    acq.add_argument("--rate", type=float, default=100.0, help="frame rate in Hz (default 100)")
    acq.add_argument("--seconds", type=float, default=10.0, help="duration in s (default 10)")
    acq.add_argument("--readers", type=int, default=1, help="processes reading the ring (default 1)")
    acq.add_argument("--power-cycle", type=float, metavar="S",
                     help="one corner loses power every S seconds (for 0.5 s) during the run")
    acq.set_defaults(func=_run_acquisition)

    ana = kinds.add_parser("analysis", help="sway-metric speed per trial and for a batch")
    ana.add_argument("--json", action="store_true", help="print one JSON object")
    ana.add_argument("--batch", nargs="+", metavar="DIR",
                     help="instead: time the whole `analyze DIR` command per trial (a fresh process, cold start "
                     "included), its peak memory, and the growth from the first DIR to the last")
    ana.add_argument("--jobs", type=int, metavar="N", help="--batch: analyze --jobs N (default: every core)")
    ana.add_argument("--reference", metavar="CHECKOUT",
                     help="--batch: also time the Quijoux et al. (2021) reference code on the first trial, side by "
                     "side (a clone named code_descriptors_postural_control) and report the ratio")
    ana.add_argument("--reference-python", metavar="PYTHON",
                     help="the Python with the reference's dependencies (numpy, scipy, scikit-learn, statsmodels, "
                     "pandas; default: this one)")
    ana.add_argument("--reference-repeats", type=int, default=3, metavar="N",
                     help="reference runs on each of its trials per round (default 3)")
    ana.add_argument("--reference-trials", type=int, default=3, metavar="N",
                     help="--reference: run it on N distinct trials of the first DIR, evenly spaced, every round; the "
                     "ratio is the median of all its runs against the median round of analyze (default 3; 1 = the "
                     "first trial only)")
    ana.add_argument("--rounds", type=int, default=1, metavar="N",
                     help="--reference: alternate the first batch and the reference N times (default 1)")
    ana.set_defaults(func=_run_analysis)

    gait = kinds.add_parser("gait", help="gait analysis speed per minute of recording, and accuracy on the shared data")
    gait.add_argument("--json", action="store_true", help="print one JSON object")
    gait.add_argument("--data", metavar="DIR", help="directory of IMU recordings with reference sidecars "
                      "(default: ../shared/data/gait beside the repository)")
    gait.set_defaults(func=_run_gait)


def _run_acquisition(args: argparse.Namespace) -> int:
    from station.bench.acquisition import run

    return run(args)


def _run_analysis(args: argparse.Namespace) -> int:
    from station.bench.analysis import run

    return run(args)


def _run_gait(args: argparse.Namespace) -> int:
    from station.bench.gait import run

    return run(args)
