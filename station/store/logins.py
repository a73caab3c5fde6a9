"""Login sessions, kept on the server: logout and account changes take effect at once.

The browser holds a random token (in Flask's signed session cookie); the database keeps only its
SHA-256, the account, a CSRF token and the time of last activity. A session ends at logout, when
the account is disabled or its password changes, or after ``timeout_s`` without activity
(inactivity logout). To avoid a database write on every request, the last-activity time is
refreshed only when it is older than :func:`touch_interval_s` (at most 30 s): a session may thus
expire up to that much *earlier* than the timeout, never later.

**Clock set back.** A session whose last activity lies more than :data:`FUTURE_TOLERANCE_S` in the
future has ended too (:data:`ENDED_CLOCK`): it was last used while the wall clock ran ahead and the
clock has since been set back (a Pi without a real-time clock boots on an old time and NTP steps it;
or the other way round). Without this, ``now - last_seen`` stayed negative and such a session lived
for the whole step plus the timeout (a 2-day step: 2 days). The user signs in again, told why.

**Lifetime.** A session also ends :data:`MAX_AGE_S` (12 h) after its sign-in, however busy it is
(:data:`ENDED_AGE`): the inactivity timeout alone let a stolen cookie, or a tablet page a script keeps
touching, live for ever as long as it was used (s28 X7's L2). Timed on the same wall clock as the
inactivity, from the sign-in's time stored with the session (it outlives a restart of the station, which a
monotonic clock does not). NTP stepping the clock moves it no further than the inactivity: a step back of
more than :data:`FUTURE_TOLERANCE_S` ends the session as set back (its last activity lies in the future;
the last activity is never older than the sign-in, a touch only writes a later time), a smaller one lengthens
it by the step; a step forward shortens its lifetime by the step, and one longer than the timeout ends it
by inactivity as before. Sessions other than those near their 12 h end go on through a step forward shorter
than the timeout.

**Why it ended.** A session ended on purpose elsewhere (:meth:`LoginSessions.end_others`, a password change
or the account disabled: :meth:`LoginSessions.end_account`) is deleted like any other, and in the same
transaction the database keeps why, by its token's SHA-256 (``login_sessions_ended``, migration 18: the digest,
the reason and when; no patient data, nothing of the token itself), so that its page is told so
(:meth:`LoginSessions.resolve_or_ended`) rather than "after inactivity": also when the change was made by
another process (``balance-station users disable`` or ``users password`` on the command line, or the hub's
``--database`` twin) or before a restart of the station. Before (s28 X9), only the web process's memory held it,
and those read :data:`ENDED_UNKNOWN` ("expired after inactivity"). Bounded: a reason is kept
:data:`ENDED_KEPT_S` (12 h, the longest a session lives) and at most the last :data:`ENDED_KEPT`; older ones are
purged when sessions end and by :meth:`LoginSessions.purge_expired`.

A session found ended when used (inactive, 12 h old, the clock set back, the account disabled) keeps its
reason the same way (migration 19): the first request to meet it deleted it, and every later request with the same token
(the page's other requests under way, another tab of the same browser) read :data:`ENDED_UNKNOWN`
("expired after inactivity") where the first read "12 hours after you signed in" (s31: a page's own two
requests raced, and the page went to whichever sign-in page was asked for last). A session signed out
(:meth:`LoginSessions.end`) keeps :data:`ENDED_SIGNED_OUT` the same way (migration 20), where the browser's other
tabs and the page's requests under way read "after inactivity" (s32).

**A busy database.** Refreshing the last activity (and deleting a session found ended) is a chore of
the request, not what it was asked for: it waits :data:`TOUCH_WAIT_MS` at most for the database's write
lock and is left for a later request when the lock is held (another program such as ``sync --resend``
holding it for seconds, an SD card still writing). It waited SQLite's whole busy timeout (5 s) holding
the process's write lock, then failed the request: a Stop pressed while an administrator's command held
the lock was not carried out (500), and the live view's stream, which refreshes it while a trial runs,
broke off at each try, so the page never heard that the trial was being saved. A session whose last
activity is not refreshed for a while ends that much earlier, never later.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from dataclasses import dataclass
from typing import Callable

from station.store.db import Database, DatabaseBusy


FUTURE_TOLERANCE_S = 60.0
"""How far in the future a session's last activity may lie (small corrections of the clock, several
processes' clocks) before the session counts as ended by the clock being set back, s."""

