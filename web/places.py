"""Places in a shared resource of the web server (its 32 threads, the memory of the heavy work
they do), bounded in all and per user, with the last few kept for users who hold none: one
account (a tablet gone wild, a script with a clinician's password) cannot take every place
(DESIGN.md §11). The live stream's viewers (:mod:`web.live`) and the downloads that build a
whole report, bundle or export (:func:`export_place`) each have theirs.
"""

from __future__ import annotations

import functools
import threading

from flask import current_app

from web.security import api_error, current_user

MAX_EXPORTS = 6
"""Downloads built at once (a history's FHIR bundle or a long trial's CSV: seconds of one core and
tens of MB each)."""
MAX_EXPORTS_PER_USER = 2
"""Downloads one account may have built at once (a double click, a report and an export)."""
EXPORTS_RESERVED = 2
"""Places kept for users who have no download being built."""
EXPORT_RETRY_S = 5
"""``Retry-After`` of a download refused for want of a place, s."""


class Places:
    """At most ``limit`` places, ``per_user`` of them for one user; the last ``reserved`` only
    for users who hold none. ``words`` says why a place was refused: ``full``, ``yours`` and
    ``kept``, formatted with ``limit``, ``mine`` and ``per_user``."""

    def __init__(self, limit: int, per_user: int, reserved: int, *, words: dict[str, str]) -> None:
        self.limit = limit
        self.per_user = per_user
        self.reserved = reserved
        self.words = words
        self.count = 0
        self._by_user: dict[object, int] = {}
        self._lock = threading.Lock()

    def enter(self, user: object = None) -> str | None:
        """Take a place for ``user``; None if taken, else why not (one line)."""
        with self._lock:
            mine = self._by_user.get(user, 0)
            why = ("full" if self.count >= self.limit else "yours" if mine >= self.per_user
                   else "kept" if mine and self.limit - self.count <= self.reserved else None)
            if why is not None:
                return self.words[why].format(limit=self.limit, mine=mine, per_user=self.per_user)
            self.count += 1
            self._by_user[user] = mine + 1
            return None

    def leave(self, user: object = None) -> None:
        with self._lock:
            self.count -= 1
            left = self._by_user.get(user, 0) - 1
            if left > 0:
                self._by_user[user] = left
            else:
                self._by_user.pop(user, None)


EXPORT_WORDS = {
    "full": "{limit} reports and exports are being made now; try again in a few seconds",
    "yours": "{mine} of your reports or exports are still being made (at most {per_user} at once); "
             "try again when one is done",
    "kept": "the last places for reports and exports are kept for other users; try again when one of yours is done",
}


def export_place(view):
    """The view builds a whole download: it needs one of the export places (:data:`MAX_EXPORTS`,
    :data:`MAX_EXPORTS_PER_USER`), else ``429`` with ``Retry-After`` before any work."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        places = current_app.extensions.setdefault(
            "station_export_places", Places(MAX_EXPORTS, MAX_EXPORTS_PER_USER, EXPORTS_RESERVED, words=EXPORT_WORDS))
        user = current_user().user_id
        refusal = places.enter(user)
        if refusal:
            response = api_error(429, refusal)
            response.headers["Retry-After"] = str(EXPORT_RETRY_S)
            return response
        try:
            return view(*args, **kwargs)
        finally:
            places.leave(user)

    return wrapper
