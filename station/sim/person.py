"""A virtual person standing on the simulated plate: quiet-stance sway, stepping, scripted events.

The person is a load source (:class:`station.sim.loads.LoadSource`): the chip models ask it, at
each conversion instant, for the corner forces and the trunk motion. Everything derives from one
centre-of-mass (COM) trajectory per axis, so the COP, the forces and the IMU agree with each other.

Model
-----
*Sway* (:mod:`station.sim.sway_model`): per axis, an inverted pendulum of COM height
``0.55 × height`` under delayed PD control with low-pass motor noise and a slowly drifting set
point; COP = COM − (h/g)·COM''. The noise levels per age group, vision and surface
(:data:`NOISE_LEVELS_AP_CM`) were fitted (least squares on the logs, common random numbers) so
that over 100 seeds of 170-cm people, each summarised like the norms by the median of three 60-s
trials, the median mean velocity and median 95 % prediction-ellipse area match the p50 of
Santos & Duarte (2016) (``shared/data/bds/norms-santos-duarte-2016.csv``, COPvelo and COParea:
100 Hz, low-passed at 10 Hz); the mean power frequency was not fitted and lands within 0.035 Hz
of COPmfreq. ML noise is AP noise × :data:`ML_TO_AP_RATIO` (firm 0.65, foam 0.85, from the
ML/AP RMS ratios of the BDS recordings). Each seed is a different subject: lognormal factors
(:data:`SUBJECT_LN_SD`) on both noises, on the motor noise, on the drift and on the ML ratio give
a between-seed spread close to the norms' (p05–p95 of velocity and area within about ±30 % of
theirs); the same seed in another condition is the same subject (and the same noise sequence), so
conditions compare paired.

*Voluntary movements* (weight shift, lifting a leg, recovering after a touch-down) are planned
smooth COM trajectories ``s(t)`` executed by feed-forward, adding ``s − (h/g)·s''`` to the COP:
moving the COM sideways first moves the COP the other way (the anticipatory postural adjustment).

*Leaning* (the limits-of-stability test, biofeedback games): :meth:`VirtualPerson.lean_toward`
moves the COM in both axes to a point (plate frame) after a reaction time along a minimum-jerk
path and holds it while the sway goes on around it; the person has their own limits of stability
(70–90 % of the theoretical ones, seeded, within the base of support) and falls short of a point
beyond them; :meth:`VirtualPerson.return_to_centre` brings them back upright
(:mod:`station.sim.leaning` has the model and its constants).

*Stepping on/off* is not a balance movement: the plate's Fz ramps while the COP sits under the
first foot, then the COP moves to the stance (``step_on``); the reverse for ``step_off``.

*Trunk*: the body is one rigid segment pivoting at the floor; the IMU sits on it at
``0.58 × height`` (lower back). Tilt θ = COM/h, the sensor's acceleration is that of a point on the
segment, plus gravity; axes as in :mod:`station.sim.loads` (+x anterior, +y left, +z up), with the
sensor aligned to the person's neutral upright posture (a centred, still person reads
(0, 0, 9.81) m/s²). The stepping movement itself and walking are not modelled in the trunk signal.
Vertical COM motion (pendulum geometry, and the knee dip of a stumble or touch-down) adds
``m·z''`` to Fz.

Time grid and cost
------------------
Trajectories are generated lazily in 4-s chunks on a 1 kHz grid (each chunk from its own seeded
random stream and the state at its start, so any chunk can be regenerated identically), and a
call interpolates linearly between grid points: a few µs per call. Calls may come in any order;
nondecreasing order is the fast path.

API
---
::

    p = VirtualPerson(seed=1, mass_kg=70, height_cm=170, age_group="young", vision="open",
                      surface="firm", on_plate=False)
    p.step_on(2.0)                                   # first foot at 2 s, both feet by 2.5 s
    p.set_condition(32.0, vision="closed")          # eyes closed from 32 s
    p.shift_weight(40.0, left_pct=65)               # 65 % of the load on the left cells
    p.single_leg(50.0, side="left")                 # stand on the left leg (right foot lifts)
    p.touch_down(58.0)                              # loses balance: right foot lands at 58 s
    p.stumble(62.0, direction="forward")            # a sudden push: COM velocity kick + dip
    p.lean_toward(64.0, ap_cm=6.0, ml_cm=3.0)       # go at 64 s: lean (after a reaction) so the COP goes there
    p.return_to_centre(70.0)                        # told at 70 s: back upright
    p.lean_in_direction(72.0, "fr", fraction=1.0)   # toward forward-right, as far as own limits allow
    p.own_limits, p.reaction_s, p.leans             # the person's limits (cm), typical reaction (s), plans
    p.step_off(70.0)
    p.corner_forces_n(t_s); p.plate_load(t_s); p.trunk(t_s)   # the LoadSource protocol
    p.com_cm(t_s); p.sample(time_s_array)                      # the truth, for tests

Events must be scheduled in time order (each ``at_s`` at or after the previous event's) and
before the simulation reaches them; an event that does not make sense at that moment (stepping
off a plate the person is not on, a touch-down without a lifted foot, a weight shift beyond the
feet) raises :class:`ValueError` saying why.
"""

from __future__ import annotations

import bisect
import functools
from array import array
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from station.config import PlateConfig
from station.sim import leaning
from station.sim.loads import STANDARD_GRAVITY_M_S2, PlateLoad, TrunkSample, distribute_to_corners
from station.sim.sway_model import V as STATE_V
from station.sim.sway_model import Controller, NoiseLevels, SwayAxis

GRID_RATE_HZ = 1000
"""Internal trajectory grid, Hz."""
CHUNK_SAMPLES = 4000
"""Grid points per generated chunk (4 s)."""
CHUNK_S = CHUNK_SAMPLES / GRID_RATE_HZ
CACHED_CHUNKS = 3
"""Chunks kept: the previous (calls may reach back a little), the current and the prefetched next."""

COM_HEIGHT_FRACTION = 0.55
"""COM height / body height (Winter, Biomechanics and Motor Control of Human Movement: ~0.55)."""
IMU_HEIGHT_FRACTION = 0.58
"""Height of a sensor worn at the lower back / body height."""

AGE_GROUPS = ("young", "old")
VISIONS = ("open", "closed")
SURFACES = ("firm", "foam")
SIDES = ("left", "right")
STUMBLE_DIRECTIONS = {"forward": (0, 1.0), "backward": (0, -1.0), "left": (1, -1.0), "right": (1, 1.0)}

