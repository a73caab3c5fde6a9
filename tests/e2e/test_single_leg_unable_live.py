"""Single-leg stance with a patient who cannot stand on one leg, in headless Chromium against the real
station (scenario ``standing``: the patient stands on both feet all the time), R1 item 1.

Before: the live page said "counted as unable (0 s)" and then "Repeat offered: previous attempt
invalid", each of the 6 trials went to 3 attempts (18 Start presses), and the results read "18 valid
of 18 analysed trials" with "No valid trial to plot." Now an unable trial is a result (the next
trial of the protocol's best of 3 is due, no repeat), the clinician scores the rest of a side unable
with one button once it was tried (2 Start presses for the whole test), and the results count and
say it: "6 analysed trials: 6 unable (0 s; 4 of them scored by the clinician, not measured)".
Looked at on a tablet (1180x820) and a phone (390x844)."""

from __future__ import annotations

import pytest

from test_dashboard import ADMIN, PHONE, TABLET, api, at, by_id, setup_admin, sign_in, wait

pytestmark = pytest.mark.e2e


def test_unable_is_a_result_and_the_rest_of_a_side_is_scored_without_start(station_for, browsers, shots):
    station = station_for("standing")
    tablet, _ = browsers("tablet", TABLET)
    tablet.set_script_timeout(15)
    url = station.url
    setup_admin(tablet, url)
    created = api(tablet, "POST", "/api/patients", {"identifier": "SLS-001", "birth_year": 1946, "sex": "F"})
    assert created["status"] == 201, created
    patient_id = created["body"]["id"]
    tablet.get(f"{url}/live?patient={patient_id}")
    wait(tablet, "the live stream", lambda d: by_id(d, "conn").text == "live")
    assert api(tablet, "POST", "/api/station/run", {"patient_id": patient_id, "protocol": "single-leg"})["status"] == 201

    def start_and_wait_unable(n: int) -> None:
        wait(tablet, "the Start button", lambda d: by_id(d, "btn-start").is_enabled(), timeout_s=30)
        by_id(tablet, "btn-start").click()
        wait(tablet, f"trial {n} unable", lambda d: len(d.find_elements("css selector", "#trial-list .tag.flag-strong")) == n
             and by_id(d, "trial-state").get_attribute("data-state") == "instructions", timeout_s=60)

    # which of the condition's trials, and that the best counts (trial_ready's condition_trials and score)
    heading = lambda d: by_id(d, "state-condition").text.replace("\u00a0", " ")  # noqa: E731
    wait(tablet, "the first trial's heading", lambda d: heading(d) == "Next: Standing on the left leg, trial 1 of 3 (best counts)")
    start_and_wait_unable(1)  # the left leg
    words = by_id(tablet, "message").text
    assert "Did not lift a foot" in words and "Repeat offered" not in words and "invalid" not in words, words
    assert by_id(tablet, "btn-score-unable").get_attribute("hidden")  # the right leg is due: not tried yet
    start_and_wait_unable(2)  # the right leg
    wait(tablet, "the heading of the left leg's second trial",
         lambda d: heading(d) == "Next: Standing on the left leg, trial 2 of 3 (best counts)")
    tablet.execute_script("window.scrollTo(0, 0)")
    tablet.save_screenshot(str(shots / "tablet_live_after_two_unable.png"))
    button = by_id(tablet, "btn-score-unable")
    wait(tablet, "the score-unable button", lambda d: by_id(d, "btn-score-unable").is_displayed())
    assert button.text == "Patient cannot stand on one leg: score the remaining 2 trials standing on the left leg as unable"
    assert "repeat" not in by_id(tablet, "trial-list").text.lower()

    phone, _ = browsers("phone", PHONE)
    phone.get(f"{url}/login")
    sign_in(phone, url, ADMIN)
    wait(phone, "the phone's patients page", at("/patients"))
    phone.get(f"{url}/live?patient={patient_id}")
    wait(phone, "the score-unable button on the phone", lambda d: by_id(d, "btn-score-unable").is_displayed(), timeout_s=20)
    assert heading(phone) == "Next: Standing on the left leg, trial 2 of 3 (best counts)"  # the status says it on a fresh page
    phone.execute_script("arguments[0].scrollIntoView({block: 'start'})", by_id(phone, "state-condition"))
    phone.save_screenshot(str(shots / "phone_live_heading.png"))
    line = phone.execute_script("const r = document.getElementById('state-condition').getBoundingClientRect();"
                                "return [r.left, r.right, document.documentElement.scrollWidth]")
    assert 0 <= line[0] < line[1] <= PHONE[0] and line[2] <= PHONE[0], line  # within the phone's width
    phone.execute_script("arguments[0].scrollIntoView({block: 'center'})", by_id(phone, "btn-score-unable"))
    phone.save_screenshot(str(shots / "phone_live_score_unable.png"))
    box = phone.execute_script("const b = document.getElementById('btn-score-unable').getBoundingClientRect();"
                               "const bar = document.getElementById('controls').getBoundingClientRect();"
                               "return [b.left, b.right, b.bottom, bar.top, bar.height, document.documentElement.scrollWidth]")
    # within the screen's width, above the bar of controls (not in it: the bar stays its size)
    assert 0 <= box[0] < box[1] <= PHONE[0] and box[5] <= PHONE[0] and box[2] <= box[3] and box[4] < 200, box

    for n in (4, 6):  # the left leg's 2 remaining trials, then the right's
        tablet.execute_script("arguments[0].scrollIntoView({block: 'center'})", by_id(tablet, "btn-score-unable"))
        by_id(tablet, "btn-score-unable").click()
        alert = tablet.switch_to.alert
        assert "score the remaining 2 trials as unable (0 s)" in alert.text and "(s)" not in alert.text, alert.text  # R L11
        alert.accept()
        wait(tablet, f"{n} trials unable", lambda d, n=n: len(d.find_elements("css selector", "#trial-list .tag.flag-strong")) == n,
             timeout_s=20)
    assert by_id(tablet, "message").text.splitlines()[0] == (
        "Standing on the right leg: the remaining 2 trials scored unable by admin, not measured; counted as 0 s.")
    tablet.save_screenshot(str(shots / "tablet_live_scored.png"))
    session_id = api(tablet, "GET", "/api/station")["body"]["service"]["run"]["session_id"]
    api(tablet, "POST", "/api/station/close")

    for driver, name in ((tablet, "tablet"), (phone, "phone")):
        driver.get(f"{url}/sessions/{session_id}")
        wait(driver, "the figures", lambda d: "No sway measured" in by_id(d, "results").get_attribute("textContent"),
             timeout_s=20)
        text = by_id(driver, "results").get_attribute("textContent")
        assert "6 analysed trials: 6 unable (0 s; 4 of them scored by the clinician, not measured)." in text
        assert "No valid trial to plot" not in text and "valid of" not in text
        # no stance, no sway rows: the time held alone, not "–" beside a missing norm (F6, session 24)
        assert "No reference values for this stance" not in text and "95 % ellipse area" not in text, text
        assert text.count("Did not lift a foot (measured): unable, counted as 0 s.") == 2
        assert text.count("Scored unable by the clinician") == 4
        driver.save_screenshot(str(shots / f"{name}_results.png"))
        driver.execute_script("document.querySelector('.trace-figure').scrollIntoView({block: 'start'})")
        driver.save_screenshot(str(shots / f"{name}_results_left_leg.png"))
        # a scored trial's own page and the patient's table say it was scored, not measured (not "invalid")
        trial_id = driver.execute_script("return document.querySelectorAll('.trial-list a[href^=\"/trials/\"]')[1]"
                                         ".getAttribute('href').split('/').pop()")
        driver.get(f"{url}/trials/{trial_id}")
        wait(driver, "the trial's verdict", lambda d: d.find_elements("id", "unable"))
        assert by_id(driver, "unable").text.startswith("Unable: Scored unable by the clinician (admin), not measured")
        assert not driver.find_elements("id", "invalid-reason")
        # the time held against the cut-off as the visit results say it (Station.timeHeld), not "0.00 s"
        held = wait(driver, "the trial's cut-offs", lambda d: d.find_elements(
            "css selector", '#trial-cutoffs .trial-cutoff[data-metric="time_held_s"] strong'))[0]
        assert held.text == "Time held 0 s (unable)", held.text
        # never measured: said in one line, no "0.0 s recorded", no empty "no data" plots
        wait(driver, "the judgement", lambda d: d.find_elements("id", "judgement"))
        summary = by_id(driver, "trial-summary").text
        assert "Not measured: scored unable by the clinician (admin, " in summary and summary.endswith("); no recording"), summary
        assert "s recorded" not in summary and "frames at" not in summary, summary
        assert not driver.find_elements("css selector", "#plots figure") and "no data" not in by_id(driver, "plots").text
        # why there are no sway measures, said once (was "No sway measures: Scored unable by the
        # clinician: not measured, so no sway measures.")
        assert by_id(driver, "no-measures").text == "No sway measures: scored unable by the clinician, not measured."
        driver.save_screenshot(str(shots / f"{name}_scored_trial.png"))
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", held)
        driver.save_screenshot(str(shots / f"{name}_scored_trial_cutoff.png"))
        # the judgement reads the station's check as it counts the trial (a result), Valid preselected;
        # saving it unchanged keeps the trial in the results, unable
        check = wait(driver, "the station's check", lambda d: d.find_elements("id", "station-check"))[0]
        assert check.text == ("The station's check: a result — unable (0 s), scored by the clinician. "
                              "Your judgement overrides it."), check.text
        assert driver.find_element("css selector", '#judgement input[value="yes"]').is_selected()
        assert driver.find_element("css selector", '#judgement textarea').get_attribute("value") == ""
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", check)
        driver.save_screenshot(str(shots / f"{name}_scored_trial_judgement.png"))
        driver.find_element("css selector", "#judgement button[type=submit]").click()
        wait(driver, "the judgement saved", lambda d: by_id(d, "judgement-status").text == "Saved.")
        wait(driver, "the page again", lambda d: d.find_elements("id", "unable") and d.find_elements("id", "station-check")
             and by_id(d, "station-check").text.startswith("The station's check: a result"))
        assert not driver.find_elements("id", "invalid-reason")
        results = api(driver, "GET", f"/api/sessions/{session_id}/results")["body"]["protocols"][0]
        assert results["count_words"] == "6 analysed trials: 6 unable (0 s; 4 of them scored by the clinician, not measured)."
        measured_id = results["conditions"][0]["trials"][0]["id"]  # the left leg's first: the foot never lifted
        driver.get(f"{url}/trials/{measured_id}")
        check = wait(driver, "the measured trial's check", lambda d: d.find_elements("id", "station-check"))[0]
        assert check.text.startswith("The station's check: a result — unable (0 s), measured: the foot was never lifted.")
        assert driver.find_element("css selector", '#judgement input[value="yes"]').is_selected()
        # measured: its recording keeps its plots and its recorded time
        wait(driver, "the measured trial's plots", lambda d: len(d.find_elements("css selector", "#plots figure")) == 2)
        assert " s recorded · recorded by admin" in by_id(driver, "trial-summary").text
        # a result, not a failed recording: why no sway, in the banner's words (was "Invalid trial: no sway measures.")
        assert by_id(driver, "no-measures").text == "No sway measures: the foot was never lifted (unable, 0 s)."
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(str(shots / f"{name}_measured_trial.png"))
        # the x axis' unit is not drawn over its last tick label (was "5" under "s" at the right end of both plots)
        overlaps = driver.execute_script("""
          const out = [];
          // the page's plots, and recordings that end on a tick (5 s, 30 s: R saw "5" under "s") or just after one
          for (const end of [5, 30, 5.04, 12]) {
            const t = Array.from({length: 101}, (_, i) => i * end / 100);
            const fig = document.createElement('figure');
            fig.className = 'axis-probe';
            fig.append(Charts.timeSeries([{t, y: t.map(Math.sin), color: '#000', label: 'probe'}], {yLabel: 'cm', xLabel: 's'}));
            document.getElementById('plots').append(fig);
          }
          for (const chart of document.querySelectorAll('#plots svg.timeseries')) {
            const row = [...chart.querySelectorAll('text')].filter((t) => t.getAttribute('y') === String(chart.viewBox.baseVal.height - 10));
            const boxes = row.map((t) => [t.textContent, t.getBBox()]);
            boxes.forEach(([a, p], i) => boxes.slice(i + 1).forEach(([b, q]) => {
              if (p.x < q.x + q.width && q.x < p.x + p.width) out.push(a + '|' + b); }));
            if (!row.some((t) => / s$|^s$/.test(t.textContent))) out.push('no unit');
          }
          return out;""")
        assert overlaps == [], overlaps
        driver.execute_script("document.querySelectorAll('.axis-probe')[0].scrollIntoView({block: 'start'})")
        driver.save_screenshot(str(shots / f"{name}_axis_probes.png"))
        driver.execute_script("document.querySelectorAll('.axis-probe').forEach((f) => f.remove());"
                              "document.getElementById('plots').scrollIntoView({block: 'start'})")
        driver.save_screenshot(str(shots / f"{name}_measured_trial_plots.png"))
        driver.get(f"{url}/patients/{patient_id}")
        wait(driver, "the patient's trials", lambda d: "unable: scored by the clinician, not measured"
             in d.find_element("tag name", "body").get_attribute("textContent"))
        # the results page's verdict (F1, session 24): unable is a result, "6 trials: 6 unable (0 s)", never "invalid"
        # or "0 valid"; a scored trial was never recorded ("not measured", not "0.0" s)
        table = driver.find_element("css selector", ".session-trials")
        if not table.get_attribute("open"):
            table.find_element("tag name", "summary").click()
        assert table.find_element("tag name", "summary").text == "6 trials: 6 unable (0 s)"
        tags = [t.text for t in table.find_elements("css selector", "tbody .tag")]
        assert tags == ["unable (0 s)"] * 6, tags
        recorded = [c.get_attribute("textContent") for c in table.find_elements("css selector", "tbody tr td:nth-child(4)")]
        assert recorded.count("not measured") == 4 and "0.0" not in recorded, recorded
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", table)
        driver.save_screenshot(str(shots / f"{name}_patient.png"))
