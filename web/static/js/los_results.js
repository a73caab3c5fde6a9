/* The limits-of-stability test on the results page (a section of GET /api/sessions/<id>/results
   with "limits_of_stability"): the composite of each measure with its unit and which way is
   better, per direction the five measures and the lean's quality in words (e.g. "stepped or
   lifted a foot — repeat"), and an octagon of the maximum excursion (% of the limit) in the plate
   seen from above. results.js calls LosResults.render(section). */
"use strict";

(() => {
  const { el, fmt } = Station;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const ORDER = ["f", "fr", "r", "br", "b", "bl", "l", "fl"];
  const SHORT = { f: "F", fr: "FR", r: "R", br: "BR", b: "B", bl: "BL", l: "L", fl: "FL" };
  // the plate seen from above, the patient facing up: forward up, the patient's right to the right
  const UNIT = { f: [0, -1], fr: [Math.SQRT1_2, -Math.SQRT1_2], r: [1, 0], br: [Math.SQRT1_2, Math.SQRT1_2],
    b: [0, 1], bl: [-Math.SQRT1_2, Math.SQRT1_2], l: [-1, 0], fl: [-Math.SQRT1_2, -Math.SQRT1_2] };
  const DIGITS = { los_reaction_time_s: 2, los_movement_velocity_deg_s: 1, los_endpoint_excursion_pct: 0,
    los_max_excursion_pct: 0, los_directional_control_pct: 0 };

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
    for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  function value(key, v) {
    return v === null || v === undefined ? "–" : fmt(v, DIGITS[key] ?? 1);
  }

  /* Octagon (radar) of the maximum excursion per direction, % of the limit; rings at 25 % steps,
     the 100 % ring is the limit. Directions without a valid lean are marked "–" (drawn at 0). */
  function octagon(los) {
    const size = 340, c = size / 2, R = 110, top = 125; // 125 % at the edge; room for the labels
    const r = (pct) => R * Math.max(0, Math.min(pct, top)) / top;
    const root = svg("svg", { viewBox: `0 0 ${size} ${size}`, class: "los-octagon", role: "img",
      "aria-label": "Maximum excursion per direction, per cent of the limit, seen from above (forward up, the patient's right to the right)" });
    const ring = (pct, dash) => svg("polygon", { points: ORDER.map((d) => `${c + r(pct) * UNIT[d][0]},${c + r(pct) * UNIT[d][1]}`).join(" "),
      fill: "none", stroke: pct === 100 ? "#4d5864" : "#c3cad2", "stroke-width": pct === 100 ? 1.6 : 1, "stroke-dasharray": dash });
    for (const pct of [25, 50, 75]) root.append(ring(pct, "3 3"));
    root.append(ring(100, null));
    for (const d of ORDER) root.append(svg("line", { x1: c, y1: c, x2: c + r(top) * UNIT[d][0], y2: c + r(top) * UNIT[d][1], stroke: "#e1e6eb" }));
    const v = (d) => los.directions[d] ? los.directions[d].values.los_max_excursion_pct : null;
    const pts = ORDER.map((d) => { const p = v(d) ?? 0; return [c + r(p) * UNIT[d][0], c + r(p) * UNIT[d][1]]; });
    root.append(svg("polygon", { points: pts.map((p) => p.join(",")).join(" "), fill: "rgba(31, 95, 168, 0.22)",
      stroke: "#1f5fa8", "stroke-width": 2.5, class: "los-reached" }));
    ORDER.forEach((d, i) => {
      const val = v(d);
      root.append(svg("circle", { cx: pts[i][0], cy: pts[i][1], r: 3.5, fill: val === null ? "#fff" : "#1f5fa8", stroke: "#1f5fa8" }));
      const lx = c + (R + 22) * UNIT[d][0], ly = c + (R + 22) * UNIT[d][1] + 4;
      root.append(svg("text", { x: lx, y: ly, "text-anchor": "middle", class: "los-axis" },
        `${SHORT[d]} ${val === null ? "–" : fmt(val, 0) + " %"}`));
    });
    root.append(svg("text", { x: c + 4, y: c - r(100) - 3, class: "los-ring" }, "100 % (limit)"));
    return root;
  }

  function compositeTable(los) {
    const rows = los.measures.map((m) => el("tr", { dataset: { key: m.key } },
      el("th", {}, m.label),
      el("td", { class: "num value" }, `${value(m.key, los.metrics[m.key])} ${m.unit}`),
      el("td", { class: "muted small" }, `${m.better} is better`)));
    return el("table", { class: "list los-composite" },
      el("caption", {}, "Composite (mean of the directions with a valid lean)"), el("tbody", {}, rows));
  }

  function directionTable(los) {
    const head = el("tr", {}, el("th", {}, "Direction"),
      ...los.measures.map((m) => el("th", { class: "num", title: `${m.better} is better` },
        m.label, el("br"), el("span", { class: "muted small" }, `${m.unit}, ${m.better} better`))),
      el("th", {}, "Quality"));
    const rows = ORDER.filter((d) => los.directions[d]).map((d) => {
      const info = los.directions[d];
      return el("tr", { dataset: { direction: d, valid: info.valid ? "yes" : "no" } },
        el("th", {}, info.label),
        ...los.measures.map((m) => el("td", { class: "num" }, value(m.key, info.values[m.key]))),
        el("td", { class: info.valid ? "" : "bad" }, info.quality_words));
    });
    return el("div", { class: "table-scroll" }, el("table", { class: "list los-directions" },
      el("thead", {}, head), el("tbody", {}, rows)));
  }

  function trialLinks(section) {
    const lines = section.conditions.flatMap((c) => c.trials.map((t) => el("li", {},
      el("a", { href: `/trials/${t.id}` }, `${c.label}, attempt ${t.attempt ?? 1}`),
      t.valid ? "" : el("span", { class: "bad" }, ` — ${t.validity_reason || "invalid"}`))));
    return lines.length ? el("details", { class: "los-trials" }, el("summary", {}, `The ${lines.length} leans`), el("ul", {}, lines)) : null;
  }

  function render(section) {
    const los = section.limits_of_stability;
    const source = los.limits_source === "previous" ? "the limits reached in the previous test" : "the theoretical limits";
    const box = el("section", { class: "protocol-results los-results", dataset: { protocol: section.protocol } },
      el("h2", {}, section.title),
      el("p", { class: "muted" }, `${section.valid_trial_count} valid of ${section.trial_count} leans` +
        (los.height_cm ? ` · height ${fmt(los.height_cm, 0)} cm` : "") + ` · targets at ${source}.`));
    const card = el("div", { class: "card los-card" },
      el("div", { class: "los-top" },
        el("figure", { class: "los-figure" }, octagon(los),
          el("figcaption", { class: "muted small" }, "Maximum excursion per direction (% of the limit), seen from above: forward up, the patient's right to the right. The bold octagon is the limit; farther is better.")),
        compositeTable(los)),
      el("h3", {}, "Per direction"),
      directionTable(los),
      el("p", { class: "muted small" }, "Reaction time: go beep to the start of the lean. Movement velocity: average speed of the lean (5–95 % of its distance). Endpoint excursion: where the first movement ended; maximum excursion: farthest reached; both in % of the limit toward the target. Directional control: how straight the lean went toward the target (100 % = straight). Measured on the centre of pressure."),
      trialLinks(section));
    box.append(card);
    return box;
  }

  window.LosResults = { render, octagon };
})();
