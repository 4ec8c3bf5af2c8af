"""Accuracy benchmark: romcam against rendered ground truth (``make bench-accuracy``).

Renders a fixed, seeded set of clips, for both bodies (the procedural figure, and the MakeHuman
CC0 mesh where ../shared/media is present) — every catalog motion, both sides, its required view,
standing and seated (where the motion is done that way), lying for the motions done in bed, and
each motion 30° and 60° off its required view — runs exactly the ``romcam analyze`` code path on
each, and prints a table per motion × view × posture. Results are saved as JSON and markdown in
``benchmarks/results/``.

Targets (issue 3; experimental motions reported, not targeted): subject detected in ≥ 98 % of
frames; mean absolute error ≤ 4°, rep-peak error ≤ 5°, 95th percentile ≤ 8°; every rep found,
none invented; 30° off view: mean error ≤ 8° and the view flagged. They hold standing and seated:
lying is reported here and targeted by the two-person benchmark (benchmarks/two_person.py), where a
caregiver moves the patient's limb in bed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
BED_MOTIONS = {"shoulder_flexion", "hip_flexion", "hip_flexion_straight_leg", "hip_abduction", "knee_flexion",
               "ankle_dorsiflexion", "ankle_dorsiflexion_knee_bent"}


@dataclass(frozen=True)
class Case:
    exercise: str
    side: str
    posture: str
    off_view: float  # degrees away from the required view
    body: str = "procedural"  # or "makehuman" (the CC0 mesh, where ../shared/media is present)

    @property
    def label(self) -> str:
        return f"{self.exercise} {self.side} {self.posture} {self.off_view:+.0f}° {self.body}"


@dataclass
class Row:
    body: str
    exercise: str
    side: str
    posture: str
    view: str
    off_view: float
    experimental: bool
    frames: int
    detected_pct: float
    measured_pct: float
    view_ok_pct: float
    mae: float
    p95: float
    mae_image: float
    mae_hybrid: float
    mae_world: float
    peak_err_max: float  # over the matched reps whose furthest point was seen (Rep.peak_seen)
    peak_errors: list[float]  # per matched rep: measured minus true peak, degrees
    return_errors: list[float]  # per matched rep: the other end (where it starts and returns), measured minus true
    reps_found: int
    reps_true: int
    reps_invented: int
    seconds: float
    # per matched rep (as peak_errors): its furthest point was seen; a rep that says it was not reports
    # the furthest point seen, a bound, and is counted apart (older results: all seen)
    peaks_seen: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.peaks_seen:
            self.peaks_seen = [True] * len(self.peak_errors)

    @property
    def peaks_unseen(self) -> int:
        return sum(not s for s in self.peaks_seen)

    @property
    def seen_peak_errors(self) -> list[float]:
        return [e for e, s in zip(self.peak_errors, self.peaks_seen, strict=True) if s]


def bodies() -> list[str]:
    """The procedural figure always; the MakeHuman body where its assets are on this machine."""
    from romcam.render.makehuman import check_assets

    try:
        check_assets()
    except FileNotFoundError:
        return ["procedural"]
    return ["procedural", "makehuman"]


def cases(quick: bool = False, body: str = "procedural") -> list[Case]:
    from romcam.catalog import default_catalog
    from romcam.render import get_exercise

    out = []
    for m in default_catalog():
        rendered = get_exercise(m.id).postures
        postures = [p for p in ("standing", "seated") if p in m.postures and p in rendered]
        if m.id in BED_MOTIONS and "lying" in rendered:
            postures.append("lying")
        for posture in postures:
            for side in ("left", "right"):
                out.append(Case(m.id, side, posture, 0.0, body))
        first = postures[0]
        for off in (30.0, 60.0):
            out.append(Case(m.id, "left", first, off, body))
    if quick:
        out = [c for c in out if c.side == "left" and c.posture == "standing"]
    return out


def _nan_stats(err: np.ndarray) -> tuple[float, float]:
    err = np.abs(err[np.isfinite(err)])
    if err.size == 0:
        return math.nan, math.nan
    return float(err.mean()), float(np.percentile(err, 95))


def run_case(case: Case, seed: int = 7) -> Row:
    from romcam.analysis import analyze_video
    from romcam.catalog import get_motion
    from romcam.render import RenderSpec, render_clip

    motion = get_motion(case.exercise)
    spec = RenderSpec(exercise=case.exercise, side=case.side, view=case.off_view, posture=case.posture, reps=2,
                      rep_s=2.6, hold_s=0.5, rest_s=0.6, fps=15.0, seed=seed, background="room", noise=2.0,
                      body=case.body)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        truth = render_clip(spec, clip)
        a = analyze_video(clip, case.exercise, case.side)
    true = np.array(truth.angles[case.exercise])
    n = min(len(true), len(a.samples))
    true = true[:n]

    def est(name: str) -> np.ndarray:
        return np.array([getattr(s.detail, name) if s.detail is not None and math.isfinite(s.angle) else math.nan
                         for s in a.samples[:n]])

    mae, p95 = _nan_stats(a.smoothed[:n] - true)
    key = "max_angle" if motion.works == "max" else "min_angle"
    other = "min_angle" if key == "max_angle" else "max_angle"
    full = [r for r in a.reps if not r.partial]
    matched, peak_errs, return_errs, seen = set(), [], [], []
    for tr in truth.reps:
        best = min((r for r in full if tr["start"] - 0.5 <= r.peak <= tr["end"] + 0.5),
                   key=lambda r: abs(r.peak - tr["peak"]), default=None)
        if best is not None and id(best) not in matched:
            matched.add(id(best))
            peak_errs.append(float(getattr(best, key) - tr[key]))
            return_errs.append(float(getattr(best, other) - tr[other]))
            seen.append(bool(best.peak_seen))
    return Row(
        body=case.body, exercise=case.exercise, side=case.side, posture=case.posture, view=motion.view,
        off_view=case.off_view,
        experimental=motion.experimental, frames=a.frames,
        detected_pct=100.0 * a.frames_with_subject / max(1, a.frames),
        measured_pct=100.0 * a.measured / max(1, a.frames),
        view_ok_pct=100.0 * a.view_ok_fraction,
        mae=mae, p95=p95,
        mae_image=_nan_stats(est("angle_image") - true)[0],
        mae_hybrid=_nan_stats(est("angle_hybrid") - true)[0],
        mae_world=_nan_stats(est("angle_world") - true)[0],
        peak_err_max=max((abs(e) for e, s in zip(peak_errs, seen, strict=True) if s), default=math.nan),
        peak_errors=peak_errs, peaks_seen=seen, return_errors=return_errs,
        reps_found=len(matched), reps_true=len(truth.reps), reps_invented=len(full) - len(matched),
        seconds=time.perf_counter() - t0,
    )


def summary(rows: list[Row]) -> str:
    """Per body: the in-view rows' worst figures against the targets (experimental excluded), standing
    and seated (targeted) apart from lying (reported)."""
    out = ["| body | postures | clips in view | detected % (min) | MAE ° (max) | p95 ° (max) | peak err ° (max) | "
           "reps missed / invented | 30° off: MAE ° (max), flagged | rows missing a target |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for body in dict.fromkeys(r.body for r in rows):
        for lying in (False, True):
            inv = [r for r in rows if r.body == body and not r.off_view and not r.experimental
                   and (r.posture == "lying") == lying]
            off = [r for r in rows if r.body == body and r.off_view == 30.0 and not r.experimental and not lying]
            if not inv:
                continue
            missed = sum(_passes(r) == "MISS" for r in rows if r.body == body and not r.experimental
                         and (r.posture == "lying") == lying)
            out.append(
                f"| {body} | {'lying (reported)' if lying else 'standing, seated'} | {len(inv)} | "
                f"{min(r.detected_pct for r in inv):.0f} | "
                f"{np.nanmax([r.mae for r in inv]):.1f} | "
                f"{np.nanmax([r.p95 for r in inv]):.1f} | {np.nanmax([r.peak_err_max for r in inv]):.1f}"
                f"{_unseen_note(inv)} | "
                f"{sum(r.reps_true - r.reps_found for r in inv)} / {sum(r.reps_invented for r in inv)} | "
                + (f"{np.nanmax([r.mae for r in off]):.1f}, {sum(r.view_ok_pct < 50 for r in off)}/{len(off)}"
                   if off else "—")
                + f" | {'—' if lying else missed} |"
            )
    return "\n".join(out) + "\n"


NOISE_FLOOR_DEG = 3.0


def _unseen_note(rows: list[Row]) -> str:
    n = sum(r.peaks_unseen for r in rows)
    return f" ({n} not seen)" if n else ""


def noise_deg(errors: list[float] | np.ndarray) -> float:
    """The catalog's noise figure from rep errors: the 95th percentile of |error|, rounded up, at least 3°."""
    return float(max(NOISE_FLOOR_DEG, math.ceil(float(np.percentile(np.abs(errors), 95)))))


