"""Procedural test video with known joint angles: a 3D figure, a pinhole camera, a truth file.

No machine here has a camera and real patients' video is private, so romcam renders its own: an
articulated figure (clothes, skin, a face) posed by goniometric angles, ray-cast with a depth
buffer through a pinhole camera (front, side or oblique views; standing, seated or lying), and a
``.truth.json`` beside each clip with every catalog angle per frame and every rep.

Modules: :mod:`.skeleton` (angles -> 3D joints, and the catalog definitions measured back),
:mod:`.exercises` (how each motion is performed), :mod:`.trajectory` (angle-time curves, rep
truth), :mod:`.camera` (pinhole projection), :mod:`.raster` (ray-cast shapes, z-buffer, shading),
:mod:`.figure` (the body's shapes), :mod:`.makehuman` (a second, realistic body: the MakeHuman CC0
mesh posed from the same angles by linear blend skinning, ``RenderSpec(body="makehuman")``),
:mod:`.scene` (placement, furniture, backgrounds, camera placement, noise), :mod:`.caregiver` (a
second figure who holds and moves the patient's limb in passive ROM, ``RenderSpec(caregiver=True)``),
:mod:`.clip` (frames, video and truth).
"""

from .camera import Camera, focal_from_fov, look_at
from .clip import (
    RenderSpec,
    RenderStopped,
    Truth,
    clip_truth,
    render_clip,
    render_frames,
    render_pose_image,
    truth_path,
)
from .exercises import EXERCISES, POSTURES, get_exercise, neutral_pose
from .skeleton import MOTIONS, BodyDims, JointAngles, SideAngles, measure_angles, pose_skeleton
from .trajectory import Rep, Trajectory, frame_times

__all__ = [
    "EXERCISES",
    "MOTIONS",
    "POSTURES",
    "BodyDims",
    "Camera",
    "JointAngles",
    "Rep",
    "RenderSpec",
    "RenderStopped",
    "SideAngles",
    "Trajectory",
    "Truth",
    "clip_truth",
    "focal_from_fov",
    "frame_times",
    "get_exercise",
    "look_at",
    "measure_angles",
    "neutral_pose",
    "pose_skeleton",
    "render_clip",
    "render_frames",
    "render_pose_image",
    "truth_path",
]
