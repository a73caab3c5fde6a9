"""What a clinician would trip over on the visit, patient and live pages (the last review's items), in headless
Chromium at tablet (1180x820) and phone (390x844) size against the real station, from stored trials:

- a visit of the two 3-m backward walk tests names each trial by its test's session ("Test 1, trial 2",
  "Test 2 (10:10 AM)"), not "Attempt 1" under both as if one attempt shown twice;
- a walk's all-measures table says what its values are (the mean of the valid trials, or the one trial's);
- a treadmill session's time walking reads against its plan ("20 s of 30 min planned") with no bare "(1 %)";
- a session without trials, opened directly, shows the visit it was opened in: it does not join the visits before
  and after it (over 3 h apart) into one;
- the identifier field refuses what the station refuses (a leading dot or hyphen);
- a 32-character identifier (the longest the station takes) wraps in the visit page's heading and the live page's
  patient line, and the live page's patient list stays within a phone's width.
"""

from __future__ import annotations

import pytest

from test_dashboard import PHONE, TABLET, api, by_id, css, wait
from test_phone_fixes_walk_rows import RATE_HZ, frames_of, in_store
from test_visit_readings import _treadmill_visit
from test_walk_words_on_pages import text_of

pytestmark = pytest.mark.e2e

LONG_ID = "BW" + "0123456789" * 3
"""32 characters (station.store.patients.IDENTIFIER_MAX_CHARS) and no hyphen or dot to break a line at."""


def _walk_trial(store, session_id: int, protocol: str, condition: str, trial: int, time_s: float, actor) -> None:
    writer = store.trials.start_trial(session_id, protocol, condition, {"method": "nominal"}, RATE_HZ, actor=actor)
    writer.append(frames_of(8.0))
    outcome = {"protocol": protocol, "condition": condition, "trial": trial, "attempt": 1, "valid": True,
               "end_reason": "gate_reached", "issues": [], "hold_end": None, "warnings": [], "completed": True,
               "duration_s": 60.0, "time_held_s": None, "walk": {"setting": "overground", "initial_contacts_s": []}}
    writer.finish({"kind": "walk", "fs_hz": RATE_HZ, "samples": 800, "profile": "walk", "version": "test",
                   "metrics": {"walk_time_s": time_s, "walk_distance_m": 3.0, "walk_speed_m_s": 3.0 / time_s,
                               "cadence_steps_min": 88.0, "steps": 11 + trial}, "trial": outcome}, valid=True)


def _two_backward_walks(store, actor) -> tuple[int, int]:
    """One visit of a patient with the longest identifier: the 3-m backward walk from standing (its 2 trials, 3.69
    and 3.63 s) at 10:00 and the 5-m walkway form (1 trial) at 10:10: (patient id, the first session's id)."""
    from station.protocols.loader import builtin_protocols

    protocols = builtin_protocols()
    patient = store.patients.create({"identifier": LONG_ID, "birth_year": 1950, "sex": "F"}, actor=actor)
    ids = []
    for minute, protocol, condition, times in ((0, "backward-walk-3m", "fast", (3.69, 3.63)),
                                               (10, "backward-walk-3m-5m", "comfortable", (6.2,))):
        session = store.sessions.create(patient["id"], {"label": protocols[protocol].title,
                                                        "started_at": f"2026-11-02T10:{minute:02d}:00+00:00"}, actor=actor)
        ids.append(session["id"])
        for trial, time_s in enumerate(times, start=1):
            _walk_trial(store, session["id"], protocol, condition, trial, time_s, actor)
    return patient["id"], ids[0]


def _fits(driver, selector: str) -> bool:
    """The element and its text end within the viewport's width and within the element (its text wrapped, not cut
    off at the element's edge or pushed off the screen: a heading's box can fit while its text runs out of it)."""
    return driver.execute_script("""
        const e = document.querySelector(arguments[0]);
        if (!e) return false;
        const range = document.createRange();
        range.selectNodeContents(e);
        const text = e.tagName === "SELECT" ? e.getBoundingClientRect() : range.getBoundingClientRect();
        return e.getBoundingClientRect().right <= window.innerWidth + 0.5 && text.right <= window.innerWidth + 0.5
          && e.scrollWidth <= e.clientWidth + 1;""", selector)


