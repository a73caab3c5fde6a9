"""Patients: pseudonymous records, search, edit, archive and erasure on request.

Fields (also the JSON API's): ``identifier`` (pseudonymous code, unique, never a name),
``birth_year``, ``sex`` (``F``/``M``/``X``), ``height_cm``, ``weight_kg`` (optional), ``conditions``
(tags of :mod:`station.store.conditions`), ``notes``; and, read-only, ``id``, ``archived``,
``archived_at``, ``created_at``, ``updated_at`` (and, unshown, ``change_seq``: each creation or
change takes the next change number, :mod:`station.store.change_seq`). Every access by a person
goes through a method that takes an :class:`~station.store.audit.Actor` and writes the audit entry.

Erasure (:meth:`Patients.erase`) removes the patient, their sessions, trials and raw frames, and
their training programmes (planned sessions, doses, visits, pauses: ``ON DELETE CASCADE``) in one
transaction, with ``secure_delete`` overwriting the freed pages, then checkpoints and truncates the
WAL. The audit entries stay (they name the patient by number only) and the erasure is audited.
Copies made before the erasure (exports, backups) are outside the database's reach.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from typing import Callable

from station.store import change_seq, fields
from station.store.audit import Actor, AuditLog
from station.store.conditions import normalise_conditions
from station.store.db import Conflict, Database, NotFound, ValidationError
from station.store.open_tests import OpenTests
from station.store.timefmt import parse_utc_iso, utc_iso
from station.store.trials import SUMMARY_SQL, summary

LIST_FIELDS = frozenset(
    {"id", "identifier", "birth_year", "sex", "conditions", "archived", "archived_at", "created_at", "updated_at"}
)
"""What a patient list shows of each patient (no notes, height or weight)."""
PATIENT_FIELDS = ("identifier", "birth_year", "sex", "height_cm", "weight_kg", "conditions", "notes")
REQUIRED_FIELDS = ("identifier", "birth_year", "sex")
SEXES = ("F", "M", "X")
IDENTIFIER_MAX_CHARS = 32
IDENTIFIER_PATTERN = rf"[A-Za-z0-9][A-Za-z0-9._\-]{{0,{IDENTIFIER_MAX_CHARS - 1}}}"
"""A patient's identifier: a letter or digit, then letters, digits, dots, underscores or hyphens, 32 at most.
Written to read alike as a Python regular expression and as the HTML form's ``pattern`` (web/pages.py renders it
there, so the browser refuses what the station refuses; a pattern's ``v`` flag wants the class's hyphen escaped)."""
IDENTIFIER_RE = re.compile(f"^{IDENTIFIER_PATTERN}$")
MIN_BIRTH_YEAR = 1900
HEIGHT_RANGE_CM = (40.0, 250.0)
WEIGHT_RANGE_KG = (10.0, 350.0)
MAX_NOTES_CHARS = 2000
MAX_PAGE = 500
SORTS = {
    "identifier": "p.identifier COLLATE NOCASE ASC, p.id ASC",
    "recent": "last_session_at DESC NULLS LAST, p.id DESC",
    "created": "p.id DESC",
}
VISIT_GAP_S = 3 * 3600
"""A patient's sessions with trials that follow each other within this many seconds are one visit (the visit results,
the patient page's cards, the history and the patient list count them so: station.protocols.report.visit_numbers)."""
LISTED_SESSION = "(s.notes <> '' OR EXISTS (SELECT 1 FROM trials t WHERE t.session_id = s.id))"
"""A session the patient page lists (``s``: the session): one with a trial or the clinician's notes.
A test opened and closed before any trial leaves an empty session, kept in the store (a programme
visit or the hub may refer to it) but neither listed nor counted as a session in the patient list,
nor its last session (web/static/js/patient.js shows the same)."""


