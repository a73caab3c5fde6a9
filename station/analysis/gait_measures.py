"""The temporal and spatial gait keys of a walk's steps: its contacts analysed once (:class:`_Walk`),
then cadence, step time, variabilities, step length and speed from the steps and strides a caller
chooses (a window of a walk, a minute of a session).

:func:`_analyse` finds the contacts and bouts (:mod:`station.analysis.gait_contacts`, or groups
contacts given from elsewhere the same way), keeps the valid steps and, with a sensor height,
measures each one's length (:mod:`station.analysis.gait_step_length`).

Method
------
**Temporal keys** from the initial contacts of each bout: step times are the intervals between
consecutive contacts that lie within :data:`STEP_TIME_RANGE` of the bout's median (others hold
a missed or split contact, or a hesitation); stride times for variability span two such
steps. Cadence is the mean of 120 / stride time over every stride of the bout (contact to the
next but one) of :data:`STRIDE_TIME_RANGE_S`, 0.2-3 s: Mobilise-D's stride selection (mobgap
``StrideSelection``) and the stride-by-stride definition of its reference system (INDIP, Salis
et al. 2023; on the shared straight walks this definition on the reference's own contacts
reproduces the reference cadence exactly). A hesitation inside a bout lowers it, as it lowers
the reference's; variability is the coefficient of variation (SD / mean, %).
Step length is the mean over the valid steps; walking speed the mean over strides of two valid
steps of (two step lengths) / stride time (without such a stride, the steps' total length over
their total time). Times in s, cadence in steps/min, lengths in m.

**Contacts next to a bridged gap** (DESIGN.md §3: a gap is handled explicitly, never closed
silently). Samples lost in a gap of up to 0.1 s are filled in by a straight line
(:func:`station.analysis.imu_gaps.bridge_gaps`); a heel impact inside such a gap is gone, and the
contact is then placed on whatever rise of the acceleration is left. A contact found within a
bridged gap, or within :func:`gap_margin_s` of one, has an uncertain time
(:func:`contacts_near_gaps`): the step and stride intervals that touch it are left out of step time,
the two CVs, step length and speed, as the intervals that are not single steps are
(:func:`_valid_steps`); the contact still counts in ``steps`` and in the cadence (a foot landed there).
The margin is the reach of one sample into the contact's time: the contact is the steepest rise of
the acceleration low-passed at :data:`~station.analysis.gait_band.IMPACT_CUTOFF_HZ` (20 Hz, 4th order,
zero-phase), and the derivative of that filter's impulse response holds 99 % of its energy within
±1 / 20 Hz = ±0.05 s of the sample (and falls below 10 % of its peak there; computed at 100, 200 and
320 Hz), so a filled-in sample further away than that cannot move the steepest rise measurably.

References
----------
Kluge F, Del Din S, Cereatti A, et al. (2021) Consensus based framework for digital mobility
monitoring. PLoS One 16:e0256541.
Salis F, Bertuletti S, Bonci T, et al. (2023) A multi-sensor wearable system for the assessment of
diseased gait in real-world conditions (INDIP). Front Bioeng Biotechnol 11:1143248.
Küderle A, Ullrich M, Micó-Amigo ME, et al. (2024) mobgap: the Mobilise-D gait analysis pipeline
(github.com/mobilise-d/mobgap; ``StrideSelection`` preset ``mobilised``: strides of 0.2-3.0 s).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .gait_band import IMPACT_CUTOFF_HZ, STEP_TIME_RANGE
from .gait_contacts import _given_contacts, _steps_and_bouts
from .gait_step_length import _pendulum_lengths, _vertical_displacement

STRIDE_TIME_RANGE_S = (0.2, 3.0)
"""Strides (initial contact to the next but one) that count for cadence, s: Mobilise-D's stride
selection, duration 0.2-3.0 s (mobgap ``StrideSelection``, preset ``mobilised``, the rules of its
walking-bout assembly, built on the consensus of Kluge et al. 2021 and normative data; Küderle et
al. 2024). Cadence is the mean of 120 / stride time over every such stride of a bout, as the
Mobilise-D reference system (INDIP) reports it: a hesitation inside a bout lowers it, as it lowers
the reference's."""


