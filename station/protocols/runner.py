"""Running a whole protocol: the planned trials in order, repeats as the protocol's rules say.

A :class:`ProtocolRunner` owns one loop that reads frames from a
:class:`~station.acquire.source.FrameSource` and feeds the current
:class:`~station.protocols.machine.TrialMachine`; everything else talks to it through thread-safe
requests and follows it through its :class:`~station.protocols.events.EventBus`:

* the dashboard (web process): :meth:`request_start`, :meth:`request_stop`,
  :meth:`request_end_hold`, :meth:`request_repeat`, :meth:`request_skip`, :meth:`request_cancel`,
  :meth:`status` on (re)connecting, and ``bus.since(seq)`` / ``bus.wait(seq, timeout_s)`` to follow;
* the station panel (:mod:`station.hw.panel`): :meth:`press` (the start button / foot switch)
  and :meth:`add_tick` (it is driven by the loop's clock for its beeps and blinking);
* the command line (``balance-station trial``): :meth:`run` with ``auto=True``, which confirms
  each trial itself and rests ``rest_s`` between trials on the station clock.

The loop is :meth:`step` (one read of the frame source); :meth:`run` repeats it until the protocol
is finished. Under the simulated station, reading advances simulated time, so a whole protocol
runs in seconds.

Walk tests (``outcome = "walk"``) get a :class:`~station.protocols.walk.WalkMachine` instead of a
:class:`~station.protocols.machine.TrialMachine` (same interface and states), with the walkway's
light gates, the clinician's walk settings and the IMU's mounting given to the runner.

Limits-of-stability tests (``outcome = "limits_of_stability"``) get a
:class:`~station.protocols.lean.LeanMachine` per target, with the patient's height and limits
(:class:`~station.protocols.lean.LosSettings`) given to the runner.

Trial flow: as soon as a trial is due, its machine opens and shows its instructions (state
``instructions``, event ``trial_ready``); *start* confirms, the machine waits for the patient,
counts down, records and checks. After the trial:

* an invalid trial is offered again (``repeat_when`` contains ``invalid``) while its attempts are
  below ``max_attempts``; a single-leg trial in which the patient never lifted a foot is not
  invalid but "unable" (0 s, :attr:`TrialResult.unable`), one of the protocol's trials like any
  other result: it is not offered again (Springer et al. 2007: the best of 3 trials per leg counts,
  so the next trial of the side is the next of those 3); a timed hold not held for the full time likewise when ``repeat_when``
  contains ``not_completed`` (mCTSIB: up to three attempts per condition);
* a trial stopped before recording (operator stop, nobody on the plate) is simply due again;
* single-leg stance, once a trial of the due side was measured unable: the clinician may score the
  side's remaining trials as unable without measuring them (:meth:`request_score_unable`; each is
  stored with the issue ``scored_unable`` naming the clinician, and a ``scored_unable`` event);
* otherwise the next planned trial is due, after ``rest_s`` (shown as a ``rest`` event; the
  command line waits it out, a clinician may start earlier).

Every recorded trial (valid or not) is handed to the :class:`TrialSink` while it records (frames
appended as they come) and when it ends (its result), so nothing measured is lost.
"""

from __future__ import annotations

import functools
import queue
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol as TypingProtocol

import numpy as np

from station.protocols.events import EventBus
from station.protocols.machine import ACTIVE_STATES, TrialMachine, TrialPlan, TrialResult, TrialState
from station.protocols.quality import QualityIssue
from station.protocols.results import held_verdict, summarise, trial_metrics
from station.protocols.schema import Condition, Protocol
from station.protocols.walk_words import WALK_NOT_COMPLETED, walk_not_completed
from station.store.verdict import SCORED_BY_PREFIX


class TrialOutput(TypingProtocol):
    """Where one trial's frames and result go (a file, the database)."""

    def append(self, frames: np.ndarray) -> None: ...

    def finish(self, result: TrialResult) -> dict:
        """Store the result; returns where it went (JSON-serialisable, e.g. ``{"csv": path}``)."""
        ...

    def interrupt(self, reason: str) -> dict:
        """The program stops mid-trial (:meth:`ProtocolRunner.interrupt`, a command-line run's Ctrl-C):
        keep what was recorded, marked incomplete with ``reason``; returns what was kept."""
        ...


