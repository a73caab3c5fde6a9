"""Clinical protocols as data: the schema of a protocol file and its validation.

A protocol is a TOML file (read with :mod:`tomllib`); the built-in ones ship as package data in
``station/protocols/builtin/*.toml`` and a clinic can add its own (see
:mod:`station.protocols.loader`). A file with a mistake is refused with a
:class:`ProtocolError` that names the file, the field and what is allowed (fields are taken
apart with :mod:`station.tomlschema`, the mechanism shared by every hand-written TOML file).

File layout (every section is described in ``station/protocols/builtin/README.md``)::

    [protocol]      name, title, summary, outcome, duration_s, instructions, trials and repeats
    [stance]        default feet, arms, surface, eyes for every condition
    [walk]          walk tests: direction, setting, start, timed_from_m, timed_to_m, walkway_m
    [los]           limits of stability: targets (theoretical or previous), ready_s
    [[conditions]]  id, label, and any stance field, pace or duration_s that differs from the default
    [analysis]      romberg = {eyes_open = ..., eyes_closed = ...}; asymmetry_flag_pct
    [quality]       overrides of :class:`station.protocols.quality.QualitySettings`
    [[references]]  id, citation, doi, url
    [[cutoffs]]     metric, condition, below | above, meaning, reference; the population it was set in:
                    group, condition_tag, excluded_conditions, min_age_y, unknown_conditions (families
                    the source is not known to have included: its criteria not read); a cut-off with a band of good
                    news at the other end gives both bounds and names that end's words
                    (below_meaning | above_meaning: Carter's low fall risk below 3.0 s)
    [[norms]]       metric, condition, statistic, population, trial_duration_s, reference, rows;
                    not_verified: what of the values was not checked in the source (said beside them)

Units are in the field names (``duration_s``, ``asymmetry_flag_pct``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from station.analysis.gait_keys import GAIT_KEYS
from station.analysis.limits_of_stability import DIRECTIONS as LOS_DIRECTIONS
from station.analysis.limits_of_stability import LOS_KEYS
from station.analysis.metrics import METRIC_KEYS
from station.protocols.quality import QUALITY_FIELDS, QualitySettings
from station.reference.population import CONDITION_FAMILIES, Population
from station.tomlschema import NAME_RE as _NAME_RE
from station.tomlschema import SchemaError, Table
from station.tomlschema import allowed_list as _allowed

OUTCOMES = ("sway", "time_held", "weight_bearing", "walk", "limits_of_stability")
"""``sway``: COP sway metrics of a fixed-duration stance (losing balance makes the trial invalid).
``time_held``: how long the patient holds the stance, up to ``duration_s`` (losing balance ends the
hold, and its time is the result), plus COP metrics of the held part. ``weight_bearing``: quiet
stance reporting the share of body weight on the left and right (and the sway metrics). ``walk``:
a walk test timed by the light gates (overground) or measured by the lower-back IMU (treadmill),
with the gait measures of DESIGN.md §8 (see the ``[walk]`` table). ``limits_of_stability``: the
NeuroCom-style leaning test, one condition per target direction (its id is the direction: ``f``,
``fr``, ``r``, ``br``, ``b``, ``bl``, ``l``, ``fl``), each trial a lean toward that target on the
go signal (see the ``[los]`` table and :mod:`station.protocols.lean`)."""
DIRECTIONS = ("forward", "backward")
WALK_SETTINGS = ("overground", "treadmill")
STARTS = ("static", "flying")
"""``static``: timed from the go beep, the patient standing at the start line; ``flying``: timed
between two gates, the patient already walking (acceleration and deceleration outside them)."""
PACES = ("comfortable", "fast")
FEET = ("apart", "together", "semi_tandem", "tandem", "single_left", "single_right")
ARMS = ("at_sides", "crossed", "on_hips")
SURFACES = ("firm", "foam")
EYES = ("open", "closed")
ORDERS = ("as_listed", "alternating", "random")
"""``as_listed``: all trials of the first condition, then the next. ``alternating``: one trial of
each condition in turn (left, right, left, right ...). ``random``: the trials in an order drawn
at random when the run opens (e.g. the targets of a limits-of-stability test)."""
LOS_TARGETS = ("theoretical", "previous")
"""Where a limits-of-stability test's targets lie: at the theoretical limits from the patient's
height (:data:`station.analysis.limits_of_stability.THEORETICAL_LIMITS_DEG`), or at the maximum
excursions of the patient's previous test (the theoretical ones when there is none)."""
SCORES = ("best", "mean")
"""How the held times of a condition's trials combine into its score."""
REPEAT_WHEN = ("invalid", "not_completed")
"""When a trial is offered again (up to ``max_attempts``): it was invalid; or (timed holds) the
patient did not hold the full duration."""
OUTCOMES = OUTCOMES + ("training",)
"""``training``: a biofeedback training game (one condition: the stance the patient plays in); the
game, level and session length are chosen when the run opens, and the game replaces the
condition's duration (:mod:`station.protocols.training`)."""

