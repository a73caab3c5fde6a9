"""A walk timed by light gates whose far gate picks up electrical glitches (a long cable on the
Pi's internal pull-up): the glitches are not the patient's crossing, the walk time is the
walker's truth within 1 ms (station.hw.gates.MIN_BREAK_S)."""

from __future__ import annotations

import pytest

from station.sim.gpio import GateDriver
from tests.protocols.walk_support import go_s, run_walk

MS = 1_000_000


def glitches_after_the_go(pin: int, after_s: tuple[float, ...], length_ns: int):
    """on_runner hook: once the walk records, glitches of ``length_ns`` on ``pin`` at ``after_s``."""

    def attach(runner):
        driver = next(hook.__self__ for hook in runner._ticks if isinstance(getattr(hook, "__self__", None), GateDriver))

        def on_event(event):
            if event.kind == "state" and event.data.get("state") == "recording":
                go = event.t_ns
                driver.schedule([c for t in after_s for c in ((go + int(t * 1e9), pin, True),
                                                               (go + int(t * 1e9) + length_ns, pin, False))])

        runner.bus.subscribe(on_event)

    return attach


@pytest.mark.parametrize("length_ns", [50_000, 5 * MS])
def test_glitches_on_the_8_m_gate_do_not_time_the_ten_metre_walk(length_ns):
    # The 8 m gate is GPIO 16 in walk_support.GATES; glitches about 1.0 and 1.5 s after the go, long
    # before the patient gets there. Off the trial loop's ticks on purpose: the simulation's
    # GateDriver changes a mock pin only on a tick, so a glitch beginning exactly on one would read
    # broken for a whole loop period, which a real pin (read by lgpio when asked) does not.
    run = run_walk("ten-metre-walk", seed=5, trials=1,
                   on_runner=glitches_after_the_go(16, (1.0013, 1.5027), length_ns))
    _, plan = run.patient.walks[0]
    walk = run.runner.records[0].result.walk
    truth = plan.gate_time_s(8.0) - plan.gate_time_s(2.0)
    assert walk["walk_time_s"] == pytest.approx(truth, abs=1e-3)
    far = [c for c in walk["crossings"] if c["position_m"] == 8.0][0]
    assert far["passes"] == 1
    assert far["at_s"] == pytest.approx(plan.gate_time_s(8.0) - go_s(run, 0), abs=1e-3)
    assert run.gates.glitches[far["gate"]] >= 2  # both glitches seen, neither counted
