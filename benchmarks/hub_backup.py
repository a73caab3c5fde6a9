"""The hub's backup, restore and integrity check on PostgreSQL, timed through the real commands.

    python3 benchmarks/hub_backup.py --throwaway-postgres            # starts a cluster like the tests do
    python3 benchmarks/hub_backup.py --database postgresql://...     # an EMPTY database (it is filled)

Fills the hub's database with ``--patients`` patients, each with one visit of ``--trials`` finished
trials of ``--frames`` frames (imported through the store, as the hub stores pushed trials), then
runs ``balance-station backup --database``, ``check --database`` and ``restore FILE --yes
--database`` as an operator would (the URL in ``$BALANCE_STATION_DATABASE``) and prints each one's
wall time, the database's and the dump's sizes, and the rows restored.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from station.store.audit import Actor  # noqa: E402
from station.store.passwords import ScryptCost  # noqa: E402
from station.store.store import Store  # noqa: E402

CHEAP = ScryptCost(log2_n=4, r=8, p=1)
CAL = {"method": "nominal", "n_per_count": [0.01, 0.01, 0.01, 0.01]}
ACTOR = Actor(None, "bench")


def _frames(n: int, seed: int):
    import numpy as np

    from station.acquire.frame import empty_frames

    rng = np.random.default_rng(seed)
    frames = empty_frames(n)
    frames["seq"] = np.arange(n)
    frames["t_ns"] = frames["seq"] * 10_000_000
    frames["ap_cm"] = np.cumsum(rng.normal(0, 0.05, n))
    frames["ml_cm"] = np.cumsum(rng.normal(0, 0.05, n))
    frames["fz_n"] = 700.0 + rng.normal(0, 1.0, n)
    return frames


def _fill(url: str, data_dir: Path, patients: int, trials: int, frames: int) -> None:
    store = Store.open(data_dir, database=url, password_cost=CHEAP)
    try:
        metrics = {"fs_hz": 100.0, "samples": frames, "profile": "station", "version": "bench",
                   "metrics": {"ellipse_area_cm2": 2.0}}
        for p in range(patients):
            patient = store.patients.create({"identifier": f"B-{p:04d}", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
            session = store.sessions.create(patient["id"], {"label": "bench"}, actor=ACTOR)
            for t in range(trials):
                store.trials.import_trial(session["id"], "romberg", "eyes_open", CAL, 100.0, _frames(frames, t),
                                          metrics, True, None, actor=ACTOR)
    finally:
        store.close()


def _timed(argv: list[str], env: dict) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "station.cli", *argv], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:2])} failed: {result.stderr.strip()}")
    return elapsed, result.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20)
    parser.add_argument("--trials", type=int, default=25, help="trials per patient")
    parser.add_argument("--frames", type=int, default=3000, help="frames per trial (3000: 30 s at 100 Hz)")
    parser.add_argument("--database", help="PostgreSQL URL of an empty database (filled, then replaced by the restore)")
    parser.add_argument("--throwaway-postgres", action="store_true", help="start a throwaway cluster (tests/)")
    args = parser.parse_args(argv)
    cluster = None
    url = args.database
    if args.throwaway_postgres:
        sys.path.insert(0, str(REPO / "tests"))
        from postgres_cluster import Cluster

        cluster = Cluster()
        url = cluster.create_database("hub_backup_bench")
    if not url:
        parser.error("give --database URL or --throwaway-postgres")
    work = Path(tempfile.mkdtemp(prefix="hub-backup-bench-"))
    try:
        data_dir = work / "hub"
        started = time.perf_counter()
        _fill(url, data_dir, args.patients, args.trials, args.frames)
        print(f"filled: {args.patients} patients x {args.trials} trials x {args.frames} frames "
              f"in {time.perf_counter() - started:.1f} s")
        import psycopg

        with psycopg.connect(url) as conn:
            size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        env = {**os.environ, "BALANCE_STATION_DATABASE": url, "BALANCE_STATION_CONFIG": "",
               "PYTHONPATH": str(REPO)}
        common = ["--data-dir", str(data_dir)]
        backup_s, out = _timed(["backup", *common], env)
        dump = Path(out.split()[2])
        print(f"database {size / 1e6:.1f} MB; backup {backup_s:.2f} s -> {dump.name} {dump.stat().st_size / 1e6:.1f} MB")
        check_s, out = _timed(["check", *common], env)
        print(f"check {check_s:.2f} s: {out.splitlines()[0]}")
        restore_s, out = _timed(["restore", str(dump), "--yes", *common], env)
        restored = next(line for line in out.splitlines() if line.startswith("restored "))
        print(f"restore {restore_s:.2f} s (pre-restore backup and every check included): {restored}")
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
        if cluster is not None:
            cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
