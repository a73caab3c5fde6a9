/* The programme page: where the patient is, adherence, the calendar of sessions and visits (dose,
   move, missed; running a visit's tests in order), dose per session, outcomes with MDC bands. */
"use strict";

(() => {
  const { api, el, unitsKept, quantity, change, changeUnit, showError, beltSpeed, beltSpeedFromKmh, when, walkedTime } = Station;
  const $ = (id) => document.getElementById(id);
  const page = $("programme-page");
  const assignmentId = Number(page.dataset.assignmentId);
  const patientId = Number(page.dataset.patientId);
  let doc = null;
  let selected = null; // {kind: "session"|"visit", id}
  let tests = {}; // protocol name -> {title, conditions: {id: label}} (GET /api/protocols)
  let ceilingOf = Charts.trialCeilings([]); // a measure's most (a time held's trial length), as the history's charts
  // on the clinic's hub: where the programme and each session's outcome were recorded (a station's name)
  let sources = { assigned_at: null, fields: {} };
  const placeName = (name) => (name === "hub" ? "the hub" : name);
  const recordedAt = (kind, key) => sources.fields[`${kind}.${key}.state`] || (kind === "visit" && sources.fields[`visit.${key}.runs`]) || null;

  /* A protocol and a condition in words (the codes only when the station no longer has the protocol). */
  const testTitle = (name) => (tests[name] ? tests[name].title.replace(/ \(.*\)$/, "") : name);
  /* A visit's test chip: its form named when another test reads alike without it (the two 3-metre backward walks,
     "from standing" and "speed over the middle 3 m of 5 m": the chip must say which one the programme measures). */
  const chipTitle = (name) => (tests[name] && Object.keys(tests).some((other) => other !== name && testTitle(other) === testTitle(name))
    ? tests[name].title : testTitle(name));
  const conditionLabel = (name, id) => (tests[name] && tests[name].conditions[id]) || String(id || "").replace(/_/g, " ");

  /* A dose's time walked against the plan, as every page says a time walked (Station.walkedTime): "30 min" done in
     full, "18 s of 30 min" or "12 min 24 s of 30 min" for a session stopped early (it read "0.3 of 30 min"). */
  const doneOfPlanned = (s) => (Math.round(s.minutes * 60) < Math.round(s.minutes_planned * 60)
    ? `${walkedTime(s.minutes)} of ${walkedTime(s.minutes_planned)}` : walkedTime(s.minutes));
  /* A session stopped with less than half its planned minutes walked is partial (the station's rule,
     doc.partial_below): not a full session, amber on the calendar, counted apart in the adherence. */
  const partialRule = () => `A session is partial when less than ${Math.round(100 * doc.partial_below)} % of its planned minutes were walked.`;
  const statusWord = (s) => (s.status === "done" && s.partial ? "partial" : s.status);
  /* The day a session was done, when it is not the day it was planned for: "done Sun, Dec 6 (planned Tue, Dec 8)". */
  const doneDay = (s) => (s.status === "done" && s.done_on && s.done_on !== s.planned_date
    ? `done ${day(s.done_on)} (planned ${day(s.planned_date)})${s.partial ? " · partial" : ""}` : null);
  /* A visit stays "planned" until every one of its tests is measured: one whose baseline quiet stance is measured
     says so, "1 of 5 tests measured", not "planned" (the programme PDF says each outcome's day measured). */
  const visitState = (v) => (v.status === "planned" && (v.done_protocols || []).length
    ? `${v.done_protocols.length} of ${v.protocols.length} tests measured` : v.status);
  const pct = (x) => (x === null || x === undefined ? "–" : `${Math.round(100 * x)} %`);
  const day = (iso) => new Date(iso + "T12:00:00Z").toLocaleDateString(undefined, { weekday: "short", month: "short", day: "numeric" });

  function bar(done, missed, planned, text) { // amounts of anything (minutes here) against the whole
    const share = (n) => `${planned ? (100 * n / planned).toFixed(1) : 0}%`;
    const doneBar = el("div", { class: "done" });
    const missedBar = el("div", { class: "missed" });
    doneBar.style.width = share(done); // CSSOM, allowed by the Content-Security-Policy (style attributes are not)
    missedBar.style.width = share(missed);
    missedBar.style.left = share(done);
    return el("div", { class: "adherence-bar", role: "img", "aria-label": text }, doneBar, missedBar, el("span", {}, unitsKept(text)));
  }

  function renderHead() {
    const t = doc.template.programme; // (the title and the way back come with the page: web/programme_pages.py)
    $("programme-status").textContent = doc.status === "paused" ? `paused since ${day(doc.paused_from)}` : doc.status;
    $("programme-summary").textContent = t.summary;
    // a programme written for other people than this patient (a stroke programme, no stroke recorded)
    $("population-warning").textContent = doc.population_warning || "";
    $("population-warning").hidden = !doc.population_warning;
    const pos = doc.position;
    let words;
    if (doc.status === "ended") words = `Ended on ${day(doc.ended_on)}: ${doc.end_reason}`;
    else if (pos.week === 0) words = `Starts on ${day(doc.start_date)}`;
    else words = `Week ${pos.week} of ${pos.weeks}`;
    if (pos.next_session && doc.status !== "ended") words += ` · next session ${day(pos.next_session.planned_date)}`;
    if (pos.next_visit && doc.status !== "ended") {
      const v = pos.next_visit; // a date already past is not "next": it is due and not yet run
      words += v.planned_date < doc.today ? ` · assessment ${v.label} due since ${day(v.planned_date)}, not yet run`
        : ` · next assessment ${v.label}, ${day(v.planned_date)}`;
    }
    if (pos.overdue_sessions) words += ` · ${pos.overdue_sessions} past session(s) without a dose`;
    $("programme-position").textContent = words;
    const stations = [...new Set(Object.values(sources.fields))].sort();
    const origin = $("programme-origin");
    origin.hidden = !sources.assigned_at && !stations.length;
    if (page.dataset.hub) {
      origin.textContent = (sources.assigned_at ? `Assigned at station ${sources.assigned_at}. ` : "Assigned on the hub. ")
        + (stations.length ? `Sessions and visits recorded at a station are marked with its name (${stations.join(", ")}); the others were recorded on the hub.`
          : "Every session was recorded on the hub.");
    } else {
      origin.textContent = `Some sessions were recorded elsewhere and taken from the clinic's hub; they are marked with where (${stations.map(placeName).join(", ")}).`;
    }
  }

  function renderAdherence() {
    const a = doc.adherence;
    const o = a.overall;
    const rows = a.weeks.map((w) => el("tr", {},
      el("td", {}, `Week ${w.week}`),
      el("td", { class: "num" }, `${w.sessions_done} / ${w.sessions_planned}` + (w.sessions_partial ? ` (${w.sessions_partial} partial)` : "")),
      el("td", { class: "num" }, w.sessions_missed),
      el("td", { class: "num hide-narrow" }, unitsKept(`${walkedTime(w.minutes_done)} / ${walkedTime(w.minutes_planned)}`)),
      // a phone (the column above hidden): the minutes under their share, not the share alone (R's L9)
      el("td", { class: "num" }, unitsKept(pct(w.minutes_done_of_planned)),
        el("span", { class: "only-narrow walked-of-planned" }, unitsKept(`${walkedTime(w.minutes_done)} / ${walkedTime(w.minutes_planned)}`)))));
    const missed = a.missed.length
      ? el("ul", { id: "missed-list" }, a.missed.map((m) => el("li", {}, `Session ${m.number} (week ${m.week}, ${day(m.planned_date)}): ${m.reason}`)))
      : el("p", { class: "muted" }, "No session missed.");
    // the dose leads: minutes walked of the minutes due so far (three sessions stopped after a minute
    // are 100 % of sessions due and 5 % of the training); the sessions beside it, full and partial apart
    const missedMinutes = doc.sessions.filter((x) => x.status === "missed").reduce((sum, x) => sum + x.minutes_planned, 0);
    const ofDue = o.minutes_due > 0;
    const headline = ofDue
      ? `Walked ${walkedTime(o.minutes_done)} of ${walkedTime(o.minutes_due)} due so far (${pct(o.minutes_done_of_due)})`
      : (o.minutes_done > 0 ? `Walked ${walkedTime(o.minutes_done)}; no session due yet` : "No session due yet");
    const kinds = [o.sessions_full ? `${o.sessions_full} full` : null, o.sessions_partial ? `${o.sessions_partial} partial` : null,
      o.done_without_dose ? `${o.done_without_dose} without minutes` : null].filter(Boolean);
    $("adherence").replaceChildren(
      bar(o.minutes_done, missedMinutes, ofDue ? Math.max(o.minutes_due, o.minutes_done) : o.minutes_planned, headline),
      el("p", { id: "adherence-sessions" }, unitsKept(`Sessions: ${o.sessions_done} done of ${o.sessions_due} due so far`
        + (kinds.length ? ` (${kinds.join(", ")})` : "") + `; ${o.sessions_planned} planned, ${walkedTime(o.minutes_planned)} in all.`
        + (o.sessions_missed ? ` ${o.sessions_missed} missed.` : "")
        + (o.sessions_cancelled ? ` ${o.sessions_cancelled} session(s) cancelled when the programme ended.` : ""))),
      el("p", { class: "muted small", id: "partial-rule" }, partialRule()),
      el("table", { class: "list", id: "adherence-weeks" },
        el("thead", {}, el("tr", {}, el("th", {}, "Week"), el("th", { class: "num" }, "Sessions done"), el("th", { class: "num" }, "Missed"),
          el("th", { class: "num hide-narrow" }, "Walked / planned"),
          el("th", { class: "num" }, "% of plan", el("span", { class: "only-narrow" }, "walked / planned")))),
        el("tbody", {}, rows)),
      el("h3", {}, "Missed sessions"), missed);
  }

  function renderCalendar() {
    const byWeek = new Map();
    const add = (week, node) => { if (!byWeek.has(week)) byWeek.set(week, []); byWeek.get(week).push(node); };
    for (const v of doc.visits) {
      // The visit after week k opens week k+1's row (week 0: the baseline, before week 1).
      add(v.week === 0 ? 0 : v.week + 0.5, el("button", {
        type: "button", class: "cal-item visit" + (v.planned_date === doc.today ? " today" : ""),
        dataset: { status: v.status, visitId: v.id }, onclick: () => select("visit", v.id),
      }, el("strong", {}, v.label), `${day(v.planned_date)} · ${visitState(v)}`,
        recordedAt("visit", v.assessment_id) && v.status !== "planned" ? el("span", { class: "recorded-at" }, ` at ${placeName(recordedAt("visit", v.assessment_id))}`) : ""));
    }
    for (const s of doc.sessions) {
      const d = s.minutes !== null && s.minutes !== undefined ? ` · ${doneOfPlanned(s)}` : "";
      // a session done on another day says the day it was done (it stays in the week it was prescribed for)
      const words = doneDay(s) ? `${doneDay(s)}${d}` : `${day(s.planned_date)} · ${statusWord(s)}${d}`;
      add(s.week, el("button", {
        type: "button", class: "cal-item session" + (s.planned_date === doc.today ? " today" : ""),
        dataset: { status: s.status, sessionId: s.id, number: s.number, ...(s.partial ? { partial: "yes" } : {}) },
        onclick: () => select("session", s.id),
      }, el("strong", {}, `Session ${s.number}`), el("span", {}, unitsKept(words)), // (a flex column: one item)
        recordedAt("session", s.number) && s.status !== "planned" ? el("span", { class: "recorded-at" }, ` at ${placeName(recordedAt("session", s.number))}`) : ""));
    }
    const keys = [...byWeek.keys()].sort((a, b) => a - b);
    $("calendar").replaceChildren(el("div", { class: "calendar" }, keys.flatMap((k) => [
      el("div", { class: "week-label" }, k === 0 ? "Baseline" : Number.isInteger(k) ? `Week ${k}` : `After week ${k - 0.5}`),
      el("div", { class: "week-items" }, byWeek.get(k)),
    ])));
  }

  function field(label, attrs) {
    return el("label", {}, label, el("input", attrs));
  }

  async function act(method, path, body, box) {
    try {
      await api(method, path, body);
      await load();
    } catch (err) {
      showError(box, err);
    }
  }

  /* Where a refused run (the station's disk full, a test already open) is said: under its button, not
     at the panel's end, a screen further down past the dose forms, where the tap seemed to do nothing. */
  function runRefusalBox(id) {
    return el("div", { class: "error-box", hidden: true, id, role: "alert" });
  }

  function sessionPanel(s) {
    const box = el("div", { class: "error-box", hidden: true, id: "panel-error" });
    const current = doc.status !== "ended";
    const parts = [el("h3", {}, `Session ${s.number} · week ${s.week} · ` + (doneDay(s) || `${day(s.planned_date)} · ${statusWord(s)}`))];
    if (s.partial) parts.push(el("p", { class: "partial-note" }, unitsKept(`Partial: ${doneOfPlanned(s)} walked. ${partialRule()}`)));
    if (recordedAt("session", s.number) && s.status !== "planned") {
      const where = recordedAt("session", s.number);
      parts.push(el("p", { class: "recorded-at", id: "session-recorded-at" }, where === "hub" ? "Recorded on the clinic's hub" : `Recorded at station ${where}`));
    }
    if (s.status === "done") {
      parts.push(el("p", { id: "dose-recorded" }, unitsKept(`Dose (${s.source === "measured" ? `measured, trial #${s.trial_id}` : "entered by hand"}): `
        + [s.minutes !== null ? doneOfPlanned(s) : null, s.steps !== null && s.steps !== undefined ? `${s.steps} steps` : null,
          // a treadmill session's speed is its belt's, entered in km/h: said once, as entered (before, "0.60 m/s" as well)
          s.cadence_steps_min ? quantity(s.cadence_steps_min, "steps/min") : null,
          s.speed_m_s && !(s.belt_speed_m_s && Math.abs(s.speed_m_s - s.belt_speed_m_s) < 1e-9) ? quantity(s.speed_m_s, "m/s") : null,
          s.belt_speed_m_s ? `belt ${beltSpeed(s.belt_speed_m_s)}` : null, s.rpe ? `RPE ${s.rpe}` : null].filter(Boolean).join(", ")
        + ` — ${s.recorded_by}, ${when(s.recorded_at)}`))); // the dates of the station's pages (Station.when), not "12/5/2026"
      if (s.notes) parts.push(el("p", { class: "muted" }, s.notes));
    }
    if (s.status === "missed") parts.push(el("p", {}, `Missed: ${doc.sessions.find((x) => x.id === s.id).missed_reason || ""}`));
    if (s.status !== "cancelled") {
      const form = el("form", { class: "grid-form", id: "dose-form" },
        // minutes to a tenth, as a person types them (a measured 1.982 read as a typo); the dose keeps its own until saved
        field("Minutes", { type: "number", name: "minutes", min: 0, max: 240, step: "any", required: true,
          value: Math.round(10 * (s.minutes ?? s.minutes_planned)) / 10 }),
        // the day it was done, not the day it was planned for (late paperwork: yesterday's session)
        field("Done on", { type: "date", name: "done_on", max: doc.today, required: true, value: s.done_on || doc.today }),
        // a recorded dose fills the form: saving it again (to correct the minutes) keeps what was entered
        field("Belt speed (km/h, as the treadmill shows it)", { type: "number", name: "belt_speed_kmh", min: 0.2, max: 10.8, step: "0.1",
          value: s.belt_speed_m_s ? (Number(s.belt_speed_m_s) * 3.6).toFixed(1) : "" }),
        field("Perceived exertion (Borg 6–20)", { type: "number", name: "rpe", min: 6, max: 20, step: 1, value: s.rpe ?? "" }),
        field("Notes", { name: "notes", maxlength: 1000, value: s.notes ?? "" }));
      const sessionProtocol = doc.template.schedule.session_protocol;
      const trialForm = el("form", { class: "grid-form", id: "trial-form" },
        field("Walking trial # (measured by the station)", { type: "number", name: "trial_id", min: 1, step: 1 }));
      // a session given its dose: the ways to give one fold away under one line (a tap on a trial took it; the
      // trial-number button below it then read as a step still to do, and answered an empty number in red)
      const changing = s.status === "done" ? el("details", { id: "change-dose" }, el("summary", {}, "Change this session's dose")) : null;
      const into = changing ? { push: (...nodes) => changing.append(...nodes) } : parts;
      if (changing) parts.push(changing);
      into.push(el("h3", {}, "Dose entered by hand"), form, el("div", { class: "actions" },
        el("button", { type: "button", class: "go", id: "save-dose", onclick: () => {
          const f = new FormData(form);
          const body = { minutes: Number(f.get("minutes")) };
          if (f.get("done_on")) body.done_on = String(f.get("done_on"));
          if (f.get("belt_speed_kmh")) body.belt_speed_m_s = beltSpeedFromKmh(f.get("belt_speed_kmh"));
          if (f.get("rpe")) body.rpe = Number(f.get("rpe"));
          if (f.get("notes")) body.notes = String(f.get("notes"));
          act("POST", `/api/programme-sessions/${s.id}/dose`, body, box);
        } }, "Save dose")));
      // newest first, as the station lists them: only the session protocol's when the programme names one;
      // else grouped under each protocol's full title (the two 3-metre backward walk forms differ only there)
      const trialButton = (t) => el("button", {
        type: "button", class: "secondary walking-trial", dataset: { trialId: t.id, protocol: t.protocol }, onclick: () =>
          act("POST", `/api/programme-sessions/${s.id}/dose`, { trial_id: t.id }, box),
      }, el("span", {}, unitsKept(`Trial #${t.id} (${when(t.started_at)}): ${walkedTime(t.dose.minutes)}, ${t.dose.steps} steps`)));
      const walked = doc.walking_trials || [];
      const groups = [...new Set(walked.map((t) => t.protocol))];
      const offered = groups.map((p) => el("div", { class: "walking-trials", dataset: { protocol: p } },
        el("h4", { class: "walking-trials-title" }, tests[p] ? tests[p].title : p),
        el("div", { class: "actions" }, walked.filter((t) => t.protocol === p).map(trialButton))));
      if (sessionProtocol && current && s.status !== "done") {
        const belt = el("input", { type: "number", id: "run-belt-speed", min: 0.2, max: 10.8, step: "0.1", placeholder: "km/h" });
        const refused = runRefusalBox("run-session-error");
        parts.push(el("h3", {}, "Record this session on the station"), el("div", { class: "actions" },
          el("label", {}, "Belt speed (km/h) ", belt),
          el("button", { type: "button", class: "go", id: "run-session", onclick: async () => {
            try {
              await api("POST", `/api/programme-sessions/${s.id}/run`, belt.value ? { belt_speed_m_s: beltSpeedFromKmh(belt.value) } : {});
              window.location.assign(`/live?patient=${patientId}&programme=${assignmentId}`);
            } catch (err) { showError(refused, err); }
          } }, el("span", {}, unitsKept(`Start ${testTitle(sessionProtocol)} (${walkedTime(s.minutes_planned)})`)))), refused);
      }
      into.push(el("h3", {}, "Dose measured by the station"),
        offered.length ? el("div", { id: "walking-trials" }, offered)
          : el("p", { class: "muted small" }, sessionProtocol
            ? `No ${testTitle(sessionProtocol)} of this patient waits for a session: record one on the station, or give a trial number.`
            : "No walking trial of this patient waits for a session; record one on the live view, or give a trial number."),
        trialForm, el("div", { class: "actions" },
        el("button", { type: "button", class: "secondary", id: "link-trial", onclick: () => {
          const n = Number(new FormData(trialForm).get("trial_id"));
          if (!n) { showError(box, new Error("Type a trial's number first, or tap one of the trials above.")); return; }
          act("POST", `/api/programme-sessions/${s.id}/dose`, { trial_id: n }, box);
        } }, "Take the dose from this trial")));
    }
    if (s.status === "planned" && current) {
      const move = el("input", { type: "date", id: "move-date", value: s.planned_date });
      const reason = el("input", { id: "missed-reason", maxlength: 200, placeholder: "why" });
      parts.push(el("div", { class: "actions" }, el("label", {}, "Move to ", move),
        el("button", { type: "button", class: "secondary", id: "move-session", onclick: () =>
          act("PATCH", `/api/programme-sessions/${s.id}`, { planned_date: move.value }, box) }, "Move")),
      el("div", { class: "actions" }, el("label", {}, "Missed because ", reason),
        el("button", { type: "button", class: "danger", id: "miss-session", onclick: () =>
          act("POST", `/api/programme-sessions/${s.id}/missed`, { reason: reason.value }, box) }, "Mark missed")));
    }
    parts.push(box);
    return parts;
  }

  function visitPanel(v) {
    const box = el("div", { class: "error-box", hidden: true, id: "panel-error" });
    const current = doc.status !== "ended";
    const parts = [el("h3", {}, `${v.label} · ${day(v.planned_date)} · ${visitState(v)}`),
      el("p", {}, "Tests, in order: ", v.protocols.map((p) => {
        const run = v.runs.filter((r) => r.protocol === p && r.complete_trials > 0).pop();
        return el("span", { class: "tag" + (run ? " valid" : "") }, run ? el("a", { href: `/sessions/${run.session_id}` }, chipTitle(p)) : chipTitle(p));
      }))];
    // tests measured on the visit's day before the programme was started (the usual order: measure, then enrol)
    // are offered as the visit's, each in one tap (review s24 F5: they read "Not measured yet")
    if (current && (v.offered_runs || []).length) {
      const refused = runRefusalBox("take-run-error");
      parts.push(el("h4", {}, `Measured on ${day(v.planned_date)}, not yet this visit's`),
        el("div", { class: "actions", id: "offered-runs" }, v.offered_runs.map((r) => el("button", {
          type: "button", class: "secondary offered-run", dataset: { sessionId: r.session_id, protocol: r.protocol },
          onclick: () => act("POST", `/api/programme-visits/${v.id}/sessions`, { protocol: r.protocol, session_id: r.session_id }, refused),
        }, `Use the ${testTitle(r.protocol)} of ${Station.clock(r.started_at)} as the ${v.label}`))), refused);
    }
    if (current && v.status !== "missed" && v.status !== "cancelled") {
      const next = v.next_protocol;
      const refused = runRefusalBox("run-visit-error");
      parts.push(el("div", { class: "actions" },
        el("button", { type: "button", class: "go big", id: "run-visit", disabled: !next, onclick: async () => {
          try {
            await api("POST", `/api/programme-visits/${v.id}/run`, {});
            window.location.assign(`/live?patient=${patientId}&programme=${assignmentId}`);
          } catch (err) { showError(refused, err); }
        } }, next ? `Run the next test: ${testTitle(next)}` : "Every test has run")), refused);
    }
    if (v.status === "planned" && current) {
      const move = el("input", { type: "date", id: "move-visit-date", value: v.planned_date });
      const reason = el("input", { id: "visit-missed-reason", maxlength: 200, placeholder: "why" });
      parts.push(el("div", { class: "actions" }, el("label", {}, "Move to ", move),
        el("button", { type: "button", class: "secondary", id: "move-visit", onclick: () =>
          act("PATCH", `/api/programme-visits/${v.id}`, { planned_date: move.value }, box) }, "Move")),
      el("div", { class: "actions" }, el("label", {}, "Missed because ", reason),
        el("button", { type: "button", class: "danger", id: "miss-visit", onclick: () =>
          act("POST", `/api/programme-visits/${v.id}/missed`, { reason: reason.value }, box) }, "Mark missed")));
    }
    parts.push(box);
    return parts;
  }

  function select(kind, id) {
    selected = { kind, id };
    renderPanel();
  }

  function renderPanel() {
    const panel = $("item-panel");
    if (!selected) { panel.hidden = true; return; }
    const item = selected.kind === "session" ? doc.sessions.find((s) => s.id === selected.id) : doc.visits.find((v) => v.id === selected.id);
    if (!item) { panel.hidden = true; return; }
    panel.replaceChildren(...(selected.kind === "session" ? sessionPanel(item) : visitPanel(item)));
    panel.dataset.kind = selected.kind;
    panel.hidden = false;
  }

  /* Drawn at the width of its box, so its 12-px labels stay 12 px (a 560-px drawing scaled to a tablet's 1120-px card
     set them at 24 px, to a phone's 350 px at 7 px), and again when that width changes (a tablet turned). */
  let doseDrawnAt = 0;
  function doseChart() {
    doseDrawnAt = $("dose-chart").clientWidth;
    const W = Math.max(300, Math.round(doseDrawnAt || 560)), H = 200, padL = 40, padB = 28, padT = 12;
    const S = "http://www.w3.org/2000/svg"; // an XML namespace name, not a download
    const svg = (tag, attrs, text) => {
      const n = document.createElementNS(S, tag);
      for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
      if (text !== undefined) n.textContent = text;
      return n;
    };
    const sessions = doc.sessions;
    const top = Math.max(1, ...sessions.map((s) => Math.max(s.minutes_planned, s.minutes || 0))) * 1.1;
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart dose", role: "img", "aria-label": "minutes per session against the plan" });
    const bw = (W - padL - 8) / Math.max(1, sessions.length);
    const Y = (v) => H - padB - v / top * (H - padT - padB);
    const step = Charts.niceStep(top, 4);
    for (let g = 0; g <= top; g += step) {
      root.append(svg("line", { x1: padL, x2: W - 8, y1: Y(g), y2: Y(g), stroke: "#e1e6eb" }));
      root.append(svg("text", { x: padL - 4, y: Y(g) + 4, "text-anchor": "end" }, Math.round(g)));
    }
    sessions.forEach((s, i) => {
      const x = padL + i * bw;
      root.append(svg("rect", { x: x + bw * 0.15, width: bw * 0.7, y: Y(s.minutes_planned), height: H - padB - Y(s.minutes_planned),
        fill: "none", stroke: "#9aa5b1", "stroke-dasharray": "3 2" }));
      if (s.minutes !== null && s.minutes !== undefined) {
        const r = svg("rect", { x: x + bw * 0.15, width: bw * 0.7, y: Y(s.minutes), height: H - padB - Y(s.minutes),
          fill: s.source === "measured" ? "#1f4e79" : "#5b8fc7", class: "dose-bar" });
        r.append(svg("title", {}, `Session ${s.number}: ${doneOfPlanned(s)} (${s.source})`));
        root.append(r);
      } else if (s.status === "missed") {
        root.append(svg("text", { x: x + bw / 2, y: H - padB - 4, "text-anchor": "middle", fill: "#a32020" }, "×"));
      }
      root.append(svg("text", { x: x + bw / 2, y: H - 10, "text-anchor": "middle" }, s.number));
    });
    root.append(svg("text", { x: 4, y: 10 }, "min"));
    $("dose-chart").replaceChildren(root, el("p", { class: "muted small" },
      "Bars: minutes done (dark: measured by the station, light: entered by hand); dashed: minutes planned; ×: missed."));
  }

  /* An outcome's value placed at the day its test was measured (measured_on: the clinic's day of the station session
     it came from), not the visit's planned day: a baseline taken two days late sat on its planned day. Its tooltip
     says the planned day when that was another, "Baseline, measured Mon, Dec 7 (planned Sat, Dec 5): 1.50 cm/s", as
     the programme PDF's Visit column says it (programme_report.visit_words). */
  function outcomePoint(p, unit, held) {
    const on = p.measured_on || p.date;
    // a time held as every page says it: one decimal, 0 s "0 s (unable)"
    return { date: new Date(on + "T12:00:00Z"), value: p.value, text: held ? Station.timeHeld(p.value) : quantity(p.value, unit),
      label: on === p.date ? p.label : `${p.label}, measured ${day(on)} (planned ${day(p.date)})` };
  }

  /* A time held's change as the history says it (programmes.change: from or to an unable, 0 s, the MDC is not read,
     report.unable_change_words): from what to what, "from unable (0 s) at baseline to 12.5 s"; else in the precision
     the test is scored in, "+12.5 s from baseline" (it read "+12.46 s"). */
  const said = (v) => (Number(v) === 0 ? "unable (0 s)" : Station.timeHeld(v));
  function changeWords(o, c) {
    if (o.metric !== "time_held_s") return `${change(c.difference, o.unit)} from baseline`;
    const base = o.points[0].value, to = (o.points.find((p) => p.assessment_id === c.to) || {}).value;
    if ((base === 0 || to === 0) && Number.isFinite(base) && Number.isFinite(to)) return `from ${said(base)} at baseline to ${said(to)}`;
    return `${Station.heldChange(c.difference)} from baseline`;
  }

  function outcomeCard(o) {
    const measured = o.points.filter((p) => p.value !== null);
    const held = o.metric === "time_held_s";
    // no MDC band around an unable (0 s) baseline: it is not read from it (the history's rule, history.js unableUnshaded)
    const shaded = o.mdc && !(held && measured.length && measured[0].value === 0);
    const chart = measured.length
      ? Charts.history(measured.map((p) => outcomePoint(p, o.unit, held)), { mdc: shaded ? o.mdc.value : null, unit: o.unit, label: o.label,
        zeroIsUnable: held,
        // a time held's band stops at the trial's length, as the history page's and both PDFs' (it reached 54.1 s)
        ceiling: ceilingOf(o.metric, o.protocol),
        // amounts from zero (a flat 30 s is not a zoomed line); a left/right split around 50 %
        ...(o.metric === "weight_left_pct" ? { around: 50 } : { floor: 0 }) })
      : el("p", { class: "muted" }, o.points.some((p) => (doc.visits.find((v) => v.id === p.visit_id)?.offered_runs || [])
        .some((r) => r.protocol === o.protocol))
        ? "Not measured yet for the programme: a test of the visit's day waits to be taken (tap the visit on the calendar)."
        : "Not measured yet.");
    const better = o.better === "lower" ? "lower is better" : "higher is better";
    const changes = o.changes.length
      ? el("ul", {}, o.changes.map((c) => el("li", { dataset: { verdict: c.verdict } },
        unitsKept(`${c.label}: ${changeWords(o, c)} `),
        el("span", { class: "tag verdict-" + c.verdict.replace(/ /g, "-") }, c.verdict),
        // an MDC published per phase of the stroke (DeMark): the change against each, in words
        c.mdc_reading ? el("div", { class: "muted small mdc-reading" }, unitsKept(c.mdc_reading)) : null)))
      : el("p", { class: "muted" }, "A change shows once the baseline and a later visit are measured.");
    const source = o.mdc
      ? el("p", { class: "muted small mdc-source" }, unitsKept((o.mdc.phases
        // the unit's rule of every page (Station.num: "MDC 0.61 cm/s", as the visit and history pages say it)
        ? `MDC ${o.mdc.phases.map((p) => `${quantity(p.value, changeUnit(o.unit))} ${p.phase}`).join(", ")}`
        // a time held's in the precision the test is scored in ("24.1 s", as the history says it)
        : `MDC ${held ? Station.timeHeld(o.mdc.value) : quantity(o.mdc.value, changeUnit(o.unit))}`)
        // no band drawn around an unable baseline: why, as the history says it (the page's words above promise a band)
        + (shaded ? "" : " (not shaded: it is not read from or to an unable, 0 s)") + `: ${o.mdc.population}. ${o.mdc.citation}`))
      // none: why, and what it means for the changes above, in the words of the PDF (programme report's mdc_words)
      : el("p", { class: "muted small mdc-source" }, unitsKept(o.mdc_words));
    return el("div", { class: "card outcome", dataset: { key: o.key } },
      el("h3", {}, o.label), el("p", { class: "muted small" }, `${testTitle(o.protocol)} · ${conditionLabel(o.protocol, o.condition)} · ${better}`),
      chart, changes, source);
  }

  function renderOutcomes() {
    $("outcomes").replaceChildren(...doc.outcome_groups.map((g) => el("section", { class: "outcome-group" },
      el("h3", {}, g.group), el("div", { class: "outcome-grid" }, g.outcomes.map(outcomeCard)))));
  }

  function renderTemplate() {
    const t = doc.template;
    const s = t.schedule;
    const steps = (s.progression || []).map((p) => el("li", {}, unitsKept(`From week ${p.from_week}: ` + [
      p.belt_speed_m_s ? `belt ${beltSpeed(p.belt_speed_m_s)}` : null, p.incline_pct !== undefined && p.incline_pct !== null ? `incline ${p.incline_pct} %` : null,
      p.minutes_per_session ? `${p.minutes_per_session} min` : null, p.note || null].filter(Boolean).join("; "))));
    $("template").replaceChildren(
      el("p", {}, `${s.sessions_per_week} sessions a week for ${s.weeks} weeks, ${s.minutes_per_session} minutes each.`),
      steps.length ? el("ul", {}, steps) : "",
      t.programme.notes ? el("p", { class: "muted" }, t.programme.notes) : "",
      el("ul", { id: "references" }, (t.references || []).map((r) => el("li", {}, r.citation,
        r.doi ? ` doi:${r.doi}` : ""))));
  }

  function manage(action) {
    const body = {};
    const date = $("manage-date").value;
    const reason = $("manage-reason").value;
    if (action === "resume") { if (date) body.on_date = date; }
    else { body.reason = reason; if (date) body[action === "pause" ? "from_date" : "on_date"] = date; }
    if (action === "end" && !window.confirm("End the programme early? Its remaining sessions and visits are cancelled.")) return;
    act("POST", `/api/assignments/${assignmentId}/${action}`, body, $("manage-error"));
  }

  async function load() {
    try {
      const [assignment, list] = await Promise.all([api("GET", `/api/assignments/${assignmentId}`),
        api("GET", "/api/protocols").catch(() => ({ protocols: [] }))]);
      doc = assignment;
      sources = await api("GET", page.dataset.hub ? `/api/hub/assignments/${assignmentId}/sources`
        : `/api/assignments/${assignmentId}/recorded-elsewhere`).catch(() => sources);
      ceilingOf = Charts.trialCeilings(list.protocols);
      tests = Object.fromEntries(list.protocols.map((x) => [x.name, { title: x.title,
        conditions: Object.fromEntries(x.conditions.map((c) => [c.id, c.label])) }]));
      showError($("page-error"), null);
      renderHead();
      renderAdherence();
      renderCalendar();
      renderPanel();
      doseChart();
      renderOutcomes();
      renderTemplate();
      const ended = doc.status === "ended";
      $("pause-button").disabled = ended || doc.status === "paused";
      $("resume-button").disabled = doc.status !== "paused";
      $("end-button").disabled = ended;
      page.dataset.loaded = "yes";
    } catch (err) {
      showError($("page-error"), err);
    }
  }

  // a phone: the prescription and its sources on demand (the calendar and outcomes come first)
  if (window.matchMedia("(max-width: 600px)").matches) $("template-card").open = false;
  window.addEventListener("resize", () => { if (doc && $("dose-chart").clientWidth !== doseDrawnAt) doseChart(); });
  $("pause-button").addEventListener("click", () => manage("pause"));
  $("resume-button").addEventListener("click", () => manage("resume"));
  $("end-button").addEventListener("click", () => manage("end"));
  load();
})();
