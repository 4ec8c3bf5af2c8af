/* The clinic admin's accounts (/accounts, admin only: the server answers anyone else 403 before this runs):
 * every account with its role, whether it may log in, and the patient a patient or caregiver account acts
 * for; Deactivate (after a confirmation that names the account and, for a PT, what becomes of their patients:
 * DELETE /api/users/{id}) and Activate for a deactivated one (POST /api/users/{id}/activate). */
"use strict";

(function () {
  const R = window.romcam;
  const { el } = R;
  const problem = document.getElementById("accounts-error");
  let me = null;

  function sayProblem(text) {
    problem.textContent = text || "";
    problem.hidden = !text;
  }

  const label = (u) => (u.name ? `${u.name} (${u.email})` : u.email);
  const patientsText = (n) => (n === 1 ? "1 patient" : `${n} patients`);

  /** What deactivating ``u`` does, asked before it is done. */
  function deactivateQuestion(u, owned) {
    let text = `Deactivate ${label(u)}? This ${u.role} account can no longer log in, and is logged out now.`;
    if (owned) {
      text += ` Its ${patientsText(owned)} stay${owned === 1 ? "s" : ""} its own: no PT sees them until you hand `
        + "each to another clinician on the patient's page.";
    }
    return `${text} You can activate it again here.`;
  }

  function patientCell(u, patients, owned) {
    if (u.patient_id) {
      const p = patients.get(u.patient_id);
      return el("td", { dataset: { patientId: u.patient_id, label: "Patient" } },
        p ? el("a", { href: `/patients/${u.patient_id}`, text: p.name }) : el("span", { class: "muted", text: "an unknown patient" }));
    }
    if (u.role === "clinician") {
      return el("td", { class: "muted", dataset: { label: "Patients" }, text: owned ? `${patientsText(owned)} of theirs` : "no patients yet" });
    }
    return el("td", { class: "muted", dataset: { label: "Patient" }, text: "none" });
  }

  function changeCell(u, owned) {
    if (me && u.id === me.id) return el("td", { class: "muted", text: "your account" });
    const button = el("button", { type: "button", class: u.active ? "secondary danger" : "secondary",
      dataset: { action: u.active ? "deactivate" : "activate" },
      "aria-label": `${u.active ? "Deactivate" : "Activate"} ${label(u)}`, text: u.active ? "Deactivate" : "Activate" });
    button.addEventListener("click", () => change(u, owned, button));
    return el("td", {}, button);
  }

  async function change(u, owned, button) {
    if (button.disabled) return;
    if (u.active && !window.confirm(deactivateQuestion(u, owned))) return;
    button.disabled = true;
    sayProblem("");
    const verb = u.active ? "deactivate" : "activate";
    let done;
    try {
      done = u.active
        ? await R.api(`/api/users/${u.id}`, { method: "DELETE" })
        : await R.api(`/api/users/${u.id}/activate`, { method: "POST" });
    } catch (err) {
      if (err.status === 401) return;  // the login ended: api() is on its way to /login
      button.disabled = false;
      sayProblem(`Could not ${verb} ${label(u)}: ${err.message}`);
      return;
    }
    const said = done.active
      ? `${label(done)} may log in again, with the password it had.`
      : `${label(done)} is deactivated: it can no longer log in.`
        + (owned ? ` Its ${patientsText(owned)} need another clinician: hand each on from the patient's page.` : "");
    try {
      await load(u.id);
      R.setStatus(said);
    } catch (err) {
      if (err.status !== 401) sayProblem(`${said} The list could not be reloaded (${err.message}): reload the page.`);
    }
  }

  function render(users, patients, focusId) {
    const owned = new Map();
    for (const p of patients.values()) {
      if (p.clinician_id) owned.set(p.clinician_id, (owned.get(p.clinician_id) || 0) + 1);
    }
    const body = document.querySelector("#accounts tbody");
    body.replaceChildren(...users.map((u) => el("tr", { dataset: { userId: u.id, active: String(u.active) } },
      el("th", { scope: "row", class: "account-name", text: label(u) }),
      el("td", { dataset: { label: "Role" }, text: u.role }),
      el("td", { dataset: { label: "State" } }, u.active ? "Active" : el("span", { class: "tag tag-unassigned", text: "Deactivated" })),
      patientCell(u, patients, owned.get(u.id) || 0),
      changeCell(u, owned.get(u.id) || 0))));
    document.getElementById("accounts-box").hidden = false;
    // the button just pressed was replaced: keep the keyboard where it was, on that account's new button
    if (focusId) {
      const again = body.querySelector(`tr[data-user-id="${focusId}"] button`);
      if (again) again.focus();
    }
  }

  async function load(focusId) {
    const who = await R.me();
    me = who && who.user ? who.user : null;
    const [users, patients] = await Promise.all([R.api("/api/users"), R.api("/api/patients")]);
    R.setStatus(users.length ? "" : "No accounts yet.");
    render(users, new Map(patients.map((p) => [p.id, p])), focusId);
  }

  load().catch((err) => {
    if (err.status !== 401) R.setStatus(`Could not load the accounts: ${err.message}`, "error");
  }).finally(() => { document.body.dataset.loaded = "true"; });
})();
