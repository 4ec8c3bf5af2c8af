"""Offline analysis of one video: source → pose → angles → filter → reps → the result document.

``analyze_video`` is what ``romcam analyze`` runs; the live coach reuses every stage but the
last, and the accuracy benchmark runs exactly this.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__, sample_rate
from .angles import reads_limb_axes
from .catalog import Motion, get_motion
from .errors import CorruptVideoError, NoPersonError, RomcamError, UsageError
from .filters import smooth_zero_phase
from .landmarks import PoseFrame
from .measure import MotionMeter, Sample
from .reps import Rep, auto_hysteresis, detect_reps
from .safe_limits import PastSafe as PastSafe  # the rule lives there, shared with the store
from .safe_limits import past_safe as past_safe
from .subject import MIN_HITS_TO_LOCK, SelectorError, SubjectTracker, parse_selector

VIEW_OK_MIN_FRACTION = 0.8  # below this share of measured frames the view is reported not ideal

ProgressFn = Callable[[int, int | None], None]


@dataclass
class Analysis:
    """The measured angle signal of one exercise in one video, and its repetitions."""

    motion: Motion
    side: str
    video: str
    fps: float
    frames: int
    samples: list[Sample]
    smoothed: np.ndarray  # zero-phase filtered angle per sample, NaN where missing
    reps: list[Rep]
    model: str = ""
    subject: str = ""  # the subject selector, and how the subject was chosen
    subject_confirmed: bool | None = None
    target: float | None = None
    safe_max: float | None = None  # the PT's safe limits: each rep that went past one is flagged (past_safe)
    safe_min: float | None = None
    error: RomcamError | None = None  # the video broke part-way: what came before is kept
    mode: str = "active"  # active | active_assisted | passive (a caregiver moved the limb)
    posture: str | None = None  # the patient's posture (standing | seated | lying), when given
    setup: dict | None = None  # the camera setup for a seated or lying patient (romcam/data/setup.toml)
    warnings: list[str] = field(default_factory=list)

    @property
    def frames_with_subject(self) -> int:
        return sum(1 for s in self.samples if s.has_subject)

    @property
    def measured(self) -> int:
        return int(np.sum(np.isfinite(self.smoothed)))

    @property
    def view_ok_fraction(self) -> float:
        seen = [s.view_ok for s in self.samples if s.view_ok is not None]
        return float(np.mean(seen)) if seen else 0.0

    @property
    def max_angle(self) -> float | None:
        return _finite_or_none(np.nanmax(self.smoothed)) if self.measured else None

    @property
    def min_angle(self) -> float | None:
        return _finite_or_none(np.nanmin(self.smoothed)) if self.measured else None

    @property
    def best_seen(self) -> bool:
        """False when a rep's furthest point may have fallen in unmeasured frames
        (``Rep.peak_seen``): the best angle is then a bound on the range reached, not a measure of it."""
        return all(r.peak_seen for r in self.reps)

    @property
    def sample_fps(self) -> float | None:
        """Frames of the movement measured a second (:func:`romcam.sample_rate.sample_fps`): a video below
        ``MIN_COUNT_FPS`` has too few to be sure of the rep count and the peaks (``too_few_frames``)."""
        return sample_rate.sample_fps([s.t for s in self.samples], self.smoothed.tolist())

    @property
    def too_few_frames(self) -> bool:
        return sample_rate.too_few_frames(self.sample_fps)

    def rep_past_safe(self, rep: Rep) -> PastSafe | None:
        """Which of the PT's safe limits ``rep`` went past (:func:`past_safe`), from its two extremes."""
        return past_safe(rep.max_angle, rep.min_angle, safe_max=self.safe_max, safe_min=self.safe_min)

    @property
    def past_safe(self) -> PastSafe | None:
        """Which safe limits the whole signal went past, at any moment measured: inside a rep or not."""
        return past_safe(self.max_angle, self.min_angle, safe_max=self.safe_max, safe_min=self.safe_min)

    def to_document(self) -> dict:
        """The ``romcam analyze --json`` document (fields may be added, never renamed)."""
        samples = []
        for s, a in zip(self.samples, self.smoothed, strict=True):
            samples.append({
                "t": round(s.t, 3),
                "angle": _round(a, 1),
                "angle_raw": _round(s.angle, 1),
                "confidence": round(float(s.confidence), 2),
                "view_ok": s.view_ok,
            })  # fmt: skip
        m = self.motion
        return {
            "schema": "romcam.analysis/1",
            "exercise": m.id,
            "exercise_name": m.display_name,
            "experimental": m.experimental,
            "side": self.side,
            "video": self.video,
            "fps": round(self.fps, 3),
            "frames": self.frames,
            "frames_with_subject": self.frames_with_subject,
            "subject": self.subject or None,
            "subject_confirmed": self.subject_confirmed,
            "frames_measured": self.measured,
            "view_ok_fraction": round(self.view_ok_fraction, 3),
            "required_view": m.view,
            "method": m.method,
            "works": m.works,
            "mode": self.mode,
            "posture": self.posture,
            "setup": self.setup,
            "target": self.target,
            "safe_max": self.safe_max,
            "safe_min": self.safe_min,
            "normal_range": {"min": m.normal.min, "max": m.normal.max, "source": m.normal.citation},
            "samples": samples,
            "reps": [r.to_dict() | {"past_safe": self.rep_past_safe(r)} for r in self.reps],
            "max_angle": _round(self.max_angle, 1),
            "min_angle": _round(self.min_angle, 1),
            "past_safe": self.past_safe,
            "best_seen": self.best_seen,
            "sample_fps": _round(self.sample_fps, 1),
            "too_few_frames": self.too_few_frames,
            "warnings": list(self.warnings),
            "error": str(self.error) if self.error else None,
            "model": self.model,
            "romcam_version": __version__,
        }


