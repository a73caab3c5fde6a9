"""What a long stall of the acquisition loop costs after it: the CPU the loop takes for the first
second of frames after its clock jumped ahead (a Pi suspended, a process stopped, a clock step), the
frames lost and how late the loop still is, on the simulated station (NAU7802 plate, 320 SPS,
100 Hz, an LSM6DSOX IMU; ideal clock), a person standing on the plate.

* ``lost``: frames lost across the stall (the stall's own frames, and any after it);
* ``cpu s``: the process's CPU for the second of frames after the stall (the catch-up included);
* ``behind at 1 s``: how far behind its deadline the 100th frame after the stall was made, ms;
* ``late``: frames flagged LATE in that second.

Nothing is asserted (tests/acquire/test_late_wake.py holds the guarantees). To compare with an older
loop, copy this file into that tree's benchmarks/ and run it there (it imports the tree it sits in):

    python3 benchmarks/stall_catch_up.py [--gaps 1 60 120] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from station.acquire.frame import FrameFlag  # noqa: E402
from station.sim.clock import SimulatedClock  # noqa: E402
from station.sim.person import VirtualPerson  # noqa: E402
from station.sim.station import SimulatedStation  # noqa: E402


def after_stall(gap_s: float) -> tuple[int, float, float, int]:
    """(frames lost, CPU s, ms behind at the 100th frame, LATE frames) for one stall of ``gap_s``."""
    station = SimulatedStation(None, VirtualPerson.standing_demo(seed=2), seed=0, calibration="nominal",
                               clock=SimulatedClock())
    loop = station.loop
    station.run_seconds(2)
    lost0 = loop.stats.frames_lost
    station.clock.advance_ns(int(gap_s * 1e9))
    cpu = time.process_time()
    frames = station.run_seconds(1)
    cpu = time.process_time() - cpu
    last = frames[-1]
    behind_ms = (int(last["t_ns"]) - loop.deadline_of(int(last["seq"]))) / 1e6
    late = int(((frames["flags"].astype(int) & int(FrameFlag.LATE)) != 0).sum())
    return loop.stats.frames_lost - lost0, cpu, behind_ms, late


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gaps", type=float, nargs="+", default=[1.0, 60.0, 120.0], help="stalls, s")
    parser.add_argument("--repeats", type=int, default=3, help="runs per stall (the CPU's median is shown)")
    args = parser.parse_args()
    import station.acquire.loop as loop_module
    print(f"loop: {loop_module.__file__}")
    print(f"{'stall s':>8} {'lost':>6} {'cpu s':>6} {'behind at 1 s':>14} {'late':>5}")
    for gap in args.gaps:
        runs = [after_stall(gap) for _ in range(args.repeats)]
        lost, _, behind_ms, late = runs[0]
        cpu = sorted(r[1] for r in runs)[len(runs) // 2]
        print(f"{gap:8g} {lost:6d} {cpu:6.2f} {behind_ms:11.1f} ms {late:5d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