ENDED_UNKNOWN = "unknown"
"""No such session known (never existed, or ended more than :data:`ENDED_KEPT_S` ago, or before the station kept
its reason)."""
ENDED_SIGNED_OUT = "signed_out_tab"
"""Signed out (:meth:`LoginSessions.end`), as the browser's other tabs and windows, which share its cookie, and the
signing-out page's own requests still under way are told."""
ENDED_DISABLED = "disabled"
"""The account was disabled (by an administrator)."""
ENDED_PASSWORD = "password_changed"
"""The account's password was changed (by its user in another session, or by an administrator)."""
ENDED_OTHERS = "signed_out_others"
"""Ended by "Sign out everywhere else" in another of the account's sessions (:meth:`LoginSessions.end_others`)."""
ENDED_INACTIVE = "inactive"
"""No activity for longer than the timeout."""
ENDED_CLOCK = "clock_set_back"
"""The last activity lies in the future: the station's clock was set back since (see the module)."""
ENDED_AGE = "max_age"
"""Signed in longer ago than :data:`MAX_AGE_S`, however busy the session was since."""
MAX_AGE_S = 12 * 3600.0
"""How long a login session lasts at most from its sign-in, however busy, s: a clinic's working day, so that
nobody at work signs in more than once a day for it, while a stolen cookie (or a tablet page kept busy by a
script) is over by the end of the day instead of living for ever (the inactivity timeout alone never ended a
session that was used)."""
ENDED_KEPT = 1000
"""How many sessions ended on purpose (:data:`ENDED_OTHERS`, :data:`ENDED_PASSWORD`, :data:`ENDED_DISABLED`) the
database keeps the reason of, by their token's SHA-256 (see "Why it ended" in the module doc); the oldest are
purged first."""
ENDED_KEPT_S = MAX_AGE_S
"""How long the reason of a session ended on purpose is kept, s: the longest a session lives, after which its
page would be told its session was over anyway."""
TOUCH_WAIT_MS = 100
"""How long refreshing a session's last activity, or deleting a session found ended, waits for the database's
write lock, ms; held longer, it is left for a later request (see "A busy database" in the module doc)."""


def lifetime_left_s(created_s: float, now_s: float) -> float:
    """How long a session signed in at ``created_s`` has left before its :data:`MAX_AGE_S` end, s, on the wall
    clock the end is judged on (:meth:`LoginSessions.resolve_or_ended`); 0 once over. A clock set back a little
    lengthens it by the step, as it does the session (set back further, the session ends as set back).

    >>> lifetime_left_s(1000.0, 1000.0 + 11.5 * 3600)
    1800.0
    >>> lifetime_left_s(1000.0, 1000.0 + 13 * 3600)
    0.0
    """
    return max(0.0, MAX_AGE_S - (now_s - created_s))


def touch_interval_s(timeout_s: float) -> float:
    """How stale the stored last-activity time may get before a request refreshes it, s."""
    return min(30.0, timeout_s / 10.0)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class PasswordChanged(Exception):
    """The password a sign-in checked is no longer the account's (or the account was disabled):
    no session was opened (:meth:`LoginSessions.create`)."""


@dataclass(frozen=True)
class LoginSession:
    """A live login session and its account."""

    user_id: int
    username: str
    role: str
    csrf_token: str
    created_s: float
    last_seen_s: float


