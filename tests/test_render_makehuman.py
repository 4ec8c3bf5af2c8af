"""romcam.render.makehuman: the MakeHuman CC0 body posed by linear blend skinning from the same
joint angles as the procedural figure, drawn into the same scene, found by MediaPipe."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from romcam.render import RenderSpec, get_exercise, pose_skeleton, render_clip, render_pose_image, truth_path

ASSETS = Path(__file__).resolve().parents[2] / "shared" / "media" / "makehuman"
MODEL = Path(__file__).resolve().parents[1] / "models" / "pose_landmarker_full.task"
needs_assets = pytest.mark.skipif(
    not (ASSETS / "base.obj").is_file(),
    reason=f"MakeHuman CC0 assets absent: {ASSETS} (the MakeHuman body needs ../shared/media/makehuman)",
)


@pytest.fixture(autouse=True)
def _assets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROMCAM_MAKEHUMAN", str(ASSETS))


def _deg(a: np.ndarray, b: np.ndarray) -> float:
    c = float(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b))
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


POSES = [
    ("shoulder_abduction", 90.0, "standing"),
    ("shoulder_abduction", 140.0, "standing"),
    ("shoulder_flexion", 120.0, "standing"),
    ("shoulder_external_rotation", 60.0, "standing"),
    ("elbow_flexion", 110.0, "standing"),
    ("hip_flexion", 90.0, "standing"),
    ("hip_abduction", 30.0, "standing"),
    ("knee_flexion", 100.0, "seated"),
    ("ankle_dorsiflexion", -25.0, "standing"),
    ("neck_lateral_flexion", 30.0, "standing"),
    ("neck_rotation", 50.0, "standing"),
]


@needs_assets
@pytest.mark.parametrize(("exercise", "angle", "posture"), POSES)
def test_skinned_joints_are_where_the_procedural_skeleton_puts_them(exercise, angle, posture):
    from romcam.render import makehuman as mh

    model = mh.load_model()
    pose = get_exercise(exercise).pose(angle, "left", posture)
    sk = pose_skeleton(pose, model.dims)
    verts = mh.pose_mesh(sk, model)

    def j(name: str) -> np.ndarray:  # joint centre recomputed from the posed vertices
        return model.joint(name, verts)

    for suf, ssuf in ((".L", "_l"), (".R", "_r")):
        pairs = {"shoulder": "upperarm01", "elbow": "lowerarm01", "wrist": "wrist", "hip": "upperleg01",
                 "knee": "lowerleg01", "ankle": "foot"}
        got = {k: j(f"{b}{suf}____head") for k, b in pairs.items()}
        for k, p in got.items():
            assert np.linalg.norm(p - sk.points[k + ssuf]) < 0.02, (k + ssuf, p, sk.points[k + ssuf])
        for a, b in (("shoulder", "elbow"), ("elbow", "wrist"), ("hip", "knee"), ("knee", "ankle")):
            assert _deg(got[b] - got[a], sk.points[b + ssuf] - sk.points[a + ssuf]) < 2.0, (a, b, ssuf)
        # the foot points where the procedural foot points, the palm faces where its palm faces
        foot = j(f"foot{suf}____tail") - got["ankle"]
        rest_foot = model.joint(f"foot{suf}____tail") - model.joint(f"foot{suf}____head")
        want = sk.frames["foot" + ssuf] @ model.rest["foot" + suf].T @ rest_foot
        assert _deg(foot, want) < 2.0
        knuckles = j(f"finger2-1{suf}____head") - j(f"finger5-1{suf}____head")
        hand = sk.frames["hand" + ssuf]
        # radial side (index knuckle) is lateral with the palm forward: -s * the hand's x axis
        s = 1.0 if suf == ".L" else -1.0
        assert _deg(knuckles - np.dot(knuckles, hand[:, 1]) * hand[:, 1], -s * hand[:, 0]) < 2.0
    # the head (vertices moved by the head bone alone) turns about the mid-shoulder point, where the
    # catalog's neck angles pivot, by the commanded head rotation
    rigid = model.weights[:, model.bone("head")] > 0.999
    pivot = (model.joint("upperarm01.L____head") + model.joint("upperarm01.R____head")) / 2
    want = pivot + (model.verts[rigid] - pivot) @ sk.frames["head"].T
    assert rigid.sum() > 500 and np.abs(verts[rigid] - want).max() < 0.005


@needs_assets
def test_measured_catalog_angles_of_the_skinned_joints_match_the_command():
    from romcam.render import makehuman as mh
    from romcam.render.skeleton import Skeleton, measure_angles

    model = mh.load_model()
    for exercise, angle, posture in POSES:
        if exercise.startswith("neck") or exercise.startswith("ankle"):
            continue  # ears and heel/toe are not skeleton joints of the mesh
        pose = get_exercise(exercise).pose(angle, "left", posture)
        sk = pose_skeleton(pose, model.dims)
        verts = mh.pose_mesh(sk, model)
        pts = dict(sk.points)
        for k, b in (("shoulder", "upperarm01"), ("elbow", "lowerarm01"), ("wrist", "wrist"),
                     ("hip", "upperleg01"), ("knee", "lowerleg01"), ("ankle", "foot")):
            pts[k + "_l"] = model.joint(f"{b}.L____head", verts)
        got = measure_angles(Skeleton(points=pts, frames=sk.frames), "left")[exercise]
        assert got == pytest.approx(angle, abs=1.5), exercise


def test_missing_assets_raise_a_clear_error(tmp_path, monkeypatch):
    from romcam.render import makehuman as mh

    monkeypatch.setenv("ROMCAM_MAKEHUMAN", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=r"nowhere.*base\.obj.*shared/media/makehuman"):
        mh.load_model()
    with pytest.raises(FileNotFoundError, match="makehuman"):
        render_pose_image({"shoulder_abduction": 90}, body="makehuman", width=160, height=120)


def test_unknown_body_is_rejected():
    with pytest.raises(ValueError, match="body must be one of"):
        render_pose_image({"shoulder_abduction": 90}, body="robot", width=160, height=120)


@needs_assets
def test_mediapipe_measures_shoulder_abduction_on_the_makehuman_body():
    if not MODEL.exists():
        pytest.skip(f"pose model missing: {MODEL}")
    from romcam.angles import measure
    from romcam.catalog import get_motion
    from romcam.pose import PoseEstimator

    img = render_pose_image({"shoulder_abduction": 90.0}, "left", "front", body="makehuman", seed=2)
    assert img.shape == (480, 640, 3)
    with PoseEstimator() as est:
        pf = est.process(img, 0.0, 0)
    assert pf.poses, "MediaPipe found no person in the MakeHuman still"
    pose = pf.poses[0]
    assert float(np.mean(pose.visibility)) > 0.8
    s = measure(pose, get_motion("shoulder_abduction"), "left")
    assert s.angle == pytest.approx(90.0, abs=8.0)


@needs_assets
def test_clip_writer_and_cli_with_the_makehuman_body(tmp_path):
    from romcam.cli import main

    out = tmp_path / "mh.mp4"
    spec = RenderSpec("knee_flexion", view="side", reps=1, rep_s=1.0, hold_s=0.0, rest_s=0.2, fps=6.0,
                      width=320, height=240, body="makehuman")
    truth = render_clip(spec, out)
    cap = cv2.VideoCapture(str(out))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, frame = cap.read()
    cap.release()
    assert ok and frame.shape == (240, 320, 3) and n == len(truth.times)
    assert truth_path(out).exists() and truth.spec["body"] == "makehuman"
    # the figure is drawn: plenty of pixels differ from the plain background
    assert (np.abs(frame.astype(int) - np.median(frame.reshape(-1, 3), 0)).sum(2) > 40).mean() > 0.03

    cli_out = tmp_path / "cli.mp4"
    rc = main(["render", "--exercise", "elbow_flexion", "--view", "side", "--reps", "1", "--fps", "4",
               "--width", "160", "--height", "120", "--body", "makehuman", "--out", str(cli_out)])
    assert rc == 0 and cli_out.exists() and truth_path(cli_out).exists()
