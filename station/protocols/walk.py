"""Walk tests: one trial timed by the light gates (overground) or measured by the lower-back IMU
(treadmill), with the gait of DESIGN.md §8.

::

    instructions --confirm--> waiting --beams clear 1 s (and IMU data)--> countdown --go beep--> recording
         |                       ^                                  |                         |
         +------stop-------------+------- beam broken (false start) +     last timing gate passed + 2 s,
         v                                                                 time limit, planned minutes,
      aborted <------------------------------ stop ---------------------  stop, no data, the patient
                                                                           stopped (overground)
                                                                                              v
                                                                          checking --> done (result)

:class:`WalkMachine` has the interface of :class:`station.protocols.machine.TrialMachine` (the
protocol runner drives either) and the same states, so followers need nothing new but the walk
events (``gates``, ``gate_crossed``, ``false_start``, ``cadence``; see docs/api.md).

Timing (overground): a static start is timed from the go beep (the end of the countdown, on the
station clock) to the first beam break at ``timed_to_m``; a flying start between the first beam
breaks at ``timed_from_m`` and ``timed_to_m``. Beam breaks come from
:class:`station.hw.gates.GateArray`: the pin driver's timestamps, one crossing per pass.

Gait: the recording's IMU samples are rotated to the body frame
(:func:`station.analysis.imu_frame.align_to_body`, mounting from the configuration) and analysed
with :func:`station.analysis.gait.gait_metrics` (and :func:`~station.analysis.gait.gait_by_minute`
on the treadmill); initial contacts are reported in s after the go. Lost IMU frames are never
closed up: the samples go back on the frame grid (:func:`station.analysis.imu_gaps.bridge_gaps`),
gaps up to 0.1 s are interpolated and counted (``imu_bridged_frames``, a warning;
:data:`MAX_IMU_MISSING_FRACTION`); on the treadmill and overground alike the walk is measured in the
parts between longer gaps (:mod:`station.protocols.walk_parts`: the time not measured said as
"0.3 s not measured (1 sensor dropout)", the gait refused with where and what was missing when less
than half of the recording was measured in parts of 2 s or more); overground the light gates time
the walk either way, and no stop is read into a gap (``person_stopped`` counts only stretches
without a step inside one part).

Quality: ``false_start`` (a beam broken during the countdown: the station waits again), and for a
recorded trial ``gate_not_reached``, ``person_stopped`` (no step for :data:`STOPPED_S` before the
last timing gate), ``gate_missed`` (a later gate saw the patient, an earlier one did not),
``gate_order`` (the gates were passed in the wrong order), ``operator_stop``, ``no_data``; an
overground attempt whose patient walked and then made no step for :data:`STOPPED_END_S` ends there
(``person_stopped``) rather than at the time limit; the IMU
``imu_missing`` / ``imu_misaligned`` / ``too_short`` (under :data:`MIN_GAIT_S` recorded) make a treadmill session
invalid and leave an overground test valid (timed by the gates) without gait measures, with a warning.

The station's data stopping: every walk test waits out a stall of the acquisition up to
:data:`STALL_LIMIT_S` (said live, a ``notice`` after the protocol's ``no_frames_timeout_s`` without
frames and another when they come again). The frames of that time come back lost (a gap in
``seq``): time not measured (``imu_stalls``), the walk measured in the parts either side as for any
IMU gap too long to bridge; overground the light gates, on their own timestamps, still time the
walk. The end of a trial (the last
timing gate + :data:`SETTLE_S`, the time limit, the planned minutes) that passes on the station
clock while nothing comes ends the trial there with what was recorded (a warning names the time
lost at its end). Nothing for longer than the limit, or an acquisition that restarted (its ``seq``
starts again), ends the trial there: valid with what was measured before and a warning (``end_reason``
``data_lost``: the treadmill's minutes walked, the gates' time of a walk already timed), invalid
(``no_data``) when nothing could be measured. The same ends a treadmill session whose lower-back
sensor sent nothing for :data:`IMU_GONE_END_S` while the frames came (``imu_missing`` when nothing
could be measured before).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from station.acquire.frame import FRAME_DTYPE, IMU_FIELDS, periods_after_go
from station.acquire.source import no_frames_words
from station.protocols.events import EventBus
from station.protocols.machine import SHUTDOWN_WORDS, TrialPlan, TrialResult, TrialState, stop_issue
from station.protocols.quality import QualityIssue
from station.protocols.schema import PLANNED_MIN_RANGE
from station.analysis.imu_gaps import MAX_BRIDGE_S
from station.protocols.walk_parts import HELD_UP, not_measured_words, still_stretches
from station.protocols.walk_words import WALK_NOT_COMPLETED, imu_gaps_summary, walk_not_completed, walked_words

SETTLE_S = 2.0
"""Recording goes on this long after the last timing gate (the last steps for the gait), s."""
CLEAR_S = 1.0
"""The beams must stay clear this long before the countdown, s."""
STOPPED_S = 3.0
"""No step for this long before the last timing gate: the patient stopped, s."""
STOPPED_END_S = 10.0
"""Overground, after steps were found: no step in the last this long (the live cadence's window) and
the last timing gate not reached ends the attempt (the patient stopped; nobody waits for the time
limit, 60-120 s), s. Checked every :data:`CADENCE_EVERY_S`, so the attempt ends 10-15 s after the
last step."""
STALL_LIMIT_S = 5.0
"""In a walk test, the station receiving no frames at all (the acquisition stalled: its loop
blocked, the Pi late) is waited out this long: a treadmill session of 20-30 minutes survives a
hiccup of a second or two, the time without data counted as not measured
(:mod:`station.protocols.walk_parts`, ``imu_stalls``), and an overground walk stays timed by its
light gates, which keep their own timestamps. Nothing for longer is a real loss (the acquisition is
down; the supervisor restarts it with a new frame count, which this trial cannot put on its time
grid): the trial ends there, keeping what was measured before it. Stance tests keep the protocol's
``no_frames_timeout_s`` (1 s): the plate's frames are their measure, s."""
IMU_GONE_NOTICE_S = 5.0
"""On the treadmill, the lower-back sensor sending no readings this long (frames coming without
them) is said live (a ``notice`` event: check the sensor; the session goes on, the time without it
is not measured), and said again when it is back, s."""
IMU_GONE_END_S = 60.0
"""On the treadmill, the lower-back sensor sending no readings this long ends the session there (it
is gone for good: unplugged, its cable broken, the sensor failed), keeping what was measured
before it (``end_reason`` ``data_lost``, ``walk.ended_early`` says when it was lost), instead of
running the rest of a 20-30 minute session without a measure. Why a minute: the clinician is told
after :data:`IMU_GONE_NOTICE_S`, and re-seating a belt clip or a connector takes well under a
minute; the acquisition loop retries the sensor every second, so one plugged back within the minute
reads again and the session goes on (the gap not measured). A minute without a measure is 3-5 % of
a 20-30 minute session's dose, s."""
IMU_WAIT_S = 10.0
"""A treadmill session waits this long for IMU data before it says the sensor is missing, s."""
CADENCE_EVERY_S = 5.0
"""Live cadence event interval while recording, s."""
CADENCE_WINDOW_S = 10.0
"""Seconds of IMU data behind each live cadence, s."""
LIVE_CADENCE_NO_READINGS = "not measured: no readings from the lower-back sensor"
"""The live ``cadence`` event's ``not_measured`` words while the sensor sends nothing (the last
second of the window without a reading): the live panel shows no number rather than the last one."""
LIVE_CADENCE_GAP = "not measured: readings again for under 2 s after a gap (steps can hide in a gap)"
"""The live ``cadence`` event's ``not_measured`` words while under 2 s of readings follow the window's
last dropout longer than :data:`station.analysis.imu_gaps.MAX_BRIDGE_S` (the sensor just came back,
or the station's data stalled): the cadence is measured on the readings after the dropout only
(``window_s`` says how many seconds), never across it."""
IMU_SPEED_DISAGREES = 0.25
"""The IMU's pendulum estimate of the walking speed more than this fraction off the speed the walk
is known to have (the light gates' measured speed; a treadmill's entered belt speed): its step
length and walking speed are not given for the walk (:func:`withhold_unreliable_estimate`) and a
warning says why. On the straight real walks it is within 0.03 m/s (README "Gait analysis"); on
short steps (slow, hemiparetic, backward) it overestimates, by up to 2.3 times on the virtual
walker's shortest backward steps."""

PENDULUM_KEYS = ("step_length_m", "walking_speed_m_s")
"""The gait keys that come from the inverted pendulum's estimate (DESIGN.md §8)."""

MAX_IMU_MISSING_FRACTION = 0.01
"""More IMU samples bridged than this fraction of the recording's frames, in more than one gap: no
gait measures (readings that kept dropping out). Missing samples are put back on the frame grid
(:func:`station.analysis.imu_gaps.bridge_gaps`): gaps up to
:data:`station.analysis.imu_gaps.MAX_BRIDGE_S` are interpolated and counted
(``walk.imu_bridged_frames``, and a warning); a single such gap never refuses the gait (shorter than
any step, it is valid by the bridge's own rule; in a 7-s walk it would be 1 % by itself, e.g. the 7
frames the acquisition loop loses catching up after a 3-s stall). A longer gap cuts the walk into
parts measured on their own (:mod:`station.protocols.walk_parts`, on the treadmill and overground
alike), the gait refused only when less than half of the recording was measured (``imu_missing``
on the treadmill; an overground test stays timed by its gates). Only the sensor's dropouts count
here (frames that arrived without its readings): frames the station lost in short holes are bridged
too but are its own loss (:func:`_bridged_sensor_dropouts`)."""


def withhold_unreliable_estimate(gait: dict | None, known_speed_m_s: float | None,
                                 rows: list[dict] | None = None) -> dict | None:
    """When the lower-back sensor's estimate of the walking speed (``gait["walking_speed_m_s"]``, the
    inverted pendulum) is more than :data:`IMU_SPEED_DISAGREES` off ``known_speed_m_s`` (the light
    gates' speed, or the treadmill's belt speed, m/s), the walk's :data:`PENDULUM_KEYS` are set to
    None in ``gait`` and in its minute ``rows`` (in place): the station does not give a step length
    and a speed that the walk's own speed shows to be wrong. Returns what was withheld
    (``walking_speed_m_s``, ``step_length_m``, ``off_pct``: signed, % of the known speed), else None.

    >>> gait = {"steps": 14, "step_length_m": 0.57, "walking_speed_m_s": 0.70}
    >>> withhold_unreliable_estimate(gait, 0.30)
    {'walking_speed_m_s': 0.7, 'step_length_m': 0.57, 'off_pct': 133.3}
    >>> gait
    {'steps': 14, 'step_length_m': None, 'walking_speed_m_s': None}
    >>> withhold_unreliable_estimate({"step_length_m": 0.62, "walking_speed_m_s": 1.05}, 1.0) is None
    True
    """
    estimate = gait.get("walking_speed_m_s") if gait else None
    if not known_speed_m_s or estimate is None or not math.isfinite(estimate) \
            or abs(estimate / known_speed_m_s - 1.0) <= IMU_SPEED_DISAGREES:
        return None
    step = gait.get("step_length_m")
    withheld = {"walking_speed_m_s": round(float(estimate), 3),
                "step_length_m": round(float(step), 3) if step is not None and math.isfinite(step) else None,
                "off_pct": round(100.0 * (estimate / known_speed_m_s - 1.0), 1)}
    for row in [gait, *(rows or [])]:
        for key in PENDULUM_KEYS:
            if key in row:
                row[key] = None
    return withheld


def unreliable_estimate_words(withheld: dict, known_speed_m_s: float, source: str, what: str = "walk") -> str:
    """The warning of :func:`withhold_unreliable_estimate` (``source``: whose speed it was checked
    against, e.g. "the light gates' measured"; ``what``: "walk" or "session").

    >>> unreliable_estimate_words({"walking_speed_m_s": 0.674, "off_pct": 124.7}, 0.3, "the belt's entered", "session")[:95]
    "The lower-back sensor's estimate of the walking speed (0.67 m/s) is 125 % above the belt's ente"
    """
    off = withheld["off_pct"]
    return (f"The lower-back sensor's estimate of the walking speed ({withheld['walking_speed_m_s']:.2f} m/s) is "
            f"{abs(off):.0f} % {'above' if off > 0 else 'below'} {source} {known_speed_m_s:.2f} m/s, so its step "
            f"length and walking speed are not given for this {what}: the trunk's movement misjudges short, slow or "
            "backward steps.")


def _withheld_warning(walk: dict, gait: dict | None, known_speed_m_s: float | None, source: str, what: str,
                      rows: list[dict] | None = None) -> list[str]:
    """:func:`withhold_unreliable_estimate` for a walk's result: what was withheld, with its warning
    as ``words``, in ``walk["imu_estimate_withheld"]``; returns the warning to add ([] if none)."""
    withheld = withhold_unreliable_estimate(gait, known_speed_m_s, rows)
    if withheld is None:
        return []
    withheld["words"] = unreliable_estimate_words(withheld, known_speed_m_s, source, what)
    walk["imu_estimate_withheld"] = withheld
    return [withheld["words"]]


def _bridged_sensor_dropouts(grid: np.ndarray, first_frame: int, seq: np.ndarray,
                             has_reading: np.ndarray) -> tuple[int, int]:
    """(rows, runs) of the bridged samples whose frames arrived without the sensor's readings.

    What :data:`MAX_IMU_MISSING_FRACTION` counts: a sensor whose readings keep dropping out. Frames
    the station lost in short holes (late wake-ups, the catching up after a stall) are bridged the
    same way but are the station's loss, counted with its lost frames, not the sensor's. ``grid``
    after :func:`station.analysis.imu_gaps.bridge_gaps` (row ``i`` is frame ``first_frame + i``).

    >>> grid = np.ones((10, 1)); seq = np.array([0, 1, 2, 3, 6, 7, 8, 9])  # frames 4-5 lost
    >>> has = np.array([True, False, True, True, True, True, False, True])  # 1 and 8 without readings
    >>> _bridged_sensor_dropouts(grid, 0, seq, has)
    (2, 2)
    """
    dropped = np.zeros(grid.shape[0], dtype=bool)
    index = np.asarray(seq, dtype=np.int64)[~np.asarray(has_reading, dtype=bool)] - first_frame
    dropped[index[(index >= 0) & (index < grid.shape[0])]] = True
    dropped &= np.isfinite(grid).all(axis=1)  # filled in by the bridge (a long gap stays NaN)
    runs = int(np.count_nonzero(np.diff(np.concatenate([[0], dropped.astype(np.int8)])) == 1))
    return int(dropped.sum()), runs


def _near_gap_counts(contacts_s, parts_s: list[tuple[float, float]], bridged_s: list[tuple[float, float]],
                     fs_hz: float) -> tuple[int, int]:
    """(heel strikes, step times) next to a gap filled in by the bridge: the initial contacts within
    a bridged gap or :func:`station.analysis.gait.gap_margin_s` of it (their times uncertain), and the
    intervals between consecutive contacts of one part (``parts_s``) that touch one, which the gait
    analysis left out of step time and its variability. Contacts, parts and gaps (``(start_s,
    length_s)``) on one time axis, s.

    >>> _near_gap_counts([0.5, 1.0, 1.52, 2.0, 2.5], [(0.0, 3.0)], [(1.5, 0.01)], 100.0)
    (1, 2)
    >>> _near_gap_counts([0.5, 1.0, 1.5], [(0.0, 3.0)], [], 100.0)
    (0, 0)
    """
    from station.analysis.gait import contacts_near_gaps

    contacts = np.asarray(contacts_s, dtype=np.float64)
    near = contacts_near_gaps(contacts, bridged_s, fs_hz)
    steps = 0
    for a, b in parts_s:
        mine = near[(contacts >= a) & (contacts <= b)]
        steps += int(np.count_nonzero(mine[:-1] | mine[1:]))
    return int(near.sum()), steps


DEFAULT_MOUNTING = ("+z", "+x")

IMU_MISSING = "imu_missing"
"""The code of a walk without gait measures for the lower-back sensor's readings missing (a treadmill session's issue)."""
IMU_MISALIGNED = "imu_misaligned"
"""The code of one without them for the sensor worn crooked or its readings unusable: the sensor to check."""
TOO_SHORT = "too_short"
"""The code of one without them for a recording shorter than :data:`MIN_GAIT_S`: nobody's fault, nothing to check
(it was ``imu_misaligned``, whose words sent the clinician to re-strap a sensor that was fine)."""
MIN_GAIT_S = 2.0
"""The shortest recording the gait is looked for in, s."""


@dataclass(frozen=True)
class ImuNote:
    """Why a walk has no gait measures: ``code`` for the logic (:data:`IMU_MISSING` or :data:`IMU_MISALIGNED`, the
    treadmill session's issue), ``words`` for the clinician (``walk.imu``), so that the words can change freely."""

    code: str
    words: str
"""(up axis, toes axis) of the IMU when a caller gives none: +z up, +x toward the toes (the IMU frame
of station.sim.loads). The composition roots always pass one: the configured
``imu.mounting_up`` / ``imu.mounting_toes`` (default ``+x`` / ``+z``) on the station, the
simulated sensor's (station.sim.walker.SENSOR_MOUNTING) in simulation."""


@dataclass(frozen=True)
class WalkSettings:
    """What the clinician enters for a walk: the treadmill's ``belt_speed_m_s`` and the
    ``planned_min`` of a session, and the sensor's height above the floor ``sensor_height_m``
    (step length and speed from the IMU). All optional."""

    belt_speed_m_s: float | None = None
    planned_min: float | None = None
    sensor_height_m: float | None = None

    @classmethod
    def from_dict(cls, doc: dict | None) -> "WalkSettings":
        """Validated settings from a request body; ``ValueError`` names the field and the range."""
        doc = doc or {}
        if not isinstance(doc, dict):
            raise ValueError("walk: give an object {belt_speed_m_s, planned_min, sensor_height_m}")
        unknown = set(doc) - {"belt_speed_m_s", "planned_min", "sensor_height_m"}
        if unknown:
            raise ValueError(f"walk.{sorted(unknown)[0]}: unknown; allowed: belt_speed_m_s, planned_min, sensor_height_m")
        ranges = {"belt_speed_m_s": (0.05, 3.0, "m/s"), "planned_min": (*PLANNED_MIN_RANGE, "min"),
                  "sensor_height_m": (0.3, 1.5, "m")}
        values = {}
        for key, (lo, hi, unit) in ranges.items():
            value = doc.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not lo <= value <= hi:
                raise ValueError(f"walk.{key}: {value!r} is out of range; allowed: {lo:g} to {hi:g} {unit}")
            values[key] = float(value)
        return cls(**values)

    def to_dict(self) -> dict:
        return {"belt_speed_m_s": self.belt_speed_m_s, "planned_min": self.planned_min,
                "sensor_height_m": self.sensor_height_m}

    def check_setting(self, setting: str, title: str) -> None:
        """``ValueError`` (naming the field) when a belt speed or planned minutes are given for a
        walk timed overground (``setting``), where they would be stored as if they meant something."""
        if setting != "treadmill":
            for key in ("belt_speed_m_s", "planned_min"):
                if getattr(self, key) is not None:
                    raise ValueError(f"walk.{key}: applies to treadmill sessions only; {title} is timed overground "
                                     "by the light gates")


def _imu(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    acc = np.column_stack([frames[f] for f in IMU_FIELDS[:3]]).astype(float)
    gyro = np.column_stack([frames[f] for f in IMU_FIELDS[3:]]).astype(float)
    return acc, gyro


class WalkMachine:
    """Runs one walk trial (interface of :class:`~station.protocols.machine.TrialMachine`).

    Parameters
    ----------
    plan : TrialPlan
        Of a protocol with ``outcome = "walk"``.
    rate_hz : float
    bus : EventBus
    gates : station.hw.gates.GateArray, optional
        Needed for overground tests (their timing gates must be configured).
    settings : WalkSettings, optional
    mounting : (str, str)
        The IMU's up and toes axes as worn.
    verdict : callable, optional
        What the result means for the patient (the runner's :meth:`~station.protocols.runner.ProtocolRunner.verdict`:
        ``walk_not_completed``), merged into ``trial_finished``'s result.
    """

    def __init__(self, plan: TrialPlan, *, rate_hz: float, bus: EventBus, gates=None,
                 settings: WalkSettings | None = None, mounting: tuple[str, str] = DEFAULT_MOUNTING,
                 body_weight_n: float | None = None, verdict=None, **_ignored) -> None:
        if plan.protocol.walk is None:
            raise ValueError(f"{plan.protocol.name} is not a walk test")
        if not rate_hz > 0:
            raise ValueError(f"rate_hz must be positive, not {rate_hz!r}")
        self.plan = plan
        self.spec = plan.protocol.walk
        self.rate_hz = float(rate_hz)
        self.bus = bus
        self.gates = gates
        self.settings = settings or WalkSettings()
        self.mounting = mounting
        self._verdict = verdict  # what the result means for the patient, said with trial_finished (the runner's)
        self.quality = plan.protocol.quality
        self.body_weight_n = float("nan")
        self.state: TrialState | None = None
        self.result: TrialResult | None = None
        self.abort_reason = ""
        self._now_ns = 0
        self._state_since_ns = 0
        self._used: list[int] = []
        self._clear_since_ns: int | None = None
        self._imu_seen = False
        self._waiting_acc = np.empty((0, 3))
        self._mounting_checked = False
        self._countdown_end_ns = 0
        self._countdown_announced = 0
        self._rec = np.empty(1024, dtype=FRAME_DTYPE)
        self._n = 0
        self._drained = 0
        self._imu_gaps = None  # the IMU gap report of the last analysis (station.analysis.imu_gaps)
        self._parts = None  # a treadmill session's parts between IMU dropouts (station.protocols.walk_parts)
        self._t0_ns = 0
        self._end_ns = 0
        self._pending_end_ns: int | None = None
        self._last_frame_ns: int | None = None
        self._progress_s = 0
        self._next_cadence_ns = 0
        self._announced: set[int] = set()
        self._stopped_by_operator = False
        self._stopped_by_shutdown = False  # the station's service stopped, not the operator
        self._fault: QualityIssue | None = None
        self._lost_words = ""  # the station's data or the sensor lost for good, in words without what to do
        self._lost_check = "Check the station's health page."  # what to do about that loss
        self._imu_lost_ns: int | None = None  # the lower-back sensor's last reading before it was gone for good
        self._last_imu_ns: int | None = None  # the last recorded frame with an IMU reading (treadmill notices)
        self._imu_gone_said = False
        self._stall_said = False
        self._stall_from: int | None = None
        """``seq`` of the last frame before a stall said live, until the frames after it have caught up
        with the clock (then the time it left unmeasured is said: :meth:`_stall_words`)."""
        self._period_ns = round(1e9 / self.rate_hz)
        self._grid_origin_ns: int | None = None  # least t_ns − seq × period of the frames seen
        self._walked = False  # steps were found live in this attempt (overground: a stop can end it)
        self._silent_end_s = 0.0  # the trial's end passed while the station received nothing this long, s
        self._stall_in_note = False  # the gait's reason (overground) names a stall of the station
        self._silent_end_in_note = False  # ... the one the trial ended in (_silent_end_s)

    @classmethod
    def judged_from_recording(cls, plan: TrialPlan, frames: np.ndarray, *, rate_hz: float, go_ns: int,
                              crossings: list, silent_end_s: float = 0.0, data_lost: dict | None = None,
                              settings: WalkSettings | None = None,
                              mounting: tuple[str, str] = DEFAULT_MOUNTING) -> TrialResult:
        """A walk trial judged again, as it was judged when it ran (:meth:`_judge`), from what it recorded:
        its ``frames`` (:data:`station.acquire.frame.FRAME_DTYPE`: ``seq``, ``t_ns``, the IMU's readings; frames
        the station lost are missing ``seq``), the go ``go_ns`` (ns, the frames' clock), the light gates'
        ``crossings`` (:class:`station.hw.gates.GateCrossing`, the walk's gates found by ``position_m``), and
        ``silent_end_s``, the stall the trial ended in (s from the last frame to the trial's end on the station
        clock, 0 for none: its result's ``walk.silent_end_s``, :attr:`_silent_end_s`) and ``data_lost``, the data
        lost for good that ended it (its result's ``walk.data_lost``: ``words``, ``check``, ``code``, ``at_s``,
        ``imu_lost_at_s``; None for none). So that
        ``balance-station gait`` on a walk trial's file measures its gait as the trial did: in the parts between
        the gaps over 0.1 s (:mod:`station.protocols.walk_parts`), with the trial's words. What the file cannot
        hold (the operator's stop, data lost for good as it happened) is not judged again."""
        by_position = {float(c.position_m): c for c in crossings}
        # no bus: judging publishes nothing (the trial said its events when it ran)
        machine = cls(plan, rate_hz=rate_hz, bus=None, gates=_RecordedGates(
            {-1 - i: by_position.get(float(m)) for i, m in enumerate(plan.protocol.walk.gates_m)}),
            settings=settings, mounting=mounting)
        machine._used = list(machine.gates.crossings)
        machine._t0_ns = int(go_ns)
        if len(frames):
            machine._append(frames)
            machine._imu_seen = bool(np.isfinite(_imu(frames)[0]).all(axis=1).any())
            machine._silent_end_s = float(silent_end_s)
        if data_lost:
            machine._lost_words, machine._lost_check = data_lost["words"], data_lost["check"]
            if data_lost.get("code"):
                machine._fault = QualityIssue(data_lost["code"], f"{data_lost['words']}. {data_lost['check']}",
                                              data_lost.get("at_s"))
            if data_lost.get("imu_lost_at_s") is not None:
                machine._imu_lost_ns = int(go_ns) + round(float(data_lost["imu_lost_at_s"]) * 1e9)
        return machine._judge()

    # -- planned numbers -------------------------------------------------------------------------
    @property
    def treadmill(self) -> bool:
        return self.spec.setting == "treadmill"

    @property
    def _goes_on(self) -> str:
        """How the trial goes on through a stall, in the live notices' words."""
        return "the session goes on" if self.treadmill else "the light gates still time the walk"

    @property
    def duration_s(self) -> float:
        """Overground: the time limit; treadmill: the planned minutes (entered, or the protocol's)."""
        if self.treadmill and self.settings.planned_min is not None:
            return self.settings.planned_min * 60.0
        return self.plan.duration_s

    def _describe(self) -> dict:
        return self.plan.describe()

    # -- commands --------------------------------------------------------------------------------
    def open(self, now_ns: int) -> None:
        if self.state is not None:
            raise RuntimeError("the trial is already open")
        self._now_ns = now_ns
        c = self.plan.condition
        words = self.plan.protocol.instructions + (f"\n\n{c.instructions}" if c.instructions else "")
        self._set_state(TrialState.INSTRUCTIONS, instructions=words, stance=c.describe(self.spec),
                        duration_s=self.duration_s, walk=self.spec.to_dict())

    def confirm(self, now_ns: int) -> None:
        if self.state != TrialState.INSTRUCTIONS:
            raise RuntimeError(f"confirm() needs state 'instructions', not {self.state and self.state.value!r}")
        self._now_ns = max(self._now_ns, now_ns)
        if self.spec.gates_m:
            if self.gates is None:
                self._abort("This walk test is timed by light gates and the station has none configured "
                            "([[panel.gates]] in the configuration).")
                return
            from station.hw.gates import GateError

            try:
                self._used = self.gates.require(self.spec.gates_m)
            except GateError as exc:
                self._abort(str(exc))
                return
        self._enter_waiting()

    def stop(self, now_ns: int, shutdown: bool = False) -> None:
        """Before recording: aborted. Recording overground: invalid (stopped). On the treadmill:
        the session ends now and keeps what was walked. ``shutdown``: the station's service
        stopped it, not the operator (its words say so)."""
        self._now_ns = max(self._now_ns, now_ns)
        if self.state in (TrialState.INSTRUCTIONS, TrialState.WAITING, TrialState.COUNTDOWN):
            self._abort(f"Ended before the go: {SHUTDOWN_WORDS}." if shutdown else "Stopped by the operator before the go.")
        elif self.state == TrialState.RECORDING:
            self._stopped_by_operator = True
            self._stopped_by_shutdown = shutdown
            self._finish()

    def end_hold(self, now_ns: int, reason: str = "") -> None:
        raise RuntimeError("end_hold() applies to timed holds only; use stop() to stop a walk")

    @property
    def finished(self) -> bool:
        return self.state in (TrialState.DONE, TrialState.ABORTED)

    def drain(self) -> np.ndarray:
        out = self._rec[self._drained : self._n].copy()
        self._drained = self._n
        return out

    @property
    def recorded(self) -> np.ndarray:
        return self._rec[: self._n]

    @property
    def start_ns(self) -> int:
        return self._t0_ns

    @property
    def start_seq(self) -> None:
        """None: a walk starts at its go on the station clock (its gates' edges are timed so), not
        on a sample slot; its trial CSV places its first frame a whole number of periods after the go
        (:meth:`_first_frame_s`)."""
        return None

    # -- states ----------------------------------------------------------------------------------
    def _set_state(self, state: TrialState, **data) -> None:
        previous = self.state.value if self.state else None
        self.state = state
        self._state_since_ns = self._now_ns
        self.bus.publish("state", state=state.value, previous=previous, **self._describe(), **data)

    def _abort(self, reason: str) -> None:
        self.abort_reason = reason
        if self.gates is not None:
            self.gates.disarm()
        self._set_state(TrialState.ABORTED, message=reason)

    def _enter_waiting(self, message: str | None = None) -> None:
        self._clear_since_ns = None
        if message is None:
            message = ("Waiting for the light gates' beams to be clear." if self._used else
                       "Waiting for data from the lower-back sensor." if self.treadmill else "Ready.")
        self._set_state(TrialState.WAITING, message=message, walk=self.spec.to_dict())

    def _publish_gates(self) -> None:
        if self.gates is not None:
            self.bus.publish("gates", gates=self.gates.state(self._t0_ns if self._t0_ns else None),
                             used_m=list(self.spec.gates_m), **self._describe())

    def _used_broken(self) -> int | None:
        for i in self._used:
            if self.gates.gates[i].broken:
                return i
        return None

    def feed(self, frames: np.ndarray, missed: int = 0, now_ns: int | None = None) -> None:
        if now_ns is not None:
            self._now_ns = max(self._now_ns, int(now_ns))
        if len(frames):
            self._now_ns = max(self._now_ns, int(frames["t_ns"][-1]))
            origin = int((frames["t_ns"].astype(np.int64) - frames["seq"].astype(np.int64) * self._period_ns).min())
            self._grid_origin_ns = origin if self._grid_origin_ns is None else min(self._grid_origin_ns, origin)
            if np.isfinite(frames["az_m_s2"]).any():
                self._imu_seen = True
            if self.state == TrialState.WAITING:
                self._keep_for_mounting(frames)
        edges = self.gates.poll() if self.gates is not None else []
        if edges and self.state in (TrialState.WAITING, TrialState.COUNTDOWN, TrialState.RECORDING):
            self._publish_gates()
        state = self.state
        if state == TrialState.WAITING:
            self._feed_waiting()
        elif state == TrialState.COUNTDOWN:
            self._feed_countdown(frames)
        elif state == TrialState.RECORDING:
            self._feed_recording_frames(frames[frames["t_ns"] >= self._t0_ns] if len(frames) else frames)

    def _keep_for_mounting(self, frames: np.ndarray) -> None:
        acc, _ = _imu(frames)
        acc = acc[np.isfinite(acc).all(axis=1)]
        if len(acc):
            self._waiting_acc = np.vstack([self._waiting_acc, acc])[-int(self.rate_hz):]

    def _check_mounting(self) -> bool:
        """The configured mounting against gravity, once a second of IMU data has come in while
        waiting (DESIGN.md §8: at the start of every trial). A treadmill session cannot go on
        with a misaligned sensor; an overground test goes on (timed by the gates) and says so."""
        if self._mounting_checked or len(self._waiting_acc) < int(self.rate_hz):
            return True
        from station.analysis.imu_frame import check_mounting

        self._mounting_checked = True
        problem = check_mounting(self._waiting_acc, up_axis=self.mounting[0], toes_axis=self.mounting[1])
        if problem is None:
            return True
        if self.treadmill:
            self._abort(f"The lower-back sensor is misaligned ({problem}); the treadmill session is measured by it. "
                        "Check how it sits on the belt and imu.mounting_up / imu.mounting_toes in the configuration.")
            return False
        self._set_state(TrialState.WAITING, walk=self.spec.to_dict(),
                        message=f"The lower-back sensor seems misaligned ({problem}): the walk will be timed by the "
                                "gates without gait measures. Check the belt, or go on.")
        return True

    def _feed_waiting(self) -> None:
        if not self._check_mounting():
            return
        now = self._now_ns
        ready = True
        if self._used and self._used_broken() is not None:
            ready = False
        if self.treadmill and not self._imu_seen:
            ready = False
        if ready:
            if self._clear_since_ns is None:
                self._clear_since_ns = now
            if now - self._clear_since_ns >= CLEAR_S * 1e9:
                self._start_countdown(now)
                return
        else:
            self._clear_since_ns = None
        if self.treadmill and not self._imu_seen and now - self._state_since_ns > IMU_WAIT_S * 1e9:
            self._abort(f"No data from the lower-back sensor within {IMU_WAIT_S:g} s: the treadmill session is "
                        "measured by it; check that the IMU is connected and worn. The session was not started.")
            return
        timeout_s = self.quality.waiting_timeout_s
        if timeout_s > 0 and now - self._state_since_ns > timeout_s * 1e9:
            if self._used and self._used_broken() is not None:
                g = self.gates.gates[self._used_broken()]
                self._abort(f"The light gate at {g.position_m:g} m stayed broken for {timeout_s:g} s: something is in "
                            "its beam, or the beam is misaligned; the trial was not started.")
            else:
                self._abort(f"No data from the lower-back sensor within {timeout_s:g} s: check that the IMU is "
                            "connected and worn; the trial was not started.")

    def _start_countdown(self, now: int) -> None:
        if self.gates is not None:
            self.gates.arm(now)
            self._publish_gates()
        self._countdown_end_ns = now + int(round(self.plan.protocol.countdown_s * 1e9))
        self._countdown_announced = 0
        self._set_state(TrialState.COUNTDOWN, countdown_s=self.plan.protocol.countdown_s, body_weight_n=0.0)
        self._announce_countdown(now)

    def _announce_countdown(self, now: int) -> None:
        remaining = math.ceil((self._countdown_end_ns - now) / 1e9 - 1e-9)
        if remaining >= 1 and remaining != self._countdown_announced:
            self._countdown_announced = remaining
            self.bus.publish("countdown", remaining_s=remaining, **self._describe())

    def _feed_countdown(self, frames: np.ndarray) -> None:
        if self.gates is not None and self._used:
            broken = [e for e in self.gates.breaks_while_armed if e.gate in self._used]
            if broken:
                message = (f"The beam at {broken[0].position_m:g} m was broken before the go (false start); "
                           "waiting for the patient to stand at the start line again.")
                self.bus.publish("false_start", message=message, position_m=broken[0].position_m, **self._describe())
                self.gates.disarm()
                self._enter_waiting(message)
                return
        for t in frames["t_ns"] if len(frames) else []:
            t = int(t)
            if t >= self._countdown_end_ns:
                self._start_recording()
                rest = frames[frames["t_ns"] >= self._t0_ns]
                self._feed_recording_frames(rest)
                return
            self._announce_countdown(t)
        if self._now_ns >= self._countdown_end_ns and self.state == TrialState.COUNTDOWN:
            self._start_recording()

    def _start_recording(self) -> None:
        # The go is when the beep sounds, not when the countdown was due to end: the state event below
        # sounds it (hw/panel.py sounds a beep as its event is published), and the loop gets here a frame
        # batch or a late wake-up after the countdown's end (0-50 ms). A static start timed from the
        # planned end counted that latency as walking.
        self._t0_ns = max(self._countdown_end_ns, int(self.bus.clock.monotonic_ns()))
        if self.gates is not None:
            self.gates.arm(self._t0_ns)
        self._end_ns = self._t0_ns + int(round(self.duration_s * 1e9))
        self._next_cadence_ns = self._t0_ns + int(CADENCE_EVERY_S * 1e9)
        self._set_state(TrialState.RECORDING, duration_s=self.duration_s, walk=self.spec.to_dict(),
                        settings=self.settings.to_dict())
        self._publish_gates()

    def _append(self, frames: np.ndarray) -> None:
        need = self._n + len(frames)
        if need > len(self._rec):
            grown = np.empty(max(need, 2 * len(self._rec)), dtype=FRAME_DTYPE)
            grown[: self._n] = self._rec[: self._n]
            self._rec = grown
        self._rec[self._n : need] = frames
        self._n = need
        self._last_frame_ns = int(frames["t_ns"][-1])

    def _feed_recording_frames(self, frames: np.ndarray) -> None:
        if self.state != TrialState.RECORDING:
            return
        self._announce_crossings()
        end = self._pending_end_ns if self._pending_end_ns is not None else self._end_ns
        if len(frames):
            take = frames[frames["t_ns"] < end]
            if len(take) and self._n and int(take["seq"][0]) <= int(self._rec["seq"][self._n - 1]):
                # the frame count started again: the acquisition restarted, its frames do not follow these
                at_s = max(0.0, (int(self._rec["t_ns"][self._n - 1]) - self._t0_ns) / 1e9)
                self._lost_words = (f"The station's acquisition restarted {_when(at_s)} after the go (its frames start "
                                    "again from the beginning)")
                self._fault = QualityIssue("no_data", f"{self._lost_words}. Check the station's health page.", round(at_s, 3))
                self._finish()
                return
            if len(take):
                if self._stall_said:  # frames again after a stall (the live notice said it was waiting)
                    self._stall_said = False
                    if self._stall_from is None:  # (a stall again before the last one caught up: said with it)
                        self._stall_from = int(self._rec["seq"][self._n - 1])
                self._append(take)
                if self._stall_from is not None and self._caught_up():
                    self._notice(f"Measuring again: {self._stall_words()}; {self._goes_on}.")
                    self._stall_from = None
                self._publish_progress()
                self._publish_cadence()
                if self.treadmill:
                    self._notice_imu(take)
                    if self.finished:  # the sensor gone for good ended the session
                        return
            if len(take) < len(frames):
                self._finish()
                return
        if self._last_frame_ns is not None and self._last_frame_ns >= end - int(1e9 / self.rate_hz):
            self._finish()
            return
        last = self._last_frame_ns if self._last_frame_ns is not None else self._t0_ns
        silent_s = (self._now_ns - last) / 1e9
        timeout_s = self.quality.no_frames_timeout_s
        if self._now_ns >= end and silent_s > timeout_s:
            # the end (the last gate + SETTLE_S, the time limit, the planned minutes) passed on the
            # station clock while the frames stalled: the frames of that time are lost, not late
            # (the acquisition drops what it missed), so waiting for them would hang the trial
            self._silent_end_s = silent_s
            self._finish()
            return
        limit_s = max(timeout_s, STALL_LIMIT_S)
        if not self._stall_said and silent_s > timeout_s and self._n:
            self._stall_said = True
            said = no_frames_words(silent_s)  # the live strip's words beside it
            self._notice(f"{said[0].upper()}{said[1:]}. Waiting up to {limit_s:g} s for readings; {self._goes_on}.")
        if silent_s > limit_s and self._now_ns > self._t0_ns:
            at_s = max(0.0, (last - self._t0_ns) / 1e9)
            self._lost_words = f"The station stopped receiving data {_when(at_s)} after the go (nothing for {silent_s:.1f} s)"
            self._fault = QualityIssue("no_data", f"{self._lost_words}. Check the station's health page.", round(at_s, 3))
            self._finish()

    def _caught_up(self) -> bool:
        """The newest frame was made on time again (within :data:`MAX_BRIDGE_S` of its slot's
        deadline): the acquisition's catch-up after a stall is over, every slot of the stall made or
        lost (a reader may get the catch-up's first, late frame before the loop has lost the rest)."""
        late_ns = self._last_frame_ns - (self._grid_origin_ns + int(self._rec["seq"][self._n - 1]) * self._period_ns)
        return late_ns <= MAX_BRIDGE_S * 1e9

    def _stall_words(self) -> str:
        """What a stall left unmeasured, said once its frames have caught up: the sample slots lost
        after :attr:`_stall_from` in gaps too long to bridge, on the grid, as the result counts and
        says them ("1.49 s not measured (1 station stall)",
        :func:`~station.protocols.walk_parts.not_measured_words`), not the wait between two wake-ups
        of the loop."""
        from station.analysis.imu_gaps import max_bridge_frames

        seq = self._rec["seq"][: self._n].astype(np.int64)
        gaps = np.diff(seq[seq >= self._stall_from]) - 1
        long = gaps[gaps > max_bridge_frames(self.rate_hz)]
        if not long.size:
            return "all of that time is measured"
        return not_measured_words(int(long.sum()) / self.rate_hz, 0, int(long.size))

    def _notice(self, message: str) -> None:
        """Something the clinician should know now, while the trial goes on (a ``notice`` event)."""
        self.bus.publish("notice", message=message, **self._describe())

    def _notice_imu(self, frames: np.ndarray) -> None:
        """The lower-back sensor gone for :data:`IMU_GONE_NOTICE_S` while frames come, and back: said live;
        gone for :data:`IMU_GONE_END_S`: the session ends."""
        have = np.isfinite(frames["az_m_s2"])
        if have.any():
            self._last_imu_ns = int(frames["t_ns"][np.flatnonzero(have)[-1]])
            if self._imu_gone_said:
                self._imu_gone_said = False
                self._notice("The lower-back sensor sends again; the time without it is not measured.")
            return
        since = self._last_imu_ns if self._last_imu_ns is not None else self._t0_ns
        gone_s = (int(frames["t_ns"][-1]) - since) / 1e9
        if not self._imu_gone_said and gone_s >= IMU_GONE_NOTICE_S:
            self._imu_gone_said = True
            self._notice(f"The lower-back sensor has sent no readings for {gone_s:.0f} s: check that it is worn and its "
                         "cable connected. The session goes on; the time without it is not measured.")
        if gone_s >= IMU_GONE_END_S:
            at_s = max(0.0, (since - self._t0_ns) / 1e9)
            self._imu_lost_ns = since
            self._lost_words = (f"The lower-back sensor sent no readings from {_when(at_s)} after the go (nothing for "
                                f"{gone_s:.0f} s: unplugged, or its cable or the sensor failed)")
            self._lost_check = "Check the sensor's cable and how it sits on the belt."
            self._fault = QualityIssue("imu_missing", f"{self._lost_words}. {self._lost_check}", round(at_s, 3))
            self._notice(f"The lower-back sensor has sent no readings for {gone_s:.0f} s: the session ends now; what was "
                         "measured before is kept.")
            self._finish()

    def _announce_crossings(self) -> None:
        if self.gates is None:
            return
        for i in self._used:
            crossing = self.gates.crossings.get(i)
            if crossing is None or i in self._announced:
                continue
            self._announced.add(i)
            self.bus.publish("gate_crossed", **crossing.to_dict(self._t0_ns), **self._describe())
            if self.spec.setting == "overground" and abs(crossing.position_m - self.spec.timed_to_m) < 1e-6:
                self._pending_end_ns = crossing.t_ns + int(SETTLE_S * 1e9)

    def _publish_progress(self) -> None:
        elapsed = int((self._last_frame_ns - self._t0_ns) / 1e9)
        while self._progress_s < elapsed:
            self._progress_s += 1
            self.bus.publish("progress", elapsed_s=self._progress_s, duration_s=self.duration_s, **self._describe())

    def _publish_cadence(self) -> None:
        if self._last_frame_ns is None or self._last_frame_ns < self._next_cadence_ns:
            return
        self._next_cadence_ns += int(CADENCE_EVERY_S * 1e9)
        from station.analysis.gait import detect_initial_contacts, detect_steps
        from station.analysis.imu_frame import gravity_direction
        from station.analysis.imu_gaps import bridge_gaps

        n = min(self._n, int(CADENCE_WINDOW_S * self.rate_hz))
        window = self._rec[self._n - n : self._n]
        if n < 2 * self.rate_hz:
            return
        acc, _ = _imu(window)
        have = np.isfinite(acc).all(axis=1)
        if not have[-int(self.rate_hz):].any():  # nothing from the sensor in the last second: not a stale number
            self._publish_no_cadence(LIVE_CADENCE_NO_READINGS)
            return
        try:
            acc, gaps = bridge_gaps(acc, window["seq"].astype(np.int64), self.rate_hz)  # lost frames: not closed up
            if gaps.long_gaps_s:  # no live cadence over a dropout: the readings after the last one only
                start_s, length_s = gaps.long_gaps_s[-1]
                acc = acc[int(round((start_s + length_s) * self.rate_hz)) :]
            if acc.shape[0] < 2 * self.rate_hz:
                self._publish_no_cadence(LIVE_CADENCE_GAP)
                return
            vertical = np.einsum("ij,ij->i", acc, gravity_direction(acc))
            ics = detect_initial_contacts(vertical, self.rate_hz)
        except ValueError:  # no gravity in the readings (a sensor that reads zeros)
            self._publish_no_cadence(LIVE_CADENCE_NO_READINGS)
            return
        cadence = 60.0 / float(np.mean(np.diff(ics))) if ics.size >= 4 else None
        # a few steps and a stop leave no walking bout: their steps count as having walked
        self._walked = self._walked or ics.size >= 2 or detect_steps(vertical, self.rate_hz).size >= 2
        if (self.spec.setting == "overground" and self._walked and ics.size == 0 and self._pending_end_ns is None
                and acc.shape[0] >= int(STOPPED_END_S * self.rate_hz) - 1):
            # the patient stopped (no step in a whole window of readings, none of it across a dropout):
            # the attempt ends now
            self._pending_end_ns = self._last_frame_ns
        self.bus.publish("cadence", cadence_steps_min=None if cadence is None else round(cadence, 1),
                         steps=int(ics.size), window_s=round(acc.shape[0] / self.rate_hz, 2),  # the readings analysed
                         at_s=round((self._last_frame_ns - self._t0_ns) / 1e9, 2), not_measured=None,
                         **self._describe())

    def _publish_no_cadence(self, words: str) -> None:
        """A ``cadence`` event that says the live cadence is not measured now, and why (``not_measured``):
        the panel blanks its last value instead of showing it as the person's cadence."""
        self.bus.publish("cadence", cadence_steps_min=None, steps=None, window_s=None,
                         at_s=round((self._last_frame_ns - self._t0_ns) / 1e9, 2), not_measured=words,
                         **self._describe())

    # -- the end ---------------------------------------------------------------------------------
    def _finish(self) -> None:
        self._announce_crossings()
        self._set_state(TrialState.CHECKING)
        self.result = self._judge()
        if self.gates is not None:
            self.gates.disarm()
        verdict = self._verdict(self.result) if self._verdict is not None else {}
        self.bus.publish("trial_finished", result={**self.result.to_dict(), **verdict}, **self._describe())
        self._set_state(TrialState.DONE, valid=self.result.valid, message=_summary_words(self.result))

    def _judge(self) -> TrialResult:
        from station import __version__

        plan, spec, fs = self.plan, self.spec, self.rate_hz
        rec = self._rec[: self._n]
        # a treadmill session ends at its planned minutes; an overground walk when its last gate is passed
        # (not at the 60-120 s limit that "duration" would suggest)
        result = TrialResult(plan=plan, valid=True, end_reason="duration" if self.treadmill else "gate_reached",
                             start_ns=self._t0_ns, samples=self._n)
        if self._n:
            result.recorded_s = round((int(rec["t_ns"][-1]) - self._t0_ns) / 1e9 + 1.0 / fs, 6)
        issues: list[QualityIssue] = []
        warnings: list[str] = []
        fault_kept = False  # a treadmill session's data lost for good: said as a warning, the measured part kept
        # the frames the reader missed (the ring overtook it) are seq gaps among these: counted once, as
        # the stored trial counts them (StoreSink stores this count)
        result.lost_frames = int(np.clip(np.diff(rec["seq"].astype(np.int64)) - 1, 0, None).sum()) if self._n > 1 else 0

        walk: dict = {"direction": spec.direction, "setting": spec.setting, "timed_from_m": spec.timed_from_m,
                      "timed_to_m": spec.timed_to_m, "walk_time_s": None, "walk_distance_m": None,
                      "walk_speed_m_s": None, "crossings": [], "belt_speed_m_s": self.settings.belt_speed_m_s,
                      "planned_min": round(self.duration_s / 60.0, 3) if self.treadmill else None,
                      "walking_min": None, "pauses": None, "pause_s": None, "by_minute": None,
                      "initial_contacts_s": [], "imu": None, "ended_early": None, "imu_estimate_withheld": None}

        # Gait from the IMU.
        self._imu_gaps = None
        self._parts = None
        self._grid = None
        self._bridged_s = []
        self._sensor_bridged = (0, 0)
        self._stall_in_note = False
        self._silent_end_in_note = False
        walk_end_s = self._last_gate_s()
        if self._imu_lost_ns is not None:  # the sensor gone for good: the session is measured up to its last reading
            before = rec[: int(np.searchsorted(rec["t_ns"], self._imu_lost_ns, side="right"))]
            gait, by_minute, no_gait = self._gait(before, walk_end_s)
            if len(before) < MIN_GAIT_S * self.rate_hz:  # lost in the first 2 s: no gait because of the loss, said so
                # in short (the issue says it whole); it read "1.1 s recorded, under the 2 s the gait analysis needs"
                # beside the loss, a recording too short where the sensor was what stopped
                at_s = max(0.0, (self._imu_lost_ns - self._t0_ns) / 1e9)
                no_gait = ImuNote(IMU_MISSING, f"the lower-back sensor's readings stopped {_when(at_s)} after the go")
        else:
            gait, by_minute, no_gait = self._gait(rec, walk_end_s)
        imu_note = no_gait.words if no_gait is not None else None
        walk["imu"] = imu_note
        gaps = self._imu_gaps
        walk["imu_bridged_frames"] = gaps.bridged_frames if gaps is not None else 0
        walk["imu_bridged_gaps"] = gaps.bridged_gaps if gaps is not None else 0
        # of them, the frames that came without the sensor's readings (the rest the station lost: it ran late)
        walk["imu_bridged_sensor_frames"], walk["imu_bridged_sensor_gaps"] = self._sensor_bridged if gaps is not None else (0, 0)
        walk["imu_longest_gap_s"] = round(gaps.longest_bridged_s, 3) if gaps is not None else 0.0
        parts = self._parts
        walk["imu_not_measured_s"] = round(parts.not_measured_s, 3) if parts is not None else 0.0
        walk["imu_dropouts"] = parts.dropouts if parts is not None else 0
        walk["imu_stalls"] = parts.stalls if parts is not None else 0  # no frame at all: the station stalled
        # parts analysed without seeing the walk's steps (walk_parts.blind_parts): in imu_not_measured_s
        walk["imu_parts_without_steps_s"] = round(sum(b - a for a, b in parts.blind), 3) if parts is not None else 0.0
        walk["imu_parts"] = [list(p) for p in parts.parts] if parts is not None and imu_note is None else None
        # the silence the trial ended in (s from the last frame to the end on the station clock; 0 when none): kept,
        # so that the trial's file is judged again with it (judged_from_recording: 'gait' on the file)
        walk["silent_end_s"] = round(self._silent_end_s, 6)
        # ... and the data lost for good that ended it (None when none), for the same
        walk["data_lost"] = None if not self._lost_words else {
            "words": self._lost_words, "check": self._lost_check,
            "code": self._fault.code if self._fault is not None else None,
            "at_s": self._fault.at_s if self._fault is not None else None,
            "imu_lost_at_s": None if self._imu_lost_ns is None else round((self._imu_lost_ns - self._t0_ns) / 1e9, 9)}
        # heel strikes next to a bridged gap: their step times were left out of the variability (gait_measures)
        walk["imu_contacts_near_gaps"], walk["imu_steps_near_gaps"] = _near_gap_counts(
            gait["initial_contacts_s"] if gait else [], parts.parts if parts is not None else [], self._bridged_s, fs)
        if imu_note is None and ((gaps is not None and gaps.bridged_frames) or walk["imu_not_measured_s"] > 0):
            warnings.append(imu_gaps_summary(walk, samples=self._n, fs_hz=fs)["words"])
        ics = np.array(gait["initial_contacts_s"]) if gait else np.array([])
        walk["initial_contacts_s"] = [round(float(t), 4) for t in ics]

        # Timing.
        if spec.setting == "overground":
            crossings = {i: self.gates.crossings.get(i) for i in self._used} if self.gates is not None else {}
            walk["crossings"] = [c.to_dict(self._t0_ns) for c in crossings.values() if c is not None]
            if any(c is not None and c.timing != "driver" for c in crossings.values()):
                warnings.append("A gate was timed by when the station saw it, not by the GPIO driver's timestamp "
                                "(a pin factory on another time base): the walk time may be off by a few milliseconds.")
            to_i = self._used[-1] if self._used else None
            from_i = self._used[0] if spec.start == "flying" and self._used else None
            cross_to = crossings.get(to_i)
            cross_from = crossings.get(from_i) if from_i is not None else None
            start_ns = self._t0_ns if spec.start == "static" else (cross_from.t_ns if cross_from else None)
            if cross_to is not None and spec.start == "flying" and cross_from is None:
                issues.append(QualityIssue("gate_missed", f"The gate at {spec.timed_from_m:g} m did not see the patient, "
                                           f"although the gate at {spec.timed_to_m:g} m did: check that beam's alignment.",
                                           None))
            elif cross_to is not None and start_ns is not None and cross_to.t_ns <= start_ns:
                issues.append(QualityIssue("gate_order", f"The gate at {spec.timed_to_m:g} m was passed before the gate at "
                                           f"{spec.timed_from_m:g} m: check the gates' positions in the configuration.",
                                           None))
            elif cross_to is not None and start_ns is not None:
                time_s = (cross_to.t_ns - start_ns) / 1e9
                walk["walk_time_s"] = round(time_s, 4)
                walk["walk_distance_m"] = spec.timed_distance_m
                walk["walk_speed_m_s"] = round(spec.timed_distance_m / time_s, 4)
            if cross_to is None and not self._stopped_by_operator and self._fault is None:
                # a walk of a few steps holds no walking bout: its steps, so that it is not 'did not start'
                steps = ics if ics.size >= 2 or imu_note is not None else self._steps_outside_bouts(result.recorded_s)
                stopped = self._stopped_at(steps, result.recorded_s, imu_note)
                if stopped is not None:
                    # the IMU cannot tell where they stopped: before the gate, or past a gate that missed them
                    took = "" if ics.size >= 2 else f"took {steps.size} steps and "
                    issues.append(QualityIssue("person_stopped", f"The patient {took}stopped walking {stopped:.1f} s after "
                                               f"the go and the gate at {spec.timed_to_m:g} m did not see them: they stopped "
                                               "before it, or its beam missed them (check its alignment).", round(stopped, 3)))
                elif imu_note is None and steps.size < 2:  # the IMU worked and saw no walking
                    measured = (f"the {result.recorded_s:.0f} s after the go" if not walk["imu_not_measured_s"] else
                                f"the {result.recorded_s - walk['imu_not_measured_s']:.0f} s it measured after the go")
                    issues.append(QualityIssue("gate_not_reached", f"The patient did not start walking: the lower-back "
                                               f"sensor found no steps in {measured} and the "
                                               f"gate at {spec.timed_to_m:g} m did not see them.",
                                               None))
                else:
                    issues.append(QualityIssue("gate_not_reached", f"The gate at {spec.timed_to_m:g} m did not see the "
                                               f"patient within {self.duration_s:g} s: check its beam, or let the patient "
                                               "walk the whole way.", None))
            elif cross_to is not None and ics.size >= 2:
                # up to the gate, or to the last frame when the station's data stopped before it
                end_s = min((cross_to.t_ns - self._t0_ns) / 1e9, result.recorded_s)
                # without a step for STOPPED_S inside the measured parts (a gap's hidden steps are no stop)
                still = still_stretches(ics, self._measured_parts_s(result.recorded_s), end_s)
                at, longest = max(still, key=lambda g: g[1]) if still else (0.0, 0.0)
                if longest >= STOPPED_S:
                    issues.append(QualityIssue("person_stopped", f"The patient stopped for {longest:.1f} s on the way "
                                               f"({at:.1f} s after the go): the walk time includes the stop.", round(at, 3)))
            if imu_note:
                warnings.append(f"No gait measures: {imu_note}")
            warnings += _withheld_warning(walk, gait, walk["walk_speed_m_s"], "the light gates' measured", "walk")
            if self._lost_words and walk["walk_time_s"] is not None:
                # the station's data lost for good after the walk was timed: the gates' time stands
                covered = (f"; the gait measures cover the {result.recorded_s:.1f} s recorded before the loss" if gait
                           else "")
                walk["ended_early"] = (f"{self._lost_words}: the test ended there. The walk time from the light gates "
                                       f"({walk['walk_time_s']:.2f} s, on their own timestamps) is kept{covered}. Check the "
                                       "station's health page.")
                warnings.append(walk["ended_early"])
                result.end_reason = "data_lost"
                fault_kept = True
        else:
            data_lost = bool(self._lost_words)  # the station's data or the sensor lost for good: the session ended
            if imu_note and not data_lost:  # with the data lost, that fault says why
                # a session too short to look for steps in: no sensor to check (it said "Check the lower-back sensor")
                check = "" if no_gait.code == TOO_SHORT else \
                    " Check the lower-back sensor (on the belt, its cable connected);"
                issues.append(QualityIssue(no_gait.code, f"The session's walking could not be measured: {imu_note}.{check}"
                                           f"{' the' if check else ' The'} recording is kept, and the minutes walked can "
                                           "be entered by hand as the session's dose.", None))
            if by_minute is not None:
                walking_s = sum(r["walking_s"] for r in by_minute)
                walk["walking_min"] = round(walking_s / 60.0, 3)
                walk["pauses"] = int(sum(r["pauses"] for r in by_minute))
                walk["pause_s"] = round(float(sum(r["pause_s"] for r in by_minute)), 2)
                walk["by_minute"] = by_minute
                walk["walk_time_s"] = round(walking_s, 3)
                if self.settings.belt_speed_m_s is not None:
                    walk["walk_speed_m_s"] = self.settings.belt_speed_m_s
                    walk["walk_distance_m"] = round(self.settings.belt_speed_m_s * walking_s, 2)
                    warnings += _withheld_warning(walk, gait, self.settings.belt_speed_m_s, "the belt's entered",
                                                  "session", by_minute)
            if self._stopped_by_operator:
                result.end_reason = "operator_ended"
                if self._stopped_by_shutdown:
                    warnings.append(f"Ended after {result.recorded_s:.1f} s: {SHUTDOWN_WORDS}; what was walked is kept.")
            if data_lost and imu_note is None and by_minute is not None:
                # a real loss ends the session; the walking measured before it is real: kept, and said
                walk["ended_early"] = (f"{self._lost_words}: the session ended there; the "
                                       f"{walked_words(walk['walking_min'])} walked before it were measured and are kept. "
                                       f"{self._lost_check}")
                warnings.append(walk["ended_early"])
                result.end_reason = "data_lost"
                fault_kept = True
        if self._stopped_by_operator and spec.setting == "overground":
            issues.append(stop_issue(result.recorded_s, self._stopped_by_shutdown))
        if self._fault is not None and not fault_kept:
            issues.append(self._fault)
        if self._n == 0 and self._fault is None and not self._stopped_by_operator:
            issues.append(QualityIssue("no_data", "No data was recorded after the go: check the station's health page.", 0.0))
        if self._silent_end_s and self._n and not self._silent_end_in_note:  # (said in the gait's reason: not twice)
            at_s = result.recorded_s
            kept = ("that time is not measured" if self.treadmill else
                    f"the gait measures cover the {at_s:.1f} s recorded before it; the light gates' time is not affected"
                    if gait else "the light gates' time is not affected")
            warnings.append(f"The station measured nothing for the last {self._silent_end_s:.1f} s of the trial (from "
                            f"{_when(at_s)} after the go; {HELD_UP}): {kept}.")
        # a treadmill's stalls are said as time not measured, an overground stall in the gait's reason
        said_as_not_measured = (self._parts is not None and imu_note is None) or self._stall_in_note
        if result.lost_frames and self._n and not said_as_not_measured:
            fraction = result.lost_frames / (self._n + result.lost_frames)
            if fraction > self.quality.max_lost_fraction:
                warnings.append(f"{result.lost_frames} frames were lost ({100 * fraction:.1f} %): gait measures may be missing.")

        result.issues = issues
        result.warnings = warnings
        result.valid = not issues
        if not result.valid:
            result.end_reason = "invalid"
        result.completed = result.valid and (walk["walk_time_s"] is not None)
        walk["imu_gaps"] = imu_gaps_summary(walk, samples=self._n, fs_hz=fs)  # lost IMU samples, in words
        result.walk = walk
        from station.analysis.gait import GAIT_KEYS

        values = {k: walk[k] for k in ("walk_time_s", "walk_distance_m", "walk_speed_m_s")}
        values.update({k: None for k in GAIT_KEYS if k != "initial_contacts_s"})
        if gait:
            values.update({k: v for k, v in gait.items() if k != "initial_contacts_s"})
        if self.treadmill:
            values.update({k: walk[k] for k in ("walking_min", "pauses", "pause_s", "belt_speed_m_s", "planned_min")})
        result.analysis_start_s = 0.0 if self._n else None
        result.analysis_end_s = result.recorded_s if self._n else None
        if result.valid:
            result.metrics = {"kind": "walk", "fs_hz": fs, "samples": int(self._n), "profile": "walk", "version": __version__,
                              "metrics": {k: (None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v)
                                          for k, v in values.items()},
                              "initial_contacts_s": walk["initial_contacts_s"], "by_minute": by_minute}
        else:
            result.metrics_note = "Invalid trial: no walk measures."
        return result

    def _last_gate_s(self) -> float | None:
        """When the walk's last timing gate saw the patient, s after the go (overground; None when it
        did not, or on the treadmill)."""
        if self.treadmill or self.gates is None or not self._used:
            return None
        crossing = self.gates.crossings.get(self._used[-1])
        if crossing is None or crossing.t_ns <= self._t0_ns:
            return None
        return (crossing.t_ns - self._t0_ns) / 1e9

    def _gait(self, rec: np.ndarray, walk_end_s: float | None = None) -> tuple[dict | None, list | None, ImuNote | None]:
        """(gait keys, minute rows or None, why there is no gait (:class:`ImuNote`) or None). ``walk_end_s``: when the last
        gate saw the patient (s after the go), overground: a part between gaps before then (or before
        the last step) that holds none of the walk's steps is not measured
        (:func:`station.protocols.walk_parts.blind_parts`)."""
        from station.analysis.imu_gaps import bridge_gaps

        if len(rec) < MIN_GAIT_S * self.rate_hz:
            return None, None, (ImuNote(IMU_MISSING, "no readings from the lower-back sensor long enough to analyse")
                                if not self._imu_seen else
                                ImuNote(TOO_SHORT, f"{len(rec) / self.rate_hz:.1f} s recorded, under the {MIN_GAIT_S:g} s "
                                                   "the gait analysis needs"))
        acc, gyro = _imu(rec)
        finite = np.isfinite(acc).all(axis=1) & np.isfinite(gyro).all(axis=1)
        if not finite.any():
            return None, None, ImuNote(IMU_MISSING, "the lower-back sensor sent nothing (is it connected and worn?)")
        # Lost frames (missing seq) and failed IMU readings (NaN) are put back on the frame grid: short
        # gaps bridged and counted, longer ones cut the walk into parts measured on their own and said as
        # time not measured (DESIGN §3: never closed silently).
        seq = rec["seq"].astype(np.int64)
        expected = int(seq[-1] - seq[0] + 1)
        missing = expected - int(finite.sum())
        grid, gaps = bridge_gaps(np.column_stack([acc, gyro]), seq, self.rate_hz)
        recorded_s = expected / self.rate_hz  # the frames' span, lost ones included, s
        if not self.treadmill:  # overground, the walk's recording runs on to its end (the last gate + SETTLE_S) in
            recorded_s += self._silent_tail_s()  # a stall the trial ended in: not measured, and not left out
        gait, rows, note = self._gait_in_parts(grid, gaps, recorded_s, int(seq[0]), seq, finite)
        if self.treadmill or self._parts is None:
            return gait, rows, note
        if note is not None:
            return None, None, ImuNote(IMU_MISSING, self._too_little_measured(gaps, self._parts, seq, recorded_s, missing))
        if walk_end_s is not None:
            from station.protocols.walk_parts import MIN_MEASURED_FRACTION, blind_parts

            parts = self._parts
            blind = blind_parts(gait["initial_contacts_s"], parts.parts, walk_end_s)
            if blind:  # analysed, but the walking there went unseen: not measured
                blind_s = sum(b - a for a, b in blind)
                parts.parts = [p for p in parts.parts if p not in blind]
                parts.measured_s = max(0.0, round(parts.measured_s - blind_s, 6))  # never '-0.0 of the 2.5 s'
                parts.not_measured_s = round(parts.not_measured_s + blind_s, 6)
                parts.blind = blind
                if parts.measured_s < MIN_MEASURED_FRACTION * recorded_s:
                    return None, None, ImuNote(IMU_MISSING, self._too_little_measured(gaps, parts, seq, recorded_s, missing))
            # the walk itself, from the go to the last gate: the steps after it (SETTLE_S) are the
            # walk's end, not a stand-in for a lost walk
            timed_s = _measured_before_s(self._parts.parts, walk_end_s)
            if timed_s < MIN_MEASURED_FRACTION * walk_end_s:
                return None, None, ImuNote(IMU_MISSING, self._too_little_measured(gaps, self._parts, seq, recorded_s, missing,
                                                                                  walk_end_s=walk_end_s))
        return gait, rows, note

    def _gait_in_parts(self, grid: np.ndarray, gaps, recorded_s: float, seq0: int,
                       seq: np.ndarray, has_reading: np.ndarray) -> tuple[dict | None, list | None, ImuNote | None]:
        """The walk measured in the parts between its unbridged IMU gaps
        (:mod:`station.protocols.walk_parts`), on the treadmill and overground alike: the gait
        given while enough of its ``recorded_s`` (s) was measured, else refused with what was missing.
        ``has_reading``: which received frames (``seq``) carry the sensor's readings."""
        from station.analysis.gait import gait_by_minute, gait_metrics
        from station.analysis.imu_frame import align_to_body, check_mounting
        from station.protocols.walk_parts import MIN_MEASURED_FRACTION, _runs, gap_causes, measure_in_parts

        fs = self.rate_hz
        expected = int(seq[-1] - seq0 + 1)
        dropped, dropouts = _bridged_sensor_dropouts(grid, gaps.first_frame, seq, has_reading)
        self._sensor_bridged = (dropped, dropouts)  # the rest of the bridged frames the station lost
        if dropped > MAX_IMU_MISSING_FRACTION * expected and dropouts > 1:
            return None, None, ImuNote(IMU_MISSING, f"the lower-back sensor's readings missing for {dropped / fs:.1f} of "
                                       f"{expected / fs:.1f} s, in {dropouts} short gaps (more than "
                                       f"{100 * MAX_IMU_MISSING_FRACTION:g} % of the recording: the readings kept "
                                       "dropping out)")
        finite = np.isfinite(grid).all(axis=1)
        up, toes = self.mounting
        problem = check_mounting(grid[finite, :3], up_axis=up, toes_axis=toes)
        if problem:
            return None, None, ImuNote(IMU_MISALIGNED, f"the lower-back sensor misaligned: {problem}")
        height = self.settings.sensor_height_m
        treadmill = self.treadmill

        def analyse(part: np.ndarray):
            # the last column flags the rows filled in by the bridge: the contacts next to them are uncertain
            bridged_s = [(a / fs, (b - a) / fs) for a, b in _runs(part[:, 6] > 0)]
            acc_body, _ = align_to_body(part[:, :3], part[:, 3:6], up_axis=up, toes_axis=toes, fs_hz=fs)
            return (gait_metrics(acc_body, fs, sensor_height_m=height, bridged_s=bridged_s),
                    gait_by_minute(acc_body, fs, sensor_height_m=height, bridged_s=bridged_s) if treadmill else None)

        received = np.zeros(grid.shape[0], dtype=bool)  # the rows whose frames arrived (a stall: none did)
        index = seq - gaps.first_frame
        received[index[(index >= 0) & (index < grid.shape[0])]] = True
        read = np.zeros(grid.shape[0], dtype=bool)  # the rows that hold the sensor's own readings
        read_index = index[np.asarray(has_reading, dtype=bool)]
        read[read_index[(read_index >= 0) & (read_index < grid.shape[0])]] = True
        bridged = finite & ~read
        try:
            session = measure_in_parts(np.column_stack([grid, bridged]), fs, analyse, received)
        except ValueError as exc:
            return None, None, ImuNote(IMU_MISALIGNED, f"the lower-back sensor misaligned or its readings unusable: {exc}")
        offset_s = (gaps.first_frame - seq0) / fs  # readings missing right after the go
        trailing_s = (gaps.trimmed_frames - (gaps.first_frame - seq0)) / fs  # and before the last frame
        # readings missing at an edge for no longer than a bridged gap are no dropout (nothing to bridge to)
        edges_s = sum(t for t in (offset_s, trailing_s) if t > MAX_BRIDGE_S)
        session.not_measured_s = round(grid.shape[0] / fs - session.measured_s + edges_s, 6)
        session.dropouts += int(offset_s > MAX_BRIDGE_S) + int(trailing_s > MAX_BRIDGE_S)
        # s after the go, as the trial CSV's time_s and the gates' times: the grid's first row is the first
        # frame with readings, a whole number of periods after the go
        shift_s = offset_s + self._first_frame_s()
        session.parts = [(round(a + shift_s, 6), round(b + shift_s, 6)) for a, b in session.parts]
        self._imu_gaps = gaps
        self._parts = session
        self._grid = (grid, shift_s)
        self._bridged_s = [(round(a / fs + shift_s, 6), round((b - a) / fs, 6)) for a, b in _runs(bridged)]
        if session.gait is None or session.measured_s < MIN_MEASURED_FRACTION * recorded_s:
            return None, None, ImuNote(IMU_MISSING, f"the lower-back sensor's readings missing for "
                                       f"{session.not_measured_s:.0f} of {recorded_s:.0f} s "
                                       f"({gap_causes(session.dropouts, session.stalls)} longer than {MAX_BRIDGE_S:g} s); "
                                       f"at least {100 * MIN_MEASURED_FRACTION:.0f} % of a session must be measured")
        gait, rows = session.gait, session.rows
        if shift_s:
            gait["initial_contacts_s"] = [round(t + shift_s, 6) for t in gait["initial_contacts_s"]]
            for row in rows:
                row["start_s"] = round(row["start_s"] + shift_s, 6)
                row["end_s"] = round(row["end_s"] + shift_s, 6)
        return gait, (rows if treadmill else None), None

    def _first_frame_s(self) -> float:
        """The first recorded frame's place on the sample grid after the go, s: a whole number of
        periods, as the trial CSV's ``time_s`` (:class:`station.protocols.sinks.FileSink`)."""
        if not self._n:
            return 0.0
        return max(0, periods_after_go(int(self._rec["t_ns"][0]), self._t0_ns, self.rate_hz)) / self.rate_hz

    def _silent_tail_s(self) -> float:
        """How long the station received nothing before the trial's end passed on its clock (the trial ended
        in a stall, :attr:`_silent_end_s`: from the last frame's end), s; 0 when that was no longer than a
        bridged gap (:data:`station.analysis.imu_gaps.MAX_BRIDGE_S`)."""
        tail_s = self._silent_end_s - 1.0 / self.rate_hz  # from the last frame's end, not its start
        return round(tail_s, 6) if tail_s > MAX_BRIDGE_S else 0.0

    def _too_little_measured(self, gaps, session, seq: np.ndarray, recorded_s: float, missing: int,
                             walk_end_s: float | None = None) -> str:
        """Why an overground walk's gait is refused (less than half of it measured in parts of
        :data:`station.protocols.walk_parts.MIN_PART_S` or more that saw its steps, or less than half
        of the walk up to its last gate at ``walk_end_s``, s after the go): its longest gap
        as where and what (a stall of the station, the sensor's readings missing, the sensor gone for
        good), the parts that saw no steps (:func:`station.protocols.walk_parts.blind_parts`), and how
        much of the ``recorded_s`` (the trial's, s), or of the walk up to the gate, was measured
        against the rule."""
        from station.analysis.gait import MIN_BOUT_STEPS
        from station.protocols.walk_parts import MIN_MEASURED_FRACTION, MIN_PART_S, gap_causes

        fs = self.rate_hz
        offset_s = (gaps.first_frame - int(seq[0])) / fs  # readings missing right after the go
        lead_s = self._first_frame_s()  # the first frame's time after the go
        trailing_s = (gaps.trimmed_frames - (gaps.first_frame - int(seq[0]))) / fs  # and before the last frame
        found = [(at_s + offset_s + lead_s, length_s, at_s) for at_s, length_s in gaps.long_gaps_s]
        if offset_s > MAX_BRIDGE_S:
            found.append((0.0, offset_s, None))
        silent_s = self._silent_tail_s()  # the trial ended in a stall: nothing received after the last frame
        if silent_s:
            found.append((lead_s + (int(seq[-1]) - int(seq[0]) + 1) / fs, silent_s, "end"))
        longest = max(found, key=lambda g: g[1]) if found else None
        if self._lost_words:  # the station's data lost for good at the recording's end: nothing after it was measured
            where = self._lost_words[0].lower() + self._lost_words[1:]
        elif longest is not None and longest[2] == "end" and not (trailing_s > MAX_BRIDGE_S and trailing_s >= silent_s):
            self._stall_in_note = self._silent_end_in_note = True
            where = (f"the station measured nothing for the last {silent_s:.1f} s of the trial (from {longest[0]:.1f} s "
                     f"after the go; {HELD_UP}; gaps up to {MAX_BRIDGE_S:g} s are bridged, a longer one can hide steps)")
        elif trailing_s > MAX_BRIDGE_S and (longest is None or trailing_s >= longest[1]):
            at_s = lead_s + (int(seq[-1]) - int(seq[0]) + 1) / fs - trailing_s  # after its last reading
            where = (f"the lower-back sensor stopped sending {at_s:.1f} s after the go and did not come back ("
                     f"{missing / fs:.1f} of {recorded_s:.1f} s without its readings): unplugged or failing, check its cable")
        elif longest is not None and longest[2] is not None and self._stalled(gaps, seq, longest[2], longest[1]):
            self._stall_in_note = True
            where = (f"the station measured nothing for {longest[1]:.2f} s at {longest[0]:.1f} s after the go ({HELD_UP}; "
                     f"gaps up to {MAX_BRIDGE_S:g} s are bridged, a longer one can hide steps)")
        elif longest is not None:
            where = (f"the lower-back sensor's readings missing for {longest[1]:.2f} s at {longest[0]:.1f} s after the go (gaps up to "
                     f"{MAX_BRIDGE_S:g} s are bridged; a longer one can hide steps)")
        else:  # the readings came whole (no gap longer than the bridged ones): the walk's steps are what is missing
            # (a recording too short to analyse is too_short, not imu_missing: it said "too short" here)
            where = (f"the walk's steps not found in the lower-back sensor's readings (none of them missing for longer "
                     f"than {MAX_BRIDGE_S:g} s)")
            if session.blind and not session.parts:  # no gap, so one part, the whole walk, without its steps: said
                # plainly (it read "a part between gaps (9.0 s at 0.0 s) held fewer steps ...", where there was none)
                return (f"{where}; they show fewer than a walking bout's {MIN_BOUT_STEPS} steps in the {recorded_s:.1f} s "
                        "from the go to the end")
        gaps_n = session.dropouts + session.stalls
        if gaps_n > 1:
            where += f" ({gap_causes(session.dropouts, session.stalls)} longer than {MAX_BRIDGE_S:g} s in all)"
        if session.stalls:
            self._stall_in_note = True  # the lost frames are said here (no second 'frames were lost')
        if session.blind:
            a, b = session.blind[0]
            # its length rounded as the recording's is (the part (0.01, 2.56) read '2.6 s' in a '2.5 s' recording)
            where += (f"; {'a part' if len(session.blind) == 1 else f'{len(session.blind)} parts'} between gaps "
                      f"({round(b - a, 6):.1f} s at {a:.1f} s{'' if len(session.blind) == 1 else ', ...'}) held fewer steps than a "
                      f"walking bout's {MIN_BOUT_STEPS}, so {'its' if len(session.blind) == 1 else 'their'} walking was "
                      "not measured")
        if walk_end_s is not None:
            timed_s = _measured_before_s(session.parts, walk_end_s)
            share = math.floor(100.0 * timed_s / walk_end_s)
            return (f"{where}; {timed_s:.1f} of the {walk_end_s:.1f} s from the go to the gate at "
                    f"{self.spec.timed_to_m:g} m ({share} %) were measured in parts of {MIN_PART_S:g} s or more, under "
                    f"the {100 * MIN_MEASURED_FRACTION:.0f} % of the walk the gait needs (the steps after the gate "
                    "are its end, not the walk)")
        share = math.floor(100.0 * session.measured_s / recorded_s)  # floored: never '50 %, under the 50 %'
        return (f"{where}; {session.measured_s:.1f} of the {recorded_s:.1f} s from the go to the end ({share} %) were "
                f"measured in parts of {MIN_PART_S:g} s or more, under the {100 * MIN_MEASURED_FRACTION:.0f} % the gait "
                "needs")

    def _stalled(self, gaps, seq: np.ndarray, at_s: float, length_s: float) -> bool:
        """Whether no frame at all arrived in the gap at ``at_s`` (s from the grid's first row) lasting
        ``length_s``: the station measured nothing (its measuring program was held up: a stall of the
        acquisition), rather than the sensor's readings missing."""
        first = gaps.first_frame + int(round(at_s * self.rate_hz))
        inside = (seq >= first) & (seq < first + int(round(length_s * self.rate_hz)))
        return not inside.any()

    def _steps_outside_bouts(self, recorded_s: float) -> np.ndarray:
        """Every step the lower-back sensor saw in the measured parts, in a walking bout or not
        (:func:`station.analysis.gait.detect_steps`), s after the go: a patient who took one to three
        steps and stopped left no walking bout, and is not one who never started."""
        from station.analysis.gait import detect_steps
        from station.analysis.imu_frame import align_to_body

        if self._grid is None:
            return np.zeros(0)
        grid, offset_s = self._grid
        fs, (up, toes) = self.rate_hz, self.mounting
        found = []
        for a, b in self._measured_parts_s(recorded_s):
            rows = grid[max(0, int(round((a - offset_s) * fs))) : int(round((b - offset_s) * fs))]
            try:
                acc_body, _ = align_to_body(rows[:, :3], rows[:, 3:], up_axis=up, toes_axis=toes, fs_hz=fs)
                found.append(a + detect_steps(acc_body[:, 0], fs))
            except ValueError:  # a part too short, or without readings: no steps seen there
                continue
        return np.concatenate(found) if found else np.zeros(0)

    def _measured_parts_s(self, recorded_s: float) -> list[tuple[float, float]]:
        """``(start_s, end_s)`` after the go of the parts the gait was measured in (the whole recording
        when nothing was cut), s."""
        parts = self._parts
        return list(parts.parts) if parts is not None else [(0.0, recorded_s)]

    def _stopped_at(self, ics: np.ndarray, recorded_s: float, imu_note: str | None) -> float | None:
        """When the patient stopped walking for good (s after the go), if the IMU says so: no step in
        the :data:`STOPPED_S` after the last one, all of them measured (the last step's part runs on
        to the end of the recording; steps hidden in a gap after it are no stop)."""
        if ics.size < 2 or imu_note is not None:
            return None
        last = float(ics[-1])
        end_s = next((b for a, b in self._measured_parts_s(recorded_s) if a <= last <= b), recorded_s)
        if end_s - last >= STOPPED_S:
            return last
        return None


class _RecordedGates:
    """The light gates as a walk trial recorded them (:meth:`WalkMachine.judged_from_recording`): ``crossings``,
    gate number -> :class:`station.hw.gates.GateCrossing` (or None: the gate did not see the patient)."""

    def __init__(self, crossings: dict) -> None:
        self.crossings = crossings


def _measured_before_s(parts, end_s: float) -> float:
    """How much of the time from the go to ``end_s`` the ``parts`` (``(start_s, end_s)`` after the go)
    measured, s.

    >>> _measured_before_s([(0.01, 1.1), (3.1, 7.0)], 5.0)
    2.99
    """
    return round(sum(max(0.0, min(b, end_s) - max(a, 0.0)) for a, b in parts), 6)


def _when(at_s: float) -> str:
    """A time after the go in words: ``12.5 s``; past two minutes in minutes and the whole seconds passed, as the
    treadmill's timer counts them (:func:`~station.protocols.walk_words.clock_words`): ``14 min 12 s``, not
    ``14.2 min``.

    >>> _when(12.54), _when(852.9), _when(840.0)
    ('12.5 s', '14 min 12 s', '14 min')
    """
    if at_s < 120.0:
        return f"{at_s:.1f} s"
    whole = math.floor(at_s)
    return f"{whole // 60} min {whole % 60} s" if whole % 60 else f"{whole // 60} min"


def _summary_words(result: TrialResult) -> str:
    if walk_not_completed(result.valid, result.issues):  # the patient stopped: a result, not a faulty recording
        return WALK_NOT_COMPLETED.capitalize() + ": " + " ".join(i.message for i in result.issues)
    if not result.valid:
        return "Invalid trial: " + " ".join(i.message for i in result.issues)
    w = result.walk or {}
    if w.get("setting") == "treadmill":
        walking = w.get("walking_min")
        return f"Session ended: {walked_words(walking)} walking." if walking is not None else "Session ended."
    if w.get("walk_time_s") is not None:
        return f"{w['walk_time_s']:.2f} s, {w['walk_speed_m_s']:.2f} m/s."
    return "Trial complete."
