"""The reader and the metric set of an older version against this one, interleaved in one process.

    git archive COMMIT station | tar -x -C /tmp/before      # e.g. the commit before a speed change
    python benchmarks/analysis_stages.py --before /tmp/before [--data ../shared/data/bds] [--runs 60]

For each trial file of ``--data`` (default: the 8 published trials) and each stage (reading with the
fast reader, the metric set in the ``raw`` and ``station`` profiles), the two versions run one after
the other, ``--runs`` times; printed is the mean over the files of each one's minimum process time
(the minimum is the figure the machine's other work disturbs least), and the load average. It also
checks that both versions give the same metrics, bit for bit. ``station.analysis`` imports nothing
else of the project, so the older one loads as its own package beside this one.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import os
import sys
import time
from pathlib import Path

import numpy as np

import station.analysis.metrics as current_metrics
import station.store.trialfile as current_trialfile

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "bds"


def _load_before(root: Path):
    """The older version's ``station.analysis.metrics`` and ``station.store.trialfile``."""
    analysis = root / "station" / "analysis"
    spec = importlib.util.spec_from_file_location("before_analysis", analysis / "__init__.py",
                                                  submodule_search_locations=[str(analysis)])
    package = importlib.util.module_from_spec(spec)
    sys.modules["before_analysis"] = package
    spec.loader.exec_module(package)
    metrics = importlib.import_module("before_analysis.metrics")
    spec = importlib.util.spec_from_file_location("before_trialfile", root / "station" / "store" / "trialfile.py")
    trialfile = importlib.util.module_from_spec(spec)
    sys.modules["before_trialfile"] = trialfile
    spec.loader.exec_module(trialfile)
    return metrics, trialfile


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, type=Path, help="directory holding the older station/ package")
    parser.add_argument("--data", type=Path, default=DATA, help="directory of trial files (default: the published trials)")
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    if not (args.before / "station" / "analysis" / "metrics.py").is_file():
        print(f"--before {args.before}: no station/analysis/metrics.py there (git archive COMMIT station | tar -x -C DIR)",
              file=sys.stderr)
        return 2
    before_metrics, before_trialfile = _load_before(args.before)
    files = sorted(p for p in args.data.iterdir() if p.suffix in (".txt", ".csv") and current_trialfile.looks_like_trial(p))
    trials = [current_trialfile.read_trial(p, allow_gaps=True, fast=True) for p in files]

    def metric_set(module, profile):
        return lambda i: module.compute_metrics(trials[i].ap_cm, trials[i].ml_cm, trials[i].fs_hz, profile)

    # read as analyze reads in a batch: the fast reader, the columns the metrics use where the version
    # has columns= (read_trial's since 1fc862e), the whole file before that
    from station.commands.analyze import ANALYSED_COLUMNS

    def reader(module):
        if "columns" in inspect.signature(module.read_trial).parameters:
            return lambda i: module.read_trial(files[i], allow_gaps=True, fast=True, columns=ANALYSED_COLUMNS)
        return lambda i: module.read_trial(files[i], allow_gaps=True, fast=True)

    stages = {
        "read (fast reader)": (reader(before_trialfile), reader(current_trialfile)),
        "metric set, raw": (metric_set(before_metrics, "raw"), metric_set(current_metrics, "raw")),
        "metric set, station": (metric_set(before_metrics, "station"), metric_set(current_metrics, "station")),
    }
    differ = [(files[i].name, name) for name, (old, new) in stages.items() if name.startswith("metric")
              for i in range(len(files)) if old(i)["metrics"] != new(i)["metrics"]]
    best = {name: np.full((2, len(files)), np.inf) for name in stages}
    load_before = os.getloadavg()[0]
    for _ in range(args.runs):
        for i in range(len(files)):
            for name, versions in stages.items():
                for k, run in enumerate(versions):
                    t0 = time.process_time()
                    run(i)
                    best[name][k, i] = min(best[name][k, i], time.process_time() - t0)
    print(f"{len(files)} files of {args.data}, minimum of {args.runs} runs each, load {load_before:.1f} -> "
          f"{os.getloadavg()[0]:.1f}; mean of the minima, before -> now:")
    for name in stages:
        old, new = best[name].mean(axis=1) * 1e3
        print(f"  {name:22s} {old:6.2f} -> {new:6.2f} ms ({100 * (new / old - 1):+.0f} %)")
    print("metrics: " + ("the same, bit for bit" if not differ else f"DIFFERENT for {differ}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
