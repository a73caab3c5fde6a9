/* Screen updates of the live page's cursor, counted in the browser (issue 16, "Live feel").

   Installed before the page's own scripts (CDP Page.addScriptToEvaluateOnNewDocument) by
   benchmarks/live_viewers.py and tests/e2e/test_live_feel.py; it changes nothing the page does.

   - It records what every 2D canvas draws of its cursor and markers: the arguments of arc() and
     ellipse() (canvas px, to 0.01 px), from the last clear of the whole canvas, or else from the
     previous animation frame, onwards.
   - Once per animation frame (its own requestAnimationFrame loop) it compares each canvas drawn
     since the previous frame with that canvas's previous drawing. An UPDATE is an animation frame
     in which some canvas was drawn and what it drew changed (the cursor moved): a redraw of the
     same picture, or a frame with no drawing, is not one. rAF ticks alone are counted apart.
   - It follows the page's frames events (the live view passes each one on as the DOM event
     "live:frames"); a frames event with a new frame (a seq not seen before) is OWED a drawing.
     The first drawing that started after the event pays it (event -> drawing, ms: the wait for
     the next animation frame, when the page draws; the cursor may not have moved by a hundredth
     of a pixel, so this is not always an update). The page draws in the
     animation frame after the event; the probe's own callback may run before the page's in that
     frame, so an event still unpaid two probe ticks after it arrived is counted LATE: the page
     did not draw a new frame it had been given (a broken render loop, not a slow machine).
   - The duration of each of the page's requestAnimationFrame callbacks (its render path, ms).

   Updates are also kept per canvas, and visible() names the canvases on screen: a page may draw a
   hidden canvas too (the live view's trace while the limits-of-stability panel shows).

   window.__cursorProbe holds the record (times are performance.now(), ms); reset() starts a new
   measurement window. */
"use strict";

(() => {
  const now = () => performance.now();
  const P = {
    ticks: [], // every animation frame
    updates: [], // the frames in which a drawn cursor changed (on any canvas)
    updatesBy: {}, // the same per canvas (by its id, or "canvas-<n>" in the page's order)
    drawnBy: {}, // the frames in which each canvas was drawn at all (changed or not)
    draws: 0, // canvas drawings seen at the ticks (changed or not)
    events: [], // frames events with a new frame
    eventToDrawingMs: [], // from a frames event to the start of the drawing that showed it
    late: 0, // events not drawn within two ticks of their arrival
    callbackMs: [], // durations of the page's own requestAnimationFrame callbacks
    reset() {
      for (const k of ["ticks", "updates", "events", "eventToDrawingMs", "callbackMs"]) this[k] = [];
      this.updatesBy = {};
      this.drawnBy = {};
      this.draws = 0;
      this.late = 0;
      this.since = now();
    },
    since: now(),
    pending: () => owed.length, // frames events still waiting for their animation frame
    visible: () => [...document.querySelectorAll("canvas")] // the canvases on screen now, by name
      .filter((c) => c.getClientRects().length && c.getBoundingClientRect().width > 0).map(name),
  };
  window.__cursorProbe = P;

  const shapes = new Map(); // canvas -> {at: ms of its first drawing call this frame, parts: []}
  const last = new WeakMap(); // canvas -> what it drew last time (string)
  const proto = CanvasRenderingContext2D.prototype;
  const name = (canvas) => canvas.id || `canvas-${[...document.querySelectorAll("canvas")].indexOf(canvas)}`;

  function note(ctx, part) {
    const canvas = ctx.canvas;
    let s = shapes.get(canvas);
    if (!s) { s = { at: now(), parts: [] }; shapes.set(canvas, s); }
    if (part !== null) s.parts.push(part);
  }

  const clearRect = proto.clearRect;
  proto.clearRect = function (x, y, w, h) {
    if (x <= 0 && y <= 0 && x + w >= this.canvas.width && y + h >= this.canvas.height) {
      shapes.set(this.canvas, { at: now(), parts: [] }); // a new picture starts
    }
    return clearRect.call(this, x, y, w, h);
  };
  for (const name of ["arc", "ellipse"]) {
    const original = proto[name];
    proto[name] = function (...args) {
      note(this, name + args.slice(0, name === "arc" ? 3 : 5).map((v) => v.toFixed(2)).join(","));
      return original.apply(this, args);
    };
  }

  // the page's animation-frame callbacks, timed (the probe's own loop uses the original)
  const raf = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = (callback) => raf((t) => {
    const start = now();
    try { callback(t); } finally { P.callbackMs.push(now() - start); }
  });

  let maxSeq = -Infinity;
  let owed = []; // the frames events not yet drawn: {at: arrival (ms), ticks: probe ticks since}
  window.addEventListener("live:frames", (ev) => {
    const frames = (ev.detail && ev.detail.frames) || [];
    let fresh = false;
    for (const f of frames) if (f.seq > maxSeq) { maxSeq = f.seq; fresh = true; }
    if (!fresh) return;
    const t = now();
    P.events.push(t);
    owed.push({ at: t, ticks: 0 });
  }, true); // capture: the live view's events do not bubble

  function tick() {
    const t = now();
    P.ticks.push(t);
    let changed = false;
    let drawnAt = null; // the start of the latest drawing seen at this tick
    for (const [canvas, s] of shapes) {
      P.draws += 1;
      (P.drawnBy[name(canvas)] ||= []).push(t);
      drawnAt = drawnAt === null ? s.at : Math.max(drawnAt, s.at);
      const picture = s.parts.join(";");
      if (picture !== last.get(canvas)) {
        last.set(canvas, picture);
        changed = true;
        (P.updatesBy[name(canvas)] ||= []).push(t);
      }
    }
    shapes.clear();
    if (changed) P.updates.push(t);
    const unpaid = [];
    for (const e of owed) {
      if (drawnAt !== null && drawnAt >= e.at) P.eventToDrawingMs.push(drawnAt - e.at);
      else if (++e.ticks >= 2) P.late += 1;
      else unpaid.push(e);
    }
    owed = unpaid;
    raf(tick);
  }
  raf(tick);
})();
