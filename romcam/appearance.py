"""What a person's clothes look like: a small colour signature of the trunk, to tell two people apart.

Pure (numpy and OpenCV on an image array, no I/O). Where two people's torsos overlap in the image —
a caregiver walking behind a seated patient, or leaning over a bed — landmark positions alone cannot
say who is who; the colour of their clothes can. :func:`signature` summarises the pixels of a band
down the middle of the trunk (mid-shoulder to mid-hip, narrow enough to stay on the body seen from
the front or from the side) as a normalised colour histogram: hue × saturation for coloured pixels,
brightness alone for greys, black and white, whose hue means nothing. :func:`distance` is the
Hellinger distance between two signatures: 0 the same colours, 1 nothing in common.
"""

from __future__ import annotations

import numpy as np

from .landmarks import INDEX, Pose

HUE_BINS = 12
SAT_EDGES = (50, 140)  # saturation (0-255): below the first a pixel counts as grey; two chromatic bands above
GREY_BINS = 4  # brightness bins for the grey pixels
DARK = 40  # value (0-255) below which every pixel counts as black, whatever its hue
BAND_FROM, BAND_TO = 0.15, 0.85  # the band runs over this part of mid-shoulder → mid-hip ...
BAND_HALF_WIDTH = 0.12  # ... this many trunk lengths either side of the line (a side view's trunk is ~0.4 deep)
MIN_PIXELS = 30  # fewer pixels than this on the band: no signature (too small or off the image)
SIZE = HUE_BINS * 2 + GREY_BINS

_LS, _RS, _LH, _RH = (INDEX[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip"))


def trunk_band(pose: Pose) -> np.ndarray | None:
    """The band down the middle of the trunk as a (4, 2) polygon in image pixels, or None when the
    trunk has no length in the image."""
    p = pose.image[:, :2]
    top = 0.5 * (p[_LS] + p[_RS])
    bottom = 0.5 * (p[_LH] + p[_RH])
    axis = bottom - top
    length = float(np.hypot(axis[0], axis[1]))
    if not np.isfinite(length) or length < 4.0:
        return None
    normal = np.array([-axis[1], axis[0]]) / length * (BAND_HALF_WIDTH * length)
    a, b = top + BAND_FROM * axis, top + BAND_TO * axis
    return np.array([a - normal, a + normal, b + normal, b - normal])


def signature(rgb: np.ndarray, pose: Pose) -> np.ndarray | None:
    """The colour signature (``SIZE`` floats summing to 1) of ``pose``'s trunk in the RGB uint8 image
    ``rgb``, or None when too little of the trunk band lies in the image."""
    import cv2

    band = trunk_band(pose)
    if band is None:
        return None
    height, width = rgb.shape[:2]
    x0, y0 = np.floor(band.min(axis=0)).astype(int)
    x1, y1 = np.ceil(band.max(axis=0)).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillConvexPoly(mask, np.round(band - (x0, y0)).astype(np.int32), 1)
    hsv = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2HSV)[mask.astype(bool)]
    if len(hsv) < MIN_PIXELS:
        return None
    return histogram(hsv)


def histogram(hsv: np.ndarray) -> np.ndarray:
    """The signature of (N, 3) OpenCV HSV pixels (hue 0-179, saturation and value 0-255)."""
    h = hsv[:, 0].astype(np.int64)
    s = hsv[:, 1].astype(np.int64)
    v = hsv[:, 2].astype(np.int64)
    grey = (s < SAT_EDGES[0]) | (v < DARK)
    out = np.zeros(SIZE, dtype=np.float64)
    colour_bin = (h[~grey] * HUE_BINS // 180) * 2 + (s[~grey] >= SAT_EDGES[1])
    np.add.at(out, colour_bin, 1.0)
    grey_v = np.where(v[grey] < DARK, 0, 1 + (v[grey] - DARK) * (GREY_BINS - 1) // (256 - DARK))
    np.add.at(out, 2 * HUE_BINS + np.minimum(grey_v, GREY_BINS - 1), 1.0)
    return out / out.sum()


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Hellinger distance between two signatures: 0 identical colours, 1 no colour in common."""
    bc = float(np.sum(np.sqrt(a * b)))
    return float(np.sqrt(max(0.0, 1.0 - bc)))
