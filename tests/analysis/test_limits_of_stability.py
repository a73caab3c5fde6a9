"""Limits of stability: known answers on synthetic leans, quality codes on scripted traces,
invariances, validation, and the docstring examples (station.analysis.limits_of_stability)."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

import station.analysis.limits_of_stability as los
from station.analysis.limits_of_stability import (
    DIRECTIONS,
    DIRECTION_VECTORS,
    LOS_KEYS,
    LimitsOfStabilityError,
    cog_height_cm,
    direction_limits_deg,
    limits_of_stability,
    target_distance_cm,
)

FS = 100.0
HEIGHT_CM = 175.0
H = 0.5527 * HEIGHT_CM


def _to_cm(angle_ap_deg, angle_ml_deg, h=H):
    """Inverse of sway_angle_deg: a sway-angle vector (deg) -> horizontal COP displacement (cm)."""
    mag = np.hypot(angle_ap_deg, angle_ml_deg)
    scale = np.divide(h * np.tan(np.radians(mag)), mag, out=np.full_like(mag, h * math.pi / 180), where=mag > 0)
    return angle_ap_deg * scale, angle_ml_deg * scale


def _ramp(t, start_s, speed, amplitude):
    return np.clip((t - start_s) * speed, 0.0, amplitude)


def _leans(specs, duration_s=80.0, offset_cm=(1.5, -0.7), tilt_deg=0.0):
    """A test of leans built in sway-angle space, each a ramp out, a hold and a ramp back.

    specs: dicts with go, dir, delay, speed (deg/s), amplitude (deg); optionally second (a later
    correction to this amplitude), tilt (deg, path at that angle from the target direction).
    """
    t = np.arange(0, duration_s, 1 / FS)
    a_ap = np.zeros_like(t)
    a_ml = np.zeros_like(t)
    for s in specs:
        start = s["go"] + s["delay"]
        out = _ramp(t, start, s["speed"], s["amplitude"])
        if "second" in s:
            out = out + _ramp(t, start + 3.0, 1.0, s["second"] - s["amplitude"])
        peak = s.get("second", s["amplitude"])
        back = _ramp(t, s["go"] + 6.0, 4.0, peak)
        p = out - back
        u_ap, u_ml = DIRECTION_VECTORS[s["dir"]]
        tilt = math.radians(s.get("tilt", 0.0))
        w_ap = u_ap * math.cos(tilt) - u_ml * math.sin(tilt)
        w_ml = u_ap * math.sin(tilt) + u_ml * math.cos(tilt)
        a_ap += p * w_ap
        a_ml += p * w_ml
    ap, ml = _to_cm(a_ap, a_ml)
    return t, ap + offset_cm[0], ml + offset_cm[1]


def _one(direction="f", delay=0.35, speed=4.0, amplitude=6.0, **extra):
    spec = {"go": 2.0, "dir": direction, "delay": delay, "speed": speed, "amplitude": amplitude, **extra}
    t, ap, ml = _leans([spec], duration_s=10.0)
    return t, ap, ml, spec


# ----------------------------------------------------------------------------- known answers


def test_keys_are_exactly_the_issues_names():
    measures = ["los_reaction_time_s", "los_movement_velocity_deg_s", "los_endpoint_excursion_pct",
                "los_max_excursion_pct", "los_directional_control_pct"]
    expected = {m for m in measures} | {f"{m}_{d}" for m in measures for d in ("f", "fr", "r", "br", "b", "bl", "l", "fl")}
    assert set(LOS_KEYS) == expected and len(LOS_KEYS) == 45


def test_theoretical_limits_cog_height_and_target_distances():
    assert cog_height_cm(175.0) == pytest.approx(96.7225, abs=1e-12)
    limits = direction_limits_deg()
    assert (limits["f"], limits["b"], limits["r"], limits["l"]) == (8.0, 4.5, 8.0, 8.0)
    # diagonals on the ellipse through the cardinal limits, at 45 degrees
    assert limits["fr"] == limits["fl"] == pytest.approx(8.0)
    br = 1 / math.sqrt(0.5 / 4.5**2 + 0.5 / 8.0**2)
    assert limits["br"] == limits["bl"] == pytest.approx(br, rel=1e-12)
    d = target_distance_cm(175.0)
    assert d["f"] == pytest.approx(96.7225 * math.tan(math.radians(8.0)), rel=1e-12)
    assert d["b"] == pytest.approx(96.7225 * math.tan(math.radians(4.5)), rel=1e-12)
    assert target_distance_cm(175.0, {"f": 6.0})["f"] == pytest.approx(96.7225 * math.tan(math.radians(6.0)))


def test_sway_angle_is_atan_of_displacement_over_cog_height():
    a = los.sway_angle_deg(np.array([0.0, 10.0, 0.0, 3.0]), np.array([0.0, 0.0, -10.0, 4.0]), 100.0)
    assert a[:, 1] == pytest.approx([math.degrees(math.atan(0.1)), 0.0])
    assert a[:, 2] == pytest.approx([0.0, -math.degrees(math.atan(0.1))])
    mag = math.degrees(math.atan(5.0 / 100.0))
    assert a[:, 3] == pytest.approx([mag * 0.6, mag * 0.8])
    assert a[:, 0].tolist() == [0.0, 0.0]


def test_directions_follow_the_plate_frame_of_design_4():
    # written out by hand, not from the module's table: +AP toward the toes, +ML toward the right
    hand = {"f": (1, 0), "fr": (1, 1), "r": (0, 1), "br": (-1, 1), "b": (-1, 0), "bl": (-1, -1),
            "l": (0, -1), "fl": (1, -1)}
    t = np.arange(0, 10, 1 / FS)
    push = np.clip((t - 2.4) * 3.0, 0, 6.0)  # cm
    for d, (s_ap, s_ml) in hand.items():
        norm = math.hypot(s_ap, s_ml)
        ap, ml = push * s_ap / norm, push * s_ml / norm
        m = limits_of_stability(t, ap, ml, [2.0], [d], HEIGHT_CM, lowpass_hz=None)["metrics"]
        expected = 100 * math.degrees(math.atan(6.0 / H)) / direction_limits_deg()[d]
        assert m[f"los_max_excursion_pct_{d}"] == pytest.approx(expected, rel=1e-12), d
        assert m[f"los_directional_control_pct_{d}"] == pytest.approx(100.0, abs=1e-9), d
        # the opposite label sees the lean as going away from its target
        opposite = DIRECTIONS[(DIRECTIONS.index(d) + 4) % 8]
        away = limits_of_stability(t, ap, ml, [2.0], [opposite], HEIGHT_CM, lowpass_hz=None)
        assert away["quality"] == {opposite: ["no_movement"]}


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("delay, speed, amplitude", [(0.35, 4.0, 6.0), (0.8, 2.5, 3.0), (0.55, 6.0, 4.0)])
def test_straight_lean_gives_exact_answers(direction, delay, speed, amplitude):
    t, ap, ml, _ = _one(direction, delay, speed, amplitude)
    out = limits_of_stability(t, ap, ml, [2.0], [direction], HEIGHT_CM, lowpass_hz=None)
    m = out["metrics"]
    limit = direction_limits_deg()[direction]
    assert m[f"los_reaction_time_s_{direction}"] == pytest.approx(delay, abs=1e-9)
    assert m[f"los_movement_velocity_deg_s_{direction}"] == pytest.approx(speed, rel=1e-9)
    assert m[f"los_endpoint_excursion_pct_{direction}"] == pytest.approx(100 * amplitude / limit, rel=1e-9)
    assert m[f"los_max_excursion_pct_{direction}"] == pytest.approx(100 * amplitude / limit, rel=1e-9)
    assert m[f"los_directional_control_pct_{direction}"] == pytest.approx(100.0, abs=1e-9)
    assert out["quality"] == {direction: []}
    assert out["trials"][direction]["onset_s"] == pytest.approx(2.0 + delay, abs=1e-9)
    for other in DIRECTIONS:
        if other != direction:
            assert m[f"los_reaction_time_s_{other}"] is None


def test_endpoint_is_the_first_movement_and_max_includes_the_correction():
    t, ap, ml, _ = _one("f", 0.4, 4.0, 5.0, second=7.0)  # 5 deg, then 3 s later a slow correction to 7 deg
    m = limits_of_stability(t, ap, ml, [2.0], ["f"], HEIGHT_CM, lowpass_hz=None)["metrics"]
    assert m["los_endpoint_excursion_pct_f"] == pytest.approx(100 * 5.0 / 8.0, rel=1e-9)
    assert m["los_max_excursion_pct_f"] == pytest.approx(100 * 7.0 / 8.0, rel=1e-9)
    assert m["los_movement_velocity_deg_s_f"] == pytest.approx(4.0, rel=1e-9)


@pytest.mark.parametrize("tilt_deg", [10.0, 20.0, -30.0])
def test_path_off_the_target_axis_has_known_directional_control(tilt_deg):
    t, ap, ml, _ = _one("fr", 0.4, 4.0, 6.0, tilt=tilt_deg)
    m = limits_of_stability(t, ap, ml, [2.0], ["fr"], HEIGHT_CM, lowpass_hz=None)["metrics"]
    a = math.radians(abs(tilt_deg))
    assert m["los_directional_control_pct_fr"] == pytest.approx(100 * (1 - math.tan(a)), rel=1e-9)
    # excursions and velocity are the on-axis components
    assert m["los_endpoint_excursion_pct_fr"] == pytest.approx(100 * 6.0 * math.cos(a) / 8.0, rel=1e-9)
    assert m["los_movement_velocity_deg_s_fr"] == pytest.approx(4.0 * math.cos(a), rel=1e-9)


def test_a_twitch_shorter_than_the_sustain_time_is_not_the_onset():
    t = np.arange(0, 10, 1 / FS)
    twitch = _ramp(t, 2.15, 2.0, 0.1)  # 0.05 s at 2 deg/s, above 10 % of the lean's 4 deg/s
    p = twitch + _ramp(t, 2.5, 4.0, 6.0)
    out = los.lean_measures(t, np.vstack((p, np.zeros_like(p))), 2.0, "f", 8.0, FS)
    assert out["reaction_time_s"] == pytest.approx(0.5)
    assert out["endpoint_excursion_pct"] == pytest.approx(100 * 6.1 / 8.0)


def test_a_bump_and_a_counter_movement_after_the_go_are_not_the_onset():
    # as the virtual person leans backward: a 0.15 deg bump toward the target (1.5 deg/s for 0.1 s,
    # above 10 % of the lean's peak), 0.5 deg away from it (the COP's counter-movement), then the lean
    t = np.arange(0, 10, 1 / FS)
    p = _ramp(t, 2.25, 1.5, 0.15) - _ramp(t, 2.4, 2.5, 0.5) + _ramp(t, 2.7, 6.0, 4.0)
    out = los.lean_measures(t, np.vstack((-p, np.zeros_like(p))), 2.0, "b", 4.5, FS)  # backward: -AP
    assert out["reaction_time_s"] == pytest.approx(0.7) and out["onset_s"] == pytest.approx(2.7)
    assert out["movement_velocity_deg_s"] == pytest.approx(6.0, rel=1e-9)
    assert out["endpoint_excursion_pct"] == pytest.approx(100 * (0.15 - 0.5 + 4.0) / 4.5)
    assert out["directional_control_pct"] == pytest.approx(100.0)


def _quiet_sway_deg(t, shift_s):
    """Quiet-stance sway, degrees (on-axis, off-axis): slow components of 0.15 deg and less, whose
    velocity reaches about 0.8 deg/s (mean absolute ~0.35 deg/s, as the virtual person's)."""
    s = t + shift_s
    on = (0.15 * np.sin(2 * np.pi * 0.31 * s + 0.4) + 0.06 * np.sin(2 * np.pi * 0.8 * s + 1.3)
          + 0.02 * np.sin(2 * np.pi * 1.6 * s + 2.1))
    off = 0.10 * np.sin(2 * np.pi * 0.23 * s + 2.0) + 0.06 * np.sin(2 * np.pi * 0.71 * s + 0.2)
    return on, off


@pytest.mark.parametrize("shift_s", [0.0, 0.7, 1.9, 3.3])
@pytest.mark.parametrize("start_s, duration_s, amplitude_deg", [(2.5, 2.0, 3.0), (2.6, 4.0, 4.0)])
def test_slow_lean_with_quiet_sway_before_and_after_the_go(shift_s, start_s, duration_s, amplitude_deg):
    # a slow minimum-jerk lean to the right (mean 1.6-2.6 deg/s) on top of quiet-stance sway: the sway
    # crosses 10 % of the lean's peak velocity right after the go (the old rule read an onset there:
    # "moved before the go", 0.6 deg/s, 1 % endpoint); the lean's answers hold within the sway's reach
    t = np.arange(0, 12, 1 / FS)
    tau = np.clip((t - start_s) / duration_s, 0, 1)
    lean = amplitude_deg * (10 * tau**3 - 15 * tau**4 + 6 * tau**5)
    sway_on, sway_off = _quiet_sway_deg(t, shift_s)
    ap, ml = _to_cm(-sway_off, lean + sway_on)
    tau_on = (1 - math.sqrt(1 - 4 * math.sqrt(0.1 / 16))) / 2  # 10 % of the peak velocity, sway aside
    for lowpass in (None, los.DEFAULT_LOWPASS_HZ):
        out = limits_of_stability(t, ap, ml, [2.0], ["r"], HEIGHT_CM, lowpass_hz=lowpass)
        m = out["metrics"]
        assert out["quality"] == {"r": []}
        assert m["los_reaction_time_s_r"] == pytest.approx(start_s - 2.0 + tau_on * duration_s, abs=0.5)
        assert m["los_movement_velocity_deg_s_r"] == pytest.approx(0.9 * amplitude_deg / (0.576 * duration_s), rel=0.35)
        sway_span_pct = 100 * 2 * 0.23 / 8.0  # the sway at the end minus at the start, at most, % of the limit
        assert m["los_endpoint_excursion_pct_r"] == pytest.approx(100 * amplitude_deg / 8.0, abs=sway_span_pct)


def test_the_quiet_stance_floor_is_mean_plus_three_sd_of_the_speed():
    speed = np.array([0.2, 0.4, 0.2, 0.4, 0.2, 0.4])  # deg/s, alternately
    p = np.concatenate(([0.0], np.cumsum(speed * np.array([1, -1, 1, -1, 1, -1])) / FS))
    assert los.quiet_velocity_floor_deg_s(p, FS) == pytest.approx(0.3 + 3 * 0.1)
    assert los.quiet_velocity_floor_deg_s([0.0, 1.0], FS) == 0.0


def test_movement_velocity_is_measured_from_where_the_movement_starts():
    # already 1 deg toward the target at the go (drifted there slowly), then a 4 deg/s lean to 6 deg
    t = np.arange(0, 10, 1 / FS)
    p = 1.0 + _ramp(t, 2.4, 4.0, 5.0)
    out = los.lean_measures(t, np.vstack((p, np.zeros_like(p))), 2.0, "f", 8.0, FS)
    assert out["movement_velocity_deg_s"] == pytest.approx(4.0, rel=1e-9)
    assert out["endpoint_excursion_pct"] == pytest.approx(75.0)


def test_a_reversal_ends_the_primary_movement():
    # forward 4 deg, back 1 deg, forward 3 deg: the endpoint is the first stop, the maximum 6 deg
    t = np.arange(0, 10, 1 / FS)
    p = _ramp(t, 2.3, 4.0, 4.0) - _ramp(t, 3.3, 4.0, 1.0) + _ramp(t, 3.55, 4.0, 3.0)
    out = los.lean_measures(t, np.vstack((p, np.zeros_like(p))), 2.0, "f", 8.0, FS)
    assert out["onset_s"] == pytest.approx(2.3) and out["endpoint_s"] == pytest.approx(3.3)
    assert out["endpoint_excursion_pct"] == pytest.approx(50.0)
    assert out["directional_control_pct"] == pytest.approx(100.0)
    assert out["max_excursion_pct"] == pytest.approx(100 * 6.0 / 8.0)


def test_oscillating_path_directional_control_counts_both_kinds_of_extraneous_movement():
    # a forward lean at 4 deg/s with a sideways wiggle of known path length along the way
    t = np.arange(0, 10, 1 / FS)
    p = _ramp(t, 2.3, 4.0, 6.0)
    moving = (t >= 2.3) & (t <= 3.8)
    q = np.where(moving, 0.2 * np.sin(2 * np.pi * (t - 2.3) / 0.5), 0.0)
    out = los.lean_measures(t, np.vstack((p, q)), 2.0, "f", 8.0, FS)
    n0, n1 = int(round(2.3 * FS)), int(round(3.8 * FS))
    side = np.abs(np.diff(q[n0:n1 + 1])).sum()
    assert out["directional_control_pct"] == pytest.approx(100 * (6.0 - side) / 6.0, rel=1e-9)


def test_minimum_jerk_lean_with_the_default_filter_and_sensor_noise():
    t = np.arange(0, 10, 1 / FS)
    start, dur, amp = 2.4, 1.5, 6.0
    tau = np.clip((t - start) / dur, 0, 1)
    p = amp * (10 * tau**3 - 15 * tau**4 + 6 * tau**5)
    ap, ml = _to_cm(p, np.zeros_like(p))
    # analytic answers: onset where the velocity 30 tau^2 (1-tau)^2 amp/dur reaches 10 % of its peak
    tau_on = (1 - math.sqrt(1 - 4 * math.sqrt(0.1 * 30 / 16 / 30))) / 2
    exact = limits_of_stability(t, ap, ml, [2.0], ["f"], HEIGHT_CM, lowpass_hz=None)["metrics"]
    assert exact["los_reaction_time_s_f"] == pytest.approx(0.4 + tau_on * dur, abs=1.01 / FS)
    end_pct = 100 * amp * (1 - (10 * tau_on**3 - 15 * tau_on**4 + 6 * tau_on**5)) / 8.0
    assert exact["los_endpoint_excursion_pct_f"] == pytest.approx(end_pct, abs=0.2)
    rng = np.random.default_rng(7)
    noisy = limits_of_stability(t, ap + rng.normal(0, 0.05, t.size), ml + rng.normal(0, 0.05, t.size),
                                [2.0], ["f"], HEIGHT_CM)
    m = noisy["metrics"]
    assert noisy["quality"] == {"f": []}
    assert m["los_reaction_time_s_f"] == pytest.approx(exact["los_reaction_time_s_f"], abs=0.05)
    assert m["los_movement_velocity_deg_s_f"] == pytest.approx(exact["los_movement_velocity_deg_s_f"], rel=0.05)
    assert m["los_endpoint_excursion_pct_f"] == pytest.approx(exact["los_endpoint_excursion_pct_f"], abs=2.0)
    assert m["los_directional_control_pct_f"] > 80.0


def test_a_full_test_of_eight_directions_and_its_composites():
    specs = []
    for k, d in enumerate(DIRECTIONS):
        specs.append({"go": 2.0 + 9.0 * k, "dir": d, "delay": 0.3 + 0.05 * k, "speed": 3.0 + 0.5 * k,
                      "amplitude": 3.0 + 0.25 * k})
    t, ap, ml = _leans(specs, duration_s=2.0 + 9.0 * 8 + 1.0)
    out = limits_of_stability(t, ap, ml, [s["go"] for s in specs], list(DIRECTIONS), HEIGHT_CM, lowpass_hz=None)
    m = out["metrics"]
    limits = direction_limits_deg()
    assert all(codes == [] for codes in out["quality"].values())
    for s in specs:
        assert m[f"los_reaction_time_s_{s['dir']}"] == pytest.approx(s["delay"], abs=1e-9)
    assert m["los_reaction_time_s"] == pytest.approx(np.mean([s["delay"] for s in specs]), abs=1e-9)
    assert m["los_movement_velocity_deg_s"] == pytest.approx(np.mean([s["speed"] for s in specs]), rel=1e-9)
    assert m["los_max_excursion_pct"] == pytest.approx(
        np.mean([100 * s["amplitude"] / limits[s["dir"]] for s in specs]), rel=1e-9)
    assert m["los_directional_control_pct"] == pytest.approx(100.0)
    assert list(m) == list(LOS_KEYS)
    assert all(v is None or math.isfinite(v) for v in m.values())


def test_limits_from_a_previous_test_replace_the_theoretical_ones():
    t, ap, ml, _ = _one("b", 0.4, 3.0, 3.0)
    default = limits_of_stability(t, ap, ml, [2.0], ["b"], HEIGHT_CM, lowpass_hz=None)["metrics"]
    own = limits_of_stability(t, ap, ml, [2.0], ["b"], HEIGHT_CM, lowpass_hz=None, limits_deg={"b": 6.0})["metrics"]
    assert default["los_max_excursion_pct_b"] == pytest.approx(100 * 3.0 / 4.5)
    assert own["los_max_excursion_pct_b"] == pytest.approx(50.0)


# ----------------------------------------------------------------------------- invariances


def _measures(out, d):
    return [out["metrics"][f"{m}_{d}"] for m in los.MEASURES]


def test_rotating_the_lean_with_its_label_changes_nothing_when_the_limits_are_equal():
    equal = dict.fromkeys(DIRECTIONS, 7.0)
    reference = None
    for d in DIRECTIONS:
        t, ap, ml, _ = _one(d, 0.45, 3.5, 5.0, tilt=12.0)
        values = _measures(limits_of_stability(t, ap, ml, [2.0], [d], HEIGHT_CM, lowpass_hz=None, limits_deg=equal), d)
        if reference is None:
            reference = values
        assert values == pytest.approx(reference, rel=1e-9)


def test_mirroring_left_and_right_mirrors_the_measures():
    specs = [{"go": 2.0, "dir": "fr", "delay": 0.4, "speed": 3.0, "amplitude": 5.0, "tilt": 8.0},
             {"go": 11.0, "dir": "l", "delay": 0.6, "speed": 5.0, "amplitude": 4.0, "tilt": -15.0},
             {"go": 20.0, "dir": "br", "delay": 0.5, "speed": 2.0, "amplitude": 3.0}]
    t, ap, ml = _leans(specs, duration_s=30.0)
    gos = [s["go"] for s in specs]
    a = limits_of_stability(t, ap, ml, gos, ["fr", "l", "br"], HEIGHT_CM)
    b = limits_of_stability(t, ap, -ml, gos, ["fl", "r", "bl"], HEIGHT_CM)
    for da, db in (("fr", "fl"), ("l", "r"), ("br", "bl")):
        assert _measures(a, da) == pytest.approx(_measures(b, db), rel=1e-9)


def test_the_same_angle_backward_is_a_larger_share_of_the_smaller_backward_limit():
    t, ap, ml, _ = _one("f", 0.4, 3.0, 4.0)
    f = limits_of_stability(t, ap, ml, [2.0], ["f"], HEIGHT_CM, lowpass_hz=None)["metrics"]
    b = limits_of_stability(t, -ap, ml, [2.0], ["b"], HEIGHT_CM, lowpass_hz=None)["metrics"]
    assert b["los_max_excursion_pct_b"] == pytest.approx(f["los_max_excursion_pct_f"] * 8.0 / 4.5, rel=1e-12)
    assert b["los_reaction_time_s_b"] == pytest.approx(f["los_reaction_time_s_f"], abs=1e-12)


def test_the_start_position_is_the_mean_over_half_a_second_before_the_go():
    t = np.arange(0, 10, 1 / FS)
    # 0.3 cm further forward during the half second before the go (and 0.1 cm back the half before)
    shift = np.where((t >= 1.5 - 1e-9) & (t < 2.0 - 1e-9), 0.3, np.where(t >= 1.0 - 1e-9, -0.1, 0.0))
    shift[t >= 2.0 - 1e-9] = 0.0
    lean_deg = _ramp(t, 2.4, 3.0, 5.0)
    ap = 2.0 + shift + H * np.tan(np.radians(lean_deg))
    m = limits_of_stability(t, ap, np.zeros_like(t), [2.0], ["f"], HEIGHT_CM, lowpass_hz=None)["metrics"]
    expected_deg = math.degrees(math.atan((H * math.tan(math.radians(5.0)) - 0.3) / H))
    assert m["los_max_excursion_pct_f"] == pytest.approx(100 * expected_deg / 8.0, rel=1e-9)


def test_the_start_position_on_the_plate_does_not_matter():
    t, ap, ml, _ = _one("bl", 0.4, 3.0, 4.0)
    a = limits_of_stability(t, ap, ml, [2.0], ["bl"], HEIGHT_CM)
    b = limits_of_stability(t, ap + 4.0, ml - 2.5, [2.0], ["bl"], HEIGHT_CM)
    assert _measures(a, "bl") == pytest.approx(_measures(b, "bl"), rel=1e-9, abs=1e-9)


# ----------------------------------------------------------------------------- quality codes


def test_stepping_by_a_cop_jump_voids_that_direction_only():
    specs = [{"go": 2.0, "dir": "f", "delay": 0.4, "speed": 4.0, "amplitude": 6.0},
             {"go": 11.0, "dir": "r", "delay": 0.4, "speed": 4.0, "amplitude": 6.0}]
    t, ap, ml = _leans(specs, duration_s=20.0)
    ml = ml.copy()
    ml[(t >= 13.0) & (t < 13.6)] += 9.0  # a foot lifted: the COP jumps under the other foot and back
    out = limits_of_stability(t, ap, ml, [2.0, 11.0], ["f", "r"], HEIGHT_CM)
    assert out["quality"] == {"f": [], "r": ["stepping"]}
    assert all(out["metrics"][f"{m}_r"] is None for m in los.MEASURES)
    assert out["metrics"]["los_reaction_time_s"] == pytest.approx(out["metrics"]["los_reaction_time_s_f"])


def test_stepping_by_one_side_unloaded():
    t, ap, ml, _ = _one("l", 0.4, 3.0, 5.0)
    corners = np.full((t.size, 4), 175.0)
    lifted = (t >= 4.0) & (t < 4.5)
    corners[lifted, 1] = corners[lifted, 3] = 2.0  # the right foot off: FR and BR carry almost nothing,
    corners[lifted, 0] = corners[lifted, 2] = 348.0  # the left foot all the weight
    out = limits_of_stability(t, ap, ml, [2.0], ["l"], HEIGHT_CM, corners_n=corners)
    assert out["quality"] == {"l": ["stepping"]}
    fine = limits_of_stability(t, ap, ml, [2.0], ["l"], HEIGHT_CM, corners_n=np.full((t.size, 4), 175.0))
    assert fine["quality"] == {"l": []}
    named = {k: corners[:, i] for i, k in enumerate(("fl_n", "fr_n", "bl_n", "br_n"))}
    assert limits_of_stability(t, ap, ml, [2.0], ["l"], HEIGHT_CM, corners_n=named)["quality"] == {"l": ["stepping"]}


def test_moving_before_the_go_voids_the_reaction_time_only():
    t, ap, ml, _ = _one("f", -0.6, 2.0, 5.0)  # already leaning 0.6 s before the go
    out = limits_of_stability(t, ap, ml, [2.0], ["f"], HEIGHT_CM, lowpass_hz=None)
    assert out["quality"] == {"f": ["moved_before_go"]}
    m = out["metrics"]
    assert m["los_reaction_time_s_f"] is None and m["los_reaction_time_s"] is None
    assert m["los_max_excursion_pct_f"] is not None


def test_an_anticipation_faster_than_a_reaction_is_moving_before_the_go():
    t, ap, ml, _ = _one("r", 0.05, 3.0, 5.0)
    out = limits_of_stability(t, ap, ml, [2.0], ["r"], HEIGHT_CM, lowpass_hz=None)
    assert out["quality"] == {"r": ["moved_before_go"]}
    assert out["metrics"]["los_reaction_time_s_r"] is None


def test_no_movement():
    t = np.arange(0, 12, 1 / FS)
    rng = np.random.default_rng(3)
    ap = 0.2 * np.sin(2 * np.pi * 0.3 * t) + rng.normal(0, 0.03, t.size)
    ml = 0.1 * np.cos(2 * np.pi * 0.2 * t)
    out = limits_of_stability(t, ap, ml, [2.0], ["fl"], HEIGHT_CM)
    assert out["quality"] == {"fl": ["no_movement"]}
    assert all(v is None for v in out["metrics"].values())


def test_load_off_the_plate():
    t, ap, ml, _ = _one("br", 0.4, 3.0, 3.0)
    fz = np.full(t.size, 720.0)
    fz[(t > 5.0) & (t < 5.3)] = 300.0
    out = limits_of_stability(t, ap, ml, [2.0], ["br"], HEIGHT_CM, fz_n=fz)
    assert out["quality"] == {"br": ["load_off_plate"]}
    assert out["metrics"]["los_max_excursion_pct_br"] is None
    assert limits_of_stability(t, ap, ml, [2.0], ["br"], HEIGHT_CM, fz_n=np.full(t.size, 720.0))["quality"] == {"br": []}
    assert los.check_load_off_plate(np.zeros(100)) == "load_off_plate"  # nobody on the plate
    corners = np.repeat(fz[:, None] / 4, 4, axis=1)  # the corner forces alone tell it too
    assert limits_of_stability(t, ap, ml, [2.0], ["br"], HEIGHT_CM, corners_n=corners)["quality"] == {
        "br": ["load_off_plate"]}


def test_several_codes_at_once():
    t, ap, ml, _ = _one("f", -0.6, 2.0, 5.0)
    fz = np.full(t.size, 700.0)
    fz[600:620] = 100.0
    out = limits_of_stability(t, ap, ml, [2.0], ["f"], HEIGHT_CM, fz_n=fz, lowpass_hz=None)
    assert out["quality"] == {"f": ["moved_before_go", "load_off_plate"]}


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize("change, message", [
    (lambda a: {**a, "ap_cm": a["ap_cm"][:-1]}, "equal length"),
    (lambda a: {**a, "directions": ["x"]}, "unknown direction"),
    (lambda a: {**a, "directions": "f"}, "one direction per go"),
    (lambda a: {**a, "directions": ["f", "f"], "go_times_s": [2.0, 5.0]}, "more than once"),
    (lambda a: {**a, "go_times_s": [2.0, 4.0]}, "one direction per go"),
    (lambda a: {**a, "go_times_s": [99.0]}, "outside the recording"),
    (lambda a: {**a, "height_cm": 17.5}, "body height"),
    (lambda a: {**a, "limits_deg": {"f": 0.0}}, "between 0 and 45"),
    (lambda a: {**a, "time_s": np.delete(a["time_s"], 300), "ap_cm": np.delete(a["ap_cm"], 300),
                "ml_cm": np.delete(a["ml_cm"], 300)}, "not uniformly sampled"),
    (lambda a: {**a, "ap_cm": np.where(a["time_s"] > 3, np.nan, a["ap_cm"])}, "NaN"),
    (lambda a: {**a, "fz_n": np.ones(5)}, "total force"),
    (lambda a: {**a, "corners_n": np.ones((a["time_s"].size, 3))}, "corner forces"),
    (lambda a: {**a, "lowpass_hz": 80.0}, "Nyquist"),
])
def test_bad_input_is_one_clear_line(change, message):
    t, ap, ml, _ = _one()
    args = change({"time_s": t, "ap_cm": ap, "ml_cm": ml, "go_times_s": [2.0], "directions": ["f"],
                   "height_cm": HEIGHT_CM})
    with pytest.raises(LimitsOfStabilityError, match=message) as info:
        limits_of_stability(**args)
    assert "\n" not in str(info.value)


# ----------------------------------------------------------------------------- docstrings


def test_docstring_examples_run():
    result = doctest.testmod(los, extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_every_public_function_shows_an_example():
    for name in dir(los):
        obj = getattr(los, name)
        if callable(obj) and not name.startswith("_") and getattr(obj, "__module__", None) == los.__name__:
            if isinstance(obj, type):
                continue
            assert ">>>" in (obj.__doc__ or ""), f"{name} has no example"
