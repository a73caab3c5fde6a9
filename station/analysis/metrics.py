"""The one entry point of the sway analysis: :func:`compute_metrics` (DESIGN.md §5, contract).

Processing profiles (the profile, sample rate, sample count and software version travel with every
result, because path and velocity depend on sample rate and filtering):

* ``raw``: mean removal only (use it to reproduce published values computed from already
  filtered data, e.g. the Santos & Duarte 2016 data set);
* ``station``: 4th-order zero-phase Butterworth low-pass at 10 Hz
  (:func:`station.analysis.filters.lowpass_butterworth`), then mean removal.

Every metric of DESIGN.md §5 is returned under exactly its name (units in the names), plus the
weight-bearing shares when corner forces are given. Undefined values (e.g. frequencies of a
signal without sway) are ``None``, never NaN. Definitions and references are in the modules that
compute them: :mod:`.sway` (time domain, Prieto et al. 1996; prediction ellipse, Schubert &
Kirchner 2014), :mod:`.spectral` (Welch spectra, Santos & Duarte 2016, Prieto et al. 1996),
:mod:`.diffusion` (Collins & De Luca 1993), :mod:`.density` (Jacono et al. 2004),
:mod:`.weight_bearing`.

Minimum input: ``MIN_DURATION_S`` = 10 s (the 0.15 Hz lower band edge of the Prieto spectral
measures needs a frequency resolution of 0.1 Hz, and the diffusion plot needs lags well beyond the
critical time), a sample rate above ``MIN_RATE_HZ`` = 10 Hz (the 5 Hz band edge must lie below
Nyquist) and, for the ``station`` profile, above 20 Hz (the 10 Hz cut-off must lie below Nyquist).
No step calls BLAS (vector products use ``np.einsum``): multi-threaded BLAS on a busy two-core
machine turned a 30 000-sample dot product into milliseconds of spinning. Recordings of 20 s or
more use fixed settings (20 s Welch segments, lags up to 10 s); between 10
and 20 s the Welch segment is the whole recording and the longest lag half of it.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from .density import DEFAULT_RADIUS_CM, sway_density
from .diffusion import diffusion_measures
from .filters import lowpass_butterworth
from .spectral import mean_power_frequency, prieto_spectral
from .sway import fractal_dimension_ce, prediction_ellipse, time_domain
from .weight_bearing import WEIGHT_KEYS, weight_bearing

ANALYSIS_VERSION = "analysis-1"
"""Version recorded in results when the caller passes none (the CLI passes ``station.__version__``)."""

PROFILES = ("raw", "station")
STATION_CUTOFF_HZ = 10.0
STATION_FILTER_ORDER = 4

MIN_DURATION_S = 10.0
"""Shortest recording the metrics need, s (N / fs >= 10 s)."""
MIN_RATE_HZ = 10.0
"""Sample rates must exceed this (Hz); the ``station`` profile needs more than 2 x 10 Hz."""
MIN_SAMPLES = int(math.ceil(MIN_DURATION_S * MIN_RATE_HZ))
"""Fewest samples any accepted recording can have (10 s at the lowest rate); the real minimum is
``min_samples(fs_hz)``."""

_SIDES = ("ap", "ml", "r")
METRIC_KEYS: tuple[str, ...] = (
    "ellipse_area_cm2",
    "ellipse_major_cm",
    "ellipse_minor_cm",
    "ellipse_angle_deg",
    "path_length_cm",
    "path_length_ap_cm",
    "path_length_ml_cm",
    "mean_velocity_cm_s",
    "mean_velocity_ap_cm_s",
    "mean_velocity_ml_cm_s",
    "mean_distance_cm",
    "mean_distance_ap_cm",
    "mean_distance_ml_cm",
    "rms_distance_cm",
    "rms_ap_cm",
    "rms_ml_cm",
    "max_distance_cm",
    "range_ap_cm",
    "range_ml_cm",
    "range_cm",
    "confidence_circle_area_cm2",
    "sway_area_per_s_cm2_s",
    "mean_frequency_hz",
    "mean_frequency_ap_hz",
    "mean_frequency_ml_hz",
    "fractal_dimension_cc",
    "fractal_dimension_ce",
    "mean_power_frequency_hz",
    "total_power_ap_cm2",
    "total_power_ml_cm2",
    "f50_ap_hz",
    "f50_ml_hz",
    "f95_ap_hz",
    "f95_ml_hz",
    "centroid_frequency_ap_hz",
    "centroid_frequency_ml_hz",
    "frequency_dispersion_ap",
    "frequency_dispersion_ml",
    *(f"sda_critical_time_{s}_s" for s in _SIDES),
    *(f"sda_critical_msd_{s}_cm2" for s in _SIDES),
    *(f"sda_d_short_{s}_cm2_s" for s in _SIDES),
    *(f"sda_d_long_{s}_cm2_s" for s in _SIDES),
    *(f"sda_h_short_{s}" for s in _SIDES),
    *(f"sda_h_long_{s}" for s in _SIDES),
    "sway_density_mean_peak_s",
    "sway_density_mean_distance_cm",
    *WEIGHT_KEYS,
)
"""All metric names, in output order (CSV columns)."""


class SignalError(ValueError):
    """The signal cannot be analysed; the message says why and what the metrics need (one line)."""


def min_samples(fs_hz: float) -> int:
    """Fewest samples the metrics need at ``fs_hz``: N / fs >= ``MIN_DURATION_S``."""
    return int(math.ceil(MIN_DURATION_S * fs_hz - 1e-9))


def check_signal(n_samples: int, fs_hz: float, profile: str) -> None:
    """Raise :class:`SignalError` unless N samples at ``fs_hz`` can be analysed with ``profile``."""
    if profile not in PROFILES:
        raise SignalError(f"unknown processing profile {profile!r}; use one of {', '.join(PROFILES)}")
    if not (isinstance(fs_hz, (int, float)) and math.isfinite(fs_hz) and fs_hz > 0):
        raise SignalError(f"sample rate must be a positive number of Hz, got {fs_hz!r}")
    if fs_hz <= MIN_RATE_HZ:
        raise SignalError(
            f"sample rate {fs_hz:g} Hz is too low: the metrics need more than {MIN_RATE_HZ:g} Hz "
            "(spectral band up to 5 Hz)"
        )
    if profile == "station" and fs_hz <= 2 * STATION_CUTOFF_HZ:
        raise SignalError(
            f"sample rate {fs_hz:g} Hz is too low for the station profile's {STATION_CUTOFF_HZ:g} Hz "
            f"low-pass (needs more than {2 * STATION_CUTOFF_HZ:g} Hz); use --profile raw"
        )
    need = min_samples(fs_hz)
    if n_samples < need:
        raise SignalError(
            f"recording too short: {n_samples} samples = {n_samples / fs_hz:.2f} s at {fs_hz:g} Hz; "
            f"the metrics need at least {MIN_DURATION_S:g} s ({need} samples)"
        )


def _finite_or_none(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def compute_metrics(
    ap_cm,
    ml_cm,
    fs_hz: float,
    profile: str = "station",
    corners_n: Mapping[str, np.ndarray] | None = None,
    *,
    version: str = ANALYSIS_VERSION,
    sway_density_radius_cm: float = DEFAULT_RADIUS_CM,
) -> dict:
    """All sway metrics of one trial.

    Parameters
    ----------
    ap_cm, ml_cm : array_like
        COP coordinates in the plate frame, cm (any origin), N samples uniformly at ``fs_hz``;
        finite values only.
    fs_hz : float
        Sample rate, Hz.
    profile : {"station", "raw"}
        Processing profile (module docstring).
    corners_n : mapping or array, optional
        Corner forces in N for the weight-bearing metrics: a mapping with keys ``fl_n, fr_n, bl_n,
        br_n``, or an array of shape (N, 4) with the columns in that order.
    version : str
        Software version recorded in the result.
    sway_density_radius_cm : float
        Sway-density circle radius, cm (default 0.3).

    Returns
    -------
    dict
        ``{"fs_hz", "samples", "profile", "version", "metrics": {key: float | None}}`` with the
        metrics in the order of ``METRIC_KEYS``.

    Raises
    ------
    SignalError
        Unknown profile, too low a sample rate, too short a recording, mismatched or non-finite
        input (one-line message saying what the metrics need).
    """
    ap = np.asarray(ap_cm, dtype=np.float64)
    ml = np.asarray(ml_cm, dtype=np.float64)
    if ap.ndim != 1 or ml.ndim != 1 or ap.shape != ml.shape:
        raise SignalError(f"AP and ML must be 1-D arrays of equal length, got shapes {ap.shape} and {ml.shape}")
    n = ap.shape[0]
    check_signal(n, fs_hz, profile)
    bad = ~(np.isfinite(ap) & np.isfinite(ml))
    if bad.any():
        raise SignalError(f"COP contains NaN or infinite values (first at sample {int(np.argmax(bad))})")
    # Subtract a sample first: a signal without sway becomes exactly zero, before and after filtering.
    cop = np.vstack((ap - ap[0], ml - ml[0]))
    if profile == "station":
        cop = lowpass_butterworth(cop, fs_hz, STATION_CUTOFF_HZ, STATION_FILTER_ORDER, axis=-1)
    cop -= cop.mean(axis=1, keepdims=True)
    ap, ml = cop[0], cop[1]

    try:
        weights = weight_bearing(corners_n)
    except ValueError as exc:
        raise SignalError(str(exc)) from None
    values: dict[str, float | None] = {}
    values.update(time_domain(ap, ml, fs_hz))
    values.update(prediction_ellipse(ap, ml))
    values["fractal_dimension_ce"] = fractal_dimension_ce(n, values["ellipse_area_cm2"], values["path_length_cm"])
    values["mean_power_frequency_hz"] = mean_power_frequency(ap, ml, fs_hz)
    values.update(prieto_spectral(ap, ml, fs_hz))
    values.update(diffusion_measures(ap, ml, fs_hz))
    values.update(sway_density(ap, ml, fs_hz, sway_density_radius_cm))
    values.update(weights)
    return {
        "fs_hz": float(fs_hz),
        "samples": int(n),
        "profile": profile,
        "version": str(version),
        "metrics": {key: _finite_or_none(values[key]) for key in METRIC_KEYS},
    }
