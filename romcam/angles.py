"""The angle engine: goniometric joint angles from one pose's landmarks. Pure numpy, no I/O.

Every motion in the catalog is measured the same way (see ``romcam/data/exercises.toml`` and
docs/angles.md):

1. body axes from the trunk (3D world landmarks): ``up`` (mid-hip → mid-shoulder), ``left``
   (right → left shoulder for the thorax frame, right → left hip for the pelvis frame, made
   perpendicular to ``up``) and ``anterior = left × up``;
2. the motion's plane normal ``n``: a body axis (sagittal → left, frontal → anterior, transverse →
   up), the plane of the two segments for hinge joints (``limb``), or a bone's own axis
   (``perpendicular``), oriented so that turning the reference toward the motion's positive
   direction is positive;
3. the signed angle from the reference vector to the moving vector about ``n``: ``atan2`` of the
   signed cross product and the dot product (stable near 0° and 180°, unlike ``arccos``);
4. ``angle = offset + scale * raw``, kept on one branch around the motion's ``range_center`` so
   it never wraps between conventions.

Three estimates are computed: from the 2D image landmarks (the in-plane angle the camera sees; in
side views taken in the body's sagittal plane as turned from the camera, see :func:`plane_lift_2d`),
from the 3D world landmarks, and the hybrid (image x, y with the world's depth). The view check
compares ``n`` with the camera axis (world z): an in-plane motion is seen well when its plane faces
the camera.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from .catalog import Motion
from .landmarks import INDEX, SEGMENT_INDEX, Pose, other_side, own_point, point_landmarks
from .limb_axes import AXIS_SEGMENTS

VIEW_OK_DEG = 25.0  # plane normal within this of the camera axis: view ok
VIEW_FULL_CONFIDENCE_DEG = 20.0  # confidence starts falling past this
VIEW_ZERO_CONFIDENCE_DEG = 50.0  # and reaches 0 here
# "image" motions: from IMAGE_HANDOVER_START_DEG of view error to IMAGE_HANDOVER_END_DEG the
# depth-corrected hybrid estimate takes over. On rendered video (benchmarks/results) the image
# angle was still the better one at 30° off the required view and the hybrid at 60°.
IMAGE_HANDOVER_START_DEG = 30.0
IMAGE_HANDOVER_END_DEG = 55.0
# below this visibility a landmark is the model's guess, not a measurement (docs/angles.md, step 6). 0.5 dropped
# correct frames of lying and seated patients, whom the model is less sure of: a lying hip flexion's resting knee
# (0.3-0.5), a seated resting wrist (0.36-0.40); the model's visibility hardly tells a wrong reading from a right
# one (correlation -0.02 with the error over 11,075 frames), and a landmark under another person's hand is set to
# 0.1 (subject.OCCLUDED_VISIBILITY), well below.
MIN_VISIBILITY = 0.3
# motions with ``moving_end_on`` (shoulder rotation at 90° abduction): up to END_ON_FULL_DEG of body
# view error the bone points at the camera and the end-on pair alone is measured; past
# END_ON_NONE_DEG the bone shows its length and the plane across it is measured; blended between.
END_ON_FULL_DEG = 15.0
END_ON_NONE_DEG = 30.0
# a limb plane's view check counts fully from LIMB_VIEW_FULL_BEND_DEG of bend (world landmarks); below
# LIMB_VIEW_NO_BEND_DEG the body plane's is used, blended between
LIMB_VIEW_NO_BEND_DEG = 25.0
LIMB_VIEW_FULL_BEND_DEG = 45.0
# MediaPipe's hip-to-hip and shoulder-to-shoulder landmark distances over the trunk's length (mid-hip
# to mid-shoulder) for a body square to the camera, as side_turn_deg uses them: at 30° off a side view
# the rendered bodies' ratios (half these) put them at 0.42-0.56 and 0.64-0.92; the low ends are used,
# so that a 30° turn reads 27° or more (in view the estimate stayed under 17°)
HIP_WIDTH_TO_TRUNK = 0.45
SHOULDER_WIDTH_TO_TRUNK = 0.7
# a thigh's long axis, a shin or a foot's sole from the person mask (``Pose.axes``) stands for its drawn segment in
# the image estimate while the body is within this of the side view (body plane and the turn the image
# shows). Turned further, the two legs' outlines part and cross: on rendered video 30° off the side view the
# axes read worse than the landmarks (hip flexion 8.2° → 10.1° mean error), in the view better (see
# docs/angles.md)
LIMB_AXES_MAX_VIEW_DEG = 20.0
_LIMB_PLANE_MIN_SIN = math.sin(math.radians(15.0))  # below this the segments are ~straight

LIMB_POINTS = ("elbow", "wrist", "knee", "ankle", "heel", "foot_index", "index", "pinky", "thumb")


@dataclass(frozen=True, slots=True)
class AngleSample:
    """One motion measured on one pose."""

    angle: float  # the reported angle (per the motion's method), degrees; NaN when missing
    angle_image: float  # from the 2D image landmarks
    angle_world: float  # from the 3D world landmarks
    angle_hybrid: float  # image x, y with world depth: the in-plane angle corrected for tilt
    confidence: float  # 0..1: landmark visibility × how squarely the plane faces the camera
    view_ok: bool
    view_error: float  # degrees between the motion plane and the image plane
    missing: str | None = None  # why no angle: e.g. "left_wrist not visible"


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a × b``. For two 3-vectors, written out: ``np.cross`` costs about 25 µs a call on single vectors,
    which added up to half of the angle engine's time per live frame (benchmarks/perf.py)."""
    if a.shape != (3,) or b.shape != (3,):
        return np.cross(a, b)
    a0, a1, a2 = a.tolist()
    b0, b1, b2 = b.tolist()
    return np.array((a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0))


