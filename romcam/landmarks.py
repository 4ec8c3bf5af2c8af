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


def landmark_index(name: str, side: str | None = None) -> int:
    """Index of a landmark by full name (``"left_elbow"``) or by joint and body side
    (``landmark_index("elbow", "left")``)."""
    key = f"{side}_{name}" if side and name not in INDEX else name
    try:
        return INDEX[key]
    except KeyError:
        raise KeyError(f"unknown landmark {key!r}; expected one of {', '.join(LANDMARK_NAMES)}") from None


def other_side(side: str) -> str:
    return {"left": "right", "right": "left"}[side]


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


def torso_length(pose: Pose) -> float:
    """Mid-shoulder to mid-hip in pixels (at least the shoulder width, and never 0)."""
    p = pose.image[:, :2]
    mid_sh = 0.5 * (p[TORSO[0]] + p[TORSO[1]])
    mid_hip = 0.5 * (p[TORSO[2]] + p[TORSO[3]])
    return max(float(np.linalg.norm(mid_sh - mid_hip)), float(np.linalg.norm(p[TORSO[0]] - p[TORSO[1]])), 1.0)


def torso_distance(a: np.ndarray, b: np.ndarray, *, worst: bool = False) -> float:
    """Mean (``worst``: largest) distance between two torsos' four landmarks ((4, 2) each, in TORSO's
    order), forgiving a left/right swap (MediaPipe flips a person's sides now and then, mostly seen
    from behind)."""
    pick = np.max if worst else np.mean
    straight = float(pick(np.linalg.norm(a - b, axis=1)))
    swapped = float(pick(np.linalg.norm(a - b[[1, 0, 3, 2]], axis=1)))
    return min(straight, swapped)
