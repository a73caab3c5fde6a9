"""``balance-station bench analysis``: how long the full sway-metric set takes, per trial and in a batch.

Measures (and only reports; nothing is asserted):

* per-trial time of :func:`station.analysis.metrics.compute_metrics` (``station`` profile, every
  metric) on synthetic sway of 30 s, 60 s and 300 s at 100 Hz and 60 s at 1000 Hz: median and
  minimum over repeated runs, in ms, in this one process (one core);
* how the time grows from 30 s to 300 s, next to the N and N log N ratios (from the medians and
  from the minima: on a shared machine the minimum is the better estimate of the cost itself);
* trials per second through ``balance-station analyze`` (reading station CSV files, computing,
  writing JSON), run in-process on a directory of 60 s / 100 Hz trial files.

``--batch DIR`` times the whole command instead, cold start included (:mod:`station.bench.analysis_batch`).

The synthetic sway is deterministic: per axis the sum of two Ornstein-Uhlenbeck processes (time
constants 0.3 s and 5 s, ~0.5 cm RMS in all) plus 0.005 cm white measurement noise.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.signal import lfilter

TARGET_MS = 5.0
PER_TRIAL_CASES = ((30.0, 100.0), (60.0, 100.0), (300.0, 100.0), (60.0, 1000.0))
BATCH_TRIALS = 40


def synthetic_sway(duration_s: float, fs_hz: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sway-like AP and ML in cm: two OU processes per axis plus white noise (see module docstring)."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * fs_hz))
    dt = 1.0 / fs_hz
    out = np.zeros((2, n))
    for tau_s, rms_cm in ((0.3, 0.15), (5.0, 0.45)):
        a = math.exp(-dt / tau_s)
        drive = rng.normal(0.0, rms_cm * math.sqrt(1.0 - a * a), size=(2, n))
        out += lfilter([1.0], [1.0, -a], drive, axis=1)
    out += rng.normal(0.0, 0.005, size=(2, n))
    return out[0] + 1.0, out[1] - 0.5


def _time_compute(duration_s: float, fs_hz: float) -> dict:
    from station.analysis.metrics import compute_metrics

    ap, ml = synthetic_sway(duration_s, fs_hz, seed=int(duration_s * 7 + fs_hz))
    compute_metrics(ap, ml, fs_hz, "station")  # warm-up (filter design cache, FFT plans)
    budget_s = 1.5
    times = []
    start = time.perf_counter()
    while len(times) < 5 or (time.perf_counter() - start < budget_s and len(times) < 200):
        t0 = time.perf_counter()
        compute_metrics(ap, ml, fs_hz, "station")
        times.append((time.perf_counter() - t0) * 1e3)
    return {
        "duration_s": duration_s,
        "rate_hz": fs_hz,
        "samples": ap.shape[0],
        "profile": "station",
        "median_ms": round(statistics.median(times), 3),
        "min_ms": round(min(times), 3),
        "repeats": len(times),
    }


def _time_batch(directory: Path) -> dict:
    from station.cli import main
    from station.store.trialfile import write_trial_csv

    fs_hz, duration_s = 100.0, 60.0
    for i in range(BATCH_TRIALS):
        ap, ml = synthetic_sway(duration_s, fs_hz, seed=1000 + i)
        n = ap.shape[0]
        write_trial_csv(
            directory / f"trial{i:03d}.csv",
            {"time_s": np.arange(n) / fs_hz, "ap_cm": ap, "ml_cm": ml},
            {"rate_hz": fs_hz, "source": "bench analysis (synthetic sway)"},
        )
    out = directory / "out" / "results.json"
    out.parent.mkdir()
    t0 = time.perf_counter()
    status = main(["analyze", str(directory), "--out", str(out)])
    seconds = time.perf_counter() - t0
    analysed = sum(1 for r in json.loads(out.read_text()) if "metrics" in r)
    return {
        "trials": BATCH_TRIALS,
        "analysed": analysed,
        "exit_status": status,
        "duration_s": duration_s,
        "rate_hz": fs_hz,
        "seconds": round(seconds, 3),
        "trials_per_s": round(BATCH_TRIALS / seconds, 1),
        "includes": "reading CSV + sidecar, validation, all metrics, JSON output (in-process)",
    }


def _cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        for key in ("model name", "hardware", "model"):  # x86, older Pi kernels, Pi 4/5
            for line in lines:
                if line.lower().startswith(key) and ":" in line:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run(args: argparse.Namespace) -> int:
    if getattr(args, "batch", None):
        from station.bench.analysis_batch import run as run_batch

        return run_batch(args)
    import scipy

    from station import __version__

    per_trial = [_time_compute(d, f) for d, f in PER_TRIAL_CASES]
    by_case = {(c["duration_s"], c["rate_hz"]): c for c in per_trial}
    short, long_ = by_case[(30.0, 100.0)], by_case[(300.0, 100.0)]
    n0, n1 = short["samples"], long_["samples"]
    with tempfile.TemporaryDirectory(prefix="bench-analysis-") as tmp:
        batch = _time_batch(Path(tmp))
    report = {
        "benchmark": "analysis",
        "version": __version__,
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "per_trial": per_trial,
        "growth_30s_to_300s": {
            "time_ratio_median": round(long_["median_ms"] / short["median_ms"], 2),
            "time_ratio_min": round(long_["min_ms"] / short["min_ms"], 2),
            "n_ratio": round(n1 / n0, 2),
            "n_log_n_ratio": round(n1 * math.log(n1) / (n0 * math.log(n0)), 2),
        },
        "batch": batch,
        "target": {
            "per_trial_60s_100hz_ms": TARGET_MS,
            "measured_median_ms": by_case[(60.0, 100.0)]["median_ms"],
            "met": by_case[(60.0, 100.0)]["median_ms"] <= TARGET_MS,
        },
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"analysis benchmark, balance-station {__version__} on {report['cpu']}")
        for c in per_trial:
            print(
                f"  {c['duration_s']:5.0f} s at {c['rate_hz']:6.0f} Hz ({c['samples']:6d} samples): "
                f"median {c['median_ms']:8.3f} ms, min {c['min_ms']:8.3f} ms ({c['repeats']} runs)"
            )
        g = report["growth_30s_to_300s"]
        print(
            f"  30 s -> 300 s: time x{g['time_ratio_median']} (median), x{g['time_ratio_min']} (min); "
            f"N x{g['n_ratio']}, N log N x{g['n_log_n_ratio']}"
        )
        print(
            f"  batch: {batch['trials']} trials of {batch['duration_s']:.0f} s in {batch['seconds']} s "
            f"= {batch['trials_per_s']} trials/s through analyze"
        )
        sys.stdout.flush()
    return 0
