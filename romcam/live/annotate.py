"""Annotated frames for the MJPEG stream: the patient's skeleton, the measured angle at the joint and
the target arc (the PT's band in green, the safe maximum and the safe minimum as red ticks), drawn on a
copy of the frame.

The picture carries no words of the coach's own: the state, the rep count, the hold and the cues are the
page's, in large type beside it (a second, lagging copy burned into the picture — "exercising rep 2" while
the page says "Rest 20 s" — only contradicted it). The angle is written as the page writes it: whole
degrees, rounded half up as the page's ``Math.round`` (``romcam.degrees``), with a degree sign ("-3°").

Pure drawing with OpenCV on numpy arrays; nothing leaves the machine (``/live/video.mjpg`` serves
loopback clients only).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..angles import signed_angle_2d
from ..catalog import Motion
from ..degrees import whole_degrees_as_stored
from ..landmarks import DRAWN_VISIBILITY, INDEX, LIMB_LINES, TORSO_OUTLINE, Pose, PoseFrame, point_landmarks
from .coach import PlanItem

# the body's segments (MediaPipe's 33-landmark topology, face left out): the limbs and the torso's outline
SEGMENTS = list(LIMB_LINES) + list(zip(TORSO_OUTLINE, TORSO_OUTLINE[1:] + TORSO_OUTLINE[:1], strict=True))
ZONE_COLOURS = {"below": (0, 200, 255), "in_target": (80, 200, 60), "above_target": (0, 160, 255),
                "above_safe_max": (40, 40, 230), "below_safe_min": (40, 40, 230), "unknown": (200, 200, 200)}


def _pt(pose: Pose, i: int) -> tuple[int, int]:
    x, y = pose.image[i, :2]
    return int(round(x)), int(round(y))


def _point(pose: Pose, name: str, side: str) -> np.ndarray:
    return pose.image[list(point_landmarks(name, side)), :2].mean(axis=0)


def _reference_2d(pose: Pose, motion: Motion, side: str) -> np.ndarray | None:
    if isinstance(motion.reference, tuple):
        a, b = motion.reference
        return _point(pose, b, side) - _point(pose, a, side)
    trunk_down = _point(pose, "mid_hip", side) - _point(pose, "mid_shoulder", side)
    if motion.reference == "down":
        return trunk_down
    if motion.reference == "up":
        return -trunk_down
    return None  # anterior / lateral axes: no reliable 2D direction, no arc


def main_pose(frame: PoseFrame) -> Pose | None:
    return max(frame.poses, key=lambda p: float(p.visibility.sum())) if frame.poses else None


PATIENT_COLOUR = (80, 200, 60)  # BGR green: the person measured
SAFE_COLOUR = (40, 40, 230)  # BGR red: the PT's safety limits
OTHER_COLOUR = (170, 170, 170)


def _label(out: np.ndarray, text: str, org: tuple[int, int], colour: tuple[int, int, int], scale: float = 0.7) -> None:
    cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 5, cv2.LINE_AA)
    cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 2, cv2.LINE_AA)


def angle_text(angle: float) -> str | None:
    """The angle's number as the page shows it (its ``deg``: ``Math.round`` of the event's angle, stored to
    0.1°), without the degree sign (OpenCV's fonts have none: ``_angle_label`` draws it); None when there is
    no angle (the page shows a dash and the picture nothing)."""
    return str(whole_degrees_as_stored(angle)) if math.isfinite(angle) else None


def _angle_label(out: np.ndarray, text: str, org: tuple[int, int], colour: tuple[int, int, int]) -> None:
    """``text`` then a degree sign (a small ring at the top right of the digits), black-edged as the labels."""
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 1.0
    (width, height), _ = cv2.getTextSize(text, font, scale, 2)
    ring = (org[0] + width + 8, org[1] - height + 4)
    for ink, thick in (((0, 0, 0), 5), (colour, 2)):
        cv2.putText(out, text, org, font, scale, ink, thick, cv2.LINE_AA)
        cv2.circle(out, ring, 5, ink, thick, cv2.LINE_AA)


BOX_MARGIN_PX = 12  # the frame around a person clears their landmarks (joint centres) by this much


def person_box(pose: Pose, width: int, height: int) -> tuple[int, int, int, int]:
    """The frame drawn around a person, ``(x0, y0, x1, y1)`` in pixels of a ``width`` × ``height``
    picture: the box of their 33 landmarks widened by ``BOX_MARGIN_PX`` each way (landmarks are joint
    centres: the frame clears the head, hands and feet), within the picture. The one box: the video's
    frame is drawn on it, and the events' ``subject.box`` (which the page's frame draws) is it divided
    by the picture's size."""
    xy = pose.image[:, :2]
    x0, y0 = (int(v) for v in np.clip(xy.min(axis=0) - BOX_MARGIN_PX, 0, [width - 1, height - 1]))
    x1, y1 = (int(v) for v in np.clip(xy.max(axis=0) + BOX_MARGIN_PX, 0, [width - 1, height - 1]))
    return x0, y0, x1, y1


