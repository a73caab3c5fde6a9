"""A patient's whole history as FHIR is bounded: more than ``HISTORY_BUNDLE_TRIALS`` complete
trials are refused as one bundle, with the number of parts, and exported in parts that together
hold exactly the whole bundle's Observations (the bound lowered here to 30 trials: the 50-visit
patient's 87 make 3 parts)."""

from __future__ import annotations

import json

import pytest

from station.reports import fhir_bundle
from station.reports.fhir_bundle import BundleTooLarge, NothingToExport, patient_bundle

from reports_support import ACTOR


def _identifiers(text: str) -> list[str]:
    return [e["resource"]["identifier"][0]["value"] for e in json.loads(text).get("entry", [])
            if e["resource"]["resourceType"] == "Observation"]


def test_a_long_history_is_refused_whole_and_exported_in_parts(store, protocols, clinic_dir, monkeypatch):
    patient_id = clinic_dir["fifty"]["patient_id"]
    whole = _identifiers(patient_bundle(store, patient_id, protocols, actor=ACTOR))
    monkeypatch.setattr(fhir_bundle, "HISTORY_BUNDLE_TRIALS", 30)
    with pytest.raises(BundleTooLarge, match=r"holds 87 complete trials, more than one FHIR bundle takes \(30, .*"
                                             r"export it in 3 parts \(part=1 to part=3"):
        patient_bundle(store, patient_id, protocols, actor=ACTOR)  # before: one bundle, however long
    parts = [_identifiers(patient_bundle(store, patient_id, protocols, actor=ACTOR, part=n)) for n in (1, 2, 3)]
    assert sum(parts, []) == whole  # the same Observations, in the same order, none twice
    trials = [len({i.split("/")[0] for i in part}) for part in parts]
    assert trials == [30, 30, 27]
    with pytest.raises(NothingToExport, match="exported in 3 parts; there is no part 4"):
        patient_bundle(store, patient_id, protocols, actor=ACTOR, part=4)
    [entry] = store.audit.query(action="patient.export", limit=1)
    assert entry["detail"] == {"format": "fhir", "observations": len(parts[2]), "part": 3, "parts": 3}