def noise_table(rows: list[Row]) -> str:
    """Per motion, how far each end of a rep lands from the truth, over every in-view clip (both
    bodies, sides and postures): the 95th percentile of |error|, rounded up, at least 3°. At the
    peak (the end the exercise works, a session's best angle) this is the provisional
    ``measurement_noise_deg`` of the catalog, which decline alerts must exceed; at the other end
    (where a rep starts and returns: an elbow's or knee's extension) ``return_noise_deg``, shown
    to the PT beside that end. Peaks that were not seen (``Rep.peak_seen``) are left out: they
    report a bound, and decline alerts leave them out too."""
    lines = ["| motion | reps | median peak error ° | p95 abs(peak error) ° | measurement_noise_deg | "
             "median other-end error ° | p95 abs(other-end error) ° | return_noise_deg |",
             "|---|---|---|---|---|---|---|---|"]
    for motion in dict.fromkeys(r.exercise for r in rows):
        inview = [r for r in rows if r.exercise == motion and not r.off_view]
        errs = np.array([e for r in inview for e in r.seen_peak_errors])
        back = np.array([e for r in inview for e in r.return_errors])
        if errs.size == 0:
            continue
        lines.append(f"| {motion} | {errs.size} | {np.median(errs):+.1f} | "
                     f"{float(np.percentile(np.abs(errs), 95)):.1f} | {noise_deg(errs):.0f} | "
                     f"{np.median(back):+.1f} | {float(np.percentile(np.abs(back), 95)):.1f} | {noise_deg(back):.0f} |")
    return "\n".join(lines) + "\n"


