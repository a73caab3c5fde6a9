"""The programme page's outcome chart places a value at the day its test was measured (s26 P5, item 3): it drew
each value at its visit's planned day, so a baseline taken two days late and a mid-point taken two days late sat
on days nothing was measured (the document carries each point's measured_on since f99692a, and the programme
PDF says it). Now the measured day, and the point's tooltip says the planned day when that was another."""

from __future__ import annotations

import pytest

from test_dashboard import PHONE, TABLET, page_width
from test_programme_dose_picker import _in_store, _load_programme
from test_programme_visit_marks import _quiet_stance

pytestmark = pytest.mark.e2e

DAY_S = 86_400


def _fill(store, actor) -> dict:
    """A stroke patient on the backward-walking programme started 16 days ago: its baseline's quiet stance measured
    14 days ago (2 days late), its mid-point's (planned 2 days ago, after week 2) now."""
    import datetime
    import time

    from station.programmes.loader import builtin_programmes
    from station.protocols.loader import builtin_protocols

    patient = store.patients.create({"identifier": "OUTCOME-DAY-01", "birth_year": 1950, "sex": "F",
                                     "conditions": ["stroke:left"]}, actor=actor)
    template = builtin_programmes(builtin_protocols())["backward-walking-stroke"]
    start = (datetime.date.fromisoformat(store.programmes.today()) - datetime.timedelta(days=16)).isoformat()
    programme = store.programmes.assign(patient["id"], template, start, actor=actor)
    visits = {v["assessment_id"]: v for v in programme["visits"]}
    for key, ago_s in (("baseline", 14 * DAY_S), ("mid", 600)):
        session = _quiet_stance(store, actor, patient["id"], time.time() - ago_s)
        store.programmes.link_visit_session(visits[key]["id"], "quiet-stance", session, actor=actor)
    return {"assignment": programme["id"]}


def _chart(driver) -> dict:
    """The eyes-open sway velocity's chart: its points' tooltips and its axis's days."""
    return driver.execute_script("""
      const card = [...document.querySelectorAll('.card.outcome')].find((c) => c.dataset.key.includes('mean_velocity')
        && c.dataset.key.includes('eo'));
      card.scrollIntoView({block: 'center'});
      const svg = card.querySelector('svg');
      return {titles: [...svg.querySelectorAll('circle.point title')].map((t) => t.textContent),
              days: [...svg.querySelectorAll('text.day')].map((t) => t.textContent)};""")


def _days(driver, doc_points) -> tuple[list[str], list[str]]:
    """The chart's way of saying each point's measured and planned day ("Dec 7")."""
    said = "return arguments[0].map((d) => new Date(d + 'T12:00:00Z').toLocaleDateString(undefined, " \
           "{ month: 'short', day: 'numeric' }));"
    return (driver.execute_script(said, [p["measured_on"] for p in doc_points]),
            driver.execute_script(said, [p["date"] for p in doc_points]))


def test_an_outcome_is_drawn_at_the_day_it_was_measured(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, stored = reading_pages.tablet_and_phone(lambda d: _in_store(d, _fill))
    for driver, size, name in ((tablet, TABLET, "tablet"), (phone, PHONE, "phone")):
        _load_programme(driver, f"{station.url}/assignments/{stored['assignment']}")
        doc = driver.execute_script(f"""const r = await fetch('/api/assignments/{stored["assignment"]}');
                                       return await r.json();""")
        outcome = next(o for g in doc["outcome_groups"] for o in g["outcomes"]
                       if o["metric"] == "mean_velocity_cm_s" and o["condition"] == "eo")
        points = [p for p in outcome["points"] if p["value"] is not None]
        assert [p["label"] for p in points] == ["Baseline", "Mid-point (after week 2)"]
        measured, planned = _days(driver, points)
        assert all(m != p for m, p in zip(measured, planned)), (measured, planned)  # both taken 2 days late
        chart = _chart(driver)
        driver.save_screenshot(str(shots / f"outcome-measured-day-{name}.png"))
        assert page_width(driver) <= size[0]
        assert chart["days"] == measured, chart  # the axis's first and last days: the days measured
        assert "Each point is an assessment visit, on the day its test was measured." in driver.execute_script(
            "return document.getElementById('outcomes').parentElement.textContent")
        assert not set(chart["days"]) & set(planned), chart
        # the tooltip: the visit, the day measured and the day planned, as the page's calendar says a day
        said = driver.execute_script("return arguments[0].map((d) => new Date(d + 'T12:00:00Z').toLocaleDateString("
                                     "undefined, { weekday: 'short', month: 'short', day: 'numeric' }));",
                                     [d for p in points for d in (p["measured_on"], p["date"])])
        assert chart["titles"] == [f"{p['label']}, measured {said[2 * i]} (planned {said[2 * i + 1]}): 1.50 cm/s"
                                   for i, p in enumerate(points)], chart