def _page_width(driver) -> int:
    return driver.execute_script("return document.documentElement.scrollWidth")


def test_two_backward_walk_tests_name_their_trials_apart(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, (patient_id, first) = reading_pages.tablet_and_phone(lambda d: in_store(d, _two_backward_walks))
    for driver, size in ((tablet, TABLET), (phone, PHONE)):
        driver.get(f"{station.url}/sessions/{first}")
        names = wait(driver, "the trials of both tests", lambda d: [text_of([a]) for a in css(d, ".protocol-results .trial-list a")]
                     if len(css(d, ".protocol-results .trial-list a")) == 3 else None)
        clock = driver.execute_script("return [0, 10].map((m) => new Date(Date.UTC(2026, 10, 2, 10, m))"
                                      ".toLocaleTimeString(undefined, {hour: '2-digit', minute: '2-digit'}))")
        # each its test's session in the visit (the notes' and the history's "Session 2"); were "Trial 1", "Trial 2",
        # "Attempt 1": the 5-m form's first trial read as one of the other test's
        # "Test", not "Session": a programme's sessions are its own (review s24 F11: "Session 5" read as the 5th)
        assert names == ["Test 1, trial 1", "Test 1, trial 2", f"Test 2 ({clock[1]})"], names
        assert len(set(names)) == len(names), names
        # the all-measures table says what its values are, as the key measures' "(mean of 2 trials: ...)"
        driver.execute_script("document.querySelectorAll('details.condition-details').forEach((d) => { d.open = true; });"
                              "document.querySelectorAll('.protocol-results .condition .actions > button.secondary')"
                              ".forEach((b) => { if (b.textContent === 'Show all measures') b.click(); });")
        captions = {p: text_of(css(driver, f'.protocol-results[data-protocol="{p}"] table.measures > caption.values-of'))
                    for p in ("backward-walk-3m", "backward-walk-3m-5m")}
        assert captions == {
            "backward-walk-3m": "Each value is the mean of the 2 valid trials; counts are each trial's as counted "
                                "(each trial on its own page).",
            "backward-walk-3m-5m": "The one valid trial's values."}, captions
        # the longest identifier wraps in the heading and the way back, on a phone too
        assert LONG_ID in by_id(driver, "results-title").text
        for selector in ("#results-title", "#back-link"):
            assert _fits(driver, selector), (size, selector)
        assert _page_width(driver) <= size[0], size
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(str(shots / f"visit-heading-{size[0]}x{size[1]}.png"))
        css(driver, '.protocol-results[data-protocol="backward-walk-3m-5m"] .trial-list')[0].location_once_scrolled_into_view
        driver.save_screenshot(str(shots / f"visit-trials-{size[0]}x{size[1]}.png"))
        css(driver, '.protocol-results[data-protocol="backward-walk-3m"] table.measures > caption.values-of')[0] \
            .location_once_scrolled_into_view
        driver.save_screenshot(str(shots / f"visit-all-measures-{size[0]}x{size[1]}.png"))

        driver.get(f"{station.url}/patients/{patient_id}")
        wait(driver, "the patient's heading", lambda d: by_id(d, "patient-title").text == LONG_ID)
        assert _fits(driver, "#patient-title") and _page_width(driver) <= size[0], size
        driver.save_screenshot(str(shots / f"patient-heading-{size[0]}x{size[1]}.png"))


def test_the_live_page_wraps_the_longest_identifier(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, (patient_id, _first) = reading_pages.tablet_and_phone(
        lambda d: in_store(d, lambda store, actor: (store.patients.create(
            {"identifier": "LV" + "9876543210" * 3, "birth_year": 1950, "sex": "F"}, actor=actor)["id"], None)))
    identifier = "LV" + "9876543210" * 3
    for driver, size in ((tablet, TABLET), (phone, PHONE)):
        driver.get(f"{station.url}/live?patient={patient_id}")
        wait(driver, "the patient chosen", lambda d: by_id(d, "patient-select").get_attribute("value") == str(patient_id))
        assert by_id(driver, "patient-select").get_attribute("title") == identifier  # the whole, where the box cuts it
        assert _fits(driver, "#patient-select") and _page_width(driver) <= size[0], size
        driver.save_screenshot(str(shots / f"live-choose-{size[0]}x{size[1]}.png"))
    opened = api(tablet, "POST", "/api/station/run", {"patient_id": patient_id, "protocol": "quiet-stance"})
    assert opened["status"] == 201, opened
    try:
        for driver, size in ((tablet, TABLET), (phone, PHONE)):
            driver.get(f"{station.url}/live?patient={patient_id}")
            wait(driver, "the open test's patient line", lambda d: identifier in by_id(d, "run-patient").text, timeout_s=20)
            assert _fits(driver, "#run-patient") and _page_width(driver) <= size[0], size
            by_id(driver, "run-patient").location_once_scrolled_into_view
            driver.save_screenshot(str(shots / f"live-run-{size[0]}x{size[1]}.png"))
    finally:
        closed = api(tablet, "POST", "/api/station/close")
        assert closed["status"] == 200, closed


def _stopped_early_and_full(data_dir) -> tuple[int, int]:
    """Two patients' single treadmill sessions: one stopped at 0:21 of 30 min planned (20 s walked), one walked
    to its 1-minute plan: their session ids."""
    patient, early = _treadmill_visit(data_dir, "PLAN-EARLY", (("2026-12-05T20:29:00+00:00", 2.0 / 3.6, 30.0, 0.333, 21.0, 97.8),))
    _, full = _treadmill_visit(data_dir, "PLAN-FULL", (("2026-12-05T20:00:00+00:00", 0.5, 1.0, 1.0, 60.0, 95.0),))
    return early, full, patient


BROKEN_NUMBER_UNITS = r"""
const broken = [];
for (const cell of document.querySelectorAll(arguments[0])) {
  const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const found of node.data.matchAll(/\d+(?:\.\d+)? (?:km\/h|m\/s|cm\/s|steps\/min|min|s|m|%)(?![\w\/])/g)) {
      const range = document.createRange();
      range.setStart(node, found.index);
      range.setEnd(node, found.index + found[0].length);
      if (new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1) broken.push(found[0]);
    }
  }
}
return broken;"""
"""Each number with its unit in the cells (one text node's "0.50 m/s") laid out on more than one line."""


def test_a_treadmill_sessions_time_walking_reads_against_its_plan(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, (early, full, patient) = reading_pages.tablet_and_phone(_stopped_early_and_full)
    section = '.protocol-results[data-protocol="backward-treadmill"]'
    for driver, size in ((tablet, TABLET), (phone, PHONE)):
        for session, walked, glance_words in ((early, "20 s", "20 s walked of 30 min planned at 2.0 km/h: stopped early, at 0:21"),
                                              (full, "1 min", "walked 1 min of 1 min planned")):
            driver.get(f"{station.url}/sessions/{session}")
            value = wait(driver, "the time walking", lambda d: text_of(css(d, f'{section} tr[data-metric="walking_min"] td.value')[:1]))
            driver.execute_script("document.querySelectorAll('details.condition-details').forEach((d) => { d.open = true; })")
            css(driver, f'{section} tr[data-metric="walking_min"]')[0].location_once_scrolled_into_view
            driver.save_screenshot(str(shots / f"treadmill-{'early' if session == early else 'full'}-{size[0]}x{size[1]}.png"))
            # the time walked one way on every page (was "0.3 min" beside "Walked 20 s of ..."); the plan said, no bare
            # "(1 %)" after it (a percentage of what?)
            assert value == walked, value
            row = text_of(css(driver, f'{section} tr[data-metric="walking_min"]')[:1])
            assert f"Walked {walked} of the {'30' if session == early else '1'} min planned; more is better." in row, row
            assert "%" not in row, row
            # each number with its unit on one line (at 1180x820 the belt speed broke "(0.50" / "m/s)")
            broken = driver.execute_script(BROKEN_NUMBER_UNITS, f"{section} td.value")
            assert not broken, (size, broken)
            glance = text_of(css(driver, f"{section} .card.condition > .actions .tag"))
            assert glance_words in glance and "%" not in glance, glance
            assert _page_width(driver) <= size[0], size
        # the history says the time walking so too (was "0.3 min"); one session: its table of key measures measured
        # once (4e7ad24), not a chart of one dot
        driver.get(f"{station.url}/patients/{patient}/history")
        each = wait(driver, "the time walking's row", lambda d: text_of(
            css(d, '.measured-once tr[data-metric="walking_min"] td.counts')))
        assert each.startswith("20 s"), each
        assert not css(driver, '.history-chart[data-metric="walking_min"]')


def _bridged(store, actor) -> tuple[int, int, int]:
    """A patient's 3-m backward walk at 09:00 and 10-metre walk at 13:30 (two visits, 4.5 h apart) and, at 11:00, a
    test opened with the clinician's notes and no trial: the three session ids."""
    patient = store.patients.create({"identifier": "BRIDGE-1", "birth_year": 1950, "sex": "M"}, actor=actor)
    ids = []
    for at, protocol, condition in (("09:00", "backward-walk-3m", "fast"), ("11:00", None, None),
                                    ("13:30", "ten-metre-walk", "comfortable")):
        session = store.sessions.create(patient["id"], {"label": protocol or "3-metre backward walk test",
                                                        "started_at": f"2026-11-03T{at}:00+00:00"}, actor=actor)
        ids.append(session["id"])
        if protocol:
            _walk_trial(store, session["id"], protocol, condition, 1, 4.1, actor)
        else:
            store.sessions.update(session["id"], {"notes": "Too tired to walk again; back after lunch."}, actor=actor)
    return tuple(ids)


def test_a_session_without_trials_does_not_join_two_visits(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, (morning, between, afternoon) = reading_pages.tablet_and_phone(lambda d: in_store(d, _bridged))
    for driver, size in ((tablet, TABLET), (phone, PHONE)):
        driver.get(f"{station.url}/sessions/{between}")
        shown = wait(driver, "the visit's tests", lambda d: [s.get_attribute("data-protocol") for s in css(d, ".protocol-results")])
        # the visit it was opened in (the morning's, 2 h before; the afternoon's is 2.5 h after): not both as one visit
        assert shown == ["backward-walk-3m"], shown
        notes = [t.get_attribute("value") for t in css(driver, "#visit-notes textarea")]
        assert notes == ["", "Too tired to walk again; back after lunch."], notes
        assert _page_width(driver) <= size[0], size
        driver.save_screenshot(str(shots / f"trial-less-session-{size[0]}x{size[1]}.png"))
        for session, protocol in ((morning, "backward-walk-3m"), (afternoon, "ten-metre-walk")):
            driver.get(f"{station.url}/sessions/{session}")
            shown = wait(driver, "the visit's tests", lambda d: [s.get_attribute("data-protocol") for s in css(d, ".protocol-results")])
            assert shown == [protocol], (session, shown)


def test_the_identifier_field_refuses_what_the_station_refuses(reading_pages):
    from station.store.patients import IDENTIFIER_RE

    station = reading_pages.station
    tablet, _phone, _ = reading_pages.tablet_and_phone(lambda d: None)
    tablet.get(f"{station.url}/patients")
    field = wait(tablet, "the identifier field", lambda d: css(d, '#patient-form input[name="identifier"]'))[0]
    for value in (".A12", "-A12", "_A12", "A12", "a.b-c_d", "9", "A 12", "Ä12", "A" * 32, "A" * 33):
        browser_takes = tablet.execute_script("arguments[0].value = arguments[1]; return !arguments[0].validity.patternMismatch",
                                              field, value)
        assert browser_takes == bool(IDENTIFIER_RE.match(value)), value  # a leading dot or hyphen was let through
    assert field.get_attribute("maxlength") == "32"
