"""The virtual person leaning toward targets: reaction, smooth movement, hold, own limits, return."""

from __future__ import annotations

import math

import numpy as np
import pytest

from station.analysis.limits_of_stability import DIRECTIONS, THEORETICAL_LIMITS_DEG, cog_height_cm, limits_of_stability
from station.sim.leaning import OWN_LIMIT_FRACTION, SWAY_MARGIN_CM, OwnLimits, cop_peak_factor, plan_lean
from station.sim.person import VirtualPerson

FS_HZ = 100.0


def _radial(samples, person, u_ap, u_ml):
    """COP displacement from the neutral position along the unit vector (u_ap, u_ml), cm."""
    ap0, ml0 = person.neutral_cm
    return (samples.ap_cm - ap0) * u_ap + (samples.ml_cm - ml0) * u_ml


def test_a_reachable_point_is_reached_after_a_reaction_and_held_with_sway():
    p = VirtualPerson(3, height_cm=170)
    target = (p.stance_ap_cm + 5.0, p.neutral_cm[1] + 3.0)
    plan = p.lean_toward(4.0, *target)
    assert plan.reachable and (plan.held_ap_cm, plan.held_ml_cm) == pytest.approx((5.0, 3.0))
    assert 0.25 <= plan.reaction_s <= 1.2
    t = np.arange(0.0, 16.0, 1 / FS_HZ)
    s = p.sample(t)
    # Before the movement starts the COM has not moved toward the target (only sway).
    before = (t > 2.0) & (t < plan.move_start_s)
    assert np.all(np.abs(s.com_ap_cm[before] - p.stance_ap_cm) < 1.5)
    # Held: the mean COP sits on the target, and the person still sways around it.
    held = t > plan.move_end_s + 1.0
    assert s.ap_cm[held].mean() == pytest.approx(target[0], abs=1.0)
    assert s.ml_cm[held].mean() == pytest.approx(target[1], abs=1.0)
    assert 0.05 < s.ap_cm[held].std() < 1.5
    # Smooth: the COM moves without jumps (the largest 10-ms step is well below a step's).
    assert np.max(np.abs(np.diff(s.com_ap_cm))) < 0.3
    # The COP moves away first (anticipatory adjustment) before the COM leaves.
    move = (t >= plan.move_start_s) & (t <= plan.move_start_s + 0.3)
    assert np.min(s.ap_cm[move] - s.com_ap_cm[move]) < -0.3


def test_a_point_beyond_the_own_limits_is_approached_but_never_passed():
    p = VirtualPerson(5, height_cm=175)
    limit = p.own_limits.in_direction("f")
    far = p.stance_ap_cm + 3 * limit
    plan = p.lean_toward(3.0, far, p.neutral_cm[1])
    assert not plan.reachable
    assert 0.7 * limit < plan.held_ap_cm < limit
    assert abs(plan.held_ml_cm) < 1e-9
    s = p.sample(np.arange(0.0, 14.0, 1 / FS_HZ))
    forward = _radial(s, p, 1.0, 0.0)
    assert forward.max() < limit + 0.5  # the sway around the held point adds little, never a step beyond
    assert forward.max() > 0.75 * limit


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_leaning_as_far_as_possible_reaches_near_the_own_limit_in_each_direction(direction):
    p = VirtualPerson(11, height_cm=165)
    plan = p.lean_in_direction(2.0, direction, fraction=1.5)
    from station.analysis.limits_of_stability import DIRECTION_VECTORS

    u = DIRECTION_VECTORS[direction]
    s = p.sample(np.arange(0.0, plan.move_end_s + 3.0, 1 / FS_HZ))
    reach = _radial(s, p, *u)
    limit = p.own_limits.in_direction(direction)
    assert 0.7 * limit < reach.max() < limit + 0.5


def test_return_to_centre_comes_back_to_neutral():
    p = VirtualPerson(2)
    p.lean_in_direction(2.0, "bl", fraction=0.8)
    back = p.return_to_centre(9.0)
    assert (back.held_ap_cm, back.held_ml_cm) == (0.0, 0.0)
    t = np.arange(0.0, 16.0, 1 / FS_HZ)
    s = p.sample(t)
    later = t > back.move_end_s + 1.0
    assert s.ap_cm[later].mean() == pytest.approx(p.neutral_cm[0], abs=1.0)
    assert s.ml_cm[later].mean() == pytest.approx(p.neutral_cm[1], abs=1.0)


