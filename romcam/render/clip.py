"""Render an exercise clip with known angles, and write it with its ground truth.

``render_clip(spec, Path("clip.mp4"))`` writes ``clip.mp4`` (OpenCV, 'mp4v') and
``clip.truth.json`` beside it (see :class:`Truth`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .camera import Camera
from .caregiver import (
    CROSSING_REST_S,
    CaregiverFrame,
    CaregiverPlan,
    caregiver_appearance,
    covered_landmarks,
    shapes_bbox,
)
from .exercises import POSTURES, get_exercise, neutral_pose
from .figure import Appearance, figure_shapes
from .raster import Canvas, draw_mesh
from .scene import (
    add_noise,
    background_canvas,
    camera_lighting,
    place_body,
    place_camera,
    scene_look,
    view_azimuth,
)
from .skeleton import MOTIONS, BodyDims, JointAngles, Skeleton, measure_angles, pose_skeleton
from .trajectory import Trajectory, frame_times

TRUTH_SCHEMA = "romcam.truth/1"


@dataclass(frozen=True)
class RenderSpec:
    """What to render. Angles in degrees, times in seconds, distances in metres.

    ``view``: "front", "side" (the camera at the moving side), "oblique" (45°) or a number of
    degrees away from the exercise's required view. ``peak``/``rest`` default per exercise and
    posture (see :mod:`romcam.render.exercises`). ``rep_s`` is the rise plus the return; the hold
    comes on top. ``seed`` drives clothes, skin, background, lighting and noise. ``body``:
    "procedural" (the shapes of :mod:`.figure`) or "makehuman" (the MakeHuman CC0 mesh posed by
    linear blend skinning, :mod:`.makehuman`; the same angles drive both).

    ``caregiver``: a second, procedural figure in scrubs whose hands hold the moving limb and move
    it along the trajectory (passive ROM, :mod:`.caregiver`). ``caregiver_side``: "auto" (chosen
    per view so the patient stays visible), "limb" or "opposite" (the patient's side they stand
    on). ``caregiver_posture``: "auto" (standing by a bed, kneeling by a chair), "standing" or
    "kneeling". ``crossing``: after the first rep the caregiver lets go, walks across behind the
    patient and comes back; rests are lengthened to ``caregiver.CROSSING_REST_S``.
    """

    exercise: str
    side: str = "left"
    view: str | float = "front"
    posture: str = "standing"
    reps: int = 3
    peak: float | None = None
    rest: float | None = None
    short_reps: tuple[int, ...] = ()
    rep_s: float = 3.0
    hold_s: float = 0.5
    rest_s: float = 0.8
    fps: float = 30.0
    width: int = 640
    height: int = 480
    seed: int = 0
    background: str = "plain"
    noise: float = 0.0
    camera_height: float | None = None
    camera_tilt: float = 0.0
    camera_distance: float | None = None
    body: str = "procedural"
    caregiver: bool = False
    caregiver_side: str = "auto"
    caregiver_posture: str = "auto"
    crossing: bool = False

    def trajectory(self) -> Trajectory:
        ex = get_exercise(self.exercise)
        _check_posture(self.posture)
        ex.check_posture(self.posture)
        return Trajectory(
            rest=ex.rest[self.posture] if self.rest is None else float(self.rest),
            peak=ex.peak[self.posture] if self.peak is None else float(self.peak),
            reps=self.reps,
            rep_s=self.rep_s,
            hold_s=self.hold_s,
            rest_s=max(self.rest_s, CROSSING_REST_S) if self.caregiver and self.crossing else self.rest_s,
            short_reps=tuple(self.short_reps),
        )


@dataclass
class Truth:
    """Ground truth of a rendered clip (written as JSON beside the video).

    ``angles``: catalog motion id -> per-frame angle (degrees) of the moving side, measured from
    the figure's 3D skeleton by the catalog's definitions (the exercised motion is exactly the
    commanded trajectory). ``reps``: per rep ``start``/``peak``/``end`` (seconds) and
    ``max_angle``/``min_angle`` (degrees), ``short``.

    With a caregiver (``spec.caregiver``), per frame: ``patient_bbox`` ([x0, y0, x1, y1] pixels,
    from the procedural body's shapes, also for the MakeHuman body) and ``caregiver`` =
    ``{"present": [bool], "holding": [bool], "bbox": [[x0, y0, x1, y1] or None],
    "holds": [[landmark, ...]], "covered": [[landmark, ...]]}``: ``holds`` names the patient's
    landmarks under the caregiver's hands ("left_wrist", "left_elbow"; empty while they are
    away), ``covered`` the patient's landmarks (MediaPipe names) that the caregiver's body hides
    from the camera in that frame (a ray test, the same geometry as the z-buffer). Without a
    caregiver both are None. The angle truth is the commanded trajectory either way.
    """

    fps: float
    exercise: str
    side: str
    view: str | float
    posture: str
    times: list[float]
    angles: dict[str, list[float]]
    reps: list[dict]
    width: int = 640
    height: int = 480
    camera_azimuth: float = 0.0  # degrees about the body's long axis, 0 = in front, + = left
    patient_bbox: list | None = None
    caregiver: dict | None = None
    spec: dict = field(default_factory=dict)
    schema: str = TRUTH_SCHEMA

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @staticmethod
    def from_json(text: str) -> Truth:
        return Truth(**json.loads(text))


def truth_path(video: Path) -> Path:
    """Where the truth of ``video`` lives: ``clip.mp4`` -> ``clip.truth.json``."""
    video = Path(video)
    return video.with_suffix(".truth.json")


def _check_posture(posture: str) -> None:
    if posture not in POSTURES:
        raise ValueError(f"posture must be one of {', '.join(POSTURES)}, got {posture!r}")


BODIES = ("procedural", "makehuman")


def _check_body(body: str) -> None:
    if body not in BODIES:
        raise ValueError(f"body must be one of {', '.join(BODIES)}, got {body!r}")


def _extent_points(poses: list[JointAngles], dims: BodyDims) -> np.ndarray:
    """Body-frame points bounding everything the figure reaches, padded by body thickness."""
    pad = 0.1 * np.vstack([np.eye(3), -np.eye(3), np.zeros((1, 3))])
    pts = []
    for pose in poses:
        sk = pose_skeleton(pose, dims)
        for name, p in sk.points.items():
            extra = 0.14 if name == "head" else 0.0
            pts.append(p + pad)
            if extra:
                pts.append(p + sk.frames["head"] @ np.array([0, extra, 0]))
        for suf in ("_l", "_r"):
            hf = sk.frames["hand" + suf]
            pts.append(sk.points["wrist" + suf] + 0.17 * hf[:, 1])
    return np.vstack([np.atleast_2d(p) for p in pts])


class _Renderer:
    """The clip's fixed parts (camera, background, appearance) and a per-pose draw."""

    def __init__(self, spec: RenderSpec, poses_for_extent: list[JointAngles]):
        _check_posture(spec.posture)
        _check_body(spec.body)
        self.spec = spec
        self.mesh = None
        if spec.body == "makehuman":
            from . import makehuman

            self.mesh = makehuman.load_model()
            self.dims = self.mesh.dims
            extent = makehuman.extent_points(self.mesh, [pose_skeleton(p, self.dims) for p in poses_for_extent])
        else:
            self.dims = BodyDims()
            extent = _extent_points(poses_for_extent, self.dims)
        ex = get_exercise(spec.exercise)
        self.rotation, self.origin = place_body(spec.posture, self.dims)
        self.azimuth = view_azimuth(spec.view, ex.view, spec.side)
        self.plan: CaregiverPlan | None = None
        if spec.caregiver:
            a = math.radians(self.azimuth)
            cam_dir = self.rotation @ np.array([math.sin(a), 0.0, math.cos(a)])
            self.plan = CaregiverPlan(
                spec.exercise, spec.side, spec.posture, spec.trajectory(), self.rotation, self.origin,
                self.dims, cam_dir, where=spec.caregiver_side, cg_posture=spec.caregiver_posture,
                crossing=spec.crossing,
            )
            extent = np.vstack([extent, self._caregiver_extent()])
        self.camera: Camera = place_camera(
            extent,
            self.rotation,
            self.origin,
            self.azimuth,
            spec.width,
            spec.height,
            distance=spec.camera_distance,
            height_m=spec.camera_height,
            tilt=spec.camera_tilt,
        )
        self.look = scene_look(spec.background, spec.seed)
        self.light = camera_lighting(self.look.lighting, self.camera)
        self.appearance = Appearance.from_seed(spec.seed)
        self.cg_appearance = caregiver_appearance(self.appearance, spec.seed)
        self.background = background_canvas(self.camera, self.look, spec.posture)
        if self.mesh is not None:
            from .makehuman import vertex_colors

            self.albedo = vertex_colors(self.mesh, self.appearance)

    def _caregiver_extent(self) -> np.ndarray:
        """Caregiver points over the clip (a few per body part), in the patient's body frame, so
        the camera frames both people."""
        assert self.plan is not None
        traj = self.plan.traj
        pts = []
        for t in np.linspace(0.0, traj.duration, 49):
            f = self.plan.at(float(t))
            world = np.array(list(f.skeleton.points.values())) @ f.rotation.T + f.origin
            head = f.rotation @ f.skeleton.points["head"] + f.origin
            pts.append(world)
            pts.append(head + 0.12 * np.array([[0, 1.0, 0], [1, 0, 0], [-1, 0, 0], [0, 0, 1], [0, 0, -1]]))
        world = np.vstack(pts)
        return (world - self.origin) @ self.rotation  # inverse of world = R @ body + o

    def caregiver_at(self, t: float, sk: Skeleton | None = None) -> CaregiverFrame | None:
        return None if self.plan is None else self.plan.at(t, sk)

    def draw(self, sk: Skeleton, t: float | None = None) -> np.ndarray:
        canvas: Canvas = self.background.copy()
        if self.mesh is not None:
            from .makehuman import pose_mesh

            world = pose_mesh(sk, self.mesh) @ self.rotation.T + self.origin
            draw_mesh(canvas, world, self.mesh.tris, self.albedo, self.light)
        else:
            canvas.draw(
                figure_shapes(sk, self.rotation, self.origin, self.appearance), self.light
            )
        if self.plan is not None and t is not None:
            # the caregiver shares the z-buffer: their hands and arms really cover the limb
            cg = self.plan.at(t)
            canvas.draw(figure_shapes(cg.skeleton, cg.rotation, cg.origin, self.cg_appearance), self.light)
        return canvas.image()


