"""The administrators' pages read at a glance (P8's five-second read, session 28), tablet (1180x820) and phone
(390x844):

- one's own role is said in words, not a greyed list (it read as broken, and a phone clipped it to "Administrat");
- on a phone, which has no Status column, a disabled user is said disabled under the name (only an "Enable" button
  said it);
- the audit log's details say an empty list "none" and a yes or no in words (they read "ids: · total: 0" and
  "first run: true"), and an entry about a user names the user ("added a user" said only "role: clinician");
- the settings' Save button stays where it was pressed (the words that it saved pushed it down);
- the users stay where they were when a user is added or a role changed (the words that it was done, "cat can now sign
  in as clinician.", pushed every row down under the finger);
- with 14 more users (s28 P13, P12's leftover; was tests/e2e/test_users_table_fits_a_phone.py, with
  test_users_message_on_phone.py, stations of their own for the same list): with a name like "clinician13" the table
  came out 410 px wide on a phone and the page clipped it, so the right edge of every "New password…" button was cut
  off. Now every control of every row (role list, buttons, the own row's link) ends inside the screen, and the names
  stay whole (one line, not broken into "clini/cian/09"); on a tablet the table keeps its one line a user;
- the same list longer than the phone's screen (s28 P12, after e66a188): what a change says is held at the screen's
  bottom edge while the list runs past it, and it came over the row just changed when that row was at the edge (the
  last user's role changed with a thumb: the words covered its "New password…" button). Now the page moves up by
  what the words would cover, and only then: the row and its buttons end above the words.

One station for all of it, in headless Chromium against the real station."""

from __future__ import annotations

import pytest
from selenium.webdriver.support.select import Select

from test_dashboard import ADMIN, PHONE, TABLET, api, at, css, setup_admin, sign_in, wait

pytestmark = pytest.mark.e2e

ROWS = """return [...document.querySelectorAll('#users tbody tr')].map((tr) => {
  const cells = [...tr.children];
  const role = cells[1];
  const shown = (e) => !!e && e.offsetParent !== null;
  return {user: cells[0].querySelector('strong').textContent, role: role.innerText.trim(),
          list: !!role.querySelector('select'), whole: role.scrollWidth <= role.clientWidth + 1,
          disabled: [...tr.querySelectorAll('.tag')].some((t) => shown(t) && t.textContent === 'disabled')};
});"""


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

NAMES = [f"clinician{n:02d}" for n in range(14)]  # 14 more users (15 with the administrator, as the finding had)


def _users_page(driver, url, rows: int):
    driver.get(url + "/admin/users")
    wait(driver, "the users", lambda d: len(css(d, "#users tbody tr")) == rows)


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


def _every_control_inside_and_names_whole(driver, size: str, shots, rows: int) -> None:
    """Every control of the ``rows`` users' rows inside the screen, the names whole."""
    shown = driver.execute_script(BOXES)
    driver.save_screenshot(str(shots / f"users-table-{size}.png"))
    driver.execute_script("window.scrollTo(0, document.scrollingElement.scrollHeight)")
    driver.save_screenshot(str(shots / f"users-table-{size}-end.png"))
    assert len(shown["controls"]) >= 2 * (rows - 1) + 1, shown  # each other user's role list and button(s), the own link
    cut = [c for c in shown["controls"] if c["right"] > shown["width"] or c["left"] < 0]
    assert not cut, (size, shown["width"], shown["columns"], shown["table"], cut[:2])
    assert shown["table"] <= shown["width"], shown
    broken = [n for n in shown["names"] if n["lines"] != 1 or n["height"] > 1.5 * n["line"]]
    assert not broken, (size, broken)


def _last_row_clear_of_the_message(phone, shots) -> None:
    """The last user's role changed from its row, that row at the screen's bottom edge (where a thumb reaches it)."""
    last = css(phone, "#users tbody tr")[-1].find_element("css selector", "strong").text
    role = lambda d: d.find_element("css selector", f"#users select[aria-label='Role of {last}']")  # noqa: E731
    phone.execute_script("arguments[0].scrollIntoView({block: 'end'})", css(phone, "#users tbody tr")[-1])
    Select(role(phone)).select_by_visible_text("Administrator")  # a clinician now
    wait(phone, "the role changed", lambda d: f"{last} is now" in d.find_element("id", "page-message").text)
    shown = phone.execute_script(MESSAGE_BOXES)
    phone.save_screenshot(str(shots / "users-long-list-changed-phone.png"))
    assert shown["last"]["bottom"] <= shown["message"]["top"], shown
    assert shown["last"]["top"] >= 0 and shown["rows"][0]["top"] < 0, shown  # moved by what was covered, no more


