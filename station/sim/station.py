"""The whole station on simulated hardware: what the composition roots hand the acquisition.

The acquisition (:mod:`station.acquire`) never imports the simulation (DESIGN.md §2). The roots
(``station.commands``, ``station.bench``) build what it runs on here and pass it in:

* :func:`open_simulated_hardware`: the register-level chips on a simulated bus, opened with the
  same drivers as the real bus (a :class:`station.acquire.hardware.StationHardware`);
* :class:`SimulatedStation`: a :class:`station.acquire.local.LocalAcquisition` on that hardware
  under a simulated clock, ``timing="ideal"`` (wake-ups on time) or ``"pi-under-load"``
  (:class:`station.sim.clock.LateWakeClock`); a 60 s trial runs in about a second;
* :class:`SimulatedHardwareRecipe`: a picklable description the acquisition *process* turns into
  its hardware (who stands on the plate, the seed, the timing, a scenario's virtual patient);
* :func:`calibrate_simulated`: the guided calibration with simulated masses, as a technician would.
"""

from __future__ import annotations

import copy
import functools
import os
from dataclasses import dataclass, field, replace

from station.acquire.calibration import PlateCalibration
from station.acquire.guided_calibration import DEFAULT_MASSES_KG, CalibrationStep, run_guided_calibration
from station.acquire.hardware import StationHardware, open_drivers
from station.acquire.local import LocalAcquisition
from station.config import StationConfig
from station.sim.clock import TIMINGS, make_clock
from station.sim.hardware import build_simulated_hardware

DEFAULT_SIM_MASSES_KG = DEFAULT_MASSES_KG
"""The known masses of the simulated guided calibration, kg."""


def open_simulated_hardware(config: StationConfig, clock, load_source, *, seed: int = 0,
                            imu_model: str = "lsm6dsox", account_cpu: bool = False) -> StationHardware:
    """Build the register-level simulation with ``load_source`` on the plate, then open it with
    the same drivers as the real bus (``account_cpu``: see :func:`build_simulated_hardware`)."""
    sim = build_simulated_hardware(clock, load_source, config, seed=seed, imu_model=imu_model, account_cpu=account_cpu)
    bus, plate, imu, imu_error, absent = open_drivers(sim.bus, clock, config, bus_name="sim-i2c")
    return StationHardware(clock=clock, bus=bus, plate=plate, imu=imu, simulation=sim, raw_bus=sim.bus,
                           imu_error=imu_error, imu_absent_reason=absent)


class SimulatedMassOperator:
    """Carries out calibration steps on the simulated plate by placing simulated masses."""

    def __init__(self, simulation, plate) -> None:
        self.simulation = simulation
        self.plate = plate

    def perform(self, step: CalibrationStep) -> None:
        from station.sim.masses import KnownMasses

        if step.mass_kg is None:
            self.simulation.set_load_source(KnownMasses([], plate=self.plate))
        else:
            self.simulation.set_load_source(KnownMasses([(step.mass_kg, step.ap_cm, step.ml_cm)], plate=self.plate))


def calibrate_simulated(station, restore_load_source=None) -> PlateCalibration:
    """Calibrate a simulated station as a technician would, then put ``restore_load_source`` back
    on the plate."""
    try:
        return run_guided_calibration(
            station, list(DEFAULT_SIM_MASSES_KG), SimulatedMassOperator(station.simulation, station.config.plate),
            source=f"simulated:seed={station.seed}",
        )
    finally:
        station.simulation.set_load_source(restore_load_source)