def _frame_rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, 7, index])


def render_frames(spec: RenderSpec) -> Iterator[tuple[float, np.ndarray]]:
    """Yield ``(t seconds, BGR uint8 frame)`` for every frame of the clip."""
    ex = get_exercise(spec.exercise)
    traj = spec.trajectory()
    extremes = [traj.rest, traj.peak, (traj.rest + traj.peak) / 2]
    renderer = _Renderer(spec, [ex.pose(a, spec.side, spec.posture) for a in extremes])
    for i, t in enumerate(frame_times(traj.duration, spec.fps)):
        sk = pose_skeleton(ex.pose(traj.angle_at(t), spec.side, spec.posture), renderer.dims)
        yield t, add_noise(renderer.draw(sk, t), spec.noise, _frame_rng(spec.seed, i))


def clip_truth(spec: RenderSpec) -> Truth:
    """The truth of ``spec``'s clip, without rendering it."""
    ex = get_exercise(spec.exercise)
    traj = spec.trajectory()
    times = frame_times(traj.duration, spec.fps)
    angles: dict[str, list[float]] = {m: [] for m in MOTIONS}
    dims = BodyDims()
    for t in times:
        commanded = traj.angle_at(t)
        measured = measure_angles(pose_skeleton(ex.pose(commanded, spec.side, spec.posture), dims),
                                  spec.side)
        measured[spec.exercise] = commanded
        for m in MOTIONS:
            angles[m].append(round(float(measured[m]), 4))
    spec_d = asdict(spec)
    spec_d["short_reps"] = list(spec.short_reps)
    patient_bbox, caregiver = (_caregiver_truth(spec, times) if spec.caregiver else (None, None))
    return Truth(
        fps=spec.fps,
        exercise=spec.exercise,
        side=spec.side,
        view=spec.view,
        posture=spec.posture,
        times=times,
        angles=angles,
        reps=[r.as_dict() for r in traj.rep_truth()],
        width=spec.width,
        height=spec.height,
        camera_azimuth=view_azimuth(spec.view, ex.view, spec.side),
        spec=spec_d,
        patient_bbox=patient_bbox,
        caregiver=caregiver,
    )


