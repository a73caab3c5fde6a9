"""FHIR R4B bundles: valid for fhir.resources, every value back to the station's float exactly,
components, UCUM units, interpretation where a norm or cut-off applies, the patient by identifier
only, every code documented, invalid trials left out, audited."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from station.protocols.report import session_results
from station.reports import fhir_codes as codes
from station.reports.fhir_bundle import (NothingToExport, observations_of, patient_bundle, session_bundle,
                                         trial_bundle, trial_values)

from reports_support import ACTOR

DOCS = Path(__file__).resolve().parents[2] / "docs" / "fhir.md"


def _stored_trials(store, patient_id):
    with store.db.read() as conn:
        ids = [r["id"] for r in conn.execute(
            "SELECT t.id FROM trials t JOIN sessions s ON s.id = t.session_id WHERE s.patient_id = ?", (patient_id,))]
    return {tid: store.trials.get(tid) for tid in ids}


def test_a_patient_history_round_trips_every_value_to_full_precision(store, protocols, clinic_dir):
    fifty = clinic_dir["fifty"]
    text = patient_bundle(store, fifty["patient_id"], protocols, actor=ACTOR)
    observations = observations_of(text)  # fhir.resources parses every resource back
    trials = _stored_trials(store, fifty["patient_id"])
    expected = {}
    for tid, trial in trials.items():
        for key, value in (trial_values(trial) or {}).items():
            expected[(tid, key)] = value
    seen = {}
    for obs in observations:
        tid, family = re.fullmatch(r"trial-(\d+)/(.+)", obs.identifier[0].value).groups()
        tid = int(tid)
        assert obs.code.coding[0].system == codes.MEASURE_SYSTEM and obs.code.coding[0].code == family
        if obs.valueQuantity is not None:
            seen[(tid, family)] = float(obs.valueQuantity.value)
            assert obs.valueQuantity.system == codes.UCUM and obs.valueQuantity.code == codes.ucum(family)
        elif obs.dataAbsentReason is not None:
            seen[(tid, family)] = None
        for component in obs.component or []:
            key = component.code.coding[0].code
            assert codes.family(key) == family
            seen[(tid, key)] = None if component.valueQuantity is None else float(component.valueQuantity.value)
        # the patient by identifier only: no reference, no resource
        assert obs.subject.reference is None and obs.subject.identifier.value == "R-0050"
        assert obs.subject.identifier.system == codes.PATIENT_IDENTIFIER_SYSTEM
    assert seen.keys() == expected.keys()
    for key, value in expected.items():
        assert seen[key] == value or (value is None and seen[key] is None), key  # exact float equality
    doc = json.loads(text)
    kinds = [e["resource"]["resourceType"] for e in doc["entry"]]
    assert "Patient" not in kinds and kinds.count("Device") == 1 and kinds.count("DeviceMetric") == 2
    assert "Maria" not in text and "stroke:left" not in text  # notes and conditions stay on the station
    for personal in ('"birthDate"', '"gender"', '"address"', '"telecom"'):
        assert personal not in text
    assert {tuple(sorted(e["resource"]["subject"])) for e in doc["entry"] if "subject" in e["resource"]} == {
        ("identifier", "type")}


def test_sub_measures_are_components_with_ucum_units(store, protocols, clinic_dir):
    text = session_bundle(store, clinic_dir["fifty"]["last_visit_session_id"], protocols, actor=ACTOR)
    by_code = {}
    for obs in observations_of(text):
        by_code.setdefault(obs.code.coding[0].code, obs)
    path = by_code["path_length_cm"]
    assert path.valueQuantity.code == "cm" and path.valueQuantity.unit == "cm"
    assert sorted(c.code.coding[0].code for c in path.component) == ["path_length_ap_cm", "path_length_ml_cm"]
    ellipse = by_code["ellipse_area_cm2"]
    assert ellipse.valueQuantity.code == "cm2"
    assert {c.code.coding[0].code for c in ellipse.component} == {"ellipse_major_cm", "ellipse_minor_cm", "ellipse_angle_deg"}
    assert by_code["mean_velocity_cm_s"].valueQuantity.code == "cm/s"
    # a family without a planar value: components only
    f50 = by_code["f50_hz"]
    assert f50.valueQuantity is None and {c.valueQuantity.code for c in f50.component} == {"Hz"}
    assert by_code["weight_left_pct"].valueQuantity.code == "%"
    device_metric = [e for e in json.loads(text)["entry"] if e["resource"]["resourceType"] == "DeviceMetric"][0]
    assert device_metric["resource"]["calibration"][0] == {"type": "gain", "state": "calibrated",
                                                          "time": "2026-05-11T08:00:00+00:00"}
    assert ellipse.device.reference == device_metric["fullUrl"]


def test_interpretation_where_a_norm_applies(store, protocols, clinic_dir):
    text = session_bundle(store, clinic_dir["fifty"]["last_visit_session_id"], protocols, actor=ACTOR)
    for obs in observations_of(text):
        code = obs.code.coding[0].code
        method = obs.method.coding[0].code
        if code in ("ellipse_area_cm2", "mean_velocity_cm_s") and method == "quiet-stance/eo":
            (interpretation,) = obs.interpretation
            flag = interpretation.coding[0].code
            low, high = float(obs.referenceRange[0].low.value), float(obs.referenceRange[0].high.value)
            value = float(obs.valueQuantity.value)
            assert flag == ("H" if value > high else "L" if value < low else "N")
            assert "Santos" in obs.referenceRange[0].text and "old adults 60-86 y" in interpretation.text
        if code == "path_length_cm":
            assert obs.interpretation is None  # no published reference


def test_a_timed_hold_is_read_against_its_cut_off():
    from station.protocols.loader import builtin_protocols
    from station.reports.fhir_bundle import BundleBuilder

    protocols = builtin_protocols()
    builder = BundleBuilder("P-1", protocols, age_y=70.0)
    trial = {"id": 9, "protocol": "single-leg", "condition": "left", "status": "complete", "valid": True,
             "started_at": "2026-01-31T09:15:02.123Z", "station_version": "0.1.0", "calibration": {},
             "metrics": {"fs_hz": 100.0, "samples": 300, "profile": "station", "version": "0.1.0",
                         "metrics": {"mean_velocity_cm_s": 2.5}, "trial": {"time_held_s": 3.2, "trial": 1, "attempt": 1}}}
    assert builder.add_trial(trial) == 2
    observations = observations_of(builder.bundle_json())
    held = [o for o in observations if o.code.coding[0].code == "time_held_s"][0]
    assert float(held.valueQuantity.value) == 3.2 and held.valueQuantity.code == "s"
    assert [i.coding[0].code for i in held.interpretation] == ["L"]
    assert float(held.referenceRange[0].low.value) == 5.0 and "Vellas" in held.referenceRange[0].text


def test_invalid_trials_stay_on_the_station(store, protocols, clinic_dir, tmp_path):
    from station.store.store import Store

    data_dir = tmp_path / "copy"
    import shutil

    shutil.copytree(clinic_dir["data_dir"], data_dir)
    copy = Store.open(data_dir)
    try:
        long = clinic_dir["long"]
        sid = long["visit_sessions"][0]["quiet-stance"]
        tid = copy.sessions.get(sid)["trials"][0]["id"]
        copy.trials.set_validity(tid, False, "stepped off", actor=ACTOR)
        with pytest.raises(NothingToExport, match="judged invalid"):
            trial_bundle(copy, tid, protocols, actor=ACTOR)
        text = patient_bundle(copy, long["patient_id"], protocols, actor=ACTOR)
        assert f'"trial-{tid}/' not in text
        other = copy.sessions.get(long["visit_sessions"][0]["romberg"])["trials"][0]["id"]
        assert f'"trial-{other}/' in text
    finally:
        copy.close()


def test_fhir_exports_are_audited(store, protocols, clinic_dir):
    long = clinic_dir["long"]
    tid = store.sessions.get(long["last_visit_session_id"])["trials"][0]["id"]
    trial_bundle(store, tid, protocols, actor=ACTOR)
    entry = store.audit.query(action="trial.export", limit=1)[0]
    assert entry["object"] == f"trial:{tid}" and entry["patient_id"] == long["patient_id"]
    assert entry["detail"]["format"] == "fhir" and entry["detail"]["observations"] > 10
    session_bundle(store, long["last_visit_session_id"], protocols, actor=ACTOR)
    entry = store.audit.query(action="patient.export", limit=1)[0]
    assert entry["object"] == f"session:{long['last_visit_session_id']}" and entry["detail"]["format"] == "fhir"
    assert "LONG-IDENTIFIER" not in json.dumps(entry)


def test_a_visits_fhir_bundle_is_one_audit_entry_its_export(store, protocols, clinic_dir):
    """s26 P5, item 4: the visit's bundle read the patient's sessions to find the visit's through
    visit_session_ids, audited, so one export wrote a patient.view besides its patient.export. Now one entry, the
    export, naming the visit's sessions."""
    long = clinic_dir["long"]
    session_id = long["last_visit_session_id"]
    mine = lambda: [e for e in store.audit.query(patient_id=long["patient_id"], limit=1000)  # noqa: E731
                    if e["username"] == ACTOR.username]
    before = len(mine())
    session_bundle(store, session_id, protocols, actor=ACTOR)
    entries = mine()[:len(mine()) - before]
    assert [(e["action"], e["object"]) for e in entries] == [("patient.export", f"session:{session_id}")], entries
    visit = set(entries[0]["detail"]["visit"])
    assert session_id in visit and visit == {s["id"] for s in session_results(
        store, session_id, protocols, actor=ACTOR, visit=True)["sessions"]}  # the visit the results show


