"""Where the figure is, what surrounds it, and where the camera stands (pure numpy).

World frame: metres, ``Y`` up, floor at ``y = 0``. Standing and seated figures face world ``+Z``;
the lying figure is supine on a bed along world ``X`` with its head toward ``-X``.

Views are set in the **body frame**: the camera orbits the figure's long axis at azimuth
``phi`` (0 = in front of the patient, +90 = at the patient's left). Standing or seated that is
an ordinary horizontal orbit. Lying, "front" puts the camera above the patient looking down at
their front (a laptop or phone on an over-bed arm); "side" is beside the bed at the level of the
body, and "oblique" halfway between (above and beside the bed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from .camera import Camera, focal_from_fov, look_at, pitch
from .raster import Box, Canvas, Ellipsoid, Lighting, Shape
from .skeleton import DEFAULT_DIMS, BodyDims

HFOV_DEG = 60.0  # a typical laptop webcam
SEAT_HEIGHT = 0.44
BED_HEIGHT = 0.55  # top of the mattress
LYING_BODY_LIFT = 0.1  # hip joint centres above the mattress, supine


def place_body(posture: str, dims: BodyDims = DEFAULT_DIMS) -> tuple[np.ndarray, np.ndarray]:
    """Rotation (3, 3) and origin (3,) putting the body frame in the world:
    ``world = rotation @ body + origin``."""
    leg = dims.thigh + dims.shank + dims.ankle_height + 0.02
    if posture == "standing":
        return np.eye(3), np.array([0.0, leg, 0.0])
    if posture == "seated":
        # thighs on the seat: hip joint centres a thigh's half-thickness above it
        return np.eye(3), np.array([0.0, SEAT_HEIGHT + 0.075, 0.0])
    if posture == "lying":
        # body Y (cranial) -> world -X, body Z (anterior) -> world +Y, body X (left) -> world -Z
        rot = np.column_stack([[0.0, 0, -1], [-1.0, 0, 0], [0.0, 1, 0]])
        return rot, np.array([0.0, BED_HEIGHT + LYING_BODY_LIFT, 0.0])
    raise ValueError(f"posture must be standing, seated or lying, got {posture!r}")


def furniture(posture: str, dims: BodyDims = DEFAULT_DIMS) -> list[Shape]:
    """A stool for sitting (seat under the buttocks, behind the knees), a bed with a pillow for
    lying; nothing for standing."""
    wood = (60, 95, 140)
    if posture == "seated":
        top = SEAT_HEIGHT
        x0, x1, z0, z1 = -0.22, 0.22, -0.2, 0.22
        out: list[Shape] = [Box(np.array([x0, top - 0.04, z0]), np.array([x1, top, z1]), wood)]
        for x in (x0 + 0.02, x1 - 0.06):
            for z in (z0 + 0.02, z1 - 0.06):
                out.append(
                    Box(np.array([x, 0.0, z]), np.array([x + 0.04, top - 0.04, z + 0.04]), wood)
                )
        return out
    if posture == "lying":
        top = BED_HEIGHT
        head_x = -(dims.shoulder_height + 0.35)
        foot_x = dims.thigh + dims.shank + 0.25
        sheet = (225, 225, 230)
        frame = (90, 90, 100)
        return [
            Box(np.array([head_x - 0.1, top - 0.2, -0.45]), np.array([foot_x, top, 0.45]), sheet),
            Box(np.array([head_x - 0.15, 0.0, -0.48]), np.array([foot_x + 0.05, top - 0.2, 0.48]),
                frame),
            Ellipsoid(
                np.array([-(dims.shoulder_height + 0.2), top + 0.02, 0.0]),
                np.eye(3),
                np.array([0.14, 0.06, 0.3]),
                (240, 240, 245),
            ),
        ]
    return []


@dataclass(frozen=True)
class Look:
    """Scene appearance for one clip: background kind, colours and lighting."""

    background: str
    wall: tuple[float, float, float]
    floor: tuple[float, float, float]
    lighting: Lighting
    seed: int


def scene_look(background: str, seed: int) -> Look:
    """Reproducible background colours and lighting for ``seed``."""
    if background not in ("plain", "textured", "room"):
        raise ValueError(f"background must be plain, textured or room, got {background!r}")
    rng = np.random.default_rng(seed + 1000)
    wall = tuple(float(v) for v in rng.uniform(150, 215, 3))
    floor = tuple(float(v) for v in rng.uniform(70, 130, 3))
    key = (float(rng.uniform(-0.7, 0.7)), float(rng.uniform(0.5, 1.0)), float(rng.uniform(0.4, 0.9)))
    light = Lighting(
        key=key,
        key_strength=float(rng.uniform(0.55, 0.75)),
        ambient=float(rng.uniform(0.3, 0.4)),
        exposure=float(rng.uniform(0.9, 1.1)),
    )
    return Look(background, wall, floor, light, seed)  # type: ignore[arg-type]


def camera_lighting(light: Lighting, camera: Camera) -> Lighting:
    """``light`` with its directions read in the camera's frame (x right, y up, z toward the
    camera) and turned into world directions: the side the camera sees is always lit, as with a
    lamp or window behind a webcam."""
    flip = np.diag([1.0, -1.0, -1.0])  # (right, up, back) -> camera (right, down, forward)

    def to_world(v: tuple[float, float, float]) -> tuple[float, float, float]:
        w = camera.rotation.T @ (flip @ np.asarray(v, float))
        return (float(w[0]), float(w[1]), float(w[2]))

    return replace(light, key=to_world(light.key), fill=to_world(light.fill))


def background_canvas(camera: Camera, look: Look, posture: str) -> Canvas:
    """The static part of a frame: background, room and furniture, with depth."""
    h, w = camera.height, camera.width
    base = np.empty((h, w, 3), np.float32)
    base[:] = look.wall
    if look.background == "textured":
        rng = np.random.default_rng(look.seed + 2000)
        small = rng.normal(0, 1, (12, 16, 3)).astype(np.float32)
        small[..., 1:] = 0.2 * small[..., 1:] + 0.8 * small[..., :1]  # mostly light and shade
        blobs = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        fine = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 1.5)
        base += 25 * blobs + 12 * fine[..., None]
    canvas = Canvas(camera, base)
    if look.background == "room":
        # a floor and a wall behind the figure, perpendicular to the camera's horizontal heading
        heading = camera.rotation[2].copy()
        heading[1] = 0
        if np.linalg.norm(heading) < 1e-6:  # looking straight down: the floor is the backdrop
            heading = np.array([0.0, 0.0, -1.0])
        heading /= np.linalg.norm(heading)
        # axis-aligned room: the wall across the dominant horizontal axis of the view
        axis = 0 if abs(heading[0]) > abs(heading[2]) else 2
        wall_at = camera.position[axis] + math.copysign(
            abs(camera.position[axis]) + 2.5, heading[axis]
        )
        big = 30.0
        floor = Box(np.array([-big, -0.1, -big]), np.array([big, 0.0, big]), look.floor)
        lo, hi = np.array([-big, 0.0, -big]), np.array([big, 4.0, big])
        lo[axis], hi[axis] = wall_at - 0.05, wall_at + 0.05
        wall = Box(lo, hi, look.wall)
        board_lo, board_hi = lo.copy(), hi.copy()
        board_hi[1] = 0.1
        shift = -0.02 * math.copysign(1.0, heading[axis])
        board_lo[axis] += shift
        board_hi[axis] += shift
        flat = Lighting(key=(0.0, 1.0, 0.0), key_strength=0.35, ambient=0.65)
        canvas.draw([floor, wall, Box(board_lo, board_hi, (235, 235, 235))], flat)
        # soft light fall-off and a vignette: photo-like rather than flat colour
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        r2 = ((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2
        canvas.color *= (1.05 - 0.6 * r2)[..., None]
    canvas.draw(furniture(posture), camera_lighting(look.lighting, camera))
    return canvas


def view_azimuth(view: str | float, required: str, side: str) -> float:
    """Camera azimuth in degrees about the body's long axis (0 = in front, +90 = patient's left).

    ``view``: "front", "side" (the moving side), "oblique" (45° toward the moving side) or a
    number of degrees away from the exercise's ``required`` view ("front"/"side"), turning toward
    the front for a side view and toward the moving side for a front view.
    """
    s = 1.0 if side == "left" else -1.0
    if view == "front":
        return 0.0
    if view == "side":
        return 90.0 * s
    if view == "oblique":
        return 45.0 * s
    if isinstance(view, str):
        try:
            view = float(view)
        except ValueError:
            raise ValueError(
                f"view must be front, side, oblique or a number of degrees, got {view!r}"
            ) from None
    v = float(view)
    return s * (90.0 - v) if required == "side" else s * v


def place_camera(
    points_body: np.ndarray,
    rotation: np.ndarray,
    origin: np.ndarray,
    azimuth: float,
    width: int,
    height: int,
    *,
    distance: float | None = None,
    height_m: float | None = None,
    tilt: float = 0.0,
    margin: float = 0.08,
) -> Camera:
    """A camera orbiting the figure at ``azimuth`` degrees (see module docstring), aimed at the
    centre of ``points_body`` (every point the figure reaches during the clip, body frame).

    ``distance`` (m) defaults to the nearest that keeps all points inside the frame with
    ``margin`` (fraction of each side). ``height_m`` moves the camera to that world height, still
    aimed at the figure; ``tilt`` then pitches it (degrees, positive up).
    """
    world = points_body @ rotation.T + origin
    target = (world.min(0) + world.max(0)) / 2
    a = math.radians(azimuth)
    direction = rotation @ np.array([math.sin(a), 0.0, math.cos(a)])
    # image "up": world up, unless looking down on a lying patient (then the patient's left side,
    # so the body lies across the wide image)
    up = np.array([0.0, 1.0, 0.0])
    if abs(direction[1]) > 0.95:
        up = rotation @ np.array([1.0, 0.0, 0.0])
    focal = focal_from_fov(width, HFOV_DEG)

    def make(dist: float) -> Camera:
        pos = target + dist * direction
        if height_m is not None:
            pos = pos.copy()
            pos[1] = height_m
        rot = look_at(pos, target, up)
        if tilt:
            rot = pitch(rot, tilt)
        return Camera(pos, rot, focal, width, height)

    if distance is not None:
        return make(distance)

    def fits(cam: Camera) -> bool:
        uv, z = cam.project(world)
        if np.any(z <= 0.05):
            return False
        mx, my = margin * width, margin * height
        return bool(
            np.all(uv[:, 0] >= mx) and np.all(uv[:, 0] <= width - 1 - mx)
            and np.all(uv[:, 1] >= my) and np.all(uv[:, 1] <= height - 1 - my)
        )

    lo, hi = 0.3, 30.0
    for _ in range(40):
        mid = (lo + hi) / 2
        if fits(make(mid)):
            hi = mid
        else:
            lo = mid
    return make(hi)


def add_noise(img: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian sensor noise, ``std`` in 8-bit levels; returns uint8."""
    if std <= 0:
        return img
    noisy = img.astype(np.float32) + rng.normal(0.0, std, img.shape).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)
