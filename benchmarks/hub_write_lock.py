"""The hub's writers' lock on PostgreSQL: is a station's push starved by other writers?

    python3 benchmarks/hub_write_lock.py --throwaway-postgres         # starts a cluster like the tests do
    python3 benchmarks/hub_write_lock.py --database postgresql://...  # an empty database of yours

A push is applied change by change, one write transaction each (``Hub.push`` -> ``_apply``), so a push of
many changes is a thread taking the writers' lock back to back. Two locks queue the writers
(:mod:`station.store.pg`): in one process :class:`station.store.db.FairLock` (first come first served; a
:class:`threading.RLock` before session 28), across processes PostgreSQL's advisory lock.

1. In one process: ``--busy`` threads apply changes back to back (an INSERT a transaction), and a station's
   push of ``--push`` changes arrives meanwhile; printed for ``--rounds`` rounds, with the RLock (as the hub
   had it) and with :class:`station.store.db.FairLock` (as it has it; ``--process-hold-ms``: each transaction held that much
   longer, pg_sleep, as a change with a trial's rows): how long the push took, its longest wait for the lock,
   and the most of the others' transactions that went first during one of its waits.
2. Across processes (one writer connection each, as separate processes have): two connections take the
   advisory lock back to back (each transaction holding it ``--hold-ms``), and a third pushes meanwhile:
   its longest and median wait. Then the order the lock is had in: A holds it, B, C, D ask in that order,
   A releases and asks again at once.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from station.store.db import FairLock  # noqa: E402
from station.store.pg import PgDatabase  # noqa: E402

INSERT = "INSERT INTO bench_changes (station, v) VALUES (?, ?)"


class Counted:
    """The writes done so far (the others' transactions had while one waits)."""

    def __init__(self) -> None:
        self.done = 0


def _write(db: PgDatabase, station: int, counted: Counted, waits: list | None = None,
           overtaken: list | None = None, hold_s: float = 0.0) -> None:
    asked, before = time.monotonic(), counted.done
    db._write_lock.acquire()  # write() takes it again, re-entrantly: the wait measured is this one
    try:
        if waits is not None:
            waits.append(time.monotonic() - asked)
            overtaken.append(counted.done - before)
        with db.write() as conn:
            conn.execute(INSERT, (station, "x" * 200))
            if hold_s:
                conn.execute(f"SELECT pg_sleep({hold_s})")
        counted.done += 1
    finally:
        db._write_lock.release()


def in_process(db: PgDatabase, fair: bool, busy: int, push: int, hold_s: float) -> tuple[float, float, int]:
    db._write_lock = FairLock() if fair else threading.RLock()
    stop, counted = threading.Event(), Counted()

    def others(station: int) -> None:
        while not stop.is_set():
            _write(db, station, counted, hold_s=hold_s)

    threads = [threading.Thread(target=others, args=(s,)) for s in range(busy)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    waits: list[float] = []
    overtaken: list[int] = []
    began = time.monotonic()
    for _ in range(push):
        _write(db, 99, counted, waits, overtaken, hold_s)
    took = time.monotonic() - began
    stop.set()
    for t in threads:
        t.join()
    return took, max(waits), max(overtaken)


def across_processes(url: str, push: int, hold_s: float) -> tuple[float, float]:
    dbs = [PgDatabase(url) for _ in range(3)]
    stop = threading.Event()

    def others(db: PgDatabase) -> None:
        while not stop.is_set():
            with db.write() as conn:
                conn.execute(f"SELECT pg_sleep({hold_s})")

    threads = [threading.Thread(target=others, args=(db,)) for db in dbs[1:]]
    for t in threads:
        t.start()
    time.sleep(0.3)
    waits = []
    for _ in range(push):
        asked = time.monotonic()
        with dbs[0].write() as conn:
            waits.append(time.monotonic() - asked)
            conn.execute(f"SELECT pg_sleep({hold_s})")
    stop.set()
    for t in threads:
        t.join()
    for db in dbs:
        db.close()
    return max(waits), statistics.median(waits)


def advisory_order(url: str) -> list[str]:
    a, *askers = [PgDatabase(url) for _ in range(4)]
    order: list[str] = []
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with a.write():
            holding.set()
            release.wait()
        with a.write():  # asks again at once
            order.append("A again")

    def ask(name: str, db: PgDatabase) -> None:
        with db.write():
            order.append(name)

    threads = [threading.Thread(target=hold)]
    threads[0].start()
    holding.wait()
    for name, db in zip("BCD", askers):
        threads.append(threading.Thread(target=ask, args=(name, db)))
        threads[-1].start()
        time.sleep(0.05)  # asked while A holds it, in this order
    release.set()
    for t in threads:
        t.join()
    for db in (a, *askers):
        db.close()
    return order


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="postgresql:// URL of an empty database")
    parser.add_argument("--throwaway-postgres", action="store_true", help="start a throwaway cluster (tests/)")
    parser.add_argument("--busy", type=int, default=3, help="threads applying changes back to back")
    parser.add_argument("--push", type=int, default=20, help="changes in the station's push")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hold-ms", type=float, default=5.0, help="a transaction's hold across processes, ms")
    parser.add_argument("--process-hold-ms", type=float, default=0.0,
                        help="a transaction's hold in one process, ms (0: its INSERT alone)")
    args = parser.parse_args(argv)
    cluster, url = None, args.database
    if args.throwaway_postgres:
        sys.path.insert(0, str(REPO / "tests"))
        from postgres_cluster import Cluster

        cluster = Cluster()
        url = cluster.create_database("hub_write_lock_bench")
    if not url:
        parser.error("give --database URL or --throwaway-postgres")
    try:
        db = PgDatabase(url)
        with db.write() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS bench_changes (id SERIAL PRIMARY KEY, station INTEGER, v TEXT)")
        for fair in (False, True):
            rounds = [in_process(db, fair, args.busy, args.push, args.process_hold_ms / 1000) for _ in range(args.rounds)]
            print(f"in one process, {'FairLock (the hub)' if fair else 'RLock (the hub before)'}: a push of {args.push} changes "
                  f"(each {args.process_hold_ms:g} ms more) beside "
                  f"{args.busy} threads applying changes back to back: took "
                  f"{', '.join(f'{r[0]:.2f}' for r in rounds)} s; longest wait {', '.join(f'{r[1]:.3f}' for r in rounds)}"
                  f" s; most transactions of the others during one wait {', '.join(str(r[2]) for r in rounds)}")
        db.close()
        for rnd in range(args.rounds):
            longest, median = across_processes(url, args.push, args.hold_ms / 1000)
            print(f"across processes, round {rnd}: a push of {args.push} transactions ({args.hold_ms:g} ms each) beside "
                  f"2 connections writing back to back: longest wait {longest * 1000:.0f} ms, median {median * 1000:.0f} ms")
        print("the advisory lock's order after A released (B, C, D asked in that order while A held it; A asked "
              f"again at once): {advisory_order(url)}")
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
