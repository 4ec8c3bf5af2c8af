"""Pose estimation: a small wrapper over MediaPipe Tasks ``PoseLandmarker`` in VIDEO mode.

The only module that imports MediaPipe. It converts MediaPipe's results once, here, into
:class:`romcam.landmarks.PoseFrame` arrays.
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
        return PoseFrame(index=index, t=t, width=width, height=height, poses=poses)

    def close(self) -> None:
        landmarker = getattr(self, "_landmarker", None)
        if landmarker is not None:
            with _quiet_native_stderr():
                landmarker.close()
            self._landmarker = None

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
