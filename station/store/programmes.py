"""Training programmes of patients: assignments, planned sessions and visits, doses, pauses.

Tables (migration 2, :mod:`station.store.migrations`): ``programme_assignments`` (a template given
to a patient from a start date; the validated template is stored with it, so a later edit of the
file does not change a programme under way), ``programme_sessions`` (every planned training
session: its programme week, planned and prescribed dates, status ``planned``/``done``/``missed``/
``cancelled``, the missed reason, and the dose with its source ``measured`` or ``manual``, who
recorded it and when), ``programme_visits`` (assessment visits and the protocols they run),
``programme_visit_sessions`` (the station sessions that ran a visit's protocols) and
``programme_pauses``. Every row belongs to a patient through its assignment and goes with the
patient on erasure (``ON DELETE CASCADE``); backups copy the whole database.

Dates are calendar days ``YYYY-MM-DD`` ("today" is the day in the station's local time zone).
Every change and every view by a person is audited (``programme.assign``, ``programme.view``,
``programme.update``, ``programme.dose``); audit details name what changed, never notes or
reasons (they may hold patient data).

Rules: one current (active or paused) programme per patient; a session or visit is moved,
missed or given a dose only while the programme is current (a dose may be entered for a session
already done or missed, e.g. late paperwork, also after the programme ended); pausing from a day
and resuming on a later day moves every planned session and visit on or after the pause day by
the length of the pause; ending early cancels what is still planned.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import date, timedelta
from typing import Callable

from station.programmes.dose import DOSE_FIELDS, RPE_RANGE, NoDoseInTrial, dose_from_trial
from station.programmes.schedule import lay_out, parse_day
from station.programmes.template import ProgrammeTemplate
from station.store import fields
from station.store.audit import Actor, AuditLog
from station.store.db import Conflict, Database, NotFound, ValidationError
from station.store.timefmt import local_day, utc_iso

MAX_REASON_CHARS = 200
MAX_NOTES_CHARS = 1000
MAX_DAYS_MOVED = 366
"""A session or visit may be moved at most this many days from its prescribed date."""
CURRENT = ("active", "paused")


def today_of(wall_clock: Callable[[], float]) -> str:
    """Today's date where the station is (its local time zone: ``TZ``, else the system's) as
    ``YYYY-MM-DD``: a clinic's "today", "next session" and "week k of n" change at its own
    midnight, not at UTC's."""
    return local_day(wall_clock())


def _day(value: object, name: str) -> date:
    try:
        return parse_day(value)
    except ValueError as exc:
        raise ValidationError({name: str(exc)}) from None


def _reason(value: object, name: str = "reason", required: bool = True) -> str:
    try:
        return fields.text("" if value is None and not required else value, max_chars=MAX_REASON_CHARS,
                           required=required)
    except ValueError as exc:
        raise ValidationError({name: str(exc)}) from None


