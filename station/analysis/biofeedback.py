"""Biofeedback training games on the force plate: target schedules and scoring from a COP path.

The patient sees the centre of pressure (COP) as a cursor on the tablet and moves it by leaning.
Four games train what the limits-of-stability test measures (:mod:`.limits_of_stability`); all
are scored from the COP path (``time_s``, ``ap_cm``, ``ml_cm``; plate frame of DESIGN.md §4: +AP
toward the toes, +ML toward the person's right) and the game's :class:`Schedule`:

``reach``
    Reach-and-hold targets in all eight directions (``f, fr, r, br, b, bl, l, fl``), in a seeded
    random order (each direction twice). Each target appears after ``rest_s`` at the centre; it is
    *reached* when the COP first comes within the target's radius (the level's, at most half the
    target's distance from the centre, so that no target covers the centre) and *held* when it stays inside for ``hold_s``
    without a break (leaving restarts the hold). A target not held within ``target_timeout_s`` of
    its appearance is a miss.
``track``
    Tracking a target moving along a figure of eight (``ml = A_ml sin(wt + phi)``,
    ``ap = A_ap sin(2(wt + phi))``, one figure every ``period_s``; the AP amplitude is that of
    the forward limit when the target is in front of the centre and of the backward limit
    behind it).
``shift``
    Weight shift toward the paretic side and hold (symmetry training after stroke). Each cycle:
    ``rest_s`` standing evenly, then a window of ``hold_s + SHIFT_REACH_S`` in which the share of
    body weight on the paretic side must enter the band ``band_pct +/- band_half_width_pct`` and
    stay there for ``hold_s``. The share comes from the left/right load when the corner forces are
    given, else from the COP: with the COP computed from the same plate,
    ``right % = 50 + 100 x ml_cm / width_cm`` exactly (DESIGN.md §4:
    ``ML = (width/2)(R - L)/Fz``), ``left % = 100 - right %``.
``steady``
    Steady stance inside a circle around the patient's own centre whose radius shrinks linearly
    from ``radius_start_cm`` to ``radius_end_cm`` over the session.

Every game begins with :data:`BASELINE_S` of quiet standing: the mean COP over it is the
patient's centre, to which targets, the track and the circle are relative (as the start position
of the LOS test; the ankles are not at the plate's centre).

Scaling to the patient
----------------------
Target distances are a percentage (``distance_pct``) of the patient's reach per direction, cm
(:func:`patient_limits_cm`): a clinician's range when one is entered (an explicit choice made on
the tablet), else the maximum excursion of the patient's last LOS test, else the theoretical
limits from the patient's height (:func:`.limits_of_stability.target_distance_cm`).

Per-target measures (``reach`` and ``shift``)
---------------------------------------------
``time_to_reach_s`` (appearance -> first entry), ``time_held_s`` (longest unbroken stay inside,
at most ``hold_s``), ``path_efficiency`` (straight distance between the COP at the target's
appearance and at its first entry, divided by the COP's path length in between; 1 = a straight
line; ``None`` when not reached or when the COP did not move), ``hit`` (held for ``hold_s``).
The path length is that of the COP's means over consecutive :data:`PATH_BLOCK_S` (0.1 s) blocks
from the appearance, closed by the entry point: raw 100 Hz samples would add the sensor noise and
the sway's jitter to the path (a straight lean of 2.4 cm then scores about 0.3 instead of near 1).

Scores (0-100)
--------------
* ``reach``: the mean over the targets shown of ``50 + 50 x path_efficiency`` for a target held
  and 0 for a miss (holding every target along straight lines scores 100).
* ``track``: the percentage of the tracking time with the COP inside the moving target
  (its radius ``radius_cm``); also ``mean_distance_cm`` and ``rms_distance_cm`` to its centre.
* ``shift``: the mean over the cycles of ``100 x min(1, time_held_s / hold_s)``; also
  ``in_band_pct``, the percentage of the shift windows' time in the band.
* ``steady``: the percentage of the time inside the shrinking circle; also
  ``smallest_radius_held_cm``, the smallest radius at which the COP had stayed inside for the
  preceding ``hold_s`` without a break (``None`` if never).

These scores are this project's definitions (stated here and on the tablet): commercial systems
(e.g. NeuroCom's Balance Master training, Biodex's balance games) score their games in their own,
unpublished ways, so no published scale is claimed. Reach-and-hold targets, moving-target
tracking and weight-shift training with visual COP feedback follow the force-plate biofeedback
literature (Zijlstra et al. 2010, a systematic review; weight-shift training after stroke,
Barclay-Goddard et al. 2004, a Cochrane review).

References
----------
Zijlstra A, Mancini M, Chiari L, Zijlstra W (2010). Biofeedback for training balance and mobility
tasks in older populations: a systematic review. J Neuroeng Rehabil 7:58.
Barclay-Goddard R, Stevenson T, Poluha W, Moffatt MEK, Taback SP (2004). Force platform feedback
for standing balance training after stroke. Cochrane Database Syst Rev (4):CD004129.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Mapping, Sequence

import numpy as np

from .limits_of_stability import (
    DIRECTION_VECTORS,
    DIRECTIONS,
    cog_height_cm,
    direction_limits_deg,
    target_distance_cm,
)

GAMES = ("reach", "track", "shift", "steady")
"""The four games, in the order the tablet lists them."""
GAME_TITLES = {
    "reach": "Reach and hold",
    "track": "Track the moving target",
    "shift": "Weight shift and hold",
    "steady": "Steady inside the shrinking circle",
}
LEVELS = (1, 2, 3, 4, 5)
"""Difficulty levels, 1 (easiest) to 5."""
BASELINE_S = 1.0
"""Quiet standing at the start of every game; the mean COP over it is the patient's centre, s."""
SHIFT_REACH_S = 5.0
"""Weight shift: time allowed to reach the band, on top of ``hold_s``, s."""
PATH_BLOCK_S = 0.1
"""Path efficiency: the COP path toward a target is measured over its means in consecutive blocks
of this length, s (so that sensor noise and the sway's jitter at 100 Hz do not count as path)."""
REACH_TIMEOUT_EXTRA_S = 6.0
"""Reach: a target is a miss when not held within ``hold_s`` + this long of its appearance, s."""
SESSION_RANGE_S = (30.0, 1800.0)
"""Allowed session length, s."""
REST_RANGE_S = (0.0, 30.0)
"""Allowed rest between targets or cycles, s."""
RANGE_CM = (1.0, 40.0)
"""Allowed reach per direction (a clinician's range), cm."""

