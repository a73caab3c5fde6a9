"""Faults of the simulated station in time: the acquisition stalling, the lower-back sensor unplugged.

``balance-station trial --simulate --fault KIND:AFTER_S[:FOR_S]`` and the tests use them to see
what the station does when the machine, not the patient, fails in the middle of a trial. Each
fault is timed from the go (the long beep) of the first trial recorded (:class:`FaultTimeline`).

Two seams, one timeline. ``trial`` runs the acquisition loop in its own process:
:class:`FaultySource` wraps the simulated station the protocol runner reads. The daemon
(``balance-station run --simulate --fault ...``) runs the loop in the acquisition process and the
trial in the station process, which reads the shared-memory ring: there :func:`faulty_sink` runs
after each frame in the loop's own thread (the simulated hardware's ``wrap_sink``), timed by the
protocol events the station forwards to the virtual patient (:class:`ForwardedEvents`), from the
first go of a *walk* trial (a stance test may come first on the dashboard).

``stall``
    The acquisition stops for ``FOR_S`` seconds, as when its loop is blocked or the Pi is late
    (a kernel hiccup, an SD card flushing). The station process reads nothing meanwhile, exactly
    as a reader of the shared-memory ring waits on a silent ring (:class:`FaultySource` returns
    empty blocks while the clock runs; in the daemon the loop's thread is blocked, so the ring
    itself is silent); then the acquisition loop wakes up late and does what it does after any
    late wake-up: the frames it missed are lost (``seq`` skips them, the next frame carries
    ``LOST_BEFORE``), the chips' samples of that time are counted as missed
    (:mod:`station.acquire.loop`). Nothing of that recovery is simulated here: it is the real loop.
``imu-unplugged``
    The lower-back sensor's cable comes out (the device stops answering on the simulated bus,
    :meth:`station.sim.bus.SimulatedBus.vanish`): frames go on without IMU readings (NaN, flagged
    IMU_FAULT) while the loop retries it; after ``FOR_S`` it is plugged back in and comes back in
    its power-on state (the loop brings it up again), else it stays out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from station.acquire.frame import FRAME_DTYPE
from station.acquire.ring import FrameBlock

FAULT_KINDS = ("stall", "imu-unplugged")


@dataclass(frozen=True)
class StationFault:
    """``kind`` (:data:`FAULT_KINDS`) ``after_s`` seconds after the first go, for ``for_s``
    seconds (a stall needs it; an unplugged sensor without it stays out)."""

    kind: str
    after_s: float
    for_s: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; allowed: {', '.join(FAULT_KINDS)}")
        if not self.after_s >= 0:
            raise ValueError(f"AFTER_S must be >= 0 s, not {self.after_s!r}")
        if self.for_s is None and self.kind == "stall":
            raise ValueError("a stall needs its length: stall:AFTER_S:FOR_S (e.g. stall:10:1.5)")
        if self.for_s is not None and not self.for_s > 0:
            raise ValueError(f"FOR_S must be > 0 s, not {self.for_s!r}")


def parse_fault(text: str) -> StationFault:
    """``KIND:AFTER_S[:FOR_S]``, e.g. ``stall:10:1.5`` or ``imu-unplugged:4``.

    >>> parse_fault("stall:10:1.5")
    StationFault(kind='stall', after_s=10.0, for_s=1.5)
    >>> parse_fault("imu-unplugged:4").for_s is None
    True
    """
    parts = text.split(":")
    if not 2 <= len(parts) <= 3:
        raise ValueError(f"{text!r} is not KIND:AFTER_S[:FOR_S] (e.g. stall:10:1.5 or imu-unplugged:4)")
    try:
        after_s = float(parts[1])
        for_s = float(parts[2]) if len(parts) == 3 else None
    except ValueError:
        raise ValueError(f"{text!r}: AFTER_S and FOR_S must be numbers of seconds") from None
    return StationFault(parts[0], after_s, for_s)


class FaultTimeline:
    """When each fault is due, timed from the first go, and doing what is due.

    Parameters
    ----------
    faults : iterable of StationFault
    walks_only : bool
        Time the faults from the first go of a walk trial (its ``recording`` state carries
        ``walk``), not of any trial.

    Attributes
    ----------
    happened : list of (int, str)
        Station-clock time (ns) and what was done, in order: the truth for tests.
    """

    def __init__(self, faults, *, walks_only: bool = False) -> None:
        self.faults = list(faults)
        self.walks_only = walks_only
        self.happened: list[tuple[int, str]] = []
        self.go_ns: int | None = None
        self._done: set[tuple[int, str]] = set()

    def on_state(self, state: str | None, t_ns: int, walk=None) -> None:
        """A trial's state event: the first ``recording`` (of a walk, if ``walks_only``) is the go."""
        if self.go_ns is None and state == "recording" and (walk or not self.walks_only):
            self.go_ns = int(t_ns)

    def _at_ns(self, fault: StationFault, offset_s: float = 0.0) -> int:
        return self.go_ns + int(round((fault.after_s + offset_s) * 1e9))

    def apply(self, now_ns: int, sim) -> int | None:
        """Carry out on ``sim`` (a :class:`station.sim.hardware.Simulation`) what is due by
        ``now_ns``; the end of a stall going on now (ns), or None."""
        if self.go_ns is None:
            return None
        stalled_until = None
        for i, fault in enumerate(self.faults):
            start = self._at_ns(fault)
            if now_ns < start:
                continue
            end = None if fault.for_s is None else self._at_ns(fault, fault.for_s)
            if fault.kind == "stall":
                if now_ns < end:
                    stalled_until = end if stalled_until is None else max(stalled_until, end)
                    self._once(i, "stall", now_ns)
                continue
            if (i, "out") not in self._done:
                self._once(i, "out", now_ns)
                sim.bus.vanish(sim.imu)
            if end is not None and now_ns >= end and (i, "in") not in self._done:
                self._once(i, "in", now_ns)
                sim.bus.reappear(sim.imu)
        return stalled_until

    def _once(self, i: int, what: str, now_ns: int) -> None:
        if (i, what) not in self._done:
            self._done.add((i, what))
            self.happened.append((now_ns, f"{self.faults[i].kind} {what}" if what != "stall" else "stall"))


