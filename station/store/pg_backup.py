"""Backups, restore and the full integrity check of the hub's PostgreSQL database.

Layout, in the hub's data directory (the one that keeps its web secret key)::

    <data_dir>/backups/hub-YYYYmmdd-HHMMSS.pgdump               backups (UTC time of the backup)
    <data_dir>/backups/hub-pre-restore-YYYYmmdd-HHMMSS.pgdump   the database before a restore

**Backup** (:func:`create_hub_backup`) runs ``pg_dump -Fc`` (one consistent snapshot while the hub
keeps serving) into a hidden file of mode 0600, checks the archive (:func:`inspect_hub_dump`:
PostgreSQL's custom format, the station schema's tables, the schema version it holds), fsyncs it,
then renames it into place: a crash never leaves a half backup under a backup's name. A database
that is not a balance station hub's, or of a newer schema than this software, is refused.

**Room** (:func:`back_up_hub_with_room`, the ``backup`` command's): before ``pg_dump`` writes, the
free space of the data directory's disk must hold the dump and leave
:data:`station.store.backup.BACKUP_LEAVES_FREE_BYTES` besides, by the station's rule
(:func:`station.store.backup.make_room_for_backup`: the old backups the rotation deletes anyway go
first, never the newest); else it refuses in words, nothing written or deleted. The dump's size is
bounded by the database's tables (:func:`hub_backup_room_needed`: no indexes; a dump is compressed,
so smaller) or the newest dump, whichever is larger.

**Restore** (:func:`restore_hub_backup`) needs the hub stopped (no ``balance-station`` session on
the database). The archive is first copied to a private file and checked (a newer schema is
refused before anything is touched); the current database is kept as a pre-restore backup; then,
in **one transaction** holding the writers' lock, the ``public`` schema is dropped and the archive
replayed into it (``pg_restore``'s SQL, its ``COPY`` data counted row by row), and before the
commit the restored database is checked: its schema version; its tables, columns, constraints,
indexes, triggers and functions compared with what this release's migrations create at that
version (built in a scratch schema inside the same transaction and rolled back,
:func:`schema_differences`); each table's row count against the rows the archive held; no orphan
rows; every trial's stored frames against its frame count (:mod:`station.store.integrity`); the
clinic settings by the rules of ``PATCH /api/settings`` (a value the dashboard never saves, such as
``session_timeout_min = 1e300``, refuses the restore). The backup's login sessions are deleted in
the same transaction: everyone signs in again. Any failure rolls the whole transaction back: PostgreSQL's DDL is transactional, so the database is
exactly as before, never half restored.

**Check** (:func:`check_hub_database`): the same schema, orphan, frame and settings checks on the live
database, plus the server's data checksum failures (``balance-station check --database URL``).

**Tools and secrets.** ``pg_dump`` and ``pg_restore`` come from Debian's ``postgresql-client-N``;
they must be the server's major version (:func:`find_client_tools`: a dump is made and restored by
the server's own version; anything else is one line saying which package to install). The
password of the URL never reaches a command line (``/proc/PID/cmdline`` is readable by every user):
the tools get the URL's other parameters with ``-d`` and the password in a private ``PGPASSFILE``
(mode 0600, in a directory of mode 0700, removed afterwards). Messages never show it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from station.store import hub_epoch, setup_code
from station.store.timefmt import utc_iso
from station.store.backup import (
    BACKUP_LEAVES_FREE_BYTES,
    BACKUP_MARGIN_BYTES,
    BackupError,
    BackupInfo,
    CorruptDatabase,
    NotStationDatabase,
    _ensure_backups_dir,
    READ_FAILED_ERRNOS,
    _fsync_path,
    copy_failed_words,
    copy_to_staging,
    _give_to_owner_of,
    backups_dir,
    make_room_for_backup,
)
from station.store.db import StoreError
from station.store.integrity import frame_count_problems, postgres_orphan_problems
from station.store.migrations import LATEST_VERSION, MIGRATIONS
from station.store.passwords import sign_in_counts, unusable_accounts

HUB_BACKUP_PREFIX = "hub-"
HUB_PRE_RESTORE_PREFIX = "hub-pre-restore-"
HUB_BACKUP_SUFFIX = ".pgdump"
_HUB_BACKUP_RE = re.compile(r"^hub-(\d{8}-\d{6})\.pgdump$")
_STAMP_FORMAT = "%Y%m%d-%H%M%S"
_DUMP_MAGIC = b"PGDMP"
RESTORE_APPLICATION = "balance-station-restore"
"""``application_name`` of the restore's own session (the hub's sessions are ``balance-station``)."""
HUB_APPLICATION = "balance-station"
REFERENCE_SCHEMA = "balance_restore_reference"
"""Scratch schema holding the migrations' schema while it is compared (rolled back, never kept)."""
REQUIRED_TABLES = ("station_schema_version", "patients", "trials", "audit_log")
_COPY_RE = re.compile(r"^COPY (\S+) \((.*)\) FROM stdin;$")


@dataclass(frozen=True)
class ClientTools:
    """``pg_dump`` and ``pg_restore`` of one PostgreSQL major version."""

    pg_dump: Path
    pg_restore: Path
    major: int


@dataclass(frozen=True)
class HubDumpInfo:
    """What :func:`inspect_hub_dump` found in a hub backup."""

    path: Path
    schema_version: int
    tables: tuple[str, ...]