# the patient's points the truth reports as covered or held, by MediaPipe's names
_LANDMARKS = {
    "nose": "nose", "ear_l": "left_ear", "ear_r": "right_ear",
    **{f"{k}_{s[0]}": f"{s}_{v}" for s in ("left", "right") for k, v in (
        ("shoulder", "shoulder"), ("elbow", "elbow"), ("wrist", "wrist"), ("hip", "hip"), ("knee", "knee"),
        ("ankle", "ankle"), ("heel", "heel"), ("toe", "foot_index"))},
}


def _caregiver_truth(spec: RenderSpec, times: list[float]) -> tuple[list, dict]:
    """Per frame: the patient's bbox, and the caregiver's presence, bbox, holds and cover."""
    ex = get_exercise(spec.exercise)
    traj = spec.trajectory()
    extremes = [traj.rest, traj.peak, (traj.rest + traj.peak) / 2]
    r = _Renderer(spec, [ex.pose(a, spec.side, spec.posture) for a in extremes])
    cam = r.camera
    patient_bbox: list = []
    cg: dict[str, list] = {"present": [], "holding": [], "bbox": [], "holds": [], "covered": []}
    for t in times:
        sk = pose_skeleton(ex.pose(traj.angle_at(t), spec.side, spec.posture), r.dims)
        patient_bbox.append(shapes_bbox(figure_shapes(sk, r.rotation, r.origin, r.appearance), cam))
        f = r.caregiver_at(t, sk)
        assert f is not None
        shapes = figure_shapes(f.skeleton, f.rotation, f.origin, r.cg_appearance)
        box = shapes_bbox(shapes, cam)
        pts = {_LANDMARKS[k]: r.rotation @ p + r.origin for k, p in sk.points.items() if k in _LANDMARKS}
        cg["present"].append(box is not None)
        cg["holding"].append(bool(f.holding))
        cg["bbox"].append(box)
        cg["holds"].append(sorted(set(f.holds.values())))
        cg["covered"].append(covered_landmarks(pts, shapes, cam))
    return patient_bbox, cg


