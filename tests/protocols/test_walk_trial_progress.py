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


def _finished(progress, result: dict) -> list[str]:
    progress.stream = io.StringIO()
    progress(Event(9, 9_000_000_000, "trial_finished", {"condition": "comfortable", "trial": 1, "attempt": 1,
                                                         "result": result}))
    return progress.stream.getvalue().splitlines()


def test_a_trials_warnings_are_printed_once_each_under_its_line():
    """The trial's warnings reach the terminal (they were on the trial's page only): each on its own
    line, except those the trial's line already says (the walk's gaps, its early end, the withheld
    estimate)."""
    progress = Progress(io.StringIO())
    uncalibrated = "Forces use the nominal load-cell data: the plate is not calibrated."
    lines = _finished(progress, {"valid": True, "walk": None, "metrics": {}, "time_held_s": None, "samples": 3000,
                                 "warnings": [uncalibrated]})
    assert lines[0].endswith("[comfortable t1 a1] valid, 3000 frames")
    assert lines[1:] == [lines[1][:12] + f"[comfortable t1 a1] warning: {uncalibrated}"]

    gaps = "0.3 s not measured (1 sensor dropout): the lower-back sensor's signal dropped out"
    early = "The station stopped receiving data 1.5 s after the go: the test ended there."
    withheld = "The lower-back sensor's estimate of the walking speed (0.70 m/s) is 133 % above ..."
    gate = "A gate was timed by when the station saw it, not by the GPIO driver's timestamp."
    walk = {"setting": "overground", "walk_time_s": 10.0, "walk_distance_m": 3.0, "walk_speed_m_s": 0.3, "imu": None,
            "imu_gaps": {"not_measured_s": 0.3, "words": gaps}, "ended_early": early,
            "imu_estimate_withheld": {"off_pct": 133.3, "words": withheld}}
    lines = _finished(progress, {"valid": True, "walk": walk, "warnings": [gaps, gate, withheld, early]})
    assert len(lines) == 2, lines
    assert "; gait: 0.3 s not measured (1 sensor dropout)" in lines[0] and f"; ended early: {early}" in lines[0]
    assert "; step length and speed not given (the lower-back sensor's estimate +133 % off the gates' speed)" in lines[0]
    assert lines[1].endswith(f"[comfortable t1 a1] warning: {gate}")


def test_a_treadmill_session_and_a_game_print_their_time_as_the_pages_say_it():
    """A time walked or played reads as every page and PDF says it (walk_words.walked_words,
    app.js Station.walkedTime): "26 s", "2 min 30 s"; it printed "0.44 min walking" and "2.5 min"."""
    from station.commands.trial import _game_lines

    progress = Progress(io.StringIO())
    walk = {"setting": "treadmill", "walking_min": 0.44, "pauses": 1}
    (line,) = _finished(progress, {"valid": True, "walk": walk, "warnings": []})
    assert line.endswith("[comfortable t1 a1] 26 s walking, 1 pause(s)"), line
    game = {"title": "Catch", "minutes": 2.5, "schedule": {"game": "catch", "level": 1},
            "result": {"score": 80, "score_definition": "hits"}}
    assert _game_lines([game])[0] == "  Catch, level 1: score 80 of 100; 2 min 30 s"
