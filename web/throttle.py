"""Rate limiting of password guessing (sliding windows), without letting a stranger lock anyone out.

:class:`LoginThrottle` counts failures per key: after ``max_failures`` failed attempts within
``window_s`` for the same key, further attempts are refused (``429`` with ``Retry-After``) until the
oldest failure leaves the window; a correct password does not get through meanwhile (otherwise
guessing would simply continue).

:class:`SignInGuard` is what sign-in uses (finding 7 of issue 14: five wrong passwords from
anywhere used to lock any account for 15 minutes):

- **account + address pair**: 5 failures in 15 min lock that account *from that address* only;
- **address**: 20 failures in 15 min lock the address, whatever accounts it tries;
- **account, from everywhere**: never locked; after 10 failures in 15 min its attempts are
  *paced* to one every 2 s (:class:`Pacer`), so guessing from many addresses is slowed to a
  crawl;
- **an address the account signed in from** (within :data:`KNOWN_FOR_S`, 30 days: the clinic's
  tablets) is not paced, only limited by the pair's and the address's counts. The pace's one
  attempt every 2 s is shared by everyone trying the account: a stranger who kept asking from
  many addresses (a few hundred loopback or LAN IPv4 addresses, or any number from an IPv6
  prefix; each address's 5 failures bought 10 s of the pace) took that attempt each time, and
  the clinician at the tablet was refused (``429``) every time, for as long as the stranger went on
  (s28 X7: 39 of 39 sign-ins refused in 20 s against the running station). Known pairs are kept in
  memory and, at start, read from the audit log's sign-ins (``user.login``) of the last 30 days
  (:meth:`SignInGuard.remember_sign_ins`), so a restart does not hand the account back to the pace.

A successful sign-in clears the pair's failures but not the address's, so one valid account cannot
be used to reset the limit of an address that guesses others. The same :class:`LoginThrottle`
limits guessing the current password when changing it (per account) and first-run setup (per
address). Counts are kept in memory by the one web process; a restart clears them. Memory is
bounded (``max_keys``): the keys whose failures are oldest are forgotten first.

Every limit per client address counts :func:`address_key`, not the address itself: an IPv6
client owns a whole /64 (SLAAC and privacy addresses pick any of its 2^64 addresses at will), so a
limit per IPv6 address was no limit; its /64 is keyed instead (an IPv4-mapped address as its IPv4
address, IPv4 as itself).

Windows are timed on the monotonic clock (``time.monotonic``), never the wall clock: a Pi without a
real-time clock has its wall clock stepped by NTP, and on the wall clock a step back of two days made
a 15-min lockout last two days (a step forward ended it at once).
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict, deque
from typing import Callable

from station.store.timefmt import parse_utc_iso


IPV6_CLIENT_PREFIX = 64
"""Length of the IPv6 prefix one client owns (RFC 4291 section 2.5.1: interface identifiers are 64 bits;
RFC 4941: a host picks new ones of its /64 at will), bits."""


def address_key(address: str | None) -> str:
    """The key a client's address is counted under by the per-address limits: an IPv4 address as
    itself, an IPv4-mapped IPv6 address as its IPv4 address, any other IPv6 address as its /64
    (:data:`IPV6_CLIENT_PREFIX`; a zone, ``%eth0``, dropped); text that is not an address (none:
    ``"unknown"``) as it is.

    >>> address_key("2001:db8:1:2:a:b:c:d"), address_key("2001:DB8:1:2::9%eth0")
    ('2001:db8:1:2::/64', '2001:db8:1:2::/64')
    >>> address_key("::ffff:192.0.2.7"), address_key("192.0.2.7"), address_key(None)
    ('192.0.2.7', '192.0.2.7', 'unknown')
    """
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network((ip, IPV6_CLIENT_PREFIX), strict=False))  # its host bits cleared
    return str(ip)


class LoginThrottle:
    """Failures per key in a sliding window.

    Parameters
    ----------
    max_failures : int
        Failures allowed in the window before attempts are refused.
    window_s : float
        Length of the window, s.
    clock : callable
        Monotonic time in s (``time.monotonic``); injectable for tests.
    max_keys : int
        Largest number of keys remembered.
    """

    def __init__(
        self, max_failures: int, window_s: float, clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000
    ):
        if max_failures < 1 or window_s <= 0:
            raise ValueError("max_failures must be >= 1 and window_s > 0")
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _expire(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after_s(self, key: str) -> int:
        """Whole seconds until ``key`` may try again; 0 if it may now."""
        with self._lock:
            now = self._clock()
            times = self._expire(key, now)
            if times is None or len(times) < self.max_failures:
                return 0
            wait = times[-self.max_failures] + self.window_s - now
            return max(1, math.ceil(wait))

    def failure(self, key: str) -> None:
        """Record a failed attempt for ``key``."""
        with self._lock:
            now = self._clock()
            times = self._expire(key, now)
            if times is None:
                times = self._failures[key] = deque(maxlen=self.max_failures)
            times.append(now)
            self._failures.move_to_end(key)
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)

    def success(self, key: str) -> None:
        """Forget ``key``'s failures."""
        with self._lock:
            self._failures.pop(key, None)


