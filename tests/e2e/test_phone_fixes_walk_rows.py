"""The patient page's trials tables on a phone (390×844) and a tablet, in headless Chromium against the
real station: a walk trial's row does not read as a standing test's (outside review, item 6).

Before, every table had the standing-balance columns: a 10-metre walk's row showed "Length (s) 12.0"
(its recording; the walk took 5.08 s, so 12.0 read as the walk time) beside an empty "Sway velocity"
column, and on a phone the table (18-396 px) was wider than its card, its "Sway velocity (cm/s)"
header cut by the table's clipping. Now a walk's row says what its length is ("recorded 12.0 s") and
shows its walk time and speed ("5.08 s", "1.18 m/s"; before, it only pointed to the visit's Results),
a walk-only table has no sway columns, and every table fits a phone: no cell or header sticks out of
its table, the table out of its card, or the page sideways.
"""

from __future__ import annotations

import numpy as np
import pytest

from test_dashboard import PHONE, TABLET, css, page_width, wait

pytestmark = pytest.mark.e2e

RATE_HZ = 100.0


def frames_of(seconds: float) -> np.ndarray:
    from station.acquire.frame import FRAME_DTYPE

    n = int(seconds * RATE_HZ)
    frames = np.zeros(n, dtype=FRAME_DTYPE)
    frames["seq"] = 1000 + np.arange(n)
    frames["t_ns"] = 5_000_000_000 + (np.arange(n) / RATE_HZ * 1e9).astype(np.int64)
    frames["ax_m_s2"] = 9.81
    return frames


def in_store(data_dir, fill):
    """``fill(store, actor)`` on the station's store in ``data_dir`` (opened beside the running station,
    closed after): its value."""
    from station.store.audit import Actor
    from station.store.store import Store

    store = Store.open(data_dir)
    try:
        return fill(store, Actor(None, "test"))
    finally:
        store.close()


def _store(data_dir) -> int:
    """A patient with a Romberg session (two stance trials of 30 s) and a 10-metre walk session (one walk
    of 5.08 s in a 12-s recording): the patient's id."""
    return in_store(data_dir, _fill)


def _fill(store, actor) -> int:
    patient = store.patients.create({"identifier": "WALK-ROWS", "birth_year": 1954, "sex": "F"}, actor=actor)
    session = store.sessions.create(patient["id"], {"label": "romberg", "started_at": "2026-11-02T10:00:00+00:00"},
                                    actor=actor)
    for condition in ("eo", "ec"):
        writer = store.trials.start_trial(session["id"], "romberg", condition, {"method": "nominal"}, RATE_HZ, actor=actor)
        writer.append(frames_of(30.0))
        writer.finish({"kind": "stance", "fs_hz": RATE_HZ, "samples": 3000, "profile": "stance", "version": "test",
                       "metrics": {"ellipse_area_cm2": 3.21, "mean_velocity_cm_s": 1.23, "path_length_cm": 36.9}},
                      valid=True)
    session = store.sessions.create(patient["id"], {"label": "10mwt", "started_at": "2026-11-02T10:20:00+00:00"},
                                    actor=actor)
    writer = store.trials.start_trial(session["id"], "ten-metre-walk", "comfortable", {"method": "nominal"}, RATE_HZ,
                                      actor=actor)
    writer.append(frames_of(12.0))
    writer.finish({"kind": "walk", "fs_hz": RATE_HZ, "samples": 1200, "profile": "walk", "version": "test",
                   "metrics": {"walk_time_s": 5.08, "walk_speed_m_s": 6.0 / 5.08, "steps": 19, "cadence_steps_min": 109.0},
                   "initial_contacts_s": [round(1.0 + i * 0.55, 3) for i in range(19)]}, valid=True)
    return patient["id"]


