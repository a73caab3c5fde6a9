"""How a virtual person leans: their own limits of stability, reaction times and lean movements.

Used by :meth:`station.sim.person.VirtualPerson.lean_toward` (the limits-of-stability test and the
biofeedback games). Everything here is in the person's frame: displacements (cm) of the COP from
the person's neutral position (feet centre and current weight split), +AP toward the toes, +ML
toward the person's right, like the plate frame (DESIGN.md §4).

Model (plausible, not fitted; no per-subject LOS recordings in the shared data)
--------------------------------------------------------------------------------
* **Own limits**: a person leans as far as the theoretical limits of stability
  (:data:`station.analysis.limits_of_stability.THEORETICAL_LIMITS_DEG`, 8° forward, 4.5° back,
  8° to the sides, about the ankles at the COG height ``0.5527 × height``) times a seeded fraction
  per axis (forward, backward, lateral) in :data:`OWN_LIMIT_FRACTION` (70–90 %), and never beyond
  the base of support (the outer edge of a foot sideways, the plate edges). Between the cardinal
  directions the limit lies on the ellipse through them (the analysis' convention for diagonals).
* **Reaction**: the COM movement starts a reaction time after the go; the person's typical reaction
  time (:data:`REACTION_S`, log-normal between people) varies from lean to lean by
  :data:`REACTION_LEAN_LN_SD`.
* **Movement**: the COM follows a minimum-jerk (quintic, rest to rest) path to the held point, of a
  duration that gives the person's typical angular speed (:data:`LEAN_SPEED_DEG_S`). The COP is
  ``COM − (h/g)·COM''``: it first moves away (the anticipatory adjustment) and overshoots the held
  point while the lean decelerates. The held point is chosen so that the COP, overshoot included,
  stays :data:`SWAY_MARGIN_CM` inside the person's own limits: a target beyond them is approached along the same
  direction and the person falls short of it (:func:`plan_lean`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# station.analysis.limits_of_stability is imported where it is used: the acquisition process, which
# creates the person, loads no analysis module (tests/sim/test_sway_numerics.py); it is numpy-only.

OWN_LIMIT_FRACTION = (0.70, 0.90)
"""Range of a person's own limits as a fraction of the theoretical ones (uniform, seeded, per axis)."""
REACTION_S = {"young": 0.45, "old": 0.65}
"""Median reaction time from a go signal to the start of the COM movement, s, per age group (the
reaction time measured on the COP, whose onset rule waits for a sustained velocity, comes out
about 0.25 s longer: ~0.7 s young, ~0.9 s old, the range reported for NeuroCom LOS tests)."""
REACTION_PERSON_LN_SD = 0.15
"""Between-person spread of the typical reaction time: SD of its natural log."""
REACTION_LEAN_LN_SD = 0.10
"""Lean-to-lean spread of the reaction time around the person's typical one: SD of its natural log."""
MIN_REACTION_S = 0.25
"""No voluntary reaction to a beep is faster than this, s."""
LEAN_SPEED_DEG_S = {"young": 4.5, "old": 4.0}
"""Median average angular speed of the COM during a lean (5–95 % of its distance), deg/s, per age
group (the COP, which leads the COM, comes out about 1.4 times faster: medians ~6 deg/s young,
~5 deg/s old over 12 seeds). Plausible, not fitted to data. The analysis' onset rule (10 % of the
peak velocity and above the quiet-stance floor before the go) reads none of these leans as moving
before the go (``benchmarks/los_person_sweep.py``: 0 of 192; the earlier 10 %-only rule: 11)."""
LEAN_SPEED_PERSON_LN_SD = 0.2
MIN_MOVE_S = 0.6
"""Shortest lean or return movement, s."""
FOOT_HALF_WIDTH_CM = 4.5
"""Half the width of a foot: sideways the COP cannot go beyond the outer edge of the foot, cm."""
EDGE_MARGIN_CM = 1.0
"""The COP stays this far inside the plate edges, cm."""
SWAY_MARGIN_CM = 1.0
"""The held point stays this far inside the limit (overshoot included), so that the sway around it
(a few tenths of a cm SD in quiet stance) does not carry the COP past the limit, cm."""
MIN_JERK_WINDOW = 0.576
"""Fraction of a minimum-jerk movement's duration between 5 % and 95 % of its distance."""


def min_jerk(u):
    """Minimum-jerk position profile 10u³ − 15u⁴ + 6u⁵ (0 → 1 as u goes 0 → 1).

    Examples
    --------
    >>> float(min_jerk(0.5))
    0.5
    """
    u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
    return u**3 * (10.0 - 15.0 * u + 6.0 * u * u)


def cop_peak_factor(duration_s: float, h_over_g_s2: float) -> float:
    """Largest COP displacement of a minimum-jerk COM lean, as a multiple of the COM's distance.

    COP = s − (h/g)·s'' with s the min-jerk path of unit distance over ``duration_s``.

    Examples
    --------
    >>> round(cop_peak_factor(1.5, 0.0954), 3)
    1.201
    """
    u = np.linspace(0.0, 1.0, 2001)
    s2 = (60.0 * u - 180.0 * u**2 + 120.0 * u**3) / duration_s**2
    return float(np.max(min_jerk(u) - h_over_g_s2 * s2))