class SimulatedStation(LocalAcquisition):
    """The whole station on simulated hardware under a simulated clock.

    Parameters
    ----------
    config : StationConfig
    load_source : station.sim.loads.LoadSource, optional
        What stands on the plate (a virtual person, a replay); empty plate if None. It can be
        swapped later through ``station.hardware.simulation``.
    seed : int
        Seeds the chips' noise, clock errors and load-cell spread (and the late wake-ups).
    calibration : "auto", "nominal", or PlateCalibration
        ``"auto"`` runs the guided calibration with simulated masses first (as a technician
        would), ``"nominal"`` uses the data-sheet values.
    timing : {"ideal", "pi-under-load"}
        Wake-ups exactly on time, or late like a Pi 4 under load
        (:class:`station.sim.clock.LateWakeClock`).
    clock : optional
        The clock to use instead of a new one (``timing`` is then ignored).
    """

    def __init__(self, config: StationConfig | None = None, load_source=None, *, seed: int = 0, imu_model: str = "lsm6dsox",
                 calibration="auto", clock=None, timing: str = "ideal") -> None:
        config = config or StationConfig()
        clock = clock or make_clock(timing, seed=seed)
        hardware = open_simulated_hardware(config, clock, load_source, seed=seed, imu_model=imu_model)
        self.seed = seed
        self.timing = timing
        super().__init__(hardware, config, None)
        if isinstance(calibration, PlateCalibration):
            self.set_calibration(calibration)
        elif calibration == "auto":
            self.set_calibration(calibrate_simulated(self, load_source))
        elif calibration != "nominal":
            raise ValueError(f"calibration must be 'auto', 'nominal' or a PlateCalibration, got {calibration!r}")

    @property
    def simulation(self):
        return self.hardware.simulation


def factory_calibration(config: StationConfig | None, seed: int) -> PlateCalibration:
    """The guided calibration of the simulated plate of ``seed`` (its "factory calibration"), for
    ``config`` (None: the default configuration).

    It depends on the configuration and the seed alone (the same load cells, chips and masses on a
    fresh station under the simulated clock), so a process computes it once per plate, as a real
    plate is calibrated once and its calibration reused: ~1.4 s of CPU that every ``trial
    --simulate`` and ``record --simulate`` paid again, and the tests that run many of them in one
    process. Each caller gets its own copy (``details`` is a dict)."""
    calibration = _calibrated_once(config if config is not None else StationConfig(), seed)
    return replace(calibration, details=copy.deepcopy(calibration.details))


@functools.lru_cache(maxsize=32)
def _calibrated_once(config: StationConfig, seed: int) -> PlateCalibration:
    return SimulatedStation(config, None, seed=seed, calibration="auto").calibration


