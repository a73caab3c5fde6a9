"""Programme templates as data: the file layout and its validation (DESIGN.md §9).

A programme template is a TOML file; the built-in ones ship in ``station/programmes/builtin/`` and a
clinic adds its own in ``<protocols directory>/programmes/`` (see :mod:`station.programmes.loader`).
A mistake is refused with a :class:`ProgrammeError` naming the file, the field and what is allowed
(validated with :mod:`station.tomlschema`, the station's one mechanism for hand-written TOML).

File layout::

    [programme]       name, title, summary, activity, activity_label (activity "other"),
                      population (whom it is written for: a patient outside it is warned of), version
    [schedule]        weeks, sessions_per_week, minutes_per_session, session_protocol (optional:
                      the station's treadmill walk protocol that measures a session's dose; its
                      sessions then last at most 120 min, the longest it measures)
    [[schedule.progression]]  from_week, belt_speed_m_s, incline_pct, minutes_per_session, note
    [[assessments]]   id, label, week (0 = baseline, before the first session; k = after week k),
                      protocols (station protocols, run in this order)
    [[outcomes]]      protocol, condition, metric, label, group, better ("lower" | "higher")
    [[references]]    id, citation, doi, url

Units are in the names (``minutes_per_session``, ``belt_speed_m_s``, ``incline_pct``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from station.protocols.schema import METRICS, PLANNED_MIN_RANGE, PROTOCOL_METRICS, SWAY_METRICS, Protocol
from station.tomlschema import NAME_RE, SchemaError, Table, allowed_list

ACTIVITIES = {
    "backward_treadmill_walking": "Backward walking on a treadmill",
    "overground_backward_walking": "Backward walking overground",
    "balance_training": "Balance training",
    "other": "The clinic's own activity",
}
"""Activity codes and their names; ``other`` needs ``activity_label``."""
POPULATIONS = {
    "stroke": "people after stroke",
    "older_adults": "community-dwelling older adults",
    "other": "another population",
}
"""Who the programme is written for. A patient outside it gets a warning on the programme's page and
report (:func:`station.programmes.change.population_warning`); the published minimal detectable changes
follow the patient's own conditions and age, as on the history page."""
BETTER = ("lower", "higher")
MAX_WEEKS = 52


class ProgrammeError(SchemaError):
    """A programme template with a mistake: ``<file>: <field>: <problem>; allowed: ...``."""


@dataclass(frozen=True)
class Progression:
    """From ``from_week`` on: the belt speed (m/s), incline (%), minutes per session, a note."""

    from_week: int
    belt_speed_m_s: float | None = None
    incline_pct: float | None = None
    minutes_per_session: float | None = None
    note: str = ""

    def to_dict(self) -> dict:
        return {"from_week": self.from_week, "belt_speed_m_s": self.belt_speed_m_s,
                "incline_pct": self.incline_pct, "minutes_per_session": self.minutes_per_session,
                "note": self.note}


@dataclass(frozen=True)
class Schedule:
    weeks: int
    sessions_per_week: int
    minutes_per_session: float
    session_protocol: str | None = None
    progression: tuple[Progression, ...] = ()

    def minutes_in_week(self, week: int) -> float:
        """Prescribed minutes of one session in programme week ``week`` (1-based)."""
        minutes = self.minutes_per_session
        for step in self.progression:
            if step.from_week <= week and step.minutes_per_session is not None:
                minutes = step.minutes_per_session
        return minutes

    def step_in_week(self, week: int) -> Progression | None:
        """The progression step in force in ``week`` (the last one started), or None."""
        found = None
        for step in self.progression:
            if step.from_week <= week:
                found = step
        return found

    def to_dict(self) -> dict:
        return {"weeks": self.weeks, "sessions_per_week": self.sessions_per_week,
                "minutes_per_session": self.minutes_per_session, "session_protocol": self.session_protocol,
                "progression": [p.to_dict() for p in self.progression]}


@dataclass(frozen=True)
class Assessment:
    """An assessment visit: ``week`` 0 is the baseline (before the first session), ``k`` is after
    week ``k``; its ``protocols`` run in order."""

    id: str
    label: str
    week: int
    protocols: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"id": self.id, "label": self.label, "week": self.week, "protocols": list(self.protocols)}


@dataclass(frozen=True)
class Outcome:
    """A measure followed over the assessments: ``metric`` of ``condition`` in ``protocol``;
    ``better`` says which direction is a benefit."""

    protocol: str
    condition: str
    metric: str
    label: str
    group: str
    better: str

    @property
    def key(self) -> str:
        return f"{self.protocol}/{self.condition}/{self.metric}"

    def to_dict(self) -> dict:
        return {"key": self.key, "protocol": self.protocol, "condition": self.condition, "metric": self.metric,
                "label": self.label, "group": self.group, "better": self.better}


@dataclass(frozen=True)
class Reference:
    id: str
    citation: str
    doi: str | None = None
    url: str | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "citation": self.citation, "doi": self.doi, "url": self.url}


