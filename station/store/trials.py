"""Trials: recording raw frames durably, finishing with metrics, recovering interrupted ones.

A trial belongs to a session (one visit of one patient) and keeps its protocol and condition, its
raw frames (:data:`station.acquire.frame.FRAME_DTYPE`), the plate calibration in use, the sample
rate, its metrics (the dict of :func:`station.analysis.metrics.compute_metrics`: ``fs_hz``,
``samples``, ``profile``, ``version``, ``metrics``), and its validity with the reason.

Status: ``recording`` while a :class:`TrialWriter` appends; then ``complete`` (:meth:`finish`),
``aborted`` (:meth:`abort`: stopped on purpose, frames kept) or ``partial`` (the station stopped or
lost power while recording; set by :meth:`Trials.recover_partial_trials` at the next start, frames
kept, never shown as complete).

**Where the raw frames live: BLOB chunks in SQLite**, one row per group commit holding the frames'
bytes in ``FRAME_DTYPE`` layout (140 bytes per frame, 14.0 kB/s at 100 Hz). Chosen over
append-only files beside the database because

* each group commit is one transaction that stores the chunk *and* the trial's frame count
  together: after a crash the trial row and its frames agree exactly, with no torn file tail and no
  orphan or missing file to reconcile;
* an online backup of ``station.sqlite3`` carries the raw data with everything else;
* erasing a patient is one transaction (``ON DELETE CASCADE``), and ``secure_delete`` overwrites
  the freed pages.

The cost (a larger database, one more fsync per commit) is small at these rates: a 60 s trial is
0.8 MB.

**Durability of appends.** :meth:`TrialWriter.append` buffers frames in memory and hands them to the
committer thread for a commit (one chunk, WAL fsync'ed, see :mod:`station.store.db`) as soon as
``commit_interval_s`` (0.5 s by default) has passed since the last one. A crash therefore loses the
frames appended since the last commit the thread completed: the interval, the commit's own time and the
caller's batching (the protocol engine appends what it reads from the ring several times a second),
about a second on a working card; a commit that has not finished in :data:`MAX_UNCOMMITTED_S` ends the
trial (below), so that a crash never loses more.

**Commits off the loop's thread.** A commit takes a few milliseconds, but an SD card's fsync now and
then takes seconds; run in the appending thread (the trial service's loop, which also drains the
acquisition ring, carries out Stop and feeds the live page) it held the loop that long at every commit:
measured before (``benchmarks/recording_faults.py slow-fsync --fsync-s N``: every COMMIT of the writer
connection N s longer, the simulated station paced to real time), the loop's longest step was 1.05,
2.03 and 3.08 s for N = 1, 2, 3, once per commit. So the writers' transactions run in one committer
thread of :class:`Trials` (``trial-committer``, started at the first one), which uses the database's one
writer connection through :meth:`Database.write <station.store.db.Database.write>` as every writer of the
process does (one thread at a time, under its lock; the web's readers keep their own connections):

* a group commit hands over a snapshot of the buffer (its arrays and the counters as they are then)
  and :meth:`~TrialWriter.append` returns at once; the outcome is taken at the next append (the
  frames leave the buffer, the counters move on; an error is raised there, once). A writer has one
  transaction in flight at a time, so its chunks are stored in order; while one is in flight the
  frames go on buffering and the next commit, once it is done, takes them all;
* a trial's start, its finish or abort, and a partial mark are transactions of the same thread, made
  after the commit in flight, so they land after its frames; the loop waits :data:`HANDOVER_WAIT_S` at
  most for them: a trial's end not stored by then is :attr:`~TrialWriter.saving` (and
  :attr:`~TrialWriter.storing`), and the trial service's loop takes it back with
  :meth:`~TrialWriter.retry_end` on its next steps, not waiting again, the page saying it is being saved;
* a full disk or an I/O error in the thread ends the trial as partial in the appending thread, at the
  writer's next call, in words (DiskFull, StorageFailed), once;
* :data:`MAX_UNCOMMITTED_S` counts from the last commit the thread completed: a write lock held
  elsewhere that long ends the trial as partial, and so does a commit the storage has not finished in
  that time (counted in real time: the storage's, also under a simulated clock), the frames held in
  memory being stored with the mark once the storage answers (:class:`~station.store.db.StorageSlow` says
  so: the card is slow, not failed; reason ``storage slow``);
* a write the caller waits for (:meth:`~TrialWriter.finish` or :meth:`~TrialWriter.abort` with ``wait=True``,
  :meth:`~TrialWriter.flush`) waits for the storage as long as for another program's lock, then raises
  StorageSlow, the write going on in the thread (a trial's end then taken back by
  :meth:`~TrialWriter.retry_end`);
* closing the store (:meth:`Trials.close`) lets the thread finish what it was handed,
  :data:`SHUTDOWN_DRAIN_S` at most, before the database closes; a write still unfinished then is said in
  one log line and left (its trial is recovered as partial at the next start).

Measured now, the same way, before and after one after the other (this 2-core machine at load 10-16):
the loop's longest call into the recorder for N = 1, 2, 3 was 1.39, 2.21, 3.25 s before (every commit)
and is 0.26, 0.26, 0.25 s now (once: a trial's end, its handover wait); its longest step, which at that
load also waits for a CPU, 1.41, 2.22, 3.27 s before and 0.34, 1.06, 1.04 s now (sampled: the simulated
station catching up, no storage wait). No frame was lost either way (the ring holds 164 s at 100 Hz).

**Another process holding the write lock.** An administrator's command (``sync --resend`` replacing a
long trial's chunks, ``users``, ``export``...) may hold the database's write lock for seconds. A group
commit waits for it at most :data:`FLUSH_BUSY_WAIT_MS`; when it cannot begin, the frames stay buffered
in memory and the commit is tried again one interval later, so the recording goes on and the caller is
never held up for the busy timeout; a trial started meanwhile gets its row at its first commit. While
the lock is held, a crash loses up to :data:`MAX_UNCOMMITTED_S` of frames instead of about a second. A
lock held longer than that ends the trial as ``partial`` with the frames committed so far and the
reason in words (:data:`DATABASE_BUSY_REASON`), like a full disk (:data:`DISK_FULL_REASON`).
:meth:`TrialWriter.finish` and :meth:`TrialWriter.abort` wait for the lock (retrying the busy timeout)
until the same bound, at least one busy timeout.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from station import __version__
from station.acquire.frame import FRAME_DTYPE, periods_after_go
from station.clock import Clock, MonotonicClock
from station.store import fields
from station.store.audit import Actor, AuditLog
from station.store import db as _db
from station.store.db import (Conflict, Database, DatabaseBusy, DiskFull, NotFound, StorageFailed, StorageSlow,
                              StoreError, ValidationError)
from station.store.timefmt import utc_iso
from station.store.verdict import station_unable, unable_kind

log = logging.getLogger(__name__)

STATUSES = ("recording", "complete", "aborted", "partial")
DISK_FULL_REASON = "disk full"
"""How ``status_reason`` begins for a trial the full disk ended (the pages name that cause: report.unfinished_words)."""
STORAGE_FAILED_REASON = "storage failed"
"""How ``status_reason`` begins for a trial ended because the station's storage failed to write (a disk I/O
error: a failing SD card; the pages name that cause: report.unfinished_words)."""
STORAGE_SLOW_REASON = "storage slow"
"""How ``status_reason`` begins for a trial ended because the station's storage had not finished a commit in
:data:`MAX_UNCOMMITTED_S` (an SD card still writing: slow, not failed; the pages name that cause:
report.unfinished_words)."""
DATABASE_BUSY_REASON = "database busy"
"""How ``status_reason`` begins for a trial ended because another process held the database's write
lock for longer than :data:`MAX_UNCOMMITTED_S` (the pages name that cause: report.unfinished_words)."""
FLUSH_BUSY_WAIT_MS = 50
"""How long a group commit waits for the write lock before leaving its frames buffered for the next
interval, ms (the trial service's loop reads the ring every 50 ms)."""
MAX_UNCOMMITTED_S = 30.0
"""How long a trial's frames may stay uncommitted while the write lock is held elsewhere, s (what a
crash could then lose; 420 kB of memory at 100 Hz); beyond it the trial ends as ``partial``. Longer
than the administrator's commands hold the lock (seconds on a Pi's SD card), far shorter than the
acquisition ring (164 s at 100 Hz)."""
SUMMARY_METRICS = (
    "ellipse_area_cm2",
    "mean_velocity_cm_s",
    "path_length_cm",
    "rms_distance_cm",
    "mean_power_frequency_hz",
    "walk_time_s",
    "walk_speed_m_s",
)
"""Metrics included in trial summaries (patient and session pages; a walk's time and speed as its
result stores them); the trial detail has all."""
HANDOVER_WAIT_S = 0.25
"""How long a trial's start, its end (finish or abort, ``wait=False``) and a partial mark wait for the
committer thread before the trial service's loop goes on without them, s: they are then taken back at
the loop's next try (the end's :meth:`TrialWriter.retry_end`), the page saying the trial is being saved.
A group commit is not waited for at all."""
SHUTDOWN_DRAIN_S = 10.0
"""How long closing the store waits for the transactions handed to the committer thread, s (a trial's
end and its last frames on an SD card taking seconds to write; systemd gives the service 90 s to stop)."""
DEFAULT_COMMIT_INTERVAL_S = 0.5
MAX_RATE_HZ = 10_000.0
MAX_CALIBRATION_BYTES = 64 * 1024
MAX_METRICS_BYTES = 256 * 1024
MAX_REASON_CHARS = 500
MAX_NOTES_CHARS = 2000
JUDGEMENT_FIELDS = ("valid", "validity_reason", "notes")
IMPORT_CHUNK_FRAMES = 6000
GET_MANY_BATCH = 500
"""Trial ids per query of :meth:`Trials.get_many` (far below both databases' limits on parameters)."""
_METRICS_KEYS = ("fs_hz", "samples", "profile", "version", "metrics")


def _dtype_json(dtype: np.dtype) -> str:
    return json.dumps(dtype.descr)


FRAME_CHUNKS_PER_READ = 32
"""Chunks of a trial's frames fetched by one query of :meth:`TrialStore.frames` (a chunk is a commit:
about half a second of frames, 7 kB at 100 Hz)."""


FRAME_CHUNK_DTYPE = [("chunk_no", "<i8"), ("first_seq", "<i8"), ("n_frames", "<i8")]
"""The fields of :meth:`Trials.frame_chunks`, one record a chunk."""


class CorruptFrames(StoreError):
    """A trial's stored frames are not what their chunks' index says (an SD card's flipped bits, a
    copy cut short): the message names the trial, the chunk and what was found, and what to do.
    ``trial_id`` and ``detail`` (the chunk's words) let a caller that can go on without the frames
    (an export's other files, a report's other pages, a sync's other changes) say its own words."""

    WHAT_TO_DO = ("the trial's other records (its results, notes and judgement) are kept; its results export without "
                  "frames (the JSON sidecar, or FHIR), and a backup of the data directory from before the damage has "
                  "its frames")

    def __init__(self, trial_id: int, detail: str):
        self.trial_id, self.detail = int(trial_id), detail
        super().__init__(f"trial #{trial_id}: stored frames are corrupt ({detail}); {self.WHAT_TO_DO}")


def _dtype_from_json(text: str) -> np.dtype:
    return np.dtype([tuple(field) for field in json.loads(text)])


def _check_frames(frames: object) -> np.ndarray:
    if not isinstance(frames, np.ndarray) or frames.dtype != FRAME_DTYPE:
        got = frames.dtype if isinstance(frames, np.ndarray) else type(frames).__name__
        raise TypeError(f"frames must be a numpy array of FRAME_DTYPE (station.acquire.frame), got {got}")
    if frames.ndim != 1:
        raise ValueError(f"frames must be one-dimensional, got shape {frames.shape}")
    return frames


def _seq_gaps(frames: np.ndarray, last_seq: int | None) -> int:
    """Frames lost inside ``frames`` and between ``last_seq`` and them; ValueError if not increasing."""
    seq = frames["seq"].astype(np.int64)
    steps = np.diff(seq)
    if (steps <= 0).any():
        raise ValueError("frame seq numbers must increase strictly within an append")
    lost = int((steps - 1).sum())
    if last_seq is not None:
        if seq[0] <= last_seq:
            raise ValueError(f"frame seq {int(seq[0])} does not follow the previous append's last seq {last_seq}")
        lost += int(seq[0]) - last_seq - 1
    return lost


def _check_start(protocol: object, condition: object, calibration: object, rate_hz: object) -> tuple:
    problems = {}
    try:
        protocol = fields.text(protocol, max_chars=64, required=True)
    except ValueError as exc:
        problems["protocol"] = str(exc)
    try:
        condition = fields.text(condition, max_chars=64, required=True)
    except ValueError as exc:
        problems["condition"] = str(exc)
    if not isinstance(calibration, dict):
        problems["calibration"] = "must be a dict (e.g. PlateCalibration.to_dict())"
    else:
        try:
            calibration = fields.json_document(calibration, max_bytes=MAX_CALIBRATION_BYTES)
        except ValueError as exc:
            problems["calibration"] = str(exc)
    try:
        rate_hz = fields.number(rate_hz, low=1e-3, high=MAX_RATE_HZ, unit="Hz")
    except ValueError as exc:
        problems["rate_hz"] = str(exc)
    if problems:
        raise ValidationError(problems)
    return protocol, condition, calibration, rate_hz


def _check_result(metrics: object, valid: object, reason: object) -> tuple[str | None, bool, str | None]:
    problems = {}
    metrics_doc = None
    if metrics is not None:
        if not isinstance(metrics, dict) or any(k not in metrics for k in _METRICS_KEYS):
            problems["metrics"] = (
                "must be the dict of compute_metrics() with keys " + ", ".join(_METRICS_KEYS) + ", or None"
            )
        elif not isinstance(metrics["metrics"], dict):
            problems["metrics"] = "metrics['metrics'] must be a dict of metric name to value"
        else:
            try:
                metrics_doc = fields.json_document(metrics, max_bytes=MAX_METRICS_BYTES)
            except ValueError as exc:
                problems["metrics"] = str(exc)
    if not isinstance(valid, bool):
        problems["valid"] = "must be True or False"
    if reason is not None:
        try:
            reason = fields.text(reason, max_chars=MAX_REASON_CHARS) or None
        except ValueError as exc:
            problems["reason"] = str(exc)
    if valid is False and reason is None and "reason" not in problems:
        problems["reason"] = "an invalid trial needs the reason"
    if problems:
        raise ValidationError(problems)
    return metrics_doc, valid, reason


def _issue_list(issues) -> list:
    """A stored result's quality issues (``$.trial.issues``: JSON text from SQLite, the list itself from
    PostgreSQL's json_extract), [] when none or unreadable."""
    if isinstance(issues, str):
        try:
            issues = json.loads(issues)
        except ValueError:
            return []
    return issues if isinstance(issues, list) else []


def _first_issue_code(issues) -> str | None:
    """The code of a stored result's first quality issue, or None."""
    issues = _issue_list(issues)
    first = issues[0] if issues else None
    return str(first["code"]) if isinstance(first, dict) and first.get("code") is not None else None


def summary(row: sqlite3.Row) -> dict:
    """A trial's summary from a row of :data:`SUMMARY_SQL`."""
    rate = row["rate_hz"]
    return {
        "id": row["id"],
        "session_id": row["session_id"],
        "protocol": row["protocol"],
        "condition": row["condition"],
        "status": row["status"],
        "started_at": row["started_at"],
        "duration_s": row["frame_count"] / rate,
        "frame_count": row["frame_count"],
        "frames_lost": row["frames_lost"],
        "valid": None if row["valid"] is None else bool(row["valid"]),
        "validity_reason": row["validity_reason"],
        "notes": row["notes"],
        "judged_by": row["judged_by"],
        "metrics": {name: row[f"m_{name}"] for name in SUMMARY_METRICS},
        # a timed hold's time held (s; None for other tests or none measured), and the first quality issue's code
        # (a single-leg hold that never began: "no_liftoff"), beside the recording's length that is not the time held
        "time_held_s": row["time_held_s"],
        "first_issue": _first_issue_code(row["issues"]),
        # a single-leg trial the station counts as unable, 0 s, as the results page does (verdict.unable_kind):
        # "measured" (the foot never lifted), "scored" (by the clinician, not measured), else None
        "unable": unable_kind({"valid": row["valid"], "validity_reason": row["validity_reason"],
                               "judged_by": row["judged_by"], "metrics": {"trial": {"issues": _issue_list(row["issues"])}}}),
    }


SUMMARY_SQL = (
    "SELECT t.id, t.session_id, t.protocol, t.condition, t.status, t.started_at, t.rate_hz, t.frame_count,"
    " t.frames_lost, t.valid, t.validity_reason, t.notes, t.judged_by,"
    " json_extract(t.metrics, '$.trial.time_held_s') AS time_held_s,"
    " json_extract(t.metrics, '$.trial.issues') AS issues, "
    + ", ".join(f"json_extract(t.metrics, '$.metrics.{name}') AS m_{name}" for name in SUMMARY_METRICS)
    + " FROM trials t"
)
"""Selects what :func:`summary` needs (metrics picked inside SQLite, not shipped whole)."""


def _station_check(row: sqlite3.Row) -> dict:
    """The station's own verdict: the stored one until a clinician overrides it, then the one
    kept aside at the first override."""
    if row["judged_by"] is None:
        valid = row["valid"]
        return {"valid": None if valid is None else bool(valid), "reason": row["validity_reason"]}
    valid = row["station_valid"]
    return {"valid": None if valid is None else bool(valid), "reason": row["station_validity_reason"]}


def _detail(row: sqlite3.Row) -> dict:
    """A stored trial as :meth:`Trials.get` gives it; its ``station_check`` says whether the station
    counts it as unable, 0 s (``"scored"``, ``"measured"`` or None: :func:`.verdict.station_unable`)."""
    trial = {
        "id": row["id"],
        "session_id": row["session_id"],
        "patient_id": row["patient_id"],
        "protocol": row["protocol"],
        "condition": row["condition"],
        "status": row["status"],
        "status_reason": row["status_reason"],
        "started_at": row["started_at"],
        "ended_at": row["ended_at"],
        "rate_hz": row["rate_hz"],
        "duration_s": row["frame_count"] / row["rate_hz"],
        "frame_count": row["frame_count"],
        "frames_lost": row["frames_lost"],
        "start_seq": row["start_seq"],
        "time_zero_seq": row["time_zero_seq"],
        "calibration": json.loads(row["calibration"]),
        "metrics": None if row["metrics"] is None else json.loads(row["metrics"]),
        "valid": None if row["valid"] is None else bool(row["valid"]),
        "validity_reason": row["validity_reason"],
        "notes": row["notes"],
        "judged_by": row["judged_by"],
        "judged_at": row["judged_at"],
        "station_check": _station_check(row),
        "station_version": row["station_version"],
        "recorded_by": row["recorded_by"],
        "station_id": row["station_id"],
        "calibration_id": row["calibration_id"],
    }
    trial["station_check"]["unable"] = station_unable(trial)
    return trial


class Trials:
    """Trials of the store. ``clock`` paces group commits; ``wall_clock`` stamps times."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        *,
        wall_clock: Callable[[], float] = time.time,
        clock: Clock | None = None,
        commit_interval_s: float = DEFAULT_COMMIT_INTERVAL_S,
    ):
        if not 0 < commit_interval_s <= 1.0:
            raise ValueError("commit_interval_s must be in (0, 1] s: a crash may lose at most about a second")
        self._db = db
        self._audit = audit
        self._now = wall_clock
        self._clock = clock or MonotonicClock()
        self._commit_interval_ns = int(commit_interval_s * 1e9)
        self._active: set[int] = set()
        self._active_lock = threading.Lock()
        self._unclosed: list[TrialWriter] = []
        """Writers of trials a full disk, a failing storage or a busy database ended whose ``partial``
        could not be written yet (with the frames they still hold, when a busy database ended them);
        :meth:`close_unclosed` writes them."""
        self._close_retry_ns = 0
        """After the storage failed to write a ``partial``, when :meth:`close_unclosed` tries again."""
        self._committer = _Committer()
        """The thread the writers' transactions run in (see "Commits off the loop's thread" in the module doc)."""

    # -- recording --------------------------------------------------------------------------

    def start_trial(
        self,
        session_id: int,
        protocol: str,
        condition: str,
        calibration: dict,
        rate_hz: float,
        *,
        actor: Actor | None = None,
        start_seq: int | None = None,
        go_ns: int | None = None,
    ) -> "TrialWriter":
        """Create a trial in state ``recording`` and return its writer.

        When another program holds the database's write lock (longer than :data:`FLUSH_BUSY_WAIT_MS`),
        the writer is returned at once without its row (``trial_id`` None): the frames wait in its
        buffer and the first group commit that gets the lock makes the row with them, the start time
        being this call's (see "Another process holding the write lock" in the module doc).

        Parameters
        ----------
        session_id : int
            The session (visit) it belongs to; its patient must not be archived.
        protocol, condition : str
            Names from the protocol engine (e.g. ``"romberg"``, ``"eyes_closed"``), 1-64 characters.
        calibration : dict
            The plate calibration in use (JSON-serialisable, e.g. ``PlateCalibration.to_dict()``).
        rate_hz : float
            Nominal frame rate, Hz.
        actor : Actor, optional
            Who records (the logged-in clinician); default the station itself.
        start_seq : int, optional
            The trial's first sample slot (:attr:`station.protocols.machine.TrialMachine.start_seq`, the
            first at or after its start signal), stored with it: its frames read back (the trial API,
            exports) have ``time_s = (seq - start_seq) / rate_hz``, the times of its trial CSV written
            live, and slots lost before its first frame are lost frames as gaps are (its ``frames_lost``,
            an aborted or interrupted trial's too). None (a walk, timed on the clock from its go): only
            the gaps between its frames counted, its time zero by ``go_ns``.
        go_ns : int, optional
            For a trial without ``start_seq`` (a walk), its go on the station clock (the clock of its
            frames' ``t_ns``): its first frame is placed a whole number of periods after it
            (:func:`station.acquire.frame.periods_after_go`), as its trial CSV written live and its
            result (the steps' times) place it, and its ``time_zero_seq`` (the seq time_s counts from)
            stored with its first frames. None as well: time zero at its first stored frame.
        """
        actor = actor or Actor.system()
        protocol, condition, calibration_doc, rate_hz = _check_start(protocol, condition, calibration, rate_hz)
        if start_seq is not None and (isinstance(start_seq, bool) or not isinstance(start_seq, int)
                                      or not 0 <= start_seq < 2**62):
            raise ValueError(f"start_seq must be a frame's seq (a whole number from 0 to 2^62) or None, not {start_seq!r}")
        if go_ns is not None and (isinstance(go_ns, bool) or not isinstance(go_ns, int)):
            raise ValueError(f"go_ns must be a time on the station clock (whole ns) or None, not {go_ns!r}")
        self.close_unclosed(FLUSH_BUSY_WAIT_MS)  # an earlier trial a fault ended, before this one's row
        writer = TrialWriter(self, _TrialStart(session_id, protocol, condition, calibration_doc, rate_hz,
                                               utc_iso(self._now()), start_seq, None if start_seq is not None else go_ns),
                             actor)
        writer._handover("start", lambda conn, part: 0, FLUSH_BUSY_WAIT_MS)
        job = writer._take(HANDOVER_WAIT_S)  # else taken at the first append (a slow storage)
        if job is not None:
            try:
                job.outcome()
            except DatabaseBusy:
                pass  # another program holds the write lock: the trial's first commit that gets it creates it
        return writer

    def _create(self, conn, start: "_TrialStart", actor: Actor) -> tuple[int, int]:
        """Insert the trial of ``start`` (state ``recording``) in the transaction of ``conn``; returns
        (trial id, patient id)."""
        session = conn.execute(
            "SELECT s.patient_id, p.archived_at FROM sessions s JOIN patients p ON p.id = s.patient_id"
            " WHERE s.id = ?",
            (start.session_id,),
        ).fetchone()
        if session is None:
            raise NotFound(f"no session #{start.session_id}")
        if session["archived_at"] is not None:
            raise Conflict("the patient is archived; unarchive the patient before recording")
        cur = conn.execute(
            "INSERT INTO trials (session_id, protocol, condition, status, started_at, last_commit_at, rate_hz,"
            " calibration, frame_dtype, station_version, recorded_by, start_seq)"
            " VALUES (?, ?, ?, 'recording', ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                start.session_id,
                start.protocol,
                start.condition,
                start.started_at,
                start.started_at,
                start.rate_hz,
                start.calibration_doc,
                _dtype_json(FRAME_DTYPE),
                __version__,
                actor.username,
                start.start_seq,
            ),
        )
        trial_id = int(cur.lastrowid)
        self._audit.record(
            actor, "trial.record", patient_id=session["patient_id"], object=f"trial:{trial_id}",
            detail={"protocol": start.protocol, "condition": start.condition},
        )
        return trial_id, int(session["patient_id"])

    def _release(self, trial_id: int) -> None:
        with self._active_lock:
            self._active.discard(trial_id)

    def close_unclosed(self, busy_wait_ms: int | None = None, *, paced: bool = False) -> list[int]:
        """Mark ``partial`` the trials a full disk, a failing storage or a busy database ended while
        their ``partial`` could not be written (:meth:`TrialWriter._end_partial`), with the frames a
        busy database kept from being stored; returns their ids ([] at once when there are none). The
        trial service calls it on every step, the next trial's start too. A database still busy after
        ``busy_wait_ms`` (or still full, or its storage still failing) leaves them for later. ``paced``
        (the trial service's loop): after a failed try, the next is made one commit interval later, not
        on every step (the lock's wait, or a failing storage's write, would slow the loop down). The
        marks are written by the committer thread; with ``busy_wait_ms`` each is waited for
        :data:`HANDOVER_WAIT_S` at most (a slow storage: taken back at the next call), else until done."""
        if not self._unclosed or paced and self._clock.monotonic_ns() < self._close_retry_ns:
            return []
        closed = []
        for writer in list(self._unclosed):
            try:
                stored = writer._store_partial(busy_wait_ms, None if busy_wait_ms is None else HANDOVER_WAIT_S)
            except (DatabaseBusy, DiskFull, StorageFailed):
                self._close_retry_ns = self._clock.monotonic_ns() + self._commit_interval_ns
                break  # the others would wait for the same lock, room or storage
            if stored is None:
                break  # the storage is slow: taken at the next call
            self._unclosed.remove(writer)
            if stored:
                closed.append(writer.trial_id)
        return closed

    def off_loop(self, fn: Callable[[], object]) -> "_Job":
        """Run ``fn()`` (a write of the trial service's that its loop must not wait for: what follows a
        stored trial) in the committer thread, after what was handed to it before; the job's ``done`` event
        says when it is done, its ``outcome()`` gives ``fn``'s answer (or raises its error)."""
        return self._committer.submit(_Job(fn, "off-loop", None))

    def drain(self, timeout_s: float | None = None) -> bool:
        """Wait until the committer thread has run every transaction handed to it (``timeout_s`` at
        most; None: until it has); whether it has. The writers take the outcomes at their next call
        (:meth:`TrialWriter.wait_commit`). A simulated station, whose clock runs faster than the
        committer's real time, calls it after each step of its service: on a station the step's 50 ms
        are time enough for a commit on a working card."""
        return self._committer.drain(timeout_s)

    def close(self, timeout_s: float | None = None) -> bool:
        """Run the transactions handed to the committer thread, ``timeout_s`` at most (None:
        :data:`SHUTDOWN_DRAIN_S`), and end the thread (the store closes next); whether every one was stored. One still running after that
        (a storage that does not answer) is said in one log line: its trial is recovered as partial
        at the next start, with the frames committed before it."""
        timeout_s = SHUTDOWN_DRAIN_S if timeout_s is None else timeout_s
        done = self._committer.close(timeout_s)
        if not done:
            log.error("the station's storage did not finish writing a trial within %g s of the shutdown; the next start "
                      "recovers the trial as partial with the frames committed before", timeout_s)
        return done

    def _mark_partial(self, conn, trial_id: int, reason: str, patient_id: int, actor: Actor, frames_kept: int,
                      cause: str) -> None:
        conn.execute(
            "UPDATE trials SET status = 'partial', status_reason = ?, ended_at = ?, valid = 0,"
            " validity_reason = ? WHERE id = ? AND status = 'recording'",
            (reason, utc_iso(self._now()), "partial recording: " + reason, trial_id),
        )
        self._audit.record(actor, "trial.recover", patient_id=patient_id, object=f"trial:{trial_id}",
                           detail={"frames_kept": frames_kept, "cause": cause})

    def active_trial_ids(self) -> set[int]:
        """Trials being recorded by writers of this process."""
        with self._active_lock:
            return set(self._active)

    def recover_partial_trials(self, *, actor: Actor | None = None) -> list[int]:
        """Mark trials left ``recording`` by a crash or power cut as ``partial``; return their ids.

        Call it at start, in the one process that records (it skips this process's own active
        writers). Frames committed before the interruption are kept; the trial is invalid, with
        the reason, and keeps no metrics.
        """
        actor = actor or Actor.system()
        recovered = []
        active = self.active_trial_ids()
        with self._db.write() as conn:
            rows = conn.execute(
                "SELECT t.id, t.frame_count, t.rate_hz, t.started_at, t.last_commit_at, s.patient_id"
                " FROM trials t JOIN sessions s ON s.id = t.session_id WHERE t.status = 'recording'"
            ).fetchall()
            for row in rows:
                if row["id"] in active:
                    continue
                kept_s = row["frame_count"] / row["rate_hz"]
                reason = (
                    f"recording interrupted (station stopped or lost power); {row['frame_count']} frames "
                    f"({kept_s:.1f} s) kept"
                )
                conn.execute(
                    "UPDATE trials SET status = 'partial', status_reason = ?, ended_at = ?, valid = 0,"
                    " validity_reason = ? WHERE id = ?",
                    (reason, row["last_commit_at"] or row["started_at"], "partial recording: " + reason, row["id"]),
                )
                self._audit.record(
                    actor, "trial.recover", patient_id=row["patient_id"], object=f"trial:{row['id']}",
                    detail={"frames_kept": row["frame_count"]},
                )
                recovered.append(row["id"])
        return recovered

    def import_trial(
        self,
        session_id: int,
        protocol: str,
        condition: str,
        calibration: dict,
        rate_hz: float,
        frames: np.ndarray,
        metrics: dict | None,
        valid: bool,
        reason: str | None,
        *,
        actor: Actor | None = None,
        started_at_s: float | None = None,
    ) -> int:
        """Store a whole, already recorded trial (status ``complete``) in one transaction.

        For imports and bulk generation; recordings use :meth:`start_trial`. ``started_at_s``
        (Unix time, s) defaults to now. Returns the trial id.
        """
        actor = actor or Actor.system()
        protocol, condition, calibration_doc, rate_hz = _check_start(protocol, condition, calibration, rate_hz)
        frames = _check_frames(frames)
        lost = _seq_gaps(frames, None) if len(frames) else 0
        metrics_doc, valid, reason = _check_result(metrics, valid, reason)
        started = self._now() if started_at_s is None else started_at_s
        with self._db.write() as conn:
            session = conn.execute("SELECT patient_id FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if session is None:
                raise NotFound(f"no session #{session_id}")
            n = len(frames)
            cur = conn.execute(
                "INSERT INTO trials (session_id, protocol, condition, status, started_at, ended_at, last_commit_at,"
                " rate_hz, calibration, frame_dtype, frame_count, frames_lost, first_seq, last_seq, metrics, valid,"
                " validity_reason, station_version, recorded_by)"
                " VALUES (?, ?, ?, 'complete', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id, protocol, condition, utc_iso(started), utc_iso(started + n / rate_hz),
                    utc_iso(started + n / rate_hz), rate_hz, calibration_doc, _dtype_json(FRAME_DTYPE), n, lost,
                    int(frames["seq"][0]) if n else None, int(frames["seq"][-1]) if n else None,
                    metrics_doc, int(valid), reason, __version__, actor.username,
                ),
            )
            trial_id = int(cur.lastrowid)
            for chunk_no, start in enumerate(range(0, n, IMPORT_CHUNK_FRAMES)):
                part = frames[start : start + IMPORT_CHUNK_FRAMES]
                conn.execute(
                    "INSERT INTO trial_chunks (trial_id, chunk_no, first_seq, n_frames, data) VALUES (?, ?, ?, ?, ?)",
                    (trial_id, chunk_no, int(part["seq"][0]), len(part), part.tobytes()),
                )
            self._audit.record(
                actor, "trial.record", patient_id=session["patient_id"], object=f"trial:{trial_id}",
                detail={"protocol": protocol, "condition": condition, "imported": True},
            )
        return trial_id

    # -- reading ----------------------------------------------------------------------------

    def _row(self, conn: sqlite3.Connection, trial_id: int) -> sqlite3.Row:
        row = conn.execute(
            "SELECT t.*, s.patient_id FROM trials t JOIN sessions s ON s.id = t.session_id WHERE t.id = ?",
            (trial_id,),
        ).fetchone()
        if row is None:
            raise NotFound(f"no trial #{trial_id}")
        return row

    def get(self, trial_id: int) -> dict:
        """A trial's details and metrics, without frames (not audited: for the station's own use)."""
        with self._db.read() as conn:
            return _detail(self._row(conn, trial_id))

    def get_many(self, trial_ids: Iterable[int]) -> dict[int, dict]:
        """Several trials' details (each as :meth:`get` gives it), ``{trial id: details}``, read in
        one snapshot with one query per :data:`GET_MANY_BATCH` ids (not audited: for the station's
        own use; the results and history pages read a patient's trials with it instead of one
        transaction per trial, which costs several round trips each on the hub's PostgreSQL).

        Raises
        ------
        NotFound
            One of the ids is not stored (erased meanwhile): the first such id is named.
        """
        wanted = list(dict.fromkeys(int(i) for i in trial_ids))
        found: dict[int, dict] = {}
        with self._db.read() as conn:
            for start in range(0, len(wanted), GET_MANY_BATCH):
                batch = wanted[start:start + GET_MANY_BATCH]
                rows = conn.execute(
                    "SELECT t.*, s.patient_id FROM trials t JOIN sessions s ON s.id = t.session_id"
                    f" WHERE t.id IN ({', '.join('?' * len(batch))})",
                    batch,
                ).fetchall()
                for row in rows:
                    found[row["id"]] = _detail(row)
        missing = next((i for i in wanted if i not in found), None)
        if missing is not None:
            raise NotFound(f"no trial #{missing}")
        return found

    def view(self, trial_id: int, *, actor: Actor) -> dict:
        """:meth:`get` for a person, recorded in the audit log."""
        trial = self.get(trial_id)
        self._audit.record(actor, "trial.view", patient_id=trial["patient_id"], object=f"trial:{trial_id}")
        return trial

    def frame_chunks(self, trial_id: int) -> np.ndarray:
        """The chunks the trial's frames are stored in, in order: a structured array of ``chunk_no``,
        ``first_seq`` (the seq of its first frame) and ``n_frames``, read without their frames (a
        2-hour recording's 14,000 chunks: 0.3 MB). A caller that needs some of the frames picks their
        chunks from it and reads those with :meth:`frames` (``chunks``).

        Raises
        ------
        CorruptFrames
            A chunk's bytes are not a whole number of frames, or not its ``n_frames`` frames (the
            same words as :meth:`frames`, so that a part of a corrupt trial is refused as the whole is).
        """
        with self._db.read() as conn:
            itemsize = _dtype_from_json(self._row(conn, trial_id)["frame_dtype"]).itemsize
            rows = conn.execute("SELECT chunk_no, first_seq, n_frames, LENGTH(data) FROM trial_chunks"
                                " WHERE trial_id = ? ORDER BY chunk_no", (trial_id,)).fetchall()
        table = np.array([tuple(row[:3]) for row in rows], dtype=FRAME_CHUNK_DTYPE)
        size_bytes = np.array([row[3] for row in rows], dtype=np.int64)
        wrong = np.flatnonzero(size_bytes != table["n_frames"] * itemsize)
        if len(wrong):
            i = int(wrong[0])
            raise CorruptFrames(trial_id, f"chunk {int(table['chunk_no'][i])} is {int(size_bytes[i])} bytes, not its "
                                          f"{int(table['n_frames'][i])} frames of {itemsize} bytes")
        return table

    def frames(self, trial_id: int, fields: Iterable[str] | None = None,
               chunks: tuple[int, int] | None = None) -> np.ndarray:
        """The trial's stored frames (in their stored dtype, FRAME_DTYPE for this version), or only
        their ``fields`` (a structured array of those, in that order; ``KeyError`` naming one the
        trial does not have); with ``chunks`` = ``(first, last)``, only the frames of the chunks
        whose ``chunk_no`` is from ``first`` to ``last`` (:meth:`frame_chunks` lists them), so a
        window of a long trial costs its own chunks, not the whole trial.

        The chunks are copied one by one into the result, so the peak is the result and one chunk:
        joined first, a 120-min treadmill session (720,000 frames, 100 MB) took 202 MB a request, and
        the pages that draw a walk's steps need 4 of its 20 fields (23 MB).

        Raises
        ------
        CorruptFrames
            A chunk read is not a whole number of frames, or its frames do not start at its
            ``first_seq`` or number its ``n_frames`` (the index a window is found by).
        """
        first, last_no = (0, 2**62) if chunks is None else (int(chunks[0]), int(chunks[1]))
        with self._db.read() as conn:
            row = self._row(conn, trial_id)
            dtype = _dtype_from_json(row["frame_dtype"])
            wanted = dtype if fields is None else np.dtype([(name, dtype.fields[name][0]) for name in fields])
            (size,) = conn.execute("SELECT COALESCE(SUM(LENGTH(data)), 0) FROM trial_chunks WHERE trial_id = ?"
                                   " AND chunk_no >= ? AND chunk_no <= ?", (trial_id, first, last_no)).fetchone()
            if size % dtype.itemsize:
                raise CorruptFrames(trial_id, f"its chunks hold {size} bytes, not a whole number of {dtype.itemsize}-byte "
                                              "frames")
            out = np.empty(size // dtype.itemsize, dtype=wanted)
            at, last = 0, first - 1
            while True:  # a page of chunks at a time: a driver may hold a query's whole result (PostgreSQL's does)
                page = conn.execute("SELECT chunk_no, first_seq, n_frames, data FROM trial_chunks WHERE trial_id = ?"
                                    " AND chunk_no > ? AND chunk_no <= ? ORDER BY chunk_no LIMIT ?",
                                    (trial_id, last, last_no, FRAME_CHUNKS_PER_READ)).fetchall()
                for last, first_seq, n_frames, blob in page:
                    if len(blob) % dtype.itemsize:
                        raise CorruptFrames(trial_id, f"chunk {last} is {len(blob)} bytes, not a whole number of "
                                                      f"{dtype.itemsize}-byte frames")
                    chunk = np.frombuffer(blob, dtype=dtype)
                    if len(chunk) != n_frames:
                        raise CorruptFrames(trial_id, f"chunk {last} holds {len(chunk)} frames, its index says {n_frames}")
                    if len(chunk) and int(chunk["seq"][0]) != first_seq:
                        raise CorruptFrames(trial_id, f"chunk {last} starts at frame {first_seq}, its frames at "
                                                      f"{int(chunk['seq'][0])}")
                    if fields is None:
                        out[at : at + len(chunk)] = chunk
                    else:
                        for name in wanted.names:
                            out[name][at : at + len(chunk)] = chunk[name]
                    at += len(chunk)
                if len(page) < FRAME_CHUNKS_PER_READ:
                    return out

    def set_validity(self, trial_id: int, valid: bool, reason: str | None, *, actor: Actor) -> dict:
        """A clinician's judgement of a finished trial (e.g. "patient talked"); audited.
        Same as :meth:`judge` with ``valid`` and ``validity_reason``."""
        return self.judge(trial_id, {"valid": valid, "validity_reason": reason}, actor=actor)

    def judge(self, trial_id: int, data: dict, *, actor: Actor, station_result: bool = False) -> dict:
        """The clinician's judgement and note of a finished trial, in one audited change.

        ``data``: ``valid`` (bool) with ``validity_reason`` (required when invalid, up to
        500 characters) overrides the station's check: who and when are stored, and the
        station's own verdict is kept aside the first time (``station_check`` of the trial);
        ``notes`` (up to 2000 characters, several lines; '' clears) is the clinician's note on
        the trial. The audit entry names the fields changed, never their text.

        ``station_result``: the caller found that the station's own check counts this trial as a
        result although its stored ``valid`` is 0 (a single-leg trial unable, 0 s: the foot never
        lifted, or scored so by the clinician: ``station_check.unable`` of :meth:`get`). A ``valid``
        true then means "as the station counts it": the trial returns to the station's own verdict (a clinician's earlier override is undone, nothing is
        stored as overridden), so that it stays in the results as unable; ``validity_reason`` is
        not stored (the station's reason stays).

        Raises
        ------
        ValidationError
            Unknown fields, nothing to change, a wrong type, an invalid trial without a reason.
        Conflict
            The trial is still recording.
        """
        if not isinstance(data, dict):
            raise ValidationError({"body": "must be a JSON object"})
        problems = {str(k)[:40]: f"unknown field; allowed: {', '.join(JUDGEMENT_FIELDS)}"
                    for k in data if k not in JUDGEMENT_FIELDS}
        if not any(k in data for k in JUDGEMENT_FIELDS):
            problems["valid"] = "nothing to change: give valid (true or false, with validity_reason when false) or notes"
        if "validity_reason" in data and "valid" not in data:
            problems["valid"] = "is required with validity_reason (true or false)"
        changes: dict = {}
        if "valid" in data:
            try:
                _metrics, valid, reason = _check_result(None, data["valid"], data.get("validity_reason"))
                changes.update(valid=int(valid), validity_reason=reason)
            except ValidationError as exc:
                problems.update({("validity_reason" if k == "reason" else k): v for k, v in exc.fields.items()})
        if "notes" in data:
            try:
                changes["notes"] = fields.text(data["notes"], max_chars=MAX_NOTES_CHARS, multiline=True)
            except ValueError as exc:
                problems["notes"] = str(exc)
        if problems:
            raise ValidationError(problems)
        with self._db.write() as conn:
            row = self._row(conn, trial_id)
            if row["status"] == "recording":
                raise Conflict("the trial is still recording; judge it once it has finished")
            if "valid" in changes and station_result and changes["valid"]:
                if row["judged_by"] is None:  # the station's verdict, as stored
                    changes.update(valid=row["valid"], validity_reason=row["validity_reason"])
                else:  # back to the station's verdict kept aside at the first override
                    changes.update(valid=row["station_valid"], validity_reason=row["station_validity_reason"])
                changes.update(judged_by=None, judged_at=None)
            elif "valid" in changes:
                if row["judged_by"] is None:  # keep the station's own verdict the first time
                    conn.execute("UPDATE trials SET station_valid = valid, station_validity_reason = validity_reason"
                                 " WHERE id = ?", (trial_id,))
                changes.update(judged_by=actor.username, judged_at=utc_iso(self._now()))
            for key, value in changes.items():
                conn.execute(f"UPDATE trials SET {key} = ? WHERE id = ?", (value, trial_id))
            detail: dict = {"changed": sorted(k for k in ("valid", "validity_reason", "notes") if k in changes)}
            if "valid" in changes:
                detail["valid"] = True if station_result and data.get("valid") is True else bool(changes["valid"])
                if station_result and data.get("valid") is True:
                    detail["station_result"] = True  # counted as the station counts it (unable, 0 s)
            self._audit.record(actor, "trial.update", patient_id=row["patient_id"], object=f"trial:{trial_id}",
                               detail=detail)
        return self.get(trial_id)


@dataclass(frozen=True)
class _TrialStart:
    """What :meth:`Trials.start_trial` was given (checked): the trial's row is made of it."""

    session_id: int
    protocol: str
    condition: str
    calibration_doc: str
    rate_hz: float
    started_at: str
    start_seq: int | None = None
    go_ns: int | None = None


@dataclass(frozen=True)
class _Part:
    """What a transaction handed to the committer stores of the buffer: its first ``arrays`` (``n``
    frames) with the counters as they were then, and when (the clock's ns): every frame appended before
    ``at_ns`` is in it."""

    arrays: tuple
    n: int
    lost: int
    first_seq: int | None
    last_seq: int | None
    at_ns: int
    time_zero_seq: int | None = None


class _Job:
    """One write transaction for the committer thread: ``fn()`` run there, its answer or its error
    kept for the thread that handed it over."""

    __slots__ = ("fn", "kind", "part", "done", "result", "error", "handed_s")

    def __init__(self, fn: Callable[[], int], kind: str, part: _Part) -> None:
        self.fn, self.kind, self.part = fn, kind, part
        self.handed_s = time.monotonic()
        """When it was handed over, in real time (the storage's time, whatever the writer's clock)."""
        self.done = threading.Event()
        self.result: int | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.fn()
        except BaseException as exc:  # said to the writer, never lost in the thread
            self.error = exc
        finally:
            self.done.set()

    def outcome(self) -> int:
        """Frames the transaction stored; its error raised (in the caller's thread)."""
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        return self.result


class _Committer:
    """The thread that runs the recording writers' transactions (:class:`_Job`), one at a time, in
    the order they were handed over; started at the first job, a daemon thread (a crash or a card
    that never answers must not keep the process alive: :meth:`close` drains it first)."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Condition()
        self._pending = 0
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, job: _Job) -> _Job:
        with self._lock:
            if self._closed:
                raise StoreError("the store is closed; the trial's frames cannot be stored any more")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="trial-committer", daemon=True)
                self._thread.start()
            self._pending += 1
        self._jobs.put(job)
        return job

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            job.run()
            with self._lock:
                self._pending -= 1
                self._lock.notify_all()

    def drain(self, timeout_s: float | None) -> bool:
        """Wait until every job handed over is done (``timeout_s`` at most); whether they are."""
        with self._lock:
            return self._lock.wait_for(lambda: self._pending == 0, timeout_s)

    def close(self, timeout_s: float) -> bool:
        """Refuse new jobs, run the ones handed over (``timeout_s`` at most), end the thread; whether
        every job was done."""
        with self._lock:
            self._closed = True
            thread = self._thread
        drained = self.drain(timeout_s)
        if thread is not None and drained:
            self._jobs.put(None)
            thread.join(timeout_s)
        return drained


class TrialWriter:
    """Appends one trial's frames durably; ends with :meth:`finish` or :meth:`abort`.

    Made by :meth:`Trials.start_trial`. One thread uses a writer (the trial service's loop); its
    transactions run in the committer thread of :class:`Trials`, one at a time (see "Commits off the
    loop's thread" in the module doc). As a context manager, a block that raises aborts the trial
    (frames kept) with the exception's type as the reason.
    """

    def __init__(self, trials: Trials, start: _TrialStart, actor: Actor):
        self._trials = trials
        self._db = trials._db
        self._start = start
        self.trial_id: int | None = None
        """The trial's id; None until its row is made (at the start, or at the first commit that gets
        the write lock when another program held it then). Set by the committer thread."""
        self._patient_id: int | None = None
        self._actor = actor
        self._buffer: list[np.ndarray] = []
        """Frames appended and not yet committed, oldest first (a transaction in flight stores the
        first of them: they leave the buffer once it is done)."""
        self._buffered = 0
        self._chunk_no = 0
        self._last_seq: int | None = None
        self._first_seq: int | None = None
        self._time_zero_seq: int | None = None
        """A trial timed from its go (``go_ns``): the seq its time_s counts from, known at its first frame."""
        self._lost = 0
        self.frames_committed = 0
        self.commits = 0
        self._last_commit_ns = trials._clock.monotonic_ns()
        """When the frames of the last commit the committer completed had been appended (frames
        appended since are not stored yet)."""
        self._next_flush_ns = self._last_commit_ns + trials._commit_interval_ns
        self.busy_deferrals = 0
        """Commits put off or tried again because the write lock was held elsewhere (another
        process, or another thread of this one waiting for that process)."""
        self._held_by_storage = False
        """Whether the last commit put off found the lock held by this process's own write on its storage
        (:class:`~station.store.db.StorageSlow`: a page's save on a slow SD card), not another program."""
        self._job: _Job | None = None
        """The transaction handed to the committer and not yet taken back (:meth:`_take`): one at a
        time, so that the writer's transactions are stored in the order they were made."""
        self._done = False
        self._ending: Callable[[sqlite3.Connection, _Part], int] | None = None
        """The finish or abort not stored yet (:meth:`finish` with ``wait=False``)."""
        self._partial: tuple[str, str, str, bool] | None = None
        """How a fault ended the trial, while its ``partial`` is not written: (reason's head, cause,
        why, whether the buffered frames are to be stored with it)."""

    @property
    def frames_appended(self) -> int:
        return self.frames_committed + self._buffered

    @property
    def rate_hz(self) -> float:
        """The trial's nominal frame rate, Hz."""
        return self._start.rate_hz

    @property
    def finished(self) -> bool:
        """True once the trial is closed (finished, aborted, or ended as partial by a fault)."""
        return self._done

    @property
    def saving(self) -> bool:
        """True while its finish or abort is not stored yet (:meth:`retry_end` stores it)."""
        return self._ending is not None

    @property
    def storing(self) -> bool:
        """True while a transaction handed to the committer thread is not done yet: a slow storage
        (an SD card's fsync taking seconds), where :attr:`saving` alone may also be another program's
        write lock."""
        return self._job is not None and not self._job.done.is_set()

    def append(self, frames: np.ndarray) -> None:
        """Add frames (FRAME_DTYPE, ``seq`` increasing); hand a commit to the committer thread if the
        interval has passed, without waiting for it. The outcome of the commit handed over before is
        taken here: a full disk, a failing storage, a write lock held past :data:`MAX_UNCOMMITTED_S`
        or a storage that has not finished a commit in that time ends the trial as partial (raised
        once, in words: DiskFull, StorageFailed, DatabaseBusy).

        Raises TypeError/ValueError for frames of the wrong type or out of order (nothing of
        them is kept), StoreError after finish/abort.
        """
        if self._done or self._ending is not None:
            raise StoreError(f"trial #{self.trial_id} is already finished; start a new trial")
        frames = _check_frames(frames)
        if len(frames):
            before = self._last_seq
            if before is None and self._start.start_seq is not None and int(frames["seq"][0]) >= self._start.start_seq:
                before = self._start.start_seq - 1  # the slots lost before its first frame count as a gap would
            lost = _seq_gaps(frames, before)
            self._buffer.append(frames.copy())
            self._buffered += len(frames)
            self._lost += lost
            if self._first_seq is None:
                self._first_seq = int(frames["seq"][0])
                if self._start.go_ns is not None:  # its first frame whole periods after the go, as its trial CSV
                    zero = self._first_seq - periods_after_go(int(frames["t_ns"][0]), self._start.go_ns,
                                                              self._start.rate_hz)
                    self._time_zero_seq = zero if zero >= 0 else None  # a seq (the hub takes no other)
            self._last_seq = int(frames["seq"][-1])
        self.wait_commit(0)
        now_ns = self._trials._clock.monotonic_ns()
        if self._job is None:
            if now_ns >= self._next_flush_ns:
                self._handover("commit", self._store_buffer, FLUSH_BUSY_WAIT_MS)
        elif time.monotonic() - self._job.handed_s > MAX_UNCOMMITTED_S:
            raise self._end_on_slow_storage()

    def wait_commit(self, timeout_s: float | None = None) -> bool:
        """Wait for the commit handed to the committer thread (``timeout_s`` at most; None: until it is
        done) and take its outcome as the next :meth:`append` would: the counters updated, or the
        trial ended by a fault (raised once, in words). Whether no commit is in flight any more."""
        if self._job is None or self._job.kind in ("end", "partial"):  # those are taken by retry_end, close_unclosed
            return self._job is None
        job = self._take(timeout_s)
        if job is not None:
            self._apply(job)
        return self._job is None

    def _snapshot(self) -> _Part:
        return _Part(tuple(self._buffer), self._buffered, self._lost, self._first_seq, self._last_seq,
                     self._trials._clock.monotonic_ns(), self._time_zero_seq)

    def _handover(self, kind: str, body: Callable[[sqlite3.Connection, _Part], int], busy_wait_ms: int | None) -> None:
        """Hand ``body(conn, part)`` (``part``: the buffer as it is now) to the committer thread, to run in
        one write transaction that waits ``busy_wait_ms`` at most for the lock; :meth:`_take` gets it back."""
        part = self._snapshot()

        def run() -> int:
            with self._transaction(busy_wait_ms) as conn:
                return body(conn, part)

        self._job = self._trials._committer.submit(_Job(run, kind, part))

    def _take(self, timeout_s: float | None) -> _Job | None:
        """The transaction in flight once it is done (waiting ``timeout_s`` at most; None: until it is),
        no longer in flight; None while it is not done."""
        job = self._job
        if job is None or not job.done.wait(timeout_s):
            return None
        self._job = None
        return job

    def _apply(self, job: _Job) -> int | None:
        """The outcome of a commit, a finish or an abort the committer has done: the frames stored (the
        counters updated), or None when the write lock was held elsewhere (the next try is due one
        commit interval after this one; past :data:`MAX_UNCOMMITTED_S` of frames uncommitted the trial
        ends as partial: DatabaseBusy says so); a full disk or a failing storage ends it at once."""
        try:
            with self._storage_ends_partial():
                n = job.outcome()
        except DatabaseBusy as exc:
            if job.kind == "start":
                return None  # another program holds the write lock: the first commit that gets it makes the row
            self.busy_deferrals += 1
            self._held_by_storage = isinstance(exc, StorageSlow)
            if self._trials._clock.monotonic_ns() - self._last_commit_ns > MAX_UNCOMMITTED_S * 1e9:
                raise self._end_on_busy() from None
            self._next_flush_ns = job.part.at_ns + self._trials._commit_interval_ns
            return None
        if job.kind != "start":
            self._committed(job.part)
        return n

    @contextmanager
    def _transaction(self, busy_wait_ms: int | None):
        """A write transaction (waiting ``busy_wait_ms`` at most for the lock) that first makes the
        trial's row if it has none yet; the row is the writer's once the transaction commits."""
        created = self.trial_id is None
        try:
            with self._db.write(busy_wait_ms=busy_wait_ms) as conn:
                if created:
                    self.trial_id, self._patient_id = self._trials._create(conn, self._start, self._actor)
                yield conn
        except BaseException:
            if created:
                self.trial_id = self._patient_id = None
            raise
        if created:
            with self._trials._active_lock:
                self._trials._active.add(self.trial_id)

    def _store_buffer(self, conn: sqlite3.Connection, part: _Part) -> int:
        """Write the frames of ``part`` as one chunk and the trial's counters; return frames written."""
        n = part.n
        if n:
            data = np.concatenate(part.arrays) if len(part.arrays) > 1 else part.arrays[0]
            conn.execute(
                "INSERT INTO trial_chunks (trial_id, chunk_no, first_seq, n_frames, data) VALUES (?, ?, ?, ?, ?)",
                (self.trial_id, self._chunk_no, int(data["seq"][0]), n, data.tobytes()),
            )
        cur = conn.execute(
            "UPDATE trials SET frame_count = frame_count + ?, frames_lost = ?, first_seq = ?, last_seq = ?,"
            " time_zero_seq = ?, last_commit_at = ? WHERE id = ? AND status = 'recording'",
            (n, part.lost, part.first_seq, part.last_seq, part.time_zero_seq, utc_iso(self._trials._now()),
             self.trial_id),
        )
        if cur.rowcount != 1:
            raise Conflict(
                f"trial #{self.trial_id} is no longer recording in the database (recovered or erased by another "
                "process?); its remaining frames were not stored"
            )
        return n

    def _committed(self, part: _Part) -> None:
        if part.n:
            self._chunk_no += 1
        self.frames_committed += part.n
        del self._buffer[:len(part.arrays)]
        self._buffered -= part.n
        self.commits += 1
        self._last_commit_ns = part.at_ns
        self._next_flush_ns = part.at_ns + self._trials._commit_interval_ns

    def flush(self) -> None:
        """Commit the buffered frames now (one transaction, fsync'ed), waiting for it and for the write
        lock as :meth:`finish` does.

        On a full disk or a storage that fails to write the trial ends at once as ``partial`` with
        the frames committed so far (:meth:`_storage_ends_partial`) and DiskFull or StorageFailed
        says so; likewise DatabaseBusy when another process held the write lock past
        :data:`MAX_UNCOMMITTED_S`; a storage still writing them then raises
        :class:`~station.store.db.StorageSlow` (the commit goes on, taken at the next call).
        """
        if self._done or self._ending is not None:
            raise StoreError(f"trial #{self.trial_id} is already finished")
        self._write_waiting("commit", self._store_buffer)

    def _write_waiting(self, kind: str, body: Callable[[sqlite3.Connection, _Part], int]) -> int:
        """``body(conn, part)`` in one write transaction of the committer thread, waited for, after the
        transaction in flight; the lock is waited for until the frames buffered have been uncommitted
        :data:`MAX_UNCOMMITTED_S` (at least one busy timeout, counted in real time: the waits are), then
        the trial ends as partial (DatabaseBusy says so)."""
        uncommitted_s = (self._trials._clock.monotonic_ns() - self._last_commit_ns) / 1e9
        deadline = time.monotonic() + max(MAX_UNCOMMITTED_S - uncommitted_s, _db.BUSY_TIMEOUT_MS / 1000)
        if self._job is not None:  # a commit in flight: its frames first
            job = self._take(max(0.0, deadline - time.monotonic()))
            if job is None:
                raise self._still_storing(kind)
            self._apply(job)
        while True:
            self._handover(kind, body, _db.BUSY_TIMEOUT_MS)
            job = self._take(max(0.0, deadline - time.monotonic()))
            if job is None:
                raise self._still_storing(kind)
            try:
                with self._storage_ends_partial():
                    n = job.outcome()
            except DatabaseBusy as exc:
                self.busy_deferrals += 1
                self._held_by_storage = isinstance(exc, StorageSlow)
                if time.monotonic() >= deadline:
                    raise self._end_on_busy() from None
                continue
            self._committed(job.part)
            return n

    def _still_storing(self, kind: str) -> StorageSlow:
        """A write waited for (:meth:`_write_waiting`) the storage has not finished by its bound: the error
        to raise, in words. Nothing is lost: the write goes on in the committer thread, its outcome taken
        at the writer's next call (a trial's end by :meth:`retry_end`)."""
        trial = "the trial" if self.trial_id is None else f"trial #{self.trial_id}"
        what = (f"the end of {trial} is still being written" if kind == "end"
                else f"the last frames of {trial} are still being written")
        then = ("it is saved once the card has written it (retry_end takes it back)" if kind == "end"
                else "they are stored once the card has written them")
        return StorageSlow(f"the station's storage (its SD card) is slow to write just now: {what}, so this did not "
                           f"wait any longer; {then}; do not switch the station off until it is saved")

    def _end_on_full_disk(self) -> DiskFull:
        """Mark the trial ``partial`` with what was committed (the buffered frames are lost:
        there is no room for them) and return the error to raise. If even that cannot be
        written, it is written as soon as it can be (:meth:`Trials.close_unclosed`)."""
        ended = self._end_partial(DISK_FULL_REASON, "disk full")
        return DiskFull(
            f"the station's disk is full: {ended}; free space on the station (delete old exports, move "
            "backups elsewhere), then record again"
        )

    def _end_on_storage_failure(self) -> StorageFailed:
        """The station's storage failed to write (an I/O error: a failing SD card): mark the trial
        ``partial`` with what was committed (the buffered frames are not written again on a storage
        that fails) and return the error to raise, in words. If the mark cannot be written either, it
        is written once the storage writes again (:meth:`Trials.close_unclosed`)."""
        ended = self._end_partial(STORAGE_FAILED_REASON, "storage failed", "the station's storage failed to write")
        return StorageFailed(
            f"the station's storage failed to write (a disk I/O error: its SD card may be failing), so the "
            f"recording stopped: {ended}; check the SD card or replace it before recording again"
        )

    def _end_on_slow_storage(self) -> StorageSlow:
        """A commit the committer thread began has not finished in :data:`MAX_UNCOMMITTED_S`: the SD card is
        still writing (slow, not failed: no write was refused). Mark the trial ``partial`` with the frames
        committed and the ones buffered, once that commit is done (what a crash could lose is bounded), and
        return the error to raise, in words that say so (not a failed card's)."""
        ended = self._end_partial(STORAGE_SLOW_REASON, "storage slow",
                                  f"the station's storage was still writing after {MAX_UNCOMMITTED_S:g} s",
                                  keep_buffer=True, when="as soon as the card has finished writing")
        return StorageSlow(
            f"the station's storage (its SD card) has been writing part of this trial for over {MAX_UNCOMMITTED_S:g} s "
            f"and is still writing: the card is slow, not failed (nothing was refused), and the recording stopped so "
            f"that a power cut cannot lose more: {ended}; once the station says it is saved, record the trial again; "
            "if the card is this slow again, replace it"
        )

    def _end_on_busy(self) -> DatabaseBusy:
        """The write lock was held elsewhere past :data:`MAX_UNCOMMITTED_S`: mark the trial ``partial``, with the
        frames committed and the ones it buffered meanwhile, and return the error to raise, saying what held it:
        another program (an administrator's command), or this station's own writes on a slow storage (a page's
        save waiting for the SD card: :class:`~station.store.db.StorageSlow` at the last try). If the lock is
        still held, the station keeps those frames and writes them with the mark as soon as it can
        (:meth:`Trials.close_unclosed`)."""
        what = "the trial could not be saved as it ended" if self._ending is not None else "the recording stopped"
        if self._held_by_storage:
            ended = self._end_partial(STORAGE_SLOW_REASON, "storage slow",
                                      f"the station's storage was still writing other saves after "
                                      f"{MAX_UNCOMMITTED_S:g} s", keep_buffer=True,
                                      when="as soon as the card has finished writing")
            return StorageSlow(
                f"the station's storage (its SD card) was busy writing the station's other saves (the pages') for "
                f"over {MAX_UNCOMMITTED_S:g} s, so {what}: the card is slow, not failed (nothing was refused): {ended}; "
                "once the station says it is saved, record the trial again; if the card is this slow again, replace it")
        ended = self._end_partial(DATABASE_BUSY_REASON, "database busy",
                                  f"another program held the station's database for over {MAX_UNCOMMITTED_S:g} s",
                                  keep_buffer=True)
        return DatabaseBusy(
            f"another program (an administrator's command?) kept the station's database busy for over "
            f"{MAX_UNCOMMITTED_S:g} s, so {what}: {ended}; record the trial again once that command has finished"
        )

    def _end_partial(self, head: str, cause: str, why: str = "", keep_buffer: bool = False,
                     when: str | None = None) -> str:
        """Close the trial as ``partial`` (reason ``head: [why, so ]recording stopped; N frames (x s)
        kept``) with what was committed, and with the buffered frames if ``keep_buffer``; returns what
        became of it, in words (``when``: when what cannot be written now is written; None: once the station
        can write again)."""
        self._close()
        if not keep_buffer:
            self._buffer, self._buffered = [], 0  # not written: no room for them, or a storage failing
        if self.trial_id is None and not self._buffered:
            return "nothing of the trial was stored (it could not even be started)"
        in_memory_s = self._buffered / self._start.rate_hz
        kept_s = in_memory_s + self.frames_committed / self._start.rate_hz
        self._partial = (head, cause, why, keep_buffer)
        self._trials._unclosed.append(self)
        self._trials.close_unclosed(FLUSH_BUSY_WAIT_MS, paced=True)
        if self not in self._trials._unclosed:  # else written later
            return f"trial #{self.trial_id} ended as partial with the {kept_s:.1f} s recorded"
        if in_memory_s:
            return (f"{f'trial #{self.trial_id}' if self.trial_id is not None else 'the trial'} could not be stored "
                    f"yet; the station keeps its {kept_s:.1f} s recorded ({in_memory_s:.1f} s of them only in memory: "
                    f"do not switch the station off) and stores them, marked partial, {when or 'as soon as it can write again'}")
        return (f"trial #{self.trial_id} could not be closed yet; it keeps the {kept_s:.1f} s recorded and "
                f"is marked partial {when or 'as soon as the station can write again'}")

    def _store_partial(self, busy_wait_ms: int | None, timeout_s: float | None) -> bool | None:
        """Write the ``partial`` a fault ended the trial with (:meth:`_end_partial`), with the frames
        kept for it, in one transaction of the committer thread (made the trial's row if it had none),
        after the transaction in flight; waits ``timeout_s`` at most (None: until it is done). True once
        written, None while the committer has not done it (taken at the next call), False when there was
        nothing left to close (the trial recovered or erased meanwhile). DatabaseBusy, DiskFull or
        StorageFailed when it cannot be written now."""
        head, cause, why, keep_buffer = self._partial

        def store(conn: sqlite3.Connection, part: _Part) -> int:
            n = self._store_buffer(conn, part) if keep_buffer else 0
            kept = self.frames_committed + n
            stopped = f"{why}, so recording stopped" if why else "recording stopped"
            reason = f"{head}: {stopped}; {kept} frames ({kept / self._start.rate_hz:.1f} s) kept"
            self._trials._mark_partial(conn, self.trial_id, reason, self._patient_id, self._actor, kept, cause)
            return n

        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            handed = self._job is None
            if handed:
                self._handover("partial", store, busy_wait_ms)
            # one handed over before (a slow storage) is not waited for again
            job = self._take(None if deadline is None else max(0.0, deadline - time.monotonic()) if handed else 0.0)
            if job is None:
                return None
            if job.kind == "partial":
                break
            try:  # a commit still in flight as the trial ended (a storage too slow): its frames are stored first
                job.outcome()
            except StoreError:
                continue  # its frames are still in the buffer: stored with the mark, if they are kept
            self._committed(job.part)
        try:
            job.outcome()
        except (Conflict, NotFound):
            self._buffer, self._buffered = [], 0
            return False
        finally:
            self._trials._release(self.trial_id)  # a row made by this transaction is no active recording
        self._committed(job.part)
        return True

    def finish(self, metrics: dict | None, valid: bool, reason: str | None = None, *, wait: bool = True,
               frames_lost: int | None = None) -> dict | None:
        """Store the last frames, the metrics and the validity; the trial becomes ``complete``.

        ``metrics`` is the dict of ``compute_metrics`` (stored as JSON; NaN refused), or None if
        none could be computed. ``reason`` is required when ``valid`` is False. One transaction (of
        the committer thread, after the commit in flight): a crash leaves either a recording
        (recoverable as partial) or the complete trial.

        ``frames_lost``: the trial's lost frames as its recording counted them (the protocol's
        result, :attr:`~station.protocols.machine.TrialResult.lost_frames`: with the slots lost at its
        edges, before its first frame and after its last, which no stored ``seq`` shows), stored as
        the trial's ``frames_lost``; at least the frames missing between the frames appended, and
        before the first of them from its ``start_seq`` (ValueError before anything is stored
        otherwise). None: those (the count an aborted or interrupted trial keeps: the trial's slots
        from its start slot to its last frame without a frame).

        ``wait``: wait for it, and for a write lock another program holds (up to
        :data:`MAX_UNCOMMITTED_S`); a storage still writing it then raises
        :class:`~station.store.db.StorageSlow` (the end goes on: :meth:`retry_end` takes it back).
        With ``wait=False`` (the trial service's loop, which must keep its
        pace) it is waited for :data:`HANDOVER_WAIT_S` at most and the lock :data:`FLUSH_BUSY_WAIT_MS`:
        None then says the trial is being saved (:attr:`saving`; :attr:`storing` when the storage is
        slow) and :meth:`retry_end` stores it later, the frames and the result held meanwhile.
        """
        if self._done or self._ending is not None:
            raise StoreError(f"trial #{self.trial_id} is already finished")
        metrics_doc, valid, reason = _check_result(metrics, valid, reason)
        if frames_lost is not None and (isinstance(frames_lost, bool) or not isinstance(frames_lost, int)
                                        or frames_lost < self._lost):
            raise ValueError(f"frames_lost must be a whole number of at least the {self._lost} frames missing "
                             f"from the trial's start slot to the last frame appended, not {frames_lost!r}")
        ended_at = utc_iso(self._trials._now())  # when it ended, not when the lock let it be stored

        def store(conn: sqlite3.Connection, part: _Part) -> int:
            n = self._store_buffer(conn, part)
            conn.execute(
                "UPDATE trials SET status = 'complete', ended_at = ?, metrics = ?, valid = ?, validity_reason = ?,"
                " frames_lost = ? WHERE id = ?",
                (ended_at, metrics_doc, int(valid), reason, part.lost if frames_lost is None else frames_lost,
                 self.trial_id),
            )
            self._trials._audit.record(
                self._actor, "trial.finish", patient_id=self._patient_id, object=f"trial:{self.trial_id}",
                detail={"valid": valid, "frames": self.frames_committed + n},
            )
            return n

        return self._end(store, wait)

    def abort(self, reason: str, *, wait: bool = True) -> dict | None:
        """Stop recording on purpose (patient stepped off, clinician cancelled): frames are kept,
        the trial becomes ``aborted`` and invalid with ``reason``. ``wait`` as :meth:`finish`. Its
        ``frames_lost`` is counted as a finished trial's is: the slots without a frame from its start
        slot (``start_seq`` of :meth:`Trials.start_trial`) to its last frame, where it ended."""
        if self._done or self._ending is not None:
            raise StoreError(f"trial #{self.trial_id} is already finished")
        try:
            reason = fields.text(reason, max_chars=MAX_REASON_CHARS, required=True)
        except ValueError as exc:
            raise ValidationError({"reason": str(exc)}) from None
        ended_at = utc_iso(self._trials._now())

        def store(conn: sqlite3.Connection, part: _Part) -> int:
            n = self._store_buffer(conn, part)
            conn.execute(
                "UPDATE trials SET status = 'aborted', status_reason = ?, ended_at = ?, valid = 0,"
                " validity_reason = ? WHERE id = ?",
                (reason, ended_at, "aborted: " + reason, self.trial_id),
            )
            self._trials._audit.record(
                self._actor, "trial.abort", patient_id=self._patient_id, object=f"trial:{self.trial_id}",
                detail={"frames": self.frames_committed + n},
            )
            return n

        return self._end(store, wait)

    def _end(self, store: Callable[[sqlite3.Connection, _Part], int], wait: bool) -> dict | None:
        self._ending = store
        if wait:
            self._write_waiting("end", store)
            return self._ended()
        self._next_flush_ns = 0  # the first try at once
        return self._retry_end(HANDOVER_WAIT_S)

    def retry_end(self) -> dict | None:
        """Try again to store the finish or abort not stored yet (:attr:`saving`): hand it to the
        committer thread once the transaction in flight is done (not waited for: a slow storage), once
        per commit interval while another program holds the write lock (sooner it returns None at
        once), and wait for it :data:`HANDOVER_WAIT_S` at most; the trial's details once stored, else
        None. Past :data:`MAX_UNCOMMITTED_S` of frames uncommitted under that lock the trial ends as
        partial with all its frames (DatabaseBusy says so, as during the recording); a full disk or a
        failing storage ends it as partial at once (DiskFull, StorageFailed)."""
        return self._retry_end(0.0)

    def _retry_end(self, in_flight_wait_s: float) -> dict | None:
        """:meth:`retry_end`, waiting ``in_flight_wait_s`` at most for the transaction in flight (the
        finish or abort's first try: the last commit, handed over the step before, is usually done)."""
        if self._ending is None:
            raise StoreError(f"trial #{self.trial_id} is not being saved")
        deadline = time.monotonic() + HANDOVER_WAIT_S
        if self._job is not None:
            job = self._take(min(in_flight_wait_s, HANDOVER_WAIT_S))
            if job is None:
                return None  # the storage is slow: taken at the next try
            n = self._apply(job)
            if n is not None and job.kind == "end":
                return self._ended()
            if n is not None:
                self._next_flush_ns = 0  # the commit before it done: the end at once
        if self._trials._clock.monotonic_ns() < self._next_flush_ns:
            return None
        self._handover("end", self._ending, FLUSH_BUSY_WAIT_MS)
        job = self._take(max(0.0, deadline - time.monotonic()))
        if job is None:
            return None  # the storage is slow: taken at the next try
        return None if self._apply(job) is None else self._ended()

    def _ended(self) -> dict:
        self._close()
        return self._trials.get(self.trial_id)

    @contextmanager
    def _storage_ends_partial(self):
        """A full disk or a storage failing to write ends the trial as partial, in words."""
        try:
            yield
        except StorageFailed:
            raise self._end_on_storage_failure() from None
        except DiskFull:
            raise self._end_on_full_disk() from None

    def _close(self) -> None:
        self._done = True
        self._ending = None
        self._trials._release(self.trial_id)

    def __enter__(self) -> "TrialWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and not self._done:
            self.abort(f"recording failed: {exc_type.__name__}")
