"""The station's sync: push the outbox to the hub, apply the hub's erasures, pull patients.

One :meth:`StationSync.sync_once` does, in this order (after telling the hub, once, that this
station's database was restored from its backup: :mod:`station.sync.station_restore`):

1. fetch the hub's erasure tombstones after the last one seen, and erase each patient held here
   (the station's own erasure path; not queued back to the hub); a patient whose trial is being
   recorded is erased at a later sync. A station whose database went back in time (restored
   from a backup older than what it already pushed) is stopped here with the reason: its next
   changes would reuse sequence numbers and ids the hub already holds;
2. push the outbox oldest first, in batches: before a trial, its raw frames in parts (asking the
   hub which parts it has, so a cut upload resumes; each part with its SHA-256, sent once more at
   once if the hub finds it damaged; a trial whose stored frames are corrupt is kept here, not sent, and
   the push goes on: :mod:`station.sync.corrupt_trials`; so is an erasure keyed with another hub's
   clinic key, which this hub cannot match: :mod:`station.sync.other_key_erasures`); after each
   batch the hub answers the last change it holds, and only those are dropped from the outbox. A
   station killed at any point pushes again what was not acknowledged; the hub ignores what it
   already applied;
3. send the station's own audit entries after the last one the hub holds (the hub appends them
   to its audit log as ``USER@STATION``, :mod:`station.sync.hub_audit`);
4. bring the trials recorded elsewhere since the last sync of the patients held here
   (:mod:`station.sync.pulled`: results only, read-only);
5. take the hub's newer fields of the programmes this station assigned (edits on the hub, doses
   of games played elsewhere: :mod:`station.sync.programme_updates`);
6. take the hub's record of the patients held here that changed on the hub (merged from another
   station's edits, or edited on the hub), so that every station converges on the hub's record;
   a patient with changes still queued here is left until they are pushed.

:class:`SyncWorker` runs it in the background of ``balance-station run``: every ``interval_s``
while the hub answers, backing off (doubling up to ``max_backoff_s``) while it does not. Network
waits hold no database lock, and each database step is one short transaction, so recording is
never blocked by the sync.
"""

from __future__ import annotations

import functools
import json
import re
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field

from station.store import erasure_key
from station.store.audit import Actor
from station.store.db import Conflict, DiskFull, NotFound, StorageFailed, StoreError, ValidationError
from station.store.trials import CorruptFrames
from station.sync import (audit_push, corrupt_trials, other_key_erasures, programme_updates, pulled, station_restore,
                          unmatched)
from station.sync.answers import BOOLEAN, LIST, OBJECT, TEXT, WHOLE, WHOLE_OR_NULL, items, take, wrong
from station.sync.client import HubClient, HubRefused, SyncError, said_once
from station.sync.hub import ERASURES_KEYED, PATIENT_SYNC_FIELDS, PATIENT_UPDATES_PAGE
from station.sync.records import (PART_DIGEST_HEADER, clinic_key_id, frame_parts, part_digest, record_of,
                                   tombstone_key)

HUB_ACTOR = Actor(None, "hub")
MAX_PUSH_BYTES = 128 * 1024
"""The hub's bound of a push body (:data:`web.hub_api.PUSH_MAX_BYTES`)."""
HISTORY_UPDATE_PAGES = 10
"""Pages of trials recorded elsewhere one sync brings at most (200 trials each; the rest at the next)."""
PROGRAMME_UPDATE_PAGES = 50
"""Pages of programme fields one sync takes at most (2,000 fields each); the next sync goes on
from there."""
MAX_HISTORY_PAGES = 1000
"""A patient's history pulled from the hub ends after this many pages (about 1 MB each; a visit
too large for one page comes in parts)."""
BATCH_CHANGES = 100
BATCH_BYTES = 96 * 1024
"""Largest push body (the hub takes up to 128 kB: room for one large change past the mark)."""
BATCH_TRIALS = 10
"""Trials per push: each moves its frames into place on the hub, so a push stays short even when
ten stations wait for the hub's one writer."""


