"""Rate limiting of failed sign-ins, per account and per client address (sliding window).

After ``max_failures`` failed attempts within ``window_s`` for the same key, further attempts are
refused (``429`` with ``Retry-After``) until the oldest failure leaves the window; a correct
password does not get through meanwhile (otherwise guessing would simply continue). A successful
sign-in clears the account's failures but not the address's, so one valid account cannot be used to
reset the limit of an address that guesses others. Counts are kept in memory by the one web
process; a restart clears them. Memory is bounded (``max_keys``): the keys whose failures are
oldest are forgotten first.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from typing import Callable


class LoginThrottle:
    """Failures per key in a sliding window.

    Parameters
    ----------
    max_failures : int
        Failures allowed in the window before attempts are refused.
    window_s : float
        Length of the window, s.
    clock : callable
        Time in s (``time.time``); injectable for tests.
    max_keys : int
        Largest number of keys remembered.
    """

    def __init__(
        self, max_failures: int, window_s: float, clock: Callable[[], float] = time.time, max_keys: int = 10_000
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
