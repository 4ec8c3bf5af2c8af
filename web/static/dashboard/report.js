/* The printable report: latest values, changes to review, trend charts (per prescribed motion, and per motion
 * with a change to review that the plan no longer holds) and the session calendar. */
"use strict";

(function () {
  const R = window.romcam;
  const C = window.romcamCharts;
  const { el } = R;
  const patientId = document.body.dataset.patientId;
  const base = `/api/patients/${patientId}`;
  const charts = [];
  // the change notes' rule (romcam/store/trends.py RECENT_SESSIONS, BASELINE_MIN_SESSIONS)
  const RECENT_SESSIONS = 3;
  const BASELINE_MIN_SESSIONS = 3;

  /** Mirrors the alert rule so the table explains any alert: the last 3 sessions against the 4 weeks before,
   * counting only sessions whose furthest point was seen (a bound is not a measurement) and measured on enough frames
   * a second (too_few_frames: the peaks uncertain). */
  function compare(all) {
    const points = all.filter((p) => p.best_seen !== false && !R.fewFrames(p));
    if (!points.length) return { recent: null, baseline: null, n: 0, recentN: 0 };
    const last3 = points.slice(-RECENT_SESSIONS);
    const start = R.toDate(last3[0].date).getTime();
    const before = points.filter((p) => {
      const t = R.toDate(p.date).getTime();
      return t < start && t >= start - 28 * R.DAY_MS;
    });
    return { recent: R.median(last3.map((p) => p.best_angle)), baseline: R.median(before.map((p) => p.best_angle)),
      n: before.length, recentN: last3.length };
  }

  /** The medians' cell: "100° / 128°"; a side with fewer sessions than the rule compares says how many, so a
   * gap the change notes do not flag is not read as one they missed. */
  function compareCell(cmp) {
    const few = (k) => `${k} session${k === 1 ? "" : "s"}`;
    const recent = cmp.recentN && cmp.recentN < RECENT_SESSIONS
      ? `${R.fmtAngle(cmp.recent)} (${few(cmp.recentN)})` : R.fmtAngle(cmp.recent);
    const baseline = !cmp.n ? "—" : cmp.n < BASELINE_MIN_SESSIONS
      ? `${R.fmtAngle(cmp.baseline)} (${few(cmp.n)}: too few to compare, ${BASELINE_MIN_SESSIONS} needed)`
      : R.fmtAngle(cmp.baseline);
    return `${recent} / ${baseline}`;
  }

  /** The plan's target for this series as it stands now (the current version of the active prescription with its
   * mode and posture), as the patient page says it — not the target the last session followed, which is none for
   * a session recorded without the plan (`romcam analyze --save`). */
  function targetNow(group, series) {
    const rx = (group.prescriptions || []).find((p) => p.mode === series.mode && p.posture === series.posture);
    // the range kept on one line, its version free to go under it: the table keeps to the page's width
    return rx ? [el("span", { class: "nowrap", text: R.fmtSpan(rx.target_min, rx.target_max, R.fmtPlanAngle) }),
      ` (plan v${rx.version})`] : ["— (none in the plan now)"];
  }

  function latestRows(group, trends) {
    const rows = [];
    const normal = trends.normal || {};
    for (const s of trends.series || []) {
      const pts = (s.points || []).filter((p) => p.best_angle !== null && p.best_angle !== undefined)
        .sort((a, b) => R.toDate(a.date) - R.toDate(b.date));
      if (!pts.length) continue;
      const last = pts[pts.length - 1];
      const cmp = compare(pts);
      // the latest session's reps past the limit its sets were judged against, in the session page's words, under
      // its best angle (a column of its own would not fit the page's width); the charts' notes name every limit
      const safeNote = R.wentPastSafe(last) ? el("span", { class: "safe-note past-safe",
        text: R.pastSafeClauses(last).filter((c) => !c.startsWith("no rep")).join("; ") }) : null;
      // and its reps short of the target, as the patient page's session list says them (none short: nothing)
      const shortText = R.shortOfTargetText(last, trends.works);
      const shortNote = shortText ? el("span", { class: "safe-note short-note", text: shortText }) : null;
      const notes = [safeNote, shortNote].filter(Boolean);
      rows.push(el("tr", {},
        el("td", { text: `${R.exerciseName(group.exercise, trends.exercise_name)}, ${R.sideLabel(group.side).toLowerCase()}`
          + (group.inPlan ? "" : " (not in the current plan)") }),
        el("td", { text: R.seriesLabel(s.mode, s.posture) }),
        // a bound or an uncertain angle (too few frames a second) and why: the note wraps, so the table keeps to
        // the page's width
        // (or no repetition counted: the furthest angle the joint went, not a rep's peak)
        R.uncertainReasons(last).length || R.noReps(last)
          ? el("td", { class: `num wraps${last.best_seen === false ? " not-seen" : ""}${R.fewFrames(last) ? " few-frames" : ""}${R.noReps(last) ? " no-reps" : ""}` },
            el("span", { class: "nowrap", text: `${last.best_seen === false ? R.fmtBound(last.best_angle, trends.works) : R.fmtAngle(last.best_angle)}:` }),
            ` ${[...R.uncertainReasons(last), R.noReps(last) ? R.NO_REPS : ""].filter(Boolean).join("; ")}`, ...notes)
          : el("td", { class: notes.length ? "num wraps" : "num" }, el("span", { class: "nowrap", text: R.fmtAngle(last.best_angle) }), ...notes),
        el("td", { text: R.fmtShortDate(last.date) + " " + R.toDate(last.date).getFullYear() }),
        el("td", { class: "num wraps", text: compareCell(cmp) }),
        el("td", { class: "num wraps" }, ...targetNow(group, s)),
        el("td", { class: "num", text: R.fmtSpan(normal.min, normal.max) })));
    }
    return rows;
  }

  /** The last session that measured something, any begun after it that measured nothing, and one still being
   * recorded. */
  function lastSentence(p) {
    const notes = [R.unmeasuredNote(p), R.recordingNote(p)].filter(Boolean).join("; ");
    if (p.last_measured_session_at) return `Last session ${R.fmtDate(p.last_measured_session_at)}${notes ? `; ${notes}` : ""}.`;
    return notes ? `No session has measured anything yet: ${notes}.` : "No sessions yet.";
  }

  async function main() {
    document.getElementById("print-button").addEventListener("click", () => window.print());
    document.getElementById("patient-link").href = `/patients/${patientId}`;
    try {
      const [patient, prescriptions, alerts, adherence] = await Promise.all([
        R.api(base), R.api(`${base}/prescriptions`), R.api(`${base}/alerts`), R.api(R.adherencePath(base, R.calendarDays()))]);
      document.title = `${patient.name}: range-of-motion report — romcam`;
      document.getElementById("report-title").textContent = `Range-of-motion report: ${patient.name}`;
      document.getElementById("report-summary").textContent = [
        lastSentence(patient),
        R.adherenceSentence(patient),
        patient.plan_paused ? "The plan is paused." : "",
      ].join(" ");
      const groups = new Map();
      for (const p of prescriptions) {
        const key = `${p.exercise}|${p.side}`;
        if (!groups.has(key)) groups.set(key, { exercise: p.exercise, side: p.side, name: p.exercise_name, prescriptions: [] });
        groups.get(key).prescriptions.push(p);
      }
      // every change still to review, open or snoozed (a snooze quiets the badge, it does not make a 26° loss
      // go away on paper): the API lists no resolved one
      const list = [...groups.values()].map((g) => ({ ...g, inPlan: true }))
        .concat(R.alertedMotions(alerts, [...groups.values()]).map((m) => ({ ...m, name: null, prescriptions: [], inPlan: false })));
      const trends = await Promise.all(list.map((g) => R.api(
        `${base}/trends?exercise=${encodeURIComponent(g.exercise)}&side=${encodeURIComponent(g.side)}`)));
      const tbody = document.querySelector("#latest tbody");
      list.forEach((g, i) => tbody.append(...latestRows(g, trends[i])));
      if (!tbody.children.length) tbody.append(el("tr", {}, el("td", { colspan: "7", text: "No sessions recorded yet." })));

      R.renderAlerts(document.getElementById("alerts"), alerts, null);

      let xMin = Infinity, xMax = -Infinity;
      for (const t of trends) for (const s of t.series || []) for (const p of s.points || []) {
        const x = R.toDate(p.date).getTime();
        xMin = Math.min(xMin, x); xMax = Math.max(xMax, x);
      }
      const container = document.getElementById("charts");
      list.forEach((g, i) => {
        const t = trends[i];
        const title = `${R.exerciseName(g.exercise, t.exercise_name || g.name)} — ${R.sideLabel(g.side).toLowerCase()} side`;
        const canvas = el("canvas", { role: "img", "aria-label": `${title}: best angle per session over time` });
        const figure = el("figure", { class: g.inPlan ? "chart" : "chart not-in-plan",
          dataset: { exercise: g.exercise, side: g.side, inPlan: String(g.inPlan) } },
          el("figcaption", {}, el("h3", { text: g.inPlan ? title : `${title} (not in the current plan)` })),
          g.inPlan ? null : el("p", { class: "plan-note", text: R.notInPlanNote(t) }),
          el("p", { class: "chart-note", text: R.noiseNote(t.works, t.measurement_noise_deg, t.return_noise_deg) }),
          el("div", { class: "chart-box" }, canvas));
        container.append(figure);
        const has = (t.series || []).some((s) => (s.points || []).length);
        if (has && C.available) {
          const r = C.trendChart(canvas, t, { print: true, xMin: xMin - R.DAY_MS, xMax: xMax + R.DAY_MS });
          charts.push(r.chart);
          figure.dataset.points = String(r.points);
          figure.dataset.pastSafe = String(r.pastSafe);
          // the safe limit line and the crosses in words, per series (on paper and for a screen reader)
          for (const s of t.series || []) {
            const text = R.safeSeriesText(s.points || []);
            if (text) figure.append(el("p", { class: "safe-note", text: `${R.seriesLabel(s.mode, s.posture)}: ${text}` }));
            const short = R.shortSeriesText(s.points || [], t.works);
            if (short) figure.append(el("p", { class: "short-note", text: `${R.seriesLabel(s.mode, s.posture)}: ${short}` }));
          }
        } else {
          figure.dataset.points = "0";
          canvas.replaceWith(el("p", { class: "empty", text: "No sessions recorded for this motion yet." }));
        }
      });
      R.renderCalendar(document.getElementById("adherence"), adherence, { paused: patient.plan_paused });
      document.getElementById("generated").textContent =
        `Generated by romcam on ${R.fmtDateTime(new Date())}. Angles are measured from a webcam; see each session for `
        + "the measurement notes. Median columns: the last 3 sessions / the 4 weeks before them (the rule the "
        + "change notes use).";
      R.setStatus("");
      container.dataset.ready = "true";
    } catch (err) {
      R.setStatus(err.status === 404 ? "This patient was not found." : `Could not load the report: ${err.message}`, "error");
    } finally {
      document.body.dataset.loaded = "true";
    }
  }

  // charts keep their size on paper: the report column has the same width on screen and in print
  window.addEventListener("beforeprint", () => charts.forEach((c) => c.resize()));
  window.addEventListener("afterprint", () => charts.forEach((c) => c.resize()));
  main();
})();
