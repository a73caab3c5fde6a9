"""The users page on a phone (390×844), a list longer than the screen (s28 P12, after e66a188): what a change
says is held at the screen's bottom edge while the list runs past it, and it came over the row just changed when
that row was at the edge (the last user's role changed with a thumb: the words covered its "New password…"
button). Now the page moves up by what the words would cover, and only then: the row and its buttons end above
the words. In headless Chromium against the real station."""

from __future__ import annotations

import pytest
from selenium.webdriver.support.select import Select

from test_dashboard import PHONE, api, css, setup_admin, wait

pytestmark = pytest.mark.e2e

BOXES = """
const box = (e) => { const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom}; };
const rows = [...document.querySelectorAll('#users tbody tr')];
return {message: box(document.getElementById('page-message')), last: box(rows[rows.length - 1]),
        rows: rows.map(box), height: window.innerHeight, scrolled: window.scrollY,
        end: document.scrollingElement.scrollHeight - window.innerHeight};
"""


def test_a_long_users_list_on_a_phone_keeps_its_last_row_clear_of_the_message(station_for, browsers, shots):
    station = station_for("standing")
    url = station.url
    phone, _ = browsers("phone", PHONE)
    setup_admin(phone, url)
    names = [f"clinician{n:02d}" for n in range(14)]
    for name in names:
        made = api(phone, "POST", "/api/users", {"username": name, "role": "clinician",
                                                 "password": "a long enough password"})
        assert made["status"] == 201, made
    phone.get(url + "/admin/users")
    wait(phone, "the users", lambda d: len(css(d, "#users tbody tr")) == len(names) + 1)
    # the last user's role changed from its row, that row at the screen's bottom edge (where a thumb reaches it)
    last = names[-1]
    role = lambda d: d.find_element("css selector", f"#users select[aria-label='Role of {last}']")  # noqa: E731
    phone.execute_script("arguments[0].scrollIntoView({block: 'end'})", css(phone, "#users tbody tr")[-1])
    Select(role(phone)).select_by_visible_text("Administrator")
    wait(phone, "the role changed", lambda d: f"{last} is now" in d.find_element("id", "page-message").text)
    shown = phone.execute_script(BOXES)
    phone.save_screenshot(str(shots / "users-long-list-changed-phone.png"))
    assert shown["last"]["bottom"] <= shown["message"]["top"], shown
    assert shown["last"]["top"] >= 0 and shown["rows"][0]["top"] < 0, shown  # moved by what was covered, no more
