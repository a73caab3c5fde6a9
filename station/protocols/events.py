"""A small publish/subscribe event log for trials: who follows a trial, follows these events.

The trial state machine and the protocol runner publish every state change and everything a
follower may want to show or sound (countdown seconds, progress, lift-off, results). Followers:

* in-process listeners (the station panel, the log): :meth:`EventBus.subscribe`, called
  synchronously in the publisher's thread, in order;
* clients elsewhere (the dashboard in a browser): :meth:`EventBus.since` returns the events after
  a sequence number, so a client that reconnects resumes where it left off; :meth:`EventBus.wait`
  blocks until there are some (for long polling). When a client asks for events the bounded
  history no longer holds, the page says ``missed > 0``: reload the full state, then continue.

Each event has a sequence number (1, 2, 3 ... per bus), the station clock's time ``t_ns`` when it
was published, a ``kind`` and a JSON-serialisable ``data`` dict.

Event kinds (``data`` keys):

``protocol_started``   protocol, title, trials (the planned trials)
``trial_ready``        protocol, condition, label, trial, attempt, repeat (bool), reason (why a repeat),
                       condition_trials (the protocol's trials of that condition: ``trial`` runs
                       1..condition_trials, a repeat is a further attempt of one), score (what counts:
                       ``best``, the condition's best trial, or ``mean``, their mean)
``state``              state, previous, protocol, condition, trial, attempt, message
                       (states: instructions, waiting, countdown, recording, checking, done, aborted)
``countdown``          remaining_s (3, 2, 1 ...): one per second of the countdown
``progress``           elapsed_s, duration_s: once a second while recording
``liftoff``            at_s (single-leg stance: the timer starts)
``hold_ended``         at_s, reason (timed holds: balance lost, the hold is over), held_verdict (how a
                       hold of at_s reads against the cut-offs that apply to the patient, as
                       ``trial_finished``'s result's; from a runner)
``trial_finished``     result (see :class:`station.protocols.machine.TrialResult.to_dict`)
``rest``               rest_s, next (the next planned trial)
``scored_unable``      condition, label, trials, by: single-leg stance, the side's remaining trials
                       scored unable by clinician ``by`` without a measurement (each also a
                       ``trial_finished`` with the issue ``scored_unable``)
``protocol_finished``  summary (see :mod:`station.protocols.results`)
``fault``              message (the station cannot run a trial: plate down, no data)

Limits-of-stability tests (:mod:`station.protocols.lean`) add:

``go``                 direction, direction_words, target_cm {ap_cm, ml_cm}, distance_cm, limit_deg,
                       centre_cm (the start position): the go signal of a lean (recording starts)

Walk tests (:mod:`station.protocols.walk`) add:

``gates``              gates [{gate, position_m, pin, broken, armed, crossed_at_s}], used_m: when armed
                       and on every beam change
``gate_crossed``       gate, position_m, at_s (after the go), breaks, passes, timing
``false_start``        message, position_m (a beam broken before the go; the station waits again)
``cadence``            cadence_steps_min, steps, window_s, at_s, not_measured: every 5 s while recording;
                       not_measured (words, the numbers null) while the lower-back sensor sends
                       nothing or under 2 s of readings follow a dropout (measured after it only)
``notice``             message: to know now while a treadmill session goes on (no data from the
                       station, and again; the lower-back sensor gone for 5 s, and back)

Training games (:mod:`station.protocols.training`) add:

``game_ready``         schedule, title, score_definition (when the game's trial opens)
``game``               the live game state: game, phase, time_s, session_s, centre, score, target
                       (position in the plate frame, cm; radius; reached, inside, held_s ...)
``game_over``          result (score 0-100, per-target measures), minutes
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from station.clock import Clock

log = logging.getLogger(__name__)

DEFAULT_HISTORY = 2000
"""Events kept for clients that resume (a whole mCTSIB publishes a few hundred)."""


@dataclass(frozen=True)
class Event:
    """One published event."""

    seq: int
    t_ns: int
    kind: str
    data: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"seq": self.seq, "t_ns": self.t_ns, "kind": self.kind, "data": self.data}


@dataclass(frozen=True)
class EventPage:
    """Events after a sequence number: ``events`` (oldest first), ``last_seq`` (the newest on the
    bus), and ``missed`` (events the client asked for that are no longer in the history)."""

    events: list[Event]
    last_seq: int
    missed: int

    def to_dict(self) -> dict:
        return {"events": [e.to_dict() for e in self.events], "last_seq": self.last_seq, "missed": self.missed}


Listener = Callable[[Event], None]


class EventBus:
    """Thread-safe event log with listeners.

    Parameters
    ----------
    clock : Clock
        Stamps events (``t_ns``); the same clock the station runs on.
    history : int
        How many recent events :meth:`since` can return.
    """

    def __init__(self, clock: Clock, history: int = DEFAULT_HISTORY) -> None:
        if history < 1:
            raise ValueError(f"history must be at least 1, not {history}")
        self.clock = clock
        self._events: deque[Event] = deque(maxlen=history)
        self._listeners: list[Listener] = []
        self._seq = 0
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._seq

    def publish(self, kind: str, **data) -> Event:
        """Record an event and call every listener with it (in subscription order).

        A listener that raises is logged and skipped: a broken follower never stops a trial.
        """
        with self._lock:
            self._seq += 1
            event = Event(self._seq, int(self.clock.monotonic_ns()), kind, data)
            self._events.append(event)
            listeners = list(self._listeners)
            self._changed.notify_all()
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a follower's bug must not stop the trial
                log.exception("event listener %r failed on %s event %d", listener, kind, event.seq)
        return event

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` for every event from now on; returns a function that unsubscribes."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def since(self, seq: int = 0) -> EventPage:
        """Events with a sequence number above ``seq``, oldest first."""
        with self._lock:
            events = [e for e in self._events if e.seq > seq]
            oldest = self._events[0].seq if self._events else self._seq + 1
            missed = max(0, min(oldest, self._seq + 1) - seq - 1)
            return EventPage(events, self._seq, missed)

    def wait(self, seq: int, timeout_s: float) -> EventPage:
        """Like :meth:`since`, but waits up to ``timeout_s`` (real time: this is for clients that
        long-poll, not for the trial logic) until there is at least one event after ``seq``."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._changed:
            while self._seq <= seq:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            return self.since(seq)


def log_event(event: Event, logger: logging.Logger = log) -> None:
    """A listener that writes each event to the log on one line (for the service's journal);
    bulky documents (results, summaries) are reduced to their headline."""
    data = dict(event.data)
    if "result" in data:
        r = data.pop("result")
        data["valid"] = r.get("valid")
        data["time_held_s"] = r.get("time_held_s")
        data["issues"] = [i.get("code") for i in r.get("issues", [])]
    if "summary" in data:
        data.pop("summary")
    data.pop("instructions", None)
    data.pop("trials", None)
    logger.info("trial event %d %s %s", event.seq, event.kind,
                " ".join(f"{k}={v}" for k, v in data.items()))
