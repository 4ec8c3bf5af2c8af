"""Pose estimation: a small wrapper over MediaPipe Tasks ``PoseLandmarker`` in VIDEO mode.

The only module that imports MediaPipe. It converts MediaPipe's results once, here, into
:class:`romcam.landmarks.PoseFrame` arrays.

Person masks: every landmarker here also gives each person's segmentation mask, and each pose
carries the share of each limb segment that lies on it (``Pose.support``, read in the picture the
landmarker saw: the frame, a turned copy or the patient's crop). The angle engine does not measure
a segment drawn where the mask sees no one (``romcam.measure``). Asked for them (``limb_axes``: the
motions :func:`romcam.angles.reads_limb_axes` names), each pose also carries the thighs' long axes, the
shins' and the soles' lines in its mask (``Pose.axes``, :mod:`romcam.limb_axes`), which the angle engine
measures on in side views.
The masks cost the model about a tenth of its speed (benchmarks/results/perf.md).

Second pass (``expected_people``): with ``num_poses=2`` MediaPipe's VIDEO mode often finds only
one of two people (its detector runs only when tracking is lost, and a second person who enters
later, or is small, stays unseen; a patient lying in bed is often missed altogether). When fewer
than ``expected_people`` are found, the estimator runs a second landmarker on the frame with every
person already found painted out — upright and turned 90° each way, since the detector finds
upright people far better than lying ones — and adds what it finds there, mapped back to the frame.
It runs at most every ``second_pass_every`` frames and only while someone is missing: one to three
extra inferences then (the turn that last found someone is tried first). After a pass that finds
no one the next paints out only heads and shoulders (a caregiver bending over the bed can come out
of the first pass with the patient's legs, and painting out that body paints out the patient).
With several people expected, each pose also carries the colour signature of its trunk
(:mod:`romcam.appearance`), which the subject tracker uses to tell people apart where they overlap.

Patient pass (``focus``): with a caregiver in frame the model's landmarks for the patient suffer where
the two overlap (it fuses the caregiver's trunk with the patient's legs, or draws the patient's resting
leg along the caregiver's arm). Once the subject tracker knows where a lying or seated patient is
(:meth:`romcam.subject.SubjectTracker.focus`), :meth:`PoseEstimator.process` crops the frame to the
patient's recent region (the union of their boxes over their last 30 sightings, plus half a torso
length and 15 % of the region each side) and runs a dedicated one-person VIDEO-mode landmarker on the crop. When
the person it finds there has the patient's torso (within ``FOCUS_MATCH`` torso lengths), that pose,
mapped back to the frame, replaces the frame's detections of the patient. When it finds someone else
in a lying patient's crop (the upright caregiver, whom the detector prefers), the landmarker is made
afresh (VIDEO mode would go on tracking her) and its next detection sees the crop with her head and
upper trunk painted out. One extra inference per frame, only while a caregiver is expected and the
patient is known.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from . import appearance
from .errors import ModelError
from .landmarks import (
    NUM_LANDMARKS,
    TORSO,
    Focus,
    Pose,
    PoseFrame,
    segment_support,
    torso_distance,
    torso_length,
    trunk_length,
)
from .limb_axes import limb_axes

# MediaPipe (glog, LiteRT) logs a page of start-up noise; quiet it before the first import.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# MediaPipe's native library sends usage telemetry to play.googleapis.com (Clearcut), with no opt-out
# (google-ai-edge/mediapipe#6291). Its HTTP client follows curl's `all_proxy`: a closed loopback port
# keeps that traffic on this machine (tests/test_no_frames.py watches every connection). Python's
# urllib and websockets ignore `all_proxy`; an httpx/requests client in romcam must not trust env proxies.
os.environ["all_proxy"] = "http://127.0.0.1:9"

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "pose_landmarker_full.task"


def default_model_path() -> Path:
    """The bundled model: ``$ROMCAM_MODEL`` if set, else ``models/pose_landmarker_full.task``."""
    env = os.environ.get("ROMCAM_MODEL")
    return Path(env) if env else DEFAULT_MODEL


POSE_BUNDLE_FILES = ("pose_detector.tflite", "pose_landmarks_detector.tflite")  # inside every pose_landmarker_*.task


def check_model(model_path: str | os.PathLike[str] | None = None) -> Path:
    """The pose model bundle to use (``model_path``, else :func:`default_model_path`), checked without
    loading MediaPipe: it must be a MediaPipe pose landmarker ``.task`` bundle (a zip holding the
    detector and the landmark model), such as the bundled full model or the official
    ``pose_landmarker_lite.task`` / ``pose_landmarker_heavy.task``. Raises :class:`ModelError`
    (exit code 9) saying what is wrong and what to pass instead."""
    import zipfile

    path = Path(model_path) if model_path is not None else default_model_path()
    hint = "pass --model with the path of a pose_landmarker_*.task file (lite, full or heavy)"
    if not path.exists():
        raise ModelError(f"pose model not found at {path} — reinstall romcam or {hint}")
    if path.is_dir():
        raise ModelError(f"{path} is a folder, not a pose model — {hint}")
    try:
        with zipfile.ZipFile(path) as bundle:
            names = set(bundle.namelist())
    except (zipfile.BadZipFile, OSError):
        raise ModelError(f"{path} is not a MediaPipe model bundle (.task) — {hint}") from None
    missing = [n for n in POSE_BUNDLE_FILES if n not in names]
    if missing:
        raise ModelError(f"{path} is a MediaPipe bundle but not a pose landmarker (it lacks {', '.join(missing)})"
                         f" — {hint}")
    return path


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence what MediaPipe's C++ side writes straight to file descriptor 2."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # pytest capture or no real stderr
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """BGR, BGRA or grayscale uint8 → contiguous RGB uint8 (what ``mp.Image`` needs)."""
    import cv2

    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        rgb = cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2RGB)
    elif image.ndim == 3 and image.shape[2] == 4:
        rgb = cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    elif image.ndim == 3 and image.shape[2] == 3:
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    else:
        raise ValueError(f"expected a grayscale, BGR or BGRA image, got an array of shape {image.shape}")
    if rgb.dtype != np.uint8:
        raise ValueError(f"expected 8-bit pixels (uint8), got {rgb.dtype}")
    return np.ascontiguousarray(rgb)


class PoseEstimator:
    """MediaPipe PoseLandmarker in VIDEO mode over a sequence of frames.

    Frames must come in order; their times (seconds in the source) become MediaPipe's
    timestamps, forced strictly increasing in whole milliseconds as VIDEO mode requires.
    Use it as a context manager (or call :meth:`close`): MediaPipe's landmarker raises at
    interpreter exit when left open.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        num_poses: int = 1,
        min_detection_confidence: float = 0.5,
        min_presence_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        expected_people: int | None = None,
        second_pass_every: int = 3,
        limb_axes: bool = True,
    ) -> None:
        path = check_model(model_path)
        with _quiet_native_stderr():
            from mediapipe.tasks.python import BaseOptions, vision

            options = vision.PoseLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(path)),
                running_mode=vision.RunningMode.VIDEO,
                num_poses=num_poses,
                min_pose_detection_confidence=min_detection_confidence,
                min_pose_presence_confidence=min_presence_confidence,
                min_tracking_confidence=min_tracking_confidence,
                output_segmentation_masks=True,
            )
            try:
                self._landmarker = vision.PoseLandmarker.create_from_options(options)
            except (RuntimeError, ValueError) as exc:
                raise ModelError(f"cannot load pose model {path}: {exc}") from None
            self._second: dict[int, object] | None = None
            self._focus: object | None = None
            if expected_people is not None and expected_people > 1:
                # one VIDEO-mode landmarker per turn of the picture: each tracks the person it found from
                # frame to frame (steadier landmarks than a fresh detection every frame)
                second = vision.PoseLandmarkerOptions(
                    base_options=BaseOptions(model_asset_path=str(path)),
                    running_mode=vision.RunningMode.VIDEO,
                    num_poses=expected_people - 1,
                    min_pose_detection_confidence=min_detection_confidence,
                    min_pose_presence_confidence=min_presence_confidence,
                    min_tracking_confidence=min_tracking_confidence,
                    output_segmentation_masks=True,
                )
                self._second = {turn: vision.PoseLandmarker.create_from_options(second) for turn in SECOND_PASS_TURNS}
                # the patient pass: one person, in the crop around the patient, tracked from frame to frame
                self._focus_options = dataclasses.replace(second, num_poses=1)
                self._focus = vision.PoseLandmarker.create_from_options(self._focus_options)
        self.expected_people = expected_people
        # read the thighs', shins' and soles' outlines (angles.reads_limb_axes: who needs them)
        self.limb_axes = limb_axes
        self.second_pass_every = max(1, int(second_pass_every))
        self._frames_since_second = self.second_pass_every
        self.focus_runs = 0  # how many patient passes ran (benchmarks, tests)
        self.focus_used = 0  # ... and how many found the patient there (their pose replaced the frame's)
        self._focus_seek = True  # the patient landmarker will detect afresh (new, or reset after a miss)
        self.focus_resets = 0
        self._focus_reset_ms = -FOCUS_RESEEK_MS
        self.second_pass_runs = 0  # how many second passes ran (benchmarks, tests)
        self.second_pass_found = 0  # people the second pass added, summed over frames
        self._second_turn = 0  # the turn of the picture (np.rot90) that last found someone
        self._second_whole = True  # the second pass paints out whole bodies (else heads and shoulders only)
        self.model_path = path
        self._last_ms = -1
        self._warm = False

    def process(self, image: np.ndarray, t: float, index: int = 0, focus: Focus | None = None) -> PoseFrame:
        """Find the people in one frame (``image`` BGR/BGRA/gray uint8, ``t`` seconds). ``focus``: where
        the patient is (several people expected): the patient pass looks for them in that region."""
        import mediapipe as mp

        rgb = to_rgb(image)
        ms = max(int(round(t * 1000.0)), self._last_ms + 1)
        self._last_ms = ms
        mp_image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        if self._warm:
            result = self._landmarker.detect_for_video(mp_image, ms)
        else:  # the first inference prints LiteRT warnings
            with _quiet_native_stderr():
                result = self._landmarker.detect_for_video(mp_image, ms)
            self._warm = True
        height, width = rgb.shape[:2]
        poses = tuple(
            _to_pose(image_lms, world_lms, width, height, mask, self.limb_axes)
            for image_lms, world_lms, mask in zip(result.pose_landmarks, result.pose_world_landmarks, _masks(result),
                                                  strict=True)
        )
        found_first = len(poses) if self.expected_people is not None and self.expected_people > 1 else None
        self._frames_since_second += 1
        if (self._second is not None and self.expected_people is not None and len(poses) < self.expected_people
                and self._frames_since_second >= self.second_pass_every):
            self._frames_since_second = 0
            poses = poses + self._second_pass(rgb, poses, ms)
        if focus is not None and self._focus is not None:
            poses = self._focus_pass(rgb, poses, focus, ms)
        if self._second is not None:  # several people expected: what their clothes look like tells them apart
            poses = tuple(dataclasses.replace(p, signature=appearance.signature(rgb, p)) for p in poses)
        return PoseFrame(index=index, t=t, width=width, height=height, poses=poses, found_first=found_first)

    def _second_pass(self, rgb: np.ndarray, found: tuple[Pose, ...], ms: int) -> tuple[Pose, ...]:
        """Look for the people the first pass missed: paint out everyone found (their body, not their
        whole box: a caregiver leaning over a bed covers most of the patient's box), then run the
        second landmarkers (VIDEO mode, one per turn, so each tracks whom it found) on that picture
        upright and turned 90° each way — the detector finds upright people far better than lying
        ones — and map what they find back to the frame. The turn that found someone goes first.

        When a pass finds no one, the next paints out only the heads and shoulders of the people
        found (and back again after a miss): a caregiver bending over a bed can come out of the
        first pass as one "person" whose trunk and arms are the caregiver's and whose hips and legs
        are the patient's, and painting out that body paints out the patient."""
        import mediapipe as mp

        height, width = rgb.shape[:2]
        whole = self._second_whole
        masked = _paint_out(rgb, found) if whole else _paint_out_upper(rgb, list(found))
        self.second_pass_runs += 1
        extra: list[Pose] = []
        order = [self._second_turn] + [k for k in SECOND_PASS_TURNS if k != self._second_turn]
        for turn in order:
            view = np.ascontiguousarray(np.rot90(masked, turn))
            result = self._second[turn].detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=view), ms)
            for image_lms, world_lms, mask in zip(result.pose_landmarks, result.pose_world_landmarks, _masks(result),
                                                  strict=True):
                pose = _unturn(_to_pose(image_lms, world_lms, view.shape[1], view.shape[0], mask, self.limb_axes),
                               turn, width, height)
                if all(not _same_person(pose, p) for p in (*found, *extra)):
                    extra.append(pose)
            if extra:
                self._second_turn = turn
                break
            if len(found) + len(extra) >= (self.expected_people or 0):
                break
        self.second_pass_found += len(extra)
        if not extra:
            self._second_whole = not whole
        return tuple(extra)

    def _focus_pass(self, rgb: np.ndarray, found: tuple[Pose, ...], focus: Focus, ms: int) -> tuple[Pose, ...]:
        """The patient pass: run the one-person landmarker on the crop around ``focus``; when it finds
        someone with the patient's torso there, their pose (in frame pixels) replaces the frame's
        detections of the patient. Otherwise ``found`` is returned as it is."""
        import mediapipe as mp

        height, width = rgb.shape[:2]
        x0, y0, x1, y1 = focus.box
        mx = FOCUS_MARGIN * focus.scale + FOCUS_MARGIN_BOX * (x1 - x0)
        my = FOCUS_MARGIN * focus.scale + FOCUS_MARGIN_BOX * (y1 - y0)
        left, top = max(0, int(x0 - mx)), max(0, int(y0 - my))
        right, bottom = min(width, int(np.ceil(x1 + mx))), min(height, int(np.ceil(y1 + my)))
        if right - left < FOCUS_MIN_SIDE or bottom - top < FOCUS_MIN_SIDE:
            return found
        near = FOCUS_MATCH * focus.scale
        seek = self._focus_seek and focus.lying
        if seek:  # the detector prefers the upright caregiver: it sees only their legs and arms this once
            others = [p for p in found if _torso_gap(p, focus.torso) > near]
            rgb = _paint_out_upper(rgb, others, focus.torso) if others else rgb
        self._focus_seek = False
        view = np.ascontiguousarray(rgb[top:bottom, left:right])
        self.focus_runs += 1
        result = self._focus.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=view), ms)
        if not result.pose_landmarks:
            self._focus_seek = True  # VIDEO mode runs its detector on the next frame
            return found
        pose = _to_pose(result.pose_landmarks[0], result.pose_world_landmarks[0], view.shape[1], view.shape[0],
                        _masks(result)[0], self.limb_axes)
        image = pose.image.copy()
        image[:, :2] += (left, top)  # the world landmarks need nothing: the crop only moves the picture
        pose = dataclasses.replace(pose, image=image)
        if _torso_gap(pose, focus.torso) > near:  # someone else (the caregiver) filled the crop
            if focus.lying and ms - self._focus_reset_ms >= FOCUS_RESEEK_MS:
                # VIDEO mode would go on tracking them: start afresh, to seek the patient (making a
                # landmarker costs ~90 ms, so at most once a second)
                self._reset_focus()
                self._focus_reset_ms = ms
            return found
        self.focus_used += 1
        return (pose, *(p for p in found if _torso_gap(p, focus.torso) > near))

    def _reset_focus(self) -> None:
        from mediapipe.tasks.python import vision

        with _quiet_native_stderr():
            self._focus.close()
            self._focus = vision.PoseLandmarker.create_from_options(self._focus_options)
        self._focus_seek = True
        self.focus_resets += 1

    def close(self) -> None:
        landmarkers = [getattr(self, "_landmarker", None), getattr(self, "_focus", None),
                       *(getattr(self, "_second", None) or {}).values()]
        for landmarker in landmarkers:
            if landmarker is not None:
                with _quiet_native_stderr():
                    landmarker.close()
        self._landmarker = None
        self._second = None
        self._focus = None

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _to_pose(image_lms: list, world_lms: list, width: int, height: int, mask: object | None = None,
             axes: bool = True) -> Pose:
    """romcam's pose from MediaPipe's landmarks of one person, in a picture ``width`` × ``height``, with
    ``mask`` (that person's segmentation, an ``mp.Image``) read along the limb segments and, with
    ``axes``, across the legs and the feet (:mod:`romcam.limb_axes`)."""
    if len(image_lms) != NUM_LANDMARKS:
        raise ValueError(f"expected {NUM_LANDMARKS} landmarks from the pose model, got {len(image_lms)}")
    image = np.array([(lm.x * width, lm.y * height, lm.z * width) for lm in image_lms], dtype=np.float64)
    world = np.array([(lm.x, lm.y, lm.z) for lm in world_lms], dtype=np.float64)
    visibility = np.array([lm.visibility or 0.0 for lm in image_lms], dtype=np.float64)
    presence = np.array([lm.presence or 0.0 for lm in image_lms], dtype=np.float64)
    support = outline = None
    if mask is not None:
        m = mask.numpy_view()
        m = m[..., 0] if m.ndim == 3 else m
        support = segment_support(image[:, :2], m)
        if axes:
            outline = limb_axes(image[:, :2], m, trunk_length(image[:, :2]))
    return Pose(image=image, world=world, visibility=visibility, presence=presence, support=support, axes=outline)


