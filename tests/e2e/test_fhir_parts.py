"""The patient page's FHIR button for a history longer than one bundle, in headless Chromium
against the real station: a patient with 251 complete trials (one more than a bundle takes,
:data:`station.reports.fhir_bundle.HISTORY_BUNDLE_TRIALS`) is offered "FHIR part 1 of 2" and
"FHIR part 2 of 2", each downloading its part's Bundle; before, the one button opened the API's
409 answer (JSON) in the browser's tab. At tablet (1024x768) and phone (390x844) size the links
are on the screen, none wider than it."""

from __future__ import annotations

import json

import pytest

from e2e_support import set_size
from test_dashboard import by_id, click_when_still, downloaded, patient_file, wait
from test_report_downloads import _build_patient

pytestmark = pytest.mark.e2e

TABLET_SMALL = (1024, 768)


def _lengthen_history(data_dir, patient_id: int, n_trials: int) -> None:
    """Copies of the patient's first trial in one more visit until they hold ``n_trials`` complete trials."""
    from station.store.audit import Actor
    from station.store.store import Store

    store = Store.open(data_dir)
    try:
        with store.db.read() as conn:
            have = conn.execute("SELECT t.id FROM trials t JOIN sessions s ON s.id = t.session_id"
                                " WHERE s.patient_id = ? AND t.status = 'complete' ORDER BY t.id",
                                (patient_id,)).fetchall()
        first = store.trials.get(have[0]["id"])
        frames = store.trials.frames(first["id"])
        session = store.sessions.create(patient_id, {"label": "long history"}, actor=Actor.system())["id"]
        for _ in range(n_trials - len(have)):
            store.trials.import_trial(session, first["protocol"], first["condition"], first["calibration"],
                                      first["rate_hz"], frames, first["metrics"], True, None, actor=Actor.system())
    finally:
        store.close()


def test_a_long_history_is_offered_in_parts(reading_pages):
    from station.reports.fhir_bundle import HISTORY_BUNDLE_TRIALS

    station, downloads = reading_pages.station, reading_pages.downloads
    tablet, phone, made = reading_pages.tablet_and_phone(_build_patient)
    set_size(tablet, TABLET_SMALL)
    pid = made["patient_id"]
    _lengthen_history(station.data_dir, pid, HISTORY_BUNDLE_TRIALS + 1)
    for driver in (tablet, phone):
        driver.get(f"{station.url}/patients/{pid}")
        wait(driver, "the patient page", lambda d: by_id(d, "patient-title").text == "E2E-REPORTS")
        assert not driver.find_elements("id", "patient-fhir")
        links = [by_id(driver, f"patient-fhir-part-{n}") for n in (1, 2)]
        assert [a.text for a in links] == ["FHIR part 1 of 2", "FHIR part 2 of 2"]
        assert not driver.find_elements("id", "patient-fhir-part-3")
        width = driver.execute_script("return document.documentElement.clientWidth")
        for a in links:
            assert a.is_displayed() and a.rect["x"] >= 0 and a.rect["x"] + a.rect["width"] <= width, a.rect
        assert driver.execute_script("return document.documentElement.scrollWidth") <= width

    click_when_still(tablet, "patient-fhir-part-2", "the FHIR part 2 link")
    bundle = json.loads(downloaded(downloads, patient_file(pid, "history-part2", "fhir.json"), 60.0, binary=True))
    assert bundle["resourceType"] == "Bundle"
    observations = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"]
    assert observations
