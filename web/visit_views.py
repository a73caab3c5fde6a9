"""A look at a visit is one audit entry, its traces included (s26 P5).

``GET /api/sessions/<id>/results`` is audited as one ``session.view`` naming the visit's sessions
(:func:`station.protocols.report.session_results`). The visit page then draws each test's trace: it asked
``GET /api/trials/<id>`` and ``/frames`` (or a walk's ``/steps``) for each trace, each a ``trial.view`` or
``trial.frames`` entry, so one look at a visit of four tests wrote nine. Those requests now carry the
visit they are drawn in, ``?in_visit=<the session id whose results the page shows>``, and are part of the
visit's view: no entry of their own when this login session's view of that visit was recorded and the
trial is one of its sessions'.

The parameter opens nothing: a request whose login session has no recorded view of that visit (another
browser, a signed-in user who never opened it, a guessed id), or for a trial of another visit, is
audited as without it. The memory of the views recorded is per login session and bounded (the oldest
forgotten first, which at worst writes a trace's entry again), as :mod:`web.exposure`'s is.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from flask import current_app, request, session

from station.store.db import ValidationError

MAX_REMEMBERED = 4096
_EXTENSION = "station_visit_views"
_create_lock = threading.Lock()


class VisitViews:
    """The visits whose view each login session's results recorded: (login session, session id asked) ->
    the ids of the sessions the view named.

    >>> views = VisitViews()
    >>> views.viewed("token-a", 7, [6, 7])
    >>> views.covers("token-a", 7, 6), views.covers("token-a", 7, 9), views.covers("token-b", 7, 6)
    (True, False, False)
    >>> views.covers("", 7, 6)  # no login session (a bearer token): never
    False
    """

    def __init__(self, max_remembered: int = MAX_REMEMBERED):
        self._seen: OrderedDict[tuple[str, int], frozenset[int]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_remembered

    @staticmethod
    def _key(login_token: str, session_id: int) -> tuple[str, int]:
        return hashlib.sha256(login_token.encode()).hexdigest()[:32], int(session_id)

    def viewed(self, login_token: str, session_id: int, session_ids) -> None:
        """Remember that ``login_token``'s view of the results of ``session_id`` (the visit of ``session_ids``)
        was recorded in the audit log."""
        if not login_token:
            return
        key = self._key(login_token, session_id)
        with self._lock:
            self._seen[key] = frozenset(int(s) for s in session_ids)
            self._seen.move_to_end(key)
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)

    def covers(self, login_token: str, session_id: int, trial_session_id: int) -> bool:
        """Whether ``login_token`` recorded a view of ``session_id``'s results whose visit holds the session
        ``trial_session_id``."""
        if not login_token:
            return False
        with self._lock:
            return int(trial_session_id) in self._seen.get(self._key(login_token, session_id), frozenset())


def _views() -> VisitViews:
    found = current_app.extensions.get(_EXTENSION)
    if found is None:
        with _create_lock:
            found = current_app.extensions.setdefault(_EXTENSION, VisitViews())
    return found


def remember_view(results: dict) -> None:
    """After the results document ``results`` was made (its one ``session.view`` written): this login
    session viewed its visit."""
    _views().viewed(session.get("sid") or "", results["session"]["id"], [s["id"] for s in results["sessions"]])


def in_visit_view(trial: dict) -> bool:
    """Whether this request for ``trial`` is part of a recorded view of the visit its ``?in_visit=`` names (then it
    writes no audit entry of its own); False without the parameter."""
    raw = request.args.get("in_visit")
    if raw is None:
        return False
    if not raw.isdigit() or len(raw) > 18:
        raise ValidationError({"in_visit": "must be the number of the session whose visit results the page shows "
                                        "(e.g. ?in_visit=12), or left out"})
    return _views().covers(session.get("sid") or "", int(raw), trial["session_id"])
