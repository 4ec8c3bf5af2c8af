"""The session document (``"schema": "romcam.session/1"``): what ``romcam analyze --save`` stores and
``POST /api/sessions`` accepts, so a patient's machine can upload its sessions to a clinic server.

Each set is the ``romcam analyze --json`` document (``romcam.analysis/1``) plus ``mode``,
``posture``, the prescription version it followed and its start time. Fields may be added, never
renamed; unknown fields are kept with the set's summary.

A rep's ``peak_seen`` (``romcam.reps.Rep``) is optional, true when absent (documents from before it
existed). False means the rep's furthest point may have fallen in frames where the limb was not
measured: its peak angle is then a bound on the range reached, not a measurement. A set's
``best_seen`` is computed from its reps, never read from the document. The canonical form (the
idempotency hash, and the bytes a laptop uploads) leaves ``peak_seen`` out where it is true, so a
document stored before the field existed hashes as it did then, and re-sending it is still a no-op.

A rep's ``past_safe`` (``romcam analyze``: which of the PT's safe limits it went past) is accepted and
dropped: it is not stored (the set's prescription holds the limits, and the rep its angles) and is left
out of the canonical form. The limits analyze used (``safe_max``, ``safe_min``: angles or null, the minimum
below the maximum) and the set's ``past_safe`` are kept with the set's summary, as its ``target`` is; a set
filed under no prescription is judged against them (:func:`romcam.safe_limits.set_limits`).

``clock_off_s`` (optional, whole seconds) is how far the sending laptop's clock was ahead of the clinic's
(negative: behind) when it sent the session, set by the laptop's sync when beyond 5 minutes
(docs/sync.md): the session's times are the laptop's, and the clinic says so next to them
(:func:`clock_note`). The canonical form leaves it out when absent, so a document without it hashes as
before the field existed.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from bisect import bisect_left, bisect_right
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from . import __version__
from .catalog import Motion, default_catalog
from .input_checks import STRICT, CheckedInput, PastTime, Uuid, field_errors

SCHEMA = "romcam.session/1"
CLOCK_OFF_MAX_S = 100 * 366 * 86_400  # a clock battery gone flat reads 1970 or 2000: still said, not refused
Side = Literal["left", "right"]
Mode = Literal["active", "active_assisted", "passive"]
Posture = Literal["standing", "seated", "lying"]
Status = Literal["complete", "interrupted"]
Angle = Annotated[float, Field(ge=-360, le=360)]
Seconds = Annotated[float, Field(ge=0, le=86_400)]
MAX_SAMPLES = 1_000_000  # a set of 9 hours at 30 fps
# an angle further than this beyond the joint's possible range (romcam/data/exercises.toml) is refused: the
# engine drops raw readings beyond it, and the zero-phase smoothing overshoots a sudden step by a few degrees
POSSIBLE_MARGIN_DEG = 15.0
ROUNDING_DEG = 0.1  # angles in documents are rounded to 0.1°
TIME_EPS_S = 0.0005  # times in documents are rounded to the millisecond
OVERLAP_FRAMES_OK = 4  # reps of older laptops' crash-saved sets may overlap by this many frames (_reps_agree)
# a set starts within its session: the laptop's clock may be stepped (set by the network) while a session runs
SET_OUTSIDE_SESSION_S = 300.0


def check_exercise(value: str) -> str:
    """A catalog id, or a ValueError naming the closest one."""
    catalog = default_catalog()
    if value not in catalog.motions:
        import difflib

        close = difflib.get_close_matches(value, catalog.motions, n=1)
        hint = f" — did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown exercise {value!r}{hint} (GET /api/exercises or `romcam exercises` lists them)")
    return value


class SampleDoc(BaseModel):
    model_config = STRICT | ConfigDict(extra="ignore")

    t: Seconds
    angle: Angle | None = None


class RepDoc(BaseModel):
    model_config = STRICT | ConfigDict(extra="forbid")

    start: Seconds
    peak: Seconds
    end: Seconds
    max_angle: Angle
    min_angle: Angle
    hold_s: Seconds = 0.0
    partial: bool = False
    below_target: bool | None = None
    # False: the furthest point may have fallen in unmeasured frames; the peak angle is a bound
    peak_seen: bool = True
    # romcam analyze's flag of a rep past the PT's safe limits: accepted, so that an analyze document is a set,
    # but neither stored nor hashed (it follows from the rep's angles and the prescription's limits)
    past_safe: Literal["max", "min", "both"] | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _ordered(self) -> RepDoc:
        if not self.start <= self.peak <= self.end:
            field, value = ("peak", self.peak) if self.start <= self.end else ("end", self.end)
            raise field_errors([(field, f"a rep needs start <= peak <= end, got {self.start}, {self.peak}, {self.end}",
                                 value)])
        if self.min_angle > self.max_angle:
            raise field_errors([("min_angle", f"min_angle {self.min_angle} is above max_angle {self.max_angle}",
                                 self.min_angle)])
        return self


class SetDoc(BaseModel):
    """One set: the analyze document plus mode, posture and the prescription version it followed."""

    model_config = STRICT | ConfigDict(extra="allow")  # the analyze document may gain fields

    schema_: Literal["romcam.analysis/1"] = Field("romcam.analysis/1", alias="schema")
    exercise: str = Field(min_length=1, max_length=64)
    side: Side
    mode: Mode
    posture: Posture
    prescription_id: Uuid | None = None
    prescription_version: int | None = Field(None, ge=1, le=100_000)
    started_at: PastTime | None = None
    fps: float = Field(gt=0, le=1000)
    frames: int = Field(ge=0, le=100_000_000)
    view_ok_fraction: float = Field(ge=0, le=1)
    samples: list[SampleDoc] = Field(default_factory=list, max_length=MAX_SAMPLES)
    reps: list[RepDoc] = Field(default_factory=list, max_length=10_000)
    max_angle: Angle | None = None
    min_angle: Angle | None = None
    warnings: list[Annotated[str, Field(max_length=1000)]] = Field(default_factory=list, max_length=50)
    error: str | None = Field(None, max_length=1000)

    @field_validator("exercise")
    @classmethod
    def _known_exercise(cls, value: str) -> str:
        return check_exercise(value)

    @model_validator(mode="after")
    def _consistent(self) -> SetDoc:
        if (self.prescription_id is None) != (self.prescription_version is None):
            missing = "prescription_version" if self.prescription_version is None else "prescription_id"
            raise field_errors([(missing, "give both prescription_id and prescription_version, or neither", None)])
        times = [s.t for s in self.samples]
        for i, (a, b) in enumerate(zip(times, times[1:], strict=False)):
            if b < a:
                raise field_errors([(("samples", i + 1, "t"), "samples must be in time order (t never decreasing)",
                                     b)])
        if self.min_angle is not None and self.max_angle is not None and self.min_angle > self.max_angle:
            raise field_errors([("min_angle", f"min_angle {self.min_angle} is above max_angle {self.max_angle}",
                                 self.min_angle)])
        self._limits_given()
        self._target_version_given()
        motion = default_catalog().get(self.exercise)
        try:
            motion.posture_or_default(self.posture)
        except ValueError as exc:  # it names the postures the motion is done in
            raise field_errors([("posture", str(exc), self.posture)]) from None
        self._within_reach(motion)
        self._reps_agree()
        return self

    def _limits_given(self) -> None:
        """The safe limits ``romcam analyze`` was given (``safe_max``, ``safe_min``, kept with the summary) are
        angles or null, the minimum below the maximum: the dashboard judges a set filed under no prescription
        against them (:func:`romcam.safe_limits.set_limits`)."""
        extra = self.model_extra or {}
        given: dict[str, float] = {}
        for key in ("safe_max", "safe_min"):
            value = extra.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not -360 <= value <= 360:
                raise field_errors([(key, f"{key} is the safe limit romcam analyze was given: an angle in degrees "
                                     "(-360 to 360), or null for none", value)])
            given[key] = value
        if "safe_max" in given and "safe_min" in given and not given["safe_min"] < given["safe_max"]:
            raise field_errors([("safe_min", f"safe_min {given['safe_min']} is not below safe_max "
                                 f"{given['safe_max']}", given["safe_min"])])

    def _target_version_given(self) -> None:
        """``target_version`` (the live recorder's, on a set refiled under a safer limit's prescription version
        during it: docs/live.md "The PT changes the plan"): the earlier version of the same prescription whose
        target the set was coached to and its reps judged by (``target``, ``below_target``). Absent or null
        otherwise: the target is the filed version's. Ignored on a set filed under no prescription (a laptop's
        upload of a set whose prescription the clinic does not manage drops the prescription, not the summary)."""
        value = (self.model_extra or {}).get("target_version")
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise field_errors([("target_version", "target_version is the prescription version whose target the set "
                                 "was coached to: a whole number from 1, or null", value)])
        if self.prescription_version is not None and value >= self.prescription_version:
            raise field_errors([("target_version", "target_version must be an earlier version of the set's "
                                 f"prescription than prescription_version ({self.prescription_version}), or null "
                                 "when the set was coached to that version's target", value)])

    def _within_reach(self, motion: Motion) -> None:
        """Every angle lies within what the joint can do (the catalog's ``possible``, with a margin for
        the smoothing filter's overshoot): 300° of elbow flexion is not a measurement."""
        p = motion.possible
        low, high = p.min - POSSIBLE_MARGIN_DEG, p.max + POSSIBLE_MARGIN_DEG

        def beyond(place: tuple[str | int, ...], value: float | None) -> None:
            if value is not None and not low <= value <= high:
                name = place[0] + "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in place[1:])
                raise field_errors([(place, f"{name} {value}° is beyond what the {motion.joint} can do in "
                                     f"{self.exercise} ({p.min:g} to {p.max:g}°): not a measurement", value)])

        beyond(("max_angle",), self.max_angle)
        beyond(("min_angle",), self.min_angle)
        for i, r in enumerate(self.reps):
            beyond(("reps", i, "max_angle"), r.max_angle)
            beyond(("reps", i, "min_angle"), r.min_angle)
        for i, x in enumerate(self.samples):
            if x.angle is not None and not low <= x.angle <= high:
                beyond(("samples", i, "angle"), x.angle)

    def _reps_agree(self) -> None:
        """The reps come in time order, one after the other (a rep starts where the one before it ended, or
        later), a whole rep lasts some time, each holds no longer than it lasts, lies within the set's samples
        and reaches its furthest angle in them, and the set's extremes take in every rep's (they are the
        extremes of the same samples): a summary that contradicts its reps or its samples would show the PT a
        rep, a range or a drop that never happened."""
        if not self.reps:
            return
        which = f"the {self.exercise} ({self.side}) set"
        # the live recorder of earlier builds stored a counted rep from when the one before it was counted, and
        # that rep's final end could come 1-4 frames later: a session a crash stopped mid-set keeps such an
        # overlap, taken here (a few frames move no angle a PT reads); anything longer is not a measurement
        overlap_ok = OVERLAP_FRAMES_OK / self.fps + TIME_EPS_S
        for i, (a, b) in enumerate(zip(self.reps, self.reps[1:], strict=False)):
            if b.start < a.start:
                raise field_errors([(("reps", i + 1, "start"), f"reps must be in time order: in {which}, reps[{i + 1}] "
                                     f"starts at {b.start} s, before reps[{i}] ({a.start} s) — list the reps by their "
                                     "start time", b.start)])
            if b.start < a.end - overlap_ok:
                raise field_errors([(("reps", i + 1, "start"), f"reps overlap: in {which}, reps[{i + 1}] starts at "
                                     f"{b.start} s, before reps[{i}] ends ({a.end} s) — a rep starts where the one "
                                     "before it ended or later; send each rep's start and end as measured", b.start)])
        slack = 1.0 / self.fps + 0.01
        for i, r in enumerate(self.reps):
            if not r.partial and r.end - r.start <= TIME_EPS_S:
                raise field_errors([(("reps", i, "end"), f"in {which}, reps[{i}] lasts 0 s (start and end at "
                                     f"{r.start} s): a whole rep is a movement out and back — give its end, or mark "
                                     "it partial if the recording cut it off", r.end)])
            if r.hold_s > r.end - r.start + slack:
                raise field_errors([(("reps", i, "hold_s"), f"reps[{i}] holds {r.hold_s} s but lasts "
                                     f"{r.end - r.start:g} s", r.hold_s)])
        self._reps_in_samples(which)
        self._below_target_agrees(which)
        if self.max_angle is None or self.min_angle is None:
            missing = "max_angle" if self.max_angle is None else "min_angle"
            raise field_errors([(missing, "a set with reps needs its max_angle and min_angle", None)])
        top = max(r.max_angle for r in self.reps)
        bottom = min(r.min_angle for r in self.reps)
        if self.max_angle < top - ROUNDING_DEG:
            raise field_errors([("max_angle", f"max_angle {self.max_angle}° is below a rep's max_angle ({top}°): the "
                                 "set's extremes must take in its reps'", self.max_angle)])
        if self.min_angle > bottom + ROUNDING_DEG:
            raise field_errors([("min_angle", f"min_angle {self.min_angle}° is above a rep's min_angle ({bottom}°): "
                                 "the set's extremes must take in its reps'", self.min_angle)])

    def _below_target_agrees(self, which: str) -> None:
        """A rep's ``below_target`` (the session page's "short of the target") says what its angles say against the
        set's ``target`` (the one ``romcam analyze`` or the live coach judged it by, kept with the summary), give or
        take the rounding of the angles: a rep 10° short of the target sent as reaching it would hide the shortfall
        from the PT. Null (not known, or no target) is never contradicted."""
        target = (self.model_extra or {}).get("target")
        if isinstance(target, bool) or not isinstance(target, int | float) or not math.isfinite(target):
            return
        works = default_catalog().get(self.exercise).works
        for i, r in enumerate(self.reps):
            if r.below_target is None:
                continue
            end, name = (r.max_angle, "max_angle") if works == "max" else (r.min_angle, "min_angle")
            short = end < target - ROUNDING_DEG if works == "max" else end > target + ROUNDING_DEG
            there = end >= target + ROUNDING_DEG if works == "max" else end <= target - ROUNDING_DEG
            if (short and r.below_target is False) or (there and r.below_target is True):
                said = "reached" if r.below_target is False else "fell short of"
                raise field_errors([(("reps", i, "below_target"), f"in {which}, reps[{i}] says it {said} the target "
                                     f"({target:g}°), but its {name} is {end:g}° — below_target is whether the rep "
                                     "fell short of the set's target: true, false, or null when not known",
                                     r.below_target)])

    def _reps_in_samples(self, which: str) -> None:
        """Each rep lies within the set's samples (its times are times of its samples) and its furthest angle is
        one of them: a rep past the end of the recording, or a peak of 150° where the samples between its start
        and end never passed 90°, is not a measurement. A set sent without samples is not checked here."""
        if not self.samples:
            return
        first, last = self.samples[0].t, self.samples[-1].t
        slack = 1.0 / self.fps + 0.01  # times go through float32 on a laptop (romcam.store.blob)
        works = default_catalog().get(self.exercise).works
        times = [x.t for x in self.samples]  # in time order (checked above)
        for i, r in enumerate(self.reps):
            if r.start < first - slack:
                raise field_errors([(("reps", i, "start"), f"in {which}, reps[{i}] starts at {r.start} s, before the "
                                     f"set's first sample ({first} s): a rep lies within the samples it was measured "
                                     "on — send the samples with it, or the rep's times on their clock", r.start)])
            if r.end > last + slack:
                raise field_errors([(("reps", i, "end"), f"in {which}, reps[{i}] ends at {r.end} s, after the set's "
                                     f"last sample ({last} s): a rep lies within the samples it was measured on — "
                                     "send the samples with it, or the rep's times on their clock", r.end)])
            lo, hi = bisect_left(times, r.start - TIME_EPS_S), bisect_right(times, r.end + TIME_EPS_S)
            seen = [x.angle for x in self.samples[lo:hi] if x.angle is not None]
            if not seen:
                raise field_errors([(("reps", i, "start"), f"in {which}, reps[{i}] ({r.start} to {r.end} s) has no "
                                     "measured sample: a rep is measured on the samples between its start and end",
                                     r.start)])
            if works == "max" and r.max_angle > max(seen) + ROUNDING_DEG:
                raise field_errors([(("reps", i, "max_angle"), f"in {which}, reps[{i}] max_angle {r.max_angle}° is "
                                     f"not in its own samples: the highest measured between its start ({r.start} s) "
                                     f"and end ({r.end} s) is {max(seen):g}° — a rep's peak is one of its samples",
                                     r.max_angle)])
            if works == "min" and r.min_angle < min(seen) - ROUNDING_DEG:
                raise field_errors([(("reps", i, "min_angle"), f"in {which}, reps[{i}] min_angle {r.min_angle}° is "
                                     f"not in its own samples: the lowest measured between its start ({r.start} s) "
                                     f"and end ({r.end} s) is {min(seen):g}° — a rep's peak is one of its samples",
                                     r.min_angle)])

    @property
    def works(self) -> str:
        return default_catalog().get(self.exercise).works

    @property
    def best_angle(self) -> float | None:
        return self.max_angle if self.works == "max" else self.min_angle

    @property
    def best_seen(self) -> bool:
        """False when any rep's furthest point may have gone unseen: the set's best angle is then a
        bound on the range reached, not a measurement. From the reps, whatever the document says."""
        return all(r.peak_seen for r in self.reps)

    def summary(self) -> dict[str, Any]:
        """The analyze document without its samples and reps (kept with the stored set); a
        ``best_seen`` it states is replaced by the one its reps give."""
        out = self.model_dump(mode="json", by_alias=True, exclude={"samples", "reps"})
        if "best_seen" in out:
            out["best_seen"] = self.best_seen
        return out


class SessionDoc(CheckedInput):
    model_config = ConfigDict(extra="forbid")

    schema_: Literal["romcam.session/1"] = Field(alias="schema")
    id: Uuid
    patient_id: Uuid
    started_at: PastTime
    ended_at: PastTime | None = None
    source: str = Field("", max_length=200)
    status: Status = "complete"
    demo: bool = False
    model: str = Field("", max_length=200)
    romcam_version: str = Field("", max_length=40)
    sets: list[SetDoc] = Field(default_factory=list, max_length=200)
    clock_off_s: int | None = Field(None, ge=-CLOCK_OFF_MAX_S, le=CLOCK_OFF_MAX_S,
                                    description="the sending laptop's clock less the clinic's when it sent this "
                                    "session (seconds; negative: behind); absent within 5 minutes")

    @model_validator(mode="after")
    def _times(self) -> SessionDoc:
        if self.ended_at is not None and self.ended_at < self.started_at:
            raise field_errors([("ended_at", "ended_at is before started_at", self.ended_at)])
        slack = timedelta(seconds=SET_OUTSIDE_SESSION_S)
        for i, s in enumerate(self.sets):
            if s.started_at is None:
                continue
            which = f"sets[{i}] ({s.exercise}, {s.side})"
            if s.started_at < self.started_at - slack:
                raise field_errors([(("sets", i, "started_at"), f"{which} starts at {s.started_at.isoformat()}, before "
                                     f"its session ({self.started_at.isoformat()}): a set is done during its session "
                                     "— check the set's started_at and the session's", s.started_at)])
            if self.ended_at is not None and s.started_at > self.ended_at + slack:
                raise field_errors([(("sets", i, "started_at"), f"{which} starts at {s.started_at.isoformat()}, after "
                                     f"its session ended ({self.ended_at.isoformat()}): a set is done during its "
                                     "session — check the set's started_at and the session's ended_at",
                                     s.started_at)])
        return self

    def canonical_json(self) -> str:
        """The document as hashed and uploaded: sorted keys, no spaces, ``peak_seen`` left out where
        true (the default), so documents from before the field existed keep their hash."""
        doc = self.model_dump(mode="json", by_alias=True)
        if doc["clock_off_s"] is None:
            del doc["clock_off_s"]
        for s in doc["sets"]:
            for r in s["reps"]:
                if r["peak_seen"]:
                    del r["peak_seen"]
        return json.dumps(doc, sort_keys=True, separators=(",", ":"))

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


def set_from_analysis(document: dict[str, Any], *, mode: str, posture: str,
                      prescription_id: uuid.UUID | None = None, prescription_version: int | None = None,
                      started_at: datetime | None = None) -> dict[str, Any]:
    """One set of a session document from a ``romcam analyze`` document (its error and warnings cut to
    the document's 1000 characters: a message naming a long video path may run over)."""
    document = dict(document)
    if isinstance(document.get("error"), str):
        document["error"] = document["error"][:1000]
    if isinstance(document.get("warnings"), list):
        document["warnings"] = [w[:1000] if isinstance(w, str) else w for w in document["warnings"]][:50]
    return {**document, "mode": mode, "posture": posture,
            "prescription_id": str(prescription_id) if prescription_id else None,
            "prescription_version": prescription_version,
            "started_at": started_at.isoformat() if started_at else None}


def session_document(sets: list[dict[str, Any]], *, patient_id: uuid.UUID, started_at: datetime,
                     ended_at: datetime | None = None, session_id: uuid.UUID | None = None, source: str = "",
                     status: str = "complete", demo: bool = False, model: str = "") -> dict[str, Any]:
    """A ``romcam.session/1`` document around ``sets`` (each from :func:`set_from_analysis`)."""
    if ended_at is None:
        longest = max((s.get("frames", 0) / s["fps"] for s in sets if s.get("fps")), default=0.0)
        ended_at = started_at + timedelta(seconds=math.ceil(longest))
    return {
        "schema": SCHEMA,
        "id": str(session_id or uuid.uuid4()),
        "patient_id": str(patient_id),
        "started_at": started_at.astimezone(UTC).isoformat(),
        "ended_at": ended_at.astimezone(UTC).isoformat(),
        "source": source,
        "status": status,
        "demo": demo,
        "model": model,
        "romcam_version": __version__,
        "sets": sets,
    }


def from_analysis(document: dict[str, Any], *, patient_id: uuid.UUID, mode: str = "active",
                  posture: str = "standing", prescription_id: uuid.UUID | None = None,
                  prescription_version: int | None = None, started_at: datetime | None = None,
                  source: str = "", demo: bool = False, session_id: uuid.UUID | None = None) -> dict[str, Any]:
    """The session document of one analysed video: what ``romcam analyze --save`` stores."""
    started_at = started_at or datetime.now(UTC)
    one = set_from_analysis(document, mode=mode, posture=posture, prescription_id=prescription_id,
                            prescription_version=prescription_version, started_at=started_at)
    status = "interrupted" if document.get("error") else "complete"
    source = source or f"video {Path(document.get('video') or '').name}"
    return session_document([one], patient_id=patient_id, started_at=started_at, source=source[:200],
                            status=status, demo=demo, model=document.get("model", ""), session_id=session_id)


def clock_note(off_s: float | None) -> str | None:
    """What the PT reads next to a session's times when the laptop that sent it had its clock off from the
    clinic's (``off_s``: the laptop's less the clinic's, seconds): "this laptop's clock was 26 hours behind
    the clinic's when it sent this session" (seconds under a minute, minutes under 2 hours, hours under 2 days,
    then days; the same sizes as the laptop's own panel); None when nothing was said."""
    if off_s is None or off_s == 0:
        return None
    a = abs(off_s)
    if a >= 2 * 86400:
        size = f"{round(a / 86400)} days"
    elif a >= 2 * 3600:
        size = f"{round(a / 3600)} hours"
    elif a >= 90:
        size = f"{round(a / 60)} minutes"
    else:  # a direct API client may send a small offset: "1 minutes" and "0 minutes" misread
        size = "1 minute" if a >= 60 else f"{round(a)} second{'' if round(a) == 1 else 's'}"
    return (f"this laptop's clock was {size} {'behind' if off_s < 0 else 'ahead of'} the clinic's when it sent this "
            "session: its times are the laptop's")
