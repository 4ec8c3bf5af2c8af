"""Human- and spreadsheet-readable output of an analysis: the summary table and the CSV."""

from __future__ import annotations

import csv
import io
import math

from .analysis import Analysis, repetitions
from .degrees import whole_degrees_as_stored
from .sample_rate import too_few_frames, too_few_frames_note


def _fmt(v: float | None, unit: str = "°") -> str:
    return "—" if v is None or not math.isfinite(v) else f"{whole_degrees_as_stored(v)}{unit}"


# who moved the limb, as the summary's first line says it (the session page: "Active-assisted, seated")
MODE_WORDS = {"active": "active", "active_assisted": "active-assisted",
              "passive": "passive (a caregiver moved the limb)"}


def summary_text(a: Analysis) -> str:
    """The readable summary ``romcam analyze`` prints on stdout."""
    m = a.motion
    lines = [
        f"{m.display_name}, {a.side} side, {MODE_WORDS.get(a.mode, a.mode)}{f', {a.posture}' if a.posture else ''}"
        f" — {a.video}",
        f"  {a.frames} frames at {a.fps:.1f} fps; person found in {a.frames_with_subject}, "
        f"angle measured in {a.measured}; view right ({m.view}) in {a.view_ok_fraction:.0%}",
        f"  range reached: {range_reached(a)}",
        f"  measurement noise: about ±{m.high_end_noise_deg:.0f}° at the high end, "
        f"±{m.low_end_noise_deg:.0f}° at the low end",
    ]
    who = subject_line(a)
    if who:
        lines.append(who)
    if a.target is not None:
        # the PT's plan is a range (90° to 120°); analyze judges the reps against its near end, so say what it does
        below = "below" if m.works == "max" else "above"
        lines.append(f"  target: {a.target:g}° (reps {below} it are flagged short of the target)")
    limits = [f"{name} {v:g}°" for name, v in (("maximum", a.safe_max), ("minimum", a.safe_min)) if v is not None]
    if limits:
        lines.append(f"  safe limit{'s' if len(limits) > 1 else ''}: {', '.join(limits)}")
    full = [r for r in a.reps if not r.partial]
    partial = len(a.reps) - len(full)
    lines.append(f"  repetitions: {len(full)}" + (f" (+{partial} partial)" if partial else ""))
    fps = a.sample_fps
    if fps is not None and too_few_frames(fps):
        lines.append(f"  note: {too_few_frames_note(fps)}.")
    if a.reps:
        lines.append("")
        header = f"  {'rep':>3}  {'start':>6}  {'peak':>6}  {'end':>6}  {'max':>5}  {'min':>5}  {'hold':>5}  note"
        lines.append(header)
        for i, r in enumerate(a.reps, 1):
            notes = []
            if r.partial:
                notes.append("partial (cut off by the video)")
            if r.below_target:
                notes.append("short of target")
            if not r.peak_seen:
                notes.append("furthest point not seen (at least this far)")
            past = a.rep_past_safe(r)
            if past is not None:
                notes.append(PAST_SAFE_NOTE[past])
            high, low = whole_degrees_as_stored(r.max_angle), whole_degrees_as_stored(r.min_angle)
            lines.append(
                f"  {i:>3}  {r.start:>5.1f}s  {r.peak:>5.1f}s  {r.end:>5.1f}s  {high:>4}°  "
                f"{low:>4}°  {r.hold_s:>4.1f}s  {', '.join(notes)}"
            )
    if a.mode == "passive":
        lines.extend(caregiver_lines(a))
    else:
        lines.extend(safety_lines(a))
    for w in a.warnings:
        lines.append(f"  note: {w}")
    if a.error:
        lines.append(f"  stopped early: {a.error}")
    return "\n".join(lines) + "\n"


def range_reached(a: Analysis) -> str:
    """The range-reached line: "10° to 125° (normal 0° to 180°)"; with a rep's furthest point not seen
    (``best_seen`` false) the worked end is the bound it is, said as the session page says it: "10° to 125° or more
    (normal 0° to 180°); furthest point not seen in 1 of 2 repetitions: the shoulder was out of view, so it got at
    least that far"."""
    m = a.motion
    low, high = _fmt(a.min_angle), _fmt(a.max_angle)
    normal = f"(normal {m.normal.min:.0f}° to {m.normal.max:.0f}°)"
    if a.best_seen or a.max_angle is None:
        return f"{low} to {high} {normal}"
    unseen = sum(1 for r in a.reps if not r.peak_seen)
    ends = f"{low} or less to {high}" if m.works == "min" else f"{low} to {high} or more"
    return (f"{ends} {normal}; furthest point not seen in {unseen} of {len(a.reps)} repetition"
            f"{'s' if len(a.reps) > 1 else ''}: the {m.joint} was out of view, so it got at least that far")


def subject_line(a: Analysis) -> str | None:
    """Who was measured, when it matters: a caregiver in frame (passive or assisted ROM) or a patient chosen
    with ``--subject``. "measured: the person lying, chosen by --subject auto; nobody else is measured"."""
    selector, _, reason = (a.subject or "").partition(": ")
    if not reason or (a.mode == "active" and selector == "auto"):
        return None
    if a.subject_confirmed:
        return f"  measured: {reason}, chosen by --subject {selector}; nobody else is measured"
    return f"  measured: {reason}, chosen by --subject {selector} — not confirmed: check it is the patient"


