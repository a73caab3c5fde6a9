/* Administrators' pages: users (add, change role, disable/enable, reset a password), the clinic's
   settings (name, inactivity timeout) and the audit log, through the existing JSON API
   (/api/users, /api/settings, /api/audit). */
"use strict";

(() => {
  const { api, el, when, showError, showFieldErrors } = Station;
  const $ = (id) => document.getElementById(id);

  function say(text) {
    const box = $("page-message");
    if (!box) return;
    box.textContent = text;
    box.hidden = !text;
  }

  function closeButtons(dialog) {
    for (const b of dialog.querySelectorAll("[data-close]")) b.addEventListener("click", () => dialog.close());
  }

  /* -- users ------------------------------------------------------------------------------- */
  if ($("admin-users-page")) {
    const ROLE = { admin: "Administrator", clinician: "Clinician" };
    let resetting = null;

    /* The user's row clear of what a change says: held at a phone's bottom edge under a long list (e66a188), the words
       came over the row whose button was just pressed at that edge, the list's last rows and their buttons. The page
       is scrolled up by what they cover (the list's end has the room: the words' own place under it), so a row
       moves only when it would be hidden; elsewhere it stays under the finger. */
    function keepClear(userId) {
      const tr = document.querySelector(`#users tbody tr[data-user-id="${userId}"]`);
      const box = [$("page-message"), $("page-error")].find((b) => b && !b.hidden);
      if (!tr || !box) return;
      const r = tr.getBoundingClientRect();
      const b = box.getBoundingClientRect();
      const covered = r.bottom + 8 - b.top;
      if (covered > 0 && r.top < b.bottom) window.scrollBy(0, covered);
    }

    async function change(user, body, done) {
      showError($("page-error"), null);
      try {
        await api("PATCH", `/api/users/${user.id}`, body);
        await load();
        say(done); // said with the rows drawn again: the words come once the row they are about is there
      } catch (err) {
        showError($("page-error"), err);
      }
      keepClear(user.id);
    }

    function row(user) {
      const role = el("select", { "aria-label": `Role of ${user.username}` },
        Object.entries(ROLE).map(([v, label]) => el("option", { value: v, selected: v === user.role }, label)));
      role.addEventListener("change", () => change(user, { role: role.value }, `${user.username} is now ${ROLE[role.value].toLowerCase()}.`));
      const toggle = el("button", { type: "button", class: user.disabled ? "secondary" : "danger" }, user.disabled ? "Enable" : "Disable");
      toggle.addEventListener("click", () => {
        if (!user.disabled && !window.confirm(`Disable ${user.username}? They can no longer sign in.`)) return;
        change(user, { disabled: !user.disabled }, `${user.username} is ${user.disabled ? "enabled" : "disabled"}.`);
      });
      const reset = el("button", { type: "button", class: "secondary" }, "New password…");
      reset.addEventListener("click", () => {
        resetting = user;
        $("reset-name").textContent = user.username;
        $("reset-form").reset();
        showFieldErrors($("reset-form"), null, $("reset-error"));
        $("reset-dialog").showModal();
      });
      const self = me && me.id === user.id; // one's own account: not disabled or demoted from here
      // (one's own role said as words: a greyed list read as broken, and a phone clipped it to "Administrat")
      const status = el("span", { class: "tag " + (user.disabled ? "invalid" : "valid") }, user.disabled ? "disabled" : "active");
      return el("tr", { dataset: { userId: user.id } },
        el("td", {}, el("strong", {}, user.username), self ? el("span", { class: "muted small" }, " (you)") : null,
          // a phone has no Status column: a disabled user said under the name, not only by an "Enable" button
          user.disabled ? el("div", { class: "status-narrow" }, status.cloneNode(true)) : null),
        el("td", {}, self ? el("span", { class: "own-role", title: "Another administrator can change your role" }, ROLE[user.role] || user.role) : role),
        el("td", { class: "hide-narrow" }, user.last_login_at ? when(user.last_login_at) : "never"),
        el("td", {}, status),
        el("td", {}, el("div", { class: "actions tight" }, self
          ? el("a", { class: "button secondary", href: "/account" }, "Change your password")
          : [toggle, reset])));
    }

    let me = null; // the signed-in administrator
    async function load() {
      try {
        if (!me) me = (await api("GET", "/api/session")).user || null;
        const doc = await api("GET", "/api/users");
        document.querySelector("#users tbody").replaceChildren(...doc.users.map(row));
      } catch (err) {
        showError($("page-error"), err);
      }
    }

    const dialog = $("user-dialog");
    closeButtons(dialog);
    closeButtons($("reset-dialog"));
    $("add-user").addEventListener("click", () => {
      $("user-form").reset();
      showFieldErrors($("user-form"), null, $("user-error"));
      dialog.showModal();
    });
    $("user-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = ev.target.elements;
      try {
        const user = await api("POST", "/api/users", { username: f.username.value.trim(), role: f.role.value, password: f.password.value });
        dialog.close();
        say(`${user.username} can now sign in as ${ROLE[user.role].toLowerCase()}.`);
        await load();
        keepClear(user.id); // the new user's row, the list's last
      } catch (err) {
        showFieldErrors(ev.target, err, $("user-error"));
      }
    });
    $("reset-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        await api("PATCH", `/api/users/${resetting.id}`, { password: ev.target.elements.password.value });
        $("reset-dialog").close();
        say(`${resetting.username} has a new password.`);
        keepClear(resetting.id);
      } catch (err) {
        showFieldErrors(ev.target, err, $("reset-error"));
      }
    });
    load();
  }

  /* -- settings ---------------------------------------------------------------------------- */
  if ($("admin-settings-page")) {
    const form = $("settings-form");

    async function load() {
      try {
        const s = (await api("GET", "/api/settings")).settings;
        form.elements.clinic_name.value = s.clinic_name.value || "";
        form.elements.session_timeout_min.value = s.session_timeout_min.value;
        $("settings-defaults").textContent = `Defaults: no clinic name; sign out after ${s.session_timeout_min.default} min.`;
      } catch (err) {
        showError($("page-error"), err);
      }
    }

    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      say("");
      const minutes = form.elements.session_timeout_min.value;
      try {
        await api("PATCH", "/api/settings", {
          clinic_name: form.elements.clinic_name.value.trim(),
          session_timeout_min: minutes === "" ? null : Number(minutes),
        });
        showFieldErrors(form, null, $("page-error"));
        say("Saved. The new timeout applies from each user's next request.");
        await load();
      } catch (err) {
        showFieldErrors(form, err, $("page-error"));
      }
    });
    load();
  }

  /* -- audit log --------------------------------------------------------------------------- */
  if ($("admin-audit-page")) {
    const WORDS = {
      "patient.create": "added a patient", "patient.view": "looked at a patient", "patient.update": "changed a patient",
      "patient.archive": "archived a patient", "patient.unarchive": "unarchived a patient", "patient.export": "exported a patient's history",
      "patient.erase": "erased a patient", "session.create": "opened a session", "session.view": "looked at a session's results",
      "session.update": "changed a session", "trial.record": "recorded a trial", "trial.finish": "finished a trial",
      "trial.abort": "stopped a trial", "trial.scored_unable": "scored the rest of a single-leg side unable (not measured)", "trial.recover": "recovered an interrupted trial", "trial.view": "looked at a trial",
      "trial.frames": "looked at a trial's plots", "trial.update": "judged a trial or noted on it", "trial.export": "exported a trial",
      "patient.list": "listed patients", "station.view": "saw a test on the station", "live.view": "watched the live view",
      "programme.assign": "gave a training programme", "programme.view": "looked at a training programme",
      "programme.update": "changed a training programme", "programme.dose": "recorded a training dose",
      "training.record": "recorded a training game", "training.view": "looked at a patient's training games",
      "sync.skip": "skipped a change the clinic's hub refused",
      "sync.pulled_forgotten": "removed results pulled from the hub before its restore (they are pulled again)",
      "sync.station_add": "registered a station with the clinic's hub (a new token)",
      "sync.station_revoke": "revoked a station's token",
      "sync.station_renew": "gave a revoked station a new token (it goes on with its records)",
      "sync.station_restored": "confirmed a station's restore from its backup (the hub takes its records again from the backup's point)",
      "sync.restore_withdrawn": "withdrew a confirmed station restore its station never sent (what the hub had forgotten put back; the station given a new token)",
      "sync.erasure_unmatched": "a station's erasure the clinic's hub did not apply (the patient has another identifier there)",
      "sync.erasures_offered_again": "offered erasures again to the clinic's hub restored from an older backup (made here or on the hub; not one whose identifier is held here again)",
      "user.login": "signed in", "user.login_failed": "failed to sign in", "user.logout": "signed out",
      "user.create": "added a user", "user.update": "changed a user", "user.password": "changed a password",
      "settings.update": "changed the settings",
    };
    let before = null;

    function details(entry) {
      const d = entry.detail;
      if (!d || typeof d !== "object") return "";
      // an empty list "none" (it read "ids: · total: 0"), a yes or no in words (it read "first run: true")
      const words = (v) => (Array.isArray(v) ? (v.length ? v.join(", ").replace(/_/g, " ") : "none")
        : v === true ? "yes" : v === false ? "no" : v === null || v === "" ? "none" : v);
      return Object.entries(d).map(([k, v]) => `${k.replace(/_/g, " ")}: ${words(v)}`).join(" · ");
    }

    /* Which record an entry is about, under its words: a user by name ("added a user" said whom; the table said
       only "role: clinician"), a trial or a session by its number; a patient is the Patient column's. */
    let names = null; // user id -> user name (the users list, read once)
    function about(entry) {
      const [kind, id] = String(entry.object || "").split(":");
      if (!kind || !id || kind === "patient") return null;
      const words = kind === "user" ? (names && names.get(Number(id))) || `user #${id}` : `${kind.replace(/_/g, " ")} #${id}`;
      return el("div", { class: "muted small audit-object" }, words);
    }

    async function load(more) {
      const f = $("audit-filter").elements;
      if (!names) names = await api("GET", "/api/users").then((d) => new Map(d.users.map((u) => [u.id, u.username])), () => new Map());
      // a phone shows a screenful at a time (the button below loads older entries)
      const params = new URLSearchParams({ limit: window.matchMedia("(max-width: 600px)").matches ? "30" : "100" });
      if (f.username.value.trim()) params.set("username", f.username.value.trim());
      if (f.patient_id.value) params.set("patient_id", f.patient_id.value);
      if (f.action.value) params.set("action", f.action.value);
      if (more && before) params.set("before_id", before);
      try {
        const doc = await api("GET", "/api/audit?" + params);
        showError($("page-error"), null);
        const rows = doc.entries.map((e) => el("tr", {},
          el("td", {}, when(e.at)), el("td", {}, e.username, e.address ? el("div", { class: "muted small" }, e.address) : null),
          el("td", {}, WORDS[e.action] || e.action.replace(/[._]/g, " "), about(e)),
          el("td", { class: "hide-narrow" }, e.patient_id ? el("a", { href: `/patients/${e.patient_id}` }, `#${e.patient_id}`) : "–"),
          el("td", { class: "hide-narrow small muted" }, details(e))));
        const body = document.querySelector("#audit tbody");
        if (more) body.append(...rows); else body.replaceChildren(...rows);
        if (!rows.length && !more) body.append(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "Nothing recorded with these filters.")));
        before = doc.next_before_id;
        $("audit-more").hidden = doc.entries.length < Number(params.get("limit"));
      } catch (err) {
        showError($("page-error"), err);
      }
    }

    $("audit-filter").addEventListener("submit", (ev) => { ev.preventDefault(); before = null; load(false); });
    $("audit-more").addEventListener("click", () => load(true));
    load(false);
  }
})();
