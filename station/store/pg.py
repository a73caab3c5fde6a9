"""The store on PostgreSQL (the hub): the same :class:`~station.store.db.Database` interface as
SQLite's, on a server named by a ``postgresql://`` URL, through psycopg 3.

>>> db = PgDatabase("postgresql://hub@localhost/balance")          # doctest: +SKIP
>>> with db.write() as conn:                                       # doctest: +SKIP
...     conn.execute("UPDATE users SET role = ? WHERE id = ?", ("admin", 1))

**The same SQL.** The store's modules keep writing SQLite's dialect with ``?`` placeholders;
:class:`PgConnection` passes every statement through :mod:`station.store.dialect` (the one
translation) and returns rows that behave like ``sqlite3.Row`` (by index, by name, ``dict(row)``)
and cursors with ``lastrowid`` and ``rowcount``.

**One writer, as on SQLite.** The modules check and then write inside one ``db.write()`` block
("is this identifier free? then insert", "is this the last admin? then demote"), which is safe on
SQLite because there is one writer. On PostgreSQL each write transaction (``READ COMMITTED``)
first takes the transaction-scoped advisory lock :data:`WRITER_LOCK_KEY`, so writers of every
process on the database (the hub's threads, its command-line tools, a second hub) run one at a
time, and every statement of the block sees everything committed before it. ``SERIALIZABLE``
was not chosen: it aborts one of two conflicting transactions with a serialisation failure,
which must then be retried by re-running the block, and a ``with`` block cannot be re-run by the
database layer; every failure would reach the user. Inside one process a re-entrant lock queues
the threads on one writer connection (a nested block is a savepoint), exactly as on SQLite.
PostgreSQL grants the advisory lock in the order it was asked for (a writer that releases it and asks
again at once queues behind those waiting), and so does the in-process lock, the stations'
:class:`~station.store.db.FairLock`: a station's push, applied change by change (a transaction each),
waits behind each of the others' writers once, not behind a thread that keeps retaking the lock
(``benchmarks/hub_write_lock.py``, README "The hub on PostgreSQL").
Readers take ``REPEATABLE READ READ ONLY`` transactions on pooled connections (at most
``max_readers``; a thread waits for a free one): a consistent snapshot, never blocked by the
writer; the BEGIN goes with the block's first statement in one pipeline (a round trip is costly
on a loaded server: a patient's history read trial by trial took seconds). Measured in
README.md ("The hub on PostgreSQL").

**Errors.** A unique violation is :class:`~station.store.db.Conflict`, a full disk
:class:`~station.store.db.DiskFull`, an unreachable or lost server a
:class:`~station.store.db.StoreError` that says what to do; a connection found broken is
replaced at its next use. The password of the URL is never part of a message
(:func:`redact_url`).

**Erasure.** PostgreSQL has no ``secure_delete``: deleted rows stay in their pages until
``VACUUM`` frees the space for reuse. After an erasure :meth:`PgDatabase.checkpoint_truncate`
vacuums the patient tables; the server's write-ahead log and its backups keep the data until
they are recycled (the operator's retention policy).
"""

from __future__ import annotations

import queue
import threading
from contextlib import contextmanager
from functools import lru_cache
from typing import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

from station.store.after_commit import AfterCommit
from station.store.db import (DATABASE_BUSY_MESSAGE, DISK_FULL_MESSAGE, MISSING_REFERENCE, Conflict, DatabaseBusy, DiskFull,
                              FairLock, NotFound, StoreError)
from station.store.dialect import statement_for_many, statement_returns_id, statement_to_postgres

WRITER_LOCK_KEY = 0x62616C616E6365  # "balance" in ASCII: the advisory lock of the one writer
"""Key of ``pg_advisory_xact_lock`` that every write transaction takes (see the module doc)."""
CONNECT_TIMEOUT_S = 5
"""How long a connection attempt waits for the server, s."""
IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000
"""The server ends a session of ours left idle inside a transaction this long, ms: a process
stopped (SIGSTOP, a debugger, a hung thread) in the middle of a write cannot keep the writers'
lock, and every other writer waiting, for ever. The store's transactions last milliseconds."""
MAX_READERS = 16
"""Default bound of pooled reader connections of one process."""
_BEGIN_WRITE = f"BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock({WRITER_LOCK_KEY})"
"""One round trip (no parameters: the simple query protocol runs both statements)."""
_BEGIN_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
"""A reader's BEGIN, sent in one pipeline with the read block's first statement
(:meth:`PgConnection.defer_begin`): a read of one statement costs two round trips, not three."""
ERASURE_TABLES_SQL = """
    WITH RECURSIVE erased(rel) AS (
        SELECT 'patients'::regclass
        UNION
        SELECT c.conrelid::regclass FROM pg_constraint c JOIN erased e ON c.confrelid = e.rel
        WHERE c.contype = 'f' AND c.confdeltype = 'c'
    )
    SELECT quote_ident(n.nspname) || '.' || quote_ident(cl.relname) AS name
    FROM erased e JOIN pg_class cl ON cl.oid = e.rel JOIN pg_namespace n ON n.oid = cl.relnamespace
    ORDER BY 1"""
