"""Biofeedback training games run as a protocol (``outcome = "training"``), on the station.

A game is a trial of the built-in ``biofeedback-training`` protocol: the same runner, states,
countdown, quality checks and storage as every other trial (:mod:`station.protocols.machine`),
with a :class:`GameMachine` instead of the plain :class:`~station.protocols.machine.TrialMachine`.
The station is authoritative: it builds the game's :class:`~station.analysis.biofeedback.Schedule`
(seeded, stored with the session), feeds every recorded frame to the game
(:class:`~station.analysis.biofeedback.Game`), publishes its state for the tablet, and scores it.

Events (besides the trial's own; see :mod:`station.protocols.events`):

``game_ready``  schedule (:meth:`Schedule.to_dict`), title, score_definition: when the trial opens
``game``        the live state (:meth:`Game.state`: phase, target with its position in the plate
                frame, cm, reached / held, score so far): whenever the target or its reached/held
                state changes, and every :data:`GAME_EVENT_S` (:data:`TRACK_EVENT_S` for the moving
                target) while recording
``game_over``   result (:meth:`Game.result`): when the game ends (session time, all targets done,
                or the trial stopped)

The result goes with the trial (``TrialResult.training``: schedule, result, minutes played) and
is stored as a training session (:mod:`station.store.training`), which counts toward the
patient's balance-training programme.

A lean is not a step: the online COP-step check of stance tests is left out (sensor faults and
stepping off the plate still end the game, as they end any trial). Stopping a game under way ends
it and scores what was played (valid, not completed; ``end_reason`` ``operator_ended``).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from station.analysis.biofeedback import (
    GAMES,
    SCORE_DEFINITIONS,
    Game,
    GameError,
    Schedule,
    make_schedule,
    patient_limits_cm,
)
from station.protocols.events import EventBus
from station.protocols.machine import SHUTDOWN_WORDS, TrialMachine, TrialPlan, TrialResult, TrialState

GAME_EVENT_S = 0.25
"""Live game state at least this often while recording, s."""
TRACK_EVENT_S = 0.1
"""... and this often for the moving target, s."""

_SETTINGS_KEYS = ("game", "level", "session_s", "rest_s", "paretic_side", "range_cm", "seed")


@dataclasses.dataclass(frozen=True)
class TrainingSettings:
    """What the clinician chooses for a game: ``game`` and ``level`` (required), ``session_s`` and
    ``rest_s`` (default per game), ``paretic_side`` (``left``/``right``, weight shift only),
    ``range_cm`` (a clinician's range for every direction, cm; otherwise the patient's last LOS
    test, else the height) and ``seed`` (otherwise drawn at random: stored with the schedule)."""

    game: str
    level: int
    session_s: float | None = None
    rest_s: float | None = None
    paretic_side: str | None = None
    range_cm: float | None = None
    seed: int | None = None

    @classmethod
    def from_dict(cls, doc) -> "TrainingSettings":
        """Settings from a request body; ``ValueError`` (one line) names the field and what is allowed."""
        if not isinstance(doc, dict):
            raise ValueError("training: give an object {game, level, session_s, rest_s, paretic_side, range_cm, seed}")
        unknown = sorted(set(doc) - set(_SETTINGS_KEYS))
        if unknown:
            raise ValueError(f"training.{str(unknown[0])[:40]}: unknown; allowed: {', '.join(_SETTINGS_KEYS)}")
        game = doc.get("game")
        if game not in GAMES:
            raise ValueError(f"training.game: {str(game)[:40]!r} is unknown; allowed: {', '.join(GAMES)}")
        level = doc.get("level", 1)
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5:
            raise ValueError(f"training.level: {level!r} is out of range; allowed: 1 to 5")
        values = {"game": game, "level": level}
        for key, (lo, hi) in (("session_s", (30.0, 600.0)), ("rest_s", (0.0, 30.0)), ("range_cm", (1.0, 40.0))):
            value = doc.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not lo <= value <= hi:
                raise ValueError(f"training.{key}: {value!r} is out of range; allowed: {lo:g} to {hi:g}")
            values[key] = float(value)
        side = doc.get("paretic_side")
        if game == "shift" and side not in ("left", "right"):
            raise ValueError("training.paretic_side: choose 'left' or 'right' (the side the weight is shifted to)")
        if game != "shift" and side is not None:
            raise ValueError("training.paretic_side: only applies to the weight-shift game")
        values["paretic_side"] = side
        seed = doc.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31):
            raise ValueError(f"training.seed: {seed!r} must be a whole number from 0 to 2147483647")
        values["seed"] = seed
        return cls(**values)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def build_schedule(settings: TrainingSettings, *, height_cm: float | None, los_excursion_pct: dict | None,
                   plate_width_cm: float, seed: int) -> Schedule:
    """The game's schedule for this patient (``GameError``, one line, when it cannot be made:
    e.g. no height, no LOS test and no range)."""
    reach, source = patient_limits_cm(clinician_range_cm=settings.range_cm,
                                      los_max_excursion_pct=los_excursion_pct if height_cm else None,
                                      height_cm=height_cm)
    return make_schedule(settings.game, settings.level, reach, seed=settings.seed if settings.seed is not None else seed,
                         session_s=settings.session_s, rest_s=settings.rest_s, reach_source=source,
                         paretic_side=settings.paretic_side,
                         plate_width_cm=plate_width_cm if settings.game == "shift" else None)


def _no_sway(frames, rate_hz):
    return None


class GameMachine(TrialMachine):
    """One game as a trial (interface and states of :class:`TrialMachine`).

    Parameters
    ----------
    plan : TrialPlan
        Of a protocol with ``outcome = "training"``; its duration becomes the session's length.
    rate_hz : float
    bus : EventBus
    schedule : Schedule
        The game (:func:`build_schedule`).
    body_weight_n : float, optional
    """

    def __init__(self, plan: TrialPlan, *, rate_hz: float, bus: EventBus, schedule: Schedule,
                 body_weight_n: float | None = None, **_ignored) -> None:
        condition = dataclasses.replace(plan.condition, duration_s=schedule.session_s)
        plan = TrialPlan(plan.protocol, condition, plan.trial, plan.attempt)
        super().__init__(plan, rate_hz=rate_hz, bus=bus, analyse=_no_sway, body_weight_n=body_weight_n)
        self.schedule = schedule
        self.game = Game(schedule)
        self._next_event_s = 0.0
        self._signature = None
        self._over_published = False
        self._ended_by_clinician = False
        self._ended_by_shutdown = False

    def stop(self, now_ns: int, shutdown: bool = False) -> None:
        """Before the game: aborted, as any trial. During the game: it ends now and is scored on
        what was played (a game stopped early is not an invalid recording). ``shutdown``: the
        station's service stopped it, not the clinician (its words say so)."""
        if self.state == TrialState.RECORDING:
            self._now_ns = max(self._now_ns, now_ns)
            self._ended_by_clinician = True
            self._ended_by_shutdown = shutdown
            self._finish()
            return
        super().stop(now_ns, shutdown)

    def open(self, now_ns: int) -> None:
        super().open(now_ns)
        self.bus.publish("game_ready", schedule=self.schedule.to_dict(), title=self.schedule.title,
                         score_definition=SCORE_DEFINITIONS[self.schedule.game], **self.plan.describe())

    # -- recording ---------------------------------------------------------------------------
    def _append(self, frames: np.ndarray) -> None:
        super()._append(frames)
        if not len(frames):
            return
        # time_s on the sample grid from the trial's start slot (DESIGN.md §3): its trial CSV's, so the game's
        # times (a target's shown_s, ...) are the trial's at any frame rate
        time_s = (frames["seq"].astype(np.int64) - self.start_seq) / self.rate_hz
        corners = np.column_stack([frames[c] for c in ("fl_n", "fr_n", "bl_n", "br_n")]).astype(float)
        share = None
        if self.schedule.game == "shift" and np.isfinite(corners).all():
            from station.analysis.biofeedback import paretic_load_pct

            share = paretic_load_pct(self.schedule.paretic_side, corners_n=corners)
        keep = np.concatenate([[True], np.diff(time_s) > 0]) if len(time_s) > 1 else np.ones(1, bool)
        try:
            self.game.feed(time_s[keep], frames["ap_cm"][keep], frames["ml_cm"][keep],
                           None if share is None else share[keep])
        except GameError:
            pass  # a frame out of order (a re-sent one): the game goes on with the next
        self._publish_game(float(time_s[-1]))

    def _publish_game(self, now_s: float) -> None:
        state = self.game.state()
        target = state.get("target") or {}
        signature = (state["phase"], target.get("index"), target.get("reached"), target.get("inside"),
                     state.get("targets_done"))
        every = TRACK_EVENT_S if self.schedule.game == "track" else GAME_EVENT_S
        if signature != self._signature or now_s >= self._next_event_s:
            self._signature = signature
            self._next_event_s = now_s + every
            self.bus.publish("game", **state)

    def _feed_recording(self, frames: np.ndarray, i: int) -> int:
        used = super()._feed_recording(frames, i)
        if self.state == TrialState.RECORDING and self.game.over:
            self._finish()  # every target done before the session's time
            return len(frames)
        return used

    def _check_online(self, start: int) -> None:
        """Sensor faults and stepping off end the game; a lean toward a target is not a step."""
        self._check_fault_and_load_only(start, "game")

    # -- the end -------------------------------------------------------------------------------
    def _judge(self) -> TrialResult:
        result = super()._judge()
        self.game.finish()
        outcome = self.game.result()
        played_s = result.recorded_s
        result.metrics = None
        result.metrics_note = "A training game: its score and per-target measures (no sway measures)."
        if result.valid:
            # played to its end (time up or every target done), or stopped early by the clinician
            result.completed = not self._ended_by_clinician
        if self._ended_by_clinician:
            result.end_reason = "operator_ended" if result.valid else result.end_reason
            ended = f"Ended after {played_s:.0f} s ({SHUTDOWN_WORDS})" if self._ended_by_shutdown else \
                f"Ended by the clinician after {played_s:.0f} s"
            result.warnings.append(f"{ended}: scored on what was played.")
        result.training = {"schedule": self.schedule.to_dict(), "result": outcome,
                           "minutes": round(played_s / 60.0, 3), "title": self.schedule.title}
        if not self._over_published:
            self._over_published = True
            self.bus.publish("game_over", result=outcome, minutes=round(played_s / 60.0, 3), **self.plan.describe())
        return result
