"""A backward treadmill session's pages read right, at tablet (1024×768) and phone (390×844) size in
headless Chromium against the real station: a session, then a week later a visit of two (belt 1.8, then 1.8
and 2.2 km/h, cadence 96.5 steps/min).

- The visit results say the cadence by the unit's rule, "96.5 steps/min at 1.8 km/h" for each session (the visit's
  two belt speeds are not pooled, so no cadence at a glance); before it rounded to whole steps ("97 steps/min").
- The belt speed, entered by the clinician, says its change as a setting (the visit's sessions at 1.8 and 2.2 km/h
  against the previous visit's: "Set at 1.8 km/h (0.50 m/s) at the visit of ..."; the history, a point a session:
  "Set +0.4 km/h since the first session"), on the visit results and the history; before, a measured change's line ("+0.10 m/s since ... No published minimal
  detectable change").
- A visit's two sessions each have their belt speed, "1.8 and 2.2 km/h (0.50 and 0.60 m/s; 2 sessions)"; before,
  their mean, "2.0 km/h (0.55 m/s)", a speed nobody set.
- The programme page's dose taken from the session says its speed once, as entered ("belt 2.2 km/h (0.60 m/s)");
  before, "0.60 m/s" as well.
- The acceleration trace (gravity included, so no 0 on its axis) has its reference, a dashed line at 1 g,
  and its time axis says "time, s" under its numbers (before, at the top right, on the legend's line).
- The history charts' first points are drawn clear of the value labels (before, on the axis itself: on a
  phone a 5-px point touched the labels "100", "1").
Screenshots in the test's shots folder (tests/e2e/conftest.py)."""

from __future__ import annotations

import pytest

from e2e_support import TABLET as WIDE_TABLET, set_size
from test_dashboard import PHONE, api, css, page_width, wait
from test_phone_fixes_walk_rows import in_store
from test_walk_phone_charts import RATE_HZ, STEP_S, _walk_frames

pytestmark = pytest.mark.e2e

TABLET = (1024, 768)


def _fill(store, actor) -> tuple[int, int, int]:
    """Three treadmill sessions, the last two one visit a week after the first, each a 30-s recording with its
    steps: (patient id, last session id, last trial id)."""
    patient = store.patients.create({"identifier": "TREADMILL-READ", "birth_year": 1952, "sex": "F"}, actor=actor)
    contacts = [round(1.0 + i * STEP_S, 3) for i in range(52)]
    for day, belt, steps, pauses in (("2026-11-02T10:00", 0.5, 50, 2), ("2026-11-09T09:30", 0.5, 52, 1),
                                     ("2026-11-09T10:00", 0.6, 54, 1)):
        session = store.sessions.create(patient["id"], {"label": "treadmill", "started_at": f"{day}:00+00:00"},
                                        actor=actor)
        writer = store.trials.start_trial(session["id"], "backward-treadmill", "session", {"method": "nominal"}, RATE_HZ,
                                          actor=actor)
        writer.append(_walk_frames(30.0))
        minute = {"minute": 1, "part": 1, "start_s": 0.0, "end_s": 30.0, "walking_s": 29.0, "steps": 52,
                  "cadence_steps_min": 96.5, "step_time_cv_pct": 4.2, "stride_time_cv_pct": 2.8, "pauses": 0, "pause_s": 0.0}
        walk = {"setting": "treadmill", "belt_speed_m_s": belt, "walking_min": 0.5, "planned_min": 0.5, "by_minute": [minute]}
        outcome = {"protocol": "backward-treadmill", "condition": "session", "label": "session", "trial": 1, "attempt": 1,
                   "valid": True, "end_reason": "duration", "issues": [], "hold_end": None, "warnings": [],
                   "completed": True, "duration_s": 30.0, "time_held_s": None, "walk": walk}
        writer.finish({"kind": "walk", "fs_hz": RATE_HZ, "samples": 3000, "profile": "walk", "version": "test",
                       "metrics": {"walking_min": 0.5, "planned_min": 0.5, "pauses": pauses, "pause_s": 4.0 * pauses, "steps": steps,
                                   "cadence_steps_min": 96.5, "step_time_cv_pct": 4.2, "walk_time_s": 29.0,
                                   "walk_speed_m_s": belt, "belt_speed_m_s": belt},
                       "initial_contacts_s": contacts, "by_minute": [minute], "trial": outcome}, valid=True)
    # a test opened between the two sessions and left, nothing recorded: no number on the visit page nor the chart
    store.sessions.create(patient["id"], {"label": "treadmill", "started_at": "2026-11-09T09:45:00+00:00"}, actor=actor)
    return patient["id"], session["id"], writer.trial_id


