"""Exact synthetic poses: the 33 landmarks of a stick body with one joint set to a known angle.

Each motion's angle is placed by its anatomical definition (cos/sin of the angle along two body
axes), independently of how romcam's engine computes it; the body is then turned into a posture
(standing, reclined seated, lying) and a camera view, and projected through a pinhole camera.
"""

from __future__ import annotations

import math

import numpy as np

from romcam.landmarks import INDEX, NUM_LANDMARKS, Pose

# body axes in body coordinates: left, up, anterior
L, U, A = np.eye(3)


def _rot(axis: np.ndarray, deg: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    a = math.radians(deg)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(a) * k + (1 - math.cos(a)) * k @ k


def body_points(motion: str, side: str, angle: float, *, hip_flexion: float = 0.0) -> dict[str, np.ndarray]:
    """Landmark positions (metres, body coordinates: x left, y up, z anterior). ``hip_flexion``
    raises the exercised thigh forward for the knee motions (a squat, a seated knee)."""
    s = 1.0 if side == "left" else -1.0
    lat = s * L  # toward the exercised side
    d = -U
    th = math.radians(angle)
    c, sn = math.cos(th), math.sin(th)
    p: dict[str, np.ndarray] = {}
    for sd, k in (("left", 1.0), ("right", -1.0)):
        p[f"{sd}_hip"] = k * 0.10 * L
        p[f"{sd}_shoulder"] = 0.50 * U + k * 0.18 * L
        p[f"{sd}_elbow"] = p[f"{sd}_shoulder"] + 0.30 * d
        p[f"{sd}_wrist"] = p[f"{sd}_elbow"] + 0.27 * d
        p[f"{sd}_knee"] = p[f"{sd}_hip"] + 0.45 * d
        p[f"{sd}_ankle"] = p[f"{sd}_knee"] + 0.45 * d
    mid_sh = 0.5 * (p["left_shoulder"] + p["right_shoulder"])
    head_up, head_fwd, head_left = U, A, L
    own = side
    sh, hip = p[f"{own}_shoulder"], p[f"{own}_hip"]
    shank = None
    if motion == "shoulder_flexion":
        p[f"{own}_elbow"] = sh + 0.30 * (c * d + sn * A)
        p[f"{own}_wrist"] = sh + 0.57 * (c * d + sn * A)
    elif motion == "shoulder_abduction":
        p[f"{own}_elbow"] = sh + 0.30 * (c * d + sn * lat)
        p[f"{own}_wrist"] = sh + 0.57 * (c * d + sn * lat)
    elif motion == "shoulder_external_rotation":
        p[f"{own}_elbow"] = sh + 0.30 * lat
        p[f"{own}_wrist"] = p[f"{own}_elbow"] + 0.27 * (c * A + sn * U)
    elif motion == "elbow_flexion":
        p[f"{own}_wrist"] = p[f"{own}_elbow"] + 0.27 * (c * d + sn * A)
    elif motion in ("hip_flexion", "hip_flexion_straight_leg"):
        p[f"{own}_knee"] = hip + 0.45 * (c * d + sn * A)
        if motion == "hip_flexion":  # knee bent: the shank hangs down from the knee
            p[f"{own}_ankle"] = p[f"{own}_knee"] + 0.45 * d
        else:
            p[f"{own}_ankle"] = hip + 0.90 * (c * d + sn * A)
    elif motion == "hip_abduction":
        p[f"{own}_knee"] = hip + 0.45 * (c * d + sn * lat)
        p[f"{own}_ankle"] = hip + 0.90 * (c * d + sn * lat)
    elif motion in ("knee_flexion", "knee_extension"):
        h = math.radians(hip_flexion)
        p[f"{own}_knee"] = hip + 0.45 * (math.cos(h) * d + math.sin(h) * A)
        p[f"{own}_ankle"] = p[f"{own}_knee"] + 0.45 * (math.cos(h - th) * d + math.sin(h - th) * A)
    elif motion == "ankle_dorsiflexion_knee_bent":  # knee bent 35°: the shank slopes back
        b = math.radians(35.0)
        shank = math.cos(b) * d - math.sin(b) * A
        p[f"{own}_ankle"] = p[f"{own}_knee"] + 0.45 * shank
    elif motion == "neck_lateral_flexion":
        head_up = c * U + sn * lat
        head_left = np.cross(head_up, A)  # left = up × anterior
    elif motion == "neck_rotation":
        head_fwd = c * A + sn * lat
        head_left = np.cross(U, head_fwd)
    # feet: heel→toe perpendicular to the shank at 0°; dorsiflexion turns the toes toward the shin
    for sd in ("left", "right"):
        sdir = p[f"{sd}_ankle"] - p[f"{sd}_knee"]
        sdir = sdir / np.linalg.norm(sdir)
        fwd = A - np.dot(A, sdir) * sdir
        fwd /= np.linalg.norm(fwd)
        if sd == own and motion.startswith("ankle_dorsiflexion"):
            foot = c * fwd + sn * (-sdir)
        else:
            foot = fwd
        p[f"{sd}_heel"] = p[f"{sd}_ankle"] + 0.06 * sdir - 0.05 * foot
        p[f"{sd}_foot_index"] = p[f"{sd}_heel"] + 0.22 * foot
    for sd in ("left", "right"):
        w = p[f"{sd}_wrist"]
        fore = w - p[f"{sd}_elbow"]
        fore = fore / np.linalg.norm(fore)
        for name, off in (("index", 0.08), ("pinky", 0.07), ("thumb", 0.05)):
            p[f"{sd}_{name}"] = w + off * fore
    mid_ear = mid_sh + 0.22 * head_up
    p["nose"] = mid_ear + 0.10 * head_fwd
    for sd, k in (("left", 1.0), ("right", -1.0)):
        p[f"{sd}_ear"] = mid_ear + k * 0.07 * head_left
        for name, off in (("eye_inner", 0.015), ("eye", 0.03), ("eye_outer", 0.045)):
            p[f"{sd}_{name}"] = p["nose"] + 0.03 * head_up + k * off * head_left - 0.01 * head_fwd
        p[f"mouth_{sd}"] = p["nose"] - 0.04 * head_up + k * 0.025 * head_left
    return p


# body → camera (x right, y down, z away from the camera): columns are where the body's
# left, up and anterior axes point.
def orientation(posture: str, view: str, side: str, yaw: float = 0.0) -> np.ndarray:
    """Rotation from body to camera coordinates for a posture and camera view."""
    x, y, z = np.eye(3)
    if view == "front":
        base = np.column_stack([x, -y, -z])  # facing the camera
    else:  # the exercised side toward the camera
        lat_cam = -z  # the exercised side's lateral axis points at the camera
        left = lat_cam if side == "left" else -lat_cam
        up = -y
        base = np.column_stack([left, up, np.cross(left, up)])
    if posture == "lying":  # supine on a bed: tip the body back 90° about the camera's x ...
        if view == "front":  # camera overhead looking down at the front, head to the image right
            base = np.column_stack([y, x, -z])
        else:  # camera beside the bed at its height; head to the image right, face up
            up = x
            left = -z if side == "left" else z
            base = np.column_stack([left, up, np.cross(left, up)])
    elif posture == "seated":  # trunk reclined 20° against a backrest
        base = base @ _rot(L, -20.0)
    return _rot(np.array([0.0, 1.0, 0.0]), yaw) @ base


def make_pose(motion: str, side: str, angle: float, *, posture: str = "standing", view: str = "front",
              yaw: float = 0.0, visibility: float = 0.99, hip_flexion: float = 0.0) -> Pose:
    """A :class:`Pose` with ``motion`` at ``angle`` seen from ``view``, in a 640x480 frame."""
    pts = body_points(motion, side, angle, hip_flexion=hip_flexion)
    rot = orientation(posture, view, side, yaw)
    world = np.zeros((NUM_LANDMARKS, 3))
    for name, v in pts.items():
        world[INDEX[name]] = rot @ v
    world -= 0.5 * (world[INDEX["left_hip"]] + world[INDEX["right_hip"]])
    # a weak-perspective camera (the whole body at one depth): exact geometry, so every error
    # left is the engine's; real perspective is measured on rendered video by the benchmark
    scale = 500.0 / 3.5  # pixels per metre
    image = np.column_stack([
        scale * world[:, 0] + 320.0,
        scale * world[:, 1] + 200.0,
        scale * world[:, 2],
    ])  # fmt: skip
    vis = np.full(NUM_LANDMARKS, visibility)
    return Pose(image=image, world=world, visibility=vis, presence=vis.copy())
