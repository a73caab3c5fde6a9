"""A patient's whole history as FHIR holds one resource's validated model at a time: the memory
it takes follows the bundle's size, not four times more (the whole Bundle validated at once)."""

from __future__ import annotations

import time
import tracemalloc

import pydantic
import pytest

from station.reports.fhir_bundle import BundleBuilder, patient_bundle

from reports_support import ACTOR


def test_a_fifty_visit_history_bundle_takes_a_few_times_its_size_in_memory(store, protocols, clinic_dir):
    patient_id = clinic_dir["fifty"]["patient_id"]
    patient_bundle(store, patient_id, protocols, actor=ACTOR)  # fhir.resources imported and warm
    tracemalloc.start()
    try:
        text = patient_bundle(store, patient_id, protocols, actor=ACTOR)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(text) > 2_000_000  # the history of 50 visits
    assert peak < 6 * len(text), f"{peak / len(text):.1f} times the bundle"  # before: 11 times


def test_each_entry_is_still_validated():
    builder = BundleBuilder("P-1", {}, 70, time.time, [])
    builder.entries.append({"fullUrl": "urn:uuid:0", "resource": {"resourceType": "Observation", "status": "maybe"}})
    with pytest.raises(pydantic.ValidationError):
        builder.bundle_json()
