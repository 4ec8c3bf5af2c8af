"""Ray-cast shapes into a z-buffered, shaded image (numpy only).

Each shape is intersected with the camera rays of the pixels inside its projected bounding box, so
occlusion is exact per pixel (a limb in front of the trunk, the far arm behind it, the stool's seat
under the thigh) rather than per shape as a painter's algorithm would give: interpenetrating body
parts (the arm against the chest, the thigh in the pelvis) sort wrongly when ordered by centre.

Shapes: :class:`Ellipsoid`, :class:`Capsule` (a cylinder with hemispherical ends) and :class:`Box`
(axis-aligned in the world). Positions in world metres; colours BGR floats 0-255.

Triangle meshes (:func:`draw_mesh`, the MakeHuman body) are rasterised instead, vectorised over
triangles into the same colour and depth buffers (depth = distance along the pixel's ray), so a
mesh and ray-cast shapes hide each other correctly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .camera import Camera


@dataclass(frozen=True)
class Ellipsoid:
    center: np.ndarray  # (3,)
    axes: np.ndarray  # (3, 3) columns: the ellipsoid's unit axes in the world
    radii: np.ndarray  # (3,) metres along those axes
    color: tuple[float, float, float]
    gloss: float = 0.0

    def bound(self) -> tuple[np.ndarray, float]:
        return self.center, float(np.max(self.radii))


@dataclass(frozen=True)
class Capsule:
    a: np.ndarray
    b: np.ndarray
    radius: float
    color: tuple[float, float, float]
    gloss: float = 0.0

    def bound(self) -> tuple[np.ndarray, float]:
        return (self.a + self.b) / 2, float(np.linalg.norm(self.b - self.a) / 2 + self.radius)


@dataclass(frozen=True)
class Box:
    lo: np.ndarray
    hi: np.ndarray
    color: tuple[float, float, float]
    gloss: float = 0.0

    def bound(self) -> tuple[np.ndarray, float]:
        return (self.lo + self.hi) / 2, float(np.linalg.norm(self.hi - self.lo) / 2)


Shape = Ellipsoid | Capsule | Box


@dataclass(frozen=True)
class Lighting:
    """Directional key light plus a fill and ambient term. Directions point toward the light."""

    key: tuple[float, float, float] = (-0.4, 0.8, 0.6)
    fill: tuple[float, float, float] = (0.6, 0.2, 0.5)
    key_strength: float = 0.7
    fill_strength: float = 0.2
    ambient: float = 0.3
    exposure: float = 1.0


def _intersect(shape: Shape, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ray parameter t (N,) (inf where missed) and unit normals (N, 3) for rays o + t d."""
    n = d.shape[0]
    inf = np.full(n, np.inf)
    if isinstance(shape, Ellipsoid):
        scale = shape.axes / shape.radii  # columns scaled: world -> unit-sphere coordinates
        oc = (o - shape.center) @ scale
        dc = d @ scale
        a = np.einsum("ij,ij->i", dc, dc)
        b = dc @ oc
        c = float(oc @ oc) - 1.0
        disc = b * b - a * c
        hit = disc > 0
        t = np.where(hit, (-b - np.sqrt(np.where(hit, disc, 0))) / a, np.inf)
        t = np.where(t > 1e-6, t, np.inf)
        local = oc + t[:, None] * dc
        local = np.where(np.isfinite(local), local, 0)
        normal = (local / shape.radii) @ shape.axes.T
        return t, normal / np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    if isinstance(shape, Capsule):
        pa, pb, r = shape.a, shape.b, shape.radius
        ba = pb - pa
        oa = o - pa
        baba = float(ba @ ba)
        bard = d @ ba
        baoa = float(ba @ oa)
        rdoa = d @ oa
        oaoa = float(oa @ oa)
        a = baba - bard * bard
        b = baba * rdoa - baoa * bard
        c = baba * oaoa - baoa * baoa - r * r * baba
        h = b * b - a * c
        t = inf.copy()
        ok = (h >= 0) & (a > 1e-12)
        tc = np.where(ok, (-b - np.sqrt(np.where(ok, h, 0))) / np.where(a > 1e-12, a, 1), np.inf)
        y = baoa + tc * bard
        body = ok & (y > 0) & (y < baba)
        t[body] = tc[body]
        # The capsule is the union of the finite cylinder and two end spheres, all convex: the
        # ray enters the union at the earliest entry into any of them.
        for oc in (oa, o - pb):
            bb = d @ oc
            hh = bb * bb - (float(oc @ oc) - r * r)
            capok = hh >= 0
            tt = np.where(capok, -bb - np.sqrt(np.where(capok, hh, 0)), np.inf)
            better = capok & (tt < t) & (tt > 0)
            t[better] = tt[better]
        t = np.where(t > 1e-6, t, np.inf)
        p = o + np.where(np.isfinite(t), t, 0)[:, None] * d
        s = np.clip(((p - pa) @ ba) / baba, 0, 1)
        normal = p - (pa + s[:, None] * ba)
        return t, normal / np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    if isinstance(shape, Box):
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / d
            t1 = (shape.lo - o) * inv
            t2 = (shape.hi - o) * inv
        tmin = np.nanmax(np.minimum(t1, t2), axis=1)
        tmax = np.nanmin(np.maximum(t1, t2), axis=1)
        hit = (tmax >= tmin) & (tmin > 1e-6)
        t = np.where(hit, tmin, np.inf)
        axis = np.argmax(np.minimum(t1, t2), axis=1)
        normal = np.zeros((n, 3))
        sign = np.where(np.take_along_axis(d, axis[:, None], 1)[:, 0] > 0, -1.0, 1.0)
        normal[np.arange(n), axis] = sign
        return t, normal
    raise TypeError(f"unknown shape {type(shape).__name__}")


