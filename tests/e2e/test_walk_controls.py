"""The live view's controls through a whole walk protocol with an invalid attempt, in headless
Chromium against the real station (scenario ``walk-stop``: in the 3-metre backward walk from
standing the virtual patient stops for good 3 s into the first attempt, a repeat is offered, then
walks the repeat and the second trial).

On a tablet (1180×820) Start, Stop and End test keep one place for the whole protocol (they moved
32 px at the go beep and 440 px after the invalid attempt, Stop partly under the screen's edge, and
the "Results so far" link came where Start had been), all on the screen; the invalid attempt's
reason is said once (it was said three times); each line of the trial list is its own (two read
"... (attempt 1)"); "Get ready" is not under the waiting's message or the rest's count; a gate's
time says it counts from the go; between trials the timer says it holds the last trial's time. On a
phone (390×844) following the same test, the walk timer comes first (above the words to read and
the controls), the walk timer and Stop are on the screen together while the patient walks, and the
status strip says the panel's words in full.

The attempt the patient does not finish (was tests/e2e/test_walk_stopped.py, the same scenario and
protocol in a station of its own): it ends soon after the last step (not at the 60 s limit); the live
view says the patient stopped and shows no time as if it were a result; before the repeat, the visit
results read "walk not completed" and the attempt's page shows the steps up to where the patient
stopped and no sway plots.
"""

from __future__ import annotations

import time

import pytest

from test_dashboard import ADMIN, PHONE, TABLET, api, at, by_id, css, select_protocol, setup_admin, sign_in, wait

pytestmark = pytest.mark.e2e

WATCH = """
window.__watch = {places: {}, leftovers: [], rests: []};
const ids = ['btn-start', 'btn-stop', 'btn-close'];
function look() {
  const place = ids.map((id) => Math.round(document.getElementById(id).getBoundingClientRect().top + window.scrollY)).join('/');
  const s = document.getElementById('trial-state').dataset.state;
  window.__watch.places[place] = (window.__watch.places[place] || []).concat(s).slice(-3);
  const msg = document.getElementById('message').textContent;
  if (s === 'countdown' && msg) window.__watch.leftovers.push(msg);
  const rest = document.getElementById('rest-timer');
  if (['waiting', 'countdown', 'recording'].includes(s) && !rest.hidden) window.__watch.rests.push(s + ': ' + rest.textContent);
  requestAnimationFrame(look);
}
requestAnimationFrame(look);
"""
"""Samples, at every animation frame, where Start, Stop and End test are on the page (their tops,
page coordinates), the message shown during "Get ready" and the rest's count shown once the attempt
has started."""


def controls_in_view(driver) -> dict:
    return driver.execute_script(
        "const r = (id) => document.getElementById(id).getBoundingClientRect();"
        "return {start: r('btn-start').top, stop: r('btn-stop').bottom, close: r('btn-close').bottom,"
        " link: document.getElementById('results-link').hidden ? null : [r('results-link').top, r('results-link').bottom]}")