@dataclass(frozen=True)
class ProgrammeTemplate:
    name: str
    title: str
    summary: str
    activity: str
    activity_label: str
    population: str
    version: int
    schedule: Schedule
    assessments: tuple[Assessment, ...]
    outcomes: tuple[Outcome, ...]
    references: tuple[Reference, ...] = ()
    source: str = ""
    notes: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    def assessment(self, assessment_id: str) -> Assessment:
        for a in self.assessments:
            if a.id == assessment_id:
                return a
        raise KeyError(assessment_id)

    def to_dict(self) -> dict:
        """JSON description; :func:`programme_from_dict` of :func:`to_file_dict` gives it back."""
        return {
            "name": self.name, "title": self.title, "summary": self.summary, "activity": self.activity,
            "activity_label": self.activity_label, "population": self.population,
            "population_label": POPULATIONS[self.population], "version": self.version,
            "schedule": self.schedule.to_dict(),
            "assessments": [a.to_dict() for a in self.assessments],
            "outcomes": [o.to_dict() for o in self.outcomes],
            "references": [r.to_dict() for r in self.references],
            "notes": self.notes, "source": self.source,
        }

    def to_file_dict(self) -> dict:
        """The template as the TOML file's tables (stored with an assignment, so that a later
        edit of the file does not change a programme already under way)."""
        head = {"name": self.name, "title": self.title, "summary": self.summary, "activity": self.activity,
                "population": self.population, "version": self.version}
        if self.activity == "other":
            head["activity_label"] = self.activity_label
        if self.notes:
            head["notes"] = self.notes
        schedule: dict = {"weeks": self.schedule.weeks, "sessions_per_week": self.schedule.sessions_per_week,
                          "minutes_per_session": self.schedule.minutes_per_session}
        if self.schedule.session_protocol:
            schedule["session_protocol"] = self.schedule.session_protocol
        if self.schedule.progression:
            schedule["progression"] = [{k: v for k, v in p.to_dict().items() if v not in (None, "")}
                                       for p in self.schedule.progression]
        return {
            "programme": head, "schedule": schedule,
            "assessments": [a.to_dict() for a in self.assessments],
            "outcomes": [{k: v for k, v in o.to_dict().items() if k != "key"} for o in self.outcomes],
            "references": [{k: v for k, v in r.to_dict().items() if v is not None} for r in self.references],
        }


