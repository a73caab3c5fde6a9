"""A walk measured in the parts between the lower-back sensor's dropouts: a treadmill session,
and an overground walk (the 3-metre backward walk, the 10-metre walk) the same way.

A dropout longer than :data:`station.analysis.imu_gaps.MAX_BRIDGE_S` (0.1 s) can hide a step, so it
is not filled in; but it does not make the rest of a 30-minute session unmeasured either. The
session is cut at every such gap into parts; each part is analysed on its own with the public gait
functions (:func:`station.analysis.gait.gait_metrics`, :func:`~station.analysis.gait.gait_by_minute`)
and the parts are summed: minutes walked, steps and pauses add up, the minute rows follow one
another (each row within one part, its ``start_s`` / ``end_s`` in session time, ``part`` says
which), and the time inside the gaps is reported as not measured, never guessed as walking.

Two kinds of gap are told apart (given which frames arrived): a *sensor dropout* (frames came, the
lower-back sensor's readings in them did not: a cable, a failing sensor) and a *station stall* (no
frame came at all: the station measured nothing, its measuring program was held up (the acquisition
loop blocked, the Pi late), and the frames of that time were lost). Both are time not measured; the words say which, since they call for different checks.

Rule: the session stays valid while at least :data:`MIN_MEASURED_FRACTION` of its recording was
measured. The minutes walked then count the measured time only (a floor of the dose: the
clinician sees how much was not measured and can add it); a session mostly unmeasured is
invalid, because its measured minutes would say less about the dose than the gaps hide.

Overground, the same rule with the walk's recording (the go to the last timing gate and the
:data:`station.protocols.walk.SETTLE_S` after it) as the whole: the gait (cadence, variability,
symmetry, step length) is given from the parts when parts of at least :data:`MIN_PART_S` cover at
least :data:`MIN_MEASURED_FRACTION` of the recording, else refused with what was missing; the walk's
time and speed come from the light gates on their own timestamps and stand either way. For a short
walk this means a gap in its first or last 2 s leaves a part too short to analyse, counted as not
measured with the gap (a 2-s stall 1 s after the go leaves 3 s unanalysed). A part analysed
overground before the end of the walking that holds no steps (fewer than two contacts) is not
measured either (:func:`blind_parts`): the patient walks from the go to the last gate (and on to
the walkway's end), so such a part is not a pause but walking too short for a walking bout's four
steps, which the analysis did not see. Measured on the virtual walker's 3-metre backward walk
(``tests.protocols.walk_support.run_walk``, seed 3: 11 steps from 0.7 to 6.8 s, the 3-m gate at
5.0 s, 7.0 s recorded): a 1.5-s stall 1 s after the go leaves one part of 4.4 s (63 %): given; a
3.5-s stall there leaves 2.4 s: refused; a 1.5-s stall 2.5 s after the go leaves a part of 2.5 s
holding 3 steps, no bout, so 2.9 s measured (42 %): refused (before the blind parts were counted,
its gait was given from the 4 steps after the stall, 3 of them past the gate); a 1-s stall 2 s after
the go leaves 2 s without a bout and 3.9 s measured (56 %): given, from 6 steps; a 0.3-s dropout 2 s
after the go (seed 13) leaves parts of 2.0 s (no bout: not measured) and 4.9 s: given. Why the
same half, not a rule of its own: the gait measures of a walk are averages over its steps, and
from at least half of them they describe the walk as the treadmill's measured half describes its
session; with less, the steps not measured (the start, a stumble, a
pause hidden in the gap) could be the ones that differ, and a 3-metre walk has only 6-15 steps.
Why not shorter parts: under 2 s (3-4 steps) the gait filters' edges take most of the part
(:data:`MIN_PART_S`). No step is counted, and no step interval measured, across a gap (cadence and
variability are within parts), and a stretch without steps is only a stop when it lies inside one
part (:func:`still_stretches`).

Combining the parts' gait (each part measured by :func:`~station.analysis.gait.gait_metrics`):
``steps`` and ``duration_s`` add up; ``step_time_s``, ``cadence_steps_min``, ``step_length_m``
and the two CVs are averaged over the parts weighted by each part's step intervals
(``duration_s / step_time_s``), so the variability stays within-part (the edge of a gap is not a
step); regularity, symmetry and speed are weighted by each part's time walking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from station.analysis.gait import MIN_DURATION_S

MIN_MEASURED_FRACTION = 0.5
"""A treadmill session with less than this share of its recording measured by the lower-back sensor
(the rest in dropouts too long to bridge, or in parts too short to analyse) is invalid."""

MIN_PART_S = MIN_DURATION_S
"""A part between two dropouts shorter than this is not analysed (too short for the gait filters:
the gait analysis's own minimum, :data:`station.analysis.gait.MIN_DURATION_S`) and counts as not
measured, s."""

_STEP_WEIGHTED = ("step_time_s", "cadence_steps_min", "step_time_cv_pct", "stride_time_cv_pct", "step_length_m")
_TIME_WEIGHTED = ("step_regularity", "stride_regularity", "step_symmetry", "walking_speed_m_s")


@dataclass
class SessionParts:
    """What :func:`measure_in_parts` found.

    Attributes
    ----------
    gait : dict
        The gait keys of DESIGN.md §8 over every part (``initial_contacts_s`` in session time, s).
    rows : list of dict
        The minute rows of every part, in order, with ``part`` (1, 2, ...) and session times.
    parts : list of (float, float)
        ``(start_s, end_s)`` of each analysed part, s from the session's first frame.
    measured_s : float
        Time inside analysed parts, s.
    not_measured_s : float
        Time of the recording outside them (dropouts and parts too short), s.
    dropouts : int
        Gaps longer than the bridge limit in which frames arrived without the sensor's readings.
    stalls : int
        Gaps longer than the bridge limit in which no frame arrived at all (the station's data lost).
    blind : list of (float, float)
        Parts of an overground walk analysed without seeing its steps (:func:`blind_parts`), taken
        out of ``parts`` and counted as not measured; set by the walk, not here.
    """

    gait: dict
    rows: list[dict] = field(default_factory=list)
    parts: list[tuple[float, float]] = field(default_factory=list)
    measured_s: float = 0.0
    not_measured_s: float = 0.0
    dropouts: int = 0
    stalls: int = 0
    blind: list[tuple[float, float]] = field(default_factory=list)


def _runs(finite: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the runs of True in ``finite``."""
    edges = np.diff(np.concatenate([[0], finite.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def _weighted(parts: list[dict], key: str, weights: list[float]) -> float | None:
    pairs = [(p[key], w) for p, w in zip(parts, weights) if p.get(key) is not None and w > 0
             and math.isfinite(p[key])]
    if not pairs:
        return None
    total = sum(w for _, w in pairs)
    return float(sum(v * w for v, w in pairs) / total)


def combine_gait(parts: list[dict], offsets_s: list[float]) -> dict:
    """One set of gait keys from the gait keys of consecutive parts of a session.

    ``offsets_s``: each part's start in session time, s (its contacts are shifted by it).

    >>> a = {"steps": 21, "duration_s": 10.0, "step_time_s": 0.5, "cadence_steps_min": 120.0,
    ...      "step_time_cv_pct": 2.0, "stride_time_cv_pct": 1.0, "step_regularity": 0.9,
    ...      "stride_regularity": 0.95, "step_symmetry": 0.95, "step_length_m": 0.5,
    ...      "walking_speed_m_s": 1.0, "initial_contacts_s": [0.5, 1.0]}
    >>> b = dict(a, steps=11, duration_s=5.0, step_time_cv_pct=5.0, initial_contacts_s=[0.2])
    >>> g = combine_gait([a, b], [0.0, 20.0])
    >>> g["steps"], g["duration_s"], round(g["step_time_cv_pct"], 1), g["initial_contacts_s"]
    (32, 15.0, 3.0, [0.5, 1.0, 20.2])
    """
    intervals = [(p["duration_s"] / p["step_time_s"]) if p.get("step_time_s") else 0.0 for p in parts]
    times = [p.get("duration_s") or 0.0 for p in parts]
    out: dict = {"steps": int(sum(p.get("steps") or 0 for p in parts)),
                 "duration_s": float(sum(times))}
    for key in _STEP_WEIGHTED:
        out[key] = _weighted(parts, key, intervals)
    for key in _TIME_WEIGHTED:
        out[key] = _weighted(parts, key, times)
    out["initial_contacts_s"] = [float(t) + off for p, off in zip(parts, offsets_s) for t in p.get("initial_contacts_s", [])]
    return out


def measure_in_parts(grid: np.ndarray, fs_hz: float, analyse, received: np.ndarray | None = None) -> SessionParts:
    """Cut a session's IMU samples at their unbridged gaps and measure each part.

    Parameters
    ----------
    grid : ndarray, shape (N, K)
        The session on its frame grid (:func:`station.analysis.imu_gaps.bridge_gaps`): rows of a
        gap too long to bridge are NaN.
    fs_hz : float
        Frame rate, Hz.
    analyse : callable
        ``analyse(part) -> (gait keys, minute rows)`` for the rows of one part (the caller aligns
        them to the body and runs the gait functions); may raise ``ValueError``.
    received : ndarray of bool, shape (N,), optional
        Which rows' frames arrived (their ``seq`` was recorded). A gap in which none arrived is a
        station stall (``stalls``), one in which frames arrived without readings a sensor dropout
        (``dropouts``). Without it every gap is a dropout.

    Returns
    -------
    SessionParts
        ``gait`` is None when no part was long enough to analyse.

    Examples
    --------
    Twenty seconds with a 0.5-s dropout after 8 s: two parts, 0.5 s not measured.

    >>> grid = np.ones((2000, 1)); grid[800:850] = np.nan
    >>> def analyse(part):
    ...     n = part.shape[0] / 100.0
    ...     return {"steps": int(2 * n), "duration_s": n, "initial_contacts_s": []}, [
    ...         {"minute": 1, "start_s": 0.0, "end_s": n, "walking_s": n, "pauses": 0, "pause_s": 0.0}]
    >>> s = measure_in_parts(grid, 100.0, analyse)
    >>> s.parts, s.measured_s, s.not_measured_s, s.dropouts, s.gait["steps"]
    ([(0.0, 8.0), (8.5, 20.0)], 19.5, 0.5, 1, 39)
    >>> [(r["minute"], r["part"], r["start_s"]) for r in s.rows]
    [(1, 1, 0.0), (2, 2, 8.5)]

    The same gap with none of its frames received is a stall of the station, not a dropout:

    >>> received = np.ones(2000, dtype=bool); received[800:850] = False
    >>> s = measure_in_parts(grid, 100.0, analyse, received)
    >>> s.dropouts, s.stalls, s.not_measured_s
    (0, 1, 0.5)
    """
    finite = np.isfinite(grid).all(axis=1)
    runs = _runs(finite)
    min_rows = int(math.ceil(MIN_PART_S * fs_hz))
    total_s = grid.shape[0] / fs_hz
    gaps = list(zip([b for _, b in runs[:-1]], [a for a, _ in runs[1:]]))  # (start, stop) rows between the runs
    stalls = sum(1 for a, b in gaps if received is not None and not received[a:b].any())
    session = SessionParts(gait=None, dropouts=len(gaps) - stalls, stalls=stalls)
    gaits, offsets = [], []
    for a, b in runs:
        if b - a < min_rows:
            continue
        gait, rows = analyse(grid[a:b])
        start_s = a / fs_hz
        session.parts.append((round(start_s, 6), round(b / fs_hz, 6)))
        gaits.append(gait)
        offsets.append(start_s)
        for row in rows or []:
            row = dict(row, part=len(session.parts), minute=len(session.rows) + 1)
            row["start_s"] += start_s
            row["end_s"] += start_s
            session.rows.append(row)
    session.measured_s = round(sum(b - a for a, b in session.parts), 6)
    session.not_measured_s = round(total_s - session.measured_s, 6)
    if len(gaits) == 1:  # one part: its own gait (a ratio such as the symmetry not averaged), in session time
        session.gait = dict(gaits[0], initial_contacts_s=[float(t) + offsets[0] for t in gaits[0].get("initial_contacts_s", [])])
    elif gaits:
        session.gait = combine_gait(gaits, offsets)
    return session


def still_stretches(contacts_s, parts_s: list[tuple[float, float]], end_s: float) -> list[tuple[float, float]]:
    """``(start_s, length_s)`` of each stretch of measured time without a step, up to ``end_s``.

    A stretch runs from one initial contact to the next in the same part, and from the last
    contact before ``end_s`` to ``end_s`` when ``end_s`` lies in that contact's part. Never across a
    gap between parts: the steps in the gap were not measured, so the time from the last contact
    before it to the first after it says nothing about a stop (a 3-s dropout is not a 3-s stop).
    ``contacts_s``, ``parts_s`` (``(start_s, end_s)``) and ``end_s`` on one time axis, s.

    >>> still_stretches([1.0, 1.5, 2.0, 6.0, 6.5], [(0.0, 3.0), (5.0, 8.0)], 7.0)
    [(1.0, 0.5), (1.5, 0.5), (6.0, 0.5), (6.5, 0.5)]
    >>> still_stretches([1.0, 1.5, 4.0], [(0.0, 8.0)], 7.0)
    [(1.0, 0.5), (1.5, 2.5), (4.0, 3.0)]
    """
    out = []
    contacts = [float(c) for c in contacts_s if c <= end_s]
    for a, b in parts_s:
        mine = [c for c in contacts if a <= c <= b]
        if a <= end_s <= b + 1e-9 and mine:
            mine.append(float(end_s))
        out.extend((t0, round(t1 - t0, 6)) for t0, t1 in zip(mine, mine[1:]))
    return out


def blind_parts(contacts_s, parts_s: list[tuple[float, float]], gate_s: float) -> list[tuple[float, float]]:
    """The parts of an overground walk that were analysed but saw none of its steps: those that
    begin before the end of the walking and hold fewer than two initial contacts.

    The patient walks from the go to the walk's last timing gate ``gate_s`` (and on to the
    walkway's end, the last contact measured), so a part there without steps is not a pause: it was
    too short for a walking bout's steps (:data:`station.analysis.gait.MIN_BOUT_STEPS`,
    four), so its walking went unseen and is not measured. ``contacts_s``, ``parts_s``
    (``(start_s, end_s)``) and ``gate_s`` on one time axis, s.

    >>> blind_parts([4.4, 5.0, 5.6, 6.3], [(0.0, 2.5), (4.0, 7.0)], 5.0)
    [(0.0, 2.5)]
    >>> blind_parts([0.7, 1.3, 1.9, 2.5], [(0.0, 3.0), (4.5, 7.0), (9.0, 12.0)], 5.0)
    [(4.5, 7.0)]
    """
    contacts = [float(c) for c in contacts_s]
    walking_end_s = max([gate_s] + contacts)
    return [(a, b) for a, b in parts_s
            if a < walking_end_s and sum(1 for c in contacts if a <= c <= b) < 2]


HELD_UP = "its measuring program was held up"
"""Why the station measured nothing in a stall, in a clinician's words (:data:`STALL_WORDS`)."""

STALL_WORDS = f"the station measured nothing at all ({HELD_UP})"
"""What a station stall was, in the words a clinician reads wherever a walk says it (its results
and PDF, its warnings, its gait's reason): the live page's status strip says the same as it happens,
'the station has measured nothing for 1 s: its measuring program is held up'
(:func:`station.acquire.source.no_frames_words`), and so does the walk's live notice beside it. The
engineer's words (the acquisition loop stalled) are in the journal and the health's ``detail``."""


def not_measured_words(not_measured_s: float, dropouts: int, stalls: int = 0) -> str:
    """The time a session was not measured, as the visit results and the PDF say it.

    >>> not_measured_words(0.25, 1)
    '0.25 s not measured (1 sensor dropout)'
    >>> not_measured_words(75.04, 3)
    '75 s not measured (3 sensor dropouts)'
    >>> not_measured_words(1.5, 0, 1)
    '1.5 s not measured (1 station stall)'
    >>> not_measured_words(3.75, 2, 1)
    '3.75 s not measured (2 sensor dropouts, 1 station stall)'
    """
    amount = f"{not_measured_s:.2f}".rstrip("0").rstrip(".") if not_measured_s < 10 else f"{not_measured_s:.0f}"
    return f"{amount} s not measured ({gap_causes(dropouts, stalls)})"


def gap_causes(dropouts: int, stalls: int = 0) -> str:
    """The unbridged gaps of a session by cause, in words.

    >>> gap_causes(1), gap_causes(2, 1), gap_causes(0, 3)
    ('1 sensor dropout', '2 sensor dropouts, 1 station stall', '3 station stalls')
    """
    causes = [f"{dropouts} sensor dropout{'' if dropouts == 1 else 's'}" if dropouts or not stalls else "",
              f"{stalls} station stall{'' if stalls == 1 else 's'}" if stalls else ""]
    return ", ".join(c for c in causes if c)
