"""A stall of the station's acquisition during a treadmill session, in headless Chromium at tablet
size against the real station (``run --simulate --fault stall:...``: the acquisition loop blocked,
so nothing reaches the ring; it then loses the frames of that time as after any late wake-up):

- a 3 s stall 6 s after the go: the live page's status strip and health chip say "No readings" and
  /healthz (what every other page's chip polls) says ``nodata`` at the same moments (it said "ok"
  for up to 3 s of a stall); the timer holds at the last data, said under it, and goes on from the
  station's time when frames come again; the time not measured (in seconds, as the walk's notice says it,
  not frames: those are in the item's title, for an engineer) is red for the loss of the last 10 s, with what
  it means for a trial in words, then small and grey ("none of the last 10 s") while the total stays;
- a 7 s stall 24 s after the go ends the session (the walk test waits out 5 s): the timer ends
  where it held, never running back, with the ended-early words, which a reload of the page shows
  again (from the run's status, not from the events the page saw).
"""

from __future__ import annotations

import re
import time

import pytest

from e2e_support import set_size
from test_dashboard import PHONE, TABLET, api, by_id, css, select_protocol, setup_admin, wait

pytestmark = pytest.mark.e2e

FAULTS = ("stall:6:3", "stall:24:7")

READ = """return {strip: document.getElementById('h-state').textContent,
  reason: document.getElementById('h-reason').textContent,
  chip: document.getElementById('health-chip').textContent,
  stripState: document.getElementById('h-state').dataset.state, chipState: document.getElementById('health-chip').dataset.state,
  stripColour: getComputedStyle(document.getElementById('h-state')).color,
  timer: document.getElementById('walk-timer').textContent,
  held: document.getElementById('walk-held').hidden ? '' : document.getElementById('walk-held').textContent,
  lost: document.getElementById('h-lost').textContent, lostBad: document.getElementById('h-lost').className === 'bad',
  lostLabel: document.getElementById('h-lost').parentElement.textContent, lostTitle: document.getElementById('h-lost-item').title,
  lostEffect: document.getElementById('h-lost-effect').hidden ? '' : document.getElementById('h-lost-effect').textContent,
  lostWeight: Number(getComputedStyle(document.getElementById('h-lost')).fontWeight),
  cadenceColour: getComputedStyle(document.querySelector('#walk-cadence-box .walk-timer')).color};"""

READ_WITH_HEALTHZ = """const done = arguments[0];
  const page = (() => {""" + READ + """})();
  fetch('/healthz', {credentials: 'omit'}).then((r) => r.json()).then((h) => done({...page, healthz: h.state}))
    .catch((e) => done({...page, healthz: String(e)}));"""


STALLED_STRIP = ("No readings", "Cannot measure")
"""The live page's status strip during a stall, in the words of the header chip beside it (Station.healthWords)."""

RED, GREEN = "rgb(163, 32, 32)", "rgb(30, 122, 60)"
"""dashboard.css --red #a32020 and --green #1e7a3c: the station's state in the status strip (.station-state)."""

GREY = "rgb(154, 165, 177)"
"""#9aa5b1, walk.css: the held timer and the live cadence while the station sends no data."""


def seconds(timer_text: str) -> int:
    minutes, secs = timer_text.split(":")
    return 60 * int(minutes) + int(secs)


def open_treadmill_session(driver, url: str, identifier: str) -> None:
    """A new patient's 1-min backward treadmill session opened on the live page, Start ready."""
    setup_admin(driver, url)
    created = api(driver, "POST", "/api/patients", {"identifier": identifier, "birth_year": 1950, "sex": "F"})
    assert created["status"] == 201, created
    driver.get(f"{url}/live?patient={created['body']['id']}")
    wait(driver, "the live stream", lambda d: by_id(d, "conn").text == "live")
    select_protocol(driver, "backward-treadmill")
    wait(driver, "the belt speed and planned minutes asked", lambda d: by_id(d, "walk-treadmill").is_displayed())
    by_id(driver, "walk-belt-speed").send_keys("1.8")
    by_id(driver, "walk-planned-min").send_keys("1")
    by_id(driver, "open-run").click()
    wait(driver, "the Start button", lambda d: by_id(d, "btn-start").is_enabled(), timeout_s=30)


