"""The dashboard at phone size (390×844) and the tablet layout (1180×820), in headless Chromium
against the real station (simulated plate with a virtual patient who follows the protocols):

no page scrolls sideways on a phone; the identifier field's pattern works in Chrome (it is
compiled with the ``v`` flag) and the server's refusal shows next to the field; a birth year
outside the norms' ages is a warning, not a refusal; unknown addresses get the station's page;
the administrators' pages; on the live view Start is disabled from the tap, the values go grey
and blank the moment the data stops, the weight split is hidden on one leg, on a phone Stop is on
the first screen while recording; at tablet size the words to read aloud and the results button
fit on the screen, and the live view draws the plate, the feet and the centre of pressure on it,
never re-centred.
"""

from __future__ import annotations

import time

import pytest

from test_dashboard import api, by_id, css, fill, setup_admin, wait

pytestmark = pytest.mark.e2e

TABLET = (1180, 820)
PHONE = (390, 844)
PAGES = ("/patients", "/patients/{pid}", "/patients/{pid}/history", "/live", "/admin/users", "/admin/settings",
         "/admin/audit", "/no/such/page")


def page_width(driver) -> int:
    """How wide the page is: the viewport's width unless something sticks out to the right of it
    (and is not inside a box that scrolls or clips by design, e.g. the steps trace)."""
    return driver.execute_script("""
      const W = window.innerWidth; let widest = document.documentElement.scrollWidth;
      for (const e of document.querySelectorAll('body *')) {
        const r = e.getBoundingClientRect();
        if (r.width === 0 || r.right <= W + 1) continue;
        let a = e.parentElement, clipped = false;
        while (a && a !== document.body) { if (getComputedStyle(a).overflowX !== 'visible') { clipped = true; break; } a = a.parentElement; }
        if (!clipped) widest = Math.max(widest, Math.ceil(r.right));
      }
      return widest;""")


def test_phone_pages_forms_and_live_view(station, browsers):
    phone, _ = browsers("phone", PHONE)
    phone.set_script_timeout(15)
    url = station.url
    setup_admin(phone, url)

    # -- add a patient: the browser checks the identifier, the server's word is by the field ---
    by_id(phone, "add-patient").click()
    wait(phone, "the add-patient form", lambda d: by_id(d, "patient-dialog").is_displayed()
         and css(d, '#patient-form input[name="conditions"]'))
    fill(phone, "identifier", "bad id!")
    assert phone.execute_script("return document.querySelector('#patient-form [name=identifier]').validity.patternMismatch")
    fill(phone, "identifier", "PH-1")
    assert not phone.execute_script("return document.querySelector('#patient-form [name=identifier]').validity.patternMismatch")
    fill(phone, "birth_year", "2016")
    wait(phone, "the birth-year warning", lambda d: by_id(d, "birth-year-warning").is_displayed())
    assert "adults" in by_id(phone, "birth-year-warning").text
    from selenium.webdriver.support.ui import Select

    Select(css(phone, '#patient-form select[name="sex"]')[0]).select_by_value("F")
    assert page_width(phone) <= PHONE[0]
    by_id(phone, "save-patient").click()  # a warning, not a refusal: saved
    wait(phone, "the new patient's page", lambda d: "/patients/" in d.current_url and by_id(d, "patient-title").text == "PH-1")
    pid = phone.current_url.rstrip("/").rsplit("/", 1)[1]
    phone.get(url + "/patients")
    by_id(phone, "add-patient").click()
    wait(phone, "the add-patient form", lambda d: by_id(d, "patient-dialog").is_displayed()
         and css(d, '#patient-form input[name="conditions"]'))
    fill(phone, "identifier", "PH-1")
    fill(phone, "birth_year", "1950")
    Select(css(phone, '#patient-form select[name="sex"]')[0]).select_by_value("M")
    by_id(phone, "save-patient").click()
    slot = '#patient-form .field-error[data-for="identifier"]'
    wait(phone, "the refusal next to the identifier", lambda d: css(d, slot) and css(d, slot)[0].is_displayed())
    words = css(phone, slot)[0].text
    assert words[0].isupper() and "already used" in words, words
    css(phone, "#cancel-patient")[0].click()

    # -- every page fits the phone's width ------------------------------------------------------
    for path in PAGES:
        phone.get(url + path.format(pid=pid))
        time.sleep(1.0)
        assert page_width(phone) <= PHONE[0], (path, page_width(phone))
    assert "Page not found" in phone.page_source and "station.css" in phone.page_source  # the last one: unknown

    # -- the administrators' pages work through the existing API -----------------------------------
    phone.get(url + "/admin/users")
    wait(phone, "the users list", lambda d: len(css(d, "#users tbody tr")) == 1)
    by_id(phone, "add-user").click()
    fill(phone, "username", "ana")
    fill(phone, "password", "short")
    by_id(phone, "save-user").click()
    wait(phone, "the password refusal by its field", lambda d: css(d, '#user-form .field-error[data-for="password"]')[0].is_displayed())
    fill(phone, "password", "a long enough password")
    by_id(phone, "save-user").click()
    wait(phone, "the new user", lambda d: len(css(d, "#users tbody tr")) == 2)
    assert "can now sign in" in by_id(phone, "page-message").text

    # -- live view: Start is disabled from the tap; stale data greys at once --------------------------
    phone.get(url + f"/live?patient={pid}")
    wait(phone, "the live stream", lambda d: by_id(d, "conn").text == "live")
    wait(phone, "a body weight", lambda d: by_id(d, "force-n").text not in ("", "–"))
    assert api(phone, "POST", "/api/station/run", {"patient_id": int(pid), "protocol": "single-leg"})["status"] == 201
    wait(phone, "the Start button", lambda d: by_id(d, "btn-start").is_enabled(), timeout_s=30)
    assert not by_id(phone, "weight-split").is_displayed()  # on one leg the split says only which leg stands
    # the words to read come first, the controls right under them
    phone.execute_script("window.scrollTo(0, 0)")
    assert by_id(phone, "instructions").is_displayed()
    phone.execute_script("arguments[0].scrollIntoView({block: 'center'})", by_id(phone, "btn-start"))
    by_id(phone, "btn-start").click()
    assert phone.execute_script("return document.getElementById('btn-start').disabled")  # at once, no double tap
    wait(phone, "the recording", lambda d: by_id(d, "trial-state").get_attribute("data-state") == "recording", timeout_s=40)
    assert page_width(phone) <= PHONE[0]
    # while it records, the words give way: Stop is on the first screen, and the plate follows
    phone.execute_script("window.scrollTo(0, 0)")
    assert not by_id(phone, "instructions").is_displayed()
    stop_bottom = phone.execute_script("return document.getElementById('btn-stop').getBoundingClientRect().bottom")
    assert stop_bottom <= PHONE[1], stop_bottom
    assert phone.execute_script("return document.documentElement.scrollHeight") <= 3 * PHONE[1]
    station.relay.drop_all()
    wait(phone, "the values to go stale", lambda d: "stale" in by_id(d, "live-page").get_attribute("class"), timeout_s=5)
    assert by_id(phone, "force-n").text == "–"
    wait(phone, "the stream to resume", lambda d: by_id(d, "conn").text == "live", timeout_s=20)
    wait(phone, "fresh values", lambda d: "stale" not in by_id(d, "live-page").get_attribute("class"), timeout_s=10)
    api(phone, "POST", "/api/station/close")


