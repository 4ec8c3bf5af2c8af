/* romcam dashboard: helpers shared by every page (API calls, formatting, DOM, catalog, calendar, alerts).
 *
 * No framework and no inline script: each page loads this file, then its own. Data goes into the
 * DOM as text (never as HTML), so a patient's name cannot inject markup.
 */
"use strict";

window.romcam = (function () {
  const MODE_LABEL = { active: "Active", active_assisted: "Active-assisted", passive: "Passive" };
  const POSTURE_LABEL = { standing: "standing", seated: "seated", lying: "lying" };
  const SIDE_LABEL = { left: "Left", right: "Right" };
  const DAY_MS = 86400000;

  const SAFE_METHODS = ["GET", "HEAD", "OPTIONS"];
  let mePromise = null;

  /** Who is logged in, and the session's CSRF token ({user, csrf_token, mode}); asked once per page. */
  function me() {
    if (!mePromise) {
      mePromise = fetch("/api/auth/me", { headers: { Accept: "application/json" } })
        .then((r) => (r.ok ? r.json() : null))
        .catch(() => null);
    }
    return mePromise;
  }

  const patientPromises = new Map();

  /** The patient (GET /api/patients/{id}) as the page first loaded it, asked once per page whichever of its
   * scripts asks first (the patient page, its device tokens, its clinician): each GET is a "view" row in a clinic's
   * audit log, and one visit is one view. After a change, a script asks the API itself. */
  function pagePatient(id) {
    if (!patientPromises.has(id)) patientPromises.set(id, api(`/api/patients/${id}`));
    return patientPromises.get(id);
  }

  /** Fetch JSON from the API; throw an Error whose message a person can read. Writes carry the login
   * session's CSRF token in X-CSRF-Token (clinic servers refuse a cookie-authenticated write without it). */
  async function api(path, options = {}) {
    const init = { headers: { Accept: "application/json" }, ...options };
    if (options.json !== undefined) {
      init.method = init.method || "POST";
      init.headers = { ...init.headers, "Content-Type": "application/json" };
      init.body = JSON.stringify(options.json);
      delete init.json;
    }
    if (!SAFE_METHODS.includes((init.method || "GET").toUpperCase())) {
      const who = await me();
      if (who && who.csrf_token) init.headers = { ...init.headers, "X-CSRF-Token": who.csrf_token };
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      throw new Error("The romcam server could not be reached. Is it running?");
    }
    if (response.status === 401) {
      // the login session ended (logout, timeout, password change): back to this page after the login
      window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`);
      const error = new Error("Please log in again.");
      error.status = 401;
      throw error;
    }
    if (response.status === 204) return null;
    let body = null;
    const text = await response.text();
    if (text) {
      try { body = JSON.parse(text); } catch (err) { body = text; }
    }
    if (!response.ok) {
      const error = new Error(describeError(response.status, body));
      error.status = response.status;
      error.body = body;
      throw error;
    }
    return body;
  }

  /** FastAPI errors: {"detail": "..."} or {"detail": [{loc, msg}, ...]} (422). */
  function describeError(status, body) {
    const detail = body && typeof body === "object" ? body.detail : null;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail.map((d) => {
        const loc = (d.loc || []).filter((part) => part !== "body").join(".");
        return loc ? `${loc}: ${d.msg}` : d.msg;
      }).join("; ");
    }
    return `The server answered ${status}.`;
  }

  /** el("a", {href: "/", class: "x", dataset: {id: 1}}, "text", child) */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** A table in a box of its own that scrolls sideways when the window is narrower than the table (a tablet,
   * a phone), so the page itself never does and the type stays large: a keyboard reaches the box (Tab, then
   * the arrow keys) and a screen reader names it (``label``). */
  function scrollBox(table, label) {
    return el("div", { class: "table-scroll", role: "region", tabindex: "0", "aria-label": label }, table);
  }

  function setStatus(text, kind) {
    const node = document.getElementById("status");
    if (!node) return;
    node.textContent = text || "";
    node.hidden = !text;
    node.className = "status" + (kind ? " status-" + kind : "");
  }

  // ---- formatting -------------------------------------------------------------------------

  const dateFmt = new Intl.DateTimeFormat("en-GB", { weekday: "short", day: "numeric", month: "short", year: "numeric" });
  const shortDateFmt = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short" });
  const weekdayFmt = new Intl.DateTimeFormat("en-GB", { weekday: "long" });
  const timeFmt = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit" });

  /** A Date from an ISO time, or from a plain "YYYY-MM-DD" date taken as a local calendar day. */
  function toDate(value) {
    if (value instanceof Date) return value;
    if (typeof value === "number") return new Date(value);
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || "");
    if (m) return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    return new Date(value);
  }
  const fmtDate = (v) => dateFmt.format(toDate(v));
  const fmtShortDate = (v) => shortDateFmt.format(toDate(v));
  // the reader's wall clock to the second, to tell whether it showed a time twice
  const wallFmt = new Intl.DateTimeFormat("en-GB", { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  const CLOCK_CHANGE_MS = [30, 60, 120].map((minutes) => minutes * 60_000);  // every size a zone's clocks have gone back by

  /** Whether the reader's clock showed this time twice (the hour repeated the night the clocks go back):
   * "before" for the first time it did (before the clocks went back), "after" for the second, null if only once. */
  function repeatedTime(d) {
    const t = d.getTime();
    if (Number.isNaN(t)) return null;
    const wall = wallFmt.format(d);
    for (const step of CLOCK_CHANGE_MS) {
      if (wallFmt.format(new Date(t + step)) === wall) return "before";
      if (wallFmt.format(new Date(t - step)) === wall) return "after";
    }
    return null;
  }

  /** The reader's offset from UTC at ``d`` as the CSV's *_utc_offset columns write it: "UTC+02:00", "UTC-06:00". */
  function utcOffset(d) {
    const part = Object.fromEntries(wallFmt.formatToParts(d).map((p) => [p.type, p.value]));
    const wallMs = Date.UTC(Number(part.year), Number(part.month) - 1, Number(part.day), Number(part.hour) % 24,
      Number(part.minute), Number(part.second));
    const minutes = Math.round((wallMs - Math.floor(d.getTime() / 1000) * 1000) / 60_000);
    const abs = Math.abs(minutes);
    return `UTC${minutes < 0 ? "-" : "+"}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
  }

  /** "Sun, 26 Oct 2025, 02:30" in the reader's zone; a time the clock showed twice that night says which one:
   * "Sun, 26 Oct 2025, 02:30 (UTC+02:00, before the clocks went back)" — the offset as the CSV writes it. */
  function fmtDateTime(v) {
    const d = toDate(v);
    const repeated = repeatedTime(d);
    const which = repeated ? ` (${utcOffset(d)}, ${repeated} the clocks went back)` : "";
    return `${dateFmt.format(d)}, ${timeFmt.format(d)}${which}`;
  }
  const isoDay = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;

  function fmtAngle(v) {
    if (v === null || v === undefined || !Number.isFinite(Number(v))) return "—";
    return `${Math.round(Number(v))}°`.replace("-", "−");
  }
  /** An angle the PT prescribed, as stored (92.5°, not 93°): a measured angle is rounded, a prescribed one is
   * what the PT typed and the coach holds the patient to. */
  function fmtPlanAngle(v) {
    if (v === null || v === undefined || !Number.isFinite(Number(v))) return "—";
    return `${Number(v)}°`.replace("-", "−");
  }
  function fmtRange(lo, hi, fmt = fmtAngle) {
    if (lo === null || lo === undefined || hi === null || hi === undefined) return "—";
    return `${fmt(lo)} to ${fmt(hi)}`;
  }
  /** A prescribed range as stored: "92.5° to 140°". */
  const fmtPlanRange = (lo, hi) => fmtRange(lo, hi, fmtPlanAngle);
  /** Compact range for tables: "120–160°", "−60 to 180°" (a dash beside a minus sign would mislead). */
  function fmtSpan(lo, hi, fmt = fmtAngle) {
    if (lo === null || lo === undefined || hi === null || hi === undefined) return "—";
    const a = fmt(lo).replace("°", ""), b = fmt(hi);
    return Number(lo) < 0 ? `${a} to ${b}` : `${a}–${b}`;
  }
  /** A furthest point not seen: the angle seen is a bound, the joint got at least that far
   * ("97° or more" for a motion that works the high end, "45° or less" for one that works the low end). */
  const NOT_SEEN = "furthest point not seen";
  /** A session's best angle from a set measured on fewer than 4 frames a second of the movement (the server's
   * too_few_frames, romcam/sample_rate.py): its rep count and peaks are not to be trusted. */
  const FEW_FRAMES = "measured on too few frames a second";
  const fewFrames = (p) => Boolean(p && p.too_few_frames);
  /** A session with no repetition counted in the series (reps_counted 0: the joint held still, or moved too little
   * for a rep): its best angle is the furthest the joint went at any moment, not a rep's peak — a seated knee resting
   * at 98° is not a knee bent to 98°. Still counted in the medians and the change notes, as the server counts it. */
  const NO_REPS = "no repetition counted";
  const noReps = (p) => Boolean(p && p.reps_counted === 0);
  /** Why a trend point is hollow and left out of the medians and the decline rule: one reason or both. */
  function uncertainReasons(p) {
    return [p.best_seen === false ? NOT_SEEN : "", fewFrames(p) ? FEW_FRAMES : ""].filter(Boolean);
  }
  function fmtBound(v, works) {
    return `${fmtAngle(v)} ${works === "min" ? "or less" : "or more"}`;
  }
  /** A safe limit in the words every page uses, with where it came from: "the PT's safe maximum 130°" (the
   * prescription version the set followed) or "the safe maximum 130° given to romcam analyze" (a set filed under
   * no prescription, analysed with --safe-max: not a limit the PT prescribed). romcam/safe_limits.py set_limits. */
  function safeLimitText(end, limit, from) {
    const name = `safe ${end === "min" ? "minimum" : "maximum"}`;
    return from === "analyze" ? `the ${name} ${fmtPlanAngle(limit)} given to romcam analyze`
      : `the PT's ${name} ${fmtPlanAngle(limit)}`;
  }
  /** "2 reps past the PT's safe maximum 130°" ("no rep past …" when none did), one per limit ``x`` has: a set
   * of /api/sessions or a trend point (safe_max, safe_min, safe_limits_from, reps_past_safe_max/min). */
  function pastSafeClauses(x) {
    const out = [];
    for (const [end, limit, n] of [["max", x.safe_max, x.reps_past_safe_max], ["min", x.safe_min, x.reps_past_safe_min]]) {
      if (limit === null || limit === undefined) continue;
      out.push(`${n ? `${n} rep${n === 1 ? "" : "s"}` : "no rep"} past ${safeLimitText(end, limit, x.safe_limits_from)}`);
    }
    return out;
  }
  /** Whether any rep of ``x`` (a set or a trend point) went past one of its safe limits. */
  const wentPastSafe = (x) => Boolean(x && ((x.reps_past_safe_max || 0) + (x.reps_past_safe_min || 0)));
  /** A trend series' safe limits in words, the text beside its chart (a screen reader, paper): the latest limit
   * and each session with a rep past its limit (the chart's red crosses) — "Safe limit: the PT's safe maximum
   * 130°; 1 session with reps past it (red cross): 12 Nov, 2 reps past the PT's safe maximum 130°." "" when no
   * session in ``points`` had a limit. */
  function safeSeriesText(points) {
    const has = (v) => v !== null && v !== undefined;
    const limited = points.filter((p) => has(p.safe_max) || has(p.safe_min));
    if (!limited.length) return "";
    const last = limited[limited.length - 1];
    const limits = [["max", last.safe_max], ["min", last.safe_min]].filter(([, v]) => has(v))
      .map(([end, v]) => safeLimitText(end, v, last.safe_limits_from));
    const head = `Safe limit${limits.length === 1 ? "" : "s"}: ${limits.join(" and ")}`;
    const past = points.filter(wentPastSafe);
    if (!past.length) return `${head}; no session had a rep past it.`;
    return `${head}; ${past.length} session${past.length === 1 ? "" : "s"} with reps past it (red cross): `
      + past.map((p) => `${fmtShortDate(p.date)}, ${pastSafeClauses(p).filter((c) => !c.startsWith("no rep")).join(" and ")}`)
        .join("; ") + ".";
  }
  /** Reps short of the target in the words every page uses: "3 of 8 reps short of the target 90°–120° (stopped
   * below 90°)" — for a motion that works the low end (knee extension: reached by going low enough) "… short of
   * the target 0°–10° (stopped above 10°)". ``x``: a set of /api/sessions (its reps reps_full + reps_partial) or a
   * trend point (reps_counted), with reps_short_of_target, target_min/target_max (the plan version's band) or
   * target_judged (a target given to romcam analyze); ``works``: the catalog's end. "" when no rep fell short or
   * the set had no target (measure only): the server judges (below_target), this only words it. */
  function shortOfTargetText(x, works) {
    const has = (v) => v !== null && v !== undefined;
    const n = (x && x.reps_short_of_target) || 0;
    if (!n || !(has(x.target_min) || has(x.target_judged))) return "";
    const total = has(x.reps_counted) ? x.reps_counted : (x.reps_full || 0) + (x.reps_partial || 0);
    const band = has(x.target_min) && has(x.target_max)
      ? (Number(x.target_min) < 0 ? `${fmtPlanAngle(x.target_min)} to ${fmtPlanAngle(x.target_max)}`
        : `${fmtPlanAngle(x.target_min)}–${fmtPlanAngle(x.target_max)}`)
      : `${fmtPlanAngle(x.target_judged)} given to romcam analyze`;
    const near = has(x.target_judged) ? x.target_judged : works === "min" ? x.target_max : x.target_min;
    const of = total >= n ? `${n} of ${total}` : String(n);
    return `${of} rep${total === 1 && n === 1 ? "" : "s"} short of the target ${band} `
      + `(stopped ${works === "min" ? "above" : "below"} ${fmtPlanAngle(near)})`;
  }
  /** A trend series' reps short of the target in words, the text beside its chart: how many sessions had reps
   * short of their target and the latest session's — "Short of the target: 2 of 5 sessions had reps short of it;
   * the latest, 12 Nov: 3 of 8 reps short of the target 90°–120° (stopped below 90°)." "" when no session did. */
  function shortSeriesText(points, works) {
    const has = (v) => v !== null && v !== undefined;
    const targeted = points.filter((p) => has(p.target_min) || has(p.target_judged));
    const short = targeted.filter((p) => shortOfTargetText(p, works));
    if (!short.length) return "";
    const last = targeted[targeted.length - 1];
    const latest = shortOfTargetText(last, works);
    return `Short of the target: ${short.length} of ${targeted.length} session${targeted.length === 1 ? "" : "s"} `
      + `with a target had reps short of it; the latest, ${fmtShortDate(last.date)}: `
      + `${latest || "every rep reached the target"}.`;
  }
  function fmtPercent(v) {
    if (v === null || v === undefined || !Number.isFinite(Number(v))) return "—";
    return `${Math.round(Number(v) * 100)}%`;
  }
  /** Calendar days (the reader's) from ``value`` to today: 0 today, 1 yesterday. */
  function calendarDaysAgo(value) {
    const then = toDate(value);
    const today = new Date();
    return Math.round((new Date(today.getFullYear(), today.getMonth(), today.getDate())
      - new Date(then.getFullYear(), then.getMonth(), then.getDate())) / DAY_MS);
  }
  /** "today", "yesterday", "3 days ago" — or, for a time on a day after the reader's today (a patient's laptop
   * whose clock runs ahead: the API takes a session dated up to a day ahead), what to check, never "today" beside
   * tomorrow's date. */
  function daysAgo(value) {
    const days = calendarDaysAgo(value);
    if (days < 0) return "dated after today: check the clock of the computer that recorded it";
    if (days === 0) return "today";
    if (days === 1) return "yesterday";
    return `${days} days ago`;
  }
  function median(values) {
    const v = values.filter((x) => x !== null && x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
    if (!v.length) return null;
    const mid = Math.floor(v.length / 2);
    return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  }
  const modeLabel = (m) => MODE_LABEL[m] || m || "";
  const postureLabel = (p) => POSTURE_LABEL[p] || p || "";
  const sideLabel = (s) => SIDE_LABEL[s] || s || "";
  const seriesLabel = (mode, posture) => [modeLabel(mode), postureLabel(posture)].filter(Boolean).join(", ");

  // ---- the exercise catalog (rendered by the server as <datalist id="romcam-catalog">) -----

  function catalog() {
    const list = document.getElementById("romcam-catalog");
    if (!list) return [];
    return Array.from(list.options).map((o) => ({
      id: o.value,
      name: o.dataset.name,
      joint: o.dataset.joint,
      works: o.dataset.works,
      postures: (o.dataset.postures || "").split(" ").filter(Boolean),
      normal: { min: Number(o.dataset.normalMin), max: Number(o.dataset.normalMax), source: o.dataset.normalSource },
      experimental: o.dataset.experimental === "true",
      noise: { peak: Number(o.dataset.noisePeak), back: Number(o.dataset.noiseReturn) },
    }));
  }
  // how sure each end of the range is (the catalog's noise, measured on rendered video): "" when unknown
  function noiseNote(works, peak, back) {
    if (!Number.isFinite(peak) || !Number.isFinite(back)) return "";
    const [hi, lo] = works === "min" ? [back, peak] : [peak, back];
    return `Measurement noise for this motion: about ±${Math.round(hi)}° at the high end of the range, `
      + `±${Math.round(lo)}° at the low end.`;
  }
  function motion(id) {
    return catalog().find((m) => m.id === id) || null;
  }
  function exerciseName(id, fallback) {
    const m = motion(id);
    return fallback || (m ? m.name : id);
  }

  // ---- adherence ----------------------------------------------------------------------------

  /** The reader's IANA time zone: the calendar's days are the ones they live. */
  function timeZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { return "UTC"; }
  }
  /** The adherence calendar's path under a patient's API base. */
  function adherencePath(base, days) {
    return `${base}/adherence?days=${days}&tz=${encodeURIComponent(timeZone())}`;
  }
  /** Whole weeks the calendar shows before this one (its heading says so: "this week and the 8 weeks before"). */
  const CALENDAR_WEEKS_BEFORE = 8;
  /** Days from the Monday CALENDAR_WEEKS_BEFORE weeks back through today: every row of the calendar a whole
   * week but this one (the API's `days` counted 56 back, so the first row began mid-week: 9 rows under
   * "last 8 weeks"). */
  function calendarDays() {
    return 7 * CALENDAR_WEEKS_BEFORE + ((new Date().getDay() + 6) % 7) + 1;
  }
  /** Calendar days since the plan started (0: made today), or null without a plan. */
  function planAgeDays(planStartedAt) {
    return planStartedAt ? Math.max(0, calendarDaysAgo(planStartedAt)) : null;
  }
  /** The sessions begun after the patient's last session that measured something (``last_measured_session_at``,
   * the "last session" the pages show: the figures, calendar and alerts count no session that measured nothing),
   * in words — "a later session, begun Fri, 20 Nov 2026, measured nothing" — or null when there were none. A
   * session still being recorded is none of them (the API leaves it out: see recordingNote). */
  function unmeasuredNote(p) {
    const n = Number(p.unmeasured_since || 0);
    if (n <= 0 || !p.last_unmeasured_session_at) return null;
    const when = fmtDate(p.last_unmeasured_session_at);
    if (p.last_measured_session_at) {
      return n === 1 ? `a later session, begun ${when}, measured nothing` : `${n} later sessions measured nothing, the last begun ${when}`;
    }
    return n === 1 ? `a session begun ${when} measured nothing` : `${n} sessions measured nothing, the last begun ${when}`;
  }
  /** A session still being recorded (``recording_session_at``: on the laptop, the one its live coach is recording;
   * on the clinic's server, no end yet, and it or one of its sets began within the hour; it may yet measure
   * something) in words — "a session is being recorded now, begun 14:05", with the
   * day when not today — or null when none is. */
  function recordingNote(p) {
    const at = p.recording_session_at;
    if (!at) return null;
    return `a session is being recorded now, begun ${calendarDaysAgo(at) === 0 ? timeFmt.format(toDate(at)) : fmtDateTime(at)}`;
  }

  /** "Sessions done against the plan: …" for a patient, saying when a figure counts from the plan's
   * start (a plan made this week has not asked for 30 days of sessions). */
  function adherenceSentence(p) {
    if (p.adherence_7d === null && p.adherence_30d === null) {
      return p.plan_paused && p.plan_started_at ? "The plan was paused all of the last 30 days: nothing was asked." : "Nothing prescribed yet.";
    }
    if (p.adherence_7d === null && p.plan_paused && p.plan_started_at) {
      return `Sessions done against the plan: ${fmtPercent(p.adherence_30d)} over 30 days, not counting the days it `
        + "was paused; it was paused all of the last 7 days.";
    }
    const text = `Sessions done against the plan: ${fmtPercent(p.adherence_7d)} over 7 days, ${fmtPercent(p.adherence_30d)} over 30 days.`;
    const age = planAgeDays(p.plan_started_at);
    if (age === null || age >= 30) return text;
    const since = age === 0 ? "today" : age === 1 ? "yesterday" : `${age} days ago`;
    const which = age >= 7 ? "the 30-day figure counts" : "both figures count";
    return `${text} The plan started ${since} (${fmtDate(p.plan_started_at)}): ${which} from then.`;
  }

  // ---- adherence calendar -----------------------------------------------------------------

  const sessionsText = (n) => (n === 1 ? "1 session" : `${n} sessions`);

  /** A week's "done / planned" cell, in whole sessions as the API counts them (`weeks`): a full week asks for
   * the plan's sessions a week; the plan's first, partial week its share, at least 1, said to be so. */
  function weekTotal(done, week, perWeek) {
    const cell = (text, planned) => el("td", { class: "week-total", dataset: { planned }, text });
    if (!perWeek || !week || week.planned === null) return cell(String(done), "");
    if (week.plan_days === 0) return cell(`${done} (${week.paused_days ? "plan paused" : "before the plan"})`, "0");
    const td = cell(`${done} / ${week.planned}`, String(week.planned));
    if (week.paused_days) {
      const days = week.paused_days === 1 ? "1 day" : `${week.paused_days} days`;
      const label = `${done} of ${sessionsText(week.planned)} asked: the plan was paused ${days} this week, so it `
        + `asks for ${week.planned} of its ${perWeek} a week, for the ${week.plan_days} days it held`;
      td.dataset.planDays = String(week.plan_days);
      td.setAttribute("title", label);
      td.setAttribute("aria-label", label);
      td.append(el("span", { class: "week-note", text: ` (paused ${days})` }));
    } else if (week.plan_days < 7) {
      const label = `${done} of ${sessionsText(week.planned)} asked: the plan started mid-week, so this week asks `
        + `for ${week.planned} of its ${perWeek} a week, for the ${week.plan_days} days it held`;
      td.dataset.planDays = String(week.plan_days);
      td.setAttribute("title", label);
      td.setAttribute("aria-label", label);
      td.append(el("span", { class: "week-note", text: " (plan started mid-week)" }));
    }
    return td;
  }

  /** Weeks (Monday first) of the adherence days, each day with its count of sessions of the plan — sittings:
   * sessions begun within an hour of one another count once, as the API counts them, and the page says so —;
   * sessions outside the plan (another joint, a motion the plan does not hold) are said apart, never counted
   * as done. */
  function renderCalendar(container, adherence, options = {}) {
    container.replaceChildren();
    const days = (adherence && adherence.days) || [];
    if (!days.length) {
      container.append(el("p", { class: "empty", text: "No days to show." }));
      return;
    }
    const counts = new Map(days.map((d) => [d.date, d.sessions]));
    const byDay = new Map(days.map((d) => [d.date, d]));
    const outside = new Map(days.map((d) => [d.date, d.outside_plan || 0]));
    const pausedDays = new Set(days.filter((d) => d.paused).map((d) => d.date)); // asked for nothing
    const tried = new Map(days.map((d) => [d.date, d.nothing_measured || 0])); // started, nothing measured
    let triedTotal = 0;
    let outsideTotal = 0;
    const first = toDate(days[0].date);
    const last = toDate(days[days.length - 1].date);
    const start = new Date(first);
    start.setDate(start.getDate() - ((start.getDay() + 6) % 7)); // back to Monday
    const perWeek = adherence.prescribed_per_week;
    const planDay = adherence.plan_started_at ? isoDay(toDate(adherence.plan_started_at)) : null;
    const weeks = new Map((adherence.weeks || []).map((w) => [w.start, w])); // what each week asks, from the API
    let firstWeek = null; // the plan's first week when it started mid-week and is in view
    const table = el("table", { class: "calendar", dataset: { days: String(days.length) } });
    const caption = `Sessions of the plan per day, this week and the ${CALENDAR_WEEKS_BEFORE} weeks before`;
    table.append(el("caption", { class: "visually-hidden", text: caption }));
    const head = el("tr", {}, el("th", { scope: "col", text: "Week of" }));
    for (const d of ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]) head.append(el("th", { scope: "col", text: d }));
    head.append(el("th", { scope: "col", text: perWeek ? `Done / planned` : "Done" }));
    table.append(el("thead", {}, head));
    const body = el("tbody");
    const todayIso = isoDay(new Date());
    for (let monday = new Date(start); monday <= last; monday.setDate(monday.getDate() + 7)) {
      const row = el("tr", {}, el("th", { scope: "row", text: fmtShortDate(monday) }));
      let done = 0; // sessions on the days the plan held, as the week's planned sessions count them
      let doneBefore = 0; // sessions on the days before the plan's start: shown, not counted against it
      const week = weeks.get(isoDay(monday));
      if (week && week.planned && week.plan_days + (week.paused_days || 0) < 7) firstWeek = week;
      for (let i = 0; i < 7; i++) {
        const day = new Date(monday.getFullYear(), monday.getMonth(), monday.getDate() + i);
        const iso = isoDay(day);
        if (!counts.has(iso)) {
          row.append(el("td", { class: "day day-out", "aria-label": `${fmtDate(day)}: outside the period` }));
          continue;
        }
        const n = counts.get(iso);
        const extra = outside.get(iso);
        const before = planDay !== null && iso < planDay; // nothing was asked that day
        // begun before the plan's start (on its first day: before the PT made it): shown, not counted, as the
        // adherence figure counts from the plan's start
        const early = before ? n : Math.min(n, byDay.get(iso).before_plan || 0);
        doneBefore += early;
        done += n - early;
        outsideTotal += extra;
        const empty = tried.get(iso);
        triedTotal += empty;
        const paused = !before && pausedDays.has(iso);
        const level = n === 0 ? "day-0" : n === 1 ? "day-1" : "day-2";
        const label = `${fmtDate(day)}: ${n === 0 ? "no session" : n === 1 ? "1 session" : `${n} sessions`}`
          + (extra ? `; ${extra} outside the plan, not counted` : "")
          + (empty ? `; ${empty} started, nothing measured, not counted` : "")
          + (before ? " (before the plan)" : early ? ` (${early === n ? "" : `${early} of them `}begun before the plan was made, not counted)` : "")
          + (paused ? " (plan paused: no session asked)" : "");
        row.append(el("td", {
          class: `day ${level}${before ? " day-before" : ""}${paused ? " day-paused" : ""}${iso === todayIso ? " today" : ""}`,
          title: label,
          "aria-label": label,
          dataset: { date: iso, sessions: String(n), beforePlan: String(early), outside: String(extra),
            nothingMeasured: String(empty) },
        }, el("span", { class: "day-num", "aria-hidden": "true", text: String(day.getDate()) }),
        el("span", { class: "day-count", "aria-hidden": "true",
          text: (n ? (n === 1 ? "●" : `●${n}`) : "") + (extra ? "○" : "") + (empty ? "◌" : "") })));
      }
      // as adherence counts it: from the plan's start, so a new plan is not read as missed weeks
      row.append(weekTotal(week && week.plan_days === 0 && !week.paused_days ? doneBefore : done, week, perWeek));
      body.append(row);
    }
    table.append(body);
    container.append(scrollBox(table, caption));
    // what a count means (the API's sittings): the clips of one morning saved one by one are one session done
    container.append(el("p", { class: "hint sittings", text: "Each session counted here is a sitting: sessions "
      + "begun less than an hour after the one before (the clips of one morning, saved one by one) count once, "
      + "on the day the sitting began; a morning and an evening count twice." }));
    if (outsideTotal) {
      const what = outsideTotal === 1 ? "1 session" : `${outsideTotal} sessions`;
      container.append(el("p", { class: "hint outside-plan", dataset: { outside: String(outsideTotal) },
        text: `Also done: ${what} outside the plan (motions it does not hold), not counted as done.` }));
    }
    if (triedTotal) {
      const what = triedTotal === 1 ? "1 session" : `${triedTotal} sessions`;
      container.append(el("p", { class: "hint nothing-measured", dataset: { nothingMeasured: String(triedTotal) },
        text: `Also started: ${what} with nothing measured (◌: no movement seen — the patient stopped, or was not `
          + "in view), not counted as done." }));
    }
    if (firstWeek) {
      container.append(el("p", { class: "hint plan-start", text: `The plan started on a `
        + `${weekdayFmt.format(toDate(planDay))}, mid-week: its first week asks for ${sessionsText(firstWeek.planned)}, `
        + `its share of ${perWeek} a week for the ${firstWeek.plan_days} days it held, in whole sessions.` }));
    }
    if (planDay !== null && planDay > days[0].date) {
      container.append(el("p", { class: "hint", text: `The plan started ${fmtDate(adherence.plan_started_at)}: the days before it are greyed.` }));
    }
    if (pausedDays.size) {
      container.append(el("p", { class: "hint plan-paused-days", dataset: { paused: String(pausedDays.size) },
        text: `Days with a dotted border: the plan was paused (${pausedDays.size === 1 ? "1 day" : `${pausedDays.size} days`} `
          + "here); they ask for no session, and sessions done on them still count as done." }));
    }
    if (options.paused) {
      container.append(el("p", { class: "hint", text: "The plan is paused now: missed sessions are not flagged." }));
    }
  }

  // ---- alerts -----------------------------------------------------------------------------

  /** Each kind of alert's title, by the end of the range the motion works (the catalog's ``works``): a decline
   * is a lower angle for a motion that works the high end, a higher one for a motion that works the low end
   * (a knee that no longer straightens), and the title must not say "below" when the angle went up. */
  const ALERT_KIND = {
    decline: { max: "Range below this patient's baseline",
      min: "Less far than this patient's baseline (a higher angle: this exercise works the low end)" },
    other_end: "The other end of the range is narrowing",
    missed_sessions: "Fewer sessions than planned",
  };

  function alertKindTitle(a) {
    const title = ALERT_KIND[a.kind];
    if (!title) return a.kind;
    if (typeof title === "string") return title;
    const m = a.exercise ? motion(a.exercise) : null;
    return title[m && m.works === "min" ? "min" : "max"];
  }

  function alertTitle(a) {
    const name = a.exercise ? exerciseName(a.exercise) : "";
    // "Knee extension (seated)" says its posture already: not "…(seated), right, active, seated"
    const posture = a.posture && !name.includes(`(${postureLabel(a.posture)})`) ? postureLabel(a.posture) : "";
    const what = a.exercise ? [name, a.side && sideLabel(a.side).toLowerCase(),
      a.mode && modeLabel(a.mode).toLowerCase(), posture].filter(Boolean).join(", ") : "";
    return what ? `${alertKindTitle(a)}: ${what}` : alertKindTitle(a);
  }

  /** The alert list; onSnooze(alert, days) given → a snooze control on each open alert. */
  function renderAlerts(list, alerts, onSnooze) {
    list.replaceChildren();
    const sorted = [...alerts].sort((a, b) => (a.status === b.status ? 0 : a.status === "open" ? -1 : 1));
    if (!sorted.length) {
      list.append(el("li", { class: "empty", text: "Nothing to review: no change larger than the measurement noise, and sessions as planned." }));
      return;
    }
    for (const a of sorted) {
      const item = el("li", { class: `alert alert-${a.status}`, dataset: { alertId: a.id, kind: a.kind, status: a.status,
        exercise: a.exercise || "", side: a.side || "", mode: a.mode || "", posture: a.posture || "" } },
        el("p", { class: "alert-title" }, el("span", { class: "alert-icon", "aria-hidden": "true", text: "i" }), alertTitle(a)),
        el("p", { class: "alert-message", text: a.message }),
        el("p", { class: "alert-meta", text: a.status === "snoozed" && a.snoozed_until
          ? `Snoozed until ${fmtDate(a.snoozed_until)} · first noted ${fmtDate(a.created_at)}`
          : `First noted ${fmtDate(a.created_at)}` }));
      if (onSnooze && a.status === "open") {
        const select = el("select", { "aria-label": "Snooze for" },
          el("option", { value: "7", text: "1 week" }), el("option", { value: "14", text: "2 weeks" }),
          el("option", { value: "28", text: "4 weeks" }), el("option", { value: "3", text: "3 days" }));
        const button = el("button", { type: "button", class: "secondary", text: "Snooze" });
        button.addEventListener("click", async () => {
          // busy, not disabled: a disabled button would drop the keyboard's focus to the top of the page
          if (button.getAttribute("aria-busy") === "true") return;
          button.setAttribute("aria-busy", "true");
          try {
            await onSnooze(a, Number(select.value));
          } catch (err) {
            item.append(el("p", { class: "form-error", role: "alert", text: `Could not snooze: ${err.message}` }));
          } finally {
            button.removeAttribute("aria-busy");
          }
        });
        item.append(el("div", { class: "alert-actions staff-only" }, el("label", {}, "Snooze for ", select), button));
      }
      list.append(item);
    }
  }

  /** The motions ({exercise, side}) that the alerts concern and ``known`` (objects with exercise and side)
   * does not hold, once each, in the alerts' order: charts the plan alone would not draw. */
  function alertedMotions(alerts, known) {
    const keys = new Set(known.map((m) => `${m.exercise}|${m.side}`));
    const out = [];
    for (const a of alerts) {
      const key = `${a.exercise}|${a.side}`;
      if (!a.exercise || !a.side || keys.has(key)) continue;
      keys.add(key);
      out.push({ exercise: a.exercise, side: a.side });
    }
    return out;
  }

  /** Why a chart's motion is not in the plan, from its trend points: sessions that followed a prescription
   * (since ended) or none. */
  function notInPlanNote(trends) {
    const points = (trends.series || []).flatMap((s) => s.points || []);
    const followed = points.some((p) => p.prescription_id);
    const without = points.some((p) => !p.prescription_id);
    const why = followed && without ? "its prescription was ended, and some of its sessions were recorded without one"
      : followed ? "its prescription was ended" : "its sessions were recorded without a plan";
    return `Not in the current plan: ${why}. Shown for the change to review above.`;
  }

  function alertBadgeText(n) {
    return n === 1 ? "1 change to review" : `${n} changes to review`;
  }

  /** The roles that read a patient's data and plan but change neither (the server answers 403 anyway). */
  const READ_ONLY_ROLES = ["patient", "caregiver"];

  /** On a clinic server: who is logged in, and a Log out button, in the page header; for a patient or
   * caregiver the page hides the controls only the care team may use (class staff-only). */
  async function showAccount() {
    const who = await me();
    const header = document.querySelector("header.site");
    if (!who || who.mode !== "clinic" || !header) return;
    if (READ_ONLY_ROLES.includes(who.user.role)) document.body.classList.add("read-only");
    const button = el("button", { type: "button", id: "logout", class: "link-button" }, "Log out");
    const problem = el("p", { id: "logout-error", class: "logout-error", role: "alert", hidden: true });
    button.addEventListener("click", async () => {
      button.disabled = true;
      problem.hidden = true;
      try {
        await api("/api/auth/logout", { method: "POST" });
      } catch (err) {
        if (err.status === 401) return;  // the session had ended already: api() is on its way to /login
        // not out: on a shared clinic computer the next person would find this PT's session still valid
        button.disabled = false;
        problem.textContent = logoutProblem(err);
        problem.hidden = false;
        return;
      }
      window.location.assign("/login");
    });
    // the admin's accounts page (accounts.js), from every page
    const accounts = who.user.role === "admin" ? el("a", { href: "/accounts", id: "accounts-link",
      "aria-current": window.location.pathname === "/accounts" ? "page" : null }, "Accounts") : null;
    // named: the header's other <nav> (the page's links) is unnamed, and a screen reader lists both
    header.append(el("nav", { class: "account", "aria-label": "Account" }, accounts,
      el("span", { id: "account-name", text: `${who.user.name} (${who.user.role})` }), button), problem);
  }

  /** Why Log out failed, and that the PT is still logged in (no page to leave for: staying says so). */
  function logoutProblem(err) {
    const why = err.status ? `the server refused (${err.message.replace(/\.$/, "")})` : "the server did not answer";
    return `Could not log out: ${why}. You are still logged in — try again, or close the browser.`;
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", showAccount);
  else showAccount();

  return {
    me,
    api, pagePatient, el, scrollBox, setStatus, toDate, fmtDate, fmtShortDate, fmtDateTime, fmtAngle, fmtRange, fmtSpan, fmtPercent, daysAgo,
    fmtPlanAngle, fmtPlanRange,
    NOT_SEEN, FEW_FRAMES, fewFrames, NO_REPS, noReps, uncertainReasons, fmtBound, safeLimitText, pastSafeClauses, wentPastSafe, safeSeriesText,
    shortOfTargetText, shortSeriesText,
    isoDay, median, modeLabel, postureLabel, sideLabel, seriesLabel, catalog, motion, exerciseName, noiseNote,
    timeZone, adherencePath, calendarDays, adherenceSentence, unmeasuredNote, recordingNote, planAgeDays, renderCalendar, renderAlerts, alertTitle, alertBadgeText,
    alertedMotions, notInPlanNote, DAY_MS,
  };
})();
