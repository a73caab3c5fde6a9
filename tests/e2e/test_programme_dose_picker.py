"""The programme page's dose picker, in headless Chromium against the real station at tablet
(1180x820) and phone (390x844) size (clinician review R1, shot 42_session1_dose.png).

Before, a backward treadmill programme's session offered every walking trial of the patient as its
measured dose: "Trial #16 (10-metre walk test, comfortable and fast, 12/5/2026): 0.1 min" and
"Trial #12 (3-metre backward walk test, 12/5/2026)", the two 3-metre forms under one name (the
page cut each title at its bracket). Now it offers the session protocol's trials only, newest first,
under its full title; a programme with no session protocol (doses by hand) offers every walking
trial grouped under each protocol's full title, so the two 3-metre forms read apart. A session run
from the programme and stopped early reads "done · 21 s of 30 min" in the calendar (it read "0.3 of 30 min":
decimal minutes; now as every page says a time walked, Station.walkedTime).
"""

from __future__ import annotations

import pytest

from test_dashboard import PHONE, TABLET, css, page_width, wait

pytestmark = pytest.mark.e2e

OVERGROUND = {
    "programme": {"name": "clinic-walk", "title": "Clinic walking", "summary": "Walk backward overground.",
                  "activity": "overground_backward_walking", "population": "stroke"},
    "schedule": {"weeks": 2, "sessions_per_week": 2, "minutes_per_session": 20},
    "assessments": [{"id": "baseline", "label": "Baseline", "week": 0, "protocols": ["quiet-stance"]},
                    {"id": "end", "label": "End", "week": 2, "protocols": ["quiet-stance"]}],
    "outcomes": [{"protocol": "quiet-stance", "condition": "eo", "metric": "mean_velocity_cm_s",
                  "label": "Sway velocity", "group": "Balance", "better": "lower"}],
}


def _walk(store, actor, patient_id: int, protocol: str, condition: str, started_s: float, minutes: float) -> int:
    import numpy as np

    from station.acquire.frame import FRAME_DTYPE

    frames = np.zeros(300, dtype=FRAME_DTYPE)
    frames["seq"] = np.arange(300)
    frames["t_ns"] = (np.arange(300) * 1e7).astype(np.int64)
    session = store.sessions.create(patient_id, {"label": protocol}, actor=actor)
    doc = {"kind": "walk", "fs_hz": 100.0, "samples": 300, "profile": "walk", "version": "test",
           "metrics": {"walking_min": minutes, "steps": 33, "cadence_steps_min": 96.0, "planned_min": 30.0}}
    return store.trials.import_trial(session["id"], protocol, condition, {"method": "nominal"}, 100.0, frames, doc,
                                     True, None, actor=actor, started_at_s=started_s)


def _fill(store, actor) -> dict:
    import time

    from station.programmes.loader import builtin_programmes
    from station.programmes.template import programme_from_dict
    from station.protocols.loader import builtin_protocols

    protocols = builtin_protocols()
    now = time.time()
    out = {}
    for key, template in (("treadmill", builtin_programmes(protocols)["backward-walking-stroke"]),
                          ("overground", programme_from_dict(OVERGROUND, "clinic/clinic-walk.toml", protocols))):
        patient = store.patients.create({"identifier": f"PICK-{key.upper()}", "birth_year": 1950, "sex": "F",
                                         "conditions": ["stroke:left"]}, actor=actor)
        programme = store.programmes.assign(patient["id"], template, store.programmes.today(), actor=actor)
        trials = {"stopped": _walk(store, actor, patient["id"], "backward-treadmill", "session", now - 7200, 0.35),
                  "ten_metre": _walk(store, actor, patient["id"], "ten-metre-walk", "comfortable", now - 3600, 0.1),
                  "back_3m": _walk(store, actor, patient["id"], "backward-walk-3m", "fast", now - 3000, 0.1),
                  "back_3m_5m": _walk(store, actor, patient["id"], "backward-walk-3m-5m", "comfortable", now - 2400, 0.1),
                  "full": _walk(store, actor, patient["id"], "backward-treadmill", "session", now - 1800, 29.5)}
        if key == "treadmill":  # session 1 run from the programme and stopped early (its trial stored)
            store.programmes.credit_run_trial(programme["sessions"][0]["id"], store.trials.get(trials["stopped"]),
                                              actor=actor)
        out[key] = {"assignment": programme["id"], "trials": trials}
    return out