SWAY_METRICS = METRIC_KEYS
"""Sway metric keys of DESIGN.md §5 (as :func:`station.analysis.metrics.compute_metrics` names
them) that cut-offs and norms may refer to."""
PROTOCOL_METRICS = ("time_held_s", "romberg_quotient_area", "romberg_quotient_velocity", "weight_asymmetry_pct")
"""Results the protocol engine itself computes (see :mod:`station.protocols.results`)."""
WALK_METRICS = ("walk_time_s", "walk_distance_m", "walk_speed_m_s") + tuple(
    k for k in GAIT_KEYS if k != "initial_contacts_s") + ("walking_min", "pauses", "pause_s")
"""Results of walk tests (:mod:`station.protocols.walk`): gate timing and the gait keys."""
LOS_METRICS = LOS_KEYS
"""Results of limits-of-stability tests (:mod:`station.analysis.limits_of_stability`)."""
METRICS = SWAY_METRICS + PROTOCOL_METRICS + WALK_METRICS + LOS_METRICS



class ProtocolError(SchemaError):
    """A protocol file with a mistake. ``str(e)`` is one line: ``<file>: <field>: <problem>``,
    ending with what is allowed (the station's one mechanism for hand-written TOML,
    :mod:`station.tomlschema`)."""


@dataclass(frozen=True)
class Stance:
    """How the patient stands: ``feet`` (FEET), ``arms`` (ARMS), ``surface`` (SURFACES), ``eyes`` (EYES)."""

    feet: str
    arms: str
    surface: str
    eyes: str

    def describe(self) -> str:
        """The stance in plain words, e.g. 'feet together, arms crossed, on foam, eyes closed'."""
        feet = {
            "apart": "feet apart at hip width",
            "together": "feet together",
            "semi_tandem": "one foot half a foot ahead of the other (semi-tandem)",
            "tandem": "one foot directly in front of the other, heel to toe (tandem)",
            "single_left": "standing on the left leg",
            "single_right": "standing on the right leg",
        }[self.feet]
        arms = {"at_sides": "arms at the sides", "crossed": "arms crossed over the chest", "on_hips": "hands on the hips"}[self.arms]
        surface = {"firm": "on the plate", "foam": "on the foam pad"}[self.surface]
        return f"{feet}, {arms}, {surface}, eyes {self.eyes}"

    def to_dict(self) -> dict:
        return {"feet": self.feet, "arms": self.arms, "surface": self.surface, "eyes": self.eyes}


@dataclass(frozen=True)
class Condition:
    """One test condition: an ``id`` (for programs), a ``label`` (for people), the stance, the
    patient instructions for it and its duration in s."""

    id: str
    label: str
    stance: Stance
    instructions: str
    duration_s: float
    pace: str | None = None
    """Walk tests: ``comfortable`` or ``fast`` (None for stance tests)."""
    walk: "WalkSpec | None" = None
    """Walk tests: the protocol's walk (what the patient does is the walk, not a stance on the plate)."""

    @property
    def single_leg(self) -> bool:
        return self.stance.feet in ("single_left", "single_right")

    def describe(self, walk: "WalkSpec | None" = None) -> str:
        """What the patient does, in plain words (the stance, or the walk)."""
        walk = walk or self.walk
        if walk is not None:
            return walk.describe(self.pace)
        return self.stance.describe()

    def to_dict(self) -> dict:
        """A stance condition's stance on the plate; a walk condition's walk instead (direction,
        setting, pace, walkway and timed stretch, in fields and words): a walk has no stance."""
        out = {"id": self.id, "label": self.label, "instructions": self.instructions,
               "duration_s": self.duration_s, "pace": self.pace}
        if self.walk is not None:
            return {**out, "walk": {**self.walk.to_dict(), "pace": self.pace}, "walk_words": self.describe()}
        return {**out, "stance": self.stance.to_dict(), "stance_words": self.stance.describe()}


