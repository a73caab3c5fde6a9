"""The hub's side of the sync: station tokens, applying pushed changes, frame uploads, tombstones.

The hub is a :class:`~station.store.store.Store` like a station's (same schema, same pages), whose
``sync_identity.role`` is ``hub``. Stations push their outbox (:mod:`station.store.outbox`) here:

* **Tokens.** :meth:`Hub.add_station` issues a random token once (only its SHA-256 is stored: a
  token is 256 random bits, so a fast hash is enough, and checking it costs no scrypt);
  :meth:`Hub.revoke_station` ends it. The first push binds the token to the pushing station's id,
  so a copied token is refused from another data directory; a station id already bound to another
  station (its token revoked or not) cannot be bound again, so a new token cannot pass for another
  station. A revoked station added again under its name gets a new token for the same station
  (its records, its applied changes, its station id): :meth:`Hub.add_station`.
* **Idempotent, in order.** Each station's changes carry its sequence; the hub applies a change
  only if its ``seq`` is above the last one applied for that station (each change, the new last
  ``seq`` and the change's time in one transaction): a repeated push (after a crash or a lost
  answer) changes nothing. ``seq`` may skip numbers (a station drops queued changes of a patient it
  erased). A "repeat" whose time differs from the change applied under its number is refused: the
  station's database went back in time (restored from a backup) and reuses numbers and ids.
* **Identity across stations.** A station's records are mapped to the hub's own ids
  (``hub_id_map``); a patient is recognised by identifier (case-insensitive), so the same patient
  measured at two stations is one hub patient. A station's patient the hub already holds (another
  station's, or the hub's) joins them without changing their fields, and counts as a lookup by
  identifier; new patients per station are bounded (:class:`PushLimits`, :meth:`Hub._patient`):
  a stolen token's push of guessed identifiers finds no more than its lookups would.
* **Last writer wins per field.** Each patient field keeps the time of the change that set it
  (``hub_patient_field_times``); an incoming field is applied only if its change is at least as
  new. Whenever values differ, both versions (what came and what the hub had) are kept in
  ``hub_patient_versions`` and the audit entry (``patient.update`` by ``station:NAME``) names the
  fields applied and kept, and that version's id: the audit log itself never holds patient data.
* **Frames** arrive in parts before their trial (:meth:`Hub.store_part`, :meth:`Hub.parts`); the
  trial is created with all its frames in one transaction, or refused until all parts are there.
* **Erasure.** A patient erased on the hub (or pushed as erased by a station) leaves a tombstone:
  the hash of their identifier (:func:`station.store.outbox.identifier_hash`) keyed with the
  clinic's key (HMAC-SHA256, :mod:`station.store.erasure_key`: the key is made once on the hub, in
  a file of its data directory, never in the database or its backups, and handed to stations
  holding a token), and when. Stations fetch tombstones on every sync and erase their copies, and
  name their own erasures keyed the same way; so neither a tombstone list nor a copy of the hub's
  or a station's database can be checked against guessed identifiers without the key. A station
  of sync protocol 2 still names its erasures by the plain hash: they are taken (keyed here) and
  its stations-page row says to update it. The stations' ids of an erased patient
  and of their records stay mapped to :data:`ERASED`: whatever a station still sends about them
  (made before it learnt of the erasure) is dropped, with any frame parts uploaded for it. A
  patient the hub does not hold whose identifier was erased is the erased one only if the station
  had not yet taken that tombstone when it pushed (each push names the last tombstone it applied):
  the identifier given again to a new patient after the station took the erasure makes a new
  patient, whatever the station's clock says. A station's erasure reaches the hub's record only for
  a patient that station registered on the hub (its push created them there); one of a patient it
  linked or pulled (registered elsewhere: a stolen token finds one by identifier), or of one it
  registered whom the hub holds under another identifier, is taken without erasing them, audited
  and answered to the station (:meth:`Hub._erase`, :mod:`station.sync.unmatched`), never refused
  at every push: a hub administrator erases such a patient on the hub.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from datetime import date
from typing import Callable

import numpy as np

from station.acquire.frame import FRAME_DTYPE
from station.programmes.adherence import adherence, is_partial
from station.store import change_seq, erasure_key, fields, hub_epoch
from station.store.audit import Actor
from station.store.db import Conflict, NotFound, ValidationError
from station.store.outbox import identifier_hash, patient_snapshot
from station.store.programme_fields import flatten as flatten_programme
from station.store.programme_fields import stamp as stamp_programme
from station.store.timefmt import parse_utc_iso, utc_iso
from station.store.training import GAMES, MAX_DOCUMENT_BYTES as TRAINING_DOCUMENT_BYTES
from station.sync import hub_audit, hub_programmes, hub_restore
from station.sync.records import (PART_FRAMES, SESSION_COLUMNS, TRAINING_COLUMNS, TRIAL_COLUMNS, clinic_key_id,
                                   tombstone_key)

ENTITY_OPS = {
    "patient": ("create", "update", "erase", "link"),
    "session": ("upsert",),
    "trial": ("upsert",),
    "programme": ("upsert",),
    "training": ("upsert",),
}
MAX_CHANGES_PER_PUSH = 500
PATIENT_UPDATES_PAGE = 500
"""Patients per answer of ``GET /api/hub/patient-updates``: a station asks again from the answer's
``until`` while a page is full."""
PROGRAMME_UPDATES_PAGE = 2000
"""Programme fields per answer of ``GET /api/hub/programme-updates`` (about 200 bytes each: about
0.4 MB); a station asks again from the answer's ``next`` while a page is full."""
PATIENT_SYNC_FIELDS = ("identifier", "birth_year", "sex", "height_cm", "weight_kg", "conditions", "notes", "archived")
"""A patient's fields as the hub sends them to stations (and takes them from them)."""
_STATION_PATIENTS = ("SELECT p.*, m.local_id FROM hub_id_map m JOIN patients p ON p.id = m.hub_id"
                     " WHERE m.station = ? AND m.entity = 'patient' AND m.hub_id != 0")
MAX_PART_BYTES = PART_FRAMES * FRAME_DTYPE.itemsize
MAX_PENDING_PARTS = 10_000
"""Frame parts one station may keep on the hub for trials not pushed yet (1.26 GB): a station
uploads the parts of at most ``BATCH_TRIALS`` (10) trials before pushing them, 800 parts for the
longest (a 120-min treadmill walk at 100 Hz); beyond that the parts are refused (``409``) so that
one station (or its stolen token) cannot fill the hub's disk with trials that never come."""
TRIAL_UPDATABLE = ("status", "status_reason", "ended_at", "metrics", "valid", "validity_reason", "notes",
                   "judged_by", "judged_at", "station_valid", "station_validity_reason")
HISTORY_PAGE_BYTES = 1024 * 1024
"""A page of a patient's history pulled by a station holds sessions and trials up to about this much
JSON (:meth:`Hub.history_for_station`, :meth:`Hub.history_updates`; at least one trial, which is
at most about 0.35 MB: metrics 256 kB, calibration 64 kB)."""
HISTORY_PAGE_SESSIONS = 100
HISTORY_ANSWER_BYTES = 4 * 1024 * 1024
"""The largest answer a station takes (:data:`station.sync.client.MAX_ANSWER_BYTES`): a station
before history in parts is refused a session larger than this (:meth:`Hub.history_for_station`)."""
PROTOCOL_1_MARK = "(sync protocol 1)"
"""In each refusal of a request only a station of sync protocol 1 makes (:meth:`Hub.note_refusal`)."""
JUDGEMENT_PAGE = 200
"""The hub's audit entries of trial changes looked at in one answer of
:meth:`Hub.history_updates` for judgements (so at most this many trials come back)."""
STATION_NAME_CHARS = 64
TOKEN_PREFIX = "bst_"
"""Station tokens start with this (recognisable in a file or a leak; never taken for an option)."""
ERASED = 0
"""The hub id a station's record maps to once its patient was erased on the hub."""
NO_PATIENT = "the hub has no patient by that identifier"
"""A lookup's answer when the hub holds nobody by the identifier asked (it never repeats it: the
words reach the station's errors and the hub's stations page)."""
NOT_REGISTERED_HERE = "not_registered_here"
"""Why the hub took a station's erasure without erasing: another station or the hub registered the
patient, this one linked or pulled them (:meth:`Hub._erase`)."""
OTHER_IDENTIFIER = "other_identifier"
"""Why the hub took a station's erasure without erasing: the station registered the patient, and the
hub holds them under another identifier than the erasure names (:meth:`Hub._erase`)."""
RESTORE_ACTOR = Actor(None, "restore")
"""Who erases again, at the hub's start, a patient whose erasure a restore undid."""
ERASURES_KEYED = "erasures_keyed"
"""In a tombstones answer (true): this hub takes erasures named keyed (``identifier_key``,
:mod:`station.store.erasure_key`); a station keys its own with the hub's key only then."""
UNKEYED_ERASURE_NOTE = ("this station sends erasures named by the plain hash of the identifier (sync protocol 2), which "
                        "a copy of its database can be searched for by trying identifiers: update its software; its "
                        "erasures are taken")


class LimitReached(Conflict):
    """A change of a push beyond a limit of the hub for its station (:class:`PushLimits`): the push
    stops there, as at any refused change (those before it stay applied), and the station sends it
    again after ``retry_after_s`` (``web.hub_api`` answers ``429`` with ``Retry-After``)."""

    def __init__(self, message: str, retry_after_s: int):
        self.retry_after_s = retry_after_s
        super().__init__(message)


@dataclass(frozen=True)
class PushLimits:
    """What a push's patients may do for one station token, as the hub's web layer counts it
    (:mod:`web.hub_api`, in the same windows as the lookups by identifier). Each returns 0 when
    the change may go (and counts it), else whole seconds to wait.

    ``found``: a change of a patient this station never had (under none of its ids) lands on a
    patient the hub holds by that identifier: as much a lookup that found as ``POST /api/hub/patients``
    (the station is then given the patient's fields and history), or a patient of this station changes
    its identifier (:meth:`Hub._count_rename`). ``missed``: a link names an identifier the hub does not
    hold (counted, never refused here: the change is refused anyway), or a rename takes one nobody
    holds. ``created``: a new patient."""

    found: Callable[[], int]
    missed: Callable[[], None]
    created: Callable[[], int]


UNLIMITED = PushLimits(lambda: 0, lambda: None, lambda: 0)
"""For the hub's own callers (tests, a command): nothing counted."""


OLD_LOOKUP_SETTING = "hub_station_old_lookup"
"""``settings`` row per station (``:<station row id>``): the time of its last lookup by the old GET
routes (:meth:`Hub.note_lookup`)."""
OLD_LOOKUP_WORDS = "uses the old lookup (identifier in URLs): update this station"
"""What ``hub stations list`` and the hub's Stations page say of such a station."""
GET_LOOKUPS_END = "2027-06-30"
"""The GET lookup routes are planned to be removed in the first release after this day
(docs/api.md): a plan, not yet done."""


def wait_words(seconds: int) -> str:
    """How long to wait, as a person reads it.

    >>> wait_words(42), wait_words(60), wait_words(61), wait_words(900)
    ('42 s', '1 min', '2 min', '15 min')
    """
    return f"{seconds} s" if seconds < 60 else f"{-(-seconds // 60)} min"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StationRef:
    """An authenticated station: its row id on the hub, name, and bound station id (or None)."""

    id: int
    name: str
    station_id: str | None

    @property
    def actor(self) -> Actor:
        return Actor(None, f"station:{self.name}")


