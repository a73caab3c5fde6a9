"""The session report: one visit (every protocol run that day, as the results page shows it).

Per test and condition: the stance, the trials and their validity (with the reasons of invalid
ones), the key measures with units against the age-group norms, the protocol's published cut-offs
and norms (cited) and, for walk tests, the change since the previous visit (the visit's value against the previous visit's) against the MDC;
Romberg quotients and the mCTSIB's composite; the centre-of-pressure trace with its 95 %
prediction ellipse of each valid stance trial (all traces of a test at one scale). Built from
:func:`station.protocols.report.session_results`, the document the results page reads.
"""

from __future__ import annotations

import numpy as np
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Spacer, Table, TableStyle

from station.programmes.report import mark_words, visit_marks
from station.protocols.report import cutoff_reading, session_results, trial_count_words
from station.protocols.walk_words import COUNTS, WALK_NOT_COMPLETED, counts_words
from station.reports.charts import STATOKINESIGRAM_MARGINS_PT, statokinesigram, times_held_chart, title_lines
from station.reports.layout import content_width, p, table
from station.reports.references import Citations, not_applied_together, reference_words
from station.reports.text import belt_speed, counted, day, fixed, mean_of, number, significant, time_held, with_unit
from station.store.trials import CorruptFrames

TRACES_PER_CONDITION = 3
"""Valid trials drawn per condition (the others are counted under the plots)."""


def _trace(store, trial_id: int) -> tuple[np.ndarray, np.ndarray, dict | None] | None:
    """A stance trial's COP in its analysed window, mean removed (cm), and its ellipse."""
    trial = store.trials.get(trial_id)
    doc = trial.get("metrics") or {}
    values = doc.get("metrics") or {}
    if doc.get("kind") == "walk" or "ellipse_area_cm2" not in values:
        return None
    frames = store.trials.frames(trial_id)
    if not len(frames):
        return None
    rate = float(trial["rate_hz"])
    seq0 = int(frames["seq"][0]) if trial["start_seq"] is None else int(trial["start_seq"])  # the result's time zero
    t_s = (frames["seq"].astype(np.int64) - seq0) / rate
    outcome = doc.get("trial") or {}
    start, end = outcome.get("analysis_start_s"), outcome.get("analysis_end_s")
    keep = np.isfinite(frames["ap_cm"]) & np.isfinite(frames["ml_cm"])
    if start is not None:
        keep &= t_s >= float(start) - 1e-9
    if end is not None:
        keep &= t_s <= float(end) + 1e-9
    ap = np.asarray(frames["ap_cm"][keep], dtype=float)
    ml = np.asarray(frames["ml_cm"][keep], dtype=float)
    if len(ap) < 2:
        return None
    ellipse = None
    if values.get("ellipse_major_cm") is not None and values.get("ellipse_minor_cm") is not None:
        ellipse = {"major_cm": values["ellipse_major_cm"], "minor_cm": values["ellipse_minor_cm"],
                   "angle_deg": values.get("ellipse_angle_deg") or 0.0}
    return ml - ml.mean(), ap - ap.mean(), ellipse


def _no_sway_note(stored: dict | None) -> str | None:
    """Why a valid trial has no sway measures ("Held too briefly for sway measures (2.2 s of steady stance; at least
    5 s is needed)."), as the trial's page says it, from its stored result; None when it has them."""
    doc = (stored or {}).get("metrics") or {}
    if doc.get("kind") == "walk" or doc.get("metrics"):
        return None
    return (doc.get("trial") or {}).get("metrics_note") or doc.get("note") or None


