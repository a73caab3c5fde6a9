"""The clinic data store of one data directory: open it, use its parts, close it::

    store = Store.open_service(Path("./data"))      # the station service: lock, migrate, recover
    writer = store.trials.start_trial(session_id, "romberg", "eyes_closed", calibration, 100.0)
    writer.append(frames); writer.finish(metrics, valid=True)

The service process (web server + protocol engine) opens the store with :meth:`Store.open_service`,
which takes the data directory's lock, applies migrations and marks trials interrupted by a crash
as ``partial`` (:meth:`Store.recover_partial_trials`). Command-line tools use :meth:`Store.open`
(no lock, no recovery). See :mod:`station.store.db` for the one-writer design and durability.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from station.clock import Clock
from station.config import StationConfig
from station.store.audit import Actor, AuditLog
from station.store.backup import (
    BACKUP_SUFFIX,
    BackupError,
    NoRoomForBackup,
    backup_name,
    backups_dir,
    check_room_for_copy,
    create_backup,
    inspect_database,
    list_backups,
)
from station.store.datadir import check_data_dir, open_in_data_dir
from station.store.db import (
    SQLITE_ERRORS,
    Database,
    StorageFailed,
    StoreError,
    acquire_service_lock,
    db_path,
    is_disk_full,
    is_io_error,
)
from station.store.erasure_key import KeyFile
from station.store.logins import LoginSessions
from station.store.migrations import LATEST_VERSION
from station.store.outbox import Outbox
from station.store.passwords import DEFAULT_COST, ScryptCost
from station.store.patients import Patients
from station.store.secret import SECRET_KEY_FILENAME
from station.store.space import RESERVE_BYTES, START_MIN_BYTES, WHAT_TO_DO, SpaceMonitor, check_room_to_start
from station.store.programmes import Programmes
from station.store.sessions import Sessions
from station.store.settings import Settings
from station.store.training import TrainingSessions
from station.store.trials import DEFAULT_COMMIT_INTERVAL_S, Trials
from station.store.users import Users

_log = logging.getLogger(__name__)


def _prepare_data_dir(data_dir: Path, *, database_file: bool = True) -> Path:
    """Create the data directory (mode 0700) and the database file (mode 0600) if missing
    (not with ``database_file=False``: the hub's database is on PostgreSQL).

    Refuses (StoreError, one line with what to do) a data directory holding links or other users'
    files (:func:`~station.store.datadir.check_data_dir`), and a missing or empty database in a
    directory that was in use (:func:`_check_not_lost`).
    """
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the data directory {data_dir}: {exc.strerror}") from None
    if not data_dir.is_dir():
        raise StoreError(f"{data_dir} is not a directory; give a directory with --data-dir")
    check_data_dir(data_dir)
    path = db_path(data_dir)
    if not database_file:
        return path
    _check_not_lost(data_dir, path)
    try:
        # patient data: owner only; never through a link; as root, given to the directory's owner
        # (the service user), or the service could not open it. SQLite gives its -wal and -shm
        # files the database file's owner.
        os.close(open_in_data_dir(data_dir, path.name, os.O_RDWR | os.O_CREAT, 0o600))
    except OSError as exc:
        raise StoreError(f"cannot open {path}: {exc.strerror}; check its permissions and free space") from None
    return path


def _check_not_lost(data_dir: Path, path: Path) -> None:
    """StoreError if the database is missing or empty although the directory was in use (it has
    backups, or the secret key written after the database's first opening): opening it would
    start an empty station whose first-run setup is open to whoever comes first."""
    try:
        size = os.lstat(path).st_size
    except FileNotFoundError:
        size = None
    if size:
        return
    backups = list_backups(data_dir)
    used = backups or (data_dir / SECRET_KEY_FILENAME).exists()
    if not used:
        return
    state = "missing" if size is None else "empty"
    if backups:
        todo = (f"restore the newest backup with `balance-station restore {backups[-1].path}` "
                "(service stopped)")
    else:
        todo = "restore a backup with `balance-station restore FILE` (service stopped)"
    raise StoreError(
        f"the database {path} is {state}, but this data directory was in use; {todo}; to start an empty "
        f"station instead, move {data_dir} away first"
    )


def check_integrity(db: Database, data_dir: Path) -> None:
    """StoreError (what and what to do) if SQLite's quick check finds the database damaged."""
    problems = db.quick_check()
    if not problems:
        return
    if db.dialect == "postgresql":
        raise StoreError(
            f"the database {db.path} reports damage ({'; '.join(problems)[:200]}); `balance-station check "
            "--database URL` lists what is wrong; restore a backup (`balance-station restore FILE --database URL`, "
            "or the server's own) before starting the hub"
        )
    backups = list_backups(data_dir)
    todo = (f"restore the newest backup with `balance-station restore {backups[-1].path}`" if backups
            else "restore a backup with `balance-station restore FILE`")
    raise StoreError(
        f"the database {db.path} is damaged ({'; '.join(problems)[:200]}); {todo} with the service stopped"
    )


PRE_MIGRATION_PREFIX = "station-pre-migration-v"
"""Name of the copy kept before a migration: ``backups/station-pre-migration-v<N>-<UTC time>.sqlite3``
(``N``: the schema version it holds). Never pruned (:func:`station.store.backup.prune_backups`
deletes scheduled backups only)."""


def copy_before_migrating(db: Database, data_dir: Path) -> Path | None:
    """Before this software migrates an existing database to its schema, a copy of the database as
    it is, in ``backups/`` (:data:`PRE_MIGRATION_PREFIX`); the path, or None when there is nothing
    to migrate (a new database, or one at this software's schema or newer).

    An older version refuses a migrated database, so going back to it (an update that has to be
    undone) means restoring: from this copy, nothing recorded before the update is lost. The copy is
    made whoever opens the database first (the service, ``make run`` or a command). If it cannot be
    made, the database is not migrated (StoreError with what to do): also when the disk has no room for
    it by a backup's rule (:func:`~station.store.backup.check_room_for_copy`: the copy and the room
    recording needs left after it), checked before a byte is written.

    A migration that failed (a failing card, a full disk) leaves the database at its version, and
    the next start would copy it again: a copy of this version that holds what the database holds
    now (:func:`content_fingerprint`) and passes the restore's checks
    (:func:`station.store.backup.inspect_database`) is kept instead of a new one, so a service
    restarted every few seconds does not fill the card with copies."""
    version = db.schema_version()
    if version == 0 or version >= LATEST_VERSION:
        return None
    now_s = time.time()
    prefix = f"{PRE_MIGRATION_PREFIX}{version}-"
    kept = _kept_copy(db, data_dir, prefix, version)
    if kept is not None:
        _log.warning(
            "the database has schema version %d and is migrated to %d; the database as it is was kept as %s at an "
            "earlier start whose migration did not complete (no new copy made)", version, LATEST_VERSION, kept
        )
        return kept
    try:
        check_room_for_copy(data_dir, "the copy kept before the migration")
    except NoRoomForBackup as exc:
        raise StoreError(
            f"the database {db.path} has schema version {version}; this software migrates it to {LATEST_VERSION} "
            f"after keeping a copy of it as it is in {backups_dir(data_dir)}, and there is no room for that copy: {exc}; "
            "nothing was changed (the database stays at its version); start again once there is room"
        ) from None
    try:
        copy = create_backup(data_dir, now_s, prefix=prefix, refuse_while_recording=False).path
    except (BackupError, OSError) as exc:
        same_second = backups_dir(data_dir) / backup_name(now_s, prefix)
        if same_second.exists() or db.schema_version() != version:
            return None  # another process opening it now made the copy (and migrates it)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StoreError(
            f"the database {db.path} has schema version {version}; this software migrates it to {LATEST_VERSION} "
            f"after keeping a copy of it as it is in {backups_dir(data_dir)}, and the copy failed ({reason}); "
            "nothing was changed: "
            "make room or fix what it says, then start again"
        ) from None
    _log.warning(
        "the database has schema version %d and is migrated to %d; the database as it was is kept as %s "
        "(restore it only to go back to the software version that wrote it)", version, LATEST_VERSION, copy
    )
    return copy


def _kept_copy(db: Database, data_dir: Path, prefix: str, version: int) -> Path | None:
    """The newest ``backups/<prefix>*.sqlite3`` that holds what ``db`` holds now and passes
    :func:`~station.store.backup.inspect_database` at ``version``, or None."""
    candidates = sorted(backups_dir(data_dir).glob(f"{prefix}*{BACKUP_SUFFIX}"), reverse=True)
    if not candidates:
        return None
    with db.read() as conn:
        now = content_fingerprint(conn)
    for copy in candidates:
        try:
            conn = sqlite3.connect(f"file:{quote(str(copy.resolve()))}?mode=ro", uri=True, isolation_level=None)
            try:
                same = content_fingerprint(conn) == now
            finally:
                conn.close()
            if same and inspect_database(copy).schema_version == version:
                return copy
        except (BackupError, *SQLITE_ERRORS, OSError):
            continue  # not a usable copy: look at the next, or make a new one
    return None


def content_fingerprint(conn: sqlite3.Connection) -> str:
    """A hash of every row of every table of the database on ``conn`` (a trial's stored frames by
    their length: a chunk is written once and never changed), so two databases with the same
    fingerprint hold the same records. Reads the tables, not the frames themselves.

    >>> a = sqlite3.connect(":memory:"); _ = a.execute("CREATE TABLE t (x)")
    >>> before = content_fingerprint(a); _ = a.execute("INSERT INTO t VALUES (1)")
    >>> before == content_fingerprint(a)
    False
    """
    digest = hashlib.sha256()
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    for table in tables:
        columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
        shown = ", ".join(f'length("{c}")' if (table, c) == ("trial_chunks", "data") else f'"{c}"' for c in columns)
        digest.update(repr((table, columns)).encode())
        for row in conn.execute(f'SELECT {shown} FROM "{table}" ORDER BY rowid'):
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


class Store:
    """Everything stored in one data directory.

    Attributes: ``users``, ``logins`` (login sessions), ``patients``, ``sessions`` (visits),
    ``trials``, ``programmes`` (training programmes), ``settings``, ``audit``, ``db``, ``outbox``
    (the station's identity and its queue of changes for the hub, :mod:`station.store.outbox`).

    Parameters
    ----------
    data_dir : path-like
        Created (0700) if missing.
    config : StationConfig, optional
        Defaults of the clinic settings (``web.session_timeout_min``).
    wall_clock : callable
        Unix time in s, for stored timestamps and login expiry (``time.time``).
    clock : Clock, optional
        Monotonic clock pacing trial group commits (real clock by default).
    password_cost : ScryptCost
        scrypt cost for new password hashes.
    commit_interval_s : float
        Largest interval between durable commits of a recording trial, s.
    space_reserve_bytes : int, optional
        Size of the space reserve released when the disk fills (:mod:`station.store.space`).
    check_database : bool
        Run SQLite's quick check before using the database (the service does, at start).
    database : str, optional
        A ``postgresql://`` URL: the store lives in that PostgreSQL database (the hub,
        :mod:`station.store.pg`) instead of ``<data_dir>/station.sqlite3``; the data directory
        keeps the secret key.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike,
        *,
        config: StationConfig | None = None,
        wall_clock: Callable[[], float] = time.time,
        clock: Clock | None = None,
        password_cost: ScryptCost = DEFAULT_COST,
        commit_interval_s: float = DEFAULT_COMMIT_INTERVAL_S,
        space_reserve_bytes: int | None = None,
        check_database: bool = False,
        database: str | None = None,
        _lock_fd: int | None = None,
    ):
        self.data_dir = Path(data_dir)
        self.database_url = database
        """The PostgreSQL URL given (with its password: never print it), None on SQLite."""
        self._lock_fd = _lock_fd
        config = config or StationConfig()
        path = _prepare_data_dir(self.data_dir, database_file=database is None)
        if database is None:
            self.db = Database(path)
        else:
            from station.store.pg import PgDatabase

            self.db = PgDatabase(database)
        self.space = SpaceMonitor(self.data_dir, **({} if space_reserve_bytes is None else {"reserve_bytes": space_reserve_bytes}))
        self.db.on_disk_full.append(self.space.disk_full)
        self.db.on_storage_failed.append(self.space.storage_failed)
        if isinstance(self.db, Database):  # a station's card (a hub's server watches its own storage)
            self.space.watch_idle(lambda: self.db.last_commit_s)
        copy = None
        try:
            if check_database:
                check_integrity(self.db, self.data_dir)
            if database is None:
                copy = copy_before_migrating(self.db, self.data_dir)
            self.db.migrate()
        except BaseException as exc:
            self.db.close()
            if is_disk_full(exc):
                raise StoreError(f"the disk holding {self.data_dir} is full; {WHAT_TO_DO}") from None
            if is_io_error(exc):
                kept = f"; nothing recorded was lost (the database as it was before this update is kept as {copy})"
                raise StorageFailed(
                    f"the station's storage failed to read or write the database {path} (a disk I/O error: its SD "
                    f"card may be failing), so it was not opened{kept if copy else ''}; check the SD card or replace "
                    "it, then start again"
                ) from None
            raise
        self.audit = AuditLog(self.db, wall_clock)
        self.outbox = Outbox(self.db, wall_clock, KeyFile(self.data_dir))
        self.audit.hooks.append(self.outbox.capture)
        self.logins = LoginSessions(self.db, wall_clock)
        self.users = Users(self.db, self.audit, wall_clock, password_cost, self.logins)  # its ends told to pages
        self.patients = Patients(self.db, self.audit, wall_clock)
        self.sessions = Sessions(self.db, self.audit, wall_clock)
        self.programmes = Programmes(self.db, self.audit, wall_clock)
        self.training = TrainingSessions(self.db, self.audit, self.programmes, wall_clock)
        self.trials = Trials(
            self.db, self.audit, wall_clock=wall_clock, clock=clock, commit_interval_s=commit_interval_s
        )
        self.settings = Settings(
            self.db,
            self.audit,
            {"session_timeout_min": config.web.session_timeout_min, "clinic_name": config.clinic.name},
            wall_clock,
        )

    @classmethod
    def open(cls, data_dir: str | os.PathLike, **kwargs) -> "Store":
        """Open for a command-line tool: migrate if needed; no service lock, no recovery."""
        return cls(data_dir, **kwargs)

    @classmethod
    def open_service(cls, data_dir: str | os.PathLike, **kwargs) -> "Store":
        """Open as the station service: refuse a (nearly) full disk, take the lock
        (DataDirLocked if another service runs), check the database's integrity, migrate, recover
        interrupted trials, and keep the space reserve (:mod:`station.store.space`)."""
        data_dir = Path(data_dir)
        _prepare_data_dir(data_dir, database_file=kwargs.get("database") is None)
        reserve = kwargs.get("space_reserve_bytes")
        check_room_to_start(data_dir, START_MIN_BYTES + (RESERVE_BYTES if reserve is None else reserve))
        fd = acquire_service_lock(data_dir)
        try:
            store = cls(data_dir, _lock_fd=fd, check_database=True, **kwargs)
        except BaseException:
            os.close(fd)
            raise
        try:
            if not store.is_hub:  # the hub records no trial: one "recording" there is a station's upload
                store.recover_partial_trials()
        except StoreError:
            store.close()
            raise
        store.space.ensure_reserve()
        return store

    @property
    def is_service(self) -> bool:
        return self._lock_fd is not None

    @property
    def is_hub(self) -> bool:
        """True if the store is on PostgreSQL (the hub), False on the station's SQLite file."""
        return self.db.dialect == "postgresql"

    recovered_trial_ids: tuple[int, ...] = ()
    """Trials this service found interrupted when it started (marked ``partial``): the live page
    says so."""

    def recover_partial_trials(self) -> list[int]:
        """Mark trials interrupted by a crash as ``partial`` (frames kept); return their ids."""
        ids = self.trials.recover_partial_trials(actor=Actor.system())
        self.recovered_trial_ids = tuple(self.recovered_trial_ids) + tuple(ids)
        return ids

    def close(self) -> None:
        """Store what the trial recorders handed to their committer thread (bounded:
        :data:`station.store.trials.SHUTDOWN_DRAIN_S`), close the database and release the service lock.
        A storage that never finished that write is left to the process's end (closing the database would
        wait for it): the next start recovers the trial as partial."""
        if self.trials.close():
            self.db.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