TORSO_KEYS = ("shoulder_l", "shoulder_r", "hip_l", "hip_r")  # MediaPipe's left/right shoulder, hip order


def people_torsos(spec: RenderSpec) -> tuple[np.ndarray, np.ndarray]:
    """Where each person's torso is in the image, per frame: ``(patient, caregiver)``, each of shape
    (frames, 4, 2) in pixels (left shoulder, right shoulder, left hip, right hip); the caregiver's
    rows are NaN without a caregiver or while they are out of the picture. For benchmarks that ask
    *who* was measured (the two-person benchmark's identity check)."""
    ex = get_exercise(spec.exercise)
    traj = spec.trajectory()
    times = frame_times(traj.duration, spec.fps)
    r = _Renderer(spec, [ex.pose(a, spec.side, spec.posture) for a in (traj.rest, traj.peak,
                                                                      (traj.rest + traj.peak) / 2)])
    cam = r.camera
    patient = np.full((len(times), 4, 2), np.nan)
    carer = np.full((len(times), 4, 2), np.nan)
    for i, t in enumerate(times):
        sk = pose_skeleton(ex.pose(traj.angle_at(t), spec.side, spec.posture), r.dims)
        pts = np.array([r.rotation @ sk.points[k] + r.origin for k in TORSO_KEYS])
        patient[i] = cam.project(pts)[0]
        f = r.caregiver_at(t, sk)
        if f is not None:
            cpts = np.array([f.rotation @ f.skeleton.points[k] + f.origin for k in TORSO_KEYS])
            uv, z = cam.project(cpts)
            inside = (z > 0.05).all() and ((uv >= 0) & (uv < [spec.width, spec.height])).any(axis=1).any()
            if inside:
                carer[i] = uv
    return patient, carer


