"""Many stations pushing to one hub: sync throughput, and the hub's API times for a big patient.

    python3 benchmarks/hub_sync.py                                   # SQLite hub in a temp dir
    python3 benchmarks/hub_sync.py --database postgresql://...       # a PostgreSQL hub (empty database)
    python3 benchmarks/hub_sync.py --throwaway-postgres              # starts one like the tests do

Each of ``--stations`` stations (its own data directory) holds ``--trials`` finished trials of
``--frames`` frames each (10 patients, one visit per 10 trials), queued in its outbox as a station
queues them. The hub is the real web app served by waitress on the loopback; every station pushes
at the same time through the real HTTP client (urllib, one thread per station), frames in parts
first, then its changes in batches. Printed: wall time, trials/s, frame MB/s, requests.

Then one more station pushes one patient with ``--patient-trials`` trials, and the hub's API is
timed for that patient as a signed-in administrator (Flask's test client: the handler and the
database, no network): the patient page's document (``GET /api/patients/<id>``, every visit and
trial summary), their history, a search, one trial's detail and its frames. Median and max of
``--repeat`` requests each. ``--api-only`` skips the many stations' push and times only that
patient (the API part, in a minute or two).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from station.acquire.frame import empty_frames
from station.store.audit import Actor
from station.store.passwords import ScryptCost
from station.store.store import Store
from station.sync.client import HubClient
from station.sync.hub import Hub
from station.sync.syncer import StationSync

CHEAP = ScryptCost(log2_n=4, r=8, p=1)
CALIBRATION = {"zero_counts": [0, 0, 0, 0], "n_per_count": [1e-3] * 4, "method": "bench", "created_utc": "2026-01-01"}
ACTOR = Actor(None, "bench")


def _frames(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = empty_frames(n)
    out["seq"] = np.arange(n)
    out["t_ns"] = out["seq"] * 10_000_000
    out["ap_cm"] = np.cumsum(rng.normal(0, 0.05, n))
    out["ml_cm"] = np.cumsum(rng.normal(0, 0.05, n))
    out["fz_n"] = 700.0 + rng.normal(0, 1, n)
    return out


def _fill(store: Store, prefix: str, patients: int, trials: int, n_frames: int) -> None:
    frames = _frames(n_frames, hash(prefix) & 0xFFFF)
    metrics = {"fs_hz": 100.0, "samples": n_frames, "profile": "station", "version": "bench",
               "metrics": {"ellipse_area_cm2": 2.5, "mean_velocity_cm_s": 1.1}}
    per_patient = -(-trials // patients)
    made = 0
    for p in range(patients):
        patient = store.patients.create({"identifier": f"{prefix}-{p}", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
        session = None
        for k in range(min(per_patient, trials - made)):
            if k % 10 == 0:
                session = store.sessions.create(patient["id"], {"label": f"visit {k // 10 + 1}"}, actor=ACTOR)
            store.trials.import_trial(session["id"], "romberg", "eo", CALIBRATION, 100.0, frames, metrics, True, None,
                                      actor=ACTOR)
            made += 1


def _serve(app):
    from waitress.server import create_server

    from web.jsonio import SERVER_LIMITS

    server = create_server(app, host="127.0.0.1", port=0, threads=16, **SERVER_LIMITS)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.effective_port}"


class _CountingTransport:
    def __init__(self, send):
        self.send = send
        self.count = 0

    def __call__(self, *args):
        self.count += 1
        return self.send(*args)


def _timed(client, path: str, repeat: int, search: dict | None = None, csrf: str = "") -> tuple[float, float]:
    """Median and longest ms of ``repeat`` GETs of ``path``, or POSTs of ``search`` (a JSON body)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        if search is None:
            response = client.get(path)
        else:
            response = client.post(path, json=search, headers={"X-CSRF-Token": csrf})
        times.append(time.perf_counter() - t0)
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code}")
    return statistics.median(times) * 1e3, max(times) * 1e3


