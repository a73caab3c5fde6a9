/* The patient page's programme card: the current programme at a glance (week k of n, next
   session, adherence bar, outcomes so far), or a form to start one. */
"use strict";

(() => {
  const { api, el, fmt, num, showError, walkedTime } = Station;
  const card = document.getElementById("programme-glance");
  if (!card) return;
  const patientId = Number(card.dataset.patientId);
  /* Today on this device's calendar as YYYY-MM-DD (toISOString would give the UTC day, which is
     yesterday or tomorrow around midnight). */
  function localDay() {
    const d = new Date();
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  }
  const day = (iso) => new Date(iso + "T12:00:00Z").toLocaleDateString(undefined, { weekday: "short", month: "short", day: "numeric" });

  /* The dose leads, as on the programme page: minutes walked of the minutes due so far (three sessions stopped
     after a minute were "3 of 3 due"), the sessions beside it. */
  function adherenceBar(a) {
    const whole = a.minutes_due > 0 ? Math.max(a.minutes_due, a.minutes_done) : a.minutes_planned;
    const share = (n) => `${whole ? Math.min(100, 100 * n / whole).toFixed(1) : 0}%`;
    const done = el("div", { class: "done" });
    done.style.width = share(a.minutes_done);
    const walked = a.minutes_due > 0
      ? `Walked ${walkedTime(a.minutes_done)} of ${walkedTime(a.minutes_due)} due (${Math.round(100 * a.minutes_done_of_due)} %)`
      : "No session due yet";
    const text = `${walked}; ${a.sessions_done} of ${a.sessions_planned} sessions done`
      + (a.sessions_partial ? ` (${a.sessions_partial} partial)` : "") + `, ${a.sessions_missed} missed`;
    return el("div", { class: "adherence-bar", role: "img", "aria-label": text }, done, el("span", {}, Station.unitsKept(text)));
  }

  function glance(p) {
    const pos = p.position;
    let where = p.status === "ended" ? "Ended" : pos.week === 0 ? `Starts ${day(p.start_date)}` : `Week ${pos.week} of ${pos.weeks}`;
    if (p.status === "paused") where += " (paused)";
    const next = pos.next_session && p.status !== "ended" ? `Next session: ${day(pos.next_session.planned_date)}` : "No session planned";
    const outcomes = p.outcomes.map((o) => {
      // the visits measured so far (not the ones still to come), at a sensible precision
      const measured = o.values.slice(0, o.values.map((v) => v !== null).lastIndexOf(true) + 1);
      // each by its unit's rule, as the programme page says it ("0.48 m/s", not "0.480"); a time held in one decimal
      // ("8.5 s", not "8.46"), its 0 s said unable ("unable (0 s) → 12.5 s", not "0 → 12.5 s")
      const held = o.metric === "time_held_s";
      const one = (v) => (v === null ? "not measured" : held && v === 0 ? "unable (0 s)" : held ? fmt(v, 1) : num(v, o.unit));
      const values = measured.length ? measured.map(one).join(" → ")
        : "not measured yet";
      const verdict = o.last_change ? el("span", { class: "tag verdict-" + o.last_change.verdict.replace(/ /g, "-") }, o.last_change.verdict) : "";
      return el("li", {}, Station.unitsKept(`${o.label}: ${values}${measured.length && o.unit ? " " + o.unit : ""} `), verdict);
    });
    return [
      el("h3", {}, el("a", { href: `/assignments/${p.id}`, id: "programme-link" }, p.title)),
      el("p", { class: "position", id: "glance-position" }, `${where} · ${next}`),
      adherenceBar(p.adherence),
      el("ul", { class: "outcomes" }, outcomes),
    ];
  }

  /* Whether ``select`` (on the page) shows ``words``, its chosen item, clipped: a copy of it holding that item alone,
     at its natural width beside it (same font, padding and arrow), is wider than it is. */
  function clipsChosen(select, words) {
    const probe = select.cloneNode(false);
    probe.removeAttribute("id");
    probe.removeAttribute("name");
    probe.setAttribute("aria-hidden", "true");
    probe.tabIndex = -1;
    Object.assign(probe.style, { position: "absolute", visibility: "hidden", left: "-10000px", top: "0",
      width: "auto", minWidth: "0", maxWidth: "none" });
    probe.append(el("option", {}, words));
    select.after(probe);
    const need = probe.getBoundingClientRect().width;
    probe.remove();
    return need > select.getBoundingClientRect().width + 0.5;
  }

  async function startForm(box) {
    const list = await api("GET", "/api/programmes");
    const select = el("select", { id: "programme-template", name: "template" },
      list.programmes.map((t) => el("option", { value: t.name }, t.title)));
    // the chosen programme's whole name under the list where the list clips it (a phone: "…after stro"); where the
    // list shows it whole (a tablet) not said twice. Measured: the list drawn at its natural width with the chosen
    // name alone (the arrow's room included) against the width it has, on a new choice and whenever its width changes
    const chosen = el("p", { class: "chosen-name", id: "programme-template-name", hidden: true });
    const name = () => {
      const words = select.selectedOptions[0]?.textContent || "";
      chosen.textContent = words;
      chosen.hidden = !select.isConnected || !clipsChosen(select, words);
    };
    select.addEventListener("change", name);
    new ResizeObserver(name).observe(select);
    const start = el("input", { type: "date", id: "programme-start", name: "start_date", required: true,
      value: localDay() });
    const error = el("div", { class: "error-box", hidden: true });
    return [
      el("p", { class: "muted" }, "No training programme is running."),
      el("div", { class: "actions" }, el("div", { class: "chosen-field" }, el("label", {}, "Programme ", select), chosen),
        el("label", {}, "Start ", start),
        el("button", { type: "button", class: "go", id: "start-programme", onclick: async () => {
          try {
            const doc = await api("POST", `/api/patients/${patientId}/programmes`, { template: select.value, start_date: start.value });
            window.location.assign(`/assignments/${doc.id}`);
          } catch (err) { showError(error, err); }
        } }, "Start programme")),
      list.problem ? el("p", { class: "warn-box" }, list.problem) : "",
      error,
    ];
  }

  async function load() {
    const box = document.getElementById("programme-glance-body");
    try {
      const doc = await api("GET", `/api/patients/${patientId}/programme`);
      const parts = [];
      if (doc.programme) parts.push(...glance(doc.programme));
      if (!doc.programme || doc.programme.status === "ended") parts.push(...(await startForm(box)));
      box.replaceChildren(...parts);
    } catch (err) {
      showError(document.getElementById("programme-glance-error"), err);
    }
  }

  load();
})();