class TrialSink(TypingProtocol):
    def start_trial(self, plan: TrialPlan, rate_hz: float, body_weight_n: float, t0_ns: int,
                    start_seq: int | None = None) -> TrialOutput:
        """A trial starts recording; ``t0_ns`` is its start signal on the station clock, ``start_seq``
        its first sample slot (:attr:`TrialMachine.start_seq`: a frame's ``time_s`` is ``(seq -
        start_seq) / rate_hz``), None when the trial has none (a walk, timed on the clock)."""
        ...


@dataclass(frozen=True)
class PlannedTrial:
    """A trial that is due: condition, trial number, attempt, and why it is a repeat (if it is)."""

    condition: Condition
    trial: int
    attempt: int = 1
    reason: str = ""

    def to_dict(self) -> dict:
        return {"condition": self.condition.id, "label": self.condition.label, "trial": self.trial,
                "attempt": self.attempt, "repeat": self.attempt > 1 or bool(self.reason), "reason": self.reason}


@dataclass
class TrialRecord:
    """A finished trial: its result and where it was stored."""

    result: TrialResult
    stored: dict


def plan_trials(protocol: Protocol, seed: int | None = None) -> list[PlannedTrial]:
    """The protocol's trials in order (``as_listed``, ``alternating``, or ``random``: shuffled
    with ``seed``, or unpredictably without one), before any repeat."""
    if protocol.order == "random":
        planned = [PlannedTrial(c, t) for c in protocol.conditions for t in range(1, protocol.trials_per_condition + 1)]
        random.Random(seed).shuffle(planned)
        return planned
    if protocol.order == "alternating":
        return [PlannedTrial(c, t) for t in range(1, protocol.trials_per_condition + 1) for c in protocol.conditions]
    return [PlannedTrial(c, t) for c in protocol.conditions for t in range(1, protocol.trials_per_condition + 1)]


class RunnerError(RuntimeError):
    """The protocol cannot go on (the plate is down, nobody stood on it); the message says why."""


