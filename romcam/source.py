"""Frame sources: a video file, a camera index, or a stream URL, all through OpenCV.

The only module that opens video. Each frame carries its own time in the source: for a file,
the decoder's position (``CAP_PROP_POS_MSEC``), falling back to ``index / fps`` where the
container gives none or gives a time that does not increase.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from .errors import CameraError, CorruptVideoError, NotAVideoError, SourceNotFoundError

# FFmpeg's own complaints ("moov atom not found", "Picture size 0x0 is invalid", many per broken file)
# go straight to the process's stderr, beside romcam's one-line message that says the same in words a
# patient can act on. Quiet unless the user asks for them (set OPENCV_FFMPEG_LOGLEVEL, e.g. 32); read
# by OpenCV when it first opens a video, which only this module does.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

READ_RETRY_S = 0.02  # a live source's failed read is tried again after this long (until read_timeout_s)
# a stream URL that answers nothing (a camera out of Wi-Fi range, a stalled connection): OpenCV's FFmpeg
# would wait 30 s to open it or for its next picture, with the last angle on the coach's page as if live
STREAM_OPEN_TIMEOUT_S = 10.0
# A file with damaged data in its middle (an AVI whose bytes were overwritten): OpenCV's FFmpeg skips the frames it
# cannot read, resynchronises after them and numbers the frames that follow on from the last good one, so their
# times (CAP_PROP_POS_MSEC, POS_FRAMES and PTS alike) come early by as much as was skipped, silently. Only the
# container's frame count tells: frames it counts that were never read. Skipped frames worth this much time or more
# (the rep detector's confirmation time, romcam.reps.CONFIRM_S) are said (``frames_skipped``).
SKIPPED_WARN_S = 0.2
SKIPPED_WARN_FRAMES = 2


@dataclass(frozen=True, slots=True)
class Frame:
    index: int  # frame number from 0
    t: float  # seconds since the start of the source
    image: np.ndarray  # H x W x 3 BGR uint8 (as OpenCV decodes it)


class FrameSource(Protocol):
    """What the pipeline reads frames from."""

    name: str
    fps: float
    frame_count: int | None  # None for live sources

    def __iter__(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...


def _frame_time(cap: cv2.VideoCapture, index: int, fps: float, last_t: float | None) -> float:
    ms = cap.get(cv2.CAP_PROP_POS_MSEC)
    t = ms / 1000.0 if ms and ms > 0 else index / fps
    if index == 0 and ms <= 0:
        t = 0.0
    if last_t is not None and t <= last_t:  # containers without timestamps, or B-frame quirks
        t = last_t + 1.0 / fps
    return t


class VideoFileSource:
    """Frames of a video file, in order, each with its time in the file.

    Raises :class:`SourceNotFoundError` for a missing path, :class:`NotAVideoError` for a file
    OpenCV cannot decode, and :class:`CorruptVideoError` (after yielding every frame it could
    decode) when the file stops well short of the frame count its header promises. A file read to
    its end with fewer frames than its header counts (damaged in the middle: OpenCV skipped frames
    and the times of those after them are early) sets ``frames_skipped``, once read
    (:data:`SKIPPED_WARN_S`; :func:`skipped_warning` says it).

    ``loop=True`` plays the file again from its start each time it ends, for ever (a demo, a
    memory benchmark): frame indices and times keep increasing across the restarts, one frame
    interval apart, so downstream stages see one long video. ``frame_count`` stays the file's.
    """

    def __init__(self, path: str | os.PathLike[str], *, loop: bool = False) -> None:
        self.path = Path(path)
        self.name = self.path.name
        if not self.path.exists():
            raise SourceNotFoundError(f"video not found: {self.path} — check the path and try again")
        if self.path.is_dir():
            raise NotAVideoError(f"{self.path} is a folder, not a video file — give the path of a video")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            self._cap.release()
            raise NotAVideoError(
                f"cannot read {self.path} as a video — is it a video file (mp4, avi, mov, webm)?"
            )
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and 0 < fps < 1000 else 30.0
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count: int | None = count if count > 0 else None
        self.frames_read = 0
        self.frames_skipped = 0  # frames the header counts that a whole pass did not read (0: none, or too few)
        self.loop = loop
        self.loops = 0  # how many times a looping file restarted

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        offset_t, offset_i = 0.0, 0  # where the current pass starts (a looping file)
        while True:
            passed = 0
            for i, t, image in self._read_pass():
                yield Frame(offset_i + i, offset_t + t, image)
                index = offset_i + i + 1
                self.frames_read = index
                passed = i + 1
                last_t = offset_t + t
            if not self.loop or passed == 0:
                break
            # play again from the start: one frame interval after the last frame
            self._cap.release()
            self._cap = cv2.VideoCapture(str(self.path))
            self.loops += 1
            offset_t, offset_i = last_t + 1.0 / self.fps, index

    def _read_pass(self) -> Iterator[tuple[int, float, np.ndarray]]:
        """One pass over the file: (index in the file, time in the file, image)."""
        last_t: float | None = None
        index = 0
        while True:
            ok, image = self._cap.read()
            if not ok or image is None:
                break
            t = _frame_time(self._cap, index, self.fps, last_t)
            last_t = t
            yield index, t, image
            index += 1
        if index == 0:
            raise NotAVideoError(
                f"{self.path} opened but no frame could be decoded — the file is empty or not a "
                "video; re-export it as mp4"
            )
        if self.frame_count is not None and index < 0.9 * self.frame_count - 1:
            raise CorruptVideoError(
                f"{self.path} broke after frame {index} of {self.frame_count} "
                f"({index / self.fps:.1f} s) — the file is truncated or damaged; results cover "
                "only the part before the break"
            )
        missing = (self.frame_count or 0) - index
        if missing >= SKIPPED_WARN_FRAMES and missing / self.fps >= SKIPPED_WARN_S:
            self.frames_skipped = max(self.frames_skipped, missing)

    def close(self) -> None:
        self._cap.release()

    def __enter__(self) -> VideoFileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def skipped_warning(name: str, skipped: int, frame_count: int, fps: float) -> str:
    """What a file with ``skipped`` of its ``frame_count`` frames unread means for its measurement, in words."""
    seconds = skipped / fps
    return (f"{name} could not be read in full: {skipped} of its {frame_count} frames ({seconds:.1f} s) are damaged "
            f"and were skipped, so the times after the damage are up to {seconds:.1f} s early and a rep there may be "
            "missed, cut short or joined to the next — copy the video again from the camera or phone, or record "
            "it again")


class CameraSource:
    """A live camera (an integer index such as 0) or a network stream URL.

    Frame times are seconds since the first frame on the monotonic clock. Raises
    :class:`CameraError` when the camera cannot be opened, and when it stops delivering frames
    (unplugged, or taken by another program) mid-session, after the frames it did deliver.
    """

    def __init__(self, spec: int | str, *, read_timeout_s: float = 5.0) -> None:
        self._time = time.monotonic
        self.spec = spec
        self.name = f"camera {spec}" if isinstance(spec, int) else str(spec)
        self._cap = _open_capture(spec, read_timeout_s)
        if not self._cap.isOpened():
            self._cap.release()
            if isinstance(spec, int):
                raise CameraError(
                    f"cannot open camera {spec} — is a camera connected and not in use by another program? "
                    "Try another --source index, or a video file"
                )
            raise CameraError(f"cannot open stream {spec} — check the address, and that the camera is on and "
                              "reachable from this computer")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and 0 < fps < 1000 else 30.0
        self.frame_count: int | None = None
        self._read_timeout_s = read_timeout_s
        self._check = ("check the cable or whether another program took the camera" if isinstance(spec, int)
                       else "check that the camera is on and still on the network")

    def __iter__(self) -> Iterator[Frame]:
        t0: float | None = None
        index = 0
        last_ok = self._time()
        while True:
            ok, image = self._cap.read()
            now = self._time()
            if not ok or image is None:
                if now - last_ok > self._read_timeout_s or index == 0:
                    raise CameraError(f"{self.name} stopped sending frames — {self._check}; the session so "
                                      "far is kept")
                time.sleep(READ_RETRY_S)  # a closed stream fails at once: no busy loop while waiting
                continue
            last_ok = now
            if t0 is None:
                t0 = now
            yield Frame(index, now - t0, image)
            index += 1

    def close(self) -> None:
        self._cap.release()

    def __enter__(self) -> CameraSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open_capture(spec: int | str, read_timeout_s: float) -> cv2.VideoCapture:
    """A camera index as OpenCV opens it (its V4L2 backend refuses open parameters); a stream URL with
    timeouts of its own, so a stream that stops sending fails a read after ``read_timeout_s``."""
    if isinstance(spec, int):
        return cv2.VideoCapture(spec)
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(STREAM_OPEN_TIMEOUT_S * 1000),
              cv2.CAP_PROP_READ_TIMEOUT_MSEC, max(1, int(read_timeout_s * 1000))]
    return cv2.VideoCapture(spec, cv2.CAP_ANY, params)


_END = object()


def prefetched(frames: Iterable[Frame], depth: int = 4) -> Iterator[Frame]:
    """The same frames, decoded ahead in a second thread (``depth`` frames at most, so memory stays
    bounded): decoding overlaps the pose model, which releases the GIL while it runs. The frames,
    their order and any error the source raises (re-raised here, after the frames before it) are
    exactly those of iterating ``frames`` directly. Stopping early (``close`` or garbage collection
    of this generator) stops the reader thread."""
    q: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for frame in frames:
                if not put(frame):
                    return
            put(_END)
        except BaseException as exc:  # handed to the consumer, raised in its thread
            put(exc)

    reader = threading.Thread(target=read, name="romcam-decode", daemon=True)
    reader.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join(timeout=5.0)


def parse_source(spec: str) -> int | str:
    """``"0"`` → camera index 0; anything else stays a path or URL."""
    return int(spec) if spec.strip().isdigit() else spec


def open_source(spec: str | int | os.PathLike[str]) -> VideoFileSource | CameraSource:
    """Open a camera index, a stream URL (``rtsp://``, ``http://`` …) or a video file."""
    if isinstance(spec, int):
        return CameraSource(spec)
    text = os.fspath(spec)
    parsed = parse_source(text)
    if isinstance(parsed, int) or "://" in text:
        return CameraSource(parsed)
    return VideoFileSource(text)
