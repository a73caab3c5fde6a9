/* Training games on the results page (a section of GET /api/sessions/<id>/results with
   "training"): per game played, its title and level, the score with its definition, the minutes,
   the game's measures and the per-target table. results.js calls GameResults.render(section); the
   live view's game panel (game.js) uses GameResults.targetTable(result). */
"use strict";

(() => {
  const { el, fmt } = Station;
  const TITLES = { reach: "Reach and hold", track: "Track the moving target", shift: "Weight shift and hold",
    steady: "Steady inside the shrinking circle" };
  const DEFINITIONS = {
    reach: "mean over the targets shown: a target held scores 50 + 50 × path efficiency (straight distance / path length), a miss 0",
    track: "percentage of the time with the cursor inside the moving target",
    shift: "mean over the cycles of 100 × (time held in the band / hold time), at most 100 per cycle",
    steady: "percentage of the time with the cursor inside the shrinking circle",
  };
  const DIRECTIONS = { f: "forward", fr: "forward-right", r: "right", br: "back-right", b: "back", bl: "back-left",
    l: "left", fl: "forward-left" };

  /* The per-target table of a game's result (reach: one row per target; shift: per cycle), in a
     scroll box; used here and by the live view's game panel (game.js). */
  function targetTable(r) {
    return el("div", { class: "table-scroll" }, el("table", { class: "list small game-targets" },
      el("thead", {}, el("tr", {}, el("th", {}, "Target"), el("th", {}, "Reach (s)"), el("th", {}, "Held (s)"),
        el("th", { title: "Path efficiency: straight distance / path length" }, "Path eff. (%)"),
        el("th", {}, "Result"))),
      el("tbody", {}, ...r.targets.map((t) => el("tr", {},
        el("td", {}, r.game === "shift" ? `Cycle ${t.index + 1}` : DIRECTIONS[t.direction] || t.direction),
        el("td", { class: "num" }, t.time_to_reach_s === null ? "–" : fmt(t.time_to_reach_s, 1)),
        el("td", { class: "num" }, fmt(t.time_held_s, 1)),
        el("td", { class: "num" }, t.path_efficiency === null ? "–" : fmt(100 * t.path_efficiency, 0)),
        el("td", {}, t.hit ? "held" : "missed"))))));
  }

  function game(g) {
    const s = g.schedule, r = g.result;
    const title = g.title || TITLES[s.game] || s.game;
    const box = el("div", { class: "game-played", dataset: { game: s.game } },
      el("h3", {}, `${title} · level ${s.level}`),
      el("p", { class: "final" }, `Score ${r.score === null ? "–" : fmt(r.score, 0)} of 100`,
        el("span", { class: "muted small" }, ` — ${DEFINITIONS[s.game] || ""}.`)),
      el("p", {}, `${fmt(g.minutes, 1)} min played${g.completed ? "" : " (ended early)"}.`));
    const words = [];
    if (r.game === "track") words.push(`Inside the target ${fmt(r.inside_pct, 0)} % of the time; mean distance ${fmt(r.mean_distance_cm, 1)} cm, RMS ${fmt(r.rms_distance_cm, 1)} cm.`);
    if (r.game === "steady") words.push(`Inside the circle ${fmt(r.inside_pct, 0)} % of the time; smallest circle held ${r.smallest_radius_held_cm === null ? "none" : fmt(r.smallest_radius_held_cm, 1) + " cm"}.`);
    if (r.game === "shift" && r.in_band_pct !== null) words.push(`Weight on the ${s.paretic_side} side in the band ${fmt(s.band_pct - s.band_half_width_pct, 1)}–${fmt(s.band_pct + s.band_half_width_pct, 1)} % for ${fmt(r.in_band_pct, 0)} % of the shift time.`);
    if (r.targets) words.push(`${r.hits} of ${r.targets_shown} held; mean time to reach ${r.mean_time_to_reach_s === null ? "–" : fmt(r.mean_time_to_reach_s, 1) + " s"}.`);
    if (words.length) box.append(el("p", {}, words.join(" ")));
    if (r.targets && r.targets.length) box.append(targetTable(r));
    return box;
  }

  function render(section) {
    const box = el("section", { class: "protocol-results game-results", dataset: { protocol: section.protocol } },
      el("h2", {}, section.title));
    if (!section.training.length) box.append(el("p", { class: "muted" }, "No game was played to its end in this session."));
    for (const g of section.training) box.append(game(g));
    return box;
  }

  window.GameResults = { render, targetTable };
})();
