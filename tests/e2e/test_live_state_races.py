"""The live page follows the station's state whatever order its answers and events arrive in, in
headless Chromium against the real station (a virtual patient who follows the quiet stance).

Review s24 F17: on a busy station, after one press of Start the page kept "READY TO START" with a
green Start for minutes while the station waited for the patient to stand still; every further press
answered a red "No trial is waiting to start." and the page never corrected itself. Start's answer
(the station's status taken as the command was taken, "instructions") arrived after the trial's
"waiting" event and was drawn over it. Now a status older than the newest event drawn is left, and a
command refused because the station moved on reads the status again, draws it and says where the
station is.

The browser is made to deliver in the bad order by a script the page loads first (``HOLD``): Start's
answer held until the page shows the waiting, and the trial events held (as a busy station's
stream would deliver them late)."""

from __future__ import annotations

import time

import pytest

from test_dashboard import PHONE, api, at, by_id, sign_in, signed_in_again, wait, ADMIN

pytestmark = pytest.mark.e2e

HOLD = """
window.__hold = {startReply: false, afterWaiting: false, trial: false, queue: [], replied: false};
const realFetch = window.fetch;
window.fetch = async function (input, init) {
  const response = await realFetch.apply(this, arguments);
  const h = window.__hold;
  if (h.startReply && String(input).endsWith('/api/station/start') && init && init.method === 'POST') {
    h.startReply = false;
    // the answer comes after the trial's next state is on the screen
    await new Promise((done) => { const look = () => { const b = document.getElementById('trial-state');
      if (b && b.dataset.state === 'waiting') setTimeout(done, 100); else setTimeout(look, 20); }; look(); });
    setTimeout(() => { h.replied = true; }, 200);
  }
  return response;
};
const RealEventSource = window.EventSource;
window.EventSource = function (url, options) {
  const source = new RealEventSource(url, options);
  const add = source.addEventListener.bind(source);
  source.addEventListener = (name, listener, o) => add(name, name !== 'trial' ? listener : (ev) => {
    const h = window.__hold;
    if (h.trial || h.queue.length) { h.queue.push(() => listener(ev)); return; }
    listener(ev);
    const doc = JSON.parse(ev.data);
    if (h.afterWaiting && doc.kind === 'state' && doc.data.state === 'waiting') h.trial = true;  // the rest later
  }, o);
  return source;
};
Object.assign(window.EventSource, {CONNECTING: 0, OPEN: 1, CLOSED: 2});
window.__release = () => { const h = window.__hold; h.trial = false; h.afterWaiting = false;
  const queue = h.queue; h.queue = []; queue.forEach((f) => f()); };
"""
"""Loaded before the page's scripts: ``__hold.startReply`` holds Start's answer until the page shows
"waiting"; ``__hold.afterWaiting`` holds the trial events after the "waiting" one, ``__hold.trial``
every trial event, until ``__release()``."""


def _held_browser(browsers, name, size):
    driver, _ = browsers(name, size)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HOLD})
    return driver


def _badge(driver) -> str:
    return by_id(driver, "trial-state").get_attribute("data-state")


def _start_enabled(driver) -> bool:
    return by_id(driver, "btn-start").is_enabled()


def test_the_live_page_keeps_the_stations_state_when_answers_come_late_or_a_start_is_refused(recording_station, browsers, shots):
    station = recording_station.station
    url = station.url
    tablet = _held_browser(browsers, "tablet", (1180, 820))
    signed_in_again(tablet, url)
    created = api(tablet, "POST", "/api/patients", {"identifier": "RACE-01", "birth_year": 1950, "sex": "F"})
    assert created["status"] == 201, created
    patient_id = created["body"]["id"]
    opened = api(tablet, "POST", "/api/station/run", {"patient_id": patient_id, "protocol": "quiet-stance",
                                                       "conditions": ["eo"]})
    assert opened["status"] == 201, opened
    tablet.get(f"{url}/live?patient={patient_id}")
    wait(tablet, "the Start button", _start_enabled, timeout_s=30)

    # Start's answer ("instructions", taken as the command was) arrives after the "waiting" event
    tablet.execute_script("window.__hold.startReply = true; window.__hold.afterWaiting = true;")
    by_id(tablet, "btn-start").click()
    wait(tablet, "Start's late answer drawn", lambda d: d.execute_script("return window.__hold.replied"), timeout_s=20)
    assert _badge(tablet) == "waiting", by_id(tablet, "trial-state").text  # was "ready to start"
    assert by_id(tablet, "state-words").text == "Waiting for the patient to stand still"
    assert not _start_enabled(tablet)
    tablet.save_screenshot(str(shots / "late-answer-tablet.png"))
    tablet.execute_script("window.__release()")
    wait(tablet, "the recording", lambda d: _badge(d) == "recording", timeout_s=30)
    by_id(tablet, "btn-stop").click()
    wait(tablet, "Start for the next attempt", _start_enabled, timeout_s=30)

    # Another screen starts the trial while this page's events are late: its Start is refused, and the
    # page reads the station's state, draws it and says where the station is
    phone = _held_browser(browsers, "phone", PHONE)
    phone.get(url + "/login")
    sign_in(phone, url, ADMIN)
    # signed in before it goes on: the sign-in's own redirect to the patients page, still on its way, took the phone
    # there after the live view was asked for (s31: the phone stayed on the patients page, no Start button)
    wait(phone, "the phone signed in", at("/patients"))
    phone.get(f"{url}/live?patient={patient_id}")
    wait(phone, "the Start button on the phone", _start_enabled, timeout_s=30)
    phone.execute_script("window.__hold.trial = true")
    started = api(tablet, "POST", "/api/station/start")
    assert started["status"] == 200, started
    time.sleep(0.5)
    assert _badge(phone) == "instructions" and _start_enabled(phone)  # its events held: the page cannot know yet
    by_id(phone, "btn-start").click()
    wait(phone, "the refusal's words", lambda d: by_id(d, "message").text.startswith("The trial had already started: "),
         timeout_s=20)
    words = by_id(phone, "message").text
    state = _badge(phone)
    assert state in ("waiting", "countdown", "recording"), state
    assert not by_id(phone, "page-error").is_displayed()  # not "No trial is waiting to start." in red
    assert not _start_enabled(phone)
    expected = {"waiting": "The trial had already started: the station is waiting for the patient to stand still on "
                           "the plate. The countdown starts by itself then; Stop cancels this start.",
                "countdown": "The trial had already started: the station is counting down; the recording starts in "
                             "a moment.",
                "recording": "The trial had already started: the trial is recording."}[state]
    assert words == expected, words
    message_box = phone.execute_script("const r = document.getElementById('message').getBoundingClientRect();"
                                       "const bar = document.getElementById('controls').getBoundingClientRect();"
                                       "return [r.top, r.bottom, bar.top, innerHeight]")
    assert message_box[0] >= 0 and message_box[1] <= min(message_box[2], message_box[3]), message_box  # on the screen
    phone.save_screenshot(str(shots / "refused-start-phone.png"))
    phone.execute_script("window.__release()")
    wait(phone, "the recording on the phone", lambda d: _badge(d) == "recording", timeout_s=30)
    wait(tablet, "the recording on the tablet", lambda d: _badge(d) == "recording", timeout_s=30)
    tablet.save_screenshot(str(shots / "recording-tablet.png"))
    phone.execute_script("window.scrollTo(0, 0)")
    phone.save_screenshot(str(shots / "recording-phone-top.png"))
    recording_station.left_free(tablet)