def _masks(result: object) -> list:
    """The per-person segmentation masks of a landmarker result (None for each when there are none)."""
    masks = getattr(result, "segmentation_masks", None)
    return list(masks) if masks and len(masks) == len(result.pose_landmarks) else [None] * len(result.pose_landmarks)


# the patient pass's crop: the patient's recent region plus this many torso lengths and this share of the
# region's size each side (a limb being raised leaves the region it has been in; on the two-person
# benchmark a quarter torso and 10 % lost the patient in one scene, a torso and 25 % let the caregiver
# fill the crop)
FOCUS_MARGIN = 0.5
FOCUS_MARGIN_BOX = 0.15
FOCUS_MATCH = 0.6  # torso lengths: the person found in the crop is the patient when their torsos lie this near
FOCUS_RESEEK_MS = 1000  # the patient landmarker is made afresh at most this often (milliseconds of frame time)
FOCUS_MIN_SIDE = 16  # pixels: a smaller crop is not worth a pass

SECOND_PASS_TURNS = (0, 1, 3)  # np.rot90 turns: upright, 90° counter-clockwise, 90° clockwise
# the body drawn as thick strokes to paint a person out (MediaPipe indices: the trunk, the legs, the
# head). Not the arms: a caregiver's arms lie on the patient's limb, and painting them out would
# erase the limb being measured.
_BODY_STROKES = ((11, 12), (11, 23), (12, 24), (23, 24), (23, 25), (25, 27), (24, 26), (26, 28), (27, 31),
                 (28, 32), (0, 11), (0, 12))