"""The tables vacuumed after an erasure: ``patients`` and every table whose rows go with a patient
(``ON DELETE CASCADE``, followed through every level: sessions, trials and their chunks,
programmes, training games, the hub's field times and kept versions, pulled histories...), read
from the database's own constraints, so a migration that adds one is covered."""


def is_postgres_url(url: str) -> bool:
    """True if ``url`` names a PostgreSQL database (``postgresql://`` or ``postgres://``).

    >>> is_postgres_url("postgresql://hub@db.clinic/balance"), is_postgres_url("./data")
    (True, False)
    """
    return isinstance(url, str) and url.split("://", 1)[0].lower() in ("postgresql", "postgres") and "://" in url


def redact_url(url: str) -> str:
    """``url`` without its password (for messages and logs).

    >>> redact_url("postgresql://hub:s3cret@db.clinic:5432/balance?sslmode=require")
    'postgresql://hub:***@db.clinic:5432/balance'
    >>> redact_url("postgresql:///balance?host=/var/run/postgresql&password=x")
    'postgresql:///balance'
    """
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
        return f"{parts.scheme}://{netloc}{parts.path}"  # the query (which may hold a password) left out
    except ValueError:
        return "postgresql://(unreadable URL)"


def _passwords_of(url: str) -> list[str]:
    """The password of ``url``'s user part and of a ``password=`` parameter, if any."""
    try:
        parts = urlsplit(url)
        found = [parts.password] + parse_qs(parts.query).get("password", [])
    except ValueError:
        return []
    return [p for p in found if p]


def url_has_password(url: str) -> bool:
    """True if ``url`` carries a password (in its user part or a ``password=`` parameter).

    >>> url_has_password("postgresql://hub:s3cret@db/balance"), url_has_password("postgresql://hub@db/balance")
    (True, False)
    """
    return bool(_passwords_of(url))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def _import_psycopg():
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            "PostgreSQL support is not installed (psycopg): on the hub's server, install the hub with "
            "`sudo systemd/install.sh --hub` from a checkout; in a virtual environment of your own, "
            "`pip install '/path/to/checkout[hub]'` (the package is not on PyPI)"
        ) from None
    return psycopg


@lru_cache(maxsize=None)
def _row_class(names: tuple[str, ...]):
    index = {}
    for i, name in enumerate(names):
        index.setdefault(name.lower(), i)

    class Row(tuple):
        """A result row like ``sqlite3.Row``: by index, by column name (case-insensitive), ``keys()``."""

        __slots__ = ()

        def __getitem__(self, key):
            if isinstance(key, str):
                try:
                    key = index[key.lower()]
                except KeyError:
                    raise IndexError(f"no such column: {key}") from None
            return tuple.__getitem__(self, key)

        def keys(self) -> list[str]:
            return list(names)

    return Row


def _row_factory(cursor):
    description = cursor.description
    if description is None:
        return tuple
    row = _row_class(tuple(c.name for c in description))
    return lambda values: row(values)


class PgCursor:
    """The result of :meth:`PgConnection.execute`: rows, ``rowcount`` and ``lastrowid``."""

    def __init__(self, cursor, lastrowid: int | None = None, first=None):
        self._cursor = cursor
        self.lastrowid = lastrowid
        self.rowcount = cursor.rowcount

    def fetchone(self):
        return self._cursor.fetchone() if self._cursor.description is not None else None

    def fetchall(self) -> list:
        return self._cursor.fetchall() if self._cursor.description is not None else []

    def fetchmany(self, size: int = 1) -> list:
        return self._cursor.fetchmany(size) if self._cursor.description is not None else []

    def __iter__(self):
        return iter(self.fetchall())

    @property
    def description(self):
        return self._cursor.description


