"""Lost IMU samples: put a recording back on its frame grid and bridge the short gaps, explicitly.

The station's frames carry a counter ``seq`` (DESIGN.md §3): a lost frame is a missing ``seq``, and
a frame whose IMU reading failed carries NaN in its six IMU columns. Gait analysis needs evenly
spaced samples: dropping the missing ones would close the gap silently and shorten every step
across it. :func:`bridge_gaps` instead rebuilds the evenly spaced grid, fills a gap of at most
:data:`MAX_BRIDGE_S` by linear interpolation (and counts it), and reports every longer gap so that
the caller refuses the recording, or the part of it, with the reason.

Why 0.1 s: the initial contacts come from the vertical acceleration band-passed to 0.15-3.14 Hz
(:data:`station.analysis.gait.BAND_HZ`), whose fastest component lasts 0.32 s per cycle; a
straight line over a tenth of a second stays within a few percent of such a signal, and a step
(0.25 s at the fastest) cannot hide in it entirely. A longer gap can swallow a heel impact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

MAX_BRIDGE_S = 0.1
"""Longest run of missing samples filled by linear interpolation, s."""


def max_bridge_frames(fs_hz: float, max_gap_s: float = MAX_BRIDGE_S) -> int:
    """Longest run of missing samples that :func:`bridge_gaps` fills at ``fs_hz`` (Hz), in samples:
    the whole samples in ``max_gap_s`` (s); 10 at 100 Hz, 32 at 320 Hz.

    >>> max_bridge_frames(100.0), max_bridge_frames(320.0)
    (10, 32)
    """
    return int(math.floor(max_gap_s * fs_hz + 1e-9))


@dataclass
class GapReport:
    """What :func:`bridge_gaps` did.

    Attributes
    ----------
    first_frame : int
        ``seq`` of the first row of the output (the first frame with a reading).
    bridged_frames : int
        Samples filled by interpolation.
    bridged_gaps : int
        Runs of missing samples filled.
    longest_bridged_s : float
        Longest filled run, s.
    bridged_s : list of (float, float)
        ``(start_s, length_s)`` of every filled run, s from the first row: a heel strike next to one
        has an uncertain time (``bridged_s`` of :func:`station.analysis.gait.gait_metrics`).
    long_gaps_s : list of (float, float)
        ``(start_s, length_s)`` of every run longer than the bridge limit, s from the first row;
        those samples stay NaN.
    trimmed_frames : int
        Missing samples before the first and after the last reading (dropped, not bridged).
    """

    first_frame: int = 0
    bridged_frames: int = 0
    bridged_gaps: int = 0
    longest_bridged_s: float = 0.0
    bridged_s: list[tuple[float, float]] = field(default_factory=list)
    long_gaps_s: list[tuple[float, float]] = field(default_factory=list)
    trimmed_frames: int = 0


def bridge_gaps(samples, seq, fs_hz: float, *, max_gap_s: float = MAX_BRIDGE_S) -> tuple[np.ndarray, GapReport]:
    """Samples on their evenly spaced frame grid, short gaps filled, long ones reported.

    Parameters
    ----------
    samples : array_like, shape (N, K)
        One row per received frame (e.g. the three accelerations and three angular rates); a row
        with any NaN or infinite value is a missing reading.
    seq : array_like of int, shape (N,)
        Frame counter of each row, strictly increasing; a jump of more than one is lost frames.
    fs_hz : float
        Frame rate, Hz.
    max_gap_s : float
        Longest run of missing samples to fill by linear interpolation, s (default
        :data:`MAX_BRIDGE_S`).

    Returns
    -------
    grid : ndarray, shape (M, K)
        Row ``i`` is frame ``report.first_frame + i``, from the first to the last frame with a
        reading; bridged runs interpolated, runs in ``report.long_gaps_s`` left NaN.
    report : GapReport

    Raises
    ------
    ValueError
        Shapes that do not match, a ``seq`` that does not increase, a bad rate or limit, or no
        reading at all.

    Examples
    --------
    Frame 3 was lost and frame 5 has no IMU reading; frames 8 to 19 are missing too (0.12 s at
    100 Hz, beyond the limit):

    >>> seq = np.array([0, 1, 2, 4, 5, 6, 7, 20, 21])
    >>> x = np.array([[0.0], [1], [2], [4], [np.nan], [6], [7], [20], [21]])
    >>> grid, report = bridge_gaps(x, seq, 100.0)
    >>> grid[:8, 0].tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    >>> report.bridged_frames, report.bridged_gaps, report.bridged_s, report.long_gaps_s
    (2, 2, [(0.03, 0.01), (0.05, 0.01)], [(0.08, 0.12)])
    >>> bool(np.isnan(grid[8:20]).all())
    True
    """
    values = np.asarray(samples, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    frames = np.asarray(seq)
    if values.ndim != 2 or frames.ndim != 1 or frames.shape[0] != values.shape[0]:
        raise ValueError(f"samples (shape {values.shape}) and seq (shape {frames.shape}) must have one row per frame")
    if frames.size and not np.issubdtype(frames.dtype, np.integer):
        raise ValueError("seq must hold integer frame counters")
    frames = frames.astype(np.int64, copy=False)
    if frames.size > 1 and not (np.diff(frames) > 0).all():
        raise ValueError("seq must increase strictly (one row per frame, in order)")
    if isinstance(fs_hz, bool) or not isinstance(fs_hz, (int, float)) or not (math.isfinite(fs_hz) and fs_hz > 0):
        raise ValueError(f"fs_hz must be a positive number of Hz, got {fs_hz!r}")
    if isinstance(max_gap_s, bool) or not isinstance(max_gap_s, (int, float)) or not (math.isfinite(max_gap_s) and max_gap_s >= 0):
        raise ValueError(f"max_gap_s must be a number of seconds >= 0, got {max_gap_s!r}")
    ok = np.isfinite(values).all(axis=1)
    if not ok.any():
        raise ValueError("no IMU reading in the recording (every frame is missing or NaN)")
    rows = frames[ok]
    first, last = int(rows[0]), int(rows[-1])
    report = GapReport(first_frame=first)
    report.trimmed_frames = int((first - int(frames[0])) + (int(frames[-1]) - last))
    grid = np.full((last - first + 1, values.shape[1]), np.nan)
    rows -= first  # each reading's row of the grid
    every = bool(ok.all())
    for k in range(values.shape[1]):  # a column at a time: no copy of all the readings beside the grid
        grid[rows, k] = values[:, k] if every else values[ok, k]
    present = np.zeros(grid.shape[0], dtype=bool)
    present[rows] = True
    del rows
    max_gap = max_bridge_frames(fs_hz, max_gap_s)
    missing = np.flatnonzero(~present)
    if missing.size:
        runs = np.split(missing, np.flatnonzero(np.diff(missing) > 1) + 1)
        for run in runs:
            a, b = int(run[0]), int(run[-1])  # present[a - 1] and present[b + 1] hold: the ends have readings
            n = b - a + 1
            if n <= max_gap:
                w = (np.arange(1, n + 1) / (n + 1))[:, None]
                grid[a : b + 1] = grid[a - 1] + w * (grid[b + 1] - grid[a - 1])
                report.bridged_frames += n
                report.bridged_gaps += 1
                report.longest_bridged_s = max(report.longest_bridged_s, n / fs_hz)
                report.bridged_s.append((round(a / fs_hz, 6), round(n / fs_hz, 6)))
            else:
                report.long_gaps_s.append((round(a / fs_hz, 6), round(n / fs_hz, 6)))
    return grid, report
