"""The sync outbox: every change to clinic records, queued in the transaction that makes it.

A station pushes its changes to the hub store-and-forward (:mod:`station.sync`). So that no change
is ever made without being queued, nor queued without being made, the queue is filled from the
audit log's hook (:attr:`station.store.audit.AuditLog.hooks`): every change of a patient,
session, trial, training programme or training game writes its audit entry inside its own write
transaction, and :meth:`Outbox.capture` adds the outbox row in that same transaction.

Rows (``sync_outbox``), in order of ``seq`` (the station's own sequence; with the station's id it
makes the change id ``<station_id>:<seq>``, unique across the clinic network):

========== ================= ==================================================================
entity     op                payload
========== ================= ==================================================================
patient    create, update    the fields changed, with their values *at the time of the change*
                             (the hub merges them last-writer-wins per field by ``at``)
patient    erase             the patient named keyed, ``identifier_key`` and ``key_id``
                             (:mod:`station.store.erasure_key`; ``identifier_hash``,
                             :func:`identifier_hash`, before this station had the key), and ``unsent_trials``
                             (queued trials whose frame parts the hub may hold: dropped there);
                             kept in ``sync_erasures`` too, offered again to a restored hub
                             (with the hub's erasures applied here: :meth:`Outbox.offer_again`)
patient    link              ``identifier``: a patient pulled from the hub (no fields: the hub
                             has them)
session    upsert            none: the session is read when pushed (whole-record upsert)
trial      upsert            none: the trial's record and its raw frames are read when pushed
                             (only trials that ended: complete, aborted or partial)
programme  upsert            none: the programme document is read when pushed, with each of its
                             fields' change time (:mod:`station.store.programme_fields`, stamped
                             here in the change's transaction, on the hub too for its own edits)
training   upsert            none: the game played (``training_sessions``) is read when pushed
========== ================= ==================================================================

Erasing a patient deletes their queued rows (which may hold their fields) in the erasure's
transaction and queues one ``erase``. A change made by the sync itself (a hub erasure applied at
the station) is made inside :meth:`Outbox.muted` and is not queued back; a hub erasure applied
here is kept in ``sync_erasures`` (``erased_by`` ``hub``) all the same.

Station identity: ``sync_identity`` holds a UUID created once, when the database first gets this
table; the same row says whether the database is a station's or the hub's (``role``). Every trial
records the station that recorded it (``trials.station_id``) and which calibration it used
(``trials.calibration_id``, :func:`calibration_id`). A station has one plate, so the station id
names the plate, and the calibration id the plate's calibration at the time.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from station.store import programme_fields
from station.store.db import Conflict, Database
from station.store.erasure_key import KeyFile, erase_payload, hub_key, key_id, keyed_hash
from station.store.timefmt import utc_iso

JUDGEMENT_CURSOR_SETTING = "sync_judgement_cursor"
"""The ``settings`` row of a station's cursor in the hub's judgements (:meth:`Outbox.judgement_cursor`)."""
HUB_EPOCH_SETTING = "sync_hub_epoch"
"""The ``settings`` row of the hub database's epoch this station last synced with
(:mod:`station.store.hub_epoch`)."""
ACKNOWLEDGED_SETTING = "sync_acknowledged_through"
"""The ``settings`` row of the last change number the hub acknowledged (:meth:`Outbox.acknowledge`)."""
LAST_ERROR_CHARS = 1500
"""The last sync error is kept up to this long: the hub's words (up to
:data:`station.sync.client.HUB_WORDS_CHARS`) after the station's own, what to do at their end."""

PATIENT_SYNC_FIELDS = ("identifier", "birth_year", "sex", "height_cm", "weight_kg", "conditions", "notes")
"""The patient fields that sync (plus ``archived``)."""
TRIAL_END_ACTIONS = frozenset({"trial.finish", "trial.abort", "trial.recover", "trial.update"})
PROGRAMME_ACTIONS = frozenset({"programme.assign", "programme.update", "programme.dose"})
_HASH_DOMAIN = b"balance-station patient identifier v1\x00"


