/* The limits-of-stability panel of the live view. While a limits-of-stability test is open
   (outcome "limits_of_stability") it shows, in place of the centre-of-pressure trace, the plate
   from above with the live cursor, the eight targets around the patient's start position (at the
   distances the station gives in the run's status, "los.targets_cm"), the next target named
   during the countdown and highlighted at the go (event "go"), each lean's result as it ends,
   and which directions are done. The station runs and measures the test; this page only draws.
   It follows the stream live.js opens (DOM events "live:status", "live:trial", "live:frames"),
   and gives the height entered for the test to live.js (LosPanel.runSettings). */
"use strict";

(() => {
  const { el, fmt } = Station;
  const page = document.getElementById("live-page");
  const $ = (id) => document.getElementById(id);
  const TRAIL_S = 1.0;
  const CENTRE_S = 0.5; // the start position before the go: the mean of the last half second
  const ORDER = ["f", "fr", "r", "br", "b", "bl", "l", "fl"];
  const WORDS = { f: "forward", fr: "forward-right", r: "right", br: "backward-right", b: "backward",
    bl: "backward-left", l: "left", fl: "forward-left" };
  const SHORT = { f: "F", fr: "FR", r: "R", br: "BR", b: "B", bl: "BL", l: "L", fl: "FL" };

  const s = {
    run: null, los: null, trialState: null, direction: null, last: null, go: null, results: {},
    trail: [], cop: null, rate: 100, lastSeq: -1, lastFrameAt: 0, dirty: true, wasStale: null,
  };
  const canvas = new TargetCanvas($("los-canvas"), {
    width_cm: Number(page.dataset.plateWidthCm) || 40, depth_cm: Number(page.dataset.plateDepthCm) || 40 });

  /* -- is the open run a limits-of-stability test? ----------------------------------------------- */
  function setMode(run) {
    const los = run && run.outcome === "limits_of_stability" && run.los ? run.los : null;
    const was = s.run && s.run.session_id;
    s.run = los ? run : null;
    page.dataset.los = los ? "on" : "off";
    $("los-card").hidden = !los;
    if (!los) return;
    if (was !== run.session_id) { s.results = {}; s.go = null; s.trail = []; s.last = null; }
    s.los = los;
    for (const r of run.done || []) remember(r);
    const trial = run.trial || (run.due && run.due[0]);
    s.direction = trial ? trial.condition : null;
    s.trialState = run.state;
    $("los-source").textContent = `Height ${fmt(los.height_cm, 0)} cm; targets at ` +
      (los.limits_source === "previous" ? "the limits reached in the previous test." : "the theoretical limits (8° forward and sideways, 4.5° back).");
    showPhase();
    showDone();
    s.dirty = true;
  }

  function remember(result) {
    const m = result.metrics;
    if (!m || !m.los) { s.results[result.condition] = { valid: false, words: "invalid — repeat" }; return; }
    const d = m.los.direction, v = m.metrics || {};
    s.results[d] = { valid: result.valid, max: v[`los_max_excursion_pct_${d}`], rt: v[`los_reaction_time_s_${d}`],
      words: result.valid ? "" : (m.los.quality_words || []).join("; ") || "invalid — repeat" };
  }

  /* -- what the station says --------------------------------------------------------------------- */
  function onTrial(e) {
    if (!s.run) return;
    const d = e.data || {};
    if (e.kind === "trial_ready") { s.direction = d.condition; s.go = null; }
    else if (e.kind === "state") {
      s.trialState = d.state;
      if (d.condition) s.direction = d.condition;
      if (d.state === "waiting" || d.state === "instructions") s.go = null;
    } else if (e.kind === "go") { s.go = d; s.direction = d.direction; }
    else if (e.kind === "trial_finished") { remember({ ...d.result, condition: d.condition }); s.last = d.condition; showDone(); }
    showPhase();
    s.dirty = true;
  }

  function showPhase() {
    const d = s.direction, where = d ? WORDS[d] : "";
    const st = s.trialState;
    let words = "", tone = "";
    if (st === "recording" && s.go) { words = `Lean ${where}! As far as you can, and hold.`; tone = "go"; }
    else if (st === "countdown") words = `Stand still in the middle. Next: ${where}, on the long beep.`;
    else if (st === "waiting") words = `Stand still in the middle. Next: ${where}.`;
    else if (st === "done") words = "Back to the middle and rest.";
    else if (s.run && s.run.finished) words = "Test finished.";
    else if (d) words = `Next: ${where}. Press Start when the patient is ready.`;
    $("los-phase").textContent = words;
    $("los-card").dataset.phase = tone || st || "";
    $("los-card").dataset.direction = d || "";
  }

  function showDone() {
    const last = s.last && s.results[s.last];
    const done = ORDER.filter((d) => s.results[d] && s.results[d].valid).length;
    const total = s.run ? s.run.conditions.length : 8;
    $("los-progress").textContent = `${done} of ${total} directions done`;
    const items = (s.run ? s.run.conditions.map((c) => c.id) : ORDER).map((d) => {
      const r = s.results[d];
      const text = !r ? "–" : r.valid ? `${fmt(r.max, 0)} %` : "repeat";
      return el("li", { class: !r ? "" : r.valid ? "ok" : "bad", title: r && r.words ? r.words : WORDS[d] },
        el("strong", {}, SHORT[d]), " ", text);
    });
    $("los-done").replaceChildren(...items);
    $("los-last").textContent = !last ? "" : last.valid
      ? `Last lean (${WORDS[s.last]}): maximum excursion ${fmt(last.max, 0)} % of the limit, reaction ${fmt(last.rt, 2)} s.`
      : `Last lean (${WORDS[s.last]}): ${last.words}.`;
  }

  /* -- frames: the cursor ------------------------------------------------------------------------ */
  function onFrames(doc) {
    if (!s.run) return;
    if (doc.rate_hz) s.rate = doc.rate_hz;
    for (const fr of doc.frames) {
      if (fr.seq <= s.lastSeq) continue;
      if (s.lastSeq >= 0 && fr.seq > s.lastSeq + 1) s.trail.push(null);
      s.lastSeq = fr.seq;
      s.cop = fr.ap_cm === null || fr.ml_cm === null ? null : { ap_cm: fr.ap_cm, ml_cm: fr.ml_cm };
      s.trail.push(s.cop);
    }
    const keep = Math.round(TRAIL_S * s.rate);
    if (s.trail.length > keep) s.trail.splice(0, s.trail.length - keep);
    if (doc.frames.length) s.lastFrameAt = performance.now();
    s.dirty = true;
  }

  function centre() {
    if (s.go && s.go.centre_cm) return s.go.centre_cm;
    const recent = s.trail.slice(-Math.round(CENTRE_S * s.rate)).filter((p) => p);
    if (!recent.length) return { ap_cm: 0, ml_cm: 0 };
    return { ap_cm: recent.reduce((a, p) => a + p.ap_cm, 0) / recent.length,
      ml_cm: recent.reduce((a, p) => a + p.ml_cm, 0) / recent.length };
  }

  /* -- drawing ------------------------------------------------------------------------------------ */
  function scene() {
    const o = centre(), los = s.los;
    const dist = (d) => los.targets_cm[d];
    const vec = (d) => los.directions[d];
    const ids = s.run.conditions.map((c) => c.id);
    const targets = ORDER.filter((d) => ids.includes(d)).map((d) => {
      const r = s.results[d];
      let state = r ? (r.valid ? "reached" : "missed") : "idle";
      if (d === s.direction && s.trialState !== "done") state = s.go && s.trialState === "recording" ? "current" : "idle";
      return { id: d, ap_cm: o.ap_cm + dist(d) * vec(d).ap, ml_cm: o.ml_cm + dist(d) * vec(d).ml, radius_cm: 1.5,
        label: SHORT[d], state };
    });
    const outline = ORDER.map((d) => ({ ap_cm: o.ap_cm + dist(d) * vec(d).ap, ml_cm: o.ml_cm + dist(d) * vec(d).ml }));
    const view = Math.max(...ORDER.map(dist)) + 4;
    return { centre: o, targets, outline, view_cm: view };
  }

  function render() {
    const stale = performance.now() - s.lastFrameAt > 1000;
    if (s.run && s.los && (s.dirty || stale !== s.wasStale)) {
      s.dirty = false;
      s.wasStale = stale;
      canvas.draw({ ...scene(), cop: s.cop, trail: s.trail, stale }); // the words above say what to do
    }
    requestAnimationFrame(render);
  }

  /* -- the height when opening a test (docs/api.md: POST /api/station/run, los) ------------------- */
  let protocols = [];

  function chosen() {
    const p = protocols.find((x) => x.name === $("protocol-select").value);
    return !!(p && p.outcome === "limits_of_stability");
  }

  function renderSettings() {
    $("los-settings").hidden = !chosen();
  }

  /* {los} (null: none entered, or another protocol) or {error} in words. */
  function runSettings() {
    if (!chosen()) return { los: null };
    const raw = $("los-height").value.trim();
    if (raw === "") return { los: null }; // the patient's record gives it (the station says if it does not)
    const v = Number(raw);
    if (!Number.isFinite(v) || v < 50 || v > 250) return { error: "Height: a number of cm from 50 to 250." };
    return { los: { height_cm: v } };
  }

  window.LosPanel = { runSettings };

  Station.api("GET", "/api/protocols").then((doc) => { protocols = doc.protocols || []; renderSettings(); }).catch(() => {});
  $("protocol-select").addEventListener("change", renderSettings);
  page.addEventListener("live:status", (ev) => {
    const doc = ev.detail;
    setMode(doc && doc.available !== false ? doc.run : null);
  });
  page.addEventListener("live:trial", (ev) => onTrial(ev.detail));
  page.addEventListener("live:frames", (ev) => onFrames(ev.detail));
  requestAnimationFrame(render);
})();