def _paint_out(rgb: np.ndarray, people: tuple[Pose, ...]) -> np.ndarray:
    """A copy of ``rgb`` with each person's body painted over in the picture's median colour: thick
    strokes along the trunk and the legs (0.4 of the torso length wide) and the head; the arms stay."""
    import cv2

    out = rgb.copy()
    if not people:
        return out
    fill = tuple(int(v) for v in np.median(rgb.reshape(-1, 3), axis=0))
    for p in people:
        xy = p.image[:, :2]
        torso = max(torso_length(p), 8.0)
        thick = max(4, int(round(0.4 * torso)))
        for a, b in _BODY_STROKES:
            cv2.line(out, (int(xy[a, 0]), int(xy[a, 1])), (int(xy[b, 0]), int(xy[b, 1])), fill, thick, cv2.LINE_8)
        cv2.fillPoly(out, [cv2.convexHull(xy[[11, 12, 24, 23]].astype(np.int32))], fill)
        cv2.circle(out, (int(xy[0, 0]), int(xy[0, 1])), max(4, int(round(0.35 * torso))), fill, -1)
    return out


def _unturn(pose: Pose, turn: int, width: int, height: int) -> Pose:
    """A pose found in ``np.rot90(frame, turn)`` back in the frame's coordinates (image pixels, and
    the world landmarks' x, y turned back the same way; depth unchanged)."""
    if turn == 0:
        return pose
    im = pose.image.copy()
    w = pose.world.copy()
    if turn == 1:  # the view was turned counter-clockwise: x' = y, y' = W - x
        im[:, 0], im[:, 1] = width - pose.image[:, 1], pose.image[:, 0]
        w[:, 0], w[:, 1] = -pose.world[:, 1], pose.world[:, 0]
    elif turn == 3:  # clockwise: x' = H - y, y' = x
        im[:, 0], im[:, 1] = pose.image[:, 1], height - pose.image[:, 0]
        w[:, 0], w[:, 1] = pose.world[:, 1], -pose.world[:, 0]
    else:
        raise ValueError(f"turn must be 0, 1 or 3, got {turn}")
    axes = None
    if pose.axes is not None:  # directions turn as the image x, y do
        axes = pose.axes.copy()
        if turn == 1:
            axes[:, 0], axes[:, 1] = -pose.axes[:, 1], pose.axes[:, 0]
        else:
            axes[:, 0], axes[:, 1] = pose.axes[:, 1], -pose.axes[:, 0]
    return Pose(image=im, world=w, visibility=pose.visibility, presence=pose.presence, support=pose.support,
                axes=axes)