def _shade(
    shape: Shape, normal: np.ndarray, d: np.ndarray, light: Lighting
) -> np.ndarray:
    key = np.asarray(light.key, float) / np.linalg.norm(light.key)
    fill = np.asarray(light.fill, float) / np.linalg.norm(light.fill)
    lam = light.ambient + light.key_strength * np.clip(normal @ key, 0, None)
    lam += light.fill_strength * np.clip(normal @ fill, 0, None)
    col = np.asarray(shape.color, float)[None, :] * lam[:, None] * light.exposure
    if shape.gloss > 0:
        h = key[None, :] - d
        h /= np.linalg.norm(h, axis=1, keepdims=True)
        spec = np.clip(np.einsum("ij,ij->i", normal, h), 0, 1) ** 30 * shape.gloss * 255
        col += spec[:, None]
    return col


class Canvas:
    """A colour image with a depth buffer, drawn into by ray casting from one camera."""

    def __init__(self, camera: Camera, color: np.ndarray, depth: np.ndarray | None = None):
        self.camera = camera
        self.color = color.astype(np.float32)
        self.depth = (
            np.full(color.shape[:2], np.inf, np.float32) if depth is None else depth.copy()
        )
        self._rays = camera.ray_directions()

    def copy(self) -> Canvas:
        new = Canvas.__new__(Canvas)
        new.camera, new._rays = self.camera, self._rays
        new.color, new.depth = self.color.copy(), self.depth.copy()
        return new

    def _bbox(self, shape: Shape) -> tuple[int, int, int, int] | None:
        cam = self.camera
        center, radius = shape.bound()
        c = cam.to_camera(center)
        w, h = cam.width, cam.height
        if c[2] - radius <= 0.02:  # straddles the camera plane: test the whole image
            return 0, w, 0, h
        cx, cy = cam.center
        # Bounding box of the projected bounding sphere, padded.
        corners = c[None, :] + radius * np.array(
            [[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], float
        )
        u = cx + cam.focal * corners[:, 0] / corners[:, 2]
        v = cy + cam.focal * corners[:, 1] / corners[:, 2]
        x0, x1 = int(max(0, np.floor(u.min()) - 1)), int(min(w, np.ceil(u.max()) + 2))
        y0, y1 = int(max(0, np.floor(v.min()) - 1)), int(min(h, np.ceil(v.max()) + 2))
        if x0 >= x1 or y0 >= y1:
            return None
        return x0, x1, y0, y1

    def draw(self, shapes: list[Shape], light: Lighting) -> None:
        """Ray-cast ``shapes`` into the canvas with depth testing."""
        o = self.camera.position
        for shape in shapes:
            box = self._bbox(shape)
            if box is None:
                continue
            x0, x1, y0, y1 = box
            d = self._rays[y0:y1, x0:x1].reshape(-1, 3)
            t, normal = _intersect(shape, o, d)
            zbuf = self.depth[y0:y1, x0:x1].reshape(-1)
            win = np.isfinite(t) & (t < zbuf)
            if not win.any():
                continue
            idx = np.nonzero(win)[0]
            col = _shade(shape, normal[idx], d[idx], light)
            sub_c = self.color[y0:y1, x0:x1].reshape(-1, 3)
            sub_c[idx] = col
            zbuf[idx] = t[idx]
            self.color[y0:y1, x0:x1] = sub_c.reshape(y1 - y0, x1 - x0, 3)
            self.depth[y0:y1, x0:x1] = zbuf.reshape(y1 - y0, x1 - x0)

    def image(self) -> np.ndarray:
        """The colour buffer as BGR uint8."""
        return np.clip(self.color, 0, 255).astype(np.uint8)


# --- triangle meshes ---------------------------------------------------------------------------

_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048)