def test_every_code_is_documented_and_every_value_has_a_ucum_unit():
    doc = DOCS.read_text(encoding="utf-8")
    for entry in codes.catalogue():
        assert f"`{entry['code']}`" in doc, entry["code"]
        if entry["role"] != "family":
            assert entry["ucum"], entry["code"]
    for url in (codes.MEASURE_SYSTEM, codes.TEST_SYSTEM, codes.PATIENT_IDENTIFIER_SYSTEM):
        assert url in doc
    assert "R4B" in doc and "LOINC" in doc


def test_numbers_that_need_17_digits_survive():
    from station.protocols.loader import builtin_protocols
    from station.reports.fhir_bundle import BundleBuilder

    values = {"mean_velocity_cm_s": 0.1 + 0.2, "path_length_cm": 1e-300, "path_length_ap_cm": 123456789.12345678,
              "path_length_ml_cm": math.pi, "ellipse_area_cm2": None}
    builder = BundleBuilder("P-1", builtin_protocols(), age_y=None)
    trial = {"id": 1, "protocol": "quiet-stance", "condition": "eo", "status": "complete", "valid": True,
             "started_at": "2026-01-31T09:15:02.123Z", "calibration": {"method": "nominal"},
             "metrics": {"fs_hz": 100.0, "samples": 3000, "profile": "station", "version": "x", "metrics": values}}
    builder.add_trial(trial)
    back = {}
    for obs in observations_of(builder.bundle_json()):
        code = obs.code.coding[0].code
        back[code] = None if obs.valueQuantity is None else float(obs.valueQuantity.value)
        if obs.dataAbsentReason is not None:
            assert obs.dataAbsentReason.coding[0].code == "not-a-number"
        for c in obs.component or []:
            back[c.code.coding[0].code] = float(c.valueQuantity.value)
    assert back == values


