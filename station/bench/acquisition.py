"""``balance-station bench acquisition``: the acquisition process on the simulated plate, in real
time, with K other processes reading the ring (as live viewers and the recorder do).

Prints one JSON object: ``rate_hz``, ``seconds``, ``frames``, ``frames_lost``, ``interval_p50_ms``,
``interval_p99_ms``, ``interval_max_ms`` (between consecutive frame timestamps), ``rss_mb`` (peak
resident memory of the acquisition process), ``readers`` and what the readers saw, and CPU:

``cpu_us_per_frame``
    CPU time of the acquisition loop's own thread per frame (``CLOCK_THREAD_CPUTIME_ID``), minus
    the CPU the simulated chips and bus took inside that thread (measured the same way around
    each simulated transaction). This is the acquisition's own work: on the Pi the chips'
    work is done by the chips and the kernel. Other threads of the process are not in it: the
    virtual person generates its trajectory on a thread of its own (simulation, not
    acquisition).
``process_cpu_us_per_frame``
    All threads of the acquisition process per frame, simulation included (what ``top`` shows).
``sim_model_cpu_us_per_frame``
    The simulated chips' and bus's share of the loop thread.

``warm_cpu_us_per_frame``
    The same loop, drivers and simulated chips run back to back under the simulated clock in the
    bench's own thread (no sleeps between frames, so the caches stay warm): the code's own cost.

CPU time is not a machine-independent quantity: on a shared, loaded machine every wake-up
starts with cold caches and the same code takes several times longer; ``load_average_1min``
says how busy the machine was (see the README).

``machine_wake_probe``
    What this machine gives a thread that only sleeps: during the whole measurement, beside the
    acquisition and the readers, a bare sleeper in its own process, scheduled like the
    acquisition process (``SCHED_FIFO`` when permitted), wakes at the loop's poll interval. It
    reports its CPU per wake-up (the kernel's cost of one sleep and wake-up, which the loop pays
    ``polls_per_frame`` times per frame; in ``cpu_us_per_frame``) and how late it woke
    (``stalls_over_frame_period``: times it woke a whole frame period or more late, each stall
    counted once, not its catch-up wake-ups; ``stalled_frame_periods``: the whole frame periods
    those stalls covered, what the loop would lose to them). It tells the machine's share from
    the code's. It costs the machine
    about 1.5 % of a core at 100 Hz (``cpu_us_per_wake`` × wake-ups).

``gc_full_collections``
    Full garbage collections in the acquisition process during the run (its start-up objects are
    frozen, so each is short; a lost frame that coincides with none was not the collector's).

``--power-cycle S``: one corner (FR) loses power every S seconds for half a second and comes
back in its power-on state; the document then also reports what the other channels lost
(``other_corner_stale``, ``other_corners_conversions_missed``, ``imu_lost``) and the cycles.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import replace

import numpy as np


def _reader(ring_name: str, stop, results, poll_s: float, attached) -> None:
    from station.acquire.ring import RingReader

    reader = RingReader(ring_name)
    attached.release()
    frames = 0
    while not stop.is_set():
        block = reader.read()
        frames += len(block.frames)
        time.sleep(poll_s)
    block = reader.read()
    results.put((frames + len(block.frames), reader.missed_total))
    reader.close()


def _wake_probe(period_ns: int, seconds: float, frame_period_ns: int, results) -> None:
    """A thread that does nothing but sleep until absolute deadlines ``period_ns`` apart, scheduled
    like the acquisition process; puts its CPU per wake-up and its lateness into ``results``."""
    from station.acquire.process import enter_realtime, prepare_process

    prepare_process()
    scheduling = enter_realtime()
    n = max(1, int(seconds * 1e9) // period_ns)
    late_ns = [0] * n
    monotonic_ns, sleep = time.monotonic_ns, time.sleep
    deadline = monotonic_ns() + period_ns
    cpu0 = time.thread_time_ns()
    for i in range(n):
        remaining = deadline - monotonic_ns()
        if remaining > 0:
            sleep(remaining / 1e9)
        late_ns[i] = monotonic_ns() - deadline
        deadline += period_ns
    cpu_ns = time.thread_time_ns() - cpu0
    late = np.array(late_ns, dtype=np.int64)
    results.put({
        "scheduling": scheduling,
        "period_ms": round(period_ns / 1e6, 4),
        "wakes": n,
        "cpu_us_per_wake": round(cpu_ns / n / 1e3, 2),
        "late_p50_ms": round(float(np.percentile(late, 50)) / 1e6, 4),
        "late_p99_ms": round(float(np.percentile(late, 99)) / 1e6, 4),
        "late_max_ms": round(float(late.max()) / 1e6, 4),
        **stall_summary(late, frame_period_ns),
    })


def stall_summary(late_ns: np.ndarray, frame_period_ns: int) -> dict:
    """Stalls in a sleeper's wake-up lateness (ns, one per wake-up, in order): how many times it
    woke a whole frame period or more late, and the whole frame periods those stalls covered.

    After a stall the sleeper's next deadlines are already past, so it wakes at once, each time a
    poll interval less late: those catch-up wake-ups belong to the same stall, whose first
    wake-up is its latest.

    >>> stall_summary(np.array([0, 25, 22, 19, 16, 13, 10, 7, 0, 12]) * 1_000_000, 10_000_000)
    {'stalls_over_frame_period': 2, 'stalled_frame_periods': 3}
    """
    late = np.asarray(late_ns, dtype=np.int64)
    over = late >= frame_period_ns
    first = over & ~np.concatenate(([False], over[:-1]))
    return {"stalls_over_frame_period": int(np.count_nonzero(first)),
            "stalled_frame_periods": int((late[first] // frame_period_ns).sum())}


def _start_wake_probe(ctx, health: dict, config, seconds: float):
    """Start :func:`_wake_probe` in its own process at the loop's poll interval; returns what
    :func:`_wake_probe_result` needs."""
    frame_period_ns = round(1e9 / config.acquisition.rate_hz)
    polls = int((health.get("rate_hz") or {}).get("polls_per_frame") or 1)
    results = ctx.Queue()
    probe = ctx.Process(target=_wake_probe, args=(frame_period_ns // polls, seconds, frame_period_ns, results), daemon=True)
    probe.start()
    return probe, results, seconds


def _wake_probe_result(started) -> dict | None:
    probe, results, seconds = started
    try:
        return results.get(timeout=seconds + 60)
    except Exception:  # the probe is a diagnosis; the benchmark's numbers stand without it
        return None
    finally:
        probe.join(5)


def _next_health(reader, timeout_s: float = 5.0) -> dict:
    """Wait for the next health report (published once a second) and return it."""
    first = reader.read_health() or {}
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        doc = reader.read_health() or {}
        if doc.get("published_ns") != first.get("published_ns"):
            return doc
        time.sleep(0.02)
    return reader.read_health() or {}


def warm_cpu_us_per_frame(config, frames: int = 2000) -> tuple[float, float]:
    """The loop's CPU per frame with warm caches: the same loop, drivers and simulated chips run
    back to back under the simulated clock in this thread (no sleeps, so nothing evicts the
    caches between frames). Returns (loop, simulated chips) in µs per frame."""
    from station.sim.static_load import ConstantLoad
    from station.sim.station import SimulatedStation

    station = SimulatedStation(config, ConstantLoad(fz_n=700.0), seed=0, calibration="nominal")
    station.run_frames(200)
    bus = station.simulation.bus
    bus.account_cpu = True
    cpu0, model0 = time.thread_time_ns(), bus.model_cpu_ns
    station.run_frames(frames)
    cpu, model = time.thread_time_ns() - cpu0, bus.model_cpu_ns - model0
    return round((cpu - model) / frames / 1e3, 2), round(model / frames / 1e3, 2)


def run(args) -> int:
    from station.acquire.calibration import save_calibration
    from station.acquire.process import AcquisitionProcess, AcquisitionSpec
    from station.acquire.ring import RingReader
    from station.cli import UserError
    from station.config_file import load_station_config
    from station.config import StationConfig
    from station.sim.station import SimulatedHardwareRecipe

    if not (1 <= args.rate <= 1000):
        raise UserError(f"--rate must be between 1 and 1000 Hz, got {args.rate:g}")
    if not (1 <= args.seconds <= 3600):
        raise UserError(f"--seconds must be between 1 and 3600, got {args.seconds:g}")
    if not (0 <= args.readers <= 64):
        raise UserError(f"--readers must be between 0 and 64, got {args.readers}")
    # The plate and IMU as configured (``--config``: e.g. ``[plate] front_end = "rp2040"``), on the
    # simulated hardware; the frame rate from --rate.
    base = load_station_config(args.config) if getattr(args, "config", None) else StationConfig()
    if args.rate > base.plate.adc_rate_sps:
        raise UserError(f"--rate {args.rate:g} Hz is faster than the plate's ADCs (plate.adc_rate_sps = "
                        f"{base.plate.adc_rate_sps}): lower --rate or raise adc_rate_sps in the configuration")
    config = replace(base, acquisition=replace(base.acquisition, rate_hz=float(args.rate)))
    data_dir = tempfile.mkdtemp(prefix="balance-bench-")
    # Factory calibration first, so the acquisition process starts straight into the loop.
    power_cycle_s = getattr(args, "power_cycle", None)
    if power_cycle_s is not None and not (1 <= power_cycle_s <= 3600):
        raise UserError(f"--power-cycle must be between 1 and 3600 s, got {power_cycle_s:g}")
    recipe = SimulatedHardwareRecipe(seed=0, power_cycle_s=power_cycle_s, account_cpu=True)
    save_calibration(data_dir, recipe.factory_calibration(config))
    spec = AcquisitionSpec(config=config, ring_name=f"balance-bench-{secrets.token_hex(4)}", hardware=recipe, data_dir=data_dir)
    process = AcquisitionProcess(spec)
    process.start()
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    results = ctx.Queue()
    attached = ctx.Semaphore(0)
    readers = [
        ctx.Process(target=_reader, args=(spec.ring_name, stop, results, 0.04, attached), daemon=True)
        for _ in range(args.readers)
    ]
    for p in readers:
        p.start()
    for _ in readers:  # measure once every reader runs: starting 20 interpreters is not steady state
        if not attached.acquire(timeout=120):
            raise UserError("the ring readers did not start within 120 s")
    main_reader = RingReader(spec.ring_name)
    baseline = _next_health(main_reader)
    probe = _start_wake_probe(ctx, baseline, config, float(args.seconds))
    main_reader.read()  # start the interval statistics here
    stamps: list[np.ndarray] = []
    seqs: list[np.ndarray] = []
    flags: list[np.ndarray] = []
    missed = 0
    try:
        t_end = time.monotonic() + args.seconds
        while time.monotonic() < t_end:
            time.sleep(0.05)
            block = main_reader.read()
            missed += block.missed
            stamps.append(block.frames["t_ns"].copy())
            seqs.append(block.frames["seq"].copy())
            flags.append(block.frames["flags"].copy())
        health = _next_health(main_reader)
        wake_probe = _wake_probe_result(probe)
        stop.set()
        reader_results = [results.get(timeout=30) for _ in readers]
    finally:
        stop.set()
        for p in readers:
            p.join(10)
        main_reader.close()
        process.stop()
        shutil.rmtree(data_dir, ignore_errors=True)  # the bench's calibration file
    t_ns = np.concatenate(stamps) if stamps else np.empty(0, dtype=np.int64)
    seq = np.concatenate(seqs) if seqs else np.empty(0, dtype=np.uint64)
    intervals_ms = np.diff(t_ns) / 1e6
    def delta(key: str) -> float:
        return float(health.get(key, 0)) - float(baseline.get(key, 0))

    frames = int(delta("frames"))
    model_cpu_s = delta("sim_model_cpu_s")
    thread_cpu_s = float((health.get("process") or {}).get("loop_thread_cpu_s", 0)) - float(
        (baseline.get("process") or {}).get("loop_thread_cpu_s", 0))
    loop_cpu_s = thread_cpu_s - model_cpu_s
    process_cpu_s = delta("loop_cpu_s")
    flag_bits = np.concatenate(flags) if flags else np.empty(0, dtype=np.uint32)

    def per_frame_us(seconds: float):
        return round(seconds / frames * 1e6, 2) if frames else None

    def sensor_delta(name: str, key: str) -> int:
        return int((health.get("sensors") or {}).get(name, {}).get(key, 0)) - int(
            (baseline.get("sensors") or {}).get(name, {}).get(key, 0))

    doc = {
        "rate_hz": float(args.rate),
        "seconds": float(args.seconds),
        "frames": frames,
        "frames_lost": int(delta("frames_lost")),
        "frames_late": int(delta("frames_late")),
        "interval_p50_ms": round(float(np.percentile(intervals_ms, 50)), 4) if len(intervals_ms) else None,
        "interval_p99_ms": round(float(np.percentile(intervals_ms, 99)), 4) if len(intervals_ms) else None,
        "interval_max_ms": round(float(intervals_ms.max()), 4) if len(intervals_ms) else None,
        "cpu_us_per_frame": per_frame_us(loop_cpu_s),
        "process_cpu_us_per_frame": per_frame_us(process_cpu_s),
        "sim_model_cpu_us_per_frame": per_frame_us(model_cpu_s),
        "conversions_missed": int(delta("conversions_missed")),
        "imu_samples_lost_events": int(delta("imu_samples_lost_events")),
        "rss_mb": (health.get("process") or {}).get("rss_mb"),
        "scheduling": health.get("scheduling"),
        "readers": args.readers,
        "reader_frames_min": min((r[0] for r in reader_results), default=None),
        "reader_missed_total": sum(r[1] for r in reader_results) + missed,
        "seq_gaps": int(np.count_nonzero(np.diff(seq.astype(np.int64)) != 1)) if len(seq) > 1 else 0,
    }
    doc["front_end"] = config.plate.front_end
    doc["adc_rate_sps"] = config.plate.adc_rate_sps
    if "front_end" in health:  # the RP2040: every set delivered once or counted lost
        fe, fe0 = health["front_end"], baseline.get("front_end") or {}
        for key in ("sets", "sets_lost_overflow", "sets_lost_reset", "crc_errors", "resets"):
            doc[f"front_end_{key}"] = int(fe.get(key) or 0) - int(fe0.get(key) or 0)
        doc["front_end_firmware_overflows"] = fe.get("firmware_overflows")
    doc["warm_cpu_us_per_frame"], doc["warm_sim_model_cpu_us_per_frame"] = warm_cpu_us_per_frame(config)
    doc["load_average_1min"] = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    doc["polls_per_frame"] = (health.get("rate_hz") or {}).get("polls_per_frame")
    doc["gc_full_collections"] = int(((health.get("gc") or {}).get("full_collections") or 0)
                                     - ((baseline.get("gc") or {}).get("full_collections") or 0))
    doc["machine_wake_probe"] = wake_probe
    if power_cycle_s is not None:
        from station.acquire.frame import FrameFlag

        others = FrameFlag.STALE_FL | FrameFlag.STALE_BL | FrameFlag.STALE_BR
        doc.update({
            "power_cycle_s": power_cycle_s,
            "power_cycled_corner": "fr",
            "fr_fault_frames": int(np.count_nonzero(flag_bits & int(FrameFlag.FAULT_FR))),
            "recoveries": int(delta("recoveries")),
            "other_corner_stale_frames": int(np.count_nonzero(flag_bits & int(others))),
            "other_corners_conversions_missed": sum(sensor_delta(c, "conversions_missed") for c in ("fl", "bl", "br")),
            "imu_lost_or_stale_frames": int(np.count_nonzero(flag_bits & int(FrameFlag.IMU_LOST | FrameFlag.IMU_STALE
                                                                               | FrameFlag.IMU_FAULT))),
        })
    if args.json:
        print(json.dumps(doc))
    else:
        for key, value in doc.items():
            print(f"{key:28} {value}")
    sys.stdout.flush()
    return 0
