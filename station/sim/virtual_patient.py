"""A virtual patient who follows a protocol's instructions on the simulated station.

It drives a :class:`station.sim.person.VirtualPerson` (the load source on the simulated plate)
from the protocol runner's events, as a real patient follows the clinician and the beeps:

* a trial is ready: step onto the plate if not on it; stand on the foam pad for foam conditions;
* the countdown starts: close the eyes for an eyes-closed condition (open them otherwise);
* recording starts: in single-leg stance, shift onto the named leg and lift the other foot;
* the trial ends: lower the lifted foot (if still up), open the eyes; after stepping off, stay
  off until the next trial is ready.

Limits-of-stability tests: at the go signal (recording starts) the patient leans toward the
trial's target as far as they can (:meth:`~station.sim.person.VirtualPerson.lean_in_direction`
beyond their own limits, so they stop at those), after their own reaction time, and holds; when
the trial ends they come back to the centre (:meth:`~station.sim.person.VirtualPerson.return_to_centre`).

*Lapses* make it do what a patient sometimes does, in chosen trials: step off the plate, stumble,
or (single-leg stance) put the lifted foot down, ``after_s`` seconds into the recording (into
the time on one leg for a touch-down).

Walk tests (with a :class:`~station.sim.walker.VirtualWalker` and simulated gates): when a walk
trial is ready the patient steps off the plate (if on it) and goes to the start; at the go beep
they walk (after ``reaction_s``) the protocol's walkway in its direction, or on the treadmill for
the planned time (a session ended sooner, with Stop, ends the walk there: :meth:`VirtualWalker.stop`), and
their trunk breaks the gates' beams (:class:`~station.sim.gpio.GateDriver`).
Walk lapses: ``stumble`` and ``pause`` (15 s standing) ``after_s`` into the walk, ``stop_walking``
(stops for good: overground the last gate is never reached, on the treadmill the rest of the
session is standing), ``false_start`` (a beam broken ``after_s`` into the countdown; walks with
gates only). :func:`lapse_problem` says why a lapse would do nothing in a protocol (the command
line refuses it); what can only be known as it runs (a lapse due after the patient's last step, an
attempt never made) :meth:`VirtualPatient.lapses_without_effect` says afterwards. :attr:`VirtualPatient.walks` keeps each walk's truth. That is how the command line's ``--simulate`` runs and the
end-to-end tests provoke balance losses and invalid trials.

Person events must be scheduled in time order and in the simulation's future; actions are
therefore queued and handed to the person on the runner's loop ticks, shortly before they are due.
"""

from __future__ import annotations

from dataclasses import dataclass

ACTIONS = ("step_off", "stumble", "touch_down", "pause", "stop_walking", "false_start")
WALK_ACTIONS = ("stumble", "pause", "stop_walking", "false_start")
LEAN_EFFORT = 1.5
"""Limits-of-stability leans aim this far beyond the patient's own limit (as far as they can)."""
PAUSE_S = 15.0
"""How long a ``pause`` lapse stands still, s."""
COMMIT_AHEAD_S = 0.15
"""Actions are handed to the person this long before they are due (the loop ticks every ~50 ms)."""
MIN_STEP_S = 0.001


@dataclass(frozen=True)
class Lapse:
    """In condition ``condition``'s attempt ``attempt`` (of trial ``trial``), do ``action``
    ``after_s`` seconds into the recording (``touch_down``: into the time on one leg)."""

    condition: str
    action: str
    after_s: float
    attempt: int = 1
    trial: int = 1

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown lapse action {self.action!r}; allowed: {', '.join(ACTIONS)}")
        if not self.after_s >= 0:
            raise ValueError(f"after_s must be >= 0 s, not {self.after_s!r}")


STANCE_ACTIONS = ("step_off", "stumble", "touch_down")
"""What the patient can do wrong in a stance trial (a limits-of-stability lean and a game included)."""


