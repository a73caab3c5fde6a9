/* A patient's history: per test, the few key measures over sessions first (time held for timed
   holds, the weight split for weight bearing, sway velocity and ellipse area otherwise), the
   other measures on demand. Axes of amounts start at zero, a split is centred on 50 %, so a
   small change looks small. A session where the patient could not take the position counts as
   0 s ("unable"). The minimal detectable change is shown only for the population and test it
   was published for. */
"use strict";

(() => {
  const { api, el, unitsKept, quantity, change, changeUnit, when, showError } = Station;
  const $ = (id) => document.getElementById(id);
  const patientId = Number($("history-page").dataset.patientId);
  // visits brought from the clinic's hub: session id -> where they were recorded (GET .../recorded-elsewhere)
  let elsewhere = {};
  // each session's number in its visit (GET .../history sessions): session id -> {number, visit_sessions}
  let numbered = {};
  const at = (p) => (elsewhere[String(p.session_id)] ? ` · recorded at ${where(elsewhere[String(p.session_id)])}` : "");
  const where = (name) => (name === "hub" ? "the clinic's hub" : `station ${name}`);

  /* The MDC's value(s): one per phase of stroke when the source gives them (the patient's phase unknown: both). */
  /* (a difference: a percentage's in percentage points, as the change it is read against) */
  /* (a time held's in the precision the test is scored in, one decimal, as its values and changes: "24.1 s") */
  const mdcValues = (mdc, unit, metric) => {
    const amount = (v) => (metric === "time_held_s" ? Station.timeHeld(v) : quantity(v, changeUnit(unit)));
    return mdc.phases && mdc.phases.length ? mdc.phases.map((p) => `${amount(p.value)} ${p.phase}`).join(" / ") : amount(mdc.value);
  };

  function changeText(s) {
    if (s.entered) { // the treadmill's belt speed: the clinician's setting (the dose), never read against an MDC
      return el("div", { class: "small entered-change" }, el("p", {}, s.points.length < 2 ? "One session so far."
        : unitsKept(Station.beltChange(s.change, "the first session", s.points[0].value))));
    }
    const shaded = unableUnshaded(s) ? "not shaded: it is not read from or to an unable, 0 s"
      : `${s.mdc && s.mdc.phases && s.mdc.phases.length ? "the larger" : "it is"} shaded around the first session`;
    const mdcLine = s.mdc
      ? el("p", { class: "muted" }, unitsKept(`Minimal detectable change ${mdcValues(s.mdc, s.unit, s.metric)} (${shaded}): ${s.mdc.population}. ${s.mdc.citation}`))
      : el("p", { class: "muted" }, s.mdc_note || "No published minimal detectable change for this measure in this test.");
    if (s.points.length < 2) { // nothing compared yet: an MDC (what a later change is read against), never "no MDC"
      return el("div", { class: "small" }, el("p", {}, "One session so far: a change shows from the second."), s.mdc ? mdcLine : null);
    }
    // a treadmill's sessions of another plan or belt speed (report.patient_history): no change made of them
    const words = `Change since the first session: ${s.not_compared || changeWords(s)}.`;
    const verdict = !s.mdc || s.not_compared ? null : s.mdc_reading ? el("span", { class: "tag neutral mdc-reading" }, s.mdc_reading)
      : Station.mdcVerdictTag(s.mdc_verdict);
    return el("div", { class: "small" }, el("p", {}, unitsKept(words), " ", verdict), mdcLine);
  }

  /* Which way a change is a benefit (walk measures: station/protocols/walk_words.py). */
  function betterTag(s) {
    if (!s.better_words) return null;
    return el("span", { class: "better-direction" + (s.better ? "" : " muted"), dataset: { better: s.better || "" } },
      ` (${s.better_words})`);
  }

  function pointText(s, p) {
    // as the results say it: "30.0 s", "0 s (unable)", and the clinician's scoring of a 0 s (report.unable_point_words)
    if (s.metric === "time_held_s") return Station.timeHeld(p.value, p.unable_words);
    if (s.entered) return Station.beltSpeed(p.value); // as the clinician entered it, in km/h
    if (s.metric === "walking_min") return Station.walkedTime(p.value); // "20 s", as every page says a time walked
    // a count (steps, pauses) as counted, each trial's: "13, 13 and 14 steps (3 trials; median 13)", never 13.33 steps
    // nor 0.5 pauses ("0 and 1 pauses (2 trials; charted: 0, the lower of the two)")
    if (s.count) return p.words;
    return quantity(p.value, s.unit);
  }

  /* A point with how it was made of the session's trials: "0.45 m/s (mean of 3 trials)", "30.0 s (best of 3 trials)";
     a count's words already say its trials (report.patient_history: the series' ``summary``). */
  function pointWords(s, p) {
    const n = p.trials.length;
    if (s.count) return pointText(s, p) + at(p);
    const made = n === 1 ? "1 trial" : `${s.summary || "mean"} of ${n} trials`;
    // one bracket, "0 s (1 trial: unable; scored by the clinician, not measured)", the history PDF's rule for a day
    return Station.bracketed(pointText(s, p), made) + at(p);
  }

  /* A change since the first session: a count's with its noun ("-2 pauses"), a time held's in the precision the test
     is scored in ("+12.5 s"; none: "no change", Station.heldChange), others by the unit's rule. */
  const changeWords = (s) => (s.count ? s.change_words : s.metric === "time_held_s" ? Station.heldChange(s.change)
    : change(s.change, s.unit));

  /* A series' points as the chart draws them: a session of a visit of several named as the visit page names it
     ("Nov 9, 2026 · Test 2 (10:00 AM)"), its number and time the labels under its point when it is drawn apart
     from its neighbours (Charts.history ticks). */
  /* A treadmill session's plan in words, "30 min planned, belt 1.5 km/h" (report.patient_history's ``plan``). */
  const planWords = (plan) => [plan.planned_min ? `${Station.walkedTime(plan.planned_min)} planned` : null,
    plan.belt_speed_m_s ? `belt ${Station.beltSpeed(plan.belt_speed_m_s)}` : null].filter(Boolean).join(", ");

  function chartPoints(s) {
    return s.points.map((p, i) => {
      const n = numbered[String(p.session_id)];
      const several = !!n && n.visit_sessions > 1;
      const day = new Date(p.started_at).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
      return { date: new Date(p.started_at), value: p.value, ticks: [several ? `Test ${n.number}` : null, Station.clock(p.started_at)],
        label: several ? `${day} · ${Station.sessionName(n.number, p.started_at)}` : when(p.started_at),
        text: pointWords(s, p) + (p.plan && planWords(p.plan) ? ` (${planWords(p.plan)})` : ""),
        // a treadmill session not comparable with the one before (another plan or belt speed, by the measure's rule:
        // report.patient_history's ``apart``, the rule of its change since the first): not joined
        apart: !!p.apart };
    });
  }

  /* A chart's place in its card, drawn once the card is on the page at the width it is shown (its labels 12 px: a
     1180-px tablet's one-test history scaled a 520-px drawing to twice its size, 25-px labels) and again when that
     width changes (a tablet turned). */
  function chartSlot(points, opts) {
    const slot = el("div", { class: "chart-slot" });
    slot.draw = () => {
      const width = slot.clientWidth;
      if (!width || width === slot.drawnAt) return;
      slot.drawnAt = width;
      slot.replaceChildren(Charts.history(points, { ...opts, width }));
    };
    return slot;
  }

  /* A series' published cut-offs that apply to this patient (report.history_cutoffs): each a dashed line on its chart,
     named there ("5 s cut-off (Vellas et al. 1997)") and said under it; several series (a test's conditions) once. */
  const cutoffsOf = (list) => [...new Map(list.flatMap((s) => s.cutoffs || [])
    .map((c) => [`${c.value} ${c.source}`, c])).values()];
  const { cutoffLines, cutoffWords } = Station; // as the visit results' times held draw and say them

  /* A time held unable (0 s) at the first or the last session: no change read against the MDC (report.patient_history's
     not_compared), so no band drawn around the first session either (a band around 0 s put a later 12.5 s inside it). */
  function unableUnshaded(s) { return s.metric === "time_held_s" && !!s.not_compared; }

  const drawCharts = (root) => root.querySelectorAll(".chart-slot").forEach((slot) => slot.draw());

  function chartCard(s, ceilingOf) {
    let points = chartPoints(s);
    const opts = { mdc: s.mdc && !unableUnshaded(s) ? s.mdc.value : null, unit: s.unit, label: `${s.label}, ${s.condition_label}`, zeroIsUnable: s.metric === "time_held_s",
      cutoffs: cutoffLines(cutoffsOf([s])) };
    if (s.unit === "min" && Math.max(...points.map((p) => p.value)) < 2) {
      // times walked all under 2 min drawn in seconds (an axis of 0, 50, 100 s, not of 0.2, 0.4 ... min: decimal
      // minutes, as the points' words are not); a longer dose keeps its minutes (0, 10, 20, 30)
      points = points.map((p) => ({ ...p, value: p.value * 60 }));
      Object.assign(opts, { unit: "s", mdc: opts.mdc === null ? null : opts.mdc * 60 });
    }
    if (s.metric === "weight_left_pct") opts.around = 50;
    else opts.floor = 0;
    if (ceilingOf(s.metric, s.protocol)) opts.ceiling = ceilingOf(s.metric, s.protocol);
    if (s.count) opts.atLeast = 4; // whole counts: a patient who never paused reads 0 on an axis of 0 to 4, not of 0.0005
    const last = s.points[s.points.length - 1];
    return el("div", { class: "card history-chart", dataset: { protocol: s.protocol, condition: s.condition, metric: s.metric } },
      el("h3", {}, unitsKept(`${s.label} · ${s.condition_label}`), betterTag(s)),
      // a number never parted from its unit ("15.79 s" broke after the number on a phone): here and wherever a value is said
      el("p", { class: "latest" }, "Latest: ", el("strong", {}, unitsKept(pointText(s, last))), ` (${when(last.started_at)})`,
        at(last) ? el("span", { class: "recorded-at" }, at(last)) : ""),
      chartSlot(points, opts), cutoffWords(cutoffsOf([s])),
      s.apart_words ? el("p", { class: "muted small plans-apart" }, s.apart_words) : null,
      changeText(s), sessionTable(s));
  }

  /* A treadmill programme's dose and counts session by session (the chart's points read without hovering):
     the time walking, the pauses and steps, a time held; newest first. A count's (an unable time held's) words wrap
     (not a td.value's one line: "12 and 13 steps (2 trials; charted: 12, the lower of the two)" is wider than a
     phone's card). */
  function sessionTable(s, named) {
    // (a time held's too: each session's score read, an unable one with how it was scored; on a chart of several
    // conditions, ``named``, one list a condition, named)
    if (!s.count && s.metric !== "walking_min" && s.metric !== "time_held_s") return null;
    return el("details", { class: "history-sessions small", dataset: { condition: s.condition } },
      el("summary", {}, named ? `${s.condition_label}: each session (${s.points.length})` : `Each session (${s.points.length})`),
      el("div", { class: "table-scroll" }, el("table", { class: "list small" }, el("tbody", {},
        s.points.slice().reverse().map((p) => el("tr", { dataset: { sessionId: p.session_id } },
          el("td", {}, when(p.started_at)), el("td", { class: s.count || s.metric === "time_held_s" ? "counts" : "num value" }, unitsKept(pointWords(s, p))),
          // each session's plan beside its time (a change of plan or belt speed is why two are not compared)
          el("td", { class: "muted plan" }, p.plan ? planWords(p.plan) : "")))))));
  }

  const COLOURS = ["#1f4e79", "#c0392b", "#1e7a3c", "#8e44ad", "#b9770e", "#2c3e50"];

  /* One chart for a measure across the conditions of a test: one line per condition, one scale. */
  function combinedCard(list, ceilingOf) {
    const s0 = list[0];
    const opts = { unit: s0.unit, label: `${s0.label}, every condition`, zeroIsUnable: s0.metric === "time_held_s",
      cutoffs: cutoffLines(cutoffsOf(list)),
      lines: list.map((s, i) => ({ points: chartPoints(s), color: COLOURS[i % COLOURS.length], label: s.condition_label })) };
    if (s0.metric === "weight_left_pct") opts.around = 50;
    else opts.floor = 0;
    if (ceilingOf(s0.metric, s0.protocol)) opts.ceiling = ceilingOf(s0.metric, s0.protocol);
    if (s0.count) opts.atLeast = 4;
    const rows = list.map((s, i) => {
      const last = s.points[s.points.length - 1];
      let change = "";
      if (s.points.length >= 2) {
        change = s.not_compared ? `since the first: ${s.not_compared}` : `${changeWords(s)} since the first`;
        if (s.mdc && !s.not_compared) change += ` (${s.mdc_reading || s.mdc_verdict.words})`;
      }
      return el("tr", { dataset: { condition: s.condition } },
        el("th", {}, el("span", { class: "swatch-dot", dataset: { colour: String(i % COLOURS.length) } }), unitsKept(s.condition_label)),
        // a value with its words ("0 s (unable; scored by the clinician, not measured)") wraps: on one line it ran past
        // a phone's card, as the sessions' lists wrap theirs
        el("td", { class: pointText(s, last).includes(" (") ? "counts" : "num value" }, unitsKept(pointText(s, last))),
        el("td", { class: "muted" }, unitsKept(change)));
    });
    const first = list.every((s) => s.points.length < 2); // nothing compared yet: no "no MDC" (one card's rule, changeText)
    const noteOf = (s) => (s.mdc ? `Minimal detectable change ${mdcValues(s.mdc, s.unit, s.metric)}: ${s.mdc.population}. ${s.mdc.citation}`
      : first ? "" : s.mdc_note || "");
    // one note said once; notes that differ between the conditions each with its condition (two MDCs side by
    // side, 0.21 and 0.19 m/s, did not say whose was whose)
    const distinct = [...new Set(list.map(noteOf).filter(Boolean))];
    const notes = distinct.length > 1 ? list.filter(noteOf).map((s) => `${s.condition_label}: ${noteOf(s)}`) : distinct;
    return el("div", { class: "card history-chart wide-chart", dataset: { protocol: s0.protocol, metric: s0.metric, conditions: list.map((s) => s.condition).join(" ") } },
      el("h3", {}, unitsKept(`${s0.label} · every condition`), betterTag(s0)),
      chartSlot(null, opts), cutoffWords(cutoffsOf(list)),
      el("table", { class: "list small" }, el("tbody", {}, rows)),
      s0.metric === "time_held_s" ? list.map((s) => sessionTable(s, true)) : null,
      list.some((s) => s.apart_words) ? el("p", { class: "muted small plans-apart" }, list.find((s) => s.apart_words).apart_words) : null,
      el("p", { class: "muted small" }, notes.length ? unitsKept(notes.join(" ")) : first ? "One session so far: a change shows from the second."
        : "No published minimal detectable change for this measure in this test."));
  }

  /* The key measures of a test: one chart per measure across its conditions. */
  function keyCards(key, ceilingOf) {
    const byMetric = new Map();
    for (const s of key) {
      if (!byMetric.has(s.metric)) byMetric.set(s.metric, []);
      byMetric.get(s.metric).push(s);
    }
    return [...byMetric.values()].map((list) => (list.length > 1 ? combinedCard(list, ceilingOf) : chartCard(list[0], ceilingOf)));
  }

  /* Measures measured once (report.patient_history's ``measured_once``, ``said``): a row each, not a chart of one dot
     (a dot charts no history), as the history PDF's table (history_report.measured_once_table): the measure (which
     way is better), its value (with its day when the history spans several visits) and what it is read against: the
     published cut-offs that apply and the MDC a later change is read against where one is published ("–" for neither:
     nothing compared yet, so no "no published MDC"; no column where no row has one). That each value is the baseline is said once above the table, in
     the document's words (``said.words``, report.measured_once_words), not on every row. */
  function onceTable(once, said) {
    const severalVisits = said.visits > 1;
    const readings = once.map((s) => {
      const cuts = (s.cutoffs || []).map((c) => `${c.words.replace("Dashed line at ", "Cut-off ")} (${Station.shortCite(c.source)}).`);
      // (the MDC's population and source as its chart said them, the source ending the sentence)
      const cited = s.mdc ? `${s.mdc.population}. ${s.mdc.citation}`.replace(/\.?$/, ".") : "";
      return [...cuts, ...(s.mdc ? [`A later change is real beyond the MDC, ${mdcValues(s.mdc, s.unit, s.metric)}: ${cited}`] : [])];
    });
    const read = readings.some((r) => r.length); // a table with nothing to read any value against: no column of dashes
    return el("div", { class: "card measured-once wide-chart" }, el("div", { class: "table-scroll" },
      el("table", { class: "list small" },
        el("thead", {}, el("tr", {}, el("th", {}, "Measure"), el("th", {}, "Value"), read ? el("th", {}, "Reading") : null)),
        el("tbody", {}, once.map((s, i) => {
          const p = s.points[0];
          return el("tr", { dataset: { protocol: s.protocol, condition: s.condition, metric: s.metric } },
            el("th", {}, unitsKept(`${s.label} · ${s.condition_label}`), betterTag(s)),
            el("td", { class: "counts" }, unitsKept(severalVisits ? Station.bracketed(pointText(s, p), when(p.started_at)) : pointText(s, p)), at(p)),
            read ? el("td", {}, (readings[i].length ? readings[i] : ["–"]).map((words) => el("p", {}, unitsKept(words)))) : null);
        })))));
  }

  /* Which visits of the history were recorded where: here, or (brought from the hub) at another station. */
  function renderSources(doc) {
    const box = $("history-sources");
    const pulled = doc.sessions.filter((s) => elsewhere[String(s.id)]);
    box.hidden = !pulled.length;
    if (!pulled.length) return;
    const names = [...new Set(pulled.map((s) => where(elsewhere[String(s.id)])))];
    box.replaceChildren(
      el("p", {}, el("strong", { class: "recorded-at" }, `${pulled.length} of ${doc.sessions.length} visit${doc.sessions.length === 1 ? "" : "s"} recorded at ${names.join(", ")}`),
        " — brought from the clinic's hub: their results only (read-only here; the raw recordings stay on the hub)."),
      el("ul", { class: "small", id: "history-visits" }, doc.sessions.map((s) => el("li", {},
        `${when(s.started_at)}${s.label ? ` · ${s.label}` : ""} · `,
        elsewhere[String(s.id)] ? el("span", { class: "recorded-at" }, `recorded at ${where(elsewhere[String(s.id)])}`) : "recorded here"))));
  }

  /* The patient's programmes as the clinic's hub has them (assigned at another station or on the hub): read-only here. */
  async function renderHubProgrammes() {
    const box = $("hub-programmes");
    if (!box) return;
    let programmes;
    try {
      programmes = (await api("GET", `/api/patients/${patientId}/hub-programmes`)).programmes;
    } catch (err) {
      box.hidden = false;
      box.replaceChildren(el("h2", {}, "Programme on the clinic's hub"), el("p", { class: "muted" }, err.message || String(err)));
      return;
    }
    box.hidden = !programmes.length;
    box.replaceChildren(el("h2", {}, "Programme on the clinic's hub"),
      el("p", { class: "muted small" }, "As the hub has it now; read-only here (it changes at the station that assigned it, or on the hub). A game played here counts for it on the hub."),
      ...programmes.map((p) => {
        const o = p.overall;
        const recorded = p.sessions.filter((x) => x.status === "done" || x.status === "missed");
        return el("div", { class: "hub-programme", dataset: { hubId: p.hub_id } },
          el("h3", {}, `${p.title} · ${p.status}`, " ",
            el("span", { class: "recorded-at" }, p.assigned_at ? `assigned at station ${p.assigned_at}` : "assigned on the hub")),
          // as the station's own programme page and glance say it: the minutes walked of those due lead, the partial
          // sessions (under half their planned minutes) counted apart (a hub before s25 sent no such counts)
          el("p", { class: "hub-adherence" }, unitsKept(`From ${p.start_date}${p.ended_on ? ` to ${p.ended_on}` : ""}: `
            + (o.minutes_due === null || o.minutes_due === undefined
              ? `${Station.walkedTime(o.minutes_done || 0)} of ${Station.walkedTime(o.minutes_planned || 0)} walked; `
              : o.minutes_due > 0 ? `walked ${Station.walkedTime(o.minutes_done || 0)} of ${Station.walkedTime(o.minutes_due)} due (${Math.round(100 * o.minutes_done_of_due)} %); `
                : "no session due yet; ")
            + `${o.sessions_done} of ${o.sessions_planned} sessions done`
            + (o.sessions_partial ? ` (${o.sessions_partial} partial: under half the planned minutes)` : "")
            + `, ${o.sessions_missed} missed.`)),
          recorded.length ? el("ul", { class: "small" }, recorded.map((x) => el("li", { dataset: { number: x.number } },
            unitsKept(`Session ${x.number} (week ${x.week}, ${x.planned_date}) · ${x.status === "done" && x.partial ? "partial" : x.status}`
            + (x.minutes !== null ? ` · ${x.partial ? `${Station.walkedTime(x.minutes)} of ${Station.walkedTime(x.minutes_planned)}` : Station.walkedTime(x.minutes)}` : "")
            + " · "), el("span", { class: "recorded-at" }, x.recorded_at ? `at ${x.recorded_at}` : "on the hub")))) : "");
      }));
  }

  async function pullFromHub(button) {
    button.disabled = true;
    try {
      const got = await api("POST", `/api/patients/${patientId}/history/pull`, {});
      button.textContent = got.sessions || got.trials ? `Brought ${got.sessions} visit(s), ${got.trials} trial(s)` : "Nothing new on the hub";
      if (got.sessions || got.trials) await load();
    } catch (err) {
      showError($("page-error"), err);
    } finally {
      button.disabled = false;
    }
  }

  async function load() {
    try {
      const [doc, protocols, marks] = await Promise.all([
        api("GET", `/api/patients/${patientId}/history`),
        api("GET", "/api/protocols").catch(() => ({ protocols: [] })),
        api("GET", `/api/patients/${patientId}/recorded-elsewhere`).catch(() => ({ sessions: {} })),
      ]);
      elsewhere = marks.sessions || {};
      numbered = Object.fromEntries(doc.sessions.map((s) => [String(s.id), s]));
      renderSources(doc);
      const ceilingOf = Charts.trialCeilings(protocols.protocols);
      $("history-title").textContent = `History · ${doc.patient.identifier}`;
      $("back-link").textContent = `← ${doc.patient.identifier}`;
      const box = $("history");
      // how a chart's point is made: said only above a history that charts (one visit charts none)
      $("history-intro").hidden = !doc.series.some((s) => s.points.length > 1);
      if (!doc.series.length) {
        box.replaceChildren(el("p", { class: "muted" }, "No valid trials yet."));
        return;
      }
      const groups = new Map();
      for (const s of doc.series) {
        if (!groups.has(s.protocol)) groups.set(s.protocol, []);
        groups.get(s.protocol).push(s);
      }
      // measures measured once: a table (the history PDF's words, report.measured_once_words); one visit so far
      // (nothing charted): said once above the tests, else under each test's charts
      const once = doc.measured_once;
      const charted = doc.series.some((s) => s.key && s.points.length > 1);
      const onceWords = (tag) => el("div", { class: "measured-once-intro" }, el(tag, { class: "measured-once-heading" }, once.heading),
        el("p", { class: "muted small measured-once-words" }, once.words));
      // a table of those measured once, under its words where they are not said above the tests (charts around it: the
      // key measures' rule); the words say what every value of it is (the baseline), once, not on each row
      const keyOnceAnywhere = doc.series.some((s) => s.key && s.points.length === 1);
      const saidAbove = keyOnceAnywhere && !charted;
      const onceBlock = (list) => (list.length ? [saidAbove ? null : onceWords("h3"), onceTable(list, once)] : null);
      box.replaceChildren(...(saidAbove ? [onceWords("h2")] : []), ...[...groups.values()].map((list) => {
        const key = list.filter((s) => s.key && s.points.length > 1);
        const keyOnce = list.filter((s) => s.key && s.points.length === 1);
        const rest = list.filter((s) => !s.key);
        const more = el("div", { class: "history-grid", hidden: true });
        const section = el("section", { dataset: { protocol: list[0].protocol } },
          el("h2", {}, list[0].protocol_title),
          key.length ? el("div", { class: "history-grid" }, keyCards(key, ceilingOf)) : null,
          onceBlock(keyOnce));
        if (rest.length) {
          const toggle = el("button", { type: "button", class: "secondary more-measures" }, `More measures (${rest.length})`);
          toggle.addEventListener("click", () => {
            // the others as the key measures: a chart each measured twice or more, a row each of a table measured once
            // (the history PDF charts no dot; it leaves these out, the visit's own report gives them)
            if (!more.childElementCount) {
              more.append(...rest.filter((s) => s.points.length > 1).map((s) => chartCard(s, ceilingOf)),
                ...(onceBlock(rest.filter((s) => s.points.length === 1)) || []).filter(Boolean));
            }
            more.hidden = !more.hidden;
            drawCharts(more);
            toggle.textContent = more.hidden ? `More measures (${rest.length})` : "Fewer measures";
          });
          section.append(el("div", { class: "actions" }, toggle), more);
        }
        return section;
      }));
      drawCharts(box);
    } catch (err) {
      showError($("page-error"), err);
    }
  }

  window.addEventListener("resize", () => drawCharts($("history")));
  const pull = $("pull-history");
  if (pull) pull.addEventListener("click", () => pullFromHub(pull));
  load();
  renderHubProgrammes();
})();
