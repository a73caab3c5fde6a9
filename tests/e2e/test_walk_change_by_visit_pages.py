"""The visit results page says a walk measure's change as the visit's value against the previous visit's, at
tablet (1024×768) and phone (390×844) size in headless Chromium against the real station: a patient after stroke
seen twice a week apart, each visit two 10-metre-walk sessions 30 min apart (comfortable 0.30 and 0.46 m/s, mean
0.38; then 0.40 and 0.50, mean 0.45). The speed reads "0.45 m/s" and "+0.07 m/s since the visit of ... (0.38 m/s,
mean of 2 sessions)", a real improvement against the MDC of the group below 0.4 m/s (0.05 m/s); before it read
"+0.10 m/s since <the same morning 09:00> (0.40 m/s)", the visit's second session against its first, within the
MDC of the 0.4–0.8 m/s group. The first visit says it is the first. The tests store what they show and read pages
(nothing recorded): they share the station and browsers of ``reading_pages`` (tests/e2e/conftest.py). Screenshots in
the test's shots folder."""

from __future__ import annotations

import re

import pytest

from e2e_support import TABLET as WIDE_TABLET, set_size
from test_dashboard import css, page_width, wait
from test_phone_fixes_walk_rows import in_store
from test_walk_values_whole import at_1024

pytestmark = pytest.mark.e2e


def _walk_trial(store, actor, session_id: int, condition: str, speed: float, more: dict | None = None) -> None:
    """One valid 10-metre walk trial of ``condition`` at ``speed`` (m/s; 96 steps/min, 13 steps, ``more`` measures)."""
    writer = store.trials.start_trial(session_id, "ten-metre-walk", condition, {"method": "nominal"}, 100.0, actor=actor)
    outcome = {"protocol": "ten-metre-walk", "condition": condition, "label": condition, "trial": 1, "attempt": 1,
               "valid": True, "end_reason": "duration", "issues": [], "hold_end": None, "warnings": [], "completed": True,
               "duration_s": 30.0, "time_held_s": None}
    writer.finish({"kind": "walk", "fs_hz": 100.0, "samples": 0, "profile": "walk", "version": "test",
                   "metrics": {"walk_time_s": 6.0 / speed, "walk_speed_m_s": speed, "cadence_steps_min": 96.0, "steps": 13,
                               **(more or {})}, "trial": outcome}, valid=True)


def _fill(store, actor) -> tuple[list[int], list[int]]:
    """The two visits' session ids."""
    patient = store.patients.create({"identifier": "VISIT-CHANGE", "birth_year": 1952, "sex": "F",
                                     "conditions": ["stroke:left"]}, actor=actor)
    visits = []
    for day, speeds in (("2026-11-02", (0.30, 0.46)), ("2026-11-09", (0.40, 0.50))):
        ids = []
        for minute, speed in zip((0, 30), speeds):
            session = store.sessions.create(patient["id"], {"label": "10-metre walk",
                                                            "started_at": f"{day}T09:{minute:02d}:00+00:00"}, actor=actor)
            _walk_trial(store, actor, session["id"], "comfortable", speed, {"step_time_cv_pct": 4.1, "stride_time_cv_pct": 2.9})
            ids.append(session["id"])
        visits.append(ids)
    return visits[0], visits[1]


def _speed_row(driver) -> str:
    return wait(driver, "the speed's row", lambda d: next((" ".join(r.get_attribute("textContent").split())
                                                           for r in css(d, '.condition tr[data-metric="walk_speed_m_s"]')),
                                                          None))


