"""The station database: one SQLite file in WAL mode, one writer connection, pooled readers.

Layout of the data directory::

    <data_dir>/station.sqlite3   the database (:data:`DB_FILENAME`; backups copy this file)
    <data_dir>/station.lock      held (flock) by the one process that records and serves
    <data_dir>/secret_key        Flask SECRET_KEY, mode 0600 (:mod:`station.store.secret`)

**One writer.** The web/service process owns the database: it serves the pages and runs the
protocol engine that records trials (the acquisition process never touches SQLite; it only fills
the shared-memory ring). Inside that process every write goes through one connection guarded by
one re-entrant lock (:meth:`Database.write`): writers queue on the lock, in arrival order
(:class:`FairLock`), and each holds it for one short transaction. Readers use their own connections (a small pool) and see
the last committed snapshot without waiting, which is what WAL gives. The service process also
holds an exclusive ``flock`` on ``station.lock`` (:func:`acquire_service_lock`), so a second
service on the same data directory is refused instead of corrupting the "one writer" rule. The
only other writers are the administrator's command-line tools (``users``, ``export``, ``sync
--resend``, ...), whose rare transactions SQLite's own lock serialises (``busy_timeout``). One of them
may hold that lock for seconds (``sync --resend`` replacing a 2-hour trial's chunks on an SD card): a
writer that must not wait that long (the trial recorder's group commits) asks :meth:`Database.write`
for a shorter wait and gets :class:`DatabaseBusy` when it is up (see :mod:`station.store.trials`).

**A slow card.** An SD card's fsync now and then takes seconds, and the write holding the lock meanwhile
(often the trial recorder's commit, in its committer thread) holds every other writer of the process.
So no writer waits for this process's lock without bound: :data:`WRITE_LOCK_WAIT_S` (10 s) by default, a
page request then answering 503 in words (:class:`StorageSlow`: "... slow to write just now ..., so this
was not saved; what was saved before is kept; try again in a moment") rather than hang; the trial
service's loop, which serves the sampling, waits less (:meth:`Database.waiting_at_most`,
``service.LOOP_LOCK_WAIT_S``). Measured with ``benchmarks/recording_faults.py slow-fsync --page-writes``.

**Durability.** ``journal_mode=WAL`` with ``synchronous=FULL`` on the writer: every commit fsyncs
the WAL, so a committed transaction survives a power cut. With ``synchronous=NORMAL`` the WAL is
only synced at checkpoints (by default every ~1000 pages, minutes of recording): the database would
stay consistent, but a power cut could roll back everything committed since the last checkpoint,
breaking the promise that a crash loses at most about a second of a trial (while another process
holds the write lock, the recorder keeps up to ``trials.MAX_UNCOMMITTED_S`` in memory: see
:mod:`station.store.trials`). The cost of FULL is one
fsync per commit; the trial recorder commits about twice a second and page actions a few times a
minute, so it is negligible even on an SD card.

**Erasure.** ``secure_delete=ON`` on the writer makes SQLite overwrite deleted content with zeros,
so an erased patient's data does not linger in free pages; :meth:`Database.checkpoint_truncate`
then moves the WAL into the main file and truncates it.
"""

from __future__ import annotations

import collections
import errno
import fcntl
import os
import queue
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from station.store.after_commit import AfterCommit

DB_FILENAME = "station.sqlite3"
"""Name of the database file inside the data directory (backups rely on it)."""
LOCK_FILENAME = "station.lock"
"""Name of the lock file the service process holds while it owns the database."""
BUSY_TIMEOUT_MS = 5000
"""How long a connection waits for another process's write lock before giving up, ms."""


class StoreError(Exception):
    """Base class of the store's errors; the message says what happened and what to do."""


class NotFound(StoreError):
    """The requested record does not exist (or was erased)."""


class Conflict(StoreError):
    """The request contradicts the stored state (duplicate identifier, last admin, ...)."""


class ValidationError(StoreError):
    """Input refused; ``fields`` maps each bad field to a one-line message."""

    def __init__(self, fields: dict[str, str], message: str | None = None):
        self.fields = dict(fields)
        if message is None:
            message = "; ".join(f"{k}: {v}" for k, v in self.fields.items()) or "invalid input"
        super().__init__(message)


