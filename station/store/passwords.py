"""Password hashing with scrypt (``hashlib.scrypt``, standard library) and the password policy.

Stored form: ``scrypt$<log2 N>$<r>$<p>$<salt b64>$<key b64>`` (unpadded URL-safe base64, 16-byte
salt, 32-byte key). The cost parameters travel with each hash, so raising the default later does
not break existing accounts; :func:`needs_rehash` tells the login code to upgrade a hash.

Default cost N = 2^15, r = 8, p = 3: one of the OWASP Password Storage Cheat Sheet's equivalent
scrypt settings (minimum N = 2^17, r = 8, p = 1, or the same work split as 2^16/8/2, 2^15/8/3, ...),
chosen for its 32 MiB of memory per hash, which a Raspberry Pi can afford for a few logins at once.
It costs about 0.2 s on a laptop core and under 1 s on a Raspberry Pi 4.

**Only the costs this station makes are computed** (:func:`cost_in_range`): a stored hash whose
cost exceeds :data:`MAX_COST_FACTOR` times the default's work or memory (a restored or edited
database: ``scrypt$22$32$16$...`` made sign-in answer 500 with OpenSSL's "maxmem" error,
``scrypt$20$8$16$...`` cost 1 GiB and ~100 s per attempt) never matches and is never hashed with;
:func:`hash_is_usable` tells sign-in to say that an administrator must set a new password.

**At most :data:`HASHING_SLOTS` hashes at once** in a process (:data:`GATE`): every hash and
verification waits for a slot, at most :data:`HASHING_WAIT_S`, and otherwise raises
:class:`PasswordHashingBusy` (the web answers 503 with ``Retry-After``). A flood of sign-in or setup
requests therefore costs at most 2 × 32 MiB and two cores' worth of time, never the station's memory
(issue 14, finding 1: 73 concurrent setup requests used to take 1.16 GB). At most
:data:`HASHING_WAITERS` requests wait at once (beyond, refused at once), so such a flood holds a few
of the web server's threads, not every one; a sign-in from an address the account signed in from
waits in :data:`PRIORITY_WAITERS` places of its own (:func:`priority`).
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import hashlib
import hmac
import os
import threading
import time
from dataclasses import dataclass

from station.store.weak_passwords import weakness

MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 256
_SALT_BYTES = 16
_KEY_BYTES = 32


@dataclass(frozen=True)
class ScryptCost:
    """scrypt cost: N = 2**log2_n (CPU/memory), r (block size), p (parallelism)."""

    log2_n: int = 15
    r: int = 8
    p: int = 3

    @property
    def memory_bytes(self) -> int:
        return 128 * self.r * (2**self.log2_n)

    def work(self) -> int:
        """Relative work (N·r·p), to compare two settings."""
        return (2**self.log2_n) * self.r * self.p


DEFAULT_COST = ScryptCost()

MAX_COST_FACTOR = 4
"""A stored hash is computed only if its work (N·r·p) and memory are at most this many times the
default's (2^17/8/3 or 2^15/32/3 at most: 128 MiB): the station never made a dearer one, and
the bound keeps one sign-in attempt within a Pi's means."""