MEASURE = """
const box = (e) => { const r = e.getBoundingClientRect(); return [Math.round(r.left), Math.round(r.right)]; };
return [...document.querySelectorAll('#sessions table.list')].map((table) => {
  const card = table.closest('.card'); const cs = getComputedStyle(card);
  const inner = [card.getBoundingClientRect().left + parseFloat(cs.paddingLeft), card.getBoundingClientRect().right - parseFloat(cs.paddingRight)];
  const cells = [...table.querySelectorAll('th, td')].filter((c) => c.getBoundingClientRect().width > 0);
  return {
    table: box(table), card: inner.map(Math.round), scroll: [table.scrollWidth, table.clientWidth],
    headers: [...table.querySelectorAll('th')].filter((c) => c.getBoundingClientRect().width > 0).map((c) => c.textContent.trim()),
    // a cell wider than its box, or sticking out of the table (clipped by the table's overflow: hidden)
    cut: cells.filter((c) => c.scrollWidth > c.clientWidth + 1 || c.getBoundingClientRect().right > table.getBoundingClientRect().right + 1
                          || c.getBoundingClientRect().left < table.getBoundingClientRect().left - 1)
              .map((c) => [c.textContent.trim(), c.scrollWidth, c.clientWidth, ...box(c)]),
    rows: [...table.querySelectorAll('tbody tr')].map((r) => [...r.children].filter((c) => c.getBoundingClientRect().width > 0)
              .map((c) => c.textContent.trim())),
    after: (table.closest('.visit-session') || table.parentElement).innerText,
  };
});"""
"""For each trials table of the patient page: its box and its card's inside (px), its headers, the cells
cut or sticking out, its rows' words and the words of its session's block."""


def _check(driver, width: int, shots: str) -> list[dict]:
    driver.execute_script("document.querySelectorAll('#sessions details').forEach((d) => d.open = true)")
    tables = driver.execute_script(MEASURE)
    driver.execute_script("document.querySelector('#sessions').scrollIntoView()")
    driver.save_screenshot(shots)
    assert len(tables) == 2, tables
    for t in tables:
        assert not t["cut"], t  # nothing cut: every header and value whole, inside its table
        assert t["card"][0] - 1 <= t["table"][0] and t["table"][1] <= t["card"][1] + 1, t  # the table inside its card
        assert t["scroll"][0] <= t["scroll"][1] + 1, t
    assert page_width(driver) <= width
    walk = next(t for t in tables if any("Comfortable" in " ".join(r) for r in t["rows"]))
    stance = next(t for t in tables if t is not walk)
    # the walk's row: its recording said to be one, no standing-balance columns, where its walk time is
    [row] = walk["rows"]
    assert "recorded 12.0 s" in " ".join(row), walk
    assert "12.0" not in [c for c in row], walk  # not a bare "12.0" under a "Length (s)" that reads as its time
    assert not any("Sway" in h or "Ellipse" in h or h == "Length (s)" for h in walk["headers"]), walk
    assert "walk time and speed" in walk["after"].lower(), walk["after"]
    # and the walk's time and speed themselves, from the listing the page loads (before: "on the visit's Results")
    assert any(c.startswith("5.08 s") for c in row) and "1.18 m/s" in row, walk
    assert any(h == "Walk time" for h in walk["headers"]) and any(h == "Speed" for h in walk["headers"]), walk
    # the standing test's rows keep their measures
    assert any("Sway velocity" in h for h in stance["headers"]), stance
    assert all("1.23" in r for r in stance["rows"]), stance
    return tables


def test_walk_rows_say_what_a_walk_has_and_the_tables_fit_a_phone(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, patient_id = reading_pages.tablet_and_phone(_store)
    for driver, size, name in ((phone, PHONE, "phone"), (tablet, TABLET, "tablet")):
        driver.get(f"{station.url}/patients/{patient_id}")
        wait(driver, "the trials tables", lambda d: len(css(d, "#sessions table.list")) == 2, timeout_s=20)
        tables = _check(driver, size[0], str(shots / f"walk-rows-{name}.png"))
        print(name, tables)