def _trial_lines(condition: dict, stored: dict[int, dict] | None = None) -> list:
    """``stored``: the condition's trials as stored, by id (their results' notes)."""
    stored = stored or {}
    out = []
    attempts, valid = condition.get("attempts", 0), condition.get("valid_trials", 0)
    words = f"{counted(attempts, 'trial')}, {valid} valid"
    if any(t.get("unable") for t in condition.get("trials") or []):  # results of 0 s, counted as the page counts them
        words = trial_count_words(condition["trials"]).rstrip(".")
    if condition.get("time_held_s"):
        held = ", ".join(time_held(t) for t in condition["time_held_s"])  # as the page's: one decimal, "0 s (unable)"
        analysed = [t for t in condition.get("trials") or [] if t.get("analysed")]
        # the score said after the times, never a second bracket beside a "0 s (unable)" ("0 s (unable) (score: ...)")
        if analysed and all(t.get("unable") for t in analysed):  # no valid attempt to take the best (or mean) of
            words += f"; the score is 0 s: unable at {'every attempt' if len(analysed) > 1 else 'the one attempt'}"
        else:
            words += f"; time held {held}"
            if condition.get("score") and len(condition["time_held_s"]) > 1:  # one time is the score, no rule to say
                words += f"; the score is the {condition['score']} of the valid attempts"
    out.append(p(words, "small"))
    for trial in condition.get("trials") or []:
        if trial.get("unable"):  # the results page's words: measured (the foot never lifted) or scored by the clinician
            out.append(p(f"Trial {trial.get('trial') or ''} · #{trial['id']}: {trial['unable_words']}", "small"))
        elif trial.get("status") != "complete":  # interrupted, stopped on purpose: said as such (report._trial_line's note)
            out.append(p(f"Trial #{trial['id']}: {trial.get('note') or trial.get('status')}", "small"))
        elif trial.get("valid") is False:
            reason = trial.get("validity_reason") or trial.get("note")
            verdict = WALK_NOT_COMPLETED if trial.get("walk_not_completed") else "not valid"
            out.append(p(f"Trial #{trial['id']}: {verdict}" + (f": {reason}" if reason else ""), "small"))
        elif trial.get("imu_gaps") or trial.get("ended_early"):  # a walk trial's lost sensor readings or data, in words
            if trial.get("ended_early"):  # a treadmill session the station's data loss ended (what was measured kept)
                out.append(p(f"Trial #{trial['id']}: {trial['ended_early']}", "small"))
            gaps = trial.get("imu_gaps") or {}
            # time not measured (a treadmill's dropouts, stalls), or no gait at all: said whole; short gaps filled: one
            # line, the results page's (report._trial_line: who lost them, the sensor or a busy station)
            words = None if not gaps else gaps["words"] if gaps.get("not_measured_s") or not gaps.get("gait_valid") \
                else trial.get("imu_gaps_line")
            if words:
                out.append(p(f"Trial #{trial['id']}: {words}", "small"))
        elif trial.get("valid") and trial.get("analysed") and (note := _no_sway_note(stored.get(trial["id"]))):
            # a hold too short for sway measures: its time counts, its sway is in no mean and its trace is not drawn
            # ("mean of 2 trials" beside "3 trials, 3 valid" said no why)
            out.append(p(f"Trial {trial.get('trial') or ''} · #{trial['id']}: {note.rstrip('.')}: not in the sway "
                         "measures' means, no trace drawn" + ("; its time held counts." if trial.get("time_held_s")
                                                              is not None else "."), "small"))
        if trial.get("step_length_withheld") and trial.get("valid") and trial.get("status") == "complete":
            out.append(p(f"Trial #{trial['id']}: {trial['step_length_withheld']}", "small"))  # why no step length
    return out