def identifier_hash(identifier: str) -> str:
    """The hash that names a patient in erasure tombstones (hex SHA-256 of the case-folded
    identifier, domain-separated): identifiers are compared case-insensitively everywhere.

    >>> identifier_hash("P-001") == identifier_hash("p-001")
    True
    """
    return hashlib.sha256(_HASH_DOMAIN + identifier.strip().casefold().encode("utf-8")).hexdigest()


def _where(station: str | None) -> str:
    return f"station {station}" if station else "the clinic's hub"


def calibration_id(calibration_json: str) -> str:
    """A short, stable id of a calibration document (16 hex digits of the SHA-256 of its
    canonical JSON): two trials with the same id used the same calibration."""
    doc = json.loads(calibration_json)
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def patient_snapshot(row, fields: tuple[str, ...] | list[str]) -> dict:
    """The values of ``fields`` (and ``archived``) of a ``patients`` row, as the API shows them."""
    out = {}
    for key in fields:
        if key == "archived":
            out["archived"] = row["archived_at"] is not None
        elif key == "conditions":
            out["conditions"] = json.loads(row["conditions"])
        else:
            out[key] = row[key]
    return out


@dataclass(frozen=True)
class OfferedAgain:
    """What :meth:`Outbox.offer_again` queued: ``changes`` (how many), ``erasures`` (the station's
    ids of the erased patients whose erasure was queued again, in order, each with who erased them:
    ``station`` or ``hub``) and ``held_again`` (those not queued: the identifier is held here again).
    Ids only, never patient data (an audit entry's detail: :meth:`audit_detail`)."""

    changes: int
    erasures: tuple[tuple[int, str], ...] = ()
    held_again: tuple[int, ...] = ()

    def audit_detail(self) -> dict:
        """The audit entry's detail (station patient ids)."""
        return {"erased_here": [pid for pid, by in self.erasures if by == "station"],
                "erased_on_hub": [pid for pid, by in self.erasures if by == "hub"],
                "not_offered_identifier_held_again": list(self.held_again)}


