/* One trial: validity (and why it is invalid), plots of the trace with its ellipse and of the
   stabilogram, the key measures, all measures on demand, exports. */
"use strict";

(() => {
  const { api, el, fmt, fmtSig, when, showError } = Station;
  const $ = (id) => document.getElementById(id);
  const trialId = Number($("trial-page").dataset.trialId);

  const KEY = [
    ["ellipse_area_cm2", "95 % ellipse area", "cm²"],
    ["mean_velocity_cm_s", "Mean sway velocity", "cm/s"],
    ["path_length_cm", "Path length", "cm"],
    ["rms_distance_cm", "RMS distance", "cm"],
    ["weight_left_pct", "Weight on the left", "%"],
  ];

  async function load() {
    try {
      const trial = await api("GET", `/api/trials/${trialId}`);
      const doc = trial.metrics || {};
      const m = doc.metrics || {};
      const outcome = doc.trial || {};
      $("trial-title").textContent = `Trial #${trial.id} · ${outcome.label || trial.condition}`;
      $("back-link").href = `/sessions/${trial.session_id}`;
      $("back-link").textContent = "← Session results";
      const v = $("validity");
      if (trial.status !== "complete") {
        v.replaceChildren(el("p", { class: "warn-box", id: "trial-status" }, `This trial is ${trial.status}: ${trial.status_reason || ""}`));
      } else if (trial.valid === false) {
        v.replaceChildren(el("p", { class: "error-box", id: "invalid-reason" }, `Invalid trial: ${trial.validity_reason}`));
      } else if (outcome.time_held_s !== null && outcome.time_held_s !== undefined && !outcome.completed) {
        v.replaceChildren(el("p", { class: "warn-box" }, `Held ${fmt(outcome.time_held_s, 1)} s of ${outcome.duration_s} s. ` +
          ((outcome.hold_end && outcome.hold_end.message) || "")));
      } else {
        v.replaceChildren(el("p", { class: "ok-box" }, "Valid trial."));
      }
      const bits = [`${trial.protocol} · ${trial.condition}`, when(trial.started_at), `${fmt(trial.duration_s, 1)} s`,
        `${trial.frame_count} frames at ${trial.rate_hz} Hz`, `${trial.frames_lost} lost`, `recorded by ${trial.recorded_by}`];
      if (outcome.attempt) bits.push(`attempt ${outcome.attempt}`);
      $("trial-summary").textContent = bits.join(" · ");
      if (doc.note) $("trial-summary").append(el("div", {}, doc.note));
      if (outcome.metrics_note) $("trial-summary").append(el("div", {}, outcome.metrics_note));
      (outcome.warnings || []).forEach((w) => $("trial-summary").append(el("div", { class: "warn-box small" }, w)));

      const rows = KEY.filter(([k]) => k in m).map(([k, label, unit]) => el("tr", {},
        el("th", {}, label), el("td", { class: "value num" }, `${fmtSig(m[k])} ${unit}`)));
      if (outcome.time_held_s !== null && outcome.time_held_s !== undefined) {
        rows.unshift(el("tr", {}, el("th", {}, "Time held"), el("td", { class: "value num" }, `${fmt(outcome.time_held_s, 2)} s`)));
      }
      $("measures").replaceChildren(rows.length ? el("table", { class: "list measures" }, el("tbody", {}, rows))
        : el("p", { class: "muted" }, "No measures for this trial."));
      const keys = Object.keys(m).sort();
      $("all-measures").replaceChildren(el("table", { class: "list small", id: "all-measures-table" },
        el("thead", {}, el("tr", {}, el("th", {}, "Measure"), el("th", { class: "num" }, "Value"))),
        el("tbody", {}, keys.map((k) => el("tr", {}, el("td", {}, k), el("td", { class: "num" }, fmtSig(m[k])))))),
      el("p", { class: "muted small" }, `Processing profile ${doc.profile || "–"}, ${doc.fs_hz || "–"} Hz, ${doc.samples || "–"} samples, analysis ${doc.version || "–"}.`));

      if (WalkResults.isWalkTrial(doc)) { // a walk: its measures and steps, no centre of pressure
        WalkResults.trialPage(trialId, doc, $("plots"), $("measures"));
        return;
      }
      const frames = await api("GET", `/api/trials/${trialId}/frames?fields=time_s,ap_cm,ml_cm,fz_n&max_points=3000`);
      const c = frames.columns;
      const start = outcome.analysis_start_s ?? 0, end = outcome.analysis_end_s ?? Infinity;
      const ml = [], ap = [];
      for (let i = 0; i < c.time_s.length; i++) {
        if (c.time_s[i] >= start && c.time_s[i] <= end) { ml.push(c.ml_cm[i]); ap.push(c.ap_cm[i]); }
      }
      const plots = $("plots");
      plots.replaceChildren(
        el("figure", {}, Charts.statokinesigram(ml, ap, { major_cm: m.ellipse_major_cm, minor_cm: m.ellipse_minor_cm, angle_deg: m.ellipse_angle_deg }),
          el("figcaption", {}, "Statokinesigram of the analysed part, with the 95 % prediction ellipse.")),
        el("figure", {}, Charts.timeSeries([
          { t: c.time_s, y: c.ap_cm, color: "#1f4e79", label: "AP (cm)" },
          { t: c.time_s, y: c.ml_cm, color: "#c0392b", label: "ML (cm)" }], { yLabel: "cm", xLabel: "s", label: "Stabilogram" }),
        el("figcaption", {}, "Stabilogram: COP against time (whole recording).")),
        el("figure", {}, Charts.timeSeries([{ t: c.time_s, y: c.fz_n, color: "#1e7a3c", label: "Fz (N)" }],
          { yLabel: "N", xLabel: "s", label: "Total force" }),
        el("figcaption", {}, "Total vertical force.")));
    } catch (err) {
      showError($("page-error"), err);
    }
  }

  $("toggle-all").addEventListener("click", () => {
    const box = $("all-measures");
    box.hidden = !box.hidden;
    $("toggle-all").textContent = box.hidden ? "Show all measures" : "Hide all measures";
  });

  load();
})();