def lapse_problem(lapse: Lapse, protocol, trial_s: float | None = None) -> str | None:
    """Why ``lapse`` would do nothing in ``protocol`` (a :class:`station.protocols.schema.Protocol`
    that has ``lapse.condition``), in words for the command line, or None when it acts.
    ``trial_s``: how long that trial lasts, s (its planned minutes on a treadmill, a game's
    session), default the condition's ``duration_s``."""
    condition = protocol.condition(lapse.condition)
    walk = protocol.walk
    allowed = list(STANCE_ACTIONS if walk is None else WALK_ACTIONS)
    if walk is None and not condition.single_leg:
        allowed.remove("touch_down")  # puts a lifted foot down: single-leg stance only
    if walk is not None and not walk.gates_m:
        allowed.remove("false_start")  # a beam broken before the go: no gates, nothing to break
    if lapse.action not in allowed:
        why = f"is not something a patient does in a {'walk' if walk else 'stance'} trial"
        if lapse.action == "touch_down" and walk is None:
            why = f"puts the lifted foot down, and {lapse.condition} is no single-leg stance"
        elif lapse.action == "false_start" and walk is not None:
            why = f"breaks a light gate's beam before the go, and {protocol.name} ({walk.setting}) has no gates"
        return f"{lapse.action} {why}; allowed in {lapse.condition}: {', '.join(allowed)}"
    if lapse.trial > protocol.trials_per_condition:
        return f"trial {lapse.trial}: {protocol.name} has {protocol.trials_per_condition} trial(s) per condition"
    if lapse.attempt > protocol.max_attempts:
        return f"attempt {lapse.attempt}: {protocol.name} allows {protocol.max_attempts} attempt(s)"
    if lapse.action == "false_start":
        if lapse.after_s >= protocol.countdown_s:
            return (f"false_start after {lapse.after_s:g} s: a false start comes during the {protocol.countdown_s:g}-s "
                    "countdown (AFTER_S counts from its start)")
        return None
    limit_s = condition.duration_s if trial_s is None else trial_s
    if lapse.after_s >= limit_s:
        return f"{lapse.action} after {lapse.after_s:g} s: the trial lasts {limit_s:g} s"
    return None


def parse_lapse(text: str) -> Lapse:
    """``CONDITION:ACTION:AFTER_S[:ATTEMPT[:TRIAL]]``, e.g. ``foam_ec:step_off:12``."""
    parts = text.split(":")
    if not 3 <= len(parts) <= 5:
        raise ValueError(f"{text!r} is not CONDITION:ACTION:AFTER_S[:ATTEMPT[:TRIAL]] (e.g. foam_ec:step_off:12)")
    try:
        after_s = float(parts[2])
        attempt = int(parts[3]) if len(parts) > 3 else 1
        trial = int(parts[4]) if len(parts) > 4 else 1
    except ValueError:
        raise ValueError(f"{text!r}: AFTER_S must be a number of seconds, ATTEMPT and TRIAL whole numbers") from None
    return Lapse(parts[0], parts[1], after_s, attempt, trial)


