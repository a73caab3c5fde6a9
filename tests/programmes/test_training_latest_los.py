"""Games scaled to the patient's last limits-of-stability test: every direction with a valid lean in
the latest LOS session (each the mean of its valid leans, in degrees of the lean's own limit), not
one trial's direction; the same leans give the next LOS test's targets
(station.store.training latest_los_session, lean.last_los_excursion_pct and previous_limits_deg)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from station.acquire.frame import empty_frames
from station.analysis.biofeedback import patient_limits_cm
from station.analysis.limits_of_stability import cog_height_cm, direction_limits_deg
from station.protocols.lean import last_los_excursion_pct, previous_limits_deg

from programme_support import ACTOR

LOS = "limits-of-stability"


def _frames(n=50):
    frames = empty_frames(n)
    frames["seq"] = np.arange(n)
    frames["t_ns"] = (frames["seq"] * 10_000_000).astype(np.int64)
    for corner in ("fl_n", "fr_n", "bl_n", "br_n"):
        frames[corner] = 175.0
    frames["fz_n"] = 700.0
    return frames


THEORY = direction_limits_deg()


def _lean(store, session_id, direction, max_excursion_pct, valid=True, protocol=LOS, limit_deg=None):
    writer = store.trials.start_trial(session_id, protocol, direction, {"method": "nominal"}, 100.0, actor=ACTOR)
    writer.append(_frames())
    doc = {"fs_hz": 100.0, "samples": 50, "profile": "limits_of_stability", "version": "0.1.0",
           "metrics": {f"los_max_excursion_pct_{direction}": max_excursion_pct,
                       f"los_reaction_time_s_{direction}": 0.7},
           "los": {"direction": direction, "limit_deg": limit_deg or THEORY[direction]}}
    return writer.finish(doc, valid, None if valid else "moved before the go signal — repeat")


@pytest.fixture
def two_tests(store, patient, wall):
    wall.to_day("2026-01-05")
    first = store.sessions.create(patient["id"], {"label": "LOS 1"}, actor=ACTOR)
    _lean(store, first["id"], "f", 60.0)
    _lean(store, first["id"], "r", 70.0)
    _lean(store, first["id"], "bl", 55.0)
    wall.to_day("2026-01-12")
    second = store.sessions.create(patient["id"], {"label": "LOS 2"}, actor=ACTOR)
    _lean(store, second["id"], "f", 90.0, valid=False)  # invalid: left out
    _lean(store, second["id"], "f", 50.0)
    _lean(store, second["id"], "r", 80.0)
    _lean(store, second["id"], "fr", 75.0, limit_deg=4.0)  # its target from a previous test: 3 deg reached
    _lean(store, second["id"], "l", 30.0)
    _lean(store, second["id"], "l", 50.0)  # two valid leans of one direction: their mean
    _lean(store, second["id"], "b", 95.0, protocol="quiet-stance")  # another protocol: left out
    return first, second


def test_latest_los_combines_every_valid_lean_of_the_latest_session(store, patient, two_tests):
    _, second = two_tests
    session_id, reached = store.training.latest_los_session(patient["id"])
    assert session_id == second["id"]
    # bl was only tested in the older session; f's invalid lean and the quiet-stance trial are left out
    assert reached == pytest.approx({"f": 4.0, "r": 6.4, "fr": 3.0, "l": 3.2})
    assert last_los_excursion_pct(store, patient["id"]) == pytest.approx(
        {"f": 50.0, "r": 80.0, "fr": 100 * 3.0 / THEORY["fr"], "l": 40.0})


def test_games_and_the_next_los_test_scale_to_the_same_leans(store, patient, two_tests):
    _, second = two_tests
    reach, source = patient_limits_cm(los_max_excursion_pct=last_los_excursion_pct(store, patient["id"]),
                                      height_cm=170.0)
    h = cog_height_cm(170.0)
    assert source == "los"
    for d, deg in (("f", 4.0), ("r", 6.4), ("fr", 3.0), ("l", 3.2), ("b", THEORY["b"]), ("bl", THEORY["bl"])):
        assert reach[d] == pytest.approx(h * math.tan(math.radians(deg)))
    limits, session_id = previous_limits_deg(store, patient["id"], LOS, actor=ACTOR)
    assert session_id == second["id"]
    assert limits == pytest.approx({**THEORY, "f": 4.0, "r": 6.4, "fr": 3.0, "l": 3.2})


def test_no_valid_lean_no_los_scaling(store, patient, wall):
    assert last_los_excursion_pct(store, patient["id"]) is None
    session = store.sessions.create(patient["id"], {"label": "LOS"}, actor=ACTOR)
    _lean(store, session["id"], "f", 70.0, valid=False)
    assert last_los_excursion_pct(store, patient["id"]) is None
    assert store.training.latest_los_session(patient["id"], "quiet-stance") is None
    assert previous_limits_deg(store, patient["id"], LOS, actor=ACTOR) is None
