/* The patient page's clinician, for a clinic admin only: whose patient this is, and handing them to another
 * clinician (PATCH /api/patients/{id} {clinician_id}; the server records the change in the patient's audit
 * log). Anyone else never sees the form and asks nothing (a clinician cannot hand a patient on: 403). */
"use strict";

(function () {
  const R = window.romcam;
  const patientId = document.body.dataset.patientId;
  const form = document.getElementById("clinician-form");
  const select = form.elements.clinician_id;
  const note = document.getElementById("clinician-note");
  let clinicians = [];
  let current = null;

  function say(text, kind) {
    note.textContent = text || "";
    note.className = kind === "error" ? "form-error" : "hint";
  }

  const nameOf = (id) => {
    const c = clinicians.find((x) => x.id === id);
    return c ? c.name || c.email : null;
  };

  /** The form for the patient as the API answered; a patient no PT sees is said so. */
  function show(patient) {
    current = patient.clinician_id;
    const active = R.clinicians.fill(select, clinicians, current);
    const owner = clinicians.find((c) => c.id === current);
    if (!active) say(R.clinicians.NONE_YET, "error");
    else if (!current) say("No clinician: no PT sees this patient. Choose the one they belong to.", "error");
    else if (!owner || !owner.active) say("Their clinician's account is deactivated or gone: no PT sees this patient. "
      + "Choose another.", "error");
    else say("");
    form.hidden = false;
  }

  async function load() {
    try {
      const list = await R.clinicians.load();
      if (list === null) return;   // not an admin
      clinicians = list;
      show(await R.pagePatient(patientId));   // as the page loaded it: one view in the audit log, not two
    } catch (err) {
      form.hidden = false;
      say(`Could not load the clinicians: ${err.message}`, "error");
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (form.dataset.busy === "true") return;
    const chosen = select.value;
    if (chosen === current) {
      say(`${nameOf(current)} is their clinician already.`);
      return;
    }
    const button = form.querySelector("button[type=submit]");
    form.dataset.busy = "true";
    button.disabled = true;
    try {
      show(await R.api(`/api/patients/${patientId}`, { method: "PATCH", json: { clinician_id: chosen } }));
      say(`Now ${nameOf(chosen)}'s patient: they see them in their list.`);
    } catch (err) {
      say(`Could not change the clinician: ${err.message}`, "error");
    } finally {
      form.dataset.busy = "false";
      button.disabled = false;
    }
  });

  load();
})();