class DiskFull(StoreError):
    """A write failed because the disk is full; nothing of it was stored."""


class StorageFailed(StoreError):
    """A write failed because the station's storage could not write (SQLite's "disk I/O error": a
    failing SD card, a card pulled out); nothing of it was stored. Unlike a busy lock, trying again at
    once rarely helps: the card needs checking (:mod:`station.store.space` remembers the failure and
    probes the storage before anything new is recorded)."""


class DatabaseBusy(StoreError):
    """A write could not begin: another process (an administrator's command) or another thread of
    this one held the database's write lock for longer than the writer would wait; nothing of it
    was stored, and a later attempt may succeed."""


class StorageSlow(DatabaseBusy):
    """A write could not begin because another write of this process had held the database's write
    lock for longer than this writer waits (:data:`WRITE_LOCK_WAIT_S`, or the thread's own bound:
    :meth:`Database.waiting_at_most`): on a station, an SD card still writing (an fsync taking
    seconds). Nothing of it was stored and nothing stored before is lost; a later attempt may succeed.
    Not a failed card (:class:`StorageFailed`): the card is still writing. ``held_s``: how long the
    other write had held the lock (None: not known)."""

    def __init__(self, message: str, held_s: float | None = None):
        super().__init__(message)
        self.held_s = held_s


def storage_slow_message(held_s: float | None, not_done: str = "this was not saved",
                         again: str = "try again") -> str:
    """The words of :class:`StorageSlow`: what happened (the lock held ``held_s`` s by another write, said
    from a second on), what became of the change (``not_done``), what to do (``again``, in a moment).

    >>> print(storage_slow_message(6.2))
    the station's storage (its SD card) is slow to write just now (an earlier write has been waiting on it for 6 s), so this was not saved; what was saved before is kept; try again in a moment
    >>> print(storage_slow_message(0.3, "the test was not opened", "open the test again"))
    the station's storage (its SD card) is slow to write just now, so the test was not opened; what was saved before is kept; open the test again in a moment
    """
    waiting = f" (an earlier write has been waiting on it for {held_s:.0f} s)" if held_s is not None and held_s >= 1 \
        else ""
    return (f"the station's storage (its SD card) is slow to write just now{waiting}, so {not_done}; what was "
            f"saved before is kept; {again} in a moment")


WRITE_LOCK_WAIT_S = 10.0
"""How long a write waits for this process's other writes by default, s (a page request: it then
answers in words, 503, rather than hang while an SD card takes its time). Longer than a slow card's
commit (``benchmarks/recording_faults.py slow-fsync --fsync-s 6 --page-writes``, a note saved every second
while a trial records: with 5 s, 4 of 5 notes were refused; with 10 s, 1 of 4, the others saved in 11.2 s
at most, its own commit included; the old unbounded wait saved all 4, in 11.5 s at most), far shorter
than a card that has stopped answering (the old wait: for as long as it does not answer)."""

DATABASE_BUSY_MESSAGE = (
    "another program (an administrator's command?) kept the station's database busy, so this was not "
    "stored; try again in a moment"
)
SQLITE_BUSY = 5
"""SQLite's primary result code for "database is locked" (another connection holds the write lock)."""


DISK_FULL_MESSAGE = (
    "the station's disk is full, so this was not stored (and a view that cannot be written to the "
    "audit log is not shown); free space on the station: delete old exports, move backups elsewhere"
)
SQLITE_FULL = 13
"""SQLite's primary result code for "database or disk is full"."""
STORAGE_FAILED_MESSAGE = (
    "the station's storage failed to write (a disk I/O error: its SD card may be failing), so this was not "
    "stored; check the SD card or replace it"
)
SQLITE_IOERR = 10
"""SQLite's primary result code for "disk I/O error" (a read, write or fsync the OS refused: EIO)."""


OUT_OF_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
"""The OS's errors of a write refused for lack of space: the disk full (ENOSPC) or the data directory's quota
used up (EDQUOT). A full disk, not a failing card, wherever the station reads an OS error
(:func:`is_disk_full`, the space monitor's check write: :func:`station.store.space.out_of_space`)."""


