"""Time to produce each PDF report and FHIR bundle for a patient with 50 sessions.

    python3 benchmarks/report_timing.py [--sessions 50] [--repeat 3] [--data-dir DIR]

Builds (in a temporary data directory unless ``--data-dir``) one patient with ``--sessions``
sessions over the year before :data:`ANCHOR_DAY` (the same data whatever day it runs) through the
store's public API: Romberg tests (eyes open and closed, two 30 s trials), every sixth a 10-metre
walk, and the three assessment visits of the built-in backward-walking programme (quiet stance,
Romberg, weight bearing) with its sessions' doses. Every trial stores its full 30 s of frames and its
real metrics (:func:`station.protocols.results.trial_metrics` on simulated sway). Then it times, for
that patient, the session report (the last visit), the history report, the programme report, and the
FHIR bundles of the session and of the whole history, and prints the numbers (median and max of
``--repeat`` runs, PDF size, pages). It asserts nothing. :func:`build_patient` is also the tests'
clinic (tests/reports).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_clinic_data import frames_of, sway  # noqa: E402

from station.protocols.results import trial_metrics  # noqa: E402
from station.store.audit import Actor  # noqa: E402

RATE_HZ = 100.0
ACTOR = Actor(None, "bench:reports")
CALIBRATIONS = (
    {"method": "measured", "created_utc": "2025-11-03T08:00:00+00:00", "n_per_count": [1.1e-4] * 4, "residual_n": 0.8},
    {"method": "measured", "created_utc": "2026-05-11T08:00:00+00:00", "n_per_count": [1.1e-4] * 4, "residual_n": 0.7},
)
ANCHOR_DAY = date(2026, 12, 6)
"""The day the built patient's data end on (its last visit; the sessions go back a week at a time from 3 days
before it): fixed, so the benchmark times the same data whatever day it runs (from the store's today, the
calibration change of 2026-05-11 fell before the first session from 2027-02-18 on)."""


def _trial_doc(protocol: str, condition: str, metrics: dict, *, held: float | None = None) -> dict:
    """A metrics document as the protocol engine stores it: the metrics and the protocol's view."""
    return {**metrics, "trial": {
        "protocol": protocol, "condition": condition, "label": condition, "trial": 1, "attempt": 1, "valid": True,
        "end_reason": "duration", "completed": True, "duration_s": 30.0, "time_held_s": held, "liftoff_s": None,
        "hold_end": None, "issues": [], "warnings": [], "body_weight_n": 700.0, "analysis_start_s": 0.0,
        "analysis_end_s": 30.0, "metrics_note": ""}}


def _walk_doc(rng: np.random.Generator, speed_m_s: float) -> dict:
    time_s = 6.0 / speed_m_s
    cadence = 100.0 + 10 * (speed_m_s - 1.0) + float(rng.normal(0, 2))
    metrics = {"walk_time_s": time_s, "walk_distance_m": 6.0, "walk_speed_m_s": speed_m_s, "steps": 16,
               "duration_s": time_s + 2.0, "cadence_steps_min": cadence, "step_time_s": 60.0 / cadence,
               "step_time_cv_pct": float(rng.uniform(2, 6)), "stride_time_cv_pct": float(rng.uniform(2, 5)),
               "step_regularity": 0.8, "stride_regularity": 0.85, "step_symmetry": 0.94, "step_length_m": None,
               "walking_speed_m_s": None}
    return {"kind": "walk", "fs_hz": RATE_HZ, "samples": int(time_s * RATE_HZ), "profile": "walk", "version": "bench",
            "metrics": metrics, "initial_contacts_s": [], "by_minute": [],
            "trial": {"protocol": "ten-metre-walk", "condition": "comfortable", "trial": 1, "attempt": 1, "valid": True,
                      "end_reason": "gate", "completed": True, "issues": [], "warnings": []}}


def _recording(rng: np.random.Generator, scale_cm: float, left_share: float = 0.5):
    ap, ml = sway(rng, int(30 * RATE_HZ), scale_cm)
    frames = frames_of(ap, ml, rng)
    fz = frames["fz_n"]
    frames["fl_n"] = frames["bl_n"] = fz * left_share / 2
    frames["fr_n"] = frames["br_n"] = fz * (1 - left_share) / 2
    return frames, trial_metrics(frames, RATE_HZ)


