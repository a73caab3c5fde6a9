"""The programme report: a training programme from baseline to end.

The plan (activity, weeks, sessions a week, minutes), where the patient is, adherence overall and
per week with the missed sessions and their reasons left out (reasons may hold personal details:
they stay on the station), the dose of each session (measured or entered), and each outcome at
every assessment visit: its value, the change from baseline and whether it exceeds the minimal
detectable change published for people like the patient (cited), drawn as a chart with the MDC
band around the baseline value. Built from :func:`station.programmes.report.programme_document`.
"""

from __future__ import annotations

import re

from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Spacer

from station.programmes.report import programme_document
from station.reports.charts import mdc_caption, series_chart
from station.reports.history_report import adherence_rows, partial_rule_words
from station.reports.layout import content_width, p, table
from station.reports.references import Citations
from station.reports.text import change as signed_change, dose_speed, held_change, number, quantity, time_held, with_unit


def visit_name(label: str, week: int) -> str:
    """A programme visit named once with its week: its label, with "(week k)" after it unless the label says
    its week itself (the built-in templates' "Mid-point (after week 2)" read "Mid-point (after week 2) (week 2)").

    >>> visit_name("Baseline", 0), visit_name("Mid-point (after week 2)", 2), visit_name("Check after Week 3", 3)
    ('Baseline (week 0)', 'Mid-point (after week 2)', 'Check after Week 3')
    >>> visit_name("Review (week 12 of the old plan)", 1)  # another week: this one's is said
    'Review (week 12 of the old plan) (week 1)'
    """
    if re.search(rf"\bweek\s+{int(week)}\b", label, flags=re.IGNORECASE):
        return label
    return f"{label} (week {week})"


def visit_words(point: dict, today: str, *, in_visit: bool = True) -> str:
    """An outcome's visit as the programme report's Visit column says it: when its test was measured (the day
    the station recorded it, with the planned day when that was another), else why there is no value
    (``in_visit``: the visit runs the outcome's test). A visit stays "planned" until every one of its tests is
    measured, so its status alone read "planned" beside a measured baseline.

    >>> base = {"label": "Baseline", "week": 0, "date": "2026-01-05", "status": "planned", "session_id": 4,
    ...         "measured_on": "2026-01-07", "value": 1.5}
    >>> visit_words(base, "2026-03-01")
    'Baseline (week 0): measured 2026-01-07 (planned 2026-01-05)'
    >>> visit_words({**base, "measured_on": "2026-01-05"}, "2026-03-01")
    'Baseline (week 0): measured 2026-01-05'
    >>> visit_words({**base, "value": None}, "2026-03-01")
    'Baseline (week 0): tested 2026-01-07 (planned 2026-01-05), no value for this measure (no valid trial of it)'
    >>> later = {**base, "session_id": None, "measured_on": None, "value": None, "date": "2026-01-19"}
    >>> visit_words(later, "2026-01-10"), visit_words(later, "2026-03-01")
    ('Baseline (week 0): planned 2026-01-19', 'Baseline (week 0): planned 2026-01-19, not yet measured')
    >>> visit_words({**later, "status": "missed"}, "2026-03-01")
    'Baseline (week 0): missed (planned 2026-01-19)'
    >>> visit_words(later, "2026-03-01", in_visit=False)
    'Baseline (week 0), 2026-01-19: this test is not part of the visit'
    """
    head = visit_name(point["label"], point["week"])
    planned = point["date"]
    if point.get("session_id") is not None:
        on = point.get("measured_on") or planned
        when = on + (f" (planned {planned})" if on != planned else "")
        if point.get("value") is None:
            return f"{head}: tested {when}, no value for this measure (no valid trial of it)"
        return f"{head}: measured {when}"
    if not in_visit:
        return f"{head}, {planned}: this test is not part of the visit"
    status = point["status"]
    if status == "missed":
        return f"{head}: missed (planned {planned})"
    if status == "cancelled":
        return f"{head}: cancelled when the programme ended (planned {planned})"
    return f"{head}: planned {planned}" + (", not yet measured" if planned < today else "")


