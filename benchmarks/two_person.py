"""Two-person benchmark: passive ROM with a caregiver in frame (``make bench-accuracy``, after accuracy.py).

Renders a fixed, seeded set of caregiver scenes — the patient lying (side view, overhead-oblique
view) or seated, the caregiver standing or kneeling, different clothes, crossings — for the motions
done in bed or in a chair, runs exactly the ``romcam analyze --mode passive`` code path on each
(:func:`romcam.analysis.analyze_video` with two people, ``--subject auto`` and the posture), and
reports per scene:

- identity switches: how often the person measured changed between the patient and the caregiver
  (who was measured is judged per frame against the rendered torsos of both people);
- caregiver-measured frames: frames with an angle measured on the caregiver;
- patient measured: % of the frames where the limb is not covered (the truth's ``covered``) in
  which the patient's angle was measured;
- angle MAE (filtered angle vs truth, over the frames measured on the patient), p95, reps found.

Targets (issue 6): 0 identity switches; the caregiver never measured; the patient measured in
≥ 90 % of the uncovered frames; MAE ≤ 6° in the required view (the overhead-oblique scenes are 45°
off the required view by construction: reported, flagged, not targeted for MAE).
Results: ``benchmarks/results/two_person.{json,md}``.
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
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_MEASURED_PCT = 90.0
TARGET_MAE = 6.0


@dataclass(frozen=True)
class Scene:
    name: str
    exercise: str
    posture: str
    view: str  # "side" | "front" | "oblique" (lying: above and beside the bed, 45°)
    side: str = "left"
    caregiver_posture: str = "auto"  # standing by a bed, kneeling by a chair
    crossing: bool = False
    seed: int = 0
    reps: int = 2

    @property
    def in_required_view(self) -> bool:
        from romcam.catalog import get_motion

        return self.view == get_motion(self.exercise).view

    def spec(self, fps: float = 15.0, width: int = 480, height: int = 360):  # type: ignore[no-untyped-def]
        from romcam.render import RenderSpec

        return RenderSpec(exercise=self.exercise, side=self.side, view=self.view, posture=self.posture,
                          reps=self.reps, fps=fps, width=width, height=height, seed=self.seed, caregiver=True,
                          caregiver_posture=self.caregiver_posture, crossing=self.crossing)


# The fixed set: every bed or chair motion group, both camera placements for a lying patient, both
# caregiver postures, several seeds (clothes, skin, background), crossings.
SCENES = [
    Scene("knee lying side, crossing", "knee_flexion", "lying", "side", crossing=True, seed=1),
    Scene("hip flexion lying side", "hip_flexion", "lying", "side", seed=2),
    Scene("straight-leg raise lying side", "hip_flexion_straight_leg", "lying", "side", side="right", seed=3),
    Scene("shoulder flexion lying side, crossing", "shoulder_flexion", "lying", "side", crossing=True, seed=4),
    Scene("hip abduction lying overhead", "hip_abduction", "lying", "front", seed=5),
    Scene("shoulder abduction lying overhead", "shoulder_abduction", "lying", "front", seed=6),
    Scene("knee lying overhead-oblique", "knee_flexion", "lying", "oblique", seed=7),
    Scene("ankle lying side, kneeling", "ankle_dorsiflexion", "lying", "side", caregiver_posture="kneeling", seed=8),
    Scene("elbow seated side", "elbow_flexion", "seated", "side", seed=9),
    Scene("knee extension seated side, crossing", "knee_extension", "seated", "side", crossing=True, seed=10),
    Scene("shoulder abduction seated front, standing", "shoulder_abduction", "seated", "front",
          caregiver_posture="standing", seed=11),
    Scene("shoulder flexion seated side", "shoulder_flexion", "seated", "side", side="right", seed=12),
]


@dataclass
class Row:
    scene: str
    exercise: str
    side: str
    posture: str
    view: str
    caregiver_posture: str
    crossing: bool
    in_required_view: bool
    frames: int
    uncovered_frames: int
    identity_switches: int
    caregiver_measured_frames: int
    patient_frames: int  # frames the tracker returned the patient
    both_in_view_frames: int  # frames with both people in the picture (the renderer's truth)
    both_found_first_pct: float  # of those: the pose model's own pass found both people
    both_found_pct: float  # ... and after romcam's second and patient passes (romcam.pose)
    patient_measured_pct: float  # of the uncovered frames
    view_ok_pct: float
    mae: float
    p95: float
    reps_found: int
    reps_true: int
    subject: str
    seconds: float
    reps_unseen: int = 0  # of the reps found: those whose furthest point fell in unmeasured frames (Rep.peak_seen)

    @property
    def ok(self) -> bool:
        # off the required view the MAE is not targeted, but the view check must flag the view
        mae_ok = self.mae <= TARGET_MAE if self.in_required_view else self.view_ok_pct < 50.0
        measured_ok = math.isnan(self.patient_measured_pct) or self.patient_measured_pct >= TARGET_MEASURED_PCT
        return self.identity_switches == 0 and self.caregiver_measured_frames == 0 and measured_ok and mae_ok


def who(subject_torso: np.ndarray, patient: np.ndarray, carer: np.ndarray) -> str:
    """"patient" or "caregiver": whose rendered torso the measured person's torso is nearer."""
    from romcam.landmarks import torso_distance

    d_p = torso_distance(subject_torso, patient)
    d_c = torso_distance(subject_torso, carer) if np.isfinite(carer).all() else math.inf
    return "patient" if d_p <= d_c else "caregiver"


