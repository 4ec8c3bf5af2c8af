"""Frame-by-frame measurement: one pose frame in, one angle sample out.

The same object serves the offline analysis and the live coach: it picks the subject (a
:class:`romcam.subject.SubjectTracker` when given one — the patient chosen at the start of the set
and followed frame to frame; without one, the most visible person), keeps the side-view limb
choice steady, and measures the motion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .angles import AngleSample, LimbPicker, measure
from .catalog import Motion
from .landmarks import Pose, PoseFrame
from .subject import SubjectTracker


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

    def update(self, frame: PoseFrame) -> Sample:
        pose = self.subject.update(frame) if self.subject is not None else _main_pose(frame)
        if pose is None:
            return Sample(frame.index, frame.t, math.nan, 0.0, None, math.nan, None)
        s = measure(pose, self.motion, self.side, pick=self._picker.pick(pose))
        return Sample(frame.index, frame.t, s.angle, s.confidence, s.view_ok, s.view_error, s)
