"""Adherence: how much of the prescribed training was done, per week and overall.

Input is the programme's sessions as stored (:mod:`station.store.programmes`): each with its
programme ``week``, ``status`` (``planned``, ``done``, ``missed``, ``cancelled`` when the programme
ended early), ``planned_date``, ``minutes_planned`` and, when done, ``dose`` with ``minutes``.

* **planned**: every session the programme prescribed (cancelled ones included: ending early does
  not make the prescription smaller); **due**: planned sessions whose date has come (done or
  missed ones always count as due);
* **done / planned** and **minutes done / minutes planned**, overall and per programme week
  (a moved session stays in the week it was prescribed for);
* the **missed** sessions with their reasons, and the cancelled ones.

>>> s = [{"week": 1, "status": "done", "planned_date": "2026-01-05", "minutes_planned": 30.0,
...       "dose": {"minutes": 28.0}},
...      {"week": 1, "status": "missed", "planned_date": "2026-01-07", "minutes_planned": 30.0,
...       "missed_reason": "ill", "id": 2, "number": 2}]
>>> a = adherence(s, "2026-01-08")
>>> a["overall"]["sessions_done"], a["overall"]["sessions_planned"], a["overall"]["minutes_done"]
(1, 2, 28.0)
"""

from __future__ import annotations


def _ratio(done: float, planned: float) -> float | None:
    return None if planned <= 0 else done / planned


def _tally(sessions: list[dict], today: str) -> dict:
    planned = len(sessions)
    done = [s for s in sessions if s["status"] == "done"]
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
