"""Whom a published value was measured in, and whether a patient is one of them.

A published cut-off or minimal detectable change holds for the people it was measured in: Perry's
walking classes were set in people after stroke, Carter's backward-walk fall-risk times in older
adults without a neurological diagnosis. Read against anyone else it says nothing reliable, so a
value is only applied to a patient who fits its population: :func:`misfit` says why not, in words
the pages and reports put after "it is not applied to this patient" (or "not shown").

A patient whose fit is unknown does not fit: an age bound needs the age (the record keeps the birth
year; no birth year, no age). Condition tags are the patient record's (:mod:`station.store.conditions`);
a population names a tag family (``stroke`` matches ``stroke:left``).
"""

from __future__ import annotations

from dataclasses import dataclass

from station.store.conditions import KNOWN_CONDITIONS


def _family(tag: str) -> str:
    return tag.split(":")[0]


CONDITION_FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(_family(t) for t in KNOWN_CONDITIONS))
"""The condition tag families a population may name (``stroke``, ``parkinsons``, ...)."""


@dataclass(frozen=True)
class Population:
    """The people a published value was measured in: ``group`` in a few words ("people after
    stroke"), the condition tag family every one of them had (``condition_tag``; None: not a clinical
    group), the families the source excluded (``excluded_tags``), the youngest age included
    (``min_age_y``, years; None: no bound), and the families the source is not known to have
    included (``unknown_tags``: its inclusion and exclusion criteria were not read, so a patient
    with one of them is not known to be one of its people)."""

    group: str = ""
    condition_tag: str | None = None
    excluded_tags: tuple[str, ...] = ()
    min_age_y: float | None = None
    unknown_tags: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"group": self.group, "condition_tag": self.condition_tag,
                "excluded_conditions": list(self.excluded_tags), "min_age_y": self.min_age_y,
                "unknown_conditions": list(self.unknown_tags)}

    @property
    def bounded(self) -> bool:
        """True when it says anything about whom it fits."""
        return self.condition_tag is not None or bool(self.excluded_tags) or self.min_age_y is not None \
            or bool(self.unknown_tags)


def _label(tag: str) -> str:
    label = KNOWN_CONDITIONS.get(tag)
    if label is None:
        label = next((v for k, v in KNOWN_CONDITIONS.items() if _family(k) == _family(tag)), tag)
    return label[0].lower() + label[1:]


def misfit(population: Population, conditions: list[str] | tuple[str, ...] | None, age_y: float | None) -> str:
    """'' when a patient with these condition tags and age (years; None: not recorded) is one of
    ``population``, else why not, in a few words.

    >>> carter = Population("older adults without a neurological diagnosis", None, ("stroke", "parkinsons"), 60)
    >>> misfit(carter, [], 70), misfit(carter, [], 45), misfit(carter, [], None)
    ('', 'aged 45, younger than the 60 y it is applied from', 'age not recorded')
    >>> misfit(carter, ["stroke:left", "diabetes"], 70)
    'a diagnosis the source excluded: stroke, left side affected'
    >>> misfit(Population("people after stroke", "stroke"), ["fall_12m"], None)
    "no stroke in the patient's conditions"
    >>> polo = Population("483 community-dwelling older adults", None, (), 60, ("stroke", "walking_aid"))
    >>> misfit(polo, ["stroke:left", "fall_12m"], 76), misfit(polo, ["fall_12m"], 76)
    ("the source's population is not known to include people with stroke, left side affected", '')
    """
    tags = list(conditions or ())
    if population.condition_tag is not None and not any(_family(c) == population.condition_tag for c in tags):
        return f"no {population.condition_tag.replace('_', ' ')} in the patient's conditions"
    excluded = [c for c in tags if _family(c) in population.excluded_tags]
    if excluded:
        return "a diagnosis the source excluded: " + ", ".join(_label(c) for c in excluded)
    unknown = [c for c in tags if _family(c) in population.unknown_tags]
    if unknown:  # the source's criteria were not read: not known to be one of its people, so not applied
        return "the source's population is not known to include people with " + ", ".join(_label(c) for c in unknown)
    if population.min_age_y is not None:
        if age_y is None:
            return "age not recorded"
        if age_y < population.min_age_y:
            return f"aged {age_y:g}, younger than the {population.min_age_y:g} y it is applied from"
    return ""


def not_applied_words(what: str, group: str, why: str, *, plural: bool = False) -> str:
    """The sentence a page or report gives instead of a verdict, for a published value set in a
    population the patient is not known to belong to.

    >>> not_applied_words("cut-off (4.5 s)", "older adults", "age not recorded")
    'The published cut-off (4.5 s) was set in older adults; it is not applied to this patient (age not recorded).'
    """
    return (f"The published {what} {'were' if plural else 'was'} set in {group}; "
            f"{'they are' if plural else 'it is'} not applied to this patient ({why}).")
