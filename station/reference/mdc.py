"""Published minimal detectable changes (MDC) of the measures the history page follows.

An MDC (at 95 % confidence, also called smallest real difference) is the smallest change between
two sessions that exceeds the measurement error: a smaller change may be noise. It depends on the
measure, the population and the procedure, so each value here carries the population and the
source it comes from, and the history page shows them together. Only published values are carried;
a measure without one shows "no published MDC" rather than a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from station.reference.measures import unit_of
from station.reference.population import Population, misfit, not_applied_words


@dataclass(frozen=True)
class MinimalDetectableChange:
    """One published MDC: ``value`` in the unit of ``metric`` (a key of DESIGN.md §5 or
    ``time_held_s``), for stances with the eyes ``eyes`` (None: any) in ``protocols`` (empty: any
    quiet-stance protocol with that metric)."""

    metric: str
    value: float
    population: str
    citation: str
    eyes: str | None = None
    protocols: tuple[str, ...] = ()
    doi: str | None = None
    surface: str | None = None
    """``firm`` or ``foam``: the surface it was measured on (None: any)."""
    condition_tag: str | None = None
    """The patients it was measured in, as a patient condition tag family (``stroke`` matches
    ``stroke:left``); None: not a clinical group."""
    min_age_y: float | None = None
    """The youngest age it was measured at, years."""
    group: str = ""
    """The population in a few words (``people after stroke``)."""
    phases: tuple[tuple[str, float], ...] = ()
    """Published values by phase of the condition (``(("subacute", 0.07), ("chronic", 0.11))``) when
    the source gives one per phase; ``value`` is then the largest. The patient record holds no date
    of onset, so a change is read against every phase's value (:func:`phase_reading`)."""
    conditions: tuple[str, ...] = ()
    """The protocol conditions it was measured in (``comfortable``); empty: any."""
    bands: tuple[tuple[float | None, float | None, float], ...] = ()
    """Published values by the patient's baseline, ``(from, below, value)`` in the metric's unit
    (``from`` <= baseline < ``below``; None: open end) when the source gives one per group of
    baseline (Hosoi et al. 2023: by comfortable walking speed); ``value`` is then the largest. A
    change is read against the band of the session it is measured from (:func:`at_baseline`)."""
    band_condition: str | None = None
    """The protocol condition whose value at the baseline session picks the band (Hosoi's groups are
    by comfortable speed, for the fast pace too); None: the measure's own baseline value."""
    unknown_tags: tuple[str, ...] = ()
    """Condition tag families the source is not known to have included (its inclusion and exclusion
    criteria not read), as a cut-off's ``unknown_conditions``: not applied to a patient with one."""

    @property
    def measured_in(self) -> Population:
        """Whom it was measured in (:mod:`station.reference.population`, shared with the cut-offs)."""
        return Population(self.group, self.condition_tag, (), self.min_age_y, self.unknown_tags)

    def to_dict(self) -> dict:
        out = {"metric": self.metric, "value": self.value, "population": self.population,
               "citation": self.citation, "doi": self.doi}
        if self.phases:
            out["phases"] = [{"phase": phase, "value": value} for phase, value in self.phases]
        if self.bands:
            out["bands"] = [{"from": low, "below": high, "value": value} for low, high, value in self.bands]
            out["band_condition"] = self.band_condition
        return out


def _band_words(band: dict, unit: str) -> str:
    low, high = band["from"], band["below"]
    if low is None:
        return f"below {high:g} {unit}"
    if high is None:
        return f"{low:g} {unit} and above"
    return f"{low:g}–{high:g} {unit}"


def at_baseline(mdc: dict | None, baseline: float | None, *, what: str = "") -> dict | None:
    """The MDC (a :meth:`MinimalDetectableChange.to_dict`) that applies to a change measured from
    ``baseline``: an MDC published by group of baseline (``mdc["bands"]``) becomes its group's, with
    the group named in ``population`` and ``band_words``; any other is returned as it is. None when a banded MDC has no
    baseline to pick its group (the group is not guessed). ``what`` names the baseline in the words
    (``"comfortable speed at the earlier session"``; default: the measure at the earlier session).

    >>> m = {"metric": "walk_speed_m_s", "value": 0.21, "population": "84 people after stroke",
    ...      "bands": [{"from": None, "below": 0.4, "value": 0.05}, {"from": 0.4, "below": 0.8, "value": 0.11},
    ...                {"from": 0.8, "below": None, "value": 0.21}]}
    >>> band = at_baseline(m, 0.62)
    >>> band["value"], band["population"]
    (0.11, "84 people after stroke; this patient's group: 0.4–0.8 m/s (0.62 m/s at the earlier session)")
    >>> band["band_words"]
    'the group 0.4–0.8 m/s, 0.62 m/s at the earlier session'

    >>> at_baseline(m, 0.8)["value"], at_baseline(m, 0.39)["value"], at_baseline(m, None)
    (0.21, 0.05, None)
    >>> at_baseline({"value": 0.61, "population": "20 people"}, None)["value"]
    0.61
    """
    if not mdc or not mdc.get("bands"):
        return mdc
    if baseline is None:
        return None
    unit = unit_of(mdc.get("metric", ""))
    published = mdc.get("population_published", mdc["population"])
    for band in mdc["bands"]:
        if (band["from"] is None or baseline >= band["from"]) and (band["below"] is None or baseline < band["below"]):
            group, at = _band_words(band, unit), f"{baseline:.2f} {unit} {what or 'at the earlier session'}"
            return {**mdc, "value": band["value"], "band": band, "population_published": published,
                    "band_words": f"the group {group}, {at}",
                    "population": f"{published}; this patient's group: {group} ({at})"}
    return None


