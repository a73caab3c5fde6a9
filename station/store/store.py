"""The clinic data store of one data directory: open it, use its parts, close it.

>>> store = Store.open_service(Path("./data"))      # the station service: lock, migrate, recover
>>> writer = store.trials.start_trial(session_id, "romberg", "eyes_closed", calibration, 100.0)
>>> writer.append(frames); writer.finish(metrics, valid=True)

The service process (web server + protocol engine) opens the store with :meth:`Store.open_service`,
which takes the data directory's lock, applies migrations and marks trials interrupted by a crash
as ``partial`` (:meth:`Store.recover_partial_trials`). Command-line tools use :meth:`Store.open`
(no lock, no recovery). See :mod:`station.store.db` for the one-writer design and durability.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

from station.clock import Clock
from station.config import StationConfig
from station.store.audit import Actor, AuditLog
from station.store.db import Database, StoreError, acquire_service_lock, db_path
from station.store.logins import LoginSessions
from station.store.migrations import migrate
from station.store.passwords import DEFAULT_COST, ScryptCost
from station.store.patients import Patients
from station.store.programmes import Programmes
from station.store.sessions import Sessions
from station.store.settings import Settings
from station.store.trials import DEFAULT_COMMIT_INTERVAL_S, Trials
from station.store.users import Users


def _prepare_data_dir(data_dir: Path) -> Path:
    """Create the data directory (mode 0700) and the database file (mode 0600) if missing."""
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the data directory {data_dir}: {exc.strerror}") from None
    if not data_dir.is_dir():
        raise StoreError(f"{data_dir} is not a directory; give a directory with --data-dir")
    path = db_path(data_dir)
    created = not path.exists()
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))  # patient data: owner only
        if created and os.geteuid() == 0:
            # An administrator's `sudo balance-station users add` on a fresh station: the file
            # belongs to the data directory's owner (the service user), or the service could not
            # open it. SQLite gives its -wal and -shm files the database file's owner.
            owner = data_dir.stat()
            os.chown(path, owner.st_uid, owner.st_gid)
    except OSError as exc:
        raise StoreError(f"cannot open {path}: {exc.strerror}; check its permissions") from None
    return path


class Store:
    """Everything stored in one data directory.

    Attributes: ``users``, ``logins`` (login sessions), ``patients``, ``sessions`` (visits),
    ``trials``, ``programmes`` (training programmes), ``settings``, ``audit``, ``db``.

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
        _lock_fd: int | None = None,
    ):
        self.data_dir = Path(data_dir)
        self._lock_fd = _lock_fd
        config = config or StationConfig()
        path = _prepare_data_dir(self.data_dir)
        self.db = Database(path)
        try:
            migrate(self.db._writer)
        except BaseException:
            self.db.close()
            raise
        self.audit = AuditLog(self.db, wall_clock)
        self.users = Users(self.db, self.audit, wall_clock, password_cost)
        self.logins = LoginSessions(self.db, wall_clock)
        self.patients = Patients(self.db, self.audit, wall_clock)
        self.sessions = Sessions(self.db, self.audit, wall_clock)
        self.programmes = Programmes(self.db, self.audit, wall_clock)
        self.trials = Trials(
            self.db, self.audit, wall_clock=wall_clock, clock=clock, commit_interval_s=commit_interval_s
        )
        self.settings = Settings(
            self.db,
            self.audit,
            {"session_timeout_min": config.web.session_timeout_min, "clinic_name": ""},
            wall_clock,
        )

    @classmethod
    def open(cls, data_dir: str | os.PathLike, **kwargs) -> "Store":
        """Open for a command-line tool: migrate if needed; no service lock, no recovery."""
        return cls(data_dir, **kwargs)

    @classmethod
    def open_service(cls, data_dir: str | os.PathLike, **kwargs) -> "Store":
        """Open as the station service: take the lock (DataDirLocked if another service runs),
        migrate, and recover interrupted trials."""
        data_dir = Path(data_dir)
        _prepare_data_dir(data_dir)
        fd = acquire_service_lock(data_dir)
        try:
            store = cls(data_dir, _lock_fd=fd, **kwargs)
        except BaseException:
            os.close(fd)
            raise
        store.recover_partial_trials()
        return store

    @property
    def is_service(self) -> bool:
        return self._lock_fd is not None

    def recover_partial_trials(self) -> list[int]:
        """Mark trials interrupted by a crash as ``partial`` (frames kept); return their ids."""
        return self.trials.recover_partial_trials(actor=Actor.system())

    def close(self) -> None:
        """Close the database and release the service lock."""
        self.db.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
