/* The live view and guided trial. Follows GET /api/live (Server-Sent Events: frames, trial
   events, health), draws the centre of pressure once per animation frame, and sends the
   clinician's commands (POST /api/station/...). A dropped connection resumes by itself: the
   browser's EventSource reconnects with Last-Event-ID and the station replays the trial events
   the page missed, so the trial on screen is kept. */
"use strict";

(() => {
  const { api, el, unitsKept, fmt, showError } = Station;
  const page = document.getElementById("live-page");
  const $ = (id) => document.getElementById(id);
  const TRACE_S = 10;
  const G = 9.80665;

  const state = {
    protocols: [],
    status: null, // the trial service's status (run, panel ...)
    trialState: null,
    opening: false, // a test being opened on a slow card ("run_opening" until "run_opened" or its "fault")
    countdown: null,
    progress: null,
    lastSeq: -1, // frames
    lastEventId: "",
    eventEpoch: "", // the station run (epoch) of the newest trial event drawn, and its number:
    eventSeq: -1, // a status snapshot taken before that event is older than the screen (applyStatus)
    waitingWords: "", // what the station said it waits for (the last "waiting" state event's words)
    rate: 100,
    frames: { ml: [], ap: [], fz: null, left: null, right: null },
    dirty: true,
    refreshing: null,
    lastFrameAt: 0, // performance.now() of the last frame received (ms)
    stale: true, // no frame for STALE_MS, or the stream is down: values greyed and blanked
    told: false, // the station's state told since the stream (re)opened: its readings came, or its health said none come
    notice: "", // the walk's newest notice (the station's words about now: "Measuring again: ...") ...
    noticeBefore: false, // ... said as words from before this page lost its connection, until the station is heard again
    busy: false, // a command is on its way: its button stays disabled until the answer
    restUntil: 0, // performance.now() when the suggested rest ends (ms)
    health: null, // the station's last health document (stream or status)
    shownKey: null, // the station state shown in the strip and the chip (stationState().key)
    lines: [], // the message box's lines (never the same line twice)
    wanted: page.dataset.patientId || "", // the patient this page was opened for (?patient=), until another is chosen
  };
  const STALE_MS = 1000;

  /* -- frames ----------------------------------------------------------------------------- */
  function addFrames(doc) {
    if (doc.rate_hz) state.rate = doc.rate_hz;
    const keep = Math.round(TRACE_S * state.rate);
    const f = state.frames;
    for (const fr of doc.frames) {
      if (fr.seq <= state.lastSeq) continue; // already shown (backfill after a reconnect)
      if (state.lastSeq >= 0 && fr.seq > state.lastSeq + 1) { // a gap: do not draw across it
        f.ml.push(null); f.ap.push(null);
      }
      state.lastSeq = fr.seq;
      f.ml.push(fr.ml_cm); f.ap.push(fr.ap_cm);
      f.fz = fr.fz_n; f.left = fr.left_n; f.right = fr.right_n;
    }
    if (doc.frames.length) {
      state.lastFrameAt = performance.now();
      heard();
    }
    if (f.ml.length > keep) { f.ml.splice(0, f.ml.length - keep); f.ap.splice(0, f.ap.length - keep); }
    state.dirty = true;
  }

  const trace = new Charts.LiveTrace($("trace"), {
    width_cm: Number(page.dataset.plateWidthCm) || 40, depth_cm: Number(page.dataset.plateDepthCm) || 40 });

  /* The stance feet of the trial on screen (from the protocol's condition), for the trace. */
  function stanceFeet() {
    const r = run();
    const t = r && (r.trial || (r.due && r.due[0]));
    if (!r || !t) return null;
    const p = state.protocols.find((x) => x.name === r.protocol);
    const c = p && p.conditions.find((x) => x.id === t.condition);
    return c && c.stance ? c.stance.feet : null;
  }

  /* The data stopped (no frame for STALE_MS, or the stream is down): grey and blank at once. */
  function checkStale() {
    const stale = $("conn").dataset.state !== "open" || performance.now() - state.lastFrameAt > STALE_MS;
    if (stale !== state.stale) {
      state.stale = stale;
      page.classList.toggle("stale", stale);
      state.dirty = true;
      if (stale) {
        $("h-rate").textContent = "–";
        $("h-sensors").textContent = "–";
        $("h-sensors").className = "";
        $("h-lost").textContent = "–";
        $("h-lost-effect").hidden = true;
      }
    }
    const shown = stationState();
    if (shown.key !== state.shownKey) showStationState(shown);
  }

  /* The station's state as this page shows it, in its status strip and in the header's chip alike, in the
     chip's words (one truth: the chip stops polling /healthz here, Station.followHealth; Station.healthWords).
     The stream down: "offline" (this page cannot reach the station). Connected but no frame for
     STALE_MS, or the station's health saying "nodata" (its newest frame over NO_FRAMES_S = 1 s old,
     station/acquire/source.py, what /healthz tells every other page): "nodata", "No readings" (the acquisition
     stalled or is restarting; its health report says "down", "Cannot measure", once it is HEALTH_STALE_S = 3 s
     old, acquisition not responding). The station's health saying "starting" (its acquisition started or restarted
     and has sent no frame yet): "Plate starting…", not "No readings", for that second. Else the station's health
     document (every second). */
  function stationState() {
    const h = state.health || {};
    if ($("conn").dataset.state === "connecting") return { key: "unknown", reason: "connecting to the station" };
    if ($("conn").dataset.state !== "open") {
      return { key: "offline", reason: "this page lost its connection to the station; it reconnects by itself" };
    }
    // connected (again) and the station not heard since: its readings on their way, not "measured nothing for 40 s"
    if (!state.told) return { key: "unknown", reason: "connected; waiting for the station's readings" };
    if ((state.stale || h.state === "nodata") && h.state !== "down" && h.state !== "starting") {
      const silent = state.stale && state.lastFrameAt ? Math.floor((performance.now() - state.lastFrameAt) / 1000) : null;
      return { key: "nodata", reason: silent === null ? h.reason || "no data"
        : `the station has measured nothing for ${silent} s: its measuring program is held up` }; // source.py's words
    }
    return { key: h.state || "unknown", reason: h.reason || "", code: h.reason_code };
  }

  function showStationState(shown) {
    state.shownKey = shown.key;
    $("h-state").textContent = Station.healthWords(shown.key);
    $("h-state").dataset.state = shown.key; // coloured as the chip's dot is (dashboard.css .station-state)
    Station.showHealth({ state: shown.key, reason: shown.reason, reason_code: shown.code });
  }

  function render() {
    checkStale();
    if (state.dirty) {
      state.dirty = false;
      trace.feet = stanceFeet();
      trace.draw(state.frames.ml, state.frames.ap, state.stale);
      const f = state.frames;
      const fz = state.stale ? null : f.fz;
      const onPlate = fz !== null && fz !== undefined && fz > 50;
      $("force-n").textContent = fz === null || fz === undefined ? "–" : Math.round(fz);
      $("force-kg").textContent = !onPlate ? "–" : fmt(fz / G, 1);
      const total = (f.left || 0) + (f.right || 0);
      const feet = trace.feet || "";
      $("weight-split").hidden = feet.startsWith("single");
      if (!state.stale && f.left !== null && f.right !== null && total > 50) {
        const l = 100 * f.left / total;
        $("left-bar").style.height = l.toFixed(1) + "%";
        $("right-bar").style.height = (100 - l).toFixed(1) + "%";
        $("left-pct").textContent = "L " + fmt(l, 0) + " %";
        $("right-pct").textContent = "R " + fmt(100 - l, 0) + " %";
      } else {
        $("left-bar").style.height = "0";
        $("right-bar").style.height = "0";
        $("left-pct").textContent = "L –";
        $("right-pct").textContent = "R –";
      }
    }
    requestAnimationFrame(render);
  }

  /* -- health ----------------------------------------------------------------------------- */
  function showHealth(doc) {
    const h = doc.health || {};
    state.health = h;
    if (h.state === "nodata" || h.state === "down" || h.state === "starting") heard(); // told: no readings come (yet)
    showStationState(stationState());
    $("h-reason").textContent = Station.healthWhy(h.reason); // (as the chip's tap says it)
    if ((state.stale || h.state === "nodata") && h.state !== "down") return; // no frames: the values would be old
    const rate = h.rate_hz || {};
    $("h-rate").textContent = rate.measured === null || rate.measured === undefined ? "–" : fmt(rate.measured, 1);
    const lost = lostWords(h);
    $("h-lost").textContent = lost.text;
    $("h-lost").className = lost.bad ? "bad" : "";
    $("h-lost-item").title = (lost.frames ? `${lost.frames}. ${LOST_TITLE}` : LOST_TITLE) + imuFifoWords(h); // the engineer's figures
    // the figure is the engineer's; what it means for a result is said only while it can change one
    $("h-lost-effect").hidden = !lost.bad;
    $("h-lost-effect").textContent = !lost.bad ? "" : run() && run().outcome === "walk"
      ? "Readings are being lost now: the time of the walk without them is not measured."
      : "Readings are being lost now: a trial recorded now may be found invalid and have to be repeated.";
    const sensors = h.sensors || {};
    const faults = Object.entries(sensors).filter(([, s]) => s.status !== "ok" && s.status !== "absent");
    $("h-sensors").textContent = Object.keys(sensors).length === 0 ? "–"
      : faults.length ? faults.map(([n, s]) => `${n.toUpperCase()} ${s.status}`).join(", ") : "all OK";
    $("h-sensors").className = faults.length ? "bad" : "";
  }

  const LOST_TITLE = $("h-lost-item").title;

  /* Seconds in the words a walk's result says them (walk_parts.not_measured_words): 2 decimals under 10 s,
     trailing zeros dropped ("2.98 s", "0.5 s"), whole seconds from 10 s ("75 s"). */
  function secondsWords(s) {
    return (s < 10 ? s.toFixed(2).replace(/\.?0+$/, "") : s.toFixed(0)) + " s";
  }

  /* The time the station measured nothing ("readings lost"; "none" while nothing is), in the clinician's unit
     (seconds not measured, as a walk's notice and result say it, not frames): its frames the acquisition could not
     make in time (a busy bus or computer, a stall), the total since the station started with its share, and those
     of the last ``frames_recent.window_s`` (10 s). A few are harmless (a trial's analysis leaves them out): red only while over 1 % of the recent frames
     are lost, which is happening now; an old loss (one stall minutes ago) reads neutrally, "none of the last
     10 s". The frame counts are the engineer's: in the item's title (and /healthz). */
  function lostWords(h) {
    const lost = h.frames_lost;
    const rate = (h.rate_hz || {}).configured;
    if (lost === undefined || lost === null || !rate) return { text: "–", bad: false, frames: "" };
    // nothing lost said so ("readings lost: none"), not "0 s" beside "not measured", which read as a failure
    if (!lost) return { text: "none", bad: false, frames: "0 frames lost since the station started" };
    const total = (h.frames || 0) + lost;
    const share = lost && total ? 100 * lost / total : 0;
    let text = secondsWords(lost / rate)
      + (lost && total ? ` (${share < 0.01 ? "<0.01" : fmt(share, share < 1 ? 2 : 1)} %)` : "");
    let frames = `${lost} frame${lost === 1 ? "" : "s"} lost since the station started`;
    const recent = h.frames_recent;
    if (!recent || !lost) return { text, bad: false, frames };
    const span = `the last ${fmt(recent.window_s, 0)} s`;
    const recentTotal = recent.frames + recent.frames_lost;
    const bad = recentTotal > 0 && 100 * recent.frames_lost / recentTotal > 1;
    text += recent.frames_lost ? `, ${secondsWords(recent.frames_lost / rate)} of ${span}` : `, none of ${span}`;
    frames += `, ${recent.frames_lost} in ${span}`;
    return { text, bad, frames };
  }

  /* The lower-back sensor's FIFO losses since the station started (/healthz's imu_fifo_*; doctor says them alike), for
     the item's title, an engineer's words: "" when it lost nothing. */
  function imuFifoWords(h) {
    const over = h.imu_fifo_overflows || 0;
    const emptied = h.imu_fifo_emptied || 0;
    if (!over && !emptied) return "";
    const times = (n) => `${n} time${n === 1 ? "" : "s"}`;
    const seconds = h.imu_samples_emptied_s;
    const said = [over ? `overflowed ${times(over)} (samples overwritten before they were read)` : "no overflow",
      emptied ? `emptied unread ${times(emptied)} after a stall (${h.imu_samples_emptied || 0} samples`
        + (seconds === null || seconds === undefined ? ")" : `, ${fmt(seconds, 2)} s)`) : "never emptied unread"];
    return ` The lower-back sensor's FIFO since the station started: ${said.join(", ")}.`;
  }

  function showPanel(panel) {
    if (!panel) return;
    $("h-panel").textContent = panel.present ? "connected" : "none (use this screen)";
    $("h-panel").title = panel.reason || "";
    $("panel-hint").textContent = panel.present
      ? "The station's button also starts the trial that is due, and stops a running one."
      : "";
  }

  /* -- trial state and controls ----------------------------------------------------------- */
  const STATE_WORDS = {
    instructions: "Read the instructions, then start",
    waiting: "Waiting for the patient to stand still",
    countdown: "Get ready",
    recording: "Recording",
    checking: "Checking",
    done: "Trial finished",
    aborted: "Not started",
  };

  const BADGE_WORDS = { instructions: "ready to start", waiting: "waiting", countdown: "get ready", recording: "recording",
    checking: "checking", done: "trial done", aborted: "not started" };

  function run() { return state.status && state.status.run; }

  /* The first trial due is "now" while it runs, else "next" (or "repeat"). */
  function dueWord(word) {
    return ["waiting", "countdown", "recording", "checking"].includes(state.trialState) ? "now" : word;
  }

  function setTrialState(s) {
    state.trialState = s;
    page.dataset.trialState = s || "none"; // a phone hides the words read aloud once the trial runs
    const badge = $("trial-state");
    const opening = !run() && state.opening; // a test being opened (its visit still being saved): not "no test open"
    badge.dataset.state = s || (run() && run().finished ? "finished" : opening ? "opening" : "none");
    badge.textContent = s ? (BADGE_WORDS[s] || s) : (run() ? (run().finished ? "finished" : "ready") : opening ? "opening the test" : "no test open");
    $("state-words").textContent = s ? (STATE_WORDS[s] || s) : (run() && run().finished ? "Test finished" : "");
    showCondition();
    const due = document.querySelector("#trial-list li.current .due-tag");
    if (due) due.textContent = dueWord(due.dataset.word);
    if (s !== "countdown") $("big-number").textContent = "";
    if (s !== "recording") $("progress-bar").style.width = s === "done" ? "100%" : "0";
    showRest(); // the rest's count goes at once when the next attempt starts (it stayed through "Get ready")
    updateButtons();
  }

  /* The condition of the trial running, or due next, above the plate with the count ("Eyes closed",
     "Next: Foam, eyes open, attempt 2"): whoever watches the patient sees which one is recording. Where a
     condition has several trials, which of them and, for a timed hold, which counts (the run's
     condition_trials and score, as trial_ready says them): "Next: Standing on the left leg, trial 2 of 3 (best counts)". */
  function showCondition() {
    const r = run();
    const t = r && !r.finished && (r.trial || (r.due && r.due[0]));
    const of = r ? Number(r.condition_trials) || 1 : 1;
    const counts = r && r.outcome === "time_held" ? { best: " (best\u00a0counts)", mean: " (their mean\u00a0counts)" }[r.score] || "" : "";
    const words = !t ? "" : t.label + (of > 1 ? `, trial ${t.trial} of ${of}${counts}` : Number(t.trial) > 1 ? `, trial ${t.trial}` : "") +
      (Number(t.attempt) > 1 ? `, attempt ${t.attempt}` : "");
    $("state-condition").textContent = words && state.trialState === "instructions" ? `Next: ${words}` : words;
  }

  /* The patient chosen, whole, in the list's title: a phone's narrow box cuts a long identifier (32 characters). */
  function titleChosenPatient() {
    const ps = $("patient-select");
    ps.title = ps.value ? ps.options[ps.selectedIndex].textContent : "";
  }

  function updateButtons() {
    titleChosenPatient();
    const r = run();
    const s = state.trialState;
    const active = s === "waiting" || s === "countdown" || s === "recording";
    const busy = state.busy; // a command is on its way: nothing can be tapped twice
    // after a start the station may still say "instructions" for a moment, and a status sent before
    // the start may arrive after the start's reply: keep Start disabled for 5 s (Stop, Skip, Repeat
    // and an error end this at once)
    const starting = state.startedAt && performance.now() - state.startedAt < 5000 && s === "instructions";
    $("btn-start").disabled = busy || starting || !(r && s === "instructions");
    $("btn-stop").disabled = busy || !(r && active);
    $("btn-skip").disabled = busy || !(r && s === "instructions");
    $("btn-repeat").disabled = busy || !(r && (s === "instructions" || s === null) && r.done && r.done.length > 0);
    // what Repeat repeats (the last finished trial), said on it: after "FINISHED" a bare "Repeat" read as the whole
    // test; which trial in its title (a phone's bar of controls keeps its size)
    const last = r && r.done && r.done.length ? r.done[r.done.length - 1] : null;
    $("btn-repeat").title = last ? `Repeat the last trial: ${last.label}` : "";
    const timed = r && r.outcome === "time_held";
    $("btn-end-hold").hidden = !timed;
    $("btn-end-hold").disabled = busy || !(timed && s === "recording");
    $("btn-close").disabled = busy || !r;
    $("other-patient-end").disabled = busy || !r;
    // single-leg stance, once a side was measured unable: the rest of that side scored without Start
    const offer = r && s === "instructions" ? r.score_unable : null;
    $("btn-score-unable").hidden = !offer;
    $("btn-score-unable").disabled = busy || !offer;
    if (offer) $("btn-score-unable").textContent = `Patient cannot stand on one leg: score the remaining ${offer.trials === 1 ? "trial" : offer.trials + " trials"} ${offer.label.charAt(0).toLowerCase() + offer.label.slice(1)} as unable`;
    // (nor while a test is being opened, here or on another screen: it opens by itself, the words say)
    $("open-run").disabled = busy || !!r || state.opening || !$("patient-select").value || !$("protocol-select").value;
    $("open-run-why").hidden = !!r || !!$("patient-select").value; // the greyed-out button says why
    // a finished test stays open (its results, a repeat): how to start another is said by End test
    $("finished-hint").hidden = !(r && r.finished && !active);
  }

  const KIND_CLASS = { bad: "error-box", ok: "ok-box", warn: "warn-box" };
  const UNABLE = ["no_liftoff", "scored_unable"]; // the patient could not take the position: a result (0 s)

  /* Show a message; ``append`` adds a line under the current one (e.g. the repeat offered after
     a trial's result). */
  function message(text, kind, append) {
    const box = $("message");
    const line = tidy(text);
    if (!append) state.lines = line ? [line] : [];
    else if (line && !state.lines.includes(line)) state.lines.push(line); // never the same line twice
    box.replaceChildren(...state.lines.map((l) => el("div", {}, unitsKept(l)))); // "Held 12.3 s of 30 s." whole
    if (!append || !box.className.includes("-box")) box.className = "small " + (state.lines.length ? (KIND_CLASS[kind] || "") : "");
  }

  /* A stopped trial being saved, then saved: its own neutral line beside the trial's result (an invalid trial's
     red box says the result, not how its saving goes); "" hides it. */
  function saving(text) {
    const line = $("saving");
    line.replaceChildren(...unitsKept(tidy(text)));
    line.hidden = !line.textContent;
  }

  /* One sentence: trimmed, no doubled full stops ("held 3.1 s.." from joined sentences). */
  function tidy(text) {
    return String(text || "").trim().replace(/\.{2,}$/, ".").replace(/\.\s*\./g, ".");
  }

  /* A treadmill session ended before its planned minutes, first words first ("Trial complete" read as if
     the planned minutes were walked): with Stop, or its data lost (the walk panel says why). The time is
     the session's recorded time, as the walk panel's timer shows it (m:ss). */
  function endedEarlyWords(r) {
    const walk = r.walk || {};
    if (walk.setting !== "treadmill" || !Number.isFinite(r.recorded_s)) return "";
    const at = Station.clockTime(r.recorded_s);
    const of = walk.planned_min ? ` of ${Number(Number(walk.planned_min).toPrecision(3))} min planned` : "";
    if (walk.ended_early) return `Ended early at ${at}${of}: see why in the walk panel; what was walked before it is kept and analysed.`;
    if (r.end_reason === "operator_ended") return `Stopped at ${at}${of}; what was walked is kept and analysed.`;
    return "";
  }

  /* The repeat offered after an attempt, with its reason unless it is said already: the station's
     reason "previous attempt invalid: <the issues>" (or "previous attempt walk not completed: ...") repeats the invalid trial's words (said above, or
     for a walk with its result). */
  function repeatWords(reason, walk) {
    const why = tidy(reason).replace(/\.$/, "");
    const issues = why.replace(/^previous attempt (invalid|walk not completed):\s*/i, "");
    const said = issues !== why && (walk || state.lines.some((l) => l.includes(issues)));
    return said ? "Repeat offered: start the next attempt when the patient is ready." : `Repeat offered: ${why}.`;
  }

  /* The suggested rest between trials, counted down under the message (ms clock). */
  function showRest() {
    const left = Math.ceil((state.restUntil - performance.now()) / 1000);
    const box = $("rest-timer");
    if (left > 0 && state.trialState === "instructions") {
      box.hidden = false;
      box.replaceChildren(...unitsKept(`Rest: ${left} s`));
    } else if (!box.hidden) {
      box.hidden = state.restUntil === 0 || left <= -5 || state.trialState !== "instructions";
      box.textContent = "Rest over: start when the patient is ready";
    }
  }

  /* Opened for one patient (?patient=, "New test" on a patient's page) while another patient's test
     is open: said above everything, with the way to end that test (its Start would record under the
     other patient). */
  function showOtherPatient(r) {
    const box = $("other-patient");
    const other = r && state.wanted && String(r.patient_id) !== state.wanted;
    box.hidden = !other;
    if (!other) return;
    const option = [...$("patient-select").options].find((o) => o.value === state.wanted);
    const wanted = option ? option.textContent : `patient #${state.wanted}`;
    const when = r.opened_at ? ` at ${Station.clock(r.opened_at)}` : "";
    $("other-patient-words").textContent = `A test for ${r.patient_identifier} is open (opened by ${r.started_by}${when}). ` +
      `End it to test ${wanted} (its trials are kept).`;
    $("other-patient-end").textContent = `End ${r.patient_identifier}'s test`;
  }

  /* A treadmill session started from a programme's session (its page's Start opens /live?programme=<id>) is counted
     by the station as that session's dose once stored (Programmes.credit_run_trial): said here as the programme page
     names it, "Counted as session 3 of the programme Backward treadmill walking after stroke: 20 s walked of 30 min
     planned.", with the way back. Read from the programme (GET /api/assignments/<id>): the session whose dose is one
     of this test's stored trials. A session of the programme's session protocol opened from "New test" for a patient
     on a programme is counted by nobody (review s24 F7: recorded, "0 of 12 sessions done", nothing said): it says so
     and offers to take it as the next planned session (the programme page's "Take the dose" in one tap). None
     (another test, a trial without a walking dose), nothing said. */
  const programmeId = page.dataset.programmeId || "";
  let creditAsked = "";
  async function programmeOf(r) {
    if (programmeId) return programmeId;
    if (!r.walk) return ""; // a programme's sessions are walks: no other test asks (each ask is an audited view)
    const glance = await api("GET", `/api/patients/${r.patient_id}/programme`, undefined, { background: true });
    const p = glance.programme;
    return p && (p.status === "active" || p.status === "paused") ? String(p.id) : "";
  }
  async function showProgrammeCredit(r) {
    const ids = ((r && r.trial_ids) || []).filter(Boolean);
    const key = r ? `${r.session_id}:${ids.join(",")}` : "";
    if (!ids.length || key === creditAsked) return;
    creditAsked = key;
    const box = $("programme-credit");
    try {
      const id = await programmeOf(r);
      if (!id) { box.hidden = true; return; }
      const doc = await api("GET", `/api/assignments/${id}`, undefined, { background: true });
      const title = doc.template.programme.title;
      const s = doc.sessions.find((x) => ids.includes(x.trial_id));
      const link = el("a", { href: `/assignments/${id}` }, "See it on the programme");
      if (s) {
        const minutes = s.minutes !== undefined && s.minutes !== null ? s.minutes : null; // the dose taken: what was walked
        box.className = "programme-credit ok-box";
        box.replaceChildren(...unitsKept(`Counted as session ${s.number} of the programme ${title}` +
          (minutes !== null ? `: ${Station.walkedTime(minutes)} walked of ${Number(s.minutes_planned)} min planned. ` : ". ")), link);
        box.hidden = false;
        return;
      }
      const trial = (doc.walking_trials || []).find((t) => ids.includes(t.id) && t.protocol === doc.template.schedule.session_protocol);
      const next = doc.sessions.filter((x) => x.status === "planned")
        .sort((a, b) => (a.planned_date < b.planned_date ? -1 : a.planned_date > b.planned_date ? 1 : a.number - b.number))[0];
      box.hidden = !(trial && next && doc.status !== "ended");
      if (box.hidden) return;
      const refused = el("span", { class: "error-box", hidden: true, role: "alert" });
      box.className = "programme-credit warn-box";
      box.replaceChildren(`Not counted to the programme ${title}: this test was not started from one of its sessions. `,
        el("button", { type: "button", class: "go", id: "credit-session", onclick: async () => {
          try {
            await api("POST", `/api/programme-sessions/${next.id}/dose`, { trial_id: trial.id });
            creditAsked = "";
            showProgrammeCredit(r);
          } catch (err) { showError(refused, err); }
        } }, `Take it as session ${next.number} (planned ${new Date(next.planned_date + "T12:00:00Z")
          .toLocaleDateString(undefined, { weekday: "short", month: "short", day: "numeric" })})`),
        " ", link, refused);
    } catch (err) {
      creditAsked = ""; // asked again at the next status
    }
  }

  function renderRun() {
    const r = run();
    showProgrammeCredit(r);
    showOtherPatient(r);
    $("choose").hidden = !!r;
    $("run").hidden = !r;
    page.dataset.run = r ? "open" : "none"; // a phone puts the controls of an open test in a bar at the bottom
    showPanel(state.status && state.status.panel);
    if (!r) {
      setTrialState(null);
      $("trial-label").textContent = "";
      // the patient this page was opened for, once the other patient's test has ended
      const ps = $("patient-select");
      if (state.wanted && ps.value !== state.wanted && [...ps.options].some((o) => o.value === state.wanted)) {
        ps.value = state.wanted;
        updateButtons();
      }
      $("results-link").hidden = !state.lastRun;
      if (state.lastRun) { // after "End test": its results stay one tap away, its patient chosen
        $("results-link").href = `/sessions/${state.lastRun.session_id}`;
        $("results-link").textContent = `Results of ${state.lastRun.patient_identifier}'s visit`;
      }
      return;
    }
    state.lastRun = { session_id: r.session_id, patient_identifier: r.patient_identifier, patient_id: r.patient_id };
    const ps = $("patient-select");
    if ([...ps.options].some((o) => o.value === String(r.patient_id))) ps.value = String(r.patient_id);
    titleChosenPatient();
    if (state.protocols.some((p) => p.name === r.protocol) && $("protocol-select").value !== r.protocol) {
      $("protocol-select").value = r.protocol;
      renderConditions();
    }
    $("run-title").textContent = r.title;
    $("run-patient").textContent = `Patient ${r.patient_identifier}` + (r.age_y ? `, ${r.age_y}\u00a0y` : "") +
      ` · opened by ${r.started_by}`;
    $("instructions").textContent = r.instructions || (r.finished ? "The test is finished." : "");
    // a walk test's line is the walk and its time limit (a stance test's, the stance and its hold)
    const walkRun = r.outcome === "walk";
    const walkSpec = (state.protocols.find((p) => p.name === r.protocol) || {}).walk;
    const onBelt = !!walkSpec && walkSpec.setting === "treadmill"; // it lasts the planned minutes
    $("stance").replaceChildren(...unitsKept(!r.stance ? "" : walkRun
      ? `Walk: ${r.stance}` + (r.duration_s && !onBelt ? `; time limit ${r.duration_s} s` : "")
      : `Stance: ${r.stance}` + (r.duration_s ? `; ${r.duration_s} s` : "")));
    $("operator-notes").textContent = r.operator_notes || "";
    const list = $("trial-list");
    list.replaceChildren();
    // each line its own: the trial's number where the condition has more than one (the 10-metre walk's
    // two trials at each pace read "Comfortable pace (attempt 1)" twice), the attempt from the second
    const several = new Set([...r.done, ...r.due].filter((d) => Number(d.trial) > 1).map((d) => d.label));
    const lineWords = (d) => d.label + (several.has(d.label) && d.trial ? `, trial ${d.trial}` : "") +
      (d.attempt > 1 ? `, attempt ${d.attempt}` : "");
    r.done.forEach((d, i) => {
      const id = r.trial_ids[i];
      const unable = !d.valid && (d.issues || []).length && d.issues.every((i) => UNABLE.includes(i.code));
      const verdict = unable ? el("span", { class: "tag flag-strong" }, unitsKept("unable (0 s)"))
        // the patient stopped (or never reached the gate): a result, as the visit results say it, not a faulty recording
        : d.walk_not_completed ? el("span", { class: "tag flag-strong" }, "walk not completed")
        : !d.valid ? el("span", { class: "tag invalid" }, "invalid")
        // a hold's result in the list ("held 30.0 s"), not only "done"; a walk's "done" (its time is on its page)
        : d.completed ? el("span", { class: "tag valid" }, d.time_held_s !== null && d.time_held_s !== undefined ? unitsKept(`held ${fmt(d.time_held_s, 1)} s`) : "done")
          // a hold that ended early: coloured by the cut-off that applies to the patient, as on the visit results
          : d.time_held_s !== null ? Station.heldTag(d) : el("span", { class: "tag flag" }, "not completed");
      list.append(el("li", { dataset: { trialId: id || "" } },
        el("span", {}, id ? el("a", { href: `/trials/${id}` }, lineWords(d)) : lineWords(d)),
        verdict));
    });
    r.due.forEach((d, i) => {
      list.append(el("li", { class: i === 0 && !r.finished ? "current" : "" },
        el("span", {}, lineWords(d)),
        el("span", { class: "muted small due-tag", dataset: { word: d.reason ? "repeat" : "next" } }, i === 0 ? dueWord(d.reason ? "repeat" : "next") : "")));
    });
    const t = r.trial;
    $("trial-label").textContent = t ? `${t.label}, trial ${t.trial}, attempt ${t.attempt}` : "";
    const results = $("results-link");
    results.hidden = r.done.length === 0;
    results.href = `/sessions/${r.session_id}`;
    results.textContent = r.finished ? "See the results" : "Results so far";
    setTrialState(r.state);
  }

  /* One status request at a time; an event arriving while one is on its way asks for another
     after it (the one on its way may have been read before that event: a test that opened by
     itself right after a close stayed hidden). */
  async function refreshStatus() {
    if (state.refreshing) {
      state.refreshAgain = true;
      return state.refreshing;
    }
    state.refreshAgain = false;
    clearTimeout(state.refreshRetry);
    state.refreshing = readStatus()
      .catch((err) => {
        showError($("page-error"), err);
        // the status not read (a busy station's timeout, the Wi-Fi): read again, else the page would show the
        // old one until the next event that asks for it
        if (err.status !== 401) state.refreshRetry = setTimeout(refreshStatus, 2000);
      })
      .finally(() => {
        state.refreshing = null;
        if (state.refreshAgain) refreshStatus();
      });
    return state.refreshing;
  }

  /* Read the station's status (GET /api/station) and draw it. */
  async function readStatus() {
    const doc = await api("GET", "/api/station", undefined, { background: true });
    applyStatus(doc.service);
    share("status", doc.service);
    showHealth({ health: doc.health });
  }

  /* The station's status (GET /api/station's "service", or a command's reply). Replies can
     arrive out of order: a snapshot older than what is shown (same epoch, a last_seq, the station's
     event number when it was taken, lower than the shown snapshot's or than the newest trial event
     drawn since) is ignored. A command's reply is taken before the command's own events: Start's
     reply says "instructions" while its "waiting" event may be drawn already (a busy station: review
     s24 F17, the page showed "ready to start" for minutes while the station waited). */
  function applyStatus(doc) {
    if (!doc) return;
    if (doc.available === false) {
      state.status = null;
      showError($("page-error"), new Error(doc.reason));
      renderRun();
      return;
    }
    const shown = state.status;
    if (shown && doc.epoch === shown.epoch && Number(doc.last_seq) < Number(shown.last_seq)) return;
    if (doc.epoch === state.eventEpoch && Number(doc.last_seq) < state.eventSeq) return;
    if (shown && doc.epoch !== shown.epoch) state.opening = false; // the station restarted: nothing is being opened
    state.status = doc;
    renderRun();
  }

  const REFRESH_KINDS = new Set(["run_opened", "trial_ready", "trial_stored", "protocol_finished", "run_closed", "rest",
    "patient_updated"]);

  function applyEvent(e) {
    const d = e.data || {};
    switch (e.kind) {
      case "state":
        state.waitingWords = d.state === "waiting" ? d.message || "" : "";
        if (run()) {
          run().state = d.state; // the status drawn again later (renderRun) shows this state, not the one before it
          // the trial this state is of, as the event names it: the next trial's "instructions" came while the status
          // read before still held the trial just ended, and the page said "Next: Eyes open" (that one) beside
          // "Trial complete." until the status was read again (s28, after signing in again mid-trial)
          if (d.label !== undefined && d.trial !== undefined) {
            run().trial = { protocol: d.protocol, condition: d.condition, label: d.label, trial: d.trial, attempt: d.attempt };
          }
          if (d.instructions) $("instructions").textContent = d.instructions;
          if (d.state === "waiting" || d.state === "aborted") message(d.message || "", d.state === "aborted" ? "warn" : "");
          // "Get ready": what the waiting said ("Waiting for the light gates' beams to be clear") is over
          if (d.state === "countdown") message("");
          if (d.state === "recording") {
            message("");
            if ($("saving").textContent.startsWith("Saved: ")) saving(""); // the one before is saved: a new trial
            state.restUntil = 0;
            // the trace shows the recording itself, not the stepping on before it
            state.frames.ml = [];
            state.frames.ap = [];
          }
        }
        setTrialState(d.state);
        break;
      case "countdown":
        $("big-number").textContent = d.remaining_s;
        break;
      case "progress":
        $("progress-bar").style.width = (100 * Math.min(1, d.elapsed_s / d.duration_s)).toFixed(1) + "%";
        $("big-number").textContent = "";
        $("state-words").replaceChildren(...unitsKept(`Recording ${d.elapsed_s} / ${d.duration_s} s`));
        break;
      case "liftoff":
        message(`Foot lifted at ${fmt(d.at_s, 1)} s: timing the hold.`);
        break;
      case "hold_ended":
        // amber only below a cut-off that applies to the patient, as the result that follows it and the list's tag
        // (the station's held_verdict): it was amber for every hold, 8.4 s of a 75-year-old too
        message(`Balance lost at ${fmt(d.at_s, 1)} s.`, d.held_verdict === "flagged" ? "warn" : undefined);
        break;
      case "trial_finished": {
        const r = d.result;
        const unable = !r.valid && r.issues.length && r.issues.every((i) => UNABLE.includes(i.code));
        if (unable && r.issues[0].code === "scored_unable") break; // said once for the side (scored_unable)
        else if (unable) message("Did not lift a foot: unable to stand on one leg, counted as 0 s. A result, not a failed recording: the best of this side's trials counts.", "warn");
        // a walk's reason is said once, with its result in the walk panel (walk.js), which a reloaded page
        // shows too; a stance trial's here
        else if (r.walk_not_completed) message("Walk not completed: see why in the walk panel, with its result.", "warn");
        else if (!r.valid && run() && run().outcome === "walk") message("Invalid trial: see the reason in the walk panel, with its result.", "bad");
        else if (!r.valid) message("Invalid trial: " + r.issues.map((i) => i.message).join(" "), "bad");
        else if (r.time_held_s !== null && !r.completed) {
          // amber only below a cut-off that applies to the patient, as the list's tag (the station's held_verdict):
          // every hold short of the trial's length was amber, 8 s of a 75-year-old (above Vellas's 5 s) too
          message(`Held ${fmt(r.time_held_s, 1)} s of ${r.duration_s} s. ` + (r.hold_end ? r.hold_end.message : ""),
            r.held_verdict === "flagged" ? "warn" : undefined);
        } else if (endedEarlyWords(r)) message(endedEarlyWords(r), "warn");
        else message("Trial complete.", "ok");
        break;
      }
      case "rest":
        if (d.rest_s) state.restUntil = performance.now() + d.rest_s * 1000;
        if (d.next && d.next.reason) message(repeatWords(d.next.reason, run() && run().outcome === "walk"), "warn", true);
        break;
      case "scored_unable":
        message(`${d.label}: the remaining ${d.trials === 1 ? "trial" : d.trials + " trials"} scored unable by ${d.by}, not measured; counted as 0 s.`, "warn");
        break;
      case "fault":
        message(d.message, "bad");
        if (state.opening) { state.opening = false; setTrialState(state.trialState); } // (a test that could not open)
        break;
      case "notice": // something to know now while the trial goes on (a walk's stall, its sensor gone)
        sayNotice(false, d.message);
        break;
      case "run_opening": // the test's visit is still being written (a slow SD card): it opens once it is
        message(d.message, "warn");
        state.opening = true;
        setTrialState(state.trialState);
        if (state.busy) onScreen($("message")); // the page whose Open test waits: the words where its user looks
        break;
      case "run_opened": // and now it is open: the words that it was being opened are over
        if (state.opening || state.lines.some((l) => l.startsWith("Opening the test “"))) message(""); // (opening_words)
        state.opening = false;
        break;
      case "trial_saving": // its end waits (another program's hold, a slow card): its own line, not the result's box
        saving(d.message);
        break;
      case "trial_saved": // and now it is saved: said in place of the saving words
        saving(d.message);
        break;
      case "protocol_finished":
        message("The test is finished: see the results.", "ok", true);
        break;
      default:
        break;
    }
    if (REFRESH_KINDS.has(e.kind)) refreshStatus();
  }

  /* -- the stream ------------------------------------------------------------------------- */
  let source = null;

  /* Other scripts of the page (the walk panel, walk.js) follow the same stream: each event is
     passed on as a DOM event "live:<name>" on the page element. */
  function share(name, detail) {
    page.dispatchEvent(new CustomEvent("live:" + name, { detail }));
  }
  let retryTimer = null;

  function setConn(s, words) {
    $("conn").dataset.state = s;
    $("conn").textContent = words;
    if (s !== "open") sayNotice(true); // (its words are from before the cut)
    state.told = false; // opened (again): the station not heard yet on this stream
    page.dataset.stream = s === "open" ? "waiting" : s === "connecting" ? "connecting" : "lost";
  }

  /* The station heard on the stream (its readings, or its health saying none come): what this page says
     of the station's state now is what it was told. */
  function heard() {
    if (state.told) return;
    state.told = true;
    page.dataset.stream = "live"; // (walk.js: why its timer holds)
    sayNotice(false);
  }

  /* A walk's notice says the station's state at the time ("Measuring again: ..."): while this page cannot
     hear the station (cut off, or connected again and the station not heard yet) it is said as the station's
     words from before the cut, in the message box and in the walk panel (walk.js, "live:notice"); a notice
     that comes in the meanwhile (the events the page missed, replayed) is the station's newest word. */
  const NOTICE_BEFORE = "Before this page lost its connection, the station said: ";

  function sayNotice(before, text) {
    if (text !== undefined) {
      state.notice = tidy(text);
      state.noticeBefore = before;
      message(state.notice, "warn");
    } else {
      if (!state.notice || state.noticeBefore === before) return;
      const was = noticeLine();
      state.noticeBefore = before;
      if (!state.lines.includes(was)) return; // (the box says something else now)
      state.lines = state.lines.map((l) => (l === was ? noticeLine() : l));
      $("message").replaceChildren(...state.lines.map((l) => el("div", {}, l)));
    }
    share("notice", { line: noticeLine() });
  }

  function noticeLine() {
    return state.noticeBefore ? NOTICE_BEFORE + state.notice : state.notice;
  }

  function connect() {
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
    const url = "/api/live" + (state.lastEventId ? "?last_event_id=" + encodeURIComponent(state.lastEventId) : "");
    source = new EventSource(url);
    source.onopen = () => setConn("open", "live");
    source.addEventListener("frames", (ev) => { const doc = JSON.parse(ev.data); addFrames(doc); share("frames", doc); });
    source.addEventListener("gait", (ev) => share("gait", JSON.parse(ev.data)));
    source.addEventListener("health", (ev) => showHealth(JSON.parse(ev.data)));
    source.addEventListener("session", (ev) => {
      const doc = JSON.parse(ev.data);
      Station.sessionLeft(doc.expires_in_s, doc.held_by_trial);
    });
    source.addEventListener("status", (ev) => {
      state.lastEventId = ev.lastEventId || state.lastEventId;
      const doc = JSON.parse(ev.data);
      applyStatus(doc);
      share("status", doc);
    });
    source.addEventListener("trial", (ev) => {
      state.lastEventId = ev.lastEventId || state.lastEventId;
      const doc = JSON.parse(ev.data);
      const epoch = (ev.lastEventId || "").replace(/-\d+$/, "");
      if (epoch !== state.eventEpoch || Number(doc.seq) > state.eventSeq) {
        state.eventEpoch = epoch;
        state.eventSeq = Number(doc.seq);
      }
      applyEvent(doc);
      share("trial", doc);
    });
    source.addEventListener("logout", (ev) => {
      source.close();
      const doc = JSON.parse(ev.data || "{}");
      Station.goToLogin(doc.ended === "clock_set_back" ? "clock" : doc.ended || doc.expired !== false);
    });
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        // refused (signed out, too many viewers, server restarting): ask why, then retry
        setConn("reconnecting", "reconnecting…");
        api("GET", "/api/session/remaining", undefined, { background: true })
          .then(() => { retryTimer = setTimeout(connect, 2000); })
          .catch((err) => { if (err.status !== 401) retryTimer = setTimeout(connect, 3000); });
      } else {
        setConn("reconnecting", "reconnecting…"); // the browser retries by itself, resuming
      }
    };
  }

  /* -- choosing a test -------------------------------------------------------------------- */
  function renderConditions() {
    const p = state.protocols.find((x) => x.name === $("protocol-select").value);
    const box = $("conditions");
    box.replaceChildren();
    // the chosen test's whole name first: the list clips a long one on a tablet ("Modified Clinical Test of Sensor…")
    $("protocol-summary").replaceChildren(...(p ? [el("span", { class: "chosen-name" }, p.title), p.summary] : []));
    if (!p) return;
    for (const c of p.conditions) {
      box.append(el("label", { class: "check" },
        el("input", { type: "checkbox", name: "condition", value: c.id, checked: true }), c.label));
    }
  }

  async function loadChoices() {
    const wanted = page.dataset.patientId;
    try {
      const [protocols, patients] = await Promise.all([
        api("GET", "/api/protocols"),
        api("GET", "/api/patients?limit=500&sort=recent"),
      ]);
      state.protocols = protocols.protocols;
      const select = $("protocol-select");
      select.replaceChildren(...state.protocols.map((p) => el("option", { value: p.name }, p.title)));
      if (state.protocols.some((p) => p.name === "mctsib")) select.value = "mctsib";
      if (protocols.problem) showError($("page-error"), new Error("Clinic protocol files: " + protocols.problem));
      const ps = $("patient-select");
      for (const p of patients.patients) ps.append(el("option", { value: p.id }, p.identifier));
      if (wanted && ![...ps.options].some((o) => o.value === wanted)) { // not among the 500 seen last
        const p = await api("GET", `/api/patients/${wanted}`).catch(() => null);
        if (p && !p.archived) ps.append(el("option", { value: p.id }, p.identifier));
      }
      if (wanted && [...ps.options].some((o) => o.value === wanted) && !run()) ps.value = wanted;
      renderConditions();
      updateButtons();
      if (state.status) renderRun(); // the requested patient's identifier, now known, in the words about another's test
    } catch (err) {
      showError($("page-error"), err);
    }
  }

  /* Send a command; every control stays disabled from the tap until the station answers, so a
     double tap sends it once. */
  async function command(path, body) {
    showError($("page-error"), null);
    state.busy = true;
    updateButtons();
    const before = { trialState: state.trialState, run: !!run() };
    let opened = path === "/api/station/run"; // the test opened, or refused (its words in the error)
    try {
      const doc = await api("POST", path, body === undefined ? {} : body);
      state.busy = false;
      applyStatus(doc);
      share("status", doc);
    } catch (err) {
      state.startedAt = 0;
      // a test still being opened when its command's wait ran out (503) goes on: run_opened or its fault ends it;
      // its answer (how long, what to do if it never opens) says it in place of the opening's words, not as an error
      if (err.status === 503 && state.opening) {
        opened = false;
        const words = String(err.message || "");
        message(words.charAt(0).toUpperCase() + words.slice(1), "warn");
        onScreen($("message"));
        return;
      }
      // refused because the station is no longer where this page showed it (the tap raced a change: another
      // screen, the panel's button, an event not drawn yet): read where it is, draw it, and say so
      const moved = err.status === 409 && await readStatus().then(() => movedOnWords(path, before), () => "");
      if (moved) {
        showError($("page-error"), null);
        message(moved, "warn");
        onScreen($("message"));
      } else {
        showError($("page-error"), err);
        onScreen($("page-error"));
      }
    } finally {
      state.busy = false;
      if (opened) state.opening = false;
      updateButtons();
    }
  }

  /* A command refused (409) after the station moved on from what the page showed when it was tapped
     (``before``): what happened and where the station is now, in words, e.g. "The trial had already
     started: the station is waiting for the patient to stand still on the plate ..."; "" when it has
     not moved (the refusal's own words then). */
  function movedOnWords(path, before) {
    const r = run();
    const s = state.trialState;
    if (!!r === before.run && s === before.trialState) return "";
    if (!r) return "The station has no test open any more (it was ended, here or on another screen).";
    const lead = { "/api/station/start": "The trial had already started: ", "/api/station/stop": "The trial had already ended: ",
      "/api/station/end-hold": "The trial had already ended: " }[path] || "The station had moved on: ";
    // what it waits for as the station said it ("Waiting for the light gates' beams to be clear."), else in general
    const said = tidy(state.waitingWords).replace(/\.$/, "");
    const waits = said ? said.charAt(0).toLowerCase() + said.slice(1)
      : r.outcome === "walk" ? "the station is waiting for the patient to be ready at the start"
        : "the station is waiting for the patient to stand still on the plate";
    const now = {
      waiting: `${waits}. The countdown starts by itself then; Stop cancels this start.`,
      countdown: "the station is counting down; the recording starts in a moment.",
      recording: "the trial is recording.",
      checking: "the station is checking the trial that just ended.",
      instructions: "the next trial is ready to start; press Start when the patient is ready.",
    }[s] || (r.finished ? "the test is finished; see the results." : "see the trial's state above.");
    return lead + now;
  }

  /* The words refusing a tap (the disk full, no readings) where the clinician who tapped looks. On a
     phone they sit under the words to read, a screen below the bar of controls, and the tap seemed to
     do nothing: the page scrolls them onto the screen (above the bar) unless they are on it. */
  function onScreen(box) {
    if (box.hidden) return;
    const controls = $("controls");
    const bottom = getComputedStyle(controls).position === "fixed" ? controls.getBoundingClientRect().top : innerHeight;
    const r = box.getBoundingClientRect();
    if (r.top >= 0 && r.bottom <= bottom) return;
    window.scrollBy(0, r.top - Math.max(0, (bottom - r.height) / 2));
  }

  /* A protocol and condition in words ("mCTSIB, Firm surface, eyes open"), codes only for a
     protocol this station no longer has. */
  function testWords(name, condition) {
    const p = state.protocols.find((x) => x.name === name);
    const c = p && p.conditions.find((x) => x.id === condition);
    return `${p ? p.title.replace(/ \(.*\)$/, "") : name}, ${c ? c.label : String(condition).replace(/_/g, " ")}`;
  }

  /* Trials the station found interrupted when it started (a crash or a power cut). */
  function showInterrupted(list) {
    const box = $("interrupted");
    if (!list || !list.length) { box.hidden = true; return; }
    box.replaceChildren(el("strong", {}, "The station restarted during a trial. "),
      ...list.map((t) => el("div", {}, `${t.patient_identifier}: ${testWords(t.protocol, t.condition)} was interrupted; `,
        `its ${t.frame_count} frames are kept as a partial trial (not analysed). `,
        el("a", { href: `/sessions/${t.session_id}` }, "See the visit"), ". Repeat the condition if needed.")));
    box.hidden = false;
  }

  $("protocol-select").addEventListener("change", () => { renderConditions(); updateButtons(); });
  $("patient-select").addEventListener("change", () => { state.wanted = ""; updateButtons(); });
  $("open-run").addEventListener("click", () => {
    const conditions = [...document.querySelectorAll('#conditions input[name="condition"]:checked')].map((i) => i.value);
    if (!conditions.length) { showError($("page-error"), new Error("Choose at least one condition.")); return; }
    const walk = window.WalkPanel ? WalkPanel.runSettings() : { walk: null }; // walk.js: belt speed, minutes ...
    if (walk.error) { showError($("page-error"), new Error(walk.error)); return; }
    const game = window.GamePanel ? GamePanel.runSettings() : { training: null }; // game.js: game, level ...
    if (game.error) { showError($("page-error"), new Error(game.error)); return; }
    const los = window.LosPanel ? LosPanel.runSettings() : { los: null }; // los.js: the height, when entered
    if (los.error) { showError($("page-error"), new Error(los.error)); return; }
    message("");
    command("/api/station/run", { patient_id: Number($("patient-select").value), protocol: $("protocol-select").value, conditions,
      ...(walk.walk ? { walk: walk.walk } : {}), ...(game.training ? { training: game.training } : {}),
      ...(los.los ? { los: los.los } : {}) });
  });
  $("btn-start").addEventListener("click", () => {
    message("");
    state.startedAt = performance.now();
    command("/api/station/start").then(() => setTimeout(updateButtons, 5100));
  });
  $("btn-stop").addEventListener("click", () => { state.startedAt = 0; command("/api/station/stop"); });
  $("btn-repeat").addEventListener("click", () => { state.startedAt = 0; message(""); command("/api/station/repeat"); });
  $("btn-skip").addEventListener("click", () => { state.startedAt = 0; command("/api/station/skip"); });
  $("btn-score-unable").addEventListener("click", () => {
    const offer = run() && run().score_unable;
    const trials = offer && (offer.trials === 1 ? "trial" : `${offer.trials} trials`);
    if (!offer || !window.confirm(`${offer.label}: score the remaining ${trials} as unable (0 s) without measuring them? They are recorded as scored by you.`)) return;
    state.startedAt = 0;
    command("/api/station/score-unable");
  });
  $("btn-end-hold").addEventListener("click", () => command("/api/station/end-hold"));
  function endTest() {
    const r = run();
    const active = ["waiting", "countdown", "recording"].includes(state.trialState);
    if (active && !window.confirm("A trial is running. Stop it and end the test?")) return;
    command("/api/station/close");
    if (r && r.done.length) message("Test ended; its trials are stored.", "ok");
  }
  $("btn-close").addEventListener("click", endTest);
  $("other-patient-end").addEventListener("click", endTest);

  const choices = loadChoices(); // the protocols' names, also for the interrupted trials below
  Station.followHealth(); // the chip says what the status strip says (stationState)
  connect();
  Promise.all([api("GET", "/api/station", undefined, { background: true }), choices.catch(() => null)])
    .then(([doc]) => showInterrupted(doc.interrupted)).catch(() => {});
  setInterval(showRest, 500);
  requestAnimationFrame(render);
})();
