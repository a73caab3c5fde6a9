"""The acquisition supervisor's rules without processes: restart on death, re-attach readers,
count, and give up after too many deaths in the window (issue 14, findings 12 and 13)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from station.acquire.supervisor import AcquisitionSupervisor, die_with_parent, parent_watch


class FakeProcess:
    def __init__(self):
        self.alive = True
        self.starts = 0
        self.stops = 0

    def is_alive(self):
        return self.alive

    def start(self):
        self.starts += 1
        self.alive = True

    def stop(self):
        self.stops += 1


class FakeReader:
    def __init__(self):
        self.reattached = 0

    def reattach(self):
        self.reattached += 1


def test_restarts_a_dead_process_and_reattaches_readers_then_gives_up():
    now = [0.0]
    process, reader = FakeProcess(), FakeReader()
    sup = AcquisitionSupervisor(process, [reader], max_restarts=3, window_s=60.0, clock=lambda: now[0])
    assert sup.check() and process.starts == 0  # alive: nothing to do
    for i in range(3):
        process.alive = False
        now[0] += 1.0
        assert sup.check()
        assert process.starts == i + 1 and reader.reattached == i + 1
    process.alive = False
    assert not sup.check()  # a fourth death within the window: not restarted
    assert sup.status() == {"restarts": 3, "deaths": 4, "last_exit": "exit status unknown", "gave_up": True,
                            "error": None}


def test_deaths_outside_the_window_do_not_count():
    now = [0.0]
    process = FakeProcess()
    sup = AcquisitionSupervisor(process, max_restarts=2, window_s=10.0, clock=lambda: now[0])
    for _ in range(5):
        process.alive = False
        now[0] += 11.0
        assert sup.check()
    assert sup.restarts == 5 and not sup.gave_up


def test_a_child_dies_with_its_parent_even_on_sigkill(tmp_path):
    """A grandchild that set PR_SET_PDEATHSIG is terminated when its parent is SIGKILLed."""
    marker = tmp_path / "pid"
    code = f"""
import os, signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", '''
import os, sys, time
sys.path.insert(0, {str(os.getcwd())!r})
from station.acquire.supervisor import die_with_parent, parent_watch
assert die_with_parent()
gone = parent_watch()
open({str(marker)!r}, "w").write(str(os.getpid()))
while not gone():
    time.sleep(0.01)
time.sleep(60)
'''])
time.sleep(60)
"""
    parent = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 30
    while not marker.exists() or not marker.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child = int(marker.read_text())
    parent.kill()
    parent.wait(5)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{child}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
        except OSError:
            break
        time.sleep(0.05)
    else:
        os.kill(child, 9)
        raise AssertionError("the child outlived its parent")


def test_parent_watch_notices_a_new_parent():
    gone = parent_watch(parent_pid=os.getppid())
    assert not gone()
    assert parent_watch(parent_pid=-1)()
    assert die_with_parent() in (True, False)
