"""The history page's MDC band of a time held stays within what a trial can hold (s28 P13, with the history PDF's):
single-leg stance held 30 s, then 12 s, its MDC 24.1 s: the band around the first 30 s was drawn up to 54.1 s, past
the 30 s a trial lasts. Now it stops at the trial's length (the chart's ceiling line), as it stops at 0 s below. In
headless Chromium against the real station, at tablet and phone size."""

from __future__ import annotations

import time

import pytest

from test_dashboard import PHONE, TABLET, css, wait
from test_history_standing_words import store_held

pytestmark = pytest.mark.e2e

CARD = '.history-chart[data-protocol="single-leg"][data-metric="time_held_s"]'


def stored_patient(data_dir) -> int:
    """An 82-year-old who held 30 s on the left leg, then 12 s a fortnight later: the patient's id."""
    from station.store.audit import Actor
    from station.store.store import Store

    store = Store.open(data_dir)  # beside the running station
    actor = Actor(None, "test")
    patient = store.patients.create({"identifier": "BAND-PAGE", "birth_year": time.gmtime().tm_year - 82, "sex": "F"},
                                    actor=actor)
    for day, held in (("2026-11-02", 30.0), ("2026-11-16", 12.0)):
        session = store.sessions.create(patient["id"], {"label": "single-leg", "started_at": f"{day}T10:00:00+00:00"},
                                        actor=actor)
        store_held(store, session["id"], "left", 1, held, actor)
    store.close()
    return patient["id"]


BOXES = """const card = document.querySelector(arguments[0]);
const band = card.querySelector('.mdc-band').getBoundingClientRect();
const points = [...card.querySelectorAll('svg.chart circle.point')].map((c) => c.getBoundingClientRect());
return {top: band.top, bottom: band.bottom, points: points.map((p) => (p.top + p.bottom) / 2)};"""


def test_a_time_helds_band_stops_at_the_trials_length(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, patient = reading_pages.tablet_and_phone(stored_patient)
    for driver, size in ((tablet, TABLET), (phone, PHONE)):
        driver.get(f"{station.url}/patients/{patient}/history")
        wait(driver, "the time held chart", lambda d: css(d, f"{CARD} svg.chart circle.point"), timeout_s=20)
        css(driver, CARD)[0].location_once_scrolled_into_view
        driver.save_screenshot(str(shots / f"history-band-{size[0]}x{size[1]}.png"))
        shown = driver.execute_script(BOXES, CARD)
        full, twelve = shown["points"]
        assert abs(shown["top"] - full) < 1.0, shown  # the band's top at the 30 s point: 30 s, not 54.1 s
        assert shown["top"] < twelve < shown["bottom"], shown  # 12 s: within 30 s less the MDC
