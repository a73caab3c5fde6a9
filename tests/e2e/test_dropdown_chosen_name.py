"""A dropdown's chosen item is readable whole (P6's five-second read, session 27): the live page's test list on a
tablet showed "Modified Clinical Test of Sensor…" and the patient page's programme list on a phone "…after stro",
the rest of the name cut by the list's width. Now the chosen item's whole name is said under the list (the live
page's above the test's summary), on one line or wrapped, never clipped, and follows a new choice."""

from __future__ import annotations

import pytest

from test_dashboard import PHONE, TABLET, wait

pytestmark = pytest.mark.e2e

MCTSIB = "Modified Clinical Test of Sensory Interaction on Balance (mCTSIB)"
STROKE = "Backward treadmill walking after stroke (4 weeks)"

SHOWN = """const el = document.querySelector(arguments[0]);
if (!el) return null;
const r = el.getBoundingClientRect();
return {text: el.innerText, shown: el.offsetParent !== null, whole: el.scrollWidth <= el.clientWidth + 1,
        inside: r.left >= 0 && r.right <= innerWidth + 0.5};"""
"""The element's text and whether it is shown whole: not clipped in its box, not past the screen's edge."""


def stored_patient(data_dir) -> int:
    from station.store.audit import Actor
    from station.store.store import Store

    store = Store.open(data_dir)  # beside the running station
    try:
        return store.patients.create({"identifier": "DROP-1", "birth_year": 1950, "sex": "F",
                                      "conditions": ["stroke:left"]}, actor=Actor(None, "test"))["id"]
    finally:
        store.close()


def _shown_whole(driver, selector: str, words: str) -> None:
    wait(driver, f"{words!r} under the list", lambda d: (d.execute_script(SHOWN, selector) or {}).get("text") == words,
         timeout_s=20)
    shown = driver.execute_script(SHOWN, selector)
    assert shown["shown"] and shown["whole"] and shown["inside"], shown


def test_a_dropdowns_chosen_item_reads_whole_on_a_tablet_and_a_phone(reading_pages, shots):
    from selenium.webdriver.support.ui import Select

    station = reading_pages.station
    tablet, phone, pid = reading_pages.tablet_and_phone(stored_patient)
    for driver, size in ((tablet, TABLET), (phone, PHONE)):
        name = "tablet" if driver is tablet else "phone"
        driver.get(f"{station.url}/live")
        _shown_whole(driver, "#protocol-summary .chosen-name", MCTSIB)  # the test the page offers first
        assert driver.find_element("id", "protocol-summary").text.startswith(MCTSIB + "\n"), "its summary under it"
        driver.save_screenshot(str(shots / f"live-test-list-{name}.png"))
        Select(driver.find_element("id", "protocol-select")).select_by_value("single-leg")
        title = Select(driver.find_element("id", "protocol-select")).first_selected_option.text
        _shown_whole(driver, "#protocol-summary .chosen-name", title)  # follows a new choice

        driver.get(f"{station.url}/patients/{pid}")
        wait(driver, "the programme form", lambda d: d.find_elements("id", "programme-template"), timeout_s=20)
        Select(driver.find_element("id", "programme-template")).select_by_value("backward-walking-stroke")
        _shown_whole(driver, "#programme-template-name", STROKE)
        driver.execute_script("document.getElementById('programme-template').scrollIntoView({block: 'center'})")
        driver.save_screenshot(str(shots / f"patient-programme-list-{name}.png"))
        Select(driver.find_element("id", "programme-template")).select_by_value("balance-training")
        _shown_whole(driver, "#programme-template-name", "Balance training (6 weeks)")
        assert driver.execute_script("return document.documentElement.scrollWidth") <= size[0]
