/* romcam coaching page: follows the live coach (docs/live.md) so a patient can exercise hands-free.
 *
 * Events arrive on the WebSocket /live/ws (one per processed frame, plus {"type": "status"} on state
 * changes); the page shows them (angle, gauge, reps, hold, cue, state), speaks each new cue once
 * (after the Start gesture unlocks speech, rate-limited here as well as on the server) and each rep's
 * count (the latest only, never over a safety message: speakCount), and drives
 * the session with POST /live/start|pause|resume|stop|next|rest. At "done" it shows a summary that
 * celebrates what went well, and a check-in posted to /live/checkin.
 *
 * A screen reader hears the cues (#cue) and one short sentence in #announce each time the state or
 * the rep count changes ("Rep 3 of 10." with the voice off — with it on, the voice alone says the count —,
 * "Rest 15 seconds."), never two regions for one thing, nor a region and the voice: with the voice on,
 * a cue the voice says is shown in #cue but hidden from the screen reader (cueVoiced; one the voice then
 * does not say is put back for it: cueUnsaid), and then
 * the fuller words: entering a hold the cue says "hold"; a rest, the next exercise and the end are said
 * by #announce ("Set done. Rest 20 seconds.", not "well done — rest a moment" too), stop by the red
 * banner's alert — the cue stays on screen, hidden from the screen reader. The readout, rewritten every
 * frame, is never a live region.
 *
 * No framework and no inline script or style (the page holds under a strict CSP). Data goes into
 * the DOM as text, never as HTML.
 */
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const SVG_NS = "http://www.w3.org/2000/svg";
  const CONN_LOST_MS = 3000;           // the server silent this long (a reconnect failed): say nothing is measured
  const SPEECH_GAP_MS = 2500;          // at most one ordinary spoken cue per 2.5 s
  const SPEECH_STALE_MS = 4000;        // a cue that waited longer than this is not spoken any more
  const COUNT_GAP_MS = 1200;           // a rep's count waits this long after other speech (it is short)
  const SAME_PHRASE_GAP_MS = 6000;     // never the same phrase twice within 6 s (safety excepted)
  const CUE_SHOW_MS = 5000;            // a cue stays bright this long, then fades
  const STALE_FRAME_MS = 3000;         // no frame event this long: the picture is not live (no angle shown)
  const SAFETY_MIN_MS = 1500;          // the red banner stays at least this long (unless back in range)
  const ANNOUNCE_SAME_MS = 6000;       // the screen reader's same sentence not again within 6 s (a second hold)
  const PACE_CLEAR_MS = 5000;          // the pace note stays until the loop has kept up this long (renderPace)
  const SAID_RECENT_MS = 3000;         // a cue #announce said this recently is not said again by #cue (saidElsewhere)
  const LIGHT_OK = 0.6;                // mean landmark confidence: the person is seen clearly
  const LIGHT_MIN = 0.15;              // mean luma of the picture (event.light, 0..1) below this: too dark
  const CONF_WINDOW = 30;              // frames over which the confidence is averaged

  // the voice switch's description (#mute-hint, heard on the button), with the voice on and off
  const MUTE_HINT = {
    on: "The voice says each cue and count, so your screen reader leaves them out. Turn the voice off to have "
      + "your screen reader read them instead.",
    off: "Your screen reader reads each cue and count. Turn the voice on to hear them from the page's voice "
      + "instead, without your screen reader.",
  };
  const MODE_LABEL = { active: "active", active_assisted: "active-assisted", passive: "passive (with a helper)" };
  const STATE_TEXT = {
    connecting: "Connecting to the camera…",
    waiting_for_patient: "Waiting for you — come into the camera's view.",
    positioning: "Let's get you in position.",
    exercising: "Go ahead, at your own pace.",
    holding: "Hold it there…",
    resting: "Rest. Take your time.",
    paused: "Paused. Press the space bar or Resume when you are ready.",
    done: "Done for today — well done!",
    source_lost: "The camera stopped sending pictures. Your session is kept.",
    off: "The live coach is not running here. Start it with “romcam serve”.",
  };
  // passive ROM: the caregiver reads the page, so it speaks to them about the patient
  const HELPER_TEXT = {
    waiting_for_patient: "Waiting for the patient — bring them into the camera's view.",
    positioning: "Let's get the patient in position.",
    exercising: "Move the limb slowly, within the patient's comfort.",
    holding: "Hold it there…",
    resting: "Rest. Let the patient relax.",
  };
  const PART_WORDS = {
    nose: "face", eye: "face", ear: "head", mouth: "face", shoulder: "shoulder", elbow: "elbow",
    wrist: "wrist", pinky: "hand", index: "hand", thumb: "hand", hip: "hip", knee: "knee", ankle: "ankle",
    heel: "heel", foot: "foot",
  };

  const catalog = readCatalog();
  const app = {
    started: false,
    state: "connecting",
    demo: false,
    plan: [],
    planKnown: false,                 // the plan has arrived, or the page knows there is none (loadPlan)
    status: null,
    last: null,
    lastFrameAt: 0,
    ws: null,
    wsDelay: 1000,
    connLost: false,                  // the server has not answered for CONN_LOST_MS: nothing is measured
    connLostTimer: null,
    keepLayout: false,                // a first tap is under way: nothing above the buttons moves (bindControls)
    busy: false,
    muted: readMuted(),
    autoStart: false,                 // the server's hands-free start (status.auto_start)
    autoStartAsking: false,           // asking the server for what this browser chose (see renderAutoStart)
    speechUnlocked: false,
    lastCueId: null,
    cueShownAt: 0,
    lastSpeechAt: -1e9,
    lastSpoken: { text: "", at: -1e9 },
    lastUrgentAt: -1e9,               // the last safety message (or other urgent words) began then
    pendingCue: null,
    pendingCount: null,               // the latest rep count still to say ({text, at}): never a queue of them
    safetyUntil: 0,
    safetyLimit: "max",   // the limit the red banner is about: "max" (safe_max) or "min" (safe_min)
    finishArmedUntil: 0,
    paceSaid: false,   // "too few pictures to count" was said aloud (renderPace)
    paceClear: null,   // the timer that hides the pace note once the loop has kept up a while (renderPace)
    confidences: [],
    lights: [],                       // recent event.light values (mean luma of the picture)
    results: new Map(),
    order: [],
    checkin: { pain: null, tiredness: null, cramps: null },
    checkinSent: false,
    checkinGoes: null, // where the check-in goes ({kind: demo|therapist|waiting|laptop}), asked as the end is shown
    summaryShown: false,
    videoOk: null,
    allSet: false,                    // the camera check's every line says yes ("✓ All set")
    allOkSince: null,
    lockClick: null,                  // {x, y | person, at, where}: the caregiver chose the patient; waiting for the lock
    persons: null,                    // everyone in view, left to right, when two or more were (subject.persons)
    personsAt: 0,                     // ... seen then
    lockAnnounced: "",                // the lock already announced (so it is said once)
    subjectBox: null,                 // the patient's frame, normalized [x0, y0, x1, y1], while it is shown
    setupSpoken: "",                  // the camera setup already spoken for this exercise
    said: { seen: false, state: "connecting", rep: 0, index: null, text: "", at: -1e9 },   // what #announce told
  };

  // ---- small helpers ----------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function readCatalog() {
    const out = {};
    document.querySelectorAll("#romcam-catalog option").forEach((o) => {
      out[o.value] = {
        name: o.dataset.name, works: o.dataset.works || "max", view: o.dataset.view,
        normalMin: Number(o.dataset.normalMin), normalMax: Number(o.dataset.normalMax),
      };
    });
    return out;
  }

  /** "Start by itself" as this browser last set it: true, false, or null when never set. */
  function readAutoStart() {
    try {
      const v = window.localStorage.getItem("romcam.coach.autostart");
      return v === "1" ? true : v === "0" ? false : null;
    } catch (err) { return null; }
  }

  function readMuted() {
    try { return window.localStorage.getItem("romcam.coach.muted") === "1"; } catch (err) { return false; }
  }

  /** ``text`` into ``node`` only when it differs: for the live regions fed every frame or every status
   * poll (a region rewritten with the same words may be read out again, and again). */
  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  function num(v) { return typeof v === "number" && isFinite(v) ? v : null; }
  function deg(v) { return num(v) === null ? "—" : `${Math.round(v)}°`; }
  // a sentence with a capital letter; one that begins with an address (a network camera's) as it is written
  function cap(s) { return s && !/^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s.charAt(0).toUpperCase() + s.slice(1) : s; }
  function exerciseName(id, fallback) { return fallback || (catalog[id] && catalog[id].name) || (id || "").replace(/_/g, " "); }
  function works(id) { return (catalog[id] && catalog[id].works) || "max"; }
  function isSafetyCue(text) { return /stop|come back down/i.test(text || ""); }
  function isSlowCue(text) { return /slow down/i.test(text || ""); }

  /** "left_wrist not visible" → "wrist" (what the page says it cannot see). */
  function partName(missing) {
    if (!missing) return null;
    const token = String(missing).split(/[\s,;]+/)[0].toLowerCase().replace(/^(left|right)_/, "");
    const first = token.split("_")[0];
    return PART_WORDS[first] || PART_WORDS[token] || token.replace(/_/g, " ");
  }

  async function api(path, options = {}) {
    const init = { headers: { Accept: "application/json" }, method: options.method || "GET" };
    if (options.json !== undefined) {
      init.method = options.method || "POST";
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.json);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      throw new Error("The romcam coach could not be reached. Is it still running?");
    }
    const text = await response.text();
    let body = null;
    if (text) {
      try { body = JSON.parse(text); } catch (err) { body = text; }
    }
    if (!response.ok) {
      const detail = body && typeof body === "object" ? body.detail : null;
      let message = `The coach answered ${response.status}.`;
      if (typeof detail === "string") message = detail;
      else if (Array.isArray(detail)) message = detail.map((d) => d.msg).join("; ");
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function showError(text) {
    const node = $("error-line");
    node.textContent = text || "";
    node.hidden = !text;
  }

  /** A write to the database failed (a full disk, the database gone): say so, plainly and once; and
   * once more when the session is saved after all. */
  function renderSaving(problem) {
    const text = problem ? String(problem) : "";
    const before = app.saveProblem || "";
    app.saveProblem = text;
    const node = $("save-problem");
    const voiced = Boolean(text) && !before && voiceSpeaks();   // the voice says a new problem, whole
    if (text !== before) noteLive(node, "alert", !voiced);
    setText(node, text);
    node.hidden = !text;
    if (text && !before) speakCue(text, voiced ? () => noteUnsaid(node, "alert", text) : null);
    else if (!text && before) speakCue("Your session is saved now.");
  }

  /** Whether the page's voice can speak now: on, a gesture let it (app.speechUnlocked), and the browser has a
   * voice (chromium with none installed says nothing, and tells nobody). Then a note it says (the saving problem,
   * the pace note, the connection's) is not announced by its region too: heard once. */
  function voiceSpeaks() {
    const voices = synth && typeof synth.getVoices === "function" ? synth.getVoices() : null;
    return Boolean(synth) && !app.muted && app.speechUnlocked && (voices === null || voices.length > 0);
  }

  /** ``node``, a note's live region (``role`` "alert" or "status"), ``live``: announced, or only shown (the voice
   * says it whole). Not aria-hidden: a note lasts, and a screen reader's user can still read it on the page. */
  function noteLive(node, role, live) {
    if (live) { node.setAttribute("role", role); node.removeAttribute("aria-live"); }
    else { node.removeAttribute("role"); node.setAttribute("aria-live", "off"); }
  }

  /** The voice did not say the note ``text`` after all (turned off while it waited, the browser's voice failing):
   * still shown, it is announced by its region, live again and written again. */
  function noteUnsaid(node, role, text) {
    if (node.hidden || node.textContent !== text || node.getAttribute("aria-live") !== "off") return;
    noteLive(node, role, true);
    node.textContent = "";
    setTimeout(() => { if (!node.textContent && !node.hidden) node.textContent = text; }, 100);
  }

  /** A video file damaged in its middle (romcam serve --source FILE): how many frames were skipped and what that
   * means for the count, in the server's words (docs/live.md "A damaged video"). Shown once the file was read. */
  function renderSourceWarning(warning) {
    const text = warning ? String(warning) : "";
    const node = $("source-warning");
    setText(node, text);
    node.hidden = !text;
  }

  /** The live loop does not keep up (docs/live.md "Keeping up"): too few pictures measured to count reps, or a
   * video playing slower than its speed. Shown while it lasts; a count that may be wrong is said aloud too,
   * once per page (a video playing slowly is only shown: its count is right). */
  function renderPace(kind, problem, { now = false } = {}) {
    const text = problem ? String(problem) : "";
    const node = $("pace-problem");
    clearTimeout(app.paceClear);
    app.paceClear = null;
    const say = kind === "too_few_frames" && !app.paceSaid;   // said once per page, the slow video never
    const voiced = say && Boolean(text) && voiceSpeaks();
    if ((text || now) && text !== node.textContent) noteLive(node, "status", !voiced);
    if (text || now) {
      setText(node, text);
      node.hidden = !text;
    } else if (!node.hidden) {
      // a loop near the line flips between keeping up and not from one frame to the next: the note goes only
      // once it has kept up for PACE_CLEAR_MS (else a screen reader heard it come back over and over)
      app.paceClear = setTimeout(() => { setText(node, ""); node.hidden = true; app.paceClear = null; }, PACE_CLEAR_MS);
    }
    if (say) {
      app.paceSaid = true;
      speakCue(text, voiced ? () => noteUnsaid(node, "status", text) : null);
    }
  }

  // ---- speech -------------------------------------------------------------------------------------

  const synth = "speechSynthesis" in window ? window.speechSynthesis : null;

  /** Say ``text`` (``urgent``: at once, cutting anything else short). ``unsaid``: called if the voice fails
   * to say it (no voice installed, the audio gone), not when it is cut short on purpose. */
  function utter(text, urgent, unsaid = null) {
    if (!synth || app.muted || !app.speechUnlocked) { if (unsaid) unsaid(); return; }
    try {
      if (urgent) synth.cancel();
      const u = new SpeechSynthesisUtterance(text);
      u.rate = urgent ? 1.0 : 0.9;
      u.lang = document.documentElement.lang || "en";
      u.onerror = (e) => { if (unsaid && !(e && /interrupted|canceled/.test(e.error))) unsaid(); };
      synth.speak(u);
      const now = performance.now();
      app.lastSpeechAt = now;
      app.lastSpoken = { text, at: now };
      if (urgent) app.lastUrgentAt = now;
    } catch (err) {
      /* speech is a help, never a requirement: the cue is on screen */
      if (unsaid) unsaid();
    }
  }

  /** Say a cue, the latest only, at most one per SPEECH_GAP_MS. ``unsaid``: called if the voice does not
   * say it after all (it waited too long, a newer cue or a stop took its place, the voice was turned off or
   * failed); not when the same words were said less than 6 s ago. */
  function speakCue(text, unsaid = null) {
    const now = performance.now();
    if (isSafetyCue(text) || isSlowCue(text)) {   // safety: at once, interrupting anything else
      const before = app.pendingCue;
      app.pendingCue = null;
      if (before && before.unsaid) before.unsaid();
      utter(text, true, unsaid);
      return;
    }
    const before = app.pendingCue;
    app.pendingCue = { text, at: now, unsaid };
    if (before && before.unsaid) before.unsaid();
    flushSpeech();
  }

  /** Whether the page's voice says the cues now: on, able to speak (a gesture unlocked it) and speaking them
   * (after Start, or hands-free before it, as renderCue does). Then #cue hides a cue's words from a screen
   * reader, which would say them too, over the voice: heard once. */
  function cueVoiced() {
    return voiceSpeaks() && (app.started || app.autoStart);
  }

  /** Whether a rep's count is said aloud: the voice on and able to speak (after Start and a gesture). Then
   * #announce leaves the count out, so a screen reader with the voice on does not hear it twice. */
  function countSpoken() {
    return voiceSpeaks() && app.started;
  }

  /** Say a completed rep's count ("3 of 10."), for a patient too far from the screen to read it. Only the
   * latest waits: reps that come fast are not said one after another, late. It never talks over a safety
   * message: it waits while the red banner shows and after the stop is said, and a stop cuts it short.
   * Said by flushSpeech once the event's cue and banner are shown (a stop in the same event goes first). */
  function speakCount(text) {
    if (!app.started || app.muted) return;
    app.pendingCount = { text, at: performance.now() };
  }

  function flushSpeech() {
    const now = performance.now();
    const count = app.pendingCount;
    if (count && now - count.at > SPEECH_STALE_MS) app.pendingCount = null;
    else if (count && !(synth && synth.speaking) && now - app.lastSpeechAt >= COUNT_GAP_MS
             && now - app.lastUrgentAt >= SPEECH_GAP_MS && now >= app.safetyUntil) {
      app.pendingCount = null;
      utter(count.text, false);
      return;
    }
    const cue = app.pendingCue;
    if (!cue) return;
    if (now - cue.at > SPEECH_STALE_MS) { app.pendingCue = null; if (cue.unsaid) cue.unsaid(); return; }
    if (now - app.lastSpeechAt < SPEECH_GAP_MS || (synth && synth.speaking)) return;
    app.pendingCue = null;
    if (cue.text === app.lastSpoken.text && now - app.lastSpoken.at < SAME_PHRASE_GAP_MS) return;
    utter(cue.text, false, cue.unsaid);
  }

  /** Called inside a user gesture (click, tap, key): browsers allow speech from then on. A greeting is
   * said whether or not an earlier gesture (the tap that reached the page first) already unlocked it. */
  function unlockSpeech(greeting) {
    if (!synth) { app.speechUnlocked = true; return; }
    if (!app.speechUnlocked && !greeting) {
      try { synth.speak(new SpeechSynthesisUtterance("")); } catch (err) { /* ignore */ }
    }
    app.speechUnlocked = true;
    if (greeting) utter(greeting, true);
    renderControls();
    // a page opened on a paused plan: said now that the voice may speak, after the greeting (after the press, too:
    // the first press may be "Voice off")
    setTimeout(sayPlanPause, 0);
  }

  function setMuted(muted) {
    app.muted = muted;
    try { window.localStorage.setItem("romcam.coach.muted", muted ? "1" : "0"); } catch (err) { /* ignore */ }
    const button = $("mute");
    button.setAttribute("aria-pressed", muted ? "true" : "false");
    button.querySelector(".toggle-text").textContent = muted ? "Voice off" : "Voice on";
    // the button's description: who says the cues and counts now, the voice or the screen reader (one of them)
    $("mute-hint").textContent = muted ? MUTE_HINT.off : MUTE_HINT.on;
    if (muted) app.pendingCount = null;
    if (muted && synth) synth.cancel();
    const cue = app.pendingCue;   // a cue still waiting for the voice: the screen reader says it now
    if (muted && cue) { app.pendingCue = null; if (cue.unsaid) cue.unsaid(); }
    if (!muted) sayPlanPause();   // a pause that came while the voice was off
  }

  // ---- the gauge ----------------------------------------------------------------------------------

  const G = { cx: 160, cy: 170, r: 140 };

  function gaugeRange(ev) {
    const info = catalog[ev.exercise] || {};
    let lo = Math.min(0, num(info.normalMin) ?? 0);
    let hi = Math.max(num(info.normalMax) ?? 180, 30);
    for (const v of [ev.target_min, ev.target_max, ev.safe_max, ev.safe_min, ev.angle]) {
      if (num(v) === null) continue;
      lo = Math.min(lo, v - (v === ev.safe_min ? 10 : 0));   // room past each limit: its red stretch shows
      hi = Math.max(hi, v + (v === ev.safe_max ? 10 : 0));
    }
    return [Math.floor(lo / 10) * 10, Math.ceil(hi / 10) * 10];
  }

  function gaugePoint(frac, radius) {
    const f = Math.max(0, Math.min(1, frac));
    const theta = Math.PI * (1 - f);
    const r = radius ?? G.r;
    return [G.cx + r * Math.cos(theta), G.cy - r * Math.sin(theta)];
  }

  function arcPath(f1, f2) {
    if (f2 <= f1) return "";
    const [x1, y1] = gaugePoint(f1);
    const [x2, y2] = gaugePoint(f2);
    return `M ${x1.toFixed(1)} ${y1.toFixed(1)} A ${G.r} ${G.r} 0 0 1 ${x2.toFixed(1)} ${y2.toFixed(1)}`;
  }

  /** A safety limit's tick across the gauge's arc at ``f`` (null: none). */
  function limitTick(line, f) {
    if (f !== null) {
      const [x1, y1] = gaugePoint(f, G.r - 22);
      const [x2, y2] = gaugePoint(f, G.r + 22);
      line.setAttribute("x1", x1); line.setAttribute("y1", y1);
      line.setAttribute("x2", x2); line.setAttribute("y2", y2);
    } else {
      ["x1", "y1", "x2", "y2"].forEach((a) => line.setAttribute(a, 0));
    }
  }

  let gaugeKey = "";
  function renderGauge(ev) {
    const [lo, hi] = gaugeRange(ev);
    const frac = (v) => (v - lo) / (hi - lo);
    const tmin = num(ev.target_min), tmax = num(ev.target_max), safe = num(ev.safe_max), safeMin = num(ev.safe_min);
    const key = [ev.exercise, lo, hi, tmin, tmax, safe, safeMin].join("|");
    if (key !== gaugeKey) {
      gaugeKey = key;
      $("gauge-track").setAttribute("d", arcPath(0, 1));
      $("gauge-band").setAttribute("d", tmin !== null || tmax !== null
        ? arcPath(frac(tmin ?? lo), frac(tmax ?? hi)) : "");
      // past each of the PT's limits the arc is red, and a tick marks the limit
      $("gauge-over").setAttribute("d", safe !== null ? arcPath(frac(safe), 1) : "");
      $("gauge-under").setAttribute("d", safeMin !== null ? arcPath(0, frac(safeMin)) : "");
      limitTick($("gauge-safe"), safe !== null ? frac(safe) : null);
      limitTick($("gauge-safe-min"), safeMin !== null ? frac(safeMin) : null);
      $("gauge-lo").textContent = `${lo}°`;
      $("gauge-hi").textContent = `${hi}°`;
      const legend = $("gauge-legend");
      legend.replaceChildren();
      if (tmin !== null || tmax !== null) {
        legend.append(el("span", { class: "legend-item legend-band" },
          `Target ${tmin !== null ? Math.round(tmin) : lo}°–${tmax !== null ? Math.round(tmax) : hi}°`));
      } else {
        legend.append(el("span", { class: "legend-item" }, "Measuring only — no target set"));
      }
      // beside a safe minimum, the other limit is named for its end too: "Safe limit" read as the only one
      const maxName = safeMin !== null ? "Safe maximum" : "Safe limit";
      if (safe !== null) legend.append(el("span", { class: "legend-item legend-safe" }, `${maxName} ${Math.round(safe)}°`));
      if (safeMin !== null) {
        legend.append(el("span", { class: "legend-item legend-safe legend-safe-min" }, `Safe minimum ${Math.round(safeMin)}°`));
      }
      $("gauge-title").textContent = tmin !== null || tmax !== null
        ? `Angle gauge: target ${tmin ?? lo} to ${tmax ?? hi} degrees` + (safe !== null ? `, ${maxName.toLowerCase()} ${safe}` : "")
          + (safeMin !== null ? `, safe minimum ${safeMin}` : "")
        : "Angle gauge: measuring only";
    }
    const needle = $("gauge-needle");
    const angle = num(ev.angle);
    if (angle === null) {
      needle.classList.add("none");
    } else {
      needle.classList.remove("none");
      const [x, y] = gaugePoint(frac(angle), G.r - 14);
      needle.setAttribute("x2", x.toFixed(1));
      needle.setAttribute("y2", y.toFixed(1));
    }
  }

  // ---- rendering one event --------------------------------------------------------------------------

  function planItemFor(ev) {
    if (app.status && Number.isInteger(app.status.plan_index) && app.plan[app.status.plan_index]) {
      const item = app.plan[app.status.plan_index];
      if (!ev || (item.exercise === ev.exercise && item.side === ev.side)) return item;
    }
    if (!ev) return app.plan[0] || null;
    return app.plan.find((p) => p.exercise === ev.exercise && p.side === ev.side) || null;
  }

  /** A video file (not a camera or a stream): its end is final, not a cable to check. */
  function sourceIsFile() {
    const src = String((app.status && app.status.source) || "");
    const err = String((app.last && app.last.source_error) || (app.status && app.status.source_error) || "");
    if (/ended|end of/i.test(err)) return true;
    return Boolean(src) && !/^(camera\b|\d+$)/i.test(src) && !/^(rtsp|rtmp|https?):/i.test(src);
  }

  /** The server's reason the picture stopped ("… broke after frame 207 — the file is damaged"). */
  function sourceError() {
    return String((app.last && app.last.source_error) || (app.status && app.status.source_error) || "");
  }

  /** A video file that played to its end (not one that broke part-way). */
  function sourceEnded() {
    const err = sourceError();
    return sourceIsFile() && (!err || /ended|end of/i.test(err));
  }

  /** Passive ROM: the caregiver moves the limb, so the page speaks to them about the patient. The plan's
   * item says so; until the plan has arrived (or when the item is not found in it), the frame event's own
   * ``mode``, from the server that runs the plan: a stop in the first moment of a passive session speaks
   * to the caregiver too. */
  function forHelper() {
    const item = planItemFor(app.last);
    const mode = item ? item.mode : app.last && app.last.mode;
    return mode === "passive";
  }

  /** The whole session was passive ROM (every exercise done or planned): the caregiver reads the end of
   * the session and fills in the check-in for the patient. A mixed plan speaks to the patient there. */
  function caregiverSession() {
    const results = app.order.map((k) => app.results.get(k));
    const modes = results.length ? results.map((r) => r.mode) : app.plan.map((p) => p.mode);
    return modes.length > 0 && modes.every((m) => m === "passive");
  }

  /** Before Start, with the camera check all set: the state line says so too, never "let's get you in position"
   * beside "✓ All set". */
  function inPositionText(helper) {
    const who = helper ? "The patient is" : "You're";
    return app.autoStart ? `${who} in position: starting by itself soon.`
      : `${who} in position: press Start or the space bar.`;
  }

  /** No camera here, and the demo video has not sent a frame yet: the server renders it the first time (about
   * a minute), and the page says so rather than "come into the camera's view" over a black picture. */
  function demoPreparing() {
    return app.demo && !app.lastFrameAt && app.state !== "source_lost" && app.state !== "done";
  }

  /** In the picture and measured, the view not judged yet: a seated or lying patient at rest, whose view is judged
   * once the limb moves — that is, after Start. Nothing to put right before it ("Let's get you in position." said
   * nothing to do), and the camera setup is not read out to a patient already in place. */
  function inPictureUnjudged(ev) {
    return Boolean(ev) && ev.view_ok === null && !ev.missing && num(ev.angle) !== null;
  }

  function stateMessage(ev) {
    const state = app.state;
    const helper = forHelper();
    if (app.connLost) return lostText(helper);
    if (demoPreparing()) return "Getting the demo video ready: the first time takes about a minute.";
    if (state === "positioning") {
      if (ev && ev.view_hint) return cap(ev.view_hint) + ".";
      if (ev && ev.missing) {
        return helper ? `I can't see the patient's ${partName(ev.missing)}. Move the laptop so all of them is in the picture.`
          : `I can't see your ${partName(ev.missing)}. Move the laptop so all of you is in the picture.`;
      }
      const countdown = ev ? num(ev.auto_start_in_s) : null;
      if (!app.started && countdown !== null) return `All set: starting by itself in ${Math.max(1, Math.ceil(countdown))} s.`;
      if (!app.started && app.allSet) return inPositionText(helper);
      if (!app.started && ev && (ev.view_ok === true || inPictureUnjudged(ev))) return app.autoStart ? "Starting by itself once you are in place."
        : "Ready when you are: press Start.";
      return helper ? HELPER_TEXT.positioning : STATE_TEXT.positioning;
    }
    if (state === "source_lost" && sourceIsFile()) {
      const saved = !app.started ? "Nothing was recorded."
        : app.saveProblem ? "Your session is not saved yet: see the message above." : "Your session is saved.";
      return sourceEnded() ? `The video has ended. ${saved}`
        : `The video stopped: ${sourceError() || "it cannot be read further"}. What came before is kept. ${saved}`;
    }
    if (state === "exercising" && !app.started) return app.allSet ? inPositionText(helper) : "Ready when you are: press Start.";
    if (state === "paused" && ev && ev.auto_paused) {
      return helper ? "Paused: nobody in view. I carry on when the patient is back in the picture."
        : "Paused: I can't see you. I carry on when you are back in the picture.";
    }
    if (helper && HELPER_TEXT[state]) return HELPER_TEXT[state];
    if (state === "resting") {
      const next = app.status && Number.isInteger(app.status.plan_index) ? app.plan[app.status.plan_index + 1] : null;
      const left = num(ev && ev.rest_remaining_s);
      const rest = left !== null && left > 0 ? `Rest ${Math.ceil(left)} s.` : "Rest.";
      return next ? `${rest} Next: ${exerciseName(next.exercise, next.exercise_name)}, ${next.side}.` : STATE_TEXT.resting;
    }
    return STATE_TEXT[state] || state;
  }

  function renderEvent(ev) {
    // angle
    const angle = num(ev.angle);
    const node = $("angle");
    node.textContent = deg(angle);
    node.classList.toggle("none", angle === null);
    if (angle === null) delete node.dataset.angle; else node.dataset.angle = angle.toFixed(1);
    node.dataset.zone = ev.zone || "unknown";
    const uncertain = angle !== null && ev.view_ok === false;
    node.classList.toggle("uncertain", uncertain);
    let note = "";
    const helper = forHelper();
    const whose = helper ? "the patient's" : "your";
    if (angle === null && ev.missing) note = helper ? `I can't see the ${partName(ev.missing)}: go by feel` : `I can't see your ${partName(ev.missing)}`;
    else if (angle === null && app.state !== "waiting_for_patient") note = "Not measured";
    else if (uncertain) note = "Rough: " + (ev.view_hint || "the camera sees this from the wrong side");
    else if (ev.zone === "in_target") note = `In ${whose} target range`;
    // past the band's far end, in the direction the exercise works (a knee extension works toward its
    // band's low end: above it, bent, it has not got there yet)
    else if (ev.zone === (works(ev.exercise) === "min" ? "below" : "above_target")) {
      note = works(ev.exercise) === "min" ? "End of the target reached" : "Top of the target reached";
    }
    else if (ev.zone === "above_safe_max") note = helper ? "Past the PT's safe maximum" : "Past your safe limit";
    else if (ev.zone === "below_safe_min") note = helper ? "Past the PT's safe minimum" : "Past your safe limit";
    $("angle-note").textContent = note;
    renderGauge(ev);

    // reps (before Start the detector already runs, but nothing counts yet)
    const rep = shownRep(ev);
    $("reps").textContent = String(rep);
    $("reps").dataset.rep = String(rep);
    $("reps-target").textContent = Number.isInteger(ev.reps_target) && ev.reps_target > 0 ? `/ ${ev.reps_target}` : "";

    // the hold: between holds the goal ("Hold for 2 s"); holding, the time left counting down ("Time left
    // 1.4 s") as the bar fills; done, "Held 2 s" — never the goal beside an empty bar, read as time held
    const holdTarget = num(ev.hold_target_s);
    const holdBox = $("hold-box");
    if (holdTarget && holdTarget > 0) {
      holdBox.hidden = false;
      const held = Math.max(0, num(ev.hold_s) ?? 0);
      const holding = app.state === "holding";
      const left = Math.max(0, holdTarget - held);
      const goal = Number.isInteger(holdTarget) ? String(holdTarget) : holdTarget.toFixed(1);
      const counting = holding && left > 0;
      $("hold-label").textContent = !holding ? "Hold for" : counting ? "Time left" : "Held";
      $("hold").textContent = !counting ? goal : left >= 10 ? String(Math.ceil(left)) : left.toFixed(1);
      holdBox.dataset.active = holding ? "true" : "false";
      $("hold-fill").style.width = `${holding ? Math.min(100, (held / holdTarget) * 100) : 0}%`;
    } else {
      holdBox.hidden = true;
    }

    // title
    const item = planItemFor(ev);
    const name = exerciseName(ev.exercise, item && item.exercise_name);
    if (ev.exercise) $("now-title").textContent = `${name}, ${ev.side || ""}`.replace(/, $/, "");
  }

  function cueId(ev) { return ev.cue_id !== undefined && ev.cue_id !== null ? ev.cue_id : ev.cue; }

  const COUNTDOWN_CUE = /^all set: starting in\b/i;   // the coach's hands-free start (romcam/live/coach.py)

  /** The event's cue when the page has not shown it yet (a new ``cue_id``), else null. */
  function newCue(ev) {
    return ev && ev.cue && cueId(ev) !== app.lastCueId ? ev.cue : null;
  }

  // cues that the page's own sentence in #announce says more fully when both come with one event: the
  // screen reader hears that sentence alone ("Set done. Rest 20 seconds.", "Next: Elbow flexion, left.")
  const SAID_FULLER = [[/rest a moment/i, /\bRest\b/], [/^next:/i, /\bNext:/],
                       [/done for today|all for today/i, /\bDone for today\b/]];

  /** The cue's words are said by another live region, more fully or more urgently: the red stop banner, an
   * alert, appearing in this update; or #announce's sentence (above), written in this update or just before
   * (Stop's status message, which says "Done for today", comes before the frame with its cue). */
  function saidElsewhere(cue) {
    if (isSafetyCue(cue) && app.started && $("safety").hidden) return true;   // renderSafety shows it now
    const said = performance.now() - app.said.at < SAID_RECENT_MS ? app.said.text : "";
    return Boolean(said) && SAID_FULLER.some(([c, s]) => c.test(cue) && s.test(said));
  }

  /** Show (and speak) the event's cue when it is new. ``quiet``: another live region says it in this update
   * (saidElsewhere), so the words are shown but hidden from the screen reader (aria-hidden), heard once. So
   * they are while the voice says them (cueVoiced), unless the voice does not after all (cueUnsaid). */
  function renderCue(ev, quiet) {
    const cue = $("cue");
    const now = performance.now();
    if (newCue(ev) !== null) {
      const id = cueId(ev);
      const voiced = !quiet && cueVoiced();
      app.lastCueId = id;
      app.cueShownAt = now;
      app.cueState = ev.state;
      // the hands-free start's "all set: starting in 5 seconds": the state line already shows it, counting
      // down ("All set: starting by itself in 4 s."); on screen once, there — heard (voice or screen reader) as a cue
      const shownByStateLine = !app.started && COUNTDOWN_CUE.test(ev.cue);
      cue.replaceChildren(el("span", { "aria-hidden": quiet || voiced ? "true" : null,
                                       class: shownByStateLine ? "sr-only" : null }, cap(ev.cue)));
      cue.classList.toggle("long", ev.cue.length > 22);   // a smaller size; the box keeps its height (coach.css)
      cue.dataset.kind = isSafetyCue(ev.cue) ? "stop" : isSlowCue(ev.cue) ? "slow" : "normal";
      // hands-free: guided into place by voice too
      if (app.started || app.autoStart) speakCue(ev.cue, voiced ? () => cueUnsaid(id, ev.cue) : null);
    }
    const stale = now - app.cueShownAt > CUE_SHOW_MS;
    cue.classList.toggle("stale", stale);
    // faded and said in another state ("rest a moment" while the state line says "go ahead"): gone
    if (stale && cue.textContent && ev && ev.state && ev.state !== app.cueState) cue.textContent = "";
  }

  /** The voice did not say the cue ``id`` after all (it waited too long, the voice was turned off or failed):
   * still on screen, its words are written again, for the screen reader this time. */
  function cueUnsaid(id, text) {
    const cue = $("cue");
    if (id !== app.lastCueId || !cue.textContent || !cue.querySelector("[aria-hidden=true]")) return;
    cue.replaceChildren(el("span", { class: cue.firstElementChild ? cue.firstElementChild.className || null : null },
                           cap(text)));
  }

  /** Which of the PT's limits the event says was passed: "max", "min", or null. */
  function limitPassed(ev) {
    if (ev.zone === "above_safe_max") return "max";
    if (ev.zone === "below_safe_min") return "min";
    const fresh = ev.cue && isSafetyCue(ev.cue) && ev.cue_id === app.lastCueId && performance.now() - app.cueShownAt < 500;
    if (!fresh) return null;
    return /ease it back|safe minimum/i.test(ev.cue) ? "min" : "max";
  }

  /** The red banner's words: past the safe maximum, back down; past the safe minimum (over-straightened),
   * ease it back. */
  function safetyWords(limit, helper) {
    if (limit === "min") return "Stop — ease it back";
    return helper ? "Stop — bring it back" : "Stop — come back down";
  }

  function renderSafety(ev) {
    const now = performance.now();
    const passed = app.started && ev ? limitPassed(ev) : null;
    if (passed) {
      app.safetyUntil = now + SAFETY_MIN_MS;
      app.safetyLimit = passed;
    // back within the target: the warning has done its job
    } else if (ev && num(ev.angle) !== null && app.safetyLimit === "max" && num(ev.target_max) !== null
               && works(ev.exercise) === "max" && ev.angle <= ev.target_max) {
      app.safetyUntil = 0;
    } else if (ev && num(ev.angle) !== null && app.safetyLimit === "min" && num(ev.target_min) !== null
               && ev.angle >= ev.target_min) {
      app.safetyUntil = 0;
    }
    const banner = $("safety");
    const show = now < app.safetyUntil;
    if (show) {
      const words = safetyWords(app.safetyLimit, forHelper());
      if ($("safety-text").textContent !== words) $("safety-text").textContent = words;
      // the alert is what a screen reader hears of a stop (the cue is hidden from it then): to a caregiver
      // it also says why, as the spoken cue does ("stop: this is the PT's safe maximum")
      const why = forHelper() ? `: this is the PT's safe ${app.safetyLimit === "min" ? "minimum" : "maximum"}` : "";
      if ($("safety-why").textContent !== why) $("safety-why").textContent = why;
      banner.dataset.limit = app.safetyLimit;
    }
    if (show && banner.hidden) {
      banner.hidden = false;
      // it lies just above the readout: a window scrolled past it (a phone, scrolled down to the number)
      // brings it into view, with the readout under it
      const r = banner.getBoundingClientRect();
      if (r.top < 0 || r.bottom > window.innerHeight) banner.scrollIntoView({ block: "start" });
    } else if (!show) {
      banner.hidden = true;
    }
  }

  // ---- what a screen reader is told ---------------------------------------------------------------

  function seconds(n) { return `${n} second${n === 1 ? "" : "s"}`; }

  /** The reps the patient has done in this set: none before Start (the demo loops, and a count that drops
   * to 0 when Start is pressed reads as reps lost). */
  function shownRep(ev) {
    return ev.started !== false && Number.isInteger(ev.rep) ? ev.rep : 0;
  }

  /** The sentence for entering ``state`` from ``before``; empty when there is nothing worth saying
   * (back from a hold to moving: the rep that follows is what counts). */
  function stateSentence(state, before, ev) {
    const helper = forHelper();
    if (state === "waiting_for_patient") return helper ? HELPER_TEXT.waiting_for_patient : STATE_TEXT.waiting_for_patient;
    if (state === "positioning") return helper ? HELPER_TEXT.positioning : STATE_TEXT.positioning;
    if (state === "exercising") {
      if (!app.started) return "Ready when you are: press Start.";
      if (before === "holding") return "";
      return helper ? HELPER_TEXT.exercising : STATE_TEXT.exercising;
    }
    if (state === "holding") {
      const hold = num(ev.hold_target_s);
      return hold && hold > 0 ? `Hold ${seconds(Math.round(hold))}.` : "Hold.";
    }
    if (state === "resting") {
      const left = num(ev.rest_remaining_s);
      const target = Number.isInteger(ev.reps_target) ? ev.reps_target : 0;
      const setDone = target > 0 && Number.isInteger(ev.rep) && ev.rep >= target;
      return (setDone ? "Set done. " : "") + (left !== null && left > 0 ? `Rest ${seconds(Math.ceil(left))}.` : "Rest.");
    }
    if (state === "paused") {
      if (!ev.auto_paused) return "Paused.";
      return helper ? "Paused: nobody in view." : "Paused: I can't see you.";
    }
    if (state === "done") return STATE_TEXT.done;
    if (state === "source_lost") {
      if (!sourceIsFile()) return STATE_TEXT.source_lost;
      return sourceEnded() ? "The video has ended." : "The video stopped.";
    }
    return "";
  }

  /** One short sentence in the polite live region #announce, written only when the state, the rep
   * count or the exercise changes — never on every frame, unlike the readout. ``ev``: a frame event,
   * or a status message for the states no frame may follow (done, source_lost); ``cue``: the new cue this
   * event brings, if any. Entering a hold, the server's cue says "hold" in that same event: a screen
   * reader hears it there, once, and not again here; a cue the sentence says more fully (a rest, the next
   * exercise) is hidden from the screen reader instead (saidElsewhere, renderCue). */
  function announce(ev, cue) {
    const said = app.said;
    const state = ev.state || said.state;
    const index = Number.isInteger(ev.plan_index) ? ev.plan_index
      : app.status && Number.isInteger(app.status.plan_index) ? app.status.plan_index : said.index;
    const rep = "rep" in ev ? shownRep(ev) : said.rep;
    const parts = [];
    const first = !said.seen;   // a page opened mid-session says the state, not the reps already done
    said.seen = true;
    if (!first && Number.isInteger(said.index) && index !== said.index) {
      const item = Number.isInteger(index) ? app.plan[index] : null;
      if (item) parts.push(`Next: ${exerciseName(item.exercise, item.exercise_name)}, ${item.side}.`);
    } else if (!first && rep > said.rep) {
      const target = Number.isInteger(ev.reps_target) && ev.reps_target > 0 ? ev.reps_target : null;
      // one or the other, never both ("3 of 10. Rep 3 of 10." to a screen reader): the voice when it is on,
      // else the live region (a screen reader's user mutes the voice, and then hears the count here)
      if (countSpoken()) speakCount(target ? `${rep} of ${target}.` : `${rep}.`);
      else parts.push(target ? `Rep ${rep} of ${target}.` : `Rep ${rep}.`);
    }
    const heldByCue = state === "holding" && typeof cue === "string" && /\bhold\b/i.test(cue);
    if (state !== said.state && !heldByCue) parts.push(stateSentence(state, said.state, ev));
    said.state = state;
    said.rep = rep;
    said.index = index ?? said.index;
    sayPolitely(parts.filter(Boolean).join(" "));
  }

  /** Write ``text`` in the polite live region #announce, unless it is the sentence said there last, less than
   * ANNOUNCE_SAME_MS ago. */
  function sayPolitely(text) {
    const said = app.said;
    const now = performance.now();
    if (!text || (text === said.text && now - said.at < ANNOUNCE_SAME_MS)) return;
    said.text = text;
    said.at = now;
    $("announce").textContent = text;
  }

  // ---- first-run check ----------------------------------------------------------------------------

  function setCheck(id, ok, detail) {
    const li = $(id);
    li.dataset.ok = ok === null ? "pending" : ok ? "yes" : "no";
    li.querySelector(".check-detail").textContent = detail;
  }

  function renderChecks() {
    const ev = app.last;
    const helper = forHelper();
    // the label with its detail: frames may come before the plan (renderPlan sets it too), and a caregiver read
    // "All of you in the picture" over "Move the laptop until the camera sees the patient"
    setText($("check-inview").querySelector(".check-label"),
            helper ? "All of the patient in the picture" : "All of you in the picture");
    const fresh = ev && performance.now() - app.lastFrameAt < STALE_FRAME_MS;
    const lost = app.state === "source_lost";
    if (lost && sourceEnded()) setCheck("check-camera", false, "The video has ended.");
    else if (lost) {   // the server's own words when it has them (a camera unplugged, a demo video it cannot write)
      const why = String((ev && ev.source_error) || (app.status && app.status.source_error) || "");
      setCheck("check-camera", false, why ? cap(why) : "No picture: check that the camera is plugged in and not covered.");
    }
    else if (app.videoOk === false) setCheck("check-camera", false, "The video cannot be shown here.");
    else if (fresh) setCheck("check-camera", true, app.demo ? "Playing the demo video" : "On");
    else setCheck("check-camera", null, demoPreparing() ? "Getting the demo video ready…" : "Waiting for the camera…");

    if (!fresh || lost) {
      const wait = lost ? "No picture" : "Waiting…";
      setCheck("check-inview", null, wait);
      setCheck("check-view", null, wait);
      setCheck("check-light", null, wait);
    } else if (ev.state === "waiting_for_patient") {
      setCheck("check-inview", false, helper ? "I can't see anyone yet. Move the laptop until the camera sees the patient."
        : "I can't see anyone yet. Move the laptop until the camera sees you.");
      setCheck("check-view", null, "Waiting…");
      setCheck("check-light", null, "Waiting…");
    } else {
      if (ev.missing) {
        setCheck("check-inview", false, `I can't see ${helper ? "the patient's" : "your"} ${partName(ev.missing)}: move the laptop further back or to the side.`);
      } else {
        setCheck("check-inview", true, "Yes");
      }
      if (ev.view_ok === false) setCheck("check-view", false, cap(ev.view_hint || "turn so the camera sees the moving side"));
      else if (ev.view_ok === true) setCheck("check-view", true, "Yes");
      else setCheck("check-view", null, "Checking…");   // not judged yet: an earlier "yes" is not today's
      const conf = app.confidences;
      const light = app.lights.length ? app.lights.reduce((a, b) => a + b, 0) / app.lights.length : null;
      if (light !== null && light < LIGHT_MIN) {
        setCheck("check-light", false, helper ? "Too dark: turn on a light in front of the patient, not behind them."
          : "Too dark: turn on a light in front of you, not behind you.");
      } else if (conf.length >= 5) {
        const mean = conf.reduce((a, b) => a + b, 0) / conf.length;
        if (mean >= LIGHT_OK) setCheck("check-light", true, "Yes");
        else setCheck("check-light", false, helper ? "I can't see the patient clearly: more light in front of them, not behind them."
          : "I can't see you clearly: more light in front of you, not behind you.");
      }
    }
    const all = ["check-camera", "check-inview", "check-view", "check-light"].every((id) => $(id).dataset.ok === "yes");
    const now = performance.now();
    if (!all) app.allOkSince = null;
    else if (app.allOkSince === null) app.allOkSince = now;
    $("check").dataset.allOk = all ? "true" : "false";
    // once all is well for a moment, fold the list to one line; unfold the moment anything is wrong
    $("check").dataset.collapsed = all && now - app.allOkSince > 2000 ? "true" : "false";
    $("check-summary").textContent = all ? "✓ All set" : "";
    if (all !== app.allSet) {   // the state line before Start says the same (inPositionText)
      app.allSet = all;
      $("state-msg").textContent = stateMessage(app.last);
      // and a screen reader hears it: the state's own sentence ("Let's get you in position") was its last word
      if (all && !app.started && app.state === "positioning") sayPolitely(inPositionText(helper));
    }
    renderAdvice(lost, helper);
  }

  /** How to get into the picture ("move the laptop, not yourself"), the check's advice under the list. */
  function positionAdvice(helper) {
    return helper
      ? ["In a chair or in bed? ", el("strong", {}, "Move the laptop, not the patient"), ", until all of them is in the picture."]
      : ["In a chair or in bed? ", el("strong", {}, "Move the laptop, not yourself"), ", until all of you is in the picture."];
  }

  /** What to do once the picture has ended or stopped: no place of the laptop brings it back. */
  function lostAdvice() {
    if (sourceIsFile()) {
      const what = sourceEnded() ? "The video has ended" : "The video stopped";
      if (app.started) return `${what}, so nothing more is measured. Press “See today's summary” to see what was done.`;
      return sourceEnded() ? `${what}, so there is nothing to measure. To exercise, start romcam again with the camera.`
        : `${what}, so there is nothing to measure: the camera line above says why.`;
    }
    // a camera unplugged, a demo video that cannot be written: the server's words above say what to do
    const kept = app.started ? " (the session so far is kept)" : "";
    return sourceError() ? `No picture, so nothing is measured now${kept}: the camera line above says what to do.`
      : `No picture, so nothing is measured now${kept}: check that the camera is plugged in, not covered and not used by another program.`;
  }

  /** The advice under the camera check: getting into the picture, or, once the picture has ended or
   * stopped, that — and what to do about it. Rewritten only when its words change. */
  function renderAdvice(lost, helper) {
    const node = $("check-advice");
    const key = lost ? `lost:${lostAdvice()}` : `position:${helper}`;
    if (node.dataset.key === key) return;
    node.dataset.key = key;
    if (lost) node.replaceChildren(el("strong", {}, lostAdvice()));
    else node.replaceChildren(...positionAdvice(helper));
  }

  // ---- the session's results, for the summary ------------------------------------------------------

  function track(ev) {
    if (!ev.exercise || !app.started) return;
    const key = `${ev.exercise}|${ev.side || ""}`;
    let r = app.results.get(key);
    if (!r) {
      const item = planItemFor(ev);
      r = { exercise: ev.exercise, side: ev.side, mode: ev.mode, name: exerciseName(ev.exercise, item && item.exercise_name),
            target_min: null, target_max: null, safe_max: null, safe_min: null, reps_target: null, reps: 0, setBase: 0, lastRep: 0,
            low: null, high: null };
      app.results.set(key, r);
      app.order.push(key);
    }
    for (const f of ["target_min", "target_max", "safe_max", "safe_min", "reps_target"]) if (ev[f] !== null && ev[f] !== undefined) r[f] = ev[f];
    const angle = num(ev.angle);
    if (angle !== null && ev.view_ok !== false && (ev.state === "exercising" || ev.state === "holding")) {
      r.low = r.low === null ? angle : Math.min(r.low, angle);
      r.high = r.high === null ? angle : Math.max(r.high, angle);
    }
    if (Number.isInteger(ev.rep)) {
      if (ev.rep < r.lastRep) r.setBase += r.lastRep;   // a new set of the same exercise
      r.lastRep = ev.rep;
      r.reps = r.setBase + ev.rep;
    }
  }

  async function storedResults() {
    const id = app.status && (app.status.session_id || app.status.last_session_id);
    if (!id) return null;
    try {
      const doc = await api(`/api/sessions/${encodeURIComponent(id)}`);
      if (!doc || !Array.isArray(doc.sets)) return null;
      return doc.sets;
    } catch (err) {
      return null;
    }
  }

  function summaryItem(r) {
    const best = works(r.exercise) === "min" ? r.low : r.high;
    const lines = [];
    const praise = [];
    const target = r.reps_target;
    // passive ROM: the caregiver moved the patient's limb and reads this, about the patient
    const helper = r.mode === "passive";
    const whose = helper ? "the patient's" : "your";
    if (r.reps > 0) {
      praise.push(target && r.reps >= target ? `All ${r.reps} reps done!` : `${r.reps} rep${r.reps === 1 ? "" : "s"} done.`);
    } else {
      lines.push(helper ? "Every movement keeps the joint moving, even with no full repetition counted."
        : "You gave it a go — every movement keeps the joint moving.");
    }
    if (best !== null) {
      const tmin = num(r.target_min), tmax = num(r.target_max);
      // a movement whose far end the camera lost (a hand over the joint): its angle is how far it got at least
      let text = `${cap(whose)} best${r.unseen ? " seen" : ""}: ${Math.round(best)}°`;
      if (tmin !== null || tmax !== null) {
        const band = `${tmin ?? "…"}°–${tmax ?? "…"}°`;
        const min = works(r.exercise) === "min";
        const reached = min ? tmax === null || best <= tmax : tmin === null || best >= tmin;
        const beyond = min ? tmin !== null && best < tmin : tmax !== null && best > tmax;
        const [subject, their] = helper ? ["The patient", "their"] : ["You", "your"];
        // past the band's far end is fine, and said as it is, with how far (not "reached the top" of a band
        // it went far past); past the PT's safe limit at that end too, the line about the limit below says so
        const past = beyond ? Math.round(min ? tmin - best : best - tmax) : 0;
        const unsafe = min ? num(r.safe_min) !== null && (r.bottom ?? r.low) < r.safe_min
          : num(r.safe_max) !== null && (r.top ?? r.high) > r.safe_max;
        if (reached && !beyond) praise.push(`${subject} reached ${their} target range (${band}).`);
        else if (beyond && past >= 1 && !unsafe) {
          praise.push(`${subject} went ${past}° past the ${min ? "bottom" : "top"} of ${their} target range (${band}).`);
        } else if (beyond) praise.push(`${subject} reached the ${min ? "bottom" : "top"} of ${their} target range (${band}).`);
        else if (!r.unseen) {
          text += helper ? ` (the therapist's target: ${band}; they will see what was done today)`
            : ` (your therapist's target: ${band}; they will see what you did today)`;
        }
        // the PT's limits guard both ends, whichever the exercise works: a knee extension rests bent, so its
        // safe maximum guards where each repetition starts and ends. Judged on the whole set (r.top, r.bottom:
        // a bend past it at rest, between or before repetitions, counts too), not only on the best.
        const top = r.top ?? r.high, bottom = r.bottom ?? r.low;
        const safe = num(r.safe_max);
        if (safe !== null && top !== null && top > safe) {
          const next = min ? `bend it back no further than ${Math.round(safe)}° between repetitions`
            : "stop at the top of the target";
          lines.push(helper
            ? `Once the movement went past the PT's safe maximum of ${Math.round(safe)}°: next time, ${next}.`
            : `Once you went past your safe limit of ${Math.round(safe)}°: next time, ${next}.`);
        }
        const safeMin = num(r.safe_min);
        if (safeMin !== null && bottom !== null && bottom < safeMin) {
          const next = min ? "stop at the bottom of the target"
            : `bring it back no further than ${Math.round(safeMin)}° between repetitions`;
          lines.push(helper
            ? `Once the movement went past the PT's safe minimum of ${Math.round(safeMin)}°: next time, ${next}.`
            : `Once you went past your safe limit of ${Math.round(safeMin)}°: next time, ${next}.`);
        }
      } else if (r.low !== null && r.high !== null) {
        text += ` — measured from ${Math.round(r.low)}° to ${Math.round(r.high)}°`;
      }
      lines.push(text + ".");
      if (r.unseen) {
        lines.push(helper
          ? "The camera lost sight of the joint at the end of a movement, so it may have gone further than this. Keep the whole limb in view, with your hands off the joint, on the side away from the camera."
          : "The camera lost sight of the joint at the end of a movement, so you may have gone further than this. Keep the whole limb in view, with no hand over the joint.");
      }
    }
    return el("li", { dataset: { exercise: r.exercise, side: r.side || "" } },
      el("span", { class: "sum-name" }, `${r.name}, ${r.side || ""}`.replace(/, $/, "")),
      praise.length ? el("p", { class: "sum-line sum-praise" }, praise.join(" ")) : null,
      lines.map((l) => el("p", { class: "sum-line" }, l)));
  }

  async function showEnd() {
    if (app.summaryShown) return;
    app.summaryShown = true;
    const sets = await storedResults();
    if (sets && sets.length) {
      // the stored sets are the authority (the offline filter over each set): use their reps and peaks
      const seen = new Set();
      for (const s of sets) {
        const key = `${s.exercise}|${s.side || ""}`;
        let r = app.results.get(key);
        if (!r) {
          r = { exercise: s.exercise, side: s.side, mode: s.mode, name: exerciseName(s.exercise, s.exercise_name), reps: 0,
                target_min: null, target_max: null, safe_max: null, safe_min: null, reps_target: null, low: null, high: null };
          app.results.set(key, r);
          app.order.push(key);
        }
        if (!seen.has(key)) {
          seen.add(key);
          r.live = { reps: r.reps, high: r.high, low: r.low };
          r.reps = 0; r.high = null; r.low = null; r.top = null; r.bottom = null; r.unseen = false;
        }
        const reps = Array.isArray(s.reps) ? s.reps : [];
        r.reps += reps.filter((x) => !x.partial).length;
        if (reps.some((x) => x.peak_seen === false)) r.unseen = true;
        const maxes = reps.map((x) => num(x.max_angle)).filter((v) => v !== null);
        const mins = reps.map((x) => num(x.min_angle)).filter((v) => v !== null);
        if (maxes.length) r.high = Math.max(r.high ?? -Infinity, ...maxes);
        if (mins.length) r.low = Math.min(r.low ?? Infinity, ...mins);
        // the set's own extremes take in what was measured between and around its reps (a knee extension
        // resting bent): what the PT's safe limits are checked against
        const tops = [num(s.max_angle), ...maxes].filter((v) => v !== null);
        const bottoms = [num(s.min_angle), ...mins].filter((v) => v !== null);
        if (tops.length) r.top = Math.max(r.top ?? -Infinity, ...tops);
        if (bottoms.length) r.bottom = Math.min(r.bottom ?? Infinity, ...bottoms);
        for (const f of ["target_min", "target_max", "safe_max", "safe_min"]) if (num(s[f]) !== null) r[f] = s[f];
      }
      // a set still being written may lag the live count: never show fewer reps than were seen
      for (const key of seen) {
        const r = app.results.get(key);
        r.reps = Math.max(r.reps, r.live.reps || 0);
        if (r.high === null) r.high = r.live.high;
        if (r.low === null) r.low = r.live.low;
        if (r.top === null) r.top = r.live.high;
        if (r.bottom === null) r.bottom = r.live.low;
      }
    }
    const results = app.order.map((k) => app.results.get(k));
    const total = results.reduce((a, r) => a + (r.reps || 0), 0);
    $("summary").replaceChildren(...results.map(summaryItem));
    const helper = caregiverSession();
    const across = results.length > 1 ? ` across ${results.length} exercises` : "";
    $("end-lead").textContent = total > 0
      ? (helper ? `${total} rep${total === 1 ? "" : "s"} done with the patient today${across}.`
        : `You did ${total} rep${total === 1 ? "" : "s"} today${across}.`)
      : helper ? "Thank you both for today. Any movement helps." : "Thank you for showing up today. Any movement helps.";
    // the caregiver fills in the check-in for the patient
    if (helper) $("checkin-title").textContent = "How is the patient feeling? Ask them, and choose their answers.";
    app.checkinGoes = await checkinDestination();
    const words = checkinWords(app.checkinGoes, helper);
    $("end-note").textContent = words.note;
    $("checkin-where").textContent = words.where;
    $("checkin-where").hidden = !words.where;
    $("checkin-send").textContent = words.button;
    $("checkin").dataset.goes = app.checkinGoes.kind;
    $("live").hidden = true;
    $("plan").hidden = true;
    $("end").hidden = false;
    $("end-title").focus();
  }

  // ---- the check-in --------------------------------------------------------------------------------

  /** Where the check-in (and the session) really goes, so the button says it: the demo video's is a try-out
   * (never counted, never sent); linked to a clinic with the patient's consent, to the therapist; linked
   * without it, kept here until they agree; unlinked, kept on this laptop only (GET /api/link/status). */
  async function checkinDestination() {
    if (app.demo) return { kind: "demo" };
    let link = null;
    try { link = await api("/api/link/status"); } catch (err) { link = null; }
    if (!link || !link.linked) return { kind: "laptop" };
    return { kind: link.consent ? "therapist" : "waiting", clinic: link.clinic || "the clinic" };
  }

  /** The end's note, the line under the check-in and its button, for where it goes and who fills it in. */
  function checkinWords(goes, helper) {
    const your = helper ? "the" : "your";
    const nothingMore = "A day with less movement is useful information, nothing more.";
    if (goes.kind === "demo") {
      return { note: `This was the demo video: nothing from it is added to ${helper ? "the patient's" : "your"} progress.`,
               where: "A try-out: nothing from it is counted or sent to anyone.",
               button: "Finish (a try-out)", thanks: "Thank you — that was a try-out: nothing is counted or sent." };
    }
    if (goes.kind === "therapist") {
      return { note: `${helper ? "The" : "Your"} therapist sees these numbers. A day with less movement is useful `
                 + "information for them, nothing more.", where: "",
               button: `Send to ${helper ? "the" : "my"} therapist`, thanks: `Thank you — saved for ${your} therapist.` };
    }
    if (goes.kind === "waiting") {
      return { note: `These numbers are kept on this laptop. ${nothingMore}`,
               where: `Kept on this laptop until ${helper ? "the patient agrees" : "you agree"} to share results with ${goes.clinic}.`,
               button: "Save", thanks: "Thank you — saved on this laptop." };
    }
    return { note: `These numbers are kept on this laptop. ${nothingMore}`,
             where: `Kept on this laptop only: ${your} therapist sees it if they look at this laptop's dashboard.`,
             button: "Save", thanks: "Thank you — saved on this laptop." };
  }

  function buildCheckin() {
    for (const field of ["pain", "tiredness"]) {
      const box = document.querySelector(`fieldset[data-field=${field}] .scale`);
      for (let v = 0; v <= 10; v++) {
        box.append(el("button", { type: "button", class: "choice", "aria-pressed": "false", dataset: { value: String(v) } }, String(v)));
      }
    }
    document.querySelectorAll("fieldset.scale-set").forEach((set) => {
      set.addEventListener("click", (e) => {
        const button = e.target.closest("button.choice");
        if (!button || app.checkinSent) return;
        const field = set.dataset.field;
        set.querySelectorAll("button.choice").forEach((b) => b.setAttribute("aria-pressed", b === button ? "true" : "false"));
        app.checkin[field] = field === "cramps" ? button.dataset.value === "true" : Number(button.dataset.value);
      });
    });
    $("checkin").addEventListener("submit", async (e) => {
      e.preventDefault();
      const msg = $("checkin-msg");
      const missing = Object.entries(app.checkin).filter(([, v]) => v === null).map(([k]) => k);
      if (missing.length) {
        msg.dataset.kind = "error";
        msg.textContent = `Please choose: ${missing.join(", ")}.`;
        return;
      }
      $("checkin-send").disabled = true;
      try {
        await api("/live/checkin", { json: { ...app.checkin } });
        app.checkinSent = true;
        msg.dataset.kind = "ok";
        msg.textContent = checkinWords(app.checkinGoes || { kind: "laptop" }, caregiverSession()).thanks;
        if (app.speechUnlocked) utter("Thank you. See you next time.", false);
      } catch (err) {
        $("checkin-send").disabled = false;
        msg.dataset.kind = "error";
        msg.textContent = `Not saved: ${err.message}`;
      }
    });
  }

  // ---- who is measured: the caregiver taps the patient ----------------------------------------------

  /** Where the picture is drawn inside the <img> (object-fit: contain leaves bars around it). */
  function pictureRect(img) {
    const r = img.getBoundingClientRect();
    const nw = img.naturalWidth || img.width || 640;
    const nh = img.naturalHeight || img.height || 480;
    const scale = Math.min(r.width / nw, r.height / nh);
    const w = nw * scale, h = nh * scale;
    return { left: r.left + (r.width - w) / 2, top: r.top + (r.height - h) / 2, width: w, height: h,
             offsetX: (r.width - w) / 2, offsetY: (r.height - h) / 2 };
  }

  function setSubjectLine(kind, text) {
    const line = $("subject-line");
    line.dataset.kind = kind;
    setText(line, text);
    line.hidden = !text;
  }

  async function chooseSubject(e) {
    const img = $("video");
    const box = pictureRect(img);
    const x = (e.clientX - box.left) / box.width;
    const y = (e.clientY - box.top) / box.height;
    if (!(x >= 0 && x <= 1 && y >= 0 && y <= 1)) return;
    lockAt(x, y);
  }

  /** Follow the person at (x, y), normalized image coordinates: a tap there. */
  function lockAt(x, y) {
    lockOn({ x: Number(x.toFixed(4)), y: Number(y.toFixed(4)) }, null);
  }

  /** Follow ``choice``: ``{x, y}`` (a tap) or ``{person}`` (a button naming where the person is, "on the
   * left", which posts their id: the server follows that person, wherever they have moved since). */
  async function lockOn(choice, where) {
    unlockSpeech();
    app.lockClick = { ...choice, at: performance.now(), where };
    app.lockAnnounced = "";
    setSubjectLine("looking", where ? `Looking for the person ${where}…` : "Looking for the person you tapped…");
    try {
      const status = await api("/live/subject", { json: choice });
      showError("");
      renderSubject(status);
    } catch (err) {
      app.lockClick = null;
      setSubjectLine("choose", "");
      showError(`That did not work: ${err.message}`);
    }
  }

  /** Where the n-th of ``count`` people (left to right in the picture) is, in words. */
  function whereWords(i, count) {
    if (i === 0) return "on the left";
    if (i === count - 1) return "on the right";
    if (count === 3) return "in the middle";
    return `${i + 1}${["th", "st", "nd", "rd"][i + 1] || "th"} from the left`;
  }

  /** With two or more people in view: a button for each, left to right, that chooses them as a tap on
   * them would (for a keyboard or a switch). The buttons stay while the count stays (a focused one is
   * never replaced under the user), and hide 3 s after only one person is in view. */
  function renderPicker(subject) {
    const now = performance.now();
    const persons = subject && Array.isArray(subject.persons) ? subject.persons : null;   // a frame's view
    if (persons && persons.length >= 2) { app.persons = persons; app.personsAt = now; }
    const group = $("subject-pick");
    const list = app.persons && now - app.personsAt < 3000 ? app.persons : null;
    if (!list) { group.hidden = true; return; }
    const holder = $("subject-pick-buttons");
    if (holder.children.length !== list.length) {
      holder.replaceChildren(...list.map((_, i) => {
        const where = whereWords(i, list.length);
        const button = el("button", { type: "button", "aria-pressed": "false", dataset: { where } }, `Patient is ${where}`);
        button.addEventListener("click", () => {
          const p = app.persons && app.persons[i];
          if (p && Number.isInteger(p.id)) lockOn({ person: p.id }, where);
          else if (p && Array.isArray(p.at)) lockOn({ x: p.at[0], y: p.at[1] }, where);  // a duplicate: no id
        });
        return button;
      }));
    }
    const locked = Boolean(subject && subject.locked);
    list.forEach((p, i) => {
      const pressed = locked && p.measured ? "true" : "false";
      const button = holder.children[i];
      if (button.getAttribute("aria-pressed") !== pressed) button.setAttribute("aria-pressed", pressed);
    });
    group.hidden = false;
  }

  /** The green "Patient" frame over the picture where the video draws its own: the event's box (the
   * server's, normalized to the picture) scaled to the picture as shown — letterboxed by object-fit:
   * contain — with the frame's border centred on the box's edge, as the video's line is. Placed again
   * whenever the picture's size changes (the window, the layout), not only with the next event. */
  function placeSubjectBox() {
    const marker = $("subject-box");
    const box = app.subjectBox;
    const img = $("video");
    if (!box || img.clientWidth <= 0) { marker.hidden = true; return; }
    const pic = pictureRect(img);
    const half = (parseFloat(getComputedStyle(marker).borderTopWidth) || 0) / 2;
    marker.style.left = `${pic.offsetX + box[0] * pic.width - half}px`;
    marker.style.top = `${pic.offsetY + box[1] * pic.height - half}px`;
    marker.style.width = `${Math.max(8, (box[2] - box[0]) * pic.width + 2 * half)}px`;
    marker.style.height = `${Math.max(8, (box[3] - box[1]) * pic.height + 2 * half)}px`;
    marker.hidden = false;
  }

  function renderSubject(subject) {
    const marker = $("subject-box");
    if (subject && Array.isArray(subject.persons)) renderPicker(subject);
    if (!subject) { app.subjectBox = null; marker.hidden = true; renderPicker(null); return; }
    const people = Number.isInteger(subject.people) ? subject.people : 0;
    const box = Array.isArray(subject.box) && subject.box.length === 4 ? subject.box : null;
    // two people seen in the last 3 s still count: the pose model misses the second person now and then,
    // and the line must not flicker away between frames
    if (people >= 2) app.severalSeenAt = performance.now();
    // a helper expected (passive, assisted) and one person found whom nothing marks as the patient (both may
    // stand): that may be the helper while the model misses the patient, so the page asks as for two people
    const unsure = subject.expected >= 2 && subject.locked && !subject.confirmed;
    const several = people >= 2 || unsure || app.lockClick !== null
      || (app.severalSeenAt !== undefined && performance.now() - app.severalSeenAt < 3000);
    app.subjectBox = box && subject.locked && several ? box : null;
    placeSubjectBox();
    // the lock on the person or point chosen last (events still naming an earlier choice say nothing new)
    const click = app.lockClick;
    const point = String(subject.selector || "").split(",").map(Number);
    const tapped = click !== null && (Number.isInteger(click.person)
      ? subject.selector === `person ${click.person}`
      : point.length === 2 && Math.abs(point[0] - click.x) < 2e-3 && Math.abs(point[1] - click.y) < 2e-3);
    const who = app.lockClick && app.lockClick.where ? `the person ${app.lockClick.where}` : "the person you tapped";
    if (subject.locked && subject.confirmed && tapped) {
      const text = `Got it: I'm measuring ${who} (green frame).`;
      setSubjectLine("locked", text);
      if (app.lockAnnounced !== subject.selector) {
        app.lockAnnounced = subject.selector;
        utter(`Got it. I'm measuring ${who}.`, true);
      }
    } else if (app.lockClick && !subject.locked) {
      setSubjectLine("looking", app.lockClick.where ? `Looking for ${who}…` : "Looking for the person you tapped… tap on their body.");
    } else if (several && !subject.locked) {
      setSubjectLine("choose", "Two people in view: tap the patient on the picture, or choose below.");
    } else if (several && !subject.confirmed) {
      setSubjectLine("choose", "Measuring the person in the green frame. Not the patient? Tap the patient.");
    } else if (several) {
      setSubjectLine("locked", "Measuring the patient in the green frame. Tap someone else to change.");
    } else {
      setSubjectLine("none", "");
    }
  }

  /** The camera setup for a seated or lying patient (romcam/data/setup.toml), shown before Start. */
  function setupText(item) {
    if (!item || !item.setup) return "";
    const s = item.setup;
    return item.mode === "passive" || item.mode === "active_assisted" ? `${s.text} Helper: ${s.helper}.` : s.text;
  }

  // ---- state and controls --------------------------------------------------------------------------

  function setState(state) {
    if (!state || state === app.state) return;
    app.state = state;
    document.body.dataset.state = state;
    if (state === "done") showEnd();
    if (state === "source_lost") {
      reloadVideo(3000);
      // mid-session the patient (or the helper) may not be looking at the screen: nothing is measured now
      if (app.started) {
        utter(!sourceIsFile() ? STATE_TEXT.source_lost : sourceEnded() ? "The video has ended." : "The video stopped.", true);
      }
    }
  }

  function renderControls() {
    const primary = $("primary");
    const state = app.state;
    if (!app.started) primary.textContent = "Start";
    else if (state === "paused") primary.textContent = "Resume";
    else if (state === "source_lost" && sourceIsFile()) primary.textContent = "See today's summary";
    else primary.textContent = "Pause";
    // lost contact: a press could only fail (the page reconnects by itself and enables them again)
    const off = app.busy || app.connLost;
    primary.disabled = off || state === "done";
    const running = app.started && state !== "done";
    $("rest").disabled = off || !running || state === "resting";
    $("next").disabled = off || !running;
    $("finish").disabled = off || !running;
    const armed = performance.now() < app.finishArmedUntil;
    $("finish").dataset.armed = armed ? "true" : "false";
    $("finish").textContent = armed ? "Press again to finish" : "Finish for today";
    document.body.dataset.started = app.started ? "true" : "false";
    $("state-msg").textContent = stateMessage(app.last);
    // hands-free, or a session running, with no gesture yet on this page (reloaded, or opened by a helper):
    // speech is not allowed, so the cues would be silent
    if (!app.keepLayout) {
      $("voice-locked").hidden = !((app.autoStart || (app.started && app.state !== "done")) && !app.speechUnlocked
        && !app.muted && synth);
    }
    const msg = $("video-msg");
    if (app.connLost) {   // the picture on screen is the last one the server sent
      msg.hidden = false;
      msg.textContent = "No contact with the coach";
    } else if (state === "paused" || state === "source_lost" || state === "waiting_for_patient") {
      msg.hidden = false;
      msg.textContent = state === "paused" ? (app.last && app.last.auto_paused ? "Nobody in view" : "Paused")
        : state === "source_lost" ? "No picture" : demoPreparing() ? "Getting the demo video ready…" : "Nobody in view";
    } else {
      msg.hidden = true;
    }
  }

  async function post(path, after) {
    if (app.busy) return false;
    app.busy = true;
    renderControls();
    try {
      const body = await api(path, { method: "POST" });
      showError("");
      if (after) after(body);
      if (body && typeof body === "object" && body.state) applyStatus(body);
      return true;
    } catch (err) {
      showError(`That did not work: ${err.message}`);
      return false;
    } finally {
      app.busy = false;
      renderControls();
    }
  }

  function primaryAction() {
    const item = planItemFor(app.last);
    // the camera setup with the greeting while the camera is in the wrong place, or the patient not all in it
    const placed = app.last && (app.last.view_ok === true || inPictureUnjudged(app.last));
    const setup = item && item.setup && !placed ? ` ${item.setup.text}` : "";
    unlockSpeech(app.started ? null : `Let's begin.${setup}`);
    if (!app.started) {
      post("/live/start", () => { app.started = true; refreshStatus(); });
    } else if (app.state === "paused") {
      post("/live/resume");
    } else if (app.state === "source_lost" && sourceIsFile()) {
      finishNow();
    } else if (app.state !== "done") {
      post("/live/pause");
    }
  }

  // ---- hands-free start ------------------------------------------------------------------------------

  function renderAutoStart(on) {
    app.autoStart = on;
    const button = $("auto-start");
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.querySelector(".toggle-text").textContent = on ? "Start by itself: on" : "Start by itself: off";
    // this browser asked for it (a patient who cannot reach the laptop each day): a server that says otherwise
    // was restarted, so ask it again — each time (read from storage: another tab may have changed it)
    const wanted = readAutoStart();
    if (wanted !== null && wanted !== on && !app.autoStartAsking) {
      app.autoStartAsking = true;
      setAutoStart(wanted).finally(() => { app.autoStartAsking = false; });
    }
  }

  /** Turn hands-free start on or off, on the server (it counts down and starts) and in this browser. */
  async function setAutoStart(on) {
    try { window.localStorage.setItem("romcam.coach.autostart", on ? "1" : "0"); } catch (err) { /* ignore */ }
    try {
      const status = await api("/live/auto_start", { json: { on } });
      showError("");
      applyStatus(status);
      if (on && !app.started) utter("I'll start by myself once you are in place.", false);
    } catch (err) {
      showError(`That did not work: ${err.message}`);
    }
  }

  async function finishNow() {
    const lost = app.state === "source_lost";
    const ok = await post("/live/stop");
    // a source that ended leaves nothing to stop: the session is kept, so show what was done
    if (ok || lost) { showError(""); await refreshStatus(); showEnd(); }
  }

  async function finishAction() {
    const now = performance.now();
    if (now < app.finishArmedUntil) {
      app.finishArmedUntil = 0;
      await finishNow();
    } else {
      app.finishArmedUntil = now + 4000;
      renderControls();
      setTimeout(renderControls, 4100);
    }
  }

  function bindControls() {
    $("primary").addEventListener("click", primaryAction);
    $("rest").addEventListener("click", () => { unlockSpeech(); post("/live/rest"); });
    $("next").addEventListener("click", () => { unlockSpeech(); post("/live/next"); });
    $("finish").addEventListener("click", () => { unlockSpeech(); finishAction(); });
    $("mute").addEventListener("click", () => { unlockSpeech(); setMuted(!app.muted); });
    $("auto-start").addEventListener("click", () => { unlockSpeech(); setAutoStart(!app.autoStart); });
    // any gesture unlocks speech (a page reloaded mid-session has no Start to press)
    // the note "The voice starts after one tap" hides only after that tap's click: hidden at pointerdown, the
    // layout would move under the finger and the click land beside the button pressed
    window.addEventListener("pointerdown", () => {
      app.keepLayout = true;
      unlockSpeech();
      const release = () => { if (!app.keepLayout) return; app.keepLayout = false; renderControls(); };
      window.addEventListener("click", () => setTimeout(release, 0), { once: true });
      setTimeout(release, 1500);
    }, { once: true });
    window.addEventListener("keydown", () => unlockSpeech(), { once: true });   // a key is a gesture too

    const typing = (t) => t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
    // the check-in, the clinic link's consent panel and the choice of the patient: there space presses the
    // focused button, as usual
    const inCheckin = (t) => t && t.closest && t.closest("#end, #link-panel, #subject-pick");
    // space = start / pause / resume, wherever else the focus is (a switch device sends a space);
    // Enter still activates the focused button.
    document.addEventListener("keydown", (e) => {
      if (e.altKey || e.ctrlKey || e.metaKey || typing(e.target)) return;
      if ((e.key === " " || e.code === "Space") && !inCheckin(e.target) && app.state !== "done") {
        e.preventDefault();
        if (!e.repeat) primaryAction();
      } else if ((e.key === "m" || e.key === "M") && !e.repeat) {
        unlockSpeech();
        setMuted(!app.muted);
      }
    }, true);
    document.addEventListener("keyup", (e) => {
      if ((e.key === " " || e.code === "Space") && !typing(e.target) && !inCheckin(e.target)) e.preventDefault();
    }, true);
  }

  // ---- status, plan, video, WebSocket --------------------------------------------------------------

  function applyStatus(s) {
    app.status = { ...(app.status || {}), ...s };
    // the server's word: a restarted server has no session, and the page must offer Start again
    if (s.started === true || (s.started === undefined && s.session_id)) app.started = true;
    else if (s.started === false) app.started = false;
    if (s.demo !== undefined) setDemo(!!s.demo);
    if (typeof s.auto_start === "boolean") renderAutoStart(s.auto_start);
    if (s.state) setState(s.state);
    if (s.state === "done" || s.state === "source_lost") announce({ state: s.state });   // no frame may follow
    if ("recording_problem" in s) renderSaving(s.recording_problem);
    if ("source_warning" in s) renderSourceWarning(s.source_warning);
    // a picture lost or ended: no note on keeping up, at once
    if ("pace_problem" in s) renderPace(s.pace, s.pace_problem, { now: s.state === "done" || s.state === "source_lost" });
    // the plan as the coach follows it now: the PT's changes come in between sets (docs/live.md)
    if (Array.isArray(s.plan) && app.planKnown) app.plan = s.plan;
    if ("plan_change" in s) renderPlanChange(s.plan_change);
    renderPlan();
    renderControls();
    sayPlanPause();
  }

  /** The voice says the PT's pause of the plan, short, once: when the page opens on a paused plan (as soon as a
   * gesture lets it speak) or when the pause comes while it is open; and the resume, if it had said the pause.
   * Not again on each status poll: only when the state differs from what the voice last told (app.pauseVoiced).
   * The page shows the pause's whole words (#plan-paused, with the date) either way. */
  function sayPlanPause() {
    if (!app.planKnown || !app.status) return;
    const paused = typeof app.status.plan_paused === "string" && app.status.plan_paused !== "";
    if (paused === Boolean(app.pauseVoiced) || !voiceSpeaks()) return;
    app.pauseVoiced = paused;
    const helper = app.plan.length > 0 && app.plan.every((p) => p.mode === "passive");   // said to the caregiver
    utter(paused ? (helper ? "The therapist has paused the patient's plan. A session can still be done if you want."
      : "Your therapist has paused your plan. You can still exercise if you want.")
      : (helper ? "The therapist has resumed the patient's plan." : "Your therapist has resumed your plan."), false);
  }

  /** "Your PT changed your plan: shoulder flexion: safe maximum now 120°." Shown while romcam runs, said once
   * (voice on) when it comes — not again for a page opened or reloaded after it. */
  function renderPlanChange(change) {
    const node = $("plan-change");
    const after = $("end-plan-change");   // a change made after the session was done: on the day's summary too
    const first = app.planChangeSeen === undefined;
    if (!change || !change.text) {
      node.hidden = true;
      after.hidden = true;
      app.planChangeSeen = app.planChangeSeen || 0;
      return;
    }
    setText(node, change.text);
    node.hidden = false;
    if (change.next_session) setText(after, change.text);
    after.hidden = !change.next_session;
    if (!first && change.id !== app.planChangeSeen) utter(change.text, false);
    app.planChangeSeen = change.id;
  }

  async function refreshStatus() {
    try {
      applyStatus(await api("/live/status"));
      const fps = num(app.status.effective_fps);
      if (app.ws && app.ws.readyState === WebSocket.OPEN) setConn(true);
      $("conn").title = fps !== null ? `${fps.toFixed(1)} frames a second measured` : "";
    } catch (err) {
      /* the WebSocket shows the connection state */
    }
  }

  function setDemo(demo) {
    app.demo = demo;
    $("demo-banner").hidden = !demo;
  }

  /** ``voiced``: the voice says it ("Connected to the coach again."), so #conn shows it without announcing it. */
  function setConn(ok, text, voiced = false) {
    const node = $("conn");
    const words = text || (ok ? "Connected" : "Reconnecting to the coach…");
    if (node.textContent !== words) noteLive(node, "status", !voiced);   // a status poll's same words: as they are
    node.dataset.kind = ok ? "ok" : "bad";
    setText(node, words);
  }

  /** Today's plan, each item with its mode (passive: the page speaks to the caregiver). Once it is here —
   * or the page knows there is none, or shows the error it got — everything addressed to the user is
   * worded again for the mode, and the page says it is ready (body[data-ready=true]). */
  async function loadPlan() {
    try {
      const plan = await api("/live/plan");
      app.plan = Array.isArray(plan) ? plan : [];
    } catch (err) {
      app.plan = [];
      $("plan-empty").hidden = false;
      $("plan-empty").textContent = `Today's plan could not be loaded (${err.message}).`;
    }
    app.planKnown = true;
    renderPlan();
    renderSafety(null);
    renderControls();
    renderChecks();
    sayPlanPause();   // a status that came before the plan
    document.body.dataset.ready = "true";
  }

  function planFacts(p) {
    const facts = [cap(p.side || ""), MODE_LABEL[p.mode] || p.mode, p.posture].filter(Boolean);
    const tmin = num(p.target_min), tmax = num(p.target_max);
    if (tmin === null && tmax === null) facts.push("measuring only");
    else facts.push(`target ${tmin ?? "…"}°–${tmax ?? "…"}°`);
    if (num(p.reps)) facts.push(`${p.reps} reps`);
    if (num(p.hold_s)) facts.push(`hold ${p.hold_s} s`);
    return facts.join(" · ");
  }

  let planKey = "";
  function renderPlan() {
    const index = app.status && Number.isInteger(app.status.plan_index) ? app.status.plan_index : 0;
    // a re-linked laptop the clinic has not answered yet follows no plan, and says why (docs/sync.md)
    const waiting = app.status && typeof app.status.plan_waiting === "string" ? app.status.plan_waiting : "";
    // the PT paused the plan (a hospital stay): said above it; the coach still runs, a session is saved as usual
    const paused = app.status && typeof app.status.plan_paused === "string" ? app.status.plan_paused : "";
    const key = JSON.stringify([app.planKnown, app.plan, index, app.state === "done", waiting, paused]);
    if (key === planKey) return;
    planKey = key;
    $("plan-paused").hidden = !paused;
    $("plan-paused").textContent = paused;
    const list = $("plan-list");
    list.replaceChildren(...app.plan.map((p, i) => {
      const name = exerciseName(p.exercise, p.exercise_name);
      return el("li", { "aria-current": i === index ? "step" : null, dataset: { exercise: p.exercise, side: p.side || "",
                                                                          done: i < index ? "true" : "false" } },
        el("span", { class: "plan-name" }, `${i + 1}. ${name}`),
        i === index ? el("span", { class: "plan-tag now" }, "now") : null,
        i < index ? el("span", { class: "plan-tag" }, "done") : null,
        p.experimental ? el("span", { class: "plan-tag" }, "experimental") : null,
        el("p", { class: "plan-facts" }, planFacts(p)),
        p.notes ? el("p", { class: "plan-notes" }, `From ${p.mode === "passive" ? "the" : "your"} therapist: ${p.notes}`) : null,
        p.instructions ? el("p", { class: "plan-facts" }, p.instructions) : null);
    }));
    // no prescription behind any item (none yet, or --exercise): the one exercise measured is not the PT's plan
    const prescribed = app.plan.some((p) => p.prescription_id);
    $("plan-title").textContent = paused ? "Your plan is paused"
      : app.plan.length && !prescribed ? "No plan from the therapist yet" : "Today's plan";
    if (app.plan.length) {
      const helper = app.plan.every((p) => p.mode === "passive");
      $("plan-empty").hidden = prescribed;
      // the server's words may name a `command` (romcam link): shown as <code>, without the backticks
      window.romcamWords.fill($("plan-empty"), prescribed ? "" : waiting || (`romcam measures this exercise and shows `
        + `the range reached, with no target to reach. ${helper ? "The patient's" : "Your"} therapist sets the plan `
        + "(exercises, targets, safe limits) on romcam's dashboard; it then shows here."));
    }
    const current = app.plan[index];
    if (current) {
      const name = exerciseName(current.exercise, current.exercise_name);
      $("current-title").textContent = app.plan.length > 1 ? `Exercise ${index + 1} of ${app.plan.length}` : "Now";
      $("current-line").textContent = `${name} — ${planFacts(current)}`;
      const helper = current.mode === "passive";
      const notes = [current.notes ? `From ${helper ? "the" : "your"} therapist: ${current.notes}` : "",
                     current.instructions || ""].filter(Boolean);
      $("current-notes").hidden = !notes.length;
      $("current-notes").textContent = notes.join(" ");
      const setup = setupText(current);
      const setupNode = $("current-setup");
      setupNode.hidden = !setup;
      setupNode.replaceChildren(el("strong", {}, "Camera setup: "), setup);
      $("check-view").querySelector(".check-label").textContent = current.setup ? "Camera in the right place" : "Facing the right way";
      // passive ROM: the camera check and the stop banner speak to the caregiver, about the patient
      $("check-inview").querySelector(".check-label").textContent = helper ? "All of the patient in the picture"
        : "All of you in the picture";
      renderAdvice(app.state === "source_lost", helper);
      $("safety-text").textContent = safetyWords(app.safetyLimit, helper);
    } else if (app.planKnown && !app.plan.length) {
      $("current-line").textContent = "No plan for today: romcam measures and shows your range.";
    }
  }

  let videoTimer = null;
  function reloadVideo(delay) {
    clearTimeout(videoTimer);
    videoTimer = setTimeout(() => {
      $("video").src = `/live/video.mjpg?t=${Date.now()}`;
    }, delay);
  }

  function bindVideo() {
    const img = $("video");
    img.addEventListener("load", () => { app.videoOk = true; placeSubjectBox(); });   // its natural size is known now
    if (window.ResizeObserver) new ResizeObserver(placeSubjectBox).observe(img);
    img.addEventListener("error", () => { app.videoOk = false; reloadVideo(3000); });
    img.addEventListener("click", chooseSubject);
    img.src = "/live/video.mjpg";
  }

  function onMessage(data) {
    let ev;
    try { ev = JSON.parse(data); } catch (err) { return; }
    if (!ev || typeof ev !== "object") return;
    if (ev.type === "status") { applyStatus(ev); return; }
    if (ev.type === "subject") { renderSubject(ev); return; }
    if (ev.type && ev.type !== "frame") return;
    app.last = ev;
    app.lastFrameAt = performance.now();
    if (typeof ev.started === "boolean") app.started = ev.started;
    if (ev.demo !== undefined && ev.demo !== app.demo) setDemo(!!ev.demo);
    if (num(ev.light) !== null) {
      app.lights.push(ev.light);
      if (app.lights.length > CONF_WINDOW) app.lights.shift();
    }
    if (num(ev.confidence) !== null && !ev.missing && ev.state !== "waiting_for_patient") {   // light, not framing
      app.confidences.push(ev.confidence);
      if (app.confidences.length > CONF_WINDOW) app.confidences.shift();
    }
    setState(ev.state);
    if ("recording_problem" in ev) renderSaving(ev.recording_problem);
    if ("pace_problem" in ev) renderPace(ev.pace, ev.pace_problem);
    track(ev);
    renderSubject(ev.subject || null);
    renderEvent(ev);
    const cue = newCue(ev);
    announce(ev, cue);   // first: a cue its sentence says more fully is then shown, not said again
    renderCue(ev, cue !== null && saidElsewhere(cue));
    renderSafety(ev);
    flushSpeech();   // a rep's count, now that a stop in this event has been said and its banner shown
    renderChecks();   // first: the state line before Start agrees with the check (app.allSet)
    renderControls();
  }

  function lostText(helper) {
    return helper ? "Lost contact with the coach: the patient's movement is not measured now. Stop moving the limb; "
      + "the page reconnects by itself."
      : "Lost contact with the coach: nothing is measured now. Stop and rest; the page reconnects by itself.";
  }

  /** No angle on screen: nothing is measured now (the next frame event shows one again). */
  function blankAngle() {
    const node = $("angle");
    node.textContent = "—";
    node.classList.add("none");
    delete node.dataset.angle;
    node.dataset.zone = "unknown";
    $("angle-note").textContent = "Not measured";
    $("gauge-needle").classList.add("none");
  }

  /** The server has stopped answering (stopped, crashed, the laptop asleep): the last angle must not stay
   * on screen as if live, and a patient or helper who is not looking at the screen must hear it. */
  function connectionLost() {
    app.connLostTimer = null;
    if (app.ws && app.ws.readyState === WebSocket.OPEN) return;
    app.connLost = true;
    blankAngle();
    $("cue").textContent = "";   // the last cue ("stop: this is the PT's safe maximum") is not today's any more
    renderControls();
    if (app.state === "done") return;
    // #conn said "Reconnecting to the coach…" as it closed; this is said by the voice, or else #announce
    const words = lostText(forHelper());
    if (voiceSpeaks()) utter(words, true, () => sayPolitely(words));
    else sayPolitely(words);
  }

  function connectionBack() {
    if (app.connLostTimer !== null) { clearTimeout(app.connLostTimer); app.connLostTimer = null; }
    if (!app.connLost) return;
    app.connLost = false;
    renderControls();
    if (app.state === "done") return;
    const words = "Connected to the coach again.";
    // voice off: #conn's "Connected" says it; voice on, the voice (#conn's was not announced), or #announce
    if (voiceSpeaks()) utter(words, false, () => sayPolitely(words));
  }

  function connect() {
    const url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/live/ws`;
    let ws;
    try { ws = new WebSocket(url); } catch (err) { setTimeout(connect, app.wsDelay); return; }
    app.ws = ws;
    ws.addEventListener("open", () => {
      app.wsDelay = 1000;
      setConn(true, null, app.connLost && app.state !== "done" && voiceSpeaks());   // connectionBack says it
      connectionBack();
      refreshStatus();
    });
    ws.addEventListener("message", (e) => onMessage(e.data));
    ws.addEventListener("close", () => {
      setConn(false);
      if (app.connLostTimer === null && !app.connLost) app.connLostTimer = setTimeout(connectionLost, CONN_LOST_MS);
      app.wsDelay = Math.min(app.wsDelay * 1.6, 8000);
      setTimeout(connect, app.wsDelay);
    });
  }

  function tick() {
    flushSpeech();
    renderSafety(null);
    renderChecks();
    // no picture for a while (a camera that froze, before the server gives it up): the last angle is not
    // left on screen as if it were live
    if (app.last && performance.now() - app.lastFrameAt > STALE_FRAME_MS && $("angle").dataset.angle !== undefined) {
      blankAngle();
    }
    const cue = $("cue");
    cue.classList.toggle("stale", performance.now() - app.cueShownAt > CUE_SHOW_MS);
  }

  function init() {
    setMuted(app.muted);
    buildCheckin();
    bindControls();
    renderControls();
    loadPlan();
    refreshStatus();
    connect();
    window.addEventListener("load", bindVideo);   // the endless MJPEG must not hold up the page's load
    setInterval(tick, 250);
    setInterval(refreshStatus, 3000);
    $("primary").focus({ preventScroll: true });   // a small window keeps its header and video in view
    // body[data-ready=true] waits for the plan (loadPlan): before it, the page does not know whom it speaks to
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