class ProtocolRunner:
    """Runs ``protocol`` on ``source``.

    Parameters
    ----------
    protocol : Protocol
    source : FrameSource
        Frames and health; its ``clock`` times rests and stamps events.
    bus : EventBus, optional
        Where events go (a new one on the source's clock by default).
    sink : TrialSink, optional
        Stores each recorded trial (frames while recording, then the result).
    body_weight_n : float, optional
        The patient's body weight, N, if known; otherwise measured on the first trial and used
        for the following ones.
    patient_age_y : float, optional
        For the norms in the summary, and the populations of its cut-offs.
    patient_conditions : sequence of str
        The patient's condition tags (``stroke:left``), for the populations of the summary's
        cut-offs (a cut-off set in older adults without a neurological diagnosis is not read
        for a patient after stroke).
    analyse : callable
        Sway metrics of a trial's analysed frames (:func:`station.protocols.results.trial_metrics`).
    read_wait_s : float
        Longest wait for frames in one :meth:`step`, s.
    gates : station.hw.gates.GateArray, optional
        The walkway's light gates (walk tests overground).
    walk_settings : station.protocols.walk.WalkSettings, optional
        What the clinician entered for a walk (belt speed, planned minutes, sensor height).
    mounting : (str, str), optional
        The IMU's up and toes axes as worn (default :data:`station.protocols.walk.DEFAULT_MOUNTING`).
    los : station.protocols.lean.LosSettings, optional
        Limits-of-stability tests: the patient's height and the limits (required for them).
    order_seed : int, optional
        Seed of a random trial order (``order = "random"``); None: unpredictable.
    training_schedule : station.analysis.biofeedback.Schedule, optional
        Training games (``outcome = "training"``): the game to play
        (:class:`station.protocols.training.GameMachine`).
    """

    def __init__(self, protocol: Protocol, source, *, bus: EventBus | None = None, sink: TrialSink | None = None,
                 body_weight_n: float | None = None, patient_age_y: float | None = None,
                 analyse: Callable = trial_metrics, read_wait_s: float = 0.05, gates=None, walk_settings=None,
                 mounting: tuple[str, str] | None = None, training_schedule=None, los=None,
                 order_seed: int | None = None, patient_conditions: tuple[str, ...] = ()) -> None:
        if protocol.outcome == "limits_of_stability" and los is None:
            raise ValueError("a limits-of-stability test needs the patient's height (los=LosSettings(...))")
        self.los = los
        self.protocol = protocol
        self.training_schedule = training_schedule
        self.source = source
        self.clock = source.clock
        self.bus = bus or EventBus(self.clock)
        self.sink = sink
        self.body_weight_n = body_weight_n
        self.patient_age_y = patient_age_y
        self.patient_conditions = tuple(patient_conditions)
        self._analyse = analyse
        self.read_wait_s = read_wait_s
        self.gates = gates
        self.walk_settings = walk_settings
        self.mounting = mounting
        self.records: list[TrialRecord] = []
        self.machine: TrialMachine | None = None
        self.finished = False
        self.stopped_reason = ""
        self.summary: dict | None = None
        self._due: list[PlannedTrial] = plan_trials(protocol, order_seed)
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._output: TrialOutput | None = None
        self._rest_until_ns = 0
        self._ticks: list[Callable[[int], None]] = []
        self._started = False
        self._cannot_start = ""

    # -- requests (any thread) -----------------------------------------------------------------
    def request_start(self) -> None:
        """Start the trial that is due (its instructions have been given)."""
        self._commands.put("start")

    def request_stop(self, shutdown: bool = False) -> None:
        """Stop the running trial (invalid if it was recording; due again if not). ``shutdown``:
        the station is shutting down (its words say so, not the operator)."""
        self._commands.put(("stop", True) if shutdown else "stop")

    def request_end_hold(self) -> None:
        """Timed holds: the patient lost the test position (eyes opened, arms moved); end the hold now."""
        self._commands.put("end_hold")

    def request_repeat(self) -> None:
        """Offer the last finished trial again (as a further attempt), before what is due."""
        self._commands.put("repeat")

    def request_skip(self) -> None:
        """Drop the trial that is due (e.g. a repeat the clinician does not want)."""
        self._commands.put("skip")

    def request_cancel(self) -> None:
        """End the whole protocol now (a recording trial is stopped, stored as invalid)."""
        self._commands.put("cancel")

    def request_score_unable(self, by: str) -> None:
        """Single-leg stance: the patient cannot stand on one leg. Score the due side's remaining
        trials as unable (0 s) without measuring them, as clinician ``by`` (a user name) decided;
        only when :meth:`score_unable_offer` offers it (else nothing happens)."""
        self._commands.put(("score_unable", by))

    def press(self) -> None:
        """The panel's button: start the trial that is due, or stop the one that is running."""
        self._commands.put("press")

    def add_tick(self, hook: Callable[[int], None]) -> None:
        """Call ``hook(now_ns)`` on every loop step (the panel's beeps and blinking)."""
        self._ticks.append(hook)

    # -- state ---------------------------------------------------------------------------------
    @property
    def due(self) -> list[PlannedTrial]:
        return list(self._due)

    def status(self) -> dict:
        """Where the protocol is (JSON-serialisable), for a client that (re)connects."""
        m = self.machine
        return {
            "protocol": self.protocol.name,
            "finished": self.finished,
            "stopped_reason": self.stopped_reason,
            "state": m.state.value if m and m.state else None,
            "trial": m.plan.describe() if m else None,
            "due": [p.to_dict() for p in self._due],
            "done": [{**r.result.to_dict(), **self.verdict(r.result)} for r in self.records],
            "score_unable": self.score_unable_offer(),
            "last_seq": self.bus.last_seq,
        }

    def verdict(self, result: TrialResult) -> dict:
        """What a finished trial means for the patient, said with ``trial_finished`` and in :meth:`status`'s ``done``:
        a walk test's ``{"walk_not_completed": bool}`` (the patient did not get to the stop gate: the visit results'
        reading, :func:`station.protocols.walk_words.walk_not_completed`, so that the live page says it in the same
        words rather than "invalid"), else :meth:`held_verdict`'s."""
        if self.protocol.outcome == "walk":
            return {"walk_not_completed": walk_not_completed(result.valid, result.issues)}
        return self.held_verdict(result)

    def held_verdict(self, result: TrialResult) -> dict:
        """For a valid hold that ended before the trial's length, ``{"held_verdict": ...}``: how it reads against
        the time held's cut-offs that apply to this patient, as the visit results read it
        (:func:`station.protocols.results.held_verdict`); ``{}`` for any other trial. Said with ``trial_finished``
        and in :meth:`status`'s ``done``, so that the live page colours the hold by it."""
        if not result.valid or result.completed or result.time_held_s is None:
            return {}
        return self.hold_verdict(result.plan.condition.id, float(result.time_held_s))

    def hold_verdict(self, condition_id: str, held_s: float) -> dict:
        """``{"held_verdict": ...}`` of a hold of ``held_s`` on ``condition_id`` (:meth:`held_verdict`'s reading), said
        with ``hold_ended`` the moment balance is lost: the live page's "Balance lost at 8.4 s." was amber for every
        hold, 8.4 s of a 75-year-old (above Vellas's 5 s) too."""
        return {"held_verdict": held_verdict(self.protocol, condition_id, held_s, self.patient_age_y,
                                             self.patient_conditions)}

    def score_unable_offer(self) -> dict | None:
        """What scoring the due side as unable would score (``condition``, ``label``, ``trials``:
        how many remaining trials of it), or None when it is not offered: the due trial is not a
        single-leg stance waiting to start, or no trial of its side was measured unable yet (the
        patient is tried once on each side before the rest is scored)."""
        m = self.machine
        due = list(self._due)
        if self.finished or m is None or m.state != TrialState.INSTRUCTIONS or not due:
            return None
        condition = due[0].condition
        if self.protocol.outcome != "time_held" or not condition.single_leg:
            return None
        if not any(r.result.unable and r.result.plan.condition.id == condition.id for r in list(self.records)):
            return None
        return {"condition": condition.id, "label": condition.label,
                "trials": sum(1 for p in due if p.condition.id == condition.id)}

    # -- the loop ------------------------------------------------------------------------------
    def begin(self) -> None:
        """Announce the protocol and open its first trial."""
        if self._started:
            return
        self._started = True
        self.bus.publish("protocol_started", protocol=self.protocol.name, title=self.protocol.title,
                         trials=[p.to_dict() for p in self._due])
        self._open_next()

    def step(self, max_wait_s: float | None = None) -> None:
        """One loop iteration: handle requests, read frames, advance the trial, tick the hooks."""
        if not self._started:
            self.begin()
        self._handle_commands()
        block = self.source.read_frames(self.read_wait_s if max_wait_s is None else max_wait_s)
        now_ns = int(self.clock.monotonic_ns())
        m = self.machine
        if m is not None and m.state in ACTIVE_STATES:
            m.feed(block.frames, block.missed, now_ns)
            self._stream(m)
            if m.finished:
                self._trial_ended(m, now_ns)
        for hook in self._ticks:
            hook(now_ns)

    def run(self, *, auto: bool = True, max_s: float | None = None) -> dict:
        """Step until the protocol is finished; returns the summary.

        ``auto``: confirm every trial as soon as it is due (after its rest) and stop the whole
        run when a trial cannot start (nobody on the plate, plate down); without it (the
        dashboard's loop thread) trials start on :meth:`request_start` / :meth:`press` and the
        run ends when the protocol is done or :meth:`request_cancel` is called. ``max_s``: give
        up after this much station-clock time (raises :class:`RunnerError`).
        """
        self.begin()
        deadline = None if max_s is None else self.clock.monotonic_ns() + int(max_s * 1e9)
        while not self.finished:
            m = self.machine
            if auto and m is not None and m.state == TrialState.INSTRUCTIONS and self.clock.monotonic_ns() >= self._rest_until_ns:
                self.request_start()
            self.step()
            if deadline is not None and self.clock.monotonic_ns() > deadline:
                raise RunnerError(f"the protocol did not finish within {max_s:g} s")
            if auto and self._cannot_start:
                # Unattended, nobody can fix what stopped the trial: end the run and say why.
                self._finish(stopped=self._cannot_start)
        return self.summary

    # -- internals -----------------------------------------------------------------------------
    def _handle_commands(self) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            self._command(command)

    def _command(self, command: str | tuple) -> None:
        argument = None
        if isinstance(command, tuple):
            command, argument = command
        m = self.machine
        now_ns = int(self.clock.monotonic_ns())
        state = m.state if m is not None else None
        if command == "press":
            command = "start" if state == TrialState.INSTRUCTIONS else "stop" if state in ACTIVE_STATES else "none"
        if command == "start" and state == TrialState.INSTRUCTIONS:
            health = self.source.health()
            if health.get("state") == "down":
                # the reason says what is down (the plate, its measuring program: station.acquire's words)
                reason = health.get("reason") or "its measuring program is not running"
                self._cannot_start = f"The station cannot measure now ({reason}); the trial cannot start."
                self.bus.publish("fault", message=self._cannot_start)
                return
            self._cannot_start = ""
            m.confirm(now_ns)
            if m.finished:  # could not start at all (a walk test without its gates)
                self._trial_ended(m, now_ns)
        elif command == "stop" and state in ACTIVE_STATES:
            m.stop(now_ns, shutdown=bool(argument))
            self._stream(m)
            self._trial_ended(m, now_ns)
        elif command == "end_hold" and state == TrialState.RECORDING and self.protocol.outcome == "time_held":
            m.end_hold(now_ns)
            self._stream(m)
            self._trial_ended(m, now_ns)
        elif command == "repeat" and state in (TrialState.INSTRUCTIONS, None) and self.records:
            last = self.records[-1].result.plan
            self._due.insert(0, PlannedTrial(last.condition, last.trial, last.attempt + 1, "repeated at the clinician's request"))
            self.finished = False
            self._open_next()
        elif command == "cancel" and not self.finished:
            if state in ACTIVE_STATES:
                m.stop(now_ns)
                self._stream(m)
                if m.state == TrialState.DONE:
                    self._trial_ended(m, now_ns, go_on=False)
            self._finish(stopped="Cancelled by the clinician.")
        elif command == "skip" and state == TrialState.INSTRUCTIONS and self._due:
            self._due.pop(0)
            self._open_next()
        elif command == "score_unable" and self.score_unable_offer() is not None:
            self._score_unable(str(argument), now_ns)

    def _score_unable(self, by: str, now_ns: int) -> None:
        """Store the due side's remaining trials as unable, scored by ``by`` (not measured)."""
        condition = self._due[0].condition
        scored = [p for p in self._due if p.condition.id == condition.id]
        self._due = [p for p in self._due if p.condition.id != condition.id]
        self.machine = None
        for planned in scored:
            plan = TrialPlan(self.protocol, planned.condition, planned.trial, planned.attempt)
            issue = QualityIssue("scored_unable", f"{SCORED_BY_PREFIX}{by}), not measured: "
                                 "the patient cannot stand on one leg.", None)
            result = TrialResult(plan=plan, valid=False, end_reason="invalid", issues=[issue], start_ns=now_ns,
                                 metrics_note="No sway measures: scored unable by the clinician, not measured.")
            stored = {}
            if self.sink is not None:
                weight = self.body_weight_n if self.body_weight_n is not None else float("nan")
                stored = self.sink.start_trial(plan, self.source.rate_hz, weight, now_ns).finish(result)
            self.records.append(TrialRecord(result, stored))
            self.bus.publish("trial_finished", result=result.to_dict(), **plan.describe())
        self.bus.publish("scored_unable", condition=condition.id, label=condition.label, trials=len(scored), by=by)
        self._open_next()

    def interrupt(self, reason: str) -> dict | None:
        """The program is being stopped (Ctrl-C) while a trial records: its sink keeps what was
        recorded, marked incomplete with ``reason`` (a trial file's sidecar ``status: "partial"``, a
        database trial aborted); returns what the output kept (``{"csv", "json", "samples"}``,
        ``{"trial_id"}``), or None when no trial had an open output."""
        m = self.machine
        if m is not None and m.state == TrialState.RECORDING:
            self._stream(m)  # the frames recorded since the last block was streamed
        output, self._output = self._output, None
        return None if output is None else output.interrupt(reason)

    def _stream(self, m: TrialMachine) -> None:
        if self.sink is None or m.state == TrialState.ABORTED:
            return
        if self._output is None and (len(m.recorded) or m.state == TrialState.DONE):
            self._output = self.sink.start_trial(m.plan, self.source.rate_hz, m.body_weight_n, m.start_ns, m.start_seq)
        if self._output is not None:
            frames = m.drain()
            if len(frames):
                self._output.append(frames)

    def _trial_ended(self, m: TrialMachine, now_ns: int, go_on: bool = True) -> None:
        """Store the finished trial; then (``go_on``) offer a repeat or open the next trial."""
        if not m.finished:
            return
        if m.state == TrialState.ABORTED:
            # Nothing was recorded: the same trial is due again.
            self._cannot_start = m.abort_reason
            self.machine = None
            self._open_next(reason=m.abort_reason)
            return
        result = m.result
        self._stream(m)  # a trial that recorded nothing (no data) is still stored, labelled
        stored = self._output.finish(result) if self._output is not None else {}
        self._output = None
        self.records.append(TrialRecord(result, stored))
        if self.body_weight_n is None and result.valid and np.isfinite(result.body_weight_n):
            self.body_weight_n = float(result.body_weight_n)
        self._due.pop(0)
        if not go_on:
            self.machine = None
            return
        repeat = self._repeat_for(result)
        if repeat is not None:
            self._due.insert(0, repeat)
        self.machine = None
        if not self._due:
            self._finish()
            return
        rest_s = self.protocol.rest_s
        self._rest_until_ns = now_ns + int(rest_s * 1e9)
        if rest_s > 0:
            self.bus.publish("rest", rest_s=rest_s, next=self._due[0].to_dict())
        self._open_next()

    def _repeat_for(self, result: TrialResult) -> PlannedTrial | None:
        p = self.protocol
        plan = result.plan
        if plan.attempt >= p.max_attempts or result.unable:  # unable: a result, the next trial is the next attempt
            return None
        if not result.valid and "invalid" in p.repeat_when:
            # a walk the patient did not finish is said as the results say it, not as a recording's fault
            unfinished = self.verdict(result).get("walk_not_completed")
            reason = (f"previous attempt {WALK_NOT_COMPLETED if unfinished else 'invalid'}: "
                      + " ".join(i.message for i in result.issues))
        elif result.valid and not result.completed and "not_completed" in p.repeat_when:
            reason = f"previous attempt held {result.time_held_s or 0:.1f} s of {plan.duration_s:g} s"
        else:
            return None
        return PlannedTrial(plan.condition, plan.trial, plan.attempt + 1, reason)

    def _open_next(self, reason: str = "") -> None:
        if not self._due:
            self._finish()
            return
        nxt = self._due[0]
        plan = TrialPlan(self.protocol, nxt.condition, nxt.trial, nxt.attempt)
        if self.protocol.outcome == "walk":
            from station.protocols.walk import DEFAULT_MOUNTING, WalkMachine

            self.machine = WalkMachine(plan, rate_hz=self.source.rate_hz, bus=self.bus, gates=self.gates,
                                       settings=self.walk_settings, mounting=self.mounting or DEFAULT_MOUNTING,
                                       verdict=self.verdict)
        elif self.protocol.outcome == "limits_of_stability":
            from station.protocols.lean import LeanMachine

            self.machine = LeanMachine(plan, rate_hz=self.source.rate_hz, bus=self.bus, los=self.los,
                                       body_weight_n=self.body_weight_n)
        elif self.protocol.outcome == "training":
            from station.protocols.training import GameMachine

            if self.training_schedule is None:
                raise RunnerError("a training game needs its schedule (the game and level chosen for the patient)")
            self.machine = GameMachine(plan, rate_hz=self.source.rate_hz, bus=self.bus, schedule=self.training_schedule,
                                       body_weight_n=self.body_weight_n)
        else:
            analyse = self._analyse
            if analyse is trial_metrics and self.mounting is not None:  # trunk sway with the IMU as worn
                analyse = functools.partial(trial_metrics, mounting=self.mounting)
            self.machine = TrialMachine(plan, rate_hz=self.source.rate_hz, bus=self.bus, analyse=analyse,
                                        body_weight_n=self.body_weight_n, verdict=self.verdict,
                                        hold_verdict=functools.partial(self.hold_verdict, plan.condition.id))
        info = nxt.to_dict()
        if reason:
            info["reason"] = reason
        # how many trials of this condition the protocol has and how they count ("trial 2 of 3, best counts")
        self.bus.publish("trial_ready", protocol=self.protocol.name, condition_trials=self.protocol.trials_per_condition,
                         score=self.protocol.score, **info)
        self.machine.open(int(self.clock.monotonic_ns()))

    def _finish(self, stopped: str = "") -> None:
        if self.finished:
            return
        self.finished = True
        self.stopped_reason = stopped
        self.machine = None
        self.summary = summarise(self.protocol, [r.result for r in self.records], age_y=self.patient_age_y,
                                 patient_conditions=self.patient_conditions)
        self.summary["stopped_reason"] = stopped
        self.summary["trials"] = [{**r.result.to_dict(), "stored": r.stored} for r in self.records]
        self.bus.publish("protocol_finished", summary=self.summary)
