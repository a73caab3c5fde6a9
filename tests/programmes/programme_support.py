"""Helpers of the programme tests: a valid template as data, a wall clock, stored trials whose
metrics documents look like the station's (sway, timed holds, walking)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from station.store.audit import Actor
from station.store.passwords import ScryptCost

CHEAP = ScryptCost(log2_n=4, r=8, p=1)
ACTOR = Actor(7, "ana", "127.0.0.1")
START_S = 1_767_571_200.0  # 2026-01-05T00:00:00Z, a Monday
DAY_S = 86_400.0
CAL = {"method": "nominal"}
TESTS = Path(__file__).resolve().parents[1]


class WallClock:
    """A wall clock the test moves by hand (Unix s)."""

    def __init__(self, t_s: float) -> None:
        self.t_s = t_s

    def __call__(self) -> float:
        return self.t_s

    def to_day(self, iso_day: str) -> None:
        from datetime import date, datetime, timezone

        d = date.fromisoformat(iso_day)
        self.t_s = datetime(d.year, d.month, d.day, 10, 0, tzinfo=timezone.utc).timestamp()


def load_test_module(name: str, relative: str):
    """Another test folder's helper module (those folders are not packages), loaded once."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, TESTS / relative)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def template_data() -> dict:
    """The tables of a valid clinic template (4 weeks, 3x/week, quiet stance and single-leg)."""
    return {
        "programme": {"name": "clinic-walk", "title": "Clinic walking", "summary": "Walk backward overground.",
                      "activity": "overground_backward_walking", "population": "stroke"},
        "schedule": {"weeks": 4, "sessions_per_week": 3, "minutes_per_session": 30,
                     "progression": [{"from_week": 1, "belt_speed_m_s": 0.3},
                                     {"from_week": 3, "minutes_per_session": 40, "note": "longer"}]},
        "assessments": [
            {"id": "baseline", "label": "Baseline", "week": 0, "protocols": ["quiet-stance", "single-leg"]},
            {"id": "mid", "label": "Mid", "week": 2, "protocols": ["quiet-stance"]},
            {"id": "end", "label": "End", "week": 4, "protocols": ["quiet-stance", "single-leg"]},
        ],
        "outcomes": [
            {"protocol": "quiet-stance", "condition": "eo", "metric": "mean_velocity_cm_s", "label": "Sway velocity",
             "group": "Balance", "better": "lower"},
            {"protocol": "single-leg", "condition": "left", "metric": "time_held_s", "label": "Left leg",
             "group": "Single leg", "better": "higher"},
        ],
        "references": [{"id": "chang2021", "citation": "Chang KW et al. 2021.", "doi": "10.3390/ijerph18052376"}],
    }


def frames(n: int = 300):
    clinic_data = load_test_module("clinic_data", "store/clinic_data.py")
    return clinic_data.make_frames(n)


def sway_doc(protocol: str, condition: str, *, velocity: float, held: float | None = None) -> dict:
    """A metrics document as the protocol engine stores it (metrics + the protocol's view)."""
    trial = {"protocol": protocol, "condition": condition, "label": condition, "trial": 1, "attempt": 1, "valid": True,
             "end_reason": "duration", "completed": True, "duration_s": 30.0, "time_held_s": held, "liftoff_s": None,
             "hold_end": None, "issues": [], "warnings": [], "body_weight_n": 700.0, "analysis_start_s": 0.0,
             "analysis_end_s": 30.0, "metrics_note": ""}
    return {"fs_hz": 100.0, "samples": 3000, "profile": "station", "version": "test",
            "metrics": {"mean_velocity_cm_s": velocity, "ellipse_area_cm2": 2.0}, "trial": trial}


def store_assessment(store, patient_id: int, protocol: str, values: dict[str, dict]) -> int:
    """A station session of ``protocol`` with one stored trial per condition; returns its id."""
    session = store.sessions.create(patient_id, {"label": protocol}, actor=ACTOR)
    for condition, kw in values.items():
        store.trials.import_trial(session["id"], protocol, condition, CAL, 100.0, frames(),
                                  sway_doc(protocol, condition, **kw), True, None, actor=ACTOR)
    return session["id"]