def not_measured_words(points: list[dict], protocol: str, visits: dict[int, dict], today: str) -> str:
    """Why an outcome has no chart: no visit has given it a value yet; when it will be measured (the first visit
    planned that runs its test, said late when its day has passed), or that no planned visit is left to.

    >>> pts = [{"label": "Baseline", "week": 0, "date": "2026-11-05", "status": "planned", "session_id": None,
    ...         "value": None, "visit_id": 1},
    ...        {"label": "End (after week 4)", "week": 4, "date": "2026-12-03", "status": "planned", "session_id": None,
    ...         "value": None, "visit_id": 2}]
    >>> not_measured_words(pts, "quiet-stance", {}, "2026-11-01")
    'Not measured yet, so no chart: first at Baseline (week 0), planned 2026-11-05.'
    >>> not_measured_words(pts, "quiet-stance", {}, "2026-11-20")
    'Not measured yet, so no chart: Baseline (week 0) was planned 2026-11-05 and is not yet measured.'
    >>> not_measured_words([{**pt, "status": "missed"} for pt in pts], "quiet-stance", {}, "2026-12-20")
    'Not measured, so no chart: no visit planned to measure it is left (see the visits above).'
    """
    tested = any(pt.get("session_id") is not None for pt in points)  # tested with no valid trial of it
    head = "No value yet, so no chart" if tested else "Not measured yet, so no chart"
    pending = [pt for pt in points if pt.get("session_id") is None and pt.get("status") not in ("missed", "cancelled")
               and protocol in ((visits.get(pt.get("visit_id")) or {}).get("protocols") or [protocol])]
    if not pending:
        return f"{head.replace(' yet', '')}: no visit planned to measure it is left (see the visits above)."
    first = pending[0]
    name = visit_name(first["label"], first["week"])
    if first["date"] < today:
        return f"{head}: {name} was planned {first['date']} and is not yet measured."
    return f"{head}: {'next' if tested else 'first'} at {name}, planned {first['date']}."


