/* Walk charts, hand-written: the live acceleration strip on a canvas (the walk panel of the live
   view, redrawn once per animation frame by its caller), the acceleration trace with the steps
   (initial contacts) marked, the walkway with its light gates, and per-minute bars (treadmill
   sessions), all SVG for the results and trial pages. */
"use strict";

const WalkCharts = (() => {
  const SVG_NS = "http://www.w3.org/2000/svg"; // an XML namespace name, not a download
  const BLUE = "#1f4e79", RED = "#c0392b", GREY = "#6b7682", GRID = "#e1e6eb";

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined) node.setAttribute(k, String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  const niceStep = Charts.niceStep; // charts.js, loaded before this file on every page that draws walks

  /* The value of (t, y) at time x by linear interpolation (t ascending; null where unknown). */
  function valueAt(t, y, x) {
    let lo = 0, hi = t.length - 1;
    if (hi < 0) return null;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (t[mid] <= x) lo = mid; else hi = mid;
    }
    const a = y[lo], b = y[hi];
    if (a === null || b === null) return a === null ? b : a;
    if (t[hi] === t[lo]) return a;
    const f = Math.min(1, Math.max(0, (x - t[lo]) / (t[hi] - t[lo])));
    return a + f * (b - a);
  }

  const GRAVITY_M_S2 = 9.80665; // standard gravity: the vertical acceleration (gravity included) of a trunk at rest

  /* -- acceleration with the steps (SVG) -------------------------------------------------------
     t: s, acc: m/s² (null where unknown), contacts: initial contacts in s on the same axis.
     The acceleration includes gravity, so its axis does not start at 0: a dashed line at 1 g (9.81 m/s²), the
     reading at rest, which the walking swings about, gives the trace its reference; the time axis's words
     ("time, s") sit under its numbers.
     opts: {from_s, to_s (window shown), label, yLabel, width, height, empty (the words in the trace's place when
     there is none: why, e.g. the server's note)}. */
  function stepsTrace(t, acc, contacts, opts) {
    const o = opts || {};
    const W = o.width || Charts.drawWidth(720), H = o.height || 252;
    const narrow = W < 500; // a phone's trace: the whole walk on its screen, fewer time labels
    const padL = 46, padR = 12, padT = 24, padB = 42;
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart steps-trace", role: "img",
      "aria-label": o.label || "Acceleration with the steps marked" });
    const from = o.from_s ?? (t.length ? t[0] : 0);
    const to = o.to_s ?? (t.length ? t[t.length - 1] : 1);
    let y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < t.length; i++) {
      if (acc[i] === null || t[i] < from || t[i] > to) continue;
      y0 = Math.min(y0, acc[i]); y1 = Math.max(y1, acc[i]);
    }
    if (!Number.isFinite(y0)) {
      // HTML words that wrap, in place of the chart: SVG text across a drawing scaled to a phone's width
      // was cut at both ends
      const empty = document.createElement("p");
      empty.className = "steps-trace-empty";
      empty.textContent = o.empty || "No acceleration recorded (was the lower-back sensor worn and connected?)"; // (walk_trace.py)
      return empty;
    }
    y0 = Math.min(y0, GRAVITY_M_S2); y1 = Math.max(y1, GRAVITY_M_S2); // 1 g always on the scale
    if (y1 - y0 < 1e-6) { y0 -= 1; y1 += 1; }
    const ypad = (y1 - y0) * 0.08; y0 -= ypad; y1 += ypad;
    const span = Math.max(1e-6, to - from);
    const X = (v) => padL + (v - from) / span * (W - padL - padR);
    const Y = (v) => H - padB - (v - y0) / (y1 - y0) * (H - padT - padB);
    const grid = svg("g", { stroke: GRID });
    const ys = niceStep(y1 - y0, 4);
    for (let g = Math.ceil(y0 / ys) * ys; g <= y1; g += ys) {
      grid.append(svg("line", { x1: padL, x2: W - padR, y1: Y(g), y2: Y(g) }));
      root.append(svg("text", { x: padL - 4, y: Y(g) + 4, "text-anchor": "end" }, +g.toFixed(6)));
    }
    const ts = niceStep(span, narrow ? 5 : 8);
    for (let g = Math.ceil(from / ts) * ts; g <= to + 1e-9; g += ts) {
      grid.append(svg("line", { x1: X(g), x2: X(g), y1: padT, y2: H - padB }));
      root.append(svg("text", { x: X(g), y: H - 22, "text-anchor": "middle" }, +g.toFixed(6)));
    }
    root.prepend(grid);
    root.append(svg("text", { x: 4, y: 14 }, o.yLabel || "m/s²"));
    root.append(svg("text", { x: W - padR, y: H - 4, "text-anchor": "end", class: "x-title" }, "time, s"));
    root.append(svg("line", { x1: padL, x2: W - padR, y1: Y(GRAVITY_M_S2), y2: Y(GRAVITY_M_S2), stroke: GREY,
      "stroke-dasharray": "6 4", class: "gravity" }));
    let d = "", pen = false;
    for (let i = 0; i < t.length; i++) {
      if (acc[i] === null || t[i] < from || t[i] > to) { pen = false; continue; }
      d += (pen ? "L" : "M") + X(t[i]).toFixed(1) + " " + Y(acc[i]).toFixed(1);
      pen = true;
    }
    root.append(svg("path", { d, fill: "none", stroke: BLUE, "stroke-width": 1.2, class: "acc" }));
    const marks = svg("g", { class: "steps" });
    let shown = 0;
    for (const c of contacts || []) {
      if (c < from || c > to) continue;
      shown++;
      const v = valueAt(t, acc, c);
      const x = X(c);
      marks.append(svg("line", { x1: x, x2: x, y1: padT, y2: H - padB, stroke: RED, "stroke-opacity": 0.35, "stroke-dasharray": "3 3" }));
      const dot = svg("circle", { cx: x, cy: v === null ? padT + 4 : Y(v), r: 4, fill: RED, class: "ic" });
      dot.append(svg("title", {}, `step (initial contact) at ${c.toFixed(2)} s`));
      marks.append(dot);
    }
    root.append(marks);
    // the 1-g line's name over the trace, haloed to stay readable where the trace crosses it
    root.append(svg("text", { x: W - padR - 4, y: Y(GRAVITY_M_S2) - 4, "text-anchor": "end", class: "gravity-label",
      stroke: "#fbfcfd", "stroke-width": 4, "paint-order": "stroke" }, "1 g"));
    const traceLabel = o.traceLabel || "acceleration";
    // on a phone the legend starts at the plot and the steps' follow the trace's words (about 7 px a
    // character at 12 px), clear of "time, s" at the right
    root.append(svg("text", { x: narrow ? padL : padL + 40, y: 14, class: "legend-trace" }, traceLabel));
    root.append(svg("text", { x: narrow ? padL + 7 * traceLabel.length + 12 : padL + 200, y: 14, class: "legend-steps" },
      `● steps (${shown})`));
    return root;
  }

  /* -- the walkway with its gates (SVG) ---------------------------------------------------------
     gates: [{label, position_m, state: idle|armed|blocked|crossed, at_s, role: start|stop|""}];
     length_m: the walkway's length; backward: the person walks backward (arrow shows the way). */
  function walkway(gates, length_m, opts) {
    const o = opts || {};
    const W = Charts.drawWidth(640), H = 120, pad = 30;
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart walkway", role: "img",
      "aria-label": "The walkway and its light gates" });
    // the walkway as long as the test's (gates beyond it are not the test's: not drawn)
    const L = length_m || Math.max(1, ...gates.map((g) => g.position_m || 0));
    gates = gates.filter((g) => (g.position_m || 0) <= L + 1e-6);
    const X = (m) => pad + (m / L) * (W - 2 * pad);
    root.append(svg("rect", { x: X(0), y: 52, width: X(L) - X(0), height: 22, rx: 4, fill: "#eef2f6", stroke: "#c9d2dc" }));
    for (let m = 0; m <= L + 1e-9; m += niceStep(L, W < 500 ? 5 : 10)) {
      root.append(svg("line", { x1: X(m), x2: X(m), y1: 74, y2: 80, stroke: GREY }));
      root.append(svg("text", { x: X(m), y: 94, "text-anchor": "middle", class: "tick" }, `${+m.toFixed(2)} m`));
    }
    const arrowY = 63;
    root.append(svg("path", { d: `M${X(0) + 8} ${arrowY} L${X(L) - 14} ${arrowY}`, stroke: "#9aa7b4", "stroke-width": 2 }));
    root.append(svg("path", { d: `M${X(L) - 14} ${arrowY - 6} L${X(L) - 4} ${arrowY} L${X(L) - 14} ${arrowY + 6} Z`, fill: "#9aa7b4" }));
    root.append(svg("text", { x: X(0), y: 44, class: "tick" }, o.backward ? "start (walking backward →)" : "start (walking →)"));
    for (const g of gates) {
      const x = X(g.position_m || 0);
      const used = g.used !== false;
      const gate = svg("g", { class: `gate gate-${g.state || "idle"}${used ? "" : " gate-unused"}`, "data-gate": g.id ?? g.label });
      gate.append(svg("line", { x1: x, x2: x, y1: used ? 30 : 44, y2: used ? 96 : 82, "stroke-width": used ? 5 : 2, class: "beam" }));
      if (used) {
        gate.append(svg("circle", { cx: x, cy: 26, r: 7, class: "lamp" }));
        gate.append(svg("text", { x, y: 114, "text-anchor": "middle", class: "gate-label" },
          (g.role ? g.role + " · " : "") + (g.label || "")));
      }
      gate.append(svg("title", {}, `${g.label}: ${g.words || g.state}`));
      root.append(gate);
    }
    return root;
  }

  /* -- per-minute bars (SVG): minutes [{minute, value}] ----------------------------------------- */
  function minuteBars(minutes, opts) {
    const o = opts || {};
    const W = Charts.drawWidth(520), H = 200, padL = 46, padR = 10, padT = 18, padB = 32;
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart minute-bars", role: "img",
      "aria-label": o.label || "per minute" });
    const vals = minutes.map((m) => m.value).filter((v) => v !== null && Number.isFinite(v));
    if (!vals.length) {
      root.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "no minute with walking"));
      return root;
    }
    const y1 = Math.max(...vals) * 1.1, y0 = 0;
    const Y = (v) => H - padB - (v - y0) / (y1 - y0 || 1) * (H - padT - padB);
    const bw = (W - padL - padR) / minutes.length;
    const ys = niceStep(y1 - y0, 4);
    for (let g = 0; g <= y1; g += ys) {
      root.append(svg("line", { x1: padL, x2: W - padR, y1: Y(g), y2: Y(g), stroke: GRID }));
      root.append(svg("text", { x: padL - 4, y: Y(g) + 4, "text-anchor": "end" }, +g.toFixed(6)));
    }
    minutes.forEach((m, i) => {
      const x = padL + i * bw;
      if (m.value !== null && Number.isFinite(m.value)) {
        const bar = svg("rect", { x: x + bw * 0.15, width: bw * 0.7, y: Y(m.value), height: Y(0) - Y(m.value), fill: m.paused ? "#c9d2dc" : BLUE, class: "bar" });
        bar.append(svg("title", {}, `minute ${m.minute}: ${m.text || m.value}`));
        root.append(bar);
      }
      const labels = W < 500 ? 12 : 20; // minute numbers that fit under the bars
      if (minutes.length <= labels || i % Math.ceil(minutes.length / labels) === 0) {
        root.append(svg("text", { x: x + bw / 2, y: H - 14, "text-anchor": "middle" }, m.minute));
      }
    });
    root.append(svg("text", { x: 4, y: 12 }, o.unit || ""));
    root.append(svg("text", { x: W - padR, y: H - 2, "text-anchor": "end" }, "minute"));
    return root;
  }

  /* -- live acceleration strip (canvas) ---------------------------------------------------------- */
  class LiveStrip {
    constructor(canvas, seconds) {
      this.canvas = canvas;
      this.ctx = canvas.getContext("2d");
      this.seconds = seconds || 8;
      this.lo = 5; this.hi = 15; // m/s², smoothed scale
    }

    /* t: s (ascending), acc: m/s² (null where unknown), contacts: s on the same axis; now: the
       right edge, s. */
    draw(t, acc, contacts, now) {
      const dpr = window.devicePixelRatio || 1;
      const rect = this.canvas.getBoundingClientRect();
      const w = Math.max(50, Math.round(rect.width * dpr)), h = Math.max(40, Math.round(rect.height * dpr));
      if (this.canvas.width !== w || this.canvas.height !== h) { this.canvas.width = w; this.canvas.height = h; }
      const ctx = this.ctx, W = w, H = h;
      ctx.clearRect(0, 0, W, H);
      const from = now - this.seconds;
      let lo = Infinity, hi = -Infinity;
      for (let i = 0; i < t.length; i++) if (acc[i] !== null && t[i] >= from) { lo = Math.min(lo, acc[i]); hi = Math.max(hi, acc[i]); }
      ctx.font = `${12 * dpr}px system-ui, sans-serif`;
      if (!Number.isFinite(lo)) {
        ctx.fillStyle = "#8a95a1";
        ctx.textAlign = "center";
        ctx.fillText("No acceleration from the lower-back sensor", W / 2, H / 2); // (the name a clinician knows it by)
        ctx.textAlign = "start";
        return;
      }
      const margin = Math.max(0.5, (hi - lo) * 0.1);
      const tlo = lo - margin, thi = hi + margin;
      this.lo += (tlo - this.lo) * (tlo < this.lo ? 0.5 : 0.05);
      this.hi += (thi - this.hi) * (thi > this.hi ? 0.5 : 0.05);
      const X = (s) => (s - from) / this.seconds * W;
      const Y = (v) => H - 4 * dpr - (v - this.lo) / (this.hi - this.lo) * (H - 8 * dpr);
      ctx.strokeStyle = GRID; ctx.lineWidth = dpr;
      ctx.beginPath();
      for (let s = Math.ceil(from); s <= now; s++) { ctx.moveTo(Math.round(X(s)) + 0.5, 0); ctx.lineTo(Math.round(X(s)) + 0.5, H); }
      ctx.stroke();
      ctx.strokeStyle = "rgba(192, 57, 43, 0.55)"; ctx.setLineDash([4 * dpr, 4 * dpr]);
      ctx.beginPath();
      for (const c of contacts) if (c >= from) { ctx.moveTo(X(c), 0); ctx.lineTo(X(c), H); }
      ctx.stroke(); ctx.setLineDash([]);
      ctx.strokeStyle = BLUE; ctx.lineWidth = 2 * dpr; ctx.lineJoin = "round";
      ctx.beginPath();
      let pen = false;
      for (let i = 0; i < t.length; i++) {
        if (acc[i] === null || t[i] < from) { pen = false; continue; }
        if (pen) ctx.lineTo(X(t[i]), Y(acc[i])); else { ctx.moveTo(X(t[i]), Y(acc[i])); pen = true; }
      }
      ctx.stroke();
      ctx.fillStyle = GREY;
      ctx.fillText(`acceleration, last ${this.seconds} s; grid 1 s; dashed: steps`, 6 * dpr, 14 * dpr);
    }
  }

  return { stepsTrace, walkway, minuteBars, LiveStrip, valueAt };
})();