def is_disk_full(exc: BaseException) -> bool:
    """True if ``exc`` is SQLite (or the OS) reporting a full disk (or its quota used up).

    >>> is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded")), is_disk_full(OSError(errno.EIO, "I/O error"))
    (True, False)
    """
    return _reports(exc, SQLITE_FULL, "database or disk is full", OUT_OF_SPACE_ERRNOS)


def is_io_error(exc: BaseException) -> bool:
    """True if ``exc`` is SQLite (or the OS) reporting that the storage failed to read or write (EIO)."""
    return _reports(exc, SQLITE_IOERR, "disk I/O error", (errno.EIO,))


def _reports(exc: BaseException, sqlite_code: int, sqlite_words: str, errnos: tuple[int, ...]) -> bool:
    """True if ``exc`` is SQLite's error of primary result code ``sqlite_code`` (or, without a code, its
    words), or one of the OS's errors ``errnos``."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None and code & 0xFF == sqlite_code:
            return True
        return sqlite_words in str(exc)
    return isinstance(exc, OSError) and exc.errno in errnos


def is_busy(exc: BaseException) -> bool:
    """True if ``exc`` is SQLite saying another connection holds the lock it waited for."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == SQLITE_BUSY
    return "database is locked" in str(exc)


def unique_violation(exc: BaseException) -> StoreError | None:
    """The store's error for SQLite's unique or foreign-key constraint failure (else None): a
    unique violation is a :class:`Conflict`, a reference to a missing record :class:`NotFound`,
    on both backends (:mod:`station.store.pg`)."""
    if isinstance(exc, sqlite3.IntegrityError) and "UNIQUE constraint failed" in str(exc):
        return Conflict(f"that record already exists ({str(exc).split(':', 1)[-1].strip()}); "
                        "reload the page and try again")
    if isinstance(exc, sqlite3.IntegrityError) and "FOREIGN KEY constraint failed" in str(exc):
        return NotFound(MISSING_REFERENCE)
    return None


MISSING_REFERENCE = "it refers to a record that no longer exists (erased meanwhile?); reload the page"


class DataDirLocked(StoreError):
    """Another process already owns the data directory as the station service; ``holder``, its pid
    as the lock file says it (``"unknown"`` when it says none)."""

    def __init__(self, message: str, holder: str = "unknown"):
        super().__init__(message)
        self.holder = holder


def db_path(data_dir: str | os.PathLike) -> Path:
    """Path of the database inside ``data_dir``."""
    return Path(data_dir) / DB_FILENAME


SQLITE_ERRORS = (sqlite3.Error, UnicodeDecodeError)
"""What a statement on a damaged SQLite file raises: SQLite's message about a damaged schema
quotes the damaged bytes, and when they are not UTF-8 Python's sqlite3 raises UnicodeDecodeError
in place of the DatabaseError (CPython 3.11). Catch this tuple, word it with
:func:`sqlite_message`."""


def sqlite_message(exc: Exception) -> str:
    """What SQLite said, in words (also when its message could not be decoded, see SQLITE_ERRORS)."""
    if isinstance(exc, UnicodeDecodeError):
        return "its schema or its error message holds bytes that are not text"
    return str(exc)


