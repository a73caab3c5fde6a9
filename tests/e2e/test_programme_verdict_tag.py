"""The verdict tag beside a programme outcome's change says why no MDC reads it (s25 P3): a stroke
programme given to a patient with no stroke has its sway velocity's MDC published, but in people after
stroke; the tag said "no MDC published" while the sentence under the changes said the published MDC is
not applied to this patient. It now says "MDC not for this patient" on the programme page and on the
patient page's glance (the PDF's verdict column: tests/programmes/test_dose_adherence_change.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from test_dashboard import PHONE, TABLET, css, page_width, wait
from test_programme_dose_picker import _in_store, _load_programme

pytestmark = pytest.mark.e2e


def _programme_support():
    """tests/programmes/programme_support.py (its folder is not a package), loaded once."""
    if "programme_support" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "programme_support", Path(__file__).resolve().parents[1] / "programmes" / "programme_support.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["programme_support"] = module
        spec.loader.exec_module(module)
    return sys.modules["programme_support"]


def _fill(store, actor) -> dict:
    """A patient with a fall and no stroke on the backward-walking programme (written for people after stroke),
    its baseline's and end's quiet stance measured: 2.0 then 1.1 cm/s."""
    from station.programmes.loader import builtin_programmes
    from station.protocols.loader import builtin_protocols

    support = _programme_support()
    patient = store.patients.create({"identifier": "VERDICT-01", "birth_year": 1950, "sex": "F",
                                     "conditions": ["fall_12m"]}, actor=actor)
    template = builtin_programmes(builtin_protocols())["backward-walking-stroke"]
    programme = store.programmes.assign(patient["id"], template, store.programmes.today(), actor=actor)
    visits = {v["assessment_id"]: v for v in programme["visits"]}
    for name, velocity in (("baseline", 2.0), ("end", 1.1)):
        session = support.store_assessment(store, patient["id"], "quiet-stance", {"eo": {"velocity": velocity}})
        store.programmes.link_visit_session(visits[name]["id"], "quiet-stance", session, actor=actor)
    return {"assignment": programme["id"], "patient": patient["id"]}


def test_the_verdict_tag_says_the_mdc_is_not_for_this_patient(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, stored = reading_pages.tablet_and_phone(lambda d: _in_store(d, _fill))
    for driver, size, name in ((tablet, TABLET, "tablet"), (phone, PHONE, "phone")):
        _load_programme(driver, f"{station.url}/assignments/{stored['assignment']}")
        card = css(driver, '.outcome[data-key="quiet-stance/eo/mean_velocity_cm_s"]')[0]
        tags = [t.text for t in card.find_elements("css selector", "li .tag")]
        assert tags == ["MDC not for this patient"], tags  # was "no MDC published"
        source = card.find_element("css selector", ".mdc-source").text
        assert "it is not applied to this patient (no stroke in the patient's conditions)" in source, source
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", card)
        driver.save_screenshot(str(shots / f"programme-verdict-{name}.png"))
        assert page_width(driver) <= size[0]
        driver.get(f"{station.url}/patients/{stored['patient']}")
        wait(driver, "the programme at a glance", lambda d: css(d, "#programme-glance .outcomes li"), timeout_s=20)
        glance = [li.text for li in css(driver, "#programme-glance .outcomes li") if "Sway velocity" in li.text]
        assert glance and glance[0].endswith("MDC not for this patient"), glance
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", css(driver, "#programme-glance")[0])
        driver.save_screenshot(str(shots / f"glance-verdict-{name}.png"))
        assert page_width(driver) <= size[0]
