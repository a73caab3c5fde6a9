"""Keeping the acquisition process tied to the station and alive (issue 14, findings 12 and 13).

**Dies with its parent.** :func:`die_with_parent`, called first thing in the acquisition process,
asks Linux to send it SIGTERM when the station process dies, even by SIGKILL
(``prctl(PR_SET_PDEATHSIG)``, through ctypes), and :func:`parent_gone` tells its loop when the
station it was started by is no longer its parent (the check that covers the moment before the
prctl call, and systems without prctl). An orphan used to keep running at SCHED_FIFO, holding the
I2C bus, and a restarted station started a second one.

**Restarted when it dies.** :class:`AcquisitionSupervisor` watches the process from the station
and starts it again when it exits without being asked to, at most :data:`MAX_RESTARTS` times in
:data:`RESTART_WINDOW_S` (a process that dies at once every time is a fault to show, not to loop
on), counting the restarts for the health document. After a restart the frame readers attach to
the new process's ring. When it gives up, health says so, and the systemd watchdog (fed only
while frames arrive) restarts the whole service.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import threading
import time
from collections import deque
from typing import Callable, Iterable

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
MAX_RESTARTS = 5
RESTART_WINDOW_S = 600.0
CHECK_INTERVAL_S = 0.5


def die_with_parent(sig: int = signal.SIGTERM) -> bool:
    """Have the kernel send ``sig`` to this process when its parent dies; True if it could."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def parent_watch(parent_pid: int | None = None) -> Callable[[], bool]:
    """A check, cheap enough for every frame: True once the process that started this one is no
    longer its parent (it died: the process was re-parented)."""
    expected = os.getppid() if parent_pid is None else parent_pid
    getppid = os.getppid

    def gone() -> bool:
        return getppid() != expected

    return gone


class AcquisitionSupervisor:
    """Restarts the acquisition process when it dies on its own.

    Parameters
    ----------
    process
        The :class:`~station.acquire.process.AcquisitionProcess` (``is_alive``, ``start``, ``stop``,
        ``pid``).
    readers : iterable
        Frame sources to re-attach after a restart (anything with ``reattach()``, such as
        :class:`~station.acquire.source.RingFrameSource`: it attaches again on next use, in the
        thread that reads it).
    max_restarts, window_s : int, float
        At most this many restarts within this many seconds.
    clock : callable
        Monotonic time, s.
    """

    def __init__(
        self,
        process,
        readers: Iterable = (),
        *,
        max_restarts: int = MAX_RESTARTS,
        window_s: float = RESTART_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.process = process
        self.readers = list(readers)
        self.max_restarts = max_restarts
        self.window_s = window_s
        self._clock = clock
        self._recent: deque[float] = deque()
        self.restarts = 0
        self.deaths = 0
        self.last_exit: str | None = None
        self.gave_up = False
        self.last_error: str | None = None
        self._lock = threading.Lock()

    def check(self) -> bool:
        """Restart the process if it died; True if it is running afterwards."""
        if self.process.is_alive():
            return True
        if self.gave_up:
            return False
        with self._lock:
            self.deaths += 1
            exitcode = getattr(getattr(self.process, "_process", None), "exitcode", None)
            self.last_exit = _describe_exit(exitcode)
            now = self._clock()
            while self._recent and self._recent[0] <= now - self.window_s:
                self._recent.popleft()
            if len(self._recent) >= self.max_restarts:
                self.gave_up = True
                log.error("the acquisition process died (%s) %d times within %.0f s; not restarting it again",
                          self.last_exit, len(self._recent) + 1, self.window_s)
                return False
            self._recent.append(now)
        log.warning("the acquisition process died (%s); restarting it", self.last_exit)
        try:
            self.process.stop()  # reap it, remove its ring
            self.process.start()
        except Exception as exc:  # AcquisitionStartError: tried again at the next check
            self.last_error = str(exc)
            log.error("restarting the acquisition failed: %s", exc)
            return False
        for reader in self.readers:
            # Only mark them: the readers belong to other threads (the trial service, the web
            # server) that may be copying frames right now; closing a mapping under them would
            # fail their read. Each attaches to the new ring on its next read.
            reader.reattach()
        with self._lock:
            self.restarts += 1
            self.last_error = None
        return True

    def run(self, stopping: threading.Event, interval_s: float = CHECK_INTERVAL_S) -> None:
        """Check until ``stopping`` is set (the station's supervisor thread)."""
        while not stopping.wait(interval_s):
            try:
                self.check()
            except Exception:  # never let the supervisor die
                log.exception("acquisition supervisor check failed")

    def status(self) -> dict:
        """For the health document: ``{"restarts", "deaths", "last_exit", "gave_up", "error"}``."""
        with self._lock:
            return {"restarts": self.restarts, "deaths": self.deaths, "last_exit": self.last_exit,
                    "gave_up": self.gave_up, "error": self.last_error}


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "exit status unknown"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"
