"""The acquisition process: the one process that owns the I2C bus (DESIGN.md §3).

It runs :class:`~station.acquire.loop.AcquisitionLoop` against the real or simulated hardware on
the real clock and writes every frame into a shared-memory :class:`~station.acquire.ring.FrameRing`
and its health into the ring's health block. The web server runs in another process, so a web
request can never hold this process's GIL.

The parent starts it with :class:`AcquisitionProcess`; startup errors (no I2C bus, a missing chip)
come back as one message and are raised in the parent as :class:`AcquisitionStartError`.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass

from station.config import StationConfig


class AcquisitionStartError(RuntimeError):
    """The acquisition process could not start; the message says why and what to check."""


@dataclass(frozen=True)
class AcquisitionSpec:
    """Everything the acquisition process needs (picklable).

    ``hardware`` is what the composition root hands the process to run on: None for the real
    I2C bus, or a recipe with ``open(config, clock) -> StationHardware``, ``clock(real_clock)``,
    ``calibration_source``, ``factory_calibration(config)``, ``follows_protocols``,
    ``wrap_sink(hardware, sink, conn, data_dir)`` (what runs after each frame; ``conn`` carries the
    forwarded protocol events, or None) and ``scenario_message(event)`` (the simulated
    station's is :class:`station.sim.station.SimulatedHardwareRecipe`). The acquisition never
    imports the simulation itself (DESIGN.md §2).
    """

    config: StationConfig
    ring_name: str
    hardware: object | None = None
    data_dir: str | None = None

    @property
    def simulate(self) -> bool:
        return self.hardware is not None


def _follows_protocols(spec: AcquisitionSpec) -> bool:
    """Whether the hardware has someone on the plate who follows the protocol events."""
    return bool(spec.hardware is not None and spec.hardware.follows_protocols)


def _calibration(spec: AcquisitionSpec, hardware):
    """Stored calibration for this plate; a simulated plate without one is calibrated under
    simulated time first (its 'factory calibration'); real hardware falls back to nominal."""
    from station.acquire.calibration import load_calibration, nominal_calibration, save_calibration

    wanted = "hardware" if spec.hardware is None else spec.hardware.calibration_source
    stored = load_calibration(spec.data_dir) if spec.data_dir else None
    if stored is not None and stored.source == wanted:
        return stored
    if spec.hardware is not None:
        calibration = spec.hardware.factory_calibration(spec.config)
        if spec.data_dir:
            try:
                save_calibration(spec.data_dir, calibration)
            except OSError as exc:  # measured again at the next start; the station runs on it meanwhile
                print(f"balance-station: the simulated plate's calibration is not saved in {spec.data_dir} "
                      f"({exc.strerror or exc}); it is made again at the next start", file=sys.stderr, flush=True)
        return calibration
    return nominal_calibration(spec.config.plate)


def prepare_process() -> None:
    """Settings of this process before numpy loads: one BLAS thread (a spinning BLAS pool would
    steal the cores the deadlines need) and a short GIL switch interval. The scheduling stays
    normal until :func:`enter_realtime`, once the start-up is done.

    Also used by ``bench acquisition``'s wake-up probe, which must be scheduled like this process."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    # A helper thread (the simulated person's prefetch) must hand the GIL back to the loop within
    # half a millisecond of a deadline, not the default 5 ms.
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


def enter_realtime() -> str:
    """Real-time scheduling (SCHED_FIFO at :data:`REALTIME_PRIORITY`) for every Python thread of
    this process, when permitted (root or CAP_SYS_NICE, as the systemd unit grants); threads started
    afterwards inherit it. Returns the policy in effect, ``"fifo"`` or ``"normal"``.

    Called once the start-up is done, just before the loop's first deadline: the start-up (imports,
    the hardware brought up, a simulated person generated, the calibration, the collector's freeze)
    is seconds of CPU with no deadline, and at SCHED_FIFO nothing of the same priority can preempt
    it. Two stations starting at once on a 2-core machine held both cores that way while a running
    station's loop waited: 82-185 frames lost per pair started
    (tests/acquire/test_startup_priority.py). Every thread, not only the caller: a helper thread
    left at normal priority (the simulated person's prefetch, started with the hardware) could be
    preempted by other programs while it holds the GIL the loop waits for."""
    param = os.sched_param(REALTIME_PRIORITY)
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, param)
    except (AttributeError, PermissionError, OSError):
        return "normal"
    me = threading.get_native_id()
    for thread in threading.enumerate():
        if thread.native_id is None or thread.native_id == me:
            continue
        try:
            os.sched_setscheduler(thread.native_id, os.SCHED_FIFO, param)
        except ProcessLookupError:  # it ended meanwhile
            pass
    return "fifo"


GIL_SWITCH_INTERVAL_S = 0.0005
"""How long another thread of this process may hold the GIL while the loop waits for it, s."""

REALTIME_PRIORITY = 20
"""SCHED_FIFO priority of the acquisition process (1–99; above normal tasks, below kernel IRQ threads at 50)."""