@dataclass(frozen=True)
class SimulatedHardwareRecipe:
    """What the acquisition process needs to build the simulated station (picklable).

    Attributes
    ----------
    seed : int
    replay : str or None
        A recording replayed onto the plate (our CSV or Santos & Duarte text).
    person : dict
        Keyword arguments of the virtual person.
    scenario : str or None
        A name of :data:`station.sim.scenarios.SCENARIOS` (who stands on the plate, e.g. a
        virtual patient following the protocol); None is a person standing quietly.
    timing : {"ideal", "pi-under-load"}
        Wake-ups as the machine gives them, or made late like a Pi under load.
    """

    seed: int = 0
    replay: str | None = None
    person: dict = field(default_factory=dict)
    scenario: str | None = None
    timing: str = "ideal"
    power_cycle_s: float | None = None
    """Every this many seconds one corner (``power_cycle_corner``) loses power for
    ``power_off_s`` and comes back in its power-on state (a loose connector; the bench's
    ``--power-cycle``)."""
    power_cycle_corner: str = "fr"
    power_off_s: float = 0.5
    faults: tuple = ()
    """:class:`station.sim.faults.StationFault` s timed from the first go of a walk trial recorded on
    the dashboard (``run --simulate --fault``); they need a scenario that follows the protocols."""
    account_cpu: bool = False
    """Account the simulated chips' CPU time in the loop's thread (the health's
    ``sim_model_cpu_s``), as ``bench acquisition`` asks, which subtracts it from the loop's."""

    def __post_init__(self) -> None:
        if self.timing not in TIMINGS:
            raise ValueError(f"unknown timing {self.timing!r}; choose {' or '.join(TIMINGS)}")

    @property
    def calibration_source(self) -> str:
        """The ``source`` of a calibration that fits this simulated plate."""
        return f"simulated:seed={self.seed}"

    def _scenario(self):
        if self.replay or self.scenario is None:
            return None
        from station.sim.scenarios import SCENARIOS

        scenario = SCENARIOS[self.scenario]
        return scenario if scenario.follows else None

    @property
    def follows_protocols(self) -> bool:
        """Whether a virtual patient on the plate follows the protocol events."""
        return self._scenario() is not None

    def clock(self, real_clock):
        """The acquisition's clock: the real one, made late like a Pi under load if asked."""
        return make_clock(self.timing, seed=self.seed, inner=real_clock)

    def load_source(self, config: StationConfig):
        if self.replay:
            from station.sim.replay import ReplaySource

            return ReplaySource.from_file(self.replay, plate=config.plate)
        from station.sim.person import VirtualPerson

        # In real time the person generates its trajectory ahead on its own thread (prefetch), so
        # that a frame is never delayed by the simulation's own work.
        if self._scenario() is not None:  # a virtual patient, who steps on when a trial is ready, and walks
            from station.sim.walker import VirtualWalker

            person = VirtualPerson(self.seed, plate=config.plate, prefetch=True, **{**self.person, "on_plate": False})
            return VirtualWalker(seed=self.seed, height_cm=person.height_cm, base=person)
        return VirtualPerson.standing_demo(seed=self.seed, plate=config.plate, prefetch=True, **self.person)

    def open(self, config: StationConfig, clock) -> StationHardware:
        """The simulated hardware with who stands on it, opened with the real drivers."""
        return open_simulated_hardware(config, clock, self.load_source(config), seed=self.seed, account_cpu=self.account_cpu)

    def factory_calibration(self, config: StationConfig) -> PlateCalibration:
        """This plate calibrated under simulated time, as a technician would."""
        return factory_calibration(config, self.seed)

    def wrap_sink(self, hardware: StationHardware, sink, conn, data_dir: str | None):
        """``sink`` followed (in the loop's thread, after each frame) by the scenario's virtual
        patient, which reads the forwarded protocol events and schedules the person's next
        actions, by the power cycles of a corner, when asked for, and by the :attr:`faults`."""
        if self.power_cycle_s:
            sink = _power_cycling(hardware.simulation, sink, self.power_cycle_corner, self.power_cycle_s, self.power_off_s)
        if conn is None or not self.follows_protocols:
            return sink
        from station.sim.scenarios import ScenarioPatient

        sim = hardware.simulation
        if self.faults:  # the station failing in time, seen through the events forwarded to the patient
            from station.sim.faults import FaultTimeline, ForwardedEvents, faulty_sink

            timeline = FaultTimeline(self.faults, walks_only=True)
            conn = ForwardedEvents(conn, timeline)
            sink = faulty_sink(sink, timeline, sim, hardware.clock)

        protocols_dir = os.path.join(data_dir, "protocols") if data_dir else None
        patient = ScenarioPatient(self._scenario(), sim.load_source, time_origin_ns=sim.plate.t0_ns,
                                  protocols_dir=protocols_dir)
        poll = patient.poll

        def followed(frame: tuple) -> None:
            sink(frame)
            poll(conn, frame[1])

        return followed

    def scenario_message(self, event):
        """What of a protocol event the virtual patient needs (None: nothing)."""
        from station.sim.scenarios import scenario_message

        return scenario_message(event)


def _power_cycling(sim, sink, corner: str, every_s: float, off_s: float):
    """``sink``, then: corner ``corner``'s chip loses power ``every_s`` seconds for ``off_s``."""
    adc = sim.adc(corner)
    every_ns, off_ns = int(every_s * 1e9), int(off_s * 1e9)
    if sim.front_end is not None:  # an HX711 board behind the RP2040: it stops converting, then restarts
        def power_off() -> None:
            adc.set_not_ready(True)

        def power_on(now_ns: int) -> None:
            adc.set_not_ready(False)
            adc.power_up(now_ns)
    else:
        def power_off() -> None:
            sim.bus.vanish(adc)

        def power_on(now_ns: int) -> None:
            sim.bus.reappear(adc)  # back in its power-on reset state
    state = {"next_off": sim.plate.t0_ns + every_ns, "back_at": None, "cycles": 0}

    def cycling(frame: tuple) -> None:
        sink(frame)
        t_ns = frame[1]
        if state["back_at"] is None and t_ns >= state["next_off"]:
            power_off()
            state["back_at"] = t_ns + off_ns
        elif state["back_at"] is not None and t_ns >= state["back_at"]:
            power_on(t_ns)
            state["back_at"] = None
            state["next_off"] += every_ns
            state["cycles"] += 1

    cycling.state = state
    return cycling
