/* The session page: for each set, the angle-time curve with its reps and the target band. A rep whose
 * furthest point was not seen (the limb out of view, peak_seen false) shows the angle seen as a bound; a rep
 * that went past one of the PT's safe limits (past_safe) says which, as `romcam analyze` told the patient; a set
 * measured on too few frames a second (too_few_frames) says its count and peaks are not to be trusted. */
"use strict";

(function () {
  const R = window.romcam;
  const C = window.romcamCharts;
  const { el } = R;
  const sessionId = document.body.dataset.sessionId;

  /** What a rep past one of the set's safe limits says (the server judges it on the rep's angles and the limits
   * of the prescription version the set followed, or else those given to `romcam analyze`, as `romcam analyze`
   * flags it), or null. */
  function pastSafeNote(past, set) {
    // a limit given to `romcam analyze` for a set filed under no prescription is not the PT's: it says so
    const whose = (end) => (set.safe_limits_from === "analyze" ? `the safe ${end} given to romcam analyze` : `the PT's safe ${end}`);
    const max = `${whose("maximum")} (${R.fmtPlanAngle(set.safe_max)})`;
    const min = `${whose("minimum")} (${R.fmtPlanAngle(set.safe_min)})`;
    return { max: `past ${max}`, min: `past ${min}`, both: `past ${max} and ${min}` }[past] || null;
  }

  /** "safe maximum 130° (went past it in repetitions 1, 3)", or without the bracket when no rep went past; a limit
   * given to `romcam analyze` (a set filed under no prescription) says so: "safe maximum 130°, given to romcam
   * analyze (…)". */
  function safeFact(name, limit, end, reps, from) {
    if (limit === null || limit === undefined) return null;
    const past = reps.map((r, i) => (r.past_safe === end || r.past_safe === "both" ? i + 1 : null)).filter(Boolean);
    const which = past.length ? ` (went past it in repetition${past.length === 1 ? "" : "s"} ${past.join(", ")})` : "";
    return `${name} ${R.fmtPlanAngle(limit)}${from === "analyze" ? ", given to romcam analyze" : ""}${which}`;
  }

  /** A set measured on fewer than MIN_COUNT_FPS frames a second (the server's too_few_frames, from the set's own
   * samples; the coach warned the patient as it happened): its rep count and peaks are not to be trusted. Words as
   * romcam.sample_rate.too_few_frames_note says them (2, 2.5). */
  const MIN_COUNT_FPS = 4;  // romcam.sample_rate.MIN_COUNT_FPS: the server judges, this only words it
  function fewFramesNote(fps) {
    return `Measured on ${Number(fps.toFixed(1))} pictures a second: too few to be sure of the rep count and the `
      + `peaks (${MIN_COUNT_FPS} or more needed).`;
  }

  /** The target the set's reps were judged by ("short of the target"): the plan version's range; else the one
   * given to `romcam analyze` (kept with the set: target_judged), said as such, as a safe limit given to it is —
   * "no target" above reps marked short of one would contradict them; and a --target given beside the plan's,
   * which judged the reps instead of the plan's near end, says so. */
  function targetFact(set) {
    const judged = set.target_judged;
    const has = (v) => v !== null && v !== undefined;
    if (!has(set.target_min)) {
      return has(judged) ? `target ${R.fmtPlanAngle(judged)}, given to romcam analyze (not from a prescription)`
        : "no target (not from a prescription)";
    }
    const near = set.works === "min" ? set.target_max : set.target_min;
    const other = has(judged) && Math.abs(judged - near) > 0.05
      ? `; the repetitions were judged against ${R.fmtPlanAngle(judged)}, given to romcam analyze` : "";
    // a live set refiled under a safer limit the PT set during it (target_version): its band is the earlier
    // version's, the one it was coached to — "(plan v2)" beside v1's numbers would misname them
    const version = has(set.target_version)
      ? ` (plan v${set.target_version}, the version the set was coached to; filed under v${set.prescription_version}, `
        + "whose safer limit took over during it)"
      : set.prescription_version ? ` (plan v${set.prescription_version})` : "";
    return `target ${R.fmtPlanRange(set.target_min, set.target_max)}${version}${other}`;
  }

  function repTable(set, title) {
    const reps = set.reps || [];
    const worksMin = set.works === "min";
    if (!reps.length) return el("p", { class: "empty", text: "No complete repetition was detected in this set." });
    // the times are seconds into the set, the angles the rep's two ends: "Peak 2.0 s" beside "Highest 117°" read as
    // a second angle column to a PT
    const table = el("table", { class: "reps" });
    table.append(el("thead", {}, el("tr", {}, ...["Rep", "Starts at", "Peak at", "Ends at", "Highest angle", "Lowest angle", "Held near peak", "Note"]
      .map((h) => el("th", { scope: "col", text: h })))));
    const body = el("tbody");
    reps.forEach((r, i) => {
      const notes = [];
      if (r.partial) notes.push("partial (cut off at the start or end of the set)");
      if (r.below_target) notes.push("short of the target");
      const unseen = r.peak_seen === false;
      if (unseen) notes.push(`${R.NOT_SEEN} (out of view): it got at least this far`);
      const past = pastSafeNote(r.past_safe, set);
      if (past) notes.push(past);
      const high = unseen && !worksMin ? R.fmtBound(r.max_angle, "max") : R.fmtAngle(r.max_angle);
      const low = unseen && worksMin ? R.fmtBound(r.min_angle, "min") : R.fmtAngle(r.min_angle);
      body.append(el("tr", { class: [unseen ? "not-seen" : null, past ? "past-safe" : null].filter(Boolean).join(" ") || null,
        dataset: { peakSeen: String(!unseen), pastSafe: r.past_safe || "" } },
        el("td", { text: String(i + 1) }),
        el("td", { class: "num", text: `${r.start.toFixed(1)} s` }),
        el("td", { class: "num", text: `${r.peak.toFixed(1)} s` }),
        el("td", { class: "num", text: `${r.end.toFixed(1)} s` }),
        el("td", { class: "num", text: high }),
        el("td", { class: "num", text: low }),
        el("td", { class: "num", text: `${(r.hold_s || 0).toFixed(1)} s` }),
        el("td", { text: notes.join("; ") })));
    });
    table.append(body);
    return R.scrollBox(table, `Repetitions: ${title}`);
  }

  function renderSet(container, set, index) {
    const name = R.exerciseName(set.exercise, set.exercise_name);
    const title = `${name} — ${R.sideLabel(set.side).toLowerCase()} side, ${R.seriesLabel(set.mode, set.posture).toLowerCase()}`;
    const canvas = el("canvas", { role: "img", "aria-label": `${title}: joint angle over time with the repetitions marked` });
    const figure = el("figure", { class: "chart session-chart", dataset: { exercise: set.exercise, side: set.side, set: String(index) } },
      el("figcaption", {}, el("h2", { text: title })));
    const full = (set.reps || []).filter((r) => !r.partial).length;
    const partial = (set.reps || []).length - full;
    const reps = set.reps || [];
    const unseen = reps.filter((r) => r.peak_seen === false).length;
    const reached = set.best_seen === false
      ? `Range reached ${set.works === "min" ? `${R.fmtBound(set.min_angle, "min")} to ${R.fmtAngle(set.max_angle)}`
        : `${R.fmtAngle(set.min_angle)} to ${R.fmtBound(set.max_angle, "max")}`} (${R.NOT_SEEN} in ${unseen} of `
        + `${reps.length} repetition${reps.length === 1 ? "" : "s"}: the joint was out of view, so it got at least that far)`
      : `Range reached ${R.fmtRange(set.min_angle, set.max_angle)}`;
    const facts = [
      reached,
      `${full} repetition${full === 1 ? "" : "s"}${partial ? ` (+${partial} partial)` : ""}`,
      targetFact(set),
      safeFact("safe maximum", set.safe_max, "max", reps, set.safe_limits_from),
      safeFact("safe minimum", set.safe_min, "min", reps, set.safe_limits_from),
    ].filter(Boolean);
    const m = R.motion(set.exercise);
    const noise = m ? R.noiseNote(m.works, m.noise.peak, m.noise.back) : "";
    figure.append(el("p", { class: "chart-note", dataset: { bestSeen: String(set.best_seen !== false) },
      text: facts.join(" · ") + "." + (noise ? ` ${noise}` : "") }));
    if (set.too_few_frames) figure.append(el("p", { class: "warning few-frames", text: fewFramesNote(set.sample_fps) }));
    for (const w of set.warnings || []) figure.append(el("p", { class: "warning", text: `Note: ${w}` }));
    const box = el("div", { class: "chart-box" }, canvas);
    figure.append(box);
    container.append(figure);
    let result = { points: 0, reps: 0 };
    const samples = set.samples;
    if (samples && samples.t && samples.t.length && C.available) {
      result = C.sessionChart(canvas, set);
    } else {
      box.replaceChildren(el("p", { class: "empty", text: C.available ? "No samples were stored for this set." : "The chart library did not load." }));
    }
    figure.dataset.points = String(result.points);
    figure.dataset.reps = String((set.reps || []).length);
    figure.append(el("h3", { text: "Repetitions" }), repTable(set, title));
  }

  async function main() {
    try {
      const s = await R.api(`/api/sessions/${sessionId}`);
      document.title = `Session ${R.fmtDate(s.started_at)} — romcam`;
      document.getElementById("session-title").textContent = `Session of ${R.fmtDateTime(s.started_at)}`;
      if (s.patient_id) {
        const link = document.getElementById("patient-link");
        link.href = `/patients/${s.patient_id}`;
        link.hidden = false;
      }
      const seconds = s.ended_at ? Math.max(0, Math.round((R.toDate(s.ended_at) - R.toDate(s.started_at)) / 1000)) : null;
      const minutes = seconds !== null ? Math.round(seconds / 60) : null;
      const bits = [  // under a minute in seconds: a 14 s session is not "0 minutes"
        seconds === null ? null : seconds < 60 ? `${seconds} s` : `${minutes} minute${minutes === 1 ? "" : "s"}`,
        s.status === "interrupted" ? "interrupted before the end" : "completed",
        s.demo ? "demo data, not a real patient session" : null,
        s.source ? `source: ${s.source}` : null,
      ].filter(Boolean);
      document.getElementById("session-summary").textContent = bits.join(" · ");
      if (s.clock_note) {  // the times above are the laptop's, not corrected: say how far its clock was off
        const clock = document.getElementById("session-clock");
        clock.textContent = s.clock_note.charAt(0).toUpperCase() + s.clock_note.slice(1) + ".";
        clock.hidden = false;
      }
      const checkins = s.checkins || [];
      if (checkins.length) {
        const list = document.getElementById("checkin-list");
        list.replaceChildren(...checkins.map((c) => el("li", {
          text: `Pain ${c.pain}/10 · tiredness ${c.tiredness}/10 · cramps: ${c.cramps ? "yes" : "no"}` +
            (c.note ? ` · “${c.note}”` : "") + ` (${R.fmtDateTime(c.created_at)})`,
        })));
        document.getElementById("checkins").hidden = false;
      }
      const container = document.getElementById("sets");
      container.replaceChildren();
      (s.sets || []).forEach((set, i) => renderSet(container, set, i));
      if (!(s.sets || []).length) container.append(el("p", { class: "empty", text: "This session has no exercise sets." }));
      container.dataset.ready = "true";
      R.setStatus("");
    } catch (err) {
      R.setStatus(err.status === 404 ? "This session was not found." : `Could not load the session: ${err.message}`, "error");
    } finally {
      document.body.dataset.loaded = "true";
    }
  }

  main();
})();
