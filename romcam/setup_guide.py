"""Camera setup for each motion done in a chair or in bed: ``romcam/data/setup.toml``, as typed data.

A lying or seated patient cannot "turn the left side to the camera": the camera moves. The setup
file says, per catalog motion and posture (seated, lying), where the camera goes, how far away,
what must be in the picture and where a caregiver stands; the live coach shows and speaks it before
Start and when the view is wrong, and ``romcam analyze`` prints it when the view was not ideal.

Pure apart from reading the package data once; validated against the catalog on load (every seated
and lying posture of every catalog motion has an entry, and nothing else does).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from .catalog import Catalog, default_catalog
from .errors import CatalogError

SCHEMA = "romcam.setup/1"
GUIDED_POSTURES = ("seated", "lying")  # standing patients turn themselves: the catalog's view hint serves
FIELDS = ("motion", "posture", "camera", "distance_m", "in_frame", "helper", "fix")


@dataclass(frozen=True, slots=True)
class Setup:
    """Where the camera goes for one motion in one posture. Texts may hold ``{side}`` / ``{other}``."""

    motion: str
    posture: str
    camera: str
    distance_m: tuple[float, float]
    in_frame: str
    helper: str
    fix: str

    def for_side(self, side: str) -> Setup:
        """The texts with ``{side}`` and ``{other}`` filled in for the exercised ``side``."""
        if side not in ("left", "right"):
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        other = "right" if side == "left" else "left"

        def fill(text: str) -> str:
            return text.replace("{side}", side).replace("{other}", other)

        return Setup(self.motion, self.posture, fill(self.camera), self.distance_m, fill(self.in_frame),
                     fill(self.helper), fill(self.fix))

    @property
    def distance_text(self) -> str:
        lo, hi = self.distance_m
        return f"{lo:g}-{hi:g} m away"

    def sentence(self) -> str:
        """One instruction: "Camera beside the bed ..., 2-3 m away, with the whole leg in the picture."."""
        return f"Camera {self.camera}, {self.distance_text}, with {self.in_frame} in the picture."

    def to_dict(self) -> dict[str, Any]:
        return {"motion": self.motion, "posture": self.posture, "camera": self.camera,
                "distance_m": list(self.distance_m), "in_frame": self.in_frame, "helper": self.helper,
                "fix": self.fix, "text": self.sentence()}


def _text(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"setup {where}: {key!r} must be a non-empty text, got {value!r}")
    return value.strip()


def parse_setup(data: dict[str, Any], catalog: Catalog) -> dict[tuple[str, str], Setup]:
    """The parsed setup file, keyed by (motion id, posture); raises :class:`CatalogError` naming the
    entry and field when the file is malformed or does not cover the catalog."""
    if data.get("schema") != SCHEMA:
        raise CatalogError(f"setup file: schema must be {SCHEMA!r}, got {data.get('schema')!r}")
    entries = data.get("setup")
    if not isinstance(entries, list) or not entries:
        raise CatalogError("setup file: no [[setup]] entries")
    out: dict[tuple[str, str], Setup] = {}
    for i, entry in enumerate(entries):
        where = f"[{i}]"
        unknown = set(entry) - set(FIELDS)
        if unknown:
            raise CatalogError(f"setup {where}: unknown fields {sorted(unknown)}; expected {', '.join(FIELDS)}")
        motion_id = _text(entry, "motion", where)
        posture = _text(entry, "posture", where)
        where = f"{motion_id}/{posture}"
        if motion_id not in catalog.motions:
            raise CatalogError(f"setup {where}: {motion_id!r} is not a catalog motion")
        if posture not in GUIDED_POSTURES:
            raise CatalogError(f"setup {where}: posture must be one of {', '.join(GUIDED_POSTURES)}")
        if posture not in catalog.motions[motion_id].postures:
            raise CatalogError(f"setup {where}: the catalog does not list {posture!r} for {motion_id}")
        if (motion_id, posture) in out:
            raise CatalogError(f"setup {where}: duplicate entry")
        dist = entry.get("distance_m")
        if (not isinstance(dist, list) or len(dist) != 2 or not all(isinstance(d, int | float) for d in dist)
                or not 0 < dist[0] <= dist[1] <= 10):
            raise CatalogError(f"setup {where}: distance_m must be [nearest, furthest] metres (0-10), got {dist!r}")
        out[(motion_id, posture)] = Setup(
            motion=motion_id, posture=posture, camera=_text(entry, "camera", where),
            distance_m=(float(dist[0]), float(dist[1])), in_frame=_text(entry, "in_frame", where),
            helper=_text(entry, "helper", where), fix=_text(entry, "fix", where))
    missing = [f"{m.id}/{p}" for m in catalog for p in m.postures if p in GUIDED_POSTURES and (m.id, p) not in out]
    if missing:
        raise CatalogError(f"setup file: no camera setup for {', '.join(missing)}")
    return out


@lru_cache(maxsize=1)
def default_setup() -> dict[tuple[str, str], Setup]:
    text = resources.files("romcam").joinpath("data/setup.toml").read_text(encoding="utf-8")
    return parse_setup(tomllib.loads(text), default_catalog())


def setup_for(motion: str, posture: str | None, side: str) -> Setup | None:
    """The camera setup for ``motion`` done ``posture`` on the patient's ``side``; None for a
    standing patient (or a posture the motion is not done in)."""
    entry = default_setup().get((motion, posture or ""))
    return entry.for_side(side) if entry is not None else None


def all_setups() -> list[Setup]:
    """Every entry, in file order (texts with ``{side}`` unfilled)."""
    return list(default_setup().values())
