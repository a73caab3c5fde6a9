"""How the virtual patient plays a biofeedback game: what it does on each live game state.

The station publishes the game's state (``game`` events, :mod:`station.protocols.training`); the
virtual patient (:class:`station.sim.virtual_patient.VirtualPatient`) hands each to a
:class:`GamePlayer`, which answers with the person's next moves (``lean_toward`` a point of the
plate frame, ``return_to_centre``), as a patient who watches the screen would:

* ``reach``: lean toward each target as it appears (the person's own limits of stability may keep
  it short of a far target: a miss), back to the centre in the rests;
* ``shift``: lean sideways to the middle of the weight band when a cycle starts, back in the rests;
* ``track``: re-aim every :data:`TRACK_REAIM_S` where the moving target will be
  :data:`TRACK_LEAD_S` later (it still lags at speed, as people do);
* ``steady``: stand still.

The person's reaction time and lean dynamics are :class:`station.sim.person.VirtualPerson`'s
(``lean_toward``: minimum-jerk movement within its own limits).
"""

from __future__ import annotations

TRACK_REAIM_S = 0.5
"""The tracking player aims at the moving target's latest position this often, s."""
TRACK_REACTION_S = 0.15
"""Reaction time of a re-aim while tracking (the target is already being followed), s."""
TRACK_LEAD_S = 0.8
"""The tracking player aims where the target will be this much later (its velocity from the last
two states), as people anticipate a smooth movement, s."""


class GamePlayer:
    """Turns game states into the person's moves. ``on_state(now_s, state)`` returns a list of
    ``(due_s, action, kwargs)`` for :meth:`VirtualPatient._queue` (person time, s)."""

    def __init__(self, reaction_s: float = 0.4) -> None:
        self.reaction_s = reaction_s
        self.reset()

    def reset(self) -> None:
        self._index = None
        self._phase = None
        self._next_aim_s = 0.0
        self._seen = None  # (now_s, ap_cm, ml_cm) of the moving target's last state

    def on_state(self, now_s: float, state: dict) -> list[tuple[float, str, dict]]:
        game = state.get("game")
        phase = state.get("phase")
        target = state.get("target") or {}
        moves: list[tuple[float, str, dict]] = []
        if game in ("reach", "shift"):
            if phase == "target" and target.get("index") is not None and target["index"] != self._index:
                self._index = target["index"]
                moves.append((now_s, "lean_toward", {"ap_cm": float(target["ap_cm"]), "ml_cm": float(target["ml_cm"])}))
            elif phase in ("rest", "over") and self._phase == "target":
                moves.append((now_s, "return_to_centre", {}))
        elif game == "track" and phase == "playing" and "ap_cm" in target:
            ap, ml = float(target["ap_cm"]), float(target["ml_cm"])
            seen, self._seen = self._seen, (now_s, ap, ml)
            if now_s >= self._next_aim_s and seen is not None and now_s - seen[0] > 1e-3:
                self._next_aim_s = now_s + TRACK_REAIM_S
                lead = TRACK_LEAD_S / (now_s - seen[0])
                moves.append((now_s, "lean_toward", {"ap_cm": ap + (ap - seen[1]) * lead, "ml_cm": ml + (ml - seen[2]) * lead,
                                                     "reaction_s": TRACK_REACTION_S}))
        elif game == "track" and phase == "over" and self._phase == "playing":
            moves.append((now_s, "return_to_centre", {}))
        self._phase = phase
        return moves
