"""Age-group norms of sway measures (Santos & Duarte 2016) and a patient's place among them.

The table (``norms-santos-duarte-2016.csv``, package data; see this package's README) gives, per
age group (Young 18–59 y, Old 60–86 y), vision (open, closed) and surface (firm, foam), the 5th,
50th and 95th percentiles of three measures computed exactly as this station computes them
(DESIGN.md §5, ``station`` profile: 10 Hz low-pass): ``ellipse_area_cm2`` (COParea),
``mean_velocity_cm_s`` (COPvelo) and ``mean_power_frequency_hz`` (COPmfreq).

:func:`compare` places a value in its group with
:func:`station.analysis.norms.percentile_from_quantiles` and says what limits the comparison
(another trial length, another stance). Stances the reference subjects did not stand in (tandem,
single leg) are not compared.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from station.analysis.norms import percentile_band, percentile_from_quantiles

NORMS_FILE = "norms-santos-duarte-2016.csv"
CITATION = (
    "Santos DA, Duarte M. A public data set of human balance evaluations. PeerJ 2016;4:e2648. "
    "doi:10.7717/peerj.2648 (data CC-BY-4.0)"
)
SHORT_CITATION = "Santos & Duarte 2016"
REFERENCE_TRIAL_S = 60.0
"""Length of the reference trials, s."""

COLUMNS = {"ellipse_area_cm2": "COParea", "mean_velocity_cm_s": "COPvelo", "mean_power_frequency_hz": "COPmfreq"}
"""Station metric key -> the table's column prefix."""

AGE_GROUPS = {"Young": (18, 59), "Old": (60, 86)}
"""Age group -> (first, last) age in years."""

COMPARABLE_FEET = ("apart", "together")
"""Stances whose sway may be set against the reference (both feet on the ground side by side)."""


@dataclass(frozen=True)
class Quantiles:
    """One measure in one group: mean, SD and 5th/50th/95th percentiles (the measure's unit)."""

    mean: float
    sd: float
    p05: float
    p50: float
    p95: float


@dataclass(frozen=True)
class NormGroup:
    """One row of the table: the group and its quantiles per station metric key."""

    age_group: str
    vision: str
    surface: str
    n_subjects: int
    measures: dict

    @property
    def age_range_y(self) -> tuple[int, int]:
        return AGE_GROUPS[self.age_group]


@lru_cache(maxsize=1)
def norm_groups() -> tuple[NormGroup, ...]:
    """The table's rows (read once from the package data)."""
    text = (resources.files(__package__) / NORMS_FILE).read_text(encoding="utf-8")
    groups = []
    for row in csv.DictReader(io.StringIO(text)):
        measures = {
            key: Quantiles(*(float(row[f"{prefix}_{stat}"]) for stat in ("mean", "sd", "p05", "p50", "p95")))
            for key, prefix in COLUMNS.items()
        }
        groups.append(NormGroup(row["AgeGroup"], row["Vision"].lower(), row["Surface"].lower(),
                                int(row["n_subjects"]), measures))
    return tuple(groups)


def age_group(age_y: float) -> str | None:
    """``Young`` or ``Old`` for an age in years, or None outside 18–86 y."""
    for name, (low, high) in AGE_GROUPS.items():
        if low <= age_y < high + 1:
            return name
    return None


def find_group(age_y: float, eyes: str, surface: str) -> NormGroup | None:
    group_name = age_group(age_y)
    for group in norm_groups():
        if (group.age_group, group.vision, group.surface) == (group_name, eyes, surface):
            return group
    return None


def compare(metric: str, value: float | None, *, age_y: float | None, eyes: str, surface: str, feet: str,
            duration_s: float | None = None) -> dict | None:
    """A patient's value against the age-group norms.

    Parameters
    ----------
    metric : str
        A key of :data:`COLUMNS`; other metrics have no norm here (returns None).
    value : float or None
        The patient's value (unit of the metric).
    age_y : float or None
        The patient's age, years.
    eyes, surface, feet : str
        The condition's stance (``open``/``closed``, ``firm``/``foam``, the protocol's feet).
    duration_s : float, optional
        The trial's length, s (a note is added when it differs from the reference trials').

    Returns
    -------
    dict or None
        ``{"metric", "value", "source", "short_source", "comparable", "note"}`` and, when a
        comparison is possible, ``"group"`` (words), ``"n_subjects"``, ``"p05"``, ``"p50"``,
        ``"p95"``, ``"percentile"`` (estimate, 0–100) and ``"band"`` (words). None for a metric
        without norms.
    """
    if metric not in COLUMNS:
        return None
    entry = {"metric": metric, "value": value, "source": CITATION, "short_source": SHORT_CITATION,
             "comparable": False, "note": ""}
    if feet not in COMPARABLE_FEET:
        entry["note"] = "No reference values for this stance (the reference subjects stood on both feet side by side)."
        return entry
    if age_y is None:
        entry["note"] = "The patient's age is unknown."
        return entry
    group = find_group(age_y, eyes, surface)
    if group is None:
        low = min(r[0] for r in AGE_GROUPS.values())
        high = max(r[1] for r in AGE_GROUPS.values())
        entry["note"] = f"No reference values for age {age_y:g} (the reference covers {low}-{high} y)."
        return entry
    q = group.measures[metric]
    low, high = group.age_range_y
    entry.update(
        comparable=True,
        group=f"{group.age_group.lower()} adults {low}-{high} y, eyes {eyes}, {surface} surface",
        n_subjects=group.n_subjects,
        p05=q.p05, p50=q.p50, p95=q.p95,
        percentile=None, band=None,
    )
    notes = []
    if duration_s is not None and abs(duration_s - REFERENCE_TRIAL_S) > 1e-9:
        notes.append(f"The reference trials lasted {REFERENCE_TRIAL_S:g} s, this one {duration_s:g} s.")
    if feet == "together":
        notes.append("Here the feet were together; the reference subjects stood in their own comfortable stance.")
    if value is None:
        notes.append("No valid value to compare.")
    else:
        entry["percentile"] = percentile_from_quantiles(value, q.p05, q.p50, q.p95)
        entry["band"] = percentile_band(value, q.p05, q.p95)
    entry["note"] = " ".join(notes)
    return entry
