/* One trial: what it showed (valid, held, unable, invalid and why), its plots (the trace with
   its 95 % ellipse only when the trial has sway measures; the stabilogram with a colour legend;
   the total force), the key measures, every measure on demand grouped with its label, unit,
   meaning and reference, the clinician's judgement and note (PATCH /api/trials/<id>), exports. */
"use strict";

(() => {
  const { api, el, fmt, fmtSig, when, showError, showFieldErrors } = Station;
  const $ = (id) => document.getElementById(id);
  const trialId = Number($("trial-page").dataset.trialId);

  const KEY = ["ellipse_area_cm2", "mean_velocity_cm_s", "path_length_cm", "rms_distance_cm", "weight_left_pct"];

  function describe(catalogue, key) {
    return (catalogue && catalogue.measures[key]) || { key, label: key, unit: "", group: "Other", meaning: "", reference: "" };
  }

  function allMeasures(catalogue, m) {
    const groups = new Map();
    for (const key of Object.keys(m)) {
      const d = describe(catalogue, key);
      if (!groups.has(d.group)) groups.set(d.group, []);
      groups.get(d.group).push(d);
    }
    const order = (catalogue && catalogue.groups) || [];
    const rank = (g) => (order.includes(g) ? order.indexOf(g) : order.length);
    return el("table", { class: "list small all-measures", id: "all-measures-table" },
      el("thead", {}, el("tr", {}, el("th", {}, "Measure"), el("th", { class: "num" }, "Value"), el("th", { class: "hide-narrow" }, "What it means"))),
      [...groups.entries()].sort((a, b) => rank(a[0]) - rank(b[0])).map(([group, list]) => el("tbody", {},
        el("tr", { class: "group" }, el("th", { colspan: 3 }, group)),
        list.map((d) => el("tr", { dataset: { key: d.key } },
          el("td", {}, d.label),
          el("td", { class: "num" }, `${fmtSig(m[d.key])}${d.unit ? " " + d.unit : ""}`),
          el("td", { class: "hide-narrow muted" }, d.meaning, d.reference ? el("span", { class: "cite-inline" }, ` ${d.reference}.`) : ""))))));
  }

  function validityBox(trial, outcome) {
    const issues = outcome.issues || [];
    const unable = !!trial.unable; // the station's verdict as it stands now (the trial API's "unable")
    if (trial.status !== "complete") {
      // the cause is the store's own (a full disk, a crash or power cut, the clinician's reason), not a guess from the status
      const words = { partial: "not finished: its frames are kept, it is not analysed",
        aborted: "stopped before it finished; not analysed", recording: "still recording" }[trial.status] || trial.status;
      return el("p", { class: "warn-box", id: "trial-status" }, `This trial was ${words}.` + (trial.status_reason ? ` ${Station.capitalise(trial.status_reason)}` : ""));
    }
    if (unable && issues[0].code === "scored_unable") return el("p", { class: "warn-box", id: "unable" }, `Unable: ${issues[0].message} Counted as 0 s in the results and the history.`);
    if (unable) return el("p", { class: "warn-box", id: "unable" }, "Unable: the patient did not lift a foot. Counted as 0 s in the results and the history.");
    if (trial.valid === false) return el("p", { class: "error-box", id: "invalid-reason" }, `Invalid trial${trial.judged_by ? ` (judged by ${trial.judged_by})` : ""}: ${trial.validity_reason}`);
    if (outcome.time_held_s !== null && outcome.time_held_s !== undefined && !outcome.completed) {
      const held = `${fmt(outcome.time_held_s, 1)} s`;
      const why = (outcome.hold_end && outcome.hold_end.message) || "";
      // the engine's words usually say it already ("stepped off the plate after 11.1 s of 30 s"); amber only below a
      // cut-off that applies to the patient (the station's held_verdict, as the visit results' tag): a result, not a fault
      return el("p", { class: trial.held_verdict === "flagged" ? "warn-box" : "note-box", id: "held-box",
        dataset: { heldVerdict: trial.held_verdict || "" } }, why.includes(held) ? why : `Held ${held} of ${outcome.duration_s} s. ${why}`.trim());
    }
    return el("p", { class: "ok-box" }, "Valid trial." + (trial.validity_reason ? ` ${trial.judged_by ? "Judged valid" : "Note"}: ${trial.validity_reason}` : ""));
  }

  /* The station's own check: a single-leg trial it counts as unable (station_check.unable, "scored" or
     "measured") is a result, 0 s, though its stored valid flag is the engine's false. */
  const UNABLE_CHECK = { scored: "a result — unable (0 s), scored by the clinician",
    measured: "a result — unable (0 s), measured: the foot was never lifted" };

  function stationCheck(trial) {
    const check = trial.station_check || {};
    const verdict = UNABLE_CHECK[check.unable] || (check.valid === false ? `invalid${check.reason ? ` (${check.reason})` : ""}`
      : check.valid === true ? "valid" : "not judged");
    if (!trial.judged_by) return el("p", { class: "muted small", id: "station-check" }, `The station's check: ${verdict}. Your judgement overrides it.`);
    return el("p", { class: "small", id: "station-check" },
      el("strong", {}, `Overridden by ${trial.judged_by} ${when(trial.judged_at)}: ${trial.valid ? "valid" : "invalid"}.`),
      ` The station's own check said ${verdict}.`);
  }

  function judgement(trial) {
    // counted as the station counts it: valid for a result, unable (saving it so keeps it in the results)
    const counted = trial.valid !== false || (!trial.judged_by && !!UNABLE_CHECK[(trial.station_check || {}).unable]);
    const form = el("form", { id: "judgement", class: "card form-card", novalidate: true },
      el("h2", {}, "Clinician's judgement"),
      stationCheck(trial),
      el("div", { class: "actions" },
        el("label", { class: "check" }, el("input", { type: "radio", name: "valid", value: "yes", checked: counted }), "Valid"),
        el("label", { class: "check" }, el("input", { type: "radio", name: "valid", value: "no", checked: !counted }), "Invalid")),
      el("label", {}, "Reason (needed when invalid; an invalid trial leaves the results)",
        el("textarea", { name: "validity_reason", maxlength: 500, rows: 2 })),
      el("div", { class: "actions" }, el("button", { type: "submit", class: "go" }, "Save the judgement"),
        el("span", { class: "muted small", role: "status", id: "judgement-status" })),
      el("div", { class: "error-box", id: "judgement-error", hidden: true }));
    form.elements.validity_reason.value = counted && trial.valid === false ? "" : trial.validity_reason || ""; // the station's words are not a reason of the clinician's
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const valid = form.elements.valid.value === "yes";
      const reason = form.elements.validity_reason.value.trim();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        await api("PATCH", `/api/trials/${trial.id}`, { valid, validity_reason: reason || null });
        showFieldErrors(form, null, $("judgement-error"));
        await load(); // the page again, as the judgement left the trial; then said saved (the form is new)
        $("judgement-status").textContent = "Saved.";
      } catch (err) {
        showFieldErrors(form, err, $("judgement-error"));
      } finally {
        button.disabled = false;
      }
    });
    return form;
  }

  /* The clinician's note on this trial (how it went, what the patient said); kept apart from the
     judgement, shown on the visit results and exported. */
  function notesForm(trial) {
    const form = el("form", { id: "trial-notes", class: "card form-card", novalidate: true },
      el("h2", {}, "Note on this trial"),
      el("label", {}, "Note (shown with the trial on the visit results, and exported)",
        el("textarea", { name: "notes", maxlength: 2000, rows: 2, placeholder: "e.g. held the rail for a moment, said she felt dizzy" })),
      el("div", { class: "actions" }, el("button", { type: "submit", class: "secondary" }, "Save the note"),
        el("span", { class: "muted small", role: "status", id: "notes-status" })),
      el("div", { class: "error-box", id: "notes-error", hidden: true }));
    form.elements.notes.value = trial.notes || "";
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        await api("PATCH", `/api/trials/${trial.id}`, { notes: form.elements.notes.value });
        showFieldErrors(form, null, $("notes-error"));
        $("notes-status").textContent = "Saved.";
      } catch (err) {
        showFieldErrors(form, err, $("notes-error"));
      } finally {
        button.disabled = false;
      }
    });
    return form;
  }

  /* The protocol's published cut-offs read against this trial's own values for its patient, as the visit
     results read them against the valid trials' mean (GET /api/trials/<id> cutoffs, report.trial_cutoffs). */
  function cutoffsBlock(trial) {
    const refs = trial.cutoffs || [];
    if (!refs.length) return null;
    const metrics = [...new Set(refs.map((r) => r.metric))]; // each measure named once, its cut-offs under it
    return el("div", { class: "trial-cutoffs", id: "trial-cutoffs" }, el("h3", {}, "Against published cut-offs"),
      metrics.map((k) => {
        const mine = refs.filter((r) => r.metric === k);
        return el("div", { class: "trial-cutoff", dataset: { metric: k } },
          el("strong", {}, `${mine[0].label} ${k === "time_held_s" ? Station.timeHeld(mine[0].value) : Station.quantity(mine[0].value, mine[0].unit)}`),
          mine.map(Station.cutoffReference));
      }));
  }

  async function load() {
    try {
      const [trial, catalogue, protocols] = await Promise.all([
        api("GET", `/api/trials/${trialId}`),
        api("GET", "/api/measures").catch(() => null),
        api("GET", "/api/protocols").catch(() => ({ protocols: [] })),
      ]);
      const doc = trial.metrics || {};
      const m = doc.metrics || {};
      const hasMeasures = Object.keys(m).length > 0;
      const outcome = doc.trial || {};
      const protocol = protocols.protocols.find((p) => p.name === trial.protocol);
      const condition = protocol && protocol.conditions.find((c) => c.id === trial.condition);
      const label = outcome.label || (condition && condition.label) || trial.condition.replace(/_/g, " ");
      $("trial-title").textContent = `Trial #${trial.id} · ${label}`;
      $("back-link").href = `/sessions/${trial.session_id}`;
      $("back-link").textContent = "← Visit results";
      $("validity").replaceChildren(validityBox(trial, outcome));
      // the time from the first frame to the last, frames lost included (a stall of the acquisition is time
      // too: the live timer and the result's recorded time count it); the frames stored are said below
      const spanS = (trial.frame_count + (trial.frames_lost || 0)) / trial.rate_hz;
      // scored unable by the clinician without Start: nothing was recorded, so no time, frames or plots to show
      const notMeasured = (trial.station_check || {}).unable === "scored";
      const scorer = ((outcome.issues || []).map((i) => /^Scored unable by the clinician \(([^)]*)\)/.exec(i.message || ""))
        .find(Boolean) || [])[1] || trial.recorded_by;
      const bits = notMeasured ? [protocol ? protocol.title : trial.protocol,
        `Not measured: scored unable by the clinician (${scorer}, ${when(trial.started_at)}); no recording`]
        : [protocol ? protocol.title : trial.protocol, when(trial.started_at), `${fmt(spanS, 1)} s recorded`,
          `recorded by ${trial.recorded_by}`];
      if (outcome.attempt && !notMeasured) bits.push(`attempt ${outcome.attempt}`);
      $("trial-summary").textContent = bits.join(" · ");
      if (!notMeasured) $("trial-summary").append(el("div", { class: "small" }, `${trial.frame_count} frames at ${trial.rate_hz} Hz` +
        (trial.frames_lost ? `; ${trial.frames_lost} lost (the acquisition could not read them in time; left out of the analysis)` : "; none lost")));
      if (trial.station_id && !notMeasured) {  // which plate (one per station) and which calibration: results stay traceable across stations
        $("trial-summary").append(el("div", { class: "small muted", id: "trial-plate" },
          `plate of station ${trial.station_id.slice(0, 8)}, calibration ${trial.calibration_id}`));
      }
      if (hasMeasures && (doc.note || outcome.metrics_note)) $("trial-summary").append(el("div", {}, doc.note || outcome.metrics_note));
      (outcome.warnings || []).forEach((w) => $("trial-summary").append(el("div", { class: "warn-box small" }, w)));

      const rows = KEY.filter((k) => k in m && !(k === "weight_left_pct" && condition && condition.stance.feet.startsWith("single")))
        .map((k) => { const d = describe(catalogue, k); return el("tr", { dataset: { metric: k } }, el("th", {}, d.label), el("td", { class: "value num" }, `${fmtSig(m[k])} ${d.unit}`)); });
      if (outcome.time_held_s !== null && outcome.time_held_s !== undefined) {
        rows.unshift(el("tr", {}, el("th", {}, "Time held"), el("td", { class: "value num" }, Station.timeHeld(outcome.time_held_s))));
      }
      // a walk trial (valid or not: an invalid one keeps its walk in the result) has walk measures, not sway
      const walkTrial = WalkResults.isWalkTrial(doc) || !!outcome.walk;
      // an unable trial is a result (0 s), not an invalid recording: its own words, not the engine's "Invalid trial"
      const why = trial.status !== "complete" ? "it was not analysed (see above)"
        : trial.unable === "measured" ? "the foot was never lifted (unable, 0 s)"
        : walkTrial && trial.valid === false ? "the trial is invalid (see above)"
          : (outcome.metrics_note || doc.note || (trial.valid === false ? "the trial is invalid" : "none were computed"));
      // the time held alone (a hold too short to analyse) still says why there is no sway measure
      $("measures").replaceChildren(...(rows.length ? [el("table", { class: "list measures" }, el("tbody", {}, rows))] : []),
        ...(hasMeasures ? [] : [el("p", { class: "muted", id: "no-measures" },
          // a note that already says so (the runner's "No sway measures: ...") is not said twice
          /^No (sway|walk) measure/.test(why) ? why
            : `No ${walkTrial ? "walk" : "sway"} measures: ${why.replace(/\.$/, "")}.`)]));
      $("measures").append(...[cutoffsBlock(trial)].filter(Boolean));
      $("toggle-all").hidden = !hasMeasures;
      $("all-measures").replaceChildren(...(hasMeasures ? [allMeasures(catalogue, m),
        el("p", { class: "muted small" }, `Processing profile ${doc.profile || "–"}, ${doc.fs_hz || "–"} Hz, ${doc.samples || "–"} samples, analysis ${doc.version || "–"}.`)] : []));
      $("judgement-box").replaceChildren(...(trial.status === "complete" ? [judgement(trial)] : []),
        ...(trial.status !== "recording" ? [notesForm(trial)] : []));
      if (notMeasured) { $("plots").replaceChildren(); return; } // no recording: no empty "no data" plots

      if (WalkResults.isWalkTrial(doc)) { // a walk: its measures and steps (walk_results.js), no centre of pressure
        WalkResults.trialPage(trialId, doc, $("plots"), $("measures"), catalogue && catalogue.walk_spans);
        $("measures").append(...[cutoffsBlock(trial)].filter(Boolean));
        return;
      }
      if (walkTrial) { // an invalid walk: no measures, but the steps found (e.g. up to where the patient stopped)
        const figure = el("figure", {});
        $("plots").replaceChildren(figure);
        WalkResults.stepsFigure(trialId, figure, {});
        return;
      }
      const frames = await api("GET", `/api/trials/${trialId}/frames?fields=time_s,ap_cm,ml_cm,fz_n&max_points=3000`);
      const c = frames.columns;
      const start = outcome.analysis_start_s ?? 0, end = outcome.analysis_end_s ?? Infinity;
      const ml = [], ap = [];
      for (let i = 0; i < c.time_s.length; i++) {
        if (c.time_s[i] >= start && c.time_s[i] <= end) { ml.push(c.ml_cm[i]); ap.push(c.ap_cm[i]); }
      }
      const figures = [];
      if (hasMeasures && m.ellipse_major_cm) {
        figures.push(el("figure", {}, Charts.statokinesigram(ml, ap, { major_cm: m.ellipse_major_cm, minor_cm: m.ellipse_minor_cm, angle_deg: m.ellipse_angle_deg }),
          el("figcaption", {}, "The analysed part seen from above, with its 95 % prediction ellipse.")));
      }
      figures.push(el("figure", {}, Charts.timeSeries([
        { t: c.time_s, y: c.ap_cm, color: "#1f4e79", label: "AP, front-back (cm)" },
        { t: c.time_s, y: c.ml_cm, color: "#c0392b", label: "ML, side to side (cm)" }], { yLabel: "cm", xLabel: "s", label: "Stabilogram", minSpan: 2 }),
      el("figcaption", {}, "Stabilogram: the centre of pressure against time (whole recording).")));
      figures.push(el("figure", {}, Charts.timeSeries([{ t: c.time_s, y: c.fz_n, color: "#1e7a3c", label: "Total force (N)" }],
        { yLabel: "N", xLabel: "s", label: "Total force", floor: 0 }),
      el("figcaption", {}, "Total vertical force (body weight on the plate).")));
      $("plots").replaceChildren(...figures);
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