def _passes(r: Row) -> str:
    """"ok" or "MISS" against issue 3's targets; "exp." (experimental motion), "lying" (reported, targeted in
    the two-person benchmark) and "—" (60° off the view) are not targeted."""
    if r.experimental:
        return "exp."
    if r.posture == "lying" and not r.off_view:
        return "lying"
    if r.off_view == 30.0:
        return "ok" if r.mae <= 8.0 and r.view_ok_pct < 50.0 else "MISS"
    if r.off_view:
        return "—"
    # a rep whose furthest point was not seen is flagged, not wrong, but its peak was not measured: a miss
    ok = (r.detected_pct >= 98.0 and r.mae <= 4.0 and r.p95 <= 8.0 and r.peak_err_max <= 5.0
          and r.peaks_unseen == 0 and r.reps_found == r.reps_true and r.reps_invented == 0)
    return "ok" if ok else "MISS"


def _peak_cell(r: Row) -> str:
    """The worst seen peak's error, and how many reps' furthest points were not seen."""
    unseen = f" ({r.peaks_unseen} not seen)" if r.peaks_unseen else ""
    return _f(r.peak_err_max) + unseen


def _f(v: float, digits: int = 1) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


HEADER = ("| body | motion | side | posture | view | detected % | view ok % | MAE ° | p95 ° | peak err ° "
          "| reps found/true (invented) | MAE image / hybrid / world ° | target |")


