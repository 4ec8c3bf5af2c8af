"""romcam.render: trajectories and truth, projection, depth, video files, and MediaPipe finding the
figure with the angle it was posed at."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from romcam.render import (
    EXERCISES,
    MOTIONS,
    POSTURES,
    BodyDims,
    Camera,
    RenderSpec,
    Trajectory,
    clip_truth,
    get_exercise,
    look_at,
    measure_angles,
    pose_skeleton,
    render_clip,
    render_frames,
    render_pose_image,
    truth_path,
)
from romcam.render.raster import Canvas, Ellipsoid, Lighting
from romcam.render.scene import view_azimuth

MODEL = Path(__file__).resolve().parents[1] / "models" / "pose_landmarker_full.task"

# --- trajectories and rep truth ------------------------------------------------------------------


def test_trajectory_reps_peaks_hold_and_short_reps():
    tr = Trajectory(rest=0, peak=100, reps=3, rep_s=2.0, hold_s=1.0, rest_s=0.5, short_reps=(1,))
    assert tr.duration == pytest.approx(0.5 + 3 * (2.0 + 1.0 + 0.5))
    reps = tr.rep_truth()
    assert [r.short for r in reps] == [False, True, False]
    assert [r.max_angle for r in reps] == [100, 60, 100]  # short reps reach 60 % of the excursion
    assert all(r.min_angle == 0 for r in reps)
    r0 = reps[0]
    assert (r0.start, r0.peak, r0.end) == pytest.approx((0.5, 0.5 + 1.0 + 0.5, 0.5 + 3.0))
    # the hold: at the peak for hold_s, around the recorded peak time
    for dt in np.linspace(-0.49, 0.49, 9):
        assert tr.angle_at(r0.peak + dt) == pytest.approx(100)
    assert tr.angle_at(r0.peak + 0.6) < 100
    # rest before, between and after reps
    assert tr.angle_at(0.2) == 0 and tr.angle_at(r0.end + 0.25) == 0
    assert tr.angle_at(tr.duration) == 0
    # smooth rise: half way up at a quarter of the rep
    assert tr.angle_at(r0.start + 0.5) == pytest.approx(50)


def test_trajectory_working_the_minimum_end():
    tr = Trajectory(rest=90, peak=10, reps=2)
    reps = tr.rep_truth()
    assert [(r.min_angle, r.max_angle) for r in reps] == [(10, 90), (10, 90)]
    assert min(tr.angle_at(t) for t in np.arange(0, tr.duration, 0.01)) == pytest.approx(10)


def test_trajectory_rejects_short_rep_out_of_range():
    with pytest.raises(ValueError, match="short_reps"):
        Trajectory(rest=0, peak=90, reps=2, short_reps=(2,))


@pytest.mark.parametrize("exercise", MOTIONS)
def test_every_exercise_truth(exercise):
    spec = RenderSpec(exercise, reps=2, rep_s=1.0, hold_s=0.4, rest_s=0.3, fps=20, short_reps=(1,))
    truth = clip_truth(spec)
    n = len(truth.times)
    assert n == int(spec.trajectory().duration * 20) + 1
    assert truth.times[1] == pytest.approx(1 / 20)
    assert set(truth.angles) == set(MOTIONS)
    assert all(len(v) == n and all(math.isfinite(a) for a in v) for v in truth.angles.values())
    a = np.array(truth.angles[exercise])
    tr = spec.trajectory()
    assert len(truth.reps) == 2 and truth.reps[1]["short"] and not truth.reps[0]["short"]
    far = max(a, key=lambda v: abs(v - tr.rest))
    assert far == pytest.approx(tr.peak, abs=1e-3)  # the first rep reaches the peak
    assert a[0] == pytest.approx(tr.rest) and a[-1] == pytest.approx(tr.rest)
    # the hold lasts hold_s: frames at the peak
    at_peak = np.sum(np.abs(a - tr.peak) < 1e-6)
    assert at_peak == pytest.approx(0.4 * 20, abs=1)


@pytest.mark.parametrize("posture", POSTURES)
@pytest.mark.parametrize("exercise", MOTIONS)
def test_commanded_angle_reads_back_by_the_catalog_definition(exercise, posture):
    """The figure's joints, measured by the catalog's definition, give the commanded angle."""
    ex = get_exercise(exercise)
    if posture not in ex.postures:
        with pytest.raises(ValueError, match="not rendered"):
            RenderSpec(exercise, posture=posture).trajectory()
        return
    for side in ("left", "right"):
        for frac in (0.0, 0.3, 1.0):
            angle = ex.rest[posture] + frac * (ex.peak[posture] - ex.rest[posture])
            measured = measure_angles(pose_skeleton(ex.pose(angle, side, posture)), side)
            assert measured[exercise] == pytest.approx(angle, abs=1e-6)


def test_neutral_standing_pose_reads_neutral():
    m = measure_angles(pose_skeleton(get_exercise("shoulder_flexion").pose(0, "left", "standing")),
                       "left")
    for motion in ("shoulder_flexion", "elbow_flexion", "hip_flexion", "hip_abduction",
                   "knee_flexion", "ankle_dorsiflexion", "neck_lateral_flexion", "neck_rotation"):
        assert m[motion] == pytest.approx(0, abs=1e-6), motion
    # the relaxed arm hangs a few degrees out from the trunk's axis, clear of the hips
    assert m["shoulder_abduction"] == pytest.approx(BodyDims().natural_arm_abd, abs=1e-6)


def test_catalog_ids_match_the_data_file():
    path = Path(__file__).resolve().parents[1] / "romcam" / "data" / "exercises.toml"
    import tomllib

    ids = [m["id"] for m in tomllib.loads(path.read_text())["motion"]]
    assert set(MOTIONS) == set(ids)


# --- camera and depth ----------------------------------------------------------------------------


def _camera(pos=(0.0, 1.0, 3.0), target=(0.0, 1.0, 0.0), w=640, h=480) -> Camera:
    pos, target = np.array(pos), np.array(target)
    return Camera(pos, look_at(pos, target), 500.0, w, h)


def test_point_on_optical_axis_projects_to_image_centre():
    cam = _camera(pos=(1.0, 2.0, 3.0), target=(0.0, 1.0, -1.0))
    for s in (0.5, 2.0, 7.0):
        p = cam.position + s * (np.array([0.0, 1.0, -1.0]) - cam.position)
        uv, z = cam.project(p)
        assert uv == pytest.approx([319.5, 239.5])
        assert z == pytest.approx(s * np.linalg.norm([1.0, 1.0, 4.0]))


def test_projection_orientation_and_rays():
    cam = _camera()  # at +Z looking toward -Z: world +X is image right, +Y image up
    uv, _ = cam.project(np.array([[0.5, 1.0, 0.0], [0.0, 1.5, 0.0]]))
    assert uv[0, 0] > 319.5 + 50 and uv[1, 1] < 239.5 - 50
    assert uv[0, 0] - 319.5 == pytest.approx(500 * 0.5 / 3.0)
    rays = cam.ray_directions()
    assert rays.shape == (480, 640, 3)
    # a ray through a pixel projects back to that pixel
    p = cam.position + 2.0 * rays[100, 500]
    assert cam.project(p)[0] == pytest.approx([500, 100], abs=1e-6)


def test_depth_ordering_nearer_shape_wins_whatever_the_draw_order():
    cam = _camera()
    red = Ellipsoid(np.array([0.0, 1.0, 0.5]), np.eye(3), np.array([0.2, 0.2, 0.2]), (0, 0, 255))
    blue = Ellipsoid(np.array([0.0, 1.0, -0.5]), np.eye(3), np.array([0.4, 0.4, 0.4]), (255, 0, 0))
    flat = Lighting(key_strength=0.0, fill_strength=0.0, ambient=1.0)
    for order in ([red, blue], [blue, red]):
        c = Canvas(cam, np.zeros((480, 640, 3)))
        c.draw(order, flat)
        img = c.image()
        assert tuple(img[240, 320]) == (0, 0, 255)  # the nearer red sphere hides the blue one
        assert tuple(img[240, 320 + 40]) == (255, 0, 0)  # the larger blue one shows around it
        assert tuple(img[5, 5]) == (0, 0, 0)
        assert c.depth[240, 320] == pytest.approx(3.0 - 0.5 - 0.2, abs=1e-3)


@pytest.mark.parametrize(
    ("view", "required", "side", "azimuth"),
    [
        ("front", "side", "left", 0),
        ("side", "front", "left", 90),  # camera at the patient's left
        ("side", "front", "right", -90),
        ("oblique", "front", "right", -45),
        (0, "side", "left", 90),  # numbers are degrees away from the required view
        (30, "side", "left", 60),
        (30, "front", "right", -30),
    ],
)
def test_view_azimuth(view, required, side, azimuth):
    assert view_azimuth(view, required, side) == pytest.approx(azimuth)


# --- clips ---------------------------------------------------------------------------------------

TINY = dict(reps=2, rep_s=0.6, hold_s=0.2, rest_s=0.2, fps=10, width=160, height=120)


def test_render_clip_writes_video_and_truth(tmp_path):
    spec = RenderSpec("elbow_flexion", view="side", short_reps=(1,), **TINY)
    out = tmp_path / "clips" / "elbow.mp4"
    truth = render_clip(spec, out)
    assert truth_path(out) == tmp_path / "clips" / "elbow.truth.json"
    cap = cv2.VideoCapture(str(out))
    try:
        frames = []
        while True:
            ok, f = cap.read()
            if not ok:
                break
            frames.append(f)
        assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(10)
    finally:
        cap.release()
    assert len(frames) == len(truth.times) == 23  # 0.2 + 2 * (0.6 + 0.2 + 0.2) = 2.2 s: 0..22
    assert frames[0].shape == (120, 160, 3)
    data = json.loads(truth_path(out).read_text())
    assert data["schema"] == "romcam.truth/1"
    assert {"fps", "exercise", "side", "view", "posture", "times", "angles", "reps"} <= set(data)
    assert data["exercise"] == "elbow_flexion" and data["view"] == "side"
    assert set(data["angles"]) == set(MOTIONS)
    assert set(data["reps"][0]) == {"start", "peak", "end", "max_angle", "min_angle", "short"}
    assert [r["short"] for r in data["reps"]] == [False, True]
    assert data["reps"][0]["max_angle"] == pytest.approx(130)


def test_rendering_is_deterministic_for_a_seed():
    spec = RenderSpec("shoulder_abduction", seed=3, background="textured", noise=4.0, **TINY)
    a = [f for _, f in render_frames(spec)][:4]
    b = [f for _, f in render_frames(spec)][:4]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    other = [f for _, f in render_frames(RenderSpec(**{**spec.__dict__, "seed": 4}))][:1]
    assert not np.array_equal(a[0], other[0])


@pytest.mark.parametrize("posture", ["standing", "seated"])  # lying: the bed runs off the frame
def test_whole_figure_is_framed_with_margin(posture):
    img = render_pose_image(
        {"elbow_flexion": 90}, view="side", posture=posture, width=160, height=120
    )
    assert img.shape == (120, 160, 3) and img.dtype == np.uint8
    fg = np.any(np.abs(img.astype(int) - img[0, 0].astype(int)) > 12, axis=2)
    ys, xs = np.nonzero(fg)
    # nothing touches the border (8 % margin), and the figure spans most of one dimension
    assert xs.min() > 2 and xs.max() < 157 and ys.min() > 2
    assert (xs.max() - xs.min()) / 160 > 0.6 or (ys.max() - ys.min()) / 120 > 0.6


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="unknown exercise"):
        RenderSpec("wrist_flexion").trajectory()
    with pytest.raises(ValueError, match="posture"):
        RenderSpec("elbow_flexion", posture="kneeling").trajectory()
    assert set(EXERCISES) == set(MOTIONS)


# --- MediaPipe finds the figure ------------------------------------------------------------------


@pytest.fixture(scope="module")
def landmarker():
    if not MODEL.exists():
        pytest.skip(f"pose model missing: {MODEL}")
    os.environ.setdefault("GLOG_minloglevel", "2")
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    opts = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(MODEL)),
        running_mode=vision.RunningMode.IMAGE,
        num_poses=1,
    )
    with vision.PoseLandmarker.create_from_options(opts) as lm:

        def detect(bgr: np.ndarray):
            rgb = np.ascontiguousarray(bgr[..., ::-1])
            res = lm.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
            if not res.pose_landmarks:
                return None
            h, w = bgr.shape[:2]
            return np.array([[p.x * w, p.y * h, p.visibility] for p in res.pose_landmarks[0]])

        yield detect


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    return math.degrees(math.atan2(abs(a[0] * b[1] - a[1] * b[0]), float(a @ b)))


@pytest.mark.parametrize("abduction", [60.0, 100.0])
def test_mediapipe_reads_front_view_shoulder_abduction(landmarker, abduction):
    img = render_pose_image({"shoulder_abduction": abduction}, side="left", view="front")
    lms = landmarker(img)
    assert lms is not None, "no pose found in the front view"
    sh, el, hip = lms[11, :2], lms[13, :2], lms[23, :2]
    assert lms[[0, 11, 12, 13, 23, 24], 2].min() > 0.5
    assert _angle(hip - sh, el - sh) == pytest.approx(abduction, abs=8)


@pytest.mark.parametrize("posture", ["standing", "seated"])
def test_mediapipe_finds_side_view_and_reads_elbow(landmarker, posture):
    img = render_pose_image({"elbow_flexion": 90}, side="left", view="side", posture=posture)
    lms = landmarker(img)
    assert lms is not None, f"no pose found in the {posture} side view"
    sh, el, wr = lms[11, :2], lms[13, :2], lms[15, :2]
    assert _angle(el - sh, wr - el) == pytest.approx(90, abs=10)


def test_mediapipe_finds_lying_patient(landmarker):
    img = render_pose_image({"shoulder_abduction": 60}, view="front", posture="lying")
    assert landmarker(img) is not None
