"""Carter's 3-m backward walk bands on the visit results and the trial page, at tablet (1024×768) and
phone (390×844) size, in headless Chromium against the real station: a 70-year-old without
conditions (Carter's population) walks 3.40 s at one visit and 2.80 s at another.

Before, both read "not slower than the 4.5 s cut-off" in the pass colour on the visit results and the
trial page said nothing of the cut-offs; the 3.0 s low-risk threshold was only in the cut-off's words.
Now 3.40 s reads "neither high nor low fall risk (between 3 and 4.5 s)" in a plain tag, 2.80 s "low
fall risk (faster than 3 s)" in the good one, on both pages. Screenshots in the test's shots folder
(tests/e2e/conftest.py)."""

from __future__ import annotations

import time

import pytest

from test_dashboard import PHONE, css, page_width, wait
from test_phone_fixes_walk_rows import in_store

pytestmark = pytest.mark.e2e

TABLET = (1024, 768)


def _walk(store, actor, patient_id: int, day: str, time_s: float) -> tuple[int, int]:
    session = store.sessions.create(patient_id, {"label": "3mbw", "started_at": f"{day}T10:00:00+00:00"}, actor=actor)
    writer = store.trials.start_trial(session["id"], "backward-walk-3m", "fast", {"method": "nominal"}, 100.0, actor=actor)
    outcome = {"protocol": "backward-walk-3m", "condition": "fast", "label": "fast", "trial": 1, "attempt": 1,
               "valid": True, "end_reason": "gate_reached", "issues": [], "hold_end": None, "warnings": [],
               "completed": True, "duration_s": 60.0, "time_held_s": None,
               "walk": {"setting": "overground", "initial_contacts_s": [], "walk_time_s": time_s}}
    writer.finish({"kind": "walk", "fs_hz": 100.0, "samples": 0, "profile": "walk", "version": "test",
                   "metrics": {"walk_time_s": time_s, "walk_speed_m_s": 3.0 / time_s, "steps": 9,
                               "cadence_steps_min": 120.0}, "trial": outcome}, valid=True)
    return session["id"], writer.trial_id


def _fill(store, actor) -> tuple[int, dict[float, tuple[int, int]]]:
    patient = store.patients.create({"identifier": "BANDS-70", "birth_year": time.gmtime().tm_year - 70, "sex": "F"},
                                    actor=actor)
    return patient["id"], {3.4: _walk(store, actor, patient["id"], "2026-10-01", 3.4),
                           2.8: _walk(store, actor, patient["id"], "2026-11-02", 2.8)}


def _tags(driver) -> list[tuple[str, str]]:
    return wait(driver, "the cut-off tags", lambda d: [
        (t.get_attribute("class"), " ".join(t.get_attribute("textContent").split()))
        for t in css(d, '.protocol-results[data-protocol="backward-walk-3m"] .card.condition > .actions .tag[data-kind="cutoff"]')]
        or None, timeout_s=20)


BANDS = {3.4: ("tag neutral", "time 3.40 s: neither high nor low fall risk (between 3 and 4.5 s, Carter et al. 2019)"),
         2.8: ("tag valid", "time 2.80 s: low fall risk (faster than 3 s, Carter et al. 2019)")}


def test_a_backward_walk_reads_as_its_band_on_the_results_and_the_trial_page(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, (patient_id, stored) = reading_pages.tablet_and_phone(lambda data_dir: in_store(data_dir, _fill))
    tablet.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",  # the set-up's tablet (1180 wide) at 1024×768
                           {"width": TABLET[0], "height": TABLET[1], "deviceScaleFactor": 1, "mobile": False})
    for driver, size, name in ((tablet, TABLET, "tablet"), (phone, PHONE, "phone")):
        for time_s, (session_id, trial_id) in stored.items():
            driver.get(f"{station.url}/sessions/{session_id}")
            tags = _tags(driver)
            assert BANDS[time_s] in tags, (name, tags)
            assert not any("not slower than the 4.5 s" in t or "criterion" in t for _, t in tags), tags
            row = " ".join(" ".join(e.get_attribute("textContent").split()) for e in
                           css(driver, '.protocol-results[data-protocol="backward-walk-3m"] tr[data-metric="walk_time_s"]'))
            assert "Faster than 3.0 s: low risk of falls" in row and "slower than 4.5 s: high risk of falls" in row, row
            assert page_width(driver) <= size[0]
            driver.save_screenshot(str(shots / f"results-{time_s}-{name}.png"))

            driver.get(f"{station.url}/trials/{trial_id}")
            block = wait(driver, "the trial's cut-offs", lambda d: css(d, "#trial-cutoffs") or None, timeout_s=20)[0]
            text = " ".join(block.get_attribute("textContent").split())
            assert f"Time {time_s:.2f} s" in text and BANDS[time_s][1].split(": ", 1)[1].split(" (")[0] in text, text
            pill = css(driver, '#trial-cutoffs .trial-cutoff[data-metric="walk_time_s"] .tag')[0]
            assert pill.get_attribute("class") == BANDS[time_s][0], pill.get_attribute("class")
            assert "not slower than the 5.5 s fall-history cut-off" in text  # Polo-Ferrero's single cut-off, as on the results
            assert page_width(driver) <= size[0]
            driver.execute_script("arguments[0].scrollIntoView()", block)
            driver.save_screenshot(str(shots / f"trial-{time_s}-{name}.png"))
        # the patient page's trials show each walk's time and speed (from its listing), within the screen
        driver.get(f"{station.url}/patients/{patient_id}")
        wait(driver, "the walk times", lambda d: d.execute_script(
            "document.querySelectorAll('#sessions details').forEach((x) => x.open = true);"
            "return [...document.querySelectorAll('#sessions td.walk-time')].map((c) => c.innerText)").__len__() == 2)
        times = driver.execute_script("return [...document.querySelectorAll('#sessions td.walk-time')].map((c) => c.innerText.split('\\n')[0])")
        assert sorted(times) == ["2.80 s", "3.40 s"], times
        assert page_width(driver) <= size[0]
        driver.execute_script("document.querySelector('#sessions').scrollIntoView()")
        driver.save_screenshot(str(shots / f"patient-{name}.png"))
