"""``balance-station trial`` prints a walk test's progress without its listener failing: every state
event of a walk trial (its recording state carries the walk but no message) makes a line. (The
event bus logs a failing listener with its traceback on the terminal; here it is called directly.)"""

from __future__ import annotations

import io

from station.commands.trial import Progress
from station.protocols.events import Event


def test_every_state_of_a_walk_trial_prints_a_line():
    out = io.StringIO()
    progress = Progress(out)
    walk = {"direction": "backward", "setting": "overground"}
    where = {"condition": "comfortable", "trial": 1, "attempt": 1}
    for seq, data in enumerate([
            {"state": "waiting", "message": "Waiting for the light gates' beams to be clear.", "walk": walk},
            {"state": "countdown"},
            {"state": "recording", "duration_s": 120, "walk": walk, "settings": {}},
            {"state": "aborted", "message": "Stopped before the go."}], start=1):
        progress(Event(seq, seq * 1_000_000_000, "state", {**data, **where}))
    printed = out.getvalue()
    assert "[comfortable t1 a1] Waiting for the light gates' beams to be clear." in printed
    assert "[comfortable t1 a1] recording (time limit 120 s)" in printed  # a walk ends at its gate and "not started: Stopped before the go." in printed
