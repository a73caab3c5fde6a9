"""Biofeedback training sessions: one row per game played, and its dose in the patient's programme.

Table ``training_sessions`` (migration 6, :mod:`station.store.migrations`): the patient, the
station session and trial that hold the raw frames, the ``game`` and ``level``, the ``settings``
(the game's schedule, :class:`station.analysis.biofeedback.Schedule` as stored: targets, sizes,
hold time, seed, the patient's reach and where it came from), the ``result`` (per target time to
reach, time held, path efficiency and hit; the game's measures), the ``score`` (0-100), the
``minutes`` played, the local ``day`` and, when it counted, the ``programme_session_id``. Rows
go with the patient on erasure (``ON DELETE CASCADE``).

Dose: when the patient's current (active) programme trains ``balance_training``, a game played
counts as a programme session with its minutes as the dose (source ``measured``, the trial
linked): the earliest session still planned on or before today, else the next one planned within
:data:`EARLY_DAYS` days. Further games on the same day add their minutes to that session's dose
(one clinic visit is one programme session, however many games it holds). Nothing counts when
the patient has no such programme, or none of its sessions is due (``dose`` says why).

Audited: ``training.record`` (game and level, never the score or the patient's data) and
``training.view``.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from datetime import date, timedelta
from typing import Callable

from station.store import fields
from station.store.audit import Actor, AuditLog
from station.store.db import Database, NotFound, ValidationError
from station.store.programmes import Programmes, today_of
from station.store.timefmt import utc_iso

GAMES = ("reach", "track", "shift", "steady")
"""As :data:`station.analysis.biofeedback.GAMES` (the store does not import the analysis)."""
PROGRAMME_ACTIVITY = "balance_training"
"""The programme activity a game counts toward."""
EARLY_DAYS = 6
"""A game may count for a programme session planned up to this many days ahead."""
MAX_DOCUMENT_BYTES = 256 * 1024


def _row(row: sqlite3.Row) -> dict:
    return {
        "id": row["id"], "patient_id": row["patient_id"], "session_id": row["session_id"],
        "trial_id": row["trial_id"], "game": row["game"], "level": row["level"],
        "settings": json.loads(row["settings"]), "result": json.loads(row["result"]), "score": row["score"],
        "minutes": row["minutes"], "completed": bool(row["completed"]), "day": row["day"],
        "programme_session_id": row["programme_session_id"], "created_at": row["created_at"],
        "created_by": row["created_by"],
    }


class TrainingSessions:
    """The clinic's training sessions (see the module docstring)."""

    def __init__(self, db: Database, audit: AuditLog, programmes: Programmes,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._audit = audit
        self._programmes = programmes
        self._now = wall_clock

    def record(self, patient_id: int, *, game: str, level: int, settings: dict, result: dict, minutes: float,
               completed: bool, session_id: int | None = None, trial_id: int | None = None,
               actor: Actor) -> dict:
        """Store a game played and count it toward the patient's programme; returns the stored
        row with ``dose``: ``{"programme_session_id", "minutes"}`` or ``{"none": why}``."""
        problems = {}
        if game not in GAMES:
            problems["game"] = f"{game!r} is unknown; allowed: {', '.join(GAMES)}"
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5:
            problems["level"] = f"{level!r} is out of range; allowed: 1 to 5"
        if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not 0 <= minutes <= 240:
            problems["minutes"] = f"{minutes!r} is out of range; allowed: 0 to 240"
        score = result.get("score") if isinstance(result, dict) else None
        if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 100):
            problems["score"] = f"{score!r} is out of range; allowed: 0 to 100 or none"
        if problems:
            raise ValidationError(problems)
        day = today_of(self._now)
        with self._db.write() as conn:
            if conn.execute("SELECT 1 FROM patients WHERE id = ?", (patient_id,)).fetchone() is None:
                raise NotFound(f"no patient #{patient_id}")
            cur = conn.execute(
                "INSERT INTO training_sessions (patient_id, session_id, trial_id, game, level, settings, result, score,"
                " minutes, completed, day, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (patient_id, session_id, trial_id, game, level,
                 fields.json_document(settings, max_bytes=MAX_DOCUMENT_BYTES),
                 fields.json_document(result, max_bytes=MAX_DOCUMENT_BYTES),
                 None if score is None else float(score), round(float(minutes), 3), int(bool(completed)), day,
                 utc_iso(self._now()), actor.username))
            training_id = int(cur.lastrowid)
            self._audit.record(actor, "training.record", patient_id=patient_id, object=f"training:{training_id}",
                               detail={"game": game, "level": level, "session": session_id, "trial": trial_id})
            dose = self.count_dose(conn, training_id, patient_id, float(minutes), day, trial_id, actor)
        return {**self.get(training_id), "dose": dose}

    def count_dose(self, conn, training_id: int, patient_id: int, minutes: float, day: str,
                   trial_id: int | None, actor: Actor) -> dict:
        """Count a stored game of ``minutes`` (min) played on ``day`` (ISO date) toward the patient's
        active balance programme, inside the caller's write transaction ``conn``: a later game on a
        day whose session is done adds to it; else the first planned session up to EARLY_DAYS ahead.
        Returns ``{"programme_session_id", "minutes"}`` or ``{"none": why}``. The one dose rule: the
        station (:meth:`record`) and the hub (games played where the programme is not held) use it."""
        assignment = conn.execute(
            "SELECT id, template FROM programme_assignments WHERE patient_id = ? AND status = 'active'",
            (patient_id,)).fetchone()
        if assignment is None:
            return {"none": "the patient is on no active programme"}
        template = json.loads(assignment["template"])
        if (template.get("programme") or template).get("activity") != PROGRAMME_ACTIVITY:
            return {"none": "the patient's programme does not train balance"}
        earlier = conn.execute(
            "SELECT t.programme_session_id AS id FROM training_sessions t JOIN programme_sessions ps"
            " ON ps.id = t.programme_session_id WHERE t.patient_id = ? AND t.day = ? AND t.id <> ?"
            " AND ps.assignment_id = ? AND ps.status = 'done' ORDER BY t.id DESC LIMIT 1",
            (patient_id, day, training_id, assignment["id"])).fetchone()
        if earlier is not None:
            target = int(earlier["id"])
            total = minutes + float(conn.execute(
                "SELECT coalesce(sum(minutes), 0) FROM training_sessions WHERE programme_session_id = ?",
                (target,)).fetchone()[0])
        else:
            ahead = (date.fromisoformat(day) + timedelta(days=EARLY_DAYS)).isoformat()
            due = conn.execute(
                "SELECT id FROM programme_sessions WHERE assignment_id = ? AND status = 'planned' AND planned_date <= ?"
                " ORDER BY planned_date, number LIMIT 1", (assignment["id"], ahead)).fetchone()
            if due is None:
                return {"none": "no programme session is planned for this week"}
            target = int(due["id"])
            total = minutes
        conn.execute("UPDATE training_sessions SET programme_session_id = ? WHERE id = ?", (target, training_id))
        self._programmes.record_dose(target, {"minutes": round(total, 3)}, source="measured", trial_id=trial_id,
                                     actor=actor)
        return {"programme_session_id": target, "minutes": round(total, 3)}

    def get(self, training_id: int) -> dict:
        """One training session; not audited."""
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM training_sessions WHERE id = ?", (training_id,)).fetchone()
        if row is None:
            raise NotFound(f"no training session #{training_id}")
        return _row(row)

    def list_for_patient(self, patient_id: int, limit: int = 200) -> list[dict]:
        """The patient's training sessions, newest first; not audited."""
        with self._db.read() as conn:
            if conn.execute("SELECT 1 FROM patients WHERE id = ?", (patient_id,)).fetchone() is None:
                raise NotFound(f"no patient #{patient_id}")
            rows = conn.execute("SELECT * FROM training_sessions WHERE patient_id = ? ORDER BY id DESC LIMIT ?",
                                (patient_id, limit)).fetchall()
        return [_row(r) for r in rows]

    def history(self, patient_id: int, *, actor: Actor) -> list[dict]:
        """The patient's training sessions for a person to see (audited ``training.view``)."""
        rows = self.list_for_patient(patient_id)
        self._audit.record(actor, "training.view", patient_id=patient_id, object=f"patient:{patient_id}")
        return rows

    def latest_los_session(self, patient_id: int, protocol: str = "limits-of-stability") -> tuple[int, dict] | None:
        """The patient's latest session (by start, then id) holding a valid, complete lean of
        ``protocol`` with a maximum excursion: ``(session_id, {direction: degrees reached})``, each
        direction the mean over its valid leans there of the maximum excursion in degrees
        (``los_max_excursion_pct_<dir>`` x the lean's own ``los.limit_deg`` / 100: a test whose
        targets came from a previous one has limits of its own). Invalid or incomplete leans, and
        those of other protocols, are left out; None when there is none. Not audited."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT t.session_id, t.condition, t.metrics FROM trials t JOIN sessions s ON s.id = t.session_id"
                " WHERE s.patient_id = ? AND t.protocol = ? AND t.status = 'complete' AND t.valid = 1"
                " AND t.metrics IS NOT NULL ORDER BY s.started_at DESC, s.id DESC, t.id", (patient_id, protocol)).fetchall()
        found: dict[int, dict[str, list[float]]] = {}
        for row in rows:
            doc = json.loads(row["metrics"]) or {}
            pct = (doc.get("metrics") or {}).get(f"los_max_excursion_pct_{row['condition']}")
            limit = (doc.get("los") or {}).get("limit_deg")
            if _number(pct) and _number(limit):
                found.setdefault(int(row["session_id"]), {}).setdefault(row["condition"], []).append(pct * limit / 100.0)
        for row in rows:  # newest session first
            leans = found.get(int(row["session_id"]))
            if leans:
                return int(row["session_id"]), {d: sum(v) / len(v) for d, v in leans.items()}
        return None


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
