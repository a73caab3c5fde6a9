"""A walk recorded without the lower-back IMU says so once under its figure, on the trial page and the
visit results, at tablet (1024×768) and phone (390×844) size in headless Chromium.

Before, the figure said "No acceleration recorded (was the IMU worn and connected?)" and its caption
under it "No acceleration trace: no acceleration was recorded in this trial (was the IMU worn and
connected?)." Screenshots in the test's shots folder (tests/e2e/conftest.py)."""

from __future__ import annotations

import pytest

from test_dashboard import PHONE, page_width, wait
from test_phone_fixes_no_imu import _store

pytestmark = pytest.mark.e2e

TABLET = (1024, 768)

FIGURE_WORDS = """
return [...document.querySelectorAll('main figure')].map((f) => f.innerText.trim()).filter((t) => /acceleration/i.test(t));"""


def test_a_walk_without_acceleration_says_why_once(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, (session_id, trial_id) = reading_pages.tablet_and_phone(lambda data_dir: _store(data_dir, "NO-IMU-CAPTION"))
    tablet.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",  # the set-up's tablet (1180 wide) at 1024×768
                           {"width": TABLET[0], "height": TABLET[1], "deviceScaleFactor": 1, "mobile": False})
    for driver, size, name in ((tablet, TABLET, "tablet"), (phone, PHONE, "phone")):
        for page, path in (("trial", f"/trials/{trial_id}"), ("visit", f"/sessions/{session_id}")):
            driver.get(station.url + path)
            figures = wait(driver, "the walk's figure", lambda d: d.execute_script(
                "document.querySelectorAll('main details').forEach((x) => x.open = true);" + FIGURE_WORDS) or None,
                timeout_s=20)
            (words,) = figures
            # the sensor by the name a clinician knows it by, as the walk panel and the trial lines name it ("the IMU")
            assert words == "No acceleration recorded (was the lower-back sensor worn and connected?)", (name, page, words)
            assert page_width(driver) <= size[0]
            driver.execute_script("document.querySelector('main figure').scrollIntoView()")
            driver.save_screenshot(str(shots / f"no-imu-{page}-{name}.png"))
