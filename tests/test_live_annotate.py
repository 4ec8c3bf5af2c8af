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
