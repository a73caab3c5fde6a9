"""Where consumers get frames: the :class:`FrameSource` protocol and its ring implementation.

The trial state machine, the recorder and the live view read frames through this one interface,
whether the acquisition runs in another process (:class:`RingFrameSource`, real time) or in-process
under a simulated clock (:class:`station.sim.station.SimulatedStation`, built by a composition root).
"""

from __future__ import annotations

import math
import threading
import time
from typing import Protocol

from station.acquire.ring import FrameBlock, RingReader
from station.clock import Clock, MonotonicClock


class FrameSource(Protocol):
    """A stream of frames (FRAME_DTYPE) with the station's health."""

    clock: Clock
    rate_hz: float

    def read_frames(self, max_wait_s: float) -> FrameBlock:
        """All frames since the last call (oldest first) and how many this reader missed;
        waits up to ``max_wait_s`` for at least one."""
        ...

    def health(self) -> dict:
        """The health document of ``GET /healthz``."""
        ...


HEALTH_STALE_S = 3.0
"""A health document older than this means the acquisition process is not responding."""

NO_FRAMES_S = 1.0
"""The newest frame in the ring older than this (the health report itself still fresh): the
acquisition sends no frames (its loop blocked, the Pi late), state ``nodata``; and an acquisition
that started longer ago than this without a frame in its ring is ``nodata`` too (``starting`` until
then). The live view greys its values after the same second without a frame (``STALE_MS`` in
web/static/js/live.js), so every page's health chip says what the live view says, s."""


# The station's own reasons for a state that cannot measure, in words a clinician reads (what
# happened; the health chip adds what to do for the state, web/static/js/app.js HEALTH_TO_DO), each
# with a code tools read (``reason_code``), as the words may change. The engineer's detail, where
# there is one, is in ``detail``.
NO_FRAMES_CODE = "no_frames"
NOT_RESPONDING_CODE = "acquisition_not_responding"
STARTING_CODE = "acquisition_starting"
NOT_RUNNING_CODE = "acquisition_not_running"


def no_frames_words(age_s: float) -> str:
    """``nodata``: the acquisition reports but has made no frame for ``age_s``.

    >>> no_frames_words(1.6)
    'the station has measured nothing for 2 s: its measuring program is held up'
    """
    return f"the station has measured nothing for {age_s:.0f} s: its measuring program is held up"


def not_responding_words(age_s: float) -> str:
    """``down``: the acquisition's last report is ``age_s`` old.

    >>> not_responding_words(5.2)
    "the station's measuring program has not answered for 5 s"
    """
    return f"the station's measuring program has not answered for {age_s:.0f} s"


STARTING_WORDS = "the station's measuring program is starting: no readings yet"
"""``starting`` (its report there, no frame yet) and ``down`` before its first report, code :data:`STARTING_CODE`."""
NOT_RUNNING_WORDS = "the station's measuring program is not running"


def down_health(reason: str, code: str | None = None, detail: str | None = None) -> dict:
    """The health document when no acquisition is reachable (``code``: the reason's
    ``reason_code``; ``detail``: the engineer's words, for the log and the health page)."""
    doc = {
        "state": "down",
        "reason": reason,
        "rate_hz": {"configured": None, "measured": None},
        "frames": 0,
        "frames_lost": 0,
        "newest_frame_age_s": None,
        "i2c_errors": 0,
        "sensors": {},
    }
    if code is not None:
        doc["reason_code"] = code
    if detail is not None:
        doc["detail"] = detail
    return doc


BATCH_S = 0.02
"""Frames are handed out in batches at most this often, s: a reader that comes back sooner after a
batch waits for the rest of the interval (within its own ``max_wait_s``; ``0`` never waits). The
trial service's loop (``station.protocols.service``) reads every time round: handed each frame as it
came (100 Hz, and a 5-ms poll between), it woke about 190 times a second, and idle, with nothing
recording, took 3.8 % of a core of the development machine (0.38 CPU-s in 10 s, the thread's
``/proc`` times, 2026-12-06), most of it the wake-ups themselves; a Pi's cores are several times
slower. Batches of 20 ms (2 frames at 100 Hz) are the live view's own pace (``web.live``'s 50
events a second); the go beep of a walk test is sounded by the loop and timed when it sounds, so a
later beep is never counted as walking (``station.protocols.walk``)."""


