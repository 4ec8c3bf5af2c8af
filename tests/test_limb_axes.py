"""A limb's long axis from the person mask (romcam/limb_axes.py), and the angle engine using it."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from synthetic_pose import make_pose

from romcam.angles import LIMB_AXES_MAX_VIEW_DEG, measure, reads_limb_axes
from romcam.catalog import default_catalog
from romcam.landmarks import INDEX, LIMB_SEGMENTS, SEGMENT_INDEX
from romcam.limb_axes import (
    AXIS_SEGMENTS,
    MAX_HALF_WIDTH,
    SHANK_SEGMENTS,
    SOLE_SEGMENTS,
    limb_axes,
    segment_axis,
    sole_axis,
)

CATALOG = default_catalog()
TORSO = 200.0  # pixels
REACH = int(round(MAX_HALF_WIDTH * TORSO))


def _limb_mask(a: tuple[float, float], b: tuple[float, float], width: int, shape: tuple[int, int] = (480, 640)
               ) -> np.ndarray:
    mask = np.zeros(shape, np.float32)
    cv2.line(mask, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), 1.0, width)
    return mask


def _deg(u: np.ndarray, v: np.ndarray) -> float:
    return math.degrees(math.acos(min(1.0, abs(float(np.dot(u, v)) / np.linalg.norm(u) / np.linalg.norm(v)))))


@pytest.mark.parametrize("tilt", [0.0, 25.0, 70.0, 135.0])
def test_the_axis_follows_the_limb_where_the_landmarks_sit_off_its_centre(tilt: float) -> None:
    centre = np.array([320.0, 240.0])
    u = np.array([math.sin(math.radians(tilt)), math.cos(math.radians(tilt))])
    n = np.array([-u[1], u[0]])
    a, b = centre - 120 * u, centre + 120 * u
    mask = _limb_mask(tuple(a), tuple(b), 40)
    # the landmarks: one at the limb's back edge, the other near its front edge — a line 7° off the limb
    drawn_a, drawn_b = a + 10 * u + 15 * n, b - 10 * u - 12 * n
    axis = segment_axis(drawn_a, drawn_b, mask, REACH)
    assert axis is not None
    assert _deg(drawn_b - drawn_a, u) > 6.5
    assert _deg(axis, u) < 1.0
    assert float(np.dot(axis, drawn_b - drawn_a)) > 0  # from the first landmark toward the second


def test_no_axis_where_the_limb_lies_on_a_wider_body_part() -> None:
    # an arm hanging in front of the trunk, seen from the side: the run of person pixels is the trunk's
    mask = _limb_mask((320, 100), (320, 400), 40)
    mask[120:380, 250:400] = 1.0
    assert segment_axis(np.array([320.0, 120.0]), np.array([320.0, 380.0]), mask, REACH) is None


def test_sections_widened_by_a_second_limb_alongside_are_left_out() -> None:
    mask = _limb_mask((300, 60), (300, 420), 36)
    mask[300:420, 300:340] = 1.0  # the other leg beside the lower part
    axis = segment_axis(np.array([300.0, 60.0]), np.array([300.0, 420.0]), mask, REACH)
    assert axis is not None
    assert _deg(axis, np.array([0.0, 1.0])) < 1.0


def test_no_axis_for_a_segment_drawn_off_the_person() -> None:
    mask = _limb_mask((100, 100), (100, 400), 40)
    assert segment_axis(np.array([400.0, 100.0]), np.array([400.0, 400.0]), mask, REACH) is None


@pytest.mark.parametrize("turn, found", [(10.0, True), (25.0, False)])
def test_an_outline_turned_far_from_the_drawn_segment_is_not_the_same_limb(turn: float, found: bool) -> None:
    """A drawn segment across the middle of a limb whose outline runs ``turn``° from it: within
    MAX_TURN_DEG (20°) the outline's axis is the limb's, past it another limb's."""
    u = np.array([math.sin(math.radians(turn)), math.cos(math.radians(turn))])
    centre = np.array([320.0, 240.0])
    mask = _limb_mask(tuple(centre - 200 * u), tuple(centre + 200 * u), 40)
    axis = segment_axis(np.array([320.0, 190.0]), np.array([320.0, 290.0]), mask, REACH)
    assert (axis is not None) is found
    if found:
        assert _deg(axis, u) < 1.0