@dataclass(frozen=True)
class HubRestoreResult:
    """Outcome of :func:`restore_hub_backup`: the restored schema version, row counts of the main
    tables, and the pre-restore backup (None if the database held no hub schema)."""

    schema_version: int
    patients: int
    trials: int
    programmes: int
    rows: int
    pre_restore_copy: Path | None
    sessions_ended: int = 0
    """Login sessions the backup held, not restored: everyone signs in again."""
    unusable_accounts: tuple[str, ...] = ()
    """User names of the active accounts whose stored password hash the hub cannot check
    (:func:`station.store.passwords.unusable_accounts`): an administrator sets a new password."""
    setup_code: str | None = None
    """The backup holds no account: the hub's first-run setup is open again and asks for this
    one-time code (:func:`station.store.setup_code.ensure`), to be shown to whoever restored."""
    can_sign_in: int | None = None
    """How many of the backup's accounts can sign in (active, with a password hash the hub can check)."""
    admins_can_sign_in: int | None = None
    """How many of those are administrators (0: nobody can manage the hub until one is made from the
    command line, as the station's :class:`station.store.backup.RestoreResult` says)."""


# -- names ---------------------------------------------------------------------------------------


def hub_backup_name(created_s: float, prefix: str = HUB_BACKUP_PREFIX) -> str:
    """``hub-YYYYmmdd-HHMMSS.pgdump`` for the UTC time ``created_s`` (Unix s).

    >>> hub_backup_name(0)
    'hub-19700101-000000.pgdump'
    """
    stamp = datetime.fromtimestamp(created_s, timezone.utc).strftime(_STAMP_FORMAT)
    return f"{prefix}{stamp}{HUB_BACKUP_SUFFIX}"


def list_hub_backups(data_dir: str | os.PathLike) -> list[BackupInfo]:
    """Scheduled-style hub backups in ``<data_dir>/backups``, oldest first (others ignored)."""
    found = []
    try:
        entries = list(os.scandir(backups_dir(data_dir)))
    except FileNotFoundError:
        return []
    for entry in entries:
        match = _HUB_BACKUP_RE.match(entry.name)
        if match and entry.is_file(follow_symlinks=False):
            created = datetime.strptime(match.group(1), _STAMP_FORMAT).replace(tzinfo=timezone.utc)
            found.append(BackupInfo(Path(entry.path), created.timestamp(), entry.stat().st_size))
    found.sort(key=lambda b: b.created_s)
    return found


