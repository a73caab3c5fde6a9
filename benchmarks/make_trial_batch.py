"""Write a directory of trial files for ``balance-station bench analysis --batch DIR``.

    python benchmarks/make_trial_batch.py DIR --trials 200 [--distinct 200] [--format santos-duarte|station]
    python benchmarks/make_trial_batch.py DIR --trials 200 --links-to ../shared/data/bds

Each trial is 60 s at 100 Hz of synthetic sway (:func:`station.bench.analysis.synthetic_sway`, a
different seed per file), in the layout of the published Santos & Duarte (2016) files (tab-separated,
9 columns, 6 decimals, CRLF, as ``../shared/data/bds``) or as our trial CSV with its sidecar. Forces
are a standing person's (Fz about 700 N) and the moments agree with the COP (My = -COPx·Fz/100,
Mx = COPy·Fz/100). ``--distinct`` files are written; the others are hard links to them in turn
(``BDS00201.txt`` is ``BDS00001.txt``), so that 10,000 trials take the disk of 200: every file is
still opened, parsed and analysed on its own. ``--links-to SRC`` makes every file a hard link to the
trial files of SRC in turn instead (e.g. the published trials of ``../shared/data/bds``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from station.bench.analysis import synthetic_sway
from station.store.trialfile import write_trial_csv

FS_HZ = 100.0
DURATION_S = 60.0
HEADER = "Time[s]\tFx[N]\tFy[N]\tFz[N]\tMx[Nm]\tMy[Nm]\tMz[Nm]\tCOPx[cm]\tCOPy[cm]"


def santos_duarte_text(seed: int) -> str:
    ap, ml = synthetic_sway(DURATION_S, FS_HZ, seed=seed)
    n = ap.shape[0]
    rng = np.random.default_rng(seed + 1)
    time_s = np.arange(1, n + 1) / FS_HZ
    fz = 700.0 + np.cumsum(rng.normal(0, 0.05, n))
    fx, fy, mz = rng.normal(0, 1.0, n), rng.normal(0, 1.0, n), rng.normal(0, 0.3, n)
    table = np.column_stack((time_s, fx, fy, fz, ml * fz / 100, -ap * fz / 100, mz, ap, ml))
    rows = [("%.3f" + "\t%.6f" * 8) % tuple(row) for row in table]
    return HEADER + "\r\n" + "\r\n".join(rows) + "\r\n"


def write_distinct(directory: Path, index: int, fmt: str, seed: int) -> Path:
    if fmt == "santos-duarte":
        path = directory / f"BDS{index:05d}.txt"
        path.write_text(santos_duarte_text(seed), newline="")
        return path
    ap, ml = synthetic_sway(DURATION_S, FS_HZ, seed=seed)
    path = directory / f"trial{index:05d}.csv"
    n = ap.shape[0]
    write_trial_csv(path, {"time_s": np.arange(n) / FS_HZ, "ap_cm": ap, "ml_cm": ml},
                    {"rate_hz": FS_HZ, "source": "benchmarks/make_trial_batch.py (synthetic sway)"})
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--distinct", type=int, default=200, help="files written; the rest are hard links")
    parser.add_argument("--format", choices=("santos-duarte", "station"), default="santos-duarte")
    parser.add_argument("--links-to", type=Path, metavar="SRC", help="hard-link the Santos & Duarte trials (*.txt) of SRC")
    args = parser.parse_args(argv)
    if args.trials < 1 or args.distinct < 1:
        parser.error("--trials and --distinct must be at least 1")
    args.directory.mkdir(parents=True, exist_ok=True)
    if any(args.directory.iterdir()):
        print(f"{args.directory}: not empty; give a new directory", file=sys.stderr)
        return 1
    if args.links_to is not None:
        sources = sorted(args.links_to.glob("BDS*.txt"))
        if not sources:
            print(f"{args.links_to}: no Santos & Duarte trials (BDS*.txt)", file=sys.stderr)
            return 1
        for i in range(args.trials):
            source = sources[i % len(sources)]
            os.link(source, args.directory / f"{source.stem}-{i + 1:05d}.txt")
        print(f"{args.trials} trials (hard links to {len(sources)} in {args.links_to}) in {args.directory}")
        return 0
    distinct = [write_distinct(args.directory, i + 1, args.format, seed=5000 + i)
                for i in range(min(args.distinct, args.trials))]
    for i in range(len(distinct), args.trials):
        source = distinct[i % len(distinct)]
        name = source.name.replace(f"{(i % len(distinct)) + 1:05d}", f"{i + 1:05d}")
        os.link(source, args.directory / name)
        if args.format == "station":
            os.link(source.with_suffix(".json"), (args.directory / name).with_suffix(".json"))
    print(f"{args.trials} trials ({len(distinct)} distinct) in {args.directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