def test_the_admin_pages_say_own_role_a_disabled_user_and_audit_details_in_words(station_for, browsers, shots):
    station = station_for("standing")
    url = station.url
    tablet, _ = browsers("tablet", TABLET)
    setup_admin(tablet, url)
    for name in ("ana", "ben"):
        made = api(tablet, "POST", "/api/users", {"username": name, "role": "clinician", "password": "a long enough password"})
        assert made["status"] == 201, made
    ben = made["body"]["id"]
    assert api(tablet, "PATCH", f"/api/users/{ben}", {"disabled": True})["status"] == 200
    phone, _ = browsers("phone", PHONE)
    phone.get(url + "/login")
    sign_in(phone, url, ADMIN)
    wait(phone, "the phone's patients page", at("/patients"))

    for driver, name in ((tablet, "tablet"), (phone, "phone")):
        driver.get(url + "/admin/users")
        wait(driver, "the users", lambda d: len(css(d, "#users tbody tr")) == 3)
        rows = {r["user"]: r for r in driver.execute_script(ROWS)}
        driver.save_screenshot(str(shots / f"users-{name}.png"))
        # one's own role in words, whole; the others' a list to change it
        assert rows["admin"]["role"] == "Administrator" and not rows["admin"]["list"] and rows["admin"]["whole"], rows
        assert rows["ana"]["list"] and rows["ben"]["list"], rows
        # a disabled user said so on the screen, a phone too (its Status column is hidden)
        assert rows["ben"]["disabled"] and not rows["ana"]["disabled"] and not rows["admin"]["disabled"], rows
        assert driver.execute_script("return document.documentElement.scrollWidth") <= (TABLET if driver is tablet else PHONE)[0]

    # the settings' Save stays where it was pressed: what saving says comes under it (it pushed Save down)
    for driver, name in ((tablet, "tablet"), (phone, "phone")):
        driver.get(url + "/admin/settings")
        wait(driver, "the settings", lambda d: d.find_element("name", "session_timeout_min").get_attribute("value") != "")
        save = driver.find_element("id", "save-settings")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", save)
        top = save.rect["y"]
        save.click()
        wait(driver, "the settings saved", lambda d: d.find_element("id", "page-message").is_displayed())
        assert driver.find_element("id", "save-settings").rect["y"] == top, (name, top)
        driver.save_screenshot(str(shots / f"settings-saved-{name}.png"))

    # the users' rows stay where they were: what a change says comes under them (above, it pushed them down)
    for driver, name, added in ((tablet, "tablet", "cat"), (phone, "phone", "dan")):
        driver.get(url + "/admin/users")
        wait(driver, "the users", lambda d: len(css(d, "#users tbody tr")) >= 3)
        first = lambda d: css(d, "#users tbody tr")[0].rect["y"]  # noqa: E731 (the signed-in admin's row)
        top = first(driver)
        driver.find_element("id", "add-user").click()
        driver.find_element("name", "username").send_keys(added)
        driver.find_element("name", "password").send_keys("a long enough password")
        driver.find_element("id", "save-user").click()
        wait(driver, "the user added", lambda d: d.find_element("id", "page-message").is_displayed())
        assert driver.find_element("id", "page-message").text == f"{added} can now sign in as clinician."
        wait(driver, "the new row", lambda d: added in d.find_element("id", "users").text)
        assert first(driver) == top, (name, top, first(driver))
        # a role changed in a row: that row stays under the finger that changed it
        ana = lambda d: d.find_element("css selector", "#users select[aria-label='Role of ana']")  # noqa: E731
        top = ana(driver).rect["y"]
        Select(ana(driver)).select_by_visible_text("Administrator" if driver is tablet else "Clinician")
        wait(driver, "the role changed", lambda d: "ana is now" in d.find_element("id", "page-message").text)
        assert ana(driver).rect["y"] == top, (name, top)
        # and read where the finger is, without scrolling: on the screen (a phone's list runs past its bottom edge)
        assert driver.execute_script("const r = document.getElementById('page-message').getBoundingClientRect(); "
                                     "return r.top >= 0 && r.bottom <= window.innerHeight"), name
        driver.save_screenshot(str(shots / f"users-changed-{name}.png"))

    tablet.get(url + "/admin/audit")
    wait(tablet, "the audit log", lambda d: len(css(d, "#audit tbody tr")) > 3)
    entries = tablet.execute_script("return [...document.querySelectorAll('#audit tbody tr')].map((tr) => "
                                    "[...tr.children].map((td) => td.innerText.trim()));")
    tablet.save_screenshot(str(shots / "audit-tablet.png"))
    details = {(e[1].splitlines()[0], e[2]): e[4] for e in entries}
    assert details[("setup", "added a user\nadmin")] == "first run: yes · role: admin", details
    # whom a user's entry is about, by name (the details said only the role)
    assert {what for _who, what in details if what.startswith(("added a user", "changed a user"))} == {
        "added a user\nadmin", "added a user\nana", "added a user\nben", "changed a user\nben", "added a user\ncat",
        "added a user\ndan", "changed a user\nana"}, details
    listed = [e[4] for e in entries if e[2] == "listed patients"]  # no patient yet: each list empty
    assert listed and all(d == "ids: none · total: 0" for d in listed), listed
    assert not any(": ·" in e[4] or e[4].endswith(":") or ": true" in e[4] or ": false" in e[4] for e in entries), entries

    # -- 14 more users: the table inside a phone's screen and a tablet's, the message clear of the last row ----------
    _users_made(tablet, NAMES)
    rows = 5 + len(NAMES)  # admin, ana, ben, cat and dan above
    _users_page(phone, url, rows)
    _every_control_inside_and_names_whole(phone, "phone", shots, rows)
    _users_page(phone, url, rows)  # from the top again, as the clinician opens it
    _last_row_clear_of_the_message(phone, shots)
    _users_page(tablet, url, rows)
    _every_control_inside_and_names_whole(tablet, "tablet", shots, rows)
