"""Running a walk protocol on the simulated station (as ``balance-station trial --simulate`` does):
a virtual patient with a virtual walker, simulated light gates on gpiozero mock pins driven on the
station clock, the lower-back IMU on the simulated bus; and matching found initial contacts to
the walker's truth."""

from __future__ import annotations

import re

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from station.acquire.ring import FrameBlock
from station.sim.station import SimulatedStation
from station.config import GateConfig, PanelConfig, StationConfig
from station.hw.gates import GateArray
from station.protocols import loader
from station.protocols.loader import builtin_protocols
from station.protocols.runner import ProtocolRunner
from station.protocols.walk import WalkSettings
from station.sim.faults import FaultySource
from station.sim.gpio import ClockedMockFactory, GateDriver
from station.sim.person import VirtualPerson
from station.sim.virtual_patient import VirtualPatient
from station.sim.walker import SENSOR_MOUNTING, VirtualWalker

GATES = (GateConfig(5, 1.0), GateConfig(6, 2.0), GateConfig(12, 3.0), GateConfig(13, 4.0), GateConfig(16, 8.0))
"""Gates at every position a built-in walk test times with."""


@dataclass
class WalkRun:
    runner: ProtocolRunner
    patient: VirtualPatient
    summary: dict
    events: list
    station: SimulatedStation
    gates: GateArray | None
    source: object = None
    """The runner's frame source: the station, or a FaultySource around it."""

    def results(self) -> list[dict]:
        return [r.result.to_dict() for r in self.runner.records]


def run_walk(name: str, *, seed: int = 1, gait: str = "healthy", lapses=(), settings: WalkSettings | None = None,
             gates=GATES, imu_model: str = "lsm6dsox", rest_s: float = 0.0, trials: int | None = None,
             sink=None, on_runner=None, mounting=SENSOR_MOUNTING, faults=(), timing: str = "ideal",
             max_attempts: int | None = None, duration_s: float | None = None) -> WalkRun:
    """Run the built-in walk protocol ``name``; ``duration_s``: each trial's time limit instead of the
    protocol's (60-120 s overground), for a test whose attempt runs to it (a patient who never walks)."""
    protocol = builtin_protocols()[name]
    if duration_s is not None:  # a condition keeps the duration the protocol had when loaded: set each
        protocol = replace(protocol, duration_s=duration_s,
                           conditions=tuple(replace(c, duration_s=duration_s) for c in protocol.conditions))
    protocol = replace(protocol, rest_s=rest_s, **({"trials_per_condition": trials} if trials else {}),
                       **({"max_attempts": max_attempts} if max_attempts else {}))
    config = StationConfig(panel=PanelConfig(gates=tuple(gates or ())))
    person = VirtualPerson(seed, on_plate=False, plate=config.plate)
    walker = VirtualWalker(seed=seed, base=person)
    station = SimulatedStation(config, walker, seed=seed, calibration="nominal", imu_model=imu_model, timing=timing)
    factory = ClockedMockFactory(station.clock)
    array = GateArray(config.panel.gates, clock=station.clock, pin_factory=factory) if gates else None
    driver = GateDriver(factory)
    settings = settings or WalkSettings(sensor_height_m=walker.sensor_height_m)
    source = FaultySource(station, faults) if faults else station  # the station failing in time (station.sim.faults)
    runner = ProtocolRunner(protocol, source, gates=array, walk_settings=settings, sink=sink, mounting=mounting)
    if faults:
        source.attach(runner)
    patient = VirtualPatient(person, lapses, time_origin_ns=int(station.simulation.plate.t0_ns), walker=walker,
                             gate_driver=driver, gate_pins={g.position_m: g.pin for g in config.panel.gates}, gait=gait)
    patient.attach(runner)
    runner.add_tick(driver.tick)
    events = []
    runner.bus.subscribe(events.append)
    if on_runner is not None:
        on_runner(runner)
    try:
        summary = runner.run(auto=True, max_s=3600.0)
    finally:
        if array is not None:
            array.close()
        factory.reset()
    return WalkRun(runner, patient, summary, events, station, array, source)


def go_s(run: WalkRun, index: int) -> float:
    """Person time of the go beep of the ``index``-th recorded trial."""
    record = run.runner.records[index]
    return (record.result.start_ns - run.patient.time_origin_ns) / 1e9


def match(truth_s, found_s, tolerance_s: float = 0.2) -> tuple[float, float]:
    """(F1, mean absolute timing error s) of found initial contacts against the truth, each truth
    matched to the nearest unused found contact within ``tolerance_s``."""
    truth = np.asarray(truth_s, dtype=float)
    found = np.asarray(found_s, dtype=float)
    used: set[int] = set()
    errors = []
    for t in truth:
        if not found.size:
            break
        order = np.argsort(np.abs(found - t))
        for j in order:
            if abs(found[j] - t) > tolerance_s:
                break
            if j not in used:
                used.add(int(j))
                errors.append(abs(found[j] - t))
                break
    tp = len(errors)
    precision = tp / found.size if found.size else 0.0
    recall = tp / truth.size if truth.size else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f1, float(np.mean(errors)) if errors else float("inf")


def truth_cadence(plan) -> float:
    ics = plan.initial_contacts_s
    steps = np.concatenate([np.diff(ics[a : b + 1]) for a, b in plan.segments])
    return 60.0 / float(np.mean(steps))


def restart_after(runner, at_s: float):
    """The acquisition restarts ``at_s`` after the go: its frame count starts again from 0."""
    read = runner.source.read_frames
    state = {}

    def read_frames(wait_s):
        block = read(wait_s)
        frames = block.frames
        machine = runner.machine
        if "go" not in state and machine is not None and machine.start_ns:
            state["go"] = machine.start_ns
        if len(frames) and "go" in state:
            late = frames["t_ns"] >= state["go"] + int(at_s * 1e9)
            if late.any():
                frames = frames.copy()
                state.setdefault("base", int(frames["seq"][late][0]))
                frames["seq"][late] = frames["seq"][late] - state["base"]
        return FrameBlock(frames, block.missed)

    runner.source.read_frames = read_frames


def write_builtin_once(name: str, directory: Path, *, trials: int) -> str:
    """Write the built-in protocol file ``name`` into the clinic protocols ``directory`` as
    ``<name>-once`` with ``trials_per_condition = 1`` and ``rest_s = 0`` (each changed line asserted
    to be there once), for a ``trial --protocols-dir`` test whose words do not depend on how many
    trials were walked or on the rests between them (a 30-s rest is most of a 3-m walk run's time);
    ``trials``: the built-in's trials per condition. Its cut-offs, sources, walk and conditions stay
    the built-in's. Returns the copy's name."""
    text = (Path(loader.__file__).parent / loader.BUILTIN_DIR / f"{name}.toml").read_text(encoding="utf-8")
    rest = re.search(r"^rest_s = \d+$", text, re.MULTILINE)
    assert rest, f"{name}: no rest_s line"
    once = f"{name}-once"
    for old, new in ((f'name = "{name}"', f'name = "{once}"'),
                     (f"trials_per_condition = {trials}", "trials_per_condition = 1"), (rest.group(0), "rest_s = 0")):
        assert text.count(old) == 1, (name, old)
        text = text.replace(old, new)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{once}.toml").write_text(text, encoding="utf-8")
    return once
