"""The patient history report: the key measures over the patient's sessions and programme adherence.

Per test and condition, the measure the history page leads with (sway velocity and ellipse area,
time held, weight split, walking speed...; :func:`station.protocols.report.is_key_series`) as a
chart over the session dates, with a band of ± the published minimal detectable change around the
first value where one was published for a population like the patient (cited; otherwise the
report says why none is shown), the first and last value and the change between them. Then each
training programme with its adherence. Built from :func:`station.protocols.report.patient_history`
and :func:`station.programmes.report.programme_document`.
"""

from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Spacer

from station.programmes.adherence import PARTIAL_BELOW
from station.programmes.report import programme_document
from station.protocols.report import BASELINE, patient_history, visit_numbers
from station.reports.charts import mdc_caption, series_chart
from station.reports.layout import content_width, p, table
from station.reports.references import Citations
from station.reports.text import (bracketed, change, change_unit, counted, day, held_change, quantity, time_held,
                                  with_unit)


def dated(value: str, started_at) -> str:
    """A value and its day, in one bracket (:func:`station.reports.text.bracketed`, the history page's rule for a
    point's trials): "12.5 s (2026-11-02)"; a value whose words end in their own bracket (a time held of 0 s: "0 s
    (unable; scored by the clinician, not measured)") takes the day into it, not two brackets in a row.

    >>> dated("12.5 s", "2026-11-02T10:00:00+00:00")
    '12.5 s (2026-11-02)'
    >>> dated("0 s (unable; scored by the clinician, not measured)", "2026-11-02T10:00:00+00:00")
    '0 s (2026-11-02: unable; scored by the clinician, not measured)'
    """
    return bracketed(value, day(started_at))


def point_words(series: dict):
    """How a point of ``series`` is said: a count as counted, each trial's (patient_history's point words), a time held
    as the pages say it (one decimal, 0 s "0 s (unable)": the patient could not take the position), else with its unit.

    >>> point_words({"metric": "time_held_s", "unit": "s"})({"value": 12.04})
    '12.0 s'
    """
    if series.get("count"):
        return lambda pt: pt["words"]
    if series.get("metric") == "time_held_s":
        return lambda pt: time_held(pt["value"], pt.get("unable_words"))
    return lambda pt: with_unit(pt["value"], series.get("unit") or "")


def change_amount(series: dict):
    """How a change or an MDC of ``series`` is said: a time held's in the precision the test is scored in, as its
    values (one decimal: "+12.5 s"), others by their unit's rule."""
    if series.get("metric") == "time_held_s":
        return time_held
    return lambda v: quantity(v, change_unit(series.get("unit") or ""))


def mdc_said(series: dict, citations: Citations) -> str:
    """The MDC of ``series`` (one, or one per phase of stroke), cited, with its population: "24.1 s [1] (25 ...)"."""
    mdc, amount = series["mdc"], change_amount(series)
    values = " / ".join(f"{amount(ph['value'])} {ph['phase']}" for ph in mdc.get("phases") or []) or amount(mdc["value"])
    return f"{values} {citations.cite(mdc.get('citation'), mdc.get('doi'))} ({mdc.get('population')})"


def measured_once_table(once: list[dict], citations: Citations, width: float, dated_too: bool):
    """Key measures measured once so far, a row each (a chart of one dot charts no history): the test and condition,
    the measure, its value (``dated_too``: with its day, when the history spans several visits) and what it is read
    against: the published cut-offs that apply (the chart's dashed lines, said) and the minimal detectable change a
    later change will be read against where one is published, "–" for neither (no column where no row has one). That
    each value is the baseline is said once above the table (report.measured_once_words, the history page's words too),
    not on every row."""
    rows: list[list] = [["Test: condition", "Measure", "Value", "Reading"]]
    for series in once:
        (point,) = series["points"]
        measure = series.get("label") or series.get("metric")
        if series.get("better_words"):  # a walk measure's direction of benefit, as its chart's title says it
            measure += f", {series['better_words']}"
        value = point_words(series)(point)
        against = [f"{cut['words'].replace('Dashed line at ', 'Cut-off ', 1)} "
                   f"{citations.cite(cut.get('source'), cut.get('doi'))}." for cut in series.get("cutoffs") or ()]
        # nothing compared yet: the MDC a later change is read against where one is published (no "no published MDC":
        # it read as a comparison missing; the baseline is said above the table)
        if series.get("mdc"):
            against.append(f"A later change is real beyond the MDC, {mdc_said(series, citations)}.")
        rows.append([f"{series.get('protocol_title')}: {series.get('condition_label')}", measure,
                     dated(value, point["started_at"]) if dated_too else value, [p(a, "cell") for a in against or ["–"]]])
    if not any(series.get("cutoffs") or series.get("mdc") for series in once):  # nothing to read a value against
        return table([row[:3] for row in rows], [0.4 * width, 0.4 * width, 0.2 * width])
    return table(rows, [0.27 * width, 0.2 * width, 0.15 * width, 0.38 * width])


