"""Single-leg trials scored "unable" leave the station saying how they were scored: a trial the
clinician scored unable without a measurement (issue ``scored_unable``) is not a measured 0 s in the
hospital record, and a measured one (the foot never lifted) says it was measured."""

from __future__ import annotations

import json
from dataclasses import replace

from station.protocols.loader import builtin_protocols
from station.protocols.runner import ProtocolRunner
from station.protocols.sinks import StoreSink
from station.reports.fhir_bundle import session_bundle
from station.store.audit import Actor
from station.store.store import Store

from .synth import ScriptedSource, fake_analyse
from .test_runner import steady

ACTOR = Actor(3, "physio.anna", "127.0.0.1")
SCORER = "physio.ben"
"""Who scored the remaining trials unable: not the clinician who opened the test (``ACTOR``, the
trials' ``recorded_by``)."""


def _run_unable(store: Store) -> int:
    """Single-leg stance stored in the clinic database: each leg measured unable once (the foot
    never lifted), the rest of each side scored unable by the clinician; returns the session's id."""
    protocols = builtin_protocols()
    patient = store.patients.create({"identifier": "SLS-1", "birth_year": 1944, "sex": "F"}, actor=ACTOR)
    session = store.sessions.create(patient["id"], {"label": "single-leg"}, actor=ACTOR)
    sink = StoreSink(store.trials, session["id"], {"method": "nominal"}, ACTOR)
    runner = ProtocolRunner(replace(protocols["single-leg"], rest_s=0.0), ScriptedSource(steady()), analyse=fake_analyse,
                            sink=sink)
    runner.begin()
    for n in (1, 2):
        runner.request_start()
        while len(runner.records) < n:
            runner.step()
    for n in (4, 6):
        runner.request_score_unable(SCORER)
        while len(runner.records) < n:
            runner.step()
    assert [r.result.issues[0].code for r in runner.records] == ["no_liftoff"] * 2 + ["scored_unable"] * 4
    return session["id"]


def test_the_hospital_record_says_a_scored_unable_trial_was_not_measured(tmp_path):
    store = Store.open(tmp_path / "data")
    try:
        session_id = _run_unable(store)
        text = session_bundle(store, session_id, builtin_protocols(), actor=ACTOR)  # validated by fhir.resources
    finally:
        store.close()
    held = [e["resource"] for e in json.loads(text)["entry"] if e["resource"]["resourceType"] == "Observation"]
    assert len(held) == 6 and all(o["code"]["coding"][0]["code"] == "time_held_s" for o in held)
    assert all(o["valueQuantity"]["value"] == 0.0 for o in held)
    measured = [o for o in held if "measured: the foot was never lifted" in o["method"]["text"]]
    scored = [o for o in held if "not measured" in o["method"]["text"]]
    assert len(measured) == 2 and len(scored) == 4
    for o in scored:
        assert o["method"]["text"].endswith(
            ", attempt 1; scored by the clinician: the patient could not stand on one leg; not measured")
        assert "processing" not in o["method"]["text"] and "samples" not in o["method"]["text"]
        assert o["note"][0]["text"] == ("Scored unable by the clinician, not measured: the patient could not stand on "
                                        "one leg. Counted as 0 s.")
        assert o["method"]["coding"][0]["code"] in ("single-leg/left", "single-leg/right")  # the test, as before
    for o in measured:
        assert "; measured: the foot was never lifted (unable, 0 s); station processing at 100.0 Hz" in o["method"]["text"]
        assert o["note"] == [{"text": "Did not lift a foot (measured): unable, counted as 0 s."}]
    # who scored it, as the trial's page and the audit log name them: the Observation's performer (FHIR R4:
    # "who was responsible for asserting the observed value as 'true'"); a measured 0 s names nobody
    assert all(o["performer"] == [{"type": "Practitioner", "display": SCORER}] for o in scored)
    assert all("performer" not in o for o in measured)
    assert ACTOR.username not in text
