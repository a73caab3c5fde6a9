/* Results of a visit (every protocol run that day, GET /api/sessions/<id>/results?visit=1):
   first what each test showed, in words a clinician reads in seconds (criterion met or not,
   percentiles with the better direction and a flag outside the 5th-95th, the mCTSIB composite
   and sensory ratios), then per condition the trace (one scale for all the conditions of a test),
   the key measures with their references, the trials (with the clinician's validity judgement),
   all measures on demand; the visit's notes. */
"use strict";

(() => {
  const { api, el, unitsKept, fmt, fmtSig, num, quantity, beltSpeed, when, showError, ordinal, shortCite, cutoffTagClass, cutoffReference } = Station;
  const $ = (id) => document.getElementById(id);
  const sessionId = Number($("results-page").dataset.sessionId);
  let catalogue = null; // /api/measures
  const narrow = window.matchMedia("(max-width: 600px)").matches; // a phone: details on demand

  /* -- reading a reference ------------------------------------------------------------------ */
  function percentileWords(ref) {
    const p = ref.percentile;
    if (p === null || p === undefined) return "no value";
    if (ref.flag === "above_p95") return "above the 95th percentile";
    if (ref.flag === "below_p05") return "below the 5th percentile";
    return `${ordinal(p)} percentile`;
  }

  /* A tail of the reference group is alarming only in the worse direction: less sway than 95 % of the
     group is good news (station/protocols/report.py norm_reading, flag_tone). */
  const TONE_CLASS = { worse: "flag-strong", better: "valid", unusual: "flag" };
  function normTagClass(ref) {
    return "tag " + (ref.flag ? TONE_CLASS[ref.flag_tone] || "flag" : "neutral");
  }

  function normReference(ref, unit) {
    // no value, or one from a hold cut short: said why, never a percentile range (report.norm_withheld_words)
    if (!ref.comparable || ref.percentile === null || ref.percentile === undefined) {
      return el("div", { class: "ref" },
        el("span", { class: "tag" }, ref.not_compared ? "not compared" : "no norm"), " ",
        el("span", { class: "small" }, ref.note || "No value to compare."));
    }
    const pill = el("span", { class: normTagClass(ref) },
      ref.flag ? ref.flag_words || "outside the 5th–95th percentiles" : "within the 5th–95th percentiles");
    return el("div", { class: "ref" },
      el("div", {}, el("strong", { class: "pct" }, percentileWords(ref)), " ", pill),
      el("div", { class: "small" }, unitsKept(`${ref.direction}. Reference: ${ref.group}, n = ${ref.n_subjects}; 5th–95th ${num(ref.p05, unit)}–${quantity(ref.p95, unit)}, median ${quantity(ref.p50, unit)}. `),
        el("span", { class: "muted" }, ref.short_source + ".")),
      ref.fits === false ? el("div", { class: "misfit small" }, ref.misfit) : null);
  }

  function protocolNormReference(ref) {
    // values measured in other people (report: results._norm_entry's not_applied_why): not read, the reason in small type
    if (ref.not_applied_why) {
      return el("div", { class: "ref", dataset: { verdict: "not_applied" } }, el("span", { class: "tag neutral" }, "norms not applied"), " ",
        el("span", { class: "muted small" }, `${shortCite(ref.source)}. ${ref.note || ""}`));
    }
    const row = ref.row;
    return el("div", { class: "ref" }, ref.position ? el("strong", {}, ref.position) : "",
      row ? unitsKept(` (ages ${row.age_min_y}–${row.age_max_y}: mean ${row.mean ?? "–"} s)`) : "", " ",
      el("span", { class: "muted small" }, `${shortCite(ref.source)}. ${ref.note || ""}`));
  }

  function reference(ref, unit, said = {}) { // unit: the measure's, for a norm's percentiles (as the PDF's references.py)
    if (ref.kind === "norm") return normReference(ref, unit);
    if (ref.kind === "cutoff") return cutoffReference(ref);
    if (ref.kind === "protocol_norm") return protocolNormReference(ref);
    if (ref.kind === "change") { // walk tests, walk_results.js; "first visit with this test" said once per test, on its first row
      const node = WalkResults.changeReference(ref, { firstSaid: !!said.first });
      if (!ref.previous) said.first = true;
      return node;
    }
    if (ref.kind === "entered") return WalkResults.enteredReference(ref); // a treadmill's belt speed: a setting
    return null;
  }

  function valueText(m, condition) {
    if (m.metric === "time_held_s" && m.value === 0) return "0 s (unable)";
    // a treadmill's belt speed as the clinician entered it (km/h), not as stored; a visit's sessions' each, not their mean
    if (m.metric === "walk_speed_m_s" && isTreadmill(condition)) return beltSpeed(m.settings || m.value);
    if (m.sessions) return m.sessions.join("; "); // a treadmill's sessions of other plans or speeds: each, not their mean
    if (m.value === null || m.value === undefined) return "–";
    // a treadmill's time walking as every page says it ("20 s", not "0.3 min" beside "Walked 20 s of the ..." words)
    if (m.metric === "walking_min") return Station.walkedTime(m.value);
    // counts (walk tests): a visit's each trial's, as counted (never a mean rounded: "31 and 34 (2 sessions)")
    if (m.metric === "steps" || m.metric === "pauses") return m.counts ? WalkResults.countsText(m.counts, isTreadmill(condition) ? "treadmill" : "overground") : fmt(m.value, 0);
    if (m.metric === "weight_left_pct") return `${fmt(m.value, 1)} % left / ${fmt(m.right_pct, 1)} % right`;
    if (m.metric === "time_held_s") {
      const times = condition.time_held_s || [];
      // each attempt's time, one that could not take the position said so, "best of 3.5, unable, 4.2" (not "0.0": no
      // time was held; as the PDF's "0 s (unable)")
      return `${fmt(m.value, 1)} s` + (times.length > 1
        ? ` (${condition.score} of ${times.map((t) => (Number(t) === 0 ? "unable" : fmt(t, 1))).join(", ")})` : "");
    }
    return quantity(m.value, m.unit);
  }

  const isTreadmill = (condition) => condition && condition.values && condition.values.walking_min !== undefined && condition.values.walking_min !== null;

  function measureRows(condition) {
    const said = {}; // what a row above already said ("first visit with this test")
    return condition.key_measures.map((m) => {
        // two or more sources set in other people: said once, each with whom it was set in, as the visit PDF says them
        // (report.not_applied_said), not a "not applied" note a source with the patient's conditions repeated back
        const refs = m.references.filter((ref) => !ref.said_together).map((ref) => reference(ref, m.unit, said)).filter(Boolean);
        if (m.not_applied_together) {
          refs.push(el("div", { class: "ref not-applied-together", dataset: { verdict: "not_applied" } },
            el("span", { class: "small muted not-applied-why" }, m.not_applied_together)));
        }
        if (!refs.length) refs.push(el("span", { class: "muted small" }, unitsKept(m.note || m.words || "No published reference for this measure.")));
        else if (m.words) refs.push(el("div", { class: "small" }, unitsKept(m.words)));
        return el("tr", { dataset: { metric: m.metric } },
          el("th", {}, unitsKept(m.label)), el("td", { class: "value num" + (m.sessions ? " each-session" : "") },
            m.sessions ? m.sessions.map((words) => el("div", {}, unitsKept(words))) : unitsKept(valueText(m, condition)),
            // a mean of several trials: said so, with each (report.key_measures' each; the PDF's text.mean_of)
            m.each ? el("div", { class: "mean-of" }, unitsKept(`(mean of ${m.each.length} ${m.each_noun || "trials"}: ` +
              `${Station.eachOf(m.each, m.unit)})`)) : null), el("td", {}, refs));
      });
  }

  /* A time held read against a published cut-off that applies to this patient (report.history_cutoffs, the history's
     rule: none for a patient of other people, none at the trial's length): each scored trial's time a bar, the cut-off
     a dashed line named on it and said under it, as the history's chart draws it (Charts.timesHeld, Station.cutoffLines
     and cutoffWords). Drawn at the width it is shown at, once it is (a phone's closed card: when opened). */
  function heldChart(condition) {
    const m = condition.key_measures.find((k) => k.metric === "time_held_s");
    if (!m || !(m.lines || []).length) return null;
    const scored = condition.trials.filter((t) => (t.valid || t.unable) && t.time_held_s !== null && t.time_held_s !== undefined);
    if (!scored.length) return null;
    // named as the trial list below names them, or by their number there ("#35") when the names do not fit under the bars
    const bars = scored.map((t) => ({ label: trialName(t, condition), short: `#${t.id}`, value: Number(t.time_held_s),
      // an unable trial said "unable" under its point, as among the times ("best of 3.5, unable, 4.2"): "0 s" under
      // a trial read as a time held that was never held
      unable: !!t.unable, text: t.unable ? "unable" : Station.timeHeld(t.time_held_s) }));
    const slot = el("div", { class: "chart-slot" });
    const draw = () => {
      const width = slot.clientWidth;
      if (!width || width === slot.drawnAt) return;
      slot.drawnAt = width;
      slot.replaceChildren(Charts.timesHeld(bars, { width, unit: "s", ceiling: m.trial_s, cutoffs: Station.cutoffLines(m.lines),
        label: `Time held, each trial: ${condition.label}` }));
    };
    if (typeof ResizeObserver !== "undefined") new ResizeObserver(draw).observe(slot);
    return el("div", { class: "times-held", dataset: { metric: "time_held_s" } },
      el("p", { class: "small times-held-title" }, "Time held in each trial" + (bars.some((b) => b.unable) ? " (a red point: "
        + "unable, 0 s)" : "") + (scored.length < condition.trials.length ? "; the invalid ones are not drawn" : "")),
      slot, Station.cutoffWords(m.lines));
  }

  /* -- trials, with the clinician's judgement ----------------------------------------------- */
  function verdictTag(t) {
    if (t.status !== "complete") return el("span", { class: "tag flag" }, t.note || t.status);
    if (t.unable) return el("span", { class: "tag flag-strong" }, "unable (0 s)");
    if (t.walk_not_completed) return el("span", { class: "tag flag-strong" }, "walk not completed");
    if (!t.valid) return el("span", { class: "tag invalid" }, "invalid");
    if (t.completed === false && t.time_held_s !== null) return Station.heldTag(t); // by the cut-off that applies
    return el("span", { class: "tag valid" }, "valid");
  }

  /* A trial's name in its condition's list: its trial and attempt within the session ("Trial 2, attempt 2", "Attempt 1").
     A visit of several tests (each test its own session) names each trial's session first by its number in the visit
     (one number for a session on the whole page, its notes' and the history chart's too), "Test 1 (10:02)",
     "Test 3, trial 2": two tests' first trials (the two 3-m backward walks, or one test run twice) read as
     two tests', not as "Attempt 1" twice (report.number_sessions names them where a condition came from several
     sessions; ``visitSessions`` the rest). A visit of one test as before. */
  let visitSessions = new Map(); // session id -> {number, started_at}, set by load() for a visit of several tests
  function trialName(t, condition) {
    const session = t.session || visitSessions.get(t.session_id);
    const same = session ? condition.trials.filter((x) => x.session_id === t.session_id) : condition.trials;
    // a recording the protocol engine never numbered (cut short by a full disk, a crash): by its start time
    const within = t.attempt === null || t.attempt === undefined ? `recording started ${Station.clock(t.started_at)}`
      : same.some((x) => x.trial > 1) ? `trial ${t.trial}` + (t.attempt > 1 ? `, attempt ${t.attempt}` : "")
        : `attempt ${t.attempt}`;
    if (!session) return within.charAt(0).toUpperCase() + within.slice(1);
    // the session's time where its one line names it, "Test 2 (10:10 AM)"; beside a trial or attempt its number
    // only, "Test 1, trial 2" (the notes below give its time): a name on one line of a phone's list
    return same.length > 1 ? `Test ${session.number}, ${within}` : Station.sessionName(session.number, session.started_at);
  }

  function trialLines(condition) {
    return el("ul", { class: "trial-list" }, condition.trials.map((t) => {
      // an unfinished trial's cause is its tag (report.unfinished_words); the store's reason ("partial recording: disk
      // full: ...") would say it a second time, and the trial's page gives it whole
      const reason = t.unable ? el("div", { class: "small muted" }, t.unable_words || "Could not take the position: counted as 0 s.")
        : !t.valid && t.validity_reason && t.status === "complete" ? el("div", { class: "small error-text" }, t.validity_reason)
          : t.hold_end ? el("div", { class: "small muted" }, t.hold_end) : null;
      const judged = t.judged_by ? el("div", { class: "small muted judged" }, `Judged ${t.valid ? "valid" : "invalid"} by ${t.judged_by} (overrides the station's check).`) : null;
      const note = t.notes ? el("div", { class: "small trial-note" }, el("strong", {}, "Note: "), t.notes) : null;
      // a walk's step length the station withheld (its sensor's estimate off the walk's own speed): why it is missing
      const withheld = t.step_length_withheld ? el("div", { class: "small muted step-length-withheld" }, t.step_length_withheld) : null;
      // walk trials' lost IMU samples or frames (walk_results.js): short gaps filled, the result untouched, one small grey
      // line as the visit PDF says it (report: imu_gaps_line; the whole words on the trial's page); else said whole, unless
      // the invalid reason above already says why there are no gait measures (report: no_gait_in_reason, the sensor
      // lost: "[no gait measures] The lower-back sensor's readings stopped 1.0 s after the go." said the loss again)
      const reasonSaysIt = t.no_gait_in_reason && reason;
      const imu = t.imu_gaps_line ? el("p", { class: "imu-gaps small muted", dataset: { gaitValid: "true" } }, t.imu_gaps_line)
        : t.imu_gaps && !reasonSaysIt ? WalkResults.imuGapsNote(t.imu_gaps) : null;
      // a treadmill session the station's data loss ended early (what was measured is kept)
      const ended = t.ended_early ? el("div", { class: "small warn-box ended-early" }, t.ended_early) : null;
      return el("li", { dataset: { trialId: t.id, valid: String(t.valid) } },
        el("div", {}, el("a", { href: `/trials/${t.id}` }, trialName(t, condition)),
          el("span", { class: "muted small" }, ` · #${t.id}`), reason, judged, note, ended, imu, withheld),
        verdictTag(t));
    }));
  }

  /* -- all measures, grouped, with words ------------------------------------------------------ */
  /* What a standing test's all-measures values are, said once above them as the walk's table says it
     (WalkResults.valuesOf): the mean of the valid trials with measures (results.summarise), or the one trial's; the
     time held is the test's score (the best of the valid trials' times, or their mean, as the protocol scores it),
     not a mean of the sway trials, and may count a trial with no sway measures (unable: 0 s). */
  function standingValuesOf(condition) {
    const values = condition.values || {};
    const valid = condition.valid_trials || 0;
    const n = condition.metrics_trials ?? valid;
    const times = condition.time_held_s || [];
    const held = values.time_held_s !== undefined && values.time_held_s !== null;
    const others = Object.keys(values).some((k) => k !== "time_held_s");
    const which = n < valid ? "valid trials with measures" : "valid trials";
    const means = !others ? null : n > 1 ? `Each value is the mean of the ${n} ${which} (each on its own page)`
      : n === 1 ? `Each value is the one ${which.replace("trials", "trial")}'s` : null;
    const scored = condition.score === "mean" ? "mean" : "best";
    const score = !held ? null : times.length > 1
      ? `the time held is the ${scored} of the ${times.length} valid trials' times: the test's score${scored === "best" ? ", not a mean" : ""}`
      : "the time held is the one valid trial's";
    const words = [means, score].filter(Boolean).join("; ");
    return words ? Station.capitalise(words) : null;
  }

  /* The time held's row says what it is beside its label: "best of 3 trials", the test's score. */
  function heldHint(condition) {
    const times = condition.time_held_s || [];
    return times.length > 1 ? `${condition.score === "mean" ? "mean" : "best"} of ${times.length} trials: the test's score` : null;
  }

  function allMeasures(values, condition) {
    const keys = Object.keys(values);
    if (!keys.length) return null;
    const groups = new Map();
    for (const k of keys) {
      const d = (catalogue && catalogue.measures[k]) || { key: k, label: k, unit: "", group: "Other", meaning: "", reference: "" };
      if (!groups.has(d.group)) groups.set(d.group, []);
      groups.get(d.group).push(d);
    }
    const order = (catalogue && catalogue.groups) || [];
    const sorted = [...groups.entries()].sort((a, b) => (order.indexOf(a[0]) + 99) % 99 - (order.indexOf(b[0]) + 99) % 99);
    const caption = standingValuesOf(condition);
    const hint = heldHint(condition);
    return el("table", { class: "list small all-measures" },
      caption ? el("caption", { class: "values-of small muted" }, caption) : null,
      el("thead", {}, el("tr", {}, el("th", {}, "Measure"), el("th", { class: "num" }, "Value"), el("th", { class: "hide-narrow" }, "What it means"))),
      sorted.map(([group, list]) => el("tbody", {},
        el("tr", { class: "group" }, el("th", { colspan: 3 }, group)),
        list.map((d) => el("tr", { dataset: { key: d.key } },
          el("td", {}, d.label, d.key === "time_held_s" && hint ? [" ", el("span", { class: "hint" }, hint)] : null),
          // the time held as the key measures and the PDFs say it (one decimal, 0 s said unable)
          // a number kept with its unit ("14.67 cm²" broke after the number in a tablet's narrow column)
          el("td", { class: "num" }, d.key === "time_held_s" ? Station.timeHeld(values[d.key])
            : el("span", { class: "value-unit" }, quantity(values[d.key], d.unit))),
          el("td", { class: "hide-narrow muted" }, d.meaning, d.reference ? el("span", { class: "cite-inline" }, ` ${d.reference}.`) : ""))))));
  }

  /* -- traces on one scale -------------------------------------------------------------------- */
  /* A trace's requests name the visit they are drawn in (?in_visit=, the session whose results this page asked): a
     look at a visit is then its results' one audited view, not one more trial.view and trial.frames a trace (s26;
     web/visit_views.py: without a recorded view of that visit by this login session, they are audited as before). */
  async function loadTrace(condition) {
    const valid = condition.trials.filter((t) => t.valid && t.analysed);
    if (!valid.length) return null;
    const t = valid[valid.length - 1];
    const [frames, trial] = await Promise.all([
      api("GET", `/api/trials/${t.id}/frames?fields=time_s,ap_cm,ml_cm&max_points=2000&in_visit=${sessionId}`),
      api("GET", `/api/trials/${t.id}?in_visit=${sessionId}`),
    ]);
    const m = (trial.metrics && trial.metrics.metrics) || {};
    const outcome = (trial.metrics && trial.metrics.trial) || {};
    const c = frames.columns;
    const start = outcome.analysis_start_s ?? 0, end = outcome.analysis_end_s ?? Infinity;
    const ml = [], ap = [];
    for (let i = 0; i < c.time_s.length; i++) {
      if (c.time_s[i] >= start && c.time_s[i] <= end) { ml.push(c.ml_cm[i]); ap.push(c.ap_cm[i]); }
    }
    return { id: t.id, ml, ap, ellipse: { major_cm: m.ellipse_major_cm, minor_cm: m.ellipse_minor_cm, angle_deg: m.ellipse_angle_deg },
      area: m.ellipse_area_cm2 };
  }

  async function drawTraces(items) {
    const traces = await Promise.all(items.map(({ condition }) => loadTrace(condition).catch((err) => ({ error: err }))));
    const half = Math.max(0.5, ...traces.filter((t) => t && !t.error).map((t) => Charts.reach(t.ml, t.ap, t.ellipse)));
    traces.forEach((t, i) => {
      const figure = items[i].figure;
      if (!t) { figure.append(el("p", { class: "muted small" }, items[i].condition.no_sway_words || "No valid trial to plot.")); return; }
      if (t.error) { figure.append(el("figcaption", {}, `Could not load the trace: ${t.error.message}`)); return; }
      figure.append(Charts.statokinesigram(t.ml, t.ap, t.ellipse, { half, size: 300 }),
        el("figcaption", {}, unitsKept(`Trial #${t.id}: ${Charts.traceWords(t.ellipse, quantity(t.area, "cm²"))}. Same scale for every condition of this test.`)));
    });
  }

  /* -- summaries ------------------------------------------------------------------------------ */
  function openCondition(id) {
    const details = document.querySelector(`#${CSS.escape(id)} details.condition-details`);
    if (details) details.open = true;
  }

  /* A measure whose every cut-off was set in other people: its value and, in small type, "no cut-off for this
     patient", once (not a disclaimer per source with the patient's conditions repeated back); the reasons are a
     tap below, beside the measure (cutoffReference). ``anchor``: the condition's card, opened by the tap. */
  function noCutoffBit(m, condition, anchor) {
    const note = anchor ? el("a", { class: "small muted no-cutoff-note", href: `#${anchor}`, onclick: () => openCondition(anchor) },
      "no cut-off for this patient") : el("span", { class: "small muted no-cutoff-note" }, "no cut-off for this patient");
    return el("span", { class: "no-cutoff", dataset: { kind: "cutoff", verdict: "not_applied" } },
      el("span", { class: "tag neutral", dataset: { kind: "cutoff", verdict: "not_applied" } },
        unitsKept(`${m.label.toLowerCase()} ${valueText(m, condition)}`)), " ", note);
  }

  function keyVerdict(condition, anchor) {
    const bits = [];
    for (const m of condition.key_measures) {
      const cutoffs = m.references.filter((r) => r.kind === "cutoff");
      if (cutoffs.length && cutoffs.every((r) => r.verdict === "not_applied")) bits.push(noCutoffBit(m, condition, anchor));
      for (const r of m.references) {
        if (r.kind === "cutoff" && r.verdict === "class") {
          bits.push(el("span", { class: "tag neutral", dataset: { kind: "cutoff", walkingClass: r.walking_class } },
            unitsKept(`${m.label.toLowerCase()} ${valueText(m, condition)}: ${r.walking_class} (Perry 1995: < ${r.thresholds_m_s[0]}, ` +
            `${r.thresholds_m_s[0]}–${r.thresholds_m_s[1]}, ≥ ${r.thresholds_m_s[1]} m/s)`)));
        } else if (r.kind === "cutoff" && r.verdict === "not_applied") {
          // a cut-off set in other people: no verdict at a glance (noCutoffBit above when none applies; beside one
          // that applies, nothing: the measure's value is read by that one)
        } else if (r.kind === "cutoff" && r.verdict) {
          // what the cut-off means for this patient, as the measures below and the PDF say it (report.cutoff_reading):
          // "time 4.99 s: high fall risk (slower than 4.5 s, Carter et al. 2019)", "time 4.99 s: not slower than the 5.5 s cut-off (…)"
          const cite = shortCite(r.source);
          const why = r.verdict === "met" ? cite : [r.limit_words, cite].filter(Boolean).join(", ");
          bits.push(el("span", { class: cutoffTagClass(r.verdict, r.tone), dataset: { kind: "cutoff", verdict: r.verdict } },
            unitsKept(`${m.label.toLowerCase()} ${valueText(m, condition)}: ${r.finding || (r.verdict === "met" ? "criterion met" : r.limit_words)}` +
              (why ? ` (${why})` : ""))));
        }
        if (r.kind === "norm" && r.comparable && r.percentile !== null && r.percentile !== undefined && m.metric === "mean_velocity_cm_s") {
          bits.push(el("span", { class: normTagClass(r) },
            `sway velocity ${percentileWords(r)} (lower = steadier)` + (r.fits === false ? ", rough guide" : "")));
        }
      }
    }
    const split = condition.key_measures.find((m) => m.metric === "weight_left_pct" && m.glance);
    if (split) { // the measure weight-bearing symmetry exists for, with its side in words (report.weight_glance)
      bits.unshift(el("span", { class: `tag ${split.glance.tone}`, dataset: { kind: "weight" } }, split.glance.words));
    }
    if (typeof WalkResults !== "undefined") bits.push(...WalkResults.glance(condition)); // a treadmill session, walk_results.js
    const attempts = condition.trials || [];
    if (condition.valid_trials === 0 && !bits.length && attempts.length && attempts.every((t) => t.walk_not_completed)) {
      // a walk test the patient did not finish: said as such (the attempts below say how far they got)
      bits.push(el("span", { class: "tag flag-strong", dataset: { kind: "walk-not-completed" } },
        `walk not completed (${attempts.length} attempt${attempts.length === 1 ? "" : "s"})`));
    }
    if (condition.valid_trials === 0 && !bits.length) bits.push(el("span", { class: "tag invalid" }, "no valid trial"));
    // the test's own criterion first, then the percentiles
    return [...bits.filter((b) => b.dataset.kind === "cutoff"), ...bits.filter((b) => b.dataset.kind !== "cutoff")];
  }

  function glance(section) {
    const rows = section.conditions.map((c) => el("tr", { dataset: { condition: c.id } },
      el("th", {}, el("a", { href: `#c-${section.protocol}-${c.id}`, onclick: () => openCondition(`c-${section.protocol}-${c.id}`) }, c.label)),
      el("td", {}, keyVerdict(c, `c-${section.protocol}-${c.id}`))));
    const box = el("div", { class: "card glance" }, el("h3", {}, "At a glance"),
      el("table", { class: "list" }, el("tbody", {}, rows)));
    const s = section.sensory;
    if (s) {
      box.append(el("div", { class: "sensory", id: "sensory" },
        el("h3", {}, "mCTSIB composite and sensory ratios"),
        el("p", {}, el("strong", {}, s.composite_s === null ? "Composite: needs all four conditions"
          : unitsKept(`Composite ${fmt(s.composite_s, 1)} of ${s.max_s} s (${fmt(s.composite_pct, 0)} %)`)),
        el("span", { class: "muted small" }, " — the sum of the four conditions' times; higher is better.")),
        el("table", { class: "list small" }, el("tbody", {}, s.ratios.map((r) => el("tr", {},
          el("th", {}, r.label), el("td", { class: "num value" }, r.ratio === null ? "–" : fmt(r.ratio, 2)), // a ratio, plain (as the PDF)
          el("td", { class: "muted" }, r.meaning))))),
        el("p", { class: "muted small" }, s.note)));
    }
    if (section.romberg && !s) {
      const r = section.romberg;
      box.append(el("div", { id: "romberg" },
        el("h3", {}, "Romberg quotient (eyes closed / eyes open)"),
        el("p", {}, `Area ${fmtSig(r.romberg_quotient_area)} · velocity ${fmtSig(r.romberg_quotient_velocity)}`,
          r.note ? el("span", { class: "muted" }, ` — ${r.note}`) : ""),
        el("p", { class: "muted small" }, "Above 1: more sway without vision. No published cut-off is carried for the quotient.")));
    }
    return box;
  }

  function renderProtocol(section) {
    if (section.limits_of_stability) return LosResults.render(section); // one lean per direction: los_results.js
    if (section.training) return GameResults.render(section); // training games: game_results.js
    const box = el("section", { class: "protocol-results", dataset: { protocol: section.protocol } },
      el("h2", {}, section.title),
      el("p", { class: "muted" }, section.count_words || `${section.valid_trial_count} valid of ${section.trial_count} analysed trials.`),
      glance(section));
    const figures = [];
    for (const condition of section.conditions) {
      // drawn in this visit: its trace's requests say so (data-in-visit, walk_results.js too), part of the visit's view
      const figure = el("figure", { class: "trace-figure", dataset: { inVisit: sessionId } });
      const values = { ...(condition.values || {}) };
      // a treadmill's sessions of other plans or speeds: each said in the key measures, never their mean here
      for (const m of condition.key_measures || []) if (m.sessions) delete values[m.metric];
      const table = section.outcome !== "walk" ? allMeasures(values, condition) // a walk's measures by their names and words
        // a treadmill's settings as entered, each session's (condition.settings), not their mean
        // (what the values are said above them: the mean of the valid trials, or the one trial's)
        : Object.keys(values).length ? WalkResults.measuresTable({ ...values, ...(condition.settings || {}), ...(condition.counts || {}) }, `all-${section.protocol}-${condition.id}`,
          values.walking_min !== undefined && values.walking_min !== null ? "treadmill" : "overground", catalogue && catalogue.walk_spans,
          WalkResults.valuesOf(condition.valid_trials, isTreadmill(condition) ? "treadmill" : "overground",
            Object.keys(condition.counts || {}).length > 0)) : null;
      // the trace, measures and trials: open on a tablet; on a phone one tap away (the glance above says it all)
      const details = el("details", { class: "condition-details", open: narrow ? null : true },
        el("summary", {}, `Trace, measures and ${condition.trials.length} trial${condition.trials.length === 1 ? "" : "s"}`),
        el("p", { class: "muted small" }, unitsKept(condition.stance || "")),
        el("div", { class: "plots" }, figure,
          el("div", { class: "measures-col" }, el("table", { class: "list measures" }, el("tbody", {}, measureRows(condition))),
            heldChart(condition), trialLines(condition))));
      const parts = [el("div", { class: "actions" }, el("h3", {}, condition.label), ...keyVerdict(condition, `c-${section.protocol}-${condition.id}`)), details];
      if (table) {
        const all = el("div", { hidden: true }, table);
        const toggle = el("button", { type: "button", class: "secondary" }, "Show all measures");
        toggle.addEventListener("click", () => {
          all.hidden = !all.hidden;
          toggle.textContent = all.hidden ? "Show all measures" : "Hide all measures";
        });
        details.append(el("div", { class: "actions" }, toggle), all);
      }
      box.append(el("div", { class: "card condition", id: `c-${section.protocol}-${condition.id}`, dataset: { condition: condition.id } }, parts));
      if (section.outcome === "walk") WalkResults.conditionFigure(condition, figure, box.lastElementChild, (t) => trialName(t, condition)); // walk_results.js
      else figures.push({ condition, figure });
    }
    drawTraces(figures);
    return box;
  }

  /* -- the visit's notes ---------------------------------------------------------------------- */
  /* A session's notes; a visit of several sessions names each by its number in the visit (report.number_sessions'
     "Test 2" of its trial lines is this one, and the history chart's); a session without a trial (opened and left)
     has no number (report.session_numbers_in_visit). */
  function notesEditor(session, _i, sessions) {
    const area = el("textarea", { maxlength: 2000, rows: 2, "aria-label": `Notes of ${session.label}`, placeholder: "Notes for this test (how the patient felt, footwear, aids…)" });
    area.value = session.notes || "";
    const status = el("span", { class: "muted small", role: "status" });
    const save = el("button", { type: "button", class: "secondary" }, "Save notes");
    save.addEventListener("click", async () => {
      save.disabled = true;
      try {
        await api("PATCH", `/api/sessions/${session.id}`, { notes: area.value });
        status.textContent = "Saved.";
      } catch (err) {
        status.textContent = err.message;
      } finally {
        save.disabled = false;
      }
    });
    return el("div", { class: "session-notes", dataset: { sessionId: session.id } },
      el("label", {}, (session.number && sessions.filter((s) => s.number).length > 1 ? `Test ${session.number} · ` : "") + `Notes on ${session.label || "this test"} · ${when(session.started_at)}`
        + (session.trial_count === 0 ? " · no trial recorded" : ""), area),
      el("div", { class: "actions tight" }, save, status));
  }

  /* The visit's tests by name, short (without the bracketed detail) unless two would read alike: the two
     3-metre backward walks are told apart by theirs ("from standing", "speed over the middle 3 m of 5 m"). */
  function testNames(sections) {
    const short = sections.map((s) => s.title.replace(/ \(.*\)$/, ""));
    return sections.map((s, i) => (short.filter((x) => x === short[i]).length > 1 ? s.title : short[i]));
  }

  /* A walk a programme counted as one of its sessions says so beside its trial, "· programme session 2" with the way
     to the programme (review s24 F11: the visit's "Test 5" and the programme's session 2 were the same walk, said
     nowhere); one an ended programme counted says whose it was, "· session 2 of the ended programme Backward walking
     (ended Dec 1, 2026)", never read as the current programme's (every programme's runs: report.visit_marks).
     A test a programme's visit took says so under its heading, "Baseline of the ended programme Backward walking
     (ended Dec 1, 2026)", so an old programme's baseline is not read as the current one's (s25 P3). The marks come
     with the visit's results (programme_marks: programmes.report.visit_marks, this visit's only), audited once as
     the visit's view: the page asked programme-runs besides, one more audited view per view of any visit (s26). */
  function programmeWords(mark, what) {
    if (!mark.ended) return `${what} of the programme ${mark.title}`;
    const ended = mark.ended_on ? new Date(mark.ended_on + "T12:00:00Z").toLocaleDateString(undefined,
      { year: "numeric", month: "short", day: "numeric" }) : null;
    return `${what} of the ended programme ${mark.title}${ended ? ` (ended ${ended})` : ""}`;
  }

  function visitMarks(doc, visits) {
    for (const section of doc.protocols) {
      const box = document.querySelector(`#results section.protocol-results[data-protocol="${section.protocol}"]`);
      const sessions = new Set((section.conditions || []).flatMap((c) => (c.trials || []).map((t) => t.session_id)));
      for (const id of sessions) {
        for (const mark of (visits[id] || []).filter((m) => m.protocol === section.protocol && box)) {
          // which test of the visit, when this one's heading holds trials of several
          const test = sessions.size > 1 && visitSessions.get(id) ? `Test ${visitSessions.get(id).number}: ` : "";
          box.querySelector("h2").after(el("p", { class: "small programme-visit", dataset: { ended: mark.ended ? "yes" : "no" } },
            test, el("a", { href: `/assignments/${mark.assignment_id}` }, programmeWords(mark, mark.label))));
        }
      }
    }
  }

  function creditedRuns(doc) {
    const { runs, visits } = doc.programme_marks || { runs: {}, visits: {} };
    for (const [trialId, run] of Object.entries(runs)) {
      for (const line of document.querySelectorAll(`#results li[data-trial-id="${trialId}"] > div`)) {
        line.append(el("span", { class: "small programme-session", dataset: { ended: run.ended ? "yes" : "no" } }, " · ",
          el("a", { href: `/assignments/${run.assignment_id}` }, run.ended
            ? programmeWords(run, `session ${run.number}`) : `programme session ${run.number}`)));
      }
    }
    visitMarks(doc, visits);
  }

  async function load() {
    try {
      const [doc, measures] = await Promise.all([
        api("GET", `/api/sessions/${sessionId}/results?visit=1`),
        api("GET", "/api/measures").catch(() => null),
      ]);
      catalogue = measures;
      const numbered = doc.sessions.filter((s) => s.number);
      visitSessions = new Map(numbered.length > 1 ? numbered.map((s) => [s.id, { number: s.number, started_at: s.started_at }]) : []);
      const p = doc.patient; // (the title and the way back come with the page: web/pages.py)
      $("results-summary").textContent = `${when(doc.sessions[0].started_at)}` +
        (p.age_y ? ` · age ${p.age_y} (from the birth year)` : "") +
        ` · ${testNames(doc.protocols).join(", ") || "no analysed test"}`;
      const box = $("results");
      box.replaceChildren(...doc.protocols.map(renderProtocol));
      if (!doc.protocols.length) box.append(el("p", { class: "muted" }, "No analysed trials in this visit."));
      if (doc.unknown_protocol_trials.length) {
        box.append(el("p", { class: "warn-box" }, `${doc.unknown_protocol_trials.length} trial(s) of a protocol this station no longer has are not summarised.`));
      }
      creditedRuns(doc);
      $("visit-notes").replaceChildren(el("h2", {}, "Notes"), ...doc.sessions.map(notesEditor));
      // the sway norms are cited where a test used them; a visit of walk tests only has its sources beside each measure
      const walksOnly = doc.protocols.length > 0 && doc.protocols.every((s) => s.outcome === "walk");
      $("norms-cite").textContent = walksOnly
        ? "Cut-offs and minimal detectable changes: the sources named beside them."
        : `Age-group percentiles: ${doc.norms_source}. Percentiles are estimated from the published 5th, 50th and 95th percentiles (log-normal interpolation); outside the 5th–95th only the side is given. Cut-offs: the sources named beside them.`;
    } catch (err) {
      showError($("page-error"), err);
    }
  }

  load();
})();
