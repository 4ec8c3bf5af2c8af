"""A limb's direction from the pose model's own person mask: the thigh's long axis, the shin, the foot's
sole. Pure numpy, no I/O.

The model's hip and knee landmarks sit off the joints' centres now and then (on the rendered
MakeHuman legs the knee landmark at the back of a bent knee read knee flexion 5-14° short, the hip
landmark above the hip joint read hip flexion 5-8° short), and a line between two misplaced joints
is tilted. A goniometer's arm follows the limb's long axis, which the limb's outline shows: across
the middle of the segment drawn between the landmarks (from 20 % to 80 % of its length) the person
mask is read along cross-sections; each cross-section's centre is the middle of the run of person
pixels through the drawn line, and the line fitted through those centres is the axis.

The outline is only the limb's own where nothing else of the person lies beside it, so a
cross-section is left out when:

- its run goes past :data:`MAX_HALF_WIDTH` of the torso's length either side of the drawn line, or
  ends at the picture's edge (the trunk, or the picture's edge, not the limb's);
- another of the person's drawn limb segments (or the trunk's line) crosses it away from the drawn
  line (more than :data:`SHARED_LINE_FRACTION` of the run's width from it). Seen from the side, the
  far thigh beside the near one, partly overlapping, widens the run on one side: the procedural
  hip flexion's 15-40° read 8-12° off until those sections were left out. Two thighs that coincide in
  the picture make one outline, and their sections stay;
- it is much wider than the rest (:data:`MAX_WIDTH_OVER_MEDIAN` × their median).

A segment with fewer than :data:`MIN_SECTIONS` sections left has no axis, nor has one whose axis
turns more than :data:`MAX_TURN_DEG` from the drawn segment (another limb's outline).

The foot is measured along its sole (:func:`sole_axis`), as a goniometer's arm is laid along it: the
model's heel and toe landmarks wander over the foot (on the rendered bodies the toe landmark sits
above the sole and the heel → toe line moves 0.6-0.9× as far as the foot), and the foot is a wedge,
thick at the ankle, so the midline of its outline tilts from the sole (on the MakeHuman body it
read the ankles 15-25° off). Across the drawn heel → toe line, from heel to toe
(:data:`SOLE_SECTIONS`), the run of person pixels ends on the sole's side (the side away from the
knee, which the top of the foot faces); the line fitted through those ends is the sole's. A section
is left out as above when its run goes past the reach or ends at the picture's edge: near the heel
the run on the top's side climbs the shank. Another foot's drawn segments crossing a section do not
leave it out: a patient's feet lie side by side in bed, and that rule dropped good sections (lying
ankles 2.4° → 5.6° mean error).

The shank is measured along the shin, its front edge (:func:`shin_axis`): its midline tilts from the
shin where the calf bulges behind and the foot meets it (on the rendered bodies the ankles read 2-8°
worse with it), while the tibia's front edge runs straight from the knee to the ankle. The front is the
side of the drawn knee → ankle line that the toe lies on. Its cross-sections are left out as the
thigh's are, and also where the run is wider than :data:`MAX_SHANK_OVER_THIGH` times the thigh's: seated
with the knee bent past 90°, the near shank swings back past the far one, which hangs down ahead of it,
the two make one run, and its front edge is the far shank's (the model draws the far leg's landmarks on
the near leg there, so no drawn segment crosses those sections). So a shank is read only where the
thigh above it was.

Not the arms (:data:`AXIS_SEGMENTS`): a hanging arm seen from the side lies on the trunk's outline.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .landmarks import INDEX, LIMB_SEGMENTS, MASK_ON_PERSON, SEGMENT_INDEX

SECTIONS = np.linspace(0.2, 0.8, 13)  # where along the drawn segment the cross-sections lie
MAX_HALF_WIDTH = 0.3  # torso lengths: a run wider than this either side of the drawn line is not one limb's
MAX_WIDTH_OVER_MEDIAN = 1.5  # a cross-section this much wider than the median is another body part alongside
MIN_SECTIONS = 5  # cross-sections that must be the limb's own
MIN_LENGTH_PX = 8.0  # a segment drawn shorter than this has no axis to find
MAX_TURN_DEG = 20.0  # an axis further than this from the drawn segment is another limb's outline
# another drawn segment crossing a cross-section within this share of the run's width of the drawn line
# lies along the same outline (two thighs that coincide in the picture)
SHARED_LINE_FRACTION = 0.15

SOLE_SECTIONS = np.linspace(0.0, 1.0, 21)  # where along the drawn heel → toe line the sole is read
# a cross-section of the shank wider than this times the thigh's median width is both legs side by side: on
# the rendered bodies one shank's sections were 0.47-0.72 of it (10th to 90th percentile, standing knee
# flexion, side view). 1.0 let the other shank through on three rendered clips, 0.9 on one (procedural right
# standing knee flexion, 95th percentile 3.7° → 9.5°); 0.7 left fewer sections (docs/angles.md)
MAX_SHANK_OVER_THIGH = 0.8


def _segment(side: str, a: str, b: str) -> int:
    return SEGMENT_INDEX[frozenset((INDEX[f"{side}_{a}"], INDEX[f"{side}_{b}"]))]


# the segments whose axis is read: the thighs, the feet along their soles, the shanks along the shin (see the
# module's docstring)
THIGH_SEGMENTS: tuple[int, ...] = tuple(_segment(s, "hip", "knee") for s in ("left", "right"))
SOLE_SEGMENTS: tuple[int, ...] = tuple(_segment(s, "heel", "foot_index") for s in ("left", "right"))
SHANK_SEGMENTS: tuple[int, ...] = tuple(_segment(s, "knee", "ankle") for s in ("left", "right"))
AXIS_SEGMENTS: tuple[int, ...] = THIGH_SEGMENTS + SOLE_SEGMENTS + SHANK_SEGMENTS
_KNEE_OF = dict(zip(SOLE_SEGMENTS, (INDEX["left_knee"], INDEX["right_knee"]), strict=True))  # the knee above each foot
_TOE_OF = dict(zip(SHANK_SEGMENTS, (INDEX["left_foot_index"], INDEX["right_foot_index"]), strict=True))
_THIGH_OF = dict(zip(SHANK_SEGMENTS, THIGH_SEGMENTS, strict=True))


def limb_axes(xy: np.ndarray, mask: np.ndarray, torso: float) -> np.ndarray:
    """Per :data:`LIMB_SEGMENTS`, the unit image direction (proximal → distal) of the limb's long
    axis in the person ``mask`` (H, W, 0..1), from the landmarks ``xy`` (33, 2) pixels, for a person
    whose torso is ``torso`` pixels long; NaN rows for segments outside :data:`AXIS_SEGMENTS` and
    where the mask gives no axis."""
    out = np.full((len(LIMB_SEGMENTS), 2), np.nan)
    if not math.isfinite(torso) or torso <= 0:
        return out
    reach = max(2, int(round(MAX_HALF_WIDTH * torso)))
    trunk = (0.5 * (xy[INDEX["left_hip"]] + xy[INDEX["right_hip"]]),
             0.5 * (xy[INDEX["left_shoulder"]] + xy[INDEX["right_shoulder"]]))
    for j in SOLE_SEGMENTS:
        ia, ib = LIMB_SEGMENTS[j]
        axis = sole_axis(xy[ia], xy[ib], xy[_KNEE_OF[j]], mask, reach)
        if axis is not None:
            out[j] = axis
    thigh_width: dict[int, float] = {}
    for j in THIGH_SEGMENTS:
        ia, ib = LIMB_SEGMENTS[j]
        axis, width = _segment_axis(xy[ia], xy[ib], mask, reach, _others(xy, j, trunk))
        if axis is not None:
            out[j] = axis
            thigh_width[j] = width
    for j in SHANK_SEGMENTS:  # only where the thigh above was read: its width bounds the shank's
        width = thigh_width.get(_THIGH_OF[j])
        if width is None:
            continue
        ia, ib = LIMB_SEGMENTS[j]
        axis = shin_axis(xy[ia], xy[ib], xy[_TOE_OF[j]], mask, reach, _others(xy, j, trunk), width)
        if axis is not None:
            out[j] = axis
    return out


def _others(xy: np.ndarray, j: int, trunk: tuple[np.ndarray, np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The person's other limb segments and trunk line, as drawn, beside segment ``j``: a cross-section
    they cross is not that limb's own."""
    ia, ib = LIMB_SEGMENTS[j]
    return [(xy[p], xy[q]) for p, q in LIMB_SEGMENTS if not {p, q} & {ia, ib}] + [trunk]


