/* TargetCanvas: the plate seen from above with the live centre-of-pressure cursor and a set of
   targets, for the limits-of-stability test and the biofeedback games.

   Plate frame (DESIGN.md §4), cm: +AP toward the toes (drawn up), +ML toward the patient's right
   (drawn right). Usage:

     const tc = new TargetCanvas(canvasElement, { width_cm: 40, depth_cm: 40 });
     tc.draw({
       cop: { ap_cm: 1.2, ml_cm: -0.4 },          // the cursor (null: none, e.g. nobody on the plate)
       trail: [{ ap_cm, ml_cm }, ...],              // optional: the last second or so, oldest first
       centre: { ap_cm: 0, ml_cm: 0 },              // the patient's start position (a cross)
       targets: [{ id: "f", ap_cm: 9, ml_cm: 0, radius_cm: 1.5, label: "F", state: "current" }, ...],
       outline: [{ ap_cm, ml_cm }, ...],            // optional closed outline (e.g. the limits)
       view_cm: 16,                                 // optional: half-width of the square shown around centre
       stale: false,                                // the data stopped: greyed, no cursor
       message: "",                                 // optional big text in the middle (e.g. "Go!")
     });

   Target states: "idle" (grey ring), "current" (filled, highlighted: lean there now), "reached"
   (green), "done" (faint), "missed" (dashed). After each draw the canvas carries what was drawn
   (for tests and the live-feel probe): data-cop ("x,y" px or ""), data-targets (count),
   data-current (id of the current target or ""), data-message (the message's centre and size
   "x,y,size" px, or ""), data-message-clear ("yes" when it covers no target), data-frames (draws so
   far). */
"use strict";

