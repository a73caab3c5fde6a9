"""The users table on a phone (390×844) with 15 users (s28 P13, P12's leftover): with a name like "clinician13" the
table came out 410 px wide and the page clipped it, so the right edge of every "New password…" button was cut off.
Now every control of every row (role list, buttons, the own row's link) ends inside the screen, and the names stay
whole (one line, not broken into "clini/cian/09"). On a tablet (1180×820) the table keeps its one line a user.

The same list longer than the phone's screen (s28 P12, after e66a188; was tests/e2e/test_users_message_on_phone.py,
a station of its own for the same 15 users): what a change says is held at the screen's bottom edge while the list
runs past it, and it came over the row just changed when that row was at the edge (the last user's role changed with
a thumb: the words covered its "New password…" button). Now the page moves up by what the words would cover, and only
then: the row and its buttons end above the words.

One station and one list of users for both, looked at on the phone, then on a tablet signed in beside it. In headless
Chromium against the real station."""

from __future__ import annotations

import pytest
from selenium.webdriver.support.select import Select

from test_dashboard import ADMIN, PHONE, TABLET, api, at, css, setup_admin, sign_in, wait

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

MESSAGE_BOXES = """
const box = (e) => { const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom}; };
const rows = [...document.querySelectorAll('#users tbody tr')];
return {message: box(document.getElementById('page-message')), last: box(rows[rows.length - 1]),
        rows: rows.map(box), height: window.innerHeight, scrolled: window.scrollY,
        end: document.scrollingElement.scrollHeight - window.innerHeight};
"""

NAMES = [f"clinician{n:02d}" for n in range(14)]  # 15 users with the administrator


def _users_page(driver, url, names):
    driver.get(url + "/admin/users")
    wait(driver, "the users", lambda d: len(css(d, "#users tbody tr")) == len(names) + 1)


def _users_made(driver, names):
    """The users ``names`` (clinicians) added, the first of them disabled: its row has 'Enable' and a status tag under
    the name on a phone."""
    for name in names:
        made = api(driver, "POST", "/api/users", {"username": name, "role": "clinician",
                                                  "password": "a long enough password"})
        assert made["status"] == 201, made
    users = api(driver, "GET", "/api/users")["body"]["users"]
    first = next(u for u in users if u["username"] == names[0])
    assert api(driver, "PATCH", f"/api/users/{first['id']}", {"disabled": True})["status"] == 200


def _every_control_inside_and_names_whole(driver, size: str, shots) -> None:
    shown = driver.execute_script(BOXES)
    driver.save_screenshot(str(shots / f"users-table-{size}.png"))
    driver.execute_script("window.scrollTo(0, document.scrollingElement.scrollHeight)")
    driver.save_screenshot(str(shots / f"users-table-{size}-end.png"))
    assert len(shown["controls"]) >= 2 * len(NAMES) + 1, shown
    cut = [c for c in shown["controls"] if c["right"] > shown["width"] or c["left"] < 0]
    assert not cut, (size, shown["width"], shown["columns"], shown["table"], cut[:2])
    assert shown["table"] <= shown["width"], shown
    broken = [n for n in shown["names"] if n["lines"] != 1 or n["height"] > 1.5 * n["line"]]
    assert not broken, (size, broken)


def _last_row_clear_of_the_message(phone, shots) -> None:
    """The last user's role changed from its row, that row at the screen's bottom edge (where a thumb reaches it)."""
    last = NAMES[-1]
    role = lambda d: d.find_element("css selector", f"#users select[aria-label='Role of {last}']")  # noqa: E731
    phone.execute_script("arguments[0].scrollIntoView({block: 'end'})", css(phone, "#users tbody tr")[-1])
    Select(role(phone)).select_by_visible_text("Administrator")
    wait(phone, "the role changed", lambda d: f"{last} is now" in d.find_element("id", "page-message").text)
    shown = phone.execute_script(MESSAGE_BOXES)
    phone.save_screenshot(str(shots / "users-long-list-changed-phone.png"))
    assert shown["last"]["bottom"] <= shown["message"]["top"], shown
    assert shown["last"]["top"] >= 0 and shown["rows"][0]["top"] < 0, shown  # moved by what was covered, no more


def test_every_users_control_ends_inside_the_screen_and_a_change_keeps_the_last_row_clear(station_for, browsers,
                                                                                          shots):
    url = station_for("standing").url
    phone, _ = browsers("phone", PHONE)
    setup_admin(phone, url)
    _users_made(phone, NAMES)
    _users_page(phone, url, NAMES)
    _every_control_inside_and_names_whole(phone, "phone", shots)
    _users_page(phone, url, NAMES)  # from the top again, as the clinician opens it
    _last_row_clear_of_the_message(phone, shots)

    tablet, _ = browsers("tablet", TABLET)
    tablet.get(url + "/login")
    sign_in(tablet, url, ADMIN)
    wait(tablet, "the tablet's patients page", at("/patients"))
    _users_page(tablet, url, NAMES)
    _every_control_inside_and_names_whole(tablet, "tablet", shots)
