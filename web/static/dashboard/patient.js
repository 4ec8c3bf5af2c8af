/* The patient page: trend chart per prescribed motion (and per motion with a change to review that the plan
 * no longer holds), alerts with snooze, adherence calendar,
 * the prescription editor (add, edit → new version, end) and pause / resume of the plan (both read-only on a laptop
 * linked to a clinic, whose PT sets the plan: plan_managed_by). */
"use strict";

(function () {
  const R = window.romcam;
  const C = window.romcamCharts;
  const { el } = R;
  const patientId = document.body.dataset.patientId;
  const base = `/api/patients/${patientId}`;
  const SESSIONS_PAGE = 20;  // the session list: the latest this many, then this many more at each "Show older sessions"
  const FIELD_LABEL = {
    exercise: "Exercise", side: "Side", mode: "Mode", posture: "Posture", target_min: "Target from",
    target_max: "Target to", safe_max: "Safe maximum", safe_min: "Safe minimum", reps: "Repetitions", hold_s: "Hold",
    sessions_per_week: "Sessions per week", max_reps: "Most reps per session", max_minutes: "Most minutes per session",
    notes: "Notes",
  };
  const state = { patient: null, prescriptions: [], alerts: [], charts: [], editing: null };

  // ---- header, summary ----------------------------------------------------------------------

  function renderPatient(p) {
    state.patient = p;
    document.title = `${p.name} — romcam`;
    document.getElementById("patient-name").textContent = p.name;
    document.getElementById("paused-tag").hidden = !p.plan_paused;
    // the last session that measured something; any begun after it that measured nothing, and one still being
    // recorded, said beside it
    const note = R.unmeasuredNote(p);
    const recording = R.recordingNote(p);
    const notes = [note && !p.last_measured_session_at ? `${note} (${R.daysAgo(p.last_unmeasured_session_at)})` : note,
      recording].filter(Boolean).join("; ");
    const last = p.last_measured_session_at
      ? `Last session ${R.fmtDate(p.last_measured_session_at)} (${R.daysAgo(p.last_measured_session_at)})${notes ? `; ${notes}` : ""}.`
      : notes ? `No session has measured anything yet: ${notes}.` : "No sessions yet.";
    document.getElementById("patient-summary").textContent = `${last} ${R.adherenceSentence(p)}`;
    document.getElementById("report-link").href = `/patients/${patientId}/report`;
    document.getElementById("csv-link").href = `${base}/export.csv?tz=${encodeURIComponent(R.timeZone())}`;
    document.getElementById("fhir-link").href = `${base}/export.fhir.json`;
    document.getElementById("plan-state-text").textContent = planStateWords(p);
    const pause = document.getElementById("pause-button");
    pause.textContent = p.plan_paused ? "Resume the plan" : "Pause the plan";
    pause.dataset.paused = String(Boolean(p.plan_paused));
    // a laptop linked to a clinic: the plan, its pause and its prescriptions, are the PT's there (a press here would be
    // refused with a 409), so the plan is shown read-only, with no Pause, Add, Edit or End, and who changes it
    const managed = Boolean(p.plan_managed_by);
    document.getElementById("plan").classList.toggle("read-only", managed);
    const who = document.getElementById("plan-managed");
    who.textContent = managed ? `Your PT at ${p.plan_managed_by} sets this plan: ask them to add, change or end an `
      + "exercise." : "";
    who.hidden = !managed;
  }

  const pauseDayFmt = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "long", year: "numeric" });

  /** The plan's state in words; on a linked laptop (plan_managed_by) who pauses and resumes it. */
  function planStateWords(p) {
    const clinic = p.plan_managed_by;
    if (!clinic) {
      return p.plan_paused ? "The plan is paused (for example, a hospital stay): missed sessions are not flagged."
        : "The plan is active.";
    }
    if (!p.plan_paused) {
      return `The plan is active. It is managed by your PT at ${clinic}: ask them to pause it if needed (for `
        + "example, a hospital stay).";
    }
    const since = p.plan_paused_since ? ` on ${pauseDayFmt.format(new Date(p.plan_paused_since))}` : "";
    return `Paused by your PT at ${clinic}${since}: missed sessions are not flagged. Ask them to resume it.`;
  }

  function renderBadge(alerts) {
    const open = alerts.filter((a) => a.status === "open").length;
    const badge = document.getElementById("alert-badge");
    badge.hidden = open === 0;
    badge.textContent = R.alertBadgeText(open);
    badge.dataset.openAlerts = String(open);
  }

  async function loadAlerts() {
    const alerts = await R.api(`${base}/alerts`);
    state.alerts = alerts;
    renderBadge(alerts);
    R.renderAlerts(document.getElementById("alerts"), alerts, async (alert, days) => {
      await R.api(`/api/alerts/${alert.id}/snooze`, { json: { days } });
      await loadAlerts();
      // the list was drawn anew: the keyboard goes on from the alert snoozed ("Snoozed until …"), not the page's top
      const item = document.querySelector(`#alerts li[data-alert-id="${alert.id}"]`);
      if (item) { item.tabIndex = -1; item.focus(); }
    });
  }

  // ---- trend charts ---------------------------------------------------------------------------

  /** The prescribed motions, one per (exercise, side), in the order they were first prescribed. */
  function motions(prescriptions) {
    const seen = new Map();
    for (const p of [...prescriptions].sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)))) {
      const key = `${p.exercise}|${p.side}`;
      if (!seen.has(key)) seen.set(key, { exercise: p.exercise, side: p.side, name: p.exercise_name, prescriptions: [] });
      seen.get(key).prescriptions.push(p);
    }
    return [...seen.values()];
  }

  /** The charts to draw: each prescribed motion, then each motion with a change to review (open or snoozed:
   * its note is on the page) that the plan does not hold — its prescription was ended, or its sessions were
   * recorded without one —, so the PT can check the note against the points. */
  function chartGroups(prescriptions, alerts) {
    const groups = motions(prescriptions);
    return groups.concat(R.alertedMotions(alerts, groups).map((m) => ({ ...m, name: null, prescriptions: [] })));
  }

  /** The target of the plan as it stands for this series (the current version of the active
   * prescription with its mode and posture), not the one its last session followed. */
  function targetNow(group, series) {
    const rx = group.prescriptions.find((p) => p.mode === series.mode && p.posture === series.posture);
    return rx ? `target now ${R.fmtPlanRange(rx.target_min, rx.target_max)} (plan v${rx.version})`
      : "not in the current plan: no target prescribed now in this mode and posture";
  }

  function seriesSummary(trends, group) {
    const list = el("ul", { class: "series-summary" });
    for (const s of trends.series || []) {
      const pts = (s.points || []).filter((p) => p.best_angle !== null && p.best_angle !== undefined);
      if (!pts.length) continue;
      const last = pts[pts.length - 1];
      // as the change notes and the decline rule do: a furthest point not seen is a bound, and a best angle
      // measured on too few frames a second is uncertain: both left out of the median
      const seen = pts.filter((p) => p.best_seen !== false && !R.fewFrames(p));
      const unseen = pts.filter((p) => p.best_seen === false).length;
      const few = pts.filter((p) => R.fewFrames(p)).length;
      const both = pts.filter((p) => p.best_seen === false && R.fewFrames(p)).length;
      const last3 = R.median(seen.slice(-3).map((p) => p.best_angle));
      // the median of 3, as the change notes take it; of 2 it says so; of 1 there is none to give
      const median = seen.length >= 3 ? `median of the last 3 sessions ${R.fmtAngle(last3)}; `
        : seen.length === 2 ? `median of the 2 sessions counted ${R.fmtAngle(last3)}; ` : "";
      const latest = (last.best_seen === false ? R.fmtBound(last.best_angle, trends.works) : R.fmtAngle(last.best_angle))
        + (R.uncertainReasons(last).length || R.noReps(last)
          ? ` (${[...R.uncertainReasons(last), R.noReps(last) ? R.NO_REPS : ""].filter(Boolean).join("; ")})` : "");
      const none = pts.filter((p) => R.noReps(p)).length;
      list.append(el("li", {},
        el("strong", { text: `${R.seriesLabel(s.mode, s.posture)}: ` }),
        `latest ${latest} on ${R.fmtDate(last.date)}; ${median}`,
        `${pts.length} session${pts.length === 1 ? "" : "s"} shown; ${targetNow(group, s)}.`,
        unseen ? ` ${unseen} session${unseen === 1 ? "" : "s"} with the ${R.NOT_SEEN} (hollow marker${unseen === 1 ? "" : "s"}): `
          + "the joint got at least that far; left out of the median." : "",
        few ? ` ${few} session${few === 1 ? "" : "s"} ${R.FEW_FRAMES} (hollow marker${few === 1 ? "" : "s"}): `
          + `the best angle and rep count uncertain; left out of the median${both ? ` (${both} of them also with the ${R.NOT_SEEN})` : ""}.` : "",
        none ? ` ${none} session${none === 1 ? "" : "s"} with ${R.NO_REPS} (hollow marker${none === 1 ? "" : "s"}): `
          + "the angle is the furthest the joint went, not a rep's peak." : "",
        // the chart's safe limit line and its crosses, in words (a screen reader reads this list, not the canvas)
        R.safeSeriesText(pts) ? el("span", { class: "safe-note", text: ` ${R.safeSeriesText(pts)}` }) : "",
        // reps short of the target (the session page marks each), so a patient no longer reaching it shows here
        R.shortSeriesText(pts, trends.works)
          ? el("span", { class: "short-note", text: ` ${R.shortSeriesText(pts, trends.works)}` }) : ""));
    }
    return list;
  }

  async function renderCharts() {
    const container = document.getElementById("charts");
    for (const c of state.charts) c.chart.destroy();
    state.charts = [];
    container.replaceChildren();
    container.dataset.ready = "false";
    const groups = chartGroups(state.prescriptions, state.alerts);
    if (!groups.length) {
      container.append(el("p", { class: "empty", text: "No exercise is prescribed yet: add one in the plan below." }));
      container.dataset.ready = "true";
      container.dataset.charts = "0";
      return;
    }
    const all = await Promise.all(groups.map((g) => R.api(
      `${base}/trends?exercise=${encodeURIComponent(g.exercise)}&side=${encodeURIComponent(g.side)}`)));
    // one time axis for every chart, so the motions can be compared at a glance
    let xMin = Infinity, xMax = -Infinity;
    for (const t of all) for (const s of t.series || []) for (const p of s.points || []) {
      const x = R.toDate(p.date).getTime();
      xMin = Math.min(xMin, x); xMax = Math.max(xMax, x);
    }
    const pad = R.DAY_MS;
    groups.forEach((g, i) => {
      const trends = all[i];
      const title = `${R.exerciseName(g.exercise, trends.exercise_name || g.name)} — ${R.sideLabel(g.side).toLowerCase()} side`;
      const canvas = el("canvas", { role: "img", "aria-label": `${title}: best angle per session over time` });
      const inPlan = g.prescriptions.length > 0;
      const figure = el("figure", { class: inPlan ? "chart" : "chart not-in-plan",
        dataset: { exercise: g.exercise, side: g.side, inPlan: String(inPlan) } },
        el("figcaption", {}, el("h3", { text: inPlan ? title : `${title} (not in the current plan)` })));
      if (!inPlan) figure.append(el("p", { class: "plan-note", text: R.notInPlanNote(trends) }));
      const normal = trends.normal || {};
      figure.append(el("p", { class: "chart-note" },
        `Normal range ${R.fmtRange(normal.min, normal.max)}. This exercise works the `
        + `${trends.works === "min" ? "low end of the range (lower values reach further)" : "high end of the range"}. `
        + R.noiseNote(trends.works, trends.measurement_noise_deg, trends.return_noise_deg) + " ",
        normal.source ? el("details", { class: "source" }, el("summary", { text: "Source of the normal range" }),
          el("span", { text: normal.source })) : null));
      const box = el("div", { class: "chart-box" }, canvas);
      figure.append(box);
      container.append(figure);
      const hasPoints = (trends.series || []).some((s) => (s.points || []).length);
      let result = { points: 0, series: [] };
      if (hasPoints && C.available) {
        result = C.trendChart(canvas, trends, {
          xMin: Number.isFinite(xMin) ? xMin - pad : undefined,
          xMax: Number.isFinite(xMax) ? xMax + pad : undefined,
          onPoint: (p) => { if (p.session_id) window.location.href = `/sessions/${p.session_id}`; },
        });
        state.charts.push(result);
        figure.append(seriesSummary(trends, g));
      } else {
        box.replaceChildren(el("p", { class: "empty", text: hasPoints
          ? "The chart library did not load."
          : "No sessions recorded for this motion yet." }));
      }
      figure.dataset.points = String(result.points);
      figure.dataset.series = JSON.stringify(result.series);
    });
    container.dataset.charts = String(groups.length);
    container.dataset.ready = "true";
  }

  // ---- adherence ------------------------------------------------------------------------------

  /** One session as a list item: its link, its flags and what it held. */
  function sessionItem(s) {
    const sets = (s.sets || []).map((x) => {
      const best = x.best_angle === null || x.best_angle === undefined ? "not measured"
        : x.best_seen === false ? `${R.fmtBound(x.best_angle, R.motion(x.exercise)?.works || "max")} (${R.NOT_SEEN})`
          : `best ${R.fmtAngle(x.best_angle)}`;
      // reps past the set's safe limits (of the plan version it followed, or else given to `romcam analyze`), as the
      // session page flags them
      const whose = x.safe_limits_from === "analyze" ? (end) => `the safe ${end} given to romcam analyze` : (end) => `the PT's safe ${end}`;
      const past = [[x.reps_past_safe_max, "maximum"], [x.reps_past_safe_min, "minimum"]]
        .filter(([n]) => n > 0).map(([n, end]) => `, ${n} past ${whose(end)}`).join("");
      // reps short of the target the set was judged by, as the session page marks them (a set with no target: nothing)
      const shortText = R.shortOfTargetText(x, R.motion(x.exercise)?.works || "max");
      const short = shortText ? `, ${shortText}` : "";
      // a set measured on too few frames a second: its count and peaks are not to be trusted (the session page says more)
      const few = x.too_few_frames
        ? ` (measured on ${Number(x.sample_fps.toFixed(1))} pictures a second: rep count and peaks uncertain)` : "";
      return `${R.exerciseName(x.exercise)} (${R.sideLabel(x.side).toLowerCase()}, ${R.seriesLabel(x.mode, x.posture)}): `
        + `${x.reps_full} rep${x.reps_full === 1 ? "" : "s"}, ${best}${past}${short}${few}`;
    });
    const flags = [s.status === "interrupted" ? "interrupted" : "", s.demo ? "demo" : ""].filter(Boolean);
    return el("li", { dataset: { sessionId: s.id } },
      el("a", { href: `/sessions/${s.id}`, text: R.fmtDateTime(s.started_at) }),
      flags.length ? ` (${flags.join(", ")})` : "",
      el("span", { class: "session-sets", text: ` — ${sets.join("; ") || "no exercise recorded"}` }),
      // a laptop clock off from the clinic's: the date shown is the laptop's, not the clinic's
      s.clock_note ? el("span", { class: "session-clock warn", text: ` (${s.clock_note})` }) : "");
  }

  /** The next page of sessions after the one with id ``after`` (null: the newest), and whether older ones
   * remain (asked for one more than shown, so the button never loads an empty page). */
  async function sessionPage(after) {
    const rows = await R.api(`${base}/sessions?limit=${SESSIONS_PAGE + 1}${after ? `&after=${encodeURIComponent(after)}` : ""}`);
    return { sessions: rows.slice(0, SESSIONS_PAGE), more: rows.length > SESSIONS_PAGE };
  }

  /** What the list shows, in words: the latest N, or all of them once the oldest is in. */
  function showSessionCount(more) {
    const n = document.querySelectorAll("#sessions li[data-session-id]").length;
    const shown = document.getElementById("sessions-shown");
    shown.textContent = more ? `Showing the latest ${n} sessions.` : n === 1 ? "Showing the only session."
      : `Showing all ${n} sessions.`;
    shown.dataset.shown = String(n);
    document.getElementById("older-sessions").hidden = !more;
  }

  /** The latest sessions as links (a keyboard or a screen reader reaches each one; a chart point needs a
   * pointer, and a motion no longer prescribed has no chart unless it has a change to review); "Show older
   * sessions" adds the next page, and goes once the oldest is shown. */
  async function loadSessions() {
    const list = document.getElementById("sessions");
    const { sessions, more } = await sessionPage(null);
    if (!sessions.length) {
      list.replaceChildren(el("li", { class: "empty", text: "No session recorded yet." }));
      document.getElementById("sessions-shown").textContent = "";
      document.getElementById("older-sessions").hidden = true;
      return;
    }
    list.replaceChildren(...sessions.map(sessionItem));
    showSessionCount(more);
  }

  async function loadOlderSessions() {
    const button = document.getElementById("older-sessions");
    // busy, not disabled: a disabled button would lose the keyboard's focus, and the next press would go nowhere
    if (button.getAttribute("aria-busy") === "true") return;
    const items = document.querySelectorAll("#sessions li[data-session-id]");
    const last = items.length ? items[items.length - 1].dataset.sessionId : null;
    button.setAttribute("aria-busy", "true");
    try {
      const { sessions, more } = await sessionPage(last);
      const added = sessions.map(sessionItem);
      document.getElementById("sessions").append(...added);
      showSessionCount(more);
      // the button goes with the last page: the keyboard goes on from the first session it brought
      if (!more && added.length) added[0].querySelector("a").focus();
    } catch (err) {
      document.getElementById("sessions-shown").textContent = `Could not load older sessions: ${err.message}`;
    } finally {
      button.removeAttribute("aria-busy");
    }
  }

  async function loadAdherence() {
    const adherence = await R.api(R.adherencePath(base, R.calendarDays()));
    R.renderCalendar(document.getElementById("adherence"), adherence, { paused: state.patient && state.patient.plan_paused });
  }

  // ---- the plan: prescriptions ----------------------------------------------------------------

  function describeCaps(p) {
    const caps = [];
    if (p.max_reps) caps.push(`at most ${p.max_reps} reps`);
    if (p.max_minutes) caps.push(`at most ${p.max_minutes} min`);
    return caps.join(", ") || "—";
  }

  /** The PT's safety limits of a prescription: "max 150°", or "min 0°, max 90°" with a safe minimum. */
  function safeLimits(p) {
    const max = `max ${R.fmtPlanAngle(p.safe_max)}`;
    return p.safe_min === null || p.safe_min === undefined ? max : `min ${R.fmtPlanAngle(p.safe_min)}, ${max}`;
  }

  function renderPrescriptions() {
    const container = document.getElementById("prescriptions");
    container.replaceChildren();
    if (!state.prescriptions.length) {
      container.append(el("p", { class: "empty", text: "No exercise prescribed." }));
      return;
    }
    const table = el("table", { class: "prescriptions" });
    // the buttons' column is named for a screen reader only (an empty header reads as a column with no name)
    table.append(el("thead", {}, el("tr", {}, ...["Exercise", "Mode, posture", "Target", "Safe limits", "Dose", "Per week",
      "Cap", "Version"].map((h) => el("th", { scope: "col", text: h })),
      el("th", { scope: "col" }, el("span", { class: "visually-hidden", text: "Actions" })))));
    const body = el("tbody");
    for (const p of state.prescriptions) {
      const row = el("tr", { dataset: { prescriptionId: p.id } },
        el("td", {}, el("strong", { text: R.exerciseName(p.exercise, p.exercise_name) }), el("br"), `${R.sideLabel(p.side)} side`,
          p.notes ? el("div", { class: "notes", text: `Note to patient: ${p.notes}` }) : null),
        el("td", { text: R.seriesLabel(p.mode, p.posture) }),
        el("td", { text: R.fmtPlanRange(p.target_min, p.target_max) }),
        el("td", { text: safeLimits(p) }),
        el("td", { text: `${p.reps} reps${p.hold_s ? `, hold ${p.hold_s} s` : ""}` }),
        el("td", { text: String(p.sessions_per_week) }),
        el("td", { text: describeCaps(p) }),
        el("td", { text: `v${p.version}` }));
      const history = el("tr", { class: "history", hidden: true }, el("td", { colspan: "9" }));
      const actions = el("td", { class: "row-actions" },
        el("button", { type: "button", class: "secondary staff-only", text: "Edit", onclick: () => openEditor(p) }),
        el("button", { type: "button", class: "secondary", text: "History", onclick: () => toggleHistory(p, history) }),
        el("button", { type: "button", class: "secondary danger staff-only", text: "End", onclick: () => endPrescription(p) }));
      row.append(actions);
      body.append(row, history);
    }
    table.append(body);
    // not "Exercise plan": that is the section's name, and two regions of one name cannot be told apart
    container.append(R.scrollBox(table, "Prescribed exercises"));
  }

  async function toggleHistory(p, row) {
    if (!row.hidden) { row.hidden = true; return; }
    const cell = row.firstChild;
    cell.replaceChildren(el("p", { text: "Loading the versions…" }));
    row.hidden = false;
    try {
      const versions = await R.api(`/api/prescriptions/${p.id}/versions`);
      const list = el("ol", { class: "versions" });
      for (const v of versions) {
        list.append(el("li", { text: `v${v.version}, from ${R.fmtDate(v.created_at)}: ${R.seriesLabel(v.mode, v.posture)}, `
          + `target ${R.fmtPlanRange(v.target_min, v.target_max)}, safe ${safeLimits(v)}, ${v.reps} reps`
          + `${v.hold_s ? `, hold ${v.hold_s} s` : ""}, ${v.sessions_per_week} per week` }));
      }
      cell.replaceChildren(list);
    } catch (err) {
      cell.replaceChildren(el("p", { class: "form-error", text: `Could not load the versions: ${err.message}` }));
    }
  }

  async function endPrescription(p) {
    const what = `${R.exerciseName(p.exercise, p.exercise_name)} (${R.sideLabel(p.side).toLowerCase()}, ${R.modeLabel(p.mode).toLowerCase()})`;
    if (!window.confirm(`End ${what}? The patient will no longer be asked to do it; its history is kept.`)) return;
    try {
      await R.api(`/api/prescriptions/${p.id}`, { method: "DELETE" });
      await reloadPlan();
      planSaid(`Ended ${rxName(p)}: the patient is no longer asked to do it; its history is kept.`);
      document.getElementById("new-prescription").focus();  // its row is gone: the keyboard goes on from here
    } catch (err) {
      R.setStatus(`Could not end the prescription: ${err.message}`, "error");
    }
  }

  /** "Elbow flexion (left, active, seated)": a prescription as the plan's status line names it. */
  function rxName(p) {
    return `${R.exerciseName(p.exercise, p.exercise_name)} (${R.sideLabel(p.side).toLowerCase()}, `
      + `${R.seriesLabel(p.mode, p.posture).toLowerCase()})`;
  }

  /** The plan's status line (role=status): what the last change did, which a screen reader reads out while the
   * keyboard's focus stays where the PT was. */
  function planSaid(text) {
    document.getElementById("plan-saved").textContent = text;
  }

  /** After a save re-drew the table: the keyboard goes on from the saved prescription's Edit button (the one it
   * left was drawn away), and the status line says what was saved. */
  function focusSaved(rx, verb) {
    planSaid(`${verb} ${rxName(rx)}: version ${rx.version}, target ${R.fmtPlanRange(rx.target_min, rx.target_max)}, `
      + `safe ${safeLimits(rx)}, ${rx.reps} reps, ${rx.sessions_per_week} a week.`);
    const edit = [...document.querySelectorAll(`#prescriptions tr[data-prescription-id="${rx.id}"] button`)]
      .find((b) => b.textContent === "Edit");
    if (edit) edit.focus();
  }

  // the editor dialog
  const dialog = () => document.getElementById("prescription-dialog");
  const form = () => document.getElementById("prescription-form");

  function fillPostures(exerciseId, selected) {
    const select = form().elements.posture;
    const m = R.motion(exerciseId);
    const postures = m ? m.postures : ["standing", "seated", "lying"];
    select.replaceChildren(...postures.map((p) => el("option", { value: p, text: p[0].toUpperCase() + p.slice(1) })));
    if (selected && postures.includes(selected)) select.value = selected;
    const hint = document.getElementById("normal-hint");
    hint.textContent = m
      ? `Normal range for ${m.name.toLowerCase()}: ${R.fmtRange(m.normal.min, m.normal.max)} (${m.normal.source}). `
        + `This exercise works the ${m.works === "min" ? "low" : "high"} end of the range.`
        // its safe maximum guards the end it starts from: below the resting angle, every rest would say stop
        + (m.works === "min" ? ` Here the safe maximum guards the other end, where each rep starts (a ${
          m.name.toLowerCase()} rests bent): set it above the resting angle, or the coach says stop at every rest.`
          : "")
      : "";
    // the safe minimum guards the low end: asked for the motions that work it, and kept in view on a
    // prescription that has one (hidden, it would be dropped from the next version unseen)
    const rx = state.editing;
    const keeps = rx && rx.exercise === exerciseId && rx.safe_min !== null && rx.safe_min !== undefined;
    document.getElementById("safe-min-field").hidden = !((m && m.works === "min") || keeps);
  }

  function openEditor(p) {
    const f = form();
    f.reset();
    f.dataset.prescriptionId = p ? p.id : "";
    state.editing = p || null;
    clearErrors();
    const exercise = f.elements.exercise;
    exercise.replaceChildren(...R.catalog().map((m) => el("option", { value: m.id, text: m.name })));
    document.getElementById("prescription-dialog-h").textContent = p
      ? `Edit ${R.exerciseName(p.exercise, p.exercise_name)} (${R.sideLabel(p.side).toLowerCase()})` : "Add an exercise";
    document.getElementById("prescription-form-note").textContent = p
      ? `Saving makes version ${p.version + 1}; sessions already done keep the targets of the version they followed. `
        + "To change the exercise or the side, end this one and add a new one."
      : "";
    exercise.disabled = Boolean(p);
    f.elements.side.disabled = Boolean(p);
    if (p) {
      for (const name of Object.keys(FIELD_LABEL)) {
        if (name === "posture") continue;
        const input = f.elements[name];
        if (input) input.value = p[name] === null || p[name] === undefined ? "" : p[name];
      }
      fillPostures(p.exercise, p.posture);
    } else {
      f.elements.reps.value = 10;
      f.elements.hold_s.value = 0;
      f.elements.sessions_per_week.value = 3;
      fillPostures(exercise.value);
    }
    dialog().showModal();
  }

  function clearErrors() {
    const f = form();
    for (const input of f.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
    const box = f.querySelector(".form-error");
    box.hidden = true;
    box.textContent = "";
  }

  function showErrors(messages, fields) {
    const f = form();
    for (const name of fields) if (f.elements[name]) f.elements[name].setAttribute("aria-invalid", "true");
    const box = f.querySelector(".form-error");
    box.textContent = messages.join(" ");
    box.hidden = false;
  }

  function readForm() {
    const f = form();
    const num = (name) => (f.elements[name].value === "" ? null : Number(f.elements[name].value));
    return {
      exercise: f.elements.exercise.value,
      side: f.elements.side.value,
      mode: f.elements.mode.value,
      posture: f.elements.posture.value,
      target_min: num("target_min"),
      target_max: num("target_max"),
      safe_max: num("safe_max"),
      safe_min: document.getElementById("safe-min-field").hidden ? null : num("safe_min"),
      reps: num("reps"),
      hold_s: num("hold_s"),
      sessions_per_week: num("sessions_per_week"),
      max_reps: num("max_reps"),
      max_minutes: num("max_minutes"),
      notes: f.elements.notes.value.trim(),
    };
  }

  /** What the browser refuses in the form (a value out of the field's bounds, a required field left empty), said
   * in the form's own error area with the field's name — the form has novalidate, so no tooltip that vanishes,
   * and a screen reader hears it. True when the browser has nothing to refuse. */
  function browserAccepts() {
    const refused = [...form().elements].filter((e) => e.name && !e.disabled && e.willValidate && !e.checkValidity());
    if (!refused.length) return true;
    showErrors(refused.map((e) => `${FIELD_LABEL[e.name] || e.name}: ${e.validationMessage}`), refused.map((e) => e.name));
    refused[0].focus();
    return false;
  }

  async function savePrescription(event) {
    event.preventDefault();
    clearErrors();
    if (!browserAccepts()) return;
    const body = readForm();
    const bad = [];
    const messages = [];
    if (body.target_min !== null && body.target_max !== null && !(body.target_min < body.target_max)) {
      bad.push("target_min", "target_max");
      messages.push("Target from must be below target to.");
    }
    if (body.target_max !== null && body.safe_max !== null && !(body.target_max <= body.safe_max)) {
      bad.push("target_max", "safe_max");
      messages.push("The safe maximum must be at or above the top of the target.");
    }
    if (body.target_min !== null && body.safe_min !== null && !(body.safe_min <= body.target_min)) {
      bad.push("target_min", "safe_min");
      messages.push("The safe minimum must be at or below the bottom of the target.");
    }
    if (bad.length) { showErrors(messages, bad); return; }
    const id = form().dataset.prescriptionId;
    const button = document.getElementById("prescription-save");
    button.disabled = true;
    try {
      const saved = id ? await R.api(`/api/prescriptions/${id}`, { method: "PUT", json: body })
        : await R.api(`${base}/prescriptions`, { method: "POST", json: body });
      dialog().close();
      await reloadPlan();
      focusSaved(saved, id ? "Saved" : "Added");
    } catch (err) {
      if (err.status === 409) {  // e.g. an active prescription of the same motion, side, mode and posture: what to do
        const text = err.message.charAt(0).toUpperCase() + err.message.slice(1);
        showErrors([/[.!?]$/.test(text) ? text : `${text}.`], []);
        return;
      }
      const detail = err.body && Array.isArray(err.body.detail) ? err.body.detail : [];
      const fields = detail.map((d) => (d.loc || [])[d.loc.length - 1]).filter((n) => FIELD_LABEL[n]);
      const messages = detail.length
        ? detail.map((d) => { const n = (d.loc || [])[d.loc.length - 1]; return `${FIELD_LABEL[n] || n}: ${d.msg}.`; })
        : [`Could not save: ${err.message}`];
      showErrors(messages, fields);
    } finally {
      button.disabled = false;
    }
  }

  /** After the plan changed: the prescriptions, the alerts (a missed-sessions note follows the sessions a week
   * asked), the charts (they follow the alerts), and what counts from the plan (the summary's adherence sentence,
   * the calendar), as a reload would show them. */
  async function reloadPlan() {
    const [patient, prescriptions] = await Promise.all([R.api(base), R.api(`${base}/prescriptions`)]);
    renderPatient(patient);
    state.prescriptions = prescriptions;
    renderPrescriptions();
    await Promise.all([loadAlerts().then(renderCharts), loadAdherence()]);
  }

  async function togglePause() {
    const button = document.getElementById("pause-button");
    // busy, not disabled: a disabled button would lose the keyboard's focus, and the next press would go nowhere
    if (button.getAttribute("aria-busy") === "true") return;
    button.setAttribute("aria-busy", "true");
    try {
      const p = await R.api(base, { method: "PATCH", json: { plan_paused: !state.patient.plan_paused } });
      renderPatient(p);
      planSaid(p.plan_paused ? "The plan is paused: missed sessions are not flagged until you resume it."
        : "The plan is active again.");
      await Promise.all([loadAlerts(), loadAdherence()]);
    } catch (err) {
      R.setStatus(`Could not change the plan: ${err.message}`, "error");
    } finally {
      button.removeAttribute("aria-busy");
    }
  }

  // ---- start ----------------------------------------------------------------------------------

  async function main() {
    document.getElementById("new-prescription").addEventListener("click", () => openEditor(null));
    document.getElementById("prescription-cancel").addEventListener("click", () => dialog().close());
    form().addEventListener("submit", savePrescription);
    form().elements.exercise.addEventListener("change", (e) => fillPostures(e.target.value));
    document.getElementById("pause-button").addEventListener("click", togglePause);
    document.getElementById("older-sessions").addEventListener("click", loadOlderSessions);
    try {
      const [patient, prescriptions] = await Promise.all([R.pagePatient(patientId), R.api(`${base}/prescriptions`)]);
      renderPatient(patient);
      state.prescriptions = prescriptions;
      renderPrescriptions();
      R.setStatus("");
      // the charts follow the alerts: a motion with a change to review has a chart, prescribed or not
      await Promise.all([loadAlerts().then(renderCharts), loadAdherence(), loadSessions()]);
    } catch (err) {
      R.setStatus(err.status === 404 ? "This patient was not found." : `Could not load the patient: ${err.message}`, "error");
    } finally {
      document.body.dataset.loaded = "true";
    }
  }

  main();
})();
