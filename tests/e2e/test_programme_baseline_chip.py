"""The backward-walking programme's baseline panel names the form of its backward walk test (R's review,
session 24, L7): its chip read "3-metre backward walk test", which is also the short name of the other form
(from standing); the programme measures the speed over the middle 3 m of 5 m, and the chip now says so. A test
with one form keeps its short name ("Quiet stance, eyes open")."""

from __future__ import annotations

import pytest

from test_dashboard import PHONE, TABLET, css, page_width, wait
from test_programme_dose_picker import _in_store, _load_programme

pytestmark = pytest.mark.e2e


def _fill(store, actor) -> dict:
    """A stroke patient on the backward-walking programme, started today."""
    from station.programmes.loader import builtin_programmes
    from station.protocols.loader import builtin_protocols

    patient = store.patients.create({"identifier": "CHIP-01", "birth_year": 1950, "sex": "F",
                                     "conditions": ["stroke:left"]}, actor=actor)
    template = builtin_programmes(builtin_protocols())["backward-walking-stroke"]
    programme = store.programmes.assign(patient["id"], template, store.programmes.today(), actor=actor)
    return {"assignment": programme["id"]}


def test_the_baseline_chip_names_the_backward_walks_form(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, stored = reading_pages.tablet_and_phone(lambda d: _in_store(d, _fill))
    for driver, size, name in ((tablet, TABLET, "tablet"), (phone, PHONE, "phone")):
        _load_programme(driver, f"{station.url}/assignments/{stored['assignment']}")
        css(driver, ".cal-item.visit")[0].click()
        wait(driver, "the baseline's tests", lambda d: css(d, "#item-panel .tag"))
        chips = [t.text for t in css(driver, "#item-panel .tag")]
        assert "3-metre backward walk test (speed over the middle 3 m of 5 m)" in chips, chips
        assert "3-metre backward walk test" not in chips and "Quiet stance, eyes open" in chips, chips
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", css(driver, "#item-panel")[0])
        driver.save_screenshot(str(shots / f"baseline-chips-{name}.png"))
        assert page_width(driver) <= size[0]
