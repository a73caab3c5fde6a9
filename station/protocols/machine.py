"""The trial state machine: instructions, waiting for the patient, countdown, recording, checks.

::

    instructions --confirm--> waiting --stable load 2 s--> countdown --3, 2, 1--> recording
         |                       ^                            |                      |
         +--------stop-----------+----- patient moved --------+        duration, balance lost,
         v                                                    v        fault, stop, no data
      aborted  <---------------------- stop -----------------+                      v
                                                                   checking --> done (result)

One :class:`TrialMachine` runs one trial. It is fed frames (:meth:`TrialMachine.feed`) by
whoever reads the :class:`~station.acquire.source.FrameSource` (the protocol runner). There is no
wall clock and no sleeping here: under the simulated clock a 30 s trial runs as fast as the frames
can be made.

Two kinds of time (DESIGN.md §3, time base):

* **Grid time**, a frame's place on the sample grid, ``seq × period``: everything that counts time
  inside the measurement: the 2 s of steady load that start the countdown, the countdown, the
  trial's start and the end of its planned duration (from the start or, in single-leg stance, from
  lift-off), the lift-off time-out, the settling time after a step or a fall, and every time in the
  result (times held, ``at_s``, ``recorded_s``). So a 30-s trial at 100 Hz spans exactly 3000 sample
  slots (frames recorded + frames lost) however late the loop woke for the frames at its edges, and
  its times are those of its trial CSV's ``time_s``.
* **Wake time** (the frames' ``t_ns``, the clock time passed to ``feed``): the waits that are about
  the clinic's time, not the recording's: how long nobody stood still on the plate
  (``waiting_timeout_s``) and how long no frame came (``no_frames_timeout_s``: the plate or the loop
  silent in real time, which no frame's ``seq`` can tell).

Every state change and everything worth showing or sounding is published on the
:class:`~station.protocols.events.EventBus` (see that module for the event kinds).

What losing balance means depends on the protocol's outcome:

* ``sway`` and ``weight_bearing``: the trial needs the full duration of steady stance, so a step,
  stepping off, unloading or a hop makes it **invalid** (kept and labelled, offered again).
* ``time_held``: losing balance is the measurement. The hold ends, its time is the result
  (``time_held_s``), and the trial stays valid. In single-leg stance the timer runs from lift-off
  (the centre of pressure moves under the stance foot) to touch-down of the other foot.

Sensor faults, lost frames, too little load, no data and an operator stop (or the station shut down
while it records) make any trial invalid.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np

from station.acquire.frame import FRAME_DTYPE, FrameFlag
from station.protocols.events import EventBus
from station.protocols.quality import (
    LoadEvent,
    QualityIssue,
    QualitySettings,
    check_recording,
    find_cop_step,
    find_liftoff,
    find_load_event,
    find_sensor_fault,
    find_touchdown,
    load_event_issue,
    refine_liftoff,
    stance_direction,
    stance_shift,
)
from station.protocols.schema import Condition, Protocol
from station.store.verdict import UNABLE_CODES  # one list for the engine and every reader of a stored trial

SETTLE_S = 0.6
"""After a step or a fall is confirmed, record this much longer before stopping, s (so that the
stored trial shows what happened, and a step or an unloading that turns into stepping off is
named so)."""

_FAULT_FLAGS = int(
    FrameFlag.FAULT_FL | FrameFlag.FAULT_FR | FrameFlag.FAULT_BL | FrameFlag.FAULT_BR
    | FrameFlag.SATURATED | FrameFlag.INVALID
)


class TrialState(str, Enum):
    INSTRUCTIONS = "instructions"
    WAITING = "waiting"
    COUNTDOWN = "countdown"
    RECORDING = "recording"
    CHECKING = "checking"
    DONE = "done"
    ABORTED = "aborted"


ACTIVE_STATES = (TrialState.WAITING, TrialState.COUNTDOWN, TrialState.RECORDING)


@dataclass(frozen=True)
class TrialPlan:
    """Which trial to run: a condition of a protocol, its trial number and attempt (1-based)."""

    protocol: Protocol
    condition: Condition
    trial: int = 1
    attempt: int = 1

    @property
    def duration_s(self) -> float:
        return self.condition.duration_s

    def describe(self) -> dict:
        return {"protocol": self.protocol.name, "condition": self.condition.id, "label": self.condition.label,
                "trial": self.trial, "attempt": self.attempt}


@dataclass
class TrialResult:
    """What one trial gave. Times in s from the start signal (the long beep) unless named ``_ns``."""

    plan: TrialPlan
    valid: bool
    end_reason: str
    """``duration`` (ran its full time), ``balance_lost`` (timed hold ended), ``operator_ended``
    (the clinician ended a timed hold: eyes opened, arms moved ...), ``invalid`` (a quality
    problem stopped or spoiled it), ``data_lost`` (a walk test ended by the station's data lost for
    good, or a treadmill session by its lower-back sensor gone for good, keeping what was measured
    before: :mod:`station.protocols.walk`)."""
    issues: list[QualityIssue] = field(default_factory=list)
    hold_end: QualityIssue | None = None
    """Timed holds: what ended the hold (balance lost), in words."""
    warnings: list[str] = field(default_factory=list)
    completed: bool = False
    """Sway: recorded for the full duration. Timed hold: held for the full duration."""
    time_held_s: float | None = None
    liftoff_s: float | None = None
    body_weight_n: float = float("nan")
    start_ns: int = 0
    recorded_s: float = 0.0
    samples: int = 0
    lost_frames: int = 0
    analysis_start_s: float | None = None
    analysis_end_s: float | None = None
    metrics: dict | None = None
    """Sway metrics of the analysed part (``compute_metrics`` document), or None."""
    metrics_note: str = ""
    """Why there are no metrics, when there are none."""
    walk: dict | None = None
    """Walk tests: timing by the gates and the gait (see :mod:`station.protocols.walk`)."""
    training: dict | None = None
    """Training games: schedule, result (score, per target), minutes (see :mod:`station.protocols.training`)."""

    @property
    def unable(self) -> bool:
        """The patient could not take the position (:data:`UNABLE_CODES`): a result (0 s), not a
        recording to repeat."""
        return not self.valid and bool(self.issues) and all(i.code in UNABLE_CODES for i in self.issues)

    def scored(self) -> "TrialResult":
        """This trial as the results count it: an :attr:`unable` trial is a valid result of 0 s held
        (not completed, no issues; as the results page reads it from the store,
        :func:`station.protocols.report.stored_result`); any other trial as it is."""
        if not self.unable:
            return self
        return replace(self, valid=True, issues=[], time_held_s=0.0, completed=False)

    def to_dict(self) -> dict:
        return {
            **self.plan.describe(),
            "valid": self.valid,
            "end_reason": self.end_reason,
            "issues": [i.to_dict() for i in self.issues],
            "hold_end": self.hold_end.to_dict() if self.hold_end else None,
            "warnings": list(self.warnings),
            "completed": self.completed,
            "duration_s": self.plan.duration_s,
            "time_held_s": self.time_held_s,
            "liftoff_s": self.liftoff_s,
            "body_weight_n": None if math.isnan(self.body_weight_n) else round(self.body_weight_n, 2),
            "recorded_s": self.recorded_s,
            "samples": self.samples,
            "lost_frames": self.lost_frames,
            "analysis_start_s": self.analysis_start_s,
            "analysis_end_s": self.analysis_end_s,
            "metrics": self.metrics,
            "metrics_note": self.metrics_note,
            "walk": self.walk,
            "training": self.training,
        }


Analyse = Callable[[np.ndarray, float], dict]
"""``analyse(frames, rate_hz) -> compute_metrics document`` for the analysed part of a trial."""


class TrialMachine:
    """Runs one trial.

    Parameters
    ----------
    plan : TrialPlan
    rate_hz : float
        Frame rate of the source, Hz.
    bus : EventBus
        Where state changes and the rest are published.
    analyse : callable
        Computes the sway metrics of the analysed frames (see :data:`Analyse`).
    body_weight_n : float, optional
        The patient's body weight in N, when known: the stance must be stable within
        ``body_weight_tolerance_fraction`` of it. Otherwise any stable load of at least
        ``min_body_weight_n`` is taken as the patient and its mean as the body weight.
    verdict : callable, optional
        What a finished trial's result means for the patient (the runner's), said with ``trial_finished``.
    hold_verdict : callable, optional
        What a hold of so many seconds means for the patient (the runner's ``{"held_verdict": ...}``), said with
        ``hold_ended`` the moment balance is lost, so that the live page colours that line as the result's.
    """

    def __init__(self, plan: TrialPlan, *, rate_hz: float, bus: EventBus, analyse: Analyse,
                 body_weight_n: float | None = None, verdict: Callable[[TrialResult], dict] | None = None,
                 hold_verdict: Callable[[float], dict] | None = None) -> None:
        if not rate_hz > 0:
            raise ValueError(f"rate_hz must be positive, not {rate_hz!r}")
        self.plan = plan
        self.rate_hz = float(rate_hz)
        self.bus = bus
        self.settings: QualitySettings = plan.protocol.quality
        self._analyse = analyse
        self._verdict = verdict  # what the result means for the patient, said with trial_finished (the runner's)
        self._hold_verdict = hold_verdict  # and a hold's time, said with hold_ended
        self.known_body_weight_n = body_weight_n
        self.body_weight_n = float("nan")
        self.state: TrialState | None = None
        self.result: TrialResult | None = None
        self.abort_reason = ""
        self._now_ns = 0
        # Grid time (see the module docstring): a frame's place on the sample grid is seq × period,
        # in ns relative to seq 0 (g below); the grid's origin on the clock is only needed to say
        # when the trial started (start_ns): the least t_ns − g of the frames seen, as the loop
        # wakes at its deadline or later.
        self._period_ns = round(1e9 / self.rate_hz)  # as the acquisition loop's period
        self._grid_origin_ns: int | None = None
        self._state_since_ns = 0
        # waiting
        self._window: deque[tuple[int, float, float]] = deque()  # (g, fz, ml)
        self._last_bad_g: int | None = None
        self._baseline_ml_cm = 0.0
        # countdown
        self._countdown_end_g = 0
        self._countdown_announced = 0
        self._countdown_bad = 0
        # recording
        capacity = int((plan.duration_s + self.settings.liftoff_timeout_s + 5.0) * self.rate_hz * 1.25) + 64
        self._rec = np.empty(capacity, dtype=FRAME_DTYPE)
        self._n = 0
        self._drained = 0
        self._t0_ns = 0  # the start signal on the clock (the grid's, estimated from the frames)
        self._t0_g = 0  # the start signal on the grid: the trial's first sample slot, seq × period
        self._end_g = 0  # the planned duration's end on the grid (slots before it are recorded)
        self._ended_on_grid = False  # ended by reaching _end_g (its last slots, if missing, were lost)
        self._last_frame_ns: int | None = None  # wake time of the last frame recorded
        self._progress_s = 0
        self._checked = 0
        self._liftoff_candidate: int | None = None
        self._liftoff_index: int | None = None
        self._event: LoadEvent | None = None
        self._event_kind = ""  # "load", "step", "touchdown", "fault", "operator_end"
        self._fault_issue: QualityIssue | None = None
        self._stop_issue: QualityIssue | None = None
        self._pending_end_g: int | None = None
        self._operator_reason = ""

    # -- public commands -----------------------------------------------------------------------
    def open(self, now_ns: int) -> None:
        """Show the instructions (state ``instructions``)."""
        if self.state is not None:
            raise RuntimeError("the trial is already open")
        self._now_ns = now_ns
        c = self.plan.condition
        words = self.plan.protocol.instructions
        if c.instructions:
            words = f"{words}\n\n{c.instructions}"
        self._set_state(TrialState.INSTRUCTIONS, instructions=words, stance=c.stance.describe(),
                        duration_s=c.duration_s)

    def confirm(self, now_ns: int) -> None:
        """The patient is ready: start waiting for a steady stance on the plate."""
        if self.state != TrialState.INSTRUCTIONS:
            raise RuntimeError(f"confirm() needs state 'instructions', not {self.state and self.state.value!r}")
        self._now_ns = max(self._now_ns, now_ns)
        self._enter_waiting("Waiting for the patient to stand still on the plate.")

    def stop(self, now_ns: int, shutdown: bool = False) -> None:
        """Operator stop. Before recording: the trial is aborted (nothing was measured, nothing
        counts). While recording: the trial ends and is invalid (stopped by the operator).
        ``shutdown``: the station's service stopped it (Ctrl-C, ``systemctl stop``, a restart), not
        the operator, and its words say so (:func:`stop_issue`)."""
        self._now_ns = max(self._now_ns, now_ns)
        if self.state in (TrialState.INSTRUCTIONS, TrialState.WAITING, TrialState.COUNTDOWN):
            self._abort(f"Ended before recording: {SHUTDOWN_WORDS}." if shutdown
                        else "Stopped by the operator before recording.")
        elif self.state == TrialState.RECORDING:
            self._stop_issue = stop_issue(self._rec_time_s(), shutdown)
            self._finish()

    def end_hold(self, now_ns: int, reason: str = 'the clinician pressed "Position lost"') -> None:
        """Timed holds: the clinician saw the patient lose the test position (eyes opened, arms
        uncrossed, holding on); the hold ends now and the trial stays valid. ``reason``: how it was
        seen, in words that follow "The patient lost the test position after 8.9 s (...)"."""
        if self.plan.protocol.outcome != "time_held":
            raise RuntimeError("end_hold() applies to timed holds only; use stop() to stop this trial")
        self._now_ns = max(self._now_ns, now_ns)
        if self.state != TrialState.RECORDING:
            return
        index = max(0, self._n - 1)
        self._event = LoadEvent("operator_end", index, index, float("nan"))
        self._event_kind = "operator_end"
        self._operator_reason = reason
        self._finish()

    @property
    def finished(self) -> bool:
        return self.state in (TrialState.DONE, TrialState.ABORTED)

    def drain(self) -> np.ndarray:
        """Frames recorded since the last call (for streaming them to storage)."""
        out = self._rec[self._drained : self._n].copy()
        self._drained = self._n
        return out

    @property
    def recorded(self) -> np.ndarray:
        """All frames recorded so far (a view)."""
        return self._rec[: self._n]

    @property
    def start_ns(self) -> int:
        return self._t0_ns

    @property
    def start_seq(self) -> int | None:
        """The trial's first sample slot (``seq``): the first at or after the start signal on the
        grid; None before recording. Its trial CSV's ``time_s`` is ``(seq - start_seq) / rate_hz``
        (DESIGN.md §3), so a first slot lost (slept through) leaves the first row at 0.01 s."""
        if self.state not in (TrialState.RECORDING, TrialState.CHECKING, TrialState.DONE):
            return None
        return -(-self._t0_g // self._period_ns)

    def feed(self, frames: np.ndarray, missed: int = 0, now_ns: int | None = None) -> None:
        """Advance the trial with new frames (oldest first) and the clock's time ``now_ns``.

        ``missed``: frames the reader missed just before these (the ring overtook it). Their ``seq``
        numbers are missing from the frames recorded, so a trial counts them among its lost frames
        as any gap (:attr:`TrialResult.lost_frames`), once.
        """
        if now_ns is not None:
            self._now_ns = max(self._now_ns, int(now_ns))
        if len(frames):
            self._now_ns = max(self._now_ns, int(frames["t_ns"][-1]))
            origin = int((frames["t_ns"].astype(np.int64) - self._grid(frames)).min())
            self._grid_origin_ns = origin if self._grid_origin_ns is None else min(self._grid_origin_ns, origin)
        i = 0
        n = len(frames)
        while i < n and self.state in ACTIVE_STATES:
            if self.state == TrialState.WAITING:
                i = self._feed_waiting(frames, i)
            elif self.state == TrialState.COUNTDOWN:
                i = self._feed_countdown(frames, i)
            else:
                i = self._feed_recording(frames, i)
        # Wake time: the clinic's wait for the patient, and frames that stopped coming in real time.
        if self.state == TrialState.WAITING:
            timeout_s = self.settings.waiting_timeout_s
            if timeout_s > 0 and self._now_ns - self._state_since_ns > timeout_s * 1e9:
                self._abort(f"Nobody stood still on the plate within {timeout_s:g} s; the trial was not started.")
        elif self.state == TrialState.RECORDING and self._last_frame_ns is not None:
            silent_s = (self._now_ns - self._last_frame_ns) / 1e9
            if silent_s > self.settings.no_frames_timeout_s:
                at_s = self._at_s(self._n - 1)
                self._fault_issue = QualityIssue(
                    "no_data",
                    f"The plate stopped sending data {max(at_s, 0.0):.1f} s into the trial (nothing for "
                    f"{silent_s:.1f} s). Check the plate cable and the station's health page.",
                    max(at_s, 0.0),
                )
                self._finish()
        elif self.state == TrialState.RECORDING and self._last_frame_ns is None:
            silent_s = (self._now_ns - self._t0_ns) / 1e9
            if silent_s > self.settings.no_frames_timeout_s:
                self._fault_issue = QualityIssue(
                    "no_data", "The plate sent no data after the start signal. Check the plate cable and the station's health page.", 0.0)
                self._finish()

    # -- states ----------------------------------------------------------------------------------
    def _set_state(self, state: TrialState, **data) -> None:
        previous = self.state.value if self.state else None
        self.state = state
        self._state_since_ns = self._now_ns
        self.bus.publish("state", state=state.value, previous=previous, **self.plan.describe(), **data)

    def _enter_waiting(self, message: str) -> None:
        self._window.clear()
        self._last_bad_g = None
        self._set_state(TrialState.WAITING, message=message)

    def _abort(self, reason: str) -> None:
        self.abort_reason = reason
        self._set_state(TrialState.ABORTED, message=reason)

    def _feed_waiting(self, frames: np.ndarray, i: int) -> int:
        s = self.settings
        stable_ns = int(s.stable_s * 1e9)
        half_period_ns = int(0.5e9 / self.rate_hz)
        known = self.known_body_weight_n
        for j in range(i, len(frames)):
            t = int(frames["seq"][j]) * self._period_ns  # grid time: 2 s of samples, however late they came
            fz = float(frames["fz_n"][j])
            ok = (
                math.isfinite(fz)
                and fz >= s.min_body_weight_n
                and not int(frames["flags"][j]) & _FAULT_FLAGS
                and (known is None or abs(fz - known) <= s.body_weight_tolerance_fraction * known)
            )
            if not ok:
                self._last_bad_g = t
                self._window.clear()
                continue
            self._window.append((t, fz, float(frames["ml_cm"][j])))
            while self._window[0][0] < t - stable_ns:
                self._window.popleft()
            if self._last_bad_g is not None and self._last_bad_g >= t - stable_ns:
                continue
            if t - self._window[0][0] < stable_ns - half_period_ns:
                continue
            loads = [w[1] for w in self._window]
            reference = known if known is not None else sum(loads) / len(loads)
            if max(loads) - min(loads) > 2 * s.stable_tolerance_fraction * reference:
                continue
            self.body_weight_n = sum(loads) / len(loads)
            mls = [w[2] for w in self._window if math.isfinite(w[2])]
            self._baseline_ml_cm = sum(mls) / len(mls) if mls else 0.0
            self._now_ns = max(self._now_ns, int(frames["t_ns"][j]))
            if self._start_countdown(t):
                return j  # no countdown: this frame is the trial's first
            return j + 1
        return len(frames)

    def _start_countdown(self, g: int) -> bool:
        """Start the countdown at grid time ``g`` (the frame that completed a steady stance); True
        when there is none and the recording started at that frame."""
        countdown_s = self.plan.protocol.countdown_s
        self._countdown_end_g = g + int(round(countdown_s * 1e9))
        self._countdown_bad = 0
        self._set_state(TrialState.COUNTDOWN, body_weight_n=round(self.body_weight_n, 1), countdown_s=countdown_s)
        self._countdown_announced = 0
        if countdown_s > 0:
            self._announce_countdown(g)
            return False
        self._start_recording(self._clock_ns(g))
        return True

    def _announce_countdown(self, g: int) -> None:
        remaining = math.ceil((self._countdown_end_g - g) / 1e9 - 1e-9)
        if remaining >= 1 and remaining != self._countdown_announced:
            self._countdown_announced = remaining
            self.bus.publish("countdown", remaining_s=remaining, **self.plan.describe())

    def _feed_countdown(self, frames: np.ndarray, i: int) -> int:
        s = self.settings
        need = max(2, math.ceil(s.sustain_s * self.rate_hz))
        bw = self.body_weight_n
        for j in range(i, len(frames)):
            t = int(frames["seq"][j]) * self._period_ns  # grid time: the countdown is the trial's start
            if t >= self._countdown_end_g:
                self._start_recording(self._clock_ns(self._countdown_end_g))
                return j
            fz = float(frames["fz_n"][j])
            if not (math.isfinite(fz) and s.unload_fraction * bw <= fz <= s.overload_fraction * bw):
                self._countdown_bad += 1
                if self._countdown_bad >= need:
                    self._now_ns = max(self._now_ns, int(frames["t_ns"][j]))
                    self._enter_waiting("The patient moved during the countdown; waiting for a steady stance again.")
                    return j + 1
            else:
                self._countdown_bad = 0
            self._announce_countdown(t)
        return len(frames)

    def _start_recording(self, t0_ns: int) -> None:
        """Start recording at the start signal ``t0_ns``, on the clock (:meth:`_clock_ns` of the
        start's grid time)."""
        self._t0_ns = t0_ns
        self._t0_g = t0_ns - self._grid_origin_ns
        self._end_g = self._t0_g + int(round(self.plan.duration_s * 1e9))
        if self.plan.condition.single_leg:
            # The hold is timed from lift-off; allow the lift-off time on top of the duration.
            self._end_g += int(round(self.settings.liftoff_timeout_s * 1e9))
        self._progress_s = 0
        self._set_state(TrialState.RECORDING, duration_s=self.plan.duration_s)

    # -- grid time -------------------------------------------------------------------------------
    def _grid(self, frames: np.ndarray) -> np.ndarray:
        """Grid time of ``frames``, ns from seq 0 (int64)."""
        return frames["seq"].astype(np.int64) * self._period_ns

    def _g(self, index: int) -> int:
        """Grid time of recorded frame ``index``, ns from seq 0."""
        return int(self._rec["seq"][index]) * self._period_ns

    def _clock_ns(self, g: int) -> int:
        """Grid time ``g`` on the clock (where the loop's deadline for it was)."""
        return self._grid_origin_ns + g

    def _at_s(self, index: int) -> float:
        """Recorded frame ``index``'s time from the start signal, s, on the grid (its trial CSV's
        ``time_s``)."""
        return (self._g(index) - self._t0_g) / 1e9

    def _rec_time_s(self) -> float:
        if self._n:
            return self._at_s(self._n - 1)
        return max(0.0, (self._now_ns - self._t0_ns) / 1e9)  # nothing recorded: the clock's time

    def _append(self, frames: np.ndarray) -> None:
        need = self._n + len(frames)
        if need > len(self._rec):
            grown = np.empty(max(need, 2 * len(self._rec)), dtype=FRAME_DTYPE)
            grown[: self._n] = self._rec[: self._n]
            self._rec = grown
        self._rec[self._n : need] = frames
        self._n = need
        self._last_frame_ns = int(frames["t_ns"][-1])

    def _feed_recording(self, frames: np.ndarray, i: int) -> int:
        t = self._grid(frames[i:])  # the trial's slots end on the grid, not when the loop woke
        end_g = self._pending_end_g if self._pending_end_g is not None else self._end_g
        take = int(np.searchsorted(t, end_g, side="left"))
        chunk = frames[i : i + take]
        if len(chunk):
            start = self._n
            self._append(chunk)
            self._publish_progress()
            if self._pending_end_g is None:
                self._check_online(start)
        if self.state != TrialState.RECORDING:
            return len(frames)
        if self._pending_end_g is not None:
            if take < len(t) or self._n and self._g(self._n - 1) >= self._pending_end_g:
                self._finish()
                return len(frames)
        elif take < len(t):
            self._ended_on_grid = True
            self._finish()  # reached the end of the duration
            return len(frames)
        return i + take

    def _publish_progress(self) -> None:
        elapsed = int(self._rec_time_s())
        while self._progress_s < elapsed:
            self._progress_s += 1
            self.bus.publish("progress", elapsed_s=self._progress_s, duration_s=self.plan.duration_s, **self.plan.describe())

    def _check_fault_and_load_only(self, start: int, what: str) -> None:
        """The online checks of a trial in which the COP moves on purpose (a lean, a game): a sensor
        fault ends it ("repeat the <what>"), and so does stepping off or a load event, but a COP
        movement is not a step."""
        s = self.settings
        rec = self._rec[: self._n]
        fault = find_sensor_fault(rec[start:])
        if fault is not None:
            index, code, words = start + fault[0], fault[1], fault[2]
            at_s = self._at_s(index)
            self._fault_issue = QualityIssue(code, f"Sensor fault after {at_s:.1f} s: {words}. "
                                             f"Check the plate and its cable, then repeat the {what}.", at_s)
            self._finish()
            return
        lookback = int(math.ceil((s.step_window_s + 2 * s.sustain_s) * self.rate_hz)) + 2
        lo = max(0, start - lookback)
        load = find_load_event(rec[lo:], self.body_weight_n, self.rate_hz, s)
        if load is not None:
            self._event = _shift(load, lo)
            self._event_kind = "load"
            self._pending_end_g = self._g(min(self._event.confirmed_index, self._n - 1)) + int(SETTLE_S * 1e9)

    def _check_online(self, start: int) -> None:
        """Look for a fault, a fall, a step, lift-off and touch-down in the newly recorded frames
        (with enough look-back to see events that began just before them)."""
        s = self.settings
        rec = self._rec[: self._n]
        fault = find_sensor_fault(rec[start:])
        lookback = int(math.ceil((s.step_window_s + 2 * s.sustain_s) * self.rate_hz)) + 2
        lo = max(0, start - lookback)
        candidates: list[tuple[int, str, LoadEvent | None]] = []
        if fault is not None:
            candidates.append((start + fault[0], "fault", None))
        load = find_load_event(rec[lo:], self.body_weight_n, self.rate_hz, s)
        if load is not None:
            candidates.append((lo + load.index, "load", _shift(load, lo)))
        if self.plan.condition.single_leg:
            self._track_single_leg(rec, lo, candidates)
        else:
            step = find_cop_step(rec[lo:], self.rate_hz, s)
            if step is not None:
                candidates.append((lo + step.index, "step", _shift(step, lo)))
        if self.state != TrialState.RECORDING or not candidates:
            return
        index, kind, event = min(candidates, key=lambda c: c[0])
        if kind == "fault":
            _, code, words = fault
            at_s = self._at_s(index)
            self._fault_issue = QualityIssue(code, f"Sensor fault after {at_s:.1f} s: {words}. "
                                             "Check the plate and its cable, then repeat the trial.", at_s)
            self._finish()
            return
        self._event = event
        self._event_kind = kind
        if self.plan.protocol.outcome == "time_held":
            at_s = self._hold_time_s(event.index)
            verdict = self._hold_verdict(at_s) if self._hold_verdict is not None else {}
            self.bus.publish("hold_ended", at_s=round(at_s, 3), reason=kind, **verdict, **self.plan.describe())
        self._pending_end_g = self._g(min(event.confirmed_index, self._n - 1)) + int(SETTLE_S * 1e9)

    def _track_single_leg(self, rec: np.ndarray, lo: int, candidates: list) -> None:
        """Single-leg stance: find lift-off (the timer starts), then touch-down (the hold ends)."""
        s = self.settings
        direction = stance_direction(self.plan.condition.stance.feet)
        raw, shift = stance_shift(rec, self._baseline_ml_cm, direction, self.rate_hz, s)
        if self._liftoff_candidate is None:
            found = find_liftoff(shift, self.rate_hz, s)
            if found is None:
                waited_s = self._rec_time_s()
                if waited_s > s.liftoff_timeout_s:
                    self._stop_issue = QualityIssue(
                        "no_liftoff",
                        f"The patient did not lift a foot within {s.liftoff_timeout_s:g} s of the start signal "
                        "(the centre of pressure stayed between the feet).", round(waited_s, 3))
                    self._finish()
                return
            self._liftoff_candidate = found
            self._end_g = self._g(found) + int(round(self.plan.duration_s * 1e9))
        touch = find_touchdown(raw, shift, self._liftoff_candidate, self.rate_hz, s)
        second = int(round(self.rate_hz))
        if self._liftoff_index is None and (touch is not None or self._n - self._liftoff_candidate >= second):
            end = touch.index if touch is not None else self._n
            self._set_liftoff(refine_liftoff(shift, self._liftoff_candidate, end, self.rate_hz))
        if touch is not None:
            candidates.append((touch.index, "touchdown", touch))

    def _set_liftoff(self, index: int) -> None:
        self._liftoff_index = index
        self._end_g = self._g(index) + int(round(self.plan.duration_s * 1e9))
        self.bus.publish("liftoff", at_s=round(self._at_s(index), 3), **self.plan.describe())

    def _edge_slots_lost(self, judged_end: int) -> int:
        """Slots of the trial before its first recorded frame, and (ended on the grid, the frames up
        to ``judged_end`` judged: every frame for the trial's count) between its last recorded frame
        and the end of its planned time: lost, as a gap inside it would be. With them a trial that
        ran its time counts exactly its slots."""
        period = self._period_ns
        lost = max(0, int(self._rec["seq"][0]) - self.start_seq)
        if self._ended_on_grid and judged_end == self._n:
            last_slot = -(-self._end_g // period) - 1  # the last seq before the end
            lost += max(0, last_slot - int(self._rec["seq"][self._n - 1]))
        return lost

    def _slots_lost(self) -> int:
        """Slots of the whole trial without a recorded frame: the gaps between its frames and its
        edges (:meth:`_edge_slots_lost`)."""
        seq = self._rec["seq"][: self._n].astype(np.int64)
        return int(np.clip(np.diff(seq) - 1, 0, None).sum()) + self._edge_slots_lost(self._n)

    def _hold_time_s(self, end_index: int) -> float:
        start_g = self._g(self._liftoff_index) if self._liftoff_index is not None else self._t0_g
        return max(0.0, (self._g(min(end_index, self._n - 1)) - start_g) / 1e9) if self._n else 0.0

    # -- the end ---------------------------------------------------------------------------------
    def _finish(self) -> None:
        self._set_state(TrialState.CHECKING)
        self.result = self._judge()
        verdict = self._verdict(self.result) if self._verdict is not None else {}
        self.bus.publish("trial_finished", result={**self.result.to_dict(), **verdict}, **self.plan.describe())
        self._set_state(TrialState.DONE, valid=self.result.valid,
                        message=_summary_words(self.result))

    def _judge(self) -> TrialResult:
        s = self.settings
        plan = self.plan
        if self._liftoff_candidate is not None and self._liftoff_index is None and self._n:
            # The trial ended within a second of lift-off: place it with what was recorded.
            direction = stance_direction(plan.condition.stance.feet)
            _, shift = stance_shift(self._rec[: self._n], self._baseline_ml_cm, direction, self.rate_hz, s)
            end = self._event.index if self._event is not None else self._n
            self._set_liftoff(refine_liftoff(shift, self._liftoff_candidate, max(end, self._liftoff_candidate + 1), self.rate_hz))
        outcome = plan.protocol.outcome
        rec = self._rec[: self._n]
        duration_s = plan.duration_s
        result = TrialResult(plan=plan, valid=True, end_reason="duration", body_weight_n=self.body_weight_n,
                             start_ns=self._t0_ns, samples=self._n)
        if self._n:
            result.recorded_s = self._at_s(self._n - 1) + 1.0 / self.rate_hz
        issues: list[QualityIssue] = []

        # What ended the trial, and the part of it that is judged and analysed.
        judged_end = self._n
        event = self._event
        if event is not None:
            # Re-classify with what was recorded after it: a step or an unloading that went on to
            # leave the plate is "stepped off" (from the same onset).
            if self._event_kind in ("load", "step"):
                later = find_load_event(rec[event.index :], self.body_weight_n, self.rate_hz, s)
                if later is not None and later.code == "stepped_off":
                    event = LoadEvent("stepped_off", event.index, event.confirmed_index, later.value)
            judged_end = event.index
            at_s = self._at_s(min(event.index, self._n - 1)) if self._n else 0.0
            if self._event_kind == "operator_end":
                # the patient's hold ended, seen by the clinician (not the clinician stopping the test)
                words = QualityIssue("operator_ended", f"The patient lost the test position after "
                                     f"{self._hold_time_s(event.index):.1f} s ({self._operator_reason}).", at_s)
            else:
                held = self._hold_time_s(event.index) if outcome == "time_held" else None
                words = load_event_issue(event, at_s, duration_s, held)
            if outcome == "time_held":
                result.hold_end = words
                result.end_reason = "operator_ended" if self._event_kind == "operator_end" else "balance_lost"
            else:
                issues.append(words)
        if self._fault_issue is not None:
            issues.append(self._fault_issue)
            judged_end = min(judged_end, self._n)
        if self._stop_issue is not None:
            issues.append(self._stop_issue)
        judged = rec[:judged_end]
        # The trial's slots the loop lost at its edges (it slept through them): before the first
        # frame recorded, and, when it ran to its end on the grid, after the last. Frames the reader
        # missed (the ring overtook it) are missing seqs among the recorded frames, so the gaps
        # count them already (adding them again counted each twice).
        edges = self._edge_slots_lost(judged_end) if len(judged) else 0
        issues.extend(i for i in check_recording(judged, rate_hz=self.rate_hz, duration_s=duration_s,
                                                 start_seq=self.start_seq, settings=s, reader_missed=edges)
                      if not any(i.code == other.code for other in issues))
        if len(judged) == 0 and self._fault_issue is None and self._stop_issue is not None:
            issues = [i for i in issues if i.code != "no_data"]
        # The trial's one count of lost frames (its stored frames_lost, StoreSink): every slot from
        # its first to its last (its planned end when it ran its time) without a frame.
        result.lost_frames = self._slots_lost() if len(rec) else 0
        if len(rec) and (rec["flags"].astype(np.int64) & int(FrameFlag.UNCALIBRATED)).any():
            result.warnings.append("Forces use the nominal load-cell data: the plate is not calibrated, so absolute "
                                   "forces may be off by several per cent; ask whoever looks after the station to "
                                   "calibrate it.")

        # Timed holds: the held time.
        start_index = 0
        if plan.condition.single_leg:
            if self._liftoff_index is not None:
                start_index = self._liftoff_index
                result.liftoff_s = self._at_s(start_index)
        if outcome == "time_held" and (not plan.condition.single_leg or self._liftoff_index is not None):
            if result.hold_end is not None:
                result.time_held_s = round(self._hold_time_s(judged_end), 3)
            elif self._n:
                result.time_held_s = round(min(duration_s, self._hold_time_s(self._n - 1) + 1.0 / self.rate_hz), 3)

        if plan.condition.single_leg and self._liftoff_index is None and not issues:
            issues.append(QualityIssue(
                "no_liftoff", "The other foot was never lifted: the centre of pressure stayed between the feet.", None))
        result.issues = issues
        result.valid = not issues
        if not result.valid:
            result.end_reason = "invalid"
        if outcome == "time_held":
            result.completed = result.valid and result.time_held_s is not None and \
                result.time_held_s >= duration_s - 1.5 / self.rate_hz
        else:
            result.completed = result.valid and result.recorded_s >= duration_s - 1.5 / self.rate_hz

        # Sway metrics of the analysed part.
        segment = rec[start_index:judged_end]
        if len(segment):
            result.analysis_start_s = round(self._at_s(start_index), 3)
            result.analysis_end_s = round(self._at_s(start_index + len(segment) - 1) + 1.0 / self.rate_hz, 3)
        seg_s = len(segment) / self.rate_hz
        if not result.valid:
            result.metrics_note = "Invalid trial: no sway measures."
        elif seg_s < s.min_metrics_s:
            result.metrics_note = (f"Held too briefly for sway measures ({seg_s:.1f} s of steady stance; "
                                   f"at least {s.min_metrics_s:g} s is needed).")
        elif not np.isfinite(segment["ap_cm"]).all() or not np.isfinite(segment["ml_cm"]).all():
            result.metrics_note = "Centre of pressure unknown on some frames: no sway measures."
        else:
            try:
                result.metrics = self._analyse(segment, self.rate_hz)
            except ValueError as exc:  # SignalError: the analysis says what it needs
                result.metrics_note = f"No sway measures: {exc}"
        return result


SHUTDOWN_WORDS = "the station was shut down"
"""Why a trial ended when the station's service stopped while it ran (Ctrl-C, ``systemctl stop``, a
restart by an update), not the operator."""


def stop_issue(at_s: float, shutdown: bool = False) -> QualityIssue:
    """The issue of a trial stopped while recording, ``at_s`` seconds in: by the operator, or by
    the station's shutdown (``shutdown``).

    >>> stop_issue(11.04).message
    'Stopped by the operator after 11.0 s.'
    >>> issue = stop_issue(11.04, shutdown=True)
    >>> issue.code, issue.message
    ('station_shutdown', 'Ended after 11.0 s: the station was shut down.')
    """
    if shutdown:
        return QualityIssue("station_shutdown", f"Ended after {at_s:.1f} s: {SHUTDOWN_WORDS}.", at_s)
    return QualityIssue("operator_stop", f"Stopped by the operator after {at_s:.1f} s.", at_s)


def _shift(event: LoadEvent, offset: int) -> LoadEvent:
    return LoadEvent(event.code, event.index + offset, event.confirmed_index + offset, event.value)


def _summary_words(result: TrialResult) -> str:
    if not result.valid:
        return "Invalid trial: " + " ".join(i.message for i in result.issues)
    if result.time_held_s is not None:
        if result.completed:
            return f"Held for the full {result.plan.duration_s:g} s."
        return f"Held for {result.time_held_s:.1f} s of {result.plan.duration_s:g} s. {result.hold_end.message if result.hold_end else ''}".strip()
    return "Trial complete."
