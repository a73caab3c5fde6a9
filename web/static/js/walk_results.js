/* Walk trials on the results and trial pages: the walk's measures (time, speed, cadence,
   variability, symmetry), the lower back's vertical acceleration with the steps (initial contacts)
   marked (GET /api/trials/<id>/steps), and for treadmill sessions the gait minute by minute. */
"use strict";

const WalkResults = (() => {
  const { api, el, fmt, fmtSig } = Station;

  /* The walk measures of a stored trial's metrics document, wherever the result keeps them. */
  const MEASURES = [
    ["walk_time_s", "Time", "s", 2],
    ["walk_speed_m_s", "Speed over the timed distance", "m/s", 2],
    ["walk_distance_m", "Timed distance", "m", 2],
    ["cadence_steps_min", "Cadence", "steps/min", 1],
    ["steps", "Steps", "", 0],
    ["step_time_s", "Step time", "s", 3],
    ["step_time_cv_pct", "Step-time variability (CV)", "%", 1],
    ["stride_time_cv_pct", "Stride-time variability (CV)", "%", 1],
    ["step_regularity", "Step regularity", "", 2],
    ["stride_regularity", "Stride regularity", "", 2],
    ["step_symmetry", "Step symmetry (1 = both steps alike)", "", 2],
    ["step_length_m", "Step length (IMU)", "m", 2],
    ["walking_speed_m_s", "Walking speed (IMU)", "m/s", 2],
    ["duration_s", "Time walking", "s", 1],
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

  function measuresTable(v, id) {
    const rows = MEASURES.filter(([k]) => v[k] !== undefined && v[k] !== null).map(([k, label, unit, digits]) =>
      el("tr", { dataset: { metric: k } }, el("th", {}, label),
        el("td", { class: "value num" }, `${digits === 0 ? v[k] : fmt(v[k], digits)}${unit ? " " + unit : ""}`)));
    return rows.length ? el("table", { class: "list measures", id }, el("tbody", {}, rows))
      : el("p", { class: "muted" }, "No walk measures for this trial.");
  }

  /* The steps figure of trial ``trialId`` into ``figure`` (window [from_s, to_s], optional). */
  async function stepsFigure(trialId, figure, window) {
    const w = window || {};
    const q = new URLSearchParams({ max_points: "4000" });
    if (w.from_s !== undefined) q.set("from_s", w.from_s);
    if (w.to_s !== undefined) q.set("to_s", w.to_s);
    figure.classList.add("walk-figure");
    try {
      const doc = await api("GET", `/api/trials/${trialId}/steps?${q}`);
      const chart = WalkCharts.stepsTrace(doc.time_s, doc.acc_v_m_s2, doc.initial_contacts_s,
        { from_s: doc.from_s, to_s: doc.to_s, traceLabel: "vertical acceleration", label: `Vertical acceleration of trial #${trialId} with its steps` });
      const shown = doc.initial_contacts_s.length;
      const words = doc.note ? doc.note
        : `Vertical acceleration of the lower back (m/s², gravity included) from ${fmt(doc.from_s, 1)} to ${fmt(doc.to_s, 1)} s, ` +
          `with the ${shown} step${shown === 1 ? "" : "s"} (initial contacts) the analysis found` +
          (doc.steps_total !== null && doc.steps_total !== shown ? ` (${doc.steps_total} in the whole trial)` : "") + ".";
      figure.replaceChildren(chart, el("figcaption", {}, words));
      return doc;
    } catch (err) {
      figure.replaceChildren(el("figcaption", {}, `Could not load the acceleration: ${err.message}`));
      return null;
    }
  }

  /* Treadmill sessions: cadence per minute (bars; paused minutes light) and the table. */
  function minutesBlock(minutes, trialId, stepsBox) {
    const rows = minutes.map((m) => ({ minute: m.minute, value: m.cadence_steps_min,
      paused: (m.walking_s || 0) < 0.5 * ((m.end_s - m.start_s) || 60),
      text: `${fmt(m.cadence_steps_min, 0)} steps/min, ${m.steps} steps, walking ${fmt(m.walking_s, 0)} s` }));
    const figure = el("figure", { class: "walk-figure" });
    const table = el("table", { class: "list small walk-minutes", id: `minutes-${trialId}` },
      el("thead", {}, el("tr", {}, ...["Minute", "Walking (s)", "Steps", "Cadence (steps/min)", "Step-time CV (%)", "Stride-time CV (%)", "Pauses"]
        .map((h, i) => el("th", { class: i ? "num" : "" }, h)))),
      el("tbody", {}, minutes.map((m) => el("tr", { dataset: { minute: m.minute } },
        el("td", {}, m.minute), el("td", { class: "num" }, fmt(m.walking_s, 0)), el("td", { class: "num" }, m.steps),
        el("td", { class: "num" }, fmt(m.cadence_steps_min, 1)), el("td", { class: "num" }, fmt(m.step_time_cv_pct, 1)),
        el("td", { class: "num" }, fmt(m.stride_time_cv_pct, 1)), el("td", { class: "num" }, m.pauses ?? "–")))));
    figure.append(WalkCharts.minuteBars(rows, { unit: "steps/min", label: "Cadence per minute" }),
      el("figcaption", {}, "Cadence minute by minute (light bars: less than half the minute walking)." +
        (stepsBox ? " Choose a minute in the table to see its steps above." : "")));
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
    return el("div", { class: "walk-minutes-block" }, el("h3", {}, "Minute by minute"), figure,
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
  function trialPage(trialId, doc, plots, measures) {
    const v = values(doc);
    measures.replaceChildren(measuresTable(v, "walk-measures"));
    const figure = el("figure", {});
    plots.replaceChildren(figure);
    stepsFigure(trialId, figure, defaultWindow(doc));
    const minutes = minutesOf(doc);
    if (minutes && minutes.length) plots.append(minutesBlock(minutes, trialId, figure));
  }

  /* A walk measure's change since the patient's previous session of the same test, against the
     published minimal detectable change when one fits the patient (report.add_walk_changes). */
  function changeReference(ref) {
    const unit = ref.unit ? " " + ref.unit : "";
    const mdcWords = ref.mdc
      ? el("span", { class: "muted small" }, ` Minimal detectable change ${fmtSig(ref.mdc.value)}${unit}: ${ref.mdc.population}. ${ref.mdc.citation.split(". ")[0]}.`)
      : el("span", { class: "muted small" }, ref.mdc_note ? ` ${ref.mdc_note}` : " No published minimal detectable change for this measure here.");
    if (!ref.previous) return el("div", { class: "ref change-ref" }, el("span", { class: "tag" }, "first session"), mdcWords);
    const sign = ref.change > 0 ? "+" : "";
    const tag = ref.beyond_mdc === null ? null : ref.beyond_mdc
      ? el("span", { class: "tag flag" }, "beyond the MDC") : el("span", { class: "tag neutral" }, "within the MDC (may be noise)");
    return el("div", { class: "ref change-ref" },
      el("strong", {}, `${sign}${fmtSig(ref.change)}${unit}`), ` since ${Station.when(ref.previous.started_at)} (${fmtSig(ref.previous.value)}${unit}) `,
      tag, mdcWords);
  }

  const WALK_KEYS = ["walk_time_s", "walk_speed_m_s", "cadence_steps_min", "steps"];

  /* A condition of the results page measured walking (its values hold walk measures). */
  function isWalkCondition(condition) {
    const v = condition.values || {};
    return WALK_KEYS.some((k) => v[k] !== undefined) || condition.key_measures.some((m) => WALK_KEYS.includes(m.metric));
  }

  /* The results page's figure of a walk condition: the steps of its last valid trial, and the
     minutes of a treadmill session under it (into ``after``). */
  async function conditionFigure(condition, figure, after) {
    const valid = condition.trials.filter((t) => t.valid && t.analysed);
    if (!valid.length) { figure.append(el("figcaption", {}, "No valid trial to plot.")); return; }
    const t = valid[valid.length - 1];
    try {
      const trial = await api("GET", `/api/trials/${t.id}`);
      const doc = trial.metrics || {};
      await stepsFigure(t.id, figure, defaultWindow(doc));
      const minutes = minutesOf(doc);
      if (minutes && minutes.length && after) after.append(minutesBlock(minutes, t.id, figure));
    } catch (err) {
      figure.append(el("figcaption", {}, `Could not load the trial: ${err.message}`));
    }
  }

  return { values, isWalkTrial, isWalkCondition, conditionFigure, changeReference, measuresTable, stepsFigure, minutesBlock, minutesOf, defaultWindow, trialPage, MEASURES, fmtSig };
})();
