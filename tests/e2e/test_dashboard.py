"""The dashboard end to end in headless Chromium at tablet size, against the real station
(simulated hardware, acquisition process, trial service, waitress):

first-run setup -> sign out -> sign in -> add a patient -> open the mCTSIB on the live view and
run it; the virtual patient steps off in 'firm surface, eyes closed', the hold is flagged and
the repeat is run; the network drops during a recording and the live view resumes without a
reload and without losing the trial; the rest between trials counted down; results against
norms -> one trial's plots, all measures and exports -> the short hold's page (no measures, said
once) and a note on it, shown on the results -> history -> history export -> the results, the
patient and the history on a phone (no sideways scrolling, a few screens tall) -> erasing the
patient. Meanwhile a second, idle tablet gets the inactivity notice and is signed out
automatically. On the way, the live view's layout at tablet size: the words to read aloud fit on
the screen, the overlay leaves the feet visible, the plate, the feet and the centre of pressure are
drawn in the plate frame and never re-centred, and the results link needs no scrolling.
"""

from __future__ import annotations

import csv
import io
import sys
import time
from urllib.parse import urlsplit

import pytest
from e2e_support import set_size

pytestmark = pytest.mark.e2e

ADMIN = ("admin", "station admin 2024")
TABLET = (1180, 820)
PHONE = (390, 844)
CLINICIAN = ("idle-clinician", "another long password")


# wait()'s polling interval when the caller sets none: (waited at least s, poll every s). Each poll
# is a WebDriver round trip (this process, chromedriver and Chromium: about 15 ms of CPU), and CI
# is CPU-bound on 2 cores; a long wait (a trial recording, a rest counted down) is awaited at
# human pace, a short one as fast as before.
POLL_BACKOFF_S = ((0.0, 0.2), (10.0, 0.5), (30.0, 1.0))


def poll_interval_s(waited_s: float) -> float:
    """The default polling interval of wait() after ``waited_s`` seconds of waiting (POLL_BACKOFF_S)."""
    return [poll_s for after_s, poll_s in POLL_BACKOFF_S if waited_s >= after_s][-1]


def wait(driver, what: str, predicate, timeout_s: float = 20.0, poll_s: float | None = None, keep_alive=None):
    """Wait until ``predicate(driver)`` is truthy; fail saying what was awaited. ``poll_s``: check
    every so often (default: every 0.2 s, less often as the wait grows long: poll_interval_s).
    The predicate is checked once more at the deadline, so a long poll never shortens the wait."""
    start = time.monotonic()
    deadline = start + timeout_s
    last_error = None
    next_keep_alive = start + 15.0
    while True:
        try:
            value = predicate(driver)
            if value:
                return value
        except Exception as exc:  # the page is changing under us: try again
            last_error = exc
        now = time.monotonic()
        if now >= deadline:
            break
        if keep_alive is not None and now >= next_keep_alive:
            keep_alive()
            next_keep_alive = time.monotonic() + 15.0
        interval_s = poll_s if poll_s is not None else poll_interval_s(now - start)
        time.sleep(max(0.0, min(interval_s, deadline - time.monotonic())))
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}"
                         + (f" (last error: {last_error})" if last_error else "") + _where(driver))


def _where(driver) -> str:
    """Where the browser was when a wait timed out (its URL), for the failure's message."""
    try:
        return f" (the browser at {driver.current_url})"
    except Exception as exc:  # the browser itself is gone or hung
        return f" (the browser's URL unreadable: {type(exc).__name__})"


def at(path: str):
    """A predicate: the browser shows the page at ``path`` (ignoring the query)."""
    return lambda d: urlsplit(d.current_url).path == path


def by_id(driver, element_id: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)


def click_when_still(driver, element_id: str, what: str, timeout_s: float = 20.0) -> None:
    """Click the element once it is shown and has kept its place for three polls (0.4 s): a page
    filling in after its load moves its buttons, and a click aimed at where a button was lands
    on whatever is there now (the programme page's report button moved 370 px as it filled)."""
    places: list[dict] = []

    def still(d) -> bool:
        element = by_id(d, element_id)
        places.append(element.rect if element.is_displayed() else {})
        return len(places) >= 3 and places[-1] != {} and places[-1] == places[-2] == places[-3]

    wait(driver, what + " shown and still", still, timeout_s)
    by_id(driver, element_id).click()