def vertex_normals(verts: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Unit normals (V, 3) of a triangle mesh: area-weighted means of its faces' normals."""
    fn = np.cross(verts[tris[:, 1]] - verts[tris[:, 0]], verts[tris[:, 2]] - verts[tris[:, 0]])
    n = len(verts)
    flat = tris.T.reshape(-1)
    vn = np.stack([np.bincount(flat, np.tile(fn[:, c], 3), minlength=n) for c in range(3)], 1)
    return vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-12)


def shade_vertices(
    albedo: np.ndarray, normals: np.ndarray, light: Lighting, gloss: float = 0.0,
    view_dirs: np.ndarray | None = None,
) -> np.ndarray:
    """Lambert shading of per-vertex colours (V, 3) with ``light`` (the same model as the shapes)."""
    key = np.asarray(light.key, float) / np.linalg.norm(light.key)
    fill = np.asarray(light.fill, float) / np.linalg.norm(light.fill)
    lam = light.ambient + light.key_strength * np.clip(normals @ key, 0, None)
    lam += light.fill_strength * np.clip(normals @ fill, 0, None)
    col = albedo * lam[:, None] * light.exposure
    if gloss > 0 and view_dirs is not None:
        h = key[None, :] - view_dirs
        h /= np.linalg.norm(h, axis=1, keepdims=True)
        col += (np.clip(np.einsum("ij,ij->i", normals, h), 0, 1) ** 30 * gloss * 255)[:, None]
    return col