def _norm(v: np.ndarray) -> float:
    """The length of one vector (``np.linalg.norm`` is ten times slower on a single short vector)."""
    return math.hypot(*v.tolist()) if v.ndim == 1 else float(np.linalg.norm(v))


def _unit(v: np.ndarray) -> np.ndarray:
    n = _norm(v)
    return v / n if n > 1e-12 else v * 0.0


def signed_angle(a: np.ndarray, b: np.ndarray, normal: np.ndarray) -> float:
    """Signed angle in degrees from ``a`` to ``b`` about the unit ``normal``, both vectors first
    projected onto the plane perpendicular to ``normal``; right-hand rule, range (-180, 180]."""
    a_p = a - np.dot(a, normal) * normal
    b_p = b - np.dot(b, normal) * normal
    return math.degrees(math.atan2(float(np.dot(_cross(a_p, b_p), normal)), float(np.dot(a_p, b_p))))


def signed_angle_2d(a: np.ndarray, b: np.ndarray) -> float:
    """Signed angle in degrees from 2D ``a`` to ``b`` (image x right, y down: positive turns
    clockwise on screen, i.e. about the axis pointing into the screen)."""
    cross = a[0] * b[1] - a[1] * b[0]
    return math.degrees(math.atan2(float(cross), float(a[0] * b[0] + a[1] * b[1])))


def wrap_to(value: float, center: float) -> float:
    """``value`` shifted by whole turns into [center - 180, center + 180)."""
    return center + ((value - center + 180.0) % 360.0) - 180.0


def point_indices(motion: Motion, side: str) -> dict[str, int]:
    """Side-relative point names of ``motion`` that are one landmark → its index, by MediaPipe's labels
    (points that are the mean of several, such as ``mid_hip``, are left out)."""
    out = {}
    for name in motion.landmarks():
        idx = point_landmarks(name, side)
        if len(idx) == 1:
            out[name] = idx[0]
    return out


def resolve_index(name: str, side: str) -> int:
    """The landmark index of a point name that is one landmark ("elbow", "other_ear", "nose")."""
    idx = point_landmarks(name, side)
    if len(idx) != 1:
        raise KeyError(f"{name!r} is the mean of {len(idx)} landmarks, not one")
    return idx[0]


def _point(arr: np.ndarray, name: str, side: str, pick: Mapping[str, int]) -> np.ndarray:
    if name in pick:
        return arr[pick[name]]
    idx = point_landmarks(name, side)
    return arr[idx[0]] if len(idx) == 1 else arr[list(idx)].mean(axis=0)