def select_protocol(driver, name: str, timeout_s: float = 20.0) -> None:
    """Choose protocol ``name`` in the live page's protocol list once the page has filled it: the list
    is filled by the page's own request after its load, and on a loaded machine a choice made before
    found no such option (test_walk failed so: 'Cannot locate option with value: backward-treadmill')."""
    from selenium.webdriver.support.ui import Select

    wait(driver, f"the protocol {name} offered", lambda d: css(d, f'#protocol-select option[value="{name}"]'), timeout_s)
    Select(by_id(driver, "protocol-select")).select_by_value(name)


def css(driver, selector: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def fill(driver, name: str, value: str) -> None:
    from selenium.webdriver.common.by import By

    field = driver.find_element(By.NAME, name)
    field.clear()
    field.send_keys(value)


def api(driver, method: str, path: str, body=None):
    """A JSON API call from the page (with its session and CSRF token), as the page's own code does."""
    return driver.execute_async_script(
        """
        const [method, path, body, done] = arguments;
        fetch(path, {method, credentials: "same-origin", headers: {
            "Content-Type": "application/json",
            "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content},
          body: body === null ? undefined : JSON.stringify(body)})
          .then(async (r) => done({status: r.status, body: await r.json().catch(() => null)}))
          .catch((e) => done({status: 0, body: String(e)}));
        """,
        method, path, body,
    )


def downloaded(folder, name: str, timeout_s: float = 15.0, *, binary: bool = False) -> str | bytes:
    """The file the browser downloaded into ``folder`` once complete (text, or bytes with ``binary``)."""
    path = folder / name
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and not (folder / (name + ".crdownload")).exists() and path.stat().st_size > 0:
            return path.read_bytes() if binary else path.read_text()
        time.sleep(0.2)
    raise AssertionError(f"{name} was not downloaded into {folder} (found {sorted(p.name for p in folder.iterdir())})")


def patient_file(patient_id, what: str, extension: str) -> str:
    """The name a patient's download has (web/downloads.py): its number, what it is, today in the clinic (this
    computer's zone, the station's: no identifier a shared tablet's list of downloads would keep)."""
    from station.store.timefmt import local_day

    return f"patient-{int(patient_id)}-{what}-{local_day(time.time())}.{extension}"


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


LIVE_DRAWING = """const c = document.getElementById('trace'); const [x, y, w, h] = c.dataset.plate.split(',').map(Number);
  const px = (a, b) => Array.from(c.getContext('2d').getImageData(a, b, 1, 1).data);
  return {plate: [x, y, w, h], feet: c.dataset.feet, cop: c.dataset.cop,
          outside: px(x - 6, Math.round(y + h / 2)), inside: px(x + 4, y + 4)};"""
"""What the live view's canvas drew: the plate's box (px), the feet of the stance, the centre of
pressure (px), a pixel just outside the plate and one inside it (RGBA)."""


def check_live_layout_before_start(tablet) -> None:
    """At tablet size, a trial's instructions shown: nothing sticks out sideways, the words to read
    aloud are on the screen to their last line, the overlay over the trace stays in its top band."""
    assert page_width(tablet) <= TABLET[0]
    bottom = tablet.execute_script("return document.getElementById('instructions').getBoundingClientRect().bottom")
    assert bottom <= TABLET[1], bottom
    overlay = tablet.execute_script("const r = document.querySelector('.overlay').getBoundingClientRect();"
                                    "const c = document.getElementById('trace').getBoundingClientRect();"
                                    "return [r.height, c.height]")
    assert overlay[0] < overlay[1] * 0.35, overlay  # the overlay does not hide the feet


def check_plate_drawn_while_recording(tablet, feet: str, shot=None) -> None:
    """The live view in the plate frame while a trial records: the plate's outline where it says,
    the stance's feet, the centre of pressure on the plate, and a view that never re-centres."""
    first = tablet.execute_script(LIVE_DRAWING)
    x, y, w, h = first["plate"]
    assert w > 100 and h > 100 and first["feet"] == feet, first
    assert first["outside"][3] == 0 and first["inside"][3] == 255, first  # the plate is drawn where it says
    # one reading of the drawing: the next one may come from a redraw while the stream was stale for a
    # moment on a loaded machine ("No data from the plate", no centre of pressure drawn), as it must
    drawn = wait(tablet, "the centre of pressure drawn", lambda d: d.execute_script(LIVE_DRAWING)["cop"])
    cop = [int(v) for v in drawn.split(",")]
    assert x < cop[0] < x + w and y < cop[1] < y + h, (cop, first)  # on the plate, where the person stands
    time.sleep(1.0)
    assert tablet.execute_script(LIVE_DRAWING)["plate"] == first["plate"]  # it stays put while the person sways
    # at 1024x768 the zoom's box is narrower than its caption: wrapped, no word cut off at the canvas's edge (s21)
    canvas_width = "return document.getElementById('trace').width"
    before = tablet.execute_script(canvas_width)
    set_size(tablet, (1024, 768))
    try:
        wait(tablet, "the live view laid out at 1024x768", lambda d: d.execute_script(canvas_width) != before)
        time.sleep(0.5)  # drawn again at that size
        reach = tablet.execute_script("const c = document.getElementById('trace');"
                                      "return [c.width, c.height, ...c.dataset.zoomCaption.split(',').map(Number)];")
        width, height, left, top, right, bottom = reach
        assert 0 <= left < right <= width and 0 <= top < bottom <= height, reach
        if shot is not None:
            tablet.save_screenshot(str(shot))
    finally:
        set_size(tablet, TABLET)


def setup_admin(driver, url: str) -> None:
    """First-run setup of the administrator ADMIN, ending on the patients page."""
    driver.get(url + "/")
    wait(driver, "the first-run setup page", at("/setup"))
    fill(driver, "username", ADMIN[0])
    fill(driver, "password", ADMIN[1])
    fill(driver, "password_repeat", ADMIN[1])
    css(driver, "form.card button[type=submit]")[0].click()
    # the password is hashed at the station's real cost: under a full suite's load (3 workers, their
    # browsers) that took over 20 s once (fresh-clone CI run on ab04bd0)
    wait(driver, "the patients page after setup", at("/patients"), timeout_s=60)


def sign_in(driver, url: str, user: tuple[str, str]) -> None:
    fill(driver, "username", user[0])
    fill(driver, "password", user[1])
    css(driver, "form.card button[type=submit]")[0].click()


def signed_in_again(driver, url: str) -> None:
    """``driver`` signed in as ADMIN from a fresh sign-in page, ending on the patients page: a shared browser
    (tests/e2e/conftest.py ``reading_pages``) whose session a test ended, left as the next test expects it, or a new
    browser on a station set up already."""
    driver.get(url + "/login")
    sign_in(driver, url, ADMIN)
    wait(driver, "the patients page, signed in again", at("/patients"))


def sign_in_page_says(driver, size: tuple[int, int], query: str, words: str, shot) -> None:
    """The page was taken to the sign-in page with ``query`` in its URL, which says ``words`` (not
    "after inactivity") and fits the screen; its screenshot saved as ``shot``."""
    wait(driver, "the sign-in page", lambda d: "/login" in d.current_url and query in d.current_url)
    assert css(driver, "p.message")[0].text == words
    assert "inactivity" not in driver.page_source
    assert page_width(driver) <= size[0]
    assert css(driver, "input[name=username]")[0].is_displayed()
    driver.save_screenshot(str(shot))


def test_a_clinic_session_from_setup_to_history(station, browsers, shots):
    tablet, downloads = browsers("tablet", TABLET)
    url = station.url
    tablet.set_script_timeout(15)

    # -- first-run setup, sign out, sign in ------------------------------------------------
    setup_admin(tablet, url)
    wait(tablet, "the station health chip", lambda d: by_id(d, "health-chip").get_attribute("data-state") == "ok")
    css(tablet, "header form button[type=submit]")[0].click()  # Sign out
    wait(tablet, "the sign-in page", at("/login"))
    tablet.get(url + "/patients")
    wait(tablet, "a redirect to sign in", at("/login"))
    sign_in(tablet, url, ADMIN)
    wait(tablet, "the patients page", at("/patients"))

    # A second tablet, left idle, must be signed out after the (shortened) inactivity timeout.
    assert api(tablet, "PATCH", "/api/settings", {"session_timeout_min": 1})["status"] == 200
    assert api(tablet, "POST", "/api/users", {"username": CLINICIAN[0], "password": CLINICIAN[1],
                                               "role": "clinician"})["status"] == 201
    idle, _ = browsers("idle")
    idle.get(url + "/login")
    sign_in(idle, url, CLINICIAN)
    wait(idle, "the idle tablet's patients page", at("/patients"))

    def keep_alive():  # the clinician keeps using the tablet running the test
        api(tablet, "GET", "/api/session")

    # -- add a patient ---------------------------------------------------------------------
    by_id(tablet, "add-patient").click()
    wait(tablet, "the add-patient form", lambda d: by_id(d, "patient-dialog").is_displayed()
         and css(d, '#patient-form input[name="conditions"]'))
    fill(tablet, "identifier", "E2E-001")
    fill(tablet, "birth_year", "1950")
    from selenium.webdriver.support.ui import Select

    Select(css(tablet, '#patient-form select[name="sex"]')[0]).select_by_value("F")
    css(tablet, '#patient-form input[name="conditions"][value="fall_12m"]')[0].click()
    by_id(tablet, "save-patient").click()
    wait(tablet, "the new patient's page", lambda d: "/patients/" in d.current_url
         and by_id(d, "patient-title").text == "E2E-001")
    patient_url = tablet.current_url
    summary = by_id(tablet, "patient-summary").text
    assert "Fall in the last 12 months" in summary and "fall_12m" not in summary  # words, not codes

    # The idle tablet warns before signing out (the timeout is 1 min, the warning comes 90 s before).
    wait(idle, "the inactivity notice", lambda d: by_id(d, "session-notice").is_displayed()
         and "signed out in" in by_id(d, "session-notice-text").text, timeout_s=30)

    # -- the mCTSIB on the live view -------------------------------------------------------
    by_id(tablet, "new-test").click()
    wait(tablet, "the live view with the patient chosen", lambda d: "/live" in d.current_url
         and by_id(d, "patient-select").get_attribute("value") and by_id(d, "protocol-select").get_attribute("value") == "mctsib")
    wait(tablet, "the live stream", lambda d: by_id(d, "conn").text == "live")
    wait(tablet, "the station's rate in the health strip", lambda d: by_id(d, "h-rate").text not in ("", "–"))
    # "none" (it said "not measured 0 s": a failure's words), or "0.03 s (0.13 %), ..." on a loaded machine: seconds
    lost = by_id(tablet, "h-lost").text.split()
    assert lost == ["none"] or (lost[0].replace(".", "", 1).isdigit() and lost[1] == "s"), lost
    assert len(css(tablet, '#conditions input[name="condition"]:checked')) == 4
    by_id(tablet, "open-run").click()
    wait(tablet, "the first trial's instructions", lambda d: by_id(d, "trial-state").get_attribute("data-state") == "instructions")
    assert "feet together" in by_id(tablet, "instructions").text
    check_live_layout_before_start(tablet)
    tablet.execute_script("window.__noReload = 'still the same page'")

    repeats = []  # trials run_trial repeated after the station reported lost readings (each stored too)

    def run_trial(label: str, *, drop_network: bool = False, while_recording=None, repeated: bool = False) -> str:
        wait(tablet, f"{label}: the Start button", lambda d: by_id(d, "btn-start").is_enabled(), timeout_s=30, keep_alive=keep_alive)
        by_id(tablet, "btn-start").click()
        wait(tablet, f"{label}: recording", lambda d: by_id(d, "trial-state").get_attribute("data-state") == "recording",
             timeout_s=30, keep_alive=keep_alive)
        if while_recording is not None:
            while_recording()
        if drop_network:
            # 3 s or more: on a busy machine the page may skip a second ("Recording 2 / 30 s", then 4)
            wait(tablet, "a few seconds of recording", lambda d: int(by_id(d, "state-words").text.split()[1]) >= 3,
                 timeout_s=10)
            assert station.relay.drop_all() >= 1
            wait(tablet, "the live view to notice the drop", lambda d: by_id(d, "conn").text != "live", timeout_s=10)
            wait(tablet, "the stream to resume", lambda d: by_id(d, "conn").text == "live", timeout_s=15)
            assert tablet.execute_script("return window.__noReload") == "still the same page"
            assert by_id(tablet, "trial-state").get_attribute("data-state") == "recording"
            wait(tablet, "the progress to go on after the drop",
                 lambda d: int(by_id(d, "state-words").text.split()[1]) >= 6, timeout_s=15)
        wait(tablet, f"{label}: the end of the trial",
             lambda d: by_id(d, "trial-state").get_attribute("data-state") in ("instructions", "done", "finished")
             and by_id(d, "message").text, timeout_s=45, keep_alive=keep_alive)
        message = by_id(tablet, "message").text
        if not repeated and "Too many readings were lost" in message and "Repeat offered" in message:
            # The simulated acquisition lost a burst of frames. Until f8b87ec this happened in about one
            # full suite run in three (0.5-0.8 s holes: other tests' acquisition processes started up
            # at SCHED_FIFO and held both cores; tests/acquire/test_startup_priority.py); a stall of
            # the whole VM can still do it. The station said so and offered the repeat, as it must; a
            # clinician repeats, so does the test.
            print(f"{label}: repeated after the station reported lost readings: {message}", file=sys.stderr)
            repeats.append(label)
            return run_trial(label + " (repeat)", drop_network=drop_network, while_recording=while_recording,
                             repeated=True)
        return message

    assert run_trial("firm, eyes open", while_recording=lambda: check_plate_drawn_while_recording(tablet, "2", shots / "live-1024.png")) \
        == "Trial complete."  # mCTSIB: feet together
    # the suggested rest is counted down before the next trial
    wait(tablet, "the rest timer", lambda d: by_id(d, "rest-timer").is_displayed() and by_id(d, "rest-timer").text.startswith("Rest: "))
    first = int(by_id(tablet, "rest-timer").text.split()[1])
    wait(tablet, "the rest counting down", lambda d: not d.find_element("id", "rest-timer").text.startswith("Rest: ")
         or int(d.find_element("id", "rest-timer").text.split()[1]) < first, timeout_s=5)
    run_trial("firm, eyes closed, attempt 1")
    # the repeat is offered by the rest event that follows the result's event: the result may be read between the
    # two (s31, a run of the browser tests: "Held 3.1 s of 30 s. The patient stepped off ..." without it yet)
    stepped_off = wait(tablet, "the repeat offered after the hold",
                       lambda d: "Repeat offered" in by_id(d, "message").text and by_id(d, "message").text, timeout_s=10)
    assert stepped_off.startswith("Held 3.") and "of 30 s" in stepped_off and "stepped off" in stepped_off, stepped_off
    assert "Repeat offered: previous attempt held 3." in stepped_off, stepped_off
    # The hold is flagged in the list and a repeat of the same condition is due.
    wait(tablet, "the repeat to be offered", lambda d: "attempt 2" in by_id(d, "trial-label").text)
    flagged = [li.text for li in css(tablet, "#trial-list li") if li.find_elements("css selector", ".tag.flag")]
    assert flagged and "Firm surface, eyes closed" in flagged[0]
    assert run_trial("firm, eyes closed, attempt 2 (network drop)", drop_network=True) == "Trial complete."
    assert run_trial("foam, eyes open") == "Trial complete."
    last = run_trial("foam, eyes closed")
    assert last.startswith("Trial complete.") and "The test is finished" in last, last
    wait(tablet, "the end of the test", lambda d: by_id(d, "results-link").is_displayed()
         and "results" in by_id(d, "results-link").text)
    assert tablet.execute_script("return window.__noReload") == "still the same page"
    # the finished test's list says each hold's result (it said only "done"), and Repeat says what it repeats (R L1)
    tags = [t.text for t in css(tablet, "#trial-list li .tag")]
    assert "done" not in tags and "held 30.0 s" in tags, tags
    repeat = by_id(tablet, "btn-repeat")
    assert (repeat.text, repeat.get_attribute("title")) == ("Repeat last trial", "Repeat the last trial: Foam, eyes closed")
    # the results are one tap away without scrolling
    link_bottom = tablet.execute_script("return document.getElementById('results-link').getBoundingClientRect().bottom")
    assert link_bottom <= TABLET[1], link_bottom

    # -- results -----------------------------------------------------------------------------
    by_id(tablet, "results-link").click()
    wait(tablet, "the results", lambda d: len(css(d, ".condition")) == 4, timeout_s=20)
    firm_ec = css(tablet, '.condition[data-condition="firm_ec"]')[0]
    assert "below 30 s" in firm_ec.text  # the condition's verdict beside its name
    attempts = [li.text for li in css(tablet, '.condition[data-condition="firm_ec"] li[data-trial-id]')]
    assert len([t for t in attempts if "readings were lost" not in t]) == 2, attempts  # (a run_trial repeat aside)
    velocity = css(tablet, '.condition[data-condition="firm_eo"] tr[data-metric="mean_velocity_cm_s"]')[0].text
    assert "percentile" in velocity and "old adults 60-86 y" in velocity and "Santos & Duarte 2016" in velocity
    area = css(tablet, '.condition[data-condition="firm_eo"] tr[data-metric="ellipse_area_cm2"]')[0].text
    assert "cm²" in area and "percentile" in area
    held = css(tablet, '.condition[data-condition="firm_ec"] tr[data-metric="time_held_s"]')[0].text
    assert "this sensory condition is a problem" in held and "Cut-off: Condition score below 30 s" in held and held.lower().count("below 30 s") == 1
    passed = css(tablet, '.condition[data-condition="firm_eo"] tr[data-metric="time_held_s"]')[0].text
    assert "the criterion is met" in passed and "problem" not in passed  # a passed condition reads as passed
    assert "lower = less sway" in velocity and "Rough guide only" in velocity  # direction; 30 s feet together vs 60 s
    assert "Composite" in by_id(tablet, "sensory").text
    ratios = [c.text for c in css(tablet, "#sensory td.value")]  # a ratio, plain: it printed "× 1.07" (R L11)
    assert ratios and not any("×" in r for r in ratios), ratios
    assert "Santos DA, Duarte M" in by_id(tablet, "norms-cite").text
    wait(tablet, "the traces with their ellipses", lambda d: len(css(d, "svg.statokinesigram ellipse.ellipse")) == 4)
    firm_eo = css(tablet, '.condition[data-condition="firm_eo"]')[0]
    assert "Critical time" not in firm_eo.text  # the full table only on demand
    [b for b in css(tablet, '.condition[data-condition="firm_eo"] button') if b.text == "Show all measures"][0].click()
    wait(tablet, "every measure of the condition, in words", lambda d: "Critical time, front-back (AP)" in firm_eo.text)
    assert "sda_critical_time_ap_s" not in firm_eo.text and "Diffusion (Collins & De Luca)" in firm_eo.text
    # one scale for the four conditions' traces
    scales = tablet.execute_script("return [...document.querySelectorAll('svg.statokinesigram text')].map(t => t.textContent)")
    assert len(set(scales)) == 1, scales

    # -- one trial: plots, all measures, exports --------------------------------------------
    # its valid trial (the first of the list if run_trial repeated one the station found with lost readings)
    css(tablet, '.condition[data-condition="foam_ec"] li[data-trial-id][data-valid="true"] a')[0].click()
    wait(tablet, "the trial page", lambda d: "/trials/" in d.current_url and css(d, "svg.statokinesigram ellipse.ellipse"))
    trial_id = tablet.current_url.rsplit("/", 1)[1]
    assert "Valid trial." in by_id(tablet, "validity").text
    assert len(css(tablet, "svg.timeseries")) == 2
    by_id(tablet, "toggle-all").click()
    wait(tablet, "all measures", lambda d: by_id(d, "all-measures-table").is_displayed())
    assert "Mean power frequency" in by_id(tablet, "all-measures-table").text
    legend = css(tablet, "svg.timeseries text.legend")
    assert {t.get_attribute("fill") for t in legend} >= {"#1f4e79", "#c0392b"}
    assert {tablet.execute_script("return getComputedStyle(arguments[0]).fill", t) for t in legend[:2]} == {
        "rgb(31, 78, 121)", "rgb(192, 57, 43)"}  # AP and ML told apart
    by_id(tablet, "export-csv").click()
    rows = list(csv.reader(io.StringIO(downloaded(downloads, f"trial-{trial_id}.csv"))))
    assert rows[0][:3] == ["time_s", "ap_cm", "ml_cm"] and len(rows) > 2900

    # The trial cut short by stepping off is shown with what ended it.
    tablet.back()
    wait(tablet, "the results again", lambda d: len(css(d, ".condition")) == 4)
    short = css(tablet, '.condition[data-condition="firm_ec"] li[data-trial-id]')[0]
    assert "held 3." in short.text and "stepped off the plate" in short.text, short.text

    # its page: no sway measures (too short), said once, no ellipse promised, nothing "all" to show
    short.find_element("css selector", "a").click()
    wait(tablet, "the short trial's page", lambda d: by_id(d, "no-measures").is_displayed())
    wait(tablet, "its plots", lambda d: css(d, "#plots svg.timeseries"))
    page_text = by_id(tablet, "trial-page").text
    assert page_text.lower().count("no sway measures") == 1, page_text
    assert not css(tablet, "svg.statokinesigram ellipse.ellipse") and "ellipse" not in by_id(tablet, "plots").text
    assert not by_id(tablet, "toggle-all").is_displayed()
    assert "stepped off the plate" in by_id(tablet, "validity").text
    # the clinician's note on the trial, apart from the judgement (which shows the station's own check)
    assert "The station's check: valid" in by_id(tablet, "station-check").text
    css(tablet, '#trial-notes textarea[name="notes"]')[0].send_keys("Reached for the rail.")
    css(tablet, "#trial-notes button[type=submit]")[0].click()
    wait(tablet, "the note saved", lambda d: by_id(d, "notes-status").text == "Saved.")
    tablet.back()
    wait(tablet, "the results with the note", lambda d: len(css(d, ".condition")) == 4
         and "Note: Reached for the rail." in css(d, '.condition[data-condition="firm_ec"] li[data-trial-id]')[0].text)

    # -- history and its export -------------------------------------------------------------
    tablet.get(patient_url + "/history")
    wait(tablet, "the history's key measure", lambda d: css(d, ".measured-once tr[data-metric]"))
    # the test's key measure, time held, for its four conditions: one visit, so a row each, not a chart of one dot (the
    # history PDF's table, s29 P15); the rest on demand
    assert not css(tablet, ".history-chart")
    time_held = css(tablet, '.measured-once tr[data-protocol="mctsib"][data-metric="time_held_s"]')
    assert len(time_held) == 4, [r.text for r in time_held]
    assert tablet.execute_script("return document.documentElement.scrollHeight") < 2 * 820
    css(tablet, "button.more-measures")[0].click()
    # the other measures, measured once too: rows of a table as well, not charts of one dot (s30 P16), and no words
    # on how a chart's point is made over no chart
    wait(tablet, "the other measures", lambda d: css(d, '.history-grid .measured-once tr[data-metric="path_length_cm"]'))
    assert not css(tablet, ".history-chart") and not by_id(tablet, "history-intro").is_displayed()
    by_id(tablet, "export-history").click()
    history_rows = list(csv.DictReader(io.StringIO(downloaded(downloads, patient_file(patient_url.rstrip("/").split("/")[-1],
                                                                                       "history", "csv")))))
    assert len(history_rows) == 5 + len(repeats), (repeats, history_rows)  # one row a trial

    # -- the same pages on a phone: no sideways scrolling, details on demand ---------------------
    phone, _ = browsers("phone", PHONE)
    phone.get(url + "/login")
    sign_in(phone, url, ADMIN)
    wait(phone, "the phone's patients page", at("/patients"))
    session_id = api(phone, "GET", patient_url.replace(url, "/api"))["body"]["sessions"][0]["id"]
    for path, what, ready, screens in (
            (f"/sessions/{session_id}", "the visit results", lambda d: len(css(d, ".condition")) == 4, 4),
            (urlsplit(patient_url).path, "the patient", lambda d: css(d, ".session-card"), 2),
            (urlsplit(patient_url).path + "/history", "the history", lambda d: css(d, ".measured-once"), 3)):
        phone.get(url + path)
        wait(phone, what, ready)
        time.sleep(0.5)  # charts drawn
        width, height = phone.execute_script("return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        assert width <= PHONE[0] and height <= screens * PHONE[1], (path, width, height)

    # -- the idle tablet was signed out by itself, and says why ---------------------------------
    wait(idle, "the automatic sign-out", lambda d: "/login" in d.current_url and "expired=1" in d.current_url, timeout_s=60)
    assert "session ended after inactivity" in css(idle, "p.message")[0].text

    # -- erase the patient (administrator, with confirmation) --------------------------------
    tablet.get(patient_url)
    wait(tablet, "the patient page", lambda d: by_id(d, "patient-title").text == "E2E-001")
    by_id(tablet, "erase-patient").click()
    fill(tablet, "confirm_identifier", "E2E-00")  # a typo: refused, nothing erased
    by_id(tablet, "erase-confirm-button").click()
    wait(tablet, "the refusal", lambda d: by_id(d, "erase-error").is_displayed())
    fill(tablet, "confirm_identifier", "E2E-001")
    by_id(tablet, "erase-confirm-button").click()
    wait(tablet, "the patients list", at("/patients"))
    wait(tablet, "an empty list", lambda d: by_id(d, "list-count").text.startswith("No patients yet"))
