"""Helpers of the dashboard tests: the trial service on the simulated station (simulated clock,
real drivers and acquisition loop) with a virtual patient who follows the service's events."""

from __future__ import annotations

from station.sim.station import SimulatedStation
from station.sim.station import factory_calibration as simulated_factory_calibration
from station.config import PanelConfig
from station.hw.panel import StationPanel
from station.sim.scenarios import SCENARIOS, ScenarioPatient, scenario_message
from station.protocols.service import TrialService
from station.sim.person import VirtualPerson
from station.store.audit import Actor
from station.store.passwords import ScryptCost

CHEAP = ScryptCost(log2_n=4, r=8, p=1)
ADMIN_PW = "admin password 123"
CLINICIAN_PW = "clinician password 1"
ACTOR = Actor(1, "ana", "127.0.0.1")


def factory_calibration(seed: int):
    """The simulated plate's calibration with known masses (once per seed)."""
    return simulated_factory_calibration(None, seed)


class SimulatedClinic:
    """The trial service on a simulated station, with a patient who follows it (``scenario``)."""

    def __init__(self, store, scenario: str = "patient", seed: int = 1, panel_pins=None, clock=None) -> None:
        """``clock``: the station's simulated clock (a new one by default); give the store's, so that its
        group commits follow the simulated time."""
        self.person = VirtualPerson(seed=seed, on_plate=False, age_group="old")
        self.station = SimulatedStation(None, self.person, seed=seed, calibration=factory_calibration(seed), clock=clock)
        self.panel = None
        if panel_pins is not None:  # gpiozero's MockFactory
            self.panel = StationPanel(PanelConfig(), clock=self.station.clock, pin_factory=panel_pins)
        self.service = TrialService(self.station, store, calibration=self.station.calibration.to_dict(), panel=self.panel)
        self.events = []
        self.service.bus.subscribe(self.events.append)
        self.patient = ScenarioPatient(SCENARIOS[scenario], self.person,
                                       time_origin_ns=self.station.simulation.plate.t0_ns)

        def forward(event):
            message = scenario_message(event)
            if message is not None:
                self.patient.handle(message)

        self.service.bus.subscribe(forward)
        self.service.add_tick(self.patient.patient.tick)

    def step(self) -> None:
        """One step of the service, then the store's committer thread let finish what it was handed
        (``Trials.drain``): the simulated clock runs faster than the committer's real time, and on a
        station a step's 50 ms are time enough for a commit on a working card."""
        self.service.step()
        self.service.store.trials.drain(5.0)

    def call(self, name: str, *args, max_steps: int = 50):
        """Carry out a command through the service's queue (stepping it here: no thread)."""
        future = self.service.submit(name, *args)
        for _ in range(max_steps):
            self.step()
            if future.done():
                return future.result()
        raise AssertionError(f"{name} was not carried out within {max_steps} steps")

    def step_until(self, predicate, what: str, max_s: float = 200.0):
        """Step the service until ``predicate()``; at most ``max_s`` of station time."""
        end_ns = self.station.clock.monotonic_ns() + int(max_s * 1e9)
        while self.station.clock.monotonic_ns() < end_ns:
            self.step()
            if predicate():
                return
        raise AssertionError(f"{what} did not happen within {max_s:g} s of station time")

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def state(self):
        run = self.service.status()["run"]
        return None if run is None else run["state"]

    def run_trial(self) -> dict:
        """Start the trial that is due and step until it is stored; returns its trial_stored event."""
        stored_before = self.kinds().count("trial_stored")
        self.step_until(lambda: self.state() == "instructions", "the instructions")
        self.call("start_trial")
        self.step_until(lambda: self.kinds().count("trial_stored") > stored_before, "the trial being stored")
        return [e for e in self.events if e.kind == "trial_stored"][-1].data


THROUGH_THE_TRIAL_SERVICE = ("records through the station's trial service on the simulated plate (a hub has none), "
                             "seconds per run; what it then reads runs on the hub in the other tests of the module")


def sqlite_only(reason: str):
    """Run the test on the station's SQLite only, in a module whose ``BACKENDS`` has both
    (conftest): ``reason`` says why (e.g. it records through the station's trial service on the
    simulated plate, which a hub does not have, at a cost of many seconds per run)."""
    if not reason:
        raise ValueError("say why the test runs on SQLite only")

    def mark(test):
        test.backends = ("sqlite",)
        return test

    return mark


def signed_in_client(store, service):
    """The station's web app on ``store`` and the trial ``service``, and a test client signed in as a
    clinician ("ana"): (client, CSRF token for its writes)."""
    from web import create_app

    app = create_app({"DATA_DIR": str(store.data_dir), "STORE": store, "PASSWORD_COST": CHEAP, "TESTING": True,
                      "TRIAL_SERVICE": service})
    store.users.create("ana", CLINICIAN_PW, "clinician", actor=ACTOR)
    client = app.test_client()
    csrf = client.get("/api/session").get_json()["csrf_token"]
    csrf = client.post("/api/login", json={"username": "ana", "password": CLINICIAN_PW},
                       headers={"X-CSRF-Token": csrf}).get_json()["csrf_token"]
    return client, csrf
