"""What the visit results and the history show of a visit, read as a clinician reads it (an outside review), in headless
Chromium at tablet (1180x820) and phone (390x844) size against the real station (simulated hardware), from stored
trials: a visit's treadmill sessions of different plans and belt speeds each said against their own plan, never
averaged, and the history's change between them not made."""

from __future__ import annotations

import pytest

from e2e_support import set_size
from test_dashboard import PHONE, TABLET, css, wait
from test_walk_words_on_pages import text_of

pytestmark = pytest.mark.e2e

TREADMILL = (("2026-12-05T20:00:00+00:00", 0.5, 1.0, 1.0, 60.0, 95.0),
             ("2026-12-05T20:29:00+00:00", 2.0 / 3.6, 30.0, 0.333, 21.0, 97.8))
"""(start, belt m/s, planned min, walked min, recorded s, cadence): a 1-minute test at 1.8 km/h, then a 30-minute
programme session stopped at 0:21 at 2.0 km/h."""


def _treadmill_visit(data_dir, identifier: str = "PLANS-1", sessions=TREADMILL) -> tuple[int, int]:
    """A patient with :data:`TREADMILL`'s visit: (patient id, its last session id)."""
    from station.store.audit import Actor
    from station.store.store import Store

    store = Store.open(data_dir)
    actor = Actor(None, "test")
    patient = store.patients.create({"identifier": identifier, "birth_year": 1950, "sex": "F"}, actor=actor)
    for started, belt, planned, walked, recorded, cadence in sessions:
        session = store.sessions.create(patient["id"], {"label": "treadmill", "started_at": started}, actor=actor)
        writer = store.trials.start_trial(session["id"], "backward-treadmill", "session", {"method": "nominal"}, 100.0,
                                          actor=actor)
        metrics = {"walking_min": walked, "planned_min": planned, "pauses": 0, "pause_s": 0.0, "steps": 60,
                   "cadence_steps_min": cadence, "stride_time_cv_pct": 3.0, "walk_time_s": walked * 60.0,
                   "walk_speed_m_s": belt, "belt_speed_m_s": belt, "walk_distance_m": walked * 60.0 * belt}
        outcome = {"protocol": "backward-treadmill", "condition": "session", "label": "session", "trial": 1, "attempt": 1,
                   "valid": True, "end_reason": "duration", "issues": [], "hold_end": None, "warnings": [],
                   "completed": True, "duration_s": planned * 60.0, "time_held_s": None, "analysis_end_s": recorded,
                   "walk": {"setting": "treadmill", "belt_speed_m_s": belt, "walking_min": walked, "planned_min": planned}}
        writer.finish({"kind": "walk", "fs_hz": 100.0, "samples": 0, "profile": "walk", "version": "test",
                       "metrics": metrics, "trial": outcome}, valid=True)
    store.close()
    return patient["id"], session["id"]