class Hub:
    """The hub's sync service over its store (makes the store a hub: nothing is queued there)."""

    def __init__(self, store, wall_clock: Callable[[], float] = time.time):
        self.store = store
        self._db = store.db
        self._now = wall_clock
        if store.outbox.role != "hub":
            store.outbox.set_role("hub")
        self._clinic_key: str | None = None  # taken at first use: the service's start (web.hub_api.init_hub)
        with self._db.write() as conn:  # a restore needs the hub stopped: the epoch holds for the process's life
            self.epoch = hub_epoch.ensure(conn, utc_iso(self._now()))
        self._redo_erasures()
        self._merge_programme_documents()

    def _redo_erasures(self) -> None:
        """Erase again the patients whose erasure a restore from an older backup undid
        (:func:`station.store.hub_epoch.erasures_to_redo`), each leaving a new tombstone for the
        stations; audited by ``restore``. One whose trial is being recorded waits for the next start."""
        with self._db.read() as conn:
            hashes = hub_epoch.erasures_to_redo(conn)
        waiting = []
        if hashes:
            with self._db.read() as conn:
                held = {}
                for row in conn.execute("SELECT p.id, p.identifier, k.identifier_hash FROM sync_patient_keys k"
                                        " JOIN patients p ON p.id = k.patient_id").fetchall():
                    held[row["identifier_hash"]] = held[tombstone_key(self.clinic_key, row["identifier_hash"])] = row
        for identifier_hash_ in hashes:  # keyed as the tombstones are (plain from a hub before keyed erasures)
            row = held.get(identifier_hash_)
            if row is None:
                continue
            try:
                self.store.patients.erase(row["id"], row["identifier"], actor=RESTORE_ACTOR)
            except Conflict:
                waiting.append(identifier_hash_)
        if hashes:
            with self._db.write() as conn:
                hub_epoch.forget_erasures_to_redo(conn)
                if waiting:
                    conn.execute("INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, 'restore')",
                                 (hub_epoch.REDO_SETTING, json.dumps(waiting), utc_iso(self._now())))

    @property
    def clinic_key(self) -> str:
        """The clinic's erasure key (:func:`station.store.erasure_key.hub_key`: made at the hub's first
        start, its tombstones kept unkeyed re-keyed with it); StoreError saying what to do if its file
        is missing, unreadable or not this database's. Taken at first use, so that commands that
        only manage stations' tokens neither need it nor make one in their data directory."""
        if self._clinic_key is None:
            with self._db.write() as conn:
                self._clinic_key = erasure_key.hub_key(conn, self.store.outbox.key_file, utc_iso(self._now()))
        return self._clinic_key

    def clinic_key_for_station(self) -> dict:
        """``{"key", "key_id"}``: the clinic's tombstone key, for a station holding a token."""
        return {"key": self.clinic_key, "key_id": clinic_key_id(self.clinic_key)}

    def _merge_programme_documents(self) -> None:
        """Programmes that hubs before migration 9 kept as the stations' documents
        (``hub_programmes``) merged into the hub's programme tables, once; one that cannot be
        (its patient or visits unknown) stays a document until its station pushes it again."""
        with self._db.read() as conn:
            rows = conn.execute("SELECT h.station, h.local_id, h.doc, h.updated_at, s.name, s.station_id"
                                " FROM hub_programmes h JOIN hub_stations s ON s.id = h.station"
                                " ORDER BY h.updated_at").fetchall()
        for row in rows:
            station = StationRef(row["station"], row["name"], row["station_id"])
            try:
                with self._db.write() as conn, self.store.outbox.muted():
                    self._programme(conn, station, row["local_id"], row["updated_at"], {"doc": json.loads(row["doc"])})
            except (ValidationError, Conflict, NotFound, ValueError):
                continue

    # -- stations ---------------------------------------------------------------------------

    def add_station(self, name: str, *, actor: Actor | None = None) -> str:
        """Register a station; return its token (shown once; only its hash is kept).

        A station named ``name`` whose token was revoked (:meth:`revoke_station`) is given this new
        token and goes on as itself: the same row, so its records on the hub stay its own (its id
        map), the changes the hub applied stay applied (its queue drains from there), and the
        token stays bound to the data directory that synced under the name (its station id): the
        name given again by an administrator after the revocation is what binds the new token to
        the old identity. The revoked token's hash is gone, so that token stays refused. Audited
        ``sync.station_add`` or ``sync.station_renew`` (by ``actor``, the command line's user by
        default), naming the station, never a token. Conflict while the name holds a token in use."""
        try:
            name = fields.text(name, max_chars=STATION_NAME_CHARS, required=True)
        except ValueError as exc:
            raise ValidationError({"name": str(exc)}) from None
        actor = actor or Actor.command_line()
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)  # never starts with "-" (an option to a command line)
        with self._db.write() as conn:
            row = conn.execute("SELECT id, revoked_at, station_id FROM hub_stations WHERE name = ?", (name,)).fetchone()
            if row is not None and row["revoked_at"] is None:
                raise Conflict(f"a station named {name!r} exists and its token is in use; to give it a new token revoke "
                               f"the old one first (`balance-station hub stations revoke {name}`), or choose another name")
            if row is None:
                cur = conn.execute("INSERT INTO hub_stations (name, token_hash, created_at) VALUES (?, ?, ?)",
                                   (name, token_hash(token), utc_iso(self._now())))
                self.store.audit.record(actor, "sync.station_add", object=f"station:{cur.lastrowid}",
                                        detail={"station": name})
                return token
            conn.execute("UPDATE hub_stations SET token_hash = ?, revoked_at = NULL, last_error = NULL WHERE id = ?",
                         (token_hash(token), row["id"]))
            self.store.audit.record(actor, "sync.station_renew", object=f"station:{row['id']}",
                                    detail={"station": name, "station_id": row["station_id"],
                                            "revoked_at": row["revoked_at"]})
        return token

    def revoke_station(self, name: str, *, actor: Actor | None = None) -> int:
        """End a station's token (its pushes are refused from now on; what it sent stays), and
        delete the frame parts it uploaded for trials it never pushed (those trials can no longer
        come under this token: up to :data:`MAX_PENDING_PARTS`, 1.26 GB, that a stolen token left);
        returns how many parts were deleted, and its restore notice waiting, if any (it came with
        the token: :mod:`.hub_restore`). Audited ``sync.station_revoke``. The station may be
        given a new token under the same name (:meth:`add_station`)."""
        with self._db.write() as conn:
            row = conn.execute("SELECT id, revoked_at FROM hub_stations WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise NotFound(f"no station named {name!r}; `hub stations list` lists them")
            dropped = conn.execute("DELETE FROM hub_uploads WHERE station = ?", (row["id"],)).rowcount
            hub_restore.drop_pending(conn, row["id"], utc_iso(self._now()))  # it came with the revoked token
            if row["revoked_at"] is None:
                conn.execute("UPDATE hub_stations SET revoked_at = ? WHERE name = ?", (utc_iso(self._now()), name))
                self.store.audit.record(actor or Actor.command_line(), "sync.station_revoke",
                                        object=f"station:{row['id']}", detail={"station": name, "parts_deleted": dropped})
            return dropped

    def stations(self) -> list[dict]:
        """Every station: ``name``, ``station_id``, ``created_at``, ``revoked_at``, ``last_sync_at``,
        ``queue_length`` (as the station last reported it), ``last_seq``, ``changes_applied``,
        ``last_error``, ``restore_pending`` (its restore notice waiting for an administrator:
        ``{"id", "seq", "queued_from", "ids", "received_at"}``, or None: :mod:`.hub_restore`),
        ``old_lookup_at`` (when its last lookup of a patient used the old GET routes, the identifier
        in the URL: it needs updating; None: its last lookup was by POST, or it made none:
        :meth:`note_lookup`)."""
        with self._db.read() as conn:
            rows = conn.execute("SELECT * FROM hub_stations ORDER BY name").fetchall()
            pending = {r["id"]: hub_restore.pending_of(conn, r["id"]) for r in rows}
            old_lookup = {key.partition(":")[2]: json.loads(value) for key, value in conn.execute(
                "SELECT key, value FROM settings WHERE key LIKE ?", (OLD_LOOKUP_SETTING + ":%",)).fetchall()}
        keys = ("name", "station_id", "created_at", "revoked_at", "last_sync_at", "queue_length", "last_seq",
                "changes_applied", "last_error")
        return [{**{k: r[k] for k in keys}, "restore_pending": pending[r["id"]],
                 "old_lookup_at": old_lookup.get(str(r["id"]))} for r in rows]

    def note_lookup(self, station: StationRef, *, in_url: bool) -> None:
        """A lookup of a patient by identifier from ``station``: ``in_url``, by the old GET routes
        (the identifier in the URL, which proxies' logs keep: a station from before lookups by POST),
        remembered with its time (:data:`OLD_LOOKUP_SETTING`: :meth:`stations` and the hub's Stations
        page say "update this station"); else, forgotten (the station was updated)."""
        key = f"{OLD_LOOKUP_SETTING}:{station.id}"
        with self._db.read() as conn:
            known = conn.execute("SELECT 1 FROM settings WHERE key = ?", (key,)).fetchone() is not None
        if not in_url and not known:
            return
        with self._db.write() as conn:
            conn.execute("DELETE FROM settings WHERE key = ?", (key,))
            if in_url:
                now = utc_iso(self._now())
                conn.execute("INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, 'hub')",
                             (key, json.dumps(now), now))

    def authenticate(self, token: str | None) -> StationRef | None:
        """The station holding ``token``, or None (unknown or revoked)."""
        if not token or len(token) > 200:
            return None
        with self._db.read() as conn:
            row = conn.execute("SELECT id, name, station_id FROM hub_stations WHERE token_hash = ? AND revoked_at IS NULL",
                               (token_hash(token),)).fetchone()
        return None if row is None else StationRef(row["id"], row["name"], row["station_id"])

    def station_named(self, name: str) -> StationRef:
        """The station registered as ``name`` (revoked or not); NotFound otherwise."""
        with self._db.read() as conn:
            row = conn.execute("SELECT id, name, station_id FROM hub_stations WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"no station named {name!r}; `hub stations list` lists them")
        return StationRef(row["id"], row["name"], row["station_id"])

    def _bind(self, station: StationRef, station_id: object) -> None:
        """Bind a token's first push to the pushing station's id, or refuse (Conflict) a station id
        that is another station's: a copied token pushing from another data directory, or a new
        token under another name claiming a station id already registered, its token revoked or
        not (a station whose token was revoked goes on under its own name: :meth:`add_station`)."""
        if not isinstance(station_id, str) or not 8 <= len(station_id) <= 64:
            raise ValidationError({"station_id": "must be the station's id (a UUID)"})
        if station.station_id is None:
            with self._db.write() as conn:
                taken = conn.execute("SELECT name, revoked_at FROM hub_stations WHERE station_id = ? AND id != ?"
                                     " ORDER BY revoked_at IS NULL DESC LIMIT 1", (station_id, station.id)).fetchone()
                if taken is not None and taken["revoked_at"] is None:  # the health page and the audit would name the wrong station
                    raise Conflict(f"station id {station_id} is already registered with another token; issue a new "
                                   "token with hub stations add")
                if taken is not None:  # its records, its numbers: under this name they would come again or be refused
                    raise Conflict(f"station id {station_id} is station {taken['name']!r} on the hub, whose token was "
                                   f"revoked; give it a new token under its own name (`balance-station hub stations add "
                                   f"{taken['name']}`) so that it goes on with its records, and revoke this one")
                conn.execute("UPDATE hub_stations SET station_id = ? WHERE id = ? AND station_id IS NULL",
                             (station_id, station.id))
                bound = conn.execute("SELECT station_id FROM hub_stations WHERE id = ?", (station.id,)).fetchone()[0]
        else:
            bound = station.station_id
        if bound != station_id:
            raise Conflict(f"this token belongs to station {station.name!r} with another data directory; "
                           "issue this station its own token with `balance-station hub stations add NEW-NAME`")

    # -- push -------------------------------------------------------------------------------

    def push(self, station: StationRef, body: object, limits: PushLimits = UNLIMITED) -> dict:
        """Apply a push ``{"station_id", "queue_length", "last_error", "tombstones_through",
        "restores", "changes": [...]}`` in order (``tombstones_through``: the last hub tombstone the station
        had applied when it pushed; stations before it send none: :meth:`_erased_before`;
        ``restores``: the ids of the restores the station sent, which must hold the one the hub
        last confirmed, else Conflict and nothing applied: :func:`.hub_restore.check_known`).

        Returns ``{"applied_through", "applied", "duplicates", "unmatched_erasures"}``. A change
        that cannot be applied stops the push there (those before it stay applied) with its error,
        which the hub's health page shows for the station; a change beyond ``limits`` (a patient
        this station never had found by identifier, a new patient: :class:`PushLimits`) is refused
        so, as :class:`LimitReached`. An erasure of a patient this station holds that the hub does
        not erase (another station or the hub registered them, or the hub holds them under another
        identifier now) is taken without erasing anyone (:meth:`_erase`): ``unmatched_erasures``
        lists them, ``[{"seq", "hub_patient_id", "why"}]`` (``why``: :data:`NOT_REGISTERED_HERE` or
        :data:`OTHER_IDENTIFIER`).
        """
        if not isinstance(body, dict):
            raise ValidationError({"body": "must be a JSON object"})
        self._bind(station, body.get("station_id"))
        with self._db.read() as conn:  # its restores must hold the one the hub confirmed (a forged one: refused)
            hub_restore.check_known(conn, station, body.get("restores"))
        changes = body.get("changes")
        if not isinstance(changes, list) or len(changes) > MAX_CHANGES_PER_PUSH:
            raise ValidationError({"changes": f"must be a list of at most {MAX_CHANGES_PER_PUSH} changes"})
        queue_length = body.get("queue_length")
        queue_length = queue_length if isinstance(queue_length, int) and queue_length >= 0 else None
        reported = body.get("last_error")
        reported = reported[:300] if isinstance(reported, str) else None
        tombstones_through = None if body.get("tombstones_through") is None else _int(body, "tombstones_through")
        applied = duplicates = 0
        unmatched: list[dict] = []
        try:
            for change in changes:
                if self._apply(station, change, tombstones_through, unmatched, limits):
                    applied += 1
                else:
                    duplicates += 1
        except (ValidationError, Conflict, NotFound) as exc:
            self._note(station, queue_length, f"change refused: {exc}")
            raise
        if any(isinstance(c, dict) and c.get("op") == "erase" and isinstance(c.get("payload"), dict)
               and "identifier_hash" in c["payload"] for c in changes):  # taken, and said on /hub/stations
            reported = f"{reported}; {UNKEYED_ERASURE_NOTE}" if reported else UNKEYED_ERASURE_NOTE
        self._note(station, queue_length, reported)
        return {"applied_through": self._last_seq(station), "applied": applied, "duplicates": duplicates,
                "unmatched_erasures": unmatched}

    def station_restored(self, station: StationRef, body: object) -> dict:
        """A station restored from its own backup tells the hub (:mod:`station.sync.station_restore`):
        ``{"station_id", "restored": {"id", "seq", "queued_from", "ids": {entity: highest id}}}``,
        the backup's highest change number, its first queued change (null: none) and its highest
        record ids (:mod:`station.store.restore_marks`). Held until a hub administrator confirms it
        (:meth:`confirm_restore`; Conflict meanwhile, saying so); a confirmed mark answers
        ``{"last_seq", "forgotten"}`` (:func:`.hub_restore.notice`)."""
        return hub_restore.notice(self, station, body)

    def confirm_restore(self, name: str, *, actor: Actor | None = None, mark: str | None = None) -> dict:
        """A hub administrator confirms station ``name``'s waiting restore notice: the hub forgets
        which of its changes and ids above the mark it applied (the records stay on the hub) and
        takes its changes from there (:func:`.hub_restore.confirm`); audited by ``actor`` (the
        command line's user by default)."""
        return hub_restore.confirm(self, name, actor or Actor.command_line(), mark)

    def withdraw_restore(self, name: str, *, actor: Actor | None = None, mark: str | None = None) -> dict:
        """A hub administrator withdraws the latest confirmed restore of station ``name`` (one the
        station never sent: its token was stolen): what the confirmation made the hub forget is put
        back (:func:`.hub_restore.withdraw`); audited by ``actor``. The caller gives the station a
        new token (:meth:`revoke_station`, :meth:`add_station`)."""
        return hub_restore.withdraw(self, name, actor or Actor.command_line(), mark)

    def confirmed_restore(self, station: StationRef) -> str | None:
        """The id of the restore of ``station`` the hub last confirmed (and not withdrew), which it
        names in its answers to the station (:func:`.hub_restore.confirmed`); None if none."""
        with self._db.read() as conn:
            return hub_restore.confirmed(conn, station.id)

    def audit_last(self, station: StationRef) -> dict:
        """``{"last": id, "actions": [...]}``: the last of the station's own audit entries the hub
        holds, and the audit actions it knows (:func:`.hub_audit.last_answer`)."""
        with self._db.read() as conn:
            return hub_audit.last_answer(conn, station.id)

    def push_audit(self, station: StationRef, body: object) -> dict:
        """Append a station's audit entries ``{"station_id", "entries": [...]}`` (:mod:`.hub_audit`);
        ``{"last", "added"}``."""
        if not isinstance(body, dict):
            raise ValidationError({"body": "must be a JSON object"})
        self._bind(station, body.get("station_id"))
        entries = hub_audit.check_entries(body.get("entries"))
        with self._db.write() as conn:
            added = hub_audit.append(conn, station.id, station.name, entries)
            last = hub_audit.last_held(conn, station.id)
        return {"last": last, "added": added}

    def check_in(self, station: StationRef, queue_length: int, *, current_protocol: bool = False) -> None:
        """A station's visit without changes to push: its last sync and queue length. A station
        that asks as the current sync protocol does (``current_protocol``) is no longer of protocol
        1: a refusal noted for that (:meth:`note_refusal`) is cleared."""
        with self._db.write() as conn:
            conn.execute("UPDATE hub_stations SET last_sync_at = ?, queue_length = ? WHERE id = ?",
                         (utc_iso(self._now()), queue_length, station.id))
            if current_protocol:
                conn.execute("UPDATE hub_stations SET last_error = NULL WHERE id = ? AND last_error LIKE ?",
                             (station.id, f"%{PROTOCOL_1_MARK}%"))

    def note_refusal(self, station: StationRef, error: str) -> None:
        """Show a refusal of a station's request outside a push (a station of sync protocol 1: a
        frame part without its digest, tombstones asked unkeyed; ``error`` names
        :data:`PROTOCOL_1_MARK`) as its last error on the hub's stations page, until the station
        asks as the current protocol does (:meth:`check_in`) or its next push reports its own.
        Its last sync stays the last one that went through."""
        with self._db.write() as conn:
            conn.execute("UPDATE hub_stations SET last_error = ? WHERE id = ?", (error[:300], station.id))

    def _note(self, station: StationRef, queue_length: int | None, error: str | None) -> None:
        with self._db.write() as conn:
            conn.execute("UPDATE hub_stations SET last_sync_at = ?, queue_length = coalesce(?, queue_length),"
                         " last_error = ? WHERE id = ?", (utc_iso(self._now()), queue_length, error, station.id))

    def _last_seq(self, station: StationRef) -> int:
        with self._db.read() as conn:
            return int(conn.execute("SELECT last_seq FROM hub_stations WHERE id = ?", (station.id,)).fetchone()[0])

    def _apply(self, station: StationRef, change: object, tombstones_through: int | None = None,
               unmatched: list | None = None, limits: PushLimits = UNLIMITED) -> bool:
        seq, entity, op, local_id, sent_at, payload = _check_change(change)
        # last writer wins by the change's time, but a station's clock (a Pi has no real-time clock)
        # may run ahead: a time after the hub's own counts as the hub's now, so it cannot win for ever.
        # The time as sent stays the change's identity (a repeat is the same number and time).
        at = min(sent_at, utc_iso(self._now()))
        if op == "erase":
            with self._db.read() as conn:
                if self._repeat(conn, station, seq, sent_at):
                    return False
            kept = self._erase(station, local_id, payload, at)  # its own transactions (erasure checkpoints the WAL)
            with self._db.write() as conn:
                self._advance(conn, station, seq, sent_at)
                if kept is not None:
                    self.store.audit.record(station.actor, "sync.erasure_unmatched", patient_id=kept[0],
                                            object=f"patient:{kept[0]}", detail={"station": station.name, "change": seq,
                                                                                 "station_patient": local_id,
                                                                                 "why": kept[1]})
            if kept is not None and unmatched is not None:
                unmatched.append({"seq": seq, "hub_patient_id": kept[0], "why": kept[1]})
            return True
        with self._db.write() as conn:
            if self._repeat(conn, station, seq, sent_at):
                return False
            with self.store.outbox.muted():
                if entity == "patient":
                    self._patient(conn, station, op, local_id, at, payload, tombstones_through, limits)
                elif entity == "session":
                    self._session(conn, station, local_id, payload)
                elif entity == "trial":
                    self._trial(conn, station, local_id, payload)
                elif entity == "training":
                    self._training(conn, station, local_id, payload)
                else:
                    self._programme(conn, station, local_id, at, payload)
            self._advance(conn, station, seq, sent_at)
        return True

    @staticmethod
    def _repeat(conn, station: StationRef, seq: int, at: str) -> bool:
        """True if change ``seq`` was applied already; Conflict if the hub applied another change
        under that number (the station's database went back in time: restored from a backup)."""
        last = conn.execute("SELECT last_seq FROM hub_stations WHERE id = ?", (station.id,)).fetchone()[0]
        if seq > last:
            return False
        row = conn.execute("SELECT at FROM hub_applied WHERE station = ? AND seq = ?", (station.id, seq)).fetchone()
        if row is None:
            raise Conflict(f"change #{seq} of station {station.name!r} arrives after #{last}: the hub takes changes "
                           "in order only and never had this one. Report this to the station's maintainers")
        if row["at"] != at:
            raise Conflict(f"change #{seq} of station {station.name!r} is not the one the hub applied under that "
                           "number: the station's database was restored from an older backup without the hub being "
                           "told. Nothing more is taken from it until it is: on the station, run `balance-station sync "
                           "--restored-from BACKUP`, naming the backup file it was restored from (`balance-station "
                           "backup --list`); its next sync then sends what was recorded since (a station whose "
                           "software is older than that option: update it, or register it again with `balance-station "
                           "hub stations add NEW-NAME` and a fresh data directory and pull its patients from the hub)")
        return True

    @staticmethod
    def _advance(conn, station: StationRef, seq: int, at: str) -> None:
        conn.execute("UPDATE hub_stations SET last_seq = ?, changes_applied = changes_applied + 1 WHERE id = ?",
                     (seq, station.id))
        conn.execute("INSERT INTO hub_applied (station, seq, at) VALUES (?, ?, ?)", (station.id, seq, at))

    # -- id map -----------------------------------------------------------------------------

    @staticmethod
    def _mapped(conn, station: StationRef, entity: str, local_id: int) -> tuple[int, int] | None:
        row = conn.execute("SELECT hub_id, patient_id FROM hub_id_map WHERE station = ? AND entity = ? AND local_id = ?",
                           (station.id, entity, local_id)).fetchone()
        return None if row is None else (row["hub_id"], row["patient_id"])

    @staticmethod
    def _map(conn, station: StationRef, entity: str, local_id: int, hub_id: int, patient_id: int) -> None:
        conn.execute("DELETE FROM hub_id_map WHERE station = ? AND entity = ? AND local_id = ?",
                     (station.id, entity, local_id))
        conn.execute("INSERT INTO hub_id_map (station, entity, local_id, hub_id, patient_id) VALUES (?, ?, ?, ?, ?)",
                     (station.id, entity, local_id, hub_id, patient_id))

    def _patient_of(self, conn, station: StationRef, local_id: int, what: str) -> int:
        """The hub id of a station's patient (:data:`ERASED` if erased on the hub); Conflict if unknown."""
        found = self._mapped(conn, station, "patient", local_id)
        if found is None:
            raise Conflict(f"{what} names the station's patient #{local_id}, which the hub does not know "
                           "(erased on the hub, or its create was never pushed)")
        return found[0]

    # -- patients ---------------------------------------------------------------------------

    def _patient(self, conn, station: StationRef, op: str, local_id: int, at: str, payload: dict,
                 tombstones_through: int | None, limits: PushLimits = UNLIMITED) -> None:
        """Apply a change of the station's patient ``local_id``. A patient of an id this station
        never sent (no id mapping) is recognised by identifier: a new one is created (counted,
        ``limits.created``). One the hub holds and this station never had (under none of its ids)
        is as much found as by a lookup (``limits.found``: a push must not be a way round the
        lookups' limits) and becomes this station's, and a create (or update) of them changes none
        of the hub's fields: the hub's record was there first and stays, the station's differing
        values kept as a version (:meth:`_merge_patient`, ``keep_hub``), and the station takes the
        hub's record as from a pull (the patient takes a new change number: :meth:`patient_updates`). The same patient registered at two stations
        (one offline) so ends as one hub patient, and a stolen token sending guessed identifiers
        can neither overwrite anyone's fields nor find more patients than by lookups. One this
        station had under another id (a hub restored from a backup holds its earlier record) is
        merged as this station's, last writer wins per field."""
        found = self._mapped(conn, station, "patient", local_id)
        hub_id = None if found is None else found[0]
        if hub_id == ERASED:
            return
        if hub_id is None:
            identifier = payload.get("identifier")
            if not isinstance(identifier, str):
                raise Conflict(f"a change of the station's patient #{local_id}, which the hub does not know "
                               "(erased on the hub, or its create was never pushed)")
            row = conn.execute("SELECT id FROM patients WHERE lower(identifier) = lower(?)", (identifier.strip(),)).fetchone()
            if row is None and op == "link":
                limits.missed()
                raise NotFound(f"{NO_PATIENT} to link to the station's patient #{local_id} (erased on the hub?)")
            if row is None:
                if self._erased_before(conn, identifier, at, tombstones_through):  # it stays erased
                    self._map(conn, station, "patient", local_id, ERASED, ERASED)
                    return
                _admit(limits.created(), "this station has sent the hub as many new patients as it takes from one "
                                         "station in a while (a guard against a stolen token sending guessed "
                                         f"identifiers); its patient #{local_id}")
                hub_id = self._create_patient(conn, station, at, payload)
                self._map(conn, station, "patient", local_id, hub_id, hub_id)
                return
            hub_id = row["id"]
            had = conn.execute("SELECT 1 FROM hub_id_map WHERE station = ? AND entity = 'patient' AND hub_id = ?",
                               (station.id, hub_id)).fetchone() is not None  # under another of its ids
            if not had:
                _admit(limits.found(), f"the station's patient #{local_id} has the identifier of a patient the hub "
                                       "holds and this station never had, which counts as a lookup of a patient by "
                                       "identifier, and this station has made as many of those as the hub allows in "
                                       "a while; that patient")
            self._map(conn, station, "patient", local_id, hub_id, hub_id)
            if op == "link":
                return
            self._merge_patient(conn, station, hub_id, at, payload, keep_hub=not had)
            return
        if op == "link":
            return
        self._count_rename(conn, hub_id, local_id, payload, limits)
        self._merge_patient(conn, station, hub_id, at, payload)

    def _count_rename(self, conn, hub_id: int, local_id: int, payload: dict, limits: PushLimits) -> None:
        """A change of the identifier of this station's patient ``hub_id`` is a lookup of the new
        identifier: refused with a 409 naming it when another patient holds it, applied when nobody
        does, so the answer tells which (X1 finding F9, session 25: a stolen token renaming its own
        patient P-0000, P-0001, ... found P-0042 without limit). Counted as a lookup
        (``limits.found``, refused past the lookups' limits), and as a miss when nobody holds it."""
        new = payload.get("identifier")
        if not isinstance(new, str):
            return
        row = conn.execute("SELECT identifier FROM patients WHERE id = ?", (hub_id,)).fetchone()
        if row is None or row["identifier"].lower() == new.strip().lower():
            return
        _admit(limits.found(), f"the station's patient #{local_id} changes its identifier, which counts as a lookup "
                               "of a patient by identifier, and this station has made as many of those as the hub "
                               "allows in a while; that change")
        if conn.execute("SELECT 1 FROM patients WHERE lower(identifier) = lower(?) AND id != ?",
                        (new.strip(), hub_id)).fetchone() is None:
            limits.missed()

    def _erased_before(self, conn, identifier: str, at: str, tombstones_through: int | None) -> bool:
        """Whether a change of a station's patient ``identifier`` that the hub does not hold
        (erased here) was made before the station took the erasure, so that it is of the erased
        patient, not of a new one given the identifier since: true if an erasure of the identifier
        came after the last tombstone the station had applied (``tombstones_through``; the station
        erases its patient of that identifier when it takes it, so the hub drops it too). Tombstone
        numbers are the hub's own, in the order of the erasures: no clock is compared.

        A station before ``tombstones_through`` is judged by time as before (the erasure's time on
        the hub's clock against the change's on the station's, ``at``): a station whose clock is
        behind has a new patient taken for the erased one."""
        erased = conn.execute("SELECT max(id), max(erased_at) FROM hub_tombstones WHERE identifier_hash = ?",
                              (tombstone_key(self.clinic_key, identifier_hash(identifier)),)).fetchone()
        if erased[0] is None:
            return False
        if tombstones_through is not None:
            return int(erased[0]) > tombstones_through
        return erased[1] >= at

    def _create_patient(self, conn, station: StationRef, at: str, payload: dict) -> int:
        data = {k: v for k, v in payload.items() if k != "archived"}
        created = self.store.patients.create(data, actor=station.actor)
        hub_id = created["id"]
        if payload.get("archived") is True:
            self.store.patients.update(hub_id, {"archived": True}, actor=station.actor)
        for key in payload:
            conn.execute("INSERT INTO hub_patient_field_times (patient_id, field, changed_at) VALUES (?, ?, ?)",
                         (hub_id, key, at))
        return hub_id

    def _merge_patient(self, conn, station: StationRef, hub_id: int, at: str, payload: dict, *,
                       keep_hub: bool = False) -> None:
        """Last writer wins per field (by the change's time ``at``); both versions kept where they
        differ. ``keep_hub``: the hub's value wins every field (a patient the station never had,
        found by identifier: :meth:`_patient`), and the patient takes a new change number, so that
        the station takes the hub's record at its next patient updates."""
        row = conn.execute("SELECT * FROM patients WHERE id = ?", (hub_id,)).fetchone()
        allowed = [k for k in payload if k in PATIENT_SYNC_FIELDS]
        unknown = sorted(set(payload) - set(allowed))
        if unknown:
            raise ValidationError({unknown[0]: "unknown patient field"})
        current = patient_snapshot(row, allowed)
        incoming = self.store.patients.clean(payload, creating=False) if payload else {}
        times = {r["field"]: r["changed_at"] for r in conn.execute(
            "SELECT field, changed_at FROM hub_patient_field_times WHERE patient_id = ?", (hub_id,))}
        apply, kept = {}, []
        for key, value in incoming.items():
            if value == current[key]:
                continue
            if not keep_hub and times.get(key, row["created_at"]) <= at:
                apply[key] = value
            else:
                kept.append(key)
        if not apply and not kept:
            return
        if keep_hub:  # the station's copy differs: it takes the hub's (never below its cursor)
            conn.execute("UPDATE patients SET change_seq = ? WHERE id = ?", (change_seq.next_number(conn), hub_id))
        if apply:
            self.store.patients.update(hub_id, apply, actor=station.actor)
            for key in apply:
                conn.execute("DELETE FROM hub_patient_field_times WHERE patient_id = ? AND field = ?", (hub_id, key))
                conn.execute("INSERT INTO hub_patient_field_times (patient_id, field, changed_at) VALUES (?, ?, ?)",
                             (hub_id, key, at))
        differing = sorted(apply) + sorted(kept)
        cur = conn.execute(
            "INSERT INTO hub_patient_versions (patient_id, at, station, change_at, applied, kept, replaced)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (hub_id, utc_iso(self._now()), station.name, at,
             json.dumps({k: incoming[k] for k in differing}),  # the station's version
             json.dumps(sorted(kept)),
             json.dumps({k: current[k] for k in differing})),  # the hub's version before
        )
        detail = {"changed": sorted(apply), "kept_newer": sorted(kept), "version": int(cur.lastrowid), "change_at": at}
        if keep_hub:
            detail["held_before_station"] = True
        self.store.audit.record(station.actor, "patient.update", patient_id=hub_id, object=f"patient:{hub_id}",
                                detail=detail)

    def patient_versions(self, patient_id: int) -> list[dict]:
        """The versions kept by last-writer-wins merges of a patient, oldest first: ``station``,
        ``change_at``, ``incoming`` (the station's values), ``before`` (the hub's values then),
        ``kept`` (the fields where the hub's newer value stayed)."""
        with self._db.read() as conn:
            rows = conn.execute("SELECT * FROM hub_patient_versions WHERE patient_id = ? ORDER BY id",
                                (patient_id,)).fetchall()
        return [{"id": r["id"], "at": r["at"], "station": r["station"], "change_at": r["change_at"],
                 "incoming": json.loads(r["applied"]), "kept": json.loads(r["kept"]),
                 "before": json.loads(r["replaced"])} for r in rows]

    def undo_plan(self, patient_id: int, version_id: int) -> dict:
        """What :meth:`undo_patient_version` would do now, for a page to confirm it: ``{"version"``
        (as :meth:`patient_versions` gives it), ``"put_back"`` (``{field: the hub's value before}``:
        the fields that still hold what that version brought), ``"changed_since"`` (``{field: its
        value now}``: those changed since, left as they are), ``"audit_id"`` (the patient's newest
        audit entry as the values were read, None if none: who changed a field left is read up to it, not
        from an edit made after)``}``; NotFound for a version the patient does not have."""
        with self._db.read() as conn:
            version = conn.execute("SELECT * FROM hub_patient_versions WHERE id = ? AND patient_id = ?",
                                   (version_id, patient_id)).fetchone()
            row = conn.execute("SELECT * FROM patients WHERE id = ?", (patient_id,)).fetchone()
            audit_id = conn.execute("SELECT MAX(id) FROM audit_log WHERE patient_id = ?", (patient_id,)).fetchone()[0]
        if version is None or row is None:
            raise NotFound(f"patient #{patient_id} has no version #{version_id}")
        incoming, kept, before = json.loads(version["applied"]), json.loads(version["kept"]), json.loads(version["replaced"])
        applied = sorted(k for k in incoming if k not in kept and k in before)
        current = patient_snapshot(row, applied)
        return {"version": {"id": version["id"], "at": version["at"], "station": version["station"],
                            "change_at": version["change_at"], "incoming": incoming, "kept": kept, "before": before},
                "put_back": {k: before[k] for k in applied if current[k] == incoming[k]},
                "changed_since": {k: current[k] for k in applied if current[k] != incoming[k]},
                "audit_id": None if audit_id is None else int(audit_id)}

    def undo_patient_version(self, patient_id: int, version_id: int, *, actor: Actor) -> dict:
        """Put back the hub's values that version ``version_id`` of patient ``patient_id`` replaced
        (:meth:`patient_versions`: a station's merge applied its values; e.g. a birth year rewritten
        by a station that only found the patient, or its stolen token), as an edit on the hub by
        ``actor`` (an administrator; audited ``patient.update``), which every station holding the
        patient then takes. Only the fields that still hold what that version brought are put back;
        one changed since is left and named (:meth:`undo_plan`). ``{"patient_id", "version",
        "put_back", "changed_since"}`` (field names) and ``"plan"``, the plan it carried out (as
        :meth:`undo_plan` gives it: the values put back, those left), for its words: a second read of the
        plan could differ from what was done; NotFound for a version the patient does not have, Conflict
        for an identifier another patient holds now.

        The plan is read and carried out in one write transaction (the writer lock of every process on
        PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite; the read inside it sees the writer's connection): an
        edit by a station's push or on the hub comes before the plan is read or after its values are
        written, never between, where it was overwritten by a plan read before it."""
        with self._db.write():
            plan = self.undo_plan(patient_id, version_id)
            back = plan["put_back"]
            if back:
                self.store.patients.update(patient_id, back, actor=actor)  # a savepoint of this transaction
        return {"patient_id": patient_id, "version": version_id, "put_back": sorted(back),
                "changed_since": sorted(plan["changed_since"]), "plan": plan}

    def _erase(self, station: StationRef, local_id: int, payload: dict, at: str) -> tuple[int, str] | None:
        """A station's erasure of its patient ``local_id``. It reaches the hub's record only when this
        station registered that patient on the hub (the hub created them from its push: the hub's
        audit log holds their ``patient.create`` by ``station:NAME``, :meth:`registered_by`) and the
        identifier's hash matches. A station cannot erase, nor tombstone for every station, a patient
        it never held (anyone can compute the hash of a guessable identifier), nor one it only found
        by identifier or pulled: a stolen token finds a patient with one lookup and would erase them
        clinic-wide with one more push (X7's finding L1, session 28). Erasing those is a hub
        administrator's decision (the hub's patient page, Erase, as an administrator).

        Returns ``(hub_id, why)`` when the hub holds this station's patient ``local_id`` and does
        not erase them, and since that never changes, the erasure is taken rather than refused at
        every push, which stopped every later change of the station (the caller audits it,
        ``sync.erasure_unmatched``, and answers it to the station, :mod:`station.sync.unmatched`):
        ``why`` is :data:`NOT_REGISTERED_HERE` for a patient another station or the hub registered
        (this station linked or pulled them), :data:`OTHER_IDENTIFIER` for one it registered whom
        the hub holds under another identifier than the erasure names (renamed on the hub, or at
        the station just before it erased them, or the hub restored from a backup older than a
        rename). None otherwise (erased, or nothing of the hub's to erase)."""
        keyed = "identifier_key" in payload
        name = "identifier_key" if keyed else "identifier_hash"
        key = payload.get(name)
        if not erasure_key.is_key(key):
            raise ValidationError({name: "must be the 64 hex digits of the identifier's hash"})
        if keyed and payload.get("key_id") != clinic_key_id(self.clinic_key):
            raise ValidationError({"key_id": f"names another clinic key than this hub's ({clinic_key_id(self.clinic_key)}):"
                                             " the station took its key from another hub; check its [hub] url"})
        unsent = payload.get("unsent_trials", [])
        if not isinstance(unsent, list) or len(unsent) > 100_000:
            raise ValidationError({"unsent_trials": "must be a list of trial ids"})
        for trial_local_id in unsent:
            self.drop_parts(station, _int({"trial": trial_local_id}, "trial"))
        with self._db.read() as conn:
            found = self._mapped(conn, station, "patient", local_id)
            if found is None or found[0] == ERASED:
                return  # never sent here by this station, or already erased: nothing of the hub's to erase
            row = conn.execute("SELECT k.patient_id, k.identifier_hash, p.identifier FROM sync_patient_keys k"
                               " JOIN patients p ON p.id = k.patient_id WHERE k.patient_id = ?", (found[0],)).fetchone()
            registered = self.registered_by(conn, station, found[0])
        held = None if row is None else (tombstone_key(self.clinic_key, row["identifier_hash"]) if keyed
                                         else row["identifier_hash"])
        if not registered:
            return int(found[0]), NOT_REGISTERED_HERE
        if held != key:
            return int(found[0]), OTHER_IDENTIFIER
        self.store.patients.erase(row["patient_id"], row["identifier"], actor=station.actor)  # leaves the tombstone
        return None

    @staticmethod
    def registered_by(conn, station: StationRef, patient_id: int) -> bool:
        """Whether the hub created its patient ``patient_id`` from a push of ``station`` (its audit
        log's ``patient.create`` by ``station:NAME``; a station's own entries sent to the hub's
        trail are ``USER@NAME``, never that)."""
        return conn.execute("SELECT 1 FROM audit_log WHERE patient_id = ? AND action = 'patient.create'"
                            " AND username = ? AND user_id IS NULL",
                            (patient_id, station.actor.username)).fetchone() is not None

    # -- sessions, trials, programmes -------------------------------------------------------

    def _session(self, conn, station: StationRef, local_id: int, payload: dict) -> None:
        patient_id = self._patient_of(conn, station, _int(payload, "patient_local_id"), "a session")
        values = session_values(payload)
        if patient_id == ERASED:
            self._map(conn, station, "session", local_id, ERASED, ERASED)
            return
        found = self._mapped(conn, station, "session", local_id)
        if found is not None:
            conn.execute("UPDATE sessions SET started_at = ?, label = ?, notes = ? WHERE id = ?",
                         (values["started_at"], values["label"], values["notes"], found[0]))
            self.store.audit.record(station.actor, "session.update", patient_id=patient_id,
                                    object=f"session:{found[0]}", detail={"changed": ["label", "notes", "started_at"]})
            return
        cur = conn.execute("INSERT INTO sessions (patient_id, started_at, label, notes, created_by) VALUES (?, ?, ?, ?, ?)",
                           (patient_id, values["started_at"], values["label"], values["notes"], values["created_by"]))
        session_id = int(cur.lastrowid)
        self._map(conn, station, "session", local_id, session_id, patient_id)
        self.store.audit.record(station.actor, "session.create", patient_id=patient_id, object=f"session:{session_id}")

    def _trial(self, conn, station: StationRef, local_id: int, payload: dict) -> None:
        values = trial_values(payload)
        found = self._mapped(conn, station, "trial", local_id)
        session = self._mapped(conn, station, "session", _int(payload, "session_local_id"))
        if (found is not None and found[0] == ERASED) or (session is not None and session[0] == ERASED):
            conn.execute("DELETE FROM hub_uploads WHERE station = ? AND trial_local_id = ?", (station.id, local_id))
            self._map(conn, station, "trial", local_id, ERASED, ERASED)
            return
        if found is not None:
            trial_id, patient_id = found
            for key in TRIAL_UPDATABLE:
                conn.execute(f"UPDATE trials SET {key} = ? WHERE id = ?", (values[key], trial_id))
            self.store.audit.record(station.actor, "trial.update", patient_id=patient_id, object=f"trial:{trial_id}",
                                    detail={"changed": list(TRIAL_UPDATABLE)})
            return
        if session is None:
            raise Conflict(f"trial #{local_id} names a session the hub does not know; push the session first")
        session_id, patient_id = session
        parts = conn.execute("SELECT part_no, n_frames FROM hub_uploads WHERE station = ? AND trial_local_id = ?"
                             " ORDER BY part_no", (station.id, local_id)).fetchall()
        expected = _int(payload, "parts")
        have = [r["part_no"] for r in parts]
        if have != list(range(expected)) or sum(r["n_frames"] for r in parts) != values["frame_count"]:
            raise Conflict(f"trial #{local_id}: its frames are not all uploaded ({len(have)} of {expected} parts); "
                           "upload the missing parts, then push again")
        columns = ("session_id",) + TRIAL_COLUMNS
        cur = conn.execute(f"INSERT INTO trials ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                           (session_id, *(values[c] for c in TRIAL_COLUMNS)))
        trial_id = int(cur.lastrowid)
        conn.execute("INSERT INTO trial_chunks (trial_id, chunk_no, first_seq, n_frames, data)"
                     " SELECT ?, part_no, first_seq, n_frames, data FROM hub_uploads"
                     " WHERE station = ? AND trial_local_id = ?", (trial_id, station.id, local_id))
        conn.execute("DELETE FROM hub_uploads WHERE station = ? AND trial_local_id = ?", (station.id, local_id))
        self._map(conn, station, "trial", local_id, trial_id, patient_id)
        self.store.audit.record(station.actor, "trial.record", patient_id=patient_id, object=f"trial:{trial_id}",
                                detail={"protocol": values["protocol"], "condition": values["condition"],
                                        "synced_from": station.name})

    def _programme(self, conn, station: StationRef, local_id: int, at: str, payload: dict) -> None:
        """A station's programme, merged into the hub's programme tables (:mod:`.hub_programmes`)."""
        doc = hub_programmes.check_document(payload.get("doc"))
        times = hub_programmes.check_times(payload.get("field_times"), at, utc_iso(self._now()))
        patient_id = self._patient_of(conn, station, doc["patient_id"], "a programme")
        found = self._mapped(conn, station, "programme", local_id)
        if patient_id == ERASED or (found is not None and found[0] == ERASED):
            self._map(conn, station, "programme", local_id, ERASED, ERASED)
            conn.execute("DELETE FROM hub_programmes WHERE station = ? AND local_id = ?", (station.id, local_id))
            return
        doc = self._programme_ids_to_hub(conn, station, doc, patient_id)
        conn.execute("DELETE FROM hub_programmes WHERE station = ? AND local_id = ?", (station.id, local_id))
        if found is None:
            assignment_id = hub_programmes.create(conn, doc, patient_id)
            hub_programmes.record_fields(conn, assignment_id, times, station.name)
            self._map(conn, station, "programme", local_id, assignment_id, patient_id)
            self.store.audit.record(station.actor, "programme.assign", patient_id=patient_id,
                                    object=f"programme:{assignment_id}",
                                    detail={"template": doc["template_name"], "sessions": len(doc["sessions"]),
                                            "visits": len(doc["visits"]), "synced_from": station.name})
            for ended in hub_programmes.end_replaced(conn, patient_id, at, station.name):
                self.store.audit.record(station.actor, "programme.update", patient_id=patient_id,
                                        object=f"programme:{ended}",
                                        detail={"change": "end", "replaced_by": assignment_id,
                                                "synced_from": station.name})
            return
        assignment_id = found[0]
        applied, kept, before = hub_programmes.merge(conn, assignment_id, doc, times, station.name)
        flat = flatten_programme(doc)
        # a field kept against this station before, sent again unchanged, is no new version
        already = {}
        for row in conn.execute("SELECT applied, kept FROM hub_programme_versions WHERE assignment_id = ?"
                                " AND station = ? ORDER BY id", (assignment_id, station.name)).fetchall():
            incoming = json.loads(row["applied"])
            already.update({k: incoming.get(k) for k in json.loads(row["kept"])})
        kept = [k for k in kept if k not in already or already[k] != flat[k]]
        before = {k: v for k, v in before.items() if k in applied or k in kept}
        if not before:
            return
        cur = conn.execute(
            "INSERT INTO hub_programme_versions (assignment_id, at, station, change_at, applied, kept, replaced)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (assignment_id, utc_iso(self._now()), station.name, at, json.dumps({k: flat[k] for k in before}),
             json.dumps(sorted(kept)), json.dumps(before)))
        self.store.audit.record(station.actor, "programme.update", patient_id=patient_id,
                                object=f"programme:{assignment_id}",
                                detail={"changed": sorted(applied), "kept_newer": sorted(kept),
                                        "version": int(cur.lastrowid), "change_at": at, "synced_from": station.name})

    def _programme_ids_to_hub(self, conn, station: StationRef, doc: dict, patient_id: int) -> dict:
        """``doc`` with the station's trial and visit ids replaced by the hub's (a trial the hub does
        not have, e.g. erased, is dropped from a dose; a visit not pushed yet drops its run until the
        next push of the programme); an id of another patient's record is refused."""
        def hub_id(entity: str, local_id: int | None) -> int | None:
            if local_id is None:
                return None
            found = self._mapped(conn, station, entity, local_id)
            if found is None or found[0] == ERASED:
                return None
            if found[1] != patient_id:
                raise ValidationError({f"{entity}_id": f"names another patient's {entity}"})
            return found[0]

        sessions = [{**s, "trial_id": hub_id("trial", s["trial_id"])} for s in doc["sessions"]]
        visits = []
        for v in doc["visits"]:
            runs = [{**r, "session_id": hub_id("session", r["session_id"])} for r in v["runs"]]
            visits.append({**v, "runs": [r for r in runs if r["session_id"] is not None]})
        return {**doc, "sessions": sessions, "visits": visits}

    def programme_versions(self, assignment_id: int) -> list[dict]:
        """The versions kept by last-writer-wins merges of a programme, oldest first: ``station``,
        ``change_at``, ``incoming`` (the station's values of the fields that differed), ``before``
        (the hub's values then), ``kept`` (the fields where the hub's newer value stayed)."""
        with self._db.read() as conn:
            rows = conn.execute("SELECT * FROM hub_programme_versions WHERE assignment_id = ? ORDER BY id",
                                (assignment_id,)).fetchall()
        return [{"id": r["id"], "at": r["at"], "station": r["station"], "change_at": r["change_at"],
                 "incoming": json.loads(r["applied"]), "kept": json.loads(r["kept"]),
                 "before": json.loads(r["replaced"])} for r in rows]

    def programme_sources(self, assignment_id: int) -> dict:
        """Where a hub programme and each of its fields were recorded: ``{"assigned_at": station
        name or None (on the hub), "fields": {field: station name}}`` (fields set on the hub are
        left out); NotFound for an unknown programme."""
        with self._db.read() as conn:
            if conn.execute("SELECT 1 FROM programme_assignments WHERE id = ?", (assignment_id,)).fetchone() is None:
                raise NotFound(f"no programme #{assignment_id}")
            owner = conn.execute("SELECT s.name FROM hub_id_map m JOIN hub_stations s ON s.id = m.station"
                                 " WHERE m.entity = 'programme' AND m.hub_id = ?", (assignment_id,)).fetchone()
            rows = conn.execute("SELECT field, station FROM programme_field_times WHERE assignment_id = ?"
                                " AND station IS NOT NULL", (assignment_id,)).fetchall()
        return {"assigned_at": owner["name"] if owner else None, "fields": {r["field"]: r["station"] for r in rows}}

    def _training(self, conn, station: StationRef, local_id: int, payload: dict) -> None:
        """A game played at the station (``training_sessions``), its visit, trial and the programme
        session it counted for mapped to the hub's; a game sent again replaces its row. A game that
        counted for nothing there may count on the hub (:meth:`_count_on_hub`)."""
        values = _training_values(payload)
        patient_id = self._patient_of(conn, station, _int(payload, "patient_local_id"), "a training game")
        links = {}
        for entity in ("session", "trial"):
            link = payload.get(f"{entity}_local_id")
            if link is None:
                links[entity] = None
                continue
            found = self._mapped(conn, station, entity, _int(payload, f"{entity}_local_id"))
            if found is None and patient_id != ERASED:
                raise Conflict(f"training game #{local_id} names a {entity} the hub does not know; push the "
                               f"{entity} first")
            if found is not None and found[0] != ERASED and found[1] != patient_id:
                raise ValidationError({f"{entity}_local_id": "is another patient's"})
            links[entity] = None if found is None else found[0]
        known = self._mapped(conn, station, "training", local_id)
        if patient_id == ERASED or ERASED in links.values() or (known is not None and known[0] == ERASED):
            self._map(conn, station, "training", local_id, ERASED, ERASED)
            return
        counted = self._programme_session_of(conn, station, payload.get("programme_session"), patient_id)
        row = (patient_id, links["session"], links["trial"], *(values[c] for c in TRAINING_COLUMNS))
        if known is not None:
            training_id = known[0]
            conn.execute("UPDATE training_sessions SET patient_id = ?, session_id = ?, trial_id = ?, "
                         + ", ".join(f"{c} = ?" for c in TRAINING_COLUMNS) + " WHERE id = ?", (*row, training_id))
            if counted is not None:
                conn.execute("UPDATE training_sessions SET programme_session_id = ? WHERE id = ?", (counted, training_id))
        else:
            columns = ("patient_id", "session_id", "trial_id", "programme_session_id") + TRAINING_COLUMNS
            cur = conn.execute(f"INSERT INTO training_sessions ({', '.join(columns)})"
                               f" VALUES ({', '.join('?' * len(columns))})", (*row[:3], counted, *row[3:]))
            training_id = int(cur.lastrowid)
            self._map(conn, station, "training", local_id, training_id, patient_id)
        self.store.audit.record(station.actor, "training.record", patient_id=patient_id,
                                object=f"training:{training_id}",
                                detail={"game": values["game"], "level": values["level"], "session": links["session"],
                                        "trial": links["trial"], "synced_from": station.name})
        if known is None and counted is None and payload.get("programme_session") is None:
            self._count_on_hub(conn, station, training_id, patient_id, values, links["trial"])

    def _programme_session_of(self, conn, station: StationRef, counted: object, patient_id: int) -> int | None:
        """The hub's programme session for a game's ``{"programme_local_id", "number"}`` (the
        station's programme session it counted for), or None (none, or a programme not on the hub)."""
        if counted is None:
            return None
        if not isinstance(counted, dict):
            raise ValidationError({"programme_session": "must be {programme_local_id, number} or null"})
        programme = self._mapped(conn, station, "programme", _int(counted, "programme_local_id"))
        number = _int(counted, "number")
        if programme is None or programme[0] == ERASED:
            return None
        if programme[1] != patient_id:
            raise ValidationError({"programme_session": "is another patient's programme"})
        row = conn.execute("SELECT id FROM programme_sessions WHERE assignment_id = ? AND number = ?",
                           (programme[0], number)).fetchone()
        return None if row is None else int(row["id"])

    def _count_on_hub(self, conn, station: StationRef, training_id: int, patient_id: int, values: dict,
                      trial_id: int | None) -> None:
        """A game that counted for nothing at its station (which does not hold the patient's
        programme: assigned elsewhere, or on the hub) counts on the hub for the patient's current
        programme, by the stations' own rule; the dose's fields are stamped with the game's time and
        station. A game at the station holding the programme is left as that station counted it."""
        current = conn.execute("SELECT id FROM programme_assignments WHERE patient_id = ? AND status = 'active'",
                               (patient_id,)).fetchone()
        if current is None or conn.execute(
                "SELECT 1 FROM hub_id_map WHERE station = ? AND entity = 'programme' AND hub_id = ?",
                (station.id, current["id"])).fetchone():
            return
        # the store's own dose rule (TrainingSessions), in this transaction; muted: stamped below
        self.store.training.count_dose(conn, training_id, patient_id, values["minutes"], values["day"], trial_id,
                                        station.actor)
        stamp_programme(conn, int(current["id"]), min(values["created_at"], utc_iso(self._now())), station.name)

    # -- frame uploads ----------------------------------------------------------------------

    def parts(self, station: StationRef, trial_local_id: int) -> dict:
        """``{"on_hub": bool, "parts": [part numbers held]}`` of a station's trial."""
        with self._db.read() as conn:
            if self._mapped(conn, station, "trial", trial_local_id) is not None:
                return {"on_hub": True, "parts": []}
            rows = conn.execute("SELECT part_no FROM hub_uploads WHERE station = ? AND trial_local_id = ? ORDER BY part_no",
                                (station.id, trial_local_id)).fetchall()
        return {"on_hub": False, "parts": [r["part_no"] for r in rows]}

    def store_part(self, station: StationRef, trial_local_id: int, part_no: int, first_seq: int, n_frames: int,
                   data: bytes) -> None:
        """Keep one part of a trial's frames until its trial arrives (a part sent again replaces it).
        ValidationError unless ``data`` is ``n_frames`` frames whose first is number ``first_seq``."""
        if not 0 <= part_no < 1_000_000 or not 0 < n_frames <= PART_FRAMES:
            raise ValidationError({"part": f"part number must be >= 0 and frames 1..{PART_FRAMES}"})
        if not 0 <= first_seq < 2**62:  # a frame's seq; beyond 64 bits the database fails
            raise ValidationError({"first_seq": "X-First-Seq must be the part's first frame number (0 to 2^62)"})
        if len(data) != n_frames * FRAME_DTYPE.itemsize:
            raise ValidationError({"data": f"{len(data)} bytes is not {n_frames} frames of {FRAME_DTYPE.itemsize} bytes"})
        seq0 = int(np.frombuffer(data, dtype=FRAME_DTYPE, count=1)["seq"][0])
        if seq0 != first_seq:
            raise ValidationError({"first_seq": f"the part's first frame is number {seq0}, not X-First-Seq {first_seq}; "
                                                "send the part as the trial holds it"})
        with self._db.write() as conn:
            replaced = conn.execute("DELETE FROM hub_uploads WHERE station = ? AND trial_local_id = ? AND part_no = ?",
                                    (station.id, trial_local_id, part_no)).rowcount
            pending = conn.execute("SELECT count(*) FROM hub_uploads WHERE station = ?", (station.id,)).fetchone()[0]
            if not replaced and pending >= MAX_PENDING_PARTS:
                raise Conflict(f"{pending} frame parts wait on the hub for trials this station has not pushed; push "
                               "those trials (or drop their parts) before uploading more")
            conn.execute("INSERT INTO hub_uploads (station, trial_local_id, part_no, first_seq, n_frames, data)"
                         " VALUES (?, ?, ?, ?, ?, ?)", (station.id, trial_local_id, part_no, first_seq, n_frames, data))

    def drop_parts(self, station: StationRef, trial_local_id: int) -> None:
        """Forget the frame parts of a station's trial that will never come (its patient was erased)."""
        with self._db.write() as conn:
            conn.execute("DELETE FROM hub_uploads WHERE station = ? AND trial_local_id = ?", (station.id, trial_local_id))

    # -- pulls ------------------------------------------------------------------------------

    def tombstones(self, after: int, limit: int = 500, station: StationRef | None = None) -> dict:
        """``{"tombstones": [{"id", "identifier_key"}], "last": id, "key_id", "highest", "epoch"}``:
        erasures after ``after``, each patient named by :func:`~station.sync.records.tombstone_key`
        (``key_id``: :func:`~station.sync.records.clinic_key_id`), the highest tombstone id the hub
        holds and the database's epoch (:mod:`station.store.hub_epoch`: a station that sees another
        goes back with its cursors); for a station, also ``last_seq``, the last of its changes the
        hub applied."""
        with self._db.read() as conn:
            rows = conn.execute("SELECT id, identifier_hash FROM hub_tombstones WHERE id > ? ORDER BY id LIMIT ?",
                                (after, limit)).fetchall()  # keyed (re-keyed at the hub's start: Hub.__init__)
            highest = int(conn.execute("SELECT coalesce(max(id), 0) FROM hub_tombstones").fetchone()[0])
        items = [{"id": r["id"], "identifier_key": r["identifier_hash"]} for r in rows]
        out = {"tombstones": items, "last": items[-1]["id"] if items else after, "key_id": clinic_key_id(self.clinic_key),
               "highest": highest, "epoch": self.epoch, ERASURES_KEYED: True}
        if station is not None:
            out["last_seq"] = self._last_seq(station)
        return out

    def patient_updates(self, station: StationRef, since: str = "", limit: int = PATIENT_UPDATES_PAGE, *,
                        after: int | None = None) -> dict:
        """The hub's current fields of the station's patients changed on the hub after change
        number ``after`` (:mod:`station.store.change_seq`; 0 for all), in the order the changes
        were made: ``{"patients": [{"local_id", "change", "updated_at", "fields"}], "until"}``
        (pass ``until``, the last change answered, as the next ``after``; a page of ``limit`` is
        full: ask again). A cursor beyond the hub's last change number (the hub's database was
        restored from an older backup) starts again from 0, so the station takes every patient.

        Without ``after`` (a station before change numbers, which pages by ``since``, an ISO time
        of the hub's clock): as before, ``{"patients": [...], "until"}`` after that time, which
        misses changes made while the hub's clock stood behind a time already answered."""
        if after is None:
            return self._patient_updates_by_time(station, since, limit)
        with self._db.read() as conn:
            if after > change_seq.current(conn):
                after = 0
            rows = conn.execute(f"{_STATION_PATIENTS} AND p.change_seq > ? ORDER BY p.change_seq LIMIT ?",
                                (station.id, after, limit)).fetchall()
        items = [{"local_id": r["local_id"], "change": r["change_seq"], "updated_at": r["updated_at"],
                  "fields": patient_snapshot(r, PATIENT_SYNC_FIELDS)} for r in rows]
        return {"patients": items, "until": items[-1]["change"] if items else after}

    def _patient_updates_by_time(self, station: StationRef, since: str, limit: int) -> dict:
        """:meth:`patient_updates` for a station that pages by the hub's time (``since``, ""
        for all): a full page of ``limit`` goes on with every other patient changed in its last
        millisecond (the next page, after ``until``, would not hold them)."""
        with self._db.read() as conn:
            rows = conn.execute(f"{_STATION_PATIENTS} AND p.updated_at > ? ORDER BY p.updated_at, p.id LIMIT ?",
                                (station.id, since, limit)).fetchall()
            if len(rows) == limit:
                last = rows[-1]
                rows += conn.execute(f"{_STATION_PATIENTS} AND p.updated_at = ? AND p.id > ? ORDER BY p.id",
                                     (station.id, last["updated_at"], last["id"])).fetchall()
        items = [{"local_id": r["local_id"], "updated_at": r["updated_at"],
                  "fields": patient_snapshot(r, PATIENT_SYNC_FIELDS)} for r in rows]
        return {"patients": items, "until": items[-1]["updated_at"] if items else since}

    def patient_for_station(self, station: StationRef, identifier: str) -> dict:
        """A hub patient's fields for a station to measure them (pulled on demand); audited as
        ``patient.view`` by the station."""
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM patients WHERE lower(identifier) = lower(?)", (identifier.strip(),)).fetchone()
        if row is None:
            raise NotFound(NO_PATIENT)
        self.store.audit.record(station.actor, "patient.view", patient_id=row["id"], object=f"patient:{row['id']}",
                                detail={"pulled_by": station.name})
        return patient_snapshot(row, PATIENT_SYNC_FIELDS)

    def history_for_station(self, station: StationRef, identifier: str, after: int = 0,
                            max_bytes: int | None = None, *, trial_after: int | None = None) -> dict:
        """One page of a hub patient's sessions and trials recorded elsewhere than at ``station``
        (at other stations, or on the hub), for the station to show in their history: ``{"sessions":
        [{"hub_id", "station", "started_at", "label", "notes", "created_by", "trials": [{"hub_id",
        "station", "frames_on_hub", TRIAL_COLUMNS...}]}], "next", "next_trial"}``: sessions after
        hub session ``after``, oldest first, trials that have ended, without their raw frames, as
        many as fit ``max_bytes`` of JSON (default :data:`HISTORY_PAGE_BYTES`; at least one
        trial). ``station`` is the name of the station that recorded it (None: on the hub).

        A session too large for one page is sent in parts: a page may end inside a session, and
        the next page (``after`` = ``next``, ``trial_after`` = ``next_trial``) goes on with that
        session's trials after hub trial ``next_trial`` (repeating the session's own fields);
        ``next_trial`` 0: the page ended with a whole session; ``next`` None: the last page. A
        trial's JSON is bounded (metrics 256 kB, calibration 64 kB), so every page fits a
        station's answer bound (:data:`station.sync.client.MAX_ANSWER_BYTES`, 4 MiB).

        A station before parts (no ``trial_after``) is sent whole sessions only; a session larger
        than it takes in one answer is refused (Conflict, naming its size), once, rather than sent
        to be refused by the station at every try. The first page is audited as ``patient.view``
        by the station."""
        parts = trial_after is not None
        trial_after = trial_after or 0
        max_bytes = HISTORY_PAGE_BYTES if max_bytes is None else max_bytes
        with self._db.read() as conn:
            patient = conn.execute("SELECT id FROM patients WHERE lower(identifier) = lower(?)",
                                   (identifier.strip(),)).fetchone()
            if patient is None:
                raise NotFound(NO_PATIENT)
            sessions = conn.execute(
                "SELECT s.*, (SELECT st.name FROM hub_id_map m JOIN hub_stations st ON st.id = m.station"
                "  WHERE m.entity = 'session' AND m.hub_id = s.id) AS station_name"
                " FROM sessions s WHERE s.patient_id = ? AND (s.id > ? OR (s.id = ? AND ? > 0))"
                " AND NOT EXISTS (SELECT 1 FROM hub_id_map m WHERE m.station = ? AND m.entity = 'session'"
                "  AND m.hub_id = s.id) ORDER BY s.id LIMIT ?",
                (patient["id"], after, after, trial_after, station.id, HISTORY_PAGE_SESSIONS)).fetchall()
            names = {r["station_id"]: r["name"] for r in conn.execute(
                "SELECT station_id, name FROM hub_stations WHERE station_id IS NOT NULL")}
            out, size, cursor = [], 0, None
            for session in sessions:
                trials = conn.execute("SELECT * FROM trials WHERE session_id = ? AND status <> 'recording' AND id > ?"
                                      " ORDER BY id", (session["id"], trial_after if session["id"] == after else 0))
                item = {"hub_id": session["id"], "station": session["station_name"],
                        **{c: session[c] for c in SESSION_COLUMNS}, "trials": []}
                item_size = _json_size(item)
                for t in trials:
                    trial = {"hub_id": t["id"], "station": names.get(t["station_id"]), "frames_on_hub": t["frame_count"],
                             **{c: t[c] for c in TRIAL_COLUMNS}}
                    trial_size = _json_size(trial) + 1
                    if parts and (out or item["trials"]) and size + item_size + trial_size > max_bytes:
                        if item["trials"]:
                            out.append(item)
                            cursor = (session["id"], item["trials"][-1]["hub_id"])
                        break
                    item["trials"].append(trial)
                    item_size += trial_size
                else:
                    if out and size + item_size > max_bytes:
                        break  # the next page begins with this session
                    if not parts and item_size > HISTORY_ANSWER_BYTES:
                        raise Conflict(f"visit #{session['id']} of this patient holds {item_size / 1e6:.1f} MB of "
                                       f"results, more than this station's software takes in one answer "
                                       f"({HISTORY_ANSWER_BYTES / 1e6:.1f} MB); update the station to bring it in parts")
                    out.append(item)
                    size += item_size
                    cursor = (session["id"], 0)
                    continue
                break
            finished = cursor is not None and cursor[1] == 0 and len(out) == len(sessions) \
                and len(sessions) < HISTORY_PAGE_SESSIONS
        if after == 0 and trial_after == 0:
            self.store.audit.record(station.actor, "patient.view", patient_id=patient["id"],
                                    object=f"patient:{patient['id']}", detail={"history_pulled_by": station.name})
        answer = {"sessions": out, "next": None if cursor is None or finished else cursor[0]}
        if parts:
            answer["next_trial"] = 0 if answer["next"] is None else cursor[1]
        return answer

    def history_updates(self, station: StationRef, after: int = 0, limit: int = 200,
                        judged_after: int | None = None) -> dict:
        """Trials recorded elsewhere (at other stations, or on the hub) after hub trial ``after``,
        of the patients this station holds (sent or linked), with their visits, for the station to
        keep its pulled histories current at every sync: ``{"patients": [{"local_id", "sessions":
        [as :meth:`history_for_station`]}], "next": hub trial id to ask after, or None}`` (at most
        ``limit`` trials, oldest first, as many as fit :data:`HISTORY_PAGE_BYTES`); ``until``: the
        hub trial to ask after next time (the newest trial looked at, so a station with nothing to
        take does not make the hub look again).

        With ``judged_after`` (a hub audit entry id), also ``"judgements"``: the trials of those
        patients recorded elsewhere whose record changed after that entry (a clinician's validity,
        reason or note on the hub, or an update pushed by the station that recorded them), as they
        are now, ``[{"hub_id", "frames_on_hub", TRIAL_COLUMNS...}]``, from at most
        :data:`JUDGEMENT_PAGE` audit entries (as many trials as fit :data:`HISTORY_PAGE_BYTES`);
        ``"judged_until"``: the entry to ask after next time, ``"judged_more"``: whether more
        entries wait."""
        judgements: list[dict] = []
        judged_until, judged_more = judged_after, False
        if judged_after is not None:
            judgements, judged_until, judged_more = self._judged_since(station, judged_after)
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT t.*, m.local_id AS patient_local_id,"
                " (SELECT st.name FROM hub_id_map sm JOIN hub_stations st ON st.id = sm.station"
                "  WHERE sm.entity = 'session' AND sm.hub_id = s.id) AS session_station"
                " FROM trials t JOIN sessions s ON s.id = t.session_id"
                " JOIN hub_id_map m ON m.station = ? AND m.entity = 'patient' AND m.hub_id = s.patient_id"
                " WHERE t.id > ? AND m.hub_id != 0 AND t.status <> 'recording' AND NOT EXISTS (SELECT 1 FROM hub_id_map o"
                "  WHERE o.station = ? AND o.entity = 'session' AND o.hub_id = s.id)"
                " ORDER BY t.id LIMIT ?", (station.id, after, station.id, limit)).fetchall()
            wanted = sorted({r["session_id"] for r in rows})
            sessions = {r["id"]: r for r in conn.execute(
                f"SELECT * FROM sessions WHERE id IN ({', '.join('?' * len(wanted))})", wanted)} if wanted else {}
            newest = int(conn.execute("SELECT coalesce(max(id), 0) FROM trials").fetchone()[0])
            names = {r["station_id"]: r["name"] for r in conn.execute(
                "SELECT station_id, name FROM hub_stations WHERE station_id IS NOT NULL")}
        patients: dict[int, dict[int, dict]] = {}
        full, size = len(rows) == limit, 0
        for i, t in enumerate(rows):
            trial = {"hub_id": t["id"], "station": names.get(t["station_id"]), "frames_on_hub": t["frame_count"],
                     **{c: t[c] for c in TRIAL_COLUMNS}}
            size += _json_size(trial) + 300  # and its visit's fields, near enough
            if i and size > HISTORY_PAGE_BYTES:  # the rest on the next page: every page fits a station's bound
                rows, full = rows[:i], True
                break
            session = sessions[t["session_id"]]
            visit = patients.setdefault(t["patient_local_id"], {}).setdefault(session["id"], {
                "hub_id": session["id"], "station": t["session_station"], **{c: session[c] for c in SESSION_COLUMNS},
                "trials": []})
            visit["trials"].append(trial)
        return {"patients": [{"local_id": local_id, "sessions": list(visits.values())}
                             for local_id, visits in patients.items()],
                "next": rows[-1]["id"] if full else None, "until": rows[-1]["id"] if full else max(newest, after),
                **({} if judged_after is None else {"judgements": judgements, "judged_until": judged_until,
                                                    "judged_more": judged_more})}

    def _judged_since(self, station: StationRef, after: int) -> tuple[list[dict], int, bool]:
        """The trials recorded elsewhere of patients ``station`` holds whose record changed after
        hub audit entry ``after`` (each change of a trial's validity, reason or note, on the hub or
        pushed, is audited ``trial.update`` in its own transaction), the entry to ask after next,
        and whether more entries wait (:meth:`history_updates`)."""
        with self._db.read() as conn:
            newest = int(conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0])
            entries = conn.execute("SELECT id, object FROM audit_log WHERE id > ? AND id <= ? AND action = 'trial.update'"
                                   " ORDER BY id LIMIT ?", (after, newest, JUDGEMENT_PAGE)).fetchall()
            more = len(entries) == JUDGEMENT_PAGE
            until = int(entries[-1]["id"]) if more else max(newest, after)
            named = [(int(e["id"]), int(e["object"][6:]) if isinstance(e["object"], str)
                      and e["object"].startswith("trial:") and e["object"][6:].isdigit() and len(e["object"]) < 26
                      else None) for e in entries]
            ids = sorted({trial_id for _, trial_id in named if trial_id is not None})
            if not ids:
                return [], until, more
            rows = conn.execute(
                "SELECT t.* FROM trials t JOIN sessions s ON s.id = t.session_id"
                " JOIN hub_id_map m ON m.station = ? AND m.entity = 'patient' AND m.hub_id = s.patient_id"
                f" WHERE t.id IN ({', '.join('?' * len(ids))}) AND t.status <> 'recording' AND NOT EXISTS"
                " (SELECT 1 FROM hub_id_map o WHERE o.station = ? AND o.entity = 'session' AND o.hub_id = s.id)"
                " ORDER BY t.id", (station.id, *ids, station.id)).fetchall()
        trials = {t["id"]: {"hub_id": t["id"], "frames_on_hub": t["frame_count"], **{c: t[c] for c in TRIAL_COLUMNS}}
                  for t in rows}
        out, size, through = [], 0, after
        for entry_id, trial_id in named:  # in the entries' order, as many trials as fit a page
            trial = trials.pop(trial_id, None)
            if trial is not None:
                size += _json_size(trial)
                if out and size > HISTORY_PAGE_BYTES:
                    return out, through, True  # the next page asks from the entry before this trial's
                out.append(trial)
            through = entry_id
        return out, until, more

    def programme_updates(self, station: StationRef, limit: int | None = None, *,
                          after: tuple[int, str] = (0, "")) -> dict:
        """The fields of the programmes this station assigned that someone else set: the hub's
        users, or games played at other stations that counted on the hub (:mod:`.hub_programmes`),
        for the station to take them: ``{"programmes": [{"local_id", "fields": [{"field", "value",
        "changed_at", "station"}]}], "next"}``. Ids in values are the station's own (a trial or visit
        it did not record is null, or left out of a visit's runs).

        In the order of (the station's programme id, field), after ``after``, at most ``limit``
        fields (default :data:`PROGRAMME_UPDATES_PAGE`); ``next``: ``{"local_id", "field"}`` to ask
        after when the page is full, else None. (Before pages, fields beyond the first 5,000 were
        never sent: a station's later programmes never took the hub's changes.)"""
        limit = PROGRAMME_UPDATES_PAGE if limit is None else limit
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT m.local_id, f.field, f.value, f.changed_at, f.station FROM hub_id_map m"
                " JOIN programme_field_times f ON f.assignment_id = m.hub_id WHERE m.station = ? AND m.entity = 'programme'"
                " AND m.hub_id != 0 AND (f.station IS NULL OR f.station <> ?)"
                " AND (m.local_id > ? OR (m.local_id = ? AND f.field > ?)) ORDER BY m.local_id, f.field LIMIT ?",
                (station.id, station.name, after[0], after[0], after[1], limit)).fetchall()

            def local(entity: str, hub_id) -> int | None:
                if hub_id is None:
                    return None
                found = conn.execute("SELECT local_id FROM hub_id_map WHERE station = ? AND entity = ? AND hub_id = ?",
                                     (station.id, entity, hub_id)).fetchone()
                return None if found is None else int(found["local_id"])

            out: dict[int, list] = {}
            for r in rows:
                value = json.loads(r["value"])
                if r["field"].endswith(".state") and r["field"].startswith("session."):
                    value = [*value[:4], local("trial", value[4]), *value[5:]]
                elif r["field"].endswith(".runs"):
                    value = [[p, local("session", sid), at, by] for p, sid, at, by in value]
                    value = [run for run in value if run[1] is not None]
                out.setdefault(r["local_id"], []).append({"field": r["field"], "value": value,
                                                          "changed_at": r["changed_at"], "station": r["station"]})
        full = len(rows) == limit
        return {"programmes": [{"local_id": k, "fields": v} for k, v in out.items()],
                "next": {"local_id": rows[-1]["local_id"], "field": rows[-1]["field"]} if full else None}

    def programmes_for_station(self, station: StationRef, identifier: str) -> dict:
        """A hub patient's programmes for a station to show read-only (it holds none of them):
        ``{"programmes": [{"hub_id", "assigned_at" (station name, None: on the hub), "title",
        "status", "start_date", "ended_on", "today", "overall" (adherence, as the programme page),
        "sessions": [{"number", "week", "planned_date", "status", "minutes_planned", "minutes", "partial"
        (:func:`~station.programmes.adherence.is_partial`), "recorded_at"}]}]}``, newest first, as the hub has
        them now; audited as ``programme.view`` by the station. Reasons and notes are left out (the programme
        page on the hub has them)."""
        with self._db.read() as conn:
            patient = conn.execute("SELECT id FROM patients WHERE lower(identifier) = lower(?)",
                                   (identifier.strip(),)).fetchone()
        if patient is None:
            raise NotFound(NO_PATIENT)
        today = self.store.programmes.today()
        out = []
        for listed in self.store.programmes.list_for_patient(patient["id"]):
            doc = self.store.programmes.get(listed["id"])
            sources = self.programme_sources(listed["id"])
            programme = doc["template"].get("programme") or {}
            out.append({
                "hub_id": doc["id"], "assigned_at": sources["assigned_at"],
                "title": str(programme.get("title") or doc["template_name"]), "status": doc["status"],
                "start_date": doc["start_date"], "ended_on": doc["ended_on"], "today": today,
                "overall": adherence(doc["sessions"], today)["overall"],
                "sessions": [{"number": x["number"], "week": x["week"], "planned_date": x["planned_date"],
                              "status": x["status"], "minutes_planned": x["minutes_planned"],
                              "minutes": (x["dose"] or {}).get("minutes"), "partial": is_partial(x),
                              "recorded_at": sources["fields"].get(f"session.{x['number']}.state")}
                             for x in doc["sessions"]],
            })
            self.store.audit.record(station.actor, "programme.view", patient_id=patient["id"],
                                    object=f"programme:{doc['id']}", detail={"viewed_from": station.name})
        return {"programmes": out}


