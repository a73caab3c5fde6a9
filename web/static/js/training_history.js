/* The patient page's "Training games": every game played (GET /api/patients/<id>/training), a small
   chart of the scores over time per game, and a table (date, game, level, score, minutes, held). */
"use strict";

(() => {
  const { api, el, fmt, showError } = Station;
  const box = document.getElementById("training-history");
  if (!box) return;
  const body = document.getElementById("training-body");
  const COLOURS = { reach: "#1f5fa8", track: "#1e7a3c", shift: "#9a6400", steady: "#7a3c8c" };

  function chart(sessions) {
    const played = sessions.filter((s) => s.score !== null).slice().reverse(); // oldest first
    if (played.length < 2) return null;
    const W = 640, H = 180, L = 34, B = 22, T = 8;
    const x = (i) => L + (W - L - 8) * (played.length === 1 ? 0.5 : i / (played.length - 1));
    const y = (v) => T + (H - T - B) * (1 - v / 100);
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.setAttribute("class", "training-chart");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "Game scores over time, 0 to 100, one line per game");
    const add = (tag, attrs, text) => {
      const n = document.createElementNS("http://www.w3.org/2000/svg", tag);
      for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
      if (text) n.textContent = text;
      svg.append(n);
      return n;
    };
    for (const v of [0, 50, 100]) {
      add("line", { x1: L, x2: W - 8, y1: y(v), y2: y(v), stroke: "#e1e6eb" });
      add("text", { x: L - 4, y: y(v) + 4, "text-anchor": "end", "font-size": 11, fill: "#5b6673" }, String(v));
    }
    for (const game of Object.keys(COLOURS)) {
      const pts = played.map((s, i) => [i, s]).filter(([, s]) => s.game === game);
      if (!pts.length) continue;
      if (pts.length > 1) add("polyline", { points: pts.map(([i, s]) => `${x(i)},${y(s.score)}`).join(" "), fill: "none", stroke: COLOURS[game], "stroke-width": 2 });
      for (const [i, s] of pts) add("circle", { cx: x(i), cy: y(s.score), r: 4, fill: COLOURS[game] }).append(
        Object.assign(document.createElementNS("http://www.w3.org/2000/svg", "title"), { textContent: `${s.day} ${s.title} level ${s.level}: ${fmt(s.score, 0)}` }));
    }
    return svg;
  }

  function render(doc) {
    const sessions = doc.sessions || [];
    body.replaceChildren();
    if (!sessions.length) {
      body.append(el("p", { class: "muted" }, "No training game yet. Open a test with the protocol “Biofeedback training game”."));
      return;
    }
    const svg = chart(sessions);
    if (svg) body.append(svg);
    const legend = [...new Set(sessions.map((s) => s.game))].map((g) =>
      el("span", { class: `training-key game-${g}` }, sessions.find((s) => s.game === g).title)); // colours in game.css (no inline styles: CSP)
    body.append(el("p", { class: "small" }, ...legend));
    const rows = sessions.slice(0, 30).map((s) => el("tr", {},
      el("td", {}, s.day),
      el("td", {}, s.title),
      el("td", {}, String(s.level)),
      el("td", { class: "num" }, s.score === null ? "–" : fmt(s.score, 0)),
      el("td", { class: "num" }, Station.unitsKept(Station.walkedTime(s.minutes))), // minutes and seconds, as every page says a time (not "2.0")
      el("td", { class: "num" }, s.targets_shown ? `${s.hits} of ${s.targets_shown}` : "–"),
      el("td", {}, s.session_id ? el("a", { href: `/sessions/${s.session_id}` }, "session") : "")));
    body.append(el("div", { class: "table-scroll" }, el("table", { class: "list training-table" },
      el("thead", {}, el("tr", {}, el("th", {}, "Day"), el("th", {}, "Game"), el("th", {}, "Level"), el("th", {}, "Score"),
        el("th", {}, "Time played"), el("th", {}, "Targets held"), el("th", {}, ""))),
      el("tbody", {}, ...rows))));
    const defs = doc.score_definitions || {};
    const shown = [...new Set(sessions.map((s) => s.game))];
    body.append(el("details", {}, el("summary", {}, "How the scores are computed"),
      el("ul", { class: "small" }, ...shown.map((g) => el("li", {}, `${sessions.find((s) => s.game === g).title}: ${defs[g] || ""}`)))));
  }

  api("GET", `/api/patients/${box.dataset.patientId}/training`)
    .then(render)
    .catch((err) => { body.replaceChildren(); showError(document.getElementById("training-error"), err); });
})();
