"""The video overlay (romcam.live.annotate) draws the PT's safety limits where the joint would be at them:
a red tick on the target arc at ``safe_max`` and at ``safe_min``."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from romcam.catalog import get_motion
from romcam.landmarks import INDEX, NUM_LANDMARKS, Pose, PoseFrame
from romcam.live.annotate import SAFE_COLOUR, annotate
from romcam.live.plan import measure_only

KNEE, HIP = np.array([300.0, 200.0]), np.array([200.0, 200.0])  # the thigh level, pointing right


def _seated_knee(bend: float) -> PoseFrame:
    """A left leg in the picture, knee bent ``bend`` degrees: the shin turns from straight (along the thigh)
    down toward the floor (+y)."""
    image = np.zeros((NUM_LANDMARKS, 3))
    image[:, :2] = (100.0, 100.0)  # the rest of the body, out of the way
    shin = 100.0 * np.array([math.cos(math.radians(bend)), math.sin(math.radians(bend))])
    for name, at in (("left_hip", HIP), ("left_knee", KNEE), ("left_ankle", KNEE + shin)):
        image[INDEX[name], :2] = at
    visibility = np.zeros(NUM_LANDMARKS)
    for name in ("left_hip", "left_knee", "left_ankle"):
        visibility[INDEX[name]] = 1.0
    pose = Pose(image=image, world=np.zeros((NUM_LANDMARKS, 3)), visibility=visibility, presence=visibility.copy())
    return PoseFrame(index=0, t=0.0, width=640, height=480, poses=(pose,))


def _red(image: np.ndarray) -> np.ndarray:
    """The pixels drawn in the limits' red, as (x, y)."""
    ys, xs = np.nonzero(np.all(image == np.array(SAFE_COLOUR, dtype=np.uint8), axis=2))
    return np.stack([xs, ys], axis=1).astype(float)


@pytest.mark.parametrize("safe_min, direction", [
    (0.0, 0.0),  # straight: along the thigh
    (-10.0, -10.0),  # over-straightened by 10°: bent the other way from the shin
])  # fmt: skip
def test_the_safe_minimum_is_drawn_where_the_knee_would_be_at_it(safe_min: float, direction: float) -> None:
    item = measure_only("knee_extension", "left", posture="seated")
    item = replace(item, target_min=20.0, target_max=50.0, safe_min=safe_min)
    blank = np.zeros((480, 640, 3), dtype=np.uint8)
    frame = _seated_knee(70.0)
    out = annotate(blank, frame, get_motion("knee_extension"), item, angle=70.0, zone="in_target")
    red = _red(out)
    assert len(red) > 20, "the tick is drawn"
    centre = red.mean(axis=0) - KNEE
    assert math.degrees(math.atan2(centre[1], centre[0])) == pytest.approx(direction, abs=2.0)
    assert np.linalg.norm(centre) == pytest.approx(60.0, abs=6.0)  # on the arc (0.6 x the shin's 100 px)
    without = replace(item, safe_min=None)
    assert len(_red(annotate(blank, frame, get_motion("knee_extension"), without, angle=70.0, zone="in_target"))) == 0


def _white_after(jpeg: bytes, text: str) -> int:
    """Near-white pixels in the status line's band (bottom-left of the picture, where annotate writes
    "<state>  rep N" in white on a black edge) to the right of ``text``: what is written after it."""
    import cv2

    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    h = image.shape[0]
    (width, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.7, 2)
    band = image[h - 32:h - 2, 10 + width + 6:10 + width + 110]
    return int(np.count_nonzero(np.all(band > 215, axis=2)))


def test_before_start_the_picture_shows_no_rep_count_as_the_page_shows_none(demo_clip) -> None:  # type: ignore[no-untyped-def]
    """The page shows REPS 0 until Start (the demo loops: a count that drops to 0 at Start reads as reps
    lost), while the detector already counts. The picture must not say "positioning  rep 2" beside it:
    after Start its count is the page's."""
    import threading
    import time

    from romcam.live.capture import CaptureWorker, LiveOptions

    seen: list[dict] = []
    counted = threading.Event()

    def publish(ev: dict) -> None:
        seen.append(ev)
        if ev.get("type") == "frame" and ev.get("started") is False and (ev.get("rep") or 0) >= 1:
            counted.set()

    worker = CaptureWorker(LiveOptions(source=str(demo_clip), loop=True), [measure_only("shoulder_abduction", "left")],
                           recorder=None, publish=publish)
    worker.start()
    worker.wake()
    try:
        deadline = time.monotonic() + 120
        while not counted.is_set() and time.monotonic() < deadline:
            _ = worker.jpeg_seq  # a video client is watching: annotated pictures are made
            time.sleep(0.05)
        assert counted.is_set(), "the detector counted no rep of the demo before Start"
        seq = worker.jpeg_seq
        while worker.jpeg_seq == seq:  # a picture made after the detector's count
            time.sleep(0.02)
        status = worker.status()
        assert status.get("started") in (False, None)
        before = worker.latest_jpeg
        assert before is not None
        state = next(e["state"] for e in reversed(seen) if e.get("type") == "frame")
        assert _white_after(before, state.replace("_", " ")) == 0, "a rep count is written after the state"
        worker.command("start")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            seq = worker.jpeg_seq
            while worker.jpeg_seq == seq:
                time.sleep(0.02)
            if _white_after(worker.latest_jpeg, "exercising") > 0:  # type: ignore[arg-type]
                break
        else:
            raise AssertionError("after Start the picture shows no rep count")
    finally:
        worker.stop()
