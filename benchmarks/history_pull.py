"""A station pulling a patient with a long history from the hub: time, pages, bytes, longest write.

    python3 benchmarks/history_pull.py                          # SQLite hub in a temp dir
    python3 benchmarks/history_pull.py --throwaway-postgres     # a PostgreSQL hub, started like the tests do

A "gym" station records one patient with ``--trials`` trials (visits of 10; each trial's metrics
document computed from its frames by the station's own analysis, so its size is a real one) and
pushes them to the hub (the real web app under waitress on the loopback, the real HTTP client).
A "ward" station then pulls the patient by identifier (``POST /api/patients/pull`` does the same):
the patient and their history recorded elsewhere, page by page. Printed: the pull's wall time,
pages, bytes received, the longest page's store (one write transaction: what could hold up a
recording on the ward), the raw frames left on the hub; then the ward's history API for the
patient (median / max of ``--repeat``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from station.protocols.results import trial_metrics
from station.store.audit import Actor
from station.store.passwords import ScryptCost
from station.store.store import Store
from station.sync import pulled
from station.sync.client import HubClient, urllib_transport
from station.sync.hub import Hub
from station.sync.syncer import StationSync

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hub_sync import CALIBRATION, _frames, _serve  # noqa: E402  (the same hub and frames as hub_sync.py)

CHEAP = ScryptCost(log2_n=4, r=8, p=1)
ACTOR = Actor(None, "bench")


class _Measured:
    """The transport, counting requests and bytes received."""

    def __init__(self, send):
        self.send = send
        self.requests = 0
        self.bytes = 0

    def __call__(self, *args):
        status, body = self.send(*args)
        self.requests += 1
        self.bytes += len(body)
        return status, body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--frames", type=int, default=1000, help="frames per trial (1000: 10 s at 100 Hz)")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--throwaway-postgres", action="store_true")
    args = parser.parse_args(argv)

    from web import create_app

    cluster = database = None
    if args.throwaway_postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from postgres_cluster import Cluster

        cluster = Cluster()
        database = cluster.create_database("history_bench")
    work = Path(tempfile.mkdtemp(prefix="history-pull-bench-"))
    try:
        hub_store = Store.open(work / "hub", password_cost=CHEAP, **({"database": database} if database else {}))
        hub = Hub(hub_store)
        app = create_app({"STORE": hub_store, "HUB": True, "SECRET_KEY": "bench", "PASSWORD_COST": CHEAP})
        server, url = _serve(app)

        gym = Store.open(work / "gym", password_cost=CHEAP)
        frames = _frames(args.frames, 7)
        metrics = {**trial_metrics(frames, 100.0), "trial": {"time_held_s": args.frames / 100.0}}
        patient = gym.patients.create({"identifier": "LONG-1", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
        session = None
        for k in range(args.trials):
            if k % 10 == 0:
                session = gym.sessions.create(patient["id"], {"label": f"visit {k // 10 + 1}"}, actor=ACTOR)
            gym.trials.import_trial(session["id"], "romberg", "eyes_open", CALIBRATION, 100.0, frames, metrics, True,
                                    None, actor=ACTOR)
        t0 = time.perf_counter()
        StationSync(gym, HubClient(url, hub.add_station("gym"), transport=urllib_transport())).sync_once()
        backend = "PostgreSQL" if database else "SQLite"
        print(f"hub: {backend}; gym pushed 1 patient, {args.trials} trials x {args.frames} frames in "
              f"{time.perf_counter() - t0:.1f} s")

        ward = Store.open(work / "ward", password_cost=CHEAP)
        transport = _Measured(urllib_transport())
        sync = StationSync(ward, HubClient(url, hub.add_station("ward"), transport=transport))
        stores: list[float] = []
        real_store_page = pulled.store_page

        def timed_store_page(*a, **k):
            t = time.perf_counter()
            try:
                return real_store_page(*a, **k)
            finally:
                stores.append(time.perf_counter() - t)

        pulled.store_page = timed_store_page
        t0 = time.perf_counter()
        held = sync.pull_patient("LONG-1", actor=ACTOR)
        took = time.perf_counter() - t0
        pulled.store_page = real_store_page
        with hub_store.db.read() as conn:
            frame_bytes = conn.execute("SELECT coalesce(sum(length(data)), 0) FROM trial_chunks").fetchone()[0]
        print(f"ward pulled the patient and {held['history']['sessions']} visits, {held['history']['trials']} trials "
              f"in {took:.2f} s: {len(stores)} pages, {transport.requests} requests, {transport.bytes / 1e6:.2f} MB "
              f"received; longest page store (one write transaction) {max(stores) * 1e3:.0f} ms, median "
              f"{statistics.median(stores) * 1e3:.0f} ms")
        print(f"raw frames left on the hub: {frame_bytes / 1e6:.1f} MB ({frame_bytes / max(transport.bytes, 1):.0f}x "
              "the results pulled)")

        ward.users.create("admin", "a long benchmark password 1", "admin", actor=ACTOR)
        station_app = create_app({"STORE": ward, "SYNC": sync, "SECRET_KEY": "bench", "PASSWORD_COST": CHEAP})
        client = station_app.test_client()
        csrf = client.get("/api/session").get_json()["csrf_token"]
        client.post("/api/login", json={"username": "admin", "password": "a long benchmark password 1"},
                    headers={"X-CSRF-Token": csrf})
        for label, path in (("history", f"/api/patients/{held['id']}/history"),
                            ("recorded-elsewhere", f"/api/patients/{held['id']}/recorded-elsewhere")):
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                answer = client.get(path)
                times.append(time.perf_counter() - t)
                assert answer.status_code == 200, (path, answer.status_code)
            print(f"ward API {label:20s} median {statistics.median(times) * 1e3:6.1f} ms, max {max(times) * 1e3:6.1f} ms")
        server.close()
        gym.close()
        ward.close()
        hub_store.close()
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
        if cluster is not None:
            cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
