"""The caregiver figure (passive ROM): truth fields, hands on the limb, both people in the image,
MediaPipe on a two-person still, and the CLI flags."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from romcam.cli import main
from romcam.render import RenderSpec, clip_truth, get_exercise, pose_skeleton
from romcam.render.caregiver import CaregiverPlan, two_link_ik
from romcam.render.clip import _Renderer

MODEL = Path(__file__).resolve().parents[1] / "models" / "pose_landmarker_full.task"

SCENES = [
    ("shoulder_flexion", "lying", "side"),
    ("shoulder_abduction", "lying", "front"),
    ("knee_flexion", "lying", "oblique"),
    ("elbow_flexion", "seated", "front"),
    ("knee_extension", "seated", "side"),
]


def _plan(spec: RenderSpec) -> tuple[CaregiverPlan, _Renderer]:
    ex = get_exercise(spec.exercise)
    traj = spec.trajectory()
    r = _Renderer(spec, [ex.pose(a, spec.side, spec.posture) for a in (traj.rest, traj.peak)])
    assert r.plan is not None
    return r.plan, r


def test_two_link_ik_reaches_and_keeps_lengths():
    s = np.array([0.0, 1.4, 0.0])
    for target in ([0.3, 1.0, 0.3], [0.0, 1.0, 0.4], [-0.2, 1.6, 0.3]):
        t = np.array(target)
        el, end = two_link_ik(s, t, 0.3, 0.33, np.array([1.0, -1.0, 0.0]))
        assert np.linalg.norm(el - s) == pytest.approx(0.3)
        assert np.linalg.norm(end - el) == pytest.approx(0.33)
        assert np.linalg.norm(end - t) < 1e-6
    el, end = two_link_ik(s, s + [0, 0, 2.0], 0.3, 0.33, np.array([0.0, -1.0, 0.0]))  # out of reach
    assert np.linalg.norm(end - s) == pytest.approx(0.63, abs=1e-3)


@pytest.mark.parametrize("exercise,posture,view", SCENES)
def test_caregiver_hands_stay_on_the_held_joints(exercise, posture, view):
    spec = RenderSpec(exercise=exercise, posture=posture, view=view, caregiver=True, reps=1, fps=10)
    plan, r = _plan(spec)
    ex, traj = get_exercise(exercise), spec.trajectory()
    suf = "_l"
    for t in np.arange(0.0, traj.duration, 0.1):
        sk = pose_skeleton(ex.pose(traj.angle_at(t), "left", posture), r.dims)
        f = plan.at(float(t), sk)
        assert f.holding
        assert len(f.holds) == 2 or t > 0.2 * traj.duration  # both hands on the limb at rest
        distal = {"shoulder": "wrist", "elbow": "wrist", "knee": "ankle"}[exercise.split("_")[0]]
        assert f"left_{distal}" in f.holds.values(), t  # the moving end is always held
        held = {"wrist": "wrist", "elbow": "elbow", "ankle": "ankle", "knee": "knee"}
        for hand, landmark in f.holds.items():
            joint = held[landmark.split("_", 1)[1]]
            p = r.rotation @ sk.points[joint + suf] + r.origin
            assert np.linalg.norm(f.hands[hand] - p) < 0.08, (t, hand, landmark)
        # the caregiver's arm segments keep their lengths (the IK, not a stretched arm)
        pts = f.skeleton.points
        for side in ("_l", "_r"):
            assert np.linalg.norm(pts["elbow" + side] - pts["shoulder" + side]) == pytest.approx(0.30, abs=1e-6)
            assert np.linalg.norm(pts["wrist" + side] - pts["elbow" + side]) == pytest.approx(0.26, abs=1e-6)


def test_truth_schema_with_caregiver_and_unchanged_angles():
    base = RenderSpec(exercise="shoulder_flexion", posture="lying", view="side", reps=1, fps=8,
                      width=320, height=240)
    spec = RenderSpec(**{**base.__dict__, "caregiver": True})
    plain, truth = clip_truth(base), clip_truth(spec)
    assert plain.caregiver is None and plain.patient_bbox is None
    assert truth.angles == plain.angles and truth.reps == plain.reps  # the commanded trajectory
    n = len(truth.times)
    cg = truth.caregiver
    assert set(cg) == {"present", "holding", "bbox", "holds", "covered"}
    assert all(len(cg[k]) == n for k in cg) and len(truth.patient_bbox) == n
    assert all(cg["present"]) and all(cg["holding"])
    assert all(h == ["left_elbow", "left_wrist"] for h in cg["holds"])
    for box in cg["bbox"] + truth.patient_bbox:
        x0, y0, x1, y1 = box
        assert 0 <= x0 < x1 < 320 and 0 <= y0 < y1 < 240
    # from beside the bed the caregiver's hands grip the wrist from above: seen from overhead they cover it
    top = clip_truth(RenderSpec(**{**spec.__dict__, "view": "front"}))
    assert sum("left_wrist" in c for c in top.caregiver["covered"]) > len(top.times) // 2
    again = type(truth).from_json(truth.to_json())
    assert again.caregiver == json.loads(truth.to_json())["caregiver"]
    assert again.spec["caregiver"] is True


def test_crossing_lets_go_walks_across_and_comes_back():
    spec = RenderSpec(exercise="shoulder_flexion", posture="lying", view="side", caregiver=True, crossing=True,
                      reps=2, fps=5, width=320, height=240)
    truth = clip_truth(spec)
    cg = truth.caregiver
    away = [i for i, h in enumerate(cg["holding"]) if not h]
    assert away, "the caregiver never lets go"
    reps = truth.reps
    times = np.array(truth.times)
    assert all(reps[0]["end"] < times[i] < reps[1]["start"] for i in away)  # between reps, limb at rest
    assert all(cg["holds"][i] == [] for i in away)
    assert cg["holding"][-1] and cg["holding"][0]
    centres = [(b[0] + b[2]) / 2 for b, h in zip(cg["bbox"], cg["holding"], strict=True) if not h]
    px0, _, px1, _ = truth.patient_bbox[away[0]]
    assert max(centres) - min(centres) > 0.3 * (px1 - px0)  # they really walk across the view


def test_both_figures_are_drawn():
    spec = RenderSpec(exercise="elbow_flexion", posture="seated", view="front", caregiver=True, reps=1,
                      fps=4, width=320, height=240, seed=2)
    plan, r = _plan(spec)
    truth = clip_truth(spec)
    t = truth.times[3]
    ex = get_exercise(spec.exercise)
    sk = pose_skeleton(ex.pose(spec.trajectory().angle_at(t), "left", "seated"), r.dims)
    img = r.draw(sk, t).astype(int)
    bg = r.background.image().astype(int)
    alone = r.draw(sk).astype(int)  # without t: the patient only
    for box in (truth.patient_bbox[3], truth.caregiver["bbox"][3]):
        x0, y0, x1, y1 = box
        changed = np.abs(img[y0:y1, x0:x1] - bg[y0:y1, x0:x1]).sum(-1) > 30
        assert changed.mean() > 0.2
    x0, y0, x1, y1 = truth.caregiver["bbox"][3]
    assert (np.abs(img - alone).sum(-1) > 30)[y0:y1, x0:x1].mean() > 0.2  # the caregiver's own pixels


def test_caregiver_still_is_found_by_mediapipe(capsys):
    if not MODEL.exists():
        pytest.skip(f"pose model missing: {MODEL}")
    from romcam.pose import PoseEstimator

    spec = RenderSpec(exercise="shoulder_abduction", posture="seated", view="front", caregiver=True, reps=1,
                      fps=4, seed=5, background="room")
    plan, r = _plan(spec)
    traj = spec.trajectory()
    t = traj.rep_truth()[0].peak
    ex = get_exercise(spec.exercise)
    img = r.draw(pose_skeleton(ex.pose(traj.angle_at(t), "left", "seated"), r.dims), t)
    with PoseEstimator(num_poses=2) as e:
        pf = e.process(img, 0.0, 0)
    assert len(pf.poses) >= 1
    with capsys.disabled():
        print(f"\n[caregiver still] MediaPipe found {len(pf.poses)} of 2 people")


def test_cli_render_caregiver_flags(tmp_path: Path, capsys):
    out = tmp_path / "cg.mp4"
    rc = main(["render", "--exercise", "knee_flexion", "--posture", "lying", "--view", "side", "--reps", "1",
               "--rep-seconds", "1", "--hold", "0", "--fps", "4", "--width", "160", "--height", "120",
               "--crossing", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    truth = json.loads(out.with_suffix(".truth.json").read_text())
    assert truth["spec"]["caregiver"] is True and truth["spec"]["crossing"] is True
    assert truth["caregiver"] is not None and not all(truth["caregiver"]["holding"])
    assert math.isclose(truth["spec"]["rest_s"], 0.8)  # the spec as given; the rests are lengthened