@dataclass(frozen=True)
class OwnLimits:
    """A person's limits of stability: the COP displacement (cm) they can reach per axis."""

    forward_cm: float
    backward_cm: float
    lateral_cm: float

    def toward(self, ap: float, ml: float) -> float:
        """Limit (cm) in the direction of the vector (ap, ml): on the ellipse through the cardinal limits."""
        norm = math.hypot(ap, ml)
        if norm == 0:
            return 0.0
        c, s = ap / norm, ml / norm
        a = self.forward_cm if c >= 0 else self.backward_cm
        return 1.0 / math.sqrt(c * c / a**2 + s * s / self.lateral_cm**2)

    def in_direction(self, direction: str) -> float:
        """Limit (cm) toward one of the eight LOS directions (``f``, ``fr``, … ``fl``)."""
        return self.toward(*direction_vector(direction))


def direction_vector(direction: str) -> tuple[float, float]:
    """Unit vector (ap, ml) of an LOS direction (``f``, ``fr``, … ``fl``), plate frame."""
    from station.analysis.limits_of_stability import DIRECTION_VECTORS

    if direction not in DIRECTION_VECTORS:
        raise ValueError(f"unknown direction {direction!r}; use one of {', '.join(DIRECTION_VECTORS)}")
    return DIRECTION_VECTORS[direction]


def own_limits(fractions, height_cm: float, *, feet_apart_cm: float, stance_ap_cm: float,
               plate_width_cm: float, plate_depth_cm: float) -> OwnLimits:
    """A person's own limits (module docstring), COP displacement in cm from the neutral position,
    from their fractions (forward, backward, lateral) of the theoretical limits, drawn from
    :data:`OWN_LIMIT_FRACTION`."""
    from station.analysis.limits_of_stability import COG_HEIGHT_FRACTION, direction_limits_deg

    theory = direction_limits_deg()
    h = COG_HEIGHT_FRACTION * height_cm
    f_fwd, f_back, f_lat = (float(f) for f in fractions)
    forward = min(h * math.tan(math.radians(theory["f"])) * f_fwd, plate_depth_cm / 2 - stance_ap_cm - EDGE_MARGIN_CM)
    backward = min(h * math.tan(math.radians(theory["b"])) * f_back, plate_depth_cm / 2 + stance_ap_cm - EDGE_MARGIN_CM)
    lateral = min(h * math.tan(math.radians(theory["r"])) * f_lat, feet_apart_cm / 2 + FOOT_HALF_WIDTH_CM,
                  plate_width_cm / 2 - EDGE_MARGIN_CM)
    return OwnLimits(float(forward), float(backward), float(lateral))


@dataclass(frozen=True)
class LeanPlan:
    """What a lean will do (the truth, for tests and the games' scenario).

    ``requested_*`` is where the person was asked to lean, ``held_*`` where the COM (and, once
    still, the mean COP) will be held, both as displacements from the neutral position (cm);
    ``move_start_s`` / ``move_end_s`` the COM movement; ``reachable`` whether the requested point
    lies within the person's own limits.
    """

    go_s: float
    move_start_s: float
    move_end_s: float
    requested_ap_cm: float
    requested_ml_cm: float
    held_ap_cm: float
    held_ml_cm: float
    reachable: bool

    @property
    def reaction_s(self) -> float:
        return self.move_start_s - self.go_s


def plan_lean(go_s: float, reaction_s: float, from_cm: tuple[float, float], to_cm: tuple[float, float],
              limits: OwnLimits, speed_deg_s: float, cog_height_cm: float, h_over_g_s2: float) -> LeanPlan:
    """Plan a lean from the current displacement ``from_cm`` toward ``to_cm`` (both (ap, ml), cm).

    The held point is ``to_cm``, or, when the COP would pass the person's limit in that direction
    (overshoot included), the farthest point along that direction that keeps it inside.
    """
    ap, ml = to_cm
    reach = math.hypot(ap, ml)
    limit = max(limits.toward(ap, ml) - SWAY_MARGIN_CM, 0.0)
    # The duration comes from the distance the person means to cover (capped at the limit).
    aim = min(1.0, limit / reach) if reach > 0 else 0.0
    distance = math.hypot(ap * aim - from_cm[0], ml * aim - from_cm[1])
    angle_deg = math.degrees(math.atan(distance / cog_height_cm))
    duration = max(MIN_MOVE_S, 0.9 * angle_deg / (MIN_JERK_WINDOW * speed_deg_s))
    extra = cop_peak_factor(duration, h_over_g_s2) - 1.0

    def extent(scale: float) -> float:
        """Farthest COP displacement of the lean to ``scale`` × the target (overshoot included)."""
        return scale * reach + extra * math.hypot(ap * scale - from_cm[0], ml * scale - from_cm[1])

    scale, reachable = 1.0, True
    if reach > 0 and extent(1.0) > limit:
        reachable = False
        lo, hi = 0.0, 1.0  # extent grows with the scale from where the person stands outward
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if extent(mid) <= limit else (lo, mid)
        scale = lo
    held_ap, held_ml = ap * scale, ml * scale
    start = go_s + reaction_s
    return LeanPlan(go_s, start, start + duration, ap, ml, held_ap, held_ml, reachable)
