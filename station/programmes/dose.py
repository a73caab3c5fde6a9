"""A training session's dose: measured by the station from a walking trial, or entered by hand.

Dose fields (units in the names): ``minutes`` (time training), ``steps``, ``cadence_steps_min``,
``speed_m_s`` (the walking speed: measured overground; from a treadmill trial the belt speed the
clinician entered, as the trial stores it, so then equal to ``belt_speed_m_s``), ``belt_speed_m_s``
(treadmill belt as set),
``rpe`` (perceived exertion on Borg's 6-20 scale), ``notes``, ``done_on`` (the clinic's day the
session was done, ``YYYY-MM-DD``: a measured dose's trial's day, a hand-entered dose's as entered,
else the clinic's day it was recorded; always stored since s25, so a hub and a station read the same
day whatever their zones (a dose stored before without it is read on its ``recorded_at``'s day);
a session walked before or after its planned day is shown on the day it was done,
:meth:`station.store.programmes.Programmes.record_dose`).

**Measured** (:func:`dose_from_trial`): from a stored trial of a walking protocol whose result
carries gait measures (DESIGN.md §8 keys: ``duration_s``, ``steps``, ``cadence_steps_min``,
``walking_speed_m_s``). The treadmill backward-walking session protocol (``backward-treadmill``)
gives ``walking_min``, the minutes actually walked (pauses left out): that is the dose's minutes
when present, else the bout's ``duration_s``; its speed is ``walk_speed_m_s`` (the belt speed the
clinician entered, not measured) and ``belt_speed_m_s`` when the result carries it: the pages and the
programme PDF say such a speed once, as the belt's (:func:`station.reports.text.dose_speed`). Only a finished trial
(status ``complete``) counts.

>>> trial = {"id": 7, "status": "complete", "protocol": "treadmill-backward",
...          "metrics": {"metrics": {"duration_s": 1710.0, "steps": 2394, "cadence_steps_min": 84.0,
...                                  "walking_speed_m_s": 0.42}}}
>>> d = dose_from_trial(trial)
>>> d["minutes"], d["steps"], d["cadence_steps_min"], d["speed_m_s"]
(28.5, 2394, 84.0, 0.42)
"""

from __future__ import annotations

import math

DOSE_FIELDS = ("minutes", "steps", "cadence_steps_min", "speed_m_s", "belt_speed_m_s", "rpe", "notes", "done_on")
RPE_RANGE = (6, 20)
"""Borg's rating of perceived exertion, 6 (no exertion) to 20 (maximal)."""


class NoDoseInTrial(ValueError):
    """The trial carries no walking measures (not a walking trial, or not finished)."""


def _finite(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def dose_from_trial(trial: dict) -> dict:
    """The dose measured in a stored trial (``Trials.get``'s dict); NoDoseInTrial when it has none."""
    if trial.get("status") != "complete":
        raise NoDoseInTrial(f"trial #{trial.get('id')} is {trial.get('status')}, not complete; "
                            "record the session again or enter its dose by hand")
    doc = trial.get("metrics") or {}
    values = dict(doc.get("metrics") or {})
    values.update({k: v for k, v in (doc.get("gait") or {}).items() if k not in values})
    minutes = _finite(values.get("walking_min"))
    if minutes is None and _finite(values.get("duration_s")) is not None:
        minutes = _finite(values.get("duration_s")) / 60.0
    steps = _finite(values.get("steps"))
    if minutes is None or steps is None:
        raise NoDoseInTrial(f"trial #{trial.get('id')} ({trial.get('protocol')}) has no walking measures "
                            "(time walking and steps); link a walking session's trial or enter the dose by hand")
    dose = {"minutes": round(minutes, 3), "steps": int(round(steps))}
    for key, sources in (("cadence_steps_min", ("cadence_steps_min",)),
                         ("speed_m_s", ("walk_speed_m_s", "walking_speed_m_s")),
                         ("belt_speed_m_s", ("belt_speed_m_s",))):
        value = next((v for v in (_finite(values.get(k)) for k in sources) if v is not None), None)
        if value is not None:
            dose[key] = value
    return dose
