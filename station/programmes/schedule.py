"""Laying out a programme: the planned training sessions and assessment visits from a start date.

Dates are calendar days (:class:`datetime.date`, stored as ``YYYY-MM-DD``). Week ``k`` (1-based)
covers days ``7(k-1)`` to ``7k-1`` after the start date; its sessions are spread over the week
(day offsets ``floor(i·7/n)`` for the i-th of n sessions: Monday, Wednesday, Friday for three
sessions when the programme starts on a Monday). The baseline visit (week 0) is on the start date,
before the first session; the visit "after week k" is on day ``7k``.

>>> from datetime import date
>>> [d.isoformat() for d in session_dates(date(2026, 1, 5), weeks=1, per_week=3)]
['2026-01-05', '2026-01-07', '2026-01-09']
>>> visit_date(date(2026, 1, 5), 4).isoformat()
'2026-02-02'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from station.programmes.template import ProgrammeTemplate


def session_offsets(per_week: int) -> list[int]:
    """Day offsets within a week of ``per_week`` sessions (``floor(i·7/n)``)."""
    return [(i * 7) // per_week for i in range(per_week)]


def session_dates(start: date, *, weeks: int, per_week: int) -> list[date]:
    """Planned dates of every session, in order."""
    offsets = session_offsets(per_week)
    return [start + timedelta(days=7 * (w - 1) + off) for w in range(1, weeks + 1) for off in offsets]


def visit_date(start: date, week: int) -> date:
    """Planned date of the assessment after week ``week`` (week 0: the start date)."""
    return start + timedelta(days=7 * week)


@dataclass(frozen=True)
class PlannedSession:
    number: int
    """1-based position in the programme."""
    week: int
    planned_date: date
    minutes_planned: float


@dataclass(frozen=True)
class PlannedVisit:
    assessment_id: str
    label: str
    week: int
    planned_date: date
    protocols: tuple[str, ...]


def lay_out(template: ProgrammeTemplate, start: date) -> tuple[list[PlannedSession], list[PlannedVisit]]:
    """Every planned session and visit of ``template`` started on ``start``."""
    s = template.schedule
    dates = session_dates(start, weeks=s.weeks, per_week=s.sessions_per_week)
    sessions = [PlannedSession(i + 1, i // s.sessions_per_week + 1, d, s.minutes_in_week(i // s.sessions_per_week + 1))
                for i, d in enumerate(dates)]
    visits = [PlannedVisit(a.id, a.label, a.week, visit_date(start, a.week), a.protocols) for a in template.assessments]
    return sessions, visits


def parse_day(text: object) -> date:
    """A calendar day from ``YYYY-MM-DD`` text; ValueError says what is allowed."""
    if not isinstance(text, str):
        raise ValueError("must be a date written YYYY-MM-DD, e.g. 2026-01-05")
    try:
        return date.fromisoformat(text.strip()) if len(text.strip()) == 10 else _bad()
    except ValueError:
        raise ValueError(f"{text[:20]!r} is not a date; write it YYYY-MM-DD, e.g. 2026-01-05") from None


def _bad() -> date:
    raise ValueError("not YYYY-MM-DD")