(() => {
  const COLOURS = {
    plate: "#f1f4f7", plateEdge: "#8a95a1", grid: "#e1e6eb", text: "#4d5864",
    idle: "#8a95a1", current: "#c0392b", reached: "#1e7a3c", done: "#c3cad2", missed: "#8a95a1",
    cursor: "#1f5fa8", trail: "rgba(31, 95, 168, 0.35)", outline: "rgba(31, 95, 168, 0.5)", stale: "#b7bec6",
  };

  class TargetCanvas {
    constructor(canvas, plate) {
      this.canvas = canvas;
      this.ctx = canvas.getContext("2d");
      this.plate = { width_cm: 40, depth_cm: 40, ...(plate || {}) };
      this.frames = 0;
    }

    /* Match the canvas's pixels to its size on screen (sharp on high-density screens). */
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

    /* Where the big message goes and how big: of a few places (top, bottom, the four quadrants,
       the centre), the one whose text box keeps farthest from every target circle (px), at the
       largest size (from ``size`` px down to 14) that clears them all; so a target or its label is
       never covered (at phone size the top centre is the forward target). Returns
       {x, y, size, gap} (gap < 0: nothing cleared every target; the best place at 14 px). */
    messagePlace(circles, W, H, text, size, dpr) {
      const ctx = this.ctx;
      const places = [[W / 2, H * 0.12 + 20 * dpr], [W / 2, H * 0.88 - 10 * dpr], [W * 0.25, H * 0.3],
        [W * 0.75, H * 0.3], [W * 0.25, H * 0.7], [W * 0.75, H * 0.7], [W / 2, H / 2]];
      let best = null;
      for (const px of [size, size * 0.75, size * 0.6, 14].map((v) => Math.max(14, v) * dpr)) {
        ctx.font = `bold ${px}px system-ui, sans-serif`;
        const tw = ctx.measureText(text).width, th = px;
        best = null; // the best place at this size
        for (const [x0, y0] of places) {
          const x = Math.min(Math.max(x0, tw / 2 + 8 * dpr), W - tw / 2 - 8 * dpr);
          const y = Math.min(Math.max(y0, th / 2 + 24 * dpr), H - th / 2 - 20 * dpr);
          let gap = Infinity;
          for (const c of circles) {
            const dx = Math.max(Math.abs(c.x - x) - tw / 2 - 6 * dpr, 0);
            const dy = Math.max(Math.abs(c.y - y) - th / 2 - 4 * dpr, 0);
            gap = Math.min(gap, Math.hypot(dx, dy) - c.r);
          }
          if (!best || gap > best.gap + 0.5) best = { x, y, size: px, gap, tw };
        }
        if (best.gap >= 0) break;
      }
      return best;
    }

    /* Canvas px of a plate-frame point, for the last draw's view. */
    toPx(ap_cm, ml_cm) {
      const v = this.view;
      return v ? { x: v.cx + (ml_cm - v.ml0) * v.scale, y: v.cy - (ap_cm - v.ap0) * v.scale } : null;
    }

    draw(scene) {
      const s = scene || {};
      const dpr = this.resize();
      const ctx = this.ctx;
      const W = this.canvas.width, H = this.canvas.height;
      const centre = s.centre || { ap_cm: 0, ml_cm: 0 };
      const half = s.view_cm || Math.max(this.plate.width_cm, this.plate.depth_cm) / 2 + 4;
      const scale = Math.min(W, H) / (2 * half);
      this.view = { cx: W / 2, cy: H / 2, ap0: centre.ap_cm, ml0: centre.ml_cm, scale };
      const P = (p) => this.toPx(p.ap_cm, p.ml_cm);
      ctx.clearRect(0, 0, W, H);

      // the plate (where it is in view) and a 5-cm grid
      const c0 = this.toPx(this.plate.depth_cm / 2, -this.plate.width_cm / 2);
      const pw = this.plate.width_cm * scale, pd = this.plate.depth_cm * scale;
      ctx.fillStyle = COLOURS.plate;
      ctx.fillRect(c0.x, c0.y, pw, pd);
      ctx.strokeStyle = COLOURS.plateEdge;
      ctx.lineWidth = 2 * dpr;
      ctx.strokeRect(c0.x, c0.y, pw, pd);
      ctx.strokeStyle = COLOURS.grid;
      ctx.lineWidth = 1 * dpr;
      ctx.beginPath();
      for (let g = -Math.floor(this.plate.width_cm / 10) * 5; g <= this.plate.width_cm / 2; g += 5) {
        const a = this.toPx(this.plate.depth_cm / 2, g), b = this.toPx(-this.plate.depth_cm / 2, g);
        ctx.moveTo(Math.round(a.x) + 0.5, a.y); ctx.lineTo(Math.round(b.x) + 0.5, b.y);
      }
      for (let g = -Math.floor(this.plate.depth_cm / 10) * 5; g <= this.plate.depth_cm / 2; g += 5) {
        const a = this.toPx(g, -this.plate.width_cm / 2), b = this.toPx(g, this.plate.width_cm / 2);
        ctx.moveTo(a.x, Math.round(a.y) + 0.5); ctx.lineTo(b.x, Math.round(b.y) + 0.5);
      }
      ctx.stroke();

      // the outline (e.g. the limits of stability) and the start position
      if (s.outline && s.outline.length > 2) {
        ctx.strokeStyle = COLOURS.outline;
        ctx.setLineDash([6 * dpr, 4 * dpr]);
        ctx.lineWidth = 1.5 * dpr;
        ctx.beginPath();
        s.outline.forEach((p, i) => { const q = P(p); if (i) ctx.lineTo(q.x, q.y); else ctx.moveTo(q.x, q.y); });
        ctx.closePath();
        ctx.stroke();
        ctx.setLineDash([]);
      }
      const o = P(centre);
      ctx.strokeStyle = COLOURS.text;
      ctx.lineWidth = 1.5 * dpr;
      ctx.beginPath();
      ctx.moveTo(o.x - 8 * dpr, o.y); ctx.lineTo(o.x + 8 * dpr, o.y);
      ctx.moveTo(o.x, o.y - 8 * dpr); ctx.lineTo(o.x, o.y + 8 * dpr);
      ctx.stroke();

      // targets
      const targets = s.targets || [];
      let current = "";
      ctx.font = `bold ${13 * dpr}px system-ui, sans-serif`;
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      for (const t of targets) {
        const q = P(t);
        const r = Math.max(6 * dpr, (t.radius_cm || 1.5) * scale);
        const st = t.state || "idle";
        if (st === "current") current = t.id === undefined ? "" : String(t.id);
        ctx.lineWidth = (st === "current" ? 4 : 2) * dpr;
        ctx.strokeStyle = COLOURS[st] || COLOURS.idle;
        ctx.setLineDash(st === "missed" ? [4 * dpr, 4 * dpr] : []);
        ctx.beginPath();
        ctx.arc(q.x, q.y, r, 0, 2 * Math.PI);
        if (st === "current" || st === "reached") {
          ctx.fillStyle = st === "current" ? "rgba(192, 57, 43, 0.22)" : "rgba(30, 122, 60, 0.22)";
          ctx.fill();
        }
        ctx.stroke();
        ctx.setLineDash([]);
        if (t.label) {
          ctx.fillStyle = st === "done" ? COLOURS.done : COLOURS.text;
          ctx.fillText(t.label, q.x, q.y);
        }
      }

      // the cursor and its trail
      let copPx = "";
      if (!s.stale && s.trail && s.trail.length > 1) {
        ctx.strokeStyle = COLOURS.trail;
        ctx.lineWidth = 3 * dpr;
        ctx.beginPath();
        let pen = false;
        for (const p of s.trail) {
          if (!p || p.ap_cm === null || p.ml_cm === null) { pen = false; continue; }
          const q = P(p);
          if (pen) ctx.lineTo(q.x, q.y); else ctx.moveTo(q.x, q.y);
          pen = true;
        }
        ctx.stroke();
      }
      if (!s.stale && s.cop && Number.isFinite(s.cop.ap_cm) && Number.isFinite(s.cop.ml_cm)) {
        const q = P(s.cop);
        ctx.fillStyle = COLOURS.cursor;
        ctx.strokeStyle = "#ffffff";
        ctx.lineWidth = 2 * dpr;
        ctx.beginPath();
        ctx.arc(q.x, q.y, 9 * dpr, 0, 2 * Math.PI);
        ctx.fill();
        ctx.stroke();
        copPx = `${Math.round(q.x)},${Math.round(q.y)}`;
      }

      // orientation, scale bar, message
      const d = this.canvas.dataset;
      ctx.textAlign = "start";
      ctx.textBaseline = "alphabetic";
      ctx.fillStyle = COLOURS.text;
      ctx.font = `${12 * dpr}px system-ui, sans-serif`;
      ctx.fillText("toes ↑", 6 * dpr, 16 * dpr);
      ctx.textAlign = "end";
      ctx.fillText("patient's right →", W - 6 * dpr, 16 * dpr);
      ctx.textAlign = "start";
      const bar = 5 * scale;
      ctx.strokeStyle = COLOURS.text;
      ctx.lineWidth = 2 * dpr;
      ctx.beginPath();
      ctx.moveTo(8 * dpr, H - 10 * dpr); ctx.lineTo(8 * dpr + bar, H - 10 * dpr);
      ctx.stroke();
      ctx.fillText("5 cm", 12 * dpr + bar, H - 6 * dpr);
      if (s.stale || s.message) {
        const text = s.stale ? "no data" : s.message;
        const at = this.messagePlace(targets.map((t) => ({ ...P(t), r: Math.max(6 * dpr, (t.radius_cm || 1.5) * scale) })),
          W, H, text, s.stale ? 18 : 34, dpr);
        ctx.font = `bold ${at.size}px system-ui, sans-serif`;
        ctx.fillStyle = "rgba(255, 255, 255, 0.8)";
        ctx.fillRect(at.x - at.tw / 2 - 6 * dpr, at.y - at.size / 2 - 4 * dpr, at.tw + 12 * dpr, at.size + 8 * dpr);
        ctx.textAlign = "center";
        ctx.textBaseline = "middle";
        ctx.fillStyle = s.stale ? COLOURS.stale : COLOURS.current;
        ctx.fillText(text, at.x, at.y);
        ctx.textAlign = "start";
        ctx.textBaseline = "alphabetic";
        d.message = `${Math.round(at.x)},${Math.round(at.y)},${Math.round(at.size)}`;
        d.messageClear = at.gap >= 0 ? "yes" : "no";
      } else {
        d.message = "";
        d.messageClear = "";
      }

      this.frames += 1;
      d.cop = copPx;
      d.targets = String(targets.length);
      d.current = current;
      d.frames = String(this.frames);
    }
  }

  window.TargetCanvas = TargetCanvas;
})();