def _mesh_fragments(
    uv: np.ndarray, inv_z: np.ndarray, tris: np.ndarray, width: int, height: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pixel centres covered by the triangles: (pixel index, 1/z, triangle, barycentrics (N, 3))."""
    p0, p1, p2 = uv[tris[:, 0]], uv[tris[:, 1]], uv[tris[:, 2]]
    area = (p1[:, 0] - p0[:, 0]) * (p2[:, 1] - p0[:, 1]) - (p2[:, 0] - p0[:, 0]) * (p1[:, 1] - p0[:, 1])
    lo = np.ceil(np.minimum(np.minimum(p0, p1), p2)).astype(np.int64)
    hi = np.floor(np.maximum(np.maximum(p0, p1), p2)).astype(np.int64)
    lo = np.maximum(lo, 0)
    hi[:, 0] = np.minimum(hi[:, 0], width - 1)
    hi[:, 1] = np.minimum(hi[:, 1], height - 1)
    size = hi - lo + 1
    keep = (np.abs(area) > 1e-12) & (size[:, 0] > 0) & (size[:, 1] > 0)
    ids = np.flatnonzero(keep)
    # edge functions: lambda_k = a_k x + b_k y + c_k
    pts = (p0, p1, p2)
    coef = []
    for k in range(3):
        (xa, ya), (xb, yb) = pts[(k + 1) % 3].T, pts[(k + 2) % 3].T
        coef.append(((ya - yb) / np.where(area == 0, 1, area), (xb - xa) / np.where(area == 0, 1, area),
                     (xa * yb - xb * ya) / np.where(area == 0, 1, area)))
    span = np.maximum(size[ids, 0], size[ids, 1])
    edges = np.searchsorted(_BUCKETS, span)
    out_pix, out_iz, out_tri, out_bary = [], [], [], []
    for b in np.unique(edges):
        s = _BUCKETS[b]
        t = ids[edges == b]
        dy, dx = np.divmod(np.arange(s * s), s)
        x = lo[t, 0, None] + dx[None, :]
        y = lo[t, 1, None] + dy[None, :]
        ok = (dx[None, :] < size[t, 0, None]) & (dy[None, :] < size[t, 1, None])
        lam = [coef[k][0][t, None] * x + coef[k][1][t, None] * y + coef[k][2][t, None] for k in range(3)]
        ok &= (lam[0] >= -1e-9) & (lam[1] >= -1e-9) & (lam[2] >= -1e-9)
        r, c = np.nonzero(ok)
        if r.size == 0:
            continue
        tt = t[r]
        bary = np.stack([lam[0][r, c], lam[1][r, c], lam[2][r, c]], 1)
        out_pix.append(y[r, c] * width + x[r, c])
        out_iz.append(np.einsum("ij,ij->i", bary, inv_z[tris[tt]]))
        out_tri.append(tt)
        out_bary.append(bary)
    if not out_pix:
        e = np.empty(0)
        return e.astype(np.int64), e, e.astype(np.int64), np.empty((0, 3))
    return np.concatenate(out_pix), np.concatenate(out_iz), np.concatenate(out_tri), np.concatenate(out_bary)


def _draw_mesh(canvas: Canvas, verts: np.ndarray, tris: np.ndarray, colors: np.ndarray) -> None:
    """Rasterise a triangle mesh (world metres) with per-vertex colours into ``canvas``, z-buffered
    against what is already there. Back faces are culled (the mesh is closed)."""
    cam = canvas.camera
    uv, z = cam.project(verts)
    near = 0.05
    tz = z[tris]
    facing = np.cross(verts[tris[:, 1]] - verts[tris[:, 0]], verts[tris[:, 2]] - verts[tris[:, 0]])
    front = np.einsum("ij,ij->i", facing, cam.position[None, :] - verts[tris[:, 0]]) > 0
    tris = tris[front & np.all(tz > near, 1)]
    inv_z = np.where(z > near, 1.0 / np.where(z > near, z, 1.0), 0.0)
    pix, iz, tri, bary = _mesh_fragments(uv, inv_z, tris, cam.width, cam.height)
    if pix.size == 0:
        return
    # ray length t (the canvas' depth) = camera z * |(x, y, f)| / f
    cx, cy = cam.center
    px, py = pix % cam.width, pix // cam.width
    t = np.sqrt(1.0 + ((px - cx) / cam.focal) ** 2 + ((py - cy) / cam.focal) ** 2) / iz
    depth = canvas.depth.reshape(-1)
    vis = t < depth[pix]
    pix, t, tri, bary = pix[vis], t[vis], tri[vis], bary[vis]
    order = np.lexsort((t, pix))
    pix_s = pix[order]
    first = np.ones(pix_s.size, bool)
    first[1:] = pix_s[1:] != pix_s[:-1]
    win = order[first]
    col = np.einsum("ij,ijk->ik", bary[win], colors[tris[tri[win]]])
    canvas.color.reshape(-1, 3)[pix[win]] = col
    depth[pix[win]] = t[win]


def draw_mesh(canvas: Canvas, verts: np.ndarray, tris: np.ndarray, albedo: np.ndarray, light: Lighting) -> None:
    """Shade (per vertex, smooth normals, ``light``) and rasterise a closed triangle mesh."""
    normals = vertex_normals(verts, tris)
    _draw_mesh(canvas, verts, tris, shade_vertices(albedo, normals, light))