class RequestLimit(LoginThrottle):
    """At most ``max_failures`` requests per key within ``window_s`` (every request counts, not
    only failures): the hub's patient lookups by identifier per station token, so that a leaked
    token cannot enumerate identifiers (:mod:`web.hub_api`)."""

    def admit(self, key: str) -> int:
        """0 if ``key`` may make this request now (it is then counted), else whole seconds to wait."""
        with self._lock:
            now = self._clock()
            times = self._expire(key, now)
            if times is not None and len(times) >= self.max_failures:
                return max(1, math.ceil(times[-self.max_failures] + self.window_s - now))
            if times is None:
                times = self._failures[key] = deque(maxlen=self.max_failures)
            times.append(now)
            self._failures.move_to_end(key)
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)
            return 0


class Pacer:
    """After ``slow_after`` failures of a key within ``window_s``, at most one attempt of that key
    every ``interval_s`` (slowing down instead of locking).

    Parameters
    ----------
    slow_after : int
        Failures in the window before pacing starts.
    window_s : float
        Length of the window, s.
    interval_s : float
        Smallest time between two attempts of a paced key, s.
    clock : callable
        Monotonic time in s (``time.monotonic``).
    """

    def __init__(self, slow_after: int, window_s: float, interval_s: float, clock: Callable[[], float] = time.monotonic):
        self._failures = LoginThrottle(slow_after, window_s, clock)
        self.interval_s = interval_s
        self._clock = clock
        self._last_attempt: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def admit(self, key: str) -> int:
        """0 if ``key`` may try now (and count this attempt), else whole seconds to wait."""
        if not self._failures.retry_after_s(key):
            return 0
        with self._lock:
            now = self._clock()
            last = self._last_attempt.get(key)
            if last is not None and now - last < self.interval_s:
                return max(1, math.ceil(last + self.interval_s - now))
            self._last_attempt[key] = now
            self._last_attempt.move_to_end(key)
            while len(self._last_attempt) > 10_000:
                self._last_attempt.popitem(last=False)
            return 0

    def failure(self, key: str) -> None:
        self._failures.failure(key)


KNOWN_FOR_S = 30 * 86_400.0
"""How long an address stays known to an account after a sign-in from it, s (not paced, see the module)."""

KNOWN_PAIRS_MAX = 10_000
"""Largest number of known (account, address) pairs kept; the oldest sign-ins are forgotten first."""


class SignInGuard:
    """The sign-in limits (see the module's docstring): pair, address, and account pacing, which
    spares the addresses an account signed in from."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        window_s: float = 15 * 60,
        per_pair: int = 5,
        per_address: int = 20,
        account_slow_after: int = 10,
        account_interval_s: float = 2.0,
    ):
        self.pairs = LoginThrottle(per_pair, window_s, clock)
        self.addresses = LoginThrottle(per_address, window_s, clock)
        self.accounts = Pacer(account_slow_after, window_s, account_interval_s, clock)
        self._clock = clock
        self._known: OrderedDict[str, float] = OrderedDict()  # pair -> time (clock) of its last sign-in
        self._known_lock = threading.Lock()

    @staticmethod
    def _pair(account: str, address: str) -> str:
        return f"{account}\x00{address}"

    def retry_after_s(self, account: str, address: str) -> int:
        """0 if this attempt may go ahead (it is then counted by the account's pacer), else the
        whole seconds to wait."""
        pair = self._pair(account, address)
        wait = max(self.pairs.retry_after_s(pair), self.addresses.retry_after_s(address))
        if wait or self.known(account, address):
            return wait
        return self.accounts.admit(account)

    def known(self, account: str, address: str) -> bool:
        """Whether ``account`` signed in from ``address`` within :data:`KNOWN_FOR_S`."""
        with self._known_lock:
            at = self._known.get(self._pair(account, address))
            return at is not None and self._clock() - at < KNOWN_FOR_S

    def remember(self, account: str, address: str, age_s: float = 0.0) -> None:
        """Take ``address`` as one ``account`` signed in from ``age_s`` seconds ago (its attempts are
        not paced; see the module's docstring)."""
        with self._known_lock:
            pair = self._pair(account, address)
            self._known[pair] = max(self._known.get(pair, -math.inf), self._clock() - age_s)
            self._known.move_to_end(pair)
            while len(self._known) > KNOWN_PAIRS_MAX:
                self._known.popitem(last=False)

    def failure(self, account: str, address: str) -> None:
        self.pairs.failure(self._pair(account, address))
        self.addresses.failure(address)
        self.accounts.failure(account)

    def success(self, account: str, address: str) -> None:
        self.pairs.success(self._pair(account, address))
        self.remember(account, address)

    def remember_sign_ins(self, entries: list[dict], now_s: float) -> None:
        """Take the audit log's sign-ins (``user.login`` entries, newest first, wall clock ``now_s``)
        as known pairs, at start (their addresses as :func:`address_key` counts them)."""
        for entry in reversed(entries):
            if not entry.get("address"):
                continue
            try:
                age_s = now_s - parse_utc_iso(entry["at"])
            except ValueError:
                continue
            self.remember(entry["username"].casefold(), address_key(entry["address"]), max(0.0, age_s))