@dataclass
class SyncReport:
    """What one sync did: ``sent`` (changes by entity), ``duplicates`` (the hub had them),
    ``frame_parts`` uploaded, ``erased`` (patients erased here on the hub's request),
    ``deferred_erasures`` (a test of the patient is open here or a trial records), ``refreshed``
    (patients whose fields the hub's record changed here),
    ``audit_entries`` (this station's audit entries the hub took), ``pulled_trials`` (trials
    recorded elsewhere of patients held here, brought here), ``judgements`` (pulled trials whose
    validity, reason or note changed elsewhere, taken here), ``programme_fields`` (fields of its
    programmes taken from the hub), ``hub_restored`` (the hub's database went back to a backup:
    :meth:`StationSync._follow_hub_epoch`), ``offered_again`` (records and erasures of this
    station queued again for it), ``unmatched_erasures`` (erasures made here the hub took without erasing: another
    station registered the patient there, or it holds them under another identifier, :mod:`station.sync.unmatched`), ``corrupt_trials`` (trial changes kept
    here, not sent: the trial's stored frames are corrupt, :mod:`station.sync.corrupt_trials`), ``audit_waiting``
    (this station's audit entries kept here: the hub's software does not know their actions, ``audit_waiting_actions``:
    :mod:`station.sync.audit_push`), ``erasures_keyed_elsewhere`` (erasures kept here, not sent: keyed with another
    hub's clinic key, :mod:`station.sync.other_key_erasures`), ``restore_told`` (this station's
    database was restored from its backup and the hub was told: :mod:`station.sync.station_restore`),
    ``restore_unheard`` (it was, and the hub's software is older than restore notices), ``queue_length`` left."""

    sent: Counter = field(default_factory=Counter)
    duplicates: int = 0
    frame_parts: int = 0
    erased: int = 0
    deferred_erasures: int = 0
    refreshed: int = 0
    audit_entries: int = 0
    pulled_trials: int = 0
    judgements: int = 0
    programme_fields: int = 0
    queue_length: int = 0
    hub_restored: bool = False
    offered_again: int = 0
    unmatched_erasures: int = 0
    corrupt_trials: int = 0
    erasures_keyed_elsewhere: int = 0
    erasures_keyed: int = 0
    hub_keys_erasures: bool = True
    audit_waiting: int = 0
    audit_waiting_actions: list = field(default_factory=list)
    restore_told: dict | None = None
    restore_unheard: bool = False

    def lines(self) -> list[str]:
        sent = ", ".join(f"{n} {_RECORD_WORDS.get(entity, (entity, entity + 's'))[n != 1]}"
                         for entity, n in sorted(self.sent.items())) or "nothing"
        parts = f"{self.frame_parts} frame part{'s' if self.frame_parts != 1 else ''}"
        out = []
        if self.restore_told is not None:
            forgotten = self.restore_told["forgotten"]
            out.append(f"the hub was told this station was restored from a backup: it takes this station's changes "
                       f"after #{self.restore_told['seq']}" + (
                           f" ({forgotten} change{'s' if forgotten != 1 else ''} it had from the lost database after "
                           "the backup: their records stay on the hub)" if forgotten else ""))
        if self.restore_unheard:
            out.append(station_restore.OLDER_HUB_WORDS)
        out += [f"sent {sent} ({parts} uploaded, {self.duplicates} already on the hub)",
               f"{self.erased} patients erased here (erased on the hub)"]
        if self.refreshed:
            out.append(f"{self.refreshed} patients updated from the hub")
        if self.pulled_trials:
            out.append(f"{self.pulled_trials} trial{'s' if self.pulled_trials != 1 else ''} recorded elsewhere "
                       "brought here")
        if self.judgements:
            out.append(f"{self.judgements} judgement{'s' if self.judgements != 1 else ''} made elsewhere taken")
        if self.programme_fields:
            out.append(f"{self.programme_fields} programme change{'s' if self.programme_fields != 1 else ''} "
                       "taken from the hub")
        if self.audit_entries:
            out.append(f"{self.audit_entries} audit entr{'y' if self.audit_entries == 1 else 'ies'} sent")
        if self.hub_restored:
            out.append("the hub's database was restored from a backup: its erasures, histories and updates since "
                       f"were taken again from there; {self.offered_again} of this station's records and erasures "
                       "offered again")
        if self.unmatched_erasures:
            out.append(f"{self.unmatched_erasures} erasure(s) made here not applied on the hub: a station erases there "
                       "only a patient it registered there, under the identifier it erases; a hub administrator "
                       "erases the others on the hub (`sync --show-blocked` lists them, with the reason of each)")
        if self.corrupt_trials:
            out.append(f"{self.corrupt_trials} trial change(s) not sent: the trial's stored frames are corrupt; its results "
                       "stay here, the later changes went on (`sync --show-blocked` names them and what to do)")
        if self.erasures_keyed_elsewhere:
            out.append(f"{self.erasures_keyed_elsewhere} erasure(s) kept here, not sent: keyed with another hub's clinic "
                       "key, which this hub cannot match; the later changes went on (`sync --show-blocked` names them "
                       "and what to do)")
        if self.deferred_erasures:
            out.append(f"{self.deferred_erasures} erasure(s) from the hub wait here: a test of the patient is open on "
                       "this station or a trial of theirs records; applied at the next sync once it has ended")
        if self.erasures_keyed:
            out.append(f"{self.erasures_keyed} erasure record(s) kept here by the plain hash of the identifier now "
                       "keyed with the clinic's key")
        if not self.hub_keys_erasures:
            out.append(UNKEYED_HUB_WORDS)
        if self.audit_waiting_actions:
            out.append(audit_push.words(self.audit_waiting, self.audit_waiting_actions))
        out.append(f"{self.queue_length} changes left in the queue")
        return out


UNKEYED_HUB_WORDS = ("the hub's software keeps erasures by the plain hash of the identifier, which a copy of a "
                     "database can be searched for by trying identifiers: update the hub's software (this station "
                     "keeps its erasures keyed once the hub does)")

_RECORD_WORDS = {"training": ("training game", "training games")}
"""How a kind of record reads in ``sync --once``'s lines, (one, many), where adding an s is wrong."""


