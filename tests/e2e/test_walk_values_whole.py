"""A walk's time and speed on the patient page's trials table keep their number and unit on one line, on
a phone (390×844) and a tablet (1024×768), in headless Chromium against the real station; the table still
fits the phone.

Before, on a phone the walk table's "Speed" column was narrow enough that "1.18 m/s" broke into "1.18" over
"m/s" (and a treadmill's "3.2 km/h belt" into "3.2 km/h" over "belt" or worse), which reads as a bare number.
Screenshots in the test's shots folder (tests/e2e/conftest.py)."""

from __future__ import annotations

import pytest

from e2e_support import set_size
from test_dashboard import PHONE, css, page_width, wait
from test_phone_fixes_walk_rows import RATE_HZ, frames_of, in_store

pytestmark = pytest.mark.e2e

TABLET = (1024, 768)


def at_1024(tablet, phone, stored) -> tuple[list, object]:
    """The tablet at 1024×768: ([(driver, size, name) for the tablet and the phone], ``stored``)."""
    set_size(tablet, TABLET)
    return [(tablet, TABLET, "tablet"), (phone, PHONE, "phone")], stored


def _store(data_dir) -> int:
    """A patient with a 10-metre walk (5.08 s, 1.18 m/s) and a backward treadmill session (20 min at
    0.9 m/s) in separate visits: the patient's id."""
    return in_store(data_dir, _fill)


def _fill(store, actor) -> int:
    patient = store.patients.create({"identifier": "WALK-UNITS", "birth_year": 1950, "sex": "F"}, actor=actor)
    for started, protocol, condition, metrics in (
            ("2026-11-02T10:00:00+00:00", "ten-metre-walk", "comfortable", {"walk_time_s": 5.08, "walk_speed_m_s": 6.0 / 5.08}),
            ("2026-11-09T10:00:00+00:00", "backward-treadmill", "session", {"walk_time_s": 1200.0, "walk_speed_m_s": 0.9})):
        session = store.sessions.create(patient["id"], {"label": protocol, "started_at": started}, actor=actor)
        writer = store.trials.start_trial(session["id"], protocol, condition, {"method": "nominal"}, RATE_HZ, actor=actor)
        writer.append(frames_of(12.0))
        writer.finish({"kind": "walk", "fs_hz": RATE_HZ, "samples": 1200, "profile": "walk", "version": "test",
                       "metrics": metrics, "initial_contacts_s": []}, valid=True)
    return patient["id"]


LINES = r"""
// every number with its unit in the trials tables: on how many lines it is drawn
const out = [];
const unit = /\d+(?:\.\d+)?\s(?:m\/s|km\/h|min|s)(?![\w\/])/g;
for (const table of document.querySelectorAll('#sessions table.list')) {
  const walker = document.createTreeWalker(table, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    for (const m of n.textContent.matchAll(unit)) {
      const range = document.createRange();
      range.setStart(n, m.index); range.setEnd(n, m.index + m[0].length);
      const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
      out.push([m[0], tops.size, n.parentElement.className]);
    }
  }
}
return out;"""
"""Each "number unit" of the trials tables, the number of lines it takes, its element's class."""


def test_a_walks_values_keep_their_units_on_one_line(reading_pages, shots):
    station = reading_pages.station
    browsers_at, patient_id = at_1024(*reading_pages.tablet_and_phone(_store))
    for driver, size, name in browsers_at:
        driver.get(f"{station.url}/patients/{patient_id}")
        wait(driver, "the trials tables", lambda d: len(css(d, "#sessions table.list")) >= 1, timeout_s=20)
        driver.execute_script("document.querySelectorAll('#sessions details').forEach((d) => d.open = true)")
        values = wait(driver, "both walks' tables", lambda d: (lambda v: v if len(v) >= 5 else None)(d.execute_script(LINES)))
        said = {text for text, _, _ in values}
        assert {"5.08 s", "1.18 m/s", "20 min", "3.2 km/h"} <= said, (name, values)
        broken = [v for v in values if v[1] != 1]
        assert not broken, (name, broken)  # every value drawn on one line with its unit
        assert page_width(driver) <= size[0], name  # and the tables still fit
        for table in driver.execute_script(
                "return [...document.querySelectorAll('#sessions table.list')].map((t) => [t.scrollWidth, t.clientWidth])"):
            assert table[0] <= table[1] + 1, (name, table)
        driver.execute_script("document.querySelector('#sessions').scrollIntoView()")
        driver.save_screenshot(str(shots / f"patient-walk-units-{name}.png"))
