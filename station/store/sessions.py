"""Sessions: the trials of one visit of one patient, with a label (``baseline``, ``week 4``) and notes.

(Not to be confused with login sessions, :mod:`station.store.logins`.)
"""

from __future__ import annotations

import sqlite3
import time
from typing import Callable

from station.store import fields
from station.store.audit import Actor, AuditLog
from station.store.db import Conflict, Database, NotFound, ValidationError
from station.store.timefmt import parse_utc_iso, utc_iso
from station.store.trials import SUMMARY_SQL, summary

MAX_LABEL_CHARS = 100
MAX_NOTES_CHARS = 2000
SESSION_FIELDS = ("label", "notes", "started_at")


def _session(row: sqlite3.Row) -> dict:
    return {
        "id": row["id"],
        "patient_id": row["patient_id"],
        "started_at": row["started_at"],
        "label": row["label"],
        "notes": row["notes"],
        "created_by": row["created_by"],
    }


def _clean(data: object, *, creating: bool) -> dict:
    if not isinstance(data, dict):
        raise ValidationError({"body": "must be a JSON object"})
    problems, clean = {}, {}
    for key in data:
        if key not in SESSION_FIELDS:
            problems[key] = f"unknown field; allowed: {', '.join(SESSION_FIELDS)}"
    if not creating and not data:
        problems["body"] = f"nothing to change; give one of {', '.join(SESSION_FIELDS)}"
    for key, max_chars in (("label", MAX_LABEL_CHARS), ("notes", MAX_NOTES_CHARS)):
        if key in data:
            try:
                clean[key] = fields.text(data[key], max_chars=max_chars, multiline=key == "notes")
            except ValueError as exc:
                problems[key] = str(exc)
    if "started_at" in data:
        try:
            if not isinstance(data["started_at"], str):
                raise ValueError("must be an ISO 8601 time with a time zone, e.g. 2025-01-31T09:15:00Z")
            clean["started_at"] = utc_iso(parse_utc_iso(data["started_at"]))
        except (ValueError, OverflowError, OSError) as exc:
            problems["started_at"] = str(exc)
    if problems:
        raise ValidationError(problems)
    return clean


class Sessions:
    def __init__(self, db: Database, audit: AuditLog, wall_clock: Callable[[], float] = time.time):
        self._db = db
        self._audit = audit
        self._now = wall_clock

    def create(self, patient_id: int, data: dict, *, actor: Actor) -> dict:
        """Open a session for a patient (not archived). ``data``: optional ``label``, ``notes``,
        ``started_at`` (ISO 8601 with zone; default now)."""
        clean = _clean(data, creating=True)
        with self._db.write() as conn:
            patient = conn.execute("SELECT archived_at FROM patients WHERE id = ?", (patient_id,)).fetchone()
            if patient is None:
                raise NotFound(f"no patient #{patient_id}")
            if patient["archived_at"] is not None:
                raise Conflict("the patient is archived; unarchive the patient to add a session")
            cur = conn.execute(
                "INSERT INTO sessions (patient_id, started_at, label, notes, created_by) VALUES (?, ?, ?, ?, ?)",
                (
                    patient_id,
                    clean.get("started_at") or utc_iso(self._now()),
                    clean.get("label", ""),
                    clean.get("notes", ""),
                    actor.username,
                ),
            )
            session_id = int(cur.lastrowid)
            self._audit.record(actor, "session.create", patient_id=patient_id, object=f"session:{session_id}")
            row = conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return _session(row)

    def get(self, session_id: int) -> dict:
        """A session with its trial summaries (oldest first); not audited."""
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row is None:
                raise NotFound(f"no session #{session_id}")
            trials = [summary(r) for r in conn.execute(SUMMARY_SQL + " WHERE t.session_id = ? ORDER BY t.id", (session_id,))]
        return {**_session(row), "trials": trials}

    def view(self, session_id: int, *, actor: Actor) -> dict:
        session = self.get(session_id)
        self._audit.record(actor, "session.view", patient_id=session["patient_id"], object=f"session:{session_id}")
        return session

    def update(self, session_id: int, data: dict, *, actor: Actor) -> dict:
        clean = _clean(data, creating=False)
        with self._db.write() as conn:
            row = conn.execute("SELECT patient_id FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row is None:
                raise NotFound(f"no session #{session_id}")
            for key, value in clean.items():
                conn.execute(f"UPDATE sessions SET {key} = ? WHERE id = ?", (value, session_id))
            self._audit.record(
                actor, "session.update", patient_id=row["patient_id"], object=f"session:{session_id}",
                detail={"changed": sorted(clean)},
            )
        return self.get(session_id)