def _finite_or_none(v: float) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None


def _round(v: float | None, digits: int) -> float | None:
    if v is None or not math.isfinite(v):
        return None
    return round(float(v), digits)


def summarize(motion: Motion, side: str, samples: list[Sample], *, fps: float, video: str, frames: int,
              target: float | None = None, model: str = "", error: RomcamError | None = None,
              mode: str = "active") -> Analysis:
    """Filter the measured samples and find the reps (the offline end of the pipeline); ``mode`` says who
    moved the limb (a caregiver in passive mode: the warnings speak to them)."""
    t = np.array([s.t for s in samples], dtype=float)
    raw = np.array([s.angle for s in samples], dtype=float)
    smoothed = smooth_zero_phase(t, raw) if np.isfinite(raw).any() else raw.copy()
    reps: list[Rep] = []
    if np.isfinite(smoothed).any():
        # the noise is judged on the raw angles (smoothing hides it), the cycles on the smoothed
        reps = detect_reps(t, smoothed, works=motion.works, target=target, hysteresis=auto_hysteresis(raw))
    result = Analysis(motion=motion, side=side, video=video, fps=fps, frames=frames, samples=samples,
                      smoothed=smoothed, reps=reps, model=model, target=target, error=error, mode=mode)
    result.warnings.extend(_warnings(result))
    return result


def _warnings(a: Analysis) -> list[str]:
    out = []
    m = a.motion
    if m.experimental:
        out.append(f"{m.name} is experimental: {m.experimental_reason}")
    if a.frames_with_subject and a.view_ok_fraction < VIEW_OK_MIN_FRACTION:
        if a.mode == "passive":  # said to the caregiver, who moved the limb
            how = ("turn the patient to face the camera" if m.view == "front"
                   else f"turn the patient so their {a.side} side faces the camera")
        else:
            how = ("face the camera" if m.view == "front" else f"turn so your {a.side} side faces the camera")
        out.append(
            f"the camera view is not ideal for {m.name.lower()}: it needs a {m.view} view "
            f"(right in {a.view_ok_fraction:.0%} of frames) — {how}; angles are low-confidence"
        )
    unseen = [i for i, r in enumerate(a.reps, 1) if not r.peak_seen]
    if unseen:
        out.append(
            f"the {a.side} {m.joint} was out of view at the furthest point of {repetitions(unseen)} "
            f"(of {len(a.reps)}): "
            "the angle shown is the furthest seen, at least this far, not how far it went — keep the "
            "whole limb in view, with no hand over the joint"
        )
    if a.frames_with_subject and a.measured < 0.5 * a.frames_with_subject:
        out.append(
            f"the {a.side} {m.joint} was hidden in {1 - a.measured / a.frames_with_subject:.0%} of the "
            "frames with a person: keep the whole limb in view"
        )
    return out


def repetitions(numbers: list[int]) -> str:
    """"repetition 2" or "repetitions 1, 3" (rep numbers from 1)."""
    return (f"repetition {numbers[0]}" if len(numbers) == 1
            else f"repetitions {', '.join(map(str, numbers))}")


def posture_setup(a: Analysis, posture: str | None) -> None:
    """A seated or lying patient cannot turn to the camera: when the view was not ideal, the view
    warning says where the camera goes instead (romcam/data/setup.toml)."""
    from .setup_guide import setup_for

    setup = setup_for(a.motion.id, posture, a.side)
    if setup is None:
        return
    a.setup = setup.to_dict()
    prefix = "the camera view is not ideal for "
    for i, w in enumerate(a.warnings):
        if w.startswith(prefix):
            a.warnings[i] = (f"{prefix}{a.motion.name.lower()} {posture}: it needs a {a.motion.view} view (right in "
                             f"{a.view_ok_fraction:.0%} of frames); angles are low-confidence — {setup.sentence()}")


