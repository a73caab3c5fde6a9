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


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("standing", "a person stands quietly on the plate all the time (no protocol is followed)", False),
        Scenario("patient", "a virtual patient follows every protocol run on the dashboard, without lapses", True),
        Scenario(
            "mctsib-step-off",
            "a virtual patient follows every protocol; in the mCTSIB's 'firm surface, eyes closed' condition "
            "they step off the plate 3 s into the first attempt (the hold ends, a repeat is offered) "
            "and step back on for the repeat",
            True,
            (Lapse("firm_ec", "step_off", 3.0),),
        ),
    )
}
"""The scenarios by name (``--scenario`` of ``balance-station run``)."""

FORWARDED_KINDS = ("protocol_started", "trial_ready", "state")
"""Event kinds the virtual patient reacts to."""
_FORWARDED_KEYS = ("protocol", "condition", "trial", "attempt", "state", "duration_s", "settings")


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

    def __init__(self, scenario: Scenario, person, *, time_origin_ns: int, protocols_dir=None) -> None:
        if not scenario.follows:
            raise ValueError(f"scenario {scenario.name!r} does not follow a protocol")
        self.scenario = scenario
        self.protocols_dir = protocols_dir
        self.patient = VirtualPatient(person, scenario.lapses, time_origin_ns=time_origin_ns, on_plate=False)
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