def run_scene(scene: Scene, workdir: Path, *, fps: float = 15.0, width: int = 480, height: int = 360,
              model_path: str | None = None, clip: Path | None = None) -> Row:
    """Render ``scene`` (unless ``clip``, rendered from ``scene.spec(fps, width, height)``, is given),
    analyse it as ``romcam analyze --mode passive`` does, and score it."""
    from romcam.analysis import analyze_video
    from romcam.catalog import get_motion
    from romcam.landmarks import LANDMARK_NAMES, point_landmarks
    from romcam.render import render_clip
    from romcam.render.clip import Truth, people_torsos, truth_path
    from romcam.subject import TORSO

    t0 = time.monotonic()
    spec = scene.spec(fps, width, height)
    if clip is not None and truth_path(clip).exists():
        truth = Truth.from_json(truth_path(clip).read_text())
    else:
        clip = workdir / f"{scene.exercise}_{scene.posture}_{scene.view}_{scene.seed}.mp4"
        truth = render_clip(spec, clip)
    patient_torso, carer_torso = people_torsos(spec)
    identity: list[str | None] = []
    found: list[tuple[int, int]] = []  # per frame: people found by the model's own pass, and by all passes

    def observe(frame, tracker, sample) -> None:  # type: ignore[no-untyped-def]
        found.append((frame.found_first if frame.found_first is not None else len(frame.poses), len(frame.poses)))
        idx = tracker.last_subject_index
        if idx is None:
            identity.append(None)
            return
        pose = tracker.last_poses[idx]
        i = min(len(identity), len(patient_torso) - 1)
        identity.append(who(pose.image[TORSO, :2], patient_torso[i], carer_torso[i]))

    result = analyze_video(clip, scene.exercise, scene.side, model_path=model_path, subject="auto",
                           posture=scene.posture, people=2, mode="passive", observe=observe)
    motion = get_motion(scene.exercise)
    true = np.array(truth.angles[scene.exercise], dtype=float)
    n = min(len(true), len(result.samples))
    needed = {LANDMARK_NAMES[i] for name in motion.landmarks() for i in point_landmarks(name, scene.side)}
    covered = [bool(needed & set(c)) for c in truth.caregiver["covered"]][:n]
    measured = np.isfinite(result.smoothed[:n])
    on_patient = np.array([identity[i] == "patient" for i in range(n)])
    on_carer = np.array([identity[i] == "caregiver" for i in range(n)])
    raw_measured = np.array([math.isfinite(s.angle) for s in result.samples[:n]])
    labels = [x for x in identity[:n] if x is not None]
    switches = sum(1 for a, b in zip(labels, labels[1:], strict=False) if a != b)
    uncovered = ~np.array(covered)
    good = measured & on_patient
    err = np.abs(result.smoothed[:n][good] - true[:n][good])
    view_seen = [s.view_ok for s in result.samples if s.view_ok is not None]
    full_true = len(truth.reps)
    both = np.isfinite(carer_torso[:n]).all(axis=(1, 2))
    first = np.array([f[0] >= 2 for f in found[:n]])
    after = np.array([f[1] >= 2 for f in found[:n]])
    return Row(
        scene=scene.name, exercise=scene.exercise, side=scene.side, posture=scene.posture, view=scene.view,
        caregiver_posture=spec.caregiver_posture, crossing=scene.crossing,
        in_required_view=scene.in_required_view, frames=n, uncovered_frames=int(uncovered.sum()),
        identity_switches=switches, caregiver_measured_frames=int((on_carer & raw_measured).sum()),
        patient_frames=int(on_patient.sum()), both_in_view_frames=int(both.sum()),
        both_found_first_pct=_share(first & both, both), both_found_pct=_share(after & both, both),
        patient_measured_pct=(round(100.0 * float((good & uncovered).sum()) / int(uncovered.sum()), 1)
                              if uncovered.any() else math.nan),
        view_ok_pct=round(100.0 * float(np.mean(view_seen)) if view_seen else 0.0, 1),
        mae=round(float(err.mean()), 2) if len(err) else math.nan,
        p95=round(float(np.percentile(err, 95)), 2) if len(err) else math.nan,
        reps_found=sum(1 for r in result.reps if not r.partial), reps_true=full_true,
        subject=result.subject, seconds=round(time.monotonic() - t0, 1),
        reps_unseen=sum(1 for r in result.reps if not r.partial and not r.peak_seen))


