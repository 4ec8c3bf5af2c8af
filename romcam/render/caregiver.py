"""A caregiver who moves the patient's limb (passive ROM): placement, arm IK, walking, truth.

The caregiver is a second procedural figure (:func:`~romcam.render.figure.figure_shapes`, other
clothes: scrubs) drawn into the same z-buffer as the patient, so their hands and arms really cover
the patient's limb. Everything here is pure numpy and needs no rendering: :class:`CaregiverPlan`
gives, for any time ``t`` and the patient's posed skeleton, the caregiver's skeleton and world
placement (:class:`CaregiverFrame`).

Where the caregiver stands (``RenderSpec.caregiver_side="auto"``)
------------------------------------------------------------------
- **Lying** (bed along world X): beside the bed. If the camera is on the moving limb's side of
  the bed (``side`` and ``oblique`` views) the caregiver stands on the *far* side and leans across
  the bed, so from the camera they are behind the patient and only their arms cross the patient;
  with the camera overhead (``front``) they stand on the limb's side (seen from above they hide
  little). Their position along the bed follows the held point (they step along with it).
- **Seated or standing patient**: beside the patient, across the line of sight (perpendicular to
  the camera's horizontal direction), on the moving side (in front of the patient when the camera
  looks at the moving side), and 0.25 m further from the camera than the patient.

``caregiver_side="limb"`` or ``"opposite"`` forces the side of the patient instead.

Posture (``caregiver_posture="auto"``): standing beside a bed (leaning forward as far as needed to
reach, up to 70°), kneeling beside a seated patient. A target out of reach makes the caregiver
slide horizontally toward it (they step along).

Hands: the caregiver's two hands hold the moving limb: wrist and elbow for arm motions, ankle and
knee for hip and knee motions, mid-foot and ankle for ankle motions, both sides of the head for
neck motions. Each arm is a 2-link IK chain (upper arm; forearm plus hand to the palm centre) from
a fixed shoulder, the elbow bent outward and down; the palm centre lands on the limb's surface
above the joint, facing it.

Crossing (``crossing=True``): after the first rep the caregiver lets go, walks across behind the
patient (along the far side of the bed, past the head end, or behind the chair) and comes back to
take the limb again before the next rep; :meth:`RenderSpec.trajectory` lengthens the rests to
``CROSSING_REST_S`` so the walk fits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .camera import Camera
from .exercises import get_exercise
from .figure import Appearance, figure_shapes
from .raster import Capsule, Ellipsoid, Shape, _intersect
from .skeleton import BodyDims, JointAngles, Skeleton, pose_skeleton, rot_x, side_sign
from .trajectory import Trajectory

CAREGIVER_DIMS = BodyDims(upper_arm=0.30, forearm=0.26)
GRIP = 0.075  # palm centre beyond the wrist, along the hand (figure.py's hand ellipsoid)
CROSSING_REST_S = 3.6
SIDES = ("auto", "limb", "opposite")
CG_POSTURES = ("auto", "standing", "kneeling")
STAND_HIP = CAREGIVER_DIMS.thigh + CAREGIVER_DIMS.shank + CAREGIVER_DIMS.ankle_height + 0.02
KNEEL_HIP = CAREGIVER_DIMS.thigh + 0.06
MAX_LEAN = {"standing": 75.0, "kneeling": 70.0}
BLEND_S = 0.4  # letting go / taking hold
WALK_SPEED = 1.2  # m/s at most

# Scrubs: colours no patient shirt uses (BGR).
SCRUBS: tuple[tuple[float, float, float], ...] = ((150, 140, 40), (190, 120, 170), (110, 160, 60))

# Landmark names (MediaPipe's) of the patient's points, per skeleton key suffix.
_LANDMARK = {
    "wrist": "wrist", "elbow": "elbow", "shoulder": "shoulder", "hip": "hip", "knee": "knee",
    "ankle": "ankle", "heel": "heel", "toe": "foot_index", "ear": "ear",
}
# Limb radius at each held point (figure.py), metres: the palm rests on the surface.
_LIMB_R = {"wrist": 0.036, "elbow": 0.045, "ankle": 0.05, "knee": 0.06, "foot": 0.045, "ear": 0.08}


def held_points(exercise: str) -> tuple[str, str]:
    """The two points of the patient the caregiver's hands hold: (distal, proximal)."""
    if exercise.startswith(("shoulder", "elbow")):
        return "wrist", "elbow"
    if exercise.startswith(("hip", "knee")):
        return "ankle", "knee"
    if exercise.startswith("ankle"):
        return "foot", "ankle"
    if exercise.startswith("neck"):
        return "ear", "ear_other"
    raise ValueError(f"no caregiver hold for {exercise!r}")