def markdown(rows: list[Row]) -> str:
    lines = [HEADER, "|" + "---|" * 13]
    for r in rows:
        view = r.view if not r.off_view else f"{r.view} {r.off_view:+.0f}°"
        lines.append(
            f"| {r.body} | {r.exercise}{' (exp.)' if r.experimental else ''} | {r.side} | {r.posture} | {view} | "
            f"{_f(r.detected_pct, 0)} | {_f(r.view_ok_pct, 0)} | {_f(r.mae)} | {_f(r.p95)} | {_peak_cell(r)} | "
            f"{r.reps_found}/{r.reps_true} ({r.reps_invented}) | {_f(r.mae_image)} / {_f(r.mae_hybrid)} / "
            f"{_f(r.mae_world)} | {_passes(r)} |"
        )
    return "\n".join(lines) + "\n"


def write_results(rows: list[Row]) -> None:
    """Save ``rows`` as benchmarks/results/accuracy.json and accuracy.md."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "accuracy.json").write_text(json.dumps([asdict(r) for r in rows], indent=1) + "\n")
    misses = sum(_passes(r) == "MISS" for r in rows)
    targeted = sum(_passes(r) in ("ok", "MISS") for r in rows)
    (RESULTS / "accuracy.md").write_text(
        "# Accuracy on rendered ground truth\n\n"
        "Made by `make bench-accuracy`; see benchmarks/accuracy.py for the set and the targets.\n"
        "MAE / p95: per-frame error of the reported (filtered) angle; peak err: the worst rep's "
        "peak, over the reps whose furthest point was seen (\"n not seen\": reps that said their furthest "
        "point fell in unmeasured frames, reporting the furthest point seen; they miss the peak target); "
        "MAE image / hybrid / world: the three raw estimates.\n"
        "Targets hold standing and seated, in the required view and 30° off it; lying rows are reported here "
        "and targeted in benchmarks/results/two_person.md, with the caregiver.\n\n## Summary\n\n"
        + summary(rows)
        + f"\n{misses} of the {targeted} targeted rows miss a target.\n"
        + "\n## Measurement noise at each end of a rep, per motion (the catalog's measurement_noise_deg and "
        "return_noise_deg)\n\n"
        + noise_table(rows) + "\n## Every clip\n\n" + markdown(rows)
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="left side, standing only")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--only", nargs="*", help="exercise ids to run")
    p.add_argument("--body", choices=("procedural", "makehuman"), action="append",
                   help="which bodies (default: both where the MakeHuman assets are present)")
    p.add_argument("--rewrite", action="store_true",
                   help="run nothing: rewrite accuracy.md from the saved accuracy.json")
    args = p.parse_args(argv)
    if args.rewrite:
        write_results([Row(**d) for d in json.loads((RESULTS / "accuracy.json").read_text())])
        return 0
    todo = [c for body in (args.body or bodies()) for c in cases(args.quick, body)]
    if args.only:
        todo = [c for c in todo if c.exercise in args.only]
    print(f"rendering and analysing {len(todo)} clips on {args.jobs} processes…", file=sys.stderr)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        rows = list(pool.map(run_case, todo))
    print(markdown(rows))
    print(summary(rows))
    print(noise_table(rows))
    misses = sum(_passes(r) == "MISS" for r in rows)
    print(f"{len(rows)} clips in {time.perf_counter() - t0:.0f} s; {misses} miss a target", file=sys.stderr)
    write_results(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