class FaultySource:
    """A simulated station (a :class:`station.acquire.source.FrameSource`) with faults in time.

    Parameters
    ----------
    station : station.sim.station.SimulatedStation
    faults : iterable of StationFault
        Timed from the go of the first trial recorded (:meth:`attach` to the runner that runs it).

    Attributes
    ----------
    happened : list of (int, str)
        Station-clock time (ns) and what was done, in order: the truth for tests.
    """

    def __init__(self, station, faults) -> None:
        self.station = station
        self.clock = station.clock
        self.rate_hz = station.rate_hz
        self.timeline = FaultTimeline(faults)
        self.faults = self.timeline.faults
        self.happened = self.timeline.happened

    def attach(self, runner) -> None:
        """Time the faults from the first go of ``runner``'s protocol (its ``recording`` state)."""
        runner.bus.subscribe(self.on_event)

    def on_event(self, event) -> None:
        if event.kind == "state":
            self.timeline.on_state(event.data.get("state"), event.t_ns, event.data.get("walk"))

    def read_frames(self, max_wait_s: float) -> FrameBlock:
        """The station's frames, or, while the acquisition stalls, nothing after waiting up to
        ``max_wait_s`` (as a reader of a silent ring does)."""
        now = self.clock.monotonic_ns()
        stalled_until = self.timeline.apply(now, self.station.simulation)
        if stalled_until is not None:
            self.clock.sleep_until_ns(min(now + int(max(max_wait_s, 0.001) * 1e9), stalled_until))
            return FrameBlock(np.empty(0, dtype=FRAME_DTYPE), 0)
        return self.station.read_frames(max_wait_s)

    def health(self) -> dict:
        return self.station.health()

    def __getattr__(self, name):  # calibration, simulation, config ... of the station
        return getattr(self.station, name)


class ForwardedEvents:
    """The connection on which the station forwards protocol events to the acquisition process's
    virtual patient (``poll()`` / ``recv()`` of a multiprocessing connection), showing each
    ``state`` message to a :class:`FaultTimeline` on its way."""

    def __init__(self, conn, timeline: FaultTimeline) -> None:
        self.conn = conn
        self.timeline = timeline

    def poll(self, timeout: float = 0.0) -> bool:
        return self.conn.poll(timeout)

    def recv(self):
        message = self.conn.recv()
        if isinstance(message, dict) and message.get("kind") == "state":
            data = message.get("data") or {}
            self.timeline.on_state(data.get("state"), int(message.get("t_ns", 0)), data.get("walk"))
        return message


def faulty_sink(sink, timeline: FaultTimeline, sim, clock):
    """``sink`` (what the acquisition loop calls after each frame ``(seq, t_ns, ...)``), then the
    faults due by that frame's time: an unplugged sensor vanishes from the simulated bus, a stall
    blocks the loop's own thread until it ends, so that nothing reaches the ring meanwhile and the
    loop wakes up late and recovers as it does after any late wake-up."""

    def faulty(frame: tuple) -> None:
        sink(frame)
        stalled_until = timeline.apply(int(frame[1]), sim)
        if stalled_until is not None:
            clock.sleep_until_ns(stalled_until)

    faulty.timeline = timeline
    return faulty
