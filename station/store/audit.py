"""The audit log: who viewed, changed, exported or erased which patient's data, and when.

Every store operation on patient data takes an :class:`Actor` and writes its audit entry in the
same transaction as the change (a change is never stored without its entry, nor the reverse). Views
and exports are recorded as they are served. Entries name the patient by the internal number
(``patient_id``), never by identifier, notes or any other patient data: after an erasure the log
still says who erased patient #12 and when, without keeping who #12 was. The table is append-only
(SQL triggers refuse UPDATE and DELETE).

Actions
-------
``patient.create``, ``patient.view``, ``patient.update``, ``patient.archive``,
``patient.unarchive``, ``patient.export``, ``patient.erase``, ``session.create``,
``session.view``, ``session.update``, ``trial.record``, ``trial.finish``, ``trial.abort``,
``trial.recover``, ``trial.view``, ``trial.frames``, ``trial.update``, ``trial.export``,
``user.login``, ``user.login_failed``, ``user.logout``, ``user.create``, ``user.update``,
``user.password``, ``settings.update``, ``programme.assign``, ``programme.view``,
``programme.update``, ``programme.dose``.

Listing and showing (issue 14): ``patient.list`` (a page of the patient list: the ids shown, in
``detail``), ``station.view`` and ``live.view`` (the open run's patient shown by the station's
status or live stream, once per login session: :mod:`web.exposure`).

A look at a visit's results is one ``session.view`` entry naming the visit's sessions in ``detail``;
the traces that page draws (a trial, its frames, a walk's steps) are read inside that view and write
no ``trial.view``/``trial.frames`` of their own, but only for the login session whose view of that
visit was recorded and only for the trials that view listed (:mod:`web.visit_views`); any other read of
a trial is audited on its own. A visit's FHIR bundle is one ``patient.export`` naming its sessions.
"""

from __future__ import annotations

import getpass
import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Callable

from station.store.db import Database, ValidationError
from station.store.timefmt import utc_iso

ACTIONS = frozenset(
    """patient.create patient.view patient.update patient.archive patient.unarchive patient.export
    patient.erase session.create session.view session.update trial.record trial.finish
    trial.abort trial.scored_unable trial.recover trial.view trial.frames trial.update trial.export user.login
    user.login_failed user.logout user.create user.update user.password settings.update
    programme.assign programme.view programme.update programme.dose
    training.record training.view
    patient.list station.view live.view sync.skip sync.pulled_forgotten
    sync.station_add sync.station_revoke sync.station_renew sync.erasure_unmatched
    sync.erasures_offered_again sync.station_restored sync.restore_withdrawn""".split()
)


@dataclass(frozen=True)
class Actor:
    """Who does something: a logged-in user, a command-line administrator or the station itself.

    ``user_id`` is None for the command line and the system; ``address`` is the client's IP
    address for web requests.
    """

    user_id: int | None
    username: str
    address: str | None = None

    @classmethod
    def system(cls) -> "Actor":
        """The station itself (e.g. recovering interrupted trials at start)."""
        return cls(None, "system")

    @classmethod
    def command_line(cls) -> "Actor":
        """An administrator at the station's command line, named by their OS account."""
        try:
            who = getpass.getuser()
        except (KeyError, OSError):
            who = "unknown"
        return cls(None, f"cli:{who}")


class AuditLog:
    """Writing and reading the audit log."""

    def __init__(self, db: Database, wall_clock: Callable[[], float] = time.time):
        self._db = db
        self._now = wall_clock
        self.hooks: list[Callable[..., None]] = []
        """Called inside the entry's transaction, after it is written, as ``hook(conn, actor,
        action, patient_id=..., object=..., detail=...)``: the sync outbox
        (:mod:`station.store.outbox`) queues each change this way, in the same transaction."""

    def record(
        self,
        actor: Actor,
        action: str,
        *,
        patient_id: int | None = None,
        object: str | None = None,
        detail: dict | None = None,
    ) -> None:
        """Append one entry (inside the caller's write transaction if there is one).

        ``detail`` must never contain patient data (identifier, notes, birth year...): only
        names of changed fields, counts, formats and the like.
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO audit_log (at, user_id, username, address, action, patient_id, object, detail)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    utc_iso(self._now()),
                    actor.user_id,
                    actor.username,
                    actor.address,
                    action,
                    patient_id,
                    object,
                    None if detail is None else json.dumps(detail, sort_keys=True),
                ),
            )
            for hook in self.hooks:
                hook(conn, actor, action, patient_id=patient_id, object=object, detail=detail)

    def query(
        self,
        *,
        patient_id: int | None = None,
        username: str | None = None,
        action: str | None = None,
        since: str | None = None,
        until: str | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[dict]:
        """Entries, newest first, filtered by the given criteria.

        ``since``/``until`` are ISO 8601 UTC times (inclusive / exclusive); ``before_id`` pages
        backwards (pass the smallest ``id`` of the previous page). ``action`` may name a whole
        family with a trailing dot (``"patient."``).
        """
        if not 1 <= limit <= 1000:
            raise ValidationError({"limit": "must be between 1 and 1000"})
        where, args = [], []
        if patient_id is not None:
            where.append("patient_id = ?")
            args.append(patient_id)
        if username is not None:
            where.append("username = ?")
            args.append(username)
        if action is not None:
            if action.endswith("."):
                where.append("substr(action, 1, ?) = ?")
                args += [len(action), action]
            else:
                where.append("action = ?")
                args.append(action)
        if since is not None:
            where.append("at >= ?")
            args.append(since)
        if until is not None:
            where.append("at < ?")
            args.append(until)
        if before_id is not None:
            where.append("id < ?")
            args.append(before_id)
        sql = "SELECT * FROM audit_log"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        with self._db.read() as conn:
            return [_entry(row) for row in conn.execute(sql, args)]


def _entry(row: sqlite3.Row) -> dict:
    return {
        "id": row["id"],
        "at": row["at"],
        "user_id": row["user_id"],
        "username": row["username"],
        "address": row["address"],
        "action": row["action"],
        "patient_id": row["patient_id"],
        "object": row["object"],
        "detail": None if row["detail"] is None else json.loads(row["detail"]),
    }