def _only(data: object, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict:
    if not isinstance(data, dict):
        raise ValidationError({"body": "must be a JSON object"})
    problems = {str(k)[:40]: f"unknown field; allowed: {', '.join(allowed)}" for k in data if k not in allowed}
    for key in required:
        if key not in data:
            problems[key] = "is required"
    if problems:
        raise ValidationError(problems)
    return data


def clean_manual_dose(data: object) -> dict:
    """A dose entered by hand: ``minutes`` (required, 0-240), ``belt_speed_m_s`` (0-3),
    ``rpe`` (Borg 6-20), ``steps``, ``notes`` (up to 1000 characters), ``done_on`` (the day the
    session was done, ``YYYY-MM-DD``; :meth:`Programmes.record_dose` checks it against today)."""
    data = _only(data, ("minutes", "belt_speed_m_s", "rpe", "steps", "notes", "done_on"), ("minutes",))
    problems, clean = {}, {}
    checks = {
        "minutes": lambda v: fields.number(v, low=0.0, high=240.0, unit="min"),
        "belt_speed_m_s": lambda v: fields.number(v, low=0.0, high=3.0, unit="m/s"),
        "rpe": lambda v: fields.integer(v, low=RPE_RANGE[0], high=RPE_RANGE[1]),
        "steps": lambda v: fields.integer(v, low=0, high=100_000),
        "notes": lambda v: fields.text(v, max_chars=MAX_NOTES_CHARS, multiline=True),
        "done_on": lambda v: parse_day(v).isoformat(),
    }
    for key, check in checks.items():
        if key in data and data[key] is not None:
            try:
                clean[key] = check(data[key])
            except ValueError as exc:
                problems[key] = str(exc)
    if problems:
        raise ValidationError(problems)
    return clean


def _session(row: sqlite3.Row) -> dict:
    return {
        "id": row["id"], "assignment_id": row["assignment_id"], "number": row["number"], "week": row["week"],
        "planned_date": row["planned_date"], "prescribed_date": row["prescribed_date"],
        "minutes_planned": row["minutes_planned"], "status": row["status"], "missed_reason": row["missed_reason"],
        "dose_source": row["dose_source"], "dose": json.loads(row["dose"]) if row["dose"] else None,
        "trial_id": row["trial_id"], "recorded_at": row["recorded_at"], "recorded_by": row["recorded_by"],
    }


_RUNS_SQL = (
    "SELECT v.protocol, v.session_id, v.linked_at, v.linked_by,"
    " (SELECT count(*) FROM trials t WHERE t.session_id = v.session_id AND t.status = 'complete') AS complete_trials"
    " FROM programme_visit_sessions v WHERE v.visit_id = ? ORDER BY v.linked_at, v.session_id"
)


def _visit(row: sqlite3.Row, runs: list[dict]) -> dict:
    """A visit as stored; ``done_protocols``: those with a linked session holding a complete
    trial, in the visit's order; the status of a planned visit is ``done`` once they all are."""
    protocols = json.loads(row["protocols"])
    measured = {r["protocol"] for r in runs if r["complete_trials"] > 0}
    done = [p for p in protocols if p in measured]
    status = row["status"]
    if status == "planned" and len(done) == len(protocols):
        status = "done"
    return {
        "id": row["id"], "assignment_id": row["assignment_id"], "assessment_id": row["assessment_id"],
        "label": row["label"], "week": row["week"], "planned_date": row["planned_date"],
        "prescribed_date": row["prescribed_date"], "protocols": protocols,
        "status": status, "missed_reason": row["missed_reason"], "runs": runs, "done_protocols": done,
        "next_protocol": next((p for p in protocols if p not in measured), None),
    }


def _assignment(row: sqlite3.Row) -> dict:
    return {
        "id": row["id"], "patient_id": row["patient_id"], "template_name": row["template_name"],
        "template": json.loads(row["template"]), "start_date": row["start_date"], "status": row["status"],
        "paused_from": row["paused_from"], "ended_on": row["ended_on"], "end_reason": row["end_reason"],
        "created_at": row["created_at"], "created_by": row["created_by"], "updated_at": row["updated_at"],
    }


class Programmes:
    """Programme assignments of patients (see the module docstring)."""

    def __init__(self, db: Database, audit: AuditLog, wall_clock: Callable[[], float] = time.time):
        self._db = db
        self._audit = audit
        self._now = wall_clock

    def today(self) -> str:
        return today_of(self._now)

    # -- reading -----------------------------------------------------------------------------

    def get(self, assignment_id: int) -> dict:
        """The assignment with its sessions, visits (with their runs) and pauses; not audited."""
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM programme_assignments WHERE id = ?", (assignment_id,)).fetchone()
            if row is None:
                raise NotFound(f"no programme #{assignment_id}")
            sessions = [_session(r) for r in conn.execute(
                "SELECT * FROM programme_sessions WHERE assignment_id = ? ORDER BY number", (assignment_id,))]
            visits = []
            for v in conn.execute("SELECT * FROM programme_visits WHERE assignment_id = ? ORDER BY week",
                                  (assignment_id,)).fetchall():
                runs = [dict(r) for r in conn.execute(_RUNS_SQL, (v["id"],))]
                visits.append(_visit(v, runs))
            pauses = [dict(r) for r in conn.execute(
                "SELECT paused_from, resumed_on, reason, paused_by, resumed_by FROM programme_pauses"
                " WHERE assignment_id = ? ORDER BY id", (assignment_id,))]
        return {**_assignment(row), "sessions": sessions, "visits": visits, "pauses": pauses}

    def view(self, assignment_id: int, *, actor: Actor) -> dict:
        doc = self.get(assignment_id)
        self._audit.record(actor, "programme.view", patient_id=doc["patient_id"], object=f"programme:{assignment_id}")
        return doc

    def list_for_patient(self, patient_id: int) -> list[dict]:
        """The patient's assignments, newest first (without sessions); not audited."""
        with self._db.read() as conn:
            if conn.execute("SELECT 1 FROM patients WHERE id = ?", (patient_id,)).fetchone() is None:
                raise NotFound(f"no patient #{patient_id}")
            return [_assignment(r) for r in conn.execute(
                "SELECT * FROM programme_assignments WHERE patient_id = ? ORDER BY id DESC", (patient_id,))]

    def for_patient_export(self, patient_id: int) -> list[dict]:
        """Every assignment of the patient in full, oldest first (for the patient's export)."""
        return [self.get(a["id"]) for a in reversed(self.list_for_patient(patient_id))]

    def unlinked_trials(self, patient_id: int, limit: int = 20, protocol: str | None = None) -> list[dict]:
        """The patient's latest complete trials (of ``protocol`` when given) that no programme
        session took its dose from, newest first (by start): ``{id, protocol, condition,
        started_at, metrics}`` (candidates for a measured dose;
        :func:`station.programmes.dose.dose_from_trial` tells which walked)."""
        # the protocol's condition only when given (a NULL parameter has no type on the hub's PostgreSQL)
        of_protocol, args = ("", (patient_id, limit)) if protocol is None else (" AND t.protocol = ?",
                                                                             (patient_id, protocol, limit))
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT t.id, t.protocol, t.condition, t.started_at, t.status, t.metrics FROM trials t"
                " JOIN sessions s ON s.id = t.session_id WHERE s.patient_id = ? AND t.status = 'complete'" + of_protocol
                + " AND t.metrics IS NOT NULL AND NOT EXISTS (SELECT 1 FROM programme_sessions ps WHERE ps.trial_id = t.id)"
                " ORDER BY t.started_at DESC, t.id DESC LIMIT ?", args).fetchall()
        return [{"id": r["id"], "protocol": r["protocol"], "condition": r["condition"], "started_at": r["started_at"],
                 "status": r["status"], "metrics": json.loads(r["metrics"])} for r in rows]

    def runs_on_day(self, patient_id: int, protocols: list[str], day: str) -> list[dict]:
        """The patient's station sessions with a complete trial of one of ``protocols`` that began on
        ``day`` (the clinic's day, ``YYYY-MM-DD``), oldest first: ``{session_id, protocol, started_at}``
        (the first complete trial's start). Tests measured the morning a programme began, before it was
        assigned, are its baseline's to take (:meth:`link_visit_session`)."""
        if not protocols:
            return []
        d = parse_day(day)
        low, high = (d - timedelta(days=1)).isoformat(), (d + timedelta(days=2)).isoformat()  # any zone's day inside
        marks = ", ".join("?" for _ in protocols)
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT t.session_id, t.protocol, min(t.started_at) AS started_at FROM trials t"
                " JOIN sessions s ON s.id = t.session_id WHERE s.patient_id = ? AND t.status = 'complete'"
                f" AND t.protocol IN ({marks}) AND t.started_at >= ? AND t.started_at < ?"
                " GROUP BY t.session_id, t.protocol ORDER BY min(t.started_at), t.session_id",
                (patient_id, *protocols, low, high)).fetchall()
        return [{"session_id": r["session_id"], "protocol": r["protocol"], "started_at": r["started_at"]}
                for r in rows if local_day(r["started_at"]) == d.isoformat()]

    def session(self, session_id: int) -> dict:
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM programme_sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise NotFound(f"no programme session #{session_id}")
        return _session(row)

    def visit(self, visit_id: int) -> dict:
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM programme_visits WHERE id = ?", (visit_id,)).fetchone()
            if row is None:
                raise NotFound(f"no programme visit #{visit_id}")
            runs = [dict(r) for r in conn.execute(_RUNS_SQL, (visit_id,))]
        return _visit(row, runs)

    # -- assigning ---------------------------------------------------------------------------

    def assign(self, patient_id: int, template: ProgrammeTemplate, start_date: object, *, actor: Actor) -> dict:
        """Give ``template`` to a patient from ``start_date`` (``YYYY-MM-DD``) and lay out its
        sessions and visits. Conflict when the patient is archived or already on a programme."""
        start = _day(start_date, "start_date")
        sessions, visits = lay_out(template, start)
        now = utc_iso(self._now())
        with self._db.write() as conn:
            patient = conn.execute("SELECT archived_at FROM patients WHERE id = ?", (patient_id,)).fetchone()
            if patient is None:
                raise NotFound(f"no patient #{patient_id}")
            if patient["archived_at"] is not None:
                raise Conflict("the patient is archived; unarchive the patient to start a programme")
            current = conn.execute(
                "SELECT id FROM programme_assignments WHERE patient_id = ? AND status IN ('active', 'paused')",
                (patient_id,)).fetchone()
            if current:
                raise Conflict(f"the patient is already on programme #{current['id']}; end it before starting another")
            cur = conn.execute(
                "INSERT INTO programme_assignments (patient_id, template_name, template, start_date, status,"
                " created_at, created_by, updated_at) VALUES (?, ?, ?, ?, 'active', ?, ?, ?)",
                (patient_id, template.name, json.dumps(template.to_file_dict(), sort_keys=True), start.isoformat(),
                 now, actor.username, now))
            assignment_id = int(cur.lastrowid)
            conn.executemany(
                "INSERT INTO programme_sessions (assignment_id, number, week, planned_date, prescribed_date,"
                " minutes_planned, status) VALUES (?, ?, ?, ?, ?, ?, 'planned')",
                [(assignment_id, s.number, s.week, s.planned_date.isoformat(), s.planned_date.isoformat(),
                  s.minutes_planned) for s in sessions])
            conn.executemany(
                "INSERT INTO programme_visits (assignment_id, assessment_id, label, week, planned_date,"
                " prescribed_date, protocols, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'planned')",
                [(assignment_id, v.assessment_id, v.label, v.week, v.planned_date.isoformat(),
                  v.planned_date.isoformat(), json.dumps(list(v.protocols))) for v in visits])
            self._audit.record(actor, "programme.assign", patient_id=patient_id, object=f"programme:{assignment_id}",
                               detail={"template": template.name, "sessions": len(sessions), "visits": len(visits)})
        return self.get(assignment_id)

    # -- helpers -----------------------------------------------------------------------------

    def _current(self, conn, assignment_id: int, what: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM programme_assignments WHERE id = ?", (assignment_id,)).fetchone()
        if row is None:
            raise NotFound(f"no programme #{assignment_id}")
        if row["status"] not in CURRENT:
            raise Conflict(f"programme #{assignment_id} has ended; {what} only while it runs")
        return row

    def _touch(self, conn, assignment_id: int) -> None:
        conn.execute("UPDATE programme_assignments SET updated_at = ? WHERE id = ?", (utc_iso(self._now()), assignment_id))

    def _item(self, conn, table: str, item_id: int, noun: str) -> tuple[sqlite3.Row, sqlite3.Row]:
        row = conn.execute(f"SELECT * FROM {table} WHERE id = ?", (item_id,)).fetchone()
        if row is None:
            raise NotFound(f"no programme {noun} #{item_id}")
        assignment = conn.execute("SELECT * FROM programme_assignments WHERE id = ?", (row["assignment_id"],)).fetchone()
        return row, assignment

    def _move(self, table: str, noun: str, item_id: int, data: object, actor: Actor) -> None:
        data = _only(data, ("planned_date",), ("planned_date",))
        new = _day(data["planned_date"], "planned_date")
        with self._db.write() as conn:
            row, assignment = self._item(conn, table, item_id, noun)
            self._current(conn, assignment["id"], f"its {noun}s can be moved")
            if row["status"] != "planned":
                raise Conflict(f"this {noun} is {row['status']}; only a planned {noun} can be moved")
            prescribed = date.fromisoformat(row["prescribed_date"])
            if abs((new - prescribed).days) > MAX_DAYS_MOVED:
                raise ValidationError({"planned_date": f"must be within {MAX_DAYS_MOVED} days of the prescribed date "
                                                       f"{prescribed.isoformat()}"})
            if new < date.fromisoformat(assignment["start_date"]):
                raise ValidationError({"planned_date": f"must not be before the programme's start "
                                                       f"{assignment['start_date']}"})
            conn.execute(f"UPDATE {table} SET planned_date = ? WHERE id = ?", (new.isoformat(), item_id))
            self._touch(conn, assignment["id"])
            self._audit.record(actor, "programme.update", patient_id=assignment["patient_id"],
                               object=f"programme:{assignment['id']}", detail={"change": f"move_{noun}", "id": item_id})

    def _miss(self, table: str, noun: str, item_id: int, data: object, actor: Actor) -> None:
        data = _only(data, ("reason",), ("reason",))
        reason = _reason(data["reason"])
        with self._db.write() as conn:
            row, assignment = self._item(conn, table, item_id, noun)
            self._current(conn, assignment["id"], f"its {noun}s can be marked missed")
            if row["status"] != "planned":
                raise Conflict(f"this {noun} is {row['status']}; only a planned {noun} can be marked missed")
            conn.execute(f"UPDATE {table} SET status = 'missed', missed_reason = ? WHERE id = ?", (reason, item_id))
            self._touch(conn, assignment["id"])
            self._audit.record(actor, "programme.update", patient_id=assignment["patient_id"],
                               object=f"programme:{assignment['id']}", detail={"change": f"miss_{noun}", "id": item_id})

    # -- sessions ----------------------------------------------------------------------------

    def move_session(self, session_id: int, data: object, *, actor: Actor) -> dict:
        """``{"planned_date": "YYYY-MM-DD"}``: move a planned session (it stays in its week)."""
        self._move("programme_sessions", "session", session_id, data, actor)
        return self.session(session_id)

    def miss_session(self, session_id: int, data: object, *, actor: Actor) -> dict:
        """``{"reason": "..."}``: a planned session did not happen."""
        self._miss("programme_sessions", "session", session_id, data, actor)
        return self.session(session_id)

    def record_dose(self, session_id: int, dose: dict, *, source: str, trial_id: int | None, actor: Actor,
                    from_run: bool = False) -> dict:
        """Store a session's dose (already checked) and mark it done; replaces an earlier dose.
        ``Conflict`` when ``trial_id`` is already another session's measured dose. ``from_run``: the
        trial of a run started from this session (:meth:`credit_run_trial`), which replaces no dose:
        ``Conflict`` when the session has one by then."""
        if source not in ("measured", "manual"):
            raise ValueError(f"unknown dose source {source!r}")
        unknown = set(dose) - set(DOSE_FIELDS)
        if unknown:
            raise ValueError(f"unknown dose fields {sorted(unknown)}")
        with self._db.write() as conn:
            row, assignment = self._item(conn, "programme_sessions", session_id, "session")
            if row["status"] == "cancelled":
                raise Conflict("this session was cancelled when the programme ended; it takes no dose")
            if row["status"] == "planned" and assignment["status"] not in CURRENT:
                raise Conflict(f"programme #{assignment['id']} has ended")
            if from_run and row["status"] == "done":
                raise Conflict(f"session {row['number']} already has a dose ({row['dose_source']}"
                               + (f", trial #{row['trial_id']}" if row["trial_id"] is not None else "") + ")")
            if trial_id is not None:  # one walk is one session's dose: the same trial twice doubled the minutes
                taken = conn.execute("SELECT id, number FROM programme_sessions WHERE trial_id = ? AND id != ?",
                                     (trial_id, session_id)).fetchone()
                if taken is not None:
                    raise Conflict(f"trial #{trial_id} is already the measured dose of session {taken['number']} "
                                   f"(#{taken['id']}); a walk measures one session: choose another trial, or enter "
                                   "this session's dose by hand")
            # the clinic's day it was done, always kept with the dose: as entered, its trial's, else this clinic's
            # today; never left to be read back from recorded_at in the zone of whoever reads it (a hub's server
            # in UTC, a station in Sydney: the day entered on one moved by a day on the other)
            dose = {**dose, "done_on": self._done_on(conn, dose.get("done_on"), trial_id)}
            conn.execute(
                "UPDATE programme_sessions SET status = 'done', missed_reason = NULL, dose_source = ?, dose = ?,"
                " trial_id = ?, recorded_at = ?, recorded_by = ? WHERE id = ?",
                (source, fields.json_document(dose, max_bytes=4096), trial_id, utc_iso(self._now()), actor.username,
                 session_id))
            self._touch(conn, assignment["id"])
            self._audit.record(actor, "programme.dose", patient_id=assignment["patient_id"],
                               object=f"programme:{assignment['id']}",
                               detail={"session": session_id, "source": source, "trial": trial_id,
                                       "replaced": row["status"] == "done", **({"from_run": True} if from_run else {})})
        return self.session(session_id)

    def _done_on(self, conn, given: str | None, trial_id: int | None) -> str:
        """The clinic's day a session was done: as entered (not after today), else its trial's day
        (a session walked on Sunday is done on Sunday, whichever day it was planned for), else today."""
        today = self.today()
        if given is not None:
            if given > today:
                raise ValidationError({"done_on": f"{given} is after today ({today}); a session is given its dose "
                                                  "once it was done"})
            return given
        if trial_id is not None:
            row = conn.execute("SELECT started_at FROM trials WHERE id = ?", (trial_id,)).fetchone()
            if row is not None and row["started_at"]:
                return local_day(row["started_at"])
        return today

    def enter_dose(self, session_id: int, data: object, *, actor: Actor) -> dict:
        """A dose entered by hand (see :func:`clean_manual_dose`)."""
        return self.record_dose(session_id, clean_manual_dose(data), source="manual", trial_id=None, actor=actor)

    def measure_dose(self, session_id: int, trial: dict, *, actor: Actor, extra: dict | None = None) -> dict:
        """The dose measured in a stored walking trial of the same patient (``Trials.get``);
        ``extra``: hand-entered fields to keep beside it (``rpe``, ``notes``, ``belt_speed_m_s``)."""
        session = self.session(session_id)
        assignment = self.get(session["assignment_id"])
        if trial.get("patient_id") != assignment["patient_id"]:
            raise ValidationError({"trial_id": "is a trial of another patient"})
        try:
            dose = dose_from_trial(trial)
        except NoDoseInTrial as exc:
            raise ValidationError({"trial_id": str(exc)}) from None
        if extra:
            hand = clean_manual_dose({"minutes": dose["minutes"], **extra})
            dose.update({k: v for k, v in hand.items() if k != "minutes"})
        return self.record_dose(session_id, dose, source="measured", trial_id=trial["id"], actor=actor)

    def credit_run_trial(self, session_id: int, trial: dict, *, actor: Actor) -> dict:
        """Count a trial stored by the run started from programme session ``session_id``
        (``POST /api/programme-sessions/<id>/run``) as that session's measured dose, as linking
        it by hand would (:meth:`measure_dose`; audited ``programme.dose`` with ``from_run``).

        A session stopped early is done with what was walked (its dose's minutes, e.g. 0.35 of 30
        planned): adherence counts its minutes, not the plan's. Idempotent: the trial already
        being the session's dose changes nothing. A session already given a dose (by hand, or by
        an earlier trial of the run: a Repeat) keeps it, and a trial without a walking dose (not
        finished, invalid) counts for nothing; both stay for the clinician to choose on the
        programme page. Returns ``{"programme_session_id", "minutes", "minutes_planned"}`` (with
        ``"already": True`` when nothing changed) or ``{"none": why}``."""
        session = self.session(session_id)
        counted = {"programme_session_id": session_id, "minutes_planned": session["minutes_planned"]}
        if session["trial_id"] == trial.get("id"):
            return {**counted, "minutes": (session["dose"] or {}).get("minutes"), "already": True}
        try:
            dose = dose_from_trial(trial)
        except NoDoseInTrial as exc:
            return {"none": str(exc)}
        assignment = self.get(session["assignment_id"])
        if trial.get("patient_id") != assignment["patient_id"]:
            raise ValidationError({"trial_id": "is a trial of another patient"})
        try:
            self.record_dose(session_id, dose, source="measured", trial_id=trial["id"], actor=actor, from_run=True)
        except Conflict as exc:
            return {"none": f"{exc}; trial #{trial.get('id')} is offered on the programme page to take instead"}
        return {**counted, "minutes": dose["minutes"]}

    # -- visits ------------------------------------------------------------------------------

    def move_visit(self, visit_id: int, data: object, *, actor: Actor) -> dict:
        self._move("programme_visits", "visit", visit_id, data, actor)
        return self.visit(visit_id)

    def miss_visit(self, visit_id: int, data: object, *, actor: Actor) -> dict:
        self._miss("programme_visits", "visit", visit_id, data, actor)
        return self.visit(visit_id)

    def link_visit_session(self, visit_id: int, protocol: str, session_id: int, *, actor: Actor) -> dict:
        """Record that station session ``session_id`` ran ``protocol`` for this visit; the visit
        is done once each of its protocols has a linked session with a complete trial."""
        with self._db.write() as conn:
            row, assignment = self._item(conn, "programme_visits", visit_id, "visit")
            protocols = json.loads(row["protocols"])
            if protocol not in protocols:
                raise ValidationError({"protocol": f"is not one of this visit's protocols; allowed: {', '.join(protocols)}"})
            if row["status"] in ("missed", "cancelled"):
                raise Conflict(f"this visit is {row['status']}")
            session = conn.execute("SELECT patient_id FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if session is None:
                raise NotFound(f"no session #{session_id}")
            if session["patient_id"] != assignment["patient_id"]:
                raise ValidationError({"session_id": "is a session of another patient"})
            conn.execute(
                "INSERT OR IGNORE INTO programme_visit_sessions (visit_id, protocol, session_id, linked_at, linked_by)"
                " VALUES (?, ?, ?, ?, ?)", (visit_id, protocol, session_id, utc_iso(self._now()), actor.username))
            self._touch(conn, assignment["id"])
            self._audit.record(actor, "programme.update", patient_id=assignment["patient_id"],
                               object=f"programme:{assignment['id']}",
                               detail={"change": "visit_session", "visit": visit_id, "session": session_id})
        return self.visit(visit_id)

    # -- the programme as a whole ------------------------------------------------------------

    def pause(self, assignment_id: int, data: object, *, actor: Actor) -> dict:
        """``{"from_date": "YYYY-MM-DD" (default today), "reason": "..."}``."""
        data = _only(data, ("from_date", "reason"), ("reason",))
        reason = _reason(data["reason"])
        start = _day(data.get("from_date", self.today()), "from_date")
        with self._db.write() as conn:
            row = self._current(conn, assignment_id, "it can be paused")
            if row["status"] == "paused":
                raise Conflict(f"programme #{assignment_id} is already paused (since {row['paused_from']})")
            conn.execute("UPDATE programme_assignments SET status = 'paused', paused_from = ? WHERE id = ?",
                         (start.isoformat(), assignment_id))
            conn.execute("INSERT INTO programme_pauses (assignment_id, paused_from, reason, paused_by) VALUES (?, ?, ?, ?)",
                         (assignment_id, start.isoformat(), reason, actor.username))
            self._touch(conn, assignment_id)
            self._audit.record(actor, "programme.update", patient_id=row["patient_id"], object=f"programme:{assignment_id}",
                               detail={"change": "pause"})
        return self.get(assignment_id)

    def resume(self, assignment_id: int, data: object, *, actor: Actor) -> dict:
        """``{"on_date": "YYYY-MM-DD" (default today)}``: every planned session and visit on or
        after the pause day moves by the pause's length in days."""
        data = _only(data, ("on_date",))
        on = _day(data.get("on_date", self.today()), "on_date")
        with self._db.write() as conn:
            row = self._current(conn, assignment_id, "it can be resumed")
            if row["status"] != "paused":
                raise Conflict(f"programme #{assignment_id} is not paused")
            paused_from = date.fromisoformat(row["paused_from"])
            if on < paused_from:
                raise ValidationError({"on_date": f"must not be before the pause began ({paused_from.isoformat()})"})
            days = (on - paused_from).days
            for table in ("programme_sessions", "programme_visits"):
                for item in conn.execute(f"SELECT id, planned_date FROM {table} WHERE assignment_id = ?"
                                         " AND status = 'planned' AND planned_date >= ?",
                                         (assignment_id, paused_from.isoformat())).fetchall():
                    moved = date.fromisoformat(item["planned_date"]) + timedelta(days=days)
                    conn.execute(f"UPDATE {table} SET planned_date = ? WHERE id = ?", (moved.isoformat(), item["id"]))
            conn.execute("UPDATE programme_assignments SET status = 'active', paused_from = NULL WHERE id = ?",
                         (assignment_id,))
            conn.execute("UPDATE programme_pauses SET resumed_on = ?, resumed_by = ? WHERE assignment_id = ?"
                         " AND resumed_on IS NULL", (on.isoformat(), actor.username, assignment_id))
            self._touch(conn, assignment_id)
            self._audit.record(actor, "programme.update", patient_id=row["patient_id"], object=f"programme:{assignment_id}",
                               detail={"change": "resume", "days": days})
        return self.get(assignment_id)

    def end(self, assignment_id: int, data: object, *, actor: Actor) -> dict:
        """``{"reason": "...", "on_date": "YYYY-MM-DD" (default today)}``: end the programme;
        what is still planned is cancelled (it stays listed, and counts as prescribed)."""
        data = _only(data, ("on_date", "reason"), ("reason",))
        reason = _reason(data["reason"])
        on = _day(data.get("on_date", self.today()), "on_date")
        with self._db.write() as conn:
            row = self._current(conn, assignment_id, "it can be ended")
            if on < date.fromisoformat(row["start_date"]):
                raise ValidationError({"on_date": f"must not be before the programme's start {row['start_date']}"})
            cancelled = 0
            for table in ("programme_sessions", "programme_visits"):
                cancelled += conn.execute(f"UPDATE {table} SET status = 'cancelled' WHERE assignment_id = ?"
                                          " AND status = 'planned'", (assignment_id,)).rowcount
            conn.execute("UPDATE programme_assignments SET status = 'ended', paused_from = NULL, ended_on = ?,"
                         " end_reason = ? WHERE id = ?", (on.isoformat(), reason, assignment_id))
            conn.execute("UPDATE programme_pauses SET resumed_on = ?, resumed_by = ? WHERE assignment_id = ?"
                         " AND resumed_on IS NULL", (on.isoformat(), actor.username, assignment_id))
            self._touch(conn, assignment_id)
            self._audit.record(actor, "programme.update", patient_id=row["patient_id"], object=f"programme:{assignment_id}",
                               detail={"change": "end", "cancelled": cancelled})
        return self.get(assignment_id)
