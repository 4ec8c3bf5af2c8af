// The clinic link on the patient's page (docs/sync.md): the consent panel before the first upload,
// then a status line (linked to X, N sessions waiting, last upload, last error) with "Stop sharing".
// No inline script (the page's CSP): this file fills <section id="link-panel">, with text nodes only (a `command`
// in a message becomes a <code> element: web/static/shared/words.js).
"use strict";

(function () {
  const POLL_MS = 5000;
  let panel = null;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) window.romcamWords.fill(node, text);  // a `command` shown as <code>, not backticks
    return node;
  }

  function when(iso) {
    const d = new Date(iso);
    return d.toLocaleString([], { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  }

  async function send(method, clinicUrl) {
    const opts = { method, headers: { "Content-Type": "application/json" } };
    // the clinic this panel named: one linked since (romcam link while romcam runs) is refused, and the panel is read again
    if (method === "POST") opts.body = JSON.stringify({ consent: true, clinic_url: clinicUrl });
    const r = await fetch("/api/link/consent", opts);
    if (r.ok) render(await r.json());
    else if (r.status === 409) { panel.dataset.view = ""; shown = ""; poll(); }
  }

  function consentPanel(s) {
    panel.dataset.view = "consent";
    panel.dataset.clinic = s.clinic_url;  // a panel naming another clinic than the link's is rebuilt (render)
    const h = el("h2", { id: "link-title" }, "Share your results with your physical therapist?");
    const who = el("p", { class: "link-who" });
    who.append("This laptop is linked to ", el("strong", {}, s.clinic), " (", el("span", { class: "link-url" }, s.clinic_url), ").");
    const what = el("p", {}, "If you say yes, romcam sends your physical therapist, after each session:");
    const list = el("ul", { class: "link-shares" });
    for (const item of s.shares) list.append(el("li", {}, item));
    const never = el("p", { class: "link-never" }, "It never sends video or pictures of you. They stay on this laptop.");
    const later = el("p", {}, "Nothing is sent until you say yes. You can stop sharing at any time.");
    const waiting = s.waiting ? el("p", { class: "link-waiting" }, keptLine(s)) : null;
    const yes = el("button", { type: "button", id: "link-consent", class: "link-yes" }, "Yes, share my results");
    yes.addEventListener("click", () => send("POST", s.clinic_url));
    const no = el("button", { type: "button", id: "link-later", class: "link-no" }, "Not now");
    no.addEventListener("click", () => { panel.dataset.dismissed = "true"; notSharing(s); });
    const buttons = el("p", { class: "link-buttons" });
    buttons.append(yes, no);
    panel.replaceChildren(...[h, who, what, list, never, later, waiting, unansweredNote(s), clockNote(s), planNote(s), buttons]
      .filter(Boolean));
  }

  /** What waits on this laptop, said where consent is given: after "Stop sharing", the sessions recorded while
   * sharing was off are sent too once the patient says yes again (docs/sync.md). */
  function keptLine(s) {
    const n = (k) => `${k} session${k === 1 ? "" : "s"}`;
    const off = s.recorded_while_off || 0;
    if (s.consent_withdrawn_at && off) {
      const rest = s.waiting - off;
      return `If you say yes, ${n(off)} recorded while sharing was off will be sent`
        + (rest > 0 ? `, and ${n(rest)} from before that.` : ".");
    }
    return `${n(s.waiting)} ${s.waiting === 1 ? "is" : "are"} kept on this laptop until you decide.`;
  }

  /** Linked with a key the clinic has not answered yet: whose results it would share is not known, so the
   * panel names no patient, asks no consent and says what it waits for. */
  function unconfirmed(s) {
    panel.dataset.view = "unconfirmed";
    const line = el("p", { id: "link-status", role: "status" });
    line.append("Linked to ", el("strong", {}, s.clinic), ": waiting for it to answer. ",
      "Once it does, romcam asks whether to share your results; until then nothing is sent",
      s.waiting ? ` and ${s.waiting} session${s.waiting === 1 ? " is" : "s are"} kept on this laptop.` : ".");
    const error = s.last_error ? el("p", { id: "link-error", class: "link-error" }, s.last_error) : null;
    panel.replaceChildren(...[line, error, unansweredNote(s), clockNote(s)].filter(Boolean));
  }

  /** Sessions recorded under a device token the clinic never answered (offline all along, or mistyped): whose
   * they are was never known, so they are sent under no other token — kept here until that one is linked again
   * and the clinic answers it (docs/sync.md). */
  function unansweredNote(s) {
    const k = s.unanswered || 0;
    if (!k) return null;
    return el("p", { id: "link-unanswered", class: "link-error" },
      `${k} session${k === 1 ? " was" : "s were"} recorded while this laptop was linked with a key the clinic never `
      + "answered (it could not be reached, or the key was mistyped). "
      + `${k === 1 ? "It is" : "They are"} kept on this laptop and not sent with this link, which may be someone else's: `
      + `to send ${k === 1 ? "it" : "them"}, link this laptop with that key again (\`romcam link\`).`);
  }

  /** This computer's clock far from the clinic's: sessions would be filed on the wrong days. */
  function clockNote(s) {
    const off = s.clock_off_s;
    if (off === null || off === undefined) return null;
    const a = Math.abs(off);
    const size = a >= 2 * 86400 ? `${Math.round(a / 86400)} days` : a >= 2 * 3600 ? `${Math.round(a / 3600)} hours`
      : `${Math.round(a / 60)} minutes`;
    return el("p", { id: "link-clock", class: "link-error", role: "alert" },
      `This computer's clock is ${size} ${off < 0 ? "behind" : "ahead of"} the clinic's, and your sessions are dated by it. `
      + "Please set the date and time (or ask whoever helps you with the computer).");
  }

  /** The PT changed the plan after romcam started: the running coach follows it (docs/live.md). */
  function planNote(s) {
    if (!s.plan_changed_at) return null;
    return el("p", { id: "link-plan", class: "link-note", role: "status" },
      `Your physical therapist changed your exercise plan (${when(s.plan_changed_at)}). The coach follows the new `
      + "plan from the next exercise; a lower safe limit counts at once.");
  }

  /** Sessions the clinic neither took nor refused at their last try (its server failed on one, 5xx; no answer
   * in time): the others go on, and each upload that goes through clears the link's own error, so without this
   * the panel said nothing of one stuck for days. Not said when the clinic refuses this laptop's key: the error
   * above says that, and nothing can go. */
  function failingNote(s) {
    const n = s.failing || 0;
    if (!n || s.token_refused) return null;
    const why = s.failing_error ? ` (the last try: ${s.failing_error})` : "";
    return el("p", { id: "link-failing", class: "link-error" },
      `${n} session${n === 1 ? "" : "s"} could not be sent yet${why}. ${n === 1 ? "It is" : "They are"} kept on this `
      + "laptop, and romcam keeps trying.");
  }

  /** When romcam asks the clinic again (``next_try_in_s``: its backoff), in words: "within a minute", else the
   * minute it is due by. */
  function nextTry(s) {
    const wait = s.next_try_in_s;
    if (wait === null || wait === undefined || wait < 60) return "the next try is within a minute";
    const at = new Date(Date.now() + wait * 1000);
    if (at.getSeconds() || at.getMilliseconds()) at.setMinutes(at.getMinutes() + 1, 0, 0);  // due by that minute
    return `the next try is by ${at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`;
  }

  /** The clinic out of reach (``unreachable``: why), said once: that it cannot be reached now, what waits on this
   * laptop for it, and that romcam keeps trying and when — not also each waiting session as one that "could not be
   * sent" (a session the clinic refused is still said apart: it answered). */
  function unreachableNote(s) {
    if (!s.unreachable) return null;
    const n = s.waiting || 0;
    const why = s.unreachable.charAt(0).toUpperCase() + s.unreachable.slice(1);
    const kept = n ? ` ${n} session${n === 1 ? " is" : "s are"} kept on this laptop and will be sent when it answers.`
      : " Nothing is lost: what you record is kept on this laptop and sent when it answers.";
    return el("p", { id: "link-error", class: "link-error", role: "alert" },
      `${why}.${kept} romcam keeps trying: ${nextTry(s)}.`);
  }

  /** Where the uploads stand, in words that are true together: nothing is "all sent" before anything was
   * ("nothing to send yet" right after consent on a laptop with no session), and "last sent" names a time. */
  function uploads(s) {
    const everSent = Boolean(s.last_upload_at) || s.sent > 0;
    const last = s.last_upload_at ? ` · last sent ${when(s.last_upload_at)}` : "";
    if (s.waiting) {
      return `${s.waiting} session${s.waiting === 1 ? "" : "s"} waiting to be sent` + (everSent ? last : " · none sent yet");
    }
    return everSent ? `everything sent${last}` : "nothing to send yet: each session is sent once you finish it";
  }

  function statusLine(s) {
    panel.dataset.view = "status";
    const line = el("p", { id: "link-status", role: "status" });
    line.append("Sharing with ", el("strong", {}, s.clinic), ": ");
    line.append(uploads(s));
    const parts = [line];
    const unreachable = unreachableNote(s);
    const failing = unreachable ? null : failingNote(s);  // said once: the clinic out of reach is that same fact
    // the link's error is the failing session's own last try (a 500 on it alone, the others sent): the note says it
    const same = failing && s.failing_error && (s.last_error || "").startsWith(s.failing_error);
    if (unreachable) parts.push(unreachable);
    else if (s.last_error && !same) parts.push(el("p", { id: "link-error", class: "link-error", role: "alert" }, s.last_error));
    if (failing) parts.push(failing);
    if (s.rejected) {  // said for as long as they are kept, not only until the next upload goes through
      parts.push(el("p", { id: "link-refused", class: "link-error" },
        `${s.rejected} session${s.rejected === 1 ? " was" : "s were"} refused by the clinic and ${s.rejected === 1 ? "is" : "are"} `
        + "kept on this laptop; romcam offers them again each time it starts. Tell your PT if this stays."));
    }
    if (s.held) {
      parts.push(el("p", { id: "link-held", class: "link-error" },
        `${s.held} session${s.held === 1 ? " was" : "s were"} recorded while this laptop was linked to another `
        + "patient of the clinic: kept here, never sent to this one."));
    }
    const unanswered = unansweredNote(s);
    if (unanswered) parts.push(unanswered);
    const clock = clockNote(s);
    if (clock) parts.push(clock);
    const plan = planNote(s);
    if (plan) parts.push(plan);
    const stop = el("button", { type: "button", id: "link-withdraw", class: "link-no" }, "Stop sharing");
    stop.addEventListener("click", () => { panel.dataset.dismissed = "true"; send("DELETE"); });
    parts.push(stop);
    panel.replaceChildren(...parts);
  }

  function notSharing(s) {
    panel.dataset.view = "off";
    const line = el("p", { id: "link-status", role: "status" });
    line.append("Not sharing with ", el("strong", {}, s.clinic), ": ",
      s.waiting ? `${s.waiting} session${s.waiting === 1 ? "" : "s"} kept on this laptop` : "nothing is sent");
    const again = el("button", { type: "button", id: "link-ask", class: "link-no" }, "Share my results…");
    again.addEventListener("click", () => { panel.dataset.dismissed = "false"; consentPanel(s); });
    panel.replaceChildren(...[line, unansweredNote(s), clockNote(s), planNote(s), again].filter(Boolean));
  }

  let shown = "";  // what the panel shows now: rebuilt only when that changes, so keyboard focus stays put
  function render(s) {
    if (!s.linked) { panel.hidden = true; shown = ""; return; }
    panel.hidden = false;
    const key = JSON.stringify([s.confirmed, s.consent, panel.dataset.dismissed, s.clinic, s.waiting, s.sent > 0, s.rejected, s.held,
                                s.unanswered, s.failing, s.failing_error, s.unreachable, s.unreachable ? nextTry(s) : "", s.token_refused, s.last_upload_at, s.last_error, s.clock_off_s === null ? null : Math.round(s.clock_off_s / 60), s.plan_changed_at]);
    if ((s.confirmed === false || s.consent || panel.dataset.dismissed === "true") && key === shown && panel.dataset.view !== "consent") return;
    shown = key;
    if (s.confirmed === false) unconfirmed(s);
    else if (s.consent) statusLine(s);
    else if (panel.dataset.dismissed === "true") notSharing(s);
    // not rebuilt while the patient reads it, unless the laptop was linked to another clinic meanwhile
    else if (panel.dataset.view !== "consent" || panel.dataset.clinic !== s.clinic_url) consentPanel(s);
  }

  async function poll() {
    try {
      const r = await fetch("/api/link/status", { headers: { Accept: "application/json" } });
      if (r.ok) render(await r.json());
    } catch (_) { /* the server is restarting: the next poll tries again */ }
  }

  document.addEventListener("DOMContentLoaded", () => {
    panel = document.getElementById("link-panel");
    if (!panel) return;
    poll();
    setInterval(poll, POLL_MS);
  });
})();
