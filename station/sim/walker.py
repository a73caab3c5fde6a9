"""A virtual walker: lower-back IMU signals of walking with known initial contacts, and the light-gate
crossings of its trunk, for the simulated station.

The walker is a load source (:class:`station.sim.loads.LoadSource`) for the simulated IMU: during
a walk the IMU reads walking, outside any walk it reads whatever the *base* source says (a
:class:`~station.sim.person.VirtualPerson` standing beside or on the plate), or a still upright
trunk. The plate's load always comes from the base (empty without one): a person walking is off
the plate.

Gait model (each walk planned at once, seeded, deterministic)
--------------------------------------------------------------
*Steps.* Initial contacts (ICs) follow each other at the pattern's step time, with Gaussian
step-to-step variability (``step_time_cv_pct``) and, for an asymmetric (hemiparetic) pattern,
alternately longer steps of the paretic leg (``asymmetry``: their ratio minus one). A pause
stops the steps (standing still, no ICs); a stumble inserts a short catching step and a jolt.
The ICs are the truth a gait analysis must find.

*Trunk.* Between two ICs (a step of duration T, phase φ = 0..1) the vertical acceleration is
``A·cos(2π(φ − φ₀))`` with φ₀ = :data:`PEAK_PHASE` (the centre of mass is lowest, and pushed up
hardest, just after the foot lands), plus the heel-strike impact (a 20 ms Gaussian pulse 30 ms
after every IC, the stopping step's included, its step mean removed) and a second harmonic (:data:`SECOND_HARMONIC`); ``A`` passes smoothly
from one step's value to the next over the step (no jump at a contact). ``A`` makes the trunk's vertical excursion the one an
inverted pendulum of the sensor's height needs for the step length (Zijlstra & Hof 2003:
``h = l − sqrt(l² − (L/2)²)``, peak-to-peak ``2A/ω²``), with L the step length divided by their
mean correction factor 1.25 (:data:`PENDULUM_CORRECTION`: a real trunk moves less than a point on
a stiff leg would). Antero-posterior acceleration is ``C·sin(2π(φ − φ₀))`` toward the
walking direction (it flips sign walking backward, relative to the toes); medio-lateral
acceleration and the yaw and roll rates swing once per stride toward the stance side; pitch rate
follows the step. The first and last steps ramp in and out. Axes: the IMU frame of
:mod:`station.sim.loads` (+x toward the toes, +y left, +z up), then the sensor's tilt on the belt
(``tilt_deg`` about its y axis), gravity included.

*Walkway.* Overground, the trunk advances by each step's length (the first step shorter, as from
a standing start) from ``start_m`` (behind the start line) and stops after ``walkway_m``. A gate at
position x is first broken when the body's leading edge (``lead_m`` ahead of the trunk centre in
the walking direction) reaches it; arms and legs then break and clear the beam a few more times
until the trailing edge has passed (:meth:`WalkPlan.gate_changes`). :meth:`WalkPlan.gate_time_s`
is the first break: the truth for gate timing. On a treadmill the trunk stays put (no gates).

Time grid and cost: signals are made lazily in 4-s chunks on a 1 kHz grid and interpolated, as
the virtual person does; a scalar call costs a few µs.

Reference: Zijlstra W, Hof AL (2003) Assessment of spatio-temporal gait parameters from trunk
accelerations during human walking. Gait Posture 18(2):1-10.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np

from station.sim.loads import STANDARD_GRAVITY_M_S2, PlateLoad, TrunkSample

GRID_RATE_HZ = 1000
CHUNK_S = 4.0
PEAK_PHASE = 0.05
"""Phase of the step (0 = initial contact) where the trunk's vertical acceleration peaks."""
SECOND_HARMONIC = 0.35
"""Relative amplitude of the step's second harmonic: a sharper push just after the contact and a
flatter trough in mid-stance, as trunk accelerations show (a pure sine would be too smooth)."""
IMPACT_DELAY_S = 0.03
IMPACT_WIDTH_S = 0.02
PENDULUM_CORRECTION = 1.25
"""Real step length / the inverted pendulum's (Zijlstra & Hof 2003's mean correction factor): the
walker's trunk rises and falls as much as a pendulum needs for ``step length / 1.25``, as a real
trunk does.

Why not the analysis' 1.147 (:data:`station.analysis.gait.PENDULUM_CORRECTION`): the two factors
describe two different things. This one is the physical relation Zijlstra & Hof measured between
the trunk's true vertical excursion and the step length; the analysis' factor is Mobilise-D's
calibration of its *estimate* of that excursion (double integration with drift filters) on real
trunk signals, which carry the heel impact and harmonics on top of the pendulum's swing. The
walker's signal carries them too (:data:`SECOND_HARMONIC`, the impact pulse). The pairing is
measured, not assumed: for walkers above :data:`MIN_AMPLITUDE_M_S2` the analysis recovers steady
steps 5-6 % short (1.147 / 1.25 = 0.92, the impact and harmonic give back about 3 %; healthy 0.615
against 0.648 m, fast 0.745 against 0.777 m, older 0.530 against 0.557 m, speed 3-4 % short;
``tests/sim/test_walker.py``), within Mobilise-D's published stride-length error. Slower steps sit
on the amplitude floor and are overestimated (backward 0.51 against 0.40 m, hemiparetic 0.53
against 0.38 m), as the pendulum overestimates the short slow steps of real recordings (the shared
data's daily-activity periods). Using 1.147 here would model a trunk that moves less than Zijlstra
& Hof measured."""
MIN_AMPLITUDE_M_S2 = 1.2
"""Smallest vertical acceleration amplitude of a step, m/s²: short, slow steps still shake the
lower back (heel strike, trunk rotation) more than the pendulum's small excursion alone would; a
modelling choice, not a fitted value. Step length from a pendulum estimate is therefore too long
for very slow walkers, as it is on real recordings."""
IMU_HEIGHT_FRACTION = 0.58
"""Height of a sensor worn at the lower back / body height (as :mod:`station.sim.person`)."""
SENSOR_MOUNTING = ("+z", "+x")
"""How the simulated lower-back sensor is worn: its +z up and +x toward the toes (the IMU frame of
:mod:`station.sim.loads`). The simulated station's configuration says so (``imu.mounting_up`` /
``imu.mounting_toes``), as a clinic's does for its real sensor."""
OVERGROUND_LIMIT_S = 600.0
"""Longest overground walk planned, s: a walker who never reaches the end of the walkway stops then."""
DIRECTIONS = ("forward", "backward")
SETTINGS = ("overground", "treadmill")


