"""Known answers of the biofeedback games (station.analysis.biofeedback) on scripted COP paths,
their docstring examples, and their one-line errors."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

import station.analysis.biofeedback as bf
from station.analysis.biofeedback import DIRECTIONS, Game, GameError, make_schedule, patient_limits_cm, score_game

FS = 100.0
REACH = {d: 10.0 for d in DIRECTIONS}


def test_docstring_examples_run():
    result = doctest.testmod(bf, extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_every_public_function_shows_an_example():
    for name in ("patient_limits_cm", "make_schedule", "paretic_load_pct", "score_game"):
        assert ">>>" in getattr(bf, name).__doc__


def _play(schedule, policy, session_s=None):
    """Closed-loop player: ``policy(state, x, y, t) -> (x, y)`` each sample; returns the path."""
    game = Game(schedule)
    x = y = 0.0
    ts, aps, mls = [], [], []
    n = int(round((session_s or schedule.session_s) * FS)) + 1
    for i in range(n):
        t = i / FS
        game.feed([t], [x], [y])
        ts.append(t), aps.append(x), mls.append(y)
        x, y = policy(game.state(), x, y, t)
    return game, np.array(ts), np.array(aps), np.array(mls)


def _toward(speed_cm_s):
    def policy(state, x, y, t):
        target = state.get("target")
        if not target:
            gx, gy = state["centre"]
        else:
            gx, gy = target["ap_cm"], target["ml_cm"]
        d = math.hypot(gx - x, gy - y)
        step = speed_cm_s / FS
        if d <= step:
            return gx, gy
        return x + (gx - x) * step / d, y + (gy - y) * step / d
    return policy


def test_reach_straight_moves_at_known_speed():
    s = make_schedule("reach", 3, REACH, seed=7, session_s=90.0, rest_s=0.0)  # 70 % of 10 cm, radius 2, hold 2 s
    game, t, ap, ml = _play(s, _toward(10.0))
    r = game.result()
    assert r["targets_shown"] == 16 and r["hits"] == 16
    # The first target: 7 cm from the centre, entered 2 cm before it: 5 cm at 10 cm/s.
    assert r["targets"][0]["time_to_reach_s"] == pytest.approx(0.5, abs=0.02)
    assert all(tr["path_efficiency"] == pytest.approx(1.0, abs=1e-3) for tr in r["targets"])
    assert all(tr["time_held_s"] == pytest.approx(2.0) for tr in r["targets"])
    assert r["score"] == pytest.approx(100.0, abs=0.05)
    # Scoring the recorded path afterwards gives the same answer as the live game.
    assert score_game(s, t, ap, ml) == r


def test_reach_detour_path_efficiency():
    # Target 0 appears at 1 s; the COP jumps 4 cm sideways, then onto the target's centre:
    # straight 7 cm, path 4 + hypot(4, 7) cm.
    s = make_schedule("reach", 3, REACH, seed=2, session_s=30.0, rest_s=0.0)
    tg = s.targets[0]
    t = np.arange(0, 5.0, 1 / FS)
    ap = np.zeros_like(t)
    ml = np.zeros_like(t)
    ux, uy = tg.ap_cm / 7.0, tg.ml_cm / 7.0  # unit vector toward the target
    side = (t >= 1.5) & (t < 2.0)
    ap[side], ml[side] = -uy * 4.0, ux * 4.0
    on = t >= 2.0
    ap[on], ml[on] = tg.ap_cm, tg.ml_cm
    r = score_game(s, t, ap, ml)
    first = r["targets"][0]
    assert first["hit"] and first["time_to_reach_s"] == pytest.approx(1.0, abs=1e-6)
    assert first["path_efficiency"] == pytest.approx(7.0 / (4.0 + math.hypot(4.0, 7.0)), abs=1e-4)
    assert r["targets"][0]["time_held_s"] == 2.0


def test_reach_nobody_moves_every_target_missed():
    s = make_schedule("reach", 1, REACH, seed=1, session_s=60.0, rest_s=1.5)  # timeout 1 + 6 s
    t = np.arange(0, 61.0, 1 / FS)
    r = score_game(s, t, np.zeros_like(t), np.zeros_like(t))
    # (60 - 1 baseline) / (1.5 rest + 7 s) = 6.9: seven targets shown, none reached.
    assert r["targets_shown"] == 7 and r["hits"] == 0 and r["score"] == 0.0
    assert all(tr["time_to_reach_s"] is None and tr["path_efficiency"] is None for tr in r["targets"])


def test_reach_broken_hold_counts_the_longest_stay():
    s = make_schedule("reach", 5, REACH, seed=4, session_s=30.0, rest_s=0.0)  # hold 3 s, radius 1.3
    tg = s.targets[0]
    t = np.arange(0, 1.0 + s.hold_s + 6.0 + 0.5, 1 / FS)
    ap = np.zeros_like(t)
    ml = np.zeros_like(t)
    on = ((t >= 2.0) & (t < 3.0)) | ((t >= 4.0) & (t < 6.0))  # 1 s, out 1 s, 2 s: never 3 s
    ap[on], ml[on] = tg.ap_cm, tg.ml_cm
    r = score_game(s, t, ap, ml)
    first = r["targets"][0]
    assert not first["hit"]
    assert first["time_to_reach_s"] == pytest.approx(1.0, abs=1e-6)
    assert first["time_held_s"] == pytest.approx(2.0 - 1 / FS, abs=1e-6)
    assert r["score"] == 0.0


def test_track_on_and_off_the_target():
    s = make_schedule("track", 1, REACH, seed=3, session_s=40.0)  # radius 3 cm

    def offset(d):
        def policy(state, x, y, t):
            target = state.get("target")
            if not target:
                return x, y
            return target["ap_cm"] + d, target["ml_cm"]
        return policy

    r = _play(s, offset(1.0))[0].result()
    assert r["inside_pct"] == pytest.approx(100.0, abs=0.01)
    assert r["mean_distance_cm"] == pytest.approx(1.0, abs=0.05) and r["rms_distance_cm"] == pytest.approx(1.0, abs=0.05)
    r = _play(s, offset(4.0))[0].result()
    assert r["score"] <= 0.5 and r["mean_distance_cm"] == pytest.approx(4.0, abs=0.1)


def test_track_target_moves_within_the_reach():
    s = make_schedule("track", 5, {**REACH, "b": 5.0}, seed=0, session_s=60.0)  # 80 %
    pos = np.array([s.track_position(t) for t in np.arange(0, 60, 0.05)])
    assert pos[:, 0].max() == pytest.approx(8.0, abs=0.01) and pos[:, 0].min() == pytest.approx(-4.0, abs=0.01)
    assert abs(pos[:, 1]).max() == pytest.approx(8.0, abs=0.01)


def _shifter(shift_ml_cm, hold_s=None, delay_s=1.0):
    """Stand evenly; ``delay_s`` after each cycle's band shows, move to ``shift_ml_cm`` and stay
    there for ``hold_s`` (all the cycle when None), then back."""
    def policy(state, x, y, t):
        target = state.get("target")
        if not target:
            return 0.0, 0.0
        since = t - target["shown_s"]
        if since >= delay_s - 1e-9 and (hold_s is None or since < delay_s + hold_s - 1e-9):
            return 0.0, shift_ml_cm
        return 0.0, 0.0
    return policy


def test_shift_to_the_paretic_side_and_hold():
    # Right paretic, width 40 cm, level 1: band 55-65 %; +4 cm is 60 %.
    s = make_schedule("shift", 1, REACH, seed=0, session_s=60.0, rest_s=3.0, paretic_side="right", plate_width_cm=40.0)
    game, t, ap, ml = _play(s, _shifter(4.0))
    r = game.result()
    assert len(s.targets) == 5  # (60 - 1) / (3 + 3 + 5) s, at most
    assert r["targets_shown"] == 5  # each held cycle ends early: all five are played
    assert all(tr["hit"] and tr["time_to_reach_s"] == pytest.approx(1.0, abs=0.011) for tr in r["targets"])
    assert r["score"] == 100.0
    assert score_game(s, t, ap, ml) == r


def test_shift_half_the_hold_and_the_wrong_side():
    s = make_schedule("shift", 1, REACH, seed=0, session_s=60.0, rest_s=3.0, paretic_side="left", plate_width_cm=40.0)
    # Left paretic: -4 cm is 60 % on the left, held for half the 3 s hold.
    r = _play(s, _shifter(-4.0, hold_s=1.5))[0].result()
    assert r["targets_shown"] == 5
    assert all(not tr["hit"] and tr["time_held_s"] == pytest.approx(1.5, abs=0.011) for tr in r["targets"])
    assert r["score"] == pytest.approx(50.0, abs=0.5)
    # In the band 1.5 s of each 8 s window (hold 3 s + 5 s to get there).
    assert r["in_band_pct"] == pytest.approx(100 * 1.5 / 8.0, abs=0.5)
    wrong = _play(s, _shifter(+4.0))[0].result()
    assert wrong["score"] == 0.0 and wrong["in_band_pct"] == 0.0 and wrong["hits"] == 0


def test_shift_from_the_corner_forces():
    s = make_schedule("shift", 1, REACH, seed=0, session_s=30.0, rest_s=0.0, paretic_side="right", plate_width_cm=40.0)
    t = np.arange(0, 30.5, 1 / FS)
    corners = np.tile([200.0, 200.0, 200.0, 200.0], (len(t), 1))
    corners[t >= 2.0] = [160.0, 240.0, 160.0, 240.0]  # 60 % on the right
    r = score_game(s, t, np.zeros_like(t), np.zeros_like(t), corners_n=corners)  # the COP says nothing here
    assert r["targets"][0]["hit"] and r["targets"][0]["time_to_reach_s"] == pytest.approx(1.0, abs=1e-6)


def test_steady_inside_the_shrinking_circle():
    s = make_schedule("steady", 1, REACH, seed=0, session_s=30.0)  # 4 -> 1.6 cm over 29 s, hold 2 s
    t = np.arange(0, 30.5, 1 / FS)
    r = score_game(s, t, np.zeros_like(t), np.zeros_like(t))
    assert r["score"] == 100.0 and r["smallest_radius_held_cm"] == pytest.approx(1.6, abs=0.01)
    ap = np.where(t >= 1.0, 2.0, 0.0)  # 2 cm from the centre after the baseline
    r = score_game(s, t, ap, np.zeros_like(t))
    inside_s = 29.0 * 2.0 / 2.4  # until r(t) = 2 cm
    assert r["inside_pct"] == pytest.approx(100 * inside_s / 29.0, abs=0.1)
    assert r["smallest_radius_held_cm"] == pytest.approx(2.0, abs=0.01)


def test_patient_limits_sources():
    by_height, source = patient_limits_cm(height_cm=180.0)
    assert source == "height" and by_height["f"] > by_height["b"] > 0
    by_los, source = patient_limits_cm(los_max_excursion_pct={"los_max_excursion_pct_f": 100.0}, height_cm=180.0)
    assert source == "los" and by_los["f"] == pytest.approx(by_height["f"])
    by_range, source = patient_limits_cm(clinician_range_cm={d: 9.0 for d in DIRECTIONS}, height_cm=180.0)
    assert source == "clinician" and set(by_range.values()) == {9.0}


@pytest.mark.parametrize("call, words", [
    (lambda: make_schedule("golf", 1, REACH, seed=1), "game 'golf' is unknown"),
    (lambda: make_schedule("reach", 6, REACH, seed=1), "level 6 is out of range"),
    (lambda: make_schedule("reach", 1, {"f": 5.0}, seed=1), "no distance for direction 'fr'"),
    (lambda: make_schedule("reach", 1, REACH, seed=1, session_s=5.0), "session_s: 5.0 is out of range"),
    (lambda: make_schedule("shift", 1, REACH, seed=1, plate_width_cm=40.0), "paretic_side None"),
    (lambda: make_schedule("reach", 1, {**REACH, "l": -3.0}, seed=1), "reach l: -3.0 is out of range"),
    (lambda: patient_limits_cm(), "no reach for the targets"),
    (lambda: patient_limits_cm(clinician_range_cm=float("nan")), "clinician range: nan is out of range"),
    (lambda: score_game(make_schedule("track", 1, REACH, seed=1), [0.0, 0.0, 0.1], [0, 0, 0], [0, 0, 0]),
     "time_s must be finite and increasing"),
    (lambda: score_game(make_schedule("track", 1, REACH, seed=1), [0.0, 0.1], [0, 0, 0], [0, 0]), "one length"),
    (lambda: score_game(make_schedule("track", 1, REACH, seed=1), [0.0], [0], [0]), "at least two samples"),
])
def test_bad_input_one_line_error(call, words):
    with pytest.raises(GameError) as info:
        call()
    assert words in str(info.value) and "\n" not in str(info.value)