def cost_in_range(cost: ScryptCost) -> bool:
    """True if the station would compute a hash of this cost (see :data:`MAX_COST_FACTOR`).

    >>> cost_in_range(DEFAULT_COST), cost_in_range(ScryptCost(4, 8, 1)), cost_in_range(ScryptCost(20, 8, 16))
    (True, True, False)
    """
    return (
        cost.log2_n >= 1 and cost.r >= 1 and cost.p >= 1
        and cost.work() <= MAX_COST_FACTOR * DEFAULT_COST.work()
        and cost.memory_bytes <= MAX_COST_FACTOR * DEFAULT_COST.memory_bytes
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


HASHING_SLOTS = 2
"""Password hashes computed at once in one process (the Pi has 4 cores; the acquisition needs one)."""
HASHING_WAIT_S = 5.0
"""How long a request waits for a hashing slot before it is refused as busy, s."""
HASHING_WAITERS = 4
"""Requests that may wait for a hashing slot at once (besides :data:`PRIORITY_WAITERS`); one more is
refused as busy at once. A waiter
holds one of the web server's 32 threads for up to :data:`HASHING_WAIT_S`: a sign-in flood from many
addresses (each under its own sign-in limit) kept every thread waiting here, and a signed-in
clinician's ``GET /api/patients`` took 1.1 to 4.5 s instead of 0.01 s (s28 X7, 40 connections
against the running station). Now a flood holds at most :data:`HASHING_SLOTS` + this many threads."""


class PasswordHashingBusy(Exception):
    """Every hashing slot stayed busy for the whole wait, or too many requests wait already: try
    again in a few seconds."""

    retry_after_s = 5


PRIORITY_WAITERS = 2
"""Places to wait for a hashing slot kept for sign-ins under :func:`priority` (from an address the
account signed in from: the clinic's tablets), beyond :data:`HASHING_WAITERS`; they take the next
free slot first. Against the running station under a flood of 40 connections, the tablet's sign-in
with extra places only was refused 2 times in 6 (the flood's new requests took each freed slot)."""

BUSY_WORDS = "the station is busy checking other passwords; try again in a few seconds"

_PRIORITY: contextvars.ContextVar[bool] = contextvars.ContextVar("station_hashing_priority", default=False)


@contextlib.contextmanager
def priority(on: bool = True):
    """Within this block (this thread), hashes may also take the :data:`PRIORITY_WAITERS` places."""
    token = _PRIORITY.set(on)
    try:
        yield
    finally:
        _PRIORITY.reset(token)


class HashingGate:
    """A bounded number of password hashes at once (``slots``), each caller waiting at most ``wait_s``
    for one, and a bounded number of callers waiting (``waiters``, and :data:`PRIORITY_WAITERS` more
    under :func:`priority`; beyond, refused at once). A caller under :func:`priority` takes the next
    free slot before the others; the others take a free slot in no set order."""

    def __init__(self, slots: int = HASHING_SLOTS, wait_s: float = HASHING_WAIT_S, waiters: int = HASHING_WAITERS):
        self.slots = slots
        self.wait_s = wait_s
        self.waiters = waiters
        self._free = slots
        self._waiting = {False: 0, True: 0}  # by priority
        self._changed = threading.Condition()

    @property
    def waiting(self) -> int:
        """Callers waiting for a slot now."""
        with self._changed:
            return self._waiting[False] + self._waiting[True]

    def _may_take(self, first: bool) -> bool:
        return self._free > 0 and (first or self._waiting[True] == 0)

    def __enter__(self) -> "HashingGate":
        first = _PRIORITY.get()
        with self._changed:
            if self._may_take(first) and (first or self._waiting[False] == 0):
                self._free -= 1
                return self
            if self._waiting[first] >= (PRIORITY_WAITERS if first else self.waiters):
                raise PasswordHashingBusy(BUSY_WORDS)
            self._waiting[first] += 1
            try:
                deadline = time.monotonic() + self.wait_s
                while not self._may_take(first):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise PasswordHashingBusy(BUSY_WORDS)
                    self._changed.wait(left)
                self._free -= 1
            finally:
                self._waiting[first] -= 1
        return self

    def __exit__(self, *exc) -> None:
        with self._changed:
            self._free += 1
            self._changed.notify_all()


GATE = HashingGate()
"""The process's hashing gate (every scrypt call of this module passes it)."""


def _derive(password: str, salt: bytes, cost: ScryptCost) -> bytes:
    with GATE:
        return _scrypt(password, salt, cost)


def _scrypt(password: str, salt: bytes, cost: ScryptCost) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=2**cost.log2_n,
        r=cost.r,
        p=cost.p,
        maxmem=cost.memory_bytes + 4 * 1024 * 1024,
        dklen=_KEY_BYTES,
    )


def hash_password(password: str, cost: ScryptCost = DEFAULT_COST) -> str:
    """A new salted scrypt hash of ``password`` in the stored form."""
    salt = os.urandom(_SALT_BYTES)
    key = _derive(password, salt, cost)
    return f"scrypt${cost.log2_n}${cost.r}${cost.p}${_b64(salt)}${_b64(key)}"


def _parse(stored: str) -> tuple[ScryptCost, bytes, bytes] | None:
    """The cost, salt and key of a stored hash; None if malformed or of a cost out of range
    (:func:`cost_in_range`): the one parse of every check (verification, rehash, usability)."""
    if not isinstance(stored, str):
        return None
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt" or not all(p.isdigit() and len(p) <= 3 for p in parts[1:4]):
        return None
    try:
        cost = ScryptCost(int(parts[1]), int(parts[2]), int(parts[3]))
        salt, key = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return None
    if not cost_in_range(cost) or len(key) != _KEY_BYTES:
        return None
    return cost, salt, key