def prune_hub_backups(data_dir: str | os.PathLike, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` scheduled-style hub backups; return what was deleted."""
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    backups = list_hub_backups(data_dir)
    removed = []
    for info in backups[: max(0, len(backups) - keep)]:
        with contextlib.suppress(FileNotFoundError):
            info.path.unlink()
            removed.append(info.path)
    return removed


# -- the client tools and the password -----------------------------------------------------------


def _tool_major(path: Path) -> int | None:
    """The PostgreSQL major version of the tool at ``path`` (``--version``), None if unknown;
    asked once per file and modification time in a process."""
    try:
        st = path.stat()
    except OSError:
        return None
    return _tool_major_of(str(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=32)
def _tool_major_of(path: str, _mtime_ns: int, _size: int) -> int | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\)\s+(\d+)", out) or re.search(r"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else None


def find_client_tools(server_major: int, *, search_path: str | None = None) -> ClientTools:
    """``pg_dump`` and ``pg_restore`` of the server's major version: Debian's
    ``/usr/lib/postgresql/N/bin`` first, else those on ``PATH`` (or ``search_path``) if they are
    that version.

    Raises
    ------
    BackupError
        Not installed, or only of another version (one line naming the package to install).
    """
    candidates = [Path(f"/usr/lib/postgresql/{server_major}/bin")]
    for name in ("pg_dump",):
        found = shutil.which(name, path=search_path)
        if found:
            candidates.append(Path(found).resolve().parent)
    package = f"postgresql-client-{server_major}"
    other = None
    for folder in candidates:
        dump, restore = folder / "pg_dump", folder / "pg_restore"
        if not (os.access(dump, os.X_OK) and os.access(restore, os.X_OK)):
            continue
        major = _tool_major(dump)
        if major == server_major and _tool_major(restore) == server_major:
            return ClientTools(dump, restore, major)
        other = other or major
    if other is not None:
        raise BackupError(
            f"pg_dump here is PostgreSQL {other}, the hub's server runs PostgreSQL {server_major}: a backup is made "
            f"and restored with the server's own version; install Debian's {package} (sudo apt-get install {package})")
    raise BackupError(
        f"pg_dump and pg_restore are not installed; install Debian's {package} (sudo apt-get install {package}), "
        "the PostgreSQL client tools of the hub's server version")


def _passfile_line(password: str) -> str:
    """A ``.pgpass`` line matching any server for ``password`` (``:`` and ``\\`` escaped).

    >>> _passfile_line("a:b\\\\c")
    '*:*:*:*:a\\\\:b\\\\\\\\c\\n'
    """
    return "*:*:*:*:" + password.replace("\\", "\\\\").replace(":", "\\:") + "\n"


@contextlib.contextmanager
def _tool_connection(url: str):
    """``(conninfo, env, scrub)`` for a child tool: the URL's parameters without the password
    (given with ``-d``), an environment whose ``PGPASSFILE`` holds the password when the URL has
    one, and a function that removes the password from a text."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        params = conninfo_to_dict(url)
    except Exception:
        raise BackupError("the database URL is not valid; write it as postgresql://USER@HOST:PORT/DATABASE") from None
    password = params.pop("password", None)
    params["application_name"] = RESTORE_APPLICATION
    env = dict(os.environ)
    env["PGCONNECT_TIMEOUT"] = env.get("PGCONNECT_TIMEOUT", "10")

    def scrub(text: str) -> str:
        return text.replace(password, "***") if password else text

    if not password:
        yield make_conninfo(**params), env, scrub
        return
    folder = Path(tempfile.mkdtemp(prefix="balance-pgpass-"))  # mode 0700
    try:
        passfile = folder / "pgpass"
        fd = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(_passfile_line(password))
        env["PGPASSFILE"] = str(passfile)
        env.pop("PGPASSWORD", None)
        yield make_conninfo(**params), env, scrub
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _last_error_line(stderr: str, scrub) -> str:
    lines = [line.strip() for line in scrub(stderr).splitlines() if line.strip()]
    for line in reversed(lines):
        if "error" in line.lower() or "fatal" in line.lower():
            return line[:300]
    return lines[-1][:300] if lines else "no message"


# -- connections -----------------------------------------------------------------------------------


def _one_line_errors(func):
    """The database's own refusals (a login that may not read or drop a table...) as one
    :class:`BackupError` line instead of a driver exception."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            import psycopg

            if not isinstance(exc, psycopg.Error):
                raise
            from station.store.pg import _first_line

            raise BackupError(f"the database refused it ({_first_line(exc)}); nothing was changed; run it as the "
                              "owner of the hub's database") from None

    return wrapper


def _connect(url: str):
    """A psycopg connection (autocommit) for the backup tools; StoreError in one line without the
    password if it cannot be made."""
    from station.store.pg import CONNECT_TIMEOUT_S, PgDatabase, _import_psycopg, redact_url

    psycopg = _import_psycopg()
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                               application_name=RESTORE_APPLICATION)
    except (psycopg.Error, ValueError):
        pass
    PgDatabase(url).close()  # raises the store's one-line message (unreachable, refused, bad URL)
    raise StoreError(f"cannot connect to the database {redact_url(url)}; check the URL")


def _server_major(raw) -> int:
    return int(raw.info.server_version) // 10000


def _schema_version(raw) -> int | None:
    """The hub schema version, or None when the database has no ``station_schema_version``."""
    if not raw.execute("SELECT to_regclass('public.station_schema_version') IS NOT NULL").fetchone()[0]:
        return None
    row = raw.execute("SELECT version FROM public.station_schema_version").fetchone()
    return int(row[0]) if row else 0


def hub_sessions(raw) -> int:
    """How many sessions of the hub (``application_name`` ``balance-station``) use this database."""
    return int(raw.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        " AND application_name = %s", (HUB_APPLICATION,)).fetchone()[0])


# -- backup --------------------------------------------------------------------------------------


@_one_line_errors
def create_hub_backup(url: str, data_dir: str | os.PathLike, now_s: float | None = None, *,
                      prefix: str = HUB_BACKUP_PREFIX, any_version: bool = False) -> BackupInfo:
    """Back up the hub database ``url`` into ``<data_dir>/backups/`` with ``pg_dump -Fc``.

    ``any_version`` (the pre-restore copy) also backs up a database of a newer schema.

    Raises
    ------
    NotStationDatabase
        Not a balance station hub database, or written by newer software.
    BackupError
        Tools missing or of another version, a backup of the same second exists, pg_dump failed.
    StoreError
        The database cannot be reached.
    """
    data_dir = Path(data_dir)
    now_s = time.time() if now_s is None else now_s
    raw = _connect(url)
    try:
        version = _schema_version(raw)
        major = _server_major(raw)
    finally:
        raw.close()
    if version is None or (version < 1 and not any_version):
        raise NotStationDatabase("the database holds no balance station hub (no schema version); nothing was "
                                 "backed up; check --database")
    if version > LATEST_VERSION and not any_version:
        raise NotStationDatabase(f"the database has schema {version}, newer than this software knows ({LATEST_VERSION}); "
                                 "back it up with the station version that wrote it")
    tools = find_client_tools(major)
    folder = _ensure_backups_dir(data_dir)
    final = folder / hub_backup_name(now_s, prefix)
    if final.exists():
        raise BackupError(f"{final} already exists (a backup was made this second); try again in a second")
    partial = folder / f".{final.name}.partial"
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    try:
        with _tool_connection(url) as (conninfo, env, scrub):
            result = subprocess.run(
                [str(tools.pg_dump), "--format=custom", "--lock-wait-timeout=60000", "--file", str(partial),
                 "--dbname", conninfo],
                env=env, capture_output=True, text=True, umask=0o077, stdin=subprocess.DEVNULL)
            if result.returncode != 0:
                raise BackupError(f"pg_dump failed: {_last_error_line(result.stderr, scrub)}; nothing was kept")
        if not any_version:
            info = inspect_hub_dump(partial, tools)
            if info.schema_version != version:
                raise CorruptDatabase(f"the dump holds schema {info.schema_version}, the database {version}; "
                                      "nothing was kept, try again")
        _fsync_path(partial)
        os.replace(partial, final)
        _fsync_path(folder, directory=True)
        _give_to_owner_of(final, data_dir)
    except OSError as exc:
        raise BackupError(f"backup into {folder} failed: {exc.strerror}; check free space and permissions") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return BackupInfo(final, float(int(now_s)), final.stat().st_size)


def hub_backup_room_needed(url: str, data_dir: str | os.PathLike) -> tuple[int, int]:
    """(bytes a dump of the hub database ``url`` may take, bytes the disk must have free for it):
    the size of its tables (their data and TOAST, no indexes: what ``pg_dump`` writes, compressed)
    or of the newest hub backup, whichever is larger, with
    :data:`station.store.backup.BACKUP_MARGIN_BYTES`; and that plus
    :data:`station.store.backup.BACKUP_LEAVES_FREE_BYTES`."""
    raw = _connect(url)
    try:
        tables = int(raw.execute("SELECT coalesce(sum(pg_table_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace n"
                                 " ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'm')"
                                 ).fetchone()[0])
    finally:
        raw.close()
    backups = list_hub_backups(data_dir)
    copy = max(tables, backups[-1].size_bytes if backups else 0) + BACKUP_MARGIN_BYTES
    return copy, copy + BACKUP_LEAVES_FREE_BYTES


def back_up_hub_with_room(url: str, data_dir: str | os.PathLike, keep: int,
                          now_s: float | None = None) -> tuple[BackupInfo, tuple[Path, ...], list[Path]]:
    """A hub backup (:func:`create_hub_backup`) when the data directory's disk has room for it (see
    "Room" above), then the rotation to ``keep``: ``(backup, deleted first for room, pruned after)``.
    NoRoomForBackup (a BackupError: words saying what is needed, what is free and what to do) if
    not, nothing written or deleted."""
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    data_dir = Path(data_dir)
    copy, needed = hub_backup_room_needed(url, data_dir)
    deleted = make_room_for_backup(data_dir, keep, copy, needed, list_hub_backups(data_dir), server=True)
    info = create_hub_backup(url, data_dir, now_s)
    return info, deleted, prune_hub_backups(data_dir, keep)


# -- inspecting an archive -----------------------------------------------------------------------


def _read_header(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(5)
    except FileNotFoundError:
        raise BackupError(f"{path}: no such file; give the path of a backup (see `balance-station backup --list "
                          "--database URL`)") from None
    except IsADirectoryError:
        raise BackupError(f"{path}: is a directory; give the path of a backup file") from None
    except PermissionError:
        raise BackupError(f"{path}: permission denied; put the backup where this user may read it") from None
    except OSError as exc:
        if exc.errno in READ_FAILED_ERRNOS:  # the medium, not the path: say so (copy_failed_words)
            raise BackupError(copy_failed_words(path, exc, writing=False)) from None
        raise BackupError(f"{path}: cannot read it ({exc.strerror})") from None


