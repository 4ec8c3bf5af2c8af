"""Frame-by-frame measurement: one pose frame in, one angle sample out.

The same object serves the offline analysis and the live coach: it picks the subject (a
:class:`romcam.subject.SubjectTracker` when given one — the patient chosen at the start of the set
and followed frame to frame; without one, the most visible person), keeps the side-view limb
choice steady, and measures the motion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .angles import AngleSample, LimbPicker, measure, resolve_index
from .catalog import Motion
from .landmarks import INDEX, LANDMARK_NAMES, LIMB_SEGMENTS, SEGMENT_INDEX, Pose, PoseFrame, own_point, point_landmarks
from .subject import SubjectTracker

# A limb segment that looks shorter than this share of its usual length (the median so far, over the
# trunk's length) is a misplaced landmark, not a measurement: lying or seated with the leg out, the
# model put the near foot's landmarks on the shin (shank at 28% of its length) with visibility 0.8.
COLLAPSED_FRACTION = 0.6
COLLAPSE_HISTORY_MIN = 5  # frames of history before a segment is judged
# A reading outside the motion's ``possible`` range (romcam/data/exercises.toml) is not a measurement
# either: with the caregiver's arm beside the patient's resting shin, the model drew the shin up the
# arm, and the knee read 50-110° of hyperextension.
# Nor is a segment the model drew where its own person mask sees no one (``Pose.support``): seated with
# the leg held out straight, it drew the shin bent down to the floor through empty space, with
# visibility 0.9, while its mask kept the leg where it was.
MIN_SUPPORT = 0.5  # share of the drawn segment that must lie on the person


@dataclass(frozen=True, slots=True)
class Sample:
    """One frame's measurement of the motion, before filtering."""

    index: int
    t: float
    angle: float  # degrees, NaN where the subject was not measured
    confidence: float
    view_ok: bool | None  # None where no person was found
    view_error: float  # degrees, NaN where no person was found
    detail: AngleSample | None

    @property
    def has_subject(self) -> bool:
        return self.detail is not None


def _unsupported(pose: Pose, segments: list[tuple[int, int]]) -> str | None:
    """Why the sample is not a measurement when one of ``segments`` was drawn off the person in the pose
    model's own mask, else None; it starts with the segment's far landmark ("I can't see your ankle")."""
    if pose.support is None:
        return None
    for a, b in segments:
        j = SEGMENT_INDEX.get(frozenset((a, b)))
        if j is not None and pose.support[j] < MIN_SUPPORT:
            near, far = (LANDMARK_NAMES[i] for i in LIMB_SEGMENTS[j])
            return (f"{far} misplaced: {near} → {far} is drawn where the model sees no one "
                    f"({pose.support[j]:.0%} of it on the person)")
    return None


def _main_pose(frame: PoseFrame) -> Pose | None:
    if not frame.poses:
        return None
    return max(frame.poses, key=lambda p: float(p.visibility.sum()))


class MotionMeter:
    """Measures one motion on one side of the patient, frame after frame."""

    def __init__(self, motion: Motion, side: str, subject: SubjectTracker | None = None) -> None:
        if side not in ("left", "right"):
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        self.motion = motion
        self.side = side
        self.subject = subject
        self._picker = LimbPicker(motion, side)
        # the limb segments whose image length stays put when the view is kept: a hinge joint's
        # two segments, which move in the plane the side view faces
        self._segments = ([p for p in (motion.reference, motion.moving) if isinstance(p, tuple)]
                          if motion.plane == "limb" and motion.view == "side" else [])
        self._lengths: list[list[float]] = [[] for _ in self._segments]

    def update(self, frame: PoseFrame) -> Sample:
        pose = self.subject.update(frame) if self.subject is not None else _main_pose(frame)
        if pose is None:
            return Sample(frame.index, frame.t, math.nan, 0.0, None, math.nan, None)
        pick = self._picker.pick(pose)
        s = measure(pose, self.motion, self.side, pick=pick)
        if s.missing is None:
            collapsed = self._collapsed(pose, pick)
            if collapsed is not None:
                s = replace(s, angle=math.nan, confidence=0.0, missing=collapsed)
        if s.missing is None:
            unsupported = _unsupported(pose, self._limb_segments(pick))
            if unsupported is not None:
                s = replace(s, angle=math.nan, confidence=0.0, missing=unsupported)
        if s.missing is None and math.isfinite(s.angle) and s.angle not in self.motion.possible:
            s = replace(s, angle=math.nan, confidence=0.0, missing=self._impossible(s.angle, pick))
        return Sample(frame.index, frame.t, s.angle, s.confidence, s.view_ok, s.view_error, s)

    def _limb_segments(self, pick: dict[str, int]) -> list[tuple[int, int]]:
        """The motion's reference and moving segments that are limb segments, as landmark indices."""
        out = []
        for seg in (self.motion.reference, self.motion.moving):
            if not isinstance(seg, tuple) or any(own_point(n, self.side) is None for n in seg):
                continue
            out.append(tuple(self._index(n, pick) for n in seg))
        return out

    def _index(self, name: str, pick: dict[str, int]) -> int:
        """The landmark index of the catalog landmark ``name`` on this frame (the limb picker's choice)."""
        return pick.get(name, resolve_index(name, self.side))

    def _impossible(self, angle: float, pick: dict[str, int]) -> str:
        """Why a reading beyond what the joint can do (the catalog's ``possible``) is not a measurement;
        it starts with the moving segment's far landmark ("I can't see your ankle", says the coach)."""
        far = self.motion.moving[1]
        if len(point_landmarks(far, self.side)) == 1:
            name = LANDMARK_NAMES[self._index(far, pick)]
        else:  # the mean of several: both sides' ("mid_ear": the joint) or a side of the face ("face")
            name = self.motion.joint if far.startswith("mid_") else far.removeprefix("other_")
        p = self.motion.possible
        return (f"{name} misplaced: the {self.motion.joint} would be at {angle:.0f}°, beyond the {p.min:g} to "
                f"{p.max:g}° it can move")

    def _collapsed(self, pose: Pose, pick: dict[str, int]) -> str | None:
        """Why the sample is not a measurement when one of its segments has collapsed, else None."""
        im = pose.image[:, :2]
        trunk = float(np.linalg.norm(
            0.5 * (im[INDEX["left_shoulder"]] + im[INDEX["right_shoulder"]])
            - 0.5 * (im[INDEX["left_hip"]] + im[INDEX["right_hip"]])))
        if trunk < 1e-6:
            return None
        out = None
        for (a, b), history in zip(self._segments, self._lengths, strict=True):
            ia = self._index(a, pick) if not a.startswith("mid_") else None
            ib = self._index(b, pick) if not b.startswith("mid_") else None
            if ia is None or ib is None:
                continue
            length = float(np.linalg.norm(im[ib] - im[ia])) / trunk
            if len(history) >= COLLAPSE_HISTORY_MIN and length < COLLAPSED_FRACTION * float(np.median(history)):
                out = out or (f"{LANDMARK_NAMES[ia]} → {LANDMARK_NAMES[ib]} looks "
                              f"{length / float(np.median(history)):.0%} of its length: a misplaced landmark")
            history.append(length)
        return out