def _admit(wait: int, what: str) -> None:
    """LimitReached for ``what`` (a push's change, named without patient data) when a limit says
    to wait ``wait`` s."""
    if wait:
        raise LimitReached(f"{what} and the changes after it wait on the station, nothing is lost: they go at a "
                           f"sync in {wait_words(wait)}", wait)


def _json_size(doc: object) -> int:
    """Characters of ``doc`` as compact JSON (as an answer sends it, near enough)."""
    return len(json.dumps(doc, separators=(",", ":")))


def _int(doc: dict, key: str) -> int:
    value = doc.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**62:
        raise ValidationError({key: "must be a non-negative integer"})
    return value


def _check_change(change: object) -> tuple[int, str, str, int, str, dict]:
    if not isinstance(change, dict):
        raise ValidationError({"change": "must be a JSON object"})
    seq = _int(change, "seq")
    entity, op = change.get("entity"), change.get("op")
    if entity not in ENTITY_OPS or op not in ENTITY_OPS[entity]:
        raise ValidationError({"op": f"unknown change {entity!r}/{op!r}"})
    local_id = _int(change, "local_id")
    at = change.get("at")
    try:
        at = utc_iso(parse_utc_iso(at))
    except (TypeError, ValueError, OverflowError, OSError, AttributeError):
        raise ValidationError({"at": "must be an ISO 8601 UTC time"}) from None
    payload = change.get("payload")
    if not isinstance(payload, dict):
        raise ValidationError({"payload": "must be a JSON object"})
    return seq, entity, op, local_id, at, payload