class RingFrameSource:
    """Frames from the acquisition process's shared-memory ring (real time), handed out in batches
    (:data:`BATCH_S`).

    Parameters
    ----------
    ring_name : str
        Name of the ring the acquisition process created.
    rate_hz : float
        Configured frame rate (used to size waits).
    """

    def __init__(self, ring_name: str, rate_hz: float, clock: Clock | None = None, from_start: bool = False) -> None:
        self.ring_name = ring_name
        self.rate_hz = rate_hz
        self.clock = clock or MonotonicClock()
        self._from_start = from_start
        self._reader: RingReader | None = None
        self._attach_lock = threading.Lock()
        self._handed_at = -math.inf  # time.monotonic() when read_frames last returned frames

    def _attach(self) -> RingReader:
        reader = self._reader
        if reader is None:
            with self._attach_lock:
                if self._reader is None:
                    self._reader = RingReader(self.ring_name, from_start=self._from_start)
                reader = self._reader
        return reader

    def reattach(self) -> None:
        """Attach to the ring afresh on next use (the acquisition process was restarted and made a
        new ring). Safe from any thread while others read: the old mapping is not closed under a
        reader that may be copying from it; it is unmapped when its last user lets go of it."""
        with self._attach_lock:
            self._reader = None

    def read_frames(self, max_wait_s: float) -> FrameBlock:
        """Every frame since the last call; waits up to ``max_wait_s`` for one, and first, within
        that, for the rest of :data:`BATCH_S` after the last batch it handed out."""
        reader = self._attach()
        now = time.monotonic()
        deadline = now + max(0.0, max_wait_s)
        batch_at = min(self._handed_at + BATCH_S, deadline)
        if batch_at > now:
            time.sleep(batch_at - now)
        poll_s = min(0.5 / self.rate_hz, 0.01)
        while True:
            block = reader.read()
            if len(block.frames) or block.missed or time.monotonic() >= deadline:
                if len(block.frames):
                    self._handed_at = time.monotonic()
                return block
            time.sleep(poll_s)

    def latest(self, n: int):
        return self._attach().latest(n)

    def health(self) -> dict:
        """The acquisition's last health report; ``down`` when it is older than
        :data:`HEALTH_STALE_S` (the process does not respond), else ``nodata`` when the ring's newest
        frame is older than :data:`NO_FRAMES_S` (the acquisition is alive but sends no frames). With
        no frame in the ring yet (a process just started or restarted, e.g. after a SIGKILL: its report
        said ``ok`` while nothing had been read), ``starting`` until the report's ``started_ns`` is
        :data:`NO_FRAMES_S` old, then ``nodata`` (it has measured nothing since it started). A report
        saying ``down`` stays ``down``. ``newest_frame_age_s``: how old the ring's newest frame is, s
        (None before the first)."""
        try:
            reader = self._attach()
        except Exception as exc:  # RingError: the process is not (yet) running
            return down_health(NOT_RUNNING_WORDS, NOT_RUNNING_CODE, str(exc))
        doc = reader.read_health()
        if doc is None:
            return down_health(STARTING_WORDS, STARTING_CODE, "acquisition starting: no health report yet")
        now_ns = time.monotonic_ns()
        newest = reader.latest(2)  # (the newest may be half-written: then the one before it)
        frame_age_s = (now_ns - int(newest["t_ns"][-1])) / 1e9 if len(newest) else None
        doc = dict(doc)
        doc["newest_frame_age_s"] = None if frame_age_s is None else round(frame_age_s, 3)
        age_s = (now_ns - int(doc.get("published_ns", 0))) / 1e9
        if age_s > HEALTH_STALE_S:
            doc["state"] = "down"
            doc["reason"] = not_responding_words(age_s)
            doc["reason_code"] = NOT_RESPONDING_CODE
            doc["detail"] = f"acquisition not responding (last report {age_s:.0f} s ago)"
        elif doc.get("state") == "down":
            pass  # it says itself why it cannot measure (no load cell answers)
        elif frame_age_s is not None and frame_age_s > NO_FRAMES_S:
            doc["state"] = "nodata"
            doc["reason"] = no_frames_words(frame_age_s)
            doc["reason_code"] = NO_FRAMES_CODE
            doc["detail"] = f"no data: the acquisition has sent no frames for {frame_age_s:.0f} s"
        elif frame_age_s is None:
            # (the loop's start; a report without it, none published by this version: the report's own time)
            started_s = (now_ns - int(doc.get("started_ns") or doc.get("published_ns", now_ns))) / 1e9
            if started_s > NO_FRAMES_S:
                doc["state"] = "nodata"
                doc["reason"] = no_frames_words(started_s)
                doc["reason_code"] = NO_FRAMES_CODE
                doc["detail"] = f"no data: the acquisition started {started_s:.0f} s ago and has sent no frame"
            else:
                doc["state"] = "starting"
                doc["reason"] = STARTING_WORDS
                doc["reason_code"] = STARTING_CODE
                doc["detail"] = "acquisition starting: no frame yet"
        return doc

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