def gap_margin_s(fs_hz: float) -> float:
    """How far from a bridged gap a contact's time is still uncertain, s: one period of the impact
    filter's cut-off (:data:`~station.analysis.gait_band.IMPACT_CUTOFF_HZ`, capped at 0.4 × the sample
    rate ``fs_hz``, Hz, as the contact detector caps it), within which its differentiated impulse
    response holds 99 % of its energy (module notes).

    >>> gap_margin_s(100.0), gap_margin_s(20.0)
    (0.05, 0.125)
    """
    return 1.0 / min(IMPACT_CUTOFF_HZ, 0.4 * float(fs_hz))


def contacts_near_gaps(contacts_s, bridged_s, fs_hz: float) -> np.ndarray:
    """Which initial contacts have an uncertain time: those within a bridged gap or within
    :func:`gap_margin_s` of it (module notes).

    Parameters
    ----------
    contacts_s : array_like
        Initial contacts, s.
    bridged_s : list of (float, float)
        ``(start_s, length_s)`` of each run of samples filled in by interpolation, s, on the same
        time axis (:attr:`station.analysis.imu_gaps.GapReport.bridged_s`); the gap spans
        ``start_s`` to ``start_s + length_s`` (the first reading after it).
    fs_hz : float
        Sample rate, Hz.

    Returns
    -------
    ndarray of bool, one per contact.

    Examples
    --------
    Two samples lost at 3.00 s (100 Hz): a contact at 3.03 s and one at 2.96 s are next to the
    gap, one at 2.90 s is not.

    >>> contacts_near_gaps([2.90, 2.96, 3.03, 3.60], [(3.0, 0.02)], 100.0).tolist()
    [False, True, True, False]
    """
    t = np.asarray(contacts_s, dtype=np.float64).reshape(-1)
    near = np.zeros(t.shape, dtype=bool)
    margin = gap_margin_s(fs_hz)
    for start, length in bridged_s:
        near |= (t >= start - margin - 1e-9) & (t <= start + length + margin + 1e-9)
    return near


def _cv_pct(values: np.ndarray) -> float | None:
    if values.size < 2:
        return None
    mean = float(values.mean())
    if mean <= 0:
        return None
    return float(100.0 * values.std(ddof=1) / mean)


@dataclass
class _Walk:
    """Everything the public functions report, computed once."""

    fs: float
    ics: np.ndarray  # sample indices of initial contacts in bouts
    bouts: list[np.ndarray]  # positions into ics
    steps: list[tuple[int, int]]  # valid steps: (i, i + 1) positions into ics, same bout, certain times
    step_length_m: dict[tuple[int, int], float] | None  # per valid step, or None without height


def _valid_steps(ics: np.ndarray, bouts: list[np.ndarray], uncertain: np.ndarray | None = None) -> list[tuple[int, int]]:
    """Intervals between consecutive contacts of a bout that are single steps: within
    :data:`STEP_TIME_RANGE` of the bout's median step time (others are a missed or split step),
    and timed by two contacts whose times are certain (``uncertain``: one flag per contact, True
    next to a bridged gap, :func:`contacts_near_gaps`)."""
    lo, hi = STEP_TIME_RANGE
    steps = []
    for b in bouts:
        times = np.diff(ics[b])
        median = float(np.median(times))
        for k, i in enumerate(b[:-1]):
            if lo * median <= times[k] <= hi * median and (uncertain is None or not (uncertain[i] or uncertain[i + 1])):
                steps.append((int(i), int(i) + 1))
    return steps