def _iso(day: date, hour: int) -> str:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_patient(store, *, sessions: int = 50, identifier: str = "R-0050", seed: int = 1,
                  programmes: dict | None = None, anchor_day: date = ANCHOR_DAY) -> dict:
    """A patient (stroke, born 1950) with ``sessions`` sessions and a finished programme, dated back from
    ``anchor_day`` (the last visit's day; :data:`ANCHOR_DAY`), not from the store's today.

    Returns ``{"patient_id", "session_ids", "last_visit_session_id", "assignment_id"}``. Needs at
    least 9 sessions (the programme's three visits of three tests each)."""
    from station.programmes.loader import builtin_programmes
    from station.protocols.loader import builtin_protocols

    if sessions < 9:
        raise ValueError("at least 9 sessions: three programme visits of three tests each")
    rng = np.random.default_rng(seed)
    patient = store.patients.create({"identifier": identifier, "birth_year": 1950, "sex": "F",
                                     "conditions": ["stroke:left"]}, actor=ACTOR)
    pid = patient["id"]
    start = anchor_day - timedelta(days=28)
    visit_days = [start, start + timedelta(days=14), start + timedelta(days=28)]
    regular = [anchor_day - timedelta(days=7 * i + 3) for i in range(sessions - 9)]
    plan = [(d, "regular") for d in regular] + [(d, "visit") for d in visit_days]
    plan.sort()
    templates = [_recording(rng, 0.9 - 0.05 * k) for k in range(6)]
    asymmetric = [_recording(rng, 0.6, left_share) for left_share in (0.42, 0.45, 0.47)]
    out = {"patient_id": pid, "session_ids": [], "visit_sessions": []}
    cal_of = {True: CALIBRATIONS[1], False: CALIBRATIONS[0]}

    def session(day: date, hour: int, label: str) -> int:
        sid = store.sessions.create(pid, {"label": label, "started_at": _iso(day, hour)}, actor=ACTOR)["id"]
        out["session_ids"].append(sid)
        return sid

    def trial(sid: int, protocol: str, condition: str, frames, doc, day: date) -> int:
        calibration = cal_of[day.isoformat() >= "2026-05-11"]
        started = store.sessions.get(sid)["started_at"]
        at_s = datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp() + 60 * len(store.sessions.get(sid)["trials"])
        return store.trials.import_trial(sid, protocol, condition, calibration, RATE_HZ, frames, doc, True, None,
                                         actor=ACTOR, started_at_s=at_s)

    visit_index = 0
    for n, (day, kind) in enumerate(plan):
        k = min(5, n * 6 // max(1, len(plan)))
        frames, metrics = templates[k]
        if kind == "regular":
            if n % 6 == 5:
                sid = session(day, 9, "walk")
                walk_frames = frames[: int(8 * RATE_HZ)]
                trial(sid, "ten-metre-walk", "comfortable", walk_frames, _walk_doc(rng, 0.7 + 0.01 * n), day)
            else:
                sid = session(day, 9, "romberg")
                for condition in ("eo", "ec"):
                    trial(sid, "romberg", condition, frames, _trial_doc("romberg", condition, metrics), day)
            continue
        visit_sessions = {}
        for hour, protocol, conditions in ((9, "quiet-stance", ("eo",)), (10, "romberg", ("eo", "ec")),
                                           (11, "weight-bearing", ("eo",))):
            sid = session(day, hour, protocol)
            for condition in conditions:
                fr, me = asymmetric[visit_index] if protocol == "weight-bearing" else templates[min(5, 3 + visit_index)]
                trial(sid, protocol, condition, fr, _trial_doc(protocol, condition, me), day)
            visit_sessions[protocol] = sid
        out["visit_sessions"].append(visit_sessions)
        visit_index += 1
    programmes = programmes or builtin_programmes(builtin_protocols())
    assignment = store.programmes.assign(pid, programmes["backward-walking-stroke"], start.isoformat(), actor=ACTOR)
    doc = store.programmes.get(assignment["id"])
    for visit, linked in zip(doc["visits"], out["visit_sessions"]):
        for protocol, sid in linked.items():
            store.programmes.link_visit_session(visit["id"], protocol, sid, actor=ACTOR)
    for s in doc["sessions"]:
        if s["number"] == 5:
            store.programmes.miss_session(s["id"], {"reason": "unwell"}, actor=ACTOR)
        elif s["planned_date"] <= anchor_day.isoformat():
            # entered on the anchor day (as the tests' clinic, built with its clock on that day, always had them)
            store.programmes.enter_dose(s["id"], {"minutes": 25 + s["week"] * 1.5, "belt_speed_m_s": 0.3 + 0.05 * s["week"],
                                                  "rpe": 12 + s["week"], "done_on": anchor_day.isoformat()}, actor=ACTOR)
    out["assignment_id"] = assignment["id"]
    out["last_visit_session_id"] = out["visit_sessions"][-1]["romberg"]
    return out


def _time(fn, repeat: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--paper", choices=("a4", "letter"), default="a4")
    args = parser.parse_args(argv)
    from station.protocols.loader import builtin_protocols
    from station.reports.build import make_report
    from station.reports.context import Clinic
    from station.reports.fhir_bundle import patient_bundle, session_bundle
    from station.store.store import Store

    with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        store = Store.open(data_dir)
        t0 = time.perf_counter()
        made = build_patient(store, sessions=args.sessions)
        built_s = time.perf_counter() - t0
        protocols = builtin_protocols()
        clinic = Clinic("Benchmark clinic", None)
        trials = sum(len(store.sessions.get(s)["trials"]) for s in made["session_ids"])
        jobs = {
            "session report (last visit)": lambda: make_report("session", store, made["last_visit_session_id"],
                                                               protocols=protocols, clinic=clinic, actor=ACTOR,
                                                               paper=args.paper),
            "history report": lambda: make_report("patient", store, made["patient_id"], protocols=protocols,
                                                  clinic=clinic, actor=ACTOR, paper=args.paper),
            "programme report": lambda: make_report("programme", store, made["assignment_id"], protocols=protocols,
                                                    clinic=clinic, actor=ACTOR, paper=args.paper),
            "FHIR bundle, session (last visit)": lambda: session_bundle(store, made["last_visit_session_id"], protocols,
                                                                        actor=ACTOR),
            "FHIR bundle, whole history": lambda: patient_bundle(store, made["patient_id"], protocols, actor=ACTOR),
        }
        results = {}
        for name, job in jobs.items():
            times, output = _time(job, args.repeat)
            entry = {"median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3),
                     "bytes": len(output)}
            if isinstance(output, bytes):
                entry["pages"] = output.count(b"/Type /Page\n") or output.count(b"/Type /Page")
            else:
                entry["observations"] = output.count("\"resourceType\":\"Observation\"")
            results[name] = entry
        store.close()
    print(json.dumps({"sessions": args.sessions, "trials": trials, "anchor_day": ANCHOR_DAY.isoformat(),
                      "paper": args.paper, "repeat": args.repeat,
                      "build_clinic_s": round(built_s, 1), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