def _outcome_block(outcome: dict, citations: Citations, width: float, visits: dict[int, dict],
                   today: str, ceiling: float | None = None) -> KeepTogether:
    """``visits``: the programme's visits by id (which tests each runs); ``ceiling``: the most a value can be (a time
    held: its trial's length; the MDC band stops there, as the history PDF's)."""
    unit = outcome.get("unit") or ""
    points = outcome["points"]
    mdc = outcome.get("mdc")
    # a time held as the pages say it (one decimal, 0 s unable); no MDC band around an unable (0 s) baseline: the MDC
    # is not read from it (programmes.change UNABLE_NOT_READ), as the history's PDF and the programme page
    held = outcome.get("metric") == "time_held_s"
    unshaded = held and mdc is not None and bool(points) and points[0]["value"] == 0
    value_words = time_held if held else (lambda v: with_unit(v, unit))
    measured = any(pt["value"] is not None for pt in points)
    first = next((pt["value"] for pt in points if pt["value"] is not None), None)  # the band's centre
    # nothing measured yet: said, and when it will be, not an empty box reading "no values"
    chart = series_chart([(pt["date"], pt["value"]) for pt in points], width=width * 0.55, height=40 * mm, unit=unit,
                         mdc=None if mdc is None or unshaded else float(mdc["value"]),
                         floor=None if outcome.get("metric") == "weight_left_pct" else 0.0,
                         x_labels=[f"week {pt['week']}" for pt in points], by_time=False, ceiling=ceiling) if measured \
        else p(not_measured_words(points, outcome["protocol"], visits, today), "small")
    rows: list[list] = [["Visit", "Value", "Change from baseline", "Verdict"]]
    changes = {c["to"]: c for c in outcome.get("changes") or []}
    for pt in points:
        change = changes.get(pt["visit_id"]) or changes.get(pt["assessment_id"]) or {}
        tests = (visits.get(pt["visit_id"]) or {}).get("protocols")
        rows.append([visit_words(pt, today, in_visit=tests is None or outcome["protocol"] in tests),
                     value_words(pt["value"]),
                     # signed, as the programme page says it ("+0.30 m/s from baseline"): "0.30 m/s" did not say which way
                     (held_change if held else lambda v: signed_change(v, unit))(change.get("difference")) if change else "",
                     (change.get("verdict", "") + (f" ({change['mdc_reading']})" if change.get("mdc_reading") else ""))
                     if change else ""])
    if mdc is not None:
        cite = citations.cite(mdc.get("citation"), mdc.get("doi"))
        if mdc.get("phases"):  # published per phase of the stroke; the record holds no date of onset
            values = ", ".join(f"{with_unit(p['value'], unit)} {p['phase']}" for p in mdc["phases"])
            population = mdc.get("population") or ""
            # said once: the reference's population says it already (station/reference/mdc.py); before, the
            # sentence said "the record holds no date of stroke" twice
            why = ("" if "no date of stroke" in population
                   else "; the record holds no date of stroke, so a change is read against each")
            reading = f"MDC {values} {cite} ({population}){why}." + (" " + mdc_caption(float(mdc["value"]), unit) + "."
                                                                     if measured else "")
        else:
            reading = (f"MDC {value_words(mdc['value'])} {cite} ({mdc.get('population')})."
                       + ("" if not measured else " No grey band: the MDC is not read from or to an unable, 0 s."
                          if unshaded else " " + mdc_caption(float(mdc["value"]), unit, time_held(mdc["value"]) if held
                                                             else None, first=first, ceiling=ceiling,
                                                             ceiling_said=ceiling and time_held(ceiling)) + "."))
    else:
        reading = outcome.get("mdc_words") or "No MDC published for this measure."  # as the page says it
    better = {"lower": "lower is better", "higher": "higher is better"}.get(outcome.get("better"), "")
    title = f"{outcome['label']}" + (f" ({unit})" if unit else "") + (f", {better}" if better else "")
    return KeepTogether([p(title, "h3"), table(rows, [0.36 * width, 0.18 * width, 0.2 * width, 0.26 * width]),
                         Spacer(1, 1 * mm), chart, p(reading, "small"), Spacer(1, 2 * mm)])


def done_of_planned(minutes, planned) -> str:
    """A dose's time walked against the plan as the programme page says it (``doneOfPlanned``,
    web/static/js/programme.js): ``30 min`` done in full, ``21 s of 30 min`` for a session stopped early;
    ``–`` for none.

    >>> done_of_planned(0.35, 30.0), done_of_planned(30.0, 30.0), done_of_planned(None, 30.0)
    ('21 s of 30 min', '30 min', '–')
    """
    if minutes is None:
        return "–"
    if planned is not None and round(minutes * 60) < round(planned * 60):
        return f"{quantity(minutes, 'min')} of {quantity(planned, 'min')}"
    return quantity(minutes, "min")


def _dose_rows(doc: dict) -> list[list]:
    # one speed column: a treadmill's belt as entered (its dose's speed_m_s is the belt's too), said once
    rows = [["#", "Week", "Date", "Status", "Time walked", "Steps", "Cadence", "Speed", "RPE", "Source"]]
    for s in doc["sessions"]:
        # the day it was done when not the planned one; a session under half its minutes is partial
        done = s.get("done_on")
        rows.append([str(s["number"]), str(s["week"]),
                     f"{done} (planned {s['planned_date']})" if done and done != s["planned_date"] else s["planned_date"],
                     "partial" if s.get("partial") else s["status"],
                     done_of_planned(s.get("minutes"), s.get("minutes_planned")),
                     number(s.get("steps"), 5), quantity(s.get("cadence_steps_min"), "steps/min"),
                     dose_speed(s.get("speed_m_s"), s.get("belt_speed_m_s")),
                     number(s.get("rpe"), 2), s.get("source") or ""])
    return rows