def series_block(series: dict, citations: Citations, width: float, visits: dict[int, int] | None = None,
                 ceiling: float | None = None) -> KeepTogether:
    """A key measure's heading, chart and reading (kept on one page); ``visits``: session id -> visit
    number (:func:`station.protocols.report.visit_numbers`), to count the visits its points come from; ``ceiling``:
    the most a value can be (a time held: its trial's length; the MDC band stops there, as at the floor)."""
    unit = series.get("unit") or ""
    points = [(pt["started_at"], pt["value"]) for pt in series["points"]]
    mdc = series.get("mdc")
    count = bool(series.get("count"))  # steps, pauses: said as counted, each trial's (patient_history's point words)
    # a treadmill session not comparable with the one before (another plan or belt speed, by the measure's rule, the
    # rule of its change since the first: patient_history's ``apart``): not joined, as the history page draws it
    apart = {i for i, pt in enumerate(series["points"]) if pt.get("apart")}
    # a time held unable (0 s) at the first or the last session: no change read against the MDC (not_compared), no band
    unshaded = series.get("metric") == "time_held_s" and bool(series.get("not_compared"))
    chart = series_chart(points, width=width, height=46 * mm, unit=unit,
                         mdc=None if mdc is None or unshaded else float(mdc["value"]), floor=series.get("floor"),
                         top_at_least=4.0 if count else None, apart=apart,
                         cutoffs=[(c["value"], c["label"]) for c in series.get("cutoffs") or ()], ceiling=ceiling)
    title = f"{series.get('protocol_title')}: {series.get('condition_label')}: {series.get('label')}"
    if unit and not count:
        title += f" ({unit})"
    if series.get("better_words"):  # a walk measure's direction of benefit (station/protocols/walk_words.py)
        title += f", {series['better_words']}"
    first, last = series["points"][0], series["points"][-1]
    held = series.get("metric") == "time_held_s"
    said = point_words(series)
    amount = change_amount(series)
    if len(points) == 1:  # what a chart of one point is, said once: the first value, the baseline (history_story
        # charts none: a table, measured_once_table; the MDC as the table says it, what a later change is read against)
        words = f"Measured once: {dated(said(first), first['started_at'])}, the first measurement. {BASELINE}"
        if mdc is not None:
            words += f" A later change is real beyond the MDC, {mdc_said(series, citations)}"
    else:
        # a point is one test's session; a visit's tests each have their own: counted as visits, as the header counts them
        seen = len({(visits or {}).get(pt.get("session_id"), pt.get("session_id")) for pt in series["points"]})
        measured = f"Measured at {counted(seen, 'visit')}" if seen == len(points) \
            else f"Measured {counted(len(points), 'time')} at {counted(seen, 'visit')}"
        moved = series["change_words"] if count else held_change(series.get("change")) if held \
            else change(series.get("change"), unit)  # a change always signed; a percentage's in points
        words = (f"{measured}; first {dated(said(first), first['started_at'])}, last {dated(said(last), last['started_at'])}, "
                 + (f"change {series['not_compared']}" if series.get("not_compared")  # a treadmill's other plan or speed
                    else moved if moved == "no change" else f"change {moved}"))
        if mdc is not None:
            words += f". MDC {mdc_said(series, citations)}"
            if series.get("mdc_reading"):  # an MDC per phase of stroke, the patient's phase unknown: both read
                words += ": the change is " + series["mdc_reading"]
            elif series.get("mdc_verdict"):  # station.protocols.report.mdc_verdict
                words += ": the change is " + series["mdc_verdict"]["words"]
        elif series.get("mdc_note"):
            words += f". {series['mdc_note']}"
        else:
            words += ". No minimal detectable change is published for this measure in this test."
    if mdc is not None:
        words += (". No grey band: the MDC is not read from or to an unable, 0 s." if unshaded
                  else ". " + mdc_caption(float(mdc["value"]), unit, said=amount(mdc["value"]), first=first["value"],
                                          ceiling=ceiling, ceiling_said=ceiling and amount(ceiling)) + ".")
    for cut in series.get("cutoffs") or ():  # a published cut-off that applies to this patient: its dashed line said
        words += f" {cut['words']} {citations.cite(cut.get('source'), cut.get('doi'))}."
    if series.get("apart_words"):  # which sessions are not joined (walk_words.treadmill_apart_words)
        words += " " + series["apart_words"]
    return KeepTogether([p(title, "h3"), chart, p(words, "small"), Spacer(1, 2 * mm)])


