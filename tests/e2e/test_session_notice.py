"""The inactivity notice (shown 90 s before the automatic logout) moves nothing on the page, and never
comes while a trial records, in headless Chromium against the real station, on a tablet (1180×820) and
a phone (390×844).

It was a band under the header that pushed the whole page down when it came: on the live view
during a trial, Stop moved under the clinician's finger. (Shown over the top of the page instead, it
covered what was there: the trial page's export buttons.) It now takes the brand's place in the
header, which always has its room. With a 105-s timeout (1.75 min, the clinic setting) the notice
comes 15 s after a page's last request, except on the live view while a trial counts down or records:
its stream then keeps the clinician signed in (a review found a 1-min timeout signing the tablet out
in the middle of a treadmill session, with Stop out of reach), and the timeout runs again from the
trial's end. The test follows a 30-s quiet-stance trial without the notice, then measures every control of
the page (its place on the screen, and whether a tap at its centre reaches it) before the notice
comes, once it is up, and once "Stay signed in" has put it away: on the live view once the trial is
recorded, and on that trial's page.
"""

from __future__ import annotations

import time

import pytest

from test_dashboard import ADMIN, PHONE, TABLET, api, at, by_id, css, page_width, sign_in, signed_in_again, wait

pytestmark = pytest.mark.e2e

CONTROLS = """
const out = {};
for (const e of document.querySelectorAll('a[href], button, select, input, summary')) {
  if (e.closest('#session-notice')) continue;
  const r = e.getBoundingClientRect();
  if (!r.width || !r.height || getComputedStyle(e).visibility === 'hidden') continue;
  const key = e.id || (e.tagName + ' ' + (e.getAttribute('href') || e.textContent.trim())).slice(0, 60);
  const x = r.left + r.width / 2, y = r.top + r.height / 2;
  let reached = null;  // off the screen: not tappable there anyway
  if (x >= 0 && y >= 0 && x < innerWidth && y < innerHeight) {
    const h = document.elementFromPoint(x, y);
    reached = !!h && (h === e || e.contains(h));
  }
  out[key] = {place: [Math.round(r.left), Math.round(r.top), Math.round(r.width), Math.round(r.height)], reached};
}
return {controls: out, scrollY: window.scrollY};
"""
"""Every control shown on the page: its box on the screen (px) and whether a tap at its centre
reaches it (null when the centre is off the screen)."""

NOTICE = """
const n = document.getElementById('session-notice'); const r = n.getBoundingClientRect();
const b = document.getElementById('session-stay').getBoundingClientRect();
const h = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
return {shown: r.width > 0 && getComputedStyle(n).visibility === 'visible',
        text: document.getElementById('session-notice-text').textContent,
        inside: r.top >= 0 && r.left >= 0 && r.right <= innerWidth && r.bottom <= innerHeight,
        stayReached: !!h && h.closest('#session-stay') !== null}
"""


STATE_AND_NOTICE = """
const n = document.getElementById('session-notice');
return {state: document.getElementById('trial-state').dataset.state,
        shown: n.getBoundingClientRect().width > 0 && getComputedStyle(n).visibility === 'visible'};
"""
"""The trial's state the page shows and whether the notice is up, read at one moment."""


def notice(driver) -> dict:
    return driver.execute_script(NOTICE)


def controls(driver) -> dict:
    driver.execute_script("window.scrollTo(0, 0)")
    return driver.execute_script(CONTROLS)


def assert_nothing_moved(name: str, before: dict, after: dict, must: tuple[str, ...]) -> None:
    """The same controls in the same places, each one reachable before still reachable, and the
    ``must`` ones (named by id) reachable."""
    assert before["scrollY"] == after["scrollY"] == 0, (name, before["scrollY"], after["scrollY"])
    moved = {k: (v["place"], after["controls"].get(k, {}).get("place")) for k, v in before["controls"].items()
             if after["controls"].get(k, {}).get("place") != v["place"]}
    assert not moved, (name, moved)
    covered = [k for k, v in before["controls"].items() if v["reached"] and not after["controls"][k]["reached"]]
    assert not covered, (name, covered)
    for key in must:
        assert after["controls"][key]["reached"], (name, key, after["controls"][key])


def touch(driver) -> None:
    """A user action on the page (counts as activity), then the page told the time left."""
    done = driver.execute_async_script(
        "const done = arguments[0]; Station.api('GET', '/api/session')"
        ".then(() => Station.api('GET', '/api/session/remaining', undefined, {background: true}))"
        ".then((doc) => { Station.sessionLeft(doc.expires_in_s); done(true); }).catch((e) => done(String(e)));")
    assert done is True, done


