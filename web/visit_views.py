"""A look at a visit is one audit entry, its traces included (s26 P5).

``GET /api/sessions/<id>/results`` is audited as one ``session.view`` naming the visit's sessions
(:func:`station.protocols.report.session_results`). The visit page then draws each test's trace: it asked
``GET /api/trials/<id>`` and ``/frames`` (or a walk's ``/steps``) for each trace, each a ``trial.view`` or
``trial.frames`` entry, so one look at a visit of four tests wrote nine. Those requests now carry the
visit they are drawn in, ``?in_visit=<the session id whose results the page shows>``, and are part of the
visit's view: no entry of their own when this login session's view of that visit was recorded and the
trial is one of those its results listed.

The parameter opens nothing: a request whose login session has no recorded view of that visit (another
browser, a signed-in user who never opened it, a guessed id), for a trial of another visit, or for a trial
recorded in one of the visit's sessions after its view (which that view never showed: s26 X5), is audited
as without it. The memory of the views recorded is per login session and bounded (the oldest
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
    the ids of the trials the view listed.

    >>> views = VisitViews()
    >>> views.viewed("token-a", 7, [31, 32])
    >>> views.covers("token-a", 7, 31), views.covers("token-a", 7, 33), views.covers("token-b", 7, 31)
    (True, False, False)
    >>> views.covers("", 7, 31)  # no login session (a bearer token): never
    False
    """

    def __init__(self, max_remembered: int = MAX_REMEMBERED):
        self._seen: OrderedDict[tuple[str, int], frozenset[int]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_remembered

    @staticmethod
    def _key(login_token: str, session_id: int) -> tuple[str, int]:
        return hashlib.sha256(login_token.encode()).hexdigest()[:32], int(session_id)

    def viewed(self, login_token: str, session_id: int, trial_ids) -> None:
        """Remember that ``login_token``'s view of the results of ``session_id``, which listed the trials
        ``trial_ids``, was recorded in the audit log."""
        if not login_token:
            return
        key = self._key(login_token, session_id)
        with self._lock:
            self._seen[key] = frozenset(int(t) for t in trial_ids)
            self._seen.move_to_end(key)
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)

    def covers(self, login_token: str, session_id: int, trial_id: int) -> bool:
        """Whether ``login_token`` recorded a view of ``session_id``'s results that listed the trial ``trial_id``
        (not one recorded since in a session of that visit: the view never showed it)."""
        if not login_token:
            return False
        with self._lock:
            return int(trial_id) in self._seen.get(self._key(login_token, session_id), frozenset())


def listed_trials(results: dict) -> set[int]:
    """The ids of the trials a results document (:func:`station.protocols.report.session_results`) lists: each
    section's trial lines (its conditions' and its ``other_trials``) and the trials of protocols this station no
    longer has. A trial listed nowhere is not part of the view: its trace is audited as without it.

    >>> sorted(listed_trials({"protocols": [{"conditions": [{"trials": [{"id": 4}, {"id": 5}]}, {"trials": []}],
    ...                                      "other_trials": [{"id": 6}]}],
    ...                       "unknown_protocol_trials": [{"id": 9}]}))
    [4, 5, 6, 9]
    """
    ids = {int(line["id"]) for line in results.get("unknown_protocol_trials") or ()}
    for section in results.get("protocols") or ():
        ids.update(int(line["id"]) for line in section.get("other_trials") or ())
        for condition in section.get("conditions") or ():
            ids.update(int(line["id"]) for line in condition.get("trials") or ())
    return ids


def _views() -> VisitViews:
    found = current_app.extensions.get(_EXTENSION)
    if found is None:
        with _create_lock:
            found = current_app.extensions.setdefault(_EXTENSION, VisitViews())
    return found


def remember_view(results: dict) -> None:
    """After the results document ``results`` was made (its one ``session.view`` written): this login
    session viewed its visit."""
    _views().viewed(session.get("sid") or "", results["session"]["id"], listed_trials(results))


def in_visit_view(trial: dict) -> bool:
    """Whether this request for ``trial`` is part of a recorded view of the visit its ``?in_visit=`` names (then it
    writes no audit entry of its own); False without the parameter."""
    raw = request.args.get("in_visit")
    if raw is None:
        return False
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:  # ('²' is a digit to isdigit, not to int: a 500)
        raise ValidationError({"in_visit": "must be the number of the session whose visit results the page shows "
                                        "(e.g. ?in_visit=12), or left out"})
    return _views().covers(session.get("sid") or "", int(raw), trial["id"])