class Outbox:
    """The queue of changes of one database and its station identity.

    Parameters
    ----------
    db : Database
    wall_clock : callable
        Unix time in s: each change's ``at``.
    """

    def __init__(self, db: Database, wall_clock: Callable[[], float] = time.time, key_file: KeyFile | None = None):
        self._db = db
        self._now = wall_clock
        self._local = threading.local()
        self.key_file = key_file
        """The clinic's erasure key (:mod:`station.store.erasure_key`), read at each erasure (the sync,
        maybe in another process, writes it); None: erasures kept by the plain hash."""
        self.station_id, self.role = self._ensure_identity()
        self._backfill_keys()

    # -- identity ---------------------------------------------------------------------------

    def _ensure_identity(self) -> tuple[str, str]:
        with self._db.read() as conn:
            row = conn.execute("SELECT station_id, role FROM sync_identity").fetchone()
        if row is not None:
            return row["station_id"], row["role"]
        with self._db.write() as conn:
            row = conn.execute("SELECT station_id, role FROM sync_identity").fetchone()
            if row is not None:
                return row["station_id"], row["role"]
            station_id = str(uuid.uuid4())
            now = utc_iso(self._now())
            conn.execute("INSERT INTO sync_identity (singleton, station_id, role, created_at) VALUES (1, ?, 'station', ?)",
                         (station_id, now))
            conn.execute("INSERT INTO sync_state (singleton) VALUES (1)")
            self._enqueue_existing(conn, now, station_id)
        return station_id, "station"

    def set_role(self, role: str) -> None:
        """Make this database a ``hub`` (changes are no longer queued: the hub is where they go)
        or a ``station``."""
        if role not in ("station", "hub"):
            raise ValueError("role must be 'station' or 'hub'")
        with self._db.write() as conn:
            conn.execute("UPDATE sync_identity SET role = ?", (role,))
            if role == "hub":
                conn.execute("DELETE FROM sync_outbox")
        self.role = role

    def _enqueue_existing(self, conn: sqlite3.Connection, now: str, station_id: str) -> None:
        """Queue what the database held before it had an outbox (its first sync sends it all),
        or again every record it holds (:meth:`offer_again`): patients
        whole with the time of their last change, the rest read when pushed. Records pulled from
        the hub are not sent back."""
        own = " WHERE NOT EXISTS (SELECT 1 FROM sync_pulled p WHERE p.entity = '{0}' AND p.local_id = {1}.id)"
        for row in conn.execute("SELECT * FROM patients ORDER BY id").fetchall():
            self._add(conn, "patient", row["id"], row["id"], "create",
                      patient_snapshot(row, PATIENT_SYNC_FIELDS + ("archived",)), at=row["updated_at"])
        for row in conn.execute(f"SELECT id, patient_id FROM sessions{own.format('session', 'sessions')}"
                                " ORDER BY id").fetchall():
            self._add(conn, "session", row["id"], row["patient_id"], "upsert", at=now)
        for row in conn.execute(
            "SELECT t.id, t.status, t.calibration, s.patient_id FROM trials t JOIN sessions s ON s.id = t.session_id"
            f"{own.format('trial', 't')} ORDER BY t.id"
        ).fetchall():
            # recorded on this database's plate before trials named their station and calibration
            conn.execute("UPDATE trials SET station_id = ?, calibration_id = ? WHERE id = ? AND station_id IS NULL",
                         (station_id, calibration_id(row["calibration"]), row["id"]))
            if row["status"] != "recording":
                self._add(conn, "trial", row["id"], row["patient_id"], "upsert", at=now)
        for row in conn.execute("SELECT id, patient_id FROM programme_assignments ORDER BY id").fetchall():
            self._add(conn, "programme", row["id"], row["patient_id"], "upsert", at=now)
        for row in conn.execute("SELECT id, patient_id FROM training_sessions ORDER BY id").fetchall():
            self._add(conn, "training", row["id"], row["patient_id"], "upsert", at=now)

    def offer_again(self, *, lost: bool = True) -> OfferedAgain:
        """Queue again, after the hub's database went back to an older backup
        (:mod:`station.store.hub_epoch`), the erasures applied here (:meth:`_erasures_again`) and
        then every record made here, when the hub ``lost`` what this station pushed since; the hub
        applies each as a change (a record it holds is merged or updated from this one, a trial's
        frames it holds are not sent again). When it holds every change of this station (not
        ``lost``), only the erasures made on the hub and applied here: one the hub made after its
        backup is lost from it all the same, while this station's own are on it."""
        with self._db.write() as conn:
            before = int(conn.execute("SELECT count(*) FROM sync_outbox").fetchone()[0])
            erasures, held_again = self._erasures_again(conn, ("station", "hub") if lost else ("hub",))
            if lost:
                self._enqueue_existing(conn, utc_iso(self._now()), self.station_id)
            changes = int(conn.execute("SELECT count(*) FROM sync_outbox").fetchone()[0]) - before
        return OfferedAgain(changes, erasures, held_again)

    def _erasures_again(self, conn, erased_by: tuple[str, ...]) -> tuple[tuple[tuple[int, str], ...], tuple[int, ...]]:
        """Queue again each erasure applied here (``sync_erasures``, kept by :meth:`_erased`) by
        ``erased_by``: made here (``station``), or made on the hub and taken here from its tombstone
        (``hub``), in the order they were applied, with their time: a hub restored from a backup
        taken before one holds that patient again, and would hand them to other stations. The hub
        erases a patient it holds under this station's id whose identifier's hash is the erasure's
        (:meth:`station.sync.hub.Hub._erase`: one this station sent or linked) and leaves a
        tombstone; one it does not hold (never sent, erased already, or made again at its start
        after a ``restore``) is left as it is.

        An erasure of an identifier held here again (a new patient given it, or the patient pulled
        back from the hub) is not: the hub would take the new patient for the erased one and its
        tombstone would erase them here. Nor is one still queued (made while the hub was down): it
        goes once. Returns the erasures queued (``(patient id, erased_by)``) and the patient ids of
        those not queued because their identifier is held again."""
        marks = ", ".join("?" * len(erased_by))
        rows = conn.execute(f"SELECT * FROM sync_erasures WHERE erased_by IN ({marks}) AND patient_id NOT IN"
                            " (SELECT local_id FROM sync_outbox WHERE entity = 'patient' AND op = 'erase')"
                            " ORDER BY erased_at, patient_id", erased_by).fetchall()
        key = self._key()
        plain = {r[0] for r in conn.execute("SELECT identifier_hash FROM sync_patient_keys")}
        keyed = {keyed_hash(key, h) for h in plain} if key is not None else set()
        held = {row["patient_id"] for row in rows if row["identifier_hash"] in (keyed if row["key_id"] else plain)}
        offered = [row for row in rows if row["patient_id"] not in held]
        for row in offered:
            rest = {"unsent_trials": json.loads(row["unsent_trials"])}
            payload = ({"identifier_key": row["identifier_hash"], "key_id": row["key_id"], **rest} if row["key_id"]
                       else {"identifier_hash": row["identifier_hash"], **rest})
            self._add(conn, "patient", row["patient_id"], None, "erase", payload, at=row["erased_at"])
        return (tuple((row["patient_id"], row["erased_by"]) for row in offered),
                tuple(row["patient_id"] for row in rows if row["patient_id"] in held))

    def _backfill_keys(self) -> None:
        with self._db.read() as conn:
            missing = conn.execute(
                "SELECT p.id, p.identifier FROM patients p LEFT JOIN sync_patient_keys k ON k.patient_id = p.id"
                " WHERE k.patient_id IS NULL"
            ).fetchall()
        if missing:
            with self._db.write() as conn:
                for row in missing:
                    self._set_key(conn, row["id"], row["identifier"])

    def now_iso(self) -> str:
        """The wall clock's time now, as the outbox stamps changes (ISO 8601 UTC)."""
        return utc_iso(self._now())

    # -- capture ----------------------------------------------------------------------------

    @contextmanager
    def muted(self) -> Iterator[None]:
        """Changes made by this thread inside the block are not queued (the sync applying what
        came from the hub must not send it back)."""
        previous = getattr(self._local, "muted", False)
        self._local.muted = True
        try:
            yield
        finally:
            self._local.muted = previous

    @property
    def _queueing(self) -> bool:
        return self.role == "station" and not getattr(self._local, "muted", False)

    def capture(self, conn: sqlite3.Connection, actor, action: str, *, patient_id=None, object=None,
                detail=None) -> None:
        """The audit log's hook: queue the change ``action`` made to ``object`` (in its transaction)."""
        kind, _, number = (object or "").partition(":")
        if not number.isdigit():
            return
        local_id = int(number)
        if not getattr(self._local, "muted", False) and kind in ("session", "trial"):
            self._refuse_pulled(conn, kind, local_id, action)
        if action == "patient.erase":
            self._erased(conn, local_id)
        elif action == "patient.create":
            row = conn.execute("SELECT * FROM patients WHERE id = ?", (local_id,)).fetchone()
            self._set_key(conn, local_id, row["identifier"])
            self._stamp_on_hub(conn, local_id, PATIENT_SYNC_FIELDS + ("archived",))
            if self._queueing:
                self._add(conn, "patient", local_id, local_id, "create",
                          patient_snapshot(row, PATIENT_SYNC_FIELDS + ("archived",)))
        elif action in ("patient.update", "patient.archive", "patient.unarchive"):
            row = conn.execute("SELECT * FROM patients WHERE id = ?", (local_id,)).fetchone()
            changed = ["archived"] if action != "patient.update" else list((detail or {}).get("changed", ()))
            if "identifier" in changed:
                self._set_key(conn, local_id, row["identifier"])
            self._stamp_on_hub(conn, local_id, changed)
            if self._queueing and changed:
                self._add(conn, "patient", local_id, local_id, "update", patient_snapshot(row, changed))
        elif kind == "session" and action in ("session.create", "session.update"):
            if self._queueing:
                self._add(conn, "session", local_id, patient_id, "upsert")
        elif kind == "trial" and (action == "trial.record" or action in TRIAL_END_ACTIONS):
            row = conn.execute("SELECT status, calibration, station_id FROM trials WHERE id = ?", (local_id,)).fetchone()
            if row is None:
                return
            if row["station_id"] is None and self.role == "station":  # recorded here (the hub keeps the station's)
                conn.execute("UPDATE trials SET station_id = ?, calibration_id = ? WHERE id = ?",
                             (self.station_id, calibration_id(row["calibration"]), local_id))
            if self._queueing and row["status"] != "recording":
                self._add(conn, "trial", local_id, patient_id, "upsert")
        elif kind == "programme" and action in PROGRAMME_ACTIONS:
            if not getattr(self._local, "muted", False):  # the hub stamps what it merges with the station's times
                programme_fields.stamp(conn, local_id, utc_iso(self._now()))
            if self._queueing:
                self._add(conn, "programme", local_id, patient_id, "upsert")
        elif kind == "training" and action == "training.record":
            if self._queueing:
                self._add(conn, "training", local_id, patient_id, "upsert")

    @staticmethod
    def _refuse_pulled(conn, kind: str, local_id: int, action: str) -> None:
        """Conflict (the change is rolled back) for a change of a session or trial pulled from the
        hub (:mod:`station.sync.pulled`), or a trial recorded into a pulled session: they were
        recorded at another station, which (or the hub) is where they change."""
        if action != "session.update" and action != "trial.record" and action not in TRIAL_END_ACTIONS:
            return  # reads, and a visit's creation (a pulled visit is created muted)
        row = conn.execute("SELECT station FROM sync_pulled WHERE entity = ? AND local_id = ?", (kind, local_id)).fetchone()
        if row is None and kind == "trial" and action == "trial.record":
            row = conn.execute("SELECT p.station FROM trials t JOIN sync_pulled p ON p.entity = 'session'"
                               " AND p.local_id = t.session_id WHERE t.id = ?", (local_id,)).fetchone()
            if row is not None:
                raise Conflict(f"this visit was recorded at {_where(row['station'])} and is read-only here; start a "
                               "new visit to record at this station")
        if row is not None:
            raise Conflict(f"this {'visit' if kind == 'session' else 'trial'} was recorded at {_where(row['station'])} "
                           "and is read-only here; change it there or on the clinic's hub")

    def _erased(self, conn: sqlite3.Connection, patient_id: int) -> None:
        key = conn.execute("SELECT identifier_hash FROM sync_patient_keys WHERE patient_id = ?",
                           (patient_id,)).fetchone()
        conn.execute("DELETE FROM sync_patient_keys WHERE patient_id = ?", (patient_id,))
        # trials queued but not yet on the hub may have frame parts there already: say which
        unsent = sorted({r[0] for r in conn.execute(
            "SELECT local_id FROM sync_outbox WHERE patient_id = ? AND entity = 'trial'", (patient_id,))})
        self._local.unsent_trials = unsent
        conn.execute("DELETE FROM sync_outbox WHERE patient_id = ?", (patient_id,))
        if key is None:
            return
        if self.role == "hub" and self.key_file is not None:  # its key or StoreError, never a tombstone stations cannot match
            clinic_key = hub_key(conn, self.key_file, utc_iso(self._now()))
        else:
            clinic_key = self._key()
        kept = key["identifier_hash"] if clinic_key is None else keyed_hash(clinic_key, key["identifier_hash"])
        kept_key_id = None if clinic_key is None else key_id(clinic_key)
        if self.role == "hub":
            # the stations' ids of the patient and their records stay mapped to 0, "erased": what a
            # station still sends about them is dropped, not refused (:mod:`station.sync.hub`)
            conn.execute("UPDATE hub_id_map SET hub_id = 0 WHERE patient_id = ?", (patient_id,))
            conn.execute("INSERT INTO hub_tombstones (identifier_hash, key_id, erased_at) VALUES (?, ?, ?)",
                         (kept, kept_key_id, utc_iso(self._now())))
        elif self.role == "station":
            now = utc_iso(self._now())
            if self._queueing:
                self._add(conn, "patient", patient_id, None, "erase",
                          erase_payload(clinic_key, key["identifier_hash"], {"unsent_trials": unsent}), at=now)
            # kept for a hub restored from an older backup, which loses it (:meth:`offer_again`); made
            # here, or the hub's applied here (muted: the sync takes the hub's tombstone, ids only)
            conn.execute("INSERT INTO sync_erasures (patient_id, identifier_hash, key_id, unsent_trials, erased_at,"
                         " erased_by) VALUES (?, ?, ?, ?, ?, ?)",
                         (patient_id, kept, kept_key_id, json.dumps(unsent), now, "station" if self._queueing else "hub"))

    def _key(self) -> str | None:
        """The clinic's erasure key, or None (none yet, or its file unreadable: the erasure is kept
        by the plain hash and re-keyed at the next sync that has the key, which says what is wrong)."""
        return None if self.key_file is None else self.key_file.read_or_none()

    def unsent_trials_of_last_erasure(self) -> list[int]:
        """The trials of the patient this thread erased last that were still queued (their frame
        parts may wait on the hub: the sync has them dropped)."""
        return list(getattr(self._local, "unsent_trials", []))

    def _stamp_on_hub(self, conn: sqlite3.Connection, patient_id: int, changed) -> None:
        """On the hub, a patient edited there (not by the sync, which stamps the change's own
        time) gets each changed field's time, for the last-writer-wins merge of :mod:`station.sync.hub`."""
        if self.role != "hub" or getattr(self._local, "muted", False):
            return
        now = utc_iso(self._now())
        for key in changed:
            conn.execute("DELETE FROM hub_patient_field_times WHERE patient_id = ? AND field = ?", (patient_id, key))
            conn.execute("INSERT INTO hub_patient_field_times (patient_id, field, changed_at) VALUES (?, ?, ?)",
                         (patient_id, key, now))

    def _set_key(self, conn: sqlite3.Connection, patient_id: int, identifier: str) -> None:
        conn.execute("DELETE FROM sync_patient_keys WHERE patient_id = ?", (patient_id,))
        conn.execute("INSERT INTO sync_patient_keys (patient_id, identifier_hash) VALUES (?, ?)",
                     (patient_id, identifier_hash(identifier)))

    def _add(self, conn, entity: str, local_id: int, patient_id: int | None, op: str, payload: dict | None = None,
             *, at: str | None = None) -> None:
        conn.execute(
            "INSERT INTO sync_outbox (entity, local_id, patient_id, op, at, payload) VALUES (?, ?, ?, ?, ?, ?)",
            (entity, local_id, patient_id, op, at or utc_iso(self._now()), json.dumps(payload or {})),
        )

    def link(self, patient_id: int, identifier: str) -> None:
        """Queue the news that local patient ``patient_id`` is the hub's ``identifier`` (pulled)."""
        with self._db.write() as conn:
            self._add(conn, "patient", patient_id, patient_id, "link", {"identifier": identifier})

    # -- the queue --------------------------------------------------------------------------

    def pending(self, limit: int = 100, after_seq: int = 0) -> list[dict]:
        """The oldest queued changes (``seq``, ``entity``, ``local_id``, ``patient_id``, ``op``,
        ``at``, ``payload``), in order."""
        with self._db.read() as conn:
            rows = conn.execute("SELECT * FROM sync_outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                                (after_seq, limit)).fetchall()
        return [{"seq": r["seq"], "entity": r["entity"], "local_id": r["local_id"], "patient_id": r["patient_id"],
                 "op": r["op"], "at": r["at"], "payload": json.loads(r["payload"])} for r in rows]

    def acknowledge(self, through_seq: int, *, pushed: int = 0, hub_holds: int | None = None) -> None:
        """Drop the changes up to ``through_seq`` (the hub has them); count ``pushed``; remember
        ``hub_holds``, the last change the hub said it applied (:meth:`acknowledged_through`)."""
        with self._db.write() as conn:
            conn.execute("DELETE FROM sync_outbox WHERE seq <= ?", (through_seq,))
            conn.execute("UPDATE sync_state SET pushed_total = pushed_total + ?", (pushed,))
            if hub_holds is not None:
                self._set_setting(conn, ACKNOWLEDGED_SETTING,
                                  max(hub_holds, self._setting(conn, ACKNOWLEDGED_SETTING) or 0))

    def set_acknowledged_through(self, seq: int) -> None:
        with self._db.write() as conn:
            self._set_setting(conn, ACKNOWLEDGED_SETTING, int(seq))

    def acknowledged_through(self) -> int | None:
        """The last change number the hub acknowledged holding (None: not known, a station before
        it kept it): a hub whose last applied change of this station is below it lost them."""
        with self._db.read() as conn:
            return self._setting(conn, ACKNOWLEDGED_SETTING)

    def highest_seq(self) -> int:
        """The highest sequence number this station ever gave a change (SQLite's AUTOINCREMENT
        counter of the outbox; stations keep their store in SQLite)."""
        with self._db.read() as conn:
            try:
                row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'sync_outbox'").fetchone()
            except Exception:  # not SQLite: the rows still queued are what is known
                row = None
            pending = conn.execute("SELECT coalesce(max(seq), 0) FROM sync_outbox").fetchone()[0]
        return max(int(pending), int(row[0]) if row is not None else 0)

    def length(self) -> int:
        """How many changes wait to be pushed."""
        with self._db.read() as conn:
            return int(conn.execute("SELECT count(*) FROM sync_outbox").fetchone()[0])

    # -- sync state -------------------------------------------------------------------------

    def state(self) -> dict:
        """``queue_length``, ``last_attempt_at``, ``last_sync_at``, ``last_error``,
        ``pushed_total``, ``tombstone_cursor``, ``station_id``."""
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM sync_state").fetchone()
            queued = int(conn.execute("SELECT count(*) FROM sync_outbox").fetchone()[0])
        return {"station_id": self.station_id, "queue_length": queued, "last_attempt_at": row["last_attempt_at"],
                "last_sync_at": row["last_sync_at"], "last_error": row["last_error"],
                "pushed_total": row["pushed_total"], "tombstone_cursor": row["tombstone_cursor"]}

    def record_attempt(self, error: str | None) -> None:
        """Note a sync attempt: successful (``error`` None) or failed with the one-line reason."""
        now = utc_iso(self._now())
        with self._db.write() as conn:
            if error is None:
                conn.execute("UPDATE sync_state SET last_attempt_at = ?, last_sync_at = ?, last_error = NULL", (now, now))
            else:
                conn.execute("UPDATE sync_state SET last_attempt_at = ?, last_error = ?", (now, error[:LAST_ERROR_CHARS]))

    def set_tombstone_cursor(self, cursor: int) -> None:
        with self._db.write() as conn:
            conn.execute("UPDATE sync_state SET tombstone_cursor = ?", (cursor,))

    def judgement_cursor(self) -> int:
        """The hub audit entry after which this station asks for judgements of the trials it
        pulled (:meth:`station.sync.hub.Hub.history_updates`); 0 at first. Kept in the
        ``settings`` table (:data:`JUDGEMENT_CURSOR_SETTING`, never a dashboard setting)."""
        with self._db.read() as conn:
            return self._setting(conn, JUDGEMENT_CURSOR_SETTING) or 0

    def set_judgement_cursor(self, cursor: int) -> None:
        with self._db.write() as conn:
            self._set_setting(conn, JUDGEMENT_CURSOR_SETTING, int(cursor))

    def hub_epoch(self) -> str | None:
        """The id of the hub database's epoch this station last synced with (None: none yet)."""
        with self._db.read() as conn:
            row = conn.execute("SELECT value FROM settings WHERE key = ?", (HUB_EPOCH_SETTING,)).fetchone()
        value = json.loads(row["value"]) if row is not None else None
        return value if isinstance(value, str) else None

    def set_hub_epoch(self, epoch_id: str) -> None:
        with self._db.write() as conn:
            self._set_setting(conn, HUB_EPOCH_SETTING, epoch_id)

    @staticmethod
    def _setting(conn, key: str) -> int | None:
        """A whole number >= 0 the sync keeps in ``settings`` (None: not there, or not such a number)."""
        row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        value = json.loads(row["value"]) if row is not None else None
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None

    def _set_setting(self, conn, key: str, value) -> None:
        conn.execute("INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, 'sync')"
                     " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                     (key, json.dumps(value), utc_iso(self._now())))