def caregiver_appearance(patient: Appearance, seed: int) -> Appearance:
    """Scrubs (top and trousers the same colour, short sleeves), unlike the patient's clothes."""
    rng = np.random.default_rng([seed, 31])
    base = Appearance.from_seed(seed + 7919)
    far = [c for c in SCRUBS if min(_dist(c, patient.shirt), _dist(c, patient.trousers)) > 90]
    scrubs = (far or list(SCRUBS))[rng.integers(len(far or SCRUBS))]
    return replace(base, shirt=scrubs, trousers=scrubs, short_sleeves=True, shoes=(30, 30, 30))


def _dist(a, b) -> float:
    return float(np.linalg.norm(np.subtract(a, b)))


def _cross(a, b) -> np.ndarray:
    """Cross product of two 3-vectors (np.cross is slow on single vectors)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-12 else v


def two_link_ik(shoulder: np.ndarray, target: np.ndarray, l1: float, l2: float,
                pole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Elbow and end point of a 2-link chain from ``shoulder`` toward ``target`` (3D), the elbow
    bent toward ``pole`` (a direction). Out of reach, the chain points at the target, straight
    (or folded) as far as it goes."""
    d_vec = target - shoulder
    d = float(np.linalg.norm(d_vec))
    u = _unit(d_vec) if d > 1e-9 else np.array([0.0, -1.0, 0.0])
    d = min(max(d, abs(l1 - l2) + 1e-4), l1 + l2 - 1e-4)
    cos_a = (l1 * l1 + d * d - l2 * l2) / (2 * l1 * d)
    a = math.acos(max(-1.0, min(1.0, cos_a)))
    v = pole - np.dot(pole, u) * u
    if np.linalg.norm(v) < 1e-6:
        v = _cross(u, [1.0, 0, 0]) if abs(u[0]) < 0.9 else _cross(u, [0, 0, 1.0])
    v = _unit(v)
    elbow = shoulder + l1 * (math.cos(a) * u + math.sin(a) * v)
    end = elbow + l2 * _unit(shoulder + d * u - elbow)
    return elbow, end


@dataclass
class CaregiverFrame:
    """The caregiver at one instant.

    ``skeleton`` is in the caregiver's own body frame, placed by ``rotation``/``origin`` (world =
    rotation @ body + origin). ``hands``: caregiver side ("left"/"right") -> palm centre (world).
    ``holds``: caregiver side -> the patient's landmark name it holds (e.g. "left_wrist"), only
    while holding. ``targets``: the same keys -> the world point that hand should be on.
    """

    skeleton: Skeleton
    rotation: np.ndarray
    origin: np.ndarray
    hands: dict[str, np.ndarray]
    holds: dict[str, str]
    targets: dict[str, np.ndarray]
    holding: bool


