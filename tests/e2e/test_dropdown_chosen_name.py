"""A dropdown's chosen item is readable whole (P6's five-second read, session 27): the live page's test list on a
tablet showed "Modified Clinical Test of Sensor…" and the patient page's programme list on a phone "…after stro",
the rest of the name cut by the list's width. Now the chosen item's whole name is said under the list (the live
page's above the test's summary), on one line or wrapped, never clipped, and follows a new choice.

The programme's line is said only where the list clips the name (P8's five-second read, session 28: on a tablet it
repeated what the list showed whole): on a phone the stroke programme's name, not the short "Balance training (6
weeks)"; on a tablet neither (the list's text measured there to fit beside its arrow)."""

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


FITS = """const s = document.querySelector(arguments[0]), cs = getComputedStyle(s);
const ctx = document.createElement('canvas').getContext('2d');
ctx.font = `${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
const room = s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 16;
return ctx.measureText(s.selectedOptions[0].textContent).width <= room;"""
"""Whether the list's chosen text fits in it beside its arrow (16 px left for it), measured with the list's font."""


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


def _not_said_twice(driver, words: str) -> None:
    """The list shows ``words`` whole (measured), and the line under it is not shown."""
    wait(driver, f"{words!r} chosen, not said again under the list", lambda d: d.execute_script(
        "const s = document.getElementById('programme-template'), n = document.getElementById('programme-template-name');"
        "return s.selectedOptions[0].textContent === arguments[0] && n.textContent === arguments[0] && n.hidden", words),
        timeout_s=20)
    assert driver.execute_script(FITS, "#programme-template"), f"{words!r} clipped in the list, and not said under it"


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
        if driver is phone:  # the list clips it: said whole under it
            _shown_whole(driver, "#programme-template-name", STROKE)
        else:  # the list shows it whole: not said again
            _not_said_twice(driver, STROKE)
        driver.execute_script("document.getElementById('programme-template').scrollIntoView({block: 'center'})")
        driver.save_screenshot(str(shots / f"patient-programme-list-{name}.png"))
        Select(driver.find_element("id", "programme-template")).select_by_value("balance-training")
        _not_said_twice(driver, "Balance training (6 weeks)")  # whole in the list on both
        driver.save_screenshot(str(shots / f"patient-programme-short-{name}.png"))
        assert driver.execute_script("return document.documentElement.scrollWidth") <= size[0]
