"""The users table on a phone (390×844) with 15 users (s28 P13, P12's leftover): with a name like "clinician13" the
table came out 410 px wide and the page clipped it, so the right edge of every "New password…" button was cut off.
Now every control of every row (role list, buttons, the own row's link) ends inside the screen, and the names stay
whole (one line, not broken into "clini/cian/09"). On a tablet (1180×820) the table keeps its one line a user. In
headless Chromium against the real station."""

from __future__ import annotations

import pytest

from test_dashboard import PHONE, TABLET, api, css, setup_admin, wait

pytestmark = pytest.mark.e2e

BOXES = """
const rows = [...document.querySelectorAll('#users tbody tr')];
return {width: document.documentElement.clientWidth,
        columns: [...document.querySelectorAll('#users thead th')].map((th) => Math.round(th.getBoundingClientRect().width)),
        table: document.getElementById('users').getBoundingClientRect().right,
        controls: rows.flatMap((tr) => [...tr.querySelectorAll('select, button, a')]
          .filter((e) => e.getClientRects().length)
          .map((e) => ({name: tr.querySelector('strong').textContent, what: e.textContent || e.getAttribute('aria-label'),
                        right: e.getBoundingClientRect().right, left: e.getBoundingClientRect().left}))),
        names: rows.map((tr) => { const s = tr.querySelector('strong');
          return {name: s.textContent, lines: s.getClientRects().length,
                  height: s.getBoundingClientRect().height,
                  line: parseFloat(getComputedStyle(s).lineHeight) || 1.3 * parseFloat(getComputedStyle(s).fontSize)}; })};
"""


def _users_page(driver, url, names):
    setup_admin(driver, url)
    for name in names:
        made = api(driver, "POST", "/api/users", {"username": name, "role": "clinician",
                                                  "password": "a long enough password"})
        assert made["status"] == 201, made
    # one disabled user: its row has 'Enable' and a status tag under the name on a phone
    users = api(driver, "GET", "/api/users")["body"]["users"]
    first = next(u for u in users if u["username"] == names[0])
    assert api(driver, "PATCH", f"/api/users/{first['id']}", {"disabled": True})["status"] == 200
    driver.get(url + "/admin/users")
    wait(driver, "the users", lambda d: len(css(d, "#users tbody tr")) == len(names) + 1)


@pytest.mark.parametrize("size", ["phone", "tablet"])
def test_every_users_control_ends_inside_the_screen_and_names_stay_whole(station_for, browsers, shots, size):
    station = station_for("standing")
    driver, _ = browsers(size, PHONE if size == "phone" else TABLET)
    names = [f"clinician{n:02d}" for n in range(14)]  # 15 users with the administrator
    _users_page(driver, station.url, names)
    shown = driver.execute_script(BOXES)
    driver.save_screenshot(str(shots / f"users-table-{size}.png"))
    driver.execute_script("window.scrollTo(0, document.scrollingElement.scrollHeight)")
    driver.save_screenshot(str(shots / f"users-table-{size}-end.png"))
    assert len(shown["controls"]) >= 2 * len(names) + 1, shown
    cut = [c for c in shown["controls"] if c["right"] > shown["width"] or c["left"] < 0]
    assert not cut, (shown["width"], shown["columns"], shown["table"], cut[:2])
    assert shown["table"] <= shown["width"], shown
    broken = [n for n in shown["names"] if n["lines"] != 1 or n["height"] > 1.5 * n["line"]]
    assert not broken, broken