@dataclass(frozen=True)
class GaitPattern:
    """How someone walks: cadence (steps/min), step length (m), step-time variability (CV, %),
    asymmetry (paretic step time / other step time − 1; 0 = symmetric), how much weaker the
    paretic step's vertical push is (fraction), and the acceleration amplitudes' scale."""

    cadence_steps_min: float = 108.0
    step_length_m: float = 0.65
    step_time_cv_pct: float = 2.0
    asymmetry: float = 0.0
    paretic_weakness: float = 0.0
    ml_acc_m_s2: float = 1.2
    ap_ratio: float = 0.45


PATTERNS: dict[str, GaitPattern] = {
    "healthy": GaitPattern(),
    "older": GaitPattern(cadence_steps_min=100.0, step_length_m=0.56, step_time_cv_pct=3.0),
    "backward": GaitPattern(cadence_steps_min=96.0, step_length_m=0.40, step_time_cv_pct=4.0),
    "older-backward": GaitPattern(cadence_steps_min=100.0, step_length_m=0.27, step_time_cv_pct=4.5),
    "hemiparetic": GaitPattern(cadence_steps_min=84.0, step_length_m=0.38, step_time_cv_pct=5.0, asymmetry=0.25,
                               paretic_weakness=0.2, ml_acc_m_s2=1.6),
    "hemiparetic-backward": GaitPattern(cadence_steps_min=72.0, step_length_m=0.25, step_time_cv_pct=6.0,
                                        asymmetry=0.25, paretic_weakness=0.2, ml_acc_m_s2=1.6),
    "fast": GaitPattern(cadence_steps_min=126.0, step_length_m=0.78, step_time_cv_pct=2.0),
}
"""Named patterns (the command line's ``--gait``). A walker asked to walk backward takes its pattern's
``-backward`` form where there is one (``healthy`` takes ``backward``). ``older-backward`` keeps the
older walker's cadence and shortens its steps to 0.27 m, as Laufer (2005) found older adults walk
backward: the cadence of their forward walking, the stride shortened more than in young adults. Its
step length is a modelling choice, not a fitted value: at the fast pace (:func:`at_fast_pace`) it
walks the 3-metre backward walk from standing in 5.0-5.2 s (mean of two trials, seeds 1-6), where the older adults
without falls of Polo-Ferrero et al. (2025) took 5.1 ± 1.3 s (fallers 6.8 ± 3.4 s; 483
community-dwelling adults, mean age 76.3 y); at its comfortable pace 0.45 m/s.

References: Laufer Y (2005) Effect of age on characteristics of forward and backward gait at
preferred and accelerated walking speed. J Gerontol A Biol Sci Med Sci 60(5):627-632 (abstract).
Polo-Ferrero L et al. (2025) The predictive capacity of the 3-meter backward walk test for falls in
older adults. J Funct Morphol Kinesiol 10(2):154 (abstract)."""

