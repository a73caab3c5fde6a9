"""Free space of the data directory: warning before it runs out, a reserve for when it does.

A full disk must not leave a trial ``recording`` for good, nor a station that cannot even record
who read what (issue 14, finding 2). So:

- **Warning first.** :meth:`SpaceMonitor.status` reports ``ok``, ``low`` (less than
  :data:`LOW_SPACE_BYTES` free: health turns ``degraded`` and says what to do, while there is still
  room for weeks of trials) or ``full`` (a write failed for lack of space, or less than the reserve
  is left).
- **A reserve.** While the station runs it keeps :data:`RESERVE_FILENAME`, a file of
  :data:`RESERVE_BYTES` in the data directory. When SQLite reports the disk full, the reserve is
  deleted (:meth:`SpaceMonitor.disk_full`), which gives back enough room to end the interrupted
  trial as ``partial`` with the frames already committed, and to keep writing the audit entries of
  sign-ins and reads for a long time (an entry is a few hundred bytes; the WAL reuses its pages
  after each checkpoint). Reads of patient data stay audited: a read whose audit entry cannot be
  written is refused rather than served unrecorded (see :mod:`station.store.audit`).
- **Released before a write fails.** A write that fails for lack of space is not stored, so the
  sign-in that released the reserve answered ``507`` (the next one went through). The web app asks
  :meth:`SpaceMonitor.make_room` before each request, and :meth:`SpaceMonitor.status` asks it too:
  with less than :data:`RELEASE_BELOW_BYTES` free the reserve goes then, and the request finds its
  room. (A disk filled while a request is already writing still fails that request, as before.)
- **No new recordings while it is released.** The reserve is for ending the trial the full disk
  interrupted and for sign-ins and audited reads, not for more trials: while the state is ``full``
  the trial service opens no test and starts no trial (:mod:`station.protocols.service`), so new
  recordings cannot eat the room and lock everybody out. A trial recording when the reserve goes
  records on; if the disk runs out it ends ``partial`` (:mod:`station.store.trials`).
- **Refusing to start** on a disk with less than the reserve and :data:`START_MIN_BYTES` free, in one line
  (:func:`check_room_to_start`): a station that starts only to fail its first recording helps no
  one.

The reserve comes back by itself once there is room again (:meth:`SpaceMonitor.status` re-creates
it when twice its size is free, or when more than half its size is free with no disk full remembered),
in a thread of its own as the check write below (an fallocate and an fsync wait for the card): a reading
waits for it at most :data:`CHECK_WAIT_S`. An attempt that fails is not made again for
:data:`IDLE_CHECK_S`, unless the reserve's size more is freed meanwhile.

**A storage that fails to write** (SQLite's "disk I/O error": a failing SD card) is remembered the same
way (:meth:`SpaceMonitor.storage_failed`, from the database's hook): the state is ``failed`` and the
trial service records nothing new (the same gate as a full disk) until a small file written and
fsync'ed in the data directory (:func:`storage_writes`, a few milliseconds, asked only after a failure)
shows that the storage writes again.

**A card failing while the station is idle** would be found only at the next write (a trial started,
a sign-in). So once the station has written nothing for :data:`IDLE_CHECK_S` (its database's last
commit, :meth:`SpaceMonitor.watch_idle`), reading the status (the health document: /healthz and the
pages' health chip) writes that small file too, at most once per :data:`IDLE_CHECK_S`; a storage that
fails it is ``failed`` as above, and the chip says so before anyone tries to record. The recording gate's
reading (``fresh``, the trial service's loop) never makes that write. A check write refused for lack of
space (ENOSPC, EDQUOT) is a full disk, not a failing card: the state is ``full``, with the full disk's
words and what to do (the database's own SQLITE_FULL already is: :meth:`SpaceMonitor.disk_full`).

**One check at a time, never holding a request.** SD cards mostly fail by hanging, not by an error: the
check write runs in a thread of its own (``storage-check``), one at a time, and a status reading waits for
it at most :data:`CHECK_WAIT_S`; a reading that finds it still under way gets the last result, saying how
long the storage has not answered. So a hung card holds one thread of its own, never the web server's
(before, each ``/healthz`` and health-chip poll after a failed write ran its own check in its own
thread: four hung ``/healthz`` calls took all four threads of a waitress server, and the station
answered nothing). A check after a failed write not answered is still ``failed``; the idle check not
answered for :data:`STORAGE_HUNG_S` is ``failed`` too (a card that hangs writes nothing).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Callable

from station.store.db import OUT_OF_SPACE_ERRNOS, DiskFull, StoreError

RESERVE_FILENAME = "space-reserve"
RESERVE_BYTES = 8 * 1024 * 1024
"""Size of the reserve file, bytes (about 2 minutes of recording, or tens of thousands of audit entries)."""
LOW_SPACE_BYTES = 256 * 1024 * 1024
"""Below this much free space the station warns (health ``degraded``), bytes."""
START_MIN_BYTES = 2 * 1024 * 1024
"""Below this much free space (besides the reserve) the station refuses to start, bytes."""
RELEASE_BELOW_BYTES = START_MIN_BYTES
"""Below this much free space, with the reserve still kept, the reserve is released before any write
fails (:meth:`SpaceMonitor.make_room`), bytes."""
STATUS_CACHE_S = 2.0
IDLE_CHECK_S = 300.0
"""With nothing written for this long, s, reading the status checks that the storage writes (once per this
long at most; see "A card failing while the station is idle" in the module doc)."""
CHECK_WAIT_S = 1.0
"""The longest a status reading waits for the storage's check write, s (it takes a few milliseconds on a
card that works); a reading that finds the check under way longer says how long it has not answered."""
STORAGE_HUNG_S = 10.0
"""The idle check (no write failed before it) not answered for this long, s, reads as ``failed``: a card
that hangs is not written to (an fsync on a busy card may take seconds, not this long)."""
STORAGE_CHECK_FILENAME = "storage-check"
"""The small file :func:`storage_writes` writes and fsyncs in the data directory after a write failed."""
STORAGE_WHAT_TO_DO = ("check the SD card or replace it (copy the data directory, with its backups, off it "
                      "first)")
WHAT_TO_DO = (
    "free space on the station: delete old exports, move backups elsewhere "
    "(balance-station backup --list), then start again if it stopped"
)


class NoRoomToRecord(DiskFull):
    """Nothing new is recorded while the disk is full (its reserve released), or while its storage
    fails to write (state ``failed``): no test opens and no trial starts
    (:mod:`station.protocols.service`; the web answers ``507``, Insufficient Storage, with the words)."""


class StorageFailing(NoRoomToRecord):
    """Nothing new is recorded while the storage fails to write (state ``failed``): the refusal in words
    (the web logs it as such, not as a full disk)."""


def free_bytes(path: str | os.PathLike) -> int:
    """Bytes available to this user on the file system holding ``path``."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


