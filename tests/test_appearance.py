"""The clothes' colour signature that tells two people apart (romcam.appearance), on synthetic images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from romcam.appearance import SIZE, distance, histogram, signature, trunk_band
from romcam.landmarks import INDEX
from tests.synthetic_pose import make_pose


def hsv_pixels(rgb: tuple[int, int, int], n: int = 100) -> np.ndarray:
    img = np.full((1, n, 3), rgb, np.uint8)
    return cv2.cvtColor(img, cv2.COLOR_RGB2HSV).reshape(-1, 3)


@pytest.mark.parametrize("a, b, apart", [
    ((200, 30, 30), (200, 30, 30), False),   # the same red
    ((200, 30, 30), (30, 30, 200), True),    # red and blue
    ((40, 120, 60), (60, 80, 200), True),    # green and blue
    ((235, 235, 235), (25, 25, 25), True),   # white and black: no hue, told apart by brightness
    ((128, 128, 128), (200, 30, 30), True),  # grey and red
])
def test_distance_tells_colours_apart(a, b, apart):
    d = distance(histogram(hsv_pixels(a)), histogram(hsv_pixels(b)))
    assert (d > 0.9) if apart else (d < 1e-6)


def test_histogram_is_normalised_and_mixes():
    mix = np.vstack([hsv_pixels((200, 30, 30), 50), hsv_pixels((30, 30, 200), 50)])
    h = histogram(mix)
    assert h.shape == (SIZE,) and h.sum() == pytest.approx(1.0)
    red, blue = histogram(hsv_pixels((200, 30, 30))), histogram(hsv_pixels((30, 30, 200)))
    # half red, half blue: as far from each (Hellinger sqrt(1 - sqrt(0.5))) and nearer both than they are to each other
    assert distance(h, red) == pytest.approx(np.sqrt(1 - np.sqrt(0.5)), abs=1e-6)
    assert distance(h, blue) == pytest.approx(distance(h, red), abs=1e-6)


@pytest.mark.parametrize("view", ["front", "side"])
def test_signature_reads_the_shirt_not_the_background(view):
    pose = make_pose("shoulder_flexion", "left", 20.0, view=view)
    img = np.full((480, 640, 3), (90, 160, 220), np.uint8)  # a blue wall
    p = pose.image[:, :2]
    top = 0.5 * (p[INDEX["left_shoulder"]] + p[INDEX["right_shoulder"]])
    bottom = 0.5 * (p[INDEX["left_hip"]] + p[INDEX["right_hip"]])
    # the trunk as a thick line, 0.4 of its length wide: a side view's chest depth
    thick = int(0.4 * np.linalg.norm(bottom - top))
    cv2.line(img, tuple(top.astype(int)), tuple(bottom.astype(int)), (180, 40, 40), thick)  # a red shirt
    sig = signature(img, pose)
    assert sig is not None
    assert distance(sig, histogram(hsv_pixels((180, 40, 40)))) < 0.1
    assert distance(sig, histogram(hsv_pixels((90, 160, 220)))) > 0.9


def test_no_signature_off_the_image_or_without_a_trunk():
    pose = make_pose("shoulder_flexion", "left", 20.0)
    img = np.zeros((480, 640, 3), np.uint8)
    far = pose.image.copy()
    far[:, 0] += 5000.0
    assert signature(img, type(pose)(image=far, world=pose.world, visibility=pose.visibility,
                                     presence=pose.presence)) is None
    flat = pose.image.copy()
    flat[[INDEX["left_hip"], INDEX["right_hip"]], :2] = flat[[INDEX["left_shoulder"], INDEX["right_shoulder"]], :2]
    assert trunk_band(type(pose)(image=flat, world=pose.world, visibility=pose.visibility,
                                 presence=pose.presence)) is None