def inspect_hub_dump(path: str | os.PathLike, tools: ClientTools) -> HubDumpInfo:
    """Check that ``path`` is a hub backup this software can restore, without a database.

    Raises
    ------
    NotStationDatabase
        Not a ``pg_dump -Fc`` archive, not a balance station hub's, or of a newer schema.
    CorruptDatabase
        ``pg_restore`` cannot read it (truncated, damaged).
    BackupError
        The file cannot be read.
    """
    path = Path(path)
    if _read_header(path) != _DUMP_MAGIC:
        raise NotStationDatabase(f"{path}: not a PostgreSQL custom-format dump (pg_dump -Fc), so not a hub backup; "
                                 "nothing was changed")
    listing = subprocess.run([str(tools.pg_restore), "--list", str(path)], capture_output=True, text=True,
                             stdin=subprocess.DEVNULL)
    if listing.returncode != 0:
        raise CorruptDatabase(f"{path}: pg_restore cannot read it ({_last_error_line(listing.stderr, str)}); "
                              "choose another backup")
    tables = sorted({m.group(1) for m in re.finditer(r"^\d+; \d+ \d+ TABLE public (\w+)(?: |$)", listing.stdout, re.M)})
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        raise NotStationDatabase(f"{path}: a PostgreSQL dump, but not of a balance station hub (no table "
                                 f"{', '.join(missing)}); nothing was changed")
    data = subprocess.run([str(tools.pg_restore), "--data-only", "--table=station_schema_version", "--file=-",
                           str(path)], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    version = None
    lines = data.stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("COPY public.station_schema_version ") and i + 1 < len(lines):
            values = dict(zip(_COPY_RE.match(line).group(2).split(", "), lines[i + 1].split("\t")))
            with contextlib.suppress(KeyError, ValueError):
                version = int(values["version"])
    if data.returncode != 0 or version is None:
        raise CorruptDatabase(f"{path}: its schema version cannot be read; choose another backup")
    if version > LATEST_VERSION:
        raise NotStationDatabase(
            f"{path}: written by a newer station version (schema {version}, this software knows up to "
            f"{LATEST_VERSION}); update the hub's software first; nothing was changed")
    if version < 1:
        raise NotStationDatabase(f"{path}: schema version {version} is not a hub's; nothing was changed")
    return HubDumpInfo(path, version, tuple(tables))


@_one_line_errors
def inspect_hub_backup(url: str, path: str | os.PathLike) -> HubDumpInfo:
    """:func:`inspect_hub_dump` with the client tools of the server of ``url`` (what a restore
    into that database would use); nothing is changed.

    Raises
    ------
    NotStationDatabase, CorruptDatabase, BackupError, StoreError
        As :func:`inspect_hub_dump`; the tools missing; the database unreachable.
    """
    raw = _connect(url)
    try:
        major = _server_major(raw)
    finally:
        raw.close()
    return inspect_hub_dump(path, find_client_tools(major))


# -- the schema this release creates -------------------------------------------------------------


def _catalog(raw, schema: str) -> dict[tuple[str, str], str]:
    """(kind, name) -> definition of the tables (columns), constraints, indexes, triggers, views
    and functions of ``schema``, with the schema's name removed (so two schemas compare)."""
    prefix = f"{schema}."
    objects: dict[tuple[str, str], str] = {}
    raw.execute("SET LOCAL search_path = ''")  # every name qualified, then the schema removed below

    def clean(text: str) -> str:  # citext and the other objects of public are named public.x in both
        text = (text or "").replace(f'"{schema}".', "").replace(prefix, "").replace("public.", "")
        return " ".join(text.split())

    for table, columns in raw.execute(
        "SELECT c.relname, string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)"
        " || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END"
        " || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END"
        " || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), ''), ', ' ORDER BY a.attnum)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        " LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum"
        " WHERE n.nspname = %s AND c.relkind IN ('r', 'p') GROUP BY c.relname", (schema,)).fetchall():
        objects[("table", table)] = clean(columns)
    for table, name, definition in raw.execute(
        "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k"
        " JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s", (schema,)).fetchall():
        objects[("constraint", f"{table}.{name}")] = clean(definition)
    for name, definition in raw.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s", (schema,)).fetchall():
        objects[("index", name)] = clean(definition)
    for name, definition in raw.execute(
        "SELECT t.tgname, pg_get_triggerdef(t.oid) || ' enabled ' || t.tgenabled::text FROM pg_trigger t"
        " JOIN pg_class c ON c.oid = t.tgrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND NOT t.tgisinternal",
            (schema,)).fetchall():
        objects[("trigger", name)] = clean(definition)
    for name, definition in raw.execute(
        "SELECT viewname, definition FROM pg_views WHERE schemaname = %s", (schema,)).fetchall():
        objects[("view", name)] = clean(definition)
    for name, definition in raw.execute(
        "SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',"
        " l.lanname || ' ' || p.provolatile::text || ' ' || pg_get_function_result(p.oid) || ' ' || p.prosrc"
        " || CASE WHEN p.prosecdef THEN ' security definer' ELSE '' END || coalesce(' ' || p.proconfig::text, '')"
        " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang"
        " LEFT JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'"
        " WHERE n.nspname = %s AND d.objid IS NULL", (schema,)).fetchall():
        objects[("function", name)] = clean(definition)
    return objects


def _build_reference(raw, version: int) -> None:
    """Create, in :data:`REFERENCE_SCHEMA`, what this release's migrations create up to ``version``
    (inside the caller's transaction; the caller rolls it back)."""
    from station.store.pg_schema import _CREATE_VERSION_TABLE, postgres_statements

    raw.execute(f"CREATE SCHEMA {REFERENCE_SCHEMA}")
    raw.execute(f"SET LOCAL search_path = {REFERENCE_SCHEMA}, public")
    raw.execute(_CREATE_VERSION_TABLE)
    for migration in MIGRATIONS:
        if migration.version <= version:
            for statement in postgres_statements(migration):
                if statement.strip().upper().startswith("CREATE EXTENSION"):
                    continue  # citext lives in public, where the database has it
                raw.execute(statement)


def schema_differences(raw, version: int, schema: str = "public") -> list[str]:
    """How ``schema`` differs from what this release's migrations create at ``version`` (tables,
    columns, constraints, indexes, triggers, views, functions); ``[]`` when identical. Runs in the
    caller's transaction (``raw`` not in autocommit) and leaves nothing behind (a savepoint)."""
    raw.execute("SAVEPOINT balance_reference")
    try:
        _build_reference(raw, version)
        expected = _catalog(raw, REFERENCE_SCHEMA)
        found = _catalog(raw, schema)
    finally:
        raw.execute("ROLLBACK TO SAVEPOINT balance_reference")
        raw.execute("RELEASE SAVEPOINT balance_reference")
    problems = [f"unexpected {kind} {name}" for kind, name in sorted(set(found) - set(expected))]
    problems += [f"missing {kind} {name}" for kind, name in sorted(set(expected) - set(found))]
    problems += [f"{kind} {name} is defined differently" for kind, name in sorted(set(found) & set(expected))
                 if found[(kind, name)] != expected[(kind, name)]]
    has_citext = raw.execute("SELECT count(*) FROM pg_extension WHERE extname = 'citext'").fetchone()[0]
    if not has_citext:
        problems.append("missing extension citext")
    return problems


def other_schemas(raw) -> list[str]:
    """Schemas of the database besides ``public`` and PostgreSQL's own (the hub uses ``public`` only;
    a restore cannot create any: :data:`_ALLOWED_STATEMENTS`)."""
    return [f"unexpected schema {name}" for (name,) in raw.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%%' AND nspname NOT IN"
        " ('information_schema', 'public') ORDER BY nspname").fetchall()]