def test_the_visit_results_say_the_change_since_the_previous_visit(reading_pages, shots):
    station = reading_pages.station
    drivers, (first, second) = at_1024(*reading_pages.tablet_and_phone(lambda data_dir: in_store(data_dir, _fill)))
    for driver, size, name in drivers:
        driver.get(f"{station.url}/sessions/{second[0]}")
        row = _speed_row(driver)
        assert "0.45 m/s" in row and "+0.07 m/s since the visit of" in row, row
        assert "(0.38 m/s, mean of 2 sessions)" in row and "beyond the MDC: a real improvement" in row, row
        assert "+0.10 m/s" not in row and "0.40 m/s at the earlier" not in row, row
        tags = [t.text for t in css(driver, '.tag[data-kind="walk"]') if t.text]
        assert any(t.startswith("+0.07 m/s since the visit of") for t in tags), tags  # the glance says it alike
        assert page_width(driver) <= size[0], name
        driver.save_screenshot(str(shots / f"visit-change-{name}.png"))
        driver.execute_script("document.querySelectorAll('details').forEach((d) => { d.open = true; })")  # a phone folds them
        speed = css(driver, '.condition tr[data-metric="walk_speed_m_s"]')[0]
        driver.execute_script("window.scrollTo(0, arguments[0].getBoundingClientRect().top + window.scrollY - 8)", speed)
        driver.save_screenshot(str(shots / f"visit-change-row-{name}.png"))

        driver.get(f"{station.url}/sessions/{first[1]}")
        row = _speed_row(driver)
        assert "0.38 m/s" in row and "since" not in row, row
        # "first visit with this test" once per test, on its first measure (R L4: it stood on each of 7 measures)
        card = " ".join(css(driver, ".condition")[0].get_attribute("textContent").split())
        assert card.count("first visit with this test") == 1, card
        time_row = " ".join(css(driver, '.condition tr[data-metric="walk_time_s"]')[0].get_attribute("textContent").split())
        assert "first visit with this test" in time_row, time_row
        # the first visit is the baseline, said with it; no "no published MDC" beside values nothing is compared with
        # (they read "Counts have no published minimal detectable change ..." under the steps, "No published minimal
        # detectable change for this measure here." under the cadence and the variabilities); the speed's MDC stays
        assert "first visit with this test Baseline: later visits are compared with it." in time_row, time_row
        assert card.count("Baseline: later visits are compared with it.") == 1, card
        assert "No published minimal detectable change" not in card and "Counts have no published" not in card, card
        assert "Minimal detectable change 0.05 m/s" in row, row
        driver.save_screenshot(str(shots / f"visit-first-{name}.png"))
        driver.execute_script("document.querySelectorAll('details').forEach((d) => { d.open = true; })")  # a phone folds them
        driver.execute_script("window.scrollTo(0, arguments[0].getBoundingClientRect().top + window.scrollY - 8)",
                              css(driver, '.condition tr[data-metric="walk_time_s"]')[0])
        driver.save_screenshot(str(shots / f"visit-first-rows-{name}.png"))


def _counts_fill(store, actor) -> int:
    """A visit of two backward treadmill sessions, 31 and 34 steps, 1 and 2 pauses: the last session's id."""
    patient = store.patients.create({"identifier": "VISIT-COUNTS", "birth_year": 1952, "sex": "F"}, actor=actor)
    for minute, steps, pauses in ((0, 31, 1), (30, 34, 2)):
        session = store.sessions.create(patient["id"], {"label": "treadmill",
                                                        "started_at": f"2026-11-09T10:{minute:02d}:00+00:00"}, actor=actor)
        writer = store.trials.start_trial(session["id"], "backward-treadmill", "session", {"method": "nominal"}, 100.0,
                                          actor=actor)
        walk = {"setting": "treadmill", "belt_speed_m_s": 0.5, "walking_min": 0.5, "planned_min": 0.5}
        outcome = {"protocol": "backward-treadmill", "condition": "session", "label": "session", "trial": 1,
                   "attempt": 1, "valid": True, "end_reason": "duration", "issues": [], "hold_end": None,
                   "warnings": [], "completed": True, "duration_s": 30.0, "time_held_s": None, "walk": walk}
        writer.finish({"kind": "walk", "fs_hz": 100.0, "samples": 0, "profile": "walk", "version": "test",
                       "metrics": {"walking_min": 0.5, "planned_min": 0.5, "pauses": pauses, "pause_s": 4.0 * pauses,
                                   "steps": steps, "cadence_steps_min": 96.5, "step_time_cv_pct": 4.2,
                                   "walk_time_s": 29.0, "walk_speed_m_s": 0.5, "belt_speed_m_s": 0.5},
                       "trial": outcome}, valid=True)
    return session["id"]


