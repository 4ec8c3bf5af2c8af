"""romcam's own pose types: what the pose stage hands to everything after it.

Only ``romcam.pose`` knows MediaPipe; every later stage works on these arrays.

Coordinates
-----------
- ``image``: (33, 3) float array, x and y in **pixels** of the analysed frame (x right, y down) and
  z MediaPipe's relative depth scaled like x (smaller = nearer the camera).
- ``world``: (33, 3) float array in **metres**, origin midway between the hips, axes aligned with
  the camera: x right, y down, z away from the camera (a right-handed frame, the same as the
  image's x, y with z into the screen).
- ``visibility``: (33,) in [0, 1], MediaPipe's estimate that the landmark is visible (not
  occluded, not out of frame). MediaPipe still *guesses* positions for invisible landmarks: the
  angle engine marks those samples missing rather than trusting the guess.
- ``support``: (len(LIMB_SEGMENTS),) in [0, 1] or None, per limb segment: the share of the drawn
  segment (the line between its two landmarks) that lies on the person in the pose model's own
  segmentation mask for that pose (:func:`segment_support`). The model can draw a limb through empty
  space with high visibility (a leg held out straight, drawn bent down to the floor) while its mask
  keeps the limb where it is; the angle engine does not measure a segment drawn where the mask sees
  no one.
- ``axes``: (len(LIMB_SEGMENTS), 2) or None, per limb segment: the unit image direction (proximal →
  distal) of the limb's long axis in that mask, NaN rows where there is none (only the thighs get one, the
  shanks their shin's line and the feet, heel → toe, their sole's: :mod:`romcam.limb_axes`); None when the
  pose stage was not asked for them. The angle engine measures a side view's legs and feet on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LANDMARK_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye_inner", "left_eye", "left_eye_outer",
    "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear",
    "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
    "left_pinky", "right_pinky",
    "left_index", "right_index",
    "left_thumb", "right_thumb",
    "left_hip", "right_hip",
    "left_knee", "right_knee",
    "left_ankle", "right_ankle",
    "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)  # fmt: skip
NUM_LANDMARKS = len(LANDMARK_NAMES)
INDEX: dict[str, int] = {name: i for i, name in enumerate(LANDMARK_NAMES)}
TORSO = [INDEX[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]

# the body as the live video draws it (romcam.live.annotate) and as a tap on the picture is matched to a person
# (romcam.subject.tap_distance): the limbs' lines (the face left out), the torso's outline (in order round
# it), and the visibility above which a landmark is drawn
LIMB_LINES = tuple((f"{side}_{a}", f"{side}_{b}") for side in ("left", "right") for a, b in (
    ("shoulder", "elbow"), ("elbow", "wrist"), ("wrist", "index"), ("hip", "knee"), ("knee", "ankle"),
    ("ankle", "heel"), ("heel", "foot_index"), ("ankle", "foot_index")))
TORSO_OUTLINE = ("left_shoulder", "right_shoulder", "right_hip", "left_hip")
DRAWN_VISIBILITY = 0.3


def landmark_index(name: str, side: str | None = None) -> int:
    """Index of a landmark by full name (``"left_elbow"``) or by joint and body side
    (``landmark_index("elbow", "left")``)."""
    key = f"{side}_{name}" if side and name not in INDEX else name
    try:
        return INDEX[key]
    except KeyError:
        raise KeyError(f"unknown landmark {key!r}; expected one of {', '.join(LANDMARK_NAMES)}") from None


# limb segments (proximal, distal landmark) whose support in the person mask the pose stage measures
LIMB_SEGMENTS: tuple[tuple[int, int], ...] = tuple(
    (INDEX[f"{side}_{a}"], INDEX[f"{side}_{b}"])
    for side in ("left", "right")
    for a, b in (("shoulder", "elbow"), ("elbow", "wrist"), ("hip", "knee"), ("knee", "ankle"),
                 ("ankle", "heel"), ("ankle", "foot_index"), ("heel", "foot_index"))
)
SEGMENT_INDEX: dict[frozenset[int], int] = {frozenset(seg): i for i, seg in enumerate(LIMB_SEGMENTS)}
SUPPORT_SAMPLES = np.linspace(0.1, 0.9, 9)  # where along a segment the mask is read (its ends are joints)
MASK_ON_PERSON = 0.5  # a mask value at or above this is the person


def segment_support(xy: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """For each of :data:`LIMB_SEGMENTS`, the share of points along the segment drawn between its
    landmarks ``xy`` (33, 2) pixels that the person ``mask`` (H, W, values 0..1, the pose model's
    segmentation of that person) covers; a point outside the picture is not covered."""
    h, w = mask.shape[:2]
    a = xy[[s[0] for s in LIMB_SEGMENTS]]
    b = xy[[s[1] for s in LIMB_SEGMENTS]]
    pts = a[:, None, :] + SUPPORT_SAMPLES[None, :, None] * (b - a)[:, None, :]  # (S, K, 2)
    x = np.rint(pts[..., 0])
    y = np.rint(pts[..., 1])
    inside = np.isfinite(x) & np.isfinite(y) & (x >= 0) & (x < w) & (y >= 0) & (y < h)
    on = np.zeros(x.shape, dtype=bool)
    on[inside] = mask[y[inside].astype(int), x[inside].astype(int)] >= MASK_ON_PERSON
    return on.mean(axis=1)


def other_side(side: str) -> str:
    return {"left": "right", "right": "left"}[side]


# one side of the face, a landmark for each feature: the eye's outer corner, the ear and the mouth corner
# (the catalog's "face" and "other_face" points are their mean). Not the eye's other two points: they move
# with its outer corner (on rendered video their errors were within 2° of its) and would weigh the
# eye three times (docs/angles.md)
FACE_POINTS = ("eye_outer", "ear", "mouth")


def point_landmarks(name: str, side: str) -> tuple[int, ...]:
    """The landmarks a catalog point name stands for on the patient's ``side`` (a point of several is
    their mean): ``"left_hip"`` or ``"nose"`` that landmark; ``"elbow"`` the side's own, ``"other_elbow"``
    the other side's; ``"mid_hip"`` both sides'; ``"face"`` (``"other_face"``) the side's
    :data:`FACE_POINTS`. The line between the two sides' faces averages three landmark pairs, each
    weighed by its length: on rendered video each pair alone tilted up to 8-10° from the head at the top
    of a side bend, not the same way (docs/angles.md). Raises KeyError for a name that is none of these."""
    if name in INDEX:
        return (INDEX[name],)
    if name.startswith("mid_"):
        base = name.removeprefix("mid_")
        return (INDEX[f"left_{base}"], INDEX[f"right_{base}"])
    if name.startswith("other_"):
        name, side = name.removeprefix("other_"), other_side(side)
    if name == "face":
        return tuple(INDEX[f"mouth_{side}" if part == "mouth" else f"{side}_{part}"] for part in FACE_POINTS)
    return (INDEX[f"{side}_{name}"],)


def own_point(name: str, side: str) -> int | None:
    """The landmark index of ``name`` when it is one landmark of the patient's own ``side`` or centre (a
    limb segment's end), else None: the other side's points and the means of several are not."""
    idx = point_landmarks(name, side)
    return idx[0] if len(idx) == 1 and not name.startswith("other_") else None


@dataclass(frozen=True, slots=True)
class Pose:
    """One person's landmarks in one frame."""

    image: np.ndarray  # (33, 3) pixels, see module docstring
    world: np.ndarray  # (33, 3) metres, camera-aligned, origin mid-hip
    visibility: np.ndarray  # (33,)
    presence: np.ndarray  # (33,)
    # colour of the person's clothes on the trunk (romcam.appearance), set when several people are
    # expected in frame: it tells two people apart where their torsos overlap
    signature: np.ndarray | None = None
    # per LIMB_SEGMENTS: the share of the drawn segment on the person in the model's mask (None: no mask)
    support: np.ndarray | None = None
    # per LIMB_SEGMENTS: the unit image direction of the limb's long axis in the model's mask
    # (romcam.limb_axes), NaN rows where the mask gives none (None: no mask)
    axes: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("image", "world"):
            arr = getattr(self, name)
            if arr.shape != (NUM_LANDMARKS, 3):
                raise ValueError(f"Pose.{name} must have shape (33, 3), got {arr.shape}")
        for name in ("visibility", "presence"):
            arr = getattr(self, name)
            if arr.shape != (NUM_LANDMARKS,):
                raise ValueError(f"Pose.{name} must have shape (33,), got {arr.shape}")


