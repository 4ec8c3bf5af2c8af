"""The exercise catalog: ``romcam/data/exercises.toml`` loaded into typed, validated objects."""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from .errors import CatalogError, UnknownExerciseError
from .landmarks import point_landmarks

PLANES = ("sagittal", "frontal", "transverse", "limb", "perpendicular")
FRAMES = ("thorax", "pelvis")
VIEWS = ("front", "side")
AXES = ("up", "down", "anterior", "posterior", "lateral", "medial", "pelvis_down")
POSTURES = ("standing", "seated", "lying")
METHODS = ("image", "hybrid", "world")


@dataclass(frozen=True, slots=True)
class NormalRange:
    min: float
    max: float
    source: str  # key into the catalog's [sources]
    citation: str


@dataclass(frozen=True, slots=True)
class PossibleRange:
    """What the joint can do at all (degrees); a reading outside is a misplaced landmark."""

    min: float
    max: float

    def __contains__(self, angle: float) -> bool:
        return self.min <= angle <= self.max


@dataclass(frozen=True, slots=True)
class Motion:
    """One catalog motion; see the header of exercises.toml for what each field means."""

    id: str
    name: str
    joint: str
    plane: str
    frame: str
    view: str
    reference: tuple[str, str] | str  # a landmark pair (from, to) or an axis name
    reference_neutral: str  # the body axis the reference lies along in anatomical neutral
    moving: tuple[str, str]
    positive: str
    offset: float
    scale: float
    range_center: float
    works: str
    method: str
    postures: tuple[str, ...]
    test_position: str
    definition: str
    normal: NormalRange
    instructions: str  # for the patient (active, active-assisted)
    caregiver_instructions: str  # for a caregiver moving the patient's limb (passive)
    measurement_noise_deg: float  # how far a session's best angle can move with no real change (alerts)
    return_noise_deg: float  # the same at the other end of a rep, where it starts and returns (an elbow's extension)
    possible: PossibleRange  # what the joint can do at all: readings outside are not measurements
    axis_segment: tuple[str, str] | None = None
    moving_through: str | None = None  # the next joint along a limb kept straight (see angles.py)
    view_plane: str | None = None  # a body plane the view check uses instead of the motion plane
    moving_end_on: tuple[str, ...] | None = None  # the moving points while axis_segment points at the camera
    experimental: bool = False
    experimental_reason: str = ""

    @property
    def high_end_noise_deg(self) -> float:
        """The noise at the high end of the range, where a PT's safe maximum sits: the peak's for a
        motion that works the maximum, the other end's for one that works the minimum (knee extension)."""
        return self.measurement_noise_deg if self.works == "max" else self.return_noise_deg

    @property
    def low_end_noise_deg(self) -> float:
        """The noise at the low end of the range (an elbow's or knee's straightening for the flexions)."""
        return self.return_noise_deg if self.works == "max" else self.measurement_noise_deg

    def posture_or_default(self, posture: str | None) -> str:
        """``posture`` when the motion is done in it, standing (or the motion's first posture) when None;
        a ValueError naming the postures it is done in otherwise."""
        if posture is None:
            return "standing" if not self.postures or "standing" in self.postures else self.postures[0]
        if self.postures and posture not in self.postures:
            raise ValueError(f"{self.name} is done {' or '.join(self.postures)}, not {posture}")
        return posture

    @property
    def display_name(self) -> str:
        return f"{self.name} (experimental)" if self.experimental else self.name

    def instructions_for(self, mode: str) -> str:
        """What to do, for whoever moves the limb: the caregiver in passive ROM, else the patient."""
        return self.caregiver_instructions if mode == "passive" else self.instructions

    def landmarks(self) -> tuple[str, ...]:
        """The side-relative point names this motion reads (besides the trunk's frame)."""
        pts: list[str] = []
        for pair in (self.reference, self.moving, self.axis_segment, self.moving_end_on):
            if isinstance(pair, tuple):
                pts.extend(pair)
        if self.moving_through:
            pts.append(self.moving_through)
        return tuple(dict.fromkeys(pts))