def _measures_table(condition: dict, citations: Citations, width: float):
    rows: list[list] = [["Measure", "Value", "Compared with"]]
    treadmill = (condition.get("values") or {}).get("walking_min") is not None
    first_said = False  # a walk's first visit with its test: said once, on its first measure (as the visit results)
    for km in condition.get("key_measures") or []:
        unit = km.get("unit") or ""
        # a treadmill's belt speed as the clinician entered it (km/h), not as stored (m/s)
        # a visit's sessions each at their own speed: each said (its "settings"), not a mean nobody set
        value = belt_speed(km.get("settings") or km.get("value")) if treadmill and km.get("metric") == "walk_speed_m_s" \
            else "; ".join(km["sessions"]) if km.get("sessions") \
            else counts_words(km["counts"], "treadmill" if treadmill else "overground") if km.get("counts") \
            else time_held(km.get("value")) if km.get("metric") == "time_held_s" \
            else fixed(km.get("value"), 0) if km.get("metric") in COUNTS \
            else with_unit(km.get("value"), unit)  # a count as counted, each trial's: never a mean rounded
        if km.get("each"):  # a mean of several trials: said so, with each ("3.66 s (mean of 2 trials: 3.69, 3.63 s)")
            value += f" ({mean_of(km['each'], unit, km.get('each_noun') or 'trials')})"
        references = km.get("references") or []
        # several sources set in other people: said once, together, as the results page says them (report.not_applied_said)
        apart = [r for r in references if r.get("said_together")]
        first = [r for r in references if r.get("kind") == "change" and r.get("previous") is None]
        refs = [reference_words(r, unit, citations) for r in references
                if not r.get("said_together") and not (first_said and any(r is f for f in first))]
        first_said = first_said or bool(first)
        if apart:
            refs.append(not_applied_together(apart, citations))
        if km.get("words"):
            refs.insert(0, km["words"])
        if km.get("note"):
            refs.append(km["note"])
        refs = [r for r in refs if r] or ["No published reference for this measure in this test."]
        rows.append([km.get("label") or km.get("metric"), value, [p(r, "cell") for r in refs]])
    if len(rows) == 1:
        if condition.get("walk_not_completed"):  # the visit results' words (station/protocols/report.py)
            return p(f"No measures: {condition['walk_not_completed']}.", "small")
        return p("No measures: no valid trial.", "small")
    return table(rows, [0.24 * width, 0.16 * width, 0.60 * width])


def _held_chart(condition: dict, citations: Citations, width: float) -> list:
    """A time held read against a published cut-off that applies to the patient (its key measure's ``lines``, the
    history's rule: report.history_cutoffs): each trial's time a bar and the cut-off a dashed line, named and said
    under it as the history report says it ("Dashed line at 5 s: below it, higher risk of injurious falls [1]."), as
    the visit results draw it; nothing for a patient the cut-off was not set for."""
    held = next((m for m in condition.get("key_measures") or [] if m.get("metric") == "time_held_s"), None)
    lines = (held or {}).get("lines") or []
    scored = [t for t in condition.get("trials") or []
              if (t.get("valid") or t.get("unable")) and t.get("time_held_s") is not None]
    if not lines or not scored:
        return []
    numbers = [t.get("trial") for t in scored]  # named as the trial lines name them; by their id when two share one
    named = None not in numbers and len(set(numbers)) == len(numbers)
    bars = [(f"Trial {t['trial']}" if named else f"#{t['id']}", float(t["time_held_s"]), bool(t.get("unable")))
            for t in scored]
    chart = times_held_chart(bars, width=min(width, 120 * mm), height=38 * mm, top=held.get("trial_s"),
                             cutoffs=[(c["value"], c["label"]) for c in lines])
    # (named: a page break may come between the condition's table and its chart)
    words = f"{condition.get('label') or condition.get('id')}, time held in each trial" \
        + (" (an open circle: unable, 0 s)" if any(b[2] for b in bars) else "") + "." \
        + "".join(f" {c['words']} {citations.cite(c.get('source'), c.get('doi'))}." for c in lines)
    return [KeepTogether([chart, p(words, "small")])]


