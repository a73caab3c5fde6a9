/* The training-game panel of the live view. While a training game is open (outcome "training")
   it shows, in place of the centre-of-pressure trace, the plate from above with the live cursor
   (the centre of pressure, every frame), the game's target(s) as the station reports them
   (docs/api.md: events game_ready, game, game_over), the score so far with its definition, and
   at the end the per-target results. The station runs and scores the game; this page only draws.
   It follows the stream live.js opens (DOM events "live:status", "live:trial", "live:frames"). */
"use strict";

(() => {
  const { el, fmt } = Station;
  const page = document.getElementById("live-page");
  const $ = (id) => document.getElementById(id);
  const TRAIL_S = 1.0;
  const TITLES = { reach: "Reach and hold", track: "Track the moving target", shift: "Weight shift and hold",
    steady: "Steady inside the shrinking circle" };
  const DIRECTIONS = { f: "forward", fr: "forward-right", r: "right", br: "back-right", b: "back", bl: "back-left",
    l: "left", fl: "forward-left" };

  const g = {
    run: null,
    schedule: null,
    state: null, // the last "game" event's data
    result: null,
    stored: null,
    trail: [],
    cop: null,
    rate: 100,
    lastSeq: -1,
    lastFrameAt: 0,
    dirty: true,
  };
  const canvas = new TargetCanvas($("game-canvas"), {
    width_cm: Number(page.dataset.plateWidthCm) || 40, depth_cm: Number(page.dataset.plateDepthCm) || 40 });

  /* -- is the open run a game? ------------------------------------------------------------------ */
  function setMode(run) {
    const training = run && run.outcome === "training" && run.training ? run.training : null;
    const was = g.run && g.run.session_id;
    g.run = training ? run : null;
    page.dataset.game = training ? "on" : "off";
    $("game-card").hidden = !training;
    if (!training) return;
    if (was !== run.session_id) { g.state = null; g.result = null; g.stored = null; g.trail = []; }
    g.schedule = training.schedule;
    if (training.state && !g.state) g.state = training.state;
    if (training.result) g.result = training.result;
    if (training.stored) g.stored = training.stored;
    const s = g.schedule;
    $("game-title").textContent = training.title || TITLES[s.game];
    $("game-level-words").textContent = levelWords(s);
    $("game-definition").textContent = "Score: " + training.score_definition;
    showScore();
    showResult();
    g.dirty = true;
  }

  function levelWords(s) {
    const source = { los: "the patient's last limits-of-stability test", height: "the theoretical limits from the height",
      clinician: "the clinician's range" }[s.reach_source] || s.reach_source;
    const minutes = fmt(s.session_s / 60, 1);
    if (s.game === "reach") return `Level ${s.level}: ${s.targets.length} targets at ${s.distance_pct} % of ${source}, hold ${fmt(s.hold_s, 1)} s; ${minutes} min at most.`;
    if (s.game === "track") return `Level ${s.level}: a figure of eight at ${s.distance_pct} % of ${source}, one every ${fmt(s.period_s, 0)} s; ${minutes} min.`;
    if (s.game === "shift") return `Level ${s.level}: ${fmt(s.band_pct - s.band_half_width_pct, 1)}–${fmt(s.band_pct + s.band_half_width_pct, 1)} % of the weight on the ${s.paretic_side} side for ${fmt(s.hold_s, 0)} s, ${s.targets.length} times; ${minutes} min.`;
    return `Level ${s.level}: the circle shrinks from ${fmt(s.radius_start_cm, 1)} to ${fmt(s.radius_end_cm, 1)} cm over ${minutes} min.`;
  }

  /* -- what the station says ---------------------------------------------------------------------- */
  function onTrial(e) {
    if (!g.run) return;
    const d = e.data || {};
    if (e.kind === "game_ready") { g.schedule = d.schedule; g.state = null; g.result = null; g.stored = null; }
    else if (e.kind === "game") { g.state = d; g.stateAt = performance.now(); showScore(); }
    else if (e.kind === "game_over") { g.result = d.result; showScore(); showResult(); }
    else if (e.kind === "state" && d.state === "recording") { g.result = null; g.trail = []; showResult(); }
    g.dirty = true;
  }

  function showScore() {
    const st = g.state, card = $("game-card");
    const score = g.result ? g.result.score : st ? st.score : null;
    $("game-score").textContent = score === null || score === undefined ? "–" : fmt(score, 0);
    card.dataset.score = score === null || score === undefined ? "" : String(score);
    card.dataset.phase = g.result ? "over" : st ? st.phase : "";
    const t = st && st.target;
    card.dataset.reached = t && t.reached ? "yes" : "no";
    card.dataset.inside = t && t.inside ? "yes" : "no";
    let progress = "";
    if (st && (st.game === "reach" || st.game === "shift")) progress = `${st.targets_done} of ${st.targets_total} done · ${st.hits} held`;
    else if (st) progress = `${fmt(st.time_s, 0)} of ${fmt(st.session_s, 0)} s`;
    $("game-progress").textContent = progress;
    $("game-phase").textContent = phaseWords(st);
  }

  function phaseWords(st) {
    if (g.result) return "Game over.";
    if (!st) return "The game starts after the countdown: stand still for a moment first.";
    const t = st.target;
    if (st.phase === "baseline") return "Stand still: finding the centre…";
    if (st.phase === "rest") return "Back to the centre and rest.";
    if (st.phase === "over") return "Game over.";
    if (st.game === "reach") {
      const where = t ? DIRECTIONS[t.direction] || t.direction : "";
      if (t && t.reached && t.inside) return `Hold! ${fmt(t.held_s, 1)} of ${fmt(t.hold_s, 1)} s`;
      return t && t.reached ? `Back into the target ${where}` : `Lean ${where} to the target`;
    }
    if (st.game === "shift") {
      return t && t.reached && t.inside ? `Hold the weight there: ${fmt(t.held_s, 1)} of ${fmt(t.hold_s, 0)} s`
        : `Shift the weight to the ${t ? t.paretic_side : ""} side`;
    }
    if (st.game === "track") return "Follow the moving target";
    return t ? `Stay inside the circle (${fmt(t.radius_cm, 1)} cm)` : "Stay inside the circle";
  }

  function showResult() {
    const box = $("game-result");
    const r = g.result;
    box.replaceChildren();
    box.hidden = !r;
    if (!r) return;
    box.append(el("p", { class: "final" }, `Final score ${r.score === null ? "–" : fmt(r.score, 0)} of 100.`));
    const words = [];
    if (r.game === "track") words.push(`Inside the target ${fmt(r.inside_pct, 0)} % of the time; mean distance ${fmt(r.mean_distance_cm, 1)} cm (RMS ${fmt(r.rms_distance_cm, 1)} cm).`);
    if (r.game === "steady") words.push(`Inside the circle ${fmt(r.inside_pct, 0)} % of the time; smallest circle held ${r.smallest_radius_held_cm === null ? "none" : fmt(r.smallest_radius_held_cm, 1) + " cm"}.`);
    if (r.game === "shift" && r.in_band_pct !== null) words.push(`Weight in the band ${fmt(r.in_band_pct, 0)} % of the shift time.`);
    if (r.targets) words.push(`${r.hits} of ${r.targets_shown} held.`);
    const stored = g.stored || (g.run && g.run.training && g.run.training.stored);
    if (stored && stored.dose && stored.dose.programme_session_id) words.push(`Counted as a programme session (${fmt(stored.dose.minutes, 1)} min so far today).`);
    if (stored && stored.error) words.push(stored.error);
    if (words.length) box.append(el("p", {}, words.join(" ")));
    if (r.targets && r.targets.length) box.append(GameResults.targetTable(r));
  }

  /* -- frames: the cursor ---------------------------------------------------------------------------- */
  function onFrames(doc) {
    if (!g.run) return;
    if (doc.rate_hz) g.rate = doc.rate_hz;
    for (const fr of doc.frames) {
      if (fr.seq <= g.lastSeq) continue;
      if (g.lastSeq >= 0 && fr.seq > g.lastSeq + 1) g.trail.push(null);
      g.lastSeq = fr.seq;
      g.cop = fr.ap_cm === null || fr.ml_cm === null ? null : { ap_cm: fr.ap_cm, ml_cm: fr.ml_cm };
      g.trail.push(g.cop);
    }
    const keep = Math.round(TRAIL_S * g.rate);
    if (g.trail.length > keep) g.trail.splice(0, g.trail.length - keep);
    if (doc.frames.length) g.lastFrameAt = performance.now();
    g.dirty = true;
  }

  /* -- drawing ------------------------------------------------------------------------------------- */
  function scene() {
    const s = g.schedule, st = g.state;
    const centre = st ? { ap_cm: st.centre[0], ml_cm: st.centre[1] } : { ap_cm: 0, ml_cm: 0 };
    const targets = [];
    let outline = null;
    let view = 16;
    const t = st && !g.result ? st.target : null; // the game over: no target left to reach
    if (s.game === "reach") {
      const far = Math.max(...s.targets.map((x) => Math.hypot(x.ap_cm, x.ml_cm) + (x.radius_cm || s.radius_cm)));
      view = far + 3;
      const seen = new Set();
      for (const x of s.targets) { // the eight directions, faint, for orientation
        if (seen.has(x.direction)) continue;
        seen.add(x.direction);
        targets.push({ id: x.direction, ap_cm: centre.ap_cm + x.ap_cm, ml_cm: centre.ml_cm + x.ml_cm,
          radius_cm: x.radius_cm || s.radius_cm, state: "done" });
      }
      if (t && st.phase === "target") {
        targets.push({ id: t.index, ap_cm: t.ap_cm, ml_cm: t.ml_cm, radius_cm: t.radius_cm,
          state: t.reached ? "reached" : "current", label: t.reached ? fmt(Math.max(0, t.hold_s - t.held_s), 1) : "" });
      }
    } else if (s.game === "track") {
      view = Math.max(s.reach_cm.f, s.reach_cm.l, s.reach_cm.r) * s.distance_pct / 100 + s.radius_cm + 3;
      if (t) {
        // between the station's states (10 a second) the target moves on its known path, so it glides
        const p = trackPosition(s, st.time_s + Math.min(0.5, (performance.now() - (g.stateAt || 0)) / 1000));
        targets.push({ id: "track", ap_cm: centre.ap_cm + p.ap_cm, ml_cm: centre.ml_cm + p.ml_cm, radius_cm: t.radius_cm,
          state: "current" });
        g.dirty = true;
      }
    } else if (s.game === "shift") {
      view = s.plate_width_cm / 2 + 2;
      const band = st && st.target && st.target.band_ml_cm; // the band stays drawn after the game
      if (band) {
        const [lo, hi] = band, d = (Number(page.dataset.plateDepthCm) || 40) / 2;
        outline = [{ ap_cm: -d, ml_cm: lo }, { ap_cm: d, ml_cm: lo }, { ap_cm: d, ml_cm: hi }, { ap_cm: -d, ml_cm: hi }];
        if (t && st.phase === "target") {
          targets.push({ id: t.index, ap_cm: centre.ap_cm, ml_cm: (lo + hi) / 2, radius_cm: Math.max(0.5, (hi - lo) / 2),
            state: t.reached ? "reached" : "current" });
        }
      }
      return { centre: { ap_cm: centre.ap_cm, ml_cm: 0 }, targets, outline, view_cm: view };
    } else {
      view = s.radius_start_cm + 3;
      if (t) targets.push({ id: "circle", ap_cm: t.ap_cm, ml_cm: t.ml_cm, radius_cm: t.radius_cm, state: "current" });
    }
    return { centre, targets, outline, view_cm: view };
  }

  /* The moving target's centre at t_s s into the game, cm from the centre: the figure of eight of
     station/analysis/biofeedback.py (Schedule.track_position). */
  function trackPosition(s, t_s) {
    const tau = Math.max(0, t_s - s.baseline_s);
    const a = (2 * Math.PI / s.period_s) * tau + s.phase_rad;
    const sMl = Math.sin(a), sAp = Math.sin(2 * a);
    const ml = s.reach_cm[sMl >= 0 ? "r" : "l"] * s.distance_pct / 100;
    const ap = s.reach_cm[sAp >= 0 ? "f" : "b"] * s.distance_pct / 100;
    return { ap_cm: ap * sAp, ml_cm: ml * sMl };
  }

  function render() {
    const stale = performance.now() - g.lastFrameAt > 1000;
    if (g.run && g.schedule && (g.dirty || stale !== g.wasStale)) {
      g.dirty = false;
      g.wasStale = stale;
      const sc = scene();
      const message = g.result ? `Score ${g.result.score === null ? "–" : fmt(g.result.score, 0)}` : "";
      canvas.draw({ ...sc, cop: g.cop, trail: g.trail, stale, message });
    }
    requestAnimationFrame(render);
  }

  /* -- the game's choice when opening a test (docs/api.md: POST /api/station/run, training) ---------- */
  let protocols = [];

  function chosenTraining() {
    const p = protocols.find((x) => x.name === $("protocol-select").value);
    return !!(p && p.outcome === "training");
  }

  function renderSettings() {
    $("game-settings").hidden = !chosenTraining();
    $("game-side-box").hidden = $("game-select").value !== "shift";
  }

  function numberField(id, label, lo, hi) {
    const raw = $(id).value.trim();
    if (raw === "") return { value: null };
    const v = Number(raw);
    if (!Number.isFinite(v) || v < lo || v > hi) return { error: `${label}: a number from ${lo} to ${hi}` };
    return { value: v };
  }

  /* The ``training`` settings of POST /api/station/run: {training} (null for other protocols) or
     {error} in words. */
  function runSettings() {
    if (!chosenTraining()) return { training: null };
    const out = { game: $("game-select").value, level: Number($("game-level").value) };
    const minutes = numberField("game-minutes", "Session (min)", 0.5, 10);
    const rest = numberField("game-rest", "Rest (s)", 0, 30);
    const range = numberField("game-range", "Range (cm)", 1, 40);
    const bad = minutes.error || rest.error || range.error;
    if (bad) return { error: bad };
    if (minutes.value !== null) out.session_s = Math.round(minutes.value * 60);
    if (rest.value !== null) out.rest_s = rest.value;
    if (range.value !== null) out.range_cm = range.value;
    if (out.game === "shift") {
      if (!$("game-side").value) return { error: "Choose the paretic side: the side the weight is shifted to." };
      out.paretic_side = $("game-side").value;
    }
    return { training: out };
  }

  window.GamePanel = { runSettings };

  Station.api("GET", "/api/protocols").then((doc) => { protocols = doc.protocols || []; renderSettings(); }).catch(() => {});
  $("protocol-select").addEventListener("change", renderSettings);
  $("game-select").addEventListener("change", renderSettings);
  page.addEventListener("live:status", (ev) => {
    const doc = ev.detail;
    setMode(doc && doc.available !== false ? doc.run : null);
  });
  page.addEventListener("live:trial", (ev) => onTrial(ev.detail));
  page.addEventListener("live:frames", (ev) => onFrames(ev.detail));
  requestAnimationFrame(render);
})();
