"""Romberg quotients: eyes closed / eyes open, of sway area and of sway velocity.

A quotient above 1 means the sway grows without vision (reliance on vision). Computed from two
results of :func:`station.analysis.metrics.compute_metrics` (or their ``metrics`` dicts):
``romberg_quotient_area`` = EC ``ellipse_area_cm2`` / EO ``ellipse_area_cm2`` and
``romberg_quotient_velocity`` = EC ``mean_velocity_cm_s`` / EO ``mean_velocity_cm_s``.
Velocity depends on the sample rate and the filter, so full results must share processing
profile and sample rate.

References: Romberg MH (1853) Lehrbuch der Nervenkrankheiten des Menschen; van Parys JA, Njiokiktjien
CJ (1976) Romberg's sign expressed in a quotient. Agressologie 17:95-99; Prieto et al. (1996).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

ROMBERG_KEYS = ("romberg_quotient_area", "romberg_quotient_velocity")
_SOURCES = {"romberg_quotient_area": "ellipse_area_cm2", "romberg_quotient_velocity": "mean_velocity_cm_s"}


def _metrics_of(result: Mapping[str, Any]) -> Mapping[str, Any]:
    return result["metrics"] if "metrics" in result else result


def _quotient(closed, opened) -> float | None:
    if closed is None or opened is None:
        return None
    closed, opened = float(closed), float(opened)
    if not (math.isfinite(closed) and math.isfinite(opened)) or opened <= 0:
        return None
    return closed / opened


def romberg_quotient(eyes_closed_metrics, eyes_open_metrics):
    """Romberg quotients (dimensionless) of ellipse area and mean velocity.

    Parameters
    ----------
    eyes_closed_metrics, eyes_open_metrics : mapping or float
        Results of ``compute_metrics`` (with ``metrics``, ``profile``, ``fs_hz``) or plain metric
        dicts with ``ellipse_area_cm2`` (cm²) and ``mean_velocity_cm_s`` (cm/s). Two plain numbers
        (the same metric, eyes closed and eyes open, e.g. means over several trials) give their
        quotient as a number.

    Returns
    -------
    dict or float or None
        For mappings: ``romberg_quotient_area``, ``romberg_quotient_velocity``. Each quotient is None
        where a value is missing or not finite, or the eyes-open value is not positive.

    Raises
    ------
    ValueError
        If both are full results and their profiles or sample rates differ.
    """
    if not isinstance(eyes_closed_metrics, Mapping) and not isinstance(eyes_open_metrics, Mapping):
        return _quotient(eyes_closed_metrics, eyes_open_metrics)
    if not (isinstance(eyes_closed_metrics, Mapping) and isinstance(eyes_open_metrics, Mapping)):
        raise TypeError("romberg_quotient needs two metric mappings or two numbers")
    for field in ("profile", "fs_hz"):
        ec, eo = eyes_closed_metrics.get(field), eyes_open_metrics.get(field)
        if ec is not None and eo is not None and ec != eo:
            raise ValueError(
                f"cannot compare trials with different {field} ({ec!r} eyes closed, {eo!r} eyes open); "
                "analyse both with the same profile and sample rate"
            )
    closed, opened = _metrics_of(eyes_closed_metrics), _metrics_of(eyes_open_metrics)
    return {key: _quotient(closed.get(source), opened.get(source)) for key, source in _SOURCES.items()}
