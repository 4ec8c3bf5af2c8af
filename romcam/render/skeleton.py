"""The figure's skeleton: joint angles in, 3D joint positions out (pure numpy).

Body frame
----------
All positions here are in the **body frame**, in metres: origin midway between the two hip joint
centres, ``X`` toward the patient's **left**, ``Y`` cranial (up the trunk), ``Z`` anterior (the way
the patient faces). It is right-handed (X = Y x Z). The trunk is rigid, so the body frame is also
the thorax and pelvis frame in which every goniometric angle is defined.

Joint parameterisation
----------------------
:class:`JointAngles` holds the figure's degrees of freedom (degrees). They are built so that the
goniometric definitions of romcam's catalog (``romcam/data/exercises.toml``) read back exactly:
:func:`measure_angles` computes every catalog motion from the 3D joints by its definition, and for
the motion an exercise commands it returns the commanded value (the tests check this).

- arm: ``shoulder_flex`` rotates about the trunk's left-right axis (sagittal plane, exact flexion);
  ``shoulder_abd`` is the arm's lateral angle from the trunk's vertical axis (the catalog's trunk
  line: parallel to mid-shoulders → mid-hips, not the slanted shoulder-to-hip line);
  ``shoulder_rot`` turns the humerus about its
  own axis (external positive); ``elbow_flex`` is the hinge angle (0 straight).
- leg: ``hip_flex`` (sagittal), ``hip_abd`` (from the perpendicular to the pelvis line, which in the
  body frame is straight down), ``knee_flex``, ``ankle_dorsi``.
- neck: ``neck_lat`` (tilt toward the patient's left is positive for the left side, see
  ``neck_side``), ``neck_rot``; the head pivots about the point midway between the shoulder joints,
  with the mid-ear point straight above it, so both read back exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

SIDES = ("left", "right")


def side_sign(side: str) -> float:
    """+1 for the patient's left (body +X), -1 for the right."""
    if side not in SIDES:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    return 1.0 if side == "left" else -1.0


def rot_x(deg: float) -> np.ndarray:
    """Rotation matrix about X by ``deg`` degrees (right-handed)."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[1.0, 0, 0], [0, c, -s], [0, s, c]])


def rot_y(deg: float) -> np.ndarray:
    """Rotation matrix about Y by ``deg`` degrees (right-handed)."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, 0, s], [0, 1.0, 0], [-s, 0, c]])


def rot_z(deg: float) -> np.ndarray:
    """Rotation matrix about Z by ``deg`` degrees (right-handed)."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


@dataclass(frozen=True)
class BodyDims:
    """Segment lengths and joint offsets of an adult of about 1.72 m, metres."""

    hip_half: float = 0.09  # hip joint centre to the midline
    shoulder_half: float = 0.185  # glenohumeral joint centre to the midline
    shoulder_height: float = 0.48  # shoulder joint centres above the hip joint centres
    upper_arm: float = 0.29
    forearm: float = 0.25
    hand: float = 0.18
    thigh: float = 0.42
    shank: float = 0.42
    ankle_height: float = 0.07  # ankle joint centre above the sole, along the foot's "down"
    heel_back: float = 0.055  # heel behind the ankle, along the foot
    toe_forward: float = 0.19  # toe tip ahead of the ankle, along the foot
    ear_height: float = 0.19  # mid-ear point above the mid-shoulder point
    ear_half: float = 0.075
    natural_arm_abd: float = 6.0  # degrees the relaxed arm hangs out from vertical (clears the hips)


DEFAULT_DIMS = BodyDims()


@dataclass(frozen=True)
class SideAngles:
    """Degrees of freedom of one side's limbs, degrees (see module docstring)."""

    shoulder_flex: float = 0.0
    shoulder_abd: float = 6.0
    shoulder_rot: float = 0.0
    elbow_flex: float = 0.0
    hip_flex: float = 0.0
    hip_abd: float = 0.0
    knee_flex: float = 0.0
    ankle_dorsi: float = 0.0


@dataclass(frozen=True)
class JointAngles:
    """The whole figure's pose: both sides plus the neck, degrees."""

    left: SideAngles = field(default_factory=SideAngles)
    right: SideAngles = field(default_factory=SideAngles)
    neck_lat: float = 0.0  # positive tilts the head toward ``neck_side``
    neck_rot: float = 0.0  # positive turns the face toward ``neck_side``
    neck_side: str = "left"

    def side(self, side: str) -> SideAngles:
        return self.left if side == "left" else self.right

    def with_side(self, side: str, **changes: float) -> JointAngles:
        """A copy with some of one side's angles changed."""
        new = replace(self.side(side), **changes)
        return replace(self, **{side: new})


