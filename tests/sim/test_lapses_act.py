"""Every lapse the command line accepts acts, or is refused before anything runs (with what is
allowed). Found by an attack review: ``--lapse session:stop_walking:10`` and
``session:false_start:0`` on ``backward-treadmill`` were accepted and ignored (the treadmill walk
was never told to stop; a treadmill has no gates to break), and ``comfortable:stop_walking:0`` on
``ten-metre-walk`` was ignored (``stop_after_s or 600.0``: 0 is falsy)."""

from __future__ import annotations

import json

import pytest

from station.cli import main
from station.protocols.loader import builtin_protocols
from station.protocols.walk import WalkSettings
from station.sim.virtual_patient import Lapse, lapse_problem
from station.sim.walker import VirtualWalker
from tests.protocols.walk_support import go_s, run_walk, write_builtin_once


def test_the_walker_stops_when_told_even_at_0_s_overground_and_on_the_treadmill():
    walker = VirtualWalker(seed=4)
    free = walker.walk(1.0, walkway_m=10.0)
    assert len(free.initial_contacts_s) > 10
    stopped = VirtualWalker(seed=4).walk(1.0, walkway_m=10.0, stop_after_s=0.0)
    assert len(stopped.initial_contacts_s) == 1  # the step moved off with, then no more
    assert stopped.knots_p_m[-1] < 1.0  # nowhere near the end of the walkway: no gate at 2 m is reached
    assert stopped.gate_time_s(2.0) is None
    treadmill = VirtualWalker(seed=4).walk(1.0, setting="treadmill", duration_s=60.0, stop_after_s=10.0)
    assert treadmill.initial_contacts_s[-1] <= 11.0 < treadmill.initial_contacts_s[-1] + 1.0
    assert treadmill.end_s < 12.0
    whole = VirtualWalker(seed=4).walk(1.0, setting="treadmill", duration_s=60.0)
    assert whole.initial_contacts_s[-1] > 59.0


def test_a_treadmill_stop_walking_lapse_stops_the_patient_for_the_rest_of_the_session():
    settings = WalkSettings(planned_min=1.0, sensor_height_m=0.986)
    run = run_walk("backward-treadmill", settings=settings, lapses=(Lapse("session", "stop_walking", 10.0),))
    (_, plan), = run.patient.walks
    go = go_s(run, 0)
    assert plan.initial_contacts_s[-1] - go < 10.0 + run.patient.reaction_s + 1.0  # no step after the stop
    (result,) = run.results()
    walking_min = result["walk"]["walking_min"]
    assert walking_min is not None and walking_min < 0.25  # about 10 s of a 1-min session, not 0.98 min


def test_stop_walking_at_0_s_overground_is_a_walk_never_made():
    # the attempt that never walks runs to its time limit: 30 s, not the protocol's 120 (a walk takes ~10)
    run = run_walk("ten-metre-walk", trials=1, lapses=(Lapse("comfortable", "stop_walking", 0.0),), duration_s=30.0)
    first = run.results()[0]
    assert first["condition"] == "comfortable" and not first["valid"]  # no gate reached, no steps: repeated
    assert "did not start walking" in " ".join(i["message"] for i in first["issues"])
    assert len(run.patient.walks[0][1].initial_contacts_s) == 1


PROTOCOLS = builtin_protocols()


@pytest.mark.parametrize("protocol, lapse, said", [
    ("backward-treadmill", Lapse("session", "false_start", 0.0), "has no gates"),
    ("backward-treadmill", Lapse("session", "step_off", 3.0), "not something a patient does in a walk trial"),
    ("backward-treadmill", Lapse("session", "stop_walking", 4000.0), "the trial lasts"),
    ("ten-metre-walk", Lapse("comfortable", "false_start", 5.0), "during the 3-s countdown"),
    ("ten-metre-walk", Lapse("comfortable", "touch_down", 1.0), "not something a patient does in a walk trial"),
    ("ten-metre-walk", Lapse("comfortable", "stumble", 3.0, 1, 3), "2 trial(s) per condition"),
    ("ten-metre-walk", Lapse("comfortable", "stumble", 3.0, 4), "allows 3 attempt(s)"),
    ("romberg", Lapse("eo", "pause", 3.0), "not something a patient does in a stance trial"),
    ("romberg", Lapse("eo", "touch_down", 3.0), "eo is no single-leg stance"),
    ("romberg", Lapse("eo", "step_off", 40.0), "the trial lasts 30 s"),
])
def test_lapses_that_would_do_nothing_are_refused_with_what_is_allowed(protocol, lapse, said):
    problem = lapse_problem(lapse, PROTOCOLS[protocol])
    assert problem is not None and said in problem


