"""Who stands on the simulated plate of ``balance-station run --simulate --scenario NAME``.

The daemon's simulated acquisition process makes its frames from a virtual person
(:class:`station.sim.person.VirtualPerson`). Without a scenario (``standing``) that person stands
quietly on the plate from the start, which is enough to look at the live view. The other scenarios
are a *virtual patient* (:class:`station.sim.virtual_patient.VirtualPatient`) who follows
the protocol the clinician runs on the dashboard, as a real patient follows the clinician and the
beeps: steps on when a trial is ready, closes the eyes for eyes-closed conditions, lifts a foot for
single-leg stance, and (per scenario) does something a patient sometimes does.

These are demonstration and test scenarios of the *simulation* (the browser end-to-end tests run
``mctsib-step-off``); on real hardware there is no scenario: a person stands on the plate.

How the patient hears the protocol: the patient lives in the acquisition process (it must change
the person between two conversions of the simulated load cells, in the acquisition loop's
thread), while the protocol runs in the daemon. The daemon forwards the few events the patient
reacts to (:func:`scenario_message`) over a pipe; :meth:`ScenarioPatient.poll`, called by the
acquisition loop after each frame, reads them and hands the patient's actions to the person
shortly before they are due. Both processes share the machine's monotonic clock, so event times
and frame times agree.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from station.protocols.events import Event
from station.sim.virtual_patient import Lapse, VirtualPatient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scenario:
    """A named scenario: ``follows`` the dashboard's protocol (a virtual patient) or just stands
    (``standing``); ``lapses`` are what the patient does wrong, and when."""

    name: str
    description: str
    follows: bool
    lapses: tuple[Lapse, ...] = ()
    gait: str = "healthy"
    """How the patient walks in walk tests (a pattern of :data:`station.sim.walker.PATTERNS`)."""


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("standing", "a person stands quietly on the plate all the time (no protocol is followed)", False),
        Scenario("patient", "a virtual patient follows every protocol run on the dashboard, without lapses, and plays "
                 "the training games (leans toward each target the station shows, within its own limits)", True),
        Scenario(
            "mctsib-step-off",
            "a virtual patient follows every protocol; in the mCTSIB's 'firm surface, eyes closed' condition "
            "they step off the plate 3 s into the first attempt (the hold ends, a repeat is offered) "
            "and step back on for the repeat",
            True,
            (Lapse("firm_ec", "step_off", 3.0),),
        ),
        Scenario(
            "hemiparetic-walker",
            "a virtual patient with a hemiparetic gait (slow, asymmetric, variable steps) follows every protocol; "
            "walk tests are timed by simulated light gates and measured by the simulated lower-back IMU",
            True, gait="hemiparetic",
        ),
        Scenario(
            "walk-stop",
            "a virtual patient follows every protocol; in the standing-start 3-metre backward walk they stop "
            "for good 3 s into the first attempt (the 3 m gate is never reached, a repeat is offered) and walk the repeat",
            True, (Lapse("fast", "stop_walking", 3.0),),
        ),
        Scenario(
            "single-leg-touch-down",
            "a virtual patient follows every protocol; in single-leg stance they put the lifted foot down 2 s after "
            "lifting it in the first trial on the left leg and 8 s after in the first on the right (either side of "
            "Vellas et al.'s 5 s cut-off), and hold the others to the end",
            True, (Lapse("left", "touch_down", 2.0), Lapse("right", "touch_down", 8.0)),
        ),
        Scenario(
            "walk-false-start",
            "a virtual patient follows every protocol; in the 10-metre walk at comfortable pace they set off before "
            "the go in the first attempt (the start gate's beam at 2 m broken 1 s into the countdown: a false start, "
            "the station waits for clear beams and counts down again), then walk at the next go",
            True, (Lapse("comfortable", "false_start", 1.0),),
        ),
    )
}
"""The scenarios by name (``--scenario`` of ``balance-station run``)."""

FORWARDED_KINDS = ("protocol_started", "trial_ready", "state", "game")
"""Event kinds the virtual patient reacts to (``game``: a training game's live state, which it plays)."""
_FORWARDED_KEYS = ("protocol", "condition", "trial", "attempt", "state", "duration_s", "settings",
                   "game", "phase", "target", "walk")


def scenario_message(event) -> dict | None:
    """What of a runner event goes to the patient (small and picklable), or None to skip it."""
    if event.kind not in FORWARDED_KINDS:
        return None
    return {"kind": event.kind, "t_ns": int(event.t_ns),
            "data": {k: event.data[k] for k in _FORWARDED_KEYS if k in event.data}}


class ScenarioPatient:
    """The virtual patient of a scenario, fed with forwarded events (in the acquisition process).

    Parameters
    ----------
    scenario : Scenario
        One that ``follows``.
    person : VirtualPerson
        The simulated plate's load source, starting off the plate.
    time_origin_ns : int
        Clock time the person sees as ``t_s = 0`` (the simulated plate's ``t0_ns``).
    protocols_dir : path, optional
        The clinic's protocol files, to find a clinic protocol by name.
    """

    def __init__(self, scenario: Scenario, person, *, time_origin_ns: int, protocols_dir=None, gate_driver=None,
                 gate_pins: dict | None = None) -> None:
        if not scenario.follows:
            raise ValueError(f"scenario {scenario.name!r} does not follow a protocol")
        self.scenario = scenario
        self.protocols_dir = protocols_dir
        # A virtual walker carries the person who stands on the plate as its base.
        walker = person if hasattr(person, "walk") and hasattr(person, "base") else None
        base = walker.base if walker is not None else person
        self.patient = VirtualPatient(base, scenario.lapses, time_origin_ns=time_origin_ns, on_plate=False,
                                      walker=walker, gate_driver=gate_driver, gate_pins=gate_pins, gait=scenario.gait)
        self._protocol_name: str | None = None
        self._hung_up = False
        # Loaded now, before the acquisition loop starts: parsing the protocol files inside the
        # loop would hold it up for a fraction of a second, and the frames meanwhile would be lost.
        self._protocols = self._load()

    def _load(self) -> dict:
        from station.protocols.loader import builtin_protocols, load_protocols
        from station.protocols.schema import ProtocolError

        try:
            return load_protocols(self.protocols_dir)
        except ProtocolError as exc:
            log.warning("virtual patient: clinic protocols not loaded: %s", exc)
            return builtin_protocols()

    def handle(self, message: dict) -> None:
        """React to one forwarded event (see :func:`scenario_message`)."""
        data = message.get("data", {})
        name = data.get("protocol")
        if name and name != self._protocol_name:
            if name not in self._protocols:  # a clinic file added since the start (rare)
                self._protocols = self._load()
            if name not in self._protocols:
                log.warning("virtual patient cannot follow %s: no such protocol here", name)
                return
            self.patient.use_protocol(self._protocols[name])
            self._protocol_name = name
        if self._protocol_name is None:
            return
        self.patient.on_event(Event(0, int(message["t_ns"]), message["kind"], data))

    def poll(self, conn, now_ns: int) -> None:
        """Read every forwarded event waiting on ``conn`` (a multiprocessing connection), then hand
        the person whatever is due by ``now_ns``."""
        while not self._hung_up and conn.poll():
            try:
                message = conn.recv()
            except EOFError:  # the daemon is gone: the patient keeps doing what was planned
                self._hung_up = True
                break
            self.handle(message)
        self.patient.tick(now_ns)


class ScenarioGates:
    """The simulated walkway's light gates in the station process, broken by the scenario's walks.

    The virtual patient walks in the acquisition process (the IMU is there); the gates belong to
    the station process (the trial service reads them, as it would read GPIO on the Pi). Both
    follow the same protocol events, and a walker of the same seed plans the same walks, so this
    copy of the patient (who only walks) schedules each walk's beam changes on gpiozero mock pins
    of the station clock (:class:`station.sim.gpio.ClockedMockFactory`).

    Parameters
    ----------
    scenario : Scenario
        One that ``follows``.
    gate_configs : sequence of GateConfig
        The simulated gates (see :func:`simulated_gate_configs`).
    clock : Clock
        The station process's clock (the trial service's).
    seed : int
        The simulation's seed (the acquisition's walker uses the same).
    protocols_dir : path, optional
    """

    def __init__(self, scenario: Scenario, gate_configs, clock, *, seed: int, protocols_dir=None) -> None:
        from station.hw.gates import GateArray
        from station.sim.gpio import ClockedMockFactory, GateDriver
        from station.sim.walker import VirtualWalker

        self.factory = ClockedMockFactory(clock)
        self.gates = GateArray(gate_configs, clock=clock, pin_factory=self.factory)
        self.driver = GateDriver(self.factory)
        self._follower = ScenarioPatient(scenario, VirtualWalker(seed=seed), time_origin_ns=0,
                                         protocols_dir=protocols_dir, gate_driver=self.driver,
                                         gate_pins={g.position_m: g.pin for g in gate_configs})

    def on_event(self, event) -> None:
        """An EventBus listener: follow the protocol's events as the patient does."""
        message = scenario_message(event)
        if message is not None:
            self._follower.handle(message)

    def tick(self, now_ns: int) -> None:
        """Plan what is due, then drive the beam changes that are due (the service's tick)."""
        self._follower.patient.tick(now_ns)
        self.driver.tick(now_ns)


def simulated_gate_configs(configured, needed_positions_m, reserved_pins) -> tuple:
    """The simulated clinic's gates: the configured ones, plus one at each needed position they
    lack (on free GPIOs)."""
    from station.config import GateConfig
    from station.hw.gates import POSITION_TOLERANCE_M

    gates = list(configured)
    used = set(reserved_pins) | {g.pin for g in gates}
    free = (p for p in range(4, 28) if p not in used)
    for position in sorted(set(needed_positions_m)):
        if not any(abs(g.position_m - position) <= POSITION_TOLERANCE_M for g in gates):
            gates.append(GateConfig(pin=next(free), position_m=float(position)))
    return tuple(sorted(gates, key=lambda g: g.position_m))