@dataclass(frozen=True, slots=True)
class Catalog:
    motions: dict[str, Motion]
    sources: dict[str, str]

    def get(self, motion_id: str) -> Motion:
        try:
            return self.motions[motion_id]
        except KeyError:
            close = difflib.get_close_matches(motion_id, self.motions, n=1)
            hint = f" — did you mean {close[0]}?" if close else ""
            raise UnknownExerciseError(
                f"unknown exercise {motion_id!r}{hint} (run `romcam exercises` for the list)"
            ) from None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.motions.values())

    def ids(self) -> list[str]:
        return list(self.motions)


def _check_point(name: str, where: str) -> None:
    try:
        point_landmarks(name, "left")
    except KeyError:
        raise CatalogError(f"{where}: unknown landmark {name!r}") from None


def _pair(value: object, where: str) -> tuple[str, str]:
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise CatalogError(f"{where}: expected a pair of landmark names, got {value!r}")
    for v in value:
        _check_point(v, where)
    return (value[0], value[1])


def _points(value: object, where: str) -> tuple[str, ...]:
    if not (isinstance(value, list) and len(value) >= 2 and all(isinstance(v, str) for v in value)):
        raise CatalogError(f"{where}: expected two or more landmark names, got {value!r}")
    for v in value:
        _check_point(v, where)
    return tuple(value)


def _choice(entry: dict, key: str, allowed: tuple[str, ...], where: str, default: str | None = None) -> str:
    value = entry.get(key, default)
    if value not in allowed:
        raise CatalogError(f"{where}.{key}: expected one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def _text(entry: dict, key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}.{key}: expected a non-empty text")
    return value


def _degrees_above_0(entry: dict, key: str, where: str) -> float:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise CatalogError(f"{where}.{key}: expected a number of degrees above 0, got {value!r}")
    return float(value)


def _through(entry: dict, where: str) -> str | None:
    value = entry.get("moving_through")
    if value is None:
        return None
    if not isinstance(value, str):
        raise CatalogError(f"{where}.moving_through: expected a landmark name, got {value!r}")
    _check_point(value, f"{where}.moving_through")
    return value


