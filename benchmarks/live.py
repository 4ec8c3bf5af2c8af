"""`make bench-live`: the live path's frame-to-event latency and sustained fps on a 30 fps source,
beside the pose model's own inference time measured in the same run.

A rendered clip (30 fps, 640x480, shoulder abduction) is fed to the real capture worker
(``romcam.live.capture.CaptureWorker``: source → MediaPipe → MotionMeter → One Euro → RepDetector →
coach → event) three ways:

- ``camera``: the clip delivered in real time by a thread, as a camera would, through the worker's
  newest-frame-only grabber: stale frames are dropped, never queued. Latency is from the frame's
  arrival to its event being published.
- ``file``: the file played at its own frame rate (what ``romcam serve --source FILE`` does).
  Latency is from the frame's due time to its event.
- ``every-frame``: every frame as fast as possible (``--every-frame``): the sustained throughput.

Prints a table and writes ``benchmarks/results/live.json`` and ``live.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from romcam.live.capture import CaptureWorker, LatestFrameGrabber, LiveOptions
from romcam.live.plan import measure_only
from romcam.render import RenderSpec, render_clip
from romcam.source import Frame, VideoFileSource

RESULTS = Path(__file__).resolve().parent / "results"
SPEC = RenderSpec(exercise="shoulder_abduction", side="left", view="front", reps=4, rep_s=3.0, hold_s=0.5,
                  fps=30.0, seed=5)


class RealTimeFile:
    """A video file that delivers its frames at their own times, like a camera (for the grabber)."""

    def __init__(self, path: Path) -> None:
        self._src = VideoFileSource(path)
        self.name = f"camera-like {path.name}"
        self.fps = self._src.fps
        self.frame_count = None

    def __iter__(self) -> Iterator[Frame]:
        wall0 = time.monotonic()
        for frame in self._src:
            delay = wall0 + frame.t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            yield frame

    def close(self) -> None:
        self._src.close()


class BenchWorker(CaptureWorker):
    def __init__(self, *args: Any, camera_like: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._camera_like = camera_like

    def _open(self) -> Any:
        if self._camera_like:
            src = RealTimeFile(Path(str(self.options.source)))
            self.source_fps = src.fps
            return LatestFrameGrabber(src)
        return super()._open()


def run_mode(clip: Path, mode: str, *, keep_series: bool = False) -> dict[str, Any]:
    options = LiveOptions(source=str(clip), exercise=SPEC.exercise, side=SPEC.side, every_frame=mode == "every-frame")
    events: list[float] = []
    done = threading.Event()

    def publish(ev: dict[str, Any]) -> None:
        if ev.get("type") == "frame" and ev.get("state") != "source_lost":
            events.append(time.monotonic())
        if ev.get("state") == "source_lost":
            done.set()

    worker = BenchWorker(options, [measure_only(SPEC.exercise, SPEC.side)], recorder=None, publish=publish,
                         camera_like=mode == "camera")
    worker.wake()
    worker.start()
    done.wait(600)
    worker.stop()
    lat = np.array(list(worker.latency_ms)[5:])  # the first frames include the model's warm-up
    inf = np.array(list(worker.inference_ms)[5:])
    span = events[-1] - events[5] if len(events) > 6 else float("nan")
    row = {
        "mode": mode,
        "source_fps": round(worker.source_fps, 2),
        "frames_in_source": None,
        "frames_processed": worker.frames_processed,
        "dropped_frames": worker.dropped_frames,
        "sustained_fps": round((len(events) - 6) / span, 1) if span == span and span > 0 else None,
        "latency_ms_median": round(float(np.median(lat)), 1),
        "latency_ms_p95": round(float(np.percentile(lat, 95)), 1),
        "inference_ms_median": round(float(np.median(inf)), 1),
        "inference_ms_p95": round(float(np.percentile(inf, 95)), 1),
    }
    if keep_series:
        row["latency_series"] = [float(x) for x in lat]  # in frame order (benchmarks/perf.py: a growing queue)
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--modes", nargs="*", default=["camera", "file", "every-frame"])
    args = p.parse_args(argv)
    cache = Path(tempfile.gettempdir()) / "romcam-bench-live"
    clip = cache / "abduction_30fps.mp4"
    if not clip.exists():
        print(f"rendering a 30 fps clip → {clip}")
        render_clip(SPEC, clip)
    n_frames = VideoFileSource(clip).frame_count
    rows = []
    for mode in args.modes:
        print(f"running {mode} …", flush=True)
        row = run_mode(clip, mode)
        row["frames_in_source"] = n_frames
        rows.append(row)
    header = ("| mode | frames processed / in source | dropped | sustained fps | latency median ms | latency p95 ms "
              "| inference median ms | inference p95 ms |")
    lines = [header, "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['mode']} | {r['frames_processed']} / {r['frames_in_source']} | {r['dropped_frames']} | "
                     f"{r['sustained_fps']} | {r['latency_ms_median']} | {r['latency_ms_p95']} | "
                     f"{r['inference_ms_median']} | {r['inference_ms_p95']} |")
    table = "\n".join(lines)
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    doc = {"source": {"clip": clip.name, "fps": SPEC.fps, "width": SPEC.width, "height": SPEC.height},
           "machine": machine, "model": "pose_landmarker_full.task", "rows": rows,
           "note": "statistics over the frames after the first 5 (model warm-up)"}
    (args.out / "live.json").write_text(json.dumps(doc, indent=1) + "\n")
    md = (f"# Live path benchmark (`make bench-live`)\n\nSource: a rendered 30 fps clip, {SPEC.width}x{SPEC.height}, "
          f"{SPEC.reps} reps of shoulder abduction; machine: {machine}; model: pose_landmarker_full.task (CPU).\n\n"
          "- camera: real-time delivery through the newest-frame-only grabber (latency from the frame's arrival);\n"
          "- file: played at its own frame rate (latency from the frame's due time);\n"
          "- every-frame: every frame as fast as possible (sustained throughput).\n\n"
          "Latency = frame available → its WebSocket event published (pose inference, angle, filter, reps, coach, "
          "event; JPEG annotation for MJPEG comes after the event). Inference = MediaPipe's own time per frame, "
          "measured in the same run.\n\n" + table + "\n")
    (args.out / "live.md").write_text(md)
    print(f"wrote {args.out / 'live.json'} and {args.out / 'live.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
