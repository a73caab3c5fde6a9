/* Small hand-written charts: the live statokinesigram on a canvas (redrawn once per animation
   frame by its caller), and static SVG plots for results and history. Plate frame (DESIGN.md §4):
   +ML toward the patient's right (drawn to the right), +AP toward the toes (drawn upward). */
"use strict";

const Charts = (() => {
  const SVG_NS = "http://www.w3.org/2000/svg"; // an XML namespace name, not a download

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

  /* "Nice" grid step for a range (1, 2 or 5 × 10^k). */
  function niceStep(range, targetLines) {
    const raw = range / Math.max(1, targetLines);
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
  }

  /* -- live statokinesigram (canvas) -------------------------------------------------------- */
  class LiveTrace {
    constructor(canvas) {
      this.canvas = canvas;
      this.ctx = canvas.getContext("2d");
      this.halfSpan = 3; // cm, smoothed
    }

    resize() {
      const dpr = window.devicePixelRatio || 1;
      const rect = this.canvas.getBoundingClientRect();
      const w = Math.max(50, Math.round(rect.width * dpr));
      const h = Math.max(50, Math.round(rect.height * dpr));
      if (this.canvas.width !== w || this.canvas.height !== h) {
        this.canvas.width = w;
        this.canvas.height = h;
      }
      return dpr;
    }

    /* ml, ap: arrays (cm, null where unknown), newest last. */
    draw(ml, ap) {
      const dpr = this.resize();
      const ctx = this.ctx;
      const W = this.canvas.width, H = this.canvas.height;
      ctx.clearRect(0, 0, W, H);
      let n = 0, sx = 0, sy = 0;
      for (let i = 0; i < ml.length; i++) {
        if (ml[i] !== null && ap[i] !== null) { sx += ml[i]; sy += ap[i]; n++; }
      }
      const cx = n ? sx / n : 0, cy = n ? sy / n : 0;
      let reach = 0;
      for (let i = 0; i < ml.length; i++) {
        if (ml[i] !== null && ap[i] !== null) reach = Math.max(reach, Math.abs(ml[i] - cx), Math.abs(ap[i] - cy));
      }
      const target = Math.max(1.5, reach * 1.25);
      this.halfSpan += (target - this.halfSpan) * (target > this.halfSpan ? 0.5 : 0.05);
      const scale = Math.min(W, H) / (2 * this.halfSpan); // px per cm
      const X = (v) => W / 2 + (v - cx) * scale;
      const Y = (v) => H / 2 - (v - cy) * scale;
      // grid every 1 cm (every 2 or 5 when zoomed out)
      const step = this.halfSpan > 12 ? 5 : this.halfSpan > 6 ? 2 : 1;
      ctx.lineWidth = 1 * dpr;
      ctx.strokeStyle = "#e1e6eb";
      ctx.beginPath();
      for (let g = Math.ceil((cx - this.halfSpan * W / Math.min(W, H)) / step) * step; X(g) <= W; g += step) {
        ctx.moveTo(Math.round(X(g)) + 0.5, 0); ctx.lineTo(Math.round(X(g)) + 0.5, H);
      }
      for (let g = Math.ceil((cy - this.halfSpan * H / Math.min(W, H)) / step) * step; Y(g) >= 0; g += step) {
        ctx.moveTo(0, Math.round(Y(g)) + 0.5); ctx.lineTo(W, Math.round(Y(g)) + 0.5);
      }
      ctx.stroke();
      // axis labels
      ctx.fillStyle = "#6b7682";
      ctx.font = `${12 * dpr}px system-ui, sans-serif`;
      ctx.fillText("toes ↑", 6 * dpr, 16 * dpr);
      ctx.fillText("right →", W - 52 * dpr, H - 8 * dpr);
      ctx.fillText(`grid ${step} cm`, 6 * dpr, H - 8 * dpr);
      if (!n) {
        ctx.fillStyle = "#8a95a1";
        ctx.font = `${18 * dpr}px system-ui, sans-serif`;
        ctx.textAlign = "center";
        ctx.fillText("No one on the plate", W / 2, H / 2);
        ctx.textAlign = "start";
        return;
      }
      // the trace, older parts lighter
      ctx.lineWidth = 2 * dpr;
      ctx.lineJoin = "round";
      const segments = 5;
      const per = Math.ceil(ml.length / segments);
      for (let s = 0; s < segments; s++) {
        ctx.strokeStyle = `rgba(31, 78, 121, ${0.2 + 0.8 * (s + 1) / segments})`;
        ctx.beginPath();
        let pen = false;
        for (let i = s * per; i < Math.min(ml.length, (s + 1) * per + 1); i++) {
          if (ml[i] === null || ap[i] === null) { pen = false; continue; }
          if (pen) ctx.lineTo(X(ml[i]), Y(ap[i])); else { ctx.moveTo(X(ml[i]), Y(ap[i])); pen = true; }
        }
        ctx.stroke();
      }
      for (let i = ml.length - 1; i >= 0; i--) {
        if (ml[i] !== null && ap[i] !== null) {
          ctx.fillStyle = "#d33";
          ctx.beginPath();
          ctx.arc(X(ml[i]), Y(ap[i]), 6 * dpr, 0, 2 * Math.PI);
          ctx.fill();
          break;
        }
      }
    }
  }

  /* -- static statokinesigram with the 95 % prediction ellipse (SVG) ------------------------ */
  function statokinesigram(ml, ap, ellipse, opts) {
    const size = (opts && opts.size) || 360;
    const pts = [];
    for (let i = 0; i < ml.length; i++) if (ml[i] !== null && ap[i] !== null) pts.push([ml[i], ap[i]]);
    const root = svg("svg", { viewBox: `0 0 ${size} ${size}`, class: "chart statokinesigram", role: "img",
      "aria-label": "Centre of pressure trace with the 95 % prediction ellipse" });
    if (!pts.length) {
      root.append(svg("text", { x: size / 2, y: size / 2, "text-anchor": "middle" }, "no centre of pressure"));
      return root;
    }
    const cx = pts.reduce((a, p) => a + p[0], 0) / pts.length;
    const cy = pts.reduce((a, p) => a + p[1], 0) / pts.length;
    let reach = 0.5;
    for (const p of pts) reach = Math.max(reach, Math.abs(p[0] - cx), Math.abs(p[1] - cy));
    if (ellipse && ellipse.major_cm) reach = Math.max(reach, ellipse.major_cm);
    const half = reach * 1.15;
    const pad = 24;
    const scale = (size - 2 * pad) / (2 * half);
    const X = (v) => pad + (v - cx + half) * scale;
    const Y = (v) => size - pad - (v - cy + half) * scale;
    const step = niceStep(2 * half, 6);
    const grid = svg("g", { stroke: "#e1e6eb", "stroke-width": 1 });
    for (let g = Math.ceil((cx - half) / step) * step; g <= cx + half; g += step) grid.append(svg("line", { x1: X(g), x2: X(g), y1: pad, y2: size - pad }));
    for (let g = Math.ceil((cy - half) / step) * step; g <= cy + half; g += step) grid.append(svg("line", { x1: pad, x2: size - pad, y1: Y(g), y2: Y(g) }));
    root.append(grid);
    root.append(svg("text", { x: pad, y: 14 }, `AP ↑ (toes), ML → (right); grid ${step} cm`));
    const d = pts.map((p, i) => (i ? "L" : "M") + X(p[0]).toFixed(1) + " " + Y(p[1]).toFixed(1)).join("");
    root.append(svg("path", { d, fill: "none", stroke: "#1f4e79", "stroke-width": 1.2, "stroke-opacity": 0.8, class: "trace" }));
    if (ellipse && ellipse.major_cm && ellipse.minor_cm) {
      // major axis at angle_deg from +AP toward +ML; on screen +ML is x, +AP is up
      const a = (ellipse.angle_deg || 0) * Math.PI / 180;
      const rot = -Math.atan2(Math.cos(a), Math.sin(a)) * 180 / Math.PI; // screen rotation of the major axis
      root.append(svg("ellipse", {
        cx: X(cx), cy: Y(cy), rx: ellipse.major_cm * scale, ry: ellipse.minor_cm * scale,
        transform: `rotate(${rot.toFixed(2)} ${X(cx).toFixed(1)} ${Y(cy).toFixed(1)})`,
        fill: "rgba(211, 51, 51, 0.08)", stroke: "#d33", "stroke-width": 2, class: "ellipse",
      }));
    }
    return root;
  }

  /* -- time series (SVG): series = [{t: [...], y: [...], color, label}] ---------------------- */
  function timeSeries(series, opts) {
    const W = (opts && opts.width) || 560, H = (opts && opts.height) || 220;
    const padL = 48, padR = 12, padT = 22, padB = 30;
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart timeseries", role: "img",
      "aria-label": (opts && opts.label) || "time series" });
    let t0 = Infinity, t1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const s of series) {
      for (let i = 0; i < s.t.length; i++) {
        if (s.y[i] === null) continue;
        t0 = Math.min(t0, s.t[i]); t1 = Math.max(t1, s.t[i]);
        y0 = Math.min(y0, s.y[i]); y1 = Math.max(y1, s.y[i]);
      }
    }
    if (!Number.isFinite(t0)) { root.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "no data")); return root; }
    if (y1 - y0 < 1e-9) { y0 -= 1; y1 += 1; }
    const ypad = (y1 - y0) * 0.08; y0 -= ypad; y1 += ypad;
    if (t1 - t0 < 1e-9) t1 = t0 + 1;
    const X = (t) => padL + (t - t0) / (t1 - t0) * (W - padL - padR);
    const Y = (v) => H - padB - (v - y0) / (y1 - y0) * (H - padT - padB);
    const axes = svg("g", { stroke: "#e1e6eb" });
    const ys = niceStep(y1 - y0, 4);
    for (let g = Math.ceil(y0 / ys) * ys; g <= y1; g += ys) {
      axes.append(svg("line", { x1: padL, x2: W - padR, y1: Y(g), y2: Y(g) }));
      root.append(svg("text", { x: padL - 4, y: Y(g) + 4, "text-anchor": "end" }, +g.toFixed(6)));
    }
    const ts = niceStep(t1 - t0, 6);
    for (let g = Math.ceil(t0 / ts) * ts; g <= t1; g += ts) {
      root.append(svg("text", { x: X(g), y: H - 10, "text-anchor": "middle" }, +g.toFixed(6)));
    }
    root.prepend(axes);
    if (opts && opts.yLabel) root.append(svg("text", { x: 4, y: 14 }, opts.yLabel));
    if (opts && opts.xLabel) root.append(svg("text", { x: W - padR, y: H - 10, "text-anchor": "end" }, opts.xLabel));
    let lx = padL + 120;
    for (const s of series) {
      let d = "", pen = false;
      for (let i = 0; i < s.t.length; i++) {
        if (s.y[i] === null) { pen = false; continue; }
        d += (pen ? "L" : "M") + X(s.t[i]).toFixed(1) + " " + Y(s.y[i]).toFixed(1);
        pen = true;
      }
      root.append(svg("path", { d, fill: "none", stroke: s.color, "stroke-width": 1.3 }));
      if (s.label) { root.append(svg("text", { x: lx, y: 14, fill: s.color }, s.label)); lx += 90; }
    }
    return root;
  }

  /* -- history chart (SVG): points [{date: Date, value, label}], optional MDC band ----------- */
  function history(points, opts) {
    const W = 520, H = 240, padL = 52, padR = 16, padT = 16, padB = 42;
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart history", role: "img",
      "aria-label": (opts && opts.label) || "history" });
    const mdc = opts && opts.mdc;
    const values = points.map((p) => p.value);
    let y0 = Math.min(...values), y1 = Math.max(...values);
    if (mdc) { y0 = Math.min(y0, values[0] - mdc); y1 = Math.max(y1, values[0] + mdc); }
    if (y1 - y0 < 1e-9) { y0 -= Math.abs(y0) * 0.1 + 1e-3; y1 += Math.abs(y1) * 0.1 + 1e-3; }
    const pad = (y1 - y0) * 0.1; y0 -= pad; y1 += pad;
    const times = points.map((p) => p.date.getTime());
    let t0 = Math.min(...times), t1 = Math.max(...times);
    if (t1 - t0 < 1) { t0 -= 86400000; t1 += 86400000; }
    const X = (t) => padL + (t - t0) / (t1 - t0) * (W - padL - padR);
    const Y = (v) => H - padB - (v - y0) / (y1 - y0) * (H - padT - padB);
    const ys = niceStep(y1 - y0, 4);
    const grid = svg("g", { stroke: "#e1e6eb" });
    for (let g = Math.ceil(y0 / ys) * ys; g <= y1; g += ys) {
      grid.append(svg("line", { x1: padL, x2: W - padR, y1: Y(g), y2: Y(g) }));
      root.append(svg("text", { x: padL - 4, y: Y(g) + 4, "text-anchor": "end" }, +g.toPrecision(6)));
    }
    root.prepend(grid);
    if (mdc) {
      root.append(svg("rect", { x: padL, width: W - padL - padR, y: Y(values[0] + mdc), height: Y(values[0] - mdc) - Y(values[0] + mdc),
        fill: "rgba(224, 161, 0, 0.15)", class: "mdc-band" }));
    }
    const d = points.map((p, i) => (i ? "L" : "M") + X(times[i]).toFixed(1) + " " + Y(p.value).toFixed(1)).join("");
    root.append(svg("path", { d, fill: "none", stroke: "#1f4e79", "stroke-width": 2 }));
    points.forEach((p, i) => {
      const dot = svg("circle", { cx: X(times[i]), cy: Y(p.value), r: 6, fill: "#1f4e79", class: "point" });
      dot.append(svg("title", {}, `${p.label}: ${p.text}`));
      root.append(dot);
    });
    const fmtDate = (t) => new Date(t).toLocaleDateString(undefined, { month: "short", day: "numeric" });
    root.append(svg("text", { x: padL, y: H - 14 }, fmtDate(t0)));
    root.append(svg("text", { x: W - padR, y: H - 14, "text-anchor": "end" }, fmtDate(t1)));
    if (opts && opts.unit) root.append(svg("text", { x: 4, y: 12 }, opts.unit));
    return root;
  }

  return { LiveTrace, statokinesigram, timeSeries, history, niceStep };
})();
