"""What a Pi that wakes late costs the acquisition: frames lost per minute, over seeds and late-wake
severities, on a quiet-stance protocol (a person standing on the plate) and a walk protocol (the
10-metre walk: IMU on the lower back, light gates, the plate empty), on the NAU7802 plate (four
chips behind the mux, no FIFO) at 320 SPS and 100 Hz.

The late wake-ups are :class:`station.sim.clock.LateWakeClock`'s (``pi-under-load``: wake-ups
mostly under 1 ms late, a 0.1 % tail 5-20 ms late, 0.005 % stalls 40-60 ms) and two variants made
here by scaling its tail and stall probabilities (the model is not changed): ``light`` (x0.2)
and ``heavy`` (x5). For each protocol and severity, seeds 1..N (the clock's and the simulation's):

* ``lost/min``: frames lost per minute of acquisition (``frames_lost`` over frames + lost);
* ``conv in lost``: conversions already read that were thrown away with a lost frame;
* ``stale frames``: frames made with at least one corner repeating its last value (STALE);
* ``repeat-only``: frames made with every corner that was up STALE (nothing of their own);
* ``missed/min``: ADC conversions the chips overwrote before they were read, per minute.

Nothing is asserted (tests/acquire/test_late_wake.py holds the guarantees). To compare with an
older loop, copy this file into that tree's benchmarks/ and run it there (it imports the tree it
sits in):

    python3 benchmarks/late_wake_losses.py [--seeds N] [--stance-s S]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from station.acquire.frame import STALE_CORNER_FLAGS  # noqa: E402
from station.config import PanelConfig, StationConfig  # noqa: E402
from station.hw.gates import GateArray  # noqa: E402
from station.protocols.loader import builtin_protocols  # noqa: E402
from station.protocols.runner import ProtocolRunner  # noqa: E402
from station.protocols.walk import WalkSettings  # noqa: E402
from station.sim.clock import LateWakeClock, SimulatedClock  # noqa: E402
from station.sim.gpio import ClockedMockFactory, GateDriver  # noqa: E402
from station.sim.person import VirtualPerson  # noqa: E402
from station.sim.station import SimulatedStation  # noqa: E402
from station.sim.virtual_patient import VirtualPatient  # noqa: E402
from station.sim.walker import VirtualWalker  # noqa: E402
from tests.protocols.walk_support import GATES  # noqa: E402


def severity_clock(scale: float):
    """LateWakeClock with its tail and stall probabilities scaled by ``scale``."""
    class Scaled(LateWakeClock):
        tail_probability = LateWakeClock.tail_probability * scale
        stall_probability = LateWakeClock.stall_probability * scale
    return Scaled


SEVERITIES = {"light": severity_clock(0.2), "pi-under-load": LateWakeClock, "heavy": severity_clock(5.0)}


class Counting:
    """Wraps the loop's sink: counts the frames with a STALE corner and those made only of
    repeated values (every corner that was up STALE)."""

    def __init__(self, loop) -> None:
        self.loop, self.sink = loop, loop.sink
        self.stale = self.repeat_only = 0
        loop.sink = self

    def __call__(self, frame: tuple) -> None:
        flags = int(frame[-1])
        n = sum(1 for f in STALE_CORNER_FLAGS if flags & int(f))
        up = sum(1 for s in self.loop.plate.corner_state if s in ("ok", "saturated"))
        if n:
            self.stale += 1
            if n >= up > 0:
                self.repeat_only += 1
        self.sink(frame)


def _stance(clock, seed: int, seconds: float) -> tuple[SimulatedStation, Counting]:
    protocol = replace(builtin_protocols()["quiet-stance"], rest_s=0.0, duration_s=seconds, max_attempts=1)
    person = VirtualPerson(seed=seed, on_plate=False)
    station = SimulatedStation(None, person, seed=seed, calibration="nominal", clock=clock)
    counting = Counting(station.loop)
    runner = ProtocolRunner(protocol, station)
    VirtualPatient(person, (), time_origin_ns=station.simulation.plate.t0_ns).attach(runner)
    runner.run(max_s=600)
    return station, counting


def _walk(clock, seed: int) -> tuple[SimulatedStation, Counting]:
    protocol = replace(builtin_protocols()["ten-metre-walk"], rest_s=0.0)
    config = StationConfig(panel=PanelConfig(gates=GATES))
    person = VirtualPerson(seed, on_plate=False, plate=config.plate)
    walker = VirtualWalker(seed=seed, base=person)
    station = SimulatedStation(config, walker, seed=seed, calibration="nominal", clock=clock)
    counting = Counting(station.loop)
    factory = ClockedMockFactory(station.clock)
    gates = GateArray(config.panel.gates, clock=station.clock, pin_factory=factory)
    driver = GateDriver(factory)
    settings = WalkSettings(sensor_height_m=walker.sensor_height_m)
    runner = ProtocolRunner(protocol, station, gates=gates, walk_settings=settings)
    VirtualPatient(person, (), time_origin_ns=int(station.simulation.plate.t0_ns), walker=walker, gate_driver=driver,
                   gate_pins={g.position_m: g.pin for g in config.panel.gates}).attach(runner)
    runner.add_tick(driver.tick)
    try:
        runner.run(auto=True, max_s=3600.0)
    finally:
        gates.close()
        factory.reset()
    return station, counting


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--stance-s", type=float, default=60.0, help="quiet stance duration, s")
    args = parser.parse_args()
    import station.acquire.loop as loop_module
    print(f"loop: {loop_module.__file__}")
    print(f"{'protocol':14} {'severity':14} {'minutes':>8} {'lost':>5} {'lost/min':>8} {'worst/min':>9} "
          f"{'conv in lost':>12} {'stale frames':>12} {'repeat-only':>11} {'missed/min':>10} {'cpu s':>6}")
    for protocol in ("quiet-stance", "ten-metre-walk"):
        for name, clock_class in SEVERITIES.items():
            minutes = lost = in_lost = stale = repeat_only = missed = 0.0
            worst = 0.0
            cpu = time.process_time()
            for seed in range(1, args.seeds + 1):
                clock = clock_class(SimulatedClock(), seed=seed)
                if protocol == "quiet-stance":
                    station, counting = _stance(clock, seed, args.stance_s)
                else:
                    station, counting = _walk(clock, seed)
                stats = station.loop.stats
                run_min = (stats.frames + stats.frames_lost) / station.loop.rate_hz / 60.0
                minutes += run_min
                lost += stats.frames_lost
                worst = max(worst, stats.frames_lost / run_min)
                in_lost += stats.conversions_in_lost_frames
                stale += counting.stale
                repeat_only += counting.repeat_only
                missed += stats.conversions_missed
            cpu = time.process_time() - cpu
            print(f"{protocol:14} {name:14} {minutes:8.2f} {int(lost):5d} {lost / minutes:8.2f} {worst:9.2f} "
                  f"{int(in_lost):12d} {int(stale):12d} {int(repeat_only):11d} {missed / minutes:10.1f} {cpu:6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
