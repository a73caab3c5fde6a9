"""Time the reference code of Quijoux et al. (2021) on one trial; run by ``bench analysis --reference``.

    python quijoux_driver.py CHECKOUT TRIAL [TRIAL ...] [--repeats N]

CHECKOUT is a clone of github.com/Jythen/code_descriptors_postural_control (MIT), in a directory
named ``code_descriptors_postural_control`` (its modules import themselves under that name); its
own dependencies (numpy, scipy, scikit-learn) must be importable by the Python running this file.
TRIAL is a Santos & Duarte text file or a station trial CSV; with several, each is run ``--repeats``
times in turn, in this one process. Prints one JSON object: the import time and, per run (every
trial's runs in order, and per trial under ``trials``), the wall and CPU time of the reference's
whole pipeline on the trial (``Stabilogram.from_array``
at the trial's rate: centring, resampling to 25 Hz, 10 Hz low-pass; then ``compute_all_features``
with a 0.3 cm sway-density radius, as its ``main.py`` does), in seconds.

Deliberately standalone (numpy and the standard library only): it runs in whatever environment
the reference code is installed in, not necessarily the station's.

Reference: Quijoux F, Nicolaï A, Chairi I, et al. (2021) A review of center of pressure (COP)
variables to quantify standing balance in elderly people: algorithms and open-access code.
Physiol Rep 9(22):e15067.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np


def read_cop(path: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """AP and ML (cm) and the rate (Hz) of a Santos & Duarte text file or a station trial CSV."""
    with open(path, encoding="utf-8-sig") as f:
        header = f.readline()
    if "COPx[cm]" in header.split():
        names = header.split()
        table = np.loadtxt(path, skiprows=1, ndmin=2)
        time_s, ap, ml = (table[:, names.index(n)] for n in ("Time[s]", "COPx[cm]", "COPy[cm]"))
    else:
        names = [n.strip() for n in header.split(",")]
        table = np.loadtxt(path, skiprows=1, delimiter=",", ndmin=2)
        time_s, ap, ml = (table[:, names.index(n)] for n in ("time_s", "ap_cm", "ml_cm"))
    return ap, ml, round(1.0 / float(np.median(np.diff(time_s))), 6)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("checkout", type=Path)
    parser.add_argument("trials", type=Path, nargs="+")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # the reference code predates numpy 2 and warns
    sys.path.insert(0, str(args.checkout.resolve().parent))
    t0 = time.perf_counter()
    from code_descriptors_postural_control.descriptors import compute_all_features
    from code_descriptors_postural_control.stabilogram.stato import Stabilogram

    import_s = time.perf_counter() - t0
    runs, cpu, features, trials = [], [], {}, []
    for trial in args.trials:
        ap, ml, fs_hz = read_cop(trial)
        data = np.column_stack((ml, ap))  # the reference takes ML, AP
        trial_runs, trial_cpu = [], []
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            stabilogram = Stabilogram()
            stabilogram.from_array(array=data, original_frequency=fs_hz)
            features = compute_all_features(stabilogram, params_dic={"sway_density_radius": 0.3})
            trial_runs.append(time.perf_counter() - t0)
            trial_cpu.append(time.process_time() - c0)
        runs += trial_runs
        cpu += trial_cpu
        trials.append({"trial": str(trial), "runs_s": trial_runs, "cpu_s": trial_cpu, "samples": len(ap),
                       "rate_hz": fs_hz})
    print(json.dumps({"import_s": import_s, "runs_s": runs, "cpu_s": cpu, "features": len(features),
                      "samples": trials[0]["samples"], "rate_hz": trials[0]["rate_hz"], "trials": trials}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
