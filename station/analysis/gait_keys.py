"""The names of the gait keys (DESIGN.md §8), apart from the gait analysis that computes them.

The protocol schema, the store and the web pages need the names only; importing them from here does
not import scipy.signal (the gait analysis's filters), whose import alone costs ~1-3 s of CPU at
every start of the station and of its acquisition process on simulated hardware. The values come
from :func:`station.analysis.gait.gait_metrics` and :func:`~station.analysis.gait.gait_by_minute`,
which re-export these tuples.

>>> GAIT_KEYS[:3]
('steps', 'duration_s', 'cadence_steps_min')
"""

from __future__ import annotations

__all__ = ["GAIT_KEYS", "MINUTE_KEYS"]

GAIT_KEYS: tuple[str, ...] = (
    "steps",
    "duration_s",
    "cadence_steps_min",
    "step_time_s",
    "step_time_cv_pct",
    "stride_time_cv_pct",
    "step_regularity",
    "stride_regularity",
    "step_symmetry",
    "step_length_m",
    "walking_speed_m_s",
    "initial_contacts_s",
)
"""Every gait key of DESIGN.md §8, in output order."""

MINUTE_KEYS: tuple[str, ...] = (
    "minute",
    "start_s",
    "end_s",
    "walking_s",
    "steps",
    "cadence_steps_min",
    "step_time_s",
    "step_time_cv_pct",
    "stride_time_cv_pct",
    "step_length_m",
    "walking_speed_m_s",
    "pauses",
    "pause_s",
)
"""Keys of each row of :func:`gait_by_minute`."""