@dataclass(frozen=True)
class LosSpec:
    """A limits-of-stability test's set-up: where the targets lie (``targets``, :data:`LOS_TARGETS`)
    and how long the patient stands still at the centre before each go signal (``ready_s``, s;
    recorded with the lean, for its start position and the moved-before-go check)."""

    targets: str = "theoretical"
    ready_s: float = 1.5

    def to_dict(self) -> dict:
        return {"targets": self.targets, "ready_s": self.ready_s}


@dataclass(frozen=True)
class WalkSpec:
    """A walk test's set-up: ``direction``, ``setting`` (overground or treadmill), ``start``
    (static or flying), the timed stretch ``timed_from_m``..``timed_to_m`` (positions along the
    walkway, m from the start line; a static start is timed from the go beep, at 0 m) and the
    whole ``walkway_m``. Overground tests need a light gate at each timed position."""

    direction: str
    setting: str
    start: str | None = None
    timed_from_m: float | None = None
    timed_to_m: float | None = None
    walkway_m: float | None = None

    @property
    def gates_m(self) -> tuple[float, ...]:
        """Positions of the gates this test times with, m."""
        if self.setting != "overground":
            return ()
        if self.start == "flying":
            return (self.timed_from_m, self.timed_to_m)
        return (self.timed_to_m,)

    @property
    def timed_distance_m(self) -> float | None:
        if self.setting != "overground":
            return None
        return self.timed_to_m - (self.timed_from_m if self.start == "flying" else 0.0)

    def describe(self, pace: str | None = None) -> str:
        pace_words = f" at a {pace} pace" if pace else ""
        if self.setting == "treadmill":
            return f"walking {self.direction} on the treadmill{pace_words}"
        timed = (f"timed from the go beep to the gate at {self.timed_to_m:g} m" if self.start == "static" else
                 f"timed between the gates at {self.timed_from_m:g} m and {self.timed_to_m:g} m")
        return f"walking {self.direction}{pace_words} along a {self.walkway_m:g} m walkway, {timed}"

    def to_dict(self) -> dict:
        return {"direction": self.direction, "setting": self.setting, "start": self.start,
                "timed_from_m": self.timed_from_m, "timed_to_m": self.timed_to_m, "walkway_m": self.walkway_m,
                "gates_m": list(self.gates_m)}


@dataclass(frozen=True)
class Reference:
    id: str
    citation: str
    doi: str | None = None
    url: str | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "citation": self.citation, "doi": self.doi, "url": self.url}


@dataclass(frozen=True)
class Cutoff:
    """A published threshold: the result ``metric`` (of ``condition``, or of every condition when
    None) is flagged when it is ``below`` or ``above`` the value; ``meaning`` says what that means
    in words; ``reference`` is the id of the source; ``population``: whom the source set it in
    (:mod:`station.reference.population`): it is applied only to a patient known to be one of them.

    A cut-off may also give the other bound, beyond which the result is good news (``good_side``,
    ``"below"`` or ``"above"``, with its words ``good_meaning``): Carter's 3-m backward walk, slower
    than 4.5 s high fall risk, faster than 3.0 s low risk, neither between. It is flagged on
    :attr:`flag_side` only."""

    metric: str
    condition: str | None
    below: float | None
    above: float | None
    meaning: str
    reference: str
    population: Population = Population()
    good_side: str | None = None
    good_meaning: str = ""

    @property
    def flag_side(self) -> str:
        """``"below"`` or ``"above"``: the side of its bound a result is flagged on."""
        if self.good_side is not None:
            return "above" if self.good_side == "below" else "below"
        return "below" if self.below is not None else "above"

    def to_dict(self) -> dict:
        return {"metric": self.metric, "condition": self.condition, "below": self.below,
                "above": self.above, "meaning": self.meaning, "reference": self.reference,
                "population": self.population.to_dict(), "flag_side": self.flag_side,
                "good_side": self.good_side, "good_meaning": self.good_meaning}


@dataclass(frozen=True)
class NormRow:
    """Reference values of one age band (years, inclusive)."""

    age_min_y: int
    age_max_y: int
    mean: float | None = None
    sd: float | None = None
    p05: float | None = None
    p50: float | None = None
    p95: float | None = None

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("age_min_y", "age_max_y", "mean", "sd", "p05", "p50", "p95")}