class PasswordUnusable(Exception):
    """The account's stored hash cannot be checked (:func:`hash_is_usable`): an administrator must
    set a new password."""


def hash_is_usable(stored: str) -> bool:
    """True if ``stored`` is a hash this station can check: well formed, of a cost in range
    (:func:`cost_in_range`). An account whose hash is not can only get a new password.

    >>> hash_is_usable("scrypt$22$32$16$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43), hash_is_usable("plain")
    (False, False)
    """
    return _parse(stored) is not None


def unusable_accounts(rows) -> tuple[str, ...]:
    """The user names, sorted, of the active accounts among ``rows`` (``(username, password_hash)``)
    whose stored hash this station cannot check (:func:`hash_is_usable`): nobody can sign in to them
    until an administrator sets a new password (a restore lists them; sign-in logs a warning).

    >>> unusable_accounts([("ana", hash_password("a long passphrase", ScryptCost(4, 8, 1))),
    ...                    ("ben", "scrypt$22$32$16$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43), ("cy", "plain")])
    ('ben', 'cy')
    """
    return tuple(sorted(str(name) for name, stored in rows if not hash_is_usable(stored)))


def sign_in_counts(rows) -> tuple[int, int]:
    """``(accounts, administrators)`` among the active accounts ``rows`` (``(username, password_hash,
    role)``) that can sign in: those whose stored hash this station can check (:func:`hash_is_usable`).
    A restore says how to get in when no administrator can (``users add NAME --role admin``).

    >>> sign_in_counts([("ana", hash_password("a long passphrase", ScryptCost(4, 8, 1)), "admin"),
    ...                 ("ben", "plain", "admin"), ("cy", hash_password("another passphrase", ScryptCost(4, 8, 1)),
    ...                 "clinician")])
    (2, 1)
    """
    usable = [role for _name, stored, role in rows if hash_is_usable(stored)]
    return len(usable), usable.count("admin")


RESET_PASSWORD_WORDS = ("set a new password for it: balance-station users password {name}{where} (or on the "
                        "users page, signed in as an administrator)")
"""What an administrator does for an account whose hash cannot be checked (``{where}``: the hub's
``--database URL``, or empty)."""


def verify_password(password: str, stored: str) -> bool:
    """True if ``password`` matches the stored hash (constant-time comparison).

    A malformed stored hash, or one of a cost out of range (:func:`cost_in_range`), never matches
    and is not computed.
    """
    parsed = _parse(stored)
    if parsed is None:
        return False
    cost, salt, key = parsed
    return hmac.compare_digest(_derive(password, salt, cost), key)


def needs_rehash(stored: str, cost: ScryptCost = DEFAULT_COST) -> bool:
    """True if the stored hash is malformed or cheaper than ``cost``."""
    parsed = _parse(stored)
    return parsed is None or parsed[0].work() < cost.work()


_DUMMY_SALT = b"\x00" * _SALT_BYTES


def burn_equivalent_time(password: str, cost: ScryptCost = DEFAULT_COST) -> None:
    """Spend the time of one verification, for logins with an unknown user name.

    Without it, "no such user" answers faster than "wrong password" and reveals which accounts
    exist.
    """
    _derive(password, _DUMMY_SALT, cost)


def password_problem(password: object, username: str | None = None) -> str | None:
    """Why ``password`` is refused as a new password, or None if acceptable.

    Policy (NIST SP 800-63B style): at least 10 and at most 256 characters, any characters, not
    the user name itself, and not easy to guess (a common password, a repetition, a keyboard or
    alphabet run: :func:`station.store.weak_passwords.weakness`). No composition rules.
    """
    if not isinstance(password, str):
        return "must be a string"
    if len(password) < MIN_PASSWORD_CHARS:
        return f"must be at least {MIN_PASSWORD_CHARS} characters long"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"must be at most {MAX_PASSWORD_CHARS} characters long"
    if not password.strip():
        return "must not be only spaces"
    if username and password.casefold() == username.casefold():
        return "must not be the user name"
    if any(0xD800 <= ord(c) <= 0xDFFF for c in password):
        return "must be valid Unicode text (it holds a lone surrogate)"
    return weakness(password, username)