def visit_count(sessions: list[tuple[str, bool, str]]) -> int:
    """A patient's visits as the patient page's cards group them (web/static/js/patient.js visits) and the visit
    results chain them (station.protocols.report.visit_numbers): of ``sessions`` (each ``(started_at, tested,
    notes)``: tested, it has a trial), those with trials chained by gaps under :data:`VISIT_GAP_S`, and each one with
    only the clinician's notes.

    >>> visit_count([("2026-12-05T09:00:00Z", True, ""), ("2026-12-05T11:59:00Z", True, ""),
    ...              ("2026-12-05T14:59:00+00:00", True, ""), ("2026-12-06T09:00:00Z", False, "unwell"),
    ...              ("2026-12-07T09:00:00Z", False, "")])
    3
    """
    times = sorted(parse_utc_iso(at) for at, tested, _ in sessions if tested)
    chained = sum(1 for i, t in enumerate(times) if i == 0 or t - times[i - 1] >= VISIT_GAP_S)
    return chained + sum(1 for _, tested, notes in sessions if not tested and notes)


def _patient(row: sqlite3.Row) -> dict:
    return {
        "id": row["id"],
        "identifier": row["identifier"],
        "birth_year": row["birth_year"],
        "sex": row["sex"],
        "height_cm": row["height_cm"],
        "weight_kg": row["weight_kg"],
        "conditions": json.loads(row["conditions"]),
        "notes": row["notes"],
        "archived": row["archived_at"] is not None,
        "archived_at": row["archived_at"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Patients:
    def __init__(self, db: Database, audit: AuditLog, wall_clock: Callable[[], float] = time.time):
        self._db = db
        self._audit = audit
        self._now = wall_clock
        self.open_tests = OpenTests()
        """The patients whose test is open on this station (the trial service holds them)."""

    def _refuse_while_test_open(self, patient_id: int, to_do: str) -> None:
        """Conflict, in the clinician's words, if a test is open for the patient (call it inside
        the write transaction: see :mod:`station.store.open_tests`)."""
        title = self.open_tests.title(patient_id)
        if title is not None:
            raise Conflict(f"the test “{title}” is open for this patient on the station; end it on the live "
                           f"page (End test), then {to_do}")

    # -- validation -------------------------------------------------------------------------

    def clean(self, data: object, *, creating: bool) -> dict:
        """Checked and normalised fields of ``data`` (a JSON object); ValidationError lists every
        problem. On update, only the fields given (and ``archived``) are returned."""
        if not isinstance(data, dict):
            raise ValidationError({"body": "must be a JSON object"})
        allowed = PATIENT_FIELDS if creating else PATIENT_FIELDS + ("archived",)
        problems: dict[str, str] = {}
        clean: dict = {}
        for key in data:
            if key not in allowed:
                problems[str(key)[:40]] = f"unknown field; allowed: {', '.join(allowed)}"
        if creating:
            for key in REQUIRED_FIELDS:
                if key not in data or data[key] is None:
                    problems[key] = "is required"
        elif not data:
            problems["body"] = f"nothing to change; give one or more of {', '.join(allowed)}"
        this_year = time.gmtime(self._now()).tm_year

        def check(key, fn):
            if key in data and key not in problems:
                try:
                    clean[key] = fn(data[key])
                except ValueError as exc:
                    problems[key] = str(exc)

        def identifier(v):
            if not isinstance(v, str) or not IDENTIFIER_RE.match(v.strip()):
                raise ValueError(
                    f"must be a pseudonymous code of 1 to {IDENTIFIER_MAX_CHARS} letters, digits, '.', '_' or '-', beginning with a "
                    "letter or digit (no names, no spaces)"
                )
            return v.strip()

        def sex(v):
            if v not in SEXES:
                raise ValueError("must be 'F', 'M' or 'X'")
            return v

        def optional(low, high, unit):
            return lambda v: None if v is None else fields.number(v, low=low, high=high, unit=unit)

        def not_null(fn):
            def wrapped(v):
                if v is None:
                    raise ValueError("must not be null")
                return fn(v)

            return wrapped

        check("identifier", not_null(identifier))
        check("birth_year", not_null(lambda v: fields.integer(v, low=MIN_BIRTH_YEAR, high=this_year)))
        check("sex", not_null(sex))
        check("height_cm", optional(*HEIGHT_RANGE_CM, "cm"))
        check("weight_kg", optional(*WEIGHT_RANGE_KG, "kg"))
        check("conditions", normalise_conditions)
        check("notes", lambda v: fields.text(v, max_chars=MAX_NOTES_CHARS, multiline=True))
        check("archived", fields.boolean)
        if problems:
            raise ValidationError(problems)
        return clean

    # -- reading ----------------------------------------------------------------------------

    def get(self, patient_id: int) -> dict:
        """The patient record (not audited: for the station's own use)."""
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM patients WHERE id = ?", (patient_id,)).fetchone()
        if row is None:
            raise NotFound(f"no patient #{patient_id}")
        return _patient(row)

    def get_by_identifier(self, identifier: str) -> dict:
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM patients WHERE identifier = ?", (identifier,)).fetchone()
        if row is None:
            raise NotFound(f"no patient with identifier {identifier!r}")
        return _patient(row)

    def view(self, patient_id: int, *, actor: Actor) -> dict:
        """The patient with their sessions (newest first), each with trial summaries; audited."""
        patient = self.with_sessions(patient_id)
        self._audit.record(actor, "patient.view", patient_id=patient_id, object=f"patient:{patient_id}")
        return patient

    def with_sessions(self, patient_id: int) -> dict:
        """What :meth:`view` returns, not audited: for a view that audits what it shows itself (a visit's
        results read the patient's sessions to find the visit's, and are audited as that visit's view)."""
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM patients WHERE id = ?", (patient_id,)).fetchone()
            if row is None:
                raise NotFound(f"no patient #{patient_id}")
            sessions = [
                {
                    "id": s["id"],
                    "started_at": s["started_at"],
                    "label": s["label"],
                    "notes": s["notes"],
                    "created_by": s["created_by"],
                    "trials": [],
                }
                for s in conn.execute(
                    "SELECT * FROM sessions WHERE patient_id = ? ORDER BY started_at DESC, id DESC", (patient_id,)
                )
            ]
            by_id = {s["id"]: s for s in sessions}
            for t in conn.execute(
                SUMMARY_SQL + " JOIN sessions s ON s.id = t.session_id WHERE s.patient_id = ? ORDER BY t.id",
                (patient_id,),
            ):
                by_id[t["session_id"]]["trials"].append(summary(t))
        return {**_patient(row), "sessions": sessions}

    def search(
        self,
        *,
        q: str | None = None,
        condition: str | None = None,
        archived: str = "no",
        sort: str = "identifier",
        limit: int = 50,
        offset: int = 0,
        actor: Actor | None = None,
    ) -> dict:
        """A page of patients with a summary of their activity.

        ``q`` matches anywhere in the identifier (case-insensitive); ``condition`` is one tag;
        ``archived`` is ``no`` (default), ``yes`` or ``all``; ``sort`` is ``identifier``, ``recent``
        (latest session first) or ``created``. Returns ``{"patients", "total", "limit", "offset"}``.
        A listed patient has only what the list shows (:data:`LIST_FIELDS`: identifier, birth
        year, sex, conditions, archived state, activity, a programme's state: ``programme`` ``active``,
        ``paused`` or None), never notes, height or weight; a page
        listed for a person (``actor``) is audited as one ``patient.list`` entry naming the ids
        shown (a page that cannot be audited is not returned).
        """
        problems = {}
        if archived not in ("no", "yes", "all"):
            problems["archived"] = "must be no, yes or all"
        if sort not in SORTS:
            problems["sort"] = f"must be one of {', '.join(SORTS)}"
        if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
            problems["limit"] = f"must be an integer between 1 and {MAX_PAGE}"
        if not isinstance(offset, int) or offset < 0:
            problems["offset"] = "must be a non-negative integer"
        if q is not None and len(q) > 64:
            problems["q"] = "must be at most 64 characters"
        if condition is not None and len(condition) > 64:
            problems["condition"] = "must be at most 64 characters"
        if problems:
            raise ValidationError(problems)
        where, args = [], []
        if archived == "no":
            where.append("p.archived_at IS NULL")
        elif archived == "yes":
            where.append("p.archived_at IS NOT NULL")
        if q:
            where.append("p.identifier LIKE ? ESCAPE '\\'")
            args.append(f"%{_like_escape(q)}%")
        if condition:
            where.append("EXISTS (SELECT 1 FROM json_each(p.conditions) c WHERE c.value = ?)")
            args.append(condition)
        where_sql = (" WHERE " + " AND ".join(where)) if where else ""
        with self._db.read() as conn:
            total = conn.execute(f"SELECT count(*) FROM patients p{where_sql}", args).fetchone()[0]
            rows = conn.execute(
                "SELECT p.*,"
                f" (SELECT count(*) FROM sessions s WHERE s.patient_id = p.id AND {LISTED_SESSION}) AS session_count,"
                f" (SELECT max(s.started_at) FROM sessions s WHERE s.patient_id = p.id AND {LISTED_SESSION})"
                " AS last_session_at,"
                " (SELECT count(*) FROM sessions s JOIN trials t ON t.session_id = s.id"
                "   WHERE s.patient_id = p.id) AS trial_count,"
                # a programme not ended (active or paused), the newest: the list says the patient is on one
                " (SELECT a.status FROM programme_assignments a WHERE a.patient_id = p.id"
                "   AND a.status IN ('active', 'paused') ORDER BY a.id DESC LIMIT 1) AS programme_status"
                f" FROM patients p{where_sql} ORDER BY {SORTS[sort]} LIMIT ? OFFSET ?",
                args + [limit, offset],
            ).fetchall()
        patients = [
            {
                **{k: v for k, v in _patient(r).items() if k in LIST_FIELDS},
                "session_count": r["session_count"],
                "trial_count": r["trial_count"],
                "visit_count": 0,
                "last_session_at": r["last_session_at"],
                "programme": r["programme_status"],  # "active", "paused" or None (none, or ended)
            }
            for r in rows
        ]
        if patients:  # each one's visits, from its sessions' starts (one read for the page)
            with self._db.read() as conn:
                found: dict[int, list[tuple[str, bool, str]]] = {}
                for s in conn.execute(
                        "SELECT s.patient_id, s.started_at, s.notes,"
                        " EXISTS (SELECT 1 FROM trials t WHERE t.session_id = s.id) AS tested FROM sessions s"
                        f" WHERE s.patient_id IN ({', '.join('?' * len(patients))})", [p["id"] for p in patients]):
                    found.setdefault(s["patient_id"], []).append((s["started_at"], bool(s["tested"]), s["notes"] or ""))
            for p in patients:
                p["visit_count"] = visit_count(found.get(p["id"], []))
        if actor is not None:
            self._audit.record(actor, "patient.list", detail={"ids": [p["id"] for p in patients], "total": total})
        return {"patients": patients, "total": total, "limit": limit, "offset": offset}

    # -- changing ---------------------------------------------------------------------------

    def create(self, data: dict, *, actor: Actor) -> dict:
        """Add a patient from API fields; ValidationError or Conflict (identifier taken)."""
        clean = self.clean(data, creating=True)
        now = utc_iso(self._now())
        with self._db.write() as conn:
            if conn.execute("SELECT 1 FROM patients WHERE identifier = ?", (clean["identifier"],)).fetchone():
                raise Conflict(f"identifier {clean['identifier']!r} is already used by another patient; choose another")
            cur = conn.execute(
                "INSERT INTO patients (identifier, birth_year, sex, height_cm, weight_kg, conditions, notes,"
                " created_at, updated_at, change_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    clean["identifier"],
                    clean["birth_year"],
                    clean["sex"],
                    clean.get("height_cm"),
                    clean.get("weight_kg"),
                    json.dumps(clean.get("conditions", [])),
                    clean.get("notes", ""),
                    now,
                    now,
                    change_seq.next_number(conn),
                ),
            )
            patient_id = int(cur.lastrowid)
            self._audit.record(actor, "patient.create", patient_id=patient_id, object=f"patient:{patient_id}")
        return self.get(patient_id)

    def update(self, patient_id: int, data: dict, *, actor: Actor) -> dict:
        """Change the given fields; ``archived: true/false`` archives or restores the patient. A new
        identifier is told to the patient's open test once stored (its live page shows it): when this runs
        inside an outer write transaction (the hub's put-back), once that commits, and not if it rolls back
        (:meth:`station.store.db.Database.after_commit`)."""
        clean = self.clean(data, creating=False)
        now = utc_iso(self._now())
        with self._db.write() as conn:
            row = conn.execute("SELECT * FROM patients WHERE id = ?", (patient_id,)).fetchone()
            if row is None:
                raise NotFound(f"no patient #{patient_id}")
            if "identifier" in clean:
                other = conn.execute(
                    "SELECT id FROM patients WHERE identifier = ? AND id != ?", (clean["identifier"], patient_id)
                ).fetchone()
                if other:
                    raise Conflict(f"identifier {clean['identifier']!r} is already used by another patient")
            changed = []
            for key in PATIENT_FIELDS:
                if key in clean:
                    value = json.dumps(clean[key]) if key == "conditions" else clean[key]
                    if value != row[key]:
                        conn.execute(f"UPDATE patients SET {key} = ? WHERE id = ?", (value, patient_id))
                        changed.append(key)
            if changed:
                conn.execute("UPDATE patients SET updated_at = ?, change_seq = ? WHERE id = ?",
                             (now, change_seq.next_number(conn), patient_id))
                self._audit.record(
                    actor, "patient.update", patient_id=patient_id, object=f"patient:{patient_id}",
                    detail={"changed": changed},
                )
            if "archived" in clean and clean["archived"] != (row["archived_at"] is not None):
                if clean["archived"]:
                    recording = conn.execute(
                        "SELECT 1 FROM trials t JOIN sessions s ON s.id = t.session_id"
                        " WHERE s.patient_id = ? AND t.status = 'recording'",
                        (patient_id,),
                    ).fetchone()
                    if recording:
                        raise Conflict("a trial of this patient is being recorded; archive after it ends")
                    self._refuse_while_test_open(patient_id, "archive the patient")
                conn.execute(
                    "UPDATE patients SET archived_at = ?, updated_at = ?, change_seq = ? WHERE id = ?",
                    (now if clean["archived"] else None, now, change_seq.next_number(conn), patient_id),
                )
                self._audit.record(
                    actor, "patient.archive" if clean["archived"] else "patient.unarchive",
                    patient_id=patient_id, object=f"patient:{patient_id}",
                )
            if "identifier" in changed:  # told once stored: after an outer transaction's commit, if in one
                self._db.after_commit(lambda: self.open_tests.changed(patient_id))
        return self.get(patient_id)

    def erase(self, patient_id: int, confirm_identifier: object, *, actor: Actor) -> dict:
        """Erase a patient and all their data on request.

        ``confirm_identifier`` must repeat the patient's identifier (case-insensitive): the
        confirmation. Returns counts of what was removed: ``sessions``, ``trials``, ``frames``,
        ``programmes``, ``training_sessions`` (the programmes' planned sessions) and ``doses``
        (the doses recorded for them). Refused (Conflict) while one of the patient's trials is
        recording or a test of theirs is open on this station (:attr:`open_tests`).
        """
        with self._db.write() as conn:
            row = conn.execute("SELECT identifier FROM patients WHERE id = ?", (patient_id,)).fetchone()
            if row is None:
                raise NotFound(f"no patient #{patient_id}")
            if not isinstance(confirm_identifier, str) or confirm_identifier.strip().casefold() != row[
                "identifier"
            ].casefold():
                raise ValidationError(
                    {"confirm_identifier": "must repeat the patient's identifier to confirm the erasure"}
                )
            counts = conn.execute(
                "SELECT count(DISTINCT s.id) AS sessions, count(t.id) AS trials,"
                " coalesce(sum(t.frame_count), 0) AS frames,"
                " sum(CASE WHEN t.status = 'recording' THEN 1 ELSE 0 END) AS recording"
                " FROM sessions s LEFT JOIN trials t ON t.session_id = s.id WHERE s.patient_id = ?",
                (patient_id,),
            ).fetchone()
            if counts["recording"]:
                raise Conflict("a trial of this patient is being recorded; erase after it ends")
            self._refuse_while_test_open(patient_id, "erase the patient")
            programmes = conn.execute(
                "SELECT count(DISTINCT a.id) AS programmes, count(ps.id) AS training_sessions,"
                " count(ps.dose) AS doses"
                " FROM programme_assignments a LEFT JOIN programme_sessions ps ON ps.assignment_id = a.id"
                " WHERE a.patient_id = ?",
                (patient_id,),
            ).fetchone()
            removed = {"sessions": counts["sessions"], "trials": counts["trials"], "frames": counts["frames"],
                       "programmes": programmes["programmes"], "training_sessions": programmes["training_sessions"],
                       "doses": programmes["doses"]}
            conn.execute("DELETE FROM patients WHERE id = ?", (patient_id,))
            self._audit.record(
                actor, "patient.erase", patient_id=patient_id, object=f"patient:{patient_id}", detail=removed
            )
        self._db.checkpoint_truncate()
        return removed