class RenderStopped(Exception):
    """:func:`render_clip` was asked to stop (``should_stop``) before the clip was whole; nothing was kept."""


def render_clip(spec: RenderSpec, out: Path, *, should_stop: Callable[[], bool] | None = None) -> Truth:
    """Render ``spec`` to ``out`` (mp4, 'mp4v') and write its truth JSON beside it. Both appear whole
    or not at all: they are written under temporary names and renamed, the truth first, so a full
    disk or a kill half-way leaves no partial video to be taken for the clip by a later run.
    ``should_stop`` is asked before each frame; when it answers true the partial files are removed and
    :class:`RenderStopped` is raised (a server stopped with Ctrl-C while it renders its demo video)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    truth = clip_truth(spec)
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.tmp{out.suffix}")
    try:
        writer = cv2.VideoWriter(
            str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), spec.fps, (spec.width, spec.height)
        )
        if not writer.isOpened():
            raise OSError(f"OpenCV cannot write a {spec.width} x {spec.height} video to {out.parent}")
        try:
            for _, frame in render_frames(spec):
                if should_stop is not None and should_stop():
                    raise RenderStopped(f"stopped before {out.name} was whole")
                writer.write(frame)
        finally:
            writer.release()
        truth_path(tmp).write_text(truth.to_json())
        truth_path(tmp).replace(truth_path(out))
        tmp.replace(out)
    except BaseException:
        for leftover in (tmp, truth_path(tmp)):
            leftover.unlink(missing_ok=True)
        raise
    return truth


def render_pose_image(
    angles: dict[str, float],
    side: str = "left",
    view: str | float = "front",
    posture: str = "standing",
    *,
    width: int = 640,
    height: int = 480,
    seed: int = 0,
    background: str = "plain",
    camera_distance: float | None = None,
    body: str = "procedural",
) -> np.ndarray:
    """One still (BGR uint8) with the given catalog angles (degrees) applied to ``side``, drawn
    with ``body`` ("procedural" or "makehuman").

    Several motions may be combined (e.g. ``{"shoulder_abduction": 90, "elbow_flexion": 45}``);
    they are applied in catalog order. A numeric ``view`` is taken relative to the first motion's
    required view.
    """
    pose = neutral_pose(posture)
    required = "front"
    for i, motion in enumerate(m for m in MOTIONS if m in angles):
        ex = get_exercise(motion)
        if i == 0:
            required = ex.view
        single = ex.pose(float(angles[motion]), side, posture)
        pose = _merge(pose, single, neutral_pose(posture), side)
    unknown = set(angles) - set(MOTIONS)
    if unknown:
        raise ValueError(f"unknown motions {sorted(unknown)}; expected some of {MOTIONS}")
    first = next((m for m in MOTIONS if m in angles), "shoulder_abduction")
    spec = RenderSpec(
        exercise=first,
        side=side,
        view=view if not isinstance(view, (int, float)) else float(view),
        posture=posture,
        width=width,
        height=height,
        seed=seed,
        background=background,
        camera_distance=camera_distance,
        body=body,
    )
    del required
    renderer = _Renderer(spec, [pose, neutral_pose(posture)])
    return renderer.draw(pose_skeleton(pose, renderer.dims))


def _merge(acc: JointAngles, single: JointAngles, neutral: JointAngles, side: str) -> JointAngles:
    """Apply to ``acc`` every DOF where ``single`` differs from ``neutral``."""
    from dataclasses import fields, replace

    out = acc
    s_new, s_neu = single.side(side), neutral.side(side)
    changes = {
        f.name: getattr(s_new, f.name)
        for f in fields(s_new)
        if not math.isclose(getattr(s_new, f.name), getattr(s_neu, f.name))
    }
    if changes:
        out = out.with_side(side, **changes)
    if single.neck_lat or single.neck_rot:
        out = replace(
            out,
            neck_lat=single.neck_lat or out.neck_lat,
            neck_rot=single.neck_rot or out.neck_rot,
            neck_side=single.neck_side,
        )
    return out