FAST_PACE_CADENCE_RATIO = PATTERNS["fast"].cadence_steps_min / PATTERNS["healthy"].cadence_steps_min
FAST_PACE_STEP_LENGTH_RATIO = PATTERNS["fast"].step_length_m / PATTERNS["healthy"].step_length_m
"""How much quicker and longer a walker's steps are at its fastest safe pace than at its comfortable
one: the ``fast`` pattern against ``healthy`` (×1.17 and ×1.2, speed ×1.4), for every pattern and
both directions. A modelling choice, not a fitted value: people walk faster when asked, older and
hemiparetic walkers too, and backward as forward (Laufer 2005: young adults walk faster backward,
as forward, by longer and quicker steps; older adults by quicker steps alone, which the walker does
not distinguish). Walking backward as fast as safely possible (the 3-metre backward walk from
standing; trials of seeds 1-5, the same on a late clock) the ``backward`` walker takes 3.6-3.8 s
(0.79-0.83 m/s over the 3 m; 5.1 s at its comfortable pace), ``older-backward`` 4.9-5.2 s and
``hemiparetic-backward`` 7.0-7.7 s."""


def at_fast_pace(pattern: GaitPattern) -> GaitPattern:
    """``pattern`` walked as fast as safely possible (:data:`FAST_PACE_CADENCE_RATIO`,
    :data:`FAST_PACE_STEP_LENGTH_RATIO`); its variability, asymmetry and amplitudes unchanged."""
    return replace(pattern, cadence_steps_min=pattern.cadence_steps_min * FAST_PACE_CADENCE_RATIO,
                   step_length_m=pattern.step_length_m * FAST_PACE_STEP_LENGTH_RATIO)


@dataclass(frozen=True)
class Pause:
    """Stand still ``duration_s`` after ``after_s`` of walking (s from the walk's start)."""

    after_s: float
    duration_s: float