def phase_reading(change: float | None, mdc: dict | None) -> str | None:
    """A change against an MDC published per phase of the condition (``mdc["phases"]``), in words,
    when the patient's phase is not known; None without phases or a change.

    >>> m = {"value": 0.11, "phases": [{"phase": "subacute", "value": 0.07}, {"phase": "chronic", "value": 0.11}]}
    >>> phase_reading(0.09, m)
    'beyond the subacute MDC (0.07), within the chronic MDC (0.11): real if the stroke is subacute, may be noise if chronic'
    >>> phase_reading(-0.15, m)
    'beyond the MDC in both subacute (0.07) and chronic (0.11) stroke: a real change'
    >>> phase_reading(0.05, m)
    'within the MDC in both subacute (0.07) and chronic (0.11) stroke: may be noise'
    """
    phases = (mdc or {}).get("phases") or []
    if change is None or not phases:
        return None
    beyond = [p for p in phases if abs(change) > p["value"]]
    within = [p for p in phases if abs(change) <= p["value"]]
    both = " and ".join(f"{p['phase']} ({p['value']:g})" for p in phases)
    if not within:
        return f"beyond the MDC in both {both} stroke: a real change"
    if not beyond:
        return f"within the MDC in both {both} stroke: may be noise"
    return (", ".join(f"beyond the {p['phase']} MDC ({p['value']:g})" for p in beyond) + ", "
            + ", ".join(f"within the {p['phase']} MDC ({p['value']:g})" for p in within) + ": real if the stroke is "
            + " or ".join(p["phase"] for p in beyond) + ", may be noise if " + " or ".join(p["phase"] for p in within))


GASQ_2014 = (
    "Gasq D, et al. Between-day reliability of centre of "
    "pressure measures for balance assessment in hemiplegic stroke patients. J Neuroeng Rehabil 2014;11:39."
)
GOLDBERG_2011 = (
    "Goldberg A, et al. Minimum detectable change for single-leg-stance-time in older adults. "
    "Gait Posture 2011;33(4):737-739."
)
"""Abstract verified, as the APTA's "New in the Literature" (2011) quotes it: 25 adults aged 60-89 y, the purpose
"to quantify MDC for SLST in community-dwelling older adults", repeated trials, the MDC (95 %) computed from the
SEM (8.7 s): 24.1 s (1.96 x sqrt 2 x 8.7 s). Not read (full text): the inclusion and exclusion criteria, how long
a stance was timed at most and whether the best or the mean of the trials was taken."""

OLDER_ADULTS_CRITERIA_NOT_READ = ("stroke", "parkinsons", "multiple_sclerosis", "peripheral_neuropathy", "concussion",
                                  "vestibular", "amputation", "cognitive_impairment")
"""Diagnoses that impair balance and that studies of community-dwelling or healthy older adults usually exclude:
a value measured in such people, their criteria not read, is not applied to a patient with one (the single-leg
protocol's Vellas and Springer values carry the same list as ``unknown_conditions``)."""

DEMARK_2022 = (
    "DeMark LA, Fox EJ, Manes MR, Conroy C, Rose DK. The 3-Meter Backward Walk Test (3MBWT): reliability and "
    "validity in individuals with subacute and chronic stroke. Physiother Theory Pract 2023;39(12):2698-2705."
)

HOSOI_2023 = (
    "Hosoi Y, Kamimoto T, Sakai K, Yamada M, Kawakami M. Estimation of minimal detectable change in the 10-meter "
    "walking test for patients with stroke: a study stratified by gait speed. Front Neurol 2023;14:1219505."
)
"""Abstract verified (the groups and the MDCs of gait speed; its patients' phase of stroke is not in it). Its
groups are < 0.4, 0.4–0.8 and > 0.8 m/s; a baseline of exactly 0.8 m/s is put in the fastest group here, as
the station's Perry classes put 0.8 m/s in community walking, so the class shown and the MDC's group agree."""

