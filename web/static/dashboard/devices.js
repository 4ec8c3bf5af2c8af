/* The patient page's device tokens (staff only): list, create (the token is shown once, until it is revoked),
 * with the command that links the patient's laptop to this clinic, revoke (after a confirmation naming the machine).
 * Patients, caregivers and anyone else get 403 from the API, and the section stays hidden; so it does on the
 * page of this server's own patient ("Me", the live coach's), who gets no token (the API refuses one).
 * ``section[data-ready=true]`` once it is decided. */
"use strict";

(function () {
  const R = window.romcam;
  const { el } = R;
  const patientId = document.body.dataset.patientId;
  const section = document.getElementById("devices-section");
  const list = document.getElementById("devices");
  const error = document.getElementById("devices-error");
  const newToken = document.getElementById("new-token");

  function say(text) {
    error.textContent = text || "";
    error.hidden = !text;
  }

  function row(t) {
    const state = t.revoked_at ? `revoked ${R.fmtDate(t.revoked_at)}`
      : t.last_used_at ? `last used ${R.fmtDate(t.last_used_at)}` : "never used";
    const item = el("li", { dataset: { tokenId: t.id } },
      el("code", { text: `${t.prefix}…` }), " ", t.label || "(no label)", ` — created ${R.fmtDate(t.created_at)}, ${state} `);
    if (!t.revoked_at) {
      item.append(el("button", {
        type: "button", class: "secondary revoke", onclick: async () => {
          const which = t.label ? `the token of "${t.label}"` : `the token ${t.prefix}… (no label)`;
          if (!window.confirm(`Revoke ${which}? That machine can no longer upload sessions or read the plan `
            + "until it is given a new token.")) return;
          try {
            await R.api(`/api/tokens/${t.id}`, { method: "DELETE" });
            await load();
          } catch (err) { say(err.message); }
        },
      }, "Revoke"));
    }
    return item;
  }

  function hideNewToken() {
    newToken.hidden = true;
    newToken.dataset.tokenId = "";
    document.getElementById("new-token-value").textContent = "";
  }

  async function load() {
    let tokens;
    try {
      // this server's own patient (the live coach's "Me") is on this machine already: no token, no section
      // (the patient as the page loaded it: asking again would log a second view of them)
      const patient = await R.pagePatient(patientId);
      if (patient.is_local) {
        section.hidden = true;
        section.dataset.ready = "true";
        return;
      }
      tokens = await R.api(`/api/patients/${patientId}/tokens`);
    } catch (err) {
      section.hidden = true;  // not this user's to manage
      section.dataset.ready = "true";
      return;
    }
    section.hidden = false;
    section.dataset.ready = "true";
    // the token shown once, revoked since (here or elsewhere): a dead token must not stay on screen to be copied
    if (!newToken.hidden && tokens.some((t) => t.revoked_at && t.id === newToken.dataset.tokenId)) hideNewToken();
    list.replaceChildren(...(tokens.length ? tokens.map(row) : [el("li", { text: "No device yet." })]));
  }

  document.getElementById("new-device").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    if (form.dataset.busy === "true") return;   // a double click makes one token, not two (one never shown)
    const button = form.querySelector("button[type=submit]");
    form.dataset.busy = "true";
    if (button) button.disabled = true;
    say("");
    try {
      const made = await R.api(`/api/patients/${patientId}/tokens`, { json: { label: form.elements.label.value.trim() } });
      document.getElementById("new-token-value").textContent = made.token;
      // what to run on the laptop: this clinic's address as the PT reaches it (the HTTPS proxy's, in production)
      document.getElementById("new-token-command").textContent = `romcam link --upload-to ${window.location.origin}`;
      newToken.dataset.tokenId = made.id;
      newToken.hidden = false;
      form.reset();
      await load();
    } catch (err) { say(err.message); } finally {
      form.dataset.busy = "false";
      if (button) button.disabled = false;
    }
  });

  load();
})();