class LoginSessions:
    def __init__(self, db: Database, wall_clock: Callable[[], float] = time.time):
        self._db = db
        self._now = wall_clock

    def create(self, user_id: int, address: str | None, *, checked=None) -> tuple[str, str]:
        """Open a session for an (already authenticated) account; return (token, csrf_token).

        With ``checked`` (the :class:`~station.store.users.PasswordChecked` of the sign-in), the session
        is opened only if the account still has that stored password and is not disabled, else
        :class:`PasswordChanged` is raised (also when another sign-in's rehash to a higher cost came
        first: that person signs in again). A password change ends every session of the account; a
        sign-in with the old password whose check (scrypt, up to a second on a Pi) was under way then
        opened its session after that end, and a thief signing in again and again with a stolen
        password kept a session (s28 X7: 2 of 8 sign-ins under way at a change, still signed in after it).
        """
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = self._now()
        row = (_digest(token), user_id, csrf, now, now, address)
        with self._db.write() as conn:
            if checked is None:
                conn.execute(
                    "INSERT INTO login_sessions (token_hash, user_id, csrf_token, created_s, last_seen_s, address)"
                    " VALUES (?, ?, ?, ?, ?, ?)", row)
            else:
                cur = conn.execute(
                    "INSERT INTO login_sessions (token_hash, user_id, csrf_token, created_s, last_seen_s, address)"
                    " SELECT ?, ?, ?, ?, ?, ? FROM users"
                    " WHERE id = ? AND password_hash = ? AND disabled_at IS NULL",
                    (*row, user_id, checked.stored_hash))
                if cur.rowcount != 1:
                    raise PasswordChanged("the account's password was changed, or the account disabled, while "
                                          "the sign-in was checked")
        return token, csrf

    def resolve(self, token: str, timeout_s: float, *, touch: bool = True) -> LoginSession | None:
        """The live session for ``token``, or None (unknown, expired, or account disabled): see
        :meth:`resolve_or_ended`."""
        found = self.resolve_or_ended(token, timeout_s, touch=touch)
        return found if isinstance(found, LoginSession) else None

    def resolve_or_ended(self, token: str, timeout_s: float, *, touch: bool = True) -> LoginSession | str:
        """The live session for ``token``, or why there is none: :data:`ENDED_UNKNOWN`,
        :data:`ENDED_DISABLED`, :data:`ENDED_INACTIVE`, :data:`ENDED_CLOCK` (its last activity more
        than :data:`FUTURE_TOLERANCE_S` in the future: the clock was set back),
        :data:`ENDED_AGE` (signed in more than :data:`MAX_AGE_S` ago; an inactive session is said to be
        inactive, whatever its age), or for a session ended on purpose (see "Why it ended" in the module doc)
        :data:`ENDED_OTHERS`, :data:`ENDED_PASSWORD`, :data:`ENDED_DISABLED` or :data:`ENDED_SIGNED_OUT`.

        An ended session is deleted. With ``touch`` (a user action, not a background poll), the
        last-activity time is refreshed when it is older than :func:`touch_interval_s`.
        """
        now = self._now()
        digest = _digest(token)
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT s.*, u.username, u.role, u.disabled_at FROM login_sessions s"
                " JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
                (digest,),
            ).fetchone()
            if row is None:  # ended on purpose (by any process, before a restart too), or unknown
                why = conn.execute("SELECT why FROM login_sessions_ended WHERE token_hash = ? AND ended_s >= ?",
                                   (digest, now - ENDED_KEPT_S)).fetchone()
                return ENDED_UNKNOWN if why is None else why["why"]
        ended = None
        if row["disabled_at"] is not None:
            ended = ENDED_DISABLED
        elif row["last_seen_s"] - now > FUTURE_TOLERANCE_S:
            ended = ENDED_CLOCK
        elif now - row["last_seen_s"] > timeout_s:
            ended = ENDED_INACTIVE
        elif now - row["created_s"] > MAX_AGE_S:
            ended = ENDED_AGE
        if ended is not None:  # ended all the same if the write must wait; its reason kept for its other pages
            self._chore(lambda conn: self._end_where(conn, ended, "token_hash = ?", (digest,)))
            return ended
        last_seen = row["last_seen_s"]
        if touch and now - last_seen >= touch_interval_s(timeout_s):
            if self._chore(lambda conn: conn.execute("UPDATE login_sessions SET last_seen_s = ? WHERE token_hash = ?",
                                                     (now, digest))):
                last_seen = now
        return _session(row, last_seen)

    def _chore(self, write: Callable[[sqlite3.Connection], object]) -> bool:
        """Run ``write`` (a function of the write transaction's connection) if the write lock is had within
        :data:`TOUCH_WAIT_MS`; whether it was written (not: the lock held elsewhere, the write left for a later
        request; see "A busy database" in the module doc)."""
        try:
            with self._db.write(busy_wait_ms=TOUCH_WAIT_MS) as conn:
                write(conn)
        except DatabaseBusy:
            return False
        return True

    def end(self, token: str) -> None:
        """Log out (nothing happens for an unknown token). Its reason is kept (:data:`ENDED_SIGNED_OUT`), so that
        the browser's other tabs, and its requests still under way, are told they were signed out, not that the
        session ended after inactivity (s32: a live view's request in flight during a sign-out in another tab
        sent it to the inactivity sign-in page)."""
        with self._db.write() as conn:
            self._end_where(conn, ENDED_SIGNED_OUT, "token_hash = ?", (_digest(token),))

    def end_others(self, user_id: int, keep_token: str | None) -> int:
        """End every session of an account except ``keep_token``'s; return how many were ended. Their pages are
        told so (:data:`ENDED_OTHERS`)."""
        with self._db.write() as conn:
            return self._end_where(conn, ENDED_OTHERS, "user_id = ? AND token_hash != ?",
                                   (user_id, _digest(keep_token) if keep_token else b""))

    def end_account(self, conn: sqlite3.Connection, user_id: int, why: str) -> int:
        """End every session of an account in the write transaction ``conn`` (its password changed:
        :data:`ENDED_PASSWORD`, or disabled: :data:`ENDED_DISABLED`); return how many. Their pages are told ``why``."""
        return self._end_where(conn, why, "user_id = ?", (user_id,))

    def _end_where(self, conn: sqlite3.Connection, why: str, where: str, args: tuple) -> int:
        """Delete the sessions ``where`` holds for, keeping ``why`` for each in the same transaction
        (``login_sessions_ended``; bounded: :data:`ENDED_KEPT_S`, :data:`ENDED_KEPT`)."""
        now = self._now()
        digests = [bytes(r["token_hash"]) for r in conn.execute(f"SELECT token_hash FROM login_sessions WHERE {where}", args)]
        cur = conn.execute(f"DELETE FROM login_sessions WHERE {where}", args)
        for digest in digests:
            conn.execute("INSERT INTO login_sessions_ended (token_hash, why, ended_s) VALUES (?, ?, ?)"
                         " ON CONFLICT (token_hash) DO NOTHING", (digest, why, now))
        if digests:
            _purge_ended(conn, now)
        return cur.rowcount

    def purge_expired(self, timeout_s: float) -> int:
        """Delete sessions idle for longer than ``timeout_s``, and those whose last activity lies
        more than :data:`FUTURE_TOLERANCE_S` in the future (the clock was set back); return how many."""
        now = self._now()
        with self._db.write() as conn:
            cur = conn.execute("DELETE FROM login_sessions WHERE last_seen_s < ? OR last_seen_s > ?",
                               (now - timeout_s, now + FUTURE_TOLERANCE_S))
            _purge_ended(conn, now)
        return cur.rowcount


def _purge_ended(conn: sqlite3.Connection, now_s: float) -> None:
    """Forget the reasons of sessions ended more than :data:`ENDED_KEPT_S` ago, and all but the last
    :data:`ENDED_KEPT` (in the caller's write transaction)."""
    conn.execute("DELETE FROM login_sessions_ended WHERE ended_s < ?", (now_s - ENDED_KEPT_S,))
    conn.execute("DELETE FROM login_sessions_ended WHERE token_hash NOT IN (SELECT token_hash FROM"
                 f" login_sessions_ended ORDER BY ended_s DESC, token_hash LIMIT {int(ENDED_KEPT)})")


def _session(row: sqlite3.Row, last_seen_s: float) -> LoginSession:
    return LoginSession(
        user_id=row["user_id"],
        username=row["username"],
        role=row["role"],
        csrf_token=row["csrf_token"],
        created_s=row["created_s"],
        last_seen_s=last_seen_s,
    )
