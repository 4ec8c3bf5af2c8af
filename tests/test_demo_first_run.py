"""The first `make run` on a machine with no camera: `romcam serve` renders its demo video (about a minute the
first time) before the coach can play it. The patient at the page and the person at the terminal are told so,
and a Ctrl-C meanwhile stops romcam at once, leaving no half-written video behind.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from helpers import ARTIFACTS, offline_page, require_browser, romcam_serve

STARTUP_S = 180.0  # the demo clip is rendered on first use


def _wait_for_rendering(demo_dir: Path, proc: subprocess.Popen, seconds: float = 120.0) -> None:
    """Until the demo clip's temporary file is there: romcam is rendering it."""
    deadline = time.monotonic() + seconds
    while not list(demo_dir.glob(".*.tmp.mp4")):
        assert proc.poll() is None, "romcam serve exited before rendering its demo video"
        assert time.monotonic() < deadline, f"no demo video being rendered in {demo_dir} after {seconds:.0f} s"
        time.sleep(0.1)


def test_ctrl_c_while_the_demo_video_renders_stops_at_once_and_keeps_no_partial_video(tmp_path: Path) -> None:
    demo_dir = tmp_path / "data" / "demo"  # romcam_serve sets ROMCAM_DATA to tmp/data
    with romcam_serve(tmp_path, ready="/healthz", timeout=STARTUP_S) as (port, proc):
        _wait_for_rendering(demo_dir, proc)
        asked = time.monotonic()
        proc.send_signal(signal.SIGINT)  # Ctrl-C: before, the server waited 10 s for the render, then left it
        proc.wait(30)
        took = time.monotonic() - asked
    log = (tmp_path / f"serve-{port}.log").read_text()
    assert took < 8.0, f"romcam took {took:.1f} s to stop after Ctrl-C:\n{log}"
    assert proc.returncode == 0, log
    assert "Traceback" not in log, log
    # nothing half-written: the next start renders the clip whole, and no hidden partial file piles up
    assert sorted(p.name for p in demo_dir.iterdir()) == [], log
    assert "rendering the demo video once" in log, log  # the terminal said why nothing plays yet
    assert "romcam: press Ctrl-C here to stop it" in log, log  # and how to stop it, as the README's make run does
    # and what to do to exercise on a camera after all: the one they have is busy, or not plugged in
    assert ("no camera could be opened (camera 0) — serving a rendered demo video instead. To exercise on the "
            "camera: plug it in, or close the program using it, then stop romcam (Ctrl-C) and start it again") in log


def test_the_coach_says_the_demo_video_is_being_prepared_until_it_plays(tmp_path: Path) -> None:
    require_browser()
    demo_dir = tmp_path / "data" / "demo"
    with romcam_serve(tmp_path, ready="/healthz", timeout=STARTUP_S) as (port, proc):
        _wait_for_rendering(demo_dir, proc)
        base = f"http://127.0.0.1:{port}"
        problems: list[str] = []
        with offline_page(base, problems) as pg:
            pg.goto(f"{base}/coach")
            pg.wait_for_selector("body[data-ready=true]")
            state = pg.locator("#state-msg")
            camera = pg.locator("#check-camera .check-detail")
            # the page has heard from the server (its status or its first event) that this is the demo video
            pg.locator("#demo-banner").wait_for(state="visible", timeout=10_000)
            assert list(demo_dir.glob(".*.tmp.mp4")), "the demo video was ready before the page looked"
            # not "Waiting for you — come into the camera's view" over a black picture, with no camera here
            assert state.inner_text() == "Getting the demo video ready: the first time takes about a minute."
            camera.filter(has_text="Getting the demo video ready").wait_for(timeout=2_000)  # redrawn 4 times a second
            assert camera.inner_text() == "Getting the demo video ready…"
            assert pg.locator("#video-msg").inner_text() == "Getting the demo video ready…"
            ARTIFACTS.mkdir(exist_ok=True)
            pg.screenshot(path=str(ARTIFACTS / "demo_first_run_preparing.png"))
            # once it plays, the page goes on as with any video
            camera.filter(has_text="Playing the demo video").wait_for(timeout=STARTUP_S * 1000)
            assert "demo video ready" not in state.inner_text()
            video_msg = pg.locator("#video-msg")
            assert video_msg.is_hidden() or "demo video ready" not in video_msg.inner_text()
        assert problems == []