def _text(payload: dict, key: str, max_chars: int, *, required: bool = False, multiline: bool = False):
    value = payload.get(key)
    if value is None and not required:
        return None
    try:
        return fields.text(value, max_chars=max_chars, required=required, multiline=multiline)
    except ValueError as exc:
        raise ValidationError({key: str(exc)}) from None


def session_values(payload: dict) -> dict:
    """The :data:`SESSION_COLUMNS` of a session a station pushed (or pulled from the hub), checked
    (ValidationError naming the field)."""
    missing = [c for c in SESSION_COLUMNS if c not in payload]
    if missing:
        raise ValidationError({missing[0]: "is required"})
    started = payload["started_at"]
    try:
        started = utc_iso(parse_utc_iso(started))
    except (TypeError, ValueError, OverflowError, OSError, AttributeError):
        raise ValidationError({"started_at": "must be an ISO 8601 UTC time"}) from None
    return {"started_at": started, "label": _text(payload, "label", 100) or "",
            "notes": _text(payload, "notes", 2000, multiline=True) or "",
            "created_by": _text(payload, "created_by", 200, required=True)}


def _json_text(payload: dict, key: str, max_bytes: int, *, required: bool) -> str | None:
    value = payload.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or len(value) > max_bytes:
        raise ValidationError({key: f"must be JSON text of at most {max_bytes} bytes"})
    try:
        json.loads(value)
    except ValueError:
        raise ValidationError({key: "is not valid JSON"}) from None
    except RecursionError:  # "[[[[...": the parser stops at about 1,000 levels
        raise ValidationError({key: "is JSON nested too deeply"}) from None
    return value