def _analyse(acc_body: np.ndarray, fs: float, height: float | None, contacts_s=None,
             bridged_s: list[tuple[float, float]] = ()) -> _Walk:
    """The walk's contacts, bouts and valid steps; ``bridged_s``: ``(start_s, length_s)`` of the
    gaps filled in by interpolation (the steps touching a contact next to one are not valid)."""
    acc_v = acc_body[:, 0]
    if contacts_s is None:
        ics, bouts = _steps_and_bouts(acc_v, fs, acc_body[:, 2])
    else:
        ics, bouts = _given_contacts(contacts_s, acc_v.shape[0], fs)
    uncertain = contacts_near_gaps(ics / fs, bridged_s, fs) if len(bridged_s) else None
    walk = _Walk(fs=fs, ics=ics, bouts=bouts, steps=_valid_steps(ics, bouts, uncertain), step_length_m=None)
    if height is not None and walk.steps:
        z = _vertical_displacement(acc_v, fs)
        lengths: dict[tuple[int, int], float] = {}
        for b in bouts:
            per_step = _pendulum_lengths(z, ics[b], height)
            lengths.update({(int(i), int(i) + 1): float(v) for i, v in zip(b[:-1], per_step)})
        walk.step_length_m = {s: lengths[s] for s in walk.steps}
    return walk


def _cadence_strides(walk: _Walk) -> list[tuple[int, int]]:
    """Every stride of every bout whose time lies within :data:`STRIDE_TIME_RANGE_S`: (i, i + 2),
    positions into ``walk.ics``."""
    lo, hi = (v * walk.fs for v in STRIDE_TIME_RANGE_S)
    strides = []
    for b in walk.bouts:
        times = walk.ics[b[2:]] - walk.ics[b[:-2]]
        starts = b[:-2][(times >= lo) & (times <= hi)].tolist()
        strides.extend(zip(starts, [i + 2 for i in starts]))
    return strides


def _temporal(walk: _Walk, steps: list[tuple[int, int]], strides: list[tuple[int, int]], n_contacts: int) -> dict:
    """Temporal keys from the valid ``steps`` (:func:`_valid_steps`) and the cadence ``strides``
    (:func:`_cadence_strides`) chosen by the caller. Cadence is the mean of 120 / stride time over
    ``strides`` (the reference's definition); step time and the variabilities use only valid steps
    and strides of two valid steps, so that a missed or split contact does not move them."""
    fs = walk.fs
    ics = walk.ics
    step_times = np.array([(ics[j] - ics[i]) / fs for i, j in steps])
    starts = {i for i, _ in steps}
    stride_times = np.array([(ics[i + 2] - ics[i]) / fs for i in sorted(starts) if (i + 1) in starts])
    cadence_strides = np.array([(ics[j] - ics[i]) / fs for i, j in strides])
    out: dict = {
        "steps": int(n_contacts),
        "cadence_steps_min": None,
        "step_time_s": None,
        "step_time_cv_pct": _cv_pct(step_times),
        "stride_time_cv_pct": _cv_pct(stride_times),
    }
    if step_times.size:
        out["step_time_s"] = float(step_times.mean())
    if cadence_strides.size:
        out["cadence_steps_min"] = float(np.mean(120.0 / cadence_strides))
    elif step_times.size:
        out["cadence_steps_min"] = float(60.0 / step_times.mean())
    return out


def _spatial(walk: _Walk, steps: list[tuple[int, int]]) -> dict:
    if walk.step_length_m is None or not steps:
        return {"step_length_m": None, "walking_speed_m_s": None}
    lengths = np.array([walk.step_length_m[s] for s in steps])
    starts = {i for i, _ in steps}
    stride_speeds = [
        (walk.step_length_m[(i, i + 1)] + walk.step_length_m[(i + 1, i + 2)]) * walk.fs / (walk.ics[i + 2] - walk.ics[i])
        for i in sorted(starts) if (i + 1) in starts
    ]
    if stride_speeds:
        speed = float(np.mean(stride_speeds))
    else:
        times = np.array([(walk.ics[j] - walk.ics[i]) / walk.fs for i, j in steps])
        speed = float(lengths.sum() / times.sum())
    return {"step_length_m": float(lengths.mean()), "walking_speed_m_s": speed}