NOISE_LEVELS_AP_CM: dict[tuple[str, str, str], NoiseLevels] = {
    # (age group, vision, surface): AP motor-noise SD and set-point-drift SD in cm of a typical
    # subject (all SubjectFactors 1), fitted to the medians of Santos & Duarte (2016) as the
    # module docstring describes. Resulting population medians, velocity cm/s / area cm² /
    # mean power frequency Hz (norm's MPF): YOF 0.797/1.95/0.22 (0.22), YCF 0.819/2.14/0.22
    # (0.24), YOFoam 2.22/11.8/0.27 (0.27), YCFoam 2.93/13.3/0.35 (0.34), OOF 1.01/2.17/0.27
    # (0.27), OCF 1.09/2.23/0.30 (0.30), OOFoam 3.49/18.3/0.36 (0.33), OCFoam 4.20/23.3/0.37 (0.36).
    ("young", "open", "firm"): NoiseLevels(motor_cm=0.0645, drift_cm=0.4250),
    ("young", "closed", "firm"): NoiseLevels(motor_cm=0.0660, drift_cm=0.4497),
    ("young", "open", "foam"): NoiseLevels(motor_cm=0.1670, drift_cm=0.8070),
    ("young", "closed", "foam"): NoiseLevels(motor_cm=0.2277, drift_cm=0.6038),
    ("old", "open", "firm"): NoiseLevels(motor_cm=0.0840, drift_cm=0.3884),
    ("old", "closed", "firm"): NoiseLevels(motor_cm=0.0923, drift_cm=0.3618),
    ("old", "open", "foam"): NoiseLevels(motor_cm=0.2716, drift_cm=0.6752),
    ("old", "closed", "foam"): NoiseLevels(motor_cm=0.3290, drift_cm=0.6649),
}
ML_TO_AP_RATIO = {"firm": 0.65, "foam": 0.85}
"""ML noise levels / AP noise levels, per surface."""
SINGLE_LEG_FACTORS = {"ap": (3.0, 1.5), "ml": (4.0, 1.5)}
"""On one leg: (motor, drift) noise multipliers per axis. For young adults, eyes open, 30 s:
median velocity 2.7 cm/s (3.2× the same seeds on both feet) and ellipse area 8 cm² over 12
seeds; a plausible, not a fitted, choice (no single-leg norms in the shared data)."""
SUBJECT_LN_SD = {"amplitude": 0.2, "motor": 0.2, "drift": 0.15, "ml_ratio": 0.15}
"""Between-subject spread: SD of the natural log of each :class:`SubjectFactors` factor."""

FALL_COP_CM = 3.0
"""Before a touch-down the COM falls toward the free foot, the COP this far outside it (cm)."""
CATCH_COP_CM = 5.0
"""At the touch-down the COP jumps this far beyond the COM toward the landing foot (cm)."""
STUMBLE_DROP_CM = 1.5
TOUCH_DOWN_DROP_CM = 0.8
DROP_WIDTH_S = 0.1

_STEP_LOAD_FRACTION = 0.6
"""Share of a step-on ramp during which the first foot takes the load (then the second lands)."""