TRIAL_TEXT_REQUIRED = ("protocol", "condition", "station_version", "recorded_by")
"""A trial's texts that may not be missing (NOT NULL in ``trials``): a pulled trial without one was
taken, then refused by the database with its error instead of one clear line."""


def trial_values(payload: dict) -> dict:
    """The :data:`TRIAL_COLUMNS` of a trial a station pushed (or pulled from the hub), checked
    (ValidationError naming the field)."""
    newer = ("start_seq", "time_zero_seq")  # older software sends neither
    missing = [c for c in TRIAL_COLUMNS if c not in payload and c not in newer]
    if missing:
        raise ValidationError({missing[0]: "is required"})
    if payload["status"] not in ("complete", "aborted", "partial"):
        raise ValidationError({"status": "must be complete, aborted or partial (a trial that has ended)"})
    if payload["frame_dtype"] != json.dumps(FRAME_DTYPE.descr):
        raise ValidationError({"frame_dtype": "is not this version's frame layout; update the hub or the station"})
    out = dict(payload)
    for key in newer:
        out[key] = payload.get(key)
    for key in ("frame_count", "frames_lost"):
        out[key] = _int(payload, key)
    for key in ("first_seq", "last_seq") + newer:
        if out[key] is not None:
            out[key] = _int(payload, key)
    rate = payload["rate_hz"]
    if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 < rate <= 10_000:
        raise ValidationError({"rate_hz": "must be a rate in Hz"})
    for key in ("valid", "station_valid"):
        if payload[key] not in (None, 0, 1):
            raise ValidationError({key: "must be 0, 1 or null"})
    out["calibration"] = _json_text(payload, "calibration", 64 * 1024, required=True)
    out["metrics"] = _json_text(payload, "metrics", 256 * 1024, required=False)
    for key, limit in (("protocol", 64), ("condition", 64), ("station_version", 64), ("recorded_by", 200),
                       ("station_id", 64), ("calibration_id", 64), ("judged_by", 200)):
        out[key] = _text(payload, key, limit, required=key in TRIAL_TEXT_REQUIRED)
    for key in ("status_reason", "validity_reason", "station_validity_reason"):
        out[key] = _text(payload, key, 1000, multiline=True)
    out["notes"] = _text(payload, "notes", 2000, multiline=True) or ""
    for key in ("started_at", "ended_at", "last_commit_at", "judged_at"):
        value = payload[key]
        if value is None and key != "started_at":
            continue
        try:
            out[key] = utc_iso(parse_utc_iso(value))
        except (TypeError, ValueError, OverflowError, OSError, AttributeError):
            raise ValidationError({key: "must be an ISO 8601 UTC time"}) from None
    return out