@dataclass(frozen=True)
class Norm:
    """Published reference values of ``metric`` by age band, with how they were obtained
    (``statistic``, ``population``, ``trial_duration_s`` of the source's trials) and the source."""

    metric: str
    condition: str | None
    statistic: str
    population: str
    trial_duration_s: float | None
    reference: str
    rows: tuple[NormRow, ...]
    measured_in: Population = Population()
    """Whom the values hold for, by condition (a cut-off's rule, :func:`station.reference.population.misfit`):
    read only for a patient who fits; the age rows bound the age."""
    not_verified: str = ""
    """What of the values was not checked in the source itself (a sentence, said wherever they are read:
    Springer 2007's age means, its table not read); '' when they were."""

    def row_for_age(self, age_y: float) -> NormRow | None:
        for row in self.rows:
            if row.age_min_y <= math.floor(age_y) <= row.age_max_y:
                return row
        return None

    def to_dict(self) -> dict:
        return {"metric": self.metric, "condition": self.condition, "statistic": self.statistic,
                "population": self.population, "trial_duration_s": self.trial_duration_s,
                "reference": self.reference, "rows": [r.to_dict() for r in self.rows],
                "measured_in": self.measured_in.to_dict(), "not_verified": self.not_verified}


@dataclass(frozen=True)
class Protocol:
    """A validated clinical protocol (see the module docstring for the file layout)."""

    name: str
    title: str
    summary: str
    version: int
    outcome: str
    duration_s: float
    countdown_s: float
    trials_per_condition: int
    max_attempts: int
    repeat_when: tuple[str, ...]
    rest_s: float
    order: str
    score: str
    instructions: str
    operator_notes: str
    conditions: tuple[Condition, ...]
    romberg: tuple[str, str] | None
    """(eyes-open condition id, eyes-closed condition id) for the Romberg quotients."""
    asymmetry_flag_pct: float | None
    quality: QualitySettings
    references: tuple[Reference, ...]
    cutoffs: tuple[Cutoff, ...]
    norms: tuple[Norm, ...]
    source: str = ""
    """Where it was loaded from (a path, or ``builtin:<file>``)."""
    notes: str = ""
    walk: WalkSpec | None = None
    """Walk tests (``outcome = "walk"``): the walk's set-up."""
    los: LosSpec | None = None
    """Limits-of-stability tests (``outcome = "limits_of_stability"``): targets and ready time."""

    def condition(self, condition_id: str) -> Condition:
        for c in self.conditions:
            if c.id == condition_id:
                return c
        raise KeyError(condition_id)

    def reference(self, reference_id: str) -> Reference:
        for r in self.references:
            if r.id == reference_id:
                return r
        raise KeyError(reference_id)

    def to_dict(self) -> dict:
        """A JSON-serialisable description (for the dashboard and ``protocols show --json``)."""
        return {
            "name": self.name, "title": self.title, "summary": self.summary, "version": self.version,
            "outcome": self.outcome, "duration_s": self.duration_s, "countdown_s": self.countdown_s,
            "trials_per_condition": self.trials_per_condition, "max_attempts": self.max_attempts,
            "repeat_when": list(self.repeat_when), "rest_s": self.rest_s, "order": self.order,
            "score": self.score, "instructions": self.instructions, "operator_notes": self.operator_notes,
            "notes": self.notes,
            "conditions": [c.to_dict() for c in self.conditions],
            "romberg": {"eyes_open": self.romberg[0], "eyes_closed": self.romberg[1]} if self.romberg else None,
            "asymmetry_flag_pct": self.asymmetry_flag_pct,
            "quality": {name: getattr(self.quality, name) for name in QUALITY_FIELDS},
            "references": [r.to_dict() for r in self.references],
            "cutoffs": [c.to_dict() for c in self.cutoffs],
            "norms": [n.to_dict() for n in self.norms],
            "source": self.source,
            "walk": self.walk.to_dict() if self.walk else None,
            "los": self.los.to_dict() if self.los else None,
        }


# ------------------------------------------------------------------------------------------------
# Validation


class _Reader(Table):
    """A :class:`station.tomlschema.Table` whose mistakes are :class:`ProtocolError`; it hands out
    arrays of tables as plain dicts (the code below wraps each in a reader of its own)."""

    def __init__(self, source: str, prefix: str, table: Any):
        super().__init__(source, prefix, table, ProtocolError)

    def array_of_tables(self, key: str, required: bool = False) -> list[dict]:
        return [t.table for t in super().array_of_tables(key, required)]