def test_tablet_live_view_fits_the_screen(station, browsers):
    tablet, _ = browsers("tablet", TABLET)
    tablet.set_script_timeout(15)
    url = station.url
    setup_admin(tablet, url)
    created = api(tablet, "POST", "/api/patients", {"identifier": "TB-1", "birth_year": 1950, "sex": "F"})
    pid = created["body"]["id"]
    tablet.get(url + f"/live?patient={pid}")
    wait(tablet, "the live stream", lambda d: by_id(d, "conn").text == "live")
    assert by_id(tablet, "protocol-select").get_attribute("value") == "mctsib"
    by_id(tablet, "open-run").click()
    wait(tablet, "the first trial's instructions", lambda d: by_id(d, "trial-state").get_attribute("data-state") == "instructions")
    assert page_width(tablet) <= TABLET[0]
    # the words to read aloud are on the screen, to their last line
    bottom = tablet.execute_script("return document.getElementById('instructions').getBoundingClientRect().bottom")
    assert bottom <= TABLET[1], bottom
    # the overlay over the trace does not hide the feet: it stays in the canvas's top band
    overlay = tablet.execute_script("const r = document.querySelector('.overlay').getBoundingClientRect();"
                                    "const c = document.getElementById('trace').getBoundingClientRect();"
                                    "return [r.height, c.height]")
    assert overlay[0] < overlay[1] * 0.35, overlay
    # the live view in the plate frame: the plate's outline, the stance's two feet, the centre of
    # pressure drawn where it is on the plate, and a view that never re-centres
    by_id(tablet, "btn-start").click()
    wait(tablet, "the recording", lambda d: by_id(d, "trial-state").get_attribute("data-state") == "recording", timeout_s=40)
    drawn = """const c = document.getElementById('trace'); const [x, y, w, h] = c.dataset.plate.split(',').map(Number);
      const px = (a, b) => Array.from(c.getContext('2d').getImageData(a, b, 1, 1).data);
      return {plate: [x, y, w, h], feet: c.dataset.feet, cop: c.dataset.cop,
              outside: px(x - 6, Math.round(y + h / 2)), inside: px(x + 4, y + 4)};"""
    first = tablet.execute_script(drawn)
    x, y, w, h = first["plate"]
    assert w > 100 and h > 100 and first["feet"] == "2", first  # mCTSIB: feet together
    assert first["outside"][3] == 0 and first["inside"][3] == 255, first  # the plate is drawn where it says
    wait(tablet, "the centre of pressure drawn", lambda d: d.execute_script(drawn)["cop"])
    cop = [int(v) for v in tablet.execute_script(drawn)["cop"].split(",")]
    assert x < cop[0] < x + w and y < cop[1] < y + h, (cop, first)  # on the plate, where the person stands
    time.sleep(1.0)
    later = tablet.execute_script(drawn)
    assert later["plate"] == first["plate"]  # the plate stays put while the person sways
    # after a trial, the results are one tap away without scrolling
    wait(tablet, "the first trial to end", lambda d: by_id(d, "results-link").is_displayed(), timeout_s=90)
    link_bottom = tablet.execute_script("return document.getElementById('results-link').getBoundingClientRect().bottom")
    assert link_bottom <= TABLET[1], link_bottom
    api(tablet, "POST", "/api/station/close")
