"""A patient's history built in one process (no HTTP): ``patient_history`` of one patient with many trials.

    python3 benchmarks/patient_history.py                         # SQLite in a temp dir
    python3 benchmarks/patient_history.py --throwaway-postgres    # a throwaway PostgreSQL cluster, as the tests start
    python3 benchmarks/patient_history.py --database postgresql://...   # an empty database

The patient has ``--trials`` finished trials of ``--frames`` frames in visits of 10 (as
benchmarks/hub_sync.py fills it). Printed: median and max of ``--repeat`` calls, ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--frames", type=int, default=100, help="frames per trial (the history reads none)")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database", help="PostgreSQL URL of an empty database (default: SQLite)")
    parser.add_argument("--throwaway-postgres", action="store_true",
                        help="start a throwaway PostgreSQL cluster (tests/postgres_cluster.py)")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(HERE))
    from hub_sync import ACTOR, CHEAP, _fill

    from station.protocols.report import patient_history
    from station.store.store import Store

    cluster = None
    database = args.database
    if args.throwaway_postgres:
        sys.path.insert(0, str(HERE.parent / "tests"))
        from postgres_cluster import Cluster

        cluster = Cluster()
        database = cluster.create_database("history_bench")
    try:
        with tempfile.TemporaryDirectory(prefix="history-bench-") as work:
            store = Store.open(Path(work) / "data", password_cost=CHEAP, **({"database": database} if database else {}))
            try:
                _fill(store, "BIG", 1, args.trials, args.frames)
                patient_id = store.patients.get_by_identifier("BIG-0")["id"]
                times = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    patient_history(store, patient_id, {}, actor=ACTOR)
                    times.append(time.perf_counter() - t0)
            finally:
                store.close()
    finally:
        if cluster is not None:
            cluster.stop()
    backend = "PostgreSQL" if database else "SQLite"
    print(f"{backend}: patient_history of a patient with {args.trials} trials, {args.repeat} calls: "
          f"median {statistics.median(times) * 1e3:.1f} ms, max {max(times) * 1e3:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
