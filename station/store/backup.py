"""Online backups of the station database, retention, verification and restore.

Layout inside the data directory::

    <data_dir>/station.sqlite3                                   the database (DB_FILENAME)
    <data_dir>/backups/station-YYYYmmdd-HHMMSS.sqlite3           backups (UTC time of the backup)
    <data_dir>/backups/station-pre-restore-YYYYmmdd-HHMMSS.sqlite3
                                                                 the database as it was before a
                                                                 restore (never pruned)

**Backup** (:func:`create_backup`) uses SQLite's online backup API (``sqlite3.Connection.backup``)
from a read transaction on the live database: it copies one consistent snapshot while the service
keeps writing (WAL readers never block the writer). The same read transaction first checks that no
trial is ``recording`` (status of :mod:`station.store.trials`), so a backup never holds a half-
recorded trial; if one is, the backup is refused (:class:`TrialRecording`) and the scheduled run
tries again at its next hour. The copy is written to a hidden temporary file, switched to a single
self-contained file (``journal_mode=DELETE``), checked (``PRAGMA quick_check``), fsync'ed and only
then renamed into place: a crash never leaves a half backup with a backup's name.

**Retention** (:func:`prune_backups`) keeps the newest ``keep`` files named like scheduled
backups; files with other names (pre-restore copies, anything an administrator put there) are never
deleted.

**Room** (:func:`back_up_with_room`, what ``balance-station backup`` runs): a backup is a full copy
of the database, so before writing one the free space of the data directory's disk is checked
against the copy's size (the database file and its WAL: the snapshot the backup API copies is never
larger than both) and :data:`BACKUP_LEAVES_FREE_BYTES` left after it, so that a backup never takes
the room recording and sign-in need (the space reserve is a file of its own, not counted as free).
If that does not fit, the oldest scheduled backups that the rotation would delete after this one
anyway (beyond ``keep - 1``, never the newest) are deleted first, but only when that makes it fit;
otherwise nothing is deleted and the backup is refused (:class:`NoRoomForBackup`: how much is needed,
how much is free, what to do). The newest backup is never deleted before a new one is written, so a
backup that fails halfway still leaves the clinic one. A refusal of the scheduled backup is remembered
in :data:`REFUSAL_FILENAME` (sizes only, no patient data) until a backup is written, for ``/healthz``
(:func:`backup_health`). Weeks before, a backup that finds the free space lasting fewer than
:data:`ROOM_WARNING_DAYS` days at the rate the kept backups grew (:func:`room_left`) says so, and keeps
it in :data:`ROOM_FILENAME` for ``/healthz`` until a backup finds more.

**Restore** (:func:`restore_backup`) refuses a file that is not this station's database
(:func:`inspect_database`: SQLite header, ``PRAGMA integrity_check``, ``PRAGMA foreign_key_check``,
every ended trial's stored frames against its frame count (:mod:`station.store.integrity`),
and the whole schema — tables, columns, indexes, triggers and views, with their SQL — compared with
the one the migrations of its ``user_version`` create in memory from :mod:`station.store.migrations`,
so a backup with an audit trigger dropped or a trigger added is refused; clinic settings the
dashboard would never save, checked by the rules of ``PATCH /api/settings``), and a database newer
than this software. The backup's login sessions are not restored: everyone signs in again. It needs the station service stopped: it takes the data directory's service lock
(:func:`station.store.db.acquire_service_lock`), checks the room as a backup does (the pre-restore
copy, the backup copied in, and the room left for recording: refused in words, nothing changed; a
damaged database is moved aside, not copied, so no room is asked for a copy of it),
keeps a pre-restore copy of the current database, then copies the backup into the database file with
the backup API (atomic through SQLite's journal: a crash mid-restore leaves the old database).

When run as root (an administrator's ``sudo balance-station backup``), new files and directories
are given to the owner of the data directory, so the service (its own user) can still use them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import functools
import os
import re
import shutil
import sqlite3
import stat
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from station.store.db import (
    DB_FILENAME,
    LOCK_FILENAME,
    OUT_OF_SPACE_ERRNOS,
    SQLITE_ERRORS,
    DataDirLocked,
    StoreError,
    acquire_service_lock,
    sqlite_message,
)
from station.store import setup_code
from station.store.migrations import LATEST_VERSION, MIGRATIONS, migrate
from station.store.passwords import sign_in_counts, unusable_accounts
from station.store.space import LOW_SPACE_BYTES, free_bytes
from station.tomlschema import file_kind

BACKUP_DIRNAME = "backups"
"""Sub-directory of the data directory that holds the backups."""
BACKUP_PREFIX = "station-"
BACKUP_SUFFIX = ".sqlite3"
PRE_RESTORE_PREFIX = "station-pre-restore-"
_STAMP_FORMAT = "%Y%m%d-%H%M%S"
_BACKUP_RE = re.compile(r"^station-(\d{8}-\d{6})\.sqlite3$")
_SQLITE_MAGIC = b"SQLite format 3\x00"
BACKUP_LEAVES_FREE_BYTES = LOW_SPACE_BYTES
"""Free space a backup must leave on the data directory's disk, bytes: the station's low-space line
(:data:`station.store.space.LOW_SPACE_BYTES`), days of recording at a busy clinic; a backup never
brings the disk below it (the space reserve comes on top: its file is not counted as free)."""
BACKUP_MARGIN_BYTES = 1024 * 1024
"""Room beyond the database's size that writing its copy may take (the copy's own journal), bytes."""
REFUSAL_FILENAME = "backup-refused.json"
"""In the data directory: the scheduled backup's last refusal for lack of space (JSON, sizes only), deleted
by the next backup written."""
ROOM_FILENAME = "backup-room.json"
"""In the data directory, written by a backup when the card's free space lasts less than
:data:`ROOM_WARNING_DAYS` at the recent rate (JSON: days left, bytes a day), deleted by one that finds more."""
ROOM_WARNING_DAYS = 28
"""A backup warns (``/healthz`` degraded) when the free space would last fewer days than this at the rate the
kept backups grew, so that there are weeks to copy them off the card."""


class BackupError(StoreError):
    """A backup or restore could not be done; the message says why and what to do."""


class TrialRecording(BackupError):
    """A trial is being recorded: no backup now (the data would hold a half-recorded trial)."""


class NotStationDatabase(BackupError):
    """The file is not a database of this station (not SQLite, or another schema)."""


class CorruptDatabase(BackupError):
    """The file is an SQLite database that fails its integrity checks."""


class DamagedDatabase(BackupError):
    """The database to back up is damaged (malformed, not a database): copying it would copy the
    damage. A restore keeps its files as they are instead (:func:`restore_backup`)."""


class NoRoomForBackup(BackupError):
    """The disk has no room for a copy of the database besides what recording needs; nothing was
    written or deleted (the message says how much is needed and what to do)."""

    def __init__(self, message: str, needed_bytes: int, free_bytes: int):
        super().__init__(message)
        self.needed_bytes = needed_bytes
        self.free_bytes = free_bytes


@dataclass(frozen=True)
class BackupInfo:
    """One backup file: its path, when it was made (UTC, from its name, Unix s) and its size."""

    path: Path
    created_s: float
    size_bytes: int


@dataclass(frozen=True)
class DatabaseInfo:
    """What :func:`inspect_database` found in a valid station database."""

    path: Path
    schema_version: int
    tables: tuple[str, ...]
    patients: int
    trials: int
    programmes: int = 0
    """Training programmes given to patients (0 in a backup older than programmes)."""


@dataclass(frozen=True)
class RestoreResult:
    """Outcome of :func:`restore_backup`."""

    restored: DatabaseInfo
    pre_restore_copy: Path | None
    sessions_ended: int = 0
    """Login sessions the backup held, not restored: everyone signs in again."""
    unusable_accounts: tuple[str, ...] = ()
    """User names of the active accounts whose stored password hash this station cannot check
    (:func:`station.store.passwords.unusable_accounts`): nobody signs in to them until an
    administrator sets a new password."""
    setup_code: str | None = None
    """The backup holds no account (taken before the first administrator existed): the first-run
    setup is open again and asks for this one-time code (:func:`station.store.setup_code.ensure`),
    to be shown to whoever restored."""
    can_sign_in: int | None = None
    """How many of the backup's accounts can sign in (active, with a password hash this station can
    check); None when not counted."""
    admins_can_sign_in: int | None = None
    """How many of those are administrators: 0 with accounts in the backup (all disabled, unusable or
    clinicians'), and nobody can manage the station until an administrator is made from the command
    line (``users add NAME --role admin``: the first-run setup stays closed while accounts exist)."""
    pre_restore_damaged: bool = False
    """The database replaced was damaged (:class:`DamagedDatabase`): ``pre_restore_copy`` is its file
    kept byte for byte (with its ``-wal`` beside it, if it had one), not a checked backup."""


# -- names and listing ---------------------------------------------------------------------------


def backups_dir(data_dir: str | os.PathLike) -> Path:
    return Path(data_dir) / BACKUP_DIRNAME


def backup_name(created_s: float, prefix: str = BACKUP_PREFIX) -> str:
    """``station-YYYYmmdd-HHMMSS.sqlite3`` for the UTC time ``created_s`` (Unix s)."""
    stamp = datetime.fromtimestamp(created_s, timezone.utc).strftime(_STAMP_FORMAT)
    return f"{prefix}{stamp}{BACKUP_SUFFIX}"


def list_backups(data_dir: str | os.PathLike) -> list[BackupInfo]:
    """Scheduled-style backups in ``<data_dir>/backups``, oldest first (other files ignored)."""
    folder = backups_dir(data_dir)
    found = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    for entry in entries:
        match = _BACKUP_RE.match(entry.name)
        if not match or not entry.is_file(follow_symlinks=False):
            continue
        created = datetime.strptime(match.group(1), _STAMP_FORMAT).replace(tzinfo=timezone.utc)
        found.append(BackupInfo(Path(entry.path), created.timestamp(), entry.stat().st_size))
    found.sort(key=lambda b: b.created_s)
    return found


def backup_due(data_dir: str | os.PathLike, interval_h: float, now_s: float | None = None) -> bool:
    """True when there is no backup yet or the newest is at least ``interval_h`` hours old.

    Age comes from the file names (UTC), not from modification times, which copying changes.
    A backup dated in the future (the clock was wrong when it was made) does not block new ones.
    """
    now_s = time.time() if now_s is None else now_s
    backups = list_backups(data_dir)
    if not backups:
        return True
    newest = backups[-1].created_s
    age_s = now_s - newest
    return age_s < 0 or age_s >= interval_h * 3600.0 - 60.0  # a minute of slack for timer jitter


# -- ownership and durability helpers ------------------------------------------------------------


def _give_to_owner_of(path: Path, reference: Path) -> None:
    """As root, hand ``path`` to ``reference``'s owner (the service user); otherwise do nothing."""
    if os.geteuid() != 0:
        return
    st = reference.stat()
    os.chown(path, st.st_uid, st.st_gid, follow_symlinks=False)


def _fsync_path(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _ensure_backups_dir(data_dir: Path) -> Path:
    folder = backups_dir(data_dir)
    if not folder.is_dir():
        folder.mkdir(mode=0o700)  # patient data: owner only, like the data directory
        _give_to_owner_of(folder, data_dir)
    return folder


def service_running(data_dir: str | os.PathLike) -> bool:
    """True when a station service holds the data directory's lock (it is running)."""
    path = Path(data_dir) / LOCK_FILENAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also releases the shared lock if we got it
    return False


# -- backup --------------------------------------------------------------------------------------


def _connect_source(db: Path, read_only: bool = False) -> sqlite3.Connection:
    """The database to back up; ``read_only``: opened read-only, so that closing it writes nothing (a
    read-write connection, the last one to close, moves its ``-wal`` into the file and deletes it)."""
    if not db.is_file():
        raise BackupError(f"{db}: no database here, nothing to back up; check data_dir in the configuration")
    try:
        conn = (sqlite3.connect(f"file:{_uri_path(db)}?mode=ro", uri=True, timeout=5.0, isolation_level=None)
                if read_only else sqlite3.connect(db, timeout=5.0, isolation_level=None))
        conn.execute("PRAGMA query_only = ON")
    except SQLITE_ERRORS as exc:
        raise BackupError(f"{db}: cannot open the database ({sqlite_message(exc)}); check its permissions") from None
    return conn


def _copy_database(source: sqlite3.Connection, target_path: Path) -> None:
    """Copy ``source``'s current snapshot into a new single-file database at ``target_path``
    (created mode 0600: it holds patient data)."""
    os.close(os.open(target_path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    target = sqlite3.connect(target_path, isolation_level=None)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode = DELETE")
        result = target.execute("PRAGMA quick_check").fetchone()[0]
        if result != "ok":
            raise CorruptDatabase(f"the copy failed its check ({result}); the database may be damaged")
    finally:
        target.close()


def recording_trials(conn: sqlite3.Connection) -> list[tuple[int, str]]:
    """(id, started_at) of the trials in state ``recording``."""
    return [(int(r[0]), str(r[1])) for r in conn.execute("SELECT id, started_at FROM trials WHERE status = 'recording'")]


def create_backup(
    data_dir: str | os.PathLike,
    now_s: float | None = None,
    *,
    prefix: str = BACKUP_PREFIX,
    refuse_while_recording: bool = True,
    read_only: bool = False,
) -> BackupInfo:
    """Back up ``<data_dir>/station.sqlite3`` into ``<data_dir>/backups/``.

    Parameters
    ----------
    data_dir : path-like
        The station's data directory.
    now_s : float, optional
        Wall-clock time (Unix s) that names the backup; default now.
    prefix : str
        File name prefix (:data:`PRE_RESTORE_PREFIX` for the copy kept by a restore).
    refuse_while_recording : bool
        Refuse while a trial is ``recording`` (default). Only a restore, which runs with the
        service stopped, copies the database regardless.
    read_only : bool
        Open the database read-only (a restore's copy of the database it replaces: with the service
        stopped, closing a read-write connection would move the ``-wal`` into the file and delete it, and
        a damaged database's files are kept as they were: :func:`_keep_damaged`).

    Raises
    ------
    TrialRecording
        A trial is being recorded (or was interrupted and the service has not run since).
    BackupError
        No database, no space, a backup of the same second exists, or another I/O problem.
    """
    data_dir = Path(data_dir)
    now_s = time.time() if now_s is None else now_s
    source = _connect_source(data_dir / DB_FILENAME, read_only)
    folder = _ensure_backups_dir(data_dir)
    name = backup_name(now_s, prefix)
    final = folder / name
    if final.exists():
        raise BackupError(f"{final} already exists (a backup was made this second); try again in a second")
    partial = folder / f".{name}.partial"
    try:
        source.execute("BEGIN")
        try:
            if refuse_while_recording:
                recording = recording_trials(source)
                if recording:
                    raise TrialRecording(_recording_message(data_dir, recording))
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()  # left by a crash during an earlier backup
            _copy_database(source, partial)
        finally:
            source.execute("COMMIT")
        _fsync_path(partial)
        os.replace(partial, final)
        _fsync_path(folder, directory=True)
        _give_to_owner_of(final, data_dir)
    except SQLITE_ERRORS as exc:
        if isinstance(exc, sqlite3.OperationalError):  # I/O, a full disk, a lock: not the file's content
            raise BackupError(f"backup of {data_dir / DB_FILENAME} failed: {sqlite_message(exc)}; check free space "
                              "and permissions") from None
        # malformed, not a database, a schema that is not text: copying it would copy the damage
        raise DamagedDatabase(f"backup of {data_dir / DB_FILENAME} failed: {sqlite_message(exc)}; the database is "
                              "damaged: `balance-station check` says what is wrong; restore the newest good backup "
                              "(`balance-station backup --list`) with the service stopped") from None
    except OSError as exc:
        raise BackupError(f"backup into {folder} failed: {exc.strerror}; check free space and permissions") from None
    finally:
        source.close()
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return BackupInfo(final, float(int(now_s)), final.stat().st_size)


def _recording_message(data_dir: Path, recording: list[tuple[int, str]]) -> str:
    ids = ", ".join(f"{tid} (started {started})" for tid, started in recording)
    if service_running(data_dir):
        return (
            f"trial {ids} is recording; a backup is not taken while a trial records: "
            "try again when it has finished (the scheduled backup retries every hour)"
        )
    return (
        f"trial {ids} is marked as recording but no station service is running: it was "
        "interrupted; start the service (it marks the trial partial), then back up again"
    )


def prune_backups(data_dir: str | os.PathLike, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` scheduled-style backups; return what was deleted."""
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    backups = list_backups(data_dir)
    removed = []
    for info in backups[: max(0, len(backups) - keep)]:
        with contextlib.suppress(FileNotFoundError):
            info.path.unlink()
            removed.append(info.path)
    return removed


# -- room for a backup ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupWritten:
    """Outcome of :func:`back_up_with_room`: the backup, the old ones deleted before it to make room,
    and those deleted after it (beyond ``keep``)."""

    info: BackupInfo
    deleted_for_room: tuple[Path, ...]
    deleted_beyond_keep: tuple[Path, ...]
    room: dict | None = None
    """:func:`room_left` after it, when that is under :data:`ROOM_WARNING_DAYS` days (else None)."""
    room_not_kept: str | None = None
    """Why ``room`` could not be kept for ``/healthz`` (the system's words: a full or failing card), else None."""


def _gb(n: float) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.2f} GB"
    return f"{n / 1e6:.0f} MB" if n >= 1e7 else f"{n / 1e6:.1f} MB"


def backup_room_needed(data_dir: str | os.PathLike) -> tuple[int, int]:
    """(bytes a copy of the database may take, bytes the disk must have free for it): the database
    file and its WAL with :data:`BACKUP_MARGIN_BYTES`, and that plus :data:`BACKUP_LEAVES_FREE_BYTES`."""
    db = Path(data_dir) / DB_FILENAME
    copy = 0
    for path in (db, db.with_name(db.name + "-wal")):
        with contextlib.suppress(FileNotFoundError):
            copy += os.stat(path).st_size
    copy += BACKUP_MARGIN_BYTES
    return copy, copy + BACKUP_LEAVES_FREE_BYTES


def _room_words(data_dir: Path, what: str, needed: int, free: int, parts: list[str],
                left_for: str = "recording and sign-in") -> str:
    """"the disk holding DIR has X free, and WHAT needs Y, Z more (PARTS, and 256 MB left for recording and
    sign-in)": the room rule's words, for a backup and for the copies that refuse like it."""
    left = f"{_gb(BACKUP_LEAVES_FREE_BYTES)} left for {left_for}"
    return (f"the disk holding {data_dir} has {_gb(free)} free, and {what} needs {_gb(needed)}, {_gb(needed - free)} "
            f"more ({', '.join(parts) + ', and ' if parts else ''}{left})")


def check_room_for_copy(data_dir: str | os.PathLike, what: str, staged_bytes: int = 0, staged_words: str = "",
                        copy_database: bool = True) -> None:
    """The room rule of a backup (:func:`backup_room_needed`: a copy of the database and
    :data:`BACKUP_LEAVES_FREE_BYTES` left after it) for a copy that deletes nothing to make room: the
    pre-migration copy (:func:`station.store.store.copy_before_migrating`) and the pre-restore one
    (:func:`restore_backup`, with ``staged_bytes`` more: the backup copied in, ``staged_words`` saying so;
    ``copy_database`` False: no copy of the database is written, a damaged one is moved aside).
    Raises :class:`NoRoomForBackup` saying what is needed, what is free and what to do (``what``: the
    copy's name in the sentence, "the copy kept before the migration")."""
    data_dir = Path(data_dir)
    copy, needed = backup_room_needed(data_dir)
    if not copy_database:
        copy, needed = BACKUP_MARGIN_BYTES, needed - (copy - BACKUP_MARGIN_BYTES)
    needed += staged_bytes
    free = free_bytes(data_dir)
    if free >= needed:
        return
    parts = ([f"a copy of the {_gb(copy - BACKUP_MARGIN_BYTES)} database"]
             if copy_database and (data_dir / DB_FILENAME).exists() else [])
    parts += [staged_words] if staged_words else []
    raise NoRoomForBackup(
        f"{_room_words(data_dir, what, needed, free, parts)}; to make room: copy the backups in {backups_dir(data_dir)} "
        "off the card (they hold patient data: keep the copies protected) and delete the older ones, or move the "
        "station to a bigger card", needed, free)


def _disk_bytes(info: BackupInfo) -> int:
    """What deleting the backup gives back to the disk, bytes (its allocated blocks)."""
    try:
        return os.stat(info.path).st_blocks * 512
    except FileNotFoundError:
        return 0


def back_up_with_room(data_dir: str | os.PathLike, keep: int, now_s: float | None = None) -> BackupWritten:
    """A scheduled-style backup (:func:`create_backup`) when the disk has room for it, then the
    rotation (:func:`prune_backups`); see "Room" above.

    Raises
    ------
    NoRoomForBackup
        Not enough free space even after deleting what the rotation would delete anyway; nothing
        was deleted or written.
    TrialRecording, BackupError
        As :func:`create_backup` (after room was made, the older backups deleted for it stay deleted;
        the newest is never among them).
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    data_dir = Path(data_dir)
    deleted = make_room_for_backup(data_dir, keep, *backup_room_needed(data_dir), list_backups(data_dir))
    written = create_backup(data_dir, now_s)
    clear_refusal(data_dir)
    pruned = tuple(prune_backups(data_dir, keep))
    room = room_left(data_dir, keep)
    short = room if room is not None and room["days"] < ROOM_WARNING_DAYS else None
    not_kept = _remember_room(data_dir, short)
    return BackupWritten(written, deleted, pruned, short, not_kept)


def make_room_for_backup(data_dir: Path, keep: int, copy: int, needed: int, backups: list[BackupInfo], *,
                         server: bool = False) -> tuple[Path, ...]:
    """Room on ``data_dir``'s disk for a backup of ``copy`` bytes that must leave ``needed`` - ``copy``
    free besides (see "Room" above): the older ``backups`` (oldest first) that the rotation to
    ``keep`` deletes after the new one anyway are deleted first, as far as needed, never the newest;
    returns those deleted. NoRoomForBackup (nothing deleted) if even that is not enough; ``server``:
    in the words of the hub's server, not of a station's card (:mod:`station.store.pg_backup`)."""
    free = free_bytes(data_dir)
    # the rotation keeps the new one and keep - 1 others; the newest stays until the new one is written
    deletable = backups[: max(0, min(len(backups) - 1, len(backups) - (keep - 1)))]
    to_delete: list[BackupInfo] = []
    room = free
    for info in deletable:
        if room >= needed:
            break
        to_delete.append(info)
        room += _disk_bytes(info)
    if room < needed:
        raise NoRoomForBackup(_no_room_message(data_dir, keep, copy, needed, free, backups, server=server),
                              needed, free)
    deleted = []
    for info in to_delete:
        with contextlib.suppress(FileNotFoundError):
            info.path.unlink()
            deleted.append(info.path)
    return tuple(deleted)


def room_left(data_dir: str | os.PathLike, keep: int) -> dict | None:
    """How long the free space lasts at the rate the kept backups grew: ``{"days", "bytes_per_day"}``
    (``bytes_per_day``: what the card loses a day, the database's growth times ``keep + 1``: it grows,
    and each day's backup is that much larger than the one the rotation deletes; ``days``: until a
    backup no longer fits), or None when the backups span less than a day or did not grow."""
    backups = list_backups(data_dir)
    if len(backups) < 2:
        return None
    span_days = (backups[-1].created_s - backups[0].created_s) / 86400.0
    growth = backups[-1].size_bytes - backups[0].size_bytes
    if span_days < 1.0 or growth <= 0:
        return None
    per_day = growth / span_days * (keep + 1)
    days = (free_bytes(data_dir) - backup_room_needed(data_dir)[1]) / per_day
    return {"days": max(0, int(days)), "bytes_per_day": int(per_day)}


def _remember_room(data_dir: Path, room: dict | None) -> str | None:
    """Keep a short ``room`` for ``/healthz``; None: forget it. As :func:`_write_state`: why it was not kept."""
    if room is None:
        with contextlib.suppress(FileNotFoundError):
            (data_dir / ROOM_FILENAME).unlink()
        return None
    return _write_state(data_dir, ROOM_FILENAME, room)


def _write_state(data_dir: Path, name: str, doc: dict) -> str | None:
    """Keep ``doc`` as ``<data_dir>/<name>`` (atomically: the state before, or this one); None when kept, else
    the system's words for why not (a full or failing card: the backup's own outcome is said regardless)."""
    import json

    from station.store.atomic import atomic_write_text

    try:
        atomic_write_text(data_dir / name, json.dumps(doc) + "\n")
        _give_to_owner_of(data_dir / name, data_dir)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def room_words(room: dict) -> str:
    """What a short room (:func:`room_left`) means and what to do, in words (no patient data)."""
    return (f"the station's card has room for about {room['days']} more days at the recent rate "
            f"({_gb(room['bytes_per_day'])} a day, the database and its backups); copy the backups off the card, "
            "lower [backup] keep, or use a bigger card")


def _no_room_message(data_dir: Path, keep: int, copy: int, needed: int, free: int, backups: list[BackupInfo], *,
                     server: bool = False) -> str:
    held = sum(b.size_bytes for b in backups)
    kept = (f"the {len(backups)} backup{'s' if len(backups) != 1 else ''} in {backups_dir(data_dir)} take {_gb(held)}"
            if backups else f"there is no backup in {backups_dir(data_dir)} yet")
    left_for, media, bigger = (("the hub's database", "server's disk", "give the hub's server more disk") if server else
                               ("recording and sign-in", "card", "move the station to a bigger card"))
    copied = f"a copy of the {_gb(copy - BACKUP_MARGIN_BYTES)} database" + (" at most (a dump is compressed)" if server else "")
    return (
        f"no backup made: {_room_words(data_dir, 'a backup', needed, free, [copied], left_for)}; "
        f"{kept}, and backup.keep = {keep} keeps the newest {keep}; to make room: copy the "
        f"backups off the {media} (they hold patient data: keep the copies protected) and delete the older ones, or lower "
        f"[backup] keep in the configuration, or {bigger}; nothing was deleted"
    )


def record_refusal(data_dir: str | os.PathLike, exc: NoRoomForBackup, now_s: float | None = None) -> str | None:
    """Remember that the scheduled backup was refused for lack of space (:data:`REFUSAL_FILENAME`:
    when, the bytes needed and free; no patient data), for :func:`backup_health`; None when kept, else the
    system's words for why it could not be (a card too full or failing to write even that)."""
    from station.store.timefmt import utc_iso

    doc = {"refused_at": utc_iso(time.time() if now_s is None else now_s), "needed_bytes": exc.needed_bytes,
           "free_bytes": exc.free_bytes}
    return _write_state(Path(data_dir), REFUSAL_FILENAME, doc)


def clear_refusal(data_dir: str | os.PathLike) -> None:
    """A backup was written: forget the last refusal."""
    with contextlib.suppress(FileNotFoundError):
        (Path(data_dir) / REFUSAL_FILENAME).unlink()


def backup_health(data_dir: str | os.PathLike) -> dict:
    """The backups as ``/healthz`` shows them: ``{"newest_at": UTC time of the newest scheduled
    backup or None, "refused": None or {"refused_at", "needed_bytes", "free_bytes"}, "room": None or
    {"days", "bytes_per_day"}, "message"}``; ``message`` is "" unless the last scheduled backup was
    refused for lack of space, or the last backup found room for fewer than :data:`ROOM_WARNING_DAYS`
    days (:func:`room_left`): then what happened and what to do, no patient data. A listing and two
    stats: cheap enough for every call."""
    import json

    from station.store.timefmt import local_minute, utc_iso

    try:
        backups = list_backups(data_dir)
    except OSError:  # a failing card: the storage's own state says it; the health document must still come
        backups = []
    doc: dict = {"newest_at": utc_iso(backups[-1].created_s) if backups else None, "refused": None, "room": None,
                 "message": ""}
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):  # none, or unreadable: no warning
        room = json.loads((Path(data_dir) / ROOM_FILENAME).read_text(encoding="utf-8"))
        doc["room"] = {"days": int(room["days"]), "bytes_per_day": int(room["bytes_per_day"])}
        doc["message"] = room_words(doc["room"])
    todo = "copy the backups off the card, lower [backup] keep, or use a bigger card"
    try:
        refused = json.loads((Path(data_dir) / REFUSAL_FILENAME).read_text(encoding="utf-8"))
        r = {"refused_at": str(refused["refused_at"]), "needed_bytes": int(refused["needed_bytes"]),
             "free_bytes": int(refused["free_bytes"])}
        refused_at_local = local_minute(r["refused_at"])  # said in the clinic's time zone
    except OSError:  # none (or a card failing under it: the storage's own state says that)
        return doc
    except (ValueError, KeyError, TypeError, OverflowError):  # damaged: still a refusal, said without its figures
        doc["refused"] = {"refused_at": None, "needed_bytes": None, "free_bytes": None}
        doc["message"] = ("the last scheduled backup was refused: not enough free space on the station's card "
                          f"(`balance-station backup` says how much it needs); {todo}")
        return doc
    doc["refused"] = r
    doc["message"] = (
        f"the scheduled backup at {refused_at_local} was refused: not enough free space on the station's "
        "card "
        f"({_gb(r['free_bytes'])} free, it needs {_gb(r['needed_bytes'])}); {todo}")  # says more than the room
    return doc


# -- verification --------------------------------------------------------------------------------


def _schema_of(conn: sqlite3.Connection) -> dict[str, tuple[str, ...]]:
    """Table name -> column names, for the user tables of ``conn``."""
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    return {t: tuple(r[1] for r in conn.execute(f'PRAGMA table_info("{t}")')) for t in tables}


def reference_schema(version: int) -> dict[str, tuple[str, ...]]:
    """The tables and columns the migrations up to ``version`` create (built in memory)."""
    return _reference(version)[0]


def _full_schema_of(conn: sqlite3.Connection) -> dict[tuple[str, str], str]:
    """(type, name) -> SQL (whitespace collapsed) of every table, index, trigger and view of
    ``conn``, SQLite's own internal objects excepted (their definitions follow from the rest)."""
    objects = {}
    for kind, name, table, sql in conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"):
        if name.startswith("sqlite_"):
            continue
        objects[(kind, name)] = f"{table}: " + " ".join((sql or "").split())
    return objects


@functools.lru_cache(maxsize=8)
def _reference(version: int) -> tuple[dict[str, tuple[str, ...]], dict[tuple[str, str], str]]:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(conn, tuple(m for m in MIGRATIONS if m.version <= version))
        return _schema_of(conn), _full_schema_of(conn)
    finally:
        conn.close()


def schema_differences(conn: sqlite3.Connection, version: int) -> list[str]:
    """How the tables, columns, indexes, triggers and views of ``conn`` differ from what this
    release's migrations create at ``version`` (``[]`` when identical). Extra or missing
    triggers matter as much as tables: a trigger can keep erased data or promote a user."""
    expected = _reference(version)[1]
    found = _full_schema_of(conn)
    problems = []
    for kind, name in sorted(set(found) - set(expected)):
        problems.append(f"unexpected {kind} {name}")
    for kind, name in sorted(set(expected) - set(found)):
        problems.append(f"missing {kind} {name}")
    for key in sorted(set(found) & set(expected)):
        if found[key] != expected[key]:
            problems.append(f"{key[0]} {key[1]} is defined differently")
    return problems


def inspect_database(path: str | os.PathLike) -> DatabaseInfo:
    """Check that ``path`` is an intact database of this station, without modifying it.

    Raises
    ------
    NotStationDatabase
        Not an SQLite file, or its tables and columns are not the station's schema at its
        version, or the version is newer than this software knows.
    CorruptDatabase
        The integrity or foreign-key check fails.
    BackupError
        The file cannot be read.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # a named pipe would wait for a writer for ever
            raise NotStationDatabase(f"{path}: is {file_kind(mode)}, not a regular file, so not a station backup; "
                                     "nothing was changed")
        with open(path, "rb") as f:
            header = f.read(100)
    except FileNotFoundError:
        raise BackupError(f"{path}: no such file; give the path of a backup (see `balance-station backup --list`)") from None
    except IsADirectoryError:
        raise BackupError(f"{path}: is a directory; give the path of a backup file") from None
    except PermissionError:
        raise BackupError(
            f"{path}: permission denied; the command runs as the data directory's owner (also when started as "
            "root), so put the backup where that user may read it, e.g. in the data directory's backups folder"
        ) from None
    except OSError as exc:
        if exc.errno in READ_FAILED_ERRNOS:  # the medium, not the path: say so (copy_failed_words)
            raise BackupError(copy_failed_words(path, exc, writing=False)) from None
        raise BackupError(f"{path}: cannot read it ({exc.strerror})") from None
    if not header.startswith(_SQLITE_MAGIC) or len(header) < 100:
        raise NotStationDatabase(f"{path}: not an SQLite database, so not a station backup; nothing was changed")
    try:
        conn = sqlite3.connect(f"file:{_uri_path(path)}?mode=ro&immutable=1", uri=True, isolation_level=None)
    except SQLITE_ERRORS as exc:
        raise BackupError(f"{path}: cannot open it ({sqlite_message(exc)})") from None
    try:
        try:
            integrity = [r[0] for r in conn.execute("PRAGMA integrity_check(5)")]
        except SQLITE_ERRORS as exc:
            raise CorruptDatabase(f"{path}: damaged SQLite file ({sqlite_message(exc)}); choose another backup") from None
        if integrity != ["ok"]:
            raise CorruptDatabase(
                f"{path}: fails SQLite's integrity check ({'; '.join(integrity)}); choose another backup"
            )
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        schema = _schema_of(conn)
        if version > LATEST_VERSION:
            raise NotStationDatabase(
                f"{path}: written by a newer station version (schema {version}, this software knows up "
                f"to {LATEST_VERSION}); update the station first (re-run systemd/install.sh with a newer checkout)"
            )
        if version < 1 or schema != reference_schema(version):
            expected = reference_schema(max(1, version))
            missing = sorted(set(expected) - set(schema))
            detail = f"missing tables: {', '.join(missing)}" if missing else f"schema version {version}, tables differ"
            raise NotStationDatabase(
                f"{path}: an SQLite database, but not a balance station database ({detail}); nothing was changed"
            )
        differences = schema_differences(conn, version)
        if differences:
            shown = "; ".join(differences[:4]) + (f"; and {len(differences) - 4} more" if len(differences) > 4 else "")
            raise NotStationDatabase(
                f"{path}: its schema is not the one this station creates ({shown}): it may have been tampered "
                "with; nothing was changed, choose another backup"
            )
        violations = conn.execute("PRAGMA foreign_key_check").fetchall()
        if violations:
            raise CorruptDatabase(
                f"{path}: {len(violations)} rows refer to missing rows (first in table {violations[0][0]}); "
                "choose another backup"
            )
        from station.store.integrity import frame_count_problems

        frames = frame_count_problems(conn)
        if frames:
            raise CorruptDatabase(f"{path}: {frames[0]}; choose another backup")
        settings = _settings_problems(conn, schema)
        if settings:
            raise NotStationDatabase(
                f"{path}: {settings[0]}{f' (and {len(settings) - 1} more)' if len(settings) > 1 else ''}, a value the "
                "dashboard never saves: it may have been tampered with; nothing was changed, choose another backup"
            )
        patients = int(conn.execute("SELECT count(*) FROM patients").fetchone()[0])
        trials = int(conn.execute("SELECT count(*) FROM trials").fetchone()[0])
        programmes = 0
        if "programme_assignments" in schema:
            programmes = int(conn.execute("SELECT count(*) FROM programme_assignments").fetchone()[0])
    finally:
        conn.close()
    return DatabaseInfo(path, version, tuple(sorted(schema)), patients, trials, programmes)


def _settings_problems(conn: sqlite3.Connection, schema: dict[str, tuple[str, ...]]) -> list[str]:
    """The clinic settings stored out of the rules of ``PATCH /api/settings``
    (:func:`station.store.settings.stored_settings_problems`)."""
    from station.store.settings import stored_settings_problems

    if "settings" not in schema:
        return []
    return stored_settings_problems(conn.execute("SELECT key, value FROM settings").fetchall())


def check_station_database(data_dir: str | os.PathLike) -> list[str]:
    """The station database's problems (``[]``: none), read-only and safe while the station runs:
    SQLite's integrity check, the schema against this release's migrations (triggers included),
    orphan rows (``PRAGMA foreign_key_check``) and trials whose stored frames do not add up to
    their frame count (:mod:`station.store.integrity`).

    Raises
    ------
    BackupError
        No database in ``data_dir``, or it cannot be opened.
    """
    from station.store.integrity import frame_count_problems, sqlite_orphan_problems

    path = Path(data_dir) / DB_FILENAME
    if not path.is_file():
        raise BackupError(f"{path}: no database here, nothing to check; check data_dir in the configuration")
    try:
        conn = sqlite3.connect(f"file:{_uri_path(path)}?mode=ro", uri=True, isolation_level=None, timeout=5.0)
    except SQLITE_ERRORS as exc:
        raise BackupError(f"{path}: cannot open it ({sqlite_message(exc)}); check its permissions") from None
    try:
        conn.execute("BEGIN")  # one snapshot for every check
        try:
            integrity = [r[0] for r in conn.execute("PRAGMA integrity_check(5)")]
        except SQLITE_ERRORS as exc:
            return [f"damaged SQLite file ({sqlite_message(exc)})"]
        if integrity != ["ok"]:
            return [f"SQLite's integrity check: {'; '.join(integrity)}"]
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > LATEST_VERSION:
            return [f"schema {version} is newer than this software knows ({LATEST_VERSION})"]
        if version < 1:
            return ["no station schema in this database (schema version 0)"]
        problems = schema_differences(conn, version)
        problems += sqlite_orphan_problems(conn)
        schema = _schema_of(conn)
        if "trial_chunks" in schema:
            problems += frame_count_problems(conn)
        problems += _settings_problems(conn, schema)
        return problems
    except SQLITE_ERRORS as exc:
        raise BackupError(f"{path}: cannot read it ({sqlite_message(exc)})") from None
    finally:
        conn.close()


def _uri_path(path: Path) -> str:
    from urllib.parse import quote

    return quote(str(path.resolve()))


# -- restore -------------------------------------------------------------------------------------


def restore_backup(data_dir: str | os.PathLike, source: str | os.PathLike, now_s: float | None = None) -> RestoreResult:
    """Replace ``<data_dir>/station.sqlite3`` by the backup ``source`` (the service must be stopped).

    The backup is first copied to a private file and checked there (:func:`inspect_database`), so
    a file that changes or disappears meanwhile cannot half-restore. The current database, if
    any, is kept as ``backups/station-pre-restore-<UTC time>.sqlite3``.

    Raises
    ------
    NotStationDatabase, CorruptDatabase
        The file is refused; nothing was changed.
    BackupError
        The station service is running (stop it first), or an I/O problem.
    """
    data_dir = Path(data_dir)
    source = Path(source)
    if not data_dir.is_dir():
        raise BackupError(f"{data_dir}: no such data directory; check data_dir in the configuration")
    try:
        lock_fd = acquire_service_lock(data_dir)
    except DataDirLocked as exc:
        raise BackupError(
            f"the station service is running on {data_dir} (pid {exc.holder}): stop it first "
            "(sudo systemctl stop balance-station, or Ctrl-C where it runs), restore, then start it again"
        ) from None
    db = data_dir / DB_FILENAME
    staging = data_dir / f".restore-{os.getpid()}{BACKUP_SUFFIX}"
    code, had_code, restored = None, True, False
    try:
        _give_to_owner_of(data_dir / LOCK_FILENAME, data_dir)
        damaged = db.exists() and _is_damaged(db)  # (then moved aside, not copied: no room for a copy asked)
        _check_room_to_restore(data_dir, source, damaged)
        _stage_copy(source, staging)
        info = inspect_database(staging)
        sessions_ended = _end_login_sessions(staging)
        _mark_restored(staging, db)
        accounts = _staged_accounts(staging)
        if not accounts.total:  # setup open again: its code before the database, never an open setup
            had_code = setup_code.current(data_dir) is not None
            try:
                code = setup_code.ensure(data_dir)
            except setup_code.SetupCodeNotWritten as exc:
                raise BackupError(f"{exc}; nothing was restored") from None
        pre_restore = None
        if damaged:  # the usual reason to restore: keep its files as they are, then replace them
            pre_restore = _keep_damaged(data_dir, now_s)
        elif db.exists():
            try:
                pre_restore = create_backup(
                    data_dir, now_s, prefix=PRE_RESTORE_PREFIX, refuse_while_recording=False, read_only=True
                ).path
            except DamagedDatabase:  # damage its check did not find (the copy found it)
                pre_restore, damaged = _keep_damaged(data_dir, now_s), True
        created = not db.exists()
        try:
            src = sqlite3.connect(staging, isolation_level=None)
            dst = sqlite3.connect(db, timeout=5.0, isolation_level=None)
            try:
                dst.execute("PRAGMA journal_mode = DELETE")  # the backup API cannot change a WAL file's page size
                src.backup(dst)
                dst.execute("PRAGMA journal_mode = WAL")
                check = dst.execute("PRAGMA quick_check").fetchone()[0]
            finally:
                dst.close()
                src.close()
        except SQLITE_ERRORS as exc:
            kept = (f"the damaged database is kept as {pre_restore}" if damaged else
                    "the previous database is unchanged")
            raise BackupError(f"restore into {db} failed: {sqlite_message(exc)}; {kept}") from None
        if check != "ok":
            raise CorruptDatabase(f"{db}: the restored database fails its check ({check}); restore {pre_restore} instead")
        if created:
            _give_to_owner_of(db, data_dir)
        _fsync_path(data_dir, directory=True)
        restored = True
    finally:
        if code is not None and not had_code and not restored:
            setup_code.used(data_dir)  # the database stayed as it was: the new code goes with it
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
        os.close(lock_fd)
    if code is None:
        setup_code.used(data_dir)  # the restored database has accounts: a code left opens nothing
    return RestoreResult(dataclasses.replace(info, path=db), pre_restore, sessions_ended, accounts.unusable, code,
                         accounts.can_sign_in, accounts.admins_can_sign_in, damaged)


DAMAGED_SUFFIX = "-damaged" + BACKUP_SUFFIX


def _keep_damaged(data_dir: Path, now_s: float | None) -> Path:
    """Move the damaged database's files (``station.sqlite3`` and its ``-wal``) into the backups
    folder, byte for byte, as ``station-pre-restore-<UTC time>-damaged.sqlite3`` (and ``...-wal``),
    so that the restore writes a new file and whatever can still be read from the old one is kept
    (SQLite's ``.recover`` reads it there); its ``-shm`` (an index that
    SQLite rebuilds) is deleted. The path kept is returned.

    The files are renamed (``os.replace``: the same file system, so no room is needed, nothing is half
    written and the file keeps its owner-only mode). Only a ``backups/`` on another file system (a
    folder mounted or linked there by hand) has them copied (:func:`_copy_damaged`), after a check that
    it has room for them. Either way a file not kept is left where it was: nothing restored."""
    now_s = time.time() if now_s is None else now_s
    folder = _ensure_backups_dir(data_dir)
    kept = folder / (backup_name(now_s, PRE_RESTORE_PREFIX)[: -len(BACKUP_SUFFIX)] + DAMAGED_SUFFIX)
    db = data_dir / DB_FILENAME
    moves = [(db, kept), (Path(f"{db}-wal"), Path(f"{kept}-wal"))]
    for source, target in moves:
        if target.exists():
            raise BackupError(f"{target} already exists (a restore was made this second); try again in a second")
    moves = [(source, target) for source, target in moves if source.exists()]
    done: list[tuple[Path, Path]] = []
    try:
        try:
            for source, target in moves:
                os.replace(source, target)
                done.append((source, target))
        except OSError as exc:
            if exc.errno != errno.EXDEV or done:
                raise
            _copy_damaged(moves, folder, kept)  # backups/ on another file system
            done = moves
        for _source, target in done:
            os.chmod(target, 0o600)
            _give_to_owner_of(target, data_dir)
        _fsync_path(folder, directory=True)
    except OSError as exc:
        for source, target in reversed(done):  # the database's files back together, as they were
            with contextlib.suppress(OSError):
                if source.exists():  # (copied: the copy goes)
                    target.unlink()
                else:
                    os.replace(target, source)
        raise BackupError(f"cannot keep the damaged database as {kept}: {exc.strerror}; check free space and "
                          "permissions; nothing was restored") from None
    try:
        for source in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            with contextlib.suppress(FileNotFoundError):
                source.unlink()  # (moved: gone already; copied: kept now)
        _fsync_path(data_dir, directory=True)
    except OSError as exc:
        raise BackupError(f"the damaged database is kept as {kept}, but its files in {data_dir} cannot be deleted "
                          f"({exc.strerror}); check the permissions of {data_dir}, then restore again; nothing was "
                          "restored") from None
    return kept


def _copy_damaged(moves: list[tuple[Path, Path]], folder: Path, kept: Path) -> None:
    """Keep the damaged database's files by a copy (``backups/`` on another file system than the data
    directory): BackupError, nothing copied, unless that file system has room for them; each file is
    written under a temporary name, owner-only from the start, fsync'ed, then renamed, so a copy that
    fails leaves no part of a file behind. The files in the data directory are left as they are."""
    needed = sum(os.stat(source).st_size for source, _target in moves)
    free = free_bytes(folder)
    if free < needed:
        raise BackupError(
            f"cannot keep the damaged database as {kept}: {folder} is on another file system than the data "
            f"directory, so its files are copied there, and it has {_gb(free)} free for their {_gb(needed)}; "
            "free space there (or make backups/ a folder on the data directory's disk), then restore again; "
            "nothing was restored")
    written: list[Path] = []
    try:
        for source, target in moves:
            partial = target.with_name(f".{target.name}.part")
            written.append(partial)
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
        for (_source, target), partial in zip(moves, list(written)):
            os.replace(partial, target)
            written[written.index(partial)] = target
    except BaseException:
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()
        raise


def _is_damaged(db: Path) -> bool:
    """True if SQLite finds ``db`` damaged (not a database, malformed, or its ``quick_check`` not ok), read
    read-only: nothing written, its ``-wal`` left as it is. Locked or unreadable (an I/O error) is not said
    to be damaged here: the restore's copy of it then says what is wrong (or that it is damaged).

    A read-only connection to a WAL database makes its ``-shm`` and an empty ``-wal`` when they are missing
    and cannot delete them when it closes: the ones it made are deleted here (the service is stopped, so no
    other connection of the station uses them), so that a restore refused afterwards (no room, a backup that
    is not a station's) leaves the data directory as it was found."""
    sidecars = [Path(f"{db}{suffix}") for suffix in ("-wal", "-shm")]
    made_here = [path for path in sidecars if not os.path.lexists(path)]
    try:
        try:
            conn = sqlite3.connect(f"file:{_uri_path(db)}?mode=ro", uri=True, timeout=5.0, isolation_level=None)
        except SQLITE_ERRORS:
            return False
        try:
            return conn.execute("PRAGMA quick_check").fetchone()[0] != "ok"
        except sqlite3.OperationalError:  # busy, locked, an I/O error: not the file's content
            return False
        except SQLITE_ERRORS:
            return True
        finally:
            conn.close()
    finally:
        for path in made_here:
            with contextlib.suppress(OSError):
                if path.name.endswith("-shm") or path.stat().st_size == 0:  # (a -wal written meanwhile stays)
                    path.unlink()


def _check_room_to_restore(data_dir: Path, source: Path, damaged: bool = False) -> None:
    """NoRoomForBackup, nothing changed, unless the disk has room for the restore as for a backup
    (:func:`check_room_for_copy`): the backup copied in to be checked, the pre-restore copy of the
    database and the database growing to the backup's size, with the room left for recording. A
    ``damaged`` database is moved aside (:func:`_keep_damaged`), not copied: no room for a copy, and
    the database restored is a new file of the backup's size."""
    try:
        size = os.stat(source).st_size
    except OSError:
        return  # the copy says why it cannot read it
    try:
        now = 0 if damaged else os.stat(data_dir / DB_FILENAME).st_size
    except FileNotFoundError:
        now = 0
    said = (f"the {_gb(size)} backup copied in to be checked, and the database restored from it beside the damaged "
            "one (moved aside, not copied)" if damaged else
            f"the {_gb(size)} backup copied in to be checked and restored")
    try:
        check_room_for_copy(data_dir, "the restore", staged_bytes=size + max(0, size - now), staged_words=said,
                            copy_database=not damaged)
    except NoRoomForBackup as exc:
        raise NoRoomForBackup(f"nothing restored: {exc}; nothing was changed", exc.needed_bytes, exc.free_bytes) from None


@dataclass(frozen=True)
class _StagedAccounts:
    total: int
    """Accounts, active or not: none, and the first-run setup is open."""
    unusable: tuple[str, ...]
    """The active accounts whose password hash cannot be checked (a cost the station never makes, or
    malformed: :func:`station.store.passwords.unusable_accounts`)."""
    can_sign_in: int
    admins_can_sign_in: int


def _staged_accounts(staging: Path) -> _StagedAccounts:
    """Who of the staged copy's accounts can sign in (see :class:`RestoreResult`)."""
    try:
        conn = sqlite3.connect(staging, isolation_level=None)
        try:
            rows = conn.execute("SELECT username, password_hash, role, disabled_at IS NULL FROM users").fetchall()
        finally:
            conn.close()
    except SQLITE_ERRORS as exc:
        raise BackupError(f"{staging}: cannot read its accounts ({sqlite_message(exc)}); nothing was changed") from None
    active = [(name, stored, role) for name, stored, role, is_active in rows if is_active]
    return _StagedAccounts(len(rows), unusable_accounts((name, stored) for name, stored, _role in active),
                           *sign_in_counts(active))


def _end_login_sessions(staging: Path) -> int:
    """Empty the staged copy's ``login_sessions`` (before it is copied in, so the restore is one
    step); return how many it held. A restored session would open the station to whoever holds its
    cookie, for as long as its stored last activity says (one planted in the future: for ever)."""
    try:
        conn = sqlite3.connect(staging, isolation_level=None)
        try:
            return conn.execute("DELETE FROM login_sessions").rowcount
        finally:
            conn.close()
    except SQLITE_ERRORS as exc:
        raise BackupError(f"{staging}: cannot end the backup's login sessions ({sqlite_message(exc)}); nothing was "
                          "changed") from None


def _mark_restored(staging: Path, replaced: Path) -> None:
    """Mark the staged copy as restored (:mod:`station.store.restore_marks`): its next sync tells
    the hub to take its changes from the backup's numbers on, instead of refusing them for good.
    The restores the database it replaces sent stay known as this station's
    (:func:`station.store.restore_marks.carry_sent`), when that database can still be read (a dead
    card's cannot: the hub's administrator is then told, see :mod:`station.sync.station_restore`)."""
    from station.store import restore_marks
    from station.store.timefmt import utc_iso

    now_iso = utc_iso(time.time())
    try:
        conn = sqlite3.connect(staging, isolation_level=None)
        try:
            restore_marks.mark(conn, now_iso)
            if replaced.exists():
                _carry_sent_from(conn, replaced, now_iso)
        finally:
            conn.close()
    except SQLITE_ERRORS as exc:
        raise BackupError(f"{staging}: cannot mark the backup as restored ({sqlite_message(exc)}); nothing was "
                          "changed") from None


def _carry_sent_from(conn: sqlite3.Connection, replaced: Path, now_iso: str) -> None:
    """:func:`station.store.restore_marks.carry_sent` from the database file ``replaced``, read only;
    nothing when it cannot be read (a failing card's, the usual reason to restore)."""
    from station.store import restore_marks

    try:
        old = sqlite3.connect(f"file:{replaced}?mode=ro", uri=True, timeout=5.0)
        try:
            restore_marks.carry_sent(conn, old, now_iso)
        finally:
            old.close()
    except SQLITE_ERRORS + (ValueError,):
        return


READ_FAILED_ERRNOS = (errno.EIO,)
"""A backup's medium failing to read (a card or USB stick: EIO), said as such (:func:`copy_failed_words`)."""


def copy_to_staging(source: Path, staging: Path) -> None:
    """Copy the file ``source`` byte for byte to ``staging`` (mode 0600), synced to the disk. A storage
    that fails (EIO) or is full (ENOSPC, EDQUOT) is a :class:`BackupError` saying which, and on which
    side: the backup's medium failing to read, or the data directory's disk to write
    (:func:`copy_failed_words`); any other OSError is the caller's to word."""
    writing = False
    try:
        with open(source, "rb") as src:
            writing = True
            with open(os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as dst:
                while True:
                    writing = False
                    chunk = src.read(1 << 20)
                    if not chunk:
                        break
                    writing = True
                    dst.write(chunk)
                writing = True
                dst.flush()
                os.fsync(dst.fileno())
    except OSError as exc:
        if exc.errno in OUT_OF_SPACE_ERRNOS or exc.errno in READ_FAILED_ERRNOS:
            raise BackupError(copy_failed_words(source, exc, writing=writing)) from None
        raise


def copy_failed_words(source: Path, exc: OSError, *, writing: bool) -> str:
    """What a restore says when its private copy of the backup ``source`` failed with ``exc``
    (``writing``: writing the copy into the data directory, else reading the backup).

    >>> copy_failed_words(Path("/media/usb/b.sqlite3"), OSError(5, "Input/output error"), writing=False)[:94]
    '/media/usb/b.sqlite3: cannot read it (Input/output error): the card or USB stick it is on fail'
    >>> copy_failed_words(Path("b"), OSError(28, "No space left on device"), writing=True)[:72]
    'b: cannot copy it (No space left on device): the disk of the data direct'
    """
    done = "nothing was changed"
    if exc.errno in OUT_OF_SPACE_ERRNOS:
        return (f"{source}: cannot copy it ({exc.strerror}): the disk of the data directory is full; {done}. Free "
                "space there (delete old exports, move backups elsewhere), then restore again")
    if writing:
        return (f"{source}: cannot copy it ({exc.strerror}): the station's card (the disk of the data directory) "
                f"failed to write the copy; {done}. The card may be failing: copy the data directory and its "
                "backups elsewhere, replace the card, then restore again")
    return (f"{source}: cannot read it ({exc.strerror}): the card or USB stick it is on failed to read; {done}. "
            "Try another copy of the backup (`balance-station backup --list`), or the USB stick in another port")


def _stage_copy(source: Path, staging: Path) -> None:
    """Copy the file ``source`` byte for byte to ``staging`` (mode 0600, :func:`copy_to_staging`), then
    make the copy a single file (``journal_mode=DELETE``) so it reads without a ``-wal`` beside it."""
    try:
        copy_to_staging(source, staging)
    except FileNotFoundError:
        raise BackupError(f"{source}: no such file; give the path of a backup (see `balance-station backup --list`)") from None
    except IsADirectoryError:
        raise BackupError(f"{source}: is a directory; give the path of a backup file") from None
    except PermissionError:
        raise BackupError(
            f"{source}: permission denied; the command runs as the data directory's owner (also when started as "
            "root), so put the backup where that user may read it, e.g. in the data directory's backups folder"
        ) from None
    except OSError as exc:
        raise BackupError(f"{source}: cannot copy it ({exc.strerror}); check the path and free space") from None
    if _is_wal_file(staging):
        try:
            conn = sqlite3.connect(staging, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode = DELETE")
            finally:
                conn.close()
        except SQLITE_ERRORS as exc:
            raise CorruptDatabase(f"{source}: damaged SQLite file ({sqlite_message(exc)}); choose another backup") from None


def _is_wal_file(path: Path) -> bool:
    """True if the SQLite header says WAL mode (file format bytes 18 and 19 equal 2)."""
    with open(path, "rb") as f:
        header = f.read(20)
    return header.startswith(_SQLITE_MAGIC) and header[18:20] == b"\x02\x02"
