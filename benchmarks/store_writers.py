"""The store's write discipline on PostgreSQL against SQLite: writes per second by concurrency, and
what SERIALIZABLE (the alternative to the advisory lock) would cost in failed writes.

    python3 benchmarks/store_writers.py --database postgresql://USER@HOST/DB [--seconds 5]

The database must be empty or a store's (it is migrated, then patients ``B<run number>...`` are
added and left). Workloads, each run for ``--seconds`` by every writer at once, through the store's public
API:

* ``create``: each write creates a patient (identifier check, insert, audit entry, outbox);
* ``update-one``: every writer edits the notes of the same patient (read, check, update, audit):
  the contended case, two clinicians (or a station's sync) editing one record.

Configurations: SQLite (one data directory, threads of one process); PostgreSQL with the
advisory lock (``station.store.pg``, threads of one process, then ``--processes`` processes);
PostgreSQL with ``SERIALIZABLE`` and no lock (a benchmark-only patch of the write BEGIN), whose
serialisation failures would reach the user (a ``with db.write()`` block cannot be re-run).
Printed: writes/s, median and 95th percentile latency (ms), failed writes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from station.store.audit import Actor
from station.store.passwords import ScryptCost
from station.store.store import Store

ACTOR = Actor(None, "bench")
CHEAP = ScryptCost(log2_n=4, r=8, p=1)


def _writer(store: Store, workload: str, target_id: int, tag: str, stop_at: float, out: list) -> None:
    latencies, failures, n = [], 0, 0
    while time.perf_counter() < stop_at:
        t0 = time.perf_counter()
        try:
            if workload == "create":
                store.patients.create({"identifier": f"B{tag}{n}", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
            else:
                store.patients.update(target_id, {"notes": f"{tag} {n}"}, actor=ACTOR)
        except Exception:  # noqa: BLE001 - counted: a failed write is what the user would see
            failures += 1
        latencies.append(time.perf_counter() - t0)
        n += 1
    out.append((latencies, failures))


def _run_threads(open_store, workload: str, threads: int, seconds: float, target_id: int, tag: str) -> list:
    store = open_store()
    out: list = []
    stop_at = time.perf_counter() + seconds
    workers = [threading.Thread(target=_writer, args=(store, workload, target_id, f"{tag}{i}", stop_at, out))
               for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    store.close()
    return out


def _process_main(args) -> list:
    url, isolation, data_dir, workload, threads, seconds, target_id, tag = args
    _apply_isolation(isolation)
    return _run_threads(lambda: Store.open(data_dir, database=url, password_cost=CHEAP), workload, threads, seconds,
                        target_id, tag)


def _apply_isolation(isolation: str) -> None:
    import station.store.pg as pg

    if isolation == "serializable":  # benchmark only: what the store would do without the advisory lock
        pg._BEGIN_WRITE = "BEGIN ISOLATION LEVEL SERIALIZABLE"


def _report(name: str, results: list, seconds: float) -> None:
    latencies = sorted(x for lat, _ in results for x in lat)
    failures = sum(f for _, f in results)
    done = len(latencies) - failures
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    print(f"{name:<48} {done / seconds:8.1f} writes/s  median {1000 * statistics.median(latencies):6.1f} ms"
          f"  p95 {1000 * p95:6.1f} ms  failed {failures} of {len(latencies)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="postgresql:// URL of an empty (or a store's) database")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--processes", type=int, default=4)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sqlite_dir = tmp / "sqlite"
        pg_dir = tmp / "pg"
        run = f"{time.time_ns() % 10**8:08d}"  # identifiers unique across runs on one database
        targets = {}
        for name, kwargs in (("sqlite", {}), ("pg", {"database": args.database})):
            with Store.open(tmp / name, password_cost=CHEAP, **kwargs) as store:
                targets[name] = store.patients.create(
                    {"identifier": f"BT{run}", "birth_year": 1950, "sex": "F"}, actor=ACTOR)["id"]
        print(f"{args.seconds:g} s per line; {multiprocessing.cpu_count()} CPUs", flush=True)
        for workload in ("create", "update-one"):
            for threads in args.threads:
                results = _run_threads(lambda: Store.open(sqlite_dir, password_cost=CHEAP), workload, threads,
                                       args.seconds, targets["sqlite"], f"{run}s{workload[0]}{threads}-")
                _report(f"{workload}: SQLite, {threads} thread(s)", results, args.seconds)
                results = _run_threads(lambda: Store.open(pg_dir, database=args.database, password_cost=CHEAP),
                                       workload, threads, args.seconds, targets["pg"], f"{run}p{workload[0]}{threads}-")
                _report(f"{workload}: PostgreSQL advisory lock, {threads} thread(s)", results, args.seconds)
            for isolation in ("advisory", "serializable"):
                jobs = [(args.database, isolation, str(pg_dir), workload, max(args.threads), args.seconds,
                         targets["pg"], f"{run}{isolation[0]}{workload[0]}{i}-") for i in range(args.processes)]
                with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
                    results = [r for part in pool.map(_process_main, jobs) for r in part]
                label = "advisory lock" if isolation == "advisory" else "SERIALIZABLE, no lock"
                _report(f"{workload}: PostgreSQL {label}, {args.processes} proc x {max(args.threads)} thr", results,
                        args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
