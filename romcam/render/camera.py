"""Pinhole camera: world points -> pixels, and pixels -> viewing rays (pure numpy).

World frame: metres, ``Y`` up, floor at ``y = 0``. The camera frame is OpenCV's: ``x`` right,
``y`` down, ``z`` forward along the optical axis; pixel ``(u, v)`` has ``u`` to the right and ``v``
down, the principal point at the image centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Camera:
    """A pinhole camera.

    ``position``: (3,) centre of projection, world metres. ``rotation``: (3, 3) whose **rows** are
    the camera's x (right), y (down) and z (forward) axes in world coordinates, so that
    ``cam = rotation @ (world - position)``. ``focal``: focal length in pixels.
    """

    position: np.ndarray
    rotation: np.ndarray
    focal: float
    width: int
    height: int

    @property
    def center(self) -> tuple[float, float]:
        """Principal point (pixels): the image centre."""
        return (self.width - 1) / 2.0, (self.height - 1) / 2.0

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points (..., 3) -> camera-frame points (..., 3), metres."""
        return (np.asarray(points, float) - self.position) @ self.rotation.T

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points (..., 3) -> (pixels (..., 2), depth (...) in metres along the axis)."""
        c = self.to_camera(points)
        z = c[..., 2]
        cx, cy = self.center
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = np.stack([cx + self.focal * c[..., 0] / z, cy + self.focal * c[..., 1] / z], -1)
        return uv, z

    def ray_directions(self) -> np.ndarray:
        """Unit world-frame ray direction through every pixel centre, shape (H, W, 3)."""
        cx, cy = self.center
        u = (np.arange(self.width) - cx) / self.focal
        v = (np.arange(self.height) - cy) / self.focal
        uu, vv = np.meshgrid(u, v)
        d = np.stack([uu, vv, np.ones_like(uu)], -1)
        d /= np.linalg.norm(d, axis=-1, keepdims=True)
        return d @ self.rotation  # camera -> world: rows of R are the camera axes


def focal_from_fov(width: int, hfov_deg: float) -> float:
    """Focal length in pixels for a horizontal field of view in degrees."""
    return (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)


def look_at(
    position: np.ndarray, target: np.ndarray, up: np.ndarray | None = None
) -> np.ndarray:
    """Camera rotation (rows x right, y down, z forward) looking from ``position`` at ``target``.

    ``up`` (default world +Y) is the world direction that should appear up in the image; if it is
    parallel to the view direction, world Z is used instead.
    """
    fwd = np.asarray(target, float) - np.asarray(position, float)
    fwd /= np.linalg.norm(fwd)
    up = np.array([0.0, 1.0, 0.0]) if up is None else np.asarray(up, float)
    if abs(float(np.dot(up / np.linalg.norm(up), fwd))) > 0.999:
        up = np.array([0.0, 0.0, 1.0])
    right = np.cross(fwd, up)
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    return np.stack([right, down, fwd])


def pitch(rotation: np.ndarray, deg: float) -> np.ndarray:
    """Tilt a camera rotation up by ``deg`` degrees (positive looks up) about its own x axis."""
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    # In camera coordinates, looking up rotates forward (z) toward -y.
    r = np.array([[1.0, 0, 0], [0, c, s], [0, -s, c]])
    return r @ rotation
