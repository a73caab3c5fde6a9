"""Auditing the patient shown by the station's status and live stream (issue 14, finding 5).

``GET /api/station`` and the live stream (``GET /api/live``) carry the open protocol run's patient
(identifier, age, results as they come); ``GET /api/station`` also lists the trials a crash
interrupted, with their patients' identifiers. They are polled or streamed many times a minute, so an
entry per request would drown the audit log; instead the first time each login session is shown a
given patient through a given channel, one entry is written (``station.view`` or ``live.view``,
with the patient's number and the session). Later polls by the same login session of the same
patient add nothing. The memory of what was recorded is bounded (the oldest are forgotten first,
which at worst writes an entry again).

The pages whose heading names the patient before their script asks the API (a visit's results,
``session.view``; a programme, ``programme.view``) are audited the same way, once per login session
and patient: a signed-in user walking ``/sessions/1``, ``/sessions/2``, ... read every patient's
identifier without an entry (X1 finding F4, session 25).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from station.store.audit import Actor

MAX_REMEMBERED = 4096


class ExposureAudit:
    """Writes one audit entry per (login session, channel, patient)."""

    def __init__(self, audit, max_remembered: int = MAX_REMEMBERED):
        self._audit = audit
        self._seen: OrderedDict[tuple[str, str, int], None] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_remembered

    def shown(self, login_token: str, action: str, status: dict | None, who: Actor) -> None:
        """Record that ``who`` (signed in with ``login_token``) was shown the run in the trial
        service's ``status`` (nothing if no run is open)."""
        run = (status or {}).get("run") if isinstance(status, dict) else None
        if not run or run.get("patient_id") is None:
            return
        self._once(login_token, action, int(run["patient_id"]), f"session:{run.get('session_id')}", who)

    def shown_trials(self, login_token: str, action: str, trials: list[dict], who: Actor) -> None:
        """Record that ``who`` was shown these trials' patients (``patient_id``, ``trial_id``), such as
        the trials a crash interrupted that ``/api/station`` lists: one entry per patient."""
        for trial in trials:
            self._once(login_token, action, int(trial["patient_id"]), f"trial:{trial['trial_id']}", who)

    def shown_page(self, login_token: str, action: str, patient_id: int, audit_object: str, who: Actor) -> None:
        """Record that ``who`` was shown a page naming the patient ``patient_id`` (its heading holds
        their identifier, e.g. a visit's results or a programme): once per login session and patient."""
        self._once(login_token, action, int(patient_id), audit_object, who)

    def _once(self, login_token: str, action: str, patient_id: int, audit_object: str, who: Actor) -> None:
        key = (hashlib.sha256(login_token.encode()).hexdigest()[:32], action, patient_id)
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return
        # written before remembering: if the audit cannot be written (a full disk), the caller
        # fails and the patient is not shown
        self._audit.record(who, action, patient_id=patient_id, object=audit_object)
        with self._lock:
            self._seen[key] = None
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)
