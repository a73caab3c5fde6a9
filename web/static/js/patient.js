/* One patient: details, edit, archive, erase (administrators, with confirmation), sessions. */
"use strict";

(() => {
  const { api, el, fmt, when, showError, showFieldErrors } = Station;
  const $ = (id) => document.getElementById(id);
  const page = $("patient-page");
  const id = Number(page.dataset.patientId);
  let patient = null;
  let protocols = {}; // name -> {title, conditions: {id: label}}
  let labels = null; // condition tag -> words

  /* A title without its last words in brackets: "… (mCTSIB)" -> "mCTSIB", "… (from standing)" -> "…". */
  function shortTitle(title) {
    const short = title.match(/\(([^ )]+)\)$/);
    return short ? short[1] : title.replace(/ \(.*\)$/, "");
  }

  /* A protocol's name as the page says it: short, unless another protocol's short name is the same (the
     3-metre backward walk from standing and over the middle 3 m of 5 m both read "3-metre backward walk
     test", a visit with both "run 2 times"): then its whole title. */
  function protocolName(name) {
    const p = protocols[name];
    if (!p) return name;
    const short = shortTitle(p.title);
    const shared = Object.values(protocols).filter((q) => shortTitle(q.title) === short).length > 1;
    return shared ? p.title : short;
  }

  /* The condition in words; the test's name too when the session mixes tests. */
  function testName(t, mixed) {
    const p = protocols[t.protocol];
    const condition = (p && p.conditions[t.condition]) || t.condition.replace(/_/g, " ");
    if (!mixed) return condition;
    return `${protocolName(t.protocol)} · ${condition}`;
  }

  /* A session's test: its label, else the protocol's title (short; whole where two protocols share it). */
  function testOf(s) {
    const names = [...new Set(s.trials.map((t) => t.protocol))];
    if (names.length === 1 && protocols[names[0]] && (!s.label || shortTitle(s.label) === shortTitle(protocols[names[0]].title))) {
      return protocolName(names[0]);
    }
    return shortTitle(s.label || "session");
  }

  /* The tests of a visit, each once ("mCTSIB (run 3 times), Single-leg stance…"). */
  function testsOf(group) {
    const counts = new Map();
    for (const s of group) counts.set(testOf(s), (counts.get(testOf(s)) || 0) + 1);
    return [...counts].map(([name, n]) => (n > 1 ? `${name} (run ${n} times)` : name)).join(", ");
  }

  /* Sessions grouped into visits, newest first: sessions with trials chained by gaps under 3 h,
     as the results page's visit (station.protocols.report.VISIT_GAP_S); one card and one Results
     button per visit. */
  const VISIT_GAP_MS = 3 * 3600 * 1000;
  function visits(sessions) {
    const start = (s) => Date.parse(s.started_at);
    const tested = sessions.filter((s) => s.trials.length).sort((a, b) => start(a) - start(b) || a.id - b.id);
    const groups = [];
    for (const s of tested) {
      const last = groups[groups.length - 1];
      if (last && start(s) - start(last[last.length - 1]) < VISIT_GAP_MS) last.push(s); else groups.push([s]);
    }
    for (const s of sessions) if (!s.trials.length) groups.push([s]);
    return groups.sort((a, b) => start(b[0]) - start(a[0]));
  }

  /* A walk test's trial (the 10-metre walk, the backward walk): its recording's length is not its walk
     time, and it has no sway. */
  const isWalk = (t) => !!(protocols[t.protocol] && protocols[t.protocol].walk);

  /* A walk trial's time and speed as stored with its result (the trials listing's metrics): over the timed
     distance from the gates; a treadmill session's time walking and the belt speed entered. */
  function walkCells(t, stance) {
    const m = t.metrics || {};
    if (!isWalk(t)) return [el("td", {}), el("td", {})];
    const has = (v) => v !== null && v !== undefined;
    const treadmill = protocols[t.protocol].treadmill;
    // a number and its unit on one line (a phone's narrow column broke "1.18 m/s" after the number); the words
    // after them may wrap
    const time = !has(m.walk_time_s) ? ["–"] : Station.unitsKept(treadmill ? `${Station.walkedTime(m.walk_time_s / 60)} walking` : `${fmt(m.walk_time_s, 2)} s`);
    const speed = !has(m.walk_speed_m_s) ? ["–"] : Station.unitsKept(treadmill ? `${fmt(m.walk_speed_m_s * 3.6, 1)} km/h belt` : `${fmt(m.walk_speed_m_s, 2)} m/s`);
    // a walk's recording runs before and after the walk: said under its time, not as a bare length that reads as it
    // (beside standing tests, in their "Length" column)
    return [el("td", { class: "num walk-time" }, ...time, stance ? null : " ",
      stance ? null : el("div", { class: "small muted recorded" }, Station.unitsKept(`recorded ${fmt(t.duration_s, 1)} s`))),
    el("td", { class: "num walk-speed" }, ...speed)];
  }

  /* A timed hold's time held: "30.0 s", "unable: did not lift a foot" (the hold never began), "–" (none measured). */
  function heldCell(t) {
    if (!(protocols[t.protocol] || {}).timed) return el("td", { class: "num" }, "");
    if (t.unable === "measured") return el("td", { class: "held unable" }, "unable: did not lift a foot");
    if (t.unable === "scored") return el("td", { class: "held unable" }, "unable: scored by the clinician, not measured");
    return el("td", { class: "num held" }, t.time_held_s === null || t.time_held_s === undefined ? "–"
      : Station.unitsKept(`${fmt(t.time_held_s, 1)} s`));
  }

  /* A session's trials counted as the results page counts them (station.protocols.report.trial_count_words): a
     trial the station counts as unable (0 s) is a result, not one short of "valid". "3 trials, 2 valid"; "6 trials:
     6 unable (0 s)"; "6 trials: 2 held, 3 unable (0 s), 1 invalid". */
  function trialCount(trials) {
    const n = `${trials.length} trial${trials.length === 1 ? "" : "s"}`;
    const done = trials.filter((t) => t.status === "complete");
    const valid = done.filter((t) => t.valid).length;
    const unable = done.filter((t) => t.unable).length;
    if (!unable) return `${n}, ${valid} valid`;
    const invalid = done.length - valid - unable;
    return `${n}: ` + [valid ? `${valid} held` : "", `${unable} unable (0 s)`, invalid ? `${invalid} invalid` : ""]
      .filter(Boolean).join(", ");
  }

  function trialRow(t, mixed, stance, walks, timed) {
    // a single-leg trial the station counts as unable (the trials listing's "unable", the results page's verdict)
    // is a result of 0 s, not a failed recording: said so, its reason in the time held's cell
    const verdict = t.status !== "complete" ? el("span", { class: "tag flag" }, t.status)
      // "unable" and "(0 s)" may take two lines in a phone's narrow column (the table overflowed a 390-px card), never "(0" and "s)"
      : t.unable ? el("span", { class: "tag flag-strong" }, Station.unitsKept("unable (0 s)"))
        : t.valid ? el("span", { class: "tag valid" }, "valid")
          : el("span", { class: "tag invalid", title: t.validity_reason || "" }, "invalid");
    return el("tr", {},
      el("td", {}, el("a", { href: `/trials/${t.id}` }, `#${t.id}`)),
      el("td", {}, testName(t, mixed)),
      el("td", {}, verdict, t.valid === false && !t.unable && t.validity_reason ? el("div", { class: "small muted" }, t.validity_reason) : null),
      // a walk's recording runs before and after the walk: "recorded 12.0 s", not a bare 12.0 that reads as its time;
      // a trial scored unable by the clinician was never recorded
      !stance ? null : isWalk(t) ? el("td", { class: "recorded" }, Station.unitsKept(`recorded ${fmt(t.duration_s, 1)} s`))
        : t.unable === "scored" ? el("td", { class: timed ? "hide-narrow muted" : "muted" }, "not measured")
          : el("td", { class: timed ? "num hide-narrow" : "num" }, fmt(t.duration_s, 1)),
      timed ? heldCell(t) : null,
      ...(walks ? walkCells(t, stance) : []),
      stance ? el("td", { class: "num hide-narrow" }, isWalk(t) ? "" : fmt(t.metrics.ellipse_area_cm2, 2)) : null,
      stance ? el("td", { class: "num" }, isWalk(t) ? "" : fmt(t.metrics.mean_velocity_cm_s, 2)) : null);
  }

  function render() {
    $("patient-title").textContent = patient.identifier;
    $("archived-tag").hidden = !patient.archived;
    const bits = [`born ${patient.birth_year}`, patient.sex === "X" ? "sex not stated" : PatientForm.sexText(patient.sex)];
    if (patient.height_cm) bits.push(`${patient.height_cm} cm`);
    if (patient.weight_kg) bits.push(`${patient.weight_kg} kg`);
    if (patient.conditions.length) bits.push(patient.conditions.map((c) => PatientForm.conditionText(c, labels)).join(", "));
    $("patient-summary").replaceChildren(...Station.unitsKept(bits.join(" · ")));
    // Notes (up to 2000 characters) come under the buttons, whatever their length: above, they pushed
    // the buttons down as the page filled in.
    $("patient-notes-text").textContent = patient.notes || "";
    $("patient-notes").hidden = !patient.notes;
    $("archive-patient").textContent = patient.archived ? "Unarchive" : "Archive";
    $("new-test").hidden = !!patient.archived;
    const box = $("sessions");
    // A test opened and closed before any trial leaves a session with nothing in it: not a visit to list
    // (kept in the store: a programme visit or the hub may refer to it); one with the clinician's notes is.
    const sessions = patient.sessions.filter((s) => s.trials.length || s.notes);
    if (!sessions.length) {
      box.replaceChildren(el("p", { class: "muted" }, "No tests recorded yet. Start with “New test”."));
      return;
    }
    // On a phone each session's trials are one tap away; on a tablet the newest sessions show theirs.
    const narrow = window.matchMedia("(max-width: 600px)").matches;
    box.replaceChildren(...visits(sessions).map((group, i) => {
      const tested = group.filter((s) => s.trials.length);
      const parts = group.map((s) => {
        const mixed = new Set(s.trials.map((t) => t.protocol)).size > 1;
        const count = trialCount(s.trials);
        // the sway columns only where a standing test was recorded, the walk's time and speed where a walk was
        const stance = s.trials.some((t) => !isWalk(t));
        const walks = s.trials.some(isWalk);
        const timed = s.trials.some((t) => (protocols[t.protocol] || {}).timed); // a hold's time held, not its recording
        const trials = s.trials.length ? el("details", { class: "session-trials", open: !narrow && i < 1 ? true : null },
          el("summary", {}, Station.unitsKept(group.length > 1 ? `${testOf(s)}: ${count}` : count)),
          el("table", { class: "list trials-table" },
            el("thead", {}, el("tr", {}, el("th", {}, "Trial"), el("th", {}, mixed ? "Test" : "Condition"), el("th", {}, "Validity"),
              // beside a hold's time held, the recording's length is one tap away on a phone (the trial's page)
              stance ? el("th", { class: timed ? "num hide-narrow" : "num" }, "Recording (s)") : null,
              timed ? el("th", { class: "num" }, "Time held") : null,
              ...(walks ? [el("th", { class: "num" }, "Walk time"), el("th", { class: "num" }, "Speed")] : []),
              stance ? el("th", { class: "num hide-narrow" }, "Ellipse area (cm²)") : null,
              stance ? el("th", { class: "num" }, "Sway velocity (cm/s)") : null)),
            el("tbody", {}, s.trials.map((t) => trialRow(t, mixed, stance, walks, timed)))),
          walks ? el("p", { class: "small muted walk-where" }, "Walk time and speed: over the timed distance, from the light gates" +
            (s.trials.some((t) => isWalk(t) && protocols[t.protocol].treadmill) ? " (a treadmill's: the time walking and the belt speed entered)" : "") +
            ". Read against the published cut-offs, with the change since the last visit, on the visit's Results.") : null)
          : el("p", { class: "muted" }, `${testOf(s)}: no trials.`);
        return el("div", { class: "visit-session", dataset: { sessionId: s.id } },
          s.notes ? el("p", { class: "small trial-note" }, el("strong", {}, group.length > 1 ? `Notes on ${testOf(s)}: ` : "Notes: "), s.notes) : null,
          trials);
      });
      return el("div", { class: "card session-card", dataset: { sessionId: group[0].id } },
        el("div", { class: "actions" },
          el("h3", {}, `${when(group[0].started_at)} · ${testsOf(group)}`),
          tested.length ? el("a", { class: "button secondary", href: `/sessions/${tested[0].id}` }, "Results") : null),
        parts);
    }));
  }

  async function load() {
    try {
      const [p, list, conditionLabels] = await Promise.all([
        api("GET", `/api/patients/${id}`),
        api("GET", "/api/protocols").catch(() => ({ protocols: [] })),
        PatientForm.conditionLabels().catch(() => null),
      ]);
      patient = p;
      labels = conditionLabels;
      protocols = Object.fromEntries(list.protocols.map((x) => [x.name, { title: x.title, walk: x.outcome === "walk",
        timed: x.outcome === "time_held",
        treadmill: !!(x.walk && x.walk.setting === "treadmill"),
        conditions: Object.fromEntries(x.conditions.map((c) => [c.id, c.label])) }]));
      render();
    } catch (err) {
      showError($("page-error"), err);
    }
  }

  const dialog = $("patient-dialog");
  const form = $("patient-form");
  $("edit-patient").addEventListener("click", async () => {
    try { await PatientForm.loadConditions(form); } catch (err) { showError($("page-error"), err); return; }
    PatientForm.fill(form, patient);
    showError($("form-error"), null);
    dialog.showModal();
  });
  $("cancel-patient").addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("PATCH", `/api/patients/${id}`, PatientForm.read(form, false));
      dialog.close();
      await load();
    } catch (err) {
      showFieldErrors(form, err, $("form-error"));
    }
  });

  $("archive-patient").addEventListener("click", async () => {
    try {
      await api("PATCH", `/api/patients/${id}`, { archived: !patient.archived });
      await load();
    } catch (err) {
      showError($("page-error"), err);
    }
  });

  const erase = $("erase-patient");
  if (erase) {
    const eraseDialog = $("erase-dialog");
    erase.addEventListener("click", () => {
      $("erase-identifier").textContent = patient.identifier;
      $("erase-confirm").value = "";
      showError($("erase-error"), null);
      eraseDialog.showModal();
    });
    $("erase-cancel").addEventListener("click", () => eraseDialog.close());
    $("erase-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        await api("DELETE", `/api/patients/${id}`, { confirm_identifier: $("erase-confirm").value });
        eraseDialog.close();
        window.location.assign("/patients");
      } catch (err) {
        showError($("erase-error"), err);
      }
    });
  }

  load();
})();