class StationSync:
    """Sync of one station's store with the hub.

    Parameters
    ----------
    store : Store
        The station's store (its ``outbox`` is pushed).
    client : HubClient
    """

    def __init__(self, store, client: HubClient, *, batch_changes: int = BATCH_CHANGES, batch_bytes: int = BATCH_BYTES):
        self.store = store
        self.client = client
        self.batch_changes = batch_changes
        self.batch_bytes = batch_bytes
        self._lock = threading.Lock()  # one sync at a time (worker and a page's pull may meet)
        self._clinic_key: str | None = None  # the hub's tombstone key, asked when tombstones first come
        self._hub_keys_erasures = False  # the hub's last tombstones answer said it takes keyed erasures
        self._hub_key_id: str | None = None  # the id of the key it keys them with (its answer's key_id)
        self._updates_after = 0  # this process fetches every held patient's record once, then changes
        self._history_after: int | None = None  # the last hub trial looked at (:meth:`_pull_new_history`)
        self._programmes_after: tuple[int, str] = (0, "")  # where the last sync's programme pages stopped
        self._hub_version = station_restore.UNSEEN  # the hub's software, as its last erasure answer named it
        # every answer is checked for a restore the hub confirmed that this station never sent
        client.answer_check = functools.partial(station_restore.check_named, store)

    def sync_once(self) -> SyncReport:
        """Erase what the hub erased, then push everything queued; SyncError (one line) if the hub
        cannot be reached or refuses (what was acknowledged before stays acknowledged)."""
        report = SyncReport()
        with self._lock:
            try:
                report.restore_told = station_restore.tell_hub(self.store, self.client, self._hub_version)
                report.restore_unheard = (report.restore_told is None
                                          and station_restore.unheard(self.store, self.client.url) is not None)
                self._apply_tombstones(report)
                self._push(report)
                self._push_audit(report)
                self._pull_new_history(report)
                self._take_programme_updates(report)
                self._refresh_patients(report)
            except SyncError as exc:
                self.store.outbox.record_attempt(str(exc))
                raise
            self.store.outbox.record_attempt(None)
        report.queue_length = self.store.outbox.length()
        return report

    # -- erasures from the hub --------------------------------------------------------------

    def _apply_tombstones(self, report: SyncReport) -> None:
        outbox = self.store.outbox
        cursor = outbox.state()["tombstone_cursor"]
        first = True
        while True:
            answer = self.client.request("GET", "/api/hub/tombstones",
                                         query={"after": cursor, "keyed": 1, "queue_length": outbox.length()})
            what = "GET /api/hub/tombstones"
            if first:
                version = answer.get("hub_version")  # a hub before it names none
                self._hub_version = version[:100] if isinstance(version, str) else None
            self._check_not_behind(take(answer, "last_seq", what, WHOLE))
            if first:
                self._take_erasure_key(answer, report)
                first = False
            followed = self._follow_hub_epoch(answer, cursor, report)
            if followed != cursor:  # asked again from where the hub's restored database left this station
                cursor = followed
                continue
            erasures = items(answer, "tombstones", what)
            previous = cursor
            for item in erasures:
                if take(item, "id", what, WHOLE, where="tombstones[].") <= previous:  # a hub paging for ever
                    raise wrong(what, "tombstones[].id", "an erasure already asked for", "later erasures in order")
                previous = item["id"]
                take(item, "identifier_key", what, TEXT, where="tombstones[].")
            hashes = self._keyed_patient_hashes(take(answer, "key_id", what, TEXT)) if erasures else {}
            for item in erasures:
                outcome = self._erase_here(hashes.get(item["identifier_key"]))
                if outcome == "deferred":
                    report.deferred_erasures += 1
                    return  # retried from this tombstone at the next sync
                report.erased += outcome == "erased"
                cursor = int(item["id"])
                outbox.set_tombstone_cursor(cursor)
            if len(erasures) < 500:
                return

    def _follow_hub_epoch(self, answer: dict, cursor: int, report: SyncReport) -> int:
        """The tombstone cursor to go on from, after following the hub database's epoch
        (:mod:`station.store.hub_epoch`) in a tombstones answer.

        The hub's database went back to an older backup when its epoch is another than the one
        this station last synced with (``balance-station restore``), or, restored by other tools
        (the epoch kept), when it holds fewer of this station's changes than it acknowledged or
        fewer erasures than this station took. Then the hub numbers erasures, trials and audit
        entries again from the backup's: each cursor goes back to the epoch's number (what lies
        below was in the backup, so this station has it; erasures, histories and judgements made
        since lie above), the visits and trials pulled from above those numbers are removed (their
        ids now name other records: :func:`station.sync.pulled.forget_above`; they come again),
        the patient and programme updates are asked from the start, the hub's erasures applied here
        are offered again, and, if the hub lost changes of this station (or cannot tell), the
        erasures made here and every record made here too (:meth:`_offer_again`). A hub before
        epochs sends none."""
        what = "GET /api/hub/tombstones"
        if "epoch" not in answer:
            return cursor
        epoch = take(answer, "epoch", what, OBJECT)
        epoch_id = take(epoch, "id", what, TEXT, where="epoch.")
        names = ("tombstones", "sessions", "trials", "audit")
        bases = {name: take(epoch, name, what, WHOLE, where="epoch.") for name in names}
        outbox = self.store.outbox
        seen, acknowledged = outbox.hub_epoch(), outbox.acknowledged_through()
        if "previous" in epoch:  # made by a restore: of a database this station never synced with?
            previous = take(epoch, "previous", what, OBJECT, where="epoch.")
            if take(previous, "id", what, TEXT, where="epoch.previous.") != seen:
                bases = {name: min(bases[name], take(previous, name, what, WHOLE, where="epoch.previous."))
                         for name in names}
        lost = acknowledged is not None and answer["last_seq"] < acknowledged
        if (seen is not None and seen != epoch_id) or lost or cursor > take(answer, "highest", what, WHOLE):
            cursor = min(cursor, bases["tombstones"])
            outbox.set_tombstone_cursor(cursor)
            outbox.set_judgement_cursor(min(outbox.judgement_cursor(), bases["audit"]))
            self._history_after = min(self._history_floor(), bases["trials"])
            pulled.forget_above(self.store, bases["sessions"], bases["trials"], actor=HUB_ACTOR)
            self._updates_after, self._programmes_after = 0, (0, "")
            lost = lost or acknowledged is None
            report.offered_again += self._offer_again(lost=lost)
            if lost:
                outbox.set_acknowledged_through(answer["last_seq"])  # offered once, not at every answer
            report.hub_restored = True
        if seen != epoch_id:
            outbox.set_hub_epoch(epoch_id)
        return cursor

    def _offer_again(self, *, lost: bool) -> int:
        """Queue again what a hub restored from an older backup may have lost of this station: the
        erasures made on the hub and taken here from its tombstones (it may have made one after its
        backup even when it holds every change of this station), and, when it ``lost`` changes of
        this station, the erasures made here and every record (:meth:`~station.store.outbox.Outbox.offer_again`).
        Audited ``sync.erasures_offered_again`` in the same transaction (the station's ids of the
        patients whose erasure was offered, by who erased them, and of those not offered because
        their identifier is held here again); returns how many changes were queued."""
        with self.store.db.write():
            offered = self.store.outbox.offer_again(lost=lost)
            if offered.erasures or offered.held_again:
                self.store.audit.record(HUB_ACTOR, "sync.erasures_offered_again", detail=offered.audit_detail())
        return offered.changes

    def _take_erasure_key(self, answer: dict, report: SyncReport) -> None:
        """With a hub that keeps erasures keyed (its tombstones answer says so), hold its key in this
        station's key file (:mod:`station.store.erasure_key`: never in the database), asked from the hub
        when the file holds none or another, and key what this station kept by the plain hash (its
        erasures made before it had the key, or by older software). A hub before keyed erasures:
        erasures stay by the plain hash, and the sync says to update the hub."""
        self._hub_keys_erasures = report.hub_keys_erasures = answer.get(ERASURES_KEYED) is True
        self._hub_key_id = None
        if not self._hub_keys_erasures:
            return
        key_file = self.store.outbox.key_file
        wanted = take(answer, "key_id", "GET /api/hub/tombstones", TEXT)
        try:
            key = key_file.read()
            if key is None or erasure_key.key_id(key) != wanted:
                key = self._hub_clinic_key(wanted)
                key_file.write(key)
        except StoreError as exc:
            raise SyncError(f"{exc}; this station's erasures are kept by the plain hash of the identifier until it "
                            "can hold the key; nothing was erased or pushed; will retry") from None
        self._clinic_key, self._hub_key_id = key, wanted
        with self.store.db.write() as conn:
            if erasure_key.recorded_key_id(conn) != wanted:
                erasure_key.record_key_id(conn, key, self.store.outbox.now_iso(), "hub")
            report.erasures_keyed += erasure_key.rekey_station(conn, key)

    def _hub_clinic_key(self, key_id: object) -> str:
        """The hub's clinic key, checked against ``key_id`` (the one its tombstones name)."""
        answer = self.client.request("GET", "/api/hub/clinic-key")
        key = answer.get("key")
        if not (erasure_key.is_key(key) and clinic_key_id(key) == key_id):
            raise SyncError("the hub's clinic key does not match its tombstones (is [hub] url the hub's own "
                            "address?); nothing was erased or pushed; will retry")
        return key

    def _keyed_patient_hashes(self, key_id: object) -> dict[str, str]:
        """``{tombstone key: identifier hash}`` of this station's patients, keyed with the clinic's
        key (asked from the hub once, and again if its tombstones name another key)."""
        if self._clinic_key is None or clinic_key_id(self._clinic_key) != key_id:
            self._clinic_key = self._hub_clinic_key(key_id)
        with self.store.db.read() as conn:
            rows = conn.execute("SELECT identifier_hash FROM sync_patient_keys").fetchall()
        return {tombstone_key(self._clinic_key, r["identifier_hash"]): r["identifier_hash"] for r in rows}

    def _check_not_behind(self, hub_last_seq: int) -> None:
        """SyncError if the hub already holds changes of this station beyond any it ever made: its
        database went back in time (restored from a backup), and its next changes would reuse
        numbers (and ids) the hub already has, so they would be taken for repeats and dropped."""
        if hub_last_seq > self.store.outbox.highest_seq():
            raise SyncError(
                f"the hub already has this station's changes up to #{hub_last_seq}, more than this database ever "
                "made: it was restored from an older backup without the hub being told, or it is not the data "
                "directory that synced under this token's station name; nothing was pushed. If it was restored, run "
                "`balance-station sync --restored-from BACKUP`, naming the backup file it was restored from "
                "(`balance-station backup --list`), and sync again; a new tablet is a new station: register it "
                "under its own name (`balance-station hub stations add NEW-NAME`)")

    def _erase_here(self, key: object) -> str:
        """``erased``, ``absent`` (no such patient here) or ``deferred`` (a test of theirs is open on
        this station or a trial records: :meth:`Patients.erase` refuses until it ends)."""
        with self.store.db.read() as conn:
            row = conn.execute("SELECT p.id, p.identifier FROM sync_patient_keys k JOIN patients p ON p.id = k.patient_id"
                               " WHERE k.identifier_hash = ?", (key,)).fetchone()
        if row is None:
            return "absent"
        try:
            with self.store.outbox.muted():
                self.store.patients.erase(row["id"], row["identifier"], actor=HUB_ACTOR)
        except Conflict:  # a test of theirs is open on this station or a trial records: retried at the next sync
            return "deferred"
        except NotFound:
            return "absent"
        for trial_id in self.store.outbox.unsent_trials_of_last_erasure():  # parts of theirs the hub may hold
            self.client.request("DELETE", f"/api/hub/trials/{trial_id}/parts")
        return "erased"

    # -- histories recorded elsewhere ------------------------------------------------------

    def _pull_new_history(self, report: "SyncReport") -> None:
        """Bring the trials recorded elsewhere since the last sync of the patients held here (new
        visits and trials at other stations: :meth:`station.sync.hub.Hub.history_updates`), at most
        :data:`HISTORY_UPDATE_PAGES` pages a sync. The cursor lives in this process, starting from
        the newest trial pulled so far (after a restart the hub looks again from there)."""
        if self._history_after is None:
            self._history_after = self._history_floor()
        judged_after = self.store.outbox.judgement_cursor()
        for _ in range(HISTORY_UPDATE_PAGES):
            answer = self.client.request("GET", "/api/hub/history-updates",
                                         query={"after": self._history_after, "judged_after": judged_after})
            what = "GET /api/hub/history-updates"
            until = take(answer, "until", what, WHOLE)
            if until < self._history_after:
                raise wrong(what, "until", "a cursor before the one asked", "that cursor or a later one")
            following = take(answer, "next", what, WHOLE_OR_NULL)
            for group in items(answer, "patients", what):
                local_id = take(group, "local_id", what, WHOLE, where="patients[].")
                try:
                    self.store.patients.get(local_id)
                except NotFound:
                    continue  # erased here meanwhile
                try:
                    page = pulled.check_page(group.get("sessions"))
                except ValidationError as exc:
                    raise SyncError(f"the hub sent a visit or trial this station cannot store ({exc}); will retry") \
                        from None
                new_sessions, new_trials = pulled.store_page(self.store, local_id, page, actor=HUB_ACTOR)
                report.pulled_trials += new_trials
            self._history_after = until
            judged_after, judged_more = self._take_judgements(answer, judged_after, report)
            if following is None and not judged_more:
                return

    def _history_floor(self) -> int:
        """Where this process's history cursor starts: the newest hub trial pulled so far."""
        if self._history_after is not None:
            return self._history_after
        with self.store.db.read() as conn:
            return int(conn.execute("SELECT coalesce(max(hub_id), 0) FROM sync_pulled WHERE entity = 'trial'"
                                    ).fetchone()[0])

    def _take_judgements(self, answer: dict, judged_after: int, report: "SyncReport") -> tuple[int, bool]:
        """Take the judgements in a history-updates answer (validity, reason, note of trials pulled
        here, changed on the hub or at the station that recorded them: :func:`station.sync.pulled.
        store_judgements`); the cursor to ask after next, and whether more wait. A hub before
        judgements sends none (the cursor stays)."""
        if "judgements" not in answer:
            return judged_after, False
        what = "GET /api/hub/history-updates"
        until = take(answer, "judged_until", what, WHOLE)
        more = take(answer, "judged_more", what, BOOLEAN)
        if until < judged_after:
            raise wrong(what, "judged_until", "a cursor before the one asked", "that cursor or a later one")
        try:
            items = pulled.check_judgements(answer["judgements"])
        except ValidationError as exc:
            raise SyncError(f"the hub sent a judgement of a trial this station cannot store ({exc}); nothing of it "
                            "was taken; will retry") from None
        report.judgements += pulled.store_judgements(self.store, items, actor=HUB_ACTOR)
        self.store.outbox.set_judgement_cursor(until)
        return until, more

    def _take_programme_updates(self, report: "SyncReport") -> None:
        """Take the hub's newer fields of the programmes this station assigned (its users' edits,
        doses of games played elsewhere: :mod:`station.sync.programme_updates`)."""
        what, after = "GET /api/hub/programme-updates", self._programmes_after
        for _ in range(PROGRAMME_UPDATE_PAGES):
            answer = self.client.request("GET", "/api/hub/programme-updates",
                                         query={"after": after[0], "after_field": after[1]})
            try:
                report.programme_fields += programme_updates.apply_updates(self.store, answer)
            except ValidationError as exc:
                raise SyncError(f"the hub's answer to {what} cannot be taken ({exc}); is [hub] url the hub's own "
                                "address? will retry") from None
            following = answer.get("next")  # a hub before pages sends none: one page
            if following is None:
                self._programmes_after = (0, "")  # all taken: the next sync asks from the start
                return
            following = (take(following, "local_id", what, WHOLE, where="next."),
                         take(following, "field", what, TEXT, where="next."))
            if following <= after:
                raise wrong(what, "next", "a page already asked for", "a later page")
            after = self._programmes_after = following

    # -- the station's audit trail to the hub ----------------------------------------------

    def _push_audit(self, report: "SyncReport") -> None:
        """Send this station's audit entries after the last one the hub holds (after the changes, so
        that the hub knows the records they name); those of actions the hub's software does not
        know wait here and the sync goes on (:mod:`station.sync.audit_push`)."""
        report.audit_entries += audit_push.push(self.store, self.client, batch_bytes=self.batch_bytes)
        report.audit_waiting, report.audit_waiting_actions = audit_push.waiting(self.store)

    # -- the hub's record of the patients held here ------------------------------------------

    def _refresh_patients(self, report: "SyncReport") -> None:
        """Take the hub's fields of patients held here that changed on the hub (another station's
        edit won, or an edit on the hub), in the order of the hub's change numbers
        (:mod:`station.store.change_seq`), except fields of patients with changes still queued
        here (the hub decides those when they arrive; the next sync brings its verdict)."""
        what = "GET /api/hub/patient-updates"
        while True:
            after = self._updates_after
            answer = self.client.request("GET", "/api/hub/patient-updates", query={"after": after})
            updates = items(answer, "patients", what)
            until = answer.get("until")
            if isinstance(until, str):  # a hub before change numbers answers by its clock's time
                raise wrong(what, "until", "a time", "a change number (the hub's software is older than this "
                                                     "station's: update the hub)")
            until = take(answer, "until", what, WHOLE)
            cursor, held = after, False
            for item in updates:
                change = take(item, "change", what, WHOLE, where="patients[].")
                local_id = take(item, "local_id", what, WHOLE, where="patients[].")
                fields = take(item, "fields", what, OBJECT, where="patients[].")
                outcome = self._refresh_one(local_id, fields)
                report.refreshed += outcome == "updated"
                held = held or outcome == "queued"
                if not held:  # asked for again from the first patient left for later
                    cursor = max(cursor, change)
            self._updates_after = cursor if held else max(cursor, until)
            if len(updates) < PATIENT_UPDATES_PAGE or held:
                return
            if self._updates_after <= after:  # a full page that does not move on: a hub paging for ever
                raise wrong(what, "until", "the change number asked", "a later one after a full page")

    def _refresh_one(self, local_id: int, fields: dict) -> str:
        """``updated``, ``same`` or ``queued`` (changes of theirs still wait here)."""
        with self.store.db.read() as conn:
            queued = conn.execute("SELECT 1 FROM sync_outbox WHERE patient_id = ? AND entity = 'patient'",
                                  (local_id,)).fetchone()
        if queued:
            return "queued"
        try:
            local = self.store.patients.get(local_id)
        except NotFound:
            return "same"
        changes = {k: v for k, v in fields.items() if k in PATIENT_SYNC_FIELDS and local[k] != v}
        if not changes:
            return "same"
        try:
            with self.store.outbox.muted():
                self.store.patients.update(local_id, changes, actor=HUB_ACTOR)
        except (Conflict, ValidationError):  # e.g. an identifier another patient has here: left as it is
            return "same"
        return "updated"

    # -- pushing ----------------------------------------------------------------------------

    def _push(self, report: SyncReport) -> None:
        outbox = self.store.outbox
        while True:
            rows = outbox.pending(self.batch_changes)
            if not rows:
                return
            batch, size, through, processed, trials, applied_through = [], 0, 0, 0, 0, None
            waiting = None
            for row in rows:
                payload = record_of(self.store, row)
                if row["op"] == "erase" and "identifier_key" in payload and not self._hub_keys_erasures:
                    waiting = row  # an older hub cannot take it: pushed up to it, then said
                    break
                made_with = other_key_erasures.keyed_elsewhere(row, payload, self._hub_key_id)
                if made_with is not None:  # never matched by this hub: kept here, said, and the queue goes on
                    report.erasures_keyed_elsewhere += other_key_erasures.keep(self.store, row, payload, made_with,
                                                                               self._hub_key_id)
                    through, processed = row["seq"], processed + 1
                    continue
                if payload is not None:
                    item = {"seq": row["seq"], "entity": row["entity"], "op": row["op"], "local_id": row["local_id"],
                            "at": row["at"], "payload": payload}
                    item_size = len(json.dumps(item, separators=(",", ":")))
                    if batch and (size + item_size > self.batch_bytes or (row["entity"] == "trial" and
                                                                         trials >= BATCH_TRIALS)):
                        break
                    if item_size > MAX_PUSH_BYTES - 1024:
                        raise SyncError(f"the station's {row['entity']} #{row['local_id']} is too large to push "
                                        f"({item_size // 1024} kB, the hub takes {MAX_PUSH_BYTES // 1024} kB); "
                                        "report this to the station's maintainers")
                    if row["entity"] == "trial":
                        try:
                            report.frame_parts += self._upload_frames(row["local_id"], payload["parts"])
                        except CorruptFrames as exc:  # never readable: kept here, said, and the queue goes on
                            report.corrupt_trials += corrupt_trials.keep(self.store, row, payload, exc)
                            through, processed = row["seq"], processed + 1
                            continue
                        trials += 1
                    batch.append(item)
                    size += item_size
                through = row["seq"]
                processed += 1
            if batch:
                state = outbox.state()
                try:
                    answer = self.client.request("POST", "/api/hub/push", body={
                        "station_id": outbox.station_id, "queue_length": state["queue_length"] - processed,
                        "last_error": state["last_error"], "tombstones_through": state["tombstone_cursor"],
                        "restores": station_restore.own_restores(self.store), "changes": batch})
                except HubRefused as exc:
                    if not unmatched.refused_by_older_hub(exc):
                        raise
                    self._keep_refused_erasure(batch, exc, report)
                    continue
                applied_through = take(answer, "applied_through", "POST /api/hub/push", WHOLE)
                if applied_through < batch[-1]["seq"]:
                    raise SyncError(f"the hub acknowledged changes only up to {applied_through}, not "
                                    f"{batch[-1]['seq']}; will retry")
                report.duplicates += take(answer, "duplicates", "POST /api/hub/push", WHOLE)
                report.unmatched_erasures += self._keep_unmatched(answer, batch)
                for item in batch:
                    report.sent[item["entity"]] += 1
            outbox.acknowledge(through, pushed=len(batch), hub_holds=applied_through)
            if waiting is not None:
                raise SyncError(
                    f"the hub's software is older than keyed erasures: it cannot take this station's erasure of its "
                    f"patient #{waiting['local_id']}, named by the identifier's hash keyed with the clinic's key; update "
                    f"the hub's software. The erasure and the {outbox.length() - 1} change(s) after it wait here, "
                    "nothing is lost")

    def _keep_unmatched(self, answer: dict, batch: list[dict]) -> int:
        """Keep the erasures of ``batch`` the hub took without erasing anyone (the push's answer
        names them: :mod:`station.sync.unmatched`); how many. A hub before that sends none."""
        what = "POST /api/hub/push"
        if "unmatched_erasures" not in answer:
            return 0
        named = items(answer, "unmatched_erasures", what)
        for item in named:
            take(item, "seq", what, WHOLE, where="unmatched_erasures[].")
            take(item, "hub_patient_id", what, WHOLE, where="unmatched_erasures[].")
            if "why" in item:  # a hub before it sends none: the patient has another identifier there
                take(item, "why", what, TEXT, where="unmatched_erasures[].")
        return unmatched.keep(self.store, {item["seq"]: item for item in batch}, named, actor=HUB_ACTOR) if named else 0

    def _keep_refused_erasure(self, batch: list[dict], refusal: HubRefused, report: SyncReport) -> None:
        """After a hub older than :mod:`station.sync.unmatched`'s answer refused ``batch`` the way it
        refuses an erasure of a patient it holds under another identifier (it applied the changes
        before that one, each in its own transaction, and will refuse it at every push): ask the
        hub the last change it applied, and keep the next, if it is an erasure, as such an erasure
        (out of the queue, kept and said: :func:`~station.sync.unmatched.keep_refused`). Anything
        else raises ``refusal``: the queue stays as it is."""
        answer = self.client.request("GET", "/api/hub/tombstones", query={"after": 2**62, "keyed": 1})
        applied = take(answer, "last_seq", "GET /api/hub/tombstones", WHOLE)
        refused = next((item for item in batch if item["seq"] > applied), None)
        if refused is None or (refused["entity"], refused["op"]) != ("patient", "erase"):
            raise refusal
        unmatched.keep_refused(self.store, refused, actor=HUB_ACTOR)
        report.unmatched_erasures += 1
        done = [item for item in batch if item["seq"] < refused["seq"]]
        for item in done:
            report.sent[item["entity"]] += 1
        self.store.outbox.acknowledge(applied, pushed=len(done), hub_holds=applied)

    def _upload_frames(self, trial_id: int, n_parts: int) -> int:
        what = "GET /api/hub/trials/ID/parts"
        status = self.client.request("GET", f"/api/hub/trials/{trial_id}/parts")
        if take(status, "on_hub", what, BOOLEAN):
            return 0
        have = set(items(status, "parts", what, WHOLE))
        missing = [p for p in range(n_parts) if p not in have]
        if not missing:
            return 0
        parts = frame_parts(self.store.trials.frames(trial_id))
        for part_no in missing:
            first_seq, n_frames, data = parts[part_no]
            headers = {"X-First-Seq": str(first_seq), "X-Frames": str(n_frames), PART_DIGEST_HEADER: part_digest(data)}
            path = f"/api/hub/trials/{trial_id}/parts/{part_no}"
            try:
                self.client.request("PUT", path, data=data, headers=headers)
            except HubRefused as exc:
                if exc.status != 400 or "arrived damaged" not in str(exc):
                    raise
                self.client.request("PUT", path, data=data, headers=headers)  # damaged on the way: once more
        return len(missing)

    # -- patients from the hub --------------------------------------------------------------

    def pull_patient(self, identifier: str, *, actor: Actor) -> dict:
        """The patient ``identifier`` held here, else fetched from the hub and stored here (so
        they can be measured) with their history recorded elsewhere (:meth:`pull_history`; its
        outcome under ``history``: ``{"sessions", "trials"}`` or ``{"error"}``); NotFound if the
        hub does not know them either.

        The hub's erasures are taken first (as a sync's first step): a tombstone this station has
        not taken yet, of an earlier patient under the same identifier, would otherwise erase the
        patient pulled now, with what was recorded of them here, at the next sync. If the hub's
        erasures cannot be had, the pull goes on (the next sync takes them, as before)."""
        try:
            return self.store.patients.get_by_identifier(identifier)
        except NotFound:
            pass
        try:
            self._apply_tombstones(SyncReport())
        except SyncError:
            pass
        try:
            return self.store.patients.get_by_identifier(identifier)  # pulled meanwhile, and not erased
        except NotFound:
            pass
        try:
            answer = self.client.lookup("/api/hub/patients", {"identifier": identifier})
        except HubRefused as exc:
            if exc.status == 404:
                raise NotFound(f"no patient {identifier!r} here or on the hub") from None
            raise
        pulled = answer.get("patient")
        if not isinstance(pulled, dict):
            raise HubRefused(502, "the hub's answer holds no patient record (is [hub] url the hub's own address?); "
                                  "nothing was stored")
        fields = {k: v for k, v in pulled.items() if k != "archived"}
        with self.store.outbox.muted():
            try:
                patient = self.store.patients.create(fields, actor=actor)
            except Conflict:  # the same pull, made meanwhile (a double tap, another tablet), stored them
                return self.store.patients.get_by_identifier(fields.get("identifier"))
            if pulled.get("archived"):
                patient = self.store.patients.update(patient["id"], {"archived": True}, actor=actor)
        self.store.outbox.link(patient["id"], patient["identifier"])
        try:
            history = self.pull_history(patient["id"], actor=actor)
        except SyncError as exc:  # the patient is here; their history can be brought later
            history = {"error": said_once(str(exc), "their results recorded elsewhere can be brought later from the "
                                                    "history page")}
        return {**patient, "history": history}

    def hub_programmes(self, patient_id: int, *, actor: Actor) -> list[dict]:
        """The patient's programmes as the hub has them now, to show read-only here
        (:func:`station.sync.pulled.check_programmes`); audited ``programme.view``. HubRefused
        (one line) if the hub's answer is not that."""
        identifier = self.store.patients.get(patient_id)["identifier"]
        answer = self.client.lookup("/api/hub/patients/programmes", {"identifier": identifier})
        try:
            programmes = pulled.check_programmes(answer)
        except ValidationError as exc:
            raise HubRefused(502, f"the hub's answer to {self.client.lookup_method()} /api/hub/patients/programmes is "
                                  f"not a list of programmes ({exc}); is [hub] url the hub's own address?") from None
        self.store.audit.record(actor, "programme.view", patient_id=patient_id, object=f"patient:{patient_id}",
                                detail={"from_hub": len(programmes)})
        return programmes

    def pull_history(self, patient_id: int, *, actor: Actor) -> dict:
        """Bring (or refresh) the sessions and trials of patient ``patient_id`` recorded elsewhere
        (at other stations, or on the hub) from the hub, page by page, each page stored in one
        transaction (:mod:`station.sync.pulled`); returns ``{"sessions", "trials"}`` new here.
        HubRefused (one line) if the hub's answer is not a page of history (what came before stays)."""
        identifier = self.store.patients.get(patient_id)["identifier"]
        after, trial_after, pages, sessions, trials = 0, 0, 0, 0, 0
        while True:
            answer = self.client.lookup("/api/hub/patients/history",
                                        {"identifier": identifier, "after": after, "trial_after": trial_after})
            what = f"{self.client.lookup_method()} /api/hub/patients/history"
            following = take(answer, "next", what, WHOLE_OR_NULL)
            # a hub before history in parts sends whole sessions only, and no next_trial
            following_trial = take(answer, "next_trial", what, WHOLE) if "next_trial" in answer else 0
            if following is not None and (following, following_trial) <= (after, trial_after):
                raise wrong(what, "next", "a page already asked for", "a later page")
            try:
                page = pulled.check_page(take(answer, "sessions", what, LIST))
            except ValidationError as exc:
                raise HubRefused(502, f"the hub sent a visit or trial this station cannot store ({exc}); the pages "
                                      "before it were stored") from None
            new_sessions, new_trials = pulled.store_page(self.store, patient_id, page, actor=actor)
            sessions, trials = sessions + new_sessions, trials + new_trials
            pages += 1
            if following is None:
                return {"sessions": sessions, "trials": trials}
            if pages >= MAX_HISTORY_PAGES:
                raise HubRefused(502, f"the hub's history of this patient goes on beyond {MAX_HISTORY_PAGES} pages; "
                                      "the pages before were stored")
            after, trial_after = following, following_trial