class WriteProblem(str):
    """What the system said when the check write failed (:func:`storage_writes`), with its ``errno``
    (None: not an OS error)."""

    errno: int | None = None

    @classmethod
    def of(cls, exc: BaseException) -> "WriteProblem":
        problem = cls(getattr(exc, "strerror", None) or str(exc))
        problem.errno = getattr(exc, "errno", None)
        return problem


def out_of_space(problem: str) -> bool:
    """True if the check write's ``problem`` (:func:`storage_writes`) was a lack of space, not a failing card.

    >>> import errno
    >>> out_of_space(WriteProblem.of(OSError(errno.ENOSPC, "No space left on device")))
    True
    >>> out_of_space(WriteProblem.of(OSError(errno.EIO, "Input/output error"))), out_of_space("")
    (False, False)
    """
    return getattr(problem, "errno", None) in OUT_OF_SPACE_ERRNOS


def storage_writes(data_dir: str | os.PathLike) -> str:
    """Whether the data directory's storage writes: '' when a small file written there is fsync'ed,
    else what the system said (a :class:`WriteProblem`, with its errno: the check after a write failed, or
    when idle: :meth:`SpaceMonitor.status`). It may take as long as the card does (a hung card: for good):
    the monitor runs it in a thread of its own."""
    from station.store.datadir import open_in_data_dir

    try:
        fd = open_in_data_dir(data_dir, STORAGE_CHECK_FILENAME, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    except (OSError, StoreError) as exc:
        return WriteProblem.of(exc)
    try:
        os.write(fd, b"written by the station to check that its storage writes\n")
        os.fsync(fd)
    except OSError as exc:
        return WriteProblem.of(exc)
    finally:
        os.close(fd)
    return ""


def _mb(n: int) -> str:
    return f"{n / 1048576:.1f} MB"


def check_room_to_start(data_dir: str | os.PathLike, minimum_bytes: int = START_MIN_BYTES + RESERVE_BYTES) -> None:
    """StoreError (one line: what and what to do) if the data directory's disk is (nearly) full:
    less than room for the reserve and :data:`START_MIN_BYTES` besides (after a disk-full, the
    freed reserve alone is not room to start again)."""
    free = free_bytes(data_dir)
    reserve = Path(data_dir) / RESERVE_FILENAME
    try:
        free += os.lstat(reserve).st_size  # the reserve is ours to use
    except FileNotFoundError:
        pass
    if free < minimum_bytes:
        raise StoreError(
            f"the disk holding {data_dir} is full ({_mb(free)} free, the station needs at least "
            f"{_mb(minimum_bytes)}); {WHAT_TO_DO}"
        )


class _Check:
    """One write in a thread of its own: a storage check (:meth:`SpaceMonitor._await_check`) or the reserve
    made again (:meth:`SpaceMonitor._reserve_again`): when it began (the monitor's clock), set once it is
    done, and (the reserve's) whether it was made."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.done = threading.Event()
        self.made = False


class SpaceMonitor:
    """Free space of one data directory and its reserve file.

    Parameters
    ----------
    data_dir : path-like
    reserve_bytes : int
        Size of the reserve file (0: keep none).
    low_bytes : int
        Free space below which :meth:`status` says ``low``.
    clock : callable
        Monotonic time in s, for caching the status.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike,
        *,
        reserve_bytes: int = RESERVE_BYTES,
        low_bytes: int = LOW_SPACE_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.data_dir = Path(data_dir)
        self.reserve_path = self.data_dir / RESERVE_FILENAME
        self.reserve_bytes = reserve_bytes
        self.low_bytes = low_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._full_since: float | None = None
        self._write_failed = False
        self.full_events = 0
        self._cached: tuple[float, dict] | None = None
        self._last_write: Callable[[], float | None] | None = None
        self._idle_checked = clock()  # (from the start: a station just started has just written)
        self._changes = 0
        """Counts the station's own changes of its free space (the reserve released or made) and the
        storage checks ended: a status read before one is not cached after it (:meth:`status`)."""
        self._check: _Check | None = None
        """The storage check under way (:meth:`_await_check`), None when none is."""
        self._last_problem = ""
        """What the last check write that failed said ('' : none failed since the storage last wrote)."""
        self._reserving: _Check | None = None
        """The reserve being made again (:meth:`_reserve_again`), None when it is not."""
        self._reserve_failed: tuple[float, int] | None = None
        """When the last attempt to make the reserve again failed (the monitor's clock) and the free space
        then, bytes; None: the last one did not fail."""

    def _changed(self) -> None:
        """The station itself just changed the free space (the reserve released or made): a
        cached status is out of date, and one being read now may be too."""
        with self._lock:
            self._changes += 1
            self._cached = None

    def ensure_reserve(self) -> bool:
        """Create the reserve file if it is missing and there is room; True if it exists. One that cannot be
        made is not left empty (an empty one read as kept: :meth:`status` never made it again)."""
        if self.reserve_bytes <= 0:
            return False
        from station.store.datadir import open_in_data_dir

        try:
            fd = open_in_data_dir(self.data_dir, RESERVE_FILENAME, os.O_WRONLY | os.O_CREAT)
        except (OSError, StoreError):
            return False
        tried = False
        try:
            if os.fstat(fd).st_size >= self.reserve_bytes:
                return True
            tried = True
            os.posix_fallocate(fd, 0, self.reserve_bytes)
            os.fsync(fd)
            return True
        except OSError:
            os.ftruncate(fd, 0)
            self._unlink_reserve()
            return False
        finally:
            os.close(fd)
            if tried:  # made, or tried and cut back: the free space may have changed either way
                self._changed()

    def _unlink_reserve(self) -> None:
        try:
            os.unlink(self.reserve_path)
        except FileNotFoundError:
            pass

    def _reserve_kept(self) -> bool:
        """The reserve file holds its size (an empty one, left by a station before this check, is not kept)."""
        try:
            return os.lstat(self.reserve_path).st_size >= max(1, self.reserve_bytes)
        except OSError:
            return False

    def release_reserve(self) -> int:
        """Delete the reserve file; return the bytes it held (0 if there was none)."""
        try:
            size = os.lstat(self.reserve_path).st_size
            os.unlink(self.reserve_path)
        except FileNotFoundError:
            return 0
        self._changed()
        return size

    def make_room(self) -> bool:
        """Release the reserve now if the disk is (nearly) full while it is kept: less than
        :data:`RELEASE_BELOW_BYTES` free. The write about to be made (a sign-in, an audited read)
        then finds the reserve's room instead of failing to release it; the state is ``full`` from
        then on, until space is freed. True if it released the reserve. A ``stat`` and a
        ``statvfs``: cheap enough for every request."""
        try:
            os.lstat(self.reserve_path)
            free = free_bytes(self.data_dir)
        except OSError:  # no reserve kept (or none left), or the free space cannot be read
            return False
        if free >= RELEASE_BELOW_BYTES:
            return False
        self.disk_full()
        return True

    def disk_full(self) -> None:
        """A write failed for lack of space (or is about to: :meth:`make_room`): remember it and
        give the reserve back to SQLite."""
        with self._lock:
            self.full_events += 1
            if self._full_since is None:
                self._full_since = time.time()
        self._changed()  # full from now on, even with no reserve left to release
        self.release_reserve()

    def storage_failed(self) -> None:
        """A write failed with an I/O error (the database's hook): the state is ``failed`` until the
        storage writes again (:func:`storage_writes`, checked by :meth:`status`)."""
        with self._lock:
            self._write_failed = True
        self._changed()

    def watch_idle(self, last_write: Callable[[], float | None]) -> None:
        """Check that the storage writes once nothing was written for :data:`IDLE_CHECK_S`: ``last_write()``
        says when the station last wrote (its database's last commit, in this monitor's clock; None: not yet)."""
        self._last_write = last_write

    def _check_when_idle(self, now: float) -> bool:
        """The idle check (:meth:`watch_idle`): the storage failing it is remembered as a failed write,
        its disk full as full. True if it checked (or found a check under way) now."""
        if self._last_write is None:
            return False
        last = self._last_write()
        with self._lock:
            since = self._idle_checked if last is None else max(last, self._idle_checked)
            if self._write_failed or now - since < IDLE_CHECK_S:
                return False
            self._idle_checked = now  # the next IDLE_CHECK_S later
        self._await_check()  # its result is taken by the check itself (:meth:`_run_check`)
        return True

    def _await_check(self) -> _Check:
        """Start the storage's check write unless one is under way (one at a time, in a thread of its
        own: a hung card holds that thread, not the caller's), then wait for it at most what is left of
        :data:`CHECK_WAIT_S` since it began. The check returned is done (``done.is_set()``) or not yet."""
        with self._lock:
            check = self._check
            if check is None:
                check = self._check = _Check(self._clock())
                try:
                    threading.Thread(target=self._run_check, args=(check,), name="storage-check", daemon=True).start()
                except RuntimeError:  # no thread to be had ("can't start new thread"): no check now, a later
                    self._check = None  # reading tries again (left set, it read as a card not answering)
                    check.done.set()
        check.done.wait(max(0.0, CHECK_WAIT_S - (self._clock() - check.started)))
        return check

    def _reserve_again(self, free: int) -> bool:
        """Make the reserve again (:meth:`ensure_reserve`: an fallocate and an fsync, as long as the card takes)
        in a thread of its own (``space-reserve``, one at a time), waiting for it at most what is left of
        :data:`CHECK_WAIT_S` since it began; True if it was made by then. After an attempt that failed (less
        room than the reserve, or a card that refused it), none until :data:`IDLE_CHECK_S` later, or until
        the reserve's size more is free than then (``free``: bytes free now): a free space just under the
        reserve's is not fallocated, fsync'ed and cut back at each reading."""
        if self.reserve_bytes <= 0:
            return False
        with self._lock:
            now, failed = self._clock(), self._reserve_failed
            if failed is not None and now - failed[0] < IDLE_CHECK_S and free < failed[1] + self.reserve_bytes:
                return False
            job = self._reserving
            if job is None:
                job = self._reserving = _Check(now)
                try:
                    threading.Thread(target=self._run_reserve, args=(job, free), name="space-reserve",
                                     daemon=True).start()
                except RuntimeError:  # no thread to be had: not now, a later reading tries again
                    self._reserving = None
                    job.done.set()
        job.done.wait(max(0.0, CHECK_WAIT_S - (self._clock() - job.started)))
        return job.done.is_set() and job.made

    def _run_reserve(self, job: _Check, free: int) -> None:
        """:meth:`ensure_reserve` for :meth:`_reserve_again`, remembering a failed attempt."""
        try:
            job.made = self.ensure_reserve()
        except Exception:  # (ensure_reserve says False for what it expects; anything else is a failed attempt)
            job.made = False
        with self._lock:
            self._reserving = None
            self._reserve_failed = None if job.made else (self._clock(), free)
        job.done.set()

    def _run_check(self, check: _Check) -> None:
        """The check write (:func:`storage_writes`) and what it shows: the storage writes (a failure
        before is over), its disk is full (:meth:`disk_full`), or it failed (:meth:`storage_failed`)."""
        try:
            problem = storage_writes(self.data_dir)
        except Exception as exc:  # (it says what failed; anything else is a failed check too, in words)
            problem = str(exc) or type(exc).__name__
        if out_of_space(problem):  # the card answered: there is no room, it did not fail
            with self._lock:
                self._write_failed, self._last_problem = False, ""
                already_full = self._full_since is not None
            if not already_full:
                self.disk_full()
        elif problem:
            with self._lock:
                self._last_problem = problem
            self.storage_failed()
        else:
            with self._lock:
                self._write_failed, self._last_problem = False, ""
        with self._lock:
            self._check = None
            self._changes += 1  # a status read while it ran is out of date
            self._cached = None
        check.done.set()

    def _storage_failure(self, now: float) -> dict | None:
        """The ``failed`` state's fields, None when the storage is not known to fail: a write failed (and no
        check wrote since: ``io_error`` true), or the check under way has not answered for :data:`STORAGE_HUNG_S`
        (``io_error`` false); ``not_answered_s``: how long the check under way has not answered, from
        :data:`CHECK_WAIT_S` on (else None); ``message``: both in words."""
        with self._lock:
            check, failed, problem = self._check, self._write_failed, self._last_problem
        waited = None if check is None else max(0.0, now - check.started)
        if not failed and (waited is None or waited < STORAGE_HUNG_S):
            return None
        said = f"the station's storage failed to write ({problem})" if problem else "the station's storage failed to write"
        not_answered = None
        if waited is not None and waited >= CHECK_WAIT_S:  # how long the card has not answered: hung, not slow
            not_answered = round(waited, 1)
            said = (f"{said} and has not answered for {waited:.0f} s (checking the station's storage again)" if failed
                    else f"the station's storage has not answered for {waited:.0f} s (checking that it still writes)")
        return {"message": f"{said}: trials cannot be recorded; {STORAGE_WHAT_TO_DO}", "io_error": failed,
                "not_answered_s": not_answered}

    def status(self, fresh: bool = False) -> dict:
        """``{"state": "ok"|"low"|"full"|"failed", "free_bytes", "message"}``, ``failed`` with ``io_error`` (a write
        failed with an I/O error) and ``not_answered_s`` (:meth:`_storage_failure`) (cached a few seconds unless
        ``fresh``). Never older than the station's own last change of its free space: releasing the
        reserve (:meth:`make_room`, :meth:`disk_full`) or making it again (here, once there is room)
        drops the cached status, and a status read while such a change was made is not cached; what
        others free or fill is seen within :data:`STATUS_CACHE_S`."""
        now = self._clock()
        checked = not fresh and self._check_when_idle(now)  # (a failure found drops the cached status)
        with self._lock:
            if not fresh and self._cached is not None and now - self._cached[0] < STATUS_CACHE_S:
                return self._cached[1]
            write_failed = self._write_failed
        if write_failed and not checked:  # a write failed with an I/O error: does the storage write now?
            self._await_check()  # (at most CHECK_WAIT_S: a check still under way is said, not waited out)
        self.make_room()
        for _attempt in range(2):  # a second reading only after the reserve was made again
            with self._lock:
                changes = self._changes
            try:
                free = free_bytes(self.data_dir)
            except OSError as exc:
                return {"state": "full", "free_bytes": None, "message": f"cannot check the free space: {exc.strerror}"}
            reserve_present = self._reserve_kept()
            with self._lock:
                if self._full_since is not None and free >= max(2 * self.reserve_bytes, START_MIN_BYTES):
                    self._full_since = None  # room again (somebody freed space): the reserve comes back
                full = self._full_since is not None or (free < self.reserve_bytes // 2 and not reserve_present)
            # room again without a reserve: make it (not in this reading's thread), then read what is left (the
            # figure said is after it); still being made, the figure is before it (and not kept once it is made)
            if full or reserve_present or not self._reserve_again(free):
                break
        if full:
            state = "full"
            message = f"disk full ({_mb(free)} free): trials cannot be recorded; {WHAT_TO_DO}"
        elif free < self.low_bytes:
            state = "low"
            message = (f"disk space low ({_mb(free)} free, warning below {_mb(self.low_bytes)}): "
                       "delete old exports or move backups off the station soon")
        else:
            state = "ok"
            message = ""
        doc = {"state": state, "free_bytes": free, "message": message}
        failed = self._storage_failure(self._clock())
        if failed and not full:  # (a full disk's words say what to do first: no write has room)
            doc = {"state": "failed", "free_bytes": free, **failed}
        with self._lock:
            if self._changes == changes:  # no release or reserve made while it was read: still true
                self._cached = (now, doc)
        return doc
