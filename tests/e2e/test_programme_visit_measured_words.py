"""A visit whose tests are partly measured says so on the programme page (s26 P4): a visit stays 'planned' until
every one of its tests is measured, and the calendar and the visit's panel said its status, 'Baseline · Sun, Dec 6
· planned', beside a measured baseline quiet stance (whose value the outcome chart shows). Now '1 of 5 tests
measured'; the programme PDF says each outcome's day measured (station.reports.programme_report.visit_words)."""

from __future__ import annotations

import pytest

from test_dashboard import PHONE, TABLET, css, page_width, wait
from test_programme_dose_picker import _in_store, _load_programme
from test_programme_visit_marks import _quiet_stance

pytestmark = pytest.mark.e2e


def _fill(store, actor) -> dict:
    """A stroke patient on the backward-walking programme started today, its baseline's quiet stance measured."""
    import time

    from station.programmes.loader import builtin_programmes
    from station.protocols.loader import builtin_protocols

    patient = store.patients.create({"identifier": "VISIT-PART-01", "birth_year": 1950, "sex": "F",
                                     "conditions": ["stroke:left"]}, actor=actor)
    template = builtin_programmes(builtin_protocols())["backward-walking-stroke"]
    programme = store.programmes.assign(patient["id"], template, store.programmes.today(), actor=actor)
    baseline = next(v for v in programme["visits"] if v["assessment_id"] == "baseline")
    session = _quiet_stance(store, actor, patient["id"], time.time() - 600)
    store.programmes.link_visit_session(baseline["id"], "quiet-stance", session, actor=actor)
    return {"assignment": programme["id"]}


def test_a_visit_partly_measured_says_how_many_of_its_tests_are(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, stored = reading_pages.tablet_and_phone(lambda d: _in_store(d, _fill))
    for driver, size, name in ((tablet, TABLET, "tablet"), (phone, PHONE, "phone")):
        _load_programme(driver, f"{station.url}/assignments/{stored['assignment']}")
        baseline, mid = css(driver, ".cal-item.visit")[:2]
        assert baseline.get_attribute("data-status") == "planned"  # the stored status, for the page's styles
        assert " · 1 of 5 tests measured" in baseline.text and "planned" not in baseline.text, baseline.text
        assert mid.text.endswith(" · planned"), mid.text  # nothing of it measured yet
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", baseline)
        driver.save_screenshot(str(shots / f"calendar-partly-measured-{name}.png"))
        assert page_width(driver) <= size[0]
        baseline.click()
        heading = wait(driver, "the baseline's panel", lambda d: css(d, "#item-panel h3") and css(d, "#item-panel h3")[0].text)
        assert heading.endswith(" · 1 of 5 tests measured"), heading
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", css(driver, "#item-panel")[0])
        driver.save_screenshot(str(shots / f"baseline-partly-measured-{name}.png"))
        assert page_width(driver) <= size[0]