def trace_name(trial: dict, trials: list[dict]) -> str:
    """A trace's name under its condition, as the visit results name the trial in its list (results.js
    ``trialName``) with its number: its trial and attempt ("trial 2", "attempt 2", "trial 1, attempt 2"), the test
    first when the condition holds trials of several tests of the visit ("Test 2, attempt 1"), then " · #id" as the
    trial's lines and the time-held chart name it. Two attempts of one trial read "trial 1" twice before.

    >>> tandem = [{"id": 22, "trial": 1, "attempt": 1}, {"id": 23, "trial": 1, "attempt": 2}]
    >>> [trace_name(t, tandem) for t in tandem]
    ['attempt 1 · #22', 'attempt 2 · #23']
    >>> legs = [{"id": 3, "trial": 1, "attempt": 1}, {"id": 5, "trial": 2, "attempt": 1}, {"id": 6, "trial": 2, "attempt": 2}]
    >>> [trace_name(t, legs) for t in legs]
    ['trial 1 · #3', 'trial 2 · #5', 'trial 2, attempt 2 · #6']
    >>> twice = [{"id": 1, "trial": 1, "attempt": 1, "session_id": 1, "session": {"number": 1}},
    ...          {"id": 9, "trial": 1, "attempt": 1, "session_id": 4, "session": {"number": 3}}]
    >>> [trace_name(t, twice) for t in twice]
    ['Test 1 · #1', 'Test 3 · #9']
    """
    session = trial.get("session")
    same = [t for t in trials if t.get("session_id") == trial.get("session_id")] if session else trials
    attempt = trial.get("attempt")
    if attempt is None:  # a recording the protocol engine never numbered: its number alone
        within = ""
    elif any((t.get("trial") or 1) > 1 for t in same):
        within = f"trial {trial.get('trial')}" + (f", attempt {attempt}" if attempt > 1 else "")
    else:
        within = f"attempt {attempt}"
    if session:
        within = f"Test {session['number']}" + (f", {within}" if within and len(same) > 1 else "")
    return f"{within} · #{trial['id']}" if within else f"#{trial['id']}"


def _plots(store, conditions: list[dict], width: float) -> list:
    traces: list[tuple[str, tuple]] = []
    skipped, corrupt = 0, []
    for condition in conditions:
        drawn = 0
        for trial in condition.get("trials") or []:
            if not trial.get("valid") or trial.get("status") != "complete" or not trial.get("analysed"):
                continue
            if drawn >= TRACES_PER_CONDITION:
                skipped += 1
                continue
            try:
                found = _trace(store, trial["id"])
            except CorruptFrames as exc:  # the other traces and pages are drawn; this one is said
                corrupt.append(p(f"Trial #{exc.trial_id}: its centre-of-pressure trace is not drawn: its stored frames "
                                 f"are corrupt ({exc.detail}); its results above are kept. A backup of the station's "
                                 "data directory from before the damage has its frames.", "small"))
                continue
            if found is None:
                continue
            drawn += 1
            traces.append((f"{condition['label']}, {trace_name(trial, condition['trials'])}", found))
    if not traces:
        return corrupt
    reach = 0.5
    for _label, (ml, ap, ellipse) in traces:
        reach = max(reach, float(np.max(np.abs(ml))), float(np.max(np.abs(ap))),
                    float(ellipse["major_cm"]) if ellipse else 0.0)
    half = reach * 1.08
    per_row = 3
    size = (width - 4 * mm) / per_row
    # every drawing with room for the longest title's lines: the plots side by side at one height and size
    rows_of_title = max(len(title_lines(label, size - STATOKINESIGRAM_MARGINS_PT)) for label, _trace_data in traces)
    cells = [statokinesigram(ml, ap, ellipse, size=size, half_cm=half, title=label, title_rows=rows_of_title)
             for label, (ml, ap, ellipse) in traces]
    rows = [cells[i:i + per_row] for i in range(0, len(cells), per_row)]
    rows[-1] += [""] * (per_row - len(rows[-1]))
    grid = Table(rows, colWidths=[size + 4 * mm / per_row] * per_row, hAlign="LEFT")
    grid.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                              ("TOPPADDING", (0, 0), (-1, -1), 1), ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    out = [KeepTogether([p("Centre-of-pressure traces (grey) with the 95 % prediction ellipse (dashed), mean removed, "
                           "all at one scale; seen from above, toes up.", "small"), grid])]
    if skipped:
        out.append(p(f"{counted(skipped, 'further valid trial')} not drawn.", "small"))
    return out + corrupt