@dataclass(frozen=True)
class Skeleton:
    """Posed joints in the body frame.

    ``points``: name -> (3,) position, metres. Names: ``mid_hip``, ``mid_shoulder``, ``head``
    (head centre), ``nose``, ``ear_l``/``ear_r`` and per side (suffix ``_l``/``_r``): ``shoulder``,
    ``elbow``, ``wrist``, ``hip``, ``knee``, ``ankle``, ``heel``, ``toe``.
    ``frames``: name -> (3, 3) rotation whose columns are the segment's local axes in the body
    frame: ``head`` (X left, Y up, Z face), ``hand_l``/``hand_r`` (X width, Y along the hand toward
    the fingers, Z palm normal), ``foot_l``/``foot_r`` (X lateral, Y sole-down, Z toe direction).
    """

    points: dict[str, np.ndarray]
    frames: dict[str, np.ndarray]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def pose_skeleton(angles: JointAngles, dims: BodyDims = DEFAULT_DIMS) -> Skeleton:
    """Forward kinematics: joint angles (degrees) -> joint positions (metres, body frame)."""
    pts: dict[str, np.ndarray] = {}
    frames: dict[str, np.ndarray] = {}
    down = np.array([0.0, -1.0, 0.0])
    ant = np.array([0.0, 0.0, 1.0])
    pts["mid_hip"] = np.zeros(3)
    pts["mid_shoulder"] = np.array([0.0, dims.shoulder_height, 0.0])
    for side, suf in (("left", "_l"), ("right", "_r")):
        s = side_sign(side)
        a = angles.side(side)
        # Arm: flexion outermost (about the trunk's X axis) so the sagittal angle is exact.
        r_arm = rot_x(-a.shoulder_flex) @ rot_z(s * a.shoulder_abd) @ rot_y(s * a.shoulder_rot)
        u = r_arm @ down  # humerus direction
        p = r_arm @ ant  # direction the forearm flexes toward
        e = math.radians(a.elbow_flex)
        fore = math.cos(e) * u + math.sin(e) * p
        palm = math.cos(e) * p - math.sin(e) * u  # palm normal (palm forward at neutral)
        sh = np.array([s * dims.shoulder_half, dims.shoulder_height, 0.0])
        el = sh + dims.upper_arm * u
        wr = el + dims.forearm * fore
        pts["shoulder" + suf], pts["elbow" + suf], pts["wrist" + suf] = sh, el, wr
        frames["hand" + suf] = np.column_stack([_unit(np.cross(fore, palm)), fore, palm])
        # Leg.
        r_leg = rot_x(-a.hip_flex) @ rot_z(s * a.hip_abd)
        ut = r_leg @ down
        pt = r_leg @ ant
        k = math.radians(a.knee_flex)
        us = math.cos(k) * ut - math.sin(k) * pt  # shank direction (heel goes posterior)
        ps = math.sin(k) * ut + math.cos(k) * pt  # shank's anterior
        d = math.radians(a.ankle_dorsi)
        foot = math.cos(d) * ps - math.sin(d) * us  # heel -> toe
        sole_down = math.sin(d) * ps + math.cos(d) * us
        hp = np.array([s * dims.hip_half, 0.0, 0.0])
        kn = hp + dims.thigh * ut
        an = kn + dims.shank * us
        pts["hip" + suf], pts["knee" + suf], pts["ankle" + suf] = hp, kn, an
        base = an + dims.ankle_height * sole_down
        pts["heel" + suf] = base - dims.heel_back * foot
        pts["toe" + suf] = base + dims.toe_forward * foot
        frames["foot" + suf] = np.column_stack([_unit(np.cross(sole_down, foot)), sole_down, foot])
    ns = side_sign(angles.neck_side)
    r_head = rot_z(-ns * angles.neck_lat) @ rot_y(ns * angles.neck_rot)
    frames["head"] = r_head
    pivot = pts["mid_shoulder"]
    pts["head"] = pivot + r_head @ np.array([0.0, dims.ear_height + 0.01, 0.012])
    pts["ear_l"] = pivot + r_head @ np.array([dims.ear_half, dims.ear_height, 0.0])
    pts["ear_r"] = pivot + r_head @ np.array([-dims.ear_half, dims.ear_height, 0.0])
    pts["nose"] = pivot + r_head @ np.array([0.0, dims.ear_height - 0.01, 0.105])
    return Skeleton(points=pts, frames=frames)


