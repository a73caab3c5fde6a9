"""Single-leg stance with a patient who cannot stand on one leg (R1 item 1), through the API with the
trial service's thread on the simulated station (scenario ``standing``: nobody lifts a foot).

Springer et al. 2007 score the best of 3 trials per leg: a trial in which the foot was never lifted
is one of those 3 ("unable", 0 s), not an invalid recording offered again (before: each of the 6
trials was offered to 3 attempts, 18 Start presses, and the results said "18 valid of 18 analysed
trials"). Once a side was measured unable, the clinician scores its remaining trials unable without
pressing Start (audited, stored as scored by the clinician); the results count them as such."""

from __future__ import annotations

from station.protocols.service import TrialService
from station.sim.person import VirtualPerson
from station.sim.station import SimulatedStation
from station.store.audit import Actor
from station.store.store import Store

from dashboard_support import CHEAP, THROUGH_THE_TRIAL_SERVICE, factory_calibration, sqlite_only
from test_api_station import make_app, wait_for


@sqlite_only(THROUGH_THE_TRIAL_SERVICE)
def test_a_patient_who_cannot_stand_on_one_leg_takes_two_starts_and_reads_unable(tmp_path):
    store = Store.open_service(tmp_path / "data", password_cost=CHEAP)
    try:
        patient = store.patients.create({"identifier": "P-009", "birth_year": 1950, "sex": "F"}, actor=Actor(None, "test"))
        person = VirtualPerson.standing_demo(seed=3, age_group="old")  # on the plate, never lifts a foot
        station = SimulatedStation(None, person, seed=3, calibration=factory_calibration(3))
        service = TrialService(station, store, calibration=station.calibration.to_dict())
        _app, api = make_app(tmp_path, store, service)
        service.start()
        try:
            assert api.post("/api/station/run", {"patient_id": patient["id"], "protocol": "single-leg"}).status_code == 201
            for n in (1, 2):  # the left leg, then the right: each measured once
                run = wait_for(api, lambda s: s["run"]["state"] == "instructions", "the instructions")["run"]
                if n == 1:
                    r = api.post("/api/station/score-unable")  # nothing measured yet: refused in words
                    assert r.status_code == 409 and "press Start to try this side first" in r.get_json()["error"]
                assert api.post("/api/station/start").status_code == 200
                run = wait_for(api, lambda s: len(s["run"]["trial_ids"]) == n and s["run"]["state"] == "instructions",
                               f"trial {n} stored")["run"]
                assert run["done"][-1]["issues"][0]["code"] == "no_liftoff"
                # the next trial is the next of the protocol's, never a repeat of an unable one
                assert not run["due"][0]["repeat"] and run["due"][0]["attempt"] == 1
            assert run["score_unable"] == {"condition": "left", "label": "Standing on the left leg", "trials": 2}
            assert (run["condition_trials"], run["score"]) == (3, "best")  # "trial 2 of 3 (best counts)"
            assert api.post("/api/station/score-unable").status_code == 200
            run = wait_for(api, lambda s: len(s["run"]["trial_ids"]) == 4 and s["run"]["state"] == "instructions",
                           "the left leg scored")["run"]
            assert run["score_unable"] == {"condition": "right", "label": "Standing on the right leg", "trials": 2}
            assert api.post("/api/station/score-unable").status_code == 200
            run = wait_for(api, lambda s: s["run"]["finished"], "the end of the test")["run"]
            assert len(run["trial_ids"]) == 6 and all(t is not None for t in run["trial_ids"])
            api.post("/api/station/close")
        finally:
            service.shutdown()
        scored = store.audit.query(action="trial.scored_unable")
        assert [(e["username"], e["patient_id"]) for e in scored] == [("ana", patient["id"])] * 2
        doc = api.get(f"/api/sessions/{run['session_id']}/results").get_json()
        (section,) = doc["protocols"]
        assert section["count_words"] == "6 analysed trials: 6 unable (0 s; 4 of them scored by the clinician, not measured)."
        for condition in section["conditions"]:
            assert condition["no_sway_words"] == "No sway measured: the foot was never lifted (unable, 0 s)."
            lines = condition["trials"]
            assert [t["unable"] for t in lines] == [True] * 3 and [t["scored_unable"] for t in lines] == [False, True, True]
            assert lines[0]["unable_words"] == "Did not lift a foot (measured): unable, counted as 0 s."
            assert lines[1]["unable_words"].startswith("Scored unable by the clinician (ana), not measured")
            assert condition["time_held_s"] == [0.0, 0.0, 0.0]
    finally:
        store.close()
