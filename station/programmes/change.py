"""Change of each outcome from baseline to every later assessment, against the published MDC.

A difference (later − baseline, in the outcome's unit) is called a **real** change only when its
size exceeds the minimal detectable change (MDC95) published for the measure *in people like the
patient* (:mod:`station.reference.mdc`, cited with its population): the same rule as the history
page (:func:`station.reference.mdc.fits_patient`, from the patient's conditions and age), whatever
population the programme was written for, so that a stroke MDC is never drawn for a patient with no
stroke. Its direction is a benefit when it goes the way the programme's outcome says is better
(``lower`` sway, ``higher`` time held). Where no MDC is published for the measure, or the one
published was measured in other people, the verdict says which (``no MDC published``, ``MDC not for
this patient``), rather than borrowing one or inventing one (DESIGN.md §9). A programme given to a
patient outside its population is said on its page (:func:`population_warning`).

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
from station.reference.population import Population, misfit

PROGRAMME_POPULATIONS: dict[str, Population] = {
    "stroke": Population("people after stroke", "stroke"),
    "older_adults": Population("community-dwelling older adults", None, (), 60.0),
}
"""Whom each programme population (:data:`station.programmes.template.POPULATIONS`) takes in, as the
patient record can tell: a stroke in the conditions; an age of at least 60 years (the usual lower
bound of "older adults", as the station's older-adult cut-offs use it). ``other`` names no one."""


def population_warning(population: str, conditions: list[str] | tuple[str, ...] | None, age_y: float | None) -> str:
    """'' when a patient with these condition tags and age (years; None: not recorded) is one of the
    people the programme's ``population`` was written for (or it names none), else a warning to show
    with the programme: a clinician may still give it (nothing in the station forbids it), but knowingly.

    >>> population_warning("stroke", ["fall_12m"], 70)
    "This programme was written for people after stroke; this patient is not recorded as one of them (no stroke in the patient's conditions). Its changes are read against the MDCs published for people like this patient."
    >>> population_warning("stroke", ["stroke:left"], None), population_warning("other", [], None)
    ('', '')
    """
    wanted = PROGRAMME_POPULATIONS.get(population)
    why = misfit(wanted, conditions, age_y) if wanted is not None else ""
    if not why:
        return ""
    return (f"This programme was written for {wanted.group}; this patient is not recorded as one of them ({why}). "
            "Its changes are read against the MDCs published for people like this patient.")


NOT_FOR_PATIENT = "The published minimal detectable change"
"""How a note of an MDC published in other people than the patient begins (:func:`station.reference.mdc.fits_patient`)."""
BY_OTHER_GROUP = "no MDC shown: the published one depends on"
BY_BASELINE_GROUP = "MDC by group of baseline"


def comparable_mdc(metric: str, protocol: Protocol | None, condition_id: str,
                   conditions: list[str] | tuple[str, ...] | None, age_y: float | None) -> tuple[dict | None, str]:
    """The published MDC of ``metric`` measured as ``protocol``'s condition does, in people like the
    patient (condition tags ``conditions``, age ``age_y`` in years, None: not recorded), as the history
    page applies it; ``(mdc dict or None, note)`` where the note says why none."""
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
    not_applied = mdc_table.fits_patient(found, conditions or (), age_y)
    if not_applied:
        return None, not_applied
    if found.band_condition is not None and found.band_condition != condition_id:
        return None, (f"{BY_OTHER_GROUP} the {found.band_condition} speed, which this "
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
    return resolved, "" if resolved is not None else f"{BY_BASELINE_GROUP} speed: shown once the baseline is measured"


def no_mdc_words(note: str) -> str:
    """What an outcome with no MDC to read its changes against says under them, on the programme page and in its
    PDF: why there is none (``note``: :func:`comparable_mdc`'s or :func:`at_programme_baseline`'s), then what that
    means for a change the clinician reads there (none can be told from measurement error), said once.

    >>> no_mdc_words("no MDC published for this measure in this test and condition")
    'No MDC published for this measure in this test and condition. Its changes are shown as measured: with no MDC for this patient, the station cannot tell whether a change is larger than measurement error.'
    >>> no_mdc_words("MDC by group of baseline speed: shown once the baseline is measured")
    'MDC by group of baseline speed: shown once the baseline is measured.'
    """
    words = (note[:1].upper() + note[1:]).rstrip(".") + "."
    if note.startswith(BY_BASELINE_GROUP):  # no baseline yet, so no change to read
        return words
    return words + (" Its changes are shown as measured: with no MDC for this patient, the station cannot tell whether a "
                    "change is larger than measurement error.")


def no_mdc_verdict(note: str) -> str:
    """The verdict tag of a change with no MDC to read it against, by why there is none (``note``:
    :func:`comparable_mdc`'s or :func:`at_programme_baseline`'s, the sentence :func:`no_mdc_words` says
    under the changes): ``no MDC published`` only when none is; one published in other people than
    this patient is ``MDC not for this patient``; one published by group of a speed the outcome does
    not follow, or of a baseline not measured yet, is ``MDC group not known``.

    >>> no_mdc_verdict("no MDC published for this measure in this test and condition")
    'no MDC published'
    >>> no_mdc_verdict("The published minimal detectable change (0.61 cm/s) was set in people after stroke, "
    ...                "firm surface; it is not applied to this patient (no stroke in the patient's conditions).")
    'MDC not for this patient'
    """
    if note.startswith(NOT_FOR_PATIENT):
        return "MDC not for this patient"
    if note.startswith((BY_OTHER_GROUP, BY_BASELINE_GROUP)):
        return "MDC group not known"
    return "no MDC published"


def verdict(difference: float, better: str, mdc: dict | None, note: str = "") -> str:
    """``real improvement``, ``real worsening``, ``within measurement error``, or with no ``mdc`` the
    tag :func:`no_mdc_verdict` gives its ``note``; for an MDC published per phase of the condition
    (``mdc["phases"]``, DeMark's 3-m backward walk: 0.07 m/s subacute, 0.11 m/s chronic stroke)
    whose phase the record does not hold, a change between the phases' values is real only in some:
    ``real improvement if subacute``.

    >>> phased = {"value": 0.11, "phases": [{"phase": "subacute", "value": 0.07}, {"phase": "chronic", "value": 0.11}]}
    >>> verdict(0.09, "higher", phased), verdict(0.15, "higher", phased), verdict(-0.05, "higher", phased)
    ('real improvement if subacute', 'real improvement', 'within measurement error')
    """
    if mdc is None:
        return no_mdc_verdict(note)
    phases = mdc.get("phases") or []
    beyond = [p["phase"] for p in phases if abs(difference) > float(p["value"])]
    if abs(difference) <= float(mdc["value"]) and not beyond:
        return "within measurement error"
    improved = difference < 0 if better == "lower" else difference > 0
    words = "real improvement" if improved else "real worsening"
    if phases and len(beyond) < len(phases):
        return f"{words} if {' or '.join(beyond)}"
    return words


UNABLE_NOT_READ = "MDC not read: unable (0 s)"
"""The verdict of a time held's change from or to an unable (0 s): the published MDC (Goldberg 2011) is the noise of
a time held measured again, and an unable is no time held, so the change is not read against it (the history's
``report.unable_change_words``)."""


def outcome_change(points: list[dict], better: str, mdc: dict | None, note: str = "",
                   metric: str | None = None) -> list[dict]:
    """Changes from the first point (the baseline) to each later one.

    ``points`` are ``{"assessment_id", "label", "week", "value"}`` in visit order, ``value``
    None where not measured; ``note``: why ``mdc`` is None (:func:`comparable_mdc`'s). Each change:
    ``to``, ``label``, ``week``, ``difference``, ``towards_benefit`` (True, False, or None for no
    change), ``verdict`` (:func:`verdict`), and ``mdc_reading``
    (the change against each phase's MDC in words, :func:`station.reference.mdc.phase_reading`;
    None unless the MDC is published per phase). ``metric`` ``time_held_s``: a change from or to 0 s
    (unable) is :data:`UNABLE_NOT_READ`, not read against ``mdc``.

    >>> points = [{"assessment_id": a, "label": a, "week": w, "value": v} for a, w, v in (("baseline", 0, 0.0),
    ...           ("end", 4, 6.0))]
    >>> [c["verdict"] for c in outcome_change(points, "higher", {"value": 24.1}, metric="time_held_s")]
    ['MDC not read: unable (0 s)']
    >>> [c["verdict"] for c in outcome_change(points, "higher", {"value": 24.1})]
    ['within measurement error']
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
        # a time held from or to an unable (0 s): an MDC published for times held is not read on it
        unable = mdc is not None and metric == "time_held_s" and 0 in (base, float(p["value"]))
        out.append({"to": p["assessment_id"], "label": p["label"], "week": p["week"], "difference": diff,
                    "towards_benefit": toward, "verdict": UNABLE_NOT_READ if unable else verdict(diff, better, mdc, note),
                    "mdc_reading": None if unable else mdc_table.phase_reading(diff, mdc)})
    return out