class VirtualPatient:
    """Follows a :class:`~station.protocols.runner.ProtocolRunner` with a virtual person.

    Parameters
    ----------
    person : station.sim.person.VirtualPerson or None
        On the simulated plate (as the station's load source), normally starting off the plate;
        None for a patient who only walks (:class:`station.sim.scenarios.ScenarioGates`).
    lapses : iterable of Lapse
    time_origin_ns : int
        Station-clock time that the person sees as ``t_s = 0`` (the simulated plate's origin).
    reaction_s : float
        How long the patient takes to react to an instruction or a beep, s.
    on_plate : bool
        Whether the person starts on the plate (``VirtualPerson(..., on_plate=...)``).
    """

    def __init__(self, person, lapses=(), *, time_origin_ns: int = 0, reaction_s: float = 0.4,
                 on_plate: bool = False, walker=None, gate_driver=None, gate_pins: dict | None = None,
                 gait: str = "healthy") -> None:
        self.person = person
        self.walker = walker
        self.gate_driver = gate_driver
        self.gate_pins = dict(gate_pins or {})
        """Position along the walkway (m) -> GPIO of each simulated gate."""
        self.gait = gait
        self._false_started: set = set()
        self.walks: list = []
        """(trial description, WalkPlan) of every walk, the truth for tests."""
        self.lapses = list(lapses)
        self.time_origin_ns = int(time_origin_ns)
        self.reaction_s = reaction_s
        self._pending: list[tuple[float, str, dict]] = []
        self._last_s = 0.0
        self._on_plate = bool(on_plate)
        self._single = False
        self._leaning = False
        self._vision = None
        self._surface = None
        self._trial: dict | None = None
        self._protocol = None
        self.done: list[tuple[float, str]] = []
        """(person time s, action) of everything handed to the person."""
        self._lapse_misses: dict = {}
        """Lapse -> why it did nothing (its trial ran, it came too late); a lapse that acted is absent."""
        self._lapses_acted: set = set()
        from station.sim.game_player import GamePlayer

        self._player = GamePlayer(reaction_s)
        """Plays training games from their live state (``game`` events)."""

    def attach(self, runner) -> None:
        self._protocol = runner.protocol
        runner.bus.subscribe(self.on_event)
        runner.add_tick(self.tick)

    def use_protocol(self, protocol) -> None:
        """Follow ``protocol``'s conditions, for a patient fed events from elsewhere (through
        :meth:`on_event` and :meth:`tick`) rather than attached to a runner in this process."""
        self._protocol = protocol

    def _t(self, t_ns: int) -> float:
        return (t_ns - self.time_origin_ns) / 1e9

    def _queue(self, due_s: float, action: str, **kwargs) -> None:
        self._pending.append((due_s, action, kwargs))
        self._pending.sort(key=lambda p: p[0])

    def _cancel_trial_actions(self) -> None:
        self._pending = [p for p in self._pending if not p[2].get("lapse")]

    def on_event(self, event) -> None:
        now_s = self._t(event.t_ns)
        data = event.data
        if event.kind == "game":
            if self._on_plate and not self._single:
                for due_s, action, kwargs in self._player.on_state(now_s, data):
                    self._queue(due_s, action, lapse=True, **kwargs)
            return
        if event.kind == "trial_ready":
            self._player.reset()
        if event.kind == "trial_ready" and self._protocol is not None and self._protocol.walk is not None:
            self._cancel_trial_actions()
            condition = self._protocol.condition(data["condition"])
            self._trial = {"condition": condition, "trial": data["trial"], "attempt": data["attempt"]}
            if self._on_plate:
                self._queue(now_s + self.reaction_s, "step_off")
            return
        if event.kind == "state" and self._trial is not None and self._protocol is not None and self._protocol.walk is not None:
            self._on_walk_state(now_s, data)
            return
        if event.kind == "trial_ready":
            self._cancel_trial_actions()
            condition = self._protocol.condition(data["condition"])
            self._trial = {"condition": condition, "trial": data["trial"], "attempt": data["attempt"]}
            if condition.stance.surface != self._surface:
                self._queue(now_s + self.reaction_s, "set_condition", surface=condition.stance.surface)
            if not self._on_plate:
                self._queue(now_s + 2 * self.reaction_s, "step_on")
        elif event.kind == "state" and self._trial is not None:
            state = data["state"]
            condition = self._trial["condition"]
            if state == "countdown" and condition.stance.eyes != self._vision:
                self._queue(now_s + self.reaction_s, "set_condition", vision=condition.stance.eyes)
            elif state == "recording":
                start_s = now_s
                if self._protocol.outcome == "limits_of_stability":
                    self._queue(start_s, "lean", direction=condition.id)
                if condition.single_leg:
                    side = "left" if condition.stance.feet == "single_left" else "right"
                    self._queue(start_s + self.reaction_s, "single_leg", side=side)
                for lapse in self.lapses:
                    if (lapse.condition, lapse.attempt, lapse.trial) == (condition.id, self._trial["attempt"], self._trial["trial"]):
                        due = start_s + lapse.after_s
                        if lapse.action == "touch_down":
                            due += self.reaction_s + 1.0  # the weight shift before the foot lifts
                        self._queue(due, lapse.action, lapse=lapse)
            elif state in ("done", "aborted"):
                for _, _, kwargs in self._pending:
                    if isinstance(kwargs.get("lapse"), Lapse):
                        self._lapse_misses[kwargs["lapse"]] = "the trial had ended before it was due"
                self._cancel_trial_actions()
                if self._leaning:
                    self._queue(now_s, "return_to_centre")
                if self._single:
                    self._queue(now_s + self.reaction_s, "touch_down", fall_s=0.0)
                if self._vision == "closed":
                    self._queue(now_s + 2 * self.reaction_s, "set_condition", vision="open")

    def _lapses_now(self) -> list:
        condition = self._trial["condition"]
        return [lapse for lapse in self.lapses
                if (lapse.condition, lapse.attempt, lapse.trial) == (condition.id, self._trial["attempt"], self._trial["trial"])]

    def _on_walk_state(self, now_s: float, data: dict) -> None:
        state = data["state"]
        if state == "countdown":
            for lapse in self._lapses_now():
                used = [p for p in self._protocol.walk.gates_m if p in self.gate_pins]
                if lapse.action == "false_start" and self.gate_driver is not None and used \
                        and lapse not in self._false_started:
                    self._false_started.add(lapse)  # once: the patient starts properly next time
                    self._lapses_acted.add(lapse)
                    pin = self.gate_pins[used[0]]
                    at_ns = self.time_origin_ns + int((now_s + lapse.after_s) * 1e9)
                    self.gate_driver.schedule([(at_ns, pin, True), (at_ns + 150_000_000, pin, False)])
        elif state == "recording" and self.walker is not None:
            self._queue(now_s + self.reaction_s, "walk", duration_s=float(data.get("duration_s") or 60.0),
                        trial=dict(data), lapse=True)
        elif state in ("done", "aborted"):
            self._cancel_trial_actions()
            self._stop_walking(now_s + self.reaction_s)

    def _stop_walking(self, at_s: float) -> None:
        """The treadmill session ended: its walk, planned for the whole planned time, ends at ``at_s`` when it
        goes on (Stop ended the session sooner), the belt stopped, so that the patient steps onto the plate
        for the next stance test rather than walking on for the planned minutes. An overground walk ends by
        itself past the walkway's end, as it was planned (its gates' beams are scheduled already)."""
        if self.walker is None or self._protocol.walk.setting != "treadmill":
            return
        plan = self.walker.stop(at_s)
        if plan is not None and self.walks:
            self.walks[-1] = (self.walks[-1][0], plan)  # the truth: the walk as it was walked

    def _walk(self, at_s: float, duration_s: float, trial: dict) -> None:
        from station.sim.walker import PATTERNS, Pause, at_fast_pace

        if self.walker.walks and at_s < self.walker.walks[-1].end_s:
            # still finishing the last walk (a pause outlasted its attempt, and the next began at once):
            # the patient walks again once that walk is done, as a person would
            at_s = self.walker.walks[-1].end_s + self.reaction_s
        spec = self._protocol.walk
        condition = self._trial["condition"]
        gait = self.gait
        fast = condition.pace == "fast"
        if spec.direction == "backward" and gait == "fast":
            # the fast walker (a healthy person at its fastest) walks backward on backward steps, fast
            gait, fast = "backward", True
        if spec.direction == "backward" and f"{gait}-backward" in PATTERNS:
            gait = f"{gait}-backward"
        elif spec.direction == "backward" and gait == "healthy":
            gait = "backward"
        elif fast and gait == "healthy":
            gait = "fast"
        pattern = PATTERNS[gait]
        if fast and gait != "fast":
            # every walker is faster when asked to be, as the healthy one is: older and hemiparetic
            # walkers, and anyone walking backward (the 3-m backward walk's "as fast as safely possible")
            pattern = at_fast_pace(pattern)
        stumble = stop = None
        pauses = []
        for lapse in self._lapses_now():
            if lapse.action == "stumble":
                stumble = lapse.after_s
            elif lapse.action == "stop_walking":
                stop = lapse.after_s
            elif lapse.action == "pause":
                pauses.append(Pause(lapse.after_s, PAUSE_S))
        if spec.setting == "treadmill":
            belt = (trial.get("settings") or {}).get("belt_speed_m_s")
            plan = self.walker.walk(at_s, direction=spec.direction, setting="treadmill", pattern=pattern,
                                    duration_s=duration_s + 5.0, belt_speed_m_s=belt, pauses=tuple(pauses),
                                    stumble_after_s=stumble, stop_after_s=stop)
        else:
            plan = self.walker.walk(at_s, direction=spec.direction, setting="overground", pattern=pattern,
                                    walkway_m=spec.walkway_m, pauses=tuple(pauses), stumble_after_s=stumble,
                                    stop_after_s=stop)
            if self.gate_driver is not None:
                changes = []
                for position_m, pin in self.gate_pins.items():
                    for t_s, broken in plan.gate_changes(position_m):
                        changes.append((self.time_origin_ns + int(round(t_s * 1e9)), pin, broken))
                self.gate_driver.schedule(changes)
        self.walks.append(({k: self._trial[k] for k in ("trial", "attempt")} | {"condition": condition.id}, plan))
        walked_s = float(plan.initial_contacts_s[-1] - at_s)
        pauses_done = len(plan.pauses)
        for lapse in sorted(self._lapses_now(), key=lambda lapse: lapse.after_s):
            acted = {"stumble": plan.stumble_s is not None, "stop_walking": plan.stopped_early}.get(lapse.action)
            if lapse.action == "pause":
                acted, pauses_done = pauses_done > 0, pauses_done - 1
            if acted:
                self._lapses_acted.add(lapse)
            elif acted is not None:
                self._lapse_misses[lapse] = f"the patient's last step came {walked_s:.1f} s into the walk"

    def lapses_without_effect(self) -> list[tuple[Lapse, str]]:
        """Each lapse that did nothing and why, in words for the command line: it came after the walk
        or the trial had ended, or its trial or attempt never ran (e.g. an attempt 2 after a valid
        attempt 1). :func:`lapse_problem` refuses beforehand what can be known beforehand."""
        out = []
        for lapse in self.lapses:
            if lapse in self._lapses_acted:
                continue
            why = self._lapse_misses.get(lapse) or (f"trial {lapse.trial}, attempt {lapse.attempt} of "
                                                    f"{lapse.condition} never ran")
            out.append((lapse, why))
        return out

    def tick(self, now_ns: int) -> None:
        """Hand the person every queued action due within :data:`COMMIT_AHEAD_S`."""
        now_s = self._t(now_ns)
        while self._pending and self._pending[0][0] <= now_s + COMMIT_AHEAD_S:
            due_s, action, kwargs = self._pending.pop(0)
            at_s = max(due_s, now_s + MIN_STEP_S, self._last_s + MIN_STEP_S)
            lapse = kwargs.get("lapse")
            if self._apply(action, at_s, {k: v for k, v in kwargs.items() if k != "lapse"}):
                self._last_s = at_s
                self.done.append((at_s, action))
                if isinstance(lapse, Lapse):
                    self._lapses_acted.add(lapse)
            elif isinstance(lapse, Lapse):
                self._lapse_misses[lapse] = "the patient could not do it then"

    def _apply(self, action: str, at_s: float, kwargs: dict) -> bool:
        p = self.person
        if action == "walk":
            self._walk(at_s, kwargs["duration_s"], kwargs["trial"])
            return True
        if p is None:  # a patient that only walks (the station process's copy driving the gates)
            return False
        if action == "step_on":
            if self._on_plate:
                return False
            p.step_on(at_s)
            self._on_plate = True
            self._last_s = at_s + 0.5  # the person is busy stepping on
            return True
        if action == "step_off":
            if not self._on_plate:
                return False
            if self._single:
                p.touch_down(at_s, fall_s=0.0)
                at_s += 0.5
                self._single = False
            p.step_off(at_s)
            self._on_plate = False
            self._last_s = at_s + 0.5
            return True
        if action == "set_condition":
            p.set_condition(at_s, **kwargs)
            self._vision = kwargs.get("vision", self._vision)
            self._surface = kwargs.get("surface", self._surface)
            return True
        if action == "single_leg":
            if not self._on_plate or self._single:
                return False
            p.single_leg(at_s, side=kwargs["side"])
            self._single = True
            self._last_s = at_s + 1.0
            return True
        if action == "touch_down":
            if not self._single:
                return False
            p.touch_down(at_s, **kwargs)
            self._single = False
            return True
        if action == "stumble":
            if not self._on_plate:
                return False
            p.stumble(at_s)
            return True
        if action == "lean":  # the person's own reaction time follows the go
            if not self._on_plate or self._single:
                return False
            p.lean_in_direction(at_s, kwargs["direction"], LEAN_EFFORT)
            self._leaning = True
            return True
        if action == "return_to_centre":  # after an LOS lean, or a game's lean
            if not self._on_plate or self._single:
                return False
            p.return_to_centre(at_s)
            self._leaning = False
            return True
        if action == "lean_toward":
            if not self._on_plate or self._single:
                return False
            p.lean_toward(at_s, kwargs["ap_cm"], kwargs["ml_cm"], reaction_s=kwargs.get("reaction_s"))
            return True
        raise ValueError(f"unknown action {action!r}")