def _romberg(section: dict) -> list:
    romberg = section.get("romberg")
    if not romberg:
        return []
    words = (f"Romberg quotient (eyes closed / eyes open): sway area {significant(romberg.get('romberg_quotient_area'))}, "
             f"sway velocity {significant(romberg.get('romberg_quotient_velocity'))}")
    if romberg.get("note"):
        words += f". {romberg['note']}"
    return [p(words)]


def _sensory(section: dict) -> list:
    sensory = section.get("sensory")
    if not sensory:
        return []
    out = []
    if sensory.get("composite_s") is not None:
        out.append(p(f"mCTSIB composite: {fixed(sensory['composite_s'], 1)} s of {number(sensory['max_s'], 3)} s "
                     f"({fixed(sensory.get('composite_pct'), 0)} %)"))  # as the visit's page
    else:
        out.append(p("mCTSIB composite: not given (not every condition has a score)."))
    ratios = "; ".join(f"{r['label']}: {fixed(r['ratio'], 2)}" for r in sensory.get("ratios") or [])
    if ratios:
        out.append(p(f"Sway-velocity ratios: {ratios}. {sensory.get('note', '')}", "small"))
    return out


def _romberg_cutoffs(section: dict, citations: Citations) -> list:
    out = []
    for cut in section.get("cutoffs") or []:
        if not str(cut.get("metric", "")).startswith("romberg_"):
            continue
        limit = cut.get("below") if cut.get("below") is not None else cut.get("above")
        side = "below" if cut.get("below") is not None else "above"
        if cut.get("not_applied_why"):  # set in a population the patient is not known to belong to
            out.append(p(f"{cut['metric']}: {cutoff_reading(cut, '')['words']} "
                         f"{citations.cite(cut.get('source'), cut.get('doi'))}", "small"))
            continue
        verdict = "no value" if cut.get("flagged") is None else ("flagged" if cut["flagged"] else "not flagged")
        out.append(p(f"{cut['metric']}: {significant(cut.get('value'))} ({verdict}; {side} {number(limit, 3)}: "
                     f"{cut.get('meaning', '')}) {citations.cite(cut.get('source'), cut.get('doi'))}", "small"))
    return out


def _programme_lines(section: dict, marks: dict, numbers: dict) -> list:
    """Whose programme a test's trials were, as the visit results say under its heading and beside its trials: a
    programme's visit that took it ("Baseline of the ended programme ... (ended 2026-12-06)", "Test 2: " first when
    the test holds trials of several tests of the visit), and each walk a programme counted as one of its sessions
    ("Trial #12: session 1 of the programme ..."). ``marks``: station.programmes.report.visit_marks; ``numbers``:
    the visit's session id -> its test number, for a visit of several tests."""
    trials = [t for c in section.get("conditions") or [] for t in c.get("trials") or []]
    sessions = list(dict.fromkeys(t.get("session_id") for t in trials))
    out = []
    for sid in sessions:
        for mark in (marks.get("visits") or {}).get(str(sid)) or []:
            if mark["protocol"] == section["protocol"]:
                test = f"Test {numbers[sid]}: " if len(sessions) > 1 and numbers.get(sid) else ""
                out.append(p(test + mark_words(mark, mark["label"]) + ".", "small"))
    for trial in trials:
        run = (marks.get("runs") or {}).get(str(trial["id"]))
        if run:
            out.append(p(f"Trial #{trial['id']}: " + mark_words(run, f"session {run['number']}") + ".", "small"))
    return out


