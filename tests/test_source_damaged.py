"""A video damaged in its middle: OpenCV skips the frames it cannot read and numbers the ones after them on, so
their times come early, silently. romcam says so in `romcam analyze`'s summary, its JSON and the saved session.

The damaged file is made here: the rendered demo clip, each frame stamped with its number (8 black or white
squares, one bit each), written as AVI/MJPG (what many webcams and older cameras record), then a tenth of its bytes
in the middle overwritten with zeros."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from db_fixtures import *  # noqa: F403 (db_url, store, postgres_server)

from romcam.cli import main
from romcam.source import VideoFileSource
from romcam.store import Store, service

BIT = 16  # pixels a side of each bit's square, top left


def _stamped_avi(clip: Path, out: Path) -> int:
    cap = cv2.VideoCapture(str(clip))
    fps = cap.get(cv2.CAP_PROP_FPS)
    writer = None
    n = 0
    while True:
        ok, image = cap.read()
        if not ok:
            break
        if writer is None:
            h, w = image.shape[:2]
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
        for b in range(8):
            image[0:BIT, b * BIT:(b + 1) * BIT] = 255 if (n >> b) & 1 else 0
        writer.write(image)
        n += 1
    cap.release()
    assert writer is not None
    writer.release()
    return n


def _number(image: np.ndarray) -> int:
    return sum(1 << b for b in range(8) if image[4:BIT - 4, b * BIT + 4:(b + 1) * BIT - 4].mean() > 128)


def _damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    lo, hi = int(len(data) * 0.4), int(len(data) * 0.5)
    data[lo:hi] = bytes(hi - lo)
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def avis(demo_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    folder = tmp_path_factory.mktemp("damaged")
    whole, damaged = folder / "whole.avi", folder / "damaged.avi"
    n = _stamped_avi(demo_clip, whole)
    damaged.write_bytes(whole.read_bytes())
    _damage(damaged)
    return whole, damaged, n


def test_opencv_skips_the_damaged_frames_and_the_ones_after_them_come_early(avis: tuple[Path, Path, int]) -> None:
    whole, damaged, n = avis
    with VideoFileSource(whole) as source:
        frames = list(source)
    assert [_number(f.image) for f in frames] == list(range(n))
    assert source.frames_skipped == 0
    with VideoFileSource(damaged) as source:
        fps = source.fps
        frames = list(source)
        assert source.frame_count == n  # the header still counts every frame
    numbers = [_number(f.image) for f in frames]
    gap = next(i for i, k in enumerate(numbers) if k != i)  # the first frame read after the damage
    lost = numbers[gap] - gap
    assert lost >= 5 and numbers[gap:] == list(range(gap + lost, n))  # one run of frames lost, the rest in order
    # what OpenCV does: the frame after the damage gets the time of the first frame lost, early by all of them
    assert frames[gap].t == pytest.approx(gap / fps)
    assert frames[-1].t == pytest.approx((n - 1 - lost) / fps)
    assert 0.9 * n - 1 < len(frames) < n  # too few lost to look like a file that broke off
    assert source.frames_skipped == lost == n - len(frames)


def test_analyze_says_the_video_was_damaged_in_its_summary_json_and_saved_session(
        avis: tuple[Path, Path, int], tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, damaged, n = avis
    out = tmp_path / "out.json"
    code = main(["analyze", str(damaged), "--exercise", "shoulder_abduction", "--side", "left", "--json", str(out),
                 "--save", "--db", db_url])
    assert code == 0
    summary = capsys.readouterr().out
    lost = n - json.loads(out.read_text())["frames"]
    said = (f"damaged.avi could not be read in full: {lost} of its {n} frames ({lost / 15:.1f} s) are damaged and "
            f"were skipped, so the times after the damage are up to {lost / 15:.1f} s early")
    assert f"note: {said}" in summary, summary
    assert json.loads(out.read_text())["warnings"][0].startswith(said)
    store = Store(db_url)
    try:
        with store.session() as db:
            me = service.get_patient(db, store.local_patient_id)
            [session] = service.list_sessions(db, me)
            detail = service.session_detail(db, service.get_session(db, session["id"]))
            assert detail["sets"][0]["warnings"][0].startswith(said)  # what the session page shows the PT
    finally:
        store.close()