def parse_catalog(data: dict) -> Catalog:
    """Validate a parsed catalog document and build the typed catalog."""
    if data.get("schema") != "romcam.catalog/1":
        raise CatalogError(f"catalog schema must be 'romcam.catalog/1', got {data.get('schema')!r}")
    sources = data.get("sources", {})
    motions: dict[str, Motion] = {}
    for i, entry in enumerate(data.get("motion", [])):
        where = f"motion[{i}]"
        mid = _text(entry, "id", where)
        where = f"motion {mid!r}"
        if mid in motions:
            raise CatalogError(f"{where}: duplicate id")
        ref_raw = entry.get("reference")
        reference: tuple[str, str] | str
        if isinstance(ref_raw, str):
            reference = _choice(entry, "reference", AXES, where)
            neutral = reference
        else:
            reference = _pair(ref_raw, f"{where}.reference")
            neutral = _choice(entry, "reference_neutral", AXES, where)
        plane = _choice(entry, "plane", PLANES, where)
        axis_segment = None
        if plane == "perpendicular":
            axis_segment = _pair(entry.get("axis_segment"), f"{where}.axis_segment")
        end_on = None
        if "moving_end_on" in entry:
            if plane != "perpendicular" or "view_plane" not in entry:
                raise CatalogError(f"{where}.moving_end_on: only for a perpendicular plane with a view_plane")
            end_on = _points(entry["moving_end_on"], f"{where}.moving_end_on")
        normal = entry.get("normal", {})
        if not {"min", "max", "source"} <= set(normal):
            raise CatalogError(f"{where}.normal: needs min, max and source")
        if normal["source"] not in sources:
            raise CatalogError(f"{where}.normal.source: {normal['source']!r} is not in [sources]")
        if not normal["min"] < normal["max"]:
            raise CatalogError(f"{where}.normal: min must be below max")
        possible = entry.get("possible", {})
        if set(possible) != {"min", "max"} or not all(
                isinstance(possible[k], int | float) and not isinstance(possible[k], bool) for k in possible):
            raise CatalogError(f"{where}.possible: needs min and max (degrees)")
        if not possible["min"] <= normal["min"] < normal["max"] <= possible["max"]:
            raise CatalogError(f"{where}.possible: must contain the normal range")
        postures = tuple(entry.get("postures", ()))
        for p in postures:
            if p not in POSTURES:
                raise CatalogError(f"{where}.postures: {p!r} is not one of {', '.join(POSTURES)}")
        experimental = bool(entry.get("experimental", False))
        if experimental and not entry.get("experimental_reason"):
            raise CatalogError(f"{where}: an experimental motion must say why (experimental_reason)")
        noise = _degrees_above_0(entry, "measurement_noise_deg", where)
        return_noise = _degrees_above_0(entry, "return_noise_deg", where)
        scale = float(entry.get("scale", 1.0))
        if scale not in (1.0, -1.0):
            raise CatalogError(f"{where}.scale: must be 1 or -1, got {scale}")
        motions[mid] = Motion(
            id=mid,
            name=_text(entry, "name", where),
            joint=_text(entry, "joint", where),
            plane=plane,
            frame=_choice(entry, "frame", FRAMES, where),
            view=_choice(entry, "view", VIEWS, where),
            reference=reference,
            reference_neutral=neutral,
            moving=_pair(entry.get("moving"), f"{where}.moving"),
            positive=_choice(entry, "positive", AXES, where),
            offset=float(entry.get("offset", 0.0)),
            scale=scale,
            range_center=float(entry.get("range_center", 0.0)),
            works=_choice(entry, "works", ("max", "min"), where),
            method=_choice(entry, "method", METHODS, where, default="image"),
            postures=postures,
            test_position=_text(entry, "test_position", where),
            definition=_text(entry, "definition", where),
            normal=NormalRange(float(normal["min"]), float(normal["max"]), normal["source"],
                               sources[normal["source"]]),
            instructions=_text(entry, "instructions", where),
            caregiver_instructions=_text(entry, "caregiver_instructions", where),
            measurement_noise_deg=noise,
            return_noise_deg=return_noise,
            possible=PossibleRange(float(possible["min"]), float(possible["max"])),
            axis_segment=axis_segment,
            moving_through=_through(entry, where),
            view_plane=_choice(entry, "view_plane", ("sagittal", "frontal"), where) if "view_plane" in entry else None,
            moving_end_on=end_on,
            experimental=experimental,
            experimental_reason=str(entry.get("experimental_reason", "")),
        )
    if not motions:
        raise CatalogError("the catalog has no [[motion]] entries")
    return Catalog(motions=motions, sources=dict(sources))


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load the catalog from ``path``, or the one shipped with romcam."""
    if path is None:
        return default_catalog()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"cannot read exercise catalog {path}: {exc}") from None
    return parse_catalog(data)


@cache
def default_catalog() -> Catalog:
    text = resources.files("romcam").joinpath("data/exercises.toml").read_text(encoding="utf-8")
    return parse_catalog(tomllib.loads(text))


def get_motion(motion_id: str) -> Motion:
    return default_catalog().get(motion_id)


def _describe_vector(spec: tuple[str, str] | str) -> str:
    if isinstance(spec, str):
        return f"axis {spec}"
    return f"{spec[0]} → {spec[1]}"


def conventions_table(catalog: Catalog) -> str:
    """The angle-conventions table (markdown) that docs/angles.md carries, made from the catalog."""
    rows = [
        "| motion | plane | camera view | reference → moving | positive toward | 0° | normal range | method |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in catalog:
        plane = m.plane if m.plane != "perpendicular" else f"across {m.axis_segment[0]} → {m.axis_segment[1]}"
        zero = "perpendicular" if m.offset == 90 else "aligned"
        flag = " (experimental)" if m.experimental else ""
        through = f" (→ {m.moving_through} while straight)" if m.moving_through else ""
        if m.moving_end_on:
            through = (f" (mean of {' and '.join(m.moving_end_on[:-1])} → {m.moving_end_on[-1]} in the {m.view_plane} "
                       "plane while end-on)")
        rows.append(
            f"| `{m.id}`{flag} | {plane} | {m.view} | {_describe_vector(m.reference)} ; "
            f"{_describe_vector(m.moving)}{through} | {m.positive} | {zero} | {m.normal.min:g}° to "
            f"{m.normal.max:g}° ({m.normal.source}) | {m.method} |"
        )
    return "\n".join(rows) + "\n"
