"""The figure's body as shapes: a posed skeleton in, world-space ellipsoids and capsules out.

Clothes (shirt, trousers, shoes), skin and hair colours come from an :class:`Appearance`; the
head carries a face (eyes with irises, brows, nose, mouth, ears) and hair, because MediaPipe's
person detector keys on a face and shoulders. Sizes are metres; colours BGR 0-255.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .raster import Capsule, Ellipsoid, Shape
from .skeleton import Skeleton

Color = tuple[float, float, float]

SKIN_TONES: tuple[Color, ...] = (
    (170, 200, 240),  # light
    (140, 175, 225),
    (110, 150, 200),
    (80, 115, 165),
    (55, 80, 120),  # dark
)
SHIRTS: tuple[Color, ...] = (
    (170, 90, 40),  # blue
    (60, 60, 170),  # red
    (70, 140, 60),  # green
    (40, 160, 220),  # mustard
    (120, 60, 110),  # purple
    (200, 200, 205),  # light grey
)
TROUSERS: tuple[Color, ...] = (
    (90, 55, 35),  # navy-ish
    (50, 50, 55),  # charcoal
    (70, 110, 140),  # khaki
    (110, 80, 50),  # denim
)
HAIR: tuple[Color, ...] = ((30, 35, 45), (40, 60, 100), (60, 110, 170), (170, 170, 175))
SHOES: tuple[Color, ...] = ((225, 225, 225), (40, 70, 150), (30, 30, 30), (60, 170, 230))


@dataclass(frozen=True)
class Appearance:
    """Colours (BGR) and sleeve length of the figure."""

    skin: Color = SKIN_TONES[1]
    shirt: Color = SHIRTS[0]
    trousers: Color = TROUSERS[1]
    shoes: Color = SHOES[0]
    socks: Color = (235, 235, 235)
    hair: Color = HAIR[0]
    short_sleeves: bool = False

    @staticmethod
    def from_seed(seed: int) -> Appearance:
        """A reproducible random appearance; clothes always contrast with skin and each other."""
        rng = np.random.default_rng(seed)
        skin = SKIN_TONES[rng.integers(len(SKIN_TONES))]
        shirts = [c for c in SHIRTS if _dist(c, skin) > 90]
        shirt = shirts[rng.integers(len(shirts))]
        trousers_ok = [c for c in TROUSERS if _dist(c, shirt) > 80 and _dist(c, skin) > 60]
        trousers = (trousers_ok or list(TROUSERS))[rng.integers(len(trousers_ok or TROUSERS))]
        shoes_ok = [c for c in SHOES if _dist(c, trousers) > 100]
        return Appearance(
            skin=skin,
            shirt=shirt,
            trousers=trousers,
            shoes=shoes_ok[rng.integers(len(shoes_ok))],
            hair=HAIR[rng.integers(len(HAIR))],
            short_sleeves=bool(rng.integers(2)),
        )


def _dist(a: Color, b: Color) -> float:
    return float(np.linalg.norm(np.subtract(a, b)))


def _shade(c: Color, f: float) -> Color:
    return (c[0] * f, c[1] * f, c[2] * f)


def figure_shapes(
    sk: Skeleton, rotation: np.ndarray, origin: np.ndarray, look: Appearance
) -> list[Shape]:
    """World-space shapes of the posed figure.

    ``rotation`` (3, 3) and ``origin`` (3,) place the body frame in the world:
    ``world = rotation @ body + origin``.
    """
    R = rotation

    def w(p: np.ndarray) -> np.ndarray:
        return R @ np.asarray(p, float) + origin

    def ell(center_body, axes_body, radii, color, gloss=0.0) -> Ellipsoid:
        return Ellipsoid(w(center_body), R @ axes_body, np.asarray(radii, float), color, gloss)

    def cap(a_body, b_body, r, color) -> Capsule:
        return Capsule(w(a_body), w(b_body), r, color)

    p = sk.points
    eye3 = np.eye(3)
    shapes: list[Shape] = []
    # Trunk: pelvis (trousers), abdomen and chest (shirt), shoulder girdle.
    shapes.append(ell([0, 0.02, -0.01], eye3, [0.165, 0.125, 0.11], look.trousers))
    shapes.append(ell([0, 0.2, 0.0], eye3, [0.15, 0.16, 0.1], look.shirt))
    shapes.append(ell([0, 0.35, -0.005], eye3, [0.175, 0.16, 0.112], look.shirt))
    shapes.append(cap([0.14, 0.465, -0.015], [-0.14, 0.465, -0.015], 0.06, look.shirt))
    for suf in ("_l", "_r"):
        sh, el, wr = p["shoulder" + suf], p["elbow" + suf], p["wrist" + suf]
        shapes.append(ell(sh + [0, 0.012, 0], eye3, [0.058, 0.058, 0.058], look.shirt))
        if look.short_sleeves:
            mid = sh + 0.55 * (el - sh)
            shapes.append(cap(sh, mid, 0.05, look.shirt))
            shapes.append(cap(mid, el, 0.042, look.skin))
            shapes.append(cap(el, wr, 0.036, look.skin))
        else:
            shapes.append(cap(sh, el, 0.047, look.shirt))
            shapes.append(cap(el, wr - 0.25 * (wr - el), 0.04, look.shirt))
            shapes.append(cap(wr - 0.3 * (wr - el), wr, 0.034, look.skin))
        hf = sk.frames["hand" + suf]
        shapes.append(ell(wr + 0.075 * hf[:, 1], hf, [0.043, 0.085, 0.02], look.skin))
        # thumb: toward the body's front at neutral, i.e. along the hand's width axis
        side = 1.0 if suf == "_l" else -1.0
        th0 = wr + 0.03 * hf[:, 1] + side * 0.03 * hf[:, 0]
        shapes.append(cap(th0, th0 + 0.05 * hf[:, 1] + side * 0.02 * hf[:, 0], 0.011, look.skin))
        # Legs: trousers to the ankle, shoes.
        hp, kn, an = p["hip" + suf], p["knee" + suf], p["ankle" + suf]
        shapes.append(cap(hp, kn, 0.078, look.trousers))
        shapes.append(cap(kn, an, 0.056, look.trousers))
        ff = sk.frames["foot" + suf]  # columns: lateral, sole-down, toe
        heel, toe = p["heel" + suf], p["toe" + suf]
        # shoe: a heel cup and a longer toe box over a pale sole, so heel and toe read apart
        sole = (heel + toe) / 2 - 0.004 * ff[:, 1]
        shapes.append(ell(sole, ff, [0.047, 0.012, 0.127], (205, 210, 215)))
        shapes.append(ell(heel + 0.04 * ff[:, 2] - 0.035 * ff[:, 1], ff, [0.045, 0.04, 0.06],
                          look.shoes, gloss=0.2))
        shapes.append(ell((heel + toe) / 2 + 0.025 * ff[:, 2] - 0.03 * ff[:, 1], ff,
                          [0.046, 0.034, 0.11], look.shoes, gloss=0.2))
        shapes.append(cap(an - 0.02 * ff[:, 1], an + 0.02 * ff[:, 1], 0.042, look.socks))
    shapes.extend(_head_shapes(sk, w, R, look))
    return shapes


def _head_shapes(sk: Skeleton, w, R: np.ndarray, look: Appearance) -> list[Shape]:
    """Neck, head, hair and face, oriented by the head frame."""
    H = sk.frames["head"]
    c = sk.points["head"]

    def at(v) -> np.ndarray:  # head-frame offset from the head centre -> body frame
        return c + H @ np.asarray(v, float)

    def ell(v, radii, color, gloss=0.0) -> Ellipsoid:
        return Ellipsoid(w(at(v)), R @ H, np.asarray(radii, float), color, gloss)

    out: list[Shape] = []
    mid_sh = sk.points["mid_shoulder"]
    neck_top = at([0, -0.06, -0.025])
    out.append(Capsule(w(mid_sh + [0, -0.02, -0.01]), w(neck_top), 0.052, look.skin))
    out.append(ell([0, 0, 0], [0.078, 0.108, 0.095], look.skin))  # cranium and face
    out.append(ell([0, -0.05, 0.018], [0.062, 0.06, 0.075], look.skin))  # jaw and chin
    out.append(ell([0, 0.028, -0.02], [0.083, 0.098, 0.097], look.hair))  # hair
    for x in (-1.0, 1.0):
        out.append(ell([x * 0.077, -0.008, -0.012], [0.013, 0.03, 0.02], _shade(look.skin, 0.9)))
        out.append(ell([x * 0.031, 0.012, 0.078], [0.014, 0.009, 0.01], (235, 235, 235)))
        out.append(ell([x * 0.031, 0.012, 0.086], [0.0065, 0.0065, 0.004], (40, 30, 20)))
        brow_a, brow_b = at([x * 0.014, 0.033, 0.088]), at([x * 0.048, 0.034, 0.079])
        out.append(Capsule(w(brow_a), w(brow_b), 0.0045, look.hair))
    out.append(ell([0, -0.012, 0.095], [0.012, 0.022, 0.016], _shade(look.skin, 0.95)))  # nose
    out.append(ell([0, -0.05, 0.087], [0.022, 0.0065, 0.009], (70, 70, 150)))  # mouth
    return out
