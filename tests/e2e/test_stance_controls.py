"""A standing balance test on a phone (390×844): Start, Stop and End test keep one place for the
whole test, on the screen wherever the page is scrolled, and while the trial records its count
("Recording 12 / 30 s") is on the screen with Stop, in headless Chromium against the real station
(the Romberg test, a virtual patient who follows it). A tablet follows the same test.

They were in the page under the words to read: Start was below the first screen, and at the tap on
Start the words gave way and Stop jumped 390 px up, then back down after the trial. They now sit in
the bar at the bottom of the screen that a walk test had (the same rule, for every open test).

The condition recording ("Eyes open") is on the screen with the count on the phone and on the tablet,
and neither covers the plate's orientation labels (outside review, item 5; was
tests/e2e/test_phone_fixes_live_condition.py, the same test on a station of its own). Before, a phone
showed the plate, "Recording 3 / 30 s" and Stop, but which condition was recording only ~1100 px
further down ("Eyes open, trial 1, attempt 1"); and the count sat over the plate's "patient's right →"
(drawn in the canvas, 4-20 px from its top). Now the condition and the count are a line each above
the plate.
"""

from __future__ import annotations

import pytest

from test_dashboard import ADMIN, PHONE, TABLET, api, at, by_id, css, page_width, select_protocol, sign_in, signed_in_again, wait

pytestmark = pytest.mark.e2e

WATCH = """
window.__watch = {places: {}, countOff: [], stopOff: []};
const ids = ['btn-start', 'btn-stop', 'btn-close'];
const reached = (e) => { const b = e.getBoundingClientRect(); const h = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
  return !!h && (h === e || e.contains(h)); };
function look() {
  const s = document.getElementById('trial-state').dataset.state;
  const place = ids.map((id) => { const b = document.getElementById(id).getBoundingClientRect();
    return [b.left, b.top, b.width, b.height].map(Math.round).join(','); }).join(' / ');
  window.__watch.places[place] = (window.__watch.places[place] || []).concat(s).slice(-3);
  if (s === 'recording') {
    const count = document.getElementById('state-words'); const c = count.getBoundingClientRect();
    const bar = document.getElementById('controls').getBoundingClientRect();
    const h = document.elementFromPoint(c.left + c.width / 2, c.top + c.height / 2);
    // the count on the screen, above the controls, nothing over it (the overlay lets taps through to the plate)
    const onScreen = c.height > 0 && c.top >= 0 && c.bottom <= Math.min(innerHeight, bar.top) && !!h && h.closest('.trace-card') !== null;
    if (window.scrollY === 0 && !onScreen) window.__watch.countOff.push([count.textContent, c.top, c.bottom, bar.top]);
    const stop = document.getElementById('btn-stop');
    if (!(reached(stop) && !stop.disabled)) window.__watch.stopOff.push(window.scrollY);
  }
  requestAnimationFrame(look);
}
requestAnimationFrame(look);
"""
"""Samples, at every animation frame: where Start, Stop and End test are on the screen (viewport
px), and while the trial records, whether its count is on the screen (the page scrolled to its
top) and whether a tap on Stop reaches it (wherever the page is scrolled)."""


LABEL_BAND_PX = 22
"""The plate's labels ("toes ↑", "patient's right →", 12 px, baseline 16 px) fill the canvas's top 22 px."""

MEASURE = """
const box = (e) => { if (!e) return null; const r = e.getBoundingClientRect();
  return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, text: e.textContent.trim()}; };
// a phone's controls sit in a bar fixed at the bottom of the screen: the screen ends above it
let bar = null;
for (let e = document.getElementById('controls'); e && e !== document.body; e = e.parentElement)
  if (getComputedStyle(e).position === 'fixed') { bar = e.getBoundingClientRect(); break; }
return {count: box(document.getElementById('state-words')), condition: box(document.getElementById('state-condition')),
        canvas: box(document.getElementById('trace')), state: document.getElementById('trial-state').dataset.state,
        screenBottom: bar ? Math.min(innerHeight, bar.top) : innerHeight, W: innerWidth, scrollY};"""
"""Where the count, the condition line and the plate's canvas are on the screen (viewport px), and where the
screen ends above the controls' bar."""


def _check_condition_line(driver, width: int) -> dict:
    m = driver.execute_script(MEASURE)
    assert m["state"] == "recording", m
    assert m["count"]["text"].startswith("Recording "), m
    band = (m["canvas"]["top"], m["canvas"]["top"] + LABEL_BAND_PX)
    for what in ("count", "condition"):
        b = m[what]
        assert b is not None, f"no {what} on the page"
        # on the screen (above a phone's bar of controls), not sideways
        assert 0 <= b["top"] and b["bottom"] <= m["screenBottom"] and b["bottom"] > b["top"], (what, m)
        assert 0 <= b["left"] and b["right"] <= width, (what, m)
        # clear of the plate's labels' band
        assert b["bottom"] <= band[0] or b["top"] >= band[1], (what, band, m)
    assert m["condition"]["text"].startswith("Eyes open"), m  # the condition, said where the count is
    assert abs(m["condition"]["bottom"] - m["count"]["top"]) < 30, m  # the condition with the count, one under the other
    return m