def _training_values(payload: dict) -> dict:
    """The :data:`~station.sync.records.TRAINING_COLUMNS` of a pushed game, checked as
    :meth:`station.store.training.TrainingSessions.record` checks a game played."""
    missing = [c for c in TRAINING_COLUMNS if c not in payload]
    if missing:
        raise ValidationError({missing[0]: "is required"})
    out = {}
    if payload["game"] not in GAMES:
        raise ValidationError({"game": f"must be one of {', '.join(GAMES)}"})
    out["game"] = payload["game"]
    level = payload["level"]
    if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 5:
        raise ValidationError({"level": "must be 1 to 5"})
    out["level"] = level
    for key in ("settings", "result"):
        out[key] = _json_text(payload, key, TRAINING_DOCUMENT_BYTES, required=True)
        if not isinstance(json.loads(out[key]), dict):
            raise ValidationError({key: "must be a JSON object"})
    for key, high in (("score", 100), ("minutes", 240)):
        value = payload[key]
        if value is None and key == "score":
            out[key] = None
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= high:
            raise ValidationError({key: f"must be a number from 0 to {high}"})
        out[key] = float(value)
    if payload["completed"] not in (0, 1):  # True and False too
        raise ValidationError({"completed": "must be 0 or 1"})
    out["completed"] = int(payload["completed"])
    try:
        out["day"] = date.fromisoformat(payload["day"]).isoformat()
    except (TypeError, ValueError):
        raise ValidationError({"day": "must be a date (YYYY-MM-DD)"}) from None
    try:
        out["created_at"] = utc_iso(parse_utc_iso(payload["created_at"]))
    except (TypeError, ValueError, OverflowError, OSError, AttributeError):
        raise ValidationError({"created_at": "must be an ISO 8601 UTC time"}) from None
    out["created_by"] = _text(payload, "created_by", 200, required=True)
    return out
