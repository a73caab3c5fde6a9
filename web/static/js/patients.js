/* Patients: list with search and the archive filter; add a patient. */
"use strict";

const PatientForm = (() => {
  const { api, el } = Station;
  let conditions = null;
  const NORM_AGES = [18, 86]; // the sway norms' age range (Santos & Duarte 2016)

  async function conditionLabels() {
    if (!conditions) conditions = (await api("GET", "/api/conditions")).conditions;
    return Object.fromEntries(conditions.map((c) => [c.tag, c.label]));
  }

  /* A condition tag in words ("stroke:left" -> "Stroke, left side"; "other:x" -> "x"). */
  function conditionText(tag, labels) {
    if (labels && labels[tag]) return labels[tag];
    if (tag.startsWith("other:")) return tag.slice(6).replace(/_/g, " ");
    return tag.replace(/[:_]/g, " ");
  }

  /* The recorded sex in words (the record keeps F, M or X). */
  const SEX_WORDS = { F: "female", M: "male", X: "not stated" };
  function sexText(code) {
    return SEX_WORDS[code] || String(code || "–");
  }

  /* Warn (never forbid) when the birth year puts the patient outside the norms' ages. */
  function birthYearWarning(form) {
    const input = form.elements.birth_year;
    const box = form.querySelector("#birth-year-warning");
    if (!box) return;
    const year = Number(input.value);
    const age = new Date().getFullYear() - year;
    let words = "";
    if (input.value && year >= 1900 && age < NORM_AGES[0]) {
      words = `Age about ${age}: the reference values cover adults of ${NORM_AGES[0]}–${NORM_AGES[1]} y, so this patient's results will not be compared with them.`;
    } else if (input.value && year >= 1900 && age > NORM_AGES[1]) {
      words = `Age about ${age}: the reference values stop at ${NORM_AGES[1]} y, so this patient's results will not be compared with them.`;
    }
    box.textContent = words;
    box.hidden = !words;
  }

  async function loadConditions(form) {
    await conditionLabels();
    const box = form.querySelector("[data-conditions]");
    box.replaceChildren(...conditions.map((c) => el("label", { class: "check" },
      el("input", { type: "checkbox", name: "conditions", value: c.tag }), c.label)));
    if (!form.dataset.watching) {
      form.dataset.watching = "yes";
      form.elements.birth_year.addEventListener("input", () => birthYearWarning(form));
    }
  }

  function fill(form, patient) {
    for (const name of ["identifier", "birth_year", "sex", "height_cm", "weight_kg", "notes"]) {
      const v = patient ? patient[name] : "";
      form.elements[name].value = v === null || v === undefined ? "" : v;
    }
    const tags = new Set((patient && patient.conditions) || []);
    for (const box of form.querySelectorAll('input[name="conditions"]')) box.checked = tags.has(box.value);
    Station.showFieldErrors(form, null, form.querySelector(".error-box"));
    birthYearWarning(form);
  }

  function read(form, creating) {
    const f = form.elements;
    const number = (name) => (f[name].value === "" ? null : Number(f[name].value));
    const doc = {
      identifier: f.identifier.value.trim(),
      birth_year: number("birth_year"),
      sex: f.sex.value,
      height_cm: number("height_cm"),
      weight_kg: number("weight_kg"),
      conditions: [...form.querySelectorAll('input[name="conditions"]:checked')].map((b) => b.value),
      notes: f.notes.value,
    };
    if (creating) {
      for (const k of ["height_cm", "weight_kg"]) if (doc[k] === null) delete doc[k];
    }
    return doc;
  }

  return { loadConditions, fill, read, conditionLabels, conditionText, sexText };
})();

