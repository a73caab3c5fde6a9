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

  /* -- live statokinesigram (canvas), in the plate frame ---------------------------------------
     Fixed scale, never re-centred: the plate's outline (corner load cells), the feet for the
     stance of the trial (outline of each foot on the plate) and their base of support (shaded),
     the centre of pressure where it really is on the plate. A 10 cm bar gives the scale. */
  const FOOT_L = 25, FOOT_W = 9.5; // cm, an adult foot on the plate's marks
  const ZOOM_HALF_CM = 5; // the zoomed inset shows ±5 cm of the plate frame

  /* Foot outlines (plate frame, cm; +ML right, +AP toes) for a stance's ``feet``. */
  function feetFor(feet) {
    const foot = (ml, ap) => ({ ml, ap, w: FOOT_W, l: FOOT_L });
    switch (feet) {
      case "together": return [foot(-FOOT_W / 2 - 0.3, 0), foot(FOOT_W / 2 + 0.3, 0)];
      case "single_left": return [foot(-FOOT_W / 2 - 0.3, 0)];
      case "single_right": return [foot(FOOT_W / 2 + 0.3, 0)];
      case "tandem": return [foot(0, FOOT_L / 2), foot(0, -FOOT_L / 2)];
      case "semi_tandem": return [foot(-FOOT_W / 2 - 0.3, FOOT_L / 4), foot(FOOT_W / 2 + 0.3, -FOOT_L / 4)];
      case "apart": return [foot(-8.5, 0), foot(8.5, 0)];
      default: return [];
    }
  }

  class LiveTrace {
    constructor(canvas, plate) {
      this.canvas = canvas;
      this.ctx = canvas.getContext("2d");
      this.plate = plate || { width_cm: 40, depth_cm: 40 };
      this.feet = null; // stance feet of the trial on screen (null: not known)
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

    /* ml, ap: arrays (cm, null where unknown), newest last; stale: the data stopped (grey). */
    draw(ml, ap, stale) {
      const dpr = this.resize();
      const ctx = this.ctx;
      const W = this.canvas.width, H = this.canvas.height;
      ctx.clearRect(0, 0, W, H);
      // a fixed view: the plate with a margin
      // a wide canvas: the plate on the left, the zoom beside it; a square one: the zoom in a corner
      // a tall one (a phone): the plate on top, the zoom under it
      const wide = W > H * 1.25, tall = H > W * 1.2;
      const PW = wide ? Math.min(H, W * 0.62) : W; // the plate view's width (px)
      const PH = tall ? W : H; // the plate view's height (px)
      const halfW = this.plate.width_cm / 2 + 4, halfD = this.plate.depth_cm / 2 + 4;
      const scale = Math.min(PW / (2 * halfW), PH / (2 * halfD)); // px per cm
      const X = (v) => PW / 2 + v * scale;
      const Y = (v) => PH / 2 - v * scale;
      // the plate
      ctx.lineWidth = 2 * dpr;
      ctx.strokeStyle = "#8a95a1";
      ctx.fillStyle = "#f1f4f7";
      const pw = this.plate.width_cm * scale, pd = this.plate.depth_cm * scale;
      ctx.fillRect(X(-this.plate.width_cm / 2), Y(this.plate.depth_cm / 2), pw, pd);
      ctx.strokeRect(X(-this.plate.width_cm / 2), Y(this.plate.depth_cm / 2), pw, pd);
      // grid every 5 cm
      ctx.lineWidth = 1 * dpr;
      ctx.strokeStyle = "#e1e6eb";
      ctx.beginPath();
      for (let g = -Math.floor(this.plate.width_cm / 10) * 5; g <= this.plate.width_cm / 2; g += 5) {
        ctx.moveTo(Math.round(X(g)) + 0.5, Y(this.plate.depth_cm / 2)); ctx.lineTo(Math.round(X(g)) + 0.5, Y(-this.plate.depth_cm / 2));
      }
      for (let g = -Math.floor(this.plate.depth_cm / 10) * 5; g <= this.plate.depth_cm / 2; g += 5) {
        ctx.moveTo(X(-this.plate.width_cm / 2), Math.round(Y(g)) + 0.5); ctx.lineTo(X(this.plate.width_cm / 2), Math.round(Y(g)) + 0.5);
      }
      ctx.stroke();
      // feet and their base of support
      const feet = feetFor(this.feet);
      // what was drawn where (canvas px), for anyone checking the picture (the browser tests)
      this.canvas.dataset.plate = [X(-this.plate.width_cm / 2), Y(this.plate.depth_cm / 2), pw, pd].map(Math.round).join(",");
      this.canvas.dataset.feet = String(feet.length);
      this.canvas.dataset.cop = "";
      if (feet.length) {
        const l = Math.min(...feet.map((f) => f.ml - f.w / 2)), r = Math.max(...feet.map((f) => f.ml + f.w / 2));
        const b = Math.min(...feet.map((f) => f.ap - f.l / 2)), t = Math.max(...feet.map((f) => f.ap + f.l / 2));
        ctx.fillStyle = "rgba(30, 122, 60, 0.10)";
        ctx.fillRect(X(l), Y(t), (r - l) * scale, (t - b) * scale);
        ctx.strokeStyle = "#7a8693";
        ctx.lineWidth = 1.5 * dpr;
        for (const f of feet) {
          ctx.beginPath();
          ctx.ellipse(X(f.ml), Y(f.ap), (f.w / 2) * scale, (f.l / 2) * scale, 0, 0, 2 * Math.PI);
          ctx.stroke();
        }
      }
      // labels and the scale bar
      ctx.fillStyle = "#4d5864";
      ctx.font = `${12 * dpr}px system-ui, sans-serif`;
      ctx.fillText("toes ↑", 6 * dpr, 16 * dpr);
      ctx.textAlign = "end";
      ctx.fillText("patient's right →", PW - 6 * dpr, wide ? H - 6 * dpr : 16 * dpr);
      ctx.textAlign = "start";
      ctx.strokeStyle = "#4d5864";
      ctx.lineWidth = 2 * dpr;
      ctx.beginPath();
      ctx.moveTo(8 * dpr, PH - 10 * dpr); ctx.lineTo(8 * dpr + 10 * scale, PH - 10 * dpr);
      ctx.stroke();
      ctx.fillText("10 cm", 12 * dpr + 10 * scale, PH - 6 * dpr);
      let n = 0;
      for (let i = 0; i < ml.length; i++) if (ml[i] !== null && ap[i] !== null) n++;
      if (!n || stale) {
        ctx.fillStyle = "#5b6673";
        ctx.font = `${18 * dpr}px system-ui, sans-serif`;
        ctx.textAlign = "center";
        ctx.fillText(stale ? "No data from the plate" : "No one on the plate", PW / 2, PH / 2);
        ctx.textAlign = "start";
        if (stale) return;
        if (!n) return;
      }
      this.path(ml, ap, X, Y, 2 * dpr, 6 * dpr);
      for (let i = ml.length - 1; i >= 0; i--) {
        if (ml[i] !== null && ap[i] !== null) { this.canvas.dataset.cop = [X(ml[i]), Y(ap[i])].map(Math.round).join(","); break; }
      }
      // the zoom: the same plate frame around the feet's centre, fixed (never re-centred)
      const pad = 8 * dpr;
      const box = wide ? Math.round(Math.min(W - PW - 2 * pad, H - 40 * dpr))
        : tall ? Math.round(Math.min(H - PH - 28 * dpr, W * 0.6)) : Math.round(Math.min(W, H) * 0.3);
      const bx = tall ? Math.round((W - box) / 2) : W - box - pad;
      const by = wide ? Math.round((H - box) / 2) : H - box - pad;
      const zoom = box / (2 * ZOOM_HALF_CM);
      const ZX = (v) => bx + box / 2 + v * zoom, ZY = (v) => by + box / 2 - v * zoom;
      ctx.save();
      ctx.fillStyle = "rgba(255, 255, 255, 0.94)";
      ctx.strokeStyle = "#4d5864";
      ctx.lineWidth = 1.5 * dpr;
      ctx.fillRect(bx, by, box, box);
      ctx.strokeRect(bx, by, box, box);
      ctx.beginPath();
      ctx.rect(bx, by, box, box);
      ctx.clip();
      ctx.strokeStyle = "#e1e6eb";
      ctx.lineWidth = 1 * dpr;
      ctx.beginPath();
      for (let g = -ZOOM_HALF_CM; g <= ZOOM_HALF_CM; g += 1) {
        ctx.moveTo(Math.round(ZX(g)) + 0.5, by); ctx.lineTo(Math.round(ZX(g)) + 0.5, by + box);
        ctx.moveTo(bx, Math.round(ZY(g)) + 0.5); ctx.lineTo(bx + box, Math.round(ZY(g)) + 0.5);
      }
      ctx.stroke();
      ctx.strokeStyle = "#9aa5b1";
      ctx.beginPath();
      ctx.moveTo(ZX(0), by); ctx.lineTo(ZX(0), by + box); ctx.moveTo(bx, ZY(0)); ctx.lineTo(bx + box, ZY(0));
      ctx.stroke();
      this.path(ml, ap, ZX, ZY, 1.5 * dpr, 4 * dpr);
      ctx.restore();
      ctx.fillStyle = "#4d5864";
      ctx.font = `${11 * dpr}px system-ui, sans-serif`;
      // the captions wrap at the box's width (at 1024x768 the box is narrower than "fixed on the plate's centre")
      const lineH = 13 * dpr;
      const above = this.wrapText(wide || tall ? `Zoom ±${ZOOM_HALF_CM} cm, 1 cm grid` : `zoom ±${ZOOM_HALF_CM} cm`, box);
      const below = wide ? this.wrapText("fixed on the plate's centre", box) : [];
      above.forEach((line, i) => ctx.fillText(line, bx, by - 6 * dpr - (above.length - 1 - i) * lineH));
      below.forEach((line, i) => ctx.fillText(line, bx, by + box + 16 * dpr + i * lineH));
      // where the captions reach (canvas px: left, top, right, bottom), for a check that none is cut off
      const widest = Math.max(...above.concat(below).map((line) => ctx.measureText(line).width));
      this.canvas.dataset.zoomCaption = [bx, by - 6 * dpr - above.length * lineH, bx + widest,
        below.length ? by + box + 16 * dpr + (below.length - 1) * lineH + 3 * dpr : by].map(Math.round).join(",");
    }

    /* ``text`` in lines no wider than ``width`` (canvas px, the context's font), broken between words. */
    wrapText(text, width) {
      const lines = [];
      for (const word of text.split(" ")) {
        const last = lines.length ? `${lines[lines.length - 1]} ${word}` : word;
        if (lines.length && this.ctx.measureText(last).width <= width) lines[lines.length - 1] = last;
        else lines.push(word);
      }
      return lines;
    }

    /* The trace (older parts lighter) and the latest point, through the X/Y mapping given. */
    path(ml, ap, X, Y, width, dot) {
      const ctx = this.ctx;
      ctx.lineWidth = width;
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
          ctx.arc(X(ml[i]), Y(ap[i]), dot, 0, 2 * Math.PI);
          ctx.fill();
          break;
        }
      }
    }
  }

  /* Half-span (cm) that shows a trace and its ellipse around their mean, with a margin. */
  function reach(ml, ap, ellipse) {
    let n = 0, sx = 0, sy = 0;
    for (let i = 0; i < ml.length; i++) if (ml[i] !== null && ap[i] !== null) { sx += ml[i]; sy += ap[i]; n++; }
    if (!n) return 0.5;
    const cx = sx / n, cy = sy / n;
    let r = 0.5;
    for (let i = 0; i < ml.length; i++) {
      if (ml[i] !== null && ap[i] !== null) r = Math.max(r, Math.abs(ml[i] - cx), Math.abs(ap[i] - cy));
    }
    if (ellipse && ellipse.major_cm) r = Math.max(r, ellipse.major_cm);
    return r * 1.15;
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
    // one scale for several plots (the conditions of a test) when the caller gives it
    const half = (opts && opts.half) || reach(ml, ap, ellipse);
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

  /* What statokinesigram draws, for its caption: the ellipse with its area when measured ("trace and 95 % ellipse
     (12.3 cm²)"), without a bracket when the area is not ("–"); no ellipse drawn (a trial stored without its
     ellipse's measures) said so, never an empty "(–)". */
  function traceWords(ellipse, areaWords) {
    if (!(ellipse && ellipse.major_cm && ellipse.minor_cm)) return "trace (no 95 % ellipse for this trial)";
    return !areaWords || areaWords === "–" ? "trace and 95 % ellipse" : `trace and 95 % ellipse (${areaWords})`;
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
    if (opts && opts.minSpan && y1 - y0 < opts.minSpan) { const m = (y0 + y1) / 2; y0 = m - opts.minSpan / 2; y1 = m + opts.minSpan / 2; }
    if (opts && opts.floor !== undefined && opts.floor !== null) y0 = Math.min(y0, opts.floor);
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
    const xLabel = (opts && opts.xLabel) || "";
    const charW = 6.5; // about one character of the axis' labels, in the chart's units
    let unitDrawn = false;
    for (let g = Math.ceil(t0 / ts) * ts; g <= t1; g += ts) {
      const text = String(+g.toFixed(6));
      // a tick label that would run into the unit at the right end ("5" under "s") carries the unit itself: "5 s"
      if (xLabel && g + ts > t1 && X(g) + text.length * charW / 2 > W - padR - xLabel.length * charW - 4) {
        root.append(svg("text", { x: Math.min(X(g) + text.length * charW / 2 + (xLabel.length + 1) * charW, W - 1), y: H - 10,
          "text-anchor": "end", class: "tick-with-unit" }, `${text} ${xLabel}`));
        unitDrawn = true;
      } else {
        root.append(svg("text", { x: X(g), y: H - 10, "text-anchor": "middle" }, text));
      }
    }
    root.prepend(axes);
    if (opts && opts.yLabel) root.append(svg("text", { x: 4, y: 14 }, opts.yLabel));
    if (xLabel && !unitDrawn) root.append(svg("text", { x: W - padR, y: H - 10, "text-anchor": "end", class: "x-unit" }, xLabel));
    let lx = padL + 30;
    for (const s of series) {
      let d = "", pen = false;
      for (let i = 0; i < s.t.length; i++) {
        if (s.y[i] === null) { pen = false; continue; }
        d += (pen ? "L" : "M") + X(s.t[i]).toFixed(1) + " " + Y(s.y[i]).toFixed(1);
        pen = true;
      }
      root.append(svg("path", { d, fill: "none", stroke: s.color, "stroke-width": 1.3 }));
      if (s.label) {
        root.append(svg("line", { x1: lx, x2: lx + 18, y1: 10, y2: 10, stroke: s.color, "stroke-width": 3, class: "swatch" }));
        root.append(svg("text", { x: lx + 22, y: 14, fill: s.color, class: "legend" }, s.label));
        lx += 40 + s.label.length * 7; // the next label after this one's text
      }
    }
    return root;
  }

  /* The width of an SVG chart's drawing (its viewBox), in the px its 12-px labels are set in. A chart
     is scaled to its box's width, text included: a tablet's 520-720 wide drawing on a phone's
     360-px box set the labels at 6-8 px. On a phone (600 px or narrower, as the pages' CSS) the
     drawing is as wide as the screen, so its labels stay about 12 px. */
  const PHONE_DRAW_WIDTH = 360;
  function drawWidth(tabletWidth) {
    return window.matchMedia && window.matchMedia("(max-width: 600px)").matches ? PHONE_DRAW_WIDTH : tabletWidth;
  }

  /* Where the sessions of a history chart go across (px): by their time, sessions closer than their ``gaps`` (px,
     one per neighbouring pair) pushed apart in time order, within [left, right]; null when they cannot all fit. */
  function spreadX(xs, gaps, left, right) {
    const out = xs.slice();
    for (let i = 1; i < out.length; i++) out[i] = Math.max(out[i], out[i - 1] + gaps[i - 1]);
    if (out.length && out[out.length - 1] > right) {
      out[out.length - 1] = right;
      for (let i = out.length - 2; i >= 0; i--) out[i] = Math.min(out[i], out[i + 1] - gaps[i]);
    }
    return out.length && out[0] < left - 0.5 ? null : out;
  }

  /* A label's width (px) in the chart's 12-px font, estimated (the SVG is drawn before it is on the page). */
  const labelWidth = (text) => String(text).length * 6.6;

  /* A time held's limits across a chart's plot (x0 to x1, values at Y(v)), drawn alike on the history's charts and the
     visit's times held: the trial's length (``opts.ceiling``, grey, said what it is: a dashed line read as a target
     otherwise) and each published cut-off that applies to the patient, ``cutoffs`` [{value, label}], a dashed line
     labelled at its left end ("5 s cut-off (Vellas et al. 1997)"). */
  /* ``above``: px between the trial's length's line and its label's baseline, clear of what is drawn on the line (a
     history's points and lines at 30 s: the label sat on them). ``clear``: what a cut-off's label must not be
     crossed by (a history's data lines, ``segments`` [[x1, y1, x2, y2]], and points, ``points`` [[cx, cy, r]]; the
     visit's bars, ``boxes`` [[left, top, right, bottom]]) and the plot's ``top`` and ``bottom`` (px): the label goes
     at the first place along its line, above it or under it, that nothing crosses (it was always at the left end,
     above, where a line rising from a first session below the cut-off crossed it), named in full, else by its
     ``short`` name ("5 s cut-off") where that fits; where neither does, short, on a background of its own. The labels are put in
     ``labels`` (a group the chart appends over its data) when given, else in ``root``. */
  function limitLines(root, opts, cutoffs, Y, x0, x1, above = 5, clear = null, labels = null) {
    if (opts && opts.ceiling) {
      root.append(svg("line", { x1: x0, x2: x1, y1: Y(opts.ceiling), y2: Y(opts.ceiling), stroke: "#5b6670",
        "stroke-dasharray": "4 4", class: "ceiling" }));
      root.append(svg("text", { x: x1, y: Y(opts.ceiling) - above, "text-anchor": "end", stroke: "#fbfcfd", "stroke-width": 3,
        "paint-order": "stroke", class: "ceiling-label" }, ceilingWords(opts)));
    }
    // the boxes of the labels placed: another cut-off's label not on them (nor on the trial's length's)
    const taken = opts && opts.ceiling ? [[x1 - ceilingWidth(opts) - 2, Y(opts.ceiling) - above - 12, x1 + 2, Y(opts.ceiling) - above + 4]] : [];
    cutoffs.forEach((c) => {
      root.append(svg("line", { x1: x0, x2: x1, y1: Y(c.value), y2: Y(c.value), stroke: "#8a4b00",
        "stroke-dasharray": "8 4", class: "cutoff" }));
      let text = c.label, w = labelWidth(text), at = { x: x0 + 4, y: Y(c.value) - 5 }, crossed = false;
      if (clear) {
        // its whole name where nothing crosses it, else its short one ("5 s cut-off": its source is said under the
        // chart) where nothing does (a phone's narrow chart: the whole name, 210 px, on its background hid the data)
        const tries = [...new Set([c.label, c.short || c.label])].map((t) => {
          const tw = labelWidth(t), spots = labelSpots(x0 + 4, x1 - 4 - tw, Y(c.value), tw, clear.top, clear.bottom);
          return { t, tw, spots, free: spots.find((p) => !labelCrossed(labelBox(p, tw), clear, taken)) };
        });
        const chosen = tries.find((p) => p.free) || tries[tries.length - 1];
        ({ t: text, tw: w } = chosen);
        crossed = !chosen.free;
        at = chosen.free || chosen.spots[0] || at;
      }
      taken.push(labelBox(at, w));
      const into = labels || root;
      // where a data line cannot be kept off it: a background of its own, over the line
      if (crossed) into.append(svg("rect", { ...boxAttrs(labelBox(at, w)), fill: "#fbfcfd", "fill-opacity": 0.92, class: "cutoff-label-bg" }));
      // (a white edge keeps it read where it crosses a point or a bar)
      into.append(svg("text", { x: at.x, y: at.y, fill: "#8a4b00", stroke: "#fbfcfd", "stroke-width": 3,
        "paint-order": "stroke", class: "cutoff-label", "data-crossed": String(crossed) }, text));
    });
  }

  /* The most a measure's value can be, a chart's ``opts.ceiling``: a time held's is its trial's length (the protocol's
     duration_s, GET /api/protocols; the PDFs' series_chart ceiling alike), others none. One rule for the history and
     programme pages' charts (the programme's drew a 30-s trial's band up to 54.1 s). ``protocols``: the protocols'
     list; returns a function of a measure (metric) and its protocol's name to the ceiling, or undefined. */
  const trialCeilings = (protocols) => {
    const lengths = Object.fromEntries((protocols || []).filter((p) => p.outcome === "time_held").map((p) => [p.name, p.duration_s]));
    return (metric, protocol) => (metric === "time_held_s" && lengths[protocol]) || undefined;
  };

  /* The trial's length's label ("30 s: the longest a trial runs") and its width (px). */
  const ceilingWords = (opts) => `${+opts.ceiling.toPrecision(6)} ${opts.unit || ""}: the longest a trial runs`.replace(" :", ":");
  const ceilingWidth = (opts) => labelWidth(ceilingWords(opts));

  /* Where a cut-off's label (``w`` px wide, its line at ``y``) may go, in order: at the left end above the line,
     under it, at the right end above and under, then between, every 24 px; each whole within the plot (``top`` to
     ``bottom``). A place is its text's start and baseline {x, y}. */
  function labelSpots(left, right, y, w, top, bottom) {
    const xs = [left, right];
    for (let x = left + 24; x < right; x += 24) xs.push(x);
    return xs.filter((x) => x >= left && x <= Math.max(left, right)).flatMap((x) => [{ x, y: y - 5 }, { x, y: y + 15 }])
      .filter((p) => p.y - 12 >= top && p.y + 4 <= bottom);
  }

  /* A label's box (its text's 12 px and the white edge): [left, top, right, bottom]. */
  const labelBox = (p, w) => [p.x - 2, p.y - 12, p.x + w + 2, p.y + 4];
  const boxAttrs = (b) => ({ x: b[0], y: b[1], width: b[2] - b[0], height: b[3] - b[1] });

  /* Whether a label's box is crossed by a data line or a point of ``clear``, or lies on a label already placed. */
  function labelCrossed(box, clear, taken) {
    const [l, t, r, b] = box;
    const overlaps = (o) => o[0] < r && l < o[2] && o[1] < b && t < o[3];
    return taken.some(overlaps) || (clear.boxes || []).some(overlaps)
      || (clear.points || []).some(([cx, cy, rad]) => overlaps([cx - rad, cy - rad, cx + rad, cy + rad]))
      || (clear.segments || []).some((s) => segmentInBox(s, box));
  }

  /* Whether the segment [x1, y1, x2, y2] passes through the box [left, top, right, bottom] (Liang-Barsky). */
  function segmentInBox([x1, y1, x2, y2], [l, t, r, b]) {
    const dx = x2 - x1, dy = y2 - y1;
    let lo = 0, hi = 1;
    for (const [p, q] of [[-dx, x1 - l], [dx, r - x1], [-dy, y1 - t], [dy, b - y1]]) {
      if (p === 0) { if (q < 0) return false; continue; }
      const k = q / p;
      if (p < 0) lo = Math.max(lo, k); else hi = Math.min(hi, k);
      if (lo > hi) return false;
    }
    return true;
  }

  /* -- a visit's times held (SVG): bars [{label, short, value, unable, text}], one a trial in the order recorded ------
     Each trial's time held a bar from 0 s (a 0 s, unable, a red point on the axis), its ``label`` under it (its
     ``short`` one when the labels do not fit under the bars) and its time under that ("4.2 s"); the trial's
     length (``opts.ceiling``) and the published cut-offs that apply (``opts.cutoffs``) as the history's charts draw
     them (limitLines: a cut-off's label clear of the bars). ``opts.width``: the px the chart is shown at (labels 12 px), else drawWidth. */
  function timesHeld(bars, opts) {
    const W = opts && opts.width ? Math.max(280, Math.round(opts.width)) : drawWidth(520);
    const padL = 44, padR = 12, padT = 16, padB = 46, H = 220;
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart times-held", role: "img",
      "aria-label": (opts && opts.label) || "time held, each trial" });
    const cutoffs = (opts && opts.cutoffs) || [];
    const top = Math.max(1, ...bars.map((b) => b.value * 1.15), ...cutoffs.map((c) => c.value * 1.15), (opts && opts.ceiling) || 0);
    const Y = (v) => H - padB - v / top * (H - padT - padB);
    const step = niceStep(top, 4);
    const grid = svg("g", { stroke: "#e1e6eb" });
    for (let g = 0; g <= top + 1e-9; g += step) {
      grid.append(svg("line", { x1: padL, x2: W - padR, y1: Y(g), y2: Y(g) }));
      root.append(svg("text", { x: padL - 4, y: Y(g) + 4, "text-anchor": "end" }, +g.toPrecision(6)));
    }
    root.append(grid);
    const slot = (W - padL - padR) / Math.max(1, bars.length);
    const named = bars.every((b) => labelWidth(b.label) <= slot - 6);
    // what the bars draw, for the cut-offs' labels to keep clear of (they were at the left end, over the first bar)
    const clear = { top: padT, bottom: H - padB, boxes: [], points: [] };
    bars.forEach((b, i) => {
      const x = padL + slot * (i + 0.5), w = Math.min(44, slot * 0.55);
      if (b.unable) clear.points.push([x, Y(0), 9]);
      else clear.boxes.push([x - w / 2, Y(b.value), x + w / 2, Y(0)]);
      if (b.unable) {
        root.append(svg("circle", { cx: x, cy: Y(0), r: 7, fill: "#a32020", class: "bar unable" }, svg("title", {}, `${b.label}: ${b.text}`)));
      } else {
        root.append(svg("rect", { x: x - w / 2, y: Y(b.value), width: w, height: Math.max(1, Y(0) - Y(b.value)), fill: "#1f4e79",
          class: "bar" }, svg("title", {}, `${b.label}: ${b.text}`)));
      }
      // its name under it and its time under that, clear of the lines a bar's top can meet (the cut-off's, the 30 s)
      root.append(svg("text", { x, y: H - padB + 20, "text-anchor": "middle", class: "bar-label" }, named ? b.label : b.short || String(i + 1)));
      root.append(svg("text", { x, y: H - padB + 36, "text-anchor": "middle", class: "bar-value" }, b.text));
    });
    limitLines(root, opts, cutoffs, Y, padL, W - padR, 5, clear);
    if (opts && opts.unit) root.append(svg("text", { x: 4, y: 12 }, opts.unit));
    root.dataset.named = String(named);
    return root;
  }

  /* -- history chart (SVG): points [{date: Date, value, label, text, ticks}], optional MDC band ----------- */
  /* ``points`` of one line, or ``opts.lines`` = [{points, color, label}] for several (the
     conditions of a test on one chart, one scale); the MDC band only for a single line;
     ``opts.atLeast``: an axis from ``floor`` reaches at least this value (a count's, whole ticks);
     ``opts.width``: the px the chart is shown at (its labels then 12 px whatever the screen; else drawWidth);
     ``opts.cutoffs``: [{value, label, short}] published cut-offs that apply to the patient, each a dashed line
     labelled where the data leaves room (limitLines; the axis reaches them).
     The date axis is time; sessions too close to tell apart there (two or three the same morning, a visit)
     are spread apart in their order, each labelled under its point by its ``ticks`` (lines: its number in the
     visit, "Session 2", as the visit page names it, and its time), the day once under them. */
  function history(points, opts) {
    const W = opts && opts.width ? Math.max(300, Math.round(opts.width)) : drawWidth(520), padL = 52, padR = 16, padT = 16;
    const lines = (opts && opts.lines) || [{ points, color: "#1f4e79", label: null }];
    const legendColumns = W < 500 ? 1 : 2; // a phone's chart: one condition a row, its name whole
    const legendRows = lines.length > 1 ? Math.ceil(lines.length / legendColumns) : 0;
    const all = lines.flatMap((l) => l.points);
    const times = all.map((p) => p.date.getTime());
    let t0 = Math.min(...times), t1 = Math.max(...times);
    if (t1 - t0 < 1) { t0 -= 86400000; t1 += 86400000; }
    // the first and last sessions' points kept clear of the value labels at the left and the edge at the right:
    // drawn on the axis itself, a point (up to 7 px, wider for the earlier of several lines) touched the labels
    const radius = 7 + (lines.length - 1) * 2;
    const inset = radius + 6;
    const left = padL + inset, right = W - padR - inset;
    const byTime = (t) => left + (t - t0) / (t1 - t0) * (right - left);
    // each session once (its instant), what it is called, and where it goes across
    const sessions = [...new Map(all.map((p) => [p.date.getTime(), p])).values()].sort((a, b) => a.date - b.date);
    const ticks = sessions.map((p) => (p.ticks || []).filter(Boolean));
    const timeX = sessions.map((p) => byTime(p.date.getTime()));
    const pointGap = 2 * radius + 4;
    const close = timeX.slice(1).map((x, i) => x - timeX[i] < pointGap); // neighbours drawn on top of each other
    // neighbours spread apart as far as their labels need, half of each one's widest and a space between
    const tickGap = (i) => Math.max(pointGap, ...[0, 1].map((r) => (labelWidth(ticks[i][r] || "") + labelWidth(ticks[i + 1][r] || "")) / 2 + 10));
    // a first or last session with labels under it: far enough from the edge for them to be whole
    const halfTicks = (i) => Math.max(...ticks[i].map(labelWidth)) / 2 + 2;
    const n = sessions.length;
    let xs = spreadX(timeX, close.map((c, i) => (c ? tickGap(i) : pointGap)),
      close[0] ? Math.max(left, halfTicks(0)) : left, close[n - 2] ? Math.min(right, W - halfTicks(n - 1)) : right);
    const labelled = xs !== null && close.some(Boolean); // each close session with its own labels under it
    xs = xs || spreadX(timeX, close.map(() => pointGap), left, right)
      || sessions.map((_, i) => (sessions.length < 2 ? left : left + i * (right - left) / (sessions.length - 1)));
    const across = new Map(sessions.map((p, i) => [p.date.getTime(), xs[i]]));
    const X = (t) => across.get(t);
    const fmtDate = (t) => new Date(t).toLocaleDateString(undefined, { month: "short", day: "numeric" });
    const groups = []; // runs of sessions too close to tell apart by their time
    sessions.forEach((p, i) => (i && close[i - 1] ? groups[groups.length - 1].push(i) : groups.push([i])));
    const dayOf = (g) => [...new Set(g.map((i) => fmtDate(sessions[i].date.getTime())))].join(" – ");
    const shown = [...new Set([groups[0], groups[groups.length - 1], ...groups.filter((g) => g.length > 1)])];
    // two labelled sessions of one day drawn apart (a day's axis: "Dec 5" under each): each named by its ticks too
    const sameDay = new Set(shown.map(dayOf)).size < shown.length;
    const named = (g) => (g.length > 1 && labelled) || sameDay;
    const tickRows = labelled || sameDay ? Math.max(...ticks.map((t) => t.length)) : 0;
    const padB = 42 + tickRows * 14 + legendRows * 18;
    const H = 240 + tickRows * 14 + legendRows * 18;
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart history", role: "img",
      "aria-label": (opts && opts.label) || "history" });
    const mdc = lines.length === 1 ? opts && opts.mdc : null;
    const values = all.map((p) => p.value);
    const first = lines[0].points[0].value;
    let y0 = Math.min(...values), y1 = Math.max(...values);
    // the most a value can be (a time held: the trial's length): the band and the axis stop there, as at a floor
    // (30 s ± 24.1 s was drawn up to 54.1 s, a time no 30-s trial can hold; the history PDF's series_chart alike)
    const most = (opts && opts.ceiling) || Infinity;
    if (mdc) { y0 = Math.min(y0, first - mdc); y1 = Math.max(y1, Math.min(first + mdc, most)); }
    const cutoffs = (opts && opts.cutoffs) || [];
    cutoffs.forEach((c) => { y0 = Math.min(y0, c.value); y1 = Math.max(y1, c.value); });
    const floor = opts && opts.floor;
    if (floor !== undefined && floor !== null) {
      // amounts (areas, velocities, times) from zero: a small change must look small
      y0 = floor;
      // (an axis to at least ``atLeast`` keeps the same headroom: its top tick clear of the unit's label)
      y1 = Math.max(y1 * 1.15, (opts && opts.ceiling) || 0, ((opts && opts.atLeast) || 0) * 1.15, floor + 1e-3);
    } else if (opts && opts.around !== undefined) {
      // a split (weight on the left, %): centred on the even value, at least ±10 points
      const span = Math.max(10, Math.abs(y0 - opts.around), Math.abs(y1 - opts.around)) * 1.1;
      y0 = opts.around - span; y1 = opts.around + span;
    } else {
      if (y1 - y0 < 1e-9) { y0 -= Math.abs(y0) * 0.1 + 1e-3; y1 += Math.abs(y1) * 0.1 + 1e-3; }
      const pad = (y1 - y0) * 0.1; y0 -= pad; y1 += pad;
    }
    // the trial's length labelled above its line clear of the points drawn on it (as wide as ``radius``) and whole
    // within the plot: the axis reaches high enough above it for the label's line of text
    const ceilingAbove = radius + 4, ceiling = opts && opts.ceiling;
    if (ceiling && floor !== undefined && floor !== null) {
      const k = (ceilingAbove + 12) / (H - padT - padB); // that room, a share of the plot's height
      y1 = Math.max(y1, (ceiling - k * y0) / (1 - k));
    }
    const Y = (v) => H - padB - (v - y0) / (y1 - y0) * (H - padT - padB);
    const ys = niceStep(y1 - y0, 4);
    const grid = svg("g", { stroke: "#e1e6eb" });
    for (let g = Math.ceil(y0 / ys) * ys; g <= y1; g += ys) {
      grid.append(svg("line", { x1: padL, x2: W - padR, y1: Y(g), y2: Y(g) }));
      root.append(svg("text", { x: padL - 4, y: Y(g) + 4, "text-anchor": "end" }, +g.toPrecision(6)));
    }
    root.prepend(grid);
    if (mdc) { // within the axis: an amount's band around 0 s stops at its floor, not below the dates
      const top = Math.min(first + mdc, y1, most), bottom = Math.max(first - mdc, y0);
      root.append(svg("rect", { x: padL, width: W - padL - padR, y: Y(top), height: Y(bottom) - Y(top),
        fill: "rgba(224, 161, 0, 0.15)", class: "mdc-band" }));
    }
    // points of several lines at one session with the same value (every condition held 30 s) side by side, each seen
    const sameSpot = (p, t) => lines.filter((l) => l.points.some((q) => q.date.getTime() === t && q.value === p.value));
    // what the data draws (its lines' segments and its points), for the cut-offs' labels to keep clear of
    const clear = { top: padT, bottom: H - padB, segments: [], points: [] };
    lines.forEach((line, k) => line.points.forEach((p, i) => {
      const t = p.date.getTime(), x = X(t), y = Y(p.value), extra = (lines.length - 1 - k) * 2;
      const prev = line.points[i - 1];
      if (i && !p.apart) clear.segments.push([X(prev.date.getTime()), Y(prev.value), x, y]);
      clear.points.push([x, y, 9 + extra + (lines.length > 1 ? 9 : 0)]);
    }));
    const limitLabels = svg("g", { class: "limit-labels" });
    limitLines(root, opts, cutoffs, Y, padL, W - padR, ceilingAbove, clear, limitLabels);
    lines.forEach((line, k) => {
      // earlier lines wider: lines with the same values (e.g. every condition held 30 s) show as a
      // band of their colours instead of hiding under the last one drawn
      const extra = (lines.length - 1 - k) * 2;
      const ts = line.points.map((p) => p.date.getTime());
      // a point ``apart`` from the one before it (a treadmill session of another plan or belt speed) is not joined
      // to it: a line from 2 min of 2 planned to 1 min of 30 planned read as a decline
      const d = line.points.map((p, i) => (i && !p.apart ? "L" : "M") + X(ts[i]).toFixed(1) + " " + Y(p.value).toFixed(1)).join("");
      root.append(svg("path", { d, fill: "none", stroke: line.color, "stroke-width": 2 + extra }));
      line.points.forEach((p, i) => {
        const unable = p.value === 0 && opts && opts.zeroIsUnable;
        const same = lines.length > 1 ? sameSpot(p, ts[i]) : [line];
        const dx = same.length > 1 ? (same.indexOf(line) - (same.length - 1) / 2) * 9 : 0;
        const dot = svg("circle", { cx: X(ts[i]) + dx, cy: Y(p.value), r: (unable ? 7 : 5) + (same.length > 1 ? 0 : extra),
          fill: unable ? "#a32020" : line.color, class: "point" });
        dot.append(svg("title", {}, `${line.label ? line.label + ", " : ""}${p.label}: ${p.text}`));
        root.append(dot);
      });
      if (line.label && lines.length > 1) {
        const lx = padL + (k % legendColumns) * 230, ly = H - padB + 40 + tickRows * 14 + Math.floor(k / legendColumns) * 18;
        root.append(svg("line", { x1: lx, x2: lx + 18, y1: ly - 4, y2: ly - 4, stroke: line.color, "stroke-width": 3, class: "swatch" }));
        root.append(svg("text", { x: lx + 22, y: ly, fill: line.color, class: "legend" }, line.label));
      }
    });
    // the date axis: the first and last days, and under sessions spread apart each one's labels, their day once
    const placed = [];
    const label = (x0, row, text, cls) => {
      const w = labelWidth(text);
      // under a first or last session: moved in from the edge to be whole (a session's number, wider than its point)
      const x = sameDay ? Math.min(Math.max(x0, w / 2 + 1), W - w / 2 - 1) : x0, box = [x - w / 2, x + w / 2];
      if (box[0] < 0 || box[1] > W || placed.some(([a, b, r]) => r === row && a < box[1] + 4 && box[0] < b + 4)) return;
      placed.push([...box, row]);
      root.append(svg("text", { x, y: H - padB + 22 + row * 14, "text-anchor": "middle", class: cls }, text));
    };
    const xOf = (g) => (xs[g[0]] + xs[g[g.length - 1]]) / 2;
    const rowOfDay = tickRows; // a spread run's day under its sessions' labels; every other day on the same row
    const said = new Set(); // a day said once, under its first session's labels
    for (const g of shown) {
      if (named(g)) g.forEach((i) => ticks[i].forEach((t, r) => label(xs[i], r, t, "session-tick")));
      if (sameDay && said.has(dayOf(g))) continue;
      said.add(dayOf(g));
      label(xOf(g), named(g) ? rowOfDay : 0, dayOf(g), "day");
    }
    root.append(limitLabels); // over the data: a label no place kept clear of it is read on its background
    if (opts && opts.unit) root.append(svg("text", { x: 4, y: 12 }, opts.unit));
    return root;
  }


  return { LiveTrace, statokinesigram, traceWords, timeSeries, history, timesHeld, niceStep, reach, feetFor, drawWidth,
    trialCeilings };
})();