def test_walk_controls_keep_their_place_and_the_reason_is_said_once(station_for, browsers, shots):
    station = station_for("walk-stop")
    tablet, _downloads = browsers("tablet")
    tablet.set_script_timeout(15)
    url = station.url
    setup_admin(tablet, url)
    created = api(tablet, "POST", "/api/patients", {"identifier": "CTRL-001", "birth_year": 1944, "sex": "M"})
    assert created["status"] == 201, created
    patient_id = created["body"]["id"]

    tablet.get(f"{url}/live?patient={patient_id}")
    wait(tablet, "the live stream", lambda d: by_id(d, "conn").text == "live")

    select_protocol(tablet, "backward-walk-3m")
    by_id(tablet, "open-run").click()
    wait(tablet, "the Start button", lambda d: by_id(d, "btn-start").is_enabled(), timeout_s=30)
    tablet.execute_script("window.scrollTo(0, 0)")
    tablet.execute_script(WATCH)
    before = controls_in_view(tablet)
    assert before["close"] <= TABLET[1], before  # End test on the screen

    # a phone follows the same test
    phone, _ = browsers("phone", PHONE)
    phone.get(f"{url}/login")
    sign_in(phone, url, ADMIN)
    wait(phone, "the phone's patients page", at("/patients"))
    phone.get(f"{url}/live?patient={patient_id}")
    wait(phone, "the live stream on the phone", lambda d: by_id(d, "conn").text == "live")
    wait(phone, "the walk panel on the phone", lambda d: by_id(d, "walk-card").is_displayed(), timeout_s=20)
    # the status strip's panel words whole ("Panel none (use th…" was cut)
    panel = phone.execute_script("const i = document.getElementById('h-panel').closest('.item');"
                                 "return [i.scrollWidth, i.clientWidth, i.textContent]")
    assert panel[0] <= panel[1] + 1 and "use this screen" in panel[2], panel
    # the walk timer comes first, above the words to read and the controls, on the first screen
    timer_y = by_id(phone, "walk-timer").rect["y"]
    assert timer_y < by_id(phone, "btn-start").rect["y"] and timer_y < by_id(phone, "run-title").rect["y"]
    assert timer_y + by_id(phone, "walk-timer").rect["height"] < PHONE[1]

    # -- attempt 1: the patient stops; a repeat is offered ---------------------------------------------
    by_id(tablet, "btn-start").click()
    started = time.monotonic()
    wait(phone, "the walk on the phone", lambda d: by_id(d, "trial-state").get_attribute("data-state") == "recording",
         timeout_s=40)
    phone.execute_script("window.scrollTo(0, 0)")
    seen = phone.execute_script(
        "const r = (id) => document.getElementById(id).getBoundingClientRect();"
        "const hit = (id) => { const b = r(id); const e = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);"
        " return !!e && (e.id === id || e.closest('#' + id) !== null); };"
        "return {timer: [r('walk-timer').top, r('walk-timer').bottom], stop: [r('btn-stop').top, r('btn-stop').bottom],"
        " start: [r('btn-start').top, r('btn-start').bottom], stopEnabled: !document.getElementById('btn-stop').disabled,"
        " stopOnTop: hit('btn-stop'), timerOnTop: hit('walk-timer')}")
    for what in ("timer", "stop", "start"):  # the timer and Start/Stop on one screen, unscrolled
        assert 0 <= seen[what][0] and seen[what][1] <= PHONE[1], seen
    assert seen["stopEnabled"] and seen["stopOnTop"] and seen["timerOnTop"], seen  # nothing covers them
    # the attempt the patient did not finish, in the visit results' words on the phone too (not "invalid", which
    # reads as a fault of the recording)
    wait(phone, "the attempt on the phone", lambda d: "walk not completed" in by_id(d, "trial-list").text, timeout_s=50)
    phone.save_screenshot(str(shots / "walk_not_completed_phone.png"))
    assert "invalid" not in by_id(phone, "trial-list").text.lower()
    phone.quit()

    wait(tablet, "the attempt the patient did not finish", lambda d: "walk not completed" in by_id(d, "trial-list").text,
         timeout_s=50)
    assert time.monotonic() - started < 40, "the attempt must end soon after the last step, not at the 60 s limit"
    assert "stopped walking" in by_id(tablet, "walk-result").text
    assert by_id(tablet, "walk-result").text.startswith("Last trial") and "Walk not completed: " in by_id(tablet, "walk-result").text
    assert "invalid" not in (by_id(tablet, "trial-list").text + by_id(tablet, "walk-result").text).lower()
    assert "invalid" not in by_id(tablet, "message").text.lower(), by_id(tablet, "message").text
    tablet.save_screenshot(str(shots / "walk_not_completed_tablet.png"))
    assert by_id(tablet, "walk-timer").text == "–"  # no time reads as a result
    wait(tablet, "the repeat offered", lambda d: "Repeat offered" in by_id(d, "message").text, timeout_s=20)
    wait(tablet, "the Start button for the repeat", lambda d: by_id(d, "btn-start").is_enabled(), timeout_s=30)
    page_text = tablet.execute_script("return document.body.innerText")
    assert page_text.count("stopped walking") == 1, page_text  # the reason, once (with the result)
    assert "stopped walking" in by_id(tablet, "walk-result").text
    label = tablet.execute_script("return document.getElementById('walk-timer-label').textContent")
    assert label.startswith("Last trial"), label  # the timer holds the last attempt's (no) time, and says so
    tablet.execute_script("window.scrollTo(0, 0)")
    after = controls_in_view(tablet)
    assert after["close"] <= TABLET[1], after
    # the results link never where Start (or any control) was
    assert after["link"] and after["link"][0] >= before["close"], (before, after)

    # -- before the repeat, on another tablet: the visit's results and the attempt's page -------------------
    reviewer, _ = browsers("reviewer")
    reviewer.get(f"{url}/login")
    sign_in(reviewer, url, ADMIN)
    wait(reviewer, "the reviewer's patients page", at("/patients"))
    reviewer.get(by_id(tablet, "results-link").get_attribute("href"))
    wait(reviewer, "the glance", lambda d: "walk not completed (1 attempt)" in by_id(d, "results").text, timeout_s=20)
    # the figure of the test: the attempt's steps, said to be a walk not completed (not "No valid trial to plot")
    wait(reviewer, "the attempt's steps on the results", lambda d: len(css(d, "#results svg.steps-trace circle.ic")) >= 3,
         timeout_s=20)
    assert "Walk not completed: no time to plot. The steps of attempt #" in by_id(reviewer, "results").text
    assert "No valid trial to plot" not in by_id(reviewer, "results").text
    trial_href = [a.get_attribute("href") for a in css(reviewer, "a") if "/trials/" in (a.get_attribute("href") or "")][0]
    reviewer.get(trial_href)
    wait(reviewer, "the steps up to the stop", lambda d: len(css(d, "svg.steps-trace circle.ic")) >= 3, timeout_s=20)
    assert "No walk measures" in by_id(reviewer, "measures").text
    assert "Stabilogram" not in by_id(reviewer, "plots").text
    reviewer.quit()

    # -- the repeat, then the second trial ------------------------------------------------------------------
    for attempt in ("trial 1, attempt 2", "trial 2"):
        done = len(css(tablet, "#trial-list li[data-trial-id]"))
        by_id(tablet, "btn-start").click()
        wait(tablet, f"{attempt}: its result", lambda d: len(css(d, "#trial-list li[data-trial-id]")) == done + 1, timeout_s=60)
        wait(tablet, f"{attempt}: the next step", lambda d: by_id(d, "btn-start").is_enabled()
             or by_id(d, "trial-state").get_attribute("data-state") == "finished", timeout_s=30)
        gates = [li.text for li in css(tablet, "#gate-list li[data-gate]")]
        assert any("s after the go" in g for g in gates), gates  # the gates' times count from the go
    wait(tablet, "the test finished", lambda d: by_id(d, "trial-state").get_attribute("data-state") == "finished", timeout_s=30)

    lines = [" ".join(li.find_element("css selector", "span").text.split()) for li in css(tablet, "#trial-list li")]
    assert len(lines) == 3 and len(set(lines)) == 3, lines  # each line its own
    assert lines[0].endswith("trial 1") and lines[1].endswith("trial 1, attempt 2") and lines[2].endswith("trial 2"), lines
    others = [li.text for li in css(tablet, "#gate-list li.other-gates")]
    assert not any("8.0 m" in o for o in others), others  # no gate beyond the 4 m walkway listed

    watch = tablet.execute_script("return window.__watch")
    assert len(watch["places"]) == 1, watch["places"]  # one place for Start, Stop and End test, all along
    assert not watch["leftovers"], watch["leftovers"]  # "Get ready" alone, not under the waiting's words
    assert not watch["rests"], watch["rests"]  # the rest's count gone once the attempt starts