def programme_story(store, assignment_id: int, protocols: dict, *, actor, wall_clock=None,
                    paper: str) -> tuple[list, dict, list]:
    """The flowables of the programme report, the programme document and the stored trials shown."""
    doc = programme_document(store, assignment_id, protocols, actor=actor)
    width = content_width(paper)
    citations = Citations()
    template = doc["template"]
    programme = template["programme"]
    schedule = template["schedule"]
    position = doc["position"]
    # the programme's own sources, cited where it is described (the references list only what is cited)
    sources = ", ".join(filter(None, (citations.cite(ref.get("citation"), ref.get("doi"))
                                      for ref in template.get("references") or [])))
    story = [p("Programme report", "h1"), p(programme["title"], "h2"),
             p(f"{programme.get('summary', '')}" + (f" Sources: {sources}." if sources else ""), "small"),
             p(f"{schedule['weeks']} weeks, {schedule['sessions_per_week']} sessions a week of "
               f"{number(schedule['minutes_per_session'], 3)} min; started {doc['start_date']}; status {doc['status']}"
               + (f", ended {doc['ended_on']}" if doc.get("ended_on") else "")
               + f"; week {position['week']} of {position['weeks']}.")]
    if doc.get("population_warning"):  # written for other people than this patient: said before any outcome
        story.append(p(doc["population_warning"]))
    story.append(p("Outcomes: baseline to end", "h2"))
    story.append(p("A change is real only beyond the minimal detectable change (MDC) published for people like this "
                   "patient (their recorded conditions and age); where none is published or applies the verdict says so.",
                   "small"))
    groups = doc.get("outcome_groups") or []
    for group in groups:
        story.append(p(group["group"], "h3"))
        for outcome in group["outcomes"]:
            protocol = protocols.get(outcome["protocol"])  # a time held is at most its trial's length
            held = outcome.get("metric") == "time_held_s" and protocol is not None and protocol.outcome == "time_held"
            story.append(_outcome_block(outcome, citations, width, {v["id"]: v for v in doc["visits"]}, doc["today"],
                                        ceiling=protocol.duration_s if held else None))
    if not groups:
        story.append(p("The programme names no outcomes."))
    story.append(p("Adherence", "h2"))
    story.append(table(adherence_rows(doc), [0.2 * width, 0.45 * width, 0.35 * width]))
    story += [Spacer(1, 1 * mm), p(partial_rule_words(), "small")]
    weeks = doc["adherence"].get("weeks") or []
    if weeks:
        rows = [["Week", "Planned", "Due", "Done", "Missed", "Time walked / planned"]]
        for w in weeks:
            rows.append([str(w["week"]), str(w["sessions_planned"]), str(w["sessions_due"]),
                         str(w["sessions_done"]) + (f" ({w['sessions_partial']} partial)" if w.get("sessions_partial") else ""),
                         str(w["sessions_missed"]),
                         f"{quantity(w.get('minutes_done'), 'min')} / {quantity(w.get('minutes_planned'), 'min')}"])
        story.append(Spacer(1, 2 * mm))
        story.append(table(rows, [0.12 * width, 0.14 * width, 0.14 * width, 0.14 * width, 0.14 * width, 0.32 * width]))
    story.append(p("Dose per session", "h2"))
    fractions = (0.05, 0.06, 0.12, 0.1, 0.13, 0.08, 0.1, 0.2, 0.06, 0.1)  # the speed, belt included, a fifth
    story.append(table(_dose_rows(doc), [f * width for f in fractions]))
    if citations.entries():  # only what the report cites (its sources, an MDC beside its outcome)
        story.append(p("References", "h2"))
        story += [p(entry, "cite") for entry in citations.entries()]
    trials = []
    for visit in doc["visits"]:
        for run in visit.get("runs") or []:
            session = store.sessions.get(run["session_id"])
            trials += [store.trials.get(t["id"]) for t in session["trials"]]
    trials += [store.trials.get(s["trial_id"]) for s in doc["sessions"] if s.get("trial_id")]
    return story, doc, trials
