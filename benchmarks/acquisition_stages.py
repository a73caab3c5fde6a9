"""Where the acquisition loop's CPU per frame goes, stage by stage, on the simulated station.

    python benchmarks/acquisition_stages.py [--config FILE] [--rate HZ] [--frames N] [--real-time [--seconds S]]
                                            [--settle-at-deadline]

The loop, its drivers and a shared-memory ring run in this process's main thread, as in the
acquisition process: back to back under the simulated clock (warm caches: the code's own cost), or
with ``--real-time`` on the real clock, sleeping until each deadline and during the bus's
transfers (``SCHED_FIFO`` when permitted), as ``bench acquisition`` runs it (without its readers).
Each stage's CPU is the thread's CPU time (``time.thread_time_ns``) spent in it and not in a
stage inside it, minus what the simulated chips and bus took in it (on the Pi that work is the
chips' and the kernel's), per frame. The stages: the plate driver's read (and for the RP2040 front
end its status read, its ring read and its acknowledgement), the IMU driver's FIFO read, the
loop's filing of the sets, its IMU part, the frame's corner means, the sink (the ring), recovery,
health, the wait for the deadline, and the rest of ``step``.

The timers cost something themselves (a Python wrapper, two clock reads: 2–3 µs per timed call,
about 45 µs per frame warm), billed to the stage that made the call: ``total_without_timers_us``
is the same number of frames without them, measured first, and ``total_with_timers_us`` with
them; read the stages as shares, the totals as the cost.

``--settle-at-deadline`` (real time only) is an experiment, not how the station runs: the real
clock owes the bus's transfer time until the next deadline instead of sleeping inside the frame
once 0.3 ms are owed, so the frame's code runs in one go after a single wake-up; compare with the
same run without it to see what the sleeps inside a frame cost.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from collections import defaultdict
from dataclasses import replace


def _stage_timers(loop, bus) -> dict:
    """Wrap the loop's and drivers' stages (instance attributes) with exclusive CPU timers."""
    spent: dict[str, int] = defaultdict(int)
    stack: list[int] = []
    clock_ns = time.thread_time_ns

    def wrap(obj, name: str, label: str) -> None:
        inner = getattr(obj, name, None)
        if inner is None:
            return

        def timed(*args, **kwargs):
            t0, model0 = clock_ns(), bus.model_cpu_ns
            stack.append(0)
            try:
                return inner(*args, **kwargs)
            finally:
                nested = stack.pop()
                own = clock_ns() - t0 - (bus.model_cpu_ns - model0)
                spent[label] += own - nested
                if stack:
                    stack[-1] += own

        setattr(obj, name, timed)

    plate = loop.plate
    for name, label in (("read_sets", "plate.read_sets"), ("_read_status", "plate.status_read"),
                        ("_read_records", "plate.records"), ("_read_ring", "plate.ring_read"),
                        ("_write_ack", "plate.acknowledgement"), ("read_corners", "plate.read_corners")):
        wrap(plate, name, label)
    if loop.imu is not None:
        wrap(loop.imu, "read_fifo", "imu.read_fifo")
    for name, label in (("_file_timed_sets", "loop.file_sets"), ("_poll_plate", "loop.poll_plate"),
                        ("_read_imu", "loop.imu"), ("_frame_counts", "loop.frame_counts"), ("sink", "loop.sink"),
                        ("_recovery_step", "loop.recovery"), ("_update_health", "loop.health")):
        wrap(loop, name, label)
    wrap(loop.clock, "sleep_until_ns", "clock.wait_for_deadline")
    wrap(loop, "step", "loop.step_rest")
    return spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="station configuration file (e.g. [plate] front_end = \"rp2040\")")
    parser.add_argument("--rate", type=float, help="frame rate, Hz (default: the configuration's)")
    parser.add_argument("--frames", type=int, default=3000, help="frames measured under the simulated clock")
    parser.add_argument("--real-time", action="store_true", help="on the real clock, with real sleeps")
    parser.add_argument("--seconds", type=float, default=10.0, help="with --real-time: seconds measured")
    parser.add_argument("--settle-at-deadline", action="store_true", help="with --real-time: see the module docstring")
    args = parser.parse_args()

    scheduling = None
    if args.real_time:
        from station.acquire.process import prepare_process

        scheduling = prepare_process()
    from station.acquire.calibration import nominal_calibration
    from station.acquire.loop import AcquisitionLoop
    from station.acquire.ring import FrameRing
    from station.clock import MonotonicClock
    from station.config import StationConfig
    from station.config_file import load_station_config
    from station.sim.clock import SimulatedClock
    from station.sim.station import open_simulated_hardware
    from station.sim.static_load import ConstantLoad

    base = load_station_config(args.config) if args.config else StationConfig()
    rate = args.rate or base.acquisition.rate_hz
    config = replace(base, acquisition=replace(base.acquisition, rate_hz=float(rate)))
    if args.real_time:
        slack = 10**12 if args.settle_at_deadline else None
        clock = MonotonicClock() if slack is None else MonotonicClock(charge_slack_ns=slack)
        frames = max(1, round(args.seconds * rate))
    else:
        clock = SimulatedClock()
        frames = args.frames
    hardware = open_simulated_hardware(config, clock, ConstantLoad(fz_n=700.0), seed=0, account_cpu=True)
    bus = hardware.simulation.bus
    ring = FrameRing(config.acquisition.ring_frames, name=f"balance-stages-{secrets.token_hex(4)}")
    try:
        loop = AcquisitionLoop(clock=clock, plate=hardware.plate, imu=hardware.imu,
                               calibration=nominal_calibration(config.plate), config=config, sink=ring.write,
                               bus_errors=hardware.bus_errors, imu_error=hardware.imu_error,
                               imu_absent_reason=hardware.imu_absent_reason, on_health=ring.publish_health)
        loop.start()
        for _ in range(max(200, round(rate))):  # settle: the fits, the caches
            loop.step()

        def measure(n: int) -> tuple[float, float]:
            cpu0, model0 = time.thread_time_ns(), bus.model_cpu_ns
            for _ in range(n):
                loop.step()
            model = bus.model_cpu_ns - model0
            return (time.thread_time_ns() - cpu0 - model) / n / 1e3, model / n / 1e3

        total_plain, model_plain = measure(frames)
        spent = _stage_timers(loop, bus)
        lost0 = loop.stats.frames_lost
        total_timed, _ = measure(frames)
        doc = {
            "front_end": config.plate.front_end,
            "adc_rate_sps": config.plate.adc_rate_sps,
            "rate_hz": rate,
            "clock": ("real, bus time settled at the deadline" if args.settle_at_deadline else "real")
            if args.real_time else "simulated (warm)",
            "scheduling": scheduling,
            "frames": frames,
            "total_without_timers_us": round(total_plain, 2),
            "sim_model_us": round(model_plain, 2),
            "total_with_timers_us": round(total_timed, 2),
            "stages_us": {label: round(ns / frames / 1e3, 2) for label, ns in sorted(spent.items(), key=lambda kv: -kv[1])},
            "frames_lost_while_timed": loop.stats.frames_lost - lost0,
            "load_average_1min": round(os.getloadavg()[0], 2),
        }
    finally:
        ring.close()
        hardware.close()
    print(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