def _share(part: np.ndarray, whole: np.ndarray) -> float:
    return round(100.0 * float(part.sum()) / int(whole.sum()), 1) if whole.any() else math.nan


def _run(args: tuple[Scene, str, float]) -> Row:
    scene, workdir, fps = args
    return run_scene(scene, Path(workdir), fps=fps)


def _json_row(r: Row) -> dict:
    """A row for the JSON file: NaN (nothing to measure) as null, and whether it meets the targets."""
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(r).items()} | {"ok": r.ok}


def _pct(v: float) -> str:
    return "n/a" if math.isnan(v) else f"{v:.0f}"


def markdown(rows: list[Row]) -> str:
    lines = [
        "# Two people in frame: passive ROM with a caregiver",
        "",
        "Made by `make bench-accuracy` (benchmarks/two_person.py): rendered caregiver scenes through the "
        "`romcam analyze --mode passive` path (two people, `--subject auto`, the posture given).",
        f"Targets: 0 identity switches, the caregiver never measured, the patient measured in ≥ "
        f"{TARGET_MEASURED_PCT:.0f} % of the frames where the limb is not covered, MAE ≤ {TARGET_MAE:.0f}° in the "
        "required view (the overhead-oblique scene is 45° off it: its MAE is not targeted, the view check must "
        "flag it instead).",
        "",
        "Reps found/true: the complete reps romcam found; \"furthest point not seen\": how many of them said "
        "their furthest point fell in frames where the limb went unmeasured (the rep reports the furthest point "
        "seen, a bound).",
        "",
        "Both found %: of the frames with both people in the picture, those in which two people were found — by "
        "the model's own pass (`num_poses=2`), and after romcam's second pass and patient pass (romcam/pose.py).",
        "",
        "| scene | motion | posture | view | caregiver | both found % (model / romcam) | identity switches | "
        "caregiver measured (frames) | patient measured % (uncovered frames) | view ok % | MAE ° | p95 ° | "
        "reps found/true | target |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        carer = r.caregiver_posture + (", crossing" if r.crossing else "")
        view = r.view + ("" if r.in_required_view else " (off the required view)")
        lines.append(
            f"| {r.scene} | {r.exercise} {r.side} | {r.posture} | {view} | {carer} | "
            f"{_pct(r.both_found_first_pct)} / {_pct(r.both_found_pct)} | {r.identity_switches} | "
            f"{r.caregiver_measured_frames} | {_pct(r.patient_measured_pct)} ({r.uncovered_frames}) | "
            f"{r.view_ok_pct:.0f} | "
            f"{r.mae:.1f} | {r.p95:.1f} | {r.reps_found}/{r.reps_true}"
            f"{f' ({r.reps_unseen} furthest point not seen)' if r.reps_unseen else ''} | {'ok' if r.ok else 'MISS'} |")
    met = sum(r.ok for r in rows)
    both = sum(r.both_in_view_frames for r in rows)
    first = sum(r.both_in_view_frames * r.both_found_first_pct for r in rows if r.both_in_view_frames) / 100.0
    after = sum(r.both_in_view_frames * r.both_found_pct for r in rows if r.both_in_view_frames) / 100.0
    lines += ["", f"{met} of {len(rows)} scenes meet every target.", ""]
    if both:
        lines += [f"Both people found in {100.0 * first / both:.0f} % of the {both} two-person frames by the model "
                  f"alone, {100.0 * after / both:.0f} % with romcam's passes.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=max(1, min(2, os.cpu_count() or 1)))
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--only", help="run the scenes whose name contains this text")
    parser.add_argument("--no-save", action="store_true", help="print only; keep benchmarks/results as it is")
    args = parser.parse_args(argv)
    scenes = [s for s in SCENES if not args.only or args.only in s.name]
    with tempfile.TemporaryDirectory(prefix="romcam-two-person-") as tmp:
        jobs = [(s, tmp, args.fps) for s in scenes]
        if args.jobs > 1:
            with ProcessPoolExecutor(args.jobs) as pool:
                rows = list(pool.map(_run, jobs))
        else:
            rows = [_run(j) for j in jobs]
    text = markdown(rows)
    print(text)
    if not args.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "two_person.md").write_text(text)
        (RESULTS / "two_person.json").write_text(json.dumps(
            {"targets": {"identity_switches": 0, "caregiver_measured_frames": 0,
                         "patient_measured_pct": TARGET_MEASURED_PCT, "mae_deg": TARGET_MAE},
             "rows": [_json_row(r) for r in rows]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
