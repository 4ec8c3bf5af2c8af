"""A realistic body: the MakeHuman CC0 base mesh, posed by linear blend skinning (numpy).

The same :class:`~romcam.render.skeleton.JointAngles` that drive the procedural figure drive this
one. :func:`pose_mesh` takes the posed procedural :class:`~romcam.render.skeleton.Skeleton` and
turns every MakeHuman bone so that its segment's frame matches the procedural segment's frame in
the body frame:

- upper arm: the humerus (shoulder -> elbow) and the elbow's flexion plane (so the humerus' twist,
  i.e. shoulder rotation, follows the procedural forearm plane); forearm: its axis and the palm
  normal (palms forward at neutral); hand: straight on the forearm, palm as the procedural hand;
- thigh and shank: their axes and the knee's flexion plane; foot: sole and toe direction;
- neck and head: the procedural head rotation, about the mid-shoulder point (where the catalog's
  neck angles pivot), spread over the three neck bones (1/4, 1/2, 3/4) and the head (all of it);
- trunk, pelvis, clavicles and shoulder girdle: rigid, like the procedural trunk.

Rest to neutral, units and axes: ``base.obj`` is in decimetres, ``Y`` up, ``Z`` toward the face,
``X`` toward the body's left, in an A-pose (arms ~40° out, elbows bent ~47° with the forearms
forward, legs ~8° apart). Vertices are scaled to metres and shifted so the origin is midway
between the hip joint centres, which makes them body-frame coordinates; posing from the rest pose
straight to a target frame includes the step to romcam's neutral (arms at the sides, elbows
straight, palms forward, legs straight, feet forward). :func:`makehuman_dims` gives the mesh's own
segment lengths as :class:`~romcam.render.skeleton.BodyDims`, so ``pose_skeleton(pose, dims)``
puts the procedural joints where the skinned mesh's joints are; the angles, which are all the
truth file holds, do not depend on the lengths.

Skinned twists are spread as MakeHuman's skeleton intends: ``upperarm01``/``upperleg01`` take half
of their segment's twist, ``lowerarm01`` a third and ``lowerarm02`` two thirds of the forearm's.

Assets (read in place, CC0): ``<repo>/../shared/media/makehuman`` or ``$ROMCAM_MAKEHUMAN``.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.spatial.transform import Rotation

from .figure import Appearance
from .skeleton import BodyDims, Skeleton

ASSET_ENV = "ROMCAM_MAKEHUMAN"
ASSET_FILES = ("base.obj", "default.mhskel", "default_weights.mhw")
DM = 0.1  # base.obj units (decimetres) -> metres
WAIST = 0.10  # trousers below this height above the hip joint centres, metres

# vertex regions (clothing)
SKIN, SHIRT, TROUSERS, SHOES, HAIR, EYE_WHITE, IRIS, BROW, LIPS = range(9)


def asset_dir() -> Path:
    """Where the MakeHuman assets live: ``$ROMCAM_MAKEHUMAN`` or ``<repo>/../shared/media/makehuman``."""
    env = os.environ.get(ASSET_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "media" / "makehuman"


def check_assets(directory: Path | None = None) -> Path:
    """The asset directory, or ``FileNotFoundError`` naming the first missing file."""
    d = Path(directory) if directory is not None else asset_dir()
    for name in ASSET_FILES:
        p = d / name
        if not p.is_file():
            raise FileNotFoundError(
                f"MakeHuman asset missing: {p}. The MakeHuman body (body='makehuman') needs the CC0 "
                f"assets in ../shared/media/makehuman beside the repository ({', '.join(ASSET_FILES)}); "
                f"set ${ASSET_ENV} to point elsewhere."
            )
    return d


@dataclass(frozen=True)
class MakeHumanModel:
    """The preprocessed mesh, skeleton and weights, in the body frame (metres).

    ``verts`` (V, 3) rest positions of every vertex (helper cubes included: the skeleton's joints
    are means of helper-cube vertices); ``tris`` (T, 3) the drawn triangles (the ``body`` group and
    the eyes); ``weights`` (V, B) normalised skin weights; ``bones``/``parent``/``heads``/``tails``
    the skeleton (parent -1 for the root; heads and tails (B, 3)); ``joints`` joint name -> vertex
    indices; ``region`` (V,) clothing region; ``sleeve`` (V,) position along the arm (0 shoulder,
    1 elbow, 2 wrist; -1 off the arm); ``rest`` the rest frames of the posed segments.
    """

    verts: np.ndarray
    tris: np.ndarray
    weights: np.ndarray
    bones: tuple[str, ...]
    parent: np.ndarray
    heads: np.ndarray
    tails: np.ndarray
    joints: dict[str, np.ndarray]
    region: np.ndarray
    sleeve: np.ndarray
    rest: dict[str, np.ndarray]
    dims: BodyDims
    sparse_weights: sparse.csr_matrix

    def bone(self, name: str) -> int:
        return self.bones.index(name)

    def joint(self, name: str, verts: np.ndarray | None = None) -> np.ndarray:
        """A joint's position (mean of its vertices) in ``verts`` (default: the rest pose)."""
        v = self.verts if verts is None else verts
        return v[self.joints[name]].mean(0)