def _population(r: _Reader, what: str, ages: bool = True) -> Population:
    """Whom a cut-off (or published reference values: ``ages`` False, their age rows bound the age) was
    set in: ``group``, ``condition_tag``, ``excluded_conditions``, ``min_age_y``, ``unknown_conditions``
    (:class:`station.reference.population.Population`)."""
    population = Population(
        group=r.text("group", required=False, default=""),
        condition_tag=r.choice("condition_tag", CONDITION_FAMILIES, required=False),
        excluded_tags=r.choices("excluded_conditions", CONDITION_FAMILIES),
        min_age_y=r.number("min_age_y", lo=0.0, hi=120.0, required=False) if ages else None,
        unknown_tags=r.choices("unknown_conditions", CONDITION_FAMILIES))
    if population.bounded and not population.group:
        plural = what.endswith("s")
        raise r.error("group", f"is missing: name the population in a few words (the pages say the {what} "
                      f"{'were' if plural else 'was'} set in it when {'they are' if plural else 'it is'} not applied "
                      "to a patient)")
    if population.condition_tag is not None and population.condition_tag in population.excluded_tags:
        raise r.error("excluded_conditions", f"{population.condition_tag!r} is also the required condition_tag")
    both = [t for t in population.unknown_tags if t in population.excluded_tags or t == population.condition_tag]
    if both:
        raise r.error("unknown_conditions", f"{both[0]!r} is also excluded or required: the source's criteria "
                      "are either known (excluded_conditions, condition_tag) or not read (unknown_conditions)")
    return population