class CaregiverPlan:
    """Where the caregiver stands and how they move through a clip (see module docstring)."""

    def __init__(self, exercise: str, side: str, posture: str, traj: Trajectory,
                 patient_rotation: np.ndarray, patient_origin: np.ndarray, patient_dims: BodyDims,
                 camera_dir: np.ndarray, *, where: str = "auto", cg_posture: str = "auto",
                 crossing: bool = False):
        if where not in SIDES:
            raise ValueError(f"caregiver_side must be one of {', '.join(SIDES)}, got {where!r}")
        if cg_posture not in CG_POSTURES:
            raise ValueError(f"caregiver_posture must be one of {', '.join(CG_POSTURES)}, got {cg_posture!r}")
        self.ex = get_exercise(exercise)
        self.side, self.posture, self.traj = side, posture, traj
        self.R, self.o, self.pdims = patient_rotation, patient_origin, patient_dims
        self.dims = CAREGIVER_DIMS
        self.kneel = (cg_posture == "kneeling") or (cg_posture == "auto" and posture == "seated")
        self.distal, self.proximal = held_points(exercise)
        s = side_sign(side)
        self.suf = "_l" if side == "left" else "_r"
        up = np.array([0.0, 1.0, 0.0])
        cam = _unit(np.asarray(camera_dir, float))
        cam_h = cam - cam[1] * up
        limb_dir = self.R @ np.array([s, 0.0, 0.0])  # the moving side, world
        limb_dir = _unit(limb_dir - limb_dir[1] * up)
        # the distal point's path (world), sampled over one rep
        ts = np.linspace(0.0, traj.duration, 41)
        path = np.array([self._patient_point(pose_skeleton(self._pose(t), patient_dims), self.distal)
                         for t in ts])
        centroid = path.mean(0)
        self.hip = self.R @ np.zeros(3) + self.o
        if posture == "lying":
            on_limb = True
            if where == "opposite" or (where == "auto" and float(np.dot(cam_h, limb_dir)) > 0.3):
                on_limb = False
            out = limb_dir if on_limb else -limb_dir
            self.out = out
            self.along = _unit(_cross(up, out))  # along the bed
            base = self.hip + 0.62 * out + float(np.dot(centroid - self.hip, self.along)) * self.along
            if on_limb and self.distal == "wrist":
                # seen from above, a caregiver leaning in at the patient's shoulder would cover the
                # face: stand a little toward the feet
                feet = self.R @ np.array([0.0, -1.0, 0.0])
                base = base + 0.3 * float(np.dot(feet, self.along)) * self.along
            self.slide_axis = self.along
        else:
            if np.linalg.norm(cam_h) < 1e-6:
                cam_h = _unit(self.R @ np.array([0.0, 0, 1.0]))
            cam_h = _unit(cam_h)
            perp = _cross(up, cam_h)
            front = self.R @ np.array([0.0, 0, 1.0])
            score = float(np.dot(perp, limb_dir)) + 0.5 * float(np.dot(perp, front))
            if score < 0:
                perp = -perp
            if where == "opposite":
                perp = -perp
            self.out = perp
            self.along = cam_h
            c = np.array([centroid[0], 0.0, centroid[2]])
            base = c + 0.62 * perp - 0.25 * cam_h
            self.slide_axis = None
        base[1] = KNEEL_HIP if self.kneel else STAND_HIP
        self.base = base
        self.cam_h = cam_h
        facing = centroid - base
        facing[1] = 0
        self.facing = _unit(facing)
        self._neutral = pose_skeleton(JointAngles(), self.dims)
        self._hands = self._assign()
        self.crossing = crossing and traj.reps >= 1
        self.walk_path: np.ndarray | None = None
        if self.crossing:
            reps = traj.rep_truth()
            self.t_release = reps[0].end + 0.05
            nxt = reps[1].start if traj.reps >= 2 else traj.duration
            self.t_grab = nxt - 0.05
            self.walk_path = self._walk_path()

    # --- the patient ------------------------------------------------------------------------

    def _pose(self, t: float) -> JointAngles:
        return self.ex.pose(self.traj.angle_at(t), self.side, self.posture)

    def _patient_point(self, sk: Skeleton, name: str) -> np.ndarray:
        p = sk.points
        if name == "foot":
            body = (p["ankle" + self.suf] + p["toe" + self.suf]) / 2
        elif name == "ear":
            body = p["ear" + self.suf]
        elif name == "ear_other":
            body = p["ear" + ("_r" if self.suf == "_l" else "_l")]
        else:
            body = p[name + self.suf]
        return self.R @ body + self.o

    def landmark_name(self, name: str) -> str:
        """The patient's landmark (MediaPipe naming) under a held point."""
        if name == "foot":
            name = "ankle"  # the mid-foot hand covers the ankle side of the foot
        other = {"left": "right", "right": "left"}[self.side]
        if name == "ear_other":
            return f"{other}_ear"
        return f"{self.side}_{_LANDMARK[name]}"

    # --- the caregiver's body -------------------------------------------------------------------

    def _rotation(self, facing: np.ndarray, lean: float) -> np.ndarray:
        up = np.array([0.0, 1.0, 0.0])
        x = _cross(up, facing)
        return np.column_stack([x, up, facing]) @ rot_x(lean)

    def _shoulder(self, base: np.ndarray, facing: np.ndarray, lean: float, hand: str) -> np.ndarray:
        s = 1.0 if hand == "left" else -1.0
        body = np.array([s * self.dims.shoulder_half, self.dims.shoulder_height, 0.0])
        return self._rotation(facing, lean) @ body + base

    def _reach(self) -> float:
        return self.dims.upper_arm + self.dims.forearm + GRIP

    def _assign(self) -> tuple[str, str]:
        """(hand on the distal point, hand on the proximal point): the caregiver's hand nearer the
        distal point's side takes it."""
        x = _cross(np.array([0.0, 1.0, 0.0]), self.facing)  # caregiver's left, world
        sk = pose_skeleton(self._pose(self.traj.duration / 2), self.pdims)
        d = self._patient_point(sk, self.distal) - self._patient_point(sk, self.proximal)
        return ("left", "right") if float(np.dot(d, x)) > 0 else ("right", "left")

    def _grip(self, joint: np.ndarray, name: str, shoulder: np.ndarray, limb_axis: np.ndarray) -> np.ndarray:
        """Palm centre on the limb's surface at ``joint``, on the side facing ``shoulder``."""
        v = shoulder - joint
        ax = _unit(limb_axis)
        v = v - np.dot(v, ax) * ax
        r = _LIMB_R.get(name, 0.05) + 0.014
        return joint + r * _unit(v)

    def _limb_axis(self, sk: Skeleton, name: str) -> np.ndarray:
        p, suf = sk.points, self.suf
        if name == "wrist":
            a = p["wrist" + suf] - p["elbow" + suf]
        elif name == "elbow":
            a = p["elbow" + suf] - p["shoulder" + suf]
        elif name == "knee":
            a = p["knee" + suf] - p["hip" + suf]
        elif name in ("ankle",):
            a = p["ankle" + suf] - p["knee" + suf]
        elif name == "foot":
            a = p["toe" + suf] - p["heel" + suf]
        else:
            a = np.array([0.0, 1.0, 0.0])
        return self.R @ a

    def _walk_path(self) -> np.ndarray:
        b = self.base.copy()
        pts = [b]
        if self.posture == "lying":
            ends = [self.hip + self.R @ np.array([0.0, self.pdims.shoulder_height + 0.9, 0.0]),
                    self.hip + self.R @ np.array([0.0, -(self.pdims.thigh + self.pdims.shank + 0.6), 0.0])]
            offs = [float(np.dot(e - b, self.along)) for e in ends]
            far = b + max(offs, key=abs) * self.along  # past the farther end of the bed
            pts.append(far)
        else:
            c = np.array([self.hip[0], b[1], self.hip[2]])
            back = max(0.0, 0.75 + float(np.dot(b - c, self.cam_h)))
            b1 = b - back * self.cam_h
            across = float(np.dot(b1 - c, self.out))
            pts += [b1, b1 - 2 * across * self.out]
        return np.array(pts + pts[-2::-1])

    def _walk_at(self, t: float) -> tuple[np.ndarray, np.ndarray, float]:
        """Base position, facing and distance walked at ``t`` inside the walk window."""
        path = self.walk_path
        assert path is not None
        t0, t1 = self.t_release + BLEND_S, self.t_grab - BLEND_S
        seg = np.linalg.norm(np.diff(path, axis=0), axis=1)
        total = float(seg.sum())
        frac = min(max((t - t0) / max(t1 - t0, 1e-6), 0.0), 1.0)
        s = total * (0.5 - 0.5 * math.cos(math.pi * frac))
        acc = 0.0
        for i, L in enumerate(seg):
            if s <= acc + L or i == len(seg) - 1:
                w = 0.0 if L < 1e-9 else (s - acc) / L
                pos = path[i] + w * (path[i + 1] - path[i])
                heading = path[i + 1] - path[i]
                heading[1] = 0
                return pos, (_unit(heading) if np.linalg.norm(heading) > 1e-9 else self.facing), s
            acc += L
        return path[-1], self.facing, s

    def hold_weight(self, t: float) -> float:
        """1 while holding the limb, 0 while away, ramps in between."""
        if not self.crossing:
            return 1.0
        if t <= self.t_release or t >= self.t_grab:
            return 1.0
        a = (t - self.t_release) / BLEND_S
        b = (self.t_grab - t) / BLEND_S
        return float(min(1.0, max(0.0, 1.0 - a), max(0.0, 1.0 - b)) if min(a, b) < 1 else 0.0)

    def at(self, t: float, patient: Skeleton | None = None) -> CaregiverFrame:
        """The caregiver at ``t`` (the patient's skeleton at ``t`` is recomputed if not given)."""
        sk = patient if patient is not None else pose_skeleton(self._pose(t), self.pdims)
        w = self.hold_weight(t)
        walking = self.crossing and self.t_release + BLEND_S <= t <= self.t_grab - BLEND_S
        base, facing = self.base.copy(), self.facing
        walked = 0.0
        if walking:
            base, facing, walked = self._walk_at(t)
        hand_d, hand_p = self._hands
        names = {hand_d: self.distal, hand_p: self.proximal}
        joints = {h: self._patient_point(sk, n) for h, n in names.items()}
        axes = {h: self._limb_axis(sk, n) for h, n in names.items()}
        kneel = self.kneel and w > 0.5
        base[1] = KNEEL_HIP if kneel else STAND_HIP
        neutral = self._neutral
        reach = 0.93 * self._reach()

        def free_hand(b, f, hand):
            sfx = "_l" if hand == "left" else "_r"
            wr = neutral.points["wrist" + sfx] + GRIP * neutral.frames["hand" + sfx][:, 1]
            return self._rotation(f, 0.0) @ wr + b

        def targets_for(b, lean):
            out = {}
            for h in names:
                grip = self._grip(joints[h], names[h], self._shoulder(b, facing, lean, h), axes[h])
                out[h] = w * grip + (1 - w) * free_hand(b, facing, h)
            return out

        lean = 0.0
        if w > 0:
            max_lean = MAX_LEAN["kneeling" if kneel else "standing"]

            def gap(b, ln):
                tg = targets_for(b, ln)
                return max(float(np.linalg.norm(tg[h] - self._shoulder(b, facing, ln, h))) for h in tg) - reach

            if gap(base, 0.0) > 0:
                lo, hi = 0.0, max_lean
                if gap(base, hi) > 0:
                    lean = hi
                else:
                    for _ in range(16):
                        mid = (lo + hi) / 2
                        lo, hi = (mid, hi) if gap(base, mid) > 0 else (lo, mid)
                    lean = hi
            for _ in range(3):  # still out of reach: step toward the target
                g = gap(base, lean)
                if g <= 0:
                    break
                d = targets_for(base, lean)[hand_d] - self._shoulder(base, facing, lean, hand_d)
                if self.slide_axis is not None:
                    step = float(np.dot(d, self.slide_axis))
                    base = base + math.copysign(min(abs(step), g + 0.01), step) * self.slide_axis
                else:
                    dh = d.copy()
                    dh[1] = 0
                    base = base + (g + 0.01) * _unit(dh)
        targets = targets_for(base, lean)
        rot = self._rotation(facing, lean)
        inv = rot.T
        pts = {k: v.copy() for k, v in neutral.points.items()}
        frames = {k: v.copy() for k, v in neutral.frames.items()}
        hands: dict[str, np.ndarray] = {}
        down_w = np.array([0.0, -1.0, 0.0])
        for h in ("left", "right"):
            sfx = "_l" if h == "left" else "_r"
            sh_w = self._shoulder(base, facing, lean, h)
            sx = 1.0 if h == "left" else -1.0
            pole = 0.8 * (rot @ np.array([sx, 0, 0])) + 0.6 * down_w
            el_w, hand_w = two_link_ik(sh_w, targets[h], self.dims.upper_arm, self.dims.forearm + GRIP, pole)
            fore = _unit(hand_w - el_w)
            wr_w = el_w + self.dims.forearm * fore
            palm = (joints[h] - hand_w) if w > 0.5 else (rot @ np.array([-sx, 0, 0]))
            palm = _unit(palm - np.dot(palm, fore) * fore)
            frame_w = np.column_stack([_unit(_cross(fore, palm)), fore, palm])
            pts["elbow" + sfx] = inv @ (el_w - base)
            pts["wrist" + sfx] = inv @ (wr_w - base)
            frames["hand" + sfx] = inv @ frame_w
            hands[h] = hand_w
        self._legs(pts, frames, base, facing, inv, kneel, walked if walking else None)
        # a hand holds a landmark only where the IK put it on the limb
        holds = {h: self.landmark_name(n) for h, n in names.items()
                 if w >= 1.0 and float(np.linalg.norm(hands[h] - targets[h])) < 0.02}
        return CaregiverFrame(Skeleton(pts, frames), rot, base, hands, holds, targets, w >= 1.0)

    def _legs(self, pts, frames, base, facing, inv, kneel: bool, walked: float | None) -> None:
        """Legs built in the world (vertical, kneeling or mid-stride) and stored in the body frame."""
        d = self.dims
        up = np.array([0.0, 1.0, 0.0])
        lat = _cross(up, facing)  # caregiver's left
        for sx, sfx in ((1.0, "_l"), (-1.0, "_r")):
            hip_w = base + sx * d.hip_half * lat
            if kneel:
                knee_w = np.array([hip_w[0], 0.06, hip_w[2]]) + 0.08 * facing
                ank_w = knee_w - d.shank * facing + np.array([0, 0.03, 0])
                sole_down, toe_dir = up.copy(), -facing
            else:
                swing = 0.0 if walked is None else math.radians(22.0) * math.sin(2 * math.pi * walked / 1.3)
                swing *= sx
                thigh = math.cos(swing) * -up + math.sin(swing) * facing
                bend = max(0.0, swing) * 0.8
                shank = math.cos(swing - bend) * -up + math.sin(swing - bend) * facing
                knee_w = hip_w + d.thigh * thigh
                ank_w = knee_w + d.shank * shank
                sole_down, toe_dir = -up, facing
            foot_frame = np.column_stack([_unit(_cross(sole_down, toe_dir)), sole_down, toe_dir])
            b = ank_w + d.ankle_height * sole_down
            world = {"hip": hip_w, "knee": knee_w, "ankle": ank_w,
                     "heel": b - d.heel_back * toe_dir, "toe": b + d.toe_forward * toe_dir}
            for k, v in world.items():
                pts[k + sfx] = inv @ (v - base)
            frames["foot" + sfx] = inv @ foot_frame

    # --- drawing and truth ----------------------------------------------------------------------

    def shapes(self, frame: CaregiverFrame, look: Appearance) -> list[Shape]:
        return figure_shapes(frame.skeleton, frame.rotation, frame.origin, look)


