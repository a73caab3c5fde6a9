"""The 3-m backward walk's two cut-offs for a 76-year-old after stroke, on the visit results at tablet
(1180x820) and phone (390x844) size (R1 item 3).

Before: Carter et al. 2019 read "not applied (a diagnosis the source excluded: stroke)" and beside it
Polo-Ferrero et al. 2025 was applied, "not slower than the 5.5 s cut-off", although the protocol's
notes say that study's inclusion criteria were not read. Now the second is not applied either, and
says why: its population is not known to include people after stroke."""

from __future__ import annotations

import time

import pytest

from test_dashboard import PHONE, TABLET, css
from test_cutoff_population_pages import _cutoff_tags
from test_walk_words_on_pages import _trial, text_of

pytestmark = pytest.mark.e2e


def stored_visit(data_dir) -> int:
    """A 76-year-old after stroke (left side) with a 3-m backward walk of 5.20 s: the session id."""
    from station.store.audit import Actor
    from station.store.store import Store

    store = Store.open(data_dir)  # beside the running station
    actor = Actor(None, "test")
    patient = store.patients.create({"identifier": "BW-STROKE-76", "birth_year": time.gmtime().tm_year - 76, "sex": "M",
                                     "conditions": ["stroke:left"]}, actor=actor)
    session = store.sessions.create(patient["id"], {"label": "3mbw"}, actor=actor)
    _trial(store, session["id"], "backward-walk-3m", "fast", {"walk_time_s": 5.2, "walk_speed_m_s": 3.0 / 5.2},
           {"walk_time_s": 5.2, "walk_distance_m": 3.0, "walk_speed_m_s": 3.0 / 5.2}, actor)
    store.close()
    return session["id"]


def test_neither_backward_walk_cut_off_is_read_after_stroke(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, session_id = reading_pages.tablet_and_phone(stored_visit)
    for driver, size in ((tablet, TABLET), (phone, PHONE)):
        driver.get(f"{station.url}/sessions/{session_id}")
        tags = _cutoff_tags(driver, "backward-walk-3m")
        words = " ".join(t for _, t in tags)
        assert "not slower than the 5.5 s cut-off" not in words and all(c == "tag neutral" for c, _ in tags), tags
        rows = text_of(css(driver, '.protocol-results[data-protocol="backward-walk-3m"] tr[data-metric="walk_time_s"]'))
        # the two sources in one sentence, each with whom it was set in and its own reason (the visit PDF's words)
        assert ("Not applied to this patient: the cut-offs (3 and 4.5 s) of Carter et al. 2019, set in community-dwelling "
                "older adults walking without an aid and without a neurological diagnosis (a diagnosis the source excluded: "
                "stroke, left side affected); the cut-off (5.5 s) of Polo-Ferrero et al. 2025, set in 483 community-dwelling "
                "older adults (mean age 76.3 y; the source's population is not known to include people with stroke, left "
                "side affected).") in rows, rows
        assert "not slower than" not in rows and "who had fallen" not in rows, rows
        assert driver.execute_script("return document.documentElement.scrollWidth") <= size[0]
        driver.save_screenshot(str(shots / f"stroke-76-visit-{size[0]}.png"))
        css(driver, '.protocol-results[data-protocol="backward-walk-3m"] tr[data-metric="walk_time_s"]')[0] \
            .location_once_scrolled_into_view
        driver.save_screenshot(str(shots / f"stroke-76-3mbw-row-{size[0]}.png"))
