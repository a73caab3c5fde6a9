"""A training game through the trial service, wired as ``balance-station run --simulate --scenario
patient`` wires it (the scenario's patient gets the forwarded game events and plays): the game's
schedule is built for the patient, the trial and its training session are stored, and the minutes
count as a session of the patient's balance-training programme."""

from __future__ import annotations

import pytest

from station.programmes.loader import builtin_programmes
from station.protocols.loader import builtin_protocols
from station.protocols.service import TrialService
from station.sim.person import VirtualPerson
from station.sim.scenarios import SCENARIOS, ScenarioPatient, scenario_message
from station.sim.station import SimulatedStation
from station.store.audit import Actor
from station.store.db import ValidationError
from station.store.passwords import ScryptCost
from station.store.store import Store

ACTOR = Actor(1, "ana", "127.0.0.1")


@pytest.fixture
def store(tmp_path):
    s = Store.open_service(tmp_path / "data", password_cost=ScryptCost(log2_n=4, r=8, p=1))
    yield s
    s.close()


class GameClinic:
    def __init__(self, store, seed=4):
        person = VirtualPerson(seed=seed, on_plate=False)
        self.station = SimulatedStation(None, person, seed=seed, calibration="nominal")
        self.service = TrialService(self.station, store, calibration=self.station.calibration.to_dict())
        self.events = []
        self.service.bus.subscribe(self.events.append)
        self.patient = ScenarioPatient(SCENARIOS["patient"], person, time_origin_ns=self.station.simulation.plate.t0_ns)
        self.service.bus.subscribe(lambda e: (m := scenario_message(e)) and self.patient.handle(m))
        self.service.add_tick(self.patient.patient.tick)

    def call(self, name, *args):
        future = self.service.submit(name, *args)
        for _ in range(50):
            self.service.step()
            if future.done():
                return future.result()
        raise AssertionError(name)

    def step_until(self, predicate, max_s=300.0):
        end = self.station.clock.monotonic_ns() + int(max_s * 1e9)
        while self.station.clock.monotonic_ns() < end:
            self.service.step()
            if predicate():
                return
        raise AssertionError("timed out")


def test_a_game_is_played_stored_and_counted_in_the_programme(store):
    patient = store.patients.create({"identifier": "G-1", "birth_year": 1950, "sex": "F", "height_cm": 165},
                                    actor=ACTOR)
    programmes = builtin_programmes(builtin_protocols())
    today = store.programmes.today()
    programme = store.programmes.assign(patient["id"], programmes["balance-training"], today, actor=ACTOR)
    clinic = GameClinic(store)
    with pytest.raises(ValidationError, match="choose the game"):
        clinic.call("open_run", patient["id"], "biofeedback-training", None, ACTOR)
    with pytest.raises(ValidationError, match="training.level"):
        clinic.call("open_run", patient["id"], "biofeedback-training", None, ACTOR, None, {"game": "reach", "level": 8})
    with pytest.raises(ValidationError, match="only applies to training games"):
        clinic.call("open_run", patient["id"], "quiet-stance", None, ACTOR, None, {"game": "reach", "level": 1})
    status = clinic.call("open_run", patient["id"], "biofeedback-training", None, ACTOR, None,
                         {"game": "reach", "level": 2, "session_s": 40, "seed": 12})
    training = status["run"]["training"]
    assert training["schedule"]["seed"] == 12 and training["schedule"]["reach_source"] == "height"
    assert training["title"] == "Reach and hold" and "path efficiency" in training["score_definition"]
    clinic.step_until(lambda: clinic.service.status()["run"]["state"] == "instructions")
    clinic.call("start_trial")
    clinic.step_until(lambda: any(e.kind == "trial_stored" for e in clinic.events))
    played = clinic.service.status()["run"]["training"]
    assert played["result"]["targets_shown"] >= 3 and played["result"]["hits"] >= 2
    stored = played["stored"]
    (row,) = store.training.list_for_patient(patient["id"])
    assert stored["id"] == row["id"] and row["game"] == "reach" and row["level"] == 2
    assert row["score"] == played["result"]["score"] and 0.5 < row["minutes"] <= 0.7
    assert any(t["time_to_reach_s"] is not None for t in row["result"]["targets"])
    assert row["trial_id"] == store.trials.get(row["trial_id"])["id"]
    session = store.programmes.get(programme["id"])["sessions"][0]
    assert stored["dose"]["programme_session_id"] == session["id"]
    assert session["status"] == "done" and session["dose"] == {"minutes": row["minutes"], "done_on": row["day"]}
    # The session's results (GET /api/sessions/<id>/results, read back from the store) carry the game.
    from station.protocols.report import session_results

    doc = session_results(store, row["session_id"], builtin_protocols(), actor=ACTOR)
    (section,) = doc["protocols"]
    (game,) = section["training"]
    assert game["result"]["score"] == row["score"] and game["schedule"]["seed"] == 12 and game["valid"]
    # The session's and the patient's PDF reports are drawn with a game among the results.
    from station.reports.build import make_report
    from station.reports.context import Clinic

    import subprocess

    for kind, object_id in (("session", row["session_id"]), ("patient", patient["id"])):
        pdf = make_report(kind, store, object_id, protocols=builtin_protocols(), clinic=Clinic("Test clinic"), actor=ACTOR)
        assert pdf.startswith(b"%PDF")
        if kind == "session":  # poppler-utils (tests/bootstrap.sh) reads it back
            text = " ".join(subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True,
                                           check=True).stdout.decode().split())
            assert f"Reach and hold, level 2: score {row['score']:.0f} of 100" in text and "Path efficiency" in text
