"""The administrators' pages read at a glance (P8's five-second read, session 28), tablet (1180x820) and phone
(390x844):

- one's own role is said in words, not a greyed list (it read as broken, and a phone clipped it to "Administrat");
- on a phone, which has no Status column, a disabled user is said disabled under the name (only an "Enable" button
  said it);
- the audit log's details say an empty list "none" and a yes or no in words (they read "ids: · total: 0" and
  "first run: true"), and an entry about a user names the user ("added a user" said only "role: clinician");
- the settings' Save button stays where it was pressed (the words that it saved pushed it down);
- the users stay where they were when a user is added or a role changed (the words that it was done, "cat can now sign
  in as clinician.", pushed every row down under the finger)."""

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