class PgConnection:
    """A psycopg connection that runs the store's SQLite-dialect statements (see module doc)."""

    def __init__(self, raw, database: "PgDatabase"):
        self.raw = raw
        self._database = database
        self._deferred_begin: str | None = None

    def defer_begin(self, statement: str) -> None:
        """Send ``statement`` (a BEGIN) with this connection's next statement, in one round trip
        (psycopg's pipeline mode), instead of on its own; a read block that runs no statement
        sends nothing. A connection the server dropped meanwhile is replaced then, once."""
        self._deferred_begin = statement

    def end_deferred(self) -> bool:
        """Forget a BEGIN not sent yet; True if a transaction is open (it then needs its end)."""
        self._deferred_begin = None
        return self.in_transaction

    def _run(self, cursor, run):
        """``run(cursor)``, after the deferred BEGIN if there is one (both in one pipeline)."""
        begin, self._deferred_begin = self._deferred_begin, None
        if begin is None:
            run(cursor)
            return cursor
        try:
            with self.raw.pipeline():
                self.raw.execute(begin)
                run(cursor)
            return cursor
        except self._database._psycopg.OperationalError:
            if not self.broken:
                raise
        self.raw.close()  # dropped by the server while it waited in the pool: a new connection, once
        self.raw = self._database._connect().raw
        cursor = self.raw.cursor(row_factory=_row_factory)
        with self.raw.pipeline():
            self.raw.execute(begin)
            run(cursor)
        return cursor

    def execute(self, sql: str, params=()) -> PgCursor:
        text = statement_to_postgres(sql)
        params = tuple(params)
        cursor = self.raw.cursor(row_factory=_row_factory)
        try:
            cursor = self._run(cursor, lambda c: c.execute(text, params))
        except Exception as exc:
            raise self._database.translate_error(exc) from exc
        lastrowid = None
        if statement_returns_id(sql):
            row = cursor.fetchone()
            lastrowid = None if row is None else int(row[0])
        return PgCursor(cursor, lastrowid)

    def executemany(self, sql: str, seq_of_params) -> PgCursor:
        text = statement_for_many(sql)
        rows = [tuple(p) for p in seq_of_params]
        cursor = self.raw.cursor(row_factory=_row_factory)
        try:
            cursor = self._run(cursor, lambda c: c.executemany(text, rows))
        except Exception as exc:
            raise self._database.translate_error(exc) from exc
        return PgCursor(cursor)

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self.raw.info.transaction_status != TransactionStatus.IDLE

    @property
    def broken(self) -> bool:
        return self.raw.closed or self.raw.broken

    def close(self) -> None:
        self.raw.close()


def _configure_adapters(adapters, psycopg) -> None:
    """bool as an integer (the schema's 0/1 columns, as sqlite3 stores True), numeric (sums of
    integers) as int or float (as SQLite returns them)."""
    from psycopg.adapt import Dumper, Loader

    int8 = psycopg.adapters.types["int8"].oid

    class BoolAsInt(Dumper):
        oid = int8

        def dump(self, obj):
            return b"1" if obj else b"0"

    class NumericAsNumber(Loader):
        def load(self, data):
            text = bytes(data).decode("ascii")
            if text in ("NaN", "Infinity", "-Infinity"):
                return float(text)
            return int(text) if "." not in text and "e" not in text.lower() else float(text)

    adapters.register_dumper(bool, BoolAsInt)
    adapters.register_loader("numeric", NumericAsNumber)