PICKER = """
return [...document.querySelectorAll('#walking-trials .walking-trials')].map((g) => ({
  protocol: g.dataset.protocol, title: g.querySelector('h4').textContent,
  trials: [...g.querySelectorAll('button.walking-trial')].map((b) => [Number(b.dataset.trialId), b.textContent]),
}));"""


def _load_programme(driver, url: str) -> None:
    driver.get(url)
    wait(driver, "the programme", lambda d: d.find_element("id", "programme-page").get_attribute("data-loaded") == "yes",
         timeout_s=20)


def _open_session(driver, url: str, number: int, shot) -> list[dict]:
    _load_programme(driver, url)
    css(driver, f'.cal-item.session[data-number="{number}"]')[0].click()
    wait(driver, "the dose picker", lambda d: css(d, "#walking-trials"))
    driver.execute_script("document.getElementById('walking-trials').scrollIntoView({block: 'center'})")
    driver.save_screenshot(str(shot))
    return driver.execute_script(PICKER)


def test_the_dose_picker_offers_the_session_protocols_trials_newest_first(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, stored = reading_pages.tablet_and_phone(lambda d: _in_store(d, _fill))
    treadmill, overground = stored["treadmill"], stored["overground"]
    for driver, size, name in ((tablet, TABLET, "tablet"), (phone, PHONE, "phone")):
        url = f"{station.url}/assignments/{treadmill['assignment']}"
        groups = _open_session(driver, url, 2, shots / f"dose-picker-treadmill-{name}.png")
        ids = treadmill["trials"]
        # the stopped session's trial is session 1's dose: not offered again; no walk test is offered
        assert [g["protocol"] for g in groups] == ["backward-treadmill"], groups
        assert groups[0]["title"] == "Backward treadmill walking session"
        assert [t[0] for t in groups[0]["trials"]] == [ids["full"]], groups
        assert "29 min 30 s, 33 steps" in groups[0]["trials"][0][1]  # (was "29.5 min")
        first = css(driver, '.cal-item.session[data-number="1"]')[0].text
        assert "partial · 21 s of 30 min" in first, first  # run from the programme, stopped early: what was walked, partial
        assert page_width(driver) <= size[0]

        groups = _open_session(driver, f"{station.url}/assignments/{overground['assignment']}", 1,
                               shots / f"dose-picker-overground-{name}.png")
        ids = overground["trials"]
        assert [(g["protocol"], g["title"]) for g in groups] == [  # each group where its newest trial is
            ("backward-treadmill", "Backward treadmill walking session"),
            ("backward-walk-3m-5m", "3-metre backward walk test (speed over the middle 3 m of 5 m)"),
            ("backward-walk-3m", "3-metre backward walk test (from standing)"),
            ("ten-metre-walk", "10-metre walk test, comfortable and fast")], groups
        assert [t[0] for t in groups[0]["trials"]] == [ids["full"], ids["stopped"]]  # newest first
        assert page_width(driver) <= size[0]


def _in_store(data_dir, fill):
    from station.store.audit import Actor
    from station.store.store import Store

    store = Store.open(data_dir)
    try:
        return fill(store, Actor(None, "test"))
    finally:
        store.close()


def _fill_dates(store, actor) -> dict:
    """A patient whose session 1 was run from the programme (its dose recorded now) and whose
    programme is paused from today."""
    import time

    from station.programmes.loader import builtin_programmes
    from station.protocols.loader import builtin_protocols

    template = builtin_programmes(builtin_protocols())["backward-walking-stroke"]
    patient = store.patients.create({"identifier": "PICK-DATES", "birth_year": 1950, "sex": "F",
                                     "conditions": ["stroke:left"]}, actor=actor)
    programme = store.programmes.assign(patient["id"], template, store.programmes.today(), actor=actor)
    stopped = _walk(store, actor, patient["id"], "backward-treadmill", "session", time.time() - 600, 0.35)
    waiting = _walk(store, actor, patient["id"], "backward-treadmill", "session", time.time() - 300, 12.0)
    store.programmes.credit_run_trial(programme["sessions"][0]["id"], store.trials.get(stopped), actor=actor)
    store.programmes.pause(programme["id"], {"from_date": store.programmes.today(), "reason": "holiday"}, actor=actor)
    return {"assignment": programme["id"], "waiting": waiting, "trial": store.trials.get(waiting)["started_at"],
            "recorded_at": store.programmes.session(programme["sessions"][0]["id"])["recorded_at"]}


NUMERIC_DATE = r"\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b(?:19|20)\d{2}-[01]\d-[0-3]\d\b"  # "12/5/2026", "2026-12-05" (not a DOI)


CALENDAR_OVERLAPS = """
return [...document.querySelectorAll('#calendar .week-label')].filter((label) => {
  const a = label.getBoundingClientRect();
  return [...label.nextElementSibling.querySelectorAll('.cal-item')].some((tile) => {
    const b = tile.getBoundingClientRect();
    return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  }) || label.scrollWidth > label.clientWidth + 1;
}).map((label) => label.textContent);"""


def _fill_calendar(store, actor) -> int:
    """A treadmill programme whose session 1, run from it, was stopped at 21 s of its 30 min (its assignment's id)."""
    import time

    from station.programmes.loader import builtin_programmes
    from station.protocols.loader import builtin_protocols

    template = builtin_programmes(builtin_protocols())["backward-walking-stroke"]
    patient = store.patients.create({"identifier": "PICK-CALENDAR", "birth_year": 1950, "sex": "F",
                                     "conditions": ["stroke:left"]}, actor=actor)
    programme = store.programmes.assign(patient["id"], template, store.programmes.today(), actor=actor)
    trial = _walk(store, actor, patient["id"], "backward-treadmill", "session", time.time() - 600, 0.35)
    store.programmes.credit_run_trial(programme["sessions"][0]["id"], store.trials.get(trial), actor=actor)
    return programme["id"]


def test_the_programme_calendar_and_weeks_read_on_a_phone(reading_pages, shots):
    """R's L9 (s24): on a phone the calendar's "Baseline" label ran into its tile (a 4.5-rem column), and the week
    table dropped the minutes walked / planned (its column hidden below 900 px), only their percentage left."""
    station = reading_pages.station
    tablet, phone, assignment = reading_pages.tablet_and_phone(lambda d: _in_store(d, _fill_calendar))
    url = f"{station.url}/assignments/{assignment}"
    for driver, size, name in ((tablet, TABLET, "tablet"), (phone, PHONE, "phone")):
        _load_programme(driver, url)
        assert driver.execute_script(CALENDAR_OVERLAPS) == []
        calendar = css(driver, "#calendar")[0]
        driver.execute_script("arguments[0].scrollIntoView()", calendar)
        driver.save_screenshot(str(shots / f"calendar-{name}.png"))
        weeks = css(driver, "#adherence-weeks")[0]
        first_week = weeks.find_elements("css selector", "tbody tr")[0].text
        assert "21 s / 90 min" in first_week, first_week  # the minutes walked / planned, on either size
        assert "0 %" in first_week, first_week
        driver.execute_script("arguments[0].scrollIntoView()", weeks)
        driver.save_screenshot(str(shots / f"weeks-{name}.png"))
        assert page_width(driver) <= size[0]


def test_the_programme_page_says_dates_as_the_other_pages_do(reading_pages, shots):
    """Before: "Trial #17 (Backward treadmill walking session, 12/5/2026)", the dose "— ana,
    12/5/2026, 9:13:00 PM" and "paused since 2026-12-05", where every other page says "Dec 5"."""
    import re

    station = reading_pages.station
    tablet, phone, stored = reading_pages.tablet_and_phone(lambda d: _in_store(d, _fill_dates))
    for driver, size, name in ((tablet, TABLET, "tablet"), (phone, PHONE, "phone")):
        url = f"{station.url}/assignments/{stored['assignment']}"
        groups = _open_session(driver, url, 2, shots / f"dates-picker-{name}.png")
        said = driver.execute_script("return [Station.when(arguments[0]), Station.when(arguments[1])]",
                                     stored["trial"], stored["recorded_at"])
        assert groups[0]["trials"][0][1].startswith(f"Trial #{stored['waiting']} ({said[0]}): 12 min"), groups
        status = driver.find_element("id", "programme-status").text
        assert status.startswith("paused since ") and not re.search(NUMERIC_DATE, status), status
        css(driver, '.cal-item.session[data-number="1"]')[0].click()
        wait(driver, "session 1's dose", lambda d: d.find_elements("id", "dose-recorded"))
        dose = driver.find_element("id", "dose-recorded")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", dose)
        driver.save_screenshot(str(shots / f"dates-dose-{name}.png"))
        assert dose.text.endswith(f"— test, {said[1]}"), dose.text
        assert "21 s of 30 min" in dose.text and "0.3" not in dose.text, dose.text
        page = driver.find_element("id", "programme-page").text
        assert not re.search(NUMERIC_DATE, page), re.findall(NUMERIC_DATE, page)
        assert page_width(driver) <= size[0]


def _fill_ended(store, actor) -> dict:
    """A patient whose first treadmill programme counted a walk as its session 1 and was ended; a second programme
    started since, which counted another walk as its session 1."""
    import time

    from station.programmes.loader import builtin_programmes
    from station.protocols.loader import builtin_protocols

    template = builtin_programmes(builtin_protocols())["backward-walking-stroke"]
    patient = store.patients.create({"identifier": "PICK-ENDED", "birth_year": 1950, "sex": "F",
                                     "conditions": ["stroke:left"]}, actor=actor)
    now = time.time()
    walks = {}
    for key in ("old", "new"):
        programme = store.programmes.assign(patient["id"], template, store.programmes.today(), actor=actor)
        trial = _walk(store, actor, patient["id"], "backward-treadmill", "session", now - (7200 if key == "old" else 600),
                      29.5)
        store.programmes.credit_run_trial(programme["sessions"][0]["id"], store.trials.get(trial), actor=actor)
        if key == "old":
            store.programmes.end(programme["id"], {"reason": "moved to another clinic"}, actor=actor)
        walks[key] = {"session": store.trials.get(trial)["session_id"], "assignment": programme["id"], "trial": trial}
    return walks


def test_a_walk_an_ended_programme_counted_says_so_on_the_visit_results(reading_pages, shots):
    """s25: the visit results said '· programme session 1' only for the current programme's runs (asked of the
    patient's glance): a walk an ended programme counted was said nowhere, or, with no programme current, as
    'programme session 1' that read as the current programme's."""
    station = reading_pages.station
    tablet, phone, walks = reading_pages.tablet_and_phone(lambda d: _in_store(d, _fill_ended))
    for driver, size, name in ((tablet, TABLET, "tablet"), (phone, PHONE, "phone")):
        for key, words in (("old", "· session 1 of the ended programme Backward treadmill walking after stroke (4 weeks) (ended "),
                           ("new", "· programme session 1")):
            driver.get(f"{station.url}/sessions/{walks[key]['session']}")
            mark = f'#results li[data-trial-id="{walks[key]["trial"]}"] .programme-session'
            said = wait(driver, "the programme session beside the trial", lambda d: css(d, mark)
                        and css(d, mark)[0].get_attribute("textContent"), timeout_s=20)  # (a phone folds the trials)
            assert " ".join(said.split()).startswith(words), said
            link = css(driver, mark + " a")[0]
            assert link.get_attribute("href").endswith(f"/assignments/{walks[key]['assignment']}")
            driver.execute_script("const d = arguments[0].closest('details'); if (d) d.open = true;"
                                  "arguments[0].scrollIntoView({block: 'center'})", link)
            driver.save_screenshot(str(shots / f"programme-run-{key}-{name}.png"))
            assert page_width(driver) <= size[0]


def _fill_mdc(store, actor) -> int:
    from station.programmes.loader import builtin_programmes
    from station.protocols.loader import builtin_protocols

    template = builtin_programmes(builtin_protocols())["backward-walking-stroke"]
    patient = store.patients.create({"identifier": "PICK-MDC", "birth_year": 1950, "sex": "F",
                                     "conditions": ["stroke:left"]}, actor=actor)
    return store.programmes.assign(patient["id"], template, store.programmes.today(), actor=actor)["id"]


def test_the_programme_pages_mdc_reads_as_on_the_other_pages(reading_pages, shots):
    """Before: "MDC 0.610 cm/s" (three significant digits) where the visit and history pages say a
    sway velocity, its change and its MDC with two decimals (Station.num's UNIT_DIGITS: "0.61 cm/s")."""
    import re

    station = reading_pages.station
    tablet, phone, assignment = reading_pages.tablet_and_phone(lambda d: _in_store(d, _fill_mdc))
    for driver, size, name in ((tablet, TABLET, "tablet"), (phone, PHONE, "phone")):
        _load_programme(driver, f"{station.url}/assignments/{assignment}")
        sources = [e.text for e in css(driver, "#outcomes .mdc-source")]
        driver.execute_script("document.querySelector('#outcomes .mdc-source').scrollIntoView({block: 'center'})")
        driver.save_screenshot(str(shots / f"mdc-{name}.png"))
        velocity = [t for t in sources if "quiet standing" in t and "eyes open" in t]
        assert velocity and velocity[0].startswith("MDC 0.61 cm/s: "), sources
        assert not [t for t in sources if re.search(r"\d\.\d{3} (cm/s|m/s|s)\b", t)], sources
        assert any(t.startswith("MDC 0.07 m/s subacute, 0.11 m/s chronic: ") for t in sources), sources
        # an outcome with none says what that means for its changes, in a clinician's words (s25: it said "Changes
        # are shown, none is called real."), as the PDF says it (programme report's mdc_words)
        assert not [t for t in sources if "called real" in t], sources
        asymmetry = css(driver, '.outcome[data-key="weight-bearing/eo/weight_asymmetry_pct"] .mdc-source')[0]
        assert asymmetry.text == ("No MDC published for this measure in this test and condition. Its changes are shown "
                                  "as measured: with no MDC for this patient, the station cannot tell whether a change "
                                  "is larger than measurement error."), asymmetry.text
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", asymmetry)
        driver.save_screenshot(str(shots / f"no-mdc-{name}.png"))
        assert page_width(driver) <= size[0]


def _treadmill_patient(store, actor, identifier: str, sessions) -> dict:
    """A patient's treadmill sessions ten minutes apart, one per ``(minutes walked, minutes planned, km/h)``."""
    import json
    import time

    patient = store.patients.create({"identifier": identifier, "birth_year": 1950, "sex": "F"}, actor=actor)
    now = time.time()
    for i, (minutes, planned, kmh) in enumerate(sessions):
        trial = _walk(store, actor, patient["id"], "backward-treadmill", "session", now - 3600 + 600 * i, minutes)
        with store.db.write() as conn:  # this session's plan and belt, as the walk protocol stores them
            doc = {"kind": "walk", "fs_hz": 100.0, "samples": 300, "profile": "walk", "version": "test",
                   "metrics": {"walking_min": minutes, "steps": 33, "cadence_steps_min": 96.0, "planned_min": planned,
                               "belt_speed_m_s": kmh / 3.6}}
            conn.execute("UPDATE trials SET metrics = ? WHERE id = ?", (json.dumps(doc), trial))
    return {"patient": patient["id"]}


def _fill_plans(store, actor) -> dict:
    """Three treadmill sessions of a patient: 2.0 of 2 min planned at 1.2 km/h, then 1.2 and 0.9 of 30 min at 1.5
    and 1.8 km/h (the review's STR-0877, s24 F13)."""
    return _treadmill_patient(store, actor, "PLANS-01", ((2.0, 2.0, 1.2), (1.2, 30.0, 1.5), (0.9, 30.0, 1.8)))


def _treadmill_card(driver, metric: str, points: int) -> tuple:
    """The history page's chart card of a treadmill measure once its points are drawn, and its line's path."""
    card = wait(driver, f"the {metric} chart", lambda d: css(
        d, f'.history-chart[data-protocol="backward-treadmill"][data-metric="{metric}"]'), timeout_s=20)[0]
    wait(driver, "its points", lambda d: len(card.find_elements("css selector", "circle.point")) == points)
    return card, card.find_element("css selector", "svg.chart.history path").get_attribute("d")


def test_the_treadmill_history_joins_no_sessions_of_another_plan_or_belt_speed(reading_pages, shots):
    """Review s24 F13: the history's 'Time walking' chart joined 2.0 min (2 planned, 1.2 km/h) -> 1.2 min (30 planned,
    1.5 km/h) -> 56 s (30 planned, 1.8 km/h) into a falling line read as decline while the belt got faster."""
    station = reading_pages.station
    tablet, phone, stored = reading_pages.tablet_and_phone(lambda d: _in_store(d, _fill_plans))
    for driver, size, name in ((tablet, TABLET, "tablet"), (phone, PHONE, "phone")):
        driver.get(f"{station.url}/patients/{stored['patient']}/history")
        card, path = _treadmill_card(driver, "walking_min", 3)
        assert path.count("M") == 3 and "L" not in path, path  # each plan its own: no line between them
        assert "not joined by a line" in card.find_element("css selector", ".plans-apart").text
        titles = [t.get_attribute("textContent") for t in card.find_elements("css selector", "circle.point title")]
        assert any("30 min planned, belt 1.5 km/h" in t for t in titles), titles
        driver.execute_script("arguments[0].scrollIntoView()", card)
        driver.save_screenshot(str(shots / f"treadmill-history-plans-{name}.png"))
        # the cadence by its own rule, the one of its change since the first (it was one line through the three
        # plans): three belt speeds, three points apart
        cadence, path = _treadmill_card(driver, "cadence_steps_min", 3)
        assert path.count("M") == 3 and "L" not in path, path
        assert cadence.find_element("css selector", ".plans-apart").text == (
            "Sessions at another belt speed are not joined by a line: they are not compared."), cadence.text
        driver.execute_script("arguments[0].scrollIntoView()", cadence)
        driver.save_screenshot(str(shots / f"treadmill-history-cadence-{name}.png"))
        assert page_width(driver) <= size[0]


def _fill_speeds(store, actor) -> dict:
    """Two treadmill sessions of one plan (30 min) at two belt speeds: 20 min walked at 1.2 km/h, then 15 at 1.5."""
    return _treadmill_patient(store, actor, "SPEEDS-01", ((20.0, 30.0, 1.2), (15.0, 30.0, 1.5)))


def test_the_time_walked_is_joined_and_compared_by_one_rule(reading_pages, shots):
    """s25: at a belt-speed-only change (30 min planned at 1.2, then 1.5 km/h) the time walked's chart broke its line
    while its words said 'Change since the first session: -5 min.'; now neither joins nor compares them (the time
    walked is read at the belt speed it was walked at), by the one rule of patient_history's points."""
    station = reading_pages.station
    tablet, phone, stored = reading_pages.tablet_and_phone(lambda d: _in_store(d, _fill_speeds))
    for driver, size, name in ((tablet, TABLET, "tablet"), (phone, PHONE, "phone")):
        driver.get(f"{station.url}/patients/{stored['patient']}/history")
        card, path = _treadmill_card(driver, "walking_min", 2)
        assert path.count("M") == 2 and "L" not in path, path
        assert "Change since the first session: not compared: belt speed 1.2 vs 1.5 km/h." in card.text, card.text
        assert card.find_element("css selector", ".plans-apart").text == (
            "Sessions of another plan or belt speed are not joined by a line: their times are not compared.")
        # the cadence, read at one belt speed too: the same two apart
        _cadence, path = _treadmill_card(driver, "cadence_steps_min", 2)
        assert path.count("M") == 2 and "L" not in path, path
        driver.execute_script("arguments[0].scrollIntoView()", card)
        driver.save_screenshot(str(shots / f"treadmill-history-speeds-{name}.png"))
        assert page_width(driver) <= size[0]


def _fill_morning(store, actor) -> dict:
    """A stroke patient's quiet stance measured a minute ago, then the backward-walking programme started today."""
    import time

    from station.programmes.loader import builtin_programmes
    from station.protocols.loader import builtin_protocols

    patient = store.patients.create({"identifier": "MORNING-01", "birth_year": 1950, "sex": "F",
                                     "conditions": ["stroke:left"]}, actor=actor)
    trial = _walk(store, actor, patient["id"], "quiet-stance", "eo", time.time() - 60, 0.5)
    template = builtin_programmes(builtin_protocols())["backward-walking-stroke"]
    programme = store.programmes.assign(patient["id"], template, store.programmes.today(), actor=actor)
    return {"assignment": programme["id"], "session": store.trials.get(trial)["session_id"]}


def test_the_baseline_offers_the_tests_measured_that_morning_before_the_programme(reading_pages, shots):
    """Review s24 F5: measured first, enrolled second (the usual order), the baseline read 'Not measured yet' and its
    visit stayed planned; its tests had to be repeated. Now the baseline visit offers them, one tap each."""
    station = reading_pages.station
    tablet, phone, stored = reading_pages.tablet_and_phone(lambda d: _in_store(d, _fill_morning))
    for driver, size, name in ((phone, PHONE, "phone"), (tablet, TABLET, "tablet")):
        _load_programme(driver, f"{station.url}/assignments/{stored['assignment']}")
        css(driver, ".cal-item.visit")[0].click()
        offered = wait(driver, "the morning's test offered", lambda d: css(d, "#offered-runs button.offered-run"))
        assert len(offered) == 1 and offered[0].get_attribute("data-session-id") == str(stored["session"])
        assert offered[0].text.startswith("Use the Quiet stance") and offered[0].text.endswith("as the Baseline"), offered[0].text
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", offered[0])
        driver.save_screenshot(str(shots / f"baseline-offered-{name}.png"))
        assert page_width(driver) <= size[0]
    offered[0].click()  # on the tablet: taken as the baseline's quiet stance
    wait(tablet, "taken", lambda d: not css(d, "#offered-runs"), timeout_s=15)
    tags = [t.text for t in css(tablet, "#item-panel .tag.valid")]
    assert any(t.startswith("Quiet stance") for t in tags), tags
