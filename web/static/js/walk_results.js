/* Walk trials on the results and trial pages: the walk's measures (time, speed, cadence,
   variability, symmetry), the lower back's vertical acceleration with the steps (initial contacts)
   marked (GET /api/trials/<id>/steps), and for treadmill sessions the gait minute by minute. */
"use strict";

const WalkResults = (() => {
  const { api, el, unitsKept, fmt, fmtSig, quantity, change, changeUnit, beltSpeed } = Station;

  /* The walk measures of a stored trial's metrics document, wherever the result keeps them:
     [key, label, unit, digits, how to read it (which way is better)]. A value with a unit is shown by
     that unit's rule (Station.quantity); ``digits`` is for the unitless ones, or a function that words it. */
  const MEASURES = [
    ["walk_time_s", "Time", "s", 2, "shorter = faster"],
    ["walk_speed_m_s", "Speed over the timed distance", "m/s", 2, "higher = faster"],
    ["walk_distance_m", "Timed distance", "m", 2, ""],
    // the gait measures below come from the whole walk recorded, the speed above from the timed distance
    // between the gates: said in the PDF's words (GET /api/measures walk_spans, station/protocols/walk_words.py)
    ["cadence_steps_min", "Cadence", "steps/min", 1, ""],
    ["steps", "Steps (whole recording)", "", 0, ""],
    ["step_time_s", "Step time", "s", 3, ""],
    ["stride_time_cv_pct", "Stride-time variability (CV)", "%", 1, "steadiness (same foot to same foot): lower = steadier"],
    ["step_time_cv_pct", "Step-time variability (CV, both legs mixed)", "%", 1, "an uneven gait (one leg's steps longer) raises it: not steadiness by itself"],
    // a regularity can come out a little above 1 (an unbiased autocorrelation): "1 = every step alike" read
    // 1.01 as more than alike
    ["step_regularity", "Step regularity", "", 2, "higher = more regular; about 1: every step alike"],
    ["stride_regularity", "Stride regularity", "", 2, "higher = more regular; about 1: every stride alike"],
    ["step_symmetry", "Step symmetry", "", 2, "1 = left and right steps alike"],
    ["step_length_m", "Step length (IMU)", "m", 2, "estimated from the trunk's movement"],
    ["walking_speed_m_s", "Walking speed (IMU)", "m/s", 2, "estimated from the trunk's movement"],
    // the sensor's first to last step over the whole recording: beside the test's time ("Time 3.53 s"), a bare
    // "Time walking 4.74 s" read as a second result of the test
    ["duration_s", "Time walking (IMU)", "s", 1, "first to last step of the whole recording, not the test's time"],
  ];

  /* A treadmill session reads otherwise: the time walked against the plan and the pauses first;
     the belt speed is the clinician's entry (not measured) and the distance follows from it. */
  const TREADMILL = [
    ["walking_min", "Time walking", "min", 1, "more is better"],
    ["pauses", "Pauses (no step for 3 s or more)", "", 0, "fewer is better"],
    ["steps", "Steps", "", 0, ""],
    ["cadence_steps_min", "Cadence", "steps/min", 1, "steps per minute while walking"],
    ["step_time_s", "Step time", "s", 3, ""],
    ["stride_time_cv_pct", "Stride-time variability (CV)", "%", 1, "steadiness (same foot to same foot): lower = steadier"],
    ["step_time_cv_pct", "Step-time variability (CV, both legs mixed)", "%", 1, "an uneven gait (one leg's steps longer) raises it: not steadiness by itself"],
    ["step_regularity", "Step regularity", "", 2, "higher = more regular; about 1: every step alike"],
    ["stride_regularity", "Stride regularity", "", 2, "higher = more regular; about 1: every stride alike"],
    ["step_symmetry", "Step symmetry", "", 2, "1 = left and right steps alike"],
    ["step_length_m", "Step length (IMU)", "m", 2, "estimated from the trunk's movement"],
    ["walking_speed_m_s", "Walking speed (IMU)", "m/s", 2, "estimated from the trunk's movement; the belt sets the real speed"],
    ["walk_speed_m_s", "Belt speed (entered)", "", beltSpeed, "set on the treadmill, not measured"],
    ["walk_distance_m", "Distance on the belt", "m", 0, "belt speed × time walking"],
  ];

  /* A walk trial's metrics document (docs/api.md): {kind: "walk", metrics: {...}, initial_contacts_s, by_minute}. */
  function values(doc) {
    return (doc && doc.metrics) || {};
  }

  function minutesOf(doc) {
    return (doc && doc.by_minute) || null;
  }

  function isWalkTrial(doc) {
    return !!doc && doc.kind === "walk";
  }

  /* Minutes as a clinician writes them: 0.987, 9.3, 10 (three significant digits, no trailing zeros). */
  const minText = (x) => String(Number(Number(x).toPrecision(3)));
  // time walked: one rule on every page (Station.walkedTime: "20 s" under a minute, "12 min 24 s" above)
  const walkedText = Station.walkedTime;

  /* The minutes planned of a treadmill condition's values ``v`` (a visit's sessions' settings merged in: an
     array, one a session): one plan, or each session's, never their mean, which nobody planned. {words ("1 min",
     "1 and 2 min"), sessions (1 for one plan), pct (the time walked's share of the plan)}, or null. */
  function plannedOf(v) {
    const plans = [].concat(v.planned_min ?? []).map(Number).filter((x) => x > 0);
    if (!plans.length || v.walking_min === undefined || v.walking_min === null) return null;
    const one = new Set(plans).size === 1;
    return { words: `${Station.listed((one ? plans.slice(0, 1) : plans).map(minText))} min`, sessions: one ? 1 : plans.length,
      pct: fmt(100 * v.walking_min * plans.length / plans.reduce((a, b) => a + b, 0), 0) };
  }

  const COUNTED = ["steps", "pauses"]; // measures that are counts (station/protocols/walk_words.py COUNTS)

  /* A visit's counts of a measure, one a valid trial (a treadmill's trial is a session), as counted: each with how
     many, "31 and 34 (2 sessions)", never their mean rounded into a count nobody counted; several the same "24 in each
     of 4 trials" (a bare "24" read as their total); one alone (station/protocols/walk_words.py counts_words). */
  function countsText(each, setting) {
    const counts = [].concat(each ?? []).filter((c) => c !== null && Number.isFinite(Number(c))).map((c) => fmt(c, 0));
    const noun = setting === "treadmill" ? "sessions" : "trials";
    if (new Set(counts).size <= 1) {
      return !counts.length ? "–" : counts.length === 1 ? counts[0] : `${counts[0]} in each of ${counts.length} ${noun}`;
    }
    return `${Station.listed(counts)} (${counts.length} ${noun})`;
  }

  /* A visit's value of measure ``k`` in ``v``: a count (steps, pauses: condition.counts, one a valid trial) as
     counted, "24 in each of 4 trials" (the table's caption says counts are each trial's: a bare "24" read as their
     total), a pause's seconds with them: of one trial "in all", of several the mean of each one's (results.summarise),
     "a session on average"; a treadmill's settings (condition.settings, one a session) one when alike, else each. */
  function valueWords(k, v, unit, digits, setting) {
    if (Array.isArray(v[k]) && COUNTED.includes(k)) {
      const each = v[k].filter((c) => c !== null && Number.isFinite(Number(c)));
      if (each.length > 1) {
        const words = countsText(each, setting);
        const paused = k === "pauses" && each.some((c) => Number(c) > 0) && v.pause_s !== undefined && v.pause_s !== null;
        if (!paused) return words;
        const mean = `${fmt(v.pause_s, 0)} s a ${setting === "treadmill" ? "session" : "trial"} on average`;
        return words.endsWith(")") ? words.replace(/\)$/, `; ${mean})`) : `${words} (${mean})`;
      }
      v = { ...v, [k]: each[0] };
    } else if (Array.isArray(v[k])) { // an entered setting, each session's (beltSpeed says several itself)
      if (new Set(v[k]).size > 1) return typeof digits === "function" ? digits(v[k]) : Station.listed(v[k].map((x) => fmt(x, digits)));
      v = { ...v, [k]: v[k][0] };
    }
    const plan = k === "walking_min" ? plannedOf(v) : null;
    if (plan && plan.sessions > 1) {
      return `${walkedText(v[k])} a session on average, of ${plan.words} planned (${plan.sessions} sessions: ${plan.pct} % of the minutes planned)`;
    }
    // one session against its plan, said: no bare "(1 %)" after it (a percentage of what?)
    if (plan) return `${walkedText(v[k])} of ${plan.words} planned`;
    if (k === "pauses" && v[k] > 0 && v.pause_s !== undefined && v.pause_s !== null) {
      return `${v[k]} (${fmt(v.pause_s, 0)} s in all)`;
    }
    if (k === "walk_distance_m" && digits === 0) return `${fmt(v[k], 0)} m`; // belt speed × time: a whole number of metres
    return unit ? quantity(v[k], unit) : fmt(v[k], digits);
  }

  /* What a visit's walk measures are (the key measures say "mean of 2 trials: ..." beside each, report.key_measures'
     each; the all-measures table says it once, above): the mean of the valid trials (a treadmill's: sessions), or the
     one valid trial's values; counts (``counted``: the table has some) as counted. ``n``: the condition's valid trials. */
  function valuesOf(n, setting, counted) {
    const noun = setting === "treadmill" ? "session" : "trial";
    if (n > 1) {
      return `Each value is the mean of the ${n} valid ${noun}s` + (counted ? `; counts are each ${noun}'s as counted` : "") +
        ` (each ${noun} on its own page).`;
    }
    if (n === 1) return `The one valid ${noun}'s values.`;
    return null;
  }

  /* The measures table of a walk (``setting``: "treadmill" reads as a session, otherwise a timed walk);
     ``spans``: what a timed walk's gait measures span (GET /api/measures walk_spans); ``caption``: what the values
     are (a visit's: :func:`valuesOf`), none on a trial's own page. */
  function measuresTable(v, id, setting, spans, caption) {
    const list = setting === "treadmill" ? TREADMILL : MEASURES;
    const span = (k) => (setting === "treadmill" ? null : (spans || {})[k]);
    const rows = list.filter(([k]) => v[k] !== undefined && v[k] !== null).map(([k, label, unit, digits, hint]) =>
      el("tr", { dataset: { metric: k } }, el("th", {}, unitsKept(label), (span(k) || hint) ? el("span", { class: "hint" }, unitsKept(span(k) || hint)) : null),
        el("td", { class: "value num" }, unitsKept(valueWords(k, v, unit, digits, setting)))));
    return rows.length ? el("table", { class: "list measures", id }, caption ? el("caption", { class: "values-of small muted" }, caption) : null,
      el("tbody", {}, rows))
      : el("p", { class: "muted small" }, "No walk measures for this trial.");
  }

  /* Lost lower-back IMU samples of a walk trial in words (walk.imu_gaps, station/protocols/walk_words.py):
     how many, how long, and whether the gait measures stand. */
  function imuGapsNote(gaps, id, said) {
    if (!gaps) return null;
    // ``said``: the page already shows the words (the trial's warnings); time not measured (a dropout, a
    // stall: the gait from the parts between) is named by its first words, "1.5 s not measured (1 station stall)"
    const words = !said ? gaps.words : gaps.not_measured_s ? `${gaps.words.split(": ")[0]} (see above).`
      : gaps.gait_valid ? `${gaps.bridged_samples} lower-back sensor readings filled in (see above).` : "See above.";
    const note = (...parts) => el("p", { class: "imu-gaps small", id, dataset: { gaitValid: String(!!gaps.gait_valid) } }, ...parts);
    // valid: the tag says it, the words' own verdict (walk_words: "...: the gait measures are valid.", "... With them
    // left out, the gait measures are valid.") not said again after it
    if (gaps.gait_valid) {
      return note(el("span", { class: "tag valid" }, "gait measures valid"), " ",
        unitsKept(words.replace(/: the gait measures are valid\.$/, ".").replace(/ With (it|them) left out, the gait measures are valid\.$/, "")));
    }
    // words that open with it (walk_words.imu_gaps_summary: "No gait measures: the lower-back sensor's readings
    // missing ..."): the tag is their first words, the sentence read on from it ("no gait measures" then "No gait
    // measures: ..." said it twice): "[no gait measures] The lower-back sensor's readings missing ...", "[no gait
    // measures] from the lower-back sensor: ..."
    const lead = /^No gait measures(: )?/.exec(words);
    const rest = !lead ? ` ${words}` : lead[1] ? ` ${words[lead[0].length].toUpperCase()}${words.slice(lead[0].length + 1)}`
      : words.slice(lead[0].length);
    return note(el("span", { class: "tag flag" }, "no gait measures"), unitsKept(rest));
  }

  /* The steps figure of trial ``trialId`` into ``figure`` (window [from_s, to_s], optional). A figure drawn in a
     visit's results (``data-in-visit``: the session whose results the page shows) says so in its requests, the
     minutes' windows too: part of the visit's one audited view (web/visit_views.py); a trial's own page asks without. */
  async function stepsFigure(trialId, figure, window) {
    const w = window || {};
    const q = new URLSearchParams({ max_points: "4000" });
    if (w.from_s !== undefined) q.set("from_s", w.from_s);
    if (w.to_s !== undefined) q.set("to_s", w.to_s);
    if (figure.dataset.inVisit) q.set("in_visit", figure.dataset.inVisit);
    figure.classList.add("walk-figure");
    try {
      const doc = await api("GET", `/api/trials/${trialId}/steps?${q}`);
      // no trace (no IMU data, or no frames at all): the server's note says which, once, in the trace's place
      // on a tablet drawn at the width it is shown, its labels 12 px (a 720-px drawing across a 1180-px page set them
      // at 18 px); a phone's (600 px or narrower, or not shown yet) as Charts.drawWidth has it
      const widthPx = figure.clientWidth > 600 ? figure.clientWidth : undefined;
      const chart = WalkCharts.stepsTrace(doc.time_s, doc.acc_v_m_s2, doc.initial_contacts_s,
        { from_s: doc.from_s, to_s: doc.to_s, width: widthPx, traceLabel: "vertical acceleration", label: `Vertical acceleration of trial #${trialId} with its steps`,
          empty: doc.acceleration === false ? doc.note : null });
      const shown = doc.initial_contacts_s.length;
      const words = doc.note ? doc.note
        : `Vertical acceleration of the lower back (m/s², gravity included: the dashed line is 1 g, 9.81 m/s², the reading at rest) ` +
          `from ${fmt(doc.from_s, 1)} to ${fmt(doc.to_s, 1)} s, ` +
          `with the ${shown} step${shown === 1 ? "" : "s"} (initial contacts) the analysis found` +
          (doc.steps_total !== null && doc.steps_total !== shown ? ` (${doc.steps_total} in the whole trial)` : "") + ".";
      // no acceleration or no frames at all: the chart's place already says so, a caption would say it again
      figure.replaceChildren(chart, ...(doc.acceleration === false ? [] : [el("figcaption", {}, unitsKept(words))]));
      return doc;
    } catch (err) {
      figure.replaceChildren(el("figcaption", {}, `Could not load the acceleration: ${err.message}`));
      return null;
    }
  }

  /* Treadmill sessions: cadence per minute (bars; paused minutes light) and the table. */
  function minutesBlock(minutes, trialId, stepsBox, title = "Minute by minute") {
    // a session measured in the parts between sensor dropouts (station/protocols/walk_parts.py): rows count from each part's start
    const inParts = new Set(minutes.map((m) => m.part || 1)).size > 1;
    // a minute where the walking starts or ends: its few steps counted, not measured (gait.MIN_MINUTE_STEPS)
    const fewSteps = minutes.some((m) => m.steps > 0 && (m.cadence_steps_min === null || m.cadence_steps_min === undefined));
    const rows = minutes.map((m) => ({ minute: m.minute, value: m.cadence_steps_min,
      paused: (m.walking_s || 0) < 0.5 * ((m.end_s - m.start_s) || 60),
      text: `${quantity(m.cadence_steps_min, "steps/min")}, ${m.steps} steps, walking ${fmt(m.walking_s, 0)} s` }));
    const figure = el("figure", { class: "minute-figure" }); // scales with the page (the steps' trace scrolls instead)
    const table = el("table", { class: "list small walk-minutes", id: `minutes-${trialId}` },
      el("thead", {}, el("tr", {}, ...["Minute", "Walking (s of the minute)", "Steps", "Cadence (steps/min)", "Step-time CV (%)", "Stride-time CV (%)", "Pauses"]
        .map((h, i) => el("th", { class: i ? "num" : "" }, h)))),
      el("tbody", {}, minutes.map((m) => el("tr", { dataset: { minute: m.minute } },
        el("td", {}, inParts ? `${m.minute} (part ${m.part})` : m.minute), el("td", { class: "num" }, fmt(m.walking_s, 0)), el("td", { class: "num" }, m.steps),
        el("td", { class: "num" }, fmt(m.cadence_steps_min, 1)), el("td", { class: "num" }, fmt(m.step_time_cv_pct, 1)),
        el("td", { class: "num" }, fmt(m.stride_time_cv_pct, 1)), el("td", { class: "num" }, m.pauses ?? "–")))));
    figure.append(WalkCharts.minuteBars(rows, { unit: "steps/min", label: "Cadence per minute" }),
      el("figcaption", {}, ...unitsKept("Cadence minute by minute (light bars: less than half the minute walking). In the table, " +
        "variability (CV) is how much stride and step times differ within the minute: stride-time CV is the steadiness (lower = steadier); " +
        "step-time CV mixes in any difference between the legs; a pause is no step for 3 s or more." +
        (inParts ? " The sensor dropped out during the session: each part between dropouts is measured on its own, its minutes counted from the part's start." : "") +
        (fewSteps ? " A minute with fewer than 4 steps (where the walking starts or ends) has its steps counted but no cadence or variability (–): too few steps to measure." : "") +
        (stepsBox ? " Choose a minute in the table to see its steps above." : ""))));
    if (stepsBox) {
      for (const tr of table.tBodies[0].rows) {
        tr.tabIndex = 0;
        const show = () => {
          const m = minutes.find((x) => String(x.minute) === tr.dataset.minute);
          [...table.tBodies[0].rows].forEach((r) => r.classList.toggle("current", r === tr));
          stepsFigure(trialId, stepsBox, { from_s: m.start_s, to_s: m.end_s });
        };
        tr.addEventListener("click", show);
        tr.addEventListener("keydown", (ev) => { if (ev.key === "Enter") show(); });
      }
    }
    return el("div", { class: "walk-minutes-block" }, el("h3", {}, title), figure,
      el("div", { class: "table-scroll" }, table));
  }

  /* The window of the steps figure: the timed walk, or the first minute with walking. */
  function defaultWindow(doc) {
    const minutes = minutesOf(doc);
    if (minutes && minutes.length) {
      const m = minutes.find((x) => (x.steps || 0) > 0) || minutes[0];
      return { from_s: m.start_s, to_s: Math.min(m.end_s, m.start_s + 30) };
    }
    return {};
  }

  /* The trial page of a walk trial: measures, steps on the acceleration, minutes. */
  function trialPage(trialId, doc, plots, measures, spans) {
    const v = values(doc);
    const walk = (doc.trial && doc.trial.walk) || {};
    const said = !!walk.imu_gaps && ((doc.trial && doc.trial.warnings) || []).some((w) => w === walk.imu_gaps.words || w.endsWith(walk.imu || "\u0000"));
    measures.replaceChildren(...[imuGapsNote(walk.imu_gaps, "walk-imu-gaps", said), measuresTable(v, "walk-measures", walk.setting, spans)]
      .filter(Boolean));
    const figure = el("figure", {});
    plots.replaceChildren(figure);
    stepsFigure(trialId, figure, defaultWindow(doc));
    const minutes = minutesOf(doc);
    if (minutes && minutes.length) plots.append(minutesBlock(minutes, trialId, figure));
  }

  /* The earlier visit a change is counted from (report.add_walk_changes' ``previous``): "the visit of 2 Nov 2026 09:00",
     or a session's time when the results are one session's (as references.py _since says it in the PDF). */
  const since = (previous) => (previous.visit ? `the visit of ${Station.when(previous.started_at)}` : Station.when(previous.started_at));

  /* A walk measure's change since the patient's previous visit of the same test (the visit's value, the mean of its
     trials, against the previous visit's), against the published minimal detectable change when one fits the
     patient (report.add_walk_changes). */
  function changeReference(ref, { firstSaid = false } = {}) { // firstSaid: a row above already says "first visit"
    const mdcUnit = changeUnit(ref.unit); // a difference: a percentage's in points
    const values = ref.mdc && ref.mdc.phases && ref.mdc.phases.length // one per phase of stroke: both read
      ? ref.mdc.phases.map((p) => `${quantity(p.value, mdcUnit)} ${p.phase}`).join(" / ") : ref.mdc ? quantity(ref.mdc.value, mdcUnit) : "";
    const mdcWords = ref.mdc
      ? el("span", { class: "muted small" }, unitsKept(` Minimal detectable change ${values}: ${ref.mdc.population}. ${ref.mdc.citation.split(". ")[0]}.`))
      : el("span", { class: "muted small" }, unitsKept(ref.mdc_note ? ` ${ref.mdc_note}` : " No published minimal detectable change for this measure here."));
    if (!ref.previous) {
      // the first: nothing to compare, so no "no published MDC" (it read as a comparison missing); the baseline said
      // once per test, in the document's words (report.BASELINE, the visit PDF's too), an MDC (what a later change is
      // read against) where there is one
      if (firstSaid && !ref.mdc) return null;
      return el("div", { class: "ref change-ref" }, firstSaid ? null : [el("span", { class: "tag first-visit" }, "first visit with this test"),
        ref.baseline ? el("span", { class: "muted small first-baseline" }, unitsKept(` ${ref.baseline}`)) : null], ref.mdc ? mdcWords : null);
    }
    // a treadmill's previous visit of another plan or belt speed (report.add_walk_changes): no change made of them
    if (ref.not_compared) return el("div", { class: "ref change-ref not-compared small" }, unitsKept(`Since ${since(ref.previous)}: ${ref.not_compared}.`));
    if (ref.count) { // steps, pauses: whole, as counted (report._count_change), which way is better in words, no MDC;
      // the line the change, the earlier count and the direction, short; which counts were compared and why none is
      // called real in small print after it
      return el("div", { class: "ref change-ref count-change" }, el("strong", {}, unitsKept(ref.change_words)),
        unitsKept(` since ${since(ref.previous)} (${ref.previous.words}); `),
        el("span", { class: "better-direction", dataset: { better: ref.better || "" } }, `${ref.better_words}.`),
        el("span", { class: "muted small" }, ref.compared ? unitsKept(` ${ref.compared}`) : ""), mdcWords);
    }
    const tag = ref.mdc_reading ? el("span", { class: "tag neutral mdc-reading" }, ref.mdc_reading) : !ref.mdc_verdict ? null
      : Station.mdcVerdictTag(ref.mdc_verdict); // an improvement is not coloured as a warning
    const n = ref.previous.sessions || 1; // a visit's value: the mean over its sessions' trials
    return el("div", { class: "ref change-ref" },
      el("strong", {}, unitsKept(change(ref.change, ref.unit))),
      unitsKept(` since ${since(ref.previous)} (${quantity(ref.previous.value, ref.unit)}${n > 1 ? `, mean of ${n} sessions` : ""}) `),
      tag, mdcWords);
  }

  /* A setting the clinician entered (the treadmill's belt speed) against the previous visit's: a change of the
     session's dose, not a measured change, so no minimal detectable change (report.add_walk_changes); sessions at
     different speeds each said, no change made up; nothing at the first visit (the measure's own words say it is
     entered). */
  function enteredReference(ref) {
    if (!ref.previous) return null;
    return el("div", { class: "ref entered-ref small" },
      unitsKept(Station.beltChange(ref.change, since(ref.previous), ref.previous.settings || ref.previous.value)));
  }

  /* At a glance, a treadmill session: the time walked against the plan, the pauses, the cadence;
     a timed walk: its speed (unless a walking class beside it says it, results.js) and its change since
     the previous visit against the minimal detectable change. */
  function glance(condition) {
    const v = { ...(condition.values || {}), ...(condition.settings || {}) }; // each session's setting, not their mean
    if (v.walking_min === undefined || v.walking_min === null) return timedGlance(condition);
    const plan = plannedOf(v);
    // each session against its own plan (report.treadmill_sessions): "20 s walked of 30 min planned at 2.0 km/h: stopped early, at 0:21"
    const bits = condition.treadmill_sessions && condition.treadmill_sessions.length ? [...condition.treadmill_sessions]
      : [!plan ? `walked ${walkedText(v.walking_min)}`
      : plan.sessions > 1 ? `walked ${walkedText(v.walking_min)} a session on average, of ${plan.words} planned (${plan.sessions} sessions: ${plan.pct} % of the minutes planned)`
        : `walked ${walkedText(v.walking_min)} of ${plan.words} planned`];
    const pauses = [].concat((condition.counts || {}).pauses ?? v.pauses ?? []); // each session's, as counted
    if (new Set(pauses).size > 1) bits.push(`${countsText(pauses, "treadmill").replace(" (", " pauses (")}`);
    // several sessions alike: said of each ("no pause in any of the 3 sessions"; a lone "no pause" read as of one of them)
    else if (pauses.length > 1) bits.push(pauses[0] ? `${fmt(pauses[0], 0)} pause${pauses[0] === 1 ? "" : "s"} in each of the ${pauses.length} sessions`
      : `no pause in any of the ${pauses.length} sessions`);
    else if (pauses.length) bits.push(pauses[0] ? `${fmt(pauses[0], 0)} pause${pauses[0] === 1 ? "" : "s"}` : "no pause");
    // by the unit's rule, as the measures below say it (96.5 steps/min, not "97")
    if (v.cadence_steps_min !== undefined && v.cadence_steps_min !== null && condition.gait_pooled !== false) bits.push(quantity(v.cadence_steps_min, "steps/min"));
    return bits.map((b) => el("span", { class: "tag neutral", dataset: { kind: "walk" } }, unitsKept(b)));
  }

  function timedGlance(condition) {
    const speed = (condition.key_measures || []).find((m) => m.metric === "walk_speed_m_s");
    if (!speed || speed.value === null || speed.value === undefined) return [];
    const tag = (cls, words) => el("span", { class: "tag " + cls, dataset: { kind: "walk" } }, unitsKept(words));
    const verdictTag = (verdict, what) => {
      const t = Station.mdcVerdictTag({ ...verdict, words: `${what}: ${verdict.words}` });
      t.dataset.kind = "walk";
      return t;
    };
    // the speed is said once: a Perry class or a cut-off not applied (results.js keyVerdict) already names it
    const bits = speed.references.some((r) => r.kind === "cutoff" && (r.verdict === "class" || r.verdict === "not_applied")) ? []
      : [tag("neutral", `speed ${quantity(speed.value, "m/s")}`)];
    const changed = speed.references.find((r) => r.kind === "change" && r.previous);
    if (changed) {
      const sinceWords = `${change(changed.change, "m/s")} since ${since(changed.previous)}`;
      // the change against the MDC in the words and colour of the history and the measures (report.mdc_verdict)
      bits.push(changed.mdc_reading ? tag("neutral", `${sinceWords}: ${changed.mdc_reading}`)
        : changed.mdc_verdict ? verdictTag(changed.mdc_verdict, sinceWords)
        // one published for other people is said so, as the measures below say it (report: mdc_note), never "none"
        : tag("neutral", `${sinceWords} (${changed.mdc_note ? "the published MDC is not applied to this patient"
          : "no published MDC to compare it with"})`));
    }
    return bits;
  }

  const WALK_KEYS = ["walk_time_s", "walk_speed_m_s", "cadence_steps_min", "steps"];

  /* A condition of the results page measured walking (its values hold walk measures). */
  function isWalkCondition(condition) {
    const v = condition.values || {};
    return WALK_KEYS.some((k) => v[k] !== undefined) || condition.key_measures.some((m) => WALK_KEYS.includes(m.metric));
  }

  /* The results page's figure of a walk condition: the steps of its last valid trial, and the
     minutes of a treadmill session under it (into ``after``). ``nameOf``: a trial's name in the condition's trial
     list (results.js trialName, "Test 7 (02:26 AM)"), so the minutes name their session as the list does. */
  async function conditionFigure(condition, figure, after, nameOf) {
    const valid = condition.trials.filter((t) => t.valid && t.analysed);
    if (!valid.length) {
      // a walk the patient did not finish: no time to plot, but the last attempt's steps up to where it ended
      const attempts = condition.trials.filter((t) => t.walk_not_completed && t.status === "complete");
      if (!attempts.length) { figure.append(el("figcaption", {}, "No valid trial to plot.")); return; }
      const t = attempts[attempts.length - 1];
      const doc = await stepsFigure(t.id, figure, {});
      const lead = el("p", { class: "small walk-not-completed-figure" }, "Walk not completed: no time to plot." +
        (doc && doc.time_s.length ? ` The steps of attempt #${t.id} up to where it ended:` : ""));
      if (doc && doc.time_s.length) figure.prepend(lead); else figure.replaceChildren(lead);
      return;
    }
    const t = valid[valid.length - 1];
    try {
      const trial = await api("GET", `/api/trials/${t.id}` + (figure.dataset.inVisit ? `?in_visit=${figure.dataset.inVisit}` : ""));
      const doc = trial.metrics || {};
      await stepsFigure(t.id, figure, defaultWindow(doc));
      const minutes = minutesOf(doc);
      // a visit of several sessions: the one whose minutes these are, named as the trial list names it (R L8: the last
      // one's, unnamed), "Minute by minute: Test 7 (02:26 AM) · #35, the last of 3"
      const name = nameOf ? `${nameOf(t)} · #${t.id}` : `trial #${t.id}${t.started_at ? ` (${Station.clock(t.started_at)})` : ""}`;
      const title = valid.length > 1 ? `Minute by minute: ${name}, the last of ${valid.length}` : "Minute by minute";
      if (minutes && minutes.length && after) after.append(minutesBlock(minutes, t.id, figure, title));
    } catch (err) {
      figure.append(el("figcaption", {}, `Could not load the trial: ${err.message}`));
    }
  }

  return { values, valueWords, isWalkTrial, isWalkCondition, conditionFigure, changeReference, enteredReference, countsText, measuresTable, valuesOf, imuGapsNote, glance, stepsFigure, minutesBlock, minutesOf, defaultWindow, trialPage, MEASURES, fmtSig };
})();