def _choice(name: str, value, allowed) -> str:
    if isinstance(value, str) and value.strip().lower() in allowed:
        return value.strip().lower()
    raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def _time(name: str, value) -> float:
    if isinstance(value, (str, bytes, bool)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number of seconds, got {value!r}")
    t = float(value)
    if not math.isfinite(t) or t < 0:
        raise ValueError(f"{name} must be a finite time >= 0 s, got {value!r}")
    return t


def _positive(name: str, value, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} number, got {value!r}")
    return v


def _smoothstep(u):
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


@dataclass(frozen=True)
class SubjectFactors:
    """The seed's subject: multipliers of the condition's typical noise levels."""

    amplitude: float  # both noises
    motor: float  # motor noise (mostly sway velocity)
    drift: float  # set-point drift (mostly sway area)
    ml_ratio: float  # ML against AP


@dataclass(frozen=True)
class PersonSamples:
    """The person's true signals at the requested times (arrays, units in the names)."""

    time_s: np.ndarray
    fz_n: np.ndarray
    ap_cm: np.ndarray
    ml_cm: np.ndarray
    corners_n: np.ndarray  # shape (4, n): FL, FR, BL, BR
    com_ap_cm: np.ndarray
    com_ml_cm: np.ndarray
    acc_m_s2: np.ndarray  # shape (3, n), IMU frame
    gyro_deg_s: np.ndarray  # shape (3, n), IMU frame


class _PlannedPath:
    """A planned ML COM trajectory s(t): piecewise polynomials, continuous in s and s'."""

    def __init__(self, initial_cm: float):
        self.initial_cm = float(initial_cm)
        self.segments: list[tuple[float, float, np.ndarray]] = []  # (t0, t1, coefficients in τ)

    def state_at(self, t_s: float) -> tuple[float, float, float]:
        """(s cm, s' cm/s, s'' cm/s²) at ``t_s``."""
        for t0, t1, c in reversed(self.segments):
            if t_s >= t0:
                tau = min(t_s, t1) - t0
                p = np.polynomial.Polynomial(c)
                return float(p(tau)), float(p.deriv(1)(tau)), float(p.deriv(2)(tau))
        return self.initial_cm, 0.0, 0.0

    def _truncate(self, t_s: float) -> tuple[float, float, float]:
        state = self.state_at(t_s)
        if self.segments:
            t0, t1, c = self.segments[-1]
            if t1 > t_s:
                self.segments[-1] = (t0, t_s, c)
        return state

    def move_to(self, t_s: float, target_cm: float, duration_s: float) -> None:
        """Quintic from the state at ``t_s`` to rest at ``target_cm`` after ``duration_s``."""
        s0, v0, a0 = self._truncate(t_s)
        d = duration_s
        if d <= 0:
            self.segments.append((t_s, t_s, np.array([target_cm])))
            return
        m = np.array([[d**3, d**4, d**5], [3 * d**2, 4 * d**3, 5 * d**4], [6 * d, 12 * d**2, 20 * d**3]])
        rhs = np.array([target_cm - (s0 + v0 * d + 0.5 * a0 * d * d), -(v0 + a0 * d), -a0])
        c345 = np.linalg.solve(m, rhs)
        self.segments.append((t_s, t_s + d, np.array([s0, v0, 0.5 * a0, *c345])))

    def jerk_to(self, t_s: float, accel_cm_s2: float, duration_s: float, start_accel_cm_s2: float | None = None):
        """Cubic: acceleration linear from its value at ``t_s`` (or ``start_accel_cm_s2``, a jump)
        to ``accel_cm_s2`` over ``duration_s``."""
        s0, v0, a0 = self._truncate(t_s)
        if start_accel_cm_s2 is not None:
            a0 = start_accel_cm_s2
        jerk = (accel_cm_s2 - a0) / duration_s
        self.segments.append((t_s, t_s + duration_s, np.array([s0, v0, 0.5 * a0, jerk / 6.0])))

    def evaluate(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = np.full(t_s.shape, self.initial_cm)
        v = np.zeros(t_s.shape)
        a = np.zeros(t_s.shape)
        for t0, t1, c in self.segments:
            p = np.polynomial.Polynomial(c)
            after = t_s >= t1  # held (every plan ends at rest); later segments overwrite
            s[after] = p(t1 - t0)
            v[after] = p.deriv(1)(t1 - t0)
            a[after] = p.deriv(2)(t1 - t0)
            inside = (t_s >= t0) & (t_s < t1)
            if inside.any():
                tau = t_s[inside] - t0
                s[inside] = p(tau)
                v[inside] = p.deriv(1)(tau)
                a[inside] = p.deriv(2)(tau)
        return s, v, a


class _Chunk:
    __slots__ = ("index", "t0_s", "arrays", "fz", "ap", "ml", "fl", "fr", "bl", "br", "ax", "ay", "az", "gx", "gy", "gz")

    def __init__(self, index: int, arrays: dict[str, np.ndarray]):
        self.index = index
        self.t0_s = index * CHUNK_S
        self.arrays = arrays
        # Compact doubles (8 bytes a sample, not a 32-byte Python float in a list): three chunks
        # of 13 signals stay under 1.3 MB, which keeps the acquisition process small; indexing
        # one is as fast as indexing a list.
        for name in ("fz", "ap", "ml", "fl", "fr", "bl", "br", "ax", "ay", "az", "gx", "gy", "gz"):
            values = array("d")
            values.frombytes(np.ascontiguousarray(arrays[name], dtype=np.float64).tobytes())
            setattr(self, name, values)


def _locked(method):
    """Run a scheduling method under the person's lock (the prefetch thread reads the schedule)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


class _ChunkPrefetcher:
    """Generates the person's next chunk on a background thread while the current one is used.

    A chunk takes ~2 ms to generate; on the acquisition loop's thread that would delay a frame
    (at 320 Hz the period is 3.1 ms, of which ~1.4 ms is bus time). Generated on this thread,
    mostly while the loop sleeps until its next deadline, it is ready before it is needed. The
    chunk's content does not depend on which thread made it (same seed, same schedule, same
    samples): the person's lock orders generation and scheduling.
    """

    def __init__(self, person: "VirtualPerson") -> None:
        self._person = person
        self._wanted: int | None = None
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="virtual-person-prefetch", daemon=True)
        self._thread.start()

    def request(self, k: int) -> None:
        with self._wake:
            self._wanted = k
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._wanted is None:
                    self._wake.wait()
                k, self._wanted = self._wanted, None
            self._person._chunk(k)


class VirtualPerson:
    """A seeded virtual person: quiet-stance sway plus scripted events (see the module docstring).

    Parameters
    ----------
    seed : int
        Selects the subject (between-seed variability) and the noise; same seed, same signals.
    mass_kg, height_cm : float
        Body mass (Fz = m·g at rest) and height (COM at 0.55 × height, IMU at 0.58 × height).
    age_group : {"young", "old"}
        Santos & Duarte's groups: 18–59 and 60–86 years.
    vision : {"open", "closed"}, surface : {"firm", "foam"}
        Initial condition; change it with :meth:`set_condition`.
    on_plate : bool
        Standing on the plate at t = 0 (default) or beside it until :meth:`step_on`.
    left_pct : float
        Initial share of the load on the left load cells (DESIGN.md §5 ``weight_left_pct``), %.
    stance_ap_cm : float
        AP position of the feet (mean COP) in the plate frame, cm.
    feet_apart_cm : float
        ML distance between the centres of the two feet, cm (centred on the plate).
    plate : PlateConfig
        Geometry (``width_cm``, ``depth_cm``) for the corner split.
    controller : Controller
        Sway-model constants (the defaults are those the noise levels were fitted with).
    prefetch : bool
        Generate the next trajectory chunk on a background thread (for real-time use, where the
        ~2 ms a chunk takes would otherwise delay an acquisition frame). The samples are the same
        either way.
    """

    def __init__(
        self,
        seed: int,
        mass_kg: float = 70.0,
        height_cm: float = 170.0,
        age_group: str = "young",
        vision: str = "open",
        surface: str = "firm",
        *,
        on_plate: bool = True,
        left_pct: float = 50.0,
        stance_ap_cm: float = 0.0,
        feet_apart_cm: float = 20.0,
        plate: PlateConfig = PlateConfig(),
        controller: Controller = Controller(),
        prefetch: bool = False,
    ):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        self.seed = int(seed)
        self.mass_kg = _positive("mass_kg", mass_kg)
        self.height_cm = _positive("height_cm", height_cm)
        if not 50.0 <= self.height_cm <= 250.0:
            raise ValueError(f"height_cm must be between 50 and 250 cm, got {height_cm!r}")
        self.age_group = _choice("age_group", age_group, AGE_GROUPS)
        self.plate = plate
        self.feet_apart_cm = _positive("feet_apart_cm", feet_apart_cm)
        if self.feet_apart_cm >= plate.width_cm:
            raise ValueError(
                f"feet_apart_cm={feet_apart_cm} does not fit between the load cells ({plate.width_cm} cm apart)"
            )
        self.stance_ap_cm = float(stance_ap_cm)
        if not abs(self.stance_ap_cm) < plate.depth_cm / 2:
            raise ValueError(f"stance_ap_cm={stance_ap_cm} is off the plate (|AP| < {plate.depth_cm / 2} cm)")
        self.com_height_m = COM_HEIGHT_FRACTION * self.height_cm / 100.0
        self.imu_height_m = IMU_HEIGHT_FRACTION * self.height_cm / 100.0
        self._h_over_g_s2 = self.com_height_m / STANDARD_GRAVITY_M_S2
        self._axis = SwayAxis(self.com_height_m, controller, 1.0 / GRID_RATE_HZ)
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(0,)))
        draws = dict(zip(SUBJECT_LN_SD, rng.standard_normal(len(SUBJECT_LN_SD))))
        self.subject = SubjectFactors(**{k: float(np.exp(SUBJECT_LN_SD[k] * z)) for k, z in draws.items()})
        vision = _choice("vision", vision, VISIONS)
        surface = _choice("surface", surface, SURFACES)
        initial_ml = self._ml_for_left_pct(left_pct)

        # Schedule (append-only, in time order) and what the person is doing at its end.
        self._events: list[tuple[float, str]] = []
        self._last_at_s = 0.0
        self._initially_on_plate = self._on_plate = bool(on_plate)
        self._plate_busy_until_s = 0.0
        self._stance = "double"  # or "left" / "right": the leg standing
        self._stance_from_s = 0.0
        self._double_ml_cm = initial_ml
        self._vision, self._surface = vision, surface
        self._plate_events: list[tuple[float, str, str, float]] = []  # (at_s, "on"/"off", first foot, duration)
        self._initial_regime = (vision, surface, "double")
        self._regime_changes: list[tuple[int, int, dict[str, str]]] = []  # (grid index, order, changes)
        self._regimes: list[tuple[int, tuple[str, str, str]]] = [(0, self._initial_regime)]
        self._kicks: list[tuple[int, int, float]] = []  # (grid index, axis 0=AP 1=ML, Δv cm/s)
        self._drops: list[tuple[float, float]] = []  # (start s, depth cm)
        self._path = _PlannedPath(initial_ml)
        self._path_ap = _PlannedPath(0.0)  # leans: AP COM displacement from the stance, cm
        self._lean_cm = (0.0, 0.0)  # where the person is leaning to (AP, ML from the neutral position)
        self._leans = 0
        self.leans: list[leaning.LeanPlan] = []
        """Every lean and return planned (the truth, for tests)."""
        lean_rng = self._rng(3)
        self._limit_fractions = lean_rng.uniform(*leaning.OWN_LIMIT_FRACTION, 3)  # forward, backward, lateral
        self._own_limits: leaning.OwnLimits | None = None
        z_reaction, z_speed = lean_rng.standard_normal(2)
        self.reaction_s = float(leaning.REACTION_S[self.age_group] * np.exp(leaning.REACTION_PERSON_LN_SD * z_reaction))
        """Typical reaction time to a go signal, s."""
        self.lean_speed_deg_s = float(leaning.LEAN_SPEED_DEG_S[self.age_group]
                                      * np.exp(leaning.LEAN_SPEED_PERSON_LN_SD * z_speed))
        """Typical average angular speed of a lean, deg/s."""
        self._levels_cache: dict[tuple[str, str, str], tuple[NoiseLevels, NoiseLevels]] = {}

        self._states: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._chunks: OrderedDict[int, _Chunk] = OrderedDict()
        self._cur: _Chunk | None = None
        self._lock = threading.RLock()
        self._prefetcher = _ChunkPrefetcher(self) if prefetch else None

    @classmethod
    def standing_demo(cls, seed: int = 0, **kwargs) -> "VirtualPerson":
        """A person standing quietly on the plate from t = 0, no events (the demo and ``record``'s
        default); ``kwargs`` are passed to the constructor (``mass_kg``, ``age_group``, …)."""
        kwargs.setdefault("on_plate", True)
        return cls(seed, **kwargs)

    # ------------------------------------------------------------------------------------------
    # Scheduling

    @property
    def events(self) -> list[tuple[float, str]]:
        """The schedule so far: (time s, description)."""
        return list(self._events)

    @property
    def body_weight_n(self) -> float:
        return self.mass_kg * STANDARD_GRAVITY_M_S2

    def _ml_for_left_pct(self, left_pct) -> float:
        try:
            pct = float(left_pct)
        except (TypeError, ValueError):
            raise ValueError(f"left_pct must be a percentage, got {left_pct!r}") from None
        ml = self.plate.width_cm * (0.5 - pct / 100.0)
        half = self.feet_apart_cm / 2.0
        if not (math.isfinite(pct) and abs(ml) <= half + 1e-9):
            lo = 100.0 * (0.5 - half / self.plate.width_cm)
            raise ValueError(
                f"left_pct={left_pct!r} would put the mean COP at ML {ml:+.1f} cm, outside the feet "
                f"(±{half:g} cm): use {lo:g}–{100 - lo:g} %, widen feet_apart_cm, or use single_leg"
            )
        return ml

    def _begin(self, at_s, what: str) -> float:
        t = _time("at_s", at_s)
        if t < self._last_at_s:
            raise ValueError(
                f"{what} at {t:g} s comes before the previous event ({self._last_at_s:g} s): "
                "schedule events in time order"
            )
        return t

    def _commit(self, t: float, what: str, effects_from_s: float | None = None) -> None:
        self._events.append((t, what))
        self._last_at_s = t
        self._invalidate(t if effects_from_s is None else effects_from_s)

    def _require(self, t: float, what: str, *, on_plate: bool | None = None, double: bool | None = None):
        if t < self._plate_busy_until_s:
            raise ValueError(
                f"{what} at {t:g} s: still stepping {'on' if self._on_plate else 'off'} until "
                f"{self._plate_busy_until_s:g} s; schedule it later"
            )
        if on_plate is not None and self._on_plate != on_plate:
            where = "not on the plate" if on_plate else "already on the plate"
            raise ValueError(f"{what} at {t:g} s: the person is {where}")
        if double is not None and (self._stance == "double") != double:
            state = f"standing on the {self._stance} leg" if double else "standing on both feet"
            hint = " (touch_down first)" if double else " (single_leg first)"
            raise ValueError(f"{what} at {t:g} s: the person is {state}{hint}")

    def _foot_ml(self, foot: str) -> float:
        return -self.feet_apart_cm / 2.0 if foot == "left" else self.feet_apart_cm / 2.0

    @_locked
    def step_on(self, at_s: float, first_foot: str = "left", duration_s: float = 0.5) -> None:
        """Step onto the plate: the first foot lands at ``at_s`` and takes the whole load over the
        first 60 % of ``duration_s`` (Fz ramps 0 → m·g, COP under that foot), then the second foot
        lands and the COP moves to the stance by ``at_s + duration_s``."""
        t = self._begin(at_s, "step_on")
        foot = _choice("first_foot", first_foot, SIDES)
        d = _positive("duration_s", duration_s)
        self._require(t, "step_on", on_plate=False, double=True)
        self._plate_events.append((t, "on", foot, d))
        self._on_plate = True
        self._plate_busy_until_s = t + d
        self._commit(t, f"step on ({foot} foot first, {d:g} s)")

    @_locked
    def step_off(self, at_s: float, first_foot: str = "left", duration_s: float = 0.5) -> None:
        """Step off: from ``at_s`` the COP moves under the foot that leaves last (40 % of
        ``duration_s``), then Fz ramps to 0 as that foot leaves too."""
        t = self._begin(at_s, "step_off")
        foot = _choice("first_foot", first_foot, SIDES)
        d = _positive("duration_s", duration_s)
        self._require(t, "step_off", on_plate=True, double=True)
        self._plate_events.append((t, "off", foot, d))
        self._on_plate = False
        self._plate_busy_until_s = t + d
        self._commit(t, f"step off ({foot} foot first, {d:g} s)")

    @_locked
    def set_condition(self, at_s: float, vision: str | None = None, surface: str | None = None) -> None:
        """Change vision and/or surface from ``at_s`` (the sway's statistics change; its state,
        and so the trajectory, stays continuous)."""
        t = self._begin(at_s, "set_condition")
        if vision is None and surface is None:
            raise ValueError("set_condition needs vision= and/or surface=")
        changes = {}
        if vision is not None:
            changes["vision"] = self._vision = _choice("vision", vision, VISIONS)
        if surface is not None:
            changes["surface"] = self._surface = _choice("surface", surface, SURFACES)
        self._change_regime(t, **changes)
        self._commit(t, f"condition: eyes {self._vision}, {self._surface} surface")

    @_locked
    def shift_weight(self, at_s: float, left_pct: float, duration_s: float = 1.5) -> None:
        """Move the mean COP so that ``left_pct`` % of the load is on the left load cells
        (DESIGN.md §5 ``weight_left_pct`` of a still person), over ``duration_s``."""
        t = self._begin(at_s, "shift_weight")
        d = _positive("duration_s", duration_s)
        self._require(t, "shift_weight", double=True)
        target = self._ml_for_left_pct(left_pct)
        self._path.move_to(t, target, d)
        self._double_ml_cm = target
        self._commit(t, f"shift weight to {float(left_pct):g} % left over {d:g} s")

    @_locked
    def single_leg(self, at_s: float, side: str, duration_s: float = 1.0) -> None:
        """Stand on one leg: from ``at_s`` the COM moves over the ``side`` foot (the leg that
        stays down) in ``duration_s``; then the other foot lifts and the sway grows
        (:data:`SINGLE_LEG_FACTORS`)."""
        t = self._begin(at_s, "single_leg")
        side = _choice("side", side, SIDES)
        d = _positive("duration_s", duration_s)
        self._require(t, "single_leg", double=True)
        self._path.move_to(t, self._foot_ml(side), d)
        self._stance = side
        self._stance_from_s = t + d
        self._change_regime(t + d, stance="single")
        self._commit(t, f"single-leg stance on the {side} leg (foot lifts at {t + d:g} s)")

    @_locked
    def touch_down(self, at_s: float, fall_s: float = 0.4, recentre_s: float = 1.5) -> None:
        """The lifted foot lands at ``at_s`` (loss of balance ends a single-leg stance).

        During the ``fall_s`` before it the COM falls toward the free foot (the COP
        :data:`FALL_COP_CM` outside it); at ``at_s`` the COP jumps :data:`CATCH_COP_CM` beyond the
        COM toward the landing foot, which stops the fall, with a small knee dip in Fz; the COM
        then returns to its double-stance position over ``recentre_s``. ``fall_s=0`` is a
        controlled touch-down (no fall).
        """
        t = self._begin(at_s, "touch_down")
        fall = _positive("fall_s", fall_s, allow_zero=True)
        recentre = _positive("recentre_s", recentre_s)
        self._require(t, "touch_down", double=False)
        if t - fall < max(self._stance_from_s, self._last_at_s):
            raise ValueError(
                f"touch_down at {t:g} s with fall_s={fall:g}: the fall would start at {t - fall:g} s, before "
                f"the foot lifted or the previous event ({max(self._stance_from_s, self._last_at_s):g} s)"
            )
        toward = 1.0 if self._stance == "left" else -1.0  # the fall goes toward the free foot
        t_catch_end = t
        if fall > 0:
            a_fall = toward * FALL_COP_CM / self._h_over_g_s2
            self._path.jerk_to(t - fall, a_fall, fall)
            _, v_td, _ = self._path.state_at(t)
            a_catch = -toward * CATCH_COP_CM / self._h_over_g_s2
            catch_s = max(2.0 * abs(v_td) / abs(a_catch), 0.02)
            self._path.jerk_to(t, 0.0, catch_s, start_accel_cm_s2=a_catch)
            t_catch_end = t + catch_s
        self._path.move_to(t_catch_end, self._double_ml_cm, recentre)
        self._drops.append((t, TOUCH_DOWN_DROP_CM))
        previous = self._stance
        self._stance = "double"
        self._change_regime(t, stance="double")
        self._commit(t, f"touch-down of the {'right' if previous == 'left' else 'left'} foot", t - fall)

    @_locked
    def stumble(self, at_s: float, direction: str = "forward", speed_cm_s: float = 10.0) -> None:
        """A sudden push at ``at_s``: the COM gets ``speed_cm_s`` of velocity in ``direction``
        (forward, backward, left, right), which the balance control then recovers (a large COP
        excursion), and a knee dip makes Fz jump by about ±30 %."""
        t = self._begin(at_s, "stumble")
        axis, sign = STUMBLE_DIRECTIONS[_choice("direction", direction, tuple(STUMBLE_DIRECTIONS))]
        speed = _positive("speed_cm_s", speed_cm_s)
        self._kicks.append((math.ceil(t * GRID_RATE_HZ - 1e-9), axis, sign * speed))
        self._drops.append((t, STUMBLE_DROP_CM))
        self._commit(t, f"stumble {direction} at {speed:g} cm/s")

    @property
    def own_limits(self) -> leaning.OwnLimits:
        """This person's limits of stability (:class:`station.sim.leaning.OwnLimits`, cm of COP from
        the neutral position): seeded fractions of the theoretical limits, within the base of support."""
        if self._own_limits is None:
            self._own_limits = leaning.own_limits(
                self._limit_fractions, self.height_cm, feet_apart_cm=self.feet_apart_cm,
                stance_ap_cm=self.stance_ap_cm, plate_width_cm=self.plate.width_cm, plate_depth_cm=self.plate.depth_cm)
        return self._own_limits

    @property
    def neutral_cm(self) -> tuple[float, float]:
        """The person's neutral (upright, not leaning) mean COP in the plate frame (AP, ML), cm."""
        return (self.stance_ap_cm, self._double_ml_cm)

    def _lean_reaction(self, reaction_s) -> float:
        if reaction_s is not None:
            return _positive("reaction_s", reaction_s, allow_zero=True)
        z = float(self._rng(4, self._leans).standard_normal())
        return max(leaning.MIN_REACTION_S, self.reaction_s * math.exp(leaning.REACTION_LEAN_LN_SD * z))

    def _move(self, go_s: float, to_cm: tuple[float, float], reaction_s, what: str) -> leaning.LeanPlan:
        t = self._begin(go_s, what)
        self._require(t, what, on_plate=True, double=True)
        for name, value in zip(("ap_cm", "ml_cm"), to_cm):
            if not math.isfinite(value):
                raise ValueError(f"{what}: {name} must be a finite number of cm, got {value!r}")
        plan = leaning.plan_lean(t, self._lean_reaction(reaction_s), self._lean_cm, to_cm, self.own_limits,
                                 self.lean_speed_deg_s, COM_HEIGHT_FRACTION * self.height_cm, self._h_over_g_s2)
        duration = plan.move_end_s - plan.move_start_s
        self._path_ap.move_to(plan.move_start_s, plan.held_ap_cm, duration)
        self._path.move_to(plan.move_start_s, self._double_ml_cm + plan.held_ml_cm, duration)
        self._lean_cm = (plan.held_ap_cm, plan.held_ml_cm)
        self._leans += 1
        self.leans.append(plan)
        return plan

    @_locked
    def lean_toward(self, at_s: float, ap_cm: float, ml_cm: float, *, reaction_s: float | None = None) -> leaning.LeanPlan:
        """Lean so that the COP goes to (``ap_cm``, ``ml_cm``) in the plate frame, on a go signal at ``at_s``.

        After a reaction time (this person's typical :attr:`reaction_s`, varying from lean to
        lean, or ``reaction_s``), the COM moves there along a minimum-jerk path and is held while
        the person keeps swaying around it. A point beyond the person's own limits
        (:attr:`own_limits`) is approached along the same direction as far as those limits allow:
        the person falls short of it, holding far enough inside them that only the sway around
        the held point (rarely more than half a cm) can carry the COP past them. Returns the
        :class:`station.sim.leaning.LeanPlan` (when the movement starts and ends, the held point).
        """
        plan = self._move(at_s, (float(ap_cm) - self.stance_ap_cm, float(ml_cm) - self._double_ml_cm),
                          reaction_s, "lean_toward")
        self._commit(plan.go_s, f"lean toward AP {float(ap_cm):+.1f} cm, ML {float(ml_cm):+.1f} cm"
                     f" (held at {plan.held_ap_cm:+.1f}, {plan.held_ml_cm:+.1f} cm from neutral)")
        return plan

    @_locked
    def lean_in_direction(self, at_s: float, direction: str, fraction: float = 1.0, *,
                          reaction_s: float | None = None) -> leaning.LeanPlan:
        """Lean toward an LOS direction (``f``, ``fr``, ``r``, … ``fl``) to ``fraction`` of this
        person's own limit there (1.0: as far as they can), on a go signal at ``at_s``."""
        fraction = _positive("fraction", fraction, allow_zero=True)
        u_ap, u_ml = leaning.direction_vector(direction)
        reach = fraction * self.own_limits.in_direction(direction)
        return self.lean_toward(at_s, self.stance_ap_cm + reach * u_ap, self._double_ml_cm + reach * u_ml,
                                reaction_s=reaction_s)

    @_locked
    def return_to_centre(self, at_s: float, *, reaction_s: float | None = None) -> leaning.LeanPlan:
        """Come back upright to the neutral position, told at ``at_s`` (after a reaction time)."""
        plan = self._move(at_s, (0.0, 0.0), reaction_s, "return_to_centre")
        self._commit(plan.go_s, "return to centre")
        return plan

    def _change_regime(self, t_s: float, **changes: str) -> None:
        """Record a change of vision/surface/stance from ``t_s`` and rebuild the regime list
        (changes may be recorded out of time order, e.g. a condition change during the weight
        transfer that precedes a lifted foot)."""
        index = math.ceil(t_s * GRID_RATE_HZ - 1e-9)
        self._regime_changes.append((index, len(self._regime_changes), changes))
        regime = dict(zip(("vision", "surface", "stance"), self._initial_regime))
        regimes = [(0, self._initial_regime)]
        for index, _, change in sorted(self._regime_changes, key=lambda c: (c[0], c[1])):
            regime.update(change)
            key = (regime["vision"], regime["surface"], regime["stance"])
            if regimes[-1][0] == index:
                regimes[-1] = (index, key)
            else:
                regimes.append((index, key))
        self._regimes = regimes

    def _invalidate(self, from_s: float) -> None:
        first = math.ceil(from_s * GRID_RATE_HZ - 1e-9)
        for k in [k for k in self._states if k * CHUNK_SAMPLES >= first]:
            del self._states[k]
        for k in [k for k in self._chunks if (k + 1) * CHUNK_SAMPLES >= first]:
            del self._chunks[k]
        self._cur = None

    # ------------------------------------------------------------------------------------------
    # Noise levels

    def noise_levels(self, vision: str, surface: str, single_leg: bool = False) -> tuple[NoiseLevels, NoiseLevels]:
        """This subject's (AP, ML) noise levels in a condition."""
        key = (_choice("vision", vision, VISIONS), _choice("surface", surface, SURFACES), "single" if single_leg else "double")
        if key not in self._levels_cache:
            base = NOISE_LEVELS_AP_CM[(self.age_group, key[0], key[1])]
            f = self.subject
            ap = NoiseLevels(base.motor_cm * f.amplitude * f.motor, base.drift_cm * f.amplitude * f.drift)
            ml = ap.scaled(ML_TO_AP_RATIO[key[1]] * self.subject.ml_ratio)
            if single_leg:
                (am, ad), (mm, md) = SINGLE_LEG_FACTORS["ap"], SINGLE_LEG_FACTORS["ml"]
                ap = NoiseLevels(ap.motor_cm * am, ap.drift_cm * ad)
                ml = NoiseLevels(ml.motor_cm * mm, ml.drift_cm * md)
            self._levels_cache[key] = (ap, ml)
        return self._levels_cache[key]

    def _levels_at_index(self, index: int) -> tuple[NoiseLevels, NoiseLevels]:
        i = bisect.bisect_right(self._regimes, index, key=lambda r: r[0]) - 1
        vision, surface, stance = self._regimes[max(i, 0)][1]
        return self.noise_levels(vision, surface, stance == "single")

    # ------------------------------------------------------------------------------------------
    # Generation

    def _rng(self, *key: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=key))

    def _apply_kicks(self, index: int, ap: np.ndarray, ml: np.ndarray) -> None:
        for k_index, axis, dv in self._kicks:
            if k_index == index:
                (ap if axis == 0 else ml)[STATE_V] += dv

    def _start_state(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        if k in self._states:
            return self._states[k]
        if k == 0:
            rng = self._rng(1)
            lev_ap, lev_ml = self._levels_at_index(0)
            ap = self._axis.stationary_state(lev_ap, rng)
            ml = self._axis.stationary_state(lev_ml, rng)
            self._apply_kicks(0, ap, ml)
            self._states[0] = (ap, ml)
            return self._states[0]
        known = max(j for j in self._states if j < k) if any(j < k for j in self._states) else 0
        for j in range(known, k):
            if j + 1 not in self._states:
                self._chunk(j)
        return self._states[k]

    def _chunk(self, k: int) -> _Chunk:
        with self._lock:
            return self._chunk_locked(k)

    def _chunk_locked(self, k: int) -> _Chunk:
        chunk = self._chunks.get(k)
        if chunk is not None:
            self._chunks.move_to_end(k)
            return chunk
        ap_state, ml_state = (s.copy() for s in self._start_state(k))
        n = CHUNK_SAMPLES
        first = k * n
        white = self._rng(2, k).standard_normal((2, 2, n))
        cuts = {r for r, _ in self._regimes if first < r < first + n}
        cuts |= {i for i, _, _ in self._kicks if first < i < first + n}
        out_ap = np.empty((4, n))
        out_ml = np.empty((4, n))
        pos = first
        for end in sorted(cuts) + [first + n]:
            lev_ap, lev_ml = self._levels_at_index(pos)
            a, b = pos - first, end - first
            out_ap[:, a:b], ap_state = self._axis.simulate(ap_state, lev_ap, white[0, :, a:b])
            out_ml[:, a:b], ml_state = self._axis.simulate(ml_state, lev_ml, white[1, :, a:b])
            self._apply_kicks(end, ap_state, ml_state)
            pos = end
        self._states[k + 1] = (ap_state.copy(), ml_state.copy())
        out_ap = np.concatenate([out_ap, self._axis.outputs_of(ap_state)[:, None]], axis=1)
        out_ml = np.concatenate([out_ml, self._axis.outputs_of(ml_state)[:, None]], axis=1)
        t = (first + np.arange(n + 1)) / GRID_RATE_HZ
        chunk = _Chunk(k, self._compose(t, out_ap, out_ml))
        self._chunks[k] = chunk
        while len(self._chunks) > CACHED_CHUNKS:
            self._chunks.popitem(last=False)
        return chunk

    def _compose(self, t: np.ndarray, out_ap: np.ndarray, out_ml: np.ndarray) -> dict[str, np.ndarray]:
        """Plate forces, COP and IMU from the sway outputs and the deterministic parts."""
        g = STANDARD_GRAVITY_M_S2
        s, s1, s2 = self._path.evaluate(t)
        a0, a1, a2 = self._path_ap.evaluate(t)
        com_ap, vel_ap, acc_ap, cop_ap = out_ap
        com_ap, vel_ap, acc_ap = com_ap + a0, vel_ap + a1, acc_ap + a2
        cop_ap = cop_ap + a0 - self._h_over_g_s2 * a2
        com_ml = out_ml[0] + s
        vel_ml = out_ml[1] + s1
        acc_ml = out_ml[2] + s2
        cop_ml = out_ml[3] + s - self._h_over_g_s2 * s2
        cop_ap = cop_ap + self.stance_ap_cm

        # Vertical: knee dips (Gaussian dip of the COM; its second derivative) + pendulum geometry.
        dip_acc = np.zeros_like(t)
        for t0, depth_cm in self._drops:
            u = (t - t0 - 2.0 * DROP_WIDTH_S) / DROP_WIDTH_S
            dip_acc += -(depth_cm / 100.0) * (4.0 * u * u - 2.0) / DROP_WIDTH_S**2 * np.exp(-u * u)
        scale = 1.0 / (100.0 * self.com_height_m)  # cm of COM -> rad of body tilt
        th_ap, om_ap, al_ap = com_ap * scale, vel_ap * scale, acc_ap * scale
        th_ml, om_ml, al_ml = com_ml * scale, vel_ml * scale, acc_ml * scale
        h = self.com_height_m
        com_z_acc = -h * (om_ap**2 + th_ap * al_ap) - h * (om_ml**2 + th_ml * al_ml) + dip_acc

        load, ap, ml = self._plate_envelope(t, cop_ap, cop_ml)
        fz = load * self.mass_kg * (g + com_z_acc)
        fl, fr, bl, br = distribute_to_corners(fz, ap, ml, self.plate.width_cm, self.plate.depth_cm)

        # IMU: a point of the rigid body at imu height, rotation R = R_y(θ_ap)·R_x(θ_ml).
        hi = self.imu_height_m
        acc_x = hi * (al_ap * np.cos(th_ap) - om_ap**2 * np.sin(th_ap))
        acc_y = -hi * (al_ml * np.cos(th_ml) - om_ml**2 * np.sin(th_ml))  # world +y is left
        acc_z = -hi * (al_ap * np.sin(th_ap) + om_ap**2 * np.cos(th_ap))
        acc_z += -hi * (al_ml * np.sin(th_ml) + om_ml**2 * np.cos(th_ml)) + dip_acc
        fx, fy, fzw = acc_x, acc_y, acc_z + g
        cb, sb, cg, sg = np.cos(th_ap), np.sin(th_ap), np.cos(th_ml), np.sin(th_ml)
        bx = cb * fx - sb * fzw  # R_y(β)ᵀ
        bz = sb * fx + cb * fzw
        ax = bx  # R_x(γ)ᵀ
        ay = cg * fy + sg * bz
        az = -sg * fy + cg * bz
        deg = 180.0 / math.pi
        return {
            "fz": fz, "ap": ap, "ml": ml, "fl": fl, "fr": fr, "bl": bl, "br": br,
            "ax": ax, "ay": ay, "az": az,
            "gx": om_ml * deg, "gy": om_ap * cg * deg, "gz": -om_ap * sg * deg,
            "com_ap": com_ap + self.stance_ap_cm, "com_ml": com_ml,
        }  # fmt: skip

    def _plate_envelope(self, t: np.ndarray, cop_ap: np.ndarray, cop_ml: np.ndarray):
        """Fz factor (0..1) and plate COP including stepping on and off."""
        load = np.full(t.shape, 1.0 if self._initially_on_plate else 0.0)
        foot_w = np.zeros(t.shape)  # weight of the foot position against the stance COP
        foot_ml = np.zeros(t.shape)
        for i, (t0, kind, first, d) in enumerate(self._plate_events):
            t_next = self._plate_events[i + 1][0] if i + 1 < len(self._plate_events) else math.inf
            m = (t >= t0) & (t < t_next)
            if not m.any():
                continue
            tau = (t[m] - t0) / d
            if kind == "on":
                load[m] = _smoothstep(tau / _STEP_LOAD_FRACTION)
                foot_w[m] = 1.0 - _smoothstep((tau - _STEP_LOAD_FRACTION) / (1.0 - _STEP_LOAD_FRACTION))
                foot_ml[m] = self._foot_ml(first)
            else:
                last = "right" if first == "left" else "left"
                cut = 1.0 - _STEP_LOAD_FRACTION
                foot_w[m] = _smoothstep(tau / cut)
                load[m] = 1.0 - _smoothstep((tau - cut) / (1.0 - cut))
                foot_ml[m] = self._foot_ml(last)
        ap = cop_ap + foot_w * (self.stance_ap_cm - cop_ap)
        ml = cop_ml + foot_w * (foot_ml - cop_ml)
        return load, ap, ml

    # ------------------------------------------------------------------------------------------
    # LoadSource protocol (scalar, hot path)

    def _locate(self, t_s: float) -> tuple[_Chunk, int, float]:
        c = self._cur
        if c is not None:
            pos = (t_s - c.t0_s) * GRID_RATE_HZ
            if 0.0 <= pos < CHUNK_SAMPLES:
                i = int(pos)
                return c, i, pos - i
        t_s = _time("t_s", t_s)
        k = int(t_s // CHUNK_S)
        pos = (t_s - k * CHUNK_S) * GRID_RATE_HZ
        if pos >= CHUNK_SAMPLES:  # rounding at a chunk boundary
            k += 1
            pos = max(0.0, (t_s - k * CHUNK_S) * GRID_RATE_HZ)
        c = self._chunk(k)
        self._cur = c
        if self._prefetcher is not None:
            self._prefetcher.request(k + 1)
        i = int(pos)
        return c, i, pos - i

    def corner_forces_n(self, t_s: float) -> tuple[float, float, float, float]:
        """Forces on FL, FR, BL, BR in N at ``t_s`` (linear between 1 kHz grid points)."""
        c, i, f = self._locate(t_s)
        fl, fr, bl, br = c.fl, c.fr, c.bl, c.br
        j = i + 1
        return (
            fl[i] + f * (fl[j] - fl[i]),
            fr[i] + f * (fr[j] - fr[i]),
            bl[i] + f * (bl[j] - bl[i]),
            br[i] + f * (br[j] - br[i]),
        )

    def plate_load(self, t_s: float) -> PlateLoad:
        """Fz (N) and COP (cm, plate frame) at ``t_s``; Fz 0 while off the plate."""
        c, i, f = self._locate(t_s)
        fz, ap, ml = c.fz, c.ap, c.ml
        j = i + 1
        return PlateLoad(fz[i] + f * (fz[j] - fz[i]), ap[i] + f * (ap[j] - ap[i]), ml[i] + f * (ml[j] - ml[i]))

    def trunk(self, t_s: float) -> TrunkSample:
        """Specific force (m/s²) and angular rate (deg/s) of the lower-back IMU, IMU frame."""
        c, i, f = self._locate(t_s)
        j = i + 1
        ax, ay, az, gx, gy, gz = c.ax, c.ay, c.az, c.gx, c.gy, c.gz
        return TrunkSample(
            (ax[i] + f * (ax[j] - ax[i]), ay[i] + f * (ay[j] - ay[i]), az[i] + f * (az[j] - az[i])),
            (gx[i] + f * (gx[j] - gx[i]), gy[i] + f * (gy[j] - gy[i]), gz[i] + f * (gz[j] - gz[i])),
        )

    def com_cm(self, t_s: float) -> tuple[float, float]:
        """Ground projection of the COM (AP, ML) in the plate frame, cm."""
        c, i, f = self._locate(t_s)
        ap, ml = c.arrays["com_ap"], c.arrays["com_ml"]
        return (float(ap[i] + f * (ap[i + 1] - ap[i])), float(ml[i] + f * (ml[i + 1] - ml[i])))

    # ------------------------------------------------------------------------------------------
    # Vectorised access (tests, analysis of the truth)

    def sample(self, time_s) -> PersonSamples:
        """All signals at the times ``time_s`` (array, s >= 0), interpolated like the scalar calls."""
        t = np.atleast_1d(np.asarray(time_s, dtype=float))
        if t.ndim != 1 or not np.all(np.isfinite(t)) or (t.size and t.min() < 0):
            raise ValueError("time_s must be a 1-D array of finite times >= 0 s")
        names = ("fz", "ap", "ml", "fl", "fr", "bl", "br", "com_ap", "com_ml", "ax", "ay", "az", "gx", "gy", "gz")
        out = {name: np.empty(t.shape) for name in names}
        # Same arithmetic as the scalar calls (_locate), so both give identical values.
        k_all = (t // CHUNK_S).astype(np.int64)
        k_all += (t - k_all * CHUNK_S) * GRID_RATE_HZ >= CHUNK_SAMPLES
        for k in np.unique(k_all):
            sel = k_all == k
            chunk = self._chunk(int(k))
            p = np.maximum((t[sel] - k * CHUNK_S) * GRID_RATE_HZ, 0.0)
            i = np.minimum(p.astype(np.int64), CHUNK_SAMPLES - 1)
            f = p - i
            for name in names:
                a = chunk.arrays[name]
                out[name][sel] = a[i] + f * (a[i + 1] - a[i])
        return PersonSamples(
            time_s=t,
            fz_n=out["fz"],
            ap_cm=out["ap"],
            ml_cm=out["ml"],
            corners_n=np.vstack([out["fl"], out["fr"], out["bl"], out["br"]]),
            com_ap_cm=out["com_ap"],
            com_ml_cm=out["com_ml"],
            acc_m_s2=np.vstack([out["ax"], out["ay"], out["az"]]),
            gyro_deg_s=np.vstack([out["gx"], out["gy"], out["gz"]]),
        )