def test_a_walk_measure_not_given_is_left_out_not_called_undefined():
    """A walk's step length and IMU speed withheld (the gates showed them wrong) or not measured are
    no Observation: "not-a-number ... a signal without sway" would misdescribe them."""
    from station.protocols.loader import builtin_protocols
    from station.reports.fhir_bundle import BundleBuilder

    values = {"walk_time_s": 10.13, "walk_distance_m": 3.0, "walk_speed_m_s": 0.296, "steps": 14,
              "cadence_steps_min": 73.6, "step_length_m": None, "walking_speed_m_s": None}
    builder = BundleBuilder("P-1", builtin_protocols(), age_y=None)
    trial = {"id": 1, "protocol": "backward-walk-3m", "condition": "fast", "status": "complete", "valid": True,
             "started_at": "2026-01-31T09:15:02.123Z", "calibration": {"method": "nominal"},
             "metrics": {"kind": "walk", "fs_hz": 100.0, "samples": 1214, "profile": "walk", "version": "x",
                         "metrics": values}}
    builder.add_trial(trial)
    codes = set()
    for obs in observations_of(builder.bundle_json()):
        assert obs.dataAbsentReason is None
        codes.add(obs.code.coding[0].code)
        codes.update(c.code.coding[0].code for c in obs.component or [])
    assert codes == {k for k, v in values.items() if v is not None}