@dataclass
class WalkPlan:
    """One planned walk and its truth. Times are the walker's (person) time in s."""

    start_s: float
    direction: str
    setting: str
    initial_contacts_s: np.ndarray
    side: np.ndarray
    """Side of the foot landing at each IC (+1 right, −1 left)."""
    amplitude_m_s2: np.ndarray
    """Vertical acceleration amplitude of the step that starts at each IC."""
    step_length_m: np.ndarray
    """Length of the step ending at each IC (overground distance advanced), m."""
    segments: list[tuple[int, int]]
    """Runs of consecutive ICs walked without a pause: (first index, last index)."""
    end_s: float
    knots_t_s: np.ndarray
    knots_p_m: np.ndarray
    """Trunk position along the walkway (m from the start line) at knot times (linear between)."""
    stumble_s: float | None = None
    lead_m: float = 0.15
    trail_m: float = 0.15
    seed: int = 0
    belt_speed_m_s: float | None = None
    pauses: list[tuple[float, float]] = field(default_factory=list)
    stopped_early: bool = False
    """The walk ended at ``stop_after_s`` (the person stopped for good), not at its natural end
    (past the walkway, or the treadmill's duration)."""

    def position_m(self, t_s) -> np.ndarray:
        """Trunk position along the walkway, m from the start line (overground)."""
        return np.interp(t_s, self.knots_t_s, self.knots_p_m)

    def walking_s(self) -> float:
        """Time between the first and last IC of each segment, s (what gait analysis measures)."""
        ics = self.initial_contacts_s
        return float(sum(ics[b] - ics[a] for a, b in self.segments))

    def gate_time_s(self, position_m: float) -> float | None:
        """When the body's leading edge first reaches a gate at ``position_m`` (the first beam
        break), or None if it never does."""
        return self._reach(position_m - self.lead_m)

    def _reach(self, trunk_m: float) -> float | None:
        p, t = self.knots_p_m, self.knots_t_s
        if self.setting != "overground" or trunk_m > p[-1] or trunk_m <= p[0]:
            return None
        i = int(np.searchsorted(p, trunk_m, side="left"))  # first knot at or beyond
        while i > 0 and p[i - 1] >= trunk_m:
            i -= 1
        if p[i] == p[i - 1]:
            return float(t[i])
        return float(t[i - 1] + (trunk_m - p[i - 1]) / (p[i] - p[i - 1]) * (t[i] - t[i - 1]))

    def gate_changes(self, position_m: float) -> list[tuple[float, bool]]:
        """Beam changes ``(t_s, broken)`` at a gate at ``position_m``: the first break (the
        truth), flickers of arms and legs, then clear once the trailing edge has passed."""
        first = self.gate_time_s(position_m)
        if first is None:
            return []
        last = self._reach(position_m + self.trail_m)
        if last is None:
            last = first + 0.6
        rng = np.random.default_rng([self.seed, 7, int(round(position_m * 1000))])
        changes = [(first, True)]
        t = first
        for _ in range(int(rng.integers(1, 4))):  # 1-3 flickers while the body passes
            t_clear = t + float(rng.uniform(0.03, 0.08))
            t_break = t_clear + float(rng.uniform(0.02, 0.06))
            if t_break >= last - 0.02:
                break
            changes += [(t_clear, False), (t_break, True)]
            t = t_break
        changes.append((max(last, t + 0.02), False))
        return changes


def _smoothstep(u):
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


