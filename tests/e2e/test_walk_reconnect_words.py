"""What the walk panel says about the station while this page is cut off and just after it reconnects,
in headless Chromium against the real station (``run --simulate --fault stall:6:4``), a treadmill
session at tablet (1180x820) and phone (390x844) size. The page must never say a station state it has
not been told:

- cut off after the station's "Measuring again: ..." notice (the stall over), that notice stayed as it
  was, a claim about the station now that the page cannot know: it now says that the station said it
  before this page lost its connection (the controls' message box on a tablet, the walk panel on a phone);
- just after the page reconnects, before the station's first readings reach it, the timer's line and
  the cadence box said "The station is measuring nothing" / "not measured: the station is measuring
  nothing" (the page's values were still stale from the cut), though the station went on measuring: they
  now say that the page is connected again and waits for the station's readings. (The reconnect is slowed
  by the browser's network throttling so that the moment lasts.)
"""

from __future__ import annotations

import time

import pytest

from e2e_support import set_size
from test_dashboard import PHONE, TABLET, by_id, wait
from test_walk_no_data_words import stalled_session

pytestmark = pytest.mark.e2e

READ = """const shown = (id) => { const e = document.getElementById(id); return e.hidden ? '' : e.textContent; };
  return {conn: document.getElementById('conn').dataset.state, held: shown('walk-held'),
    why: document.getElementById('walk-held').dataset.why || '', cadenceWhy: shown('walk-cadence-why'),
    notice: shown('walk-notice'), message: document.getElementById('message').textContent,
    strip: document.getElementById('h-state').textContent, timer: document.getElementById('walk-timer').textContent};"""

# every text the walk's two lines show, kept by the page with the connection's state at that moment (a line that
# shows for one frame is kept too)
RECORD = """window.walkLines = [];
  for (const id of ['walk-held', 'walk-cadence-why']) {
    const e = document.getElementById(id);
    new MutationObserver(() => window.walkLines.push({id, conn: document.getElementById('conn').dataset.state,
      text: e.hidden ? '' : e.textContent})).observe(e, {childList: true, characterData: true, subtree: true, attributes: true});
  }"""

BEFORE = "Before this page lost its connection, the station said: "


def network(driver, offline: bool, throughput: int = -1) -> None:
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": offline, "latency": 0,
                                                                 "downloadThroughput": throughput, "uploadThroughput": -1})


def test_the_walk_says_only_what_it_was_told_while_cut_off_and_just_after_reconnecting(station_for, browsers, shots):
    started = time.monotonic()
    station, tablet = stalled_session(station_for, browsers, "RECONNECT-001")
    notice = wait(tablet, "the measuring-again notice after the stall",
                  lambda d: (lambda t: t if t.startswith("Measuring again") else None)(by_id(d, "message").text), timeout_s=30)
    wait(tablet, "readings again", lambda d: d.execute_script(READ)["held"] == "", timeout_s=10)

    # -- cut off: the notice says when the station said it ------------------------------------------------------
    tablet.execute_script(RECORD)
    tablet.execute_cdp_cmd("Network.enable", {})
    network(tablet, offline=True)
    station.relay.drop_all()
    cut = wait(tablet, "the page cut off", lambda d: (lambda r: r if r["why"] == "page" else None)(d.execute_script(READ)),
               timeout_s=10, poll_s=0.1)
    assert cut["message"] == BEFORE + notice, cut  # (a tablet: in the controls' message box)
    assert not cut["message"].startswith("Measuring again"), cut
    for size, label in ((TABLET, "tablet"), (PHONE, "phone")):
        set_size(tablet, size)
        tablet.execute_script("document.getElementById(arguments[0]).scrollIntoView({block: 'center'})",
                              "walk-notice" if size == PHONE else "message")
        time.sleep(0.3)
        tablet.save_screenshot(str(shots / f"cut-off-notice-{label}.png"))
    assert tablet.execute_script(READ)["notice"] == BEFORE + notice  # (a phone: in the walk panel)
    set_size(tablet, TABLET)

    # -- connected again, the station's readings not here yet (slowed): no "measuring nothing" --------------------
    network(tablet, offline=False, throughput=2000)
    back = wait(tablet, "the stream open again", lambda d: (lambda r: r if r["conn"] == "open" else None)(d.execute_script(READ)),
                timeout_s=20, poll_s=0.05)
    time.sleep(1.0)
    waiting = tablet.execute_script(READ)
    if waiting["held"]:  # (the readings may have come already on a quick machine)
        assert waiting["why"] == "waiting", waiting
        assert waiting["held"].startswith("Waiting for the station's readings (this page has just connected). The timer holds at "), waiting
        assert waiting["cadenceWhy"] == "not shown yet: waiting for the station's readings", waiting
        assert waiting["strip"] == "Station …", waiting  # (the status strip: not "No readings" either)
        tablet.execute_script("document.getElementById('walk-timer').scrollIntoView({block: 'center'})")
        tablet.save_screenshot(str(shots / "reconnected-waiting-tablet.png"))
        set_size(tablet, PHONE)
        tablet.execute_script("document.getElementById('walk-timer').scrollIntoView({block: 'center'})")
        time.sleep(0.3)
        tablet.save_screenshot(str(shots / "reconnected-waiting-phone.png"))
        set_size(tablet, TABLET)
    network(tablet, offline=False)
    wait(tablet, "the readings back, the lines gone",
         lambda d: (lambda r: r if r["held"] == "" and r["conn"] == "open" else None)(d.execute_script(READ)), timeout_s=30)
    lines = tablet.execute_script("return window.walkLines")
    said_open = [x for x in lines if x["conn"] == "open" and x["text"]]
    assert said_open, (back, waiting, lines)  # the moment of waiting was seen by the page
    assert not [x for x in lines if "measuring nothing" in x["text"]], lines
    # the notice again as the station said it, once the page is told the station's state again
    assert tablet.execute_script(READ)["message"] in (notice, ""), tablet.execute_script(READ)
    assert time.monotonic() - started < 240, "the test must stay bounded in time"