def _shown(problems: list[str], n: int = 4) -> str:
    return "; ".join(problems[:n]) + (f"; and {len(problems) - n} more" if len(problems) > n else "")


def data_problems(raw, schema: str = "public") -> list[str]:
    """Orphan rows, trials whose frames do not add up (:mod:`station.store.integrity`) and clinic
    settings the dashboard would never save (:func:`station.store.settings.stored_settings_problems`)."""
    from station.store.settings import stored_settings_problems

    raw.execute(f"SET LOCAL search_path = {schema}")
    problems = postgres_orphan_problems(raw, schema)
    problems += frame_count_problems(raw)
    raw.execute(f"SET LOCAL search_path = {schema}")
    if raw.execute("SELECT to_regclass('settings')").fetchone()[0] is not None:
        problems += stored_settings_problems(raw.execute("SELECT key, value FROM settings").fetchall())
    return problems


@_one_line_errors
def check_hub_database(url: str) -> list[str]:
    """The hub database's problems (``[]``: none): data checksum failures reported by the server,
    schema version, the schema against this release's migrations (triggers included), orphan rows
    and trials' frame counts. Nothing is changed (one transaction, rolled back).

    Raises
    ------
    StoreError
        The database cannot be reached.
    """
    raw = _connect(url)
    try:
        problems = []
        failures = raw.execute("SELECT coalesce(checksum_failures, 0) FROM pg_stat_database"
                               " WHERE datname = current_database()").fetchone()
        if failures and failures[0]:
            problems.append(f"{failures[0]} data pages failed their checksum")
        version = _schema_version(raw)
        if version is None or version < 1:
            return problems + ["no balance station hub schema in this database (no schema version)"]
        if version > LATEST_VERSION:
            return problems + [f"schema {version} is newer than this software knows ({LATEST_VERSION})"]
        raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        try:
            problems += schema_differences(raw, version)
            problems += other_schemas(raw)
            problems += data_problems(raw)
        finally:
            raw.execute("ROLLBACK")
        return problems
    finally:
        raw.close()


