"""Pose estimation: a small wrapper over MediaPipe Tasks ``PoseLandmarker`` in VIDEO mode.

The only module that imports MediaPipe. It converts MediaPipe's results once, here, into
:class:`romcam.landmarks.PoseFrame` arrays.

Second pass (``expected_people``): with ``num_poses=2`` MediaPipe's VIDEO mode often finds only
one of two people (its detector runs only when tracking is lost, and a second person who enters
later, or is small, stays unseen). When fewer than ``expected_people`` are found, the estimator can
run a second, IMAGE-mode landmarker on the frame with every person already found painted out, and
add what it finds there. It runs at most every ``second_pass_every`` frames, so the extra cost is
bounded (about one extra inference per ``second_pass_every`` frames, only while someone is missing).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .errors import ModelError
from .landmarks import NUM_LANDMARKS, Pose, PoseFrame

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
    ) -> None:
        path = Path(model_path) if model_path is not None else default_model_path()
        if not path.is_file():
            raise ModelError(
                f"pose model not found at {path} — reinstall romcam or pass --model with the path "
                "of a pose_landmarker_*.task file"
            )
        with _quiet_native_stderr():
            from mediapipe.tasks.python import BaseOptions, vision

            options = vision.PoseLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(path)),
                running_mode=vision.RunningMode.VIDEO,
                num_poses=num_poses,
                min_pose_detection_confidence=min_detection_confidence,
                min_pose_presence_confidence=min_presence_confidence,
                min_tracking_confidence=min_tracking_confidence,
            )
            try:
                self._landmarker = vision.PoseLandmarker.create_from_options(options)
            except (RuntimeError, ValueError) as exc:
                raise ModelError(f"cannot load pose model {path}: {exc}") from None
            self._second = None
            if expected_people is not None and expected_people > 1:
                second = vision.PoseLandmarkerOptions(
                    base_options=BaseOptions(model_asset_path=str(path)),
                    running_mode=vision.RunningMode.IMAGE,
                    num_poses=expected_people,
                    min_pose_detection_confidence=min_detection_confidence,
                    min_pose_presence_confidence=min_presence_confidence,
                )
                self._second = vision.PoseLandmarker.create_from_options(second)
        self.expected_people = expected_people
        self.second_pass_every = max(1, int(second_pass_every))
        self._frames_since_second = self.second_pass_every
        self.second_pass_runs = 0  # how many second passes ran (benchmarks, tests)
        self.second_pass_found = 0  # people the second pass added, summed over frames
        self.model_path = path
        self._last_ms = -1
        self._warm = False

    def process(self, image: np.ndarray, t: float, index: int = 0) -> PoseFrame:
        """Find the people in one frame (``image`` BGR/BGRA/gray uint8, ``t`` seconds)."""
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
            _to_pose(image_lms, world_lms, width, height)
            for image_lms, world_lms in zip(result.pose_landmarks, result.pose_world_landmarks, strict=True)
        )
        self._frames_since_second += 1
        if (self._second is not None and self.expected_people is not None and len(poses) < self.expected_people
                and self._frames_since_second >= self.second_pass_every):
            self._frames_since_second = 0
            poses = poses + self._second_pass(rgb, poses)
        return PoseFrame(index=index, t=t, width=width, height=height, poses=poses)

    def _second_pass(self, rgb: np.ndarray, found: tuple[Pose, ...]) -> tuple[Pose, ...]:
        """Look for the people the first pass missed: paint out everyone found, run IMAGE mode."""
        import mediapipe as mp

        height, width = rgb.shape[:2]
        masked = rgb.copy()
        boxes = [_pose_box(p, width, height, pad=0.15) for p in found]
        fill = np.array(np.median(rgb.reshape(-1, 3), axis=0), dtype=np.uint8)
        for x0, y0, x1, y1 in boxes:
            masked[int(y0):int(np.ceil(y1)), int(x0):int(np.ceil(x1))] = fill
        self.second_pass_runs += 1
        result = self._second.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(masked)))
        extra: list[Pose] = []
        for image_lms, world_lms in zip(result.pose_landmarks, result.pose_world_landmarks, strict=True):
            pose = _to_pose(image_lms, world_lms, width, height)
            box = _pose_box(pose, width, height, pad=0.0)
            if all(_iou(box, b) < 0.3 for b in boxes):  # a new person, not a re-find of someone painted out
                extra.append(pose)
                boxes.append(box)
        self.second_pass_found += len(extra)
        return tuple(extra)

    def close(self) -> None:
        for attr in ("_landmarker", "_second"):
            landmarker = getattr(self, attr, None)
            if landmarker is not None:
                with _quiet_native_stderr():
                    landmarker.close()
                setattr(self, attr, None)

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _to_pose(image_lms: list, world_lms: list, width: int, height: int) -> Pose:
    if len(image_lms) != NUM_LANDMARKS:
        raise ValueError(f"expected {NUM_LANDMARKS} landmarks from the pose model, got {len(image_lms)}")
    image = np.array([(lm.x * width, lm.y * height, lm.z * width) for lm in image_lms], dtype=np.float64)
    world = np.array([(lm.x, lm.y, lm.z) for lm in world_lms], dtype=np.float64)
    visibility = np.array([lm.visibility or 0.0 for lm in image_lms], dtype=np.float64)
    presence = np.array([lm.presence or 0.0 for lm in image_lms], dtype=np.float64)
    return Pose(image=image, world=world, visibility=visibility, presence=presence)


def _pose_box(pose: Pose, width: int, height: int, *, pad: float) -> tuple[float, float, float, float]:
    """The person's landmark bounding box in pixels, padded by ``pad`` of its size, clipped to the frame."""
    xy = pose.image[:, :2]
    x0, y0 = xy.min(axis=0)
    x1, y1 = xy.max(axis=0)
    px, py = pad * (x1 - x0), pad * (y1 - y0)
    return (max(0.0, x0 - px), max(0.0, y0 - py), min(float(width), x1 + px), min(float(height), y1 + py))


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
