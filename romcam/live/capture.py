"""The capture worker: source → pose → MotionMeter → One Euro → RepDetector → coach, in a thread.

- A **file** plays at its own frame rate (the worker sleeps until each frame's time), so a test sees
  the same events every run; ``every_frame`` processes every frame as fast as it can instead. A
  demo clip loops. A loop slower than the file's frames loses none: the file plays slower (``pace``).
- A **live** source (camera index, stream URL) never queues stale frames: a grabber thread keeps
  only the newest frame, counts the ones it overwrote (``dropped_frames``), and the worker reports
  its effective fps; below ``MIN_COUNT_FPS`` (``romcam.sample_rate``) frames measured a second the page is
  told the count may be wrong (``pace``, docs/live.md "Keeping up").
- A camera that stops sending frames, or a file that ends: a ``source_lost`` state and event; the
  session is kept (a camera is retried with backoff and capture resumes when it comes back; a file
  that ended closes the session as ``interrupted`` with its sets analysed).
- Every processed frame is published as a ``frame`` event (``romcam.live.events``), state changes
  as ``status`` events; annotated JPEG frames for the MJPEG stream at most ``MJPEG_MAX_FPS``.
"""

from __future__ import annotations

import math
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..angles import reads_limb_axes
from ..catalog import get_motion
from ..errors import CameraError, CorruptVideoError, RomcamError
from ..filters import OneEuroFilter, preload
from ..measure import MotionMeter, Sample
from ..reps import AUTO_HYSTERESIS_MIN_DEG, RepDetector, below_target
from ..sample_rate import MIN_COUNT_FPS as MIN_COUNT_FPS  # the rule lives there, shared with the stored sets
from ..sample_rate import too_few_frames
from ..source import Frame, open_source, parse_source, prefetched, skipped_warning
from ..subject import PersonError, SubjectTracker, parse_selector, torso_points
from .annotate import annotate, person_box, to_jpeg
from .coach import Coach, FrameInput, PlanItem
from .events import frame_event, status_event
from .recorder import Recorder

MJPEG_MAX_FPS = 15.0
MJPEG_IDLE_S = 2.0  # no video client polled for this long: stop making JPEGs (benchmarks/perf.py)
RETRY_START_S = 1.0
SAVE_RETRY_S = 2.0  # after the source ended: how often an unsaved session is tried again
RETRY_MAX_S = 10.0
FPS_WINDOW_S = 2.0
# a file played slower than this share of its own speed (the loop cannot measure its frames in time): said
SLOW_PLAY_SPEED = 0.8
# a live hysteresis for the streaming detector (the stored reps come from summarize's own choice):
# three times the motion's measurement noise, at least the offline minimum
LIVE_HYSTERESIS_NOISE_FACTOR = 3.0

Publish = Callable[[dict[str, Any]], None]


@dataclass
class LiveOptions:
    """How ``romcam serve`` captures (docs/live.md)."""

    source: str | int | None = 0  # camera index, file path or URL
    exercise: str | None = None
    side: str | None = None
    every_frame: bool = False
    demo: bool = False  # the source is a rendered demo clip (events and sessions say so)
    loop: bool = False  # replay the file when it ends (the demo)
    model_path: str | None = None
    demo_dir: Path | None = None  # where the demo clip is rendered (once, then cached)
    retry_max_s: float = RETRY_MAX_S
    people: int | None = None  # how many people the pose model looks for (None: by the plan, see CaptureWorker.people)
    subject: str = "auto"  # who the patient is when two people are in view (romcam.subject selectors)
    auto_start: bool = False  # hands-free start: the session starts by itself once the patient is in place
    mode: str = "active"  # with --exercise: active | active_assisted | passive
    posture: str | None = None  # with --exercise: standing | seated | lying (default: the catalog's first)
    extra: dict[str, Any] = field(default_factory=dict)


def is_live_spec(spec: str | int | None) -> bool:
    if spec is None:
        return True
    if isinstance(spec, int):
        return True
    parsed = parse_source(str(spec))
    return isinstance(parsed, int) or "://" in str(spec)