class VirtualWalker:
    """The IMU's load source while walking (see the module docstring).

    Parameters
    ----------
    seed : int
        Seeds every walk (the same seed and the same calls give the same walks).
    height_cm : float
        Body height; the sensor sits at :data:`IMU_HEIGHT_FRACTION` of it.
    base : LoadSource, optional
        What the plate and the IMU see outside walks (a standing virtual person); None: an
        empty plate and a still, upright trunk.
    tilt_deg : float
        The sensor's tilt on the belt about its left-right axis (+: top tilted toward the toes).
    lean_deg : float
        Forward lean of the trunk while walking (adds to the tilt during walks).
    """

    def __init__(self, seed: int = 0, *, height_cm: float = 170.0, base=None, tilt_deg: float = 8.0,
                 lean_deg: float = 4.0) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        if not 100.0 <= height_cm <= 230.0:
            raise ValueError(f"height_cm must be between 100 and 230 cm, got {height_cm!r}")
        self.seed = int(seed)
        self.height_cm = float(height_cm)
        self.sensor_height_m = IMU_HEIGHT_FRACTION * self.height_cm / 100.0
        self.base = base
        self.tilt_deg = float(tilt_deg)
        self.lean_deg = float(lean_deg)
        self.walks: list[WalkPlan] = []
        self._asked: list[dict] = []
        """How each walk of :attr:`walks` was asked for (:meth:`walk`'s arguments), to plan it again shorter
        (:meth:`stop`)."""
        self._chunks: OrderedDict[int, dict] = OrderedDict()
        self._lock = threading.RLock()

    # -- planning --------------------------------------------------------------------------------
    def walk(self, at_s: float, *, direction: str = "forward", setting: str = "overground",
             pattern: GaitPattern | str = "healthy", walkway_m: float = 10.0, start_m: float = -0.1,
             duration_s: float | None = None, belt_speed_m_s: float | None = None,
             pauses: tuple[Pause, ...] = (), stumble_after_s: float | None = None,
             stop_after_s: float | None = None) -> WalkPlan:
        """Plan a walk starting (first movement) at ``at_s`` and return its truth.

        Overground the walk ends past ``walkway_m``; on a treadmill it lasts ``duration_s`` at
        ``belt_speed_m_s`` (step length = belt speed / step frequency). ``stop_after_s`` (s after
        ``at_s``, 0 included) ends either sooner: the person stops for good after the step that
        lands by then (the first step always lands), e.g. to test a gate that is never reached, or a
        treadmill session that ends early.
        Walks must be planned in time order and not overlap.
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        if setting not in SETTINGS:
            raise ValueError(f"setting must be one of {SETTINGS}, got {setting!r}")
        if isinstance(pattern, str):
            if pattern not in PATTERNS:
                raise ValueError(f"unknown gait pattern {pattern!r}; allowed: {', '.join(PATTERNS)}")
            pattern = PATTERNS[pattern]
        at_s = float(at_s)
        if self.walks and at_s < self.walks[-1].end_s:
            raise ValueError(f"a walk at {at_s:g} s overlaps the previous one (until {self.walks[-1].end_s:.2f} s)")
        if setting == "treadmill":
            if not duration_s or duration_s <= 0:
                raise ValueError("a treadmill walk needs duration_s > 0")
            if belt_speed_m_s is not None:
                if not 0.05 <= belt_speed_m_s <= 3.0:
                    raise ValueError(f"belt_speed_m_s must be 0.05-3 m/s, got {belt_speed_m_s!r}")
                pattern = replace(pattern, step_length_m=belt_speed_m_s * 60.0 / pattern.cadence_steps_min)
        asked = dict(at_s=at_s, direction=direction, setting=setting, pattern=pattern, walkway_m=walkway_m,
                     start_m=start_m, duration_s=duration_s, pauses=pauses, stumble_after_s=stumble_after_s,
                     stop_after_s=stop_after_s, belt_speed=belt_speed_m_s)
        plan = self._planned(len(self.walks), asked)
        with self._lock:
            self.walks.append(plan)
            self._asked.append(asked)
            self._forget_chunks_from(plan.start_s)
        return plan

    def _planned(self, index: int, asked: dict) -> WalkPlan:
        # Seeded by the walk's number, not its time: a second walker with the same seed (the
        # station process's copy that drives the gates, run --simulate) plans the same walks, and
        # the same walk planned again with an earlier stop (stop) has the same steps until then.
        rng = np.random.default_rng([self.seed, index])
        seed = int(rng.integers(2**31))
        return self._plan(rng, **asked, seed=seed)

    def _forget_chunks_from(self, t_s: float) -> None:
        lo = int(t_s // CHUNK_S)
        for k in [k for k in self._chunks if k >= lo]:
            del self._chunks[k]

    def stop(self, at_s: float) -> WalkPlan | None:
        """The person stops walking for good at ``at_s`` (s, not in the past): the last walk, when
        it goes on beyond ``at_s``, is planned again ending after the step that lands by then (as
        :meth:`walk`'s ``stop_after_s`` would have ended it; its steps until then are the same), and
        returned; None when no walk goes on beyond ``at_s``. A treadmill session's walk is planned
        for the whole planned time: when the session ends sooner (Stop), the belt stops and so does
        the person, who is then free to step onto the plate again."""
        at_s = float(at_s)
        with self._lock:
            if not self.walks or self.walks[-1].end_s <= at_s:
                return None
            index = len(self.walks) - 1
            asked = dict(self._asked[index])
            stop_after_s = max(0.0, at_s - asked["at_s"])
            if asked["stop_after_s"] is not None:
                stop_after_s = min(stop_after_s, asked["stop_after_s"])
            asked["stop_after_s"] = stop_after_s
            plan = self._planned(index, asked)
            self.walks[index] = plan
            self._asked[index] = asked
            self._forget_chunks_from(min(at_s, plan.end_s) - 1.0)
        return plan

    def _plan(self, rng, at_s, direction, setting, pattern: GaitPattern, walkway_m, start_m, duration_s, pauses,
              stumble_after_s, stop_after_s, belt_speed, seed) -> WalkPlan:
        mean_t = 60.0 / pattern.cadence_steps_min
        cv = pattern.step_time_cv_pct / 100.0
        l_leg = self.sensor_height_m
        first_side = 1.0 if rng.random() < 0.5 else -1.0
        ics: list[float] = []
        sides: list[float] = []
        lengths: list[float] = []
        amps: list[float] = []
        segments: list[tuple[int, int]] = []
        knots_t = [at_s]
        knots_p = [start_m]
        pause_spans: list[tuple[float, float]] = []
        pending_pauses = sorted(pauses, key=lambda p: p.after_s)
        position = start_m
        t = at_s + 0.45 * mean_t  # the first foot lands about half a step after moving off
        seg_start = 0
        stumble_done = stumble_after_s is None
        stumble_s = None
        natural_limit_s = at_s + (duration_s if setting == "treadmill" else OVERGROUND_LIMIT_S)
        limit_s = natural_limit_s
        if stop_after_s is not None:  # 0 too: the person stops after the step they moved off with
            limit_s = min(limit_s, at_s + stop_after_s)
        k = 0
        while True:
            side = first_side * (1 if k % 2 == 0 else -1)
            paretic = side > 0  # the right leg is the paretic one when there is asymmetry
            factor = (1.0 + pattern.asymmetry / 2.0) if paretic else (1.0 - pattern.asymmetry / 2.0)
            step_t = max(0.3, mean_t * factor * (1.0 + cv * float(rng.standard_normal())))
            n_in_seg = k - seg_start
            ramp = 0.55 if n_in_seg == 0 else 0.85 if n_in_seg == 1 else 1.0
            length = pattern.step_length_m * ramp * (1.0 + 0.5 * cv * float(rng.standard_normal()))
            if setting == "overground":
                position += length
            ics.append(t)
            sides.append(side)
            lengths.append(length)
            half = length / (2.0 * PENDULUM_CORRECTION)
            h = l_leg - math.sqrt(max(l_leg**2 - half**2, 1e-9))
            omega = 2.0 * math.pi / step_t
            amp = max(h * omega**2 / 2.0, MIN_AMPLITUDE_M_S2) * (1.0 - (pattern.paretic_weakness if paretic else 0.0))
            amps.append(amp)
            knots_t.append(t)
            knots_p.append(position if setting == "overground" else start_m)
            k += 1
            t_next = t + step_t
            walked = t - at_s
            if not stumble_done and walked >= stumble_after_s:
                stumble_done = True
                stumble_s = t + 0.3 * step_t
                t_next = t + 0.55 * step_t  # the catching step comes early
            done = (setting == "overground" and position >= walkway_m + 0.3) or t_next > limit_s
            if pending_pauses and walked >= pending_pauses[0].after_s and not done:
                pause = pending_pauses.pop(0)
                segments.append((seg_start, k - 1))
                stop_t = t + 0.5 * step_t
                pause_spans.append((stop_t, stop_t + pause.duration_s))
                knots_t.append(stop_t)
                knots_p.append(knots_p[-1])
                t_next = stop_t + pause.duration_s + 0.45 * mean_t
                knots_t.append(stop_t + pause.duration_s)
                knots_p.append(knots_p[-1])
                seg_start = k
                t = t_next
                continue
            if done:
                break
            t = t_next
        reached = setting == "overground" and position >= walkway_m + 0.3
        stopped_early = not reached and limit_s < natural_limit_s and t_next > limit_s and t_next <= natural_limit_s
        segments.append((seg_start, k - 1))
        end_s = ics[-1] + 0.6 * mean_t
        knots_t.append(end_s)
        knots_p.append(knots_p[-1] + (0.25 * pattern.step_length_m if setting == "overground" else 0.0))
        return WalkPlan(start_s=at_s, direction=direction, setting=setting, initial_contacts_s=np.array(ics),
                        side=np.array(sides), amplitude_m_s2=np.array(amps), step_length_m=np.array(lengths),
                        segments=segments, end_s=end_s, knots_t_s=np.array(knots_t), knots_p_m=np.array(knots_p),
                        stumble_s=stumble_s, seed=seed, belt_speed_m_s=belt_speed, pauses=pause_spans,
                        stopped_early=stopped_early)

    # -- signals ---------------------------------------------------------------------------------
    def _walk_signals(self, plan: WalkPlan, t: np.ndarray, out: dict) -> None:
        """Add one walk's body-frame accelerations and rates (v, ap, ml; yaw, roll, pitch) at ``t``."""
        ics = plan.initial_contacts_s
        sign = 1.0 if plan.direction == "forward" else -1.0
        pattern_ml = 1.2
        for a, b in plan.segments:
            seg_ics = ics[a : b + 1]
            if seg_ics.size < 2:
                continue
            lo, hi = seg_ics[0], seg_ics[-1]
            m = (t >= lo - 0.5) & (t < hi + 0.5)
            if not m.any():
                continue
            tt = t[m]
            k = np.clip(np.searchsorted(seg_ics, tt, side="right") - 1, 0, seg_ics.size - 1)  # last contact
            j = np.minimum(k, seg_ics.size - 2)  # the step whose phase runs (the last one runs on past its end)
            t0 = seg_ics[j]
            period = seg_ics[j + 1] - t0
            phase = (tt - t0) / period
            # The amplitude passes smoothly from this step's to the next one's over the step: a trunk's
            # acceleration does not jump at a contact. (Switching it at the contact put a step of up to
            # 0.3 m/s² exactly where the heel impact rises, cancelling a paretic foot's weaker impact.)
            step_amp = plan.amplitude_m_s2[a + j]
            amp = step_amp + (plan.amplitude_m_s2[a + j + 1] - step_amp) * np.clip(phase, 0.0, 1.0)
            side = plan.side[a + j]
            # Ramp in over the first step and out over the stopping step (standing before and after).
            # The ramp out starts at 1 at the last contact: a jump there would cancel its impact's rise.
            env = _smoothstep((tt - (lo - 0.3)) / 0.35) * (1.0 - _smoothstep((tt - hi) / 0.35))
            env = np.where(tt < lo, env * 0.6, np.where(tt <= hi, 1.0, env))
            theta = 2.0 * np.pi * (phase - PEAK_PHASE)
            base = np.cos(theta) + SECOND_HARMONIC * np.cos(2.0 * theta)
            # Every contact's heel impact, the stopping step's too: past the last contact the phase
            # runs on from the step before, but the heel that lands there strikes as the others do.
            imp_t = tt - seg_ics[k] - IMPACT_DELAY_S
            impact = 0.5 * plan.amplitude_m_s2[a + k] * (np.exp(-0.5 * (imp_t / IMPACT_WIDTH_S) ** 2)
                                                        - IMPACT_WIDTH_S * math.sqrt(2.0 * math.pi) / period)
            out["v"][m] += env * (amp * base + impact)
            out["ap"][m] += env * sign * 0.45 * amp * np.sin(2.0 * np.pi * (phase - PEAK_PHASE))
            sway = np.sin(np.pi * phase) * side
            out["ml"][m] += env * pattern_ml * sway
            out["yaw"][m] += env * 14.0 * sway
            out["roll"][m] += env * 7.0 * sway
            out["pitch"][m] += env * 5.0 * np.sin(2.0 * np.pi * (phase - PEAK_PHASE))
            out["lean"][m] += env * self.lean_deg * (1.0 if plan.direction == "forward" else -0.5)
        if plan.stumble_s is not None:
            u = (t - plan.stumble_s) / 0.06
            jolt = np.exp(-0.5 * u * u)
            out["ap"] += -sign * 6.0 * jolt
            out["v"] += 4.0 * jolt * (1.0 - u * u)
            out["pitch"] += -sign * 40.0 * jolt

    def _chunk(self, k: int) -> dict:
        with self._lock:
            chunk = self._chunks.get(k)
            if chunk is not None:
                self._chunks.move_to_end(k)
                return chunk
            n = int(CHUNK_S * GRID_RATE_HZ) + 1
            t = k * CHUNK_S + np.arange(n) / GRID_RATE_HZ
            parts = {name: np.zeros(n) for name in ("v", "ap", "ml", "yaw", "roll", "pitch", "lean")}
            active = np.zeros(n, dtype=bool)
            for plan in self.walks:
                if plan.end_s + 1.0 < t[0] or plan.start_s - 1.0 > t[-1]:
                    continue
                self._walk_signals(plan, t, parts)
                active |= (t >= plan.start_s - 0.5) & (t <= plan.end_s + 0.5)
            chunk = {"t0": t[0], "active": active, **self._to_imu(parts)}
            self._chunks[k] = chunk
            while len(self._chunks) > 3:
                self._chunks.popitem(last=False)
            return chunk

    def _to_imu(self, parts: dict) -> dict:
        """Body frame (v, ap, ml = right) to the IMU frame (+x toes, +y left, +z up), tilted."""
        g = STANDARD_GRAVITY_M_S2
        ax_b, ay_b, az_b = parts["ap"], -parts["ml"], g + parts["v"]
        gx_b, gy_b, gz_b = parts["roll"], -parts["pitch"], parts["yaw"]
        tilt = np.radians(self.tilt_deg + parts["lean"])
        c, s = np.cos(tilt), np.sin(tilt)
        # The sensor pitched by `tilt` about its y axis (top toward the toes): world -> sensor.
        ax = c * ax_b - s * az_b
        az = s * ax_b + c * az_b
        gx = c * gx_b - s * gz_b
        gz = s * gx_b + c * gz_b
        return {"ax": ax, "ay": ay_b, "az": az, "gx": gx, "gy": gy_b, "gz": gz}

    def _active(self, t_s: float) -> bool:
        for plan in self.walks:
            if plan.start_s - 0.5 <= t_s <= plan.end_s + 0.5:
                return True
        return False

    # -- LoadSource ------------------------------------------------------------------------------
    def plate_load(self, t_s: float) -> PlateLoad:
        if self.base is not None and not self._active(t_s):
            return self.base.plate_load(t_s)
        return PlateLoad(0.0, 0.0, 0.0)

    def corner_forces_n(self, t_s: float) -> tuple[float, float, float, float]:
        if self.base is not None and not self._active(t_s):
            return self.base.corner_forces_n(t_s)
        return (0.0, 0.0, 0.0, 0.0)

    def trunk(self, t_s: float) -> TrunkSample:
        k = int(t_s // CHUNK_S)
        chunk = self._chunk(k)
        pos = (t_s - chunk["t0"]) * GRID_RATE_HZ
        i = min(max(int(pos), 0), int(CHUNK_S * GRID_RATE_HZ) - 1)
        f = pos - i
        if not (chunk["active"][i] or chunk["active"][i + 1]):
            if self.base is not None:
                return self.base.trunk(t_s)
        vals = [chunk[n][i] + f * (chunk[n][i + 1] - chunk[n][i]) for n in ("ax", "ay", "az", "gx", "gy", "gz")]
        return TrunkSample((vals[0], vals[1], vals[2]), (vals[3], vals[4], vals[5]))

    def sample(self, time_s) -> tuple[np.ndarray, np.ndarray]:
        """IMU-frame acceleration (m/s²) and angular rate (deg/s) at ``time_s``, shape (n, 3) each
        (tests; the same interpolation as the scalar calls)."""
        t = np.atleast_1d(np.asarray(time_s, dtype=float))
        acc = np.empty((t.size, 3))
        gyro = np.empty((t.size, 3))
        for n, ts in enumerate(t):
            s = self.trunk(float(ts))
            acc[n] = s.acc_m_s2
            gyro[n] = s.gyro_deg_s
        return acc, gyro
