"""The patients list on a phone says each patient's conditions (R's review, session 24, L5): the conditions'
column is dropped under 900 px, and a phone showed no clue of who a patient is clinically. Now they are said
under the identifier, the first two in words and the rest counted ("+2 more", all of them in its title); a
tablet keeps the column (the line under the identifier hidden there)."""

from __future__ import annotations

import pytest

from test_dashboard import PHONE, TABLET, wait

pytestmark = pytest.mark.e2e

PATIENTS = {"COND-4": ["stroke:left", "fall_12m", "walking_aid", "diabetes"], "COND-1": ["parkinsons"], "COND-0": []}


def stored_patients(data_dir) -> None:
    from station.store.audit import Actor
    from station.store.store import Store

    store = Store.open(data_dir)  # beside the running station
    try:
        for identifier, conditions in PATIENTS.items():
            store.patients.create({"identifier": identifier, "birth_year": 1950, "sex": "F", "conditions": conditions},
                                  actor=Actor(None, "test"))
    finally:
        store.close()


ROWS = """return Object.fromEntries([...document.querySelectorAll('#patients tbody tr')].map((tr) => {
  const line = tr.querySelector('.conditions-line');
  return [tr.querySelector('td:first-child a').textContent, {text: tr.innerText, line: line && {
    text: line.innerText, title: line.title, shown: line.offsetParent !== null}}];
}));"""


def _rows(driver) -> dict[str, dict]:
    """Each listed patient's row, read at once (the list is drawn again as the search is typed)."""
    return driver.execute_script(ROWS)


def test_a_phone_lists_each_patients_conditions(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, _ = reading_pages.tablet_and_phone(stored_patients)
    for driver, size in ((phone, PHONE), (tablet, TABLET)):
        driver.get(f"{station.url}/patients")
        driver.find_element("id", "search").send_keys("COND-")
        wait(driver, "the three patients", lambda d: sorted(_rows(d)) == sorted(PATIENTS), timeout_s=20)
        rows = _rows(driver)
        assert rows["COND-0"]["line"] is None, rows  # a patient without conditions has no line
        four, one = rows["COND-4"]["line"], rows["COND-1"]["line"]
        assert four and one, rows
        assert four["title"] == "Stroke, left side affected, Fall in the last 12 months, Uses a walking aid, Diabetes"
        if driver is phone:
            assert four["shown"] and " ".join(four["text"].split()) == \
                "Stroke, left side affected, Fall in the last 12 months +2 more", four
            assert one["shown"] and one["text"] == "Parkinson's disease", one
        else:  # the conditions' column says them; the line under the identifier is not shown
            assert not four["shown"] and "Uses a walking aid" in rows["COND-4"]["text"], rows
        assert driver.execute_script("return document.documentElement.scrollWidth") <= size[0]
        driver.save_screenshot(str(shots / f"patients-{size[0]}.png"))
