"""Adherence: how much of the prescribed training was done, per week and overall.

Input is the programme's sessions as stored (:mod:`station.store.programmes`): each with its
programme ``week``, ``status`` (``planned``, ``done``, ``missed``, ``cancelled`` when the programme
ended early), ``planned_date``, ``minutes_planned`` and, when done, ``dose`` with ``minutes``.

* **planned**: every session the programme prescribed (cancelled ones included: ending early does
  not make the prescription smaller); **due**: planned sessions whose date has come (done or
  missed ones always count as due);
* **done / planned** and **minutes done / minutes planned**, overall and per programme week
  (a moved session stays in the week it was prescribed for);
* the **missed** sessions with their reasons, and the cancelled ones;
* **partial** sessions: done with less than half their planned minutes walked
  (:data:`PARTIAL_BELOW`, :func:`is_partial`; e.g. stopped at 1 of 30 min). They count as done
  and their minutes count, but they are not full sessions: ``sessions_full`` and
  ``sessions_partial`` say how many of the done ones were which, and the minutes walked of the
  minutes due (the dose) lead, since a count of sessions alone reads 100 % for three sessions
  stopped after a minute.

>>> s = [{"week": 1, "status": "done", "planned_date": "2026-01-05", "minutes_planned": 30.0,
...       "dose": {"minutes": 28.0}},
...      {"week": 1, "status": "missed", "planned_date": "2026-01-07", "minutes_planned": 30.0,
...       "missed_reason": "ill", "id": 2, "number": 2}]
>>> a = adherence(s, "2026-01-08")
>>> a["overall"]["sessions_done"], a["overall"]["sessions_planned"], a["overall"]["minutes_done"]
(1, 2, 28.0)
>>> is_partial({"status": "done", "minutes_planned": 30.0, "dose": {"minutes": 1.2}})
True
"""

from __future__ import annotations

PARTIAL_BELOW = 0.5
"""A done session with fewer minutes walked than this share of its planned minutes is partial."""


def is_partial(session: dict) -> bool:
    """A done session whose minutes walked are under :data:`PARTIAL_BELOW` of its planned
    minutes (a session without minutes, e.g. an old dose, is not called partial: not known)."""
    minutes = (session.get("dose") or {}).get("minutes")
    planned = float(session.get("minutes_planned") or 0.0)
    return (session.get("status") == "done" and isinstance(minutes, (int, float)) and planned > 0
            and float(minutes) < PARTIAL_BELOW * planned)


def _ratio(done: float, planned: float) -> float | None:
    return None if planned <= 0 else done / planned


def _tally(sessions: list[dict], today: str) -> dict:
    planned = len(sessions)
    done = [s for s in sessions if s["status"] == "done"]
    partial = [s for s in done if is_partial(s)]
    missed = [s for s in sessions if s["status"] == "missed"]
    cancelled = [s for s in sessions if s["status"] == "cancelled"]
    due = [s for s in sessions if s["status"] in ("done", "missed")
           or (s["status"] == "planned" and s["planned_date"] <= today)]
    minutes_planned = sum(float(s["minutes_planned"]) for s in sessions)
    minutes_due = sum(float(s["minutes_planned"]) for s in due)
    minutes_done = sum(float((s.get("dose") or {}).get("minutes") or 0.0) for s in done)
    return {
        "sessions_planned": planned,
        "sessions_due": len(due),
        "sessions_done": len(done),
        "sessions_partial": len(partial),
        "sessions_full": sum(1 for s in done if (s.get("dose") or {}).get("minutes") and not is_partial(s)),
        "sessions_missed": len(missed),
        "sessions_cancelled": len(cancelled),
        "sessions_done_of_planned": _ratio(len(done), planned),
        "sessions_done_of_due": _ratio(len(done), len(due)),
        "minutes_planned": minutes_planned,
        "minutes_due": minutes_due,
        "minutes_done": minutes_done,
        "minutes_done_of_planned": _ratio(minutes_done, minutes_planned),
        "minutes_done_of_due": _ratio(minutes_done, minutes_due),
        "done_without_dose": sum(1 for s in done if not (s.get("dose") or {}).get("minutes")),
    }


def adherence(sessions: list[dict], today: str) -> dict:
    """Adherence figures (see the module docstring); ``today`` is ``YYYY-MM-DD``.

    Returns ``{"overall": {...}, "weeks": [{"week": k, ...}], "missed": [...], "cancelled": [...]}``;
    ratios are None where nothing was planned (or due).
    """
    weeks = sorted({int(s["week"]) for s in sessions})
    return {
        "today": today,
        "overall": _tally(sessions, today),
        "weeks": [{"week": w, **_tally([s for s in sessions if int(s["week"]) == w], today)} for w in weeks],
        "missed": [{"id": s.get("id"), "number": s.get("number"), "week": s["week"], "planned_date": s["planned_date"],
                    "reason": s.get("missed_reason") or ""} for s in sessions if s["status"] == "missed"],
        "cancelled": [{"id": s.get("id"), "number": s.get("number"), "week": s["week"], "planned_date": s["planned_date"]}
                      for s in sessions if s["status"] == "cancelled"],
    }