_REFUSAL = re.compile(r"(the hub refused \S+ \S+ \(HTTP \d+\)): .*", re.DOTALL)
WORDS_WITHHELD = ("its words are not logged (they may name a patient): the station's status says them to a signed-in "
                  "user (GET /api/station, the dashboard)")


def journal_words(message: str) -> str:
    """A sync error as the station's log (the journal) keeps it: a refusal by the hub says what it
    refused and its HTTP status, not the hub's words, which may name a patient (``identifier 'P-123'
    is already used by another patient``); everything else as it is. The whole message stays in the
    outbox's state, which ``/api/station`` shows to a signed-in user.

    >>> journal_words("the hub refused POST /api/hub/push (HTTP 409): identifier 'P-7' is already used")
    "the hub refused POST /api/hub/push (HTTP 409); its words are not logged (they may name a patient): the station's status says them to a signed-in user (GET /api/station, the dashboard)"
    >>> journal_words("cannot reach the hub at https://hub:8443 (timed out); will retry")
    'cannot reach the hub at https://hub:8443 (timed out); will retry'
    """
    refused = _REFUSAL.fullmatch(message)
    return f"{refused.group(1)}; {WORDS_WITHHELD}" if refused else message


def _card_words(exc: StoreError) -> str:
    """What the station's card did when it refused a write of the sync's, and what to do (no patient data)."""
    from station.store.space import StorageFailing

    if isinstance(exc, (StorageFailed, StorageFailing)):
        return ("the station's storage failed to write (a disk I/O error: its SD card may be failing); check the SD "
                "card or replace it")
    return "the station's disk is full; free space on the station: delete old exports, move backups elsewhere"