class FairLock:
    """A re-entrant lock whose waiters get it in the order they asked for it (first come, first served), the
    process's one write lock (:meth:`Database.write`). :class:`threading.RLock` is not fair: the thread that
    has just released it usually takes it again before a waiting thread wakes, so the store's committer
    thread, handing a slow SD card one commit after another, kept retaking it while a page's write waited
    out its bound (``benchmarks/recording_faults.py slow-fsync --fsync-s 6 --page-writes``: one note of 4
    refused). A thread asking while others wait queues behind them, also when the lock is free that moment.
    ``acquire(timeout=...)`` gives up after ``timeout`` s (its place in the queue is given back).

    >>> lock = FairLock()
    >>> lock.acquire() and lock.acquire(timeout=0.1)  # re-entrant in the thread that holds it
    True
    >>> lock.release(); lock.release()
    >>> with lock:
    ...     pass
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._count = 0
        self._waiting: collections.deque = collections.deque()  # one ticket per waiting thread, oldest first

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Take the lock (again, in the thread holding it); wait ``timeout`` s at most (-1: until it is had;
        ``blocking=False``: not at all); whether it was taken."""
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._count += 1
                return True
            if self._owner is None and not self._waiting:
                self._owner, self._count = me, 1
                return True
            if not blocking:
                return False
            ticket = object()
            self._waiting.append(ticket)
            deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout
            try:
                while self._owner is not None or self._waiting[0] is not ticket:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return False
                    self._cond.wait(left)
                self._waiting.popleft()
                self._owner, self._count = me, 1
                return True
            finally:
                if self._owner != me:  # gave up: the next in the queue may be first now
                    self._waiting.remove(ticket)
                    self._cond.notify_all()

    def release(self) -> None:
        """Release it once (the thread holding it); the next waiter gets it once it is released as often
        as it was taken."""
        with self._cond:
            if self._owner != threading.get_ident():
                raise RuntimeError("cannot release a lock this thread does not hold")
            self._count -= 1
            if self._count == 0:
                self._owner = None
                self._cond.notify_all()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _connect(path: Path, *, writer: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path,
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,  # autocommit; transactions are explicit (BEGIN ...)
        check_same_thread=False,  # used by one thread at a time, guarded by the pool or lock
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if writer:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            conn.close()
            raise StoreError(
                f"{path}: cannot switch the database to WAL mode (got {mode!r}); "
                "put the data directory on a local file system"
            )
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA secure_delete = ON")
    else:
        conn.execute("PRAGMA query_only = ON")
    return conn


class Database:
    """The database file of one data directory: a writer connection and a pool of readers.

    Parameters
    ----------
    path : path-like
        The SQLite file (created if missing; its directory must exist).
    """

    dialect = "sqlite"
    """Which SQL server this is (:class:`station.store.pg.PgDatabase` says ``"postgresql"``)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            self._writer = _connect(self.path, writer=True)
        except sqlite3.OperationalError as exc:
            if is_disk_full(exc):
                raise DiskFull(f"cannot open {self.path}: {DISK_FULL_MESSAGE}") from None
            raise StoreError(
                f"{self.path}: cannot open the database ({exc}); check the file and its permissions"
            ) from None
        except SQLITE_ERRORS as exc:
            raise StoreError(
                f"the database {self.path} is damaged ({sqlite_message(exc)}); restore a backup with `balance-station restore "
                "FILE` (service stopped; `balance-station backup --list` lists them)"
            ) from None
        self._write_lock = FairLock()  # writers served in the order they came
        self._depth = 0
        self._owner: int | None = None  # thread id inside a write block
        self._held_since: float | None = None  # time.monotonic() the write lock was taken at (outermost block)
        self._beginning = False  # the write holding the lock waits for another program's (its BEGIN IMMEDIATE)
        self.last_commit_s: float | None = None
        """time.monotonic() of the last transaction committed (the space monitor's idle check)."""
        self._wait_bound = threading.local()  # a thread's own bound on the lock's wait (waiting_at_most)
        self._after_commit = AfterCommit()  # calls made once the write transaction commits (after_commit)
        self._readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._all_readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self.on_disk_full: list = []
        """Callables run (no arguments) when a write fails for lack of space, before DiskFull is
        raised (the store releases its space reserve there)."""
        self.on_storage_failed: list = []
        """Callables run (no arguments) when a write fails with an I/O error, before StorageFailed is
        raised (the store's space monitor remembers it: no new recording until the storage writes)."""

    def _disk_full(self, exc: BaseException) -> DiskFull:
        for hook in self.on_disk_full:
            try:
                hook()
            except Exception:  # a hook must not hide the disk-full error
                pass
        return DiskFull(DISK_FULL_MESSAGE)

    def _storage_failed(self) -> StorageFailed:
        for hook in self.on_storage_failed:
            try:
                hook()
            except Exception:  # a hook must not hide the storage's error
                pass
        return StorageFailed(STORAGE_FAILED_MESSAGE)

    def _write_failed(self, exc: BaseException) -> StoreError | None:
        """The store's error for a write that failed for want of storage (the disk full, or an I/O
        error), else None."""
        if is_disk_full(exc):
            return self._disk_full(exc)
        if is_io_error(exc):
            return self._storage_failed()
        return None

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def write(self, busy_wait_ms: int | None = None) -> Iterator[sqlite3.Connection]:
        """A write transaction on the one writer connection (``BEGIN IMMEDIATE``).

        Commits when the block ends, rolls back if it raises. Re-entrant in the same thread: a
        nested block becomes a savepoint of the outer transaction, so helpers that write can be
        combined into one atomic operation.

        ``busy_wait_ms``: wait at most this long for the write lock (this process's writers, then
        another process's, each up to it) and raise :class:`DatabaseBusy` when it is up, instead of
        waiting :data:`BUSY_TIMEOUT_MS` and raising SQLite's own error. Without it the wait for this
        process's other writers is still bounded (:data:`WRITE_LOCK_WAIT_S`, or the thread's
        :meth:`waiting_at_most`). Either wait for this process's writers, when it is up, raises
        :class:`StorageSlow` (a :class:`DatabaseBusy`) when the write holding the lock is on the storage,
        and :class:`DatabaseBusy` in another program's words when that write waits for another program.

        Calls given to :meth:`after_commit` inside the block are made once the outermost block has
        committed (after the lock is released), and never if theirs rolls back.
        """
        self._acquire(busy_wait_ms)
        committed: list = []
        try:
            if self._closed:
                raise StoreError("the database is closed")
            conn = self._writer
            depth = self._depth
            mark = self._after_commit.mark()
            if depth == 0:
                self._held_since = time.monotonic()
                _rollback(conn)  # a transaction left open by a rollback the storage failed (none otherwise)
                self._beginning = True
                try:
                    self._begin(conn, busy_wait_ms)
                finally:
                    self._beginning = False
                self._owner = threading.get_ident()
            else:
                conn.execute(f"SAVEPOINT sp{depth}")
            self._depth = depth + 1
            try:
                yield conn
            except BaseException as exc:
                self._depth = depth
                self._after_commit.drop_since(mark)
                if depth == 0:
                    self._owner = None
                    _rollback(conn)
                else:
                    conn.execute(f"ROLLBACK TO sp{depth}")
                    conn.execute(f"RELEASE sp{depth}")
                failed = self._write_failed(exc) if depth == 0 else None
                if failed is not None:
                    raise failed from None
                conflict = unique_violation(exc)
                if conflict is not None:
                    raise conflict from exc
                raise
            self._depth = depth
            if depth == 0:
                self._owner = None
                try:
                    conn.execute("COMMIT")
                except BaseException as exc:
                    _rollback(conn)
                    failed = self._write_failed(exc)
                    if failed is not None:
                        raise failed from None
                    raise
                self.last_commit_s = time.monotonic()
                committed = self._after_commit.take()
            else:
                conn.execute(f"RELEASE sp{depth}")
        finally:
            if self._depth == 0:
                self._held_since = None
                self._after_commit.drop_since(0)  # the transaction's calls not taken by its commit: never made
            self._write_lock.release()
        for call in committed:
            call()

    def after_commit(self, call: Callable[[], None]) -> None:
        """Make ``call`` (no arguments; it must return at once) once this thread's write transaction has
        committed, not at all if it rolls back (:mod:`station.store.after_commit`); outside a :meth:`write`
        block of this thread, now."""
        self._after_commit.add(call, writing=self._owner == threading.get_ident())

    def _acquire(self, busy_wait_ms: int | None) -> None:
        """Take the write lock: ``busy_wait_ms`` at most, else the thread's bound or :data:`WRITE_LOCK_WAIT_S`.
        Not had in time, the error says what held it: another program, when the write holding it waits for
        that program's lock (:class:`DatabaseBusy`, its words); else this process's own write, still on its
        storage (:class:`StorageSlow`, saying how long it has held it)."""
        bound_s = getattr(self._wait_bound, "s", None)
        wait_s = busy_wait_ms / 1000 if busy_wait_ms is not None else WRITE_LOCK_WAIT_S if bound_s is None else bound_s
        if self._write_lock.acquire(timeout=wait_s):
            return
        if self._beginning:
            raise DatabaseBusy(DATABASE_BUSY_MESSAGE)
        since = self._held_since
        held_s = None if since is None else time.monotonic() - since
        raise StorageSlow(storage_slow_message(held_s), held_s)

    @contextmanager
    def waiting_at_most(self, seconds: float) -> Iterator[None]:
        """Inside the block, this thread's writes wait at most ``seconds`` for the process's other
        writes (:class:`StorageSlow` after it), not :data:`WRITE_LOCK_WAIT_S`: the trial service's
        loop, which serves the sampling, must not wait seconds on an SD card."""
        before = getattr(self._wait_bound, "s", None)
        self._wait_bound.s = seconds
        try:
            yield
        finally:
            self._wait_bound.s = before

    def _begin(self, conn: sqlite3.Connection, busy_wait_ms: int | None) -> None:
        """``BEGIN IMMEDIATE``, waiting ``busy_wait_ms`` (None: :data:`BUSY_TIMEOUT_MS`) for another
        process's write lock; :class:`DatabaseBusy` (nothing stored, in words: a page answers 503) when that
        lock is still held after the wait."""
        if busy_wait_ms is not None:
            conn.execute(f"PRAGMA busy_timeout = {max(0, int(busy_wait_ms))}")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            failed = self._write_failed(exc)
            if failed is not None:
                raise failed from None
            if is_busy(exc):  # another program's lock held past the wait: its words, not SQLite's "database is locked"
                raise DatabaseBusy(DATABASE_BUSY_MESSAGE) from None
            raise
        finally:
            if busy_wait_ms is not None:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: a consistent snapshot of the last commit, never blocked by writers.

        Inside a :meth:`write` block of the same thread, yields the writer connection instead, so
        the block sees its own uncommitted changes.
        """
        if self._owner == threading.get_ident():
            yield self._writer
            return
        conn = self._take_reader()
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")
        finally:
            self._readers.put(conn)

    def _take_reader(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("the database is closed")
        try:
            return self._readers.get_nowait()
        except queue.Empty:
            conn = _connect(self.path, writer=False)
            with self._readers_lock:
                self._all_readers.append(conn)
            return conn

    # -- maintenance -------------------------------------------------------------------------

    def migrate(self) -> list[int]:
        """Bring the database to the latest schema (:func:`station.store.migrations.migrate`)."""
        from station.store.migrations import migrate

        with self._write_lock:
            return migrate(self._writer)

    def schema_version(self) -> int:
        """The schema version of the database (``PRAGMA user_version``)."""
        with self._write_lock:
            return int(self._writer.execute("PRAGMA user_version").fetchone()[0])

    def quick_check(self) -> list[str]:
        """SQLite's ``PRAGMA quick_check``: ``[]`` if the file is intact, else its problems."""
        with self._write_lock:
            try:
                rows = [r[0] for r in self._writer.execute("PRAGMA quick_check(5)")]
            except SQLITE_ERRORS as exc:
                return [sqlite_message(exc)]
        return [] if rows == ["ok"] else rows

    def checkpoint_truncate(self) -> bool:
        """Copy the WAL into the database file and truncate it; True if it completed.

        It cannot complete while a reader holds an old snapshot; the WAL is then truncated at a
        later checkpoint.
        """
        with self._write_lock:
            busy, _log, _done = self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return busy == 0

    def close(self) -> None:
        """Close every connection. Further use raises :class:`StoreError`."""
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            with self._readers_lock:
                for conn in self._all_readers:
                    conn.close()
                self._all_readers.clear()
            self._writer.close()


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back the open transaction, if any. A rollback that fails itself (the storage failing
    under it) is left: SQLite rolls back by itself a transaction whose write failed, and the error
    that made the block fail is the one to say."""
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass


def acquire_service_lock(data_dir: str | os.PathLike) -> int:
    """Take the data directory's service lock; return its file descriptor (keep it open).

    The lock is released when the descriptor is closed or the process dies (even by SIGKILL),
    so a crashed service never blocks the next start.

    Raises
    ------
    DataDirLocked
        Another process holds it.
    """
    path = Path(data_dir) / LOCK_FILENAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        what = "is a symbolic link; remove it" if exc.errno == 40 else f"cannot be opened ({exc.strerror})"
        raise StoreError(f"{path} {what}, then try again") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
        finally:
            os.close(fd)
        raise DataDirLocked(
            f"another station process (pid {holder}) is already running on {Path(data_dir)}; "
            "stop it first, or use another --data-dir", holder
        ) from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    except OSError:  # the pid is for the message of a second start only; a full disk must not stop us here
        pass
    return fd