def session_story(store, session_id: int, protocols: dict, *, actor, wall_clock, paper: str) -> tuple[list, dict, list]:
    """The flowables of the session report, the results document and the stored trials shown."""
    doc = session_results(store, session_id, protocols, actor=actor, wall_clock=wall_clock, visit=True)
    width = content_width(paper)
    citations = Citations()
    sessions = doc["sessions"]
    story = [p("Visit report", "h1"),  # the page's "Visit results" and its button's "Visit report (PDF)"
             # each test run opens a session of its own: a visit's sessions are its tests
             p(f"Visit of {day(sessions[0]['started_at'])}: {counted(len(sessions), 'test')}, "
               f"{counted(sum(s['trial_count'] for s in sessions), 'trial')}. Tests: "
               f"{', '.join(s['title'] for s in doc['protocols']) or 'none analysed'}.")]
    trials: list[dict] = []
    marks = visit_marks(store, doc)  # the page's programme marks, part of the visit's one audited view
    numbers = {s["id"]: s["number"] for s in sessions if s.get("number")}
    numbers = numbers if len(numbers) > 1 else {}  # a visit of one test has no "Test 1"
    for section in doc["protocols"]:
        # the test's heading and count, kept with its first condition's heading and trials (a heading alone at a
        # page's foot: "10-metre walk test ... / 4 valid of 4" with its measures on the next page)
        lead = [p(section["title"], "h2"), p(section.get("count_words") or f"{section['valid_trial_count']} valid of "
                                             f"{counted(section['trial_count'], 'analysed trial')}.", "small")]
        lead += _programme_lines(section, marks, numbers)
        if section.get("training") is not None or section.get("limits_of_stability") or not section["conditions"]:
            story += lead
            lead = []
        if section.get("training") is not None:  # training games: score, measures, per-target table
            from station.reports.game_report import game_flowables

            story += game_flowables(section, width)
            continue
        if section.get("limits_of_stability"):  # one lean per direction: the test's own tables and octagon
            from station.reports.los_report import los_flowables

            story += los_flowables(section, width, citations)
            trials += [store.trials.get(t["id"]) for c in section["conditions"] for t in c.get("trials") or []]
            continue
        for condition in section["conditions"]:
            head = lead + [p(condition["label"], "h3"), p(condition.get("stance") or "", "small")]
            lead = []
            stored = {t["id"]: store.trials.get(t["id"]) for t in condition.get("trials") or []}
            story.append(KeepTogether(head + _trial_lines(condition, stored)))
            story.append(_measures_table(condition, citations, width))
            story += _held_chart(condition, citations, width)
            story.append(Spacer(1, 2 * mm))
            trials += stored.values()
        story += _romberg(section) + _romberg_cutoffs(section, citations) + _sensory(section)
        if section["outcome"] != "walk":
            story += _plots(store, section["conditions"], width)
    if doc.get("unknown_protocol_trials"):
        story.append(p(f"{counted(len(doc['unknown_protocol_trials']), 'trial')} of a protocol this station no longer has: "
                       "not summarised.", "small"))
    if not doc["protocols"]:
        story.append(p("No analysed trials in this visit."))
    story.append(p("References", "h2"))
    notes = ("Values are means over the valid trials of a condition, except a walk's counts (steps, pauses) and a "
             "treadmill's settings (belt speed, minutes planned), said for each trial as counted or set.")
    if any(r.get("kind") == "norm" and r.get("comparable") for section in doc["protocols"]
           if not section.get("limits_of_stability") and section.get("training") is None  # their measures' tables only
           for c in section["conditions"] for km in c.get("key_measures") or [] for r in km.get("references") or []):
        notes = ("Percentiles are estimated from the published 5th, 50th and 95th percentiles of the age group "
                 "(log-normal interpolation). " + notes)
    story.append(p(notes, "small"))
    story += [p(entry, "cite") for entry in citations.entries()]
    return story, doc, trials