def shapes_bbox(shapes: list[Shape], camera: Camera) -> list[int] | None:
    """Pixel bounding box [x0, y0, x1, y1] of ``shapes`` seen by ``camera`` (clipped to the image,
    None if none is visible); ellipsoids and capsules by their exact extent across the view."""
    right, down = camera.rotation[0], camera.rotation[1]
    pts = []
    for s in shapes:
        if isinstance(s, Ellipsoid):
            m = s.axes * s.radii  # columns scaled
            er = float(np.linalg.norm(m.T @ right))
            ed = float(np.linalg.norm(m.T @ down))
            for a, b in ((er, 0), (-er, 0), (0, ed), (0, -ed)):
                pts.append(s.center + a * right + b * down)
        elif isinstance(s, Capsule):
            for c in (s.a, s.b):
                for a, b in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                    pts.append(c + s.radius * (a * right + b * down))
    if not pts:
        return None
    uv, z = camera.project(np.array(pts))
    ok = z > 0.05
    if not ok.any():
        return None
    uv = uv[ok]
    x0, y0 = np.floor(uv.min(0))
    x1, y1 = np.ceil(uv.max(0))
    x0, x1 = max(0, int(x0)), min(camera.width - 1, int(x1))
    y0, y1 = max(0, int(y0)), min(camera.height - 1, int(y1))
    if x0 >= x1 or y0 >= y1:
        return None
    return [x0, y0, x1, y1]


def covered_landmarks(points: dict[str, np.ndarray], shapes: list[Shape], camera: Camera,
                      margin: float = 0.02) -> list[str]:
    """Names of ``points`` (world) that ``shapes`` hide from ``camera``: a caregiver surface on the
    line of sight, more than ``margin`` in front of the point (joint centres lie inside the limb)."""
    out = []
    o = camera.position
    bounds = [s.bound() for s in shapes]
    for name, p in points.items():
        d = p - o
        dist = float(np.linalg.norm(d))
        d = d / dist
        for s, (c, r) in zip(shapes, bounds, strict=True):
            oc = c - o
            along = float(np.dot(oc, d))
            if along < 0 or np.linalg.norm(oc - along * d) > r:
                continue
            t, _ = _intersect(s, o, d[None, :])
            if np.isfinite(t[0]) and t[0] < dist - margin:
                out.append(name)
                break
    return out
