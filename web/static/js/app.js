/* Shared by every signed-in page: the JSON API helper, small DOM helpers, the station health
   chip in the header and the automatic-logout notice. No library; served from this station. */
"use strict";

const Station = (() => {
  const csrfToken = () => document.querySelector('meta[name="csrf-token"]').content;

  class ApiError extends Error {
    constructor(status, message, fields) {
      super(message);
      this.status = status;
      this.fields = fields || null;
    }
  }

  /* Why a session ended on purpose elsewhere, as the API's 401 and the live stream's logout say it
     (``ended``), and the sign-in page's ``signed_out`` that words it (web.security.ENDED_ON_PURPOSE). */
  const ENDED_ON_PURPOSE = {
    signed_out_others: "others", // "Sign out everywhere else" in another tab, window or device
    password_changed: "password", // by its user elsewhere, or by an administrator
    disabled: "disabled", // by an administrator
    signed_out_tab: "tab", // signed out in another tab or window of this browser (they share its cookie)
  };

  /* expired: true (inactivity), "clock" when the session ended because the station's clock was set
     back, "max_age" 12 hours after its sign-in (however busy), one of ENDED_ON_PURPOSE, "signed_out"
     (elsewhere, the station not knowing how: a session gone without a kept reason) or "signed_out_unrecorded" (signed
     out, the station unable to record it): the sign-in page says which. The first call wins: a page's
     other requests under way meet the same end and must not send it to another sign-in page after it; and
     none is made once the page's own Sign out is on its way (init). */
  let leavingForLogin = false;
  function goToLogin(expired) {
    if (leavingForLogin) return;
    leavingForLogin = true;
    const next = window.location.pathname + window.location.search;
    const why = expired === "clock" ? "&expired=clock"
      : expired === "max_age" ? "&expired=age"
      : Object.hasOwn(ENDED_ON_PURPOSE, expired) ? "&signed_out=" + ENDED_ON_PURPOSE[expired]
      : expired === "signed_out" ? "&signed_out=elsewhere"
      : expired === "signed_out_unrecorded" ? "&signed_out=unrecorded"
      : expired ? "&expired=1" : "";
    window.location.assign("/login?next=" + encodeURIComponent(next) + why);
  }

  /* fetch JSON from the API. background: a poll that must not count as activity. */
  async function api(method, path, body, options) {
    const opts = options || {};
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
    if (opts.background) headers["X-Station-Background"] = "1";
    let response;
    try {
      response = await fetch(path, {
        method, headers, credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, "the station does not answer (network); check the tablet's Wi-Fi and try again");
    }
    let data = null;
    if (response.status !== 204) {
      data = await response.json().catch(() => null);
    }
    if (response.status === 401) {
      goToLogin(data && data.ended === "clock_set_back" ? "clock"
        : data && (data.ended === "max_age" || Object.hasOwn(ENDED_ON_PURPOSE, data.ended)) ? data.ended
        : (data && data.expired) || (expiresAt !== null && performance.now() >= expiresAt));
      throw new ApiError(401, (data && data.error) || "not signed in");
    }
    if (!response.ok) {
      let message = (data && data.error) || response.statusText || "request failed";
      if (data && data.fields) {
        message = Object.entries(data.fields).map(([k, v]) => capitalise(k.replace(/_/g, " ") + " " + v)).join(" ");
      }
      message = capitalise(message);
      throw new ApiError(response.status, message, data && data.fields);
    }
    return data;
  }

  /* el("div", {class: "x", onclick: fn}, "text", child, ...) */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (value === true) node.setAttribute(key, "");
      else node.setAttribute(key, String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /* ``digits`` decimals; or ``digits`` a function that words the value itself (e.g. beltSpeed). */
  function fmt(value, digits) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    if (typeof digits === "function") return digits(value);
    const d = digits === undefined ? 2 : digits;
    const text = Number(value).toFixed(d);
    return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text; // never "-0.0"
  }

  /* A number with a sensible number of significant digits for a table (three, or one decimal):
     for a value whose unit has no rule in UNIT_DIGITS (ratios, sway in cm). */
  function fmtSig(value) {
    if (value === null || value === undefined || !Number.isFinite(value)) return "–";
    const a = Math.abs(value);
    if (a === 0) return "0";
    if (a >= 10) return value.toFixed(1); // 30.0 s, 37.7 cm, 110.6 s: what a clinician reads
    if (a >= 1) return value.toFixed(2);
    return value.toPrecision(3);
  }

  /* The one rule per unit of the pages (the PDFs': station/reports/text.py UNIT_DIGITS): decimals a
     quantity is shown with, fitting what the station resolves and what a clinician reads. A value,
     a change and a minimal detectable change of one unit read alike ("0.54 m/s", "+0.05 m/s", "MDC 0.07 m/s"). */
  const UNIT_DIGITS = {
    "m/s": 2, "km/h": 1, "s": 2, "m": 2, "min": 1, "steps/min": 1, "%": 1, "points": 1, "% of limit": 0,
    "cm/s": 2, "cm²": 2, "deg/s": 1,
  };
  /* The unit of a difference: a change of a percentage is in percentage points. */
  const changeUnit = (unit) => (unit === "%" ? "points" : unit || "");

  /* ``value`` as its unit's rule has it (without the unit); no rule: three significant digits. */
  function num(value, unit) {
    const d = UNIT_DIGITS[unit || ""];
    return d === undefined ? fmtSig(value) : fmt(value, d);
  }

  /* ``value`` and its unit: "0.54 m/s"; a time walked (unit "min", the treadmill's time walking) in minutes and
     seconds (walkedTime): "1.98 min" -> "1 min 59 s". */
  function quantity(value, unit) {
    if (unit === "min") return walkedTime(value);
    const text = num(value, unit);
    return text === "–" || !unit ? text : `${text} ${unit}`;
  }

  /* A time walked (a treadmill session's, in minutes) as every page says it, one rule: whole seconds under a minute
     ("20 s", not "0.3 min" nor "0:20"), minutes and seconds above ("12 min 24 s", not "12.4 min", decimal minutes a
     clinician has to work out; "30 min" when no second is left over); the station's words say it so too
     (station/protocols/walk_words.py walked_words: the visit's glance, the measures' words, the PDFs, the programme). */
  function walkedTime(min) {
    if (min === null || min === undefined || !Number.isFinite(Number(min))) return "–";
    const s = Math.round(Number(min) * 60);
    if (s < 60) return s ? `${s} s` : "0 min"; // nothing walked in the plan's unit: "0 min / 90 min", not "0 s"
    return s % 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s / 60} min`;
  }

  /* A clock reading, minutes and seconds ("0:06", "30:05"): the treadmill's timer and where a session ended on it
     ("Stopped at 0:06 of 1 min planned"); whole seconds passed, as the timer shows them. */
  function clockTime(seconds) {
    const whole = Math.max(0, Math.floor(Number(seconds) || 0));
    return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
  }

  /* A timed hold's time as the visit results give it (and the PDFs: station/reports/text.py time_held):
     one decimal, 0 s said unable (the patient could not take the position): "30.0 s", "0 s (unable)", "–"; ``how``
     it was scored when given (a history point's ``unable_words``): "0 s (unable; scored by the clinician, not measured)". */
  function timeHeld(value, how) {
    if (value === null || value === undefined || !Number.isFinite(Number(value))) return "–";
    if (Number(value) === 0) return how ? `0 s (unable; ${how})` : "0 s (unable)";
    return `${fmt(value, 1)} s`;
  }

  /* Published cut-offs that apply to the patient (report.history_cutoffs: the history's series' ``cutoffs``, the visit
     results' time held's ``lines``) as a chart draws them, each a dashed line named "5 s cut-off (Vellas et al. 1997)"
     (Charts' ``cutoffs``; "5 s cut-off", its ``short`` name, where a narrow chart has no room for the whole one: the
     source is said under it), and said under it: "Dashed line at 5 s: below it, higher risk of injurious falls (Vellas
     et al. 1997)." (null for none). One way for the history page and the visit results. */
  const cutoffLines = (cuts) => cuts.map((c) => ({ value: c.value, label: `${c.label} (${shortCite(c.source)})`, short: c.label }));
  const cutoffWords = (cuts) => (cuts.length ? el("p", { class: "muted small cutoff-lines" },
    unitsKept(cuts.map((c) => `${c.words} (${shortCite(c.source)}).`).join(" "))) : null);

  /* A value and words about it (how it was made of a session's trials) in one bracket, never two in a row: "12.5 s
     (1 trial)"; a value whose words end in a bracket of their own (a 0 s: "unable; scored by the clinician, not
     measured") takes them at its front, "0 s (1 trial: unable; ...)"; a value said in a second unit ("1.8 km/h
     (0.50 m/s)", the same value) takes them after it, "1.8 km/h (0.50 m/s; 1 trial)". The history PDF's rule for a
     point's day (station/reports/text.py bracketed, checked against this one by tests/reports/test_pdf_numbers_as_pages). */
  function bracketed(value, words) {
    const cut = value.indexOf(" (");
    if (cut <= 0 || !value.endsWith(")")) return `${value} (${words})`;
    const inner = value.slice(cut + 2);
    if (/^-?\d+(\.\d+)? \S+$/.test(inner.slice(0, -1))) return `${value.slice(0, -1)}; ${words})`;
    return `${value.slice(0, cut)} (${words}: ${inner}`;
  }

  /* A text with each number kept with its unit ("15.79 s" broke after the number in a phone's column, "1.8 km/h (0.50
     m/s)" before "m/s" in a tablet's) and a count with its noun ("2 pauses"): each a .value-unit (white-space: nowrap;
     a time walked, "12 min 24 s", one), the words between free to wrap; the pieces for el's children. The text itself
     is unchanged. */
  const NUMBER_UNIT = /\d+ min \d+ s(?![\w/²])|[-+]?\d+(?:\.\d+)? (?:km\/h|m\/s²|m\/s|cm\/s|cm²|cm|kg|deg\/s|steps\/min|min|s|m|%|points|steps?|pauses?)(?![\w/²])/g;
  function unitsKept(text) {
    const words = String(text);
    const out = [];
    let at = 0;
    for (const found of words.matchAll(NUMBER_UNIT)) {
      out.push(words.slice(at, found.index), el("span", { class: "value-unit" }, found[0]));
      at = found.index + found[0].length;
    }
    out.push(words.slice(at));
    return out.filter((part) => part !== "");
  }

  /* A change, always signed (a rise "+0.05 m/s", a fall "-0.10 s"), a percentage's change in points ("+1.2 points");
     one that rounds to nothing said in words, "no change", never "0.00 cm/s" (heldChange's rule, the history's; the
     PDFs': station/reports/text.py change). */
  function change(value, unit) {
    if (unit === "min") { // a time walked's change in its words: "+1 min 12 s", "-36 s"
      const text = walkedTime(Math.abs(Number(value)));
      return text === "–" ? text : !/[1-9]/.test(text) ? "no change" : (Number(value) > 0 ? "+" : "-") + text;
    }
    const u = changeUnit(unit);
    const text = num(value, u === "points" ? "points" : unit);
    if (text === "–") return text;
    if (!/[1-9]/.test(text)) return "no change";
    return `${Number(value) > 0 ? "+" : ""}${text}${u ? " " + u : ""}`;
  }

  /* A change of a time held in the precision the test is scored in, one decimal as timeHeld says the time itself,
     always signed ("+12.5 s", "-3.0 s"); one that rounds to nothing said in words, "no change", never "0.0 s" (the
     PDFs': station/reports/text.py held_change). */
  function heldChange(value) {
    if (value === null || value === undefined || !Number.isFinite(Number(value))) return "–";
    const text = fmt(value, 1);
    if (!/[1-9]/.test(text)) return "no change";
    return `${Number(value) > 0 ? "+" : ""}${text} s`;
  }

  /* The values a mean is of, each by its unit's rule, the unit once: "3.69, 3.63 s"; times walked each in their
     words, "12 min 24 s, 10 min 12 s"; a unit without a rule (three significant digits) each in the decimals their
     mean is shown with, "1.00 (mean of 2 trials: 1.01, 0.99)", not "1.01, 0.994" (the PDFs': station/reports/text.py
     mean_of). */
  function eachOf(values, unit) {
    if (unit === "min") return values.map(walkedTime).join(", ");
    const mean = num(values.reduce((a, v) => a + Number(v), 0) / values.length, unit);
    const digits = (mean.split(".")[1] || "").length;
    return values.map((v) => (UNIT_DIGITS[unit || ""] === undefined ? fmt(v, digits) : num(v, unit))).join(", ") +
      (unit ? " " + unit : "");
  }

  /* Words in a sentence's list: "a", "a and b", "a, b and c" (station/protocols/walk_words.py listed). */
  const listed = (words) => (words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`);

  /* A treadmill's belt speed (stored in m/s) as the clinician entered it, in km/h: "1.8 km/h (0.50 m/s)"; a visit's
     sessions' (an array, one a session: a condition's ``settings``) each said, never their mean, a speed nobody set:
     "1.8 and 2.2 km/h (0.50 and 0.60 m/s; 2 sessions)", as the PDFs say it (station/reports/text.py belt_speed). */
  function beltSpeed(mS) {
    if (Array.isArray(mS)) {
      const each = mS.filter((v) => v !== null && Number.isFinite(Number(v))).map(Number);
      if (new Set(each.map((v) => fmt(v, 2))).size <= 1) return beltSpeed(each.length ? each[0] : null);
      return `${listed(each.map((v) => fmt(v * 3.6, 1)))} km/h (${listed(each.map((v) => fmt(v, 2)))} m/s; ${each.length} sessions)`;
    }
    if (mS === null || mS === undefined || !Number.isFinite(Number(mS))) return "–";
    return `${fmt(Number(mS) * 3.6, 1)} km/h (${fmt(mS, 2)} m/s)`;
  }

  /* A belt speed changed ``since`` an earlier session or visit (m/s, as stored) in the words of the setting it is, the
     session's dose, not a measured change (no MDC), as the PDFs say it (station/reports/text.py belt_change); no
     change (a visit's sessions at different speeds): the earlier speed(s) each said. */
  function beltChange(changeMS, since, wasMS) {
    if (changeMS === null || changeMS === undefined || !Number.isFinite(Number(changeMS))) { // sessions at different speeds: each said
      const was = beltSpeed(wasMS);
      return was === "–" ? "" : `Set at ${was} at ${since}: the session's dose, not a measured value.`;
    }
    const shown = change(Number(changeMS) * 3.6, "km/h");
    if (!/[1-9]/.test(shown.split(" ")[0])) return `Unchanged since ${since}: ${beltSpeed(wasMS)}.`;
    return `Set ${shown} since ${since}, when it was ${beltSpeed(wasMS)}: a change of the session's dose, not a measured change.`;
  }

  /* A belt speed typed in km/h, as the treadmill shows it, in m/s as it is stored (to 1 mm/s). */
  function beltSpeedFromKmh(kmh) {
    return Math.round(Number(kmh) / 3.6 * 1000) / 1000;
  }

  /* A change against the minimal detectable change as a tag (the server's words and tone,
     station.protocols.report.mdc_verdict): an improvement green, a worsening or an unjudged real
     change amber, within the MDC neutral. */
  const VERDICT_CLASS = { better: "valid", worse: "flag", unknown: "flag", within: "neutral" };
  function mdcVerdictTag(verdict) {
    return el("span", { class: "tag " + (VERDICT_CLASS[verdict.tone] || "neutral"), dataset: { verdict: verdict.tone } }, unitsKept(verdict.words));
  }

  /* "Vellas BJ, Wayne SJ, ... 1997;45(6)..." -> "Vellas et al. 1997". */
  function shortCite(source) {
    const text = String(source || "");
    const first = text.split(/[ ,.]/)[0];
    const year = (text.match(/\b(19|20)\d\d\b/) || [""])[0];
    if (!first) return "";
    return /,/.test(text.split(".")[0]) ? `${first} et al. ${year}`.trim() : text.split(". ")[0];
  }

  /* A published cut-off read for this patient (station.protocols.report.cutoff_reading) as its tag's
     colour: criterion met or a band's good end green, a band's middle or no verdict plain, crossed red; a screening
     cut-off not crossed (tone "neutral": Polo-Ferrero's 5.5 s) plain too, no all clear it does not mean. */
  function cutoffTagClass(verdict, tone) {
    if (tone === "neutral") return "tag neutral";
    return "tag " + (verdict === "met" || verdict === "better" ? "valid"
      : !verdict || verdict === "between" || verdict === "not_applied" || verdict === "class" ? "neutral" : "flag-strong");
  }

  /* A hold that ended before the trial's length ("held 12.1 s"), coloured by what it means for this patient, the
     station's one reading of it (station.protocols.results.held_verdict, in the visit results' trial lines and the
     live run status alike): below a published cut-off that applies the warning, at or above every one green, none
     applied neutral (amber for every short hold read a normal result as a fault). */
  const HELD = {
    flagged: ["tag flag", "below a published cut-off that applies to this patient"],
    not_flagged: ["tag valid", "at or above the published cut-off that applies to this patient"],
    no_cutoff: ["tag neutral", "no published cut-off applies to this patient"],
  };
  function heldTag(t) {
    const [cls, why] = HELD[t.held_verdict] || HELD.no_cutoff;
    return el("span", { class: cls, title: why, dataset: { held: "true", heldVerdict: t.held_verdict || "" } },
      unitsKept(`held ${fmt(t.time_held_s, 1)} s`));
  }

  /* A cut-off's reference line: the verdict for this patient first ("high fall risk"; "neither high nor low
     fall risk"; "not slower than the 5.5 s cut-off"; not applied), then the source's cut-off as what it is. */
  function cutoffReference(ref) {
    if (ref.verdict === "class") { // Perry's walking classes after stroke, by name (station/protocols/walk_words.py)
      // the class in the tag, the source once beside it: ``classes``, not ``words`` (which names both again)
      return el("div", { class: "ref" }, el("span", { class: "tag neutral" }, ref.walking_class), " ", unitsKept(ref.classes), " ",
        el("span", { class: "muted small" }, `(${shortCite(ref.source)})`));
    }
    const pill = ref.finding || (ref.verdict === "met" ? "criterion met" : ref.verdict ? "beyond the cut-off" : "no value");
    const said = ref.verdict && ref.verdict !== "met" && ref.verdict !== "not_applied" ? `Cut-off: ${ref.words}` : ref.words;
    // why a cut-off is not applied: a note in small type, not a verdict's (the pill says it is not applied)
    return el("div", { class: "ref" }, el("span", { class: cutoffTagClass(ref.verdict, ref.tone), dataset: { verdict: ref.verdict || "" } }, pill),
      " ", ref.verdict === "not_applied" ? el("span", { class: "small muted not-applied-why" }, unitsKept(said)) : unitsKept(said), " ",
      el("span", { class: "muted small" }, `(${shortCite(ref.source)})`));
  }

  function when(iso) {
    if (!iso) return "–";
    const d = new Date(iso);
    return d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" }) + " " +
      d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  }

  /* One of a visit's tests by its number in the visit and its time, as the visit page names it: "Test 2 (10:00 AM)"
     (report.number_sessions, report._numbered_in_visits). "Test", not "Session": for a patient on a programme a
     session is the programme's (its 6th, planned Dec 17), not the visit's 6th run of a test (review s24 F11). */
  const clock = (iso) => new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  const sessionName = (number, iso) => `Test ${number} (${clock(iso)})`;

  function capitalise(text) {
    const t = String(text || "").trim();
    if (!t) return t;
    const first = t.charAt(0).toUpperCase() + t.slice(1);
    return /[.!?…]$/.test(first) ? first : first + ".";
  }

  /* A refused form: each field's problem next to that field (capitalised), the first one
     focused and scrolled into view; what is not about a field goes into ``box``. */
  function showFieldErrors(form, err, box) {
    for (const old of form.querySelectorAll(".field-error")) { old.hidden = true; old.textContent = ""; }
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
    if (!err) { showError(box, null); return; }
    const rest = [];
    let first = null;
    let fields = err.fields;
    if (!fields && err.message) { // "Identifier 'x' is already used…": a refusal about one field
      const name = err.message.split(/\s/)[0].toLowerCase().replace(/[^a-z_]/g, "");
      if (name && form.elements[name]) fields = { [name]: err.message };
    }
    for (const [name, problem] of Object.entries(fields || {})) {
      const input = form.elements[name];
      let slot = form.querySelector(`.field-error[data-for="${CSS.escape(name)}"]`);
      if (input && !slot) {
        slot = el("span", { class: "field-error", dataset: { for: name } });
        (input.closest("label") || input.parentNode).append(slot);
      }
      if (!slot) { rest.push(capitalise(name.replace(/_/g, " ") + " " + problem)); continue; }
      slot.textContent = capitalise(problem);
      slot.hidden = false;
      if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
      if (!first) first = input || slot;
    }
    if (!fields) rest.push(err.message);
    showError(box, rest.length ? new Error(rest.join(" ")) : null);
    if (first) {
      if (first.focus) first.focus();
      if (first.scrollIntoView) first.scrollIntoView({ block: "center" });
    }
  }

  function showError(box, err) {
    if (!box) return;
    if (!err) { box.hidden = true; box.textContent = ""; return; }
    box.textContent = err.message || String(err);
    box.hidden = false;
  }

  function ordinal(n) {
    const r = Math.round(n);
    const s = (r % 100 >= 11 && r % 100 <= 13) ? "th" : ({ 1: "st", 2: "nd", 3: "rd" }[r % 10] || "th");
    return r + s;
  }

  /* -- health chip ------------------------------------------------------------------------ */
  /* The chip says the station's state in two words ("Needs attention" for a degraded station); why (the health document's reason: what
     happened and what to do) is its title for a mouse, and, since a tablet has no hover, shown
     under the header when the chip is tapped (again: hidden), kept up to date while shown. */
  const chip = document.getElementById("health-chip");
  const reasonLine = document.getElementById("health-reason");

  /* What a clinician does about a station that cannot measure, said after its reason: the chip's words name the
     state ("No readings", "Cannot measure"), the tap says why and what to do. */
  const HEALTH_TO_DO = {
    nodata: "A trial cannot be started until readings come back (usually within a minute, by themselves); if they do not, check the plate's cable and restart the station.",
    down: "No trial can be recorded now. If this lasts more than a minute, check the plate's cable and restart the station.",
    starting: "A trial can be started once this says Station OK (within seconds).",
  };

  /* The station's reason as a sentence, its "no data: ..." prefix left out (the chip's "No readings" says it already):
     the chip's tap and the live page's status strip. */
  function healthWhy(reason) {
    const why = String(reason || "").replace(/^no data:\s*/i, "").trim();
    return why ? capitalise(why) : "";
  }

  /* What to do where a reason (its reason_code) calls for something else than its state's HEALTH_TO_DO. */
  const HEALTH_TO_DO_BY_CODE = {
    acquisition_gave_up: "No trial can be recorded now: restart the station; if its measuring program stops again, ask whoever looks after the station to read its log.",
  };

  function healthReasonWords(state, reason, code) {
    const said = healthWhy(reason) // (it ends the sentence with its period)
      || (state === "ok" ? "The station is working normally." : "The station has not said why yet.");
    const toDo = HEALTH_TO_DO_BY_CODE[code] || HEALTH_TO_DO[state];
    return toDo ? said + " " + toDo : said;
  }

  /* The station's state in the words of the header's chip and of the live page's status strip beside it (live.js:
     one place for them). "degraded" (the station measures, something needs someone: a refused backup, a card filling
     up) in the words a clinician reads at a glance, the reason a tap away; the health document's state stays
     "degraded" (tools read it). "nodata" (no frame for over a second: the acquisition stalled or restarts) and "down"
     (the acquisition does not answer, no load cell answers, or the station cannot be reached) say what they mean for
     a test, the state stays. "starting" (the acquisition started or restarted and has sent no frame yet; "nodata"
     if none comes within a second): "Plate starting…", not "Station OK" for a plate that has read nothing. */
  const healthWords = (state) => ({ ok: "Station OK", degraded: "Needs attention", down: "Cannot measure",
    nodata: "No readings", starting: "Plate starting…", offline: "Station offline", unknown: "Station …" }[state]
    || "Station ?");

  function showHealth(doc) {
    if (!chip || !doc) return;
    chip.dataset.state = doc.state || "unknown";
    const words = healthWords(doc.state);
    chip.textContent = words;
    chip.title = doc.reason || words;
    // two sentences, "Needs attention. The plate is not calibrated: ...", not a capital after a colon
    if (reasonLine) reasonLine.textContent = capitalise(words) + " " + healthReasonWords(doc.state, doc.reason, doc.reason_code);
  }

  function toggleHealthReason() {
    if (!chip || !reasonLine) return;
    reasonLine.hidden = !reasonLine.hidden;
    chip.setAttribute("aria-expanded", String(!reasonLine.hidden));
  }

  if (chip) {
    chip.addEventListener("click", toggleHealthReason);
    chip.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); toggleHealthReason(); }
    });
  }

  const HEALTH_POLL_MS = 2000;
  let pollTimer = null;
  let followed = false; // a page shows the station's state itself (followHealth)

  async function pollHealth() {
    let doc;
    try {
      // Public, and asked without the session cookie: polling must neither keep the session
      // alive nor use up the "your session expired" answer the next API call should get.
      const response = await fetch("/healthz", { credentials: "omit", headers: { Accept: "application/json" } });
      doc = await response.json();
    } catch (err) {
      doc = { state: "down", reason: "the station does not answer" };
    }
    if (!followed) showHealth(doc); // (an answer on its way when the page took the chip over)
  }

  /* A page that follows the station live (the live view's stream: its health every second, and
     whether frames come) shows the station's state in the chip itself, the same as its status
     strip: the chip stops polling /healthz, which would say otherwise between two polls. */
  function followHealth() {
    followed = true;
    if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  }

  /* -- automatic logout notice -------------------------------------------------------------- */
  const notice = document.getElementById("session-notice");
  const noticeText = document.getElementById("session-notice-text");
  const stayButton = document.getElementById("session-stay");
  const WARN_S = 90;
  let expiresAt = null; // ms, performance.now() clock
  let sessionTimer = null;
  /* The sign-in's end 12 hours after it, however busy (station.store.logins.MAX_AGE_S): said AGE_WARN_S before,
     in the same place (#session-ends), while a trial records too (it goes on recording; "Stay signed in" cannot
     move this end, so the notice has no button). Counted on performance.now() from the station's ends_in_s (its
     wall clock, as it ends the session): a tablet's clock set wrong or stepped moves neither. */
  const endsNotice = document.getElementById("session-ends");
  const endsText = document.getElementById("session-ends-text");
  const AGE_WARN_S = 10 * 60;
  let endsAt = null; // ms, performance.now() clock
  let endsWords = ""; // when, by this device's clock as its pages give times: "18:40"
  let maxAgeH = 12;

  /* doc: /api/session/remaining's answer */
  function sessionEnds(doc) {
    if (!doc || typeof doc.ends_in_s !== "number") return;
    endsAt = performance.now() + doc.ends_in_s * 1000;
    endsWords = clock(new Date(Date.now() + doc.ends_in_s * 1000).toISOString());
    if (typeof doc.max_age_h === "number") maxAgeH = doc.max_age_h;
  }
  // The live view's stream keeps the session alive while a trial counts down or records (it says so
  // in each session event, every 5 s): no notice meanwhile. Held until shortly after the last such
  // event, so that a stream that stopped coming cannot hide the notice for good.
  const HELD_MS = 15000;
  let heldUntil = 0; // ms, performance.now() clock

  /* seconds: time left before the inactivity logout; heldByTrial (the live stream only): true while a
     running trial keeps the session alive, false once it ended, undefined from anyone else. */
  function sessionLeft(seconds, heldByTrial) {
    expiresAt = performance.now() + seconds * 1000;
    if (heldByTrial === true) heldUntil = performance.now() + HELD_MS;
    else if (heldByTrial === false) heldUntil = 0;
    scheduleSessionCheck();
  }

  let lastAsked = 0;

  /* ms until a notice shown ``warnS`` before an end ``leftS`` away needs a look (30 s early: the station is asked) */
  const untilWarning = (leftS, warnS) => (leftS > warnS + 30 ? (leftS - warnS - 30) * 1000 : 1000);

  function scheduleSessionCheck() {
    if (sessionTimer) clearTimeout(sessionTimer);
    const now = performance.now();
    const left = expiresAt === null ? Infinity : (expiresAt - now) / 1000;
    const endsLeft = endsAt === null ? Infinity : (endsAt - now) / 1000;
    renderNotice(left, endsLeft);
    const wait = Math.min(untilWarning(left, WARN_S), untilWarning(endsLeft, AGE_WARN_S));
    sessionTimer = setTimeout(tick, Math.min(2 ** 31 - 1, Math.max(500, wait)));
  }

  async function tick() {
    const now = performance.now();
    const left = expiresAt === null ? Infinity : (expiresAt - now) / 1000;
    const endsLeft = endsAt === null ? Infinity : (endsAt - now) / 1000;
    const over = left <= 0 || endsLeft <= 0;
    if ((left <= WARN_S + 30 || over) && (now - lastAsked > 5000 || over)) {
      lastAsked = now;
      try { // activity elsewhere (another tab, this page's own requests) may have extended it
        const doc = await api("GET", "/api/session/remaining", undefined, { background: true });
        expiresAt = performance.now() + doc.expires_in_s * 1000;
        sessionEnds(doc);
      } catch (err) {
        if (err.status === 401) return; // api() is already on its way to the sign-in page
        if (left <= 0) { goToLogin(true); return; }
        if (endsLeft <= 0) { goToLogin("max_age"); return; }
      }
    }
    scheduleSessionCheck();
  }

  /* The notice takes the brand's place in the header, whose room it always has (base.html): shown or
     not, nothing on the page moves. The seconds in a box of their own width (.secs), so the count
     going from 10 to 9 never re-wraps the words. */
  function renderNotice(left, endsLeft) {
    if (!notice) return;
    const idle = left <= WARN_S && performance.now() >= heldUntil;
    // the 12-hour end: when it comes first, it is the one said (Stay signed in cannot move it)
    const ends = endsNotice !== null && endsLeft <= AGE_WARN_S && !(idle && left < endsLeft);
    const shown = idle && !ends;
    for (const [box, on] of [[notice, shown], [endsNotice, ends]]) {
      if (!box) continue;
      box.dataset.shown = on ? "yes" : "no";
      box.setAttribute("aria-hidden", String(!on));
    }
    stayButton.tabIndex = shown ? 0 : -1;
    if (ends) {
      // as short as the inactivity notice with its button: in the header's room on a tablet, whose height stays
      const words = endsLeft > 0
        ? `You will be signed out at ${endsWords}, ${maxAgeH} h after signing in; a running trial goes on recording.`
        : `Signing out: ${maxAgeH} h since you signed in; a running trial goes on recording.`;
      if (endsText.textContent !== words) endsText.textContent = words; // (an alert: said again only when new)
    }
    if (!shown) return;
    if (left > 0) {
      noticeText.replaceChildren("You will be signed out in ", el("span", { class: "secs" }, Math.round(left)),
        " s because of inactivity.");
    } else {
      noticeText.textContent = "Signing out because of inactivity…";
    }
  }

  async function staySignedIn() {
    try {
      await api("GET", "/api/session"); // a user action: counts as activity
      await askTimeLeft();
    } catch (err) { /* 401 goes to the sign-in page */ }
  }

  /* The station asked the time left before both ends (not counted as activity), the notices told. */
  async function askTimeLeft() {
    const doc = await api("GET", "/api/session/remaining", undefined, { background: true });
    sessionEnds(doc);
    sessionLeft(doc.expires_in_s);
  }

  /* A field refused for its pattern says the rule its title gives ("A–Z letters (no accents), ..."), in the
     browser's own refusal too: Chromium's says only "Please match the requested format." (the title in a
     sub-line some browsers leave out). */
  function patternWords(ev) {
    const field = ev.target;
    if (!(field instanceof HTMLInputElement) || !field.pattern || !field.title) return;
    field.setCustomValidity("");
    if (field.validity.patternMismatch) field.setCustomValidity(field.title);
  }

  function init() {
    document.addEventListener("input", patternWords, true);
    // A page signed out by its own Sign out: its requests still under way are refused as signed out "in another
    // tab" (the station keeps why, station.store.logins), and must not take it to that sign-in page instead.
    document.addEventListener("submit", (ev) => {
      if (ev.target instanceof Element && ev.target.matches("form[data-sign-out]")) leavingForLogin = true;
    }, true);
    // every 2 s (/healthz costs ~1.5 ms): a stall of the acquisition reads "No readings" here
    // within ~3 s (its health says nodata after 1 s), as the live view says it after 1 s
    if (chip) { pollHealth(); pollTimer = setInterval(pollHealth, HEALTH_POLL_MS); }
    if (notice) {
      stayButton.addEventListener("click", staySignedIn);
      // a device asleep may not have counted the time (performance.now()): asked again when it is looked at
      document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "visible") askTimeLeft().catch(() => {});
      });
      askTimeLeft().catch(() => {});
    }
  }

  init();
  return { api, el, unitsKept, fmt, fmtSig, num, quantity, eachOf, walkedTime, clockTime, timeHeld, heldChange, bracketed, change, changeUnit, listed, beltSpeed, beltChange, beltSpeedFromKmh, mdcVerdictTag, shortCite, cutoffLines, cutoffWords, cutoffTagClass, cutoffReference, heldTag, when, clock, sessionName, showError, showFieldErrors, capitalise, ordinal, ApiError, showHealth, healthWords, healthWhy, followHealth, sessionLeft, goToLogin };
})();