def test_the_inactivity_notice_moves_and_covers_nothing(recording_station, browsers):
    station = recording_station.station
    operator, _ = browsers("operator")
    operator.set_script_timeout(15)
    url = station.url
    signed_in_again(operator, url)
    created = api(operator, "POST", "/api/patients", {"identifier": "IDLE-001", "birth_year": 1948, "sex": "F"})
    assert created["status"] == 201, created
    pid = created["body"]["id"]
    clinic = api(operator, "GET", "/api/settings")["body"]["settings"]["session_timeout_min"]
    clinic_timeout_min = clinic["value"] if clinic["overridden"] else None  # None: the default again
    assert api(operator, "PATCH", "/api/settings", {"session_timeout_min": 1.75})["status"] == 200
    # quiet stance: one 30-s trial, no rest after it (a rest's count, under the controls, moves what is below)
    assert api(operator, "POST", "/api/station/run", {"patient_id": pid, "protocol": "quiet-stance"})["status"] == 201

    # two clinicians follow the test, on a tablet and on a phone, and touch nothing
    watchers = {}
    for name, size in (("tablet", TABLET), ("phone", PHONE)):
        driver, _ = browsers(name, size)
        driver.set_script_timeout(15)
        driver.get(url + "/login")
        sign_in(driver, url, ADMIN)
        wait(driver, f"the {name}'s patients page", at("/patients"))
        driver.get(f"{url}/live?patient={pid}")
        wait(driver, f"the live view on the {name}", lambda d: by_id(d, "conn").text == "live"
             and by_id(d, "btn-start").is_enabled(), timeout_s=30)
        watchers[name] = driver
    # the operator starts the trial, which records (30 s) when the live views' notices would come
    assert api(operator, "POST", "/api/station/start")["status"] in (200, 201, 202)
    for name, driver in watchers.items():
        wait(driver, f"the recording on the {name}", lambda d: by_id(d, "trial-state").get_attribute("data-state") == "recording",
             timeout_s=20)
    # Both clinicians' last touch now, together (as "Stay signed in" does), once the recording shows: the
    # notice would come 15 s after it, within the 30-s recording, were the session not held by the trial.
    for driver in watchers.values():
        touch(driver)
    touched = time.monotonic()
    recording = {name: True for name in watchers}
    while any(recording.values()):
        for name, driver in watchers.items():
            # the state and the notice read together: once the trial has ended the notice may come at once (the
            # session's last activity the stream stored may be ~15 s old then: touch_interval_s and the stream's
            # 5-s check), and read one after the other, the trial's end fell between them (s32)
            seen = driver.execute_script(STATE_AND_NOTICE)
            recording[name] = seen["state"] in ("countdown", "recording")
            assert not (recording[name] and seen["shown"]), (name, seen, f"{time.monotonic() - touched:.0f} s after the last touch")
        assert time.monotonic() - touched < 60, "the trial did not end"
        time.sleep(0.5)
    assert time.monotonic() - touched > 20, "the recording ended before the notice would have come"

    # the live view once the trial is recorded (the test finished): the notice comes again, and moves nothing
    trial_ids = wait(watchers["tablet"], "the trial recorded", lambda d: [
        li.get_attribute("data-trial-id") for li in css(d, "#trial-list li[data-trial-id]")], timeout_s=40)
    for name, driver in watchers.items():
        wait(driver, f"the test finished on the {name}", lambda d: by_id(d, "results-link").is_displayed(), timeout_s=20)
    time.sleep(1.0)  # drawn
    for driver in watchers.values():
        touch(driver)
    before = {}
    for name, driver in watchers.items():
        assert not notice(driver)["shown"], name
        before[name] = controls(driver)
        assert before[name]["controls"]["btn-close"]["reached"], (name, before[name]["controls"]["btn-close"])
    for name, driver in watchers.items():
        shown = wait(driver, f"the notice on the {name}", lambda d: notice(d)["shown"] and notice(d), timeout_s=40)
        assert "signed out in" in shown["text"] and shown["inside"] and shown["stayReached"], (name, shown)
        assert_nothing_moved(f"live view, {name}", before[name], controls(driver), ("btn-close",))
        assert page_width(driver) <= driver.execute_script("return window.innerWidth"), name

    # the trial's page
    for name, driver in watchers.items():
        driver.get(f"{url}/trials/{trial_ids[0]}")
        wait(driver, f"the trial page on the {name}", lambda d: css(d, "#plots svg.timeseries") and by_id(d, "validity").text)
    time.sleep(1.5)  # drawn
    for name, driver in watchers.items():
        assert not notice(driver)["shown"], name
        before[name] = controls(driver)
        assert before[name]["controls"]["export-csv"]["reached"], name
    for name, driver in watchers.items():
        wait(driver, f"the notice on the trial page on the {name}", lambda d: notice(d)["shown"], timeout_s=40)
        up = controls(driver)
        assert_nothing_moved(f"trial page, {name}", before[name], up, ("export-csv",))
        assert page_width(driver) <= driver.execute_script("return window.innerWidth"), name
        # "Stay signed in": the notice goes, and nothing moves either
        by_id(driver, "session-stay").click()
        wait(driver, f"the notice gone on the {name}", lambda d: not notice(d)["shown"])
        assert_nothing_moved(f"trial page after 'Stay signed in', {name}", up, controls(driver), ("export-csv",))
    # the station as the next test on it expects (through the tablet: the operator, idle since the start, may be signed out)
    tablet = watchers["tablet"]
    assert api(tablet, "PATCH", "/api/settings", {"session_timeout_min": clinic_timeout_min})["status"] == 200
    recording_station.left_free(tablet)

