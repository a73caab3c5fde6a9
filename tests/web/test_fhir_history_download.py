"""The download of a patient's whole history as FHIR (``GET /api/patients/<id>/fhir.json``): a
history longer than one bundle takes is refused with 409 naming its parts, and each part comes
with ``?part=N`` (the bound lowered to 1 trial: the patient's 2 trials make 2 parts)."""

from __future__ import annotations

import json

from web_support import clinic_data

from station.reports import fhir_bundle
from station.store.audit import Actor


def _observations(text: str) -> list[str]:
    return [e["resource"]["identifier"][0]["value"] for e in json.loads(text).get("entry", [])
            if e["resource"]["resourceType"] == "Observation"]


def test_the_download_names_the_parts_and_serves_each(app, clinician, store, records, monkeypatch):
    trial = store.trials.get(records["trial"])
    store.trials.import_trial(records["session"], "romberg", "eyes_closed", trial["calibration"], 100.0,
                              clinic_data.make_frames(1000), clinic_data.metrics_doc(), True, None,
                              actor=Actor.system())
    monkeypatch.setattr(fhir_bundle, "HISTORY_BUNDLE_TRIALS", 1)
    url = f"/api/patients/{records['patient']}/fhir.json"
    refused = clinician.get(url)
    assert refused.status_code == 409 and "export it in 2 parts" in refused.json["error"]
    for part in (1, 2):
        response = clinician.get(f"{url}?part={part}")
        assert response.status_code == 200
        assert f"-history-part{part}-" in response.headers["Content-Disposition"]
        assert len(_observations(response.get_data(as_text=True))) >= 1
    assert clinician.get(f"{url}?part=3").status_code == 409
    assert clinician.get(f"{url}?part=x").status_code == 422  # a ValidationError, as every bad query


def test_the_patient_page_offers_the_parts(app, clinician, store, records, monkeypatch):
    """A history of several bundles: the patient page links each part (the whole-history link
    would only answer 409 in the browser's tab); one bundle: the one link, as before."""
    page = clinician.get(f"/patients/{records['patient']}").get_data(as_text=True)
    assert 'id="patient-fhir"' in page and "?part=" not in page
    trial = store.trials.get(records["trial"])
    store.trials.import_trial(records["session"], "romberg", "eyes_closed", trial["calibration"], 100.0,
                              clinic_data.make_frames(1000), clinic_data.metrics_doc(), True, None,
                              actor=Actor.system())
    monkeypatch.setattr(fhir_bundle, "HISTORY_BUNDLE_TRIALS", 1)
    page = clinician.get(f"/patients/{records['patient']}").get_data(as_text=True)
    assert 'id="patient-fhir"' not in page
    url = f"/api/patients/{records['patient']}/fhir.json"
    for part in (1, 2):
        assert f'href="{url}?part={part}" download>FHIR part {part} of 2</a>' in page
        assert clinician.get(f"{url}?part={part}").status_code == 200
    assert "?part=3" not in page and "2 parts of up to 1 trials" in page
