/* A patient's history: per protocol and condition, the key measures over sessions, with the
   published minimal detectable change where one exists. */
"use strict";

(() => {
  const { api, el, fmtSig, when, showError } = Station;
  const $ = (id) => document.getElementById(id);
  const patientId = Number($("history-page").dataset.patientId);

  function changeText(s) {
    const mdcLine = s.mdc
      ? el("p", { class: "muted" }, `Minimal detectable change ${fmtSig(s.mdc.value)} ${s.unit}: ${s.mdc.population}. ${s.mdc.citation}`)
      : el("p", { class: "muted" }, "No published minimal detectable change for this measure here.");
    if (s.points.length < 2) {
      return el("div", { class: "small" }, el("p", {}, "One session so far: a change shows from the second."), mdcLine);
    }
    const sign = s.change > 0 ? "+" : "";
    const words = `Change since the first session: ${sign}${fmtSig(s.change)} ${s.unit}.`;
    const verdict = !s.mdc ? null : s.exceeds_mdc
      ? el("span", { class: "tag flag" }, "beyond the MDC")
      : el("span", { class: "tag" }, "within the MDC (may be noise)");
    return el("div", { class: "small" }, el("p", {}, words, " ", verdict), mdcLine);
  }

  function chartCard(s) {
    const points = s.points.map((p) => ({
      date: new Date(p.started_at), value: p.value,
      label: when(p.started_at), text: `${fmtSig(p.value)} ${s.unit} (${p.trials.length} trial${p.trials.length === 1 ? "" : "s"})`,
    }));
    return el("div", { class: "card history-chart", dataset: { protocol: s.protocol, condition: s.condition, metric: s.metric } },
      el("h3", {}, `${s.label} · ${s.condition_label}`),
      Charts.history(points, { mdc: s.mdc ? s.mdc.value : null, unit: s.unit, label: `${s.label}, ${s.condition_label}` }),
      changeText(s));
  }

  async function load() {
    try {
      const doc = await api("GET", `/api/patients/${patientId}/history`);
      $("history-title").textContent = `History · ${doc.patient.identifier}`;
      $("back-link").textContent = `← ${doc.patient.identifier}`;
      const box = $("history");
      if (!doc.series.length) {
        box.replaceChildren(el("p", { class: "muted" }, "No valid trials yet."));
        return;
      }
      const groups = new Map();
      for (const s of doc.series) {
        if (!groups.has(s.protocol)) groups.set(s.protocol, []);
        groups.get(s.protocol).push(s);
      }
      box.replaceChildren(...[...groups.values()].map((list) => el("section", { dataset: { protocol: list[0].protocol } },
        el("h2", {}, list[0].protocol_title),
        el("div", { class: "history-grid" }, list.map(chartCard)))));
    } catch (err) {
      showError($("page-error"), err);
    }
  }

  load();
})();