def shin_axis(knee: np.ndarray, ankle: np.ndarray, toe: np.ndarray, mask: np.ndarray, reach: int,
              others: list[tuple[np.ndarray, np.ndarray]], thigh_width: float) -> np.ndarray | None:
    """The unit direction (knee → ankle) of the shin in ``mask``: the shank's outline on the side of the
    line ``knee``–``ankle`` that the ``toe`` lies on (its front), read across the middle of the shank; None
    when it cannot be told. Cross-sections are left out as the thigh's are, and where the run is wider
    than :data:`MAX_SHANK_OVER_THIGH` times the thigh's median width (``thigh_width`` pixels): there the
    other leg lies alongside (see the module's docstring)."""
    runs = _runs(knee, ankle, mask, reach, SECTIONS)
    front = _plus_side(runs, toe, ankle) if runs is not None else None
    if runs is None or front is None:
        return None
    ok = _not_crossed(runs, runs.ok & (runs.widths <= MAX_SHANK_OVER_THIGH * thigh_width), others)
    if int(ok.sum()) < MIN_SECTIONS:
        return None
    ok &= runs.widths <= MAX_WIDTH_OVER_MEDIAN * float(np.median(runs.widths[ok]))
    if int(ok.sum()) < MIN_SECTIONS:
        return None
    return _fit((runs.hi if front else runs.lo)[ok], runs.u)