def body_axes(world: np.ndarray, frame: str, side: str) -> dict[str, np.ndarray]:
    """Unit body axes in world coordinates for ``frame`` ("thorax" or "pelvis")."""
    mid_sh = 0.5 * (world[INDEX["left_shoulder"]] + world[INDEX["right_shoulder"]])
    mid_hip = 0.5 * (world[INDEX["left_hip"]] + world[INDEX["right_hip"]])
    up = _unit(mid_sh - mid_hip)
    pair = ("left_shoulder", "right_shoulder") if frame == "thorax" else ("left_hip", "right_hip")
    across = world[INDEX[pair[0]]] - world[INDEX[pair[1]]]
    left = _unit(across - np.dot(across, up) * up)
    anterior = _cross(left, up)
    lateral = left if side == "left" else -left
    # perpendicular to the hip-to-hip line, toward the feet, in the frontal plane
    hips = _unit(world[INDEX["left_hip"]] - world[INDEX["right_hip"]])
    down = -up
    pelvis_down = _unit(down - np.dot(down, hips) * hips)
    return {
        "up": up, "down": down, "left": left, "anterior": anterior, "posterior": -anterior,
        "lateral": lateral, "medial": -lateral, "pelvis_down": pelvis_down,
    }  # fmt: skip


def _axes_2d(image: np.ndarray, axes: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The body axes as image directions, measured on the 2D landmarks where they lie in the
    image (up from the trunk line, pelvis_down from the hip line); axes perpendicular to the
    trunk take their sense from the world axis' projection."""
    mid_sh = 0.5 * (image[INDEX["left_shoulder"], :2] + image[INDEX["right_shoulder"], :2])
    mid_hip = 0.5 * (image[INDEX["left_hip"], :2] + image[INDEX["right_hip"], :2])
    up = mid_sh - mid_hip
    perp = np.array([-up[1], up[0]])
    out = {"up": up, "down": -up}
    for name in ("anterior", "posterior", "lateral", "medial", "left"):
        w = axes[name][:2]
        out[name] = perp if np.dot(perp, w) >= 0 else -perp
    hips = image[INDEX["left_hip"], :2] - image[INDEX["right_hip"], :2]
    hperp = np.array([-hips[1], hips[0]])
    out["pelvis_down"] = hperp if np.dot(hperp, -up) >= 0 else -hperp
    return out


def _vector(arr: np.ndarray, spec: tuple[str, ...] | str, side: str, pick: Mapping[str, int],
            axes: dict[str, np.ndarray], limb_axes: np.ndarray | None = None) -> np.ndarray:
    """The direction ``spec`` names: a body axis, from one point to another, or (more points, end-on)
    from the mean of all but the last to the last. ``limb_axes`` (image landmarks only: ``Pose.axes``): a
    limb segment whose long axis the person mask gave follows that axis, as long as the segment drawn
    between its landmarks."""
    if isinstance(spec, str):
        return axes[spec]
    if len(spec) > 2:
        return _from_end_on(np.array([_point(arr, name, side, pick) for name in spec]))
    v = _point(arr, spec[1], side, pick) - _point(arr, spec[0], side, pick)
    j = _limb_segment(spec, side, pick) if limb_axes is not None else None
    if j is not None and np.isfinite(limb_axes[j]).all():
        return limb_axes[j] * float(np.dot(limb_axes[j], v))
    return v


def _limb_segment(spec: tuple[str, ...], side: str, pick: Mapping[str, int]) -> int | None:
    """The index in ``LIMB_SEGMENTS`` of the segment a two-point ``spec`` names on ``side`` (the limb
    picker's labels in ``pick``), or None when it names no limb segment."""
    if len(spec) != 2 or any(own_point(name, side) is None for name in spec):
        return None
    return SEGMENT_INDEX.get(frozenset(pick.get(name, resolve_index(name, side)) for name in spec))


def reads_limb_axes(motion: Motion) -> bool:
    """Whether the image estimate of ``motion`` can measure on a limb's outline axis (``Pose.axes``): a
    side-view motion with a segment the pose stage reads one for. The pose stage skips the work for the
    others (``PoseEstimator(limb_axes=...)``)."""
    if motion.view != "side":
        return False
    specs = [motion.reference, motion.moving]
    if motion.moving_through is not None and isinstance(motion.moving, tuple):
        specs.append((motion.moving[1], motion.moving_through))
    return any(isinstance(spec, tuple) and _limb_segment(spec, side, {}) in AXIS_SEGMENTS
               for spec in specs for side in ("left", "right"))


def _from_end_on(points: np.ndarray) -> np.ndarray:
    """From where a bone pointing at the camera shows in the picture to the last of ``points``: the
    points before the last (shoulder and elbow) are that bone's two ends, one point in the picture, and
    the model spreads them either side of it (on rendered video the shoulder landmark at the lower edge
    of the end-on elbow, the elbow above it or along the forearm); their mean stands for it. A line
    fitted through all three leaned on the shoulder landmark: shoulder rotation read high on 7 of the
    8 rendered clips in view, +3.2° on average (from the mean -0.2°; docs/angles.md, step 4)."""
    return points[-1] - points[:-1].mean(axis=0)


STRAIGHT_FULL_DEG = 10.0  # a limb bent less than this is one straight line
STRAIGHT_NONE_DEG = 25.0  # bent more than this, only the proximal segment counts


def moving_vector(arr: np.ndarray, motion: Motion, side: str, pick: Mapping[str, int],
                  axes: dict[str, np.ndarray], limb_axes: np.ndarray | None = None) -> np.ndarray:
    """The moving segment's direction. With ``moving_through`` (e.g. the wrist for a straight-arm
    motion) and the limb straight, the whole limb's line (shoulder → wrist) is used: twice the
    baseline, so a misplaced proximal landmark tilts it half as much. Between 10° and 25° of bend
    the two directions are blended, so the angle never jumps."""
    m = _vector(arr, motion.moving, side, pick, axes, limb_axes)
    if motion.moving_through is None:
        return m
    far = _vector(arr, (motion.moving[1], motion.moving_through), side, pick, axes, limb_axes)
    nm, nf = _norm(m), _norm(far)
    if nm < 1e-12 or nf < 1e-12:
        return m
    um, uf = m / nm, far / nf
    cross = _cross(um, uf) if um.shape[0] == 3 else um[0] * uf[1] - um[1] * uf[0]
    bend = math.degrees(math.atan2(_norm(np.atleast_1d(cross)), float(np.dot(um, uf))))
    w = float(np.clip((STRAIGHT_NONE_DEG - bend) / (STRAIGHT_NONE_DEG - STRAIGHT_FULL_DEG), 0.0, 1.0))
    if w == 0.0:
        return m
    whole = m + far
    return (1.0 - w) * um + w * whole / np.linalg.norm(whole)


def plane_normal(motion: Motion, world: np.ndarray, side: str, pick: Mapping[str, int],
                 axes: dict[str, np.ndarray]) -> np.ndarray:
    """The motion plane's unit normal in world coordinates, oriented so that turning the
    reference toward the motion's positive direction is a positive rotation."""
    # the sense comes from the body, not the moving limb: in anatomical neutral, turning the
    # reference toward the positive direction is positive (a squatting thigh points forward,
    # which must not flip the knee's sign)
    r = axes[motion.reference_neutral]
    d = axes[motion.positive]
    if motion.plane == "perpendicular":
        assert motion.axis_segment is not None
        n = _unit(_vector(world, motion.axis_segment, side, pick, axes))
    elif motion.plane == "frontal":
        n = axes["anterior"]
    elif motion.plane == "transverse":
        n = axes["up"]
    else:  # sagittal, and limb's fallback
        n = axes["left"]
    if float(np.dot(_cross(r, d), n)) < 0:
        n = -n
    if motion.plane == "limb":
        r = _vector(world, motion.reference, side, pick, axes)
        m = _vector(world, motion.moving, side, pick, axes)
        c = _cross(r, m)
        size = _norm(r) * _norm(m)
        if size > 0 and _norm(c) > _LIMB_PLANE_MIN_SIN * size:
            c = _unit(c)
            n = c if float(np.dot(c, n)) >= 0 else -c
    return n


def view_axes(pose: Pose) -> dict[str, np.ndarray]:
    """The body's left-right and forward axes for judging the camera view.

    Taken from the hip line, which the arms do not disturb (the shoulder landmarks shift as an
    arm rises). Its depth is the mean of two estimates that err in opposite directions on
    rendered video: the world landmarks' depth reads a 30° turn as ~20°, the image landmarks'
    relative depth as ~36°."""
    w, im = pose.world, pose.image
    li, ri = INDEX["left_hip"], INDEX["right_hip"]
    up = _unit(0.5 * (w[INDEX["left_shoulder"]] + w[INDEX["right_shoulder"]]) - 0.5 * (w[li] + w[ri]))
    hips_w = _unit(w[li] - w[ri])
    hips_i = _unit(im[li] - im[ri])
    left = hips_w + hips_i
    left = _unit(left - np.dot(left, up) * up)
    return {"left": left, "anterior": _cross(left, up)}


def view_error_deg(motion: Motion, normal: np.ndarray, view: dict[str, np.ndarray]) -> float:
    """Degrees between the direction the camera must look along and where it does look (world z).

    For motions in a body plane (sagittal, frontal), with a ``view_plane``, or measured from the
    world landmarks, that direction is the body's (see :func:`view_axes`): front → its forward
    axis, side → its left-right axis. For the planes a limb defines (``limb``, ``perpendicular``)
    it is the motion plane's own normal, so the elbow's plane follows the shoulder."""
    plane = motion.view_plane or motion.plane
    if motion.method == "world":
        normal = view["anterior"] if motion.view == "front" else view["left"]
    elif plane in ("sagittal", "frontal"):
        normal = view["left"] if plane == "sagittal" else view["anterior"]
    c = min(1.0, abs(float(normal[2])))
    return math.degrees(math.acos(c))


def body_view_error_deg(motion: Motion, view: dict[str, np.ndarray]) -> float:
    """Degrees between the camera axis and the normal of the body plane the motion's view needs
    (front: the frontal plane; side: the sagittal plane)."""
    normal = view["anterior"] if motion.view == "front" else view["left"]
    return math.degrees(math.acos(min(1.0, abs(float(normal[2])))))


def _view_factor(err: float) -> float:
    span = VIEW_ZERO_CONFIDENCE_DEG - VIEW_FULL_CONFIDENCE_DEG
    return float(np.clip((VIEW_ZERO_CONFIDENCE_DEG - err) / span, 0.0, 1.0))


def _measure_3d(points: np.ndarray, motion: Motion, side: str, pick: Mapping[str, int]
                ) -> tuple[dict[str, np.ndarray], np.ndarray, float]:
    axes = body_axes(points, motion.frame, side)
    n = plane_normal(motion, points, side, pick, axes)
    r = _vector(points, motion.reference, side, pick, axes)
    m = moving_vector(points, motion, side, pick, axes)
    return axes, n, signed_angle(r, m, n)


_SCALE_PAIRS = [(INDEX[a], INDEX[b]) for a, b in (
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
    ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
)]  # fmt: skip


def plane_lift_2d(v: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """An image direction ``v`` (2D) as it lies in the plane with unit ``normal`` (camera axes),
    in an orthographic view: the plane tilted from the image by ``a`` is foreshortened by
    ``cos(a)`` along the image direction its normal leans to, and stretched back here. The angle
    between two lifted directions is their angle in that plane. Past ``IMAGE_HANDOVER_END_DEG`` of
    tilt the stretch stays at that tilt's (the image estimate is no longer reported there)."""
    lean = np.asarray(normal[:2], dtype=float)
    size = math.hypot(float(lean[0]), float(lean[1]))
    if size < 1e-9:
        return v
    d = lean / size
    cos_tilt = max(abs(float(normal[2])), math.cos(math.radians(IMAGE_HANDOVER_END_DEG)))
    return v + (1.0 / cos_tilt - 1.0) * float(np.dot(v, d)) * d


def _pixels_per_metre(image: np.ndarray, world: np.ndarray) -> float:
    """How many image pixels a metre across the camera's view spans, from the trunk."""
    px = sum(float(np.linalg.norm(image[a, :2] - image[b, :2])) for a, b in _SCALE_PAIRS)
    m = sum(float(np.linalg.norm(world[a, :2] - world[b, :2])) for a, b in _SCALE_PAIRS)
    return px / m if m > 1e-9 else 1.0


def measure(pose: Pose, motion: Motion, side: str, *, pick: Mapping[str, int] | None = None,
            min_visibility: float = MIN_VISIBILITY) -> AngleSample:
    """Measure ``motion`` on the patient's ``side`` ("left" or "right") of ``pose``.

    ``pick`` overrides which landmark index stands for a side-relative point (see
    :class:`LimbPicker`); by default MediaPipe's left/right labels decide. A sample whose own
    landmarks are less visible than ``min_visibility`` is missing (angle NaN): MediaPipe guesses
    positions for hidden limbs, and a guess is not a measurement.
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    pick = dict(pick) if pick is not None else point_indices(motion, side)
    if motion.moving_end_on is not None:
        return _measure_end_on(pose, motion, side, pick, min_visibility)
    return _measure_one(pose, motion, side, pick, min_visibility)


def _blend_angle(w: float, a: float, b: float, center: float) -> float:
    """``w`` of angle ``a`` plus ``1 - w`` of ``b``, the two taken on the same branch."""
    if w >= 1.0:
        return a
    if w <= 0.0:
        return b
    return wrap_to(w * a + (1.0 - w) * wrap_to(b, a), center)


def _measure_end_on(pose: Pose, motion: Motion, side: str, pick: Mapping[str, int],
                    min_visibility: float) -> AngleSample:
    """A rotation about a bone that points at the camera in the required view (see
    ``moving_end_on`` in exercises.toml). End-on, MediaPipe cannot tell where along the line of
    sight the bone's far joint is: on rendered video it put the elbow halfway along the forearm,
    which turned the plane across the humerus by up to 90°. The far joint projects onto the near
    one, though, so the near joint → the wrist is the forearm's own direction, measured in the
    view's body plane (the plane across the bone in the test position). As the body turns from the
    camera the bone shows its length, its landmarks become reliable and the line from the near
    joint would include it: the bone's own plane takes over."""
    assert motion.moving_end_on is not None and motion.view_plane is not None
    across = _measure_one(pose, replace(motion, moving_end_on=None), side, pick, min_visibility)
    end_on = _measure_one(pose, replace(motion, plane=motion.view_plane, moving=motion.moving_end_on,
                                        axis_segment=None, moving_end_on=None), side, pick, min_visibility)
    err = body_view_error_deg(motion, view_axes(pose))
    w = float(np.clip((END_ON_NONE_DEG - err) / (END_ON_NONE_DEG - END_ON_FULL_DEG), 0.0, 1.0))
    c = motion.range_center
    return AngleSample(
        angle=_blend_angle(w, end_on.angle, across.angle, c),
        angle_image=_blend_angle(w, end_on.angle_image, across.angle_image, c),
        angle_world=_blend_angle(w, end_on.angle_world, across.angle_world, c),
        angle_hybrid=_blend_angle(w, end_on.angle_hybrid, across.angle_hybrid, c),
        confidence=min(end_on.confidence, across.confidence),
        view_ok=end_on.view_ok,
        view_error=end_on.view_error,
        missing=end_on.missing or across.missing,
    )


def _measure_one(pose: Pose, motion: Motion, side: str, pick: Mapping[str, int],
                 min_visibility: float) -> AngleSample:
    world, image = pose.world, pose.image
    axes, n, raw3 = _measure_3d(world, motion, side, pick)

    view = view_axes(pose)
    turn = side_turn_deg(pose) if motion.view == "side" else 0.0
    # the thighs' long axes, the shins and the soles from the person mask (romcam/limb_axes.py), while the body faces
    # the side view
    outline = (pose.axes if pose.axes is not None and motion.view == "side"
               and max(body_view_error_deg(motion, view), turn) < LIMB_AXES_MAX_VIEW_DEG else None)

    # 2D: the in-plane angle the camera sees, its sense taken from the world plane normal
    axes2 = _axes_2d(image, axes)
    if isinstance(motion.reference, str) and motion.plane == "perpendicular":
        # a body axis seen in the plane across the bone: project it there before flattening
        ref3 = axes[motion.reference] - np.dot(axes[motion.reference], n) * n
        r2 = ref3[:2]
    else:
        r2 = _vector(image[:, :2], motion.reference, side, pick, axes2, outline)
    m2 = moving_vector(image[:, :2], motion, side, pick, axes2, outline)
    if motion.view == "side":
        # the image shows the body's sagittal plane turned by the view error: measure the two
        # directions as they lie in that plane, not as foreshortened in the image (on rendered video
        # 30° off the side view: 4 rows fixed, 1 broken; for front views it read worse in the view,
        # not done; docs/angles.md step 4)
        r2, m2 = plane_lift_2d(r2, view["left"]), plane_lift_2d(m2, view["left"])
    raw2 = signed_angle_2d(r2, m2) * (1.0 if n[2] >= 0 else -1.0)

    # hybrid: image x, y with the world's depth (scaled to pixels), so a plane tilted away from
    # the camera is not foreshortened
    hybrid = np.column_stack([image[:, :2], world[:, 2] * _pixels_per_metre(image, world)])
    _, _, raw_h = _measure_3d(hybrid, motion, side, pick)

    def finish(raw: float) -> float:
        return wrap_to(motion.offset + motion.scale * raw, motion.range_center)

    angle_world, angle_image, angle_hybrid = finish(raw3), finish(raw2), finish(raw_h)

    err = view_error_deg(motion, n, view)
    if motion.plane == "limb" and motion.view_plane is None:
        # a nearly straight limb's plane is set by landmark noise (on rendered video the elbow's
        # swung 60-90° from the camera axis at rest): judge the body's plane until it bends
        bend = _unsigned_angle(_vector(world, motion.reference, side, pick, axes),
                               _vector(world, motion.moving, side, pick, axes))
        w_limb = float(np.clip((bend - LIMB_VIEW_NO_BEND_DEG) / (LIMB_VIEW_FULL_BEND_DEG - LIMB_VIEW_NO_BEND_DEG),
                               0.0, 1.0))
        err = w_limb * err + (1.0 - w_limb) * body_view_error_deg(motion, view)
    # the flag and the confidence also heed the turn the image shows (see side_turn_deg); the
    # handover below keeps to the landmarks' own estimate, which the accuracy figures were made on
    seen_err = max(err, turn) if motion.view == "side" else err
    names = [nm for nm in motion.landmarks()]
    idx = [i for nm in names for i in _indices(nm, side, pick)]
    vis = float(np.min(pose.visibility[idx])) if idx else 1.0
    missing = None
    if vis < min_visibility:
        worst = idx[int(np.argmin(pose.visibility[idx]))]
        from .landmarks import LANDMARK_NAMES

        missing = f"{LANDMARK_NAMES[worst]} not visible"
    confidence = vis * _view_factor(seen_err)
    if motion.experimental:
        confidence = min(confidence, 0.5)
    if motion.method == "image":
        # the image angle is exact only while the plane faces the camera (or, in side views, while
        # the body plane's turn is read right); as the body turns away, hand over to the
        # depth-corrected estimate (the sample is low-confidence by then). Judged
        # on the body's plane, from the trunk: a limb's own plane, estimated from the limb's depth,
        # swings too much from frame to frame (on rendered video the elbow lost 3-5° of accuracy
        # to handovers the body had not made).
        body_err = err if motion.plane in ("sagittal", "frontal") else body_view_error_deg(motion, view)
        w = float(np.clip((IMAGE_HANDOVER_END_DEG - body_err) / (IMAGE_HANDOVER_END_DEG - IMAGE_HANDOVER_START_DEG),
                          0.0, 1.0))
        chosen = angle_image if w == 1.0 else w * angle_image + (1.0 - w) * angle_hybrid
    else:
        chosen = angle_world if motion.method == "world" else angle_hybrid
    return AngleSample(
        angle=math.nan if missing else chosen,
        angle_image=angle_image,
        angle_world=angle_world,
        angle_hybrid=angle_hybrid,
        confidence=0.0 if missing else confidence,
        view_ok=seen_err <= VIEW_OK_DEG,
        view_error=seen_err,
        missing=missing,
    )


def _unsigned_angle(a: np.ndarray, b: np.ndarray) -> float:
    return math.degrees(math.atan2(_norm(_cross(a, b)), float(np.dot(a, b))))


def side_turn_deg(pose: Pose) -> float:
    """How far the body is turned from a true side view, from the image alone.

    Seen from the side, the hip line and the shoulder line point at the camera and each pair of
    landmarks coincides in the image; turned by ``a`` they lie ``width * sin(a)`` apart. Measured
    against the trunk's length in the image (mid-hip to mid-shoulder) it needs no depth, which
    MediaPipe estimates worst across the body in a side view (its world hip line read a 30° turn as
    8-25° on rendered video, and let lower-limb clips 30° off pass as side views). The mean of the
    hips' and the shoulders' estimates: a raised arm moves the shoulder landmark, a lifted leg the
    hip's."""
    im = pose.image

    def apart(name: str) -> np.ndarray:
        return im[INDEX[f"left_{name}"], :2] - im[INDEX[f"right_{name}"], :2]

    def mid(name: str) -> np.ndarray:
        return 0.5 * (im[INDEX[f"left_{name}"], :2] + im[INDEX[f"right_{name}"], :2])

    length = float(np.linalg.norm(mid("shoulder") - mid("hip")))
    if length < 1e-6:
        return 0.0
    hips = float(np.linalg.norm(apart("hip"))) / length / HIP_WIDTH_TO_TRUNK
    shoulders = float(np.linalg.norm(apart("shoulder"))) / length / SHOULDER_WIDTH_TO_TRUNK
    return 0.5 * (math.degrees(math.asin(min(1.0, hips))) + math.degrees(math.asin(min(1.0, shoulders))))


def _indices(name: str, side: str, pick: Mapping[str, int]) -> list[int]:
    return [pick[name]] if name in pick else list(point_landmarks(name, side))


def facing_side(pose: Pose) -> str | None:
    """Which body side faces the camera, from the nose and the trunk line alone (no left/right
    labels): "left", "right", or None when the patient faces the camera or away from it."""
    w = pose.world
    mid_sh = 0.5 * (w[INDEX["left_shoulder"]] + w[INDEX["right_shoulder"]])
    mid_hip = 0.5 * (w[INDEX["left_hip"]] + w[INDEX["right_hip"]])
    up = _unit(mid_sh - mid_hip)
    fwd = w[INDEX["nose"]] - mid_sh
    fwd = _unit(fwd - np.dot(fwd, up) * up)
    left = _cross(up, fwd)  # left = up × anterior in a right-handed (left, up, anterior) frame
    if abs(float(left[2])) < math.sin(math.radians(45.0)):
        return None
    return "left" if left[2] < 0 else "right"  # z grows away from the camera


class LimbPicker:
    """Decides, frame by frame, which labelled landmark is the exercised limb's in a side view.

    In a side view the model sometimes labels the near leg as the far one, or mixes the two. When
    the exercised side faces the camera, each limb point is taken from whichever of its two
    labelled candidates is nearer the camera (world z), with hysteresis so the choice does not
    flicker when the limbs cross; elsewhere the labels stand.
    """

    def __init__(self, motion: Motion, side: str, *, hysteresis_m: float = 0.05) -> None:
        self.motion = motion
        self.side = side
        self.hysteresis_m = hysteresis_m
        self._choice: dict[str, str] = {}  # point name → the label side in use

    def pick(self, pose: Pose) -> dict[str, int]:
        base = point_indices(self.motion, self.side)
        if self.motion.view != "side" or facing_side(pose) != self.side:
            return base
        out = dict(base)
        for name in base:
            if name not in LIMB_POINTS:
                continue
            own = INDEX[f"{self.side}_{name}"]
            opp = INDEX[f"{other_side(self.side)}_{name}"]
            z_own, z_opp = pose.world[own, 2], pose.world[opp, 2]
            # a hidden candidate is a guess: never switch to it, and leave it once it is hidden (on
            # rendered video the far wrist's guessed depth came nearer as the near elbow bent, and
            # the switch dropped every frame at the top of the curl)
            opp_seen = pose.visibility[opp] >= MIN_VISIBILITY or pose.visibility[opp] >= pose.visibility[own]
            current = self._choice.get(name, "own")
            if current == "own" and opp_seen and z_opp < z_own - self.hysteresis_m:
                current = "opp"
            elif current == "opp" and (not opp_seen or z_own < z_opp - self.hysteresis_m):
                current = "own"
            self._choice[name] = current
            out[name] = own if current == "own" else opp
        return out