PAST_SAFE_NOTE = {"max": "past the PT's safe maximum", "min": "past the PT's safe minimum",
                  "both": "past both of the PT's safe limits"}


def safety_lines(a: Analysis) -> list[str]:
    """Each rep that went past one of the PT's safe limits (``Analysis.rep_past_safe``; reps numbered as in the
    table), and a movement past one outside every rep, with what to do next time: for the caregiver in
    passive mode, for the patient otherwise. Both limits, whichever end the exercise works: a seated knee
    extension rests bent, so past its safe maximum it was bent back too far between reps."""
    helper = a.mode == "passive"
    out = []
    for end, limit in (("max", a.safe_max), ("min", a.safe_min)):
        if limit is None:
            continue
        reps = [i for i, r in enumerate(a.reps, 1) if a.rep_past_safe(r) in (end, "both")]
        if not reps and a.past_safe not in (end, "both"):
            continue
        name = f"safe {'maximum' if end == 'max' else 'minimum'}"
        which = f"{repetitions(reps)} went past" if reps else "the movement went past"
        where = "" if reps else " outside the counted repetitions"
        if end == a.motion.works:  # the end the exercise works toward: the limit is where to stop
            advice = "stop there next time"
        else:  # the end each rep starts from and comes back to
            advice = f"{'bend it back' if end == 'max' else 'bring it back'} no further than that next time"
        if helper:
            out.append(f"  for the caregiver: {which} the PT's {name} of {limit:g}°{where}: {advice}")
        else:
            out.append(f"  for you: {which} your safe limit of {limit:g}° (the PT's {name}){where}: {advice}")
    return out


def caregiver_lines(a: Analysis) -> list[str]:
    """For passive ROM, what the caregiver who moved the limb needs to hear, in their terms."""
    m = a.motion
    full = [r for r in a.reps if not r.partial]
    if not full:
        return ["  for the caregiver: no complete movement was measured — keep the limb in view and move slowly",
                *safety_lines(a)]
    key = (lambda r: r.max_angle) if m.works == "max" else (lambda r: r.min_angle)
    best = max(key(r) for r in full) if m.works == "max" else min(key(r) for r in full)
    furthest = "furthest" if all(r.peak_seen for r in full) else "furthest seen"
    out = [f"  for the caregiver: you moved the {a.side} {m.joint} through {len(full)} repetitions, "
           f"{furthest} {whole_degrees_as_stored(best)}°", *safety_lines(a)]
    if a.target is not None:
        # the full reps, numbered as the table numbers them (a partial rep cut off by the video keeps its row)
        numbered = [(i, r) for i, r in enumerate(a.reps, 1) if not r.partial]
        short = [i for i, r in numbered if r.below_target]
        unknown = [i for i, r in numbered if r.below_target is None and not r.peak_seen]
        if short:
            # the limit on the way to the target: the safe maximum, or for an exercise that works the low end
            # (a knee straightened) the safe minimum
            end, limit = ("maximum", a.safe_max) if m.works == "max" else ("minimum", a.safe_min)
            if limit is not None:
                never = f"never past the PT's safe {end} of {limit:g}°"
            else:  # no number given: the PT's safe maximum all the same; a safe minimum is optional
                never = "never past the PT's safe maximum" if m.works == "max" else "never forcing it"
            out.append(f"  for the caregiver: {repetitions(short)} stopped short of "
                       f"{a.target:g}° — next time move slowly to {a.target:g}° if it is comfortable, {never}")
        if unknown:
            it = "it" if len(unknown) == 1 else "they"
            out.append(f"  for the caregiver: the {m.joint} was out of view at the furthest point of "
                       f"{repetitions(unknown)}, so romcam could not check {it} reached {a.target:g}° — "
                       "keep your hands off the joint, on the side away from the camera")
        if not short and not unknown:
            out.append(f"  for the caregiver: every repetition reached {a.target:g}°")
    return out


CSV_COLUMNS = ["time_s", "angle_deg", "angle_raw_deg", "confidence", "view_ok", "rep", "rep_event"]


def samples_csv(a: Analysis) -> str:
    """One row per frame: time, filtered and raw angle (blank where not measured), confidence,
    whether the view was right, the rep the frame belongs to and rep start/peak/end markers."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    events: dict[int, str] = {}
    members: dict[int, int] = {}
    times = [s.t for s in a.samples]
    for n, r in enumerate(a.reps, 1):
        for kind, when in (("start", r.start), ("peak", r.peak), ("end", r.end)):
            i = min(range(len(times)), key=lambda k: abs(times[k] - when))
            events[i] = f"{events[i]}+rep{n}_{kind}" if i in events else f"rep{n}_{kind}"
        for i, t in enumerate(times):
            if r.start - 1e-6 <= t <= r.end + 1e-6:
                members.setdefault(i, n)
    for i, (s, sm) in enumerate(zip(a.samples, a.smoothed, strict=True)):
        w.writerow([
            f"{s.t:.3f}",
            "" if not math.isfinite(sm) else f"{sm:.1f}",
            "" if not math.isfinite(s.angle) else f"{s.angle:.1f}",
            f"{s.confidence:.2f}",
            "" if s.view_ok is None else ("yes" if s.view_ok else "no"),
            members.get(i, ""),
            events.get(i, ""),
        ])  # fmt: skip
    return out.getvalue()