def segment_axis(a: np.ndarray, b: np.ndarray, mask: np.ndarray, reach: int,
                 others: list[tuple[np.ndarray, np.ndarray]] | None = None) -> np.ndarray | None:
    """The unit direction (from ``a`` toward ``b``) of the limb's axis through the centres of its
    cross-sections in ``mask``, each read up to ``reach`` pixels either side of the line ``a``–``b``;
    None when it cannot be told (see the module's docstring)."""
    return _segment_axis(a, b, mask, reach, others)[0]


def _segment_axis(a: np.ndarray, b: np.ndarray, mask: np.ndarray, reach: int,
                  others: list[tuple[np.ndarray, np.ndarray]] | None = None) -> tuple[np.ndarray | None, float]:
    """:func:`segment_axis`, and the median width in pixels of the cross-sections it was read on."""
    runs = _runs(a, b, mask, reach, SECTIONS)
    if runs is None:
        return None, math.nan
    lo, hi = runs.lo, runs.hi
    ok = _not_crossed(runs, runs.ok, others)
    if int(ok.sum()) < MIN_SECTIONS:
        return None, math.nan
    mids_a = 0.5 * (lo[ok] + hi[ok])
    widths_a = runs.widths[ok]
    own = widths_a <= MAX_WIDTH_OVER_MEDIAN * float(np.median(widths_a))
    if int(own.sum()) < MIN_SECTIONS:
        return None, math.nan
    return _fit(mids_a[own], runs.u), float(np.median(widths_a[own]))


def sole_axis(heel: np.ndarray, toe: np.ndarray, shin: np.ndarray, mask: np.ndarray, reach: int
              ) -> np.ndarray | None:
    """The unit direction (heel → toe) of the sole's edge in ``mask``: the foot's outline on the side of
    the line ``heel``–``toe`` away from ``shin`` (a point up the leg, which the top of the foot faces),
    read across the foot from heel to toe (:data:`SOLE_SECTIONS`), each cross-section up to ``reach``
    pixels either side; None when it cannot be told (see the module's docstring)."""
    runs = _runs(heel, toe, mask, reach, SOLE_SECTIONS)
    top = _plus_side(runs, shin, heel) if runs is not None else None
    if runs is None or top is None:
        return None
    return _fit((runs.lo if top else runs.hi)[runs.ok], runs.u)


class _Runs(NamedTuple):
    """The runs of person pixels across a drawn line, one per cross-section (K of them)."""

    u: np.ndarray  # the line's unit direction
    n: np.ndarray  # its unit normal
    centres: np.ndarray  # (K, 2) where the cross-sections meet the line
    lo: np.ndarray  # (K, 2) each run's end on the ``-n`` side
    hi: np.ndarray  # (K, 2) and on the ``+n`` side
    ok: np.ndarray  # (K,) whether the section is the limb's own
    widths: np.ndarray  # (K,) the runs' widths in pixels