def _outline(out: np.ndarray, pose: Pose, colour: tuple[int, int, int], thickness: int, text: str) -> None:
    """A box around the person with a label above it (who is measured, who is not)."""
    h, w = out.shape[:2]
    x0, y0, x1, y1 = person_box(pose, w, h)
    cv2.rectangle(out, (x0, y0), (x1, y1), colour, thickness, cv2.LINE_AA)
    _label(out, text, (x0 + 4, max(y0 - 8, 22)), colour, 0.6)


def annotate(image: np.ndarray, frame: PoseFrame | None, motion: Motion, item: PlanItem, *, angle: float,
             zone: str, demo: bool = False, subject: Pose | None = None,
             others: tuple[Pose, ...] = (), tracked: bool = False, confirmed: bool = False) -> np.ndarray:
    """A copy of ``image`` (BGR) with the skeleton, the angle at the joint (as the page writes it: "-3°")
    and the target arc; no state, rep count or other words of the coach's (the page says them).

    With a subject tracker (``tracked``), the patient (``subject``) is drawn in a green box labelled
    PATIENT and everyone else (``others``) in a grey one whenever more than one person is in view, so
    the caregiver sees who is measured; with nobody locked, everyone is grey and labelled "tap the
    patient"."""
    out = image.copy()
    h, w = out.shape[:2]
    pose = subject if tracked else (main_pose(frame) if frame is not None else None)
    colour = ZONE_COLOURS.get(zone, (200, 200, 200))
    if tracked and others:  # two or more people in view: say who is measured
        for other in others:
            _outline(out, other, OTHER_COLOUR, 1, "not measured" if pose is not None else "tap the patient")
        if pose is not None:
            _outline(out, pose, PATIENT_COLOUR, 3, "PATIENT" + ("" if confirmed else " (tap to change)"))
    if pose is not None:
        vis = pose.visibility
        for a, b in SEGMENTS:
            ia, ib = INDEX[a], INDEX[b]
            if vis[ia] > DRAWN_VISIBILITY and vis[ib] > DRAWN_VISIBILITY:
                cv2.line(out, _pt(pose, ia), _pt(pose, ib), (255, 255, 255), 2, cv2.LINE_AA)
        for name in motion.moving:
            if not name.startswith("mid_"):
                x, y = _point(pose, name, item.side)
                cv2.circle(out, (int(round(x)), int(round(y))), 6, colour, -1, cv2.LINE_AA)
        pivot_name = motion.moving[0]
        pivot = _point(pose, pivot_name, item.side)
        moving = _point(pose, motion.moving[1], item.side) - pivot
        ref = _reference_2d(pose, motion, item.side)
        radius = int(max(30.0, 0.6 * float(np.linalg.norm(moving))))
        centre = (int(round(pivot[0])), int(round(pivot[1])))
        if ref is not None and np.linalg.norm(ref) > 1 and np.linalg.norm(moving) > 1 and math.isfinite(angle):
            raw = (angle - motion.offset) * motion.scale
            seen = signed_angle_2d(ref, moving)
            sense = 1.0 if (seen >= 0) == (raw >= 0) else -1.0
            base = math.degrees(math.atan2(ref[1], ref[0]))

            def screen(a: float) -> float:
                return base + sense * (a - motion.offset) * motion.scale

            if item.target_min is not None and item.target_max is not None:
                cv2.ellipse(out, centre, (radius, radius), 0, screen(item.target_min), screen(item.target_max),
                            (80, 200, 60), 6, cv2.LINE_AA)
            for limit in (item.safe_max, item.safe_min):
                if limit is not None:
                    a = screen(limit)
                    cv2.ellipse(out, centre, (radius, radius), 0, a - 1.5, a + 1.5, SAFE_COLOUR, 10, cv2.LINE_AA)
            cv2.line(out, centre, (int(pivot[0] + ref[0] / np.linalg.norm(ref) * radius),
                                   int(pivot[1] + ref[1] / np.linalg.norm(ref) * radius)), (180, 180, 180), 1)
        label = angle_text(angle)
        if label is not None:
            org = (min(max(centre[0] + 12, 0), w - 110), min(max(centre[1] - 12, 30), h - 10))
            _angle_label(out, label, org, colour)
    if demo:
        cv2.rectangle(out, (0, 0), (w, 34), (0, 140, 255), -1)
        cv2.putText(out, "DEMO VIDEO - rendered, not a real patient", (10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7,
                    (0, 0, 0), 2, cv2.LINE_AA)
    return out


def to_jpeg(image: np.ndarray, quality: int = 75) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("could not encode the frame as JPEG")
    return buf.tobytes()
