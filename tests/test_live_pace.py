"""The live loop falling behind the picture, said honestly (docs/live.md "Keeping up").

A QA pass served a rendered two-person clip (a caregiver moving a lying patient's hip) in a loop on a
loaded 2-core machine: the loop measured about 2 frames a second where the clip has 10, so the video
played at a fifth of its speed — every frame measured, the count right for what had played — and nothing
on the page said so: 30 s of Start to Finish were 2 reps where the clip's own speed makes 6. With a
camera the loop cannot slow the patient down: it measures fewer frames of the movement instead (the
newest only), and below ``MIN_COUNT_FPS`` of them a second the reps are not to be trusted.

The loop is made slow here on any machine by the real pose stage (MediaPipe, as ``romcam serve`` makes
it) taking at least a set time a frame; the clip is rendered with its truth. The assertions are counts
and words, not timings: a slower machine only makes the loop slower still.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from romcam.catalog import get_motion
from romcam.live.capture import MIN_COUNT_FPS, PACE_PROBLEMS, SLOW_PLAY_SPEED, CaptureWorker, LiveOptions
from romcam.live.plan import measure_only
from romcam.live.recorder import Recorder
from romcam.render import RenderSpec, render_clip
from romcam.store.db import Store
from romcam.store.models import Rep
from tests.test_live_stream import MjpegCamera

# a caregiver bends the left hip of a patient lying in bed, twice; 6 frames a second keeps MediaPipe's
# work small (the loop is slowed on purpose anyway), and is still above MIN_COUNT_FPS
SPEC = RenderSpec(exercise="hip_flexion", side="left", view=get_motion("hip_flexion").view, posture="lying",
                  reps=2, rep_s=2.5, rest_s=1.5, fps=6, width=480, height=360, seed=3, caregiver=True)
PLAN = [measure_only("hip_flexion", "left", mode="passive", posture="lying")]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pace") / "hip_in_bed.mp4"
    render_clip(SPEC, out)
    return out


class SlowPose:
    """The real pose stage, taking at least ``seconds`` a frame: the loop falling behind, on any machine."""

    def __init__(self, real: Any, seconds: float) -> None:
        self.real = real
        self.seconds = seconds
        self.model_path = real.model_path

    def process(self, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        out = self.real.process(*args, **kwargs)
        time.sleep(max(0.0, self.seconds - (time.perf_counter() - t0)))
        return out

    def close(self) -> None:
        self.real.close()


class Events:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self._cond = threading.Condition()

    def __call__(self, ev: dict[str, Any]) -> None:
        with self._cond:
            self.items.append(ev)
            self._cond.notify_all()

    def frames(self) -> list[dict[str, Any]]:
        with self._cond:
            return [e for e in self.items if e.get("type") == "frame"]

    def wait(self, match: Callable[[dict[str, Any]], bool], seconds: float) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        with self._cond:
            while True:
                for ev in self.items:
                    if match(ev):
                        return ev
                left = deadline - time.monotonic()
                assert left > 0, f"no matching event in {seconds} s; last: {self.items[-1:]}"
                self._cond.wait(left)


def slow_worker(source: str, seconds: float, recorder: Recorder | None, events: Events) -> CaptureWorker:
    # the pose stage romcam serve makes for this plan (two people), made in the capture thread as there
    plain = CaptureWorker(LiveOptions(source=source), PLAN, recorder=None)
    return CaptureWorker(LiveOptions(source=source), PLAN, recorder=recorder, publish=events,
                         estimator_factory=lambda: SlowPose(plain._make_estimator(), seconds))


def test_a_video_the_loop_cannot_keep_up_with_plays_slower_every_frame_counted_and_says_so(
        clip: Path, tmp_path: Path) -> None:
    truth = json.loads(clip.with_suffix(".truth.json").read_text())
    store = Store(f"sqlite:///{tmp_path / 'romcam.db'}")
    events = Events()
    recorder = Recorder(store, patient_id=store.local_patient_id, source=str(clip), demo=False, model="")
    # 0.4 s a frame for a clip of 6 frames a second: it can play at 42 % of its speed at most
    worker = slow_worker(str(clip), 0.4, recorder, events)
    worker.start()
    try:
        worker.command("start")
        events.wait(lambda ev: ev.get("type") == "frame" and (ev.get("t") or 0) > 3.0, 60)
        playing = worker.status()
        assert playing["speed"] < SLOW_PLAY_SPEED and playing["sample_fps"] == pytest.approx(SPEC.fps, abs=0.1)
        assert playing["pace"] == "slow_video" and playing["pace_problem"] == PACE_PROBLEMS["slow_video"]
        end = events.wait(lambda ev: ev.get("type") == "frame" and ev.get("state") == "source_lost", 90)
        assert "ended" in end["source_error"], end
        frames = [ev for ev in events.frames() if ev.get("state") != "source_lost"]
        # every frame of the file measured, none dropped: the count is the file's
        assert [ev["frame"] for ev in frames] == list(range(len(frames))), "frames skipped"
        assert len(frames) == len(truth["times"])
        status = worker.status()
        assert status["dropped_frames"] == 0
        # the video has ended: nothing plays slowly any more
        assert status["pace"] is None and end["pace"] is None and end["pace_problem"] is None
        # the page is told, in plain words, once the loop's pace is known (its first 2 s)
        told = [ev for ev in frames if ev["t"] > 2.0]
        assert told and all(ev["pace"] == "slow_video" for ev in told), {ev.get("pace") for ev in told}
        assert all(ev["pace_problem"] == PACE_PROBLEMS["slow_video"] for ev in told)
        assert "Every picture is measured, so the count is right" in PACE_PROBLEMS["slow_video"]
        # and the count is right: the reps of the clip, live and stored
        assert max(ev["rep"] for ev in frames + [end]) == len(truth["reps"])
        with store.session() as db:
            stored = [r for r in db.query(Rep).all() if not r.partial]
        assert len(stored) == len(truth["reps"]), [(r.max_angle, r.min_angle) for r in stored]
    finally:
        worker.stop()
        store.close()


def test_a_camera_the_loop_cannot_keep_up_with_says_the_count_may_be_wrong(clip: Path) -> None:
    camera = MjpegCamera(clip)  # the clip as a network camera sends it: at its frame rate, whatever romcam does
    events = Events()
    # 0.4 s a frame: at most 2.5 frames of the movement measured a second, below MIN_COUNT_FPS
    assert 1 / 0.4 < MIN_COUNT_FPS
    worker = slow_worker(camera.url, 0.4, None, events)
    worker.start()
    try:
        worker.command("start")
        told = events.wait(lambda ev: ev.get("type") == "frame" and ev.get("pace") is not None, 60)
        assert told["pace"] == "too_few_frames", told["pace"]
        assert told["pace_problem"] == PACE_PROBLEMS["too_few_frames"]
        assert "the count may be wrong" in told["pace_problem"]
        status = worker.status()
        assert status["pace"] == "too_few_frames" and status["sample_fps"] < MIN_COUNT_FPS
        assert status["dropped_frames"] > 0, "a camera is never queued: the frames the loop had no time for are dropped"
        # a camera plays in real time however slow the loop: the problem is too few frames, never a slow video
        assert all(ev.get("pace") != "slow_video" for ev in events.frames())
    finally:
        worker.stop()
        camera.close()