def _same_person(a: Pose, b: Pose) -> bool:
    """``a`` is a re-find of ``b``: their torsos (shoulders, hips) lie within half a torso of each other."""
    return _torso_gap(a, b.image[TORSO, :2]) < 0.5 * torso_length(b)


def _torso_gap(pose: Pose, torso: np.ndarray) -> float:
    """Mean distance (pixels) between ``pose``'s torso landmarks and ``torso`` (4, 2), forgiving a
    left/right swap."""
    return torso_distance(pose.image[TORSO, :2], torso)


def _paint_out_upper(rgb: np.ndarray, people: list[Pose], keep_torso: np.ndarray | None = None) -> np.ndarray:
    """A copy of ``rgb`` with each person's head and upper trunk (the shoulders, the upper half of the
    trunk line, 0.4 torso lengths wide) painted over in the picture's median colour, except on the
    patient's torso (``keep_torso``, (4, 2), widened by 30 %, when given). Their arms and legs stay:
    they lie on the patient's limbs."""
    import cv2

    out = rgb.copy()
    fill = tuple(int(v) for v in np.median(rgb.reshape(-1, 3), axis=0))
    keep = np.zeros(rgb.shape[:2], np.uint8)
    if keep_torso is not None:
        t = keep_torso
        c = t.mean(axis=0)
        cv2.fillPoly(keep, [cv2.convexHull((c + (t - c) * 1.3).astype(np.int32))], 1)
    paint = np.zeros(rgb.shape[:2], np.uint8)
    for p in people:
        xy = p.image[:, :2]
        torso = max(torso_length(p), 8.0)
        thick = max(4, int(round(0.4 * torso)))
        sh = 0.5 * (xy[11] + xy[12])
        mid = sh + 0.5 * (0.5 * (xy[23] + xy[24]) - sh)
        for a, b in ((xy[11], xy[12]), (sh, mid), (xy[0], sh)):
            cv2.line(paint, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), 1, thick)
        cv2.circle(paint, (int(xy[0, 0]), int(xy[0, 1])), max(4, int(round(0.35 * torso))), 1, -1)
    out[(paint > 0) & (keep == 0)] = fill
    return out