def test_own_limits_come_from_height_within_the_stated_fraction_and_differ_between_people():
    lo, hi = OWN_LIMIT_FRACTION
    h = cog_height_cm(180.0)
    theory_f = h * math.tan(math.radians(THEORETICAL_LIMITS_DEG["forward"]))
    theory_b = h * math.tan(math.radians(THEORETICAL_LIMITS_DEG["backward"]))
    people = [VirtualPerson(seed, height_cm=180, feet_apart_cm=30) for seed in range(6)]
    for p in people:
        assert lo * theory_f <= p.own_limits.forward_cm <= hi * theory_f
        assert lo * theory_b <= p.own_limits.backward_cm <= hi * theory_b
    assert len({p.own_limits for p in people}) == 6
    assert VirtualPerson(4).own_limits == VirtualPerson(4).own_limits  # seeded
    # Sideways never beyond the outer edge of a foot: narrow feet limit a tall person.
    narrow = VirtualPerson(1, height_cm=200, feet_apart_cm=8)
    assert narrow.own_limits.lateral_cm <= 8 / 2 + 4.5


def test_same_seed_same_leans():
    a, b = VirtualPerson(7), VirtualPerson(7)
    for p in (a, b):
        p.lean_in_direction(2.0, "r")
        p.return_to_centre(9.0)
    t = np.arange(0.0, 14.0, 0.05)
    assert np.array_equal(a.sample(t).ap_cm, b.sample(t).ap_cm)
    assert a.leans == b.leans


def test_leaning_needs_a_person_on_the_plate_and_events_in_time_order():
    off = VirtualPerson(1, on_plate=False)
    with pytest.raises(ValueError, match="not on the plate"):
        off.lean_toward(1.0, 5.0, 0.0)
    p = VirtualPerson(1)
    p.lean_toward(5.0, 3.0, 0.0)
    with pytest.raises(ValueError, match="before the previous event"):
        p.return_to_centre(4.0)
    with pytest.raises(ValueError, match="finite"):
        p.lean_toward(6.0, float("nan"), 0.0)
    with pytest.raises(ValueError, match="unknown direction"):
        p.lean_in_direction(6.0, "up")
    single = VirtualPerson(1)
    single.single_leg(1.0, side="left")
    with pytest.raises(ValueError, match="left leg"):
        single.lean_toward(3.0, 4.0, 0.0)


def test_plan_keeps_the_cop_overshoot_inside_the_limit():
    limits = OwnLimits(10.0, 6.0, 9.0)
    hg = 0.095
    plan = plan_lean(0.0, 0.5, (0.0, 0.0), (20.0, 0.0), limits, 4.0, 94.0, hg)
    extra = cop_peak_factor(plan.move_end_s - plan.move_start_s, hg) - 1.0
    assert plan.held_ap_cm * (1 + extra) == pytest.approx(10.0 - SWAY_MARGIN_CM, rel=1e-6)
    inside = plan_lean(0.0, 0.5, (0.0, 0.0), (3.0, 0.0), limits, 4.0, 94.0, hg)
    assert inside.reachable and inside.held_ap_cm == 3.0


def test_a_simulated_limits_of_stability_test_stays_within_the_person_s_limits():
    """The LOS analysis of the person's leans: every lean valid, max excursion < 100 % of the
    theoretical limits (the person's own are 70-90 %), reaction times of a person."""
    p = VirtualPerson(1, height_cm=170)
    gos, t = [], 3.0
    for d in DIRECTIONS:
        p.lean_in_direction(t, d, 1.3)
        p.return_to_centre(t + 8.0)
        gos.append(t)
        t += 12.0
    time_s = np.arange(0.0, t, 1 / FS_HZ)
    s = p.sample(time_s)
    out = limits_of_stability(time_s, s.ap_cm, s.ml_cm, gos, list(DIRECTIONS), 170.0, fz_n=s.fz_n,
                              corners_n=s.corners_n.T)
    assert all(codes == [] for codes in out["quality"].values())
    m = out["metrics"]
    for d in DIRECTIONS:
        assert 50.0 < m[f"los_max_excursion_pct_{d}"] < 100.0
    assert 0.4 < m["los_reaction_time_s"] < 1.2
    assert 2.0 < m["los_movement_velocity_deg_s"] < 12.0
    assert m["los_directional_control_pct"] > 80.0