if (document.getElementById("patients")) {
  (() => {
    const { api, el, when, clock, showError, showFieldErrors } = Station;
    const $ = (id) => document.getElementById(id);
    const tbody = document.querySelector("#patients tbody");
    let timer = null;

    /* A patient's last test: "today 10:02 AM" (who was seen today, at a glance), else its day and time. */
    function lastTest(iso) {
      if (!iso) return null;
      const d = new Date(iso);
      return d.toDateString() === new Date().toDateString() ? `today ${clock(iso)}` : when(iso);
    }

    /* A patient's conditions under the identifier where a phone drops their column (R's review L5): the first two
       in words, the others counted ("Stroke, left side affected, Fall in the last 12 months +2 more"), each whole. */
    const SHOWN_CONDITIONS = 2;
    function conditionsLine(tags, labels) {
      if (!tags.length) return null;
      const words = tags.map((c) => PatientForm.conditionText(c, labels));
      const more = words.length - SHOWN_CONDITIONS;
      return el("div", { class: "small only-narrow conditions-line", title: words.join(", ") },
        words.slice(0, SHOWN_CONDITIONS).join(", "), more > 0 ? el("span", { class: "muted" }, ` +${more} more`) : null);
    }

    async function load() {
      const q = $("search").value.trim();
      const search = { archived: $("archived").value, sort: "identifier", limit: 200 };
      if (q) search.q = q;
      try {
        // POSTed: a patient's identifier never goes in a URL (proxies, logs and the browser's history keep those)
        const doc = await api("POST", "/api/patients/search", search);
        const labels = await PatientForm.conditionLabels().catch(() => null);
        showError($("list-error"), null);
        tbody.replaceChildren(...doc.patients.map((p) => {
          const last = lastTest(p.last_session_at);
          const row = el("tr", { class: "clickable", tabindex: 0, dataset: { patientId: p.id } },
            el("td", {}, el("a", { href: `/patients/${p.id}` }, p.identifier), p.archived ? el("span", { class: "tag flag" }, "archived") : null,
              // on a programme (either size): the patients a clinician sees week after week
              p.programme ? el("span", { class: "tag neutral programme-tag" }, p.programme === "paused" ? "programme paused" : "on a programme") : null,
              // a phone drops the last test's column: said under the identifier, so who was seen today shows there too
              last ? el("div", { class: "small muted only-narrow last-test" }, `last test ${last}`) : null,
              // and the conditions' column: the first two said, the rest counted (every one on the patient's page)
              conditionsLine(p.conditions || [], labels)),
            el("td", { class: "num" }, p.birth_year),
            el("td", {}, PatientForm.sexText(p.sex)),
            el("td", { class: "hide-narrow" }, (p.conditions || []).map((c) => el("span", { class: "tag" }, PatientForm.conditionText(c, labels)))),
            el("td", { class: "num" }, p.visit_count), // visits, as the patient page's cards (one test = one session)
            el("td", { class: "hide-narrow" }, last || "–"));
          row.addEventListener("click", (ev) => { if (ev.target.tagName !== "A") window.location.assign(`/patients/${p.id}`); });
          row.addEventListener("keydown", (ev) => { if (ev.key === "Enter") window.location.assign(`/patients/${p.id}`); });
          return row;
        }));
        $("list-count").textContent = doc.total === 0
          // an empty list says what to do: a new station has no patient yet; a search or filter found none
          ? (q ? `No patient's identifier contains "${q}".` : $("archived").value === "yes" ? "No archived patients."
            : "No patients yet: press Add patient (above) to register the first one.")
          : `${doc.total} patient${doc.total === 1 ? "" : "s"}` +
            (doc.total > doc.patients.length ? `, first ${doc.patients.length} shown: narrow the search` : "");
        const pull = $("hub-pull");
        if (pull) {  // a station syncing with a hub: offer the hub's patient of that identifier
          pull.hidden = !(q && doc.total === 0);
          $("hub-pull-button").textContent = `Bring ${q} from the clinic's hub`;
          $("hub-pull-button").dataset.identifier = q;
        }
      } catch (err) {
        showError($("list-error"), err);
      }
    }

    $("search").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(load, 250); });
    const pullButton = $("hub-pull-button");
    if (pullButton) {
      pullButton.addEventListener("click", async () => {
        try {
          const patient = await api("POST", "/api/patients/pull", { identifier: pullButton.dataset.identifier });
          window.location.assign(`/patients/${patient.id}`);
        } catch (err) {
          showError($("list-error"), err);
        }
      });
    }
    $("archived").addEventListener("change", load);

    const dialog = $("patient-dialog");
    const form = $("patient-form");
    $("add-patient").addEventListener("click", async () => {
      try { await PatientForm.loadConditions(form); } catch (err) { showError($("list-error"), err); return; }
      PatientForm.fill(form, null);
      showError($("form-error"), null);
      dialog.showModal();
    });
    $("cancel-patient").addEventListener("click", () => dialog.close());
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        const patient = await api("POST", "/api/patients", PatientForm.read(form, true));
        dialog.close();
        window.location.assign(`/patients/${patient.id}`);
      } catch (err) {
        showFieldErrors(form, err, $("form-error"));
      }
    });

    load();
  })();
}
