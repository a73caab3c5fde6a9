/* The walk panel of the live view: while a walk protocol is open (walk tests on light gates, a
   treadmill session), it shows in place of the centre-of-pressure trace the gates (armed, beam
   broken, crossed, with their times), a live timer, the live cadence on the treadmill, the lower
   back's acceleration with the steps marked, and the trial's result. It follows the live stream
   that live.js opens (DOM events "live:status", "live:trial", "live:frames", "live:gait" on the
   page element), so the page keeps one stream. */
"use strict";

(() => {
  const { el, fmt } = Station;
  const page = document.getElementById("live-page");
  const $ = (id) => document.getElementById(id);
  const STRIP_S = 8;

  const w = {
    run: null,
    walk: null, // the run's walk description (gates, walkway, timing), null for stance tests
    gates: [], // [{index, label, position_m, role, state, at_s}]
    timer: { state: "idle", startNs: null, finalS: null },
    serverNs: null, // the station's clock at the last frames event ...
    serverAt: 0, // ... and when it arrived here (performance.now(), ms)
    acc: { t: [], a: [] }, // acceleration magnitude, s on the station clock
    contacts: [], // steps (initial contacts), s on the station clock
    lastSeq: -1,
    dirty: true,
  };
  const strip = new WalkCharts.LiveStrip($("walk-acc"), STRIP_S);

  /* -- is the open run a walk? -------------------------------------------------------------- */
  function walkOf(run) {
    if (!run) return null;
    if (run.walk) return run.walk;
    return null;
  }

  function setMode(run) {
    w.run = run;
    const walk = walkOf(run);
    const changed = (walk === null) !== (w.walk === null) || (walk && w.walk && walk.protocol !== w.walk.protocol);
    w.walk = walk;
    page.dataset.mode = walk ? "walk" : "stance";
    $("walk-card").hidden = !walk;
    if (!walk) return;
    if (changed) resetGates();
    $("walk-cadence-box").hidden = walk.kind !== "treadmill";
    $("walkway-box").hidden = walk.kind === "treadmill";
    $("gate-list").hidden = walk.kind === "treadmill";
    if (walk.kind === "treadmill") {
      $("walk-timer-label").textContent = "Walking time";
      $("walk-planned").textContent = walk.planned_min ? ` of ${walk.planned_min} planned` : "";
    } else {
      $("walk-timer-label").textContent = walk.timing_words || "Time";
    }
    if (run.state === "instructions" || run.state === null) {
      if (w.timer.state !== "stopped") setTimer("idle");
    }
    updateGates(walk.gates || []);
    w.dirty = true;
  }

  /* -- gates --------------------------------------------------------------------------------- */
  function resetGates() {
    w.gates = [];
    setTimer("idle");
    $("walk-result").hidden = true;
    $("walk-result").replaceChildren();
  }

  const GATE_WORDS = { idle: "not armed", armed: "armed", blocked: "beam broken", crossed: "crossed" };

  function gateWords(g) {
    if (g.state === "crossed" && g.at_s !== null && g.at_s !== undefined) return `crossed at ${fmt(g.at_s, 2)} s`;
    return GATE_WORDS[g.state] || g.state;
  }

  /* gates: the service's view [{index, position_m, role, armed, blocked, crossed_at_s}] */
  function updateGates(gates) {
    w.gates = gates.map((g, i) => {
      const state = g.crossed_at_s !== null && g.crossed_at_s !== undefined ? "crossed"
        : g.blocked ? "blocked" : g.armed ? "armed" : "idle";
      return { index: g.index ?? i, label: `${fmt(g.position_m, 1)} m`, position_m: g.position_m, role: g.role || "",
        state, at_s: g.crossed_at_s ?? null };
    });
    renderGates();
  }

  function renderGates() {
    const walk = w.walk;
    if (!walk || walk.kind === "treadmill") return;
    const gates = w.gates.map((g) => ({ ...g, words: gateWords(g), id: g.index }));
    $("walkway-box").replaceChildren(WalkCharts.walkway(gates, walk.walkway_m, { backward: walk.direction === "backward" }));
    $("gate-list").replaceChildren(...w.gates.map((g) => el("li", { dataset: { gate: g.index, state: g.state } },
      el("strong", {}, g.label), g.role ? el("span", { class: "muted" }, g.role) : null, el("span", { class: "gate-state" }, gateWords(g)))));
  }

  /* -- timer --------------------------------------------------------------------------------- */
  function serverNowNs() {
    if (w.serverNs === null) return null;
    return w.serverNs + (performance.now() - w.serverAt) * 1e6;
  }

  function setTimer(state, startNs, finalS) {
    w.timer = { state, startNs: startNs ?? null, finalS: finalS ?? null };
    $("walk-card").dataset.timer = state;
    if (state === "idle") $("walk-timer").textContent = "0.00";
    if (state === "stopped" && finalS !== null && finalS !== undefined) $("walk-timer").textContent = fmt(finalS, 2);
  }

  function tickTimer() {
    if (w.timer.state !== "running") return;
    const now = serverNowNs();
    if (now === null || w.timer.startNs === null) return;
    $("walk-timer").textContent = fmt(Math.max(0, (now - w.timer.startNs) / 1e9), w.walk && w.walk.kind === "treadmill" ? 0 : 1);
  }

  /* -- the stream ---------------------------------------------------------------------------- */
  function onFrames(doc) {
    const frames = doc.frames || [];
    if (frames.length) {
      w.serverNs = frames[frames.length - 1].t_ns;
      w.serverAt = performance.now();
    }
    if (!w.walk) return;
    for (const fr of frames) {
      if (fr.seq <= w.lastSeq) continue;
      if (w.lastSeq >= 0 && fr.seq > w.lastSeq + 1) { w.acc.t.push(fr.t_ns / 1e9); w.acc.a.push(null); }
      w.lastSeq = fr.seq;
      w.acc.t.push(fr.t_ns / 1e9);
      w.acc.a.push(fr.acc_m_s2 === undefined ? null : fr.acc_m_s2);
    }
    const keepFrom = (w.serverNs || 0) / 1e9 - STRIP_S - 1;
    let cut = 0;
    while (cut < w.acc.t.length && w.acc.t[cut] < keepFrom) cut++;
    if (cut) { w.acc.t.splice(0, cut); w.acc.a.splice(0, cut); }
    while (w.contacts.length && w.contacts[0] < keepFrom) w.contacts.shift();
    w.dirty = true;
  }

  function onGait(doc) {
    if (!w.walk) return;
    for (const ns of doc.contacts_t_ns || []) {
      const s = ns / 1e9;
      if (!w.contacts.length || s > w.contacts[w.contacts.length - 1] + 1e-3) w.contacts.push(s);
    }
    if (w.walk.kind === "treadmill") showCadence(doc);
    w.dirty = true;
  }

  function showCadence(d) {
    if (d.cadence_steps_min !== undefined) $("walk-cadence").textContent = d.cadence_steps_min === null ? "–" : fmt(d.cadence_steps_min, 0);
    if (d.steps !== undefined) $("walk-steps").textContent = d.steps === null ? "–" : d.steps;
    if (d.walking_min !== undefined) $("walk-minutes").textContent = d.walking_min === null ? "–" : fmt(d.walking_min, 1);
  }

  const PHASE_WORDS = {
    instructions: "Read the instructions, then start",
    waiting: "Waiting: the person takes the start position",
    countdown: "Get ready",
    recording: "Walking",
    checking: "Checking",
    done: "Trial finished",
    aborted: "Not started",
  };

  function onTrial(e) {
    if (!w.walk) return;
    const d = e.data || {};
    switch (e.kind) {
      case "state":
        $("walk-phase").textContent = PHASE_WORDS[d.state] || d.state;
        if (d.state === "waiting" || d.state === "instructions") {
          if (d.state === "waiting") { $("walk-result").hidden = true; setTimer("idle"); }
        }
        if (d.state === "recording" && w.walk.timer_from === "go") setTimer("running", e.t_ns);
        if (d.state === "recording" && w.walk.kind === "treadmill") setTimer("running", e.t_ns);
        if (d.state === "aborted" || d.state === "checking") {
          if (w.timer.state === "running") setTimer("stopped", null, null);
        }
        break;
      case "gates":
        updateGates(d.gates || []);
        break;
      case "gate": {
        const g = w.gates.find((x) => x.index === d.index);
        if (g) { g.state = "crossed"; g.at_s = d.at_s; renderGates(); }
        if (d.role === "start" || d.timer === "started") setTimer("running", e.t_ns - Math.round(((d.delay_s) || 0) * 1e9));
        if (d.role === "stop" || d.timer === "stopped") setTimer("stopped", null, d.walk_time_s ?? null);
        break;
      }
      case "progress":
        if (w.walk.kind === "treadmill") showCadence(d);
        break;
      case "trial_finished":
        showResult(d.result || {});
        break;
      default:
        break;
    }
  }

  /* -- the result of a walk trial -------------------------------------------------------------- */
  const RESULT_ROWS = [
    ["walk_time_s", "Time", "s", 2],
    ["walk_speed_m_s", "Speed", "m/s", 2],
    ["walk_distance_m", "Distance", "m", 1],
    ["cadence_steps_min", "Cadence", "steps/min", 0],
    ["steps", "Steps", "", 0],
    ["step_time_cv_pct", "Step-time variability (CV)", "%", 1],
    ["stride_time_cv_pct", "Stride-time variability (CV)", "%", 1],
    ["step_symmetry", "Step symmetry", "", 2],
    ["walking_min", "Minutes walking", "min", 1],
  ];

  function resultValues(r) {
    const m = (r.metrics && r.metrics.metrics) || {};
    return { ...m, ...(r.walk || {}), ...(r.gait || {}) };
  }

  function showResult(r) {
    const values = resultValues(r);
    const box = $("walk-result");
    const rows = RESULT_ROWS.filter(([k]) => values[k] !== undefined && values[k] !== null)
      .map(([k, label, unit, digits]) => el("tr", { dataset: { metric: k } }, el("th", {}, label),
        el("td", { class: "value num" }, `${fmt(values[k], digits)}${unit ? " " + unit : ""}`)));
    if (values.walk_time_s !== undefined && values.walk_time_s !== null) setTimer("stopped", null, values.walk_time_s);
    else if (w.timer.state === "running") setTimer("stopped");
    box.replaceChildren(
      r.valid === false ? el("p", { class: "error-box" }, "Invalid trial: " + (r.issues || []).map((i) => i.message).join(" ")) : null,
      rows.length ? el("table", { class: "list measures", id: "walk-result-table" }, el("tbody", {}, rows)) : null,
      rows.length ? el("p", { class: "muted small" }, "Against norms and the minimal detectable change: see the results.") : null);
    box.hidden = !box.children.length;
  }

  /* -- drawing ------------------------------------------------------------------------------- */
  function render() {
    if (w.walk) {
      tickTimer();
      if (w.dirty) {
        w.dirty = false;
        const now = w.acc.t.length ? w.acc.t[w.acc.t.length - 1] : 0;
        strip.draw(w.acc.t, w.acc.a, w.contacts, now);
      }
    }
    requestAnimationFrame(render);
  }

  page.addEventListener("live:status", (ev) => {
    const doc = ev.detail;
    setMode(doc && doc.available !== false ? doc.run : null);
  });
  page.addEventListener("live:trial", (ev) => onTrial(ev.detail));
  page.addEventListener("live:frames", (ev) => onFrames(ev.detail));
  page.addEventListener("live:gait", (ev) => onGait(ev.detail));
  requestAnimationFrame(render);
})();
