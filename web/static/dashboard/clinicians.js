/* The clinic admin's clinicians: the accounts a patient can belong to (GET /api/users?role=clinician, admin
 * only), their names in the admin's patient list, and the choice in the forms that hand a patient to one.
 * Nobody else asks (a clinician's own patients are theirs; local mode has no accounts): load() answers null. */
"use strict";

(function () {
  const R = window.romcam;
  const { el } = R;

  const NONE_YET = "No active clinician account, so no PT could see a patient added now: create one first on the "
    + "server (romcam user create --email E --role clinician), or activate a deactivated one on the Accounts page "
    + "(Accounts, at the top of this page; or romcam user activate --email E on the server), then reload this page.";

  /** Every clinician account (deactivated ones too) when an admin is logged in on a clinic server, else null. */
  async function load() {
    const who = await R.me();
    if (!who || who.mode !== "clinic" || !who.user || who.user.role !== "admin") return null;
    return R.api("/api/users?role=clinician");
  }

  const label = (c) => (c.name ? `${c.name} (${c.email})` : c.email);

  /** Whose the patient is, for the admin's list; flagged when no clinician sees them (none, or a deactivated one). */
  function ownerCell(clinicianId, clinicians) {
    if (!clinicianId) {
      return el("td", { dataset: { clinician: "" } }, el("span", { class: "tag tag-unassigned", text: "no clinician" }),
        el("br"), el("span", { class: "muted", text: "no PT sees this patient: choose one on their page" }));
    }
    const c = clinicians.find((x) => x.id === clinicianId);
    const name = c ? c.name || c.email : "an unknown account";
    if (c && c.active) return el("td", { dataset: { clinician: clinicianId } }, name);
    return el("td", { dataset: { clinician: clinicianId } }, name,
      el("span", { class: "tag tag-unassigned", text: c ? "account deactivated" : "no such account" }),
      el("br"), el("span", { class: "muted", text: "no PT sees this patient: choose another on their page" }));
  }

  /** Fill ``select`` with the active clinicians, ``current`` chosen (a placeholder when none is); answer how many. */
  function fill(select, clinicians, current) {
    const active = clinicians.filter((c) => c.active || c.id === current);
    const options = active.map((c) => el("option", { value: c.id, text: c.active ? label(c) : `${label(c)}, deactivated` }));
    if (!current || !active.some((c) => c.id === current)) {
      options.unshift(el("option", { value: "", text: current ? "— an unknown account —" : "Choose a clinician…" }));
    }
    select.replaceChildren(...options);
    select.value = current && active.some((c) => c.id === current) ? current : "";
    return clinicians.filter((c) => c.active).length;
  }

  R.clinicians = { load, label, ownerCell, fill, NONE_YET };
})();
