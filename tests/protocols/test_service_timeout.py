"""A trial-service command that timed out never runs later (the tablet was told it failed)."""

import threading

import numpy as np
import pytest

from station.acquire.frame import FRAME_DTYPE
from station.acquire.ring import FrameBlock
from station.protocols.service import ServiceUnavailable, TrialService


class _Clock:
    def monotonic_ns(self) -> int:
        return 0


class _Source:
    clock = _Clock()
    rate_hz = 100.0

    def read_frames(self, max_wait_s: float) -> FrameBlock:
        return FrameBlock(np.empty(0, dtype=FRAME_DTYPE), 0)

    def health(self) -> dict:
        return {"state": "ok"}


@pytest.fixture
def stalled_service():
    service = TrialService(_Source(), None, calibration={})
    release = threading.Event()
    # The service thread is alive but busy elsewhere (a slow disk, a long step).
    service._thread = threading.Thread(target=release.wait, daemon=True)
    service._thread.start()
    yield service
    release.set()
    service._thread.join(5)


def test_a_command_that_timed_out_is_withdrawn_and_never_runs(stalled_service):
    ran = []
    with pytest.raises(ServiceUnavailable, match="not carried out"):
        stalled_service._call(lambda: ran.append("skip"), (), 0.05)
    stalled_service._run_commands()  # the thread gets round to its queue
    assert ran == []


def test_a_command_already_running_when_the_wait_ends_gives_its_own_outcome(stalled_service):
    started, finish = threading.Event(), threading.Event()

    def slow():
        started.set()
        finish.wait(5)
        return {"done": True}

    result = {}
    caller = threading.Thread(target=lambda: result.update(value=stalled_service._call(slow, (), 0.2)), daemon=True)
    caller.start()
    while stalled_service._commands.empty():
        threading.Event().wait(0.005)
    runner = threading.Thread(target=stalled_service._run_commands, daemon=True)
    runner.start()  # picks the command up before the caller's wait ends
    assert started.wait(5)
    caller.join(0.5)  # the caller's 0.2 s have passed; it keeps waiting for the running command
    assert caller.is_alive()
    finish.set()
    caller.join(5)
    runner.join(5)
    assert result["value"] == {"done": True}
