"""Server time of the API endpoints behind the clinic pages, on a generated database.

    python3 benchmarks/generate_clinic_data.py --data-dir /tmp/clinic --patients 1000 --trials 20000
    python3 benchmarks/web_timing.py --data-dir /tmp/clinic

Each request goes through the whole Flask app (session lookup, CSRF/role checks, the queries,
JSON encoding, security headers, and the audit-log write with its fsync for patient views) via
Flask's test client, so the numbers are the server's time without the network. Patients, sessions
and trials are picked at random (fixed seed). Budget: 200 ms per page-backing request
(patient list, patient page, trial page). Prints one JSON object with median, p95 and max in ms.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

from station.store.audit import Actor
from station.store.db import NotFound
from web import create_app

BENCH_USER = "bench-admin"
BENCH_PASSWORD = "benchmark password 1"
BUDGET_MS = 200.0


def _ms(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1e3, 2),
        "p95_ms": round(p95 * 1e3, 2),
        "max_ms": round(ordered[-1] * 1e3, 2),
    }


def run(args: argparse.Namespace) -> dict:
    app = create_app({"DATA_DIR": str(args.data_dir)})
    store = app.extensions["station_store"]
    try:
        try:
            store.users.get_by_name(BENCH_USER)
        except NotFound:
            store.users.create(BENCH_USER, BENCH_PASSWORD, "admin", actor=Actor(None, "bench"))
        client = app.test_client()
        csrf = client.get("/api/session").json["csrf_token"]
        r = client.post("/api/login", json={"username": BENCH_USER, "password": BENCH_PASSWORD},
                        headers={"X-CSRF-Token": csrf})
        if r.status_code != 200:
            raise SystemExit(f"cannot sign in the benchmark user: {r.status_code} {r.get_data(as_text=True)}")
        with store.db.read() as conn:
            counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("patients", "sessions", "trials")}
            patient_ids = [r[0] for r in conn.execute("SELECT id FROM patients")]
            session_ids = [r[0] for r in conn.execute("SELECT id FROM sessions")]
            trial_ids = [r[0] for r in conn.execute("SELECT id FROM trials")]
            full_trial = conn.execute("SELECT id FROM trials ORDER BY frame_count DESC LIMIT 1").fetchone()[0]
        rng = random.Random(args.seed)
        n = args.repeat
        cases = {
            "patient_list": lambda: "/api/patients",
            "patient_list_recent": lambda: "/api/patients?sort=recent",
            "patient_search": lambda: ("/api/patients/search", {"q": f"B-{rng.randrange(100):02d}"}),  # POSTed
            "patient_list_condition": lambda: "/api/patients?condition=parkinsons",
            "patient_detail": lambda: f"/api/patients/{rng.choice(patient_ids)}",
            "session_detail": lambda: f"/api/sessions/{rng.choice(session_ids)}",
            "trial_detail": lambda: f"/api/trials/{rng.choice(trial_ids)}",
            "trial_frames_60s": lambda: f"/api/trials/{full_trial}/frames",
            "trial_export_zip_60s": lambda: f"/api/trials/{full_trial}/export.zip",
        }
        csrf = client.get("/api/session").json["csrf_token"]  # the signed-in session's

        def ask(asked):  # a path (GET), or (path, JSON body) POSTed as the pages do
            if isinstance(asked, tuple):
                return client.post(asked[0], json=asked[1], headers={"X-CSRF-Token": csrf})
            return client.get(asked)

        results = {}
        trials_on_detail = []
        for name, url in cases.items():
            ask(url())  # warm the page cache and code paths once
            samples = []
            for _ in range(n if "60s" not in name else max(3, n // 5)):
                path = url()
                t0 = time.perf_counter()
                response = ask(path)
                samples.append(time.perf_counter() - t0)
                if response.status_code != 200:
                    raise SystemExit(f"{path}: {response.status_code} {response.get_data(as_text=True)[:200]}")
                if name == "patient_detail":
                    trials_on_detail.append(sum(len(s["trials"]) for s in response.json["sessions"]))
            results[name] = _ms(samples)
        page_backing = ("patient_list", "patient_detail", "trial_detail")
        return {
            "database": {**counts, "db_mb": round((Path(args.data_dir) / "station.sqlite3").stat().st_size / 1e6, 1)},
            "patient_detail_trials": {"mean": round(statistics.mean(trials_on_detail), 1), "max": max(trials_on_detail)},
            "timings": results,
            "budget_ms": BUDGET_MS,
            "within_budget": all(results[k]["max_ms"] <= BUDGET_MS for k in page_backing),
        }
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="a data directory made by generate_clinic_data.py")
    parser.add_argument("--repeat", type=int, default=50, help="requests per endpoint (default 50)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if not (args.data_dir / "station.sqlite3").is_file():
        parser.error(f"no station database in {args.data_dir}; run benchmarks/generate_clinic_data.py first")
    print(json.dumps(run(args), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