class PgDatabase:
    """A PostgreSQL database used as the store: one writer connection and a pool of readers.

    Parameters
    ----------
    url : str
        ``postgresql://[user[:password]@]host[:port]/database[?param=value]`` (libpq's URL; a
        password may also come from ``~/.pgpass`` or ``PGPASSWORD``).
    max_readers : int
        Largest number of reader connections this process opens at once.

    Raises
    ------
    StoreError
        Not a PostgreSQL URL, psycopg missing, or the server unreachable / refusing the login:
        one line, without the password.
    """

    def __init__(self, url: str, *, max_readers: int = MAX_READERS):
        if not is_postgres_url(url):
            raise StoreError(
                "the database must be a PostgreSQL URL like postgresql://USER@HOST/DATABASE"
            )
        self._psycopg = _import_psycopg()
        self._url = url
        self.path = redact_url(url)
        """The URL without its password (messages)."""
        self._writer = self._connect()
        self._write_lock = FairLock()  # writers served in the order they came, as on a station
        self._depth = 0
        self._owner: int | None = None
        self._after_commit = AfterCommit()  # calls made once the write transaction commits (after_commit)
        self._readers: queue.SimpleQueue[PgConnection] = queue.SimpleQueue()
        self._reader_slots = threading.BoundedSemaphore(max_readers)
        self._reading = threading.local()  # .conn: this thread's open read block's connection
        self._all_readers: list[PgConnection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self.on_disk_full: list = []
        """Callables run (no arguments) when a write fails for lack of space (as on SQLite)."""
        self.on_storage_failed: list = []
        """As on SQLite; never run here: the server's own storage errors reach its administrator, not a
        station's gate."""

    dialect = "postgresql"

    # -- connections -------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        for password in _passwords_of(self._url):
            text = text.replace(password, "***")
        return text

    def _connect(self) -> PgConnection:
        psycopg = self._psycopg
        try:
            raw = psycopg.connect(
                self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S, application_name="balance-station",
                options=f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_TIMEOUT_MS}",
            )
        except psycopg.OperationalError as exc:
            reason = self._scrub(_first_line(exc).removeprefix("connection failed: "))
            raise StoreError(
                f"cannot connect to the database {self.path} ({reason}); check that PostgreSQL runs there and "
                "that the URL's user, password, host, port and database name are right"
            ) from None
        except (psycopg.ProgrammingError, ValueError):
            # libpq's message quotes the whole URL, password included: not shown
            raise StoreError(
                f"the database URL {self.path} is not valid; write it as postgresql://USER@HOST:PORT/DATABASE "
                "(percent-encode special characters of the user and password)"
            ) from None
        _configure_adapters(raw.adapters, psycopg)
        return PgConnection(raw, self)

    def translate_error(self, exc: BaseException) -> BaseException:
        """The store's error for a driver error (the driver's own if it is a programming error)."""
        errors = self._psycopg.errors
        if isinstance(exc, errors.UniqueViolation):
            constraint = getattr(exc.diag, "constraint_name", None) or "a unique key"
            return Conflict(f"that record already exists ({constraint}); reload the page and try again")
        if isinstance(exc, errors.ForeignKeyViolation):
            return NotFound(MISSING_REFERENCE)
        if isinstance(exc, errors.DiskFull):
            return DiskFull(DISK_FULL_MESSAGE)
        if isinstance(exc, errors.RestrictViolation):
            return StoreError(exc.diag.message_primary or str(exc))
        if isinstance(exc, self._psycopg.OperationalError) and not isinstance(exc, errors.QueryCanceled):
            first = self._scrub(_first_line(exc))
            return StoreError(
                f"the database {self.path} failed ({first}); check that PostgreSQL runs, then try again"
            )
        return exc

    def _disk_full(self) -> DiskFull:
        for hook in self.on_disk_full:
            try:
                hook()
            except Exception:  # a hook must not hide the disk-full error
                pass
        return DiskFull(DISK_FULL_MESSAGE)

    def _begin(self, conn: PgConnection, statement: str) -> PgConnection:
        """``statement`` (a BEGIN) on ``conn``; a connection the server dropped meanwhile is
        replaced once. Returns the connection used."""
        try:
            conn.raw.execute(statement)
            return conn
        except self._psycopg.OperationalError:
            if not conn.broken:
                raise
        conn.close()
        conn = self._connect()
        conn.raw.execute(statement)
        return conn

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def write(self, busy_wait_ms: int | None = None) -> Iterator[PgConnection]:
        """A write transaction holding the writer lock of every process (see the module doc).

        Commits when the block ends, rolls back if it raises; a nested block is a savepoint.
        ``busy_wait_ms`` bounds the wait for this process's other writers (:class:`DatabaseBusy`
        after it), as on SQLite; the server's advisory lock is waited for as by every write (trials
        are recorded by a station, on SQLite). Calls given to :meth:`after_commit` inside the block are
        made once the outermost block has committed (after the lock is released), never if theirs rolls back.
        """
        if busy_wait_ms is None:
            self._write_lock.acquire()
        elif not self._write_lock.acquire(timeout=busy_wait_ms / 1000):
            raise DatabaseBusy(DATABASE_BUSY_MESSAGE)
        committed: list = []
        try:
            if self._closed:
                raise StoreError("the database is closed")
            depth = self._depth
            mark = self._after_commit.mark()
            if depth == 0:
                try:
                    self._writer = self._begin(self._writer, _BEGIN_WRITE)
                except Exception as exc:
                    self._rollback_quietly(self._writer)
                    raise self._store_error(exc) from None
                self._owner = threading.get_ident()
            conn = self._writer
            if depth:
                conn.raw.execute(f"SAVEPOINT sp{depth}")
            self._depth = depth + 1
            try:
                yield conn
            except BaseException as exc:
                self._depth = depth
                self._after_commit.drop_since(mark)
                if depth == 0:
                    self._owner = None
                    self._rollback_quietly(conn)
                elif not conn.broken:
                    conn.raw.execute(f"ROLLBACK TO SAVEPOINT sp{depth}")
                    conn.raw.execute(f"RELEASE SAVEPOINT sp{depth}")
                if depth == 0 and isinstance(exc, DiskFull):
                    raise self._disk_full() from None
                raise
            self._depth = depth
            if depth == 0:
                self._owner = None
                try:
                    conn.raw.execute("COMMIT")
                except Exception as exc:
                    self._rollback_quietly(conn)
                    raise self._store_error(exc) from None
                committed = self._after_commit.take()
            else:
                conn.raw.execute(f"RELEASE SAVEPOINT sp{depth}")
        finally:
            if self._depth == 0:
                self._after_commit.drop_since(0)  # the transaction's calls not taken by its commit: never made
            self._write_lock.release()
        for call in committed:
            call()

    def after_commit(self, call: Callable[[], None]) -> None:
        """As :meth:`station.store.db.Database.after_commit`: ``call`` once this thread's write transaction
        has committed, never if it rolls back; outside a write block of this thread, now."""
        self._after_commit.add(call, writing=self._owner == threading.get_ident())

    def _store_error(self, exc: BaseException) -> BaseException:
        error = self.translate_error(exc)
        return self._disk_full() if isinstance(error, DiskFull) else error

    def _rollback_quietly(self, conn: PgConnection) -> None:
        if conn.broken:
            return
        try:
            conn.raw.execute("ROLLBACK")
        except self._psycopg.Error:
            pass

    @contextmanager
    def read(self) -> Iterator[PgConnection]:
        """A read-only snapshot (``REPEATABLE READ``); inside a write block of the same thread,
        the writer connection (the block sees its own changes); inside a read block of the same
        thread, that block's snapshot (a nested read never waits for a second pooled connection,
        so threads that nest reads cannot starve each other of the ``max_readers`` slots)."""
        if self._owner == threading.get_ident():
            yield self._writer
            return
        outer = getattr(self._reading, "conn", None)
        if outer is not None:
            yield outer
            return
        if self._closed:
            raise StoreError("the database is closed")
        self._reader_slots.acquire()
        conn = None
        try:
            conn = self._take_reader()
            conn.defer_begin(_BEGIN_READ)  # sent with the block's first statement: one round trip less
            self._reading.conn = conn
            try:
                yield conn
            finally:
                self._reading.conn = None
                if conn.end_deferred():
                    self._rollback_quietly(conn)
        finally:
            if conn is not None:
                if conn.broken or self._closed:
                    conn.close()
                else:
                    self._readers.put(conn)
            self._reader_slots.release()

    def _take_reader(self) -> PgConnection:
        while True:
            try:
                conn = self._readers.get_nowait()
            except queue.Empty:
                break
            if not conn.broken:
                return conn
        conn = self._connect()
        with self._readers_lock:
            self._all_readers = [c for c in self._all_readers if not c.broken]
            self._all_readers.append(conn)
        return conn

    # -- schema and maintenance --------------------------------------------------------------

    def migrate(self) -> list[int]:
        """Bring the database to the latest schema (:mod:`station.store.pg_schema`)."""
        from station.store.pg_schema import migrate_postgres

        with self._write_lock:
            return migrate_postgres(self._writer)

    def schema_version(self) -> int:
        from station.store.pg_schema import schema_version

        with self._write_lock:
            return schema_version(self._writer)

    def quick_check(self) -> list[str]:
        """``[]`` if the server answers and has detected no damaged page (data checksum failures
        of this database, counted by the server when clusters are initialised with checksums,
        Debian's default since PostgreSQL 15 is without: then only the answer is checked)."""
        try:
            with self.read() as conn:
                failures = conn.execute(
                    "SELECT coalesce(checksum_failures, 0) FROM pg_stat_database WHERE datname = current_database()"
                ).fetchone()
        except StoreError as exc:
            return [str(exc)]
        if failures and failures[0]:
            return [f"{failures[0]} data pages failed their checksum"]
        return []

    @staticmethod
    def erasure_tables(conn) -> list[str]:
        """The tables an erasure deletes from (:data:`ERASURE_TABLES_SQL`), quoted for SQL."""
        return [str(row[0]) for row in conn.raw.execute(ERASURE_TABLES_SQL).fetchall()]

    def checkpoint_truncate(self) -> bool:
        """After an erasure: ``VACUUM`` the patient tables, so that the erased rows' space is
        freed for reuse (see the module doc); True if it ran."""
        conn = None
        try:
            conn = self._connect()
            conn.raw.execute("VACUUM " + ", ".join(self.erasure_tables(conn)))
            return True
        except (StoreError, self._psycopg.Error):
            return False
        finally:
            if conn is not None:
                conn.close()

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
