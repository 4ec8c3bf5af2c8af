/* romcam dashboard charts (Chart.js, vendored in /static/vendor/).
 *
 * trendChart: the best angle per session over time for one motion and side, one series per
 *   (mode, posture), each with its own target band (stepped: a new prescription version may move
 *   it), its safe maximum and minimum as dashed dark red lines (stepped the same way, labelled — with the
 *   series' mode and posture when the chart draws two series —, the ones the sessions were judged against), a cross on each session with a rep past one, and the
 *   motion's normal range as dashed grey lines.
 * sessionChart: one set's angle-time curve, its reps shaded and numbered, the target band and the
 *   safe maximum.
 * Colours are the Okabe-Ito colour-blind-safe palette; modes also differ by line dash and postures
 * by marker shape, so no meaning rests on colour alone. A session whose furthest point was not seen
 * (best_seen false: its best angle is a bound, the joint got at least that far) has a hollow marker; so has one
 * measured on too few frames a second (too_few_frames: its peaks are not to be trusted). The legend names each
 * reason present, the tooltip the point's own (one or both).
 */
"use strict";

window.romcamCharts = (function () {
  const R = window.romcam;
  const MODE_STYLE = {
    active: { color: "#0072B2", dash: [] },
    active_assisted: { color: "#009E73", dash: [10, 4] },
    passive: { color: "#D55E00", dash: [3, 4] },
  };
  const POSTURE_MARKER = { standing: "circle", seated: "rect", lying: "triangle" };
  const NORMAL_COLOR = "#555555";
  const SAFE_COLOR = "#B00020";
  const TEXT_COLOR = "#1b1b1b";

  function withAlpha(hex, alpha) {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }

  /* Draws, under the data: horizontal bands (x0..x1 in data units, ±Infinity = the chart's edge),
   * vertical regions (reps) and labelled horizontal lines (normal range, safe max, safe min). */
  const overlayPlugin = {
    id: "romcamOverlay",
    beforeDatasetsDraw(chart, args, opts) {
      const { ctx, chartArea: area, scales: { x, y } } = chart;
      if (!area || !x || !y) return;
      const px = (v) => (v === -Infinity ? area.left : v === Infinity ? area.right : x.getPixelForValue(v));
      ctx.save();
      ctx.beginPath();
      ctx.rect(area.left, area.top, area.right - area.left, area.bottom - area.top);
      ctx.clip();
      for (const region of opts.regions || []) {
        const x0 = px(region.x0), x1 = px(region.x1);
        ctx.fillStyle = region.fill;
        ctx.fillRect(x0, area.top, x1 - x0, area.bottom - area.top);
      }
      for (const band of opts.bands || []) {
        for (const s of band.segments) {
          const x0 = px(s.x0), x1 = px(s.x1);
          const yTop = y.getPixelForValue(s.ymax), yBottom = y.getPixelForValue(s.ymin);
          ctx.fillStyle = band.fill;
          ctx.fillRect(x0, yTop, x1 - x0, yBottom - yTop);
          if (band.edge) {
            ctx.strokeStyle = band.edge;
            ctx.lineWidth = 1;
            ctx.setLineDash([]);
            ctx.beginPath();
            ctx.moveTo(x0, yTop); ctx.lineTo(x1, yTop);
            ctx.moveTo(x0, yBottom); ctx.lineTo(x1, yBottom);
            ctx.stroke();
          }
        }
      }
      ctx.font = `${Math.max(12, Chart.defaults.font.size - 2)}px ${Chart.defaults.font.family}`;
      // the labels' boxes drawn so far: a label that would cover another (a safe maximum 15° under the normal
      // maximum, on a small chart) goes below its line, or else to the left of the one it would cover
      const placed = [];
      const hits = (r) => placed.filter((o) => r.x0 < o.x1 && o.x0 < r.x1 && r.y0 < o.y1 && o.y0 < r.y1);
      for (const line of opts.lines || []) {
        if (line.y < y.min || line.y > y.max) continue;
        const yy = y.getPixelForValue(line.y);
        ctx.strokeStyle = line.color;
        ctx.lineWidth = line.width || 2;
        ctx.setLineDash(line.dash || [8, 5]);
        ctx.beginPath();
        ctx.moveTo(area.left, yy); ctx.lineTo(area.right, yy);
        ctx.stroke();
        if (line.label) {
          ctx.setLineDash([]);
          ctx.textAlign = "right";
          const above = yy - area.top > 20;
          ctx.textBaseline = above ? "bottom" : "top";
          const tw = ctx.measureText(line.label).width;
          ctx.fillStyle = "rgba(255,255,255,0.85)";
          ctx.fillRect(area.right - tw - 8, above ? yy - 19 : yy + 2, tw + 6, 17);
          placed.push({ x0: area.right - tw - 8, x1: area.right - 2, y0: above ? yy - 19 : yy + 2, y1: above ? yy - 2 : yy + 19,
            text: line.label });
          ctx.fillStyle = line.color;
          ctx.fillText(line.label, area.right - 5, above ? yy - 3 : yy + 3);
        }
      }
      // stepped limit lines (a trend's safe maximum and minimum: a new prescription version may move them)
      for (const step of opts.steps || []) {
        ctx.strokeStyle = step.color;
        ctx.lineWidth = step.width || 2;
        ctx.setLineDash(step.dash || [8, 5]);
        ctx.beginPath();
        for (const seg of step.segments) {
          const yy = y.getPixelForValue(seg.y);
          ctx.moveTo(px(seg.x0), yy); ctx.lineTo(px(seg.x1), yy);
        }
        ctx.stroke();
        const last = step.segments[step.segments.length - 1];
        if (step.label && last && last.y >= y.min && last.y <= y.max) {
          ctx.setLineDash([]);
          ctx.textAlign = "left";
          const yy = y.getPixelForValue(last.y);
          const tw = ctx.measureText(step.label).width;
          let x0 = Math.max(area.left + 4, Math.min(px(last.x0), area.right - tw - 8));
          const box = (left, up) => ({ x0: left - 2, x1: left + tw + 4, y0: up ? yy - 19 : yy + 2, y1: up ? yy - 2 : yy + 19 });
          let above = yy - area.top > 20;
          if (hits(box(x0, above)).length) {
            if (!hits(box(x0, !above)).length && (above ? area.bottom - yy > 20 : yy - area.top > 20)) above = !above;
            else x0 = Math.max(area.left + 4, Math.min(...hits(box(x0, above)).map((o) => o.x0)) - tw - 10);
          }
          placed.push({ ...box(x0, above), text: step.label });
          ctx.textBaseline = above ? "bottom" : "top";
          ctx.fillStyle = "rgba(255,255,255,0.85)";
          ctx.fillRect(x0 - 2, above ? yy - 19 : yy + 2, tw + 6, 17);
          ctx.fillStyle = step.color;
          ctx.fillText(step.label, x0 + 1, above ? yy - 3 : yy + 3);
        }
      }
      chart.$romcamLabels = placed;  // where each line's label went (the tests read it)
      ctx.restore();
    },
    afterDatasetsDraw(chart, args, opts) {
      const { ctx, chartArea: area, scales: { x, y } } = chart;
      if (!area || !opts.labels) return;
      ctx.save();
      ctx.font = `bold ${Chart.defaults.font.size - 1}px ${Chart.defaults.font.family}`;
      ctx.textAlign = "center";
      ctx.textBaseline = "bottom";
      for (const label of opts.labels) {
        const xx = x.getPixelForValue(label.x);
        const yy = Math.max(area.top + 16, y.getPixelForValue(label.y) - 10);
        ctx.fillStyle = label.color || TEXT_COLOR;
        ctx.fillText(label.text, xx, yy);
      }
      ctx.restore();
    },
  };

  function setDefaults() {
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.font.size = 15;
    Chart.defaults.color = TEXT_COLOR;
    Chart.register(overlayPlugin);
  }

  /** The datasets' legend plus one entry per shaded band (which target belongs to which series) and
   * any extra entries ({text, pointStyle, fillStyle, strokeStyle}). */
  function legendWithBands(bands, extras = []) {
    return {
      position: "bottom",
      labels: {
        usePointStyle: true,
        boxHeight: 12,
        pointStyleWidth: 14,
        padding: 18,
        generateLabels(chart) {
          const items = Chart.defaults.plugins.legend.labels.generateLabels(chart);
          for (const band of bands) {
            if (!band.label || !band.segments.length) continue;
            items.push({ text: band.label, fillStyle: band.fill, strokeStyle: band.edge, lineWidth: 2,
              pointStyle: "rect", hidden: false, fontColor: TEXT_COLOR });
          }
          for (const extra of extras) items.push({ lineWidth: 2, hidden: false, fontColor: TEXT_COLOR, ...extra });
          return items;
        },
      },
      onClick(event, item, legend) {
        if (item.datasetIndex === undefined) return; // a band: nothing to toggle
        Chart.defaults.plugins.legend.onClick.call(this, event, item, legend);
      },
    };
  }

  const dayTick = (value) => R.fmtShortDate(new Date(value));

  /** No animation on paper, nor for a reader who asked for less motion (prefers-reduced-motion). */
  function animation(options) {
    const reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    return options.print || reduce ? false : { duration: 300 };
  }

  function niceBounds(values, pad) {
    const v = values.filter((n) => n !== null && n !== undefined && Number.isFinite(n));
    if (!v.length) return {};
    const lo = Math.min(...v), hi = Math.max(...v);
    return { min: Math.floor((lo - pad) / 10) * 10, max: Math.ceil((hi + pad) / 10) * 10 };
  }

  /**
   * trends: the /api/patients/{id}/trends document. options.xMin/xMax (ms) share one time axis
   * across charts; options.onPoint(point) is called when a point is selected; options.print (or the
   * reader's prefers-reduced-motion) turns animation off. Returns {chart, points, series: [{mode, posture, points}]}.
   */
  function trendChart(canvas, trends, options = {}) {
    const datasets = [];
    const bands = [];
    const seriesInfo = [];
    const values = [];
    const safeSteps = [];
    const pastSafe = [];
    let unseen = 0;
    let fewFramesCount = 0;
    // hollow: its best angle is a bound (furthest point not seen) or uncertain (measured on too few frames)
    const notSeen = (pt) => Boolean(pt && pt.p && (pt.p.best_seen === false || R.fewFrames(pt.p) || R.noReps(pt.p)));
    let noRepsCount = 0;
    const hollow = (color) => (ctx) => (notSeen(ctx.raw) ? "#ffffff" : color);
    // the scale takes in the safe limit of the end the exercise works (knee extension: the minimum); the other
    // end's (knee extension's safe maximum of 100°, beside best angles of 0-20°) would squash the points into a
    // strip where a decline of a few degrees does not show: that line is named in the legend instead
    const worksMin = trends.works === "min";
    const worked = worksMin ? "min" : "max";
    for (const series of trends.series || []) {
      const style = MODE_STYLE[series.mode] || MODE_STYLE.active;
      const points = (series.points || [])
        .filter((p) => p.best_angle !== null && p.best_angle !== undefined)
        .map((p) => ({ x: R.toDate(p.date).getTime(), y: p.best_angle, p }))
        .sort((a, b) => a.x - b.x);
      const hollowCount = points.filter((pt) => pt.p.best_seen === false).length;
      const fewCount = points.filter((pt) => R.fewFrames(pt.p)).length;
      unseen += hollowCount;
      fewFramesCount += fewCount;
      noRepsCount += points.filter((pt) => R.noReps(pt.p)).length;
      seriesInfo.push({ mode: series.mode, posture: series.posture, points: points.length, not_seen: hollowCount,
        too_few_frames: fewCount });
      if (!points.length) continue;
      values.push(...points.map((p) => p.y));
      datasets.push({
        label: R.seriesLabel(series.mode, series.posture),
        data: points,
        borderColor: style.color,
        backgroundColor: style.color,
        borderDash: style.dash,
        borderWidth: 2.5,
        pointStyle: POSTURE_MARKER[series.posture] || "circle",
        pointBackgroundColor: hollow(style.color),
        pointBorderColor: style.color,
        pointBorderWidth: (ctx) => (notSeen(ctx.raw) ? 2.5 : 1),
        pointRadius: 5,
        pointHoverRadius: 8,
        pointHitRadius: 10,
        tension: 0,
        // a line to or from a bound is faint: it shows no measured change
        segment: { borderColor: (ctx) => (notSeen(points[ctx.p0DataIndex]) || notSeen(points[ctx.p1DataIndex])
          ? withAlpha(style.color, 0.3) : undefined) },
      });
      // the band of each point's prescription version (for a set refiled mid-set, the one it was coached to:
      // target_version), from that point to the next
      const segments = [];
      points.forEach((pt, i) => {
        const { target_min: lo, target_max: hi } = pt.p;
        if (lo === null || lo === undefined || hi === null || hi === undefined) return;
        values.push(lo, hi);
        const x0 = i === 0 ? -Infinity : pt.x;
        const x1 = i === points.length - 1 ? Infinity : points[i + 1].x;
        segments.push({ x0, x1, ymin: lo, ymax: hi });
      });
      bands.push({ fill: withAlpha(style.color, 0.09), edge: withAlpha(style.color, 0.8), segments,
        label: `target, ${R.seriesLabel(series.mode, series.posture).toLowerCase()}` });
      // the safe limits each point's set was judged against, from that point to the next, as the band is: a
      // dashed dark red line (not a band), labelled at its end, and a cross on each session with a rep past one
      for (const end of ["max", "min"]) {
        const key = `safe_${end}`;
        const steps = [];
        points.forEach((pt, i) => {
          const limit = pt.p[key];
          if (limit === null || limit === undefined) return;
          if (end === worked) values.push(limit);
          steps.push({ x0: i === 0 ? -Infinity : pt.x, x1: i === points.length - 1 ? Infinity : points[i + 1].x, y: limit });
        });
        if (!steps.length) continue;
        const last = points.filter((pt) => pt.p[key] !== null && pt.p[key] !== undefined).pop().p;
        const label = `safe ${end} ${R.fmtPlanAngle(last[key])}${last.safe_limits_from === "analyze" ? " (given to romcam analyze)" : ""}`;
        safeSteps.push({ color: SAFE_COLOR, dash: [8, 5], width: 2, segments: steps, label,
          series: R.seriesLabel(series.mode, series.posture).toLowerCase() });
      }
      pastSafe.push(...points.filter((pt) => R.wentPastSafe(pt.p)).map((pt) => ({ x: pt.x, y: pt.y, p: pt.p })));
    }
    // one label per limit line drawn at the same place (two series under one limit draw one line, named once).
    // With two series drawn, each line says whose limit it is: an active series' safe maximum of 150° drawn
    // unnamed under a passive series that reaches 152° (its own limit 165°) reads as the passive sessions past it
    const named = new Map();
    const drawn = seriesInfo.filter((s) => s.points > 0).length > 1;
    for (const step of safeSteps) {
      const at = `${step.label}|${step.segments[step.segments.length - 1].y}`;
      const first = named.get(at);
      if (first) {
        if (!first.whose.includes(step.series)) first.whose.push(step.series);
        step.label = null;
      } else {
        step.whose = [step.series];
        named.set(at, step);
      }
    }
    if (drawn) {
      for (const step of named.values()) step.label = `${step.label} (${step.whose.join("; ")})`;
    }
    if (pastSafe.length) {
      datasets.push({ label: "reps past the safe limit", data: pastSafe, showLine: false, pointStyle: "crossRot",
        borderColor: SAFE_COLOR, backgroundColor: SAFE_COLOR, pointBorderWidth: 3, pointRadius: 11, pointHoverRadius: 12,
        pointHitRadius: 10 });
    }
    const normal = trends.normal || {};
    const lines = [];
    const relevant = worksMin ? normal.min : normal.max;
    const other = worksMin ? normal.max : normal.min;
    if (relevant !== null && relevant !== undefined) {
      lines.push({ y: relevant, color: NORMAL_COLOR, label: `normal ${worksMin ? "min" : "max"} ${R.fmtAngle(relevant)}` });
      values.push(relevant);
    }
    if (other !== null && other !== undefined) {
      lines.push({ y: other, color: NORMAL_COLOR, label: `normal ${worksMin ? "max" : "min"} ${R.fmtAngle(other)}` });
    }
    const bounds = niceBounds(values, 10);
    const extras = unseen ? [{ text: `hollow marker: ${R.NOT_SEEN}, the joint got at least this far`,
      pointStyle: "circle", fillStyle: "#ffffff", strokeStyle: TEXT_COLOR }] : [];
    if (fewFramesCount) {
      extras.push({ text: `hollow marker: ${R.FEW_FRAMES}, the best angle and rep count uncertain`,
        pointStyle: "circle", fillStyle: "#ffffff", strokeStyle: TEXT_COLOR });
    }
    if (noRepsCount) {
      extras.push({ text: `hollow marker: ${R.NO_REPS}, the furthest angle the joint went, not a rep's peak`,
        pointStyle: "circle", fillStyle: "#ffffff", strokeStyle: TEXT_COLOR });
    }
    if (safeSteps.length) {
      extras.push({ text: "safe limit (dashed red line)", pointStyle: "line", fillStyle: SAFE_COLOR, strokeStyle: SAFE_COLOR,
        lineDash: [8, 5], lineWidth: 3 });
    }
    for (const step of named.values()) {  // a limit of the other end, off the scale: said, not drawn
      const y = step.segments[step.segments.length - 1].y;
      if (step.label && bounds.max !== undefined && (y > bounds.max || y < bounds.min)) {
        extras.push({ text: `${step.label}: ${y > bounds.max ? "above" : "below"} this chart's scale`,
          pointStyle: "line", fillStyle: SAFE_COLOR, strokeStyle: SAFE_COLOR, lineDash: [8, 5], lineWidth: 3 });
      }
    }
    const chart = new Chart(canvas, {
      type: "line",
      data: { datasets },
      options: {
        animation: animation(options),
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        normalized: true,
        interaction: { mode: "nearest", intersect: false, axis: "x" },
        scales: {
          x: {
            type: "linear",
            min: options.xMin,
            max: options.xMax,
            ticks: { callback: dayTick, stepSize: 7 * R.DAY_MS, maxRotation: 0, autoSkip: true },
            grid: { color: "#e4e4e4" },
          },
          y: {
            min: bounds.min,
            max: bounds.max,
            title: { display: true, text: "best angle (degrees)" },
            ticks: { callback: (v) => R.fmtAngle(v) },
            grid: { color: "#e4e4e4" },
          },
        },
        plugins: {
          legend: legendWithBands(bands, extras),
          tooltip: {
            callbacks: {
              title: (items) => (items.length ? R.fmtDate(items[0].raw.p.date) : ""),
              label: (item) => {
                const p = item.raw.p;
                // a live set refiled under a safer limit's version during it (target_version): its band is the
                // earlier version's, the one it was coached to — "plan v2" beside v1's numbers would misname them
                const plan = p.target_version !== null && p.target_version !== undefined
                  ? `, plan v${p.target_version}, coached to; filed under v${p.prescription_version}`
                  : p.prescription_version ? `, plan v${p.prescription_version}` : "";
                const target = p.target_min !== null && p.target_min !== undefined
                  ? ` (target ${R.fmtPlanRange(p.target_min, p.target_max)}${plan})`
                  : "";
                const back = p.other_end !== null && p.other_end !== undefined
                  ? `, other end ${R.fmtAngle(p.other_end)}` : "";
                if (item.dataset.pointStyle === "crossRot") return R.pastSafeClauses(p).filter((c) => !c.startsWith("no rep"));
                if (p.best_seen === false || R.fewFrames(p) || R.noReps(p)) {
                  const value = p.best_seen === false ? R.fmtBound(p.best_angle, trends.works) : R.fmtAngle(p.best_angle);
                  return [`${item.dataset.label}: ${value}${back}${target}`,
                    ...(p.best_seen === false ? [`${R.NOT_SEEN}: at least this far`] : []),
                    ...(R.fewFrames(p) ? [`${R.FEW_FRAMES}: best angle and rep count uncertain`] : []),
                    ...(R.noReps(p) ? [`${R.NO_REPS}: the furthest angle the joint went, not a rep's peak`] : [])];
                }
                return `${item.dataset.label}: ${R.fmtAngle(p.best_angle)}${back}${target}`;
              },
            },
          },
          romcamOverlay: { bands, lines, steps: safeSteps },
        },
        onClick: (event, elements) => {
          if (!options.onPoint || !elements.length) return;
          const e = elements[0];
          options.onPoint(datasets[e.datasetIndex].data[e.index].p);
        },
        onHover: (event, elements) => {
          if (options.onPoint) event.native.target.style.cursor = elements.length ? "pointer" : "default";
        },
      },
    });
    return { chart, points: seriesInfo.reduce((n, s) => n + s.points, 0), notSeen: unseen, fewFrames: fewFramesCount, series: seriesInfo,
      pastSafe: pastSafe.length, safeLines: safeSteps.map((st) => ({ y: st.segments[st.segments.length - 1].y, label: st.label })) };
  }

  /** The value of an angle curve nearest to time t (for placing a rep's label). */
  function angleAt(samples, t) {
    let best = null, bestDt = Infinity;
    for (let i = 0; i < samples.t.length; i++) {
      const a = samples.angle[i];
      if (a === null || a === undefined) continue;
      const dt = Math.abs(samples.t[i] - t);
      if (dt < bestDt) { bestDt = dt; best = a; }
    }
    return best;
  }

  /** set: one set of /api/sessions/{id}, with samples {t, angle}, reps and the target band. */
  function sessionChart(canvas, set, options = {}) {
    const samples = set.samples || { t: [], angle: [] };
    const data = samples.t.map((t, i) => ({ x: t, y: samples.angle[i] === undefined ? null : samples.angle[i] }));
    const worksMin = set.works === "min";
    const regions = [];
    const labels = [];
    const peaks = [];
    (set.reps || []).forEach((rep, i) => {
      regions.push({ x0: rep.start, x1: rep.end, fill: i % 2 ? "rgba(0,0,0,0.05)" : "rgba(0,0,0,0.09)" });
      const y = worksMin ? rep.min_angle : rep.max_angle;
      const atPeak = angleAt(samples, rep.peak);
      peaks.push({ x: rep.peak, y: atPeak === null ? y : atPeak });
      const note = [rep.partial ? "partial" : null, rep.peak_seen === false ? "peak not seen" : null].filter(Boolean);
      labels.push({ x: rep.peak, y: atPeak === null ? y : atPeak, text: note.length ? `${i + 1} (${note.join(", ")})` : String(i + 1) });
    });
    const lines = [];
    const bands = [];
    const values = data.map((d) => d.y);
    if (set.target_min !== null && set.target_min !== undefined && set.target_max !== null && set.target_max !== undefined) {
      bands.push({ fill: "rgba(0,158,115,0.16)", edge: "rgba(0,158,115,0.7)", label: "target range",
        segments: [{ x0: -Infinity, x1: Infinity, ymin: set.target_min, ymax: set.target_max }] });
      values.push(set.target_min, set.target_max);
    }
    // a limit given to `romcam analyze` (a set filed under no prescription) is not the PT's: its label says so
    const given = set.safe_limits_from === "analyze" ? " (given to romcam analyze)" : "";
    if (set.safe_max !== null && set.safe_max !== undefined) {
      lines.push({ y: set.safe_max, color: SAFE_COLOR, dash: [8, 5], label: `safe max ${R.fmtPlanAngle(set.safe_max)}${given}` });
      values.push(set.safe_max);
    }
    if (set.safe_min !== null && set.safe_min !== undefined) {
      lines.push({ y: set.safe_min, color: SAFE_COLOR, dash: [8, 5], label: `safe min ${R.fmtPlanAngle(set.safe_min)}${given}` });
      values.push(set.safe_min);
    }
    const bounds = niceBounds(values, 12);
    const chart = new Chart(canvas, {
      type: "line",
      data: {
        datasets: [
          { label: "joint angle", data, borderColor: "#0072B2", backgroundColor: "#0072B2", borderWidth: 2.5,
            pointRadius: 0, pointHitRadius: 4, spanGaps: false, tension: 0 },
          { label: "rep peak", data: peaks, showLine: false, borderColor: TEXT_COLOR, backgroundColor: "#ffffff",
            borderWidth: 2, pointStyle: worksMin ? "triangle" : "triangle", rotation: worksMin ? 180 : 0,
            pointRadius: 7, pointHoverRadius: 9 },
        ],
      },
      options: {
        animation: animation(options),
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        normalized: true,
        interaction: { mode: "nearest", intersect: false, axis: "x" },
        scales: {
          x: { type: "linear", min: 0, max: data.length ? data[data.length - 1].x : undefined,
            title: { display: true, text: "time (seconds)" },
            ticks: { callback: (v) => `${Math.round(v)} s` }, grid: { color: "#e4e4e4" } },
          y: { min: bounds.min, max: bounds.max, title: { display: true, text: "angle (degrees)" },
            ticks: { callback: (v) => R.fmtAngle(v) }, grid: { color: "#e4e4e4" } },
        },
        plugins: {
          legend: legendWithBands(bands),
          tooltip: {
            callbacks: {
              title: (items) => (items.length ? `${items[0].raw.x.toFixed(1)} s` : ""),
              label: (item) => `${item.dataset.label}: ${R.fmtAngle(item.raw.y)}`,
            },
          },
          romcamOverlay: { bands, lines, regions, labels },
        },
      },
    });
    return { chart, points: data.filter((d) => d.y !== null).length, reps: (set.reps || []).length };
  }

  if (window.Chart) setDefaults();
  return { trendChart, sessionChart, MODE_STYLE, POSTURE_MARKER, available: Boolean(window.Chart) };
})();
