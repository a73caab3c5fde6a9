"""Sway metrics of a recording with lost frames: each gap bridged explicitly, or the recording refused.

A station recording's ``time_s`` is on the sample grid (DESIGN.md §3): a lost frame is a missing
grid point, a gap of whole sample periods. The sway metrics of DESIGN.md §5 are defined on N
samples uniformly at fs, so a gap is never closed silently. The rule (:func:`bridge_gaps`):

* a recording that lost more than :data:`MAX_LOST_FRACTION` (2 %) of its samples, or has a single
  gap longer than :data:`MAX_GAP_S` (0.2 s), is refused with the reason: the sway in a longer gap
  is unknown (both are the limits of a valid trial in the protocols' quality checks, so a valid
  trial is always analysed);
* otherwise each gap is bridged by a straight line between the measured samples on either side,
  and the result says so (``gaps``: how many samples, how many gaps, the longest, and this
  handling). Per metric, what a bridged gap does:

  - position and dispersion (ellipse, RMS and mean distances, ranges, maximum distance,
    confidence circle, weight bearing): bridged points lie between measured neighbours, so they
    add no excursion; at most 2 % of the samples are such points;
  - path, velocities, sway area per second, mean frequencies, fractal dimensions: a gap
    contributes the straight step between its neighbours, a lower bound of the path travelled in
    it (at most 2 % of the trial's duration);
  - spectral measures, mean power frequency, stabilogram diffusion and sway density: they need
    uniform samples, which the bridge gives; a straight line of length L removes the content
    above about 1/(2L) Hz within the gap only (10 Hz, the station profile's cut-off, for a
    single lost frame at 100 Hz; 2.5 Hz for the longest gap allowed).

References: DESIGN.md §3 (time base), §5 (metrics).
"""

from __future__ import annotations

import numpy as np

from .metrics import SignalError, compute_metrics

MAX_LOST_FRACTION = 0.02
"""Largest share of lost samples that is bridged (the trial quality check's limit)."""
MAX_GAP_S = 0.2
"""Longest single gap that is bridged, s (the quality check's ``max_gap_s``)."""

HANDLING = (
    "each gap bridged by a straight line between the measured samples on either side, for every "
    "metric (at most 2 % of the samples and 0.2 s per gap; longer or more is refused)"
)


def bridge_gaps(grid_index, fs_hz: float, *columns, max_lost_fraction: float = MAX_LOST_FRACTION,
                max_gap_s: float = MAX_GAP_S):
    """Columns on the full sample grid, gaps bridged linearly, and what was done.

    Parameters
    ----------
    grid_index : array_like of int
        Each sample's place on the grid (increasing; 0 for the first).
    fs_hz : float
        Sample rate, Hz.
    *columns : array_like
        The measured values (same length as ``grid_index``), e.g. AP and ML in cm.
    max_lost_fraction, max_gap_s
        Limits beyond which the recording is refused.

    Returns
    -------
    bridged : list of ndarray
        Each column on the full grid (``grid_index[-1] + 1`` samples).
    report : dict
        ``{"samples_lost", "gaps", "longest_gap_s", "handling"}``.

    Raises
    ------
    SignalError
        Too many samples lost or a gap too long (the message says which and where).

    Examples
    --------
    >>> index = np.delete(np.arange(100), 50)          # sample 50 was lost
    >>> (ap,), report = bridge_gaps(index, 100.0, index * 0.1)
    >>> round(float(ap[50]), 6), report["samples_lost"], report["gaps"]
    (5.0, 1, 1)
    """
    index = np.asarray(grid_index, dtype=np.int64)
    if index.ndim != 1 or index.shape[0] == 0:
        raise SignalError("no samples")
    if np.any(np.diff(index) < 1) or index[0] != 0:
        raise SignalError("sample grid index must start at 0 and increase")
    n_full = int(index[-1]) + 1
    steps = np.diff(index)
    gap_sizes = steps[steps > 1] - 1
    lost = int(gap_sizes.sum()) if gap_sizes.size else 0
    longest = int(gap_sizes.max()) if gap_sizes.size else 0
    report = {"samples_lost": lost, "gaps": int(gap_sizes.size), "longest_gap_s": longest / fs_hz,
              "handling": HANDLING if lost else "no gaps"}
    if longest > max_gap_s * fs_hz + 1e-9:
        at = int(np.argmax(steps > longest))
        raise SignalError(
            f"gap in time_s after {index[at] / fs_hz:.3g} s: {longest} samples lost ({longest / fs_hz:.3g} s); gaps "
            f"longer than {max_gap_s:g} s cannot be bridged without inventing sway; record again"
        )
    if lost > max_lost_fraction * n_full:
        raise SignalError(
            f"gaps in time_s: {lost} of {n_full} samples lost ({100 * lost / n_full:.1f} %, in {gap_sizes.size} "
            f"gaps); more than {100 * max_lost_fraction:g} % cannot be analysed without inventing sway; record again"
        )
    full = np.arange(n_full)
    bridged = []
    for column in columns:
        values = np.asarray(column, dtype=np.float64)
        if values.shape != index.shape:
            raise SignalError(f"a column has {values.shape[0]} values for {index.shape[0]} samples")
        bridged.append(values if not lost else np.interp(full, index, values))
    return bridged, report


def compute_metrics_with_gaps(ap_cm, ml_cm, fs_hz: float, profile: str = "station", corners_n=None, *,
                              grid_index=None, **kwargs) -> dict:
    """:func:`station.analysis.metrics.compute_metrics` of a recording that may have lost frames.

    With ``grid_index`` (each sample's place on the sample grid), gaps are bridged or the
    recording refused as the module docstring says, and the result of a recording that had gaps
    carries ``gaps`` (:func:`bridge_gaps`'s report); one without gaps is exactly
    ``compute_metrics``'s.

    Examples
    --------
    >>> t = np.arange(2000) / 100.0
    >>> keep = np.ones(2000, bool); keep[500] = False
    >>> r = compute_metrics_with_gaps(np.sin(t)[keep], np.cos(t)[keep], 100.0, "raw",
    ...                               grid_index=np.arange(2000)[keep])
    >>> r["samples"], r["gaps"]["samples_lost"]
    (2000, 1)
    """
    if grid_index is None:
        grid_index = np.arange(np.asarray(ap_cm).shape[0])
    corner_keys = ("fl_n", "fr_n", "bl_n", "br_n")
    corner_columns = [] if corners_n is None else [corners_n[k] for k in corner_keys]
    bridged, report = bridge_gaps(grid_index, fs_hz, ap_cm, ml_cm, *corner_columns)
    corners = None if corners_n is None else dict(zip(corner_keys, bridged[2:]))
    result = compute_metrics(bridged[0], bridged[1], fs_hz, profile, corners, **kwargs)
    if report["samples_lost"]:
        result["gaps"] = report
    return result