LARGE_PRINT = """
return [...arguments[0].childNodes].filter((n) => !(n.classList && n.classList.contains('small')))
  .map((n) => n.textContent).join('');"""
"""A since-line's words in its large print (its small print left out)."""

TRACE = """
const svg = document.querySelector('svg.steps-trace');
const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
const texts = [...svg.querySelectorAll('text')];
const title = texts.find((t) => t.textContent === 'time, s');
const gravity = svg.querySelector('line.gravity');
return {title: title && box(title), others: texts.filter((t) => t !== title).map((t) => [t.textContent, ...box(t)]),
        gravity: gravity && [gravity.getAttribute('y1'), gravity.getAttribute('stroke-dasharray')],
        gravityLabel: (svg.querySelector('text.gravity-label') || {}).textContent};"""
"""The steps trace's time-axis title's box, every other label's, and its 1-g line."""

CLEARANCE = """
return [...document.querySelectorAll('svg.chart.history')].map((svg) => {
  const labels = [...svg.querySelectorAll('text[text-anchor="end"]')].filter((t) => /^-?[\\d.]+$/.test(t.textContent));
  const right = Math.max(...labels.map((t) => t.getBoundingClientRect().right));
  const left = Math.min(...[...svg.querySelectorAll('circle.point')].map((c) => c.getBoundingClientRect().left));
  return [svg.getAttribute('aria-label'), right, left];
});"""
"""Per history chart: its label, the right edge of its value labels and the left edge of its leftmost point (px)."""


SPREAD = """
const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
return [...document.querySelectorAll('svg.chart.history')].map((svg) => {
  const centres = [...svg.querySelectorAll('circle.point')].map((c) => { const b = box(c); return (b[0] + b[2]) / 2; });
  const axis = [...svg.querySelectorAll('text.session-tick, text.day')];
  return {label: svg.getAttribute('aria-label'), xs: [...new Set(centres.map(Math.round))].sort((a, b) => a - b),
          ticks: [...svg.querySelectorAll('text.session-tick')].map((t) => t.textContent),
          days: [...svg.querySelectorAll('text.day')].map((t) => t.textContent), axis: axis.map(box),
          svg: box(svg), font: Math.max(...[...svg.querySelectorAll('text')].map((t) => box(t)[3] - box(t)[1]))};
});"""
"""Per history chart: its sessions' points across (px), the labels under them, its days, every axis label's box,
its own box and its tallest label (px)."""


