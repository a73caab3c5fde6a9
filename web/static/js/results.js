/* Results of a session: per condition the measures clinicians read first, each beside the
   patient's age-group percentile (Santos & Duarte 2016, cited) or the protocol's cut-off; the
   trace and ellipse of the condition's last valid trial; all measures on demand; invalid trials
   with their reasons; exports. */
"use strict";

(() => {
  const { api, el, fmt, fmtSig, when, showError, ordinal } = Station;
  const $ = (id) => document.getElementById(id);
  const sessionId = Number($("results-page").dataset.sessionId);

  function referenceText(ref) {
    if (ref.kind === "norm") {
      if (!ref.comparable) return el("span", { class: "muted" }, ref.note);
      const pct = ref.percentile === null ? "no value" : `≈ ${ordinal(ref.percentile)} percentile`;
      return el("span", {},
        el("strong", {}, pct), ` of ${ref.group} (n = ${ref.n_subjects}; 5th–95th: ${ref.p05}–${ref.p95}, median ${ref.p50}). `,
        el("span", { class: "muted small" }, `${ref.short_source}. ${ref.note}`));
    }
    if (ref.kind === "cutoff") {
      const limit = ref.below !== null ? `below ${ref.below}` : `above ${ref.above}`;
      const flag = ref.flagged === null ? el("span", { class: "tag" }, "no value")
        : ref.flagged ? el("span", { class: "tag flag" }, `flagged: ${limit}`) : el("span", { class: "tag valid" }, `not ${limit}`);
      return el("span", {}, flag, " ", ref.meaning, " ", el("span", { class: "muted small" }, `(${ref.source.split(". ")[0]})`));
    }
    if (ref.kind === "protocol_norm") {
      const row = ref.row;
      return el("span", {}, ref.position ? el("strong", {}, ref.position) : "",
        row ? ` (ages ${row.age_min_y}-${row.age_max_y}: mean ${row.mean ?? "–"})` : "", " ",
        el("span", { class: "muted small" }, `${ref.source.split(". ")[0]}. ${ref.note || ""}`));
    }
    return "";
  }

  function measureRows(condition) {
    return condition.key_measures.map((m) => {
      let value = m.value === null || m.value === undefined ? "–" : `${fmtSig(m.value)} ${m.unit}`;
      if (m.metric === "weight_left_pct" && m.value !== null) value = `${fmt(m.value, 1)} % left / ${fmt(m.right_pct, 1)} % right`;
      const refs = m.references.length ? m.references.map((r) => el("div", {}, referenceText(r)))
        : [el("span", { class: "muted small" }, m.note || m.words || "No published reference for this measure.")];
      if (m.words && m.references.length) refs.push(el("div", { class: "small" }, m.words));
      return el("tr", { dataset: { metric: m.metric } },
        el("th", {}, m.label), el("td", { class: "value num" }, value), el("td", {}, refs));
    });
  }

  function trialLines(condition) {
    return el("ul", { class: "trial-list" }, condition.trials.map((t) => {
      let verdict;
      if (t.status !== "complete") verdict = el("span", { class: "tag flag" }, t.note || t.status);
      else if (!t.valid) verdict = el("span", { class: "tag invalid" }, "invalid");
      else if (t.completed === false && t.time_held_s !== null) verdict = el("span", { class: "tag flag" }, `held ${fmt(t.time_held_s, 1)} s`);
      else verdict = el("span", { class: "tag valid" }, "valid");
      const reason = !t.valid && t.validity_reason ? el("div", { class: "small error-box" }, t.validity_reason)
        : t.hold_end ? el("div", { class: "small muted" }, t.hold_end) : null;
      return el("li", { dataset: { trialId: t.id, valid: String(t.valid) } },
        el("div", {}, el("a", { href: `/trials/${t.id}` }, `Attempt ${t.attempt ?? "?"} (trial #${t.id})`), reason),
        verdict);
    }));
  }

  function allMeasuresTable(values) {
    const keys = Object.keys(values).sort();
    return el("table", { class: "list small" },
      el("thead", {}, el("tr", {}, el("th", {}, "Measure"), el("th", { class: "num" }, "Value"))),
      el("tbody", {}, keys.map((k) => el("tr", {}, el("td", {}, k), el("td", { class: "num" }, fmtSig(values[k]))))));
  }

  async function tracePlot(condition, figure) {
    const valid = condition.trials.filter((t) => t.valid && t.analysed);
    if (!valid.length) { figure.append(el("figcaption", {}, "No valid trial to plot.")); return; }
    const t = valid[valid.length - 1];
    try {
      const [frames, trial] = await Promise.all([
        api("GET", `/api/trials/${t.id}/frames?fields=time_s,ap_cm,ml_cm&max_points=2000`),
        api("GET", `/api/trials/${t.id}`),
      ]);
      const m = (trial.metrics && trial.metrics.metrics) || {};
      const outcome = (trial.metrics && trial.metrics.trial) || {};
      const c = frames.columns;
      const start = outcome.analysis_start_s ?? 0, end = outcome.analysis_end_s ?? Infinity;
      const ml = [], ap = [];
      for (let i = 0; i < c.time_s.length; i++) {
        if (c.time_s[i] >= start && c.time_s[i] <= end) { ml.push(c.ml_cm[i]); ap.push(c.ap_cm[i]); }
      }
      figure.prepend(Charts.statokinesigram(ml, ap, { major_cm: m.ellipse_major_cm, minor_cm: m.ellipse_minor_cm, angle_deg: m.ellipse_angle_deg }));
      figure.append(el("figcaption", {}, `Trace of trial #${t.id} with its 95 % prediction ellipse (${fmtSig(m.ellipse_area_cm2)} cm²).`));
    } catch (err) {
      figure.append(el("figcaption", {}, `Could not load the trace: ${err.message}`));
    }
  }

  function renderProtocol(section, age) {
    const box = el("section", { class: "protocol-results", dataset: { protocol: section.protocol } },
      el("h2", {}, section.title),
      el("p", { class: "muted" }, `${section.valid_trial_count} valid of ${section.trial_count} analysed trials.`));
    if (section.romberg) {
      const r = section.romberg;
      box.append(el("div", { class: "card", id: "romberg" },
        el("h3", {}, "Romberg quotient (eyes closed / eyes open)"),
        el("p", {}, `Area ${fmtSig(r.romberg_quotient_area)} · velocity ${fmtSig(r.romberg_quotient_velocity)}`,
          r.note ? el("span", { class: "muted" }, ` — ${r.note}`) : ""),
        el("p", { class: "muted small" }, "No published cut-off is carried for the quotient; above 1 means more sway without vision.")));
    }
    for (const condition of section.conditions) {
      const figure = el("figure", {});
      const all = el("div", { hidden: true }, allMeasuresTable(condition.values));
      const toggle = el("button", { type: "button", class: "secondary" }, "Show all measures");
      toggle.addEventListener("click", () => {
        all.hidden = !all.hidden;
        toggle.textContent = all.hidden ? "Show all measures" : "Hide all measures";
      });
      const flagged = section.cutoffs.some((c) => c.condition === condition.id && c.flagged);
      box.append(el("div", { class: "card condition", dataset: { condition: condition.id } },
        el("div", { class: "actions" }, el("h3", {}, condition.label), flagged ? el("span", { class: "tag flag" }, "flagged") : null,
          condition.valid_trials === 0 ? el("span", { class: "tag invalid" }, "no valid trial") : null),
        el("p", { class: "muted small" }, condition.stance),
        trialLines(condition),
        el("div", { class: "plots" }, figure,
          el("table", { class: "list measures" }, el("tbody", {}, measureRows(condition)))),
        el("div", { class: "actions" }, toggle), all));
      if (WalkResults.isWalkCondition(condition)) WalkResults.conditionFigure(condition, figure, box.lastElementChild);
      else tracePlot(condition, figure);
    }
    return box;
  }

  async function load() {
    try {
      const doc = await api("GET", `/api/sessions/${sessionId}/results`);
      const p = doc.patient;
      $("results-title").textContent = `Results · ${p.identifier}`;
      $("results-summary").textContent = `${when(doc.session.started_at)} · ${doc.session.label || "session"}` +
        (p.age_y ? ` · age ${p.age_y} (from the birth year)` : "");
      $("back-link").href = `/patients/${p.id}`;
      $("back-link").textContent = `← ${p.identifier}`;
      $("results-actions").replaceChildren(
        el("a", { class: "button secondary", href: `/patients/${p.id}/history` }, "History"),
        el("a", { class: "button secondary", href: `/api/patients/${p.id}/export.csv`, download: true, id: "export-history" }, "Export history (CSV)"));
      const box = $("results");
      box.replaceChildren(...doc.protocols.map((s) => renderProtocol(s, p.age_y)));
      if (!doc.protocols.length) box.append(el("p", { class: "muted" }, "No analysed trials in this session."));
      if (doc.unknown_protocol_trials.length) {
        box.append(el("p", { class: "warn-box" }, `${doc.unknown_protocol_trials.length} trial(s) of a protocol this station no longer has are not summarised.`));
      }
      $("norms-cite").textContent = `Age-group percentiles: ${doc.norms_source}. Percentiles are estimated from the published 5th, 50th and 95th percentiles (log-normal interpolation). Cut-offs: the sources named beside them.`;
    } catch (err) {
      showError($("page-error"), err);
    }
  }

  load();
})();
