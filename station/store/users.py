"""Station accounts: administrators and clinicians, their passwords and their state.

There are no default credentials: the first account is an administrator created at first-run setup
(:meth:`Users.create_first_admin`, refused once any account exists) or by
``balance-station users add NAME --role admin``. Accounts are disabled, never deleted, so the audit
log's names stay meaningful; the last active administrator cannot be disabled or demoted.
Disabling an account or changing its password ends its login sessions.
"""

from __future__ import annotations

import re
import sqlite3
import time
from typing import Callable

from station.store.audit import Actor, AuditLog
from station.store.db import Conflict, Database, NotFound, ValidationError
from station.store.logins import ENDED_DISABLED, ENDED_PASSWORD, LoginSessions
from station.store.passwords import (
    DEFAULT_COST,
    PasswordUnusable,
    ScryptCost,
    burn_equivalent_time,
    hash_is_usable,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from station.store.timefmt import utc_iso

ROLES = ("admin", "clinician")
_ALREADY_SET_UP = "the station is already set up; sign in, or ask an administrator for an account"
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def username_problem(username: object) -> str | None:
    """Why ``username`` is refused, or None."""
    if not isinstance(username, str):
        return "must be a string"
    if not USERNAME_RE.fullmatch(username):  # (match: "$" lets a trailing newline through, "ana\n" beside "ana")
        return "must be 1 to 64 characters: letters, digits and . _ @ - (starting with a letter or digit)"
    return None


def _user(row: sqlite3.Row) -> dict:
    return {
        "id": row["id"],
        "username": row["username"],
        "role": row["role"],
        "disabled": row["disabled_at"] is not None,
        "disabled_at": row["disabled_at"],
        "created_at": row["created_at"],
        "password_changed_at": row["password_changed_at"],
        "last_login_at": row["last_login_at"],
    }


class PasswordChecked:
    """The stored password a sign-in checked (:meth:`Users.authenticate`), kept out of sight (its
    ``repr`` hides it; not JSON): a login session is opened only while the account still has it
    (:meth:`station.store.logins.LoginSessions.create`)."""

    __slots__ = ("stored_hash",)

    def __init__(self, stored_hash: str):
        self.stored_hash = stored_hash

    def __repr__(self) -> str:
        return "PasswordChecked(<hidden>)"


class Users:
    """Accounts. Methods return plain dicts without the password hash."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        wall_clock: Callable[[], float] = time.time,
        cost: ScryptCost = DEFAULT_COST,
        logins: LoginSessions | None = None,
    ):
        self._db = db
        self._audit = audit
        self._now = wall_clock
        self._cost = cost
        self._logins = logins if logins is not None else LoginSessions(db, wall_clock)
        """The login sessions this ends (:meth:`update`), which remember why for their pages."""

    # -- reading ----------------------------------------------------------------------------

    def count(self) -> int:
        with self._db.read() as conn:
            return conn.execute("SELECT count(*) FROM users").fetchone()[0]

    def list(self) -> list[dict]:
        with self._db.read() as conn:
            return [_user(r) for r in conn.execute("SELECT * FROM users ORDER BY username")]

    def get(self, user_id: int) -> dict:
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
        if row is None:
            raise NotFound(f"no user #{user_id}")
        return _user(row)

    def get_by_name(self, username: str) -> dict:
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        if row is None:
            raise NotFound(f"no user named {username!r}; list them with 'balance-station users list'")
        return _user(row)

    # -- changing ---------------------------------------------------------------------------

    def _check_new(self, username: object, password: object, role: object) -> None:
        problems = {}
        if (p := username_problem(username)) is not None:
            problems["username"] = p
        if role not in ROLES:
            problems["role"] = f"must be one of {', '.join(ROLES)}"
        if (p := password_problem(password, username if isinstance(username, str) else None)) is not None:
            problems["password"] = p
        if problems:
            raise ValidationError(problems)

    def _insert(self, conn: sqlite3.Connection, username: str, password_hash: str, role: str) -> int:
        if conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
            raise Conflict(f"a user named {username!r} already exists; choose another name")
        now = utc_iso(self._now())
        cur = conn.execute(
            "INSERT INTO users (username, role, password_hash, created_at, password_changed_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (username, role, password_hash, now, now),
        )
        return int(cur.lastrowid)

    def create(self, username: str, password: str, role: str, *, actor: Actor) -> dict:
        """Add an account. Raises ValidationError (bad name, role or password) or Conflict."""
        self._check_new(username, password, role)
        hashed = hash_password(password, self._cost)  # slow: outside the write lock
        with self._db.write() as conn:
            user_id = self._insert(conn, username, hashed, role)
            self._audit.record(actor, "user.create", object=f"user:{user_id}", detail={"role": role})
        return self.get(user_id)

    def create_first_admin(self, username: str, password: str, *, actor: Actor) -> dict:
        """The first-run administrator; Conflict if any account exists already.

        The cheap checks (an account exists, the name and password are refused) come before the
        expensive hash, so that a flood of setup requests on a set-up station costs nothing.
        """
        if self.count():
            raise Conflict(_ALREADY_SET_UP)
        self._check_new(username, password, "admin")
        hashed = hash_password(password, self._cost)
        with self._db.write() as conn:
            if conn.execute("SELECT count(*) FROM users").fetchone()[0]:
                raise Conflict(_ALREADY_SET_UP)
            user_id = self._insert(conn, username, hashed, "admin")
            self._audit.record(
                actor, "user.create", object=f"user:{user_id}", detail={"role": "admin", "first_run": True}
            )
        return self.get(user_id)

    def update(
        self,
        user_id: int,
        *,
        actor: Actor,
        role: str | None = None,
        disabled: bool | None = None,
        password: str | None = None,
    ) -> dict:
        """Change an account's role, enabled state or password (only the arguments given).

        Refuses to leave the station without an active administrator (Conflict). Disabling and
        password changes end the account's login sessions.
        """
        problems = {}
        if role is not None and role not in ROLES:
            problems["role"] = f"must be one of {', '.join(ROLES)}"
        if disabled is not None and not isinstance(disabled, bool):
            problems["disabled"] = "must be true or false"
        username = self.get(user_id)["username"]  # NotFound
        if password is not None and (p := password_problem(password, username)) is not None:
            problems["password"] = p
        if problems:
            raise ValidationError(problems)
        hashed = None if password is None else hash_password(password, self._cost)  # outside the lock
        with self._db.write() as conn:
            row = conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
            new_role = role if role is not None else row["role"]
            new_disabled = disabled if disabled is not None else row["disabled_at"] is not None
            if row["role"] == "admin" and row["disabled_at"] is None and (new_role != "admin" or new_disabled):
                others = conn.execute(
                    "SELECT count(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL AND id != ?",
                    (user_id,),
                ).fetchone()[0]
                if not others:
                    raise Conflict(
                        f"{row['username']} is the last active administrator; add another administrator first"
                    )
            now = utc_iso(self._now())
            changed = []
            if role is not None and role != row["role"]:
                conn.execute("UPDATE users SET role = ? WHERE id = ?", (role, user_id))
                changed.append("role")
            if disabled is not None and disabled != (row["disabled_at"] is not None):
                conn.execute("UPDATE users SET disabled_at = ? WHERE id = ?", (now if disabled else None, user_id))
                changed.append("disabled")
                if disabled:
                    self._logins.end_account(conn, user_id, ENDED_DISABLED)
            if password is not None:
                conn.execute(
                    "UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?",
                    (hashed, now, user_id),
                )
                self._logins.end_account(conn, user_id, ENDED_PASSWORD)
                changed.append("password")
            if changed:
                detail = {"changed": changed}
                if "role" in changed:
                    detail["role"] = new_role
                if "disabled" in changed:
                    detail["disabled"] = new_disabled
                self._audit.record(actor, "user.update", object=f"user:{user_id}", detail=detail)
        return self.get(user_id)

    def change_own_password(self, user_id: int, current: str, new: str, *, actor: Actor) -> None:
        """A user changing their own password: needs the current one (ValidationError if wrong)."""
        with self._db.read() as conn:
            row = conn.execute("SELECT password_hash FROM users WHERE id = ?", (user_id,)).fetchone()
        if row is None:
            raise NotFound(f"no user #{user_id}")
        if not isinstance(current, str) or not verify_password(current, row["password_hash"]):
            raise ValidationError({"current_password": "is not the password you signed in with; nothing was changed"})
        self.update(user_id, actor=actor, password=new)

    def authenticate(self, username: str, password: str) -> dict | None:
        """The active account with these credentials, or None (unknown, disabled or wrong password).
        Its ``password_checked`` (:class:`PasswordChecked`) names the stored password that was
        checked, for :meth:`LoginSessions.create <station.store.logins.LoginSessions.create>`.

        Takes the same time whether or not the account exists. Upgrades a hash made with a cheaper
        cost than the current one, and records the login time.

        Raises
        ------
        PasswordUnusable
            The active account's stored hash is not one this station can check (malformed, or of a
            cost it never makes: :func:`station.store.passwords.hash_is_usable`); the stored hash was
            not computed (a hash of the station's cost was, so that this takes as long as a wrong
            password). An administrator must set a new password.
        """
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        if row is None:
            burn_equivalent_time(password, self._cost)
            return None
        if row["disabled_at"] is None and not hash_is_usable(row["password_hash"]):
            burn_equivalent_time(password, self._cost)  # as long as any refusal: the time says nothing either
            raise PasswordUnusable("this account's password cannot be checked; an administrator must set a new one")
        if not verify_password(password, row["password_hash"]) or row["disabled_at"] is not None:
            return None
        rehashed = hash_password(password, self._cost) if needs_rehash(row["password_hash"], self._cost) else None
        stored = row["password_hash"]
        with self._db.write() as conn:
            if rehashed is not None:  # only the hash checked: a password changed meanwhile is not put back
                cur = conn.execute("UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?",
                                   (rehashed, row["id"], stored))
                stored = rehashed if cur.rowcount == 1 else stored
            conn.execute("UPDATE users SET last_login_at = ? WHERE id = ?", (utc_iso(self._now()), row["id"]))
        user = self.get(row["id"])
        user["password_checked"] = PasswordChecked(stored)
        return user