class SyncWorker:
    """Runs :meth:`StationSync.sync_once` in a daemon thread: every ``interval_s`` while the hub
    answers, then backing off (doubling from ``interval_s`` up to ``max_backoff_s``) while it
    does not. :meth:`stop` ends it."""

    def __init__(self, sync: StationSync, *, interval_s: float = 30.0, max_backoff_s: float = 600.0):
        self.sync = sync
        self.interval_s = interval_s
        self.max_backoff_s = max_backoff_s
        self.next_wait_s = interval_s
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hub-sync", daemon=True)

    def start(self) -> "SyncWorker":
        self._thread.start()
        return self

    def step(self) -> float:
        """One sync; returns how long to wait before the next (the backoff after a failure). The
        first failure after a success, and the recovery, are said on standard error (the journal)."""
        try:
            self.sync.sync_once()
        except SyncError as exc:
            self._failed(str(exc))
            self.next_wait_s = (min(self.max_backoff_s, self.next_wait_s * 2) if self.last_error_streak
                                else self.interval_s)
            self.last_error_streak += 1
            return self.next_wait_s
        except Exception as exc:  # a bug or a store error must not stop the station's sync for good
            if isinstance(exc, (DiskFull, StorageFailed)):  # the card refused the store's write
                self._failed(f"the sync could not be noted here: {_card_words(exc)}; what is queued for the hub stays "
                             "queued and is sent once the station's storage writes again; retrying in "
                             f"{self.max_backoff_s:g} s")
            else:
                self._failed(f"sync failed ({type(exc).__name__}); retrying in {self.max_backoff_s:g} s")
            try:
                self.sync.store.outbox.record_attempt(self.last_error)
            except Exception:
                pass
            self.last_error_streak += 1
            self.next_wait_s = self.max_backoff_s
            return self.next_wait_s
        if self.last_error_streak:
            print("balance-station: sync with the hub works again", file=sys.stderr)
        self.last_error = None
        self.last_error_streak = 0
        self.next_wait_s = self.interval_s
        return self.next_wait_s

    def _failed(self, message: str) -> None:
        if not self.last_error_streak:
            print(f"balance-station: sync with the hub failed: {journal_words(message)}", file=sys.stderr)
        self.last_error = message

    last_error_streak = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = self.step()
            self._stop.wait(wait)

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