def test_stance_controls_keep_one_place_on_a_phone(recording_station, browsers, shots):
    station = recording_station.station
    phone, _ = browsers("phone", PHONE)
    phone.set_script_timeout(15)
    url = station.url
    signed_in_again(phone, url)
    created = api(phone, "POST", "/api/patients", {"identifier": "STANCE-01", "birth_year": 1947, "sex": "M"})
    assert created["status"] == 201, created
    tablet, _ = browsers("tablet")
    tablet.get(url + "/login")
    sign_in(tablet, url, ADMIN)
    wait(tablet, "the tablet's patients page", at("/patients"))
    phone.get(f"{url}/live?patient={created['body']['id']}")
    wait(phone, "the live stream", lambda d: by_id(d, "conn").text == "live")

    select_protocol(phone, "romberg")
    phone.execute_script("arguments[0].scrollIntoView({block: 'center'})", by_id(phone, "open-run"))
    by_id(phone, "open-run").click()
    wait(phone, "the Start button", lambda d: by_id(d, "btn-start").is_enabled(), timeout_s=30)
    phone.execute_script("window.scrollTo(0, 0)")
    phone.execute_script(WATCH)
    # the words to read at the top of the page; Start, Stop and End test on the first screen, reachable
    assert by_id(phone, "instructions").is_displayed()
    first = phone.execute_script(
        "const r = (id) => document.getElementById(id).getBoundingClientRect();"
        "const hit = (id) => { const b = r(id); const e = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);"
        " return !!e && e.closest('#' + id) !== null; };"
        "return {start: [r('btn-start').top, r('btn-start').bottom], close: [r('btn-close').top, r('btn-close').bottom],"
        " words: r('instructions').top, reached: hit('btn-start') && hit('btn-close')}")
    for what in ("start", "close"):
        assert 0 <= first[what][0] and first[what][1] <= PHONE[1], first
    assert first["reached"] and first["words"] < first["start"][0], first
    assert page_width(phone) <= PHONE[0]
    # before the start: the condition due next, on the line above the plate
    next_words = phone.execute_script("const e = document.getElementById('state-condition'); return e ? e.textContent : null")
    assert next_words is not None and next_words.startswith("Next: Eyes open"), next_words
    tablet.get(f"{url}/live")
    wait(tablet, "the Start button on the tablet", lambda d: by_id(d, "btn-start").is_enabled(), timeout_s=30)

    by_id(phone, "btn-start").click()
    wait(phone, "the recording", lambda d: by_id(d, "trial-state").get_attribute("data-state") == "recording", timeout_s=40)
    wait(phone, "a few seconds of recording", lambda d: by_id(d, "state-words").text.startswith("Recording ")
         and int(by_id(d, "state-words").text.split()[1]) >= 3, timeout_s=15)
    assert page_width(phone) <= PHONE[0]
    # the condition recording with the count, clear of the plate's labels, on the phone and on the tablet
    wait(tablet, "the recording on the tablet", lambda d: by_id(d, "state-words").text.startswith("Recording "), timeout_s=15)
    for driver, size, name in ((phone, PHONE, "phone"), (tablet, TABLET, "tablet")):
        driver.execute_script("window.scrollTo(0, 0)")
        if name == "tablet":
            driver.execute_script("document.querySelector('.trace-card').scrollIntoView({block: 'nearest'})")
        print(name, _check_condition_line(driver, size[0]))
        driver.save_screenshot(str(shots / f"live-condition-{name}.png"))
        assert page_width(driver) <= size[0]
    # scrolled to the end of the page and back while it records: Stop stays where it was, reachable
    phone.execute_script("window.scrollTo(0, document.documentElement.scrollHeight)")
    wait(phone, "a frame or two", lambda d: d.execute_script(
        "return new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))"))
    phone.execute_script("window.scrollTo(0, 0)")

    wait(phone, "the first trial's result", lambda d: "Trial complete" in by_id(d, "message").text
         and by_id(d, "trial-state").get_attribute("data-state") == "instructions", timeout_s=50)
    wait(phone, "the Start button for the second trial", lambda d: by_id(d, "btn-start").is_enabled(), timeout_s=20)
    assert len(css(phone, "#trial-list li[data-trial-id]")) == 1
    watch = phone.execute_script("return window.__watch")
    assert len(watch["places"]) == 1, watch["places"]  # one place for Start, Stop and End test, all along
    assert not watch["countOff"], watch["countOff"][:5]  # the count on the screen with Stop
    assert not watch["stopOff"], watch["stopOff"][:5]  # Stop reachable wherever the page was scrolled
    recording_station.left_free(phone)