# Per level: the values that make a game harder (module docstring). Distances are % of the reach;
# the weight-shift band always lies above an even stance (its lower edge above 50 %).
LEVEL_TABLE: dict[str, dict[str, tuple[float, ...]]] = {
    "reach": {"distance_pct": (40, 55, 70, 85, 100), "radius_cm": (3.0, 2.5, 2.0, 1.6, 1.3),
              "hold_s": (1.0, 1.5, 2.0, 2.5, 3.0)},
    "track": {"distance_pct": (40, 50, 60, 70, 80), "radius_cm": (3.0, 2.5, 2.0, 1.6, 1.3),
              "period_s": (24.0, 20.0, 16.0, 13.0, 10.0)},
    "shift": {"band_pct": (60, 62, 65, 68, 70), "band_half_width_pct": (5.0, 4.5, 4.0, 3.5, 3.0),
              "hold_s": (3.0, 5.0, 8.0, 10.0, 15.0)},
    "steady": {"radius_start_cm": (4.0, 3.5, 3.0, 2.5, 2.0), "radius_end_cm": (1.6, 1.3, 1.0, 0.8, 0.6),
               "hold_s": (2.0, 2.0, 3.0, 3.0, 4.0)},
}
DEFAULT_SESSION_S = {"reach": 120.0, "track": 60.0, "shift": 120.0, "steady": 60.0}
DEFAULT_REST_S = {"reach": 1.5, "track": 0.0, "shift": 3.0, "steady": 0.0}
SCORE_DEFINITIONS = {
    "reach": "Mean over the targets shown: a target held scores 50 + 50 x path efficiency "
             "(straight distance / path length), a miss 0.",
    "track": "Percentage of the time with the cursor inside the moving target.",
    "shift": "Mean over the cycles of 100 x (time held in the band / hold time), at most 100 per cycle.",
    "steady": "Percentage of the time with the cursor inside the shrinking circle.",
}
"""The score of each game in one sentence (shown on the tablet beside the score)."""


class GameError(ValueError):
    """The game's settings or the COP path cannot be used; the message says why (one line)."""