class LatestFrameGrabber:
    """Reads a live source in its own thread and keeps only the newest frame."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.dropped = 0
        self._cond = threading.Condition()
        self._frame: tuple[Frame, float] | None = None  # the newest frame and when it arrived
        self._error: BaseException | None = None
        self._ended = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="romcam-grabber", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for frame in self.source:
                with self._cond:
                    if self._closed:
                        return
                    if self._frame is not None:
                        self.dropped += 1  # never processed: stale
                    self._frame = (frame, time.monotonic())
                    self._cond.notify_all()
        except BaseException as exc:  # CameraError and the like: handed to the consumer
            with self._cond:
                self._error = exc
        finally:
            with self._cond:
                self._ended = True
                closed = self._closed
                self._cond.notify_all()
            if closed:  # released here, once no read is under way (see close)
                self.source.close()

    def frames(self, stop: threading.Event) -> Iterator[tuple[Frame, float]]:
        while not stop.is_set():
            with self._cond:
                while self._frame is None and not self._ended and not stop.is_set():
                    self._cond.wait(0.2)
                if self._frame is not None:
                    item, self._frame = self._frame, None
                elif self._error is not None:
                    raise self._error
                else:
                    return
            yield item

    def close(self) -> None:
        """Stop reading. The source is released by the reading thread once its read returns: releasing an
        OpenCV capture while another thread is inside its ``read`` crashes the process (a segmentation
        fault when a worker reading a network camera stopped mid-read: tests/test_live_pace.py)."""
        with self._cond:
            self._closed = True
        self._thread.join(timeout=2.0)
        if not self._thread.is_alive():
            self.source.close()  # idempotent: the thread may have released it already


def scene_light(image: Any) -> float:
    """How much light the camera gets: the mean luma of the frame, 0 (black) to 1 (white), from every
    16th pixel of every 16th row (about 1200 pixels of a 640x480 frame: a few µs, where an area-averaged
    thumbnail cost 0.4 ms a frame). The coaching page's first-run check reads it."""
    import cv2

    sample = image[::16, ::16].copy()
    if sample.ndim == 3:
        sample = cv2.cvtColor(sample, cv2.COLOR_BGRA2GRAY if sample.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
    return float(sample.mean()) / 255.0


# what the page says when the live loop does not keep up (docs/live.md "Keeping up"), by ``pace_kind``
PACE_PROBLEMS = {
    "too_few_frames": "Too few pictures a second are measured to count repetitions reliably, so the count may be "
                      "wrong. Close other programs on this computer so that romcam can look more often.",
    "slow_video": "The video plays slower than its own speed: this computer cannot measure its pictures as fast as "
                  "they come. Every picture is measured, so the count is right, but it takes longer than the video.",
}


def pace_kind(speed: float, sample_fps: float, *, file: bool) -> str | None:
    """How the live loop fails to keep up, a key of ``PACE_PROBLEMS`` (None when it keeps up):
    ``sample_fps`` frames measured per second of the movement, ``speed`` seconds of the source per
    second of the wall clock, ``file`` a video file played at its own frame rate (every frame measured:
    it plays slower instead of losing frames)."""
    if too_few_frames(sample_fps):  # the one rule the stored sets are judged by too (romcam.sample_rate)
        return "too_few_frames"
    if file and speed < SLOW_PLAY_SPEED:
        return "slow_video"
    return None


def live_hysteresis(item: PlanItem) -> float:
    return max(AUTO_HYSTERESIS_MIN_DEG + 3.0, LIVE_HYSTERESIS_NOISE_FACTOR * item.noise_deg)


class CaptureWorker:
    """One thread running the live pipeline and the coach; commands come from the HTTP routes."""

    def __init__(self, options: LiveOptions, plan: list[PlanItem], *, recorder: Recorder | None,
                 publish: Publish | None = None, estimator_factory: Callable[[], Any] | None = None,
                 subject: str = "auto", plan_source: Callable[[], list[PlanItem]] | None = None,
                 plan_waiting: Callable[[], str | None] | None = None,
                 plan_paused: Callable[[], str | None] | None = None) -> None:
        self.options = options
        self.subject_selector = parse_selector(subject)  # how each set picks the patient (docs/live.md)
        self.subject: SubjectTracker | None = None
        self.coach = Coach(plan, auto_start=options.auto_start)
        # where the PT's current plan is read when it changes (None: --exercise, measure only, never changes)
        self._plan_source = plan_source
        # why no plan from the therapist is followed now (a re-linked laptop the clinic has not answered yet), read
        # with the plan (at the start and in follow_plan); shown on the page (status "plan_waiting")
        self._plan_waiting = plan_waiting
        self.plan_waiting: str | None = plan_waiting() if plan_waiting is not None else None
        # the PT paused the plan (a hospital stay): what the page says about it (status "plan_paused"), read at the
        # start, with each plan change and when a pause or resume reaches this laptop (pause_changed); None: not paused
        self._plan_paused = plan_paused
        self.plan_paused: str | None = plan_paused() if plan_paused is not None else None
        self._plan_lock = threading.Lock()  # one plan read-and-take at a time (the router and the sync worker)
        self._estimator: Any = None
        self._plan_seq = 0  # plans taken since the start
        self._estimator_seq = 0  # ... when the running pose model's needs were last checked
        self._estimator_made_for: tuple[int, bool] = (1, False)  # people looked for, limb outlines read
        self.recorder = recorder
        self.publish = publish or (lambda ev: None)
        self._estimator_factory = estimator_factory
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.source_name = "" if options.source is None else str(options.source)
        self.source_fps = 0.0
        self.dropped_frames = 0
        self.source_error: str | None = None
        # a file damaged in its middle: what its frames skipped mean (romcam.source.skipped_warning), once read
        self.source_warning: str | None = None
        self.model_name = ""
        self.latest_event: dict[str, Any] | None = None
        self.latest_jpeg: bytes | None = None
        self._jpeg_seq = 0
        self._mjpeg_polled = -math.inf  # when a video client last asked (see jpeg_seq)
        self.frames_processed = 0
        self.last_session_id: uuid.UUID | None = None
        self.inference_ms: deque[float] = deque(maxlen=2000)  # the model's own time per frame (benchmark)
        self.latency_ms: deque[float] = deque(maxlen=2000)  # frame available → event published
        self._proc_times: deque[float] = deque()
        self._proc_source_t: deque[float] = deque()  # the source's time of each frame in _proc_times
        self._pace_from_next = True  # the first frame after (re)opening (a slow first inference) is not timed
        self._plays_file = (options.demo or not is_live_spec(options.source)) and not options.every_frame
        self._t_offset = 0.0
        self._last_t = -math.inf
        self._last_jpeg_wall = -math.inf
        self._last_state: str | None = None
        self._source_ended = False
        self._go = threading.Event()  # a file waits for its first viewer (see wake)
        self._frame_size = (0, 0)  # the last frame's width and height (the subject's box in status)
        self._set_up_item(0)

    @property
    def plan(self) -> list[PlanItem]:
        """Today's plan as the coach follows it now (the PT's changes taken in: :meth:`follow_plan`)."""
        return self.coach.plan

    def in_session(self) -> bool:
        """Whether a session runs now (Start pressed, not finished): the sync worker pulls the plan more often
        then, so the PT's changes reach it (``SyncWorker.in_session``)."""
        return self._plan_source is not None and self.coach.started and self.coach.state != "done"

    def follow_plan(self) -> bool:
        """The PT changed the plan (the local prescription routes after their commit, the sync worker after a
        pull that changed it): read it and hand it to the coach, which takes it between sets, and a safer
        limit at once (``Coach.take_plan``). False when this run follows no plan (``--exercise``)."""
        if self._plan_source is None:
            return False
        from .plan import DEFAULT_EXERCISE, DEFAULT_SIDE, measure_only

        with self._plan_lock:
            plan = self._plan_source()
            waiting = self._plan_waiting() if self._plan_waiting is not None else None
            paused = self._plan_paused() if self._plan_paused is not None else None
            with self._lock:
                self.plan_paused = paused
                arrived = self.plan_waiting is not None and waiting is None  # the clinic answered a re-link
                self.plan_waiting = waiting
                if not plan and not self.coach.started:  # no prescription left: measure only, as at a start
                    plan = [measure_only(DEFAULT_EXERCISE, DEFAULT_SIDE)]
                actions = self.coach.take_plan(plan, arrived=arrived)
                self._plan_seq += 1  # the pose model's needs are looked at again (_estimator_between_sets)
                t = self._last_t if math.isfinite(self._last_t) else 0.0
                for what, arg in actions:
                    if what == "set_up":
                        self._set_up_item(int(arg))
                self._handle([a for a in actions if a[0] != "set_up"], t)
                rec = self.recorder
                if self.coach.limits_changed_in_set and rec is not None and rec.recording:
                    rec.refile(self.coach.item)  # the set is judged by the safer limit that took over
                status = self.status()
        self.publish(status_event(status))
        return True

    def pause_changed(self) -> None:
        """The PT paused or resumed the plan (the local patient route after its commit, the sync worker after a pull
        that brought the clinic's pause): the page says so, or stops saying it (status "plan_paused"). The coach is
        not stopped: a paused plan asks for nothing, and a session can still be done."""
        if self._plan_paused is None:
            return
        paused = self._plan_paused()
        with self._lock:
            if paused == self.plan_paused:
                return
            self.plan_paused = paused
            status = self.status()
        self.publish(status_event(status))

    def clinic_answer_changed(self) -> None:
        """The clinic refused a re-linked laptop's new device token, or could not be reached (the sync worker, after
        a pull that failed otherwise than the last): the page says why no plan is followed in words that say so
        (status "plan_waiting"). The answer that gives the plan goes by :meth:`follow_plan`."""
        if self._plan_waiting is None:
            return
        with self._plan_lock:
            waiting = self._plan_waiting()
            with self._lock:
                if waiting is None or self.plan_waiting is None or waiting == self.plan_waiting:
                    return  # the plan is this link's: follow_plan says it arrived
                self.plan_waiting = waiting
                status = self.status()
        self.publish(status_event(status))

    @property
    def jpeg_seq(self) -> int:
        """The number of the newest annotated JPEG; reading it (the MJPEG route polls it) asks for more."""
        self._mjpeg_polled = time.monotonic()
        return self._jpeg_seq

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        # what the end of a set needs (filters.preload), imported beside the capture loop instead of inside it
        threading.Thread(target=preload, name="romcam-preload", daemon=True).start()
        self._thread = threading.Thread(target=self._run, name="romcam-capture", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10.0)
        with self._lock:
            if self.recorder is not None and self.recorder.recording:
                self.last_session_id = self.recorder.end_session("interrupted")
            if self.recorder is not None:
                self.recorder.close()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """A viewer is here (a WebSocket client, or Start): a file source starts playing."""
        self._go.set()

    # ------------------------------------------------------------------ commands (from the routes)

    def command(self, name: str) -> dict[str, Any]:
        if name not in ("start", "pause", "resume", "stop", "next", "rest"):
            raise ValueError(f"unknown command {name!r}")
        if name == "start":
            self.wake()
        with self._lock:
            actions = getattr(self.coach, name)()
            self._handle(actions, self._last_t if math.isfinite(self._last_t) else 0.0)
            status = self.status()
        self.publish(status_event(status))
        return status

    def set_auto_start(self, on: bool) -> dict[str, Any]:
        """Hands-free start on or off (the page's "Start by itself" switch); the new status."""
        with self._lock:
            self.coach.auto_start = on
            status = self.status()
        self.publish(status_event(status))
        return status

    @property
    def recording_problem(self) -> str | None:
        """What is wrong with saving the session, for the page (None while everything is stored)."""
        return self.recorder.problem if self.recorder is not None else None

    def recording_session_id(self) -> uuid.UUID | None:
        """The session this coach is recording now (None between sessions): the dashboard's "being recorded"
        (``romcam.store.trends.LiveCoach``)."""
        with self._lock:
            return self.recorder.session_id if self.recorder is not None else None

    def status(self) -> dict[str, Any]:
        with self._lock:
            item = self.coach.item
            sid = self.recorder.session_id if self.recorder is not None else None
            return {
                "state": self.coach.state, "demo": self.options.demo, "source": self.source_name,
                "exercise": item.exercise, "side": item.side, "plan_index": self.coach.index,
                "plan": [p.to_dict() for p in self.plan], "session_id": str(sid) if sid else None,
                "plan_change": ({"id": note[0], "text": note[1], "next_session": self.coach.plan_note_next_session}
                                if (note := self.coach.plan_note) is not None else None),
                "plan_waiting": self.plan_waiting, "plan_paused": self.plan_paused,
                "last_session_id": str(self.last_session_id) if self.last_session_id else None,
                "started": self.coach.started, "auto_start": self.coach.auto_start,
                "effective_fps": round(self.effective_fps(), 1),
                "source_fps": round(self.source_fps, 2), "dropped_frames": self.dropped_frames,
                "source_error": self.source_error, "source_warning": self.source_warning,
                "every_frame": self.options.every_frame,
                "frames_processed": self.frames_processed,
                **self.pace(),
                "subject": self.subject_info(*self._frame_size),
                "recording_problem": self.recording_problem,
                "t": round(self._last_t, 3) if math.isfinite(self._last_t) else None,
            }

    def effective_fps(self) -> float:
        times = self._proc_times
        if len(times) < 2:
            return 0.0
        span = times[-1] - times[0]
        return (len(times) - 1) / span if span > 0 else 0.0

    def pace(self) -> dict[str, Any]:
        """How the loop keeps up, over the last ``FPS_WINDOW_S`` of processing: ``speed`` (seconds of the
        source per second of the wall clock: 1 for a camera, below 1 for a file whose frames the loop
        cannot measure in time — it plays slower, every frame measured), ``sample_fps`` (frames measured
        per second of the source: the file's own rate, or for a camera what the loop keeps of it), ``pace``
        (None, or what is wrong: ``too_few_frames`` to count reps, a ``slow_video``) and ``pace_problem``
        (that in plain words, ``PACE_PROBLEMS``). All None until two frames were processed, and while the
        source is lost or has ended (nothing is measured then)."""
        walls, times = self._proc_times, self._proc_source_t
        if (len(walls) < 2 or walls[-1] - walls[0] <= 0 or times[-1] - times[0] <= 0
                or self.source_error is not None):
            return {"speed": None, "sample_fps": None, "pace": None, "pace_problem": None}
        speed = (times[-1] - times[0]) / (walls[-1] - walls[0])
        sample_fps = (len(times) - 1) / (times[-1] - times[0])
        kind = pace_kind(speed, sample_fps, file=self._plays_file)
        return {"speed": round(speed, 2), "sample_fps": round(sample_fps, 1), "pace": kind,
                "pace_problem": PACE_PROBLEMS[kind] if kind else None}

    # ------------------------------------------------------------------ the pipeline

    def _set_up_item(self, index: int) -> None:
        item = self.plan[index]
        self.motion = get_motion(item.exercise)
        old = self.subject
        if old is not None and old.locked and old.seen_within(1.0):
            old.posture = item.posture  # the same patient, still in view: keep following them
            old.people = 2 if item.mode != "active" else 1
        else:
            self.subject = SubjectTracker(self.subject_selector, posture=item.posture,
                                          people=2 if item.mode != "active" else 1,
                                          first_id=old.next_id if old is not None else 0)
        self.meter = MotionMeter(self.motion, item.side, subject=self.subject)
        self._expect_for_item()
        self.filter = OneEuroFilter()
        self.detector = RepDetector(works=self.motion.works, hysteresis=live_hysteresis(item))
        self._counted = 0  # reps counted (and stored provisionally)
        self._final_full = 0  # non-partial reps final
        self._track_start = self._last_t if math.isfinite(self._last_t) else 0.0
        self._track_peak = (-math.inf, 0.0)
        self._track_lo = math.inf
        self._track_hi = -math.inf
        self._hold_est = 0.0

    def _handle(self, actions: list[tuple[str, Any]], t: float) -> None:
        rec = self.recorder
        for what, arg in actions:
            if what == "begin_session":
                if rec is not None:
                    rec.begin_session()
                    if self.source_warning is not None:  # a looping file known damaged: every session says so
                        rec.warn(self.source_warning)
            elif what == "begin_set":
                self._set_up_item(int(arg))
                if rec is not None:
                    rec.begin_set(self.plan[int(arg)], t=t, fps=self.source_fps or 30.0)
            elif what == "end_set":
                if rec is not None:
                    rec.end_set()
            elif what == "end_session":
                if rec is not None and rec.recording:
                    self.last_session_id = rec.end_session(str(arg))

    def _make_estimator(self) -> Any:
        if self._estimator_factory is not None:
            return self._estimator_factory()
        from ..pose import PoseEstimator

        people, limb_axes = self._estimator_needs()
        # two people (patient and caregiver): the second pass looks for a missed one every 3 frames when a
        # caregiver is expected (passive or assisted sets, or a chosen subject), else every 15
        return PoseEstimator(self.options.model_path, num_poses=people,
                             expected_people=people if people > 1 else None,
                             second_pass_every=3 if self._caregiver_expected() else 15, limb_axes=limb_axes)

    def _estimator_needs(self) -> tuple[int, bool]:
        """What the pose model is made for, from the whole plan: the people it looks for and whether it
        reads the limbs' outlines. Chosen when the model is made (a landmarker's ``num_poses`` is fixed)."""
        return self.people(), any(reads_limb_axes(get_motion(item.exercise)) for item in self.plan)

    def _use_estimator(self, estimator: Any) -> None:
        self._estimator = estimator
        self._estimator_made_for = self._estimator_needs()
        self._expect_for_item()

    def _expect_for_item(self) -> None:
        """The pose model's second pass looks for a helper only while the current exercise expects one
        (passive or assisted, or a chosen subject): with an active exercise the patient is alone, and a second
        "person" it found (a part of the patient painted out, a shape turned on its side) made the page ask
        "Not the patient? Tap the patient." of a patient alone in view."""
        est = self._estimator
        made_for = self._estimator_made_for[0]
        if est is None or made_for < 2 or not hasattr(est, "expected_people") or self.options.people:
            return  # (``LiveOptions.people`` given: the model looks as it was told, throughout)
        item = self.coach.item
        expects = item.mode != "active" or self.subject_selector.kind != "auto"
        est.expected_people = made_for if expects else 1

    def _estimator_between_sets(self) -> Any:
        """The pose model, made again when the PT's new plan needs what it was not made for (two people where
        one was looked for, the limbs' outlines): only between sets, where a moment's pause to load the model
        costs no measurement (a set's curve keeps one model's landmarks). A plan that needs less keeps the
        model it has (looking for two costs time, not accuracy)."""
        est = self._estimator
        if self._estimator_factory is not None or est is None:
            return est
        coach = self.coach
        if self._estimator_seq == self._plan_seq or (coach.started and coach.set_open):
            return est
        self._estimator_seq = self._plan_seq
        people, axes = self._estimator_needs()
        had_people, had_axes = self._estimator_made_for
        if people <= had_people and (axes <= had_axes):
            return est
        close = getattr(est, "close", None)
        if close:
            close()
        self._estimator = None
        fresh = self._make_estimator()
        with self._lock:
            self._use_estimator(fresh)
        return fresh

    def _caregiver_expected(self) -> bool:
        return any(item.mode != "active" for item in self.plan) or self.subject_selector.kind != "auto"

    def people(self) -> int:
        """How many people the pose model looks for: two when a caregiver is expected in view (a
        passive or assisted item in the plan) or the patient is chosen among several (a subject
        selector other than ``auto``), else one — the rule ``romcam analyze`` follows. Looking for two
        costs 1.5-1.8x the model's time a frame (MediaPipe keeps running its detector for the
        missing person; benchmarks/perf.py), too much for an old laptop at 30 fps when nobody else
        is there. ``LiveOptions.people`` overrides it."""
        if self.options.people:
            return max(1, int(self.options.people))
        return 2 if self._caregiver_expected() else 1

    def relock(self, x: float, y: float) -> dict[str, Any]:
        """A click on the patient at (x, y), normalized image coordinates: follow that person."""
        with self._lock:
            if self.subject is None:
                self.subject = SubjectTracker(self.subject_selector, posture=self.coach.item.posture)
                self.meter.subject = self.subject
            self.subject.relock((x, y))
            status = self.subject.status()
        self.publish({"type": "subject", **status})
        return status

    def choose(self, person: int) -> dict[str, Any]:
        """A button for one person on the page: follow the person with that track id (``persons[].id``)
        from now on. Raises :class:`romcam.subject.PersonError` when nobody in view has that id."""
        with self._lock:
            if self.subject is None:
                raise PersonError(f"person {person} is not anyone romcam has seen: tap the patient on the picture")
            self.subject.choose(person)
            status = self.subject.status()
        self.publish({"type": "subject", **status})
        return status

    def subject_info(self, width: int, height: int) -> dict[str, Any] | None:
        """The subject lock for the page: its status, the patient's box in normalized image coordinates
        ([x0, y0, x1, y1], 0..1: the green frame the video draws, ``annotate.person_box``, which the page
        draws too), or None without a tracker, and ``persons``: everyone in view, left to
        right in the picture, each ``{id, at: [x, y], box, measured}`` — ``id`` their track's (the same
        person keeps it from frame to frame; null for a second detection of someone), which the page
        posts to POST /live/subject to choose them without a tap (a keyboard or a switch), ``at`` the
        centre of their torso."""
        tracker = self.subject
        if tracker is None:
            return None
        info: dict[str, Any] = tracker.status()
        idx = tracker.last_subject_index
        poses = tracker.last_poses if width > 0 and height > 0 else ()

        def norm(values: Any) -> list[float]:  # pixels → 0..1: x, y or x0, y0, x1, y1
            size = (width, height) * (len(values) // 2)
            return [round(min(max(float(v) / d, 0.0), 1.0), 4) for v, d in zip(values, size, strict=True)]

        # the frame the video draws around each person (one box for both: annotate.person_box)
        info["box"] = norm(person_box(poses[idx], width, height)) if idx is not None and idx < len(poses) else None
        ids = tracker.last_track_ids
        persons = [{"id": ids[i] if i < len(ids) else None, "at": norm(torso_points(pose).mean(axis=0)),
                    "box": norm(person_box(pose, width, height)), "measured": i == idx}
                   for i, pose in enumerate(poses)]
        info["persons"] = sorted(persons, key=lambda p: p["at"][0])
        return info

    def _run(self) -> None:
        try:
            self._capture()
        except Exception as exc:  # a bug: say so on the page, keep what was recorded, stop capturing
            traceback.print_exc()
            self._lost(f"romcam stopped with an internal error ({type(exc).__name__}: {exc}); the session so "
                       "far is kept — restart romcam", ended=True)
            self._save_what_is_left()

    def _capture(self) -> None:
        try:
            estimator = self._make_estimator()
        except RomcamError as exc:
            self.source_error = str(exc)
            print(f"romcam: {exc}", file=sys.stderr)
            return
        with self._lock:
            self._use_estimator(estimator)
        self.model_name = Path(getattr(estimator, "model_path", "") or "").name
        if self.recorder is not None:
            self.recorder.model = self.model_name
        backoff = RETRY_START_S
        try:
            while not self._stop.is_set():
                try:
                    source = self._open()
                except RomcamError as exc:
                    self._lost(str(exc))
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, self.options.retry_max_s)
                    continue
                if source is None:  # stopped while the demo video was being rendered
                    break
                backoff = RETRY_START_S
                live = is_live_spec(self.options.source) and not self.options.demo
                error: str | None = None
                try:
                    self._play(source, estimator, live=live)
                except (CameraError, CorruptVideoError) as exc:
                    error = str(exc)
                finally:
                    source_close = getattr(source, "close", None)
                    if source_close:
                        source_close()
                if error is None:
                    self._note_damage(source)
                if self._stop.is_set():
                    break
                if live:
                    self._lost(error or f"{self.source_name} stopped sending frames")
                    self._stop.wait(backoff)
                    continue
                if self.options.loop:
                    continue  # the demo clip plays again
                # a file that ended: nothing will come back; keep what was recorded
                self._lost(error or f"{self.source_name} ended", ended=True)
                self._save_what_is_left()
                break
        finally:
            close = getattr(self._estimator, "close", None)
            if close:
                close()

    def _note_damage(self, source: Any) -> None:
        """A file read to its end with frames skipped (damaged in its middle: ``VideoFileSource.frames_skipped``)
        is said as ``romcam analyze`` says it: in the status (the page shows it) and in the warnings of the
        session being recorded. Known only once the file was read to its end (OpenCV numbers the frames after
        the damage on, so neither their positions nor their times show where it was)."""
        skipped = int(getattr(source, "frames_skipped", 0) or 0)
        if not skipped:
            return
        name = Path(str(getattr(source, "path", self.source_name))).name
        text = skipped_warning(name, skipped, int(source.frame_count or 0), float(source.fps))
        with self._lock:
            said = self.source_warning is not None
            self.source_warning = text
            if self.recorder is not None and self.recorder.recording:
                self.recorder.warn(text)  # each session once (a looping file: the one running at each pass's end)
            status = self.status()
        if not said:
            print(f"romcam: {text}", file=sys.stderr)
            self.publish(status_event(status))

    def _save_what_is_left(self) -> None:
        """After the source ended, go on trying to store a session a failed write left unsaved (a full
        disk freed, the database back), telling the page when it is saved."""
        rec = self.recorder
        while rec is not None and rec.unsaved and not self._stop.wait(SAVE_RETRY_S):
            with self._lock:
                saved = rec.retry()
                status = self.status()
            self.publish(status_event(status))
            if saved:
                return

    def _open(self) -> Any:
        """The source opened (the demo clip rendered first, the first time), or None when romcam was
        stopped while it rendered."""
        spec = self.options.source
        if self.options.demo and self.options.extra.get("demo_clip") is None:
            clip = self._render_demo()
            if clip is None:
                return None
            self.options.extra["demo_clip"] = str(clip)
        if self.options.demo:
            spec = self.options.extra["demo_clip"]
        source = open_source(spec if spec is not None else 0)
        self.source_fps = float(source.fps)
        if not self.source_name:
            self.source_name = source.name
        if is_live_spec(spec) and not self.options.demo:
            return LatestFrameGrabber(source)
        return source

    def _render_demo(self) -> Path | None:
        """The demo clip, rendered once into the data directory (said on the terminal: it takes a while);
        None when romcam is stopped (Ctrl-C) meanwhile, with no partial file left behind."""
        from ..render import RenderSpec, RenderStopped, render_clip
        from ..render.exercises import get_exercise

        item = self.plan[0]
        posture = item.posture
        try:
            get_exercise(item.exercise).check_posture(posture)
        except ValueError:
            posture = "standing"
        directory = self.options.demo_dir or Path.home() / ".local" / "share" / "romcam" / "demo"
        clip = directory / f"demo_{item.exercise}_{item.side}_{posture}.mp4"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            if not clip.exists():  # render_clip writes it whole or not at all
                print(f"romcam: rendering the demo video once, into {directory} (about a minute; the coach page "
                      "says when it plays)", file=sys.stderr)
                render_clip(RenderSpec(exercise=item.exercise, side=item.side, view=self.motion.view,
                                       posture=posture, reps=4, seed=1, fps=15.0), clip,
                            should_stop=self._stop.is_set)
                print("romcam: the demo video is ready", file=sys.stderr)
        except RenderStopped:
            return None
        except OSError as exc:  # a full disk, a folder that cannot be written
            raise RomcamError(f"cannot write the demo video to {directory}: {exc.strerror or exc} — free some "
                              "space, or set ROMCAM_DATA to a folder romcam can write to") from None
        self.source_name = f"demo video ({clip.name})"
        return clip

    def _frames(self, source: Any, *, live: bool) -> Iterator[tuple[Frame, float]]:
        """(frame, wall time it became available), paced for a file unless every_frame."""
        if isinstance(source, LatestFrameGrabber):
            for frame, arrived in source.frames(self._stop):
                self.dropped_frames = source.dropped
                yield frame, arrived
            return
        wall0: float | None = None
        if not self.options.demo:
            # a file waits at its start until someone watches, so a page or a test sees all of it
            while not self._go.wait(0.2):
                if self._stop.is_set():
                    return
        # decoded ahead in a second thread: a frame is ready when it is due, and decoding overlaps the model
        for frame in prefetched(source):
            if self._stop.is_set():
                return
            if not self.options.every_frame:
                now = time.monotonic()
                if wall0 is None:
                    wall0 = now - frame.t
                due = wall0 + frame.t
                if due > now:
                    if self._stop.wait(due - now):
                        return
                elif now - due > 0.25:  # far behind (a slow first inference): play on from here
                    wall0 = now - frame.t
                    due = now
                yield frame, max(due, 0.0)
            else:
                yield frame, time.monotonic()

    def _play(self, source: Any, estimator: Any, *, live: bool) -> None:
        first = True
        for frame, available in self._frames(source, live=live):
            if first:
                # times continue across reopenings (a camera back, the demo clip again)
                if math.isfinite(self._last_t) and frame.t + self._t_offset <= self._last_t:
                    self._t_offset = self._last_t + 1.0 / max(self.source_fps, 1.0) - frame.t
                first = False
                self._pace_from_next = True
                with self._lock:
                    if self.source_error is not None or self.coach.state == "source_lost":
                        self.source_error = None
                        self.coach.source_back()
            estimator = self._estimator_between_sets()  # the PT's new plan may need another pose model
            self._process(frame, estimator, available)

    def _process(self, frame: Frame, estimator: Any, available: float) -> None:
        t = frame.t + self._t_offset
        if t <= self._last_t:
            t = self._last_t + 1e-3
        with self._lock:  # a caregiver expected and the patient known: the pose stage looks again around them
            focus = self.subject.focus() if self.subject is not None else None
        t0 = time.perf_counter()
        pose_frame = estimator.process(frame.image, t, frame.index, focus=focus)
        self.inference_ms.append((time.perf_counter() - t0) * 1000.0)
        with self._lock:
            self._last_t = t
            item = self.coach.item
            sample = self.meter.update(pose_frame)
            raw = sample.angle
            filt = self.filter(t, raw)
            # paused or resting, the patient is not exercising: what the limb does then is no rep, is not
            # counted toward the set and is not kept (the coach still sees the angle, for its cues)
            idle = self.coach.started and self.coach.state in ("paused", "resting")
            finals = self.detector.update(t, math.nan if idle else filt)
            self._track(t, math.nan if idle else filt)
            out = self.coach.update(FrameInput(
                t=t, angle=filt, raw=raw, has_subject=sample.has_subject, view_ok=sample.view_ok,
                missing=sample.detail.missing if sample.detail is not None else None,
                rep=self.detector.completed, rep_state=self.detector.state))
            rec = self.recorder
            recording = rec is not None and rec.recording and self.coach.started and self.coach.set_open
            if recording:
                if not idle:
                    rec.add_sample(Sample(frame.index, t, raw, sample.confidence, sample.view_ok, sample.view_error,
                                          sample.detail))
                self._store_reps(finals, t)  # a rep ended before the pause may be settled during it
            if out.actions:
                self._handle(out.actions, t)
            sid = rec.session_id if rec is not None else None
            event = frame_event(t=t, item=item, angle=filt, confidence=sample.confidence, view_ok=out.view_ok,
                                out=out, demo=self.options.demo, effective_fps=self.effective_fps(), raw=raw,
                                frame_index=frame.index, session_id=str(sid) if sid else None)
            event["light"] = round(scene_light(frame.image), 2)
            event["recording_problem"] = self.recording_problem
            self._frame_size = (pose_frame.width, pose_frame.height)
            event["subject"] = self.subject_info(pose_frame.width, pose_frame.height)
            tracker = self.subject
            subject_pose = None
            others: tuple[Any, ...] = ()
            if tracker is not None:
                idx = tracker.last_subject_index
                subject_pose = tracker.last_poses[idx] if idx is not None else None
                others = tuple(p for i, p in enumerate(tracker.last_poses) if i != idx)
            now = time.monotonic()
            if self._pace_from_next:  # the window starts after the first frame of a (re)opened source
                self._pace_from_next = False
                self._proc_times.clear()
                self._proc_source_t.clear()
            self._proc_times.append(now)
            self._proc_source_t.append(t)
            while self._proc_times and now - self._proc_times[0] > FPS_WINDOW_S:
                self._proc_times.popleft()
                self._proc_source_t.popleft()
            self.frames_processed += 1
            pace = self.pace()
            event["pace"], event["pace_problem"] = pace["pace"], pace["pace_problem"]
            self.latest_event = event
            state_changed = out.state != self._last_state
            self._last_state = out.state
            status = self.status() if state_changed else None
        self.publish(event)
        self.latency_ms.append((time.monotonic() - available) * 1000.0)
        if status is not None:
            self.publish(status_event(status))
        # the annotated JPEG costs about a tenth of a frame's time: made only while a video client polls
        # (and once at the start, so the first client has a picture at once)
        watched = self.latest_jpeg is None or now - self._mjpeg_polled < MJPEG_IDLE_S
        if watched and now - self._last_jpeg_wall >= 1.0 / MJPEG_MAX_FPS:
            self._last_jpeg_wall = now
            image = annotate(frame.image, pose_frame, self.motion, item, angle=filt, zone=out.zone,
                             demo=self.options.demo, subject=subject_pose, others=others, tracked=tracker is not None,
                             confirmed=bool(tracker is not None and tracker.confirmed))
            self.latest_jpeg = to_jpeg(image)
            self._jpeg_seq += 1

    def _track(self, t: float, angle: float) -> None:
        """The counted rep in progress: its extremes (for the provisional rep row)."""
        if not math.isfinite(angle):
            return
        y = angle if self.motion.works == "max" else -angle
        if y > self._track_peak[0]:
            self._track_peak = (y, t)
        self._track_lo = min(self._track_lo, angle)
        self._track_hi = max(self._track_hi, angle)

    def _store_reps(self, finals: list[Any], t: float) -> None:
        rec = self.recorder
        assert rec is not None
        item = self.coach.item
        target = None
        if item.prescribed:
            target = item.target_min if self.motion.works == "max" else item.target_max
        while self.detector.completed > self._counted:
            # counted now: store it at once (provisional; rewritten when final)
            if math.isfinite(self._track_hi):
                rec.rep(self._counted, {
                    "start": self._track_start, "peak": self._track_peak[1], "end": t,
                    "max_angle": self._track_hi, "min_angle": self._track_lo, "hold_s": 0.0, "partial": False,
                    "below_target": below_target(self.motion.works, self._track_hi, self._track_lo, target)})
            self._counted += 1
            self._track_start = t
            self._track_peak = (-math.inf, t)
            self._track_lo, self._track_hi = math.inf, -math.inf
        for rep in finals:
            if rep.partial:
                continue
            d = rep.to_dict()  # the live detector has no target: this item's, as the detector would judge it
            d["below_target"] = below_target(self.motion.works, rep.max_angle, rep.min_angle, target,
                                             peak_seen=rep.peak_seen)
            rec.rep(self._final_full, d)
            self._final_full += 1

    def _lost(self, message: str, *, ended: bool = False) -> None:
        with self._lock:
            self.source_error = message
            self.coach.source_lost()
            rep = None
            if ended:  # the signal is over: the rep still open is final now
                finals = self.detector.finish()
                if self.recorder is not None and self.recorder.recording and self.coach.set_open:
                    self._store_reps(finals, self._last_t if math.isfinite(self._last_t) else 0.0)
                rep = self.detector.completed if self.coach.started else None
            if ended and self.recorder is not None and self.recorder.recording:
                self.last_session_id = self.recorder.end_session("interrupted")
            elif self.recorder is not None and self.recorder.recording:
                self.recorder.flush()
            status = self.status()
            event = dict(self.latest_event or {}) | {
                "type": "frame", "state": "source_lost", "angle": None, "zone": "unknown", "cue": None,
                "source_error": message, "pace": None, "pace_problem": None, "demo": self.options.demo,
                "recording_problem": self.recording_problem}
            if rep is not None:
                event["rep"] = max(rep, int(event.get("rep") or 0))
            self.latest_event = event
        print(f"romcam: {message}", file=sys.stderr)
        self.publish(event)
        self.publish(status_event(status))


def quiet_opencv() -> None:
    """OpenCV prints a page of warnings when a camera index does not open; the user gets one line."""
    import cv2

    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    except AttributeError:  # an OpenCV build without the logging module
        pass