@dataclass(frozen=True, slots=True)
class PoseFrame:
    """Everything the pose stage found in one frame of the source."""

    index: int  # frame number in the source, from 0
    t: float  # the frame's own time in the source, seconds
    width: int
    height: int
    poses: tuple[Pose, ...]  # every person found, MediaPipe's order
    # how many people the model's own pass found, before romcam's second and patient passes (None when
    # one person is expected: there are no other passes)
    found_first: int | None = None


@dataclass(frozen=True, slots=True)
class Focus:
    """Where the patient is, for the pose stage's patient pass (:meth:`romcam.subject.SubjectTracker.focus`)."""

    box: tuple[float, float, float, float]  # (x0, y0, x1, y1) image pixels: the union of their recent boxes
    torso: np.ndarray  # (4, 2) their torso landmarks (shoulders, hips) lately, image pixels
    scale: float  # their torso length, pixels
    lying: bool = False  # the patient lies (a standing or kneeling caregiver is then upright beside them)


def trunk_length(xy: np.ndarray) -> float:
    """Mid-shoulder to mid-hip in pixels, from the image landmarks ``xy`` (33, 2); 0 when they coincide."""
    mid_sh = 0.5 * (xy[TORSO[0]] + xy[TORSO[1]])
    mid_hip = 0.5 * (xy[TORSO[2]] + xy[TORSO[3]])
    return float(np.linalg.norm(mid_sh - mid_hip))


def torso_length(pose: Pose) -> float:
    """Mid-shoulder to mid-hip in pixels (at least the shoulder width, and never 0)."""
    p = pose.image[:, :2]
    return max(trunk_length(p), float(np.linalg.norm(p[TORSO[0]] - p[TORSO[1]])), 1.0)


def torso_distance(a: np.ndarray, b: np.ndarray, *, worst: bool = False) -> float:
    """Mean (``worst``: largest) distance between two torsos' four landmarks ((4, 2) each, in TORSO's
    order), forgiving a left/right swap (MediaPipe flips a person's sides now and then, mostly seen
    from behind)."""
    pick = np.max if worst else np.mean
    straight = float(pick(np.linalg.norm(a - b, axis=1)))
    swapped = float(pick(np.linalg.norm(a - b[[1, 0, 3, 2]], axis=1)))
    return min(straight, swapped)
