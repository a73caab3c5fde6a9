"""The live page on a station whose disk is full: Open test and Start are refused with what
happened and what to do, where the clinician who tapped them sees it, on a tablet (1180x820) and a
phone (390x844), and so is a programme's treadmill session started from its page; once space is
freed a test opens again, without a restart.

A review found, on a station whose data directory sat on a 48 MB tmpfs filled by ``dd``, that the
live page went on opening tests and starting trials while ``/healthz`` said "disk full: trials
cannot be recorded": 13 more trials ate the space reserve kept for sign-ins, then nobody could
sign in. Here the real station (``balance-station run --simulate``) runs on such a tmpfs (its data
directory the mount point, so that only the data fills it). Screenshots in the test's shots folder.
"""

from __future__ import annotations

import pytest

from e2e_support import browser_or_skip, running_station
from test_dashboard import ADMIN, PHONE, api, at, by_id, css, select_protocol, setup_admin, sign_in, wait
from small_disk import fill, mounted_tmpfs

pytestmark = pytest.mark.e2e

ON_SCREEN = """
const b = document.getElementById(arguments[0]).getBoundingClientRect();
let bottom = innerHeight;  // a phone's controls sit in a bar fixed at the bottom: the screen ends above it
for (let e = document.getElementById('controls'); e && e !== document.body; e = e.parentElement)
  if (getComputedStyle(e).position === 'fixed') { bottom = Math.min(bottom, e.getBoundingClientRect().top); break; }
return b.height > 0 && b.top >= 0 && b.bottom <= bottom && b.left >= 0 && b.right <= innerWidth;"""
"""Whether the element is wholly on the screen, not under a phone's bar of controls."""


@pytest.fixture
def station_on_a_small_disk(tmp_path):
    """The station with its data directory on a 48 MB tmpfs of its own (root only)."""
    browser_or_skip()
    with mounted_tmpfs(tmp_path / "data", 48, mode="0700") as data, running_station(data, "patient") as station:
        yield station


def _refused(driver, what: str) -> str:
    """The refusal's words once the page shows them, checked on the screen."""
    words = wait(driver, what, lambda d: by_id(d, "page-error").is_displayed() and by_id(d, "page-error").text or None,
                 timeout_s=15)
    assert driver.execute_script(ON_SCREEN, "page-error"), f"{what}: the words are off the screen"
    return words


def _open_romberg(driver) -> None:

    select_protocol(driver, "romberg")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", by_id(driver, "open-run"))
    by_id(driver, "open-run").click()


def test_open_test_and_start_are_refused_in_words_while_the_disk_is_full(station_on_a_small_disk, browsers, shots):
    station = station_on_a_small_disk
    url = station.url
    tablet, _ = browsers("tablet")
    setup_admin(tablet, url)
    created = api(tablet, "POST", "/api/patients", {"identifier": "FULL-01", "birth_year": 1950, "sex": "F"})
    assert created["status"] == 201, created
    live = f"{url}/live?patient={created['body']['id']}"
    today = tablet.execute_script("return new Date().toISOString().slice(0, 10)")
    assigned = api(tablet, "POST", f"/api/patients/{created['body']['id']}/programmes",
                   {"template": "backward-walking-stroke", "start_date": today})
    assert assigned["status"] == 201, assigned
    programme = f"{url}/assignments/{assigned['body']['id']}"
    tablet.get(live)
    wait(tablet, "the live stream", lambda d: by_id(d, "conn").text == "live")
    _open_romberg(tablet)
    wait(tablet, "the Start button", lambda d: by_id(d, "btn-start").is_enabled(), timeout_s=30)

    filler = fill(station.data_dir)  # dd: the disk full, the test open
    by_id(tablet, "btn-start").click()
    words = _refused(tablet, "Start refused on the tablet")
    for part in ("disk is full, so the trial was not started", "signing in and results still work",
                 "Everything recorded is kept", "Free space on the station", "press Start again"):
        assert part in words, words
    assert by_id(tablet, "trial-state").get_attribute("data-state") == "instructions"
    tablet.save_screenshot(str(shots / "tablet-start-refused.png"))

    phone, _ = browsers("phone", PHONE)
    phone.get(url + "/login")
    sign_in(phone, url, ADMIN)  # the sign-in goes on: the reserve is for it
    wait(phone, "the phone's patients page", at("/patients"))
    phone.get(live)
    wait(phone, "the Start button on the phone", lambda d: by_id(d, "btn-start").is_enabled(), timeout_s=30)
    by_id(phone, "btn-start").click()
    assert _refused(phone, "Start refused on the phone") == words
    phone.save_screenshot(str(shots / "phone-start-refused.png"))

    by_id(phone, "btn-close").click()
    wait(phone, "the test ended", lambda d: by_id(d, "open-run").is_displayed(), timeout_s=15)
    _open_romberg(phone)
    opened = _refused(phone, "Open test refused on the phone")
    assert "disk is full, so the test was not opened" in opened and opened.endswith("then press Open test again."), opened
    phone.save_screenshot(str(shots / "phone-open-refused.png"))
    tablet.get(live)
    wait(tablet, "the Open test button", lambda d: by_id(d, "open-run").is_enabled(), timeout_s=30)
    _open_romberg(tablet)
    assert _refused(tablet, "Open test refused on the tablet") == opened
    tablet.save_screenshot(str(shots / "tablet-open-refused.png"))

    # a programme's treadmill session, started from its page: the same gate, the words by its button
    for driver, name in ((tablet, "tablet"), (phone, "phone")):
        driver.get(programme)
        wait(driver, "the programme loaded", lambda d: by_id(d, "programme-page").get_attribute("data-loaded") == "yes")
        css(driver, '.cal-item.session[data-number="1"]')[0].click()
        wait(driver, "the session's Start button", lambda d: by_id(d, "run-session").is_displayed())
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", by_id(driver, "run-session"))
        by_id(driver, "run-session").click()
        words = wait(driver, "the programme session refused", lambda d: by_id(d, "run-session-error").is_displayed()
                     and by_id(d, "run-session-error").text or None, timeout_s=15)
        assert "disk is full, so the test was not opened" in words and "/assignments/" in driver.current_url, words
        # what to do names the button under which the words are (before: "open the test again", beside "Start ...")
        button = by_id(driver, "run-session").text  # "Start Backward treadmill walking session (30 min)"
        assert words.endswith(f"then press {button.rsplit(' (', 1)[0]} again."), (button, words)
        assert driver.execute_script(ON_SCREEN, "run-session-error"), f"{name}: the words are off the screen"
        driver.save_screenshot(str(shots / f"{name}-programme-session-refused.png"))

    tablet.get(live)
    wait(tablet, "the Open test button", lambda d: by_id(d, "open-run").is_enabled(), timeout_s=30)
    _open_romberg(tablet)
    _refused(tablet, "Open test refused again")
    filler.unlink()  # space freed: the test opens, no restart
    by_id(tablet, "open-run").click()
    wait(tablet, "the Start button once space is freed", lambda d: by_id(d, "btn-start").is_enabled(), timeout_s=30)
    assert not by_id(tablet, "page-error").is_displayed()
    assert station.health()["storage"]["state"] != "full"
    assert (station.data_dir / "space-reserve").stat().st_size == 8 * 1024 * 1024