# --- loading ---------------------------------------------------------------------------------------


def _read_obj(path: Path, groups: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices (V, 3), triangles (T, 3) of the named groups (quads split), and the group index of
    each triangle."""
    verts: list[list[float]] = []
    faces: list[list[int]] = []
    gids: list[int] = []
    group = None
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("v "):
                verts.append([float(x) for x in line.split()[1:4]])
            elif line.startswith("g "):
                group = line.split()[1]
            elif line.startswith("f ") and group in groups:
                idx = [int(t.split("/")[0]) - 1 for t in line.split()[1:]]
                for k in range(1, len(idx) - 1):
                    faces.append([idx[0], idx[k], idx[k + 1]])
                    gids.append(groups.index(group))
    return np.asarray(verts, float), np.asarray(faces, np.int64), np.asarray(gids, np.int64)


def _frame(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Orthonormal frame (columns): ``a``, ``b`` made perpendicular to ``a``, and their cross."""
    a = a / np.linalg.norm(a)
    b = b - np.dot(b, a) * a
    b = b / np.linalg.norm(b)
    return np.column_stack([a, b, np.cross(a, b)])


def _perp(v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    out = v - np.dot(v, axis) * axis
    return out / np.linalg.norm(out)


@functools.lru_cache(maxsize=2)
def _load(directory: str) -> MakeHumanModel:
    d = Path(directory)
    verts, tris, gids = _read_obj(d / "base.obj", ("body", "helper-l-eye", "helper-r-eye"))
    skel = json.loads((d / "default.mhskel").read_text(encoding="utf-8"))
    wdoc = json.loads((d / "default_weights.mhw").read_text(encoding="utf-8"))["weights"]
    joints = {k: np.asarray(v, np.int64) for k, v in skel["joints"].items()}
    # body frame: metres, origin midway between the hip joint centres; the axes already agree
    hip_mid = (verts[joints["upperleg01.L____head"]].mean(0) + verts[joints["upperleg01.R____head"]].mean(0)) / 2
    verts = (verts - hip_mid) * DM

    # bones in parent-before-child order
    bdefs = skel["bones"]
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        par = bdefs[name]["parent"]
        if par:
            visit(par)
        seen.add(name)
        order.append(name)

    for name in sorted(bdefs):
        visit(name)
    index = {n: i for i, n in enumerate(order)}
    parent = np.array([index[bdefs[n]["parent"]] if bdefs[n]["parent"] else -1 for n in order])
    heads = np.array([verts[joints[bdefs[n]["head"]]].mean(0) for n in order])
    tails = np.array([verts[joints[bdefs[n]["tail"]]].mean(0) for n in order])

    weights = np.zeros((len(verts), len(order)))
    for name, pairs in wdoc.items():
        if name in index and pairs:
            arr = np.asarray(pairs, float)
            weights[arr[:, 0].astype(np.int64), index[name]] = arr[:, 1]
    total = weights.sum(1, keepdims=True)
    weights = np.where(total > 0, weights / np.where(total > 0, total, 1), 0)
    weights[total[:, 0] == 0, index["root"]] = 1.0

    def J(name: str) -> np.ndarray:
        return verts[joints[name]].mean(0)

    rest: dict[str, np.ndarray] = {}
    dims_vals: dict[str, float] = {}
    for side, suf in (("left", ".L"), ("right", ".R")):
        s = 1.0 if side == "left" else -1.0
        sh, el, wr = J(f"upperarm01{suf}____head"), J(f"lowerarm01{suf}____head"), J(f"wrist{suf}____head")
        u, f = el - sh, wr - el
        rest["upperarm" + suf] = _frame(u, f)  # humerus, elbow flexion direction
        mid_knuckle = J(f"finger3-1{suf}____head")
        hand_y = mid_knuckle - wr
        radial = _perp(J(f"finger2-1{suf}____head") - J(f"finger5-1{suf}____head"), hand_y)
        hand_x = -s * radial  # romcam's hand frame: x = fore x palm, radial side = -s * x
        palm = np.cross(hand_x, hand_y / np.linalg.norm(hand_y))
        rest["lowerarm" + suf] = _frame(f, palm)
        hy = hand_y / np.linalg.norm(hand_y)
        rest["hand" + suf] = np.column_stack([hand_x, hy, np.cross(hand_x, hy)])
        hp, kn, an = J(f"upperleg01{suf}____head"), J(f"lowerleg01{suf}____head"), J(f"foot{suf}____head")
        ant = np.array([0.0, 0.0, 1.0])
        rest["thigh" + suf] = _frame(kn - hp, ant)
        rest["shank" + suf] = _frame(an - kn, ant)
        foot_v = np.flatnonzero(weights[:, [index[n] for n in order if n.startswith(("foot", "toe"))
                                             and n.endswith(suf)]].sum(1) > 0.5)
        fv = verts[foot_v]
        fw = J(f"foot{suf}____tail") - an
        fw[1] = 0.0
        fw /= np.linalg.norm(fw)
        sole_down = np.array([0.0, -1.0, 0.0])
        rest["foot" + suf] = np.column_stack([np.cross(sole_down, fw), sole_down, fw])
        if side == "left":
            along = (fv - an) @ fw
            hand_tip = J(f"finger3-3{suf}____tail")
            dims_vals = dict(
                hip_half=float(abs(hp[0])),
                shoulder_half=float(abs(sh[0])),
                shoulder_height=float(sh[1]),
                upper_arm=float(np.linalg.norm(u)),
                forearm=float(np.linalg.norm(f)),
                hand=float(np.linalg.norm(hand_tip - wr)),
                thigh=float(np.linalg.norm(kn - hp)),
                shank=float(np.linalg.norm(an - kn)),
                ankle_height=float(an[1] - fv[:, 1].min()),
                heel_back=float(-along.min()),
                toe_forward=float(along.max()),
            )
    # head: ears from the temporal helpers are not marked; keep the procedural head proportions
    dims = BodyDims(**dims_vals)

    region, sleeve = _regions(verts, weights, order, index, joints, tris, gids, rest)
    return MakeHumanModel(
        verts=verts,
        tris=tris,
        weights=weights,
        bones=tuple(order),
        parent=parent,
        heads=heads,
        tails=tails,
        joints=joints,
        region=region,
        sleeve=sleeve,
        rest=rest,
        dims=dims,
        sparse_weights=sparse.csr_matrix(weights),
    )


def _regions(verts, weights, order, index, joints, tris, gids, rest) -> tuple[np.ndarray, np.ndarray]:
    """Clothing region of every vertex, from the bones that move it and its rest position."""

    def group(pred) -> np.ndarray:
        cols = [index[n] for n in order if pred(n)]
        return weights[:, cols].sum(1)

    def base(n: str) -> str:
        return n.split(".")[0].rstrip("0123456789-")

    g_leg = group(lambda n: base(n) in ("pelvis", "upperleg", "lowerleg"))
    g_foot = group(lambda n: base(n) in ("foot", "toe", "metatarsal"))
    g_arm = group(lambda n: base(n) in ("upperarm", "lowerarm", "shoulder", "clavicle"))
    g_hand = group(lambda n: base(n) in ("wrist", "finger", "metacarpal"))
    g_trunk = group(lambda n: base(n) in ("root", "spine", "breast"))
    g_head = group(lambda n: not (n.startswith(("pelvis", "upperleg", "lowerleg", "foot", "toe", "metatarsal",
                                                "upperarm", "lowerarm", "shoulder", "clavicle", "wrist",
                                                "finger", "metacarpal", "root", "spine", "breast"))))
    stack = np.stack([g_leg, g_foot, g_arm, g_hand, g_trunk, g_head], 1)
    kind = np.argmax(stack, 1)
    y = verts[:, 1]
    region = np.full(len(verts), SKIN, np.int8)
    region[(kind == 0) | (kind == 4)] = SHIRT
    region[((kind == 0) | (kind == 4)) & (y < WAIST)] = TROUSERS
    region[kind == 2] = SHIRT
    region[kind == 1] = SHOES
    # along the arm: 0 at the shoulder, 1 at the elbow, 2 at the wrist (rest pose)
    sleeve = np.full(len(verts), -1.0)
    for suf in (".L", ".R"):
        sh = verts[joints[f"upperarm01{suf}____head"]].mean(0)
        el = verts[joints[f"lowerarm01{suf}____head"]].mean(0)
        wr = verts[joints[f"wrist{suf}____head"]].mean(0)
        on = ((kind == 2) | (kind == 3)) & (np.sign(verts[:, 0]) == (1 if suf == ".L" else -1))
        ua, fa = el - sh, wr - el
        t_u = (verts[on] - sh) @ ua / (ua @ ua)
        t_f = (verts[on] - el) @ fa / (fa @ fa)
        sleeve[on] = np.where(t_u < 1.0, t_u, 1.0 + np.clip(t_f, 0, None))
    # the head: hair on the scalp (above the brow at the front, down to the nape at the back)
    head_v = kind == 5
    top = y[head_v].max()
    hz = verts[:, 2]
    face_front = hz[head_v].max()
    scalp = head_v & (
        (y > top - 0.055)
        | ((y > top - 0.13) & (hz < face_front - 0.085))
        | ((y > top - 0.2) & (hz < face_front - 0.15))
    )
    region[scalp] = HAIR
    # the face's features, located from the head's rest geometry (eyes, brows, lips)
    eye_tris = tris[gids > 0]
    eye_v = np.unique(eye_tris)
    region[eye_v] = EYE_WHITE
    for sgn in (1, -1):
        ev = eye_v[np.sign(verts[eye_v, 0]) == sgn]
        c = verts[ev].mean(0)
        front = verts[ev, 2] > c[2] + 0.45 * (verts[ev, 2].max() - c[2])
        region[ev[front]] = IRIS
        brow = (
            head_v
            & (np.abs(verts[:, 0] - c[0]) < 0.026)
            & (verts[:, 1] > c[1] + 0.014)
            & (verts[:, 1] < c[1] + 0.024)
            & (hz > c[2] - 0.01)
        )
        region[brow & (region == SKIN)] = BROW
    return region, sleeve


def load_model(directory: Path | None = None) -> MakeHumanModel:
    """The MakeHuman body, loaded and preprocessed once per process (``FileNotFoundError`` if the
    assets are absent)."""
    d = check_assets(directory)
    return _load(str(d.resolve()))


def makehuman_dims(directory: Path | None = None) -> BodyDims:
    """The MakeHuman body's segment lengths and joint offsets (metres), as :class:`BodyDims`."""
    return load_model(directory).dims


# --- posing ----------------------------------------------------------------------------------------


def _twist_split(r_parent: np.ndarray, r_full: np.ndarray, axis: np.ndarray, fraction: float) -> np.ndarray:
    """A rotation between ``r_parent`` and ``r_full`` taking ``fraction`` of the twist about ``axis``
    (the segment's posed axis) but all of the swing: the swing takes ``r_parent``'s image of the
    rest axis onto ``axis`` by the shortest arc."""
    rest_axis = r_full.T @ axis
    a0 = r_parent @ rest_axis
    v = np.cross(a0, axis)
    sn, cs = np.linalg.norm(v), float(np.dot(a0, axis))
    swing = np.eye(3) if sn < 1e-12 else Rotation.from_rotvec(v / sn * np.arctan2(sn, cs)).as_matrix()
    partial = swing @ r_parent
    twist = r_full @ partial.T  # about ``axis``
    rv = Rotation.from_matrix(twist).as_rotvec()
    return Rotation.from_rotvec(fraction * rv).as_matrix() @ partial


def bone_rotations(model: MakeHumanModel, sk: Skeleton) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Global rotation (B, 3, 3) of every bone (rest -> posed, body frame) for the procedural pose
    ``sk``, and the bones that pivot about a fixed point instead of following their parent
    (index -> pivot)."""
    p, fr = sk.points, sk.frames
    n = len(model.bones)
    explicit: dict[str, np.ndarray] = {}
    eye = np.eye(3)
    for suf, ssuf in ((".L", "_l"), (".R", "_r")):
        # arm
        u = p["elbow" + ssuf] - p["shoulder" + ssuf]
        u /= np.linalg.norm(u)
        hand = fr["hand" + ssuf]
        hinge = hand[:, 0]  # = u x p, the elbow's flexion axis (also for a straight elbow)
        r_upper = _frame(u, np.cross(hinge, u)) @ model.rest["upperarm" + suf].T
        fore, palm = hand[:, 1], hand[:, 2]
        r_fore = _frame(fore, palm) @ model.rest["lowerarm" + suf].T
        r_hand = hand @ model.rest["hand" + suf].T
        explicit[f"upperarm01{suf}"] = _twist_split(eye, r_upper, u, 0.5)
        explicit[f"upperarm02{suf}"] = r_upper
        # the forearm's twist (pronation/supination) grows toward the wrist
        explicit[f"lowerarm01{suf}"] = _twist_split(r_upper, r_fore, fore, 1 / 3)
        explicit[f"lowerarm02{suf}"] = _twist_split(r_upper, r_fore, fore, 2 / 3)
        explicit[f"wrist{suf}"] = r_hand
        # leg
        foot = fr["foot" + ssuf]  # columns: knee hinge axis (ut x pt), sole-down, toe direction
        knee_axis = foot[:, 0]
        ut = p["knee" + ssuf] - p["hip" + ssuf]
        ut /= np.linalg.norm(ut)
        us = p["ankle" + ssuf] - p["knee" + ssuf]
        us /= np.linalg.norm(us)
        r_thigh = _frame(ut, np.cross(knee_axis, ut)) @ model.rest["thigh" + suf].T
        r_shank = _frame(us, np.cross(knee_axis, us)) @ model.rest["shank" + suf].T
        explicit[f"upperleg01{suf}"] = _twist_split(eye, r_thigh, ut, 0.5)
        explicit[f"upperleg02{suf}"] = r_thigh
        explicit[f"lowerleg01{suf}"] = r_shank
        explicit[f"lowerleg02{suf}"] = r_shank
        explicit[f"foot{suf}"] = foot @ model.rest["foot" + suf].T
    # neck and head about the mid-shoulder point
    r_head = fr["head"]
    rv = Rotation.from_matrix(r_head).as_rotvec()
    pivots: dict[int, np.ndarray] = {}
    mid_sh = (model.joint("upperarm01.L____head") + model.joint("upperarm01.R____head")) / 2
    for name, frac in (("neck01", 0.25), ("neck02", 0.5), ("neck03", 0.75), ("head", 1.0)):
        explicit[name] = Rotation.from_rotvec(frac * rv).as_matrix()
        pivots[model.bone(name)] = mid_sh
    rots = np.empty((n, 3, 3))
    for i, name in enumerate(model.bones):
        if name in explicit:
            rots[i] = explicit[name]
        elif model.parent[i] >= 0:
            rots[i] = rots[model.parent[i]]
        else:
            rots[i] = eye
    return rots, pivots


def bone_transforms(model: MakeHumanModel, sk: Skeleton) -> np.ndarray:
    """(B, 3, 4) affine transforms ``x -> R x + t`` (rest -> posed, body frame) of every bone."""
    rots, pivots = bone_rotations(model, sk)
    n = len(model.bones)
    posed_heads = np.empty((n, 3))
    out = np.empty((n, 3, 4))
    for i in range(n):
        par = model.parent[i]
        h = model.heads[i]
        if i in pivots:
            c = pivots[i]
            posed_heads[i] = c + rots[i] @ (h - c)
        elif par >= 0:
            posed_heads[i] = out[par, :, :3] @ h + out[par, :, 3]
        else:
            posed_heads[i] = h
        out[i, :, :3] = rots[i]
        out[i, :, 3] = posed_heads[i] - rots[i] @ h
    return out


def pose_mesh(sk: Skeleton, model: MakeHumanModel | None = None) -> np.ndarray:
    """Every vertex of the MakeHuman body posed like ``sk`` (V, 3), body frame, metres."""
    m = load_model() if model is None else model
    T = bone_transforms(m, sk).reshape(len(m.bones), 12)
    b = np.asarray(m.sparse_weights @ T)
    v = m.verts
    return np.stack([b[:, 4 * r] * v[:, 0] + b[:, 4 * r + 1] * v[:, 1] + b[:, 4 * r + 2] * v[:, 2] + b[:, 4 * r + 3]
                     for r in range(3)], 1)


def vertex_colors(model: MakeHumanModel, look: Appearance) -> np.ndarray:
    """Albedo (V, 3) BGR of every vertex: skin, shirt (long or short sleeves), trousers, shoes,
    hair and the face's features."""
    reg = model.region
    cols = np.empty((len(reg), 3))
    cols[:] = look.skin
    cols[reg == SHIRT] = look.shirt
    cols[reg == TROUSERS] = look.trousers
    cols[reg == SHOES] = look.shoes
    cols[reg == HAIR] = look.hair
    cols[reg == EYE_WHITE] = (225, 228, 232)
    cols[reg == IRIS] = (45, 35, 25)
    cols[reg == BROW] = np.asarray(look.hair) * 0.8 + np.asarray(look.skin) * 0.2
    cuff = 1.45 if look.short_sleeves else 1.85  # along the arm: shoulder 0, elbow 1, wrist 2
    sleeved = (model.sleeve >= 0) & (model.sleeve < cuff)
    cols[sleeved] = look.shirt
    cols[(model.sleeve >= cuff)] = look.skin
    return cols


def extent_points(model: MakeHumanModel, skeletons: list[Skeleton]) -> np.ndarray:
    """Body-frame points bounding the posed mesh over ``skeletons`` (a subsample of vertices)."""
    used = np.unique(model.tris)[::7]
    return np.vstack([pose_mesh(sk, model)[used] for sk in skeletons])