def test_treadmill_sessions_of_other_plans_are_each_said(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, (patient_id, last) = reading_pages.tablet_and_phone(_treadmill_visit)
    section = '.protocol-results[data-protocol="backward-treadmill"]'
    for driver, size in ((tablet, TABLET), (phone, PHONE)):
        set_size(driver, size)
        driver.get(f"{station.url}/sessions/{last}")
        glance = wait(driver, "the treadmill's glance", lambda d: text_of(css(d, f"{section} .card.condition > .actions .tag")))
        assert "1 min walked of 1 min planned at 1.8 km/h" in glance, glance
        assert "20 s walked of 30 min planned at 2.0 km/h: stopped early, at 0:21" in glance, glance
        assert "on average" not in glance and "%" not in glance and "steps/min" not in glance, glance
        cadence = [" ".join(d.get_attribute("textContent").split())  # each on its line
                   for d in css(driver, f'{section} tr[data-metric="cadence_steps_min"] td.value > div')]
        assert cadence == ["95.0 steps/min at 1.8 km/h", "97.8 steps/min at 2.0 km/h"], cadence
        walked = text_of(css(driver, f'{section} tr[data-metric="walking_min"]'))
        assert "not averaged (planned 1 and 30 min, belt speed 1.8 and 2.0 km/h)" in walked, walked
        assert "on average" not in driver.find_element("tag name", "main").text
        assert driver.execute_script("return document.documentElement.scrollWidth") <= size[0], size
        css(driver, section)[0].location_once_scrolled_into_view
        driver.save_screenshot(str(shots / f"treadmill-visit-{size[0]}x{size[1]}.png"))

        driver.get(f"{station.url}/patients/{patient_id}/history")
        page = wait(driver, "the history's charts", lambda d: "Time walking" in d.find_element("tag name", "main").text
                    and d.find_element("tag name", "main").text)
        # the time walked read at one plan and one belt speed (s25: the rule its chart's lines follow too)
        assert "Change since the first session: not compared: planned 1 vs 30 min, belt speed 1.8 vs 2.0 km/h." in page, page
        assert "Change since the first session: not compared: belt speed 1.8 vs 2.0 km/h." in page, page  # cadence
        assert "-0.7 min" not in page and "-0.6 min" not in page, page
        # times walked under 2 min drawn in seconds: an axis of whole seconds, not of 0.2, 0.4 ... min
        axis = [t.get_attribute("textContent") for t in
                css(driver, '.history-chart[data-metric="walking_min"] svg.chart > text:not(.day):not(.session-tick)')]
        assert "s" in axis and "min" not in axis and all(t == "s" or t.isdigit() for t in axis), axis
        assert driver.execute_script("return document.documentElement.scrollWidth") <= size[0], size
        driver.save_screenshot(str(shots / f"treadmill-history-{size[0]}x{size[1]}.png"))


def _single_leg(data_dir) -> int:
    """A patient with a single-leg stance session: a hold of 30.0 s in a recording of 31.2 s, and a trial where the
    other foot never lifted (the station's no_liftoff, invalid): the patient's id."""
    import numpy as np

    from station.acquire.frame import empty_frames
    from station.store.audit import Actor
    from station.store.store import Store

    store = Store.open(data_dir)
    actor = Actor(None, "test")
    patient = store.patients.create({"identifier": "HOLD-1", "birth_year": 1950, "sex": "F"}, actor=actor)
    session = store.sessions.create(patient["id"], {"label": "single-leg"}, actor=actor)
    for trial, held, recorded in ((1, 30.0, 31.2), (2, None, 8.0)):
        writer = store.trials.start_trial(session["id"], "single-leg", "left", {"method": "nominal"}, 100.0, actor=actor)
        frames = empty_frames(round(recorded * 100))
        frames["seq"] = np.arange(len(frames))
        frames["t_ns"] = frames["seq"] * 10_000_000
        frames["fz_n"] = 700.0
        writer.append(frames)
        never = "The other foot was never lifted: the centre of pressure stayed between the feet."
        outcome = {"protocol": "single-leg", "condition": "left", "trial": trial, "attempt": 1, "valid": held is not None,
                   "end_reason": "duration" if held else "invalid", "warnings": [], "completed": held == 30.0,
                   "issues": [] if held else [{"code": "no_liftoff", "message": never, "at_s": None}],
                   "duration_s": 30.0, "time_held_s": held, "hold_end": None}
        writer.finish({"fs_hz": 100.0, "samples": len(frames), "profile": "station", "version": "test",
                       "metrics": {"mean_velocity_cm_s": 2.9, "ellipse_area_cm2": 16.8} if held else {},
                       "trial": outcome}, valid=held is not None, reason=None if held else never)
    store.close()
    return patient["id"]


def test_the_patient_page_shows_a_holds_time_held_beside_its_recording(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, patient_id = reading_pages.tablet_and_phone(_single_leg)
    for driver, size in ((tablet, TABLET), (phone, PHONE)):
        driver.get(f"{station.url}/patients/{patient_id}")
        table = '.session-trials table.trials-table'
        wait(driver, "the trials' table", lambda d: css(d, f"{table} tbody tr"))
        if not css(driver, "details.session-trials[open]"):
            css(driver, "details.session-trials > summary")[0].click()
        headers = [" ".join(h.get_attribute("textContent").split()) for h in css(driver, f"{table} thead th")]
        assert "Recording (s)" in headers and "Time held" in headers and "Length (s)" not in headers, headers
        rows = [[" ".join(c.get_attribute("textContent").split()) for c in css(r, "td")]
                for r in css(driver, f"{table} tbody tr")]
        held = headers.index("Time held")
        assert [r[held] for r in rows] == ["30.0 s", "unable: did not lift a foot"], rows
        assert rows[0][headers.index("Recording (s)")] == "31.2", rows  # (on a phone hidden: the trial's page has it)
        assert driver.execute_script("const t = document.querySelector(arguments[0]); return t.getBoundingClientRect()"
                                     ".right <= t.parentElement.getBoundingClientRect().right + 0.5", table), size
        assert driver.execute_script("return document.documentElement.scrollWidth") <= size[0], size
        css(driver, table)[0].location_once_scrolled_into_view
        driver.save_screenshot(str(shots / f"single-leg-patient-{size[0]}x{size[1]}.png"))


def _means_visit(data_dir) -> int:
    """A visit of two 3-m backward walks (3.69 and 3.63 s, step symmetry 1.006 and 0.994, 24 steps each) and three single-leg holds (ellipses 19.08, 15.2 and
    16.24 cm²): its last session id."""
    from station.store.audit import Actor
    from station.store.store import Store

    store = Store.open(data_dir)
    actor = Actor(None, "test")
    patient = store.patients.create({"identifier": "MEANS-1", "birth_year": 1950, "sex": "F"}, actor=actor)
    for protocol, condition, values in (("backward-walk-3m", "fast", (3.69, 3.63)), ("single-leg", "left", (19.08, 15.2, 16.24))):
        session = store.sessions.create(patient["id"], {"label": protocol}, actor=actor)
        for trial, value in enumerate(values, start=1):  # numbered as the runner numbers them (were all "trial 1")
            writer = store.trials.start_trial(session["id"], protocol, condition, {"method": "nominal"}, 100.0, actor=actor)
            walk = protocol == "backward-walk-3m"
            outcome = {"protocol": protocol, "condition": condition, "trial": trial, "attempt": 1, "valid": True,
                       "end_reason": "gate_reached" if walk else "duration", "issues": [], "hold_end": None,
                       "warnings": [], "completed": True, "duration_s": 60.0 if walk else 30.0,
                       "time_held_s": None if walk else 30.0}
            if walk:
                outcome["walk"] = {"setting": "overground", "initial_contacts_s": []}
            metrics = {"walk_time_s": value, "walk_distance_m": 3.0, "walk_speed_m_s": 3.0 / value,
                       "step_symmetry": {3.69: 1.006, 3.63: 0.994}[value], "steps": 24} if walk else \
                {"ellipse_area_cm2": value, "mean_velocity_cm_s": 2.9, "path_length_cm": 88.4}
            writer.finish({"kind": "walk" if walk else "stance", "fs_hz": 100.0, "samples": 0, "profile": "station",
                           "version": "test", "metrics": metrics, "trial": outcome}, valid=True)
    store.close()
    return session["id"]


def test_a_mean_of_several_trials_says_so(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, last = reading_pages.tablet_and_phone(_means_visit)
    for driver, size in ((tablet, TABLET), (phone, PHONE)):
        driver.get(f"{station.url}/sessions/{last}")
        row = lambda d, protocol, metric: text_of(css(d, f'.protocol-results[data-protocol="{protocol}"] '  # (the key
                                                         f'tr[data-metric="{metric}"] td.value')[:1])  # measures' row)
        time = wait(driver, "the backward walk's time", lambda d: row(d, "backward-walk-3m", "walk_time_s"))
        assert time == "3.66 s(mean of 2 trials: 3.69, 3.63 s)", time
        # a measure without a unit's rule: its trials in the decimals of their mean (it read "1.01, 0.994")
        symmetry = row(driver, "backward-walk-3m", "step_symmetry")
        assert symmetry == "1.00(mean of 2 trials: 1.01, 0.99)", symmetry
        # both walks counted 24 steps: said in each, not a bare "24" beside "mean of 2 trials" read as their total
        steps = row(driver, "backward-walk-3m", "steps")
        assert steps == "24 in each of 2 trials", steps
        # the all-measures table too, under its "counts are each trial's as counted" (it read a bare "24", s29 P14)
        steps = text_of(css(driver, '#all-backward-walk-3m-fast tr[data-metric="steps"] td.value'))
        assert steps == "24 in each of 2 trials", steps
        area = row(driver, "single-leg", "ellipse_area_cm2")
        assert area == "16.84 cm²(mean of 3 trials: 19.08, 15.20, 16.24 cm²)", area
        held = row(driver, "single-leg", "time_held_s")
        assert "mean" not in held, held  # the score, said its own way
        names = [text_of([a]) for a in css(driver, ".protocol-results .trial-list a")]  # no two alike (review s22)
        assert len(names) == 5 and len(set(names)) == 5, names
        assert driver.execute_script("return document.documentElement.scrollWidth") <= size[0], size
        driver.execute_script("document.querySelectorAll('details.condition-details').forEach((d) => { d.open = true; })")
        assert driver.execute_script("return document.documentElement.scrollWidth") <= size[0], size  # opened too
        for protocol in ("backward-walk-3m", "single-leg"):
            css(driver, f'.protocol-results[data-protocol="{protocol}"] table.measures')[0].location_once_scrolled_into_view
            driver.save_screenshot(str(shots / f"means-{protocol}-{size[0]}x{size[1]}.png"))
        driver.execute_script("arguments[0].parentElement.hidden = false; arguments[0].scrollIntoView()",
                              css(driver, "#all-backward-walk-3m-fast")[0])  # (Show all measures)
        driver.save_screenshot(str(shots / f"means-all-measures-{size[0]}x{size[1]}.png"))


def test_one_visit_of_two_tests_is_one_visit_in_the_list_and_the_history(reading_pages, shots):
    """The list counts visits (before: "Sessions 2" for the visit the patient page and history PDF call "1 visit"),
    and the history's axis names two sessions of one day drawn apart by their number and time (before: "Dec 5"
    under each)."""
    station = reading_pages.station
    tablet, phone, (patient_id, _last) = reading_pages.tablet_and_phone(lambda d: _treadmill_visit(d, "VISITS-1"))
    for driver, size in ((tablet, TABLET), (phone, PHONE)):
        driver.get(f"{station.url}/patients")
        row = f'#patients tr[data-patient-id="{patient_id}"]'
        cells = wait(driver, "the patient's row", lambda d: [" ".join(c.get_attribute("textContent").split())
                                                              for c in css(d, f"{row} td")])
        headers = [" ".join(h.get_attribute("textContent").split()) for h in css(driver, "#patients thead th")]
        assert headers[4:] == ["Visits", "Last test"], headers
        assert cells[4] == "1", (headers, cells)
        driver.save_screenshot(str(shots / f"patients-list-{size[0]}x{size[1]}.png"))

        driver.get(f"{station.url}/patients/{patient_id}/history")
        wait(driver, "the history's charts", lambda d: css(d, "svg.chart.history"))
        chart = css(driver, "svg.chart.history")[0]
        ticks = [t.get_attribute("textContent") for t in css(chart, "text.session-tick")]
        days = [t.get_attribute("textContent") for t in css(chart, "text.day")]
        assert ticks == ["Test 1", "08:00 PM", "Test 2", "08:29 PM"], ticks  # each one's number and time
        assert days == ["Dec 5"], days
        chart.location_once_scrolled_into_view
        driver.save_screenshot(str(shots / f"history-axis-{size[0]}x{size[1]}.png"))


def test_a_visit_of_another_plan_than_the_previous_one_is_not_compared(reading_pages, shots):
    """A 30-minute session at 2.0 km/h a week after a 1-minute test at 1.8 km/h: the visit results name what differs,
    no change (before: '-0.67 min since the visit of ...', '+2.8 steps/min since ...')."""
    station = reading_pages.station
    visits = (("2026-12-01T10:00:00+00:00", 0.5, 1.0, 1.0, 60.0, 95.0),
              ("2026-12-08T10:00:00+00:00", 2.0 / 3.6, 30.0, 29.0, 1800.0, 97.8))
    tablet, phone, (_patient_id, last) = reading_pages.tablet_and_phone(
        lambda d: _treadmill_visit(d, "PLANS-3", visits))
    section = '.protocol-results[data-protocol="backward-treadmill"]'
    for driver, size in ((tablet, TABLET), (phone, PHONE)):
        driver.get(f"{station.url}/sessions/{last}")
        walked = wait(driver, "the time walking", lambda d: text_of(css(d, f'{section} tr[data-metric="walking_min"]')[:1]))
        assert "Since the visit of" in walked and ": not compared: planned 1 vs 30 min, belt speed 1.8 vs 2.0 km/h." \
            in walked and "+28" not in walked, walked
        cadence = text_of(css(driver, f'{section} tr[data-metric="cadence_steps_min"]')[:1])
        assert "not compared: belt speed 1.8 vs 2.0 km/h." in cadence and "+2.8" not in cadence, cadence
        driver.execute_script("document.querySelectorAll('details.condition-details').forEach((d) => { d.open = true; })")
        assert driver.execute_script("return document.documentElement.scrollWidth") <= size[0], size
        css(driver, f'{section} tr[data-metric="walking_min"]')[0].location_once_scrolled_into_view
        driver.save_screenshot(str(shots / f"treadmill-not-compared-{size[0]}x{size[1]}.png"))