def _push_stations(args, hub, hub_store, url: str, work: Path) -> list:
    """Fill ``--stations`` stations and have them push to the hub at once; print the throughput.
    Returns their syncs (closed by the caller)."""
    from station.sync.client import urllib_transport

    t0 = time.perf_counter()
    syncs, transports = [], []
    for i in range(args.stations):
        store = Store.open(work / f"station{i}", password_cost=CHEAP)
        _fill(store, f"S{i}", 10, args.trials, args.frames)
        transport = _CountingTransport(urllib_transport())
        transports.append(transport)
        syncs.append(StationSync(store, HubClient(url, hub.add_station(f"station{i}"), transport=transport)))
    print(f"stations filled in {time.perf_counter() - t0:.1f} s")

    errors: list = []

    def push(sync):
        try:
            sync.sync_once()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=push, args=(s,)) for s in syncs]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"sync failed: {errors[0]}")
    trials = args.stations * args.trials
    with hub_store.db.read() as conn:
        on_hub = conn.execute("SELECT count(*) FROM trials").fetchone()[0]
    mb = trials * args.frames * 140 / 1e6
    print(f"sync: {trials} trials ({mb:.0f} MB of frames) from {args.stations} stations at once in {wall:.1f} s: "
          f"{trials / wall:.0f} trials/s, {mb / wall:.1f} MB/s, {sum(t.count for t in transports)} requests; "
          f"{on_hub} trials on the hub, queues left {sum(s.store.outbox.length() for s in syncs)}")
    return syncs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=10)
    parser.add_argument("--trials", type=int, default=200, help="trials per station")
    parser.add_argument("--frames", type=int, default=1000, help="frames per trial (1000: 10 s at 100 Hz)")
    parser.add_argument("--patient-trials", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database", help="PostgreSQL URL of an empty database for the hub (default: SQLite)")
    parser.add_argument("--throwaway-postgres", action="store_true",
                        help="start a throwaway PostgreSQL cluster (tests/postgres_cluster.py) for the hub")
    parser.add_argument("--api-only", action="store_true",
                        help="skip the stations' push: only the one patient's push and the hub's API times")
    args = parser.parse_args(argv)

    from station.sync.client import urllib_transport
    from web import create_app

    cluster = None
    database = args.database
    if args.throwaway_postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from postgres_cluster import Cluster

        cluster = Cluster()
        database = cluster.create_database("hub_bench")
    work = Path(tempfile.mkdtemp(prefix="hub-sync-bench-"))
    try:
        hub_store = Store.open(work / "hub", password_cost=CHEAP, **({"database": database} if database else {}))
        hub = Hub(hub_store)
        app = create_app({"STORE": hub_store, "HUB": True, "SECRET_KEY": "bench", "PASSWORD_COST": CHEAP})
        server, url = _serve(app)
        backend = "PostgreSQL" if database else "SQLite"
        pushing = "no stations (--api-only)" if args.api_only else f"{args.stations} stations x {args.trials} trials"
        print(f"hub: {backend}, waitress on {url}; {pushing} x {args.frames} frames")

        syncs = [] if args.api_only else _push_stations(args, hub, hub_store, url, work)

        big = Store.open(work / "big", password_cost=CHEAP)
        _fill(big, "BIG", 1, args.patient_trials, args.frames)
        t0 = time.perf_counter()
        StationSync(big, HubClient(url, hub.add_station("big"), transport=urllib_transport())).sync_once()
        print(f"one patient with {args.patient_trials} trials pushed in {time.perf_counter() - t0:.1f} s")

        hub_store.users.create("admin", "a long benchmark password 1", "admin", actor=ACTOR)
        client = app.test_client()
        csrf = client.get("/api/session").get_json()["csrf_token"]
        client.post("/api/login", json={"username": "admin", "password": "a long benchmark password 1"},
                    headers={"X-CSRF-Token": csrf})
        patient = hub_store.patients.get_by_identifier("BIG-0")
        doc = client.get(f"/api/patients/{patient['id']}").get_json()
        trial_id = doc["sessions"][0]["trials"][0]["id"]
        n = sum(len(s["trials"]) for s in doc["sessions"])
        print(f"hub API for a patient with {n} trials ({len(doc['sessions'])} visits), {args.repeat} requests each "
              "(median / max ms):")
        csrf = client.get("/api/session").get_json()["csrf_token"]  # the signed-in session's
        for label, path, search in (("patient page document", f"/api/patients/{patient['id']}", None),
                                    ("patient history", f"/api/patients/{patient['id']}/history", None),
                                    ("patient search", "/api/patients/search", {"q": "BIG"}),
                                    ("one trial", f"/api/trials/{trial_id}", None),
                                    ("one trial's frames", f"/api/trials/{trial_id}/frames", None)):
            median, worst = _timed(client, path, args.repeat, search, csrf)
            print(f"  {label:24s} {median:8.1f} / {worst:8.1f}")
        server.close()
        for s in syncs:
            s.store.close()
        big.close()
        hub_store.close()
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
        if cluster is not None:
            cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