def acquisition_main(spec: AcquisitionSpec, status_conn, scenario_conn=None) -> None:
    """Entry point of the acquisition process. ``scenario_conn``: where the daemon forwards the
    protocol events a scenario's virtual patient follows (simulation only)."""
    from station.acquire.supervisor import die_with_parent, parent_watch

    die_with_parent()  # never outlive the station (even one killed with SIGKILL)
    parent_gone = parent_watch()
    prepare_process()
    from station.acquire.hardware import open_real_hardware
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
        if spec.hardware is not None:
            clock = spec.hardware.clock(clock)
            hardware = spec.hardware.open(spec.config, clock)
        else:
            hardware = open_real_hardware(spec.config, clock)
        calibration = _calibration(spec, hardware)
        ring = FrameRing(spec.config.acquisition.ring_frames, name=spec.ring_name)
        sim = hardware.simulation
        sink = ring.write
        if spec.hardware is not None:  # whatever the hardware adds after each frame (a virtual patient, faults)
            sink = spec.hardware.wrap_sink(hardware, sink, scenario_conn, spec.data_dir)
        freeze_startup_objects()
        scheduling = enter_realtime()  # the start-up above ran at normal priority
        loop = AcquisitionLoop(
            clock=clock,
            plate=hardware.plate,
            imu=hardware.imu,
            calibration=calibration,
            config=spec.config,
            sink=sink,
            bus_errors=hardware.bus_errors,
            imu_error=hardware.imu_error,
            imu_absent_reason=hardware.imu_absent_reason,
            on_health=ring.publish_health,
            extra_health=_extra_health(sim, scheduling),
        )
        loop.start()
        ring.publish_health(loop.health())
        status_conn.send(("ready", calibration.to_dict()))
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
        loop.run(lambda: stop["requested"] or parent_gone())
    finally:
        ring.close()
        hardware.close()


def freeze_startup_objects() -> None:
    """Move every object that exists after start-up (modules, drivers, numpy, the simulation) out
    of the garbage collector's reach (``gc.freeze``), so that a full collection only walks what the
    loop allocated since. Measured on the development machine: a full collection of the ~25 000
    start-up objects took 27–42 ms (3–4 frame periods at 100 Hz, 9–13 at 320 Hz, all lost);
    after the freeze, under 0.1 ms. The loop's own garbage (tuples and lists per frame) is still
    collected as usual."""
    gc.collect()
    gc.freeze()


def _extra_health(sim, scheduling: str):
    """CPU time of this process (all its threads) and of the loop's own thread, and, when the
    simulated bus accounts it, the CPU the simulated chips took in that thread (on the Pi that work
    is the kernel's and the chips')."""
    cpu_start = time.process_time()
    accounted = sim is not None and sim.bus.account_cpu
    model_start = sim.bus.model_cpu_ns if accounted else 0

    def extra() -> dict:
        doc = {
            "loop_cpu_s": round(time.process_time() - cpu_start, 6),
            "simulated": sim is not None,
            "scheduling": scheduling,
            "gc": {"frozen_objects": gc.get_freeze_count(), "full_collections": gc.get_stats()[2]["collections"]},
        }
        if accounted:
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
        self.calibration: dict | None = None
        """The plate calibration the process uses (``PlateCalibration.to_dict()``), once started."""
        self._scenario_conn = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        ctx = mp.get_context("spawn")
        parent_conn, child_conn = ctx.Pipe(duplex=False)
        args = (self.spec, child_conn)
        if _follows_protocols(self.spec):
            scenario_recv, self._scenario_conn = ctx.Pipe(duplex=False)
            args += (scenario_recv,)
        self._process = ctx.Process(target=acquisition_main, args=args, name="balance-acquisition", daemon=True)
        self._process.start()
        child_conn.close()
        if len(args) > 2:
            args[2].close()
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
        self.calibration = message

    @property
    def follows_protocols(self) -> bool:
        """Whether a scenario's virtual patient in the process follows the protocol events
        (:meth:`forward_event`)."""
        return self._scenario_conn is not None

    def forward_event(self, event) -> None:
        """Pass a protocol event on to the scenario's virtual patient (an EventBus listener;
        only the kinds the patient reacts to are sent). Does nothing without such a scenario."""
        if self._scenario_conn is None:
            return
        message = self.spec.hardware.scenario_message(event)
        if message is not None:
            self._scenario_conn.send(message)

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
        if self._scenario_conn is not None:
            self._scenario_conn.close()
            self._scenario_conn = None
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


RING_PREFIX = "balance-ring-"
SHM_DIR = "/dev/shm"


def ring_name_for(pid: int) -> str:
    """A new ring name that records the station process owning it (for :func:`remove_stale_rings`)."""
    import secrets

    return f"{RING_PREFIX}{pid}-{secrets.token_hex(4)}"


def remove_stale_rings(shm_dir: str = SHM_DIR) -> list[str]:
    """Remove rings left behind by station processes that no longer exist (a station killed with
    SIGKILL, or a power cut on a system whose /dev/shm survives). Returns the names removed."""
    try:
        names = os.listdir(shm_dir)
    except OSError:  # no /dev/shm (not Linux): nothing to clean
        return []
    removed = []
    for name in names:
        if not name.startswith(RING_PREFIX):
            continue
        owner = name[len(RING_PREFIX):].split("-", 1)[0]
        if not owner.isdigit():
            continue
        try:
            os.kill(int(owner), 0)
        except ProcessLookupError:
            _unlink_ring(name)
            removed.append(name)
        except PermissionError:  # alive, another user's
            pass
    return removed
