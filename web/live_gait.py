"""Live gait for the live view's walk panel: the steps and cadence of the last seconds, from the
lower-back IMU in the frames a viewer's stream reads anyway.

Each live stream keeps the last :data:`WINDOW_S` seconds of its frames' acceleration and, once
every :data:`INTERVAL_S`, finds the initial contacts in them with the station's own gait analysis
(:func:`station.analysis.gait.detect_initial_contacts`) on the vertical acceleration. Vertical is
the direction of gravity over the window (:func:`station.analysis.imu_frame.gravity_direction`),
so the live view needs no mounting configuration and works forward, backward and on a treadmill.
What it shows is for watching the person walk (the SSE event ``gait``); the trial's own results
come from the whole recording. Every stream reads the same ring, so one analysis a second serves
them all (:class:`SharedGaitEvent`): twenty tablets cost what one does.

Event ``gait``::

    {"contacts_t_ns": [t, ...],     # initial contacts in the window, station clock (frames' t_ns)
     "steps": n,                    # how many
     "cadence_steps_min": c,        # 60 / mean interval between them (null: fewer than 4 steps)
     "window_s": w}                 # the seconds of IMU data analysed
"""

from __future__ import annotations

import math
import threading
from collections import deque

import numpy as np

from station.analysis.gait import MIN_BOUT_STEPS, MIN_DURATION_S, detect_initial_contacts
from station.analysis.imu_frame import gravity_direction

WINDOW_S = 10.0
"""Seconds of acceleration analysed for the live steps and cadence."""
INTERVAL_S = 1.0
"""Time between two gait events of a stream, s."""


class LiveGait:
    """The recent acceleration of one stream, and its steps.

    Parameters
    ----------
    rate_hz : float
        The frames' rate, Hz.
    """

    def __init__(self, rate_hz: float) -> None:
        self.rate_hz = float(rate_hz)
        self._keep = max(1, int(round(WINDOW_S * self.rate_hz)))
        self._t_ns: deque[int] = deque(maxlen=self._keep)
        self._acc: deque[tuple[float, float, float]] = deque(maxlen=self._keep)
        self._last_seq: int | None = None

    def feed(self, frames: np.ndarray) -> None:
        """Add frames (FRAME_DTYPE). A lost frame, or a frame without IMU data, starts the window
        afresh (steps are found only on an unbroken run of samples)."""
        if not len(frames):
            return
        seq = frames["seq"].astype(np.int64)
        acc = np.column_stack((frames["ax_m_s2"], frames["ay_m_s2"], frames["az_m_s2"]))
        finite = np.isfinite(acc).all(axis=1)
        gap = np.empty(len(frames), dtype=bool)
        gap[0] = self._last_seq is not None and int(seq[0]) != self._last_seq + 1
        gap[1:] = np.diff(seq) != 1
        self._last_seq = int(seq[-1])
        resets = np.flatnonzero(gap | ~finite)
        start = 0
        if len(resets):
            self.clear()
            last = int(resets[-1])
            start = last if finite[last] else last + 1
        self._t_ns.extend(int(t) for t in frames["t_ns"][start:])
        self._acc.extend(map(tuple, acc[start:]))

    def clear(self) -> None:
        self._t_ns.clear()
        self._acc.clear()

    def event(self) -> dict | None:
        """The ``gait`` event of the window, or None while there is too little IMU data."""
        n = len(self._acc)
        if n < MIN_DURATION_S * self.rate_hz:
            return None
        acc = np.asarray(self._acc, dtype=float)
        try:
            up = gravity_direction(acc)[0]
            contacts_s = detect_initial_contacts(acc @ up, self.rate_hz)
        except ValueError:  # no gravity (sensor unplugged reads zeros), or not enough data
            return None
        t0 = self._t_ns[0]
        contacts_t_ns = [int(t0 + round(c * 1e9)) for c in contacts_s]
        cadence = None
        if len(contacts_s) >= MIN_BOUT_STEPS:
            cadence = round(60.0 / float(np.mean(np.diff(contacts_s))), 1)
        return {"contacts_t_ns": contacts_t_ns, "steps": len(contacts_t_ns), "cadence_steps_min": cadence,
                "window_s": round(n / self.rate_hz, 2)}


class SharedGaitEvent:
    """The gait event of the current interval, computed once for every stream.

    The first stream to ask in an interval computes it from its own window (the streams read the
    same ring, so their windows differ by a few frames at most); the others get the same document
    until :data:`INTERVAL_S` has passed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at = -math.inf
        self._doc: dict | None = None

    def get(self, now_s: float, gait: LiveGait) -> dict | None:
        """The event for a stream at ``now_s`` (monotonic s), computing it from ``gait`` when due."""
        with self._lock:
            if now_s - self._at >= INTERVAL_S or now_s < self._at:
                self._doc = gait.event()
                self._at = now_s
            return self._doc
