"""Instructions executed by the analysis, counted by valgrind (callgrind): a measure of CPU work that
other processes on a shared machine do not disturb (wall and CPU times there swing by 2x with the
load; instruction counts repeat to within a few parts in a thousand).

    python benchmarks/analysis_instructions.py [--tree DIR] [--stages read,metrics,density,...]
    python benchmarks/analysis_instructions.py [--tree DIR] --whole DIR_OF_TRIALS

Stages: each is run in a fresh Python under ``valgrind --tool=callgrind``, once to warm up and then
``--repeat`` times, and again with no repeat; the difference divided by ``--repeat`` is printed in
millions of instructions per call (one published 60 s trial, ``--trial``). ``--whole`` counts the
whole ``analyze DIR --out FILE`` command instead, its own process and each forked worker.
``--tree DIR`` runs the ``station`` package found in DIR (``git archive COMMIT station | tar -x -C
DIR``) instead of this one, for before/after comparisons. Needs valgrind (``apt-get install
valgrind``); each stage takes some 20 s.

Counts are not times: memory stalls (cache misses) cost time without instructions, so a change
that moves less data can be faster at the same count. And valgrind's CPU has no AVX-512, so numpy
runs other kernels under it than on this machine's CPU (AMD EPYC with AVX-512): the median of
5,999 time steps by a stable sort counts 0.63 M instructions against 0.17 M for np.partition, yet
takes 32 us against 142-155 us natively. Use counts for changes in Python and numpy-call overhead,
times (``time.perf_counter`` minima, ``benchmarks/analysis_stages.py``) for numpy kernels, and time
the whole command on a quiet machine (``balance-station bench analysis --batch``).
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRIAL = ROOT.parent / "shared" / "data" / "bds" / "BDS00001.txt"

STAGE_CODE = """
import gc
import sys
from pathlib import Path
import numpy as np
import pyarrow.csv
import station.analysis.density as density
import station.analysis.diffusion as diffusion
import station.analysis.spectral as spectral
import station.analysis.sway as sway
import station.store.trialfile as trialfile
from station.analysis.metrics import compute_metrics
from station.batch import keep_freed_memory

keep_freed_memory()
try:
    from station.commands.analyze import ANALYSED_COLUMNS
    COLUMNS = {"columns": ANALYSED_COLUMNS}
except ImportError:
    COLUMNS = {}
path = Path(sys.argv[1])
trial = trialfile.read_trial(path, fast=True)
cop = np.vstack((trial.ap_cm - trial.ap_cm[0], trial.ml_cm - trial.ml_cm[0]))
cop -= cop.mean(axis=1, keepdims=True)
ap, ml, fs = cop[0], cop[1], trial.fs_hz
stage = {
    "read": lambda: trialfile.read_trial(path, fast=True, allow_gaps=True),
    # what analyze reads in a batch: only the columns the metrics use (a --tree from before 1fc862e
    # has no columns=: the same as "read" there)
    "read_analysed": lambda: trialfile.read_trial(path, fast=True, allow_gaps=True, **COLUMNS),
    "metrics": lambda: compute_metrics(trial.ap_cm, trial.ml_cm, fs, "raw"),
    "density": lambda: density.sway_density(ap, ml, fs),
    "diffusion": lambda: diffusion.diffusion_measures(ap, ml, fs),
    "time_domain": lambda: sway.time_domain(ap, ml, fs),
    "prieto": lambda: spectral.prieto_spectral(ap, ml, fs),
    "mean_power_frequency": lambda: spectral.mean_power_frequency(ap, ml, fs),
}[sys.argv[2]]
stage()
gc.disable()  # a collection of the imported modules' objects, landing in one run or another, is noise
for _ in range(int(sys.argv[3])):
    stage()
"""
STAGES = ("read", "read_analysed", "metrics", "density", "diffusion", "time_domain", "prieto", "mean_power_frequency")
_COLLECTED = re.compile(r"==(\d+)== Collected : (\d+)")


def _callgrind(argv: list[str], env: dict) -> dict[int, int]:
    """Instructions of each process of ``argv`` (pid -> count), run in an empty directory (``python
    -c`` and ``-m`` put the working directory first on the path: a checkout there would win over
    ``--tree``)."""
    with tempfile.TemporaryDirectory(prefix="callgrind-") as tmp:
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", "--trace-children=yes", f"--callgrind-out-file={tmp}/out.%p", *argv],
            capture_output=True, text=True, env=env, cwd=tmp,
        )
    counts = {int(pid): int(n) for pid, n in _COLLECTED.findall(proc.stderr)}
    if proc.returncode != 0 or not counts:
        last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit status {proc.returncode}"
        raise SystemExit(f"valgrind run failed: {last}")
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="directory holding the station package to count")
    parser.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated, of {', '.join(STAGES)}")
    parser.add_argument("--repeat", type=int, default=4)
    parser.add_argument("--trial", type=Path, default=TRIAL)
    parser.add_argument("--whole", type=Path, metavar="DIR", help="count the whole analyze command on DIR instead")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    if not (args.tree / "station" / "__init__.py").is_file():
        print(f"--tree {args.tree}: no station package there", file=sys.stderr)
        return 2
    # counts that repeat: a fixed hash seed, and one BLAS thread (idle OpenBLAS threads spin for as
    # long as the scheduling lets them: the same stage counted 12.0 M and 14.0 M instructions)
    env = dict(os.environ, PYTHONPATH=str(args.tree.resolve()), PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1")
    # the package's bytecode compiled first, as installed (with PYTHONDONTWRITEBYTECODE, as on this
    # machine, a module edited since its last compilation is compiled again in every counted process:
    # the whole command of 40 files counted 3,947 M instead of 3,818 M after an edit of trialfile.py)
    compileall.compile_dir(args.tree / "station", quiet=2)
    print(f"station from {args.tree}; load {os.getloadavg()[0]:.1f} (counts do not depend on it)")
    if args.whole:
        with tempfile.TemporaryDirectory(prefix="analyze-") as tmp:
            counts = _callgrind([sys.executable, "-m", "station.cli", "analyze", str(args.whole),
                                 "--out", f"{tmp}/r.json"], env)
        first = min(counts)  # the command's own process has the lowest pid
        files = sum(1 for p in args.whole.iterdir() if p.suffix.lower() in (".txt", ".csv"))
        workers = [n for pid, n in sorted(counts.items()) if pid != first]
        print(f"analyze {args.whole} ({files} files): command {counts[first] / 1e6:.1f} M, workers "
              f"{', '.join(f'{n / 1e6:.1f} M' for n in workers)} (each counts what it inherited at the fork); "
              f"total {sum(counts.values()) / 1e6:.1f} M instructions")
        return 0
    for stage in args.stages.split(","):
        code = [sys.executable, "-c", STAGE_CODE, str(args.trial), stage]
        base = sum(_callgrind(code + ["0"], env).values())
        more = sum(_callgrind(code + [str(args.repeat)], env).values())
        print(f"  {stage:22s} {(more - base) / args.repeat / 1e6:7.2f} M instructions per call")
    return 0


if __name__ == "__main__":
    sys.exit(main())