# -- restore -------------------------------------------------------------------------------------


def _stage(source: Path, staging: Path) -> None:
    _read_header(source)
    try:
        copy_to_staging(source, staging)
    except OSError as exc:
        raise BackupError(f"{source}: cannot copy it ({exc.strerror}); check the path and free space") from None


_SAFE_SETTINGS = frozenset({
    "statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "client_encoding",
    "standard_conforming_strings", "check_function_bodies", "xmloption", "client_min_messages", "row_security",
    "default_tablespace", "default_table_access_method"})
_NAME = r'public\.(?:\w+|"[^"]+")'
_ALLOWED_STATEMENTS = tuple(re.compile(pattern, re.S) for pattern in (
    r"SET (\w+) = [^;]*",
    r"SELECT pg_catalog\.set_config\('search_path', '', false\)",
    rf"SELECT pg_catalog\.setval\('{_NAME}', \d+, (?:true|false)\)",
    r"CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public",
    r"COMMENT ON EXTENSION citext IS '[^']*'",
    r"COMMENT ON SCHEMA public IS '[^']*'",  # a dump of a database whose public schema was made again
    rf"CREATE FUNCTION {_NAME}\(.*",  # its body is compared with the migrations' before the commit
    rf"CREATE TABLE {_NAME} \(.*",
    rf"ALTER TABLE ONLY {_NAME}\s+ADD CONSTRAINT \w+ (?:PRIMARY KEY|UNIQUE|FOREIGN KEY|CHECK) .*",
    rf"ALTER TABLE {_NAME} ALTER COLUMN \w+ ADD GENERATED BY DEFAULT AS IDENTITY \(.*",
    rf"CREATE (?:UNIQUE )?INDEX \w+ ON {_NAME} USING .*",
    rf"CREATE TRIGGER \w+ (?:BEFORE|AFTER) [A-Z ]+ ON {_NAME} FOR EACH ROW EXECUTE FUNCTION {_NAME}\(\)",
))
"""What a hub dump's SQL may hold (``pg_restore --no-owner --no-privileges`` of ``pg_dump -Fc``):
anything else (``ALTER ROLE``, ``ALTER DATABASE ... SET search_path``, ``GRANT``, ``DO``, objects in
other schemas, a trigger disabled) would outlive the checks, which compare the schema ``public``
only, so it is refused before it runs."""


def _ident_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_$"


