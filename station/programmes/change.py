"""Change of each outcome from baseline to every later assessment, against the published MDC.

A difference (later − baseline, in the outcome's unit) is called a **real** change only when its
size exceeds the minimal detectable change (MDC95) published for the measure *in a comparable
population* (:mod:`station.reference.mdc`, cited with its population); its direction is a benefit
when it goes the way the programme's outcome says is better (``lower`` sway, ``higher`` time
held). Where no MDC is published for the measure in the programme's population, the verdict says
so, rather than borrowing one from another population or inventing one (DESIGN.md §9).

>>> mdc = {"value": 0.61}
>>> verdict(-0.9, "lower", mdc)
'real improvement'
>>> verdict(-0.3, "lower", mdc)
'within measurement error'
>>> verdict(2.0, "higher", None)
'no MDC published'
"""

from __future__ import annotations

from station.protocols.schema import Protocol
from station.reference import mdc as mdc_table

OLDER_ADULTS_MIN_AGE_Y = 60.0
"""An MDC measured in adults of at least this age (and no clinical group) is comparable for a
programme for older adults."""


def population_of(mdc: mdc_table.MinimalDetectableChange) -> str | None:
    """The programme population (:data:`station.programmes.template.POPULATIONS`) a published
    MDC's sample belongs to, from its condition tag and ages; None when it matches none."""
    if mdc.condition_tag == "stroke":
        return "stroke"
    if mdc.condition_tag is None and mdc.min_age_y is not None and mdc.min_age_y >= OLDER_ADULTS_MIN_AGE_Y:
        return "older_adults"
    return None


def comparable_mdc(metric: str, protocol: Protocol | None, condition_id: str, population: str) -> tuple[dict | None, str]:
    """The published MDC of ``metric`` measured as ``protocol``'s condition does, in a population
    comparable to the programme's; ``(mdc dict or None, note)`` where the note says why none."""
    if protocol is None:
        return None, "no MDC published (the protocol is not known to this station)"
    try:
        condition = protocol.condition(condition_id)
    except KeyError:
        return None, "no MDC published (the condition is not in the protocol)"
    stance = condition.stance
    found = mdc_table.find_mdc(metric, protocol=protocol.name, eyes=stance.eyes, feet=stance.feet, surface=stance.surface,
                               condition=condition_id)
    if found is None:
        return None, "no MDC published for this measure in this test and condition"
    if population_of(found) != population:
        return None, f"no MDC published for this population (the one published is for {found.group}, not comparable)"
    if found.band_condition is not None and found.band_condition != condition_id:
        return None, (f"no MDC shown: the published one depends on the {found.band_condition} speed, which this "
                      "outcome does not follow")
    return {**found.to_dict(), "group": found.group}, ""


def at_programme_baseline(mdc: dict | None, points: list[dict]) -> tuple[dict | None, str]:
    """The programme's MDC for changes from its baseline (the first point): one published by group of
    baseline (:func:`station.reference.mdc.at_baseline`) becomes the baseline's group's;
    ``(mdc or None, note)``.

    >>> bands = {"metric": "walk_speed_m_s", "value": 0.21, "population": "84 people after stroke",
    ...          "bands": [{"from": None, "below": 0.4, "value": 0.05}, {"from": 0.4, "below": None, "value": 0.21}]}
    >>> at_programme_baseline(bands, [{"value": 0.35}])[0]["value"]
    0.05
    >>> at_programme_baseline(bands, [{"value": None}])
    (None, 'MDC by group of baseline speed: shown once the baseline is measured')
    """
    if not mdc or not mdc.get("bands"):
        return mdc, ""
    baseline = points[0]["value"] if points else None
    resolved = mdc_table.at_baseline(mdc, baseline, what="at the baseline")
    return resolved, "" if resolved is not None else "MDC by group of baseline speed: shown once the baseline is measured"


def verdict(difference: float, better: str, mdc: dict | None) -> str:
    """``real improvement``, ``real worsening``, ``within measurement error`` or ``no MDC published``;
    for an MDC published per phase of the condition (``mdc["phases"]``, DeMark's 3-m backward walk:
    0.07 m/s subacute, 0.11 m/s chronic stroke) whose phase the record does not hold, a change
    between the phases' values is real only in some: ``real improvement if subacute``.

    >>> phased = {"value": 0.11, "phases": [{"phase": "subacute", "value": 0.07}, {"phase": "chronic", "value": 0.11}]}
    >>> verdict(0.09, "higher", phased), verdict(0.15, "higher", phased), verdict(-0.05, "higher", phased)
    ('real improvement if subacute', 'real improvement', 'within measurement error')
    """
    if mdc is None:
        return "no MDC published"
    phases = mdc.get("phases") or []
    beyond = [p["phase"] for p in phases if abs(difference) > float(p["value"])]
    if abs(difference) <= float(mdc["value"]) and not beyond:
        return "within measurement error"
    improved = difference < 0 if better == "lower" else difference > 0
    words = "real improvement" if improved else "real worsening"
    if phases and len(beyond) < len(phases):
        return f"{words} if {' or '.join(beyond)}"
    return words


def outcome_change(points: list[dict], better: str, mdc: dict | None) -> list[dict]:
    """Changes from the first point (the baseline) to each later one.

    ``points`` are ``{"assessment_id", "label", "week", "value"}`` in visit order, ``value``
    None where not measured. Each change: ``to``, ``label``, ``week``, ``difference``,
    ``towards_benefit`` (True, False, or None for no change), ``verdict``, and ``mdc_reading``
    (the change against each phase's MDC in words, :func:`station.reference.mdc.phase_reading`;
    None unless the MDC is published per phase).
    """
    if not points or points[0]["value"] is None:
        return []
    base = float(points[0]["value"])
    out = []
    for p in points[1:]:
        if p["value"] is None:
            continue
        diff = float(p["value"]) - base
        toward = None if diff == 0 else ((diff < 0) if better == "lower" else (diff > 0))
        out.append({"to": p["assessment_id"], "label": p["label"], "week": p["week"], "difference": diff,
                    "towards_benefit": toward, "verdict": verdict(diff, better, mdc),
                    "mdc_reading": mdc_table.phase_reading(diff, mdc)})
    return out