PUBLISHED: tuple[MinimalDetectableChange, ...] = (
    MinimalDetectableChange(
        "mean_velocity_cm_s", 0.61,
        "20 people with hemiplegia after stroke, quiet standing on a force platform, eyes open, sessions 7 days apart "
        "(smallest real difference 6.1 mm/s)",
        GASQ_2014, eyes="open", doi="10.1186/1743-0003-11-39", surface="firm", condition_tag="stroke",
        group="people after stroke, firm surface"),
    MinimalDetectableChange(
        "mean_velocity_cm_s", 0.95,
        "20 people with hemiplegia after stroke, quiet standing on a force platform, eyes closed, sessions 7 days apart "
        "(smallest real difference 9.5 mm/s)",
        GASQ_2014, eyes="closed", doi="10.1186/1743-0003-11-39", surface="firm", condition_tag="stroke",
        group="people after stroke, firm surface"),
    MinimalDetectableChange(
        "time_held_s", 24.1,
        "25 community-dwelling adults aged 60-89 y, single-leg stance time (SEM 8.7 s)",
        GOLDBERG_2011, protocols=("single-leg",), min_age_y=60, group="community-dwelling adults aged 60 y and over",
        unknown_tags=OLDER_ADULTS_CRITERIA_NOT_READ),
    MinimalDetectableChange(
        "walk_speed_m_s", 0.11,
        "34 people with subacute and 29 with chronic stroke, comfortable backward walking speed over the middle 3 m "
        "of a 5 m walkway: 0.07 m/s subacute, 0.11 m/s chronic (the patient record holds no date of stroke, so a "
        "change is read against both; the chart shades the larger)",
        DEMARK_2022, protocols=("backward-walk-3m-5m",), condition_tag="stroke", group="people after stroke",
        phases=(("subacute", 0.07), ("chronic", 0.11))),
    MinimalDetectableChange(
        "walk_speed_m_s", 0.21,
        "84 people after stroke, 10-metre walk at comfortable speed, by group of comfortable speed: 0.05 m/s below "
        "0.4 m/s, 0.11 m/s from 0.4 to 0.8 m/s, 0.21 m/s above 0.8 m/s",
        HOSOI_2023, protocols=("ten-metre-walk",), conditions=("comfortable",), doi="10.3389/fneur.2023.1219505",
        condition_tag="stroke", group="people after stroke",
        bands=((None, 0.4, 0.05), (0.4, 0.8, 0.11), (0.8, None, 0.21))),
    MinimalDetectableChange(
        "walk_speed_m_s", 0.19,
        "84 people after stroke, 10-metre walk at maximum speed, by group of comfortable speed: 0.04 m/s below "
        "0.4 m/s, 0.12 m/s from 0.4 to 0.8 m/s, 0.19 m/s above 0.8 m/s",
        HOSOI_2023, protocols=("ten-metre-walk",), conditions=("fast",), doi="10.3389/fneur.2023.1219505",
        condition_tag="stroke", group="people after stroke",
        bands=((None, 0.4, 0.04), (0.4, 0.8, 0.12), (0.8, None, 0.19)), band_condition="comfortable"),
)


def find_mdc(metric: str, *, protocol: str, eyes: str | None, feet: str,
             surface: str | None = None, condition: str | None = None) -> MinimalDetectableChange | None:
    """The published MDC for ``metric`` measured in this protocol, condition (its id) and stance, or None.

    Sway measures' MDCs were measured on both feet: they are not given for single-leg stance;
    one measured on a firm surface is not given for foam. Whether it fits the *patient* is
    :func:`fits_patient`'s question.
    """
    for mdc in PUBLISHED:
        if mdc.metric != metric:
            continue
        if mdc.protocols and protocol not in mdc.protocols:
            continue
        if mdc.conditions and condition not in mdc.conditions:
            continue
        if not mdc.protocols and feet not in ("apart", "together"):
            continue
        if mdc.eyes is not None and eyes != mdc.eyes:
            continue
        if mdc.surface is not None and surface is not None and surface != mdc.surface:
            continue
        return mdc
    return None


def fits_patient(mdc: MinimalDetectableChange, conditions: list[str] | tuple[str, ...],
                 age_y: float | None) -> str:
    """'' when ``mdc`` was measured in people like this patient, else why not (words).

    ``conditions``: the patient's condition tags (``stroke:left``); ``age_y``: age in years (None: not
    recorded, which fits no age bound). The test is :func:`station.reference.population.misfit`'s.
    """
    why = misfit(mdc.measured_in, conditions, age_y)
    if why:  # the cut-offs' words (population.not_applied_words), the value with its unit
        return not_applied_words(f"minimal detectable change ({f'{mdc.value:g} {unit_of(mdc.metric)}'.strip()})",
                                 mdc.group, why)
    return ""
