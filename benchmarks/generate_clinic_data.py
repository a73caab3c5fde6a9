"""Fill a data directory with a realistic clinic: patients, sessions and trials with metrics.

    python3 benchmarks/generate_clinic_data.py --data-dir /tmp/clinic --patients 1000 --trials 20000

Everything goes through the store's public API (``Store.patients.create``, ``Store.sessions.create``,
``Store.trials.import_trial``), in transactions of a few hundred records so that generation does not
pay one fsync per trial. Trials are spread over patients unevenly (a few patients have many
visits, some none), grouped into sessions of 2-8 trials over the last two years, with the protocols
and conditions of ``station/protocols/builtin``. Metrics are real: ``compute_metrics`` run on a set
of simulated 30 s sway recordings (random-walk COP with mean reversion), reused across trials.

Raw frames: each trial stores ``--frame-seconds`` of frames (default 1 s, 100 frames, 13.6 kB),
not its full length, to keep the database at a few hundred MB. The list, patient and trial
endpoints never read ``trial_chunks``, so this does not change their timing; the frames endpoint is
timed on one full-length trial that the generator adds (``--full-trial-seconds``, default 60).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from station.acquire.frame import empty_frames
from station.analysis.metrics import compute_metrics
from station.store.audit import Actor
from station.store.store import Store

PROTOCOLS = [
    ("romberg", "eo"), ("romberg", "ec"), ("quiet-stance", "eo"), ("mctsib", "firm_eo"), ("mctsib", "firm_ec"),
    ("mctsib", "foam_eo"), ("mctsib", "foam_ec"), ("tandem", "tandem"), ("single-leg", "left"),
    ("single-leg", "right"), ("weight-bearing", "eo"),
]
CONDITION_SETS = [[], [], ["fall_12m"], ["stroke:left"], ["stroke:right", "walking_aid"], ["parkinsons"],
                  ["parkinsons", "fall_12m"], ["peripheral_neuropathy", "diabetes"], ["vestibular"],
                  ["knee_osteoarthritis"], ["multiple_sclerosis", "fear_of_falling"]]
RATE_HZ = 100.0
CALIBRATION = {"method": "measured", "n_per_count": [1.1e-4, 1.1e-4, 1.1e-4, 1.1e-4], "residual_n": 0.8}
ACTOR = Actor(None, "bench:generator")


def sway(rng: np.random.Generator, n: int, scale_cm: float) -> tuple[np.ndarray, np.ndarray]:
    """COP (cm) of quiet standing: two mean-reverting random walks (AR(1), 100 Hz)."""
    out = []
    for axis_scale in (scale_cm, 0.7 * scale_cm):
        noise = rng.normal(0.0, 0.03 * axis_scale, n)
        x = np.empty(n)
        x[0] = 0.0
        for i in range(1, n):
            x[i] = 0.995 * x[i - 1] + noise[i]
        out.append(x)
    return out[0], out[1]


def frames_of(ap_cm: np.ndarray, ml_cm: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(ap_cm)
    frames = empty_frames(n)
    frames["seq"] = np.arange(n)
    frames["t_ns"] = (np.arange(n) * (1e9 / RATE_HZ)).astype(np.int64)
    frames["ap_cm"], frames["ml_cm"] = ap_cm, ml_cm
    fz = 700.0 + rng.normal(0, 2.0, n)
    frames["fz_n"] = fz
    for corner in ("fl_n", "fr_n", "bl_n", "br_n"):
        frames[corner] = fz / 4
    return frames


def template_results(rng: np.random.Generator, count: int) -> list[tuple[dict, np.ndarray, np.ndarray]]:
    """``count`` simulated 30 s recordings with their real metrics."""
    templates = []
    for k in range(count):
        ap, ml = sway(rng, int(30 * RATE_HZ), scale_cm=0.5 + 0.15 * k)
        corners = {c: np.full(len(ap), 175.0) for c in ("fl_n", "fr_n", "bl_n", "br_n")}
        templates.append((compute_metrics(ap, ml, RATE_HZ, profile="station", corners_n=corners), ap, ml))
    return templates


def split_trials(rng: np.random.Generator, patients: int, trials: int) -> np.ndarray:
    """Trials per patient: uneven (gamma-distributed weights), summing to ``trials``."""
    weights = rng.gamma(0.8, 1.0, patients)
    return rng.multinomial(trials, weights / weights.sum())


def generate(args: argparse.Namespace) -> dict:
    rng = np.random.default_rng(args.seed)
    store = Store.open(args.data_dir)
    try:
        if store.patients.search(archived="all", limit=1)["total"]:
            raise SystemExit(f"{args.data_dir} already holds patients; give an empty --data-dir")
        t0 = time.perf_counter()
        templates = template_results(rng, 16)
        t_metrics = time.perf_counter() - t0
        n_frames = int(args.frame_seconds * RATE_HZ)
        now_s = time.time()
        per_patient = split_trials(rng, args.patients, args.trials)
        made_trials = made_sessions = 0
        batch = 0
        t0 = time.perf_counter()
        for p in range(args.patients):
            with store.db.write():  # one transaction per patient and their trials
                patient = store.patients.create(
                    {
                        "identifier": f"B-{p:05d}",
                        "birth_year": int(rng.integers(1930, 1995)),
                        "sex": ["F", "M", "X"][int(rng.choice(3, p=[0.55, 0.43, 0.02]))],
                        "height_cm": round(float(rng.normal(168, 9)), 1),
                        "weight_kg": round(float(rng.normal(74, 13)), 1),
                        "conditions": CONDITION_SETS[int(rng.integers(len(CONDITION_SETS)))],
                        "notes": "" if rng.random() < 0.6 else "Generated patient for benchmarks.",
                    },
                    actor=ACTOR,
                )
                remaining = int(per_patient[p])
                visit_s = now_s - 730 * 86400 * float(rng.random())
                while remaining > 0:
                    in_session = min(remaining, int(rng.integers(2, 9)))
                    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(visit_s))
                    session = store.sessions.create(
                        patient["id"], {"label": f"visit {made_sessions % 12 + 1}", "started_at": started}, actor=ACTOR
                    )
                    made_sessions += 1
                    for t in range(in_session):
                        metrics, ap, ml = templates[int(rng.integers(len(templates)))]
                        protocol, condition = PROTOCOLS[int(rng.integers(len(PROTOCOLS)))]
                        valid = bool(rng.random() > 0.08)
                        store.trials.import_trial(
                            session["id"], protocol, condition, CALIBRATION, RATE_HZ,
                            frames_of(ap[:n_frames], ml[:n_frames], rng), metrics, valid,
                            None if valid else "stepped off the plate", actor=ACTOR,
                            started_at_s=visit_s + 90 * t,
                        )
                    made_trials += in_session
                    remaining -= in_session
                    visit_s = min(now_s, visit_s + 86400 * float(rng.integers(7, 60)))
            batch += 1
            if args.progress and batch % 100 == 0:
                print(f"  {batch} patients, {made_trials} trials", file=sys.stderr)
        # One full-length trial for the frames endpoint.
        full = store.sessions.create(1, {"label": "full-length trial"}, actor=ACTOR)
        ap, ml = sway(rng, int(args.full_trial_seconds * RATE_HZ), 0.8)
        full_trial = store.trials.import_trial(
            full["id"], "romberg", "eo", CALIBRATION, RATE_HZ, frames_of(ap, ml, rng),
            compute_metrics(ap, ml, RATE_HZ), True, None, actor=ACTOR,
        )
        t_insert = time.perf_counter() - t0
    finally:
        store.close()
    db = Path(args.data_dir) / "station.sqlite3"
    return {
        "patients": args.patients,
        "sessions": made_sessions + 1,
        "trials": made_trials + 1,
        "frames_per_trial": n_frames,
        "full_length_trial_id": full_trial,
        "db_mb": round(db.stat().st_size / 1e6, 1),
        "template_metrics_s": round(t_metrics, 2),
        "insert_s": round(t_insert, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="empty or new data directory")
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=20000)
    parser.add_argument("--frame-seconds", type=float, default=1.0, help="raw frames stored per trial, s")
    parser.add_argument("--full-trial-seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args(argv)
    if args.patients < 1 or args.trials < 0 or not 0 < args.frame_seconds <= 30:
        parser.error("need --patients >= 1, --trials >= 0 and 0 < --frame-seconds <= 30")
    print(json.dumps(generate(args), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
