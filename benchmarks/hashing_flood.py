"""A flood of password requests against the real station: what it costs in memory and time.

    python3 benchmarks/hashing_flood.py                 # 25 clients x 3 requests per phase
    python3 benchmarks/hashing_flood.py --clients 40 --requests 4

Starts ``balance-station run --simulate`` on a free port with a fresh data directory holding an
administrator and a clinician, then, from ``--clients`` threads at once (each its own loopback
address, so the per-address limits apply to each separately):

1. ``POST /api/setup`` on the set-up station (it must cost nothing: no hash);
2. ``POST /api/login`` with a wrong password for the clinician (every one of them hashes, until
   the sign-in limits stop them).

Prints one JSON object per phase: requests, seconds, the statuses answered, and the station
process's resident memory before and at its peak (sampled every 50 ms), MB. At most two hashes of
32 MiB run at once (``station.store.passwords.GATE``), so the peak stays about 64 MB above the
start, whatever the number of clients. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "security"))

from security_support import Station, create_accounts  # noqa: E402


def _rss_mb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS")).split()[1]) // 1024


def _phase(station: Station, path: str, body: dict, clients: int, requests: int) -> dict:
    before = _rss_mb(station.pid)
    peak = [before]
    codes: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_mb(station.pid))
            time.sleep(0.05)

    def client() -> None:
        c = station.client()
        c.get("/api/session")
        for _ in range(requests):
            codes.append(c.post(path, body)[0])

    watcher = threading.Thread(target=watch)
    watcher.start()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    done.set()
    watcher.join()
    return {"path": path, "requests": len(codes), "seconds": round(elapsed, 1),
            "statuses": dict(sorted(Counter(codes).items())), "rss_mb_before": before, "rss_mb_peak": peak[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=25)
    parser.add_argument("--requests", type=int, default=3, help="requests per client and phase")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="hashing-flood-")) / "data"
    create_accounts(data)
    station = Station(data).start().wait_ready()
    try:
        for path, body in (("/api/setup", {"username": "mallory", "password": "a very long pass phrase"}),
                           ("/api/login", {"username": "ana", "password": "a very long pass phrase"})):
            print(json.dumps(_phase(station, path, body, args.clients, args.requests)))
    finally:
        station.stop()


if __name__ == "__main__":
    main()