# --- measurement: the catalog's definitions, applied to 3D joints in the body frame -------------

MOTIONS: tuple[str, ...] = (
    "shoulder_flexion",
    "shoulder_abduction",
    "shoulder_external_rotation",
    "elbow_flexion",
    "hip_flexion",
    "hip_flexion_straight_leg",
    "hip_abduction",
    "knee_flexion",
    "knee_extension",
    "ankle_dorsiflexion",
    "ankle_dorsiflexion_knee_bent",
    "neck_lateral_flexion",
    "neck_rotation",
)


def signed_angle(ref: np.ndarray, vec: np.ndarray, normal: np.ndarray) -> float:
    """Signed angle, degrees, from ``ref`` to ``vec`` after projecting both onto the plane with
    unit ``normal``; positive counter-clockwise about ``normal`` (atan2 of cross and dot)."""
    r = ref - np.dot(ref, normal) * normal
    v = vec - np.dot(vec, normal) * normal
    return math.degrees(math.atan2(float(np.dot(np.cross(r, v), normal)), float(np.dot(r, v))))


def _angle_between(a: np.ndarray, b: np.ndarray) -> float:
    c = np.cross(a, b)
    return math.degrees(math.atan2(float(np.linalg.norm(c)), float(np.dot(a, b))))


def measure_angles(sk: Skeleton, side: str) -> dict[str, float]:
    """Every catalog motion of ``side``, degrees, measured from the 3D skeleton by definition.

    Frame axes are the body frame's (the figure's trunk and pelvis are rigid and level).
    """
    s = side_sign(side)
    suf = "_l" if side == "left" else "_r"
    p = sk.points
    x = np.array([1.0, 0, 0])
    y = np.array([0, 1.0, 0])
    z = np.array([0, 0, 1.0])
    sh, el, wr = p["shoulder" + suf], p["elbow" + suf], p["wrist" + suf]
    hp, kn, an = p["hip" + suf], p["knee" + suf], p["ankle" + suf]
    heel, toe = p["heel" + suf], p["toe" + suf]
    trunk_down = -y  # the trunk's axis (mid-shoulders to mid-hips): the figure's trunk is rigid
    arm, fore = el - sh, wr - el
    thigh, shank = kn - hp, an - kn
    out: dict[str, float] = {}
    # Sagittal: positive anterior = rotation from down toward +Z, i.e. about -X.
    out["shoulder_flexion"] = signed_angle(trunk_down, arm, -x)
    # Frontal: lateral is +X for the left side; from down toward +X is about +Z.
    out["shoulder_abduction"] = signed_angle(trunk_down, arm, s * z)
    # External rotation: forearm in the plane perpendicular to the humerus, from anterior toward
    # "up" (the cranial direction, made perpendicular to the humerus).
    ua = arm / np.linalg.norm(arm)
    up_perp = y - np.dot(y, ua) * ua
    if np.linalg.norm(up_perp) < 1e-9:
        up_perp = -z
    normal = np.cross(z - np.dot(z, ua) * ua, up_perp)
    out["shoulder_external_rotation"] = (
        signed_angle(z, fore, normal / np.linalg.norm(normal))
        if np.linalg.norm(normal) > 1e-9
        else 0.0
    )
    out["elbow_flexion"] = _angle_between(arm, fore)
    hip_flex = signed_angle(trunk_down, thigh, -x)
    out["hip_flexion"] = hip_flex
    out["hip_flexion_straight_leg"] = hip_flex
    out["hip_abduction"] = signed_angle(-y, thigh, s * z)
    knee = _angle_between(thigh, shank)
    out["knee_flexion"] = knee
    out["knee_extension"] = knee
    dorsi = 90.0 - _angle_between(toe - heel, kn - an)
    out["ankle_dorsiflexion"] = dorsi
    out["ankle_dorsiflexion_knee_bent"] = dorsi
    mid_sh = (p["shoulder_l"] + p["shoulder_r"]) / 2
    mid_ear = (p["ear_l"] + p["ear_r"]) / 2
    out["neck_lateral_flexion"] = signed_angle(y, mid_ear - mid_sh, -s * z)
    out["neck_rotation"] = signed_angle(z, p["nose"] - mid_ear, s * y)
    return out