def adherence_rows(doc: dict) -> list[list]:
    overall = doc["adherence"]["overall"]
    missed = doc["adherence"].get("missed") or []

    def ratio(value):
        return "–" if value is None else f"{100 * value:.0f} %"

    # the dose leads (time walked of time due), the sessions beside it with the partial ones apart: three
    # sessions stopped after a minute are 100 % of the sessions due and 5 % of the training
    kinds = ", ".join(filter(None, (f"{overall['sessions_full']} full" if overall.get("sessions_full") else None,
                                    f"{overall['sessions_partial']} partial" if overall.get("sessions_partial") else None)))
    return [
        ["", "Time walked", "Sessions"],  # as every page says a time walked: "12 min 24 s", not "12.4"
        ["Planned", quantity(overall.get("minutes_planned"), "min"), str(overall["sessions_planned"])],
        ["Due so far", quantity(overall.get("minutes_due"), "min"), str(overall["sessions_due"])],
        ["Done", f"{quantity(overall.get('minutes_done'), 'min')} ({ratio(overall.get('minutes_done_of_due'))} of due)",
         f"{overall['sessions_done']}" + (f" ({kinds})" if kinds else "")
         + f", {ratio(overall.get('sessions_done_of_due'))} of due"],
        ["Missed", "", f"{overall['sessions_missed']}" + (f": {', '.join('#' + str(m['number']) for m in missed[:12])}"
                                                          if missed else "")],
    ]


def partial_rule_words() -> str:
    """The rule of a partial session, as the programme page says it."""
    return (f"A session is partial when less than {round(100 * PARTIAL_BELOW)} % of its planned minutes were walked; "
            "its minutes count, it is not a full session.")


def history_story(store, patient_id: int, protocols: dict, *, actor, wall_clock, paper: str) -> tuple[list, dict, list]:
    """The flowables of the history report, the history document and the stored trials shown."""
    history = patient_history(store, patient_id, protocols, actor=actor, wall_clock=wall_clock)
    width = content_width(paper)
    citations = Citations()
    sessions = history["sessions"]
    span = f"{day(sessions[0]['started_at'])} to {day(sessions[-1]['started_at'])}" if sessions else "no sessions"
    visits = visit_numbers(sessions)
    n_visits = len(set(visits.values()))
    # each test run is a session of its own: counted as a clinician does, visits and their tests
    story = [p("Patient history report", "h1"),
             p(f"{counted(n_visits, 'visit')} ({counted(len(sessions), 'test')} with trials), {span}.")]
    key = [s for s in history["series"] if s.get("key")]
    charted = [s for s in key if len(s["points"]) > 1]
    once = [s for s in key if len(s["points"]) == 1]  # one dot charts no history: said in a table
    if charted:
        story.append(p("Key measures over time", "h2"))
        story.append(p("Each value is the mean of the test's valid trials in one session (a visit that ran a test twice gives "
                       "two values), except a walk's counts (steps, pauses): each trial's count, the chart at one of them (their "
                       "median, the lower of the middle two for an even number of trials); "
                       "the change is the last session's against the first's. A change is called real only beyond the "
                       "published minimal detectable change (MDC) for a comparable population.", "small"))
        for series in charted:
            protocol = protocols.get(series.get("protocol"))  # a time held is at most its trial's length
            held = series.get("metric") == "time_held_s" and protocol is not None and protocol.outcome == "time_held"
            story.append(series_block(series, citations, width, visits, ceiling=protocol.duration_s if held else None))
    if once:
        said = history["measured_once"]  # the history page's words too (report.measured_once_words)
        story.append(p(said["heading"], "h3" if charted else "h2"))
        story.append(p(said["words"], "small"))
        story.append(measured_once_table(once, citations, width, dated_too=n_visits > 1))
    if not key:
        story.append(p("No key measures yet: no valid trials of a known test."))
    programmes = store.programmes.list_for_patient(patient_id)
    story.append(p("Training programmes", "h2"))
    if not programmes:
        story.append(p("None."))
    for item in programmes:
        doc = programme_document(store, item["id"], protocols, actor=actor)
        title = doc["template"]["programme"]["title"]
        story.append(p(f"{title}: from {doc['start_date']}, {doc['status']}"
                       + (f" (ended {doc['ended_on']})" if doc.get("ended_on") else ""), "h3"))
        story.append(table(adherence_rows(doc), [0.2 * width, 0.45 * width, 0.35 * width]))
        if doc["adherence"]["overall"].get("sessions_partial"):
            story += [Spacer(1, 1 * mm), p(partial_rule_words(), "small")]
    trials = []
    seen: set[int] = set()
    for series in history["series"]:
        for pt in series["points"]:
            for tid in pt["trials"]:
                if tid not in seen:
                    seen.add(tid)
                    trials.append(store.trials.get(tid))
    if citations.entries():
        story.append(p("References", "h2"))
        story += [p(entry, "cite") for entry in citations.entries()]
    return story, history, trials