def analyze_pose_frames(frames: Iterable[PoseFrame], motion: Motion, side: str, *, fps: float, video: str,
                        target: float | None = None, model: str = "",
                        subject: SubjectTracker | None = None) -> Analysis:
    """Analyse pose frames already estimated (tests, the live coach's end-of-set pass)."""
    meter = MotionMeter(motion, side, subject=subject)
    samples = [meter.update(f) for f in frames]
    return summarize(motion, side, samples, fps=fps, video=video, frames=len(samples), target=target,
                     model=model)


def analyze_video(path: str | os.PathLike[str], exercise: str, side: str = "left", *,
                  target: float | None = None, safe_max: float | None = None, safe_min: float | None = None,
                  model_path: str | os.PathLike[str] | None = None,
                  progress: ProgressFn | None = None, subject: str = "auto",
                  posture: str | None = None, people: int = 1, mode: str = "active",
                  observe: Callable[[PoseFrame, SubjectTracker, Sample], None] | None = None) -> Analysis:
    """Measure ``exercise`` on the patient's ``side`` in the video at ``path``.

    ``subject`` chooses the patient among the people in frame (``auto|image-left|image-right|lying|
    seated|X,Y``, see :mod:`romcam.subject`); ``posture`` (the prescription's) helps ``auto``;
    ``people`` is how many people the pose model looks for (a second pass finds the ones it misses).
    Look for one unless a second person is expected (passive or assisted ROM): with ``num_poses=2``
    MediaPipe's VIDEO-mode landmarks are noisier (on the real squat video the knee peaks moved 4-6°).

    ``safe_max`` and ``safe_min`` are the PT's safe limits: each rep that went past one says so
    (``past_safe`` in the document).

    ``observe`` (benchmarks) is called after each frame with the pose frame, the subject tracker and
    the sample.

    Raises :class:`NoPersonError` when no frame has a person. When the video breaks part-way the
    returned analysis covers the frames before the break and carries the error in ``error``.
    """
    from .pose import PoseEstimator
    from .source import VideoFileSource, prefetched, skipped_warning

    motion = get_motion(exercise)
    if side not in ("left", "right"):
        raise UsageError(f"--side must be left or right, got {side!r}")
    try:
        selector = parse_selector(subject)
    except SelectorError as exc:
        raise UsageError(f"--subject: {exc}") from None
    people = max(1, int(people))
    tracker = SubjectTracker(selector, posture=posture, people=people)
    samples: list[Sample] = []
    with_people = 0  # frames in which the pose model found anyone
    error: RomcamError | None = None
    with VideoFileSource(path) as source, PoseEstimator(model_path, num_poses=people,
                                                        expected_people=people if people > 1 else None,
                                                        second_pass_every=1,
                                                        limb_axes=reads_limb_axes(motion)) as estimator:
        meter = MotionMeter(motion, side, subject=tracker)
        try:
            # decoding runs ahead in a second thread, overlapped with the pose model (benchmarks/perf.py)
            for frame in prefetched(source):
                # with a caregiver in frame the pose stage looks again around the patient (romcam.pose)
                pose_frame = estimator.process(frame.image, frame.t, frame.index, focus=tracker.focus())
                with_people += bool(pose_frame.poses)
                samples.append(meter.update(pose_frame))
                if observe is not None:
                    observe(pose_frame, tracker, samples[-1])
                if progress:
                    progress(frame.index + 1, source.frame_count)
        except CorruptVideoError as exc:
            error = exc
        fps = source.fps
        model = estimator.model_path.name
        skipped = skipped_warning(Path(path).name, source.frames_skipped, source.frame_count or 0, fps) \
            if source.frames_skipped else None
    if samples and not any(s.has_subject for s in samples):
        if error is not None:  # the file broke before anyone could be measured: that is the news
            raise error
        if 0 < with_people < MIN_HITS_TO_LOCK:  # someone was there, too briefly to be followed
            raise NoPersonError(
                f"{Path(path).name} is too short to measure: a person is in {with_people} of its "
                f"{len(samples)} frames, and romcam follows someone seen in at least {MIN_HITS_TO_LOCK} — "
                "record a longer video (a second or more)"
            )
        raise NoPersonError(
            f"no person found in any of the {len(samples)} frames of {Path(path).name} — make sure the "
            "whole body is in view and well lit"
        )
    result = summarize(motion, side, samples, fps=fps, video=os.fspath(path), frames=len(samples),
                       target=target, model=model, error=error, mode=mode)
    result.posture = posture
    result.safe_max, result.safe_min = safe_max, safe_min
    posture_setup(result, posture)
    if skipped is not None:  # damaged in the middle: the times after the damage are early (romcam.source)
        result.warnings.insert(0, skipped)
    result.subject = f"{selector}: {tracker.reason}" if tracker.reason else str(selector)
    result.subject_confirmed = tracker.confirmed if tracker.reason else None
    if tracker.reason and not tracker.confirmed:
        result.warnings.append(
            f"the patient was chosen as {tracker.reason}: check it is the patient, or choose with --subject "
            "(image-left, image-right, lying, seated, or X,Y where the patient is in the image)")
    return result