def _statements(text: str) -> list[str]:
    r"""``text`` cut into SQL statements at the semicolons outside quotes, dollar quotes and comments
    (comments dropped, each statement stripped).

    >>> _statements("SET a = 1;\n-- x; y\nCREATE FUNCTION f() AS $$ SELECT 1; $$;")
    ['SET a = 1', 'CREATE FUNCTION f() AS $$ SELECT 1; $$']
    >>> _statements("CREATE TABLE t (x$a$ int); ALTER ROLE r; -- $a$")  # x$a$ is a name, not a quote
    ['CREATE TABLE t (x$a$ int)', 'ALTER ROLE r']
    >>> _statements("SET a = E'it\\'s'; ALTER ROLE r; --'")
    ["SET a = E'it\\'s'", 'ALTER ROLE r']
    """
    out, current, i, n = [], [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "-" and text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
            current.append(" ")
            continue
        if ch == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            current.append(" ")
            continue
        if ch in "'\"":
            # E'...' strings also end at an unescaped quote only (\' is a quote inside), as the server reads them
            escapes = ch == "'" and i > 0 and text[i - 1] in "Ee" and (i < 2 or not _ident_char(text[i - 2]))
            j = i + 1
            while j < n:
                if escapes and text[j] == "\\":
                    j += 2
                    continue
                if text[j] == ch:
                    if j + 1 < n and text[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            current.append(text[i:j + 1])
            i = j + 1
            continue
        if ch == "$" and (i == 0 or not _ident_char(text[i - 1])):  # a $ inside a name (x$a$) quotes nothing
            match = re.match(r"\$(?:[A-Za-z_]\w*)?\$", text[i:])
            if match:
                tag = match.group(0)
                end = text.find(tag, i + len(tag))
                end = n if end < 0 else end + len(tag)
                current.append(text[i:end])
                i = end
                continue
        if ch == ";":
            statement = "".join(current).strip()
            if statement:
                out.append(statement)
            current = []
            i += 1
            continue
        current.append(ch)
        i += 1
    rest = "".join(current).strip()
    if rest:
        out.append(rest)
    return out


def _check_statement(statement: str, archive: Path) -> None:
    """CorruptDatabase unless ``statement`` is one a hub dump holds (:data:`_ALLOWED_STATEMENTS`)."""
    for pattern in _ALLOWED_STATEMENTS:
        match = pattern.fullmatch(statement)
        if match and (not statement.startswith("SET ") or match.group(1) in _SAFE_SETTINGS):
            return
    shown = " ".join(statement.split()[:3])
    raise NotStationDatabase(f"{archive}: the dump holds a statement a hub backup does not ({shown} ...): it may "
                             "have been tampered with; nothing was changed, choose another backup")


def _run_statements(raw, text: str, archive: Path) -> None:
    """Check every statement of ``text``, then run each with the extended query protocol, which
    takes exactly one statement: should the splitting ever differ from the server's reading, a
    second statement is refused by the server, never run unchecked."""
    from psycopg import errors, pq

    statements = _statements(text)
    for statement in statements:  # every one checked before any runs
        _check_statement(statement, archive)
    for statement in statements:
        result = raw.pgconn.exec_params(statement.encode("utf-8"), [])
        if result.status not in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
            raise errors.error_from_result(result, encoding="utf-8")


def _replay(raw, tools: ClientTools, archive: Path) -> dict[str, int]:
    """Run the archive's SQL (``pg_restore -f -``) on ``raw`` in its open transaction; the rows
    copied per table."""
    copied: dict[str, int] = {}
    process = subprocess.Popen(
        [str(tools.pg_restore), "--no-owner", "--no-privileges", "--exit-on-error", "--file=-", str(archive)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, encoding="utf-8")
    try:
        pending: list[str] = []
        lines = iter(process.stdout)
        for line in lines:
            if line.startswith("\\"):
                if line.startswith(("\\restrict", "\\unrestrict")):
                    continue  # psql's guard against a hostile server's dump: not a statement
                raise CorruptDatabase(f"{archive}: the dump holds a psql command ({line.split()[0]}) this restore "
                                      "does not run; choose another backup")
            match = _COPY_RE.match(line.rstrip("\n"))
            if not match:
                pending.append(line)
                continue
            if pending:
                _run_statements(raw, "".join(pending), archive)
                pending = []
            if not re.fullmatch(_NAME, match.group(1)):
                raise NotStationDatabase(f"{archive}: the dump copies rows into {match.group(1)}, outside the hub's "
                                         "schema: it may have been tampered with; nothing was changed")
            table = match.group(1).split(".")[-1].strip('"')
            rows, chunk, size = 0, [], 0
            with raw.cursor().copy(line.rstrip("\n").rstrip(";").replace("FROM stdin", "FROM STDIN")) as copy:
                for data in lines:
                    if data == "\\.\n":
                        break
                    chunk.append(data)
                    size += len(data)
                    rows += 1
                    if size > 1 << 20:
                        copy.write("".join(chunk))
                        chunk, size = [], 0
                else:
                    raise CorruptDatabase(f"{archive}: the data of table {table} ends early; choose another backup")
                if chunk:
                    copy.write("".join(chunk))
            copied[table] = copied.get(table, 0) + rows
        if pending:
            _run_statements(raw, "".join(pending), archive)
    finally:
        process.stdout.close()
        stderr = process.stderr.read()
        process.stderr.close()
        status = process.wait()
    if status != 0:
        raise CorruptDatabase(f"{archive}: pg_restore failed ({_last_error_line(stderr, str)}); choose another backup")
    return copied


def _identifier_hashes_erased(raw) -> set[str]:
    """The values of the hub's erasure tombstones in the schema ``public`` (the identifiers' hashes keyed with
    the clinic key, or plain from older software; none before the table)."""
    if raw.execute("SELECT to_regclass('public.hub_tombstones')").fetchone()[0] is None:
        return set()
    return {r[0] for r in raw.execute("SELECT identifier_hash FROM public.hub_tombstones").fetchall()}


@_one_line_errors
def restore_hub_backup(url: str, data_dir: str | os.PathLike, source: str | os.PathLike,
                       now_s: float | None = None) -> HubRestoreResult:
    """Replace the hub database ``url`` by the backup ``source`` (the hub must be stopped); see the
    module doc for every check made before the commit.

    Raises
    ------
    NotStationDatabase, CorruptDatabase
        The backup is refused, or the restored database failed a check; nothing was changed.
    BackupError
        The hub is running, tools missing or of another version, an I/O problem.
    StoreError
        The database cannot be reached.
    """
    from station.store.pg import WRITER_LOCK_KEY, _first_line

    data_dir = Path(data_dir)
    source = Path(source)
    if not data_dir.is_dir():
        raise BackupError(f"{data_dir}: no such data directory; give the hub's --data-dir")
    raw = _connect(url)
    staging = data_dir / f".restore-{os.getpid()}{HUB_BACKUP_SUFFIX}"
    try:
        tools = find_client_tools(_server_major(raw))
        _stage(source, staging)
        info = inspect_hub_dump(staging, tools)
        running = hub_sessions(raw)
        if running:
            raise BackupError(f"the hub is running on this database ({running} connections of balance-station); stop "
                              "it first (sudo systemctl stop balance-station-hub), restore, then start it again")
        current = _schema_version(raw)
        has_tables = raw.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
        pre_restore = create_hub_backup(url, data_dir, now_s, prefix=HUB_PRE_RESTORE_PREFIX,
                                        any_version=True).path if current is not None or has_tables else None
        import psycopg

        raw.execute("BEGIN")
        try:
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK_KEY,))
            running = hub_sessions(raw)
            if running:
                raise BackupError(f"the hub started during the restore ({running} connections); nothing was changed: "
                                  "stop it and restore again")
            erased_before = _identifier_hashes_erased(raw)
            raw.execute("DROP SCHEMA public CASCADE")
            # the schema as PostgreSQL 15 creates it (so that a dump of the restored database is a hub dump again)
            raw.execute("CREATE SCHEMA public")
            raw.execute("ALTER SCHEMA public OWNER TO pg_database_owner")
            raw.execute("COMMENT ON SCHEMA public IS 'standard public schema'")
            raw.execute("GRANT USAGE ON SCHEMA public TO PUBLIC")
            try:
                copied = _replay(raw, tools, staging)
            except psycopg.Error as exc:
                raise CorruptDatabase(f"{source}: replaying it failed ({_first_line(exc)}); nothing was changed, "
                                      "choose another backup") from None
            raw.execute("SET LOCAL search_path = public")
            version = _schema_version(raw)
            if version != info.schema_version:
                raise CorruptDatabase(f"{source}: the restored schema version is {version}, the backup said "
                                      f"{info.schema_version}; nothing was changed")
            differences = schema_differences(raw, version)
            if differences:
                raise NotStationDatabase(
                    f"{source}: its schema is not the one this release creates at version {version} "
                    f"({_shown(differences)}): it may have been tampered with; nothing was changed, choose another "
                    "backup")
            raw.execute("SET LOCAL search_path = public")
            wrong = []
            for table, rows in sorted(copied.items()):
                found = raw.execute(f'SELECT count(*) FROM public."{table}"').fetchone()[0]
                if found != rows:
                    wrong.append(f"{table} has {found} rows, the backup {rows}")
            if wrong:
                raise CorruptDatabase(f"{source}: row counts differ after the restore ({_shown(wrong)}); nothing was "
                                      "changed")
            problems = data_problems(raw)
            if problems:
                raise CorruptDatabase(f"{source}: {_shown(problems)}; nothing was changed, choose another backup")
            raw.execute("SET LOCAL search_path = public")
            counts = [raw.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                      for t in ("patients", "trials", "programme_assignments")]
            # a restored login session would let in whoever holds its cookie (one planted with its last
            # activity in the future: for ever); everyone signs in again
            sessions_ended = raw.execute("DELETE FROM login_sessions").rowcount
            active = raw.execute("SELECT username, password_hash, role FROM users WHERE disabled_at IS NULL").fetchall()
            unusable = unusable_accounts((name, stored) for name, stored, _role in active)
            can_sign_in, admins = sign_in_counts(active)
            code = None
            if not raw.execute("SELECT count(*) FROM users").fetchone()[0]:  # setup open again: its code first
                try:
                    code = setup_code.ensure(data_dir)
                except setup_code.SetupCodeNotWritten as exc:  # (rolled back below)
                    raise BackupError(f"{exc}; nothing was changed") from None
            for statement in hub_epoch.MARK_RESTORED_SQL:  # stations re-read what the hub numbers again
                raw.execute(statement)
            redo = sorted(erased_before - _identifier_hashes_erased(raw))
            if redo:  # erasures made after the backup: the hub's next start makes them again
                raw.execute("INSERT INTO settings (key, value, updated_at, updated_by) VALUES (%s, %s, %s, 'restore')",
                            (hub_epoch.REDO_SETTING, json.dumps(redo), utc_iso(time.time() if now_s is None else now_s)))
            raw.execute("COMMIT")
        except BaseException as exc:
            if not raw.closed and not raw.broken:
                with contextlib.suppress(psycopg.Error):
                    raw.execute("ROLLBACK")
            if isinstance(exc, psycopg.Error):  # e.g. this login may not drop the schema public
                raise BackupError(f"the restore failed ({_first_line(exc)}); nothing was changed; restore as the "
                                  "owner of the database (and of its schema public)") from None
            raise
    finally:
        raw.close()
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
    if code is None:
        setup_code.used(data_dir)  # the restored database has accounts: a code left opens nothing
    return HubRestoreResult(info.schema_version, int(counts[0]), int(counts[1]), int(counts[2]),
                            sum(copied.values()), pre_restore, sessions_ended, unusable, code, can_sign_in, admins)