def _spread_apart(name: str, charts: list[dict]) -> None:
    """Every history chart draws the visit's two sessions (09:30 and 10:00) apart, each labelled under its point as
    the visit page names it ("Session 1", its time), the day once, no label on another, none wider than the chart;
    its labels about the 12 px of the page (before: 2 px apart at 1024 px, one crowded point; and a one-test history
    drew its 520-px chart at the page's width, labels 25 px tall at 1024 px, 30 px at 1180)."""
    assert charts, name
    for c in charts:
        assert len(c["xs"]) == 3 and min(b - a for a, b in zip(c["xs"], c["xs"][1:])) >= 14, (name, c)
        assert c["ticks"][:2] == ["Test 1", "09:30 AM"] and c["ticks"][2:] == ["Test 2", "10:00 AM"], (name, c)
        assert c["days"] == ["Nov 2", "Nov 9"], (name, c)
        inner = [[a[0], a[1] + 1, a[2], a[3] - 1] for a in c["axis"]]  # (rows 14 px apart: boxes touching)
        assert not [(a, b) for i, a in enumerate(inner) for b in inner[i + 1:] if _overlap(a, b)], (name, c)
        assert all(c["svg"][0] <= a[0] and a[2] <= c["svg"][2] for a in c["axis"]), (name, c)
        assert c["font"] <= 17, (name, c["label"], c["font"])


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_a_treadmill_sessions_pages_read_right_on_a_tablet_and_a_phone(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, (patient_id, last, trial_id) = reading_pages.tablet_and_phone(lambda data_dir: in_store(data_dir, _fill))
    tablet.get(station.url + "/patients")  # a page of the station's, for its API calls
    wait(tablet, "the patients page", lambda d: css(d, 'meta[name="csrf-token"]'))
    programme = api(tablet, "POST", f"/api/patients/{patient_id}/programmes", {"template": "backward-walking-stroke",
                                                                              "start_date": "2026-11-09"})["body"]
    assert api(tablet, "POST", f"/api/programme-sessions/{programme['sessions'][0]['id']}/dose",
               {"trial_id": trial_id})["status"] == 200
    tablet.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": TABLET[0], "height": TABLET[1], "deviceScaleFactor": 1, "mobile": False})
    for driver, size, name in ((tablet, TABLET, "tablet"), (phone, PHONE, "phone")):
        driver.get(f"{station.url}/sessions/{last}")
        tags = wait(driver, "the glance's tags", lambda d: [t.text for t in css(d, '.tag[data-kind="walk"]') if t.text] or None)
        # the visit's sessions at 1.8 and 2.2 km/h: no cadence pooled over both speeds at a glance (tests/reports/
        # test_treadmill_plans.py); each session's in the measures, by the unit's rule (96.5, never "97")
        assert not any("steps/min" in t for t in tags), (name, tags)
        # the key measures (the first row of each; the walk's whole table follows, on demand)
        rows = wait(driver, "the measures", lambda d: dict(reversed([(r.get_attribute("data-metric"), " ".join(
            r.get_attribute("textContent").split())) for r in css(d, ".condition tr[data-metric]")])) or None)
        assert "96.5 steps/min at 1.8 km/h96.5 steps/min at 2.2 km/h" in rows["cadence_steps_min"], rows["cadence_steps_min"]
        assert "97 steps/min" not in rows["cadence_steps_min"], rows["cadence_steps_min"]
        belt = rows["walk_speed_m_s"]
        # the visit's sessions at 1.8 and 2.2 km/h against the previous visit's 1.8: each said, no change made up
        # (a visit's second session against its first, "Set +0.4 km/h since <the same morning>", before)
        assert "Set at 1.8 km/h (0.50 m/s) at the visit of" in belt and "+0.4" not in belt, belt
        assert "minimal detectable" not in belt and "first session" not in belt, belt
        assert "1.8 and 2.2 km/h (0.50 and 0.60 m/s; 2 sessions)" in belt and "0.55" not in belt, belt
        # the counts since the previous visit as the other measures say theirs, whole, as counted, which way is
        # better in words, and no MDC (none is published): no change called real (before: no line at all)
        pauses, steps = rows["pauses"], rows["steps"]
        assert "-1 pause since the visit of Nov 2, 2026" in pauses and "(2 pauses); fewer is better." in pauses, pauses
        assert pauses.count("fewer is better") == 1, pauses  # not again in the measure's own words below
        assert "Counts have no published minimal detectable change" in pauses and "real" not in pauses.split(" count ")[0], pauses
        assert "+2 steps since the visit of" in steps and "(50 steps); more steps is more walking, not better by itself." \
            in steps, steps
        assert "Counts compared: 52 (the lower of 52 and 54) against 50." in steps and "53" not in steps, steps
        # the since-line short: the change, the earlier count and the direction in its large print; which counts and
        # why none is called real in the small print after it (before, 4 lines of large print at 1024 px, 6 on a phone)
        line = css(driver, '.condition tr[data-metric="steps"] .count-change')[0]
        large = driver.execute_script(LARGE_PRINT, line)
        assert large.startswith("+2 steps since the visit of") and large.endswith("not better by itself.") \
            and "compared" not in large and len(large) <= 110, large
        assert "compare sessions of the same planned minutes" not in steps and "the change is shown" not in steps, steps
        driver.execute_script("document.querySelectorAll('details.condition-details').forEach((d) => { d.open = true; });"
                              "arguments[0].scrollIntoView({block: 'center'})", css(driver, '.condition tr[data-metric="pauses"]')[0])
        driver.save_screenshot(str(shots / f"test-results-counts-{name}.png"))

        trace = wait(driver, "the steps' trace", lambda d: d.execute_script(TRACE) if css(d, "svg.steps-trace circle.ic") else None)
        assert trace["gravity"] and trace["gravity"][1] and trace["gravityLabel"] == "1 g", trace
        assert trace["title"], trace
        ticks = [t for t in trace["others"] if t[0].replace(".", "").isdigit() and t[2] > trace["title"][1] - 40]
        assert ticks and all(t[4] <= trace["title"][1] + 1 for t in ticks), (trace["title"], ticks)  # under the numbers
        assert not [t for t in trace["others"] if _overlap(t[1:], trace["title"])], trace
        driver.save_screenshot(str(shots / f"test-results-{name}.png"))

        driver.get(f"{station.url}/patients/{patient_id}/history")
        button = wait(driver, "the more-measures button", lambda d: css(d, "button.more-measures"))[0]
        button.click()
        card = wait(driver, "the belt speed's card", lambda d: css(d, '.history-chart[data-metric="walk_speed_m_s"]'))[0]
        words = " ".join(card.get_attribute("textContent").split())
        assert "Set +0.4 km/h since the first session, when it was 1.8 km/h (0.50 m/s)" in words, words
        assert "minimal detectable" not in words and "Latest: 2.2 km/h (0.60 m/s)" in words, words
        charts = driver.execute_script(CLEARANCE)
        assert len(charts) >= 3, charts
        for label, labels_right, points_left in charts:
            assert points_left >= labels_right + 3, (name, label, labels_right, points_left)
        _spread_apart(name, driver.execute_script(SPREAD))
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", css(driver, '.history-chart[data-metric="pauses"] svg')[0])
        driver.save_screenshot(str(shots / f"test-history-chart-{name}.png"))
        assert page_width(driver) <= size[0], name
        driver.save_screenshot(str(shots / f"test-history-{name}.png"))

        driver.get(f"{station.url}/assignments/{programme['id']}")
        wait(driver, "session 1", lambda d: css(d, '.cal-item.session[data-number="1"]'))[0].click()
        dose = wait(driver, "the dose", lambda d: css(d, "#dose-recorded") and css(d, "#dose-recorded")[0].text)
        assert "belt 2.2 km/h (0.60 m/s)" in dose and "m/s" not in dose.split("belt")[0], dose  # said once, as entered

    set_size(tablet, WIDE_TABLET)  # the tablet as wide as it is: the one test's history across the whole page
    tablet.get(f"{station.url}/sessions/{last}")
    steps = wait(tablet, "the steps' since-line", lambda d: css(d, '.condition tr[data-metric="steps"] .count-change'))[0]
    tablet.execute_script("arguments[0].scrollIntoView({block: 'center'})", steps)
    tablet.save_screenshot(str(shots / "test-results-counts-tablet-1180.png"))
    tablet.get(f"{station.url}/patients/{patient_id}/history")
    wait(tablet, "the more-measures button", lambda d: css(d, "button.more-measures"))[0].click()
    wait(tablet, "the steps' chart", lambda d: css(d, '.history-chart[data-metric="steps"] svg.chart'))
    _spread_apart("tablet 1180", tablet.execute_script(SPREAD))
    tablet.execute_script("arguments[0].scrollIntoView({block: 'center'})", css(tablet, '.history-chart[data-metric="pauses"] svg')[0])
    tablet.save_screenshot(str(shots / "test-history-chart-tablet-1180.png"))
    # the visit page opened on the session left without a trial numbers the visit's sessions as the chart does:
    # 10:00 is "Session 2" (report.session_numbers_in_visit; before, "Session 3", the empty one counted)
    sessions = api(tablet, "GET", f"/api/patients/{patient_id}")["body"]["sessions"]
    [empty] = [s["id"] for s in sessions if not s["trials"]]
    tablet.get(f"{station.url}/sessions/{empty}")
    names = wait(tablet, "the visit's trial lines", lambda d: [" ".join(a.text.split()) for a in css(
        d, '.condition[data-condition="session"] li[data-trial-id] > div > a')] or None)
    assert names == ["Test 1 (09:30 AM)", "Test 2 (10:00 AM)"], names
    notes = [" ".join(x.text.split()) for x in css(tablet, ".session-notes label")]
    assert [n.split(" · ")[0] for n in notes] == ["Test 1", "Notes on treadmill", "Test 2"], notes
    assert notes[1].endswith("09:45 AM · no trial recorded") and "no trial" not in notes[0] + notes[2], notes
    for size in (WIDE_TABLET, PHONE):
        set_size(tablet, size)
        tablet.execute_script("arguments[0].scrollIntoView({block: 'center'})", css(tablet, "#visit-notes")[0])
        tablet.save_screenshot(str(shots / f"test-results-empty-session-notes-{size[0]}.png"))
    set_size(tablet, WIDE_TABLET)
    tablet.get(f"{station.url}/sessions/{last}")  # the steps' trace drawn at its width too: label boxes 14 px (were 21)
    trace = wait(tablet, "the steps' trace", lambda d: d.execute_script(TRACE) if css(d, "svg.steps-trace circle.ic") else None)
    heights = [bottom - top for _text, _left, top, _right, bottom in trace["others"]]
    assert heights and max(heights) <= 17, heights
    tablet.execute_script("arguments[0].scrollIntoView({block: 'center'})", css(tablet, "svg.steps-trace")[0])
    tablet.save_screenshot(str(shots / "test-results-trace-tablet-1180.png"))