def programme_from_dict(data: dict, source: str, protocols: dict[str, Protocol],
                        lines: Mapping[tuple, int] | None = None) -> ProgrammeTemplate:
    """Validate a parsed programme file against the station's ``protocols`` and build the template.

    ``lines`` (:func:`station.tomlschema.key_lines` of the file's text) puts the line in messages.

    Raises
    ------
    ProgrammeError
        Naming ``source``, the line when known, the field and what is allowed.
    """
    top = Table(source, "", data, ProgrammeError, lines=lines)
    head = top.sub("programme", required=True)
    name = head.ident("name", NAME_RE)
    title = head.text("title", max_chars=200)
    summary = head.text("summary", max_chars=4000)
    activity = head.choice("activity", tuple(ACTIVITIES))
    if activity == "other":
        activity_label = head.text("activity_label", max_chars=200)
    else:
        activity_label = ACTIVITIES[activity]
        if head.has("activity_label"):
            raise head.error("activity_label", f"only applies to activity 'other', not {activity!r}; "
                             "allowed here: leave it out (the activity's own name is used)")
    population = head.choice("population", tuple(POPULATIONS))
    version = head.integer("version", lo=1, hi=10_000, required=False, default=1)
    notes = head.text("notes", required=False, default="", max_chars=4000)
    head.finish()

    known = sorted(protocols)
    s = top.sub("schedule", required=True)
    weeks = s.integer("weeks", lo=1, hi=MAX_WEEKS, unit="weeks")
    per_week = s.integer("sessions_per_week", lo=1, hi=7, unit="sessions")
    minutes = s.number("minutes_per_session", lo=1.0, hi=240.0, unit="min")
    session_protocol = None
    if s.has("session_protocol"):
        # a session's dose is its minutes on the treadmill, measured by the IMU: an overground walk test,
        # timed by the gates over a few metres, takes no planned minutes (every session's run was refused)
        walks = [n for n in known if protocols[n].outcome == "walk" and protocols[n].walk is not None
                 and protocols[n].walk.setting == "treadmill"]
        session_protocol = s.choice("session_protocol", known)
        if session_protocol not in walks:
            what = ("is a walk test timed over a few metres by the light gates, not a session"
                    if protocols[session_protocol].outcome == "walk" else "does not measure walking")
            raise s.error("session_protocol", f"{session_protocol!r} {what}; allowed: a treadmill walk "
                          f"protocol that measures a session's dose: {allowed_list(walks) or 'none known'}")
    else:
        s.known.append("session_protocol")
    steps: list[Progression] = []
    step_tables = s.array_of_tables("progression")
    for p in step_tables:
        from_week = p.integer("from_week", lo=1, hi=weeks, unit=f"(a week of this {weeks}-week programme)")
        if any(x.from_week == from_week for x in steps):
            raise p.error("from_week", f"{from_week} is used twice; each step starts in a week of its own")
        if steps and from_week < steps[-1].from_week:
            raise p.error("from_week", f"{from_week} comes before the previous step's week {steps[-1].from_week}; "
                          "allowed: steps in week order")
        step = Progression(
            from_week,
            p.number("belt_speed_m_s", lo=0.0, hi=3.0, required=False, lo_open=True, unit="m/s"),
            p.number("incline_pct", lo=-20.0, hi=30.0, required=False, unit="%"),
            p.number("minutes_per_session", lo=1.0, hi=240.0, required=False, unit="min"),
            p.text("note", required=False, default="", max_chars=500),
        )
        p.finish()
        if step.belt_speed_m_s is None and step.incline_pct is None and step.minutes_per_session is None and not step.note:
            raise p.error(None, "says nothing; give at least one of 'belt_speed_m_s', 'incline_pct', "
                          "'minutes_per_session', 'note'")
        steps.append(step)
    if session_protocol is not None:  # the station measures each session: at most its longest treadmill session
        longest = PLANNED_MIN_RANGE[1]
        for where, value in [(s, minutes)] + [(p, step.minutes_per_session) for p, step in zip(step_tables, steps)]:
            if value is not None and value > longest:
                raise where.error("minutes_per_session", f"{value:g} min is longer than the {longest:g} min a session "
                                  f"measured by {session_protocol!r} can last; allowed: 1 to {longest:g} min, or leave "
                                  "session_protocol out and enter each session's dose by hand")
    s.finish()
    schedule = Schedule(weeks, per_week, minutes, session_protocol, tuple(steps))

    assessments: list[Assessment] = []
    tables = top.array_of_tables("assessments", required=True)
    if not tables:
        raise top.error("assessments", "is empty; give a baseline ([[assessments]] with week = 0) and at least one later one")
    for a in tables:
        aid = a.ident("id")
        if any(x.id == aid for x in assessments):
            raise a.error("id", f"{aid!r} is used twice; assessment ids must be unique")
        label = a.text("label", max_chars=100)
        week = a.integer("week", lo=0, hi=weeks, unit=f"(0 = baseline, {weeks} = the end)")
        if any(x.week == week for x in assessments):
            raise a.error("week", f"{week} already has an assessment; allowed: one assessment per week")
        names = a.choices("protocols", known, required=True, min_items=1)
        a.finish()
        assessments.append(Assessment(aid, label, week, names))
    assessments.sort(key=lambda x: x.week)
    if assessments[0].week != 0:
        raise top.error("assessments", "has no baseline; add an [[assessments]] table with week = 0")
    if len(assessments) < 2:
        raise top.error("assessments", "has only the baseline; add at least one later assessment (week 1 to "
                        f"{weeks}) to measure a change against")
    assessed = {p for x in assessments for p in x.protocols}

    outcomes: list[Outcome] = []
    for o in top.array_of_tables("outcomes", required=True):
        protocol_name = o.choice("protocol", sorted(assessed))
        protocol = protocols[protocol_name]
        condition = o.choice("condition", [c.id for c in protocol.conditions])
        metric = o.choice("metric", _metrics_of(protocol))
        label = o.text("label", max_chars=100)
        group = o.text("group", max_chars=60)
        better = o.choice("better", BETTER)
        o.finish()
        outcome = Outcome(protocol_name, condition, metric, label, group, better)
        if any(x.key == outcome.key for x in outcomes):
            raise o.error("metric", f"{outcome.key!r} is already an outcome; each measure once")
        outcomes.append(outcome)
    if not outcomes:
        raise top.error("outcomes", "is empty; name at least one measure as an outcome")

    references: list[Reference] = []
    for r in top.array_of_tables("references"):
        rid = r.ident("id")
        if any(x.id == rid for x in references):
            raise r.error("id", f"{rid!r} is used twice; reference ids must be unique")
        references.append(Reference(rid, r.text("citation", max_chars=1000), r.optional_text("doi", max_chars=200),
                                    r.optional_text("url", max_chars=500)))
        r.finish()
    top.finish()
    return ProgrammeTemplate(name, title, summary, activity, activity_label, population, version, schedule,
                             tuple(assessments), tuple(outcomes), tuple(references), source, notes)


def _metrics_of(protocol: Protocol) -> tuple[str, ...]:
    """Measures a protocol's results carry: sway metrics for stance tests (and what their outcome
    adds), walk measures for walk tests."""
    walk = tuple(m for m in METRICS if m not in SWAY_METRICS and m not in PROTOCOL_METRICS)
    if protocol.outcome == "walk":
        return walk
    extra = {"time_held": ("time_held_s",), "weight_bearing": ("weight_left_pct", "weight_right_pct",
                                                                "weight_asymmetry_pct")}.get(protocol.outcome, ())
    return tuple(SWAY_METRICS) + tuple(m for m in extra if m not in SWAY_METRICS)


__all__ = ["ACTIVITIES", "POPULATIONS", "BETTER", "ProgrammeError", "ProgrammeTemplate", "Schedule",
           "Progression", "Assessment", "Outcome", "Reference", "programme_from_dict", "allowed_list"]
