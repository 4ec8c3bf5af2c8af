/* The patient list: last session, adherence over 7 and 30 days, changes to review; for a clinic admin, each
 * patient's clinician, and the clinician a new patient belongs to (clinicians.js). */
"use strict";

(function () {
  const R = window.romcam;
  const { el } = R;

  /** The figure over ``days`` days; a plan younger than that is counted from its start, and says so. */
  function adherenceCell(value, paused, planStartedAt, days, pausedNow = paused) {
    if (value === null || value === undefined) {
      // with a plan, nothing asked means it was paused all that time
      return el("td", { class: "num muted", text: pausedNow && planStartedAt ? "— (plan paused)" : "— (nothing prescribed)" });
    }
    const pct = Math.max(0, Math.min(1, Number(value)));
    const age = R.planAgeDays(planStartedAt);
    const young = age !== null && age < days
      ? el("span", { class: "since muted", text: age === 0 ? "plan made today" : `plan ${age} day${age === 1 ? "" : "s"} old` })
      : null;
    return el("td", { class: "num" },
      el("span", { class: "pct", text: R.fmtPercent(value) }),
      el("span", { class: "bar", "aria-hidden": "true" }, el("span", { class: "bar-fill", dataset: { pct: String(pct) } })),
      young, paused ? el("span", { class: "tag tag-paused", text: "plan paused" }) : null);
  }

  /** ``clinicians``: the admin's clinician accounts (a Clinician column), or null (no such column). */
  function render(patients, clinicians) {
    const table = document.getElementById("patients");
    const body = table.querySelector("tbody");
    body.replaceChildren();
    if (clinicians && !document.getElementById("clinician-col")) {
      table.querySelector("thead th").after(el("th", { scope: "col", id: "clinician-col", text: "Clinician" }));
    }
    for (const p of patients) {
      // the last session that measured something; any begun after it that measured nothing, and one still being
      // recorded, said under it
      const note = R.unmeasuredNote(p);
      const recording = R.recordingNote(p);
      const last = p.last_measured_session_at
        ? [R.fmtDate(p.last_measured_session_at), el("br"), el("span", { class: "muted", text: R.daysAgo(p.last_measured_session_at) })]
        : [el("span", { class: "muted", text: note || recording ? "Nothing measured yet" : "No sessions yet" })];
      if (note) last.push(el("br"), el("span", { class: "muted unmeasured", text: note }));
      if (recording) last.push(el("br"), el("span", { class: "muted recording", text: recording }));
      const review = p.open_alerts > 0
        ? el("a", { href: `/patients/${p.id}#alerts-h`, class: "badge badge-alert", dataset: { openAlerts: String(p.open_alerts) },
          text: R.alertBadgeText(p.open_alerts) })
        : el("span", { class: "muted", text: "Nothing new" });
      body.append(el("tr", { dataset: { patientId: p.id } },
        el("th", { scope: "row" }, el("a", { href: `/patients/${p.id}`, class: "patient-link", text: p.name }),
          p.is_local ? el("span", { class: "tag", text: "this computer" }) : null),
        clinicians ? R.clinicians.ownerCell(p.clinician_id, clinicians) : null,
        el("td", {}, ...last),
        adherenceCell(p.adherence_7d, p.plan_paused, p.plan_started_at, 7),
        adherenceCell(p.adherence_30d, false, p.plan_started_at, 30, p.plan_paused),
        el("td", {}, review)));
    }
    // widths from data attributes: no inline style attribute in the markup (CSP-friendly)
    for (const fill of body.querySelectorAll(".bar-fill")) fill.style.width = `${Number(fill.dataset.pct) * 100}%`;
    document.getElementById("patients-box").hidden = false;
  }

  /** An admin's form asks whose the new patient is: an active clinician, or what to do when there is none. */
  function askForClinician(clinicians) {
    const form = document.getElementById("add-patient");
    const select = form.elements.clinician_id;
    const active = R.clinicians.fill(select, clinicians, null);
    select.required = true;
    document.getElementById("clinician-field").hidden = active === 0;
    const none = document.getElementById("no-clinician");
    none.textContent = active ? "" : R.clinicians.NONE_YET;
    none.hidden = active > 0;
    form.querySelector("button[type=submit]").disabled = active === 0;
  }

  async function load() {
    try {
      const asked = R.clinicians.load().catch((err) => err);   // null unless an admin is logged in
      const patients = await R.api("/api/patients");
      let clinicians = await asked;
      if (clinicians instanceof Error) {
        R.setStatus(`Could not load the clinician accounts: ${clinicians.message}`, "error");
        clinicians = null;
      } else {
        R.setStatus(patients.length ? "" : "No patients yet: add one below.");
      }
      if (clinicians) askForClinician(clinicians);
      render(patients, clinicians);
    } catch (err) {
      R.setStatus(`Could not load the patients: ${err.message}`, "error");
    } finally {
      document.body.dataset.loaded = "true";
    }
  }

  document.getElementById("add-patient").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    if (form.dataset.busy === "true") return;   // a double click adds one patient, not two
    const button = form.querySelector("button[type=submit]");
    form.dataset.busy = "true";
    if (button) button.disabled = true;
    const error = form.querySelector(".form-error");
    error.hidden = true;
    try {
      const notes = form.elements.notes.value.trim();
      const owner = form.elements.clinician_id.value;   // "" unless an admin chose one
      const p = await R.api("/api/patients", { json: { name: form.elements.name.value.trim(), ...(notes ? { notes } : {}),
        ...(owner ? { clinician_id: owner } : {}) } });
      window.location.href = `/patients/${p.id}`;
    } catch (err) {
      error.textContent = `Could not add the patient: ${err.message}`;
      error.hidden = false;
      form.dataset.busy = "false";
      if (button) button.disabled = false;
    }
  });

  /** This machine runs the live coach (`romcam serve` / `make run`): a patient who opened the bare address finds
   * the way to it here. Without a capture worker /live/status answers 503 and nothing shows. A clinic server's
   * accounts never reach the coach (it answers them 404), so it is not asked there: a failed request would be
   * a console error on every visit to the patient list. */
  async function pointToCoach() {
    const who = await R.me();
    if (who && who.mode === "clinic") return;
    try {
      const response = await fetch("/live/status", { headers: { Accept: "application/json" } });
      await response.text();   // read to the end: a response left unread keeps its request open
      if (response.ok) document.getElementById("coach-pointer").hidden = false;
    } catch (err) {
      /* no coach here */
    }
  }

  load();
  pointToCoach();
})();