def _positive(value, name: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not lo <= value <= hi:
        raise GameError(f"{name}: {value!r} is out of range; allowed: {lo:g} to {hi:g}")
    return float(value)


def patient_limits_cm(*, clinician_range_cm: float | Mapping[str, float] | None = None,
                      los_max_excursion_pct: Mapping[str, float | None] | None = None,
                      height_cm: float | None = None) -> tuple[dict[str, float], str]:
    """The patient's reach in each of the eight directions, cm, and where it came from.

    Parameters
    ----------
    clinician_range_cm : float or mapping, optional
        A clinician's range: one distance for every direction, or one per direction (all eight).
        Used when given.
    los_max_excursion_pct : mapping, optional
        The last LOS test's ``los_max_excursion_pct_<dir>`` values (% of the theoretical limit,
        keys ``f`` ... ``fl`` or the full metric keys); needs ``height_cm``. A direction without a
        value takes its theoretical limit.
    height_cm : float, optional
        Body height, cm: theoretical limits (8° forward, 4.5° backward, 8° to the sides about the
        ankles, COG at 0.5527 x height; :mod:`.limits_of_stability`).

    Returns
    -------
    (dict, str)
        Reach per direction, cm, and the source: ``"clinician"``, ``"los"`` or ``"height"``.

    Examples
    --------
    >>> reach, source = patient_limits_cm(height_cm=170.0)
    >>> source, round(reach["f"], 2), round(reach["b"], 2)
    ('height', 13.21, 7.39)
    >>> reach, source = patient_limits_cm(los_max_excursion_pct={"f": 50.0}, height_cm=170.0)
    >>> source, round(reach["f"], 2), round(reach["r"], 2)
    ('los', 6.57, 13.21)
    >>> patient_limits_cm(clinician_range_cm=10.0)[0]["bl"]
    10.0
    """
    if clinician_range_cm is not None:
        if isinstance(clinician_range_cm, Mapping):
            missing = [d for d in DIRECTIONS if d not in clinician_range_cm]
            if missing:
                raise GameError(f"clinician range: no distance for direction {missing[0]!r}; give all eight or one number")
            values = {d: _positive(clinician_range_cm[d], f"clinician range {d}", *RANGE_CM) for d in DIRECTIONS}
        else:
            one = _positive(clinician_range_cm, "clinician range", *RANGE_CM)
            values = {d: one for d in DIRECTIONS}
        return values, "clinician"
    if height_cm is None:
        raise GameError("no reach for the targets: enter the patient's height, run a limits-of-stability test, "
                        "or give a range in cm")
    height = _positive(height_cm, "height_cm", 80.0, 250.0)
    theoretical = target_distance_cm(height)
    if not los_max_excursion_pct:
        return theoretical, "height"
    h = cog_height_cm(height)
    limits = direction_limits_deg()
    values = {}
    used = False
    for d in DIRECTIONS:
        pct = los_max_excursion_pct.get(d, los_max_excursion_pct.get(f"los_max_excursion_pct_{d}"))
        if pct is None or isinstance(pct, bool) or not isinstance(pct, (int, float)) or not math.isfinite(pct) or pct <= 0:
            values[d] = theoretical[d]
            continue
        used = True
        values[d] = h * math.tan(math.radians(limits[d] * float(pct) / 100.0))
    return (values, "los") if used else (theoretical, "height")


@dataclass(frozen=True)
class Target:
    """One target of ``reach`` (a direction and its centre, cm from the patient's centre) or one
    cycle of ``shift`` (``direction`` is the paretic side, ``l`` or ``r``; centre at the band's
    middle expressed as ML cm when the plate width is known)."""

    direction: str
    ap_cm: float
    ml_cm: float
    radius_cm: float = 0.0
    """``reach``: this target's radius, cm (the level's, at most half the target's distance)."""


@dataclass(frozen=True)
class Schedule:
    """Everything a game needs to run and to be scored again later (stored with the session).

    Built by :func:`make_schedule`; ``to_dict``/``from_dict`` for storage. Lengths in cm, times in
    s from the start of the game (its first frame), percentages of body weight in %.
    """

    game: str
    level: int
    seed: int
    session_s: float
    rest_s: float
    reach_cm: dict[str, float]
    reach_source: str
    radius_cm: float = 0.0
    hold_s: float = 0.0
    distance_pct: float = 0.0
    targets: tuple[Target, ...] = ()
    period_s: float = 0.0
    phase_rad: float = 0.0
    paretic_side: str = ""
    band_pct: float = 0.0
    band_half_width_pct: float = 0.0
    plate_width_cm: float = 0.0
    radius_start_cm: float = 0.0
    radius_end_cm: float = 0.0
    baseline_s: float = BASELINE_S
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        doc = asdict(self)
        doc["targets"] = [asdict(t) for t in self.targets]
        return doc

    @classmethod
    def from_dict(cls, doc: Mapping) -> "Schedule":
        """The schedule stored by :meth:`to_dict`.

        >>> s = make_schedule("reach", 1, {d: 10.0 for d in DIRECTIONS}, seed=3)
        >>> Schedule.from_dict(s.to_dict()) == s
        True
        """
        data = dict(doc)
        data["targets"] = tuple(Target(**t) for t in data.get("targets", ()))
        return cls(**data)

    @property
    def title(self) -> str:
        return GAME_TITLES[self.game]

    def track_position(self, t_s: float) -> tuple[float, float]:
        """Centre of the moving target (``track``) at ``t_s`` s into the game, cm from the centre."""
        tau = max(0.0, t_s - self.baseline_s)
        w = 2.0 * math.pi / self.period_s
        s_ml = math.sin(w * tau + self.phase_rad)
        s_ap = math.sin(2.0 * (w * tau + self.phase_rad))
        amp_ml = self.reach_cm["r" if s_ml >= 0 else "l"] * self.distance_pct / 100.0
        amp_ap = self.reach_cm["f" if s_ap >= 0 else "b"] * self.distance_pct / 100.0
        return amp_ap * s_ap, amp_ml * s_ml

    def circle_radius_cm(self, t_s: float) -> float:
        """Radius of the circle (``steady``) at ``t_s`` s into the game, cm."""
        span = max(self.session_s - self.baseline_s, 1e-9)
        frac = min(1.0, max(0.0, (t_s - self.baseline_s) / span))
        return self.radius_start_cm - (self.radius_start_cm - self.radius_end_cm) * frac


def make_schedule(game: str, level: int, reach_cm: Mapping[str, float], *, seed: int,
                  session_s: float | None = None, rest_s: float | None = None, reach_source: str = "clinician",
                  paretic_side: str | None = None, plate_width_cm: float | None = None) -> Schedule:
    """The game's schedule: targets and settings from the level, scaled to the patient's reach.

    Parameters
    ----------
    game : str
        One of :data:`GAMES`.
    level : int
        1 (easiest) to 5 (:data:`LEVEL_TABLE`).
    reach_cm : mapping
        The patient's reach per direction, cm (:func:`patient_limits_cm`).
    seed : int
        Seeds the target order (``reach``) and the direction of travel (``track``): the same seed
        gives the same game.
    session_s, rest_s : float, optional
        Session length and rest between targets (cycles), s; defaults per game
        (:data:`DEFAULT_SESSION_S`, :data:`DEFAULT_REST_S`).
    paretic_side : {"left", "right"}
        ``shift`` only: the side the weight is shifted to.
    plate_width_cm : float
        ``shift`` only: distance between the left and right load cells, cm (weight share from the
        COP).

    Examples
    --------
    >>> reach = {d: 10.0 for d in DIRECTIONS}
    >>> s = make_schedule("reach", 3, reach, seed=1)
    >>> len(s.targets), s.hold_s, s.radius_cm, round(math.hypot(s.targets[0].ap_cm, s.targets[0].ml_cm), 6)
    (16, 2.0, 2.0, 7.0)
    >>> sorted({t.direction for t in s.targets}) == sorted(DIRECTIONS)
    True
    >>> make_schedule("shift", 2, reach, seed=1, paretic_side="left", plate_width_cm=40.0).band_pct
    62.0
    """
    if game not in GAMES:
        raise GameError(f"game {game!r} is unknown; allowed: {', '.join(GAMES)}")
    if isinstance(level, bool) or level not in LEVELS:
        raise GameError(f"level {level!r} is out of range; allowed: 1 to 5")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise GameError(f"seed must be an integer, not {seed!r}")
    missing = [d for d in DIRECTIONS if d not in reach_cm]
    if missing:
        raise GameError(f"reach: no distance for direction {missing[0]!r}")
    reach = {d: _positive(reach_cm[d], f"reach {d}", *RANGE_CM) for d in DIRECTIONS}
    session = _positive(DEFAULT_SESSION_S[game] if session_s is None else session_s, "session_s", *SESSION_RANGE_S)
    rest = _positive(DEFAULT_REST_S[game] if rest_s is None else rest_s, "rest_s", *REST_RANGE_S)
    row = {k: float(v[level - 1]) for k, v in LEVEL_TABLE[game].items()}
    rng = np.random.default_rng(seed)
    common = dict(game=game, level=level, seed=seed, session_s=session, rest_s=rest, reach_cm=reach,
                  reach_source=reach_source)
    if game == "reach":
        order = [d for _ in range(2) for d in rng.permutation(DIRECTIONS).tolist()]
        targets = tuple(Target(d, DIRECTION_VECTORS[d][0] * reach[d] * row["distance_pct"] / 100.0,
                               DIRECTION_VECTORS[d][1] * reach[d] * row["distance_pct"] / 100.0,
                               min(row["radius_cm"], 0.5 * reach[d] * row["distance_pct"] / 100.0)) for d in order)
        return Schedule(**common, radius_cm=row["radius_cm"], hold_s=row["hold_s"],
                        distance_pct=row["distance_pct"], targets=targets)
    if game == "track":
        return Schedule(**common, radius_cm=row["radius_cm"], distance_pct=row["distance_pct"],
                        period_s=row["period_s"], phase_rad=float(rng.choice([0.0, math.pi])))
    if game == "shift":
        if paretic_side not in ("left", "right"):
            raise GameError(f"paretic_side {paretic_side!r}: choose 'left' or 'right' (the side to shift the weight to)")
        width = _positive(plate_width_cm, "plate_width_cm", 10.0, 200.0)
        sign = 1.0 if paretic_side == "right" else -1.0
        centre_ml = sign * (row["band_pct"] - 50.0) / 100.0 * width
        cycle_s = rest + row["hold_s"] + SHIFT_REACH_S
        cycles = max(1, int((session - BASELINE_S) // cycle_s))
        targets = tuple(Target(paretic_side[0], 0.0, centre_ml) for _ in range(cycles))
        return Schedule(**common, hold_s=row["hold_s"], paretic_side=paretic_side, band_pct=row["band_pct"],
                        band_half_width_pct=row["band_half_width_pct"], plate_width_cm=width, targets=targets)
    return Schedule(**common, hold_s=row["hold_s"], radius_start_cm=row["radius_start_cm"],
                    radius_end_cm=row["radius_end_cm"])


def paretic_load_pct(side: str, *, ml_cm=None, plate_width_cm: float | None = None, corners_n=None) -> np.ndarray:
    """Share of body weight on the paretic side, %: from the corner forces when given (shape (N, 4),
    columns FL, FR, BL, BR, N), else from the COP's ML position and the plate's width.

    Examples
    --------
    >>> paretic_load_pct("right", ml_cm=np.array([0.0, 4.0]), plate_width_cm=40.0)
    array([50., 60.])
    >>> paretic_load_pct("left", corners_n=np.array([[200.0, 100.0, 200.0, 100.0]]))
    array([66.66666667])
    """
    if side not in ("left", "right"):
        raise GameError(f"side {side!r}: choose 'left' or 'right'")
    if corners_n is not None:
        c = np.asarray(corners_n, dtype=float)
        if c.ndim != 2 or c.shape[1] != 4:
            raise GameError(f"corners_n must have shape (N, 4) (FL, FR, BL, BR), not {c.shape}")
        total = c.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            right = 100.0 * (c[:, 1] + c[:, 3]) / total
    else:
        if ml_cm is None or plate_width_cm is None or not plate_width_cm > 0:
            raise GameError("the weight share needs the corner forces, or the COP's ML position and the plate width")
        right = 50.0 + 100.0 * np.asarray(ml_cm, dtype=float) / float(plate_width_cm)
    return right if side == "right" else 100.0 - right


class Game:
    """A game being played: fed the COP sample by sample (live on the station, or all at once to
    score a recording), it keeps the state the tablet draws and the measures the score comes from.

    Parameters
    ----------
    schedule : Schedule

    Notes
    -----
    :meth:`feed` takes samples oldest first with ``time_s`` from the start of the game;
    :meth:`state` is the live state (JSON-ready); :meth:`result` the measures and score so far
    (the final ones once the session is over, :attr:`over`).

    Examples
    --------
    >>> s = make_schedule("steady", 1, {d: 10.0 for d in DIRECTIONS}, seed=0, session_s=30.0)
    >>> g = Game(s)
    >>> t = np.arange(0, 30.5, 0.01)
    >>> g.feed(t, np.zeros_like(t), np.zeros_like(t))
    >>> g.over, g.result()["score"]
    (True, 100.0)
    """

    def __init__(self, schedule: Schedule) -> None:
        self.s = schedule
        self.over = False
        self._base_sum = np.zeros(2)
        self._base_n = 0
        self.centre: tuple[float, float] | None = None
        self._t = None
        self._p = None
        self._inside_s = 0.0
        self._scored_s = 0.0
        self._sq_sum = 0.0
        self._dist_sum = 0.0
        self._n_scored = 0
        self._run_start: float | None = None
        self._smallest_held: float | None = None
        self._records: list[dict] = []
        self._k = -1  # current target / cycle
        self._phase = "baseline"
        self._phase_start = 0.0
        self._cur: dict | None = None
        self._path = 0.0
        self._band_s = 0.0
        self._window_s = 0.0
        self._last = None  # (t, ap, ml, inside) of the latest sample
        self._dt = None

    # -- feeding -------------------------------------------------------------------------------
    def feed(self, time_s, ap_cm, ml_cm, paretic_pct=None) -> None:
        """Advance the game with samples (s, cm, cm; ``paretic_pct``: the weight share on the paretic
        side, %, for ``shift`` when the corner forces are known; else it comes from ``ml_cm``)."""
        t = np.asarray(time_s, dtype=float)
        ap = np.asarray(ap_cm, dtype=float)
        ml = np.asarray(ml_cm, dtype=float)
        if not (t.shape == ap.shape == ml.shape) or t.ndim != 1:
            raise GameError(f"time_s, ap_cm and ml_cm must be 1-D arrays of one length, not {t.shape}, {ap.shape}, {ml.shape}")
        if len(t) and (not np.isfinite(t).all() or (len(t) > 1 and np.any(np.diff(t) <= 0))
                       or (self._last is not None and t[0] <= self._last[0])):
            raise GameError("time_s must be finite and increasing")
        if self.s.game == "shift":
            share = (paretic_load_pct(self.s.paretic_side, ml_cm=ml, plate_width_cm=self.s.plate_width_cm)
                     if paretic_pct is None else np.asarray(paretic_pct, dtype=float))
            if share.shape != t.shape:
                raise GameError("paretic_pct must have one value per sample")
        else:
            share = None
        for i in range(len(t)):
            if self.over:
                return
            ti = float(t[i])
            if self._last is not None:
                self._dt = ti - self._last[0]
            if ti >= self.s.session_s:
                self._end()
                return
            a, m = float(ap[i]), float(ml[i])
            if not (math.isfinite(a) and math.isfinite(m)):
                self._last = (ti, self._last[1] if self._last else 0.0, self._last[2] if self._last else 0.0, False)
                continue  # no COP (nobody on the plate): time passes, nothing is inside
            if self.centre is None:
                if ti < self.s.baseline_s:
                    self._base_sum += (a, m)
                    self._base_n += 1
                    self._last = (ti, a, m, False)
                    continue
                if self._base_n == 0:
                    self._base_sum += (a, m)
                    self._base_n = 1
                c = self._base_sum / self._base_n
                self.centre = (float(c[0]), float(c[1]))
                self._start_phase(ti)
            x, y = a - self.centre[0], m - self.centre[1]
            getattr(self, f"_step_{self.s.game}")(ti, x, y, None if share is None else float(share[i]))
            self._last = (ti, x, y, self._last[3] if self._last else False)

    def finish(self) -> None:
        """End the game now (the session's time is up or the clinician stopped it)."""
        self._end()

    # -- per game ------------------------------------------------------------------------------
    def _start_phase(self, t: float) -> None:
        if self.s.game in ("reach", "shift"):
            self._next_target(t)
        else:
            self._phase = "playing"
            self._phase_start = t

    def _next_target(self, t: float) -> None:
        self._k += 1
        if self._k >= len(self.s.targets):
            self._end()
            return
        self._phase = "rest" if self.s.rest_s > 0 else "target"
        self._phase_start = t
        self._cur = None
        if self._phase == "target":
            self._show(t, None)

    def _show(self, t: float, pos) -> None:
        self._phase = "target"
        self._phase_start = t
        self._cur = {"index": self._k, "direction": self.s.targets[self._k].direction,
                     "shown_s": round(t, 3), "time_to_reach_s": None, "time_held_s": 0.0,
                     "path_efficiency": None, "hit": False, "_start": pos, "_in_since": None}
        self._path = 0.0
        self._point = pos
        self._block = [0.0, 0.0, 0, t]  # sums of x and y, samples, start time of the block

    def _inside_target(self, x: float, y: float, share: float | None) -> bool:
        if self.s.game == "shift":
            return share is not None and abs(share - self.s.band_pct) <= self.s.band_half_width_pct
        tg = self.s.targets[self._k]
        return math.hypot(x - tg.ap_cm, y - tg.ml_cm) <= (tg.radius_cm or self.s.radius_cm)

    def _timeout_s(self) -> float:
        return self.s.hold_s + (REACH_TIMEOUT_EXTRA_S if self.s.game == "reach" else SHIFT_REACH_S)

    def _step_target_game(self, t: float, x: float, y: float, share: float | None) -> None:
        if self._phase == "rest":
            if t - self._phase_start >= self.s.rest_s:
                self._show(t, (x, y))
            return
        cur = self._cur
        if cur["_start"] is None:
            cur["_start"] = self._point = (x, y)
            self._block = [0.0, 0.0, 0, t]
        inside = self._inside_target(x, y, share)
        if cur["time_to_reach_s"] is None:
            self._track_path(t, x, y, entering=inside)
        dt = self._dt or 0.0
        if self.s.game == "shift":
            self._window_s += dt
            if inside:
                self._band_s += dt
        if inside:
            if cur["time_to_reach_s"] is None:
                cur["time_to_reach_s"] = round(t - self._phase_start, 3)
                straight = math.hypot(x - cur["_start"][0], y - cur["_start"][1])
                # (self._path was closed at this entry point by _track_path)
                cur["path_efficiency"] = round(min(1.0, straight / self._path), 4) if self._path > 1e-9 else None
            if cur["_in_since"] is None:
                cur["_in_since"] = t
            held = t - cur["_in_since"]
            cur["time_held_s"] = round(max(cur["time_held_s"], min(held, self.s.hold_s)), 3)
            if held >= self.s.hold_s - 1e-9:
                cur["hit"] = True
                self._close_target(t)
                return
        else:
            cur["_in_since"] = None
        if t - self._phase_start >= self._timeout_s():
            self._close_target(t)

    def _track_path(self, t: float, x: float, y: float, entering: bool) -> None:
        """Path length toward the target over block means of :data:`PATH_BLOCK_S`, closed at the
        entry point (module docstring)."""
        b = self._block
        if t - b[3] >= PATH_BLOCK_S - 1e-9:
            if b[2]:
                mean = (b[0] / b[2], b[1] / b[2])
                self._path += math.hypot(mean[0] - self._point[0], mean[1] - self._point[1])
                self._point = mean
            self._block = b = [0.0, 0.0, 0, t]
        if entering:
            if b[2]:
                mean = (b[0] / b[2], b[1] / b[2])
                self._path += math.hypot(mean[0] - self._point[0], mean[1] - self._point[1])
                self._point = mean
            self._path += math.hypot(x - self._point[0], y - self._point[1])
            return
        b[0] += x
        b[1] += y
        b[2] += 1

    def _close_target(self, t: float) -> None:
        cur = self._cur
        if cur is None:
            return
        tg = self.s.targets[cur["index"]]
        self._records.append({k: v for k, v in cur.items() if not k.startswith("_")}
                             | {"target_ap_cm": round(tg.ap_cm, 3), "target_ml_cm": round(tg.ml_cm, 3),
                                "closed_s": round(t, 3)})
        self._cur = None
        self._next_target(t)

    _step_reach = _step_target_game
    _step_shift = _step_target_game

    def _step_track(self, t: float, x: float, y: float, share) -> None:
        ap, ml = self.s.track_position(t)
        d = math.hypot(x - ap, y - ml)
        self._n_scored += 1
        self._dist_sum += d
        self._sq_sum += d * d
        if d <= self.s.radius_cm:
            self._inside_s += 1
        self._scored_s += 1

    def _step_steady(self, t: float, x: float, y: float, share) -> None:
        r = self.s.circle_radius_cm(t)
        self._scored_s += 1
        if math.hypot(x, y) <= r:
            self._inside_s += 1
            if self._run_start is None:
                self._run_start = t
            if t - self._run_start >= self.s.hold_s - 1e-9:
                self._smallest_held = r if self._smallest_held is None else min(self._smallest_held, r)
        else:
            self._run_start = None

    def _end(self) -> None:
        if self.over:
            return
        if self._cur is not None:
            self._close_target(self._last[0] if self._last else 0.0)
        self._k = len(self.s.targets)
        self._cur = None
        self.over = True
        self._phase = "over"

    # -- what it shows ---------------------------------------------------------------------------
    def state(self) -> dict:
        """The live state for the tablet: phase, the current target (cm from the plate origin), the
        cursor (cm, plate frame), and the score so far."""
        s = self.s
        c = self.centre or (0.0, 0.0)
        last = self._last
        doc = {"game": s.game, "phase": self._phase, "time_s": round(last[0], 3) if last else 0.0,
               "session_s": s.session_s, "centre": [round(c[0], 3), round(c[1], 3)],
               "score": self.result()["score"]}
        if s.game in ("reach", "shift"):
            doc["targets_done"] = len(self._records)
            doc["targets_total"] = len(s.targets)
            doc["hits"] = sum(1 for r in self._records if r["hit"])
            if self._cur is not None:
                tg = s.targets[self._cur["index"]]
                # weight shift: the band's middle as the COP's ML on the plate (the share is absolute)
                ml_cm = tg.ml_cm if s.game == "shift" else c[1] + tg.ml_cm
                doc["target"] = {"index": self._cur["index"], "direction": tg.direction,
                                 "shown_s": self._cur["shown_s"],
                                 "ap_cm": round(c[0] + tg.ap_cm, 3), "ml_cm": round(ml_cm, 3),
                                 "radius_cm": tg.radius_cm or s.radius_cm,
                                 "reached": self._cur["time_to_reach_s"] is not None,
                                 "inside": self._cur["_in_since"] is not None,
                                 "held_s": self._cur["time_held_s"], "hold_s": s.hold_s}
                if s.game == "shift":
                    lo = s.band_pct - s.band_half_width_pct
                    hi = s.band_pct + s.band_half_width_pct
                    sign = 1.0 if s.paretic_side == "right" else -1.0
                    doc["target"].update(band_pct=[lo, hi], paretic_side=s.paretic_side,
                                         band_ml_cm=sorted([round(sign * (p - 50.0) / 100.0 * s.plate_width_cm, 3)
                                                            for p in (lo, hi)]))
        elif s.game == "track" and self.centre is not None and last is not None:
            ap, ml = s.track_position(last[0])
            doc["target"] = {"ap_cm": round(c[0] + ap, 3), "ml_cm": round(c[1] + ml, 3), "radius_cm": s.radius_cm}
        elif s.game == "steady" and last is not None:
            doc["target"] = {"ap_cm": round(c[0], 3), "ml_cm": round(c[1], 3),
                             "radius_cm": round(s.circle_radius_cm(last[0]), 3)}
        return doc

    def result(self) -> dict:
        """Measures and score 0-100 (module docstring); ``targets`` per target for ``reach``/``shift``."""
        s = self.s
        out: dict = {"game": s.game, "level": s.level, "score_definition": SCORE_DEFINITIONS[s.game]}
        if s.game in ("reach", "shift"):
            records = list(self._records)
            out["targets"] = records
            out["targets_shown"] = len(records)
            out["hits"] = sum(1 for r in records if r["hit"])
            if s.game == "reach":
                points = [50.0 + 50.0 * (r["path_efficiency"] if r["path_efficiency"] is not None else 1.0)
                          if r["hit"] else 0.0 for r in records]
            else:
                points = [100.0 * min(1.0, r["time_held_s"] / s.hold_s) for r in records]
                out["in_band_pct"] = round(100.0 * self._band_s / self._window_s, 2) if self._window_s > 0 else None
            out["score"] = round(float(np.mean(points)), 1) if points else None
            reached = [r["time_to_reach_s"] for r in records if r["time_to_reach_s"] is not None]
            eff = [r["path_efficiency"] for r in records if r["path_efficiency"] is not None]
            out["mean_time_to_reach_s"] = round(float(np.mean(reached)), 3) if reached else None
            out["mean_path_efficiency"] = round(float(np.mean(eff)), 4) if eff else None
        elif s.game == "track":
            n = self._n_scored
            out["inside_pct"] = round(100.0 * self._inside_s / n, 2) if n else None
            out["mean_distance_cm"] = round(self._dist_sum / n, 3) if n else None
            out["rms_distance_cm"] = round(math.sqrt(self._sq_sum / n), 3) if n else None
            out["score"] = round(out["inside_pct"], 1) if n else None
        else:
            n = self._scored_s
            out["inside_pct"] = round(100.0 * self._inside_s / n, 2) if n else None
            out["smallest_radius_held_cm"] = round(self._smallest_held, 3) if self._smallest_held is not None else None
            out["score"] = round(out["inside_pct"], 1) if n else None
        return out


def score_game(schedule: Schedule, time_s, ap_cm, ml_cm, *, corners_n=None) -> dict:
    """Play a recorded COP path through the game and return its measures and score (0-100).

    Parameters
    ----------
    schedule : Schedule
    time_s : array_like
        Sample times from the start of the game, s (increasing).
    ap_cm, ml_cm : array_like
        COP in the plate frame, cm.
    corners_n : array_like, optional
        ``shift``: corner forces (N, 4: FL, FR, BL, BR), N, for the weight share; else from ML.

    Returns
    -------
    dict
        :meth:`Game.result` at the end of the session (or of the path, if shorter).

    Examples
    --------
    Five targets held after straight moves score 100 each; a sixth, shown when the path ends,
    is a miss (0): the score is (5 x 100 + 0) / 6.

    >>> reach = {d: 10.0 for d in DIRECTIONS}
    >>> s = make_schedule("reach", 1, reach, seed=5, session_s=60.0, rest_s=0.0)
    >>> t = np.arange(0, 60.0, 0.01)
    >>> ap = np.zeros_like(t); ml = np.zeros_like(t)
    >>> for k, tg in enumerate(s.targets[:5]):
    ...     on = (t >= 1.0 + 2.0 * k) & (t < 3.0 + 2.0 * k)
    ...     ap[on], ml[on] = tg.ap_cm, tg.ml_cm
    >>> r = score_game(s, t[t < 11.0], ap[t < 11.0], ml[t < 11.0])
    >>> r["targets_shown"], r["hits"], r["score"]
    (6, 5, 83.3)
    """
    t = np.asarray(time_s, dtype=float)
    ap = np.asarray(ap_cm, dtype=float)
    ml = np.asarray(ml_cm, dtype=float)
    if t.ndim != 1 or len(t) < 2:
        raise GameError("a COP path needs at least two samples (time_s, ap_cm, ml_cm)")
    if not (t.shape == ap.shape == ml.shape):
        raise GameError(f"time_s, ap_cm and ml_cm must have one length, not {len(t)}, {ap.size}, {ml.size}")
    share = None
    if corners_n is not None and schedule.game == "shift":
        share = paretic_load_pct(schedule.paretic_side, corners_n=corners_n)
        if len(share) != len(t):
            raise GameError("corners_n must have one row per sample")
    game = Game(schedule)
    game.feed(t, ap, ml, share)
    game.finish()
    return game.result()