def test_a_stall_reads_the_same_everywhere_holds_the_timer_and_ends_where_it_held(station_for, browsers, shots):
    started = time.monotonic()
    station = station_for("hemiparetic-walker", FAULTS)
    tablet, _downloads = browsers("tablet")
    tablet.set_script_timeout(15)
    open_treadmill_session(tablet, station.url, "STALL-001")
    # every text the timer shows, kept by the page
    tablet.execute_script(
        "window.timerTexts = []; const t = document.getElementById('walk-timer');"
        "new MutationObserver(() => window.timerTexts.push(t.textContent)).observe(t, {childList: true, characterData: true, subtree: true});")
    by_id(tablet, "btn-start").click()
    wait(tablet, "the session recording", lambda d: by_id(d, "walk-card").get_attribute("data-timer") == "running", timeout_s=40)
    assert tablet.execute_script(READ)["strip"] == "Station OK"

    # -- the first stall (3 s, 6 s after the go): every reading says no data at the same moments ------
    wait(tablet, "the stall", lambda d: d.execute_script(READ)["strip"] == "No readings", timeout_s=15, poll_s=0.1)
    samples = []
    while time.monotonic() - started < 600:
        sample = tablet.execute_async_script(READ_WITH_HEALTHZ)
        samples.append(sample)
        if sample["strip"] not in STALLED_STRIP:
            break
        if len(samples) == 3:  # (a look at the strip and chip stalled, once the readings the asserts need are taken)
            tablet.save_screenshot(str(shots / "stall-strip-and-chip.png"))
        time.sleep(0.15)
    # "No readings"; "Cannot measure" too when the loaded machine makes the stall last until the acquisition's
    # health report is 3 s old (seen in a full suite run: the strip said "down" at its end)
    stalled = [s for s in samples if s["strip"] in STALLED_STRIP]
    # ~2 s (3 s of stall, shown after 1 s): 4 or more readings, 3 under a full suite's load (each
    # reading asks /healthz too; seen in the fresh-clone CI run on ab04bd0)
    assert len(stalled) >= 3 and stalled[0]["strip"] == "No readings", samples
    assert all(s["chip"] == s["strip"] for s in stalled), samples  # the live page's chip is its strip, in its words
    # and in its colour: red, as the chip's dot (it was grey, the page's stale readings' colour; and red for a normal
    # start, "starting", and "degraded" too, where the chip is amber: dashboard.css .station-state is the one mapping)
    assert all(s["stripState"] == s["chipState"] and s["stripColour"] == RED for s in stalled), samples
    # and its reason as the chip's tap says it, in the station's words (station/acquire/source.py:
    # "The station has measured nothing for N s: its measuring program is held up"), not an engineer's
    assert not any(s["reason"].lower().startswith("no data") for s in stalled), samples
    assert not any("acquisition has sent" in s["reason"].lower() for s in stalled), samples
    # what /healthz says to every other page: no data too (before: "ok" until its report was 3 s old);
    # "down" once that report is 3 s old (it comes once a second: 2-3 s into the stall)
    inner = [s["healthz"] for s in stalled[1:-1]]
    assert "nodata" in inner and set(inner) <= {"nodata", "down"}, samples
    # the timer holds at the last data, and says so (it ran on before, through the stall)
    held = [s for s in stalled if s["held"]]
    assert len(held) >= 3 and len({s["timer"] for s in held}) == 1, samples
    # in the strip's words, not a lost connection's (it said "No data from the station: ..." for both: test_walk_no_data_words)
    assert held[0]["held"] == ("The station is measuring nothing: its measuring program is held up. "
                               f"The timer holds at {held[0]['timer']}."), held[0]
    # the live cadence is greyed with it (no number: the station measures nothing, said beside it), and not before or
    # after
    assert all(s["cadenceColour"] == GREY for s in held), held
    assert samples[-1]["cadenceColour"] != GREY, samples[-1]
    at_stall = seconds(held[0]["timer"])
    assert 5 <= at_stall <= 8, held[0]

    # -- frames again: the timer goes on from the station's time; the loss is red while recent --------
    after = wait(tablet, "the frames lost, red", lambda d: (lambda r: r if r["lostBad"] else None)(d.execute_script(READ)),
                 timeout_s=5)
    assert after["strip"] == "Station OK" and after["held"] == "", after
    assert after["stripState"] == after["chipState"] == "ok" and after["stripColour"] == GREEN, after
    # in the clinician's unit, seconds not measured, as the walk's notice beside it says them (it said 'frames lost
    # 306' beside '2.98 s not measured'); the frames, an engineer's count, in the item's title
    SECONDS = r"\d(\.\d\d?)? s"
    assert re.fullmatch(rf"{SECONDS} \([\d.]+ %\), {SECONDS} of the last 10 s", after["lost"]), after
    assert after["lostLabel"] == f"readings lost {after['lost']}" and "frame" not in after["lostLabel"], after
    assert re.match(r"\d+ frames lost since the station started, \d+ in the last 10 s\. The time", after["lostTitle"]), after
    # and what the lower-back sensor's FIFO lost in the stall, longer than it holds (1.2 s at 208 Hz): it overflowed
    # and was emptied unread (s27 A5: counted by the acquisition, said here and by doctor)
    assert re.search(r" The lower-back sensor's FIFO since the station started: overflowed \d+ times? \(samples overwritten "
                     r"before they were read\), emptied unread \d+ times? after a stall \(\d+ samples, \d+\.\d\d s\)\.$",
                     after["lostTitle"]), after
    # while the loss can change a result, what it means is said in the clinician's words (review s24 L13)
    assert after["lostEffect"] == "Readings are being lost now: the time of the walk without them is not measured.", after
    assert seconds(after["timer"]) >= at_stall + 2, (after, at_stall)  # the stall counts as time on the treadmill
    # what the stall left unmeasured, said once in the walk panel as the result says it: its slots lost on the
    # grid (it said 'Data again after 3.1 s without: that time is not measured', the wait between two
    # wake-ups of the loop, beside the result's own number)
    # (on a tablet in the controls' message box; on a phone in the walk panel, which it shows first)
    notice = wait(tablet, "the measuring-again notice", lambda d: (lambda t: t if t.startswith("Measuring again") else None)(
        by_id(d, "message").text), timeout_s=10)
    assert re.fullmatch(r"Measuring again: \d(\.\d\d?)? s not measured \(1 station stall\); the session goes on\.",
                        notice), notice
    tablet.save_screenshot(str(shots / "data-again-notice.png"))
    set_size(tablet, PHONE)
    tablet.execute_script("document.getElementById('walk-notice').scrollIntoView({block: 'center'})")
    assert by_id(tablet, "walk-notice").text == notice
    tablet.save_screenshot(str(shots / "data-again-notice-phone.png"))
    set_size(tablet, TABLET)
    lost_total = float(after["lost"].split()[0])
    stall_recent = float(re.search(r"([\d.]+) s of the last 10 s", after["lost"]).group(1))
    # 10-11 s later the stall's loss is history: said neutrally beside the total, which keeps it ("none in the
    # last 10 s", or a few frames lost since on a loaded machine: the stall's ~300 have left the window)
    def history(d):
        r = d.execute_script(READ)
        recent = re.search(r", (none|[\d.]+ s) of the last 10 s$", r["lost"])
        return r if recent and not r["lostBad"] and (
            recent.group(1) == "none" or float(recent.group(1).split()[0]) < stall_recent / 3) else None

    tablet.execute_script("window.scrollTo(0, 0)")
    tablet.save_screenshot(str(shots / "frames-lost-recent.png"))
    calm = wait(tablet, "the loss said as history", history, timeout_s=16)
    tablet.save_screenshot(str(shots / "frames-lost-history.png"))
    assert not calm["lostBad"] and float(calm["lost"].split()[0]) >= lost_total, calm
    # then the figure is the engineer's: no words, not in bold among the clinician's readings (review s24 L13)
    assert calm["lostEffect"] == "" and calm["lostWeight"] < 600, calm

    # -- the second stall (7 s, 24 s after the go) ends the session where the timer held --------------
    ended = wait(tablet, "the session ended by the stall", lambda d: css(d, "#walk-ended-early"), timeout_s=30)
    assert "stopped receiving data" in ended[0].text, ended[0].text
    final = by_id(tablet, "walk-timer").text
    assert 23 <= seconds(final) <= 26, final
    words = by_id(tablet, "walk-phase").text
    assert words == f"Ended early at {final} of 1 min planned: see why below", words
    shown = [seconds(t) for t in tablet.execute_script("return window.timerTexts") if re.fullmatch(r"\d+:\d\d", t)]
    assert shown == sorted(shown), shown  # the timer never ran back (before: 0:28 held 5 s on, then 0:24)
    done = api(tablet, "GET", "/api/station")["body"]["service"]["run"]["done"][-1]
    assert seconds(final) == int(done["recorded_s"]), (final, done["recorded_s"])  # the session's recorded time

    # -- a reload shows the same words, from the run's status ----------------------------------------
    tablet.refresh()
    wait(tablet, "the live stream after the reload", lambda d: by_id(d, "conn").text == "live")
    wait(tablet, "the ended-early words after the reload", lambda d: by_id(d, "walk-phase").text == words, timeout_s=10)
    assert by_id(tablet, "walk-timer").text == final
    assert "stopped receiving data" in by_id(tablet, "walk-ended-early").text
    # -- the trial page says the same recorded time (the stalls' lost frames included, said below it) -----
    trial_id = api(tablet, "GET", "/api/station")["body"]["service"]["run"]["trial_ids"][-1]
    tablet.get(f"{station.url}/trials/{trial_id}")
    summary = wait(tablet, "the trial's summary", lambda d: by_id(d, "trial-summary").text, timeout_s=20)
    recorded = float(re.search(r"([\d.]+) s recorded", summary).group(1))
    assert recorded == pytest.approx(done["recorded_s"], abs=0.06), (summary, done["recorded_s"])
    assert re.search(r"; \d+ lost \(", summary), summary
    assert time.monotonic() - started < 240, "the stall test must stay bounded in time"