def protocol_from_dict(data: dict, source: str) -> Protocol:
    """Validate a parsed protocol file and build the :class:`Protocol`.

    Raises
    ------
    ProtocolError
        Naming ``source``, the field and what is allowed.
    """
    top = _Reader(source, "", data)
    head_table = top.table_of("protocol")
    if head_table is None:
        raise ProtocolError(source, "protocol", "the [protocol] table is missing; it is required")
    head = _Reader(source, "protocol", head_table)
    name = head.ident("name", _NAME_RE)
    title = head.text("title")
    summary = head.text("summary")
    version = head.integer("version", lo=1, hi=10_000, required=False, default=1)
    outcome = head.choice("outcome", OUTCOMES)
    is_walk = head.table.get("outcome") == "walk"
    duration_s = head.number("duration_s", lo=1.0, hi=7200.0 if is_walk else 600.0)
    countdown_s = head.number("countdown_s", lo=0.0, hi=10.0, required=False, default=3.0)
    trials = head.integer("trials_per_condition", lo=1, hi=10, required=False, default=1)
    max_attempts = head.integer("max_attempts", lo=1, hi=10, required=False, default=3)
    repeat_when = head.choices("repeat_when", REPEAT_WHEN, ("invalid",))
    rest_s = head.number("rest_s", lo=0.0, hi=600.0, required=False, default=0.0)
    order = head.choice("order", ORDERS, required=False, default="as_listed")
    score = head.choice("score", SCORES, required=False, default="best")
    instructions = head.text("instructions")
    operator_notes = head.text("operator_notes", required=False, default="")
    notes = head.text("notes", required=False, default="")
    head.finish()
    if "not_completed" in repeat_when and outcome != "time_held":
        raise ProtocolError(source, "protocol.repeat_when",
                            f"'not_completed' only applies to timed holds (outcome 'time_held'), not {outcome!r}; "
                            "allowed here: 'invalid'")

    walk = None
    walk_table = top.table_of("walk")
    if outcome == "walk":
        if walk_table is None:
            raise ProtocolError(source, "walk", "the [walk] table is missing; a walk test needs it "
                                "(direction, setting, start, timed_from_m, timed_to_m, walkway_m)")
        walk = _walk_spec(source, walk_table, duration_s)
    elif walk_table is not None:
        raise ProtocolError(source, "walk", f"only applies to walk tests (outcome 'walk'), not {outcome!r}")

    defaults = _Reader(source, "stance", top.table_of("stance") or ({} if walk is None else
                                                                    {"feet": "apart", "arms": "at_sides",
                                                                     "surface": "firm", "eyes": "open"}))
    default_stance = {
        "feet": defaults.choice("feet", FEET, required=False),
        "arms": defaults.choice("arms", ARMS, required=False),
        "surface": defaults.choice("surface", SURFACES, required=False),
        "eyes": defaults.choice("eyes", EYES, required=False),
    }
    defaults.finish()

    conditions: list[Condition] = []
    raw_conditions = top.array_of_tables("conditions", required=True)
    if not raw_conditions:
        raise ProtocolError(source, "conditions", "is empty; at least one [[conditions]] table is required")
    for i, raw in enumerate(raw_conditions):
        r = _Reader(source, f"conditions[{i}]", raw)
        cid = r.ident("id")
        if any(c.id == cid for c in conditions):
            raise r.error("id", f"{cid!r} is used twice; condition ids must be unique")
        label = r.text("label")
        stance_values = {}
        for key, allowed in (("feet", FEET), ("arms", ARMS), ("surface", SURFACES), ("eyes", EYES)):
            value = r.choice(key, allowed, required=False) or default_stance[key]
            if value is None:
                raise r.error(key, f"is missing and [stance] gives no default; allowed: {_allowed(allowed)}")
            stance_values[key] = value
        extra = r.text("instructions", required=False, default="")
        cond_duration = r.number("duration_s", lo=1.0, hi=7200.0 if walk else 600.0, required=False, default=duration_s)
        pace = r.choice("pace", PACES, required=False)
        r.finish()
        if pace is not None and walk is None:
            raise r.error("pace", f"only applies to walk tests (outcome 'walk'), not {outcome!r}")
        conditions.append(Condition(cid, label, Stance(**stance_values), extra, cond_duration, pace, walk))
    ids = [c.id for c in conditions]

    los = _los_spec(source, top.table_of("los"), outcome, conditions, trials)

    single = [c.id for c in conditions if c.single_leg]
    if single and outcome != "time_held":
        raise ProtocolError(source, "protocol.outcome",
                            f"{outcome!r} does not fit single-leg conditions ({', '.join(single)}); allowed with single-leg stance: 'time_held'")

    romberg = None
    asymmetry = None
    analysis = top.table_of("analysis")
    if analysis is not None:
        a = _Reader(source, "analysis", analysis)
        rb = a.table_of("romberg")
        if rb is not None:
            rr = _Reader(source, "analysis.romberg", rb)
            eo = rr.choice("eyes_open", ids)
            ec = rr.choice("eyes_closed", ids)
            rr.finish()
            if conditions[ids.index(eo)].stance.eyes != "open" or conditions[ids.index(ec)].stance.eyes != "closed":
                raise rr.error("eyes_closed", f"the Romberg pair must be an eyes-open and an eyes-closed condition; "
                               f"{eo!r} has eyes {conditions[ids.index(eo)].stance.eyes}, {ec!r} has eyes {conditions[ids.index(ec)].stance.eyes}")
            romberg = (eo, ec)
        asymmetry = a.number("asymmetry_flag_pct", lo=0.0, hi=100.0, required=False, lo_open=True)
        a.finish()
        if asymmetry is not None and outcome != "weight_bearing":
            raise ProtocolError(source, "analysis.asymmetry_flag_pct",
                                f"only applies to weight-bearing protocols (outcome 'weight_bearing'), not {outcome!r}")

    quality = QualitySettings()
    q_table = top.table_of("quality")
    if q_table is not None:
        overrides = {}
        for key, value in q_table.items():
            if key not in QUALITY_FIELDS:
                raise ProtocolError(source, f"quality.{key}", f"unknown field; allowed: {_allowed(QUALITY_FIELDS)}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ProtocolError(source, f"quality.{key}", f"must be a number of at least 0, not {value!r}")
            overrides[key] = float(value)
        quality = quality.replace(overrides)
        if not quality.off_plate_fraction < quality.unload_fraction < 1.0 < quality.overload_fraction:
            raise ProtocolError(source, "quality",
                                "the load fractions must satisfy off_plate_fraction < unload_fraction < 1 < overload_fraction; "
                                f"got {quality.off_plate_fraction:g}, {quality.unload_fraction:g}, {quality.overload_fraction:g}")

    references: list[Reference] = []
    for i, raw in enumerate(top.array_of_tables("references")):
        r = _Reader(source, f"references[{i}]", raw)
        rid = r.ident("id")
        if any(x.id == rid for x in references):
            raise r.error("id", f"{rid!r} is used twice; reference ids must be unique")
        references.append(Reference(rid, r.text("citation"), r.optional_text("doi"), r.optional_text("url")))
        r.finish()
    ref_ids = [r.id for r in references]

    def check_ref(r: _Reader) -> str:
        ref = r.text("reference")
        if ref not in ref_ids:
            raise r.error("reference", f"{ref!r} is not a reference of this file; allowed: "
                          f"{_allowed(ref_ids) if ref_ids else 'add a [[references]] table first'}")
        return ref

    def check_metric(r: _Reader) -> str:
        metric = r.choice("metric", METRICS)
        if metric == "time_held_s" and outcome != "time_held":
            raise r.error("metric", f"'time_held_s' only applies to timed holds; this protocol's outcome is {outcome!r}")
        if (metric in WALK_METRICS) != (outcome == "walk") or (metric in LOS_METRICS) != (outcome == "limits_of_stability"):
            raise r.error("metric", f"{metric!r} does not apply to this protocol's outcome {outcome!r}")
        if metric.startswith("romberg_") and romberg is None:
            raise r.error("metric", f"{metric!r} needs [analysis] romberg = {{eyes_open = ..., eyes_closed = ...}}")
        return metric

    cutoffs: list[Cutoff] = []
    for i, raw in enumerate(top.array_of_tables("cutoffs")):
        r = _Reader(source, f"cutoffs[{i}]", raw)
        metric = check_metric(r)
        condition = r.choice("condition", ids, required=False)
        below = r.number("below", lo=-1e9, hi=1e9, required=False)
        above = r.number("above", lo=-1e9, hi=1e9, required=False)
        good = {side: r.text(f"{side}_meaning", required=False, default="") for side in ("below", "above")}
        good_side = None
        if (below is None) == (above is None) and bool(good["below"]) == bool(good["above"]):
            raise r.error("below", "give exactly one of 'below' or 'above' (the result is flagged below or above it), or "
                          "both with the words of the good end as 'below_meaning' or 'above_meaning' (Carter's low "
                          "fall risk below 3.0 s beside the high risk above 4.5 s)")
        if below is not None and above is not None:  # a band: one end flagged, the other good news
            if below >= above:
                raise r.error("below", f"{below:g} is not below 'above' ({above:g}): the band between them would be empty")
            good_side = "below" if good["below"] else "above"
        elif good["below"] or good["above"]:
            side = "below" if good["below"] else "above"
            raise r.error(f"{side}_meaning", f"needs both 'below' and 'above': '{side}_meaning' names the good end of a band")
        meaning = r.text("meaning")
        ref = check_ref(r)
        population = _population(r, "cut-off")
        r.finish()
        cutoffs.append(Cutoff(metric, condition, below, above, meaning, ref, population, good_side,
                              good[good_side] if good_side else ""))

    norms: list[Norm] = []
    for i, raw in enumerate(top.array_of_tables("norms")):
        r = _Reader(source, f"norms[{i}]", raw)
        metric = check_metric(r)
        condition = r.choice("condition", ids, required=False)
        statistic = r.text("statistic")
        population = r.text("population")
        trial_duration_s = r.number("trial_duration_s", lo=1.0, hi=3600.0, required=False)
        ref = check_ref(r)
        # whom the values were measured in, by the cut-offs' rule (their age rows are the norm's own age bound)
        measured_in = _population(r, "reference values", ages=False)
        not_verified = r.text("not_verified", required=False)
        rows: list[NormRow] = []
        raw_rows = r.array_of_tables("rows", required=True)
        if not raw_rows:
            raise r.error("rows", "is empty; give at least one age band")
        for j, raw_row in enumerate(raw_rows):
            rr = _Reader(source, f"norms[{i}].rows[{j}]", raw_row)
            lo_y = rr.integer("age_min_y", lo=0, hi=130)
            hi_y = rr.integer("age_max_y", lo=0, hi=130)
            if hi_y < lo_y:
                raise rr.error("age_max_y", f"{hi_y} is below age_min_y {lo_y}")
            values = {k: rr.number(k, lo=-1e9, hi=1e9, required=False) for k in ("mean", "sd", "p05", "p50", "p95")}
            rr.finish()
            if all(v is None for v in values.values()):
                raise rr.error("mean", "no reference value; give at least one of 'mean', 'sd', 'p05', 'p50', 'p95'")
            for other in rows:
                if lo_y <= other.age_max_y and other.age_min_y <= hi_y:
                    raise rr.error("age_min_y", f"age band {lo_y}-{hi_y} overlaps {other.age_min_y}-{other.age_max_y}")
            rows.append(NormRow(lo_y, hi_y, **values))
        r.finish()
        norms.append(Norm(metric, condition, statistic, population, trial_duration_s, ref, tuple(rows), measured_in,
                          not_verified))
    top.finish()

    return Protocol(
        name=name, title=title, summary=summary, version=version, outcome=outcome,
        duration_s=duration_s, countdown_s=countdown_s, trials_per_condition=trials,
        max_attempts=max_attempts, repeat_when=repeat_when, rest_s=rest_s, order=order, score=score,
        instructions=instructions, operator_notes=operator_notes, conditions=tuple(conditions),
        romberg=romberg, asymmetry_flag_pct=asymmetry, quality=quality,
        references=tuple(references), cutoffs=tuple(cutoffs), norms=tuple(norms), source=source,
        notes=notes, walk=walk, los=los,
    )


def _los_spec(source: str, table: dict | None, outcome: str, conditions: list, trials: int) -> LosSpec | None:
    if outcome != "limits_of_stability":
        if table is not None:
            raise ProtocolError(source, "los", f"only applies to limits-of-stability tests (outcome 'limits_of_stability'), "
                                f"not {outcome!r}")
        return None
    for i, c in enumerate(conditions):
        if c.id not in LOS_DIRECTIONS:
            raise ProtocolError(source, f"conditions[{i}].id", f"{c.id!r} is not a target direction; a limits-of-stability "
                                f"condition is named by its direction: {_allowed(LOS_DIRECTIONS)}")
        if c.stance.feet.startswith("single"):
            raise ProtocolError(source, f"conditions[{i}].feet", "a limits-of-stability lean is done on both feet; "
                                f"allowed: {_allowed(tuple(f for f in FEET if not f.startswith('single')))}")
    if trials != 1:
        raise ProtocolError(source, "protocol.trials_per_condition",
                            f"a limits-of-stability test leans once toward each target (repeats are attempts); allowed: 1, not {trials}")
    r = _Reader(source, "los", table or {})
    spec = LosSpec(targets=r.choice("targets", LOS_TARGETS, required=False, default="theoretical"),
                   ready_s=r.number("ready_s", lo=1.0, hi=10.0, required=False, default=1.5))
    r.finish()
    return spec


PLANNED_MIN_RANGE = (0.5, 120.0)
"""The planned minutes of a treadmill session the station measures (:class:`station.protocols.walk.
WalkSettings`), min: a walk protocol lasts at most 7200 s."""
MIN_TIMED_M = 0.5
"""The shortest timed stretch of a walk test, m: from the go to ``timed_to_m`` (static start) or
between the gates at ``timed_from_m`` and ``timed_to_m`` (flying start)."""


def _walk_spec(source: str, table: dict, duration_s: float) -> WalkSpec:
    r = _Reader(source, "walk", table)
    direction = r.choice("direction", DIRECTIONS)
    setting = r.choice("setting", WALK_SETTINGS)
    if setting == "treadmill":
        r.finish()
        return WalkSpec(direction, setting)
    start = r.choice("start", STARTS)
    walkway_m = r.number("walkway_m", lo=1.0, hi=100.0)
    timed_to_m = r.number("timed_to_m", lo=MIN_TIMED_M, hi=100.0)
    timed_from_m = r.number("timed_from_m", lo=0.0, hi=100.0, required=start == "flying")
    r.finish()
    if start == "static" and timed_from_m not in (None, 0.0):
        raise r.error("timed_from_m", "a static start is timed from the go beep at the start line (0 m); "
                      "leave timed_from_m out, or use start = 'flying'")
    if start == "flying" and not timed_from_m < timed_to_m:
        raise r.error("timed_to_m", f"{timed_to_m:g} m must lie beyond timed_from_m ({timed_from_m:g} m)")
    if start == "flying" and timed_to_m - timed_from_m < MIN_TIMED_M:
        # two ends within a gate's position tolerance are one gate: no trial could be timed
        raise r.error("timed_to_m", f"{timed_to_m:g} m is {timed_to_m - timed_from_m:.3g} m beyond timed_from_m "
                      f"({timed_from_m:g} m): time at least {MIN_TIMED_M:g} m between two gates")
    if timed_to_m > walkway_m:
        raise r.error("timed_to_m", f"{timed_to_m:g} m lies beyond the end of the walkway ({walkway_m:g} m)")
    return WalkSpec(direction, setting, start, timed_from_m if start == "flying" else None, timed_to_m, walkway_m)
