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


def _white_in_status_band(jpeg: bytes) -> int:
    """Near-white pixels in the bottom-left band of the picture, where annotate once wrote the coach's state
    ("exercising  rep 2") in white on a black edge."""
    import cv2

    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    h = image.shape[0]
    band = image[h - 32:h - 2, 10:330]
    return int(np.count_nonzero(np.all(band > 215, axis=2)))


class _Drawn:
    """The words and rings annotate draws (cv2.putText, cv2.circle), recorded as it draws them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import romcam.live.annotate as module

        self.texts: list[str] = []
        self.rings: list[tuple[tuple[int, int], int]] = []
        put, circle = module.cv2.putText, module.cv2.circle

        def put_text(img, text, org, *args, **kwargs):  # type: ignore[no-untyped-def]
            self.texts.append(text)
            return put(img, text, org, *args, **kwargs)

        def ring(img, centre, radius, *args, **kwargs):  # type: ignore[no-untyped-def]
            self.rings.append((tuple(centre), radius))
            return circle(img, centre, radius, *args, **kwargs)

        monkeypatch.setattr(module.cv2, "putText", put_text)
        monkeypatch.setattr(module.cv2, "circle", ring)


@pytest.mark.parametrize("angle, page", [
    (-3.4, "-3"),  # the page's "-3°", not "-3 deg"
    (112.5, "113"),  # Math.round, half up, as the page: not Python's half-to-even "112"
    (-1.5, "-1"),
])  # fmt: skip
def test_the_angle_is_written_as_the_page_writes_it(angle: float, page: str, monkeypatch: pytest.MonkeyPatch) -> None:
    item = replace(measure_only("knee_extension", "left", posture="seated"), target_min=20.0, target_max=50.0)
    blank = np.zeros((480, 640, 3), dtype=np.uint8)
    drawn = _Drawn(monkeypatch)
    out = annotate(blank, _seated_knee(70.0), get_motion("knee_extension"), item, angle=angle, zone="in_target")
    assert set(drawn.texts) == {page}, drawn.texts  # the number alone (black edge, then colour): no other words
    # the degree sign: a small ring at the top right of the number, in the zone's colour
    rings = [(c, r) for c, r in drawn.rings if r == 5]
    assert rings, "no degree sign drawn"
    (rx, ry), _ = rings[-1]
    assert tuple(out[ry - 5, rx]) == (80, 200, 60)  # the ring's top, in the zone's green
    drawn.texts.clear()
    annotate(blank, _seated_knee(70.0), get_motion("knee_extension"), item, angle=math.nan, zone="unknown")
    assert drawn.texts == [], "no angle: nothing written (the page shows a dash)"


def test_the_picture_carries_no_state_or_rep_count_before_or_after_start(demo_clip) -> None:  # type: ignore[no-untyped-def]
    """The page shows the state, the reps and the rest in large type. The picture once wrote its own copy,
    raw ("positioning", "exercising  rep 2" while the page said "Rest 20 s"): now it writes none, before Start
    and after it, as the real capture loop makes it from the demo clip."""
    import time

    from romcam.live.capture import CaptureWorker, LiveOptions

    worker = CaptureWorker(LiveOptions(source=str(demo_clip), loop=True), [measure_only("shoulder_abduction", "left")],
                           recorder=None, publish=lambda ev: None)
    worker.start()
    worker.wake()

    def pictures(n: int) -> list[bytes]:
        out: list[bytes] = []
        deadline = time.monotonic() + 120
        while len(out) < n and time.monotonic() < deadline:
            seq = worker.jpeg_seq  # a video client is watching: annotated pictures are made
            while worker.jpeg_seq == seq and time.monotonic() < deadline:
                time.sleep(0.02)
            if worker.latest_jpeg is not None and worker.jpeg_seq != seq:
                out.append(worker.latest_jpeg)
        assert len(out) == n, "the worker made too few pictures"
        return out

    try:
        before = pictures(5)
        assert [_white_in_status_band(j) for j in before] == [0] * 5, "words written in the picture before Start"
        worker.command("start")
        after = pictures(10)
        assert worker.status().get("started") is True
        assert [_white_in_status_band(j) for j in after] == [0] * 10, "words written in the picture after Start"
    finally:
        worker.stop()