def _runs(a: np.ndarray, b: np.ndarray, mask: np.ndarray, reach: int, fractions: np.ndarray) -> _Runs | None:
    """The runs of person pixels in ``mask`` across the line ``a``–``b`` at ``fractions`` of its length,
    each read up to ``reach`` pixels either side; None when fewer than :data:`MIN_SECTIONS` are the
    limb's own. A section is not the limb's own where the line is off the person, or its run goes past the
    reach (the trunk or another limb alongside), or ends at the picture's edge rather than the limb's."""
    d = np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64)
    length = math.hypot(float(d[0]), float(d[1]))
    if not np.isfinite(d).all() or length < MIN_LENGTH_PX:
        return None
    u = d / length
    n = np.array([-u[1], u[0]])
    h, w = mask.shape[:2]
    centres = np.asarray(a, dtype=np.float64)[None, :] + fractions[:, None] * d[None, :]  # (K, 2)
    steps = np.arange(-reach - 1, reach + 2)  # one step past the reach each side: a run that reaches it is too wide
    pts = centres[:, None, :] + steps[None, :, None] * n[None, None, :]  # (K, S, 2)
    x = np.rint(pts[..., 0]).astype(np.int64)
    y = np.rint(pts[..., 1]).astype(np.int64)
    inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
    on = np.zeros(x.shape, dtype=bool)
    on[inside] = mask[y[inside], x[inside]] >= MASK_ON_PERSON
    mid = reach + 1  # the drawn line's column
    left = ~on[:, :mid][:, ::-1]  # off-person steps going outward from the line, each side
    right = ~on[:, mid + 1:]
    first = mid - 1 - np.argmax(left, axis=1)  # the first off-person column on each side
    last = mid + 1 + np.argmax(right, axis=1)
    rows = np.arange(len(fractions))
    ok = (on[:, mid] & left.any(axis=1) & right.any(axis=1) & inside[rows, first] & inside[rows, last])
    if int(ok.sum()) < MIN_SECTIONS:
        return None
    lo = centres + steps[first + 1][:, None] * n[None, :]  # each run's two ends
    hi = centres + steps[last - 1][:, None] * n[None, :]
    return _Runs(u, n, centres, lo, hi, ok, (last - first - 1).astype(np.float64))


def _plus_side(runs: _Runs, point: np.ndarray, origin: np.ndarray) -> bool | None:
    """Whether ``point`` lies on the ``+n`` side of the line read (``hi``'s side; ``lo`` is on the ``-n`` side),
    from ``origin`` on that line; None when either is not a finite point."""
    d = np.asarray(point, dtype=np.float64) - np.asarray(origin, dtype=np.float64)
    return float(np.dot(d, runs.n)) > 0 if np.isfinite(d).all() else None


def _fit(points: np.ndarray, u: np.ndarray) -> np.ndarray | None:
    """The unit direction (along ``u``) of the line through ``points``; None when it turns more than
    :data:`MAX_TURN_DEG` from ``u`` (another limb's outline)."""
    _, _, vt = np.linalg.svd(points - points.mean(axis=0))
    axis = vt[0] if float(np.dot(vt[0], u)) >= 0 else -vt[0]
    if math.degrees(math.acos(min(1.0, float(np.dot(axis, u))))) > MAX_TURN_DEG:
        return None
    return axis


def _not_crossed(runs: _Runs, ok: np.ndarray, others: list[tuple[np.ndarray, np.ndarray]] | None) -> np.ndarray:
    """``ok`` without the cross-sections that one of the segments ``others`` crosses away from the line read."""
    if not others or not ok.any():
        return ok
    ends = np.concatenate([runs.lo[ok], runs.hi[ok]])
    low, high = ends.min(axis=0), ends.max(axis=0)
    near = [(p, q) for p, q in others  # only segments whose box meets the sections' can cross them
            if np.all(np.minimum(p, q) <= high) and np.all(np.maximum(p, q) >= low)]
    return ok & ~_crossed(runs.lo, runs.hi, runs.centres, near) if near else ok


def _crossed(lo: np.ndarray, hi: np.ndarray, line: np.ndarray, others: list[tuple[np.ndarray, np.ndarray]]
             ) -> np.ndarray:
    """For each cross-section ``lo[k]``–``hi[k]`` ((K, 2) each), whether any of the segments ``others``
    crosses it away from ``line[k]`` (where the segment being read crosses it)."""
    p = np.array([o[0] for o in others], dtype=np.float64)  # (M, 2)
    q = np.array([o[1] for o in others], dtype=np.float64)

    def orient(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        return (b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1]) - (b[..., 1] - a[..., 1]) * (c[..., 0] - a[..., 0])

    L, H = lo[:, None, :], hi[:, None, :]
    P, Q = p[None, :, :], q[None, :, :]
    d1, d2 = orient(L, H, P), orient(L, H, Q)
    d3, d4 = orient(P, Q, L), orient(P, Q, H)
    hit = (d1 * d2 <= 0) & (d3 * d4 <= 0) & np.isfinite(P).all(axis=-1) & np.isfinite(Q).all(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.clip(np.nan_to_num(d3 / (d3 - d4), nan=0.5), 0.0, 1.0)
    x = L + t[..., None] * (H - L)
    width = np.linalg.norm(H - L, axis=-1)
    near = np.linalg.norm(x - line[:, None, :], axis=-1) <= SHARED_LINE_FRACTION * width
    return (hit & ~near).any(axis=1)
