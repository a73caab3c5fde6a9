"""The visit results draw a time held's published cut-off as the history's chart does (s25 H3's note, s26 H5 item 3):
each trial's time held a bar, Vellas et al. 1997's 5 s a dashed line named on it ("5 s cut-off (Vellas et al. 1997)")
and said under it ("Dashed line at 5 s: below it, higher risk of injurious falls (Vellas et al. 1997)."), for the
82-year-old faller it applies to, by the history's rule (report.history_cutoffs); none for the patient after stroke
(not applied: the page says why in words). Before, the line was drawn on the history's charts only. Its name is placed
clear of the bars, as the history's is clear of its data (session 28: it sat at the left end, over a first bar of 12.1 s)."""

from __future__ import annotations

import time

import pytest

from test_dashboard import PHONE, TABLET, css, wait
from test_history_standing_words import store_held

pytestmark = pytest.mark.e2e

LINE = "5 s cut-off (Vellas et al. 1997)"
WORDS = "Dashed line at 5 s: below it, higher risk of injurious falls (Vellas et al. 1997)."


def stored_visits(data_dir) -> dict[str, int]:
    """Three patients' single-leg visits on the left leg: two of 3.5 s, scored unable, 4.2 s; a faller's of 12.1 s (a bar
    above the cut-off's line, where its label was), 3.5 s, 4.2 s. Identifier -> session id."""
    from station.store.audit import Actor
    from station.store.store import Store

    store = Store.open(data_dir)  # beside the running station
    actor = Actor(None, "test")
    year = time.gmtime().tm_year
    out = {}
    for identifier, age, conditions, holds in (("SLSV-FALL-82", 82, ["fall_12m"], (3.5, None, 4.2)),
                                               ("SLSV-STROKE-65", 65, ["stroke:left"], (3.5, None, 4.2)),
                                               ("SLSV-FALL-80", 80, ["fall_12m"], (12.1, 3.5, 4.2))):
        patient = store.patients.create({"identifier": identifier, "birth_year": year - age, "sex": "F",
                                         "conditions": conditions}, actor=actor)
        session = store.sessions.create(patient["id"], {"label": "single-leg"}, actor=actor)
        for n, held in enumerate(holds, 1):
            store_held(store, session["id"], "left", n, held, actor)
        out[identifier] = session["id"]
    store.close()
    return out


SECTION = '.protocol-results[data-protocol="single-leg"] .condition[data-condition="left"]'


def _open_cards(driver) -> None:
    """A phone's condition card is one tap away: opened, as a clinician would."""
    driver.execute_script("document.querySelectorAll('details.condition-details').forEach((d) => { d.open = true; })")


def test_the_visit_results_draw_the_single_leg_cut_off_as_the_history_does(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, sessions = reading_pages.tablet_and_phone(stored_visits)
    for driver, size in ((tablet, TABLET), (phone, PHONE)):
        driver.get(f"{station.url}/sessions/{sessions['SLSV-FALL-82']}")
        wait(driver, "the single-leg results", lambda d: css(d, f'{SECTION} tr[data-metric="time_held_s"]'), timeout_s=20)
        _open_cards(driver)
        wait(driver, "the times held's chart", lambda d: css(d, f"{SECTION} .times-held svg.chart"), timeout_s=10)
        chart = css(driver, f"{SECTION} .times-held svg.chart")[0]
        labels = [t.get_attribute("textContent") for t in chart.find_elements("css selector", "text.cutoff-label")]
        assert labels == [LINE], labels  # the history's line and name
        assert len(chart.find_elements("css selector", "line.cutoff")) == 1
        # each trial a bar, the clinician's 0 s a red point, each time as the page says it
        assert len(chart.find_elements("css selector", "rect.bar")) == 2 and len(chart.find_elements("css selector", ".bar.unable")) == 1
        values = [t.get_attribute("textContent") for t in chart.find_elements("css selector", "text.bar-value")]
        assert values == ["3.5 s", "unable", "4.2 s"], values  # not "0 s": a time held never held
        # the trial length drawn as the history's ("30 s: the longest a trial runs")
        assert [t.get_attribute("textContent") for t in chart.find_elements("css selector", "text.ceiling-label")] == \
            ["30 s: the longest a trial runs"]
        words = css(driver, f"{SECTION} .times-held p.cutoff-lines")[0].get_attribute("textContent")
        assert words == WORDS, words
        title = css(driver, f"{SECTION} .times-held .times-held-title")[0].get_attribute("textContent")
        assert title == "Time held in each trial (a red point: unable, 0 s)", title
        # the labels 12 px as drawn (the chart drawn at the width it is shown)
        box = driver.execute_script("const r = arguments[0].getBoundingClientRect(); "
                                    "return [r.width, r.right, arguments[0].viewBox.baseVal.width]", chart)
        assert abs(box[0] - box[2]) < 2, box
        assert box[1] <= size[0] and driver.execute_script("return document.documentElement.scrollWidth") <= size[0]
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", chart)
        driver.save_screenshot(str(shots / f"faller-{size[0]}.png"))

        # after stroke, Vellas et al.'s cut-off is not applied: no line, as on the history (the words say why)
        driver.get(f"{station.url}/sessions/{sessions['SLSV-STROKE-65']}")
        wait(driver, "the single-leg results", lambda d: css(d, f'{SECTION} tr[data-metric="time_held_s"]'), timeout_s=20)
        _open_cards(driver)
        assert not css(driver, f"{SECTION} .times-held") and not css(driver, f"{SECTION} line.cutoff")
        row = css(driver, f'{SECTION} tr[data-metric="time_held_s"]')[0].get_attribute("textContent")
        assert "Not applied to this patient: the cut-off (5 s) of Vellas et al. 1997" in row, row
        driver.save_screenshot(str(shots / f"stroke-{size[0]}.png"))

        # a first trial held 12.1 s, its bar above the 5 s line: the cut-off's name placed where no bar is
        driver.get(f"{station.url}/sessions/{sessions['SLSV-FALL-80']}")
        wait(driver, "the single-leg results", lambda d: css(d, f'{SECTION} tr[data-metric="time_held_s"]'), timeout_s=20)
        _open_cards(driver)
        wait(driver, "the times held's chart", lambda d: css(d, f"{SECTION} .times-held svg.chart"), timeout_s=10)
        chart = css(driver, f"{SECTION} .times-held svg.chart")[0]
        assert len(chart.find_elements("css selector", "rect.bar")) == 3
        read = driver.execute_script(ON_BARS, chart)
        assert read == [[LINE, []]], read
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", chart)
        driver.save_screenshot(str(shots / f"faller-above-{size[0]}.png"))


ON_BARS = """const svg = arguments[0];
const bars = [...svg.querySelectorAll('rect.bar, circle.bar')].map((e) => e.getBBox());
return [...svg.querySelectorAll('text.cutoff-label')].map((t) => {
  const b = t.getBBox();
  const on = bars.map((o, i) => (o.x < b.x + b.width && b.x < o.x + o.width && o.y < b.y + b.height && b.y < o.y + o.height
    ? i : -1)).filter((i) => i >= 0);
  return [t.textContent, on];
});"""
"""Each cut-off label of a times-held chart: [its words, the bars (their index) its text is drawn over]."""
