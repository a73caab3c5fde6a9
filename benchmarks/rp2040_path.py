"""The RP2040 front end's acquisition path of an older version against this one: the same frames,
bit for bit, and the CPU per frame of each (warm, under the simulated clock), interleaved.

    git archive COMMIT station | tar -x -C /tmp/before      # e.g. the commit before a speed change
    python benchmarks/rp2040_path.py --before /tmp/before [--rounds 3] [--frames 3000]

Each version runs in its own interpreter (``station`` imported from its directory), one after the
other, ``--rounds`` times. Each run:

* records the scenarios below on the simulated station (RP2040 front end) and hashes their frames
  (every byte of FRAME_DTYPE), the loop's counters and the health document (less the process's
  CPU, memory and pid, and the calibration's creation date): the ideal and the Pi-like clock (``pi-under-load``: late wake-ups up to
  50 ms stalls), HX717 at 320 SPS with 100 Hz and 320 Hz frames, HX711 at 80 SPS with 80 Hz frames,
  and one run with every fault the front end reports (a board losing power and coming back, a
  corrupted status block and record, values out of step, bus errors, the front end restarting,
  and not answering for 0.3 s);
* times the loop's own thread over ``--frames`` frames per configuration, back to back under the
  simulated clock (no sleeps: warm caches), minus what the simulated chips and bus took in that
  thread, as ``bench acquisition``'s ``warm_cpu_us_per_frame`` does; the minimum over the rounds
  is printed (the figure the machine's other work disturbs least), with the load average.

It exits 1 when any scenario's hash differs between the versions. No numbers are asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

# (name, adc_rate_sps, frame rate Hz, timing, seconds, faults)
SCENARIOS = (
    ("320sps_100hz_ideal", 320, 100.0, "ideal", 20.0, False),
    ("320sps_100hz_pi", 320, 100.0, "pi-under-load", 20.0, False),
    ("320sps_320hz_pi", 320, 320.0, "pi-under-load", 10.0, False),
    ("80sps_80hz_ideal", 80, 80.0, "ideal", 20.0, False),
    ("80sps_80hz_pi", 80, 80.0, "pi-under-load", 20.0, False),
    ("320sps_100hz_faults_ideal", 320, 100.0, "ideal", 0.0, True),
    ("320sps_100hz_faults_pi", 320, 100.0, "pi-under-load", 0.0, True),
    ("80sps_80hz_faults_pi", 80, 80.0, "pi-under-load", 0.0, True),
)
TIMED = (("320sps_100hz", 320, 100.0), ("320sps_320hz", 320, 320.0), ("80sps_80hz", 80, 80.0))


def _config(sps: int, rate_hz: float):
    from station.config import AcquisitionConfig, PlateConfig, StationConfig

    return StationConfig(plate=PlateConfig(front_end="rp2040", adc_rate_sps=sps), acquisition=AcquisitionConfig(rate_hz=rate_hz))


def _with_faults(station) -> list:
    """Frames of a run with every fault the front end reports, at fixed frames."""
    sim = station.simulation
    fe, bus, clock = sim.front_end, sim.bus, station.clock
    rate = station.rate_hz
    chunks = [station.run_seconds(2.0)]
    fr = fe.chip("fr")
    fr.set_not_ready()                                            # a board loses power ...
    chunks.append(station.run_seconds(0.5))
    fr.set_not_ready(False)
    fr.power_up(clock.monotonic_ns())                             # ... and comes back
    chunks.append(station.run_seconds(2.5))
    bus.corrupt_reads(fe, count=1, byte_index=5, xor_mask=0x10)   # the status block
    chunks.append(station.run_frames(3))
    bus.corrupt_reads(fe, count=1, byte_index=12, xor_mask=0x40, after=1)  # a record
    chunks.append(station.run_frames(5))
    fe.inject_desync("bl", sets=3)
    chunks.append(station.run_seconds(1.0))
    bus.inject_eio(fe, count=2)                                   # retried
    chunks.append(station.run_seconds(1.0))
    fe.reboot(clock.monotonic_ns())                               # the firmware restarts
    chunks.append(station.run_seconds(3.0))
    bus.vanish(fe)                                                # not answering for 0.3 s
    chunks.append(station.run_frames(round(0.3 * rate)))
    bus.reappear(fe)
    chunks.append(station.run_seconds(4.0))
    return chunks


def _digest(station, chunks) -> str:
    import numpy as np
    from dataclasses import asdict

    frames = np.concatenate(chunks)
    health = station.health()
    for volatile in ("process", "calibration", "sim_model_cpu_s"):  # CPU, memory, pid, wall-clock dates
        health.pop(volatile, None)
    h = hashlib.sha256(frames.tobytes())
    h.update(json.dumps(asdict(station.loop.stats), sort_keys=True).encode())
    h.update(json.dumps(health, sort_keys=True, default=str).encode())
    return f"{len(frames)}:{h.hexdigest()[:16]}"


def _worker(frames: int) -> dict:
    from station.sim.person import VirtualPerson
    from station.sim.static_load import ConstantLoad
    from station.sim.station import SimulatedStation

    out: dict = {"digests": {}, "warm_us": {}}
    for name, sps, rate, timing, seconds, faults in SCENARIOS:
        person = VirtualPerson.standing_demo(seed=5)
        station = SimulatedStation(_config(sps, rate), person, seed=0, timing=timing, calibration="nominal")
        chunks = _with_faults(station) if faults else [station.run_seconds(seconds)]
        out["digests"][name] = _digest(station, chunks)
    for name, sps, rate in TIMED:
        station = SimulatedStation(_config(sps, rate), ConstantLoad(fz_n=700.0), seed=0, calibration="nominal")
        station.run_frames(200)
        bus = station.simulation.bus
        bus.account_cpu = True
        cpu0, model0 = time.thread_time_ns(), bus.model_cpu_ns
        station.run_frames(frames)
        cpu, model = time.thread_time_ns() - cpu0, bus.model_cpu_ns - model0
        out["warm_us"][name] = round((cpu - model) / frames / 1e3, 2)
    return out


def _run(root: Path, frames: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(root))
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", str(root), "--frames", str(frames)],
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"the run of {root} failed:\n{done.stderr.strip()}")
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="directory holding the older station/ package")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        sys.path.insert(0, str(args.worker))
        print(json.dumps(_worker(args.frames)))
        return 0
    if args.before is None or not (args.before / "station" / "acquire" / "loop.py").is_file():
        print("--before DIR: no station/acquire/loop.py there (git archive COMMIT station | tar -x -C DIR)", file=sys.stderr)
        return 2
    runs: dict[str, list] = {"before": [], "after": []}
    loads = []
    for _ in range(max(1, args.rounds)):
        for label, root in (("before", args.before.resolve()), ("after", HERE)):
            runs[label].append(_run(root, args.frames))
            loads.append(os.getloadavg()[0])
    digests = {label: runs[label][0]["digests"] for label in runs}
    same = {name: digests["before"][name] == digests["after"][name] for name, *_ in SCENARIOS}
    stable = all(r["digests"] == runs[label][0]["digests"] for label in runs for r in runs[label])
    warm = {name: {label: min(r["warm_us"][name] for r in runs[label]) for label in runs} for name, *_ in TIMED}
    print(json.dumps({
        "frames_identical": same,
        "repeatable": stable,
        "digests": digests,
        "warm_cpu_us_per_frame_min": warm,
        "rounds": args.rounds,
        "frames_timed": args.frames,
        "load_average_1min": [round(x, 2) for x in loads],
    }, indent=1))
    return 0 if all(same.values()) and stable else 1


if __name__ == "__main__":
    sys.exit(main())
