"""Which person a tap on the picture is on: the point against each person's body as drawn.

Pure (numpy). A caregiver taps the patient on the live video (``POST /live/subject``, ``--subject X,Y``);
where a lying patient and a caregiver leaning over the bed overlap, the person meant is the one whose
drawn body the finger landed on — not the one whose torso centre is nearest (a leaning caregiver's
torso lies by the patient's knees). The body is what the video draws (:data:`romcam.landmarks.LIMB_LINES`
and the torso's outline, from the landmarks seen: :data:`romcam.landmarks.DRAWN_VISIBILITY`), plus the
head's line (ear, nose, ear). :func:`tapped` chooses:

1. a tap on someone's limb or head — within ``LIMB_HALF_WIDTH`` of their torso length of its line, about
   the limb's half-width on the person — is on a limb: the person whose drawn line is nearest wins. A
   limb drawn across another person's torso lies in front of it (the patient's legs before the caregiver
   behind the bed): a tap on the patient's knee over the caregiver's trunk is the patient's;
2. else a tap inside someone's torso (its outline, filled) is theirs (inside two: the nearer torso centre);
3. else, off every body, the person whose drawn line is nearest.

Every comparison between people is in **pixels**: the tap is where the caregiver put a finger on the
picture, and pixels are what she sees. In each person's torso lengths the person nearer the camera
(larger in the picture) would reach further, size overriding an explicit choice; the torso length only
says how wide a limb is, to tell a tap on a limb from one beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .landmarks import DRAWN_VISIBILITY, INDEX, LIMB_LINES, TORSO_OUTLINE, Pose, torso_length

LIMB_HALF_WIDTH = 0.1  # torso lengths either side of a limb's line: a forearm ~4 cm on a ~50 cm torso
HEAD_LINES = (("left_ear", "nose"), ("nose", "right_ear"))

_LIMBS = np.array([(INDEX[a], INDEX[b]) for a, b in LIMB_LINES + HEAD_LINES])
_OUTLINE = np.array([INDEX[n] for n in TORSO_OUTLINE])
_TORSO_EDGES = np.stack([_OUTLINE, np.roll(_OUTLINE, -1)], axis=1)


class TapHit(NamedTuple):
    """Where a point lies on one person's drawn body (image pixels)."""

    line: float  # to the nearest line drawn on the body: limbs, head, the torso's outline
    on_limb: bool  # within a limb's half-width of a limb's or the head's line
    in_torso: bool  # inside the torso's outline (all four corners seen)
    to_torso_centre: float  # to the centre of the torso's four corners


def _segment_distances(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distances from the point ``p`` (2,) to the segments ``a``–``b`` ((n, 2) each)."""
    ab = b - a
    length2 = np.einsum("ij,ij->i", ab, ab)
    t = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.where(length2 > 0, length2, 1.0), 0.0, 1.0)
    return np.linalg.norm(a + t[:, None] * ab - p, axis=1)


def _inside(p: np.ndarray, polygon: np.ndarray) -> bool:
    """The point ``p`` lies inside ``polygon`` ((n, 2), in order round it): even-odd rule."""
    inside = False
    for (x0, y0), (x1, y1) in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
        if (y0 > p[1]) != (y1 > p[1]) and p[0] < x0 + (p[1] - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside


def tap_hit(pose: Pose, x: float, y: float) -> TapHit:
    """Where the point (``x``, ``y``), image pixels, lies on ``pose``'s drawn body. A person with no line
    seen is measured on all their landmarks (the model still places them)."""
    p = np.array([x, y], dtype=float)
    xy = pose.image[:, :2]
    seen = pose.visibility > DRAWN_VISIBILITY
    limbs, edges = _LIMBS[seen[_LIMBS].all(axis=1)], _TORSO_EDGES[seen[_TORSO_EDGES].all(axis=1)]
    if not len(limbs) and not len(edges):
        limbs, edges = _LIMBS, _TORSO_EDGES
    limb = float(_segment_distances(p, xy[limbs[:, 0]], xy[limbs[:, 1]]).min()) if len(limbs) else np.inf
    torso = float(_segment_distances(p, xy[edges[:, 0]], xy[edges[:, 1]]).min()) if len(edges) else np.inf
    return TapHit(line=min(limb, torso), on_limb=limb <= LIMB_HALF_WIDTH * torso_length(pose),
                  in_torso=len(edges) == len(_TORSO_EDGES) and _inside(p, xy[_OUTLINE]),
                  to_torso_centre=float(np.linalg.norm(xy[_OUTLINE].mean(axis=0) - p)))


def tapped(hits: Sequence[TapHit]) -> int:
    """The index of the person tapped among ``hits`` (one per person, non-empty): module docstring."""
    if not any(h.on_limb for h in hits) and any(h.in_torso for h in hits):
        return min((i for i, h in enumerate(hits) if h.in_torso), key=lambda i: hits[i].to_torso_centre)
    return min(range(len(hits)), key=lambda i: hits[i].line)