def test_no_axis_where_the_limb_runs_off_the_picture() -> None:
    mask = _limb_mask((2, 100), (2, 400), 40)
    assert segment_axis(np.array([4.0, 100.0]), np.array([4.0, 400.0]), mask, REACH) is None


def test_only_the_legs_and_the_feet_get_an_axis() -> None:
    outlined = {(INDEX[f"{s}_{a}"], INDEX[f"{s}_{b}"]) for s in ("left", "right")
                for a, b in (("hip", "knee"), ("heel", "foot_index"))}
    for j, (a, b) in enumerate(LIMB_SEGMENTS):  # each segment drawn on its own as a clear limb
        xy = np.full((33, 2), -1000.0)  # every other landmark far outside the picture
        xy[a], xy[b] = (320, 60), (320, 400)
        axes = limb_axes(xy, _limb_mask((320, 60), (320, 400), 30), TORSO)
        has = (a, b) in outlined  # a shank alone gets none: it is read only below a thigh that was
        assert (j in AXIS_SEGMENTS) is (has or j in SHANK_SEGMENTS)
        assert bool(np.isfinite(axes[j]).all()) is has, LIMB_SEGMENTS[j]
        assert int(np.isfinite(axes).all(axis=1).sum()) == int(has)


def _leg(bend: float, calf: float = 12.0, far_shank: float | None = None
         ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """A leg seen from the side, facing image-left: the thigh level from the hip (image-right) to the knee,
    40 px thick; the shank at 90 + ``bend``° of knee flexion (90: hanging straight down; more: swung back),
    its front edge (the shin) straight, its back bulging ``calf`` px at the calf; the foot pointing forward.
    ``far_shank``: the other leg's shank hangs from the same knee at that knee flexion, seen beside it.
    Returns the mask, landmarks a pose model might give (the knee landmark behind the knee, the ankle
    landmark behind the ankle: their line 5° or more off the shin) and the shin's direction knee → ankle."""
    mask = np.zeros((600, 640), np.float32)
    hip, knee_front = np.array([520.0, 200.0]), np.array([300.0, 180.0])
    cv2.fillPoly(mask, [np.rint(np.array([hip + (0, -20), knee_front, knee_front + (0, 40), hip + (0, 20)])
                                ).astype(np.int32)], 1.0)

    def shank(flexion: float) -> tuple[np.ndarray, np.ndarray]:
        t = math.radians(flexion - 90.0)  # 0: straight down; positive: swung back (toward image-right)
        down = np.array([math.sin(t), math.cos(t)])
        back = np.array([math.cos(t), -math.sin(t)])
        top = knee_front + (0, 20)
        length = 200.0
        outline = [top, top + length * down, top + length * down + 16 * back,
                   top + 0.35 * length * down + (28 + calf) * back, top + 34 * back]
        cv2.fillPoly(mask, [np.rint(np.array(outline)).astype(np.int32)], 1.0)
        return top, down

    if far_shank is not None:
        shank(far_shank)
    top, down = shank(90.0 + bend)
    back = np.array([down[1], -down[0]])
    ankle = top + 200.0 * down
    cv2.fillPoly(mask, [np.rint(np.array([ankle, ankle + (-60, 0), ankle + (-60, 12), ankle + (16, 12)])
                                ).astype(np.int32)], 1.0)
    points = {"hip": hip, "knee": top + 30 * back, "ankle": ankle + 10 * back, "foot_index": ankle + (-55, 6)}
    return mask, points, down


def _leg_axes(mask: np.ndarray, p: dict[str, np.ndarray], side: str = "left") -> np.ndarray:
    xy = np.full((33, 2), -1000.0)
    for name, point in p.items():
        xy[INDEX[f"{side}_{name}"]] = point
    return limb_axes(xy, mask, TORSO)


def _shank(side: str = "left") -> int:
    return SEGMENT_INDEX[frozenset((INDEX[f"{side}_knee"], INDEX[f"{side}_ankle"]))]


@pytest.mark.parametrize("bend", [0.0, 20.0, 40.0])
def test_the_shank_is_measured_along_the_shin(bend: float) -> None:
    """The shin (the shank's front edge, the side its toe points to) runs straight from knee to ankle; the
    calf bulges behind, so the outline's midline tilts from it, and the model's knee landmark at the back of
    a bent knee tilts the drawn shank too."""
    mask, p, shin = _leg(bend)
    assert _deg(p["ankle"] - p["knee"], shin) > 5.0
    axis = _leg_axes(mask, p)[_shank()]
    assert np.isfinite(axis).all()
    assert _deg(axis, shin) < 1.5  # the mask's pixel steps
    assert float(np.dot(axis, shin)) > 0  # knee → ankle
    middle = segment_axis(p["knee"], p["ankle"], mask, REACH)
    assert middle is None or _deg(middle, shin) > 2.0  # the calf tilts the midline


def test_where_the_other_shank_lies_alongside_its_sections_are_left_out() -> None:
    """Seated, the near knee bent past 90° swings its shank back past the far one hanging straight down:
    near the knee the two make one run, wider than a shank, whose front edge is the far shank's. Those
    sections are left out; lower down the near shin is read. Where they make one run all along, no shin."""
    mask, p, shin = _leg(30.0, far_shank=90.0)
    axis = _leg_axes(mask, p)[_shank()]
    assert np.isfinite(axis).all() and _deg(axis, shin) < 1.5
    mask, p, shin = _leg(6.0, far_shank=90.0)  # a few degrees apart: one run all the way down
    axis = _leg_axes(mask, p)[_shank()]
    assert not np.isfinite(axis).all() or _deg(axis, shin) < 1.5


def test_no_shin_below_a_thigh_that_was_not_read() -> None:
    mask, p, _ = _leg(20.0)
    p["hip"] = p["knee"] + (0.0, -200.0)  # the thigh drawn up through empty space: no thigh, no shin
    assert not np.isfinite(_leg_axes(mask, p)[_shank()]).all()


def _foot(tilt: float, facing: float, length: float = 120.0) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """A foot seen from the side: a wedge, thick at the ankle, with the shank rising from it, its sole along
    ``tilt``° and the toes toward image-right (``facing`` +1) or image-left (-1). Returns the person mask, the
    landmarks a pose model might give (the heel landmark up in the heel, the toe landmark above the sole:
    their line 9° off the sole), and the sole's direction heel → toe."""
    c, s = math.cos(math.radians(tilt)), math.sin(math.radians(tilt))
    along = np.array([facing * c, s])  # heel → toe (facing -1: the mirror image)
    up = np.array([facing * s, -c])  # from the sole toward the top of the foot (image y is down)
    heel = np.array([320.0, 300.0]) - 0.5 * length * along

    def at(x: float, y: float) -> np.ndarray:  # foot lengths along the sole and up from it
        return heel + length * (x * along + y * up)

    wedge = [at(0, 0), at(1, 0), at(1, 0.08), at(0.45, 0.42), at(0.05, 0.38)]
    mask = np.zeros((600, 640), np.float32)
    cv2.fillPoly(mask, [np.rint(np.array(wedge)).astype(np.int32)], 1.0)
    ankle, knee = at(0.22, 0.35), at(0.22, 3.5)
    cv2.line(mask, tuple(int(v) for v in np.rint(ankle)), tuple(int(v) for v in np.rint(knee)), 1.0, 40)
    points = {"heel": at(0.08, 0.2), "foot_index": at(0.97, 0.05), "ankle": ankle, "knee": knee}
    return mask, points, along


@pytest.mark.parametrize("facing", [1.0, -1.0])
@pytest.mark.parametrize("tilt", [0.0, 30.0, -35.0, 80.0])
def test_the_foot_is_measured_along_its_sole(tilt: float, facing: float) -> None:
    """The sole's edge, on the side away from the knee, is the foot's line; the drawn heel → toe is 9° off
    it and the midline of the wedge's outline further still. Near the heel the run on the top's side
    climbs the shank: those sections are left out, the sole is still found."""
    mask, p, sole = _foot(tilt, facing)
    assert _deg(p["foot_index"] - p["heel"], sole) > 8.0
    axis = sole_axis(p["heel"], p["foot_index"], p["knee"], mask, REACH)
    assert axis is not None
    assert _deg(axis, sole) < 1.0
    assert float(np.dot(axis, sole)) > 0  # heel → toe
    middle = segment_axis(p["heel"], p["foot_index"], mask, REACH)
    assert middle is None or _deg(middle, sole) > 8.0  # the wedge's midline is not the sole


def test_the_pose_stage_reads_each_foot_on_the_sole_away_from_its_own_knee() -> None:
    mask, p, sole = _foot(20.0, 1.0)
    for side in ("left", "right"):
        xy = np.full((33, 2), -1000.0)
        for name, point in p.items():
            xy[INDEX[f"{side}_{name}"]] = point
        axes = limb_axes(xy, mask, TORSO)
        (j,) = [j for j in SOLE_SEGMENTS if LIMB_SEGMENTS[j][0] == INDEX[f"{side}_heel"]]
        assert _deg(axes[j], sole) < 1.0
        # with the knee drawn on the other side of the foot its top is read as the sole: the wedge's top
        # slopes 31° from the sole (21° from the drawn line, just past MAX_TURN_DEG: no axis at all here)
        xy[INDEX[f"{side}_knee"]] = 2 * p["ankle"] - p["knee"]
        top = limb_axes(xy, mask, TORSO)[j]
        assert not (np.isfinite(top).all() and _deg(top, sole) < 8.0)


def test_no_sole_for_a_foot_drawn_off_the_person() -> None:
    mask, p, _ = _foot(0.0, 1.0)
    shift = np.array([0.0, 200.0])
    assert sole_axis(p["heel"] + shift, p["foot_index"] + shift, p["knee"], mask, REACH) is None


def test_sections_the_other_thigh_crosses_beside_the_line_are_left_out() -> None:
    """Seen from the side, the far thigh partly behind the near one widens the outline on one side."""
    xy = np.full((33, 2), -1000.0)
    hip, knee = INDEX["left_hip"], INDEX["left_knee"]
    xy[hip], xy[knee] = (320, 100), (320, 400)  # the near thigh, straight down
    mask = _limb_mask((320, 100), (320, 400), 40)
    # the far thigh from the same hip, 10° forward: it overlaps the near one's upper half and widens it
    far_knee = np.array([320 + 300 * math.sin(math.radians(10)), 100 + 300 * math.cos(math.radians(10))])
    cv2.line(mask, (320, 100), (int(far_knee[0]), int(far_knee[1])), 1.0, 40)
    alone = limb_axes(xy, mask, TORSO)[SEGMENT_INDEX[frozenset((hip, knee))]]
    xy[INDEX["right_hip"]], xy[INDEX["right_knee"]] = (320, 100), far_knee
    xy[INDEX["right_ankle"]] = far_knee + (0, 250)
    told = limb_axes(xy, mask, TORSO)[SEGMENT_INDEX[frozenset((hip, knee))]]
    down = np.array([0.0, 1.0])
    assert _deg(alone, down) > 1.5  # the widened sections pull the axis toward the far thigh
    assert _deg(told, down) < 1.0


def test_two_thighs_that_coincide_in_the_picture_keep_their_outline() -> None:
    xy = np.full((33, 2), -1000.0)
    for side, dx in (("left", 0), ("right", 3)):  # the far thigh right behind the near one
        xy[INDEX[f"{side}_hip"]], xy[INDEX[f"{side}_knee"]] = (320 + dx, 100), (320 + dx, 400)
    mask = _limb_mask((320, 100), (323, 400), 44)
    axes = limb_axes(xy, mask, TORSO)
    assert np.isfinite(axes[SEGMENT_INDEX[frozenset((INDEX["left_hip"], INDEX["left_knee"]))]]).all()


def _turned(v: np.ndarray, deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def _axes(pose, turn: float = 0.0, only: tuple[int, int] | None = None) -> np.ndarray:
    """The legs' and feet's drawn directions as the pose stage would give them, turned by ``turn`` degrees
    (``only``: just that segment's, given as its two landmark indices, the others as drawn)."""
    axes = np.full((len(LIMB_SEGMENTS), 2), np.nan)
    for j in AXIS_SEGMENTS:
        a, b = LIMB_SEGMENTS[j]
        d = pose.image[b, :2] - pose.image[a, :2]
        if np.linalg.norm(d) > 1e-9:  # a foot pointing at the camera is drawn as a point: no axis
            axes[j] = _turned(d / np.linalg.norm(d), turn if only is None or {a, b} == set(only) else 0.0)
    return axes


OUTLINED = (("hip", "knee"), ("knee", "ankle"), ("heel", "foot_index"))  # thigh, shin, sole


def _outlined(motion) -> tuple[str, str] | None:
    """The segment of ``motion`` measured on an outline (the moving one if both are), or None."""
    for seg in (motion.moving, motion.reference):
        if isinstance(seg, tuple) and tuple(seg[:2]) in OUTLINED:
            return (seg[0], seg[1])
    return None


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("motion_id", [m.id for m in CATALOG if m.method == "image"])
def test_every_side_view_motion_on_the_legs_or_feet_reads_its_axis(motion_id: str, side: str) -> None:
    """Given an outline's axis 6° from its drawn segment, the image angle of a side-view motion measured on
    a thigh, a shin or a foot moves with it; every other motion, and every front-view one, reads the
    landmarks alone."""
    motion = CATALOG.get(motion_id)
    seg = _outlined(motion)
    # the pose stage reads the axes only for the motions that measure on them (PoseEstimator(limb_axes=...))
    assert reads_limb_axes(motion) is (motion.view == "side" and seg is not None)
    angle = round(motion.normal.min + 0.6 * (motion.normal.max - motion.normal.min), 1)
    pose = make_pose(motion_id, side, angle, view=motion.view)
    plain = measure(pose, motion, side).angle_image
    assert measure(dataclasses.replace(pose, axes=_axes(pose)), motion, side).angle_image == pytest.approx(plain)
    only = (INDEX[f"{side}_{seg[0]}"], INDEX[f"{side}_{seg[1]}"]) if seg is not None else None
    moved = measure(dataclasses.replace(pose, axes=_axes(pose, 6.0, only)), motion, side).angle_image
    if motion.view == "side" and seg is not None:
        # the whole leg's line counts while a straight-leg motion's leg is straight: half the turn
        assert 2.5 <= abs(moved - plain) <= 6.5
    else:
        assert moved == pytest.approx(plain)


@pytest.mark.parametrize("yaw", [30.0, 45.0])
def test_a_body_turned_from_the_side_view_reads_its_landmarks(yaw: float) -> None:
    """Turned away, the two legs' outlines part and cross: the drawn thigh is measured, not its outline."""
    motion = CATALOG.get("hip_flexion")
    pose = make_pose("hip_flexion", "left", 60.0, view="side", yaw=yaw)
    plain = measure(pose, motion, "left").angle_image
    assert measure(dataclasses.replace(pose, axes=_axes(pose, 6.0)), motion, "left").angle_image == pytest.approx(plain)
    assert LIMB_AXES_MAX_VIEW_DEG < 30.0


def test_a_pose_whose_mask_gave_no_axis_reads_its_landmarks() -> None:
    motion = CATALOG.get("knee_flexion")
    pose = make_pose("knee_flexion", "left", 60.0, view="side")
    none = dataclasses.replace(pose, axes=np.full((len(LIMB_SEGMENTS), 2), np.nan))
    assert measure(none, motion, "left").angle_image == pytest.approx(measure(pose, motion, "left").angle_image)


MODEL = Path(__file__).resolve().parents[1] / "models" / "pose_landmarker_full.task"


@pytest.mark.skipif(not MODEL.is_file(), reason=f"pose model missing: {MODEL}")
def test_the_pose_stage_reads_the_near_thigh_on_a_rendered_side_view_and_skips_it_when_not_asked() -> None:
    """Real MediaPipe on a rendered side view with the hip flexed 60°: the near thigh gets an axis, and the
    hip flexion measured on it is within 5° of the truth; an estimator told no motion needs them reads none."""
    from romcam.pose import PoseEstimator
    from romcam.render import render_pose_image

    image = render_pose_image({"hip_flexion": 60.0}, side="left", view="side", background="room")
    thigh = SEGMENT_INDEX[frozenset((INDEX["left_hip"], INDEX["left_knee"]))]
    with PoseEstimator() as estimator:
        (pose,) = estimator.process(image, 0.0).poses
    assert pose.axes is not None and np.isfinite(pose.axes[thigh]).all()
    assert measure(pose, CATALOG.get("hip_flexion"), "left").angle_image == pytest.approx(60.0, abs=5.0)
    with PoseEstimator(limb_axes=False) as estimator:
        (pose,) = estimator.process(image, 0.0).poses
    assert pose.axes is None and pose.support is not None


REAL_PHOTO = Path(__file__).resolve().parents[2] / "shared" / "media" / "real" / "pose.jpg"


@pytest.mark.skipif(not REAL_PHOTO.is_file() or not MODEL.is_file(),
                    reason=f"needs ../shared/media/real/pose.jpg ({REAL_PHOTO}) and the pose model")
def test_on_a_real_photo_the_legs_get_their_axes() -> None:
    """MediaPipe's golden photo: a real man in a lunge on a beach, the left leg straight behind, the right
    knee bent with the shin near vertical and the thigh a few degrees below the horizontal (by eye, about
    85° of knee flexion; the landmarks' thigh runs from a hip landmark drawn high on the shorts and reads
    74°). Both thighs and both shins get an axis from the real person mask; the straight leg's thigh is
    along its drawn thigh and the leg reads straight; the bent knee reads nearer the eye's 85° on the
    thigh's axis, and about that on thigh and shin both (86°)."""
    import cv2

    from romcam.pose import PoseEstimator

    image = cv2.imread(str(REAL_PHOTO))
    with PoseEstimator() as estimator:
        (pose,) = estimator.process(image, 0.0).poses
    knee = {}
    for side in ("left", "right"):
        hip, kn, ankle = (INDEX[f"{side}_{j}"] for j in ("hip", "knee", "ankle"))
        axis = pose.axes[SEGMENT_INDEX[frozenset((hip, kn))]]
        shin = pose.axes[SEGMENT_INDEX[frozenset((kn, ankle))]]
        assert np.isfinite(axis).all() and np.isfinite(shin).all(), side
        shank = pose.image[ankle, :2] - pose.image[kn, :2]
        bend = math.degrees(math.acos(float(np.dot(axis, shank)) / float(np.linalg.norm(shank))))
        on_axes = math.degrees(math.acos(float(np.dot(axis, shin))))
        knee[side] = (_deg(axis, pose.image[kn, :2] - pose.image[hip, :2]), bend, on_axes)
    assert knee["left"][0] < 5.0 and knee["left"][1] < 10.0  # straight behind: along the drawn thigh
    assert knee["left"][2] < 10.0  # ... and its shin along it
    assert 78.0 <= knee["right"][1] <= 92.0
    assert 80.0 <= knee["right"][2] <= 90.0  # thigh and shin both from the outline: 86°