@pytest.mark.parametrize("protocol, lapse", [
    ("backward-treadmill", Lapse("session", "stop_walking", 10.0)),
    ("backward-treadmill", Lapse("session", "pause", 10.0)),
    ("ten-metre-walk", Lapse("comfortable", "stop_walking", 0.0)),
    ("ten-metre-walk", Lapse("comfortable", "false_start", 1.0)),
    ("single-leg", Lapse("left", "touch_down", 4.0)),
    ("romberg", Lapse("ec", "step_off", 12.0)),
])
def test_lapses_that_act_are_accepted(protocol, lapse):
    assert lapse_problem(lapse, PROTOCOLS[protocol]) is None


def test_the_command_line_refuses_them_in_one_line_before_running(capsys):
    status = main(["trial", "--simulate", "--protocol", "backward-treadmill", "--planned-min", "1", "--quiet",
                   "--lapse", "session:false_start:0"])
    out, err = capsys.readouterr()
    assert status == 1 and out == ""
    (line,) = err.splitlines()
    assert line.startswith("balance-station trial: --lapse session:false_start:0: false_start breaks a light gate's beam")
    assert line.endswith("allowed in session: stumble, pause, stop_walking")
    # the planned minutes bound a treadmill lapse
    assert main(["trial", "--simulate", "--protocol", "backward-treadmill", "--planned-min", "1", "--quiet",
                 "--lapse", "session:stop_walking:90"]) == 1
    assert "stop_walking after 90 s: the trial lasts 60 s" in capsys.readouterr().err


def test_lapses_that_come_after_the_walk_or_in_an_attempt_never_made_are_said_to_have_done_nothing():
    # Overground, a walk lapse due after the patient's last step cannot be refused beforehand (how long
    # the walk takes is the walker's); afterwards it is said, as is a lapse of an attempt never run.
    lapses = (Lapse("fast", "stumble", 1.0), Lapse("fast", "stop_walking", 30.0), Lapse("fast", "pause", 20.0),
              Lapse("fast", "stumble", 2.0, 2))
    run = run_walk("backward-walk-3m", lapses=lapses, trials=1)
    missed = dict(run.patient.lapses_without_effect())
    assert set(missed) == set(lapses[1:])  # the stumble 1 s in happened
    (_, plan), = run.patient.walks
    assert plan.stumble_s is not None and not plan.stopped_early and plan.pauses == []
    assert missed[lapses[1]].startswith("the patient's last step came ") and missed[lapses[1]].endswith(" s into the walk")
    assert missed[lapses[3]] == "trial 1, attempt 2 of fast never ran"


def test_lapses_that_act_are_not_said_to_have_done_nothing():
    # no rest: the fast attempt starts while the paused walk of the last one is still going (the walker
    # refused that overlap with a ValueError); the patient finishes it first
    run = run_walk("ten-metre-walk", trials=1, lapses=(Lapse("comfortable", "stop_walking", 2.0),
                                                        Lapse("fast", "pause", 1.0)))
    assert run.patient.lapses_without_effect() == []
    assert run.patient.walks[0][1].stopped_early


def test_the_command_line_warns_of_a_lapse_that_did_nothing_and_keeps_it_in_the_json(capsys, tmp_path):
    once = write_builtin_once("backward-walk-3m", tmp_path, trials=2)  # one walk, no rest: the lapse is the first's
    status = main(["trial", "--simulate", "--protocol", once, "--protocols-dir", str(tmp_path), "--quiet", "--json",
                   "--lapse", "fast:stop_walking:30"])
    out, err = capsys.readouterr()
    assert status == 0
    assert "warning: --lapse fast:stop_walking:30 did nothing: the patient's last step came " in err
    (entry,) = json.loads(out)["lapses_without_effect"]
    assert entry["lapse"] == "fast:stop_walking:30" and entry["why"].endswith("s into the walk")
