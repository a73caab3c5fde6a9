"""The acquisition process: the one process that owns the I2C bus (DESIGN.md §3).

It runs :class:`~station.acquire.loop.AcquisitionLoop` against the real or simulated hardware on
the real clock and writes every frame into a shared-memory :class:`~station.acquire.ring.FrameRing`
and its health into the ring's health block. The web server runs in another process, so a web
request can never hold this process's GIL.

The parent starts it with :class:`AcquisitionProcess`; startup errors (no I2C bus, a missing chip)
come back as one message and are raised in the parent as :class:`AcquisitionStartError`.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from dataclasses import dataclass, field

from station.config import StationConfig


class AcquisitionStartError(RuntimeError):
    """The acquisition process could not start; the message says why and what to check."""


@dataclass(frozen=True)
class AcquisitionSpec:
    """Everything the acquisition process needs (picklable)."""

    config: StationConfig
    ring_name: str
    simulate: bool = False
    replay: str | None = None
    seed: int = 0
    data_dir: str | None = None
    person: dict = field(default_factory=dict)


def _load_source(spec: AcquisitionSpec):
    if spec.replay:
        from station.sim.replay import ReplaySource

        return ReplaySource.from_file(spec.replay, plate=spec.config.plate)
    from station.sim.person import VirtualPerson

    return VirtualPerson.standing_demo(seed=spec.seed, plate=spec.config.plate, **spec.person)


def _calibration(spec: AcquisitionSpec, hardware):
    """Stored calibration for this plate; a simulated plate without one is calibrated under
    simulated time first (its 'factory calibration'); real hardware falls back to nominal."""
    from station.acquire.calibration import nominal_calibration, save_calibration
    from station.acquire.local import SimulatedStation, calibration_for

    seed = spec.seed if spec.simulate else None
    stored = calibration_for(spec.data_dir, spec.config, simulated_seed=seed) if spec.data_dir else None
    if stored is not None:
        return stored
    if spec.simulate:
        calibration = SimulatedStation(spec.config, None, seed=spec.seed, calibration="auto").calibration
        if spec.data_dir:
            save_calibration(spec.data_dir, calibration)
        return calibration
    return nominal_calibration(spec.config.plate)


def _prepare_process() -> str:
    """Settings of this process before numpy loads: one BLAS thread (a spinning BLAS pool would
    steal the cores the deadlines need), and real-time scheduling when permitted (root or
    CAP_SYS_NICE, as the systemd unit grants). Returns the scheduling policy in effect."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
        return "fifo"
    except (AttributeError, PermissionError, OSError):
        return "normal"


REALTIME_PRIORITY = 20
"""SCHED_FIFO priority of the acquisition process (1–99; above normal tasks, below kernel IRQ threads at 50)."""


def acquisition_main(spec: AcquisitionSpec, status_conn) -> None:
    """Entry point of the acquisition process."""
    scheduling = _prepare_process()
    from station.acquire.hardware import open_real_hardware, open_simulated_hardware
    from station.acquire.loop import AcquisitionLoop
    from station.acquire.ring import FrameRing
    from station.clock import MonotonicClock

    stop = {"requested": False}

    def _on_term(signum, frame):
        stop["requested"] = True

    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    ring = None
    hardware = None
    try:
        clock = MonotonicClock()
        if spec.simulate:
            hardware = open_simulated_hardware(spec.config, clock, _load_source(spec), seed=spec.seed)
        else:
            hardware = open_real_hardware(spec.config, clock)
        calibration = _calibration(spec, hardware)
        ring = FrameRing(spec.config.acquisition.ring_frames, name=spec.ring_name)
        sim = hardware.simulation
        loop = AcquisitionLoop(
            clock=clock,
            plate=hardware.plate,
            imu=hardware.imu,
            calibration=calibration,
            config=spec.config,
            sink=ring.write,
            bus_errors=hardware.bus_errors,
            on_health=ring.publish_health,
            extra_health=_extra_health(sim, scheduling),
        )
        loop.start()
        ring.publish_health(loop.health())
        status_conn.send(("ready", None))
    except Exception as exc:  # reported to the parent as one line
        status_conn.send(("error", f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc)))
        if ring is not None:
            ring.close()
        if hardware is not None:
            hardware.close()
        return
    finally:
        status_conn.close()
    try:
        loop.run(lambda: stop["requested"])
    finally:
        ring.close()
        hardware.close()


def _extra_health(sim, scheduling: str):
    """Process CPU time spent in the loop (excluding the simulated chips' own work when simulated)."""
    cpu_start = time.process_time()
    model_start = sim.bus.model_cpu_ns if sim else 0

    def extra() -> dict:
        doc = {
            "loop_cpu_s": round(time.process_time() - cpu_start, 6),
            "simulated": sim is not None,
            "scheduling": scheduling,
        }
        if sim is not None:
            doc["sim_model_cpu_s"] = round((sim.bus.model_cpu_ns - model_start) / 1e9, 6)
        return doc

    return extra


class AcquisitionProcess:
    """Starts, watches and stops the acquisition process.

    Parameters
    ----------
    spec : AcquisitionSpec
    start_timeout_s : float
        How long the process may take to bring the hardware up.
    """

    def __init__(self, spec: AcquisitionSpec, start_timeout_s: float = 60.0) -> None:
        self.spec = spec
        self.start_timeout_s = start_timeout_s
        self._process = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        ctx = mp.get_context("spawn")
        parent_conn, child_conn = ctx.Pipe(duplex=False)
        self._process = ctx.Process(target=acquisition_main, args=(self.spec, child_conn), name="balance-acquisition", daemon=True)
        self._process.start()
        child_conn.close()
        if not parent_conn.poll(self.start_timeout_s):
            self.stop()
            raise AcquisitionStartError(f"the acquisition did not start within {self.start_timeout_s:.0f} s")
        try:
            kind, message = parent_conn.recv()
        except EOFError:
            kind, message = "error", f"the acquisition process exited (code {self._process.exitcode}) before starting"
        if kind != "ready":
            self._process.join(5)
            raise AcquisitionStartError(message)

    def is_alive(self) -> bool:
        return bool(self._process and self._process.is_alive())

    def stop(self, timeout_s: float = 5.0) -> None:
        process = self._process
        if process is None:
            return
        if process.is_alive():
            process.terminate()
            process.join(timeout_s)
            if process.is_alive():
                os.kill(process.pid, signal.SIGKILL)
                process.join(timeout_s)
        self._process = None
        _unlink_ring(self.spec.ring_name)


def _unlink_ring(name: str) -> None:
    """Remove the ring's shared block if the process died without doing so."""
    from multiprocessing import shared_memory

    try:
        shm = shared_memory.SharedMemory(name=name, create=False)
    except FileNotFoundError:
        return
    shm.close()
    try:
        shm.unlink()
    except FileNotFoundError:
        pass
