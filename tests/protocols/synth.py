"""Synthetic frames for testing the trial logic without the simulated hardware.

:class:`ScriptedSource` implements the FrameSource protocol (clock, rate_hz, read_frames, health)
on a :class:`~station.sim.clock.SimulatedClock`: each read advances simulated time by the wait and
returns the frames whose deadlines passed, made from a ``script(t_s) -> Load`` function of time.
Faults (lost frames, corner faults, silence) are scripted too. It is deliberately simpler than
``station.sim.station.SimulatedStation``: it exercises the state machine's decisions with
exactly known inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from station.acquire.frame import FRAME_DTYPE, FrameFlag
from station.acquire.ring import FrameBlock
from station.sim.clock import SimulatedClock
from station.sim.loads import distribute_to_corners

WIDTH_CM = 40.0
DEPTH_CM = 40.0


@dataclass
class Load:
    fz_n: float
    ap_cm: float = 0.0
    ml_cm: float = 0.0
    flags: int = 0
    send: bool = True
    """False: this frame is lost (seq skips it)."""


def sway(t_s: float, amp_cm: float = 0.3) -> tuple[float, float]:
    """A smooth, deterministic quiet-stance-like sway (cm)."""
    ap = amp_cm * (math.sin(2 * math.pi * 0.3 * t_s) + 0.4 * math.sin(2 * math.pi * 1.1 * t_s + 1.0))
    ml = 0.6 * amp_cm * (math.sin(2 * math.pi * 0.25 * t_s + 0.5) + 0.3 * math.sin(2 * math.pi * 0.9 * t_s))
    return ap, ml


class ScriptedSource:
    def __init__(self, script, rate_hz: float = 100.0, health_state: str = "ok"):
        self.clock = SimulatedClock()
        self.rate_hz = rate_hz
        self.script = script
        self._period_ns = int(round(1e9 / rate_hz))
        self._next_seq = 0
        self._health_state = health_state
        self.silent_after_s: float | None = None

    def health(self) -> dict:
        return {"state": self._health_state, "reason": "" if self._health_state == "ok" else "no load cell answers",
                "frames_lost": 0, "i2c_errors": 0, "sensors": {}}

    def read_frames(self, max_wait_s: float) -> FrameBlock:
        start = self.clock.monotonic_ns()
        self.clock.advance_ns(int(round(max(max_wait_s, 1e-3) * 1e9)))
        now = self.clock.monotonic_ns()
        rows = []
        lost_before = False
        while self._next_seq * self._period_ns <= now:
            seq = self._next_seq
            self._next_seq += 1
            t_ns = seq * self._period_ns
            t_s = t_ns / 1e9
            if self.silent_after_s is not None and t_s >= self.silent_after_s:
                continue
            load = self.script(t_s)
            if not load.send:
                lost_before = True
                continue
            fl, fr, bl, br = distribute_to_corners(load.fz_n, load.ap_cm, load.ml_cm, WIDTH_CM, DEPTH_CM)
            flags = load.flags | (int(FrameFlag.LOST_BEFORE) if lost_before else 0)
            lost_before = False
            low = load.fz_n < 200.0
            if low:
                flags |= int(FrameFlag.LOW_LOAD)
            ap = float("nan") if low else load.ap_cm
            ml = float("nan") if low else load.ml_cm
            fz = float("nan") if load.flags & int(FrameFlag.FAULT_FL) else load.fz_n
            rows.append((seq, t_ns, fl, fr, bl, br, fz, ap, ml, 0.0, 0.0, 9.81, 0.0, 0.0, 0.0, 0, 0, 0, 0, flags))
        del start
        return FrameBlock(np.array(rows, dtype=FRAME_DTYPE), 0)


def standing(weight_n: float = 700.0, on_at_s: float = 1.0, amp_cm: float = 0.3):
    """A person who steps on at ``on_at_s`` and stands quietly."""

    def script(t_s: float) -> Load:
        if t_s < on_at_s:
            return Load(0.0)
        ap, ml = sway(t_s, amp_cm)
        return Load(weight_n, ap, ml)

    return script


class PersonSource(ScriptedSource):
    """Frames sampled straight from a load source (e.g. a VirtualPerson), without chip models:
    the exact forces at each frame time."""

    def __init__(self, load_source, rate_hz: float = 100.0):
        self.load_source = load_source
        super().__init__(self._script, rate_hz)

    def _script(self, t_s: float) -> Load:
        from station.analysis.cop import cop_from_corners

        fl, fr, bl, br = (float(v) for v in self.load_source.corner_forces_n(t_s))
        ap, ml, fz = cop_from_corners(fl, fr, bl, br, WIDTH_CM, DEPTH_CM)
        return Load(fz, ap, ml)


def fake_analyse(frames, rate_hz):
    """Stands in for the sway analysis in tests of the trial logic: records what it was given."""
    return {"fs_hz": rate_hz, "samples": len(frames), "first_t_ns": int(frames["t_ns"][0]), "metrics": {}}