def test_a_visit_s_counts_read_as_counted(reading_pages, shots):
    """31 and 34 steps, 1 and 2 pauses: "31 and 34 (2 sessions)" in the key measures and all measures, the glance
    "1 and 2 pauses (2 sessions)"; before "33" (32.5 rounded) and "2 pauses" (1.5). The two sessions' trials read
    "Test 1 (hh:mm)" and "Test 2 (hh:mm)" (were "Attempt 1" twice); the history charts the pauses, 1 then 2,
    fewer being better (before: no pauses in the history)."""
    station = reading_pages.station
    drivers, last = at_1024(*reading_pages.tablet_and_phone(lambda data_dir: in_store(data_dir, _counts_fill)))
    for driver, size, name in drivers:
        driver.get(f"{station.url}/sessions/{last}")
        rows = wait(driver, "the measures", lambda d: [(r.get_attribute("data-metric"), " ".join(
            r.get_attribute("textContent").split())) for r in css(d, ".condition tr[data-metric]")] or None)
        steps = [text for metric, text in rows if metric == "steps"]
        pauses = [text for metric, text in rows if metric == "pauses"]
        assert len(steps) == 2 and all("31 and 34 (2 sessions)" in t and "33" not in t for t in steps), steps
        assert any("1 and 2 (2 sessions)" in t for t in pauses), pauses
        assert all("1 and 2" in t for t in pauses), pauses
        tags = [t.text for t in css(driver, '.tag[data-kind="walk"]') if t.text]
        assert "1 and 2 pauses (2 sessions)" in tags and "2 pauses" not in tags, tags
        assert page_width(driver) <= size[0], name
        driver.execute_script("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
        row = css(driver, '.condition tr[data-metric="pauses"]')[0]
        driver.execute_script("window.scrollTo(0, arguments[0].getBoundingClientRect().top + window.scrollY - 8)", row)
        driver.save_screenshot(str(shots / f"visit-counts-{name}.png"))
        trials = [" ".join(a.get_attribute("textContent").split()) for a in css(driver, ".trial-list a")]
        assert len(trials) == 2 and all(re.fullmatch(rf"Test {n} \(\d{{1,2}}:\d\d(\s?[AP]M)?\)", t) for n, t in zip((1, 2), trials)), trials
        driver.save_screenshot(str(shots / f"visit-sessions-{name}.png"))

        driver.get(css(driver, "#history-link")[0].get_attribute("href"))
        card = wait(driver, "the pauses' chart", lambda d: next(iter(css(d, '.history-chart[data-metric="pauses"]')), None))
        text = " ".join(card.get_attribute("textContent").split())
        assert "(fewer is better)" in text and "Latest: 2 pauses" in text, text
        assert "Change since the first session: +1 pause." in text and "No published minimal detectable change" in text, text
        assert page_width(driver) <= size[0], name
        driver.execute_script("arguments[0].querySelector('details').open = true;"
                              "window.scrollTo(0, arguments[0].getBoundingClientRect().top + window.scrollY - 8)", card)
        assert "2 pauses" in css(card, "details tr")[0].text, card.text  # each session, newest first
        driver.save_screenshot(str(shots / f"history-pauses-{name}.png"))


def _once_fill(store, actor) -> tuple[int, int]:
    """Two patients after stroke seen once for a 10-metre walk: the first at comfortable pace only (0.38 m/s), the
    second at both paces (0.38 and 0.52 m/s, the history's one chart for both): their ids."""
    ids = []
    for identifier, speeds in (("SEEN-ONCE", {"comfortable": 0.38}), ("SEEN-ONCE-2", {"comfortable": 0.38, "fast": 0.52})):
        patient = store.patients.create({"identifier": identifier, "birth_year": 1952, "sex": "F",
                                         "conditions": ["stroke:left"]}, actor=actor)
        session = store.sessions.create(patient["id"], {"label": "10-metre walk", "started_at": "2026-11-02T09:00:00+00:00"},
                                        actor=actor)
        for condition, speed in speeds.items():
            _walk_trial(store, actor, session["id"], condition, speed)
        ids.append(patient["id"])
    return ids[0], ids[1]


def test_a_history_of_one_session_says_no_missing_mdc(reading_pages, shots):
    """The history of a patient seen once: no charts of one dot but a table, as the history PDF's (s29 P15, item 5:
    the page drew a chart of one dot per key measure where the PDF says "One visit so far: there is no history to
    chart yet; ..."), its words the PDF's (report.measured_once_words). No "No published minimal detectable change for
    this measure in this test." (the cadence), where nothing is compared yet; the speed's MDC (what a later change is
    read against) stays."""
    from station.protocols.report import measured_once_words

    said = measured_once_words(1, charted=False)
    station = reading_pages.station
    drivers, patients = at_1024(*reading_pages.tablet_and_phone(lambda data_dir: in_store(data_dir, _once_fill)))
    for driver, size, name in drivers:
        for patient, both in zip(patients, (False, True)):  # (both paces: a row each)
            driver.get(f"{station.url}/patients/{patient}/history")
            rows = wait(driver, "the table", lambda d: [(r.get_attribute("data-metric"), r.get_attribute("data-condition"),
                                                         " ".join(r.get_attribute("textContent").split()))
                                                        for r in css(d, ".measured-once tr[data-metric]")] or None)
            assert css(driver, ".measured-once-heading")[0].text == said["heading"]
            assert css(driver, ".measured-once-words")[0].text == said["words"]
            assert not css(driver, "#history .history-grid .history-chart")  # no chart of one dot
            conditions = ["comfortable", "fast"] if both else ["comfortable"]
            assert [c for m, c, _ in rows if m == "walk_speed_m_s"] == conditions, rows
            cadence = [t for m, _, t in rows if m == "cadence_steps_min"]
            speed = [t for m, _, t in rows if m == "walk_speed_m_s"]
            # the baseline said once, in the words above the table, not on each row (s31 P17, item 2)
            assert "Each value is the baseline: later visits are compared with it." in said["words"]
            assert cadence and not any("aseline" in t for _, _, t in rows), rows
            assert not any("No published minimal detectable change" in t for t in cadence), cadence
            # each pace's own published MDC (below 0.4 m/s: 0.05 m/s comfortable, 0.04 m/s fast)
            assert [t.split("beyond the MDC, ")[1].split(": ")[0] for t in speed] == ["0.05 m/s", "0.04 m/s"][:len(speed)], speed
            assert all(t.endswith("1219505.") for t in speed), speed  # the source ends the sentence, no ".)."
            assert speed[0].startswith("Speed · Comfortable pace (higher is better)0.38 m/s"), speed
            assert page_width(driver) <= size[0], name
            # the words across the page above the tests (#history lays its tests side by side)
            intro, section = (css(driver, s)[0].rect for s in (".measured-once-intro", "#history > section"))
            assert intro["y"] + intro["height"] <= section["y"] + 1, (intro, section)
            driver.save_screenshot(str(shots / f"history-once-top-{'both-' if both else ''}{name}.png"))
            driver.execute_script("arguments[0].scrollIntoView()", css(driver, ".measured-once")[0])
            driver.save_screenshot(str(shots / f"history-once-{'both-' if both else ''}{name}.png"))
            # how a chart's point is made is said over charts only (s30 P16, item 2); the more measures are rows too,
            # the time and the steps, not charts of one dot (item 1)
            assert not css(driver, "#history-intro")[0].is_displayed()
            css(driver, "button.more-measures")[0].click()
            more = wait(driver, "the more measures", lambda d: [(r.get_attribute("data-metric"), r.get_attribute("data-condition"))
                                                                for r in css(d, "#history .history-grid .measured-once tr[data-metric]")] or None)
            assert sorted(more) == sorted((m, c) for m in ("steps", "walk_time_s") for c in conditions), more
            assert not css(driver, "#history .history-chart") and page_width(driver) <= size[0], name
            for shown in (size, WIDE_TABLET) if name == "tablet" else (size,):  # the tablet as wide as it is too
                set_size(driver, shown)
                driver.execute_script("arguments[0].scrollIntoView()", css(driver, "#history .history-grid .measured-once")[-1])
                driver.save_screenshot(str(shots / f"history-once-more-{'both-' if both else ''}{name}-{shown[0]}.png"))
            set_size(driver, size)