def test_a_patient_without_trials_gets_an_empty_collection_and_a_session_without_is_refused(tmp_path):
    from station.protocols.loader import builtin_protocols
    from station.store.store import Store

    store = Store.open(tmp_path / "data")
    try:
        patient = store.patients.create({"identifier": "E-1", "birth_year": 1990, "sex": "M"}, actor=ACTOR)
        text = patient_bundle(store, patient["id"], builtin_protocols(), actor=ACTOR)
        doc = json.loads(text)
        assert doc["resourceType"] == "Bundle" and doc["type"] == "collection" and "entry" not in doc
        session = store.sessions.create(patient["id"], {"label": "nothing yet"}, actor=ACTOR)
        with pytest.raises(NothingToExport, match="no valid, complete trial"):
            session_bundle(store, session["id"], builtin_protocols(), actor=ACTOR)
    finally:
        store.close()


def test_a_training_game_is_one_observation_with_its_score_and_measures(tmp_path, capsys):
    """A game played at the station (the virtual patient, stored) reaches the hospital record: its
    trial has no sway measures, so the game's score, level, minutes and per-game measures are the
    Observation; the trial's own export no longer says "judged invalid" for a valid game. (The
    game is stored as a training session from the command line too: it was not.)"""
    from station.cli import main
    from station.store.audit import Actor
    from station.store.store import Store

    data = tmp_path / "data"
    store = Store.open(data)
    patient = store.patients.create({"identifier": "G-1", "birth_year": 1950, "sex": "F"}, actor=Actor.command_line())
    store.close()
    assert main(["trial", "--protocol", "biofeedback-training", "--simulate", "--game", "reach", "--level", "1",
                 "--session-s", "30", "--seed", "2", "--quiet", "--data-dir", str(data),
                 "--patient", str(patient["id"])]) == 0
    capsys.readouterr()
    store = Store.open(data)
    try:
        (game,) = store.training.list_for_patient(patient["id"])
        trial = store.trials.get(game["trial_id"])
        assert trial["metrics"] is None or not (trial["metrics"].get("metrics") or {})  # no sway measures
        for text in (trial_bundle(store, trial["id"], {}, actor=ACTOR),
                     patient_bundle(store, patient["id"], {}, actor=ACTOR),
                     session_bundle(store, game["session_id"], {}, actor=ACTOR)):
            (obs,) = observations_of(text)
            assert obs.identifier[0].value == f"training-{game['id']}/training_score"
            assert obs.code.coding[0].code == "training_score"
            assert float(obs.valueQuantity.value) == game["score"] and obs.valueQuantity.code == "{score}"
            parts = {c.code.coding[0].code: (float(c.valueQuantity.value), c.valueQuantity.code)
                     for c in obs.component}
            assert parts["training_level"] == (1.0, "{level}") and parts["training_min"] == (game["minutes"], "min")
            assert parts["training_targets_shown"][0] == game["result"]["targets_shown"]
            assert parts["training_targets_held"][0] == game["result"]["hits"]
            assert "training_inside_pct" not in parts  # a reach game has targets, not a time inside
            assert "Reach and hold, level 1" in obs.method.text and "path efficiency" in obs.method.text
            assert obs.subject.identifier.value == "G-1"
        # A game played in a trial the clinician judged invalid stays on the station, as the trial does.
        store.trials.set_validity(trial["id"], False, "patient held the bar", actor=ACTOR)
        with pytest.raises(NothingToExport, match="judged invalid"):
            trial_bundle(store, trial["id"], {}, actor=ACTOR)
        assert observations_of(patient_bundle(store, patient["id"], {}, actor=ACTOR)) == []
    finally:
        store.close()


def test_game_measures_are_documented_components_of_the_score():
    from station.reports.fhir_bundle import training_values

    game = {"score": None, "minutes": 1.5, "level": 3,
            "result": {"inside_pct": 41.5, "mean_distance_cm": 2.25, "rms_distance_cm": float("nan")}}
    values = training_values(game)
    assert values == {"training_score": None, "training_min": 1.5, "training_level": 3.0,
                      "training_inside_pct": 41.5, "training_mean_distance_cm": 2.25, "training_rms_distance_cm": None}
    assert {codes.family(k) for k in values} == {"training_score"}
    assert codes.unit_words("training_mean_distance_cm") == "cm" and codes.ucum("training_min") == "min"
