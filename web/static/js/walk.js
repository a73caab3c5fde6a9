/* The walk panel of the live view: while a walk protocol is open (walk tests on light gates, a
   treadmill session), it shows in place of the centre-of-pressure trace the gates (armed, beam
   broken, crossed, with their times), a live timer, the live cadence on the treadmill, the lower
   back's acceleration with the steps marked, and the trial's result. It follows the live stream
   that live.js opens (DOM events "live:status", "live:trial", "live:frames", "live:gait" and "live:notice" on
   the page element), so the page keeps one stream. */
"use strict";

(() => {
  const { el, unitsKept, fmt, num, quantity, beltSpeedFromKmh } = Station;
  const page = document.getElementById("live-page");
  const $ = (id) => document.getElementById(id);
  const STRIP_S = 8;

  const w = {
    run: null,
    walk: null, // the run's walk description (gates, walkway, timing), null for stance tests
    gates: [], // [{index, label, position_m, role, state, at_s}]
    crossed: {}, // position_m -> s after the go
    goNs: null, // the go beep, station clock
    falseStart: null, // the last false start's words, said until the next attempt's countdown
    timer: { state: "idle", startNs: null, finalS: null },
    timerBase: "Time", // the timer's label ("Time from 2 m to 8 m")
    phase: null, // the trial's state (null: none due)
    noData: false, // the timer is running but no data comes: false, "page" (its connection lost), "waiting" (connected, the
    // station not heard yet) or "station"; said under it
    cadence: { cadence_steps_min: null, steps: null, window_s: null, walking_min: null, why: "" }, // the station's newest
    endWords: null, // a treadmill session ended before its planned minutes: when, said under the timer
    serverNs: null, // the station's clock (t_ns) of the newest frame received ...
    serverAt: 0, // ... and when it arrived here (performance.now(), ms)
    periodNs: 10e6, // the frames' period (from the stream's rate_hz), ns
    acc: { t: [], a: [] }, // acceleration magnitude, s on the station clock
    contacts: [], // steps (initial contacts), s on the station clock
    lastSeq: -1,
    dirty: true,
  };
  const strip = new WalkCharts.LiveStrip($("walk-acc"), STRIP_S);

  /* -- is the open run a walk? (docs/api.md: outcome "walk", run.walk, run.gates) -------------- */
  function walkOf(run) {
    if (!run || run.outcome !== "walk" || !run.walk) return null;
    return run.walk;
  }

  function treadmill() { return !!(w.walk && w.walk.setting === "treadmill"); }

  /* The gate the timer starts at (null: the go beep) and the one it stops at, m. */
  function timedFrom() { return w.walk && w.walk.start === "flying" ? w.walk.timed_from_m : null; }
  function timedTo() { return w.walk ? w.walk.timed_to_m : null; }

  function setMode(run) {
    const walk = walkOf(run);
    const wasWalk = !!w.walk;
    const changed = !!walk !== wasWalk || (walk && w.run && run.session_id !== w.run.session_id);
    w.run = run;
    w.walk = walk;
    page.dataset.mode = walk ? "walk" : "stance";
    $("walk-card").hidden = !walk;
    if (!walk) return;
    if (changed) resetTrial();
    const tm = treadmill();
    $("walk-timer-unit").textContent = tm ? " min:s" : " s";
    $("walk-cadence-box").hidden = !tm;
    $("walk-progress-box").hidden = !tm;
    $("walkway-box").hidden = tm;
    $("gate-list").hidden = tm;
    const settings = run.walk_settings || {};
    w.phase = run.state || null;
    if (tm) {
      w.timerBase = "Time on the treadmill";
      $("walk-planned").replaceChildren(...unitsKept(settings.planned_min ? ` · ${settings.planned_min} min planned` : ""));
    } else {
      w.timerBase = walk.start === "flying"
        ? `Time from ${walk.timed_from_m} m to ${walk.timed_to_m} m` : `Time from the go beep to ${walk.timed_to_m} m`;
    }
    showTimerLabel();
    if (run.gates) updateGates(run.gates);
    else if (!tm) showNoGates();
    if (changed) {
      // a test opened after another ended: its own state's words, none of the last test's ("Test finished")
      $("walk-phase").textContent = PHASE_WORDS[run.state] || "";
      restoreResult(run);
      requestAnimationFrame(timerIntoView); // opened (or the page reloaded): the timer and Stop on the screen
    }
    if (!run.state) $("walk-phase").textContent = run.finished ? w.endWords || "Test finished" : "";
    else if (run.state === "done" && run.finished) $("walk-phase").textContent = w.endWords || "Test finished";
    w.dirty = true;
  }

  /* A page opened (or reloaded) after a trial ended shows what the page that saw it end showed: the
     run's status holds every trial's result (run.done), so the last one's timer, its ended-early
     words and the result are those of the run itself, not of the events this page happened to see. */
  function restoreResult(run) {
    const last = run.done && run.done.length ? run.done[run.done.length - 1] : null;
    if (!last || !last.walk || ["waiting", "countdown", "recording", "checking"].includes(run.state)) return;
    showResult(last);
  }

  /* -- gates --------------------------------------------------------------------------------- */
  function resetTrial() {
    w.crossed = {};
    w.falseStart = null;
    w.endWords = null;
    w.goNs = null;
    setTimer("idle");
    $("walk-progress").style.width = "0";
    $("walk-result").hidden = true;
    $("walk-result").replaceChildren();
    showNotice("");
    showCadence({ cadence_steps_min: null, steps: null, window_s: null, walking_min: null });
  }

  /* What the station says while the trial goes on (a stall, the lower-back sensor gone): in the walk
     panel too, which a phone shows first (the controls' message box is further down there). */
  function showNotice(text) {
    $("walk-notice").textContent = text;
    $("walk-notice").hidden = !text;
  }

  function gateRole(position_m) {
    const near = (a, b) => a !== null && a !== undefined && Math.abs(a - b) < 0.01;
    if (near(timedFrom(), position_m)) return "timer starts";
    if (near(timedTo(), position_m)) return "timer stops";
    return "";
  }

  function gateState(g) {
    if (g.crossed_at_s !== null && g.crossed_at_s !== undefined) return "crossed";
    if (g.broken) return "blocked";
    return g.armed ? "armed" : "idle";
  }

  function gateWords(g) {
    // the gates' times count from the go beep (a flying start's timer from the first gate: its
    // "2.9 s" beside "crossed at 4.19 s" read as two clocks)
    if (g.state === "crossed") return `crossed ${fmt(g.at_s, 2)} s after the go`;
    return { idle: "not armed", armed: "armed, beam clear", blocked: "beam broken" }[g.state] || g.state;
  }

  /* gates: the service's view [{gate, position_m, pin, broken, armed, crossed_at_s}] */
  function isUsed(position_m) {
    return (w.walk && w.walk.gates_m || []).some((m) => Math.abs(m - position_m) < 0.01);
  }

  function updateGates(gates) {
    w.gates = gates.map((g) => {
      let state = gateState(g);
      let at = g.crossed_at_s ?? null;
      if (state === "idle" && w.crossed[g.position_m] !== undefined) { // disarmed after the trial: keep its time
        state = "crossed";
        at = w.crossed[g.position_m];
      }
      return { index: g.gate, position_m: g.position_m, pin: g.pin, role: gateRole(g.position_m), state,
        at_s: at, label: `${fmt(g.position_m, 1)} m`, used: isUsed(g.position_m) };
    });
    renderGates();
  }

  function showNoGates() {
    w.gates = [];
    $("walkway-box").replaceChildren(el("p", { class: "warn-box" },
      "This station has no light gates: the walk cannot be timed. Place the gates and set [[panel.gates]] in the configuration."));
    $("gate-list").replaceChildren();
  }

  function renderGates() {
    if (!w.walk || treadmill()) return;
    const gates = w.gates.map((g) => ({ ...g, words: gateWords(g), id: g.index }));
    $("walkway-box").replaceChildren(WalkCharts.walkway(gates, w.walk.walkway_m, { backward: w.walk.direction === "backward" }));
    const used = w.gates.filter((g) => g.used);
    // the station's other gates on this walkway, said plainly; those beyond its end go unsaid
    const others = w.gates.filter((g) => !g.used && !(w.walk.walkway_m && g.position_m > w.walk.walkway_m + 0.01));
    $("gate-list").replaceChildren(...used.map((g) => el("li", { dataset: { gate: g.index, state: g.state } },
      el("strong", {}, unitsKept(g.label)), g.role ? el("span", { class: "muted" }, g.role) : null,
      el("span", { class: "gate-state" }, unitsKept(gateWords(g))))),
    others.length ? el("li", { class: "other-gates muted" },
      el("span", {}, unitsKept(`Not used in this test: the ${others.length > 1 ? "gates" : "gate"} at ${listWords(others.map((g) => g.label))}`))) : null);
  }

  /* "1.0 m, 2.0 m and 4.0 m" */
  function listWords(items) {
    return items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
  }

  /* -- timer --------------------------------------------------------------------------------- */
  /* The timer's label: between trials (a trial due, or the test over) the time on it is the last
     trial's, and says so (it stood under "Read the instructions, then start" as if it were now). */
  function showTimerLabel() {
    const between = w.phase === null || w.phase === "instructions";
    const last = between && w.timer.state === "stopped";
    const text = last ? `Last trial: ${w.timerBase.charAt(0).toLowerCase()}${w.timerBase.slice(1)}` : w.timerBase;
    if ($("walk-timer-label").textContent !== text) $("walk-timer-label").textContent = text;
  }

  function setTimer(state, startNs, finalS) {
    w.timer = { state, startNs: startNs ?? null, finalS: finalS ?? null };
    $("walk-card").dataset.timer = state;
    showNoData(false);
    if (state === "idle") $("walk-timer").textContent = treadmill() ? "0:00" : "0.00";
    if (state === "stopped" && finalS !== null && finalS !== undefined) $("walk-timer").textContent = timeText(finalS);
    showTimerLabel();
  }

  function timeText(s) {
    return treadmill() ? Station.clockTime(s) : fmt(s, 2);
  }

  /* The running timer on the treadmill ("Time on the treadmill") is the station's time of the newest
     frame received (t_ns, plus its period), never the browser's clock carried on: when the station
     stalls (no frame for a second, the page's values greyed) it holds there, said under it, and
     when frames come again it goes on from their time, which counts the stall as time on the
     treadmill, as the session's recorded time (recorded_s: the result's "Ended early at ...", the
     stall's "... s after the go") does; a session that ends in the stall ends at the time held: the
     timer never runs back. Overground the light gates time the walk on their own clock through a
     stall (their crossings still come): the timer runs on from the newest frame by this page's
     clock, said under it, and stops at the gates' time. */
  function tickTimer() {
    if (w.timer.state !== "running") return;
    if (w.serverNs === null || w.timer.startNs === null) return;
    const nowNs = treadmill() ? w.serverNs + w.periodNs : w.serverNs + (performance.now() - w.serverAt) * 1e6;
    const s = Math.max(0, (nowNs - w.timer.startNs) / 1e9);
    const text = treadmill() ? timeText(s) : fmt(s, 1);
    if ($("walk-timer").textContent !== text) $("walk-timer").textContent = text;
    const noData = !page.classList.contains("stale") ? false // live.js: no frame for STALE_MS, or the stream down
      : $("conn").dataset.state !== "open" ? "page" : page.dataset.stream === "live" ? "station" : "waiting";
    if (noData !== w.noData || (noData && treadmill() && $("walk-held").dataset.at !== text)) showNoData(noData, text);
  }

  /* Why no data comes, said under the timer: this page lost its connection (live.js's "Station offline": the
     station goes on recording, and the page shows it again once it reconnects), it is connected (again) and
     the station's readings are not here yet (live.js's stream "waiting": the page has not been told the
     station's state, so it says none), or the station measures nothing (live.js's "No readings": the strip's
     "its measuring program is held up"; that time is not measured, the walk's notice says how much). */
  function showNoData(noData, text) {
    w.noData = noData || false;
    const holds = Boolean(noData) && treadmill();
    $("walk-card").dataset.held = holds ? "yes" : "no";
    $("walk-held").hidden = !noData;
    $("walk-held").dataset.at = holds ? text : "";
    $("walk-held").dataset.why = noData || "";
    const why = noData === "page" ? "This page lost its connection to the station (it reconnects by itself)"
      : noData === "waiting" ? "Waiting for the station's readings (this page has just connected)"
      : "The station is measuring nothing: its measuring program is held up";
    $("walk-held").textContent = !noData ? ""
      : noData === "page" ? (holds ? `${why}. The timer holds at ${text}; the station goes on recording the session.`
        : `${why}. The station goes on recording; the light gates still time the walk.`)
      : holds ? `${why}. The timer holds at ${text}.` : `${why}. The light gates still time the walk.`;
    if (treadmill()) drawCadence();
  }

  /* The timer, and Stop, on the screen (README: on a phone they are always on the same screen): when a
     walk test opens the page kept the scroll of the Open-test button, the timer above the screen. Stop is
     in the bar at the bottom of a phone's screen, beside the timer's column on a tablet. Scrolled
     smoothly unless the reader asked for less motion. */
  function timerIntoView() {
    const box = document.querySelector("#walk-card .walk-top");
    if (!w.walk || !box || $("walk-card").hidden) return;
    const controls = $("controls");
    const bottom = getComputedStyle(controls).position === "fixed" ? controls.getBoundingClientRect().top : innerHeight;
    const r = box.getBoundingClientRect();
    if (r.top >= 0 && r.bottom <= bottom) return;
    const calm = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    window.scrollTo({ top: Math.max(0, window.scrollY + r.top - 8), behavior: calm ? "auto" : "smooth" });
  }

  /* -- the stream ---------------------------------------------------------------------------- */
  function onFrames(doc) {
    const frames = doc.frames || [];
    if (doc.rate_hz) w.periodNs = 1e9 / doc.rate_hz;
    const newestNs = frames.length ? frames[frames.length - 1].t_ns : null;
    if (newestNs !== null && (w.serverNs === null || newestNs > w.serverNs)) { // (a backfill after a reconnect is older)
      w.serverNs = newestNs;
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

  /* The stream's own steps of the last seconds (web/live_gait.py): marks on the strip. */
  function onGait(doc) {
    if (!w.walk) return;
    for (const ns of doc.contacts_t_ns || []) {
      const s = ns / 1e9;
      if (!w.contacts.length || s > w.contacts[w.contacts.length - 1] + 0.05) w.contacts.push(s);
      else if (Math.abs(s - w.contacts[w.contacts.length - 1]) <= 0.05) w.contacts[w.contacts.length - 1] = s;
    }
    w.dirty = true;
  }

  /* Minutes planned as the results page writes them (0.97, not a rounded-up 1.0 of 1 min planned). */
  const minText = (x) => String(Number(Number(x).toPrecision(3)));
  // time walked: one rule on every page (Station.walkedTime: "20 s" under a minute, "12 min 24 s" above)
  const walkedText = Station.walkedTime;

  /* The live cadence, or (d.not_measured: the station's words, the lower-back sensor sending
     nothing) a blank with why: never the last number as if it were the person's cadence now. The
     newest the station said is kept (w.cadence; fields not given stay as they were). */
  function showCadence(d) {
    const c = w.cadence;
    c.why = d.not_measured || "";
    for (const key of ["cadence_steps_min", "steps", "window_s", "walking_min"]) if (d[key] !== undefined) c[key] = d[key];
    drawCadence();
  }

  /* While no data comes (w.noData, said under the timer) the box says so instead of the station's last cadence
     or its last words: those were true when the data stopped (the number a person's cadence then; "readings
     again for under 2 s after a gap" just after a stall) and are not now, however long this lasts. The station
     measuring nothing: that time is not measured. This page's connection lost: the station goes on measuring,
     and once the page reconnects the stream replays the cadence it said meanwhile (the newest is shown), its
     readings following. */
  const CADENCE_NO_DATA = {
    station: "not measured: the station is measuring nothing",
    page: "not shown: this page lost its connection (the station goes on measuring)",
    waiting: "not shown yet: waiting for the station's readings",
  };

  function drawCadence() {
    const c = w.cadence;
    const held = w.noData ? CADENCE_NO_DATA[w.noData] : "";
    const why = held || c.why;
    $("walk-cadence-why").textContent = why;
    $("walk-cadence-why").hidden = !why;
    $("walk-cadence-why").dataset.why = held ? w.noData : why ? "station-said" : "";
    $("walk-cadence-steps").hidden = !!why;
    // by the unit's rule, as the session's result and the results page say it (96.2, not "96")
    $("walk-cadence").textContent = held ? "–" : num(c.cadence_steps_min, "steps/min");
    $("walk-steps").textContent = c.steps === null ? "–" : c.steps;
    $("walk-window").textContent = c.window_s === null ? "" : ` in the last ${fmt(c.window_s, 0)} s`;
    $("walk-minutes").textContent = c.walking_min === null ? "–" : walkedText(c.walking_min);
    $("walk-walked").hidden = c.walking_min === null;
  }

  const PHASE_WORDS = {
    instructions: "Read the instructions, then start",
    waiting: "Waiting for the beams to clear and the lower-back sensor", // the clinician's name for the IMU
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
        w.phase = d.state || null;
        // Start (on this screen or the station's button), "Get ready" and the go: the timer on the screen
        if (["waiting", "countdown", "recording"].includes(d.state)) timerIntoView();
        showTimerLabel();
        if (d.state !== "waiting") w.falseStart = null; // the next attempt started (or the run moved on)
        $("walk-phase").textContent = d.state === "waiting" && w.falseStart
          ? `${w.falseStart} The next attempt starts when the beams are clear.`
          : (d.state === "done" && w.endWords) || PHASE_WORDS[d.state] || d.state;
        if (d.state === "waiting") resetTrial();
        if (d.state === "recording") { // the go beep
          w.goNs = e.t_ns;
          if (timedFrom() === null) setTimer("running", e.t_ns);
          else $("walk-phase").replaceChildren(...unitsKept(`Walking: the timer starts at the gate at ${timedFrom()} m`));
        }
        if ((d.state === "aborted" || d.state === "checking") && w.timer.state === "running") setTimer("stopped");
        break;
      case "gates":
        updateGates(d.gates || []);
        break;
      case "gate_crossed": {
        const g = w.gates.find((x) => x.index === d.gate);
        if (g) { g.state = "crossed"; g.at_s = d.at_s; renderGates(); }
        w.crossed[d.position_m] = d.at_s;
        const near = (a, b) => a !== null && Math.abs(a - b) < 0.01;
        if (near(timedFrom(), d.position_m) && w.goNs !== null) {
          setTimer("running", w.goNs + Math.round(d.at_s * 1e9));
          $("walk-phase").textContent = "Timing";
        }
        if (near(timedTo(), d.position_m)) {
          const from = timedFrom() === null ? 0 : w.crossed[timedFrom()];
          setTimer("stopped", null, from === undefined ? null : d.at_s - from);
          $("walk-phase").replaceChildren(...unitsKept(`Gate at ${d.position_m} m passed`));
        }
        break;
      }
      case "false_start":
        w.falseStart = d.message || "False start: a beam was broken before the go.";
        $("walk-phase").textContent = w.falseStart;
        setTimer("idle");
        break;
      case "progress": // the treadmill session's planned time
        if (treadmill() && d.duration_s) $("walk-progress").style.width = (100 * Math.min(1, d.elapsed_s / d.duration_s)).toFixed(1) + "%";
        break;
      case "cadence":
        showCadence({ cadence_steps_min: d.cadence_steps_min, steps: d.steps, window_s: d.window_s, not_measured: d.not_measured });
        break;
      case "notice": // (said by live.js's "live:notice": as the message box says it)
        break;
      case "trial_finished":
        showNotice(""); // the result says what was lost
        showResult(d.result || {});
        break;
      default:
        break;
    }
  }

  /* -- the result of a walk trial -------------------------------------------------------------- */
  /* [key, label, unit, digits]: a value with a unit is shown by its unit's rule (Station.quantity), as the results
     page shows it (96.2 steps/min, 10.00 m); ``digits`` is for the unitless ones, or a function that words it. */
  // which way is better said beside a number that has one, as the results page says it (walk_results.js MEASURES):
  // a bare "Time 5.08 s" / "Speed 1.18 m/s" left it to the reader; cadence and steps have none by themselves
  const RESULT_ROWS = [
    ["walk_time_s", "Time (shorter = faster)", "s"],
    ["walk_speed_m_s", "Speed (higher = faster)", "m/s"],
    ["walk_distance_m", "Timed distance", "m"],
    ["cadence_steps_min", "Cadence", "steps/min"],
    ["steps", "Steps (whole recording)", "", 0],
    ["stride_time_cv_pct", "Stride-time variability (CV, lower = steadier)", "%"],
    ["step_time_cv_pct", "Step-time variability (CV, both legs mixed)", "%"],
    ["step_symmetry", "Step symmetry (1 = both legs alike)", "", 2],
    ["walking_min", "Minutes walking", "min"],
  ];
  /* A treadmill session: time walked against the plan and pauses; the belt speed is the clinician's entry. */
  const TREADMILL_ROWS = [
    ["walking_min", "Time walking", "min"],
    ["pauses", "Pauses (no step for 3 s or more; fewer is better)", "", 0],
    ["steps", "Steps", "", 0],
    ["cadence_steps_min", "Cadence", "steps/min"],
    ["stride_time_cv_pct", "Stride-time variability (CV, lower = steadier)", "%"],
    ["step_time_cv_pct", "Step-time variability (CV, both legs mixed)", "%"],
    ["step_symmetry", "Step symmetry (1 = both legs alike)", "", 2],
    ["walk_speed_m_s", "Belt speed (entered)", "", Station.beltSpeed], // as typed, km/h (stored in m/s)
  ];

  function resultValues(r) {
    const walk = r.walk || {};
    const m = (r.metrics && r.metrics.metrics) || {};
    return { ...m, walk_time_s: walk.walk_time_s, walk_speed_m_s: walk.walk_speed_m_s, walk_distance_m: walk.walk_distance_m,
      walking_min: walk.walking_min ?? m.walking_min, pauses: walk.pauses ?? m.pauses };
  }

  function showResult(r) {
    const values = resultValues(r);
    const walk = r.walk || {};
    const box = $("walk-result");
    const planned = walk.planned_min;
    const rows = (walk.setting === "treadmill" ? TREADMILL_ROWS : RESULT_ROWS).filter(([k]) => values[k] !== undefined && values[k] !== null)
      .map(([k, label, unit, digits]) => el("tr", { dataset: { metric: k } }, el("th", {}, label),
        el("td", { class: "value num" }, unitsKept(k === "walking_min" && planned
          ? `${walkedText(values[k])} of ${minText(planned)} min planned`
          : unit ? quantity(values[k], unit) : fmt(values[k], digits)))));
    w.endWords = null;
    if (treadmill()) {
      // "Time on the treadmill": the session's recorded time, as the trial page's "N s recorded" (the
      // time walking, which leaves out pauses and what was not measured, is the cadence box's "walked")
      if (Number.isFinite(r.recorded_s)) setTimer("stopped", null, r.recorded_s);
      else if (w.timer.state === "running") setTimer("stopped");
      if (planned && Number.isFinite(r.recorded_s)) { // (a page reloaded since has no progress events)
        $("walk-progress").style.width = (100 * Math.min(1, r.recorded_s / (planned * 60))).toFixed(1) + "%";
      }
      const of = planned ? ` of ${minText(planned)} min planned` : "";
      if (walk.ended_early) w.endWords = `Ended early at ${$("walk-timer").textContent}${of}: see why below`;
      else if (r.end_reason === "operator_ended") w.endWords = `Ended with Stop at ${$("walk-timer").textContent}${of}`;
      if (w.endWords) $("walk-phase").replaceChildren(...unitsKept(w.endWords));
    } else if (values.walk_time_s !== undefined && values.walk_time_s !== null) setTimer("stopped", null, values.walk_time_s);
    else {
      if (w.timer.state === "running") setTimer("stopped"); // (the "checking" state may have stopped it already)
      // an attempt without a walk time (gate never reached, stopped): no time reads as a result
      if (!treadmill() && r.valid === false) $("walk-timer").textContent = "–";
    }
    if (treadmill()) {
      showCadence({ cadence_steps_min: values.cadence_steps_min ?? null, steps: values.steps ?? null, window_s: null,
        walking_min: values.walking_min ?? null });
    }
    box.replaceChildren(...[
      // whose result it is: it stays up between trials, under the next one's "Read the instructions"
      r.label ? el("p", { class: "walk-result-of small" }, `Last trial: ${r.label}` + (r.trial ? `, trial ${r.trial}` : "") +
        (r.attempt > 1 ? `, attempt ${r.attempt}` : "")) : null,
      // the patient did not get to the gate (the station's walk_not_completed): the visit results' words, not "invalid"
      r.walk_not_completed ? el("p", { class: "warn-box", id: "walk-not-completed" }, "Walk not completed: " + (r.issues || []).map((i) => i.message).join(" "))
        : r.valid === false ? el("p", { class: "error-box" }, "Invalid trial: " + (r.issues || []).map((i) => i.message).join(" ")) : null,
      walk.ended_early ? el("p", { class: "warn-box small", id: "walk-ended-early" }, unitsKept(walk.ended_early)) : null,
      walk.imu_gaps ? el("p", { class: (walk.imu_gaps.gait_valid ? "muted" : "warn-box") + " small", id: "walk-imu-gaps" }, unitsKept(walk.imu_gaps.words))
        : walk.imu ? el("p", { class: "warn-box small" }, `No gait measures: ${walk.imu}`) : null,
      // why the step length and the IMU's speed are not in the table (the sensor height was entered for them)
      walk.imu_estimate_withheld ? el("p", { class: "muted small", id: "walk-estimate-withheld" }, walk.imu_estimate_withheld.words) : null,
      rows.length ? el("table", { class: "list measures", id: "walk-result-table" }, el("tbody", {}, rows)) : null,
      rows.length ? el("p", { class: "muted small" }, "Against norms and the minimal detectable change: see the results.") : null,
    ].filter((x) => x !== null));
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
        $("walk-acc").dataset.steps = w.contacts.length; // steps marked on the trace now
      }
    }
    requestAnimationFrame(render);
  }

  /* -- the walk's settings when opening a test (docs/api.md: POST /api/station/run, walk) ------ */
  let protocols = [];

  function chosenWalk() {
    const p = protocols.find((x) => x.name === $("protocol-select").value);
    return p && p.outcome === "walk" && p.walk ? p.walk : null;
  }

  function renderSettings() {
    const walk = chosenWalk();
    $("walk-settings").hidden = !walk;
    if (!walk) return;
    const tm = walk.setting === "treadmill";
    $("walk-treadmill").hidden = !tm;
    $("walk-settings-summary").replaceChildren(...unitsKept(tm
      ? `Walking ${walk.direction} on the treadmill: enter the belt speed and the planned minutes.`
      : `Walking ${walk.direction}; gates at ${walk.gates_m.map((m) => m + " m").join(" and ")} along the ${walk.walkway_m} m walkway.`));
  }

  function numberField(id, label, lo, hi) {
    const raw = $(id).value.trim();
    if (raw === "") return { value: null };
    const v = Number(raw);
    if (!Number.isFinite(v) || v < lo || v > hi) return { error: `${label}: a number from ${lo} to ${hi}` };
    return { value: v };
  }

  /* The ``walk`` settings of POST /api/station/run for the chosen protocol: {walk} (null for a
     stance test) or {error} in words, shown beside the form. */
  function runSettings() {
    const walk = chosenWalk();
    if (!walk) return { walk: null };
    const out = {};
    const height = numberField("walk-sensor-height", "Sensor height (m)", 0.3, 1.5);
    if (height.error) return { error: height.error };
    if (height.value !== null) out.sensor_height_m = height.value;
    if (walk.setting === "treadmill") {
      const kmh = numberField("walk-belt-speed", "Belt speed (km/h)", 0.1, 10);
      const minutes = numberField("walk-planned-min", "Planned minutes", 1, 120);
      if (kmh.error || minutes.error) return { error: kmh.error || minutes.error };
      if (kmh.value === null || minutes.value === null) return { error: "Enter the treadmill's belt speed and the planned minutes." };
      out.belt_speed_m_s = beltSpeedFromKmh(kmh.value);
      out.planned_min = minutes.value;
    }
    return { walk: out };
  }

  window.WalkPanel = { runSettings };

  Station.api("GET", "/api/protocols").then((doc) => { protocols = doc.protocols || []; renderSettings(); }).catch(() => {});
  $("protocol-select").addEventListener("change", renderSettings);

  page.addEventListener("live:status", (ev) => {
    const doc = ev.detail;
    setMode(doc && doc.available !== false ? doc.run : null);
  });
  page.addEventListener("live:trial", (ev) => onTrial(ev.detail));
  page.addEventListener("live:frames", (ev) => onFrames(ev.detail));
  page.addEventListener("live:gait", (ev) => onGait(ev.detail));
  // the station's notice as this page can say it (live.js: from before the cut while it cannot hear the station)
  page.addEventListener("live:notice", (ev) => { if (w.walk) showNotice(ev.detail.line || ""); });
  requestAnimationFrame(render);
})();
